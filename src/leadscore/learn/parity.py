"""Score leads with the rule engine itself, to check a learned YAML against its learner.

A learner's own ``decision_function`` and the rule engine must agree on every lead;
tests and ``leadscore train`` use this to prove the YAML means what was learned.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from leadscore.learn.features import to_utc


def rule_scores(
    model_text: str,
    contacts: pd.DataFrame,
    events: pd.DataFrame | None,
    as_of: pd.Series | Any,
    score: str,
    grades: bool = False,
) -> Any:
    """The value of ``score`` for each contact row, as of its own moment.

    ``contacts`` needs ``contact_id`` plus the profile fields; ``events`` the usual
    ``event_id, contact_id, type, timestamp`` and property columns; ``as_of`` is one
    moment or a Series aligned with ``contacts`` (each lead's snapshot). With
    ``grades=True`` returns ``(values, grade labels)``.
    """
    from leadscore.rules import Contact, Event, Scorer
    from leadscore.spec import parse_model

    scorer = Scorer(parse_model(model_text, source="<learned>"))
    by_contact: dict[str, list[Event]] = {}
    if events is not None and len(events):
        stamps = to_utc(events["timestamp"], "events column 'timestamp'")
        props = [
            c for c in events.columns if c not in ("event_id", "contact_id", "type", "timestamp")
        ]
        records = events[props].astype(object).where(events[props].notna(), None).to_dict("records")
        for i, (eid, cid, etype, ts) in enumerate(
            zip(events["event_id"], events["contact_id"], events["type"], stamps, strict=True)
        ):
            by_contact.setdefault(str(cid), []).append(
                Event(str(eid), str(cid), str(etype), ts.to_pydatetime(), records[i])
            )
    fields = [c for c in contacts.columns if c != "contact_id"]
    moments = (
        as_of
        if isinstance(as_of, pd.Series)
        else pd.Series([as_of] * len(contacts), index=contacts.index)
    )
    out = np.empty(len(contacts))
    labels: list[str | None] = []
    rows = contacts[fields].astype(object).where(contacts[fields].notna(), None).to_dict("records")
    for i, (cid, moment) in enumerate(
        zip(contacts["contact_id"].astype(str), moments, strict=True)
    ):
        stamp = pd.Timestamp(moment)
        stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
        result = scorer.score(Contact(cid, rows[i]), by_contact.get(cid, []), stamp.to_pydatetime())
        out[i] = result.scores[score].value
        labels.append(result.scores[score].grade)
    if grades:
        return out, np.array(labels, dtype=object)
    return out
