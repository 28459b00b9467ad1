//! `otpfob pskc import` and `otpfob pskc export`: RFC 6030 seed files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use otpfob::{
    Enrolment, KeyFob, OtpParameters, SystemClock, TimeSource,
    device::{DEFAULT_LIFETIME, FactoryRecord, MAX_SERIAL_LEN},
    provision::MIN_IMPORTED_SECRET_BITS,
    pskc::{
        ProvisionedToken, PskcContainer, PskcCredential, PskcKey, PskcLimits, PskcProtection,
        read_pskc_with_limits, write_pskc,
    },
};

use super::code_options::CodeOptions;
use super::input::{self, quote};
use super::keys::{CredentialOptions, DatabaseOptions, open_validator};
use super::oath_time::format_utc;
use super::output::{Output, create_private};
use super::{Context, Exit, Outcome, one_line};

#[derive(Debug, Subcommand)]
pub(crate) enum PskcCommand {
    /// Lists the keys of a seed file (never their secrets) and, with --database,
    /// enrols every one, reporting each.
    Import(ImportArgs),
    /// Makes a batch of new fobs and writes their seed file, and optionally their
    /// unlock keys and their enrolment in a database.
    Export(ExportArgs),
}

pub(crate) fn run(command: &PskcCommand) -> Outcome {
    match command {
        PskcCommand::Import(arguments) => import(arguments),
        PskcCommand::Export(arguments) => export(arguments),
    }
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// The PSKC file.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    #[command(flatten)]
    credential: CredentialOptions,
    /// Enrol every HOTP and TOTP key in this SQLite token database (created if
    /// needed), under its device's serial number (or its key id).
    #[arg(long = "database", value_name = "PATH")]
    database: Option<PathBuf>,
    /// Accept secrets of at least N bits (default 80, what authenticator apps make;
    /// RFC 4226 asks for 128). Lower it only to import legacy fobs, and replace them:
    /// an N-bit secret falls to 2^N guesses against one observed code.
    #[arg(
        long = "min-secret-bits",
        value_name = "N",
        default_value_t = MIN_IMPORTED_SECRET_BITS as u16,
        value_parser = clap::value_parser!(u16).range(1..=8192)
    )]
    min_secret_bits: u16,
    /// Verify the file's XML signature (RFC 6030 §7) against this PEM certificate of a
    /// signer the bank trusts (the vendor's), and refuse the file unless it verifies;
    /// a certificate inside the file is never trusted. Without it, a signed file is
    /// read with its signature unchecked, and the listing says so.
    #[cfg(feature = "pskc-signature")]
    #[arg(long = "signer-cert", value_name = "FILE")]
    signer_cert: Option<PathBuf>,
    #[command(flatten)]
    keys: DatabaseOptions,
}

/// Reads a seed file within the default limits (16 MiB, 20 000 keys), refusing
/// secrets of fewer than `min_secret_bits` bits: a regular file, bounded by the bytes
/// read (see [`input::read_file`]).
pub(crate) fn read_file(
    path: &Path,
    credential: &PskcCredential,
    min_secret_bits: usize,
) -> Result<PskcContainer, Exit> {
    let limits = limits(min_secret_bits);
    let document = input::read_file(path, "seed file", limits.max_document_bytes)?;
    read_pskc_with_limits(&document, credential, &limits)
        .context(&format!("cannot read {}", path.display()))
}

/// The limits of an import: the defaults, with `min_secret_bits`.
fn limits(min_secret_bits: usize) -> PskcLimits {
    let mut limits = PskcLimits::default();
    limits.min_secret_bits = min_secret_bits;
    limits
}

/// As [`read_file`], for a signed file: its signature verified against the trusted
/// signer's certificate in `signer_path` before anything is read from it.
#[cfg(feature = "pskc-signature")]
fn read_signed_file(
    path: &Path,
    credential: &PskcCredential,
    min_secret_bits: usize,
    signer_path: &Path,
) -> Result<(PskcContainer, otpfob::pskc::PskcSigner), Exit> {
    use otpfob::pskc::{PskcError, PskcSignerCertificate, read_signed_pskc};
    // A certificate chain is a few KiB; 64 KiB bounds what a wrong path can make us read.
    let pem = input::read_file(signer_path, "signer certificate", 64 << 10)?;
    let signer = std::str::from_utf8(&pem)
        .map_err(|_| PskcError::Certificate {
            reason: "not a PEM X.509 certificate",
        })
        .and_then(PskcSignerCertificate::from_pem)
        .context(&format!("the signer certificate {}", signer_path.display()))?;
    let limits = limits(min_secret_bits);
    let document = input::read_file(path, "seed file", limits.max_document_bytes)?;
    super::quiet::without_stderr(|| read_signed_pskc(&document, credential, &signer, &limits))
        .context(&format!("cannot import {}", path.display()))
}

/// How the listing's first line ends: what is known of the file's signature.
fn signature_note(container: &PskcContainer, verified: Option<&str>) -> String {
    match verified {
        Some(signer) => format!(", signature verified: signed by {signer}"),
        None if container.signed => " (its XML signature is not checked)".to_owned(),
        None => String::new(),
    }
}

/// One line about a key: what it is, never its secret.
fn describe(key: &PskcKey) -> String {
    let token = match key.token() {
        Ok(token) => token,
        Err(error) => return format!("key {}: not a usable token: {error}", key.id),
    };
    let mut line = format!("key {}", key.id);
    if let Some(serial) = &token.serial {
        line.push_str(&format!(", serial {serial}"));
    }
    if let Some(manufacturer) = &token.manufacturer {
        line.push_str(&format!(", {manufacturer}"));
    }
    match token.parameters {
        OtpParameters::Hotp(parameters) => line.push_str(&format!(
            ": HOTP {} {} digits, counter {}",
            parameters.algorithm, parameters.digits, token.counter
        )),
        OtpParameters::Totp(parameters) => line.push_str(&format!(
            ": TOTP {} {} digits, {} s steps, drift {:+} steps",
            parameters.algorithm, parameters.digits, parameters.time_step, token.time_drift
        )),
    }
    if let Some(start) = token.start_date {
        line.push_str(&format!(", from {}", format_utc(start.as_secs())));
    }
    if let Some(expiry) = token.expiry_date {
        line.push_str(&format!(", until {}", format_utc(expiry.as_secs())));
    }
    line
}

fn import(arguments: &ImportArgs) -> Outcome {
    let credential = arguments.credential.credential()?;
    let min_secret_bits = usize::from(arguments.min_secret_bits);
    #[cfg(feature = "pskc-signature")]
    let (container, signer) = match &arguments.signer_cert {
        Some(signer_path) => {
            let (container, signer) =
                read_signed_file(&arguments.file, &credential, min_secret_bits, signer_path)?;
            let signer = format!("{} ({})", signer.subject, signer.algorithm);
            (container, Some(signer))
        }
        None => (
            read_file(&arguments.file, &credential, min_secret_bits)?,
            None,
        ),
    };
    #[cfg(not(feature = "pskc-signature"))]
    let (container, signer): (_, Option<String>) = (
        read_file(&arguments.file, &credential, min_secret_bits)?,
        None,
    );
    // Everything printed from the file is escaped: a file must not drive the terminal.
    let mut out = Output::new();
    out.line(&one_line(&format!(
        "{}: {} key{}{}",
        arguments.file.display(),
        container.keys.len(),
        if container.keys.len() == 1 { "" } else { "s" },
        signature_note(&container, signer.as_deref()),
    )))?;
    for key in &container.keys {
        out.line(&one_line(&describe(key)))?;
    }
    let Some(database) = &arguments.database else {
        return Ok(());
    };
    let validator = open_validator(database, false, &arguments.keys)?;
    let report = validator.enrol_pskc(&container);
    for enrolled in &report.enrolled {
        out.line(&one_line(&format!(
            "enrolled key {} as token {}",
            enrolled.key_id, enrolled.token
        )))?;
    }
    for refused in &report.refused {
        out.line(&one_line(&format!(
            "refused key {}: {}",
            refused.key_id, refused.error
        )))?;
    }
    if report.is_complete() {
        Ok(())
    } else {
        Err(Exit::error(format!(
            "{} of {} keys were not enrolled",
            report.refused.len(),
            container.keys.len()
        )))
    }
}

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// How many fobs to make (1 to 20000).
    #[arg(long = "count", value_name = "N")]
    count: u32,
    /// Serial numbers are this prefix and ten digits.
    #[arg(long = "serial-prefix", value_name = "TEXT", default_value = "OTPF-")]
    serial_prefix: String,
    /// The number in the first serial.
    #[arg(long = "first", value_name = "N", default_value_t = 1)]
    first: u64,
    #[command(flatten)]
    code: CodeOptions,
    /// Days from issue (now) to the end of each fob's life, 1 to 36525 (default
    /// five years).
    #[arg(
        long = "lifetime-days",
        value_name = "DAYS",
        value_parser = clap::value_parser!(u64).range(1..=36_525)
    )]
    lifetime_days: Option<u64>,
    #[command(flatten)]
    credential: CredentialOptions,
    /// Write the secrets unencrypted (for tests, or a channel that is itself
    /// encrypted); without it, a pre-shared key or a password is required.
    #[arg(long = "plaintext", conflicts_with_all = ["psk", "psk_file", "password_file", "password_env"])]
    plaintext: bool,
    /// PBKDF2 iterations with a password, 1 to 10000000 (the most an import accepts;
    /// OWASP asks for 1 300 000 with HMAC-SHA-1).
    #[arg(
        long = "iterations",
        value_name = "N",
        default_value_t = 1_300_000,
        value_parser = clap::value_parser!(u32).range(1..=10_000_000)
    )]
    iterations: u32,
    /// The name the file gives its key, by which the recipient finds it.
    #[arg(long = "key-name", value_name = "NAME", default_value = "otpfob")]
    key_name: String,
    /// Write the seed file to FILE (a new file, mode 0600) instead of standard output.
    #[arg(long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write each fob's unlock key (which PSKC cannot carry) to FILE (a new file,
    /// mode 0600): `serial<TAB>hex key` per line.
    #[arg(long = "unlock-keys", value_name = "FILE")]
    unlock_keys: Option<PathBuf>,
    /// Also enrol every fob in this SQLite token database (created if needed).
    #[arg(long = "database", value_name = "PATH")]
    database: Option<PathBuf>,
    #[command(flatten)]
    keys: DatabaseOptions,
}

fn protection(arguments: &ExportArgs) -> Result<PskcProtection, Exit> {
    match arguments.credential.credential()? {
        PskcCredential::None if arguments.plaintext => Ok(PskcProtection::Plaintext),
        PskcCredential::None => Err(Exit::error(
            "choose how to protect the secrets: --psk-file, --psk, --password-file or --password-env (or --plaintext)",
        )),
        PskcCredential::PreSharedKey(key) => Ok(PskcProtection::PreSharedKey {
            key,
            key_name: arguments.key_name.clone(),
        }),
        PskcCredential::Password(password) => Ok(PskcProtection::Password {
            password,
            key_name: arguments.key_name.clone(),
            iterations: arguments.iterations,
        }),
        _ => Err(Exit::error(
            "this kind of credential cannot protect an export",
        )),
    }
}

fn make_records(arguments: &ExportArgs) -> Result<Vec<FactoryRecord>, Exit> {
    if arguments.count == 0 || arguments.count as usize > PskcLimits::default().max_keys {
        return Err(Exit::error(format!(
            "--count must be 1 to {}",
            PskcLimits::default().max_keys
        )));
    }
    let parameters = arguments.code.parameters()?;
    let lifetime = match arguments.lifetime_days {
        Some(days) => Duration::from_secs(days.saturating_mul(86_400)),
        None => DEFAULT_LIFETIME,
    };
    let now = SystemClock.now();
    let last = arguments
        .first
        .checked_add(u64::from(arguments.count) - 1)
        .filter(|last| *last < 10_000_000_000)
        .ok_or_else(|| Exit::error("serial numbers have ten digits: --first is too large"))?;
    let mut records = Vec::with_capacity(arguments.count as usize);
    for number in arguments.first..=last {
        let serial = format!("{}{number:010}", arguments.serial_prefix);
        let (_fob, record) = KeyFob::builder(&serial, parameters)
            .issued_at(now)
            .lifetime(lifetime)
            .build(SystemClock)
            .context(&format!(
                "cannot make fob {} (serials have at most {MAX_SERIAL_LEN} letters, digits and dashes)",
                quote(&serial)
            ))?;
        records.push(record);
    }
    Ok(records)
}

fn export(arguments: &ExportArgs) -> Outcome {
    let protection = protection(arguments)?;
    let records = make_records(arguments)?;
    let tokens: Vec<ProvisionedToken> = records.iter().map(ProvisionedToken::from).collect();
    let document = write_pskc(&tokens, &protection).context("cannot write the seed file")?;

    // Files first (they must be new), then the database, then the contents: a
    // failure leaves neither files nor enrolments behind it.
    let mut files = Vec::new();
    for path in [&arguments.output, &arguments.unlock_keys]
        .into_iter()
        .flatten()
    {
        match create_private(path) {
            Ok(file) => files.push((path.clone(), file)),
            Err(exit) => return Err(remove_all(files, exit)),
        }
    }
    if let Some(database) = &arguments.database {
        let enrolled = open_validator(database, false, &arguments.keys).and_then(|validator| {
            let mut done = Vec::with_capacity(records.len());
            for record in &records {
                match validator.enrol(Enrolment::from(record)) {
                    Ok(id) => done.push(id),
                    Err(error) => {
                        // Take the batch back out: it is enrolled whole or not at all.
                        for id in &done {
                            let _ = validator.delete(id);
                        }
                        return Err(Exit::error(format!(
                            "cannot enrol {}: {error}",
                            record.serial
                        )));
                    }
                }
            }
            Ok(())
        });
        if let Err(exit) = enrolled {
            return Err(remove_all(files, exit));
        }
    }

    let mut unlock_keys = Zeroizing::new(String::from("# serial\tunlock key (hex)\n"));
    for record in &records {
        unlock_keys.push_str(record.serial.as_str());
        unlock_keys.push('\t');
        for byte in record.unlock_key.expose_bytes() {
            unlock_keys.push_str(&format!("{byte:02x}"));
        }
        unlock_keys.push('\n');
    }
    let mut written_to_file = false;
    for (path, mut file) in files {
        let contents: &[u8] = if Some(&path) == arguments.output.as_ref() {
            written_to_file = true;
            document.as_bytes()
        } else {
            unlock_keys.as_bytes()
        };
        file.write_all(contents)
            .and_then(|()| file.sync_all())
            .map_err(|error| Exit::error(format!("cannot write {}: {error}", path.display())))?;
    }
    let mut out = Output::new();
    if written_to_file {
        out.line(&one_line(&format!(
            "{} fobs, {} to {}",
            records.len(),
            records
                .first()
                .zip(records.last())
                .map(|(first, last)| format!("{} .. {}", first.serial, last.serial))
                .unwrap_or_default(),
            arguments
                .output
                .as_ref()
                .map(|path| path.display().to_string())
                .unwrap_or_default()
        )))
    } else {
        out.text(&document)
    }
}

/// Removes the files made so far, and passes the error on.
fn remove_all(files: Vec<(PathBuf, std::fs::File)>, exit: Exit) -> Exit {
    for (path, file) in files {
        drop(file);
        let _ = std::fs::remove_file(path);
    }
    exit
}
