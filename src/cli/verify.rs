//! `otpfob verify`: one code against the embedded token database, with the
//! validator's every rule (window, one-time use, throttling, audit).

use std::path::PathBuf;

use clap::Args;

use otpfob::TokenId;

use super::input::read_secret_variable;
use super::keys::{DatabaseOptions, open_validator};
use super::output::Output;
use super::{Context, EXIT_REJECTED, Exit, Outcome, note};

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    /// The SQLite token database (it must exist).
    #[arg(long = "database", value_name = "PATH")]
    database: PathBuf,
    /// The token's id (a fob's serial number, or the id given at enrolment).
    #[arg(long = "token", value_name = "ID")]
    token: String,
    /// The environment variable holding the token's server-side PIN, if it has one.
    #[arg(long = "pin-env", value_name = "VARIABLE")]
    pin_env: Option<String>,
    /// Also say why a code was rejected, and where an accepted one matched (on
    /// standard error).
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    #[command(flatten)]
    keys: DatabaseOptions,
    /// The code as typed (`123456`, `123 456`).
    #[arg(value_name = "CODE")]
    code: String,
}

/// Prints `accepted` (exit 0) or `code rejected` (exit 1); the reason only with
/// `--verbose`, because the person typing codes must learn nothing from it. A code
/// that is not a code at all is rejected and counted like any wrong one.
pub(crate) fn run(arguments: &VerifyArgs) -> Outcome {
    let id = TokenId::new(arguments.token.as_str()).context("invalid --token")?;
    let pin = arguments
        .pin_env
        .as_deref()
        .map(|name| read_secret_variable(name, "PIN"))
        .transpose()?;
    let validator = open_validator(&arguments.database, true, &arguments.keys)?;
    let result = validator.verify(&id, &arguments.code, pin.as_deref().map(String::as_str));
    let mut out = Output::new();
    // The exit status is the answer: a closed standard output does not change it.
    match result {
        Ok(acceptance) => {
            let _ = out.line("accepted");
            if arguments.verbose {
                note(&format!("matched at offset {}", acceptance.offset));
            }
            Ok(())
        }
        Err(rejected) => {
            let _ = out.line(&rejected.to_string());
            if arguments.verbose {
                note(&format!("reason: {}", rejected.reason()));
            }
            Err(Exit::quiet(EXIT_REJECTED))
        }
    }
}
