"""Settings of a running service (also read from ``LEADSCORE_*`` variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Settings:
    """Everything ``create_app`` needs; tests build one directly."""

    db_url: str = "leadscore.db"
    model_path: str | None = None
    # A model registry (`leadscore train -r DIR`): its champion predictive model is
    # served to the dashboard and reloaded when the champion changes.
    registry_path: str | None = None
    max_batch: int = 10_000
    max_body_bytes: int = 20 * 1024 * 1024  # a full batch of 10,000 rich events fits
    # Background work (turned off by tests that drive it by hand).
    run_workers: bool = True
    scorer_process: bool = False  # `leadscore serve` runs the scorer in its own process
    ingest_process: bool = False  # ... and event ingestion (parse, validate, commit) too
    scoring_interval: float = 0.05  # how often an idle scorer looks for dirty contacts
    # Contacts per rescoring transaction. Small on purpose: that transaction locks
    # its contacts (PostgreSQL rows, SQLite the whole file) and ingest touching
    # them waits; with 500 it held batch ingest on PostgreSQL to ~5,000 events/s.
    rescore_chunk: int = 100
    webhook_interval: float = 0.2
    webhook_timeout: float = 5.0
    webhook_max_attempts: int = 8
    webhook_backoff_base: float = 2.0  # seconds before the 2nd attempt; doubles each time
    webhook_backoff_max: float = 3600.0
    key_cache_seconds: float = 5.0  # a revoked key stops working within this delay
    # CRM write-back (docs/crm.md): the YAML file mapping scores to HubSpot/Salesforce.
    crm_config: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env: dict[str, object] = {}
        if "LEADSCORE_DB" in os.environ:
            env["db_url"] = os.environ["LEADSCORE_DB"]
        if "LEADSCORE_MODEL" in os.environ:
            env["model_path"] = os.environ["LEADSCORE_MODEL"]
        if "LEADSCORE_REGISTRY" in os.environ:
            env["registry_path"] = os.environ["LEADSCORE_REGISTRY"]
        if "LEADSCORE_CRM" in os.environ:
            env["crm_config"] = os.environ["LEADSCORE_CRM"]
        env.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**env)  # type: ignore[arg-type]
