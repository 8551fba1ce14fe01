"""Response models of the API routes that had none (``dict[str, Any]`` before).

They document the answers in the OpenAPI document (and schemathesis checks real
answers against them). Each allows extra keys, so a field a service adds later is
passed through rather than silently dropped; the listed ones are typed.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


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
