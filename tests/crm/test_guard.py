"""Outbound safety of the CRM connectors: a CRM URL on loopback, the private network
or the metadata service is refused before anything is sent (unless allowed), every
request is checked and pinned again, and a redirect is never followed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from crmkit import FAST, HUBSPOT_MAP, LOCAL, Sleeps, hubspot_config, salesforce_config, seed
from fakecrm import Canned, FakeHubSpot, FakeSalesforce
from typer.testing import CliRunner

from leadscore.crm import outbox
from leadscore.crm.config import CrmConfigError
from leadscore.crm.sync import CrmSync
from leadscore.service import outbound
from leadscore.store import Store

HS = ("hubspot",)


def test_hubspot_on_loopback_is_refused_without_the_allowance(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    seed(store, 2, connectors=HS)
    with pytest.raises(CrmConfigError) as refused:
        CrmSync(store, hubspot_config(hubspot), "hubspot", sleeps)
    assert "hubspot.base_url" in str(refused.value)
    assert "loopback" in str(refused.value)
    assert hubspot.requests == []  # nothing was sent
    assert outbox.pending(store, "hubspot") == 2  # and nothing lost


@pytest.mark.parametrize(
    ("url", "what"),
    [
        ("http://169.254.169.254/", "metadata"),
        ("http://10.1.2.3:8080", "private"),
        ("http://[::ffff:127.0.0.1]:9", "loopback"),
    ],
)
def test_metadata_and_private_addresses_are_refused(
    store: Store, hubspot: FakeHubSpot, url: str, what: str
) -> None:
    config = hubspot_config(hubspot, hubspot={"base_url": url})
    with pytest.raises(CrmConfigError, match=f"hubspot.base_url: .*{what}"):
        CrmSync(store, config, "hubspot", allow=("192.168.0.0/16",))


def test_salesforce_instance_variable_is_named(
    store: Store, salesforce: FakeSalesforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SF_INSTANCE", "https://169.254.169.254")
    config = salesforce_config(
        salesforce, salesforce={"instance_url": None, "instance_url_env": "TEST_SF_INSTANCE"}
    )
    with pytest.raises(CrmConfigError, match=r"TEST_SF_INSTANCE \(salesforce.instance_url_env\)"):
        CrmSync(store, config, "salesforce", allow=LOCAL)
    assert salesforce.requests == []


def test_each_request_is_resolved_again_and_pinned(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name that was public at start-up and later resolves to loopback (DNS
    rebinding) is refused at the request; while allowed, the connection goes to the
    checked address and the CRM still sees its own host name."""
    hubspot.add_contact("person0@example.com")
    seed(store, 1, connectors=HS)
    answers = {"crm.example.test": ["93.184.216.34"]}
    monkeypatch.setattr(outbound, "resolver", lambda host, port: answers[host])
    url = f"http://crm.example.test:{hubspot.port}"
    config = hubspot_config(hubspot, hubspot={"base_url": url})
    refused = CrmSync(store, config, "hubspot", sleeps)  # public now: accepted
    sync = CrmSync(store, config, "hubspot", sleeps, allow=LOCAL)
    answers["crm.example.test"] = ["127.0.0.1"]  # and now rebound to loopback
    done = refused.drain()
    assert done.dead == 1 and hubspot.requests == []
    [letter] = outbox.dead_letters(store)
    assert "'crm.example.test' resolves to 127.0.0.1" in letter["last_error"]

    outbox.retry_dead(store)
    seen: list[str] = []
    original = hubspot.handle

    def handle(method: str, target: str, headers: object, raw: bytes) -> object:
        seen.append(headers.get("Host"))  # type: ignore[attr-defined]
        return original(method, target, headers, raw)

    hubspot.handle = handle  # type: ignore[method-assign]
    again = sync.drain()
    assert again.sent == 1  # the allowed sender reaches 127.0.0.1
    assert seen and set(seen) == {f"crm.example.test:{hubspot.port}"}
    assert hubspot.by_email("person0@example.com")["properties"]["leadscore_stage"] == "lead"


def test_a_redirect_from_the_crm_is_not_followed(
    store: Store, hubspot: FakeHubSpot, sleeps: Sleeps
) -> None:
    hubspot.add_contact("person0@example.com")
    seed(store, 1, connectors=HS)
    elsewhere = f"{hubspot.url}/elsewhere"
    hubspot.canned.append(Canned(FakeHubSpot.BATCH, 307, {}, {"Location": elsewhere}))
    config = hubspot_config(hubspot, hubspot={"create_properties": False})
    done = CrmSync(store, config, "hubspot", sleeps, allow=LOCAL).drain()
    assert done.dead == 1 and done.sent == 0
    assert hubspot.calls(FakeHubSpot.BATCH) == 1
    assert hubspot.calls("/elsewhere") == 0  # not followed
    [letter] = outbox.dead_letters(store)
    assert "redirect" in letter["last_error"] and "hubspot.base_url" in letter["last_error"]


def test_service_refuses_a_loopback_crm_unless_allowed(
    tmp_path: Path, hubspot: FakeHubSpot
) -> None:
    from leadscore.api.app import create_app
    from leadscore.service.settings import Settings

    crm = tmp_path / "crm.yaml"
    section = {"base_url": hubspot.url, "token_env": "TEST_HUBSPOT_TOKEN"}
    crm.write_text(yaml.safe_dump({"hubspot": {**section, "properties": HUBSPOT_MAP}}))
    with pytest.raises(CrmConfigError, match=r"hubspot\.base_url"):
        create_app(Settings(db_url=str(tmp_path / "a.db"), crm_config=str(crm)))
    create_app(
        Settings(db_url=str(tmp_path / "b.db"), crm_config=str(crm), allow_private_networks=LOCAL)
    )
    assert hubspot.requests == []


def test_sync_command_needs_the_allowance(
    tmp_path: Path, hubspot: FakeHubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leadscore.cli.main import app

    monkeypatch.delenv("LEADSCORE_ALLOW_PRIVATE_NETWORKS", raising=False)
    hubspot.add_contact("person0@example.com")
    db = str(tmp_path / "cli.db")
    store = Store(db)
    store.upgrade()
    seed(store, 1)
    store.dispose()
    crm = tmp_path / "crm.yaml"
    section = {"base_url": hubspot.url, "token_env": "TEST_HUBSPOT_TOKEN"}
    config = {"hubspot": {**section, "properties": HUBSPOT_MAP}, "sync": FAST}
    crm.write_text(yaml.safe_dump(config))
    args = ["sync", "hubspot", "--crm", str(crm), "--db", db]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code != 0
    assert "hubspot.base_url" in refused.output and "loopback" in refused.output
    assert hubspot.requests == []
    allowed = CliRunner().invoke(app, [*args, "--allow-private-network", "127.0.0.0/8"])
    assert allowed.exit_code == 0, allowed.output
    assert "1 sent" in allowed.output
    monkeypatch.setenv("LEADSCORE_ALLOW_PRIVATE_NETWORKS", "127.0.0.0/8")
    assert CliRunner().invoke(app, args).exit_code == 0  # the variable works too
