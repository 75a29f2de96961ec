"""The till's JavaScript thinned for serving: the same program, fewer bytes, whatever the syntax."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from gateway.minify import minify_css, minify_js

NODE = shutil.which("node")


def node_or_skip() -> str:
    """Node, which checks the served modules; a machine without it skips, CI fails (it has Node 20)."""
    if NODE:
        return NODE
    if os.environ.get("CI"):
        pytest.fail("node is missing: CI must check the minified till with it")
    pytest.skip("node is not installed: cannot run the modules before and after minifying")

# Every construct a careless minifier breaks, each printed so that running it shows the difference.
TRICKY = r'''
// A line comment; /* not a block */ "nor a string
import { strict as assert } from "node:assert";   /* a block comment */ const out = [];

/**
 * A doc comment over lines.
 */
class Till {
  #float = 500;              // a private field
  static name2 = "till";     // a static field
  get float() { return this.#float; }
}
const ref = "R-1", wallet = null, n = 7, total = 120;
out.push(`${ref ? ` · ${ref}` : ""}`);                        // nested template, spaces inside
out.push(`${wallet ? ` (${wallet})` : `  none  // not a comment`}`);
out.push(`line one
    indented line two, kept   as written
${`deep ${`deeper ${n}`}`} /* kept */ // kept`);
out.push("a string // with /* comment */ marks", 'and \'quotes\' "mixed"', "line \
continued");
out.push(/\/\/ not a comment/.test("// not a comment"), /[/*]+/.source, /a  b/g.source, /[\]/]x/.source);
out.push(total / n / 2, (total) / 2, [total][0] / 2);   // divisions, not regular expressions
let i = 4;
out.push(i++ / 2, i);
out.push(typeof /x/, n > 1 ? /y/.source : /z/.source);
const obj = { a: { b: null } };
out.push(obj?.a?.b ?? "fallback", obj.c?.d, obj.a?.["b"]);
const f = async () => { await null; return "async" };
out.push(await f());
let asi = 1
let other = asi
+ 1
out.push(other)
const g = () => {
  return        // a return with its value on the next line returns nothing
    42
}
out.push(g())
out.push(new Till().float, Till.name2, `${"}"}` + `{`, "${not a substitution}");
out.push(1 /* inline */ + /* again */ 2, 3/**/-1);
console.log(JSON.stringify(out));
'''


def test_comments_and_indentation_go_and_literals_stay_byte_for_byte():
    thin = minify_js(TRICKY)
    assert len(thin) < len(TRICKY) * 0.8
    for kept in ("` · ${ref}`", "` (${wallet})`", "`  none  // not a comment`", "\n    indented line two, kept   as written\n",
                 "/* kept */ // kept`", '"a string // with /* comment */ marks"', '"line \\\ncontinued"',
                 r"/\/\/ not a comment/", "/[/*]+/", "/a  b/g", r"/[\]/]x/", '"${not a substitution}"'):
        assert kept in thin, kept
    for gone in ("A line comment", "doc comment", "a private field", "divisions, not", "/* inline */"):
        assert gone not in thin, gone
    assert "\n  " not in thin.split("`line one")[0]   # no indentation left in code


def test_the_thinned_module_runs_the_same_program(tmp_path):
    """Not only parses: prints exactly what the source prints (ASI, regex versus division, templates)."""
    node_or_skip()
    results = []
    for name, text in (("source.mjs", TRICKY), ("thin.mjs", minify_js(TRICKY))):
        (tmp_path / name).write_text(text)
        run = subprocess.run([NODE, str(tmp_path / name)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        results.append(run.stdout)
    assert results[0] == results[1]
    assert '" · R-1"' in results[0] and '"  none  // not a comment"' in results[0]


def test_a_module_it_cannot_read_to_its_end_is_served_as_written():
    for broken in ('const a = "unclosed;\n', "const t = `open ${x}\n", "/* never closed\nlet a = 1;\n",
                   "let r = x.split(/unclosed);\n"):
        assert minify_js(broken) == broken


def test_css_loses_comments_and_spaces_but_not_its_strings():
    css = '/* why */\nbody {\n  font: 18px/1.4 "Noto Sans", sans-serif;   /* kept font */\n}\n' \
          'a::after { content: "  /* not a comment */  "; width: calc(100% - 2rem); }\n'
    thin = minify_css(css)
    assert "why" not in thin and "kept font" not in thin
    assert '"  /* not a comment */  "' in thin and "calc(100% - 2rem)" in thin
