"""Threshold crossings: promote on a new crossing only, never demote, never leave sales stages."""

from __future__ import annotations

import pytest

from leadscore.service.lifecycle import threshold_moves

STAGES = ["mql", "sql"]


@pytest.mark.parametrize(
    ("current", "previous", "new", "moves"),
    [
        ("lead", None, "lead", []),
        ("lead", None, "mql", ["mql"]),
        ("lead", "lead", "mql", ["mql"]),
        ("lead", "lead", "sql", ["mql", "sql"]),  # passes through every stage it reached
        ("mql", "mql", "sql", ["sql"]),
        ("mql", "mql", "mql", []),  # no crossing
        ("mql", "sql", "lead", []),  # thresholds never demote
        ("lead", "mql", "mql", []),  # rejected back to nurture: no new crossing yet
        ("lead", "lead", "mql", ["mql"]),  # ...until the scores fall and rise again
        ("sql", "lead", "mql", []),  # accepted by sales already above
        ("opportunity", "lead", "sql", []),
        ("customer", None, "sql", []),
        ("lost", "lead", "sql", []),
    ],
)
def test_threshold_moves(current: str, previous: str | None, new: str, moves: list[str]) -> None:
    assert threshold_moves(current, previous, new, STAGES) == moves


def test_custom_stage_names_rank_between_mql_and_sql() -> None:
    stages = ["mql", "hot", "sql"]
    assert threshold_moves("lead", "lead", "hot", stages) == ["mql", "hot"]
    assert threshold_moves("hot", "hot", "sql", stages) == ["sql"]
