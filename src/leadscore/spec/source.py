"""Read YAML while remembering where every value came from.

PyYAML's plain loaders forget line numbers and silently keep the last of two
duplicate keys. We compose the node graph ourselves so that every problem can be
reported as ``scores.fit.rules[3].points (line 12)`` and a duplicated key is an
error instead of a rule that quietly vanished.

Model text comes from strangers (``POST /v1/models/validate`` needs only a read
key), so it is read under limits checked on the parser's event stream before
anything is built: a size cap, no anchors or aliases (a few nested aliases expand
to billions of nodes, the "billion laughs"), a nesting depth and a node count.
Every refusal names the line.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from leadscore.clean import value_problem

# libyaml when available: ~10x faster than the pure-Python parser on large text.
_LOADER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a model file, with where it is."""

    path: Path_
    message: str
    line: int | None = None

    @property
    def where(self) -> str:
        return format_path(self.path) or "(top level)"

    def __str__(self) -> str:
        line = f" (line {self.line})" if self.line else ""
        return f"{self.where}{line}: {self.message}"


class ModelError(ValueError):
    """A scoring model could not be loaded; carries every problem found."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = sorted(problems, key=lambda p: (p.line or 0, p.where))
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"{source}: {len(self.problems)} problem(s)\n{lines}")


class ModelTooLarge(ModelError):
    """The text is over the size limit: refused before it is parsed."""

    def __init__(self, source: str, limit: int):
        self.limit = limit
        super().__init__(source, [Problem((), f"the model is over {limit:,} bytes (the limit)")])


def format_path(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass
class LocatedYaml:
    """Plain Python data plus the line of each path in it."""

    data: Any
    lines: dict[Path_, int] = field(default_factory=dict)

    def line_of(self, path: Path_) -> int | None:
        """The line of the deepest part of ``path`` that exists in the file."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return None


@dataclass(frozen=True)
class Limits:
    """How much model text we read: the example model is 3.5 KB, 392 values, 8 levels
    deep; a learned scorecard a few thousand values. Validating 20,000 values takes
    about half a second."""

    max_bytes: int = 1_000_000
    max_depth: int = 64
    max_nodes: int = 20_000

    @classmethod
    def from_env(cls) -> Limits:
        """``LEADSCORE_MAX_MODEL_BYTES`` raises (or lowers) the size cap."""
        raw = os.environ.get("LEADSCORE_MAX_MODEL_BYTES")
        return cls(max_bytes=int(raw)) if raw else cls()


def load_located(text: str, source: str, limits: Limits | None = None) -> LocatedYaml:
    """Parse YAML text; raise ModelError on syntax errors, duplicate keys or text
    beyond the limits (size, anchors/aliases, depth, node count)."""
    limits = limits or Limits.from_env()
    try:
        check_limits(text, source, limits)
        node = yaml.compose(text, Loader=_LOADER)
    except UnicodeEncodeError as exc:  # a lone surrogate (only JSON can carry one)
        at = text.count("\n", 0, exc.start) + 1
        message = "invalid YAML: a lone surrogate character (not Unicode text)"
        raise ModelError(source, [Problem((), message, at)]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        position = getattr(exc, "position", None)  # the reader's errors (control characters)
        if line is None and isinstance(position, int):
            line = text.count("\n", 0, position) + 1
        problem = getattr(exc, "problem", None) or str(exc).split("\n")[0]
        raise ModelError(source, [Problem((), f"invalid YAML: {problem}", line)]) from exc
    located = LocatedYaml(None)
    problems: list[Problem] = []
    if node is None:
        raise ModelError(source, [Problem((), "the file is empty", 1)])
    located.data = _build(node, (), located.lines, problems)
    if problems:
        raise ModelError(source, problems)
    return located


def check_limits(text: str, source: str, limits: Limits) -> None:
    """Refuse text over the limits, from the event stream (nothing is built yet)."""
    # A character is 1 to 4 bytes: most text is measured without encoding it.
    size = len(text)
    if limits.max_bytes // 4 < size <= limits.max_bytes:
        size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise ModelTooLarge(source, limits.max_bytes)
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_LOADER):
        if isinstance(event, yaml.AliasEvent):
            raise _refuse(source, event, f"YAML aliases (*{event.anchor}) are not allowed")
        if not isinstance(event, yaml.NodeEvent):
            if isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            continue
        if event.anchor is not None:
            raise _refuse(source, event, f"YAML anchors (&{event.anchor}) are not allowed")
        nodes += 1
        if nodes > limits.max_nodes:
            raise _refuse(source, event, f"more than {limits.max_nodes:,} values")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > limits.max_depth:
                raise _refuse(source, event, f"nested more than {limits.max_depth} levels deep")


def _refuse(source: str, event: yaml.Event, message: str) -> ModelError:
    mark = event.start_mark
    return ModelError(source, [Problem((), message, mark.line + 1 if mark else None)])


def _build(node: yaml.Node, path: Path_, lines: dict[Path_, int], problems: list[Problem]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in _pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                problems.append(
                    Problem(path, "a key must be plain text", key_node.start_mark.line + 1)
                )
                continue
            # Keys are always names in our language. Taking the source text keeps
            # YAML 1.1 from turning the key `on:` (event rules) into True.
            key = key_node.value
            child = (*path, key)
            problem = value_problem(key)
            if problem is not None:
                problems.append(
                    Problem(path, f"the key {key!r} {problem}", key_node.start_mark.line + 1)
                )
                continue
            if key in out:
                problems.append(
                    Problem(child, f"duplicate key '{key}'", key_node.start_mark.line + 1)
                )
                continue
            lines[child] = key_node.start_mark.line + 1
            out[key] = _build(value_node, child, lines, problems)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), lines, problems) for i, item in enumerate(node.value)]
    try:
        value = _scalar(node)
    except (yaml.YAMLError, ValueError, TypeError, OverflowError) as exc:
        # An unknown tag (!!python/name:...), a date such as 2026-13-45, !!int abc...
        reason = getattr(exc, "problem", None) or str(exc)
        problems.append(Problem(path, f"invalid value: {reason}", node.start_mark.line + 1))
        return None
    # .nan, .inf or 1e999: no rule, bound or weight means that, and NaN would make
    # every comparison false and every sum NaN. "\0" would reach the store in an
    # explanation, which PostgreSQL cannot hold.
    problem = value_problem(value)
    if problem is not None:
        problems.append(Problem(path, f"{node.value!r} {problem}", node.start_mark.line + 1))
        return None
    return value


# One constructor for every scalar: its scalar constructors are pure functions of
# the node (a new constructor per value was half the time of a large file).
_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _scalar(node: yaml.Node) -> Any:
    construct = _CONSTRUCTOR.yaml_constructors.get(node.tag)
    if construct is None or not isinstance(node, yaml.ScalarNode):
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True)
    return construct(_CONSTRUCTOR, node)


def _pairs(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    # Merge keys (<<) are left as ordinary keys, which the schema then rejects.
    yield from node.value
