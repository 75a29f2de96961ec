"""Several worker processes on one port: a parent that starts, watches and stops them.

`run_workers` is the parent. It binds the listening socket once (`bind_port`: SO_REUSEADDR as any
server, never SO_REUSEPORT), so a second instance on the same port fails to start with "address
already in use", as one process serving does, instead of silently taking a share of the requests
(old code against a new schema, during an upgrade). Each worker is this same program started again
with `worker_argv` + ["--fd", N]: it inherits that socket as descriptor N and serves it
(serving.run_service(..., sock=...)); the workers accept from the one queue. Workers hold no state of
their own (sessions and everything else live in the database), so any worker may answer any request
and a dead one is simply started again, on the same socket: no connection is refused meanwhile.

The parent speaks sd_notify to its workers the way systemd speaks it to a service: each worker's
$NOTIFY_SOCKET is the parent's own datagram socket, and the kernel stamps every datagram with
its sender's pid (SO_PASSCRED). So a worker's READY=1 says it listens, and its WATCHDOG=1 pings
say its event loop turns. The parent tells systemd READY once every worker listens, pings
systemd's watchdog itself, and kills a worker whose pings stop (it is then started again).

Stopping (SIGTERM or SIGINT to the parent): STOPPING to systemd, SIGTERM to every worker (each
finishes its requests in flight, serving.SHUTDOWN_GRACE_S), SIGKILL to any still running after
STOP_GRACE_S. A worker started by a parent that dies without stopping it (SIGKILL) gets SIGTERM
from the kernel (PR_SET_PDEATHSIG), so no worker outlives its parent.
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import select
import signal
import socket
import struct
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ServiceError
from .serving import SHUTDOWN_GRACE_S
from .systemd import Notifier, watchdog_interval_s

log = logging.getLogger(__name__)

# A worker that dies is started again after a pause that doubles with each death in a row (a worker
# that cannot start must not spin), up to RESTART_MAX_S; one that served STABLE_S resets the count.
RESTART_FIRST_S, RESTART_MAX_S, STABLE_S = 0.5, 10.0, 30.0
# Until all workers first listen, a slot whose worker died this many times in a row means they cannot
# start (a database refused, a broken install): give up with an error rather than retry forever.
START_ATTEMPTS = 5
# Workers get their own grace to finish requests in flight, and a little more to close the database.
STOP_GRACE_S = SHUTDOWN_GRACE_S + 5.0
# A worker pings the parent this often; one silent for HUNG_AFTER_S is hung and killed.
WORKER_WATCHDOG_S, HUNG_AFTER_S = 5.0, 20.0
_TICK_S = 0.2
# Connections the kernel queues on the workers' socket until one of them accepts (aiohttp's default).
LISTEN_BACKLOG = 128
_PR_SET_PDEATHSIG = 1


@dataclass
class _Worker:
    slot: int
    process: subprocess.Popen[bytes]
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    last_ping: float = field(default_factory=time.monotonic)


def bind_port(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port for the workers to share, not yet listening; fails if the port is taken.

    Binding fails against a server already listening on the port (with SO_REUSEADDR or SO_REUSEPORT),
    so the parent can bind before it migrates and fail before touching the database; `listen` waits
    until the schema is ready, so meanwhile connections are refused rather than left queued. (Two
    parents binding at the same moment both bind: the second to `listen` is the one that fails.)
    `host` is one address: a name is resolved to the first address it has.
    """
    family, kind, proto, _name, address = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # restart over TIME_WAIT, as asyncio does
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        with _worded_as_asyncio(address):
            sock.bind(address)
    except BaseException:
        sock.close()
        raise
    return sock


def listen(sock: socket.socket) -> None:
    """Start accepting connections on a socket from bind_port; fails if another began listening meanwhile."""
    with _worded_as_asyncio(sock.getsockname()):
        sock.listen(LISTEN_BACKLOG)


@contextlib.contextmanager
def _worded_as_asyncio(address: object) -> Iterator[None]:
    # One process serving fails in asyncio's words; --workers fails in the same ones.
    try:
        yield
    except OSError as err:
        raise OSError(err.errno, f"error while attempting to bind on address {address!r}: "
                                 f"{(err.strerror or str(err)).lower()}") from None


def _die_with_parent(parent: int) -> None:
    # Runs in the child between fork and exec: if the parent is killed outright, the kernel stops us too.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return   # not Linux: a worker then notices nothing, and the operator's service manager kills the group
    # The parent may have died between fork and prctl: then no signal will ever come, so go now.
    if os.getppid() != parent:
        os._exit(1)


class _Supervisor:
    def __init__(self, worker_argv: list[str], count: int, name: str, notify_path: str, listener: socket.socket):
        self.argv, self.count, self.name = worker_argv + ["--fd", str(listener.fileno())], count, name
        self.listener = listener
        self.notify_path = notify_path
        self.workers: dict[int, _Worker] = {}            # by pid
        self.deaths_in_a_row = [0] * count
        self.restart_at: dict[int, float] = {}           # slot -> when to start it again
        self.stopping = False

    def start(self, slot: int) -> None:
        # watchdog_interval_s() halves WATCHDOG_USEC: the worker pings every WORKER_WATCHDOG_S.
        env = {**os.environ, "NOTIFY_SOCKET": self.notify_path, "WATCHDOG_USEC": str(int(WORKER_WATCHDOG_S * 2e6)),
               "POSLINE_WORKER_SLOT": str(slot)}
        env.pop("WATCHDOG_PID", None)   # systemd's names the parent; the worker's pings are for the parent
        env.pop("LISTEN_FDS", None)
        # pass_fds: the listening socket, as the same descriptor number, and nothing else of ours.
        process = subprocess.Popen(self.argv, env=env, pass_fds=(self.listener.fileno(),),
                                   preexec_fn=functools.partial(_die_with_parent, os.getpid()))
        self.workers[process.pid] = _Worker(slot, process)
        log.info("%s: worker %d started (pid %d)", self.name, slot, process.pid)

    def message(self, pid: int, fields: list[str]) -> None:
        worker = self.workers.get(pid)
        if worker is None:
            return
        if "READY=1" in fields:
            worker.ready = True
        if "READY=1" in fields or "WATCHDOG=1" in fields:
            worker.last_ping = time.monotonic()

    def reap(self) -> None:
        """Notice workers that exited; schedule each one's restart with a backoff."""
        now = time.monotonic()
        for pid, worker in list(self.workers.items()):
            code = worker.process.poll()
            if code is None:
                continue
            del self.workers[pid]
            if self.stopping:
                continue
            if now - worker.started >= STABLE_S:
                self.deaths_in_a_row[worker.slot] = 0
            pause = min(RESTART_MAX_S, RESTART_FIRST_S * 2 ** self.deaths_in_a_row[worker.slot])
            self.deaths_in_a_row[worker.slot] += 1
            self.restart_at[worker.slot] = now + pause
            log.warning("%s: worker %d (pid %d) exited with %s; starting it again in %.1f s",
                        self.name, worker.slot, pid, code, pause)

    def restart_due(self) -> None:
        now = time.monotonic()
        for slot, when in list(self.restart_at.items()):
            if when <= now:
                del self.restart_at[slot]
                self.start(slot)

    def kill_hung(self) -> None:
        """A ready worker whose loop stopped pinging is hung: kill it, and reap() starts it again."""
        deadline = time.monotonic() - HUNG_AFTER_S
        for pid, worker in self.workers.items():
            if worker.ready and worker.last_ping < deadline and worker.process.poll() is None:
                log.error("%s: worker %d (pid %d) stopped answering its watchdog; killing it",
                          self.name, worker.slot, pid)
                worker.process.kill()

    def all_ready(self) -> bool:
        return len(self.workers) == self.count and all(w.ready for w in self.workers.values())

    def stop(self) -> None:
        """SIGTERM every worker, wait for them to finish their requests, SIGKILL whoever is left."""
        self.stopping = True
        for worker in self.workers.values():
            if worker.process.poll() is None:
                worker.process.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for worker in self.workers.values():
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.error("%s: worker %d (pid %d) did not stop in %.0f s; killing it",
                          self.name, worker.slot, worker.process.pid, STOP_GRACE_S)
                worker.process.kill()
                worker.process.wait()
        self.workers.clear()


def _receive(sock: socket.socket) -> tuple[int, list[str]] | None:
    """One datagram from a worker: the sender's pid (from the kernel, not the message) and its fields."""
    try:
        data, ancillary, _flags, _addr = sock.recvmsg(4096, socket.CMSG_SPACE(struct.calcsize("3i")))
    except BlockingIOError:
        return None
    pid = 0
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("3i", payload[:struct.calcsize("3i")])[0]
    return pid, data.decode(errors="replace").splitlines()


def run_workers(worker_argv: list[str], count: int, name: str, listener: socket.socket) -> None:
    """Run `count` copies of `worker_argv` serving `listener` until SIGTERM/SIGINT; restart any that die.

    `listener` is bound and listening (bind_port, then listen); each worker gets `--fd N` appended to
    its arguments, N being the descriptor of that socket in it. The caller closes `listener`.
    """
    host, port = listener.getsockname()[:2]
    stop = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stop
        stop = True

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    systemd = Notifier()
    interval = watchdog_interval_s()
    with tempfile.TemporaryDirectory(prefix="posline-workers-") as tmp:
        notify_path = str(Path(tmp) / "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        sock.bind(notify_path)
        supervisor = _Supervisor(worker_argv, count, name, notify_path, listener)
        announced, last_ping = False, 0.0
        try:
            for slot in range(count):
                supervisor.start(slot)
            while not stop:
                readable, _, _ = select.select([sock], [], [], _TICK_S)
                while readable and (message := _receive(sock)) is not None:
                    supervisor.message(*message)
                if stop:   # Ctrl-C reaches the workers too: their exits are not deaths to restart
                    break
                supervisor.reap()
                if not announced and max(supervisor.deaths_in_a_row) >= START_ATTEMPTS:
                    raise ServiceError(f"{name}: a worker exited {START_ATTEMPTS} times before serving; "
                                       "see its error above")
                supervisor.kill_hung()
                supervisor.restart_due()
                if not announced and supervisor.all_ready():
                    announced = True
                    print(f"{name} serving on http://{host}:{port} with {count} workers", flush=True)
                    systemd.ready(f"{count} workers serving on {host}:{port}")
                if interval and time.monotonic() - last_ping >= interval:
                    # The parent's loop is what systemd watches; hung workers are the parent's to catch.
                    systemd.watchdog()
                    last_ping = time.monotonic()
            log.info("%s stopping %d workers", name, len(supervisor.workers))
            systemd.stopping()
        finally:
            supervisor.stop()
            sock.close()
            systemd.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            log.info("%s stopped", name)
