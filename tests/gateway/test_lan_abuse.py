"""LAN abuse against a real `posline-gateway serve`: half-open connections neither grow memory nor stay open.

(The rest of "LAN abuse" is in test_pairing.py: a guessing client does not stop another from
pairing, text/plain is refused, a takeover is refused.)
"""
from __future__ import annotations

import socket
import ssl
import time

import httpx

from gateway.demo import gateway_service, run_command
from tests.conftest import process_memory_kb
from tests.e2e.conftest import free_port
from tests.gateway.test_service import shop  # noqa: F401  (the fixture: a cloud, a provisioned state dir)

HEADER_TIMEOUT_S, BODY_TIMEOUT_S = 2.0, 3.0
CONNECTIONS = 500


def rss_bytes(pid: int) -> int:
    return process_memory_kb(pid, "VmRSS") * 1024


def stall(kind: int, port: int, http_port: int, ca: ssl.SSLContext, token: str) -> socket.socket | None:
    """Open one connection and leave it half-sent; None if the box closed it at once (over its limit)."""
    try:
        if kind == 3:   # plain HTTP (/setup's socket): a partial head
            sock = socket.create_connection(("127.0.0.1", http_port), timeout=2)
            sock.sendall(b"GET /setup HTTP/1.1\r\nHost: posline.local\r\nUser-Ag")
            return sock
        sock = ca.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=2), server_hostname="127.0.0.1")
        if kind == 0:   # connect, handshake, say nothing
            return sock
        if kind == 1:   # a partial request head
            sock.sendall(b"POST /api/v1/journal:batch HTTP/1.1\r\nHost: posline.local\r\nContent-Ty")
            return sock
        # A paired tablet's head, then a tenth of the megabyte it announced.
        sock.sendall(b"POST /api/v1/journal:batch HTTP/1.1\r\nHost: posline.local\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 1000000\r\n"
                     b"Authorization: Bearer " + token.encode() + b"\r\n\r\n" + b'{"documents": [' + b" " * 100_000)
        return sock
    except (OSError, ssl.SSLError):
        return None


def is_closed(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        while True:
            if not sock.recv(65536):
                return True
    except (ssl.SSLWantReadError, BlockingIOError):
        return False
    except (OSError, ssl.SSLError):
        return True


def test_half_open_connections_neither_grow_memory_nor_stay_open(shop):  # noqa: F811
    port, http_port = free_port(), free_port()
    gateway = gateway_service(shop / "gw", port, shop / "gw.log", http_port=http_port, env={
        "POSLINE_GATEWAY_HEADER_TIMEOUT_S": str(HEADER_TIMEOUT_S),
        "POSLINE_GATEWAY_BODY_TIMEOUT_S": str(BODY_TIMEOUT_S)}).start()
    try:
        code = run_command("gateway", "pair-code", "--state-dir", str(shop / "gw"))
        till = httpx.post(f"{gateway.url}/api/v1/pair", json={"code": code}, verify=gateway.verify()).json()
        for _ in range(20):   # warm up: imports, caches, the first TLS sessions
            httpx.get(f"{gateway.url}/api/v1/status", verify=gateway.verify())
        pid = gateway.process.pid
        before = rss_bytes(pid)
        ca = ssl.create_default_context(cafile=str(gateway.ca_file))

        open_socks = [s for s in (stall(n % 4, port, http_port, ca, till["token"]) for n in range(CONNECTIONS)) if s]
        opened = time.monotonic()
        peak = rss_bytes(pid)
        deadline = opened + HEADER_TIMEOUT_S * 2 + BODY_TIMEOUT_S + 5
        while open_socks and time.monotonic() < deadline:
            peak = max(peak, rss_bytes(pid))
            open_socks = [s for s in open_socks if not is_closed(s)]
            time.sleep(0.1)
        closed_after = time.monotonic() - opened
        for sock in open_socks:
            sock.close()

        assert not open_socks, f"{len(open_socks)} stalled connections still open after {closed_after:.1f}s"
        assert peak - before < 50 * 2**20, f"RSS grew by {(peak - before) / 2**20:.0f} MiB"
        # The box still serves, and the closed connections were given back to its budget.
        for _ in range(3):
            assert httpx.get(f"{gateway.url}/api/v1/time", verify=gateway.verify(), timeout=5).status_code == 200
    finally:
        gateway.stop()
    print(f"{CONNECTIONS} stalled connections: RSS {before / 2**20:.0f} -> peak {peak / 2**20:.0f} MiB, "
          f"all closed {closed_after:.1f}s after the last was opened")
