//! A keypad fob's RFC 6287 OCRA responder: one-way challenge-response and transaction
//! signatures from the fob's own secret, OCRA counter, clock and PIN.

use crate::code::Code;
use crate::device::error::DeviceError;
use crate::ocra::error::OcraError;
use crate::ocra::{Ocra, OcraInput, OcraResponse, OcraSuite, Password, Timestamp};
use crate::secret::Secret;

use super::challenge::{ChallengeContext, ChallengeResponder};

/// The OCRA computation inside a keypad fob.
///
/// - suites with a counter (`C`) use the fob's OCRA counter and move it on after every
///   response, used or not, as an event fob's button does;
/// - suites with a time step (`T`) use the fob's own drifting clock;
/// - suites with a PIN (`P`) hash the PIN that opened the gate for this operation.
#[derive(Debug)]
pub(crate) struct OcraResponder {
    ocra: Ocra,
    /// The counter of the next response, for suites with `C`.
    counter: Option<u64>,
}

impl OcraResponder {
    /// The responder for `suite` keyed with the fob's `secret`, whose first response
    /// uses `counter` (suites with `C`).
    ///
    /// A fob shows digits and has only a keypad and a PIN gate, so it refuses a suite
    /// without truncation, one with session information, and one with a PIN on a fob
    /// without a PIN gate.
    pub(crate) fn new(
        secret: &Secret,
        suite: OcraSuite,
        counter: u64,
        has_pin_gate: bool,
    ) -> Result<Self, DeviceError> {
        let unsupported = |reason| DeviceError::UnsupportedSuite {
            suite: suite.to_string(),
            reason,
        };
        if suite.response_digits().is_none() {
            return Err(unsupported(
                "a fob's display shows 4 to 10 digits, not a full HMAC (truncation 0)",
            ));
        }
        if suite.session_length().is_some() {
            return Err(unsupported(
                "a keypad has no session information (S) to hash",
            ));
        }
        if suite.pin_hash().is_some() && !has_pin_gate {
            return Err(unsupported(
                "a suite with a PIN (P) needs a fob with a PIN gate",
            ));
        }
        Ok(Self {
            ocra: Ocra::new(secret, suite),
            counter: suite.uses_counter().then_some(counter),
        })
    }

    pub(crate) fn suite(&self) -> &OcraSuite {
        self.ocra.suite()
    }

    /// The counter the next response uses, for suites with `C`.
    pub(crate) fn counter(&self) -> Option<u64> {
        self.counter
    }
}

impl ChallengeResponder for OcraResponder {
    fn respond(
        &mut self,
        challenge: &str,
        context: &ChallengeContext<'_>,
    ) -> Result<Code, DeviceError> {
        // Refuse rather than wrap: a counter that wrapped would repeat responses.
        let next_counter = match self.counter {
            Some(counter) => Some(
                counter
                    .checked_add(1)
                    .ok_or(OcraError::CounterOverflow { counter, by: 1 })?,
            ),
            None => None,
        };
        let suite = *self.ocra.suite();
        let input = OcraInput {
            counter: self.counter,
            password: suite
                .pin_hash()
                .and_then(|_| context.pin.map(Password::Pin)),
            session: None,
            timestamp: suite
                .time_step()
                .map(|_| Timestamp::At(context.device_time)),
        };
        match self.ocra.one_way(challenge, &input)? {
            OcraResponse::Code(code) => {
                // Only a response actually computed moves the counter: a challenge the
                // keypad refused showed nothing.
                self.counter = next_counter;
                Ok(code)
            }
            OcraResponse::Full(_) => Err(DeviceError::UnsupportedSuite {
                suite: suite.to_string(),
                reason: "a fob's display shows 4 to 10 digits, not a full HMAC (truncation 0)",
            }),
        }
    }
}

/// What answers challenges typed on a fob's keypad.
#[derive(Debug)]
pub(crate) enum Keypad {
    /// The built-in RFC 6287 responder.
    Ocra(Box<OcraResponder>),
    /// A responder plugged in by the caller.
    Custom(Box<dyn ChallengeResponder>),
}

impl Keypad {
    pub(crate) fn responder(&mut self) -> &mut dyn ChallengeResponder {
        match self {
            Keypad::Ocra(responder) => responder.as_mut(),
            Keypad::Custom(responder) => responder.as_mut(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::UnixTime;
    use crate::ocra::error::DataInputPart;

    fn secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890123456789012").unwrap()
    }

    fn suite(text: &str) -> OcraSuite {
        text.parse().unwrap()
    }

    #[test]
    fn counter_suites_move_on_after_each_response() {
        // RFC 6287 Appendix C.1, OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1, PIN 1234.
        let mut responder = OcraResponder::new(
            &secret(),
            suite("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1"),
            0,
            true,
        )
        .unwrap();
        let context = ChallengeContext::with_pin(UnixTime::EPOCH, b"1234");
        let shown: Vec<String> = (0..3)
            .map(|_| responder.respond("12345678", &context).unwrap().to_string())
            .collect();
        assert_eq!(shown, ["65347737", "86775851", "78192410"]);
        assert_eq!(responder.counter(), Some(3));
        // A refused challenge shows nothing and does not move the counter.
        assert!(matches!(
            responder.respond("1234567x", &context),
            Err(DeviceError::Ocra(OcraError::QuestionCharacter { .. }))
        ));
        assert_eq!(responder.counter(), Some(3));
        // Without the PIN, a P suite cannot answer.
        assert_eq!(
            responder.respond("12345678", &ChallengeContext::new(UnixTime::EPOCH)),
            Err(DeviceError::Ocra(OcraError::Missing {
                part: DataInputPart::Password
            }))
        );
    }

    #[test]
    fn the_counter_stops_at_its_end() {
        let mut responder = OcraResponder::new(
            &secret(),
            suite("OCRA-1:HOTP-SHA1-6:C-QN08"),
            u64::MAX,
            false,
        )
        .unwrap();
        assert_eq!(
            responder.respond("1", &ChallengeContext::new(UnixTime::EPOCH)),
            Err(DeviceError::Ocra(OcraError::CounterOverflow {
                counter: u64::MAX,
                by: 1
            }))
        );
        assert_eq!(responder.counter(), Some(u64::MAX));
    }

    #[test]
    fn suites_a_fob_cannot_answer_are_refused() {
        for (text, pin_gate) in [
            ("OCRA-1:HOTP-SHA1-0:QN08", true),
            ("OCRA-1:HOTP-SHA1-6:QN08-S064", true),
            ("OCRA-1:HOTP-SHA1-6:QN08-PSHA1", false),
        ] {
            assert!(
                matches!(
                    OcraResponder::new(&secret(), suite(text), 0, pin_gate),
                    Err(DeviceError::UnsupportedSuite { .. })
                ),
                "{text}"
            );
        }
        let plain =
            OcraResponder::new(&secret(), suite("OCRA-1:HOTP-SHA1-6:QN08"), 9, false).unwrap();
        assert_eq!(plain.counter(), None, "no C, no counter");
    }
}
