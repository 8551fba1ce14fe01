"""The HTML report renders in headless Chromium with every network request blocked."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from leadscore.cli.main import app

from .conftest import AS_OF

# Replaced only with LEADSCORE_UPDATE_SCREENSHOTS=1 (see tests/conftest.py).
SCREENSHOTS = Path(__file__).parent / "screenshots"


@pytest.mark.browser
def test_report_renders_offline(chromium, tmp_path, screenshots, stages, contacts, events):
    paths = {}
    for name, frame in (("stages", stages), ("contacts", contacts), ("events", events)):
        paths[name] = tmp_path / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    html = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "report", "html", "--output", str(html), "--stages", str(paths["stages"]),
            "--contacts", str(paths["contacts"]), "--events", str(paths["events"]),
            "--revenue", "3000", "--as-of", AS_OF,
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    blocked: list[str] = []
    shot = screenshots.path("analytics_report.png")
    context = chromium.new_context(viewport={"width": 1280, "height": 2000})
    try:
        page = context.new_page()

        def guard(route):  # only the file itself may load
            url = route.request.url
            if url.startswith("file://") or url.startswith("http://localhost"):
                route.continue_()
            else:
                blocked.append(url)
                route.abort()

        page.route("**/*", guard)
        page.goto(html.as_uri())
        page.wait_for_load_state("load")
        # Every section is there and every chart has drawn marks with a real size.
        for key in ("funnel", "velocity", "rfm", "attribution", "goals"):
            assert page.locator(f"section#{key}").count() == 1
        charts = page.locator("svg.chart")
        assert charts.count() >= 6
        box = charts.first.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 100
        assert page.locator("svg.chart rect.bar").count() >= 4
        bar = page.locator("svg.chart rect.bar").first.bounding_box()
        assert bar is not None and bar["height"] > 1
        assert "Stage-to-stage conversion" in page.inner_text("section#funnel")
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()
    assert blocked == []
    assert shot.stat().st_size > 20_000
    screenshots.keep(shot, SCREENSHOTS / shot.name)
