"""The dependency-free SVG charts: scale, gaps for missing values, escaping."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import pytest

from leadscore.analytics.charts import _bounds, bar_chart, hbar_chart, line_chart
from leadscore.analytics.render import format_value

NS = "{http://www.w3.org/2000/svg}"


def _rects(svg: str) -> list[ET.Element]:
    return [r for r in ET.fromstring(svg).iter(f"{NS}rect") if r.get("class") == "bar"]


def test_axis_bounds_are_round_and_cover_zero():
    assert _bounds([3.0, 7.0]) == (0.0, 8.0, 2.0)
    assert _bounds([-100.0, 50.0]) == (-100.0, 50.0, 50.0)
    assert _bounds([], integer=True) == (0.0, 1.0, 1.0)
    assert _bounds([2.0], integer=True) == (0.0, 2.0, 1.0)


def test_bar_heights_are_proportional_and_nan_leaves_a_gap():
    svg = bar_chart(["a", "b", "c", "d"], [2.0, 4.0, float("nan"), 0.0], "Counts")
    rects = _rects(svg)
    assert len(rects) == 3  # the NaN bar is not drawn as zero
    heights = [float(r.get("height", "0")) for r in rects]
    assert heights[1] == 2 * heights[0] and heights[2] == 0.0


def test_negative_bars_hang_below_zero():
    rects = _rects(bar_chart(["up", "down"], [50.0, -100.0], "LVR"))
    up, down = (float(r.get("y", "0")) for r in rects)
    assert float(rects[1].get("height", "0")) == pytest.approx(
        2 * float(rects[0].get("height", "0")), abs=0.2
    )
    assert down > up  # the negative bar starts at the zero line, below the positive top


def test_labels_are_escaped_and_lines_break_at_gaps():
    svg = line_chart(["<b>", "x", "y", "z"], {"rate & <script>": [0.1, math.nan, 0.2, 0.3]}, "T")
    ET.fromstring(svg)  # well-formed XML despite the hostile labels
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    polylines = re.findall(r"<polyline points=\"([^\"]+)\"", svg)
    assert len(polylines) == 1 and len(polylines[0].split()) == 2  # only y-z are joined
    h = hbar_chart(["a" * 40], [1.0], "Long")
    assert "…" in h and ET.fromstring(h) is not None


def test_cell_formatting():
    assert format_value("rate", 0.125) == "12.5 %"
    assert format_value("lvr_pct", -9.87) == "-9.9 %"
    assert format_value("diff", 0.0123) == "+1.23 pts"
    assert format_value("median_days", float("nan")) == "n/a"
    assert format_value("spend", 1234.5) == "1,234.50"
    assert format_value("reached", 8000) == "8,000"
