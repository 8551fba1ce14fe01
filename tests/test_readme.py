"""The README's quick start is what CI runs, and its example files exist."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def quick_start_commands() -> list[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", section, re.S)][:2]


def test_quick_start_has_two_setup_commands_and_ci_runs_the_test_one() -> None:
    install_and_run, install_and_test = quick_start_commands()
    assert (
        install_and_run.startswith("python3 -m pip install")
        and "leadscore score" in install_and_run
    )
    assert "pytest" in install_and_test
    ci = (REPO / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == install_and_test


def test_quick_start_files_exist() -> None:
    install_and_run, _ = quick_start_commands()
    for path in re.findall(r"examples/[\w.]+", install_and_run):
        assert (REPO / path).exists(), path
