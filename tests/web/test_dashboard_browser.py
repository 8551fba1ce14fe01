"""The dashboard driven in headless Chromium against a live, seeded server.

Each test checks what the page shows against the service layer (an independent
read of the same store), not against numbers written into the test. Tests run in
file order: the ones that change leads or the model come last.
"""

from __future__ import annotations

import importlib.util
import re
from datetime import datetime
from typing import Any

import pytest

from leadscore.service.contacts import get_account, get_contact
from leadscore.service.leads import get_lead, list_leads
from leadscore.service.models import active_model

pytestmark = pytest.mark.browser


def queue_grades(pg: Any) -> list[str]:
    return [b.inner_text() for b in pg.locator("table.queue tbody tr td:first-child .badge").all()]


def matching(pg: Any) -> int:
    text = pg.locator("main p.muted").first.inner_text()
    found = re.search(r"(\d+) leads? match", text)
    assert found, text
    return int(found.group(1))


def test_sign_in_is_required(chromium: Any, live_server: Any, guard: Any, screenshot: Any) -> None:
    context = chromium.new_context(viewport={"width": 1280, "height": 700})
    context.route("**/*", guard)
    pg = context.new_page()
    pg.goto(live_server.url("/dashboard/matrix"))
    assert "/dashboard/signin" in pg.url
    pg.get_by_label("API key").fill("lsk_not-a-real-key")
    pg.get_by_role("button", name="Sign in").click()
    assert pg.get_by_role("alert").inner_text().startswith("That key is not valid")
    screenshot(pg, "signin")
    pg.get_by_label("API key").fill(live_server.key)
    pg.get_by_role("button", name="Sign in").click()
    pg.wait_for_url("**/dashboard/matrix")  # back where the user was going
    assert pg.get_by_role("heading", name="Grade matrix").is_visible()
    context.close()
    assert guard.blocked == []


def test_queue_is_in_priority_order(page: Any, live_server: Any, screenshot: Any) -> None:
    store = live_server.service.store
    # By default the queue shows the leads sales can still work: not won, not lost.
    open_stages = ["lead", "mql", "sql", "opportunity"]
    total = list_leads(store, stage=open_stages, limit=1)["total"]
    assert matching(page) == total == 200 - len(live_server.closed)
    grades = queue_grades(page)
    assert len(grades) == 50
    # Fit letter ascending (A best), then activity number descending (4 most active).
    keys = [(g[0], -int(g[1])) for g in grades if g != "–"]
    assert keys == sorted(keys)
    screenshot(page, "queue")


def test_filter_the_queue(page: Any, live_server: Any, screenshot: Any) -> None:
    store = live_server.service.store
    page.get_by_label("Stage").select_option("lead")
    page.get_by_label("Owner").select_option("ana")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**stage=lead**")
    expected = list_leads(store, stage=["lead"], owner="ana", limit=200)
    assert expected["total"] > 0
    assert matching(page) == expected["total"]
    shown = [r.get_attribute("data-contact") for r in page.locator("table.queue tbody tr").all()]
    assert sorted(shown) == sorted(c["contact_id"] for c in expected["items"])

    # A score threshold on the fit score, plus surging leads only.
    page.goto(live_server.url("/dashboard/"))
    page.get_by_label("Stage").select_option("all")
    page.get_by_label("Score", exact=True).select_option("fit")
    page.get_by_label("Score at least").fill("40")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**min_score=40**")
    expected = list_leads(store, score="fit", min_score=40, limit=1)
    assert matching(page) == expected["total"] > 0
    fits = [
        float(c.inner_text()) for c in page.locator("table.queue tbody tr td:nth-child(3)").all()
    ]
    assert fits and min(fits) >= 40
    screenshot(page, "queue-filtered")
    page.get_by_label("Surging only").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**surging=1**")
    expected = list_leads(store, score="fit", min_score=40, surging=True, limit=1)
    assert matching(page) == expected["total"]


def test_grade_matrix_opens_the_filtered_queue(
    page: Any, live_server: Any, screenshot: Any
) -> None:
    store = live_server.service.store
    page.get_by_role("link", name="Grade matrix").click()
    cells = page.locator("table.matrix td a")
    assert cells.count() == 16
    counts = {}
    for i in range(16):
        label = cells.nth(i).get_attribute("aria-label") or ""
        grade, n = re.match(r"(\w\d): (\d+) leads", label).groups()  # type: ignore[union-attr]
        counts[grade] = int(n)
    assert sum(counts.values()) == 200
    for grade, n in counts.items():
        assert list_leads(store, grade=[grade], limit=1)["total"] == n
    # Conversion rates: at least one cell shows won/decided counts from the outcomes.
    assert page.locator("table.matrix .rate", has_text="won (").count() > 0
    screenshot(page, "matrix")
    busiest = max(counts, key=lambda g: counts[g])
    page.locator(f'table.matrix td a[aria-label^="{busiest}:"]').click()
    page.wait_for_url(f"**grade={busiest}**")
    assert matching(page) == counts[busiest]
    assert set(queue_grades(page)) == {busiest}


def test_lead_contributions_add_up(page: Any, live_server: Any, screenshot: Any) -> None:
    first = page.locator("table.queue tbody tr").first
    contact_id = first.get_attribute("data-contact")
    first.locator("td.lead a").click()
    page.wait_for_url(f"**/leads/{contact_id}")
    stored = get_lead(live_server.service.store, contact_id)
    tables = page.locator("table.breakdown")
    assert tables.count() == len(stored["scores"])
    for i in range(tables.count()):
        table = tables.nth(i)
        name = table.get_attribute("data-score")
        points = [
            float(p)
            for p in table.locator("tr.contribution").evaluate_all(
                "rows => rows.map(r => r.dataset.points)"
            )
        ]
        assert points, f"no contributions shown for {name}"
        assert sum(points) == pytest.approx(stored["scores"][name]["value"], abs=1e-9)
        shown_total = float(table.locator(".score-total").inner_text())
        assert shown_total == pytest.approx(stored["scores"][name]["value"], abs=0.05)
    # Profile and account: the account lists how many contacts share it.
    account = page.locator("section[aria-labelledby=h-profile]").inner_text()
    assert stored["account_id"] is not None
    members = len(get_account(live_server.service.store, stored["account_id"])["contacts"])
    assert f"Contacts\t{members}" in account or f"Contacts\n{members}" in account
    # Events carry the points they earned; the history chart and lifecycle render.
    assert page.locator("table.timeline tbody tr").count() == stored["event_count"]
    assert page.locator("table.timeline .pos, table.timeline .neg").count() > 0
    assert page.locator("svg.chart").count() >= 1
    assert page.get_by_role("heading", name="Lifecycle").is_visible()
    screenshot(page, "lead")


def shown_factors(pg: Any, kind: str) -> list[tuple[str, float]]:
    rows = pg.locator(f"#predictive table.factors[data-kind={kind}] tr.factor")
    return [
        (r.get_attribute("data-feature"), float(r.get_attribute("data-contribution")))
        for r in rows.all()
    ]


def test_lead_shows_the_predictive_model(page: Any, live_server: Any, screenshot: Any) -> None:
    """The probability and factors on the page are the predictor's own output for the
    lead, computed here from the training files with the registry's predictor."""
    from leadscore.learn.data import read_contacts, read_events
    from leadscore.learn.registry import Registry, load_predictor
    from leadscore.web.routes import chance

    assert live_server.registry is not None and live_server.training is not None
    predictor = load_predictor(live_server.registry)
    champion = Registry(live_server.registry).champion("predictive")
    contacts_csv, events_csv = live_server.training
    people, events = read_contacts(contacts_csv), read_events(events_csv)
    first = page.locator("table.queue tbody tr").first.get_attribute("data-contact")
    for contact_id in (first, "c0001", "c0150"):
        page.goto(live_server.url(f"/dashboard/leads/{contact_id}"))
        panel = page.locator("#predictive")
        assert page.locator("#predictive-version").inner_text() == champion
        as_of = datetime.fromisoformat(
            page.locator("#predictive-as-of").get_attribute("datetime") or ""
        )
        X = predictor.features(people[people["contact_id"] == contact_id], events, as_of)
        expected = float(predictor.predict_proba(X)[0, 1])
        factors = predictor.top_factors(X, 5)[0]
        shown = page.locator("#predictive-probability")
        assert float(shown.get_attribute("data-probability") or "nan") == pytest.approx(
            expected, rel=1e-9, abs=1e-12
        )
        assert shown.inner_text() == chance(expected)
        assert chance(0.7571) == "75.7 %" and chance(0.99996) == "> 99.9 %"
        for kind in ("positive", "negative"):
            want = [(f["feature"], f["contribution"]) for f in factors[kind]]
            assert shown_factors(page, kind) == want, (contact_id, kind)
        assert factors["positive"] or factors["negative"]
        assert "Raises the chance" in panel.inner_text()
    screenshot(page, "lead-predictive", page.locator("#predictive"))


def test_keyboard_reaches_a_lead(page: Any, live_server: Any) -> None:
    # From the skip link, Tab moves through the page in order; Enter on the first
    # lead's link opens it.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    first_link = page.locator("table.queue tbody tr td.lead a").first
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.closest('td.lead') !== null"):
            break
    else:
        pytest.fail("Tab never reached a lead link")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"  # focus is visible
    href = first_link.get_attribute("href")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{href}")
    # Every form control on every page has a label.
    for path in ("/dashboard/leads/" + href.rsplit("/", 1)[-1], "/dashboard/", "/dashboard/model"):
        page.goto(live_server.url(path))
        unlabelled = page.evaluate(
            """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
                  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
                  .map(el => el.name)"""
        )
        assert unlabelled == [], path


def test_funnel_and_performance(page: Any, live_server: Any, screenshot: Any) -> None:
    page.get_by_role("link", name="Funnel").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Funnel and lead velocity"
    stages = page.locator("section#funnel table").first.inner_text()
    assert "mql" in stages and "customer" in stages
    assert page.get_by_role("heading", name="Lead velocity rate").is_visible()
    screenshot(page, "funnel")
    page.get_by_role("link", name="Performance").click()
    if importlib.util.find_spec("leadscore.learn") is None:
        # The evaluation functions live in leadscore.learn; without them the page
        # says so instead of failing.
        assert "not installed" in page.locator("main").inner_text()
        return
    assert page.get_by_role("heading", name="Conversion by grade").is_visible()
    assert page.locator("svg.chart").count() >= 2  # lift and gains for at least one score
    assert "ROC AUC" in page.locator("main").inner_text()
    # The served predictive model: lift by decile and calibration on the store's
    # decided leads, plus the registry's holdout figures.
    section = page.locator("section#predictive")
    charts = [c.get_attribute("aria-label") for c in section.locator("svg.chart").all()]
    assert charts == [
        "Lift by decile of the predictive model v0001",
        "Calibration of the predictive model v0001",
    ]
    tables = section.locator("table")
    decile_leads = tables.nth(0).locator("tbody tr td:nth-child(2)").all_inner_texts()
    assert sum(int(n) for n in decile_leads) == len(live_server.closed)
    calibration_leads = tables.nth(1).locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert sum(int(n) for n in calibration_leads) == len(live_server.closed)
    assert "From the registry" in tables.nth(2).inner_text()
    screenshot(page, "performance")
    screenshot(page, "performance-predictive", section)


def test_accept_and_reject_leads(page: Any, live_server: Any, screenshot: Any) -> None:
    store = live_server.service.store
    # Sales accepts a lead still in nurture, and rejects one the thresholds had
    # already made sales-qualified.
    accepted = list_leads(store, stage=["lead"], sort="-fit", limit=1)["items"][0]["contact_id"]
    rejected = list_leads(store, stage=["sql"], limit=1)["items"][0]["contact_id"]

    page.goto(live_server.url(f"/dashboard/leads/{accepted}"))
    assert page.locator("#stage").inner_text() == "lead"
    page.get_by_role("button", name="Accept").click()
    page.wait_for_url("**done=accept")
    assert page.locator("#stage").inner_text() == "sql"
    assert page.get_by_role("status").inner_text().startswith("Lead accepted")
    assert get_contact(store, accepted)["stage"] == "sql"
    lifecycle = page.locator("section[aria-labelledby=h-lifecycle] table").inner_text()
    assert "sales:accept" in lifecycle

    page.goto(live_server.url(f"/dashboard/leads/{rejected}"))
    assert page.locator("#stage").inner_text() == "sql"
    page.get_by_role("button", name="Reject").click()  # no reason: the browser refuses
    assert page.locator("#stage").inner_text() == "sql"
    page.get_by_label("Reason for rejecting").fill("no budget this year")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_url("**done=reject")
    assert page.locator("#stage").inner_text() == "lead"
    assert (
        "no budget this year" in page.locator("section[aria-labelledby=h-lifecycle]").inner_text()
    )
    assert get_contact(store, rejected)["stage"] == "lead"
    screenshot(page, "lead-after-reject")


def test_edit_model_what_if_and_activate(page: Any, live_server: Any, screenshot: Any) -> None:
    store = live_server.service.store
    before = active_model(store)
    assert before is not None
    page.get_by_role("link", name="Model").click()
    editor = page.get_by_label("Model YAML (see the model-language reference)")
    text = editor.input_value()
    assert text == before["yaml"]

    # A broken edit: problems listed with their path and line.
    broken = text.replace("points: 15", "points: lots", 1)
    editor.fill(broken)
    page.get_by_role("button", name="Validate").click()
    alert = page.locator("#problems")
    assert "scores.fit.rules[0].points" in alert.inner_text()
    line = next(i for i, t in enumerate(broken.splitlines(), 1) if "points: lots" in t)
    assert page.get_by_role("button", name=f"line {line}").is_visible()
    page.get_by_role("button", name=f"line {line}").click()  # puts the caret on the line
    caret_line = page.evaluate(
        "(() => { const t = document.getElementById('model-yaml');"
        " return t.value.slice(0, t.selectionStart).split('\\n').length; })()"
    )
    assert caret_line == line
    screenshot(page, "model-errors")

    # A real edit: MQL at a lower fit threshold and without the engagement bar.
    old_rule = 'mql: {fit: ">= 40", engagement: ">= 50"}'
    assert old_rule in text
    edited = text.replace(old_rule, 'mql: {fit: ">= 20"}')
    page.get_by_label("Model YAML (see the model-language reference)").fill(edited)
    page.get_by_role("button", name="Run what-if").click()
    report = page.locator("#whatif")
    assert report.is_visible()
    mql = page.locator("#wi-mql").inner_text()
    old_n, new_n = (int(x) for x in re.findall(r"\d+", mql))
    gained, lost = (
        int(x)
        for x in re.search(r"\+(\d+) / −(\d+)", report.inner_text()).groups()  # type: ignore[union-attr]
    )
    assert new_n - old_n == gained - lost and gained > 0 and lost == 0
    assert int(page.locator("#wi-changed").inner_text()) == gained
    assert "MQL conversion rate" in report.inner_text()
    screenshot(page, "model-whatif")

    page.get_by_role("button", name="Activate this version").click()
    page.wait_for_url("**done=activated")
    after = active_model(store)
    assert after is not None and after["version"] == before["version"] + 1
    assert after["yaml"] == edited
    assert page.locator("pre.yaml").inner_text().strip() == edited.strip()
    # Leads were rescored with it: the stored scores now come from the new version.
    lead = list_leads(store, limit=1)["items"][0]
    assert lead["model_version"] == after["version"]
