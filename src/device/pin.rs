//! The PIN gate: a PIN asked before every operation, wrong tries counted, and a
//! lock after too many.

use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::device::error::DeviceError;

/// The fewest digits a PIN may have.
pub const MIN_PIN_DIGITS: usize = 4;

/// The most digits a PIN may have.
pub const MAX_PIN_DIGITS: usize = 8;

/// Wrong PINs a key fob accepts before it locks itself, unless configured otherwise:
/// what bank fob vendors ship.
pub const DEFAULT_PIN_TRIES: u8 = 3;

/// A PIN of 4 to 8 digits, kept in a fixed-size buffer that is zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct Pin {
    digits: [u8; MAX_PIN_DIGITS],
    length: u8,
}

impl Pin {
    /// Checks the PIN's format.
    pub(crate) fn parse(pin: &str) -> Result<Self, DeviceError> {
        if let Some(position) = pin
            .chars()
            .position(|character| !character.is_ascii_digit())
        {
            return Err(DeviceError::PinCharacter { position });
        }
        if !(MIN_PIN_DIGITS..=MAX_PIN_DIGITS).contains(&pin.len()) {
            return Err(DeviceError::PinLength {
                length: pin.len(),
                minimum: MIN_PIN_DIGITS,
                maximum: MAX_PIN_DIGITS,
            });
        }
        let mut digits = [0u8; MAX_PIN_DIGITS];
        digits[..pin.len()].copy_from_slice(pin.as_bytes());
        Ok(Self {
            digits,
            // At most MAX_PIN_DIGITS, checked above.
            length: pin.len() as u8,
        })
    }

    /// The digits as typed, for an OCRA suite that hashes the PIN (`P`).
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.digits.get(..usize::from(self.length)).unwrap_or(&[])
    }

    /// Compares every byte of both fixed-size buffers and the lengths, with no early
    /// exit, so the time taken says nothing about how much of a guess was right.
    fn matches(&self, other: &Pin) -> bool {
        (self.digits.ct_eq(&other.digits) & self.length.ct_eq(&other.length)).into()
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Pin([REDACTED])")
    }
}

/// The PIN gate of one device.
#[derive(Debug, Clone)]
pub(crate) struct PinGate {
    pin: Pin,
    max_tries: u8,
    failures: u8,
    /// A right PIN was entered and no operation has used it yet.
    open: bool,
    locked: bool,
    /// How many unlock challenges the device has shown: each lockout, and each wrong
    /// unlock code, moves to a new challenge so an old answer never works again.
    challenge_number: u64,
}

impl PinGate {
    pub(crate) fn new(pin: Pin, max_tries: u8) -> Result<Self, DeviceError> {
        if max_tries == 0 {
            return Err(DeviceError::PinTries { tries: max_tries });
        }
        Ok(Self {
            pin,
            max_tries,
            failures: 0,
            open: false,
            locked: false,
            challenge_number: 0,
        })
    }

    pub(crate) fn is_locked(&self) -> bool {
        self.locked
    }

    /// The PIN the gate checks against: the one an OCRA suite with `P` hashes, since
    /// only the right PIN opens the gate.
    pub(crate) fn pin(&self) -> &Pin {
        &self.pin
    }

    pub(crate) fn challenge_number(&self) -> u64 {
        self.challenge_number
    }

    /// Checks a PIN. A right one opens the gate for one operation and clears the
    /// failure count; a wrong one is counted, and the last allowed one locks.
    pub(crate) fn enter(&mut self, candidate: &str) -> Result<(), DeviceError> {
        if self.locked {
            return Err(DeviceError::Locked);
        }
        // A PIN that cannot be one is not a guess: the format is public, so it is
        // refused without counting, as a keypad that takes only 4 to 8 digits would.
        let candidate = Pin::parse(candidate)?;
        self.open = false;
        if self.pin.matches(&candidate) {
            self.failures = 0;
            self.open = true;
            return Ok(());
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= self.max_tries {
            self.locked = true;
            self.challenge_number = self.challenge_number.wrapping_add(1);
        }
        Err(DeviceError::WrongPin {
            tries_left: self.max_tries.saturating_sub(self.failures),
        })
    }

    /// Lets one operation through if the gate is open, and closes it.
    pub(crate) fn pass(&mut self) -> Result<(), DeviceError> {
        if self.locked {
            return Err(DeviceError::Locked);
        }
        if !std::mem::take(&mut self.open) {
            return Err(DeviceError::PinRequired);
        }
        Ok(())
    }

    /// Changes the PIN after checking the old one (a wrong old PIN counts as a try).
    pub(crate) fn change(&mut self, old_pin: &str, new_pin: &str) -> Result<(), DeviceError> {
        let new_pin = Pin::parse(new_pin)?;
        self.enter(old_pin)?;
        self.open = false;
        self.pin = new_pin;
        Ok(())
    }

    /// Opens a locked gate with a new PIN: the unlock code has been checked.
    pub(crate) fn reset(&mut self, new_pin: Pin) {
        self.pin = new_pin;
        self.failures = 0;
        self.open = false;
        self.locked = false;
    }

    /// A wrong unlock code: show a new challenge.
    pub(crate) fn next_challenge(&mut self) {
        self.challenge_number = self.challenge_number.wrapping_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> PinGate {
        PinGate::new(Pin::parse("1234").unwrap(), 3).unwrap()
    }

    #[test]
    fn pin_format_is_checked() {
        assert_eq!(
            Pin::parse("123").unwrap_err(),
            DeviceError::PinLength {
                length: 3,
                minimum: 4,
                maximum: 8
            }
        );
        assert_eq!(
            Pin::parse("123456789").unwrap_err(),
            DeviceError::PinLength {
                length: 9,
                minimum: 4,
                maximum: 8
            }
        );
        assert_eq!(
            Pin::parse("12a4").unwrap_err(),
            DeviceError::PinCharacter { position: 2 }
        );
        assert_eq!(
            Pin::parse("١٢٣٤").unwrap_err(),
            DeviceError::PinCharacter { position: 0 }
        );
        assert_eq!(
            format!("{:?}", Pin::parse("1234").unwrap()),
            "Pin([REDACTED])"
        );
    }

    #[test]
    fn prefixes_and_padded_pins_do_not_match() {
        let pin = Pin::parse("1234").unwrap();
        assert!(pin.matches(&Pin::parse("1234").unwrap()));
        assert!(!pin.matches(&Pin::parse("12340").unwrap()));
        assert!(!pin.matches(&Pin::parse("12345678").unwrap()));
        assert!(!pin.matches(&Pin::parse("4321").unwrap()));
    }

    #[test]
    fn gate_opens_for_one_operation() {
        let mut gate = gate();
        assert_eq!(gate.pass(), Err(DeviceError::PinRequired));
        gate.enter("1234").unwrap();
        assert_eq!(gate.pass(), Ok(()));
        assert_eq!(gate.pass(), Err(DeviceError::PinRequired));
    }

    #[test]
    fn malformed_pins_are_not_counted() {
        let mut gate = gate();
        for _ in 0..10 {
            assert!(matches!(
                gate.enter("12"),
                Err(DeviceError::PinLength { .. })
            ));
        }
        assert_eq!(
            gate.enter("0000"),
            Err(DeviceError::WrongPin { tries_left: 2 })
        );
    }

    #[test]
    fn a_right_pin_clears_the_failures_and_zero_tries_is_refused() {
        let mut gate = gate();
        assert!(gate.enter("0000").is_err());
        assert!(gate.enter("0000").is_err());
        gate.enter("1234").unwrap();
        assert_eq!(
            gate.enter("0000"),
            Err(DeviceError::WrongPin { tries_left: 2 })
        );
        assert_eq!(
            PinGate::new(Pin::parse("1234").unwrap(), 0).unwrap_err(),
            DeviceError::PinTries { tries: 0 }
        );
    }

    #[test]
    fn a_wrong_pin_closes_an_open_gate() {
        let mut gate = gate();
        gate.enter("1234").unwrap();
        assert!(gate.enter("9999").is_err());
        assert_eq!(gate.pass(), Err(DeviceError::PinRequired));
    }
}
