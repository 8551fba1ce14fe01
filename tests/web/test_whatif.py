"""What-if and grade-matrix logic on the example data (no server, no browser)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from leadscore.io import group_events, read_contacts, read_events
from leadscore.rules import Contact, Event, Scorer
from leadscore.spec import ScoringModel, load_model, parse_model
from leadscore.web.matrix import grade_matrix
from leadscore.web.whatif import qualified_stages, what_if

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def model() -> ScoringModel:
    return load_model(EXAMPLES / "model.yaml")


@pytest.fixture(scope="module")
def leads() -> list[tuple[Contact, list[Event]]]:
    contacts = read_contacts(EXAMPLES / "contacts.csv")
    by_contact = group_events(read_events(EXAMPLES / "events.csv"))
    return [(c, by_contact.get(c.contact_id, [])) for c in contacts]


def edited(model_text: str, old: str, new: str) -> ScoringModel:
    assert old in model_text, old
    return parse_model(model_text.replace(old, new))


def test_same_model_changes_nothing(model: ScoringModel, leads: list) -> None:
    report = what_if(model, model, leads, AS_OF)
    assert report.leads == len(leads) == 200
    assert report.changed_leads == report.grade_changed == report.stage_changed == 0
    assert report.mql_old == report.mql_new > 0
    assert report.mql_gained == report.mql_lost == 0
    assert report.changes == [] and report.transitions == []


def test_lower_threshold_only_gains_mqls(model: ScoringModel, leads: list) -> None:
    text = (EXAMPLES / "model.yaml").read_text()
    lower = edited(text, 'mql: {fit: ">= 40", engagement: ">= 50"}', 'mql: {fit: ">= 20"}')
    report = what_if(model, lower, leads, AS_OF)
    assert report.mql_lost == 0
    assert report.mql_gained > 0
    assert report.mql_new == report.mql_old + report.mql_gained
    # Grades do not depend on lifecycle thresholds.
    assert report.grade_changed == 0
    assert report.changed_leads == report.mql_gained


def test_counts_and_rates_match_a_direct_recount(model: ScoringModel, leads: list) -> None:
    text = (EXAMPLES / "model.yaml").read_text()
    new = edited(
        text,
        "{id: target-industry, when: {field: industry, in: [software, saas, fintech]}, points: 20,",
        "{id: target-industry, when: {field: industry, in: [software, saas, fintech]}, points: 45,",
    )
    # Outcomes for two thirds of the leads; the rest stay open.
    outcomes = {c.contact_id: i % 3 == 0 for i, (c, _) in enumerate(leads) if i % 3 != 2}
    report = what_if(model, new, leads, AS_OF, outcomes, keep_changes=5)

    old_s, new_s = Scorer(model), Scorer(new)
    q_old, q_new = qualified_stages(model), qualified_stages(new)
    grade_moves = gained = lost = 0
    old_set, new_set = set(), set()
    for contact, events in leads:
        a = old_s.score(contact, events, AS_OF)
        b = new_s.score(contact, events, AS_OF)
        grade_moves += a.grade != b.grade
        if a.stage in q_old:
            old_set.add(contact.contact_id)
        if b.stage in q_new:
            new_set.add(contact.contact_id)
    gained, lost = len(new_set - old_set), len(old_set - new_set)

    def rate(ids: set[str]) -> tuple[int, int]:
        known = [outcomes[i] for i in ids if i in outcomes]
        return sum(known), len(known)

    assert grade_moves > 0 and gained > 0
    assert report.grade_changed == grade_moves
    assert (report.mql_old, report.mql_new) == (len(old_set), len(new_set))
    assert (report.mql_gained, report.mql_lost) == (gained, lost)
    assert (report.old_rate.converted, report.old_rate.known) == rate(old_set)
    assert (report.new_rate.converted, report.new_rate.known) == rate(new_set)
    assert report.base_rate.known == len(outcomes)
    assert sum(c for _, _, c in report.transitions) == grade_moves
    assert len(report.changes) == 5
    for change in report.changes:
        assert change.old_grade != change.new_grade or (
            (change.old_stage in q_old) != (change.new_stage in q_new)
        )


def test_per_lead_moment_hides_later_events(model: ScoringModel, leads: list) -> None:
    # Scoring every lead before its first event must give the same result as
    # scoring it with no events at all.
    early = datetime(2020, 1, 1, tzinfo=UTC)
    report_a = what_if(model, model, leads, lambda _cid: early)
    empty = [(c, []) for c, _ in leads]
    report_b = what_if(model, model, empty, early)
    assert report_a.mql_old == report_b.mql_old


def test_grade_matrix_counts_and_rates(model: ScoringModel) -> None:
    counts = {"A4": 3, "D1": 1, None: 1, "B2": 1, "Z9": 2}
    decided = [("A4", True), ("A4", False), ("D1", False)]
    matrix = grade_matrix(model, counts, decided)
    assert matrix is not None
    assert matrix.rows == ["A", "B", "C", "D"]
    assert matrix.columns == ["1", "2", "3", "4"]
    a4 = matrix.cell("A", "4")
    assert (a4.count, a4.rate.converted, a4.rate.known) == (3, 1, 2)
    assert a4.rate.value == pytest.approx(0.5)
    assert matrix.cell("D", "1").rate.value == 0.0
    assert matrix.cell("B", "2").rate.value is None
    assert matrix.cell("C", "3").count == 0
    # Ungraded leads and grades the model does not define are counted apart.
    assert matrix.ungraded == 3 and matrix.total == 8
    assert sum(c.count for c in matrix.cells.values()) == 5


def test_grade_matrix_needs_two_graded_scores() -> None:
    single = parse_model(
        "scores:\n  fit:\n    grades: {A: 10, B: null}\n    rules:\n"
        "      - {id: r, when: {field: x, exists: true}, points: 10}\n"
        "combined_grade: [fit]\n"
    )
    assert grade_matrix(single, {"A": 1}) is None
