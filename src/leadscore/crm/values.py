"""What a contact's stored score offers to a CRM, by leadscore field name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from leadscore.store.tables import contacts

TOP_REASONS = 3  # a CRM field shows the strongest few; the dashboard has the rest

# The contact columns a record is built from (read when the batch is sent, so a
# coalesced row always carries the latest score).
COLUMNS = (
    contacts.c.contact_id,
    contacts.c.email,
    contacts.c.fields,
    contacts.c.stage,
    contacts.c.threshold_stage,
    contacts.c.grade,
    contacts.c.surging,
    contacts.c.scores,
    contacts.c.explanation,
    contacts.c.model_version,
    contacts.c.scored_as_of_us,
)


def contact_query(ids: list[str]) -> Any:
    return select(*COLUMNS).where(contacts.c.contact_id.in_(ids))


def top_reasons_text(explanation: dict[str, Any] | None) -> str:
    """ "Visited pricing (+10); VP title (+15)": the top reasons, in order."""
    if not explanation:
        return ""
    by_rule = {c["rule_id"]: c for c in explanation.get("contributions", [])}
    parts = []
    for rule_id in explanation.get("top_reasons", [])[:TOP_REASONS]:
        c = by_rule.get(rule_id)
        if c is None:
            continue
        points = c.get("points", 0)
        sign = "+" if points >= 0 else ""
        parts.append(f"{c.get('description') or rule_id} ({sign}{points:g})")
    return "; ".join(parts)


def field_value(row: Any, field: str) -> Any:
    """One leadscore field of a contact row (None when the model has no such score)."""
    scores = row.scores or {}
    if field.startswith("score."):
        entry = scores.get(field[6:])
        return None if entry is None else entry.get("value")
    if field.startswith("grade."):
        entry = scores.get(field[6:])
        return None if entry is None else entry.get("grade")
    if field == "top_reasons":
        return top_reasons_text(row.explanation)
    if field == "scored_at":
        if row.scored_as_of_us is None:
            return None
        return datetime.fromtimestamp(row.scored_as_of_us / 1_000_000, UTC)
    return getattr(row, field)
