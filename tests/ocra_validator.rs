//! Keypad fobs and the bank: OCRA challenges and transaction signatures through
//! `Validator`, with simulated fobs and a `ManualClock`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use otpfob::{
    Device, Enrolment, KeyFob, Keyring, ManualClock, MemoryStore, Policy, RejectReason, SealingKey,
    Secret, TimeSource, TokenId, TotpParameters, Validator, ValidatorError,
    device::Crystal,
    ocra::{Currency, DataInputPart, OcraError, Password, Transaction},
    validator::{AuditEvent, AuditSink, OcraEnrolment, Operation, Outcome, PinHashing, Store},
};
use proptest::prelude::*;

const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
const FOB_PIN: &str = "2468";
const COUNTER_SUITE: &str = "OCRA-1:HOTP-SHA256-8:C-QN08";

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[9; 32]).unwrap())
}

fn euro() -> Currency {
    Currency::new("EUR").unwrap()
}

fn transfer(amount_minor: u64) -> Transaction {
    Transaction::new(
        amount_minor,
        euro(),
        "DE89370400440532013000",
        Some("Invoice 2026-001"),
    )
    .unwrap()
}

/// Collects the audit events the validator publishes.
#[derive(Clone, Default)]
struct Collected(Arc<Mutex<Vec<AuditEvent>>>);

impl AuditSink for Collected {
    fn record(&self, event: &AuditEvent) {
        self.0.lock().unwrap().push(event.clone());
    }
}

struct Bank {
    world: ManualClock,
    validator: Validator<MemoryStore, ManualClock>,
    fob: KeyFob<ManualClock>,
    id: TokenId,
    audit: Collected,
}

fn bank_with(policy: Policy, suite: &str, crystal: Crystal, passcode: Option<&str>) -> Bank {
    let world = ManualClock::at_secs(START);
    let (fob, record) = KeyFob::builder("FOB-0000077", TotpParameters::default())
        .pin(FOB_PIN)
        .crystal(crystal)
        .ocra(suite.parse().unwrap())
        .ocra_counter(500)
        .build(world.clone())
        .unwrap();
    let audit = Collected::default();
    let validator = Validator::new(MemoryStore::new(), world.clone(), keyring())
        .with_policy(policy)
        .unwrap()
        .with_pin_hashing(PinHashing::insecure_fast_for_tests())
        .unwrap()
        .with_audit_sink(audit.clone());
    let enrolment = Enrolment::from(&record);
    let id = validator
        .enrol(match passcode {
            Some(passcode) => enrolment.with_pin(passcode),
            None => enrolment,
        })
        .unwrap();
    Bank {
        world,
        validator,
        fob,
        id,
        audit,
    }
}

fn bank(suite: &str) -> Bank {
    bank_with(Policy::default(), suite, Crystal::PERFECT, None)
}

impl Bank {
    /// What the customer types back after typing `challenge` into the fob.
    fn answer(&mut self, challenge: &str) -> String {
        self.fob.enter_pin(FOB_PIN).unwrap();
        self.fob.respond(challenge).unwrap().code().to_string()
    }

    fn login(&mut self) -> (String, String) {
        let issued = self.validator.issue_challenge(&self.id).unwrap();
        let challenge = issued.challenge.to_string();
        let response = self.answer(&challenge);
        (challenge, response)
    }

    fn verify(&self, response: &str) -> Result<otpfob::Acceptance, otpfob::Rejected> {
        self.validator.verify_response(&self.id, response, None)
    }

    fn reason(&self, response: &str) -> RejectReason {
        self.verify(response).unwrap_err().reason()
    }

    fn sign(&mut self, transaction: &Transaction) -> String {
        let issued = self
            .validator
            .issue_signature_challenge(&self.id, transaction)
            .unwrap();
        self.answer(issued.challenge.as_str())
    }

    fn signature_reason(&self, transaction: &Transaction, signature: &str) -> RejectReason {
        self.validator
            .verify_signature(&self.id, transaction, signature, None)
            .unwrap_err()
            .reason()
    }

    fn keypad(&self) -> otpfob::validator::OcraState {
        self.validator
            .state(&self.id)
            .unwrap()
            .unwrap()
            .ocra
            .map(|keypad| *keypad)
            .unwrap()
    }

    fn failures(&self) -> u32 {
        self.validator.state(&self.id).unwrap().unwrap().failures
    }

    fn advance(&self, seconds: u64) {
        self.world.advance(Duration::from_secs(seconds));
    }
}

/// Another response of the same length that is not `response`.
fn wrong(response: &str) -> String {
    let value: u64 = response.parse().unwrap();
    format!(
        "{:0width$}",
        (value + 1) % 100_000_000,
        width = response.len()
    )
}

#[test]
fn a_response_is_accepted_once() {
    let mut bank = bank(COUNTER_SUITE);
    let (challenge, response) = bank.login();
    assert_eq!(challenge.len(), 8);
    assert!(challenge.bytes().all(|digit| digit.is_ascii_digit()));
    let accepted = bank.verify(&response).unwrap();
    assert_eq!((accepted.position, accepted.offset), (500, 0));
    assert_eq!(bank.keypad().next_counter, Some(501));
    assert_eq!(bank.reason(&response), RejectReason::ChallengeSpent);
    // Typed with a space, as people do.
    let (_, response) = bank.login();
    let spaced = format!("{} {}", &response[..4], &response[4..]);
    assert!(bank.verify(&spaced).is_ok());
    assert_eq!(bank.keypad().next_counter, Some(502));
}

#[test]
fn a_wrong_response_spends_the_challenge() {
    let mut bank = bank(COUNTER_SUITE);
    let (_, response) = bank.login();
    assert_eq!(bank.reason(&wrong(&response)), RejectReason::WrongCode);
    assert_eq!(bank.failures(), 1);
    assert_eq!(bank.reason(&response), RejectReason::ChallengeSpent);
    assert_eq!(bank.failures(), 2);
    assert_eq!(bank.reason("12ab"), RejectReason::ChallengeSpent);
    // A fresh challenge works, and clears the failures.
    let (_, response) = bank.login();
    assert!(bank.verify(&response).is_ok());
    assert_eq!(bank.failures(), 0);
    // Garbage for an open challenge is a malformed response.
    bank.login();
    assert_eq!(bank.reason("12ab"), RejectReason::Malformed);
}

#[test]
fn a_challenge_expires_after_its_lifetime() {
    let mut bank = bank(COUNTER_SUITE);
    assert_eq!(
        bank.validator.policy().challenge_lifetime,
        Duration::from_secs(300)
    );
    let issued = bank.validator.issue_challenge(&bank.id).unwrap();
    assert_eq!(
        issued.expires_at,
        bank.world.now().plus(Duration::from_secs(300))
    );
    let response = bank.answer(issued.challenge.as_str());
    bank.advance(300);
    assert_eq!(bank.reason(&response), RejectReason::ChallengeExpired);
    assert_eq!(bank.reason(&response), RejectReason::ChallengeSpent);
    // One second inside the lifetime is fine.
    let (_, response) = bank.login();
    bank.advance(299);
    assert!(bank.verify(&response).is_ok());
    // A shorter policy lifetime.
    let mut quick = bank_with(
        {
            let mut policy = Policy::default();
            policy.challenge_lifetime = Duration::from_secs(60);
            policy
        },
        COUNTER_SUITE,
        Crystal::PERFECT,
        None,
    );
    let (_, response) = quick.login();
    quick.advance(61);
    assert_eq!(quick.reason(&response), RejectReason::ChallengeExpired);
}

#[test]
fn a_new_challenge_replaces_the_open_one() {
    let mut bank = bank(COUNTER_SUITE);
    let first = bank.validator.issue_challenge(&bank.id).unwrap();
    let second = bank.validator.issue_challenge(&bank.id).unwrap();
    assert_ne!(first.challenge, second.challenge);
    let old_answer = bank.answer(first.challenge.as_str());
    assert_eq!(bank.reason(&old_answer), RejectReason::WrongCode);
    let new_answer = bank.answer(second.challenge.as_str());
    assert_eq!(bank.reason(&new_answer), RejectReason::ChallengeSpent);
}

#[test]
fn no_challenge_no_acceptance() {
    let mut bank = bank(COUNTER_SUITE);
    // The customer types a challenge the bank never issued.
    let response = bank.answer("12345678");
    assert_eq!(bank.reason(&response), RejectReason::NoChallenge);
    assert_eq!(bank.failures(), 1);
}

#[test]
fn the_counter_looks_ahead_and_moves_past_the_match() {
    let mut bank = bank(COUNTER_SUITE);
    // Three challenges typed into the fob and never sent: its counter is at 503.
    for _ in 0..3 {
        bank.answer("11111111");
    }
    let (_, response) = bank.login();
    let accepted = bank.verify(&response).unwrap();
    assert_eq!((accepted.position, accepted.offset), (503, 3));
    assert_eq!(bank.keypad().next_counter, Some(504));
    // Eleven unused responses put the fob beyond the look-ahead of 10.
    for _ in 0..11 {
        bank.answer("11111111");
    }
    let (_, response) = bank.login();
    assert_eq!(bank.reason(&response), RejectReason::WrongCode);
    assert_eq!(bank.keypad().next_counter, Some(504));
}

#[test]
fn a_transfer_signature_verifies_only_for_its_transfer() {
    let mut bank = bank("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1");
    let payment = transfer(125_000);
    let signature = bank.sign(&payment);
    // The amount raised by an attacker between signing and execution.
    let tampered = transfer(925_000);
    assert_eq!(
        bank.signature_reason(&tampered, &signature),
        RejectReason::TransactionMismatch
    );
    // The attempt spent the challenge: the genuine transfer must be signed again.
    assert_eq!(
        bank.signature_reason(&payment, &signature),
        RejectReason::ChallengeSpent
    );
    let signature = bank.sign(&payment);
    assert!(
        bank.validator
            .verify_signature(&bank.id, &payment, &signature, None)
            .is_ok()
    );
    assert_eq!(
        bank.signature_reason(&payment, &signature),
        RejectReason::ChallengeSpent
    );
    // Every field counts: another beneficiary, currency or reference.
    for other in [
        Transaction::new(
            125_000,
            euro(),
            "DE89370400440532013001",
            Some("Invoice 2026-001"),
        ),
        Transaction::new(
            125_000,
            Currency::new("CHF").unwrap(),
            "DE89370400440532013000",
            Some("Invoice 2026-001"),
        ),
        Transaction::new(125_000, euro(), "DE89370400440532013000", None),
    ] {
        let signature = bank.sign(&payment);
        assert_eq!(
            bank.signature_reason(&other.unwrap(), &signature),
            RejectReason::TransactionMismatch
        );
    }
}

#[test]
fn login_and_signature_challenges_do_not_stand_in_for_each_other() {
    let mut bank = bank(COUNTER_SUITE);
    let payment = transfer(4_200);
    let signature = bank.sign(&payment);
    assert_eq!(
        bank.verify(&signature).unwrap_err().reason(),
        RejectReason::TransactionMismatch
    );
    let (_, response) = bank.login();
    assert_eq!(
        bank.signature_reason(&payment, &response),
        RejectReason::TransactionMismatch
    );
}

#[test]
fn throttling_and_locks_cover_the_keypad() {
    let mut bank = bank(COUNTER_SUITE);
    for _ in 0..10 {
        // Guesses: the fob is not used, so its counter stays where the bank's is.
        let _ = bank.validator.issue_challenge(&bank.id).unwrap();
        assert_eq!(bank.reason("00000000"), RejectReason::WrongCode);
    }
    // Locked: a right response is rejected the same way, and counts nothing.
    let (_, response) = bank.login();
    assert_eq!(bank.reason(&response), RejectReason::Locked);
    assert_eq!(bank.failures(), 10);
    let signature = bank.sign(&transfer(1));
    assert_eq!(
        bank.signature_reason(&transfer(1), &signature),
        RejectReason::Locked
    );
    bank.validator.unlock(&bank.id).unwrap();
    // The challenges tried while locked are spent.
    assert_eq!(bank.reason(&response), RejectReason::ChallengeSpent);
    let (_, response) = bank.login();
    assert!(bank.verify(&response).is_ok());
}

#[test]
fn a_token_locked_by_its_codes_rejects_its_keypad_too() {
    let mut bank = bank(COUNTER_SUITE);
    for guess in 0..10 {
        let code = format!("{:06}", 100_000 + guess);
        assert!(bank.validator.verify(&bank.id, &code, None).is_err());
    }
    let (_, response) = bank.login();
    assert_eq!(bank.reason(&response), RejectReason::Locked);
    // And a disabled fob signs nothing.
    bank.validator.unlock(&bank.id).unwrap();
    bank.validator.disable(&bank.id).unwrap();
    let signature = bank.sign(&transfer(1));
    assert_eq!(
        bank.signature_reason(&transfer(1), &signature),
        RejectReason::Disabled
    );
    // Enabled again, both ways of answering work.
    bank.validator.enable(&bank.id).unwrap();
    let (_, response) = bank.login();
    assert!(bank.verify(&response).is_ok());
    bank.fob.enter_pin(FOB_PIN).unwrap();
    let code = bank.fob.press().unwrap().code().to_string();
    assert!(bank.validator.verify(&bank.id, &code, None).is_ok());
}

#[test]
fn a_drifting_time_fob_is_followed_over_years() {
    // One-minute steps, a crystal 12 ppm fast, a transfer signed once a quarter.
    let mut bank = bank_with(
        Policy::default(),
        "OCRA-1:HOTP-SHA512-8:QN08-T1M",
        Crystal::from_ppm(12.0).unwrap(),
        None,
    );
    let quarter = 91 * 86_400;
    for quarter_index in 1..=12 {
        bank.advance(quarter);
        let payment = transfer(quarter_index * 1_000);
        let signature = bank.sign(&payment);
        let accepted = bank
            .validator
            .verify_signature(&bank.id, &payment, &signature, None)
            .unwrap_or_else(|rejected| panic!("quarter {quarter_index}: {rejected:?}"));
        let ahead = bank.fob.local_time().as_secs() - bank.world.now().as_secs();
        assert!(
            (accepted.offset * 60 - ahead).abs() <= 60,
            "offset {} steps, fob {ahead} s ahead",
            accepted.offset
        );
    }
    // Three years at 12 ppm: about 19 minutes ahead, learned as the drift.
    let drift = bank.keypad().drift_steps;
    assert!((18..=20).contains(&drift), "{drift}");
}

#[test]
fn pin_suites_need_the_bank_to_know_the_new_pin() {
    let mut bank = bank("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1");
    let (_, response) = bank.login();
    assert!(bank.verify(&response).is_ok());
    // The customer changes the fob's PIN; its responses now hash the new one.
    bank.fob.change_pin(FOB_PIN, "97531").unwrap();
    let issued = bank.validator.issue_challenge(&bank.id).unwrap();
    bank.fob.enter_pin("97531").unwrap();
    let response = bank.fob.respond(issued.challenge.as_str()).unwrap();
    assert_eq!(
        bank.reason(&response.code().to_string()),
        RejectReason::WrongCode
    );
    bank.validator.set_ocra_pin(&bank.id, "97531").unwrap();
    let issued = bank.validator.issue_challenge(&bank.id).unwrap();
    bank.fob.enter_pin("97531").unwrap();
    let response = bank.fob.respond(issued.challenge.as_str()).unwrap();
    assert!(bank.verify(&response.code().to_string()).is_ok());
    // The PIN hash is sealed: neither the PIN nor its SHA-1 is in the record.
    let record = bank.validator.store().load(&bank.id).unwrap().unwrap();
    let sealed = record.ocra_pin.clone().unwrap();
    let sha1_of_pin: [u8; 20] = <sha1::Sha1 as sha1::Digest>::digest(b"97531").into();
    assert!(
        !sealed
            .ciphertext
            .windows(5)
            .any(|window| window == b"97531")
    );
    assert!(
        !sealed
            .ciphertext
            .windows(20)
            .any(|window| window == sha1_of_pin)
    );
    assert!(format!("{record:?}").contains("ciphertext_len"));
}

#[test]
fn a_server_side_passcode_applies_to_the_keypad_too() {
    let mut bank = bank_with(
        Policy::default(),
        COUNTER_SUITE,
        Crystal::PERFECT,
        Some("blue-harbour-42"),
    );
    let (_, response) = bank.login();
    assert_eq!(bank.reason(&response), RejectReason::WrongPin);
    let (_, response) = bank.login();
    assert!(
        bank.validator
            .verify_response(&bank.id, &response, Some("blue-harbour-42"))
            .is_ok()
    );
}

#[test]
fn the_audit_trail_names_each_step_and_never_a_response() {
    let mut bank = bank(COUNTER_SUITE);
    let (challenge, response) = bank.login();
    bank.verify(&response).unwrap();
    let _ = bank.verify(&response);
    let payment = transfer(77);
    let signature = bank.sign(&payment);
    let _ = bank
        .validator
        .verify_signature(&bank.id, &transfer(78), &signature, None);
    let trail = bank.validator.store().audit_trail(&bank.id, 10).unwrap();
    let steps: Vec<_> = trail
        .iter()
        .map(|event| (event.operation, event.outcome))
        .collect();
    assert_eq!(
        steps,
        [
            (Operation::Enrol, Outcome::Done),
            (Operation::Challenge, Outcome::Done),
            (Operation::VerifyResponse, Outcome::Accepted),
            (
                Operation::VerifyResponse,
                Outcome::Rejected(RejectReason::ChallengeSpent)
            ),
            (Operation::SignatureChallenge, Outcome::Done),
            (
                Operation::VerifySignature,
                Outcome::Rejected(RejectReason::TransactionMismatch)
            ),
        ]
    );
    assert_eq!(*bank.audit.0.lock().unwrap(), trail);
    let text = format!("{trail:?}");
    for secret in [&challenge, &response, &signature] {
        assert!(!text.contains(secret.as_str()), "{secret} in {text}");
    }
}

#[test]
fn tokens_without_a_keypad_have_no_challenges() {
    let world = ManualClock::at_secs(START);
    let validator = Validator::new(MemoryStore::new(), world.clone(), keyring());
    let id = TokenId::new("SOFT-1").unwrap();
    let secret = Secret::generate_default().unwrap();
    validator
        .enrol(Enrolment::new(
            id.clone(),
            secret.clone(),
            TotpParameters::default(),
        ))
        .unwrap();
    assert_eq!(
        validator.issue_challenge(&id).unwrap_err(),
        ValidatorError::NoOcra {
            token: "SOFT-1".into()
        }
    );
    assert_eq!(
        validator.set_ocra_pin(&id, "1234").unwrap_err(),
        ValidatorError::NoOcra {
            token: "SOFT-1".into()
        }
    );
    assert_eq!(
        validator
            .verify_response(&id, "12345678", None)
            .unwrap_err()
            .reason(),
        RejectReason::NoChallenge
    );
    assert!(matches!(
        validator.issue_challenge(&TokenId::new("NOBODY").unwrap()),
        Err(ValidatorError::Store(
            otpfob::StoreError::NotEnrolled { .. }
        ))
    ));
}

#[test]
fn enrolment_checks_the_suite_and_its_pin() {
    let world = ManualClock::at_secs(START);
    let validator = Validator::new(MemoryStore::new(), world.clone(), keyring());
    let secret = Secret::generate_default().unwrap();
    let enrol = |id: &str, suite: &str, pin: Option<Password<'_>>| {
        let keypad = OcraEnrolment::new(suite.parse().unwrap());
        validator.enrol(
            Enrolment::new(
                TokenId::new(id).unwrap(),
                secret.clone(),
                TotpParameters::default(),
            )
            .with_ocra(match pin {
                Some(pin) => keypad.with_pin(pin),
                None => keypad,
            }),
        )
    };
    assert!(matches!(
        enrol("A", "OCRA-1:HOTP-SHA1-6:QN08-S064", None),
        Err(ValidatorError::OcraSuite { .. })
    ));
    assert_eq!(
        enrol("B", "OCRA-1:HOTP-SHA1-6:QN08-PSHA1", None),
        Err(ValidatorError::Ocra(OcraError::Missing {
            part: DataInputPart::Password
        }))
    );
    assert_eq!(
        enrol("C", "OCRA-1:HOTP-SHA1-6:QN08", Some(Password::Pin(b"1234"))),
        Err(ValidatorError::Ocra(OcraError::NotInSuite {
            part: DataInputPart::Password
        }))
    );
    assert_eq!(
        enrol(
            "D",
            "OCRA-1:HOTP-SHA1-6:QN08-PSHA256",
            Some(Password::Hash(&[0; 20]))
        ),
        Err(ValidatorError::Ocra(OcraError::PasswordHashLength {
            expected: 32,
            found: 20
        }))
    );
    assert!(
        validator.store().list().unwrap().is_empty(),
        "nothing stored"
    );
    assert_eq!(
        enrol(
            "E",
            "OCRA-1:HOTP-SHA1-6:QN08-PSHA256",
            Some(Password::Pin(b"1234"))
        ),
        Ok(TokenId::new("E").unwrap())
    );
    assert!(matches!(
        validator.set_ocra_pin(&TokenId::new("E").unwrap(), ""),
        Err(ValidatorError::Ocra(OcraError::EmptyPin))
    ));
    enrol("F", COUNTER_SUITE, None).unwrap();
    assert!(matches!(
        validator.set_ocra_pin(&TokenId::new("F").unwrap(), "1234"),
        Err(ValidatorError::OcraSuite { .. })
    ));
}

#[test]
fn key_rotation_reseals_the_pin_hash_too() {
    let mut bank = bank("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1");
    let rotated = Keyring::new(SealingKey::new(2, &[8; 32]).unwrap())
        .with_previous(keyring().current().clone())
        .unwrap();
    let store = Arc::new(MemoryStore::new());
    // Move the record into a store the rotated validator uses.
    let record = bank.validator.store().load(&bank.id).unwrap().unwrap();
    let enrolled = bank.validator.store().audit_trail(&bank.id, 1).unwrap();
    store.enrol(&record, &enrolled[0]).unwrap();
    let validator = Validator::new(Arc::clone(&store), bank.world.clone(), rotated);
    assert_eq!(validator.reseal_all().unwrap(), 1);
    let record = store.load(&bank.id).unwrap().unwrap();
    assert_eq!(record.sealed_secret.key_id, 2);
    assert_eq!(record.ocra_pin.as_ref().unwrap().key_id, 2);
    // Only the new key is needed now.
    let only_new = Validator::new(
        Arc::clone(&store),
        bank.world.clone(),
        Keyring::new(SealingKey::new(2, &[8; 32]).unwrap()),
    );
    let issued = only_new.issue_challenge(&bank.id).unwrap();
    let response = bank.answer(issued.challenge.as_str());
    assert!(only_new.verify_response(&bank.id, &response, None).is_ok());
}

#[cfg(feature = "sqlite")]
#[test]
fn an_open_challenge_survives_a_restart_and_is_spent_for_good() {
    use otpfob::SqliteStore;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tokens.db");
    let world = ManualClock::at_secs(START);
    let (mut fob, record) = KeyFob::builder("FOB-0000078", TotpParameters::default())
        .pin(FOB_PIN)
        .ocra(COUNTER_SUITE.parse().unwrap())
        .build(world.clone())
        .unwrap();
    let open = || Validator::new(SqliteStore::open(&path).unwrap(), world.clone(), keyring());
    let id = open().enrol(Enrolment::from(&record)).unwrap();
    let payment = transfer(125_000);
    let issued = open().issue_signature_challenge(&id, &payment).unwrap();
    fob.enter_pin(FOB_PIN).unwrap();
    let signature = fob
        .respond(issued.challenge.as_str())
        .unwrap()
        .code()
        .to_string();
    assert!(
        open()
            .verify_signature(&id, &payment, &signature, None)
            .is_ok()
    );
    assert_eq!(
        open()
            .verify_signature(&id, &payment, &signature, None)
            .unwrap_err()
            .reason(),
        RejectReason::ChallengeSpent
    );
    assert_eq!(
        open()
            .state(&id)
            .unwrap()
            .unwrap()
            .ocra
            .unwrap()
            .next_counter,
        Some(1)
    );
}

/// One step of a session between the bank and a customer with a keypad fob.
#[derive(Debug, Clone)]
enum Step {
    /// The bank issues a login challenge.
    Issue,
    /// The bank issues a signature challenge for a transfer of this many cents.
    IssueSignature(u64),
    /// The customer types the challenge issued at this index (modulo) into the fob.
    Answer(usize),
    /// A response computed earlier (this index, modulo) is sent, for its own
    /// transfer or, if `tamper`, for one of a cent more.
    Submit { response: usize, tamper: bool },
    /// The customer types the newest challenge into the fob and sends the response
    /// for the right transfer at once.
    Complete,
    /// Time passes.
    Wait(u64),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        2 => Just(Step::Issue),
        2 => (1u64..1_000_000).prop_map(Step::IssueSignature),
        3 => any::<usize>().prop_map(Step::Answer),
        4 => (any::<usize>(), any::<bool>())
            .prop_map(|(response, tamper)| Step::Submit { response, tamper }),
        3 => Just(Step::Complete),
        1 => (0u64..400).prop_map(Step::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever the order of issues, answers, submissions (replayed, late, for stale
    /// challenges, tampered) and waits: a challenge is accepted at most once, only if
    /// it is the newest one, answered by the first submission after it was issued,
    /// before it expired, for its own transfer.
    #[test]
    fn no_sequence_accepts_a_challenge_twice(steps in proptest::collection::vec(step(), 1..40)) {
        let mut bank = bank_with(
            {
                let mut policy = Policy::default();
                policy.failure_limit = 1_000;
                policy
            },
            COUNTER_SUITE,
            Crystal::PERFECT,
            None,
        );
        // (challenge text, transfer amount, issued at, submitted since issue)
        let mut issued: Vec<(String, Option<u64>, i64)> = Vec::new();
        let mut submitted_since_newest = false;
        // (index into `issued`, response)
        let mut responses: Vec<(usize, String)> = Vec::new();
        let mut accepted = std::collections::HashSet::new();
        for step in steps {
            match step {
                Step::Issue => {
                    let challenge = bank.validator.issue_challenge(&bank.id).unwrap();
                    issued.push((challenge.challenge.to_string(), None, bank.world.now().as_secs()));
                    submitted_since_newest = false;
                }
                Step::IssueSignature(amount) => {
                    let challenge = bank
                        .validator
                        .issue_signature_challenge(&bank.id, &transfer(amount))
                        .unwrap();
                    issued.push((challenge.challenge.to_string(), Some(amount), bank.world.now().as_secs()));
                    submitted_since_newest = false;
                }
                Step::Answer(index) if !issued.is_empty() => {
                    let index = index % issued.len();
                    let response = bank.answer(&issued[index].0);
                    responses.push((index, response));
                }
                Step::Submit { response, tamper } if !responses.is_empty() => {
                    let (index, response) = responses[response % responses.len()].clone();
                    let (_, amount, issued_at) = issued[index].clone();
                    let result = match amount {
                        Some(amount) => {
                            let amount = if tamper { amount + 1 } else { amount };
                            bank.validator.verify_signature(&bank.id, &transfer(amount), &response, None)
                        }
                        None => bank.verify(&response),
                    };
                    let first_since_issue = !submitted_since_newest;
                    submitted_since_newest = true;
                    if result.is_ok() {
                        prop_assert!(accepted.insert(index), "challenge {index} accepted twice");
                        prop_assert_eq!(index, issued.len() - 1, "only the newest challenge");
                        prop_assert!(first_since_issue, "only the first submission");
                        prop_assert!(bank.world.now().as_secs() < issued_at + 300, "expired");
                        prop_assert!(!(tamper && amount.is_some()), "tampered transfer");
                    }
                }
                Step::Complete if !issued.is_empty() => {
                    let index = issued.len() - 1;
                    let (challenge, amount, issued_at) = issued[index].clone();
                    let behind = bank.fob.ocra_counter().unwrap() - bank.keypad().next_counter.unwrap();
                    let response = bank.answer(&challenge);
                    let result = match amount {
                        Some(amount) => bank.validator.verify_signature(&bank.id, &transfer(amount), &response, None),
                        None => bank.verify(&response),
                    };
                    let expected = !submitted_since_newest
                        && bank.world.now().as_secs() < issued_at + 300
                        && behind <= 10;
                    submitted_since_newest = true;
                    prop_assert_eq!(result.is_ok(), expected, "{:?}", result);
                    if result.is_ok() {
                        prop_assert!(accepted.insert(index), "challenge {index} accepted twice");
                    }
                }
                Step::Wait(seconds) => bank.advance(seconds),
                _ => {}
            }
        }
    }
}
