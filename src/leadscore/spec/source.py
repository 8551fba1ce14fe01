"""Read YAML while remembering where every value came from.

PyYAML's plain loaders forget line numbers and silently keep the last of two
duplicate keys. We compose the node graph ourselves so that every problem can be
reported as ``scores.fit.rules[3].points (line 12)`` and a duplicated key is an
error instead of a rule that quietly vanished.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

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


def load_located(text: str, source: str) -> LocatedYaml:
    """Parse YAML text; raise ModelError on syntax errors or duplicate keys."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ModelError(source, [Problem((), f"invalid YAML: {problem}", line)]) from exc
    located = LocatedYaml(None)
    problems: list[Problem] = []
    if node is None:
        raise ModelError(source, [Problem((), "the file is empty", 1)])
    located.data = _build(node, (), located.lines, problems)
    if problems:
        raise ModelError(source, problems)
    return located


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
    return _scalar(node)


def _scalar(node: yaml.Node) -> Any:
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _pairs(node: yaml.MappingNode) -> Iterator[tuple[yaml.Node, yaml.Node]]:
    # Merge keys (<<) are left as ordinary keys, which the schema then rejects.
    yield from node.value
