"""The API refuses hostile input quickly, with the field named and nothing stored.

Model text: alias bomb, deep nesting and a 10 MB model are refused in well under a
second without the process growing; a catastrophic regex runs in linear time.
Values: NaN, Infinity, NUL, lone surrogates and integers past 64 bits are a 422
naming the field on every entry point (bodies, path and query parameters).
"""

from __future__ import annotations

import time
import tracemalloc
from typing import Any

import pytest
from tests.spec.test_hostile_models import alias_bomb, deep_nesting, huge_model, regex_model

from .conftest import Api

SECONDS = 1.0
MB = 1024 * 1024


def _timed(call: Any) -> tuple[Any, float, int]:
    start = time.perf_counter()
    out = call()
    seconds = time.perf_counter() - start
    # Memory is measured on a second run: tracemalloc slows allocation ~10x.
    tracemalloc.start()
    call()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak


YAML = {"content-type": "application/yaml"}


@pytest.mark.parametrize(
    ("name", "text", "line"),
    [("alias bomb", alias_bomb(), 1), ("200-level nesting", deep_nesting(), 5)],
)
def test_validate_answers_hostile_yaml_quickly(
    module_api: Api, name: str, text: str, line: int
) -> None:
    def validate() -> Any:
        return module_api.client.post(
            "/v1/models/validate", content=text, headers={**module_api.h("read"), **YAML}
        )

    validate()  # the first request of a module pays for imports and warm-up
    start = time.perf_counter()
    r = validate()
    assert time.perf_counter() - start < SECONDS, name
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["valid"] is False and out["problems"][0]["line"] == line
    _, _, peak = _timed(validate)  # measured apart: tracemalloc slows allocation down
    assert peak < 20 * MB, name  # the bomb used to grow the process by gigabytes
    upload = module_api.post("/v1/models", json={"yaml": text})
    assert upload.status_code == 422 and upload.json()["detail"][0]["line"] == line


def test_a_10_mb_model_is_a_413_before_parsing(module_api: Api) -> None:
    text = huge_model()
    r, seconds, _ = _timed(
        lambda: module_api.client.post(
            "/v1/models/validate", content=text, headers={**module_api.h("read"), **YAML}
        )
    )
    assert r.status_code == 413, r.text
    assert r.json()["detail"][0]["field"] == "yaml"
    assert "1,000,000 bytes" in r.json()["detail"][0]["message"]
    assert seconds < 2 * SECONDS  # includes sending 10 MB through the test client
    r = module_api.client.post("/v1/models", content=text, headers={**module_api.h(), **YAML})
    assert r.status_code == 413
    assert all(not m["yaml"] for m in module_api.get("/v1/models").json() if "yaml" in m)


def test_a_catastrophic_regex_scores_a_long_value_quickly(api: Api) -> None:
    r = api.post("/v1/models", json={"yaml": regex_model("(a+)+$"), "activate": True})
    assert r.status_code == 201, r.text
    api.service.rescorer.activate(r.json()["version"], background=False)
    api.contact("slow", title="a" * 50_000 + "!")
    _, seconds, _ = _timed(lambda: api.service.rescore_now(["slow"]))
    assert seconds < SECONDS
    assert api.get("/v1/contacts/slow/score", "read").json()["scores"]["fit"]["value"] == 0


def test_a_regex_re2_cannot_run_is_refused_naming_the_rule(module_api: Api) -> None:
    r = module_api.post("/v1/models/validate", "read", json={"yaml": regex_model("(a)\\1")})
    problem = r.json()["problems"][0]
    assert problem["path"].startswith("scores.fit.rules[0]") and problem["line"] == 4
    assert "back-reference" in problem["message"]


# ------------------------------------------------------------ values at the door --

EVENT = {"event_id": "e1", "type": "page_view", "timestamp": "2026-01-01T00:00:00Z"}

BODIES = [
    ("/v1/contacts", '{"contact_id":"c1","fields":{"employees":NaN}}', "fields.employees"),
    ("/v1/contacts", '{"contact_id":"c1","fields":{"employees":Infinity}}', "fields.employees"),
    ("/v1/contacts", '{"contact_id":"c1","fields":{"employees":-Infinity}}', "fields.employees"),
    ("/v1/contacts", '{"contact_id":"c\\u00001"}', "contact_id"),
    ("/v1/contacts", '{"contact_id":"c1","owner":"\\ud800"}', "owner"),
    ("/v1/contacts", '{"contact_id":"c1","fields":{"title":"V\\u0000P"}}', "fields.title"),
    ("/v1/contacts", '{"contact_id":"c1","fields":{"title":"\\udfff"}}', "fields.title"),
    ("/v1/contacts", '{"contact_id":"c1","fields":{"a\\u0000b":"x"}}', "fields.a\\u0000b.[key]"),
    ("/v1/accounts/a1", '{"name":"Acme","fields":{"size":NaN}}', "fields.size"),
    ("/v1/contacts/c1", '{"owner":"a\\u0000"}', "owner"),
    (
        "/v1/events",
        '{"event_id":"e1","type":"page_view","timestamp":"2026-01-01T00:00:00Z",'
        '"contact_id":"c1","properties":{"url":"/p\\u0000"}}',
        "properties.url",
    ),
    (
        "/v1/events",
        '{"event_id":"e1","type":"page_view","timestamp":"2026-01-01T00:00:00Z",'
        '"contact_id":"c1","properties":{"amount":NaN}}',
        "properties.amount",
    ),
    (
        "/v1/events",
        '{"event_id":"e\\ud800","type":"page_view","timestamp":"2026-01-01T00:00:00Z",'
        '"contact_id":"c1"}',
        "event_id",
    ),
    ("/v1/identify", '{"anonymous_id":"a\\u0000","contact_id":"c1"}', "anonymous_id"),
    ("/v1/contacts/c1/stage", '{"action":"won","value":Infinity}', "value"),
    ("/v1/contacts/c1/stage", '{"action":"lost","reason":"no\\u0000budget"}', "reason"),
]


@pytest.mark.parametrize(("path", "raw", "field"), BODIES)
def test_bad_values_in_bodies_are_a_422_naming_the_field(
    module_api: Api, path: str, raw: str, field: str
) -> None:
    method = (
        module_api.client.put
        if path.startswith(("/v1/accounts", "/v1/contacts/c1")) and (not path.endswith("/stage"))
        else module_api.client.post
    )
    r = method(path, content=raw, headers={**module_api.h(), "content-type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["field"] == field and detail[0]["in"] == "body", detail
    assert any(word in detail[0]["message"] for word in ("finite", "NUL", "surrogate", "64-bit")), (
        detail
    )


def test_nothing_is_stored_when_a_value_is_refused(module_api: Api) -> None:
    raw = '{"contact_id":"never","fields":{"employees":NaN}}'
    r = module_api.client.post(
        "/v1/contacts", content=raw, headers={**module_api.h(), "content-type": "application/json"}
    )
    assert r.status_code == 422
    assert module_api.get("/v1/contacts/never", "read").status_code == 404


def test_batch_items_with_bad_values_are_rejected_naming_the_field(module_api: Api) -> None:
    raw = (
        '{"events":['
        '{"event_id":"b1","type":"t","timestamp":"2026-01-01T00:00:00Z","contact_id":"c1",'
        '"properties":{"n":NaN}},'
        '{"event_id":"b2","type":"t","timestamp":"2026-01-01T00:00:00Z","contact_id":"c1",'
        '"properties":{"u":"\\ud800"}},'
        '{"event_id":"b\\u00003","type":"t","timestamp":"2026-01-01T00:00:00Z","contact_id":"c1"}'
        "]}"
    )
    r = module_api.client.post(
        "/v1/events/batch",
        content=raw,
        headers={**module_api.h("ingest"), "content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["accepted"] == 0 and out["rejected"] == 3
    fields = [item["errors"][0]["field"] for item in out["results"]]
    assert fields == ["events[0].properties.n", "events[1].properties.u", "events[2].event_id"]


@pytest.mark.parametrize(
    ("url", "field", "where"),
    [
        ("/v1/jobs/99999999999999999999999", "job_id", "path"),
        ("/v1/models/18446744073709551616", "version", "path"),
        ("/v1/webhooks/-99999999999999999999/deliveries", "webhook_id", "path"),
        ("/v1/contacts/c%00x", "contact_id", "path"),
        ("/v1/contacts/c%00x/score", "contact_id", "path"),
        ("/v1/leads?min_score=nan", "min_score", "query"),
        ("/v1/leads?max_score=-inf", "max_score", "query"),
        ("/v1/leads?owner=a%00b", "owner", "query"),
        ("/v1/leads?offset=99999999999999999999", "offset", "query"),
        ("/v1/reports/funnel?fresh_days=inf", "fresh_days", "query"),
        ("/v1/reports/goals?revenue=Infinity", "revenue", "query"),
        ("/v1/reports/attribution?touch=camp%00aign", "touch", "query"),
    ],
)
def test_bad_parameters_are_a_422_naming_them(
    module_api: Api, url: str, field: str, where: str
) -> None:
    r = module_api.get(url)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0] == {
        "field": field,
        "in": where,
        "message": r.json()["detail"][0]["message"],
    }
    assert r.json()["detail"][0]["message"]


def test_ids_are_range_checked_against_the_id_columns(module_api: Api) -> None:
    # Ids are INTEGER columns (32 bits on PostgreSQL): in range -> 404, past -> 422.
    assert module_api.get(f"/v1/jobs/{2**31 - 1}").status_code == 404
    assert module_api.get(f"/v1/models/{2**31 - 1}").status_code == 404
    assert module_api.get(f"/v1/webhooks/{2**31 - 1}").status_code == 404
    r = module_api.get(f"/v1/jobs/{2**31}")
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "job_id"
    r = module_api.get(f"/v1/leads?limit=10&offset={2**62}", "read")
    assert r.status_code == 200, r.text


def test_an_integer_past_64_bits_in_a_field_is_kept_as_a_finite_float(module_api: Api) -> None:
    out = module_api.contact("big", n=123456789012345678901234567890)
    assert out["fields"]["n"] == pytest.approx(1.2345678901234568e29)
    raw = '{"contact_id":"big","fields":{"n":1e400}}'  # beyond a double: infinite
    r = module_api.client.post(
        "/v1/contacts", content=raw, headers={**module_api.h(), "content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "fields.n"


def test_text_that_is_fine_still_goes_in(module_api: Api) -> None:
    out = module_api.contact("fine", title="Zoë \U0001f600 nan", employees=1e300, n=2**63 - 1)
    assert out["contact_id"] == "fine"
    r = module_api.get("/v1/leads?owner=nan&score=fit&min_score=-1e300", "read")
    assert r.status_code == 200, r.text
