"""A real TCP proxy that injects a network's faults: the WAN (gateway -> cloud) or the LAN (tablets -> box).

Modes:
  pass        forward both ways
  cut         refuse service: new connections are closed at once, open ones are dropped
  drop_reply  forward a request, wait until the server starts answering (so it has committed),
              then close the client's side without the answer. Plain HTTP: only requests whose
              line starts with `drop_request` (default: journal batches). TLS (`tls=True`): the
              proxy cannot read requests, so it drops the answer to any request after the
              handshake's end (see `_Connection`): every request but, at times, a connection's first
  delay       forward with a one-way latency of `delay_s` in each direction: every chunk is
              delivered `delay_s` after it arrived, in order, while later chunks keep arriving
              (a 1 MiB body pays the latency once, as on a real long link, not once per chunk)
  duplicate   plain HTTP only: forward each `drop_request` request, and deliver a copy of it at
              the same moment on a connection of its own (its answer is read and thrown away)
  reorder     plain HTTP only: hold each `drop_request` request back and drop its sender's
              connection; deliver it after a later request has been answered (or after
              `hold_s`), so the server sees an old request after a newer one

drop_reply, duplicate and reorder act on `drop` requests (the budget), then pass again. A TCP
proxy cannot replay TLS (every connection has its own keys), so on the LAN the chaos soak's
tablets duplicate and reorder their own requests (tests/chaos/till.py).

It runs its own asyncio loop in a thread so sync tests (Playwright) can drive it.
"""
from __future__ import annotations

import asyncio
import socket
import threading
from contextlib import suppress
from dataclasses import dataclass

_METHODS = (b"GET", b"POST", b"PUT", b"HEAD", b"DELETE", b"PATCH")
_MAX_HEAD = 64 * 1024
_MAX_BODY = 16 * 1024 * 1024


@dataclass
class _Connection:
    """One proxied connection: its two writers and what has been seen on it.

    `turns` counts the client's flights: bytes from the client after the server last spoke.
    Over TLS, flight 1 is the ClientHello and flight 2 the client's Finished (often with the
    first request, while the server's session tickets may still be on their way), so from
    flight 3 on every server byte that follows a client flight is an answer to a request.
    """

    client: asyncio.StreamWriter
    upstream: asyncio.StreamWriter
    request: bytes = b""                  # the start of the last request seen (plain HTTP)
    turns: int = 0
    client_spoke_last: bool = False


class FaultProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1", *, tls: bool = False, hold_s: float = 3.0):
        self.host, self.upstream_port = host, upstream_port
        self.tls = tls
        self.mode = "pass"
        self.delay_s = 0.0
        self.hold_s = hold_s
        self.dropped_replies = 0
        self.duplicated_requests = 0
        self.reordered_requests = 0
        self.cut_connections = 0      # refused or dropped by `cut`
        self.drop_budget = 0          # drop_reply, duplicate, reorder: how many requests before passing again
        self.drop_request = b"POST /v1/journal:batch"
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._held: list[bytes] = []      # reorder: requests waiting for a later one to be answered
        self._tasks: set[asyncio.Task] = set()
        sock = socket.socket()
        sock.bind((host, 0))
        self.port = sock.getsockname()[1]
        self._sock = sock
        self._thread = threading.Thread(target=self._run, daemon=True, name="faultproxy")
        self._ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "FaultProxy":
        self._thread.start()
        self._ready.wait(5)
        return self

    def stop(self) -> None:
        """Close every connection and end every task, then the loop: nothing is left to run later."""
        async def shutdown() -> None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        with suppress(Exception):
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def set_mode(self, mode: str, *, drop: int = 1, delay_s: float = 0.0) -> None:
        """Switch mode, and return once the proxy has; `cut` also drops the connections already open."""
        if mode in ("duplicate", "reorder") and self.tls:
            raise ValueError(f"a TCP proxy cannot {mode} requests inside TLS")
        applied = threading.Event()

        def apply() -> None:
            self.mode, self.drop_budget, self.delay_s = mode, drop, delay_s
            if mode == "cut":
                self.cut_connections += len(self._writers) // 2   # a client's and an upstream writer each
                for writer in list(self._writers):
                    writer.transport.abort()
            applied.set()
        self._loop.call_soon_threadsafe(apply)
        applied.wait(5)

    @property
    def held(self) -> int:
        """Reordered requests not yet delivered."""
        return len(self._held)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, sock=self._sock)
            self._ready.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            self.cut_connections += 1
            client_writer.transport.abort()
            return
        # stop() cancels every task. A handler cancelled anywhere below ends instead of ending cancelled:
        # Python 3.11's start_server callback calls exception() on its task and logs a cancelled one as
        # an error. Either way its connections are aborted.
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except (OSError, asyncio.CancelledError):
            client_writer.transport.abort()
            return
        self._writers.update({client_writer, up_writer})
        conn = _Connection(client_writer, up_writer)
        try:
            await asyncio.gather(self._pipe(client_reader, up_writer, conn, upstream=True),
                                 self._pipe(up_reader, client_writer, conn, upstream=False))
        except asyncio.CancelledError:
            pass
        finally:
            for writer in (client_writer, up_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: _Connection,
                    upstream: bool) -> None:
        # One-way latency: chunks wait in a queue until `delay_s` after they arrived, in order, while
        # the reader goes on reading (a long link holds many bytes in flight).
        line: asyncio.Queue[tuple[float, bytes | None]] = asyncio.Queue()
        carrier = self._loop.create_task(self._carry(line, writer))
        try:
            await self._read_into(reader, writer, conn, upstream, line)
        finally:
            line.put_nowait((self._loop.time() + (self.delay_s if self.mode == "delay" else 0.0), None))
            with suppress(asyncio.CancelledError, OSError, ConnectionError):
                await carrier

    async def _carry(self, line: "asyncio.Queue[tuple[float, bytes | None]]", writer: asyncio.StreamWriter) -> None:
        """Deliver each chunk at its due time; None ends the direction (EOF)."""
        with suppress(OSError, ConnectionError):
            while True:
                due, chunk = await line.get()
                wait = due - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if chunk is None:
                    writer.write_eof()
                    return
                writer.write(chunk)
                await writer.drain()

    async def _read_into(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: _Connection,
                         upstream: bool, line: "asyncio.Queue[tuple[float, bytes | None]]") -> None:
        def send(chunk: bytes) -> None:
            latency = self.delay_s if self.mode == "delay" else 0.0
            line.put_nowait((self._loop.time() + latency, chunk))

        with suppress(OSError, asyncio.IncompleteReadError, ConnectionError):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                if upstream:
                    if not conn.client_spoke_last:
                        conn.turns += 1
                    conn.client_spoke_last = True
                    if chunk[:8].split(b" ")[0] in _METHODS:
                        conn.request = chunk[:64]
                        if (self.mode in ("duplicate", "reorder") and self.drop_budget > 0
                                and chunk.startswith(self.drop_request)):
                            chunk, whole = await self._whole_request(chunk, reader)
                            if whole:
                                if not self._tamper(chunk, conn, send):
                                    return   # held back: the sender's connection is gone
                                continue
                else:
                    conn.client_spoke_last = False
                    if self._held and conn.request.startswith(self.drop_request):
                        self._release()   # a later request is being answered: now the old one arrives
                    if self.mode == "drop_reply" and self.drop_budget > 0 and self._is_reply(conn):
                        # The server has committed and is answering: the client never hears it.
                        self.drop_budget -= 1
                        self.dropped_replies += 1
                        writer.transport.abort()
                        return
                send(chunk)

    def _is_reply(self, conn: _Connection) -> bool:
        """Whether server bytes now are the answer to a request the drop applies to."""
        if self.tls:
            return conn.turns >= 3
        return conn.request.startswith(self.drop_request)

    def _tamper(self, request: bytes, conn: _Connection, send) -> bool:
        """Duplicate or hold back one whole request; False if the sender's connection was dropped."""
        self.drop_budget -= 1
        if self.mode == "duplicate":
            self.duplicated_requests += 1
            send(request)   # behind whatever this direction still has on its way
            self._spawn(self._deliver(request))
            return True
        self.reordered_requests += 1
        self._held.append(request)
        self._loop.call_later(self.hold_s, self._release)
        conn.client.transport.abort()
        return False

    def _release(self) -> None:
        held, self._held = self._held, []
        for request in held:
            self._spawn(self._deliver(request))

    def _spawn(self, coroutine) -> None:
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, request: bytes) -> None:
        """Send a copy of a request on a connection of its own; read the answer and throw it away."""
        with suppress(OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.upstream_port), 5)
            try:
                writer.write(request)
                await writer.drain()
                await asyncio.wait_for(reader.read(65536), 30)   # the server has committed once it answers
            finally:
                writer.transport.abort()

    @staticmethod
    async def _whole_request(first: bytes, reader: asyncio.StreamReader) -> tuple[bytes, bool]:
        """Read on to the end of the request `first` starts; (the bytes read, whether they are all of it).

        Only a head with a Content-Length body counts as whole; anything else is forwarded as read.
        """
        data = first
        while b"\r\n\r\n" not in data:
            if len(data) > _MAX_HEAD:
                return data, False
            more = await reader.read(65536)
            if not more:
                return data, False
            data += more
        head, _, body = data.partition(b"\r\n\r\n")
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"transfer-encoding":
                return data, False
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = int(value.strip())
        if length is None or length > _MAX_BODY or len(body) > length:
            return data, False   # no body, or pipelined: not something to tamper with
        while len(body) < length:
            more = await reader.read(length - len(body))
            if not more:
                return head + b"\r\n\r\n" + body, False
            body += more
        return head + b"\r\n\r\n" + body, True
