"""Renaming a CRM's export columns to the fields a scoring model reads.

A mapping says, per kind of file, which source column feeds which model field
(``"First Name": first_name``), and which event-type values mean which model
type (``"Fill Out Form": form_submit``). It comes from the model's ``mapping:``
section, a ``--mapping FILE`` or a shipped ``--preset`` (YAML files in
``leadscore/files/presets``); later ones add to and override earlier ones.

Source names match whatever their case and surrounding spaces ("First name" and
"First Name" are the same column), because exports from one vendor differ by
version and locale. A rename never replaces a column the file already has under
the model's name, so a file that is already canonical reads the same with or
without a preset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

PRESETS = ("hubspot", "salesforce", "marketo", "pardot")
KINDS = ("contacts", "events")


class MappingError(ValueError):
    """A mapping file or preset that cannot be used, naming it."""


def _key(name: str) -> str:
    return " ".join(str(name).split()).casefold()


@dataclass(frozen=True)
class FieldMapping:
    """Source column -> model field per kind, and event-type values -> model types."""

    contacts: Mapping[str, str] = field(default_factory=dict)
    events: Mapping[str, str] = field(default_factory=dict)
    event_types: Mapping[str, str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()  # what it was built from, for messages
    # A preset's event types apply only to that vendor's activity export, i.e. when
    # the type column was renamed; a team's own event_types apply to any file.
    vendor_types: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.contacts or self.events or self.event_types or self.vendor_types)

    def columns(self, kind: str) -> Mapping[str, str]:
        return self.contacts if kind == "contacts" else self.events

    def then(self, other: FieldMapping) -> FieldMapping:
        """This mapping with ``other``'s entries added on top (``other`` wins a clash)."""
        return FieldMapping(
            {**self.contacts, **other.contacts},
            {**self.events, **other.events},
            {**self.event_types, **other.event_types},
            self.sources + other.sources,
            {**self.vendor_types, **other.vendor_types},
        )

    def renames(self, kind: str, header: Sequence[str]) -> dict[str, str]:
        """``{column in the file: model field}`` for this file's header.

        The first source column present wins for each field (a preset lists a
        vendor's UI label and its API name); a field the file already has is
        left alone.
        """
        present = {_key(h): h for h in header}
        taken = set(header)
        out: dict[str, str] = {}
        for source, target in self.columns(kind).items():
            column = present.get(_key(source))
            if column is None or column in out or target in taken or column == target:
                continue
            out[column] = target
            taken.add(target)
        return out

    def types_for(self, renamed_type: bool) -> dict[str, str]:
        """Type value (normalised) -> model type, for a file whose type column was
        renamed (a vendor export) or not."""
        chosen = {**self.vendor_types, **self.event_types} if renamed_type else self.event_types
        return {_key(k): v for k, v in chosen.items()}


def event_type(types: Mapping[str, str], value: str) -> str:
    """The model's event type for a value of the type column (unknown values pass)."""
    return types.get(_key(value), value) if types else value


def preset_for(field_name: str, header: Sequence[str]) -> tuple[str, str] | None:
    """(column of ``header``, preset name) when a shipped preset maps that column to ``field_name``."""
    for name in PRESETS:
        preset = load_preset(name)
        for kind in KINDS:
            for column, target in preset.renames(kind, header).items():
                if target == field_name:
                    return column, name
    return None


def from_data(data: Any, source: str) -> FieldMapping:
    """A mapping from parsed YAML: ``{preset?, contacts?, events?, event_types?}``."""
    if data is None:
        return FieldMapping(sources=(source,))
    if not isinstance(data, dict):
        raise MappingError(f"{source}: a mapping is a YAML mapping with contacts:/events: keys")
    unknown = sorted(set(data) - {"preset", "contacts", "events", "event_types"})
    if unknown:
        raise MappingError(
            f"{source}: unknown key(s) {', '.join(unknown)} "
            "(expected preset, contacts, events, event_types)"
        )
    base = FieldMapping()
    if data.get("preset") is not None:
        base = load_preset(str(data["preset"]))
    vendor = source.startswith("preset ")
    parts: dict[str, dict[str, str]] = {}
    for key in ("contacts", "events", "event_types"):
        section = data.get(key) or {}
        if not isinstance(section, dict):
            raise MappingError(f"{source}: '{key}' must map source names to model names")
        for name, target in section.items():
            if not isinstance(target, str) or not target.strip():
                raise MappingError(f"{source}: {key}.{name}: the model name must be text")
        parts[key] = {str(k): str(v).strip() for k, v in section.items()}
    if vendor:
        own = FieldMapping(parts["contacts"], parts["events"], {}, (source,), parts["event_types"])
    else:
        own = FieldMapping(parts["contacts"], parts["events"], parts["event_types"], (source,))
    return base.then(own)


def load_mapping(path: str | Path) -> FieldMapping:
    """A ``--mapping`` YAML file (the same keys as a model's ``mapping:`` section)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{path}: cannot read the mapping file: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise MappingError(f"{path}: not a YAML mapping: {exc}") from None
    return from_data(data, str(path))


_PRESET_CACHE: dict[str, FieldMapping] = {}


def load_preset(name: str) -> FieldMapping:
    """A shipped preset by name (``hubspot``, ``salesforce``, ``marketo``, ``pardot``)."""
    key = name.strip().lower()
    if key not in PRESETS:
        raise MappingError(f"unknown preset '{name}' (use one of {', '.join(PRESETS)})")
    if key not in _PRESET_CACHE:
        text = resources.files("leadscore.files").joinpath(f"presets/{key}.yaml").read_text("utf-8")
        _PRESET_CACHE[key] = from_data(yaml.safe_load(text), f"preset {key}")
    return _PRESET_CACHE[key]


def build_mapping(
    model_section: Any = None,
    mapping_file: str | Path | None = None,
    preset: str | None = None,
) -> FieldMapping:
    """The mapping a command uses: the model's section, then the preset, then the file."""
    out = FieldMapping()
    if model_section is not None:
        out = out.then(from_data(model_section, "the model's mapping"))
    if preset is not None:
        out = out.then(load_preset(preset))
    if mapping_file is not None:
        out = out.then(load_mapping(mapping_file))
    return out
