//! The virtual token in a phone app: no crystal of its own, an optional app PIN.

use crate::clock::TimeSource;
use crate::device::error::DeviceError;
use crate::parameters::OtpParameters;
use crate::secret::Secret;

use super::backend::{Device, DeviceKind, DeviceState, Reading};
use super::generator::CodeGenerator;
use super::pin::{Pin, PinGate};
use super::serial::SerialNumber;

/// A phone app's token: the phone's clock (kept by the network, so no drift) or any
/// [`TimeSource`], an optional app PIN, and the same [`Device`] trait as a fob.
///
/// An app locked by wrong PINs stays locked: the customer enrols the token again,
/// so there is no unlock procedure ([`Device::unlock`] is unsupported). A soft token
/// never expires.
///
/// ```
/// use otpfob::{Device, ManualClock, Secret, SoftToken, Totp, TotpParameters};
///
/// let secret = Secret::from_base32("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")?;
/// let clock = ManualClock::at_secs(1_111_111_109);
/// let mut phone = SoftToken::new("APP-1", &secret, TotpParameters::default(), clock)?
///     .with_pin("9876", 5)?;
/// phone.enter_pin("9876")?;
/// assert_eq!(phone.press()?.code().to_string(), "081804");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SoftToken<T> {
    serial: SerialNumber,
    generator: CodeGenerator,
    clock: T,
    pin_gate: Option<PinGate>,
}

impl<T: TimeSource> SoftToken<T> {
    /// A token for `secret`, reading time from `clock`; an event token starts at
    /// counter 0.
    ///
    /// # Errors
    ///
    /// [`DeviceError::SerialLength`], [`DeviceError::SerialCharacter`], or
    /// [`DeviceError::Parameters`] for bad code parameters.
    pub fn new(
        serial: &str,
        secret: &Secret,
        parameters: impl Into<OtpParameters>,
        clock: T,
    ) -> Result<Self, DeviceError> {
        Ok(Self {
            serial: SerialNumber::new(serial)?,
            generator: CodeGenerator::new(secret, parameters.into(), 0)?,
            clock,
            pin_gate: None,
        })
    }

    /// This token with an app PIN, locking after `tries` wrong ones.
    ///
    /// # Errors
    ///
    /// [`DeviceError::PinLength`], [`DeviceError::PinCharacter`],
    /// [`DeviceError::PinTries`] for zero tries.
    pub fn with_pin(mut self, pin: &str, tries: u8) -> Result<Self, DeviceError> {
        self.pin_gate = Some(PinGate::new(Pin::parse(pin)?, tries)?);
        Ok(self)
    }

    /// This event token with its counter at `counter` (as enrolled), instead of 0.
    /// A time token ignores it.
    #[must_use]
    pub fn with_counter(mut self, counter: u64) -> Self {
        if let CodeGenerator::Event {
            counter: current, ..
        } = &mut self.generator
        {
            *current = counter;
        }
        self
    }

    /// The counter the next press of an event token shows (`None` for time tokens).
    #[must_use]
    pub fn counter(&self) -> Option<u64> {
        self.generator.counter()
    }
}

impl<T: TimeSource> Device for SoftToken<T> {
    fn serial(&self) -> &SerialNumber {
        &self.serial
    }

    fn kind(&self) -> DeviceKind {
        DeviceKind {
            mode: self.generator.mode(),
            challenge_response: false,
        }
    }

    fn state(&self) -> DeviceState {
        if self.pin_gate.as_ref().is_some_and(PinGate::is_locked) {
            DeviceState::Locked
        } else {
            DeviceState::Ready
        }
    }

    fn requires_pin(&self) -> bool {
        self.pin_gate.is_some()
    }

    fn enter_pin(&mut self, pin: &str) -> Result<(), DeviceError> {
        match self.pin_gate.as_mut() {
            Some(gate) => gate.enter(pin),
            None => Err(DeviceError::Unsupported {
                operation: "PIN entry",
            }),
        }
    }

    fn press(&mut self) -> Result<Reading, DeviceError> {
        if let Some(gate) = self.pin_gate.as_mut() {
            gate.pass()?;
        }
        Ok(self.generator.press(self.clock.now())?)
    }

    fn change_pin(&mut self, old_pin: &str, new_pin: &str) -> Result<(), DeviceError> {
        match self.pin_gate.as_mut() {
            Some(gate) => gate.change(old_pin, new_pin),
            None => Err(DeviceError::Unsupported {
                operation: "PIN change",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HotpParameters, ManualClock, Totp, TotpParameters};

    fn secret() -> Secret {
        Secret::from_bytes(b"12345678901234567890").unwrap()
    }

    #[test]
    fn time_token_follows_its_clock_without_drift() {
        let clock = ManualClock::at_secs(59);
        let mut token =
            SoftToken::new("APP-1", &secret(), TotpParameters::default(), clock.clone()).unwrap();
        let totp = Totp::new(&secret(), TotpParameters::default()).unwrap();
        assert_eq!(token.press().unwrap().code(), totp.at(59).unwrap());
        clock.set(crate::UnixTime::from_secs(20_000_000_000));
        assert_eq!(
            token.press().unwrap().code(),
            totp.at(20_000_000_000).unwrap()
        );
        assert_eq!(token.kind(), DeviceKind::time());
        assert!(!token.requires_pin());
    }

    #[test]
    fn event_token_counts_from_its_enrolled_counter() {
        let mut token = SoftToken::new(
            "APP-2",
            &secret(),
            HotpParameters::default(),
            ManualClock::at_secs(0),
        )
        .unwrap()
        .with_counter(5);
        // RFC 4226 Appendix D, counters 5 and 6.
        assert_eq!(token.press().unwrap().code().to_string(), "254676");
        assert_eq!(token.press().unwrap().code().to_string(), "287922");
        assert_eq!(token.counter(), Some(7));
    }

    #[test]
    fn app_pin_locks_for_good() {
        let mut token = SoftToken::new(
            "APP-3",
            &secret(),
            TotpParameters::default(),
            ManualClock::at_secs(59),
        )
        .unwrap()
        .with_pin("9876", 2)
        .unwrap();
        assert_eq!(token.press(), Err(DeviceError::PinRequired));
        assert_eq!(
            token.enter_pin("0000"),
            Err(DeviceError::WrongPin { tries_left: 1 })
        );
        assert_eq!(
            token.enter_pin("0000"),
            Err(DeviceError::WrongPin { tries_left: 0 })
        );
        assert_eq!(token.state(), DeviceState::Locked);
        assert_eq!(token.enter_pin("9876"), Err(DeviceError::Locked));
        assert_eq!(token.press(), Err(DeviceError::Locked));
        assert!(matches!(
            token.unlock_challenge(),
            Err(DeviceError::Unsupported { .. })
        ));
    }

    #[test]
    fn app_pin_changes_with_the_old_one() {
        let mut token = SoftToken::new(
            "APP-4",
            &secret(),
            TotpParameters::default(),
            ManualClock::at_secs(59),
        )
        .unwrap()
        .with_pin("9876", 3)
        .unwrap();
        assert_eq!(
            token.change_pin("1111", "2222"),
            Err(DeviceError::WrongPin { tries_left: 2 })
        );
        token.change_pin("9876", "2222").unwrap();
        assert_eq!(
            token.enter_pin("9876"),
            Err(DeviceError::WrongPin { tries_left: 2 })
        );
        token.enter_pin("2222").unwrap();
        assert!(token.press().is_ok());
        let mut plain = SoftToken::new(
            "APP-5",
            &secret(),
            TotpParameters::default(),
            ManualClock::at_secs(59),
        )
        .unwrap();
        assert!(matches!(
            plain.change_pin("1234", "5678"),
            Err(DeviceError::Unsupported { .. })
        ));
        assert!(matches!(
            plain.enter_pin("1234"),
            Err(DeviceError::Unsupported { .. })
        ));
    }
}
