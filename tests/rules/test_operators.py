"""Every operator, on present, odd and missing values (docs/model-language.md)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from leadscore.quality import Checker
from leadscore.rules.matchers import compile_condition, compile_place, condition_fields
from leadscore.rules.values import as_flag, as_number, as_text
from leadscore.spec import model_from_dict
from leadscore.spec.model import FieldCondition, PlaceTable


def holds(op: str, value: Any, field_value: Any) -> bool:
    cond = FieldCondition.model_validate({"field": "f", op: value})
    return compile_condition(cond, Checker())({"f": field_value})


@pytest.mark.parametrize(
    ("op", "value", "field_value", "expected"),
    [
        ("equals", "US", "us", True),
        ("equals", "US", " US ", True),
        ("equals", "US", "USA", False),
        ("equals", 5, "5.0", True),
        ("equals", 5, 5, True),
        ("equals", 5, "five", False),
        ("equals", True, "yes", True),
        ("equals", True, "no", False),
        ("not_equals", "US", "CA", True),
        ("not_equals", "US", "us", False),
        ("in", ["US", "CA"], "ca", True),
        ("in", ["US", "CA"], "GB", False),
        ("in", [1, 2], "2", True),
        ("not_in", ["US", "CA"], "GB", True),
        ("not_in", ["US", "CA"], "us", False),
        ("contains", "Market", "VP of marketing", True),
        ("contains", "sales", "VP of marketing", False),
        ("starts_with", "/pricing", "/Pricing/enterprise", True),
        ("starts_with", "/pricing", "/blog/pricing", False),
        ("ends_with", ".pdf", "/files/guide.PDF", True),
        ("ends_with", ".pdf", "/files/guide.doc", False),
        ("regex", r"\b(vp|director)\b", "vp sales", True),
        ("regex", r"\b(vp|director)\b", "VP sales", False),  # case-sensitive without (?i)
        ("regex", r"(?i)\b(vp|director)\b", "VP sales", True),
        ("regex", r"^\d{5}$", "12345", True),
        ("lt", 10, "9.5", True),
        ("lt", 10, "10", False),
        ("lte", 10, "10", True),
        ("gt", 10, "1e2", True),
        ("gt", 10, "10", False),
        ("gte", 10, 10, True),
        ("gte", 10, "ten", False),
        ("gte", 10, "1_000", False),  # Python would parse it; SQL would not
        ("between", [50, 5000], "50", True),
        ("between", [50, 5000], "5000", True),
        ("between", [50, 5000], "5001", False),
        ("exists", True, "x", True),
        ("exists", True, "   ", False),
        ("missing", True, "", True),
        ("missing", True, 0, False),
        ("is_true", True, "Yes", True),
        ("is_true", True, True, True),
        ("is_true", True, 1, True),
        ("is_true", True, "maybe", False),
        ("is_false", True, "N", True),
        ("is_false", True, False, True),
        ("is_false", True, "maybe", False),
    ],
)
def test_operator(op: str, value: Any, field_value: Any, expected: bool) -> None:
    assert holds(op, value, field_value) is expected


@pytest.mark.parametrize("missing", [None, "", "  ", float("nan")])
def test_missing_values(missing: Any) -> None:
    true_on_missing = {"missing", "not_equals", "not_in"}
    cases = {
        "equals": "x",
        "not_equals": "x",
        "in": ["x"],
        "not_in": ["x"],
        "contains": "x",
        "starts_with": "x",
        "ends_with": "x",
        "regex": ".*",
        "lt": 1,
        "lte": 1,
        "gt": 1,
        "gte": 1,
        "between": [0, 1],
        "exists": True,
        "missing": True,
        "is_true": True,
        "is_false": True,
    }
    for op, value in cases.items():
        assert holds(op, value, missing) is (op in true_on_missing), op


def test_value_text_forms() -> None:
    assert as_text(True) == "true" and as_text(False) == "false"
    assert as_text(12) == "12" and as_text(2.5) == "2.5" and as_text(2.0) == "2.0"
    assert as_text(float("nan")) is None and as_text("  a b ") == "a b"
    assert as_number(" 12 ".strip()) == 12.0 and as_number("1e3") == 1000.0
    assert as_number("12abc") is None and as_number("inf") is None and as_number(None) is None
    assert as_flag("T") is True and as_flag("0.0") is False and as_flag("2") is None


def test_combinators_and_checks() -> None:
    model = model_from_dict(
        {
            "scores": {
                "fit": {
                    "rules": [
                        {
                            "id": "r",
                            "points": 1,
                            "when": {
                                "all": [
                                    {
                                        "any": [
                                            {"field": "country", "equals": "US"},
                                            {"field": "country", "equals": "CA"},
                                        ]
                                    },
                                    {"not": {"check": "free_email"}},
                                ]
                            },
                        }
                    ]
                }
            }
        }
    )
    cond = model.scores["fit"].rules[0].when  # type: ignore[union-attr]
    test = compile_condition(cond, Checker())
    assert test({"country": "ca", "email": "a@acme.com"})
    assert not test({"country": "ca", "email": "a@gmail.com"})
    assert not test({"country": "GB", "email": "a@acme.com"})
    assert condition_fields(cond) == ["country", "email"]


def test_place_weights_first_match_wins_case_insensitive() -> None:
    table = PlaceTable.model_validate(
        {
            "field": "url",
            "default": 0.5,
            "weights": {"/pricing*": 3, "/pricing/enterprise": 9, "*careers*": 0.1},
        }
    )
    weight = compile_place(table)
    assert weight({"url": "/PRICING/enterprise"}) == 3  # first pattern wins
    assert weight({"url": "/jobs/careers/eng"}) == 0.1
    assert weight({"url": "/blog"}) == 0.5
    assert weight({}) == 0.5
    assert weight({"url": "/pricing_x"}) == 3
    # `_`, `%`, `.` and `?` are literal characters, only `*` is a wildcard
    strict = compile_place(PlaceTable.model_validate({"weights": {"/a?b.c": 2}}))
    assert strict({"url": "/a?b.c"}) == 2 and strict({"url": "/axbxc"}) == 1
    assert math.isclose(weight({"url": "  /pricing  "}), 3)
