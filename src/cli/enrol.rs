//! `otpfob enrol` (alias `enroll`): a new secret for an authenticator app, as a key URI and a QR
//! code, optionally enrolled in the token database.

use std::io::Write;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use clap::Args;

use otpfob::{Enrolment, KeyUri, OtpParameters, Secret, TokenId, provision::TerminalBackground};

use super::code_options::CodeOptions;
use super::keys::{DatabaseOptions, open_validator};
use super::output::{Output, create_private};
use super::{Context, Exit, Outcome};

/// Pixels per QR module in the SVG and PNG files.
const MODULE_PIXELS: u32 = 8;

#[derive(Debug, Args)]
pub(crate) struct EnrolArgs {
    /// The account the authenticator app shows (the customer's name or e-mail).
    #[arg(long = "account", value_name = "NAME")]
    account: String,
    /// The issuer the authenticator app shows (the bank).
    #[arg(long = "issuer", value_name = "NAME")]
    issuer: Option<String>,
    #[command(flatten)]
    code: CodeOptions,
    /// The first counter (HOTP).
    #[arg(long = "counter", value_name = "N", default_value_t = 0)]
    counter: u64,
    /// Bits of the new secret: 128 to 4096, a multiple of 8.
    #[arg(
        long = "bits",
        value_name = "N",
        default_value_t = 160,
        value_parser = clap::value_parser!(u16).range(128..=4096)
    )]
    bits: u16,
    /// Write the QR code as SVG to FILE (a new file, mode 0600) instead of the terminal.
    #[arg(long = "svg", value_name = "FILE", conflicts_with = "png")]
    svg: Option<PathBuf>,
    /// Write the QR code as PNG to FILE (a new file, mode 0600) instead of the terminal.
    #[arg(long = "png", value_name = "FILE")]
    png: Option<PathBuf>,
    /// Print the key URI only, no QR code.
    #[arg(long = "no-qr", conflicts_with_all = ["svg", "png"])]
    no_qr: bool,
    /// Draw the terminal QR code for dark text on a light background.
    #[arg(long = "light")]
    light: bool,
    /// Also enrol the token in this SQLite token database (created if needed).
    #[arg(long = "database", value_name = "PATH")]
    database: Option<PathBuf>,
    /// The token's id in the database (default: the account).
    #[arg(long = "token", value_name = "ID", requires = "database")]
    token: Option<String>,
    #[command(flatten)]
    keys: DatabaseOptions,
}

/// Makes the secret, enrols it first (so that a failed enrolment shows no secret),
/// then prints the key URI and the QR code: the one output of this tool that shows a
/// secret, because delivering it is the command's job.
pub(crate) fn run(arguments: &EnrolArgs) -> Outcome {
    let parameters = arguments.code.parameters()?;
    let secret = Secret::generate(usize::from(arguments.bits)).context("cannot make the secret")?;
    let mut uri = KeyUri::new(secret.clone(), &arguments.account, parameters)
        .context("cannot make the key URI")?;
    if let Some(issuer) = &arguments.issuer {
        uri = uri.with_issuer(issuer).context("--issuer")?;
    }
    if arguments.code.hotp {
        uri = uri.with_counter(arguments.counter).context("--counter")?;
    }
    let qr = if arguments.no_qr {
        None
    } else {
        Some(uri.to_qr_code().context("cannot draw the QR code")?)
    };

    // The file first (it must be new), then the database, then the secret shown:
    // a failure at any step leaves no secret shown and no file behind.
    let file = match arguments.svg.as_ref().or(arguments.png.as_ref()) {
        Some(path) => Some((path, create_private(path)?)),
        None => None,
    };
    if let Some(database) = &arguments.database {
        let enrolled = enrol(arguments, database, parameters, &secret);
        if let Err(exit) = enrolled {
            if let Some((path, file)) = file {
                drop(file);
                let _ = std::fs::remove_file(path);
            }
            return Err(exit);
        }
    }

    let mut out = Output::new();
    out.line(&uri.to_uri())?;
    let Some(qr) = qr else {
        return Ok(());
    };
    match file {
        Some((path, mut file)) => {
            let image = if arguments.svg.is_some() {
                Zeroizing::new(
                    qr.to_svg(MODULE_PIXELS)
                        .context("cannot draw the SVG")?
                        .as_bytes()
                        .to_vec(),
                )
            } else {
                Zeroizing::new(
                    qr.to_png(MODULE_PIXELS)
                        .context("cannot draw the PNG")?
                        .to_vec(),
                )
            };
            file.write_all(&image)
                .and_then(|()| file.sync_all())
                .map_err(|error| Exit::error(format!("cannot write {}: {error}", path.display())))
        }
        None => {
            let background = if arguments.light {
                TerminalBackground::Light
            } else {
                TerminalBackground::Dark
            };
            out.text(&qr.to_terminal(background))
        }
    }
}

fn enrol(
    arguments: &EnrolArgs,
    database: &Path,
    parameters: OtpParameters,
    secret: &Secret,
) -> Outcome {
    let id = TokenId::new(arguments.token.as_deref().unwrap_or(&arguments.account))
        .context("invalid token id (--token, or the account)")?;
    let validator = open_validator(database, false, &arguments.keys)?;
    validator
        .enrol(Enrolment::new(id, secret.clone(), parameters).with_counter(arguments.counter))
        .map(drop)
        .context("cannot enrol the token")
}
