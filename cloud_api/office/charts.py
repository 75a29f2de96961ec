"""Charts as inline SVG: no script, no inline style (the pages' CSP allows neither), so it draws with
presentation attributes only, and it scales to the width of a phone through its viewBox."""
from __future__ import annotations

from html import escape
from typing import Callable

WIDTH, HEIGHT, AXIS = 480, 180, 20   # viewBox units; AXIS is the strip under the bars for labels
BAR, NEGATIVE, TEXT = "#0b6e4f", "#a4231b", "#5b6661"


def bar_chart(points: list[tuple[str, int]], label: str, value_text: Callable[[int], str] = str,
              label_every: int = 1) -> str:
    """An SVG bar chart of [(label, value)]: role="img" named `label`, each bar titled "label: value".

    Negative values (more refunded than sold) hang below the baseline in red. Every `label_every`-th
    label is written under its bar, so 24 hours stay legible on a phone.
    """
    n = max(len(points), 1)
    top = max([value for _, value in points] + [0])
    bottom = min([value for _, value in points] + [0])
    span = (top - bottom) or 1
    plot = HEIGHT - AXIS
    baseline = plot * top / span
    slot = WIDTH / n
    parts = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(label)}">',
             f'<line x1="0" y1="{baseline:.1f}" x2="{WIDTH}" y2="{baseline:.1f}" stroke="{TEXT}" '
             f'stroke-width="0.5"/>']
    for index, (name, value) in enumerate(points):
        height = plot * abs(value) / span
        y = baseline - height if value >= 0 else baseline
        x = index * slot + slot * 0.1
        fill = BAR if value >= 0 else NEGATIVE
        # A bar of nothing still gets a sliver, so its title (the tooltip) can be found.
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.8:.1f}" height="{max(height, 0.5):.1f}" '
                     f'fill="{fill}"><title>{escape(name)}: {escape(value_text(value))}</title></rect>')
        if index % label_every == 0:
            parts.append(f'<text x="{index * slot + slot / 2:.1f}" y="{HEIGHT - 4}" font-size="14" '
                         f'text-anchor="middle" fill="{TEXT}">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)
