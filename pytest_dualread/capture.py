"""Page captures: the only Playwright user.

A capture is one screenshot of one side's page, made the way that gives byte-identical PNGs
run after run on the same Chromium and fonts (see ``docs/visual-checks.md``): a fresh browser
context per side, made by pytest-playwright's ``new_context`` (so the user's
``browser_context_args`` apply) with that side's headers, the fixed viewport and device scale
factor added (:func:`context_kwargs`), wait for the load event, then for the network
(:class:`NetworkWatch`, fed by the page's request events), and web fonts (Playwright's
screenshot waits for ``document.fonts.ready``), optional frozen clock,
``animations="disabled"``, ``caret="hide"``, masks painted over by selector.

Two readiness levels (see ``docs/visual-checks.md#ready-pages``): a capture that will be
compared with a baseline is taken as soon as no request is in flight (:meth:`SideCapturer.first`
with ``early``); one that becomes a baseline, or one that differs from its baseline when the
page asks for a quiet period (``quiet_when_different``), is taken once no request has been in
flight for ``network_idle_s`` (:meth:`SideCapturer.ready`), so data a script fetches after load
is on the page. A network never quiet is ``unstable``.

:class:`SideCapturer` retakes captures on request until two consecutive ones are identical
(:meth:`SideCapturer.settle`), the way Playwright Test stabilises ``toHaveScreenshot``: a page
that never settles is a :class:`~pytest_dualread.errors.CaptureError` with reason
``unstable``, never a visual difference.

:func:`find_chromium` locates a browser when Playwright's own is not installed, and
:class:`AppServer` serves an in-process ASGI / WSGI app on 127.0.0.1 for the browser.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from pytest_dualread.errors import CaptureError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

    NewContext = Callable[..., BrowserContext]

__all__ = [
    "BROWSER_CANDIDATES",
    "AppServer",
    "CaptureOptions",
    "ContextWatch",
    "NetworkWatch",
    "Shot",
    "SideCapturer",
    "browser_fingerprint",
    "context_kwargs",
    "effective_viewport",
    "find_chromium",
    "font_fingerprint",
    "masks_of",
]

BROWSER_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
SETTLE_WAITS_S = (0.0, 0.1, 0.25, 0.5, 1.0)
_HIDE_SCRIPT = "els => els.forEach(e => e.style.setProperty('visibility', 'hidden', 'important'))"
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.fonts", "~/.local/share/fonts")


def find_chromium(configured: str | None = None) -> tuple[str, str]:
    """A Chromium for Playwright to launch: ``(path, how it was found)``.

    ``configured`` (``browser_executable``) wins; then Chromium-family binaries on PATH.
    Raises :class:`CaptureError` (reason ``browser``) naming the Debian package when none.
    """
    if configured:
        if not Path(configured).is_file():
            raise CaptureError(f"browser_executable {configured} does not exist", reason="browser")
        return configured, "browser_executable setting"
    for name in BROWSER_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found, f"{name} on PATH"
    raise CaptureError(
        "no browser: Playwright's own Chromium is not installed and no "
        f"{', '.join(BROWSER_CANDIDATES)} is on PATH. On Debian or Ubuntu: "
        "apt-get install chromium fonts-liberation (or set [tool.dualread.visual] "
        "browser_executable)",
        reason="browser",
    )


@lru_cache(maxsize=1)
def font_fingerprint() -> str:
    """A short hash of the font files fontconfig offers Chromium (path and size of each)."""
    digest = hashlib.sha256()
    for base in FONT_DIRS:
        root = Path(os.path.expanduser(base))
        if not root.is_dir():
            continue
        for path in sorted(root.rglob("*")):
            if path.suffix.lower() in (".ttf", ".otf", ".ttc", ".pfb", ".woff", ".woff2"):
                try:
                    size = path.stat().st_size
                except OSError:
                    continue
                digest.update(f"{path}\0{size}\n".encode())
    return digest.hexdigest()[:12]


def browser_fingerprint(browser: Browser, executable: str | None) -> dict[str, Any]:
    return {
        "browser": f"{browser.browser_type.name} {browser.version}",
        "executable": executable or "playwright",
        "fonts": font_fingerprint(),
    }


@dataclass(frozen=True)
class CaptureOptions:
    """How to capture one page (already merged: call over page over ``[tool.dualread.visual]``)."""

    viewport: tuple[int, int] = (1280, 720)
    device_scale_factor: float = 1.0
    full_page: bool = True
    mask: tuple[str, ...] = ()
    required_mask: tuple[str, ...] = ()
    """Selectors that must match something (given for this page or call, not globally)."""
    mask_color: str = "#FF00FF"
    navigation_timeout_s: float = 30.0
    stabilize_timeout_s: float = 5.0
    network_idle_s: float = 0.5
    """How long no request may be in flight before a capture (Playwright's networkidle's 0.5 s)."""
    quiet_when_different: bool = False
    """``network_idle_s`` was given (for the page or in ``[tool.dualread.visual]``): a capture
    that differs from its baseline is judged only after that quiet period, not as soon as it
    settles."""
    freeze_clock: str | None = None
    element: str | None = None
    hide: tuple[str, ...] = ()
    """Selectors made invisible (``visibility: hidden``) before each capture; each must match."""
    style: str | None = None
    """CSS text applied while capturing (a file given in the options is already read)."""
    clip: tuple[float, float, float, float] | None = None
    """``x, y, width, height`` of the area captured."""
    viewport_pinned: bool = False
    """``viewport`` is the page's own: it wins over the user's ``browser_context_args``."""
    wait_until: str = "load"
    wait_for: str | None = None
    wait_for_function: str | None = None


def effective_viewport(
    context_args: Mapping[str, Any], options: CaptureOptions
) -> tuple[list[int] | None, float]:
    """The viewport (``None``: none) and device scale factor a side's page renders at: the
    user's ``browser_context_args`` win (pytest-playwright passes them to every context and a
    keyword cannot be given twice), else ``[tool.dualread.visual]``'s."""
    if options.viewport_pinned:
        viewport: list[int] | None = list(options.viewport)
    elif "viewport" in context_args:
        given = context_args["viewport"]
        viewport = None if given is None else [int(given["width"]), int(given["height"])]
    else:
        viewport = list(options.viewport)
    if context_args.get("no_viewport") and not options.viewport_pinned:
        viewport = None
    scale = context_args.get("device_scale_factor")
    return viewport, float(scale) if scale is not None else options.device_scale_factor


def context_kwargs(
    context_args: Mapping[str, Any], options: CaptureOptions, headers: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, str]]:
    """What a side's context gets on top of the user's ``browser_context_args``: the viewport
    and device scale factor unless the user set them, and the side's headers. Returns the
    keyword arguments for ``new_context`` and the headers to set once it exists (only when the
    user's arguments carry headers of their own: the side's go on top of those)."""
    kwargs: dict[str, Any] = {}
    if "viewport" not in context_args and "no_viewport" not in context_args:
        width, height = options.viewport
        kwargs["viewport"] = {"width": width, "height": height}
    if "device_scale_factor" not in context_args:
        kwargs["device_scale_factor"] = options.device_scale_factor
    if "extra_http_headers" not in context_args:
        kwargs["extra_http_headers"] = dict(headers) or None
        return kwargs, {}
    merged = {**(context_args["extra_http_headers"] or {}), **headers}
    return kwargs, merged if headers else {}


@dataclass
class Shot:
    png: bytes
    captures: int = 1
    unmatched_masks: tuple[str, ...] = ()
    status: int | None = None
    quiet_s: float = 0.0
    """How long no request had been in flight when the capture began."""


def request_text(method: str, url: str) -> str:
    """A request as an error names it: method and URL without credentials or query (either
    may hold a secret); ``?…`` marks a dropped query."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    query = "?…" if parts.query else ""
    return f"{method} {urlunsplit((parts.scheme, netloc, parts.path, '', ''))}{query}"


@dataclass
class NetworkWatch:
    """A page's requests in flight, kept from its request events (also those its scripts start
    after load), so a capture waits for a quiet network and an error names what never ended."""

    in_flight: dict[Any, str] = field(default_factory=dict)
    """Each request still in flight and its :func:`request_text`."""
    last: str = ""
    """The latest request started."""
    started: int = 0
    changes: int = 0
    """Requests started plus requests ended: unchanged across a capture means none moved."""
    changed_at: float = field(default_factory=time.monotonic)

    def attach(self, source: Page | BrowserContext) -> None:
        source.on("request", self._started)
        source.on("requestfinished", self._ended)
        source.on("requestfailed", self._ended)

    def detach(self, source: Page | BrowserContext) -> None:
        source.remove_listener("request", self._started)
        source.remove_listener("requestfinished", self._ended)
        source.remove_listener("requestfailed", self._ended)

    def _started(self, request: Any) -> None:
        self.last = request_text(request.method, request.url)
        self.in_flight[request] = self.last
        self.started += 1
        self._changed()

    def _ended(self, request: Any) -> None:
        self.in_flight.pop(request, None)
        self._changed()

    def _changed(self) -> None:
        self.changes += 1
        self.changed_at = time.monotonic()

    def quiet_for(self, seconds: float) -> bool:
        return not self.in_flight and time.monotonic() - self.changed_at >= seconds

    def still_busy(self) -> str:
        """What kept the network busy, for an ``unstable`` error."""
        busy = (
            f"{self.started} requests since the page opened, the last {self.last}"
            if self.started
            else "no request seen since the capture began (one started before is pending)"
        )
        if not self.in_flight:
            return busy
        shown = sorted(set(self.in_flight.values()))
        more = f" and {len(shown) - 3} more" if len(shown) > 3 else ""
        return f"{busy}; still in flight: {', '.join(shown[:3])}{more}"


@dataclass(frozen=True)
class ContextWatch:
    """A browser context's requests, watched since before any of its pages navigated: an open
    page of that context knows what is in flight without Playwright's ``networkidle`` (which
    costs a fixed 0.5 s after the last request)."""

    context: BrowserContext
    watch: NetworkWatch

    @classmethod
    def start(cls, context: BrowserContext) -> ContextWatch | None:
        """Watch ``context``; ``None`` when one of its pages has navigated already (requests
        it started before now would be invisible)."""
        if any(page.url != "about:blank" for page in context.pages):
            return None
        watch = NetworkWatch()
        watch.attach(context)
        return cls(context, watch)

    def of(self, page: Page) -> NetworkWatch | None:
        """The watch that saw all of ``page``'s requests, if it is one of the context's."""
        return self.watch if page.context == self.context else None


@dataclass
class SideCapturer:
    """Captures one side's page in its own browser context. Close it when done."""

    new_context: NewContext | None
    """pytest-playwright's ``new_context`` (``None`` with ``page``)."""
    side: str
    url: str
    options: CaptureOptions
    headers: dict[str, str] = field(default_factory=dict)
    context_args: Mapping[str, Any] = field(default_factory=dict)
    """The user's ``browser_context_args``, which ``new_context`` adds to every context."""
    page: Page | None = None
    """An open page to capture as it is (no navigation), e.g. pytest-playwright's ``page``."""
    _context: BrowserContext | None = None
    _page: Page | None = None
    captures: int = 0
    watched: NetworkWatch | None = None
    """A watch of ``page``'s requests since before it navigated (see :class:`ContextWatch`)."""
    _watch: NetworkWatch = field(default_factory=NetworkWatch)
    _deadline: float = 0.0
    """When the network must have become quiet (``stabilize_timeout_s`` after load)."""
    _navigated: tuple[float, int | None] | None = None
    """Once :meth:`start` has navigated: when the load must be done, and the HTTP status."""

    def __post_init__(self) -> None:
        if self.watched is not None:
            self._watch = self.watched

    def _open(self) -> Page:
        if self._page is not None:
            return self._page
        if self.page is not None:
            self._page = self.page
            if self.watched is None:
                self._watch.attach(self.page)
            return self.page
        assert self.new_context is not None
        kwargs, headers = context_kwargs(self.context_args, self.options, self.headers)
        self._context = self.new_context(**kwargs)
        if headers:
            self._context.set_extra_http_headers(headers)
        self._page = self._context.new_page()
        if self.options.viewport_pinned and "viewport" in self.context_args:
            # The user's context args hold a viewport (one keyword cannot be given twice).
            width, height = self.options.viewport
            self._page.set_viewport_size({"width": width, "height": height})
        self._watch.attach(self._page)
        if self.options.freeze_clock:
            self._page.clock.set_fixed_time(self.options.freeze_clock)
        return self._page

    def start(self) -> None:
        """Open the page and navigate until the document arrives (its HTTP status is known);
        the page goes on loading while the caller does other work, such as starting the other
        side, and :meth:`first` waits for the rest. Nothing to do for an open page."""
        page = self._open()
        if self.page is not None or self._navigated is not None:
            return
        deadline = time.monotonic() + self.options.navigation_timeout_s
        response = self._navigating(
            lambda: page.goto(
                self.url, wait_until="commit", timeout=self.options.navigation_timeout_s * 1000
            )
        )
        status = response.status if response is not None else None
        if status is not None and status >= 400:
            raise CaptureError(
                f"{self.side}: the page answered HTTP {status}, expected 2xx",
                reason="http",
                url=self.url,
            )
        self._navigated = (deadline, status)

    def _navigating(self, step: Callable[[], Any]) -> Any:
        """A navigation step; Playwright's errors become one ``navigation`` error."""
        try:
            return step()
        except Exception as exc:  # Playwright's TimeoutError / Error, kept out of the import
            raise CaptureError(
                f"{self.side}: the page did not load within "
                f"{self.options.navigation_timeout_s:g} s (navigation_timeout_s): "
                f"{str(exc).splitlines()[0]}",
                reason="navigation",
                url=self.url,
            ) from None

    def first(self, *, early: bool = False) -> Shot:
        """Navigate (unless :meth:`start` did) and take the first capture: after the quiet
        period, or with ``early`` as soon as no request is in flight (for a capture compared
        with a baseline; one that differs is taken again)."""
        page = self._open()
        if self.page is not None:
            return self._first_of_open_page(page, early=early)
        self.start()
        assert self._navigated is not None
        deadline, status = self._navigated
        if self.options.wait_until != "commit":
            left_ms = max(deadline - time.monotonic(), 0.001) * 1000
            state: Any = self.options.wait_until
            self._navigating(lambda: page.wait_for_load_state(state, timeout=left_ms))
        self._await_ready(page)
        # The quiet period counts from load at the earliest: scripts often fetch right after it.
        self._watch.changed_at = time.monotonic()
        return self._after_load(page, status, early=early)

    def _first_of_open_page(self, page: Page, *, early: bool) -> Shot:
        if self.options.viewport_pinned:
            width, height = self.options.viewport
            page.set_viewport_size({"width": width, "height": height})
        if self.watched is None:
            # Requests begun before this call are invisible to a watch attached now:
            # Playwright's networkidle (no request for 0.5 s since navigation) counts them.
            if self.options.network_idle_s > 0:
                self._await_network_idle(page)
            if not self._watch.changes:
                # networkidle is the same quiet period, just reached: waiting out another one
                # from now would double the cost of every open-page capture.
                self._watch.changed_at = time.monotonic() - self.options.network_idle_s
        self._await_ready(page)
        return self._after_load(page, None, early=early)

    def ready(self, previous: Shot) -> Shot:
        """The capture once no request has been in flight for ``network_idle_s``: taken again
        unless ``previous`` already was (the network unchanged since then and quiet long
        enough before it)."""
        page = self._open()
        if previous.quiet_s >= self.options.network_idle_s:
            return previous
        png, quiet_s = self._quiet_shot(page, self._deadline, self.options.network_idle_s)
        return Shot(png, self.captures, previous.unmatched_masks, previous.status, quiet_s)

    def _await_ready(self, page: Page) -> None:
        """The page's own readiness: ``wait_for`` a visible element, ``wait_for_function`` a
        truthy expression, each within ``navigation_timeout_s``."""
        timeout_s = self.options.navigation_timeout_s
        waits: list[tuple[str, Callable[[], object]]] = []
        if self.options.wait_for:
            selector = self.options.wait_for
            waits.append(
                (
                    f"wait_for: no element matching {selector!r} was visible",
                    lambda: page.wait_for_selector(
                        selector, state="visible", timeout=timeout_s * 1000
                    ),
                )
            )
        if self.options.wait_for_function:
            expression = self.options.wait_for_function
            waits.append(
                (
                    f"wait_for_function: {expression!r} did not become true",
                    lambda: page.wait_for_function(expression, timeout=timeout_s * 1000),
                )
            )
        for failure, wait in waits:
            self._ready_or_raise(failure, wait, timeout_s)

    def _ready_or_raise(self, failure: str, wait: Callable[[], object], timeout_s: float) -> None:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            wait()
        except PlaywrightTimeout:
            raise CaptureError(
                f"{self.side}: {failure} within {timeout_s:g} s (navigation_timeout_s)",
                reason="readiness",
                url=self.url,
            ) from None
        except PlaywrightError as exc:  # a selector or script the page cannot run
            first = (str(exc).strip().splitlines() or [""])[0]
            first = first.split(": ", 1)[-1] if first.startswith("Page.") else first
            raise CaptureError(
                f"{self.side}: {failure.split(':', 1)[0]}: {first}",
                reason="readiness",
                url=self.url,
            ) from None

    def _after_load(self, page: Page, status: int | None, *, early: bool) -> Shot:
        # No explicit document.fonts.ready wait: Playwright's screenshot waits for it itself.
        self._deadline = time.monotonic() + self.options.stabilize_timeout_s
        quiet = 0.0 if early else self.options.network_idle_s
        self._await_quiet(page, self._deadline, quiet)
        unmatched = tuple(sel for sel in self.options.mask if page.locator(sel).count() == 0)
        required = [sel for sel in unmatched if sel in self.options.required_mask]
        self._require_matches("mask", required, "masked")
        hidden = [sel for sel in self.options.hide if page.locator(sel).count() == 0]
        self._require_matches("hide", hidden, "hidden")
        png, quiet_s = self._quiet_shot(page, self._deadline, quiet)
        return Shot(png, self.captures, unmatched, status, quiet_s)

    def _require_matches(self, option: str, unmatched: Sequence[str], done: str) -> None:
        if unmatched:
            many = len(unmatched) > 1
            raise CaptureError(
                f"{self.side}: {option} selector{'s' if many else ''} "
                f"{', '.join(repr(s) for s in unmatched)} match{'' if many else 'es'}"
                f" nothing on the page, so nothing would be {done} (check the selector)",
                reason="mask",
                url=self.url,
            )

    def _await_quiet(self, page: Page, deadline: float, quiet: float) -> None:
        """Wait until no request has been in flight for ``quiet`` seconds; ``unstable`` when
        that does not begin before ``deadline``. Waiting on the page lets its events arrive."""
        while not self._watch.quiet_for(quiet):
            if time.monotonic() >= deadline + quiet:
                raise CaptureError(
                    f"{self.side}: the page's network was not quiet for "
                    f"{self.options.network_idle_s:g} s (network_idle_s) within "
                    f"{self.options.stabilize_timeout_s:g} s (stabilize_timeout_s) after load: "
                    f"{self._watch.still_busy()}",
                    reason="unstable",
                    url=self.url,
                )
            page.wait_for_timeout(50)

    def _await_network_idle(self, page: Page) -> None:
        """An open page's requests started before this capture are invisible to the watch;
        Playwright's ``networkidle`` (no request for 0.5 s since navigation) counts them."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        timeout_s = self.options.stabilize_timeout_s
        try:
            page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            raise CaptureError(
                f"{self.side}: the page's network was not idle within {timeout_s:g} s "
                f"(stabilize_timeout_s): {self._watch.still_busy()}",
                reason="unstable",
                url=self.url,
            ) from None

    def _quiet_shot(self, page: Page, deadline: float, quiet: float) -> tuple[bytes, float]:
        """A capture after ``quiet`` seconds with no request in flight, during which no request
        started or ended (else it is taken again), and how long the network had been quiet
        when it began."""
        while True:
            self._await_quiet(page, deadline, quiet)
            changes = self._watch.changes
            quiet_s = time.monotonic() - self._watch.changed_at
            png = self._shoot()
            if self._watch.changes == changes and not self._watch.in_flight:
                return png, quiet_s

    def _shoot(self) -> bytes:
        page = self._open()
        self.captures += 1
        for selector in self.options.hide:
            # Set on each capture: a page may re-render the element between captures.
            page.locator(selector).evaluate_all(_HIDE_SCRIPT)
        masks = [page.locator(sel) for sel in self.options.mask]
        target: Any = page.locator(self.options.element) if self.options.element else page
        kwargs: dict[str, Any] = {
            "animations": "disabled",
            "caret": "hide",
            "mask": masks,
            "mask_color": self.options.mask_color,
            "type": "png",
            "style": self.options.style,
        }
        if not self.options.element:
            kwargs["full_page"] = self.options.full_page
        if self.options.clip is None:
            png: bytes = target.screenshot(**kwargs)
            return png
        x, y, width, height = self.options.clip
        kwargs["clip"] = {"x": x, "y": y, "width": width, "height": height}
        return self._clipped_shot(target, kwargs)

    def _clipped_shot(self, target: Any, kwargs: dict[str, Any]) -> bytes:
        from playwright.sync_api import Error as PlaywrightError

        try:
            png: bytes = target.screenshot(**kwargs)
        except PlaywrightError as exc:
            if "Clipped area" not in str(exc):
                raise
            area = "page" if kwargs.get("full_page") else "viewport"
            raise CaptureError(
                f"{self.side}: clip {kwargs['clip']} lies outside the {area} captured "
                "(full_page = true captures the whole page)",
                reason="clip",
                url=self.url,
            ) from None
        return png

    def settle(self, previous: Shot) -> Shot:
        """Retake captures (short, growing waits) until two consecutive ones are identical."""
        deadline = time.monotonic() + self.options.stabilize_timeout_s
        last = previous.png
        waits = list(SETTLE_WAITS_S)
        busy = ""
        while True:
            wait = waits.pop(0) if waits else SETTLE_WAITS_S[-1]
            if time.monotonic() + wait > deadline:
                raise CaptureError(
                    f"{self.side}: the page never settled: {self.captures} captures in "
                    f"{self.options.stabilize_timeout_s:g} s (stabilize_timeout_s) were all "
                    "different from the one before (animation, clock or live data? mask it)" + busy,
                    reason="unstable",
                    url=self.url,
                )
            if wait:
                self._open().wait_for_timeout(wait * 1000)
            changes = self._watch.changes
            current = self._shoot()
            # A retake during which a request started or ended may show data half-arrived.
            quiet = self._watch.changes == changes and not self._watch.in_flight
            busy = "" if quiet else f"; the network was busy: {self._watch.still_busy()}"
            if current == last and quiet:
                return Shot(
                    png=current,
                    captures=self.captures,
                    unmatched_masks=previous.unmatched_masks,
                    status=previous.status,
                )
            last = current

    def close(self) -> None:
        # A context of ours goes with its listeners; the user's open page keeps living.
        if self._page is not None and self.watched is None and self._context is None:
            self._watch.detach(self._page)
        if self._context is not None:
            self._context.close()
        self._context = None
        self._page = None


class AppServer:
    """Serves an in-process ASGI or WSGI app on 127.0.0.1 (a free port) in a daemon thread."""

    def __init__(self, app: Any, *, name: str) -> None:
        self.app = app
        self.name = name
        self.base_url = ""
        self._stop: Any = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        if self._thread is not None:
            return self.base_url
        from pytest_dualread.fetch import is_asgi

        if is_asgi(self.app):
            self._start_asgi()
        else:
            self._start_wsgi()
        return self.base_url

    def _start_asgi(self) -> None:
        from pytest_dualread.extras import require

        require("visual", "uvicorn", feature="serving an in-process ASGI app to the browser")
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(
            uvicorn.Config(self.app, log_level="warning", lifespan="off", access_log=False)
        )
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=f"dualread-{self.name}", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise CaptureError(
                    f"could not serve the in-process app {self.name} on 127.0.0.1",
                    reason="browser",
                )
            time.sleep(0.01)
        self.base_url = f"http://127.0.0.1:{port}"

        def stop() -> None:
            server.should_exit = True
            thread.join(timeout=5)
            sock.close()

        self._stop = stop
        self._thread = thread

    def _start_wsgi(self) -> None:
        from socketserver import ThreadingMixIn
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class _Quiet(WSGIRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return None

        class _Threading(ThreadingMixIn, WSGIServer):
            daemon_threads = True

        server = make_server(
            "127.0.0.1", 0, self.app, server_class=_Threading, handler_class=_Quiet
        )
        thread = threading.Thread(
            target=server.serve_forever, name=f"dualread-{self.name}", daemon=True
        )
        thread.start()
        self.base_url = f"http://127.0.0.1:{server.server_port}"

        def stop() -> None:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)

        self._stop = stop
        self._thread = thread

    def stop(self) -> None:
        if self._stop is not None:
            self._stop()
        self._stop = None
        self._thread = None


def masks_of(*groups: Sequence[str]) -> tuple[str, ...]:
    """Selectors of several groups, in order, without repeats."""
    return tuple(dict.fromkeys(sel for group in groups for sel in group))
