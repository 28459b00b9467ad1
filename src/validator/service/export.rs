//! Taking tokens out of the validator for another server (feature `pskc`): each
//! secret opened through the keyring, and each export audited, chained into the
//! token's record by the same compare-and-swap, before the secret leaves.

use std::sync::Arc;

use crate::clock::{TimeSource, UnixTime};
use crate::secret::Secret;
use crate::validator::audit::{Operation, acting_as};
use crate::validator::error::{StoreError, ValidatorError};
use crate::validator::record::{TokenId, TokenState};
use crate::validator::store::Store;

use super::Validator;

/// A token opened for export: its id, its secret and its state as the audited
/// compare-and-swap found them. Not a fob's unlock key: PSKC (RFC 6030) has no place
/// for one, so it stays sealed here, and the server the token moves to answers no
/// unlock challenge of it unless it is given the vendor's key apart.
pub(crate) struct OpenedToken {
    pub(crate) id: TokenId,
    pub(crate) secret: Secret,
    pub(crate) state: TokenState,
}

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// Opens token `id` for export on behalf of `actor`, if `exportable` lets its
    /// state go (`Ok(Err(why))` otherwise, with nothing written). The export is an
    /// `export` audit event naming the actor, chained into the token's record by the
    /// compare-and-swap that also checks the state once more: the secret is returned
    /// only once that write has succeeded.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotEnrolled`], a record that fails its MAC check or whose secret
    /// does not open, store errors, contention, and [`ValidatorError::Lifecycle`] for
    /// a token whose state changed between the check and the write so that it is no
    /// longer exportable.
    pub(crate) fn open_for_export<Skip>(
        &self,
        actor: Arc<str>,
        id: &TokenId,
        exportable: &impl Fn(&TokenState, UnixTime) -> Result<(), Skip>,
    ) -> Result<Result<OpenedToken, Skip>, ValidatorError> {
        acting_as(actor, || {
            let now = self.clock.now();
            let record = self.load_checked(id, Operation::Export)?.ok_or_else(|| {
                StoreError::NotEnrolled {
                    token: id.to_string(),
                }
            })?;
            if let Err(skip) = exportable(&record.state, now) {
                return Ok(Err(skip));
            }
            self.administer_at(id, Operation::Export, now, |record| {
                // Checked again on the record the swap replaces: a token disabled or
                // locked since the first look is not exported.
                if exportable(&record.state, now).is_err() {
                    return Err(ValidatorError::Lifecycle {
                        token: record.id.to_string(),
                        reason: "the token changed during the export",
                    });
                }
                let secret = self.keyring.open(&record.id, &record.sealed_secret)?;
                Ok(OpenedToken {
                    id: record.id.clone(),
                    secret,
                    state: record.state.clone(),
                })
            })
            .map(Ok)
        })
    }
}
