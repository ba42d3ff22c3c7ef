"""The app over real HTTP (uvicorn on 127.0.0.1) and its dashboard in real Chromium."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from examples.meal_log import seed
from examples.meal_log.adapter import ENV_BUG
from examples.meal_log.app import HEADER_SERVED

from ._helpers import without_meta

CASES = seed.awkward_cases()
VIEWPORT: ViewportSize = {"width": 1280, "height": 720}
# Keep Chromium off the network: only loopback resolves.
HERMETIC = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost"


def _chromium() -> str:
    found = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    if found is None:
        pytest.fail("Chromium not found on PATH or at /usr/bin/chromium: apt-get install chromium")
    return found


@pytest.fixture(scope="module")
def chromium_browser() -> Iterator[Browser]:
    """One Chromium for this module.

    Module-scoped rather than session-scoped on purpose: while Playwright's sync API is
    running it keeps an event loop registered on the main thread, so it is closed as soon as
    the browser tests are done.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=_chromium(), args=[HERMETIC])
        yield chromium
        chromium.close()


def _open(browser: Browser, live_url: str, side: str, path: str) -> Page:
    context = browser.new_context(viewport=VIEWPORT, extra_http_headers={"X-Read-Path": side})
    page = context.new_page()
    response = page.goto(live_url + path)
    assert response is not None
    assert response.status == 200
    assert response.headers[HEADER_SERVED.lower()] == side
    return page


def _shot(page: Page) -> Image.Image:
    png = page.screenshot(
        full_page=True, animations="disabled", caret="hide", mask=[page.locator(".clock")]
    )
    page.context.close()
    # RGB: a difference image of two opaque RGBA shots is fully transparent, and getbbox()
    # would then ignore it.
    return Image.open(io.BytesIO(png)).convert("RGB")


def _diff_box(a: Image.Image, b: Image.Image) -> tuple[int, int, int, int] | None:
    assert a.size == b.size
    return ImageChops.difference(a, b).getbbox()


def test_json_over_http_is_equal_on_both_paths(live_url: str) -> None:
    with httpx.Client(base_url=live_url, timeout=10) as client:
        for path in (CASES.showcase_day.day_path, f"/meal-logs/{CASES.many_items_log}"):
            legacy = client.get(path, headers={"X-Read-Path": "legacy"})
            adapter = client.get(path, headers={"X-Read-Path": "adapter"})
            assert (legacy.headers[HEADER_SERVED], adapter.headers[HEADER_SERVED]) == (
                "legacy",
                "adapter",
            )
            assert without_meta(legacy.json()) == without_meta(adapter.json())
        bad = client.get(CASES.showcase_day.day_path, headers={"X-Read-Path": "both"})
        assert bad.status_code == 400


@pytest.mark.parametrize(
    "path",
    [
        CASES.showcase_day.dashboard_path,
        CASES.empty_day.dashboard_path,
        CASES.many_items_day.dashboard_path,
        CASES.unicode_day.dashboard_path,
        CASES.zero_energy_day.dashboard_path,
        CASES.utc_minus_5_days[0].dashboard_path,
    ],
)
def test_dashboards_are_pixel_identical(
    chromium_browser: Browser, live_url: str, path: str
) -> None:
    legacy = _shot(_open(chromium_browser, live_url, "legacy", path))
    adapter = _shot(_open(chromium_browser, live_url, "adapter", path))
    assert legacy.width == VIEWPORT["width"]  # fits the viewport width
    assert _diff_box(legacy, adapter) is None


def test_css_color_changes_only_the_total_row(
    chromium_browser: Browser, live_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = CASES.showcase_day.dashboard_path
    legacy = _shot(_open(chromium_browser, live_url, "legacy", path))
    monkeypatch.setenv(ENV_BUG, "css_color")
    page = _open(chromium_browser, live_url, "adapter", path)
    row = page.locator("tr.total").bounding_box()
    assert row is not None
    box = _diff_box(legacy, _shot(page))
    assert box is not None
    left, top, right, bottom = box
    assert row["x"] <= left
    assert right <= row["x"] + row["width"]
    assert row["y"] <= top
    assert bottom <= row["y"] + row["height"]


def _header_widths(page: Page) -> list[float]:
    widths: list[float] = page.locator("#meals th").evaluate_all(
        "cells => cells.map(c => c.getBoundingClientRect().width)"
    )
    return widths


def test_layout_shift_widens_one_column_by_one_pixel(
    chromium_browser: Browser, live_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = CASES.showcase_day.dashboard_path
    legacy_page = _open(chromium_browser, live_url, "legacy", path)
    legacy_widths = _header_widths(legacy_page)
    grams = legacy_page.locator("#meals th").nth(3).bounding_box()
    assert grams is not None
    legacy = _shot(legacy_page)
    monkeypatch.setenv(ENV_BUG, "layout_shift")
    page = _open(chromium_browser, live_url, "adapter", path)
    widths = _header_widths(page)
    assert [round(w - lw) for w, lw in zip(widths, legacy_widths, strict=True)] == [
        0, 0, 0, 1, 0, 0, 0, 0,
    ]  # fmt: skip
    box = _diff_box(legacy, _shot(page))
    assert box is not None
    assert box[0] >= grams["x"]  # nothing left of the grams column moved
