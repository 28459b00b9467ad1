//! The PostgreSQL server is stopped in immediate mode (as in a crash: no checkpoint,
//! every backend killed) in the middle of a load run, then started again.
//!
//! It runs against its own server (`OTPFOB_PG_RESTART_URL`, stopped and started with
//! `OTPFOB_PG_RESTART_CTL`, both from `scripts/with-postgres`), so the other tests are
//! not disturbed. Checked: no code reported accepted is lost (replaying each is
//! rejected as replayed), none is accepted twice, every verification made while the
//! server is down is rejected as a store failure, and verification resumes by itself
//! once the server is back.
#![cfg(feature = "postgres")]

mod pg_support;

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use otpfob::{
    Enrolment, Keyring, ManualClock, PgStore, Policy, RejectReason, SealingKey, Secret, TokenId,
    Totp, TotpParameters, UnixTime, Validator,
    validator::{Outcome, Store, TokenKind},
};

const START: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z, a multiple of 30 s

const WORKERS: usize = 6;
/// Acceptances before the server is stopped.
const BEFORE: usize = 300;
/// Verifications each worker makes while the server is down.
const DURING: usize = 3;
/// Acceptances each worker needs after the restart.
const AFTER: usize = 40;
/// Bounds the whole run: the test fails rather than hang.
const DEADLINE: Duration = Duration::from_secs(120);

fn token(worker: usize) -> TokenId {
    TokenId::new(format!("restart-{worker}")).unwrap()
}

fn secret(worker: usize) -> Secret {
    Secret::from_bytes(format!("restart-secret-{worker:04}").as_bytes()).unwrap()
}

fn control(action: &str) {
    let program = pg_support::required("OTPFOB_PG_RESTART_CTL");
    let output = Command::new(&program).arg(action).output().unwrap();
    assert!(
        output.status.success(),
        "{program} {action} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// One verification: when it started and ended, the step tried, and the verdict.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    started: Instant,
    ended: Instant,
    step: u64,
    result: Result<u64, RejectReason>,
}

/// A worker's validator: its own clock, over one of the shared stores.
type Node = Validator<Arc<PgStore>, ManualClock>;

/// The time at which step `step` (counted from `START`) is current.
fn time_of(step: u64) -> UnixTime {
    UnixTime::from_secs(START + step as i64 * 30)
}

fn totp(worker: usize) -> Totp {
    Totp::new(&secret(worker), TotpParameters::default()).unwrap()
}

/// What the main thread waits on: progress reported by the workers.
#[derive(Default)]
struct Progress {
    accepted: usize,
    /// Verifications started after the outage began, per worker.
    during_outage: [usize; WORKERS],
}

#[test]
fn an_immediate_restart_loses_no_acceptance_and_recovers() {
    let url = pg_support::reachable("OTPFOB_PG_RESTART_URL");
    let config = pg_support::config_at(&url, "restart", 4)
        // Short, so that each verification during the outage fails fast.
        .connect_timeout(Duration::from_millis(500))
        .unwrap()
        .statement_timeout(Duration::from_secs(10))
        .unwrap();
    // A retry of an acceptance whose answer was lost is a replay; it must not lock.
    let policy = {
        let mut policy = Policy::default();
        policy.failure_limit = u32::MAX;
        policy
    };
    // Two nodes, each with its own pool; each worker is a validator on one of them
    // with its own clock, which walks its time token through consecutive steps.
    let nodes: Vec<Arc<PgStore>> = (0..2)
        .map(|_| Arc::new(pg_support::connect(&config)))
        .collect();
    let validators: Vec<Node> = (0..WORKERS)
        .map(|worker| {
            let clock = ManualClock::new(time_of(0));
            let validator = Validator::new(
                Arc::clone(&nodes[worker % nodes.len()]),
                clock.clone(),
                keyring(),
            )
            .with_policy(policy)
            .unwrap();
            validator
                .enrol(Enrolment::new(
                    token(worker),
                    secret(worker),
                    TotpParameters::default(),
                ))
                .unwrap();
            validator
        })
        .collect();

    let progress = Arc::new((Mutex::new(Progress::default()), Condvar::new()));
    let outage_began: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let outage_ended: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let accepted_after = Arc::new(AtomicUsize::new(0));
    let run_started = Instant::now();

    let workers: Vec<_> = validators
        .into_iter()
        .enumerate()
        .map(|(worker, validator)| {
            let (progress, outage_began, outage_ended, accepted_after) = (
                Arc::clone(&progress),
                Arc::clone(&outage_began),
                Arc::clone(&outage_ended),
                Arc::clone(&accepted_after),
            );
            thread::spawn(move || {
                let totp = totp(worker);
                let mut attempts = Vec::new();
                let mut step = 0u64;
                let mut after = 0;
                // Bounded: a worker that cannot get going again stops at the deadline.
                while after < AFTER && run_started.elapsed() < DEADLINE {
                    let began = *outage_began.lock().unwrap();
                    let ended = *outage_ended.lock().unwrap();
                    validator.clock().set(time_of(step));
                    let code = totp.now(validator.clock()).unwrap().to_string();
                    let started = Instant::now();
                    let result = validator
                        .verify(&token(worker), &code, None)
                        .map(|acceptance| acceptance.position)
                        .map_err(|rejected| rejected.reason());
                    attempts.push(Attempt {
                        started,
                        ended: Instant::now(),
                        step,
                        result,
                    });
                    match result {
                        Ok(_) => step += 1,
                        // The previous try was committed but its answer was lost.
                        Err(RejectReason::Replayed) => step += 1,
                        // Not known to be spent: try the same code again.
                        Err(RejectReason::StoreFailure) => {}
                        Err(other) => panic!("worker {worker}: unexpected {other}"),
                    }
                    if ended.is_some() && result.is_ok() {
                        after += 1;
                        accepted_after.fetch_add(1, Ordering::Relaxed);
                    }
                    let (lock, changed) = &*progress;
                    let mut state = lock.lock().unwrap();
                    if result.is_ok() {
                        state.accepted += 1;
                    }
                    if began.is_some() && ended.is_none() {
                        state.during_outage[worker] += 1;
                    }
                    changed.notify_all();
                }
                (attempts, validator)
            })
        })
        .collect();

    // Let the load run, then kill the server under it.
    let wait_for = |done: &dyn Fn(&Progress) -> bool| {
        let (lock, changed) = &*progress;
        let mut state = lock.lock().unwrap();
        while !done(&state) {
            let left = DEADLINE.saturating_sub(run_started.elapsed());
            assert!(
                !left.is_zero(),
                "the load run took longer than {DEADLINE:?}"
            );
            state = changed.wait_timeout(state, left).unwrap().0;
        }
    };
    wait_for(&|state| state.accepted >= BEFORE);
    control("stop");
    *outage_began.lock().unwrap() = Some(Instant::now());
    wait_for(&|state| state.during_outage.iter().all(|&count| count >= DURING));
    *outage_ended.lock().unwrap() = Some(Instant::now());
    control("start");

    let finished: Vec<(Vec<Attempt>, Node)> = workers
        .into_iter()
        .map(|handle| handle.join().unwrap())
        .collect();
    assert_eq!(
        accepted_after.load(Ordering::Relaxed),
        WORKERS * AFTER,
        "verification did not resume within {DEADLINE:?} of the run's start"
    );

    let began = outage_began.lock().unwrap().unwrap();
    let ended = outage_ended.lock().unwrap().unwrap();
    for (worker, (attempts, validator)) in finished.iter().enumerate() {
        // Every verification made entirely while the server was down was rejected
        // as a store failure.
        let during: Vec<&Attempt> = attempts
            .iter()
            .filter(|attempt| attempt.started >= began && attempt.ended <= ended)
            .collect();
        assert!(during.len() >= DURING - 1, "worker {worker}: {during:?}");
        for attempt in &during {
            assert_eq!(
                attempt.result,
                Err(RejectReason::StoreFailure),
                "worker {worker}"
            );
        }

        // None accepted twice: the steps reported accepted only increase, and each is
        // the step tried.
        let first_step = time_of(0).as_secs() as u64 / 30;
        for attempt in attempts {
            if let Ok(position) = attempt.result {
                assert_eq!(position, first_step + attempt.step, "worker {worker}");
            }
        }
        let accepted: Vec<u64> = attempts
            .iter()
            .filter(|attempt| attempt.result.is_ok())
            .map(|attempt| attempt.step)
            .collect();
        assert!(
            accepted.windows(2).all(|pair| pair[0] < pair[1]),
            "worker {worker}: {accepted:?}"
        );

        // None lost: the stored state is past every acceptance, and each accepted
        // code, submitted again in its own step, is refused as replayed.
        let state = validator.state(&token(worker)).unwrap().unwrap();
        let TokenKind::Time {
            last_accepted_step, ..
        } = state.kind
        else {
            panic!("worker {worker}: {state:?}");
        };
        let last = *accepted.last().unwrap();
        assert!(
            last_accepted_step >= Some(first_step + last),
            "worker {worker}: {last_accepted_step:?} before step {last}"
        );
        let totp = totp(worker);
        for &step in &accepted {
            validator.clock().set(time_of(step));
            let code = totp.now(validator.clock()).unwrap().to_string();
            assert_eq!(
                validator
                    .verify(&token(worker), &code, None)
                    .unwrap_err()
                    .reason(),
                RejectReason::Replayed,
                "worker {worker}: step {step} accepted again"
            );
        }

        // The audit trail holds every acceptance reported, and at most one more per
        // verification that was in flight when the server died (committed, but its
        // answer lost).
        let trail = validator
            .store()
            .audit_trail(&token(worker), usize::MAX)
            .unwrap();
        let logged = trail
            .iter()
            .filter(|event| event.outcome == Outcome::Accepted)
            .count();
        let in_doubt = attempts
            .iter()
            .filter(|attempt| attempt.result == Err(RejectReason::StoreFailure))
            .filter(|attempt| attempt.started < began)
            .count();
        assert!(
            logged >= accepted.len() && logged <= accepted.len() + in_doubt,
            "worker {worker}: {logged} logged, {} reported, {in_doubt} in doubt",
            accepted.len()
        );
    }
}

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[8; 32]).unwrap())
}
