"""Small, dependency-free SVG charts for the offline HTML report.

The report must open on a laptop with no network, so nothing may be fetched at run
time: no CDN script, no web font. A plotting library would add a large dependency
for four chart shapes; these functions write plain SVG that every browser renders,
with every label escaped. Missing values (NaN) leave a gap instead of a zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from html import escape

PALETTE = ["#2563eb", "#f97316", "#16a34a", "#dc2626", "#7c3aed", "#0891b2", "#ca8a04", "#db2777"]
_W, _H = 720, 300
_L, _R, _T, _B = 64, 16, 32, 56


def _finite(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _nice_step(span: float) -> float:
    """A round tick step (1, 2, 2.5 or 5 x 10^k) giving about four intervals."""
    raw = span / 4 if span > 0 else 0.25
    exp = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * exp:
            return m * exp
    return 10 * exp


def _bounds(values: list[float], integer: bool = False) -> tuple[float, float, float]:
    """Axis low, high and step covering the values and zero."""
    lo = min([0.0, *values])
    hi = max([0.0, *values])
    step = _nice_step(hi - lo)
    if integer:
        step = max(1.0, math.ceil(step))
    lo = math.floor(lo / step) * step
    hi = math.ceil(hi / step) * step
    if hi == lo:
        hi = lo + step
    return lo, hi, step


def _fmt(v: float, percent: bool) -> str:
    if percent:
        pct = round(v * 100, 6)  # 0.15 * 100 is 15.000000000000002
        return f"{pct:.0f}%" if pct.is_integer() else f"{pct:.1f}%"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:g}"


def _frame(title: str, body: list[str], height: int = _H) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {height}" '
        f'width="100%" role="img" aria-label="{escape(title)}" class="chart">'
        f"<title>{escape(title)}</title>"
        f'<text x="{_L}" y="18" class="chart-title">{escape(title)}</text>'
        + "".join(body)
        + "</svg>"
    )


def _axis(
    lo: float, hi: float, step: float, percent: bool, height: int = _H
) -> tuple[list[str], Callable[[float], float]]:
    plot_h = height - _T - _B

    def y(v: float) -> float:
        return _T + plot_h * (1 - (v - lo) / (hi - lo))

    body = []
    n = round((hi - lo) / step)
    for i in range(n + 1):
        v = lo + step * i
        yy = y(v)
        body.append(
            f'<line x1="{_L}" x2="{_W - _R}" y1="{yy:.1f}" y2="{yy:.1f}" class="grid"/>'
            f'<text x="{_L - 6}" y="{yy + 4:.1f}" text-anchor="end" class="tick">'
            f"{escape(_fmt(v, percent))}</text>"
        )
    return body, y


def _x_labels(labels: Sequence[str], xs: list[float], height: int = _H) -> list[str]:
    step = max(1, math.ceil(len(labels) / 16))
    out = []
    for i, (lab, x) in enumerate(zip(labels, xs, strict=True)):
        if i % step:
            continue
        out.append(
            f'<text x="{x:.1f}" y="{height - _B + 14}" text-anchor="end" class="tick" '
            f'transform="rotate(-35 {x:.1f} {height - _B + 14})">{escape(str(lab))}</text>'
        )
    return out


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    title: str,
    *,
    percent: bool = False,
    color: str = PALETTE[0],
) -> str:
    """Vertical bars, one per label; negative values hang below the zero line."""
    vals = _finite(values)
    integer = not percent and all(float(v).is_integer() for v in vals)
    lo, hi, step = _bounds(vals, integer)
    body, y = _axis(lo, hi, step, percent)
    n = max(1, len(labels))
    plot_w = _W - _L - _R
    slot = plot_w / n
    xs = [_L + slot * (i + 0.5) for i in range(n)]
    zero = y(0.0)
    for lab, v, x in zip(labels, values, xs, strict=False):
        if v is None or not math.isfinite(float(v)):
            continue
        top = y(float(v))
        h = abs(zero - top)
        body.append(
            f'<rect x="{x - slot * 0.35:.1f}" y="{min(top, zero):.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="{color}" class="bar"><title>{escape(str(lab))}: '
            f"{escape(_fmt(float(v), percent))}</title></rect>"
        )
    body += _x_labels(labels, xs)
    return _frame(title, body)


def line_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[float | None]],
    title: str,
    *,
    percent: bool = False,
) -> str:
    """One line per series over shared x labels; NaN breaks the line."""
    vals = [v for s in series.values() for v in _finite(s)]
    lo, hi, step = _bounds(vals)
    body, y = _axis(lo, hi, step, percent)
    n = max(1, len(labels))
    plot_w = _W - _L - _R
    xs = [_L + plot_w * (i + 0.5) / n for i in range(n)]
    for k, (name, values) in enumerate(series.items()):
        color = PALETTE[k % len(PALETTE)]
        path: list[str] = []
        for x, v in zip(xs, values, strict=False):
            if v is None or not math.isfinite(float(v)):
                path.append("")
                continue
            yy = y(float(v))
            path.append(f"{x:.1f},{yy:.1f}")
            body.append(
                f'<circle cx="{x:.1f}" cy="{yy:.1f}" r="3" fill="{color}">'
                f"<title>{escape(name)}: {escape(_fmt(float(v), percent))}</title></circle>"
            )
        # Split at gaps so a missing period is not drawn as a straight bridge.
        run: list[str] = []
        for p in [*path, ""]:
            if p:
                run.append(p)
                continue
            if len(run) > 1:
                body.append(
                    f'<polyline points="{" ".join(run)}" fill="none" stroke="{color}" '
                    'stroke-width="2"/>'
                )
            run = []
        lx = _L + 8 + 150 * k
        body.append(
            f'<rect x="{lx}" y="{_H - 16}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="{_H - 7}" class="tick">{escape(name)}</text>'
        )
    body += _x_labels(labels, xs, _H - 12)
    return _frame(title, body)


def hbar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    title: str,
    *,
    percent: bool = False,
    color: str = PALETTE[2],
    max_bars: int = 15,
) -> str:
    """Horizontal bars, for long category names (campaigns, pages, segments)."""
    labels = [str(x) for x in labels][:max_bars]
    values = list(values)[:max_bars]
    row = 22
    height = _T + row * max(1, len(labels)) + 16
    left = 220
    vals = _finite(values)
    hi = _bounds(vals)[1]
    body = []
    for i, (lab, v) in enumerate(zip(labels, values, strict=True)):
        yy = _T + row * i
        w = 0.0 if not math.isfinite(float(v)) else (_W - left - 70) * max(0.0, float(v)) / hi
        short = lab if len(lab) <= 32 else lab[:31] + "…"
        body.append(
            f'<text x="{left - 6}" y="{yy + 15}" text-anchor="end" class="tick">'
            f"{escape(short)}</text>"
            f'<rect x="{left}" y="{yy + 4}" width="{w:.1f}" height="{row - 8}" fill="{color}">'
            f"<title>{escape(lab)}</title></rect>"
            f'<text x="{left + w + 4:.1f}" y="{yy + 15}" class="tick">'
            f"{escape(_fmt(float(v), percent))}</text>"
        )
    return _frame(title, body, height)
