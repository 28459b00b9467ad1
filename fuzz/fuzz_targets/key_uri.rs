//! `cargo +nightly fuzz run key_uri`: see `otpfob_fuzz::key_uri` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otpfob_fuzz::key_uri(data));
