//! Issue 16, item 4: a key in a PKCS#11 token that fails. The module missing, the
//! token absent, the PIN wrong or unreadable, the key object deleted, the session lost
//! and the token gone for a while: each is a typed error, the validator rejects (fails
//! closed, audited as `keyring_unavailable`), and it serves again as soon as the token
//! is back, without a restart.
//!
//! One test, its steps in order: PKCS#11 login state is per process and token, so a
//! wrong PIN is only noticed while no other session of the process is logged in, and
//! moving the token away would disturb tests running beside it.
#![cfg(feature = "pkcs11")]

mod pkcs11_support;

use std::path::PathBuf;

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::object::{Attribute, AttributeType};
use cryptoki::session::Session;
use otpfob::validator::pkcs11::{PinSource, Pkcs11Config, Pkcs11Key, TokenSelector};
use otpfob::validator::{BackendError, Operation, Outcome, Store};
use otpfob::{
    Enrolment, Hotp, HotpParameters, Keyring, ManualClock, MemoryStore, RejectReason, SealError,
    Secret, TokenId, Validator, ValidatorError,
};

fn secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").unwrap()
}

fn code(counter: u64) -> String {
    Hotp::new(&secret(), HotpParameters::default())
        .unwrap()
        .at(counter)
        .to_string()
}

fn validator(key: Pkcs11Key) -> Validator<MemoryStore, ManualClock> {
    let validator = Validator::new(
        MemoryStore::new(),
        ManualClock::at_secs(1_700_000_000),
        Keyring::new(key),
    )
    .with_generator_cache(0);
    validator
        .enrol(Enrolment::new(id(), secret(), HotpParameters::default()))
        .unwrap();
    validator
}

fn id() -> TokenId {
    TokenId::new("FOB-1").unwrap()
}

fn last_outcome(validator: &Validator<MemoryStore, ManualClock>) -> Outcome {
    validator.store().audit_trail(&id(), 1).unwrap()[0].outcome
}

/// A session of the test's own on the token, through the module the keys use.
fn own_session() -> Session {
    let module = pkcs11_support::required("OTPFOB_PKCS11_MODULE");
    let label = pkcs11_support::required("OTPFOB_PKCS11_TOKEN");
    let context = Pkcs11::new(module).unwrap();
    // The keys initialised the module in this process already; that is fine.
    let _ = context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = context
        .get_slots_with_token()
        .unwrap()
        .into_iter()
        .find(|slot| context.get_token_info(*slot).unwrap().label() == label)
        .unwrap();
    context.open_rw_session(slot).unwrap()
}

#[test]
fn failures_are_typed_fail_closed_and_recover() {
    let _serial = pkcs11_support::serial();
    let good = pkcs11_support::config("failure");
    let directory = tempfile::tempdir().unwrap();

    // The module missing.
    let mut missing_module = good.clone();
    missing_module.module = PathBuf::from("/nonexistent/libpkcs11.so");
    assert!(matches!(
        Pkcs11Key::open(1, &missing_module),
        Err(BackendError::ModuleUnavailable { module, .. }) if module == "/nonexistent/libpkcs11.so"
    ));

    // No token with that label, or in that slot.
    let mut no_token = good.clone();
    no_token.token = TokenSelector::Label("no-such-token".into());
    assert!(matches!(
        Pkcs11Key::open(1, &no_token),
        Err(BackendError::TokenNotFound { token }) if token.contains("no-such-token")
    ));
    no_token.token = TokenSelector::Slot(u64::from(u32::MAX));
    assert!(matches!(
        Pkcs11Key::open(1, &no_token),
        Err(BackendError::TokenNotFound { .. })
    ));

    // The PIN unreadable: a missing file, an unset variable, an empty file.
    let mut unreadable = good.clone();
    unreadable.pin = PinSource::File(directory.path().join("absent"));
    assert!(matches!(
        Pkcs11Key::open(1, &unreadable),
        Err(BackendError::PinSource { source_name, .. }) if source_name.ends_with("absent")
    ));
    unreadable.pin = PinSource::Environment("OTPFOB_TEST_PIN_NEVER_SET".into());
    assert!(matches!(
        Pkcs11Key::open(1, &unreadable),
        Err(BackendError::PinSource { source_name, .. }) if source_name.contains("OTPFOB_TEST_PIN_NEVER_SET")
    ));
    let empty = directory.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    unreadable.pin = PinSource::File(empty);
    assert!(matches!(
        Pkcs11Key::open(1, &unreadable),
        Err(BackendError::PinSource { reason, .. }) if reason.contains("empty")
    ));

    // A wrong PIN, while nothing of this process is logged in: refused, and the error
    // names the token, not the PIN.
    let wrong_pin_file = directory.path().join("wrong-pin");
    std::fs::write(&wrong_pin_file, "not-the-pin\n").unwrap();
    let mut wrong_pin = good.clone();
    wrong_pin.pin = PinSource::File(wrong_pin_file);
    let error = Pkcs11Key::generate(1, &wrong_pin).unwrap_err();
    assert!(
        matches!(&error, BackendError::WrongPin { token } if token.contains("otpfob-test")),
        "{error:?}"
    );
    assert!(!error.to_string().contains("not-the-pin"));

    // The PIN from an environment variable works as well as from a file.
    // (scripts/with-softhsm sets OTPFOB_PKCS11_PIN to the same PIN as the file.)
    pkcs11_support::required("OTPFOB_PKCS11_PIN");
    let from_environment = Pkcs11Config::new(
        good.module.clone(),
        good.token.clone(),
        good.key_label.clone(),
        PinSource::Environment("OTPFOB_PKCS11_PIN".into()),
    );
    let key = Pkcs11Key::generate(1, &from_environment).unwrap();

    // Generating again under a label in use is refused: a key in use is never replaced.
    assert_eq!(
        Pkcs11Key::generate(1, &good).unwrap_err(),
        BackendError::KeyExists {
            label: good.key_label.clone()
        }
    );

    // The key objects are sensitive and non-extractable: their values cannot be read.
    let session = own_session();
    for label in [
        good.key_label.clone(),
        format!("{}.record-mac", good.key_label),
    ] {
        let objects = session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .unwrap();
        assert_eq!(objects.len(), 1, "{label}");
        let attributes = session
            .get_attributes(
                objects[0],
                &[
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::Value,
                ],
            )
            .unwrap();
        assert!(attributes.contains(&Attribute::Sensitive(true)), "{label}");
        assert!(
            attributes.contains(&Attribute::Extractable(false)),
            "{label}"
        );
        assert!(
            !attributes
                .iter()
                .any(|attribute| matches!(attribute, Attribute::Value(_))),
            "{label}: its value was readable"
        );
    }

    // A label with no key object.
    assert_eq!(
        Pkcs11Key::open(1, &good.with_key_label("never-generated")).unwrap_err(),
        BackendError::MissingKey {
            label: "never-generated".into()
        }
    );

    // The session lost: logging out (from any session of the process) makes the
    // private key objects invisible; the next verification logs in again by itself.
    let validator = validator(key);
    assert!(validator.verify(&id(), &code(0), None).is_ok());
    session.logout().unwrap();
    assert!(
        session
            .find_objects(&[Attribute::Label(good.key_label.as_bytes().to_vec())])
            .unwrap()
            .is_empty(),
        "the logout did not hide the key"
    );
    assert!(validator.verify(&id(), &code(1), None).is_ok());
    drop(session);

    // The token gone (its directory moved away, as when a network HSM drops off or a
    // module's token is removed): rejected, audited as keyring_unavailable, the record
    // untouched. Back: accepted again, without a restart.
    let token_dir = pkcs11_support::token_dir();
    let moved = token_dir.with_extension("away");
    std::fs::rename(&token_dir, &moved).unwrap();
    let during = validator.verify(&id(), &code(2), None);
    let outcome = last_outcome(&validator);
    let state = validator.state(&id());
    std::fs::rename(&moved, &token_dir).unwrap();
    assert!(during.is_err(), "verified while the token was away");
    assert_eq!(outcome, Outcome::Rejected(RejectReason::KeyringUnavailable));
    assert!(
        matches!(
            state,
            Err(ValidatorError::Seal(SealError::Backend { key_id: 1, .. }))
        ),
        "{state:?}"
    );
    // A module is restarted at most once a second while its token is missing.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(validator.verify(&id(), &code(2), None).is_ok(), "not back");

    // The key object deleted under a running validator: every code rejected with a
    // typed error; nothing written.
    let version = validator.store().load(&id()).unwrap().unwrap().version;
    Pkcs11Key::open(1, &good).unwrap().destroy().unwrap();
    assert!(validator.verify(&id(), &code(3), None).is_err());
    assert_eq!(
        last_outcome(&validator),
        Outcome::Rejected(RejectReason::KeyringUnavailable)
    );
    assert_eq!(
        validator.store().load(&id()).unwrap().unwrap().version,
        version
    );
    match validator.unlock(&id()) {
        Err(ValidatorError::Seal(SealError::Backend {
            key_id: 1,
            error: BackendError::MissingKey { label },
        })) => assert_eq!(label, good.key_label),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        validator.store().audit_trail(&id(), 1).unwrap()[0].operation,
        Operation::Unlock
    );
}
