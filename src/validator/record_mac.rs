//! Token records at rest, authenticated: an HMAC-SHA-256 over a canonical encoding of
//! every field, under a key derived from the keyring's sealing key.
//!
//! # Security
//!
//! A row edited in the database (failures set to 0, a lock lifted, a spent step or
//! counter moved back, a sealed secret swapped in from another row, the version
//! changed) no longer matches its MAC, and the validator rejects it. What a per-row
//! MAC cannot detect is a **whole, older row put back** (with the MAC that was valid
//! for it then), or a restore of the whole database: both are authentic records of
//! the past. See the README's "Security" section for what an operator must do.

use crate::clock::UnixTime;
use crate::validator::challenge::{ChallengeSlot, OcraState};
use crate::validator::record::{Lock, TokenKind, TokenRecord};
use crate::validator::sealed::SealedSecret;

/// The label of the derivation of the record MAC key from a sealing key: another
/// purpose than sealing, so the two keys are independent.
pub(crate) const RECORD_MAC_KEY_LABEL: &[u8] = b"otpfob record MAC v1";

/// Builds the canonical encoding: every field length-prefixed (a 4-byte big-endian
/// length before its bytes), options and enums tagged, so that no two records encode
/// alike.
struct Encoder(Vec<u8>);

impl Encoder {
    fn bytes(&mut self, bytes: &[u8]) {
        // Fields are bounded far below 4 GiB (ids 128 bytes, sealed secrets a few
        // hundred); saturating keeps the encoding a function of the record anyway.
        let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&length.to_be_bytes());
        self.0.extend_from_slice(bytes);
    }

    fn text(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }

    fn tag(&mut self, tag: &str) {
        self.text(tag);
    }

    fn u64(&mut self, value: u64) {
        self.bytes(&value.to_be_bytes());
    }

    fn i64(&mut self, value: i64) {
        self.bytes(&value.to_be_bytes());
    }

    fn time(&mut self, time: UnixTime) {
        self.bytes(&time.as_nanos().to_be_bytes());
    }

    fn option<T>(&mut self, value: Option<T>, write: impl FnOnce(&mut Self, T)) {
        match value {
            None => self.tag("none"),
            Some(value) => {
                self.tag("some");
                write(self, value);
            }
        }
    }

    fn sealed(&mut self, sealed: &SealedSecret) {
        self.u64(u64::from(sealed.key_id));
        self.bytes(&sealed.nonce);
        self.bytes(&sealed.ciphertext);
    }

    /// Every field of a CAP card: its profile (what its codes depend on), the modes
    /// and look-ahead the bank accepts, and the next ATC (what makes codes spent).
    #[cfg(feature = "emv-cap")]
    fn cap(&mut self, card: &crate::validator::cap_decision::CapCard) {
        self.tag("cap");
        let profile = &card.profile;
        self.bytes(profile.pan.digits());
        self.u64(u64::from(profile.sequence.value()));
        self.u64(u64::from(profile.expiry.year()));
        self.u64(u64::from(profile.expiry.month()));
        self.text(profile.derivation.name());
        self.bytes(&profile.interchange_profile);
        self.bytes(profile.bitmap.mask());
        self.u64(u64::from(profile.flags.0));
        self.u64(u64::from(card.modes.bits()));
        self.u64(u64::from(card.look_ahead));
        self.u64(u64::from(card.next_atc));
    }

    fn ocra(&mut self, keypad: &OcraState) {
        self.text(&keypad.suite.to_string());
        self.option(keypad.next_counter, Self::u64);
        self.i64(keypad.drift_steps);
        self.time(keypad.synced_at);
        match &keypad.challenge {
            ChallengeSlot::Empty => self.tag("empty"),
            ChallengeSlot::Spent => self.tag("spent"),
            ChallengeSlot::Open(issued) => {
                self.tag("open");
                self.text(issued.challenge.as_ref());
                self.time(issued.expires_at);
                self.option(issued.transaction.as_ref(), |encoder, commitment| {
                    encoder.bytes(&commitment.nonce.to_bytes());
                    encoder.bytes(&commitment.digest);
                });
            }
        }
    }
}

/// The canonical encoding of every field of `record` but its MAC.
pub(crate) fn encode(record: &TokenRecord) -> Vec<u8> {
    let mut encoder = Encoder(Vec::with_capacity(256));
    encoder.tag("otpfob token record v1");
    encoder.text(record.id.as_str());
    encoder.bytes(&record.incarnation.to_bytes());
    encoder.u64(record.version);
    let state = &record.state;
    match state.kind {
        TokenKind::Event {
            parameters,
            next_counter,
        } => {
            encoder.tag("event");
            encoder.text(parameters.algorithm.name());
            encoder.u64(u64::from(parameters.digits));
            encoder.u64(next_counter);
        }
        TokenKind::Time {
            parameters,
            last_accepted_step,
            drift_steps,
            synced_at,
        } => {
            encoder.tag("time");
            encoder.text(parameters.algorithm.name());
            encoder.u64(u64::from(parameters.digits));
            encoder.u64(parameters.time_step);
            encoder.u64(parameters.t0);
            encoder.option(last_accepted_step, Encoder::u64);
            encoder.i64(drift_steps);
            encoder.time(synced_at);
        }
        #[cfg(feature = "emv-cap")]
        TokenKind::Cap(card) => encoder.cap(&card),
    }
    encoder.option(state.ocra.as_deref(), Encoder::ocra);
    encoder.u64(u64::from(state.failures));
    encoder.u64(u64::from(state.lockouts));
    match state.lock {
        Lock::Unlocked => encoder.tag("unlocked"),
        Lock::UntilUnlocked { since } => {
            encoder.tag("until_unlocked");
            encoder.time(since);
        }
        Lock::Until { until } => {
            encoder.tag("until");
            encoder.time(until);
        }
    }
    encoder.tag(state.status.as_str());
    encoder.sealed(&record.sealed_secret);
    encoder.option(record.pin.as_ref(), |encoder, pin| {
        encoder.text(pin.as_phc())
    });
    encoder.option(record.ocra_pin.as_ref(), Encoder::sealed);
    encoder.time(record.enrolled_at);
    // The life-cycle fields (schema version 8) come last and only when set, each under
    // its own tag: a record without them encodes exactly as before, so the MACs of
    // records written before version 8 still check, and a set field cannot be
    // removed or moved to another field without changing the encoding.
    let validity = state.validity;
    if let Some(start) = validity.not_before {
        encoder.tag("not_before");
        encoder.time(start);
    }
    if let Some(end) = validity.not_after {
        encoder.tag("not_after");
        encoder.time(end);
    }
    if let Some(owner) = &record.owner {
        encoder.tag("owner");
        encoder.text(owner.as_str());
    }
    // Appended only when there is one, so the MAC of a record stored before the chain
    // existed still checks: a head cannot be added or moved without the MAC key, and
    // removing one changes the encoding too.
    if let Some(head) = record.audit_head {
        encoder.tag("audit head");
        encoder.bytes(&head.0);
    }
    encoder.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_length_prefixed() {
        let mut one = Encoder(Vec::new());
        one.text("ab");
        one.text("c");
        let mut other = Encoder(Vec::new());
        other.text("a");
        other.text("bc");
        assert_ne!(one.0, other.0);
        assert_eq!(one.0, [0, 0, 0, 2, b'a', b'b', 0, 0, 0, 1, b'c']);
    }

    fn plain_record() -> TokenRecord {
        use crate::hotp::HotpParameters;
        use crate::validator::record::{Incarnation, TokenId, TokenState};
        TokenRecord {
            id: TokenId::new("FOB-1").unwrap(),
            sealed_secret: SealedSecret {
                key_id: 1,
                nonce: [3; 12],
                ciphertext: vec![5; 36].into(),
            },
            pin: None,
            ocra_pin: None,
            state: TokenState::new(TokenKind::event(HotpParameters::default(), 9)),
            enrolled_at: UnixTime::from_secs(77),
            incarnation: Incarnation::from_bytes([7; 16]),
            version: 3,
            owner: None,
            audit_head: None,
            mac: None,
        }
    }

    /// The life-cycle fields are appended only when set: a record without them
    /// encodes as before version 8 (its encoding ends with the enrolment time, the
    /// last field then), so stored MACs still check; each one set is covered.
    #[test]
    fn life_cycle_fields_are_covered_and_absent_ones_change_nothing() {
        use crate::validator::lifecycle::{CustomerRef, Validity};
        use crate::validator::record::Status;
        let plain = plain_record();
        let encoded = encode(&plain);
        let mut enrolled = Encoder(Vec::new());
        enrolled.time(plain.enrolled_at);
        assert!(encoded.ends_with(&enrolled.0));
        let mut variants = Vec::new();
        let mut owned = plain.clone();
        owned.owner = Some(CustomerRef::new("C-1").unwrap());
        variants.push(owned);
        for validity in [
            Validity::new(Some(UnixTime::from_secs(1)), None).unwrap(),
            Validity::new(None, Some(UnixTime::from_secs(1))).unwrap(),
        ] {
            let mut limited = plain.clone();
            limited.state.validity = validity;
            variants.push(limited);
        }
        for status in [Status::Lost, Status::Revoked, Status::Expired] {
            let mut changed = plain.clone();
            changed.state.status = status;
            variants.push(changed);
        }
        let mut seen = vec![encoded];
        for variant in &variants {
            let encoding = encode(variant);
            assert!(!seen.contains(&encoding), "{variant:?}");
            seen.push(encoding);
        }
    }
}
