"""What-if: score the same leads with the active model and an edited one, and compare.

Pure: contacts, events, outcomes and the moment(s) to score at are inputs; nothing
is read from a store or a clock here (the dashboard's service layer gathers them).

Semantics
---------
* Both models score every lead at the same ``as_of`` (a single moment, or one per
  lead). Passing each lead's decision moment (for example when its outcome was
  recorded) keeps events that happened *after* the sale out of the comparison, so the
  conversion rates below are not inflated by post-sale activity.
* A lead is **qualified** (an MQL) under a model when the stage it reaches is the
  model's ``mql`` stage or any stage listed after it; a model without an ``mql``
  stage counts every stage other than ``lead`` as qualified.
* The **conversion rate** of an MQL set is ``won / (won + lost)`` over the MQLs whose
  outcome is known; leads still open are left out rather than counted as losses.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from leadscore.rules import Contact, Event, LeadScore, Scorer
from leadscore.spec import ScoringModel


@dataclass(frozen=True, slots=True)
class Rate:
    """A conversion rate with its counts, so a page can say "3 of 40"."""

    converted: int
    known: int

    @property
    def value(self) -> float | None:
        return self.converted / self.known if self.known else None


@dataclass(frozen=True, slots=True)
class LeadChange:
    """One lead whose grade or qualification differs between the two models."""

    contact_id: str
    old_grade: str | None
    new_grade: str | None
    old_stage: str
    new_stage: str
    old_scores: Mapping[str, float]
    new_scores: Mapping[str, float]
    outcome: bool | None


@dataclass(frozen=True, slots=True)
class WhatIfReport:
    """How an edited model would change the leads it is run on."""

    leads: int
    changed_leads: int  # grade or MQL status moved (a lead moving in both counts once)
    grade_changed: int
    stage_changed: int
    mql_old: int
    mql_new: int
    mql_gained: int
    mql_lost: int
    outcomes_known: int
    old_rate: Rate
    new_rate: Rate
    base_rate: Rate
    transitions: list[tuple[str | None, str | None, int]] = field(default_factory=list)
    changes: list[LeadChange] = field(default_factory=list)


def qualified_stages(model: ScoringModel) -> frozenset[str]:
    """The lifecycle stages that count as MQL or beyond under ``model``."""
    stages = list(model.lifecycle)
    if "mql" in stages:
        return frozenset(stages[stages.index("mql") :])
    return frozenset(stages)


def what_if(
    old: ScoringModel,
    new: ScoringModel,
    leads: Iterable[tuple[Contact, Sequence[Event]]],
    as_of: datetime | Callable[[str], datetime],
    outcomes: Mapping[str, bool] | None = None,
    *,
    keep_changes: int = 50,
) -> WhatIfReport:
    """Compare two models lead by lead.

    Args:
        old: the active model.
        new: the edited model.
        leads: each contact with all its events (events after the scoring moment are
            ignored by the scorer).
        as_of: one moment for every lead, or a function giving each lead's moment.
        outcomes: ``contact_id -> True`` (won) / ``False`` (lost); absent means open.
        keep_changes: how many changed leads to keep as examples (the counts always
            cover every lead).
    """
    old_scorer, new_scorer = Scorer(old), Scorer(new)
    old_q, new_q = qualified_stages(old), qualified_stages(new)
    outcomes = outcomes or {}
    moment: Callable[[str], datetime] = (
        as_of if callable(as_of) else (lambda _cid, _t=as_of: _t)  # type: ignore[misc]
    )

    n = grade_changed = stage_changed = changed = 0
    mql_old = mql_new = gained = lost = known = 0
    old_won = old_known = new_won = new_known = base_won = 0
    transitions: Counter[tuple[str | None, str | None]] = Counter()
    examples: list[LeadChange] = []

    for contact, events in leads:
        n += 1
        t = moment(contact.contact_id)
        a = old_scorer.score(contact, events, t)
        b = new_scorer.score(contact, events, t)
        was, now = a.stage in old_q, b.stage in new_q
        outcome = outcomes.get(contact.contact_id)
        mql_old += was
        mql_new += now
        gained += now and not was
        lost += was and not now
        if outcome is not None:
            known += 1
            base_won += outcome
            if was:
                old_known += 1
                old_won += outcome
            if now:
                new_known += 1
                new_won += outcome
        grade_moved = a.grade != b.grade
        grade_changed += grade_moved
        stage_changed += a.stage != b.stage
        if grade_moved:
            transitions[(a.grade, b.grade)] += 1
        if grade_moved or was != now:
            changed += 1
            if len(examples) < keep_changes:
                examples.append(_change(a, b, outcome))

    return WhatIfReport(
        leads=n,
        changed_leads=changed,
        grade_changed=grade_changed,
        stage_changed=stage_changed,
        mql_old=mql_old,
        mql_new=mql_new,
        mql_gained=gained,
        mql_lost=lost,
        outcomes_known=known,
        old_rate=Rate(old_won, old_known),
        new_rate=Rate(new_won, new_known),
        base_rate=Rate(base_won, known),
        transitions=[(o, w, c) for (o, w), c in transitions.most_common()],
        changes=examples,
    )


def _change(a: LeadScore, b: LeadScore, outcome: bool | None) -> LeadChange:
    return LeadChange(
        contact_id=a.contact_id,
        old_grade=a.grade,
        new_grade=b.grade,
        old_stage=a.stage,
        new_stage=b.stage,
        old_scores={k: r.value for k, r in a.scores.items()},
        new_scores={k: r.value for k, r in b.scores.items()},
        outcome=outcome,
    )
