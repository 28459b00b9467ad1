//! `cargo +nightly fuzz run code_parse`: see `otpfob_fuzz::code_parse` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otpfob_fuzz::code_parse(data));
