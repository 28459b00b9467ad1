//! Writing tokens as an RFC 6030 container.

use quick_xml::escape::escape;
use std::borrow::Cow;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use zeroize::Zeroizing;

use super::crypto::{Cipher, HmacAlgorithm, encode_base64, random_bytes};
use super::xml::push_zeroizing;
use super::{PSKC_HOTP, PSKC_TOTP, ProvisionedToken, PskcLimits, PskcProtection};
use crate::algorithm::Algorithm;
use crate::clock::UnixTime;
use crate::parameters::OtpParameters;
use crate::provision::pskc::error::PskcError;

/// The PBKDF2 URI RFC 6030 §6.2 writes.
const PBKDF2_URI: &str = "http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2";

/// Bytes of the random MAC key: HMAC-SHA1's output length.
const MAC_KEY_BYTES: usize = 20;

/// Bytes of the random PBKDF2 salt.
const SALT_BYTES: usize = 16;

/// Writes `tokens` as an RFC 6030 PSKC document, one `<KeyPackage>` each, protected
/// as `protection` says.
///
/// Each token becomes a key with the HOTP or TOTP algorithm URI, a
/// `<ResponseFormat Length="digits" Encoding="DECIMAL"/>`, a `<Suite>` (`HMAC-SHA256`,
/// `HMAC-SHA512`) unless the hash is SHA-1, its `<Counter>` (HOTP) or
/// `<TimeInterval>` and `<TimeDrift>` (TOTP) in plaintext, its device details, and its
/// dates in `<Policy>`. Encrypted files follow RFC 6030 §6.1 and §6.2 exactly (Figures
/// 6 and 7): AES-CBC values with a fresh IV each, and an HMAC-SHA1 `<ValueMAC>` over
/// each under a fresh MAC key carried encrypted in `<MACMethod>`.
///
/// [`read_pskc`](crate::pskc::read_pskc) reads the result back to the same tokens.
///
/// # Errors
///
/// [`PskcError::Parameters`] for invalid parameters, [`PskcError::TimeOrigin`] for a
/// TOTP T0 other than 0, [`PskcError::InvalidValue`] for a repeated key id or a date
/// outside the years 0 to 9999, [`PskcError::KeyLength`] for a pre-shared key that is
/// not 16, 24 or 32 bytes, [`PskcError::Iterations`] for 0 or more iterations than
/// [`PskcLimits::default`] lets a reader accept, [`PskcError::RandomSource`].
///
/// # Security
///
/// The document is returned in a zeroizing string, grown through fresh buffers so no
/// copy of a plaintext secret is left in freed memory. With
/// [`PskcProtection::Plaintext`] it holds every secret in the clear.
///
/// ```
/// use otpfob::{Secret, TotpParameters, pskc::{PskcCredential, PskcProtection, ProvisionedToken, read_pskc, write_pskc}};
///
/// let mut token = ProvisionedToken::new(
///     "fob-1",
///     Secret::from_bytes(b"12345678901234567890")?,
///     TotpParameters::default(),
/// );
/// token.serial = Some("FOB0001".to_owned());
/// let protection = PskcProtection::PreSharedKey {
///     key: Secret::from_hex("12345678901234567890123456789012")?,
///     key_name: "Pre-shared-key".to_owned(),
/// };
/// let document = write_pskc(&[token], &protection)?;
///
/// let credential = PskcCredential::PreSharedKey(Secret::from_hex("12345678901234567890123456789012")?);
/// let tokens = read_pskc(document.as_bytes(), &credential)?.tokens()?;
/// assert_eq!(tokens[0].serial.as_deref(), Some("FOB0001"));
/// assert_eq!(tokens[0].secret.expose_bytes(), b"12345678901234567890");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_pskc(
    tokens: &[ProvisionedToken],
    protection: &PskcProtection,
) -> Result<Zeroizing<String>, PskcError> {
    for (index, token) in tokens.iter().enumerate() {
        token
            .parameters
            .validate()
            .map_err(|source| PskcError::Parameters {
                key_id: token.key_id.clone(),
                source,
            })?;
        if let OtpParameters::Totp(totp) = token.parameters
            && totp.t0 != 0
        {
            return Err(PskcError::TimeOrigin {
                key_id: token.key_id.clone(),
                t0: totp.t0,
            });
        }
        if tokens[..index]
            .iter()
            .any(|other| other.key_id == token.key_id)
        {
            return Err(PskcError::InvalidValue {
                element: "Key@Id".to_owned(),
                value: token.key_id.chars().take(40).collect(),
                reason: "key ids are unique in a container",
            });
        }
    }
    let encryption = Encryption::new(protection)?;

    let mut out = Output::new(tokens.len());
    out.push("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push(
        "<pskc:KeyContainer Version=\"1.0\"\n    \
         xmlns:pskc=\"urn:ietf:params:xml:ns:keyprov:pskc\"\n    \
         xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"\n    \
         xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\"\n    \
         xmlns:xenc11=\"http://www.w3.org/2009/xmlenc11#\"\n    \
         xmlns:pkcs5=\"http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#\">\n",
    );
    if let Some(encryption) = &encryption {
        encryption.write_header(&mut out)?;
    }
    for token in tokens {
        write_token(&mut out, token, encryption.as_ref())?;
    }
    out.push("</pskc:KeyContainer>\n");
    Ok(out.text)
}

/// The document being written: a zeroizing string grown through fresh buffers.
struct Output {
    text: Zeroizing<String>,
}

impl Output {
    fn new(tokens: usize) -> Self {
        Self {
            text: Zeroizing::new(String::with_capacity(2048 + tokens * 1536)),
        }
    }

    fn push(&mut self, text: &str) {
        push_zeroizing(&mut self.text, text);
    }

    /// `<pskc:NAME>text</pskc:NAME>` at `indent` levels, the text escaped.
    fn element(&mut self, indent: usize, name: &'static str, text: &str) -> Result<(), PskcError> {
        let escaped = xml_escape(text, name)?;
        self.indent(indent);
        self.push(&format!("<pskc:{name}>"));
        self.push(&escaped);
        self.push(&format!("</pskc:{name}>\n"));
        Ok(())
    }

    fn indent(&mut self, levels: usize) {
        for _ in 0..levels {
            self.push("  ");
        }
    }

    fn line(&mut self, indent: usize, text: &str) {
        self.indent(indent);
        self.push(text);
        self.push("\n");
    }
}

/// Checks what [`write_pskc`] would refuse of `protection` (a pre-shared key's
/// length, a PBKDF2 iteration count) without deriving a key or writing anything.
pub(super) fn check_protection(protection: &PskcProtection) -> Result<(), PskcError> {
    match protection {
        PskcProtection::PreSharedKey { key, .. } => {
            Cipher::for_key_length(key.len(), "pre-shared key").map(|_| ())
        }
        PskcProtection::Password { iterations, .. } => {
            let maximum = PskcLimits::default().max_pbkdf2_iterations;
            if (1..=maximum).contains(iterations) {
                Ok(())
            } else {
                Err(PskcError::Iterations {
                    iterations: u64::from(*iterations),
                    maximum,
                })
            }
        }
        _ => Ok(()),
    }
}

/// The key and MAC key of an encrypted document.
struct Encryption<'a> {
    protection: &'a PskcProtection,
    cipher: Cipher,
    key: Zeroizing<Vec<u8>>,
    mac_key: Zeroizing<Vec<u8>>,
    salt: Vec<u8>,
}

impl<'a> Encryption<'a> {
    fn new(protection: &'a PskcProtection) -> Result<Option<Self>, PskcError> {
        let (cipher, key, salt) = match protection {
            PskcProtection::Plaintext => return Ok(None),
            PskcProtection::PreSharedKey { key, .. } => (
                Cipher::for_key_length(key.len(), "pre-shared key")?,
                Zeroizing::new(key.expose_bytes().to_vec()),
                Vec::new(),
            ),
            PskcProtection::Password {
                password,
                iterations,
                ..
            } => {
                let maximum = PskcLimits::default().max_pbkdf2_iterations;
                if !(1..=maximum).contains(iterations) {
                    return Err(PskcError::Iterations {
                        iterations: u64::from(*iterations),
                        maximum,
                    });
                }
                let salt = random_bytes(SALT_BYTES)?.to_vec();
                let key = HmacAlgorithm::Sha1.pbkdf2(
                    password.expose_bytes(),
                    &salt,
                    *iterations,
                    Cipher::Aes128.key_length(),
                );
                (Cipher::Aes128, key, salt)
            }
        };
        Ok(Some(Self {
            protection,
            cipher,
            key,
            mac_key: random_bytes(MAC_KEY_BYTES)?,
            salt,
        }))
    }

    /// `<EncryptionKey>` and `<MACMethod>`.
    fn write_header(&self, out: &mut Output) -> Result<(), PskcError> {
        out.line(1, "<pskc:EncryptionKey>");
        match self.protection {
            PskcProtection::Plaintext => {}
            PskcProtection::PreSharedKey { key_name, .. } => {
                out.indent(2);
                out.push("<ds:KeyName>");
                out.push(&xml_escape(key_name, "KeyName")?);
                out.push("</ds:KeyName>\n");
            }
            PskcProtection::Password {
                key_name,
                iterations,
                ..
            } => {
                out.line(2, "<xenc11:DerivedKey>");
                out.line(
                    3,
                    &format!("<xenc11:KeyDerivationMethod Algorithm=\"{PBKDF2_URI}\">"),
                );
                out.line(4, "<pkcs5:PBKDF2-params>");
                out.line(
                    5,
                    &format!(
                        "<Salt><Specified>{}</Specified></Salt>",
                        encode_base64(&self.salt).as_str()
                    ),
                );
                out.line(5, &format!("<IterationCount>{iterations}</IterationCount>"));
                out.line(
                    5,
                    &format!("<KeyLength>{}</KeyLength>", self.cipher.key_length()),
                );
                out.line(
                    5,
                    &format!("<PRF Algorithm=\"{}\"/>", HmacAlgorithm::SHA1_URI),
                );
                out.line(4, "</pkcs5:PBKDF2-params>");
                out.line(3, "</xenc11:KeyDerivationMethod>");
                out.indent(3);
                out.push("<xenc11:MasterKeyName>");
                out.push(&xml_escape(key_name, "KeyName")?);
                out.push("</xenc11:MasterKeyName>\n");
                out.line(2, "</xenc11:DerivedKey>");
            }
        }
        out.line(1, "</pskc:EncryptionKey>");
        out.line(
            1,
            &format!("<pskc:MACMethod Algorithm=\"{}\">", HmacAlgorithm::SHA1_URI),
        );
        out.line(2, "<pskc:MACKey>");
        let encrypted_mac_key = self.cipher.encrypt(&self.key, &self.mac_key)?;
        self.write_cipher_data(out, 3, &encrypted_mac_key);
        out.line(2, "</pskc:MACKey>");
        out.line(1, "</pskc:MACMethod>");
        Ok(())
    }

    /// `<xenc:EncryptionMethod/>` and `<xenc:CipherData>`.
    fn write_cipher_data(&self, out: &mut Output, indent: usize, value: &[u8]) {
        out.line(
            indent,
            &format!(
                "<xenc:EncryptionMethod Algorithm=\"{}\"/>",
                self.cipher.uri()
            ),
        );
        out.line(indent, "<xenc:CipherData>");
        out.line(
            indent + 1,
            &format!(
                "<xenc:CipherValue>{}</xenc:CipherValue>",
                encode_base64(value).as_str()
            ),
        );
        out.line(indent, "</xenc:CipherData>");
    }
}

fn write_token(
    out: &mut Output,
    token: &ProvisionedToken,
    encryption: Option<&Encryption<'_>>,
) -> Result<(), PskcError> {
    out.line(1, "<pskc:KeyPackage>");
    if token.manufacturer.is_some() || token.serial.is_some() || token.model.is_some() {
        out.line(2, "<pskc:DeviceInfo>");
        if let Some(manufacturer) = &token.manufacturer {
            out.element(3, "Manufacturer", manufacturer)?;
        }
        if let Some(serial) = &token.serial {
            out.element(3, "SerialNo", serial)?;
        }
        if let Some(model) = &token.model {
            out.element(3, "Model", model)?;
        }
        out.line(2, "</pskc:DeviceInfo>");
    }
    let (uri, algorithm, digits) = match token.parameters {
        OtpParameters::Hotp(hotp) => (PSKC_HOTP, hotp.algorithm, hotp.digits),
        OtpParameters::Totp(totp) => (PSKC_TOTP, totp.algorithm, totp.digits),
    };
    out.line(
        2,
        &format!(
            "<pskc:Key Id=\"{}\" Algorithm=\"{uri}\">",
            xml_escape(&token.key_id, "Key@Id")?
        ),
    );
    if let Some(issuer) = &token.issuer {
        out.element(3, "Issuer", issuer)?;
    }
    out.line(3, "<pskc:AlgorithmParameters>");
    if algorithm != Algorithm::Sha1 {
        out.element(4, "Suite", &format!("HMAC-{}", algorithm.name()))?;
    }
    out.line(
        4,
        &format!("<pskc:ResponseFormat Length=\"{digits}\" Encoding=\"DECIMAL\"/>"),
    );
    out.line(3, "</pskc:AlgorithmParameters>");

    out.line(3, "<pskc:Data>");
    out.line(4, "<pskc:Secret>");
    match encryption {
        None => {
            out.indent(5);
            out.push("<pskc:PlainValue>");
            out.push(&encode_base64(token.secret.expose_bytes()));
            out.push("</pskc:PlainValue>\n");
        }
        Some(encryption) => {
            let value = encryption
                .cipher
                .encrypt(&encryption.key, token.secret.expose_bytes())?;
            out.line(5, "<pskc:EncryptedValue>");
            encryption.write_cipher_data(out, 6, &value);
            out.line(5, "</pskc:EncryptedValue>");
            let mac = HmacAlgorithm::Sha1.mac(&encryption.mac_key, &value);
            out.element(5, "ValueMAC", &encode_base64(&mac))?;
        }
    }
    out.line(4, "</pskc:Secret>");
    let mut plain = |name: &str, value: &str| {
        out.line(4, &format!("<pskc:{name}>"));
        out.line(5, &format!("<pskc:PlainValue>{value}</pskc:PlainValue>"));
        out.line(4, &format!("</pskc:{name}>"));
    };
    match token.parameters {
        OtpParameters::Hotp(_) => plain("Counter", &token.counter.to_string()),
        OtpParameters::Totp(totp) => {
            plain("TimeInterval", &totp.time_step.to_string());
            plain("TimeDrift", &token.time_drift.to_string());
        }
    }
    out.line(3, "</pskc:Data>");

    if token.start_date.is_some() || token.expiry_date.is_some() {
        out.line(3, "<pskc:Policy>");
        if let Some(start) = token.start_date {
            out.element(4, "StartDate", &date(start)?)?;
        }
        if let Some(expiry) = token.expiry_date {
            out.element(4, "ExpiryDate", &date(expiry)?)?;
        }
        out.line(3, "</pskc:Policy>");
    }
    out.line(2, "</pskc:Key>");
    out.line(1, "</pskc:KeyPackage>");
    Ok(())
}

/// `text` escaped for XML text or a double-quoted attribute: the five markup
/// characters as entities, and tab, line feed and carriage return as character
/// references, so that attribute-value and end-of-line normalisation give them back
/// unchanged. Characters XML 1.0 cannot carry at all (most control characters,
/// U+FFFE, U+FFFF) are an error.
fn xml_escape<'a>(text: &'a str, element: &'static str) -> Result<Cow<'a, str>, PskcError> {
    if let Some(bad) = text.chars().find(|character| {
        matches!(*character, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
    }) {
        return Err(PskcError::InvalidValue {
            element: element.to_owned(),
            value: format!("U+{:04X}", u32::from(bad)),
            reason: "XML 1.0 cannot carry this character",
        });
    }
    let escaped = escape(text);
    if !escaped.contains(['\t', '\n', '\r']) {
        return Ok(escaped);
    }
    Ok(Cow::Owned(
        escaped
            .replace('\t', "&#9;")
            .replace('\n', "&#10;")
            .replace('\r', "&#13;"),
    ))
}

/// An RFC 3339 UTC date, whole seconds.
fn date(time: UnixTime) -> Result<String, PskcError> {
    OffsetDateTime::from_unix_timestamp(time.as_secs())
        .ok()
        .and_then(|date| date.format(&Rfc3339).ok())
        .ok_or_else(|| PskcError::InvalidValue {
            element: "Policy date".to_owned(),
            value: time.as_secs().to_string(),
            reason: "a date in the years 0 to 9999",
        })
}
