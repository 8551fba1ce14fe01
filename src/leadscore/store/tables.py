"""The service's tables (SQLAlchemy Core), shared by SQLite and PostgreSQL.

Times are stored as integer microseconds since the Unix epoch (UTC) in ``*_us``
columns: exact, sortable and identical on both engines, and ten times cheaper to
read back than SQLite's text datetimes when rescoring loads a contact's history.
JSON columns hold the free-form parts (profile fields, event properties, score
explanations); everything that is filtered or sorted on has its own column.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

SCORE_CHANGED_PENDING = "event = 'lead.score_changed' AND status = 'pending' AND attempts = 0"

ID = String(200)

accounts = Table(
    "accounts",
    metadata,
    Column("account_id", ID, primary_key=True),
    Column("name", String(500)),
    Column("domain", String(255), index=True),
    Column("fields", JSON, nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
)

contacts = Table(
    "contacts",
    metadata,
    Column("contact_id", ID, primary_key=True),
    Column("email", String(320), unique=True),
    Column("account_id", ID, ForeignKey("accounts.account_id", ondelete="SET NULL"), index=True),
    Column("owner", String(200), index=True),
    Column("fields", JSON, nullable=False),
    # Lifecycle: the stage the business sees, and the stage the thresholds gave
    # at the last rescoring (crossings are detected against the latter).
    Column("stage", String(40), nullable=False, index=True),
    Column("stage_us", BigInteger, nullable=False),
    Column("threshold_stage", String(40)),
    # Current score (the latest rescoring), denormalised for listing and sorting.
    Column("grade", String(20), index=True),
    Column("surging", Boolean, nullable=False, default=False),
    Column("scores", JSON),
    Column("explanation", JSON),
    Column("model_version", Integer),
    Column("scored_as_of_us", BigInteger),
    # > 0 while events arrived that the current score does not reflect yet;
    # committed with the events so a crash never loses a pending rescoring.
    Column("dirty", Integer, nullable=False, default=0, index=True),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    # Scores follow the clock (migration clock_due): the moment the stored score
    # stops being true without a new event (a window ends, decay crosses a grade...),
    # null when it never does; the scheduler rescores contacts whose moment passed.
    # While a server rescores a contact, this holds its lease's end instead.
    Column("due_us", BigInteger, index=True),
    # PostgreSQL with several servers: a dirty contact one server is rescoring is
    # leased to it until this moment, so another does not rescore it too.
    Column("claimed_until_us", BigInteger),
    # The champion predictive model's probability and strongest factors, stored
    # with the rule scores so lists can sort and filter on it.
    Column("probability", Float, index=True),
    Column("probability_factors", JSON),
    Column("predictive_version", String(100)),
)

contact_scores = Table(
    "contact_scores",
    metadata,
    Column(
        "contact_id",
        ID,
        ForeignKey("contacts.contact_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("score", String(100), primary_key=True),
    Column("value", Float, nullable=False),
    Column("grade", String(20)),
    Index("ix_contact_scores_score_value", "score", "value"),
)

anonymous_visitors = Table(
    "anonymous_visitors",
    metadata,
    Column("anonymous_id", ID, primary_key=True),
    Column("contact_id", ID, ForeignKey("contacts.contact_id", ondelete="CASCADE"), index=True),
    Column("first_seen_us", BigInteger, nullable=False),
    Column("last_seen_us", BigInteger, nullable=False),
    Column("ip", String(64)),
    Column("fields", JSON, nullable=False),
    Column("identified_us", BigInteger),
)

events = Table(
    "events",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("event_id", ID, nullable=False, unique=True),
    Column("contact_id", ID, ForeignKey("contacts.contact_id", ondelete="CASCADE")),
    Column(
        "anonymous_id",
        ID,
        ForeignKey("anonymous_visitors.anonymous_id", ondelete="CASCADE"),
        index=True,
    ),
    Column("type", String(100), nullable=False),
    Column("ts_us", BigInteger, nullable=False),
    Column("properties", JSON, nullable=False),
    Column("received_us", BigInteger, nullable=False),
    Index("ix_events_contact_ts", "contact_id", "ts_us"),
)

outcomes = Table(
    "outcomes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column(
        "contact_id",
        ID,
        ForeignKey("contacts.contact_id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("kind", String(40), nullable=False),
    Column("value", Float),
    Column("currency", String(3)),
    Column("reason", Text),
    Column("at_us", BigInteger, nullable=False),
)

score_snapshots = Table(
    "score_snapshots",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("contact_id", ID, ForeignKey("contacts.contact_id", ondelete="CASCADE"), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("as_of_us", BigInteger, nullable=False),
    Column("scores", JSON, nullable=False),
    Column("grade", String(20)),
    Column("threshold_stage", String(40)),
    Column("surging", Boolean, nullable=False),
    Column("cause", String(40), nullable=False),
    Index("ix_score_snapshots_contact", "contact_id", "id"),
)

transitions = Table(
    "transitions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("contact_id", ID, ForeignKey("contacts.contact_id", ondelete="CASCADE"), nullable=False),
    Column("from_stage", String(40)),
    Column("to_stage", String(40), nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Column("cause", String(40), nullable=False),
    Column("reason", Text),
    Column("actor", String(200)),
    Column("model_version", Integer),
    Index("ix_transitions_contact", "contact_id", "id"),
    Index("ix_transitions_to_at", "to_stage", "at_us"),
)

models = Table(
    "models",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=True),
    Column("name", String(500)),
    Column("yaml", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("active", Boolean, nullable=False, default=False),
    Column("activated_us", BigInteger),
)

rescore_jobs = Table(
    "rescore_jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("model_version", Integer, ForeignKey("models.version"), nullable=False),
    Column("status", String(20), nullable=False),
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    Column("started_us", BigInteger, nullable=False),
    Column("finished_us", BigInteger),
    Column("error", Text),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("url", String(2000), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("events", JSON, nullable=False),
    Column("description", String(500)),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_us", BigInteger, nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False),
    # Deliveries carry personal data in their payload: erasing a contact erases them.
    Column("contact_id", ID, ForeignKey("contacts.contact_id", ondelete="CASCADE"), index=True),
    Column("event", String(60), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_us", BigInteger, nullable=False),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_us", BigInteger, nullable=False),
    Column("delivered_us", BigInteger),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_us"),
    Index("ix_webhook_deliveries_hook", "webhook_id", "id"),
    # lead.score_changed is throttled per contact and coalesced to the latest:
    # at most one not-yet-attempted delivery per subscription and contact, so two
    # servers saving the same contact update one row instead of sending twice.
    Index(
        "uq_webhook_deliveries_score_changed",
        "webhook_id",
        "contact_id",
        unique=True,
        sqlite_where=text(SCORE_CHANGED_PENDING),
        postgresql_where=text(SCORE_CHANGED_PENDING),
    ),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200)),
    Column("prefix", String(16), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("scopes", String(100), nullable=False),
    Column("created_us", BigInteger, nullable=False),
    Column("revoked_us", BigInteger),
    UniqueConstraint("hash", name="uq_api_keys_hash"),
)

# CRM write-back outbox (leadscore.crm): one row per (connector, contact) with
# something not yet acknowledged by that CRM. A change bumps ``version`` on the
# existing row (coalescing: a contact changed five times is sent once, with its
# latest values, built when the batch is sent); a sender deletes the row only
# if the version it sent is still the current one.
crm_outbox = Table(
    "crm_outbox",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("connector", String(40), nullable=False),
    # The CRM copy of a score is personal data: erasing a contact erases its row.
    Column("contact_id", ID, ForeignKey("contacts.contact_id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("state", String(20), nullable=False),  # pending | dead
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_us", BigInteger, nullable=False),
    # A sender's lease: claimed rows are skipped by other senders until it ends.
    Column("claimed_until_us", BigInteger),
    Column("claimed_by", String(64)),
    Column("payload", Text),  # the record the last failed attempt sent (dead letters)
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_us", BigInteger, nullable=False),
    Column("updated_us", BigInteger, nullable=False),
    UniqueConstraint("connector", "contact_id", name="uq_crm_outbox_connector_contact"),
    Index("ix_crm_outbox_due", "connector", "state", "next_attempt_us"),
)
