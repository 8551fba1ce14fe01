"""Is there enough history to learn from? (SPEC L6)

Counts leads and conversions, the time span, profile-field completeness and whether
behaviour data exists, then says which methods the data supports and why. The
thresholds are rules of thumb, stated in the report so users can judge them:

* lift points need a few conversions per trait: >= 30 conversions overall;
* a scorecard estimates one weight per bin, roughly 10 conversions per weight
  (the events-per-variable rule): >= 100 conversions;
* boosted trees need more: >= 300 conversions and >= 1,000 leads, plus enough
  history for a temporal holdout (>= 60 days).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from leadscore.learn.features import TrainingSet
from leadscore.learn.tabular import as_text_series

MIN_CONVERSIONS = {"lift": 30, "scorecard": 100, "predictive": 300}
MIN_LEADS = {"lift": 100, "scorecard": 300, "predictive": 1000}
MIN_SPAN_DAYS = 60


@dataclass
class MethodVerdict:
    method: str
    ready: bool
    reasons: list[str]


@dataclass
class Readiness:
    leads: int
    conversions: int
    conversion_rate: float
    first_snapshot: str | None
    last_snapshot: str | None
    span_days: float
    excluded: dict[str, int]
    completeness: dict[str, float]
    behaviour_features: int
    leads_with_activity: int
    methods: list[MethodVerdict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def best_method(self) -> str | None:
        ready = [m.method for m in self.methods if m.ready]
        for method in ("predictive", "scorecard", "lift"):
            if method in ready:
                return method
        return None


def readiness(ts: TrainingSet) -> Readiness:
    """The readiness report for a training set built by ``build_training_set``."""
    y = ts.y.to_numpy().astype(int)
    n, conv = len(y), int(y.sum())
    snaps = ts.snapshot_at
    span = float((snaps.max() - snaps.min()).total_seconds() / 86_400) if n else 0.0
    profile = [c for c, info in ts.infos.items() if info.kind == "field" and c in ts.X.columns]
    completeness = {c: float(as_text_series(ts.X[c]).notna().mean()) if n else 0.0 for c in profile}
    event_cols = [
        c for c, info in ts.infos.items() if info.kind == "event_count" and c in ts.X.columns
    ]
    active = int((ts.X[event_cols].to_numpy() > 0).any(axis=1).sum()) if event_cols and n else 0
    report = Readiness(
        leads=n,
        conversions=conv,
        conversion_rate=float(conv / n) if n else 0.0,
        first_snapshot=str(snaps.min()) if n else None,
        last_snapshot=str(snaps.max()) if n else None,
        span_days=round(span, 1),
        excluded=dict(ts.excluded),
        completeness=completeness,
        behaviour_features=len(event_cols),
        leads_with_activity=active,
    )
    if ts.leakage:
        report.warnings.extend(f"possible leakage, dropped or flagged: {f}" for f in ts.leakage)
    sparse_fields = [c for c, v in completeness.items() if v < 0.2]
    if sparse_fields:
        report.warnings.append(
            f"fields filled in for fewer than 20% of leads: {', '.join(sparse_fields)}"
        )
    if not event_cols:
        report.warnings.append("no behaviour (event) data: only profile fields can be learned from")
    elif n and active / n < 0.1:
        report.warnings.append(
            f"only {active} of {n} leads have any activity before their snapshot"
        )
    if not profile:
        report.warnings.append("no profile fields: only behaviour can be learned from")
    for method in ("lift", "scorecard", "predictive"):
        reasons = []
        if conv < MIN_CONVERSIONS[method]:
            reasons.append(f"{conv} conversions; {method} needs at least {MIN_CONVERSIONS[method]}")
        if n < MIN_LEADS[method]:
            reasons.append(f"{n} leads; {method} needs at least {MIN_LEADS[method]}")
        if n - conv < MIN_CONVERSIONS[method]:
            reasons.append(f"only {n - conv} leads did not convert; need both outcomes")
        if method == "predictive" and span < MIN_SPAN_DAYS:
            reasons.append(
                f"history spans {span:.0f} days; a temporal holdout needs at least {MIN_SPAN_DAYS}"
            )
        if not reasons:
            reasons.append(f"{conv} conversions among {n} leads is enough")
        ready = not any("needs" in r or "need " in r for r in reasons)
        report.methods.append(MethodVerdict(method, ready, reasons))
    return report


def render_text(report: Readiness) -> str:
    """Plain text for the terminal."""
    lines = [
        f"Leads usable for learning: {report.leads:,} ({report.conversions:,} converted, "
        f"{report.conversion_rate:.1%})",
        f"Snapshots from {report.first_snapshot} to {report.last_snapshot} ({report.span_days:g} days)",
    ]
    left_out = {k: v for k, v in report.excluded.items() if v}
    if left_out:
        lines.append("Left out: " + "; ".join(f"{v:,} {k}" for k, v in left_out.items()))
    lines.append(
        f"Behaviour: {report.behaviour_features} event features, "
        f"{report.leads_with_activity:,} leads with activity before their snapshot"
    )
    if report.completeness:
        lines.append("Field completeness:")
        for col, share in sorted(report.completeness.items(), key=lambda kv: -kv[1]):
            lines.append(f"  {col:<30} {share:6.1%}")
    lines.append("Methods:")
    for m in report.methods:
        mark = "ready" if m.ready else "not ready"
        lines.append(f"  {m.method:<11} {mark}: {'; '.join(m.reasons)}")
    for w in report.warnings:
        lines.append(f"Warning: {w}")
    best = report.best_method()
    lines.append(f"Suggested method: {best}" if best else "Not enough history to learn from yet.")
    return "\n".join(lines)
