//! Emergency codes: the short printed (or read-out) list of single-use codes a bank
//! gives a customer whose fob is lost, until the fob is found or replaced.

use core::fmt;
use core::num::NonZeroU32;

use zeroize::Zeroizing;

use crate::algorithm::Algorithm;
use crate::clock::TimeSource;
use crate::hotp::{Hotp, HotpParameters};
use crate::secret::Secret;
use crate::validator::enrolment::{CarriedState, Enrolment};
use crate::validator::error::{SealError, ValidatorError};
use crate::validator::record::TokenId;
use crate::validator::store::Store;

use super::Validator;

/// The most emergency codes one list may hold: the validator's default HOTP look-ahead
/// (10) reaches the last of them from the first, so a code skipped on the list does not
/// strand the ones after it.
pub const MAX_EMERGENCY_CODES: u32 = 10;

/// How the codes of a list are made: 8 digits (with the default look-ahead of 10, a
/// guess matches one of the 11 codes in the window with probability 11 in 10^8),
/// HMAC-SHA-256.
pub const EMERGENCY_CODE_PARAMETERS: HotpParameters = HotpParameters {
    algorithm: Algorithm::Sha256,
    digits: 8,
};

/// The bits of each list's fresh secret.
const EMERGENCY_SECRET_BITS: usize = 256;

/// A list of emergency codes, to be shown to the customer once
/// ([`Validator::issue_emergency_codes`]).
///
/// # Security
///
/// The codes are the only copy outside the sealed record: they are zeroized when this
/// is dropped, and `Debug` shows only the token id and how many there are.
#[must_use]
pub struct EmergencyCodes {
    token: TokenId,
    codes: Vec<Zeroizing<String>>,
}

impl EmergencyCodes {
    /// The token the codes belong to (enrolled for the lost token's customer).
    pub fn token(&self) -> &TokenId {
        &self.token
    }

    /// The codes, in the order they are to be used.
    pub fn codes(&self) -> impl ExactSizeIterator<Item = &str> {
        self.codes.iter().map(|code| code.as_str())
    }
}

impl fmt::Debug for EmergencyCodes {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("EmergencyCodes")
            .field("token", &self.token)
            .field("codes", &format_args!("[{} REDACTED]", self.codes.len()))
            .finish()
    }
}

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Issues `count` single-use emergency codes for the customer of a token reported
    /// lost: a temporary replacement ([`Validator::issue_temporary_replacement`]) that
    /// is an event token `id` with a fresh secret nobody keeps, whose first `count`
    /// codes are returned here, once. It ends on its own after `lifetime` or when
    /// `count` codes have been accepted, whichever comes first
    /// ([`Enrolment::with_use_limit`]); end it sooner with [`Validator::revoke`].
    ///
    /// The customer uses the codes in the list's order, as an event fob's: a code
    /// accepted also spends the ones listed before it. A lost token with a
    /// server-side PIN passes its PIN hash on: the customer types the same PIN with
    /// each code.
    ///
    /// ```
    /// use core::{num::NonZeroU32, time::Duration};
    /// use otpfob::{Keyring, ManualClock, MemoryStore, SealingKey, Secret, TokenId, Validator};
    /// use otpfob::{Enrolment, TotpParameters, validator::{CustomerRef, RejectReason}};
    ///
    /// let bank = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_767_225_600),
    ///     Keyring::new(SealingKey::generate(1)?));
    /// let alice = CustomerRef::new("C-1")?;
    /// let fob = bank.enrol(Enrolment::new(TokenId::new("FOB-1")?,
    ///     Secret::generate_default()?, TotpParameters::default()).with_owner(alice.clone()))?;
    /// bank.report_lost(&fob)?;
    /// let list = bank.issue_emergency_codes(&fob, TokenId::new("FOB-1.emergency")?,
    ///     NonZeroU32::new(2).unwrap(), Duration::from_secs(7 * 86_400))?;
    /// let codes: Vec<String> = list.codes().map(str::to_owned).collect();
    /// assert!(bank.verify_customer(&alice, &codes[0], None).is_ok());
    /// assert!(bank.verify_customer(&alice, &codes[0], None).is_err()); // single use
    /// assert!(bank.verify_customer(&alice, &codes[1], None).is_ok());
    /// let spent = bank.verify(list.token(), &codes[1], None).unwrap_err();
    /// assert_eq!(spent.reason(), RejectReason::UsesSpent);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ValidatorError::Lifecycle`] for more than [`MAX_EMERGENCY_CODES`], or if
    /// `lost` is not reported lost; [`SealError::RandomSource`] without randomness;
    /// and as [`Validator::issue_temporary_replacement`].
    pub fn issue_emergency_codes(
        &self,
        lost: &TokenId,
        id: TokenId,
        count: NonZeroU32,
        lifetime: core::time::Duration,
    ) -> Result<EmergencyCodes, ValidatorError> {
        if count.get() > MAX_EMERGENCY_CODES {
            return Err(ValidatorError::Lifecycle {
                token: id.to_string(),
                reason: "a list holds at most 10 emergency codes",
            });
        }
        let secret =
            Secret::generate(EMERGENCY_SECRET_BITS).map_err(|error| SealError::RandomSource {
                reason: error.to_string(),
            })?;
        let generator = Hotp::new(&secret, EMERGENCY_CODE_PARAMETERS)?;
        let codes = (0..u64::from(count.get()))
            .map(|counter| Zeroizing::new(generator.at(counter).to_string()))
            .collect();
        let enrolment = Enrolment::new(id, secret, EMERGENCY_CODE_PARAMETERS).with_use_limit(count);
        // The customer's PIN stays what it was: the lost token's server-side PIN hash,
        // if it has one, guards the list too, so that a list read by someone else is
        // not enough on its own.
        let token = self.enrol_temporary(lost, lifetime, |record| {
            enrolment.with_carried(CarriedState {
                pin_hash: record.pin.clone(),
                ..CarriedState::default()
            })
        })?;
        Ok(EmergencyCodes { token, codes })
    }
}
