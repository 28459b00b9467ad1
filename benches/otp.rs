//! Code generation and window verification, beside the peer crate `totp-rs` and the
//! raw SHA-1 compression that bounds any HMAC-SHA-1 code from below.
//!
//! `python3 scripts/bench_table.py` turns the results into the README's ratio table.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use otpfob::{Algorithm, Code, Hotp, HotpParameters, Secret, Totp, TotpParameters, Window};

const KEY: &[u8; 20] = b"12345678901234567890";
const TIME: u64 = 1_111_111_109;

fn floor(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("floor");
    group.bench_function("sha1_compress", |bencher| {
        let block = [0x5au8; 64];
        let mut state = [
            0x6745_2301,
            0xefcd_ab89,
            0x98ba_dcfe,
            0x1032_5476,
            0xc3d2_e1f0,
        ];
        bencher.iter(|| {
            sha1::block_api::compress(&mut state, black_box(&[block]));
            black_box(state[0])
        });
    });
    // The same compression fed a block made from the previous state, as HMAC's outer
    // hash is fed the inner digest: the block's loads and message schedule now wait
    // for the state, which the constant-block floor above lets the processor skip.
    group.bench_function("sha1_compress_dependent_block", |bencher| {
        let mut state: [u32; 5] = [
            0x6745_2301,
            0xefcd_ab89,
            0x98ba_dcfe,
            0x1032_5476,
            0xc3d2_e1f0,
        ];
        bencher.iter(|| {
            let mut block = [0u8; 64];
            for (bytes, word) in block.chunks_exact_mut(4).zip(state) {
                bytes.copy_from_slice(&word.to_be_bytes());
            }
            block[20] = 0x80;
            block[62] = 0x02;
            block[63] = 0xa0;
            sha1::block_api::compress(&mut state, &[block]);
            black_box(state[0])
        });
    });
    group.finish();
}

fn generate(criterion: &mut Criterion) {
    let secret = Secret::from_bytes(KEY).expect("non-empty key");
    let mut group = criterion.benchmark_group("generate");
    for algorithm in Algorithm::ALL {
        let hotp = Hotp::new(
            &secret,
            HotpParameters {
                algorithm,
                digits: 6,
            },
        )
        .expect("valid parameters");
        group.bench_function(format!("otpfob_hotp_{}", algorithm.name()), |bencher| {
            bencher.iter(|| hotp.at(black_box(1_000_000)))
        });
        let totp = Totp::new(
            &secret,
            TotpParameters {
                algorithm,
                ..TotpParameters::default()
            },
        )
        .expect("valid parameters");
        group.bench_function(format!("otpfob_totp_{}", algorithm.name()), |bencher| {
            bencher.iter(|| totp.at(black_box(TIME)))
        });
    }
    let peer = peer_totp();
    group.bench_function("totp-rs_totp_SHA1", |bencher| {
        bencher.iter(|| peer.generate(black_box(TIME)))
    });
    group.finish();
}

fn verify_miss(criterion: &mut Criterion) {
    let secret = Secret::from_bytes(KEY).expect("non-empty key");
    let totp = Totp::new(&secret, TotpParameters::default()).expect("valid parameters");
    // A code that matches none of the three steps: the worst case, every step computed.
    let wrong = (0..1_000_000u32)
        .map(|value| Code::new(value, 6).expect("six digits"))
        .find(|code| totp.verify(code, TIME, Window::symmetric(1)).is_err())
        .expect("a code outside the window");
    let wrong_text = wrong.to_string();
    let mut group = criterion.benchmark_group("verify_miss_skew1");
    group.bench_function("otpfob_totp_SHA1", |bencher| {
        bencher.iter(|| totp.verify(black_box(&wrong), black_box(TIME), Window::symmetric(1)))
    });
    group.bench_function("otpfob_parse_and_totp_SHA1", |bencher| {
        bencher.iter(|| {
            let code = Code::parse(black_box(&wrong_text), 6).expect("six digits");
            totp.verify(&code, black_box(TIME), Window::symmetric(1))
        })
    });
    let peer = peer_totp();
    group.bench_function("totp-rs_check_SHA1", |bencher| {
        bencher.iter(|| peer.check(black_box(&wrong_text), black_box(TIME)))
    });
    group.finish();
}

fn peer_totp() -> totp_rs::Totp {
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(KEY.to_vec())
        .build()
        .expect("an RFC-compliant configuration")
}

criterion_group!(benches, floor, generate, verify_miss);
criterion_main!(benches);
