"""``/v1/crm/...``: the CRM write-back's queue and its dead letters (admin scope)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from leadscore.api.routes import svc
from leadscore.api.security import require
from leadscore.crm import outbox
from leadscore.service.keys import KeyInfo

router = APIRouter(prefix="/v1/crm", tags=["CRM sync"])

Connector = Literal["hubspot", "salesforce"]


class QueueCounts(BaseModel):
    pending: int
    dead: int


class CrmStatus(BaseModel):
    configured: list[str]
    queues: dict[str, QueueCounts]


class DeadLetter(BaseModel):
    id: int
    connector: str
    contact_id: str
    attempts: int
    last_status: int | None
    last_error: str | None
    payload: dict[str, Any] | None
    updated_us: int


class Retried(BaseModel):
    retried: int


@router.get("/status", summary="Configured connectors and their queues", response_model=CrmStatus)
def get_crm_status(request: Request, _: KeyInfo = require("admin")) -> dict[str, Any]:
    service = svc(request)
    configured = list(service.crm.connectors) if service.crm is not None else []
    return {"configured": configured, "queues": outbox.counts(service.store)}


@router.get(
    "/dead-letters",
    summary="Records a CRM refused for good or that ran out of attempts, newest first",
    response_model=list[DeadLetter],
)
def get_dead_letters(
    request: Request,
    connector: Connector | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    _: KeyInfo = require("admin"),
) -> list[dict[str, Any]]:
    return outbox.dead_letters(svc(request).store, connector, limit)


@router.post(
    "/dead-letters/retry",
    summary="Queue every dead letter (of one connector) again",
    response_model=Retried,
)
def retry_all_dead_letters(
    request: Request, connector: Connector | None = None, _: KeyInfo = require("admin")
) -> dict[str, int]:
    return {"retried": outbox.retry_dead(svc(request).store, connector=connector)}


@router.post(
    "/dead-letters/{letter_id}/retry",
    summary="Queue one dead letter again (sent with the contact's current values)",
    response_model=Retried,
)
def retry_dead_letter(
    request: Request, letter_id: int, _: KeyInfo = require("admin")
) -> dict[str, int]:
    return {"retried": outbox.retry_dead(svc(request).store, letter_id=letter_id)}
