//! A concurrent in-process store, for tests, simulations and single-process use.

use std::collections::hash_map::Entry;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::validator::audit::AuditEvent;
use crate::validator::error::StoreError;
use crate::validator::lifecycle::CustomerRef;
use crate::validator::record::{TokenId, TokenRecord};
use crate::validator::store::{Store, Swap};

/// Shards: enough that 8 to 16 threads rarely wait on one another.
const SHARDS: usize = 64;

/// The newest audit events a `MemoryStore` keeps by default.
pub const DEFAULT_AUDIT_CAPACITY: usize = 100_000;

/// One shard: its tokens' records and their audit events, under one lock, so a change
/// and its audit event are written together without a second lock.
#[derive(Debug, Default)]
struct ShardData {
    records: HashMap<TokenId, TokenRecord>,
    audit: VecDeque<AuditEvent>,
}

type Shard = RwLock<ShardData>;

/// Token records in memory, behind 64 independently locked shards.
///
/// Nothing survives the process: use it for tests, simulations, and services whose
/// records are rebuilt at start. Its compare-and-swap is atomic under the shard's
/// write lock, so it is exactly-once across threads of one process. Each token's audit
/// events live in its shard, the newest kept, up to an equal part of the capacity per
/// shard.
#[derive(Debug)]
pub struct MemoryStore {
    shards: Vec<Shard>,
    audit_per_shard: usize,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store keeping about the newest [`DEFAULT_AUDIT_CAPACITY`] audit events.
    #[must_use]
    pub fn new() -> Self {
        Self::with_audit_capacity(DEFAULT_AUDIT_CAPACITY)
    }

    /// An empty store keeping about the newest `capacity` audit events (0 keeps none),
    /// spread over its shards.
    #[must_use]
    pub fn with_audit_capacity(capacity: usize) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            audit_per_shard: capacity.div_ceil(SHARDS),
        }
    }

    fn shard(&self, id: &TokenId) -> &Shard {
        // FNV-1a: the shard only spreads the load, and each shard's map hashes the id
        // again with the standard library's keyed hasher, so a cheap hash serves here.
        let hash = id
            .as_str()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
                (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
            });
        let index = (hash % SHARDS as u64) as usize;
        // `index < SHARDS == self.shards.len()`.
        &self.shards[index]
    }

    fn read(shard: &Shard) -> RwLockReadGuard<'_, ShardData> {
        // A panic while holding the lock cannot leave a half-written record: every
        // write below is a single insert, replace or remove.
        shard.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(shard: &Shard) -> RwLockWriteGuard<'_, ShardData> {
        shard.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// Appends an audit event to a shard already locked for writing.
    fn push_audit(&self, shard: &mut ShardData, event: &AuditEvent) {
        if self.audit_per_shard == 0 {
            return;
        }
        if shard.audit.len() >= self.audit_per_shard {
            shard.audit.pop_front();
        }
        shard.audit.push_back(event.clone());
    }
}

impl Store for MemoryStore {
    fn enrol(&self, record: &TokenRecord, audit: &AuditEvent) -> Result<(), StoreError> {
        let mut shard = Self::write(self.shard(&record.id));
        match shard.records.entry(record.id.clone()) {
            Entry::Occupied(_) => Err(StoreError::AlreadyEnrolled {
                token: record.id.to_string(),
            }),
            Entry::Vacant(slot) => {
                slot.insert(record.clone());
                self.push_audit(&mut shard, audit);
                Ok(())
            }
        }
    }

    fn load(&self, id: &TokenId) -> Result<Option<TokenRecord>, StoreError> {
        Ok(Self::read(self.shard(id)).records.get(id).cloned())
    }

    fn compare_and_swap(
        &self,
        record: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        self.compare_and_swap_owned(record.clone(), expected_version, audit)
    }

    fn compare_and_swap_owned(
        &self,
        record: TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<Swap, StoreError> {
        let mut shard = Self::write(self.shard(&record.id));
        match shard.records.get_mut(&record.id) {
            // The incarnation too: a record of a deleted enrolment has the versions
            // of the id's next one.
            Some(stored)
                if stored.version == expected_version
                    && stored.incarnation == record.incarnation =>
            {
                *stored = record;
                self.push_audit(&mut shard, audit);
                Ok(Swap::Swapped)
            }
            _ => Ok(Swap::Conflict),
        }
    }

    fn delete(&self, id: &TokenId, audit: &AuditEvent) -> Result<bool, StoreError> {
        let mut shard = Self::write(self.shard(id));
        let removed = shard.records.remove(id).is_some();
        if removed {
            self.push_audit(&mut shard, audit);
        }
        Ok(removed)
    }

    fn list(&self) -> Result<Vec<TokenId>, StoreError> {
        let mut ids: Vec<TokenId> = self
            .shards
            .iter()
            .flat_map(|shard| {
                Self::read(shard)
                    .records
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    fn tokens_of(&self, owner: &CustomerRef) -> Result<Vec<TokenId>, StoreError> {
        // A pass over every shard: the memory store serves tests and simulations, where
        // an index kept beside each shard's records would cost every swap for little.
        let mut ids: Vec<TokenId> = Vec::new();
        for shard in &self.shards {
            ids.extend(
                Self::read(shard)
                    .records
                    .values()
                    .filter(|record| record.owner.as_ref() == Some(owner))
                    .map(|record| record.id.clone()),
            );
        }
        ids.sort();
        Ok(ids)
    }

    fn list_page(&self, after: Option<&TokenId>, limit: usize) -> Result<Vec<TokenId>, StoreError> {
        // The records are hashed, not ordered: one pass over every shard keeping the
        // `limit` smallest ids after `after` in a max-heap, so a page costs memory for
        // one page only.
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut page: BinaryHeap<TokenId> = BinaryHeap::with_capacity(limit.min(1024) + 1);
        for shard in &self.shards {
            for id in Self::read(shard).records.keys() {
                if after.is_some_and(|after| id <= after) {
                    continue;
                }
                if page.len() < limit {
                    page.push(id.clone());
                } else if page.peek().is_some_and(|largest| id < largest) {
                    page.pop();
                    page.push(id.clone());
                }
            }
        }
        Ok(page.into_sorted_vec())
    }

    fn append_audit(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let mut shard = Self::write(self.shard(&event.token));
        self.push_audit(&mut shard, event);
        Ok(())
    }

    fn record_rejection(
        &self,
        probe: &TokenRecord,
        expected_version: u64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError> {
        // The compare-and-swap's lock, lookup and comparison, then its audit push.
        let mut shard = Self::write(self.shard(&probe.id));
        let matched = shard.records.get(&probe.id).is_some_and(|stored| {
            stored.version == expected_version && stored.incarnation == probe.incarnation
        });
        if matched {
            return Err(super::probe_matched(probe.id.as_str()));
        }
        self.push_audit(&mut shard, audit);
        Ok(())
    }

    fn audit_trail(&self, id: &TokenId, limit: usize) -> Result<Vec<AuditEvent>, StoreError> {
        let shard = Self::read(self.shard(id));
        let mut events: Vec<AuditEvent> = shard
            .audit
            .iter()
            .rev()
            .filter(|event| &event.token == id)
            .take(limit)
            .cloned()
            .collect();
        events.reverse();
        Ok(events)
    }
}
