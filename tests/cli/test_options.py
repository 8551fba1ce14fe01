"""Option groups (`leadscore.cli.options.with_options`) and the commands built on them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
from typer.testing import CliRunner

from leadscore.cli.main import app as leadscore_app
from leadscore.cli.options import with_options

runner = CliRunner()


@dataclass(frozen=True)
class Files:
    data: Annotated[Path, typer.Option("--data", "-d", help="The data file.")]
    mode: Annotated[str, typer.Option("--mode", help="How to read it.")] = "fast"
    tags: Annotated[list[str] | None, typer.Option("--tag", help="Repeatable.")] = None


def _toy(*fields: str, **defaults: Any) -> tuple[typer.Typer, list[Any]]:
    app = typer.Typer()
    seen: list[Any] = []

    @app.command()
    @with_options(Files, *fields, **defaults)
    def run(
        name: Annotated[str, typer.Option("--name")],
        files: Files,
        loud: Annotated[bool, typer.Option("--loud")] = False,
    ) -> None:
        """Run the toy."""
        seen.append((name, files, loud))

    @app.command()
    def other() -> None:  # a second command, so `run` is invoked by name
        pass

    return app, seen


def _flags(app: typer.Typer, command: str) -> list[tuple[str, Any, bool]]:
    group = typer.main.get_command(app)
    cmd = group.commands[command]  # type: ignore[attr-defined]
    return [(p.opts[0], p.default, p.required) for p in cmd.params]


def test_group_options_take_the_place_of_the_group_parameter() -> None:
    app, seen = _toy()
    assert _flags(app, "run") == [
        ("--name", None, True),
        ("--data", None, True),
        ("--mode", "fast", False),
        ("--tag", None, False),
        ("--loud", False, False),
    ]
    result = runner.invoke(
        app, ["run", "--name", "n", "-d", "x.csv", "--tag", "a", "--tag", "b", "--loud"]
    )
    assert result.exit_code == 0, result.output
    assert seen == [("n", Files(Path("x.csv"), "fast", ["a", "b"]), True)]
    help_text = runner.invoke(app, ["run", "--help"], env={"COLUMNS": "200"}).output
    assert "The data file." in help_text and "Run the toy." in help_text


def test_a_command_offers_some_fields_in_its_order_with_its_own_defaults() -> None:
    app, seen = _toy("mode", "data", mode="slow")
    assert [f for f, _, _ in _flags(app, "run")] == ["--name", "--mode", "--data", "--loud"]
    assert ("--mode", "slow", False) in _flags(app, "run")
    result = runner.invoke(app, ["run", "--name", "n", "--data", "x.csv"])
    assert result.exit_code == 0, result.output
    # --tag is not offered: the field keeps the dataclass default
    assert seen == [("n", Files(Path("x.csv"), "slow", None), False)]
    assert runner.invoke(app, ["run", "--name", "n", "--data", "x", "--tag", "a"]).exit_code == 2


@pytest.mark.parametrize(
    ("fields", "defaults", "message"),
    [
        (("nope",), {}, "no option nope"),
        (("data",), {"mode": "slow"}, "does not offer"),
        (("mode",), {}, "Files.data has no default"),
    ],
)
def test_wrong_groups_are_refused_when_the_command_is_defined(
    fields: tuple[str, ...], defaults: dict[str, Any], message: str
) -> None:
    with pytest.raises(TypeError, match=message):
        _toy(*fields, **defaults)


def test_a_command_needs_exactly_one_group_parameter_and_no_clash() -> None:
    def no_group(name: str) -> None:
        pass

    def clash(files: Files, mode: str = "x") -> None:
        pass

    with pytest.raises(TypeError, match="one parameter of type Files"):
        with_options(Files)(no_group)
    with pytest.raises(TypeError, match="already has a parameter mode"):
        with_options(Files)(clash)


# The real commands: the group options are where they were, with their defaults.


def _command_flags(*path: str) -> dict[str, tuple[Any, bool]]:
    cmd: Any = typer.main.get_command(leadscore_app)
    for name in path:
        cmd = cmd.commands[name]
    return {p.opts[0]: (p.default, p.required) for p in cmd.params}


@pytest.mark.parametrize(
    ("command", "on_leak"),
    [("readiness", "drop"), ("suggest-points", "error"), ("train", "error"), ("evaluate", "warn")],
)
def test_training_commands_keep_their_options_and_on_leak_default(
    command: str, on_leak: str
) -> None:
    flags = _command_flags(command)
    assert flags["--contacts"] == (None, True)
    assert flags["--on-leak"] == (on_leak, False)
    assert flags["--outcome"] == ("converted_at", False)
    assert flags["--snapshot"] == ("created+14d", False)
    assert flags["--horizon"] == (None, False)  # inferred from the data
    assert flags["--unknown-contacts"] == ("error", False)
    for flag in ("--events", "--created-column", "--exclude", "--data-end"):
        assert flag in flags


ALL_INPUTS = "--stages --contacts --events --milestone --id-column --created-column"
STAGE_INPUTS = "--stages --contacts --milestone --id-column --created-column"


@pytest.mark.parametrize(
    ("command", "inputs"),
    [
        ("funnel", STAGE_INPUTS),
        ("velocity", STAGE_INPUTS),
        ("rfm", "--events --stages --contacts --id-column"),
        ("tags", "--events --contacts --id-column --created-column"),
        ("attribution", "--events --stages --milestone --id-column"),
        ("cpa", "--contacts --stages --milestone --id-column --created-column"),
        ("goals", ALL_INPUTS),
        ("html", ALL_INPUTS),
    ],
)
def test_report_commands_offer_the_inputs_they_read(command: str, inputs: str) -> None:
    flags = _command_flags("report", command)
    assert [f for f in flags if f in ALL_INPUTS.split()] == inputs.split()
    assert flags["--id-column"] == ("contact_id", False)
    if "--created-column" in flags:
        assert flags["--created-column"] == ("created_at", False)
    if "--contacts" in flags:
        assert flags["--contacts"][1] is (command == "cpa")
