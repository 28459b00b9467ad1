//! The bank's side of a locked fob's unlock procedure: the unlock code that answers
//! the challenge the fob shows, from the fob's sealed unlock key, audited.
//!
//! The code is computed by the same pure function as the fob's check
//! (`device::unlock`), so that the two sides cannot drift apart.

use crate::clock::TimeSource;
use crate::code::Code;
use crate::device::{UnlockChallenge, unlock_code};
use crate::validator::audit::Operation;
use crate::validator::error::ValidatorError;
use crate::validator::record::{Status, TokenId};
use crate::validator::store::Store;

use super::Validator;
use super::admin::refuse_if_revoked;

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// The unlock code that answers `challenge`, the challenge the locked fob `id`
    /// shows (its customer reads it out to the helpdesk): the fob's unlock key, sealed
    /// at its enrolment from its factory record ([`Enrolment::with_unlock_key`]), is
    /// opened and the code computed as
    /// [`FactoryRecord::unlock_code`](crate::device::FactoryRecord::unlock_code) would.
    ///
    /// The request is an `unlock_code` audit event naming the actor and the reason of
    /// the surrounding [`acting_as`](crate::validator::acting_as) and
    /// [`giving_reason`](crate::validator::giving_reason) scopes, chained into the
    /// token's record by a compare-and-swap: the code is returned only once that write
    /// has succeeded. The token's own state (its server-side lock, its failures) is
    /// not changed: the fob's PIN lock is the fob's, and the bank's lock is lifted by
    /// [`Validator::unlock`].
    ///
    /// # Errors
    ///
    /// [`StoreError::NotEnrolled`](crate::StoreError::NotEnrolled) for an unknown id;
    /// [`ValidatorError::NoUnlockKey`] for a token enrolled without an unlock key;
    /// [`ValidatorError::Lifecycle`] for a revoked token (whose fob must not be used
    /// again) and for one reported lost (until it is found);
    /// [`SealError::RecordTampered`](crate::SealError::RecordTampered) or
    /// [`SealError::Unauthentic`](crate::SealError::Unauthentic) for a record or an
    /// unlock key edited or swapped in the store; store errors and contention.
    ///
    /// ```
    /// use otpfob::{Device, Enrolment, KeyFob, Keyring, ManualClock, MemoryStore, SealingKey};
    /// use otpfob::{TotpParameters, Validator, device::DeviceState};
    ///
    /// let world = ManualClock::at_secs(1_767_225_600);
    /// let (mut fob, record) = KeyFob::builder("FOB-0001234", TotpParameters::default())
    ///     .pin("4821")
    ///     .build(world.clone())?;
    /// let bank = Validator::new(MemoryStore::new(), world, Keyring::new(SealingKey::generate(1)?));
    /// let id = bank.enrol(Enrolment::from(&record))?;
    /// drop(record); // the bank keeps only the sealed copy
    ///
    /// for _ in 0..3 {
    ///     let _ = fob.enter_pin("0000");
    /// }
    /// assert_eq!(fob.state(), DeviceState::Locked);
    /// let answer = bank.unlock_code(&id, &fob.unlock_challenge()?)?;
    /// fob.unlock(&answer, "1357")?;
    /// fob.enter_pin("1357")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Security
    ///
    /// The code opens the fob's PIN gate, as its PIN does: give it only to the
    /// customer who holds the fob, once identified. It is neither stored nor audited,
    /// and neither is the challenge. The unlock key is opened in memory for the one
    /// computation (also in strict mode, whose HSM holds only the OTP keys) and
    /// zeroized when it is dropped.
    ///
    /// [`Enrolment::with_unlock_key`]: crate::Enrolment::with_unlock_key
    pub fn unlock_code(
        &self,
        id: &TokenId,
        challenge: &UnlockChallenge,
    ) -> Result<Code, ValidatorError> {
        self.administer(id, Operation::UnlockCode, |record| {
            refuse_if_revoked(record)?;
            // A lost fob may be in a thief's hands, who has only to call the helpdesk
            // with its challenge: the customer reports it found first.
            if record.state.status == Status::Lost {
                return Err(ValidatorError::Lifecycle {
                    token: record.id.to_string(),
                    reason: "the token is reported lost: report it found before unlocking it",
                });
            }
            let sealed = record
                .unlock_key
                .as_ref()
                .ok_or_else(|| ValidatorError::NoUnlockKey {
                    token: record.id.to_string(),
                })?;
            let unlock_key =
                self.keyring
                    .open_unlock_key(&record.id, record.incarnation, sealed)?;
            Ok(unlock_code(&unlock_key, challenge))
        })
    }
}
