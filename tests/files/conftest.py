"""Fixtures of the file tests: the example data and its scores as canonical CSV."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from filedata import EXAMPLES, Table, example_data, score, write_csv


@pytest.fixture(scope="session")
def example() -> dict[str, Table]:
    return example_data()


@pytest.fixture(scope="session")
def canonical(
    tmp_path_factory: pytest.TempPathFactory, example: dict[str, Table]
) -> dict[str, Path]:
    """The data as canonical UTF-8 CSV files, and the scores each engine gives them."""
    folder = tmp_path_factory.mktemp("canonical")
    paths = {
        "contacts": write_csv(folder / "contacts.csv", example["contacts"]),
        "events": write_csv(folder / "events.csv", example["events"]),
        "model": EXAMPLES / "model.yaml",
    }
    for engine in ("duckdb", "python"):
        out = folder / f"scores-{engine}.csv"
        code, output, _ = score(
            paths["model"], paths["contacts"], paths["events"], out, "--engine", engine
        )
        assert code == 0, output
        paths[engine] = out
    return paths
