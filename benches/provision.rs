//! Provisioning costs: reading and writing key URIs, rendering their QR codes, and
//! reading RFC 6030 PSKC files (plaintext, and under a pre-shared key where the MAC
//! check and AES decryption add to the XML work).
//!
//! `cargo bench --bench provision --all-features -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use otpfob::KeyUri;

const URI: &str = "otpauth://totp/Example%20Bank:alice%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Example%20Bank&algorithm=SHA256&digits=8&period=60";

fn key_uri(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("key_uri");
    group.bench_function("parse", |bencher| {
        bencher.iter(|| KeyUri::parse(black_box(URI)).map(|uri| uri.parameters()))
    });
    let uri = KeyUri::parse(URI).unwrap();
    group.bench_function("to_uri", |bencher| {
        bencher.iter(|| black_box(&uri).to_uri())
    });
    group.finish();
}

#[cfg(feature = "qr")]
fn qr(criterion: &mut Criterion) {
    let uri = KeyUri::parse(URI).unwrap();
    let mut group = criterion.benchmark_group("qr");
    group.bench_function("encode", |bencher| {
        bencher.iter(|| black_box(&uri).to_qr_code().map(|code| code.width()))
    });
    let code = uri.to_qr_code().unwrap();
    group.bench_function("png_4px", |bencher| {
        bencher.iter(|| black_box(&code).to_png(4).map(|png| png.len()))
    });
    group.bench_function("svg", |bencher| {
        bencher.iter(|| black_box(&code).to_svg(4).map(|svg| svg.len()))
    });
    group.bench_function("terminal", |bencher| {
        bencher.iter(|| {
            black_box(&code)
                .to_terminal(otpfob::provision::TerminalBackground::Dark)
                .len()
        })
    });
    group.finish();
}

#[cfg(not(feature = "qr"))]
fn qr(_: &mut Criterion) {}

#[cfg(feature = "pskc")]
fn pskc(criterion: &mut Criterion) {
    use otpfob::{
        Secret,
        pskc::{PskcCredential, read_pskc},
    };
    let data = |name: &str| {
        std::fs::read(format!(
            "{}/tests/data/pskc/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    };
    let bulk = data("figure10.xml");
    let encrypted = data("figure6.xml");
    let key =
        PskcCredential::PreSharedKey(Secret::from_hex("12345678901234567890123456789012").unwrap());
    let mut group = criterion.benchmark_group("pskc");
    group.bench_function("read_figure10_four_plaintext_keys", |bencher| {
        bencher.iter(|| read_pskc(black_box(&bulk), &PskcCredential::None).map(|c| c.keys.len()))
    });
    group.bench_function("read_figure6_pre_shared_key", |bencher| {
        bencher.iter(|| read_pskc(black_box(&encrypted), &key).map(|c| c.keys.len()))
    });
    // PBKDF2-HMAC-SHA1 with the figure's 1000 iterations dominates this one.
    let password_protected = data("figure7.xml");
    let password = PskcCredential::Password(Secret::from_bytes(b"qwerty").unwrap());
    group.bench_function("read_figure7_password_1000_iterations", |bencher| {
        bencher.iter(|| read_pskc(black_box(&password_protected), &password).map(|c| c.keys.len()))
    });
    group.finish();
}

#[cfg(not(feature = "pskc"))]
fn pskc(_: &mut Criterion) {}

criterion_group!(benches, key_uri, qr, pskc);
criterion_main!(benches);
