"""Draining the outbox into one CRM: used by the service's worker thread and by
``leadscore sync`` (which first queues every scored contact: the backfill)."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from leadscore.crm import outbox
from leadscore.crm.config import CrmConfig
from leadscore.crm.connector import Connector, Record
from leadscore.crm.http import Permanent, Sleep, Transient
from leadscore.crm.outbox import Claimed, Outcome, Settled
from leadscore.crm.values import contact_query
from leadscore.store import Store, now_us

log = logging.getLogger("leadscore.crm")

MIN_WAIT = 0.05  # seconds between looks while rows wait for their backoff or lease


def make_connector(
    config: CrmConfig, name: str, sleep: Sleep = time.sleep, allow: Sequence[str] = ()
) -> Connector:
    """``allow``: private networks the CRM's URL may point into (``allow_private_networks``)."""
    if name == "hubspot" and config.hubspot is not None:
        from leadscore.crm.hubspot import HubSpot

        return HubSpot(config.hubspot, config.sync, sleep, allow)
    if name == "salesforce" and config.salesforce is not None:
        from leadscore.crm.salesforce import Salesforce

        return Salesforce(config.salesforce, config.sync, sleep, allow)
    raise ValueError(f"the CRM config has no '{name}' section")


class CrmSync:
    """Sends one connector's due outbox rows, one batch per :meth:`step`."""

    def __init__(
        self,
        store: Store,
        config: CrmConfig,
        name: str,
        sleep: Sleep = time.sleep,
        connector: Connector | None = None,
        allow: Sequence[str] = (),
    ):
        self.store = store
        self.policy = config.sync
        self.name = name
        self.sleep = sleep
        self.connector = connector or make_connector(config, name, sleep, allow)
        # Who holds a lease (several servers may share one database).
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    def step(self) -> Settled | None:
        """Claim, send and settle one batch; None when nothing is due."""
        claimed = outbox.claim(
            self.store, self.name, self.connector.batch_size, self.policy.lease_seconds, self.owner
        )
        if not claimed:
            return None
        with self.store.read() as conn:
            rows = {
                r.contact_id: r
                for r in conn.execute(contact_query([c.contact_id for c in claimed]))
            }
        outcomes: dict[int, Outcome] = {}
        records: list[Record] = []
        sending: list[Claimed] = []
        for row in claimed:
            contact = rows.get(row.contact_id)
            built = "contact erased" if contact is None else self.connector.build(contact)
            if isinstance(built, str):
                outcomes[row.id] = Outcome(ok=False, skipped=True, error=built)
            else:
                records.append(built)
                sending.append(row)
        if records:
            for row, outcome in zip(sending, self._send(records), strict=True):
                outcomes[row.id] = outcome
        settled = outbox.settle(self.store, claimed, outcomes, self.policy, self.owner)
        if settled.dead:
            log.warning("%s: %d record(s) moved to the dead letters", self.name, settled.dead)
        return settled

    def _send(self, records: list[Record]) -> list[Outcome]:
        try:
            self.connector.prepare()
            return self.connector.send(records)
        except Transient as exc:
            log.warning("%s unavailable, will retry: %s", self.name, exc)
            return [
                Outcome(
                    ok=False,
                    status=exc.status,
                    error=str(exc),
                    retry_after=exc.retry_after,
                    payload=r.body,
                )
                for r in records
            ]
        except Permanent as exc:
            log.error("%s refused the batch: %s", self.name, exc)
            return [
                Outcome(ok=False, permanent=True, status=exc.status, error=str(exc), payload=r.body)
                for r in records
            ]

    def drain(
        self,
        on_step: Callable[[Settled], None] | None = None,
        stop: threading.Event | None = None,
    ) -> Settled:
        """Send until no pending row is left (waiting out backoffs); the dead letters stay."""
        total = Settled()
        while stop is None or not stop.is_set():
            settled = self.step()
            if settled is not None:
                total.add(settled)
                if on_step is not None:
                    on_step(settled)
                continue
            due = outbox.next_due_us(self.store, self.name)
            if due is None:
                break
            self.sleep(max(MIN_WAIT, (due - now_us()) / 1_000_000))
        return total

    def close(self) -> None:
        self.connector.close()
