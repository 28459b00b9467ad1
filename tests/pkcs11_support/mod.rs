//! What the PKCS#11 tests share: the throwaway SoftHSM2 token `scripts/with-softhsm`
//! made, and key labels no other test uses.
//!
//! These tests never skip: without the token they fail and say how to get one.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

use otpfob::validator::pkcs11::{PinSource, Pkcs11Config, Pkcs11Key, TokenSelector};

const HOW: &str = "run the tests with `bash scripts/test`, which makes a throwaway SoftHSM2 token \
(it needs Debian's `softhsm2` package: `apt-get install softhsm2`, installed automatically when run \
as root), or wrap any cargo command: `bash scripts/with-softhsm cargo test --features pkcs11`";

/// The value of `variable`, or a failure that says how to set it.
pub(crate) fn required(variable: &str) -> String {
    match std::env::var(variable) {
        Ok(value) if !value.is_empty() => value,
        _ => panic!("{variable} is not set, so the PKCS#11 tests cannot run: {HOW}"),
    }
}

/// The token's directory (the outage test moves it away and back).
pub(crate) fn token_dir() -> PathBuf {
    PathBuf::from(required("OTPFOB_PKCS11_TOKEN_DIR"))
}

/// A configuration for the test token with a key label no other test (and no other
/// test process) uses.
pub(crate) fn config(purpose: &str) -> Pkcs11Config {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let label = format!(
        "{purpose}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    Pkcs11Config::new(
        required("OTPFOB_PKCS11_MODULE"),
        TokenSelector::Label(required("OTPFOB_PKCS11_TOKEN")),
        label,
        PinSource::File(required("OTPFOB_PKCS11_PIN_FILE").into()),
    )
}

/// A fresh key generated in the test token.
pub(crate) fn generated(key_id: u32, purpose: &str) -> Pkcs11Key {
    Pkcs11Key::generate(key_id, &config(purpose)).unwrap_or_else(|error| {
        panic!("cannot generate a key in the SoftHSM2 token: {error}; {HOW}")
    })
}

/// One PKCS#11 test of a process at a time: SoftHSM2 answered key and object
/// creation with CKR_GENERAL_ERROR now and then while other tests of the same process
/// worked in the token (about 1 run in 3 of these binaries here). Tests that need
/// concurrency make their own threads inside one test.
#[allow(dead_code)] // keyring_suite serialises per backend with its own lock
pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
