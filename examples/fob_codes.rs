//! What a time-based key fob's display shows as simulated time passes: its code, how
//! long the code stays valid, and how far its quartz crystal has drifted from the
//! bank's clock. No waiting: a `ManualClock` stands in for the world's time.
//!
//! `cargo run --example fob_codes`

use std::time::Duration;

use otpfob::{DriftingClock, ManualClock, Secret, TimeSource, Totp, TotpParameters, clock::Drift};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = Secret::generate_default()?;
    let totp = Totp::new(&secret, TotpParameters::default())?;

    let issued = 1_767_225_600; // 2026-01-01T00:00:00Z
    let world = ManualClock::at_secs(issued);
    // A crystal running 12 ppm fast, the top of the range real fobs show.
    let crystal = DriftingClock::new(world.clone(), world.now(), Drift::from_ppm(12.0)?);

    println!("A TOTP fob: SHA-1, 6 digits, 30-second steps, crystal +12 ppm\n");
    println!(
        "{:>16}  {:>9}  {:>10}  {:>14}",
        "elapsed", "display", "valid for", "fob ahead by"
    );
    let moments: [(&str, u64); 8] = [
        ("0 s", 0),
        ("10 s", 10),
        ("25 s", 15),
        ("31 s", 6),
        ("1 day", 86_400 - 31),
        ("30 days", 29 * 86_400),
        ("1 year", 335 * 86_400 + 6 * 3_600),
        ("3 years", 2 * 365 * 86_400 + 12 * 3_600),
    ];
    for (label, step) in moments {
        world.advance(Duration::from_secs(step));
        let fob_time = totp.unix_seconds(crystal.now())?;
        let code = totp.at(fob_time)?;
        let remaining = totp.remaining(fob_time)?;
        let ahead = crystal.now().as_secs() - world.now().as_secs();
        println!(
            "{label:>16}  {:>9}  {:>8} s  {:>12} s",
            code.grouped(' ').to_string(),
            remaining,
            ahead
        );
    }
    println!(
        "\nAfter three years the fob is {} steps ahead of the bank's clock;",
        (crystal.now().as_secs() - world.now().as_secs()) / 30
    );
    println!("a validator that learns each fob's drift keeps accepting its codes.");
    Ok(())
}
