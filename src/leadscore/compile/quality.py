"""The quality pre-pass: built-in checks computed once per distinct value.

Phone validity (``phonenumbers``), email syntax (``email-validator``), the
disposable/free domain lists, keyboard walks and capitalisation have no faithful
SQL form, so the engine asks the database for the DISTINCT texts of each field a
check reads, runs :class:`leadscore.quality.Checker` on them here, and uploads a
small ``(field, value, <check>...)`` table that the compiled query LEFT JOINs.
A check is never dropped: if the table is absent the query fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from leadscore.quality import KEYBOARD_RUNS, Checker
from leadscore.spec.model import ScoringModel

# Checks that depend only on the e-mail domain: computed once per distinct domain.
_DOMAIN_CHECKS = ("free_email", "disposable_email")
_KEYBOARD_PATTERN = "|".join(KEYBOARD_RUNS)


def _texts(values: Iterable[str | None] | pa.Array | pa.ChunkedArray) -> pa.Array:
    """The distinct non-missing texts, as one Arrow string array."""
    if isinstance(values, pa.ChunkedArray):
        array = values.combine_chunks()
    elif isinstance(values, pa.Array):
        array = values
    else:
        array = pa.array(list(values), pa.string())
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    if not pa.types.is_string(array.type):
        array = array.cast(pa.string())
    return pc.unique(array.drop_null())


def _per_value(checker: Checker, check: str, texts: pa.Array) -> pa.Array:
    return pa.array([checker(check, t) for t in texts.to_pylist()], pa.bool_())


def _domain_parts(texts: pa.Array) -> pa.Array:
    """The raw part after the last '@' ('' when there is none)."""
    has_at = pc.match_substring(texts, "@")
    safe = pc.if_else(has_at, texts, pa.scalar("@"))
    return pc.list_element(pc.split_pattern(safe, "@", max_splits=1, reverse=True), 1)


def _domain_check(checker: Checker, check: str, parts: pa.Array) -> pa.Array:
    """The raw domain part decides; each distinct part is checked once.

    "x@" + part is a stand-in e-mail with the same answer; a text without '@' has no
    domain, which is what "x@" (an empty domain) answers too.
    """
    distinct = pc.unique(parts)
    answers = pa.array([checker(check, "x@" + p) for p in distinct.to_pylist()], pa.bool_())
    return answers.take(pc.index_in(parts, value_set=distinct))


def _keyboard_walk(checker: Checker, texts: pa.Array) -> pa.Array:
    """RE2 over the ASCII texts (lower-casing is the same there); Python for the rest."""
    ascii_ = pc.string_is_ascii(texts).to_numpy(zero_copy_only=False)
    found = pc.match_substring_regex(pc.ascii_lower(texts), _KEYBOARD_PATTERN)
    out = found.to_numpy(zero_copy_only=False).copy()
    for i in np.flatnonzero(~ascii_):
        out[i] = checker("keyboard_walk", texts[i].as_py())
    return pa.array(out, pa.bool_())


def quality_table(
    model: ScoringModel,
    checks_by_field: Mapping[str, Iterable[str]],
    values_by_field: Mapping[str, Iterable[str | None] | pa.Array | pa.ChunkedArray],
) -> pa.Table:
    """One row per (field, distinct text) with a boolean column per check used.

    Vectorised with Arrow where a check has an exact bulk form (domain look-ups,
    keyboard walks on ASCII text), so a million distinct e-mails cost seconds, not
    a Python call each; every other check runs once per distinct text.
    """
    checker = Checker(model.settings)
    all_checks = sorted({c for checks in checks_by_field.values() for c in checks})
    tables: list[pa.Table] = []
    for field_name, checks in checks_by_field.items():
        texts = _texts(values_by_field.get(field_name, ()))
        wanted = set(checks)
        columns: dict[str, pa.Array] = {}
        parts: pa.Array | None = None
        for check in all_checks:
            if check not in wanted:
                columns[check] = pa.nulls(len(texts), pa.bool_())
            elif check in _DOMAIN_CHECKS:
                if parts is None:
                    parts = _domain_parts(texts)
                columns[check] = _domain_check(checker, check, parts)
            elif check == "keyboard_walk":
                columns[check] = _keyboard_walk(checker, texts)
            else:
                columns[check] = _per_value(checker, check, texts)
        field_col = pa.array([field_name] * len(texts), pa.string())
        tables.append(pa.table({"field": field_col, "value": texts, **columns}))
    if not tables:
        schema = pa.schema(
            [("field", pa.string()), ("value", pa.string())] + [(c, pa.bool_()) for c in all_checks]
        )
        return schema.empty_table()
    return pa.concat_tables(tables)
