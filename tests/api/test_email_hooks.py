"""Email-tool webhooks, fed with the vendors' published example payloads and signed
with keys made here (a real ECDSA key pair for SendGrid)."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from leadscore.service.email_hooks import mandrill_signature

from .conftest import Api, make_api

SENDGRID_KEY = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(
    SENDGRID_KEY.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
MAILGUN_KEY = "key-7b4d2a9f0e1c3b5a6d8e9f0a1b2c3d4e"
MANDRILL_KEY = "KfFuThPttL_KoUyDndHW3A"
MANDRILL_URL = "https://leadscore.example/v1/hooks/mandrill"


@pytest.fixture
def hooks(db_url: str) -> Iterator[Api]:
    yield from make_api(
        db_url,
        sendgrid_public_key=SENDGRID_PUBLIC,
        mailgun_signing_key=MAILGUN_KEY,
        mandrill_webhook_key=MANDRILL_KEY,
        mandrill_webhook_url=MANDRILL_URL,
    )


# SendGrid's Event Webhook reference example (one event of each kind). The reference
# page writes the placeholder "sg_event_id" for every event; real deliveries carry
# unique ids, as in SendGrid's own batched sample, so each gets its own here.
SENDGRID_EVENTS: list[dict[str, Any]] = [
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": "processed",
        "category": "cat facts",
        "sg_event_id": "rbtnWrG1DVDGGGFHFyun0A==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": "deferred",
        "category": "cat facts",
        "sg_event_id": "qK1MxfAaE_ukyyNsjxTpkw==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "response": "400 try again later",
        "attempt": "5",
    },
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": "delivered",
        "category": "cat facts",
        "sg_event_id": "hqFbp3HH9WxIM0R2-x2M1Q==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "response": "250 OK",
    },
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "event": "open",
        "sg_machine_open": False,
        "category": "cat facts",
        "sg_event_id": "FOTFFO0ecsBE-zxFXfs6WA==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "useragent": "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)",
        "ip": "255.255.255.255",
    },
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "event": "click",
        "category": "cat facts",
        "sg_event_id": "kCAi1KttyQdEKHhdC-nuEA==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "useragent": "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)",
        "ip": "255.255.255.255",
        "url": "http://www.sendgrid.com/",
    },
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": "bounce",
        "category": "cat facts",
        "sg_event_id": "zmzJhfJgAfUSOW80yEbPyw==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "reason": "500 unknown recipient",
        "status": "5.0.0",
        "type": "bounce",
    },
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": "dropped",
        "category": "cat facts",
        "sg_event_id": "zmzJhfJgAfUSOW80yEbPyw==x",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "reason": "Bounced Address",
        "status": "5.0.0",
    },
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "smtp-id": "<14c5d75ce93.dfd.64b469@ismtpd-555>",
        "event": "spamreport",
        "category": "cat facts",
        "sg_event_id": "Tz-7Ek-Ia-ccHCvQ5TF5Bw==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "event": "unsubscribe",
        "category": "cat facts",
        "sg_event_id": "VcCq-dO8Bkxr6ljyDbqjOA==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
    },
    {
        "email": "example@test.com",
        "timestamp": 1513299569,
        "event": "group_unsubscribe",
        "category": "cat facts",
        "sg_event_id": "rbFvM95nAvbkXr7o6MGKVQ==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "useragent": "Mozilla/4.0 (compatible; MSIE 6.1; Windows XP; .NET CLR 1.1.4322; .NET CLR 2.0.50727)",
        "ip": "255.255.255.255",
        "url": "http://www.sendgrid.com/",
        "asm_group_id": 10,
    },
]

# Mailgun's webhook payload examples: a click, and a permanent failure (a bounce).
MAILGUN_CLICKED = {
    "event": "clicked",
    "id": "Ase7i2zsRYeDXztHGENqRA",
    "timestamp": 1521243339.873676,
    "log-level": "info",
    "recipient": "alice@example.com",
    "recipient-domain": "example.com",
    "url": "https://example.com/pricing",
    "ip": "50.56.129.169",
    "geolocation": {"country": "US", "region": "CA", "city": "San Francisco"},
    "tags": ["my_tag_1", "my_tag_2"],
    "campaigns": [],
    "user-variables": {"my_var_1": "Mailgun Variable #1", "my-var-2": "awesome"},
    "client-info": {
        "client-type": "browser",
        "client-os": "Linux",
        "device-type": "desktop",
        "client-name": "Chrome",
        "user-agent": "Mozilla/5.0 (X11; Linux x86_64)",
    },
    "message": {"headers": {"message-id": "20130503182626.18666.16540@example.com"}},
}
MAILGUN_FAILED = {
    "event": "failed",
    "id": "G9Bn5sl1TC6nu79C8C0bwg",
    "timestamp": 1521233195.375624,
    "log-level": "error",
    "severity": "permanent",
    "reason": "suppress-bounce",
    "recipient": "alice@example.com",
    "envelope": {
        "sender": "bob@sample.mailgun.org",
        "transport": "smtp",
        "targets": "alice@example.com",
    },
    "delivery-status": {
        "code": 605,
        "message": "",
        "description": "Not delivering to previously bounced address",
        "attempt-no": 1,
    },
    "tags": ["my_tag_1", "my_tag_2"],
    "campaigns": [],
    "user-variables": {"my_var_1": "Mailgun Variable #1"},
    "message": {
        "headers": {
            "to": "Alice <alice@example.com>",
            "message-id": "20130503192659.13651.20287@sample.mailgun.org",
            "from": "Bob <bob@sample.mailgun.org>",
            "subject": "Test permanent_fail webhook",
        }
    },
}

# The "Accepted Event" of Mailgun's webhook payload reference (a kind leadscore has no
# name for: kept as email_accepted).
MAILGUN_ACCEPTED = {
    "account": {"id": "1234567890303a4bd1f33898"},
    "api-key-id": "12345678-87654321",
    "domain": {"name": "sample.mailgun.com"},
    "envelope": {
        "sender": "sender@sample.mailgun.com",
        "targets": "recipient@sample.mailgun.com",
        "transport": "smtp",
    },
    "event": "accepted",
    "flags": {"is-authenticated": True, "is-test-mode": False},
    "id": "CCXMjJ7nQi2N3BPigGOdgQ",
    "log-level": "info",
    "message": {
        "headers": {
            "from": "Sample Sender <sender@sample.mailgun.com>",
            "message-id": "20260203192638.000be97f99f8cea1@sample.mailgun.com",
            "subject": "Sample webhook payload",
            "to": "recipient@sample.mailgun.com",
        },
        "size": 341,
    },
    "method": "HTTP",
    "recipient": "recipient@sample.mailgun.com",
    "recipient-domain": "sample.mailgun.com",
    "tags": [],
    "timestamp": 1770146798.843523,
    "user-variables": {},
}

# Mailchimp Transactional's example message events (as its "send test" posts them).
MANDRILL_MSG = {
    "ts": 1365109999,
    "subject": "This an example webhook message",
    "email": "example.webhook@mandrillapp.com",
    "sender": "example.sender@mandrillapp.com",
    "tags": ["webhook-example"],
    "state": "sent",
    "metadata": {"user_id": 111},
    "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
    "_version": "exampleaaaaaaaaaaaaaaa",
}
MANDRILL_EVENTS = [
    {
        "event": "send",
        "msg": MANDRILL_MSG,
        "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ts": 1711538425,
    },
    {
        "event": "open",
        "msg": MANDRILL_MSG,
        "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ip": "127.0.0.1",
        "location": {
            "country_short": "US",
            "country": "United States",
            "region": "Oklahoma",
            "city": "Oklahoma City",
            "latitude": 35.4675598145,
            "longitude": -97.5164337158,
            "postal_code": "73101",
            "timezone": "-05:00",
        },
        "user_agent": "Mozilla/5.0 (Macintosh; U; Intel Mac OS X 10.6; en-US; rv:1.9.1.8) Gecko/20100317 Postbox/1.1.3",
        "ts": 1711538426,
    },
    {
        "event": "click",
        "msg": MANDRILL_MSG,
        "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ip": "127.0.0.1",
        "url": "http://mandrill.com",
        "ts": 1711538427,
    },
    {
        "event": "hard_bounce",
        "msg": {
            **MANDRILL_MSG,
            "state": "bounced",
            "bounce_description": "bad_mailbox",
            "diag": "smtp;550 5.1.1",
        },
        "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ts": 1711538428,
    },
    {
        "event": "spam",
        "msg": MANDRILL_MSG,
        "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ts": 1711538429,
    },
    {
        "event": "unsub",
        "msg": MANDRILL_MSG,
        "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ts": 1711538430,
    },
    {
        "event": "reject",
        "msg": {**MANDRILL_MSG, "state": "rejected"},
        "_id": "exampleaaaaaaaaaaaaaaaaaaaaaaaaa",
        "ts": 1711538431,
    },
]


def sendgrid(api: Api, events: Any, *, tamper: bool = False) -> Any:
    body = json.dumps(events).encode()
    stamp = "1513299600"
    signature = SENDGRID_KEY.sign(stamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    sent = body + b" " if tamper else body
    return api.client.post(
        "/v1/hooks/sendgrid",
        content=sent,
        headers={
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        },
    )


def mailgun(api: Api, event_data: dict[str, Any], key: str = MAILGUN_KEY) -> Any:
    token = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"
    stamp = "1770920772"
    digest = hmac.new(key.encode(), f"{stamp}{token}".encode(), hashlib.sha256).hexdigest()
    body = {
        "signature": {"token": token, "timestamp": stamp, "signature": digest},
        "event-data": event_data,
    }
    return api.client.post("/v1/hooks/mailgun", json=body)


def mandrill(api: Api, events: list[dict[str, Any]], key: str = MANDRILL_KEY) -> Any:
    params = {"mandrill_events": json.dumps(events)}
    return api.client.post(
        "/v1/hooks/mandrill",
        content=urlencode(params),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Mandrill-Signature": mandrill_signature(key, MANDRILL_URL, params),
        },
    )


def types(api: Api, contact_id: str) -> list[str]:
    return sorted(e["type"] for e in api.get(f"/v1/contacts/{contact_id}").json()["events"])


def test_sendgrid_example_events(hooks: Api) -> None:
    hooks.contact("c1", email="example@test.com")
    r = sendgrid(hooks, SENDGRID_EVENTS)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 10 and r.json()["rejected"] == 0
    assert types(hooks, "c1") == [
        "email_bounce",
        "email_click",
        "email_deferred",
        "email_delivered",
        "email_dropped",  # kinds without a mapping are kept, typed as the tool names them
        "email_open",
        "email_processed",
        "email_spamreport",
        "email_unsubscribe",
        "email_unsubscribe",
    ]
    click = next(
        e for e in hooks.get("/v1/contacts/c1").json()["events"] if e["type"] == "email_click"
    )
    assert click["event_id"] == "sendgrid:kCAi1KttyQdEKHhdC-nuEA=="
    assert click["properties"]["url"] == "http://www.sendgrid.com/"
    assert click["properties"]["email_id"] == "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0"
    assert click["properties"]["category"] == "cat facts"
    assert click["ts_us"] == 1513299569 * 1_000_000
    # SendGrid retries the whole POST: every event is a duplicate.
    again = sendgrid(hooks, SENDGRID_EVENTS)
    assert again.json()["duplicates"] == 10
    assert hooks.get("/v1/contacts/c1").json()["event_count"] == 10


def test_sendgrid_refuses_what_it_did_not_sign(hooks: Api) -> None:
    assert sendgrid(hooks, SENDGRID_EVENTS[:1], tamper=True).status_code == 401
    r = hooks.client.post("/v1/hooks/sendgrid", json=SENDGRID_EVENTS[:1])
    assert r.status_code == 401
    assert r.json()["detail"][0]["field"] == "x-twilio-email-event-webhook-signature"
    other = ec.generate_private_key(ec.SECP256R1())
    body = json.dumps(SENDGRID_EVENTS[:1]).encode()
    forged = base64.b64encode(other.sign(b"1" + body, ec.ECDSA(hashes.SHA256()))).decode()
    r = hooks.client.post(
        "/v1/hooks/sendgrid",
        content=body,
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": forged,
            "X-Twilio-Email-Event-Webhook-Timestamp": "1",
        },
    )
    assert r.status_code == 401
    assert hooks.get("/v1/status", "read").json()["events"] == 0


def test_mailgun_example_events(hooks: Api) -> None:
    hooks.contact("c1", email="Alice@Example.com")
    r = mailgun(hooks, MAILGUN_CLICKED)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    assert mailgun(hooks, MAILGUN_FAILED).json()["accepted"] == 1
    events = {e["type"]: e for e in hooks.get("/v1/contacts/c1").json()["events"]}
    assert set(events) == {"email_click", "email_bounce"}
    click = events["email_click"]
    assert click["event_id"] == "mailgun:Ase7i2zsRYeDXztHGENqRA:1521243339"
    assert click["properties"]["url"] == "https://example.com/pricing"
    assert click["properties"]["email_id"] == "20130503182626.18666.16540@example.com"
    assert events["email_bounce"]["properties"]["bounce_type"] == "hard"
    accepted = mailgun(hooks, MAILGUN_ACCEPTED).json()["results"][0]
    assert accepted["type"] == "email_accepted" and accepted["status"] == "accepted"
    temporary = {**MAILGUN_FAILED, "id": "tmp-1", "severity": "temporary"}
    assert mailgun(hooks, temporary).json()["results"][0]["type"] == "email_deferred"
    # A retry is a duplicate; a bad signature is refused and writes nothing.
    assert mailgun(hooks, MAILGUN_CLICKED).json()["duplicates"] == 1
    r = mailgun(hooks, {**MAILGUN_CLICKED, "id": "forged"}, key="key-wrong")
    assert r.status_code == 401 and r.json()["detail"][0]["field"] == "signature"
    assert hooks.get("/v1/contacts/c1").json()["event_count"] == 3  # recipient@sample is no contact


def test_mandrill_example_events(hooks: Api) -> None:
    hooks.contact("c1", email="example.webhook@mandrillapp.com")
    assert hooks.client.head("/v1/hooks/mandrill").status_code == 200  # URL check on setup
    r = mandrill(hooks, MANDRILL_EVENTS)
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == 7
    assert types(hooks, "c1") == [
        "email_bounce",
        "email_click",
        "email_open",
        "email_reject",
        "email_sent",
        "email_spamreport",
        "email_unsubscribe",
    ]
    click = next(
        e for e in hooks.get("/v1/contacts/c1").json()["events"] if e["type"] == "email_click"
    )
    assert click["properties"]["email_id"] == "exampleaaaaaaaaaaaaaaaaaaaaaaaaa"
    assert click["properties"]["url"] == "http://mandrill.com"
    # Every event of one message shares its _id; only a resent event is a duplicate.
    assert mandrill(hooks, MANDRILL_EVENTS).json()["duplicates"] == 7
    r = mandrill(hooks, MANDRILL_EVENTS[:1], key="wrong-key")
    assert r.status_code == 401 and r.json()["detail"][0]["field"] == "x-mandrill-signature"


def test_unknown_addresses_are_kept_and_join_the_contact_later(hooks: Api) -> None:
    hooks.activate()
    click = {
        **MAILGUN_CLICKED,
        "id": "later-1",
        "recipient": "vp@acme.com",
        "message": {"headers": {"message-id": "demo-42"}},
    }
    r = mailgun(hooks, click)
    assert r.json()["accepted"] == 1
    assert hooks.get("/v1/leads", "read").json()["total"] == 0  # no lead made from an email
    from .conftest import GOOD_FIT

    hooks.contact("c9", **GOOD_FIT)  # the address becomes a contact: its history joins
    hooks.service.drain()
    detail = hooks.get("/v1/contacts/c9").json()
    assert detail["event_count"] == 1 and detail["anonymous_ids"] == ["email:vp@acme.com"]
    score = hooks.get("/v1/contacts/c9/score", "read").json()
    rules = {c["rule_id"]: c for c in score["contributions"]}
    assert rules["demo-email-click"]["evidence"] == ["mailgun:later-1:1521243339"]


def test_hooks_are_off_until_configured(api: Api) -> None:
    r = api.client.post("/v1/hooks/sendgrid", json=[])
    assert r.status_code == 503
    assert r.json()["detail"][0]["field"] == "sendgrid_public_key"
    assert api.client.post("/v1/hooks/mailgun", json={}).status_code == 503
    assert api.client.post("/v1/hooks/mandrill", content=b"").status_code == 503


def test_bad_events_are_answered_one_by_one(hooks: Api) -> None:
    events = copy.deepcopy(SENDGRID_EVENTS[:2])
    events[1]["email"] = "not-an-address"
    events.append({"email": "a@b.example", "timestamp": float("nan"), "event": "open"})
    body = json.dumps(events).replace("NaN", "1e400")  # no NaN in JSON; +inf by overflow
    stamp = "1"
    signature = SENDGRID_KEY.sign(stamp.encode() + body.encode(), ec.ECDSA(hashes.SHA256()))
    r = hooks.client.post(
        "/v1/hooks/sendgrid",
        content=body,
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
        },
    )
    assert r.status_code == 200
    out = r.json()
    assert (out["accepted"], out["rejected"]) == (1, 2)
    assert out["results"][1]["errors"][0]["field"] == "body[1].email"
    assert out["results"][2]["errors"][0]["field"] == "body[2].timestamp"
