"""Smaller copies of the till's JavaScript and CSS for the box to serve; the source keeps its comments.

JavaScript is thinned, not rewritten: comments, indentation, trailing spaces, blank lines and runs
of spaces go, and nothing else. Every line break left in code stays (automatic semicolon insertion
reads them), and every string, template literal (nested ones too) and regular expression is copied
byte for byte, so the till runs the same program. rjsmin was tried first and left out: it takes a
template literal for `[^`]*`, so a nested one (`${ref ? ` · ${ref}` : ""}` on a receipt) lost its
spaces while the output still parsed. A module this reader cannot follow to its end (an unclosed
string, template, comment or regular expression) is served as written.

CSS goes through rcssmin, which knows CSS's own strings, comments and `calc()` spacing.
"""
from __future__ import annotations

import logging
import re

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
