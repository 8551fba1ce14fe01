"""``/v1/reports``: the analytics figures through the API, on SQLite and PostgreSQL.

The store is seeded through the API with the service's clock pinned, so every
lifecycle transition has a known date. The same history as the funnel fixture of
tests/analytics (as of 2024-04-01, times UTC):

    contact  created     source  lifecycle (how it happens through the API)
    c1       2023-12-01  ads     mql 01-05 (demo form), sql 01-10 (accept), won 02-01 (1000)
    c2       2024-01-15  seo     mql 01-20 (demo form), lost 02-01
    c3       2024-03-01  ads     mql 03-03 (demo form)
    c4       2024-01-01  seo     mql 03-10 (demo form), won 03-20 (500; SQL skipped)
    c5       2024-02-10  ads     one page view, never qualified

Figures are checked against values worked out by hand, and against the CLI and
the analytics functions run on the same history written as CSV files.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from leadscore.analytics import (
    ab_test,
    funnel_report,
    goal_plan,
    measured_rates,
    sla_follow_up,
    threshold_for_capacity,
)
from leadscore.analytics.inputs import CONTACTS, SCORES, STAGES, read_table
from leadscore.cli.main import app as cli

from .conftest import Api

AS_OF = "2024-04-01"
MODEL = """
name: reports-test
scores:
  engagement:
    rules:
      - {id: demo, on: form_submit, points: 100, description: Requested a demo}
lifecycle:
  mql: {engagement: ">= 50"}
"""
CONTACTS_ROWS = [
    ("c1", "2023-12-01", "ads"),
    ("c2", "2024-01-15", "seo"),
    ("c3", "2024-03-01", "ads"),
    ("c4", "2024-01-01", "seo"),
    ("c5", "2024-02-10", "ads"),
]
# event_id, contact, type, timestamp, campaign; form_submit rows make the contact an MQL.
EVENTS = [
    ("e1", "c1", "page_view", "2024-01-01T10:00:00", "a"),
    ("e2", "c1", "email_click", "2024-01-03T00:00:00", "b"),
    ("e4", "c1", "call", "2024-01-05T12:00:00", None),
    ("e9", "c1", "page_view", "2024-02-15T00:00:00", "z"),  # after c1 won: never credited
    ("e5", "c2", "page_view", "2024-01-10T00:00:00", "a"),
    ("e7", "c3", "email_click", "2024-03-02T00:00:00", "b"),
    ("e10", "c4", "page_view", "2024-03-05T00:00:00", "c"),
    ("e12", "c5", "page_view", "2024-02-20T00:00:00", None),
    ("e3", "c1", "form_submit", "2024-01-05T00:00:00", None),
    ("e6", "c2", "form_submit", "2024-01-20T00:00:00", None),
    ("e8", "c3", "form_submit", "2024-03-03T00:00:00", None),
    ("e11", "c4", "form_submit", "2024-03-10T00:00:00", None),
]
# Sales actions: contact, action, when, value, reason.
ACTIONS = [
    ("c1", "accept", "2024-01-10", None, None),
    ("c1", "won", "2024-02-01", 1000.0, None),
    ("c2", "lost", "2024-02-01", None, "no budget"),
    ("c4", "won", "2024-03-20", 500.0, None),
]


def _us(text: str) -> int:
    return int(pd.Timestamp(text, tz="UTC").value // 1_000)


@pytest.fixture(scope="module")
def seeded(module_api: Api) -> Iterator[Api]:
    """Seed the store through the API, with the service clock at each action's date."""
    api = module_api
    clock = {"us": _us("2023-11-01")}

    def now_us() -> int:
        return clock["us"]

    with pytest.MonkeyPatch.context() as mp:
        for module in ("contacts", "leads", "scoring"):
            mp.setattr(f"leadscore.service.{module}.now_us", now_us)
        api.activate(MODEL)
        for cid, created, source in CONTACTS_ROWS:
            clock["us"] = _us(created)
            api.contact(cid, created_at=created, source=source, vip=cid in ("c1", "c4"))
        for eid, cid, kind, ts, campaign in EVENTS:
            clock["us"] = _us(ts)
            body: dict[str, Any] = {"event_id": eid, "contact_id": cid, "type": kind}
            body["timestamp"] = ts + "Z"
            props = {"campaign": campaign} if campaign else {}
            if kind == "form_submit":
                props["form"] = "demo"
            if props:
                body["properties"] = props
            r = api.post("/v1/events?wait=true", "ingest", json=body)
            assert r.status_code in (200, 201, 202), r.text
        for cid, action, when, value, reason in ACTIONS:
            clock["us"] = _us(when)
            r = api.post(
                f"/v1/contacts/{cid}/stage",
                "ingest",
                json={"action": action, "value": value, "reason": reason},
            )
            assert r.status_code == 200, r.text
    yield api


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The same history as CSV files, written from the table above (not from the store)."""
    d = tmp_path_factory.mktemp("exported")
    pd.DataFrame(CONTACTS_ROWS, columns=["contact_id", "created_at", "source"]).to_csv(
        d / "contacts.csv", index=False
    )
    stage_rows = [(cid, "lead", created, None) for cid, created, _ in CONTACTS_ROWS]
    stage_rows += [
        (cid, "mql", ts, None) for _, cid, kind, ts, _ in EVENTS if kind == "form_submit"
    ]
    to = {"accept": "sql", "won": "customer", "lost": "lost"}
    stage_rows += [(cid, to[a], when, value) for cid, a, when, value, _ in ACTIONS]
    pd.DataFrame(stage_rows, columns=["contact_id", "stage", "timestamp", "value"]).to_csv(
        d / "stages.csv", index=False
    )
    pd.DataFrame(
        EVENTS, columns=["event_id", "contact_id", "type", "timestamp", "campaign"]
    ).to_csv(d / "events.csv", index=False)
    pd.DataFrame(
        {"contact_id": ["c1", "c2", "c3", "c4", "c5"], "score": [100, 100, 100, 100, 0]}
        | {"scored_at": [c[1] for c in CONTACTS_ROWS]}
    ).to_csv(d / "scores.csv", index=False)
    return {"dir": d} | {k: d / f"{k}.csv" for k in ("contacts", "stages", "events", "scores")}


def _cli(*args: str) -> str:
    result = CliRunner().invoke(cli, ["report", *args])
    assert result.exit_code == 0, result.output
    return result.output


def _same(api_rows: list[dict[str, Any]], frame: pd.DataFrame, columns: list[str]) -> None:
    """The API rows equal the frame's rows on ``columns`` (numbers to 1e-9, NaN = null)."""
    assert len(api_rows) == len(frame), (api_rows, frame)
    for got, (_, want) in zip(api_rows, frame.iterrows(), strict=True):
        for c in columns:
            w = want[c]
            if isinstance(w, float) and math.isnan(w):
                assert got[c] is None, (c, got)
            elif isinstance(w, int | float) and not isinstance(w, bool):
                assert got[c] == pytest.approx(float(w), abs=1e-9), (c, got, w)
            else:
                assert str(got[c]) == str(w), (c, got, w)


def _get(api: Api, path: str, **params: Any) -> dict[str, Any]:
    r = api.get(path, "read", params={"as_of": AS_OF, **params})
    assert r.status_code == 200, r.text
    return dict(r.json())


# ------------------------------------------------------------------ funnel --


def test_funnel_hand_computed(seeded: Api) -> None:
    body = _get(seeded, "/v1/reports/funnel")
    assert body["funnel"] == ["lead", "mql", "sql", "customer"]
    st = {r["stage"]: r for r in body["stages"]}
    # c4 skipped SQL: it counts as having passed it (funnels only narrow).
    assert {k: v["reached"] for k, v in st.items()} == {
        "lead": 5,
        "mql": 4,
        "sql": 2,
        "customer": 2,
    }
    assert st["mql"]["rate_from_previous"] == pytest.approx(0.8)
    assert st["customer"]["rate_from_first"] == pytest.approx(0.4)
    # lead -> mql: c1 35 d, c2 5 d, c3 2 d, c4 69 d; median 20 d.
    assert st["mql"]["median_days_from_previous"] == pytest.approx(20.0)
    # Only recorded SQLs count for time: c1 mql 01-05 -> sql 01-10.
    assert st["sql"]["median_days_from_previous"] == pytest.approx(5.0)
    conv = {(r["from_stage"], r["to_stage"]): r for r in body["conversions"]}
    mc = conv[("mql", "customer")]
    assert (mc["entered"], mc["converted"], mc["rate"]) == (4, 2, 0.5)
    # mql -> customer: c1 27 d, c4 10 d.
    assert mc["median_days"] == pytest.approx(18.5)
    series = [
        r for r in body["by_period"] if (r["from_stage"], r["to_stage"]) == ("mql", "customer")
    ]
    # Cohorts by MQL month; February had no MQL: kept, with an undefined rate.
    assert [(r["period"], r["entered"], r["converted"]) for r in series] == [
        ("2023-12", 0, 0),
        ("2024-01", 2, 1),
        ("2024-02", 0, 0),
        ("2024-03", 2, 1),
    ]
    assert series[2]["rate"] is None
    assert series[1]["period_start"] == "2024-01-01T00:00:00+00:00"
    fresh = {r["segment"]: r for r in body["fresh_vs_nurtured"]}
    assert (fresh["fresh"]["qualified"], fresh["fresh"]["converted"]) == (2, 0)
    assert (fresh["nurtured"]["qualified"], fresh["nurtured"]["converted"]) == (2, 2)
    assert "cohorts" not in body


def test_funnel_options_by_funnel_within_cohorts(seeded: Api) -> None:
    body = _get(
        seeded,
        "/v1/reports/funnel",
        by="source",
        funnel="mql,customer",
        within_days=15,
        cohorts=True,
    )
    assert body["by"] == ["source"] and body["funnel"] == ["mql", "customer"]
    conv = {r["source"]: r for r in body["conversions"]}
    # Within 15 days of MQL: c4 (10 d) counts, c1 (27 d) does not.
    assert (conv["ads"]["entered"], conv["ads"]["converted"]) == (2, 0)
    assert (conv["seo"]["entered"], conv["seo"]["converted"]) == (2, 1)
    assert body["fresh_vs_nurtured"] is None  # no lead stage in this funnel
    q = _get(seeded, "/v1/reports/funnel", period="quarter", cohorts="true")
    cohorts = {r["period"]: r for r in q["cohorts"]}
    # Created in Q4 2023: c1 (won); Q1 2024: c2, c3, c4, c5.
    assert (cohorts["2023-Q4"]["leads"], cohorts["2023-Q4"]["customer"]) == (1, 1)
    assert (cohorts["2024-Q1"]["leads"], cohorts["2024-Q1"]["mql"]) == (4, 3)
    # The contact row's own columns break down too, e.g. the lifecycle stage now.
    now = _get(seeded, "/v1/reports/funnel", by="current_stage")
    lead_mql = {
        r["current_stage"]: (r["entered"], r["converted"])
        for r in now["conversions"]
        if (r["from_stage"], r["to_stage"]) == ("lead", "mql")
    }
    assert lead_mql == {"customer": (2, 2), "lead": (1, 0), "lost": (1, 1), "mql": (1, 1)}
    # A yes/no profile field reads "true"/"false" on both stores (SQLite's JSON says 1/0).
    vip = _get(seeded, "/v1/reports/funnel", by="vip")
    won = {r["vip"]: r["reached"] for r in vip["stages"] if r["stage"] == "customer"}
    assert won == {"true": 2, "false": 0}
    early = _get(seeded, "/v1/reports/funnel", as_of="2024-01-31")
    # As of 31 January nobody has won yet: the default funnel shows the stages reached.
    assert early["funnel"] == ["lead", "mql", "sql"]
    assert {r["stage"]: r["reached"] for r in early["stages"]} == {"lead": 3, "mql": 2, "sql": 1}


def test_funnel_matches_the_cli_on_files(seeded: Api, files: dict[str, Path]) -> None:
    out = files["dir"] / "funnel.csv"
    _cli(
        "funnel", "--stages", str(files["stages"]), "--contacts", str(files["contacts"]),
        "--as-of", AS_OF, "--by", "source", "--csv", str(out),
    )  # fmt: skip
    cli_rows = pd.read_csv(out)
    body = _get(seeded, "/v1/reports/funnel", by="source")
    _same(body["by_period"], cli_rows, ["source", "period", "from_stage", "to_stage", "entered"])
    _same(body["by_period"], cli_rows, ["converted", "rate", "median_days"])
    stages = read_table(files["stages"], STAGES)
    people = read_table(files["contacts"], CONTACTS, require=["source"])
    report = funnel_report(stages, people, as_of=AS_OF, by="source")
    _same(body["stages"], report.stages, list(report.stages.columns))
    _same(body["conversions"], report.conversions, list(report.conversions.columns))


def test_store_exported_as_files_gives_the_same_cli_figures(
    seeded: Api, files: dict[str, Path]
) -> None:
    """The frames the API reads, written out, equal the hand-written files for the CLI."""
    from leadscore.service.reports import event_frame, stage_frames

    store = seeded.service.store
    stages, people = stage_frames(store, ["source"])
    d = files["dir"] / "from-store"
    d.mkdir(exist_ok=True)
    stages.to_csv(d / "stages.csv", index=False)
    people.to_csv(d / "contacts.csv", index=False)
    event_frame(store, ["campaign"]).to_csv(d / "events.csv", index=False)
    outputs = {}
    for name, src in (("files", files["dir"]), ("store", d)):
        out = files["dir"] / f"export-{name}.csv"
        _cli(
            "funnel", "--stages", str(src / "stages.csv"), "--contacts", str(src / "contacts.csv"),
            "--as-of", AS_OF, "--by", "source", "--csv", str(out),
        )  # fmt: skip
        att = files["dir"] / f"export-att-{name}.csv"
        _cli(
            "attribution", "--events", str(src / "events.csv"), "--stages", str(src / "stages.csv"),
            "--as-of", AS_OF, "--csv", str(att),
        )  # fmt: skip
        outputs[name] = (pd.read_csv(out), pd.read_csv(att))
    pd.testing.assert_frame_equal(outputs["files"][0], outputs["store"][0])
    pd.testing.assert_frame_equal(outputs["files"][1], outputs["store"][1])


# ---------------------------------------------------------------- velocity --


def test_velocity_hand_computed_and_as_cli(seeded: Api, files: dict[str, Path]) -> None:
    body = _get(seeded, "/v1/reports/velocity")
    rows = [(r["period"], r["qualified"], r["previous"], r["lvr_pct"]) for r in body["rows"]]
    # MQLs: January 2, February 0, March 2. LVR from zero is undefined, not 0 % or inf.
    assert rows == [("2024-01", 2, 0, None), ("2024-02", 0, 2, -100.0), ("2024-03", 2, 0, None)]
    assert all(r["complete"] for r in body["rows"])
    out = files["dir"] / "velocity.csv"
    _cli("velocity", "--stages", str(files["stages"]), "--as-of", AS_OF, "--csv", str(out))
    _same(body["rows"], pd.read_csv(out), ["period", "qualified", "previous", "change", "lvr_pct"])
    q = _get(seeded, "/v1/reports/velocity", period="quarter", stage="customer", start="2023-10-01")
    assert [(r["period"], r["qualified"]) for r in q["rows"]] == [("2023-Q4", 0), ("2024-Q1", 2)]


def test_fresh_vs_nurtured_route(seeded: Api) -> None:
    body = _get(seeded, "/v1/reports/fresh-vs-nurtured")
    t = {r["segment"]: r for r in body["rows"]}
    # Ages at MQL: c1 35 d (nurtured), c2 5 d, c3 2 d (fresh), c4 69 d (nurtured).
    assert t["fresh"]["share_of_qualified"] == pytest.approx(0.5)
    assert t["nurtured"]["share_of_conversions"] == pytest.approx(1.0)
    assert t["fresh"]["share_of_conversions"] == pytest.approx(0.0)
    assert t["nurtured"]["conversion_rate"] == pytest.approx(1.0)
    assert t["fresh"]["median_age_days"] == pytest.approx(3.5)
    # With N = 40 days c1 (35 d) is fresh too, and brings its conversion along.
    wide = {
        r["segment"]: r
        for r in _get(seeded, "/v1/reports/fresh-vs-nurtured", fresh_days=40)["rows"]
    }
    assert (wide["fresh"]["qualified"], wide["fresh"]["converted"]) == (3, 1)
    assert wide["fresh"]["share_of_conversions"] == pytest.approx(0.5)


# ------------------------------------------------------ attribution and RFM --


def test_attribution_hand_computed_and_as_cli(seeded: Api, files: dict[str, Path]) -> None:
    body = _get(seeded, "/v1/reports/attribution", touch="campaign")
    t = {r["touch"]: r for r in body["rows"]}
    # c1 (won 02-01): a then b; c4 (won 03-20): c. z came after c1's win.
    assert (t["a"]["first_touch"], t["a"]["last_touch"], t["a"]["linear"]) == (1, 0, 0.5)
    assert (t["b"]["first_touch"], t["b"]["last_touch"], t["b"]["linear"]) == (0, 1, 0.5)
    assert (t["c"]["first_touch"], t["c"]["last_touch"], t["c"]["linear"]) == (1, 1, 1)
    assert "z" not in t
    out = files["dir"] / "attribution.csv"
    _cli(
        "attribution", "--events", str(files["events"]), "--stages", str(files["stages"]),
        "--as-of", AS_OF, "--touch", "campaign", "--csv", str(out),
    )  # fmt: skip
    cli_rows = pd.read_csv(out)
    _same(body["rows"], cli_rows, list(cli_rows.columns))
    by_type = _get(seeded, "/v1/reports/attribution", touch="type", stage="mql")
    # MQL conversions: the demo form is every MQL's last touch.
    assert {r["touch"]: r["last_touch"] for r in by_type["rows"]}["form_submit"] == 4


def test_rfm_as_cli(seeded: Api, files: dict[str, Path]) -> None:
    body = _get(seeded, "/v1/reports/rfm", include_contacts=True)
    rows = {r["contact_id"]: r for r in body["rows"]}
    assert body["contacts"] == 5
    # Hand counts: c1 five events (last 02-15), c5 one (02-20); won values as monetary.
    assert (rows["c1"]["frequency"], rows["c1"]["recency_days"]) == (5, 46.0)
    assert (rows["c5"]["frequency"], rows["c5"]["recency_days"]) == (1, 41.0)
    assert (rows["c1"]["monetary"], rows["c4"]["monetary"], rows["c2"]["monetary"]) == (
        1000.0,
        500.0,
        0.0,
    )
    assert sum(s["contacts"] for s in body["segments"]) == 5 and len(body["segments"]) == 8
    out = files["dir"] / "rfm.csv"
    _cli(
        "rfm", "--events", str(files["events"]), "--stages", str(files["stages"]),
        "--contacts", str(files["contacts"]), "--as-of", AS_OF, "--csv", str(out),
    )  # fmt: skip
    cli_rows = pd.read_csv(out).sort_values("contact_id")
    cols = ["contact_id", "recency_days", "frequency", "monetary", "r", "f", "m", "segment"]
    _same(body["rows"], cli_rows, cols)


# ------------------------------------------------------------------- A/B --


def test_abtest_from_store_conversions(seeded: Api) -> None:
    from statsmodels.stats.proportion import proportions_ztest

    assignments = [
        {"contact_id": c, "variant": v, "experiment": "nurture-1"}
        for c, v in [("c1", "A"), ("c2", "A"), ("c3", "A"), ("c4", "B"), ("c5", "B")]
    ]
    r = seeded.post(
        "/v1/reports/abtest",
        "read",
        json={"assignments": assignments, "control": "A", "stage": "customer", "as_of": AS_OF},
    )
    assert r.status_code == 200, r.text
    t = {row["variant"]: row for row in r.json()["rows"]}
    # Customers: c1 in A (1 of 3), c4 in B (1 of 2).
    assert (t["A"]["contacts"], t["A"]["conversions"]) == (3, 1)
    assert (t["B"]["contacts"], t["B"]["conversions"]) == (2, 1)
    z, p = proportions_ztest([1, 1], [2, 3])
    assert abs(t["B"]["z"] - z) < 1e-9 and abs(t["B"]["p_value"] - p) < 1e-9
    assert t["B"]["verdict"] == "keep running" and "sample too small" in t["B"]["warnings"]
    frame = pd.DataFrame(assignments)
    frame["converted"] = [True, False, False, True, False]
    want = ab_test(frame, control="A")
    _same(
        r.json()["rows"], want, ["variant", "contacts", "conversions", "rate", "ci_low", "ci_high"]
    )


def test_abtest_posted_conversions_and_a_variant_without_any(seeded: Api) -> None:
    assignments = [
        {"contact_id": f"x{i}", "variant": "A" if i < 10 else "B", "converted": i < 4}
        for i in range(20)
    ]
    r = seeded.post("/v1/reports/abtest", "read", json={"assignments": assignments, "control": "A"})
    assert r.status_code == 200, r.text
    b = {row["variant"]: row for row in r.json()["rows"]}["B"]
    assert b["conversions"] == 0 and "no conversions" in b["warnings"]
    assert b["rate"] == 0.0 and b["diff"] == pytest.approx(-0.4)
    mixed = [*assignments[:-1], {"contact_id": "x19", "variant": "B"}]
    r = seeded.post("/v1/reports/abtest", "read", json={"assignments": mixed, "control": "A"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["field"] == "assignments.converted"
    r = seeded.post("/v1/reports/abtest", "read", json={"assignments": assignments, "control": "Z"})
    assert r.status_code == 422 and "control 'Z'" in r.json()["detail"][0]["message"]


def test_sample_size_matches_statsmodels(seeded: Api) -> None:
    from statsmodels.stats.power import NormalIndPower
    from statsmodels.stats.proportion import proportion_effectsize

    r = seeded.get("/v1/reports/sample-size", "read", params={"baseline": 0.1, "mde": 0.02})
    assert r.status_code == 200, r.text
    h = proportion_effectsize(0.12, 0.1)
    n = NormalIndPower().solve_power(effect_size=h, alpha=0.05, power=0.8, ratio=1.0)
    assert abs(r.json()["exact_per_control"] - n) < 1e-9
    assert r.json()["per_control"] == math.ceil(n)


# ----------------------------------------------------------------- goals --


def test_goals_hand_computed(seeded: Api, files: dict[str, Path]) -> None:
    body = _get(seeded, "/v1/reports/goals", revenue=3000, months=2, score="engagement", capacity=1)
    plan = body["plan"]
    # Deal size measured: (1000 + 500) / 2. Rates lead->mql 0.8, mql->sql 0.5, sql->won 1.
    assert plan["deal_size"] == pytest.approx(750.0) and plan["deal_size_measured"] is True
    needed = {r["stage"]: (r["needed"], r["needed_per_month"]) for r in plan["stages"]}
    assert needed == {"lead": (10, 5), "mql": (8, 4), "sql": (4, 2), "customer": (4, 2)}
    # Scores 100, 100, 100, 100 (demo form) and 0 (c5), leads arriving Dec..Mar (4 months):
    # one MQL a month is 4 leads, so only the 100s pass.
    cap = body["capacity"]
    assert (cap["threshold"], cap["leads_passing"], cap["periods"]) == (100.0, 4, 4)
    two = _get(seeded, "/v1/reports/goals", score="engagement", capacity=2)["capacity"]
    assert (two["threshold"], two["leads_passing"]) == (0.0, 5)
    # SLA 24 h: c1 called 12 h after MQL (in time); c2 lost after 12 d and c4 won after
    # 10 d (late); c3 never followed up (missed).
    sla = {r["period"]: r for r in body["sla"]["rows"]}
    assert [sla["2024-01"][k] for k in ("mqls", "in_time", "late", "missed")] == [2, 1, 1, 0]
    assert [sla["2024-03"][k] for k in ("mqls", "in_time", "late", "missed")] == [2, 0, 1, 1]
    assert sla["2024-01"]["in_time_rate"] == pytest.approx(0.5)
    assert sla["2024-02"]["mqls"] == 0 and sla["2024-02"]["in_time_rate"] is None
    # The analytics functions on the files agree.
    stages = read_table(files["stages"], STAGES)
    people = read_table(files["contacts"], CONTACTS)
    rates = measured_rates(funnel_report(stages, people, as_of=AS_OF))
    want = goal_plan(3000, avg_deal_size=750.0, rates=rates, months=2)
    _same(plan["stages"], want, list(want.columns))
    events = pd.read_csv(files["events"])
    want_sla = sla_follow_up(stages, as_of=AS_OF, events=events)
    _same(body["sla"]["rows"], want_sla, ["period", "mqls", "in_time", "late", "missed"])
    scores = read_table(files["scores"], SCORES)
    assert threshold_for_capacity(scores, capacity_per_period=1)["threshold"] == cap["threshold"]
    given = _get(seeded, "/v1/reports/goals", revenue=3000, deal_size=1500)["plan"]
    assert {r["stage"]: r["needed"] for r in given["stages"]}["lead"] == 5


def test_cpa_hand_computed_and_as_cli(seeded: Api, files: dict[str, Path]) -> None:
    spend = [
        {"channel": "ads", "period": "2024-01-01", "amount": 300},
        {"channel": "ads", "period": "2024-02-01", "amount": 200},
        {"channel": "seo", "period": "2024-01-15", "amount": 100},
    ]
    r = seeded.post("/v1/reports/cpa", "read", json={"spend": spend, "as_of": AS_OF})
    assert r.status_code == 200, r.text
    summary = {row["channel"]: row for row in r.json()["summary"]}
    # ads: 500 spent, leads c1 c3 c5, won c1; seo: 100 spent, leads c2 c4, won c4.
    assert (summary["ads"]["spend"], summary["ads"]["leads"], summary["ads"]["acquisitions"]) == (
        500.0,
        3,
        1,
    )
    assert summary["ads"]["cpa"] == 500.0
    assert summary["ads"]["cost_per_lead"] == pytest.approx(500 / 3)
    assert summary["seo"]["cpa"] == 100.0 and summary["(total)"]["cpa"] == 300.0
    path = files["dir"] / "spend.csv"
    pd.DataFrame(spend).to_csv(path, index=False)
    out = files["dir"] / "cpa.csv"
    _cli(
        "cpa", "--spend", str(path), "--contacts", str(files["contacts"]),
        "--stages", str(files["stages"]), "--as-of", AS_OF, "--csv", str(out),
    )  # fmt: skip
    cli_rows = pd.read_csv(out)
    cols = ["period", "channel", "spend", "leads", "acquisitions", "cost_per_lead", "cpa"]
    _same(r.json()["rows"], cli_rows, cols)
    bad = seeded.post(
        "/v1/reports/cpa",
        "read",
        json={"spend": [{"channel": "ads", "period": "March", "amount": 1}]},
    )
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "spend.0.period"


# -------------------------------------------------------------- refusals --


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/reports/funnel", {"period": "fortnight"}, "period"),
        ("/v1/reports/funnel", {"by": "sourse"}, "by"),
        ("/v1/reports/funnel", {"funnel": "mql,won"}, "funnel"),
        ("/v1/reports/funnel", {"within_days": "-3"}, "within_days"),
        ("/v1/reports/funnel", {"as_of": "01/04/2024"}, "as_of"),
        ("/v1/reports/funnel", {"start": "soon"}, "start"),
        ("/v1/reports/velocity", {"stage": "won"}, "stage"),
        ("/v1/reports/velocity", {"period": "0d"}, "period"),
        ("/v1/reports/fresh-vs-nurtured", {"fresh_days": "0"}, "fresh_days"),
        ("/v1/reports/fresh-vs-nurtured", {"converted_stage": "lead"}, "converted_stage"),
        ("/v1/reports/rfm", {"quantiles": "1"}, "quantiles"),
        ("/v1/reports/rfm", {"monetary_property": "campaign"}, "monetary_property"),
        ("/v1/reports/attribution", {"touch": "utm_source"}, "touch"),
        ("/v1/reports/sample-size", {}, "baseline"),
        ("/v1/reports/sample-size", {"baseline": 0.99, "mde": 0.05}, "mde"),
        ("/v1/reports/goals", {"capacity": 5}, "score"),
        ("/v1/reports/goals", {"capacity": 5, "score": "nosuch"}, "score"),
        ("/v1/reports/goals", {"revenue": "lots"}, "revenue"),
    ],
)
def test_bad_parameters_name_the_parameter(
    seeded: Api, path: str, params: dict[str, Any], field: str
) -> None:
    r = seeded.get(path, "read", params=params)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field, r.json()


# ------------------------------------------------------------------- auth --

REPORT_ROUTES = [
    ("get", "/v1/reports/funnel", None),
    ("get", "/v1/reports/velocity", None),
    ("get", "/v1/reports/fresh-vs-nurtured", None),
    ("get", "/v1/reports/rfm", None),
    ("get", "/v1/reports/attribution", None),
    (
        "post",
        "/v1/reports/abtest",
        {"assignments": [{"contact_id": "c1", "variant": "A"}], "control": "A"},
    ),
    ("get", "/v1/reports/sample-size?baseline=0.1", None),
    ("get", "/v1/reports/goals", None),
    ("post", "/v1/reports/cpa", {"spend": [{"channel": "a", "period": "2024-01-01", "amount": 1}]}),
]


def test_every_report_route_is_in_the_table() -> None:
    from leadscore.api.reports import router

    served = {(m, r.path) for r in router.routes for m in r.methods - {"HEAD"}}  # type: ignore[attr-defined]
    assert served == {(m.upper(), p.split("?")[0]) for m, p, _ in REPORT_ROUTES}


@pytest.mark.parametrize(("method", "path", "body"), REPORT_ROUTES)
def test_reports_need_the_read_scope(module_api: Api, method: str, path: str, body: Any) -> None:
    api = module_api
    kw: dict[str, Any] = {"json": body} if body is not None else {}
    call = getattr(api.client, method)
    assert call(path, **kw).status_code == 401
    assert call(path, headers={"Authorization": "Bearer lsk_wrong"}, **kw).status_code == 401
    assert call(path, headers=api.h("ingest"), **kw).status_code == 403
    for good in ("read", "admin"):
        assert call(path, headers=api.h(good), **kw).status_code not in (401, 403)


def test_empty_store_gives_empty_reports(api: Api) -> None:
    body = api.get("/v1/reports/funnel", "read").json()
    assert body["funnel"] == [] and body["stages"] == [] and body["by_period"] == []
    assert api.get("/v1/reports/velocity", "read").json()["rows"] == []
    assert api.get("/v1/reports/goals", "read").json()["sla"]["rows"] == []
    assert api.get("/v1/reports/rfm", "read").json()["contacts"] == 0
