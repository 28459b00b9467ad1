//! privacyIDEA's full token export, `pi-tokenjanitor find export --format yaml`
//! (privacyIDEA 3.x, `TokenClass._to_dict`): a list of mappings, one per token, with
//! `serial`, `type`, `otpkey` (hex), `otplen`, `counter`, `failcount`, `maxfail`,
//! `active`, `revoked`, `locked`, `description`, `owner` (`user@realm` or `n/a`),
//! `_hashed_pin` (an Argon2id PHC string, or empty), `rollout_state` and `info_list`
//! (`hashlib`, `timeStep`, `timeShift`, `validity_period_start`/`_end`, all strings).
//!
//! How privacyIDEA keeps its counters (`lib/tokens/hotptoken.py`, `totptoken.py`):
//! an HOTP token's `counter` is the next counter it accepts; a TOTP token's is the
//! last time step it accepted (0 before its first login), and `timeShift` is the
//! token's time minus the server's at that login, in seconds.

use yaml_rust2::{Yaml, YamlLoader};

use super::error::shortened;
use super::{MigrateError, MigrationEntry, MigrationToken};
use crate::algorithm::Algorithm;
use crate::clock::UnixTime;
use crate::hotp::HotpParameters;
use crate::parameters::OtpParameters;
use crate::secret::Secret;
use crate::totp::TotpParameters;
use crate::validator::pin::PinHash;

/// Reads the export: the file must be one YAML list; each of its records is read or
/// refused on its own.
pub(super) fn read_yaml(text: &str) -> Result<Vec<MigrationEntry>, MigrateError> {
    let documents = YamlLoader::load_from_str(text).map_err(|error| MigrateError::Yaml {
        // The scanner's message names a position and what it expected, not the text.
        reason: error.to_string(),
    })?;
    let records = match documents.as_slice() {
        [] => return Ok(Vec::new()),
        [Yaml::Array(records)] => records,
        [other] => {
            return Err(MigrateError::NotAList { found: kind(other) });
        }
        _ => {
            return Err(MigrateError::NotAList {
                found: "several YAML documents",
            });
        }
    };
    Ok(records
        .iter()
        .enumerate()
        .map(|(index, record)| MigrationEntry {
            position: index + 1,
            serial: record["serial"].as_str().map(str::to_owned),
            token: read_record(record),
        })
        .collect())
}

fn kind(yaml: &Yaml) -> &'static str {
    match yaml {
        Yaml::Real(_) | Yaml::Integer(_) => "a number",
        Yaml::String(_) => "a string",
        Yaml::Boolean(_) => "a boolean",
        Yaml::Array(_) => "a list",
        Yaml::Hash(_) => "a mapping",
        Yaml::Null => "nothing",
        _ => "an alias",
    }
}

fn read_record(record: &Yaml) -> Result<MigrationToken, MigrateError> {
    if !matches!(record, Yaml::Hash(_)) {
        return Err(MigrateError::BadField {
            field: "record",
            value: kind(record).to_owned(),
            expected: "a mapping",
        });
    }
    let serial = required_string(record, "serial")?;
    let token_type = required_string(record, "type")?.to_ascii_lowercase();
    if token_type != "hotp" && token_type != "totp" {
        return Err(MigrateError::UnsupportedType {
            found: shortened(&token_type),
        });
    }
    let rollout = optional_string(record, "rollout_state")?.unwrap_or_default();
    if !rollout.is_empty() && rollout != "enrolled" {
        // A token still in a two-step enrolment (`clientwait`, `verify`) has a seed
        // that is not yet the device's.
        return Err(MigrateError::BadField {
            field: "rollout_state",
            value: shortened(&rollout),
            expected: "finished (empty or \"enrolled\")",
        });
    }
    let secret =
        Secret::from_hex(&required_string(record, "otpkey")?).map_err(MigrateError::Secret)?;
    let info = &record["info_list"];
    let algorithm = match optional_string(info, "hashlib")?.as_deref() {
        None | Some("sha1") => Algorithm::Sha1,
        Some("sha256") => Algorithm::Sha256,
        Some("sha512") => Algorithm::Sha512,
        Some(other) => {
            return Err(MigrateError::BadField {
                field: "hashlib",
                value: shortened(other),
                expected: "sha1, sha256 or sha512",
            });
        }
    };
    let digits =
        u8::try_from(required_integer(record, "otplen")?).map_err(|_| MigrateError::BadField {
            field: "otplen",
            value: record["otplen"].as_i64().unwrap_or_default().to_string(),
            expected: "6 or 8",
        })?;
    let counter = required_integer(record, "counter")?;
    let mut token;
    if token_type == "hotp" {
        token = MigrationToken::new(
            serial,
            secret,
            OtpParameters::Hotp(HotpParameters { algorithm, digits }),
        );
        token.counter = counter;
    } else {
        let time_step = match optional_string(info, "timeStep")? {
            None => 30,
            Some(step) => step.trim().parse().map_err(|_| MigrateError::BadField {
                field: "timeStep",
                value: shortened(&step),
                expected: "a time step in seconds",
            })?,
        };
        token = MigrationToken::new(
            serial,
            secret,
            OtpParameters::Totp(TotpParameters {
                algorithm,
                digits,
                time_step,
                ..TotpParameters::default()
            }),
        );
        // 0 is privacyIDEA's "never used": step 0 is 1970, no token's last login.
        token.carried.last_accepted_step = (counter > 0).then_some(counter);
        if let Some(shift) = optional_string(info, "timeShift")? {
            token.time_shift_seconds = shift
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|seconds| seconds.is_finite())
                .ok_or_else(|| MigrateError::BadField {
                    field: "timeShift",
                    value: shortened(&shift),
                    expected: "a time shift in seconds",
                })?;
        }
    }
    let failures =
        u32::try_from(optional_integer(record, "failcount")?.unwrap_or(0)).unwrap_or(u32::MAX);
    let limit =
        optional_integer(record, "maxfail")?.map(|limit| u32::try_from(limit).unwrap_or(u32::MAX));
    let revoked = optional_bool(record, "revoked")?.unwrap_or(false);
    token.carried.failures = failures;
    token.failure_limit = limit;
    // privacyIDEA refuses every code once the failure count reaches the token's
    // limit; `locked` is its own lock, and a revoked token is locked for good.
    token.carried.locked = optional_bool(record, "locked")?.unwrap_or(false)
        || revoked
        || limit.is_some_and(|limit| failures >= limit);
    token.carried.disabled = !optional_bool(record, "active")?.unwrap_or(true) || revoked;
    token.carried.pin_hash = match optional_string(record, "_hashed_pin")? {
        None => None,
        Some(hash) if hash.is_empty() => None,
        Some(hash) => Some(PinHash::from_phc(hash).map_err(|_| MigrateError::BadField {
            field: "_hashed_pin",
            // Never the hash: it is as guessable as the PIN.
            value: "[hash]".to_owned(),
            expected: "an Argon2id PHC string",
        })?),
    };
    token.owner = optional_string(record, "owner")?
        .filter(|owner| owner != "n/a" && !owner.is_empty())
        .map(|owner| super::customer("owner", &owner))
        .transpose()?;
    token.description = optional_string(record, "description")?.filter(|text| !text.is_empty());
    token.valid_from = optional_string(info, "validity_period_start")?
        .map(|date| parse_date("validity_period_start", &date))
        .transpose()?;
    token.valid_until = optional_string(info, "validity_period_end")?
        .map(|date| parse_date("validity_period_end", &date))
        .transpose()?;
    token.checked()
}

fn required_string(record: &Yaml, field: &'static str) -> Result<String, MigrateError> {
    optional_string(record, field)?.ok_or(MigrateError::MissingField { field })
}

fn optional_string(record: &Yaml, field: &'static str) -> Result<Option<String>, MigrateError> {
    match &record[field] {
        Yaml::BadValue | Yaml::Null => Ok(None),
        Yaml::String(text) => Ok(Some(text.clone())),
        // privacyIDEA writes its info values as strings, but a hand-edited file may
        // drop the quotes of a number.
        Yaml::Integer(number) => Ok(Some(number.to_string())),
        Yaml::Real(number) => Ok(Some(number.clone())),
        other => Err(MigrateError::BadField {
            field,
            value: kind(other).to_owned(),
            expected: "a string",
        }),
    }
}

fn required_integer(record: &Yaml, field: &'static str) -> Result<u64, MigrateError> {
    optional_integer(record, field)?.ok_or(MigrateError::MissingField { field })
}

fn optional_integer(record: &Yaml, field: &'static str) -> Result<Option<u64>, MigrateError> {
    match &record[field] {
        Yaml::BadValue | Yaml::Null => Ok(None),
        Yaml::Integer(number) => {
            u64::try_from(*number)
                .map(Some)
                .map_err(|_| MigrateError::BadField {
                    field,
                    value: number.to_string(),
                    expected: "a whole number, not negative",
                })
        }
        other => Err(MigrateError::BadField {
            field,
            value: match other {
                Yaml::String(text) => shortened(text),
                _ => kind(other).to_owned(),
            },
            expected: "a whole number",
        }),
    }
}

fn optional_bool(record: &Yaml, field: &'static str) -> Result<Option<bool>, MigrateError> {
    match &record[field] {
        Yaml::BadValue | Yaml::Null => Ok(None),
        Yaml::Boolean(value) => Ok(Some(*value)),
        other => Err(MigrateError::BadField {
            field,
            value: kind(other).to_owned(),
            expected: "true or false",
        }),
    }
}

/// A validity date as privacyIDEA 3 writes it: `2031-12-31T23:59+0000`
/// (`%Y-%m-%dT%H:%M%z`).
fn parse_date(field: &'static str, date: &str) -> Result<UnixTime, MigrateError> {
    let bad = || MigrateError::BadField {
        field,
        value: shortened(date),
        expected: "a date like 2031-12-31T23:59+0000",
    };
    let format = time::format_description::parse_borrowed::<2>(
        "[year]-[month]-[day]T[hour]:[minute][offset_hour sign:mandatory][offset_minute]",
    )
    .map_err(|_| bad())?;
    let parsed = time::OffsetDateTime::parse(date.trim(), &format).map_err(|_| bad())?;
    Ok(UnixTime::from_secs(parsed.unix_timestamp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_privacyidea_writes_them() {
        assert_eq!(
            parse_date("d", "2026-01-01T00:00+0000").unwrap(),
            UnixTime::from_secs(1_767_225_600)
        );
        assert_eq!(
            parse_date("d", "2026-01-01T01:00+0100").unwrap(),
            UnixTime::from_secs(1_767_225_600)
        );
        assert!(parse_date("d", "01/01/26 00:00").is_err());
    }
}
