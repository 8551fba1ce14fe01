"""The tracker in real Chromium: a page on another local origin loads /t.js from a live
leadscore; a visit and a form submit arrive as events and join the contact's score."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from leadscore.service.contacts import upsert_contact
from leadscore.service.keys import create_key
from leadscore.store.tables import events

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
# A visitor's browser: headless Chromium announces itself as HeadlessChrome, which the
# collect endpoint rightly filters as a bot.
DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Site:
    api: str  # the leadscore server
    pages: str  # the website, another origin
    service: Any
    key: str
    html: dict[str, str]  # path -> page the website serves


def _page_server(port: int, html: dict[str, str]) -> ThreadingHTTPServer:
    class Pages(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.get(self.path.split("?")[0], "<h1>Thanks</h1>").encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Pages)
    threading.Thread(target=server.serve_forever, name="pages", daemon=True).start()
    return server


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    import uvicorn

    from leadscore.api.app import create_app
    from leadscore.service.settings import Settings

    page_port, api_port = _free_port(), _free_port()
    pages = f"http://127.0.0.1:{page_port}"
    settings = Settings(
        db_url=str(tmp_path_factory.mktemp("tracker") / "leadscore.db"),
        model_path=str(REPO / "examples" / "model.yaml"),
        run_workers=False,  # scores are computed when the test asks (drain)
        collect_origins=(pages,),
    )
    app = create_app(settings)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=api_port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    service = app.state.service
    key = create_key(service.store, ["collect"], name="website")["key"]
    html: dict[str, str] = {}
    web = _page_server(page_port, html)
    try:
        yield Site(f"http://127.0.0.1:{api_port}", pages, service, key, html)
    finally:
        web.shutdown()
        server.should_exit = True
        thread.join(15)


def snippet(site: Site, consent: str | None = None) -> str:
    extra = f' data-consent="{consent}"' if consent else ""
    return (
        "<script>window.leadscore=window.leadscore||function(){"
        "(leadscore.q=leadscore.q||[]).push(arguments)};</script>"
        f'<script async src="{site.api}/t.js" data-key="{site.key}"{extra}></script>'
    )


def wait_for(found: Callable[[], Any], what: str, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stored(site: Site, **where: Any) -> list[Any]:
    query = select(events)
    for column, value in where.items():
        query = query.where(events.c[column] == value)
    with site.service.store.read() as conn:
        return list(conn.execute(query.order_by(events.c.ts_us)))


def test_visit_and_form_submit_join_the_contact(chromium: Any, site: Site) -> None:
    store = site.service.store
    upsert_contact(
        store,
        "c-ada",
        "ada@acme.com",
        fields={"job_title": "VP Marketing", "industry": "software", "employees": 300},
    )
    site.html["/pricing"] = (
        f"<html><head><title>Pricing</title>{snippet(site)}</head><body>"
        '<a href="#plans" data-leadscore-track="pricing-cta">See <b>plans</b></a>'
        '<form id="demo" action="/thanks" method="get">'
        '<input type="email" name="work_email"><input name="company">'
        '<button type="submit">Request a demo</button></form></body></html>'
    )
    context = chromium.new_context(user_agent=DESKTOP_CHROME)
    try:
        page = context.new_page()
        page.goto(f"{site.pages}/pricing?utm_source=newsletter&utm_campaign=launch")
        views = wait_for(lambda: stored(site, type="page_view"), "the page view")
        (view,) = views
        assert view.contact_id is None and view.anonymous_id  # not known yet
        assert view.properties["url"] == "/pricing"
        assert view.properties["title"] == "Pricing"
        assert view.properties["utm_source"] == "newsletter"
        assert view.properties["utm_campaign"] == "launch"
        cookie = next(c for c in context.cookies() if c["name"] == "_lsid")
        assert cookie["value"] == view.anonymous_id

        page.click("text=plans")  # a marked link (the click lands on its child)
        (click,) = wait_for(lambda: stored(site, type="click"), "the marked click")
        assert click.properties["name"] == "pricing-cta"
        assert click.properties["link"].endswith(
            "/pricing?utm_source=newsletter&utm_campaign=launch#plans"
        )

        page.fill("input[type=email]", "Ada@acme.com")
        page.fill("input[name=company]", "Acme")
        page.click("button[type=submit]")  # the page navigates away: the beacon must go
        (form,) = wait_for(lambda: stored(site, type="form_submit"), "the form submission")
        assert form.properties["form"] == "demo"
        assert "company" not in form.properties and "Acme" not in str(form.properties)
        wait_for(
            lambda: all(e.contact_id == "c-ada" for e in stored(site)),
            "identify to join the anonymous history",
        )
    finally:
        context.close()

    site.service.drain()
    history = {e.type for e in stored(site, contact_id="c-ada")}
    assert history == {"page_view", "click", "form_submit"}
    from leadscore.service.leads import current_score

    score = current_score(store, "c-ada")
    rules = {c["rule_id"]: c for c in score["explanation"]["contributions"]}
    assert rules["pricing"]["evidence"] == [view.event_id]  # the anonymous visit counts
    assert rules["demo-request"]["evidence"] == [form.event_id]
    assert score["scores"]["engagement"]["value"] >= 50


def test_nothing_is_sent_before_consent(chromium: Any, site: Site) -> None:
    site.html["/careers"] = (
        f"<html><head><title>Careers</title>{snippet(site, consent='pending')}</head>"
        "<body><button onclick=\"leadscore('consent', true)\">Accept</button></body></html>"
    )
    context = chromium.new_context(user_agent=DESKTOP_CHROME)
    try:
        page = context.new_page()
        page.goto(f"{site.pages}/careers")
        page.wait_for_function("typeof window.__leadscoreLoaded !== 'undefined'")
        assert not any(c["name"] == "_lsid" for c in context.cookies())  # no cookie yet
        page.click("text=Accept")
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        careers = wait_for(
            lambda: [
                e for e in stored(site, type="page_view") if e.properties["url"] == "/careers"
            ],
            "the page view after consent",
        )
        # Exactly one: the view made before consent was never sent.
        assert len(careers) == 1
        page.evaluate("leadscore('consent', false)")
        assert not any(c["name"] == "_lsid" and c["value"] for c in context.cookies())
    finally:
        context.close()


def test_do_not_track_sends_nothing(chromium: Any, site: Site) -> None:
    site.html["/dnt"] = (
        f"<html><head><title>DNT</title>{snippet(site)}</head><body>"
        '<button data-leadscore-track="x">Go</button></body></html>'
    )
    context = chromium.new_context(user_agent=DESKTOP_CHROME)
    context.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})"
    )
    sent: list[str] = []
    context.on("request", lambda r: sent.append(r.url) if "/v1/collect" in r.url else None)
    try:
        page = context.new_page()
        page.goto(f"{site.pages}/dnt")
        page.wait_for_function("typeof window.__leadscoreLoaded !== 'undefined'")
        page.click("text=Go")  # a marked click is sent at once when tracking is on
        page.evaluate("leadscore('identify', 'someone@acme.com')")
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        assert not any(c["name"] == "_lsid" for c in context.cookies())
        assert sent == []
    finally:
        context.close()
