//! `otpfob hotp` and `otpfob totp` against `oathtool`: every expected output below
//! is what `oathtool` 2.6.7 printed for the same arguments (with `--totp[=MODE]` for
//! `totp`), captured by `scripts/oathtool-compare`, which reruns the comparison on a
//! machine with oathtool. These tests do not need oathtool.
#![cfg(feature = "cli")]

use std::process::{Command, Output};

const K: &str = "3132333435363738393031323334353637383930";
const K32: &str = "3132333435363738393031323334353637383930313233343536373839303132";
const K64: &str = "31323334353637383930313233343536373839303132333435363738393031323334353637383930313233343536373839303132333435363738393031323334";

fn otpfob(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_otpfob"))
        .args(arguments)
        .env("RUST_BACKTRACE", "1")
        .output()
        .unwrap()
}

/// Arguments separated by `|`, with the RFC keys by name.
fn arguments(spec: &str) -> Vec<String> {
    spec.split('|')
        .map(|argument| {
            argument
                .replace("{K64}", K64)
                .replace("{K32}", K32)
                .replace("{K}", K)
        })
        .collect()
}

/// (arguments, oathtool's standard output, its exit status, its message on standard
/// error after `oathtool: `). The RFC 4226 and RFC 6238 vectors, windows, counters in
/// every base oathtool reads, time steps, start times, every time form, verbose
/// output, and searches that find and that fail. (`-N "2005-03-18 01:58:29 UTC" -w
/// 10000000` finding 89005924 at 4115227, from oathtool's manual, matches too, but
/// takes seconds in a debug build: it is in scripts/oathtool-compare only.)
const CASES: &[(&str, &str, i32, &str)] = &[
    ("hotp|{K}", "755224\n", 0, ""),
    (
        "hotp|-w|9|{K}",
        "755224\n287082\n359152\n969429\n338314\n254676\n287922\n162583\n399871\n520489\n",
        0,
        "",
    ),
    ("hotp|-c|5|{K}", "254676\n", 0, ""),
    ("hotp|-c|0x10|-w|2|{K}", "186581\n447589\n903435\n", 0, ""),
    ("hotp|-c|010|{K}", "399871\n", 0, ""),
    ("hotp|-c|+5|{K}", "254676\n", 0, ""),
    ("hotp|-c|18446744073709551615|{K}", "094451\n", 0, ""),
    (
        "hotp|-d|7|-w|3|{K}",
        "4755224\n4287082\n7359152\n6969429\n",
        0,
        "",
    ),
    ("hotp|-d|8|-c|3|{K}", "26969429\n", 0, ""),
    ("hotp|-d|010|{K}", "84755224\n", 0, ""),
    ("hotp|-w|0x2|{K}", "755224\n287082\n359152\n", 0, ""),
    (
        "hotp|-w5|{K}",
        "755224\n287082\n359152\n969429\n338314\n254676\n",
        0,
        "",
    ),
    (
        "hotp|--window=3|--digits=8|{K}",
        "84755224\n94287082\n37359152\n26969429\n",
        0,
        "",
    ),
    (
        "hotp|-b|-w|3|GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "755224\n287082\n359152\n969429\n",
        0,
        "",
    ),
    ("hotp|-b|JBSWY3D", "812822\n", 0, ""),
    (
        "hotp|-v|{K}",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nDigits: 6\nWindow size: 0\nStart counter: 0x0 (0)\n\n755224\n",
        0,
        "",
    ),
    (
        "hotp|-v|-c|7|-w|2|{K}",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nDigits: 6\nWindow size: 2\nStart counter: 0x7 (7)\n\n162583\n399871\n520489\n",
        0,
        "",
    ),
    (
        "hotp|-v|-b|-d|8|JBSWY3DPEHPK3PXP",
        "Hex secret: 48656c6c6f21deadbeef\nBase32 secret: JBSWY3DPEHPK3PXP\nDigits: 8\nWindow size: 0\nStart counter: 0x0 (0)\n\n63282760\n",
        0,
        "",
    ),
    (
        "hotp|-v|ABCDEF",
        "Hex secret: abcdef\nBase32 secret: VPG66===\nDigits: 6\nWindow size: 0\nStart counter: 0x0 (0)\n\n910069\n",
        0,
        "",
    ),
    (
        "hotp|-v|-c|9223372036854775808|{K}",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nDigits: 6\nWindow size: 0\nStart counter: 0x8000000000000000 (9223372036854775808)\n\n959616\n",
        0,
        "",
    ),
    ("hotp|-w|10|{K}|969429", "3\n", 0, ""),
    ("hotp|-c|2|-w|10|{K}|969429", "1\n", 0, ""),
    (
        "hotp|-w|4|-v|{K}|338314",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nOTP: 338314\nDigits: 6\nWindow size: 4\nStart counter: 0x0 (0)\n\n4\n",
        0,
        "",
    ),
    ("hotp|-d|8|-w|3|{K}|37359152", "2\n", 0, ""),
    ("hotp|{K}|755224", "0\n", 0, ""),
    (
        "hotp|-c|5|-w|10|{K}|969429",
        "",
        2,
        "password \"969429\" not found in range 5 .. 15\n",
    ),
    (
        "hotp|-v|-c|5|-w|3|{K}|969429",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nOTP: 969429\nDigits: 6\nWindow size: 3\nStart counter: 0x5 (5)\n\n",
        2,
        "password \"969429\" not found in range 5 .. 8\n",
    ),
    (
        "hotp|{K}|000000",
        "",
        2,
        "password \"000000\" not found in range 0 .. 0\n",
    ),
    ("hotp|--hotp|-c|1|{K}", "287082\n", 0, ""),
    ("totp|-N|@59|-d|8|{K}", "94287082\n", 0, ""),
    ("totp|-N|@1111111109|-d|8|{K}", "07081804\n", 0, ""),
    ("totp|-N|@1111111111|-d|8|{K}", "14050471\n", 0, ""),
    ("totp|-N|@1234567890|-d|8|{K}", "89005924\n", 0, ""),
    ("totp|-N|@2000000000|-d|8|{K}", "69279037\n", 0, ""),
    ("totp|-N|@20000000000|-d|8|{K}", "65353130\n", 0, ""),
    ("totp|--totp=sha256|-N|@59|-d|8|{K32}", "46119246\n", 0, ""),
    (
        "totp|--totp=sha256|-N|@1111111109|-d|8|{K32}",
        "68084774\n",
        0,
        "",
    ),
    (
        "totp|--totp=SHA256|-N|@1234567890|-d|8|{K32}",
        "91819424\n",
        0,
        "",
    ),
    ("totp|--totp=sha512|-N|@59|-d|8|{K64}", "90693936\n", 0, ""),
    (
        "totp|--totp=sha512|-N|@2000000000|-d|8|{K64}",
        "38618901\n",
        0,
        "",
    ),
    (
        "totp|--totp=Sha512|-N|@20000000000|-d|8|{K64}",
        "47863826\n",
        0,
        "",
    ),
    (
        "totp|-v|-N|2033-05-18 03:33:20 UTC|-d8|{K}",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nDigits: 8\nWindow size: 0\nTOTP mode: SHA1\nStep size (seconds): 30\nStart time: 1970-01-01 00:00:00 UTC (0)\nCurrent time: 2033-05-18 03:33:20 UTC (2000000000)\nCounter: 0x3F940AA (66666666)\n\n69279037\n",
        0,
        "",
    ),
    (
        "totp|--totp=sha256|-v|-N|@1111111109|-d|8|{K32}",
        "Hex secret: 3132333435363738393031323334353637383930313233343536373839303132\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA====\nDigits: 8\nWindow size: 0\nTOTP mode: SHA256\nStep size (seconds): 30\nStart time: 1970-01-01 00:00:00 UTC (0)\nCurrent time: 2005-03-18 01:58:29 UTC (1111111109)\nCounter: 0x23523EC (37037036)\n\n68084774\n",
        0,
        "",
    ),
    (
        "totp|-v|-N|@1111111109|-S|@1111111000|-s|7|{K}",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nDigits: 6\nWindow size: 0\nTOTP mode: SHA1\nStep size (seconds): 7\nStart time: 2005-03-18 01:56:40 UTC (1111111000)\nCurrent time: 2005-03-18 01:58:29 UTC (1111111109)\nCounter: 0xF (15)\n\n436521\n",
        0,
        "",
    ),
    (
        "totp|-w|3|-N|@1111111109|-S|@1111111000|-s|7|{K}",
        "436521\n186581\n447589\n903435\n",
        0,
        "",
    ),
    (
        "totp|-w|3|-N|@59|{K}",
        "287082\n359152\n969429\n338314\n",
        0,
        "",
    ),
    ("totp|-N|2008-04-23 17:42:17 UTC|00", "974945\n", 0, ""),
    ("totp|-N|2005-03-18T01:58:29Z|{K}", "081804\n", 0, ""),
    ("totp|-N|2005-03-18 01:58:29 +01:00|{K}", "819795\n", 0, ""),
    ("totp|-N|2005-03-18 01:58:29 -0800|{K}", "954720\n", 0, ""),
    (
        "totp|-N|Sun, 29 Feb 2004 16:21:42 -0800|{K}",
        "991446\n",
        0,
        "",
    ),
    ("totp|-N|2005-03-18 01:58 GMT|{K}", "081804\n", 0, ""),
    ("totp|-N|@1111111109|-s|1m|{K}", "360094\n", 0, ""),
    ("totp|-N|@1111111109|-s|1m30s|{K}", "131842\n", 0, ""),
    ("totp|-N|@1111111109|-s|1h|{K}", "663450\n", 0, ""),
    ("totp|-N|@1111111109|-s|1d2h3m4s|{K}", "464245\n", 0, ""),
    ("totp|-N|@1111111109|-s|45|{K}", "974356\n", 0, ""),
    (
        "totp|-N|@1111111109|--time-step-size=90s|{K}",
        "131842\n",
        0,
        "",
    ),
    (
        "totp|-N|@1111111109|-S|1980-01-01 00:00:00 UTC|{K}",
        "915518\n",
        0,
        "",
    ),
    (
        "totp|-v|-N|@1111111109|-S|1980-01-01 00:00:00 UTC|-s|1m|{K}",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nDigits: 6\nWindow size: 0\nTOTP mode: SHA1\nStep size (seconds): 60\nStart time: 1980-01-01 00:00:00 UTC (315532800)\nCurrent time: 2005-03-18 01:58:29 UTC (1111111109)\nCounter: 0xCA5376 (13259638)\n\n671230\n",
        0,
        "",
    ),
    (
        "totp|-N|@1111111109|-b|GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
        "081804\n",
        0,
        "",
    ),
    ("totp|-w|5|-N|@1111111109|{K}|081804", "0\n", 0, ""),
    ("totp|-w|5|-N|@1111111199|{K}|081804", "3\n", 0, ""),
    ("totp|-w|5|-N|@1111111019|{K}|081804", "3\n", 0, ""),
    (
        "totp|-v|-w|5|-N|@1111111019|{K}|081804",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nOTP: 081804\nDigits: 6\nWindow size: 5\nTOTP mode: SHA1\nStep size (seconds): 30\nStart time: 1970-01-01 00:00:00 UTC (0)\nCurrent time: 2005-03-18 01:56:59 UTC (1111111019)\nCounter: 0x23523E9 (37037033)\n\n3\n",
        0,
        "",
    ),
    (
        "totp|-w|2|-N|@1111111209|{K}|081804",
        "",
        2,
        "password \"081804\" not found in range 37037039 .. 37037041\n",
    ),
    (
        "totp|-v|-w|2|-N|@1111111209|{K}|081804",
        "Hex secret: 3132333435363738393031323334353637383930\nBase32 secret: GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nOTP: 081804\nDigits: 6\nWindow size: 2\nTOTP mode: SHA1\nStep size (seconds): 30\nStart time: 1970-01-01 00:00:00 UTC (0)\nCurrent time: 2005-03-18 02:00:09 UTC (1111111209)\nCounter: 0x23523F0 (37037040)\n\n",
        2,
        "password \"081804\" not found in range 37037039 .. 37037041\n",
    ),
    ("totp|-N|@1111111109|{K}|081804", "0\n", 0, ""),
    ("totp|-N|@1111111109|-d|8|-w|1|{K}|07081804", "0\n", 0, ""),
    (
        "totp|--totp=sha512|-N|@1111111109|-w|1|{K64}|25091201",
        "0\n",
        0,
        "",
    ),
];

#[test]
fn output_is_oathtools_byte_for_byte() {
    for (spec, stdout, status, stderr) in CASES {
        let arguments = arguments(spec);
        let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
        let output = otpfob(&arguments);
        assert_eq!(
            String::from_utf8_lossy(&output.stdout),
            *stdout,
            "stdout of {spec}"
        );
        assert_eq!(output.status.code(), Some(*status), "status of {spec}");
        let expected_stderr = if stderr.is_empty() {
            String::new()
        } else {
            format!("otpfob: {stderr}")
        };
        assert_eq!(
            String::from_utf8_lossy(&output.stderr),
            expected_stderr,
            "stderr of {spec}"
        );
    }
}

/// RFC 4226 Appendix D: the ten codes of counters 0 to 9, with `-w 9` and one by one.
#[test]
fn rfc_4226_vectors() {
    let expected = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];
    let output = otpfob(&["hotp", "-w", "9", K]);
    assert_eq!(
        String::from_utf8(output.stdout).unwrap(),
        expected.join("\n") + "\n"
    );
    for (counter, code) in expected.iter().enumerate() {
        let counter = counter.to_string();
        let output = otpfob(&["hotp", "-c", &counter, K]);
        assert_eq!(
            String::from_utf8(output.stdout).unwrap(),
            format!("{code}\n")
        );
        let found = otpfob(&["hotp", "-w", "9", K, code]);
        assert_eq!(
            String::from_utf8(found.stdout).unwrap(),
            format!("{counter}\n")
        );
    }
}

/// RFC 6238 Appendix B: every time and hash.
#[test]
fn rfc_6238_vectors() {
    let times = [
        59,
        1_111_111_109,
        1_111_111_111,
        1_234_567_890,
        2_000_000_000,
        20_000_000_000u64,
    ];
    let table = [
        (
            "sha1",
            K,
            [
                "94287082", "07081804", "14050471", "89005924", "69279037", "65353130",
            ],
        ),
        (
            "sha256",
            K32,
            [
                "46119246", "68084774", "67062674", "91819424", "90698825", "77737706",
            ],
        ),
        (
            "sha512",
            K64,
            [
                "90693936", "25091201", "99943326", "93441116", "38618901", "47863826",
            ],
        ),
    ];
    for (algorithm, key, codes) in table {
        for (time, code) in times.iter().zip(codes) {
            let now = format!("@{time}");
            let mode = format!("--totp={algorithm}");
            let output = otpfob(&["totp", &mode, "-N", &now, "-d", "8", key]);
            assert_eq!(
                String::from_utf8(output.stdout).unwrap(),
                format!("{code}\n"),
                "{algorithm} {time}"
            );
            let output = otpfob(&["totp", "--algorithm", algorithm, "-N", &now, "-d", "8", key]);
            assert_eq!(
                String::from_utf8(output.stdout).unwrap(),
                format!("{code}\n")
            );
        }
    }
}

#[test]
fn keys_come_from_standard_input_or_a_file() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("key");
    std::fs::write(&file, format!("{K}\r\n287082\n")).unwrap();
    let from_file = format!("@{}", file.display());
    let output = otpfob(&["hotp", "-w", "3", &from_file, &from_file]);
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "1\n");

    let mut child = Command::new(env!("CARGO_BIN_EXE_otpfob"))
        .args(["hotp", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{K}\n755224\n").as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "0\n");
}

/// Bad input: one line on standard error, nothing on standard output, status 2, no
/// backtrace (RUST_BACKTRACE is set).
#[test]
fn bad_input_is_one_line_and_status_2() {
    let bad: &[&[&str]] = &[
        &["hotp"],
        &["hotp", "-d", "5", K],
        &["hotp", "-d", "11", K],
        &["hotp", "-c", "08", K],
        &["hotp", "-c", "-1", K],
        &["hotp", "-c", "18446744073709551616", K],
        &["hotp", "-w", "1", "-w", "2", K],
        &["hotp", "3132x3"],
        &["hotp", "313"],
        &["hotp", ""],
        &["hotp", "-b", "JBSWY3DPE"],
        &["hotp", "-d", "8", K, "1234567"],
        &["hotp", K, "1234"],
        &["hotp", K, "12a456"],
        &["hotp", K, "755224", "extra"],
        &["hotp", "--algorithm", "md5", K],
        &["hotp", "@/nonexistent/key"],
        &["totp", "--totp=md5", K],
        &["totp", "--totp=sha1", "--algorithm", "sha256", K],
        &["totp", "-N", "tomorrow", K],
        &["totp", "-N", "2005-03-18 01:58:29", K],
        &["totp", "-N", "@-5", K],
        &["totp", "-N", "\u{1b}[2J", K],
        &["totp", "-S", "@100", "-N", "@99", K],
        &["totp", "-s", "0", K],
        &["totp", "-s", "4294967296", K],
        &["totp", "-c", "5", K],
        &["hotp", "-N", "@5", K],
        &["frobnicate"],
        &[],
    ];
    for arguments in bad {
        let output = otpfob(arguments);
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(output.status.code(), Some(2), "{arguments:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{arguments:?}");
        assert!(stderr.starts_with("otpfob: "), "{arguments:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{arguments:?}: {stderr}");
        assert!(!stderr.contains('\u{1b}'), "{arguments:?}: {stderr}");
        assert!(!stderr.contains("backtrace"), "{arguments:?}: {stderr}");
        assert!(
            !stderr.contains(K),
            "the key is never in an error: {stderr}"
        );
    }
}

#[test]
fn help_and_version_succeed() {
    for arguments in [
        &["--help"][..],
        &["--version"],
        &["hotp", "--help"],
        &["totp", "-h"],
    ] {
        let output = otpfob(arguments);
        assert_eq!(output.status.code(), Some(0), "{arguments:?}");
        assert!(!output.stdout.is_empty());
    }
}

/// Counters of 2^63 and above are reported as they are, not as negative numbers; a
/// window is bounded (a search of 2^64 codes would never end); long values are
/// quoted to 40 characters.
#[test]
fn messages_report_numbers_unsigned_and_values_short() {
    let output = otpfob(&["hotp", "-c", "9223372036854775808", "-w", "3", K, "123456"]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "otpfob: password \"123456\" not found in range 9223372036854775808 .. 9223372036854775811\n"
    );
    let output = otpfob(&["hotp", "-c", "18446744073709551614", "-w", "3", K, "123456"]);
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "otpfob: password \"123456\" not found in range 18446744073709551614 .. 18446744073709551615\n"
    );
    for command in ["hotp", "totp"] {
        let output = otpfob(&[command, "-w", "18446744073709551615", K, "123456"]);
        assert_eq!(output.status.code(), Some(2));
        assert_eq!(
            String::from_utf8(output.stderr).unwrap(),
            "otpfob: window 18446744073709551615 is too wide: at most 1000000\n"
        );
    }
    let long = "A".repeat(100_000);
    let forty = "A".repeat(40);
    for (arguments, expected) in [
        (
            vec!["hotp", "--algorithm", &long, K],
            format!(
                "otpfob: unknown algorithm \"{forty}\"... (100000 characters): expected sha1, sha256 or sha512\n"
            ),
        ),
        (
            vec!["totp", "-N", &long, K],
            format!(
                "otpfob: cannot parse time \"{forty}\"... (100000 characters): use @UNIX_SECONDS, \"YYYY-MM-DD HH:MM:SS UTC\" (or another zone as +HHMM), or now\n"
            ),
        ),
        (
            vec!["hotp", "-w", &long, K],
            format!(
                "otpfob: invalid window \"{forty}\"... (100000 characters): expected a whole number\n"
            ),
        ),
    ] {
        let output = otpfob(&arguments);
        assert_eq!(output.status.code(), Some(2));
        assert_eq!(String::from_utf8(output.stderr).unwrap(), expected);
    }
}

/// A line of standard input is bounded like a file: `hotp - < /dev/zero` ends.
#[test]
#[cfg(unix)]
fn standard_input_is_bounded() {
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_otpfob"))
        .args(["hotp", "-"])
        .stdin(zero)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(output.stderr).unwrap(),
        "otpfob: the key on standard input is longer than 65536 bytes\n"
    );
}
