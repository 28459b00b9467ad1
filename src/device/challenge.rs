//! The hook for challenge-response on keypad fobs.
//!
//! A [`KeyFob`](crate::KeyFob) answers [`Device::respond`](crate::Device::respond)
//! through a [`ChallengeResponder`]. [`KeyFobBuilder::ocra`](crate::device::KeyFobBuilder::ocra)
//! gives a fob the RFC 6287 OCRA responder (the `keypad` module), built from the fob's
//! own secret; [`KeyFobBuilder::challenge_responder`](crate::device::KeyFobBuilder::challenge_responder)
//! plugs in any other. The fob runs its end-of-life check and PIN gate before calling
//! the responder.

use core::fmt;

use crate::clock::UnixTime;
use crate::code::Code;
use crate::device::error::DeviceError;

/// What a fob knows when a challenge is typed in, beyond the challenge itself.
///
/// # Security
///
/// `pin` is the PIN that opened the gate for this operation: a responder may hash it
/// into its answer (an OCRA suite with `P`) but must not keep or show it. `Debug`
/// redacts it.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct ChallengeContext<'a> {
    /// The time the fob's own (drifting) clock shows, for suites with a time step.
    pub device_time: UnixTime,
    /// The PIN entered at the gate for this operation, as typed; `None` on a fob
    /// without a PIN gate.
    pub pin: Option<&'a [u8]>,
}

impl ChallengeContext<'_> {
    /// The context at the fob's time `device_time`, on a fob without a PIN gate.
    #[must_use]
    pub fn new(device_time: UnixTime) -> Self {
        Self {
            device_time,
            pin: None,
        }
    }
}

impl<'a> ChallengeContext<'a> {
    /// The context at the fob's time `device_time`, after `pin` opened the gate.
    #[must_use]
    pub fn with_pin(device_time: UnixTime, pin: &'a [u8]) -> Self {
        Self {
            device_time,
            pin: Some(pin),
        }
    }
}

impl fmt::Debug for ChallengeContext<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("ChallengeContext")
            .field("device_time", &self.device_time)
            .field("pin", &self.pin.map(|_| "[REDACTED]"))
            .finish()
    }
}

/// Computes a keypad fob's response to a typed challenge: the plug-in point for
/// RFC 6287 OCRA suites and for other challenge-response schemes.
///
/// An implementation holds its own key and any counter its suite keeps (hence
/// `&mut self`), and describes a refused challenge with [`DeviceError::Ocra`] (or
/// [`DeviceError::Backend`] for a real device's adapter).
///
/// ```
/// use otpfob::{Code, DeviceError, device::{ChallengeContext, ChallengeResponder}, ocra::OcraError};
///
/// /// A stand-in that echoes the challenge's last six digits (tests only).
/// #[derive(Debug)]
/// struct Echo;
///
/// impl ChallengeResponder for Echo {
///     fn respond(&mut self, challenge: &str, _: &ChallengeContext<'_>) -> Result<Code, DeviceError> {
///         let tail = &challenge[challenge.len().saturating_sub(6)..];
///         Ok(Code::parse(tail, 6).map_err(OcraError::ResponseCode)?)
///     }
/// }
/// ```
///
/// # Security
///
/// `Debug` must not print the key; compute the response without branching on
/// secret data.
pub trait ChallengeResponder: fmt::Debug + Send {
    /// The response to `challenge`, as typed on the fob's keypad.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Ocra`] for a challenge the suite does not accept.
    fn respond(
        &mut self,
        challenge: &str,
        context: &ChallengeContext<'_>,
    ) -> Result<Code, DeviceError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_pin() {
        let context = ChallengeContext::with_pin(UnixTime::from_secs(5), b"2468");
        let text = format!("{context:?}");
        assert!(!text.contains("2468"), "{text}");
        assert!(text.contains("REDACTED"), "{text}");
        assert_eq!(ChallengeContext::new(UnixTime::EPOCH).pin, None);
    }
}
