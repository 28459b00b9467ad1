#!/usr/bin/env python3
"""Rewrite `otpfob::Name` / `crate::Name` paths to the two-tier public API of issue 12.

Usage: scripts/api-moves.py FILE...   (the `crate::` form is rewritten only in library files)
Kept so that branches written against the flat root can be moved with one command.
"""
import re, sys

MOVES = {
    "clock": "Drift OffsetClock",
    "code": "Grouped MAX_CODE_DIGITS MIN_CODE_DIGITS",
    "hotp": "MAX_OTP_DIGITS MIN_OTP_DIGITS dynamic_truncate",
    "totp": "StepMatch",
    "secret": "DEFAULT_GENERATED_BITS MIN_GENERATED_BITS",
    "mac": "KeyedMac MacOutput",
    "text": "escape_invisible is_invisible_character",
    "device": "ChallengeContext ChallengeResponder Crystal DEFAULT_LIFETIME DEFAULT_PIN_TRIES DeviceKind "
              "DeviceState FactoryRecord KeyFobBuilder MAX_DRIFT_PPM MAX_PIN_DIGITS MAX_SERIAL_LEN "
              "MIN_PIN_DIGITS OtpMode Reading Screen SerialNumber UNLOCK_CODE_DIGITS UnlockChallenge "
              "unlock_code Fleet FleetBuilder",
    "ocra": "Challenge Currency FullMac MAX_TRANSACTION_FIELD_BYTES Ocra OcraInput OcraMatch OcraQuestion "
            "OcraResponse OcraSuite OcraWindow Password QuestionFormat QuestionKind SigningNonce TimeStep "
            "TimeUnit Timestamp Transaction DataInputPart OcraError OcraVerifyError SuiteError TransactionError",
    "provision": "KeyUriOptions MAX_KEY_URI_LEN MAX_KEY_URI_PERIOD MIN_IMPORTED_SECRET_BITS QrError "
                 "MAX_QR_MODULE_PIXELS QrCode TerminalBackground",
    "pskc": "PSKC_HOTP PSKC_TOTP ProvisionedToken PskcContainer PskcCredential PskcDeviceInfo PskcEncoding "
            "PskcEnrolled PskcEnrolment PskcKey PskcLimits PskcPinPolicy PskcPolicy PskcProtection "
            "PskcRefused PskcResponseFormat read_pskc read_pskc_with_limits write_pskc PskcEnrolError PskcError",
    "store": "DEFAULT_AUDIT_CAPACITY DEFAULT_PG_POOL_SIZE DEFAULT_PG_SCHEMA DEFAULT_PG_TIMEOUT "
             "POSTGRES_SCHEMA_VERSION SQLITE_SCHEMA_VERSION",
    "validator": "AuditEvent AuditLog AuditSink Operation Outcome ChallengeSlot IssuedChallenge OcraEnrolment "
                 "OcraState TransactionCommitment Decision Verdict decide decide_resync OcraAttempt decide_ocra "
                 "MAX_PIN_CHARS MIN_PIN_CHARS PinHash PinHashing DEFAULT_CHALLENGE_LIFETIME Lockout "
                 "MAX_CHALLENGE_LIFETIME MAX_WINDOW Lock MAX_TOKEN_ID_LEN Status TokenKind TokenRecord "
                 "TokenState SEALING_KEY_LEN SealedSecret DEFAULT_GENERATOR_CACHE MAX_ATTEMPTS Store Swap",
}
MODULE = {name: module for module, names in MOVES.items() for name in names.split()}


def split_top(s):
    parts, depth, cur = [], 0, ""
    for ch in s:
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


GROUP = re.compile(r"(?P<root>otpfob|crate)::\{(?P<body>[^{}]*(?:\{[^{}]*\}[^{}]*)*)\}")


def rewrite_group(match, library):
    root = match["root"]
    if root == "crate" and not library:
        return match[0]
    body = match["body"]
    # Doc-comment prefixes inside a multi-line group.
    body = re.sub(r"\n\s*(///|//!)", "\n", body)
    items = split_top(body)
    core, grouped, changed = [], {}, False
    for item in items:
        head = re.match(r"(\w+)", item)
        name = head.group(1) if head else None
        if name in MODULE and "::" not in item:
            grouped.setdefault(MODULE[name], []).append(item)
            changed = True
        else:
            core.append(item)
    if not changed:
        return match[0]
    for module, names in grouped.items():
        # Merge into an existing `module::{..}` / `module::X` item if there is one.
        core.append(f"{module}::{{{', '.join(names)}}}" if len(names) > 1 else f"{module}::{names[0]}")
    if len(core) == 1:
        return f"{root}::{core[0]}"
    return f"{root}::{{{', '.join(core)}}}"


SINGLE = re.compile(r"\b(?P<root>otpfob|crate)::(?P<name>\w+)\b(?!::\{)")


def rewrite_single(match, library):
    if match["root"] == "crate" and not library:
        return match[0]
    name = match["name"]
    if name in MODULE:
        return f"{match['root']}::{MODULE[name]}::{name}"
    return match[0]


for path in sys.argv[1:]:
    library = path.startswith("src/") and not (path.startswith("src/cli") or path == "src/main.rs")
    text = open(path).read()
    new = GROUP.sub(lambda m: rewrite_group(m, library), text)
    new = SINGLE.sub(lambda m: rewrite_single(m, library), new)
    if new != text:
        open(path, "w").write(new)
        print("rewrote", path)
