//! The `otpfob` command line: argument parsing, dispatch, and the one way every
//! command ends (an exit status, and at most one line on standard error).

mod audit;
mod code_options;
mod enrol;
mod export;
mod fob;
mod input;
mod keys;
mod migrate;
mod oath;
mod oath_time;
mod output;
mod pskc;
#[cfg(feature = "pskc-signature")]
mod quiet;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

/// Exit status of bad input and failed operations (and, as with `oathtool`, of a
/// one-time password not found in its window).
pub(crate) const EXIT_ERROR: u8 = 2;

/// Exit status of `verify` when the code is rejected.
pub(crate) const EXIT_REJECTED: u8 = 1;

/// How a command ended other than in success: the exit status, and the line for
/// standard error, if any.
#[derive(Debug)]
pub(crate) struct Exit {
    code: u8,
    message: Option<String>,
}

impl Exit {
    /// Bad input or a failed operation: exit status 2 and this message.
    pub(crate) fn error(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_ERROR,
            message: Some(message.into()),
        }
    }

    /// An exit status with nothing more to say on standard error.
    pub(crate) fn quiet(code: u8) -> Self {
        Self {
            code,
            message: None,
        }
    }
}

/// Adds what was being done to an error's message.
pub(crate) trait Context<T> {
    /// The error as an [`Exit::error`] whose message starts with `what`.
    fn context(self, what: &str) -> Result<T, Exit>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, Exit> {
        self.map_err(|error| Exit::error(format!("{what}: {error}")))
    }
}

pub(crate) type Outcome = Result<(), Exit>;

#[derive(Debug, Parser)]
#[command(
    name = "otpfob",
    version,
    about = "One-time passwords for banks: oathtool-compatible HOTP and TOTP, enrolment, \
             PSKC seed files, a simulated key fob, and verification",
    after_help = "Exit status: 0 on success; 1 when `verify` rejects a code; 2 on bad input, \
                  on any failure, and (as oathtool) when `hotp`/`totp` find no matching OTP."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Event-based (RFC 4226 HOTP) codes, made and checked as `oathtool` does.
    Hotp(oath::HotpArgs),
    /// Time-based (RFC 6238 TOTP) codes, made and checked as `oathtool --totp` does.
    Totp(oath::TotpArgs),
    /// A new secret: its key URI and QR code, optionally enrolled in a database.
    // `enroll`, the spelling of earlier releases, stays an alias so that scripts work.
    #[command(alias = "enroll")]
    Enrol(enrol::EnrolArgs),
    /// RFC 6030 PSKC seed files: list and enrol (import), or make a batch (export).
    #[command(subcommand)]
    Pskc(pskc::PskcCommand),
    /// Tokens from privacyIDEA, LinOTP or OATH CSV seed files: a dry run, or an
    /// all-or-nothing import.
    Migrate(migrate::MigrateArgs),
    /// A token database's tokens for another server: encrypted PSKC or OATH CSV, each
    /// export audited.
    Export(export::ExportArgs),
    /// A simulated key fob in the terminal.
    Fob(fob::FobArgs),
    /// Checks a code against the embedded token database.
    Verify(verify::VerifyArgs),
    /// Writes a new random sealing key for the token database to a file.
    SealingKey(keys::SealingKeyArgs),
    /// Checks every token's audit hash chain and reports the first broken link.
    AuditChain(audit::AuditChainArgs),
}

/// Runs the command line and returns its exit status.
pub(crate) fn run() -> ExitCode {
    // No backtrace and no multi-line report, whatever RUST_BACKTRACE says: a panic
    // is a bug, reported in one line with the bad-input status.
    std::panic::set_hook(Box::new(|_| {
        let _ = writeln!(std::io::stderr(), "otpfob: internal error");
        std::process::exit(i32::from(EXIT_ERROR));
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return usage_error(&error),
    };
    let result = match cli.command {
        Command::Hotp(arguments) => oath::hotp(&arguments),
        Command::Totp(arguments) => oath::totp(&arguments),
        Command::Enrol(arguments) => enrol::run(&arguments),
        Command::Pskc(command) => pskc::run(&command),
        Command::Migrate(arguments) => migrate::run(&arguments),
        Command::Export(arguments) => export::run(&arguments),
        Command::Fob(arguments) => fob::run(&arguments),
        Command::Verify(arguments) => verify::run(&arguments),
        Command::SealingKey(arguments) => keys::write_sealing_key(&arguments),
        Command::AuditChain(arguments) => audit::run(&arguments),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(exit) => {
            if let Some(message) = exit.message {
                let _ = writeln!(std::io::stderr(), "otpfob: {}", one_line(&message));
            }
            ExitCode::from(exit.code)
        }
    }
}

/// `--help` and `--version` print and succeed; every other parse error is one line.
fn usage_error(error: &clap::Error) -> ExitCode {
    match error.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = write!(std::io::stdout(), "{}", error.render());
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = writeln!(
                std::io::stderr(),
                "otpfob: a command is required (see otpfob --help)"
            );
            ExitCode::from(EXIT_ERROR)
        }
        _ => {
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let _ = writeln!(
                std::io::stderr(),
                "otpfob: {} (see otpfob --help)",
                one_line(&shorten_values(error, first))
            );
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// clap's message with the values it echoes (a bad value, an unknown argument)
/// quoted as every other message quotes them: at most 40 characters of each.
/// (A single argument can be 128 KiB long.)
fn shorten_values(error: &clap::Error, message: &str) -> String {
    use clap::error::{ContextKind, ContextValue};
    let mut message = message.to_owned();
    for kind in [
        ContextKind::InvalidValue,
        ContextKind::InvalidArg,
        ContextKind::InvalidSubcommand,
    ] {
        if let Some(ContextValue::String(value)) = error.get(kind) {
            let quoted = input::quote(value);
            if quoted.len() < value.len() {
                message = message
                    .replace(&format!("'{value}'"), &quoted)
                    .replace(value.as_str(), &quoted);
            }
        }
    }
    message
}

/// Writes one line to standard error (a failure to do so is ignored: there is
/// nowhere left to report it).
pub(crate) fn note(message: &str) {
    let _ = writeln!(std::io::stderr(), "otpfob: {}", one_line(message));
}

/// The message with control characters and invisible or direction-changing
/// characters (U+202E, zero-width spaces, ...) escaped as `\u{202e}`, so that it stays
/// on one line, cannot move the terminal's cursor, and displays as what it holds.
pub(crate) fn one_line(message: &str) -> String {
    otpfob::text::escape_invisible(message)
}
