//! `otpauth://` key URIs: what an authenticator app reads from a QR code.
//!
//! The format is Google Authenticator's "Key Uri Format":
//! `otpauth://TYPE/LABEL?PARAMETERS`, TYPE `totp` or `hotp`, LABEL
//! `issuer:account` or `account`, and the parameters `secret` (required, base32),
//! `issuer`, `algorithm` (default SHA1), `digits` (default 6), `period` (TOTP, default
//! 30) and `counter` (HOTP, required).

use core::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode, utf8_percent_encode};
use zeroize::Zeroizing;

use crate::algorithm::Algorithm;
use crate::hotp::{HotpParameters, MAX_OTP_DIGITS, MIN_OTP_DIGITS};
use crate::parameters::OtpParameters;
use crate::provision::error::KeyUriError;
use crate::secret::Secret;
use crate::text::is_invisible_character;
use crate::totp::TotpParameters;

/// The longest key URI [`KeyUri::parse`] reads, in bytes. A QR code holds at most
/// 2953 bytes, so no scanned URI comes near it; the cap bounds the work a hostile
/// input can cause.
pub const MAX_KEY_URI_LEN: usize = 8192;

/// The fewest bits of secret [`KeyUri::parse`] accepts by default: 80, what
/// authenticator apps generate (RFC 4226 §4 asks for at least 128). A shorter secret
/// is found from one observed code by trying every key: a one-byte secret in 256
/// tries. [`KeyUriOptions::min_secret_bits`] lowers it for legacy imports.
pub const MIN_IMPORTED_SECRET_BITS: usize = 80;

/// The longest TOTP `period` a key URI may give, in seconds: one day. A code that
/// lasts longer is not a one-time password.
pub const MAX_KEY_URI_PERIOD: u64 = 86_400;

/// What is left unencoded: RFC 3986's unreserved characters. Everything else, `@`,
/// `:`, `/` and space included, is percent-encoded, so every parser reads the same
/// label and values (`pyotp` writes the same, except that it leaves `/` bare).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The longest piece of input quoted back in an error.
const QUOTE_LIMIT: usize = 40;

/// The parameter names the format defines; anything else is an extra parameter.
const RESERVED: [&str; 6] = [
    "secret",
    "issuer",
    "algorithm",
    "digits",
    "period",
    "counter",
];

/// How [`KeyUri::parse_with`] reads a URI: the checks a caller may loosen for legacy
/// imports. [`KeyUri::parse`] uses [`KeyUriOptions::default`].
///
/// ```
/// use otpfob::{KeyUri, KeyUriError, provision::KeyUriOptions};
///
/// // A legacy 40-bit secret: refused by default, read when the caller says so.
/// let legacy = "otpauth://totp/alice?secret=GEZDGNBV";
/// assert!(matches!(
///     KeyUri::parse(legacy),
///     Err(KeyUriError::SecretTooShort { bits: 40, minimum_bits: 80 })
/// ));
/// let mut options = KeyUriOptions::default();
/// options.min_secret_bits = 40;
/// assert_eq!(KeyUri::parse_with(legacy, &options)?.secret().len_bits(), 40);
/// # Ok::<(), KeyUriError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct KeyUriOptions {
    /// The fewest bits of secret accepted. Default [`MIN_IMPORTED_SECRET_BITS`] (80).
    ///
    /// # Security
    ///
    /// Lower it only to import tokens that already exist with shorter secrets, and
    /// replace them: an n-bit secret falls to 2^n tries against one observed code.
    pub min_secret_bits: usize,
}

impl Default for KeyUriOptions {
    fn default() -> Self {
        Self {
            min_secret_bits: MIN_IMPORTED_SECRET_BITS,
        }
    }
}

/// An `otpauth://` key URI: the secret, the account and issuer it belongs to, and how
/// codes are made, as authenticator apps read it from a QR code.
///
/// Parsing follows the Key Uri Format of Google Authenticator:
/// - the scheme (`otpauth`) and the type (`totp`, `hotp`) are read in any case;
/// - the label is `issuer:account` or `account`; the colon may be written `%3A`, and
///   spaces after it are dropped; when the label starts with the `issuer` parameter's
///   value and a colon, the rest is the account, colons included (as `pyotp` writes
///   an account `a:b`: `ACME:a%3Ab?...&issuer=ACME`); otherwise the label splits at its
///   first colon and the account may not hold another;
/// - names may not hold control characters (NUL, ESC, ...) or invisible and
///   direction-changing characters (U+202E, zero-width spaces, ...: see
///   [`is_invisible_character`](crate::text::is_invisible_character)), which would make a
///   label display as another ([`KeyUriError::InvalidCharacter`]);
/// - the secret has at least [`MIN_IMPORTED_SECRET_BITS`] bits
///   ([`KeyUriError::SecretTooShort`]; [`KeyUri::parse_with`] can lower it);
/// - what is read can be written back: a URI whose canonical form
///   ([`KeyUri::to_uri`]) would be longer than [`MAX_KEY_URI_LEN`] is refused
///   ([`KeyUriError::WrittenTooLong`]), as is every builder call that would make it so;
/// - when both the label's issuer and the `issuer` parameter are present they must be
///   equal ([`KeyUriError::IssuerMismatch`]); either one alone sets the issuer;
/// - defaults: `algorithm=SHA1`, `digits=6`, `period=30`; `digits` may be 6 to 10
///   (the format's apps show 6 or 8, RFC 4226 allows more), `period` 1 to
///   [`MAX_KEY_URI_PERIOD`] seconds; `counter` is required for HOTP;
/// - in parameter values `+` is a space, as in HTML forms (a literal plus is `%2B`);
///   in the label `+` is itself;
/// - parameters are case-sensitive, may come in any order, and may not repeat;
///   `counter` on a TOTP URI and `period` on an HOTP URI are errors;
/// - **unknown parameters** (`image=`, `color=`, ...) are kept, in their order, in
///   [`KeyUri::extra_parameters`], and written back after the known ones, so a URI
///   passes through this type without losing what other apps put in it.
///
/// [`KeyUri::to_uri`] writes the canonical form: the secret as unpadded upper-case
/// base32, the label `issuer:account` with everything but RFC 3986's unreserved
/// characters percent-encoded, then `secret`, `issuer`, `counter`, `algorithm`,
/// `digits`, `period` in that order, each of the last three only when it differs from
/// the default (the order and omissions of `pyotp`), then the extra parameters.
///
/// # Security
///
/// A key URI is the secret. `Debug` prints the secret redacted; there is no
/// `Display`, and [`KeyUri::to_uri`] returns a string that is zeroized on drop. Show
/// the URI or its QR code only to the person enrolling, once.
///
/// ```
/// use otpfob::{KeyUri, OtpParameters, Secret, TotpParameters};
///
/// let uri = KeyUri::parse(
///     "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example",
/// )?;
/// assert_eq!(uri.account(), "alice@google.com");
/// assert_eq!(uri.issuer(), Some("Example"));
/// assert_eq!(uri.parameters(), OtpParameters::Totp(TotpParameters::default()));
/// assert_eq!(uri.secret().expose_bytes(), b"Hello!\xde\xad\xbe\xef");
///
/// let built = KeyUri::new(
///     Secret::from_base32("JBSWY3DPEHPK3PXP")?,
///     "alice@google.com",
///     TotpParameters::default(),
/// )?
/// .with_issuer("Example")?;
/// assert_eq!(
///     built.to_uri().as_str(),
///     "otpauth://totp/Example:alice%40google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example"
/// );
/// assert!(format!("{built:?}").contains("REDACTED"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct KeyUri {
    secret: Secret,
    account: String,
    issuer: Option<String>,
    parameters: OtpParameters,
    counter: u64,
    extra_parameters: Vec<(String, String)>,
}

impl KeyUri {
    /// A key URI for `secret` and `account` with these parameters; an HOTP URI starts
    /// at counter 0 (see [`KeyUri::with_counter`]).
    ///
    /// # Errors
    ///
    /// [`KeyUriError::InvalidName`] for an empty account name, one with a colon, or one
    /// starting with a space (the format drops such spaces);
    /// [`KeyUriError::InvalidCharacter`] for one with a control or invisible character;
    /// [`KeyUriError::WrittenTooLong`] when the URI would not fit in
    /// [`MAX_KEY_URI_LEN`] bytes; [`KeyUriError::Parameters`]
    /// for parameters that do not validate; [`KeyUriError::Period`] for a time step
    /// above [`MAX_KEY_URI_PERIOD`]; [`KeyUriError::TimeOrigin`] for a T0 other than 0.
    pub fn new(
        secret: Secret,
        account: &str,
        parameters: impl Into<OtpParameters>,
    ) -> Result<Self, KeyUriError> {
        let parameters = parameters.into();
        check_name("account name", account, false)?;
        parameters.validate()?;
        if let OtpParameters::Totp(totp) = parameters {
            if totp.t0 != 0 {
                return Err(KeyUriError::TimeOrigin { t0: totp.t0 });
            }
            if totp.time_step > MAX_KEY_URI_PERIOD {
                return Err(KeyUriError::Period {
                    value: totp.time_step.to_string(),
                });
            }
        }
        Self {
            secret,
            account: account.to_owned(),
            issuer: None,
            parameters,
            counter: 0,
            extra_parameters: Vec::new(),
        }
        .fitting()
    }

    /// The same URI with this issuer, written both as the label's prefix and as the
    /// `issuer` parameter, as the format recommends.
    ///
    /// # Errors
    ///
    /// [`KeyUriError::InvalidName`] for an empty issuer, or one with a colon;
    /// [`KeyUriError::InvalidCharacter`] for one with a control or invisible character;
    /// [`KeyUriError::WrittenTooLong`] when the URI would no longer fit in
    /// [`MAX_KEY_URI_LEN`] bytes.
    pub fn with_issuer(mut self, issuer: &str) -> Result<Self, KeyUriError> {
        check_name("issuer", issuer, false)?;
        self.issuer = Some(issuer.to_owned());
        self.fitting()
    }

    /// The same HOTP URI with this initial counter.
    ///
    /// # Errors
    ///
    /// [`KeyUriError::UnexpectedParameter`] for a TOTP URI, which has no counter;
    /// [`KeyUriError::WrittenTooLong`] when the URI would no longer fit in
    /// [`MAX_KEY_URI_LEN`] bytes.
    pub fn with_counter(mut self, counter: u64) -> Result<Self, KeyUriError> {
        match self.parameters {
            OtpParameters::Hotp(_) => {
                self.counter = counter;
                self.fitting()
            }
            OtpParameters::Totp(_) => Err(KeyUriError::UnexpectedParameter {
                name: "counter".to_owned(),
                kind: "totp",
            }),
        }
    }

    /// The same URI with one more parameter that the format does not define (such as
    /// FreeOTP's `image`), written after the others.
    ///
    /// # Errors
    ///
    /// [`KeyUriError::EmptyParameterName`], [`KeyUriError::ReservedParameter`] for one of
    /// the format's own names, [`KeyUriError::DuplicateParameter`] for a name already
    /// present; [`KeyUriError::WrittenTooLong`] when the URI would no longer fit in
    /// [`MAX_KEY_URI_LEN`] bytes.
    pub fn with_extra_parameter(mut self, name: &str, value: &str) -> Result<Self, KeyUriError> {
        if name.is_empty() {
            return Err(KeyUriError::EmptyParameterName);
        }
        if RESERVED.contains(&name) {
            return Err(KeyUriError::ReservedParameter {
                name: name.to_owned(),
            });
        }
        if self.extra_parameters.iter().any(|(known, _)| known == name) {
            return Err(KeyUriError::DuplicateParameter {
                name: name.to_owned(),
            });
        }
        self.extra_parameters
            .push((name.to_owned(), value.to_owned()));
        self.fitting()
    }

    /// `self` if its canonical form fits in [`MAX_KEY_URI_LEN`] bytes, so that
    /// whatever this type holds, [`KeyUri::to_uri`] writes a URI that
    /// [`KeyUri::parse`] reads back. The form can be three times longer than what was
    /// parsed (a bare `é` is written `%C3%A9`), so the input's length is not enough.
    fn fitting(self) -> Result<Self, KeyUriError> {
        let length = self.to_uri().len();
        if length > MAX_KEY_URI_LEN {
            return Err(KeyUriError::WrittenTooLong {
                length,
                maximum: MAX_KEY_URI_LEN,
            });
        }
        Ok(self)
    }

    /// Reads a key URI with the default [`KeyUriOptions`]; see the type's
    /// documentation for the rules.
    ///
    /// # Errors
    ///
    /// As [`KeyUri::parse_with`].
    ///
    /// # Security
    ///
    /// As [`KeyUri::parse_with`]; secrets under [`MIN_IMPORTED_SECRET_BITS`] are
    /// refused.
    pub fn parse(uri: &str) -> Result<Self, KeyUriError> {
        Self::parse_with(uri, &KeyUriOptions::default())
    }

    /// Reads a key URI with these options; see the type's documentation for the rules.
    ///
    /// # Errors
    ///
    /// A [`KeyUriError`] naming what was wrong: [`KeyUriError::Scheme`],
    /// [`KeyUriError::UnknownType`], [`KeyUriError::MissingSecret`],
    /// [`KeyUriError::Secret`] for bad base32, [`KeyUriError::SecretTooShort`],
    /// [`KeyUriError::InvalidCharacter`], [`KeyUriError::MissingCounter`],
    /// [`KeyUriError::Digits`], [`KeyUriError::Period`],
    /// [`KeyUriError::PercentEncoding`], [`KeyUriError::DuplicateParameter`],
    /// [`KeyUriError::IssuerMismatch`] and the others. Never panics.
    ///
    /// # Security
    ///
    /// The decoded secret goes into a [`Secret`]; the buffers it passes through on the
    /// way are zeroized. The caller's `uri` string is the caller's to wipe.
    pub fn parse_with(uri: &str, options: &KeyUriOptions) -> Result<Self, KeyUriError> {
        if uri.len() > MAX_KEY_URI_LEN {
            return Err(KeyUriError::TooLong {
                length: uri.len(),
                maximum: MAX_KEY_URI_LEN,
            });
        }
        let rest = strip_scheme(uri)?;
        let rest_offset = uri.len() - rest.len();
        if rest.contains('#') {
            return Err(KeyUriError::Fragment);
        }
        let (kind, after_kind) = rest.split_once('/').ok_or(KeyUriError::MissingLabel)?;
        let is_hotp = if kind.eq_ignore_ascii_case("totp") {
            false
        } else if kind.eq_ignore_ascii_case("hotp") {
            true
        } else {
            return Err(KeyUriError::UnknownType { found: quote(kind) });
        };
        let label_offset = rest_offset + kind.len() + 1;
        let (raw_label, query) = after_kind.split_once('?').unwrap_or((after_kind, ""));
        let query_offset = label_offset + raw_label.len() + 1;

        let label = decode_text(raw_label, label_offset, false, "label")?;
        let query = Query::read(query, query_offset)?;
        // The `issuer` parameter, when the label starts with it and a colon, says
        // where the issuer ends: the rest is the account, colons and all (pyotp writes
        // an account `a:b` as `ACME:a%3Ab`). Without it the first colon splits.
        let prefixed = query.issuer.as_deref().and_then(|issuer| {
            label
                .strip_prefix(issuer)
                .and_then(|rest| rest.strip_prefix(':'))
                .map(|account| (issuer, account))
        });
        let (label_issuer, account, colon_allowed) = match prefixed {
            Some((issuer, account)) => (Some(issuer), account.trim_start_matches(' '), true),
            None => match label.split_once(':') {
                Some((issuer, account)) => (Some(issuer), account.trim_start_matches(' '), false),
                None => (None, label.as_str(), false),
            },
        };
        if let Some(issuer) = label_issuer {
            check_name("issuer", issuer, false)?;
        }
        check_name("account name", account, colon_allowed)?;

        let secret = match &query.secret {
            Some(encoded) => Secret::from_base32(encoded).map_err(KeyUriError::Secret)?,
            None => return Err(KeyUriError::MissingSecret),
        };
        if secret.len_bits() < options.min_secret_bits {
            return Err(KeyUriError::SecretTooShort {
                bits: secret.len_bits(),
                minimum_bits: options.min_secret_bits,
            });
        }
        let issuer = match (label_issuer, query.issuer.as_deref()) {
            (Some(label), Some(parameter)) if label != parameter => {
                return Err(KeyUriError::IssuerMismatch {
                    label: quote(label),
                    parameter: quote(parameter),
                });
            }
            (_, Some(parameter)) => {
                check_name("issuer", parameter, false)?;
                Some(parameter.to_owned())
            }
            (Some(label), None) => Some(label.to_owned()),
            (None, None) => None,
        };
        let algorithm = query.algorithm.unwrap_or_default();
        let digits = query.digits.unwrap_or(6);
        let (parameters, counter) = if is_hotp {
            if query.period.is_some() {
                return Err(KeyUriError::UnexpectedParameter {
                    name: "period".to_owned(),
                    kind: "hotp",
                });
            }
            let counter = query.counter.ok_or(KeyUriError::MissingCounter)?;
            (
                OtpParameters::Hotp(HotpParameters { algorithm, digits }),
                counter,
            )
        } else {
            if query.counter.is_some() {
                return Err(KeyUriError::UnexpectedParameter {
                    name: "counter".to_owned(),
                    kind: "totp",
                });
            }
            let parameters = TotpParameters {
                algorithm,
                digits,
                time_step: query.period.unwrap_or(30),
                t0: 0,
            };
            (OtpParameters::Totp(parameters), 0)
        };
        Self {
            secret,
            account: account.to_owned(),
            issuer,
            parameters,
            counter,
            extra_parameters: query.extra,
        }
        .fitting()
    }

    /// The canonical URI; see the type's documentation for its form.
    ///
    /// # Security
    ///
    /// The string holds the secret and is zeroized on drop; it is built in one buffer
    /// of the right size, so no partial copy is left behind by a reallocation. Do not
    /// copy it into a plain `String`.
    #[must_use]
    pub fn to_uri(&self) -> Zeroizing<String> {
        let (kind, counter, period) = match self.parameters {
            OtpParameters::Hotp(_) => ("hotp", Some(self.counter), None),
            OtpParameters::Totp(totp) => ("totp", None, Some(totp.time_step)),
        };
        let mut head = format!("otpauth://{kind}/");
        if let Some(issuer) = &self.issuer {
            head.extend(utf8_percent_encode(issuer, ENCODE));
            head.push(':');
        }
        head.extend(utf8_percent_encode(&self.account, ENCODE));
        head.push_str("?secret=");

        let mut tail = String::new();
        if let Some(issuer) = &self.issuer {
            tail.push_str("&issuer=");
            tail.extend(utf8_percent_encode(issuer, ENCODE));
        }
        if let Some(counter) = counter {
            tail.push_str(&format!("&counter={counter}"));
        }
        let algorithm = self.parameters.algorithm();
        if algorithm != Algorithm::Sha1 {
            tail.push_str("&algorithm=");
            tail.push_str(algorithm.name());
        }
        let digits = self.parameters.digits();
        if digits != 6 {
            tail.push_str(&format!("&digits={digits}"));
        }
        if let Some(period) = period.filter(|period| *period != 30) {
            tail.push_str(&format!("&period={period}"));
        }
        for (name, value) in &self.extra_parameters {
            tail.push('&');
            tail.extend(utf8_percent_encode(name, ENCODE));
            tail.push('=');
            tail.extend(utf8_percent_encode(value, ENCODE));
        }

        let secret = self.secret.to_base32();
        let mut uri = Zeroizing::new(String::with_capacity(
            head.len() + secret.len() + tail.len(),
        ));
        uri.push_str(&head);
        uri.push_str(&secret);
        uri.push_str(&tail);
        uri
    }

    /// The shared secret.
    #[must_use]
    pub fn secret(&self) -> &Secret {
        &self.secret
    }

    /// The account name: the label without its issuer prefix.
    #[must_use]
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The issuer, from the label's prefix or the `issuer` parameter.
    #[must_use]
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The label as an app shows it: `issuer:account`, or `account` alone.
    #[must_use]
    pub fn label(&self) -> String {
        match &self.issuer {
            Some(issuer) => format!("{issuer}:{}", self.account),
            None => self.account.clone(),
        }
    }

    /// How codes are made. TOTP parameters always have T0 = 0.
    #[must_use]
    pub fn parameters(&self) -> OtpParameters {
        self.parameters
    }

    /// The initial counter of an HOTP URI; `None` for TOTP.
    #[must_use]
    pub fn counter(&self) -> Option<u64> {
        match self.parameters {
            OtpParameters::Hotp(_) => Some(self.counter),
            OtpParameters::Totp(_) => None,
        }
    }

    /// The parameters the format does not define, decoded, in the order given.
    #[must_use]
    pub fn extra_parameters(&self) -> &[(String, String)] {
        &self.extra_parameters
    }
}

impl FromStr for KeyUri {
    type Err = KeyUriError;

    /// As [`KeyUri::parse`].
    fn from_str(uri: &str) -> Result<Self, Self::Err> {
        Self::parse(uri)
    }
}

/// The known parameters of a query, decoded and checked one by one.
#[derive(Default)]
struct Query {
    secret: Option<Zeroizing<String>>,
    issuer: Option<String>,
    algorithm: Option<Algorithm>,
    digits: Option<u8>,
    period: Option<u64>,
    counter: Option<u64>,
    extra: Vec<(String, String)>,
}

impl Query {
    fn read(query: &str, offset: usize) -> Result<Self, KeyUriError> {
        let mut result = Query::default();
        let mut seen: Vec<String> = Vec::new();
        let mut position = offset;
        for pair in query.split('&') {
            let pair_offset = position;
            position += pair.len() + 1;
            if pair.is_empty() {
                continue;
            }
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode_text(raw_name, pair_offset, true, "parameter name")?;
            if name.is_empty() {
                return Err(KeyUriError::EmptyParameterName);
            }
            if seen.contains(&*name) {
                return Err(KeyUriError::DuplicateParameter { name: quote(&name) });
            }
            seen.push(name.to_string());
            let value = decode_text(raw_value, pair_offset + raw_name.len() + 1, true, &name)?;
            if value.is_empty() && RESERVED.contains(&name.as_str()) {
                return Err(KeyUriError::EmptyValue {
                    name: name.to_string(),
                });
            }
            match name.as_str() {
                "secret" => result.secret = Some(value),
                "issuer" => result.issuer = Some(value.to_string()),
                "algorithm" => {
                    let algorithm =
                        Algorithm::from_str(&value).map_err(|_| KeyUriError::Algorithm {
                            value: quote(&value),
                        })?;
                    result.algorithm = Some(algorithm);
                }
                "digits" => {
                    let digits = decimal(&value)
                        .and_then(|digits| u8::try_from(digits).ok())
                        .filter(|digits| (MIN_OTP_DIGITS..=MAX_OTP_DIGITS).contains(digits))
                        .ok_or_else(|| KeyUriError::Digits {
                            value: quote(&value),
                        })?;
                    result.digits = Some(digits);
                }
                "period" => {
                    let period = decimal(&value)
                        .filter(|period| (1..=MAX_KEY_URI_PERIOD).contains(period))
                        .ok_or_else(|| KeyUriError::Period {
                            value: quote(&value),
                        })?;
                    result.period = Some(period);
                }
                "counter" => {
                    let counter = decimal(&value).ok_or_else(|| KeyUriError::Counter {
                        value: quote(&value),
                    })?;
                    result.counter = Some(counter);
                }
                _ => result.extra.push((name.to_string(), value.to_string())),
            }
        }
        Ok(result)
    }
}

/// The rest of `uri` after a case-insensitive `otpauth://`.
fn strip_scheme(uri: &str) -> Result<&str, KeyUriError> {
    const PREFIX: &str = "otpauth://";
    match uri.get(..PREFIX.len()) {
        Some(prefix) if prefix.eq_ignore_ascii_case(PREFIX) => Ok(&uri[PREFIX.len()..]),
        _ => {
            // Name the scheme only when it plainly is one: a short lower-case word
            // (`https`, `otpauth` without `//`), or Google's export format. A secret
            // pasted by mistake (base32 is upper-case, and 16 or more characters)
            // must not end up in an error message.
            let scheme = uri
                .split_once(':')
                .map(|(scheme, _)| scheme)
                .filter(|scheme| {
                    scheme.eq_ignore_ascii_case("otpauth-migration")
                        || ((1..=8).contains(&scheme.len())
                            && scheme.starts_with(|character: char| character.is_ascii_lowercase())
                            && scheme.chars().all(|character| {
                                character.is_ascii_lowercase()
                                    || character.is_ascii_digit()
                                    || "+-.".contains(character)
                            }))
                });
            Err(KeyUriError::Scheme {
                scheme: scheme.map(str::to_owned),
            })
        }
    }
}

/// Percent-decodes one URI component, strictly: every `%` must start `%XX`. With
/// `plus_is_space`, a bare `+` is a space (query values, as HTML forms write them).
///
/// The result is zeroizing because one of the components is the secret; it is
/// allocated once at its final size, so no copy of it is left in freed memory.
fn decode_text(
    raw: &str,
    offset: usize,
    plus_is_space: bool,
    part: &str,
) -> Result<Zeroizing<String>, KeyUriError> {
    let bytes = raw.as_bytes();
    for (index, byte) in bytes.iter().enumerate() {
        if *byte == b'%' {
            let valid = bytes
                .get(index + 1..index + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit));
            if !valid {
                return Err(KeyUriError::PercentEncoding {
                    position: offset + index,
                });
            }
        }
    }
    let mut decoded = Zeroizing::new(Vec::with_capacity(bytes.len()));
    if plus_is_space {
        for (index, piece) in raw.split('+').enumerate() {
            if index > 0 {
                decoded.push(b' ');
            }
            decoded.extend(percent_decode(piece.as_bytes()));
        }
    } else {
        decoded.extend(percent_decode(bytes));
    }
    // `from_utf8` keeps the buffer; on failure it is handed back and zeroized.
    match String::from_utf8(core::mem::take(&mut *decoded)) {
        Ok(text) => Ok(Zeroizing::new(text)),
        Err(error) => {
            drop(Zeroizing::new(error.into_bytes()));
            Err(KeyUriError::Utf8 { part: quote(part) })
        }
    }
}

/// An unsigned decimal number: ASCII digits only (no sign, no spaces).
fn decimal(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Checks an issuer or account name: non-empty, no colon (unless `colon_allowed`), no
/// leading space, no control or invisible character.
fn check_name(part: &'static str, name: &str, colon_allowed: bool) -> Result<(), KeyUriError> {
    if let Some((position, character)) = name
        .chars()
        .enumerate()
        .find(|(_, character)| is_invisible_character(*character))
    {
        return Err(KeyUriError::InvalidCharacter {
            part,
            position,
            code_point: u32::from(character),
        });
    }
    let reason = if name.is_empty() {
        "is empty"
    } else if !colon_allowed && name.contains(':') {
        "contains a colon"
    } else if name.starts_with(' ') {
        "starts with a space"
    } else {
        return Ok(());
    };
    Err(KeyUriError::InvalidName { part, reason })
}

/// At most [`QUOTE_LIMIT`] characters of `text`, for an error message.
fn quote(text: &str) -> String {
    text.chars().take(QUOTE_LIMIT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_percent_decoding_names_the_byte() {
        assert_eq!(
            decode_text("ab%2", 10, false, "label").unwrap_err(),
            KeyUriError::PercentEncoding { position: 12 }
        );
        assert_eq!(
            decode_text("%zz", 0, false, "label").unwrap_err(),
            KeyUriError::PercentEncoding { position: 0 }
        );
        assert_eq!(
            decode_text("a+b%2B", 0, true, "x").unwrap().as_str(),
            "a b+"
        );
        assert_eq!(decode_text("a+b", 0, false, "x").unwrap().as_str(), "a+b");
        assert_eq!(
            decode_text("%FF", 0, false, "label").unwrap_err(),
            KeyUriError::Utf8 {
                part: "label".to_owned()
            }
        );
    }

    #[test]
    fn decimals_are_plain_digits() {
        assert_eq!(decimal("030"), Some(30));
        assert_eq!(decimal("+6"), None);
        assert_eq!(decimal(" 6"), None);
        assert_eq!(decimal(""), None);
        assert_eq!(decimal("18446744073709551616"), None);
    }

    #[test]
    fn scheme_is_named_only_when_plain() {
        assert_eq!(
            strip_scheme("https://example.com").unwrap_err(),
            KeyUriError::Scheme {
                scheme: Some("https".to_owned())
            }
        );
        assert_eq!(
            strip_scheme("JBSWY3DPEHPK3PXP").unwrap_err(),
            KeyUriError::Scheme { scheme: None }
        );
        assert_eq!(strip_scheme("OTPAUTH://totp/x").unwrap(), "totp/x");
    }
}
