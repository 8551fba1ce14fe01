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

import pyarrow as pa

from leadscore.quality import Checker
from leadscore.spec.model import ScoringModel

# Checks that depend only on the e-mail domain: computed once per distinct domain.
_DOMAIN_CHECKS = ("free_email", "disposable_email")


def quality_table(
    model: ScoringModel,
    checks_by_field: Mapping[str, Iterable[str]],
    values_by_field: Mapping[str, Iterable[str | None]],
) -> pa.Table:
    """One row per (field, distinct text) with a boolean column per check used."""
    checker = Checker(model.settings)
    all_checks = sorted({c for checks in checks_by_field.values() for c in checks})
    fields: list[str] = []
    values: list[str] = []
    columns: dict[str, list[bool | None]] = {c: [] for c in all_checks}
    for field_name, checks in checks_by_field.items():
        texts = [t for t in dict.fromkeys(values_by_field.get(field_name, ())) if t is not None]
        wanted = set(checks)
        domain_answers: dict[tuple[str, str], bool] = {}
        for text in texts:
            fields.append(field_name)
            values.append(text)
            # The raw domain part decides the domain checks; "x@" + part is a stand-in
            # e-mail with the same answer, so each domain is checked only once.
            part = text.rsplit("@", 1)[1] if "@" in text else None
            for check in all_checks:
                if check not in wanted:
                    columns[check].append(None)
                elif check in _DOMAIN_CHECKS:
                    if part is None:
                        columns[check].append(checker(check, text))
                        continue
                    key = (check, part)
                    if key not in domain_answers:
                        domain_answers[key] = checker(check, "x@" + part)
                    columns[check].append(domain_answers[key])
                else:
                    columns[check].append(checker(check, text))
    arrays = {
        "field": pa.array(fields, pa.string()),
        "value": pa.array(values, pa.string()),
        **{c: pa.array(v, pa.bool_()) for c, v in columns.items()},
    }
    return pa.table(arrays)
