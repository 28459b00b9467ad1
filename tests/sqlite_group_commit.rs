//! Group commit in the SQLite store: concurrent writes share commits and each keeps
//! the `Store` contract (its own version check, its own audit row, durable before its
//! answer, one winner per code), and a closed writer fails its callers, never hangs.
#![cfg(feature = "sqlite")]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Barrier, mpsc};
use std::thread;
use std::time::Duration;

use otpfob::store::GROUP_COMMIT_BATCH_BUCKETS;
use otpfob::validator::{AuditEvent, Operation, Outcome, Store, Swap, TokenKind, TokenRecord};
use otpfob::{
    Enrolment, Hotp, HotpParameters, Keyring, ManualClock, Policy, RejectReason, SealingKey,
    Secret, SqliteOptions, SqliteStore, StoreError, TokenId, Totp, TotpParameters, UnixTime,
    Validator,
};

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[9; 32]).unwrap())
}

fn id(text: &str) -> TokenId {
    TokenId::new(text).unwrap()
}

fn secret(index: usize) -> Secret {
    Secret::from_bytes(format!("group-commit-secret-{index:04}").as_bytes()).unwrap()
}

fn store(path: &Path) -> SqliteStore {
    SqliteStore::open_with(path, &SqliteOptions::new()).unwrap()
}

fn audit(token: &TokenId, operation: Operation, outcome: Outcome) -> AuditEvent {
    AuditEvent {
        token: token.clone(),
        at: UnixTime::from_secs(1_700_000_000),
        operation,
        outcome,
        offset: None,
        actor: None,
        context: Default::default(),
        reason: None,
        chain: None,
    }
}

/// A raw event token record, for the store-level tests.
fn record(token: &str) -> TokenRecord {
    let token = id(token);
    let validator = Validator::new(
        otpfob::MemoryStore::new(),
        ManualClock::at_secs(0),
        keyring(),
    );
    validator
        .enrol(Enrolment::new(
            token.clone(),
            secret(0),
            HotpParameters::default(),
        ))
        .unwrap();
    validator.store().load(&token).unwrap().unwrap()
}

/// Joins `handle`, failing the test instead of hanging if it does not end in time.
fn join_within<T: Send + 'static>(handle: thread::JoinHandle<T>, limit: Duration) -> T {
    let (done, finished) = mpsc::channel();
    let watcher = thread::spawn(move || {
        let _ = done.send(handle.join());
    });
    let result = finished
        .recv_timeout(limit)
        .expect("a caller hung on the group-commit writer");
    watcher.join().unwrap();
    result.unwrap()
}

/// 64 threads submit the same valid code to one token at once: exactly one is
/// accepted, and the audit trail holds that one acceptance and one row per call.
#[test]
fn sixty_four_threads_one_code_one_acceptance() {
    let directory = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_secs(1_700_000_000);
    // 63 replays count as failures; the limit is out of reach so that each stays a
    // replay rather than a lock.
    let policy = {
        let mut policy = Policy::default();
        policy.failure_limit = u32::MAX;
        policy
    };
    let validator = Arc::new(
        Validator::new(
            store(&directory.path().join("tokens.db")),
            clock.clone(),
            keyring(),
        )
        .with_policy(policy)
        .unwrap(),
    );
    for round in 0..3 {
        let token = id(&format!("shared-{round}"));
        validator
            .enrol(Enrolment::new(
                token.clone(),
                secret(round),
                TotpParameters::default(),
            ))
            .unwrap();
        let code = Totp::new(&secret(round), TotpParameters::default())
            .unwrap()
            .now(&clock)
            .unwrap()
            .to_string();
        let barrier = Arc::new(Barrier::new(64));
        let results: Vec<_> = (0..64)
            .map(|_| {
                let validator = Arc::clone(&validator);
                let barrier = Arc::clone(&barrier);
                let token = token.clone();
                let code = code.clone();
                thread::spawn(move || {
                    barrier.wait();
                    validator.verify(&token, &code, None)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|handle| join_within(handle, Duration::from_secs(60)))
            .collect();
        let accepted = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(accepted, 1, "round {round}");
        // Each loser is a replay, or, when 63 failure counts race for one record and a
        // caller loses every retry, a rejection for contention: never a store failure.
        for rejected in results.iter().filter_map(|result| result.err()) {
            assert!(
                matches!(
                    rejected.reason(),
                    RejectReason::Replayed | RejectReason::Contention
                ),
                "round {round}: {rejected:?}"
            );
        }
        let trail = validator.store().audit_trail(&token, 1000).unwrap();
        let accepted_in_audit = trail
            .iter()
            .filter(|event| event.outcome == Outcome::Accepted)
            .count();
        assert_eq!(accepted_in_audit, 1, "round {round}");
        // The enrolment and one row per verification.
        assert_eq!(trail.len(), 65, "round {round}");
    }
}

/// 16 threads verify right codes, wrong codes and replays on 24 shared HOTP tokens:
/// no counter is accepted twice, each token's stored counter is one past the highest
/// accepted one, and each token's audit trail holds exactly one row per verification
/// with exactly the acceptances the callers were told of.
#[test]
fn many_threads_many_tokens_answers_match_state_and_audit() {
    const TOKENS: usize = 24;
    const THREADS: usize = 16;
    const VERIFICATIONS: usize = 150;
    let directory = tempfile::tempdir().unwrap();
    let policy = {
        let mut policy = Policy::default();
        policy.failure_limit = u32::MAX;
        policy
    };
    let validator = Arc::new(
        Validator::new(
            store(&directory.path().join("tokens.db")),
            ManualClock::at_secs(1_700_000_000),
            keyring(),
        )
        .with_policy(policy)
        .unwrap(),
    );
    for index in 0..TOKENS {
        validator
            .enrol(Enrolment::new(
                id(&format!("many-{index:02}")),
                secret(index),
                HotpParameters::default(),
            ))
            .unwrap();
    }
    let handles: Vec<_> = (0..THREADS)
        .map(|thread_index| {
            let validator = Arc::clone(&validator);
            thread::spawn(move || {
                let generators: Vec<Hotp> = (0..TOKENS)
                    .map(|index| Hotp::new(&secret(index), HotpParameters::default()).unwrap())
                    .collect();
                let mut random = 0x2545_f491_4f6c_dd1d_u64 ^ (thread_index as u64 + 1);
                // (token, accepted counter) and verifications per token.
                let mut accepted = Vec::new();
                let mut calls = vec![0usize; TOKENS];
                for _ in 0..VERIFICATIONS {
                    random ^= random << 13;
                    random ^= random >> 7;
                    random ^= random << 17;
                    let index = (random % TOKENS as u64) as usize;
                    let token = id(&format!("many-{index:02}"));
                    let state = validator.state(&token).unwrap().unwrap();
                    let TokenKind::Event { next_counter, .. } = state.kind else {
                        panic!("an event token");
                    };
                    let code = match (random >> 8) % 3 {
                        0 => generators[index].at(next_counter).to_string(),
                        1 => generators[index]
                            .at(next_counter.saturating_sub(1))
                            .to_string(),
                        _ => format!("{:06}", (random >> 16) % 1_000_000),
                    };
                    calls[index] += 1;
                    match validator.verify(&token, &code, None) {
                        Ok(acceptance) => accepted.push((index, acceptance.position)),
                        Err(rejected) => assert_ne!(
                            rejected.reason(),
                            RejectReason::StoreFailure,
                            "the store failed"
                        ),
                    }
                }
                (accepted, calls)
            })
        })
        .collect();
    let mut accepted_counters: BTreeMap<usize, BTreeSet<u64>> = BTreeMap::new();
    let mut calls = [0usize; TOKENS];
    for handle in handles {
        let (accepted, thread_calls) = join_within(handle, Duration::from_secs(120));
        for (index, counter) in accepted {
            assert!(
                accepted_counters.entry(index).or_default().insert(counter),
                "counter {counter} of token {index} accepted twice"
            );
        }
        for (index, count) in thread_calls.into_iter().enumerate() {
            calls[index] += count;
        }
    }
    assert!(accepted_counters.values().map(BTreeSet::len).sum::<usize>() > 0);
    let store = validator.store();
    for (index, calls) in calls.into_iter().enumerate() {
        let token = id(&format!("many-{index:02}"));
        let TokenKind::Event { next_counter, .. } = store.load(&token).unwrap().unwrap().state.kind
        else {
            panic!("an event token");
        };
        let accepted = accepted_counters.remove(&index).unwrap_or_default();
        assert_eq!(
            next_counter,
            accepted.last().map_or(0, |highest| highest + 1),
            "token {index}"
        );
        let trail = store.audit_trail(&token, 100_000).unwrap();
        let verifications: Vec<&AuditEvent> = trail
            .iter()
            .filter(|event| event.operation == Operation::Verify)
            .collect();
        assert_eq!(verifications.len(), calls, "token {index}");
        let accepted_in_audit = verifications
            .iter()
            .filter(|event| event.outcome == Outcome::Accepted)
            .count();
        assert_eq!(accepted_in_audit, accepted.len(), "token {index}");
    }
    let statistics = store.group_commit_statistics().unwrap();
    assert_eq!(
        statistics.batch_sizes.iter().sum::<u64>(),
        statistics.commits + statistics.failed_batches
    );
    assert_eq!(statistics.failed_batches, 0);
}

/// 32 threads swap 32 different tokens at once, 20 times: the writer commits them in
/// fewer transactions than writes, and the statistics add up. Without group commit
/// every write would be its own commit (and there would be no statistics).
#[test]
fn concurrent_swaps_share_commits() {
    const THREADS: usize = 32;
    const ROUNDS: u64 = 20;
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&directory.path().join("tokens.db")));
    let records: Vec<TokenRecord> = (0..THREADS)
        .map(|index| {
            let record = record(&format!("batch-{index:02}"));
            store
                .enrol(&record, &audit(&record.id, Operation::Enrol, Outcome::Done))
                .unwrap();
            record
        })
        .collect();
    let before = store.group_commit_statistics().unwrap();
    assert_eq!(before.commits, THREADS as u64, "one enrolment at a time");
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = records
        .into_iter()
        .map(|mut record| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                for round in 1..=ROUNDS {
                    record.version = round + 1;
                    record.state.failures = u32::try_from(round).unwrap();
                    let event = audit(&record.id, Operation::Verify, Outcome::Accepted);
                    barrier.wait();
                    assert_eq!(
                        store.compare_and_swap(&record, round, &event).unwrap(),
                        Swap::Swapped
                    );
                }
            })
        })
        .collect();
    for handle in handles {
        join_within(handle, Duration::from_secs(60));
    }
    let after = store.group_commit_statistics().unwrap();
    let writes = after.writes - before.writes;
    let commits = after.commits - before.commits;
    assert_eq!(writes, THREADS as u64 * ROUNDS);
    assert!(
        commits < writes / 2,
        "{commits} commits for {writes} writes: no batches formed"
    );
    assert!(after.mean_batch_size() > 1.0);
    // Batches of more than one write were counted above the first bucket.
    assert!(after.batch_sizes[1..].iter().sum::<u64>() > 0);
    assert_eq!(GROUP_COMMIT_BATCH_BUCKETS[0], 1);
    assert_eq!(
        after.batch_sizes.iter().sum::<u64>(),
        after.commits + after.failed_batches
    );
    for index in 0..THREADS {
        let stored = store
            .load(&id(&format!("batch-{index:02}")))
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, ROUNDS + 1);
        assert_eq!(stored.state.failures, u32::try_from(ROUNDS).unwrap());
    }
}

/// In one batch, a conflict and a refused enrolment fail only their own callers: the
/// other writes of the batch are committed and answered as such.
#[test]
fn one_write_failing_does_not_fail_its_batch() {
    const THREADS: usize = 24;
    let directory = tempfile::tempdir().unwrap();
    let store = Arc::new(store(&directory.path().join("tokens.db")));
    let taken = record("taken");
    store
        .enrol(&taken, &audit(&taken.id, Operation::Enrol, Outcome::Done))
        .unwrap();
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|index| {
            let store = Arc::clone(&store);
            let barrier = Arc::clone(&barrier);
            let taken = taken.clone();
            thread::spawn(move || {
                barrier.wait();
                match index % 3 {
                    // A duplicate enrolment: refused, nothing written.
                    0 => match store
                        .enrol(&taken, &audit(&taken.id, Operation::Enrol, Outcome::Done))
                    {
                        Err(StoreError::AlreadyEnrolled { .. }) => 0,
                        other => panic!("duplicate enrolment answered {other:?}"),
                    },
                    // A stale version: a conflict, nothing written.
                    1 => {
                        let mut stale = taken.clone();
                        stale.version = 10;
                        let event = audit(&taken.id, Operation::Verify, Outcome::Accepted);
                        assert_eq!(
                            store.compare_and_swap(&stale, 9, &event).unwrap(),
                            Swap::Conflict
                        );
                        0
                    }
                    // A fresh enrolment: written.
                    _ => {
                        let fresh = record(&format!("fresh-{index:02}"));
                        store
                            .enrol(&fresh, &audit(&fresh.id, Operation::Enrol, Outcome::Done))
                            .unwrap();
                        1
                    }
                }
            })
        })
        .collect();
    let fresh: usize = handles
        .into_iter()
        .map(|handle| join_within(handle, Duration::from_secs(60)))
        .sum();
    assert_eq!(fresh, THREADS / 3);
    let statistics = store.group_commit_statistics().unwrap();
    assert!(
        statistics.batch_sizes[1..].iter().sum::<u64>() > 0,
        "the writes never shared a batch: {statistics:?}"
    );
    assert_eq!(store.list().unwrap().len(), 1 + THREADS / 3);
    let stored = store.load(&taken.id).unwrap().unwrap();
    assert_eq!(stored, taken, "the refused writes changed nothing");
    assert_eq!(store.audit_trail(&taken.id, 100).unwrap().len(), 1);
    for index in (0..THREADS).filter(|index| index % 3 == 2) {
        let token = id(&format!("fresh-{index:02}"));
        assert_eq!(store.audit_trail(&token, 10).unwrap().len(), 1);
    }
}

/// Closing the writer while 16 threads write: every thread ends (none hangs), every
/// write after the close fails, and every `Swapped` a caller was told of is in the
/// file when it is reopened.
#[test]
fn a_closed_writer_fails_callers_and_keeps_what_it_answered() {
    const THREADS: usize = 16;
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tokens.db");
    let store = Arc::new(store(&path));
    // Each thread swaps the very record it enrolled: a fresh `record` would have
    // another incarnation, and every swap of it would conflict.
    let enrolled: Vec<_> = (0..THREADS)
        .map(|index| record(&format!("close-{index:02}")))
        .collect();
    for record in &enrolled {
        store
            .enrol(record, &audit(&record.id, Operation::Enrol, Outcome::Done))
            .unwrap();
    }
    let started = Arc::new(Barrier::new(THREADS + 1));
    let handles: Vec<_> = enrolled
        .into_iter()
        .map(|mut record| {
            let store = Arc::clone(&store);
            let started = Arc::clone(&started);
            thread::spawn(move || {
                started.wait();
                let mut last_swapped = 1;
                loop {
                    record.version = last_swapped + 1;
                    let event = audit(&record.id, Operation::Verify, Outcome::Accepted);
                    match store.compare_and_swap(&record, last_swapped, &event) {
                        Ok(Swap::Swapped) => last_swapped += 1,
                        Ok(Swap::Conflict) => panic!("nobody else writes this token"),
                        Err(StoreError::Backend { .. }) => return last_swapped,
                        Err(other) => panic!("unexpected error {other:?}"),
                    }
                }
            })
        })
        .collect();
    started.wait();
    thread::sleep(Duration::from_millis(200));
    store.close_writer();
    let last_swapped: Vec<u64> = handles
        .into_iter()
        .map(|handle| join_within(handle, Duration::from_secs(30)))
        .collect();
    assert!(
        last_swapped.iter().any(|&version| version > 1),
        "no write got through"
    );
    // Later writes fail at once, reads still work.
    let late = record("close-00");
    assert!(matches!(
        store.append_audit(&audit(&late.id, Operation::Verify, Outcome::Accepted)),
        Err(StoreError::Backend { .. })
    ));
    assert!(store.load(&late.id).unwrap().is_some());
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    for (index, version) in last_swapped.into_iter().enumerate() {
        let stored = reopened
            .load(&id(&format!("close-{index:02}")))
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, version, "token {index}");
    }
}

/// A validator over a closed writer rejects every code (fails closed), right or wrong.
#[test]
fn a_validator_over_a_closed_writer_rejects() {
    let directory = tempfile::tempdir().unwrap();
    let clock = ManualClock::at_secs(1_700_000_000);
    let validator = Validator::new(
        store(&directory.path().join("tokens.db")),
        clock.clone(),
        keyring(),
    );
    let token = id("closed");
    validator
        .enrol(Enrolment::new(
            token.clone(),
            secret(1),
            TotpParameters::default(),
        ))
        .unwrap();
    validator.store().close_writer();
    let code = Totp::new(&secret(1), TotpParameters::default())
        .unwrap()
        .now(&clock)
        .unwrap()
        .to_string();
    let rejected = validator.verify(&token, &code, None).unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::StoreFailure);
}
