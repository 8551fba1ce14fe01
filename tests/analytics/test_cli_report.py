"""`leadscore report ...` end to end on small files, including bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app

from .conftest import AS_OF

runner = CliRunner()


@pytest.fixture
def files(tmp_path: Path, stages, contacts, events) -> dict[str, Path]:
    out = {}
    for name, frame in (("stages", stages), ("contacts", contacts), ("events", events)):
        p = tmp_path / f"{name}.csv"
        frame.to_csv(p, index=False)
        out[name] = p
    spend = tmp_path / "spend.csv"
    spend.write_text("channel,period,amount\nads,2024-01,100\nads,2024-03,50\nseo,2024-02,30\n")
    out["spend"] = spend
    a = tmp_path / "assignments.csv"
    rows = ["contact_id,experiment,variant,converted"]
    rows += [f"a{i},welcome,control,{int(i < 30)}" for i in range(300)]
    rows += [f"b{i},welcome,new,{int(i < 45)}" for i in range(300)]
    a.write_text("\n".join(rows) + "\n")
    out["assignments"] = a
    return out


def _run(*args: str) -> str:
    result = runner.invoke(app, ["report", *args], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return result.output


def test_funnel_prints_tables_and_writes_html(files, tmp_path):
    html = tmp_path / "funnel.html"
    out = _run(
        "funnel", "--stages", str(files["stages"]), "--contacts", str(files["contacts"]),
        "--as-of", AS_OF, "--html", str(html), "--csv", str(tmp_path / "f.csv"), "--cohorts",
    )  # fmt: skip
    assert re.search(r"customer\s.*\b2\b.*100\.0 %.*40\.0 %", out)
    assert "mql -> customer by month of mql" in out
    assert "Fresh" in out
    assert re.search(r"2024-02\s.*\b1\b.*\b0\b.*0\.0 %", out)  # c5's cohort: 1 lead, no MQL
    text = html.read_text()
    assert "<svg" in text and "Stage-to-stage conversion" in text
    assert pd.read_csv(tmp_path / "f.csv")["entered"].sum() > 0


def test_velocity_shows_lvr(files):
    out = _run("velocity", "--stages", str(files["stages"]), "--as-of", AS_OF)
    # MQLs: Jan 2, Feb 0, Mar 2 -> Feb LVR -100 %, others n/a.
    assert re.search(r"2024-02\s.*\b0\b.*\b2\b.*-2.*-100\.0 %", out)
    assert "n/a" in out


def test_rfm_attribution_goals_cpa_abtest(files, tmp_path):
    out = _run(
        "rfm", "--events", str(files["events"]), "--stages", str(files["stages"]),
        "--as-of", AS_OF,
    )  # fmt: skip
    assert "Champions" in out and "Hibernating" in out
    out = _run(
        "attribution", "--events", str(files["events"]), "--stages", str(files["stages"]),
        "--as-of", AS_OF, "--touch", "campaign",
    )  # fmt: skip
    assert re.search(r"\bc\b.*1.*1.*1", out)
    out = _run(
        "goals", "--stages", str(files["stages"]), "--contacts", str(files["contacts"]),
        "--revenue", "3000", "--as-of", AS_OF,
    )  # fmt: skip
    assert re.search(r"lead\s.*\b10\b", out)
    out = _run(
        "cpa", "--spend", str(files["spend"]), "--contacts", str(files["contacts"]),
        "--stages", str(files["stages"]), "--as-of", AS_OF,
    )  # fmt: skip
    assert re.search(r"ads\s.*150\.00", out)
    out = _run("abtest", "--assignments", str(files["assignments"]), "--control", "control")
    assert "keep running" in out
    out = _run("abtest", "--baseline", "0.1", "--mde", "0.02")
    assert "3,835" in out


def test_milestones_and_renamed_columns(tmp_path):
    mql = tmp_path / "mql.csv"
    mql.write_text("mql_id,first_contact_date,origin\nm1,2018-01-05,social\nm2,2018-02-01,paid\n")
    won = tmp_path / "won.csv"
    won.write_text("mql_id,won_date\nm1,2018-01-20 10:00:00\n")
    out = _run(
        "funnel", "--contacts", str(mql), "--id-column", "mql_id",
        "--created-column", "first_contact_date", "--milestone",
        f"mql={mql}:first_contact_date", "--milestone", f"customer={won}:won_date",
        "--funnel", "mql,customer", "--by", "origin", "--as-of", "2019-01-01",
    )  # fmt: skip
    assert re.search(r"social\s.*customer\s.*\b1\b.*100\.0 %", out)


def test_bad_input_is_one_clear_error_line(files, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("contact_id,stage,timestamp\nc1,mql,2024-01-01\nc2,mql,someday\n")
    result = runner.invoke(app, ["report", "funnel", "--stages", str(bad)])
    assert result.exit_code == 1
    assert "bad.csv, row 2 (line 3), column 'timestamp'" in result.output
    assert "Traceback" not in result.output
    result = runner.invoke(
        app, ["report", "velocity", "--stages", str(files["stages"]), "--period", "fortnight"]
    )
    assert result.exit_code == 1 and "unknown period" in result.output
    result = runner.invoke(app, ["report", "funnel"])
    assert result.exit_code == 1 and "--stages" in result.output
    result = runner.invoke(
        app, ["report", "funnel", "--milestone", "customer", "--stages", str(files["stages"])]
    )
    assert result.exit_code == 1 and "STAGE=FILE:DATE_COLUMN" in result.output


def test_full_html_report_is_self_contained(files, tmp_path):
    out = tmp_path / "report.html"
    _run(
        "html", "--output", str(out), "--stages", str(files["stages"]),
        "--contacts", str(files["contacts"]), "--events", str(files["events"]),
        "--assignments", str(files["assignments"]), "--control", "control",
        "--revenue", "3000", "--spend", str(files["spend"]), "--as-of", AS_OF,
    )  # fmt: skip
    text = out.read_text()
    for key in ("funnel", "velocity", "rfm", "attribution", "abtest", "cpa", "goals"):
        assert f'id="{key}"' in text
    # No script, no stylesheet link, no remote image: only the SVG namespace URI.
    assert "<script" not in text and "<link" not in text
    urls = set(re.findall(r"https?://[^\s\"'<>]+", text))
    assert urls <= {"http://www.w3.org/2000/svg"}


def test_tags_command_and_bad_weight(files):
    out = _run(
        "tags", "--events", str(files["events"]), "--contacts", str(files["contacts"]),
        "--who", "source", "--action-weight", "form_submit=5",
        "--place-weight", "/pricing*=2", "--as-of", AS_OF,
    )  # fmt: skip
    assert "what:form_submit" in out and "who:source=ads" in out
    result = runner.invoke(
        app, ["report", "tags", "--events", str(files["events"]), "--action-weight", "form_submit"]
    )
    assert result.exit_code == 1 and "NAME=NUMBER" in result.output
