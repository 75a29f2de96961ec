"""The bench's table: each figure beside its floor from the same run, the goal, whether it is met.

`ratio` is always value / floor. For a rate (docs/s) higher is better, for a time lower is better;
each goal says which way it reads, and `met` is computed from the goal, never from another day.
"""
from __future__ import annotations

import json
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

LATEST = Path(__file__).with_name("latest.json")


@dataclass
class Figure:
    name: str
    unit: str
    value: float | None
    floor: float | None = None
    floor_what: str = ""
    goal: str = ""
    met: bool | None = None          # None: no goal, or nothing measured
    note: str = ""
    samples: list[float] = field(default_factory=list)

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.floor:
            return None
        return self.value / self.floor


def median_of(runs: int, measure: Callable[[], float]) -> tuple[float, list[float]]:
    samples = [measure() for _ in range(runs)]
    return statistics.median(samples), samples


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile: with 30 samples, p95 is the 29th smallest."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]


def _fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "B":
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def rows(figures: list[Figure]) -> list[list[str]]:
    out = []
    for f in figures:
        ratio = f.ratio
        out.append([f.name, f"{_fmt(f.value, f.unit)} {f.unit}" if f.value is not None else f"- ({f.note})",
                    f"{_fmt(f.floor, f.unit)} {f.unit} ({f.floor_what})" if f.floor is not None else "-",
                    f"{ratio:.3g}x" if ratio is not None else "-", f.goal or "-",
                    {True: "yes", False: "no", None: "-"}[f.met]])
    return out


HEADER = ["figure", "value", "floor (same run)", "ratio", "goal", "met"]


def print_table(figures: list[Figure]) -> None:
    table = [HEADER] + rows(figures)
    widths = [min(60, max(len(r[i]) for r in table)) for i in range(len(HEADER))]
    for n, row in enumerate(table):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def markdown(figures: list[Figure], machine: dict[str, Any]) -> str:
    """The README's table, made from latest.json (`python -m tests.bench --markdown`)."""
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows(figures)]
    lines.append("")
    lines.append(f"Measured {machine['date']} on {machine['cpu_count']} × {machine['cpu_model']}, "
                 f"load average {machine['load_average']} at the start; Python {machine['python']}, "
                 f"SQLite {machine['sqlite']}, {machine['chromium']}"
                 + (f", {machine['postgresql']}" if machine.get("postgresql") else ", PostgreSQL not run")
                 + f"; the bench took {machine['took_s']:.0f} s."
                 + (f" The busiest core when each section began (after waiting up to 30 s for quiet): {busy}."
                    if (busy := _busy_text(machine.get("busy_before"))) else ""))
    return "\n".join(lines)


def cpu_busy(window_s: float = 1.0) -> float | None:
    """How busy the busiest core was over the next `window_s` (/proc/stat's per-core lines: one busy
    core on a many-core machine hides in the total), or None where that is unreadable."""
    def times() -> list[tuple[int, int]] | None:
        try:
            lines = Path("/proc/stat").read_text().splitlines()
            cores = [[int(x) for x in line.split()[1:]] for line in lines if re.match(r"cpu\d+ ", line)]
        except (OSError, ValueError):
            return None
        # user nice system idle iowait irq softirq steal: guest time (after them) is counted in user and
        # nice already. Idle is idle + iowait.
        return [(sum(f[:8]), f[3] + (f[4] if len(f) > 4 else 0)) for f in cores] or None
    before = times()
    time.sleep(window_s)
    after = times()
    if before is None or after is None or len(before) != len(after):
        return None
    busy = [1 - (a[1] - b[1]) / (a[0] - b[0]) for a, b in zip(after, before) if a[0] > b[0]]
    return max(busy) if busy else None


def settle(limit_s: float = 30.0, idle_below: float = 0.25) -> float | None:
    """Wait, up to `limit_s`, for the machine to go quiet (the last section's processes finishing, a
    checkpoint, another job): every core below `idle_below` busy over a second; the busiest core's
    fraction last seen. The issues' goals are for an idle machine: a section started under another's
    tail measured that tail (a checkout's p95 went from 1.5x to 2.7x of its floor with one core taken)."""
    deadline = time.monotonic() + limit_s
    busy = cpu_busy()
    while busy is not None and busy > idle_below and time.monotonic() < deadline:
        busy = cpu_busy()
    return busy


def _busy_text(busy_before: dict[str, float | None] | None) -> str:
    return ", ".join(f"{name} {'?' if b is None else f'{b:.0%}'}" for name, b in (busy_before or {}).items())


def machine_info() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware")):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        chromium = subprocess.run([os.environ.get("POSLINE_CHROMIUM", "/usr/bin/chromium"), "--version"],
                                  capture_output=True, text=True, timeout=30, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        chromium = "no Chromium"
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu_count": os.cpu_count(),
            "cpu_model": model, "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "chromium": chromium,
            "platform": platform.platform()}


def write_json(figures: list[Figure], machine: dict[str, Any], path: Path = LATEST) -> None:
    payload = {"machine": machine,
               "figures": [{**asdict(f), "ratio": f.ratio} for f in figures]}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path = LATEST) -> tuple[list[Figure], dict[str, Any]]:
    payload = json.loads(path.read_text())
    figures = [Figure(**{k: v for k, v in f.items() if k != "ratio"}) for f in payload["figures"]]
    return figures, payload["machine"]
