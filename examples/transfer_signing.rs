//! Transfer signing with a simulated keypad fob (RFC 6287 OCRA), checked by the bank.
//!
//! A vendor makes a keypad fob and its factory record; the bank enrols the record.
//! Alice asks for a transfer; the bank derives a signature challenge from it, Alice
//! types the challenge into her fob after its PIN and types back the signature, which
//! the bank accepts for exactly that transfer. Then a transfer whose amount was
//! raised on the way is rejected, the accepted signature replayed is rejected, and a
//! signature typed after its challenge expired is rejected. Step 7 compares challenge
//! mode with sign mode (PSD2 RTS Art. 5, what you see is what you sign) against a
//! transfer changed after signing (both catch it) and one changed before the bank
//! issued its challenge (only sign mode does). The audit trail ends it.
//!
//! `cargo run --example transfer_signing` keeps the bank's records in a SQLite file
//! in a temporary directory (`-- --database PATH` to keep it); `-- --memory`, or a
//! build without the default `sqlite` feature, keeps them in memory.

use std::error::Error;
use std::time::Duration;

use otpfob::{
    Acceptance, Device, Enrolment, KeyFob, Keyring, ManualClock, MemoryStore, SealingKey,
    TimeSource, TokenId, TotpParameters, UnixTime, Validator,
    ocra::{Currency, SignedFields, Transaction},
    validator::{IssuedChallenge, Outcome, Store},
};

const START: i64 = 1_767_261_600; // 2026-01-01T10:00:00Z
const FOB_PIN: &str = "4821";
const SUITE: &str = "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1";
/// Sign mode's suite: a numeric question long enough for the typed fields.
const SIGN_SUITE: &str = "OCRA-1:HOTP-SHA256-8:C-QN20-PSHA1";

type Bank<S> = Validator<S, ManualClock>;

fn main() -> Result<(), Box<dyn Error>> {
    let world = ManualClock::at_secs(START);
    // The sealing key comes from the bank's key management (an HSM, a KMS).
    let keyring = Keyring::new(SealingKey::generate(1)?);
    match choose_store()? {
        #[cfg(feature = "sqlite")]
        Choice::Sqlite(path, _temporary) => {
            let store = otpfob::SqliteStore::open(&path)?;
            let description = format!("SQLite file {}", path.display());
            run(
                Validator::new(store, world.clone(), keyring),
                &world,
                &description,
            )
        }
        Choice::Memory => run(
            Validator::new(MemoryStore::new(), world.clone(), keyring),
            &world,
            "memory",
        ),
    }
}

fn run<S: Store>(bank: Bank<S>, world: &ManualClock, store: &str) -> Result<(), Box<dyn Error>> {
    heading("1. The vendor makes a keypad fob; the bank enrols its factory record");
    let (mut fob, record) = KeyFob::builder("FOB-0004711", TotpParameters::default())
        .pin(FOB_PIN)
        .ocra(SUITE.parse()?)
        .build(world.clone())?;
    let id = bank.enrol(Enrolment::from(&record))?;
    say(&format!(
        "fob {}: TOTP codes on its button, and a keypad for",
        record.serial
    ));
    say(&format!(
        "  {SUITE}: HMAC-SHA-256, 8-digit responses, a counter,"
    ));
    say("  8-digit numeric challenges, the fob PIN hashed with SHA-1");
    say(&format!("bank records: {store}"));
    say("the seed and the PIN hash are stored sealed with AES-256-GCM, never in clear");

    heading("2. Alice transfers EUR 1,250.00 and signs it on her fob");
    let payment = Transaction::new(
        125_000,
        Currency::new("EUR")?,
        "DE89370400440532013000",
        Some("Invoice 2026-017"),
    )?;
    let issued = bank.issue_signature_challenge(&id, &payment)?;
    show_challenge(&payment, &issued, world);
    let signature = sign_on_fob(&mut fob, &issued, world)?;
    submit(&bank, &id, &payment, &signature);
    let accepted_signature = signature;

    heading("3. Alice pays her rent; malware in her browser raises the amount on the way");
    let rent = Transaction::new(
        98_000,
        Currency::new("EUR")?,
        "DE02120300000000202051",
        None,
    )?;
    let issued = bank.issue_signature_challenge(&id, &rent)?;
    show_challenge(&rent, &issued, world);
    let signature = sign_on_fob(&mut fob, &issued, world)?;
    let tampered = Transaction::new(980_000, rent.currency(), rent.beneficiary(), None)?;
    say("the request reaches the bank with EUR 9,800.00 and Alice's signature:");
    submit(&bank, &id, &tampered, &signature);
    say("that attempt spent the challenge: the genuine transfer must be signed again");

    heading("4. An attacker replays the signature accepted in step 2");
    world.advance(Duration::from_secs(20));
    submit(&bank, &id, &payment, &accepted_signature);

    heading("5. Alice is called away and comes back to the challenge six minutes later");
    let issued = bank.issue_signature_challenge(&id, &rent)?;
    show_challenge(&rent, &issued, world);
    world.advance(Duration::from_secs(6 * 60));
    let signature = sign_on_fob(&mut fob, &issued, world)?;
    submit(&bank, &id, &rent, &signature);

    heading("6. She signs the rent again, in time");
    let issued = bank.issue_signature_challenge(&id, &rent)?;
    show_challenge(&rent, &issued, world);
    let signature = sign_on_fob(&mut fob, &issued, world)?;
    let accepted = submit(&bank, &id, &rent, &signature);
    let keypad = bank.state(&id)?.and_then(|state| state.ocra);
    say(&format!(
        "fob counter {}, bank's next counter {}: the responses of steps 3 and 5, which the",
        fob.ocra_counter().unwrap_or_default(),
        keypad
            .and_then(|keypad| keypad.next_counter)
            .unwrap_or_default()
    ));
    say(&format!(
        "bank never accepted, were stepped over by its counter look-ahead (offset {:+})",
        accepted
            .map(|acceptance| acceptance.offset)
            .unwrap_or_default()
    ));

    sign_mode(world)?;

    heading("Audit trail (never a challenge, a signature, a PIN or a seed)");
    for event in bank.store().audit_trail(&id, 20)? {
        let outcome = match event.outcome {
            Outcome::Accepted => "accepted".to_owned(),
            Outcome::Rejected(reason) => format!("rejected ({reason})"),
            Outcome::Done => "done".to_owned(),
            other => format!("{other:?}"),
        };
        say(&format!(
            "{} {:<19} {outcome}",
            clock_time(event.at),
            event.operation.as_str()
        ));
    }
    Ok(())
}

/// What the bank's page shows: the transfer, and the challenge to type.
fn show_challenge(transfer: &Transaction, issued: &IssuedChallenge, world: &ManualClock) {
    say(&format!(
        "bank's page: {} {} to {}{}",
        transfer.currency(),
        amount(transfer.amount_minor()),
        transfer.beneficiary(),
        transfer
            .reference()
            .map(|reference| format!(" (\"{reference}\")"))
            .unwrap_or_default()
    ));
    say(&format!(
        "             type {} into your fob (issued {}, valid until {})",
        issued.challenge,
        clock_time(world.now()),
        clock_time(issued.expires_at)
    ));
}

/// Alice opens the fob with its PIN, types the challenge and reads the signature,
/// which takes her half a minute.
fn sign_on_fob(
    fob: &mut KeyFob<ManualClock>,
    issued: &IssuedChallenge,
    world: &ManualClock,
) -> Result<String, Box<dyn Error>> {
    world.advance(Duration::from_secs(30));
    fob.enter_pin(FOB_PIN)?;
    let reading = fob.respond(issued.challenge.as_str())?;
    let signature = reading.code().to_string();
    say(&format!(
        "{} Alice: PIN, then {} on the keypad; the fob shows {}",
        clock_time(world.now()),
        issued.challenge,
        reading.code().grouped(' ')
    ));
    Ok(signature)
}

/// The bank checks a signature for the transfer it is about to execute.
fn submit<S: Store>(
    bank: &Bank<S>,
    id: &TokenId,
    transfer: &Transaction,
    signature: &str,
) -> Option<Acceptance> {
    let what = format!(
        "{} {} to {}",
        transfer.currency(),
        amount(transfer.amount_minor()),
        transfer.beneficiary()
    );
    match bank.verify_signature(id, transfer, signature, None) {
        Ok(accepted) => {
            say(&format!(
                "bank: signature {signature} for {what}: accepted, executed (fob counter {})",
                accepted.position
            ));
            Some(accepted)
        }
        // The customer sees only "code rejected"; the reason is for the bank's logs.
        Err(rejected) => {
            say(&format!(
                "bank: signature {signature} for {what}: {rejected}   [log: {}]",
                rejected.reason()
            ));
            None
        }
    }
}

fn amount(minor: u64) -> String {
    let units = (minor / 100).to_string();
    let mut grouped = String::new();
    for (index, digit) in units.chars().enumerate() {
        if index > 0 && (units.len() - index).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{grouped}.{:02}", minor % 100)
}

fn clock_time(time: UnixTime) -> String {
    let seconds = time.as_secs().rem_euclid(86_400);
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3_600,
        seconds / 60 % 60,
        seconds % 60
    )
}

fn heading(title: &str) {
    println!("\n== {title}");
}

fn say(line: &str) {
    println!("   {line}");
}

/// Where the bank keeps its records.
enum Choice {
    /// A SQLite file, and the temporary directory to remove afterwards (if any).
    #[cfg(feature = "sqlite")]
    Sqlite(std::path::PathBuf, Option<TemporaryDirectory>),
    Memory,
}

fn choose_store() -> Result<Choice, Box<dyn Error>> {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--memory"] => Ok(Choice::Memory),
        #[cfg(feature = "sqlite")]
        ["--database", path] => Ok(Choice::Sqlite(path.into(), None)),
        #[cfg(feature = "sqlite")]
        [] => {
            let directory = std::env::temp_dir()
                .join(format!("otpfob-transfer-signing-{}", std::process::id()));
            std::fs::create_dir_all(&directory)?;
            Ok(Choice::Sqlite(
                directory.join("bank.db"),
                Some(TemporaryDirectory(directory)),
            ))
        }
        #[cfg(not(feature = "sqlite"))]
        [] => Ok(Choice::Memory),
        _ => Err("usage: transfer_signing [--memory | --database PATH]".into()),
    }
}

#[cfg(feature = "sqlite")]
struct TemporaryDirectory(std::path::PathBuf);

#[cfg(feature = "sqlite")]
impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Step 7: the two attacks on dynamic linking, in challenge mode and in sign mode, each
/// on a fob of its own (sign mode's questions are the typed fields, up to 19 digits).
fn sign_mode(world: &ManualClock) -> Result<(), Box<dyn Error>> {
    heading("7. Challenge mode against sign mode (what you see is what you sign)");
    let bank = Validator::new(
        MemoryStore::new(),
        world.clone(),
        Keyring::new(SealingKey::generate(1)?),
    );
    let (mut challenge_fob, record) = KeyFob::builder("FOB-CHALLENGE", TotpParameters::default())
        .pin(FOB_PIN)
        .ocra(SUITE.parse()?)
        .build(world.clone())?;
    let challenge_id = bank.enrol(Enrolment::from(&record))?;
    let (mut sign_fob, record) = KeyFob::builder("FOB-SIGN", TotpParameters::default())
        .pin(FOB_PIN)
        .ocra(SIGN_SUITE.parse()?)
        .build(world.clone())?;
    let sign_id = bank.enrol(Enrolment::from(&record))?;
    let invoice = Transaction::new(
        98_000,
        Currency::new("EUR")?,
        "DE02120300000000202051",
        None,
    )?;
    let mule = Transaction::new(98_000, invoice.currency(), "GB33BUKB20201555555555", None)?;
    let raised = Transaction::new(980_000, invoice.currency(), invoice.beneficiary(), None)?;
    let verdict = |result: Result<Acceptance, otpfob::Rejected>| match result {
        Ok(_) => "ACCEPTED".to_owned(),
        Err(rejected) => format!("rejected ({})", rejected.reason()),
    };

    say("a) changed after signing: Alice signs EUR 980.00, the bank receives EUR 9,800.00");
    let issued = bank.issue_signature_challenge(&challenge_id, &invoice)?;
    challenge_fob.enter_pin(FOB_PIN)?;
    let signature = challenge_fob
        .respond(issued.challenge.as_str())?
        .code()
        .to_string();
    say(&format!(
        "   challenge mode: {}",
        verdict(bank.verify_signature(&challenge_id, &raised, &signature, None))
    ));
    sign_fob.enter_pin(FOB_PIN)?;
    let (shown, reading) = sign_fob.sign(&SignedFields::of_transaction(&invoice)?)?;
    let _opened = bank.issue_sign_mode(&sign_id, &SignedFields::of_transaction(&raised)?)?;
    say(&format!(
        "   sign mode (fob showed {shown}): {}",
        verdict(bank.verify_response(&sign_id, &reading.code().to_string(), None))
    ));

    say("b) changed before the challenge: malware swaps the payee before the bank sees it,");
    say("   and shows Alice her own transfer with the bank's challenge for the mule's");
    let issued = bank.issue_signature_challenge(&challenge_id, &mule)?;
    challenge_fob.enter_pin(FOB_PIN)?;
    let signature = challenge_fob
        .respond(issued.challenge.as_str())?
        .code()
        .to_string();
    say(&format!(
        "   challenge mode: {}  <- the mule is paid",
        verdict(bank.verify_signature(&challenge_id, &mule, &signature, None))
    ));
    sign_fob.enter_pin(FOB_PIN)?;
    // Alice types the payee from her invoice, not from the page.
    let (shown, reading) = sign_fob.sign(&SignedFields::of_transaction(&invoice)?)?;
    let _opened = bank.issue_sign_mode(&sign_id, &SignedFields::of_transaction(&mule)?)?;
    say(&format!(
        "   sign mode (fob showed {shown}): {}",
        verdict(bank.verify_response(&sign_id, &reading.code().to_string(), None))
    ));

    say("c) a batch (RTS Art. 5(3)(b)): 2 payees, EUR 1,230.00 in total");
    let batch = [
        invoice,
        Transaction::new(
            25_000,
            Currency::new("EUR")?,
            "FR7630006000011234567890189",
            None,
        )?,
    ];
    sign_fob.enter_pin(FOB_PIN)?;
    let (shown, reading) = sign_fob.sign(&SignedFields::of_batch(&batch)?)?;
    let _opened = bank.issue_sign_mode(&sign_id, &SignedFields::of_batch(&batch)?)?;
    say(&format!(
        "   sign mode (fob showed {shown}): {}",
        verdict(bank.verify_response(&sign_id, &reading.code().to_string(), None))
    ));
    Ok(())
}
