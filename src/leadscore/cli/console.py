"""The terminal every command writes to, and how a command stops with an error.

Both consoles print text as it is (``markup=False``): messages quote user input
(paths, rule descriptions, variant names, YAML), and Rich would read a ``[...]`` in
it as markup and drop it (``pip install 'leadscore[postgres]'`` printed as
``pip install 'leadscore'``). Styled words are ``rich.text.Text`` objects instead.
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.text import Text

err = Console(stderr=True, markup=False)  # errors, warnings, progress: stdout is for results
out = Console(markup=False)


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr; ``raise fail(...)`` exits with ``code``."""
    err.print(Text.assemble(("error:", "bold red"), " ", message), highlight=False, soft_wrap=True)
    return typer.Exit(code)
