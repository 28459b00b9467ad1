//! `PgStore` against a real PostgreSQL server (started by `scripts/with-postgres`):
//! migrations, fail-closed errors, exactly-once acceptance across validator nodes, and
//! random concurrent traffic checked against a sequential model.
#![cfg(feature = "postgres")]

mod pg_support;

use std::cell::Cell;
use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex, RwLock};
use std::thread;
use std::time::Duration;

use otpfob::{
    Acceptance, Code, Enrolment, Hotp, HotpParameters, Keyring, ManualClock, OtpParameters,
    PgConfig, PgStore, Policy, RejectReason, Rejected, SealingKey, Secret, StoreError, TimeSource,
    TokenId, Totp, TotpParameters, UnixTime, Validator, ValidatorError,
    store::POSTGRES_SCHEMA_VERSION,
    validator::{Lockout, Operation, Outcome, Store, TokenKind, TokenState, Verdict, decide},
};

const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[3; 32]).unwrap())
}

fn token(index: usize) -> TokenId {
    TokenId::new(format!("FOB-{index:06}")).unwrap()
}

fn secret(index: usize) -> Secret {
    Secret::from_bytes(format!("secret-of-token-{index:08}").as_bytes()).unwrap()
}

/// How many rows of `schema.schema_version` there are.
fn version_rows(config: &PgConfig) -> i64 {
    let mut client = pg_support::client_at(&pg_support::url());
    client
        .query_one(
            &format!(
                "SELECT count(*) FROM {}.schema_version",
                config.get_schema()
            ),
            &[],
        )
        .unwrap()
        .get(0)
}

#[test]
fn migrating_twice_is_a_no_op() {
    let config = pg_support::config("migrate", 2);
    let store = PgStore::connect_without_migrating(&config).unwrap();
    assert_eq!(store.schema_version().unwrap(), 0);
    // From nothing, every migration runs once.
    assert_eq!(i64::from(store.migrate().unwrap()), POSTGRES_SCHEMA_VERSION);
    assert_eq!(store.schema_version().unwrap(), POSTGRES_SCHEMA_VERSION);
    let validator = Validator::new(store, ManualClock::at_secs(START), keyring());
    validator
        .enrol(Enrolment::new(
            token(1),
            secret(1),
            HotpParameters::default(),
        ))
        .unwrap();
    // Again, through the same store and through another node's: nothing to do, and
    // the data stays.
    assert_eq!(validator.store().migrate().unwrap(), 0);
    let other = pg_support::connect(&config);
    assert_eq!(other.migrate().unwrap(), 0);
    assert_eq!(other.schema_version().unwrap(), POSTGRES_SCHEMA_VERSION);
    assert_eq!(version_rows(&config), POSTGRES_SCHEMA_VERSION);
    assert_eq!(other.list().unwrap(), vec![token(1)]);
}

/// Version 5 adds the audit actor to a version-4 schema: an event recorded before it
/// reads back with none, and a new one keeps its actor.
#[test]
fn a_version_4_schema_gains_the_audit_actor() {
    let config = pg_support::config("actor", 2);
    let store = pg_support::connect(&config);
    let schema = config.get_schema();
    let id = token(4);
    let before = otpfob::validator::AuditEvent {
        token: id.clone(),
        at: UnixTime::from_secs(START),
        operation: Operation::Unlock,
        outcome: Outcome::Done,
        offset: None,
        actor: None,
        context: Default::default(),
        reason: None,
        chain: None,
    };
    // Back to version 4 as that library left it: no actor column, its rows without one,
    // none of version 6's card columns, no version 7 probe rows (nor version 10's
    // stand-in) and none of version 8's life-cycle columns nor version 9's audit trail
    // columns, nor version 11's use limit and replaced token, nor version 12's given
    // reason, nor version 13's sealed unlock key.
    pg_support::client_at(&pg_support::url())
        .batch_execute(&format!(
            "DROP TABLE {schema}.rejection_standin;
             DROP INDEX {schema}.tokens_by_owner;
             ALTER TABLE {schema}.tokens
                 DROP CONSTRAINT tokens_status_check,
                 ADD CONSTRAINT tokens_status_check CHECK (status IN ('active', 'disabled')),
                 DROP COLUMN owner, DROP COLUMN not_before_seconds,
                 DROP COLUMN not_before_nanos, DROP COLUMN not_after_seconds,
                 DROP COLUMN not_after_nanos;
             ALTER TABLE {schema}.audit DROP COLUMN actor, DROP COLUMN actor_kind,
                 DROP COLUMN channel, DROP COLUMN request_id, DROP COLUMN node,
                 DROP COLUMN chain_hash, DROP COLUMN given_reason;
             ALTER TABLE {schema}.tokens
                 DROP COLUMN audit_head, DROP COLUMN uses_left, DROP COLUMN replaces,
                 DROP COLUMN unlock_seal_key_id, DROP COLUMN unlock_seal_nonce,
                 DROP COLUMN unlock_seal_ciphertext,
                 DROP CONSTRAINT tokens_kind_check,
                 ADD CONSTRAINT tokens_kind_check CHECK (kind IN ('event', 'time')),
                 DROP COLUMN cap_pan, DROP COLUMN cap_sequence,
                 DROP COLUMN cap_expiry_year, DROP COLUMN cap_expiry_month,
                 DROP COLUMN cap_derivation, DROP COLUMN cap_interchange_profile,
                 DROP COLUMN cap_bitmap, DROP COLUMN cap_flags, DROP COLUMN cap_modes,
                 DROP COLUMN cap_look_ahead;
             DELETE FROM {schema}.schema_version WHERE version >= 5;
             INSERT INTO {schema}.audit (token, at_seconds, at_nanos, operation, outcome)
                 VALUES ('{id}', {START}, 0, 'unlock', 'done');"
        ))
        .unwrap();
    assert_eq!(store.schema_version().unwrap(), 4);
    assert_eq!(store.migrate().unwrap(), 9);
    assert_eq!(store.schema_version().unwrap(), POSTGRES_SCHEMA_VERSION);
    let named = otpfob::validator::AuditEvent {
        actor: Some("helpdesk-7".into()),
        ..before.clone()
    };
    store.append_audit(&named).unwrap();
    assert_eq!(store.audit_trail(&id, 10).unwrap(), vec![before, named]);
}

#[test]
fn nodes_starting_together_migrate_once() {
    let config = pg_support::config("together", 2);
    let barrier = Arc::new(Barrier::new(6));
    let applied: u32 = (0..6)
        .map(|_| {
            let config = config.clone();
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || {
                let store = PgStore::connect_without_migrating(&config).unwrap();
                barrier.wait();
                store.migrate().unwrap()
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .sum();
    // One node applied every migration; the others found nothing to do.
    assert_eq!(i64::from(applied), POSTGRES_SCHEMA_VERSION);
    assert_eq!(version_rows(&config), POSTGRES_SCHEMA_VERSION);
}

#[test]
fn a_newer_schema_is_refused() {
    let config = pg_support::config("newer", 2);
    let store = pg_support::connect(&config);
    let newer = POSTGRES_SCHEMA_VERSION + 1;
    pg_support::client_at(&pg_support::url())
        .execute(
            &format!(
                "INSERT INTO {}.schema_version (version, applied_by) VALUES ($1, 'a newer otpfob')",
                config.get_schema()
            ),
            &[&newer],
        )
        .unwrap();
    let refused = StoreError::SchemaTooNew {
        found: newer,
        supported: POSTGRES_SCHEMA_VERSION,
    };
    assert_eq!(PgStore::connect(&config).unwrap_err(), refused);
    assert_eq!(store.migrate().unwrap_err(), refused);
    assert_eq!(
        refused.to_string(),
        format!(
            "the database schema is version {newer}, newer than the {POSTGRES_SCHEMA_VERSION} this library supports"
        )
    );
    // Refusing changed nothing.
    assert_eq!(store.schema_version().unwrap(), newer);
}

/// A port on which nothing listens.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn an_unreachable_server_fails_closed() {
    let config = PgConfig::new(&format!(
        "postgresql://postgres@127.0.0.1:{}/postgres",
        closed_port()
    ))
    .unwrap()
    .connect_timeout(Duration::from_millis(300))
    .unwrap();
    let error = PgStore::connect(&config).unwrap_err();
    let StoreError::Backend { reason } = &error else {
        panic!("{error:?}");
    };
    assert!(
        reason.contains("no PostgreSQL connection within 300 ms"),
        "{reason}"
    );
    assert!(reason.contains("error connecting to server"), "{reason}");

    // A node started while the server is down rejects, whatever it is asked.
    let store = PgStore::connect_without_migrating(&config).unwrap();
    let validator = Validator::new(store, ManualClock::at_secs(START), keyring());
    assert_eq!(
        validator
            .verify(&token(1), "123456", None)
            .unwrap_err()
            .reason(),
        RejectReason::StoreFailure
    );
    assert!(matches!(
        validator.enrol(Enrolment::new(
            token(1),
            secret(1),
            HotpParameters::default()
        )),
        Err(ValidatorError::Store(StoreError::Backend { .. }))
    ));
}

#[test]
fn a_server_that_could_lose_commits_is_refused() {
    let url = pg_support::url();
    let separator = if url.contains('?') { '&' } else { '?' };
    let config = PgConfig::new(&format!(
        "{url}{separator}options=-c%20synchronous_commit%3Doff"
    ))
    .unwrap()
    .connect_timeout(Duration::from_millis(500))
    .unwrap();
    let error = PgStore::connect(&config).unwrap_err();
    let StoreError::Backend { reason } = &error else {
        panic!("{error:?}");
    };
    assert!(reason.contains("synchronous_commit = off"), "{reason}");
}

#[test]
fn a_statement_timeout_fails_closed_and_the_pool_carries_on() {
    let config = pg_support::config("timeout", 2)
        .statement_timeout(Duration::from_millis(200))
        .unwrap();
    let store = pg_support::connect(&config);
    let clock = ManualClock::at_secs(START);
    let validator = Validator::new(store, clock.clone(), keyring());
    validator
        .enrol(Enrolment::new(
            token(7),
            secret(7),
            HotpParameters::default(),
        ))
        .unwrap();
    let hotp = Hotp::new(&secret(7), HotpParameters::default()).unwrap();

    // Another session holds the row: the compare-and-swap waits, then is cancelled.
    let mut holder = pg_support::client_at(&pg_support::url());
    let mut transaction = holder.transaction().unwrap();
    transaction
        .execute(
            &format!(
                "SELECT 1 FROM {}.tokens WHERE id = $1 FOR UPDATE",
                config.get_schema()
            ),
            &[&token(7).as_str()],
        )
        .unwrap();
    let code = hotp.at(0).to_string();
    assert_eq!(
        validator
            .verify(&token(7), &code, None)
            .unwrap_err()
            .reason(),
        RejectReason::StoreFailure
    );
    transaction.rollback().unwrap();

    // The timed-out statement changed nothing, and the same pool serves on.
    assert_eq!(
        validator.verify(&token(7), &code, None).unwrap().position,
        0
    );
    let trail = validator.store().audit_trail(&token(7), 10).unwrap();
    let outcomes: Vec<Outcome> = trail.iter().map(|event| event.outcome).collect();
    assert_eq!(
        outcomes,
        [
            Outcome::Done,
            Outcome::Rejected(RejectReason::StoreFailure),
            Outcome::Accepted
        ]
    );
}

/// Four validator nodes, each with its own pool, and eight threads on each submit
/// the same valid code at once: exactly one is accepted, round after round.
#[test]
fn four_nodes_accept_a_code_exactly_once() {
    let config = pg_support::config("nodes", 8);
    let clock = ManualClock::at_secs(START);
    // The losers' replays must not lock the token between rounds.
    let policy = {
        let mut policy = Policy::default();
        policy.failure_limit = u32::MAX;
        policy
    };
    let nodes: Vec<Arc<Validator<PgStore, ManualClock>>> = (0..4)
        .map(|_| {
            Arc::new(
                Validator::new(pg_support::connect(&config), clock.clone(), keyring())
                    .with_policy(policy)
                    .unwrap(),
            )
        })
        .collect();
    let id = token(42);
    nodes[0]
        .enrol(Enrolment::new(
            id.clone(),
            secret(42),
            TotpParameters::default(),
        ))
        .unwrap();
    let totp = Totp::new(&secret(42), TotpParameters::default()).unwrap();
    for round in 0..4 {
        clock.advance(Duration::from_secs(30));
        let code = totp.now(&clock).unwrap().to_string();
        let barrier = Arc::new(Barrier::new(32));
        let results: Vec<Result<Acceptance, Rejected>> = nodes
            .iter()
            .flat_map(|node| (0..8).map(move |_| Arc::clone(node)))
            .map(|node| {
                let barrier = Arc::clone(&barrier);
                let id = id.clone();
                let code = code.clone();
                thread::spawn(move || {
                    barrier.wait();
                    node.verify(&id, &code, None)
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect();
        let accepted = results.iter().filter(|result| result.is_ok()).count();
        assert_eq!(accepted, 1, "round {round}: {results:?}");
        for result in &results {
            if let Err(rejected) = result {
                // Replayed once the winner committed; a loser that kept losing the
                // race to record its failure gives up, which is still a rejection.
                assert!(
                    matches!(
                        rejected.reason(),
                        RejectReason::Replayed | RejectReason::Contention
                    ),
                    "round {round}: {results:?}"
                );
            }
        }
    }
    let trail = nodes[3].store().audit_trail(&id, usize::MAX).unwrap();
    let acceptances = trail
        .iter()
        .filter(|event| event.outcome == Outcome::Accepted)
        .count();
    assert_eq!(acceptances, 4);
}

/// A tiny deterministic generator: the traffic is random but reproducible per thread.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        value ^ (value >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

const TOKENS: usize = 10_000;
const HOT_TOKENS: u64 = 16;
const WORKERS: usize = 8;
const SUBMISSIONS_PER_WORKER: usize = 1_500;

/// One verification as a client saw it: which token, what was typed, the
/// validator's time (held still while it ran), and the verdict.
#[derive(Debug, Clone)]
struct Submission {
    token: usize,
    code: String,
    at: UnixTime,
    verdict: Verdict,
}

fn is_time_token(index: usize) -> bool {
    index.is_multiple_of(2)
}

fn kind_of(index: usize, now: UnixTime) -> TokenKind {
    TokenKind::new(parameters_of(index), 0, now)
}

fn parameters_of(index: usize) -> OtpParameters {
    if is_time_token(index) {
        TotpParameters::default().into()
    } else {
        HotpParameters::default().into()
    }
}

/// What a random client types for token `index` at `now`: mostly the right code, and
/// codes of nearby or spent positions, wrong codes and garbage.
fn typed_code(
    random: &mut SplitMix,
    generator: &Hotp,
    index: usize,
    now: UnixTime,
    counter_hint: u64,
) -> String {
    let position = if is_time_token(index) {
        (now.as_secs() as u64) / 30
    } else {
        counter_hint
    };
    let pick = random.below(100);
    let shifted = |offset: i64| {
        generator
            .at(position.saturating_add_signed(offset))
            .to_string()
    };
    match pick {
        0..=54 => shifted(random.below(2) as i64),
        55..=69 => shifted(2 + random.below(11) as i64),
        70..=84 => shifted(-1 - random.below(3) as i64),
        85..=94 => format!("{:06}", random.below(1_000_000)),
        _ => ["12345", "12a456", ""][random.below(3) as usize].to_owned(),
    }
}

thread_local! {
    /// Nanoseconds this thread's verifications add to the shared clock.
    static STAMP: Cell<i128> = const { Cell::new(0) };
}

/// The shared `ManualClock` plus a stamp of a few nanoseconds that each verification
/// sets on its own thread, unique among all of them: it moves no code into another
/// step, but it tells the audit rows of two verifications apart.
#[derive(Debug, Clone)]
struct StampedClock {
    shared: ManualClock,
}

impl TimeSource for StampedClock {
    fn now(&self) -> UnixTime {
        UnixTime::from_nanos(self.shared.now().as_nanos() + STAMP.with(Cell::get))
    }
}

/// The state the pure decision gives for `submissions` applied one at a time in the
/// order of the token's audit trail, checking each one's verdict on the way.
fn replay(
    policy: &Policy,
    index: usize,
    initial: TokenState,
    trail: &[otpfob::validator::AuditEvent],
    submissions: Vec<Submission>,
) -> TokenState {
    let generator = Hotp::new(&secret(index), HotpParameters::default()).unwrap();
    let mut by_time: HashMap<UnixTime, Submission> = submissions
        .into_iter()
        .map(|submission| (submission.at, submission))
        .collect();
    let mut state = initial;
    assert_eq!(trail[0].operation, Operation::Enrol, "token {index}");
    for event in &trail[1..] {
        assert_eq!(event.operation, Operation::Verify, "token {index}");
        let submission = by_time
            .remove(&event.at)
            .unwrap_or_else(|| panic!("token {index}: no submission for {event:?}"));
        let logged = match submission.verdict {
            Verdict::Accepted(acceptance) => (Outcome::Accepted, Some(acceptance.offset)),
            Verdict::Rejected(reason) => (Outcome::Rejected(reason), None),
        };
        assert_eq!(
            (event.outcome, event.offset),
            logged,
            "token {index}: {submission:?}"
        );
        if matches!(
            event.outcome,
            Outcome::Rejected(RejectReason::Locked | RejectReason::Contention)
        ) {
            // Decided on a snapshot and stored nothing: it takes no place in the
            // sequence of changes.
            continue;
        }
        let code = Code::parse(&submission.code, 6).unwrap_or_else(|_| Code::new(0, 5).unwrap());
        let decision = decide(policy, &state, &generator, &code, true, submission.at);
        assert_eq!(
            decision.verdict, submission.verdict,
            "token {index}: replaying {submission:?} on {state:?}"
        );
        assert_ne!(
            decision.state, state,
            "token {index}: {submission:?} changed nothing"
        );
        state = decision.state;
    }
    assert!(
        by_time.is_empty(),
        "token {index}: submissions missing from the audit trail: {by_time:?}"
    );
    state
}

/// 10,000 tokens, four validator nodes, eight threads of random traffic while time
/// moves on: the final state of every token is what a sequential model of the same
/// submissions gives, in the order the store recorded them.
#[test]
fn random_traffic_matches_a_sequential_model() {
    let config = pg_support::config("traffic", 4);
    let clock = ManualClock::at_secs(START);
    let stamped = StampedClock {
        shared: clock.clone(),
    };
    // Three failures lock for a while: locks come and go under the traffic.
    let policy = {
        let mut policy = Policy::default();
        policy.failure_limit = 3;
        policy.lockout = Lockout::Backoff {
            initial: Duration::from_secs(60),
            maximum: Duration::from_secs(600),
        };
        policy
    };
    let nodes: Vec<Arc<Validator<PgStore, StampedClock>>> = (0..4)
        .map(|_| {
            Arc::new(
                Validator::new(pg_support::connect(&config), stamped.clone(), keyring())
                    .with_policy(policy)
                    .unwrap(),
            )
        })
        .collect();

    // Enrol in parallel: 10,000 commits one at a time would take too long.
    let enrolled_at = clock.now();
    thread::scope(|scope| {
        for worker in 0..WORKERS {
            let node = Arc::clone(&nodes[worker % nodes.len()]);
            scope.spawn(move || {
                for index in (worker..TOKENS).step_by(WORKERS) {
                    node.enrol(Enrolment::new(
                        token(index),
                        secret(index),
                        parameters_of(index),
                    ))
                    .unwrap();
                }
            });
        }
    });

    let generators: Vec<Hotp> = (0..TOKENS)
        .map(|index| Hotp::new(&secret(index), HotpParameters::default()).unwrap())
        .collect();
    let counter_hints: Vec<AtomicU64> = (0..TOKENS).map(|_| AtomicU64::new(0)).collect();
    // Readers verify; the writer moves time. So a verification's time is exactly
    // the clock reading its thread took.
    let time_gate = RwLock::new(());
    let log: Mutex<Vec<Submission>> = Mutex::new(Vec::new());
    let stamps = AtomicU64::new(0);
    thread::scope(|scope| {
        for worker in 0..WORKERS {
            let node = Arc::clone(&nodes[worker % nodes.len()]);
            let (generators, counter_hints, time_gate, log, clock, stamps) = (
                &generators,
                &counter_hints,
                &time_gate,
                &log,
                &clock,
                &stamps,
            );
            scope.spawn(move || {
                let mut random = SplitMix(0x5eed_0000 + worker as u64);
                let mut mine = Vec::with_capacity(SUBMISSIONS_PER_WORKER);
                for _ in 0..SUBMISSIONS_PER_WORKER {
                    if random.below(10) == 0 {
                        let _moving = time_gate.write().unwrap();
                        clock.advance(Duration::from_secs(1 + random.below(40)));
                    }
                    let index = if random.below(4) == 0 {
                        random.below(HOT_TOKENS) as usize
                    } else {
                        random.below(TOKENS as u64) as usize
                    };
                    let _still = time_gate.read().unwrap();
                    let stamp = i128::from(stamps.fetch_add(1, Ordering::Relaxed) + 1);
                    STAMP.with(|cell| cell.set(stamp));
                    let at = UnixTime::from_nanos(clock.now().as_nanos() + stamp);
                    let hint = counter_hints[index].load(Ordering::Relaxed);
                    let code = typed_code(&mut random, &generators[index], index, at, hint);
                    let verdict = match node.verify(&token(index), &code, None) {
                        Ok(acceptance) => {
                            if !is_time_token(index) {
                                counter_hints[index]
                                    .fetch_max(acceptance.position + 1, Ordering::Relaxed);
                            }
                            Verdict::Accepted(acceptance)
                        }
                        Err(rejected) => Verdict::Rejected(rejected.reason()),
                    };
                    mine.push(Submission {
                        token: index,
                        code,
                        at,
                        verdict,
                    });
                }
                log.lock().unwrap().extend(mine);
            });
        }
    });

    let log = log.into_inner().unwrap();
    assert_eq!(log.len(), WORKERS * SUBMISSIONS_PER_WORKER);
    let count = |wanted: fn(&Verdict) -> bool| log.iter().filter(|s| wanted(&s.verdict)).count();
    let accepted = count(|verdict| matches!(verdict, Verdict::Accepted(_)));
    let locked = count(|verdict| *verdict == Verdict::Rejected(RejectReason::Locked));
    let failures = count(|verdict| *verdict == Verdict::Rejected(RejectReason::StoreFailure));
    // The mix really exercised acceptances and locks, and the store never failed.
    assert!(accepted > 2_000, "only {accepted} acceptances");
    assert!(locked > 50, "only {locked} locked rejections");
    assert_eq!(failures, 0);

    let mut by_token: HashMap<usize, Vec<Submission>> = HashMap::new();
    for submission in log {
        by_token
            .entry(submission.token)
            .or_default()
            .push(submission);
    }
    let by_token = Mutex::new(by_token);
    let checked = AtomicU64::new(0);
    thread::scope(|scope| {
        for worker in 0..WORKERS {
            let (node, by_token, checked, policy) =
                (&nodes[worker % 4], &by_token, &checked, &policy);
            scope.spawn(move || {
                for index in (worker..TOKENS).step_by(WORKERS) {
                    let submissions = by_token.lock().unwrap().remove(&index).unwrap_or_default();
                    let trail = node.store().audit_trail(&token(index), usize::MAX).unwrap();
                    let stored = node.state(&token(index)).unwrap().unwrap();
                    let initial = TokenState::new(kind_of(index, enrolled_at));
                    let model = replay(policy, index, initial, &trail, submissions);
                    assert_eq!(stored, model, "token {index}");
                    checked.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    assert_eq!(checked.into_inner(), TOKENS as u64);
}

/// Issue 11, item 3: a row edited with `psql` (the lock lifted, the failures reset) is
/// refused as tampered, audited, and administration says so.
/// A rejection for an unknown id rewrites the whole `rejection_standin` row in
/// the statement that writes its audit row (schema version 10): it writes a token-sized
/// row version, as the rejection of an enrolled token does, and so costs what that
/// costs. The stand-in's MAC is zeros, so it never checks as a record. A rejection of
/// an enrolled token updates its own row instead. The first probe in a schema creates
/// the row; so does the next probe after someone deleted it, and no audit row is lost.
#[test]
fn a_rejection_probe_writes_a_standin_row() {
    let config = pg_support::config("probe", 2);
    let schema = config.get_schema();
    let validator = Validator::new(
        pg_support::connect(&config),
        ManualClock::at_secs(START),
        keyring(),
    );
    validator
        .enrol(Enrolment::new(
            token(1),
            secret(1),
            HotpParameters::default(),
        ))
        .unwrap();
    let standins = || -> (i64, i64, i64) {
        let row = pg_support::client_at(&pg_support::url())
            .query_one(
                &format!(
                    "SELECT coalesce(sum(version), 0)::bigint, count(*), \
                     count(*) FILTER (WHERE mac = decode(repeat('00', 32), 'hex') \
                                      AND id LIKE 'rejection-stand-in-%' \
                                      AND octet_length(seal_ciphertext) > 0) \
                     FROM {schema}.rejection_standin"
                ),
                &[],
            )
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    };
    assert_eq!(standins(), (0, 0, 0));
    let mut written = 0;
    for _ in 1..=5 {
        let rejected = validator.verify(&token(2), "123456", None).unwrap_err();
        assert_eq!(rejected.reason(), RejectReason::UnknownToken);
        let (versions, rows, stand_ins) = standins();
        assert!(versions > written, "a probe writes a stand-in row");
        assert!(rows == 1 && stand_ins == rows);
        written = versions;
    }
    let rejected = validator.verify(&token(1), "000000", None).unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::WrongCode);
    assert_eq!(standins().0, written);
    pg_support::client_at(&pg_support::url())
        .execute(&format!("DELETE FROM {schema}.rejection_standin"), &[])
        .unwrap();
    assert_eq!(standins(), (0, 0, 0));
    let rejected = validator.verify(&token(2), "123456", None).unwrap_err();
    assert_eq!(rejected.reason(), RejectReason::UnknownToken);
    let (versions, rows, stand_ins) = standins();
    assert!(
        versions > 0 && rows == 1 && stand_ins == 1,
        "the row is made again"
    );
    let trail = validator.store().audit_trail(&token(2), 10).unwrap();
    assert_eq!(trail.len(), 6);
    assert_eq!(validator.store().load(&token(2)).unwrap(), None);
}

/// Probes racing on a schema without a stand-in row: one creates it, the others wait
/// for its row lock and update it, and every probe writes its audit row.
#[test]
fn racing_first_probes_all_write_their_audit_rows() {
    const THREADS: usize = 8;
    const PROBES: usize = 25;
    let config = pg_support::config("probe_race", THREADS as u32);
    let schema = config.get_schema();
    let validator = Validator::new(
        pg_support::connect(&config),
        ManualClock::at_secs(START),
        keyring(),
    );
    let start = std::sync::Barrier::new(THREADS);
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                start.wait();
                for _ in 0..PROBES {
                    let rejected = validator.verify(&token(7), "123456", None).unwrap_err();
                    assert_eq!(rejected.reason(), RejectReason::UnknownToken);
                }
            });
        }
    });
    let trail = validator.store().audit_trail(&token(7), 1_000).unwrap();
    assert_eq!(trail.len(), THREADS * PROBES);
    let rows: i64 = pg_support::client_at(&pg_support::url())
        .query_one(
            &format!("SELECT count(*) FROM {schema}.rejection_standin"),
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(rows, 1);
}

#[test]
fn a_row_edited_in_the_database_is_refused() {
    let config = pg_support::config("tamper", 2);
    let validator = Validator::new(
        pg_support::connect(&config),
        ManualClock::at_secs(START),
        keyring(),
    )
    .with_policy({
        let mut policy = Policy::default();
        policy.failure_limit = 1;
        policy
    })
    .unwrap();
    let id = token(1);
    validator
        .enrol(Enrolment::new(
            id.clone(),
            secret(1),
            HotpParameters::default(),
        ))
        .unwrap();
    let code = Hotp::new(&secret(1), HotpParameters::default())
        .unwrap()
        .at(0)
        .to_string();
    assert!(validator.verify(&id, "000000", None).is_err());
    assert_eq!(
        validator.verify(&id, &code, None).unwrap_err().reason(),
        RejectReason::Locked
    );
    let mut client = pg_support::client_at(&pg_support::url());
    let changed = client
        .execute(
            &format!(
                "UPDATE {}.tokens SET lock_kind = 'unlocked', lock_seconds = NULL, \
                 lock_nanos = NULL, failures = 0 WHERE id = $1",
                config.get_schema()
            ),
            &[&id.as_str()],
        )
        .unwrap();
    assert_eq!(changed, 1);
    assert_eq!(
        validator.verify(&id, &code, None).unwrap_err().reason(),
        RejectReason::RecordTampered
    );
    assert!(matches!(
        validator.unlock(&id),
        Err(ValidatorError::Seal(
            otpfob::SealError::RecordTampered { .. }
        ))
    ));
    let trail = validator.store().audit_trail(&id, 2).unwrap();
    assert!(
        trail
            .iter()
            .all(|event| event.outcome == Outcome::Rejected(RejectReason::RecordTampered)),
        "{trail:?}"
    );
}
