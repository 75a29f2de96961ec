"""Smaller copies of the till's JavaScript and CSS for the box to serve; the source keeps its comments.

JavaScript goes through esbuild (Debian's `esbuild` package, on the box and on every test machine):
all the till's scripts in one process at start-up, `--minify` without bundling, so each module stays
a module with its own import and export names, and a classic script (the service worker) stays a
classic script (no `--format`: esbuild converts nothing, it only shortens). It renames locals, which
the till allows: nothing in it reads a function's or a class's `.name` or `Function.toString`, and
modules are strict code. `--charset=utf8` keeps the Urdu dictionary as UTF-8 (2 bytes a letter)
instead of 6-byte escapes. No `--target`: esbuild then lowers none of the till's syntax, and its
own rewrites use nothing newer than ES2021 (`||=`), which the till's source already uses.
Without esbuild on PATH, or when it fails, one log line says so and the box serves the till thinned
by the reader below instead: larger (about half again as much to a tablet), never broken.

The page itself loads one module (bundle_scripts, issue 12's first load): app.js with every module it
imports, bundled and minified by esbuild. 32 modules were 32 requests over the six connections HTTP/1.1
allows and 32 module records to link, which at 4x CPU throttle left the pairing screen ~1 s away;
bundled it paints a third sooner. The modules are still served and minified one by one (above), for
tests that import one, and as the page's fallback when bundling fails (gateway/shell.py: one log line,
and the page loads the 32 modules as before).

The thinner does not rewrite: comments, indentation, trailing spaces, blank lines and runs
of spaces go, and nothing else. Every line break left in code stays (automatic semicolon insertion
reads them), and every string, template literal (nested ones too) and regular expression is copied
byte for byte, so the till runs the same program. rjsmin was tried first and left out: it takes a
template literal for `[^`]*`, so a nested one (`${ref ? ` · ${ref}` : ""}` on a receipt) lost its
spaces while the output still parsed. A module this reader cannot follow to its end (an unclosed
string, template, comment or regular expression) is served as written.

CSS goes through rcssmin, which knows CSS's own strings, comments and `calc()` spacing (esbuild's
CSS minifier was measured too: no smaller once compressed).
"""
from __future__ import annotations

import contextlib
import functools
import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import rcssmin

log = logging.getLogger(__name__)

# After one of these words a `/` opens a regular expression; after any other word, a division.
_BEFORE_REGEX_WORDS = {"return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw",
                       "case", "do", "else", "yield", "await"}
_WORD = re.compile(r"[\w$\u0080-\uffff]+")
_SPACE = " \t"
_LINE_BREAK = re.compile("[\r\n\u2028\u2029]")


class _Unfinished(ValueError):
    """The module ended inside a string, template, comment or regular expression."""


def minify_css(source: str) -> str:
    """The stylesheet without comments and spaces CSS does not read."""
    return rcssmin.cssmin(source)


ESBUILD = "esbuild"
# Stable flags of esbuild 0.17 (Debian 12's): no renaming across files, no bundling, no format change.
ESBUILD_FLAGS = ("--minify", "--charset=utf8", "--log-level=error")
# Seconds for each of esbuild's two runs, the modules and the bundle (each 0.1 s on a laptop, about 1 s
# on a Raspberry Pi). They run before the box tells systemd it is ready (TimeoutStartSec=90 in
# systemd/posline-gateway.service): a wedged esbuild must give way (to the thinner, or to the modules
# unbundled) well before systemd would kill a box that could have served its till, 40 s at most.
ESBUILD_TIMEOUT_S = 20


class EsbuildFailed(RuntimeError):
    """esbuild ran and did not minify every script (a syntax it refuses, a crash, a missing output)."""


def minify_scripts(sources: dict[str, str]) -> tuple[dict[str, str], str]:
    """Every script minified, and by what: esbuild (one process) when on PATH, else the thinner."""
    if not sources:
        return {}, "nothing"
    esbuild = shutil.which(ESBUILD)
    try:
        if esbuild is None:
            raise FileNotFoundError("esbuild is not on PATH (apt install esbuild)")
        return dict(_esbuild(esbuild, tuple(sorted(sources.items())))), "esbuild"
    except (OSError, subprocess.SubprocessError, EsbuildFailed, UnicodeDecodeError) as err:
        log.warning("serving the till's JavaScript thinned by gateway/minify.py, not minified by esbuild: %s",
                    err)
    return {name: minify_js(source, name) for name, source in sources.items()}, "gateway/minify.py"


@functools.lru_cache(maxsize=4)
def _esbuild(esbuild: str, sources: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """esbuild's output for each (name, source). Remembered by content: every app a test process makes
    (hundreds) serves the same till, and a failure is not remembered (an exception is not cached)."""
    with _written(sources) as src:
        out = src.parent / "out"
        _run(esbuild, [*ESBUILD_FLAGS, f"--outdir={out}", *(str(src / name) for name, _ in sources)])
        try:
            return tuple((name, (out / name).read_bytes().decode()) for name, _ in sources)
        except FileNotFoundError as err:
            raise EsbuildFailed(f"{esbuild} wrote no {Path(err.filename).name}") from err


# One module of the whole page: every import resolved inside it (esbuild renames across modules, which
# the till allows for the same reasons as above), still an ES module (the page loads it as one).
ESBUILD_BUNDLE_FLAGS = ("--bundle", "--format=esm")


def bundle_scripts(sources: dict[str, str], entry: str) -> str:
    """`entry` and every module it imports (all of them in `sources`, by file name), as one minified ES
    module (esbuild --bundle). Raises what minify_scripts falls back on: no esbuild (OSError), a
    failure (EsbuildFailed, subprocess.SubprocessError)."""
    esbuild = shutil.which(ESBUILD)
    if esbuild is None:
        raise FileNotFoundError("esbuild is not on PATH (apt install esbuild)")
    return _esbuild_bundle(esbuild, tuple(sorted(sources.items())), entry)


@functools.lru_cache(maxsize=4)
def _esbuild_bundle(esbuild: str, sources: tuple[tuple[str, str], ...], entry: str) -> str:
    with _written(sources) as src:
        out = src.parent / "bundle.js"
        _run(esbuild, [*ESBUILD_FLAGS, *ESBUILD_BUNDLE_FLAGS, f"--outfile={out}", str(src / entry)])
        try:
            return out.read_bytes().decode()
        except FileNotFoundError as err:
            raise EsbuildFailed(f"{esbuild} wrote no bundle") from err


@contextlib.contextmanager
def _written(sources: tuple[tuple[str, str], ...]) -> Iterator[Path]:
    """A temporary directory holding each (name, source), as written (line breaks reach esbuild as they are)."""
    with tempfile.TemporaryDirectory(prefix="posline-esbuild-") as tmp:
        src = Path(tmp, "src")
        src.mkdir()
        for name, source in sources:
            (src / name).write_bytes(source.encode())
        yield src


def _run(esbuild: str, args: list[str]) -> None:
    try:
        run = subprocess.run([esbuild, *args], capture_output=True, text=True, timeout=ESBUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as err:
        # Said shortly: the exception's own text holds the whole command line, every path in it.
        raise EsbuildFailed(f"{esbuild} took more than {ESBUILD_TIMEOUT_S} s") from err
    if run.returncode != 0:
        said = " ".join(run.stderr.split())[:400] or "no message"
        raise EsbuildFailed(f"{esbuild} exited with {run.returncode}: {said}")


def minify_js(source: str, name: str = "<module>") -> str:
    """The module without comments, indentation, blank lines or runs of spaces; as written if unreadable."""
    try:
        return _thin(source)
    except _Unfinished as err:
        log.warning("serving %s as written: %s", name, err)
        return source


def _thin(src: str) -> str:
    out: list[str] = []
    # Open template literals, innermost last: the `{` depth of the `${` that left each one's text.
    templates: list[int] = []
    depth = 0                 # `{` opened and not closed, in code
    regex_ok = True           # whether a `/` here starts a regular expression (by what came before)
    pending_space = False     # spaces seen in code since the last token: one is written if needed
    i, n = 0, len(src)

    def emit(text: str) -> None:
        nonlocal pending_space
        if pending_space and out and out[-1][-1:] != "\n":
            out.append(" ")
        pending_space = False
        out.append(text)

    def newline() -> None:
        nonlocal pending_space
        pending_space = False
        if out and out[-1][-1:] != "\n":    # a blank line, or a break at the start, says nothing
            out.append("\n")

    while i < n:
        c = src[i]
        if c in _SPACE:
            pending_space = True
            i += 1
        elif c in "\r\n\u2028\u2029":
            newline()
            i += 1
        elif src.startswith("//", i):
            i = _line_end(src, i)
        elif src.startswith("/*", i):
            end = src.find("*/", i + 2)
            if end < 0:
                raise _Unfinished("a comment is not closed")
            # A comment holding a line break counts as one for semicolon insertion.
            if any(b in src[i:end] for b in "\r\n\u2028\u2029"):
                newline()
            else:
                pending_space = True
            i = end + 2
        elif c in "'\"":
            end = _quoted_end(src, i)
            emit(src[i:end])
            i, regex_ok = end, False
        elif c == "`" or (c == "}" and templates and templates[-1] == depth):
            # A template's text, from its opening backtick (or the `}` that closes a `${`) to its
            # closing backtick (or the next `${`).
            if c == "}":
                templates.pop()
            end, opens = _template_text_end(src, i + 1)
            emit(src[i:end])
            if opens:
                templates.append(depth)
                regex_ok = True
            else:
                regex_ok = False
            i = end
        elif c == "/" and regex_ok:
            end = _regex_end(src, i)
            emit(src[i:end])
            i, regex_ok = end, False
        elif (word := _WORD.match(src, i)) is not None:
            emit(word.group())
            i, regex_ok = word.end(), word.group() in _BEFORE_REGEX_WORDS
        else:
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
            emit(c)
            i += 1
            # After `)` or `]` a `/` divides; after `x++` too. After any other punctuator (`}` included:
            # a block's end, as an object literal is never divided) it opens a regular expression.
            regex_ok = c not in ")]" and not (c in "+-" and i >= 2 and src[i - 2] == c)
    if templates:
        raise _Unfinished("a template literal is not closed")
    return "".join(out).rstrip() + "\n"


def _line_end(src: str, i: int) -> int:
    """Where the line holding `i` ends (its line break is not part of it)."""
    match = _LINE_BREAK.search(src, i)
    return match.start() if match else len(src)


def _quoted_end(src: str, i: int) -> int:
    """Just past the string literal that opens at `i`."""
    quote, j = src[i], i + 1
    while j < len(src):
        c = src[j]
        if c == "\\":
            j += 3 if src.startswith("\r\n", j + 1) else 2   # an escape, or a line continued
        elif c == quote:
            return j + 1
        elif c in "\r\n":
            break
        else:
            j += 1
    raise _Unfinished("a string is not closed on its line")


def _template_text_end(src: str, j: int) -> tuple[int, bool]:
    """Just past a template's text from `j`: its closing backtick (False) or a `${` (True)."""
    while j < len(src):
        c = src[j]
        if c == "\\":
            j += 2
        elif c == "`":
            return j + 1, False
        elif src.startswith("${", j):
            return j + 2, True
        else:
            j += 1
    raise _Unfinished("a template literal is not closed")


def _regex_end(src: str, i: int) -> int:
    """Just past the regular expression literal (flags included) that opens at `i`."""
    j, in_class = i + 1, False
    while j < len(src):
        c = src[j]
        if c == "\\":
            j += 2
            continue
        if c in "\r\n\u2028\u2029":
            break
        j += 1
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "/":
            flags = _WORD.match(src, j)
            return flags.end() if flags else j
    raise _Unfinished("a regular expression is not closed on its line")
