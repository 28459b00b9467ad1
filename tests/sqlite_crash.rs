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
#![cfg(feature = "sqlite")]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use otpfob::{
    Enrolment, Keyring, ManualClock, Policy, SealingKey, Secret, SqliteStore, TimeSource, TokenId,
    Totp, TotpParameters, UnixTime, Validator,
    validator::{Outcome, Store, TokenKind},
};

const START: i64 = 1_767_225_600;
const STEPS: u64 = 400;
const CHILD_ENV: &str = "OTPFOB_CRASH_CHILD_DATABASE";

fn keyring() -> Keyring {
    Keyring::new(SealingKey::new(1, &[5; 32]).unwrap())
}

fn token() -> TokenId {
    TokenId::new("crash-test").unwrap()
}

fn secret() -> Secret {
    Secret::from_bytes(b"12345678901234567890").unwrap()
}

fn step_time(step_index: u64) -> UnixTime {
    UnixTime::from_secs(START + step_index as i64 * 30)
}

fn validator(path: &Path, clock: ManualClock) -> Validator<SqliteStore, ManualClock> {
    // Each restart replays every code from the start on purpose; those replays must
    // not lock the token, so the failure limit is out of reach here.
    let policy = Policy {
        failure_limit: u32::MAX,
        ..Policy::default()
    };
    Validator::new(SqliteStore::open(path).unwrap(), clock, keyring())
        .with_policy(policy)
        .unwrap()
}

/// The child: submits the code of every step in turn, printing the accepted ones.
#[test]
#[ignore = "started as a child process by killed_mid_verification_never_accepts_twice"]
fn crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let clock = ManualClock::new(step_time(0));
    let validator = validator(Path::new(&path), clock.clone());
    let totp = Totp::new(&secret(), TotpParameters::default()).unwrap();
    for index in 0..STEPS {
        clock.set(step_time(index));
        let code = totp.now(&clock).unwrap().to_string();
        let outcome = validator.verify(&token(), &code, None);
        match outcome {
            Ok(acceptance) => println!("ACCEPTED {}", acceptance.position),
            Err(rejected) => println!("REJECTED {index} {}", rejected.reason()),
        }
    }
    println!("DONE");
}

/// Runs the child until it has reported `kill_after` lines (then SIGKILLs it), or to
/// the end; returns the steps it reported as accepted and whether it finished.
fn run_child(path: &Path, kill_after: Option<usize>) -> (Vec<u64>, bool) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "crash_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, path)
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
    while let Ok(line) = lines.recv_timeout(Duration::from_secs(120)) {
        if let Some(step) = line.strip_prefix("ACCEPTED ") {
            accepted.push(step.trim().parse().unwrap());
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
                if let Some(step) = line.strip_prefix("ACCEPTED ") {
                    accepted.push(step.trim().parse().unwrap());
                }
            }
            break;
        }
    }
    let _ = child.wait();
    let _ = reader.join();
    (accepted, finished)
}

/// At most one acceptance per kill can go unreported.
fn kills_made(runs: u64) -> u64 {
    runs - 1
}

#[test]
fn killed_mid_verification_never_accepts_twice() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("tokens.db");
    {
        let clock = ManualClock::new(step_time(0));
        validator(&path, clock.clone())
            .enrol(Enrolment {
                id: token(),
                secret: &secret(),
                kind: TokenKind::time(TotpParameters::default(), clock.now()),
                pin: None,
            })
            .unwrap();
    }
    let mut all_accepted = BTreeSet::new();
    // Kill points spread over the run; each restart replays every code from step 0.
    let mut kills = vec![13, 57, 120, 121, 250, 333];
    let mut finished = false;
    let mut runs = 0u64;
    while !finished {
        let kill_after = if kills.is_empty() {
            None
        } else {
            Some(kills.remove(0))
        };
        let (accepted, done) = run_child(&path, kill_after);
        runs += 1;
        for step in accepted {
            assert!(
                all_accepted.insert(step),
                "step {step} accepted twice (run {runs})"
            );
        }
        finished = done;
        assert!(runs < 20, "the child never finished");
    }
    // A kill between the commit and the print loses the print, not the acceptance:
    // the audit rows, committed with each state change, count every acceptance ever.
    let first = (START / 30) as u64;
    assert!(
        all_accepted
            .iter()
            .all(|step| (first..first + STEPS).contains(step))
    );
    assert!(
        all_accepted.len() as u64 >= STEPS - kills_made(runs),
        "{} reported in {runs} runs",
        all_accepted.len()
    );
    let clock = ManualClock::new(step_time(STEPS - 1));
    let validator = validator(&path, clock);
    let accepted_in_audit = validator
        .store()
        .audit_trail(&token(), 100_000)
        .unwrap()
        .iter()
        .filter(|event| event.outcome == Outcome::Accepted)
        .count();
    assert_eq!(
        accepted_in_audit as u64, STEPS,
        "each step accepted exactly once"
    );
    let state = validator.state(&token()).unwrap().unwrap();
    let TokenKind::Time {
        last_accepted_step, ..
    } = state.kind
    else {
        panic!("a time token");
    };
    assert_eq!(last_accepted_step, Some(first + STEPS - 1));
}
