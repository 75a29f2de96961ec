"""The box's own certificate authority and its HTTPS server certificate.

A tablet reaches the box at https://posline.local/ (or its LAN address). Only a
secure context gives the till Web Crypto, a service worker, Web Locks and
persistent storage, so the box must serve HTTPS that the tablet trusts. No
public CA issues certificates for `.local` names or private addresses, so each
box has its own CA, which each tablet installs once through /setup.

That CA is name-constrained (RFC 5280, critical): it may only vouch for `.local`
names and private, link-local or loopback addresses. A tablet that trusts it
therefore trusts nothing else it could sign: a stolen CA key cannot impersonate
a bank or any public site.

Files, in <state_dir>/tls/ (directory 0700, keys 0600, written temp + rename):

    ca.key      the CA's private key; never leaves the box except in its backup
    ca.crt      the CA certificate (tablets download it as /ca.crt, DER)
    server.key  the HTTPS key
    server.crt  the HTTPS certificate, then the CA: a chain a browser can build

The server certificate is reissued (by the same CA, so tablets notice nothing)
when the box's LAN addresses or name change and 30 days before it expires.
`CertificateKeeper` loads new ones into the live SSL context: no restart.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from cloud_api.service.errors import ServiceError

from .network import PERMITTED_NETWORKS, IPAddress

TLS_DIR = "tls"
CA_YEARS = 20                       # outlives the box: tablets install the CA once
SERVER_DAYS = 397                   # what browsers accept of any leaf, in case a vendor extends the rule
RENEW_BEFORE = dt.timedelta(days=30)


class CertificateError(ServiceError):
    """The box's TLS files are missing or unreadable."""


@dataclass(frozen=True)
class ServerIdentity:
    """What the server certificate must name: the box's mDNS name and its LAN addresses."""

    hostname: str
    addresses: tuple[IPAddress, ...]

    @property
    def dns_name(self) -> str:
        return f"{self.hostname}.local"


def tls_dir(state_dir: Path) -> Path:
    return state_dir / TLS_DIR


def ensure_ca(state_dir: Path, label: str = "POS Line box") -> x509.Certificate:
    """The box's CA, created on first use (EC P-256, 20 years, name-constrained)."""
    folder = _folder(state_dir)
    if (folder / "ca.crt").exists() and (folder / "ca.key").exists():
        return load_ca(state_dir)
    if (folder / "ca.crt").exists() or (folder / "ca.key").exists():
        # Half a CA: making a new one would silently cost every tablet its trust. Stop and say so.
        raise CertificateError(f"{folder} holds only half of the box's CA (ca.crt and ca.key go together): "
                               "restore both from a backup, or move both away to make a new CA")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "POS Line"),
                      x509.NameAttribute(NameOID.COMMON_NAME, f"{label[:40]} CA")])
    now = _now()
    permitted: list[x509.GeneralName] = [x509.DNSName("local")]   # any name ending in .local
    permitted += [x509.IPAddress(net) for net in PERMITTED_NETWORKS]
    cert = (x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))   # a tablet whose clock is a little behind
            .not_valid_after(now + dt.timedelta(days=365 * CA_YEARS))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                         content_commitment=False, key_encipherment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    _write(folder / "ca.key", _key_pem(key), private=True)
    _write(folder / "ca.crt", cert.public_bytes(serialization.Encoding.PEM))
    return cert


def load_ca(state_dir: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate((tls_dir(state_dir) / "ca.crt").read_bytes())
    except (OSError, ValueError) as err:
        raise CertificateError(f"the box's CA certificate is unreadable: {err}") from err


def ca_der(state_dir: Path) -> bytes:
    """The CA certificate as tablets install it (DER)."""
    return load_ca(state_dir).public_bytes(serialization.Encoding.DER)


def ca_fingerprint(state_dir: Path) -> str | None:
    """SHA-256 of the CA certificate, as browsers and phones show it (AB:CD:…); None before provisioning."""
    if not (tls_dir(state_dir) / "ca.crt").exists():
        return None
    return ":".join(f"{b:02X}" for b in hashlib.sha256(ca_der(state_dir)).digest())


def ensure_server_certificate(state_dir: Path, identity: ServerIdentity) -> bool:
    """Issue the HTTPS certificate if it is missing, names other things, or expires within 30 days.

    Returns whether a new one was written.
    """
    folder = _folder(state_dir)
    ca = ensure_ca(state_dir)
    current = _read_server_cert(folder)
    if current is not None and _still_good(current, ca, identity):
        return False
    ca_key = _load_key(folder / "ca.key")
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    names: list[x509.GeneralName] = [x509.DNSName(identity.dns_name)]
    names += [x509.IPAddress(address) for address in identity.addresses]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, identity.dns_name)]))
            .issuer_name(ca.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1))
            .not_valid_after(now + dt.timedelta(days=SERVER_DAYS))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_encipherment=False, key_cert_sign=False,
                                         crl_sign=False, content_commitment=False, data_encipherment=False,
                                         key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    # Key first: a crash between the two writes leaves a key that does not match the old certificate,
    # which _read_server_cert notices, so the next start issues a fresh pair.
    _write(folder / "server.key", _key_pem(key), private=True)
    chain = cert.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(serialization.Encoding.PEM)
    _write(folder / "server.crt", chain)
    return True


def server_names(cert: x509.Certificate) -> tuple[set[str], set[IPAddress]]:
    """The DNS names and addresses a certificate's SAN carries."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return set(san.get_values_for_type(x509.DNSName)), set(san.get_values_for_type(x509.IPAddress))


class CertificateKeeper:
    """The live SSL context of the HTTPS site, kept current without a restart.

    OpenSSL hands the context's certificate to each new handshake, so loading a
    reissued chain into the same context changes what new connections see while
    open ones carry on.
    """

    def __init__(self, state_dir: Path, identity: ServerIdentity):
        self.state_dir = state_dir
        self.identity = identity
        ensure_server_certificate(state_dir, identity)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.minimum_version = ssl.TLSVersion.TLSv1_2
        self._load()

    def refresh(self, addresses: Iterable[IPAddress] | None = None, hostname: str | None = None) -> bool:
        """Reissue if the name, the addresses or the calendar ask for it; return whether it did."""
        wanted = ServerIdentity(hostname or self.identity.hostname,
                                tuple(addresses) if addresses is not None else self.identity.addresses)
        self.identity = wanted
        if not ensure_server_certificate(self.state_dir, wanted):
            return False
        self._load()
        return True

    def _load(self) -> None:
        folder = tls_dir(self.state_dir)
        self.context.load_cert_chain(folder / "server.crt", folder / "server.key")


# --- files ---------------------------------------------------------------------------

def _folder(state_dir: Path) -> Path:
    folder = tls_dir(state_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def _write(path: Path, data: bytes, private: bool = False) -> None:
    """Temp file + fsync + rename: a power cut leaves the old file or the new one, never half of one."""
    temp = path.with_name(path.name + ".tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(temp, 0o600 if private else 0o644)   # whatever the umask said
    os.replace(temp, path)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as err:
        raise CertificateError(f"{path.name} is unreadable: {err}") from err
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CertificateError(f"{path.name} is not an EC key")
    return key


def _read_server_cert(folder: Path) -> x509.Certificate | None:
    """The current server certificate, or None if it must be issued afresh.

    Fresh when missing, unreadable, or not the key's certificate: a power cut between
    writing server.key and server.crt leaves a new key beside the old certificate.
    """
    if not (folder / "server.crt").exists() or not (folder / "server.key").exists():
        return None
    try:
        cert = x509.load_pem_x509_certificate((folder / "server.crt").read_bytes())
        key = _load_key(folder / "server.key")
    except (ValueError, CertificateError):
        return None
    return cert if cert.public_key() == key.public_key() else None


def _still_good(cert: x509.Certificate, ca: x509.Certificate, identity: ServerIdentity) -> bool:
    names, addresses = server_names(cert)
    return (cert.issuer == ca.subject
            and names == {identity.dns_name}
            and addresses == set(identity.addresses)
            and cert.not_valid_after_utc - RENEW_BEFORE > _now()
            and _signed_by(cert, ca))


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
        return True
    except (ValueError, TypeError, InvalidSignature):
        return False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)

