//! Double-length Triple DES keys, and the card master key's derivation from the
//! issuer master key (EMV Book 2, Annex A1.4.1, option A).

use core::fmt;

use cipher::{BlockCipherEncrypt, KeyInit};
use des::TdesEde2;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::emv::card_data::{Pan, PanSequenceNumber};
use crate::emv::error::EmvError;

/// The DES block length, in bytes: each half of a double-length key, and the unit of
/// the retail MAC over it.
pub(crate) const BLOCK: usize = 8;

/// A double-length (16-byte, two-key) Triple DES key, zeroized on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct DoubleLengthKey([u8; 16]);

impl DoubleLengthKey {
    pub(crate) fn new(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    #[cfg(test)]
    pub(crate) fn from_slice(bytes: &[u8]) -> Result<Self, EmvError> {
        let array: [u8; 16] = bytes.try_into().map_err(|_| EmvError::KeyLength {
            length: bytes.len(),
        })?;
        Ok(Self(array))
    }

    pub(crate) fn from_hex(text: &str) -> Result<Self, EmvError> {
        let text = text.trim();
        if let Some(position) = text
            .chars()
            .position(|character| !character.is_ascii_hexdigit())
        {
            return Err(EmvError::KeyCharacter { position });
        }
        if text.len() != 32 {
            return Err(EmvError::KeyLength {
                length: text.len() / 2,
            });
        }
        let mut bytes = [0u8; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
            *byte = (hex_value(pair[0]) << 4) | hex_value(pair[1]);
        }
        Ok(Self(bytes))
    }

    pub(crate) fn halves(&self) -> (&[u8; BLOCK], &[u8; BLOCK]) {
        // A 16-byte array always has both 8-byte ends; the fallbacks are never taken.
        const NONE: [u8; BLOCK] = [0; BLOCK];
        (
            self.0.first_chunk().unwrap_or(&NONE),
            self.0.last_chunk().unwrap_or(&NONE),
        )
    }

    pub(crate) fn bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Triple DES (EDE, two keys) of two blocks under this key, with every byte of the
    /// result set to odd parity, as EMV Book 2 Annex A1.3 and A1.4 derive keys.
    pub(crate) fn derive(&self, left: [u8; BLOCK], right: [u8; BLOCK]) -> Self {
        let cipher = TdesEde2::new(&self.0.into());
        let mut out = [0u8; 16];
        for (half, input) in out.chunks_exact_mut(BLOCK).zip([left, right]) {
            let mut block = input.into();
            cipher.encrypt_block(&mut block);
            let block: [u8; BLOCK] = block.into();
            half.copy_from_slice(&block);
        }
        for byte in &mut out {
            *byte = odd_parity(*byte);
        }
        Self(out)
    }
}

fn hex_value(digit: u8) -> u8 {
    match digit {
        b'0'..=b'9' => digit - b'0',
        b'a'..=b'f' => digit - b'a' + 10,
        _ => digit - b'A' + 10,
    }
}

/// The byte with its lowest bit set so that it has an odd number of ones (DES keys'
/// parity bits; DES ignores them, EMV key derivations set them).
fn odd_parity(byte: u8) -> u8 {
    let high = byte & 0xFE;
    high | u8::from(high.count_ones().is_multiple_of(2))
}

macro_rules! key_type {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        ///
        /// # Security
        ///
        /// Zeroized on drop; `Debug` prints no key material; no `Display`, `PartialEq`
        /// or serialisation.
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name(pub(crate) DoubleLengthKey);

        impl $name {
            /// The key from its 16 bytes.
            #[must_use]
            pub fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(DoubleLengthKey::new(bytes))
            }

            /// The key from 32 hex digits (either case).
            ///
            /// # Errors
            ///
            /// [`EmvError::KeyCharacter`] for a character that is not a hex digit,
            /// [`EmvError::KeyLength`] for another length.
            pub fn from_hex(text: &str) -> Result<Self, EmvError> {
                DoubleLengthKey::from_hex(text).map(Self)
            }

            /// The key's 16 bytes, for sealing it at rest or loading it into a card.
            ///
            /// # Security
            ///
            /// The caller holds key material: seal it, never log it.
            #[must_use]
            pub fn expose_bytes(&self) -> &[u8; 16] {
                self.0.bytes()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                formatter.write_str(concat!($label, "([REDACTED])"))
            }
        }
    };
}

key_type!(
    /// The issuer's master key for application cryptograms (MK-AC, "IMK-AC"): the key
    /// every card's own key is derived from. It belongs in the bank's HSM or, here,
    /// sealed like every secret.
    IssuerMasterKey,
    "IssuerMasterKey"
);

key_type!(
    /// One card's master key for application cryptograms (MK-AC), derived from the
    /// issuer master key, the PAN and the PAN sequence number, and written into the
    /// card when it is personalised.
    CardMasterKey,
    "CardMasterKey"
);

key_type!(
    /// The key of one application cryptogram (SK-AC), derived from the card master key
    /// and the transaction counter.
    SessionKey,
    "SessionKey"
);

impl CardMasterKey {
    /// The key as a [`Secret`](crate::Secret), to seal it at rest with a
    /// [`Keyring`](crate::Keyring) like every token's secret.
    ///
    /// # Errors
    ///
    /// None in practice: a 16-byte secret is never empty.
    pub fn to_secret(&self) -> Result<crate::Secret, crate::SecretError> {
        crate::Secret::from_bytes(self.0.bytes())
    }

    /// The key from a [`Secret`](crate::Secret) opened from its seal.
    ///
    /// # Errors
    ///
    /// [`EmvError::KeyLength`] unless the secret has 16 bytes.
    pub fn from_secret(secret: &crate::Secret) -> Result<Self, EmvError> {
        let bytes = secret.expose_bytes();
        let array: [u8; 16] = bytes.try_into().map_err(|_| EmvError::KeyLength {
            length: bytes.len(),
        })?;
        Ok(Self::from_bytes(array))
    }

    /// Derives a card's master key from the issuer master key (EMV Book 2, Annex
    /// A1.4.1, option A): Y is the rightmost 16 digits of PAN ‖ PSN, zero-filled on
    /// the left when shorter, packed as 8 bytes of BCD; the key is
    /// 3DES(IMK)\[Y\] ‖ 3DES(IMK)\[Y ⊕ FF…FF\], with odd parity.
    ///
    /// ```
    /// use otpfob::emv::{CardMasterKey, IssuerMasterKey, Pan, PanSequenceNumber};
    ///
    /// let issuer = IssuerMasterKey::from_hex("0123456789ABCDEFFEDCBA9876543210")?;
    /// let pan: Pan = "12345678901234567".parse()?;
    /// let card = CardMasterKey::derive(&issuer, &pan, PanSequenceNumber::new(1)?);
    /// // pyemv's kd.derive_icc_mk_a gives the same key.
    /// assert_eq!(card.expose_bytes(), &[
    ///     0x73, 0xAD, 0x54, 0x68, 0x8C, 0xEF, 0x29, 0x34,
    ///     0xB0, 0x97, 0x98, 0x57, 0xE3, 0xC7, 0x19, 0xF1,
    /// ]);
    /// # Ok::<(), otpfob::emv::EmvError>(())
    /// ```
    #[must_use]
    pub fn derive(issuer: &IssuerMasterKey, pan: &Pan, sequence: PanSequenceNumber) -> Self {
        let mut digits = [0u8; 16];
        let pan_digits = pan.digits();
        let sequence_digits = [sequence.value() / 10, sequence.value() % 10];
        // The rightmost 16 of PAN ‖ PSN, right-justified in 16 zero digits.
        let all = pan_digits.iter().copied().chain(sequence_digits);
        let total = pan_digits.len() + 2;
        let skip = total.saturating_sub(16);
        let start = 16usize.saturating_sub(total);
        for (slot, digit) in digits[start..].iter_mut().zip(all.skip(skip)) {
            *slot = digit;
        }
        let mut left = [0u8; BLOCK];
        for (byte, pair) in left.iter_mut().zip(digits.chunks_exact(2)) {
            *byte = (pair[0] << 4) | pair[1];
        }
        let right = left.map(|byte| !byte);
        Self(issuer.0.derive(left, right))
    }
}
