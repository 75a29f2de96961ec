"""Run an aiohttp app as a service: bind, tell systemd READY, ping its watchdog, stop cleanly.

One app may listen on two sockets: HTTPS on `port` when given an SSL context,
and plain HTTP on `http_port` (the box answers its setup page there; the app's
own middleware decides what plain HTTP may see).

With `limits` (connections.ConnectionLimits, from the service's settings) both
sockets admit a bounded number of connections, each with bounded time for its
TLS handshake and request heads; the app installs the body deadline itself.

On SIGTERM (systemd's stop) or SIGINT: tell systemd STOPPING, stop accepting
connections, let requests in flight finish (their transactions commit), run
the app's cleanup (which flushes and closes the database), then exit 0.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import signal
import socket
import ssl
import sys
from contextlib import suppress
from typing import Awaitable, Callable

from aiohttp import web

from .connections import ConnectionLimits, GuardedTCPSite
from .systemd import Notifier, ping_watchdog, watchdog_interval_s

log = logging.getLogger(__name__)
StatusLine = Callable[[web.Application], Awaitable[str]]

# Requests in flight get this long to finish on stop; systemd's TimeoutStopSec is longer.
SHUTDOWN_GRACE_S = 10.0
# Both services write their SQLite on a thread of its own (gateway/writer.py; cloud_api/database.py
# write_at_once), which gives up Python's GIL around every statement and COMMIT's fsync and must then
# win it back from the event loop, busy checking the next batches: at CPython's default of 5 ms a turn a
# request's handful of statements could wait tens of ms (the box's ack p99), and the cloud's batches in
# flight went no faster than one at a time. 1 ms keeps a write's turns short.
GIL_SWITCH_S = 0.001
STATUS_EVERY_S = 15.0


async def run_service(app: web.Application, host: str, port: int, name: str,
                      status_line: StatusLine | None = None, ssl_context: ssl.SSLContext | None = None,
                      http_port: int | None = None, limits: ConnectionLimits | None = None,
                      sock: socket.socket | None = None) -> None:
    """Serve `app` until SIGTERM/SIGINT, speaking sd_notify when under systemd.

    `sock`: serve this socket, already bound and listening, instead of binding host:port (a worker of
    workers.py serves the one its parent bound). Not with `limits` or `http_port`.
    """
    if sock is not None and (limits is not None or http_port is not None):
        raise ValueError("run_service: a given socket is served without limits or a second port")
    quick_gil_turns()
    notifier = Notifier()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=SHUTDOWN_GRACE_S,
                           **(limits.runner_args() if limits else {}))
    await runner.setup()

    def site(site_port: int, context: ssl.SSLContext | None = None) -> web.BaseSite:
        if sock is not None:
            return web.SockSite(runner, sock, ssl_context=context)
        if limits is None:
            return web.TCPSite(runner, host, site_port, ssl_context=context)
        # Each socket gets its own budget: plain HTTP (/setup) cannot starve the tills' HTTPS.
        return GuardedTCPSite(runner, host, site_port, limits, ssl_context=context)

    background: list[asyncio.Task] = []
    try:
        await site(port, ssl_context).start()
        print(f"{name} serving on {'https' if ssl_context else 'http'}://{host}:{port}", flush=True)
        if http_port is not None:
            await site(http_port).start()
            print(f"{name} serving plain http on http://{host}:{http_port}", flush=True)
        freeze_startup_heap()
        notifier.ready(f"serving on {host}:{port}")   # only now: the sockets are bound and accepting
        interval = watchdog_interval_s()
        if interval:
            background.append(asyncio.create_task(ping_watchdog(notifier, interval), name="watchdog"))
        if status_line and notifier.enabled:
            background.append(asyncio.create_task(_report_status(app, notifier, status_line), name="status"))
        await stop.wait()
        log.info("%s stopping", name)
        notifier.stopping()
    finally:
        for task in background:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await runner.cleanup()
        notifier.close()
        log.info("%s stopped", name)


def quick_gil_turns() -> None:
    """The whole process's GIL switch interval at most GIL_SWITCH_S (why: there). A service's setting,
    made as it starts to serve (run_service), and by the benches that run its code in-process."""
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_S))


FULL_PASS_EVERY = 1000   # middle-generation collections per full one (CPython's default: 10)


def freeze_startup_heap() -> None:
    """Move everything start-up made (modules, the app, its routes, models, the database's
    schema objects: 110-137k objects in the cloud and the box) out of the garbage collector's sight.

    They live as long as the process, yet every full collection walks them all: 75-180 ms during
    which nothing is served, which showed up as the box's ack p99 (200-300 ms at 10 tablets, batch 50)
    and cost the cloud's ingest a third of its rate. Frozen, a full pass walks only what was made
    since; objects made later are collected as before. Once, after the app is built and started.

    Full passes are also made rarer (FULL_PASS_EVERY). A request's objects (a batch's parsed documents
    and their models) outlive two young collections while it waits for the writer, so under load they
    reached the old generation and set off a full pass every few hundred requests: 20-60 ms in which
    neither the box nor the cloud served anything, the box's ack p99 at 10 tablets (issue 12). Only
    garbage in reference cycles waits for a full pass (everything else goes when its last reference
    does), and our requests make little of it: a full pass every 1,000 middle ones still comes every
    few seconds to minutes under load, and the memory it holds back meanwhile is small.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_PASS_EVERY)


async def _report_status(app: web.Application, notifier: Notifier, status_line: StatusLine) -> None:
    while True:
        with suppress(Exception):   # a status line is a courtesy; never let it take the service down
            notifier.status(await status_line(app))
        await asyncio.sleep(STATUS_EVERY_S)
