"""`unknown_contacts="skip"` on an engine: a semi-join, also over integer ids in tables."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadscore.engines import get_engine
from leadscore.io import InputError
from leadscore.spec import parse_model

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
MODEL = parse_model(
    """
scores:
  engagement:
    rules:
      - {id: pricing, on: page_view, points: 7}
"""
)


def tables(db: Path, events: str) -> None:
    import duckdb

    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE contacts (contact_id BIGINT, country TEXT)")
        con.execute("INSERT INTO contacts VALUES (1, 'US'), (2, 'DE')")
        con.execute(
            "CREATE TABLE events (event_id BIGINT, contact_id BIGINT, type TEXT, "
            "timestamp TIMESTAMPTZ)"
        )
        con.execute(f"INSERT INTO events VALUES {events}")


def scores(result: object) -> dict[str, float]:
    return {r["contact_id"]: r["engagement"] for r in result.rows()}  # type: ignore[attr-defined]


def test_integer_ids_of_unknown_contacts_are_counted_or_left_out(tmp_path: Path) -> None:
    known = "(1, 1, 'page_view', '2026-10-30'), (2, 2, 'page_view', '2026-10-30')"
    unknown = "(3, 9, 'page_view', '2026-10-30'), (4, 9, 'page_view', '2026-10-31'), " + (
        "(5, 8, 'page_view', '2026-10-31')"
    )
    tables(tmp_path / "all.duckdb", f"{known}, {unknown}")
    tables(tmp_path / "known.duckdb", known)
    engine = get_engine("duckdb", database=tmp_path / "all.duckdb")
    with pytest.raises(InputError) as caught:
        engine.score(MODEL, "contacts", "events", AS_OF)
    assert "unknown contact_id '8'" in str(caught.value)  # the smallest id of a table
    assert "3 event(s) of 2 contact(s) not in the contacts file in all" in str(caught.value)
    got = engine.score(MODEL, "contacts", "events", AS_OF, unknown_contacts="skip")
    assert got.skipped_events == 3
    want = get_engine("duckdb", database=tmp_path / "known.duckdb").score(
        MODEL, "contacts", "events", AS_OF
    )
    assert want.skipped_events == 0
    assert scores(got) == scores(want) == {"1": 7.0, "2": 7.0}
    with pytest.raises(ValueError, match="error or skip"):
        engine.score(MODEL, "contacts", "events", AS_OF, unknown_contacts="drop")
