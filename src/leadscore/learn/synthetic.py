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


CRM_END = pd.Timestamp("2026-01-01", tz="UTC")
CAMPAIGNS = np.array(["webinar", "newsletter", "promo"])


def make_crm_world(
    n: int = 5000,
    *,
    seed: int = 0,
    span_days: float = 240.0,
    base_rate: float = 0.2,
    window_days: float = 90.0,
    active_days: float = 89.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """A CRM export as a new user would bring it: ``(contacts, events, truth)``.

    Leads are created over the ``span_days`` before the export (:data:`CRM_END`), so
    they are of mixed ages at the export. Each converts within ``window_days`` of
    its creation or not at all; the conversion day is uniform over that window, so
    many convert long after a ``created+30d`` snapshot, and a conversion after the
    export is not in ``converted_at`` (it has not happened yet). Activity runs from
    creation for ``active_days`` (or until the export), before and after any
    snapshot: companies of 30-300 employees convert far more (a bump, not a trend), a
    latent intent drives pricing views and their session ``seconds``
    (a numeric property), webinar e-mail opens (a categorical ``campaign``) and,
    negatively, careers-page visits; converters keep visiting after converting.

    ``truth`` has, for every lead, whether and when it converts, even after the
    export: the rates a training set should reproduce.
    """
    rng = np.random.default_rng(seed)
    created = (CRM_END - pd.to_timedelta(rng.uniform(0, span_days, n), unit="D")).floor("s")
    intent = rng.normal(size=n)
    industry = INDUSTRIES[rng.integers(0, len(INDUSTRIES), n)]
    company_size = np.maximum(np.round(np.exp(rng.normal(4, 1.2, n))), 1).astype(int)
    log_odds = (
        np.log(base_rate / (1 - base_rate))
        + 1.1 * intent
        + 0.6 * (industry == "software")
        # mid-sized companies buy: a bump no straight line through the size can follow
        + 2.0 * ((company_size >= 30) & (company_size <= 300))
        - 1.2
    )
    converts = rng.random(n) < 1 / (1 + np.exp(-log_odds))
    delay = rng.uniform(1, window_days - 0.01, n)
    convert_at = (created + pd.to_timedelta(delay, unit="D")).floor("s")
    truth = pd.DataFrame(
        {
            "contact_id": [f"L{i:06d}" for i in range(n)],
            "converts": converts,
            "convert_at": pd.Series(convert_at).where(converts, pd.NaT),
            "intent": intent,
        }
    )
    observed = truth["convert_at"].where(truth["convert_at"] <= CRM_END, pd.NaT)
    contacts = pd.DataFrame(
        {
            "contact_id": truth["contact_id"],
            "created_at": created,
            "industry": industry,
            "company_size": company_size,
            "source": np.array(["ads", "organic", "referral"])[rng.integers(0, 3, n)],
            "converted_at": observed,
        }
    )
    age_at_end = (CRM_END - created) / pd.Timedelta(days=1)
    life = np.minimum(np.asarray(age_at_end, dtype=float), active_days)
    rate_scale = life / 30.0  # expected events per 30 days of life

    def spread(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        owner = np.repeat(np.arange(n), counts)
        offset = rng.uniform(0, 1, owner.size) * life[owner]
        stamps = created[owner] + pd.to_timedelta(offset, unit="D")
        return owner, np.asarray(stamps.floor("s"))

    parts = []
    owner, ts = spread(rng.poisson(rate_scale * 1.2 * np.exp(0.6 * intent)))
    seconds = np.round(rng.gamma(2.0, 30.0 * np.exp(0.5 * intent[owner])))
    parts.append(
        pd.DataFrame(
            {
                "i": owner,
                "type": "page_view",
                "timestamp": ts,
                "url": "/pricing",
                "seconds": seconds,
                "campaign": None,
            }
        )
    )
    owner, ts = spread(rng.poisson(rate_scale * 0.6 * np.exp(-0.7 * intent)))
    parts.append(
        pd.DataFrame(
            {
                "i": owner,
                "type": "page_view",
                "timestamp": ts,
                "url": "/careers",
                "seconds": np.round(rng.gamma(2.0, 40.0, owner.size)),
                "campaign": None,
            }
        )
    )
    owner, ts = spread(rng.poisson(rate_scale * 1.5))
    parts.append(
        pd.DataFrame(
            {
                "i": owner,
                "type": "page_view",
                "timestamp": ts,
                "url": "/blog/post",
                "seconds": np.round(rng.gamma(2.0, 40.0, owner.size)),
                "campaign": None,
            }
        )
    )
    owner, ts = spread(rng.poisson(rate_scale * 2.0))
    webinar = rng.random(owner.size) < 1 / (1 + np.exp(-(intent[owner] - 1.0)))
    other = CAMPAIGNS[1 + rng.integers(0, 2, owner.size)]
    parts.append(
        pd.DataFrame(
            {
                "i": owner,
                "type": "email_open",
                "timestamp": ts,
                "url": None,
                "seconds": np.nan,
                "campaign": np.where(webinar, "webinar", other),
            }
        )
    )
    # after converting: onboarding visits, up to the export; never a feature
    won = np.flatnonzero(converts & (convert_at <= CRM_END))
    late = rng.poisson(5.0, won.size)
    owner = np.repeat(won, late)
    room = (CRM_END - convert_at[owner]) / pd.Timedelta(days=1)
    ts = convert_at[owner] + pd.to_timedelta(
        rng.uniform(0, 1, owner.size) * np.minimum(room, 30), unit="D"
    )
    parts.append(
        pd.DataFrame(
            {
                "i": owner,
                "type": "page_view",
                "timestamp": np.asarray(ts.floor("s")),
                "url": "/app/onboarding",
                "seconds": 300.0,
                "campaign": None,
            }
        )
    )
    ev = pd.concat(parts, ignore_index=True)
    ev["contact_id"] = truth["contact_id"].to_numpy()[ev["i"].to_numpy()]
    ev = ev.sort_values("timestamp", kind="stable").reset_index(drop=True)
    ev["event_id"] = [f"E{i:08d}" for i in range(len(ev))]
    ev = ev[["event_id", "contact_id", "type", "timestamp", "url", "seconds", "campaign"]]
    return contacts, ev, truth
