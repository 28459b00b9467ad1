//! The hook for challenge-response on keypad fobs.
//!
//! A [`KeyFob`](crate::KeyFob) answers [`Device::respond`](crate::Device::respond)
//! through a [`ChallengeResponder`] given to its builder
//! ([`KeyFobBuilder::challenge_responder`](crate::KeyFobBuilder::challenge_responder)).
//! The RFC 6287 OCRA suites implement this trait: a responder built from the fob's
//! secret and a suite such as `OCRA-1:HOTP-SHA1-6:QN08` turns the typed challenge,
//! and the fob's clock for suites with a time step, into the response the display
//! shows. The fob runs its PIN gate and end-of-life check before calling it.

use core::fmt;

use crate::clock::UnixTime;
use crate::code::Code;
use crate::error::DeviceError;

/// What a fob knows when a challenge is typed in, beyond the challenge itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ChallengeContext {
    /// The time the fob's own (drifting) clock shows, for suites with a time step.
    pub device_time: UnixTime,
}

impl ChallengeContext {
    /// The context at the fob's time `device_time`.
    #[must_use]
    pub fn new(device_time: UnixTime) -> Self {
        Self { device_time }
    }
}

/// Computes a keypad fob's response to a typed challenge: the plug-in point for
/// RFC 6287 OCRA suites.
///
/// An implementation holds its own key and any counter its suite keeps (hence
/// `&mut self`), and describes a refused challenge with
/// [`DeviceError::ChallengeRejected`].
///
/// ```
/// use otpfob::{ChallengeContext, ChallengeResponder, Code, DeviceError};
///
/// /// A stand-in that echoes the challenge's last six digits (tests only).
/// #[derive(Debug)]
/// struct Echo;
///
/// impl ChallengeResponder for Echo {
///     fn respond(&mut self, challenge: &str, _: &ChallengeContext) -> Result<Code, DeviceError> {
///         let tail = &challenge[challenge.len().saturating_sub(6)..];
///         Code::parse(tail, 6).map_err(|error| DeviceError::ChallengeRejected { reason: error.to_string() })
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
    /// [`DeviceError::ChallengeRejected`] for a challenge the suite does not accept.
    fn respond(&mut self, challenge: &str, context: &ChallengeContext)
    -> Result<Code, DeviceError>;
}
