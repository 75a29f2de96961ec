"""sd_notify against a real datagram socket standing in for systemd."""
from __future__ import annotations

import asyncio
import os
import socket
import threading
import uuid

import pytest

from cloud_api.service.systemd import Notifier, ping_watchdog, watchdog_interval_s


@pytest.fixture
def systemd_socket(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify.sock"
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, str(path)
    sock.close()


def test_messages_reach_the_socket(systemd_socket):
    sock, path = systemd_socket
    notifier = Notifier(path)
    assert notifier.ready("serving on 0.0.0.0:80")
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving on 0.0.0.0:80"
    assert notifier.status("WAN offline; backlog 12")
    assert sock.recv(4096) == b"STATUS=WAN offline; backlog 12"
    assert notifier.watchdog() and sock.recv(4096) == b"WATCHDOG=1"
    assert notifier.stopping() and sock.recv(4096) == b"STOPPING=1"
    notifier.close()


def test_a_reader_that_falls_behind_loses_pings_but_never_blocks_the_service(systemd_socket):
    # The reader's queue holds only a few datagrams (net.unix.max_dgram_qlen); a blocking send would
    # stall the event loop the pings come from, and with it every request the service is serving.
    sock, path = systemd_socket
    notifier = Notifier(path)
    sent: list[bool] = []
    sender = threading.Thread(target=lambda: sent.extend(notifier.watchdog() for _ in range(5000)), daemon=True)
    sender.start()
    sender.join(10)
    assert not sender.is_alive(), "a send blocked on the full queue"
    assert sent[0] and not all(sent)        # some got through, then the full queue refused the rest
    assert sock.recv(4096) == b"WATCHDOG=1"
    notifier.close()


def test_abstract_socket_names_work():
    name = f"posline-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.settimeout(2)
    try:
        assert Notifier("@" + name).ready()
        assert sock.recv(4096) == b"READY=1"
    finally:
        sock.close()


def test_without_systemd_it_is_a_no_op(monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier()
    assert not notifier.enabled and notifier.ready() is False and notifier.watchdog() is False


def test_a_vanished_socket_never_raises(tmp_path):
    assert Notifier(str(tmp_path / "gone.sock")).ready() is False


def test_watchdog_interval_is_half_of_watchdog_sec():
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None   # meant for another
    assert watchdog_interval_s({}) is None


async def test_watchdog_pings_come_from_the_event_loop(systemd_socket):
    sock, path = systemd_socket
    task = asyncio.create_task(ping_watchdog(Notifier(path), 0.05))
    await asyncio.sleep(0.18)
    task.cancel()
    sock.setblocking(False)
    pings = []
    while True:
        try:
            pings.append(sock.recv(4096))
        except BlockingIOError:
            break
    assert len(pings) >= 3 and set(pings) == {b"WATCHDOG=1"}
