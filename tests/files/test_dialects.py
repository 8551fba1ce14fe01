"""`;`, tab, BOM, UTF-16, cp1252, Excel and non-ISO dates score as the UTF-8 CSV does."""

from __future__ import annotations

import codecs
import sys
from datetime import datetime
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from filedata import ENGINES, EXAMPLES, Table, score, write_csv

from leadscore.files.reader import ReadOptions, Source

MODEL = EXAMPLES / "model.yaml"
# A score on the accented names, so that a wrong decoding changes the scores.
ACCENT = '  accent:\n    rules:\n      - {id: accent, when: {field: first_name, ends_with: "é€"}, points: 3}\n'


def _bom(path: Path) -> Path:
    path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    return path


def _accented(table: Table) -> Table:
    """Names with characters cp1252 has and ASCII has not (the examples' Müller, plus é, €)."""
    header, rows = table
    col = header.index("first_name")
    rows = [
        [*r[:col], r[col] + "é€", *r[col + 1 :]] if i % 3 == 0 else r for i, r in enumerate(rows)
    ]
    return header, rows


WRITERS = {
    "semicolon-cp1252": lambda p, t: write_csv(p, t, delimiter=";", encoding="cp1252"),
    "utf8-bom": lambda p, t: _bom(write_csv(p, t)),
    "semicolon-utf8-bom": lambda p, t: _bom(write_csv(p, t, delimiter=";")),
    "tab-utf16": lambda p, t: write_csv(p, t, delimiter="\t", encoding="utf-16"),
    "pipe": lambda p, t: write_csv(p, t, delimiter="|"),
}


@pytest.fixture(scope="module")
def accented(
    example: dict[str, Table], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, object]:
    """The data with accented names, and what each engine scores on its UTF-8 CSV."""
    folder = tmp_path_factory.mktemp("accented")
    model = folder / "model.yaml"
    model.write_text(
        MODEL.read_text(encoding="utf-8").replace("scores:\n", "scores:\n" + ACCENT, 1),
        encoding="utf-8",
    )
    contacts = _accented(example["contacts"])
    base = {
        "contacts": write_csv(folder / "contacts.csv", contacts),
        "events": write_csv(folder / "events.csv", example["events"]),
    }
    want = {}
    for engine in ENGINES:
        code, output, text = score(
            model, base["contacts"], base["events"], folder / f"{engine}.csv", "--engine", engine
        )
        assert code == 0, output
        assert text is not None and "\nc0001,3.0," in text  # the accent rule fired
        want[engine] = text
    return {"contacts": contacts, "events": example["events"], "want": want, "model": model}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dialect", list(WRITERS))
def test_csv_dialects_score_as_the_utf8_csv(
    dialect: str, engine: str, accented: dict, tmp_path: Path
) -> None:
    write = WRITERS[dialect]
    contacts = write(tmp_path / "contacts.csv", accented["contacts"])
    events = write(tmp_path / "events.csv", accented["events"])
    code, output, got = score(
        accented["model"], contacts, events, tmp_path / "s.csv", "--engine", engine
    )
    assert code == 0, output
    assert got == accented["want"][engine]


def _xlsx(path: Path, table: Table) -> Path:
    """As Excel stores it: numbers as numbers, times as date-times (no zone)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    header, rows = table
    sheet.append(header)
    for row in rows:
        cells: list[object] = []
        for name, value in zip(header, row, strict=True):
            if name == "employees" and value.isdigit():
                cells.append(int(value))
            elif name == "timestamp":
                cells.append(datetime.fromisoformat(value).replace(tzinfo=None))  # UTC values
            else:
                cells.append(value)
        sheet.append(cells)
    book.save(path)
    return path


@pytest.mark.parametrize("engine", ENGINES)
def test_xlsx_scores_as_the_utf8_csv(engine: str, accented: dict, tmp_path: Path) -> None:
    contacts = _xlsx(tmp_path / "contacts.xlsx", accented["contacts"])
    events = _xlsx(tmp_path / "events.xlsx", accented["events"])
    code, output, got = score(
        accented["model"], contacts, events, tmp_path / "s.csv", "--engine", engine
    )
    assert code == 0, output
    assert got == accented["want"][engine]


@pytest.mark.postgres
def test_a_semicolon_cp1252_file_scores_the_same_on_postgres(
    accented: dict, tmp_path: Path, pg_url: str
) -> None:
    pg = ("--engine", "postgres", "--db", pg_url)
    utf8 = {k: write_csv(tmp_path / f"u-{k}.csv", accented[k]) for k in ("contacts", "events")}
    cp = {
        k: write_csv(tmp_path / f"c-{k}.csv", accented[k], delimiter=";", encoding="cp1252")
        for k in ("contacts", "events")
    }
    model = accented["model"]
    code, output, want = score(model, utf8["contacts"], utf8["events"], tmp_path / "w.csv", *pg)
    assert code == 0, output
    code, output, got = score(model, cp["contacts"], cp["events"], tmp_path / "g.csv", *pg)
    assert code == 0, output
    assert got == want


@pytest.mark.parametrize("engine", ENGINES)
def test_date_format_reads_non_iso_times(
    engine: str, example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    """Day-first times to the minute: the example events happen on whole minutes? Not all,
    so the reference is the ISO file cut to the minute too."""

    def minute(column: str, value: str) -> str:
        return (
            datetime.fromisoformat(value).strftime("%Y-%m-%dT%H:%M:00+00:00")
            if column == "timestamp"
            else value
        )

    def day_first(column: str, value: str) -> str:
        return (
            datetime.fromisoformat(value).strftime("%d/%m/%Y %H:%M")
            if column == "timestamp"
            else value
        )

    iso = write_csv(tmp_path / "iso.csv", example["events"], values=minute)
    local = write_csv(tmp_path / "local.csv", example["events"], values=day_first)
    code, output, want = score(
        MODEL, canonical["contacts"], iso, tmp_path / "w.csv", "--engine", engine
    )
    assert code == 0, output
    code, output, _ = score(
        MODEL, canonical["contacts"], local, tmp_path / "x.csv", "--engine", engine
    )
    assert code == 1 and "cannot read timestamp" in output  # not ISO 8601 without the flag
    code, output, got = score(
        MODEL,
        canonical["contacts"],
        local,
        tmp_path / "g.csv",
        "--engine",
        engine,
        "--date-format",
        "%d/%m/%Y %H:%M",
    )
    assert code == 0, output
    assert got == want


def test_a_date_not_in_the_format_is_named(
    example: dict[str, Table], canonical: dict[str, Path], tmp_path: Path
) -> None:
    header, rows = example["events"]
    ts = header.index("timestamp")
    rows = [[*r[:ts], "31/12/2025 10:00", *r[ts + 1 :]] for r in rows[:3]] + [
        [*rows[3][:ts], "2025-13-45", *rows[3][ts + 1 :]]
    ]
    events = write_csv(tmp_path / "e.csv", (header, rows), delimiter=";")
    code, output, _ = score(
        MODEL, canonical["contacts"], events, tmp_path / "s.csv", "--date-format", "%d/%m/%Y %H:%M"
    )
    assert code == 1
    assert (
        f"{tmp_path / 'e.csv'}, row 4, column 'timestamp': cannot read date '2025-13-45' with --date-format"
        in output
    )


def test_forced_delimiter_and_encoding(example: dict[str, Table], tmp_path: Path) -> None:
    # A file whose first 64 KiB are ASCII is taken as UTF-8; a cp1252 byte further on
    # is then an error naming the row, and --encoding reads it.
    header = example["contacts"][0]
    filler = [[f"x{i}", *([""] * (len(header) - 1))] for i in range(5000)]
    last = ["late", "Zoë", *([""] * (len(header) - 2))]
    contacts = write_csv(
        tmp_path / "c.csv", (header, [*filler, last]), delimiter=";", encoding="cp1252"
    )
    assert contacts.stat().st_size > 1 << 16
    events = write_csv(tmp_path / "e.csv", (example["events"][0], []), delimiter=";")
    model = tmp_path / "m.yaml"
    model.write_text(
        "scores:\n  fit:\n    rules:\n"
        "      - {id: zoe, when: {field: first_name, equals: Zoë}, points: 5}\n",
        encoding="utf-8",
    )
    code, output, _ = score(model, contacts, events, tmp_path / "s.csv", "--delimiter", ";")
    assert code == 1 and "c.csv, row 5001" in output and "not UTF-8 text" in output
    code, output, got = score(
        model,
        contacts,
        events,
        tmp_path / "s.csv",
        "--delimiter",
        "semicolon",
        "--encoding",
        "cp1252",
    )
    assert code == 0, output
    assert got is not None and got.splitlines()[-1].startswith("late,5.0,")
    code, output, _ = score(model, contacts, events, tmp_path / "s.csv", "--delimiter", "tabs")
    assert code == 1 and "--delimiter must be one character" in output


def test_text_in_no_known_encoding_names_the_file_and_row(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes(b"contact_id,first_name\nc1,Ann\nc2,\x81\x8d\xff\n")  # bytes cp1252 lacks
    with pytest.raises(Exception) as caught:
        Source(path, "contacts", ReadOptions())
    assert str(caught.value).startswith(f"{path}, row 2: not UTF-8 text")
    assert "nor cp1252; give the file's --encoding" in str(caught.value)


def test_detection(tmp_path: Path) -> None:
    cases = {
        "a.csv": (b'contact_id;name\nc1;"A; B"\n', "utf-8", ";"),
        "b.csv": (codecs.BOM_UTF8 + b"contact_id,name\nc1,A\n", "utf-8-sig", ","),
        "c.csv": ("contact_id\tname\nc1\tAé\n".encode("utf-16"), "utf-16", "\t"),
        "d.csv": ("contact_id|name\nc1|Ané\n".encode("cp1252"), "cp1252", "|"),
        "e.csv": (b"contact_id\nc1\n", "utf-8", ","),
    }
    for name, (data, encoding, delimiter) in cases.items():
        (tmp_path / name).write_bytes(data)
        source = Source(tmp_path / name, "contacts", ReadOptions())
        assert source.dialect is not None
        assert (source.dialect.encoding, source.dialect.delimiter) == (encoding, delimiter), name
        assert next(r.record for r in source.rows())["contact_id"] == "c1"


def test_tsv_and_txt_files_are_read(canonical: dict[str, Path], tmp_path: Path) -> None:
    for name, delimiter in (("contacts.tsv", "\t"), ("contacts.txt", ",")):
        path = tmp_path / name
        text = canonical["contacts"].read_text(encoding="utf-8")
        path.write_text(
            text.replace(",", delimiter) if delimiter != "," else text, encoding="utf-8"
        )
        code, output, got = score(MODEL, path, canonical["events"], tmp_path / f"{name}.out.csv")
        assert code == 0, output
        assert got == canonical["duckdb"].read_text(encoding="utf-8")
