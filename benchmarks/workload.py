"""The workload shared by the online and batch benchmarks: event types, urls, the 30-rule model.

benchmarks/online.py scores it with the Python evaluator, benchmarks/batch.py with
the compiled SQL (and a pandas re-implementation), so both measure the same rules.
"""

from __future__ import annotations

from datetime import UTC, datetime

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
