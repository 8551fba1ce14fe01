"""The scoring-model language: load, validate and write scoring models.

>>> model = load_model("examples/model.yaml")          # doctest: +SKIP
>>> parse_model(text, source="upload.yaml")            # doctest: +SKIP

Both raise :class:`ModelError` listing every problem with its path and line.
"""

from __future__ import annotations

from difflib import get_close_matches
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from leadscore.spec import model as _m
from leadscore.spec.model import (
    CHECKS,
    OPERATORS,
    AllCondition,
    AnyCondition,
    CheckCondition,
    Condition,
    EventRule,
    FieldCondition,
    InactivityRule,
    NotCondition,
    PlaceTable,
    ProfileRule,
    Rule,
    Score,
    ScoringModel,
    StageCondition,
    Surge,
    Test,
    VolumeRule,
)
from leadscore.spec.source import (
    Limits,
    LocatedYaml,
    ModelError,
    ModelTooLarge,
    Problem,
    format_path,
    load_located,
)

__all__ = [
    "CHECKS",
    "OPERATORS",
    "AllCondition",
    "AnyCondition",
    "CheckCondition",
    "Condition",
    "EventRule",
    "FieldCondition",
    "InactivityRule",
    "Limits",
    "ModelError",
    "ModelTooLarge",
    "NotCondition",
    "PlaceTable",
    "Problem",
    "ProfileRule",
    "Rule",
    "Score",
    "ScoringModel",
    "StageCondition",
    "Surge",
    "Test",
    "VolumeRule",
    "dump_model",
    "load_model",
    "model_from_dict",
    "parse_model",
]


MAX_PROBLEMS = 100


def load_model(path: str | Path) -> ScoringModel:
    """Read and validate a scoring-model YAML file."""
    path = Path(path)
    limits = Limits.from_env()
    try:
        size = path.stat().st_size
        if size > limits.max_bytes:  # refused before reading a huge file into memory
            raise ModelTooLarge(str(path), limits.max_bytes)
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ModelError(str(path), [Problem((), f"cannot read the file: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise ModelError(str(path), [Problem((), f"not UTF-8 text: {exc.reason}")]) from exc
    return parse_model(text, source=str(path))


def parse_model(text: str, source: str = "<model>", limits: Limits | None = None) -> ScoringModel:
    """Validate YAML text; ``source`` names it in error messages."""
    located = load_located(text, source, limits)
    return _validate(located, source)


def model_from_dict(data: dict[str, Any], source: str = "<model>") -> ScoringModel:
    """Validate an already-parsed mapping (no line numbers available)."""
    return _validate(LocatedYaml(data), source)


def dump_model(model: ScoringModel) -> str:
    """The model as YAML in the same language a marketer writes."""
    data = _plain(model)
    return yaml.dump(data, Dumper=_NoAliases, sort_keys=False, allow_unicode=True, width=100)


class _NoAliases(yaml.SafeDumper):
    """Shared values written in full: the loader refuses anchors and aliases."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _validate(located: LocatedYaml, source: str) -> ScoringModel:
    if not isinstance(located.data, dict):
        raise ModelError(
            source, [Problem((), "a scoring model must be a mapping with a 'scores' key", 1)]
        )
    collected: list[Problem] = []
    try:
        model = ScoringModel.model_validate(located.data, context={"problems": collected})
    except ValidationError as exc:
        errors = exc.errors()
        # A list whose item failed is also reported as "too short" once the item is
        # dropped; the item's own error is the one the user must fix.
        deeper = [tuple(e["loc"]) for e in errors]
        errors = [
            e
            for e in errors
            if e["type"] != "too_short"
            or not any(
                len(d) > len(e["loc"]) and d[: len(e["loc"])] == tuple(e["loc"]) for d in deeper
            )
        ]
        # Enough to fix a file; formatting thousands (each with a "did you mean")
        # would let a hostile file hold a worker for seconds.
        problems = [_problem(err, located) for err in errors[:MAX_PROBLEMS]]
        raise ModelError(source, _dedupe(problems)) from None
    if collected:
        raise ModelError(
            source, [Problem(p.path, p.message, located.line_of(p.path)) for p in collected]
        )
    return model


_KNOWN_KEYS = sorted(
    {
        name
        for cls in vars(_m).values()
        if isinstance(cls, type) and issubclass(cls, BaseModel)
        for name in cls.model_fields
    }
    | set(OPERATORS)
    | {"not", "field", "check"}
)


def _problem(err: Any, located: LocatedYaml) -> Problem:
    # Drop the union tags pydantic puts in the location (they all contain a
    # dash and never occur as YAML keys) and internal names such as 'test'.
    path = tuple(
        p
        for p in err["loc"]
        if not (isinstance(p, str) and ("-" in p or p.startswith("function-")))
    )
    path = _align(path, located.data)
    message = err["msg"]
    if err["type"] == "extra_forbidden":
        key = path[-1] if path else "?"
        close = get_close_matches(str(key), _KNOWN_KEYS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        message = f"unknown key '{key}'{hint}"
    elif err["type"] == "missing":
        message = f"missing required key '{path[-1]}'" if path else "missing required key"
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return Problem(path, message, located.line_of(path))


def _align(path: tuple[Any, ...], data: Any) -> tuple[Any, ...]:
    """Keep the part of a pydantic location that exists in the YAML, plus its last key.

    Internal structure (``test``, ``op``, a tuple index inside a ``where`` mapping)
    does not exist in the file; the deepest real key is what the user must fix.
    """
    out: list[Any] = []
    node = data
    for part in path:
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            out.append(part)
            node = node[part]
        elif part == "not_":
            if isinstance(node, dict) and "not" in node:
                out.append("not")
                node = node["not"]
        elif isinstance(node, dict) and part not in ("test", "op", "value"):
            out.append(part)  # a missing or unknown key: name it
            node = None
        else:
            continue
    return tuple(out)


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        key = (format_path(p.path), p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _plain(value: Any) -> Any:
    """Dump pydantic objects to the YAML form, dropping defaults and internals."""
    if isinstance(value, FieldCondition):
        return _plain(value.model_dump())
    if isinstance(value, ScoringModel):
        data: dict[str, Any] = {}
        for key in ("name", "settings", "places", "scores", "combined_grade", "surge"):
            item = getattr(value, key)
            if key == "settings" and item == _m.Settings():
                continue
            if item is not None and item != {}:
                data[key] = _plain(item)
        if value.lifecycle:
            data["lifecycle"] = {
                stage: {c.key: _stage_yaml(c) for c in conds}
                for stage, conds in value.lifecycle.items()
            }
        if value.optional_fields:
            data["optional_fields"] = list(value.optional_fields)
        if value.mapping is not None:
            data["mapping"] = _plain(value.mapping)
        return data
    if isinstance(value, BaseModel):
        out: dict[str, Any] = {}
        for name, field in type(value).model_fields.items():
            item = getattr(value, name)
            if item == field.get_default(call_default_factory=True):
                continue
            key = field.alias or name
            out[key] = _plain(item)
            if name == "where":
                out[key] = {prop: _m._tests_yaml(tests) for prop, tests in item.items()}
            if name == "on" and isinstance(item, tuple) and len(item) == 1:
                out[key] = item[0]
        return out
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _stage_yaml(cond: StageCondition) -> Any:
    if cond.flag is not None:
        return cond.flag
    if cond.labels is not None:
        return list(cond.labels)
    number = (
        int(cond.number) if cond.number is not None and cond.number.is_integer() else cond.number
    )
    return f"{cond.op} {number}"
