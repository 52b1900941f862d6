"""Screenshots of the HTML report in its four states, with headless Chromium: the page renders,
and each state shows its own badge colour (a broken layout or a green inventory is seen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner_runner.devtools import screenshots
from tests.pngread import has_colour, read_png

BADGES = {  # the badge backgrounds in report.html.j2
    "passed": (0x1F, 0x7A, 0x3A),
    "failed": (0xB3, 0x26, 0x1E),
    "error": (0x6B, 0x3F, 0xA0),
    "inventory-only": (0x4A, 0x55, 0x61),
}
COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    # Not skipped when Chromium is missing: the screenshots are part of what is checked.
    try:
        screenshots.find_chromium()
    except screenshots.ScreenshotError as exc:
        pytest.fail(str(exc))
    return screenshots.take_all(tmp_path_factory.mktemp("shots"))


@pytest.mark.slow
def test_four_states_are_screenshotted_at_the_window_size(shots: dict[str, Path]) -> None:
    assert set(shots) == set(screenshots.STATES)
    for png in shots.values():
        width, height, _ = read_png(png, max_rows=1)
        assert (width, height) == screenshots.WINDOW


@pytest.mark.slow
@pytest.mark.parametrize("state", screenshots.STATES)
def test_each_state_shows_its_own_badge_and_no_other(shots: dict[str, Path], state: str) -> None:
    _, _, rows = read_png(shots[state], max_rows=160)
    for other, colour in BADGES.items():
        assert has_colour(rows, colour) is (other == state), (state, other)


def test_the_committed_screenshots_are_there() -> None:
    for state in screenshots.STATES:
        png = COMMITTED / f"report-{state}.png"
        assert png.is_file(), f"{png} missing: run `make screenshots`"
        assert read_png(png, max_rows=1)[:2] == screenshots.WINDOW


def test_a_missing_chromium_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(screenshots.ScreenshotError, match="chromium exited"):
        screenshots.capture(tmp_path / "x.html", tmp_path / "x.png", "/bin/false")
    assert screenshots.main([]) == 2
