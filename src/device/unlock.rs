//! The unlock procedure of a locked fob: the fob shows a challenge, the bank answers
//! with a code made from the fob's unlock key, and the fob checks the answer.
//!
//! Both sides use HMAC-SHA-256 under the unlock key from the factory record, which is
//! separate from the OTP secret so that a helpdesk that unlocks fobs never holds the
//! keys that make codes:
//!
//! - challenge number `n` (one per lockout and per wrong answer) shows
//!   `challenge = T(HMAC(unlock_key, "otpfob unlock challenge v1" ‖ n as 8 bytes big-endian))`;
//! - the answer is
//!   `unlock code = T(HMAC(unlock_key, "otpfob unlock code v1" ‖ challenge as 8 ASCII digits))`;
//!
//! where `T` is RFC 4226 dynamic truncation reduced to [`UNLOCK_CODE_DIGITS`] digits.

use core::fmt;
use core::str::FromStr;

use crate::algorithm::Algorithm;
use crate::code::Code;
use crate::code::CodeError;
use crate::hotp::dynamic_truncate;
use crate::mac::KeyedMac;
use crate::secret::Secret;

/// Digits of an unlock challenge and of its unlock code: a guess has one chance in
/// 10^8, and every wrong answer moves the fob to a new challenge.
pub const UNLOCK_CODE_DIGITS: u8 = 8;

const CHALLENGE_LABEL: &[u8] = b"otpfob unlock challenge v1";
const CODE_LABEL: &[u8] = b"otpfob unlock code v1";

/// The challenge a locked fob shows: 8 digits the customer reads to the bank.
///
/// ```
/// use otpfob::device::UnlockChallenge;
///
/// let challenge: UnlockChallenge = "1234 5678".parse()?;
/// assert_eq!(challenge.to_string(), "12345678");
/// # Ok::<(), otpfob::CodeError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnlockChallenge(Code);

impl UnlockChallenge {
    /// The challenge as a code, for grouped display.
    pub fn as_code(&self) -> Code {
        self.0
    }

    /// Challenge number `number` of the fob whose unlock key is `unlock_key`.
    pub(crate) fn derive(unlock_key: &KeyedMac, number: u64) -> Self {
        let mac = unlock_key.mac(&[CHALLENGE_LABEL, &number.to_be_bytes()]);
        Self(truncate(mac.as_ref()))
    }
}

impl FromStr for UnlockChallenge {
    type Err = CodeError;

    /// Parses a challenge as a person reads it out: 8 digits, with at most one space
    /// or dash between two groups.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        Code::parse(input, UNLOCK_CODE_DIGITS).map(Self)
    }
}

impl fmt::Display for UnlockChallenge {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(formatter)
    }
}

fn truncate(mac: &[u8]) -> Code {
    Code::from_truncated(dynamic_truncate(mac) % 100_000_000, UNLOCK_CODE_DIGITS)
}

/// The keyed unlock state a fob keeps (the key's HMAC states, computed once).
pub(crate) fn unlock_mac(unlock_key: &Secret) -> KeyedMac {
    KeyedMac::new(Algorithm::Sha256, unlock_key.expose_bytes())
}

pub(crate) fn unlock_code_with(unlock_key: &KeyedMac, challenge: &UnlockChallenge) -> Code {
    let digits = challenge.0.to_string();
    truncate(unlock_key.mac(&[CODE_LABEL, digits.as_bytes()]).as_ref())
}

/// The bank side of the unlock procedure: the unlock code that answers `challenge`
/// for the fob whose factory record holds `unlock_key`
/// ([`FactoryRecord::unlock_code`](crate::device::FactoryRecord::unlock_code) does the same
/// from a record).
///
/// ```
/// use otpfob::{Device, KeyFob, ManualClock, TotpParameters, device::{DeviceState, unlock_code}};
///
/// let (mut fob, record) = KeyFob::builder("OTPF-1", TotpParameters::default())
///     .pin("2468")
///     .build(ManualClock::at_secs(1_767_225_600))?;
/// for _ in 0..3 {
///     let _ = fob.enter_pin("0000");
/// }
/// assert_eq!(fob.state(), DeviceState::Locked);
/// let challenge = fob.unlock_challenge()?;            // read out by the customer
/// let answer = unlock_code(&record.unlock_key, &challenge); // computed by the bank
/// fob.unlock(&answer, "1357")?;                       // typed by the customer
/// fob.enter_pin("1357")?;
/// let _reading = fob.press()?;
/// # Ok::<(), otpfob::DeviceError>(())
/// ```
///
/// # Security
///
/// The unlock key opens the fob's PIN gate, so it is as sensitive as a PIN for the
/// fob's whole life: keep it sealed with the OTP secret. The answer is only as
/// strong as its 8 digits; a fob moves to a new challenge after every wrong answer,
/// so an attacker holding the fob has one chance in 10^8 per try.
pub fn unlock_code(unlock_key: &Secret, challenge: &UnlockChallenge) -> Code {
    unlock_code_with(&unlock_mac(unlock_key), challenge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges_differ_per_number_and_key() {
        let key = unlock_mac(&Secret::from_bytes(b"unlock key one").unwrap());
        let other = unlock_mac(&Secret::from_bytes(b"unlock key two").unwrap());
        let first = UnlockChallenge::derive(&key, 1);
        assert_eq!(first, UnlockChallenge::derive(&key, 1));
        assert_ne!(first, UnlockChallenge::derive(&key, 2));
        assert_ne!(first, UnlockChallenge::derive(&other, 1));
        assert_eq!(first.as_code().digits(), 8);
    }

    #[test]
    fn unlock_codes_depend_on_key_and_challenge() {
        let secret = Secret::from_bytes(b"unlock key one").unwrap();
        let key = unlock_mac(&secret);
        let challenge = UnlockChallenge::derive(&key, 1);
        let code = unlock_code(&secret, &challenge);
        assert_eq!(code, unlock_code_with(&key, &challenge));
        assert_ne!(
            code,
            unlock_code(&secret, &UnlockChallenge::derive(&key, 2))
        );
        let other = Secret::from_bytes(b"unlock key two").unwrap();
        assert_ne!(code, unlock_code(&other, &challenge));
    }

    #[test]
    fn known_answer() {
        // Pins the documented construction. Computed independently with Python:
        // hmac.new(key, b"otpfob unlock code v1" + b"12345678", hashlib.sha256),
        // then RFC 4226 dynamic truncation modulo 10^8.
        let secret = Secret::from_bytes(b"12345678901234567890").unwrap();
        let challenge: UnlockChallenge = "12345678".parse().unwrap();
        assert_eq!(unlock_code(&secret, &challenge).to_string(), "89504986");
    }

    #[test]
    fn challenge_parsing_is_strict() {
        assert!("1234567".parse::<UnlockChallenge>().is_err());
        assert!("1234 56789".parse::<UnlockChallenge>().is_err());
        assert_eq!(
            "0000-0001".parse::<UnlockChallenge>().unwrap().to_string(),
            "00000001"
        );
    }
}
