"""/docs and /redoc work offline: every asset comes from the service itself."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from leadscore.api.app import create_app
from leadscore.service.settings import Settings


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app under uvicorn on 127.0.0.1 (a browser needs a real socket)."""
    import uvicorn

    db = tmp_path_factory.mktemp("docs") / "leadscore.db"
    app = create_app(Settings(db_url=str(db), run_workers=False))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-docs", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


def test_doc_pages_name_no_other_host(tmp_path: Path) -> None:
    app = create_app(Settings(db_url=str(tmp_path / "l.db"), run_workers=False))
    with TestClient(app) as client:
        for page in ("/docs", "/redoc"):
            answer = client.get(page)
            html = answer.text
            assert "default-src 'self'" in answer.headers["content-security-policy"]
            assert re.findall(r"(?:src|href)=\"([^\"]+)\"", html), page
            assert "http://" not in html and "https://" not in html and "//cdn" not in html
            for asset in re.findall(r"(?:src|href)=\"([^\"]+)\"", html):
                assert asset.startswith("/"), asset
                assert client.get(asset).status_code == 200, asset


class Offline:
    """A Playwright route handler: the local server only; anything else is aborted."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.elsewhere: list[str] = []
        self.local: list[str] = []

    def __call__(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(self.origin + "/"):
            self.local.append(url)
            route.continue_()
        else:
            self.elsewhere.append(url)
            route.abort("internetdisconnected")


@pytest.mark.browser
def test_swagger_ui_renders_the_operations_offline(chromium: Any, served: str) -> None:
    context = chromium.new_context()
    offline = Offline(served)
    context.route("**/*", offline)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(served + "/docs")
        page.wait_for_selector(".opblock")
        operations = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/v1/contacts/{contact_id}/score" in [o.replace("\u200b", "") for o in operations]
        assert len(operations) >= 40
        assert page.locator(".info .title").inner_text().startswith("leadscore")
        page.goto(served + "/redoc")
        page.wait_for_selector("h2:has-text('Ingest one event')")  # ReDoc's operation
    finally:
        context.close()
    assert offline.elsewhere == [], f"the docs tried to reach: {offline.elsewhere}"
    assert any(u.endswith("/openapi.json") for u in offline.local)
    assert any("swagger-ui-bundle.js" in u for u in offline.local)
