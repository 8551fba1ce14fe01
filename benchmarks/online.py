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

from workload import AS_OF, TYPES, URLS, thirty_rule_model

from leadscore.rules import Contact, Event, Scorer


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
