//! `cargo +nightly fuzz run pskc_plain`: see `otpfob_fuzz::pskc_plain` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otpfob_fuzz::pskc_plain(data));
