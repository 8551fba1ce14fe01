"""Fuzzing: schemathesis drives every operation of the OpenAPI document, in process.

Each operation gets a bounded number of generated requests (valid and invalid) with an
admin key; every answer must not be a 5xx, must have a status code the document lists,
and its body must match the documented schema. It runs on SQLite and PostgreSQL (the
``api_schema`` fixture is parametrised by store).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import GOOD_FIT, MODEL_YAML, Api, event, make_api
from .test_email_hooks import MAILGUN_KEY, MANDRILL_KEY, MANDRILL_URL, SENDGRID_PUBLIC

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 12  # per operation and store: ~40 operations in well under a minute


@pytest.fixture
def fuzzed(db_url: str) -> Iterator[Api]:
    """An app with an active model and a few leads, so generated requests reach past 404,
    and the e-mail hooks configured, so they reach the signature check (an unconfigured
    hook answers 503 by design, so the sender retries once it is set up)."""
    hooks = {
        "sendgrid_public_key": SENDGRID_PUBLIC,
        "mailgun_signing_key": MAILGUN_KEY,
        "mandrill_webhook_key": MANDRILL_KEY,
        "mandrill_webhook_url": MANDRILL_URL,
    }
    for api in make_api(db_url, **hooks):
        api.activate(MODEL_YAML)
        api.contact("c1", **GOOD_FIT)
        r = api.post(
            "/v1/events/batch",
            "ingest",
            json={"events": [event("e1", type="form_submit", form="demo")]},
            params={"wait": "true"},
        )
        assert r.status_code == 200, r.text
        yield api


@pytest.fixture
def api_schema(fuzzed: Api) -> Any:
    schema = schemathesis.openapi.from_asgi("/openapi.json", fuzzed.client.app)
    return schema


lazy = schemathesis.pytest.from_fixture("api_schema")


@lazy.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    # No shrinking: a failure is reported as found, in seconds rather than minutes.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_answers_match_the_document(case: Any, fuzzed: Api) -> None:
    case.call_and_validate(headers=fuzzed.h("admin"), checks=CHECKS)
