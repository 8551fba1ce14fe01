"""Response models of the API routes that had none (``dict[str, Any]`` before).

They document the answers in the OpenAPI document (and schemathesis checks real
answers against them). Each allows extra keys, so a field a service adds later is
passed through rather than silently dropped; the listed ones are typed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, RootModel


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


class HealthOut(Out):
    ok: bool
    store: str


class ContactOut(Out):
    """A contact with its current score (as stored)."""

    contact_id: str
    email: str | None
    account_id: str | None
    owner: str | None
    fields: dict[str, Any] | None
    stage: str | None
    stage_us: int | None
    grade: str | None
    surging: bool | None
    scores: dict[str, Any] | None
    model_version: int | None
    scored_as_of_us: int | None
    pending_rescoring: bool
    due_us: int | None = None  # when the clock rescores it next (docs/service.md)
    probability: float | None = None  # the champion predictive model's, stored
    created_us: int
    updated_us: int


class ContactWritten(ContactOut):
    created: bool


class LeadsPage(Out):
    total: int
    limit: int
    offset: int
    items: list[ContactOut]


class ModelVersionOut(Out):
    version: int
    name: str | None
    sha256: str
    active: bool
    created_us: int
    activated_us: int | None


class ModelWithYaml(ModelVersionOut):
    yaml: str


class JobOut(Out):
    id: int
    model_version: int
    status: str
    total: int | None
    done: int | None
    progress: float
    started_us: int | None
    finished_us: int | None
    error: str | None


class WebhookOut(Out):
    id: int
    url: str
    events: list[str]
    description: str | None
    active: bool
    created_us: int


class WebhookCreated(WebhookOut):
    secret: str


class DeliveryOut(Out):
    id: int
    event: str
    contact_id: str | None
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_us: int
    next_attempt_us: int | None
    delivered_us: int | None
    payload: dict[str, Any]


class KeyOut(Out):
    id: int
    name: str | None
    prefix: str
    scopes: list[str]
    created_us: int
    revoked: bool


class KeyCreated(Out):
    id: int
    name: str | None
    scopes: list[str]
    key: str


class StatusOut(Out):
    store: str
    contacts: int
    events: int
    pending_rescoring: int
    webhooks_pending: int
    active_model: int | None
    jobs: list[JobOut]


class AccountOut(Out):
    account_id: str
    name: str | None
    domain: str | None
    fields: dict[str, Any] | None
    contacts: list[str]
    created_us: int
    updated_us: int


class AccountWritten(AccountOut):
    created: bool


# -- one lead in full, its score and history --


class SnapshotOut(Out):
    """One rescoring of a lead (score history)."""

    model_version: int | None
    as_of_us: int
    scores: dict[str, Any] | None
    grade: str | None
    threshold_stage: str | None
    surging: bool | None
    cause: str | None


class EventRowOut(Out):
    event_id: str
    type: str
    ts_us: int
    anonymous_id: str | None
    properties: dict[str, Any] | None


class TransitionOut(Out):
    from_stage: str | None
    to_stage: str
    at_us: int
    cause: str | None
    reason: str | None
    actor: str | None
    model_version: int | None


class LeadOut(ContactOut):
    """GET /v1/contacts/{id}: profile, scores with why, events, history, outcomes."""

    explanation: dict[str, Any] | None
    anonymous_ids: list[str]
    event_count: int
    events: list[EventRowOut]
    history: list[SnapshotOut]
    transitions: list[TransitionOut]
    outcomes: list[dict[str, Any]]


class ScoreOut(Out):
    """The stored score with its reasons, or (``as_of``) one recomputed at that moment:
    then ``threshold_stage`` and ``as_of`` replace ``stage`` and ``as_of_us``."""

    contact_id: str
    scores: dict[str, Any] | None
    grade: str | None
    surging: bool | None
    contributions: list[Any] = []
    top_reasons: list[Any] = []


class GradeCounts(RootModel[dict[str, int]]):
    """Leads per combined grade ("ungraded" for not yet scored)."""


class ErasedOut(Out):
    erased: dict[str, int]  # rows removed per table


class ContactExport(Out):
    """GDPR access request: every row stored about one contact."""

    contact: dict[str, Any]
    account: dict[str, Any] | None
    anonymous_visitors: list[dict[str, Any]]
    events: list[dict[str, Any]]
    score_history: list[dict[str, Any]]
    transitions: list[dict[str, Any]]
    outcomes: list[dict[str, Any]]
    webhook_deliveries: list[dict[str, Any]]
    anonymous_ids: list[str]


# -- events and identify --


class ItemOut(Out):
    index: int
    event_id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    contact_id: str | None = None
    errors: list[dict[str, Any]] = []


class EventOut(ItemOut):
    """One ingested event; with ``wait``, the scores of the contacts it changed."""

    scores: dict[str, dict[str, Any]] | None = None


class BatchOut(Out):
    accepted: int
    duplicates: int
    rejected: int
    results: list[ItemOut]
    scores: dict[str, dict[str, Any]] | None = None


class IdentifyOut(Out):
    anonymous_id: str
    contact_id: str
    events_linked: int
    score: dict[str, Any] | None = None


# -- models --


class ModelProblem(Out):
    path: str | None
    line: int | None
    message: str


class ValidationOut(Out):
    """Valid: a summary of the model; not valid: every problem with its path and line."""

    valid: bool
    problems: list[ModelProblem] = []
    name: str | None = None
    scores: list[str] = []
    rules: int | None = None
    stages: list[str] = []


class ModelUploaded(ModelVersionOut):
    yaml: str | None = None
    job: JobOut | None = None


# -- reports (rows are tables whose columns depend on the query: left free) --

Rows = list[dict[str, Any]]


class Report(Out):
    as_of: str


class FunnelOut(Report):
    period: str
    funnel: list[str]
    by: list[str] | None
    stages: Rows
    conversions: Rows
    by_period: Rows
    entries: Rows
    fresh_vs_nurtured: Rows | None
    cohorts: Rows | None = None


class VelocityOut(Report):
    period: str
    stage: str
    rows: Rows


class FreshNurturedOut(Report):
    fresh_days: float
    qualified_stage: str
    converted_stage: str
    rows: Rows


class RfmOut(Report):
    quantiles: int
    contacts: int
    segments: Rows
    rows: Rows | None = None


class AttributionOut(Report):
    touch: str
    stage: str
    rows: Rows


class AbTestOut(Report):
    experiment: str | None
    control: str
    rows: Rows


class SampleSizeOut(Out):
    per_control: int | None
    per_variant: int | None
    total: int | None
    effect_size: float | None
    exact_per_control: float | None
    baseline: float | None
    target: float | None


class GoalsOut(Report):
    period: str
    sla: dict[str, Any]
    plan: dict[str, Any] | None = None
    capacity: dict[str, Any] | None = None


class CpaOut(Report):
    period: str
    stage: str
    summary: Rows
    rows: Rows
