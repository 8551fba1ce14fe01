"""Small inline SVG charts, drawn on the server.

Why not a JavaScript chart library: the dashboard must work offline and stay light;
a score history or a funnel is a handful of points, which a few lines of SVG draw
exactly, with no script to load and nothing for a screen reader to miss (each chart
carries a title and the page shows the same numbers in a table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from markupsafe import Markup, escape

PALETTE = ("#1f5fbf", "#c2410c", "#15803d", "#7e22ce", "#0f766e", "#b91c1c")


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 5 x 10^n steps)."""
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / max(count - 1, 1)
    magnitude = 10 ** len(str(int(raw))) / 10 if raw >= 1 else 1.0
    while magnitude > raw:
        magnitude /= 10
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    start = step * (lo // step)
    ticks = []
    value = start
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < hi:
        ticks.append(round(value, 10))
    return ticks


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 1e-9 else f"{value:.1f}"


def line_chart(
    series: Mapping[str, Sequence[tuple[datetime, float]]],
    *,
    title: str,
    width: int = 640,
    height: int = 220,
) -> Markup:
    """A step-free line chart of one or more time series (score history)."""
    points = [p for s in series.values() for p in s]
    if not points:
        return Markup("")
    left, right, top, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    t0 = min(p[0] for p in points).timestamp()
    t1 = max(p[0] for p in points).timestamp()
    span = (t1 - t0) or 1.0
    ticks = _nice_ticks(min(0.0, *(p[1] for p in points)), max(1.0, *(p[1] for p in points)))
    v0, v1 = ticks[0], ticks[-1]

    def x(t: datetime) -> float:
        return left + (t.timestamp() - t0) / span * plot_w

    def y(v: float) -> float:
        return top + (1 - (v - v0) / (v1 - v0)) * plot_h

    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for tick in ticks:
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" '
            f'class="grid{" zero" if tick == 0 else ""}"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{_fmt(tick)}</text>'
        )
    first, last = min(p[0] for p in points), max(p[0] for p in points)
    out.append(f'<text x="{left}" y="{height - 8}">{first:%Y-%m-%d}</text>')
    out.append(
        f'<text x="{width - right}" y="{height - 8}" text-anchor="end">{last:%Y-%m-%d}</text>'
    )
    for i, (name, values) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        ordered = sorted(values, key=lambda p: p[0])
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in ordered)
        out.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}">'
            f"<title>{escape(name)}</title></polyline>"
        )
        for t, v in ordered:
            out.append(
                f'<circle cx="{x(t):.1f}" cy="{y(v):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)} {_fmt(v)} on {t:%Y-%m-%d %H:%M}</title></circle>"
            )
    out.append("</svg>")
    return Markup("".join(out))


def bar_chart(
    bars: Sequence[tuple[str, float]],
    *,
    title: str,
    width: int = 640,
    bar_height: int = 26,
    value_format: str = "{:.0f}",
) -> Markup:
    """Horizontal bars (funnel stages, lift by decile)."""
    if not bars:
        return Markup("")
    label_w, value_w, gap = 130, 70, 6
    plot_w = width - label_w - value_w
    top = max((v for _, v in bars), default=0.0) or 1.0
    height = len(bars) * (bar_height + gap) + gap
    out = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(bars):
        y = gap + i * (bar_height + gap)
        w = max(0.0, value) / top * plot_w
        out.append(
            f'<text x="{label_w - 8}" y="{y + bar_height * 0.68:.1f}" text-anchor="end">'
            f"{escape(label)}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_height}" '
            f'fill="{PALETTE[0]}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_height * 0.68:.1f}">'
            f"{escape(value_format.format(value))}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))


def xy_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 420,
    height: int = 300,
    diagonal: bool = False,
) -> Markup:
    """Points joined by lines on numeric axes from 0 (calibration, cumulative lift)."""
    points = [p for s in series.values() for p in s]
    if not points:
        return Markup("")
    left, right, top, bottom = 48, 12, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    x_hi = max(p[0] for p in points) or 1.0
    y_hi = max(p[1] for p in points) or 1.0
    if diagonal:
        x_hi = y_hi = max(x_hi, y_hi)

    def x(v: float) -> float:
        return left + v / x_hi * plot_w

    def y(v: float) -> float:
        return top + (1 - v / y_hi) * plot_h

    out = [
        f'<svg class="chart xy" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" class="grid"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" class="grid"/>',
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{escape(y_label)}</text>',
        f'<text x="{left - 6}" y="{top + 4}" text-anchor="end">{_fmt(y_hi) if y_hi >= 2 else f"{y_hi:.2f}"}</text>',
        f'<text x="{left + plot_w}" y="{top + plot_h + 16}" text-anchor="end">{_fmt(x_hi) if x_hi >= 2 else f"{x_hi:.2f}"}</text>',
    ]
    if diagonal:
        out.append(
            f'<line x1="{x(0):.1f}" y1="{y(0):.1f}" x2="{x(x_hi):.1f}" y2="{y(y_hi):.1f}" '
            f'class="grid diagonal"/>'
        )
    for i, (name, values) in enumerate(series.items()):
        colour = PALETTE[i % len(PALETTE)]
        path = " ".join(f"{x(a):.1f},{y(b):.1f}" for a, b in values)
        out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for a, b in values:
            out.append(
                f'<circle cx="{x(a):.1f}" cy="{y(b):.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)}: {a:.3g}, {b:.3g}</title></circle>"
            )
    out.append("</svg>")
    return Markup("".join(out))
