"""`make bench`: each of the pipeline's figures beside a floor measured in the same run.

Benchmarks, not tests: nothing here passes or fails. Every figure is measured next to what the
same work costs with nothing but the database, the link or the browser (tests/bench/floors.py),
on this machine, now; the table gives the ratio and says which of the issues' goals are met. A
baseline from another day would say nothing on a machine shared with other work.

Bounded: a few minutes in all. Knobs (environment): POSLINE_TEST_PG_DSN adds the PostgreSQL
figures (a scratch database: its public schema is dropped, as the tests do);
POSLINE_BENCH_DRAIN_SALES (10000), POSLINE_BENCH_CLOUD_DOCS (2000), POSLINE_BENCH_ONLY (a comma
list of sections: cloud, office, box, drain, browser, size, printing). The back office's figures (office) need
PostgreSQL too: a shop of POSLINE_BENCH_BIG_SALES (1,000,000) sales in its own database
(POSLINE_BENCH_BIG_DSN, else `posline_bench_big` beside POSLINE_TEST_PG_DSN's), built once, minutes
the first time (tests/bench/big_shop.py).

    python -m tests.bench              run, print the table, write tests/bench/latest.json
    python -m tests.bench --markdown   print latest.json as the README's table
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from tests.bench import report
from tests.bench.report import Figure

SECTIONS = ("cloud", "office", "box", "drain", "browser", "size", "printing")


def _sections(tmp: Path) -> list[tuple[str, str, Callable[[], list[Figure]]]]:
    # Imported here: `--markdown` needs none of it.
    from tests.bench.box import bench_box_ingest, bench_drain
    from tests.bench.browser import bench_browser, bench_size
    from tests.bench.cloud_ingest import bench_cloud
    from tests.bench.office_pages import big_dsn, bench_office
    from tests.bench.printing import bench_printing
    out = [("cloud", "Cloud ingest, SQLite", lambda: bench_cloud("SQLite", tmp))]
    if os.environ.get("POSLINE_TEST_PG_DSN"):
        out.append(("cloud", "Cloud ingest, PostgreSQL", lambda: bench_cloud("PostgreSQL", tmp)))
    if big_dsn():
        out.append(("office", "Back office at scale, PostgreSQL", lambda: bench_office(tmp)))
    out += [("box", "Box ingest", lambda: bench_box_ingest(tmp)),
            ("drain", "Drain", lambda: bench_drain(tmp)),
            ("browser", "Browser", lambda: bench_browser(tmp)),
            ("size", "Size", lambda: [bench_size()]),
            ("printing", "Printing and fiscal", bench_printing)]
    return out


def main() -> int:
    if "--markdown" in sys.argv:
        figures, machine = report.read_json()
        print(report.markdown(figures, machine))
        return 0
    only = {s.strip() for s in os.environ.get("POSLINE_BENCH_ONLY", ",".join(SECTIONS)).split(",") if s.strip()}
    started = time.monotonic()
    machine = report.machine_info()
    figures: list[Figure] = []
    machine["busy_before"] = {}
    with tempfile.TemporaryDirectory(prefix="posline-bench-") as tmp:
        for key, title, run in _sections(Path(tmp)):
            if key not in only:
                continue
            busy = machine["busy_before"][title] = report.settle()
            section_start = time.monotonic()
            shown = "?" if busy is None else f"{busy:.0%}"
            print(f"bench: {title} ... (busiest core {shown} busy)", file=sys.stderr, flush=True)
            try:
                figures += run()
            except Exception as err:  # noqa: BLE001 -- one broken section must not cost the others' figures
                traceback.print_exc()
                figures.append(Figure(title, "", None, note=f"failed: {type(err).__name__}: {err}"[:200]))
            print(f"bench: {title} took {time.monotonic() - section_start:.0f} s", file=sys.stderr, flush=True)
    if os.environ.get("POSLINE_TEST_PG_DSN") and "cloud" in only:
        machine["postgresql"] = _pg_version(os.environ["POSLINE_TEST_PG_DSN"])
    machine["took_s"] = round(time.monotonic() - started, 1)
    report.print_table(figures)
    report.write_json(figures, machine)
    print(f"\nwritten to {report.LATEST}; `python -m tests.bench --markdown` prints it for the README")
    return 0


def _pg_version(dsn: str) -> str:
    import asyncio

    import asyncpg

    async def version() -> str:
        conn = await asyncpg.connect(dsn.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return "PostgreSQL " + await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
    try:
        return asyncio.run(version())
    except Exception as err:  # noqa: BLE001 -- the version is a label, not worth failing the bench
        return f"PostgreSQL (version unknown: {type(err).__name__})"


if __name__ == "__main__":
    sys.exit(main())
