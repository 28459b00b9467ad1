//! Token records and audit events as flat rows of SQL-friendly values, shared by the
//! SQL stores so they store the same columns with the same meaning.
//!
//! Unsigned 64-bit values (versions, counters, steps, T0) are stored as the signed
//! 64-bit integer with the same bits, since SQL integers are signed: every `u64`
//! round-trips exactly. Times are stored as whole seconds since the epoch plus the
//! nanoseconds within that second.
//!
//! The `ocra_*` columns (schema version 2) hold a keypad token's OCRA state; every one
//! is nullable and all are null for a token without an OCRA suite, so a version-1 row
//! with the columns added reads back as the same record.
//!
//! The `incarnation` column (schema version 3) holds the record's random enrolment
//! id; the compare-and-swap of both SQL stores matches it together with the version.
//! The `mac_key_id` and `mac` columns (schema version 4) hold the record's MAC, which
//! the validator computes and checks: the store never holds its key.
//!
//! The audit table's `actor` column (schema version 5) names who caused each event
//! (the API client, operator or service of `acting_as`); null for an event without
//! one, and for every row written before version 5.
//!
//! Schema version 9 (the audit trail): the audit table's `actor_kind`, `channel`,
//! `request_id` and `node` say where an event came from, and its `chain_hash` is the
//! event's link in its token's hash chain, whose head is the `tokens` table's
//! `audit_head` (see `validator::chain`). All are null in rows written before it: an
//! old audit row is unchained (before the chain began) and an old record has no head
//! until its next change.
//!
//! Schema version 12: the audit table's `given_reason`, why an operator did it as
//! they gave it (`AuditEvent::reason`); null when none was given, and in every older
//! row.
//!
//! Schema version 11: the `tokens` table's `uses_left`, the use limit of a temporary
//! replacement or a list of emergency codes, and `replaces`, the lost token a
//! temporary replacement stands in for; both null (no limit, no replacement) for
//! every older row.
//!
//! Schema version 13: the `tokens` table's `unlock_seal_key_id`, `unlock_seal_nonce`
//! and `unlock_seal_ciphertext`, a fob's unlock key sealed like the secret (key id,
//! nonce, ciphertext); all null for a token without one (a soft token, a PSKC import,
//! every older row), all set for a fob enrolled from its factory record.

use std::sync::Arc;

use crate::algorithm::Algorithm;
use crate::clock::UnixTime;
use crate::hotp::HotpParameters;
use crate::ocra::{Challenge, OcraSuite, SigningNonce};
use crate::totp::TotpParameters;
use crate::validator::audit::{
    ActorKind, AuditContext, AuditEvent, AuditReason, ChainHash, Operation, Outcome,
};
use crate::validator::challenge::{
    ChallengeSlot, IssuedChallenge, OcraState, TransactionCommitment,
};
use crate::validator::error::RejectReason;
use crate::validator::error::StoreError;
use crate::validator::lifecycle::{CustomerRef, Validity};
use crate::validator::pin::PinHash;
use crate::validator::record::{
    Incarnation, Lock, Status, TokenId, TokenKind, TokenRecord, TokenState,
};
use crate::validator::sealed::RecordMac;
use crate::validator::sealed::SealedSecret;

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

/// Calls `$callback!` with every column of the `tokens` table, which are the fields of
/// [`TokenRow`], in order: the one list from which the SQL stores name, bind and read
/// their columns, so a new column cannot be added to one place and forgotten in another.
macro_rules! for_each_token_column {
    ($callback:ident) => {
        $callback! {
            id,
            version,
            kind,
            algorithm,
            digits,
            time_step,
            t0,
            next_counter,
            last_accepted_step,
            drift_steps,
            synced_seconds,
            synced_nanos,
            failures,
            lockouts,
            lock_kind,
            lock_seconds,
            lock_nanos,
            status,
            seal_key_id,
            seal_nonce,
            seal_ciphertext,
            pin_hash,
            enrolled_seconds,
            enrolled_nanos,
            ocra_suite,
            ocra_counter,
            ocra_drift_steps,
            ocra_synced_seconds,
            ocra_synced_nanos,
            ocra_challenge_state,
            ocra_challenge,
            ocra_challenge_expires_seconds,
            ocra_challenge_expires_nanos,
            ocra_transaction_nonce,
            ocra_transaction_digest,
            ocra_pin_key_id,
            ocra_pin_nonce,
            ocra_pin_ciphertext,
            incarnation,
            mac_key_id,
            mac,
            cap_pan,
            cap_sequence,
            cap_expiry_year,
            cap_expiry_month,
            cap_derivation,
            cap_interchange_profile,
            cap_bitmap,
            cap_flags,
            cap_modes,
            cap_look_ahead,
            owner,
            not_before_seconds,
            not_before_nanos,
            not_after_seconds,
            not_after_nanos,
            audit_head,
            uses_left,
            replaces,
            unlock_seal_key_id,
            unlock_seal_nonce,
            unlock_seal_ciphertext
        }
    };
}
pub(crate) use for_each_token_column;

macro_rules! column_names {
    ($($column:ident),*) => {
        [$(stringify!($column)),*]
    };
}

/// The columns of the `tokens` table, in [`TokenRow`]'s field order.
pub(crate) const TOKEN_COLUMNS: &[&str] = &for_each_token_column!(column_names);

/// How many columns the `tokens` table has.
pub(crate) const TOKEN_COLUMN_COUNT: usize = TOKEN_COLUMNS.len();

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
    /// The OCRA suite string; null for a token without a keypad, and then every other
    /// `ocra_` column is null too.
    pub(crate) ocra_suite: Option<String>,
    /// The next expected OCRA counter, for suites with `C`.
    pub(crate) ocra_counter: Option<i64>,
    pub(crate) ocra_drift_steps: Option<i64>,
    pub(crate) ocra_synced_seconds: Option<i64>,
    pub(crate) ocra_synced_nanos: Option<i64>,
    /// `empty`, `open` or `spent`.
    pub(crate) ocra_challenge_state: Option<String>,
    /// The open challenge's text.
    pub(crate) ocra_challenge: Option<String>,
    pub(crate) ocra_challenge_expires_seconds: Option<i64>,
    pub(crate) ocra_challenge_expires_nanos: Option<i64>,
    /// For an open signature challenge: the signing nonce, 16 bytes.
    pub(crate) ocra_transaction_nonce: Option<Vec<u8>>,
    /// For an open signature challenge: SHA-256 of the transfer's encoding, 32 bytes.
    pub(crate) ocra_transaction_digest: Option<Vec<u8>>,
    /// The sealed device PIN hash of a suite with `P`: key id, nonce, ciphertext.
    pub(crate) ocra_pin_key_id: Option<i64>,
    pub(crate) ocra_pin_nonce: Option<Vec<u8>>,
    pub(crate) ocra_pin_ciphertext: Option<Vec<u8>>,
    /// The record's [`Incarnation`], 16 bytes (schema version 3); nullable in the
    /// table only because a column added to existing rows must be, and a null reads
    /// as corruption.
    pub(crate) incarnation: Option<Vec<u8>>,
    /// The record's MAC (schema version 4): the sealing key id its MAC key derives
    /// from, and the 32-byte HMAC-SHA-256; both null for a row written before records
    /// were authenticated, which the validator refuses.
    pub(crate) mac_key_id: Option<i64>,
    pub(crate) mac: Option<Vec<u8>>,
    /// An EMV-CAP card's public profile (kind `cap`, feature `emv-cap`): its PAN's
    /// digits, sequence number, expiry year and month, session key derivation
    /// (`common` or `mastercard`), AIP (2 bytes), IPB mask and IAF byte, the set of
    /// modes accepted (bits as `CapModes::bits`) and the ATC look-ahead; its next
    /// expected ATC is `next_counter`. All null for other kinds.
    pub(crate) cap_pan: Option<String>,
    pub(crate) cap_sequence: Option<i64>,
    pub(crate) cap_expiry_year: Option<i64>,
    pub(crate) cap_expiry_month: Option<i64>,
    pub(crate) cap_derivation: Option<String>,
    pub(crate) cap_interchange_profile: Option<Vec<u8>>,
    pub(crate) cap_bitmap: Option<Vec<u8>>,
    pub(crate) cap_flags: Option<i64>,
    pub(crate) cap_modes: Option<i64>,
    pub(crate) cap_look_ahead: Option<i64>,
    /// The customer who holds the token (schema version 8); null when unassigned.
    /// Indexed: [`Store::tokens_of`](crate::validator::Store::tokens_of) reads by it.
    pub(crate) owner: Option<String>,
    /// The validity period (schema version 8): its start and end as seconds and
    /// nanoseconds, each pair null for an open end.
    pub(crate) not_before_seconds: Option<i64>,
    pub(crate) not_before_nanos: Option<i64>,
    pub(crate) not_after_seconds: Option<i64>,
    pub(crate) not_after_nanos: Option<i64>,
    /// The head of the token's audit hash chain, 32 bytes (schema version 9); null
    /// for a record stored before the chain existed and not changed since.
    pub(crate) audit_head: Option<Vec<u8>>,
    /// How many more codes the token may accept (schema version 11); null for no
    /// limit.
    pub(crate) uses_left: Option<i64>,
    /// For a temporary replacement, the lost token's id (schema version 11).
    pub(crate) replaces: Option<String>,
    /// A fob's sealed unlock key (schema version 13): key id, nonce, ciphertext; all
    /// null for a token without one.
    pub(crate) unlock_seal_key_id: Option<i64>,
    pub(crate) unlock_seal_nonce: Option<Vec<u8>>,
    pub(crate) unlock_seal_ciphertext: Option<Vec<u8>>,
}

/// The `algorithm` column of a CAP card: its cryptograms are Triple DES MACs.
#[cfg(feature = "emv-cap")]
const CAP_ALGORITHM: &str = "TDES";

impl TokenRow {
    pub(crate) fn from_record(record: &TokenRecord) -> Self {
        let state = &record.state;
        let algorithm = match state.kind {
            TokenKind::Event { parameters, .. } => parameters.algorithm.name(),
            TokenKind::Time { parameters, .. } => parameters.algorithm.name(),
            #[cfg(feature = "emv-cap")]
            TokenKind::Cap(_) => CAP_ALGORITHM,
        };
        let mut row = TokenRow {
            id: record.id.to_string(),
            version: to_sql(record.version),
            kind: state.kind.name().to_owned(),
            algorithm: algorithm.to_owned(),
            digits: i64::from(state.kind.digits()),
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
            status: state.status.as_str().to_owned(),
            seal_key_id: i64::from(record.sealed_secret.key_id),
            seal_nonce: record.sealed_secret.nonce.to_vec(),
            seal_ciphertext: record.sealed_secret.ciphertext.to_vec(),
            pin_hash: record.pin.as_ref().map(|pin| pin.as_phc().to_owned()),
            enrolled_seconds: 0,
            enrolled_nanos: 0,
            ocra_suite: None,
            ocra_counter: None,
            ocra_drift_steps: None,
            ocra_synced_seconds: None,
            ocra_synced_nanos: None,
            ocra_challenge_state: None,
            ocra_challenge: None,
            ocra_challenge_expires_seconds: None,
            ocra_challenge_expires_nanos: None,
            ocra_transaction_nonce: None,
            ocra_transaction_digest: None,
            ocra_pin_key_id: None,
            ocra_pin_nonce: None,
            ocra_pin_ciphertext: None,
            incarnation: Some(record.incarnation.to_bytes().to_vec()),
            mac_key_id: record.mac.map(|mac| i64::from(mac.key_id)),
            mac: record.mac.map(|mac| mac.tag.to_vec()),
            cap_pan: None,
            cap_sequence: None,
            cap_expiry_year: None,
            cap_expiry_month: None,
            cap_derivation: None,
            cap_interchange_profile: None,
            cap_bitmap: None,
            cap_flags: None,
            cap_modes: None,
            cap_look_ahead: None,
            owner: record.owner.as_ref().map(|owner| owner.as_str().to_owned()),
            not_before_seconds: None,
            not_before_nanos: None,
            not_after_seconds: None,
            not_after_nanos: None,
            audit_head: record.audit_head.map(|head| head.0.to_vec()),
            uses_left: state.uses_left.map(i64::from),
            replaces: record
                .replaces
                .as_ref()
                .map(|lost| lost.as_str().to_owned()),
            unlock_seal_key_id: record
                .unlock_key
                .as_ref()
                .map(|sealed| i64::from(sealed.key_id)),
            unlock_seal_nonce: record
                .unlock_key
                .as_ref()
                .map(|sealed| sealed.nonce.to_vec()),
            unlock_seal_ciphertext: record
                .unlock_key
                .as_ref()
                .map(|sealed| sealed.ciphertext.to_vec()),
        };
        if let Some(start) = state.validity.not_before {
            let (seconds, nanos) = time_to_sql(start);
            row.not_before_seconds = Some(seconds);
            row.not_before_nanos = Some(nanos);
        }
        if let Some(end) = state.validity.not_after {
            let (seconds, nanos) = time_to_sql(end);
            row.not_after_seconds = Some(seconds);
            row.not_after_nanos = Some(nanos);
        }
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
            #[cfg(feature = "emv-cap")]
            TokenKind::Cap(card) => row.set_cap(&card),
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
        if let Some(keypad) = &state.ocra {
            row.set_ocra(keypad);
        }
        if let Some(sealed) = &record.ocra_pin {
            row.ocra_pin_key_id = Some(i64::from(sealed.key_id));
            row.ocra_pin_nonce = Some(sealed.nonce.to_vec());
            row.ocra_pin_ciphertext = Some(sealed.ciphertext.to_vec());
        }
        row
    }

    #[cfg(feature = "emv-cap")]
    fn set_cap(&mut self, card: &crate::validator::CapCard) {
        let profile = &card.profile;
        self.next_counter = Some(i64::from(card.next_atc));
        self.cap_pan = Some(
            profile
                .pan
                .digits()
                .iter()
                .map(|digit| char::from(b'0' + digit))
                .collect(),
        );
        self.cap_sequence = Some(i64::from(profile.sequence.value()));
        self.cap_expiry_year = Some(i64::from(profile.expiry.year()));
        self.cap_expiry_month = Some(i64::from(profile.expiry.month()));
        self.cap_derivation = Some(profile.derivation.name().to_owned());
        self.cap_interchange_profile = Some(profile.interchange_profile.to_vec());
        self.cap_bitmap = Some(profile.bitmap.mask().to_vec());
        self.cap_flags = Some(i64::from(profile.flags.0));
        self.cap_modes = Some(i64::from(card.modes.bits()));
        self.cap_look_ahead = Some(i64::from(card.look_ahead));
    }

    /// Whether any `cap_` column is set.
    fn has_cap_columns(&self) -> bool {
        self.cap_pan.is_some()
            || self.cap_sequence.is_some()
            || self.cap_expiry_year.is_some()
            || self.cap_expiry_month.is_some()
            || self.cap_derivation.is_some()
            || self.cap_interchange_profile.is_some()
            || self.cap_bitmap.is_some()
            || self.cap_flags.is_some()
            || self.cap_modes.is_some()
            || self.cap_look_ahead.is_some()
    }

    /// Reads a `cap` row's card back, checking each column as the card's own
    /// constructors do.
    #[cfg(feature = "emv-cap")]
    fn take_cap(
        &self,
        corrupt: &dyn Fn(&str) -> StoreError,
    ) -> Result<crate::validator::CapCard, StoreError> {
        use crate::emv::{
            CapModes, CardProfile, Expiry, IssuerAuthenticationFlags, IssuerProprietaryBitmap,
            PanSequenceNumber, SessionKeyDerivation,
        };
        use crate::validator::CapCard;
        let small = |value: Option<i64>, what: &str| -> Result<u8, StoreError> {
            let value = value.ok_or_else(|| corrupt(&format!("CAP card without {what}")))?;
            u8::try_from(value).map_err(|_| corrupt(&format!("CAP card's {what} out of range")))
        };
        let pan = self
            .cap_pan
            .as_deref()
            .ok_or_else(|| corrupt("CAP card without PAN"))?
            .parse()
            .map_err(|_| corrupt("CAP card's PAN is invalid"))?;
        let sequence = PanSequenceNumber::new(small(self.cap_sequence, "sequence number")?)
            .map_err(|_| corrupt("CAP card's sequence number is invalid"))?;
        let year = self
            .cap_expiry_year
            .ok_or_else(|| corrupt("CAP card without expiry"))?;
        let year = u16::try_from(year).map_err(|_| corrupt("CAP card's expiry out of range"))?;
        let expiry = Expiry::new(year, small(self.cap_expiry_month, "expiry month")?)
            .map_err(|_| corrupt("CAP card's expiry is invalid"))?;
        let derivation = self
            .cap_derivation
            .as_deref()
            .and_then(SessionKeyDerivation::from_name)
            .ok_or_else(|| corrupt("CAP card's session key derivation is unknown"))?;
        let interchange_profile: [u8; 2] = self
            .cap_interchange_profile
            .as_deref()
            .ok_or_else(|| corrupt("CAP card without AIP"))?
            .try_into()
            .map_err(|_| corrupt("CAP card's AIP is not 2 bytes"))?;
        let bitmap = IssuerProprietaryBitmap::new(
            self.cap_bitmap
                .as_deref()
                .ok_or_else(|| corrupt("CAP card without IPB"))?,
        )
        .map_err(|_| corrupt("CAP card's IPB is invalid"))?;
        let flags = IssuerAuthenticationFlags(small(self.cap_flags, "IAF")?);
        let modes = CapModes::from_bits(small(self.cap_modes, "modes")?)
            .map_err(|_| corrupt("CAP card's modes are invalid"))?;
        let look_ahead = self
            .cap_look_ahead
            .ok_or_else(|| corrupt("CAP card without look-ahead"))?;
        let next_atc = self
            .next_counter
            .ok_or_else(|| corrupt("CAP card without ATC"))?;
        let card = CapCard {
            profile: CardProfile {
                pan,
                sequence,
                expiry,
                derivation,
                interchange_profile,
                bitmap,
                flags,
            },
            modes,
            look_ahead: u16::try_from(look_ahead)
                .map_err(|_| corrupt("CAP card's look-ahead out of range"))?,
            next_atc: u32::try_from(next_atc)
                .map_err(|_| corrupt("CAP card's ATC out of range"))?,
        };
        card.validate()
            .map_err(|_| corrupt("CAP card's look-ahead or ATC out of range"))?;
        let stray = self.time_step.is_some()
            || self.t0.is_some()
            || self.last_accepted_step.is_some()
            || self.drift_steps.is_some()
            || self.synced_seconds.is_some();
        if stray || self.algorithm != CAP_ALGORITHM {
            return Err(corrupt("CAP card with code parameters"));
        }
        if i64::from(card.profile.bitmap.digits()) != self.digits {
            return Err(corrupt("CAP card's digits do not match its IPB"));
        }
        Ok(card)
    }

    fn set_ocra(&mut self, keypad: &OcraState) {
        self.ocra_suite = Some(keypad.suite.to_string());
        self.ocra_counter = keypad.next_counter.map(to_sql);
        self.ocra_drift_steps = Some(keypad.drift_steps);
        let (seconds, nanos) = time_to_sql(keypad.synced_at);
        self.ocra_synced_seconds = Some(seconds);
        self.ocra_synced_nanos = Some(nanos);
        let state = match keypad.challenge {
            ChallengeSlot::Empty => "empty",
            ChallengeSlot::Spent => "spent",
            ChallengeSlot::Open(issued) => {
                self.ocra_challenge = Some(issued.challenge.to_string());
                let (seconds, nanos) = time_to_sql(issued.expires_at);
                self.ocra_challenge_expires_seconds = Some(seconds);
                self.ocra_challenge_expires_nanos = Some(nanos);
                if let Some(commitment) = issued.transaction {
                    self.ocra_transaction_nonce = Some(commitment.nonce.to_bytes().to_vec());
                    self.ocra_transaction_digest = Some(commitment.digest.to_vec());
                }
                "open"
            }
        };
        self.ocra_challenge_state = Some(state.to_owned());
    }

    /// Reads the `ocra_` columns back into the keypad state and the sealed PIN hash;
    /// both `None` for a token without a keypad.
    fn take_ocra(
        &mut self,
        corrupt: &dyn Fn(&str) -> StoreError,
    ) -> Result<(Option<OcraState>, Option<SealedSecret>), StoreError> {
        let sealed_pin = match (
            self.ocra_pin_key_id.take(),
            self.ocra_pin_nonce.take(),
            self.ocra_pin_ciphertext.take(),
        ) {
            (None, None, None) => None,
            (Some(key_id), Some(nonce), Some(ciphertext)) => Some(SealedSecret {
                key_id: u32::try_from(key_id)
                    .map_err(|_| corrupt("OCRA PIN key id out of range"))?,
                nonce: nonce
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt("OCRA PIN nonce is not 12 bytes"))?,
                ciphertext: ciphertext.into(),
            }),
            _ => return Err(corrupt("incomplete sealed OCRA PIN hash")),
        };
        let Some(suite_text) = self.ocra_suite.take() else {
            let stray = self.ocra_counter.is_some()
                || self.ocra_drift_steps.is_some()
                || self.ocra_synced_seconds.is_some()
                || self.ocra_challenge_state.is_some()
                || self.ocra_challenge.is_some()
                || self.ocra_transaction_nonce.is_some()
                || sealed_pin.is_some();
            if stray {
                return Err(corrupt("OCRA columns without an OCRA suite"));
            }
            return Ok((None, None));
        };
        let suite: OcraSuite = suite_text
            .parse()
            .map_err(|_| corrupt("invalid OCRA suite"))?;
        if sealed_pin.is_some() && suite.pin_hash().is_none() {
            return Err(corrupt("OCRA PIN hash for a suite without P"));
        }
        let next_counter = self.ocra_counter.map(from_sql);
        if next_counter.is_some() != suite.uses_counter() {
            return Err(corrupt("OCRA counter does not match the suite"));
        }
        let synced_at = time_from_sql(
            self.ocra_synced_seconds
                .ok_or_else(|| corrupt("OCRA token without sync time"))?,
            self.ocra_synced_nanos.unwrap_or(0),
        );
        let challenge = match self.ocra_challenge_state.as_deref() {
            Some("empty") => ChallengeSlot::Empty,
            Some("spent") => ChallengeSlot::Spent,
            Some("open") => {
                let text = self
                    .ocra_challenge
                    .take()
                    .ok_or_else(|| corrupt("open OCRA challenge without its text"))?;
                let challenge = Challenge::parse(suite.question(), &text)
                    .map_err(|_| corrupt("OCRA challenge does not fit the suite"))?;
                let expires_at = time_from_sql(
                    self.ocra_challenge_expires_seconds
                        .ok_or_else(|| corrupt("open OCRA challenge without expiry"))?,
                    self.ocra_challenge_expires_nanos.unwrap_or(0),
                );
                let transaction = match (
                    self.ocra_transaction_nonce.take(),
                    self.ocra_transaction_digest.take(),
                ) {
                    (None, None) => None,
                    (Some(nonce), Some(digest)) => Some(TransactionCommitment {
                        nonce: SigningNonce::from_bytes(
                            nonce
                                .as_slice()
                                .try_into()
                                .map_err(|_| corrupt("signing nonce is not 16 bytes"))?,
                        ),
                        digest: digest
                            .as_slice()
                            .try_into()
                            .map_err(|_| corrupt("transaction digest is not 32 bytes"))?,
                    }),
                    _ => return Err(corrupt("incomplete transaction commitment")),
                };
                ChallengeSlot::Open(IssuedChallenge {
                    challenge,
                    expires_at,
                    transaction,
                })
            }
            _ => return Err(corrupt("unknown OCRA challenge state")),
        };
        let stray_challenge = self.ocra_challenge.is_some()
            || self.ocra_challenge_expires_seconds.is_some()
            || self.ocra_transaction_nonce.is_some()
            || self.ocra_transaction_digest.is_some();
        if !matches!(challenge, ChallengeSlot::Open(_)) && stray_challenge {
            return Err(corrupt("OCRA challenge columns without an open challenge"));
        }
        let keypad = OcraState {
            suite,
            next_counter,
            drift_steps: self
                .ocra_drift_steps
                .ok_or_else(|| corrupt("OCRA token without drift"))?,
            synced_at,
            challenge,
        };
        Ok((Some(keypad), sealed_pin))
    }

    /// Reads the row back, checking every field; any inconsistency is corruption.
    pub(crate) fn into_record(mut self) -> Result<TokenRecord, StoreError> {
        let token = self.id.clone();
        let corrupt = |reason: &str| StoreError::Corrupt {
            token: token.clone(),
            reason: reason.to_owned(),
        };
        let (ocra, ocra_pin) = self.take_ocra(&corrupt)?;
        let id = TokenId::new(self.id.clone()).map_err(|_| corrupt("invalid token id"))?;
        if self.kind == "cap" {
            return self.into_cap_record(id, ocra.is_some() || ocra_pin.is_some(), &corrupt);
        }
        if self.has_cap_columns() {
            return Err(corrupt("CAP columns on a token that is not a card"));
        }
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
            .ok_or_else(|| corrupt("unknown token kind"))?
            .validate()
            .map_err(|_| corrupt("invalid code parameters"))?;
        self.finish_record(id, kind, ocra, ocra_pin, &corrupt)
    }

    /// A `cap` row: the card with feature `emv-cap`, a typed refusal without it.
    #[cfg(feature = "emv-cap")]
    fn into_cap_record(
        self,
        id: TokenId,
        has_ocra: bool,
        corrupt: &dyn Fn(&str) -> StoreError,
    ) -> Result<TokenRecord, StoreError> {
        if has_ocra {
            return Err(corrupt("CAP card with an OCRA suite"));
        }
        let card = self.take_cap(corrupt)?;
        self.finish_record(id, TokenKind::Cap(card), None, None, corrupt)
    }

    /// A `cap` row: the card with feature `emv-cap`, a typed refusal without it.
    #[cfg(not(feature = "emv-cap"))]
    fn into_cap_record(
        self,
        _id: TokenId,
        _has_ocra: bool,
        _corrupt: &dyn Fn(&str) -> StoreError,
    ) -> Result<TokenRecord, StoreError> {
        Err(StoreError::UnsupportedKind {
            token: self.id,
            kind: self.kind,
        })
    }

    /// The fields every kind has, read back around its `kind`.
    fn finish_record(
        self,
        id: TokenId,
        kind: TokenKind,
        ocra: Option<OcraState>,
        ocra_pin: Option<SealedSecret>,
        corrupt: &dyn Fn(&str) -> StoreError,
    ) -> Result<TokenRecord, StoreError> {
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
        let status = Status::from_name(&self.status).ok_or_else(|| corrupt("unknown status"))?;
        let instant = |seconds: Option<i64>, nanos: Option<i64>, what: &str| match (seconds, nanos)
        {
            (None, None) => Ok(None),
            (Some(seconds), Some(nanos)) => Ok(Some(time_from_sql(seconds, nanos))),
            _ => Err(corrupt(what)),
        };
        let validity = Validity::new(
            instant(
                self.not_before_seconds,
                self.not_before_nanos,
                "incomplete not_before",
            )?,
            instant(
                self.not_after_seconds,
                self.not_after_nanos,
                "incomplete not_after",
            )?,
        )
        .map_err(|_| corrupt("validity period ends before it starts"))?;
        let owner = self
            .owner
            .as_deref()
            .map(CustomerRef::new)
            .transpose()
            .map_err(|_| corrupt("malformed owner"))?;
        let nonce: [u8; 12] = self
            .seal_nonce
            .as_slice()
            .try_into()
            .map_err(|_| corrupt("nonce is not 12 bytes"))?;
        let incarnation: [u8; Incarnation::LEN] = self
            .incarnation
            .as_deref()
            .ok_or_else(|| corrupt("no incarnation"))?
            .try_into()
            .map_err(|_| corrupt("incarnation is not 16 bytes"))?;
        let mac = match (self.mac_key_id, self.mac.as_deref()) {
            (None, None) => None,
            (Some(key_id), Some(tag)) => Some(RecordMac {
                key_id: u32::try_from(key_id).map_err(|_| corrupt("MAC key id out of range"))?,
                tag: tag
                    .try_into()
                    .map_err(|_| corrupt("record MAC is not 32 bytes"))?,
            }),
            _ => return Err(corrupt("incomplete record MAC")),
        };
        let audit_head = self
            .audit_head
            .as_deref()
            .map(|head| head.try_into().map(ChainHash))
            .transpose()
            .map_err(|_| corrupt("audit chain head is not 32 bytes"))?;
        let replaces = self
            .replaces
            .as_deref()
            .map(TokenId::new)
            .transpose()
            .map_err(|_| corrupt("malformed replaced token id"))?;
        let uses_left = self
            .uses_left
            .map(u32::try_from)
            .transpose()
            .map_err(|_| corrupt("uses left out of range"))?;
        let unlock_key = match (
            self.unlock_seal_key_id,
            self.unlock_seal_nonce,
            self.unlock_seal_ciphertext,
        ) {
            (None, None, None) => None,
            (Some(key_id), Some(nonce), Some(ciphertext)) => Some(SealedSecret {
                key_id: u32::try_from(key_id)
                    .map_err(|_| corrupt("unlock key's key id out of range"))?,
                nonce: nonce
                    .as_slice()
                    .try_into()
                    .map_err(|_| corrupt("unlock key's nonce is not 12 bytes"))?,
                ciphertext: ciphertext.into(),
            }),
            _ => return Err(corrupt("incomplete sealed unlock key")),
        };
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
                ciphertext: self.seal_ciphertext.into(),
            },
            pin,
            ocra_pin,
            unlock_key,
            state: TokenState {
                kind,
                ocra: ocra.map(Box::new),
                failures: u32::try_from(self.failures)
                    .map_err(|_| corrupt("failures out of range"))?,
                lockouts: u32::try_from(self.lockouts)
                    .map_err(|_| corrupt("lockouts out of range"))?,
                lock,
                status,
                validity,
                uses_left,
            },
            enrolled_at: time_from_sql(self.enrolled_seconds, self.enrolled_nanos),
            incarnation: Incarnation::from_bytes(incarnation),
            version: from_sql(self.version),
            owner,
            mac,
            audit_head,
            replaces,
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
    /// Who caused the event (schema version 5); null when no one was named.
    pub(crate) actor: Option<String>,
    /// The kind of actor (`api_client`, `staff`, `process`), the channel, the request
    /// id and the node (schema version 9); null when not named, and for older rows.
    pub(crate) actor_kind: Option<String>,
    pub(crate) channel: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) node: Option<String>,
    /// The event's link in its token's hash chain, 32 bytes (schema version 9); null
    /// for an unchained event, and for every row written before version 9.
    pub(crate) chain_hash: Option<Vec<u8>>,
    /// Why an operator did it, as they gave it (schema version 12); null when none
    /// was given.
    pub(crate) given_reason: Option<String>,
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
            actor: event.actor.as_deref().map(str::to_owned),
            actor_kind: event
                .context
                .actor_kind
                .map(|kind| kind.as_str().to_owned()),
            channel: event.context.channel.as_deref().map(str::to_owned),
            request_id: event.context.request_id.as_deref().map(str::to_owned),
            node: event.context.node.as_deref().map(str::to_owned),
            chain_hash: event.chain.map(|hash| hash.0.to_vec()),
            given_reason: event
                .reason
                .as_ref()
                .map(|reason| reason.as_str().to_owned()),
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
            actor: self.actor.as_deref().map(Arc::from),
            context: AuditContext {
                actor_kind: self
                    .actor_kind
                    .as_deref()
                    .map(|name| {
                        ActorKind::from_name(name).ok_or_else(|| corrupt("unknown actor kind"))
                    })
                    .transpose()?,
                channel: self.channel.as_deref().map(Arc::from),
                request_id: self.request_id.as_deref().map(Arc::from),
                node: self.node.as_deref().map(Arc::from),
            },
            // Checked as it was when given: a row edited to hold a control or bidi
            // character reads as corrupt, never reaches a page or a terminal.
            reason: self
                .given_reason
                .as_deref()
                .map(AuditReason::new)
                .transpose()
                .map_err(|_| corrupt("malformed given reason"))?,
            chain: self
                .chain_hash
                .as_deref()
                .map(|hash| hash.try_into().map(ChainHash))
                .transpose()
                .map_err(|_| corrupt("audit chain link is not 32 bytes"))?,
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

    fn ocra_row() -> (TokenRecord, TokenRow) {
        use crate::ocra::{Currency, Transaction};
        use crate::secret::Secret;
        use crate::validator::seal::{Keyring, SealingKey};
        let id = TokenId::new("FOB-1").unwrap();
        let keyring = Keyring::new(SealingKey::new(3, &[1; 32]).unwrap());
        let suite: OcraSuite = "OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1-T1M".parse().unwrap();
        let transfer = Transaction::new(1, Currency::new("EUR").unwrap(), "DE89", None).unwrap();
        let nonce = SigningNonce::from_bytes([2; 16]);
        let mut keypad = OcraState::new(suite, 41, UnixTime::from_secs(5));
        keypad.drift_steps = -2;
        keypad.challenge = ChallengeSlot::Open(IssuedChallenge {
            challenge: transfer.signature_challenge(&suite, &nonce),
            expires_at: UnixTime::from_nanos(300_000_000_001),
            transaction: Some(TransactionCommitment::new(&transfer, nonce)),
        });
        let mut state = TokenState::new(TokenKind::event(HotpParameters::default(), 3));
        state.ocra = Some(Box::new(keypad));
        let record = TokenRecord {
            sealed_secret: keyring
                .seal(&id, &Secret::from_bytes(b"12345678901234567890").unwrap())
                .unwrap(),
            ocra_pin: Some(keyring.seal_ocra_pin_hash(&id, &[7; 20]).unwrap()),
            unlock_key: Some(
                keyring
                    .seal_unlock_key(
                        &id,
                        Incarnation::from_bytes([9; 16]),
                        &Secret::from_bytes(&[8; 32]).unwrap(),
                    )
                    .unwrap(),
            ),
            id,
            pin: None,
            state,
            enrolled_at: UnixTime::EPOCH,
            incarnation: Incarnation::from_bytes([9; 16]),
            version: 4,
            owner: None,
            mac: None,
            audit_head: Some(ChainHash([3; 32])),
            replaces: Some(TokenId::new("FOB-LOST").unwrap()),
        };
        let record = TokenRecord {
            mac: Some(keyring.authenticate_record(&record).unwrap()),
            ..record
        };
        let row = TokenRow::from_record(&record);
        (record, row)
    }

    #[test]
    fn life_cycle_columns_round_trip() {
        let (mut record, _) = ocra_row();
        record.owner = Some(CustomerRef::new("C-0042").unwrap());
        record.state.status = Status::Lost;
        record.state.validity = Validity::new(
            Some(UnixTime::from_nanos(1_000_000_000_123)),
            Some(UnixTime::from_secs(2_000_000_000)),
        )
        .unwrap();
        let row = TokenRow::from_record(&record);
        assert_eq!(row.owner.as_deref(), Some("C-0042"));
        assert_eq!(row.status, "lost");
        assert_eq!(
            (row.not_before_seconds, row.not_before_nanos),
            (Some(1000), Some(123))
        );
        assert_eq!(row.clone().into_record().unwrap(), record);
        for status in Status::ALL {
            let mut changed = record.clone();
            changed.state.status = status;
            let read = TokenRow::from_record(&changed).into_record().unwrap();
            assert_eq!(read.state.status, status);
        }
        // Half a period end, or a malformed owner, is corruption, not a default.
        let half = TokenRow {
            not_after_nanos: None,
            ..row.clone()
        };
        assert!(half.into_record().is_err());
        let bad_owner = TokenRow {
            owner: Some("with space".to_owned()),
            ..row
        };
        assert!(bad_owner.into_record().is_err());
    }

    #[test]
    fn use_limit_round_trips_and_a_negative_one_is_corrupt() {
        let (mut record, _) = ocra_row();
        for uses in [None, Some(0), Some(1), Some(u32::MAX)] {
            record.state.uses_left = uses;
            let row = TokenRow::from_record(&record);
            assert_eq!(row.uses_left, uses.map(i64::from));
            assert_eq!(row.into_record().unwrap(), record);
        }
        for bad in [-1, i64::from(u32::MAX) + 1] {
            let row = TokenRow {
                uses_left: Some(bad),
                ..TokenRow::from_record(&record)
            };
            assert!(row.into_record().is_err(), "{bad}");
        }
    }

    #[test]
    fn ocra_rows_round_trip_and_keypadless_rows_have_no_ocra_columns() {
        let (record, row) = ocra_row();
        assert_eq!(
            row.ocra_suite.as_deref(),
            Some("OCRA-1:HOTP-SHA256-8:C-QN08-PSHA1-T1M")
        );
        assert_eq!(row.ocra_challenge_state.as_deref(), Some("open"));
        assert_eq!(row.ocra_transaction_digest.as_ref().map(Vec::len), Some(32));
        assert_eq!(row.clone().into_record().unwrap(), record);
        let mut plain = record.clone();
        plain.state.ocra = None;
        plain.ocra_pin = None;
        let plain_row = TokenRow::from_record(&plain);
        assert_eq!(
            (
                &plain_row.ocra_suite,
                &plain_row.ocra_challenge_state,
                &plain_row.ocra_pin_ciphertext
            ),
            (&None, &None, &None)
        );
        assert_eq!(plain_row.into_record().unwrap(), plain);
    }

    #[test]
    fn inconsistent_ocra_columns_are_corruption() {
        type Damage = fn(&mut TokenRow);
        let cases: Vec<(&str, Damage)> = vec![
            ("OCRA columns without an OCRA suite", |row| {
                row.ocra_suite = None
            }),
            ("invalid OCRA suite", |row| {
                row.ocra_suite = Some("OCRA-1:HOTP-SHA1-6:QN8".into())
            }),
            ("OCRA counter does not match the suite", |row| {
                row.ocra_counter = None
            }),
            ("OCRA PIN hash for a suite without P", |row| {
                row.ocra_suite = Some("OCRA-1:HOTP-SHA256-8:C-QN08".into())
            }),
            ("incomplete sealed OCRA PIN hash", |row| {
                row.ocra_pin_nonce = None
            }),
            ("OCRA PIN nonce is not 12 bytes", |row| {
                row.ocra_pin_nonce = Some(vec![0; 11])
            }),
            ("incomplete sealed unlock key", |row| {
                row.unlock_seal_ciphertext = None
            }),
            ("unlock key's nonce is not 12 bytes", |row| {
                row.unlock_seal_nonce = Some(vec![0; 13])
            }),
            ("unlock key's key id out of range", |row| {
                row.unlock_seal_key_id = Some(-1)
            }),
            ("OCRA token without sync time", |row| {
                row.ocra_synced_seconds = None
            }),
            ("OCRA token without drift", |row| {
                row.ocra_drift_steps = None
            }),
            ("unknown OCRA challenge state", |row| {
                row.ocra_challenge_state = Some("half-open".into())
            }),
            ("open OCRA challenge without its text", |row| {
                row.ocra_challenge = None
            }),
            ("OCRA challenge does not fit the suite", |row| {
                row.ocra_challenge = Some("1234567A".into())
            }),
            ("open OCRA challenge without expiry", |row| {
                row.ocra_challenge_expires_seconds = None
            }),
            ("incomplete transaction commitment", |row| {
                row.ocra_transaction_digest = None
            }),
            ("signing nonce is not 16 bytes", |row| {
                row.ocra_transaction_nonce = Some(vec![0; 15])
            }),
            ("transaction digest is not 32 bytes", |row| {
                row.ocra_transaction_digest = Some(vec![0; 31])
            }),
            ("OCRA challenge columns without an open challenge", |row| {
                row.ocra_challenge_state = Some("spent".into())
            }),
        ];
        for (reason, damage) in cases {
            let (_, mut row) = ocra_row();
            damage(&mut row);
            assert_eq!(
                row.into_record().unwrap_err(),
                StoreError::Corrupt {
                    token: "FOB-1".into(),
                    reason: reason.into()
                }
            );
        }
    }

    /// A card's row and every inconsistency in its columns.
    #[cfg(feature = "emv-cap")]
    #[test]
    fn cap_rows_round_trip_and_inconsistent_cap_columns_are_corruption() {
        use crate::emv::{CapModes, CardProfile};
        use crate::validator::CapCard;
        let (record, _) = ocra_row();
        let card = CapCard::new(
            CardProfile::new("4658123456789009", 1, (2030, 12)).unwrap(),
            CapModes::ALL,
            9,
        );
        let record = TokenRecord {
            state: TokenState::new(TokenKind::Cap(card)),
            ocra_pin: None,
            ..record
        };
        let row = TokenRow::from_record(&record);
        assert_eq!(
            (row.kind.as_str(), row.next_counter, row.digits),
            ("cap", Some(10), 8)
        );
        assert_eq!(row.clone().into_record().unwrap(), record);
        type Damage = fn(&mut TokenRow);
        let cases: Vec<(&str, Damage)> = vec![
            ("CAP card's PAN is invalid", |row| {
                row.cap_pan = Some("4658".into())
            }),
            ("CAP card without IPB", |row| row.cap_bitmap = None),
            ("CAP card's IPB is invalid", |row| {
                row.cap_bitmap = Some(vec![0x01])
            }),
            ("CAP card's modes are invalid", |row| {
                row.cap_modes = Some(0)
            }),
            ("CAP card's session key derivation is unknown", |row| {
                row.cap_derivation = Some("visa".into())
            }),
            ("CAP card's look-ahead or ATC out of range", |row| {
                row.cap_look_ahead = Some(0)
            }),
            ("CAP card's ATC out of range", |row| {
                row.next_counter = Some(-1)
            }),
            ("CAP card with code parameters", |row| row.t0 = Some(0)),
            ("CAP card's digits do not match its IPB", |row| {
                row.digits = 6
            }),
            ("CAP columns on a token that is not a card", |row| {
                row.kind = "event".into()
            }),
        ];
        for (reason, damage) in cases {
            let mut damaged = row.clone();
            damage(&mut damaged);
            assert_eq!(
                damaged.into_record().unwrap_err(),
                StoreError::Corrupt {
                    token: "FOB-1".into(),
                    reason: reason.into()
                },
                "{reason}"
            );
        }
    }

    /// A card's row read by a build without feature `emv-cap`: a typed refusal, never a
    /// guess at a kind it cannot check. (Runs in a build without the feature:
    /// `cargo test --lib store::row`, which `scripts/test` does.)
    #[cfg(not(feature = "emv-cap"))]
    #[test]
    fn a_cap_row_without_the_feature_is_an_unsupported_kind() {
        let (_, mut row) = ocra_row();
        row.kind = "cap".into();
        row.algorithm = "TDES".into();
        row.cap_pan = Some("4658123456789009".into());
        assert_eq!(
            row.into_record().unwrap_err(),
            StoreError::UnsupportedKind {
                token: "FOB-1".into(),
                kind: "cap".into()
            }
        );
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
