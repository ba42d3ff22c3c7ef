"""Fetching the legacy and the adapter response of one request: the only httpx user.

A side's target is an http(s) base URL or ``module:app``: an ASGI app runs in-process through
``httpx.ASGITransport`` (no server, no lifespan events), a WSGI app through
``httpx.WSGITransport``. Each side has one client for the whole session (keep-alive), carrying
that side's headers, cookies, query parameters, auth and path prefix.

Both sides are fetched concurrently on a private event loop that runs in a daemon thread, so a
fetch works the same from plain sync tests and from tests that already run an event loop.

A response the check cannot use is a :class:`~pytest_dualread.errors.FetchError` naming the side,
the URL, the status and the first 200 bytes of the body: a non-2xx status, a body that is not
JSON when JSON is wanted, a body over ``max_body_bytes``, a timeout or a refused connection
(retried with backoff first: connect errors and 502/503/504 only). Secrets never leave this
module: :mod:`pytest_dualread.redact` replaces them with ``"<redacted>"`` (headers, URLs, body
excerpts).
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Literal, TypeVar

import httpx

from pytest_dualread import strictjson
from pytest_dualread.config import DualReadSettings, FetchSettings, SideSettings
from pytest_dualread.errors import FetchError, blame_user_code
from pytest_dualread.imports import ImportSpecError, import_attr
from pytest_dualread.redact import (
    REDACTED,
    SecretHeaders,
    redact_headers,
    redact_json,
    redact_url,
)

__all__ = [
    "REDACTED",
    "SIDES",
    "PairFetcher",
    "Request",
    "ResponsePair",
    "Side",
    "SideResponse",
    "Target",
    "is_asgi",
    "redact_headers",
    "redact_json",
    "resolve_target",
    "side_target",
]

Side = Literal["legacy", "adapter"]
SIDES: tuple[Side, Side] = ("legacy", "adapter")
RETRY_STATUSES = frozenset({502, 503, 504})
_RETRIED = (httpx.ConnectError, httpx.ConnectTimeout)
# How a request that raised reads, first match wins; the exception stays the FetchError's cause.
_FAILURES: tuple[tuple[type[Exception] | tuple[type[Exception], ...], str], ...] = (
    (httpx.ConnectTimeout, "connect_timeout"),
    (httpx.ConnectError, "connect"),
    ((httpx.TimeoutException, asyncio.TimeoutError), "timeout"),
    (httpx.HTTPError, "other"),
)
_T = TypeVar("_T")


# ---------------------------------------------------------------------------------------------
# targets


@dataclass(frozen=True)
class Target:
    """Where a side's requests go: ``base_url`` always; ``app`` and ``protocol`` for in-process."""

    spec: str
    base_url: str
    app: Any = None
    protocol: Literal["http", "asgi", "wsgi"] = "http"


def is_asgi(app: Any) -> bool:
    """Whether ``app`` is an ASGI app (an async callable: a coroutine function, or an object
    whose ``__call__`` is one) rather than a WSGI app (a plain callable)."""
    if inspect.isfunction(app) or inspect.ismethod(app):
        return inspect.iscoroutinefunction(app)
    return inspect.iscoroutinefunction(type(app).__call__)


def resolve_target(spec: str, *, side: str) -> Target:
    """Turn a ``legacy_url`` / ``adapter_url`` value into a :class:`Target`."""
    if spec.startswith(("http://", "https://")):
        return Target(spec=spec, base_url=spec.rstrip("/"))
    try:
        app = import_attr(spec, what="target")
    except ImportSpecError as exc:
        raise FetchError(str(exc), side=side) from exc
    if not callable(app):
        raise FetchError(f"{spec!r} is not an ASGI or WSGI app (not callable)", side=side)
    protocol: Literal["asgi", "wsgi"] = "asgi" if is_asgi(app) else "wsgi"
    return Target(spec=spec, base_url=f"http://{side}.in-process", app=app, protocol=protocol)


def side_target(settings: DualReadSettings, side: Side) -> Target:
    """The configured target of ``side``; a :class:`FetchError` saying how to set it if none."""
    spec = getattr(settings, f"{side}_url")
    if spec is None:
        raise FetchError(
            f"no target: set {side}_url in [tool.dualread] "
            f"(or --dual-read-{side}-url, or DUALREAD_{side.upper()}_URL)",
            side=side,
        )
    return resolve_target(spec, side=side)


# ---------------------------------------------------------------------------------------------
# redaction: defined in pytest_dualread.redact, named here too for callers of this module


# ---------------------------------------------------------------------------------------------
# responses


@dataclass(frozen=True)
class SideResponse:
    """One side's answer: status, headers (redacted), raw body, and the parsed JSON if any."""

    side: Side
    method: str
    url: str
    status: int
    headers: dict[str, str]
    body: bytes
    elapsed_s: float
    attempts: int = 1
    _json: Any = field(default=None, repr=False)
    _has_json: bool = field(default=False, repr=False)

    def json(self) -> Any:
        """The body as JSON; a :class:`FetchError` naming side, URL and body start if it isn't."""
        if self._has_json:
            return self._json
        try:
            value = strictjson.loads(self.body)
        except strictjson.JsonProblem as exc:
            raise FetchError(
                f"the body is not strict JSON: {exc}", side=self.side, url=self.url
            ) from None
        except ValueError as exc:  # UnicodeDecodeError too
            raise FetchError(
                f"expected a JSON body, got {self.headers.get('content-type', 'no content type')}"
                f" ({type(exc).__name__}: {exc})",
                side=self.side,
                url=self.url,
                status=self.status,
                body_head=_head(self.body),
            ) from None
        object.__setattr__(self, "_json", value)
        object.__setattr__(self, "_has_json", True)
        return value

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class ResponsePair:
    """The legacy and the adapter response of one request."""

    legacy: SideResponse
    adapter: SideResponse

    def __getitem__(self, side: Side) -> SideResponse:
        return self.legacy if side == "legacy" else self.adapter


_TUNE_SAMPLES = 16  # cases per step of the window's tuning
_NO_WAIT_S = 0.0002  # a mean wait below this: nothing to hide


def _frozen(mapping: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((str(k), str(v)) for k, v in (mapping or {}).items()))


@dataclass(frozen=True)
class Request:
    """One request as a check asks for it, before a side adds its prefix, headers and auth."""

    path: str
    method: str = "GET"
    params: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None
    json_body: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", self.method.upper())

    @property
    def identity(self) -> tuple[Any, ...]:
        """What a prefetched GET must match to stand in for this call."""
        return (self.path, self.method, _frozen(self.params), _frozen(self.headers))

    def with_headers(self, extra: Mapping[str, str] | None) -> Request:
        merged = SecretHeaders({**(self.headers or {}), **(extra or {})})
        return replace(self, headers=merged or None)

    def __repr__(self) -> str:
        # Tracebacks show a request among a frame's arguments: never its secret headers.
        headers = redact_headers(self.headers) if self.headers is not None else None
        return (
            f"Request(path={self.path!r}, method={self.method!r}, params={self.params!r}, "
            f"headers={headers!r}, json_body=...)"
        )


def _head(body: bytes, limit: int = 200, fields: frozenset[str] = frozenset()) -> str:
    """The start of a body for an error message, secret JSON fields' values replaced."""
    from pytest_dualread.redact import Scrubber

    return Scrubber(fields=fields).text(body[:limit].decode("utf-8", errors="replace"))


# ---------------------------------------------------------------------------------------------
# the fetcher


class _LoopThread:
    """A private event loop in a daemon thread; coroutines are submitted from any thread.

    The loop runs one long-lived task for its whole life. anyio (and so Starlette and FastAPI,
    for their sync endpoints and dependencies) ties its worker threads to the outermost task
    it finds; with a bare ``run_forever`` that would be each submitted request, and every
    request would start and stop new threads."""

    def __init__(self, name: str = "dualread-fetch") -> None:
        self.loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        ready = threading.Event()
        self._thread = threading.Thread(target=self._main, args=(ready,), name=name, daemon=True)
        self._thread.start()
        ready.wait()

    def _main(self, ready: threading.Event) -> None:
        async def serve() -> None:
            self._stop = asyncio.Event()
            ready.set()
            await self._stop.wait()

        self.loop.run_until_complete(serve())

    def run(self, coro: Coroutine[Any, Any, _T]) -> _T:
        future: Future[_T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result()

    def close(self, wait_s: float = 5) -> None:
        if self._stop is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=wait_s)
        if not self._thread.is_alive():
            self.loop.close()


class _SideClient:
    def __init__(
        self,
        side: Side,
        target: Target,
        side_settings: SideSettings,
        fetch: FetchSettings,
        extra_args: Mapping[str, Any],
    ) -> None:
        self.side = side
        self.target = target
        self.prefix = side_settings.path_prefix
        self.fetch = fetch
        headers = SecretHeaders(side_settings.headers)
        if side_settings.bearer_token:
            headers["Authorization"] = f"Bearer {side_settings.bearer_token}"
        auth = httpx.BasicAuth(*side_settings.basic_auth) if side_settings.basic_auth else None
        common: dict[str, Any] = {
            "base_url": target.base_url,
            "headers": headers,
            "cookies": side_settings.cookies,
            "params": side_settings.params,
            "timeout": httpx.Timeout(fetch.timeout_s),
            "follow_redirects": True,
        }
        if auth is not None:
            common["auth"] = auth
        common.update(extra_args)
        self._sync: httpx.Client | None = None
        self._async: httpx.AsyncClient | None = None
        if target.protocol == "wsgi":
            self._sync = httpx.Client(transport=httpx.WSGITransport(app=target.app), **common)
        elif target.protocol == "asgi":
            # The app runs on the fetch loop, as httpx's ASGITransport runs it: a loop and a
            # thread of its own cost every request two more hand-offs. An app that blocks the
            # loop is bounded by the caller's deadline instead (PairFetcher._wait).
            transport = httpx.ASGITransport(app=_bounded_asgi(target.app, fetch.max_body_bytes))
            self._async = httpx.AsyncClient(transport=transport, **common)
        else:
            self._async = httpx.AsyncClient(**common)
        self.redact = frozenset(n.lower() for n in fetch.redact_headers)
        self.secret_params = frozenset(fetch.redact_params)
        self.secret_fields = frozenset(fetch.redact_fields)
        self.refused: str | None = None
        """Set once the target refused a connection: a target that is down is not asked
        again, so each remaining check errors at once instead of waiting out its retries."""

    def printed(self, request: httpx.Request) -> str:
        """The request's URL as messages and the report show it: no password, no secret
        query value."""
        return redact_url(str(request.url), self.secret_params)

    async def _send_once(self, request: httpx.Request) -> tuple[httpx.Response, bytes]:
        limit = self.fetch.max_body_bytes
        if self._async is not None:
            try:
                response = await self._async.send(request, stream=True)
            except _BodyTooBig as exc:  # an in-process app, stopped while it sent
                raise FetchError(
                    f"body is larger than max_body_bytes={limit}",
                    side=self.side,
                    url=str(request.url),
                    status=exc.status,
                    body_head=_head(exc.head),
                ) from None
            try:
                body = await _read_limited(response.aiter_bytes(), limit, self, request, response)
            finally:
                await response.aclose()
            return response, body
        assert self._sync is not None
        sync = self._sync

        def call() -> tuple[httpx.Response, bytes]:
            response = sync.send(request, stream=True)
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise self._too_big(request, response, b"".join(chunks) + chunk)
                    chunks.append(chunk)
                return response, b"".join(chunks)
            finally:
                response.close()

        return await _in_daemon_thread(call)

    def _too_big(self, request: httpx.Request, response: httpx.Response, head: bytes) -> FetchError:
        return FetchError(
            f"body is larger than max_body_bytes={self.fetch.max_body_bytes}",
            side=self.side,
            url=self.printed(request),
            status=response.status_code,
            body_head=_head(head, fields=self.secret_fields),
        )

    def build(self, call: Request) -> httpx.Request:
        client = self._async if self._async is not None else self._sync
        assert client is not None
        return client.build_request(
            call.method,
            self.prefix + call.path,
            params=call.params,
            headers=call.headers,
            json=call.json_body,
        )

    def _down(self, url: str) -> FetchError:
        return FetchError(
            f"cannot connect: connection refused earlier in this run (at {self.refused}); "
            "the target is not asked again",
            side=self.side,
            url=url,
        )

    def _failed(self, exc: Exception, attempts: int, url: str) -> FetchError:
        """The :class:`FetchError` for a request that raised ``exc``, worded by :data:`_FAILURES`;
        an exception no row names was raised by an in-process app: the user's code."""
        kind = next(
            (kind for kinds, kind in _FAILURES if isinstance(exc, kinds)),
            "app" if self.target.protocol != "http" else "other",
        )
        tries = f"{attempts} attempt{'s' if attempts > 1 else ''}"
        if kind == "connect" and _is_refused(exc):
            kind = "refused"
            self.refused = url
        text = {
            "refused": f"cannot connect after {tries}: connection refused (is the target up?)",
            "connect": f"cannot connect after {tries}: {exc}",
            "connect_timeout": f"cannot connect after {tries}: timed out connecting "
            f"({self.fetch.timeout_s:g} s each, fetch.timeout_s)",
            "timeout": f"timed out after {self.fetch.timeout_s:g} s (fetch.timeout_s)",
            "other": f"request failed: {type(exc).__name__}: {exc}",
            "app": f"the app raised {type(exc).__name__}: {exc}",
        }[kind]
        error = FetchError(text, side=self.side, url=url)
        return blame_user_code(error, exc) if kind == "app" else error

    def timed_out(self, call: Request) -> FetchError:
        """``call`` on this side, given up on past its deadline (see ``PairFetcher._wait``)."""
        return self._failed(TimeoutError(), 1, self.printed(self.build(call)))

    async def get(self, call: Request) -> SideResponse:
        request = self.build(call)
        url = self.printed(request)
        attempts = 0
        started = time.perf_counter()
        while True:
            attempts += 1
            if self.refused is not None:  # also ends the retries of requests in flight then
                raise self._down(url)
            last = attempts > self.fetch.retries
            try:
                # httpx enforces timeouts on network I/O only; an in-process app gets the same
                # limit from here.
                response, body = await asyncio.wait_for(
                    self._send_once(request), timeout=self.fetch.timeout_s
                )
            except FetchError:
                raise
            except Exception as exc:
                if isinstance(exc, _RETRIED) and not last:
                    await asyncio.sleep(self.fetch.backoff_s * 2 ** (attempts - 1))
                    continue
                raise self._failed(exc, attempts, url) from exc
            if response.status_code in RETRY_STATUSES and not last:
                await asyncio.sleep(self.fetch.backoff_s * 2 ** (attempts - 1))
                continue
            break
        elapsed = time.perf_counter() - started
        if not 200 <= response.status_code < 300:
            raise FetchError(
                f"expected a 2xx status, got {response.status_code} {response.reason_phrase}"
                + (f" after {attempts} attempts" if attempts > 1 else ""),
                side=self.side,
                url=url,
                status=response.status_code,
                body_head=_head(body, fields=self.secret_fields),
            )
        return SideResponse(
            side=self.side,
            method=call.method,
            url=url,
            status=response.status_code,
            headers=redact_headers(dict(response.headers), self.redact),
            body=body,
            elapsed_s=elapsed,
            attempts=attempts,
        )

    async def aclose(self) -> None:
        if self._async is not None:
            await self._async.aclose()
        if self._sync is not None:
            self._sync.close()


def _is_refused(exc: BaseException) -> bool:
    """Whether a connect error was a refused connection (nothing listens there), as opposed to
    a name that does not resolve or a network that is unreachable. httpx words the same refusal
    differently per client, so the cause chain is read, not the message."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class _BodyTooBig(Exception):
    """An in-process ASGI app sent more than ``max_body_bytes``; raised inside its ``send``."""

    def __init__(self, status: int, head: bytes) -> None:
        super().__init__("body is larger than max_body_bytes")
        self.status = status
        self.head = head


def _bounded_asgi(app: Any, limit: int) -> Any:
    """``app`` whose response body is counted as it is sent: past ``limit`` its ``send``
    raises :class:`_BodyTooBig`, so the app stops there and nothing beyond it is kept
    (httpx's ASGI transport would hold the whole body, and then a copy of it)."""

    async def bounded(scope: Any, receive: Any, send: Any) -> None:
        size, status, head = 0, 0, b""

        async def counted(message: Any) -> None:
            nonlocal size, status, head
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                head = head or body[:200]
                size += len(body)
                if size > limit:
                    raise _BodyTooBig(status, head)
            await send(message)

        await app(scope, receive, counted)
        if size > limit:  # the app caught what its send raised: the body is still too big
            raise _BodyTooBig(status, head)

    return bounded


def _joined(errors: Sequence[BaseException]) -> BaseException:
    """The one side's error, or both sides' errors as one, caused by the legacy side's."""
    if len(errors) == 1:
        return errors[0]
    joined = FetchError("both sides failed:\n  " + "\n  ".join(str(e) for e in errors))
    joined.__cause__ = errors[0]
    return joined


def _in_daemon_thread(call: Callable[[], _T]) -> asyncio.Future[_T]:
    """Run ``call`` (a WSGI request) in a daemon thread. ``asyncio.to_thread`` would use the
    loop's executor, whose threads the interpreter joins at exit: one hung app would keep
    pytest from ever exiting. The caller's timeout abandons the thread instead."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[_T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if done.done():  # timed out and cancelled meanwhile
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)

    def run() -> None:
        try:
            result, error = call(), None
        except BaseException as exc:  # carried to the awaiting task, which reports it
            result, error = None, exc
        if not loop.is_closed():
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name="dualread-wsgi-app", daemon=True).start()
    return done


async def _read_limited(
    chunks: Any, limit: int, client: _SideClient, request: httpx.Request, response: httpx.Response
) -> bytes:
    parts: list[bytes] = []
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise client._too_big(request, response, b"".join(parts) + chunk)
        parts.append(chunk)
    return b"".join(parts)


ClientArgs = Callable[[Side], Mapping[str, Any]]


class PairFetcher:
    """Fetches a request from both sides concurrently. One per session; close it at the end."""

    def __init__(
        self,
        settings: DualReadSettings,
        *,
        client_args: Mapping[Side, Mapping[str, Any]] | None = None,
    ) -> None:
        self.settings = settings
        self._client_args = client_args or {}
        self._clients: dict[Side, _SideClient] | None = None
        self._loop: _LoopThread | None = None
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[tuple[Any, ...], Future[Any]]] = {}
        # The window's tuning (see ``window``): its size, what cases waited at this size, and
        # the size before with its mean wait.
        self._window = 1
        self._waits: list[float] = []
        self._before: tuple[int, float] | None = None
        self._settled = False
        self._in_process: bool | None = None
        """Whether a side is an in-process app; known once the targets are (asked per case)."""

    @cached_property
    def _deadline(self) -> float | None:
        return self._deadline_s()

    def _ensure(self) -> tuple[_LoopThread, dict[Side, _SideClient]]:
        with self._lock:
            if self._clients is None or self._loop is None:
                clients: dict[Side, _SideClient] = {}
                for side in SIDES:
                    target = side_target(self.settings, side)
                    clients[side] = _SideClient(
                        side,
                        target,
                        getattr(self.settings, side),
                        self.settings.fetch,
                        self._client_args.get(side, {}),
                    )
                self._loop = _LoopThread()
                self._clients = clients
            return self._loop, self._clients

    @property
    def window(self) -> int:
        """How many cases ahead :meth:`prefetch` is used now, at most ``fetch.prefetch``.

        In process: one (the app shares this process's CPU; more in flight only adds
        contention). Against a server the window starts at one, which lets the server work
        while this process compares, and doubles while doing so cuts the time cases wait for
        their pair by a fifth or more: a far server gets the whole window, a server that is
        simply busy stays at one."""
        depth = self.settings.fetch.prefetch
        if depth == 0:
            return 0
        if self._in_process is None:
            self._in_process = any(t.protocol != "http" for t in self.targets().values())
        if self._in_process:
            return 1
        return min(self._window, depth)

    def _tune(self, waited: float) -> None:
        """Feed the time a case waited for its pair; adjusts :attr:`window` (see there)."""
        depth = self.settings.fetch.prefetch
        if self._settled or depth <= 1:
            return
        self._waits.append(waited)
        if len(self._waits) < _TUNE_SAMPLES:
            return
        mean = sum(self._waits) / len(self._waits)
        self._waits.clear()
        before = self._before
        if before is not None and mean > 0.8 * before[1]:
            self._window, self._settled = before[0], True  # no better: back, and stay
        elif mean < _NO_WAIT_S or self._window >= depth:
            self._settled = True  # nothing left to hide, or no room to grow
        else:
            self._before = (self._window, mean)
            self._window = min(2 * self._window, depth)

    def _deadline_s(self) -> float | None:
        """How long a pair may take at most when an in-process ASGI app runs on the fetch loop
        (``None`` otherwise): every attempt's timeout and backoff, and a second to spare. An
        app that blocks the loop (``time.sleep`` in an ``async def`` endpoint) stops the loop's
        own timeouts; past this the caller gives up on the loop."""
        if not any(target.protocol == "asgi" for target in self.targets().values()):
            return None
        fetch = self.settings.fetch
        backoff = sum(float(fetch.backoff_s) * 2.0**k for k in range(fetch.retries))
        return float(fetch.timeout_s) * (fetch.retries + 1) + backoff + 1.0

    def _wait(self, future: Future[_T], call: Request, sides: tuple[Side, ...] = SIDES) -> _T:
        """The result of ``future``; past :meth:`_deadline_s` the fetch loop is stuck in an
        app: it is left to its daemon thread, later requests get a fresh one, and each of
        ``sides`` reads as timed out for ``call``."""
        try:
            return future.result(timeout=self._deadline)
        except TimeoutError:
            _, clients = self._ensure()
            self._abandon_loop()
            stuck = [clients[side].timed_out(call) for side in sides]
        raise _joined(stuck)

    def _abandon_loop(self) -> None:
        """Drop a fetch loop an app blocks (its thread is a daemon) and what was started on it."""
        for _, pending in self._pending.values():
            pending.cancel()
        self._pending.clear()
        with self._lock:
            self._loop = None
            self._clients = None

    def targets(self) -> dict[Side, Target]:
        _, clients = self._ensure()
        return {side: client.target for side, client in clients.items()}

    def _submit(
        self, call: Request, side_headers: Mapping[Side, Mapping[str, str]] | None
    ) -> Future[list[SideResponse | BaseException]]:
        if not call.path.startswith("/"):
            raise FetchError(f"expected a path starting with '/', got {call.path!r}")
        loop, clients = self._ensure()

        async def both() -> list[SideResponse | BaseException]:
            tasks: list[Awaitable[SideResponse]] = [
                clients[side].get(call.with_headers((side_headers or {}).get(side)))
                for side in SIDES
            ]
            return await asyncio.gather(*tasks, return_exceptions=True)

        return asyncio.run_coroutine_threadsafe(both(), loop.loop)

    def prefetch(self, key: str, request: Request | str) -> None:
        """Start fetching a safe (GET / HEAD) request now; a later ``fetch(..., key=key)`` of
        the same request takes the result. Lets the next case's requests overlap this case's
        comparison."""
        call = Request(request) if isinstance(request, str) else request
        if call.method not in ("GET", "HEAD") or key in self._pending:
            return
        try:
            future = self._submit(call, None)
        except FetchError:
            return  # reported when the case itself fetches
        limit = max(2 * self.settings.fetch.prefetch, 2)
        while len(self._pending) >= limit:  # results nobody took: the oldest go first
            self.discard(next(iter(self._pending)))
        self._pending[key] = (call.identity, future)

    def discard(self, key: str) -> None:
        """Drop (and cancel, if still running) what :meth:`prefetch` started under ``key``."""
        pending = self._pending.pop(key, None)
        if pending is not None:
            pending[1].cancel()

    def fetch(
        self,
        request: Request | str,
        *,
        side_headers: Mapping[Side, Mapping[str, str]] | None = None,
        key: str | None = None,
    ) -> ResponsePair:
        """Fetch ``request`` (a path is a GET) from both sides at once, or take the result of a
        matching :meth:`prefetch` under ``key``. Raises :class:`FetchError` (the first side's
        error; when both fail, both messages)."""
        pending = self._pending.pop(key, None) if key is not None else None
        call = Request(request) if isinstance(request, str) else request
        if (
            pending is not None
            and pending[0] == call.identity
            and call.json_body is None
            and not side_headers
        ):
            future = pending[1]
            started = time.perf_counter()
            results = self._wait(future, call)
            self._tune(time.perf_counter() - started)
        else:
            future = self._submit(call, side_headers)
            results = self._wait(future, call)
        errors = [r for r in results if isinstance(r, BaseException)]
        if errors:
            first = errors[0]
            if not isinstance(first, FetchError):
                raise first
            raise _joined(errors)
        legacy, adapter = results
        assert isinstance(legacy, SideResponse)
        assert isinstance(adapter, SideResponse)
        return ResponsePair(legacy=legacy, adapter=adapter)

    def fetch_one(self, request: Request, side: Side) -> SideResponse:
        """One side only, never prefetched (a calibration compares a side with itself)."""
        loop, clients = self._ensure()
        future = asyncio.run_coroutine_threadsafe(clients[side].get(request), loop.loop)
        return self._wait(future, request, (side,))

    def close(self) -> None:
        for _, future in self._pending.values():
            future.cancel()
        self._pending.clear()
        with self._lock:
            if self._loop is not None and self._clients is not None:
                clients = list(self._clients.values())

                async def close_all() -> None:
                    for client in clients:
                        await client.aclose()

                try:
                    self._loop.run(close_all())
                finally:
                    self._loop.close()
            self._loop = None
            self._clients = None
