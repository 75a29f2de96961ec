"""Serves the till's static files. The service worker learns the shell's version here.

The version is a digest of every file of web_till as served, so any change to the till
makes tablets fetch a fresh shell on their next visit, and an unchanged till
keeps answering from its cache with the gateway gone.

Every file is read, minified, hashed and compressed once, at start-up (the till is
package data: it does not change under a running box), so a request costs a dict lookup:

- JavaScript is minified by esbuild, CSS by rcssmin (gateway/minify.py; without esbuild the
  JavaScript is only thinned, and one log line says so): the source explains itself, the tablet
  needs none of it. Everything below (the version, `?v=`, ETags, compression) is of the bytes served.
  POSLINE_GATEWAY_MINIFY=0 serves the files as written, to read them in a browser.
- With esbuild, /app.js is the whole till in one module (gateway/minify.py bundle_scripts): the page
  loads that one script, the service worker precaches it and not the modules inside it, and
  served_size counts what the page loads. The modules are still served one by one, minified.
- Each file precompressed twice: brotli (quality 11, what Chromium takes over HTTPS) and gzip -9
  (for a browser without brotli), and sent in the coding the request's Accept-Encoding rates highest,
  brotli when it rates them alike (on the till about 12% smaller than gzip, and issue 7's budget is
  what a tablet downloads); as it is when it takes neither. `Vary: Accept-Encoding` always.
- An ETag from the content's hash on every file, one per coding (`-br`, `-gz`); `If-None-Match`
  answers 304 to any of them.
- Cache lifetimes: a plain URL (`/app.js`) is `no-cache` (revalidated, a cheap
  304), because the page may load it without the service worker and must never
  mix two versions of the till. A versioned URL (`/app.js?v=<its hash>`, only
  the service worker asks for those) names one exact content, so it is cached
  for a year, immutable: when a new shell version installs, every file that did
  not change comes from the HTTP cache and only the changed ones cross the LAN.
  A `?v=` that is not the file's current hash gets today's file, `no-cache`.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import json
import logging
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import brotli
from aiohttp import web

import web_till

from .minify import EsbuildFailed, bundle_scripts, minify_css, minify_js, minify_scripts

log = logging.getLogger(__name__)

SHELL_SUFFIXES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                  ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml"}
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"
# The codings the box makes, best first: the one sent when a request rates both alike.
CODINGS = ("br", "gzip")
_TAG_SUFFIX = {"br": "-br", "gzip": "-gz", None: ""}
# What Chromium (a counter tablet) asks for over HTTPS; zstd is one the box does not make.
CHROMIUM_ACCEPT_ENCODING = "gzip, deflate, br, zstd"


def shell_files(root: Path = web_till.ROOT) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.suffix in SHELL_SUFFIXES and p.is_file())


def shell_bodies(root: Path = web_till.ROOT, minify: bool = True) -> dict[str, bytes]:
    """Every shell file as the box sends it: JavaScript and CSS minified unless `minify` is off."""
    return _minified(root, minify)[0]


# The page's one script (index.html), which imports the rest.
ENTRY = "app.js"


def _minified(root: Path, minify: bool) -> tuple[dict[str, bytes], str, list[str]]:
    """The shell's bodies, what minified its JavaScript ("esbuild", "gateway/minify.py", "none"), and
    the modules the page loads: app.js alone when it is served bundled (gateway/minify.py
    bundle_scripts: with esbuild), else app.js and every module it imports."""
    bodies = {name: (root / name).read_bytes() for name in shell_files(root)}
    modules = module_graph(root, ENTRY)
    if not minify:
        return bodies, "none", modules
    sources = {n: b.decode() for n, b in bodies.items() if n.endswith(".js")}   # UTF-8, whatever the locale
    scripts, minifier = minify_scripts(sources)
    bodies.update((name, text.encode()) for name, text in scripts.items())
    bodies.update({name: minify_css(b.decode()).encode() for name, b in bodies.items() if name.endswith(".css")})
    if minifier == "esbuild":
        try:
            bodies[ENTRY] = bundle_scripts({name: sources[name] for name in modules}, ENTRY).encode()
            modules = [ENTRY]
        except (OSError, subprocess.SubprocessError, EsbuildFailed, UnicodeDecodeError) as err:
            log.warning("serving the till as %d modules, not bundled: %s", len(modules), err)
    return bodies, minifier, modules


def shell_version(bodies: dict[str, bytes]) -> str:
    """A digest of the files as served (sw.js before its version is filled in).

    Of the served bytes, not the source: an edit to a comment sends no tablet a new shell, and
    turning minification off or on (or a new minifier) does.
    """
    digest = hashlib.sha256()
    for name in sorted(bodies):
        digest.update(name.encode() + b"\0" + bodies[name])
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class StaticFile:
    """One file as served: its bytes, its brotli and gzip forms (None when one would not shrink it), its hash."""

    body: bytes
    brotli: bytes | None
    gzipped: bytes | None
    content_type: str
    digest: str   # of the uncompressed bytes: names the content, whatever the coding

    @classmethod
    def of(cls, body: bytes, content_type: str) -> StaticFile:
        return cls(body, *_compressed(body), content_type, hashlib.sha256(body).hexdigest()[:16])

    def coding(self, accept_encoding: str) -> str | None:
        """The coding this file goes out in for that Accept-Encoding; None: as it is."""
        return content_coding(accept_encoding, [c for c in CODINGS if self.encoded(c) is not None])

    def encoded(self, coding: str | None) -> bytes | None:
        return {"br": self.brotli, "gzip": self.gzipped, None: self.body}[coding]

    def etag(self, coding: str | None) -> str:
        # Each coding is a representation of its own: a strong ETag must tell them apart.
        return f'"{self.digest}{_TAG_SUFFIX[coding]}"'

    def response(self, request: web.Request, cache_control: str) -> web.Response:
        coding = self.coding(request.headers.get("Accept-Encoding", ""))
        headers = {"Cache-Control": cache_control, "ETag": self.etag(coding), "Vary": "Accept-Encoding"}
        if _matches(request.headers.get("If-None-Match"), self.digest):
            return web.Response(status=304, headers=headers)
        if coding is not None:
            headers["Content-Encoding"] = coding
        return web.Response(body=self.encoded(coding), content_type=self.content_type, charset="utf-8",
                            headers=headers)


@functools.lru_cache(maxsize=128)
def _compressed(body: bytes) -> tuple[bytes | None, bytes | None]:
    """brotli (quality 11) and gzip -9 of `body`, each None when it would not shrink it.

    Remembered by content: brotli at quality 11 costs about 0.15 s for the whole till here (several
    times that on a Pi), once per start; a test process makes hundreds of apps serving one till.
    """
    squeezed = brotli.compress(body, quality=11)
    # mtime=0: the same file gzips to the same bytes on every start, so nothing else changes either.
    packed = gzip.compress(body, compresslevel=9, mtime=0)
    return (squeezed if len(squeezed) < len(body) else None), (packed if len(packed) < len(body) else None)


def content_coding(accept_encoding: str, offered: Sequence[str] = CODINGS) -> str | None:
    """Which of `offered` to send for an Accept-Encoding header: the one it rates highest, the first of
    CODINGS (brotli) when it rates them alike; None (the file as it is) when it takes none of them.

    A coding is taken when named, or covered by `*`, and not with q=0 (RFC 9110 12.5.3); `x-gzip` is gzip.
    """
    rated = _ratings(accept_encoding)
    chosen, best = None, 0.0
    for coding in CODINGS:
        q = _rating(rated, coding)
        if coding in offered and q > best:
            chosen, best = coding, q
    return chosen


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (named, or `*`, and not with q=0)."""
    return _rating(_ratings(accept_encoding), "gzip") > 0


def accepts_br(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes brotli (named, or `*`, and not with q=0)."""
    return _rating(_ratings(accept_encoding), "br") > 0


def _ratings(accept_encoding: str) -> dict[str, float]:
    """Each coding the header names, with its q-value (1 when none; 0 when unreadable or not in 0..1)."""
    rated = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
                if not 0.0 <= q <= 1.0:   # NaN too
                    q = 0.0
        rated[coding.strip()] = q
    return rated


def _rating(rated: dict[str, float], coding: str) -> float:
    if coding in rated:
        return rated[coding]
    if coding == "gzip" and "x-gzip" in rated:
        return rated["x-gzip"]
    return rated.get("*", 0.0)


def _matches(if_none_match: str | None, digest: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): every coding's tag names the same content."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag in {digest + suffix for suffix in _TAG_SUFFIX.values()}:
            return True
    return False


_IMPORT = re.compile(r"""^\s*import\s(?:[^"';]*?\sfrom\s)?["']\./([\w.-]+\.js)["']""", re.MULTILINE)


def module_graph(root: Path, entry: str = "app.js") -> list[str]:
    """Every module `entry` imports statically, directly or not, `entry` first.

    The till's page names only app.js; the browser learns of each import only once it has fetched and
    parsed the module that names it, eight levels deep. Announcing them all with the page (a
    `Link: rel=modulepreload` header) lets them be fetched and compiled at once.
    """
    seen, queue = [], [entry]
    while queue:
        name = queue.pop(0)
        if name in seen or not (root / name).is_file():
            continue
        seen.append(name)
        queue += _IMPORT.findall((root / name).read_text())
    return seen


# Filled in by served_files: the shell's version, and the list of files the worker precaches.
WORKER_BLANKS = ("__SHELL_VERSION__", '"__SHELL_FILES__"')


def served_files(root: Path = web_till.ROOT, minify: bool = True) -> tuple[dict[str, StaticFile], str]:
    """Every file of the shell as served (sw.js as the worker, its blanks filled in), and what minified them."""
    files, minifier, _ = served_shell(root, minify)
    return files, minifier


def served_shell(root: Path = web_till.ROOT, minify: bool = True) -> tuple[dict[str, StaticFile], str, list[str]]:
    """served_files, and the modules the page loads (app.js alone when bundled: _minified)."""
    bodies, minifier, modules = _minified(root, minify)
    if not all(blank.encode() in bodies["sw.js"] for blank in WORKER_BLANKS):
        # A minifier that rewrote a blank would serve a worker that precaches nothing: thin it instead.
        log.warning("%s rewrote the service worker's blanks: serving sw.js thinned", minifier)
        bodies["sw.js"] = minify_js((root / "sw.js").read_text(), "sw.js").encode()
    names = sorted(bodies)
    version = shell_version(bodies)
    files = {name: StaticFile.of(body, SHELL_SUFFIXES[Path(name).suffix]) for name, body in bodies.items()}
    # What the service worker precaches: [the path the page asks for, the URL to fetch it from]; of the
    # modules, those the page loads (a bundled app.js holds the others). "/" is fetched as itself
    # (revalidated): the till's document keeps no versioned twin.
    precache = [["/", "/"]] + [[f"/{name}", f"/{name}?v={files[name].digest}"]
                               for name in names if name not in ("sw.js", "index.html")
                               and (not name.endswith(".js") or name in modules)]
    version_blank, files_blank = WORKER_BLANKS
    files["sw.js"] = StaticFile.of(bodies["sw.js"].decode()
                                   .replace(version_blank, version)
                                   .replace(files_blank, json.dumps(precache)).encode(), "text/javascript")
    return files, minifier, modules


@dataclass(frozen=True)
class ServedSize:
    """The till's JavaScript and CSS as the box serves them (issue 7's budget), file by file."""

    names: tuple[str, ...]
    minified: int   # bytes before compression
    sent: int       # what Chromium receives: each file in the coding the box answers its Accept-Encoding with
    gzipped: int    # each file as gzip -9 (what a browser without brotli receives)
    minifier: str


def served_size(root: Path = web_till.ROOT, minify: bool = True) -> ServedSize:
    """What a tablet downloads of the till's code on a fresh load: the modules the page loads, every .css,
    and the worker as served."""
    files, minifier, modules = served_shell(root, minify)
    names = tuple(sorted(n for n in files if n.endswith(".css") or n == "sw.js" or n in modules))

    def total(accept_encoding: str) -> int:
        return sum(len(files[n].encoded(files[n].coding(accept_encoding))) for n in names)

    return ServedSize(names, total("identity"), total(CHROMIUM_ACCEPT_ENCODING), total("gzip"), minifier)


def shell_routes(root: Path = web_till.ROOT, minify: bool = True) -> list[web.RouteDef]:
    """The till's routes: the page, its service worker and every file of the shell."""
    files, minifier, modules = served_shell(root, minify)
    worker = files["sw.js"]
    log.info("the till: %d files, JavaScript minified by %s, the page loads %s", len(files), minifier,
             "one bundle" if modules == [ENTRY] else f"{len(modules)} modules")
    preload = ", ".join(f"</{name}>; rel=modulepreload" for name in modules)

    async def index(request: web.Request) -> web.Response:
        response = files["index.html"].response(request, REVALIDATE)
        response.headers["Link"] = preload
        return response

    async def service_worker(request: web.Request) -> web.Response:
        # no-cache always: browsers check the worker for updates, and a new till is a new worker.
        response = worker.response(request, REVALIDATE)
        response.headers["Service-Worker-Allowed"] = "/"
        return response

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            raise web.HTTPNotFound()
        static = files[name]
        versioned = request.query.get("v") == static.digest
        return static.response(request, IMMUTABLE if versioned else REVALIDATE)

    return [web.get("/", index), web.get("/sw.js", service_worker), web.get("/{name}", asset)]
