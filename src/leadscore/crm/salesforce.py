"""Salesforce: REST sObject Collections update of Lead and Contact records.

* ``PATCH /services/data/vXX.X/composite/sobjects`` with ``allOrNone: false`` and
  at most 200 ``records``, each ``{"attributes": {"type": "Lead"}, "id": ..., field: value}``.
  The answer is a list of SaveResults in request order: ``{"id", "success",
  "errors": [{"statusCode", "message", "fields"}]}``; one record failing does not
  stop the others.
* Records are found by the record id kept in a contact field (``id_field``); its
  prefix tells a Lead (``00Q``) from a Contact (``003``).
* Custom fields (``Lead_Score__c``...) are created by a Salesforce admin; before
  the first batch each object's ``describe`` is read to name any that are missing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from leadscore.crm.config import SalesforceSettings, SyncSettings
from leadscore.crm.connector import Record, one_by_one, with_payload
from leadscore.crm.http import CrmHttp, Permanent, Sleep
from leadscore.crm.outbox import Outcome
from leadscore.crm.values import field_value

PREFIXES = {"00Q": "Lead", "003": "Contact"}
# Per-record failures that pass by themselves (a locked row, a busy org).
TRANSIENT_CODES = {"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"}


def salesforce_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float):
        return round(value, 4)
    return value


class Salesforce:
    name = "salesforce"

    def __init__(
        self,
        settings: SalesforceSettings,
        policy: SyncSettings,
        sleep: Sleep = time.sleep,
        allow: Sequence[str] = (),
    ):
        self.settings = settings
        self.batch_size = settings.batch_size
        self.root = f"/services/data/v{settings.api_version}"
        self.http = CrmHttp(
            settings.base_url(),
            settings.token(),
            policy,
            None,
            sleep,
            allow,
            settings.base_url_key(),
        )
        self.prepared = False

    def prepare(self) -> None:
        if self.prepared:
            return
        for sobject, mapping in self.settings.objects.items():
            answer = self.http.request("GET", f"{self.root}/sobjects/{sobject}/describe")
            if answer.status_code >= 300:
                raise Permanent(
                    f"Salesforce refused describing {sobject}: HTTP {answer.status_code}: "
                    f"{answer.text[:300]}",
                    answer.status_code,
                )
            fields = {f["name"]: f for f in answer.json().get("fields", [])}
            missing = [name for name in mapping.values() if name not in fields]
            locked = [
                n for n in mapping.values() if n in fields and not fields[n].get("updateable")
            ]
            if missing or locked:
                problems = []
                if missing:
                    problems.append(f"missing fields {', '.join(missing)}")
                if locked:
                    problems.append(f"read-only fields {', '.join(locked)}")
                raise Permanent(
                    f"Salesforce {sobject}: {'; '.join(problems)} (create them, or fix "
                    f"salesforce.objects.{sobject} in the CRM config)"
                )
        self.prepared = True

    def build(self, row: Any) -> Record | str:
        field = self.settings.id_field
        record_id = (row.fields or {}).get(field)
        if record_id in (None, ""):
            return f"no Salesforce id in field '{field}'"
        record_id = str(record_id)
        sobject = PREFIXES.get(record_id[:3])
        if sobject is None:
            return f"'{record_id}' is neither a Lead (00Q...) nor a Contact (003...) id"
        mapping = self.settings.objects.get(sobject)  # type: ignore[call-overload]
        if mapping is None:
            return f"{sobject} records are not mapped"
        body: dict[str, Any] = {"attributes": {"type": sobject}, "id": record_id}
        for source, target in mapping.items():
            body[target] = salesforce_value(field_value(row, source))
        return Record(row.contact_id, record_id, body)

    def send(self, records: Sequence[Record]) -> list[Outcome]:
        # Grouped by type: Salesforce processes a mixed list in chunks of one type
        # each (at most 10), so Leads then Contacts is two chunks at most.
        order = sorted(range(len(records)), key=lambda i: records[i].body["attributes"]["type"])
        ordered = [records[i] for i in order]
        answer = self.http.request(
            "PATCH",
            f"{self.root}/composite/sobjects",
            json={"allOrNone": False, "records": [r.body for r in ordered]},
        )
        code = answer.status_code
        if code == 200:
            results = answer.json()
            if not isinstance(results, list) or len(results) != len(ordered):
                raise Permanent(f"Salesforce answered {len(results)} results for {len(ordered)}")
            by_record = [_outcome(r, res) for r, res in zip(ordered, results, strict=True)]
        else:
            rejected = Outcome(
                ok=False, permanent=True, status=code, error=f"HTTP {code}: {answer.text[:500]}"
            )
            if code == 400:
                by_record = one_by_one(ordered, self.send, with_payload(rejected, ordered[0]))
            else:
                by_record = [with_payload(rejected, r) for r in ordered]
        outcomes: list[Outcome] = [Outcome(ok=False)] * len(records)
        for position, index in enumerate(order):
            outcomes[index] = by_record[position]
        return outcomes

    def close(self) -> None:
        self.http.close()


def _outcome(record: Record, result: dict[str, Any]) -> Outcome:
    if result.get("success"):
        return Outcome(ok=True, status=200)
    errors = result.get("errors") or []
    message = "; ".join(
        f"{e.get('statusCode', 'ERROR')}: {e.get('message', '')}"
        + (f" ({', '.join(e['fields'])})" if e.get("fields") else "")
        for e in errors
    )
    transient = bool(errors) and all(e.get("statusCode") in TRANSIENT_CODES for e in errors)
    return Outcome(
        ok=False,
        permanent=not transient,
        status=200,
        error=message or "failed without an error",
        payload=record.body,
    )
