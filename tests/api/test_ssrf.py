"""Webhook URLs cannot make the service call loopback, private or metadata addresses."""

from __future__ import annotations

import pytest

from leadscore.service import outbound

from .conftest import Api


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
