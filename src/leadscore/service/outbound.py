"""Outbound requests (webhooks, CRM connectors) only go where they may.

A URL a user gives the service is a way to make the server send requests on the
user's behalf (server-side request forgery): to its own admin ports on loopback, to
the private network behind it, or to the cloud metadata service that hands out
credentials. So every outbound URL is

1. **checked when it is registered** (:func:`check_url`): an http(s) URL whose host,
   once resolved, is a public address; a refusal is an :class:`~leadscore.service.errors.Invalid`
   naming the field (a 422 in the API). A name that does not resolve yet is accepted
   (it points nowhere) and checked again at delivery;
2. **checked again when it is used** (:func:`pinned_request`): DNS can change between
   registration and delivery (or answer differently each time, "DNS rebinding"), so
   the host is resolved, every address checked, and the connection made to the
   checked address itself (the URL's host is kept for ``Host``, TLS SNI and the
   certificate check), so no second lookup can swap it;
3. **never redirected**: a 3xx answer is not followed (it would be a request to an
   unchecked place); callers treat it as a failed delivery.

Refused: loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16), shared
(100.64/10), link-local (169.254/16, fe80::/10), unique-local IPv6 (fc00::/7), cloud
metadata (169.254.169.254, fd00:ec2::254), unspecified, multicast, reserved and
documentation ranges: anything Python's :mod:`ipaddress` does not call global, and
IPv4 addresses written as IPv6 (``::ffff:127.0.0.1``) by their IPv4 meaning.
``allow`` (``Settings.allow_private_networks``) lists networks that are allowed
anyway, e.g. ``("127.0.0.0/8",)`` for a receiver on the same machine in tests, or
``("10.20.0.0/16",)`` for an on-premises CRM.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from leadscore.service.errors import Invalid

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

METADATA = {
    ipaddress.ip_address("169.254.169.254"): "the cloud metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "the cloud metadata service",
    ipaddress.ip_address("100.100.100.200"): "the cloud metadata service",
}


def _system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


# Module level so tests can make a name resolve wherever they need (monkeypatch).
resolver: Callable[[str, int], list[str]] = _system_resolver


class OutboundRefused(Invalid):
    """The URL points somewhere the service does not send requests to (a 422)."""


class Unresolvable(Invalid):
    """The URL's host name does not resolve (now)."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``) and what to call it (``host``)."""

    url: str
    scheme: str
    host: str
    port: int
    address: str  # the checked IP address the connection goes to

    def pinned_url(self) -> str:
        """The URL with its host replaced by the checked address."""
        parts = urlsplit(self.url)
        ip = ipaddress.ip_address(self.address)
        where = f"[{ip}]" if ip.version == 6 else str(ip)
        netloc = f"{where}:{self.port}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def networks(allow: Iterable[str]) -> list[IPNetwork]:
    """Parse an allow-list of CIDRs (a bad entry names itself)."""
    out: list[IPNetwork] = []
    for text in allow:
        try:
            out.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise ValueError(f"allow_private_networks: {text!r} is not a network") from None
    return out


def refusal(address: str, allow: Sequence[IPNetwork] = ()) -> str | None:
    """What ``address`` is when the service does not connect to it (e.g. "a loopback
    address"); None when it may."""
    ip: IPAddress = ipaddress.ip_address(address.split("%", 1)[0])  # drop a v6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in net for net in allow):
        return None
    if ip in METADATA:
        return METADATA[ip]
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_unspecified:  # connecting to 0.0.0.0 or :: reaches this very host
        return "the unspecified address"
    if ip.is_link_local:
        return "a link-local address"
    if isinstance(ip, ipaddress.IPv6Address) and ip in _ULA:
        return "a unique-local IPv6 address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return None


_ULA = ipaddress.ip_network("fc00::/7")


def _parts(url: str, field: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"{field} must be an absolute http:// or https:// URL", field)
    if parts.username or parts.password:
        raise Invalid(f"{field} must not carry a user or password", field)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise Invalid(f"{field} has an invalid port", field) from None
    return parts.scheme, parts.hostname, port


def _addresses(host: str, port: int, field: str) -> tuple[list[str], bool]:
    """The host's addresses, and whether the host was an address already."""
    try:
        return [str(ipaddress.ip_address(host))], True
    except ValueError:
        pass
    try:
        addresses = list(dict.fromkeys(resolver(host, port)))
    except (OSError, UnicodeError) as exc:
        raise Unresolvable(f"{field}: cannot resolve '{host}' ({exc})", field) from None
    if not addresses:
        raise Unresolvable(f"{field}: '{host}' has no address", field)
    return addresses, False


def resolve(url: str, allow: Iterable[str] = (), field: str = "url") -> Target:
    """Resolve ``url``'s host and check every address; the first one is the target.

    Raises :class:`OutboundRefused` when any address is refused (a name that
    resolves to a public and a private address is refused: it is either a mistake
    or a rebinding attempt) and :class:`Invalid` when the name does not resolve.
    """
    scheme, host, port = _parts(url, field)
    allowed = networks(allow)
    addresses, literal = _addresses(host, port, field)
    for address in addresses:
        what = refusal(address, allowed)
        if what is not None:
            where = f"{address} is" if literal else f"'{host}' resolves to {address}, which is"
            raise OutboundRefused(
                f"{field}: {where} {what}: outbound "
                "requests only go to public addresses (see allow_private_networks)",
                field,
            )
    return Target(url, scheme, host, port, addresses[0])


def check_url(url: str, allow: Iterable[str] = (), field: str = "url") -> None:
    """Check a URL when it is registered (webhook subscription, connector settings).

    A refused address raises :class:`OutboundRefused` (422 naming ``field``); a name
    that does not resolve now is accepted, since it points nowhere yet: the check is
    made again, for real, on every request (:func:`pinned_request`).
    """
    with contextlib.suppress(Unresolvable):
        resolve(url, allow, field)


def pinned(
    url: str,
    allow: Iterable[str] = (),
    field: str = "url",
    headers: dict[str, str] | None = None,
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Check ``url`` now and say how to send to it: the URL with its host replaced by
    the checked address, ``headers`` plus ``Host``, and the httpx request extensions
    (TLS SNI, so the certificate is still checked against the host name).

    For callers with their own long-lived httpx client (the CRM connectors); raises
    like :func:`resolve`. The caller must not let its client follow redirects.
    """
    target = resolve(url, allow, field)
    sent = dict(headers or {})
    host_header = target.host if ":" not in target.host else f"[{target.host}]"
    default_port = 443 if target.scheme == "https" else 80
    sent["Host"] = host_header if target.port == default_port else f"{host_header}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return target.pinned_url(), sent, extensions


def pinned_request(
    method: str,
    url: str,
    allow: Iterable[str] = (),
    *,
    headers: dict[str, str] | None = None,
    content: bytes | None = None,
    timeout: float = 5.0,
    field: str = "url",
    client: Any = None,
    **kwargs: Any,
) -> Any:
    """Send one request to ``url`` after checking where it goes; returns the httpx response.

    Connects to the address that was checked (``Host`` header, TLS SNI and the
    certificate check still use the URL's host name) and never follows redirects.
    Raises :class:`OutboundRefused` / :class:`Invalid` before sending anything when
    the URL is refused or does not resolve, and httpx errors as usual.
    """
    import httpx

    where, sent, extensions = pinned(url, allow, field, headers)
    if client is not None:  # a caller's long-lived client (no TLS context per request)
        request = client.build_request(
            method,
            where,
            headers=sent,
            content=content,
            extensions=extensions,
            timeout=timeout,
        )
        return client.send(request, follow_redirects=False)
    with httpx.Client(timeout=timeout, follow_redirects=False, **kwargs) as own:
        request = own.build_request(
            method, where, headers=sent, content=content, extensions=extensions
        )
        return own.send(request)
