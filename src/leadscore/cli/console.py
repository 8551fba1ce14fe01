"""The terminal every command writes to, and how a command stops with an error.

Both consoles print text as it is (``markup=False``): messages quote user input
(paths, rule descriptions, variant names, YAML), and Rich would read a ``[...]`` in
it as markup and drop it (``pip install 'leadscore[postgres]'`` printed as
``pip install 'leadscore'``). Styled words are ``rich.text.Text`` objects instead.
Lines are not wrapped at the console's width (``soft_wrap``): a terminal wraps them
anyway, and a path broken over two lines cannot be copied. Tables still fit the width.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

# err: errors, warnings and progress, so that stdout holds only results
err = Console(stderr=True, markup=False, soft_wrap=True)
out = Console(markup=False, soft_wrap=True)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; ``raise fail(...)`` exits with ``code``."""
    err.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False)
    return typer.Exit(code)


# The model and --as-of readers every scoring command uses (cli/scoring, cli/batch).
def parse_as_of(text: str | None) -> datetime:
    from leadscore.io import parse_timestamp

    if text is None:
        return datetime.now(UTC)
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise fail(f"--as-of: {exc}") from None


def load_model_or_exit(path: Path) -> Any:
    from leadscore.spec import ModelError, load_model

    try:
        return load_model(path)
    except ModelError as exc:
        raise fail(str(exc)) from None
