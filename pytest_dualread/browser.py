"""Visual checks' share of the pytest glue: pytest-playwright's browser, in-process apps served
for it, and the :class:`~pytest_dualread.api.Renderer` that captures pages with them.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_dualread.errors import CaptureError
from pytest_dualread.session import SKIP_REASON, enabled, multiplied_key, settings_key

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

    from pytest_dualread.capture import CaptureOptions, ContextWatch
    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.fetch import Side
    from pytest_dualread.pagecheck import Captured
    from pytest_dualread.visual import PixelBudget

__all__ = [
    "DEFAULT_BROWSER",
    "FixtureRenderer",
    "PageBrowser",
    "browser_fixtures",
    "browser_of",
    "dual_read_page_urls",
    "launch_error",
    "multiplies",
    "user_context_args",
    "watch_test_context",
]

_browser_key = pytest.StashKey[str]()

DEFAULT_BROWSER = "chromium"


def multiplies(browsers: Sequence[str] | None) -> bool:
    """Whether ``--browser`` asks for page checks in more than, or other than, Chromium."""
    return bool(browsers) and list(browsers or ()) != [DEFAULT_BROWSER]


def browser_of(item: pytest.Item, browsers: Sequence[str] | None) -> str:
    """The browser ``item`` runs in: its ``browser_name`` parameter, else what
    pytest-playwright's ``browser_name`` fixture picks (the first ``--browser``, or Chromium)."""
    params: Mapping[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
    name = params.get("browser_name")
    if name:
        return str(name)
    return browsers[0] if browsers else DEFAULT_BROWSER


def user_context_args(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The arguments pytest-playwright's ``new_context`` passes every context of this test:
    the ``browser_context_args`` fixture, updated by the closest ``browser_context_args``
    marker (the same merge ``new_context`` makes)."""
    args = dict(request.getfixturevalue("browser_context_args"))
    marker = next(request.node.iter_markers("browser_context_args"), None)
    if marker is not None:
        args.update(marker.kwargs)
    return args


def launch_error(browser: str, exc: BaseException) -> CaptureError:
    """One line naming the browser that did not start and how to install it."""
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    if browser == DEFAULT_BROWSER:
        how = "apt-get install chromium fonts-liberation (or python -m playwright install chromium)"
    else:
        how = f"python -m playwright install {browser} (pytest-dualread never installs browsers)"
    return CaptureError(
        f"{browser} could not be launched for this page check ({detail}); install it with: {how}",
        reason="browser",
    )


@dataclass
class PageBrowser:
    """The browser of one page check, and pytest-playwright's context factory for it."""

    name: str
    browser: Browser
    new_context: Callable[..., BrowserContext]
    context_args: dict[str, Any]

    @classmethod
    def open(cls, request: pytest.FixtureRequest, name: str) -> PageBrowser:
        """Launch (or reuse) the session's browser through pytest-playwright. A browser that
        does not start is a :class:`CaptureError` (reason ``browser``), an error check."""
        try:
            browser = request.getfixturevalue("browser")
        except CaptureError:
            raise  # already says what to install (no system Chromium found)
        except Exception as exc:  # Playwright's Error, kept out of the import
            raise launch_error(name, exc) from None
        new_context = request.getfixturevalue("new_context")
        return cls(name, browser, new_context, user_context_args(request))


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


def watch_test_context(request: pytest.FixtureRequest) -> ContextWatch | None:
    """With pytest-playwright's ``context`` among the test's fixtures (``page`` brings it),
    its requests watched from now, before the test navigates: ``visual_snapshot`` then knows
    what is in flight on the page without Playwright's ``networkidle`` (a fixed 0.5 s after
    the last request). ``None`` when there is no such context."""
    if "context" not in request.fixturenames:
        return None
    try:
        from playwright.sync_api import BrowserContext
    except ImportError:
        return None
    try:
        context = request.getfixturevalue("context")
    except Exception:  # a browser that does not start: the test's `page` says so itself
        return None
    if not isinstance(context, BrowserContext):
        return None  # a fixture of the user's that happens to be named `context`
    from pytest_dualread.capture import ContextWatch

    return ContextWatch.start(context)


@dataclass(frozen=True)
class FixtureRenderer:
    """Captures pages with the browser pytest-playwright gives the running test."""

    test: pytest.FixtureRequest
    settings: DualReadSettings
    watch: ContextWatch | None = None
    """Requests in flight in the test's own context, from before it navigated."""

    @staticmethod
    def _require() -> None:
        from pytest_dualread.extras import require

        # Without pytest-playwright there is no `browser` fixture: say which extra brings it.
        require("visual", "playwright", "pytest_playwright", "numpy", "PIL", feature="a page check")

    @property
    def browser_name(self) -> str:
        """The browser this test's page checks run in."""
        config = self.test.config
        return browser_of(self.test.node, config.getoption("browser", default=None))

    @property
    def strips_browser_id(self) -> bool:
        """The test runs once per ``--browser`` because of the plugin, so its baselines are
        named without the browser's id."""
        multiplied = self.test.config.stash.get(multiplied_key, set())
        return getattr(self.test.node, "function", None) in multiplied

    def _fingerprint(
        self, browser: Any, rendered_at: tuple[list[int] | None, float] | None = None
    ) -> dict[str, Any]:
        """The environment a capture was made in. ``rendered_at``: the viewport and device
        scale factor of the page's context, else those of ``[tool.dualread.visual]``."""
        from pytest_dualread.capture import browser_fingerprint

        executable = self.test.config.stash.get(_browser_key, None)
        if browser.browser_type.name != DEFAULT_BROWSER:
            executable = None  # the system-Chromium fallback is for Chromium only
        fingerprint = browser_fingerprint(browser, executable)
        visual = self.settings.visual
        viewport, scale = rendered_at or (
            [visual.viewport.width, visual.viewport.height],
            visual.device_scale_factor,
        )
        fingerprint["device_scale_factor"] = scale
        fingerprint["viewport"] = viewport
        return fingerprint

    def side_url(self, side: str, path: str) -> str:
        bases: dict[str, str] = self.test.getfixturevalue("dual_read_page_urls")
        prefix: str = getattr(self.settings, side).path_prefix
        return bases[side] + prefix + path

    def render(
        self, path: str, options: CaptureOptions, budget: PixelBudget, baseline: bytes | None
    ) -> Captured:
        from pytest_dualread.capture import effective_viewport
        from pytest_dualread.fetch import SIDES
        from pytest_dualread.pagecheck import Captured
        from pytest_dualread.visual import run_page_check

        self._require()
        opened = PageBrowser.open(self.test, self.browser_name)
        fingerprint = self._fingerprint(
            opened.browser, effective_viewport(opened.context_args, options)
        )
        urls: dict[str, str] = {side: self.side_url(side, path) for side in SIDES}
        headers: dict[str, dict[str, str]] = {
            side: getattr(self.settings, side).browser_headers() for side in SIDES
        }
        result = run_page_check(
            opened.new_context,
            urls,
            headers,
            options,
            budget,
            baseline,
            context_args=opened.context_args,
        )
        return Captured(result, fingerprint, urls["legacy"])

    def snapshot(
        self, page: Any, options: CaptureOptions, budget: PixelBudget, baseline: bytes | None
    ) -> Captured:
        from pytest_dualread.pagecheck import Captured
        from pytest_dualread.visual import run_snapshot_check

        self._require()
        pinned = ([*options.viewport], options.device_scale_factor)
        fingerprint = self._fingerprint(
            page.context.browser, pinned if options.viewport_pinned else None
        )
        watched = self.watch.of(page) if self.watch is not None else None
        result = run_snapshot_check(page, options, budget, baseline, watched=watched)
        return Captured(result, fingerprint, page.url)
