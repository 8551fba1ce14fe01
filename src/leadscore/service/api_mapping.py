"""The active model's ``mapping:`` applied to data arriving through the API.

A team that pushes its CRM's contacts as they are (``{"Job Title": ...}``) or
its own event names gets them renamed to the model's fields and types, with the
same resolution the files use (:func:`leadscore.files.mapping.build_mapping`:
preset first, then the model's own renames). Data already canonical passes
unchanged, and a store without a mapping in its active model pays one indexed
``SELECT`` per write.

The resolved mapping is cached per database engine and model version: versions
never change once stored, and the ingest process and the API both find it here
without needing the scoring engine.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from leadscore.files.mapping import FieldMapping, build_mapping, event_type
from leadscore.spec import parse_model
from leadscore.store.tables import models

# Renames to these are dropped: they are request fields of their own (contact_id,
# email... are given beside ``fields``/``properties``), not profile fields or
# event properties, and a file preset's "Record ID" -> contact_id must not move a
# property into a name the event or contact row already owns.
CONTACT_OWN = frozenset({"contact_id", "email", "account_id", "owner"})
EVENT_OWN = frozenset(
    {"event_id", "contact_id", "email", "anonymous_id", "type", "timestamp", "ip"}
)


@dataclass(frozen=True)
class ApiMapping:
    """One model version's mapping, ready for dict renames."""

    mapping: FieldMapping
    types: Mapping[str, str]  # normalised event type -> model type

    def contact_fields(self, fields: dict[str, Any] | None) -> dict[str, Any] | None:
        """``fields`` with source names renamed to the model's (others kept)."""
        if not fields:
            return fields
        renames = {
            k: v
            for k, v in self.mapping.renames("contacts", list(fields)).items()
            if v not in CONTACT_OWN
        }
        if not renames:
            return fields
        return {renames.get(k, k): v for k, v in fields.items()}

    def event_type(self, value: str) -> str:
        return event_type(self.types, value)

    def event_properties(self, properties: dict[str, Any]) -> dict[str, Any]:
        renames = {
            k: v
            for k, v in self.mapping.renames("events", list(properties)).items()
            if v not in EVENT_OWN
        }
        if not renames:
            return properties
        return {renames.get(k, k): v for k, v in properties.items()}


_CACHE: weakref.WeakKeyDictionary[Engine, tuple[int, ApiMapping | None]] = (
    weakref.WeakKeyDictionary()
)
_LOCK = threading.Lock()


def active_mapping(conn: Connection) -> ApiMapping | None:
    """The active model's mapping (None: no active model, or it maps nothing)."""
    version = conn.execute(select(models.c.version).where(models.c.active.is_(True))).scalar()
    if version is None:
        return None
    with _LOCK:
        cached = _CACHE.get(conn.engine)
    if cached is not None and cached[0] == version:
        return cached[1]
    resolved = _resolve(conn, version)
    with _LOCK:
        _CACHE[conn.engine] = (version, resolved)
    return resolved


def _resolve(conn: Connection, version: int) -> ApiMapping | None:
    text = conn.execute(select(models.c.yaml).where(models.c.version == version)).scalar_one()
    model = parse_model(text, source=f"model v{version}")
    if model.mapping is None:
        return None
    # The API's type is never a renamed vendor column, so (as for a file whose
    # type column kept its name) only the model's own event_types apply.
    mapping = build_mapping(model.mapping.model_dump())
    return ApiMapping(mapping, mapping.types_for(False)) if mapping else None
