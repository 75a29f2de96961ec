"""Cashier PINs at rest: salted PBKDF2 (bearer tokens are in service/tokens.py).

The till verifies PINs offline with the same PBKDF2 parameters (web_till/pin.js).
"""
from __future__ import annotations

import hashlib
import secrets

PIN_ITERATIONS = 100_000


def new_salt() -> str:
    return secrets.token_hex(16)


def pin_hash(pin: str, salt: str, iterations: int = PIN_ITERATIONS) -> str:
    """PBKDF2-HMAC-SHA256 of a PIN (hex); short secrets need the slow hash."""
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), iterations).hex()
