"""Cashier PINs at rest: salted PBKDF2 (bearer tokens are in service/tokens.py).

The till verifies PINs offline with the same PBKDF2 parameters (web_till/pin.js),
so every tablet holds each cashier's salt and hash: a stolen tablet's storage can
be guessed at offline, with no attempt limit. The policy and the cost are chosen
so that this takes more than a day of one core (issue 6, item 5):

- a PIN is PIN_MIN_DIGITS to PIN_MAX_DIGITS digits: at least 10^6 PINs;
- PIN_ITERATIONS = 1,200,000 rounds of PBKDF2-HMAC-SHA256. One core does about
  4.5 million rounds a second (Python's hashlib/OpenSSL, measured on the test
  machine: 1.2M rounds in 0.26-0.27 s), so the whole 6-digit space is
  10^6 x 1.2M / 4.5M/s = 266,667 s = 74 hours, and a PIN falls on average
  in half that, 37 hours. (The old 4 digits at 100,000 rounds fell in ~4 minutes.)
  Each extra digit multiplies that by ten. A sign-in pays one derivation (0.27 s
  on that core; more on a Raspberry Pi or a cheap tablet): the till asks who is
  signing in first, so it never derives once per cashier.

Cashiers saved before this policy keep their hash and its iteration count (the
catalog carries `pin_iterations` per cashier) until the owner sets a new PIN.
"""
from __future__ import annotations

import hashlib
import secrets

PIN_MIN_DIGITS, PIN_MAX_DIGITS = 6, 12
PIN_PATTERN = rf"^[0-9]{{{PIN_MIN_DIGITS},{PIN_MAX_DIGITS}}}$"
PIN_POLICY = f"a cashier PIN must be {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits"
PIN_ITERATIONS = 1_200_000


def new_salt() -> str:
    return secrets.token_hex(16)


def pin_hash(pin: str, salt: str, iterations: int = PIN_ITERATIONS) -> str:
    """PBKDF2-HMAC-SHA256 of a PIN (hex); short secrets need the slow hash (~0.3 s: call it from a thread)."""
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), iterations).hex()


def pin_matches(pin: str, salt: str, iterations: int, expected: str) -> bool:
    """Whether `pin` is the one hashed as `expected` (constant-time compare; slow: call it from a thread)."""
    return secrets.compare_digest(pin_hash(pin, salt, iterations), expected)
