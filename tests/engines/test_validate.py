"""The engines' input checks (engines/validate.py) report what leadscore.io reports.

Each bad input is given to the Python readers and to the engine: the engine must
raise an InputError naming the same file, row and column with the same message
(for CSV and Parquet files), or the table and column (for tables, which have no
row order). DuckDB always runs; PostgreSQL runs against the real server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadscore.engines import get_engine
from leadscore.io import InputError, read_contacts, read_events
from leadscore.spec import parse_model

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
MODEL = parse_model(
    """
scores:
  engagement:
    rules:
      - {id: pricing, on: page_view, where: {url: {starts_with: /pricing}}, points: 7}
"""
)
CONTACTS = "contact_id,country\nc1,US\nc2,DE\nc3,FR\n"
EVENTS = (
    "event_id,contact_id,type,timestamp,url\n"
    "e1,c1,page_view,2026-10-30T10:00:00Z,/pricing\n"
    "e2,c1,page_view,2026-10-31T10:00:00,/pricing\n"
    "e3,c2,page_view,2026-10-01T10:00:00+02:00,/blog\n"
    "e4,c3,page_view,2026-10-02 08:00,/blog\n"
)

# (name, which file, its bad content, row, column); None content keeps the good file
BAD = [
    (
        "text timestamp",
        "events",
        EVENTS.replace("2026-10-31T10:00:00", "yesterday"),
        2,
        "timestamp",
    ),
    ("impossible date", "events", EVENTS.replace("2026-10-01T10", "2026-13-01T10"), 3, "timestamp"),
    ("unknown contact", "events", EVENTS.replace("e3,c2", "e3,c9"), 3, "contact_id"),
    ("duplicate event", "events", EVENTS.replace("e3,c2", "e1,c2"), 3, "event_id"),
    ("empty event id", "events", EVENTS.replace("e2,c1,", ",c1,"), 2, "event_id"),
    ("empty type", "events", EVENTS.replace("e4,c3,page_view", "e4,c3, "), 4, "type"),
    ("empty timestamp", "events", EVENTS.replace("2026-10-02 08:00", ""), 4, "timestamp"),
    ("duplicate contact", "contacts", CONTACTS + "c2,GB\n", 4, "contact_id"),
    ("empty contact id", "contacts", CONTACTS.replace("c2,DE", ",DE"), 2, "contact_id"),
    (
        "first problem in file order",
        "events",
        EVENTS.replace("e4,c3", "e4,c9").replace("2026-10-31T10:00:00", "soon"),
        2,
        "timestamp",
    ),
]
MISSING = [
    ("events", EVENTS.replace("timestamp,", "time,"), "missing required column(s) timestamp"),
    ("contacts", CONTACTS.replace("contact_id", "id"), "missing required column(s) contact_id"),
]


def write(tmp: Path, which: str, content: str, fmt: str) -> dict[str, Path]:
    texts = {"contacts": CONTACTS, "events": EVENTS, which: content}
    paths = {}
    for name, text in texts.items():
        path = tmp / f"{name}.csv"
        path.write_text(text)
        if fmt == "parquet":
            lines = text.splitlines()
            header = lines[0].split(",")
            rows = [dict(zip(header, line.split(","), strict=True)) for line in lines[1:]]
            columns = {h: pa.array([r[h] or None for r in rows], pa.string()) for h in header}
            path = tmp / f"{name}.parquet"
            pq.write_table(pa.table(columns), path)
        paths[name] = path
    return paths


def python_error(paths: dict[str, Path]) -> InputError:
    """The python engine's error: the reader's, with the count of unknown contacts added."""
    from leadscore.cli.scoring import _count_unknown

    with pytest.raises(InputError) as caught:
        contacts = read_contacts(paths["contacts"])
        read_events(paths["events"], known_contacts={c.contact_id for c in contacts})
    if "unknown contact_id" in str(caught.value):
        known = {c.contact_id for c in contacts}
        return _count_unknown(caught.value, paths["events"], known)  # type: ignore[no-any-return]
    return caught.value


def engine_error(engine: Any, paths: dict[str, Path]) -> InputError:
    with pytest.raises(InputError) as caught:
        engine.score(MODEL, paths["contacts"], paths["events"], AS_OF)
    return caught.value


@pytest.fixture
def duck() -> Any:
    return get_engine("duckdb")


@pytest.fixture(scope="module")
def pg(pg_scratch_url: str) -> Iterator[Any]:
    engine = get_engine("postgres", url=pg_scratch_url)
    yield engine
    engine.close()


ENGINES = ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)]


def engine_named(name: str, request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue("duck" if name == "duckdb" else "pg")


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize(
    ("case", "which", "content", "row", "column"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_csv_is_reported_as_the_python_reader_does(
    engine_name: str,
    case: str,
    which: str,
    content: str,
    row: int,
    column: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    paths = write(tmp_path, which, content, "csv")
    expected = python_error(paths)
    got = engine_error(engine_named(engine_name, request), paths)
    assert (got.file, got.row, got.column) == (str(paths[which]), row, column), str(got)
    assert str(got) == str(expected)


@pytest.mark.parametrize(
    ("case", "which", "content", "row", "column"), BAD, ids=[b[0] for b in BAD]
)
def test_bad_parquet_is_reported_as_the_python_reader_does_on_duckdb(
    case: str, which: str, content: str, row: int, column: str, tmp_path: Path, duck: Any
) -> None:
    paths = write(tmp_path, which, content, "parquet")
    expected = python_error(paths)
    got = engine_error(duck, paths)
    assert (got.file, got.row, got.column) == (str(paths[which]), row, column), str(got)
    assert str(got) == str(expected)


@pytest.mark.parametrize("engine_name", ENGINES)
@pytest.mark.parametrize(("which", "content", "message"), MISSING)
def test_missing_required_column_names_the_file(
    engine_name: str,
    which: str,
    content: str,
    message: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    paths = write(tmp_path, which, content, "csv")
    got = engine_error(engine_named(engine_name, request), paths)
    assert got.file == str(paths[which]) and message in str(got)
    assert str(got) == str(python_error(paths))


@pytest.mark.parametrize("engine_name", ENGINES)
def test_malformed_csv_rows_are_located(
    engine_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    paths = write(tmp_path, "events", EVENTS + "e5,c1,page_view\n", "csv")
    got = engine_error(engine_named(engine_name, request), paths)
    assert (got.file, got.row) == (str(paths["events"]), 5)
    assert "expected 5 values (as in the header), found 3" in str(got)
    paths = write(tmp_path, "contacts", 'contact_id,country\nc1,"US\n', "csv")
    got = engine_error(engine_named(engine_name, request), paths)
    assert got.file == str(paths["contacts"]) and "malformed CSV" in str(got)
    assert str(got) == str(python_error(paths))


@pytest.mark.parametrize("engine_name", ENGINES)
def test_a_row_that_is_not_utf8_is_located(
    engine_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Latin-1 bytes past the reader's first decoded block (a bad byte in that block
    # already fails the header read); the error is the row being read when it fails.
    # In contact_id, which every engine reads (DuckDB never decodes unused columns).
    rows = "".join(f"x{i},US\n" for i in range(3000))
    paths = write(tmp_path, "contacts", CONTACTS + rows + "Fran\xe7ois,FR\n", "csv")
    paths["contacts"].write_bytes(paths["contacts"].read_text().encode("latin-1"))
    got = engine_error(engine_named(engine_name, request), paths)
    assert got.file == str(paths["contacts"]) and got.row is not None and got.row > 1
    assert "not UTF-8 text" in str(got)
    assert str(got) == str(python_error(paths))


def latin1_in_unused_column(tmp: Path) -> dict[str, Path]:
    """A Latin-1 byte in `country`, which no rule of MODEL reads, past the first block."""
    rows = "".join(f"x{i},US\n" for i in range(3000))
    paths = write(tmp, "contacts", CONTACTS + rows + "x3000,Cura\xe7ao\n", "csv")
    paths["contacts"].write_bytes(paths["contacts"].read_text().encode("latin-1"))
    return paths


@pytest.mark.parametrize("engine_name", ENGINES)
def test_bytes_that_are_not_utf8_in_an_unused_column_are_rejected(
    engine_name: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # DuckDB never decodes a column the query does not read: without the byte check
    # this file would be scored although the Python reader rejects it.
    paths = latin1_in_unused_column(tmp_path)
    got = engine_error(engine_named(engine_name, request), paths)
    # The row is the one being read when the decoder meets the byte, as in io.
    assert got.file == str(paths["contacts"]) and got.row is not None and got.row > 1
    assert "not UTF-8 text" in str(got) and str(got) == str(python_error(paths))


# ------------------------------------------------------------------- tables --
TABLE_CASES = [
    ("unknown contact", "events", "UPDATE {events} SET contact_id = 'c9' WHERE event_id = 'e3'",
     "contact_id", "unknown contact_id 'c9'"),
    ("duplicate event", "events", "UPDATE {events} SET event_id = 'e1' WHERE event_id = 'e3'",
     "event_id", "duplicate event_id 'e1'"),
    ("text timestamp", "events", "UPDATE {events} SET timestamp = 'soon' WHERE event_id = 'e2'",
     "timestamp", "cannot read timestamp 'soon'"),
    ("empty type", "events", "UPDATE {events} SET type = NULL WHERE event_id = 'e2'",
     "type", "type is empty"),
    ("duplicate contact", "contacts", "INSERT INTO {contacts} VALUES ('c2', 'GB')",
     "contact_id", "duplicate contact_id 'c2'"),
]  # fmt: skip


def load_tables(run: Callable[[str], Any], prefix: str) -> dict[str, str]:
    names = {"contacts": f"{prefix}contacts", "events": f"{prefix}events"}
    for key, text in (("contacts", CONTACTS), ("events", EVENTS)):
        lines = text.splitlines()
        columns = ", ".join(f'"{h}" text' for h in lines[0].split(","))
        run(f"DROP TABLE IF EXISTS {names[key]}")
        run(f"CREATE TABLE {names[key]} ({columns})")
        values = ", ".join(
            "(" + ", ".join(f"'{v}'" for v in line.split(",")) + ")" for line in lines[1:]
        )
        run(f"INSERT INTO {names[key]} VALUES {values}")
    return names


@pytest.mark.parametrize(
    ("case", "which", "change", "column", "message"), TABLE_CASES, ids=[c[0] for c in TABLE_CASES]
)
def test_bad_duckdb_table_names_table_and_column(
    case: str, which: str, change: str, column: str, message: str, tmp_path: Path
) -> None:
    import duckdb

    db = tmp_path / "crm.duckdb"
    with duckdb.connect(str(db)) as con:
        names = load_tables(con.execute, "")
        con.execute(change.format(**names))
    engine = get_engine("duckdb", database=db)
    with pytest.raises(InputError) as caught:
        engine.score(MODEL, names["contacts"], names["events"], AS_OF)
    got = caught.value
    assert (got.file, got.row, got.column) == (names[which], None, column)
    assert message in str(got) and str(got).startswith(f"{names[which]}, column '{column}'")


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("case", "which", "change", "column", "message"), TABLE_CASES, ids=[c[0] for c in TABLE_CASES]
)
def test_bad_postgres_table_names_table_and_column(
    case: str, which: str, change: str, column: str, message: str, pg: Any
) -> None:
    names = load_tables(pg.con.execute, "crm_")
    pg.con.execute(change.format(**names))
    with pytest.raises(InputError) as caught:
        pg.score(MODEL, names["contacts"], names["events"], AS_OF)
    got = caught.value
    assert (got.file, got.row, got.column) == (names[which], None, column)
    assert message in str(got) and str(got).startswith(f"{names[which]}, column '{column}'")


@pytest.mark.spark
def test_spark_reports_bad_csv_rows_as_the_python_reader_does(
    tmp_path: Path, spark_available: bool
) -> None:
    """One Spark session for a few cases: its row ids are not row numbers, messages must be."""
    engine = get_engine("spark", master="local[1]")
    # a text timestamp; an impossible date (a CAST error under ANSI mode unless TRY_CAST);
    # a duplicate id ("first at row N")
    cases = [BAD[0], BAD[1], BAD[3]]
    cases.append(("short row", "events", EVENTS + "e5,c1,page_view\n", 5, None))
    for case, which, content, row, column in cases:
        folder = tmp_path / case.replace(" ", "-")
        folder.mkdir()
        paths = write(folder, which, content, "csv")
        expected = python_error(paths)
        got = engine_error(engine, paths)
        assert (got.file, got.row, got.column) == (str(paths[which]), row, column), case
        assert str(got) == str(expected), case
    folder = tmp_path / "latin1"
    folder.mkdir()
    paths = latin1_in_unused_column(folder)  # Spark would read the byte as U+FFFD
    assert str(engine_error(engine, paths)) == str(python_error(paths))


def test_typed_parquet_columns_are_checked_as_the_python_reader_does(
    tmp_path: Path, duck: Any
) -> None:
    """Integer ids and real timestamps (not text): a NULL timestamp and an unknown id."""
    pq.write_table(
        pa.table({"contact_id": pa.array([1, 2, 3], pa.int64())}), tmp_path / "c.parquet"
    )
    when = datetime(2026, 10, 30, 10, tzinfo=UTC)
    events = {
        "event_id": pa.array([10, 11, 12], pa.int64()),
        "contact_id": pa.array([1, 2, 3], pa.int64()),
        "type": ["page_view"] * 3,
        "timestamp": pa.array([when, when, None], pa.timestamp("us", tz="UTC")),
    }
    paths = {"contacts": tmp_path / "c.parquet", "events": tmp_path / "e.parquet"}
    pq.write_table(pa.table(events), paths["events"])
    got = engine_error(duck, paths)
    assert (got.row, got.column) == (3, "timestamp") and str(got) == str(python_error(paths))
    events["timestamp"] = pa.array([when] * 3, pa.timestamp("us", tz="UTC"))
    events["contact_id"] = pa.array([1, 7, 3], pa.int64())
    pq.write_table(pa.table(events), paths["events"])
    got = engine_error(duck, paths)
    assert (got.row, got.column) == (2, "contact_id") and str(got) == str(python_error(paths))


@pytest.mark.parametrize("ids", [[10, 11, 12, 11], [-7, 4, -7, 5], [1, 2, 3, 3], [8, 0, 4, 4]])
def test_duplicate_integer_ids_are_found_in_every_pass(
    tmp_path: Path, duck: Any, ids: list[int]
) -> None:
    """Repeated integer event ids are found and named as the Python reader does, negative
    ids included (DuckDB sorts the ids; see the next test for both ways)."""
    pq.write_table(pa.table({"contact_id": pa.array([1], pa.int64())}), tmp_path / "c.parquet")
    when = datetime(2026, 10, 30, 10, tzinfo=UTC)
    events = {
        "event_id": pa.array(ids, pa.int64()),
        "contact_id": pa.array([1] * 4, pa.int64()),
        "type": ["page_view"] * 4,
        "timestamp": pa.array([when] * 4, pa.timestamp("us", tz="UTC")),
    }
    paths = {"contacts": tmp_path / "c.parquet", "events": tmp_path / "e.parquet"}
    pq.write_table(pa.table(events), paths["events"])
    got = engine_error(duck, paths)
    repeat = next(i for i, x in enumerate(ids) if x in ids[:i])
    assert (got.row, got.column) == (repeat + 1, "event_id")
    assert str(got) == str(python_error(paths))
    events["event_id"] = pa.array([ids[0], None, 99, 98], pa.int64())
    pq.write_table(pa.table(events), paths["events"])
    got = engine_error(duck, paths)
    assert (got.row, got.column) == (2, "event_id") and str(got) == str(python_error(paths))


@pytest.mark.parametrize("by_sort", [True, False], ids=["sort", "four-passes"])
@pytest.mark.parametrize("ids", [[10, 11, 12, 11], [-7, 4, -7, 5], [1, 2, 3, 3], [8, 0, 4, 4]])
def test_repeated_integer_keys_are_found_either_way(ids: list[int], by_sort: bool) -> None:
    """DuckDB sorts integer ids; PostgreSQL and Spark group them one residue of id % 4 at
    a time (each pass must see its repeats: a negative id's remainder is negative in SQL).
    Both must name the first repeat in file order and the row it repeats."""
    import duckdb
    from sqlglot import exp

    from leadscore.compile.sqlexp import alias
    from leadscore.engines.validate import DUPLICATE_PASSES, _duplicates

    con = duckdb.connect()
    rows = ", ".join(f"({i + 1}, {x})" for i, x in enumerate([*ids, 99]))
    con.execute(f"CREATE TABLE ev AS SELECT * FROM (VALUES {rows}, (6, NULL)) AS v(r, event_id)")

    def repeat_in_ev() -> tuple[int, str, int | None] | None:
        return _duplicates(
            lambda q: con.execute(q).fetchall(),
            lambda e: e.sql(dialect="duckdb"),
            alias(exp.to_table("ev"), "t"),
            exp.column("event_id", table="t", quoted=True),
            [alias(exp.column("r", table="t"), "row_no")],
            "r",
            DUPLICATE_PASSES,
            by_sort,
        )

    repeat = next(i for i, x in enumerate(ids) if x in ids[:i])
    assert repeat_in_ev() == (repeat + 1, ids[repeat], ids.index(ids[repeat]) + 1)
    con.execute(f"DELETE FROM ev WHERE r = {repeat + 1}")
    assert repeat_in_ev() is None
