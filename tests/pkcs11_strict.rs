//! Issue 16, item 3: strict mode. Each token's HMAC key exists only in the HSM, which
//! computes every HMAC; the validator never opens a sealed secret to verify and keeps
//! no generator cache. Shown by a keyring whose sealing key refuses to open anything:
//! every RFC 4226 and RFC 6238 vector still verifies through it. A token whose key
//! object is gone is rejected (fails closed); tokens enrolled before strict mode are
//! imported once; deleting a token removes its key.
#![cfg(feature = "pkcs11")]

mod pkcs11_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use otpfob::validator::pkcs11::Pkcs11Key;
use otpfob::validator::{
    BackendError, CodeGenerator, Incarnation, KeyringBackend, Outcome, Store, TokenKeyBackend,
};
use otpfob::{
    Algorithm, Enrolment, HotpParameters, Keyring, ManualClock, MemoryStore, RejectReason, Secret,
    TimeSource, TokenId, TotpParameters, Validator,
};
use zeroize::Zeroizing;

/// The HSM's sealing key, except that it opens nothing: any verification that needed
/// a seed in memory would fail.
#[derive(Debug)]
struct OpensNothing(Arc<Pkcs11Key>);

impl KeyringBackend for OpensNothing {
    fn key_id(&self) -> u32 {
        self.0.key_id()
    }

    fn seal(
        &self,
        nonce: &[u8; otpfob::validator::NONCE_LEN],
        associated_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        self.0.seal(nonce, associated_data, plaintext)
    }

    fn open(
        &self,
        _nonce: &[u8; otpfob::validator::NONCE_LEN],
        _associated_data: &[u8],
        _sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        panic!("strict mode opened a sealed secret")
    }

    fn record_mac(&self, message: &[u8]) -> Result<[u8; 32], BackendError> {
        self.0.record_mac(message)
    }
}

fn strict_validator(
    key: &Arc<Pkcs11Key>,
    clock: ManualClock,
) -> Validator<MemoryStore, ManualClock> {
    Validator::new(
        MemoryStore::new(),
        clock,
        Keyring::new(OpensNothing(Arc::clone(key))).with_token_keys(Arc::clone(key)),
    )
}

fn enrol(
    validator: &Validator<MemoryStore, ManualClock>,
    id: &TokenId,
    seed: &[u8],
    parameters: impl Into<otpfob::OtpParameters>,
) {
    validator
        .enrol(Enrolment::new(
            id.clone(),
            Secret::from_bytes(seed).unwrap(),
            parameters,
        ))
        .unwrap();
}

#[test]
fn rfc4226_vectors_with_the_key_only_in_the_hsm() {
    let _serial = pkcs11_support::serial();
    const CODES: [&str; 10] = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    let key = Arc::new(pkcs11_support::generated(1, "strict"));
    let validator = strict_validator(&key, ManualClock::at_secs(1_700_000_000));
    let id = TokenId::new("RFC4226").unwrap();
    enrol(
        &validator,
        &id,
        b"12345678901234567890",
        HotpParameters::default(),
    );
    for (counter, code) in CODES.iter().enumerate() {
        assert_eq!(
            validator.verify(&id, code, None).unwrap().position,
            counter as u64
        );
        assert!(validator.verify(&id, code, None).is_err());
    }
    // Resynchronisation goes through the HSM too: two consecutive codes far ahead.
    let reference = otpfob::Hotp::new(
        &Secret::from_bytes(b"12345678901234567890").unwrap(),
        HotpParameters::default(),
    )
    .unwrap();
    let (first, second) = (reference.at(50).to_string(), reference.at(51).to_string());
    assert!(
        validator.verify(&id, &first, None).is_err(),
        "outside the look-ahead"
    );
    assert_eq!(
        validator
            .resync(&id, &first, &second, None)
            .unwrap()
            .position,
        51
    );
}

#[test]
fn rfc6238_vectors_with_the_key_only_in_the_hsm() {
    let _serial = pkcs11_support::serial();
    let rows: [(i64, Algorithm, &str); 9] = [
        (59, Algorithm::Sha1, "94287082"),
        (59, Algorithm::Sha256, "46119246"),
        (59, Algorithm::Sha512, "90693936"),
        (1_234_567_890, Algorithm::Sha1, "89005924"),
        (1_234_567_890, Algorithm::Sha256, "91819424"),
        (1_234_567_890, Algorithm::Sha512, "93441116"),
        (20_000_000_000, Algorithm::Sha1, "65353130"),
        (20_000_000_000, Algorithm::Sha256, "77737706"),
        (20_000_000_000, Algorithm::Sha512, "47863826"),
    ];
    let key = Arc::new(pkcs11_support::generated(1, "strict"));
    let clock = ManualClock::at_secs(0);
    let validator = strict_validator(&key, clock.clone());
    for (number, (time, algorithm, code)) in rows.into_iter().enumerate() {
        clock.set(ManualClock::at_secs(time).now());
        let seed: &[u8] = match algorithm {
            Algorithm::Sha1 => b"12345678901234567890",
            Algorithm::Sha256 => b"12345678901234567890123456789012",
            _ => b"1234567890123456789012345678901234567890123456789012345678901234",
        };
        let id = TokenId::new(format!("RFC6238-{number}")).unwrap();
        let parameters = TotpParameters {
            algorithm,
            digits: 8,
            ..TotpParameters::default()
        };
        enrol(&validator, &id, seed, parameters);
        assert!(
            validator.verify(&id, code, None).is_ok(),
            "{code} at {time} ({algorithm:?})"
        );
        assert!(validator.verify(&id, "00000000", None).is_err());
    }
}

#[test]
fn a_missing_key_object_fails_closed_and_delete_removes_it() {
    let _serial = pkcs11_support::serial();
    let key = Arc::new(pkcs11_support::generated(1, "strict"));
    let validator = strict_validator(&key, ManualClock::at_secs(1_700_000_000));
    let id = TokenId::new("FOB-1").unwrap();
    enrol(
        &validator,
        &id,
        b"12345678901234567890",
        HotpParameters::default(),
    );
    let incarnation = validator.store().load(&id).unwrap().unwrap().incarnation;
    assert!(validator.verify(&id, "755224", None).is_ok());

    key.remove(&id, incarnation).unwrap();
    assert!(validator.verify(&id, "287082", None).is_err());
    let trail = validator.store().audit_trail(&id, 1).unwrap();
    assert_eq!(
        trail[0].outcome,
        Outcome::Rejected(RejectReason::KeyringUnavailable)
    );

    // Back (imported again): the same token verifies where it left off.
    key.import(
        &id,
        incarnation,
        &Secret::from_bytes(b"12345678901234567890").unwrap(),
    )
    .unwrap();
    assert!(validator.verify(&id, "287082", None).is_ok());

    validator.delete(&id).unwrap();
    assert!(matches!(
        key.generator(&id, incarnation, HotpParameters::default()),
        Err(BackendError::MissingKey { .. })
    ));
}

#[test]
fn tokens_enrolled_before_strict_mode_are_imported_once() {
    let _serial = pkcs11_support::serial();
    let key = Arc::new(pkcs11_support::generated(1, "strict"));
    let store = Arc::new(MemoryStore::new());
    let clock = ManualClock::at_secs(1_700_000_000);
    let before = Validator::new(
        Arc::clone(&store),
        clock.clone(),
        Keyring::new(Arc::clone(&key)),
    );
    let id = TokenId::new("FOB-OLD").unwrap();
    before
        .enrol(Enrolment::new(
            id.clone(),
            Secret::from_bytes(b"12345678901234567890").unwrap(),
            HotpParameters::default(),
        ))
        .unwrap();
    let strict = Validator::new(
        Arc::clone(&store),
        clock.clone(),
        Keyring::new(Arc::clone(&key)).with_token_keys(Arc::clone(&key)),
    );
    // Not imported yet: strict mode does not fall back to opening the seed.
    assert!(strict.verify(&id, "755224", None).is_err());
    assert_eq!(strict.import_token_keys().unwrap(), 1);
    let no_opening = Validator::new(
        Arc::clone(&store),
        clock,
        Keyring::new(OpensNothing(Arc::clone(&key))).with_token_keys(Arc::clone(&key)),
    );
    assert!(no_opening.verify(&id, "755224", None).is_ok());
}

/// The HSM's token keys, counting the HMACs their generators compute.
#[derive(Debug)]
struct CountingKeys {
    inner: Arc<Pkcs11Key>,
    codes: Arc<AtomicUsize>,
}

struct CountingGenerator<'a> {
    inner: Box<dyn CodeGenerator + 'a>,
    codes: Arc<AtomicUsize>,
}

impl CodeGenerator for CountingGenerator<'_> {
    fn parameters(&self) -> HotpParameters {
        self.inner.parameters()
    }

    fn at(&self, counter: u64) -> otpfob::Code {
        self.codes.fetch_add(1, Ordering::Relaxed);
        self.inner.at(counter)
    }

    fn failed(&self) -> bool {
        self.inner.failed()
    }
}

impl TokenKeyBackend for CountingKeys {
    fn import(
        &self,
        token: &TokenId,
        incarnation: Incarnation,
        secret: &Secret,
    ) -> Result<(), BackendError> {
        self.inner.import(token, incarnation, secret)
    }

    fn generator<'a>(
        &'a self,
        token: &TokenId,
        incarnation: Incarnation,
        parameters: HotpParameters,
    ) -> Result<Box<dyn CodeGenerator + 'a>, BackendError> {
        let inner = self.inner.generator(token, incarnation, parameters)?;
        Ok(Box::new(CountingGenerator {
            inner,
            codes: Arc::clone(&self.codes),
        }))
    }

    fn remove(&self, token: &TokenId, incarnation: Incarnation) -> Result<(), BackendError> {
        self.inner.remove(token, incarnation)
    }
}

/// Issue 11, item 2, in strict mode: the decoy's HMAC key is an object in the HSM, so an
/// unknown id costs the HMACs of a wrong code. Before, the decoy had no key object there:
/// its generator failed at once (0 HMACs against the whole window's), and a stopwatch
/// told enrolled ids apart. A second validator on the same HSM token reuses the object.
#[test]
fn an_unknown_id_costs_the_hsm_what_a_wrong_code_costs() {
    let _serial = pkcs11_support::serial();
    let key = Arc::new(pkcs11_support::generated(1, "strict-decoy"));
    let codes = Arc::new(AtomicUsize::new(0));
    let strict = |codes: &Arc<AtomicUsize>| {
        Validator::new(
            MemoryStore::new(),
            ManualClock::at_secs(1_700_000_000),
            Keyring::new(OpensNothing(Arc::clone(&key))).with_token_keys(CountingKeys {
                inner: Arc::clone(&key),
                codes: Arc::clone(codes),
            }),
        )
    };
    let validator = strict(&codes);
    let id = TokenId::new("FOB-1").unwrap();
    enrol(
        &validator,
        &id,
        b"12345678901234567890",
        TotpParameters::default(),
    );
    let nobody = TokenId::new("NOBODY").unwrap();
    // The decoy is made (and its key imported) on first use; not counted.
    let _ = validator.verify(&nobody, "000000", None);
    let count = |run: &dyn Fn()| {
        let before = codes.load(Ordering::Relaxed);
        run();
        codes.load(Ordering::Relaxed) - before
    };
    let known = count(&|| {
        let rejected = validator.verify(&id, "000000", None).unwrap_err();
        assert_eq!(rejected.reason(), RejectReason::WrongCode);
    });
    let unknown = count(&|| {
        let rejected = validator.verify(&nobody, "000000", None).unwrap_err();
        assert_eq!(rejected.reason(), RejectReason::UnknownToken);
    });
    assert!(known > 1, "{known}");
    assert_eq!(unknown, known);

    let again = Arc::new(AtomicUsize::new(0));
    let second = strict(&again);
    let _ = second.verify(&nobody, "000000", None).unwrap_err();
    assert_eq!(
        again.load(Ordering::Relaxed),
        known,
        "the second validator's decoy"
    );
}
