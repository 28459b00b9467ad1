//! A bank login with a simulated key fob, on the durable embedded store.
//!
//! A vendor makes a PIN fob and its factory record; the bank enrols the record into a
//! SQLite file; a customer logs in with the fob's code and an online-banking passcode
//! checked on the server; a replayed code, an attacker's lockout and the helpdesk's
//! unlock, a forgotten fob PIN and the fob's unlock procedure follow; then three years
//! of simulated logins show the validator learning the fob's drift, and a restart of
//! the bank's process shows that nothing accepted is ever accepted again. Last, Alice
//! loses the fob: it is reported lost, a temporary soft token stands in and expires on
//! its own, and the found fob works again.
//!
//! `cargo run --release --example bank_login` (add `-- --database PATH` to keep the
//! file; by default it lives in a temporary directory removed at the end).

use std::error::Error;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use otpfob::{
    Device, DeviceError, Enrolment, KeyFob, Keyring, ManualClock, SealingKey, SqliteStore,
    TimeSource, TokenId, Totp, TotpParameters, Validator,
    device::Crystal,
    validator::{CustomerRef, PinHashing, TokenKind},
};

const START: i64 = 1_767_261_600; // 2026-01-01T10:00:00Z
const FOB_PIN: &str = "4821";
const PASSCODE: &str = "blue-harbour-42";

type Bank = Validator<SqliteStore, ManualClock>;

fn main() -> Result<(), Box<dyn Error>> {
    let (database, _temporary) = database_path()?;
    let world = ManualClock::at_secs(START);
    // The sealing key comes from the bank's key management (an HSM, a KMS); a fixed
    // demo key here so that the restart below can open the same file.
    let sealing_key = [0x42; 32];
    let open_bank = |world: &ManualClock| -> Result<Bank, Box<dyn Error>> {
        let store = SqliteStore::open(&database)?;
        let keyring = Keyring::new(SealingKey::new(1, &sealing_key)?);
        // Small Argon2 parameters keep the demo quick; a bank keeps the default.
        Ok(Validator::new(store, world.clone(), keyring)
            .with_pin_hashing(PinHashing::insecure_fast_for_tests())?)
    };

    heading("1. The vendor makes a fob; the bank enrols its factory record");
    let (mut fob, record) = KeyFob::builder("FOB-0001234", TotpParameters::default())
        .pin(FOB_PIN)
        .crystal(Crystal::from_ppm(9.0)?)
        .build(world.clone())?;
    let bank = open_bank(&world)?;
    let id = bank.enrol(Enrolment::from(&record).with_pin(PASSCODE))?;
    say(&format!(
        "fob {} (TOTP, SHA-1, 6 digits, 30 s; its crystal runs 9 ppm fast, which the bank does not know)",
        record.serial
    ));
    say(&format!("bank database: {}", database.display()));
    say("the seed is stored sealed with AES-256-GCM; the passcode as an Argon2id hash");

    heading("2. Alice logs in: fob PIN, then code and passcode on the website");
    let code = read_fob(&mut fob, FOB_PIN)?;
    login(&bank, &id, &code, PASSCODE);

    heading("3. Someone replays the code Alice just used");
    world.advance(Duration::from_secs(5));
    login(&bank, &id, &code, PASSCODE);

    heading("4. An attacker guesses codes until the token locks");
    for guess in 0..10 {
        let attempt = format!("{:06}", 271_828 + guess * 7);
        let verdict = bank.verify(&id, &attempt, Some(PASSCODE));
        let reason = verdict.err().map(|rejected| rejected.reason().to_string());
        say(&format!(
            "guess {attempt}: {}",
            reason.unwrap_or_else(|| "accepted".into())
        ));
    }
    say("(the replay in step 3 was a failure too: the ninth guess reached the limit of 10)");
    world.advance(Duration::from_secs(40));
    let code = read_fob(&mut fob, FOB_PIN)?;
    say("Alice tries with a good code:");
    login(&bank, &id, &code, PASSCODE);
    say("the helpdesk identifies Alice and unlocks the token");
    bank.unlock(&id)?;
    login(&bank, &id, &code, PASSCODE);

    heading("5. Alice forgets her fob PIN");
    for wrong in ["1111", "4812", "8421"] {
        match fob.enter_pin(wrong) {
            Err(DeviceError::WrongPin { tries_left }) => {
                let plural = if tries_left == 1 { "try" } else { "tries" };
                say(&format!(
                    "fob PIN {wrong}: wrong, {tries_left} {plural} left"
                ))
            }
            other => say(&format!("fob PIN {wrong}: {other:?}")),
        }
    }
    let challenge = fob.unlock_challenge()?;
    say(&format!(
        "the fob locks and shows unlock challenge {challenge}"
    ));
    let unlock_code = record.unlock_code(&challenge);
    say(&format!(
        "the bank computes unlock code {unlock_code} from the fob's factory record"
    ));
    fob.unlock(&unlock_code, "9035")?;
    say("Alice types it and sets a new fob PIN, 9035");
    world.advance(Duration::from_secs(30));
    let code = read_fob(&mut fob, "9035")?;
    login(&bank, &id, &code, PASSCODE);

    heading("6. Three years of logins, every two weeks or so");
    say("   elapsed    fob ahead   learned drift   login");
    let mut logins = 0;
    let mut accepted = 0;
    let mut last_code = String::new();
    for day in (0..3 * 365).step_by(15) {
        // Some logins come a few days late: idle time widens the window.
        let wait = 15 * 86_400 + (day as u64 % 7) * 3_600;
        world.advance(Duration::from_secs(wait));
        let code = read_fob(&mut fob, "9035")?;
        logins += 1;
        let verdict = bank.verify(&id, &code, Some(PASSCODE));
        if verdict.is_ok() {
            accepted += 1;
            last_code = code.clone();
        }
        if day % 180 == 0 || day + 15 >= 3 * 365 {
            let ahead = fob.local_time().as_secs() - world.now().as_secs();
            let drift = learned_drift(&bank, &id)?;
            say(&format!(
                "{:>5} days   {:>6} s   {:>6} steps     {}",
                day + 15,
                ahead,
                drift,
                if verdict.is_ok() {
                    "accepted"
                } else {
                    "REJECTED"
                }
            ));
        }
    }
    say(&format!("{accepted} of {logins} logins accepted"));

    heading("7. The bank's process restarts; the last code is still spent");
    drop(bank);
    let bank = open_bank(&world)?;
    login(&bank, &id, &last_code, PASSCODE);

    heading("8. Alice loses her fob; emergency codes, a temporary soft token; the fob is found");
    let alice = CustomerRef::new("CUST-000042")?;
    bank.assign_owner(&id, &alice)?;
    bank.report_lost(&id)?;
    world.advance(Duration::from_secs(60));
    let code = read_fob(&mut fob, "9035")?;
    say("whoever has the fob tries it:");
    login(&bank, &id, &code, PASSCODE);
    let list = bank.issue_emergency_codes(
        &id,
        TokenId::new("CODES-000042-1")?,
        NonZeroU32::new(3).ok_or("zero codes")?,
        Duration::from_secs(7 * 86_400),
    )?;
    say(&format!(
        "the bank reads Alice {} emergency codes (token {}, for a week, with her PIN)",
        list.codes().len(),
        list.token()
    ));
    let first: String = list.codes().next().ok_or("no code")?.to_owned();
    customer_login(&bank, &alice, &first);
    say("the same code again:");
    customer_login(&bank, &alice, &first);
    let (replacement, soft_secret) =
        Enrolment::generate(TokenId::new("SOFT-000042-1")?, TotpParameters::default())?;
    let soft_id = bank.issue_temporary_replacement(
        &id,
        replacement.with_pin(PASSCODE),
        Duration::from_secs(3 * 86_400),
    )?;
    let soft = Totp::new(&soft_secret, TotpParameters::default())?;
    say(&format!(
        "the bank issues soft token {soft_id} for Alice, valid for 3 days"
    ));
    let soft_code = soft.now(&world)?.to_string();
    customer_login(&bank, &alice, &soft_code);
    let found = bank.lookup_customer_code(&alice, &soft_code)?;
    say(&format!(
        "the helpdesk looks up the code Alice reads out: {}",
        found.map_or("no token of hers".to_owned(), |found| format!(
            "{} (spent: {})",
            found.token, found.spent
        ))
    ));
    world.advance(Duration::from_secs(4 * 86_400));
    say("four days later the soft token has expired on its own:");
    login(&bank, &soft_id, &soft.now(&world)?.to_string(), PASSCODE);
    say("Alice finds the fob in a coat pocket; the helpdesk marks it found, which");
    say("revokes the emergency codes and the soft token with it:");
    bank.report_found(&id)?;
    let second: String = list.codes().nth(1).ok_or("no code")?.to_owned();
    match bank.verify(list.token(), &second, Some(PASSCODE)) {
        Ok(_) => return Err("a revoked emergency code was accepted".into()),
        Err(rejected) => say(&format!(
            "emergency code {second}: {rejected}   [log: {}]",
            rejected.reason()
        )),
    }
    let code = read_fob(&mut fob, "9035")?;
    customer_login(&bank, &alice, &code);

    heading("Audit trail (newest 6 of the bank's rows; never a code, PIN or seed)");
    for event in bank.store_audit(&id, 6)? {
        say(&event);
    }
    Ok(())
}

fn heading(title: &str) {
    println!("\n== {title}");
}

fn say(line: &str) {
    println!("   {line}");
}

/// The customer types the PIN on the fob and reads the code off its display.
fn read_fob(fob: &mut KeyFob<ManualClock>, pin: &str) -> Result<String, Box<dyn Error>> {
    fob.enter_pin(pin)?;
    let reading = fob.press()?;
    Ok(reading.code().to_string())
}

fn login(bank: &Bank, id: &TokenId, code: &str, passcode: &str) {
    match bank.verify(id, code, Some(passcode)) {
        Ok(acceptance) => say(&format!(
            "code {code}: welcome (matched {:+} steps from the bank's clock)",
            acceptance.offset
        )),
        // The customer sees only "code rejected"; the reason goes to the logs.
        Err(rejected) => say(&format!(
            "code {code}: {rejected}   [log: {}]",
            rejected.reason()
        )),
    }
}

/// A login by customer: the code is checked against every token Alice holds.
fn customer_login(bank: &Bank, customer: &CustomerRef, code: &str) {
    match bank.verify_customer(customer, code, Some(PASSCODE)) {
        Ok(accepted) => say(&format!("code {code}: welcome (token {})", accepted.token)),
        Err(rejected) => say(&format!(
            "code {code}: {rejected}   [log: {}]",
            rejected.reason()
        )),
    }
}

fn learned_drift(bank: &Bank, id: &TokenId) -> Result<i64, Box<dyn Error>> {
    match bank.state(id)?.map(|state| state.kind) {
        Some(TokenKind::Time { drift_steps, .. }) => Ok(drift_steps),
        _ => Err("not a time token".into()),
    }
}

trait AuditLines {
    fn store_audit(&self, id: &TokenId, limit: usize) -> Result<Vec<String>, Box<dyn Error>>;
}

impl AuditLines for Bank {
    fn store_audit(&self, id: &TokenId, limit: usize) -> Result<Vec<String>, Box<dyn Error>> {
        use otpfob::validator::Store;
        Ok(self
            .store()
            .audit_trail(id, limit)?
            .iter()
            .map(|event| {
                format!(
                    "t={} {:<7} {:<9} {}",
                    event.at.as_secs(),
                    event.operation.as_str(),
                    match event.outcome {
                        otpfob::validator::Outcome::Accepted => "accepted".to_owned(),
                        otpfob::validator::Outcome::Rejected(reason) =>
                            format!("rejected ({reason})"),
                        otpfob::validator::Outcome::Done => "done".to_owned(),
                        other => format!("{other:?}"),
                    },
                    event
                        .offset
                        .map(|offset| format!("offset {offset:+}"))
                        .unwrap_or_default()
                )
            })
            .collect())
    }
}

/// The database file: `--database PATH`, or a file in a temporary directory that is
/// removed when the returned guard drops.
fn database_path() -> Result<(PathBuf, Option<TemporaryDirectory>), Box<dyn Error>> {
    let mut arguments = std::env::args().skip(1);
    match (arguments.next().as_deref(), arguments.next()) {
        (Some("--database"), Some(path)) => Ok((PathBuf::from(path), None)),
        (None, _) => {
            let directory =
                std::env::temp_dir().join(format!("otpfob-bank-login-{}", std::process::id()));
            std::fs::create_dir_all(&directory)?;
            Ok((
                directory.join("bank.db"),
                Some(TemporaryDirectory(directory)),
            ))
        }
        _ => Err("usage: bank_login [--database PATH]".into()),
    }
}

struct TemporaryDirectory(PathBuf);

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
