"""Scoring models: validate, upload, list, activate with a background rescoring job."""

from __future__ import annotations

import time

from .conftest import GOOD_FIT, MODEL_YAML, Api, event, make_api

BROKEN = """\
scores:
  fit:
    rules:
      - {id: a, when: {field: title, equals: x}, points: lots}
      - {id: b, when: {field: title, equls: x}, points: 1}
"""


def test_validate_reports_every_problem_with_path_and_line(api: Api) -> None:
    r = api.post("/v1/models/validate", "read", json={"yaml": BROKEN})
    assert r.status_code == 200
    out = r.json()
    assert out["valid"] is False
    paths = {(p["path"], p["line"]) for p in out["problems"]}
    assert ("scores.fit.rules[0].points", 4) in paths
    assert any(
        p["path"].startswith("scores.fit.rules[1].when") and p["line"] == 5 for p in out["problems"]
    )
    ok = api.post("/v1/models/validate", "read", json={"yaml": MODEL_YAML}).json()
    assert ok["valid"] is True and ok["scores"] == ["fit", "engagement"]
    assert ok["stages"] == ["lead", "mql", "sql"]


def test_upload_invalid_model_is_refused_with_paths(api: Api) -> None:
    r = api.post("/v1/models", json={"yaml": BROKEN})
    assert r.status_code == 422
    fields = [d["field"] for d in r.json()["detail"]]
    assert "scores.fit.rules[0].points" in fields
    assert all(d["line"] for d in r.json()["detail"])
    r = api.post("/v1/models", json={"yaml": "scores: [unclosed"})
    assert r.status_code == 422
    r = api.post("/v1/models", json={"yml": MODEL_YAML})
    assert r.status_code == 422
    assert {d["field"] for d in r.json()["detail"]} == {"yml", "yaml"}
    r = api.client.post(
        "/v1/models", content=b"{", headers={**api.h(), "Content-Type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "body"
    assert api.get("/v1/models", "read").json() == []


def test_upload_raw_yaml_list_get_and_activate(api: Api) -> None:
    r = api.client.post(
        "/v1/models",
        content=MODEL_YAML.encode(),
        headers={**api.h(), "Content-Type": "application/yaml"},
    )
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert v1["version"] == 1 and v1["active"] is False and v1["name"] == "b2b-saas-example"
    assert api.get("/v1/models/active", "read").status_code == 404
    stricter = MODEL_YAML.replace('mql: {fit: ">= 40", engagement: ">= 50"}', 'mql: {fit: ">= 95"}')
    v2 = api.post("/v1/models", json={"yaml": stricter}).json()
    assert [m["version"] for m in api.get("/v1/models", "read").json()] == [1, 2]
    assert api.get("/v1/models/2", "read").json()["yaml"] == stricter
    assert api.get("/v1/models/9", "read").status_code == 404
    assert api.get("/v1/models/x", "read").status_code == 422

    api.contact("c1", **GOOD_FIT)
    api.post("/v1/events", "ingest", json=event("e1", type="form_submit", form="demo"))
    api.post("/v1/events", "ingest", json=event("e2", url="/pricing"))
    job = api.post(f"/v1/models/{v1['version']}/activate")
    assert job.status_code == 202
    assert job.json()["model_version"] == 1 and job.json()["total"] == 1
    assert api.get(f"/v1/jobs/{job.json()['id']}", "read").json()["status"] == "done"
    assert api.get("/v1/contacts/c1", "read").json()["stage"] == "mql"
    api.post(f"/v1/models/{v2['version']}/activate")
    assert api.get("/v1/models/active", "read").json()["version"] == 2
    c1 = api.get("/v1/contacts/c1", "read").json()
    assert c1["model_version"] == 2
    assert c1["stage"] == "mql"  # thresholds never demote
    assert api.post("/v1/models/42/activate").status_code == 404
    assert api.get("/v1/jobs/42", "read").status_code == 404
    assert len(api.get("/v1/jobs", "read").json()) == 2


def test_activation_rescoring_runs_in_the_background_with_progress(db_url: str) -> None:
    for api in make_api(db_url, run_workers=True, rescore_chunk=20):
        v = api.post("/v1/models", json={"yaml": MODEL_YAML}).json()["version"]
        for i in range(150):
            body = {"contact_id": f"p{i:03d}", "fields": GOOD_FIT | {"email": None}}
            api.post("/v1/contacts", "ingest", json=body)
        job = api.post(f"/v1/models/{v}/activate").json()
        assert job["total"] == 150
        seen = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = api.get(f"/v1/jobs/{job['id']}", "read").json()
            seen.append(state["done"])
            if state["status"] == "done":
                break
            time.sleep(0.02)
        assert state["status"] == "done" and state["done"] == 150 and state["progress"] == 1.0
        assert seen == sorted(seen)
        listed = api.get("/v1/leads", "read", params={"limit": 1000}).json()["items"]
        assert all(c["model_version"] == v for c in listed)
