"""`leadscore validate` and the model loader: every mistake with its path and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app
from leadscore.spec import ModelError, dump_model, load_model, model_from_dict, parse_model
from leadscore.spec.model import EventRule, ProfileRule, VolumeRule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def problems(text: str) -> list[tuple[str, int | None, str]]:
    with pytest.raises(ModelError) as info:
        parse_model(textwrap.dedent(text), source="m.yaml")
    return [(p.where, p.line, p.message) for p in info.value.problems]


def test_examples_load_and_round_trip() -> None:
    for name in ("model.yaml", "seed004.yaml"):
        model = load_model(EXAMPLES / name)
        assert parse_model(dump_model(model)) == model
        assert model_from_dict(model.model_dump(by_alias=True)) == model


def test_rule_kinds_are_recognised_by_their_keys() -> None:
    model = load_model(EXAMPLES / "model.yaml")
    kinds = {rule.id: type(rule) for _, rule in model.rules()}
    assert kinds["senior-title"] is ProfileRule
    assert kinds["pricing"] is EventRule
    assert kinds["busy-reader"] is VolumeRule
    # `on:` is a YAML 1.1 boolean; the loader must keep it as the key "on"
    assert model.scores["engagement"].rules[0].on == ("page_view",)  # type: ignore[union-attr]


def test_unknown_key_with_line_and_suggestion() -> None:
    found = problems(
        """
        scores:
          fit:
            rules:
              - id: a
                when: {field: title, equals: VP}
                pionts: 5
        """
    )
    assert (
        "scores.fit.rules[0].pionts",
        7,
        "unknown key 'pionts' (did you mean 'points'?)",
    ) in found
    assert any(
        where == "scores.fit.rules[0].points" and "missing" in msg for where, _, msg in found
    )


def test_wrong_type_is_reported_at_the_field() -> None:
    found = problems(
        """
        scores:
          fit:
            rules:
              - {id: a, when: {field: title, equals: VP}, points: lots}
        """
    )
    assert len(found) == 1
    where, line, message = found[0]
    assert where == "scores.fit.rules[0].points" and line == 5
    assert "number" in message


def test_unknown_operator_in_event_filter() -> None:
    found = problems(
        """
        scores:
          engagement:
            rules:
              - id: pricing
                on: page_view
                where: {url: {startswith: /pricing}}
                points: 10
        """
    )
    assert len(found) == 1
    where, line, message = found[0]
    assert where == "scores.engagement.rules[0].where.url"
    assert line == 7
    assert "unknown operator 'startswith'" in message and "starts_with" in message


def test_bad_regex() -> None:
    found = problems(
        """
        scores:
          fit:
            rules:
              - {id: a, when: {field: title, regex: "(vp|director"}, points: 5}
        """
    )
    assert found[0][0].startswith("scores.fit.rules[0].when")
    assert found[0][1] == 5
    assert "bad regex" in found[0][2]


def test_duplicate_rule_id_across_scores() -> None:
    found = problems(
        """
        scores:
          fit:
            rules:
              - {id: same, when: {field: title, exists: true}, points: 5}
          engagement:
            rules:
              - {id: same, on: page_view, points: 1}
        """
    )
    assert found == [
        (
            "scores.engagement.rules[0].id",
            8,
            "duplicate rule id 'same' (also at scores.fit.rules.0)",
        )
    ]


def test_grade_bands_out_of_order() -> None:
    found = problems(
        """
        scores:
          fit:
            grades: {A: 20, B: 40, C: null}
            rules:
              - {id: a, when: {field: title, exists: true}, points: 5}
        """
    )
    assert found[0][0] == "scores.fit.grades" and found[0][1] == 4
    assert "out of order" in found[0][2]


def test_null_band_must_be_last() -> None:
    found = problems(
        """
        scores:
          fit:
            grades: {A: null, B: 40}
            rules:
              - {id: a, when: {field: title, exists: true}, points: 5}
        """
    )
    assert "must be the last band" in found[0][2]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        """
        scores:
          fit:
            grades: {A: 10, B: 40}
            rules:
              - {id: a, when: {field: title, regex: "("}, points: 5}
              - {id: b, when: {field: title, equalz: x}, points: 5}
              - {id: c, on: page_view, points: x}
        """
    )
    lines = sorted(line for _, line, _ in found if line)
    assert lines == [4, 6, 7, 8]


def test_duplicate_yaml_key_and_syntax_error() -> None:
    found = problems(
        """
        scores:
          fit:
            rules: []
          fit:
            rules: []
        """
    )
    assert ("scores.fit", 5, "duplicate key 'fit'") in found
    syntax = problems("scores: [unclosed\n")
    assert syntax[0][2].startswith("invalid YAML")


def test_cross_references() -> None:
    found = problems(
        """
        scores:
          fit:
            rules:
              - {id: a, on: page_view, points: 1, place: nowhere}
        combined_grade: [fit, ghost]
        surge: {score: ghost, days: 7, min_points: 10}
        lifecycle:
          mql: {fit: ">= 40", ghost: "> 1", fit_grade: [A]}
        """
    )
    messages = {where: msg for where, _, msg in found}
    assert "unknown place table 'nowhere'" in messages["scores.fit.rules[0].place"]
    assert messages["combined_grade[0]"] == "score 'fit' has no grades"
    assert messages["combined_grade[1]"] == "unknown score 'ghost'"
    assert messages["surge.score"] == "unknown score 'ghost'"
    assert "unknown score 'ghost'" in messages["lifecycle.mql.ghost"]
    assert "has no grade A" in messages["lifecycle.mql.fit_grade"]


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("{id: a, on: x, points: 1, half_life_days: 3, decay_days: 9}", "choose one decay"),
        (
            "{id: a, on: x, within_days: 30, tiers: [{at_least: 5, points: 1}, {at_least: 3, points: 2}]}",
            "strictly increasing",
        ),
        ("{id: a, when: {field: n, between: [9, 1]}, points: 1}", "above high"),
        ("{id: a, when: {field: n, gt: ten}, points: 1}", "needs a number"),
        ("{id: a, when: {field: n, in: []}, points: 1}", "non-empty list"),
        ("{id: a, when: {field: n, missing: false}, points: 1}", "takes the value true"),
        (
            "{id: a, when: {field: n, equals: 1, contains: 2}, points: 1}",
            "one operator per field test",
        ),
        ("{id: a, when: {title: x}, points: 1}", "needs one of the keys field, check"),
        ("{id: a, points: 1}", "a rule needs one of"),
        ("{id: a, when: {check: spam}, points: 1}", "free_email"),
        ("{id: 'bad id!', when: {field: n, exists: true}, points: 1}", "should match pattern"),
        ("{id: a, on: x, points: 1, max_points: -5}", "greater than 0"),
    ],
)
def test_rule_mistakes(rule: str, fragment: str) -> None:
    found = problems(f"scores:\n  fit:\n    rules:\n      - {rule}\n")
    assert any(fragment in msg for _, _, msg in found), found
    assert all(line == 4 for _, line, _ in found), found


def test_lifecycle_threshold_syntax() -> None:
    found = problems(
        """
        scores:
          fit:
            rules:
              - {id: a, when: {field: n, exists: true}, points: 1}
        lifecycle:
          mql: {fit: "at least 40"}
        """
    )
    assert found[0][0] == "lifecycle.mql" and "not a threshold" in found[0][2]


def test_cli_validate(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["validate", str(EXAMPLES / "model.yaml")])
    assert ok.exit_code == 0, ok.output
    assert "2 score(s)" in ok.output
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "scores:\n  fit:\n    rules:\n      - {id: a, when: {field: x, eq: 1}, points: 1}\n"
    )
    result = runner.invoke(app, ["validate", str(bad)])
    assert result.exit_code == 1
    assert "scores.fit.rules[0].when" in result.output and "(line 4)" in result.output
    missing = runner.invoke(app, ["validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "cannot read the file" in missing.output
