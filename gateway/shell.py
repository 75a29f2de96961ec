"""Serves the till's static files. The service worker learns the shell's version here.

The version is a digest of every file of web_till, so any change to the till
makes tablets fetch a fresh shell on their next visit, and an unchanged till
keeps answering from its cache with the gateway gone.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from aiohttp import web

import web_till

SHELL_SUFFIXES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                  ".webmanifest": "application/manifest+json", ".svg": "image/svg+xml"}


def shell_files(root: Path = web_till.ROOT) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.suffix in SHELL_SUFFIXES and p.is_file())


def shell_version(root: Path = web_till.ROOT) -> str:
    digest = hashlib.sha256()
    for name in shell_files(root):
        digest.update(name.encode() + b"\0" + (root / name).read_bytes())
    return digest.hexdigest()[:16]


def shell_routes(root: Path = web_till.ROOT) -> list[web.RouteDef]:
    files = shell_files(root)
    version = shell_version(root)
    precache = ["/"] + [f"/{name}" for name in files if name not in ("sw.js", "index.html")]
    worker = ((root / "sw.js").read_text()
              .replace("__SHELL_VERSION__", version)
              .replace('"__SHELL_FILES__"', json.dumps(precache)))

    async def index(_request: web.Request) -> web.Response:
        return _file(root / "index.html")

    async def service_worker(_request: web.Request) -> web.Response:
        return web.Response(text=worker, content_type="text/javascript",
                            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"})

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in files:
            raise web.HTTPNotFound()
        return _file(root / name)

    return [web.get("/", index), web.get("/sw.js", service_worker), web.get("/{name}", asset)]


def _file(path: Path) -> web.Response:
    # no-cache: the browser revalidates; offline, the service worker's cache answers instead.
    return web.Response(body=path.read_bytes(), content_type=SHELL_SUFFIXES[path.suffix], charset="utf-8",
                        headers={"Cache-Control": "no-cache"})
