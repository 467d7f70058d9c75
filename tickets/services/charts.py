"""Bar charts drawn on the server as SVG (the staff dashboard, docs/design.md §14).

A pure function of its bars: no queries, no JavaScript. The markup is a fragment swapped
like any other, so a chart is live the way a figure is. Every chart carries its own text
equivalent for assistive technology (`<title>` and a `<desc>` summary, referenced by
`aria-labelledby`); the page adds a table of the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

# Drawing units of the viewBox; the page scales the chart to its width.
WIDTH = 600
HEIGHT = 160
AXIS = 24  # room under the bars for the first and last labels
TOP = 14  # room above the tallest bar for the scale's label


@dataclass(frozen=True)
class Bar:
    label: str
    value: int


def bar_chart(bars: Sequence[Bar], *, chart_id: str, title: str, summary: str) -> SafeString:
    """An SVG bar chart with id `chart_id`: one `<rect>` per bar (with `data-value`),
    heights scaled to the largest value, the first and last labels under the axis."""
    peak = max((bar.value for bar in bars), default=0)
    plot = HEIGHT - AXIS - TOP
    slot = WIDTH / len(bars) if bars else WIDTH
    gap = min(2.0, slot / 4)
    rects = []
    for index, bar in enumerate(bars):
        tall = plot * bar.value / peak if peak else 0.0
        rects.append(
            (
                f"{index * slot + gap / 2:.2f}",
                f"{TOP + plot - tall:.2f}",
                f"{max(slot - gap, 0.5):.2f}",
                f"{tall:.2f}",
                bar.value,
                f"{bar.label}: {bar.value}",
            )
        )
    bars_svg = format_html_join(
        "",
        '<rect class="chart-bar" x="{}" y="{}" width="{}" height="{}" data-value="{}">'
        "<title>{}</title></rect>",
        rects,
    )
    labels = (
        format_html(
            '<text class="chart-label" x="0" y="{}">{}</text>'
            '<text class="chart-label" x="{}" y="{}" text-anchor="end">{}</text>',
            HEIGHT - 6,
            bars[0].label,
            WIDTH,
            HEIGHT - 6,
            bars[-1].label,
        )
        if bars
        else mark_safe("")
    )
    return format_html(
        '<svg id="{id}" class="chart" viewBox="0 0 {w} {h}" role="img" '
        'aria-labelledby="{id}-title {id}-desc" '
        'data-bars="{n}" data-peak="{peak}" focusable="false">'
        '<title id="{id}-title">{title}</title><desc id="{id}-desc">{summary}</desc>'
        '<line class="chart-axis" x1="0" y1="{base}" x2="{w}" y2="{base}"></line>'
        '<text class="chart-label" x="0" y="10">{scale}</text>'
        "{bars}{labels}</svg>",
        id=chart_id,
        w=WIDTH,
        h=HEIGHT,
        n=len(bars),
        peak=peak,
        title=title,
        summary=summary,
        base=f"{HEIGHT - AXIS:.2f}",
        scale=f"peak {peak}" if peak else "none yet",
        bars=bars_svg,
        labels=labels,
    )
