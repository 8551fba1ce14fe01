"""HTTP routes: thin wrappers that check the key, parse input and call the services."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, ConfigDict, Field

from leadscore.api.openapi import answers
from leadscore.api.schemas import (
    AccountOut,
    AccountWritten,
    BatchOut,
    ContactExport,
    ContactOut,
    ContactWritten,
    DeliveryOut,
    ErasedOut,
    EventOut,
    GradeCounts,
    HealthOut,
    IdentifyOut,
    JobOut,
    KeyCreated,
    KeyOut,
    LeadOut,
    LeadsPage,
    ModelUploaded,
    ModelVersionOut,
    ModelWithYaml,
    ScoreOut,
    SnapshotOut,
    StatusOut,
    ValidationOut,
    WebhookCreated,
    WebhookOut,
)
from leadscore.api.security import require
from leadscore.clean import CleanInput, Key, Scalar
from leadscore.service import contacts as contact_service
from leadscore.service import events as event_service
from leadscore.service import keys as key_service
from leadscore.service import leads as lead_service
from leadscore.service import models as model_service
from leadscore.service import webhooks as webhook_service
from leadscore.service.errors import Invalid, NotFound
from leadscore.service.events import EventIn, IngestResult
from leadscore.service.ingest_process import EncodedResult
from leadscore.service.keys import KeyInfo
from leadscore.service.runtime import Service

ID = Annotated[str, Field(min_length=1, max_length=200)]
IngestAnswer = IngestResult | EncodedResult
# Numeric ids (model versions, jobs, webhooks, keys) are 32-bit columns on PostgreSQL;
# a larger number in a path was an OverflowError (a 500) in the driver, now a 422.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


def svc(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


class Strict(CleanInput):  # text without NUL, finite numbers (leadscore.clean)
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ------------------------------------------------------------------ schemas --


class AccountIn(Strict):
    name: str | None = Field(None, max_length=500)
    domain: str | None = Field(None, max_length=255)
    fields: dict[Key, Scalar] = Field(
        default_factory=dict, description="Company fields (industry, employees...); null removes"
    )


class ContactIn(Strict):
    contact_id: ID | None = None
    email: str | None = Field(None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    account_id: ID | None = None
    owner: str | None = Field(None, max_length=200)
    fields: dict[Key, Scalar] = Field(
        default_factory=dict, description="Profile fields the model reads; null removes one"
    )


class ContactUpdate(Strict):
    email: str | None = Field(None, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    account_id: ID | None = None
    owner: str | None = Field(None, max_length=200)
    fields: dict[Key, Scalar] = Field(default_factory=dict)


BatchIn = event_service.BatchIn  # parsed by the committer from the raw body (see post_batch)


class IdentifyIn(Strict):
    anonymous_id: ID
    contact_id: ID | None = None
    email: str | None = Field(None, min_length=3, max_length=320)


class StageIn(Strict):
    action: Literal["accept", "reject", "opportunity", "won", "lost"]
    reason: str | None = Field(None, max_length=2000)
    value: float | None = Field(None, ge=0, description="Deal value (opportunity, won)")
    currency: str | None = Field(None, min_length=3, max_length=3)


class ModelIn(Strict):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)  # YAML kept as sent
    yaml: str = Field(min_length=1, max_length=2_000_000)
    activate: bool = False


class WebhookIn(Strict):
    url: str = Field(min_length=8, max_length=2000)
    events: list[str] = Field(min_length=1, examples=[["lead.mql", "lead.stage_changed"]])
    secret: str | None = Field(None, min_length=16, max_length=200)
    description: str | None = Field(None, max_length=500)


class KeyIn(Strict):
    scopes: list[Literal["ingest", "read", "admin", "collect"]] = Field(min_length=1)
    name: str | None = Field(None, max_length=200)


# ------------------------------------------------------------------- routes --

health = APIRouter(tags=["health"])
data = APIRouter(prefix="/v1", tags=["accounts and contacts"])
ingest = APIRouter(prefix="/v1", tags=["events"])
scores = APIRouter(prefix="/v1", tags=["scores and leads"])
admin = APIRouter(prefix="/v1", tags=["models, webhooks and keys"])


@health.get("/health", summary="Liveness (no key needed)", response_model=HealthOut)
def get_health(request: Request) -> dict[str, Any]:
    return {"ok": True, "store": svc(request).store.dialect}


@scores.get(
    "/status",
    summary="Counts, pending rescoring, active model, recent jobs",
    response_model=StatusOut,
)
def get_status(request: Request, _: KeyInfo = require("read")) -> dict[str, Any]:
    return svc(request).status()


# -- accounts and contacts --


@data.put(
    "/accounts/{account_id}", summary="Create or update an account", response_model=AccountWritten
)
def put_account(
    request: Request, account_id: ID, body: AccountIn, _: KeyInfo = require("ingest")
) -> dict[str, Any]:
    out = contact_service.upsert_account(
        svc(request).store, account_id, body.name, body.domain, body.fields
    )
    svc(request).notify()
    return out


@data.get(
    "/accounts/{account_id}", summary="An account and its contacts", response_model=AccountOut
)
def get_account(request: Request, account_id: str, _: KeyInfo = require("read")) -> dict[str, Any]:
    return contact_service.get_account(svc(request).store, account_id)


@data.post(
    "/contacts",
    summary="Create or update a contact by contact_id, else by email",
    responses={201: {"description": "Created"}, **answers(404, 409)},
    response_model=ContactWritten,
)
def post_contact(
    request: Request, response: Response, body: ContactIn, _: KeyInfo = require("ingest")
) -> dict[str, Any]:
    out = contact_service.upsert_contact(
        svc(request).store, body.contact_id, body.email, body.account_id, body.owner, body.fields
    )
    response.status_code = 201 if out["created"] else 200
    svc(request).notify()
    return out


@data.put(
    "/contacts/{contact_id}",
    summary="Create or update a contact by id",
    responses={201: {"description": "Created"}, **answers(409)},
    response_model=ContactWritten,
)
def put_contact(
    request: Request,
    response: Response,
    contact_id: ID,
    body: ContactUpdate,
    _: KeyInfo = require("ingest"),
) -> dict[str, Any]:
    out = contact_service.upsert_contact(
        svc(request).store, contact_id, body.email, body.account_id, body.owner, body.fields
    )
    response.status_code = 201 if out["created"] else 200
    svc(request).notify()
    return out


@data.get(
    "/contacts/{contact_id}",
    summary="A lead in full: scores, why, events, history",
    response_model=LeadOut,
)
def get_contact(
    request: Request,
    contact_id: str,
    events_limit: Annotated[int, Query(ge=0, le=1000)] = 100,
    _: KeyInfo = require("read"),
) -> dict[str, Any]:
    return lead_service.get_lead(svc(request).store, contact_id, events_limit)


@data.delete(
    "/contacts/{contact_id}",
    summary="GDPR erasure: the contact and all its data",
    response_model=ErasedOut,
)
def delete_contact(
    request: Request, contact_id: str, _: KeyInfo = require("admin")
) -> dict[str, Any]:
    return {"erased": contact_service.erase_contact(svc(request).store, contact_id)}


@data.get(
    "/contacts/{contact_id}/export",
    summary="GDPR access request: all data of a contact",
    response_model=ContactExport,
)
def export_contact(
    request: Request, contact_id: str, _: KeyInfo = require("admin")
) -> dict[str, Any]:
    return contact_service.export_contact(svc(request).store, contact_id)


# -- events --


def _after_ingest(request: Request, result: IngestAnswer, wait: bool) -> dict[str, Any]:
    service = svc(request)
    out = result.summary()
    if wait and result.contacts:
        service.rescore_now(result.contacts)
        out["scores"] = {
            cid: _score_view(contact_service.get_contact(service.store, cid))
            for cid in result.contacts
        }
    service.notify()
    return out


def _notify(request: Request, result: IngestAnswer) -> dict[str, Any]:
    svc(request).notify()
    return result.summary()


WaitQuery = Annotated[
    bool,
    Query(description="Answer only after the affected contacts are rescored, with their scores"),
]


@ingest.post(
    "/events",
    summary="Ingest one event",
    status_code=201,
    responses={200: {"description": "A duplicate (event_id seen before): not counted twice"}},
    response_model=EventOut,
    response_model_exclude_unset=True,  # optional keys: absent, not null
)
async def post_event(
    request: Request,
    response: Response,
    body: EventIn,
    wait: WaitQuery = False,
    _: KeyInfo = require("ingest"),
) -> dict[str, Any]:
    # async: the request waits on the committer's future without taking a
    # threadpool thread (the commit itself runs in the committer thread).
    result = await svc(request).ingest_async([body], prefix="event")
    item = result.items[0]
    if item.status == "rejected":
        error = item.errors[0]
        raise Invalid(error["message"], error["field"].removeprefix("event[0]."))
    if item.status == "duplicate":
        response.status_code = 200
    out = (
        await run_in_threadpool(_after_ingest, request, result, wait)
        if wait
        else _notify(request, result)
    )
    return {**item.as_dict(), **({"scores": out["scores"]} if "scores" in out else {})}


BATCH_BODY = {
    "requestBody": {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/BatchIn"}}},
        "required": True,
    }
}


@ingest.post(
    "/events/batch",
    summary="Ingest up to 10,000 events; per-item results",
    description="Each item is validated alone: accepted, duplicate (same event_id seen "
    "before: not counted twice) or rejected (with the field; writes nothing). The answer "
    "comes after the accepted events are committed.",
    openapi_extra=BATCH_BODY,
    response_model=BatchOut,
    response_model_exclude_unset=True,  # optional keys: absent, not null
)
async def post_batch(
    request: Request, wait: WaitQuery = False, _: KeyInfo = require("ingest")
) -> Response:
    # The raw body goes to the committer thread, which parses and validates it in one
    # pass of pydantic's JSON validator: the event loop, which also answers score
    # reads, spends no time on a 1,000-event body. The answer is encoded directly
    # (no jsonable_encoder walk over 1,000 result items).
    body = await request.body()
    try:
        result = await svc(request).ingest_async(body, prefix="events")
    except event_service.BodyInvalid as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors]
        ) from None
    if wait:
        return JSONResponse(await run_in_threadpool(_after_ingest, request, result, wait))
    svc(request).notify()
    return Response(result.summary_json(), media_type="application/json")


@ingest.post(
    "/identify",
    summary="Link an anonymous visitor to a contact (earlier activity counts)",
    responses=answers(404, 409),
    response_model=IdentifyOut,
    response_model_exclude_unset=True,  # optional keys: absent, not null
)
def post_identify(
    request: Request, body: IdentifyIn, wait: WaitQuery = False, _: KeyInfo = require("ingest")
) -> dict[str, Any]:
    service = svc(request)
    out = event_service.identify(service.store, body.anonymous_id, body.contact_id, body.email)
    if wait:
        service.rescore_now([out["contact_id"]])
        out["score"] = _score_view(contact_service.get_contact(service.store, out["contact_id"]))
    service.notify()
    return out


# -- scores, leads, lifecycle --


def _score_view(contact: dict[str, Any]) -> dict[str, Any]:
    return {
        "contact_id": contact["contact_id"],
        "scores": contact["scores"],
        "grade": contact["grade"],
        "stage": contact["stage"],
        "surging": contact["surging"],
        "model_version": contact["model_version"],
        "as_of_us": contact["scored_as_of_us"],
        "pending_rescoring": contact["pending_rescoring"],
        "due_us": contact.get("due_us"),
        "probability": contact.get("probability"),
        "predictive_version": contact.get("predictive_version"),
    }


@scores.get(
    "/contacts/{contact_id}/score",
    summary="Scores, grades, stage and why",
    response_model=ScoreOut,
    response_model_exclude_unset=True,  # optional keys: absent, not null
)
def get_score(
    request: Request,
    contact_id: str,
    as_of: Annotated[
        AwareDatetime | None,
        Query(description="Recompute as of this moment (with zone) instead of the stored score"),
    ] = None,
    _: KeyInfo = require("read"),
) -> Any:
    service = svc(request)
    if as_of is None:
        detail = lead_service.current_score(service.store, contact_id)
        explanation = detail["explanation"] or {}
        # The hot read of CRMs: everything here is plain JSON already (stored JSON
        # columns, numbers, text), so it is encoded directly, without FastAPI's
        # jsonable_encoder walk.
        return JSONResponse(
            {
                **_score_view(detail),
                "contributions": explanation.get("contributions", []),
                "top_reasons": explanation.get("top_reasons", []),
                "surge_points": explanation.get("surge_points"),
                "probability_factors": detail.get("probability_factors"),
            }
        )
    contact_service.get_contact(service.store, contact_id)
    result = service.engine.score_at(contact_id, as_of)
    if result is None:
        raise NotFound("no active model: upload and activate one first", "model")
    return _live_view(result)


def _live_view(result: Any) -> dict[str, Any]:
    from leadscore.service.scoring import explanation

    return {
        "contact_id": result.contact_id,
        "as_of": result.as_of.isoformat(),
        "scores": {n: {"value": s.value, "grade": s.grade} for n, s in result.scores.items()},
        "grade": result.grade,
        "threshold_stage": result.stage,
        "surging": result.surging,
        **explanation(result),
    }


@scores.get(
    "/contacts/{contact_id}/history",
    summary="Score history (one snapshot per rescoring)",
    response_model=list[SnapshotOut],
)
def get_history(
    request: Request,
    contact_id: str,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    _: KeyInfo = require("read"),
) -> list[dict[str, Any]]:
    return lead_service.score_history(svc(request).store, contact_id, limit)


@scores.post(
    "/contacts/{contact_id}/stage",
    summary="Sales action: accept, reject, opportunity, won, lost",
    responses=answers(409),
    response_model=ContactOut,
)
def post_stage(
    request: Request, contact_id: str, body: StageIn, key: KeyInfo = require("ingest")
) -> dict[str, Any]:
    out = lead_service.stage_action(
        svc(request).store,
        contact_id,
        body.action,
        body.reason,
        body.value,
        body.currency,
        actor=key.name or f"key {key.id}",
        crm_connectors=svc(request).engine.crm_connectors,
    )
    svc(request).notify()
    return out


@scores.get(
    "/leads", summary="List leads: filter, sort by any score, paginate", response_model=LeadsPage
)
def get_leads(
    request: Request,
    grade: Annotated[list[str] | None, Query(description="Combined grade(s), e.g. A4")] = None,
    stage: Annotated[list[str] | None, Query()] = None,
    score: Annotated[str | None, Query(description="Score the range applies to")] = None,
    min_score: float | None = None,
    max_score: float | None = None,
    surging: bool | None = None,
    owner: str | None = None,
    account_id: str | None = None,
    sort: Annotated[
        str,
        Query(
            pattern=r"^[-+]?[A-Za-z_][A-Za-z0-9_]*$",
            description="e.g. -engagement, or -probability (the predictive model's)",
        ),
    ] = "-updated",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,  # SQL's OFFSET is 64-bit
    min_probability: Annotated[float | None, Query(ge=0, le=1)] = None,
    max_probability: Annotated[float | None, Query(ge=0, le=1)] = None,
    _: KeyInfo = require("read"),
) -> dict[str, Any]:
    return lead_service.list_leads(
        svc(request).store,
        grade=grade,
        stage=stage,
        score=score,
        min_score=min_score,
        max_score=max_score,
        surging=surging,
        owner=owner,
        account_id=account_id,
        sort=sort,
        limit=limit,
        offset=offset,
        min_probability=min_probability,
        max_probability=max_probability,
    )


@scores.get(
    "/grades", summary="How many leads hold each combined grade", response_model=GradeCounts
)
def get_grades(request: Request, _: KeyInfo = require("read")) -> dict[str, int]:
    return lead_service.grade_matrix(svc(request).store)


# -- models --


async def _model_text(request: Request) -> tuple[str, bool]:
    """A model as raw YAML (Content-Type application/yaml or text/*) or JSON {yaml, activate}."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind in ("application/yaml", "application/x-yaml", "text/yaml", "text/plain", "text/x-yaml"):
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise Invalid("the model is not UTF-8 text", "body") from None
        return text, request.query_params.get("activate", "false").lower() == "true"
    try:
        payload = await request.json()
    except ValueError:
        raise Invalid("malformed JSON (or send raw YAML as application/yaml)", "body") from None
    from pydantic import ValidationError

    try:
        body = ModelIn.model_validate(payload)
    except ValidationError as exc:
        found = event_service.clean_errors(exc.errors())
        error = Invalid(found[0]["message"], found[0]["field"] or "body")
        error.problems = [  # type: ignore[attr-defined]
            {"path": e["field"] or "body", "line": None, "message": e["message"]} for e in found
        ]
        raise error from None
    return body.yaml, body.activate


MODEL_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ModelIn"}},
            "application/yaml": {"schema": {"type": "string"}},
        },
        "required": True,
    }
}


@admin.post(
    "/models/validate",
    summary="Check a model; every problem with its path and line",
    openapi_extra=MODEL_BODY,
    response_model=ValidationOut,
    response_model_exclude_unset=True,  # optional keys: absent, not null
)
async def post_validate(request: Request, _: KeyInfo = require("read")) -> dict[str, Any]:
    text, _activate = await _model_text(request)
    return await run_in_threadpool(model_service.validate_model, text)


@admin.post(
    "/models",
    summary="Upload a model version (optionally activate it)",
    status_code=201,
    openapi_extra=MODEL_BODY,
    response_model=ModelUploaded,
    response_model_exclude_unset=True,  # optional keys: absent, not null
)
async def post_model(request: Request, _: KeyInfo = require("admin")) -> dict[str, Any]:
    text, activate = await _model_text(request)
    service = svc(request)
    out = await run_in_threadpool(model_service.upload_model, service.store, text)
    if activate:
        out["job"] = await run_in_threadpool(
            service.rescorer.activate, out["version"], service.settings.run_workers
        )
    return out


@admin.get("/models", summary="Model versions", response_model=list[ModelVersionOut])
def get_models(request: Request, _: KeyInfo = require("read")) -> list[dict[str, Any]]:
    return model_service.list_models(svc(request).store)


@admin.get(
    "/models/active",
    summary="The active model",
    responses=answers(404),
    response_model=ModelWithYaml,
)
def get_active_model(request: Request, _: KeyInfo = require("read")) -> dict[str, Any]:
    active = model_service.active_model(svc(request).store)
    if active is None:
        raise NotFound("no active model", "model")
    return active


@admin.get(
    "/models/{version}", summary="One model version with its YAML", response_model=ModelWithYaml
)
def get_model(request: Request, version: RowId, _: KeyInfo = require("read")) -> dict[str, Any]:
    return model_service.get_model(svc(request).store, version)


@admin.post(
    "/models/{version}/activate",
    summary="Activate a version; every contact is rescored in the background",
    status_code=202,
    response_model=JobOut,
)
def post_activate(
    request: Request, version: RowId, _: KeyInfo = require("admin")
) -> dict[str, Any]:
    service = svc(request)
    return service.rescorer.activate(version, background=service.settings.run_workers)


@admin.get("/jobs", summary="Recent rescoring jobs", response_model=list[JobOut])
def get_jobs(request: Request, _: KeyInfo = require("read")) -> list[dict[str, Any]]:
    return model_service.list_jobs(svc(request).store)


@admin.get("/jobs/{job_id}", summary="Progress of a rescoring job", response_model=JobOut)
def get_job(request: Request, job_id: RowId, _: KeyInfo = require("read")) -> dict[str, Any]:
    return model_service.get_job(svc(request).store, job_id)


# -- webhooks --


@admin.post(
    "/webhooks",
    summary="Subscribe a URL to lead events (the secret is shown once)",
    status_code=201,
    response_model=WebhookCreated,
)
def post_webhook(
    request: Request, body: WebhookIn, _: KeyInfo = require("admin")
) -> dict[str, Any]:
    service = svc(request)
    return webhook_service.create_webhook(
        service.store,
        body.url,
        body.events,
        body.secret,
        body.description,
        allow_networks=service.settings.allow_private_networks,
    )


@admin.get("/webhooks", summary="Webhook subscriptions", response_model=list[WebhookOut])
def get_webhooks(request: Request, _: KeyInfo = require("admin")) -> list[dict[str, Any]]:
    return webhook_service.list_webhooks(svc(request).store)


@admin.get("/webhooks/{webhook_id}", summary="One subscription", response_model=WebhookOut)
def get_webhook(
    request: Request, webhook_id: RowId, _: KeyInfo = require("admin")
) -> dict[str, Any]:
    return webhook_service.get_webhook(svc(request).store, webhook_id)


@admin.delete("/webhooks/{webhook_id}", summary="Unsubscribe", status_code=204)
def delete_webhook(request: Request, webhook_id: RowId, _: KeyInfo = require("admin")) -> Response:
    webhook_service.delete_webhook(svc(request).store, webhook_id)
    return Response(status_code=204)


@admin.get(
    "/webhooks/{webhook_id}/deliveries",
    summary="Delivery log, newest first",
    response_model=list[DeliveryOut],
)
def get_deliveries(
    request: Request,
    webhook_id: RowId,
    status: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    _: KeyInfo = require("admin"),
) -> list[dict[str, Any]]:
    return webhook_service.list_deliveries(svc(request).store, webhook_id, status, limit)


# -- keys --


@admin.post(
    "/keys", summary="Create an API key (shown once)", status_code=201, response_model=KeyCreated
)
def post_key(request: Request, body: KeyIn, _: KeyInfo = require("admin")) -> dict[str, Any]:
    return key_service.create_key(svc(request).store, list(body.scopes), body.name)


@admin.get("/keys", summary="API keys (never the secret)", response_model=list[KeyOut])
def get_keys(request: Request, _: KeyInfo = require("admin")) -> list[dict[str, Any]]:
    return key_service.list_keys(svc(request).store)


@admin.delete("/keys/{key_id}", summary="Revoke a key", status_code=204)
def delete_key(request: Request, key_id: RowId, _: KeyInfo = require("admin")) -> Response:
    key_service.revoke_key(svc(request).store, key_id)
    svc(request).keys.forget()
    return Response(status_code=204)


def routers() -> list[APIRouter]:
    return [health, data, ingest, scores, admin]
