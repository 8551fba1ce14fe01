"""Generate the small example data the README uses (deterministic, seed 4).

    python examples/make_example_data.py

writes examples/contacts.csv and examples/events.csv. The data is synthetic but
shaped like a B2B funnel: a mix of good-fit and poor-fit leads, spammy sign-ups,
and activity over the six months before 2026-11-01.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).parent
END = datetime(2026, 11, 1, tzinfo=UTC)

FIRST = [
    "Ann",
    "Bob",
    "Chen",
    "Dmitri",
    "Eva",
    "Farah",
    "Goran",
    "Hana",
    "Ivan",
    "Julia",
    "Kenji",
    "Lea",
]
LAST = ["Smith", "Wang", "Ivanova", "Garcia", "Müller", "Kim", "Rossi", "Novak", "Brown", "Sato"]
TITLES = [
    "VP Marketing",
    "Director of Sales",
    "Head of Growth",
    "Marketing Manager",
    "Analyst",
    "Chief Revenue Officer",
    "Student",
    "Engineer",
    "Intern",
    "Operations Lead",
]
INDUSTRIES = ["software", "saas", "fintech", "retail", "education", "manufacturing", "healthcare"]
COUNTRIES = ["US", "US", "US", "CA", "GB", "DE", "CN", "RU", "BR"]
COMPANY = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Stark Industries",
    "Wayne Corp",
    "Vandelay",
]
URLS = [
    "/",
    "/blog/scoring-101",
    "/blog/funnels",
    "/product",
    "/pricing",
    "/pricing/enterprise",
    "/careers",
    "/docs/start",
    "/demo",
    "/customers",
]
FREE = ["gmail.com", "yahoo.com", "qq.com", "mail.ru"]


def main(n_contacts: int = 200) -> None:
    rng = random.Random(4)
    contacts, events = [], []
    for i in range(1, n_contacts + 1):
        cid = f"c{i:04d}"
        first, last = rng.choice(FIRST), rng.choice(LAST)
        company = rng.choice(COMPANY)
        spam = rng.random() < 0.08
        if spam:
            first, last, company = "asdf", "qwer", "zxcv ltd"
        domain = (
            rng.choice(FREE) if rng.random() < 0.25 else company.lower().replace(" ", "") + ".com"
        )
        if rng.random() < 0.03:
            domain = "mailinator.com"
        phone = rng.choice(["+1 650 253 0000", "+44 20 7946 0958", "+1 212 555 0100", "12345", ""])
        contacts.append(
            {
                "contact_id": cid,
                "first_name": first,
                "last_name": last,
                "email": f"{first.lower()}.{last.lower()}@{domain}",
                "phone": phone,
                "job_title": rng.choice(TITLES),
                "company": company,
                "industry": rng.choice(INDUSTRIES),
                "employees": rng.choice(["12", "80", "250", "1200", "9000", ""]),
                "country": rng.choice(COUNTRIES),
                "budget_confirmed": rng.choice(["yes", "no", ""]),
                "authority": rng.choice(["decision maker", "influencer", ""]),
                "created_at": (END - timedelta(days=rng.randint(1, 200))).isoformat(),
            }
        )
        activity = rng.choice([0, 2, 5, 15, 40]) if not spam else 1
        for j in range(activity):
            when = END - timedelta(days=rng.expovariate(1 / 40), minutes=rng.randint(0, 1440))
            kind = rng.choices(
                [
                    "page_view",
                    "email_open",
                    "email_click",
                    "content_download",
                    "form_submit",
                    "webinar_attended",
                    "event_attended",
                    "social_share",
                ],
                weights=[60, 15, 8, 5, 3, 3, 1, 2],
            )[0]
            event = {
                "event_id": f"{cid}-e{j:03d}",
                "contact_id": cid,
                "type": kind,
                "timestamp": when.replace(microsecond=0).isoformat(),
                "url": "",
                "form": "",
                "email_id": "",
                "campaign": "",
            }
            if kind == "page_view":
                event["url"] = rng.choice(URLS)
            elif kind == "form_submit":
                event["form"] = rng.choice(["demo", "newsletter", "trial"])
                event["url"] = "/demo" if event["form"] == "demo" else "/"
            elif kind.startswith("email"):
                event["email_id"] = rng.choice(["demo-invite", "newsletter-oct", "case-study"])
                event["campaign"] = "autumn-nurture"
            events.append(event)
    events.sort(key=lambda e: e["timestamp"])
    for name, rows in (("contacts.csv", contacts), ("events.csv", events)):
        with (HERE / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    print(f"wrote {len(contacts)} contacts and {len(events)} events to {HERE}")


if __name__ == "__main__":
    main()
