"""The queue shows, sorts and filters by the stored predictive probability, and the
lead page shows the stored probability when it is current (HTTP only, no browser)."""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from tests.web.conftest import admin_key
from tests.web.test_stored_probability import EXAMPLES, EXAMPLES_AS_OF, N, _seed

from leadscore.service import clock as service_clock
from leadscore.service.clock import ManualClock
from leadscore.store.tables import contacts

ROW = re.compile(r'<tr data-contact="([^"]+)">')


def _signed_in(client: TestClient, service: Any) -> None:
    client.headers["X-API-Key"] = admin_key(service)


def _app(tmp_path: Path, registry: Path | None) -> Any:
    from leadscore.api.app import create_app
    from leadscore.service.settings import Settings

    return create_app(
        Settings(
            db_url=str(tmp_path / "q.db"),
            model_path=str(EXAMPLES / "model.yaml"),
            registry_path=str(registry) if registry is not None else None,
            run_workers=False,
        )
    )


def _stored(service: Any) -> dict[str, float | None]:
    with service.store.read() as conn:
        return dict(conn.execute(select(contacts.c.contact_id, contacts.c.probability)).all())


def test_queue_sorts_and_filters_by_stored_probability(live_server: Any, tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    shutil.copytree(live_server.registry, registry)
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    with service_clock.installed(clock):
        app = _app(tmp_path, registry)
        with TestClient(app) as client:
            service = app.state.service
            assert service.predictive.load() is not None
            _seed(service, timedelta(days=(clock.now() - EXAMPLES_AS_OF).days))
            _signed_in(client, service)
            stored = _stored(service)
            assert len(stored) == N and None not in stored.values()

            page = client.get("/dashboard/", params={"sort": "probability", "stage": "all"})
            assert page.status_code == 200
            assert "Chance to convert" in page.text
            shown = ROW.findall(page.text)
            assert len(shown) == N
            probs = [stored[cid] for cid in shown]
            assert probs == sorted(probs, reverse=True)  # type: ignore[type-var]
            assert len(set(probs)) > 1
            # The default order (grade first) differs: sorting really switched.
            default = ROW.findall(client.get("/dashboard/", params={"stage": "all"}).text)
            assert set(default) == set(shown) and default != shown

            # Halfway between two stored values, so the percentage's rounding cannot matter.
            values = sorted({v for v in stored.values() if v is not None})
            cut = (values[len(values) // 2] + values[len(values) // 2 + 1]) / 2
            filtered = client.get(
                "/dashboard/",
                params={"sort": "probability", "stage": "all", "min_chance": f"{cut * 100!r}"},
            )
            kept = ROW.findall(filtered.text)
            assert set(kept) == {c for c, p in stored.items() if p is not None and p >= cut}
            assert 0 < len(kept) < N

            # The lead page shows the stored probability, not one computed now: a day
            # later (nothing rescored) it still shows the stored figure and moment.
            top = shown[0]
            clock.advance(days=1)
            lead = client.get(f"/dashboard/leads/{top}").text
            figure = re.search(r'data-probability="([^"]+)"', lead)
            assert figure is not None and float(figure.group(1)) == stored[top]
            # A stored probability of an older model version is not used: computed live.
            with service.store.write() as conn:
                conn.execute(
                    update(contacts)
                    .where(contacts.c.contact_id == top)
                    .values(predictive_version="v-old", probability=0.5)
                )
            lead = client.get(f"/dashboard/leads/{top}").text
            figure = re.search(r'data-probability="([^"]+)"', lead)
            assert figure is not None and float(figure.group(1)) != 0.5


def test_queue_has_no_probability_column_without_a_registry(tmp_path: Path) -> None:
    app = _app(tmp_path, None)
    with TestClient(app) as client:
        service = app.state.service
        _seed(service, timedelta(days=(datetime.now(UTC) - EXAMPLES_AS_OF).days))
        _signed_in(client, service)
        assert set(_stored(service).values()) == {None}
        page = client.get("/dashboard/", params={"sort": "probability", "min_chance": "50"})
        assert page.status_code == 200
        assert "Chance to convert" not in page.text and 'name="min_chance"' not in page.text
        # Both parameters are ignored: the open leads are listed in priority order.
        listed = ROW.findall(page.text)
        assert listed and listed == ROW.findall(client.get("/dashboard/").text)
