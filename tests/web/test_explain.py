"""Per-event points and the score curve agree with the evaluator (no server)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from leadscore.io import group_events, read_contacts, read_events
from leadscore.rules import Scorer
from leadscore.spec import EventRule, load_model
from leadscore.web.explain import evidence_text, score_curve, timeline

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
AS_OF = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def scored() -> list:
    model = load_model(EXAMPLES / "model.yaml")
    scorer = Scorer(model)
    by_contact = group_events(read_events(EXAMPLES / "events.csv"))
    out = []
    for contact in read_contacts(EXAMPLES / "contacts.csv"):
        events = by_contact.get(contact.contact_id, [])
        out.append((model, scorer, contact, events, scorer.score(contact, events, AS_OF)))
    return out


def test_event_points_add_up_to_each_uncapped_rule(scored: list) -> None:
    checked = capped_seen = 0
    for model, _, _, events, score in scored:
        items, capped = timeline(model, score, events)
        assert [i.at for i in items] == sorted((e.timestamp for e in events), reverse=True)
        capped_ids = {c.rule_id for c in capped}
        rules = {r.id: r for _, r in model.rules()}
        for c in score.contributions:
            if not isinstance(rules.get(c.rule_id), EventRule):
                continue
            earned = sum(e.points for i in items for e in i.earned if e.rule_id == c.rule_id)
            if c.rule_id in capped_ids:
                capped_seen += 1
                assert abs(earned) > abs(c.points)  # the cap cut the total
            else:
                assert earned == pytest.approx(c.points, abs=1e-9)
                checked += 1
    assert checked > 100 and capped_seen > 0


def test_evidence_is_readable(scored: list) -> None:
    texts = {evidence_text(c) for *_, score in scored for c in score.contributions}
    assert any(t.startswith("job_title = ") for t in texts)
    assert any(t.endswith("matching events") for t in texts)
    assert any(t.startswith("last activity") or t == "no activity at all" for t in texts)


def test_score_curve_ends_at_the_score(scored: list) -> None:
    _, scorer, contact, events, score = max(scored, key=lambda s: len(s[3]))
    curve = score_curve(scorer, contact, events, AS_OF)
    for name, result in score.scores.items():
        assert curve[name][-1] == (AS_OF, pytest.approx(result.value))
        first_moment, first_value = curve[name][0]
        assert first_value == pytest.approx(
            scorer.score(contact, events, first_moment).scores[name].value
        )
    assert len(curve["fit"]) <= 41


def test_score_curve_respects_its_budget(scored: list) -> None:
    _, scorer, contact, events, _ = max(scored, key=lambda s: len(s[3]))
    many = [e for e in events for _ in range(100)]  # the same history, 100 times over
    curve = score_curve(scorer, contact, many, AS_OF, budget=len(many) * 8)
    assert len(curve["fit"]) == 8
    empty = score_curve(scorer, contact, [], AS_OF + timedelta(days=1))
    assert [t for t, _ in empty["fit"]] == [AS_OF + timedelta(days=1)]
