//! Issue 16, item 3: strict mode. Each token's HMAC key exists only in the HSM, which
//! computes every HMAC; the validator never opens a sealed secret to verify and keeps
//! no generator cache. Shown by a keyring whose sealing key refuses to open anything:
//! every RFC 4226 and RFC 6238 vector still verifies through it. A token whose key
//! object is gone is rejected (fails closed); tokens enrolled before strict mode are
//! imported once; deleting a token removes its key.
#![cfg(feature = "pkcs11")]

mod pkcs11_support;

use std::sync::Arc;

use otpfob::validator::pkcs11::Pkcs11Key;
use otpfob::validator::{BackendError, KeyringBackend, Outcome, Store, TokenKeyBackend};
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
