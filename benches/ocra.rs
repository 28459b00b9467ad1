//! An OCRA response beside an HOTP code of the same hash, in the same run.
//!
//! HOTP hashes an 8-byte counter: one block for the inner hash. An OCRA data input
//! is the suite string, a zero byte and the 128-byte question field at least (plus an
//! 8-byte counter and the PIN hash here), so its inner hash takes three or four SHA-1
//! or SHA-256 blocks, or two SHA-512 blocks, before the same outer hash.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use otpfob::{
    Algorithm, Hotp, HotpParameters, Secret,
    ocra::{Ocra, OcraInput, Password},
};

const KEY: &[u8; 20] = b"12345678901234567890";

fn ocra_beside_hotp(criterion: &mut Criterion) {
    let secret = Secret::from_bytes(KEY).expect("non-empty key");
    let mut group = criterion.benchmark_group("ocra_vs_hotp");
    for algorithm in Algorithm::ALL {
        let name = algorithm.name();
        let hotp = Hotp::new(
            &secret,
            HotpParameters {
                algorithm,
                digits: 8,
            },
        )
        .expect("valid parameters");
        group.bench_function(format!("hotp_{name}"), |bencher| {
            bencher.iter(|| hotp.at(black_box(1_000_000)))
        });

        let plain = Ocra::new(
            &secret,
            format!("OCRA-1:HOTP-{name}-8:QN08")
                .parse()
                .expect("valid suite"),
        );
        group.bench_function(format!("ocra_{name}_QN08"), |bencher| {
            bencher.iter(|| plain.one_way(black_box("12345678"), &OcraInput::default()))
        });

        let with_counter_and_pin = Ocra::new(
            &secret,
            format!("OCRA-1:HOTP-{name}-8:C-QN08-PSHA1")
                .parse()
                .expect("valid suite"),
        );
        let pin_hash = [0x71u8; 20];
        group.bench_function(format!("ocra_{name}_C-QN08-PSHA1"), |bencher| {
            bencher.iter(|| {
                let input = OcraInput {
                    counter: Some(black_box(1_000_000)),
                    password: Some(Password::Hash(&pin_hash)),
                    ..OcraInput::default()
                };
                with_counter_and_pin.one_way(black_box("12345678"), &input)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, ocra_beside_hotp);
criterion_main!(benches);
