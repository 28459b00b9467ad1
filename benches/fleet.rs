//! Reading every fob of a fleet at one instant, beside one `Totp::at` in the same run.
//!
//! Both benchmarks report throughput in codes (elements) per second, so the fleet's
//! per-fob cost reads directly against a single generation. The fleet has
//! `OTPFOB_FLEET_SIZE` fobs (default 1,000,000, about 160 MB, under `cargo bench`;
//! 10,000 when `cargo test` runs each benchmark once) and a 1,000-fob fleet that
//! stays in cache is measured beside it.
//!
//! `cargo bench --features fleet --bench fleet -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use otpfob::{ManualClock, Secret, Totp, TotpParameters, UnixTime, device::Fleet};

const ISSUED: i64 = 1_767_225_600;
/// A year after issue, so every fob has drifted.
const READ_AT: i64 = ISSUED + 31_557_600;

/// The large fleet's size: `OTPFOB_FLEET_SIZE`, else a million under `cargo bench`
/// (which passes `--bench`), and ten thousand when `cargo test` runs each benchmark
/// once as a check.
fn fleet_size() -> usize {
    let benchmarking = std::env::args().any(|argument| argument == "--bench");
    std::env::var("OTPFOB_FLEET_SIZE")
        .ok()
        .and_then(|size| size.parse().ok())
        .unwrap_or(if benchmarking { 1_000_000 } else { 10_000 })
}

fn fleet_read(criterion: &mut Criterion) {
    let secret = Secret::from_bytes(b"12345678901234567890").expect("non-empty key");
    let totp = Totp::new(&secret, TotpParameters::default()).expect("valid parameters");
    let mut group = criterion.benchmark_group("fleet_read");
    group.throughput(Throughput::Elements(1));
    group.bench_function("totp_at_one_code", |bencher| {
        bencher.iter(|| totp.at(black_box(READ_AT as u64)))
    });

    for size in [1_000, fleet_size()] {
        let mut fleet = Fleet::builder(size, TotpParameters::default())
            .seed(1)
            .issued_at(UnixTime::from_secs(ISSUED))
            .build_each(ManualClock::at_secs(ISSUED), |_| {})
            .expect("a valid fleet");
        eprintln!(
            "fleet of {size}: {} bytes per fob, {:.1} MB in all",
            Fleet::<ManualClock>::bytes_per_fob(),
            fleet.state_bytes() as f64 / 1e6
        );
        group.throughput(Throughput::Elements(size as u64));
        if size > 10_000 {
            group.sample_size(10);
            group.sampling_mode(SamplingMode::Flat);
        }
        group.bench_function(format!("fleet_{size}_read_all"), |bencher| {
            bencher.iter(|| {
                let mut checksum = 0u32;
                for reading in fleet
                    .press_all_at(black_box(UnixTime::from_secs(READ_AT)))
                    .expect("fleet alive")
                {
                    checksum ^= reading.expect("a code").code().value();
                }
                checksum
            })
        });
    }
    group.finish();
}

criterion_group!(benches, fleet_read);
criterion_main!(benches);
