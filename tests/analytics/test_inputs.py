"""Bad input is reported with the file, the row and the column."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from leadscore.analytics import funnel_report
from leadscore.analytics.inputs import (
    CONTACTS,
    EVENTS,
    SPEND,
    STAGES,
    AnalyticsInputError,
    read_milestone,
    read_table,
    validate,
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_column_names_the_file(tmp_path):
    p = _write(tmp_path / "stages.csv", "contact_id,stage\n1,mql\n")
    with pytest.raises(AnalyticsInputError) as e:
        read_table(p, STAGES)
    assert str(e.value).startswith("stages.csv: missing column(s) 'timestamp'")


def test_unparseable_timestamp_names_row_line_and_column(tmp_path):
    p = _write(
        tmp_path / "events.csv",
        "event_id,contact_id,type,timestamp\n1,a,page_view,2024-01-01\n2,b,page_view,yesterday\n",
    )
    with pytest.raises(AnalyticsInputError) as e:
        read_table(p, EVENTS)
    assert (e.value.row, e.value.line, e.value.column) == (2, 3, "timestamp")
    assert "events.csv, row 2 (line 3), column 'timestamp'" in str(e.value)
    assert "'yesterday'" in str(e.value)


def test_naive_timestamps_are_utc_and_offsets_converted(tmp_path):
    p = _write(
        tmp_path / "contacts.csv",
        "contact_id,created_at\n1,2024-01-01 10:00:00\n2,2024-01-01T10:00:00+02:00\n3,2024-01-02\n",
    )
    c = read_table(p, CONTACTS)
    assert str(c["created_at"].dt.tz) == "UTC"
    assert c["created_at"].tolist() == [
        pd.Timestamp("2024-01-01 10:00", tz="UTC"),
        pd.Timestamp("2024-01-01 08:00", tz="UTC"),
        pd.Timestamp("2024-01-02 00:00", tz="UTC"),
    ]


def test_day_first_dates_are_refused_not_guessed():
    frame = pd.DataFrame({"contact_id": ["a"], "created_at": ["13/01/2024"]})
    with pytest.raises(AnalyticsInputError, match="ISO 8601"):
        validate(frame, CONTACTS)


def test_bad_number_and_unknown_stage(tmp_path):
    spend = _write(
        tmp_path / "spend.csv", "channel,period,amount\nads,2024-01,100\nseo,2024-02,lots\n"
    )
    with pytest.raises(AnalyticsInputError) as e:
        read_table(spend, SPEND)
    assert str(e.value) == "spend.csv, row 2 (line 3), column 'amount': 'lots' is not a number"
    stages = _write(
        tmp_path / "s.csv", "contact_id,stage,timestamp\n1,MQL,2024-01-01\n1,won,2024-02-01\n"
    )
    with pytest.raises(AnalyticsInputError, match=r"row 2 .*unknown stage 'won'"):
        read_table(stages, STAGES)


def test_empty_identifier_and_empty_timestamp(tmp_path):
    p = _write(tmp_path / "s.csv", "contact_id,stage,timestamp\n,mql,2024-01-01\n")
    with pytest.raises(AnalyticsInputError, match=r"row 1 .*column 'contact_id': empty identifier"):
        read_table(p, STAGES)
    p = _write(tmp_path / "s2.csv", "contact_id,stage,timestamp\n1,mql,\n")
    with pytest.raises(AnalyticsInputError, match="column 'timestamp': empty timestamp"):
        read_table(p, STAGES)


def test_frames_are_validated_too():
    bad = pd.DataFrame(
        {"contact_id": [1, 2], "stage": ["mql", "mql"], "timestamp": ["2024-01-01", "x"]}
    )
    with pytest.raises(AnalyticsInputError, match="stages, row 2, column 'timestamp'"):
        funnel_report(bad, as_of="2024-02-01")


def test_parquet_keeps_types_and_reads_only_needed_columns(tmp_path):
    frame = pd.DataFrame(
        {
            "event_id": [1, 2],
            "contact_id": [10, 11],
            "type": ["page_view", "email_open"],
            "timestamp": pd.to_datetime(["2024-01-01 10:00", "2024-01-02 00:00"]),  # naive
            "url": ["/a", "/b"],
            "big_blob": ["x" * 10, "y" * 10],
        }
    )
    p = tmp_path / "events.parquet"
    frame.to_parquet(p)
    ev = read_table(p, EVENTS, columns=["url"])
    assert "big_blob" not in ev.columns
    assert str(ev["timestamp"].dt.tz) == "UTC"
    assert ev["type"].dtype == "category"  # dictionary-encoded text
    assert ev["contact_id"].tolist() == [10, 11]


def test_renamed_columns_report_the_files_own_name(tmp_path):
    p = _write(tmp_path / "mql.csv", "mql_id,first_contact_date\nm1,2018-02-01\nm2,02/03/2018\n")
    with pytest.raises(AnalyticsInputError) as e:
        read_table(p, CONTACTS, rename={"mql_id": "contact_id", "first_contact_date": "created_at"})
    assert "column 'first_contact_date'" in str(e.value) and "row 2" in str(e.value)
    deals = _write(
        tmp_path / "deals.csv", "mql_id,won_date\nm1,2018-03-01 10:00:00\nm2,\nm3,soon\n"
    )
    with pytest.raises(AnalyticsInputError, match=r"deals\.csv, row 3 .*column 'won_date'"):
        read_milestone(deals, "customer", "won_date", "mql_id")


def test_milestone_drops_unreached_rows(tmp_path):
    deals = _write(tmp_path / "deals.csv", "mql_id,won_date\nm1,2018-03-01 10:00:00\nm2,\n")
    s = read_milestone(deals, "customer", "won_date", "mql_id")
    assert s["contact_id"].tolist() == ["m1"] and s["stage"].tolist() == ["customer"]


def _events_parquet(tmp_path: Path, events: pd.DataFrame, **kw) -> Path:
    frame = events.copy()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601").dt.tz_localize("UTC")
    p = tmp_path / "events.parquet"
    frame.to_parquet(p, row_group_size=kw.get("row_group_size", 4))
    return p


def test_parquet_events_stay_lazy_and_give_the_same_results(tmp_path, events, stages):
    from leadscore.analytics import attribution, factual_tags, rfm, sla_follow_up
    from leadscore.analytics.inputs import ParquetEvents, read_events

    lazy = read_events(_events_parquet(tmp_path, events), columns=["campaign", "url"])
    assert isinstance(lazy, ParquetEvents)
    kw = {"as_of": "2024-04-01"}
    pd.testing.assert_frame_equal(
        attribution(lazy, stages, **kw), attribution(events, stages, **kw), check_dtype=False
    )
    pd.testing.assert_frame_equal(rfm(lazy, **kw), rfm(events, **kw), check_dtype=False)
    pd.testing.assert_frame_equal(
        factual_tags(lazy, **kw), factual_tags(events, **kw), check_dtype=False
    )
    types = ["email_click"]
    pd.testing.assert_frame_equal(
        sla_follow_up(stages, events=lazy, follow_up_types=types, **kw),
        sla_follow_up(stages, events=events, follow_up_types=types, **kw),
    )


def test_parquet_events_with_missing_ids_are_found_from_metadata(tmp_path, events):
    from leadscore.analytics.inputs import read_events

    broken = events.copy()
    broken.loc[6, "contact_id"] = None  # 7th row, in the second row group of 4
    p = _events_parquet(tmp_path, broken)
    with pytest.raises(AnalyticsInputError) as e:
        read_events(p)
    assert (e.value.row, e.value.column) == (7, "contact_id")
    with pytest.raises(AnalyticsInputError, match="missing column"):
        read_events(p, columns=["no_such_column"])
