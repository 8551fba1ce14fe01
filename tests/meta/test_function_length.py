"""No function in compile/ longer than 80 lines: the compiler reads step by step.

Each language step's SQL is one short function (compile/steps.py) and each plan
is a handful of named parts; a long function there means a step lost its name.
"""

from __future__ import annotations

import ast
from pathlib import Path

COMPILE = Path(__file__).resolve().parents[2] / "src" / "leadscore" / "compile"
LIMIT = 80


def long_functions(root: Path, limit: int) -> list[str]:
    """``file:line name (n lines)`` for every function or method over ``limit`` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                assert node.end_lineno is not None
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found.append(f"{path.name}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_long_function_in_compile() -> None:
    assert COMPILE.is_dir()
    assert not long_functions(COMPILE, LIMIT)


def test_the_walk_finds_long_functions(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "m.py").write_text(f"def short():\n    pass\n\n\ndef long():\n{body}\n")
    assert long_functions(tmp_path, LIMIT) == [f"m.py:5 long ({LIMIT + 1} lines)"]
