"""Turning a compiled query's answer into the rows the online path writes.

Shared by every engine, so the files ``leadscore score`` writes are identical
whichever engine computed them: the same columns, the same Python value types,
the same ``top_reasons`` text and the same explanation evidence.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from leadscore.compile import CompiledModel, RuleColumn
from leadscore.spec.output import BOUND_DESCRIPTIONS, contribution_record, score_columns


@dataclass
class BatchResult:
    """Scores of every contact (one row each) and, when asked, the contributions."""

    compiled: CompiledModel
    table: pa.Table  # the compiled query's columns
    explain_table: pa.Table | None = None
    skipped_events: int = 0  # events of unknown contacts left out (--unknown-contacts skip)

    def __len__(self) -> int:
        return self.table.num_rows

    def rows(self) -> list[dict[str, Any]]:
        """The same records as ``LeadScore.to_row()`` for every contact, in input order."""
        return score_rows(self.compiled, self.table)

    def contributions(self) -> list[dict[str, Any]]:
        """The long table: the rows ``leadscore score --explain`` writes."""
        if self.explain_table is None:
            raise ValueError("scored without explain=True")
        return list(contribution_rows(self.compiled, self.explain_table))


def format_points(values: np.ndarray) -> np.ndarray:
    """``f"{round(x, 1):+.1f}".rstrip("0").rstrip(".")`` for every x, vectorised.

    Python's ``round`` is exact (ties to even on the true binary value), unlike
    ``x * 10`` rounded; the product's rounding error is recovered exactly with
    Dekker's split so that near-ties land on the same side as in Python.
    """
    x = np.asarray(values, dtype=np.float64)
    out = np.empty(x.shape, dtype=object)
    small = np.isfinite(x) & (np.abs(x) < 1e14)
    xs = x[small]
    p = xs * 10.0
    c = 134217729.0 * xs
    hi = c - (c - xs)
    lo = xs - hi
    err = (hi * 10.0 - p) + lo * 10.0
    floor = np.floor(p)
    tie = (p - floor) == 0.5
    r = np.rint(p)
    r = np.where(tie & (err > 0), floor + 1, r)
    r = np.where(tie & (err < 0), floor, r)
    tenths = np.abs(r).astype(np.int64)
    sign = np.where(np.signbit(xs), "-", "+")
    whole = (tenths // 10).astype(str)
    digit = tenths % 10
    frac = np.where(digit == 0, "", np.char.add(".", digit.astype(str)))
    out[small] = np.char.add(np.char.add(sign, whole), frac)
    for i in np.flatnonzero(~small):
        text = f"{round(float(x[i]), 1):+.1f}"
        out[i] = text.rstrip("0").rstrip(".")
    return out


def top_reasons(compiled: CompiledModel, table: pa.Table, n: int = 3) -> list[str]:
    """``LeadScore.reasons_text()``: the n largest |points| (ties by score, rule id)."""
    rules = sorted(compiled.rules, key=lambda c: (c.score, c.rule_id))
    if not rules or table.num_rows == 0:
        return [""] * table.num_rows
    points = np.column_stack(
        [table.column(c.column).to_numpy(zero_copy_only=False).astype(np.float64) for c in rules]
    )
    listed = ~np.isnan(points)
    key = np.where(listed, np.abs(points), -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")[:, :n]
    rows = np.arange(points.shape[0])[:, None]
    chosen = points[rows, order]
    chosen_listed = listed[rows, order]
    labels = np.array([c.description or c.rule_id for c in rules], dtype=object)
    texts = np.full(points.shape[0], "", dtype=object)
    for k in range(order.shape[1]):
        has = chosen_listed[:, k]
        if not has.any():
            break
        part = labels[order[has, k]] + " " + format_points(chosen[has, k])
        sep = np.where(k == 0, "", "; ")
        texts[has] = texts[has] + sep + part
    return texts.tolist()


def score_rows(compiled: CompiledModel, table: pa.Table) -> list[dict[str, Any]]:
    columns = {name: table.column(name).to_pylist() for name in table.column_names}
    reasons = top_reasons(compiled, table)
    by_score: dict[str, list[RuleColumn]] = {}
    for c in compiled.rules:
        by_score.setdefault(c.score, []).append(c)
    rows: list[dict[str, Any]] = []
    # Every column of a score row but top_reasons comes straight from the query.
    names = score_columns(compiled.scores)[:-1]
    for i in range(table.num_rows):
        row: dict[str, Any] = {name: columns[name][i] for name in names}
        for name in compiled.scores:
            listed = any(columns[c.column][i] is not None for c in by_score.get(name, ()))
            if not listed and row[name] == 0:
                # Online, an empty sum is the int 0 (printed "0", not "0.0").
                row[name] = 0
        row["surging"] = bool(row["surging"])
        row["top_reasons"] = reasons[i]
        rows.append(row)
    return rows


def evidence_of(rule: RuleColumn | None, record: Mapping[str, Any]) -> Any:
    if rule is None:
        return None
    if rule.kind == "profile":
        return dict(zip(rule.fields, record["texts"] or [], strict=False))
    if rule.kind == "event":
        return tuple(record["ids"] or ())
    if rule.kind == "volume":
        return {"count": int(record["n_count"]), "events": tuple(record["ids"] or ())}
    age = record["age"]
    return {"days_since_last": None if age is None or math.isnan(age) else round(age, 2)}


def contribution_rows(compiled: CompiledModel, table: pa.Table) -> Iterator[dict[str, Any]]:
    by_id = {(c.score, c.rule_id): c for c in compiled.rules}
    for record in table.to_pylist():
        rule = by_id.get((record["score"], record["rule_id"]))
        description = (
            BOUND_DESCRIPTIONS.get(record["rule_id"], "") if rule is None else rule.description
        )
        evidence = evidence_of(rule, record)
        yield contribution_record(
            record["contact_id"],
            record["score"],
            record["rule_id"],
            description,
            record["points"],
            evidence,
        )


def explain_by_contact(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    out: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["contact_id"], []).append(row)
    return out
