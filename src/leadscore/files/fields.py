"""A model that reads a field the data does not have is an error, not a silent 0.

A HubSpot export has "First Name", not ``first_name``: every profile rule on it
would score 0 for every contact without a word. Before scoring, the columns the
model reads are compared with the file's; a missing one is an error naming the
field, the rules that read it and the closest column, with the preset that maps
it. A model declares the fields a team may not have with ``optional_fields``.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from difflib import get_close_matches
from pathlib import Path

from leadscore.io import EVENT_COLUMNS, InputError
from leadscore.rules.matchers import condition_fields
from leadscore.spec.model import ProfileRule, ScoringModel


def fields_read(model: ScoringModel) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(contact field -> rule ids, event property -> rule ids or place names) the model reads."""
    contact: dict[str, list[str]] = {}
    event: dict[str, list[str]] = {}
    for _, rule in model.rules():
        if isinstance(rule, ProfileRule):
            for name in condition_fields(rule.when):
                if rule.id not in contact.setdefault(name, []):
                    contact[name].append(rule.id)
        for prop in getattr(rule, "where", None) or {}:
            if rule.id not in event.setdefault(prop, []):
                event[prop].append(rule.id)
        place = getattr(rule, "place", None)
        if place is not None and place in model.places:
            users = event.setdefault(model.places[place].field, [])
            if rule.id not in users:
                users.append(rule.id)
    return contact, event


def _squash(name: str) -> str:
    return re.sub(r"[^0-9a-z]", "", name.casefold())


def closest_column(field: str, columns: Sequence[str]) -> str | None:
    """The column most like ``field``: the same letters ("First Name"), else a near name."""
    for column in columns:
        if _squash(column) == _squash(field):
            return column
    squashed = {_squash(c): c for c in columns}
    close = get_close_matches(_squash(field), list(squashed), n=1, cutoff=0.75)
    return squashed[close[0]] if close else None


def check_model_fields(
    model: ScoringModel,
    contact_columns: Collection[str] | None,
    event_columns: Collection[str] | None,
    contacts_name: str | Path,
    events_name: str | Path | None,
) -> None:
    """Raise :class:`InputError` when the model reads a column the inputs lack.

    Columns given as None are not checked (no events file: event rules then score
    nothing, as asked). Fields in the model's ``optional_fields`` may be absent.
    """
    optional = set(model.optional_fields)
    contact, event = fields_read(model)
    checks: list[tuple[str | Path, dict[str, list[str]], Collection[str]]] = []
    if contact_columns is not None:
        checks.append((contacts_name, contact, contact_columns))
    if event_columns is not None and events_name is not None:
        event = {k: v for k, v in event.items() if k not in EVENT_COLUMNS}
        checks.append((events_name, event, event_columns))
    for name, wanted, columns in checks:
        missing = [f for f in wanted if f not in columns and f not in optional]
        if missing:
            header = [c for c in columns if not c.startswith("__leadscore")]
            problems = [_missing(f, wanted[f], Path(str(name)).name, header) for f in missing]
            # One line per field: a whole export read without its preset lacks many.
            raise InputError(name, "\n  ".join(problems))


def _missing(field: str, rules: list[str], file: str, header: Sequence[str]) -> str:
    from leadscore.files.mapping import preset_for

    shown = ", ".join(rules[:3]) + (f" +{len(rules) - 3} more" if len(rules) > 3 else "")
    what = f"model reads '{field}' (rule{'s' if len(rules) > 1 else ''} {shown})"
    by_preset = preset_for(field, header)
    close = by_preset[0] if by_preset else closest_column(field, header)
    if close is not None:
        how = f"use --preset {by_preset[1]} or a mapping" if by_preset else "use a mapping"
        return f"{what}; {file} has '{close}' (did you mean it? {how})"
    return (
        f"{what}; {file} has no such column (columns: {', '.join(header) or 'none'}); "
        "map one to it or list it in the model's optional_fields"
    )
