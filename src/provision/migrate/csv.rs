//! The OATH CSV seed file as privacyIDEA's `parseOATHcsv` reads it (`serial, key,
//! type, otplen, counter|timestep`), as LinOTP's reads it (`serial, key, type, otplen,
//! timestep, hashlib`: the fifth column is no counter there, and the hash follows the
//! key's length when the sixth is empty), privacyIDEA's CSV export (`owner, serial,
//! key, type, otplen[, timestep]`), and the OATH CSV written back.
//!
//! Both servers split a line on every comma; quoted fields (`"FOB, 1"`, with `""` for a
//! quote) are read here too, so a file another tool quoted still reads, and the writer
//! quotes a serial that needs it.

use zeroize::Zeroizing;

use super::error::shortened;
use super::{KeyEncoding, MigrateError, MigrationEntry, MigrationToken};
use crate::algorithm::Algorithm;
use crate::hotp::HotpParameters;
use crate::parameters::OtpParameters;
use crate::secret::Secret;
use crate::totp::TotpParameters;

/// Reads an OATH CSV seed file.
pub(super) fn read_oath_csv(text: &str, key_encoding: KeyEncoding) -> Vec<MigrationEntry> {
    // privacyIDEA's "version 2" files start with three columns naming the owner.
    let with_owner = text
        .lines()
        .next()
        .and_then(|first| first.strip_prefix('#'))
        .and_then(|rest| rest.trim().strip_prefix("version:"))
        .is_some_and(|version| version.trim() == "2");
    let serial_column = if with_owner { 3 } else { 0 };
    read_lines(text, serial_column, |fields| {
        let (owner, fields) = if with_owner {
            if fields.len() < 5 {
                return Err(MigrateError::Columns {
                    found: fields.len(),
                    expected: "5 to 8 (user, resolver, realm first)",
                });
            }
            // An empty user column is a token assigned to nobody.
            let owner = if fields[0].is_empty() {
                None
            } else {
                Some(super::customer(
                    "user",
                    &format!("{}@{}", fields[0], fields[2]),
                )?)
            };
            (owner, &fields[3..])
        } else {
            (None, fields)
        };
        let mut token = oath_fields(fields, key_encoding, Reader::PrivacyIdea)?;
        token.owner = owner;
        Ok(token)
    })
}

/// Reads an OATH CSV seed file as LinOTP does.
pub(super) fn read_linotp_csv(text: &str, key_encoding: KeyEncoding) -> Vec<MigrationEntry> {
    read_lines(text, 0, |fields| {
        oath_fields(fields, key_encoding, Reader::Linotp)
    })
}

/// Whose reading of the OATH columns: the servers differ in the fifth and sixth.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reader {
    /// privacyIDEA: five columns at most, the fifth an HOTP counter or a TOTP step,
    /// always SHA-1.
    PrivacyIdea,
    /// LinOTP: six at most, the fifth a TOTP step (ignored for HOTP), the sixth the
    /// hash, or when empty the hash the key's length suggests (32 bytes SHA-256, 64
    /// bytes SHA-512).
    Linotp,
}

/// Reads privacyIDEA's CSV export: the owner (`user@realm`, or `n/a`) first, then the
/// OATH columns, a TOTP token's time step last.
pub(super) fn read_privacyidea_csv(text: &str, key_encoding: KeyEncoding) -> Vec<MigrationEntry> {
    read_lines(text, 1, |fields| {
        // Counted here, with the owner column: the columns after it are checked again
        // below, and a count without it would name the wrong number.
        if !(5..=6).contains(&fields.len()) {
            return Err(MigrateError::Columns {
                found: fields.len(),
                expected: "5 or 6 (owner, serial, key, type, otplen[, timestep])",
            });
        }
        let owner = (fields[0] != "n/a" && !fields[0].is_empty())
            .then(|| super::customer("owner", fields[0]))
            .transpose()?;
        if fields[3].eq_ignore_ascii_case("hotp") && fields.len() > 5 {
            // The export writes no counter: a sixth column on an event token is not
            // privacyIDEA's.
            return Err(MigrateError::Columns {
                found: fields.len(),
                expected: "5 for an hotp token",
            });
        }
        let mut token = oath_fields(&fields[1..], key_encoding, Reader::PrivacyIdea)?;
        token.owner = owner;
        Ok(token)
    })
}

/// Reads each non-blank, non-comment line with `read`, reporting the serial in
/// `serial_column` even for a line `read` refuses, so that the report names it.
fn read_lines(
    text: &str,
    serial_column: usize,
    read: impl Fn(&[&str]) -> Result<MigrationToken, MigrateError>,
) -> Vec<MigrationEntry> {
    let mut entries = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let position = index + 1;
        let fields = match split(trimmed) {
            Ok(fields) => fields,
            Err(error) => {
                entries.push(MigrationEntry {
                    position,
                    serial: None,
                    token: Err(error),
                });
                continue;
            }
        };
        let field_refs: Vec<&str> = fields.iter().map(|field| field.as_str()).collect();
        let token = read(&field_refs);
        let serial = field_refs
            .get(serial_column)
            .filter(|serial| !serial.is_empty())
            .map(|serial| (*serial).to_owned());
        entries.push(MigrationEntry {
            position,
            serial,
            token,
        });
    }
    entries
}

/// `serial, key[, type[, otplen[, counter|timestep]]]`, as privacyIDEA's
/// `get_import_csv` reads them: type `hotp` by default, 6 digits, a TOTP time step of
/// 30 s, SHA-1 (the format has no column for the hash).
fn oath_fields(
    fields: &[&str],
    key_encoding: KeyEncoding,
    reader: Reader,
) -> Result<MigrationToken, MigrateError> {
    let (most, expected) = match reader {
        Reader::PrivacyIdea => (5, "2 to 5 (serial, key, type, otplen, counter or timestep)"),
        Reader::Linotp => (6, "2 to 6 (serial, key, type, otplen, timestep, hashlib)"),
    };
    if !(2..=most).contains(&fields.len()) {
        return Err(MigrateError::Columns {
            found: fields.len(),
            expected,
        });
    }
    let serial = fields[0];
    if serial.is_empty() {
        return Err(MigrateError::MissingField { field: "serial" });
    }
    let key = fields[1];
    if key.is_empty() {
        return Err(MigrateError::MissingField { field: "key" });
    }
    let secret = match key_encoding {
        KeyEncoding::Hex => Secret::from_hex(key),
        KeyEncoding::Base32 => Secret::from_base32(key),
    }
    .map_err(MigrateError::Secret)?;
    let algorithm = match (reader, fields.get(5).copied().unwrap_or("")) {
        (Reader::PrivacyIdea, _) => Algorithm::Sha1,
        (Reader::Linotp, "") => match secret.len() {
            64 => Algorithm::Sha512,
            32 => Algorithm::Sha256,
            _ => Algorithm::Sha1,
        },
        (Reader::Linotp, hint) => match hint.to_ascii_lowercase().as_str() {
            "sha1" => Algorithm::Sha1,
            "sha256" => Algorithm::Sha256,
            "sha512" => Algorithm::Sha512,
            // LinOTP falls back to the key's length for a hint it does not know; a
            // wrong guess makes every code wrong, so the token is refused instead.
            _ => {
                return Err(MigrateError::BadField {
                    field: "hashlib",
                    value: shortened(hint),
                    expected: "sha1, sha256 or sha512",
                });
            }
        },
    };
    let kind = match fields.get(2).copied().unwrap_or("").to_ascii_lowercase() {
        // Both servers default to HOTP, which LinOTP calls `hmac`.
        empty if empty.is_empty() => "hotp".to_owned(),
        hmac if hmac == "hmac" && reader == Reader::Linotp => "hotp".to_owned(),
        other => other,
    };
    let digits = match fields.get(3).filter(|value| !value.is_empty()) {
        None => 6,
        Some(digits) => parse_number::<u8>("otplen", digits, "6 or 8")?,
    };
    let last = fields.get(4).filter(|value| !value.is_empty());
    let mut counter = 0;
    let parameters = match kind.as_str() {
        "hotp" => {
            // LinOTP reads no counter from the file: its tokens start at 0.
            if let (Some(value), Reader::PrivacyIdea) = (last, reader) {
                counter = parse_number::<u64>("counter", value, "a counter")?;
            }
            OtpParameters::Hotp(HotpParameters { algorithm, digits })
        }
        "totp" => {
            let time_step = match last {
                Some(value) => parse_number::<u64>("timestep", value, "a time step in seconds")?,
                None => 30,
            };
            OtpParameters::Totp(TotpParameters {
                algorithm,
                digits,
                time_step,
                ..TotpParameters::default()
            })
        }
        other => {
            return Err(MigrateError::UnsupportedType {
                found: shortened(other),
            });
        }
    };
    let mut token = MigrationToken::new(serial.to_owned(), secret, parameters);
    token.counter = counter;
    token.checked()
}

fn parse_number<T: core::str::FromStr>(
    field: &'static str,
    value: &str,
    expected: &'static str,
) -> Result<T, MigrateError> {
    value.parse().map_err(|_| MigrateError::BadField {
        field,
        value: shortened(value),
        expected,
    })
}

/// Splits a line on commas, trimming each field; a field in double quotes may hold
/// commas, and `""` inside it is one quote.
fn split(line: &str) -> Result<Vec<String>, MigrateError> {
    let mut fields = Vec::new();
    let mut rest = line;
    loop {
        let column = fields.len() + 1;
        let trimmed = rest.trim_start();
        if let Some(quoted) = trimmed.strip_prefix('"') {
            let mut field = String::new();
            let mut chars = quoted.char_indices();
            let after = loop {
                match chars.next() {
                    Some((_, '"')) => {
                        if chars.as_str().starts_with('"') {
                            field.push('"');
                            chars.next();
                        } else {
                            break chars.as_str();
                        }
                    }
                    Some((_, other)) => field.push(other),
                    None => return Err(MigrateError::Quoting { column }),
                }
            };
            let after = after.trim_start();
            fields.push(field);
            match after.strip_prefix(',') {
                Some(next) => rest = next,
                None if after.is_empty() => return Ok(fields),
                None => return Err(MigrateError::Quoting { column }),
            }
        } else {
            match trimmed.split_once(',') {
                Some((field, next)) => {
                    fields.push(field.trim().to_owned());
                    rest = next;
                }
                None => {
                    fields.push(trimmed.trim().to_owned());
                    return Ok(fields);
                }
            }
        }
    }
}

/// A field as written back: quoted if it holds a comma, a quote or edge spaces.
fn quoted(field: &str) -> String {
    if field.contains([',', '"']) || field.trim() != field {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// Writes tokens as an OATH CSV seed file that privacyIDEA and LinOTP import:
/// `serial, hexkey, hotp, digits, counter` or `serial, hexkey, totp, digits, timestep`,
/// after a comment line naming the columns. The format has no column for the hash
/// function, so a token that is not SHA-1 is written as a comment saying so, not as a
/// line that would import wrongly; the returned count says how many were left out.
///
/// # Security
///
/// The output holds every secret in clear, as the format does: write it only to a
/// place as protected as the validator's store, and prefer an encrypted PSKC export
/// ([`write_pskc`](crate::pskc::write_pskc)) wherever the other side reads one.
///
/// ```
/// # #[cfg(feature = "migrate")] {
/// use otpfob::migrate::write_oath_csv;
/// use otpfob::{HotpParameters, Secret};
///
/// let secret = Secret::from_bytes(b"12345678901234567890")?;
/// let (csv, left_out) = write_oath_csv([("FOB-1", &secret, HotpParameters::default().into(), 3)]);
/// assert_eq!(left_out, 0);
/// assert!(csv.ends_with("FOB-1, 3132333435363738393031323334353637383930, hotp, 6, 3\n"));
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_oath_csv<'a>(
    tokens: impl IntoIterator<Item = (&'a str, &'a Secret, OtpParameters, u64)>,
) -> (Zeroizing<String>, usize) {
    use core::fmt::Write as _;
    let mut out = Zeroizing::new(String::from(
        "# serial, key, type, otplen, counter (hotp) or timestep (totp)\n",
    ));
    let mut left_out = 0;
    for (serial, secret, parameters, counter) in tokens {
        let algorithm = match parameters {
            OtpParameters::Hotp(parameters) => parameters.algorithm,
            OtpParameters::Totp(parameters) => parameters.algorithm,
        };
        if algorithm != Algorithm::Sha1 {
            left_out += 1;
            let _ = writeln!(
                out,
                "# {} left out: {algorithm:?} has no column in OATH CSV",
                quoted(serial)
            );
            continue;
        }
        let mut hex = Zeroizing::new(String::with_capacity(secret.len() * 2));
        for byte in secret.expose_bytes() {
            let _ = write!(hex, "{byte:02x}");
        }
        let _ = match parameters {
            OtpParameters::Hotp(parameters) => writeln!(
                out,
                "{}, {}, hotp, {}, {counter}",
                quoted(serial),
                hex.as_str(),
                parameters.digits
            ),
            OtpParameters::Totp(parameters) => writeln!(
                out,
                "{}, {}, totp, {}, {}",
                quoted(serial),
                hex.as_str(),
                parameters.digits,
                parameters.time_step
            ),
        };
    }
    (out, left_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_reads_quotes_and_refuses_bad_ones() {
        assert_eq!(split(" a , b,c ").unwrap(), ["a", "b", "c"]);
        assert_eq!(split("\"a, \"\"b\"\"\", c").unwrap(), ["a, \"b\"", "c"]);
        assert_eq!(split("a,").unwrap(), ["a", ""]);
        assert_eq!(
            split("\"open, b").unwrap_err(),
            MigrateError::Quoting { column: 1 }
        );
        assert_eq!(
            split("a, \"b\"x, c").unwrap_err(),
            MigrateError::Quoting { column: 2 }
        );
    }

    #[test]
    fn quoted_round_trips_through_split() {
        for serial in ["plain", "with, comma", "with \"quote\"", " edge "] {
            assert_eq!(split(&format!("{}, k", quoted(serial))).unwrap()[0], serial);
        }
    }
}
