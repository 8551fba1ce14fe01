"""Webhook URLs cannot make the service call loopback, private or metadata addresses."""

from __future__ import annotations

from pathlib import Path

import pytest

from leadscore.service import outbound

from .conftest import Api, make_api


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/admin",
        "http://localhost:5432/",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::1]/hook",
    ],
)
def test_webhooks_to_private_addresses_are_refused_at_subscription(api: Api, url: str) -> None:
    r = api.post("/v1/webhooks", json={"url": url, "events": ["lead.mql"]})
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == "url"
    assert "public addresses" in r.json()["detail"][0]["message"]
    assert api.get("/v1/webhooks").json() == []


def test_a_name_resolving_to_loopback_is_refused(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outbound, "resolver", lambda host, port: ["127.0.0.1"])
    r = api.post("/v1/webhooks", json={"url": "https://hooks.crm.example/", "events": ["lead.mql"]})
    assert r.status_code == 422
    assert "'hooks.crm.example' resolves to 127.0.0.1" in r.json()["detail"][0]["message"]


def test_dns_changed_after_subscription_is_caught_at_delivery(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Subscribed while the name pointed at a public address; by delivery time it points
    at loopback: the attempt is refused before any connection and logged as failed."""
    monkeypatch.setattr(outbound, "resolver", lambda host, port: ["8.8.8.8"])
    hook = api.post(
        "/v1/webhooks", json={"url": "https://hooks.crm.example/in", "events": ["lead.lost"]}
    ).json()
    monkeypatch.setattr(outbound, "resolver", lambda host, port: ["127.0.0.1"])
    api.contact("c1")
    assert (
        api.post("/v1/contacts/c1/stage", "ingest", json={"action": "lost", "reason": "r"})
    ).status_code == 200
    assert api.service.sender.deliver_due() == 1
    log = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
    assert log[0]["status"] == "pending" and log[0]["attempts"] == 1
    assert log[0]["last_status_code"] is None
    assert "resolves to 127.0.0.1, which is a loopback address" in log[0]["last_error"]


def test_a_redirecting_receiver_is_not_followed(db_url: str) -> None:
    """A receiver on an allowed network answering 302 to elsewhere: one request, logged."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from typing import Any

    hits: list[str] = []

    class Bounce(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            hits.append(self.path)
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Bounce)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for api in make_api(db_url, allow_private_networks=("127.0.0.0/8",)):
            url = f"http://127.0.0.1:{server.server_address[1]}/in"
            hook = api.post("/v1/webhooks", json={"url": url, "events": ["lead.lost"]}).json()
            api.contact("c1")
            api.post("/v1/contacts/c1/stage", "ingest", json={"action": "lost", "reason": "r"})
            assert api.service.sender.deliver_due() == 1
            log = api.get(f"/v1/webhooks/{hook['id']}/deliveries").json()
            assert log[0]["last_status_code"] == 302 and log[0]["status"] == "pending"
            assert "not followed" in log[0]["last_error"]
            assert hits == ["/in"]
    finally:
        server.shutdown()
        server.server_close()


def test_a_bad_network_in_the_settings_fails_at_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a network"):
        next(make_api(str(tmp_path / "x.db"), allow_private_networks=("localhost",)))
