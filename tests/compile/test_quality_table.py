"""The vectorised quality pre-pass gives what the checker gives, value by value."""

from __future__ import annotations

import pyarrow as pa

from leadscore.compile import quality_table
from leadscore.quality import Checker
from leadscore.spec import model_from_dict

TEXTS = [
    "asdf",
    "Zoë",
    "İuiop",  # Python lower-cases İ to i + a combining dot: no walk
    "uİop",
    "ÉCOLE",
    "john",
    "QWER@x.com",
    "a@b@gmail.com",
    "x@",
    "@",
    "user@mailinator.com",
    "U@GMAIL.COM",
    "rewq",
    "ΣΑΣ",
    "zxcvb@corp.com",
    "ğasdf",
    "hello@Corp.com",
    "no-at-sign",
    "a@b@",
]
CHECKS = ["free_email", "disposable_email", "keyboard_walk", "not_capitalised"]


def test_vectorised_checks_match_the_checker() -> None:
    model = model_from_dict(
        {"scores": {"fit": {"rules": [{"id": "x", "when": {"check": "free_email"}, "points": 1}]}}}
    )
    checker = Checker(model.settings)
    for values in ([*TEXTS, None, "asdf"], pa.array([*TEXTS, None]), pa.chunked_array([TEXTS])):
        table = quality_table(model, {"email": CHECKS}, {"email": values})
        rows = {r["value"]: r for r in table.to_pylist()}
        assert sorted(rows) == sorted(TEXTS)
        for text in TEXTS:
            for check in CHECKS:
                assert rows[text][check] is checker(check, text), (check, text)


def test_checks_not_asked_for_a_field_are_null() -> None:
    model = model_from_dict(
        {"scores": {"fit": {"rules": [{"id": "x", "when": {"check": "free_email"}, "points": 1}]}}}
    )
    table = quality_table(
        model,
        {"email": ["free_email"], "company": ["not_capitalised"]},
        {"email": ["a@gmail.com"], "company": ["acme"]},
    )
    rows = {(r["field"], r["value"]): r for r in table.to_pylist()}
    assert rows[("email", "a@gmail.com")] == {
        "field": "email",
        "value": "a@gmail.com",
        "free_email": True,
        "not_capitalised": None,
    }
    assert rows[("company", "acme")]["not_capitalised"] is True
    assert rows[("company", "acme")]["free_email"] is None
