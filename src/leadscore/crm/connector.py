"""What the two connectors share: records, and isolating a bad record in a batch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from leadscore.crm.outbox import Outcome


@dataclass(frozen=True)
class Record:
    """One contact as the CRM will receive it."""

    contact_id: str
    key: str  # how the CRM finds it: an email or a record id
    body: dict[str, Any]


class Connector(Protocol):
    name: str
    batch_size: int

    def prepare(self) -> None:
        """Check (HubSpot: create) the CRM properties before the first batch."""

    def build(self, row: Any) -> Record | str:
        """The record for a contact row, or why there is nothing to send."""

    def send(self, records: Sequence[Record]) -> list[Outcome]:
        """Send one batch; one outcome per record, in order."""

    def close(self) -> None: ...


def one_by_one(
    records: Sequence[Record],
    send: Callable[[Sequence[Record]], list[Outcome]],
    rejected: Outcome,
) -> list[Outcome]:
    """A batch the CRM refused as a whole (HTTP 400) may hold one bad record: send
    each alone so the others go through and only the bad one is a dead letter."""
    if len(records) == 1:
        return [rejected]
    outcomes: list[Outcome] = []
    for record in records:
        outcomes.extend(send([record]))
    return outcomes


def with_payload(outcome: Outcome, record: Record) -> Outcome:
    return replace(outcome, payload=record.body)
