"""Visual checks' share of the pytest glue: pytest-playwright's browser, in-process apps served
for it, and the :class:`~pytest_dualread.api.Renderer` that captures pages with them.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_dualread.session import SKIP_REASON, enabled, settings_key

if TYPE_CHECKING:
    from pytest_dualread.capture import CaptureOptions
    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.fetch import Side
    from pytest_dualread.pagecheck import Captured
    from pytest_dualread.visual import PixelBudget

__all__ = ["FixtureRenderer", "browser_fixtures", "dual_read_page_urls"]

_browser_key = pytest.StashKey[str]()


def _launch_args(
    browser_type_launch_args: dict[str, Any],
    browser_name: str | None,
    playwright: Any,
    pytestconfig: pytest.Config,
) -> dict[str, Any]:
    """pytest-playwright's launch arguments, plus a system Chromium when Playwright's own
    browser is not installed (or ``browser_executable`` is set)."""
    args = dict(browser_type_launch_args)
    if browser_name not in (None, "chromium") or "executable_path" in args:
        return args
    from pytest_dualread.capture import find_chromium

    settings = pytestconfig.stash.get(settings_key, None)
    configured = settings.visual.browser_executable if settings is not None else None
    if configured is None and (
        "channel" in args or Path(playwright.chromium.executable_path).exists()
    ):
        return args
    executable, how = find_chromium(configured)
    args["executable_path"] = executable
    pytestconfig.stash[_browser_key] = f"{executable} ({how})"
    return args


def browser_fixtures() -> types.ModuleType:
    """Fixtures registered in pytest_configure, after pytest-playwright's, so that ours wrap
    theirs (a conftest override of the same name still wraps ours)."""
    holder = types.ModuleType("pytest_dualread.browser_fixtures")
    fixture = pytest.fixture(scope="session", name="browser_type_launch_args")(_launch_args)
    holder.browser_type_launch_args = fixture  # type: ignore[attr-defined]
    return holder


@pytest.fixture(scope="session")
def dual_read_page_urls(request: pytest.FixtureRequest) -> Iterator[dict[Side, str]]:
    """Base URL of each side for the browser; an in-process app is served on 127.0.0.1."""
    settings = request.config.stash.get(settings_key, None)
    if settings is None or not enabled(request.config):
        pytest.skip(SKIP_REASON)
    from pytest_dualread.capture import AppServer
    from pytest_dualread.fetch import SIDES, side_target

    servers: dict[int, AppServer] = {}
    urls: dict[Side, str] = {}
    try:
        for side in SIDES:
            target = side_target(settings, side)
            if target.protocol == "http":
                urls[side] = target.base_url
                continue
            server = servers.get(id(target.app))
            if server is None:
                server = servers[id(target.app)] = AppServer(target.app, name=target.spec)
                server.start()
            urls[side] = server.base_url
        yield urls
    finally:
        for server in servers.values():
            server.stop()


class FixtureRenderer:
    """Captures pages with the browser pytest-playwright gives the running test."""

    def __init__(self, request: pytest.FixtureRequest, settings: DualReadSettings) -> None:
        self._test = request
        self._settings = settings

    @staticmethod
    def _require() -> None:
        from pytest_dualread.extras import require

        # Without pytest-playwright there is no `browser` fixture: say which extra brings it.
        require("visual", "playwright", "pytest_playwright", "numpy", "PIL", feature="a page check")

    def _fingerprint(self, browser: Any) -> dict[str, Any]:
        from pytest_dualread.capture import browser_fingerprint

        executable = self._test.config.stash.get(_browser_key, None)
        fingerprint = browser_fingerprint(browser, executable)
        visual = self._settings.visual
        fingerprint["device_scale_factor"] = visual.device_scale_factor
        fingerprint["viewport"] = [visual.viewport.width, visual.viewport.height]
        return fingerprint

    def side_url(self, side: str, path: str) -> str:
        bases: dict[str, str] = self._test.getfixturevalue("dual_read_page_urls")
        prefix: str = getattr(self._settings, side).path_prefix
        return bases[side] + prefix + path

    def render(
        self, path: str, options: CaptureOptions, budget: PixelBudget, baseline: bytes | None
    ) -> Captured:
        from pytest_dualread.fetch import SIDES
        from pytest_dualread.pagecheck import Captured
        from pytest_dualread.visual import run_page_check

        self._require()
        browser = self._test.getfixturevalue("browser")
        fingerprint = self._fingerprint(browser)
        urls: dict[str, str] = {side: self.side_url(side, path) for side in SIDES}
        headers: dict[str, dict[str, str]] = {
            side: getattr(self._settings, side).browser_headers() for side in SIDES
        }
        result = run_page_check(browser, urls, headers, options, budget, baseline)
        return Captured(result, fingerprint, urls["legacy"])

    def snapshot(
        self, page: Any, options: CaptureOptions, budget: PixelBudget, baseline: bytes | None
    ) -> Captured:
        from pytest_dualread.pagecheck import Captured
        from pytest_dualread.visual import run_snapshot_check

        self._require()
        fingerprint = self._fingerprint(page.context.browser)
        result = run_snapshot_check(page, options, budget, baseline)
        return Captured(result, fingerprint, page.url)
