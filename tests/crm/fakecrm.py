"""Local stand-ins for HubSpot and Salesforce, on 127.0.0.1, for the contract tests.

Each implements the endpoints the connectors use as the vendors document them:
request shapes and batch limits are checked (a bad request gets the vendor's 400
body), the bearer token is checked (401), and a test can queue canned answers
(429 with Retry-After, 5xx) or stop the server (connections refused) and start
it again on the same port. What the CRM holds survives a restart, like a real
one. ``updates`` logs every record the CRM applied, to check nothing arrived
twice and nothing was lost.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, Any, dict[str, str]]


@dataclass
class Canned:
    """An answer given instead of the real one, to the next request matching ``path``."""

    path: str
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class FakeServer:
    token = "test-token"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.canned: list[Canned] = []
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request served
        self.updates: list[tuple[str, dict[str, Any]]] = []  # (record key, values) applied
        self.after_update: Callable[[], None] | None = None
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet tests
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = fake.handle(self.command, self.path, self.headers, raw)
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop listening: from now on connections are refused (an outage)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    # -- requests ------------------------------------------------------------
    def handle(self, method: str, target: str, headers: Any, raw: bytes) -> Answer:
        parts = urlsplit(target)
        with self.lock:
            self.requests.append((method, parts.path))
            for i, canned in enumerate(self.canned):
                if canned.path == parts.path:
                    del self.canned[i]
                    return canned.status, canned.body, canned.headers
        if headers.get("Authorization") != f"Bearer {self.token}":
            return self.unauthorised()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self.malformed("request body is not JSON")
        with self.lock:
            return self.route(method, parts.path, parse_qs(parts.query), body)

    def unauthorised(self) -> Answer:
        raise NotImplementedError

    def malformed(self, message: str) -> Answer:
        raise NotImplementedError

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        raise NotImplementedError

    def calls(self, path: str) -> int:
        return sum(1 for _, p in self.requests if p == path)

    def applied(self, key: str) -> list[dict[str, Any]]:
        return [values for k, values in self.updates if k == key]


# ------------------------------------------------------------------- HubSpot --


def hs_error(status: int, category: str, message: str, **extra: Any) -> Answer:
    body = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
        "category": category,
        **extra,
    }
    return status, body, {}


class FakeHubSpot(FakeServer):
    BATCH = "/crm/v3/objects/contacts/batch/update"

    def __init__(self) -> None:
        super().__init__()
        self.contacts: dict[str, dict[str, Any]] = {}  # id -> {"email":..., "properties":{...}}
        self.groups: dict[str, dict[str, Any]] = {"contactinformation": {"label": "Contact info"}}
        self.properties: dict[str, dict[str, Any]] = {
            "email": {"name": "email", "type": "string", "fieldType": "text"},
            "firstname": {"name": "firstname", "type": "string", "fieldType": "text"},
        }
        self._next_id = 100
        self._by_email: dict[str, str] = {}

    def add_contact(self, email: str) -> str:
        self._next_id += 1
        record_id = str(self._next_id)
        self.contacts[record_id] = {"email": email.lower(), "properties": {}}
        self._by_email[email.lower()] = record_id
        return record_id

    def by_email(self, email: str) -> dict[str, Any] | None:
        return self.contacts.get(self._by_email.get(email.lower(), ""))

    def unauthorised(self) -> Answer:
        return hs_error(
            401,
            "INVALID_AUTHENTICATION",
            "Authentication credentials not found. This API supports OAuth 2.0 authentication",
        )

    def malformed(self, message: str) -> Answer:
        return hs_error(400, "VALIDATION_ERROR", message)

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        if path == self.BATCH and method == "POST":
            return self.batch_update(body)
        if path == "/crm/v3/properties/contacts":
            if method == "GET":
                return 200, {"results": list(self.properties.values())}, {}
            if method == "POST":
                return self.create_property(body)
        if path == "/crm/v3/properties/contacts/groups" and method == "POST":
            name = (body or {}).get("name")
            if not name or not (body or {}).get("label"):
                return self.malformed("name and label are required")
            self.groups[name] = body
            return 201, body, {}
        match = re.fullmatch(r"/crm/v3/properties/contacts/groups/([^/]+)", path)
        if match and method == "GET":
            group = self.groups.get(match.group(1))
            if group is None:
                return hs_error(404, "OBJECT_NOT_FOUND", f"group {match.group(1)} not found")
            return 200, {"name": match.group(1), **group}, {}
        return hs_error(404, "OBJECT_NOT_FOUND", f"no route {method} {path}")

    def create_property(self, body: Any) -> Answer:
        required = ("name", "label", "type", "fieldType", "groupName")
        if not isinstance(body, dict) or any(not body.get(k) for k in required):
            return self.malformed(f"a property needs {', '.join(required)}")
        if body["groupName"] not in self.groups:
            return self.malformed(f"property group {body['groupName']} does not exist")
        if body["type"] not in ("string", "number", "datetime", "date", "bool", "enumeration"):
            return self.malformed(f"invalid type {body['type']}")
        if body["type"] == "bool" and not body.get("options"):
            return self.malformed("bool properties need options")
        if body["name"] in self.properties:
            return hs_error(
                409, "OBJECT_ALREADY_EXISTS", f"Property named '{body['name']}' already exists."
            )
        self.properties[body["name"]] = body
        return 201, body, {}

    def batch_update(self, body: Any) -> Answer:
        inputs = (body or {}).get("inputs")
        if not isinstance(inputs, list) or not inputs:
            return self.malformed("inputs must be a non-empty list")
        if len(inputs) > 100:
            return self.malformed(f"Batch input is limited to 100 inputs, received {len(inputs)}")
        keys = [str(i.get("id", "")).lower() for i in inputs]
        if len(set(keys)) != len(keys):
            return self.malformed("Duplicate IDs found in batch input")
        problems = []
        for item in inputs:
            if not isinstance(item.get("properties"), dict) or "id" not in item:
                return self.malformed("each input needs id and properties")
            if item.get("idProperty") not in (None, "email"):
                return self.malformed(f"{item['idProperty']} is not a unique property")
            for name, value in item["properties"].items():
                spec = self.properties.get(name)
                if spec is None:
                    problems.append(
                        {
                            "isValid": False,
                            "error": "PROPERTY_DOESNT_EXIST",
                            "name": name,
                            "message": f'Property "{name}" does not exist',
                        }
                    )
                elif spec["type"] == "number" and value != "":
                    try:
                        float(value)
                    except (TypeError, ValueError):
                        problems.append(
                            {
                                "isValid": False,
                                "error": "INVALID_FLOAT",
                                "name": name,
                                "message": f"{value!r} is not a valid number",
                            }
                        )
        if problems:
            # HubSpot refuses the whole batch when a property value is not valid.
            return hs_error(
                400, "VALIDATION_ERROR", f"Property values were not valid: {json.dumps(problems)}"
            )
        results, missing = [], []
        for item in inputs:
            if item.get("idProperty") == "email":
                record_id = self._by_email.get(str(item["id"]).lower())
                record = self.contacts.get(record_id or "")
            else:
                record_id = str(item["id"])
                record = self.contacts.get(record_id)
            if record is None:
                missing.append(str(item["id"]))
                continue
            record["properties"].update(item["properties"])
            self.updates.append((record["email"], dict(item["properties"])))
            results.append(
                {"id": record_id, "properties": dict(record["properties"]), "archived": False}
            )
        answer: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": "2026-12-02T00:00:00Z",
            "completedAt": "2026-12-02T00:00:01Z",
        }
        if self.after_update is not None:
            self.after_update()
        if not missing:
            return 200, answer, {}
        answer["numErrors"] = 1
        answer["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": "Could not get some CONTACT objects, they may be deleted or not exist.",
                "context": {"ids": missing},
            }
        ]
        return 207, answer, {}


# ----------------------------------------------------------------- Salesforce --


def sf_error(status: int, code: str, message: str) -> Answer:
    return status, [{"message": message, "errorCode": code}], {}


class FakeSalesforce(FakeServer):
    VERSION = "62.0"
    COLLECTIONS = f"/services/data/v{VERSION}/composite/sobjects"

    def __init__(self) -> None:
        super().__init__()
        self.records: dict[str, dict[str, Any]] = {}  # id -> {"type":..., fields}
        self.fields: dict[str, dict[str, dict[str, Any]]] = {
            obj: {
                "Id": {"name": "Id", "updateable": False, "type": "id"},
                "Email": {"name": "Email", "updateable": True, "type": "email"},
            }
            for obj in ("Lead", "Contact")
        }
        self._n = 0

    def add_field(
        self, sobject: str, name: str, kind: str = "double", updateable: bool = True
    ) -> None:
        self.fields[sobject][name] = {"name": name, "updateable": updateable, "type": kind}

    def add_record(self, sobject: str) -> str:
        self._n += 1
        prefix = {"Lead": "00Q", "Contact": "003"}[sobject]
        record_id = f"{prefix}5g00000{self._n:08d}AAA"
        self.records[record_id] = {"type": sobject}
        return record_id

    def unauthorised(self) -> Answer:
        return sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def malformed(self, message: str) -> Answer:
        return sf_error(400, "JSON_PARSER_ERROR", message)

    def route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        if path == self.COLLECTIONS and method == "PATCH":
            return self.update(body)
        match = re.fullmatch(rf"/services/data/v{self.VERSION}/sobjects/(\w+)/describe", path)
        if match and method == "GET":
            sobject = match.group(1)
            if sobject not in self.fields:
                return sf_error(
                    404, "NOT_FOUND", f"The requested resource does not exist: {sobject}"
                )
            return 200, {"name": sobject, "fields": list(self.fields[sobject].values())}, {}
        return sf_error(404, "NOT_FOUND", "The requested resource does not exist")

    def update(self, body: Any) -> Answer:
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            return self.malformed("records must be a list")
        records = body["records"]
        if len(records) > 200:
            return sf_error(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        types = []
        for record in records:
            kind = (record.get("attributes") or {}).get("type")
            if not kind:
                return sf_error(400, "INVALID_TYPE", "Must send a concrete entity type.")
            if kind not in self.fields:
                return sf_error(400, "INVALID_TYPE", f"sObject type '{kind}' is not supported.")
            unknown = [
                f for f in record if f not in ("attributes", "id") and f not in self.fields[kind]
            ]
            if unknown:
                return sf_error(
                    400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {kind}"
                )
            if not types or types[-1] != kind:
                types.append(kind)
        if len(types) > 10:
            return sf_error(
                400,
                "INVALID_BATCH_REQUEST",
                "Cannot have more than 10 chunks in a single operation",
            )
        results = []
        for record in records:
            kind, record_id = record["attributes"]["type"], record.get("id")
            if not record_id:
                results.append(
                    self._failed("MISSING_ARGUMENT", "Id not specified in an update call")
                )
                continue
            stored = self.records.get(record_id)
            if stored is None:
                results.append(self._failed("ENTITY_IS_DELETED", "entity is deleted"))
                continue
            if stored["type"] != kind:
                results.append(
                    self._failed(
                        "MALFORMED_ID",
                        f"{kind} ID: id value of incorrect type: {record_id}",
                        ["Id"],
                    )
                )
                continue
            values = {k: v for k, v in record.items() if k not in ("attributes", "id")}
            stored.update(values)
            self.updates.append((record_id, values))
            results.append({"id": record_id, "success": True, "errors": []})
        if self.after_update is not None:
            self.after_update()
        return 200, results, {}

    @staticmethod
    def _failed(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
        return {
            "success": False,
            "errors": [{"statusCode": code, "message": message, "fields": fields or []}],
        }
