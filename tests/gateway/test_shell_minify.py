"""The till minified by esbuild at start-up, one process for every script, and the fallback to the
thinner (gateway/minify.py) when esbuild is missing or fails: the same program either way."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

import web_till
from gateway.minify import minify_js, minify_scripts
from gateway.shell import served_files, shell_bodies, shell_files, shell_routes
from tests.gateway.test_minify import TRICKY, node_or_skip
from tests.gateway.test_shell import announced_modules, imported_modules, precache_list, worker_version

SCRIPTS = [name for name in shell_files() if name.endswith(".js")]


def esbuild_or_skip() -> str:
    """esbuild, which `make test` installs (Makefile); a machine without it skips, CI fails."""
    found = shutil.which("esbuild")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail("esbuild is missing: `make test` installs it (apt install esbuild)")
    pytest.skip("esbuild is not installed (apt install esbuild)")


def _sources() -> dict[str, str]:
    return {name: (web_till.ROOT / name).read_text() for name in SCRIPTS}


@pytest.fixture
def no_esbuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def _fake_esbuild(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    where = tmp_path / "fake-bin"
    where.mkdir()
    fake = where / "esbuild"
    fake.write_text("#!/bin/sh\n" + script)
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{where}{os.pathsep}{os.environ.get('PATH', '')}")


def test_esbuild_minifies_every_script_smaller_than_the_thinner() -> None:
    esbuild_or_skip()
    minified, by = minify_scripts(_sources())
    assert by == "esbuild" and set(minified) == set(SCRIPTS)
    thinned = sum(len(minify_js(source).encode()) for source in _sources().values())
    assert sum(len(text.encode()) for text in minified.values()) < thinned * 0.85   # locals renamed
    assert "\\u06" not in minified["i18n.js"] and "اردو" in minified["i18n.js"]    # Urdu as UTF-8, not escapes


def test_the_esbuild_minified_module_runs_the_same_program(tmp_path: Path) -> None:
    """ASI, regex versus division, nested templates, private fields, top-level await: the same output."""
    esbuild_or_skip()
    node = node_or_skip()
    minified, by = minify_scripts({"tricky.js": TRICKY})
    assert by == "esbuild"
    outputs = []
    for name, text in (("source.mjs", TRICKY), ("minified.mjs", minified["tricky.js"])):
        (tmp_path / name).write_text(text)
        run = subprocess.run([node, str(tmp_path / name)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        outputs.append(run.stdout)
    assert outputs[0] == outputs[1] and '" · R-1"' in outputs[0]
    assert len(minified["tricky.js"]) < len(minify_js(TRICKY))


def test_every_served_module_keeps_its_exports_and_pure_ones_compute_the_same(tmp_path: Path) -> None:
    """Each module stays a module with the same export names (no bundling, no format change); the
    pure ones (money, loose, cart, tax...) give the same answers as the source."""
    esbuild_or_skip()
    node = node_or_skip()
    served = tmp_path / "served"
    served.mkdir()
    for name, body in shell_bodies().items():
        if name.endswith(".js"):
            (served / name).write_bytes(body)
    script = """
      const [source, served, names] = process.argv.slice(1, 4);
      const out = {};
      for (const name of JSON.parse(names)) {
        const keys = [];
        for (const root of [source, served]) {
          try { keys.push(Object.keys(await import(root + name)).sort()); } catch (err) { keys.push("throws"); }
        }
        out[name] = keys;
      }
      const pure = {};
      for (const root of [source, served]) {
        const money = await import(root + "money.js"), loose = await import(root + "loose.js");
        pure[root === source ? "source" : "served"] = [money.formatRs(123456), money.parseRupees("۲٬۵۰۰٫۵۰"),
          loose.parseLoose("۲۵۰ گرام", "kg"), loose.parseLoose("Rs 50", "kg")];
      }
      out["(pure)"] = [pure.source, pure.served];
      process.stdout.write(JSON.stringify(out));"""
    modules = [name for name in SCRIPTS if name not in ("sw.js", "app.js")]   # app.js starts the till
    run = subprocess.run([node, "--input-type=module", "-e", script, web_till.ROOT.as_uri() + "/",
                          served.as_uri() + "/", json.dumps(modules)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    found = json.loads(run.stdout)
    pure = found.pop("(pure)")
    assert pure[0] == pure[1] and pure[0][1] == 250050
    loaded = {name: keys for name, keys in found.items() if keys[0] != "throws"}
    assert len(loaded) >= 10, found   # most modules load in node (no DOM at import time)
    assert sum(len(keys[0]) for keys in loaded.values()) > 100   # export names compared, not empty lists
    for name, (source_keys, served_keys) in found.items():
        assert source_keys == served_keys, name


def test_the_service_worker_stays_a_classic_script_with_its_blanks_filled(tmp_path: Path) -> None:
    """sw.js is registered as a classic script: no import or export may appear in it, and the box
    must still find the blanks it fills in (the version, the precache list)."""
    esbuild_or_skip()
    node = node_or_skip()
    files, by = served_files()
    assert by == "esbuild"
    worker = files["sw.js"].body.decode()
    assert "__SHELL" not in worker and len(worker_version(worker)) == 16
    assert [path for path, _ in precache_list(worker)][:2] == ["/", "/app.js"]   # the page's one module
    (tmp_path / "sw.cjs").write_text(worker)   # .cjs: node parses it as a script, not a module
    check = subprocess.run([node, "--check", str(tmp_path / "sw.cjs")], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "addEventListener(\"fetch\"" in worker and "// The service worker" not in worker


async def test_without_esbuild_the_box_serves_the_till_thinned_and_says_so_once(
        no_esbuild: None, caplog: pytest.LogCaptureFixture, aiohttp_client: Any) -> None:
    with caplog.at_level(logging.WARNING):
        minified, by = minify_scripts(_sources())
    assert by == "gateway/minify.py"
    assert minified == {name: minify_js(source, name) for name, source in _sources().items()}
    said = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(said) == 1 and "esbuild is not on PATH" in said[0].getMessage()

    # And the box serves it: a working worker, every file, the thinned bytes.
    app = web.Application()
    app.router.add_routes(shell_routes())
    client = await aiohttp_client(app)
    worker = await (await client.get("/sw.js")).text()
    assert len(precache_list(worker)) == len(shell_files()) - 1   # all but sw.js and index.html, plus "/"
    assert await (await client.get("/money.js")).text() == minify_js((web_till.ROOT / "money.js").read_text())
    # No bundle without esbuild: the page loads the modules, and announces them all at once.
    announced = announced_modules((await client.get("/")).headers["Link"])
    assert announced[0] == "app.js" and set(announced) == imported_modules() and len(announced) == len(set(announced))
    assert await (await client.get("/app.js")).text() == minify_js((web_till.ROOT / "app.js").read_text())


@pytest.mark.parametrize(("script", "said"), [
    ('echo "✘ [ERROR] Unexpected \\"}\\"" >&2; exit 1\n', "exited with 1: ✘ [ERROR] Unexpected"),
    ("exit 0\n", "wrote no"),   # exits well but writes nothing
])
def test_a_failing_esbuild_falls_back_to_the_thinner(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, script: str, said: str):
    _fake_esbuild(tmp_path, monkeypatch, script)
    with caplog.at_level(logging.WARNING):
        minified, by = minify_scripts({"money.js": _sources()["money.js"]})
    assert by == "gateway/minify.py" and minified["money.js"] == minify_js(_sources()["money.js"])
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and said in warnings[0], warnings


async def test_an_esbuild_that_cannot_bundle_leaves_the_page_its_modules(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, aiohttp_client: Any):
    """Bundling failing alone: the modules are still esbuild's, the page loads them one by one (all
    announced in its Link header, all precached), and one log line says why."""
    real = esbuild_or_skip()
    _fake_esbuild(tmp_path, monkeypatch, 'case "$*" in *--bundle*) echo "no bundling today" >&2; exit 3;; esac\n'
                                         f'exec {real} "$@"\n')
    with caplog.at_level(logging.WARNING):
        files, by = served_files()
        app = web.Application()
        app.router.add_routes(shell_routes())
    client = await aiohttp_client(app)
    assert by == "esbuild"
    minified, _ = minify_scripts(_sources())
    assert files["app.js"].body.decode() == minified["app.js"]   # the module, not a bundle
    announced = announced_modules((await client.get("/")).headers["Link"])
    assert announced[0] == "app.js" and set(announced) == imported_modules()
    precached = {path for path, _ in precache_list(await (await client.get("/sw.js")).text())}
    assert {f"/{name}" for name in imported_modules()} <= precached
    said = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert said and all("not bundled" in s and "no bundling today" in s for s in said), said


def test_the_fallback_is_a_different_shell_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another minifier is other bytes: a tablet must fetch them under a new version and new `?v=`."""
    esbuild_or_skip()
    minified = served_files()[0]
    monkeypatch.setenv("PATH", str(tmp_path))   # nothing there
    thinned = served_files()[0]
    assert worker_version(thinned["sw.js"].body.decode()) != worker_version(minified["sw.js"].body.decode())
    assert thinned["app.js"].digest != minified["app.js"].digest
