//! RFC 6287 §5.1: the data input `OCRASuite | 00 | C | Q | P | S | T`, checked against
//! its suite and laid out on the stack.

use core::fmt;

use sha1::Digest;
use zeroize::Zeroize;

use crate::algorithm::Algorithm;
use crate::clock::UnixTime;
use crate::mac::{KeyedMac, MacOutput};
use crate::ocra::error::{DataInputPart, OcraError};
use crate::ocra::suite::{OcraSuite, QuestionFormat, QuestionKind};

/// Bytes of the question field `Q`, whatever the suite (RFC 6287 §5.1).
const QUESTION_FIELD_LEN: usize = 128;

/// The longest hash a PIN may be given as, SHA-512's.
const MAX_PIN_HASH_LEN: usize = 64;

/// The longest session information a suite may ask for (`S512`).
const MAX_SESSION_LEN: usize = 512;

/// Zeros that left-pad the session information to the suite's length.
static ZERO_PADDING: [u8; MAX_SESSION_LEN] = [0; MAX_SESSION_LEN];

/// 32-bit limbs enough for the number 128 decimal digits write (10^128 < 2^448), the
/// longest numeric question field: two concatenated `QN64` questions.
const NUMBER_LIMBS: usize = 14;

/// The PIN or password of a suite with `PH`.
///
/// # Security
///
/// `Debug` prints neither the PIN nor its hash. The hash of a PIN of a few digits is
/// as guessable as the PIN, so store it as carefully as a secret.
#[derive(Clone, Copy)]
// Deliberately exhaustive: a PIN is given typed or hashed (RFC 6287 §5.1); there is no
// third way.
#[allow(clippy::exhaustive_enums)]
pub enum Password<'a> {
    /// The PIN as typed; it is hashed with the suite's hash.
    Pin(&'a [u8]),
    /// The PIN already hashed with the suite's hash, as a bank stores it.
    Hash(&'a [u8]),
}

impl fmt::Debug for Password<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Password::Pin(_) => formatter.write_str("Pin([REDACTED])"),
            Password::Hash(_) => formatter.write_str("Hash([REDACTED])"),
        }
    }
}

/// The timestamp of a suite with `TG`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: RFC 6287 §5.1 fixes how a timestamp is given.
#[allow(clippy::exhaustive_enums)]
pub enum Timestamp {
    /// A point in time, turned into whole time steps of the suite since the Unix epoch.
    At(UnixTime),
    /// A number of time steps since the Unix epoch, as RFC 6287's test vectors give it.
    Steps(u64),
}

/// Everything of an OCRA data input but the challenge question: the parts the suite
/// may ask for (RFC 6287 §5.1).
///
/// Give exactly the parts the suite names: a missing part is
/// [`OcraError::Missing`], and a part the suite does not use is
/// [`OcraError::NotInSuite`] rather than silently ignored.
///
/// ```
/// use otpfob::ocra::{OcraInput, Password, Timestamp};
///
/// let input = OcraInput {
///     counter: Some(7),
///     password: Some(Password::Pin(b"1234")),
///     ..OcraInput::default()
/// };
/// assert_eq!(input.timestamp, None::<Timestamp>);
/// ```
#[derive(Debug, Clone, Copy, Default)]
// Deliberately exhaustive: RFC 6287 §5.1 fixes the data inputs.
#[allow(clippy::exhaustive_structs)]
pub struct OcraInput<'a> {
    /// `C`: the counter, for suites with `C`. When verifying, the first counter of
    /// the look-ahead window.
    pub counter: Option<u64>,
    /// `P`: the PIN or its hash, for suites with `PH`.
    pub password: Option<Password<'a>>,
    /// `S`: the session information, for suites with `Snnn`: at most `nnn` bytes,
    /// left-padded with zero bytes to `nnn` as the RFC's reference code does (so `ab`
    /// and `\0ab` give the same data input: use fixed-length session data where that
    /// matters).
    pub session: Option<&'a [u8]>,
    /// `T`: the timestamp, for suites with `TG`. When verifying, the centre of the
    /// time window.
    pub timestamp: Option<Timestamp>,
}

/// The challenge question or questions of one computation, in the order they are
/// hashed (RFC 6287 §7).
///
/// Each question must fit the suite's `QFxx` on its own; the two questions of mutual
/// challenge-response are concatenated into the one 128-byte question field, which
/// two questions of at most 64 characters always fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
// Deliberately exhaustive: RFC 6287 §5.1 fixes the question formats.
#[allow(clippy::exhaustive_enums)]
pub enum OcraQuestion<'a> {
    /// One question: one-way challenge-response (§7.1, `R = OCRA(K, [C] | Q | [P | S | T])`)
    /// and signatures (§7.3, the signature challenge as the question).
    Single(&'a str),
    /// Mutual challenge-response (§7.2), the server's response: the client's question
    /// then the server's, `RS = OCRA(K, [C] | QC | QS | [S | T])`.
    MutualServer {
        /// The question the client sent (QC).
        client: &'a str,
        /// The question the server sent back (QS).
        server: &'a str,
    },
    /// Mutual challenge-response (§7.2), the client's response: the server's question
    /// then the client's, `RC = OCRA(K, [C] | QS | QC | [P | S | T])`.
    MutualClient {
        /// The question the client sent (QC).
        client: &'a str,
        /// The question the server sent back (QS).
        server: &'a str,
    },
}

impl<'a> OcraQuestion<'a> {
    /// The questions in the order they are hashed.
    fn in_order(self) -> ([&'a str; 2], usize) {
        match self {
            OcraQuestion::Single(question) => ([question, ""], 1),
            OcraQuestion::MutualServer { client, server } => ([client, server], 2),
            OcraQuestion::MutualClient { client, server } => ([server, client], 2),
        }
    }
}

/// A data input checked against its suite, with the question field and PIN hash laid
/// out; only the counter and time step are left to vary, so a verification window
/// lays the rest out once.
pub(crate) struct DataInput<'a> {
    suite: &'a OcraSuite,
    question: [u8; QUESTION_FIELD_LEN],
    pin_hash: [u8; MAX_PIN_HASH_LEN],
    pin_hash_len: usize,
    session: &'a [u8],
    session_padding: usize,
    pub(crate) counter: Option<u64>,
    pub(crate) time_step: Option<u64>,
}

impl Drop for DataInput<'_> {
    fn drop(&mut self) {
        self.pin_hash.zeroize();
    }
}

impl<'a> DataInput<'a> {
    /// Checks every part against `suite` and lays out the fixed-size fields.
    pub(crate) fn new(
        suite: &'a OcraSuite,
        question: OcraQuestion<'_>,
        input: &OcraInput<'a>,
    ) -> Result<Self, OcraError> {
        let counter = required(suite.uses_counter(), input.counter, DataInputPart::Counter)?;
        let password = required(
            suite.pin_hash().is_some(),
            input.password,
            DataInputPart::Password,
        )?;
        let session = required(
            suite.session_length().is_some(),
            input.session,
            DataInputPart::Session,
        )?;
        let timestamp = required(
            suite.time_step().is_some(),
            input.timestamp,
            DataInputPart::Timestamp,
        )?;

        let mut data = Self {
            suite,
            question: [0; QUESTION_FIELD_LEN],
            pin_hash: [0; MAX_PIN_HASH_LEN],
            pin_hash_len: 0,
            session: &[],
            session_padding: 0,
            counter,
            time_step: None,
        };
        let (questions, count) = question.in_order();
        let questions = questions.get(..count).unwrap_or(&[]);
        encode_questions(suite.question(), questions, &mut data.question)?;
        if let (Some(hash), Some(password)) = (suite.pin_hash(), password) {
            data.pin_hash_len = hash_password(hash, password, &mut data.pin_hash)?;
        }
        if let (Some(length), Some(session)) = (suite.session_length(), session) {
            let length = usize::from(length);
            if session.len() > length {
                return Err(OcraError::SessionTooLong {
                    length: session.len(),
                    maximum: length as u16,
                });
            }
            data.session = session;
            data.session_padding = length - session.len();
        }
        if let (Some(step), Some(timestamp)) = (suite.time_step(), timestamp) {
            data.time_step = Some(match timestamp {
                Timestamp::Steps(steps) => steps,
                Timestamp::At(time) => {
                    let seconds = time.as_secs();
                    let seconds = u64::try_from(seconds)
                        .map_err(|_| OcraError::TimeBeforeEpoch { time: seconds })?;
                    seconds / step.seconds()
                }
            });
        }
        Ok(data)
    }

    /// HMAC of the data input with this counter and time step in place of the ones
    /// given (each `None` exactly when the suite has no such part).
    pub(crate) fn mac(
        &self,
        key: &KeyedMac,
        counter: Option<u64>,
        time_step: Option<u64>,
    ) -> MacOutput {
        let counter = counter.map(u64::to_be_bytes);
        let time_step = time_step.map(u64::to_be_bytes);
        key.mac(&[
            self.suite.as_bytes(),
            &[0],
            counter.as_ref().map_or(&[], |bytes| bytes.as_slice()),
            &self.question,
            self.pin_hash.get(..self.pin_hash_len).unwrap_or(&[]),
            ZERO_PADDING.get(..self.session_padding).unwrap_or(&[]),
            self.session,
            time_step.as_ref().map_or(&[], |bytes| bytes.as_slice()),
        ])
    }
}

/// `value` if the suite uses the part and it was given; an error if exactly one of
/// the two holds.
fn required<T>(
    in_suite: bool,
    value: Option<T>,
    part: DataInputPart,
) -> Result<Option<T>, OcraError> {
    match (in_suite, value) {
        (true, None) => Err(OcraError::Missing { part }),
        (false, Some(_)) => Err(OcraError::NotInSuite { part }),
        (_, value) => Ok(value),
    }
}

/// The PIN's hash under `hash`, as a bank stores it for a suite with `PH`: the PIN
/// hashed, or a given hash checked for length.
pub(crate) fn password_hash(
    hash: Algorithm,
    password: Password<'_>,
) -> Result<zeroize::Zeroizing<Vec<u8>>, OcraError> {
    let mut output = zeroize::Zeroizing::new([0u8; MAX_PIN_HASH_LEN]);
    let length = hash_password(hash, password, &mut output)?;
    Ok(zeroize::Zeroizing::new(
        output.get(..length).unwrap_or(&[]).to_vec(),
    ))
}

/// Writes the PIN's hash into `output` and returns its length.
fn hash_password(
    hash: Algorithm,
    password: Password<'_>,
    output: &mut [u8; MAX_PIN_HASH_LEN],
) -> Result<usize, OcraError> {
    let expected = hash.output_len();
    let target = output.get_mut(..expected).unwrap_or(&mut []);
    match password {
        Password::Pin([]) => return Err(OcraError::EmptyPin),
        Password::Pin(pin) => match hash {
            Algorithm::Sha1 => target.copy_from_slice(&sha1::Sha1::digest(pin)),
            Algorithm::Sha256 => target.copy_from_slice(&sha2::Sha256::digest(pin)),
            Algorithm::Sha512 => target.copy_from_slice(&sha2::Sha512::digest(pin)),
        },
        Password::Hash(given) if given.len() == expected => target.copy_from_slice(given),
        Password::Hash(given) => {
            return Err(OcraError::PasswordHashLength {
                expected,
                found: given.len(),
            });
        }
    }
    Ok(expected)
}

/// Checks each question against `format` and writes their concatenation into the
/// 128-byte question field, left-justified and zero-padded (RFC 6287 §5.1).
///
/// Alphanumeric questions are their ASCII bytes; hexadecimal ones the nibbles their
/// digits write; numeric ones, as in the RFC's reference code (Appendix A and the
/// test-vector program), the hexadecimal digits of the number the decimal digits
/// write, without leading zeros (`12345678` is `BC614E`, so `00000001` and `1` are
/// the same question).
fn encode_questions(
    format: QuestionFormat,
    questions: &[&str],
    field: &mut [u8; QUESTION_FIELD_LEN],
) -> Result<(), OcraError> {
    for question in questions {
        check_question(format, question)?;
    }
    let characters = questions.iter().flat_map(|question| question.bytes());
    match format.kind() {
        QuestionKind::Alphanumeric => {
            for (slot, byte) in field.iter_mut().zip(characters) {
                *slot = byte;
            }
        }
        QuestionKind::Hexadecimal => {
            write_nibbles(field, characters.map(hex_value));
        }
        QuestionKind::Numeric => {
            let (limbs, used) = decimal_to_limbs(characters);
            let nibbles = limbs
                .iter()
                .take(used)
                .rev()
                .flat_map(|limb| {
                    (0..8)
                        .rev()
                        .map(move |index| ((limb >> (4 * index)) & 0xf) as u8)
                })
                .skip_while(|nibble| *nibble == 0);
            write_nibbles(field, nibbles);
        }
    }
    Ok(())
}

pub(crate) fn check_question(format: QuestionFormat, question: &str) -> Result<(), OcraError> {
    if question.is_empty() {
        return Err(OcraError::EmptyQuestion);
    }
    let length = question.chars().count();
    if length > usize::from(format.max_length()) {
        return Err(OcraError::QuestionTooLong {
            length,
            maximum: format.max_length(),
        });
    }
    match question
        .chars()
        .position(|character| !format.kind().allows(character))
    {
        Some(position) => Err(OcraError::QuestionCharacter {
            position,
            format: format.kind(),
        }),
        None => Ok(()),
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        b'A'..=b'F' => digit - b'A' + 10,
        _ => 0,
    }
}

/// Writes nibbles into `field` from its first byte, high nibble first.
fn write_nibbles(field: &mut [u8], nibbles: impl Iterator<Item = u8>) {
    for (index, nibble) in nibbles.enumerate() {
        if let Some(byte) = field.get_mut(index / 2) {
            *byte |= if index % 2 == 0 { nibble << 4 } else { nibble };
        }
    }
}

/// The number that the decimal digits write, as little-endian 32-bit limbs, and how
/// many limbs are in use.
fn decimal_to_limbs(digits: impl Iterator<Item = u8>) -> ([u32; NUMBER_LIMBS], usize) {
    let mut limbs = [0u32; NUMBER_LIMBS];
    let mut used = 0;
    for digit in digits {
        let mut carry = u64::from(digit.wrapping_sub(b'0'));
        for limb in limbs.iter_mut().take(used) {
            let value = u64::from(*limb) * 10 + carry;
            *limb = value as u32;
            carry = value >> 32;
        }
        if carry != 0
            && let Some(limb) = limbs.get_mut(used)
        {
            *limb = carry as u32;
            used += 1;
        }
    }
    (limbs, used)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(format: &str, questions: &[&str]) -> Result<[u8; QUESTION_FIELD_LEN], OcraError> {
        let suite: OcraSuite = format!("OCRA-1:HOTP-SHA1-6:{format}").parse().unwrap();
        let mut field = [0u8; QUESTION_FIELD_LEN];
        encode_questions(suite.question(), questions, &mut field)?;
        Ok(field)
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|byte| format!("{byte:02X}")).collect()
    }

    #[test]
    fn numeric_questions_are_their_number_in_hex_left_justified() {
        let encoded = field("QN08", &["12345678"]).unwrap();
        assert_eq!(hex(&encoded[..4]), "BC614E00");
        assert!(encoded[3..].iter().all(|byte| *byte == 0));
        // An odd number of hex digits is left-justified by the nibble.
        let encoded = field("QN08", &["22222222"]).unwrap();
        assert_eq!(hex(&encoded[..4]), "153158E0");
        assert_eq!(field("QN08", &["00000000"]).unwrap(), [0; 128]);
        assert_eq!(field("QN08", &["00000001"]), field("QN08", &["1"]));
    }

    #[test]
    fn the_longest_numeric_question_field_fits() {
        let nines = "9".repeat(64);
        let encoded = field("QN64", &[&nines, &nines]).unwrap();
        // 10^128 - 1 has 107 hex digits, left-justified by the nibble.
        let expected = concat!(
            "24EE91F2603A6337F19BCCDB0DAC404DC08D3CFF5EC2374E42F0F1",
            "538FD03DF99092E953E00FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF0",
        );
        assert_eq!(hex(&encoded[..54]), expected);
        assert!(encoded[54..].iter().all(|byte| *byte == 0));
    }

    #[test]
    fn hex_and_alphanumeric_questions() {
        let encoded = field("QH08", &["aBc"]).unwrap();
        assert_eq!(hex(&encoded[..3]), "ABC000");
        let encoded = field("QA08", &["CLI1", "SRV2"]).unwrap();
        assert_eq!(&encoded[..8], b"CLI1SRV2");
        assert_eq!(encoded[8], 0);
    }

    #[test]
    fn bad_questions_are_refused() {
        assert_eq!(field("QN08", &[""]), Err(OcraError::EmptyQuestion));
        assert_eq!(
            field("QN08", &["123456789"]),
            Err(OcraError::QuestionTooLong {
                length: 9,
                maximum: 8
            })
        );
        assert_eq!(
            field("QN08", &["1234a"]),
            Err(OcraError::QuestionCharacter {
                position: 4,
                format: QuestionKind::Numeric
            })
        );
        assert_eq!(
            field("QH08", &["12g"]),
            Err(OcraError::QuestionCharacter {
                position: 2,
                format: QuestionKind::Hexadecimal
            })
        );
        assert_eq!(
            field("QA08", &["SIG-1"]),
            Err(OcraError::QuestionCharacter {
                position: 3,
                format: QuestionKind::Alphanumeric
            })
        );
        assert_eq!(
            field("QA08", &["ÄÖÜ"]),
            Err(OcraError::QuestionCharacter {
                position: 0,
                format: QuestionKind::Alphanumeric
            })
        );
        // In mutual mode each question is checked on its own.
        assert_eq!(
            field("QA04", &["ABCD", "ABCDE"]),
            Err(OcraError::QuestionTooLong {
                length: 5,
                maximum: 4
            })
        );
    }

    #[test]
    fn password_hashes_are_the_suite_hash_of_the_pin() {
        // SHA-1 of "1234", RFC 6287 Appendix C.
        let hash = password_hash(Algorithm::Sha1, Password::Pin(b"1234")).unwrap();
        assert_eq!(hex(&hash), "7110EDA4D09E062AA5E4A390B0A572AC0D2C0220");
        let given = password_hash(Algorithm::Sha1, Password::Hash(&hash)).unwrap();
        assert_eq!(*given, *hash);
        assert_eq!(
            password_hash(Algorithm::Sha256, Password::Hash(&hash)).unwrap_err(),
            OcraError::PasswordHashLength {
                expected: 32,
                found: 20
            }
        );
        assert_eq!(
            password_hash(Algorithm::Sha512, Password::Pin(b"")).unwrap_err(),
            OcraError::EmptyPin
        );
        assert_eq!(
            password_hash(Algorithm::Sha512, Password::Pin(b"1"))
                .unwrap()
                .len(),
            64
        );
    }

    #[test]
    fn password_debug_is_redacted() {
        assert_eq!(format!("{:?}", Password::Pin(b"1234")), "Pin([REDACTED])");
        assert_eq!(format!("{:?}", Password::Hash(&[1, 2])), "Hash([REDACTED])");
    }
}
