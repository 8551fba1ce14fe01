"""Model text from strangers: bombs, deep nesting, huge files and backtracking regexes
are refused (or run in linear time) quickly and without memory growth.

The bounds are generous for a loaded CI machine but real: before the limits, the
alias bomb below grew the API process by gigabytes for minutes, and ``(a+)+$``
on 40 ``a`` and a ``!`` takes Python's ``re`` longer than the age of the universe.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.rules import Contact, Scorer
from leadscore.spec import Limits, ModelError, ModelTooLarge, parse_model

SECONDS = 1.0  # the bound for any input
MB = 1024 * 1024


def alias_bomb(levels: int = 8) -> str:
    """The "billion laughs": 9**levels strings from a few hundred bytes."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(levels):
        prev, name = chr(97 + i), chr(98 + i)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def plain_aliases() -> str:
    return "x: &x {field: a, exists: true}\ny: *x\n"


def deep_nesting(levels: int = 200) -> str:
    cond = "{not: " * levels + "{field: a, exists: true}" + "}" * levels
    return (
        f"scores:\n  fit:\n    rules:\n      - id: deep\n        when: {cond}\n        points: 1\n"
    )


def huge_model(size: int = 10 * MB) -> str:
    return regex_model("x") + "# " + "x" * size + "\n"


def many_values(n: int = 200_000) -> str:
    return "scores: [" + ",".join(["1"] * n) + "]\n"


def regex_model(pattern: str) -> str:
    return (
        "scores:\n  fit:\n    rules:\n"
        f"      - {{id: title-rx, when: {{field: title, regex: '{pattern}'}}, points: 5}}\n"
    )


@pytest.fixture
def measured() -> Iterator[Callable[[Callable[[], Any]], tuple[Any, float, int]]]:
    """Run a call; its result (or exception), seconds and peak Python allocation in bytes."""

    def once(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Exception as exc:  # the refusal is the result under test
            return exc

    def run(call: Callable[[], Any]) -> tuple[Any, float, int]:
        start = time.perf_counter()
        out = once(call)
        seconds = time.perf_counter() - start
        # Memory is measured on a second run: tracemalloc slows allocation ~10x.
        tracemalloc.start()
        once(call)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return out, seconds, peak

    yield run


HOSTILE = {
    "alias bomb": (alias_bomb(), "YAML anchors (&a) are not allowed", 1),
    "aliases": (plain_aliases(), "YAML anchors (&x) are not allowed", 1),
    "200-level nesting": (deep_nesting(), "nested more than 64 levels deep", 5),
    "200,000 values": (many_values(), "more than 20,000 values", 1),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_yaml_is_refused_quickly_naming_the_line(name: str, measured: Any) -> None:
    text, message, line = HOSTILE[name]
    error, seconds, peak = measured(lambda: parse_model(text, source="upload"))
    assert isinstance(error, ModelError), error
    assert [(p.message, p.line) for p in error.problems] == [(message, line)]
    assert seconds < SECONDS
    assert peak < 20 * MB  # flat: the bomb alone would need gigabytes


def test_an_alias_without_anchor_is_refused_too() -> None:
    # Not valid YAML either way; it must not get through as a plain value.
    with pytest.raises(ModelError) as info:
        parse_model("scores: *nowhere\n")
    assert info.value.problems[0].line == 1


def test_a_10_mb_model_is_refused_before_parsing(measured: Any) -> None:
    text = huge_model()
    error, seconds, peak = measured(lambda: parse_model(text, source="upload"))
    assert isinstance(error, ModelTooLarge)
    assert "over 1,000,000 bytes" in str(error)
    assert seconds < SECONDS
    assert peak < 2 * MB  # not even encoded


def test_the_size_limit_is_configurable(monkeypatch: pytest.MonkeyPatch) -> None:
    text = huge_model(2 * MB)
    monkeypatch.setenv("LEADSCORE_MAX_MODEL_BYTES", str(3 * MB))
    assert parse_model(text).scores["fit"].rules[0].id == "title-rx"
    monkeypatch.setenv("LEADSCORE_MAX_MODEL_BYTES", str(MB))
    with pytest.raises(ModelTooLarge):
        parse_model(text)
    assert parse_model(text, limits=Limits(max_bytes=3 * MB)).scores["fit"].rules[0].id


def test_nesting_within_the_limit_still_loads() -> None:
    model = parse_model(deep_nesting(30))
    assert model.scores["fit"].rules[0].id == "deep"


def test_multibyte_text_is_measured_in_bytes() -> None:
    text = regex_model("x") + "# " + "é" * 600_000 + "\n"  # 1.2 MB in 600k characters
    with pytest.raises(ModelTooLarge):
        parse_model(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("scores: .nan\n", "must be a finite number"),
        ("scores: 1.0e+999\n", "must be a finite number"),
        ('scores: "a\\0b"\n', "NUL character"),
        ("scores: 123456789012345678901234567890\n", "outside the 64-bit range"),
        ("scores: !!python/name:os.system\n", "could not determine a constructor"),
        ("scores: 2026-13-45\n", "month must be in 1..12"),
        ("scores: {a: 1}\nx: \ud800\n", "lone surrogate"),
        ("a: 1\nscores: \x00\n", "control characters are not allowed"),
    ],
)
def test_values_no_model_can_mean_are_refused_with_the_line(text: str, message: str) -> None:
    with pytest.raises(ModelError) as info:
        parse_model(text)
    found = [p for p in info.value.problems if message in p.message]
    assert found, info.value.problems
    assert found[0].line == text.count("\n")


def test_catastrophic_regex_runs_in_linear_time(measured: Any) -> None:
    model = parse_model(regex_model("(a+)+$"))
    scorer = Scorer(model)
    as_of = datetime(2026, 11, 1, tzinfo=UTC)
    evil = "a" * 100_000 + "!"  # Python's re: exponential in the run of a
    result, seconds, peak = measured(
        lambda: scorer.score(Contact("c1", {"title": evil}), (), as_of)
    )
    assert result.scores["fit"].value == 0
    assert seconds < SECONDS
    assert peak < 5 * MB
    matching = scorer.score(Contact("c2", {"title": "b" + "a" * 100_000}), (), as_of)
    assert matching.scores["fit"].value == 5


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(?=a)a", "look-ahead"),
        ("(a)\\1", "back-reference"),
        ("(a{1000}){1000}", "bad regex"),
        ("a" * 1001, "the limit is 1,000"),
        ("(" * 300 + ")" * 300, "bad regex"),
    ],
)
def test_regex_re2_cannot_run_is_refused_naming_the_rule(pattern: str, message: str) -> None:
    with pytest.raises(ModelError) as info:
        parse_model(regex_model(pattern))
    problem = info.value.problems[0]
    assert message in problem.message
    assert problem.where.startswith("scores.fit.rules[0]") and problem.line == 4


def test_place_globs_do_not_backtrack(measured: Any) -> None:
    from leadscore.rules.matchers import glob_matcher

    match = glob_matcher("*a" * 12 + "*b")  # ^.*a.*a...b$: polynomial for re
    result, seconds, _ = measured(lambda: match("a" * 5000))
    assert result is False and seconds < SECONDS
    assert match("xaxaxaxaxaxaxaxaxaxaxaxab")


def test_leadscore_validate_refuses_a_bomb_and_a_huge_file(tmp_path: Path) -> None:
    runner = CliRunner()
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text(alias_bomb(), encoding="utf-8")
    start = time.perf_counter()
    result = runner.invoke(app, ["validate", str(bomb)])
    assert result.exit_code != 0
    assert "YAML anchors (&a) are not allowed" in result.output
    huge = tmp_path / "huge.yaml"
    huge.write_text(huge_model(), encoding="utf-8")
    result = runner.invoke(app, ["validate", str(huge)])
    assert result.exit_code != 0 and "over 1,000,000 bytes" in result.output
    assert time.perf_counter() - start < 2 * SECONDS
