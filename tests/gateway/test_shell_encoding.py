"""The shell's content codings: brotli to a browser that takes it, gzip otherwise, the file as it is
otherwise; one ETag per coding; every coding decompresses to the same served bytes."""
from __future__ import annotations

import gzip
from typing import Any

import brotli
import pytest
from aiohttp import web

import web_till
from gateway.shell import (CHROMIUM_ACCEPT_ENCODING, StaticFile, accepts_br, accepts_gzip, content_coding,
                           served_files, served_size, shell_files, shell_routes)

BR = {"Accept-Encoding": "br"}
GZIP = {"Accept-Encoding": "gzip, deflate"}
IDENTITY = {"Accept-Encoding": "identity"}
CHROMIUM = {"Accept-Encoding": CHROMIUM_ACCEPT_ENCODING}


@pytest.fixture
async def shell(aiohttp_client: Any) -> Any:
    app = web.Application()
    app.router.add_routes(shell_routes())
    return await aiohttp_client(app)


def _paths() -> list[str]:
    return ["/" if name == "index.html" else f"/{name}" for name in shell_files()]


@pytest.mark.parametrize(("header", "coding"), [
    (CHROMIUM_ACCEPT_ENCODING, "br"),      # a counter tablet
    ("gzip, deflate", "gzip"),             # a browser without brotli
    ("br", "br"),
    ("BR", "br"),                          # codings are case-insensitive
    ("gzip, br", "br"),                    # rated alike (1): brotli, the smaller
    ("gzip;q=0.8, br;q=0.8", "br"),
    ("br;q=0.5, gzip", "gzip"),            # the client's preference wins over ours
    ("br;q=0.5, gzip;q=0.4", "br"),
    ("br;q=0, gzip;q=0.1", "gzip"),
    ("br;q=0", None),
    ("*", "br"),
    ("*;q=0.5, gzip", "gzip"),
    ("*, br;q=0", "gzip"),
    ("*;q=0", None),
    ("x-gzip", "gzip"),
    ("br;q=abc, gzip", "gzip"),            # an unreadable q-value takes nothing
    ("br;q=2, gzip;q=0.5", "gzip"),        # nor one outside 0..1
    ("deflate, zstd", None),               # codings the box does not make
    ("identity", None),
    ("", None),
])
def test_the_coding_is_chosen_by_q_value_brotli_first_at_equal_q(header: str, coding: str | None) -> None:
    assert content_coding(header) == coding


def test_only_a_coding_the_file_has_is_chosen() -> None:
    assert content_coding("br, gzip", offered=("gzip",)) == "gzip"
    assert content_coding("br", offered=("gzip",)) is None
    assert content_coding("br, gzip", offered=()) is None
    assert accepts_br(CHROMIUM_ACCEPT_ENCODING) and not accepts_br("gzip, deflate") and not accepts_br("br;q=0")
    assert accepts_gzip(CHROMIUM_ACCEPT_ENCODING) and not accepts_gzip("br")


async def test_every_file_goes_out_in_the_coding_asked_and_decodes_to_the_same_bytes(shell: Any) -> None:
    files, _ = served_files()
    coded = 0
    for path in _paths():
        plain = await shell.get(path, headers=IDENTITY, auto_decompress=False)
        body = await plain.read()
        assert plain.status == 200 and "Content-Encoding" not in plain.headers, path
        if files[path.lstrip("/") or "index.html"].brotli is None:   # context.js: 43 bytes, nothing to win
            assert "Content-Encoding" not in (await shell.get(path, headers=CHROMIUM)).headers
            continue
        coded += 1
        tags = {plain.headers["ETag"]}
        for headers, coding, decode in ((BR, "br", brotli.decompress), (CHROMIUM, "br", brotli.decompress),
                                        (GZIP, "gzip", gzip.decompress)):
            sent = await shell.get(path, headers=headers, auto_decompress=False)
            packed = await sent.read()
            assert sent.headers.get("Content-Encoding") == coding, (path, headers)
            assert sent.headers["Vary"] == "Accept-Encoding"
            assert decode(packed) == body and len(packed) < len(body), (path, coding)
            tags.add(sent.headers["ETag"])
        assert len(tags) == 3, (path, tags)   # identity, -br and -gz: three representations, three tags
    assert coded > 30


async def test_brotli_is_smaller_than_gzip_on_the_tills_code(shell: Any) -> None:
    # Why the box bothers: issue 7's budget is what the tablet downloads.
    for name in ("app.js", "i18n.js", "style.css"):
        br = await (await shell.get(f"/{name}", headers=BR, auto_decompress=False)).read()
        gz = await (await shell.get(f"/{name}", headers=GZIP, auto_decompress=False)).read()
        assert len(br) < len(gz), name


async def test_any_codings_etag_answers_304_with_the_tag_of_the_coding_asked(shell: Any) -> None:
    tags = {}
    for label, headers in (("br", BR), ("gzip", GZIP), ("identity", IDENTITY)):
        tags[label] = (await shell.get("/app.js", headers=headers)).headers["ETag"]
    assert tags["br"].endswith('-br"') and tags["gzip"].endswith('-gz"') and tags["identity"].count("-") == 0
    for held in tags.values():
        for label, headers in (("br", BR), ("gzip", GZIP), ("identity", IDENTITY)):
            again = await shell.get("/app.js", headers={**headers, "If-None-Match": held})
            assert again.status == 304 and again.headers["ETag"] == tags[label], (held, label)
    other = await shell.get("/app.js", headers={**BR, "If-None-Match": '"-br", ""'})
    assert other.status == 200   # a suffix alone, or an empty tag, names no content


def test_a_coding_that_would_not_shrink_the_file_is_not_offered() -> None:
    tiny = StaticFile.of(b"a" * 15, "text/plain")    # gzip's header alone is 18 bytes; brotli's is 1
    assert tiny.gzipped is None and tiny.brotli is not None and brotli.decompress(tiny.brotli) == tiny.body
    assert tiny.coding(CHROMIUM_ACCEPT_ENCODING) == "br" and tiny.coding("gzip") is None
    svg = StaticFile.of(b"<svg/>", "image/svg+xml")
    assert svg.gzipped is None and svg.brotli is None and svg.coding(CHROMIUM_ACCEPT_ENCODING) is None


async def test_served_size_counts_what_the_box_sends(shell: Any) -> None:
    """The figure against the budget (bench, tests/till/test_urdu.py) is the bytes on the wire."""
    from tests.gateway.test_shell_minify import esbuild_or_skip
    esbuild_or_skip()   # the page's modules are one bundle (/app.js)
    size = served_size()
    # What the page loads: the worker, the stylesheets and app.js, the whole till bundled (not the
    # modules inside it, which the box also serves one by one).
    assert size.names == ("app.js", "day.css", "print.css", "style.css", "sw.js")
    for total, headers in ((size.sent, CHROMIUM), (size.gzipped, GZIP), (size.minified, IDENTITY)):
        on_the_wire = 0
        for name in size.names:
            on_the_wire += len(await (await shell.get(f"/{name}", headers=headers, auto_decompress=False)).read())
        assert on_the_wire == total, headers
    assert size.sent < size.gzipped < size.minified
    assert served_size(web_till.ROOT, minify=False).minified > size.minified
