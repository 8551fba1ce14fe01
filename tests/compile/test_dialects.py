"""Dialects are classes with declared capabilities; what one lacks fails at compile time."""

from __future__ import annotations

import pytest
from sqlglot import exp

from leadscore.compile import DIALECTS, CompileError, compile_model
from leadscore.compile.dialect import Dialect, get_dialect
from leadscore.spec import model_from_dict

HELPERS = {
    "supports_top_n": lambda d: d.top_n(exp.column("x"), 3, True, exp.true()),
    "supports_key_hash": lambda d: d.key_hash([exp.column("x")]),
    "supports_raise_error": lambda d: d.raise_error("boom"),
    "supports_timestamp_constant": lambda d: d.timestamp_at(0),
}


@pytest.mark.parametrize("name", DIALECTS)
def test_one_class_per_dialect(name: str) -> None:
    d = get_dialect(name)
    assert isinstance(d, Dialect) and type(d) is not Dialect
    assert d.name == name


@pytest.mark.parametrize("name", DIALECTS)
@pytest.mark.parametrize("flag", sorted(HELPERS))
def test_capability_flags_say_what_the_helpers_do(name: str, flag: str) -> None:
    d = get_dialect(name)
    if getattr(d, flag):
        assert isinstance(HELPERS[flag](d), exp.Expr)
        assert HELPERS[flag](d).sql(dialect=name)
    else:
        with pytest.raises(CompileError, match=name):
            HELPERS[flag](d)


def test_unknown_dialect() -> None:
    with pytest.raises(CompileError, match="unknown dialect 'oracle'"):
        get_dialect("oracle")


def test_max_count_compiles_without_a_top_n_aggregate() -> None:
    """PostgreSQL has no top-n aggregate: the rule takes the ROW_NUMBER plan instead."""
    model = model_from_dict(
        {
            "scores": {
                "e": {
                    "rules": [{"id": "v", "on": "page_view", "points": 2, "max_count": 3}],
                }
            }
        }
    )
    duck = compile_model(model, "duckdb").sql()
    pg = compile_model(model, "postgres").sql()
    assert "MAX(" in duck and "ROW_NUMBER()" not in duck
    assert "ROW_NUMBER()" in pg


def test_a_regex_a_flavour_cannot_run_fails_at_compile_time() -> None:
    # Models refuse such a regex when they are read (the online evaluator runs RE2);
    # the compiler still refuses it for any caller that builds a pattern itself.
    from leadscore.compile.regex import FLAVOURS, translate
    from leadscore.spec import ModelError

    with pytest.raises(ModelError, match="look-ahead"):
        model_from_dict(
            {
                "scores": {
                    "f": {
                        "rules": [
                            {"id": "r", "when": {"field": "t", "regex": "a(?=b)"}, "points": 1}
                        ]
                    }
                }
            }
        )
    for flavour in FLAVOURS:
        with pytest.raises(CompileError, match="look-ahead"):
            translate("a(?=b)", flavour, "r", flavour)
