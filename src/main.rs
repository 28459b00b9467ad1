//! `otpfob`: one-time passwords from the command line. An `oathtool`-compatible
//! `hotp` and `totp`, key URI enrolment with QR codes, PSKC seed files, a simulated
//! key fob, and verification against the embedded token store.
//!
//! Built with the `cli` feature: `cargo install otpfob --features cli`.

// `unsafe_code` and the rest are set once, in Cargo.toml's `[workspace.lints]`; these
// are stricter rules for the binary only (Cargo's lint table applies to every target,
// and the tests and benches may unwrap and index).
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::run()
}
