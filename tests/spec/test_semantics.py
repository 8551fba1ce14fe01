"""The language facts in spec/semantics.py, and the two interpreters agreeing on them."""

from __future__ import annotations

import re
import sys
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from leadscore.engines.duckdb import DuckDBEngine
from leadscore.rules import Contact, Scorer
from leadscore.rules.values import as_number, as_text
from leadscore.spec import model_from_dict
from leadscore.spec.semantics import NUMBER_RE, WHITESPACE, ascii_digits

AS_OF = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def test_whitespace_is_what_python_strips() -> None:
    spaces = {chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()}
    assert set(WHITESPACE) == spaces
    odd = "".join(sorted(spaces))
    assert as_text(f"{odd}VP{odd}") == "VP"
    assert as_text(odd) is None


@pytest.mark.parametrize("text", ["１２", "٣٣", "१२", "1２", "１.5", "1e٣"])
def test_numbers_are_ascii_digits_only(text: str) -> None:
    assert float(text)  # Python's float() would read them...
    assert NUMBER_RE.match(text) is None  # ...the language does not
    assert as_number(text) is None


@pytest.mark.parametrize(
    ("text", "number"),
    [("12", 12.0), (" -0.0 ", -0.0), ("1e300", 1e300), ("5e-324", 5e-324), (".5", 0.5)],
)
def test_ascii_numbers_read_as_floats(text: str, number: float) -> None:
    assert as_number(as_text(text)) == number


@pytest.mark.parametrize(
    ("pattern", "ascii"),
    [
        (r"\d{2,}", r"[0-9]{2,}"),
        (r"^\s*-?\d+(\.\d+)?$", r"^\s*-?[0-9]+(\.[0-9]+)?$"),
        (r"[\d_]+", r"[0-9_]+"),
        (r"[^\d]", r"[^0-9]"),
        (r"\D+", r"[^0-9]+"),
        (r"\\d", r"\\d"),  # a backslash, then "d"
        (r"[]\d]", r"[]0-9]"),  # "]" first in a class is a literal
        (r"[\]]\d", r"[\]][0-9]"),
        (r"(?i)\bvp\b", r"(?i)\bvp\b"),
    ],
)
def test_regex_digits_are_ascii(pattern: str, ascii: str) -> None:
    assert ascii_digits(pattern) == ascii
    re.compile(ascii_digits(pattern))


def test_unicode_digits_score_the_same_on_python_and_duckdb() -> None:
    """The issue's case: `employees gte 10` gave "１２" 5 points online and 0 in DuckDB."""
    model = model_from_dict(
        {
            "scores": {
                "fit": {
                    "rules": [
                        {"id": "big", "when": {"field": "employees", "gte": 10}, "points": 5},
                        {
                            "id": "digits",
                            "when": {"field": "employees", "regex": r"^\d+$"},
                            "points": 1,
                        },
                    ]
                }
            }
        }
    )
    texts = ["１２", "٣٣", "12", " 33 ", "9"]
    contacts = pa.table({"contact_id": [f"c{i}" for i in range(len(texts))], "employees": texts})
    engine = DuckDBEngine()
    engine.con.register("u_contacts", contacts)
    sql = {r["contact_id"]: r["fit"] for r in engine.score(model, "u_contacts", None, AS_OF).rows()}
    scorer = Scorer(model)
    online = {
        f"c{i}": scorer.score(Contact(f"c{i}", {"employees": t}), [], AS_OF).scores["fit"].value
        for i, t in enumerate(texts)
    }
    assert online == {"c0": 0, "c1": 0, "c2": 6, "c3": 6, "c4": 1}
    assert sql == online
