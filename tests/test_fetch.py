"""The fetcher's pipelining: cases fetched ahead of the running one (over a real HTTP server on
127.0.0.1 and in-process), each request made once, and in-process apps that keep their worker
threads."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import time
import types
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from conftest import RunDualRead, add_dualread_table, serving

from pytest_dualread.config import DualReadSettings
from pytest_dualread.fetch import PairFetcher, is_asgi, resolve_target


@dataclass
class Recorder:
    """What a test server saw: requests per (side, path), and the most in flight at once."""

    delay_s: float = 0.0
    hits: Counter[tuple[str, str]] = field(default_factory=Counter)
    in_flight: int = 0
    most_in_flight: int = 0

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        side = headers.get("x-side", "?")
        self.hits[(side, scope["path"])] += 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
        finally:
            self.in_flight -= 1
        body = json.dumps({"path": scope["path"], "n": 1}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


@pytest.fixture
def slow_server() -> Iterator[tuple[str, Recorder]]:
    """A server 30 ms away (each request sleeps 30 ms), on 127.0.0.1."""
    recorder = Recorder(delay_s=0.03)
    with serving(recorder.app) as url:
        yield url, recorder


@pytest.fixture
def inner(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """The inner project, importable (its models module) by in-process inner runs."""
    monkeypatch.syspath_prepend(str(inner_project.path))
    return inner_project


def _project(pytester: pytest.Pytester, url: str, cases: int, fetch: str = "") -> None:
    add_dualread_table(
        pytester,
        f"""
[tool.dualread]
legacy_url = "{url}"
adapter_url = "{url}"
cases_dir = "cases"

[tool.dualread.legacy]
headers = {{ "X-Side" = "legacy" }}

[tool.dualread.adapter]
headers = {{ "X-Side" = "adapter" }}

[tool.dualread.fetch]
retries = 0
{fetch}
""",
    )
    pytester.makepyfile(
        fetch_models="from pydantic import BaseModel\n\n"
        "class Item(BaseModel):\n    path: str\n    n: int\n"
    )
    pytester.mkdir("cases")
    listed = [{"id": f"c{i}", "request": {"path": f"/items/{i}"}} for i in range(cases)]
    (pytester.path / "cases" / "items.json").write_text(
        json.dumps({"model": "fetch_models:Item", "cases": listed})
    )


def test_cases_ahead_are_fetched_while_one_runs_each_request_once(
    inner: pytest.Pytester,
    run_dualread: RunDualRead,
    slow_server: tuple[str, Recorder],
) -> None:
    url, recorder = slow_server
    _project(inner, url, cases=12)

    run = run_dualread("--dual-read", "--snapshot-update")

    run.result.assert_outcomes(passed=12)
    expected = {(side, f"/items/{i}"): 1 for i in range(12) for side in ("legacy", "adapter")}
    assert dict(recorder.hits) == expected, "every request made once, none repeated or lost"
    assert recorder.most_in_flight > 2, "later cases' requests overlapped the running one's"


def test_prefetch_zero_fetches_one_case_at_a_time(
    inner: pytest.Pytester,
    run_dualread: RunDualRead,
    slow_server: tuple[str, Recorder],
) -> None:
    url, recorder = slow_server
    _project(inner, url, cases=6, fetch="prefetch = 0")

    run = run_dualread("--dual-read", "--snapshot-update")

    run.result.assert_outcomes(passed=6)
    assert sum(recorder.hits.values()) == 12
    assert recorder.most_in_flight == 2, "only the running case's pair, both sides at once"


def test_a_case_that_breaks_before_fetching_leaves_the_next_ones_alone(
    inner: pytest.Pytester,
    run_dualread: RunDualRead,
    slow_server: tuple[str, Recorder],
) -> None:
    url, recorder = slow_server
    _project(inner, url, cases=0)
    cases = [
        {"id": "a", "request": {"path": "/items/a"}},
        {"id": "b", "model": "nowhere:Model", "request": {"path": "/items/b"}},
        {"id": "c", "request": {"path": "/items/c"}},
    ]
    (inner.path / "cases" / "items.json").write_text(
        json.dumps({"model": "fetch_models:Item", "cases": cases})
    )

    run = run_dualread("--dual-read", "--snapshot-update")

    run.result.assert_outcomes(passed=2, errors=1)
    assert "nowhere" in run.result.stdout.str()
    assert recorder.hits[("legacy", "/items/c")] == 1


# ---------------------------------------------------------------------------------------------
# the fetcher on its own


@contextmanager
def in_process(app: Any, **fetch: Any) -> Iterator[PairFetcher]:
    """A fetcher whose two sides are ``app``, importable for the test as a module of its own."""
    name = f"in_process_app_{id(app)}"
    module = types.ModuleType(name)
    module.app = app  # type: ignore[attr-defined]
    sys.modules[name] = module
    settings = DualReadSettings.model_validate(
        {"legacy_url": f"{name}:app", "adapter_url": f"{name}:app", "fetch": fetch}
    )
    fetcher = PairFetcher(settings)
    try:
        yield fetcher
    finally:
        fetcher.close()
        del sys.modules[name]


def _settings(**fetch: Any) -> DualReadSettings:
    return DualReadSettings.model_validate(
        {"legacy_url": "http://127.0.0.1:9", "adapter_url": "http://127.0.0.1:9", "fetch": fetch}
    )


def test_a_prefetched_request_is_fetched_once() -> None:
    hits: list[str] = []

    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        assert callable(send)
        hits.append(str(scope["path"]))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"n": 1}'})

    with in_process(app) as fetcher:
        fetcher.prefetch("case-2", "/two")
        pair = fetcher.fetch("/two", key="case-2")
        assert pair.legacy.json() == pair.adapter.json() == {"n": 1}
        assert hits == ["/two", "/two"], "one request per side, made by the prefetch"
        fetcher.prefetch("case-3", "/three")
        other = fetcher.fetch("/other", key="case-3")  # a different request never takes it
        assert other.legacy.url.endswith("/other")
        assert hits.count("/other") == 2


def test_a_discarded_prefetch_is_fetched_again(slow_server: tuple[str, Recorder]) -> None:
    url, recorder = slow_server
    settings = DualReadSettings.model_validate({"legacy_url": url, "adapter_url": url})
    fetcher = PairFetcher(settings)
    try:
        fetcher.prefetch("k", "/items/x")
        time.sleep(0.3)  # the prefetch is answered
        assert recorder.hits[("?", "/items/x")] == 2
        fetcher.discard("k")
        pair = fetcher.fetch("/items/x", key="k")
        assert pair.legacy.json() == {"path": "/items/x", "n": 1}
        assert recorder.hits[("?", "/items/x")] == 4, "the dropped result was not taken"
    finally:
        fetcher.close()


def test_prefetched_results_nobody_takes_are_bounded(slow_server: tuple[str, Recorder]) -> None:
    url, _ = slow_server
    settings = DualReadSettings.model_validate(
        {"legacy_url": url, "adapter_url": url, "fetch": {"prefetch": 2}}
    )
    fetcher = PairFetcher(settings)
    try:
        for i in range(10):
            fetcher.prefetch(f"k{i}", f"/items/{i}")
        assert len(fetcher._pending) == 4, "at most twice the window is kept"
        assert "k9" in fetcher._pending
        assert "k0" not in fetcher._pending, "the oldest went first"
    finally:
        fetcher.close()


@pytest.mark.parametrize(
    ("waits_ms", "expected"),
    [
        ([], 1),  # it starts at one case ahead
        ([30.0] * 16 + [15.0] * 16 + [7.0] * 16 + [3.0] * 16, 8),  # far away: the whole window
        ([30.0] * 16 + [15.0] * 16 + [14.0] * 16, 2),  # back to where doubling stopped helping
        ([2.0] * 16 + [2.0] * 16, 1),  # a busy server: waits that a window does not shorten
        ([0.0] * 16 + [30.0] * 64, 1),  # nothing to hide at first: settled, stays
    ],
)
def test_the_window_doubles_while_that_cuts_the_wait(waits_ms: list[float], expected: int) -> None:
    fetcher = PairFetcher(_settings(prefetch=8))
    try:
        for waited in waits_ms:
            fetcher._tune(waited / 1000)
        assert fetcher.window == expected
    finally:
        fetcher.close()


def test_the_window_is_one_in_process_and_zero_when_turned_off() -> None:
    app_settings = DualReadSettings.model_validate(
        {"legacy_url": "json:dumps", "adapter_url": "json:dumps"}
    )
    fetcher = PairFetcher(app_settings)
    off = PairFetcher(_settings(prefetch=0))
    try:
        assert fetcher.window == 1
        assert off.window == 0
    finally:
        fetcher.close()
        off.close()


def test_an_in_process_app_keeps_its_worker_threads_between_requests() -> None:
    """Starlette runs sync endpoints in anyio worker threads, which live as long as the task
    anyio takes for the outermost one; the fetcher's loop must not make each request that."""
    from fastapi import FastAPI

    app = FastAPI()
    threads: set[threading.Thread] = set()

    @app.get("/t")
    def where() -> dict[str, int]:
        threads.add(threading.current_thread())  # kept alive here, so never confused
        return {"n": len(threads)}

    with in_process(app) as fetcher:
        for _ in range(20):
            fetcher.fetch("/t")
    assert len(threads) <= 4, f"{len(threads)} worker threads for 40 requests"


def test_an_in_process_app_that_raises_is_a_fetch_error_naming_side_and_url() -> None:
    from pytest_dualread.errors import FetchError

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        raise RuntimeError("database is down")

    with in_process(app) as fetcher, pytest.raises(FetchError) as caught:
        fetcher.fetch("/logs/1")
    text = str(caught.value)
    assert "the app raised RuntimeError: database is down" in text
    assert "legacy" in text
    assert "/logs/1" in text


class _AsgiApp:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        pass


def _wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    return []


async def _asgi_function(scope: Any, receive: Any, send: Any) -> None:
    pass


@pytest.mark.parametrize(
    ("app", "expected"),
    [(_AsgiApp(), True), (_asgi_function, True), (_wsgi_app, False), (_AsgiApp().__call__, True)],
)
def test_is_asgi_tells_async_apps_from_wsgi_ones(app: Any, expected: bool) -> None:
    assert is_asgi(app) is expected


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("no_such_module_dr:app", "no module named 'no_such_module_dr' on sys.path"),
        ("json:no_app", "module 'json' has no 'no_app'"),
        ("json:__doc__", "is not an ASGI or WSGI app"),
    ],
)
def test_a_target_that_does_not_import_is_a_fetch_error_naming_the_side(
    spec: str, words: str
) -> None:
    from pytest_dualread.errors import FetchError

    with pytest.raises(FetchError) as info:
        resolve_target(spec, side="adapter")
    assert info.value.side == "adapter"
    assert words in str(info.value)
