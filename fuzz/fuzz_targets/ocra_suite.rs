//! `cargo +nightly fuzz run ocra_suite`: see `otpfob_fuzz::ocra_suite` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otpfob_fuzz::ocra_suite(data));
