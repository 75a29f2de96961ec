"""The till's shell as the box serves it: gzip made once, validators, and cache lifetimes that the
service worker's versioning keeps correct."""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import web_till
from gateway.settings import GatewaySettings
from gateway.shell import IMMUTABLE, REVALIDATE, accepts_gzip, shell_bodies, shell_files, shell_routes
from tests.gateway.test_minify import node_or_skip

GZIP = {"Accept-Encoding": "gzip, deflate"}
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture
async def shell(aiohttp_client: Any) -> Any:
    app = web.Application()
    app.router.add_routes(shell_routes())
    return await aiohttp_client(app)


def precache_list(worker: str) -> list[list[str]]:
    """The list the box filled in, however the minifier wrote the constant that holds it."""
    return json.JSONDecoder().raw_decode(worker, worker.index('[["/", "/"]'))[0]


def worker_version(worker: str) -> str:
    """The shell's version the box filled in (`const VERSION = "..."`, or `n="..."` once minified)."""
    return re.search(r'\w\s*=\s*"([0-9a-f]{16})"', worker).group(1)


async def _precache(client: Any) -> list[list[str]]:
    return precache_list(await (await client.get("/sw.js")).text())


async def test_files_are_gzipped_when_the_request_accepts_it(shell: Any):
    served = shell_bodies()
    for name in ("app.js", "style.css", "index.html"):
        raw = served[name]
        packed = await shell.get(f"/{name}", headers=GZIP, auto_decompress=False)
        assert packed.status == 200 and packed.headers["Content-Encoding"] == "gzip"
        assert packed.headers["Vary"] == "Accept-Encoding"
        body = await packed.read()
        assert gzip.decompress(body) == raw and len(body) < len(raw) / 2
        plain = await shell.get(f"/{name}", headers=IDENTITY, auto_decompress=False)
        assert "Content-Encoding" not in plain.headers and plain.headers["Vary"] == "Accept-Encoding"
        assert await plain.read() == raw


async def test_a_file_gzip_cannot_shrink_is_sent_as_it_is(tmp_path: Path, aiohttp_client: Any):
    root = tmp_path / "till"
    shutil.copytree(web_till.ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "icon.svg").write_bytes(b"<svg/>")   # smaller than any gzip header
    app = web.Application()
    app.router.add_routes(shell_routes(root))
    client = await aiohttp_client(app)
    response = await client.get("/icon.svg", headers=GZIP, auto_decompress=False)
    assert "Content-Encoding" not in response.headers and await response.read() == b"<svg/>"


async def test_every_file_has_a_content_etag_and_answers_304(shell: Any):
    for name in shell_files():
        path = "/" if name == "index.html" else f"/{name}"
        first = await shell.get(path, headers=GZIP)
        tag = first.headers["ETag"]
        assert re.fullmatch(r'"[0-9a-f]{16}(-gz)?"', tag), (name, tag)
        again = await shell.get(path, headers={**GZIP, "If-None-Match": tag})
        assert again.status == 304 and again.headers["ETag"] == tag, name
        # The other encoding's tag names the same content: still unchanged (weak comparison).
        plain_tag = (await shell.get(path, headers=IDENTITY)).headers["ETag"]
        assert (await shell.get(path, headers={**GZIP, "If-None-Match": f"W/{plain_tag}"})).status == 304
    stale = await shell.get("/app.js", headers={"If-None-Match": '"0000000000000000"'})
    assert stale.status == 200


async def test_plain_urls_revalidate_and_versioned_urls_are_immutable(shell: Any):
    precache = await _precache(shell)
    assert precache[0] == ["/", "/"]   # the document itself is always revalidated
    assert (await shell.get("/")).headers["Cache-Control"] == REVALIDATE
    assert (await shell.get("/sw.js")).headers["Cache-Control"] == REVALIDATE
    for path, source in precache[1:]:
        assert re.fullmatch(re.escape(path) + r"\?v=[0-9a-f]{16}", source), source
        versioned = await shell.get(source)
        plain = await shell.get(path)
        assert versioned.headers["Cache-Control"] == IMMUTABLE and plain.headers["Cache-Control"] == REVALIDATE
        assert await versioned.read() == await plain.read()
        # A versioned URL names its content: the same digest as the file's ETag.
        assert source.split("=", 1)[1] in plain.headers["ETag"]
    # A version that is not the file's (an old worker, a typo) gets today's file, never kept for long.
    wrong = await shell.get("/app.js?v=0123456789abcdef")
    assert wrong.status == 200 and wrong.headers["Cache-Control"] == REVALIDATE


async def test_a_changed_file_gets_a_new_url_and_the_others_keep_theirs(tmp_path: Path, aiohttp_client: Any):
    """What keeps a year-long cache correct: a new shell version never reuses a URL for other bytes."""
    from tests.gateway.test_shell_minify import esbuild_or_skip
    esbuild_or_skip()   # the page's modules are one bundle (/app.js)
    root = tmp_path / "till"
    shutil.copytree(web_till.ROOT, root, ignore=shutil.ignore_patterns("__pycache__"))

    async def served(r: Path) -> tuple[str, dict[str, str]]:
        app = web.Application()
        app.router.add_routes(shell_routes(r))
        client = await aiohttp_client(app)
        worker = await (await client.get("/sw.js")).text()
        return worker_version(worker), dict(map(tuple, precache_list(worker)))

    before_version, before = await served(root)
    # A statement the page runs (an unused export would be left out of the bundle, rightly).
    (root / "money.js").write_text((root / "money.js").read_text() + "\nglobalThis.changed = 1;\n")
    after_version, after = await served(root)
    assert after_version != before_version
    changed = {path for path in before if before[path] != after[path]}
    # money.js is inside the page's bundle (/app.js), which the worker precaches in its place.
    assert changed == {"/app.js"} and "/money.js" not in after
    (root / "day.css").write_text((root / "day.css").read_text() + "\n.changed { color: red; }\n")
    css_version, with_css = await served(root)
    assert {path for path in after if after[path] != with_css[path]} == {"/day.css"}
    after_version, after = css_version, with_css
    # A new comment changes nothing a tablet receives: no new version, no new URL.
    (root / "money.js").write_text((root / "money.js").read_text() + "\n// only a comment\n")
    assert await served(root) == (after_version, after)


def test_accept_encoding_is_read_as_http_says():
    assert accepts_gzip("gzip, deflate, br") and accepts_gzip("br;q=1.0, gzip;q=0.5") and accepts_gzip("*")
    assert not accepts_gzip("") and not accepts_gzip("identity") and not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("*, gzip;q=0") and accepts_gzip("x-gzip")


def test_the_pairing_screen_waits_for_no_print_stylesheet():
    """Render-blocking is only what the first screen needs: the print sheet loads for print alone."""
    class Links(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.sheets: list[dict[str, str | None]] = []

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "link" and dict(attrs).get("rel") == "stylesheet":
                self.sheets.append(dict(attrs))

    parser = Links()
    parser.feed((web_till.ROOT / "index.html").read_text())
    media = {sheet["href"]: sheet.get("media") for sheet in parser.sheets}
    assert media["/print.css"] == "print"
    assert all(m in (None, "all", "screen") for href, m in media.items() if href != "/print.css")


def announced_modules(link: str) -> list[str]:
    return re.findall(r"</([\w.-]+\.js)>; rel=modulepreload", link)


def imported_modules() -> set[str]:
    """app.js and every module any of the till's modules imports."""
    imported = {"app.js"}
    for name in shell_files():
        if name.endswith(".js") and name != "sw.js":
            imported |= set(re.findall(r'from "\./([\w.-]+\.js)"', (web_till.ROOT / name).read_text()))
    return imported


async def test_the_page_loads_the_till_as_one_module(shell: Any, tmp_path: Path):
    """No import waterfall: with esbuild, /app.js is the whole till bundled (it imports nothing), the
    page's Link header announces it alone and the worker precaches no module inside it. (Without
    esbuild the page announces every module: test_shell_minify.py.)"""
    from tests.gateway.test_shell_minify import esbuild_or_skip
    esbuild_or_skip()
    assert announced_modules((await shell.get("/")).headers["Link"]) == ["app.js"]
    bundle = await (await shell.get("/app.js", headers=IDENTITY)).text()
    assert not re.search(r"""(?:\bfrom|\bimport)\s*\(?\s*["'`]""", bundle)   # no static or dynamic import left
    sources = sum(len((web_till.ROOT / name).read_bytes()) for name in imported_modules())
    assert len(bundle) < 0.85 * sources   # minified: every module's comments and indentation gone
    assert [path for path, _ in await _precache(shell) if path.endswith(".js")] == ["/app.js"]
    node = node_or_skip()
    (tmp_path / "bundle.mjs").write_text(bundle)
    check = subprocess.run([node, "--check", str(tmp_path / "bundle.mjs")], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr


async def test_the_till_is_served_minified_and_every_module_still_parses(shell: Any, tmp_path: Path):
    """Smaller than the source, and `node --check` takes each served module as it is."""
    node = node_or_skip()
    bundled = announced_modules((await shell.get("/")).headers["Link"]) == ["app.js"]
    total_source = total_served = 0
    for name in shell_files():
        if not name.endswith((".js", ".css")):
            continue
        source = (web_till.ROOT / name).read_bytes()
        served = await (await shell.get(f"/{name}", headers=IDENTITY)).read()
        if name == "app.js" and bundled:   # the whole till (test_the_page_loads_the_till_as_one_module)
            assert len(served) < sum(len((web_till.ROOT / m).read_bytes()) for m in imported_modules()) * 0.85
        else:
            if name != "sw.js":   # the worker as served also carries the precache list
                assert len(served) < len(source), name
            total_source, total_served = total_source + len(source), total_served + len(served)
        if name.endswith(".js"):
            module = tmp_path / f"{name}.mjs"
            module.write_bytes(served)
            check = subprocess.run([node, "--check", str(module)], capture_output=True, text=True, timeout=60)
            assert check.returncode == 0, f"{name}: {check.stderr}"
    assert total_served < total_source * 0.85   # comments and indentation are a quarter of the till


async def test_versioned_urls_and_etags_name_the_served_bytes(shell: Any):
    """`?v=` and the ETag are the hash of what goes out (minified), not of the file on disk."""
    for path, source in (await _precache(shell))[1:]:
        response = await shell.get(source, headers=IDENTITY)
        body = await response.read()
        digest = hashlib.sha256(body).hexdigest()[:16]
        assert source.endswith(f"?v={digest}") and response.headers["ETag"] == f'"{digest}"', path
        if path.endswith((".js", ".css")):
            assert body != (web_till.ROOT / path.lstrip("/")).read_bytes(), path


async def test_minify_off_serves_the_files_as_written_under_another_version(
        aiohttp_client: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("POSLINE_GATEWAY_MINIFY", "0")
    assert GatewaySettings(state_dir=tmp_path).minify is False
    monkeypatch.delenv("POSLINE_GATEWAY_MINIFY")
    assert GatewaySettings(state_dir=tmp_path).minify is True

    async def worker(minify: bool) -> tuple[Any, str]:
        app = web.Application()
        app.router.add_routes(shell_routes(minify=minify))
        client = await aiohttp_client(app)
        return client, await (await client.get("/sw.js")).text()

    plain, plain_worker = await worker(False)
    _, minified_worker = await worker(True)
    for name in ("app.js", "style.css"):
        assert await (await plain.get(f"/{name}")).read() == (web_till.ROOT / name).read_bytes()
    assert worker_version(plain_worker) != worker_version(minified_worker)
    assert precache_list(plain_worker) != precache_list(minified_worker)   # other bytes, other ?v=
    assert "// The service worker" in plain_worker and "// The service worker" not in minified_worker
