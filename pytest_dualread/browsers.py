"""Page checks in pytest-playwright's browsers: which browser a check runs in, its contexts.

A page check takes its browser and contexts from pytest-playwright's fixtures (``browser``,
``new_context``), so ``browser_context_args``, its marker, ``--tracing`` and ``--video`` apply
as they do to any Playwright test. ``--browser`` multiplies page checks the way it multiplies
Playwright tests; with the default browser alone (Chromium) a page check keeps its plain id.

Baselines per browser (see ``docs/visual-checks.md``): Chromium's stay where they always were,
``<snapshot_dir>/visual/<file>/<name>.png``; another browser's are kept in a tree of their own,
``<snapshot_dir>/visual-<browser>/<file>/<name>.png``. The browser id pytest-playwright adds to
a multiplied check's name (``card[firefox]``) is left out of the baseline's name, so a page has
the same name in every browser and in a run with one browser or several.

Nothing here imports Playwright: its objects come from pytest-playwright's fixtures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_dualread.errors import CaptureError

if TYPE_CHECKING:
    import pytest
    from playwright.sync_api import Browser, BrowserContext

__all__ = [
    "DEFAULT_BROWSER",
    "PageBrowser",
    "browser_of",
    "launch_error",
    "multiplies",
    "user_context_args",
    "without_browser_id",
]

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


def without_browser_id(name: str, browser: str) -> str:
    """``name`` without the id pytest-playwright's parametrization added for ``browser``:
    ``card[firefox]`` -> ``card``, ``day[firefox-2025-09-20][x]`` -> ``day[2025-09-20][x]``."""
    base, bracket, rest = name.partition("[")
    ids, closing, tail = rest.partition("]")
    if not bracket or not closing:
        return name
    # pytest joins the ids of stacked parametrizations with "-", in the order the hooks and
    # marks parametrized, so the browser's id is the whole id, its head or its tail.
    if ids == browser:
        return base + tail
    if ids.startswith(f"{browser}-"):
        return f"{base}[{ids[len(browser) + 1 :]}]{tail}"
    if ids.endswith(f"-{browser}"):
        return f"{base}[{ids[: -len(browser) - 1]}]{tail}"
    return name


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
