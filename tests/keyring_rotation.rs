//! Issue 16, item 2: rotating the sealing key across backends while verifications go
//! on. From a software key to a key in the HSM, and from one HSM key to a new one:
//! every verification during the run succeeds, the progress reaches every token, the
//! old key can be retired once `sealing_keys_in_use` names only the new one, and a run
//! that fails half-way leaves every record wholly under one key, so the old key is
//! never needed by a record it cannot open, and the run can simply be repeated.
#![cfg(feature = "pkcs11")]

mod pkcs11_support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

use otpfob::validator::{BackendError, KeyringBackend, Store};
use otpfob::{
    Enrolment, Hotp, HotpParameters, Keyring, ManualClock, MemoryStore, SealError, SealingKey,
    Secret, TokenId, Validator, ValidatorError,
};
use zeroize::Zeroizing;

const TOKENS: usize = 60;

fn secret(number: usize) -> Secret {
    let mut bytes = [0u8; 20];
    bytes[..8].copy_from_slice(&(number as u64).to_be_bytes());
    Secret::from_bytes(&bytes).unwrap()
}

fn id(number: usize) -> TokenId {
    TokenId::new(format!("FOB-{number:04}")).unwrap()
}

fn code(number: usize, counter: u64) -> String {
    Hotp::new(&secret(number), HotpParameters::default())
        .unwrap()
        .at(counter)
        .to_string()
}

fn validator(
    store: &Arc<MemoryStore>,
    keyring: Keyring,
) -> Validator<Arc<MemoryStore>, ManualClock> {
    Validator::new(
        Arc::clone(store),
        ManualClock::at_secs(1_700_000_000),
        keyring,
    )
}

fn enrolled(keyring: Keyring) -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::new());
    let validator = validator(&store, keyring);
    for number in 0..TOKENS {
        validator
            .enrol(Enrolment::new(
                id(number),
                secret(number),
                HotpParameters::default(),
            ))
            .unwrap();
    }
    store
}

/// Every key id each record holds anything under (secret, MAC).
fn keys_of_records(store: &MemoryStore) -> Vec<(u32, u32)> {
    (0..TOKENS)
        .map(|number| {
            let record = store.load(&id(number)).unwrap().unwrap();
            (record.sealed_secret.key_id, record.mac.unwrap().key_id)
        })
        .collect()
}

/// Rotates `store` to `rotated` (new key current, old key previous) while four
/// threads verify codes of every token on a validator with the same keyring; each
/// token's codes follow each other, so every verification must succeed. Returns the
/// next counter of every token.
fn rotate_while_verifying(store: &Arc<MemoryStore>, rotated: Keyring, counters: &[AtomicUsize]) {
    let validator = Arc::new(validator(store, rotated));
    let done = Arc::new(AtomicBool::new(false));
    let verified = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..4)
        .map(|worker| {
            let validator = Arc::clone(&validator);
            let done = Arc::clone(&done);
            let verified = Arc::clone(&verified);
            // Each worker owns every fourth token, so its codes stay in order.
            let numbers: Vec<usize> = (worker..TOKENS).step_by(4).collect();
            let counters: Vec<u64> = numbers
                .iter()
                .map(|number| counters[*number].load(Ordering::SeqCst) as u64)
                .collect();
            thread::spawn(move || {
                let mut counters = counters;
                while !done.load(Ordering::SeqCst) || verified.load(Ordering::SeqCst) < TOKENS {
                    for (slot, number) in numbers.iter().enumerate() {
                        let acceptance = validator
                            .verify(&id(*number), &code(*number, counters[slot]), None)
                            .unwrap_or_else(|_| {
                                panic!("token {number} rejected during the rotation")
                            });
                        assert_eq!(acceptance.position, counters[slot]);
                        counters[slot] += 1;
                        verified.fetch_add(1, Ordering::SeqCst);
                    }
                }
                (numbers, counters)
            })
        })
        .collect();
    let progress = Mutex::new(Vec::new());
    let resealed = validator
        .reseal_all_with_progress(|report| progress.lock().unwrap().push(report))
        .unwrap();
    done.store(true, Ordering::SeqCst);
    for worker in workers {
        let (numbers, next) = worker.join().unwrap();
        for (number, counter) in numbers.into_iter().zip(next) {
            counters[number].store(counter as usize, Ordering::SeqCst);
        }
    }
    assert_eq!(resealed, TOKENS);
    let progress = progress.into_inner().unwrap();
    assert_eq!(progress.len(), TOKENS);
    for (index, report) in progress.iter().enumerate() {
        assert_eq!(report.checked, index + 1);
        assert_eq!(report.total, TOKENS);
    }
    assert_eq!(progress.last().unwrap().resealed, TOKENS);
    assert!(verified.load(Ordering::SeqCst) >= TOKENS);
}

/// Every token verifies its next code under `keyring`, which holds only the new key.
fn all_verify(store: &Arc<MemoryStore>, keyring: Keyring, counters: &[AtomicUsize]) {
    let validator = validator(store, keyring);
    for (number, counter) in counters.iter().enumerate() {
        let next = counter.fetch_add(1, Ordering::SeqCst) as u64;
        assert!(
            validator
                .verify(&id(number), &code(number, next), None)
                .is_ok(),
            "token {number} after the rotation"
        );
    }
}

#[test]
fn software_to_hsm_then_to_a_new_hsm_key_while_verifying() {
    let _serial = pkcs11_support::serial();
    let software = SealingKey::generate(1).unwrap();
    let store = enrolled(Keyring::new(software.clone()));
    let counters: Vec<AtomicUsize> = (0..TOKENS).map(|_| AtomicUsize::new(0)).collect();

    let first = Arc::new(pkcs11_support::generated(2, "rotation"));
    rotate_while_verifying(
        &store,
        Keyring::new(Arc::clone(&first))
            .with_previous(software)
            .unwrap(),
        &counters,
    );
    let in_use = validator(&store, Keyring::new(Arc::clone(&first)))
        .sealing_keys_in_use()
        .unwrap();
    assert_eq!(in_use, BTreeMap::from([(2, TOKENS)]));
    // The software key retired: the HSM key alone serves every token.
    all_verify(&store, Keyring::new(Arc::clone(&first)), &counters);

    let second = Arc::new(pkcs11_support::generated(3, "rotation"));
    rotate_while_verifying(
        &store,
        Keyring::new(Arc::clone(&second))
            .with_previous(Arc::clone(&first))
            .unwrap(),
        &counters,
    );
    assert!(keys_of_records(&store).iter().all(|keys| *keys == (3, 3)));
    // The first HSM key destroyed: nothing needed it any more.
    let retired_config = first.config().clone();
    drop(first);
    otpfob::validator::pkcs11::Pkcs11Key::open(2, &retired_config)
        .unwrap()
        .destroy()
        .unwrap();
    all_verify(&store, Keyring::new(second), &counters);
}

/// A key that stops sealing after a number of seals, as an HSM that drops off in the
/// middle of a rotation.
#[derive(Debug)]
struct FailingAfter {
    inner: Arc<dyn KeyringBackend>,
    seals_left: AtomicUsize,
}

impl KeyringBackend for FailingAfter {
    fn key_id(&self) -> u32 {
        self.inner.key_id()
    }

    fn seal(
        &self,
        nonce: &[u8; otpfob::validator::NONCE_LEN],
        associated_data: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, BackendError> {
        if self
            .seals_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
                left.checked_sub(1)
            })
            .is_err()
        {
            return Err(BackendError::SessionLost {
                reason: "the HSM went away".into(),
            });
        }
        self.inner.seal(nonce, associated_data, plaintext)
    }

    fn open(
        &self,
        nonce: &[u8; otpfob::validator::NONCE_LEN],
        associated_data: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, BackendError> {
        self.inner.open(nonce, associated_data, sealed)
    }

    fn record_mac(&self, message: &[u8]) -> Result<[u8; 32], BackendError> {
        self.inner.record_mac(message)
    }
}

#[test]
fn a_rotation_that_fails_half_way_leaves_no_record_half_resealed() {
    let _serial = pkcs11_support::serial();
    let software = SealingKey::generate(1).unwrap();
    let store = enrolled(Keyring::new(software.clone()));
    let hsm: Arc<dyn KeyringBackend> = Arc::new(pkcs11_support::generated(2, "interrupted"));
    let failing = FailingAfter {
        inner: Arc::clone(&hsm),
        seals_left: AtomicUsize::new(TOKENS / 3),
    };
    let rotating = validator(
        &store,
        Keyring::new(failing)
            .with_previous(software.clone())
            .unwrap(),
    );
    let mut reports = Vec::new();
    let error = rotating
        .reseal_all_with_progress(|report| reports.push(report))
        .unwrap_err();
    assert!(
        matches!(
            error,
            ValidatorError::Seal(SealError::Backend {
                key_id: 2,
                error: BackendError::SessionLost { .. }
            })
        ),
        "{error:?}"
    );
    assert_eq!(reports.last().unwrap().resealed, TOKENS / 3);
    // Each record wholly under one key: the old one or the new one.
    let keys = keys_of_records(&store);
    assert_eq!(
        keys.iter().filter(|keys| **keys == (2, 2)).count(),
        TOKENS / 3
    );
    assert_eq!(
        keys.iter().filter(|keys| **keys == (1, 1)).count(),
        TOKENS - TOKENS / 3
    );
    // Both keys still in the ring: every token verifies, whichever key it is under.
    let both = validator(
        &store,
        Keyring::new(Arc::clone(&hsm))
            .with_previous(software.clone())
            .unwrap(),
    );
    for number in 0..TOKENS {
        assert!(both.verify(&id(number), &code(number, 0), None).is_ok());
    }
    // A verification stores its record with a MAC under the current key, so every
    // record now names key 2, and the ones not resealed still name key 1 for their
    // secret: key 1 must stay.
    assert_eq!(
        both.sealing_keys_in_use().unwrap(),
        BTreeMap::from([(1, TOKENS - TOKENS / 3), (2, TOKENS)])
    );
    // Repeated once the HSM is back: only the rest is resealed.
    assert_eq!(both.reseal_all().unwrap(), TOKENS - TOKENS / 3);
    assert_eq!(
        both.sealing_keys_in_use().unwrap(),
        BTreeMap::from([(2, TOKENS)])
    );
}
