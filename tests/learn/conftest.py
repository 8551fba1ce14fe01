"""Small generated lead histories with a known generating process (see
``leadscore.learn.synthetic``): software triples the odds, a demo request before the
snapshot quadruples them, pricing views raise them, a free email halves them, and
converters leave ``purchase`` events after the snapshot that must never be seen."""

from __future__ import annotations

import pandas as pd
import pytest

from leadscore.learn.features import TrainingSet, build_training_set
from leadscore.learn.synthetic import make_leads


@pytest.fixture(scope="session")
def history() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_leads(6000, seed=1)


@pytest.fixture(scope="session")
def training_set(history: tuple[pd.DataFrame, pd.DataFrame]) -> TrainingSet:
    contacts, events = history
    return build_training_set(contacts, events, snapshot="created+14d", horizon_days=90)


@pytest.fixture(scope="session")
def profile_only() -> tuple[pd.DataFrame, pd.Series]:
    """Profile fields only (no events): industry=software triples the odds."""
    contacts, _ = make_leads(6000, seed=2, events=False)
    ts = build_training_set(contacts, None, snapshot="created+14d", horizon_days=90)
    return ts.X, ts.y
