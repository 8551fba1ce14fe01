"""What the OpenAPI document says about errors: the real shape, and every 4xx a route answers.

FastAPI documents a 422 as its own ``HTTPValidationError`` (``loc``, ``msg``, ``type``),
which the service never sends: every error answers ``{"detail": [{"field", "in",
"message"}]}`` (see ``api/app.py``). :func:`document_errors` rewrites the generated
document so clients (and schemathesis, which checks answers against it) see the truth:

* 422 on every operation, with :class:`ErrorOut`;
* 401 (no or bad key), 403 (key lacks the scope) and 429 (rate limit, with
  ``Retry-After``) on every ``/v1`` operation;
* 413 on every operation with a request body (see ``BodyLimit``), and 400 when that
  body cannot be decoded at all (FastAPI's answer to bytes that are not UTF-8);
* 404 on every operation with a path parameter (the thing it names is absent);
* 404/409 that other routes declare themselves with ``responses=answers(...)``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

ERROR_REF = "#/components/schemas/ErrorOut"


class ErrorItem(BaseModel):
    """One problem with the request."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")

    field: str | None = Field(
        description="The input that is wrong (e.g. 'fields.employees', 'contact_id', 'body'); "
        "null when the error is not about one input"
    )
    in_: str | None = Field(
        None,
        alias="in",
        description="Where that input is: body, query, path or header (validation errors)",
    )
    line: int | None = Field(None, description="Line in an uploaded model, when known")
    message: str


class ErrorOut(BaseModel):
    """Every 4xx answer: one item per problem."""

    detail: list[ErrorItem]


DESCRIPTIONS = {
    400: "The body could not be read at all (e.g. not UTF-8)",
    401: "No API key, or an invalid or revoked one",
    403: "The API key lacks the scope this route needs",
    404: "What the request names does not exist",
    409: "The request conflicts with the current state",
    413: "Request body too large",
    422: "Invalid input: each problem names its field",
    429: "Too many requests for this API key: wait Retry-After seconds",
}

HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    429: {
        "Retry-After": {
            "schema": {"type": "integer"},
            "description": "Seconds until the key may send again",
        }
    },
}


def error_response(status: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status in HEADERS:
        out["headers"] = HEADERS[status]
    return out


def answers(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """``responses=`` for a route decorator: the extra 4xx (404, 409) it can answer."""
    return {status: error_response(status) for status in statuses}


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Rewrite the generated document in place (and return it)."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            responses = operation.setdefault("responses", {})
            codes = {422}
            if path.startswith("/v1/"):
                codes |= {401, 403, 429}
            if "requestBody" in operation:
                codes |= {400, 413}
            if any(p.get("in") == "path" for p in operation.get("parameters", [])):
                codes.add(404)
            for code in codes:
                responses[str(code)] = error_response(code)
            for code, answer in responses.items():
                # Routes' own answers(...) carry the right content already; make sure
                # no FastAPI default (HTTPValidationError) is left anywhere.
                if code.startswith("4"):
                    answer["content"] = {"application/json": {"schema": {"$ref": ERROR_REF}}}
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema
