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

/// The most bytes each field whose length depends on a token's state (or on whether
/// it is set at all) can take in the encoding, tags and length prefixes included. The
/// work of a record's MAC is padded to what its encoding would cost with every such
/// field at its bound (see [`Encoded::padding_blocks`]), so that a locked, disabled,
/// spent, owned or PIN-protected record, and the decoy of an unknown id, cost the
/// same hash work as any other of their kind (issue 11, item 2).
mod bound {
    /// "until_unlocked" and a time: the longest lock.
    pub(super) const LOCK: usize = (4 + 14) + (4 + 16);
    /// "disabled", the longest status.
    pub(super) const STATUS: usize = 4 + 8;
    /// "some" and a u64: a TOTP token's last accepted step, once it has one.
    pub(super) const SOME_U64: usize = (4 + 4) + (4 + 8);
    /// "some" and an Argon2id PHC string (97 characters at the default cost; larger
    /// costs add digits).
    pub(super) const PIN: usize = (4 + 4) + (4 + 112);
    /// A sealed secret: key id, nonce and the ciphertext of a 64-byte secret with its
    /// 16-byte tag (SHA-512's block-sized keys; longer secrets are rare and pay their
    /// own length).
    pub(super) const SEALED: usize = (4 + 8) + (4 + 12) + (4 + 64 + 16);
    /// "some" and a sealed OCRA PIN hash (at most 64 bytes, with its tag).
    pub(super) const OCRA_PIN: usize = (4 + 4) + (4 + 8) + (4 + 12) + (4 + 64 + 16);
    /// An open challenge: "open", a question of at most 64 characters, its expiry,
    /// and "some" transaction commitment (a 16-byte nonce and a 32-byte digest).
    pub(super) const CHALLENGE: usize =
        (4 + 4) + (4 + 64) + (4 + 16) + (4 + 4) + (4 + 16) + (4 + 32);
    /// The validity period's two ends, each under its tag.
    pub(super) const VALIDITY: usize = (4 + 10) + (4 + 16) + (4 + 9) + (4 + 16);
    /// "owner" and a customer reference of at most 128 bytes.
    pub(super) const OWNER: usize = (4 + 5) + (4 + super::MAX_CUSTOMER_REF_LEN);
    /// A token id of at most 128 bytes: the decoy's id is not the one asked for.
    pub(super) const ID: usize = 4 + super::MAX_TOKEN_ID_LEN;
    /// "audit head" and a chain hash.
    pub(super) const AUDIT_HEAD: usize = (4 + 10) + (4 + 32);
    /// "uses left" and a u64.
    pub(super) const USES_LEFT: usize = (4 + 9) + (4 + 8);
    /// "replaces" and a token id of at most 128 bytes.
    pub(super) const REPLACES: usize = (4 + 8) + (4 + super::MAX_TOKEN_ID_LEN);
    /// "unlock key" and a sealed unlock key of at most 64 bytes (factories write 32),
    /// with its tag: every record pays for it, so a fob with an unlock key costs the
    /// MAC work of any other token (and of the decoy of an unknown id).
    pub(super) const UNLOCK_KEY: usize = (4 + 10) + (4 + 8) + (4 + 12) + (4 + 64 + 16);
}

use crate::validator::lifecycle::MAX_CUSTOMER_REF_LEN;
use crate::validator::token_id::MAX_TOKEN_ID_LEN;

/// A record's canonical encoding, and how much longer it would be with every
/// state-dependent field at its bound.
pub(crate) struct Encoded {
    /// What the MAC is computed over.
    pub(crate) bytes: Vec<u8>,
    /// The bytes the state-dependent fields could take beyond what they take now.
    slack: usize,
}

impl Encoded {
    /// How many SHA-256 compressions the record's MAC falls short of the MAC of its
    /// encoding at the bound: HMAC's inner hash of `n` bytes (after the precomputed
    /// key block) costs `(n + 9).div_ceil(64)` compressions.
    pub(crate) fn padding_blocks(&self) -> usize {
        let blocks = |length: usize| (length + 9).div_ceil(64);
        blocks(self.bytes.len() + self.slack) - blocks(self.bytes.len())
    }
}

/// Runs `blocks` SHA-256 compressions over zeros and drops the result: the hash work a
/// record's MAC would have done with every field at its bound.
pub(crate) fn pad_mac_work(blocks: usize) {
    use sha2::Digest;
    const ZEROS: [u8; 1024] = [0; 1024];
    let mut left = blocks;
    while left > 0 {
        // A message of 64·k − 9 bytes is exactly k compressions with its padding.
        let now = left.min(ZEROS.len() / 64);
        let digest = sha2::Sha256::digest(&ZEROS[..now * 64 - 9]);
        std::hint::black_box(digest);
        left -= now;
    }
}

/// Builds the canonical encoding: every field length-prefixed (a 4-byte big-endian
/// length before its bytes), options and enums tagged, so that no two records encode
/// alike. It counts, for the fields whose length depends on the record's state, how
/// far each is from its bound.
struct Encoder(Vec<u8>, usize);

impl Encoder {
    /// Encodes one state-dependent field with `write` and counts how far its encoding
    /// falls short of `bound` bytes.
    fn bounded(&mut self, bound: usize, write: impl FnOnce(&mut Self)) {
        let before = self.0.len();
        write(self);
        self.1 += bound.saturating_sub(self.0.len() - before);
    }

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
        self.bounded(bound::CHALLENGE, |encoder| match &keypad.challenge {
            ChallengeSlot::Empty => encoder.tag("empty"),
            ChallengeSlot::Spent => encoder.tag("spent"),
            ChallengeSlot::Open(issued) => {
                encoder.tag("open");
                encoder.text(issued.challenge.as_ref());
                encoder.time(issued.expires_at);
                encoder.option(issued.transaction.as_ref(), |encoder, commitment| {
                    encoder.bytes(&commitment.nonce.to_bytes());
                    encoder.bytes(&commitment.digest);
                });
            }
        });
    }
}

/// The canonical encoding of every field of `record` but its MAC.
#[cfg(test)]
pub(crate) fn encode(record: &TokenRecord) -> Vec<u8> {
    encode_bounded(record).bytes
}

/// The canonical encoding of every field of `record` but its MAC, with how far its
/// state-dependent fields are from their bounds.
pub(crate) fn encode_bounded(record: &TokenRecord) -> Encoded {
    let mut encoder = Encoder(Vec::with_capacity(512), 0);
    encoder.tag("otpfob token record v1");
    encoder.bounded(bound::ID, |encoder| encoder.text(record.id.as_str()));
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
            encoder.bounded(bound::SOME_U64, |encoder| {
                encoder.option(last_accepted_step, Encoder::u64);
            });
            encoder.i64(drift_steps);
            encoder.time(synced_at);
        }
        #[cfg(feature = "emv-cap")]
        TokenKind::Cap(card) => encoder.cap(&card),
    }
    encoder.option(state.ocra.as_deref(), Encoder::ocra);
    encoder.u64(u64::from(state.failures));
    encoder.u64(u64::from(state.lockouts));
    encoder.bounded(bound::LOCK, |encoder| match state.lock {
        Lock::Unlocked => encoder.tag("unlocked"),
        Lock::UntilUnlocked { since } => {
            encoder.tag("until_unlocked");
            encoder.time(since);
        }
        Lock::Until { until } => {
            encoder.tag("until");
            encoder.time(until);
        }
    });
    encoder.bounded(bound::STATUS, |encoder| encoder.tag(state.status.as_str()));
    encoder.bounded(bound::SEALED, |encoder| {
        encoder.sealed(&record.sealed_secret)
    });
    encoder.bounded(bound::PIN, |encoder| {
        encoder.option(record.pin.as_ref(), |encoder, pin| {
            encoder.text(pin.as_phc());
        });
    });
    // Only a keypad token has an OCRA PIN, and only a keypad's decoy stands in for one.
    let ocra_pin_bound = if state.ocra.is_some() {
        bound::OCRA_PIN
    } else {
        0
    };
    encoder.bounded(ocra_pin_bound, |encoder| {
        encoder.option(record.ocra_pin.as_ref(), Encoder::sealed);
    });
    encoder.time(record.enrolled_at);
    // The life-cycle fields (schema version 8) come last and only when set, each under
    // its own tag: a record without them encodes exactly as before, so the MACs of
    // records written before version 8 still check, and a set field cannot be
    // removed or moved to another field without changing the encoding.
    let validity = state.validity;
    encoder.bounded(bound::VALIDITY, |encoder| {
        if let Some(start) = validity.not_before {
            encoder.tag("not_before");
            encoder.time(start);
        }
        if let Some(end) = validity.not_after {
            encoder.tag("not_after");
            encoder.time(end);
        }
    });
    encoder.bounded(bound::OWNER, |encoder| {
        if let Some(owner) = &record.owner {
            encoder.tag("owner");
            encoder.text(owner.as_str());
        }
    });
    // Appended only when there is one, so the MAC of a record stored before the chain
    // existed still checks: a head cannot be added or moved without the MAC key, and
    // removing one changes the encoding too.
    encoder.bounded(bound::AUDIT_HEAD, |encoder| {
        if let Some(head) = record.audit_head {
            encoder.tag("audit head");
            encoder.bytes(&head.0);
        }
    });
    // Schema version 11, likewise only when set: an edit that raises the uses left (or
    // lifts the limit) no longer matches the MAC.
    encoder.bounded(bound::USES_LEFT, |encoder| {
        if let Some(left) = state.uses_left {
            encoder.tag("uses left");
            encoder.u64(u64::from(left));
        }
    });
    encoder.bounded(bound::REPLACES, |encoder| {
        if let Some(lost) = &record.replaces {
            encoder.tag("replaces");
            encoder.text(lost.as_str());
        }
    });
    // Schema version 13, likewise only when set: an unlock key swapped in from another
    // row, or removed, no longer matches the MAC.
    encoder.bounded(bound::UNLOCK_KEY, |encoder| {
        if let Some(sealed) = &record.unlock_key {
            encoder.tag("unlock key");
            encoder.sealed(sealed);
        }
    });
    Encoded {
        bytes: encoder.0,
        slack: encoder.1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_length_prefixed() {
        let mut one = Encoder(Vec::new(), 0);
        one.text("ab");
        one.text("c");
        let mut other = Encoder(Vec::new(), 0);
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
            unlock_key: None,
            state: TokenState::new(TokenKind::event(HotpParameters::default(), 9)),
            enrolled_at: UnixTime::from_secs(77),
            incarnation: Incarnation::from_bytes([7; 16]),
            version: 3,
            owner: None,
            audit_head: None,
            mac: None,
            replaces: None,
        }
    }

    /// The hash work of a record's MAC, padding included, in SHA-256 compressions of
    /// HMAC's inner hash.
    fn mac_work(record: &TokenRecord) -> usize {
        let encoded = encode_bounded(record);
        (encoded.bytes.len() + 9).div_ceil(64) + encoded.padding_blocks()
    }

    /// Issue 11, item 2: a locked, disabled, lost or spent record, one with an owner,
    /// a validity period, a chain head or a PIN, and one with a short or long id (the
    /// decoy's is not the id asked for), all cost the MAC work of a plain one. Before
    /// the padding a locked record cost one compression more per MAC, and a PIN two.
    #[test]
    fn the_mac_work_is_the_same_whatever_the_state() {
        use crate::totp::TotpParameters;
        use crate::validator::audit::ChainHash;
        use crate::validator::lifecycle::{CustomerRef, Validity};
        use crate::validator::pin::PinHash;
        use crate::validator::record::{Status, TokenId, TokenState};
        let mut plain = plain_record();
        plain.state = TokenState::new(TokenKind::time(TotpParameters::default(), UnixTime::EPOCH));
        let work = mac_work(&plain);
        let mut variants = Vec::new();
        let mut locked = plain.clone();
        locked.state.lock = Lock::UntilUnlocked {
            since: UnixTime::from_secs(5),
        };
        variants.push(locked);
        let mut backing_off = plain.clone();
        backing_off.state.lock = Lock::Until {
            until: UnixTime::from_secs(5),
        };
        variants.push(backing_off);
        for status in [
            Status::Disabled,
            Status::Lost,
            Status::Revoked,
            Status::Expired,
        ] {
            let mut changed = plain.clone();
            changed.state.status = status;
            variants.push(changed);
        }
        let mut spent = plain.clone();
        if let TokenKind::Time {
            last_accepted_step, ..
        } = &mut spent.state.kind
        {
            *last_accepted_step = Some(u64::MAX);
        }
        variants.push(spent);
        let mut everything = plain.clone();
        everything.owner = Some(CustomerRef::new(&"C".repeat(MAX_CUSTOMER_REF_LEN)).unwrap());
        everything.state.validity =
            Validity::new(Some(UnixTime::from_secs(1)), Some(UnixTime::from_secs(2))).unwrap();
        everything.audit_head = Some(ChainHash([1; 32]));
        everything.state.uses_left = Some(u32::MAX);
        everything.replaces = Some(TokenId::new("R".repeat(MAX_TOKEN_ID_LEN)).unwrap());
        everything.unlock_key = Some(SealedSecret {
            key_id: 1,
            nonce: [4; 12],
            ciphertext: vec![6; 32 + 16].into(),
        });
        everything.pin = Some(
            PinHash::from_phc(
                "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                 MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI",
            )
            .unwrap(),
        );
        variants.push(everything);
        for length in [1, 40, MAX_TOKEN_ID_LEN] {
            let mut named = plain.clone();
            named.id = TokenId::new("F".repeat(length)).unwrap();
            variants.push(named);
        }
        for variant in &variants {
            assert_eq!(mac_work(variant), work, "{variant:?}");
        }
        // Without the padding the work differs, which is what the test is for.
        let bare = |record: &TokenRecord| (encode(record).len() + 9).div_ceil(64);
        assert!(variants.iter().any(|variant| bare(variant) != bare(&plain)));
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
        let mut enrolled = Encoder(Vec::new(), 0);
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
        for uses in [0, 1, 2] {
            let mut limited = plain.clone();
            limited.state.uses_left = Some(uses);
            variants.push(limited);
        }
        let mut standing_in = plain.clone();
        standing_in.replaces = Some(crate::validator::record::TokenId::new("FOB-0").unwrap());
        variants.push(standing_in);
        for ciphertext in [[1; 48], [2; 48]] {
            let mut unlockable = plain.clone();
            unlockable.unlock_key = Some(SealedSecret {
                key_id: 1,
                nonce: [4; 12],
                ciphertext: ciphertext.to_vec().into(),
            });
            variants.push(unlockable);
        }
        let mut seen = vec![encoded];
        for variant in &variants {
            let encoding = encode(variant);
            assert!(!seen.contains(&encoding), "{variant:?}");
            seen.push(encoding);
        }
    }
}
