"""Settings of a running service (also read from ``LEADSCORE_*`` variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

CLOCK_SETTINGS = (
    "clock_interval",
    "decay_refresh_seconds",
    "decay_tolerance",
    "due_lease_seconds",
    "score_changed_throttle",
    "probability_refresh_seconds",
)


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
    # Connectors (docs/connect.md). Website tracker: the origins whose pages may post
    # to /v1/collect ("*" for any), the event types a publishable key may add, and
    # each key's rate limit (events a second, burst).
    collect_origins: tuple[str, ...] = ()
    collect_types: tuple[str, ...] = ("page_view", "form_submit", "click")
    collect_rate: float = 100.0
    collect_burst: float = 1_000.0
    # Email-tool webhooks: each is refused (503) until its verification key is set.
    sendgrid_public_key: str | None = None  # "Verification Key" of the Signed Event Webhook
    mailgun_signing_key: str | None = None  # "HTTP webhook signing key"
    mandrill_webhook_key: str | None = None  # the webhook's key in Mailchimp Transactional
    mandrill_webhook_url: str | None = None  # the URL as registered there (it is signed)
    # Scores follow the clock (docs/service.md, "Scores follow the clock").
    clock_interval: float = 1.0  # how often the scheduler looks for due contacts
    decay_refresh_seconds: float = 3600.0  # continuous decay: refresh at most this often...
    decay_tolerance: float = 0.5  # ...and only scores that moved by more than this (points)
    due_lease_seconds: float = 120.0  # a due contact claimed by a server that died: retried
    score_changed_throttle: float = 60.0  # lead.score_changed: at most one per contact per this
    probability_refresh_seconds: float = 86_400.0  # a stored probability is at most this old
    # CRM write-back (docs/crm.md): the YAML file mapping scores to HubSpot/Salesforce.
    crm_config: str | None = None
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
        env.update(_connect_env())
        for name in CLOCK_SETTINGS:  # LEADSCORE_DECAY_TOLERANCE=1.0 ...
            if f"LEADSCORE_{name.upper()}" in os.environ:
                env[name] = float(os.environ[f"LEADSCORE_{name.upper()}"])
        if "LEADSCORE_CRM" in os.environ:
            env["crm_config"] = os.environ["LEADSCORE_CRM"]
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


def _connect_env() -> dict[str, object]:
    """The connectors' settings from ``LEADSCORE_*`` variables (lists comma-separated)."""
    env: dict[str, object] = {}
    for name, var in (("collect_origins", "COLLECT_ORIGINS"), ("collect_types", "COLLECT_TYPES")):
        if f"LEADSCORE_{var}" in os.environ:
            items = os.environ[f"LEADSCORE_{var}"].split(",")
            env[name] = tuple(i.strip().rstrip("/").lower() for i in items if i.strip())
    for name, var in (("collect_rate", "COLLECT_RATE"), ("collect_burst", "COLLECT_BURST")):
        if f"LEADSCORE_{var}" in os.environ:
            env[name] = float(os.environ[f"LEADSCORE_{var}"])
    for name in (
        "sendgrid_public_key",
        "mailgun_signing_key",
        "mandrill_webhook_key",
        "mandrill_webhook_url",
    ):
        value = os.environ.get(f"LEADSCORE_{name.upper()}")
        if value:
            env[name] = value
    return env
