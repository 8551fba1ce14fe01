"""HubSpot: CRM v3 contacts, batch update by email (or by stored record id).

* ``POST /crm/v3/objects/contacts/batch/update`` with at most 100 ``inputs``,
  each ``{"id": ..., "idProperty": "email", "properties": {...}}``. The answer is
  200 when every input was updated, 207 (multi-status) when some failed, with
  ``errors[].context.ids`` naming the failed inputs.
* Custom properties are created when missing (``GET/POST
  /crm/v3/properties/contacts``), in their own property group.
* Requests stay under the private-app limit (190 per 10 s) on our side.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from leadscore.crm.config import HubSpotSettings, SyncSettings
from leadscore.crm.connector import Record, one_by_one, with_payload
from leadscore.crm.http import CrmHttp, Permanent, RateLimiter, Sleep
from leadscore.crm.outbox import Outcome
from leadscore.crm.values import field_value

BATCH_UPDATE = "/crm/v3/objects/contacts/batch/update"
PROPERTIES = "/crm/v3/properties/contacts"
GROUPS = "/crm/v3/properties/contacts/groups"


def property_definition(field: str, name: str, group: str) -> dict[str, Any]:
    """A HubSpot property fit for one leadscore field."""
    label = "Leadscore " + field.replace(".", " ").replace("_", " ")
    base = {"name": name, "label": label, "groupName": group}
    if field.startswith("score.") or field == "model_version":
        return {**base, "type": "number", "fieldType": "number"}
    if field == "scored_at":
        return {**base, "type": "datetime", "fieldType": "date"}
    if field == "surging":
        return {
            **base,
            "type": "bool",
            "fieldType": "booleancheckbox",
            "options": [
                {"label": "Yes", "value": "true", "displayOrder": 0},
                {"label": "No", "value": "false", "displayOrder": 1},
            ],
        }
    field_type = "textarea" if field == "top_reasons" else "text"
    return {**base, "type": "string", "fieldType": field_type}


def hubspot_value(value: Any) -> str:
    """HubSpot property values travel as strings; an empty string clears one."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(round(value, 4), ".12g")  # 4 decimals, never an exponent
    if isinstance(value, datetime):
        return str(int(value.timestamp() * 1000))  # datetime properties take epoch ms
    return str(value)


class HubSpot:
    name = "hubspot"

    def __init__(
        self,
        settings: HubSpotSettings,
        policy: SyncSettings,
        sleep: Sleep = time.sleep,
        allow: Sequence[str] = (),
    ):
        self.settings = settings
        self.batch_size = settings.batch_size
        limiter = RateLimiter(settings.rate_limit, settings.rate_window, sleep=sleep)
        self.http = CrmHttp(
            settings.base_url, settings.token(), policy, limiter, sleep, allow, "hubspot.base_url"
        )
        self.prepared = False

    # -- properties ----------------------------------------------------------
    def prepare(self) -> None:
        if self.prepared or not self.settings.create_properties:
            self.prepared = True
            return
        group = self.settings.property_group
        answer = self.http.request("GET", f"{GROUPS}/{group}")
        if answer.status_code == 404:
            self._ok(
                self.http.request(
                    "POST",
                    GROUPS,
                    json={
                        "name": group,
                        "label": self.settings.property_group_label,
                        "displayOrder": -1,
                    },
                ),
                f"creating property group '{group}'",
            )
        else:
            self._ok(answer, f"reading property group '{group}'")
        answer = self._ok(self.http.request("GET", PROPERTIES), "listing contact properties")
        existing = {p.get("name") for p in answer.json().get("results", [])}
        for field, name in self.settings.properties.items():
            if name not in existing:
                self._ok(
                    self.http.request(
                        "POST", PROPERTIES, json=property_definition(field, name, group)
                    ),
                    f"creating contact property '{name}' (for {field})",
                )
        self.prepared = True

    @staticmethod
    def _ok(answer: Any, doing: str) -> Any:
        # 409: another server created it a moment ago (several may share a store).
        if answer.status_code >= 300 and answer.status_code != 409:
            raise Permanent(
                f"HubSpot refused {doing}: HTTP {answer.status_code}: {answer.text[:300]}",
                answer.status_code,
            )
        return answer

    # -- records -------------------------------------------------------------
    def build(self, row: Any) -> Record | str:
        by = self.settings.identify_by
        if by == "email":
            key = row.email
            if not key:
                return "no email"
        else:
            key = (row.fields or {}).get(by)
            if key in (None, ""):
                return f"no HubSpot id in field '{by}'"
            key = str(key)
        properties = {
            name: hubspot_value(field_value(row, field))
            for field, name in self.settings.properties.items()
        }
        body: dict[str, Any] = {"id": key, "properties": properties}
        if by == "email":
            body["idProperty"] = "email"
        return Record(row.contact_id, key, body)

    def send(self, records: Sequence[Record]) -> list[Outcome]:
        answer = self.http.request("POST", BATCH_UPDATE, json={"inputs": [r.body for r in records]})
        code = answer.status_code
        if code == 200:
            return [Outcome(ok=True, status=code) for _ in records]
        if code == 207:
            return self._multi_status(records, answer.json())
        rejected = Outcome(
            ok=False, permanent=True, status=code, error=f"HTTP {code}: {answer.text[:500]}"
        )
        if code == 400:
            return one_by_one(records, self.send, with_payload(rejected, records[0]))
        return [with_payload(rejected, r) for r in records]

    def _multi_status(self, records: Sequence[Record], body: dict[str, Any]) -> list[Outcome]:
        failed: dict[str, str] = {}
        unattributed: list[str] = []
        for error in body.get("errors", []):
            message = f"{error.get('category', 'ERROR')}: {error.get('message', '')}"
            ids = (error.get("context") or {}).get("ids") or []
            if not ids:
                unattributed.append(message)
            for key in ids:
                failed[str(key).lower()] = message
        outcomes = []
        for record in records:
            refusal = failed.get(record.key.lower())
            if refusal is not None:
                outcomes.append(
                    Outcome(
                        ok=False, permanent=True, status=207, error=refusal, payload=record.body
                    )
                )
            elif unattributed:
                # An error we cannot pin on an input: retry rather than lose it
                # (updates set values, so a repeat does no harm).
                outcomes.append(
                    Outcome(
                        ok=False, status=207, error="; ".join(unattributed), payload=record.body
                    )
                )
            else:
                outcomes.append(Outcome(ok=True, status=207))
        return outcomes

    def close(self) -> None:
        self.http.close()
