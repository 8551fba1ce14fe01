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
    # Per-key request rate (token bucket, per server process): `rate_limit` requests a
    # second sustained, bursts of `rate_limit_burst`; past that 429 + Retry-After.
    # 0 turns it off. Generous by default: above the ingest benchmark's single-event rate.
    rate_limit: float = 1000.0
    rate_limit_burst: int = 2000
    # Outbound requests (webhooks, connectors) to loopback, private, link-local or
    # cloud metadata addresses are refused unless their network is listed here
    # (CIDRs such as "127.0.0.0/8" or "10.1.0.0/16"), see service/outbound.py.
    allow_private_networks: tuple[str, ...] = ()
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
        if "LEADSCORE_RATE_LIMIT" in os.environ:
            env["rate_limit"] = float(os.environ["LEADSCORE_RATE_LIMIT"])
        if "LEADSCORE_RATE_LIMIT_BURST" in os.environ:
            env["rate_limit_burst"] = int(os.environ["LEADSCORE_RATE_LIMIT_BURST"])
        if "LEADSCORE_ALLOW_PRIVATE_NETWORKS" in os.environ:
            env["allow_private_networks"] = tuple(
                c.strip()
                for c in os.environ["LEADSCORE_ALLOW_PRIVATE_NETWORKS"].split(",")
                if c.strip()
            )
        env.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**env)  # type: ignore[arg-type]
