"""Outbound URLs (webhooks, connectors): where the service refuses to send requests.

No test here sends anything beyond 127.0.0.1: refused addresses are refused before
any connection, and names are made to resolve with a patched resolver.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from leadscore.service import outbound
from leadscore.service.errors import Invalid
from leadscore.service.outbound import OutboundRefused, check_url, pinned_request, resolve

REFUSED = [
    ("http://127.0.0.1:8080/hook", "loopback"),
    ("http://127.1.2.3/hook", "loopback"),
    ("http://[::1]/hook", "loopback"),
    ("http://[::ffff:127.0.0.1]/hook", "loopback"),
    ("http://10.0.0.5/hook", "private"),
    ("http://10.255.255.255:9000/hook", "private"),
    ("http://172.16.0.1/hook", "private"),
    ("http://192.168.1.1/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "metadata"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "metadata"),
    ("http://169.254.1.1/hook", "link-local"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fd12:3456::1]/hook", "unique-local"),
    ("http://100.64.0.1/hook", "not a public"),
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://[::]/hook", "unspecified"),
    ("http://192.0.2.1/hook", "private"),  # documentation range: ipaddress calls it private
    ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one decimal number
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_private_loopback_and_metadata_addresses_are_refused(url: str, why: str) -> None:
    with pytest.raises(OutboundRefused) as refused:
        check_url(url, field="url")
    assert refused.value.field == "url"
    assert why in refused.value.message
    assert refused.value.status == 422


def test_a_name_resolving_to_loopback_is_refused() -> None:
    with pytest.raises(OutboundRefused, match=r"'localhost' resolves to 127\.0\.0\.1"):
        check_url("http://localhost:9000/hook")


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """A resolver the test fills in: name -> addresses (unknown names fail like DNS)."""
    table: dict[str, list[str]] = {}

    def fake(host: str, port: int) -> list[str]:
        if host not in table:
            raise OSError(f"unknown host {host}")
        return table[host]

    monkeypatch.setattr(outbound, "resolver", fake)
    return table


def test_a_public_name_that_resolves_to_a_private_address_is_refused(
    dns: dict[str, list[str]],
) -> None:
    dns["hooks.crm.example"] = ["127.0.0.1"]
    with pytest.raises(OutboundRefused, match="loopback"):
        check_url("https://hooks.crm.example/in", field="crm.url")
    # One bad address among good ones is enough (a rebinding attempt or a mistake).
    dns["mixed.crm.example"] = ["8.8.8.8", "10.1.2.3"]
    with pytest.raises(OutboundRefused, match="private"):
        check_url("https://mixed.crm.example/in")
    dns["ok.crm.example"] = ["8.8.8.8", "2001:4860:4860::8888"]
    check_url("https://ok.crm.example/in")
    assert resolve("https://ok.crm.example/in").address == "8.8.8.8"


def test_public_addresses_pass_and_unresolvable_names_wait_for_delivery(
    dns: dict[str, list[str]],
) -> None:
    check_url("https://8.8.8.8/hook")
    check_url("https://nowhere.example/hook")  # points nowhere yet: checked on use
    with pytest.raises(Invalid, match="cannot resolve"):
        resolve("https://nowhere.example/hook")


@pytest.mark.parametrize(
    "url", ["ftp://8.8.8.8/x", "not a url", "http:///x", "http://u:p@8.8.8.8/x"]
)
def test_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(Invalid) as bad:
        check_url(url, field="webhook.url")
    assert bad.value.field == "webhook.url"


def test_allowed_networks_are_let_through() -> None:
    check_url("http://127.0.0.1:9/hook", ["127.0.0.0/8"])
    check_url("http://10.20.1.2/hook", ["10.20.0.0/16"])
    with pytest.raises(OutboundRefused):
        check_url("http://10.21.1.2/hook", ["10.20.0.0/16"])
    with pytest.raises(ValueError, match="not a network"):
        check_url("http://10.21.1.2/hook", ["ten"])


class Receiver:
    """A local HTTP server recording each request's path and Host header."""

    def __init__(self, status: int = 204, location: str | None = None, tls: Any = None) -> None:
        self.seen: list[tuple[str, str]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.seen.append((self.path, self.headers["Host"]))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:  # an ssl.SSLContext: serve HTTPS
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_the_request_goes_to_the_checked_address_with_the_name_as_host(
    dns: dict[str, list[str]], receiver: Receiver
) -> None:
    dns["hooks.test"] = ["127.0.0.1"]
    url = f"http://hooks.test:{receiver.port}/in"
    with pytest.raises(OutboundRefused):
        pinned_request("POST", url, content=b"{}")
    assert receiver.seen == []  # refused before connecting
    response = pinned_request("POST", url, ["127.0.0.0/8"], content=b"{}")
    assert response.status_code == 204
    assert receiver.seen == [("/in", f"hooks.test:{receiver.port}")]


def test_redirects_are_not_followed(dns: dict[str, list[str]]) -> None:
    dns["hooks.test"] = ["127.0.0.1"]
    target = Receiver()
    bouncer = Receiver(status=302, location=f"http://127.0.0.1:{target.port}/internal")
    try:
        response = pinned_request(
            "POST", f"http://hooks.test:{bouncer.port}/in", ["127.0.0.0/8"], content=b"{}"
        )
        assert response.status_code == 302
        assert len(bouncer.seen) == 1 and target.seen == []
    finally:
        target.close()
        bouncer.close()


def test_https_connects_to_the_checked_address_and_verifies_the_name(
    dns: dict[str, list[str]],
) -> None:
    """The connection goes to 127.0.0.1, yet TLS sends SNI and checks the certificate for
    the URL's name: a certificate for another name fails."""
    import ssl

    import httpx
    import trustme

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.test").configure_cert(server_ctx)
    receiver = Receiver(tls=server_ctx)
    client_ctx = ssl.create_default_context()
    ca.configure_trust(client_ctx)
    try:
        dns["hooks.test"] = ["127.0.0.1"]
        dns["other.test"] = ["127.0.0.1"]
        url = f"https://hooks.test:{receiver.port}/in"
        response = pinned_request("POST", url, ["127.0.0.0/8"], content=b"{}", verify=client_ctx)
        assert response.status_code == 204
        assert receiver.seen == [("/in", f"hooks.test:{receiver.port}")]
        with pytest.raises(httpx.ConnectError, match=r"certificate|hostname"):
            pinned_request(
                "POST",
                f"https://other.test:{receiver.port}/in",
                ["127.0.0.0/8"],
                content=b"{}",
                verify=client_ctx,
            )
    finally:
        receiver.close()
