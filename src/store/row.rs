//! Token records and audit events as flat rows of SQL-friendly values, shared by the
//! SQL stores so they store the same columns with the same meaning.
//!
//! Unsigned 64-bit values (versions, counters, steps, T0) are stored as the signed
//! 64-bit integer with the same bits, since SQL integers are signed: every `u64`
//! round-trips exactly. Times are stored as whole seconds since the epoch plus the
//! nanoseconds within that second.

use crate::algorithm::Algorithm;
use crate::clock::UnixTime;
use crate::error::StoreError;
use crate::hotp::HotpParameters;
use crate::totp::TotpParameters;
use crate::validator::audit::{AuditEvent, Operation, Outcome};
use crate::validator::decision::RejectReason;
use crate::validator::pin::PinHash;
use crate::validator::record::{Lock, Status, TokenId, TokenKind, TokenRecord, TokenState};
use crate::validator::seal::SealedSecret;

/// The bits of `value` as a signed integer.
pub(crate) fn to_sql(value: u64) -> i64 {
    value as i64
}

/// The unsigned integer whose bits `value` holds.
pub(crate) fn from_sql(value: i64) -> u64 {
    value as u64
}

/// `time` as whole seconds (towards the past) and nanoseconds within the second.
pub(crate) fn time_to_sql(time: UnixTime) -> (i64, i64) {
    let seconds = time.as_secs();
    let nanos = time.as_nanos() - i128::from(seconds) * 1_000_000_000;
    (seconds, nanos as i64)
}

/// The time from seconds and nanoseconds.
pub(crate) fn time_from_sql(seconds: i64, nanos: i64) -> UnixTime {
    UnixTime::from_nanos(i128::from(seconds) * 1_000_000_000 + i128::from(nanos))
}

/// One `tokens` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenRow {
    pub(crate) id: String,
    pub(crate) version: i64,
    /// `event` or `time`.
    pub(crate) kind: String,
    pub(crate) algorithm: String,
    pub(crate) digits: i64,
    pub(crate) time_step: Option<i64>,
    pub(crate) t0: Option<i64>,
    pub(crate) next_counter: Option<i64>,
    pub(crate) last_accepted_step: Option<i64>,
    pub(crate) drift_steps: Option<i64>,
    pub(crate) synced_seconds: Option<i64>,
    pub(crate) synced_nanos: Option<i64>,
    pub(crate) failures: i64,
    pub(crate) lockouts: i64,
    /// `unlocked`, `until_unlocked` or `until`.
    pub(crate) lock_kind: String,
    pub(crate) lock_seconds: Option<i64>,
    pub(crate) lock_nanos: Option<i64>,
    /// `active` or `disabled`.
    pub(crate) status: String,
    pub(crate) seal_key_id: i64,
    pub(crate) seal_nonce: Vec<u8>,
    pub(crate) seal_ciphertext: Vec<u8>,
    pub(crate) pin_hash: Option<String>,
    pub(crate) enrolled_seconds: i64,
    pub(crate) enrolled_nanos: i64,
}

impl TokenRow {
    pub(crate) fn from_record(record: &TokenRecord) -> Self {
        let state = &record.state;
        let (kind, algorithm, digits) = match state.kind {
            TokenKind::Event { parameters, .. } => {
                ("event", parameters.algorithm, parameters.digits)
            }
            TokenKind::Time { parameters, .. } => ("time", parameters.algorithm, parameters.digits),
        };
        let mut row = TokenRow {
            id: record.id.to_string(),
            version: to_sql(record.version),
            kind: kind.to_owned(),
            algorithm: algorithm.name().to_owned(),
            digits: i64::from(digits),
            time_step: None,
            t0: None,
            next_counter: None,
            last_accepted_step: None,
            drift_steps: None,
            synced_seconds: None,
            synced_nanos: None,
            failures: i64::from(state.failures),
            lockouts: i64::from(state.lockouts),
            lock_kind: String::new(),
            lock_seconds: None,
            lock_nanos: None,
            status: match state.status {
                Status::Active => "active",
                Status::Disabled => "disabled",
            }
            .to_owned(),
            seal_key_id: i64::from(record.sealed_secret.key_id),
            seal_nonce: record.sealed_secret.nonce.to_vec(),
            seal_ciphertext: record.sealed_secret.ciphertext.clone(),
            pin_hash: record.pin.as_ref().map(|pin| pin.as_phc().to_owned()),
            enrolled_seconds: 0,
            enrolled_nanos: 0,
        };
        match state.kind {
            TokenKind::Event { next_counter, .. } => row.next_counter = Some(to_sql(next_counter)),
            TokenKind::Time {
                parameters,
                last_accepted_step,
                drift_steps,
                synced_at,
            } => {
                row.time_step = Some(to_sql(parameters.time_step));
                row.t0 = Some(to_sql(parameters.t0));
                row.last_accepted_step = last_accepted_step.map(to_sql);
                row.drift_steps = Some(drift_steps);
                let (seconds, nanos) = time_to_sql(synced_at);
                row.synced_seconds = Some(seconds);
                row.synced_nanos = Some(nanos);
            }
        }
        let (lock_kind, lock_time) = match state.lock {
            Lock::Unlocked => ("unlocked", None),
            Lock::UntilUnlocked { since } => ("until_unlocked", Some(since)),
            Lock::Until { until } => ("until", Some(until)),
        };
        row.lock_kind = lock_kind.to_owned();
        if let Some(time) = lock_time {
            let (seconds, nanos) = time_to_sql(time);
            row.lock_seconds = Some(seconds);
            row.lock_nanos = Some(nanos);
        }
        (row.enrolled_seconds, row.enrolled_nanos) = time_to_sql(record.enrolled_at);
        row
    }

    /// Reads the row back, checking every field; any inconsistency is corruption.
    pub(crate) fn into_record(self) -> Result<TokenRecord, StoreError> {
        let token = self.id.clone();
        let corrupt = |reason: &str| StoreError::Corrupt {
            token: token.clone(),
            reason: reason.to_owned(),
        };
        let id = TokenId::new(self.id.clone()).map_err(|_| corrupt("invalid token id"))?;
        let algorithm: Algorithm = self
            .algorithm
            .parse()
            .map_err(|_| corrupt("unknown algorithm"))?;
        let digits = u8::try_from(self.digits).map_err(|_| corrupt("digits out of range"))?;
        let kind = match self.kind.as_str() {
            "event" => TokenKind::Event {
                parameters: HotpParameters { algorithm, digits },
                next_counter: from_sql(
                    self.next_counter
                        .ok_or_else(|| corrupt("event token without counter"))?,
                ),
            },
            "time" => {
                let time_step = self
                    .time_step
                    .ok_or_else(|| corrupt("time token without time step"))?;
                let t0 = self.t0.ok_or_else(|| corrupt("time token without T0"))?;
                TokenKind::Time {
                    parameters: TotpParameters {
                        algorithm,
                        digits,
                        time_step: from_sql(time_step),
                        t0: from_sql(t0),
                    },
                    last_accepted_step: self.last_accepted_step.map(from_sql),
                    drift_steps: self
                        .drift_steps
                        .ok_or_else(|| corrupt("time token without drift"))?,
                    synced_at: time_from_sql(
                        self.synced_seconds
                            .ok_or_else(|| corrupt("time token without sync time"))?,
                        self.synced_nanos.unwrap_or(0),
                    ),
                }
            }
            _ => return Err(corrupt("unknown token kind")),
        };
        kind.parameters()
            .validate()
            .map_err(|_| corrupt("invalid code parameters"))?;
        let lock_time = || -> Result<UnixTime, StoreError> {
            Ok(time_from_sql(
                self.lock_seconds
                    .ok_or_else(|| corrupt("lock without time"))?,
                self.lock_nanos.unwrap_or(0),
            ))
        };
        let lock = match self.lock_kind.as_str() {
            "unlocked" => Lock::Unlocked,
            "until_unlocked" => Lock::UntilUnlocked {
                since: lock_time()?,
            },
            "until" => Lock::Until {
                until: lock_time()?,
            },
            _ => return Err(corrupt("unknown lock")),
        };
        let status = match self.status.as_str() {
            "active" => Status::Active,
            "disabled" => Status::Disabled,
            _ => return Err(corrupt("unknown status")),
        };
        let nonce: [u8; 12] = self
            .seal_nonce
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("nonce is not 12 bytes"))?;
        let pin = self
            .pin_hash
            .map(PinHash::from_phc)
            .transpose()
            .map_err(|_| corrupt("malformed PIN hash"))?;
        Ok(TokenRecord {
            id,
            sealed_secret: SealedSecret {
                key_id: u32::try_from(self.seal_key_id)
                    .map_err(|_| corrupt("key id out of range"))?,
                nonce,
                ciphertext: self.seal_ciphertext,
            },
            pin,
            state: TokenState {
                kind,
                failures: u32::try_from(self.failures)
                    .map_err(|_| corrupt("failures out of range"))?,
                lockouts: u32::try_from(self.lockouts)
                    .map_err(|_| corrupt("lockouts out of range"))?,
                lock,
                status,
            },
            enrolled_at: time_from_sql(self.enrolled_seconds, self.enrolled_nanos),
            version: from_sql(self.version),
        })
    }
}

/// One `audit` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuditRow {
    pub(crate) token: String,
    pub(crate) at_seconds: i64,
    pub(crate) at_nanos: i64,
    pub(crate) operation: String,
    /// `accepted`, `rejected` or `done`.
    pub(crate) outcome: String,
    pub(crate) reason: Option<String>,
    pub(crate) offset: Option<i64>,
}

impl AuditRow {
    pub(crate) fn from_event(event: &AuditEvent) -> Self {
        let (at_seconds, at_nanos) = time_to_sql(event.at);
        let (outcome, reason) = match event.outcome {
            Outcome::Accepted => ("accepted", None),
            Outcome::Rejected(reason) => ("rejected", Some(reason.as_str().to_owned())),
            Outcome::Done => ("done", None),
        };
        Self {
            token: event.token.to_string(),
            at_seconds,
            at_nanos,
            operation: event.operation.as_str().to_owned(),
            outcome: outcome.to_owned(),
            reason,
            offset: event.offset,
        }
    }

    pub(crate) fn into_event(self) -> Result<AuditEvent, StoreError> {
        let corrupt = |reason: &str| StoreError::Corrupt {
            token: self.token.clone(),
            reason: reason.to_owned(),
        };
        let outcome = match (self.outcome.as_str(), self.reason.as_deref()) {
            ("accepted", _) => Outcome::Accepted,
            ("done", _) => Outcome::Done,
            ("rejected", Some(reason)) => Outcome::Rejected(
                RejectReason::from_name(reason).ok_or_else(|| corrupt("unknown audit reason"))?,
            ),
            _ => return Err(corrupt("unknown audit outcome")),
        };
        Ok(AuditEvent {
            token: TokenId::new(self.token.clone()).map_err(|_| corrupt("invalid token id"))?,
            at: time_from_sql(self.at_seconds, self.at_nanos),
            operation: Operation::from_name(&self.operation)
                .ok_or_else(|| corrupt("unknown audit operation"))?,
            outcome,
            offset: self.offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_values_round_trip() {
        for value in [0, 1, i64::MAX as u64, i64::MAX as u64 + 1, u64::MAX] {
            assert_eq!(from_sql(to_sql(value)), value);
        }
    }

    #[test]
    fn times_round_trip() {
        for nanos in [
            0,
            1,
            -1,
            1_500_000_000,
            -1_500_000_000,
            20_000_000_000_000_000_123,
        ] {
            let time = UnixTime::from_nanos(nanos);
            let (seconds, within) = time_to_sql(time);
            assert!((0..1_000_000_000).contains(&within));
            assert_eq!(time_from_sql(seconds, within), time);
        }
    }
}
