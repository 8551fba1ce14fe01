"""`leadscore serve`, `leadscore db upgrade` and `leadscore keys ...`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from leadscore.cli.console import fail

if TYPE_CHECKING:
    from leadscore.store import Store

DbOpt = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="LEADSCORE_DB",
        help="A SQLite file (default ./leadscore.db) or a postgresql:// URL.",
    ),
]


def _store(db: str) -> Store:
    from leadscore.store import Store

    store = Store(db)
    store.upgrade()
    return store


def serve(
    db: DbOpt = "leadscore.db",
    model: Annotated[
        str | None,
        typer.Option("--model", "-m", help="Scoring-model YAML to upload and activate on start."),
    ] = None,
    registry: Annotated[
        str | None,
        typer.Option(
            "--registry",
            "-r",
            envvar="LEADSCORE_REGISTRY",
            help="Model registry (`leadscore train -r DIR`): serve its champion predictive "
            "model on the dashboard; a newly promoted champion is picked up without a restart.",
        ),
    ] = None,
    crm: Annotated[
        str | None,
        typer.Option(
            "--crm",
            envvar="LEADSCORE_CRM",
            help="CRM config YAML: keep HubSpot/Salesforce records updated (docs/crm.md).",
        ),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Run the HTTP API (OpenAPI docs at /docs) with its scoring and webhook workers."""
    import uvicorn

    from leadscore.api.app import create_app
    from leadscore.service.settings import Settings

    if model is not None:
        from leadscore.spec import ModelError, load_model

        try:
            load_model(model)
        except ModelError as exc:
            raise fail(str(exc)) from None
    if registry is not None:
        from leadscore.service.predictive import ChampionWatcher

        if not Path(registry).is_dir():
            raise fail(f"{registry}: no such registry directory")
        # Fail now on a registry that cannot be read; one with no champion yet is
        # fine (the dashboard says so until `leadscore train` promotes one).
        watcher = ChampionWatcher(registry)
        watcher.load()
        if watcher.broken:
            raise fail(f"{watcher.problem}")
    if crm is not None:
        from leadscore.crm.config import CrmConfigError, check_addresses, load_config

        try:
            config = load_config(crm)
            if config.hubspot is not None:
                config.hubspot.token()  # the variables are there: fail now, not in a thread
            if config.salesforce is not None:
                config.salesforce.token()
                config.salesforce.base_url()
            check_addresses(config, Settings.from_env().allow_private_networks)
        except CrmConfigError as exc:
            raise fail(str(exc)) from None
    import sys

    from leadscore.service.ingest_process import SWITCH_INTERVAL

    sys.setswitchinterval(SWITCH_INTERVAL)  # see ingest_process.SWITCH_INTERVAL
    # Ingestion and rescoring run in child processes (their own interpreter locks);
    # this process only answers HTTP (see docs/service.md, "Processes").
    app = create_app(
        Settings.from_env(
            db_url=db,
            model_path=model,
            registry_path=registry,
            crm_config=crm,
            scorer_process=True,
            ingest_process=True,
        )
    )
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False)


def db_upgrade(db: DbOpt = "leadscore.db") -> None:
    """Create or migrate the store's schema to the latest version."""
    store = _store(db)
    typer.echo(f"{store.dialect} store at revision {store.current_revision()}")
    store.dispose()


def keys_create(
    scope: Annotated[
        list[str],
        typer.Option("--scope", "-s", help="ingest, read, admin or collect (repeatable)."),
    ],
    name: Annotated[str | None, typer.Option(help="A label to recognise the key by.")] = None,
    db: DbOpt = "leadscore.db",
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from leadscore.service.errors import ServiceError
    from leadscore.service.keys import create_key

    store = _store(db)
    try:
        created = create_key(store, scope, name)
    except ServiceError as exc:
        raise fail(exc.message, 2) from None
    finally:
        store.dispose()
    typer.echo(created["key"])
    typer.echo(
        f"key {created['id']} ({', '.join(created['scopes'])}) created; it is shown only once",
        err=True,
    )


def keys_list(db: DbOpt = "leadscore.db") -> None:
    """List API keys (prefix, scopes, revoked) without their secrets."""
    from leadscore.service.keys import list_keys

    store = _store(db)
    for key in list_keys(store):
        typer.echo(json.dumps(key))
    store.dispose()


def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (see `keys list`).")],
    db: DbOpt = "leadscore.db",
) -> None:
    """Revoke an API key."""
    from leadscore.service.errors import ServiceError
    from leadscore.service.keys import revoke_key

    store = _store(db)
    try:
        revoke_key(store, key_id)
    except ServiceError as exc:
        raise fail(exc.message) from None
    finally:
        store.dispose()
    typer.echo(f"key {key_id} revoked")


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    db = typer.Typer(help="The service's store.", no_args_is_help=True)
    db.command("upgrade")(db_upgrade)
    app.add_typer(db, name="db")
    keys = typer.Typer(help="API keys of the service.", no_args_is_help=True)
    keys.command("create")(keys_create)
    keys.command("list")(keys_list)
    keys.command("revoke")(keys_revoke)
    app.add_typer(keys, name="keys")
