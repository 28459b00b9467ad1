//! Migration from the servers banks run today (feature `migrate`, public as
//! `otpfob::migrate`): privacyIDEA's token export, and the OATH CSV seed files that
//! privacyIDEA and LinOTP both import.
//!
//! A file is read into a [`MigrationFile`]: one [`MigrationEntry`] per token, each
//! either a [`MigrationToken`] (its secret and the state the old server kept: counter,
//! spent steps, time shift, failures, lock, status, PIN hash, owner, description,
//! validity period) or the [`MigrateError`] that refuses it. A dry run
//! ([`Validator::plan_migration`](crate::Validator::plan_migration)) then reports, key
//! by key, what would be enrolled, what is refused and why, and what changes on the
//! way; [`Validator::apply_migration`](crate::Validator::apply_migration) imports the
//! whole file or nothing. [`write_oath_csv`] is the way back, and
//! [`Validator::export_oath_csv`](crate::Validator::export_oath_csv) its audited
//! export of a validator's tokens.

mod apply;
mod csv;
mod error;
mod export;
mod privacyidea;

use core::fmt;
use core::str::FromStr;

pub use apply::{
    MigrationChange, MigrationOutcome, MigrationProgress, MigrationReport, MigrationVerdict,
};
pub use csv::write_oath_csv;
pub use error::{MigrateError, MigrationApplyError};

use crate::clock::UnixTime;
use crate::parameters::OtpParameters;
use crate::provision::MIN_IMPORTED_SECRET_BITS;
use crate::secret::Secret;
use crate::validator::enrolment::{CarriedState, Enrolment};
use crate::validator::error::TokenIdError;
use crate::validator::lifecycle::{CustomerRef, Validity};
use crate::validator::record::TokenId;

/// The largest file read: 64 MiB, some hundred thousand tokens in any of the formats.
pub const MAX_MIGRATION_FILE_LEN: usize = 64 << 20;

/// Which format a migration file is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MigrationFormat {
    /// The OATH CSV seed file as privacyIDEA imports it:
    /// `serial, key, type, otplen, counter|timestep` (type `hotp` by default, 6
    /// digits, 30 s), `#` comments, and with a first line `# version: 2` three
    /// leading columns `user, resolver, realm`.
    OathCsv,
    /// The OATH CSV seed file as LinOTP imports it: `serial, key, type, otplen,
    /// timestep, hashlib` (type `hotp` or `hmac` by default, 6 digits, 30 s; the
    /// fifth column is no counter; without a hash, a 32-byte key is SHA-256 and a
    /// 64-byte key SHA-512, as LinOTP guesses).
    LinotpCsv,
    /// privacyIDEA's full export, `pi-tokenjanitor find export --format yaml`: every
    /// token with its state.
    PrivacyIdeaYaml,
    /// privacyIDEA's CSV export, `pi-tokenjanitor find export --format csv`:
    /// `owner, serial, key, type, otplen[, timestep]`, keys only, no state.
    PrivacyIdeaCsv,
}

impl MigrationFormat {
    /// The format's name on the command line: `oath-csv`, `linotp-csv`,
    /// `privacyidea-yaml`, `privacyidea-csv`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            MigrationFormat::OathCsv => "oath-csv",
            MigrationFormat::LinotpCsv => "linotp-csv",
            MigrationFormat::PrivacyIdeaYaml => "privacyidea-yaml",
            MigrationFormat::PrivacyIdeaCsv => "privacyidea-csv",
        }
    }
}

impl fmt::Display for MigrationFormat {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

impl FromStr for MigrationFormat {
    type Err = MigrateError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        [
            MigrationFormat::OathCsv,
            MigrationFormat::LinotpCsv,
            MigrationFormat::PrivacyIdeaYaml,
            MigrationFormat::PrivacyIdeaCsv,
        ]
        .into_iter()
        .find(|format| format.name() == name)
        .ok_or_else(|| MigrateError::BadField {
            field: "format",
            value: error::shortened(name),
            expected: "oath-csv, linotp-csv, privacyidea-yaml or privacyidea-csv",
        })
    }
}

/// How the keys of a CSV file are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum KeyEncoding {
    /// Hexadecimal, as both servers write and read by default.
    #[default]
    Hex,
    /// Base32 (RFC 4648), as `pi-tokenjanitor ... export --b32` writes.
    Base32,
}

/// One token read from a migration file: its secret, how it makes codes, and the
/// state the old server kept.
///
/// # Security
///
/// It holds the token's secret (zeroized on drop, redacted by `Debug`) and possibly
/// its PIN's Argon2id hash (as guessable as the PIN; redacted by `Debug`).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MigrationToken {
    /// The serial, which becomes the token's id.
    pub serial: String,
    /// The secret.
    pub secret: Secret,
    /// How it makes codes.
    pub parameters: OtpParameters,
    /// For an event token: the next counter the old server expected.
    pub counter: u64,
    /// For a time token: the old server's time shift, in seconds (positive when the
    /// token runs ahead), as it kept it.
    pub time_shift_seconds: f64,
    /// Spent steps, failures, lock, status and PIN hash.
    pub carried: CarriedState,
    /// The old server's failure limit, if it had one for this token.
    pub failure_limit: Option<u32>,
    /// The owner, as the old server named it (`user@realm`): enrolled as the
    /// token's customer, so that
    /// [`Validator::verify_customer`](crate::Validator::verify_customer) finds it.
    pub owner: Option<CustomerRef>,
    /// The description.
    pub description: Option<String>,
    /// The start of its validity period: no code is accepted before it.
    pub valid_from: Option<UnixTime>,
    /// The end of its validity period: no code is accepted from it on.
    pub valid_until: Option<UnixTime>,
}

impl MigrationToken {
    fn new(serial: String, secret: Secret, parameters: OtpParameters) -> Self {
        Self {
            serial,
            secret,
            parameters,
            counter: 0,
            time_shift_seconds: 0.0,
            carried: CarriedState::default(),
            failure_limit: None,
            owner: None,
            description: None,
            valid_from: None,
            valid_until: None,
        }
    }

    /// The id the validator enrols it under: its serial.
    ///
    /// # Errors
    ///
    /// [`TokenIdError`] if the serial is not a valid [`TokenId`].
    pub fn token_id(&self) -> Result<TokenId, TokenIdError> {
        TokenId::new(self.serial.as_str())
    }

    /// The time shift in whole time steps, as otpfob learns drift: the shift divided
    /// by the step, rounded up (0 for an event token).
    #[must_use]
    pub fn drift_steps(&self) -> i64 {
        match self.parameters {
            OtpParameters::Totp(parameters) if parameters.time_step > 0 => {
                // privacyIDEA learns `matched step × T − now` at each accepted code,
                // and `now` is `r` seconds into its own step (0 ≤ r < T): the shift over
                // T is `k − r/T` for a token `k` steps ahead, in (k − 1, k], so `k` is
                // its ceiling. Rounding to the nearest would take 39 s on 30 s steps
                // (two steps ahead, seen 21 s into the step) for one step, and -21 s (the
                // current step, 21 s in) for one step behind.
                #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
                let steps = (self.time_shift_seconds / parameters.time_step as f64).ceil() as i64;
                steps
            }
            _ => 0,
        }
    }

    /// The token's validity period, from `valid_from` to `valid_until`.
    #[must_use]
    pub fn validity(&self) -> Validity {
        Validity {
            not_before: self.valid_from,
            not_after: self.valid_until,
        }
    }

    /// The token as the validator enrols it: its secret and parameters; an event
    /// token at the old server's next counter; a time token with its shift as learned
    /// drift and its spent steps; failures, lock, status and PIN hash carried; the
    /// owner as its customer and the validity period as its own.
    ///
    /// The description is not part of an enrolment; the dry run's report names it.
    ///
    /// # Errors
    ///
    /// [`TokenIdError`] if the serial is not a valid [`TokenId`].
    pub fn enrolment(&self) -> Result<Enrolment, TokenIdError> {
        let enrolment = Enrolment::new(self.token_id()?, self.secret.clone(), self.parameters)
            .with_counter(self.counter)
            .with_drift_steps(self.drift_steps())
            .with_carried(self.carried.clone())
            .with_validity(self.validity());
        Ok(match &self.owner {
            Some(owner) => enrolment.with_owner(owner.clone()),
            None => enrolment,
        })
    }

    /// Checks what a reader can check without a validator: the secret's length, the
    /// parameters, the serial and the validity period.
    fn checked(self) -> Result<Self, MigrateError> {
        let bits = self.secret.len_bits();
        if bits < MIN_IMPORTED_SECRET_BITS {
            return Err(MigrateError::SecretTooShort {
                bits,
                minimum: MIN_IMPORTED_SECRET_BITS,
            });
        }
        self.parameters
            .validate()
            .map_err(MigrateError::Parameters)?;
        self.token_id().map_err(MigrateError::TokenId)?;
        if let (Some(start), Some(end)) = (self.valid_from, self.valid_until)
            && end <= start
        {
            return Err(MigrateError::EmptyValidity {
                not_before: start.as_secs(),
                not_after: end.as_secs(),
            });
        }
        Ok(self)
    }
}

/// An owner as the old server names it (`user@realm`), as the customer reference the
/// token is enrolled for.
fn customer(field: &'static str, owner: &str) -> Result<CustomerRef, MigrateError> {
    CustomerRef::new(owner).map_err(|_| MigrateError::BadField {
        field,
        value: error::shortened(&owner.escape_debug().to_string()),
        expected: "a customer reference (1 to 128 printable ASCII characters, no spaces)",
    })
}

/// One token's place in a migration file and what was read there.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MigrationEntry {
    /// Where it is: the one-based line of a CSV file, the one-based record of a YAML
    /// list.
    pub position: usize,
    /// Its serial, if one could be read.
    pub serial: Option<String>,
    /// The token, or why it cannot be imported.
    pub token: Result<MigrationToken, MigrateError>,
}

/// A migration file as read: every token in it, in file order.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MigrationFile {
    /// Its format.
    pub format: MigrationFormat,
    /// Its tokens, each read or refused.
    pub entries: Vec<MigrationEntry>,
}

/// Reads a migration file of `format`; `key_encoding` says how a CSV file writes its
/// keys (a YAML export is always hexadecimal). A token that cannot be read is an entry
/// with its error, never skipped; a serial that appears twice refuses every one of
/// its entries.
///
/// # Errors
///
/// For the file as a whole: [`MigrateError::TooLarge`], [`MigrateError::NotUtf8`],
/// and for YAML [`MigrateError::Yaml`] and [`MigrateError::NotAList`].
///
/// ```
/// # #[cfg(feature = "migrate")] {
/// use otpfob::migrate::{KeyEncoding, MigrationFormat, read_migration};
///
/// let file = b"# serial, key, type, otplen, timestep\nFOB-1, 3132333435363738393031323334353637383930, totp, 8, 60\n";
/// let read = read_migration(MigrationFormat::OathCsv, file, KeyEncoding::Hex)?;
/// let token = read.entries[0].token.as_ref().unwrap();
/// assert_eq!(token.serial, "FOB-1");
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_migration(
    format: MigrationFormat,
    file: &[u8],
    key_encoding: KeyEncoding,
) -> Result<MigrationFile, MigrateError> {
    if file.len() > MAX_MIGRATION_FILE_LEN {
        return Err(MigrateError::TooLarge {
            length: file.len(),
            maximum: MAX_MIGRATION_FILE_LEN,
        });
    }
    let text = core::str::from_utf8(file).map_err(|error| MigrateError::NotUtf8 {
        position: error.valid_up_to(),
    })?;
    let mut entries = match format {
        MigrationFormat::OathCsv => csv::read_oath_csv(text, key_encoding),
        MigrationFormat::LinotpCsv => csv::read_linotp_csv(text, key_encoding),
        MigrationFormat::PrivacyIdeaCsv => csv::read_privacyidea_csv(text, key_encoding),
        MigrationFormat::PrivacyIdeaYaml => privacyidea::read_yaml(text)?,
    };
    refuse_duplicates(&mut entries);
    Ok(MigrationFile { format, entries })
}

/// Refuses every entry whose serial appears more than once.
fn refuse_duplicates(entries: &mut [MigrationEntry]) {
    let mut seen: std::collections::HashMap<String, (usize, usize)> =
        std::collections::HashMap::new();
    for entry in entries.iter() {
        if let Some(serial) = &entry.serial {
            seen.entry(serial.clone())
                .and_modify(|(count, _)| *count += 1)
                .or_insert((1, entry.position));
        }
    }
    for entry in entries.iter_mut() {
        if let Some(serial) = &entry.serial
            && let Some(&(count, first)) = seen.get(serial)
            && count > 1
        {
            entry.token = Err(MigrateError::DuplicateSerial {
                serial: error::shortened(serial),
                count,
                first,
            });
        }
    }
}
