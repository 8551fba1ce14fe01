"""The output contract, written once: the columns of a score row and of a contribution.

Every engine writes the same files (``leadscore score`` and ``--explain``): the
online evaluator (:meth:`leadscore.rules.LeadScore.to_row`), the SQL engines
(:mod:`leadscore.engines.results`), the compiled query's own columns
(:func:`leadscore.compile.compile_model`) and the CLI all take the names and the
contribution shape from here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

# After each score's value and grade: the lead's combined grade, stage and surge flag.
LEAD_COLUMNS = ("grade", "stage", "surging")
CONTRIBUTION_COLUMNS = ("contact_id", "score", "rule_id", "description", "points", "evidence")
# The contributions the bounds add, by their rule_id.
BOUND_DESCRIPTIONS = {"ceiling": "Capped at the ceiling", "floor": "Raised to the floor"}


def per_score_columns(scores: Iterable[str]) -> list[str]:
    """``contact_id``, then ``<score>`` and ``<score>_grade`` for every score."""
    columns = ["contact_id"]
    for name in scores:
        columns += [name, f"{name}_grade"]
    return columns


def score_columns(scores: Iterable[str]) -> list[str]:
    """The columns of a score row, in order (``LeadScore.to_row``, ``leadscore score``)."""
    return [*per_score_columns(scores), *LEAD_COLUMNS, "top_reasons"]


def contribution_record(
    contact_id: str, score: str, rule_id: str, description: str, points: float, evidence: Any
) -> dict[str, Any]:
    """One contribution as written: the evidence as JSON text (None when there is none)."""
    return {
        "contact_id": contact_id,
        "score": score,
        "rule_id": rule_id,
        "description": description,
        "points": points,
        "evidence": json.dumps(evidence, default=str) if evidence is not None else None,
    }
