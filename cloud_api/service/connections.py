"""Connections a service can afford: how many, and how long each may take to say what it wants.

aiohttp on its own waits an hour for a request head and forever for a body, and
accepts any number of connections: a handful of devices that open sockets and
stall can take a small box's memory and file descriptors. Three limits, passed
in by each service from its settings:

- `max_connections`: connections beyond it are closed as soon as they are
  accepted, before any TLS work. Counted from accept, so sockets still in
  their handshake count too.
- `header_timeout_s`: a TLS handshake, and then each request head (a new
  connection's first, or the next on an idle keep-alive one), must arrive
  within it, or the connection is closed. This is aiohttp's keep-alive timer,
  which it also starts when a connection opens, set to this value.
- `body_timeout_s`: once its head has arrived, a request's whole body must
  arrive within it, or the connection is closed (`body_deadline_middleware`,
  which a service installs outermost). Handlers need not read with a timeout.

A stalled connection holds little memory meanwhile: a body nobody reads stops
being read from the socket at `2 * read_bufsize` bytes (aiohttp's flow control),
and its TLS layer keeps 32 KiB buffers instead of asyncio's 256 KiB (`_LeanTLS`).
"""
from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

from aiohttp import web

from .errors import ServiceError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 256
    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    read_bufsize: int = 16 * 1024

    def runner_args(self) -> dict[str, Any]:
        """Keyword arguments of web.AppRunner that carry these limits into aiohttp's request handler."""
        return {"keepalive_timeout": self.header_timeout_s, "read_bufsize": self.read_bufsize}


class BodyTimeout(ServiceError):
    status, code = 408, "request_timeout"


class GuardedTCPSite(web.TCPSite):
    """A TCPSite that admits at most `limits.max_connections`, with TLS that is lean and bounded in time.

    TLS is done here rather than by create_server(ssl=...) so that each connection's TLS
    layer is `_LeanTLS` (see there), its handshake has a timeout (TCPSite passes none: 60 s),
    and a connection over the limit is closed before any TLS work is spent on it.
    """

    def __init__(self, runner: web.BaseRunner, host: str, port: int, limits: ConnectionLimits, **kwargs: Any):
        super().__init__(runner, host, port, **kwargs)
        self._limits = limits
        self._open = 0

    @property
    def open_connections(self) -> int:
        return self._open

    async def start(self) -> None:
        # TCPSite.start, with our protocol factory in place of the bare request handler.
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            lambda: self._admit(server), self._host, self._port, backlog=self._backlog,
            reuse_address=self._reuse_address, reuse_port=self._reuse_port)
        self._bound_port = self._server.sockets[0].getsockname()[1] if self._server.sockets else self._port

    def _admit(self, server: web.Server) -> asyncio.BaseProtocol:
        if self._open >= self._limits.max_connections:
            return _Refused()
        self._open += 1
        if self._ssl_context is None:
            return _Counted(server(), self._release)
        return _LeanTLS(asyncio.get_running_loop(), server(), self._ssl_context, self._release,
                        self._limits.header_timeout_s)

    def _release(self) -> None:
        self._open -= 1


class _Refused(asyncio.Protocol):
    """Over the limit: closed as soon as accepted."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()


class _Counted(asyncio.Protocol):
    """aiohttp's protocol for one plain connection, counted until the connection is gone."""

    def __init__(self, inner: Any, release: Callable[[], None]):
        self._inner, self._release = inner, release

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._release()
        self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class _LeanTLS(sslproto.SSLProtocol):
    """asyncio's server-side TLS layer (what create_server(ssl=...) uses), with small buffers, counted.

    asyncio gives every TLS connection a 256 KiB read buffer up front and lets a further
    256 KiB of ciphertext queue while the app has paused reading: half a megabyte per
    stalled connection, which is what let a few hundred half-sent requests take a box's
    memory. TLS records are at most 16 KiB, so 32 KiB buffers lose nothing.
    (asyncio.sslproto is the stdlib's own implementation since Python 3.11.)
    """

    max_size = 32 * 1024   # read buffer, per connection (asyncio: 256 KiB)

    def __init__(self, loop: asyncio.AbstractEventLoop, app_protocol: Any, context: ssl.SSLContext,
                 release: Callable[[], None], handshake_timeout_s: float):
        super().__init__(loop, app_protocol, context, None, server_side=True,
                         ssl_handshake_timeout=handshake_timeout_s)
        self._set_read_buffer_limits(high=self.max_size)   # ciphertext queued while the app is paused
        self._release_slot: Callable[[], None] | None = release

    def connection_lost(self, exc: BaseException | None) -> None:
        # Called by the socket's transport whatever happened (handshake failed or timed out included).
        if self._release_slot is not None:
            self._release_slot, release = None, self._release_slot
            release()
        super().connection_lost(exc)


def body_deadline_middleware(body_timeout_s: float) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Close a connection whose request body has not fully arrived `body_timeout_s` after its head.

    A handler waiting on the body gets BodyTimeout (408); whatever it did not read is not waited for.
    """
    @web.middleware
    async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.content.is_eof():
            return await handler(request)
        transport = request.transport

        def expire() -> None:
            if not request.content.is_eof():
                request.content.set_exception(BodyTimeout("the request body did not arrive in time"))
                if transport is not None:
                    transport.close()

        timer = asyncio.get_running_loop().call_later(body_timeout_s, expire)
        try:
            response = await handler(request)
        except BaseException:
            timer.cancel()
            raise
        if request.content.is_eof():
            timer.cancel()   # else keep it: an unread body that never completes still gets its connection closed
        return response

    return body_deadline
