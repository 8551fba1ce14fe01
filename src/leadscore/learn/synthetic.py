"""Synthetic leads with a known generating process, for tests and timing benchmarks.

The truth, on the odds scale: ``industry == "software"`` triples the odds of
converting; a demo request before the snapshot multiplies them by 4; every pricing
page view by 1.5 (up to three); a free email halves them; country and blog visits do
nothing. Converted leads also produce a ``purchase`` event *after* converting, so a
feature builder that peeks past the snapshot would find a perfect predictor.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

INDUSTRIES = np.array(["software", "retail", "education", "manufacturing", "healthcare"])
COUNTRIES = np.array(["US", "GB", "DE", "BR"])
START = pd.Timestamp("2025-01-01", tz="UTC")


def make_leads(
    n: int = 5000,
    *,
    seed: int = 0,
    base_rate: float = 0.04,
    events: bool = True,
    snapshot_days: float = 14.0,
    horizon_days: float = 90.0,
    span_days: float = 365.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(contacts, events)``: contacts carry ``created_at`` and ``converted_at``."""
    rng = np.random.default_rng(seed)
    # whole seconds, as CRMs export them
    created = (START + pd.to_timedelta(rng.uniform(0, span_days, n), unit="D")).floor("s")
    industry = INDUSTRIES[rng.integers(0, len(INDUSTRIES), n)]
    country = COUNTRIES[rng.integers(0, len(COUNTRIES), n)]
    free_email = rng.random(n) < 0.3
    employees = np.round(np.exp(rng.normal(4, 1.5, n))).astype(int)
    demo = rng.random(n) < 0.15
    pricing = rng.poisson(0.8, n)
    blog = rng.poisson(2.0, n)

    log_odds = (
        np.log(base_rate / (1 - base_rate))
        + np.log(3.0) * (industry == "software")
        + np.log(4.0) * demo
        + np.log(1.5) * np.minimum(pricing, 3)
        + np.log(0.5) * free_email
    )
    converts = rng.random(n) < 1 / (1 + np.exp(-log_odds))
    snap = created + pd.to_timedelta(snapshot_days, unit="D")
    convert_at = (snap + pd.to_timedelta(rng.uniform(1, horizon_days - 1, n), unit="D")).floor("s")
    contacts = pd.DataFrame(
        {
            "contact_id": [f"c{i:07d}" for i in range(n)],
            "email": np.where(free_email, "someone@gmail.com", "someone@acme.com"),
            "industry": industry,
            "country": country,
            "employees": employees,
            "created_at": created,
            "converted_at": pd.Series(convert_at).where(converts, pd.NaT),
        }
    )
    contacts["email_domain"] = np.where(free_email, "gmail.com", "acme.com")
    contacts = contacts.drop(columns=["email"])
    if not events:
        return contacts, pd.DataFrame(
            columns=["event_id", "contact_id", "type", "timestamp", "url", "form"]
        )

    def before_snapshot(counts: np.ndarray) -> tuple[np.ndarray, pd.Series]:
        owner = np.repeat(np.arange(n), counts)
        offset = rng.uniform(0, snapshot_days, owner.size)
        return owner, (created[owner] + pd.to_timedelta(offset, unit="D")).floor("s")

    parts = []
    owner, ts = before_snapshot(pricing)
    parts.append(
        pd.DataFrame(
            {"i": owner, "type": "page_view", "timestamp": ts, "url": "/pricing", "form": None}
        )
    )
    owner, ts = before_snapshot(blog)
    parts.append(
        pd.DataFrame(
            {"i": owner, "type": "page_view", "timestamp": ts, "url": "/blog/post", "form": None}
        )
    )
    owner, ts = before_snapshot(demo.astype(int))
    parts.append(
        pd.DataFrame(
            {"i": owner, "type": "form_submit", "timestamp": ts, "url": "/demo", "form": "demo"}
        )
    )
    # activity after the snapshot, heavier for converters: must never reach a feature
    owner = np.flatnonzero(converts)
    late = pd.Series(convert_at[owner]) + pd.to_timedelta(1, unit="h")
    parts.append(
        pd.DataFrame(
            {
                "i": owner,
                "type": "purchase",
                "timestamp": late.to_numpy(),
                "url": "/checkout",
                "form": None,
            }
        )
    )
    later = rng.poisson(np.where(converts, 6.0, 0.5))
    owner = np.repeat(np.arange(n), later)
    ts = (snap[owner] + pd.to_timedelta(rng.uniform(0, horizon_days, owner.size), unit="D")).floor(
        "s"
    )
    parts.append(
        pd.DataFrame(
            {"i": owner, "type": "page_view", "timestamp": ts, "url": "/pricing", "form": None}
        )
    )
    ev = pd.concat(parts, ignore_index=True)
    ev["contact_id"] = contacts["contact_id"].to_numpy()[ev["i"].to_numpy()]
    ev["event_id"] = [f"e{i:08d}" for i in range(len(ev))]
    ev = ev[["event_id", "contact_id", "type", "timestamp", "url", "form"]]
    return contacts, ev.sample(frac=1.0, random_state=seed).reset_index(drop=True)
