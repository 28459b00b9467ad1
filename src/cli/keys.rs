//! The keys the tool needs besides token secrets: the sealing key of the token
//! database, and the pre-shared key or password of a PSKC file.
//!
//! # Security
//!
//! There is no default sealing key, in any mode: a database sealed under a key that
//! ships with the tool would be as good as plaintext. The key comes from a file that
//! only its owner may read (`--sealing-key-file`, made by `otpfob sealing-key`), or
//! from the `OTPFOB_SEALING_KEY` environment variable (for secret managers that
//! inject variables); never from the command line, where other users see it.

use std::path::{Path, PathBuf};

use clap::Args;

use otpfob::{
    Keyring, SealingKey, Secret, SqliteStore, SystemClock, Validator,
    pskc::{PskcCredential, PskcRsaKey},
    validator::SEALING_KEY_LEN,
};

use super::input::{read_private_secret_file, read_secret_file, read_secret_variable};
use super::output::{Output, write_private};
use super::{Context, Exit, Outcome};

/// The environment variable that may hold the sealing key, in hex.
pub(crate) const SEALING_KEY_VARIABLE: &str = "OTPFOB_SEALING_KEY";

/// Where the database's sealing key comes from.
#[derive(Debug, Args)]
pub(crate) struct SealingKeyOptions {
    /// A file holding the database's 32-byte sealing key in hex, readable by its owner
    /// only (made by `otpfob sealing-key`); without it, the OTPFOB_SEALING_KEY
    /// environment variable. There is no default key.
    #[arg(long = "sealing-key-file", value_name = "FILE")]
    sealing_key_file: Option<PathBuf>,
    /// The id the key is stored under beside each sealed secret; give each new key a
    /// new id.
    #[arg(long = "sealing-key-id", value_name = "N", default_value_t = 1)]
    sealing_key_id: u32,
}

impl SealingKeyOptions {
    pub(crate) fn keyring(&self) -> Result<Keyring, Exit> {
        let text = match &self.sealing_key_file {
            Some(path) => read_private_secret_file(path, "sealing key")?,
            None => match std::env::var_os(SEALING_KEY_VARIABLE) {
                Some(_) => read_secret_variable(SEALING_KEY_VARIABLE, "sealing key")?,
                None => {
                    return Err(Exit::error(format!(
                        "no sealing key: pass --sealing-key-file FILE (made by otpfob sealing-key FILE) or set {SEALING_KEY_VARIABLE}"
                    )));
                }
            },
        };
        let key = Secret::from_hex(text.trim()).context("the sealing key is not hex")?;
        if key.len() != SEALING_KEY_LEN {
            return Err(Exit::error(format!(
                "the sealing key has {} bytes; it must have {SEALING_KEY_LEN} (64 hex digits)",
                key.len()
            )));
        }
        let key = SealingKey::new(self.sealing_key_id, key.expose_bytes())
            .context("unusable sealing key")?;
        Ok(Keyring::new(key))
    }
}

/// The token database and its sealing key.
#[derive(Debug, Args)]
pub(crate) struct DatabaseOptions {
    #[command(flatten)]
    sealing: SealingKeyOptions,
}

/// Opens the SQLite token store at `path` with a validator on the system clock.
/// `must_exist` refuses a path with no database yet (`verify`, which must not create
/// an empty one).
pub(crate) fn open_validator(
    path: &Path,
    must_exist: bool,
    sealing: &DatabaseOptions,
) -> Result<Validator<SqliteStore, SystemClock>, Exit> {
    if must_exist && !path.exists() {
        return Err(Exit::error(format!(
            "no token database at {}",
            path.display()
        )));
    }
    let keyring = sealing.sealing.keyring()?;
    let store = SqliteStore::open(path)
        .map_err(|error| Exit::error(format!("cannot open {}: {error}", path.display())))?;
    Ok(Validator::new(store, SystemClock, keyring))
}

/// `otpfob sealing-key FILE`.
#[derive(Debug, Args)]
pub(crate) struct SealingKeyArgs {
    /// The file to create (never overwritten; mode 0600).
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

pub(crate) fn write_sealing_key(arguments: &SealingKeyArgs) -> Outcome {
    let key = Secret::generate(SEALING_KEY_LEN * 8).context("no randomness")?;
    let mut hex = zeroize::Zeroizing::new(String::with_capacity(SEALING_KEY_LEN * 2 + 1));
    for byte in key.expose_bytes() {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex.push('\n');
    write_private(&arguments.file, hex.as_bytes())?;
    Output::new().line(&format!(
        "wrote a new sealing key to {}; keep it apart from the database and back it up",
        arguments.file.display()
    ))
}

/// What unlocks an encrypted PSKC file (at most one).
#[derive(Debug, Args)]
#[group(multiple = false)]
pub(crate) struct CredentialOptions {
    /// The pre-shared AES key (RFC 6030 §6.1) in hex. Other users can see command
    /// lines: prefer --psk-file.
    #[arg(long = "psk", value_name = "HEX")]
    psk: Option<String>,
    /// A file holding the pre-shared AES key in hex.
    #[arg(long = "psk-file", value_name = "FILE")]
    psk_file: Option<PathBuf>,
    /// A file holding the password (RFC 6030 §6.2, PBKDF2): its first line.
    #[arg(long = "password-file", value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// The environment variable holding the password.
    #[arg(long = "password-env", value_name = "VARIABLE")]
    password_env: Option<String>,
    /// A file (mode 0600) holding the bank's RSA private key, PKCS#8 PEM, for a file
    /// whose secrets are encrypted to its certificate (RFC 6030 §6.3).
    #[arg(long = "rsa-key-file", value_name = "FILE")]
    rsa_key_file: Option<PathBuf>,
}

impl CredentialOptions {
    pub(crate) fn credential(&self) -> Result<PskcCredential, Exit> {
        if let Some(hex) = &self.psk {
            return Ok(PskcCredential::PreSharedKey(
                Secret::from_hex(hex).context("--psk is not hex")?,
            ));
        }
        if let Some(path) = &self.psk_file {
            let hex = read_secret_file(path, "pre-shared key")?;
            return Ok(PskcCredential::PreSharedKey(
                Secret::from_hex(&hex).context("the pre-shared key file is not hex")?,
            ));
        }
        if let Some(path) = &self.rsa_key_file {
            let pem = read_private_secret_file(path, "RSA private key")?;
            return Ok(PskcCredential::RsaPrivateKey(
                PskcRsaKey::from_pkcs8_pem(&pem).context("the RSA private key file")?,
            ));
        }
        let password = match (&self.password_file, &self.password_env) {
            (Some(path), _) => {
                let text = read_secret_file(path, "password")?;
                zeroize::Zeroizing::new(text.lines().next().unwrap_or("").to_owned())
            }
            (None, Some(name)) => read_secret_variable(name, "password")?,
            (None, None) => return Ok(PskcCredential::None),
        };
        Ok(PskcCredential::Password(
            Secret::from_bytes(password.as_bytes()).context("the password is empty")?,
        ))
    }
}
