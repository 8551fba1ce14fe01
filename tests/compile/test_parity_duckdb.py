"""The online evaluator and the compiled SQL agree on DuckDB (random models and data)."""

from __future__ import annotations

import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).parent))
from parity import AS_OF, Dataset, assert_same, datasets, models

from leadscore.engines.duckdb import DuckDBEngine
from leadscore.spec.model import ScoringModel


def run_duckdb(model: ScoringModel, data: Dataset) -> tuple[list, list]:
    engine = DuckDBEngine()
    engine.con.register("in_contacts", data.contacts_table())
    engine.con.register("in_events", data.events_table())
    result = engine.score(model, "in_contacts", "in_events", AS_OF, explain=True)
    return result.rows(), result.contributions()


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(model=models(), data=datasets())
def test_duckdb_matches_online_evaluator(model: ScoringModel, data: Dataset) -> None:
    rows, contributions = run_duckdb(model, data)
    assert_same(model, data, rows, contributions)
