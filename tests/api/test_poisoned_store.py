"""Values already in the store that the door now refuses (written before the checks,
by hand, by another tool) must not take down a report or a dashboard page.

The store is poisoned directly in SQL: on SQLite, NaN and Infinity in a contact's
profile JSON (text SQLite keeps as written, which ``json_extract`` then calls
malformed), a NUL in an event property, NaN/Infinity in float columns; on
PostgreSQL what it accepts: NaN and Infinity in ``double precision`` columns (JSON
refuses NaN and ``\\u0000``). Every report and every dashboard page must answer 200.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import text

from .conftest import MODEL_YAML, Api

AS_OF = "2030-01-01"  # after every action (taken at the real now)

REPORTS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/v1/reports/funnel", {"by": "source"}),
    ("GET", "/v1/reports/funnel", {"cohorts": "true"}),
    ("GET", "/v1/reports/velocity", {}),
    ("GET", "/v1/reports/fresh-vs-nurtured", {}),
    ("GET", "/v1/reports/rfm", {"include_contacts": "true"}),
    ("GET", "/v1/reports/rfm", {"monetary_property": "amount"}),
    ("GET", "/v1/reports/attribution", {"touch": "campaign", "stage": "mql"}),
    ("GET", "/v1/reports/sample-size", {"baseline": "0.1"}),
    ("GET", "/v1/reports/goals", {"revenue": "10000", "score": "fit"}),
    ("GET", "/v1/grades", {}),
    ("GET", "/v1/leads", {"sort": "-fit"}),
    ("GET", "/v1/status", {}),
]
PAGES = [
    "/dashboard/",
    "/dashboard/matrix",
    "/dashboard/leads/p1",
    "/dashboard/leads/p2",
    "/dashboard/model",
    "/dashboard/funnel",
    "/dashboard/performance",
]


@pytest.fixture(scope="module")
def poisoned(module_api: Api) -> Iterator[Api]:
    """Seeded and poisoned once per store; every test below only reads."""
    api = module_api
    api.activate(MODEL_YAML)
    for cid, source in (("p1", "ads"), ("p2", "seo"), ("p3", "ads")):
        api.contact(cid, source=source, job_title="VP Sales", employees=50, amount=10)
        r = api.post(
            "/v1/events?wait=true",
            "ingest",
            json={
                "event_id": f"e-{cid}",
                "contact_id": cid,
                "type": "page_view",
                "timestamp": "2026-11-20T10:00:00Z",
                "properties": {"campaign": "spring", "url": "/pricing", "amount": 5},
            },
        )
        assert r.status_code in (200, 201), r.text
        r = api.post(f"/v1/contacts/{cid}/stage", "ingest", json={"action": "accept"})
        assert r.status_code == 200, r.text
    for cid, value in (("p1", 100.0), ("p2", 50.0)):
        r = api.post(f"/v1/contacts/{cid}/stage", "ingest", json={"action": "won", "value": value})
        assert r.status_code == 200, r.text
    api.service.rescore_now(["p1", "p2", "p3"])
    store = api.service.store
    with store.write() as conn:
        if store.dialect == "sqlite":
            _poison_sqlite(conn)
        else:
            _poison_postgres(conn)
    yield api


def _poison_sqlite(conn: Any) -> None:
    conn.execute(
        text(
            "UPDATE contacts SET fields = "
            '\'{"source": NaN, "employees": Infinity, "amount": -Infinity, '
            '"job_title": "V\\u0000P"}\' WHERE contact_id = \'p1\''
        )
    )
    conn.execute(
        text(
            "UPDATE events SET properties = "
            '\'{"campaign": "spr\\u0000ing", "amount": NaN, "url": "/x"}\' '
            "WHERE event_id = 'e-p2'"
        )
    )
    # Raw text that is not JSON at all, as a hand edit might leave.
    conn.execute(text("UPDATE contacts SET fields = '{not json' WHERE contact_id = 'p3'"))
    conn.execute(text("""UPDATE contacts SET scores = '{"fit": 1e400}' WHERE contact_id = 'p2'"""))
    _poison_numbers(conn, "'NaN'", "1e999")


def _poison_postgres(conn: Any) -> None:
    # The json type keeps the text as sent: a \u0000 escape is stored (->> then
    # fails), and 1e400 is a valid JSON number that is infinite in Python.
    fields = '{"source": "ads", "employees": 1e400, "job_title": "V\\u0000P"}'
    conn.execute(
        text("UPDATE contacts SET fields = :f, scores = :s WHERE contact_id = 'p1'"),
        {"f": fields, "s": '{"fit": 1e400}'},
    )
    props = '{"campaign": "spr\\u0000ing", "amount": 1e400, "url": "/x"}'
    conn.execute(text("UPDATE events SET properties = :p WHERE event_id = 'e-p2'"), {"p": props})
    _poison_numbers(conn, "'NaN'::float8", "'Infinity'::float8")


def _poison_numbers(conn: Any, nan: str, inf: str) -> None:
    sqlite = nan == "'NaN'"
    nan_value = "CAST('NaN' AS REAL)" if sqlite else nan
    # SQLite has no NaN literal and stores NaN as NULL: Infinity it does keep.
    conn.execute(text(f"UPDATE contact_scores SET value = {inf} WHERE contact_id = 'p1'"))
    conn.execute(text(f"UPDATE contact_scores SET value = -{inf} WHERE contact_id = 'p2'"))
    conn.execute(text(f"UPDATE outcomes SET value = {inf} WHERE contact_id = 'p1'"))
    if not sqlite:
        conn.execute(text(f"UPDATE contact_scores SET value = {nan_value} WHERE contact_id = 'p3'"))


@pytest.mark.parametrize(("method", "path", "params"), REPORTS)
def test_every_report_survives_a_poisoned_store(
    poisoned: Api, method: str, path: str, params: dict[str, Any]
) -> None:
    r = poisoned.get(path, "read", params={"as_of": AS_OF, **params})
    assert r.status_code == 200, r.text


def test_posted_reports_survive_a_poisoned_store(poisoned: Api) -> None:
    body = {
        "assignments": [
            {"contact_id": "p1", "variant": "a"},
            {"contact_id": "p2", "variant": "b"},
            {"contact_id": "p3", "variant": "a"},
        ],
        "control": "a",
        "stage": "sql",
        "as_of": AS_OF,
    }
    r = poisoned.post("/v1/reports/abtest", "read", json=body)
    assert r.status_code == 200, r.text
    spend = {"spend": [{"channel": "ads", "period": "2026-11-01", "amount": 100}], "as_of": AS_OF}
    r = poisoned.post("/v1/reports/cpa", "read", json=spend)
    assert r.status_code == 200, r.text


def test_every_lead_read_survives_a_poisoned_store(poisoned: Api) -> None:
    for cid in ("p1", "p2", "p3"):
        for path in (f"/v1/contacts/{cid}", f"/v1/contacts/{cid}/score"):
            r = poisoned.get(path, "read")
            assert r.status_code == 200, (path, r.text)


@pytest.mark.parametrize("page", PAGES)
def test_every_dashboard_page_survives_a_poisoned_store(poisoned: Api, page: str) -> None:
    r = poisoned.client.get(page, headers={"X-API-Key": poisoned.keys["read"]})
    assert r.status_code == 200, r.text[:2000]
