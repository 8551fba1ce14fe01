"""Lifecycle stages (SPEC T4): threshold crossings and sales actions.

Stages, lowest first: ``lead``, ``mql``, ``sql``, ``opportunity``, ``customer``,
plus ``lost``. Thresholds in the model (``lifecycle:``) promote a lead when its
scores *cross* into a higher stage; they never demote (a cooling MQL stays an
MQL until sales acts). Sales actions move a lead by hand and record why:

=============  ========================  ===========================================
action         to                        notes
=============  ========================  ===========================================
accept         sql                       sales accepted the MQL (SLA)
reject         lead                      back to nurture; ``reason`` required; the
                                         thresholds promote it again only on a *new*
                                         crossing (after its scores fall and rise)
opportunity    opportunity               optional deal ``value``
won            customer                  deal ``value`` recorded as an outcome
lost           lost                      ``reason`` recorded as an outcome
=============  ========================  ===========================================

Opportunity, customer and lost belong to sales: thresholds never move a lead out
of them. Time can move a lead too: with the model's ``recycle`` a quiet MQL (no event
and no stage change for N days) goes back to ``lead`` (cause ``recycle``, dated,
with its webhooks), when the clock scheduler rescores it (:func:`recycle_at`). Stage names a model defines beyond mql/sql rank just above ``mql`` in the
order they are listed.
"""

from __future__ import annotations

from collections.abc import Sequence

from leadscore.spec.model import Recycle

CANONICAL = {"lead": 0, "mql": 10, "sql": 20, "opportunity": 30, "customer": 40, "lost": 50}
SALES_OWNED = frozenset({"opportunity", "customer", "lost"})
STAGES = ("lead", "mql", "sql", "opportunity", "customer", "lost")

ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    # action: (target stage, stages it may NOT start from)
    "accept": ("sql", frozenset({"sql", "opportunity", "customer", "lost"})),
    "reject": ("lead", frozenset({"lead", "opportunity", "customer", "lost"})),
    "opportunity": ("opportunity", frozenset({"opportunity", "customer", "lost"})),
    "won": ("customer", frozenset({"customer", "lost"})),
    "lost": ("lost", frozenset({"customer", "lost"})),
}


def rank(stage: str | None, model_stages: Sequence[str] = ()) -> int:
    if stage is None:
        return 0
    if stage in CANONICAL:
        return CANONICAL[stage]
    custom = [s for s in model_stages if s not in CANONICAL]
    return 11 + custom.index(stage) if stage in custom else 11


def threshold_moves(
    current: str, previous_threshold: str | None, new_threshold: str, model_stages: Sequence[str]
) -> list[str]:
    """The stages a rescoring moves a lead through, lowest first (often none).

    A move needs a crossing (the thresholds now give a higher stage than at the
    previous scoring) that lands above the lead's current stage, and a lead not in
    a sales-owned stage. A lead that jumps past several threshold stages at once
    (lead straight to sql) passes through each of them, so funnel counts and
    ``lead.mql`` subscribers see every stage it reached.
    """
    if current in SALES_OWNED:
        return []
    new_rank = rank(new_threshold, model_stages)
    if new_rank <= rank(previous_threshold, model_stages):
        return []
    floor = rank(current, model_stages)
    if new_rank <= floor:
        return []
    passed = [
        s for s in model_stages if floor < rank(s, model_stages) < new_rank and s != new_threshold
    ]
    return [*sorted(passed, key=lambda s: rank(s, model_stages)), new_threshold]


DAY_US = 86_400_000_000


def recycle_at(
    recycle: Recycle | None,
    stage: str,
    stage_us: int,
    last_event_us: int | None,
    model_stages: Sequence[str],
) -> int | None:
    """When a lead in ``stage`` goes back to ``lead`` if nothing happens (us), or None.

    The model's ``recycle: {after_days, from}``: quiet means no event and no stage
    change for ``after_days`` days, so a lead sales just accepted is not recycled
    because its last visit was long ago. ``from`` defaults to the model's threshold
    stages; sales-owned stages are never recycled.
    """
    if recycle is None or stage in SALES_OWNED or stage == "lead":
        return None
    stages = recycle.from_ if recycle.from_ is not None else tuple(model_stages)
    if stage not in stages:
        return None
    quiet_since = max(stage_us, last_event_us or 0)
    return quiet_since + round(recycle.after_days * DAY_US)
