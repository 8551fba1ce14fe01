"""The service's predictive score at each lead's snapshot, with factor sentences."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from leadscore.learn.features import build_training_set, snapshot_times
from leadscore.learn.registry import Predictor, fit_learner, make_bundle
from leadscore.learn.synthetic import make_crm_world
from leadscore.rules.evaluate import Contact, Event
from leadscore.service.predictive import Champion, predict


def test_service_predicts_at_each_leads_snapshot() -> None:
    contacts, events, _ = make_crm_world(1500, seed=4)
    ts = build_training_set(contacts, events, snapshot="created+30d")
    bundle = make_bundle(
        "predictive", fit_learner("predictive", ts), ts, {"created_column": "created_at"}
    )
    champion = Champion("v0001", Predictor(bundle, "v0001"), {}, Path("."))
    some = contacts.head(40)
    leads = []
    for row in some.itertuples():
        fields = {
            "created_at": row.created_at.isoformat(),
            "industry": row.industry,
            "company_size": row.company_size,
            "source": row.source,
        }
        mine = events[events["contact_id"] == row.contact_id]
        history = [
            Event(
                e.event_id,
                e.contact_id,
                e.type,
                e.timestamp.to_pydatetime(),
                {
                    k: v
                    for k, v in (("url", e.url), ("seconds", e.seconds), ("campaign", e.campaign))
                    if v is not None and v == v
                },
            )
            for e in mine.itertuples()
        ]
        leads.append((Contact(row.contact_id, fields), history))
    now = datetime(2026, 1, 1, tzinfo=UTC)
    got = predict(champion, leads, now, factors=2, snapshot="created+30d")
    # the same probabilities as the model on features as of each lead's snapshot
    moments = snapshot_times(some, "created+30d").where(lambda s: s <= pd.Timestamp(now), now)
    X = bundle.features(some, events, moments.reset_index(drop=True))
    want = bundle.predict_proba(X)[:, 1]
    assert np.allclose([p.probability for p in got], want, rtol=1e-9)
    at_now = predict(champion, leads, now)
    assert not np.allclose([p.probability for p in at_now], want)  # the moment matters
    sentences = [f["sentence"] for p in got for f in p.positive + p.negative]
    assert sentences and all(s[:1].isupper() for s in sentences)
