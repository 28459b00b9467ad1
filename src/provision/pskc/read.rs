//! Reading a container: the XML tree into keys, every MAC checked before any value is
//! decrypted.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::crypto::{
    Decryptor, MAX_MAC_BYTES, ValueCipher, base64_error, cipher_value, decode_base64,
    encryption_method,
};
use super::xml::{self, Element, parse_decimal, quote};
use super::{
    PskcContainer, PskcCredential, PskcDeviceInfo, PskcEncoding, PskcKey, PskcLimits,
    PskcPinPolicy, PskcPolicy, PskcResponseFormat,
};
use crate::clock::UnixTime;
use crate::provision::pskc::error::PskcError;
use crate::secret::Secret;

/// The most bytes an encrypted integer may have (a 64-bit value).
const MAX_INTEGER_BYTES: usize = 8;

/// Reads an RFC 6030 PSKC document with the default [`PskcLimits`].
///
/// Every value is decoded and, when encrypted, decrypted: AES-128/192/256-CBC under a
/// pre-shared key or a PBKDF2-derived key. When values are encrypted, the container's
/// `<MACMethod>` (HMAC-SHA1, -SHA256 or -SHA512) is required, and **the MAC of every
/// encrypted value is checked before any value is decrypted**: one wrong MAC rejects
/// the whole file and no secret of it is used.
///
/// Elements are matched by local name (namespace prefixes are not checked), as
/// vendors' files use varied prefixes. Dates are RFC 3339 `xs:dateTime`; one without
/// a time zone is read as UTC. Elements this crate does not know are ignored.
///
/// # Errors
///
/// A [`PskcError`] naming what was wrong and where; the first one found. Among them:
/// [`PskcError::DocumentType`] for any `<!DOCTYPE>` (so no entity expansion can
/// happen), [`PskcError::Xml`] for malformed XML, the size limits,
/// [`PskcError::MissingElement`], [`PskcError::Base64`],
/// [`PskcError::CredentialNeeded`] for an encrypted file read without its key,
/// [`PskcError::MacMismatch`] for a wrong key or an altered file,
/// [`PskcError::UnsupportedEncryption`] (asymmetric key transport, such as RFC 6030
/// Figure 8's RSA, is not implemented). Never panics.
///
/// # Security
///
/// Decrypted and decoded secrets go straight into [`Secret`]s; the intermediate
/// buffers (decoded base64, decrypted plaintext, derived and MAC keys, the tree's
/// text) are zeroized. A plaintext file's secrets are also in the caller's `document`
/// buffer, which is the caller's to wipe.
///
/// ```
/// use otpfob::pskc::{PskcCredential, read_pskc};
///
/// let document = br#"<?xml version="1.0" encoding="UTF-8"?>
/// <KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc">
///   <KeyPackage>
///     <DeviceInfo><Manufacturer>Acme</Manufacturer><SerialNo>42</SerialNo></DeviceInfo>
///     <Key Id="42" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:hotp">
///       <AlgorithmParameters><ResponseFormat Length="6" Encoding="DECIMAL"/></AlgorithmParameters>
///       <Data>
///         <Secret><PlainValue>MTIzNDU2Nzg5MDEyMzQ1Njc4OTA=</PlainValue></Secret>
///         <Counter><PlainValue>7</PlainValue></Counter>
///       </Data>
///     </Key>
///   </KeyPackage>
/// </KeyContainer>"#;
/// let container = read_pskc(document, &PskcCredential::None)?;
/// let tokens = container.tokens()?;
/// assert_eq!(tokens[0].serial.as_deref(), Some("42"));
/// assert_eq!(tokens[0].counter, 7);
/// assert_eq!(tokens[0].secret.expose_bytes(), b"12345678901234567890");
/// # Ok::<(), otpfob::pskc::PskcError>(())
/// ```
pub fn read_pskc(document: &[u8], credential: &PskcCredential) -> Result<PskcContainer, PskcError> {
    read_pskc_with_limits(document, credential, &PskcLimits::default())
}

/// As [`read_pskc`], within `limits`.
///
/// # Errors
///
/// As [`read_pskc`].
pub fn read_pskc_with_limits(
    document: &[u8],
    credential: &PskcCredential,
    limits: &PskcLimits,
) -> Result<PskcContainer, PskcError> {
    if document.len() > limits.max_document_bytes {
        return Err(PskcError::DocumentTooLarge {
            length: document.len(),
            maximum: limits.max_document_bytes,
        });
    }
    let document = document.strip_prefix(b"\xef\xbb\xbf").unwrap_or(document);
    let text = core::str::from_utf8(document).map_err(|_| PskcError::Encoding {
        encoding: "invalid UTF-8".to_owned(),
    })?;
    let root = xml::parse(text, limits)?;
    if root.name != "KeyContainer" {
        return Err(PskcError::NotKeyContainer {
            root: quote(&root.name),
        });
    }
    match root.attribute("Version") {
        Some("1.0") => {}
        other => {
            return Err(PskcError::Version {
                version: other.map(quote),
            });
        }
    }
    if root.children_named("KeyPackage").count() > limits.max_keys {
        return Err(PskcError::TooManyKeys {
            maximum: limits.max_keys,
        });
    }

    let mut raw_keys = Vec::new();
    for package in root.children_named("KeyPackage") {
        if let Some(raw) = RawKey::read(package, limits)? {
            raw_keys.push(raw);
        }
    }
    // RFC 6030 §4.3: a key's Id is unique within the container (its schema types it
    // `xs:ID`). Two keys under one Id are refused whole: which one a reader (or the
    // validator, which enrols by serial or Id) keeps would otherwise be an accident.
    let mut ids = std::collections::HashSet::with_capacity(raw_keys.len());
    if let Some(raw) = raw_keys.iter().find(|raw| !ids.insert(raw.key.id.as_str())) {
        return Err(PskcError::DuplicateKeyId {
            id: quote(&raw.key.id),
        });
    }

    let encrypted = raw_keys.iter().any(RawKey::has_encrypted_value);
    let encryption = root.single_child("EncryptionKey")?;
    let key_name = match encryption {
        Some(encryption) => match encryption.single_child("DerivedKey")? {
            Some(derived) => derived.child_text("MasterKeyName")?,
            None => encryption.child_text("KeyName")?,
        },
        None => None,
    };
    let decryptor = if encrypted {
        let decryptor = Decryptor::new(&root, encryption, credential, key_name.clone(), limits)?;
        // Every MAC first: a single mismatch rejects the file before any secret is
        // decrypted.
        for raw in &raw_keys {
            raw.verify_macs(&decryptor)?;
        }
        Some(decryptor)
    } else {
        None
    };

    let mut keys = Vec::with_capacity(raw_keys.len());
    for raw in raw_keys {
        keys.push(raw.finish(decryptor.as_ref(), limits)?);
    }
    Ok(PskcContainer {
        id: root.attribute("Id").map(str::to_owned),
        key_name,
        keys,
        signed: root.child("Signature").is_some(),
    })
}

/// A value of `<Data>`, as the file holds it.
enum RawValue<'a> {
    Plain(&'a Element),
    Encrypted {
        cipher: ValueCipher,
        /// IV ‖ ciphertext (AES), or the RSA ciphertext.
        value: Vec<u8>,
        mac: Option<Vec<u8>>,
    },
}

/// A key before its values are decrypted.
struct RawKey<'a> {
    key: PskcKey,
    owner: String,
    secret: Option<RawValue<'a>>,
    counter: Option<RawValue<'a>>,
    time: Option<RawValue<'a>>,
    time_interval: Option<RawValue<'a>>,
    time_drift: Option<RawValue<'a>>,
}

impl<'a> RawKey<'a> {
    /// Reads one `<KeyPackage>`; `None` when it holds no `<Key>`.
    fn read(package: &'a Element, limits: &PskcLimits) -> Result<Option<Self>, PskcError> {
        let Some(key) = package.single_child("Key")? else {
            return Ok(None);
        };
        let id = key
            .attribute("Id")
            .ok_or_else(|| PskcError::MissingAttribute {
                attribute: "Id",
                element: "Key".to_owned(),
            })?
            .to_owned();
        let owner = format!("Key Id=\"{}\"", quote(&id));

        let device = match package.single_child("DeviceInfo")? {
            Some(device) => PskcDeviceInfo {
                manufacturer: device.child_text("Manufacturer")?,
                serial_number: device.child_text("SerialNo")?,
                model: device.child_text("Model")?,
                issue_number: device.child_text("IssueNo")?,
                device_binding: device.child_text("DeviceBinding")?,
                start_date: date(device, "StartDate")?,
                expiry_date: date(device, "ExpiryDate")?,
                user_id: device.child_text("UserId")?,
            },
            None => PskcDeviceInfo::default(),
        };
        let crypto_module_id = match package.single_child("CryptoModuleInfo")? {
            Some(module) => module.child_text("Id")?,
            None => None,
        };
        let (suite, response_format) = match key.single_child("AlgorithmParameters")? {
            Some(parameters) => (
                parameters.child_text("Suite")?,
                parameters
                    .single_child("ResponseFormat")?
                    .map(response_format)
                    .transpose()?,
            ),
            None => (None, None),
        };
        let policy = match key.single_child("Policy")? {
            Some(policy) => read_policy(policy)?,
            None => PskcPolicy::default(),
        };

        let data = key.single_child("Data")?;
        let value =
            |name: &'static str, max_bytes: usize| -> Result<Option<RawValue<'a>>, PskcError> {
                match data {
                    Some(data) => raw_value(data, name, &owner, max_bytes),
                    None => Ok(None),
                }
            };
        // An encrypted value is the IV, the value and up to a block of padding.
        let secret = value("Secret", limits.max_secret_bytes + 32)?;
        let counter = value("Counter", 64)?;
        let time = value("Time", 64)?;
        let time_interval = value("TimeInterval", 64)?;
        let time_drift = value("TimeDrift", 64)?;

        let key = PskcKey {
            id,
            algorithm: key.attribute("Algorithm").map(str::to_owned),
            device,
            crypto_module_id,
            issuer: key.child_text("Issuer")?,
            friendly_name: key.child_text("FriendlyName")?,
            suite,
            response_format,
            key_profile_id: key.child_text("KeyProfileId")?,
            key_reference: key.child_text("KeyReference")?,
            secret: None,
            counter: None,
            time: None,
            time_interval: None,
            time_drift: None,
            user_id: key.child_text("UserId")?,
            policy,
        };
        Ok(Some(Self {
            key,
            owner,
            secret,
            counter,
            time,
            time_interval,
            time_drift,
        }))
    }

    fn values(&self) -> [(&'static str, Option<&RawValue<'a>>); 5] {
        [
            ("Secret", self.secret.as_ref()),
            ("Counter", self.counter.as_ref()),
            ("Time", self.time.as_ref()),
            ("TimeInterval", self.time_interval.as_ref()),
            ("TimeDrift", self.time_drift.as_ref()),
        ]
    }

    fn has_encrypted_value(&self) -> bool {
        self.values()
            .iter()
            .any(|(_, value)| matches!(value, Some(RawValue::Encrypted { .. })))
    }

    fn verify_macs(&self, decryptor: &Decryptor) -> Result<(), PskcError> {
        for (element, value) in self.values() {
            if let Some(RawValue::Encrypted { value, mac, .. }) = value {
                decryptor.verify(value, mac.as_deref(), element, &self.owner)?;
            }
        }
        Ok(())
    }

    fn finish(
        self,
        decryptor: Option<&Decryptor>,
        limits: &PskcLimits,
    ) -> Result<PskcKey, PskcError> {
        let owner = &self.owner;
        let mut key = self.key;
        key.secret = match &self.secret {
            None => None,
            Some(value) => {
                let bytes = bytes_of(value, decryptor, "Secret", owner, limits.max_secret_bytes)?;
                let secret = Secret::from_bytes(&bytes).map_err(|_| PskcError::InvalidValue {
                    element: "Secret".to_owned(),
                    value: String::new(),
                    reason: "a secret has at least one byte",
                })?;
                // Only one-time-password keys: a container may also carry a PIN as a
                // key of its own (RFC 6030 Figure 5), which is short by nature.
                if key.is_otp() && secret.len_bits() < limits.min_secret_bits {
                    return Err(PskcError::SecretTooShort {
                        owner: owner.clone(),
                        bits: secret.len_bits(),
                        minimum_bits: limits.min_secret_bits,
                    });
                }
                Some(secret)
            }
        };
        key.counter = integer(self.counter.as_ref(), decryptor, "Counter", owner)?
            .map(|number| unsigned(number, "Counter"))
            .transpose()?;
        key.time = integer(self.time.as_ref(), decryptor, "Time", owner)?
            .map(|number| unsigned(number, "Time"))
            .transpose()?;
        key.time_interval = integer(
            self.time_interval.as_ref(),
            decryptor,
            "TimeInterval",
            owner,
        )?
        .map(|number| unsigned(number, "TimeInterval"))
        .transpose()?;
        key.time_drift = integer(self.time_drift.as_ref(), decryptor, "TimeDrift", owner)?
            .map(|number| {
                i64::try_from(number).map_err(|_| PskcError::InvalidValue {
                    element: "TimeDrift".to_owned(),
                    value: number.to_string(),
                    reason: "a drift fits in 64 signed bits",
                })
            })
            .transpose()?;
        Ok(key)
    }
}

/// One value of `<Data>`: `<PlainValue>`, or `<EncryptedValue>` with its
/// `<ValueMAC>`.
fn raw_value<'a>(
    data: &'a Element,
    name: &'static str,
    owner: &str,
    max_encrypted_bytes: usize,
) -> Result<Option<RawValue<'a>>, PskcError> {
    let Some(field) = data.single_child(name)? else {
        return Ok(None);
    };
    if let Some(plain) = field.single_child("PlainValue")? {
        return Ok(Some(RawValue::Plain(plain)));
    }
    let Some(encrypted) = field.single_child("EncryptedValue")? else {
        return Err(PskcError::MissingElement {
            element: "PlainValue",
            parent: format!("{name} of {owner}"),
        });
    };
    let cipher = encryption_method(encrypted)?;
    let value = cipher_value(encrypted, owner, max_encrypted_bytes)?;
    let mac = match field.single_child("ValueMAC")? {
        Some(mac) => Some(
            decode_base64(mac.trimmed_text(), MAX_MAC_BYTES)
                .map_err(|failure| base64_error(failure, "ValueMAC", owner, MAX_MAC_BYTES))?
                .to_vec(),
        ),
        None => None,
    };
    Ok(Some(RawValue::Encrypted { cipher, value, mac }))
}

/// The bytes of a value: decoded from base64, or decrypted.
fn bytes_of(
    value: &RawValue<'_>,
    decryptor: Option<&Decryptor>,
    element: &'static str,
    owner: &str,
    max_bytes: usize,
) -> Result<Zeroizing<Vec<u8>>, PskcError> {
    let bytes = match value {
        RawValue::Plain(plain) => decode_base64(plain.trimmed_text(), max_bytes)
            .map_err(|failure| base64_error(failure, "PlainValue", owner, max_bytes))?,
        RawValue::Encrypted { cipher, value, .. } => {
            // `read_pskc_with_limits` makes a decryptor whenever a value is encrypted.
            let decryptor = decryptor.ok_or(PskcError::CredentialNeeded {
                kind: "pre-shared key",
                key_name: None,
            })?;
            decryptor.decrypt(*cipher, value, element, owner)?
        }
    };
    if bytes.len() > max_bytes {
        return Err(PskcError::ValueTooLong {
            element,
            owner: owner.to_owned(),
            length: bytes.len(),
            maximum: max_bytes,
        });
    }
    Ok(bytes)
}

/// An integer value: decimal text in `<PlainValue>`, big-endian bytes when encrypted
/// (as RFC 6030 implementations write them; TimeDrift sign-extended).
fn integer(
    value: Option<&RawValue<'_>>,
    decryptor: Option<&Decryptor>,
    element: &'static str,
    owner: &str,
) -> Result<Option<i128>, PskcError> {
    match value {
        None => Ok(None),
        Some(RawValue::Plain(plain)) => {
            let text = plain.trimmed_text();
            parse_decimal(text)
                .map(Some)
                .ok_or_else(|| PskcError::InvalidValue {
                    element: element.to_owned(),
                    value: quote(text),
                    reason: "a whole number",
                })
        }
        Some(encrypted) => {
            let bytes = bytes_of(encrypted, decryptor, element, owner, MAX_INTEGER_BYTES)?;
            let unsigned = bytes
                .iter()
                .fold(0u64, |number, byte| (number << 8) | u64::from(*byte));
            let number = if element == "TimeDrift" && !bytes.is_empty() {
                // Sign-extend from the value's own width.
                let shift = 64 - 8 * bytes.len() as u32;
                i128::from(((unsigned << shift) as i64) >> shift)
            } else {
                i128::from(unsigned)
            };
            Ok(Some(number))
        }
    }
}

fn unsigned(number: i128, element: &'static str) -> Result<u64, PskcError> {
    u64::try_from(number).map_err(|_| PskcError::InvalidValue {
        element: element.to_owned(),
        value: number.to_string(),
        reason: "a whole number from 0 to 2^64 - 1",
    })
}

fn response_format(format: &Element) -> Result<PskcResponseFormat, PskcError> {
    let length_text = format
        .attribute("Length")
        .ok_or_else(|| PskcError::MissingAttribute {
            attribute: "Length",
            element: "ResponseFormat".to_owned(),
        })?;
    let length = parse_decimal(length_text)
        .and_then(|length| u32::try_from(length).ok())
        .ok_or_else(|| PskcError::InvalidValue {
            element: "ResponseFormat@Length".to_owned(),
            value: quote(length_text),
            reason: "a whole number",
        })?;
    // RFC 6030's schema requires `Encoding`, but python-pskc (and so privacyIDEA)
    // writes `<ResponseFormat Length="6"/>` and reads a missing one as DECIMAL, as
    // every OTP token is; so do we.
    let encoding = match format.attribute("Encoding") {
        Some(encoding) => encoding_named(encoding, "ResponseFormat@Encoding")?,
        None => PskcEncoding::Decimal,
    };
    let check_digits = match format.attribute("CheckDigits") {
        Some(text) => boolean(text, "ResponseFormat@CheckDigits")?,
        None => false,
    };
    Ok(PskcResponseFormat {
        length,
        encoding,
        check_digits,
    })
}

fn encoding_named(name: &str, element: &str) -> Result<PskcEncoding, PskcError> {
    PskcEncoding::from_name(name).ok_or_else(|| PskcError::InvalidValue {
        element: element.to_owned(),
        value: quote(name),
        reason: "DECIMAL, HEXADECIMAL, ALPHANUMERIC, BASE64 or BINARY",
    })
}

fn boolean(text: &str, element: &str) -> Result<bool, PskcError> {
    match text.trim_matches(xml::is_xml_space) {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        other => Err(PskcError::InvalidValue {
            element: element.to_owned(),
            value: quote(other),
            reason: "true or false",
        }),
    }
}

fn read_policy(policy: &Element) -> Result<PskcPolicy, PskcError> {
    let number_of_transactions = match policy.child_text("NumberOfTransactions")? {
        Some(text) => Some(
            parse_decimal(&text)
                .and_then(|number| u64::try_from(number).ok())
                .ok_or_else(|| PskcError::InvalidValue {
                    element: "NumberOfTransactions".to_owned(),
                    value: quote(&text),
                    reason: "a whole number",
                })?,
        ),
        None => None,
    };
    let pin_policy = match policy.single_child("PINPolicy")? {
        Some(pin) => {
            let number = |attribute: &'static str| -> Result<Option<u32>, PskcError> {
                pin.attribute(attribute)
                    .map(|text| {
                        parse_decimal(text)
                            .and_then(|number| u32::try_from(number).ok())
                            .ok_or_else(|| PskcError::InvalidValue {
                                element: format!("PINPolicy@{attribute}"),
                                value: quote(text),
                                reason: "a whole number",
                            })
                    })
                    .transpose()
            };
            Some(PskcPinPolicy {
                pin_key_id: pin.attribute("PINKeyId").map(str::to_owned),
                usage_mode: pin.attribute("PINUsageMode").map(str::to_owned),
                max_failed_attempts: number("MaxFailedAttempts")?,
                min_length: number("MinLength")?,
                max_length: number("MaxLength")?,
                encoding: pin
                    .attribute("PINEncoding")
                    .map(|name| encoding_named(name, "PINPolicy@PINEncoding"))
                    .transpose()?,
            })
        }
        None => None,
    };
    Ok(PskcPolicy {
        start_date: date(policy, "StartDate")?,
        expiry_date: date(policy, "ExpiryDate")?,
        key_usage: policy
            .children_named("KeyUsage")
            .map(|usage| usage.trimmed_text().to_owned())
            .collect(),
        number_of_transactions,
        pin_policy,
    })
}

/// An `xs:dateTime` child, as RFC 3339; without a time zone it is read as UTC.
fn date(parent: &Element, name: &'static str) -> Result<Option<UnixTime>, PskcError> {
    let Some(text) = parent.child_text(name)? else {
        return Ok(None);
    };
    let parsed = OffsetDateTime::parse(&text, &Rfc3339)
        .or_else(|_| OffsetDateTime::parse(&format!("{text}Z"), &Rfc3339))
        .map_err(|_| PskcError::InvalidValue {
            element: name.to_owned(),
            value: quote(&text),
            reason: "an xs:dateTime such as 2006-05-01T00:00:00Z",
        })?;
    Ok(Some(UnixTime::from_secs(parsed.unix_timestamp())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_accept_signs_only_in_front() {
        assert_eq!(parse_decimal("-1"), Some(-1));
        assert_eq!(parse_decimal("+30"), Some(30));
        assert_eq!(parse_decimal("007"), Some(7));
        assert_eq!(parse_decimal("1-"), None);
        assert_eq!(parse_decimal(""), None);
        assert_eq!(parse_decimal("-"), None);
        assert_eq!(parse_decimal(&"9".repeat(41)), None);
    }
}
