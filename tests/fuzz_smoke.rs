//! A short, stable-Rust smoke run of every fuzz target in `fuzz/`: the same bodies
//! (`fuzz/src/lib.rs`), fed the seed corpus (`fuzz/corpus/TARGET/seed-*`), then a
//! few thousand random inputs and random mutations of the seeds. `scripts/fuzz-smoke`
//! runs it; `cargo +nightly fuzz run TARGET` runs the real fuzzers for longer.
#![cfg(feature = "pskc")]

#[allow(unreachable_pub, dead_code)]
#[path = "../fuzz/src/lib.rs"]
mod bodies;

use proptest::prelude::*;

type Body = fn(&[u8]);

const TARGETS: [(&str, Body); 6] = [
    ("key_uri", bodies::key_uri),
    ("pskc_plain", bodies::pskc_plain),
    ("pskc_psk", bodies::pskc_psk),
    ("code_parse", bodies::code_parse),
    ("secret_base32", bodies::secret_base32),
    ("ocra_suite", bodies::ocra_suite),
];

fn seeds(target: &str) -> Vec<Vec<u8>> {
    let directory = format!("{}/fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
    let mut seeds: Vec<(String, Vec<u8>)> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("{directory}: {error}"))
        .map(|entry| {
            let path = entry.unwrap().path();
            (path.display().to_string(), std::fs::read(&path).unwrap())
        })
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "{directory} has no seeds");
    seeds.into_iter().map(|(_, bytes)| bytes).collect()
}

fn body(target: &str) -> Body {
    TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, body)| *body)
        .unwrap()
}

#[test]
fn every_target_runs_its_seed_corpus() {
    for (target, body) in TARGETS {
        for seed in seeds(target) {
            body(&seed);
        }
    }
}

/// A seed edited at random: bytes replaced, inserted, removed, and cut short.
#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    /// Splices in one of the characters that parsers treat specially.
    Special(usize, usize),
}

const SPECIAL: [&[u8]; 12] = [
    b"<",
    b">",
    b"&",
    b"&amp;",
    b"\"",
    b"=",
    b"%",
    b"%00",
    b":",
    b"-",
    b"\xff",
    b"\xc3\xa9",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Replace(at, byte)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Edit::Insert(at, byte)),
        any::<usize>().prop_map(Edit::Remove),
        any::<usize>().prop_map(Edit::Truncate),
        (any::<usize>(), 0..SPECIAL.len()).prop_map(|(at, which)| Edit::Special(at, which)),
    ]
}

fn mutate(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len();
        match *edit {
            Edit::Replace(at, byte) if len > 0 => bytes[at % len] = byte,
            Edit::Insert(at, byte) => bytes.insert(at % (len + 1), byte),
            Edit::Remove(at) if len > 0 => {
                bytes.remove(at % len);
            }
            Edit::Truncate(at) => bytes.truncate(at % (len + 1)),
            Edit::Special(at, which) => {
                let at = at % (len + 1);
                bytes.splice(at..at, SPECIAL[which].iter().copied());
            }
            _ => {}
        }
    }
    bytes
}

fn check_mutations(target: &'static str, cases: u32) {
    let seeds = seeds(target);
    let body = body(target);
    proptest!(ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() },
    |(index in any::<usize>(), edits in prop::collection::vec(edit(), 1..8))| {
        body(&mutate(seeds[index % seeds.len()].clone(), &edits));
    });
}

fn check_random(target: &'static str, cases: u32) {
    let body = body(target);
    proptest!(ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() },
    |(bytes in prop::collection::vec(any::<u8>(), 0..256), text in "\\PC{0,64}")| {
        body(&bytes);
        body(text.as_bytes());
    });
}

#[test]
fn key_uri_survives_mutations_and_noise() {
    check_mutations("key_uri", 3000);
    check_random("key_uri", 1000);
}

#[test]
fn pskc_plain_survives_mutations_and_noise() {
    check_mutations("pskc_plain", 1500);
    check_random("pskc_plain", 500);
}

#[test]
fn pskc_psk_survives_mutations_and_noise() {
    check_mutations("pskc_psk", 1500);
    check_random("pskc_psk", 500);
}

#[test]
fn code_parse_survives_mutations_and_noise() {
    check_mutations("code_parse", 3000);
    check_random("code_parse", 1000);
}

#[test]
fn secret_base32_survives_mutations_and_noise() {
    check_mutations("secret_base32", 3000);
    check_random("secret_base32", 1000);
}

#[test]
fn ocra_suite_survives_mutations_and_noise() {
    check_mutations("ocra_suite", 3000);
    check_random("ocra_suite", 1000);
}
