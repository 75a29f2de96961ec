"""The box's CA and HTTPS certificate: what they name, what they may name, reissue, files, backup."""
from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import ssl
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from aiohttp import web
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.certificates import (CertificateKeeper, ServerIdentity, ca_der, ca_fingerprint, ensure_ca,
                                  ensure_server_certificate, load_ca, server_names, tls_dir)
from gateway.network import PERMITTED_NETWORKS

LOOPBACK = ipaddress.ip_address("127.0.0.1")
LAN_1, LAN_2 = ipaddress.ip_address("192.168.1.20"), ipaddress.ip_address("192.168.1.31")


def server_cert(state_dir: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate((tls_dir(state_dir) / "server.crt").read_bytes())


def test_ca_is_name_constrained_to_local_names_and_private_addresses(tmp_path):
    ca = ensure_ca(tmp_path, "Madina")
    constraints = ca.extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    permitted = constraints.value.permitted_subtrees
    assert x509.DNSName("local") in permitted
    assert {n.value for n in permitted if isinstance(n, x509.IPAddress)} == set(PERMITTED_NETWORKS)
    assert not any(isinstance(n, x509.IPAddress) and n.value.overlaps(ipaddress.ip_network("8.8.8.0/24"))
                   for n in permitted)
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert (ca.not_valid_after_utc - ca.not_valid_before_utc).days >= 3650
    assert ca.public_key().curve.name == "secp256r1"
    assert ensure_ca(tmp_path).serial_number == ca.serial_number   # made once, then kept


def test_server_certificate_names_the_box_and_chains_to_its_ca(tmp_path):
    assert ensure_server_certificate(tmp_path, ServerIdentity("posline", (LAN_1, LOOPBACK)))
    cert, ca = server_cert(tmp_path), load_ca(tmp_path)
    assert server_names(cert) == ({"posline.local"}, {LAN_1, LOOPBACK})
    cert.verify_directly_issued_by(ca)
    assert cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value == x509.ExtendedKeyUsage(
        [ExtendedKeyUsageOID.SERVER_AUTH])
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    # OpenSSL agrees: the chain verifies, and the leaf's names sit inside the CA's constraints.
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(tls_dir(tmp_path) / "ca.crt"),
                             str(tls_dir(tmp_path) / "server.crt")], capture_output=True, text=True)
    assert verify.returncode == 0 and ": OK" in verify.stdout, verify.stderr


def test_the_ca_cannot_vouch_for_a_public_site(tmp_path):
    """A leaf for a public name, signed with the CA key, fails verification: a stolen key is worth little."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    ca = ensure_ca(tmp_path)
    ca_key = serialization.load_pem_private_key((tls_dir(tmp_path) / "ca.key").read_bytes(), None)
    key = ec.generate_private_key(ec.SECP256R1())
    forged = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(ca.subject)
              .public_key(key.public_key()).serial_number(1).not_valid_before(ca.not_valid_before_utc)
              .not_valid_after(ca.not_valid_after_utc)
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("www.meezanbank.com")]), critical=True)
              .sign(ca_key, hashes.SHA256()))
    path = tmp_path / "forged.pem"
    path.write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    verify = subprocess.run(["openssl", "verify", "-CAfile", str(tls_dir(tmp_path) / "ca.crt"), str(path)],
                            capture_output=True, text=True)
    assert verify.returncode != 0 and "permitted subtree violation" in verify.stdout + verify.stderr


def test_reissue_on_address_change_keeps_the_ca_and_only_when_needed(tmp_path):
    identity = ServerIdentity("posline", (LAN_1,))
    assert ensure_server_certificate(tmp_path, identity)
    fingerprint, first = ca_fingerprint(tmp_path), server_cert(tmp_path)
    assert not ensure_server_certificate(tmp_path, identity)   # nothing changed: nothing reissued
    assert ensure_server_certificate(tmp_path, ServerIdentity("posline", (LAN_2,)))
    second = server_cert(tmp_path)
    assert second.serial_number != first.serial_number
    assert server_names(second)[1] == {LAN_2}
    assert ca_fingerprint(tmp_path) == fingerprint   # tablets keep trusting the box
    second.verify_directly_issued_by(load_ca(tmp_path))
    assert ensure_server_certificate(tmp_path, ServerIdentity("posline-madina", (LAN_2,)))
    assert server_names(server_cert(tmp_path))[0] == {"posline-madina.local"}


def test_reissue_30_days_before_expiry(tmp_path, monkeypatch):
    import datetime as dt
    import gateway.certificates as certificates
    identity = ServerIdentity("posline", (LAN_1,))
    ensure_server_certificate(tmp_path, identity)
    expires = server_cert(tmp_path).not_valid_after_utc
    monkeypatch.setattr(certificates, "_now", lambda: expires - dt.timedelta(days=31))
    assert not ensure_server_certificate(tmp_path, identity)
    monkeypatch.setattr(certificates, "_now", lambda: expires - dt.timedelta(days=29))
    assert ensure_server_certificate(tmp_path, identity)
    assert server_cert(tmp_path).not_valid_after_utc > expires


def test_key_files_are_private_and_the_folder_closed(tmp_path):
    old = os.umask(0o000)   # a careless shell: the files must be private anyway
    try:
        ensure_server_certificate(tmp_path, ServerIdentity("posline", (LOOPBACK,)))
    finally:
        os.umask(old)
    folder = tls_dir(tmp_path)
    assert folder.stat().st_mode & 0o777 == 0o700
    for name in ("ca.key", "server.key"):
        assert (folder / name).stat().st_mode & 0o777 == 0o600, name
    assert not list(folder.glob("*.tmp"))


async def test_the_live_site_serves_a_reissued_certificate_without_a_restart(tmp_path):
    """New handshakes get the new certificate from the same SSL context; the server never stops."""
    keeper = CertificateKeeper(tmp_path, ServerIdentity("posline", (LOOPBACK,)))
    app = web.Application()
    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="ok")
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    await web.TCPSite(runner, "127.0.0.1", port, ssl_context=keeper.context).start()
    try:
        def peer_names() -> set:
            client = ssl.create_default_context(cafile=str(tls_dir(tmp_path) / "ca.crt"))
            client.check_hostname = False   # we read the names ourselves
            with socket.create_connection(("127.0.0.1", port)) as raw, client.wrap_socket(raw) as tls:
                cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            return server_names(cert)[1]
        assert await asyncio.to_thread(peer_names) == {LOOPBACK}
        assert keeper.refresh([LOOPBACK, LAN_1])
        assert await asyncio.to_thread(peer_names) == {LOOPBACK, LAN_1}
        assert not keeper.refresh([LOOPBACK, LAN_1])
    finally:
        await runner.cleanup()


def gateway_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], capture_output=True, text=True, timeout=60)


async def test_backup_and_restore_keep_the_ca_so_tablets_keep_trusting(provisioned, tmp_path):
    state = provisioned.state_dir
    ensure_server_certificate(state, ServerIdentity("posline", (LOOPBACK,)))
    archive = tmp_path / "backups" / "box.tar.gz"
    done = await asyncio.to_thread(gateway_cli, "backup", "--state-dir", str(state), "--to", str(archive))
    assert done.returncode == 0, done.stderr
    assert archive.stat().st_mode & 0o077 == 0
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["gateway.db", "tls/ca.crt", "tls/ca.key"]

    replacement = tmp_path / "new-box"
    done = await asyncio.to_thread(gateway_cli, "restore", "--state-dir", str(replacement), "--from", str(archive))
    assert done.returncode == 0, done.stderr
    assert ca_fingerprint(replacement) == ca_fingerprint(state)
    assert ca_der(replacement) == ca_der(state)
    assert (tls_dir(replacement) / "ca.key").stat().st_mode & 0o777 == 0o600
    assert replacement.stat().st_mode & 0o777 == 0o700
    status = await asyncio.to_thread(gateway_cli, "status", "--state-dir", str(replacement), "--json")
    assert status.returncode == 0 and '"shop_name": "Madina"' in status.stdout
    assert ca_fingerprint(state) in status.stdout

    again = await asyncio.to_thread(gateway_cli, "restore", "--state-dir", str(replacement), "--from", str(archive))
    assert again.returncode == 2 and "already holds a gateway" in again.stderr
    junk = tmp_path / "junk.tar.gz"
    junk.write_bytes(b"not a backup")
    bad = await asyncio.to_thread(gateway_cli, "restore", "--state-dir", str(tmp_path / "x"), "--from", str(junk))
    assert bad.returncode == 2 and "not a POS Line box backup" in bad.stderr and bad.stderr.count("\n") == 1


def test_a_key_left_without_its_certificate_by_a_power_cut_is_repaired(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    identity = ServerIdentity("posline", (LOOPBACK,))
    ensure_server_certificate(tmp_path, identity)
    stray = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    (tls_dir(tmp_path) / "server.key").write_bytes(stray)   # the new key landed, its certificate did not
    keeper = CertificateKeeper(tmp_path, identity)   # would raise on a key mismatch without the repair
    cert = server_cert(tmp_path)
    key = serialization.load_pem_private_key((tls_dir(tmp_path) / "server.key").read_bytes(), None)
    assert cert.public_key() == key.public_key() and keeper.context is not None


def test_half_a_ca_is_refused_rather_than_silently_replaced(tmp_path):
    from gateway.certificates import CertificateError
    ensure_ca(tmp_path)
    (tls_dir(tmp_path) / "ca.key").unlink()
    with pytest.raises(CertificateError, match="only half of the box's CA"):
        ensure_server_certificate(tmp_path, ServerIdentity("posline", (LOOPBACK,)))
