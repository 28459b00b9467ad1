//! The per-token audit hash chain: each audit event that changes a token's record
//! carries `SHA-256(previous link ‖ canonical event)`, and the newest link (the chain
//! head) is stored in the record itself, written by the same compare-and-swap as the
//! event. One token's chain never waits for another's: the head is per record, and the
//! compare-and-swap that serialises a token's writes already serialises its chain.
//!
//! # What is chained
//!
//! Every event written with a record (enrolment, verification, resync, challenges,
//! administration, and the helpdesk's lookups and block alerts, which write the record
//! with nothing but its version and head moved) is a link. An event that writes no record cannot move a head and
//! is stored unchained (`chain` null): a rejection for an id that is not enrolled, for
//! a record that fails its MAC, for a store failure or a keyring that cannot be
//! reached, and a deletion (the record, and its head, go with it). The first event of
//! an enrolment links from [`GENESIS`]; so does the first event of a record stored
//! before the chain existed (schema version 8), whose older audit rows have no link
//! and are reported as unchained, before the chain began.
//!
//! # Security
//!
//! [`verify_trail`] detects, in the rows of a token that still has a record: an edited
//! event (its link no longer matches), a removed event (the next one no longer
//! follows), events reordered, an event unchained by nulling its link, and events
//! removed or added at the end (the last link is not the record's head). The head is
//! covered by the record's MAC, so moving it needs the MAC key, which the database's
//! operator does not hold.
//!
//! It does **not** detect: a whole, older copy of the database restored (its chains
//! and heads are the authentic ones of the past, as for the record MAC); a rewrite by
//! someone who holds the keyring's key as well as the database, with every chain and
//! MAC recomputed; the tail of a deleted token's trail removed (no record is left to
//! hold its head); or unchained events added or removed. The defence is outside the
//! database: export each token's head periodically, signed, to an append-only place
//! the database's operator cannot write (a WORM bucket, a transparency log, the SIEM),
//! and compare the chains against the last export (README, "Audit trail").

use sha2::{Digest, Sha256};

use crate::clock::UnixTime;
use crate::validator::audit::{AuditEvent, CHAIN_HASH_LEN, ChainHash, Operation, Outcome};
use crate::validator::record::TokenId;

/// The link before the first event of a chain.
pub const GENESIS: ChainHash = ChainHash([0; CHAIN_HASH_LEN]);

/// The domain of the chain's hash, so a link is never mistaken for another SHA-256.
const DOMAIN: &[u8] = b"otpfob audit chain v1";

fn field(hasher: &mut Sha256, bytes: &[u8]) {
    // Length-prefixed, so that no two events encode alike.
    let length = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    hasher.update(length.to_be_bytes());
    hasher.update(bytes);
}

fn optional(hasher: &mut Sha256, value: Option<&str>) {
    match value {
        None => field(hasher, b"none"),
        Some(value) => {
            field(hasher, b"some");
            field(hasher, value.as_bytes());
        }
    }
}

/// The link of `event` after `previous` (the head of the record it changes, or
/// `None` for the first event of a chain): SHA-256 over the domain, the previous link
/// and every field of the event but its own link.
#[must_use]
pub fn link(previous: Option<&ChainHash>, event: &AuditEvent) -> ChainHash {
    let mut hasher = Sha256::new();
    field(&mut hasher, DOMAIN);
    field(&mut hasher, &previous.unwrap_or(&GENESIS).0);
    field(&mut hasher, event.token.as_str().as_bytes());
    field(&mut hasher, &event.at.as_nanos().to_be_bytes());
    field(&mut hasher, event.operation.as_str().as_bytes());
    match event.outcome {
        Outcome::Accepted => field(&mut hasher, b"accepted"),
        Outcome::Done => field(&mut hasher, b"done"),
        Outcome::Rejected(reason) => {
            field(&mut hasher, b"rejected");
            field(&mut hasher, reason.as_str().as_bytes());
        }
    }
    match event.offset {
        None => field(&mut hasher, b"none"),
        Some(offset) => {
            field(&mut hasher, b"some");
            field(&mut hasher, &offset.to_be_bytes());
        }
    }
    optional(&mut hasher, event.actor.as_deref());
    let context = &event.context;
    optional(
        &mut hasher,
        context.actor_kind.as_ref().map(|kind| kind.as_str()),
    );
    optional(&mut hasher, context.channel.as_deref());
    optional(&mut hasher, context.request_id.as_deref());
    optional(&mut hasher, context.node.as_deref());
    // Schema version 12, appended only when given: an event without a reason links
    // exactly as before, so older chains still check, and a reason cannot be added,
    // removed or edited without breaking the link.
    if let Some(reason) = &event.reason {
        field(&mut hasher, b"reason");
        field(&mut hasher, reason.as_str().as_bytes());
    }
    ChainHash(hasher.finalize().into())
}

/// Why a chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChainBreakKind {
    /// This event's link is not the hash of the one before and itself: it was edited,
    /// an event before it was removed, or the events were reordered.
    LinkMismatch,
    /// The last link is not the record's head: events at the end were removed (or
    /// some added), or the head itself was changed.
    HeadMismatch,
    /// The token's record fails its MAC, so its head cannot be trusted.
    RecordUnauthentic,
}

/// The first broken link of a token's chain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ChainBreak {
    /// Where, counted from the token's oldest audit event (0); the number of events
    /// for a break at the end ([`ChainBreakKind::HeadMismatch`]).
    pub position: usize,
    /// When the event at `position` happened, if there is one.
    pub at: Option<UnixTime>,
    /// What it was, if there is one.
    pub operation: Option<Operation>,
    /// Why the chain breaks there.
    pub kind: ChainBreakKind,
}

/// What checking one token's chain found.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ChainReport {
    /// The token checked.
    pub token: TokenId,
    /// Its audit events read.
    pub events: usize,
    /// How many of them are links.
    pub chained: usize,
    /// How many carry no link (see the module docs: no record was written with them,
    /// or they are older than the chain).
    pub unchained: usize,
    /// The first broken link, or `None` for an intact chain.
    pub broken: Option<ChainBreak>,
}

impl ChainReport {
    /// Whether the chain is intact.
    #[must_use]
    pub fn is_intact(&self) -> bool {
        self.broken.is_none()
    }
}

/// Checks `events` (a token's whole trail, oldest first) against the chain head of
/// its record: `Some(head)` for a record with one, `Some(None)` for a record without
/// (stored before the chain existed and not changed since), `None` when the token has
/// no record (deleted), whose chain is checked link by link only.
///
/// A pure function: the validator reads the trail and the record, this decides.
#[must_use]
pub fn verify_trail(
    token: &TokenId,
    head: Option<Option<ChainHash>>,
    events: &[AuditEvent],
) -> ChainReport {
    let mut previous: Option<ChainHash> = None;
    let mut chained = 0;
    let mut broken = None;
    for (position, event) in events.iter().enumerate() {
        let Some(hash) = event.chain else {
            continue;
        };
        chained += 1;
        if broken.is_some() {
            continue;
        }
        // An enrolment starts a new chain (a new incarnation of the id).
        let before = match event.operation {
            Operation::Enrol => None,
            _ => previous,
        };
        if link(before.as_ref(), event) != hash {
            broken = Some(ChainBreak {
                position,
                at: Some(event.at),
                operation: Some(event.operation),
                kind: ChainBreakKind::LinkMismatch,
            });
        }
        previous = Some(hash);
    }
    if broken.is_none()
        && let Some(head) = head
        && head != previous
    {
        broken = Some(ChainBreak {
            position: events.len(),
            at: None,
            operation: None,
            kind: ChainBreakKind::HeadMismatch,
        });
    }
    ChainReport {
        token: token.clone(),
        events: events.len(),
        chained,
        unchained: events.len() - chained,
        broken,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validator::audit::AuditContext;
    use crate::validator::error::RejectReason;

    fn token() -> TokenId {
        TokenId::new("FOB-1").unwrap()
    }

    /// A chain of `length` events as the validator writes it, and its head.
    fn chain(length: i64) -> (Vec<AuditEvent>, Option<ChainHash>) {
        let mut head = None;
        let mut events = Vec::new();
        for second in 0..length {
            let mut event = AuditEvent {
                token: token(),
                at: UnixTime::from_secs(second),
                operation: if second == 0 {
                    Operation::Enrol
                } else {
                    Operation::Verify
                },
                outcome: if second % 2 == 0 {
                    Outcome::Accepted
                } else {
                    Outcome::Rejected(RejectReason::WrongCode)
                },
                offset: None,
                actor: Some("client".into()),
                context: AuditContext::new().channel("api"),
                reason: None,
                chain: None,
            };
            let next = link(head.as_ref(), &event);
            event.chain = Some(next);
            head = Some(next);
            events.push(event);
        }
        (events, head)
    }

    #[test]
    fn a_reason_is_part_of_the_link() {
        let (events, _) = chain(1);
        let plain = link(None, &events[0]);
        let mut given = events[0].clone();
        given.reason = Some(crate::validator::AuditReason::new("customer called").unwrap());
        let with_reason = link(None, &given);
        assert_ne!(plain, with_reason);
        given.reason = Some(crate::validator::AuditReason::new("customer calls").unwrap());
        assert_ne!(link(None, &given), with_reason);
    }

    #[test]
    fn an_untouched_chain_is_intact_and_unchained_events_are_counted() {
        let (mut events, head) = chain(5);
        let mut unknown = events[0].clone();
        unknown.chain = None;
        events.insert(2, unknown);
        let report = verify_trail(&token(), Some(head), &events);
        assert!(report.is_intact(), "{report:?}");
        assert_eq!((report.events, report.chained, report.unchained), (6, 5, 1));
    }

    #[test]
    fn an_edited_event_breaks_its_own_link() {
        let (mut events, head) = chain(5);
        events[2].outcome = Outcome::Rejected(RejectReason::Locked);
        let broken = verify_trail(&token(), Some(head), &events).broken.unwrap();
        assert_eq!(
            (broken.position, broken.kind),
            (2, ChainBreakKind::LinkMismatch)
        );
        let (mut events, head) = chain(5);
        events[3].context.request_id = Some("forged".into());
        assert_eq!(
            verify_trail(&token(), Some(head), &events)
                .broken
                .unwrap()
                .position,
            3
        );
    }

    #[test]
    fn a_removed_event_breaks_the_next_link_and_a_removed_tail_the_head() {
        let (mut events, head) = chain(5);
        events.remove(2);
        let broken = verify_trail(&token(), Some(head), &events).broken.unwrap();
        assert_eq!(
            (broken.position, broken.kind),
            (2, ChainBreakKind::LinkMismatch)
        );
        let (mut events, head) = chain(5);
        events.pop();
        let broken = verify_trail(&token(), Some(head), &events).broken.unwrap();
        assert_eq!(
            (broken.position, broken.kind),
            (4, ChainBreakKind::HeadMismatch)
        );
        // Unchaining the last event by nulling its link is its removal.
        let (mut events, head) = chain(5);
        events[4].chain = None;
        assert!(!verify_trail(&token(), Some(head), &events).is_intact());
        // Every link removed, the head left: still caught.
        let (events, head) = chain(3);
        let unchained: Vec<_> = events
            .into_iter()
            .map(|event| AuditEvent {
                chain: None,
                ..event
            })
            .collect();
        assert!(!verify_trail(&token(), Some(head), &unchained).is_intact());
    }

    #[test]
    fn reordered_events_break_the_chain() {
        let (mut events, head) = chain(5);
        events.swap(1, 3);
        let broken = verify_trail(&token(), Some(head), &events).broken.unwrap();
        assert_eq!(
            (broken.position, broken.kind),
            (1, ChainBreakKind::LinkMismatch)
        );
    }

    #[test]
    fn a_deleted_token_is_checked_link_by_link_and_a_legacy_record_has_no_head() {
        let (mut events, _) = chain(4);
        assert!(verify_trail(&token(), None, &events).is_intact());
        events[1].offset = Some(1);
        assert!(!verify_trail(&token(), None, &events).is_intact());
        // A record from before the chain: no head and old rows without links.
        let (events, _) = chain(2);
        let legacy: Vec<_> = events
            .into_iter()
            .map(|event| AuditEvent {
                chain: None,
                ..event
            })
            .collect();
        let report = verify_trail(&token(), Some(None), &legacy);
        assert!(report.is_intact());
        assert_eq!(report.unchained, 2);
    }

    #[test]
    fn the_encoding_is_unambiguous() {
        let (events, _) = chain(1);
        let mut one = events[0].clone();
        one.context.channel = Some("ab".into());
        one.context.request_id = Some("c".into());
        let mut other = events[0].clone();
        other.context.channel = Some("a".into());
        other.context.request_id = Some("bc".into());
        assert_ne!(link(None, &one), link(None, &other));
        assert_eq!(link(None, &one), link(Some(&GENESIS), &one));
    }
}
