//! `otpfob export pskc|oath-csv --database DB --out FILE --actor NAME`: the way back,
//! a token database's tokens written for another server, each export audited.

use std::io::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use otpfob::TokenId;
use otpfob::pskc::{ExportSkip, PskcProtection, TokenExport};
use otpfob::validator::Store;
use otpfob::{Secret, SqliteStore, SystemClock, Validator};

use super::input::read_private_secret_file;
use super::keys::{DatabaseOptions, open_validator};
use super::output::{Output, create_private};
use super::{Context, Exit, Outcome, one_line};

/// The formats an export writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// RFC 6030 PSKC, encrypted under a pre-shared key or a password.
    Pskc,
    /// OATH CSV (`serial, key, type, otplen, counter|timestep`), secrets in the clear.
    OathCsv,
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// The format to write.
    #[arg(value_enum, value_name = "FORMAT")]
    format: Format,
    /// The SQLite token database.
    #[arg(long = "database", value_name = "PATH")]
    database: PathBuf,
    /// The file to write (a new file, mode 0600; never overwritten).
    #[arg(long = "out", value_name = "FILE")]
    out: PathBuf,
    /// Who exports, named in every token's `export` audit event.
    #[arg(long = "actor", value_name = "NAME")]
    actor: String,
    /// Export only this token (repeatable); without it, every token.
    #[arg(long = "token", value_name = "ID")]
    tokens: Vec<String>,
    /// PSKC: a file (mode 0600) holding the pre-shared AES key in hex (16, 24 or 32
    /// bytes).
    #[arg(
        long = "psk-file",
        value_name = "FILE",
        conflicts_with = "password_file"
    )]
    psk_file: Option<PathBuf>,
    /// PSKC: a file (mode 0600) whose first line is the password (PBKDF2).
    #[arg(long = "password-file", value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// PSKC with a password: PBKDF2 iterations, 1 to 10000000.
    #[arg(
        long = "iterations",
        value_name = "N",
        default_value_t = 1_300_000,
        value_parser = clap::value_parser!(u32).range(1..=10_000_000)
    )]
    iterations: u32,
    /// PSKC: the name the file gives its key, by which the recipient finds it.
    #[arg(long = "key-name", value_name = "NAME", default_value = "otpfob")]
    key_name: String,
    #[command(flatten)]
    keys: DatabaseOptions,
}

fn protection(arguments: &ExportArgs) -> Result<PskcProtection, Exit> {
    if let Some(path) = &arguments.psk_file {
        let hex = read_private_secret_file(path, "pre-shared key")?;
        return Ok(PskcProtection::PreSharedKey {
            key: Secret::from_hex(&hex).context("the pre-shared key file is not hex")?,
            key_name: arguments.key_name.clone(),
        });
    }
    if let Some(path) = &arguments.password_file {
        let text = read_private_secret_file(path, "password")?;
        let line = zeroize::Zeroizing::new(text.lines().next().unwrap_or("").to_owned());
        return Ok(PskcProtection::Password {
            password: Secret::from_bytes(line.as_bytes()).context("the password is empty")?,
            key_name: arguments.key_name.clone(),
            iterations: arguments.iterations,
        });
    }
    Err(Exit::error(
        "a PSKC export is encrypted: pass --psk-file FILE or --password-file FILE",
    ))
}

fn tokens(
    arguments: &ExportArgs,
    validator: &Validator<SqliteStore, SystemClock>,
) -> Result<Vec<TokenId>, Exit> {
    if arguments.tokens.is_empty() {
        return validator
            .store()
            .list()
            .context("cannot list the database's tokens");
    }
    arguments
        .tokens
        .iter()
        .map(|id| TokenId::new(id).context("bad --token"))
        .collect()
}

fn describe(reason: ExportSkip) -> String {
    match reason {
        ExportSkip::NotActive(status) => format!("not active ({status:?})"),
        ExportSkip::Locked => "locked".to_owned(),
        ExportSkip::PastValidity => "past its validity period".to_owned(),
        ExportSkip::NotOtp => "not an HOTP or TOTP token".to_owned(),
        ExportSkip::Keypad => "has an OCRA keypad, which the format cannot carry".to_owned(),
        ExportSkip::TimeOrigin => "its T0 is not 0".to_owned(),
        ExportSkip::Hash(algorithm) => format!("{algorithm:?} has no column in OATH CSV"),
        _ => "not exportable".to_owned(),
    }
}

pub(crate) fn run(arguments: &ExportArgs) -> Outcome {
    if !arguments.database.exists() {
        return Err(Exit::error(format!(
            "no token database at {}",
            arguments.database.display()
        )));
    }
    let protection = match arguments.format {
        Format::Pskc => Some(protection(arguments)?),
        Format::OathCsv if arguments.psk_file.is_some() || arguments.password_file.is_some() => {
            return Err(Exit::error(
                "OATH CSV cannot be encrypted: --psk-file and --password-file are for pskc",
            ));
        }
        Format::OathCsv => None,
    };
    let validator = open_validator(&arguments.database, true, &arguments.keys)?;
    let ids = tokens(arguments, &validator)?;
    // The file first (it must be new), so that nothing is opened for an export that
    // has nowhere to go.
    let mut file = create_private(&arguments.out)?;
    let exported: Result<TokenExport, Exit> = match &protection {
        Some(protection) => validator
            .export_pskc(&arguments.actor, &ids, protection)
            .context("export failed"),
        None => validator
            .export_oath_csv(&arguments.actor, &ids)
            .context("export failed"),
    };
    let written = exported.and_then(|export| {
        file.write_all(export.document.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|error| {
                Exit::error(format!("cannot write {}: {error}", arguments.out.display()))
            })?;
        Ok(export)
    });
    let export = match written {
        Ok(export) => export,
        Err(exit) => {
            drop(file);
            let _ = std::fs::remove_file(&arguments.out);
            return Err(exit);
        }
    };
    let mut out = Output::new();
    for skipped in &export.skipped {
        out.line(&one_line(&format!(
            "left out {}: {}",
            skipped.token,
            describe(skipped.reason)
        )))?;
    }
    out.line(&format!(
        "exported {} tokens to {} ({} left out)",
        export.exported.len(),
        arguments.out.display(),
        export.skipped.len()
    ))
}
