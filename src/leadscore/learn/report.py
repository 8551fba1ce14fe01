"""The evaluation report: one self-contained HTML file (inline SVG, no scripts, no CDN)
that opens offline, plus the same figures as JSON."""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

W, H, PAD = 360, 240, 36


def _xy(x: float, y: float, x_max: float = 1.0, y_max: float = 1.0) -> tuple[float, float]:
    return (PAD + x / x_max * (W - 2 * PAD), H - PAD - y / y_max * (H - 2 * PAD))


def _axes(x_label: str, y_label: str, x_max: float = 1.0, y_max: float = 1.0) -> str:
    parts = [
        f'<line x1="{PAD}" y1="{H - PAD}" x2="{W - PAD}" y2="{H - PAD}" stroke="#333"/>',
        f'<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{H - PAD}" stroke="#333"/>',
        f'<text x="{W / 2}" y="{H - 6}" text-anchor="middle" font-size="11">{html.escape(x_label)}</text>',
        f'<text x="12" y="{H / 2}" text-anchor="middle" font-size="11" '
        f'transform="rotate(-90 12 {H / 2})">{html.escape(y_label)}</text>',
    ]
    for frac in (0, 0.5, 1):
        x, _ = _xy(frac * x_max, 0, x_max, y_max)
        _, y = _xy(0, frac * y_max, x_max, y_max)
        parts.append(
            f'<text x="{x}" y="{H - PAD + 12}" text-anchor="middle" font-size="9">{frac * x_max:.3g}</text>'
        )
        parts.append(
            f'<text x="{PAD - 4}" y="{y + 3}" text-anchor="end" font-size="9">{frac * y_max:.3g}</text>'
        )
    return "".join(parts)


def line_chart(
    series: list[tuple[str, list[tuple[float, float]], str]],
    x_label: str,
    y_label: str,
    diagonal: bool = False,
    x_max: float = 1.0,
    y_max: float = 1.0,
) -> str:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img">',
        _axes(x_label, y_label, x_max, y_max),
    ]
    if diagonal:
        (x0, y0), (x1, y1) = _xy(0, 0, x_max, y_max), _xy(x_max, y_max, x_max, y_max)
        parts.append(
            f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y1}" stroke="#aaa" stroke-dasharray="4"/>'
        )
    for i, (name, points, colour) in enumerate(series):
        coords = " ".join(
            f"{a:.1f},{b:.1f}" for a, b in (_xy(x, y, x_max, y_max) for x, y in points)
        )
        parts.append(
            f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>'
        )
        parts.append(
            f'<text x="{PAD + 8}" y="{PAD + 12 + 12 * i}" font-size="10" fill="{colour}">{html.escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: list[str],
    values: list[float],
    x_label: str,
    y_label: str,
    reference: float | None = None,
) -> str:
    top = max([*values, reference or 0, 1e-9]) * 1.1
    n = max(len(values), 1)
    width = (W - 2 * PAD) / n
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img">',
        _axes(x_label, y_label, 1.0, top),
    ]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = PAD + i * width + 2
        _, y = _xy(0, v, 1.0, top)
        parts.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width - 4:.1f}" height="{H - PAD - y:.1f}" fill="#4c72b0"><title>{html.escape(label)}: {v:.3g}</title></rect>'
        )
        parts.append(
            f'<text x="{x + width / 2 - 2:.1f}" y="{H - PAD + 22}" text-anchor="middle" font-size="8">{html.escape(label[:10])}</text>'
        )
    if reference is not None:
        _, y = _xy(0, reference, 1.0, top)
        parts.append(
            f'<line x1="{PAD}" y1="{y:.1f}" x2="{W - PAD}" y2="{y:.1f}" stroke="#c44" stroke-dasharray="4"/>'
        )
    parts.append("</svg>")
    return "".join(parts)


def roc_points(y: Any, score: Any, max_points: int = 200) -> dict[str, list[tuple[float, float]]]:
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(y, score)
    prec, rec, _ = precision_recall_curve(y, score)

    def take(a, b):
        return list(zip(*(arr[:: max(len(arr) // max_points, 1)] for arr in (a, b)), strict=True))

    return {
        "roc": [(float(a), float(b)) for a, b in take(fpr, tpr)],
        "pr": [(float(a), float(b)) for a, b in take(rec[::-1], prec[::-1])],
    }


def _table(
    rows: list[dict[str, Any]], columns: list[str], fmt: dict[str, str] | None = None
) -> str:
    fmt = fmt or {}
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for c in columns:
            v = row.get(c)
            if isinstance(v, float) and not math.isnan(v):
                text = format(v, fmt.get(c, ".3g"))
            else:
                text = "" if v is None else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_html(result: dict[str, Any], title: str = "Lead score evaluation") -> str:
    """HTML for one evaluation (``evaluate_scores`` output plus ``curves`` and ``context``)."""
    ctx = result.get("context", {})
    curves = result.get("curves", {})
    charts = []
    if curves.get("roc"):
        charts.append(
            (
                "ROC curve",
                line_chart(
                    [("score", curves["roc"], "#4c72b0")],
                    "false positive rate",
                    "true positive rate",
                    diagonal=True,
                ),
            )
        )
    if curves.get("pr"):
        charts.append(
            (
                "Precision-recall",
                line_chart([("score", curves["pr"], "#4c72b0")], "recall", "precision"),
            )
        )
    dec = result["deciles"]
    gains = [(0.0, 0.0)] + [(d["cumulative_leads_share"], d["cumulative_gain"]) for d in dec]
    charts.append(
        (
            "Cumulative gains",
            line_chart(
                [("score", gains, "#55a868")],
                "share of leads contacted",
                "share of conversions found",
                diagonal=True,
            ),
        )
    )
    charts.append(
        (
            "Lift by decile",
            bar_chart(
                [str(d["decile"]) for d in dec],
                [d["lift"] for d in dec],
                "decile (1 = best)",
                "lift",
                reference=1.0,
            ),
        )
    )
    if result.get("calibration"):
        cal = result["calibration"]
        top = max(max(c["predicted"] for c in cal), max(c["observed"] for c in cal), 1e-6)
        charts.append(
            (
                "Calibration",
                line_chart(
                    [
                        (
                            "observed vs predicted",
                            [(c["predicted"], c["observed"]) for c in cal],
                            "#c44e52",
                        )
                    ],
                    "predicted",
                    "observed",
                    diagonal=True,
                    x_max=top,
                    y_max=top,
                ),
            )
        )
    bands = result.get("grades") or result["score_bands"]
    charts.append(
        (
            "Conversion per " + ("grade" if result.get("grades") else "score band"),
            bar_chart(
                [str(b["band"]) for b in bands],
                [b["rate"] for b in bands],
                "",
                "conversion rate",
                reference=result["base_rate"],
            ),
        )
    )
    summary = [
        ("Leads", f"{result['leads']:,}"),
        ("Conversions", f"{result['conversions']:,} ({result['base_rate']:.1%})"),
        (
            "ROC AUC",
            f"{result['roc_auc']:.3f} (95% CI {result['roc_auc_ci'][0]:.3f}-{result['roc_auc_ci'][1]:.3f})",
        ),
        (
            "PR AUC",
            f"{result['pr_auc']:.3f} (95% CI {result['pr_auc_ci'][0]:.3f}-{result['pr_auc_ci'][1]:.3f})",
        ),
        ("Lift in the top 10%", f"{result['top_decile_lift']:.2f}x"),
    ]
    if "brier" in result:
        summary.append(("Brier score", f"{result['brier']:.4f}"))
    for k, v in ctx.items():
        summary.append((str(k), str(v)))
    rows = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in summary
    )
    figures = "".join(
        f"<figure><figcaption>{html.escape(t)}</figcaption>{svg}</figure>" for t, svg in charts
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 13px; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
th {{ background: #f4f4f4; }}
figure {{ display: inline-block; margin: 0.5em; border: 1px solid #eee; }}
figcaption {{ font-weight: 600; padding: 4px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<table>{rows}</table>
<div>{figures}</div>
<h2>Lift and cumulative gains by decile</h2>
{_table(dec, ["decile", "leads", "conversions", "rate", "lift", "cumulative_gain", "min_score"], {"rate": ".1%", "cumulative_gain": ".1%", "lift": ".2f"})}
<h2>Choosing the MQL threshold</h2>
{_table(result["thresholds"], ["threshold", "leads_passed", "share_passed", "precision", "recall"], {"share_passed": ".1%", "precision": ".1%", "recall": ".1%"})}
<h2>Conversion per {"grade" if result.get("grades") else "score band"}</h2>
{_table(bands, ["band", "leads", "conversions", "rate"], {"rate": ".1%"})}
</body></html>
"""


def write_report(
    result: dict[str, Any], html_path: Path | None, json_path: Path | None, title: str
) -> None:
    from leadscore.io import atomic_path

    if json_path is not None:
        with atomic_path(json_path) as tmp:
            tmp.write_text(json.dumps(result, indent=2, default=_json_default), encoding="utf-8")
    if html_path is not None:
        with atomic_path(html_path) as tmp:
            tmp.write_text(render_html(result, title), encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)
