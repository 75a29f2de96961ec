"""Bearer tokens at rest: kept as digests, compared in constant time.

Used by the cloud (owner tokens, enrolment tokens, gateway API keys) and the
shop box (till tokens, pairing codes).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token() -> str:
    """A bearer token with 256 bits of entropy that never starts with '-'.

    A leading '-' would make `posline-gateway provision --enrol-token TOKEN` read
    the token as an option, so such draws are made again (about 1 in 64).
    """
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


def token_digest(token: str) -> str:
    """What we store for a high-entropy token: its SHA-256 (no salt needed at 256 bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    """Compare digests in constant time."""
    return hmac.compare_digest(a.encode(), b.encode())
