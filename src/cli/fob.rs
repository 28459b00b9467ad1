//! `otpfob fob`: a simulated key fob in the terminal, drawn with the device
//! module's `Screen`; or, with `--no-input`, its readings for scripts.

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;

use otpfob::{
    Algorithm, Code, Device, DeviceError, HotpParameters, KeyFob, ManualClock, OtpParameters,
    Secret, SystemClock, TimeSource, TotpParameters, UnixTime,
    device::{Crystal, DeviceState, FactoryRecord, Reading, Screen, UNLOCK_CODE_DIGITS},
    provision::MIN_IMPORTED_SECRET_BITS,
};

use super::input::{MAX_SECRET_FILE_BYTES, quote};
use super::keys::CredentialOptions;
use super::oath_time::parse_time;
use super::output::Output;
use super::pskc::read_file;
use super::{Context, Exit, Outcome, one_line};

#[derive(Debug, Args)]
pub(crate) struct FobArgs {
    /// Build the fob of a seed file's key (chosen with --serial: a serial number or a
    /// key id), with its secret, parameters, counter, dates and time drift.
    #[arg(long = "pskc", value_name = "FILE", conflicts_with_all = ["key", "base32", "hotp", "algorithm", "digits", "period", "counter"])]
    pskc: Option<PathBuf>,
    #[command(flatten)]
    credential: CredentialOptions,
    /// The fob's secret in hex (default: a new random one).
    #[arg(long = "key", value_name = "HEX", conflicts_with = "base32")]
    key: Option<String>,
    /// The fob's secret in base32.
    #[arg(long = "base32", value_name = "BASE32")]
    base32: Option<String>,
    /// An event (HOTP) fob instead of a time (TOTP) fob.
    #[arg(long = "hotp")]
    hotp: bool,
    /// The HMAC hash: sha1, sha256 or sha512.
    #[arg(long = "algorithm", value_name = "NAME")]
    algorithm: Option<String>,
    /// Digits per code, 6 to 10.
    #[arg(long = "digits", value_name = "N")]
    digits: Option<u8>,
    /// Seconds per time step, 1 to 86400.
    #[arg(
        long = "period",
        value_name = "SECONDS",
        value_parser = clap::value_parser!(u64).range(1..=86_400)
    )]
    period: Option<u64>,
    /// An event fob's first counter.
    #[arg(long = "counter", value_name = "N")]
    counter: Option<u64>,
    /// The serial number (with --pskc: which key of the file).
    #[arg(long = "serial", value_name = "TEXT")]
    serial: Option<String>,
    /// The crystal's drift in ppm, within ±1000 (real fobs: 4 to 12).
    #[arg(
        long = "drift",
        value_name = "PPM",
        default_value_t = 0.0,
        allow_negative_numbers = true
    )]
    drift: f64,
    /// Days since the fob was issued, so that its drift has built up (at most
    /// 36525, a century).
    #[arg(
        long = "age",
        value_name = "DAYS",
        default_value_t = 0,
        value_parser = clap::value_parser!(u64).range(..=MAX_DAYS)
    )]
    age: u64,
    /// The fob's PIN, 4 to 8 digits; without one the fob has no PIN pad.
    #[arg(long = "pin", value_name = "PIN")]
    pin: Option<String>,
    /// Print readings for scripts (tab-separated) and exit; no prompt.
    #[arg(long = "no-input")]
    no_input: bool,
    /// With --no-input: the world time of the first reading (@UNIX_SECONDS,
    /// "YYYY-MM-DD HH:MM:SS UTC", now).
    #[arg(
        long = "at",
        value_name = "TIME",
        default_value = "now",
        requires = "no_input"
    )]
    at: String,
    /// With --no-input: how many readings (at most 100000).
    #[arg(
        long = "count",
        value_name = "N",
        default_value_t = 3,
        requires = "no_input",
        value_parser = clap::value_parser!(u64).range(..=100_000)
    )]
    count: u64,
    /// With --no-input: world seconds between readings (default: one step; 0 for
    /// event fobs), at most a century.
    #[arg(
        long = "interval",
        value_name = "SECONDS",
        requires = "no_input",
        value_parser = clap::value_parser!(u64).range(..=MAX_DAYS * 86_400)
    )]
    interval: Option<u64>,
}

const DEFAULT_SERIAL: &str = "OTPF-0000000001";

/// The most days `--age` goes back (a century): a fob's dates stay real dates, not
/// a saturated minimum of the clock.
const MAX_DAYS: u64 = 36_525;

/// The fob's record and crystal, from a seed file or from the options.
fn design(arguments: &FobArgs, now: UnixTime) -> Result<(FactoryRecord, Crystal), Exit> {
    let issued_at = now.minus(Duration::from_secs(arguments.age.saturating_mul(86_400)));
    let crystal = Crystal::from_ppm(arguments.drift).context("--drift")?;
    if let Some(path) = &arguments.pskc {
        // A simulator reads what an import would: no shorter secrets than its default.
        let container = read_file(
            path,
            &arguments.credential.credential()?,
            MIN_IMPORTED_SECRET_BITS,
        )?;
        let wanted = arguments.serial.as_deref();
        let key = container
            .keys
            .iter()
            .find(|key| match wanted {
                Some(wanted) => {
                    key.device.serial_number.as_deref() == Some(wanted) || key.id == wanted
                }
                None => key.is_otp(),
            })
            .ok_or_else(|| {
                Exit::error(match wanted {
                    Some(wanted) => {
                        one_line(&format!("{} has no key {}", path.display(), quote(wanted)))
                    }
                    None => format!("{} has no HOTP or TOTP key", path.display()),
                })
            })?;
        let token = key.token().context(&one_line(&format!("key {}", key.id)))?;
        let unlock_key = Secret::generate(256).context("no randomness")?;
        let record = token
            .factory_record(unlock_key, issued_at)
            .context(&one_line(&format!("key {}", key.id)))?;
        // The file's time drift is where the fob's clock was set; --drift is how
        // fast it runs from there.
        let offset = match token.parameters {
            OtpParameters::Totp(parameters) => Duration::from_secs(
                token
                    .time_drift
                    .unsigned_abs()
                    .saturating_mul(parameters.time_step),
            ),
            OtpParameters::Hotp(_) => Duration::ZERO,
        };
        let crystal = if token.time_drift < 0 {
            crystal.behind(offset)
        } else {
            crystal.ahead(offset)
        };
        return Ok((record, crystal));
    }
    let algorithm: Algorithm = match &arguments.algorithm {
        Some(name) => name.to_ascii_uppercase().parse().context("--algorithm")?,
        None => Algorithm::Sha1,
    };
    let digits = arguments.digits.unwrap_or(6);
    let parameters = if arguments.hotp {
        OtpParameters::Hotp(HotpParameters { algorithm, digits })
    } else {
        OtpParameters::Totp(TotpParameters {
            algorithm,
            digits,
            time_step: arguments.period.unwrap_or(30),
            t0: 0,
        })
    };
    let mut builder = KeyFob::builder(
        arguments.serial.as_deref().unwrap_or(DEFAULT_SERIAL),
        parameters,
    )
    .issued_at(issued_at)
    .initial_counter(arguments.counter.unwrap_or(0));
    if let Some(hex) = &arguments.key {
        builder = builder.secret(Secret::from_hex(hex).context("--key")?);
    }
    if let Some(base32) = &arguments.base32 {
        builder = builder.secret(Secret::from_base32(base32).context("--base32")?);
    }
    let (_, record) = builder.build(SystemClock).context("cannot make the fob")?;
    Ok((record, crystal))
}

fn build<T: TimeSource>(
    arguments: &FobArgs,
    record: &FactoryRecord,
    crystal: Crystal,
    world: T,
) -> Result<KeyFob<T>, Exit> {
    let mut builder = KeyFob::from_record(record).crystal(crystal);
    if let Some(pin) = &arguments.pin {
        builder = builder.pin(pin);
    }
    let (fob, _) = builder.build(world).context("cannot make the fob")?;
    Ok(fob)
}

pub(crate) fn run(arguments: &FobArgs) -> Outcome {
    let system_now = SystemClock.now();
    if arguments.no_input {
        let start = parse_time(&arguments.at, system_now.as_secs()).map_err(Exit::error)?;
        let world = ManualClock::at_secs(start);
        let (record, crystal) = design(arguments, world.now())?;
        let fob = build(arguments, &record, crystal, world.clone())?;
        readings(arguments, &record, fob, &world)
    } else {
        let (record, crystal) = design(arguments, system_now)?;
        let fob = build(arguments, &record, crystal, SystemClock)?;
        interactive(arguments, &record, fob)
    }
}

/// `--no-input`: one tab-separated line per reading, over simulated time.
fn readings(
    arguments: &FobArgs,
    record: &FactoryRecord,
    mut fob: KeyFob<ManualClock>,
    world: &ManualClock,
) -> Outcome {
    let interval = arguments.interval.unwrap_or(match record.parameters {
        OtpParameters::Totp(parameters) => parameters.time_step,
        OtpParameters::Hotp(_) => 0,
    });
    let mut out = Output::new();
    out.line("# serial\tworld_time\tfob_time\tcode\tvalid_for_seconds")?;
    for _ in 0..arguments.count {
        if let Some(pin) = &arguments.pin {
            fob.enter_pin(pin).context("PIN")?;
        }
        let reading = fob.press().context("the fob shows no code")?;
        let valid_for = reading.valid_for().map_or_else(
            || "-".to_owned(),
            |left| format!("{:.3}", left.as_secs_f64()),
        );
        out.line(&format!(
            "{}\t{}\t{}\t{}\t{valid_for}",
            one_line(fob.serial().as_ref()),
            world.now().as_secs(),
            fob.local_time().as_secs(),
            reading.code()
        ))?;
        world.advance(Duration::from_secs(interval));
    }
    Ok(())
}

fn prompt(out: &mut Output, question: &str) -> Result<Option<String>, Exit> {
    out.text(question)?;
    out.flush()?;
    // Bounded as every input is: `otpfob fob < /dev/zero` must not fill memory.
    let limit = u64::try_from(MAX_SECRET_FILE_BYTES).unwrap_or(u64::MAX);
    let mut line = String::new();
    match std::io::stdin().lock().take(limit + 1).read_line(&mut line) {
        Ok(0) | Err(_) => Ok(None),
        Ok(read) if read > MAX_SECRET_FILE_BYTES => Err(Exit::error(format!(
            "a line of input is longer than {MAX_SECRET_FILE_BYTES} bytes"
        ))),
        Ok(_) => Ok(Some(line.trim().to_owned())),
    }
}

/// Draws the display and, on a terminal, redraws a time code's countdown every
/// second until the code changes.
fn show(out: &mut Output, reading: Reading) -> Outcome {
    let (Some(valid_for), Some(time_step)) = (reading.valid_for(), reading.time_step()) else {
        return out.text(&Screen::reading(reading).to_string());
    };
    let live = std::io::stdout().is_terminal();
    let shown_at = Instant::now();
    loop {
        let left = valid_for.saturating_sub(shown_at.elapsed());
        out.text(
            &Screen::reading(Reading::time_based(reading.code(), left, time_step)).to_string(),
        )?;
        if left.is_zero() || !live {
            return Ok(());
        }
        out.flush()?;
        std::thread::sleep(left.min(Duration::from_secs(1)));
        out.text("\x1b[4A")?; // back to the top of the four-line box
    }
}

/// The helpdesk call of a locked fob: the bank's side is played here too, from the
/// fob's factory record.
fn unlock(
    out: &mut Output,
    fob: &mut KeyFob<SystemClock>,
    record: &FactoryRecord,
) -> Result<bool, Exit> {
    let Ok(challenge) = fob.unlock_challenge() else {
        return Ok(false);
    };
    out.text(&Screen::locked(challenge).to_string())?;
    out.line(&format!(
        "[bank] the unlock code for challenge {challenge} is {}",
        record.unlock_code(&challenge)
    ))?;
    let Some(answer) = prompt(out, "unlock code: ")? else {
        return Ok(false);
    };
    let Some(new_pin) = prompt(out, "new PIN: ")? else {
        return Ok(false);
    };
    let result = Code::parse(&answer, UNLOCK_CODE_DIGITS)
        .map_err(|error| error.to_string())
        .and_then(|code| {
            fob.unlock(&code, &new_pin)
                .map_err(|error| error.to_string())
        });
    match result {
        Ok(()) => out.line("unlocked, the PIN is changed")?,
        Err(error) => out.line(&error)?,
    }
    Ok(true)
}

fn interactive(
    arguments: &FobArgs,
    record: &FactoryRecord,
    mut fob: KeyFob<SystemClock>,
) -> Outcome {
    let mut out = Output::new();
    let mode = match record.parameters {
        OtpParameters::Hotp(_) => "event (HOTP)",
        OtpParameters::Totp(_) => "time (TOTP)",
    };
    out.line(&format!(
        "key fob {}: {mode}, {} digits, {}, crystal {:+} ppm",
        one_line(fob.serial().as_ref()),
        record.parameters.digits(),
        record.parameters.algorithm(),
        arguments.drift,
    ))?;
    let mut tries_left = None;
    loop {
        match fob.state() {
            DeviceState::Expired => return out.text(&Screen::expired().to_string()),
            DeviceState::Locked => {
                if !unlock(&mut out, &mut fob, record)? {
                    return Ok(());
                }
                tries_left = None;
                continue;
            }
            _ => {}
        }
        if fob.requires_pin() {
            out.text(&Screen::enter_pin(tries_left).to_string())?;
            let Some(pin) = prompt(&mut out, "PIN (an empty line quits): ")? else {
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
                    out.line(&error.to_string())?;
                    continue;
                }
            }
        } else {
            let Some(line) = prompt(&mut out, "press Enter for a code (q quits): ")? else {
                return Ok(());
            };
            if line.eq_ignore_ascii_case("q") {
                return Ok(());
            }
        }
        match fob.press() {
            Ok(reading) => show(&mut out, reading)?,
            Err(error) => out.line(&error.to_string())?,
        }
    }
}
