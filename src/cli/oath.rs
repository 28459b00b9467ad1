//! `otpfob hotp` and `otpfob totp`: `oathtool`'s options with its meaning, and its
//! output byte for byte.
//!
//! Differences, all of them refusals where `oathtool` would guess or misbehave:
//! bad input exits with status 2 (oathtool: 1) and this tool's own message; numbers,
//! durations and times outside the forms of [`super::oath_time`] are refused; an
//! unknown `--totp=MODE` is refused (oathtool silently uses SHA-1); an empty key is
//! refused; a TOTP time before the start time is refused; 9 and 10 digits are
//! accepted (oathtool: 6 to 8 only). A window search never looks at counters below
//! zero (oathtool wraps them around to 2^64 - n). A window is at most
//! [`MAX_WINDOW`] (oathtool: any, so that a search of 2^64 codes never ends), and the
//! range of a failed search is reported in unsigned numbers (oathtool prints counters
//! of 2^63 and above as negative).

use std::fmt::Write as _;

use clap::Args;
use zeroize::Zeroizing;

use otpfob::{
    Algorithm, Code, Hotp, HotpParameters, Secret,
    hotp::{MAX_OTP_DIGITS, MIN_OTP_DIGITS},
};

use super::input::{ArgumentReader, quote};
use super::oath_time::{format_utc, parse_count, parse_time, parse_time_step};
use super::output::Output;
use super::{EXIT_ERROR, Exit, Outcome};

/// The widest window: a million codes take about a second to make or search, a
/// window of 2^64 would never end.
pub(crate) const MAX_WINDOW: u64 = 1_000_000;

/// What `hotp` and `totp` share.
#[derive(Debug, Args)]
pub(crate) struct CommonArgs {
    /// The KEY is base32 (as authenticator apps show it) instead of hex.
    #[arg(short = 'b', long = "base32")]
    base32: bool,
    /// Digits per code: 6, 7 or 8 as oathtool, or 9 or 10 (default 6, or the OTP's
    /// length when one is given).
    #[arg(short = 'd', long = "digits", value_name = "DIGITS")]
    digits: Option<String>,
    /// How many more codes to print after the first, or to search for OTP (at most
    /// 1000000).
    #[arg(short = 'w', long = "window", value_name = "WIDTH")]
    window: Option<String>,
    /// The HMAC hash: sha1, sha256 or sha512.
    #[arg(long = "algorithm", value_name = "NAME")]
    algorithm: Option<String>,
    /// Explain what is being done (prints the key in hex and base32).
    #[arg(short = 'v', long = "verbose")]
    verbose: bool,
    /// The key: hex (base32 with -b); `-` reads it from standard input, `@FILE` from
    /// a file (so that it is not on the command line).
    #[arg(value_name = "KEY")]
    key: String,
    /// A one-time password to search for in the window, instead of printing codes.
    #[arg(value_name = "OTP")]
    otp: Option<String>,
}

/// `otpfob hotp`: oathtool's default (event) mode.
#[derive(Debug, Args)]
pub(crate) struct HotpArgs {
    /// The counter of the first code (decimal, 0x hex, or 0-prefixed octal).
    #[arg(short = 'c', long = "counter", value_name = "COUNTER")]
    counter: Option<String>,
    /// Accepted for oathtool's command lines: HOTP is this command's mode.
    #[arg(long = "hotp")]
    hotp: bool,
    #[command(flatten)]
    common: CommonArgs,
}

/// `otpfob totp`: oathtool's `--totp` mode.
#[derive(Debug, Args)]
pub(crate) struct TotpArgs {
    /// The time step: seconds (30), or d, h, m, s units in that order (30s, 1m, 1h).
    #[arg(
        short = 's',
        long = "time-step-size",
        value_name = "DURATION",
        default_value = "30s"
    )]
    time_step: String,
    /// When to start counting steps (T0).
    #[arg(
        short = 'S',
        long = "start-time",
        value_name = "TIME",
        default_value = "1970-01-01 00:00:00 UTC"
    )]
    start_time: String,
    /// The time to make codes for: @UNIX_SECONDS, "YYYY-MM-DD HH:MM:SS UTC", or now.
    #[arg(short = 'N', long = "now", value_name = "TIME", default_value = "now")]
    now: String,
    /// oathtool's spelling of the hash: --totp, --totp=sha256, --totp=sha512.
    #[arg(
        long = "totp",
        value_name = "MODE",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "sha1"
    )]
    totp: Option<String>,
    #[command(flatten)]
    common: CommonArgs,
}

/// The checked inputs of either mode.
struct Request {
    secret: Secret,
    digits: u8,
    window: u64,
    otp: Option<Zeroizing<String>>,
    algorithm: Algorithm,
    verbose: bool,
}

fn bad(message: impl Into<String>) -> Exit {
    Exit::error(message)
}

fn algorithm_named(name: &str) -> Result<Algorithm, Exit> {
    name.to_ascii_uppercase().parse().map_err(|_| {
        bad(format!(
            "unknown algorithm {}: expected sha1, sha256 or sha512",
            quote(name)
        ))
    })
}

fn request(common: &CommonArgs, totp_mode: Option<&str>) -> Result<Request, Exit> {
    let mut reader = ArgumentReader::default();
    let key = reader.read(&common.key, "key")?;
    let otp = common
        .otp
        .as_deref()
        .map(|otp| reader.read(otp, "one-time password"))
        .transpose()?;
    let secret = if common.base32 {
        Secret::from_base32(&key)
            .map_err(|error| bad(format!("base32 decoding of the key failed: {error}")))?
    } else {
        Secret::from_hex(&key)
            .map_err(|error| bad(format!("hex decoding of the key failed: {error}")))?
    };
    let algorithm = match (common.algorithm.as_deref(), totp_mode) {
        (None, None) => Algorithm::Sha1,
        (Some(name), None) | (None, Some(name)) => algorithm_named(name)?,
        (Some(name), Some(mode)) => {
            let (first, second) = (algorithm_named(name)?, algorithm_named(mode)?);
            if first != second {
                return Err(bad(format!(
                    "--algorithm {} and --totp={} disagree",
                    quote(name),
                    quote(mode)
                )));
            }
            first
        }
    };
    let given_digits = common
        .digits
        .as_deref()
        .map(|text| parse_count(text, "digits"))
        .transpose()
        .map_err(bad)?;
    if let Some(digits) = given_digits
        && !(u64::from(MIN_OTP_DIGITS)..=u64::from(MAX_OTP_DIGITS)).contains(&digits)
    {
        return Err(bad(format!(
            "{digits} digits: only {MIN_OTP_DIGITS} to {MAX_OTP_DIGITS} are supported"
        )));
    }
    let digits = match (&otp, given_digits) {
        (Some(otp), given) => {
            if !otp.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(bad("the one-time password must be decimal digits only"));
            }
            let length = otp.len() as u64;
            if let Some(given) = given
                && given != length
            {
                return Err(bad(format!(
                    "given one-time password has bad length {given} != {length}"
                )));
            }
            if !(u64::from(MIN_OTP_DIGITS)..=u64::from(MAX_OTP_DIGITS)).contains(&length) {
                return Err(bad(format!(
                    "the one-time password has {length} digits: only {MIN_OTP_DIGITS} to {MAX_OTP_DIGITS} are supported"
                )));
            }
            length
        }
        (None, given) => given.unwrap_or(6),
    };
    let window = common
        .window
        .as_deref()
        .map(|text| parse_count(text, "window"))
        .transpose()
        .map_err(bad)?
        .unwrap_or(0);
    if window > MAX_WINDOW {
        return Err(bad(format!(
            "window {window} is too wide: at most {MAX_WINDOW}"
        )));
    }
    Ok(Request {
        secret,
        digits: digits as u8,
        window,
        otp,
        algorithm,
        verbose: common.verbose,
    })
}

fn generator(request: &Request) -> Result<Hotp, Exit> {
    Hotp::new(
        &request.secret,
        HotpParameters {
            algorithm: request.algorithm,
            digits: request.digits,
        },
    )
    .map_err(|error| bad(error.to_string()))
}

/// oathtool's verbose header: the key in hex and padded base32, the OTP, digits,
/// window.
fn verbose_header(out: &mut Output, request: &Request) -> Outcome {
    let bytes = request.secret.expose_bytes();
    let mut hex = Zeroizing::new(String::with_capacity(bytes.len() * 2));
    for byte in bytes {
        // Writing to a String cannot fail.
        let _ = write!(hex, "{byte:02x}");
    }
    let mut base32 = request.secret.to_base32();
    while !base32.len().is_multiple_of(8) {
        base32.push('=');
    }
    out.line(&format!("Hex secret: {}", hex.as_str()))?;
    out.line(&format!("Base32 secret: {}", base32.as_str()))?;
    if let Some(otp) = &request.otp {
        out.line(&format!("OTP: {}", otp.as_str()))?;
    }
    out.line(&format!("Digits: {}", request.digits))?;
    out.line(&format!("Window size: {}", request.window))
}

/// Searches `otp` at the positions `candidates` gives, in order; the first match's
/// position.
fn find(
    generator: &Hotp,
    otp: &str,
    digits: u8,
    mut candidates: impl Iterator<Item = (u64, u64)>,
) -> Result<Option<u64>, Exit> {
    let wanted = Code::parse(otp, digits).map_err(|error| bad(error.to_string()))?;
    // `Code` equality is constant-time; the search stops at the first match, as
    // oathtool's does, because which position matched is the output.
    Ok(candidates
        .find_map(|(position, counter)| (generator.at(counter) == wanted).then_some(position)))
}

/// `otpfob hotp`.
pub(crate) fn hotp(arguments: &HotpArgs) -> Outcome {
    let request = request(&arguments.common, None)?;
    let counter = arguments
        .counter
        .as_deref()
        .map(|text| parse_count(text, "counter"))
        .transpose()
        .map_err(bad)?
        .unwrap_or(0);
    let generator = generator(&request)?;
    let mut out = Output::new();
    if request.verbose {
        verbose_header(&mut out, &request)?;
        out.line(&format!("Start counter: 0x{counter:X} ({counter})\n"))?;
    }
    match &request.otp {
        None => {
            let mut position = 0u64;
            loop {
                let Some(at) = counter.checked_add(position) else {
                    return Err(bad("the counter passed 2^64 - 1"));
                };
                out.line(&generator.at(at).to_string())?;
                if position == request.window {
                    return Ok(());
                }
                position += 1;
            }
        }
        Some(otp) => {
            let candidates = (0..=request.window)
                .map_while(|position| Some((position, counter.checked_add(position)?)));
            match find(&generator, otp, request.digits, candidates)? {
                Some(position) => out.line(&position.to_string()),
                None => Err(not_found(
                    otp,
                    counter,
                    counter.saturating_add(request.window),
                )),
            }
        }
    }
}

/// `otpfob totp`.
pub(crate) fn totp(arguments: &TotpArgs) -> Outcome {
    let request = request(&arguments.common, arguments.totp.as_deref())?;
    let system_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64);
    let now = parse_time(&arguments.now, system_now).map_err(bad)?;
    let start = parse_time(&arguments.start_time, system_now).map_err(bad)?;
    let time_step = parse_time_step(&arguments.time_step).map_err(bad)?;
    if now < start {
        return Err(bad(format!(
            "the time {} is before the start time {}",
            format_utc(now),
            format_utc(start)
        )));
    }
    // Both are within 0..=year 9999, so the difference is non-negative and fits.
    let parameters = otpfob::TotpParameters {
        time_step,
        t0: start as u64,
        ..otpfob::TotpParameters::default()
    };
    let step = parameters.step_at(now as u64).ok_or_else(|| {
        bad(format!(
            "the time step {time_step} is not a number of seconds"
        ))
    })?;
    let generator = generator(&request)?;
    let mut out = Output::new();
    if request.verbose {
        verbose_header(&mut out, &request)?;
        out.line(&format!("TOTP mode: {}", request.algorithm.name()))?;
        out.line(&format!("Step size (seconds): {time_step}"))?;
        out.line(&format!("Start time: {} ({start})", format_utc(start)))?;
        out.line(&format!("Current time: {} ({now})", format_utc(now)))?;
        out.line(&format!("Counter: 0x{step:X} ({step})\n"))?;
    }
    match &request.otp {
        None => {
            let mut position = 0u64;
            loop {
                let Some(at) = step.checked_add(position) else {
                    return Err(bad("the time step passed 2^64 - 1"));
                };
                out.line(&generator.at(at).to_string())?;
                if position == request.window {
                    return Ok(());
                }
                position += 1;
            }
        }
        Some(otp) => {
            // oathtool's order: the current step, then one step later and one
            // earlier, two later and two earlier...; the output is the distance.
            let candidates = (0..=request.window).flat_map(|distance| {
                let later = step.checked_add(distance).map(|at| (distance, at));
                let earlier = (distance > 0)
                    .then(|| step.checked_sub(distance))
                    .flatten()
                    .map(|at| (distance, at));
                later.into_iter().chain(earlier)
            });
            match find(&generator, otp, request.digits, candidates)? {
                Some(distance) => out.line(&distance.to_string()),
                None => {
                    let half = request.window / 2;
                    Err(not_found(
                        otp,
                        step.saturating_sub(half),
                        step.saturating_add(half),
                    ))
                }
            }
        }
    }
}

/// oathtool's failure when the OTP is not in the window: its message, its status.
fn not_found(otp: &str, first: u64, last: u64) -> Exit {
    Exit {
        code: EXIT_ERROR,
        message: Some(format!(
            "password \"{otp}\" not found in range {first} .. {last}"
        )),
    }
}
