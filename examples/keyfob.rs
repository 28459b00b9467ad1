//! A key fob in the terminal: it asks for its PIN, then shows its code grouped as on
//! the device with a countdown bar until the code changes.
//!
//! ```sh
//! cargo run --example keyfob                      # a TOTP fob, PIN 1234
//! cargo run --example keyfob -- --drift 12 --age 1000 --digits 8 --algorithm sha256
//! cargo run --example keyfob -- --event           # an HOTP fob: a new code per press
//! cargo run --example keyfob -- --no-input --secret GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ \
//!     --at 1111111109 --count 3                   # readings for scripts, then exit
//! ```
//!
//! Three wrong PINs lock the fob; it then shows an unlock challenge, and this demo
//! also plays the bank and prints the unlock code that answers it.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use otpfob::{
    Algorithm, Code, Device, DeviceError, HotpParameters, KeyFob, ManualClock, OtpParameters,
    Secret, SystemClock, TimeSource, TotpParameters, UnixTime,
    device::{Crystal, DeviceState, FactoryRecord, Reading, Screen},
};

const USAGE: &str = "\
usage: keyfob [options]

  --pin PIN            the PIN set at issue, 4 to 8 digits (default 1234)
  --drift PPM          crystal drift in ppm, within ±1000 (default 0)
  --age DAYS           days since the fob was issued, so the drift has built up (default 0)
  --digits N           digits per code, 6 to 10 (default 6)
  --algorithm NAME     SHA1, SHA256 or SHA512 (default SHA1)
  --step SECONDS       time step of a time fob (default 30)
  --event              an event (HOTP) fob instead of a time (TOTP) fob
  --counter N          an event fob's first counter (default 0)
  --secret BASE32      the fob's secret (default: a fresh random one)
  --serial TEXT        the serial number (default OTPF-0000000001)
  --no-input           print readings for scripts and exit; no PIN prompt
  --count N            readings printed with --no-input (default 3)
  --at UNIX_SECONDS    world time of the first --no-input reading (default: now)
  --interval SECONDS   world seconds between --no-input readings (default: the step; 0 for event fobs)
  --help               this text";

#[derive(Debug)]
struct Options {
    pin: String,
    drift_ppm: f64,
    age_days: u64,
    digits: u8,
    algorithm: Algorithm,
    time_step: u64,
    event: bool,
    counter: u64,
    secret: Option<String>,
    serial: String,
    no_input: bool,
    count: u64,
    at: Option<i64>,
    interval: Option<u64>,
}

fn parse_options(arguments: impl Iterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        pin: "1234".into(),
        drift_ppm: 0.0,
        age_days: 0,
        digits: 6,
        algorithm: Algorithm::Sha1,
        time_step: 30,
        event: false,
        counter: 0,
        secret: None,
        serial: "OTPF-0000000001".into(),
        no_input: false,
        count: 3,
        at: None,
        interval: None,
    };
    let mut arguments = arguments.peekable();
    while let Some(flag) = arguments.next() {
        let mut value = |name: &str| {
            arguments
                .next()
                .ok_or_else(|| format!("{name} needs a value"))
        };
        fn number<T: std::str::FromStr>(name: &str, text: String) -> Result<T, String> {
            text.parse()
                .map_err(|_| format!("{name}: {text:?} is not a valid number"))
        }
        match flag.as_str() {
            "--pin" => options.pin = value("--pin")?,
            "--drift" => options.drift_ppm = number("--drift", value("--drift")?)?,
            "--age" => options.age_days = number("--age", value("--age")?)?,
            "--digits" => options.digits = number("--digits", value("--digits")?)?,
            "--algorithm" => {
                options.algorithm = value("--algorithm")?
                    .parse()
                    .map_err(|error| format!("--algorithm: {error}"))?
            }
            "--step" => options.time_step = number("--step", value("--step")?)?,
            "--event" => options.event = true,
            "--counter" => options.counter = number("--counter", value("--counter")?)?,
            "--secret" => options.secret = Some(value("--secret")?),
            "--serial" => options.serial = value("--serial")?,
            "--no-input" => options.no_input = true,
            "--count" => options.count = number("--count", value("--count")?)?,
            "--at" => options.at = Some(number("--at", value("--at")?)?),
            "--interval" => options.interval = Some(number("--interval", value("--interval")?)?),
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(options)
}

fn parameters(options: &Options) -> OtpParameters {
    if options.event {
        OtpParameters::Hotp(HotpParameters {
            algorithm: options.algorithm,
            digits: options.digits,
        })
    } else {
        OtpParameters::Totp(TotpParameters {
            algorithm: options.algorithm,
            digits: options.digits,
            time_step: options.time_step,
            t0: 0,
        })
    }
}

fn build<T: TimeSource>(
    options: &Options,
    world: T,
) -> Result<(KeyFob<T>, FactoryRecord), Box<dyn std::error::Error>> {
    let issued_at = world
        .now()
        .minus(Duration::from_secs(options.age_days * 86_400));
    let mut builder = KeyFob::builder(&options.serial, parameters(options))
        .pin(&options.pin)
        .initial_counter(options.counter)
        .issued_at(issued_at)
        .crystal(Crystal::from_ppm(options.drift_ppm)?);
    if let Some(secret) = &options.secret {
        builder = builder.secret(Secret::from_base32(secret)?);
    }
    Ok(builder.build(world)?)
}

/// `--no-input`: readings as tab-separated lines, over simulated time; no waiting.
fn print_readings(options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let start = options
        .at
        .map_or_else(|| SystemClock.now(), UnixTime::from_secs);
    let world = ManualClock::new(start);
    let (mut fob, _record) = build(options, world.clone())?;
    let interval = options
        .interval
        .unwrap_or(if options.event { 0 } else { options.time_step });
    println!("# serial\tworld_time\tfob_time\tcode\tvalid_for_seconds");
    for _ in 0..options.count {
        fob.enter_pin(&options.pin)?;
        let reading = fob.press()?;
        let valid_for = reading.valid_for().map_or_else(
            || "-".to_owned(),
            |left| format!("{:.3}", left.as_secs_f64()),
        );
        println!(
            "{}\t{}\t{}\t{}\t{valid_for}",
            fob.serial(),
            world.now().as_secs(),
            fob.local_time().as_secs(),
            reading.code(),
        );
        world.advance(Duration::from_secs(interval));
    }
    Ok(())
}

fn prompt(question: &str) -> Option<String> {
    print!("{question}");
    std::io::stdout().flush().ok()?;
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_owned()),
    }
}

/// Draws the display and, for a time code, redraws it every second until the code
/// changes.
fn show(reading: Reading) {
    let (Some(valid_for), Some(time_step)) = (reading.valid_for(), reading.time_step()) else {
        print!("{}", Screen::reading(reading));
        return;
    };
    let live = std::io::stdout().is_terminal();
    let shown_at = Instant::now();
    loop {
        let left = valid_for.saturating_sub(shown_at.elapsed());
        print!(
            "{}",
            Screen::reading(Reading::time_based(reading.code(), left, time_step))
        );
        if left.is_zero() || !live {
            break;
        }
        let _ = std::io::stdout().flush();
        std::thread::sleep(left.min(Duration::from_secs(1)));
        print!("\x1b[4A"); // back to the top of the four-line box
    }
    if live {
        println!("the code has changed");
    }
}

/// The helpdesk call of a locked fob: the demo plays the bank too.
fn unlock(fob: &mut KeyFob<SystemClock>, record: &FactoryRecord) -> Option<()> {
    let challenge = fob.unlock_challenge().ok()?;
    print!("{}", Screen::locked(challenge));
    println!(
        "[bank] the unlock code for challenge {challenge} is {}",
        record.unlock_code(&challenge)
    );
    let answer = prompt("unlock code: ")?;
    let new_pin = prompt("new PIN: ")?;
    let result = Code::parse(&answer, otpfob::device::UNLOCK_CODE_DIGITS)
        .map_err(|error| error.to_string())
        .and_then(|code| {
            fob.unlock(&code, &new_pin)
                .map_err(|error| error.to_string())
        });
    match result {
        Ok(()) => println!("unlocked, the PIN is changed"),
        Err(error) => println!("{error}"),
    }
    Some(())
}

fn interactive(options: &Options) -> Result<(), Box<dyn std::error::Error>> {
    let (mut fob, record) = build(options, SystemClock)?;
    let mode = if options.event {
        "event (HOTP)"
    } else {
        "time (TOTP)"
    };
    println!(
        "key fob {}: {mode}, {} digits, {}, crystal {:+} ppm, issued {} days ago",
        fob.serial(),
        options.digits,
        options.algorithm,
        options.drift_ppm,
        options.age_days
    );
    let mut tries_left = None;
    loop {
        match fob.state() {
            DeviceState::Expired => {
                print!("{}", Screen::expired());
                return Ok(());
            }
            DeviceState::Locked => {
                if unlock(&mut fob, &record).is_none() {
                    return Ok(());
                }
                tries_left = None;
                continue;
            }
            _ => {}
        }
        print!("{}", Screen::enter_pin(tries_left));
        let Some(pin) = prompt("PIN (empty line or end of input quits): ") else {
            return Ok(());
        };
        if pin.is_empty() {
            return Ok(());
        }
        match fob.enter_pin(&pin) {
            Ok(()) => tries_left = None,
            Err(DeviceError::WrongPin { tries_left: left }) => {
                tries_left = Some(left);
                continue;
            }
            Err(error) => {
                println!("{error}");
                continue;
            }
        }
        match fob.press() {
            Ok(reading) => show(reading),
            Err(error) => println!("{error}"),
        }
    }
}

fn main() -> ExitCode {
    let options = match parse_options(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(error) => {
            if error.is_empty() {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            eprintln!("{error}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = if options.no_input {
        print_readings(&options)
    } else {
        interactive(&options)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("keyfob: {error}");
            ExitCode::FAILURE
        }
    }
}
