"""Entry point of the `leadscore` console script.

Each command group lives in its own module with a ``register(app)`` function, so
heavy libraries (DuckDB, LightGBM, FastAPI...) are imported only by the command
that needs them and `leadscore --help` stays fast.
"""

from __future__ import annotations

import typer

from leadscore.cli import batch, crm, learn, report, scoring
from leadscore.cli import files as files_cli
from leadscore.cli import service as service_cli

app = typer.Typer(
    name="leadscore",
    help="Lead scoring with readable rules, learned models and scores that explain themselves.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

scoring.register(app)
batch.register(app)
report.register(app)
service_cli.register(app)
learn.register(app)
files_cli.register(app)
crm.register(app)  # leadscore sync hubspot|salesforce


if __name__ == "__main__":  # pragma: no cover
    app()
