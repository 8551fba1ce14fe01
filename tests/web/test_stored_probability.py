"""The champion predictive model's probability is a stored score: kept with the rule
scores, refreshed on events and on the clock, sortable and filterable in /v1/leads,
returned by GET /v1/contacts/{id}/score."""

from __future__ import annotations

import csv
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadscore.service import clock as service_clock
from leadscore.service.clock import ManualClock
from leadscore.service.contacts import upsert_contact
from leadscore.service.keys import create_key
from leadscore.service.predictive import predict
from leadscore.service.scoring import us_to_dt

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLES_AS_OF = datetime(2026, 11, 1, tzinfo=UTC)
N = 40


def _seed(service: Any, shift: timedelta) -> None:
    with (EXAMPLES / "contacts.csv").open(newline="", encoding="utf-8") as handle:
        people = list(csv.DictReader(handle))[:N]
    ids = set()
    for row in people:
        cid = row.pop("contact_id")
        ids.add(cid)
        row.pop("email")
        fields = {k: v for k, v in row.items() if v != ""}
        if "created_at" in fields:
            fields["created_at"] = (
                datetime.fromisoformat(fields["created_at"]) + shift
            ).isoformat()
        upsert_contact(service.store, cid, fields=fields)
    items = []
    with (EXAMPLES / "events.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["contact_id"] not in ids:
                continue
            props = {
                k: v
                for k, v in row.items()
                if k not in ("event_id", "contact_id", "type", "timestamp") and v != ""
            }
            at = datetime.fromisoformat(row["timestamp"]) + shift
            items.append(
                {
                    "event_id": row["event_id"],
                    "contact_id": row["contact_id"],
                    "type": row["type"],
                    "timestamp": at.isoformat(),
                    "properties": props,
                }
            )
    assert service.ingest(items, "events").summary()["rejected"] == 0
    service.drain()


def test_probability_is_stored_sorted_filtered_and_follows_the_clock(
    live_server: Any, tmp_path: Path
) -> None:
    from leadscore.api.app import create_app
    from leadscore.service.settings import Settings

    registry = tmp_path / "registry"
    shutil.copytree(live_server.registry, registry)
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    with service_clock.installed(clock):
        app = create_app(
            Settings(
                db_url=str(tmp_path / "p.db"),
                model_path=str(EXAMPLES / "model.yaml"),
                registry_path=str(registry),
                run_workers=False,
            )
        )
        with TestClient(app) as client:
            service = app.state.service
            assert service.predictive.load() is not None
            headers = {"Authorization": f"Bearer {create_key(service.store, ['read'])['key']}"}
            _seed(service, timedelta(days=(clock.now() - EXAMPLES_AS_OF).days))
            champion = service.predictive.current()

            def fresh(cid: str, at: datetime) -> float:
                person, history = service.engine.load_one(cid)
                (p,) = predict(champion, [(person, history)], at)
                return p.probability

            listed = client.get(
                "/v1/leads", params={"sort": "-probability", "limit": N}, headers=headers
            ).json()
            probs = [item["probability"] for item in listed["items"]]
            assert len(probs) == N and None not in probs
            assert probs == sorted(probs, reverse=True)
            assert len(set(probs)) > 1  # the model tells leads apart
            top = listed["items"][0]
            assert top["predictive_version"] == champion.version
            moment = us_to_dt(top["scored_as_of_us"])
            assert top["probability"] == pytest.approx(fresh(top["contact_id"], moment), abs=1e-9)

            cut = probs[N // 2]
            filtered = client.get(
                "/v1/leads", params={"min_probability": cut, "limit": N}, headers=headers
            ).json()
            assert filtered["total"] == sum(p >= cut for p in probs)
            assert all(item["probability"] >= cut for item in filtered["items"])

            score = client.get(f"/v1/contacts/{top['contact_id']}/score", headers=headers).json()
            assert score["probability"] == top["probability"]
            factors = score["probability_factors"]
            assert factors["positive"] or factors["negative"]

            # On the clock: a day later every stored probability is refreshed as of then.
            clock.advance(days=1, seconds=1)
            assert service.rescore_due() == N
            later = service.store
            with later.read() as conn:
                from sqlalchemy import select

                from leadscore.store.tables import contacts

                rows = conn.execute(
                    select(
                        contacts.c.contact_id, contacts.c.probability, contacts.c.scored_as_of_us
                    )
                ).all()
            now_us = round(clock.now().timestamp() * 1e6)
            assert {r.scored_as_of_us for r in rows} == {now_us}
            sample = rows[0]
            assert sample.probability == pytest.approx(
                fresh(sample.contact_id, clock.now()), abs=1e-9
            )
