//! Ten thousand fobs with realistic crystal drift, five simulated years, customers
//! logging in at random intervals: how many good codes does the bank accept, with and
//! without drift learning?
//!
//! Drifts are normal with a sigma of 5 ppm (real fobs drift 4 to 12 ppm) plus 0.5 %
//! outliers with a sigma of 20 ppm. Each customer has their own habit, a mean interval
//! between logins drawn from 1 to 120 days (log-uniform), and each interval is
//! exponential around it; every login is typed 3 to 25 seconds after the fob showed it.
//! A rejected customer calls the helpdesk, which resynchronises the token from two
//! consecutive codes. Both banks see the same logins; one runs the default `Policy`,
//! the other the same policy with drift learning and the drift tolerance turned off
//! (where a resync could not move the window, so the helpdesk cannot help).
//!
//! `cargo run --release --features fleet --example fleet_drift [-- --fobs N --years Y --svg PATH]`

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::error::Error;
use std::path::PathBuf;

use otpfob::{
    Enrolment, Keyring, ManualClock, MemoryStore, Policy, SealingKey, TimeSource, TokenId,
    TotpParameters, UnixTime, Validator, device::Fleet,
};
use plotters::prelude::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp};

const START: i64 = 1_767_225_600; // 2026-01-01
const DAY: f64 = 86_400.0;
const MONTH: i64 = 2_629_800; // a twelfth of a Julian year

struct Settings {
    fobs: usize,
    years: u32,
    svg: PathBuf,
}

/// Good codes submitted and accepted in one month, for each bank.
#[derive(Default, Clone, Copy)]
struct Month {
    submitted: u64,
    accepted_learning: u64,
    accepted_fixed: u64,
}

struct Bank {
    validator: Validator<MemoryStore, ManualClock>,
    /// Whether the helpdesk resynchronises a rejected customer's token. Without drift
    /// learning a resync cannot move the window, so there is nothing it could do.
    helpdesk_resyncs: bool,
    resyncs: u64,
}

impl Bank {
    fn new(clock: &ManualClock, policy: Policy) -> Result<Self, Box<dyn Error>> {
        let helpdesk_resyncs = policy.learn_drift;
        let keyring = Keyring::new(SealingKey::generate(1)?);
        // The audit trail is not the subject here; keeping none saves memory and time.
        let validator = Validator::new(MemoryStore::with_audit_capacity(0), clock.clone(), keyring)
            .with_policy(policy)?
            .with_generator_cache(1 << 20);
        Ok(Self {
            validator,
            helpdesk_resyncs,
            resyncs: 0,
        })
    }

    /// Submits a good code; on rejection, the helpdesk resynchronises the token from
    /// two consecutive codes. Returns whether the code was accepted.
    fn login(&mut self, id: &TokenId, code: &str, next_two: [&str; 2]) -> bool {
        if self.validator.verify(id, code, None).is_ok() {
            return true;
        }
        if !self.helpdesk_resyncs {
            return false;
        }
        self.resyncs += 1;
        let _ = self.validator.resync(id, next_two[0], next_two[1], None);
        false
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let settings = settings()?;
    let world = ManualClock::at_secs(START);
    let (mut fleet, records) = Fleet::builder(settings.fobs, TotpParameters::default())
        .seed(2026)
        .drift_sigma_ppm(5.0)
        .outliers(0.005, 20.0)
        .issued_at(world.now())
        .lifetime(std::time::Duration::from_secs(
            u64::from(settings.years + 1) * 31_557_600,
        ))
        .build(world.clone())?;

    let mut learning = Bank::new(&world, Policy::default())?;
    let fixed_policy = {
        let mut policy = Policy::default();
        policy.learn_drift = false;
        policy.drift_tolerance_ppm = 0;
        policy
    };
    let mut fixed = Bank::new(&world, fixed_policy)?;
    let mut ids = Vec::with_capacity(records.len());
    for record in &records {
        ids.push(learning.validator.enrol(Enrolment::from(record))?);
        fixed.validator.enrol(Enrolment::from(record))?;
    }
    drop(records);

    // Each customer's habit, then the first login of each.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let habits: Vec<Exp<f64>> = (0..settings.fobs)
        .map(|_| {
            let mean_days = (1f64.ln() + rng.random::<f64>() * (120f64.ln() - 1f64.ln())).exp();
            Exp::new(1.0 / (mean_days * DAY))
        })
        .collect::<Result<_, _>>()?;
    let end = START + i64::from(settings.years) * 31_557_600;
    let mut queue = BinaryHeap::new();
    for (index, habit) in habits.iter().enumerate() {
        queue.push(Reverse((START + habit.sample(&mut rng) as i64, index)));
    }

    let months = (i64::from(settings.years) * 12) as usize;
    let mut per_month = vec![Month::default(); months];
    let started = std::time::Instant::now();
    while let Some(Reverse((seen_at, index))) = queue.pop() {
        if seen_at >= end {
            break;
        }
        // The customer reads the fob, then types the code a few seconds later.
        let code = read(&mut fleet, index, seen_at)?;
        let next_two = [
            read(&mut fleet, index, seen_at + 30)?,
            read(&mut fleet, index, seen_at + 60)?,
        ];
        let typed_at = seen_at + rng.random_range(3..=25);
        world.set(UnixTime::from_secs(typed_at));
        let id = &ids[index];
        let month = &mut per_month[((typed_at - START) / MONTH) as usize % months];
        month.submitted += 1;
        let next = [next_two[0].as_str(), next_two[1].as_str()];
        month.accepted_learning += u64::from(learning.login(id, &code, next));
        month.accepted_fixed += u64::from(fixed.login(id, &code, next));
        let wait = habits[index].sample(&mut rng).max(60.0) as i64;
        queue.push(Reverse((seen_at + wait, index)));
    }
    let elapsed = started.elapsed();

    print_table(&per_month, settings.years);
    let total = per_month.iter().fold(Month::default(), |sum, month| Month {
        submitted: sum.submitted + month.submitted,
        accepted_learning: sum.accepted_learning + month.accepted_learning,
        accepted_fixed: sum.accepted_fixed + month.accepted_fixed,
    });
    println!(
        "\nhelpdesk resyncs with drift learning: {}",
        learning.resyncs
    );
    println!(
        "{} logins by {} fobs over {} years simulated in {:.1} s",
        total.submitted,
        settings.fobs,
        settings.years,
        elapsed.as_secs_f64()
    );
    plot(&per_month, &settings.svg)?;
    println!("plot: {}", settings.svg.display());
    let rate = percent(total.accepted_learning, total.submitted);
    if rate < 99.9 {
        return Err(format!("only {rate:.3} % of good codes accepted with drift learning").into());
    }
    Ok(())
}

fn read(fleet: &mut Fleet<ManualClock>, index: usize, at: i64) -> Result<String, Box<dyn Error>> {
    let reading = fleet
        .press_at(index, UnixTime::from_secs(at))
        .ok_or("no such fob")??;
    Ok(reading.code().to_string())
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        100.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn print_table(per_month: &[Month], years: u32) {
    println!("good codes accepted, by year of service\n");
    println!("  year      logins   with drift learning   without");
    let mut total = Month::default();
    for year in 0..years as usize {
        let months = &per_month[year * 12..(year + 1) * 12];
        let sum = months.iter().fold(Month::default(), |sum, month| Month {
            submitted: sum.submitted + month.submitted,
            accepted_learning: sum.accepted_learning + month.accepted_learning,
            accepted_fixed: sum.accepted_fixed + month.accepted_fixed,
        });
        println!(
            "  {:>4}  {:>10}   {:>18.3} %   {:>6.2} %",
            year + 1,
            sum.submitted,
            percent(sum.accepted_learning, sum.submitted),
            percent(sum.accepted_fixed, sum.submitted)
        );
        total.submitted += sum.submitted;
        total.accepted_learning += sum.accepted_learning;
        total.accepted_fixed += sum.accepted_fixed;
    }
    println!(
        "   all  {:>10}   {:>18.3} %   {:>6.2} %",
        total.submitted,
        percent(total.accepted_learning, total.submitted),
        percent(total.accepted_fixed, total.submitted)
    );
}

fn plot(per_month: &[Month], path: &PathBuf) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (900, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let months = per_month.len() as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption("Good codes accepted per month", ("sans-serif", 24))
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..months, 0f64..101f64)?;
    chart
        .configure_mesh()
        .x_desc("months in service")
        .y_desc("accepted (%)")
        .draw()?;
    let series = |pick: fn(&Month) -> u64| {
        per_month
            .iter()
            .enumerate()
            .map(move |(index, month)| (index as f64 + 0.5, percent(pick(month), month.submitted)))
            .collect::<Vec<_>>()
    };
    chart
        .draw_series(LineSeries::new(
            series(|month| month.accepted_learning),
            BLUE.stroke_width(2),
        ))?
        .label("default policy (drift learning)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    chart
        .draw_series(LineSeries::new(
            series(|month| month.accepted_fixed),
            RED.stroke_width(2),
        ))?
        .label("no drift learning, no tolerance")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

fn settings() -> Result<Settings, Box<dyn Error>> {
    let mut settings = Settings {
        fobs: 10_000,
        years: 5,
        svg: PathBuf::from("fleet_drift.svg"),
    };
    let mut arguments = std::env::args().skip(1);
    while let Some(flag) = arguments.next() {
        let value = arguments.next().ok_or(format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--fobs" => settings.fobs = value.parse()?,
            "--years" => settings.years = value.parse()?,
            "--svg" => settings.svg = PathBuf::from(value),
            _ => return Err(format!("unknown option {flag}; see the file's header").into()),
        }
    }
    if settings.fobs == 0 || settings.years == 0 {
        return Err("--fobs and --years must be at least 1".into());
    }
    Ok(settings)
}
