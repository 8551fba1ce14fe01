"""Email tools' event webhooks -> leadscore events.

Three senders, each signed its own way (a bad or missing signature is refused):

* **SendGrid** Event Webhook: a JSON array; ECDSA (P-256, SHA-256) signature of
  ``timestamp + body`` in ``X-Twilio-Email-Event-Webhook-Signature`` (base64 DER),
  checked with the account's verification key (the ``cryptography`` package).
* **Mailgun**: one JSON event; ``signature`` is the hex HMAC-SHA256 of
  ``timestamp + token`` with the webhook signing key.
* **Mailchimp Transactional (Mandrill)**: form field ``mandrill_events`` (a JSON
  array); ``X-Mandrill-Signature`` is the base64 HMAC-SHA1 of the webhook URL
  followed by each POST field's name and value, sorted by name.

Kinds map to ``email_delivered``, ``email_open``, ``email_click``,
``email_bounce``, ``email_unsubscribe`` and ``email_spamreport`` (``KINDS``);
any other kind is kept as ``email_<kind>`` (e.g. SendGrid's ``processed`` ->
``email_processed``). Properties: ``email_id`` (the tool's message id),
``campaign``, ``url`` (clicks), ``provider``, ``kind`` (as the tool named it) and
what else the tool sends that rules may want (``subject``, ``bounce_type``...).

**Who**: the contact with the recipient's address. An address that is no
contact (yet) is *not* made one (a newsletter list is not a list of leads); its
events are kept under the anonymous id ``email:<address>`` and join the contact
when one is created or identified with that address.

**Retries** are duplicates, not new events: the event id is the tool's own event
id (SendGrid ``sg_event_id``; Mailgun ``id`` with the event's time, as Mailgun
keeps its ids unique only within a day); Mandrill's ``_id`` names the
*message* (every event of one message shares it), so its event id is ``_id`` with
the kind, time and url.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from leadscore.service.connect import BadValue, Scalar, flatten, scalar, snake_case
from leadscore.service.email_history import email_visitor

KINDS: dict[str, dict[str, str]] = {
    "sendgrid": {
        "delivered": "email_delivered",
        "open": "email_open",
        "click": "email_click",
        "bounce": "email_bounce",
        "spamreport": "email_spamreport",
        "unsubscribe": "email_unsubscribe",
        "group_unsubscribe": "email_unsubscribe",
    },
    "mailgun": {
        "delivered": "email_delivered",
        "opened": "email_open",
        "clicked": "email_click",
        "unsubscribed": "email_unsubscribe",
        "complained": "email_spamreport",
        # "failed" is a bounce when permanent, a deferral when temporary (see below).
    },
    "mandrill": {
        "send": "email_sent",
        "delivered": "email_delivered",
        "open": "email_open",
        "click": "email_click",
        "hard_bounce": "email_bounce",
        "soft_bounce": "email_bounce",
        "spam": "email_spamreport",
        "unsub": "email_unsubscribe",
        "deferral": "email_deferred",
    },
}


class BadSignature(Exception):
    """The request is not signed by the tool (answered 401)."""


@dataclass
class EmailEvent:
    """One email event, whoever sent it."""

    provider: str
    kind: str
    event_id: str
    email: str | None
    when: datetime
    properties: dict[str, Scalar] = field(default_factory=dict)
    fixed_type: str | None = None  # when the kind alone does not say (Mailgun "failed")

    @property
    def type(self) -> str:
        if self.fixed_type:
            return self.fixed_type
        mapped = KINDS[self.provider].get(self.kind)
        return mapped or ("email_" + (snake_case(self.kind) or "unknown"))[:100]


# ------------------------------------------------------------- signatures --


def verify_sendgrid(
    public_key: str, signature: str | None, timestamp: str | None, body: bytes
) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    if not signature or not timestamp:
        raise BadSignature("missing X-Twilio-Email-Event-Webhook-Signature or -Timestamp header")
    key = _sendgrid_key(public_key)
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise BadSignature("the SendGrid signature does not match this body") from None


def _sendgrid_key(public_key: str) -> Any:
    """SendGrid shows the verification key as base64 DER; a PEM is taken too."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    text = public_key.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode(text))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("the SendGrid verification key is not an ECDSA public key")
    return key


def verify_mailgun(signing_key: str, signature: Any) -> None:
    if not isinstance(signature, dict):
        raise BadSignature("no signature object in the body")
    timestamp, token, given = (signature.get(k) for k in ("timestamp", "token", "signature"))
    if not all(isinstance(v, str | int) for v in (timestamp, token, given)):
        raise BadSignature("the signature needs timestamp, token and signature")
    expected = hmac.new(
        signing_key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256
    ).hexdigest()
    if not hmac.compare_digest(expected, str(given).lower()):
        raise BadSignature("the Mailgun signature does not match")


def mandrill_signature(key: str, url: str, params: dict[str, str]) -> str:
    signed = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(key.encode(), signed.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def verify_mandrill(key: str, url: str, params: dict[str, str], signature: str | None) -> None:
    if not signature:
        raise BadSignature("missing X-Mandrill-Signature header")
    if not hmac.compare_digest(mandrill_signature(key, url, params), signature.strip()):
        raise BadSignature(
            "the Mandrill signature does not match (is LEADSCORE_MANDRILL_WEBHOOK_URL the "
            "URL registered in Mailchimp Transactional?)"
        )


# ---------------------------------------------------------------- parsing --


def _when(value: Any, where: str) -> datetime:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise BadValue(where, "must be a Unix time in seconds") from None
    if not math.isfinite(seconds) or not 0 < seconds < 32_503_680_000:
        raise BadValue(where, "must be a Unix time in seconds")
    return datetime.fromtimestamp(seconds, UTC)


def _email(value: Any, where: str) -> str:
    if not isinstance(value, str) or "@" not in value or len(value) > 320 or "\x00" in value:
        raise BadValue(where, "must be the recipient's email address")
    return value.strip().lower()


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def _props(**values: Any) -> dict[str, Scalar]:
    return {k: scalar(v, k) for k, v in values.items() if v not in (None, "", [])}


def sendgrid_event(item: Any, where: str) -> EmailEvent:
    if not isinstance(item, dict):
        raise BadValue(where, "an event is a JSON object")
    kind = item.get("event")
    if not isinstance(kind, str) or not kind:
        raise BadValue(f"{where}.event", "missing")
    event_id = item.get("sg_event_id")
    category = item.get("category")
    props = _props(
        provider="sendgrid",
        kind=kind,
        email_id=item.get("sg_message_id"),
        campaign=item.get("marketing_campaign_name") or item.get("marketing_campaign_id"),
        url=item.get("url"),
        category=category if isinstance(category, str) else category and json.dumps(category),
        bounce_type=item.get("type") if kind == "bounce" else None,
        reason=item.get("reason"),
        asm_group_id=item.get("asm_group_id"),
    )
    return EmailEvent(
        "sendgrid",
        kind,
        "sendgrid:" + (str(event_id) if event_id else _digest(item)),
        _email(item.get("email"), f"{where}.email"),
        _when(item.get("timestamp"), f"{where}.timestamp"),
        props,
    )


def mailgun_event(data: Any, where: str) -> EmailEvent:
    if not isinstance(data, dict):
        raise BadValue(where, "missing the event-data object")
    kind = data.get("event")
    if not isinstance(kind, str) or not kind:
        raise BadValue(f"{where}.event", "missing")
    message: dict[str, Any] = _dict(data.get("message"))
    headers: dict[str, Any] = _dict(message.get("headers"))
    campaigns: list[Any] = _list(data.get("campaigns"))
    variables: dict[str, Any] = _dict(data.get("user-variables"))
    campaign = variables.get("campaign") or next(
        (c.get("name") or c.get("id") for c in campaigns if isinstance(c, dict)), None
    )
    severity = data.get("severity")
    props = _props(
        provider="mailgun",
        kind=kind,
        email_id=headers.get("message-id"),
        campaign=campaign,
        url=data.get("url"),
        subject=headers.get("subject"),
        tags=data.get("tags"),
        bounce_type="hard" if severity == "permanent" else "soft" if severity else None,
        reason=data.get("reason"),
    )
    props.update(flatten({"var": variables}, f"{where}.user-variables") if variables else {})
    return EmailEvent(
        "mailgun",
        kind,
        # Mailgun's event id is unique "within a day": with the event's time, for ever.
        f"mailgun:{data['id']}:{int(_when(data.get('timestamp'), f'{where}.timestamp').timestamp())}"
        if data.get("id")
        else "mailgun:" + _digest(data),
        _email(data.get("recipient"), f"{where}.recipient"),
        _when(data.get("timestamp"), f"{where}.timestamp"),
        props,
        # A permanent failure is a bounce; a temporary one is retried by Mailgun.
        ({"permanent": "email_bounce"}.get(str(severity), "email_deferred"))
        if kind == "failed"
        else None,
    )


def mandrill_event(item: Any, where: str) -> EmailEvent:
    if not isinstance(item, dict):
        raise BadValue(where, "an event is a JSON object")
    kind = item.get("event")
    if not isinstance(kind, str) or not kind:
        raise BadValue(f"{where}.event", "missing")
    msg: dict[str, Any] = _dict(item.get("msg"))
    metadata: dict[str, Any] = _dict(msg.get("metadata"))
    message_id = item.get("_id") or msg.get("_id")
    url = item.get("url")
    props = _props(
        provider="mandrill",
        kind=kind,
        email_id=message_id,
        campaign=metadata.get("campaign") or msg.get("template"),
        url=url,
        subject=msg.get("subject"),
        tags=msg.get("tags"),
        bounce_type={"hard_bounce": "hard", "soft_bounce": "soft"}.get(kind),
        reason=msg.get("bounce_description") or msg.get("diag"),
    )
    ts = item.get("ts")
    event_id = (
        f"mandrill:{message_id}:{kind}:{ts}" + (f":{_digest(url)[:12]}" if url else "")
        if message_id
        else "mandrill:" + _digest(item)
    )
    return EmailEvent(
        "mandrill",
        kind,
        event_id[:200],
        _email(msg.get("email") or item.get("email"), f"{where}.msg.email"),
        _when(ts, f"{where}.ts"),
        props,
    )


def event_rows(parsed: list[EmailEvent], contact_of: dict[str, str]) -> list[dict[str, Any]]:
    """Events for the committer: to the contact with the address, else anonymous."""
    rows = []
    for ev in parsed:
        row: dict[str, Any] = {
            "event_id": ev.event_id,
            "type": ev.type,
            "timestamp": ev.when.isoformat(),
            "properties": ev.properties,
        }
        contact = contact_of.get(ev.email or "")
        if contact is not None:
            row["contact_id"] = contact
        else:
            row["anonymous_id"] = email_visitor(ev.email or "")
        rows.append(row)
    return rows
