//! The numbers, durations and times `oathtool` takes, in the forms whose meaning
//! this tool reproduces exactly; any other form is refused rather than guessed.
//!
//! `oathtool` reads times with GNU `parse_datetime` (the parser of `date -d`), which
//! also takes local times, relative dates ("next Thursday") and time zone names whose
//! meaning depends on the machine. Those are refused here: a one-time password for
//! the wrong time is worse than an error.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset, Weekday};

use super::input::quote;

/// A count as `oathtool` (C's `strtoull` with base 0) reads it: decimal, `0x` hex or
/// leading-zero octal, with an optional `+`. Negative and out-of-range values, which
/// `oathtool` wraps or saturates, are refused.
pub(crate) fn parse_count(text: &str, what: &str) -> Result<u64, String> {
    let bad = || format!("invalid {what} {}: expected a whole number", quote(text));
    let digits = text.strip_prefix('+').unwrap_or(text);
    let (digits, radix) = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (hex, 16)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (&digits[1..], 8)
    } else {
        (digits, 10)
    };
    if digits.is_empty() || !digits.chars().all(|character| character.is_digit(radix)) {
        return Err(bad());
    }
    u64::from_str_radix(digits, radix).map_err(|_| format!("{what} {} is too large", quote(text)))
}

/// A TOTP time step as `oathtool -s` reads it: seconds (`30`), or days, hours,
/// minutes and seconds in that order, each at most once (`30s`, `1m`, `1h`,
/// `1m30s`, `1d2h3m4s`). Refused: zero (which `oathtool` silently replaces with
/// 30 s), steps of 2^32 seconds or more (which it silently truncates), months and
/// ISO 8601 forms.
pub(crate) fn parse_time_step(text: &str) -> Result<u64, String> {
    let bad = || {
        format!(
            "invalid time step {}: expected seconds (30) or units in the order d, h, m, s (30s, 1m, 1h, 1m30s)",
            quote(text)
        )
    };
    let seconds = if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) {
        text.parse::<u64>().map_err(|_| bad())?
    } else {
        let mut total: u64 = 0;
        let mut rest = text;
        let mut units = ['d', 'h', 'm', 's'].iter().zip([86_400u64, 3_600, 60, 1]);
        if rest.is_empty() {
            return Err(bad());
        }
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            let unit = rest[digits..].chars().next().ok_or_else(bad)?;
            if digits == 0 {
                return Err(bad());
            }
            let value: u64 = rest[..digits].parse().map_err(|_| bad())?;
            let factor = loop {
                match units.next() {
                    Some((&name, factor)) if name == unit => break factor,
                    Some(_) => {}
                    None => return Err(bad()),
                }
            };
            total = value
                .checked_mul(factor)
                .and_then(|part| total.checked_add(part))
                .ok_or_else(bad)?;
            rest = &rest[digits + unit.len_utf8()..];
        }
        total
    };
    if seconds == 0 {
        return Err(format!(
            "invalid time step {}: it must be at least one second",
            quote(text)
        ));
    }
    if seconds > u64::from(u32::MAX) {
        return Err(format!(
            "invalid time step {}: at most {} seconds",
            quote(text),
            u32::MAX
        ));
    }
    Ok(seconds)
}

/// The latest time accepted: the last second of the year 9999.
const LATEST: i64 = 253_402_300_799;

/// A time as `oathtool -N` and `-S` read it, in Unix seconds, in one of the forms
/// whose meaning does not depend on the machine:
///
/// - `now`;
/// - `@SECONDS` (Unix time, whole seconds);
/// - `YYYY-MM-DD HH:MM[:SS] ZONE` or `YYYY-MM-DDTHH:MM[:SS]ZONE`;
/// - `[Www, ]DD Mon YYYY HH:MM[:SS] ZONE` (RFC 5322, as in `date -R`);
///
/// where ZONE is `UTC`, `GMT`, `UT` or `Z` (any case), or `+HHMM`, `-HHMM`,
/// `+HH:MM`, `-HH:MM`. Times before 1970 or after 9999 are refused.
pub(crate) fn parse_time(text: &str, now: i64) -> Result<i64, String> {
    let trimmed = text.trim_matches(' ');
    let seconds = if trimmed.eq_ignore_ascii_case("now") {
        now
    } else if let Some(unix) = trimmed.strip_prefix('@') {
        parse_unix(unix).ok_or_else(|| unsupported(text))?
    } else if trimmed.starts_with(|character: char| character.is_ascii_digit())
        && trimmed.get(4..5) == Some("-")
    {
        parse_iso(trimmed).ok_or_else(|| unsupported(text))??
    } else {
        parse_rfc5322(trimmed).ok_or_else(|| unsupported(text))??
    };
    if !(0..=LATEST).contains(&seconds) {
        return Err(format!(
            "time {} is outside the years 1970 to 9999",
            quote(text)
        ));
    }
    Ok(seconds)
}

fn unsupported(text: &str) -> String {
    format!(
        "cannot parse time {}: use @UNIX_SECONDS, \"YYYY-MM-DD HH:MM:SS UTC\" (or another zone as +HHMM), or now",
        quote(text)
    )
}

fn parse_unix(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let value: i64 = digits.parse().ok()?;
    Some(if negative { -value } else { value })
}

/// Reads exactly `count` ASCII digits at the front of `text`.
fn digits(text: &str, count: usize) -> Option<(u32, &str)> {
    let head = text.get(..count)?;
    if !head.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &text[count..]))
}

/// `HH:MM[:SS]` and what follows.
fn clock_time(text: &str) -> Option<(Time, &str)> {
    let (hour, rest) = digits(text, 2)?;
    let (minute, rest) = digits(rest.strip_prefix(':')?, 2)?;
    let (second, rest) = match rest.strip_prefix(':') {
        Some(rest) => digits(rest, 2)?,
        None => (0, rest),
    };
    let time = Time::from_hms(hour as u8, minute as u8, second as u8).ok()?;
    Some((time, rest))
}

/// A zone: `UTC`, `GMT`, `UT`, `Z`, or a numeric offset; nothing may follow.
fn zone(text: &str) -> Option<UtcOffset> {
    let text = text.trim_start_matches(' ');
    if ["UTC", "GMT", "UT", "Z"]
        .iter()
        .any(|name| text.eq_ignore_ascii_case(name))
    {
        return Some(UtcOffset::UTC);
    }
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (hours, rest) = digits(rest, 2)?;
    let (minutes, rest) = digits(rest.strip_prefix(':').unwrap_or(rest), 2)?;
    if !rest.is_empty() || hours > 23 || minutes > 59 {
        return None;
    }
    UtcOffset::from_hms(sign * hours as i8, sign * minutes as i8, 0).ok()
}

fn to_unix(date: Date, time: Time, offset: UtcOffset) -> i64 {
    PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .unix_timestamp()
}

/// `YYYY-MM-DD HH:MM[:SS] ZONE`; `None` when the text has another shape, an error
/// for an impossible date.
fn parse_iso(text: &str) -> Option<Result<i64, String>> {
    let (year, rest) = digits(text, 4)?;
    let (month, rest) = digits(rest.strip_prefix('-')?, 2)?;
    let (day, rest) = digits(rest.strip_prefix('-')?, 2)?;
    let rest = match rest.strip_prefix('T') {
        Some(rest) => rest,
        None => {
            let trimmed = rest.trim_start_matches(' ');
            if trimmed.len() == rest.len() {
                return None;
            }
            trimmed
        }
    };
    let (time, rest) = clock_time(rest)?;
    let offset = zone(rest)?;
    Some(calendar_date(year as i32, month as u8, day as u8).map(|date| to_unix(date, time, offset)))
}

fn calendar_date(year: i32, month: u8, day: u8) -> Result<Date, String> {
    let month = Month::try_from(month).map_err(|_| format!("there is no month {month}"))?;
    Date::from_calendar_date(year, month, day)
        .map_err(|_| format!("there is no day {day} in {month} {year}"))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

const WEEKDAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Monday),
    ("tue", Weekday::Tuesday),
    ("wed", Weekday::Wednesday),
    ("thu", Weekday::Thursday),
    ("fri", Weekday::Friday),
    ("sat", Weekday::Saturday),
    ("sun", Weekday::Sunday),
];

/// `[Www, ]DD Mon YYYY HH:MM[:SS] ZONE`. A weekday that does not match the date is
/// an error (`oathtool` ignores it).
fn parse_rfc5322(text: &str) -> Option<Result<i64, String>> {
    let (weekday, rest) = match text.split_once(", ") {
        Some((name, rest)) => {
            let (_, weekday) = WEEKDAYS
                .iter()
                .find(|(short, _)| name.eq_ignore_ascii_case(short))?;
            (Some(*weekday), rest)
        }
        None => (None, text),
    };
    let mut parts = rest.splitn(4, ' ');
    let day = parts.next()?;
    let month = parts.next()?;
    let year = parts.next()?;
    let rest = parts.next()?;
    if day.is_empty() || day.len() > 2 || !day.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let day: u8 = day.parse().ok()?;
    let month = MONTHS
        .iter()
        .position(|name| month.eq_ignore_ascii_case(name))? as u8
        + 1;
    let (year, after_year) = digits(year, 4)?;
    if !after_year.is_empty() {
        return None;
    }
    let (time, rest) = clock_time(rest)?;
    let offset = zone(rest)?;
    Some(
        calendar_date(year as i32, month, day).and_then(|date| match weekday {
            Some(weekday) if weekday != date.weekday() => {
                Err(format!("{date} is a {}, not a {weekday}", date.weekday()))
            }
            _ => Ok(to_unix(date, time, offset)),
        }),
    )
}

/// `YYYY-MM-DD HH:MM:SS UTC`, as `oathtool -v` prints times.
pub(crate) fn format_utc(seconds: i64) -> String {
    match OffsetDateTime::from_unix_timestamp(seconds) {
        Ok(time) => format!(
            "{}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            time.year(),
            u8::from(time.month()),
            time.day(),
            time.hour(),
            time.minute(),
            time.second()
        ),
        Err(_) => format!("@{seconds}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_read_as_strtoull() {
        assert_eq!(parse_count("0", "counter"), Ok(0));
        assert_eq!(parse_count("+5", "counter"), Ok(5));
        assert_eq!(parse_count("010", "counter"), Ok(8));
        assert_eq!(parse_count("0x10", "counter"), Ok(16));
        assert_eq!(parse_count("0X1f", "counter"), Ok(31));
        assert_eq!(parse_count("18446744073709551615", "counter"), Ok(u64::MAX));
        for bad in [
            "",
            "-1",
            "08",
            "0x",
            "5x",
            " 5",
            "1e3",
            "18446744073709551616",
        ] {
            assert!(parse_count(bad, "counter").is_err(), "{bad:?}");
        }
    }

    #[test]
    fn time_steps_read_as_oathtool() {
        for (text, seconds) in [
            ("30", 30),
            ("007", 7),
            ("30s", 30),
            ("1m", 60),
            ("01m", 60),
            ("90s", 90),
            ("1m30s", 90),
            ("1h", 3600),
            ("60m", 3600),
            ("1h1s", 3601),
            ("1d", 86_400),
            ("1d2h3m4s", 93_784),
            ("4294967295", 4_294_967_295),
        ] {
            assert_eq!(parse_time_step(text), Ok(seconds), "{text}");
        }
        for bad in [
            "",
            "0",
            "0s",
            "s",
            "30s1m",
            "1m1m",
            "1M",
            "1w",
            "PT30S",
            "1.5m",
            "-30",
            " 30",
            "1 m",
            "30S",
            "4294967296",
            "99999999999999999999",
            "1:00",
        ] {
            assert!(parse_time_step(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn times_read_as_oathtool_in_the_forms_it_documents() {
        for (text, seconds) in [
            ("@1111111109", 1_111_111_109),
            ("@+5", 5),
            ("@0", 0),
            ("2005-03-18 01:58:29 UTC", 1_111_111_109),
            ("2005-03-18 01:58:29 utc", 1_111_111_109),
            ("2005-03-18 01:58:29 GMT", 1_111_111_109),
            ("2005-03-18 01:58:29 Z", 1_111_111_109),
            ("2005-03-18 01:58:29Z", 1_111_111_109),
            ("2005-03-18T01:58:29Z", 1_111_111_109),
            ("2005-03-18  01:58:29  UTC", 1_111_111_109),
            (" 2005-03-18 01:58:29 UTC ", 1_111_111_109),
            ("2005-03-18 01:58 UTC", 1_111_111_080),
            ("2005-03-18 01:58:29 +0000", 1_111_111_109),
            ("2005-03-18 01:58:29 +01:00", 1_111_107_509),
            ("2005-03-18 01:58:29+0100", 1_111_107_509),
            ("2005-03-18T01:58:29+01:00", 1_111_107_509),
            ("2005-03-18 01:58:29 -0800", 1_111_139_909),
            ("2005-03-18 01:58:29 -08:30", 1_111_141_709),
            ("2004-02-29 16:21:42 -0800", 1_078_100_502),
            ("Sun, 29 Feb 2004 16:21:42 -0800", 1_078_100_502),
            ("29 Feb 2004 16:21:42 -0800", 1_078_100_502),
            ("Sun, 29 Feb 2004 16:21:42 GMT", 1_078_071_702),
            ("Sun, 29 Feb 2004 16:21:42 UT", 1_078_071_702),
            ("Sun, 29 Feb 2004 16:21 -0800", 1_078_100_460),
            ("2033-05-18 03:33:20 UTC", 2_000_000_000),
            ("9999-12-31 23:59:59 UTC", LATEST),
            ("now", 42),
            ("NOW", 42),
        ] {
            assert_eq!(parse_time(text, 42), Ok(seconds), "{text}");
        }
        for bad in [
            "",
            "@",
            "@1.9",
            "@ 5",
            "@-5",
            "@253402300800",
            "2005-03-18",
            "2005-03-18 UTC",
            "2005-03-18 01:58:29",
            "2005-03-18T01:58:29",
            "2005-03-18 1:58:29 UTC",
            "2005-3-18 01:58:29 UTC",
            "2005-03-18 01:58:29.7 UTC",
            "2005-03-18 24:00:00 UTC",
            "2005-03-18 01:58:60 UTC",
            "2005-02-30 01:00:00 UTC",
            "2005-03-18 01:58:29 CET",
            "2005-03-18 01:58:29 UTC+1",
            "2005-03-18 01:58:29 +01",
            "2005-03-18 01:58:29 +2400",
            "2005-03-18 01:58:29 +0099",
            "1969-12-31 23:59:59 UTC",
            "10000-01-01 00:00:00 UTC",
            "Mon, 29 Feb 2004 16:21:42 -0800",
            "today",
            "next Thursday",
            "é",
        ] {
            assert!(parse_time(bad, 42).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn formats_as_oathtool_verbose() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(2_000_000_000), "2033-05-18 03:33:20 UTC");
        assert_eq!(format_utc(LATEST), "9999-12-31 23:59:59 UTC");
    }
}
