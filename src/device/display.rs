//! A fob's display drawn for terminals: the code grouped as on the device, and a
//! countdown bar until it changes.

use core::fmt;
use core::time::Duration;

use super::backend::Reading;
use super::unlock::UnlockChallenge;

/// Bar cells unless told otherwise.
const DEFAULT_BAR_WIDTH: usize = 20;

/// What a fob's display shows, drawn in a box for terminals with [`fmt::Display`].
///
/// ```
/// use otpfob::{Code, device::{Reading, Screen}};
/// use std::time::Duration;
///
/// let reading = Reading::time_based(Code::new(287_082, 6)?, Duration::from_secs(15), Duration::from_secs(30));
/// let screen = Screen::reading(reading).bar_width(10).to_string();
/// assert_eq!(screen, "\
/// ╭──────────────────╮
/// │     287 082      │
/// │ █████░░░░░  15 s │
/// ╰──────────────────╯
/// ");
/// # Ok::<(), otpfob::CodeError>(())
/// ```
#[derive(Debug, Clone, Copy)]
#[must_use]
pub struct Screen {
    content: Content,
    bar_width: usize,
}

#[derive(Debug, Clone, Copy)]
enum Content {
    Reading(Reading),
    Locked(UnlockChallenge),
    Expired,
    EnterPin { tries_left: Option<u8> },
}

impl Screen {
    /// A code: grouped in two as on the device, over a bar and the seconds it stays
    /// valid (time codes), or "until the next press" (event codes and responses).
    pub fn reading(reading: Reading) -> Self {
        Self::new(Content::Reading(reading))
    }

    /// A locked fob: its unlock challenge, to read out to the bank.
    pub fn locked(challenge: UnlockChallenge) -> Self {
        Self::new(Content::Locked(challenge))
    }

    /// A fob past its end of life.
    pub fn expired() -> Self {
        Self::new(Content::Expired)
    }

    /// The PIN prompt, with the tries left after a wrong PIN.
    pub fn enter_pin(tries_left: Option<u8>) -> Self {
        Self::new(Content::EnterPin { tries_left })
    }

    /// Cells in the countdown bar (20 unless told otherwise).
    pub fn bar_width(mut self, cells: usize) -> Self {
        self.bar_width = cells;
        self
    }

    fn new(content: Content) -> Self {
        Self {
            content,
            bar_width: DEFAULT_BAR_WIDTH,
        }
    }

    fn lines(&self) -> [String; 2] {
        match self.content {
            Content::Reading(reading) => {
                let code = reading.code().grouped(' ').to_string();
                let status = match (reading.valid_for(), reading.time_step()) {
                    (Some(valid_for), Some(time_step)) => {
                        countdown(valid_for, time_step, self.bar_width)
                    }
                    _ => "until the next press".to_owned(),
                };
                [code, status]
            }
            Content::Locked(challenge) => [
                "LOCKED".to_owned(),
                format!("challenge {}", challenge.as_code().grouped(' ')),
            ],
            Content::Expired => ["EXPIRED".to_owned(), "end of life".to_owned()],
            Content::EnterPin { tries_left } => [
                "PIN ?".to_owned(),
                match tries_left {
                    Some(tries) => format!("wrong PIN, {tries} left"),
                    None => String::new(),
                },
            ],
        }
    }
}

/// `█████░░░░░  15 s`: cells filled in proportion to the time left, rounded up so a
/// code with any time left shows at least one, and whole seconds rounded up.
fn countdown(valid_for: Duration, time_step: Duration, cells: usize) -> String {
    let step_nanos = time_step.as_nanos().max(1);
    let left_nanos = valid_for.as_nanos().min(step_nanos);
    let filled = (left_nanos * cells as u128).div_ceil(step_nanos) as usize;
    let seconds = left_nanos.div_ceil(1_000_000_000);
    format!(
        "{}{} {seconds:>3} s",
        "█".repeat(filled),
        "░".repeat(cells - filled)
    )
}

impl fmt::Display for Screen {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.lines();
        let inner = lines
            .iter()
            .map(|line| line.chars().count())
            .max()
            .unwrap_or(0)
            + 2;
        writeln!(formatter, "╭{}╮", "─".repeat(inner))?;
        for line in &lines {
            let width = line.chars().count();
            let left = (inner - width) / 2;
            let right = inner - width - left;
            writeln!(
                formatter,
                "│{}{line}{}│",
                " ".repeat(left),
                " ".repeat(right)
            )?;
        }
        writeln!(formatter, "╰{}╯", "─".repeat(inner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;

    #[test]
    fn countdown_rounds_up_and_clamps() {
        let step = Duration::from_secs(30);
        assert_eq!(countdown(Duration::from_secs(30), step, 4), "████  30 s");
        assert_eq!(countdown(Duration::from_millis(700), step, 4), "█░░░   1 s");
        assert_eq!(countdown(Duration::ZERO, step, 4), "░░░░   0 s");
        assert_eq!(countdown(Duration::from_secs(99), step, 4), "████  30 s");
        assert_eq!(
            countdown(Duration::from_secs(1), Duration::ZERO, 2),
            "██   1 s"
        );
    }

    #[test]
    fn every_screen_is_a_closed_box() {
        let challenge: UnlockChallenge = "12345678".parse().unwrap();
        let event = Reading::event_based(Code::new(1_234_567, 7).unwrap());
        let screens = [
            Screen::reading(event),
            Screen::locked(challenge),
            Screen::expired(),
            Screen::enter_pin(None),
            Screen::enter_pin(Some(2)),
        ];
        let texts: Vec<String> = screens.iter().map(ToString::to_string).collect();
        assert!(texts[0].contains("123 4567") && texts[0].contains("until the next press"));
        assert!(texts[1].contains("LOCKED") && texts[1].contains("1234 5678"));
        assert!(texts[2].contains("EXPIRED"));
        assert!(texts[4].contains("wrong PIN, 2 left"));
        for text in texts {
            let widths: Vec<usize> = text.lines().map(|line| line.chars().count()).collect();
            assert_eq!(widths.len(), 4, "{text}");
            assert!(widths.iter().all(|width| *width == widths[0]), "{text}");
        }
    }
}
