//! From a GENERATE AC response to the number on the reader's display: the issuer
//! proprietary bitmap (IPB, tag 9F56) selects bits of the response, and the
//! issuer authentication flags (IAF, tag 9F55) say whether the PAN sequence number
//! goes in front.

use core::fmt;

use crate::code::Code;
use crate::emv::card_data::PanSequenceNumber;
use crate::emv::error::EmvError;

/// The most bytes of issuer application data (9F10) a response carries.
pub const MAX_ISSUER_DATA: usize = 32;
/// The most bytes an IPB masks: PSN (1), CID (1), ATC (2), AC (8) and the issuer
/// application data.
pub const MAX_BITMAP_BYTES: usize = 12 + MAX_ISSUER_DATA;
/// The fewest bits a bitmap may select: fewer would make codes an attacker guesses.
pub const MIN_CODE_BITS: u32 = 8;
/// The most bits a bitmap may select: a code's value fits 32 bits.
pub const MAX_CODE_BITS: u32 = 32;

/// What the card answers to GENERATE AC: cryptogram information data (9F27), the
/// application transaction counter (9F36), the application cryptogram (9F26) and the
/// issuer application data (9F10).
///
/// # Security
///
/// `Debug` hides the cryptogram: it is the material a code is cut from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct GenerateAcResponse {
    /// Cryptogram information data: 0x80 for an ARQC, 0x00 for an AAC.
    pub cid: u8,
    /// The application transaction counter the cryptogram was made with.
    pub atc: u16,
    /// The application cryptogram.
    pub cryptogram: [u8; 8],
    issuer_data: [u8; MAX_ISSUER_DATA],
    issuer_data_length: u8,
}

impl GenerateAcResponse {
    /// A response from its parts.
    ///
    /// # Errors
    ///
    /// [`EmvError::Response`] for issuer application data longer than 32 bytes.
    pub fn new(
        cid: u8,
        atc: u16,
        cryptogram: [u8; 8],
        issuer_data: &[u8],
    ) -> Result<Self, EmvError> {
        if issuer_data.len() > MAX_ISSUER_DATA {
            return Err(EmvError::Response {
                reason: "issuer application data longer than 32 bytes",
            });
        }
        let mut data = [0u8; MAX_ISSUER_DATA];
        data[..issuer_data.len()].copy_from_slice(issuer_data);
        Ok(Self {
            cid,
            atc,
            cryptogram,
            issuer_data: data,
            // At most 32, checked above.
            issuer_data_length: issuer_data.len() as u8,
        })
    }

    /// The simulated card's response: its issuer data always fits.
    pub(crate) fn simulated(
        cid: u8,
        atc: u16,
        cryptogram: [u8; 8],
        issuer: [u8; crate::emv::profile::ISSUER_DATA_LENGTH],
    ) -> Self {
        let mut issuer_data = [0u8; MAX_ISSUER_DATA];
        issuer_data[..issuer.len()].copy_from_slice(&issuer);
        Self {
            cid,
            atc,
            cryptogram,
            issuer_data,
            issuer_data_length: issuer.len() as u8,
        }
    }

    /// The issuer application data.
    #[must_use]
    pub fn issuer_data(&self) -> &[u8] {
        &self.issuer_data[..usize::from(self.issuer_data_length)]
    }

    /// Reads a response in format 1 (tag 80: CID, ATC, AC and IAD packed together) or
    /// format 2 (tag 77: the same as TLV), as a real card returns it; a trailing
    /// status word 90 00 is allowed.
    ///
    /// # Errors
    ///
    /// [`EmvError::Response`] for anything else.
    pub fn parse(bytes: &[u8]) -> Result<Self, EmvError> {
        let (tag, body, _) = tlv(bytes).ok_or(EmvError::Response {
            reason: "not a TLV object",
        })?;
        match tag {
            0x80 => {
                if body.len() < 11 {
                    return Err(EmvError::Response {
                        reason: "format 1 shorter than CID, ATC and AC",
                    });
                }
                let mut cryptogram = [0u8; 8];
                cryptogram.copy_from_slice(&body[3..11]);
                Self::new(
                    body[0],
                    u16::from_be_bytes([body[1], body[2]]),
                    cryptogram,
                    &body[11..],
                )
            }
            0x77 => {
                let (mut cid, mut atc, mut cryptogram, mut issuer_data) =
                    (None, None, None, &[][..]);
                let mut rest = body;
                while !rest.is_empty() {
                    let (tag, value, next) = tlv(rest).ok_or(EmvError::Response {
                        reason: "format 2 with a broken TLV object",
                    })?;
                    match (tag, value.len()) {
                        (0x9F27, 1) => cid = Some(value[0]),
                        (0x9F36, 2) => atc = Some(u16::from_be_bytes([value[0], value[1]])),
                        (0x9F26, 8) => {
                            let mut array = [0u8; 8];
                            array.copy_from_slice(value);
                            cryptogram = Some(array);
                        }
                        (0x9F10, _) => issuer_data = value,
                        (0x9F27 | 0x9F36 | 0x9F26, _) => {
                            return Err(EmvError::Response {
                                reason: "format 2 with a field of the wrong length",
                            });
                        }
                        _ => {}
                    }
                    rest = next;
                }
                match (cid, atc, cryptogram) {
                    (Some(cid), Some(atc), Some(cryptogram)) => {
                        Self::new(cid, atc, cryptogram, issuer_data)
                    }
                    _ => Err(EmvError::Response {
                        reason: "format 2 without CID, ATC or AC",
                    }),
                }
            }
            _ => Err(EmvError::Response {
                reason: "neither format 1 (80) nor format 2 (77)",
            }),
        }
    }
}

impl fmt::Debug for GenerateAcResponse {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("GenerateAcResponse")
            .field("cid", &self.cid)
            .field("atc", &self.atc)
            .field("cryptogram", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}

/// One BER-TLV object at the start of `bytes` (one- or two-byte tag, short or
/// one/two-byte long length): its tag, value and what follows.
fn tlv(bytes: &[u8]) -> Option<(u16, &[u8], &[u8])> {
    let (&first, rest) = bytes.split_first()?;
    let (tag, rest) = if first & 0x1F == 0x1F {
        let (&second, rest) = rest.split_first()?;
        (u16::from_be_bytes([first, second]), rest)
    } else {
        (u16::from(first), rest)
    };
    let (&length, rest) = rest.split_first()?;
    let (length, rest) = match length {
        0x81 => {
            let (&length, rest) = rest.split_first()?;
            (usize::from(length), rest)
        }
        0x82 => {
            let (bytes, rest) = rest.split_first_chunk::<2>()?;
            (usize::from(u16::from_be_bytes(*bytes)), rest)
        }
        length if length < 0x80 => (usize::from(length), rest),
        _ => return None,
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}

/// The issuer authentication flags (9F55) a CAP reader reads from the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
// Deliberately exhaustive: one byte, as EMV defines it.
#[allow(clippy::exhaustive_structs)]
pub struct IssuerAuthenticationFlags(pub u8);

impl IssuerAuthenticationFlags {
    /// Whether the PAN sequence number is put in front of the response before the
    /// bitmap is applied (bit 7, 0x40, as the open readers python-emv and EMV-CAP
    /// read it).
    #[must_use]
    pub fn includes_sequence_number(&self) -> bool {
        self.0 & 0x40 != 0
    }
}

/// The issuer proprietary bitmap (9F56): a mask over PSN (when the flags say so), CID,
/// ATC, AC and issuer application data; the bits it selects, read left to right, make
/// the code the reader shows in decimal.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IssuerProprietaryBitmap {
    mask: [u8; MAX_BITMAP_BYTES],
    length: u8,
    bits: u8,
}

impl IssuerProprietaryBitmap {
    /// The bitmap Barclays cards carry (python-emv's recordings): the top bit of the
    /// CID, the low byte of the ATC and the last 17 bits of the cryptogram, 26 bits
    /// in all, shown as 8 digits.
    pub const BARCLAYS: [u8; 18] = [
        0x80, 0x00, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00,
    ];

    /// The bitmap `mask`.
    ///
    /// # Errors
    ///
    /// [`EmvError::Bitmap`] for a mask longer than the data it masks, or one that
    /// selects fewer than 8 or more than 32 bits.
    pub fn new(mask: &[u8]) -> Result<Self, EmvError> {
        let bits: u32 = mask.iter().map(|byte| byte.count_ones()).sum();
        if mask.len() > MAX_BITMAP_BYTES || !(MIN_CODE_BITS..=MAX_CODE_BITS).contains(&bits) {
            return Err(EmvError::Bitmap {
                bits,
                length: mask.len(),
                minimum: MIN_CODE_BITS,
                maximum: MAX_CODE_BITS,
                length_limit: MAX_BITMAP_BYTES,
            });
        }
        let mut array = [0u8; MAX_BITMAP_BYTES];
        array[..mask.len()].copy_from_slice(mask);
        Ok(Self {
            mask: array,
            // Both at most 44 and 32, checked above.
            length: mask.len() as u8,
            bits: bits as u8,
        })
    }

    /// The mask.
    #[must_use]
    pub fn mask(&self) -> &[u8] {
        &self.mask[..usize::from(self.length)]
    }

    /// How many bits of the response the code keeps: its strength against guessing.
    #[must_use]
    pub fn bits(&self) -> u32 {
        u32::from(self.bits)
    }

    /// How many decimal digits the display shows: enough for every value of the
    /// selected bits (8 for Barclays' 26), and never fewer than a code has.
    #[must_use]
    pub fn digits(&self) -> u8 {
        let largest = (1u64 << self.bits()) - 1;
        let mut digits = 1u8;
        let mut rest = largest / 10;
        while rest > 0 {
            digits += 1;
            rest /= 10;
        }
        digits.max(crate::code::MIN_CODE_DIGITS)
    }

    /// The bits this bitmap selects from `response` (with `sequence` in front when
    /// `flags` say so), as a number. Bytes past the end of the data are not selected.
    #[must_use]
    pub fn extract(
        &self,
        response: &GenerateAcResponse,
        flags: IssuerAuthenticationFlags,
        sequence: PanSequenceNumber,
    ) -> u32 {
        let mut data = [0u8; MAX_BITMAP_BYTES];
        let mut length = 0;
        if flags.includes_sequence_number() {
            data[0] = sequence.bcd();
            length = 1;
        }
        data[length] = response.cid;
        data[length + 1..length + 3].copy_from_slice(&response.atc.to_be_bytes());
        data[length + 3..length + 11].copy_from_slice(&response.cryptogram);
        length += 11;
        let issuer = response.issuer_data();
        let room = (MAX_BITMAP_BYTES - length).min(issuer.len());
        data[length..length + room].copy_from_slice(&issuer[..room]);
        length += room;
        let mut value = 0u64;
        for (mask, byte) in self.mask().iter().zip(&data[..length]) {
            for bit in (0..8).rev() {
                if mask >> bit & 1 == 1 {
                    value = (value << 1) | u64::from(byte >> bit & 1);
                }
            }
        }
        // At most 32 bits were selected (checked when the bitmap was made).
        value as u32
    }

    /// The code the reader's display shows for `response`.
    pub fn code(
        &self,
        response: &GenerateAcResponse,
        flags: IssuerAuthenticationFlags,
        sequence: PanSequenceNumber,
    ) -> Code {
        // digits() is within 4..=10 and has room for every value of bits() ≤ 32
        // bits, so the truncation keeps the whole value.
        Code::from_truncated(self.extract(response, flags, sequence), self.digits())
    }
}

impl fmt::Debug for IssuerProprietaryBitmap {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "IssuerProprietaryBitmap(")?;
        for byte in self.mask() {
            write!(formatter, "{byte:02X}")?;
        }
        write!(formatter, ", {} bits)", self.bits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emv::tests_support::hex;

    #[test]
    fn bitmaps_are_checked() {
        assert!(IssuerProprietaryBitmap::new(&[0x7F]).is_err());
        assert!(IssuerProprietaryBitmap::new(&[0xFF; 5]).is_err());
        assert!(IssuerProprietaryBitmap::new(&[0; 45]).is_err());
        let barclays = IssuerProprietaryBitmap::new(&IssuerProprietaryBitmap::BARCLAYS).unwrap();
        assert_eq!(barclays.bits(), 26);
        assert_eq!(barclays.digits(), 8);
        assert_eq!(
            IssuerProprietaryBitmap::new(&[0xFF; 4]).unwrap().digits(),
            10
        );
    }

    #[test]
    fn responses_parse_in_both_formats() {
        assert!(GenerateAcResponse::parse(&hex("80 05 80 00 01 00 00")).is_err());
        assert!(GenerateAcResponse::parse(&hex("77 03 9F 27 01")).is_err());
        assert!(GenerateAcResponse::parse(&hex("70 00")).is_err());
        let one = GenerateAcResponse::parse(&hex("80 0B 80 00 2A 0102030405060708")).unwrap();
        assert_eq!(
            (one.cid, one.atc, one.cryptogram),
            (0x80, 42, [1, 2, 3, 4, 5, 6, 7, 8])
        );
        assert!(one.issuer_data().is_empty());
    }

    #[test]
    fn the_sequence_number_goes_in_front_when_flagged() {
        let response = GenerateAcResponse::new(0x80, 1, [0; 8], &[]).unwrap();
        let bitmap = IssuerProprietaryBitmap::new(&[0xFF]).unwrap();
        let sequence = PanSequenceNumber::new(42).unwrap();
        assert_eq!(
            bitmap.extract(&response, IssuerAuthenticationFlags(0x40), sequence),
            0x42
        );
        assert_eq!(
            bitmap.extract(&response, IssuerAuthenticationFlags(0x80), sequence),
            0x80
        );
    }
}
