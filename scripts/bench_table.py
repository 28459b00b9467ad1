#!/usr/bin/env python3
"""Prints the README's benchmark table from criterion's results in target/criterion.

Run after `cargo bench --bench otp`. Every ratio compares numbers from the same run.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parent.parent / "target" / "criterion"


def mean_ns(group, name):
    path = ROOT / group / name / "new" / "estimates.json"
    try:
        return json.loads(path.read_text())["mean"]["point_estimate"]
    except FileNotFoundError:
        sys.exit(f"missing {path}: run `cargo bench --bench otp` first")


compress = mean_ns("floor", "sha1_compress")
dependent = mean_ns("floor", "sha1_compress_dependent_block")
rows = [
    ("one SHA-1 compression (the floor)", mean_ns("floor", "sha1_compress"), 1),
    ("one SHA-1 compression of a block made from the previous state", dependent, 1),
]
for algorithm in ("SHA1", "SHA256", "SHA512"):
    # Ratios are to SHA-1 compressions, so only the SHA-1 rows get one.
    compressions = 2 if algorithm == "SHA1" else None
    rows.append((f"otpfob HOTP {algorithm}", mean_ns("generate", f"otpfob_hotp_{algorithm}"), compressions))
    rows.append((f"otpfob TOTP {algorithm}", mean_ns("generate", f"otpfob_totp_{algorithm}"), compressions))
rows.append(("totp-rs TOTP SHA1 `generate`", mean_ns("generate", "totp-rs_totp_SHA1"), 2))
rows.append(("otpfob TOTP SHA1 ±1 step, miss", mean_ns("verify_miss_skew1", "otpfob_totp_SHA1"), 6))
rows.append(
    ("otpfob parse + TOTP SHA1 ±1 step, miss", mean_ns("verify_miss_skew1", "otpfob_parse_and_totp_SHA1"), 6)
)
rows.append(("totp-rs `check` skew 1, miss", mean_ns("verify_miss_skew1", "totp-rs_check_SHA1"), 6))

peer_check = mean_ns("verify_miss_skew1", "totp-rs_check_SHA1")
print("| operation | mean | compressions needed | ÷ that many floors | ÷ that many dependent-block floors |")
print("|---|---:|---:|---:|---:|")
for name, value, compressions in rows:
    if compressions is None:
        print(f"| {name} | {value:.1f} ns | | | |")
        continue
    print(
        f"| {name} | {value:.1f} ns | {compressions} | {value / (compressions * compress):.2f}x"
        f" | {value / (compressions * dependent):.2f}x |"
    )
ours = mean_ns("verify_miss_skew1", "otpfob_totp_SHA1")
print(f"\notpfob's ±1 miss is {peer_check / ours:.2f}x faster than totp-rs `check`; "
      f"generation is {mean_ns('generate', 'totp-rs_totp_SHA1') / mean_ns('generate', 'otpfob_totp_SHA1'):.2f}x faster.")
