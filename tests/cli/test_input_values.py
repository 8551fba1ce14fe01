"""Files at the door: text no store can hold and infinite numbers are refused with the
file, row and column named; NaN in a Parquet float column stays "missing"."""

from __future__ import annotations

import math
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from leadscore.io import InputError, read_contacts, read_events


def test_csv_with_a_nul_names_file_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("contact_id,title,company\nc1,VP,Acme\nc2,Dir\x00ector,Beta\n", "utf-8")
    with pytest.raises(InputError) as info:
        read_contacts(path)
    error = info.value
    assert (error.file, error.row, error.column, error.line) == (str(path), 2, "title", 3)
    assert "NUL" in str(error)


def test_events_csv_with_a_nul_in_a_property(tmp_path: Path) -> None:
    path = tmp_path / "events.csv"
    path.write_text(
        "event_id,contact_id,type,timestamp,url\n"
        "e1,c1,page_view,2026-01-01T00:00:00Z,/pricing\x00\n",
        "utf-8",
    )
    with pytest.raises(InputError) as info:
        read_events(path)
    assert (info.value.row, info.value.column) == (1, "url")


def test_parquet_infinity_and_nul_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "contacts.parquet"
    table = pa.table({"contact_id": ["c1", "c2", "c3"], "employees": [10.0, math.nan, math.inf]})
    pq.write_table(table, path)
    with pytest.raises(InputError) as info:
        read_contacts(path)
    assert (info.value.row, info.value.column) == (3, "employees")
    assert "infinite" in str(info.value)
    pq.write_table(pa.table({"contact_id": ["c1", "c\x002"]}), path)
    with pytest.raises(InputError) as info:
        read_contacts(path)
    assert (info.value.row, info.value.column) == (2, "contact_id")


def test_parquet_nan_is_still_a_missing_number(tmp_path: Path) -> None:
    path = tmp_path / "contacts.parquet"
    pq.write_table(pa.table({"contact_id": ["c1"], "employees": [math.nan]}), path)
    [contact] = read_contacts(path)
    assert math.isnan(contact.fields["employees"])
