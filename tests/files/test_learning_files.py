"""The learning commands read CRM files as `score` does (dialect, preset, dates)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.learn.synthetic import make_leads


def test_readiness_reads_an_excel_csv_as_the_canonical_one(tmp_path: Path) -> None:
    contacts, events = make_leads(600, seed=3)
    contacts.to_csv(tmp_path / "c.csv", index=False)
    events.to_csv(tmp_path / "e.csv", index=False)
    # The same data as Excel in a German locale writes it, with Salesforce's names.
    renamed = contacts.rename(columns={"contact_id": "Id", "created_at": "CreatedDate"})
    renamed.to_csv(tmp_path / "Lead.csv", index=False, sep=";", encoding="cp1252")
    events.to_csv(tmp_path / "Task.csv", index=False, sep=";", encoding="cp1252")
    runner = CliRunner()
    answers = []
    for c, e, extra in (
        ("c.csv", "e.csv", []),
        ("Lead.csv", "Task.csv", ["--preset", "salesforce"]),
    ):
        report = tmp_path / f"{c}.json"
        res = runner.invoke(
            app,
            [
                "readiness",
                "-c",
                str(tmp_path / c),
                "-e",
                str(tmp_path / e),
                "--json",
                str(report),
                *extra,
            ],
        )
        assert res.exit_code == 0, res.output
        answers.append(json.loads(report.read_text()))
    assert answers[0] == answers[1] and answers[0]["conversions"] > 0
