"""Online evaluator throughput: 10,000 contacts x 100 events, a 30-rule model.

    python benchmarks/online.py [--contacts 10000] [--events-per-contact 100]

Scores every contact with its contributions on one core and prints events/s. The
reference point from the issue: a plain dict-based Python matcher does about
87,000 events/s with rescoring on this machine; the target is under 15 s for
the 1,000,000 events. Data generation is not timed.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from datetime import UTC, datetime, timedelta

from leadscore.rules import Contact, Event, Scorer
from leadscore.spec import model_from_dict
from leadscore.spec.model import ScoringModel

AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
TYPES = [f"type_{i:02d}" for i in range(12)] + [
    "page_view",
    "form_submit",
    "email_open",
    "email_click",
    "content_download",
    "webinar_attended",
    "event_attended",
    "social_share",
]
URLS = [f"/section{i % 20}/page{i}" for i in range(1000)] + [
    "/pricing",
    "/pricing/pro",
    "/demo",
    "/careers",
]


def thirty_rule_model() -> ScoringModel:
    """20 event rules with filters, caps and decay; 10 profile and quality rules."""
    event_rules = [
        {
            "id": "pricing",
            "on": "page_view",
            "where": {"url": {"starts_with": "/pricing"}},
            "points": 10,
            "max_points": 30,
            "half_life_days": 30,
        },
        {
            "id": "visits",
            "on": "page_view",
            "points": 1,
            "place": "web",
            "max_points": 20,
            "half_life_days": 14,
        },
        {
            "id": "demo",
            "on": "form_submit",
            "where": {"form": "demo"},
            "points": 40,
            "first_time_only": True,
        },
        {
            "id": "trial",
            "on": "form_submit",
            "where": {"form": "trial"},
            "points": 30,
            "within_days": 90,
        },
        {"id": "clicks", "on": "email_click", "points": 3, "max_points": 15, "within_days": 90},
        {
            "id": "demo-mail",
            "on": "email_click",
            "where": {"email_id": {"starts_with": "demo-"}},
            "points": 10,
            "max_points": 20,
        },
        {"id": "opens", "on": "email_open", "points": 0.5, "max_count": 10, "decay_days": 60},
        {
            "id": "download",
            "on": "content_download",
            "points": 10,
            "max_count": 3,
            "half_life_days": 60,
        },
        {"id": "webinar", "on": "webinar_attended", "points": 30, "half_life_days": 60},
        {"id": "event", "on": "event_attended", "points": 50, "decay_days": 180},
        {"id": "social", "on": "social_share", "points": 5, "max_points": 15},
        {
            "id": "careers",
            "on": "page_view",
            "where": {"url": {"contains": "careers"}},
            "points": -5,
            "max_points": 15,
        },
    ]
    for i in range(6):
        event_rules.append(
            {
                "id": f"section{i}",
                "on": "page_view",
                "where": {"url": {"starts_with": f"/section{i}/"}},
                "points": 2,
                "max_points": 10,
                "half_life_days": 21,
            }
        )
    event_rules.append(
        {
            "id": "busy",
            "on": "page_view",
            "within_days": 30,
            "tiers": [
                {"at_least": 3, "points": 5},
                {"at_least": 10, "points": 15},
                {"at_least": 30, "points": 25},
            ],
        }
    )
    event_rules.append({"id": "quiet", "inactive_days": 30, "points": -30})
    profile_rules = [
        {
            "id": "title",
            "when": {"field": "job_title", "regex": "(?i)\\b(vp|director|head|chief)\\b"},
            "points": 15,
        },
        {
            "id": "industry",
            "when": {"field": "industry", "in": ["software", "saas", "fintech"]},
            "points": 20,
        },
        {"id": "size", "when": {"field": "employees", "between": [50, 5000]}, "points": 15},
        {"id": "budget", "when": {"field": "budget", "is_true": True}, "points": 10},
        {"id": "market", "when": {"field": "country", "not_in": ["US", "CA", "GB"]}, "points": -20},
        {"id": "free", "when": {"check": "free_email"}, "points": -10},
        {"id": "throwaway", "when": {"check": "disposable_email"}, "points": -30},
        {"id": "phone", "when": {"check": "invalid_phone"}, "points": -5},
        {
            "id": "spam",
            "when": {"any": [{"check": "keyboard_walk"}, {"check": "not_capitalised"}]},
            "points": -15,
        },
        {"id": "company", "when": {"check": "missing_company"}, "points": -5},
    ]
    return model_from_dict(
        {
            "places": {"web": {"weights": {"/pricing*": 2, "/demo*": 2, "/careers*": 0.2}}},
            "scores": {
                "fit": {"grades": {"A": 60, "B": 40, "C": 20, "D": None}, "rules": profile_rules},
                "engagement": {
                    "grades": {"4": 75, "3": 50, "2": 25, "1": None},
                    "rules": event_rules,
                },
            },
            "combined_grade": ["fit", "engagement"],
            "surge": {"score": "engagement", "days": 7, "min_points": 40},
            "lifecycle": {"mql": {"fit": ">= 40", "engagement": ">= 50"}},
        }
    )


def generate(
    n_contacts: int, per_contact: int, seed: int = 0
) -> tuple[list[Contact], dict[str, list[Event]]]:
    rng = random.Random(seed)
    contacts, events = [], {}
    for c in range(n_contacts):
        cid = f"c{c}"
        contacts.append(
            Contact(
                cid,
                {
                    "job_title": rng.choice(["VP Sales", "Analyst", "Head of Growth", "student"]),
                    "industry": rng.choice(["software", "retail", "saas", "education"]),
                    "employees": str(rng.choice([10, 200, 1000, 9000])),
                    "budget": rng.choice(["yes", "no", ""]),
                    "country": rng.choice(["US", "DE", "GB", "CN"]),
                    "email": f"user{c}@"
                    + rng.choice(["gmail.com", "acme.com", "mailinator.com", f"corp{c % 500}.com"]),
                    "phone": rng.choice(["+1 650 253 0000", "12345", ""]),
                    "first_name": rng.choice(["Ann", "asdf", "bob"]),
                    "company": rng.choice(["Acme", "", "Globex"]),
                },
            )
        )
        evs = []
        for j in range(per_contact):
            kind = rng.choice(TYPES)
            props = {
                "url": rng.choice(URLS) if kind == "page_view" else None,
                "form": rng.choice(["demo", "trial", "newsletter"])
                if kind == "form_submit"
                else None,
                "email_id": rng.choice(["demo-1", "news-3"]) if kind.startswith("email") else None,
            }
            evs.append(
                Event(
                    f"{cid}-{j}",
                    cid,
                    kind,
                    AS_OF - timedelta(seconds=rng.randint(0, 365 * 86400)),
                    props,
                )
            )
        events[cid] = evs
    return contacts, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--events-per-contact", type=int, default=100)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {0})  # one core, as the target says
    model = thirty_rule_model()
    assert sum(len(s.rules) for s in model.scores.values()) == 30
    contacts, events = generate(args.contacts, args.events_per_contact)
    total = sum(len(v) for v in events.values())
    scorer = Scorer(model)
    start = time.perf_counter()
    contributions = 0
    for contact in contacts:
        result = scorer.score(contact, events[contact.contact_id], AS_OF)
        contributions += len(result.contributions)
    elapsed = time.perf_counter() - start
    print(
        f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: {platform.machine()}, "
        f"{os.cpu_count()} cores (pinned to 1), Python {platform.python_version()}; load: {os.getloadavg()}"
    )
    print(
        f"{len(contacts):,} contacts, {total:,} events, 30 rules: {elapsed:.2f} s, "
        f"{total / elapsed:,.0f} events/s, {contributions:,} contributions"
    )


if __name__ == "__main__":
    main()
