"""Run by make-fixtures inside privacyIDEA's virtualenv: otpfob enrols, uses and
exports the tokens of seeds.csv; privacyIDEA imports each export as its /token/load
endpoint does and answers the last code otpfob accepted and the next one. Writes
answers.txt, one line per code shown to privacyIDEA:

    format serial counter_or_step unix_time code accepted|rejected

Codes are made with privacyIDEA's own HmacOtp.

    python import-and-check.py OTPFOB_BINARY FIXTURE_DIRECTORY WORK_DIRECTORY
"""

import binascii
import hashlib
import os
import shutil
import subprocess
import sys
import time

from privacyidea.app import create_app
from privacyidea.lib.importotp import parseOATHcsv, parsePSKCdata
from privacyidea.lib.token import check_serial_pass, import_token, remove_token
from privacyidea.lib.tokens.HMAC import HmacOtp
from privacyidea.models import db

otpfob, here, work = sys.argv[1:4]
database = os.path.join(work, "otpfob.sqlite")
env = dict(os.environ, OTPFOB_SEALING_KEY="00" * 32)  # a fixture-only sealing key
SHA = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}

# serial, type, digits, time step (TOTP), hash, secret: as seeds.csv (LinOTP CSV).
TOKENS = []
for line in open(os.path.join(here, "seeds.csv")):
    if line.startswith("#") or not line.strip():
        continue
    serial, key, kind, digits, step, hash_name = [field.strip() for field in line.split(",")]
    TOKENS.append((serial, kind, int(digits), int(step), hash_name, key))


def code(key, hash_name, digits, counter):
    return HmacOtp(digits=digits, hashfunc=SHA[hash_name]).generate(
        counter=counter, key=binascii.unhexlify(key))


def run(*arguments):
    subprocess.run([otpfob, *arguments], env=env, check=True, stdout=subprocess.DEVNULL)


# 1. otpfob: enrol, use, export.
run("migrate", "linotp-csv", os.path.join(here, "seeds.csv"), "--apply", "--database", database)
last = {}
for serial, kind, digits, step, hash_name, key in TOKENS:
    counters = range(3) if kind == "hotp" else [int(time.time()) // step]
    for counter in counters:
        run("verify", "--database", database, "--token", serial,
            code(key, hash_name, digits, counter))
    last[serial] = counters[-1]
psk = os.path.join(work, "psk")
shutil.copy(os.path.join(here, "psk.hex"), psk)
os.chmod(psk, 0o600)
for name in ["export.csv", "export.pskcxml"]:
    if os.path.exists(os.path.join(here, name)):
        os.remove(os.path.join(here, name))
run("export", "oath-csv", "--database", database, "--actor", "fixtures",
    "--out", os.path.join(here, "export.csv"))
run("export", "pskc", "--database", database, "--actor", "fixtures", "--psk-file", psk,
    "--out", os.path.join(here, "export.pskcxml"))

# 2. privacyIDEA: import each file, show it the last and the next code of each token.
lines = []
app = create_app("production", config_file=os.environ["PRIVACYIDEA_CONFIGFILE"], silent=True)
with app.app_context():
    db.create_all()
    psk_hex = open(os.path.join(here, "psk.hex")).read().strip()
    for name in ["export.csv", "export.pskcxml"]:
        text = open(os.path.join(here, name)).read()
        if name.endswith(".csv"):
            tokens, refused = parseOATHcsv(text), []
        else:
            tokens, refused = parsePSKCdata(text, preshared_key_hex=psk_hex,
                                            validate_mac="check_fail_hard")
        assert not refused, refused
        for serial in tokens:
            import_token(serial, tokens[serial])
        for serial, kind, digits, step, hash_name, key in TOKENS:
            if serial not in tokens:
                continue
            for counter in [last[serial], last[serial] + 1]:
                otp = code(key, hash_name, digits, counter)
                now = int(time.time())
                accepted, _ = check_serial_pass(serial, otp)
                lines.append(f"{name} {serial} {counter} {now} {otp} "
                             f"{'accepted' if accepted else 'rejected'}")
        for serial in tokens:
            remove_token(serial=serial)

with open(os.path.join(here, "answers.txt"), "w") as file:
    file.write("# file serial counter_or_step unix_time code verdict, as privacyIDEA answered\n")
    file.write("\n".join(lines) + "\n")
