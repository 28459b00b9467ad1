//! RFC 6287 §5 and §7: OCRA responses for one-way and mutual challenge-response and
//! signatures, and their verification over a counter or time window.

use core::fmt;

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::mac::KeyedMac;
use crate::ocra::error::{OcraError, OcraVerifyError};
use crate::ocra::input::{DataInput, OcraInput, OcraQuestion};
use crate::ocra::response::OcraResponse;
use crate::ocra::suite::OcraSuite;
use crate::secret::Secret;
use crate::totp::{StepMatch, Window, signed_difference};

/// An OCRA token's computation: one secret under one suite.
///
/// The keyed HMAC state is computed once in [`Ocra::new`]. A response is the HMAC of
/// the data input `suite | 00 | C | Q | P | S | T` (RFC 6287 §5.1), laid out on the
/// stack and handed to the HMAC as a list of slices: computing and verifying never
/// allocate.
///
/// # Security
///
/// `Debug` prints the suite only. The PIN hash laid out for a computation is zeroized
/// when the computation ends.
///
/// ```
/// use otpfob::{Secret, ocra::{Ocra, OcraInput, Password}};
///
/// // RFC 6287 Appendix C.1: OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1, counter 1, PIN 1234.
/// let secret = Secret::from_bytes(b"12345678901234567890123456789012")?;
/// let ocra = Ocra::new(&secret, "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1".parse()?);
/// let input = OcraInput {
///     counter: Some(1),
///     password: Some(Password::Pin(b"1234")),
///     ..OcraInput::default()
/// };
/// assert_eq!(ocra.one_way("12345678", &input)?.to_string(), "86775851");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Ocra {
    mac: KeyedMac,
    suite: OcraSuite,
}

impl fmt::Debug for Ocra {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Ocra")
            .field("suite", &self.suite)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// How far [`Ocra::verify`] searches: counters after the given one, for suites with
/// `C`, and time steps around the given timestamp, for suites with `T`. A part the
/// suite does not use is not searched, whatever its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
// Deliberately exhaustive: the two searches RFC 6287 allows, a counter look-ahead and a
// time window.
#[allow(clippy::exhaustive_structs)]
pub struct OcraWindow {
    /// Counters after [`OcraInput::counter`] that are searched (RFC 4226 §7.4).
    pub look_ahead: u64,
    /// Time steps before and after [`OcraInput::timestamp`] that are searched.
    pub time: Window,
}

/// Where a response matched: the counter and the time step, each for suites that use
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[must_use]
// Deliberately exhaustive: a match is the counter and the time step, the two moving inputs
// RFC 6287 has.
#[allow(clippy::exhaustive_structs)]
pub struct OcraMatch {
    /// The matching counter, for suites with `C`; a validator stores the next one.
    pub counter: Option<u64>,
    /// The matching time step and its offset from the given one, for suites with `T`.
    pub time_step: Option<StepMatch>,
}

impl Ocra {
    /// The computation for `secret` under `suite`.
    #[must_use]
    pub fn new(secret: &Secret, suite: OcraSuite) -> Self {
        Self {
            mac: KeyedMac::new(suite.algorithm(), secret.expose_bytes()),
            suite,
        }
    }

    /// The suite.
    #[must_use]
    pub fn suite(&self) -> &OcraSuite {
        &self.suite
    }

    /// The response to `question` with the other parts of the data input from
    /// `input`: the general form of every mode below.
    ///
    /// # Errors
    ///
    /// An [`OcraError`] if the question or a part of `input` does not fit the suite:
    /// [`OcraError::Missing`], [`OcraError::NotInSuite`],
    /// [`OcraError::EmptyQuestion`], [`OcraError::QuestionTooLong`],
    /// [`OcraError::QuestionCharacter`], [`OcraError::EmptyPin`],
    /// [`OcraError::PasswordHashLength`], [`OcraError::SessionTooLong`],
    /// [`OcraError::TimeBeforeEpoch`].
    pub fn respond(
        &self,
        question: OcraQuestion<'_>,
        input: &OcraInput<'_>,
    ) -> Result<OcraResponse, OcraError> {
        let data = DataInput::new(&self.suite, question, input)?;
        let mac = data.mac(&self.mac, data.counter, data.time_step);
        Ok(OcraResponse::from_mac(&self.suite, &mac))
    }

    /// One-way challenge-response (RFC 6287 §7.1): the response to the server's
    /// question.
    ///
    /// # Errors
    ///
    /// As [`Ocra::respond`].
    pub fn one_way(
        &self,
        question: &str,
        input: &OcraInput<'_>,
    ) -> Result<OcraResponse, OcraError> {
        self.respond(OcraQuestion::Single(question), input)
    }

    /// A plain signature (RFC 6287 §7.3): the response to a signature challenge, such
    /// as one [`Transaction::signature_challenge`](crate::ocra::Transaction::signature_challenge)
    /// derives from a transfer. The computation is the one-way one; the name says
    /// what the response stands for.
    ///
    /// # Errors
    ///
    /// As [`Ocra::respond`].
    pub fn sign(&self, challenge: &str, input: &OcraInput<'_>) -> Result<OcraResponse, OcraError> {
        self.respond(OcraQuestion::Single(challenge), input)
    }

    /// Mutual challenge-response (RFC 6287 §7.2), the server's response, which the
    /// client checks: the client's question then the server's are hashed.
    ///
    /// # Errors
    ///
    /// As [`Ocra::respond`], each question checked on its own.
    pub fn server_response(
        &self,
        client_question: &str,
        server_question: &str,
        input: &OcraInput<'_>,
    ) -> Result<OcraResponse, OcraError> {
        self.respond(
            OcraQuestion::MutualServer {
                client: client_question,
                server: server_question,
            },
            input,
        )
    }

    /// Mutual challenge-response (RFC 6287 §7.2), the client's response, which the
    /// server checks: the server's question then the client's are hashed.
    ///
    /// # Errors
    ///
    /// As [`Ocra::respond`], each question checked on its own.
    pub fn client_response(
        &self,
        client_question: &str,
        server_question: &str,
        input: &OcraInput<'_>,
    ) -> Result<OcraResponse, OcraError> {
        self.respond(
            OcraQuestion::MutualClient {
                client: client_question,
                server: server_question,
            },
            input,
        )
    }

    /// Looks for `response` at the counters `input.counter ..= input.counter +
    /// window.look_ahead` (suites with `C`) and the time steps of `window.time`
    /// around `input.timestamp` (suites with `T`), and returns the earliest match,
    /// counter first.
    ///
    /// Every candidate is computed and compared in constant time, so the time taken
    /// says nothing about where, or whether, the response matched. Time steps below 0
    /// are not searched. This is the bare search: single-use challenges, moving the
    /// counter and throttling are the validator's.
    ///
    /// # Errors
    ///
    /// [`OcraVerifyError::NoMatch`]; [`OcraError::ResponseDigits`] for a response of
    /// another length than the suite's; [`OcraError::CounterOverflow`] for a window
    /// past `u64::MAX`; and every error of [`Ocra::respond`].
    ///
    /// ```
    /// use otpfob::{Secret, UnixTime, Window, ocra::{Ocra, OcraInput, OcraWindow, Timestamp}};
    ///
    /// let secret = Secret::from_bytes(b"12345678901234567890")?;
    /// let ocra = Ocra::new(&secret, "OCRA-1:HOTP-SHA1-6:QN08-T1M".parse()?);
    /// let at = |seconds| OcraInput {
    ///     timestamp: Some(Timestamp::At(UnixTime::from_secs(seconds))),
    ///     ..OcraInput::default()
    /// };
    /// let shown = ocra.one_way("12345678", &at(1_000_000))?;
    /// // Typed in and checked 70 seconds later, one minute step on.
    /// let window = OcraWindow { time: Window { back: 1, forward: 0 }, ..OcraWindow::default() };
    /// let found = ocra.verify(&shown, "12345678".into(), &at(1_000_070), window)?;
    /// assert_eq!(found.time_step.map(|step| step.offset), Some(-1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify(
        &self,
        response: &OcraResponse,
        question: OcraQuestion<'_>,
        input: &OcraInput<'_>,
        window: OcraWindow,
    ) -> Result<OcraMatch, OcraVerifyError> {
        if response.digits() != self.suite.truncation() {
            return Err(OcraError::ResponseDigits {
                expected: self.suite.truncation(),
                found: response.digits(),
            }
            .into());
        }
        let data = DataInput::new(&self.suite, question, input)?;
        let counters = match data.counter {
            Some(first) => {
                let last =
                    first
                        .checked_add(window.look_ahead)
                        .ok_or(OcraError::CounterOverflow {
                            counter: first,
                            by: window.look_ahead,
                        })?;
                first..=last
            }
            None => 0..=0,
        };
        let steps = match data.time_step {
            Some(centre) => {
                centre.saturating_sub(window.time.back)..=centre.saturating_add(window.time.forward)
            }
            None => 0..=0,
        };
        let mut found = Choice::from(0);
        let mut matched_counter = 0u64;
        let mut matched_step = 0u64;
        for counter in counters {
            for step in steps.clone() {
                let mac = data.mac(
                    &self.mac,
                    data.counter.map(|_| counter),
                    data.time_step.map(|_| step),
                );
                let equal = OcraResponse::from_mac(&self.suite, &mac).ct_eq(response);
                let first = equal & !found;
                matched_counter.conditional_assign(&counter, first);
                matched_step.conditional_assign(&step, first);
                found |= equal;
            }
        }
        if !bool::from(found) {
            return Err(OcraVerifyError::NoMatch);
        }
        Ok(OcraMatch {
            counter: data.counter.map(|_| matched_counter),
            time_step: data.time_step.map(|centre| StepMatch {
                step: matched_step,
                offset: signed_difference(matched_step, centre),
            }),
        })
    }
}

impl<'a> From<&'a str> for OcraQuestion<'a> {
    /// A single question: one-way challenge-response or a signature challenge.
    fn from(question: &'a str) -> Self {
        OcraQuestion::Single(question)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::UnixTime;
    use crate::ocra::input::{Password, Timestamp};

    fn ocra(suite: &str) -> Ocra {
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        Ocra::new(&secret, suite.parse().unwrap())
    }

    #[test]
    fn missing_and_extra_parts_are_refused() {
        use crate::ocra::error::DataInputPart;
        let counter = ocra("OCRA-1:HOTP-SHA1-6:C-QN08");
        assert_eq!(
            counter.one_way("1", &OcraInput::default()).unwrap_err(),
            OcraError::Missing {
                part: DataInputPart::Counter
            }
        );
        let plain = ocra("OCRA-1:HOTP-SHA1-6:QN08");
        let cases = [
            (
                OcraInput {
                    counter: Some(1),
                    ..OcraInput::default()
                },
                DataInputPart::Counter,
            ),
            (
                OcraInput {
                    password: Some(Password::Pin(b"1")),
                    ..OcraInput::default()
                },
                DataInputPart::Password,
            ),
            (
                OcraInput {
                    session: Some(b""),
                    ..OcraInput::default()
                },
                DataInputPart::Session,
            ),
            (
                OcraInput {
                    timestamp: Some(Timestamp::Steps(1)),
                    ..OcraInput::default()
                },
                DataInputPart::Timestamp,
            ),
        ];
        for (input, part) in cases {
            assert_eq!(
                plain.one_way("1", &input).unwrap_err(),
                OcraError::NotInSuite { part }
            );
        }
        let everything = ocra("OCRA-1:HOTP-SHA1-6:QN08-PSHA1-S064-T1M");
        let full = OcraInput {
            password: Some(Password::Pin(b"1234")),
            session: Some(b"session"),
            timestamp: Some(Timestamp::Steps(5)),
            ..OcraInput::default()
        };
        assert!(everything.one_way("1", &full).is_ok());
        for (input, part) in [
            (
                OcraInput {
                    password: None,
                    ..full
                },
                DataInputPart::Password,
            ),
            (
                OcraInput {
                    session: None,
                    ..full
                },
                DataInputPart::Session,
            ),
            (
                OcraInput {
                    timestamp: None,
                    ..full
                },
                DataInputPart::Timestamp,
            ),
        ] {
            assert_eq!(
                everything.one_way("1", &input).unwrap_err(),
                OcraError::Missing { part }
            );
        }
    }

    #[test]
    fn pins_sessions_and_times_are_checked() {
        let suite = ocra("OCRA-1:HOTP-SHA1-6:QN08-PSHA256-S004-T30S");
        let good = OcraInput {
            password: Some(Password::Pin(b"1234")),
            session: Some(b"abcd"),
            timestamp: Some(Timestamp::At(UnixTime::from_secs(60))),
            ..OcraInput::default()
        };
        let response = suite.one_way("1", &good).unwrap();
        // The PIN hashed by the caller gives the same response; a hash of the wrong
        // length is refused.
        let hash = <sha2::Sha256 as sha1::Digest>::digest(b"1234");
        let hashed = OcraInput {
            password: Some(Password::Hash(&hash)),
            ..good
        };
        assert_eq!(suite.one_way("1", &hashed).unwrap(), response);
        let short = OcraInput {
            password: Some(Password::Hash(&hash[..20])),
            ..good
        };
        assert_eq!(
            suite.one_way("1", &short).unwrap_err(),
            OcraError::PasswordHashLength {
                expected: 32,
                found: 20
            }
        );
        let empty = OcraInput {
            password: Some(Password::Pin(b"")),
            ..good
        };
        assert_eq!(suite.one_way("1", &empty).unwrap_err(), OcraError::EmptyPin);
        let long = OcraInput {
            session: Some(b"abcde"),
            ..good
        };
        assert_eq!(
            suite.one_way("1", &long).unwrap_err(),
            OcraError::SessionTooLong {
                length: 5,
                maximum: 4
            }
        );
        // Session information is left-padded with zeros, as in the reference code.
        let short_session = OcraInput {
            session: Some(b"bcd"),
            ..good
        };
        let padded_session = OcraInput {
            session: Some(b"\0bcd"),
            ..good
        };
        assert_eq!(
            suite.one_way("1", &short_session).unwrap(),
            suite.one_way("1", &padded_session).unwrap()
        );
        // 60 s is step 2 of 30 s; 89 s still is.
        let steps = OcraInput {
            timestamp: Some(Timestamp::Steps(2)),
            ..good
        };
        assert_eq!(suite.one_way("1", &steps).unwrap(), response);
        let later = OcraInput {
            timestamp: Some(Timestamp::At(UnixTime::from_secs(89))),
            ..good
        };
        assert_eq!(suite.one_way("1", &later).unwrap(), response);
        let before = OcraInput {
            timestamp: Some(Timestamp::At(UnixTime::from_secs(-1))),
            ..good
        };
        assert_eq!(
            suite.one_way("1", &before).unwrap_err(),
            OcraError::TimeBeforeEpoch { time: -1 }
        );
    }

    #[test]
    fn verify_searches_counters_and_steps() {
        let suite = ocra("OCRA-1:HOTP-SHA1-6:C-QN08-T1M");
        let input = |counter, steps| OcraInput {
            counter: Some(counter),
            timestamp: Some(Timestamp::Steps(steps)),
            ..OcraInput::default()
        };
        let response = suite.one_way("42", &input(7, 100)).unwrap();
        let window = OcraWindow {
            look_ahead: 5,
            time: Window::symmetric(1),
        };
        assert_eq!(
            suite.verify(&response, "42".into(), &input(3, 101), window),
            Ok(OcraMatch {
                counter: Some(7),
                time_step: Some(StepMatch {
                    step: 100,
                    offset: -1
                })
            })
        );
        assert_eq!(
            suite.verify(&response, "42".into(), &input(8, 100), window),
            Err(OcraVerifyError::NoMatch)
        );
        assert_eq!(
            suite.verify(&response, "42".into(), &input(7, 102), window),
            Err(OcraVerifyError::NoMatch)
        );
        assert_eq!(
            suite.verify(&response, "43".into(), &input(7, 100), window),
            Err(OcraVerifyError::NoMatch)
        );
        assert_eq!(
            suite.verify(&response, "42".into(), &input(u64::MAX, 100), window),
            Err(OcraError::CounterOverflow {
                counter: u64::MAX,
                by: 5
            }
            .into())
        );
        let eight_digits = OcraResponse::Code(crate::code::Code::new(1, 8).unwrap());
        assert_eq!(
            suite.verify(&eight_digits, "42".into(), &input(7, 100), window),
            Err(OcraError::ResponseDigits {
                expected: 6,
                found: 8
            }
            .into())
        );
    }

    #[test]
    fn verify_without_counter_or_time_checks_the_one_input() {
        let suite = ocra("OCRA-1:HOTP-SHA1-0:QA08");
        let response = suite.sign("SIG10000", &OcraInput::default()).unwrap();
        assert_eq!(response.digits(), 0);
        assert_eq!(response.to_string().len(), 40);
        let window = OcraWindow {
            look_ahead: 3,
            time: Window::symmetric(2),
        };
        assert_eq!(
            suite.verify(&response, "SIG10000".into(), &OcraInput::default(), window),
            Ok(OcraMatch {
                counter: None,
                time_step: None
            })
        );
        assert_eq!(
            suite.verify(&response, "SIG10001".into(), &OcraInput::default(), window),
            Err(OcraVerifyError::NoMatch)
        );
    }

    #[test]
    fn mutual_responses_differ_by_side() {
        let suite = ocra("OCRA-1:HOTP-SHA1-8:QA08");
        let input = OcraInput::default();
        let server = suite
            .server_response("CLIENT01", "SERVER01", &input)
            .unwrap();
        let client = suite
            .client_response("CLIENT01", "SERVER01", &input)
            .unwrap();
        assert_ne!(server, client);
        assert_eq!(
            suite.one_way("CLIENT01", &input).ok(),
            suite.respond(OcraQuestion::Single("CLIENT01"), &input).ok()
        );
    }

    #[test]
    fn debug_redacts_the_key() {
        assert_eq!(
            format!("{:?}", ocra("OCRA-1:HOTP-SHA1-6:QN08")),
            "Ocra { suite: OcraSuite(\"OCRA-1:HOTP-SHA1-6:QN08\"), key: \"[REDACTED]\" }"
        );
    }
}
