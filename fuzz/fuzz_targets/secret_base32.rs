//! `cargo +nightly fuzz run secret_base32`: see `otpfob_fuzz::secret_base32` for what it checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| otpfob_fuzz::secret_base32(data));
