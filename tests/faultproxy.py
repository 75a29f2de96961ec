"""A real TCP proxy between the gateway and the cloud that injects the WAN's faults.

Modes:
  pass        forward both ways
  cut         refuse service: new connections are closed at once, open ones are dropped
  drop_reply  forward the request to the cloud, wait until the cloud starts answering
              (so it has committed), then close the gateway's side without the answer;
              only for requests whose line starts with `drop_request` (default: journal batches)
  delay       forward, holding each chunk back by `delay_s`

It runs its own asyncio loop in a thread so sync tests (Playwright) can drive it.
"""
from __future__ import annotations

import asyncio
import socket
import threading
from contextlib import suppress


class FaultProxy:
    def __init__(self, upstream_port: int, host: str = "127.0.0.1"):
        self.host, self.upstream_port = host, upstream_port
        self.mode = "pass"
        self.delay_s = 0.0
        self.dropped_replies = 0
        self.drop_budget = 0          # in drop_reply mode: how many replies to drop before passing again
        self.drop_request = b"POST /v1/journal:batch"
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
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
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def set_mode(self, mode: str, *, drop: int = 1, delay_s: float = 0.0) -> None:
        """Switch mode; `cut` also drops the connections already open (keep-alive ones too)."""
        def apply() -> None:
            self.mode, self.drop_budget, self.delay_s = mode, drop, delay_s
            if mode == "cut":
                for writer in list(self._writers):
                    writer.transport.abort()
        self._loop.call_soon_threadsafe(apply)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def serve() -> None:
            self._server = await asyncio.start_server(self._handle, sock=self._sock)
            self._ready.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    async def _handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        if self.mode == "cut":
            client_writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.upstream_port)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers.update({client_writer, up_writer})
        try:
            seen: dict[str, bytes] = {"request": b""}
            await asyncio.gather(self._pipe(client_reader, up_writer, seen, upstream=True),
                                 self._pipe(up_reader, client_writer, seen, upstream=False))
        finally:
            for writer in (client_writer, up_writer):
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, seen: dict[str, bytes],
                    upstream: bool) -> None:
        with suppress(OSError, asyncio.IncompleteReadError, ConnectionError):
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                if self.mode == "delay":
                    await asyncio.sleep(self.delay_s)
                if upstream and chunk[:8].split(b" ")[0] in (b"GET", b"POST", b"PUT", b"HEAD"):
                    seen["request"] = chunk[:64]
                if (not upstream and self.mode == "drop_reply" and self.drop_budget > 0
                        and seen["request"].startswith(self.drop_request)):
                    # The cloud has committed and is answering: the gateway never hears it.
                    self.drop_budget -= 1
                    self.dropped_replies += 1
                    writer.transport.abort()
                    return
                writer.write(chunk)
                await writer.drain()
        with suppress(OSError):
            writer.write_eof()
