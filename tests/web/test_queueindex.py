"""The queue's in-memory index agrees with the store, before and after changes."""

from __future__ import annotations

import math
from typing import Any

from leadscore.service.contacts import erase_contact
from leadscore.service.leads import list_leads, stage_action
from leadscore.web.data import grade_priority
from leadscore.web.queueindex import QueueIndex


def expected_order(live_server: Any, **filters: Any) -> list[str]:
    """The priority order computed independently from the service's lead list."""
    model = live_server.service.engine.active().model
    priority = {g: i for i, g in enumerate(grade_priority(model))}
    items = list_leads(live_server.service.store, limit=1000, sort="contact_id", **filters)["items"]

    def key(item: dict[str, Any]) -> tuple[float, float, str]:
        value = (item["scores"] or {}).get("engagement", {}).get("value")
        rank = priority.get(item["grade"], len(priority) + 1)
        return (rank, -value if value is not None else math.inf, item["contact_id"])

    return [i["contact_id"] for i in sorted(items, key=key)]


def test_order_and_filters_match_the_store(live_server: Any) -> None:
    index = QueueIndex.for_store(live_server.service.store)
    priority = grade_priority(live_server.service.engine.active().model)
    every = index.match(priority=priority, sort_score="engagement", limit=1000)
    assert every.ids == expected_order(live_server)
    assert every.total == len(every.ids)
    page = index.match(priority=priority, sort_score="engagement", offset=20, limit=10)
    assert page.ids == every.ids[20:30]
    owned = index.match(
        priority=priority, sort_score="engagement", owner="ben", stages=["lead"], limit=1000
    )
    assert owned.ids == expected_order(live_server, owner="ben", stage=["lead"])
    high = index.match(
        priority=priority, sort_score="engagement", score="fit", min_score=40, limit=1000
    )
    assert high.ids == expected_order(live_server, score="fit", min_score=40)


def test_changes_show_up_without_a_reload(live_server: Any) -> None:
    store = live_server.service.store
    index = QueueIndex.for_store(store)
    priority = grade_priority(live_server.service.engine.active().model)
    index.refresh()
    loaded_at = index._loaded_at
    target = list_leads(store, stage=["lead"], limit=1)["items"][0]["contact_id"]
    stage_action(store, target, "accept", actor="test")
    sql = index.match(priority=priority, sort_score="engagement", stages=["sql"], limit=1000)
    assert target in sql.ids
    assert index._loaded_at == loaded_at  # incremental: one contact re-read
    before = index.match(priority=priority, sort_score=None, limit=1000).total
    erase_contact(store, "c0150")
    after = index.match(priority=priority, sort_score=None, limit=1000)
    assert after.total == before - 1 and "c0150" not in after.ids
