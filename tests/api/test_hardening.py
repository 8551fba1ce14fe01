"""Each class of server error the fuzzer found is a 4xx naming the input now, on both stores;
the OpenAPI document tells the real error shape; per-key rate limits answer 429.

(NUL, NaN and surrogates in paths, queries and bodies are refused at the door by
``api/guard.py`` and ``leadscore.clean``, tested in ``test_hostile_input.py``.)"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from leadscore.api.limits import RateLimiter

from .conftest import Api, make_api


def _field(r: object) -> str:
    detail = r.json()["detail"]  # type: ignore[attr-defined]
    return str(detail[0]["field"])


# -- ids past 32/64 bits were an OverflowError in the driver ------------------------


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("get", "/v1/jobs/{}", "job_id"),
        ("get", "/v1/models/{}", "version"),
        ("post", "/v1/models/{}/activate", "version"),
        ("get", "/v1/webhooks/{}", "webhook_id"),
        ("delete", "/v1/webhooks/{}", "webhook_id"),
        ("get", "/v1/webhooks/{}/deliveries", "webhook_id"),
        ("delete", "/v1/keys/{}", "key_id"),
    ],
)
def test_ids_past_the_column_range_are_a_422(
    module_api: Api, method: str, path: str, field: str
) -> None:
    for number in (2**64, 2**63, 2**31, -(2**63) - 1):
        r = module_api.client.request(
            method.upper(), path.format(number), headers=module_api.h("admin")
        )
        assert r.status_code == 422, (number, r.text)
        assert _field(r) == field
    # The largest id that fits is simply not there.
    r = module_api.client.request(
        method.upper(), path.format(2**31 - 1), headers=module_api.h("admin")
    )
    assert r.status_code == 404


def test_a_huge_offset_is_a_422(module_api: Api) -> None:
    r = module_api.get("/v1/leads", params={"offset": 2**63})
    assert r.status_code == 422 and _field(r) == "offset"
    assert module_api.get("/v1/leads", params={"offset": 2**62}).json()["items"] == []


# -- durations past pandas' Timedelta range were an OverflowError --------------------


@pytest.mark.parametrize(
    ("path", "param"),
    [
        ("/v1/reports/attribution", "lookback_days"),
        ("/v1/reports/rfm", "window_days"),
        ("/v1/reports/funnel", "within_days"),
        ("/v1/reports/fresh-vs-nurtured", "fresh_days"),
        ("/v1/reports/goals", "sla_hours"),
    ],
)
def test_durations_are_bounded(module_api: Api, path: str, param: str) -> None:
    r = module_api.get(path, "read", params={param: 1e308})
    assert r.status_code == 422, r.text
    assert _field(r) == param


# -- the A/B report when no contact reached the stage: a TypeError -------------------


def test_abtest_reading_conversions_from_an_empty_store(api: Api) -> None:
    body = {
        "assignments": [
            {"contact_id": "a", "variant": "A"},
            {"contact_id": "b", "variant": "B"},
        ],
        "control": "A",
    }
    r = api.post("/v1/reports/abtest", "read", json=body)
    assert r.status_code == 200, r.text
    assert [(row["variant"], row["conversions"]) for row in r.json()["rows"]] == [
        ("A", 0),
        ("B", 0),
    ]
    dated = {
        **body,
        "assignments": [{**a, "assigned_at": "2024-01-01T00:00:00Z"} for a in body["assignments"]],
        "window_days": 30,
    }
    r = api.post("/v1/reports/abtest", "read", json=dated)
    assert r.status_code == 200, r.text
    r = api.post("/v1/reports/abtest", "read", json={**dated, "window_days": 1e308})
    assert r.status_code == 422 and _field(r) == "window_days"


# -- the OpenAPI document tells the truth about errors -------------------------------


def test_openapi_documents_the_real_error_shape_and_every_4xx(module_api: Api) -> None:
    doc = module_api.client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    item = schemas["ErrorItem"]
    assert {"field", "in", "message"} <= set(item["properties"])
    error = {"$ref": "#/components/schemas/ErrorOut"}
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            codes = set(op["responses"])
            assert "422" in codes, (method, path)
            if path.startswith("/v1/"):
                assert {"401", "403", "429"} <= codes, (method, path)
                assert "Retry-After" in op["responses"]["429"]["headers"]
            if "requestBody" in op:
                assert "413" in codes, (method, path)
            if "{" in path:
                assert "404" in codes, (method, path)
            for code, answer in op["responses"].items():
                if code.startswith("4"):
                    assert answer["content"]["application/json"]["schema"] == error
    assert "409" in doc["paths"]["/v1/identify"]["post"]["responses"]
    assert "201" in doc["paths"]["/v1/contacts"]["post"]["responses"]


# -- per-key rate limits --------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def limited(tmp_path: object) -> Iterator[tuple[Api, Clock]]:
    for api in make_api(str(tmp_path) + "/rate.db", rate_limit=2.0, rate_limit_burst=3):
        clock = Clock()
        api.client.app.state.rate_limiter = RateLimiter(2.0, 3, clock=clock)  # type: ignore[attr-defined]
        yield api, clock


def test_rate_limit_answers_429_with_retry_after_per_key(limited: tuple[Api, Clock]) -> None:
    api, clock = limited
    for _ in range(3):  # the burst
        assert api.get("/v1/models", "read").status_code == 200
    r = api.get("/v1/models", "read")
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"  # half a second to the next token, rounded up
    (problem,) = r.json()["detail"]
    assert problem["field"] is None and problem["message"].startswith("too many requests")
    # Another key has its own bucket.
    assert api.get("/v1/models", "admin").status_code == 200
    # Without a key the answer is still 401 (limits count authenticated requests).
    assert api.client.get("/v1/models").status_code == 401
    clock.now += 0.5  # one token back at 2/s
    assert api.get("/v1/models", "read").status_code == 200
    assert api.get("/v1/models", "read").status_code == 429
    clock.now += 10  # refills up to the burst, not beyond
    assert [api.get("/v1/models", "read").status_code for _ in range(4)] == [200, 200, 200, 429]


def test_rate_limiter_waits_and_can_be_turned_off() -> None:
    clock = Clock()
    limiter = RateLimiter(0.1, 1, clock=clock)
    assert limiter.take(7) == 0.0
    assert limiter.take(7) == pytest.approx(10.0)
    assert RateLimiter.retry_after(limiter.take(7)) == "10"
    off = RateLimiter(0, 1, clock=clock)
    assert all(off.take(7) == 0.0 for _ in range(100))
