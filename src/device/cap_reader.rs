//! The CAP card reader: a keypad, a display and a card slot, behind the crate's
//! [`Device`] trait.

use crate::device::emv_card::Card;
use crate::device::{Device, DeviceError, DeviceKind, DeviceState, OtpMode, Reading, SerialNumber};
use crate::emv::{CapMode, Digits};

/// A CAP reader with a card in it (Barclays' PINsentry, NatWest's and Nationwide's
/// readers): it asks for the card's PIN and passes it to the card, sends the card the
/// terminal data of the chosen mode in a GENERATE AC, and shows the decimal number
/// the card's bitmap selects from the response.
///
/// Through [`Device`]: [`Device::press`] is identify, [`Device::respond`] is mode 3
/// (a challenge); [`CapReader::read`] offers every mode, including signing (mode 1
/// with an amount, mode 2 with data fields).
///
/// ```
/// use otpfob::emv::{CardProfile, IssuerMasterKey};
/// use otpfob::device::{CapReader, Card};
/// use otpfob::{Device, device::SerialNumber};
///
/// let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210")?;
/// let card = Card::personalise(&issuer, CardProfile::new("4658123456789009", 1, (2030, 12))?, "1234")?;
/// let mut reader = CapReader::new(SerialNumber::new("PINSENTRY-1")?, card);
/// reader.enter_pin("1234")?;
/// let reading = reader.respond("12345678")?;
/// assert_eq!(reading.code().digits(), 8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
///
/// The reader holds no secret: the card keeps its key and checks its PIN, and the
/// reader forgets the PIN as soon as the card has it.
#[derive(Debug, Clone)]
pub struct CapReader {
    serial: SerialNumber,
    card: Card,
}

impl CapReader {
    /// A reader with serial number `serial` and `card` inserted.
    #[must_use]
    pub fn new(serial: SerialNumber, card: Card) -> Self {
        Self { serial, card }
    }

    /// The card in the slot.
    #[must_use]
    pub fn card(&self) -> &Card {
        &self.card
    }

    /// Takes the card out.
    #[must_use]
    pub fn into_card(self) -> Card {
        self.card
    }

    /// Runs `mode` with the card: one GENERATE AC (the PIN must have been entered
    /// for it), and the code its bitmap selects. A real reader then sends a second
    /// GENERATE AC asking for an AAC, which closes the transaction with the same ATC
    /// and shows nothing; the simulation leaves it out, as it changes nothing the bank
    /// sees.
    ///
    /// # Errors
    ///
    /// Those of [`Card::generate_ac`].
    pub fn read(&mut self, mode: &CapMode) -> Result<Reading, DeviceError> {
        let response = self.card.generate_ac(&mode.transaction_data())?;
        let profile = self.card.profile();
        Ok(Reading::event_based(profile.bitmap.code(
            &response,
            profile.flags,
            profile.sequence,
        )))
    }
}

impl Device for CapReader {
    fn serial(&self) -> &SerialNumber {
        &self.serial
    }

    fn kind(&self) -> DeviceKind {
        DeviceKind {
            mode: OtpMode::Event,
            challenge_response: true,
        }
    }

    fn state(&self) -> DeviceState {
        if self.card.is_blocked() {
            DeviceState::Locked
        } else {
            DeviceState::Ready
        }
    }

    fn requires_pin(&self) -> bool {
        true
    }

    fn enter_pin(&mut self, pin: &str) -> Result<(), DeviceError> {
        self.card.verify_pin(pin)
    }

    /// Identify: a one-time code for a login.
    fn press(&mut self) -> Result<Reading, DeviceError> {
        self.read(&CapMode::Identify)
    }

    /// Mode 3: the code for a challenge of 1 to 8 digits.
    fn respond(&mut self, challenge: &str) -> Result<Reading, DeviceError> {
        let challenge = Digits::challenge(challenge)?;
        self.read(&CapMode::Respond(challenge))
    }
}
