"""Enrols and uses tokens in a privacyIDEA server (run by make-fixtures, inside its
virtualenv, with PRIVACYIDEA_CONFIGFILE set), and writes codes.txt: every code
privacyIDEA accepted (spent, so otpfob must refuse it after the import), with the
Unix time it was accepted at, one a line:

    serial  time  code  accepted|rejected

Codes are made with privacyIDEA's own HmacOtp, so the test checks otpfob against
what privacyIDEA itself computes.
"""

import binascii
import os
import sys
import time

from privacyidea.app import create_app
from privacyidea.lib.crypto import geturandom  # noqa: F401  (initialises the module)
from privacyidea.lib.decorators import check_user_or_serial  # noqa: F401
from privacyidea.lib.realm import set_realm
from privacyidea.lib.resolver import save_resolver
from privacyidea.lib.token import (check_serial_pass, enable_token, get_one_token, init_token,
                                   set_description, set_max_failcount,
                                   set_validity_period_end, set_validity_period_start)
from privacyidea.lib.tokens.HMAC import HmacOtp
from privacyidea.lib.user import User
from privacyidea.models import db
import hashlib

codes_path = sys.argv[1]
work = os.path.dirname(os.environ["PRIVACYIDEA_CONFIGFILE"])

SHA = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
SEED20 = binascii.hexlify(b"12345678901234567890").decode()
SEED32 = binascii.hexlify(b"12345678901234567890123456789012").decode()
SEED64 = binascii.hexlify(b"1234567890123456789012345678901234567890123456789012345678901234").decode()

# (serial, type, hash, digits, time step, seed, PIN)
TOKENS = [
    ("PI-HOTP-USED", "hotp", "sha1", 6, None, SEED20, "1234"),
    ("PI-HOTP-SHA256", "hotp", "sha256", 8, None, SEED32, None),
    ("PI-HOTP-FAILS", "hotp", "sha1", 6, None, SEED20, None),
    ("PI-HOTP-LOCKED", "hotp", "sha1", 6, None, SEED20, None),
    ("PI-HOTP-DISABLED", "hotp", "sha1", 6, None, SEED20, None),
    ("PI-TOTP-AHEAD", "totp", "sha1", 6, 30, SEED20, None),
    ("PI-TOTP-SHA256-60", "totp", "sha256", 8, 60, SEED32, None),
    ("PI-TOTP-SHA512", "totp", "sha512", 6, 30, SEED64, None),
    ("PI-HOTP-SHA512", "hotp", "sha512", 8, None, SEED64, None),
    ("PI-TOTP-8-60", "totp", "sha1", 8, 60, SEED20, None),
]

lines = []


def code(seed, hash_name, digits, counter):
    return HmacOtp(secObj=None, counter=counter, digits=digits,
                   hashfunc=SHA[hash_name]).generate(counter=counter, key=binascii.unhexlify(seed))


def attempt(serial, seed, hash_name, digits, counter, pin=None):
    otp = code(seed, hash_name, digits, counter)
    now = int(time.time())
    ok, _ = check_serial_pass(serial, (pin or "") + otp)
    lines.append(f"{serial} {now} {counter} {otp} {'accepted' if ok else 'rejected'}")
    return ok


app = create_app("production", config_file=os.environ["PRIVACYIDEA_CONFIGFILE"], silent=True)
with app.app_context():
    db.create_all()
    users = os.path.join(work, "users")
    with open(users, "w") as file:
        file.write("alice:x:1000:1000:Alice Customer,,,:/home/alice:/bin/sh\n"
                   "bob:x:1001:1001:Bob Customer,,,:/home/bob:/bin/sh\n")
    save_resolver({"resolver": "customers", "type": "passwdresolver", "fileName": users})
    set_realm("bank", [{"name": "customers"}])

    for serial, kind, hash_name, digits, step, seed, pin in TOKENS:
        parameters = {"serial": serial, "type": kind, "otpkey": seed, "hashlib": hash_name,
                      "otplen": digits, "description": f"{kind} {hash_name} fixture"}
        if step:
            parameters["timeStep"] = step
        if pin:
            parameters["pin"] = pin
        owner = User("alice", "bank") if serial.endswith("USED") or serial.endswith("AHEAD") else None
        init_token(parameters, user=owner)

    # Used: counters 0, 1, 2 accepted (behind the PIN), so the next code is counter 3.
    for counter in range(3):
        assert attempt("PI-HOTP-USED", SEED20, "sha1", 6, counter, pin="1234")
    set_validity_period_start("PI-HOTP-SHA256", None, "2026-01-01T00:00+0000")
    set_validity_period_end("PI-HOTP-SHA256", None, "2031-12-31T23:59+0000")
    # Three wrong codes: privacyIDEA counts three failures, the token stays usable.
    for _ in range(3):
        assert not attempt("PI-HOTP-FAILS", SEED20, "sha1", 6, 500)
    # Locked: a limit of 3 failures, reached.
    set_max_failcount("PI-HOTP-LOCKED", 3)
    for _ in range(3):
        assert not attempt("PI-HOTP-LOCKED", SEED20, "sha1", 6, 500)
    # Disabled by an administrator after one login.
    assert attempt("PI-HOTP-DISABLED", SEED20, "sha1", 6, 0)
    enable_token("PI-HOTP-DISABLED", enable=False)

    # A time token whose clock runs two steps (60 s) ahead: privacyIDEA learns the
    # shift from the accepted code.
    step = int(time.time()) // 30
    assert attempt("PI-TOTP-AHEAD", SEED20, "sha1", 6, step + 2)
    step = int(time.time()) // 30
    assert attempt("PI-TOTP-SHA512", SEED64, "sha512", 6, step)
    # SHA-512 events: counters 0 and 1 accepted; an 8-digit, 60 s time token used once.
    for counter in range(2):
        assert attempt("PI-HOTP-SHA512", SEED64, "sha512", 8, counter)
    step = int(time.time()) // 60
    assert attempt("PI-TOTP-8-60", SEED20, "sha1", 8, step)

with open(codes_path, "w") as file:
    file.write("# serial unix_time counter_or_step code verdict, as privacyIDEA answered\n")
    file.write("\n".join(lines) + "\n")
