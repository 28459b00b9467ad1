//! The dry run and the all-or-nothing import of a migration file.

use std::collections::HashMap;

use super::error::shortened;
use super::{MigrateError, MigrationApplyError, MigrationFile, MigrationFormat, MigrationToken};
use crate::clock::TimeSource;
use crate::parameters::OtpParameters;
use crate::validator::error::ValidatorError;
use crate::validator::lifecycle::{CustomerRef, MAX_TOKENS_PER_CUSTOMER};
use crate::validator::record::TokenId;
use crate::validator::service::Validator;
use crate::validator::store::Store;

/// What the dry run found for one token of a file.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MigrationVerdict {
    /// It would be enrolled under this id; `changes` lists what otpfob keeps
    /// differently from the old server (empty when nothing does).
    WouldEnrol {
        /// The id it would be enrolled under.
        token: TokenId,
        /// What changes on the way.
        changes: Vec<MigrationChange>,
    },
    /// It would not be enrolled, and why.
    Refused(MigrateError),
}

/// Something otpfob keeps differently from the server a token comes from.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MigrationChange {
    /// A time shift in seconds becomes a drift in whole steps (otpfob learns drift in
    /// steps).
    TimeShiftRounded {
        /// The old server's shift, in seconds.
        seconds: f64,
        /// The drift otpfob starts with, in steps.
        steps: i64,
    },
    /// The old server's failure limit for this token differs from the policy's, which
    /// is what otpfob applies.
    FailureLimit {
        /// The old server's limit.
        old: u32,
        /// The validator's.
        policy: u32,
    },
    /// A part of the old record that the enrolment does not hold; it stays in this
    /// report (and the file): `"description"`. (The owner and the validity period
    /// are enrolled.)
    NotCarried {
        /// Which part.
        part: &'static str,
    },
    /// A part of the token's state that the file's format does not hold, so that the
    /// token starts without it: privacyIDEA's CSV export has no `"counter"` (an HOTP
    /// token starts at 0, and the codes privacyIDEA accepted are good again), no
    /// `"last accepted step"` (a TOTP token's spent code is good once more), no
    /// `"hash"` (read as SHA-1), and no `"failures, lock or status"`. Its YAML export
    /// holds them all.
    NotInFile {
        /// Which part.
        part: &'static str,
    },
}

/// What `format` leaves out of a token with `parameters`, as
/// [`MigrationChange::NotInFile`]s: only privacyIDEA's CSV export, which is a server's
/// export without the state (a vendor's seed file describes new fobs, whose state is
/// what it says).
fn not_in_file(format: MigrationFormat, parameters: OtpParameters) -> Vec<MigrationChange> {
    if format != MigrationFormat::PrivacyIdeaCsv {
        return Vec::new();
    }
    let position = match parameters {
        OtpParameters::Hotp(_) => "counter",
        OtpParameters::Totp(_) => "last accepted step",
    };
    [position, "hash", "failures, lock or status"]
        .into_iter()
        .map(|part| MigrationChange::NotInFile { part })
        .collect()
}

/// One token of the dry run's report.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MigrationOutcome {
    /// Its position in the file (line or record, one-based).
    pub position: usize,
    /// Its serial, if one could be read.
    pub serial: Option<String>,
    /// The owner the old server named, whom the token is enrolled for.
    pub owner: Option<CustomerRef>,
    /// What the dry run found.
    pub verdict: MigrationVerdict,
}

/// The dry run's report, token by token in file order.
#[derive(Debug, Clone, PartialEq, Default)]
#[must_use = "refused tokens are only reported here"]
#[non_exhaustive]
pub struct MigrationReport {
    /// Every token of the file.
    pub outcomes: Vec<MigrationOutcome>,
}

impl MigrationReport {
    /// How many tokens would be enrolled.
    #[must_use]
    pub fn would_enrol(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|outcome| matches!(outcome.verdict, MigrationVerdict::WouldEnrol { .. }))
            .count()
    }

    /// How many tokens are refused.
    #[must_use]
    pub fn refused(&self) -> usize {
        self.outcomes.len() - self.would_enrol()
    }
}

/// How far [`Validator::apply_migration`] has got: `done` of `total` tokens enrolled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MigrationProgress {
    /// Tokens enrolled so far.
    pub done: usize,
    /// Tokens in the file.
    pub total: usize,
}

impl<S: Store, C: TimeSource> Validator<S, C> {
    /// The dry run: reports, token by token, whether it would be enrolled (and what
    /// changes on the way) or is refused and why, without writing anything. Refused
    /// besides what the reader refused: a token whose id is already enrolled, every
    /// token of an owner who would then hold more than
    /// [`MAX_TOKENS_PER_CUSTOMER`](crate::validator::MAX_TOKENS_PER_CUSTOMER)
    /// (counting the tokens enrolled for them already), and one whose enrolment the
    /// validator would refuse.
    ///
    /// ```
    /// # #[cfg(feature = "migrate")] {
    /// use otpfob::{Keyring, ManualClock, MemoryStore, SealingKey, Validator};
    /// use otpfob::migrate::{KeyEncoding, MigrationFormat, read_migration};
    ///
    /// let bank = Validator::new(MemoryStore::new(), ManualClock::at_secs(1_767_225_600), Keyring::new(SealingKey::generate(1)?));
    /// let file = read_migration(MigrationFormat::OathCsv, b"FOB-1, 3132333435363738393031323334353637383930, hotp, 6, 3\nFOB-2, 31zz\n", KeyEncoding::Hex)?;
    /// let report = bank.plan_migration(&file);
    /// assert_eq!((report.would_enrol(), report.refused()), (1, 1));
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn plan_migration(&self, file: &MigrationFile) -> MigrationReport {
        let held = self.tokens_per_owner(file);
        let outcomes = file
            .entries
            .iter()
            .map(|entry| {
                let owner = entry
                    .token
                    .as_ref()
                    .ok()
                    .and_then(|token| token.owner.clone());
                let verdict = match &entry.token {
                    Err(error) => MigrationVerdict::Refused(error.clone()),
                    Ok(read) => match self.plan_token(read, &held) {
                        Ok((token, mut changes)) => {
                            changes.extend(not_in_file(file.format, read.parameters));
                            MigrationVerdict::WouldEnrol { token, changes }
                        }
                        Err(error) => MigrationVerdict::Refused(error),
                    },
                };
                MigrationOutcome {
                    position: entry.position,
                    serial: entry.serial.clone(),
                    owner,
                    verdict,
                }
            })
            .collect();
        MigrationReport { outcomes }
    }

    /// For each owner of the file's readable tokens: how many tokens they would hold
    /// after the import (those enrolled for them already and the file's), or the
    /// store's error.
    fn tokens_per_owner(
        &self,
        file: &MigrationFile,
    ) -> HashMap<CustomerRef, Result<usize, MigrateError>> {
        let mut held: HashMap<CustomerRef, Result<usize, MigrateError>> = HashMap::new();
        for token in file
            .entries
            .iter()
            .filter_map(|entry| entry.token.as_ref().ok())
        {
            let Some(owner) = &token.owner else { continue };
            let count = held.entry(owner.clone()).or_insert_with(|| {
                self.store()
                    .tokens_of(owner)
                    .map(|tokens| tokens.len())
                    .map_err(|error| MigrateError::Store(error.into()))
            });
            if let Ok(count) = count {
                *count += 1;
            }
        }
        held
    }

    fn plan_token(
        &self,
        token: &MigrationToken,
        held: &HashMap<CustomerRef, Result<usize, MigrateError>>,
    ) -> Result<(TokenId, Vec<MigrationChange>), MigrateError> {
        let id = token.token_id().map_err(MigrateError::TokenId)?;
        if self.state(&id).map_err(MigrateError::Store)?.is_some() {
            return Err(MigrateError::AlreadyEnrolled {
                serial: shortened(&token.serial),
            });
        }
        if let Some(owner) = &token.owner {
            match held.get(owner) {
                Some(Ok(count)) if *count > MAX_TOKENS_PER_CUSTOMER => {
                    return Err(MigrateError::TooManyTokens {
                        owner: shortened(owner.as_str()),
                        count: *count,
                        maximum: MAX_TOKENS_PER_CUSTOMER,
                    });
                }
                Some(Err(error)) => return Err(error.clone()),
                _ => {}
            }
        }
        let mut changes = Vec::new();
        if let OtpParameters::Totp(parameters) = token.parameters {
            let steps = token.drift_steps();
            #[allow(clippy::cast_precision_loss)]
            let exact = (steps as f64) * (parameters.time_step as f64);
            if (exact - token.time_shift_seconds).abs() > f64::EPSILON {
                changes.push(MigrationChange::TimeShiftRounded {
                    seconds: token.time_shift_seconds,
                    steps,
                });
            }
        }
        let policy_limit = self.policy().failure_limit;
        if let Some(old) = token.failure_limit
            && old != policy_limit
        {
            changes.push(MigrationChange::FailureLimit {
                old,
                policy: policy_limit,
            });
        }
        if token.description.is_some() {
            changes.push(MigrationChange::NotCarried {
                part: "description",
            });
        }
        Ok((id, changes))
    }

    /// Imports a whole file or nothing: the dry run first ([`Validator::plan_migration`]),
    /// and if it refuses any token, nothing is written; then every token is enrolled
    /// (each enrolment audited), `progress` told after each; if one fails (another
    /// node enrolled the id meanwhile, a store error), those enrolled before it are
    /// deleted again, each deletion audited, and nothing of the file stays.
    ///
    /// # Errors
    ///
    /// [`MigrationApplyError::Refused`] with the dry run's report;
    /// [`MigrationApplyError::Enrol`] when an enrolment failed and was rolled back;
    /// [`MigrationApplyError::RollbackIncomplete`] when the rollback itself failed,
    /// naming the tokens left.
    ///
    /// # Security
    ///
    /// Between the dry run and the last enrolment other tokens may be enrolled or
    /// verified: the import is all-or-nothing for the file's tokens, not a
    /// transaction over the store. A token of the file may be used (its codes
    /// accepted) before a rollback deletes it; import before the old server is
    /// switched off, not while both serve.
    pub fn apply_migration(
        &self,
        file: &MigrationFile,
        mut progress: impl FnMut(MigrationProgress),
    ) -> Result<MigrationReport, MigrationApplyError> {
        let report = self.plan_migration(file);
        let refused = report.refused();
        if refused > 0 {
            return Err(MigrationApplyError::Refused { refused, report });
        }
        // The dry run refused no entry, so every entry holds a token.
        let tokens: Vec<&MigrationToken> = file
            .entries
            .iter()
            .filter_map(|entry| entry.token.as_ref().ok())
            .collect();
        let total = tokens.len();
        let mut enrolled: Vec<TokenId> = Vec::with_capacity(total);
        for token in tokens {
            let result = token
                .enrolment()
                .map_err(ValidatorError::from)
                .and_then(|enrolment| self.enrol(enrolment));
            match result {
                Ok(id) => {
                    enrolled.push(id);
                    progress(MigrationProgress {
                        done: enrolled.len(),
                        total,
                    });
                }
                Err(error) => {
                    let rolled_back = enrolled.len();
                    let left: Vec<String> = enrolled
                        .iter()
                        .filter(|id| self.delete(id).is_err())
                        .map(|id| id.to_string())
                        .collect();
                    let serial = shortened(&token.serial);
                    let error = Box::new(error);
                    return Err(if left.is_empty() {
                        MigrationApplyError::Enrol {
                            serial,
                            error,
                            rolled_back,
                        }
                    } else {
                        MigrationApplyError::RollbackIncomplete {
                            serial,
                            error,
                            left,
                        }
                    });
                }
            }
        }
        Ok(report)
    }
}
