"""`leadscore import`: files into the service's store, validated and deduplicated as the API does."""

from __future__ import annotations

import csv
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.store import Store
from leadscore.store.tables import contacts, events

CONTACTS = (
    "Record ID;First Name;Email;Job Title;Country/Region\n"
    "c1;Ann;ann@acme.com;VP Sales;US\n"
    "c2;Bo;bo@acme.com;Analyst;DE\n"
    "c3;Cy;not-an-email;CTO;US\n"  # rejected: the API's email check
)
EVENTS = (
    "event_id,contact_id,type,timestamp,url\n"
    "e1,c1,page_view,2026-10-30T10:00:00Z,/pricing\n"
    "e2,c1,page_view,2026-10-31 10:00,/blog\n"  # naive: UTC, as in file scoring
    "e3,c9,page_view,2026-10-31T10:00:00Z,/blog\n"  # rejected: unknown contact
    "e4,c2,form_submit,yesterday,/demo\n"  # rejected: timestamp
    "e5,c2,form_submit,2026-10-31T11:00:00+02:00,\n"
    "e1,c1,page_view,2026-10-30T10:00:00Z,/pricing\n"  # a repeat: duplicate, not twice
)


def micros(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1_000_000)


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["import", *args])
    return result.exit_code, result.output


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    (tmp_path / "hubspot.csv").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "events.csv").write_text(EVENTS, encoding="utf-8")
    return {"contacts": tmp_path / "hubspot.csv", "events": tmp_path / "events.csv"}


def stored(url: str) -> tuple[dict[str, dict], dict[str, tuple]]:
    store = Store(url)
    try:
        with store.read() as conn:
            people = {
                r.contact_id: dict(r.fields) | {"email": r.email}
                for r in conn.execute(select(contacts))
            }
            acts = {
                r.event_id: (r.contact_id, r.type, r.ts_us, r.properties)
                for r in conn.execute(select(events))
            }
    finally:
        store.dispose()
    return people, acts


def check_import(url: str, files: dict[str, Path], tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    code, output = run(
        "--db", url, "-c", str(files["contacts"]), "-e", str(files["events"]),
        "--preset", "hubspot", "--rejects", str(rejects),
    )  # fmt: skip
    assert code == 1, output  # some rows were rejected
    assert (
        "contacts: 2 created, 0 updated; events: 3 accepted, 1 duplicate(s); rejected rows: 3"
        in output
    )
    with rejects.open(newline="", encoding="utf-8") as handle:
        got = [(Path(r["file"]).name, int(r["row"]), r["column"]) for r in csv.DictReader(handle)]
    assert sorted(got) == [
        ("events.csv", 3, "contact_id"),
        ("events.csv", 4, "timestamp"),
        ("hubspot.csv", 3, "Email"),  # the file's own column name
    ]
    people, acts = stored(url)
    assert set(people) == {"c1", "c2"}  # nothing written for the rejected c3
    assert people["c1"] == {
        "first_name": "Ann",
        "job_title": "VP Sales",
        "country": "US",
        "email": "ann@acme.com",
    }
    assert set(acts) == {"e1", "e2", "e5"}  # nothing for e3, e4; e1 once
    assert acts["e2"][2] == micros("2026-10-31T10:00:00+00:00")  # naive read as UTC
    assert acts["e5"][2] == micros("2026-10-31T09:00:00+00:00")
    # Importing again adds nothing: every event is a duplicate, contacts are updates.
    code, output = run(
        "--db", url, "-c", str(files["contacts"]), "-e", str(files["events"]), "--preset", "hubspot"
    )
    assert "contacts: 0 created, 2 updated; events: 0 accepted, 4 duplicate(s)" in output
    assert stored(url)[1].keys() == acts.keys()


def test_import_into_sqlite(files: dict[str, Path], tmp_path: Path) -> None:
    check_import(str(tmp_path / "leadscore.db"), files, tmp_path)


@pytest.fixture
def pg_store_url(pg_url: str) -> Iterator[str]:
    import psycopg

    name = f"leadscore_import_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{pg_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgres
def test_import_into_postgres(files: dict[str, Path], tmp_path: Path, pg_store_url: str) -> None:
    check_import(pg_store_url, files, tmp_path)


def test_a_file_that_cannot_be_read_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "leadscore.db"
    good = tmp_path / "c.csv"
    good.write_text("contact_id,email\nc1,a@b.com\n")
    bad = tmp_path / "e.csv"
    bad.write_bytes(
        b"event_id,contact_id,type,timestamp\ne1,c1,x,2026-01-01\ne2,c1,\x81\x8d,2026-01-01\n"
    )
    code, output = run("--db", str(db), "-c", str(good), "-e", str(bad))
    assert code == 1 and f"{bad}, row 2: not UTF-8 text" in output
    assert not db.exists()  # every file is checked before the store is opened
    code, output = run("--db", str(db), "-e", str(good))
    assert code == 1 and "missing required column(s) event_id, type, timestamp" in output


def test_import_reads_excel(tmp_path: Path) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in (["contact_id", "email", "employees"], ["c1", "a@b.com", 250], ["c2", None, 12.5]):
        sheet.append(row)
    book.save(tmp_path / "c.xlsx")
    db = str(tmp_path / "leadscore.db")
    code, output = run("--db", db, "-c", str(tmp_path / "c.xlsx"))
    assert code == 0, output
    people, _ = stored(db)
    assert people["c1"] == {"employees": "250", "email": "a@b.com"}
    assert people["c2"] == {"employees": "12.5", "email": None}


def test_import_counts_rows(tmp_path: Path) -> None:
    db = str(tmp_path / "leadscore.db")
    (tmp_path / "c.csv").write_text("contact_id\nc1\n")
    lines = "".join(f"e{i},c1,page_view,2026-10-01T00:00:00Z\n" for i in range(2_500))
    (tmp_path / "e.csv").write_text("event_id,contact_id,type,timestamp\n" + lines)
    code, output = run(
        "--db", db, "-c", str(tmp_path / "c.csv"), "-e", str(tmp_path / "e.csv"), "--chunk", "1000"
    )
    assert code == 0, output
    assert "events: 2,500 accepted" in output
    store = Store(db)
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(events)).scalar() == 2_500
    store.dispose()
