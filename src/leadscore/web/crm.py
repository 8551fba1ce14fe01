"""The dashboard's CRM page: queued updates and dead letters, with a retry button.

Dead letters hold the record that was refused (personal data) and retrying
changes what is sent, so the page needs the ``admin`` scope like ``/v1/crm``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from leadscore.crm import outbox
from leadscore.service.errors import NotFound
from leadscore.web import backend
from leadscore.web.routes import (
    PREFIX,
    MissingScope,
    SignInRequired,
    _check_csrf,
    _forbidden,
    _form,
    _page,
    _to_signin,
)

router = APIRouter(prefix=PREFIX, include_in_schema=False)
SCOPE = "admin"
SHOWN = 200


@router.get("/crm", name="crm")
def crm_page(request: Request) -> Response:
    try:
        page = _page(request, scope=SCOPE)
    except SignInRequired:
        return _to_signin(request)
    except MissingScope as exc:
        return _forbidden(exc.page, f"The CRM page needs a key with the '{exc.scope}' scope.")
    service = backend.service(request)
    letters = outbox.dead_letters(service.store, limit=SHOWN)
    for letter in letters:
        letter["when"] = datetime.fromtimestamp(letter["updated_us"] / 1_000_000, UTC)
    retried = request.query_params.get("retried")
    return page.render(
        "crm.html",
        "crm",
        configured=list(service.crm.connectors) if service.crm is not None else [],
        queues=outbox.counts(service.store),
        letters=letters,
        shown=SHOWN,
        retried=int(retried) if retried and retried.isdigit() else None,
    )


@router.post("/crm/retry", name="crm_retry")
async def crm_retry(request: Request) -> Response:
    form = await _form(request)
    return await run_in_threadpool(_crm_retry, request, form)


def _crm_retry(request: Request, form: dict[str, str]) -> Response:
    try:
        page = _page(request, scope=SCOPE)
    except SignInRequired:
        return _to_signin(request)
    except MissingScope as exc:
        return _forbidden(exc.page, f"Retrying needs a key with the '{exc.scope}' scope.")
    if not _check_csrf(page, form):
        return _forbidden(page, "The form expired; reload the page and try again.")
    store = backend.store(request)
    letter = form.get("letter", "")
    try:
        if letter.isdigit():
            n = outbox.retry_dead(store, letter_id=int(letter))
        else:
            n = outbox.retry_dead(store)
    except NotFound:
        n = 0  # retried from another tab meanwhile
    return RedirectResponse(f"{page.url('crm')}?retried={n}", status_code=303)
