"""Serves the till's static files. The service worker learns the shell's version here.

The version is a digest of every file of web_till as served, so any change to the till
makes tablets fetch a fresh shell on their next visit, and an unchanged till
keeps answering from its cache with the gateway gone.

Every file is read, minified, hashed and gzipped once, at start-up (the till is
package data: it does not change under a running box), so a request costs a dict lookup:

- JavaScript and CSS are served without their comments and indentation
  (gateway/minify.py): the source explains itself, the tablet needs none of it.
  Everything below (the version, `?v=`, ETags, gzip) is of the bytes served.
  POSLINE_GATEWAY_MINIFY=0 serves the files as written, to read them in a browser.
- gzip when the request accepts it (`Vary: Accept-Encoding` either way): the
  shell's JavaScript and CSS shrink about 4x, which is most of a first load on a
  tablet's Wi-Fi.
- An ETag from the content's hash on every file; `If-None-Match` answers 304.
- Cache lifetimes: a plain URL (`/app.js`) is `no-cache` (revalidated, a cheap
  304), because the page may load it without the service worker and must never
  mix two versions of the till. A versioned URL (`/app.js?v=<its hash>`, only
  the service worker asks for those) names one exact content, so it is cached
  for a year, immutable: when a new shell version installs, every file that did
  not change comes from the HTTP cache and only the changed ones cross the LAN.
  A `?v=` that is not the file's current hash gets today's file, `no-cache`.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

import web_till

from .minify import minify_css, minify_js

SHELL_SUFFIXES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                  ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml"}
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


def shell_files(root: Path = web_till.ROOT) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.suffix in SHELL_SUFFIXES and p.is_file())


def shell_bodies(root: Path = web_till.ROOT, minify: bool = True) -> dict[str, bytes]:
    """Every shell file as the box sends it: JavaScript and CSS minified unless `minify` is off."""
    bodies = {}
    for name in shell_files(root):
        body = (root / name).read_bytes()
        if minify and name.endswith(".js"):
            body = minify_js(body.decode(), name).encode()
        elif minify and name.endswith(".css"):
            body = minify_css(body.decode()).encode()
        bodies[name] = body
    return bodies


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
    """One file as served: its bytes, its gzip form (None when gzip would not shrink it), its hash."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    digest: str   # of the uncompressed bytes: names the content, whatever the encoding

    @classmethod
    def of(cls, body: bytes, content_type: str) -> StaticFile:
        # mtime=0: the same file gzips to the same bytes on every start, so nothing else changes either.
        packed = gzip.compress(body, compresslevel=9, mtime=0)
        return cls(body, packed if len(packed) < len(body) else None, content_type,
                   hashlib.sha256(body).hexdigest()[:16])

    def etag(self, encoded: bool) -> str:
        # Two encodings are two representations: a strong ETag must tell them apart.
        return f'"{self.digest}-gz"' if encoded else f'"{self.digest}"'

    def response(self, request: web.Request, cache_control: str) -> web.Response:
        encoded = self.gzipped is not None and accepts_gzip(request.headers.get("Accept-Encoding", ""))
        headers = {"Cache-Control": cache_control, "ETag": self.etag(encoded), "Vary": "Accept-Encoding"}
        if _matches(request.headers.get("If-None-Match"), self.digest):
            return web.Response(status=304, headers=headers)
        if encoded:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=self.gzipped if encoded else self.body, content_type=self.content_type,
                            charset="utf-8", headers=headers)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header takes gzip (named, or `*`, and not with q=0)."""
    chosen = {}
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
        chosen[coding.strip()] = q
    return chosen.get("gzip", chosen.get("x-gzip", chosen.get("*", 0.0))) > 0


def _matches(if_none_match: str | None, digest: str) -> bool:
    """Weak comparison (RFC 9110 13.1.2): either encoding's tag names the same content."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*":
            return True
        tag = tag.removeprefix("W/").strip('"')
        if tag in (digest, f"{digest}-gz"):
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


def shell_routes(root: Path = web_till.ROOT, minify: bool = True) -> list[web.RouteDef]:
    """The till's routes: the page, its service worker and every file of the shell."""
    bodies = shell_bodies(root, minify)
    names = sorted(bodies)
    version = shell_version(bodies)
    files = {name: StaticFile.of(body, SHELL_SUFFIXES[Path(name).suffix]) for name, body in bodies.items()}
    # What the service worker precaches: [the path the page asks for, the URL to fetch it from].
    # "/" is fetched as itself (revalidated): the till's document keeps no versioned twin.
    precache = [["/", "/"]] + [[f"/{name}", f"/{name}?v={files[name].digest}"]
                               for name in names if name not in ("sw.js", "index.html")]
    worker = StaticFile.of(bodies["sw.js"].decode()
                           .replace("__SHELL_VERSION__", version)
                           .replace('"__SHELL_FILES__"', json.dumps(precache)).encode(), "text/javascript")

    preload = ", ".join(f"</{name}>; rel=modulepreload" for name in module_graph(root))

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
