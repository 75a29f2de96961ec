"""The FBR / PRA bearer token at rest: Fernet-encrypted in the database, the key in its own file.

The cloud sends the token in the catalog it gives this box (Catalog.fiscal_token). The box keeps
only its ciphertext (the `box` table, key `fiscal_token`) and the key in `<state_dir>/fiscal.key`
(0600, the box's user only). A copy of the database alone (an SD card read in another machine, a
backup file) does not give the token away.

The key is kept out of the nightly backup (gateway/backup.py carries the database and the CA only),
for the same reason: a backup file that leaks must not carry both halves. Nothing is lost by it: a
box restored without the key cannot read the old ciphertext, and pull_catalog then asks the cloud
for the whole catalog again (no ETag), which brings the token back under a fresh key.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

KEY_NAME = "fiscal.key"


def key_path(state_dir: Path) -> Path:
    return state_dir / KEY_NAME


def _fernet(state_dir: Path, create: bool) -> Fernet | None:
    path = key_path(state_dir)
    if not path.exists():
        if not create:
            return None
        _make_key(path)
    if path.stat().st_mode & 0o077:   # a permissive copy: the box's user only (never a needless write)
        os.chmod(path, 0o600)
    return Fernet(path.read_bytes().strip())


def _make_key(path: Path) -> None:
    """Put a new key in place, whole or not at all.

    It is written and synced under a name of its own (0600 from birth), then hard-linked to its real
    name: link() fails if the name exists, so of two processes racing (serve and a CLI) the first to
    link wins and the other reads the winner's key, which is complete by then (a loser never sees a
    half-written or empty file, as it could with O_EXCL on the real name).
    """
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(Fernet.generate_key())
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass   # another process's key is in place: use it
    finally:
        temporary.unlink(missing_ok=True)


def encrypt(state_dir: Path, token: str) -> str:
    """The token's ciphertext (text), making the key on first use."""
    fernet = _fernet(state_dir, create=True)
    assert fernet is not None
    return fernet.encrypt(token.encode()).decode()


def decrypt(state_dir: Path, ciphertext: str | None) -> str | None:
    """The token, or None when there is none or it cannot be read (no key, another box's key)."""
    if not ciphertext:
        return None
    fernet = _fernet(state_dir, create=False)
    if fernet is None:
        return None
    try:
        return fernet.decrypt(ciphertext.encode()).decode()
    except (InvalidToken, ValueError):
        return None
