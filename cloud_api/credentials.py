"""Secrets at rest: bearer tokens kept as digests, PINs as salted PBKDF2.

Used by the cloud (owner tokens, enrolment tokens, gateway API keys, cashier
PINs) and by the gateway (till tokens, pairing codes). The till verifies PINs
offline with the same PBKDF2 parameters (web_till/pin.js).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

PIN_ITERATIONS = 100_000


def new_token() -> str:
    """A bearer token with 256 bits of entropy."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """What we store for a high-entropy token: its SHA-256 (no salt needed at 256 bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Compare digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())


def new_salt() -> str:
    return secrets.token_hex(16)


def pin_hash(pin: str, salt: str, iterations: int = PIN_ITERATIONS) -> str:
    """PBKDF2-HMAC-SHA256 of a PIN (hex); short secrets need the slow hash."""
    return hashlib.pbkdf2_hmac("sha256", pin.encode(), bytes.fromhex(salt), iterations).hex()
