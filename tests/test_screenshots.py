"""Browser tests keep the working tree clean: screenshots replace the committed
ones only with LEADSCORE_UPDATE_SCREENSHOTS=1 (the `screenshots` fixture)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

PNG = b"\x89PNG\r\n\x1a\n" + bytes(2_000)


def test_screenshots_go_to_a_temporary_folder(screenshots: Any) -> None:
    repo = Path(__file__).resolve().parents[1]
    assert not screenshots.path("queue.png").resolve().is_relative_to(repo)


@pytest.mark.parametrize("update", [False, True])
def test_committed_screenshot_is_replaced_only_when_updating(
    screenshots: Any, tmp_path: Path, update: bool
) -> None:
    shots = dataclasses.replace(screenshots, folder=tmp_path / "run", update=update)
    shots.folder.mkdir()
    committed = tmp_path / "docs" / "screenshots" / "queue.png"
    shot = shots.path("queue.png")
    shot.write_bytes(PNG)
    assert shots.keep(shot, committed) == shot
    assert committed.exists() is update
    if update:
        assert committed.read_bytes() == PNG


def test_an_empty_or_non_png_screenshot_fails(screenshots: Any, tmp_path: Path) -> None:
    shots = dataclasses.replace(screenshots, folder=tmp_path, update=False)
    for content in (b"", b"not a png" * 500, PNG[:100]):
        shot = shots.path("bad.png")
        shot.write_bytes(content)
        with pytest.raises(AssertionError, match="not a screenshot"):
            shots.keep(shot, tmp_path / "committed.png")
