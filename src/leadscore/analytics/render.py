"""Turning analytics tables into sections people read: terminal and offline HTML.

One formatter serves both surfaces so a rate reads "12.5 %" in the terminal and in
the browser alike. The HTML report is one file: styles inline, charts inline SVG,
no script and no external URL, so it opens offline and can be mailed around.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from leadscore.analytics import charts
from leadscore.analytics.funnel import FunnelReport

_PERCENT_WORDS = ("rate", "share", "_pct_points")
_DAYS_WORDS = ("days",)
_MONEY_WORDS = ("spend", "cpa", "cost", "monetary", "value", "revenue")


def format_value(column: str, value: object) -> str:
    """Human form of one cell; the column name decides percent, days or money."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if value is pd.NaT:
        return "n/a"
    if isinstance(value, pd.Timestamp):
        return (
            value.strftime("%Y-%m-%d %H:%M")
            if value.hour or value.minute
            else value.strftime("%Y-%m-%d")
        )
    if isinstance(value, bool):
        return "yes" if value else "no"
    col = column.lower()
    if isinstance(value, int) or (hasattr(value, "dtype") and "int" in str(value.dtype)):
        return f"{int(value):,}"  # type: ignore[call-overload]
    if isinstance(value, float) or hasattr(value, "dtype"):
        v = float(value)  # type: ignore[arg-type]
        if col == "lvr_pct":
            return f"{v:+.1f} %"
        if col in ("diff", "ci_low", "ci_high"):
            return f"{v * 100:+.2f} pts"
        if any(w in col for w in _PERCENT_WORDS):
            return f"{v * 100:.1f} %"
        if col.startswith("p_"):
            return f"{v:.4g}"
        if any(w in col for w in _DAYS_WORDS):
            return f"{v:.1f}"
        if any(w in col for w in _MONEY_WORDS):
            return f"{v:,.2f}"
        if v.is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.3f}"
    return str(value)


def formatted(frame: pd.DataFrame, columns: Sequence[str] | None = None) -> list[list[str]]:
    cols = list(columns) if columns is not None else list(frame.columns)
    return [[format_value(c, row[c]) for c in cols] for _, row in frame.iterrows()]


def headers(columns: Sequence[str]) -> list[str]:
    return [c.replace("_", " ") for c in columns]


@dataclass
class Table:
    caption: str
    frame: pd.DataFrame
    columns: list[str] | None = None

    @property
    def shown(self) -> list[str]:
        return self.columns if self.columns is not None else list(self.frame.columns)


@dataclass
class Section:
    """One report section: a title, a sentence on how to read it, charts and tables."""

    key: str
    title: str
    intro: str
    tables: list[Table] = field(default_factory=list)
    charts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _pair_series(report: FunnelReport, a: str, b: str) -> pd.DataFrame:
    t = report.by_period
    return t[(t["from_stage"] == a) & (t["to_stage"] == b)]


def main_pair(report: FunnelReport) -> tuple[str, str] | None:
    """The headline conversion: qualified -> last stage, else first -> last."""
    f = report.funnel
    if len(f) < 2:
        return None
    a = "mql" if "mql" in f and f[-1] != "mql" else f[0]
    return a, f[-1]


def funnel_section(report: FunnelReport, fresh: pd.DataFrame | None = None) -> Section:
    s = Section(
        "funnel",
        "Funnel",
        f"Contacts reaching each stage as of {report.as_of:%Y-%m-%d %H:%M} UTC. A contact that "
        "skipped a recorded stage counts as having passed it; days between stages use "
        "recorded transitions only. Cohorts are by the period the contact entered the "
        "earlier stage, so the latest cohorts are still maturing.",
    )
    st = report.stages
    if not report.by:
        s.charts.append(
            charts.bar_chart(list(st["stage"]), list(st["reached"]), "Contacts reaching each stage")
        )
    s.tables.append(Table("Stages", st))
    s.tables.append(Table("Stage-to-stage conversion", report.conversions))
    pair = main_pair(report)
    if pair is not None:
        series = _pair_series(report, *pair)
        if not report.by and len(series):
            s.charts.append(
                charts.line_chart(
                    list(series["period"]),
                    {f"{pair[0]} -> {pair[1]}": list(series["rate"])},
                    f"{pair[0].upper()} -> {pair[1]} conversion by {report.period} of {pair[0]}",
                    percent=True,
                )
            )
            s.charts.append(
                charts.bar_chart(
                    list(series["period"]),
                    list(series["entered"]),
                    f"New {pair[0].upper()}s per {report.period}",
                )
            )
        cols = [*report.by, "period", "entered", "converted", "rate", "median_days"]
        s.tables.append(
            Table(f"{pair[0]} -> {pair[1]} by {report.period} of {pair[0]}", series, cols)
        )
    if fresh is not None and len(fresh):
        s.tables.append(Table("Fresh versus nurtured leads", fresh))
    if len(report.cohorts):
        cols = [c for c in report.cohorts.columns if c != "period_start"]
        s.tables.append(Table(f"Cohorts by {report.period} of creation", report.cohorts, cols))
    return s


def velocity_section(table: pd.DataFrame, stage: str, period: str) -> Section:
    s = Section(
        "velocity",
        "Lead velocity rate",
        f"LVR = ({stage.upper()}s this {period} - previous) / previous x 100. It is n/a when "
        "the previous period had none; an incomplete last period is marked.",
    )
    if len(table):
        labels = [
            p + ("" if c else " *") for p, c in zip(table["period"], table["complete"], strict=True)
        ]
        s.charts.append(
            charts.bar_chart(labels, list(table["qualified"]), f"{stage.upper()}s per {period}")
        )
        s.charts.append(
            charts.bar_chart(
                labels, list(table["lvr_pct"]), "Lead velocity rate (%)", color=charts.PALETTE[1]
            )
        )
    cols = ["period", "complete", "qualified", "previous", "change", "lvr_pct"]
    s.tables.append(Table(f"{stage.upper()}s and LVR by {period}", table, cols))
    return s


def rfm_section(summary: pd.DataFrame, levels: int) -> Section:
    s = Section(
        "rfm",
        "RFM segments",
        f"Recency, frequency and monetary value scored 1-{levels}; high or low on each gives "
        "eight segments.",
    )
    s.charts.append(
        charts.hbar_chart(
            list(summary["segment"]), list(summary["contacts"]), "Contacts per segment"
        )
    )
    s.tables.append(Table("Segments", summary))
    return s


def attribution_section(table: pd.DataFrame, touch: str, stage: str) -> Section:
    s = Section(
        "attribution",
        f"Attribution by {touch}",
        f"Credit for each conversion to {stage}: first touch, last touch and linear (1/n to "
        "each of n touches before the conversion).",
    )
    top = table.head(15)
    s.charts.append(
        charts.hbar_chart(list(top["touch"]), list(top["linear"]), f"Linear credit by {touch}")
    )
    s.tables.append(Table("Credit", table))
    return s


def abtest_section(table: pd.DataFrame) -> Section:
    s = Section(
        "abtest",
        "A/B test",
        "Two-proportion z-test of each variant against the control (statsmodels), Holm "
        "correction across variants, confidence interval of the difference. No winner "
        "is named before every arm has the planned sample size.",
    )
    s.charts.append(
        charts.bar_chart(
            list(table["variant"]), list(table["rate"]), "Conversion rate by variant", percent=True
        )
    )
    s.tables.append(Table("Variants", table))
    return s


def goals_section(
    plan: pd.DataFrame | None,
    capacity: dict[str, object] | None,
    sla: pd.DataFrame | None,
    note: str = "",
) -> Section:
    s = Section(
        "goals",
        "Goals and capacity",
        "Leads and MQLs needed for the revenue target from the measured stage rates; the "
        "score threshold that keeps MQLs within the capacity sales agreed to; MQLs followed "
        "up within the SLA.",
    )
    if note:
        s.notes.append(note)
    if plan is not None:
        s.charts.append(
            charts.hbar_chart(
                list(plan["stage"]), list(plan["needed_per_month"]), "Needed per month"
            )
        )
        s.tables.append(Table("Goal plan", plan))
    if capacity is not None:
        s.tables.append(Table("Threshold for sales capacity", pd.DataFrame([capacity])))
    if sla is not None and len(sla):
        s.charts.append(
            charts.line_chart(
                list(sla["period"]),
                {"in time": list(sla["in_time_rate"])},
                "MQLs followed up in time",
                percent=True,
            )
        )
        s.tables.append(Table("SLA follow-up", sla))
    return s


def cpa_section(table: pd.DataFrame, summary: pd.DataFrame) -> Section:
    s = Section(
        "cpa",
        "Cost per acquisition",
        "Spend per channel and period divided by the contacts from that channel who "
        "converted in the period; n/a where there was spend and no acquisition.",
    )
    body = summary[summary["channel"] != "(total)"]
    s.charts.append(
        charts.hbar_chart(list(body["channel"]), list(body["cpa"].fillna(0.0)), "CPA by channel")
    )
    s.tables.append(Table("By channel (whole range)", summary))
    s.tables.append(Table("By period", table))
    return s


_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2937;background:#f8fafc}
header{background:#1e3a8a;color:#fff;padding:16px 32px}
header h1{margin:0;font-size:22px} header p{margin:4px 0 0;opacity:.85;font-size:13px}
nav{padding:8px 32px;background:#e2e8f0;font-size:14px} nav a{margin-right:16px;color:#1e3a8a}
main{padding:8px 32px 48px;max-width:1200px}
section{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:16px 24px;margin:20px 0}
h2{margin:0 0 6px;font-size:19px} .intro{color:#475569;font-size:14px;margin:0 0 12px}
.note{background:#fef9c3;padding:6px 10px;border-radius:4px;font-size:13px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px}
svg.chart{background:#fff;max-width:720px}
.chart-title{font-size:14px;font-weight:600;fill:#1f2937}
.tick{font-size:11px;fill:#475569} .grid{stroke:#e2e8f0;stroke-width:1}
table{border-collapse:collapse;font-size:13px;margin:8px 0 16px;display:block;overflow-x:auto}
caption{text-align:left;font-weight:600;padding:4px 0}
th,td{border-bottom:1px solid #e2e8f0;padding:4px 10px;text-align:right;white-space:nowrap}
th{background:#f1f5f9} td:first-child,th:first-child,td.text,th.text{text-align:left}
footer{color:#64748b;font-size:12px;padding:0 32px 24px}
</style></head>
<body>
<header><h1>{{ title }}</h1><p>as of {{ as_of }} UTC · generated by leadscore</p></header>
<nav>{% for s in sections %}<a href="#{{ s.key }}">{{ s.title }}</a>{% endfor %}</nav>
<main>
{% for s in sections %}
<section id="{{ s.key }}">
<h2>{{ s.title }}</h2>
<p class="intro">{{ s.intro }}</p>
{% for n in s.notes %}<p class="note">{{ n }}</p>{% endfor %}
{% if s.charts %}<div class="charts">{% for c in s.charts %}<div>{{ c | safe }}</div>{% endfor %}</div>{% endif %}
{% for t in s.tables %}
<table>
<caption>{{ t.caption }}</caption>
<thead><tr>{% for h in t.headers %}<th class="{{ t.classes[loop.index0] }}">{{ h }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in t.rows %}<tr>{% for cell in row %}<td class="{{ t.classes[loop.index0] }}">{{ cell }}</td>{% endfor %}</tr>{% endfor %}</tbody>
</table>
{% if t.more %}<p class="intro">{{ t.more }} more rows not shown.</p>{% endif %}
{% endfor %}
</section>
{% endfor %}
</main>
<footer>Self-contained report: no scripts, no external resources.</footer>
</body></html>
"""


def render_html(
    sections: Sequence[Section],
    *,
    as_of: pd.Timestamp,
    title: str = "leadscore analytics",
    max_rows: int = 200,
) -> str:
    """One self-contained HTML page (inline CSS and SVG; no script, no URL)."""
    import jinja2

    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    view = []
    for s in sections:
        tables = []
        for t in s.tables:
            cols = t.shown
            frame = t.frame.head(max_rows)
            tables.append(
                {
                    "caption": t.caption,
                    "headers": headers(cols),
                    # Text columns read left-aligned; numbers line up on the right.
                    "classes": [
                        "" if pd.api.types.is_numeric_dtype(t.frame[c].dtype) else "text"
                        for c in cols
                    ],
                    "rows": formatted(frame, cols),
                    "more": max(0, len(t.frame) - max_rows),
                }
            )
        view.append(
            {
                "key": s.key,
                "title": s.title,
                "intro": s.intro,
                "notes": s.notes,
                "charts": s.charts,
                "tables": tables,
            }
        )
    return env.from_string(_TEMPLATE).render(
        title=title, as_of=f"{as_of:%Y-%m-%d %H:%M}", sections=view
    )
