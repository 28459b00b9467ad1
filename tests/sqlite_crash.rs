//! A validator process killed mid-verification never accepts the same code after a
//! restart: every accepted state is durable in the SQLite file before `verify` returns.
//!
//! The parent test starts this same test binary as a child running
//! `crash_child` (an ignored test that does nothing unless started this way), which
//! submits the codes of consecutive steps to a SQLite-backed validator and prints each
//! one it accepted. The parent kills the child at a random moment (SIGKILL: no
//! destructor, no flush), restarts it on the same file, and checks that no step was
//! accepted twice across the runs and that the stored state covers every acceptance
//! that was reported.
//!
//! It runs twice: one thread on a store without group commit (each swap its own
//! commit), and eight threads, each with a token of its own, on one store with group
//! commit, so that the kills land while batches of several swaps are in flight.
#![cfg(feature = "sqlite")]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;

use otpfob::{
    Enrolment, Keyring, ManualClock, Policy, SealingKey, Secret, SqliteOptions, SqliteStore,
    TokenId, Totp, TotpParameters, UnixTime, Validator,
    validator::{Outcome, Store, TokenKind},
};

const START: i64 = 1_767_225_600;
const STEPS: u64 = 400;
const CHILD_ENV: &str = "OTPFOB_CRASH_CHILD_DATABASE";
/// How many threads (and tokens) the child runs; group commit is on when more than one.
const THREADS_ENV: &str = "OTPFOB_CRASH_CHILD_THREADS";

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[5; 32]).unwrap())
}

fn token(thread: usize) -> TokenId {
    TokenId::new(format!("crash-test-{thread}")).unwrap()
}

fn secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").unwrap()
}

fn step_time(step_index: u64) -> UnixTime {
    UnixTime::from_secs(START + step_index as i64 * 30)
}

fn open(path: &Path, threads: usize) -> Arc<SqliteStore> {
    let options = if threads > 1 {
        SqliteOptions::new()
    } else {
        SqliteOptions::new().without_group_commit()
    };
    Arc::new(SqliteStore::open_with(path, &options).unwrap())
}

fn validator(
    store: &Arc<SqliteStore>,
    clock: ManualClock,
) -> Validator<Arc<SqliteStore>, ManualClock> {
    // Each restart replays every code from the start on purpose; those replays must
    // not lock the token, so the failure limit is out of reach here.
    let policy = {
        let mut policy = Policy::default();
        policy.failure_limit = u32::MAX;
        policy
    };
    Validator::new(Arc::clone(store), clock, keyring())
        .with_policy(policy)
        .unwrap()
}

/// The child: each thread submits the code of every step in turn to its own token
/// (its own validator and clock, one shared store), printing the accepted ones.
#[test]
#[ignore = "started as a child process by the killed_mid_verification tests"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let threads: usize = std::env::var(THREADS_ENV).unwrap().parse().unwrap();
    let store = open(Path::new(&path), threads);
    thread::scope(|scope| {
        for thread_index in 0..threads {
            let store = &store;
            scope.spawn(move || {
                let clock = ManualClock::new(step_time(0));
                let validator = validator(store, clock.clone());
                let totp = Totp::new(&secret(), TotpParameters::default()).unwrap();
                for index in 0..STEPS {
                    clock.set(step_time(index));
                    let code = totp.now(&clock).unwrap().to_string();
                    match validator.verify(&token(thread_index), &code, None) {
                        Ok(acceptance) => {
                            println!("ACCEPTED {thread_index} {}", acceptance.position);
                        }
                        Err(rejected) => {
                            println!("REJECTED {thread_index} {index} {}", rejected.reason());
                        }
                    }
                }
            });
        }
    });
    if let Some(statistics) = store.group_commit_statistics() {
        println!("BATCHES {} {}", statistics.commits, statistics.writes);
    }
    println!("DONE");
}

/// `(thread, step)` from a child's `ACCEPTED thread step` line.
fn accepted_line(line: &str) -> Option<(usize, u64)> {
    let rest = line.strip_prefix("ACCEPTED ")?;
    let (thread, step) = rest.trim().split_once(' ')?;
    Some((thread.parse().unwrap(), step.parse().unwrap()))
}

/// Runs the child until it has reported `kill_after` lines (then SIGKILLs it), or to
/// the end; returns the steps it reported as accepted and whether it finished.
/// A child that ran to the end with group commit also reports its commits and writes.
struct ChildRun {
    accepted: Vec<(usize, u64)>,
    finished: bool,
    batches: Option<(u64, u64)>,
}

fn run_child(path: &Path, threads: usize, kill_after: Option<usize>) -> ChildRun {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
        .env(THREADS_ENV, threads.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_sender, lines) = mpsc::channel();
    let reader = thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut accepted = Vec::new();
    let mut seen = 0;
    let mut finished = false;
    let mut batches = None;
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(120)) {
        accepted.extend(accepted_line(&line));
        if let Some((commits, writes)) = line
            .strip_prefix("BATCHES ")
            .and_then(|rest| rest.split_once(' '))
        {
            batches = Some((commits.parse().unwrap(), writes.parse().unwrap()));
        }
        if line == "DONE" {
            finished = true;
            break;
        }
        if line.starts_with("ACCEPTED") || line.starts_with("REJECTED") {
            seen += 1;
        }
        if kill_after == Some(seen) {
            child.kill().unwrap();
            // What the child printed before it died still counts.
            for line in lines.iter() {
                accepted.extend(accepted_line(&line));
            }
            break;
        }
    }
    let _ = child.wait();
    let _ = reader.join();
    ChildRun {
        accepted,
        finished,
        batches,
    }
}

/// At most one acceptance per token per kill can go unreported.
fn kills_made(runs: u64) -> u64 {
    runs - 1
}

#[test]
fn killed_mid_verification_never_accepts_twice() {
    killed_mid_verification(1, vec![13, 57, 120, 121, 250, 333]);
}

#[test]
fn killed_mid_verification_with_group_commit_never_accepts_twice() {
    killed_mid_verification(8, vec![40, 300, 301, 900, 1500, 2400]);
}

/// Runs the child with `threads` threads, SIGKILLing it after each number of reported
/// verifications in `kills`, then once more to the end, and checks every token.
fn killed_mid_verification(threads: usize, mut kills: Vec<usize>) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tokens.db");
    {
        let store = open(&path, threads);
        let clock = ManualClock::new(step_time(0));
        for thread_index in 0..threads {
            validator(&store, clock.clone())
                .enrol(Enrolment::new(
                    token(thread_index),
                    secret(),
                    TotpParameters::default(),
                ))
                .unwrap();
        }
    }
    let mut all_accepted = BTreeSet::new();
    // Kill points spread over the run; each restart replays every code from step 0.
    let mut finished = false;
    let mut runs = 0u64;
    let mut batches = None;
    while !finished {
        let kill_after = if kills.is_empty() {
            None
        } else {
            Some(kills.remove(0))
        };
        let run = run_child(&path, threads, kill_after);
        runs += 1;
        batches = run.batches;
        for (thread_index, step) in run.accepted {
            assert!(
                all_accepted.insert((thread_index, step)),
                "step {step} of token {thread_index} accepted twice (run {runs})"
            );
        }
        finished = run.finished;
        assert!(runs < 20, "the child never finished");
    }
    // A kill between the commit and the print loses the print, not the acceptance:
    // the audit rows, committed with each state change, count every acceptance ever.
    let first = (START / 30) as u64;
    let store = open(&path, threads);
    let clock = ManualClock::new(step_time(STEPS - 1));
    let validator = validator(&store, clock);
    for thread_index in 0..threads {
        let reported = all_accepted
            .iter()
            .filter(|(thread, _)| *thread == thread_index)
            .map(|(_, step)| *step)
            .collect::<Vec<u64>>();
        assert!(
            reported
                .iter()
                .all(|step| (first..first + STEPS).contains(step))
        );
        assert!(
            reported.len() as u64 >= STEPS - kills_made(runs),
            "token {thread_index}: {} reported in {runs} runs",
            reported.len()
        );
        let accepted_in_audit = validator
            .store()
            .audit_trail(&token(thread_index), 100_000)
            .unwrap()
            .iter()
            .filter(|event| event.outcome == Outcome::Accepted)
            .count();
        assert_eq!(
            accepted_in_audit as u64, STEPS,
            "token {thread_index}: each step accepted exactly once"
        );
        let state = validator.state(&token(thread_index)).unwrap().unwrap();
        let TokenKind::Time {
            last_accepted_step, ..
        } = state.kind
        else {
            panic!("a time token");
        };
        assert_eq!(last_accepted_step, Some(first + STEPS - 1));
    }
    if threads > 1 {
        // The last, unkilled run committed its swaps in shared batches.
        let (commits, writes) = batches.expect("the child reports its batches");
        assert!(commits < writes, "{commits} commits for {writes} writes");
    }
}
