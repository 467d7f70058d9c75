"""Server-drawn SVG bar charts (tickets/services/charts.py): a pure function."""

from __future__ import annotations

from tests.support.html import elements_by_id, elements_with
from tickets.services.charts import HEIGHT, Bar, bar_chart


def rects(svg: str) -> list:
    return [e for e in elements_with(svg, "data-value") if e.tag == "rect"]


def test_bars_are_scaled_to_the_tallest_and_carry_their_values():
    svg = bar_chart(
        [Bar("19:00", 2), Bar("19:01", 0), Bar("19:02", 4)],
        chart_id="c",
        title="Seats per minute",
        summary="6 seats",
    )
    chart = elements_by_id(svg)["c"]
    assert chart.tag == "svg"
    assert (chart.attrs["data-bars"], chart.attrs["data-peak"]) == ("3", "4")
    heights = [float(r.attrs["height"]) for r in rects(svg)]
    assert [r.attrs["data-value"] for r in rects(svg)] == ["2", "0", "4"]
    assert heights[1] == 0
    assert heights[2] == 2 * heights[0]
    assert all(float(r.attrs["y"]) + float(r.attrs["height"]) <= HEIGHT for r in rects(svg))


def test_a_chart_has_its_text_equivalent():
    svg = bar_chart([Bar("Mon", 1)], chart_id="c", title="Per day", summary="1 seat sold")
    chart = elements_by_id(svg)["c"]
    assert chart.attrs["role"] == "img"
    assert chart.attrs["aria-labelledby"] == "c-title c-desc"
    assert elements_by_id(svg)["c-title"].text == "Per day"
    assert elements_by_id(svg)["c-desc"].text == "1 seat sold"


def test_an_empty_chart_draws_no_bars():
    svg = bar_chart([], chart_id="c", title="Per day", summary="No sales yet")
    assert rects(svg) == []
    assert elements_by_id(svg)["c"].attrs["data-peak"] == "0"


def test_labels_and_titles_are_escaped():
    svg = bar_chart([Bar("<script>", 1)], chart_id="c", title="a & <b>", summary='"quoted"')
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert "a &amp; &lt;b&gt;" in svg
