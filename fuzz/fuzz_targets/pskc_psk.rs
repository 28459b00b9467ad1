//! `cargo +nightly fuzz run pskc_psk`: see `otpfob_fuzz::pskc_psk` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otpfob_fuzz::pskc_psk(data));
