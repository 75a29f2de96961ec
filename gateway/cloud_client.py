"""Everything the gateway says to the cloud goes through here, and so does the WAN state.

httpx with keep-alive and timeouts; batches gzipped. Network failures and 5xx
become CloudUnreachable (retry), refusals become CloudRefused. Each call's
outcome moves the WAN state, and its return to online wakes whoever waits.
"""
from __future__ import annotations

import asyncio
import gzip
import json
import logging
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Annotated, Any, Awaitable, Callable, TypeVar

import httpx
from pydantic import BaseModel, Field, StrictInt, ValidationError

from cloud_api.service.clock import utc_now
from cloud_api.contract import BatchResponse, Catalog, EnrolResponse, Heartbeat, KhataSnapshot

from .errors import CloudRefused, CloudUnreachable, UplinkError

log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)


class CloudStock(BaseModel):
    """The cloud's answer to GET /v1/stock: on-hand per SKU counting exactly the documents of its
    journal with ingest_seq <= watermark, plus the owner's stock movements (gateway/stock.py)."""

    watermark: Annotated[StrictInt, Field(ge=0)]
    stock: dict[str, StrictInt]


@dataclass
class WanState:
    """What the gateway last learned about its link to the cloud."""

    state: str = "unknown"            # unknown | online | offline | refused
    since: str = field(default_factory=utc_now)
    error: str | None = None
    back_online: asyncio.Event = field(default_factory=asyncio.Event)
    on_change: list[Callable[["WanState"], Awaitable[None]]] = field(default_factory=list)

    async def set(self, state: str, error: str | None = None) -> None:
        if state == self.state and error == self.error:
            return
        if state != self.state:
            log.info("WAN %s -> %s%s", self.state, state, f" ({error})" if error else "")
            self.since = utc_now()
        self.state, self.error = state, error
        if state == "online":
            self.back_online.set()
        else:
            self.back_online.clear()
        for listener in self.on_change:
            await listener(self)


class CloudClient:
    """The cloud's gateway API, as one gateway's credentials see it."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float, wan: WanState | None = None,
                 transport: httpx.AsyncBaseTransport | None = None):
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.wan = wan or WanState()
        self._http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=timeout_s, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as err:
            await self.wan.set("offline", f"{type(err).__name__}: {err}".rstrip(": "))
            raise CloudUnreachable(str(err) or type(err).__name__) from err
        if response.status_code >= 500 or response.status_code == 429:
            await self.wan.set("offline", f"cloud answered {response.status_code}")
            raise CloudUnreachable(f"cloud answered {response.status_code}", response.status_code)
        if response.status_code >= 400:
            message = error_message(response)
            if response.status_code in (401, 403):
                await self.wan.set("refused", message)
            else:
                await self.wan.set("online")
            raise CloudRefused(response.status_code, message)
        await self.wan.set("online")
        return response

    async def enrol(self, enrol_token: str, name: str, expected_shop_name: str | None = None) -> EnrolResponse:
        """Spend the token; with expected_shop_name the cloud refuses (409, token unspent) another shop's."""
        response = await self._call("POST", "/v1/gateways:enrol", json={
            "enrol_token": enrol_token, "name": name, "expected_shop_name": expected_shop_name})
        return _parse(response, EnrolResponse)

    async def post_batch(self, body: bytes) -> BatchResponse:
        """Send a batch (batch_body); raises unless the cloud committed it and answered for each document."""
        response = await self._call("POST", "/v1/journal:batch", content=body,
                                    headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        return _parse(response, BatchResponse)

    async def probe(self, timeout_s: float) -> bool:
        """Whether the cloud answers at all: GET /healthz, no credentials, a few hundred bytes.

        The uplink asks this every few seconds while the WAN is down, so it sees the link return
        at once instead of after a backoff grown to its cap; a short timeout, as a link that
        black-holes packets must not hold a probe for the whole cloud timeout. An answer moves
        the WAN state to online (see _call), which wakes whoever waits for it.
        """
        try:
            await self._call("GET", "/healthz", timeout=timeout_s)
        except UplinkError:
            return False
        return True

    async def get_catalog(self, etag: str | None) -> tuple[Catalog, str] | None:
        """The catalog and its ETag, or None if ours is current."""
        response = await self._call("GET", "/v1/catalog", headers={"If-None-Match": etag} if etag else {})
        if response.status_code == 304:
            return None
        return _parse(response, Catalog), response.headers.get("ETag", "")

    async def get_snapshot(self, path: str, model: type[Model], etag: str | None) -> tuple[Model, str] | None:
        """A snapshot the cloud keeps by watermark (GET /v1/stock, /v1/khata) and its ETag, or None if ours
        is current or the cloud has none (an older cloud answers 404: no snapshot yet)."""
        try:
            response = await self._call("GET", path, headers={"If-None-Match": etag} if etag else {})
        except CloudRefused as err:
            if err.status == 404:
                return None
            raise
        if response.status_code == 304:
            return None
        return _parse(response, model), response.headers.get("ETag", "")

    async def get_stock(self, etag: str | None) -> tuple[CloudStock, str] | None:
        """The cloud's stock snapshot (on-hand per SKU), as get_snapshot."""
        return await self.get_snapshot("/v1/stock", CloudStock, etag)

    async def get_khata(self, etag: str | None) -> tuple[KhataSnapshot, str] | None:
        """The cloud's khata snapshot (customers and balances), as get_snapshot."""
        return await self.get_snapshot("/v1/khata", KhataSnapshot, etag)

    async def heartbeat(self, beat: Heartbeat) -> None:
        await self._call("POST", "/v1/heartbeat", json=beat.model_dump())


# gzip level for batches: most of the saving of level 9 for a fraction of its time on a Pi.
GZIP_LEVEL = 5


def batch_body(bodies: Sequence[str], received_at: dict[str, str]) -> bytes:
    """A batch as it goes on the wire: gzipped JSON whose documents are the journal's own text.

    Each body is the canonical JSON the box checked and stored (journal.check_batch), which the cloud
    reads and hashes again, so none is decoded or encoded again to send it: only joined, then
    compressed in one go.
    """
    text = ('{"documents":[' + ",".join(bodies) + '],"received_at":'
            + json.dumps(received_at, ensure_ascii=False, separators=(",", ":")) + "}")
    return gzip.compress(text.encode(), compresslevel=GZIP_LEVEL)


class BatchPacker:
    """Packs the start of a run of documents into a batch body of at most `limit` bytes gzipped.

    One document always goes, whatever its size, so a large one is never stuck. How many fit is
    guessed from their raw sizes and how well the documents compressed last time, then checked on
    the body itself: a batch that fits whole (the usual case) is compressed once, a cut one two or
    three times. (Counting each document through a deflate stream flushed after it cost twice the
    body's own compression, and the body was then compressed again.)
    """

    _AIM = 0.95   # a guess aims this far under the limit, so that it usually fits at once
    _FULL = 0.8   # a body this full of the limit is taken, though another document or two might fit
    _LEARN_FROM = 8   # documents in a body the ratio is learned from

    def __init__(self, limit: int):
        self.limit = limit
        self.ratio = 0.3   # gzipped bytes per raw byte, learned from every body made

    def pack(self, bodies: Sequence[str], received_at: Sequence[tuple[str, str]]) -> tuple[int, bytes]:
        """(how many of `bodies` go, their batch body); received_at holds (id, when received) for each.
        `bodies` is never empty (the uplink packs only a batch it has)."""
        ends = list(accumulate(len(body) + 1 for body in bodies))   # raw bytes of the first k + 1
        fits, too_many, packed = 0, len(bodies) + 1, b""   # `fits` documents fit (in `packed`); `too_many` do not
        guesses = 3   # then halve the gap, so that a document mix that fools the ratio still ends soon
        while too_many - fits > 1:
            if guesses:
                guesses -= 1
                n = min(max(bisect_right(ends, self.limit * self._AIM / self.ratio), fits + 1), too_many - 1)
            else:
                n = (fits + too_many) // 2
            body = batch_body(bodies[:n], dict(received_at[:n]))
            if n >= self._LEARN_FROM:   # a few documents' body is mostly gzip's and the envelope's bytes
                self.ratio = len(body) / ends[n - 1]
            if len(body) <= self.limit or n == 1:
                fits, packed = n, body
                if len(body) >= self.limit * self._FULL:
                    break
            else:
                too_many = n
        return fits, packed


def _parse(response: httpx.Response, model: type[Model]) -> Model:
    """The cloud's answer as a model; an unreadable one is an UplinkError (retried), never a crash."""
    try:
        return model.model_validate(response.json())
    except (ValueError, ValidationError) as err:
        raise UplinkError(f"cloud answered {response.status_code} with an unreadable {model.__name__}") from err


def error_message(response: httpx.Response) -> str:
    """The cloud's one-line reason ({"error": {"message"}}), else the start of the body."""
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return response.text[:200] or response.reason_phrase
