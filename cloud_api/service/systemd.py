"""Talking to systemd without a C dependency: the sd_notify datagram protocol.

systemd hands a Type=notify service a unix datagram socket in $NOTIFY_SOCKET
(a path, or an abstract name starting with "@"). We send READY=1 once we
serve, WATCHDOG=1 from the event loop (so a hung loop misses its pings and is
restarted), STATUS=... for `systemctl status`, and STOPPING=1 on shutdown.
Outside systemd every call is a no-op.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket

log = logging.getLogger(__name__)


class Notifier:
    """One socket to systemd, opened once; a no-op when NOTIFY_SOCKET is unset."""

    def __init__(self, address: str | None = None):
        address = address if address is not None else os.environ.get("NOTIFY_SOCKET", "")
        self._address = "\0" + address[1:] if address.startswith("@") else address
        self._sock: socket.socket | None = None
        if self._address:
            # Non-blocking: the pings come from the event loop, which must never wait on a reader. A
            # reader that is behind (its queue holds net.unix.max_dgram_qlen datagrams, 10 by default)
            # loses a ping, logged, rather than stalling every request the service is serving.
            self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)

    @property
    def enabled(self) -> bool:
        return self._sock is not None

    def notify(self, *fields: str) -> bool:
        """Send KEY=VALUE lines; return whether systemd got them (never raises)."""
        if self._sock is None:
            return False
        try:
            self._sock.sendto("\n".join(fields).encode(), self._address)
            return True
        except OSError as err:
            log.warning("sd_notify failed: %s", err)
            return False

    def ready(self, status: str = "") -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None


def watchdog_interval_s(env: dict[str, str] | None = None) -> float | None:
    """Half of systemd's WatchdogSec (from $WATCHDOG_USEC), if the watchdog is on for this process."""
    env = env if env is not None else dict(os.environ)
    usec, pid = env.get("WATCHDOG_USEC"), env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000 / 2


async def ping_watchdog(notifier: Notifier, interval_s: float) -> None:
    """Ping from the event loop itself: if the loop hangs, the pings stop and systemd restarts us."""
    while True:
        notifier.watchdog()
        await asyncio.sleep(interval_s)


