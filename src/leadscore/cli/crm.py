"""`leadscore sync hubspot|salesforce`: write every stored score into a CRM."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from leadscore.cli.console import err, fail, out
from leadscore.cli.service import DbOpt

CrmOpt = Annotated[
    str,
    typer.Option(
        "--crm",
        envvar="LEADSCORE_CRM",
        help="The CRM config YAML (property mapping, token variables; see docs/crm.md).",
    ),
]


class Target(StrEnum):
    hubspot = "hubspot"
    salesforce = "salesforce"


def sync(
    connector: Annotated[Target, typer.Argument(help="The CRM to write into.")],
    crm: CrmOpt,
    db: DbOpt = "leadscore.db",
    queued_only: Annotated[
        bool,
        typer.Option("--queued-only", help="Send only what is already queued (no full backfill)."),
    ] = False,
    allow_private_network: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-private-network",
            help="A network (CIDR) the CRM URL may point into although it is loopback, "
            "private or link-local, e.g. 10.20.0.0/16 for an on-premises CRM; repeatable. "
            "Default: LEADSCORE_ALLOW_PRIVATE_NETWORKS (comma-separated).",
            metavar="CIDR",
        ),
    ] = None,
) -> None:
    """Backfill: queue every scored contact for the CRM and send the queue, with progress.

    Sends go through the same outbox as the service's incremental sync: an
    interrupted backfill loses nothing, and the next run or the service carries on.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TaskProgressColumn,
        TextColumn,
        TimeRemainingColumn,
    )

    from leadscore.crm import outbox
    from leadscore.crm.config import CrmConfigError, load_config
    from leadscore.crm.outbox import Settled
    from leadscore.crm.sync import CrmSync
    from leadscore.store import Store

    name = connector.value
    try:
        config = load_config(crm)
        if name not in config.connectors:
            raise CrmConfigError(f"{crm}: no '{name}:' section")
        store = Store(db)
        store.upgrade()
        runner = CrmSync(store, config, name, allow=_allowed(allow_private_network))
    except CrmConfigError as exc:
        raise fail(str(exc)) from None
    total = Settled()
    try:
        queued = 0 if queued_only else outbox.enqueue_all(store, name)
        todo = outbox.pending(store, name)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            MofNCompleteColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=err, transient=True) as progress:
            task = progress.add_task(f"{name}", total=todo)

            def advance(step: Settled) -> None:
                progress.advance(task, step.sent + step.skipped + step.dead)

            total = runner.drain(on_step=advance)
    except KeyboardInterrupt:
        outbox.release(store, runner.owner)
        err.print(f"interrupted; {outbox.pending(store, name):,} records stay queued")
        raise typer.Exit(130) from None
    finally:
        runner.close()
    out.print(
        f"{name}: {total.sent:,} sent, {total.skipped:,} skipped (no CRM record to match), "
        f"{total.dead:,} refused" + (f" ({queued:,} contacts queued)" if queued else "")
    )
    store.dispose()
    if total.dead:
        err.print(
            f"{total.dead:,} records are dead letters: see `GET /v1/crm/dead-letters` or the "
            "dashboard's CRM page"
        )
        raise typer.Exit(1)


def _allowed(given: list[str] | None) -> tuple[str, ...]:
    """The option's networks, else the service's variable (the same allow-list)."""
    if given:
        return tuple(given)
    from leadscore.service.settings import Settings

    return Settings.from_env().allow_private_networks


def register(app: typer.Typer) -> None:
    app.command("sync")(sync)
