"""Per-case cost of DTO checks: the plugin against a bare httpx loop (issue 5 acceptance).

Run from the repository root::

    .venv/bin/python benchmarks/dto_bench.py [--quick] [--repeat N] [--copies K] [--no-uvicorn]

Goals: the plugin's per-case wall time is at most 1.15x a bare loop doing the same work by hand,
and the diff of a 10,000-leaf DTO takes at most 50 ms.

What is timed, for the example's suite (``fixtures/dual_read``, both sides the meal-log app told
apart by ``X-Read-Path``), in-process (``httpx.ASGITransport``), over uvicorn on 127.0.0.1, and
over uvicorn with every request held back 30 ms (``delayed_app.py``: a server some way off):

* **bare loop**: one ``httpx.AsyncClient``; per case, the legacy and the adapter request
  (one after the other, and as a second row concurrently with ``asyncio.gather``), both bodies
  parsed, ``meta`` (request id and clock) dropped, ``==``. The client is built and warmed up
  before the clock starts; the whole pass runs in one coroutine.
* **the bare loop as a pytest test**: the same loop written as one parametrized test (a
  temporary folder, the plugin not enabled), marginal per case (the slope, as for the plugin
  below) and per item inside the run (pytest's whole protocol per item, from a timing plugin).
  Each item enters the event loop anew, so anyio's worker threads (the app's sync endpoints)
  are started and stopped per case, which the plugin's fetcher does not do.
* **an empty pytest test**, per item inside the run: pytest's own cost of an item with the
  plugins installed here. *floor* = that + the faster bare row: what any tool that makes each
  case a pytest item must spend at least.
* **plugin**: ``pytest --dual-read fixtures/dual_read -q -p no:cacheprovider`` in a subprocess.
  A whole process pays for the interpreter, pytest and its plugins, collection, imports of the
  app and of deepdiff, and the report; none of that grows with the number of cases. So the rows:

  - *whole process / case*: wall time of the run divided by the number of cases;
  - *process minus --collect-only*: the same, less the wall time of the same command with
    ``--collect-only`` (interpreter, plugins, configuration and collection subtracted; the
    one-time imports of the first check remain);
  - *marginal*: the suite's directory given K times with ``--keep-duplicates`` (K x 52 items),
    ``(wall(K) - wall(1)) / ((K - 1) x cases)``: what one more case costs, every one-time cost
    subtracted; on a shared machine this slope of two process walls is the noisiest row;
  - *per item*: pytest's whole protocol per item inside a K-copies run (the first item, which
    pays the imports, left out), plus the item's share of building and writing the report;
  - *in-check*: the mean of the report's ``checks[].duration_s`` (fetch, validation, diff, golden,
    syrupy, artifacts; without pytest's per-item setup, teardown and reporting).

* **stages**: the per-item run has wall-clock timers wrapped around the pipeline's steps (this
  file is loaded into it as a pytest plugin, ``-p dto_bench``); per case, warm (the first call
  of each step, which pays imports and opens the database, left out). With cases fetched ahead,
  "fetch pair" is the time a case waits for its pair.
* **10k-leaf diff**: ``benchmarks/dto_diff_bench.py``'s pair, ``compare_dto`` with a golden.

Numbers are medians of ``--repeat`` runs. No assertions: this prints, it does not judge.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import functools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

CASES_DIR = "fixtures/dual_read"
GOAL_RATIO = 1.15
GOAL_DIFF_MS = 50.0
SERVER_DELAY_MS = 30  # the "server some way off" target: each request waits this long
STAGES_ENV = "DTO_BENCH_STAGES"  # set in the stage-timing run: where to write the timings


# ---------------------------------------------------------------------------------------------
# the suite's cases


def case_paths() -> list[str]:
    """The request path of every case in the case files, in file order."""
    paths: list[str] = []
    for file in sorted((REPO / CASES_DIR).glob("*.json")):
        for case in json.loads(file.read_text(encoding="utf-8"))["cases"]:
            request = case["request"]
            if request.get("method", "GET") != "GET" or request.get("params"):
                raise SystemExit(f"{file.name}: case {case['id']}: the bare loop only does GET")
            paths.append(request["path"])
    return paths


def clean_env() -> dict[str, str]:
    """The environment without a seeded bug, DUALREAD_* settings or extra pytest options."""
    return {
        key: value
        for key, value in os.environ.items()
        if key not in ("MEAL_LOG_ADAPTER_BUG", "PYTEST_ADDOPTS") and not key.startswith("DUALREAD_")
    }


def median_ms(samples: Sequence[float]) -> float:
    return statistics.median(samples) * 1000


# ---------------------------------------------------------------------------------------------
# the bare loop


async def _bare_pass(client: Any, paths: Sequence[str], concurrent: bool) -> tuple[float, int]:
    """One pass over the cases; returns (seconds, number of cases where the sides differ)."""
    legacy = {"X-Read-Path": "legacy"}
    adapter = {"X-Read-Path": "adapter"}
    differ = 0
    started = time.perf_counter()
    for path in paths:
        if concurrent:
            a, b = await asyncio.gather(
                client.get(path, headers=legacy), client.get(path, headers=adapter)
            )
        else:
            a = await client.get(path, headers=legacy)
            b = await client.get(path, headers=adapter)
        left, right = a.json(), b.json()
        left.pop("meta", None)
        right.pop("meta", None)
        differ += left != right
    return time.perf_counter() - started, differ


def bare_loop(base_url: str | None, paths: Sequence[str], repeat: int) -> dict[str, float]:
    """Per-case ms of the bare loop, sequential and concurrent; in-process when no base URL."""
    import httpx

    async def run() -> dict[str, float]:
        if base_url is None:
            from examples.meal_log.app import app

            client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x")
        else:
            client = httpx.AsyncClient(base_url=base_url)
        out: dict[str, float] = {}
        async with client:
            for concurrent in (False, True):
                await _bare_pass(client, paths, concurrent)  # warm: database, connections
                times = []
                for _ in range(repeat):
                    seconds, differ = await _bare_pass(client, paths, concurrent)
                    if differ:
                        raise SystemExit(f"bare loop: {differ} cases differ; is a bug switched on?")
                    times.append(seconds / len(paths))
                out["concurrent" if concurrent else "sequential"] = median_ms(times)
        return out

    return asyncio.run(run())


# ---------------------------------------------------------------------------------------------
# the plugin


def _pytest_argv(out_dir: Path, target: Sequence[str], copies: int, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "pytest", "--dual-read", *([CASES_DIR] * copies)]
    if copies > 1:
        argv.append("--keep-duplicates")
    return [*argv, "-q", "-p", "no:cacheprovider", f"--dual-read-output={out_dir}", *target, *extra]


def run_pytest(argv: Sequence[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-3000:]}")
    return wall


@dataclass
class PluginTimes:
    whole: float  # per-case ms
    minus_collect: float
    marginal: float
    in_check_mean: float
    in_check_median: float
    wall_s: float
    collect_s: float
    wall_k_s: float
    copies: int


def plugin_times(target: Sequence[str], cases: int, repeat: int, copies: int) -> PluginTimes:
    env = clean_env()
    walls: list[float] = []
    collects: list[float] = []
    walls_k: list[float] = []
    durations: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dto-bench-") as tmp:
        out = Path(tmp)
        run_pytest(_pytest_argv(out / "warm", target, 1), env)  # warm the OS file cache
        for i in range(repeat):
            walls.append(run_pytest(_pytest_argv(out / f"one-{i}", target, 1), env))
            report = json.loads((out / f"one-{i}" / "report.json").read_text(encoding="utf-8"))
            outcomes = {check["outcome"] for check in report["checks"]}
            if outcomes != {"passed"} or len(report["checks"]) != cases:
                raise SystemExit(f"plugin run: expected {cases} passed checks, got {outcomes}")
            durations.extend(check["duration_s"] for check in report["checks"])
            collects.append(
                run_pytest(_pytest_argv(out / f"collect-{i}", target, 1, "--collect-only"), env)
            )
            walls_k.append(run_pytest(_pytest_argv(out / f"k-{i}", target, copies), env))
    wall, collect, wall_k = (statistics.median(x) for x in (walls, collects, walls_k))
    return PluginTimes(
        whole=wall / cases * 1000,
        minus_collect=(wall - collect) / cases * 1000,
        marginal=(wall_k - wall) / ((copies - 1) * cases) * 1000,
        in_check_mean=statistics.fmean(durations) * 1000,
        in_check_median=statistics.median(durations) * 1000,
        wall_s=wall,
        collect_s=collect,
        wall_k_s=wall_k,
        copies=copies,
    )


# ---------------------------------------------------------------------------------------------
# the bare loop inside pytest: pytest's own per-item floor, without the plugin

_BARE_TEST = """
import asyncio

import httpx
import pytest

PATHS = {paths!r}
BASE_URL = {base_url!r}
LOOP = asyncio.new_event_loop()
if BASE_URL is None:
    from examples.meal_log.app import app

    CLIENT = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x")
else:
    CLIENT = httpx.AsyncClient(base_url=BASE_URL)


async def both(path):
    return await asyncio.gather(
        CLIENT.get(path, headers={{"X-Read-Path": "legacy"}}),
        CLIENT.get(path, headers={{"X-Read-Path": "adapter"}}),
    )


@pytest.mark.parametrize("path", PATHS)
def test_case(path):
    a, b = LOOP.run_until_complete(both(path))
    left, right = a.json(), b.json()
    left.pop("meta", None)
    right.pop("meta", None)
    assert left == right
"""


_EMPTY_TEST = """
import pytest

PATHS = {paths!r}


@pytest.mark.parametrize("path", PATHS)
def test_case(path):
    pass
"""


@dataclass
class PytestRowTimes:
    marginal: float  # per-case ms: (wall(K copies) - wall(1)) / extra cases
    per_item: float  # per-case ms inside the run: pytest's whole protocol per item, warm


def bare_in_pytest(
    base_url: str | None, paths: Sequence[str], repeat: int, copies: int, *, empty: bool = False
) -> PytestRowTimes:
    """The bare loop written as one parametrized pytest test (the plugin not enabled); with
    ``empty``, a test that does nothing: pytest's own cost per item."""
    env = clean_env()
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    template = _EMPTY_TEST if empty else _BARE_TEST
    ones: list[float] = []
    many: list[float] = []
    with tempfile.TemporaryDirectory(prefix="dto-bench-bare-") as tmp:
        folder = Path(tmp)
        (folder / "pyproject.toml").write_text("[tool.pytest.ini_options]\n", encoding="utf-8")
        for k in (1, copies):
            test = template.format(paths=list(paths) * k, base_url=base_url)
            (folder / f"test_bare_{k}.py").write_text(test, encoding="utf-8")

        def run(k: int, *extra: str, run_env: dict[str, str] = env) -> float:
            argv = [sys.executable, "-m", "pytest", f"test_bare_{k}.py", "-q"]
            argv += ["-p", "no:cacheprovider", *extra]
            started = time.perf_counter()
            proc = subprocess.run(
                argv, cwd=folder, env=run_env, capture_output=True, text=True, check=False
            )
            if proc.returncode != 0:
                raise SystemExit(f"bare loop in pytest failed:\n{proc.stdout[-3000:]}")
            return time.perf_counter() - started

        for _ in range(repeat):
            ones.append(run(1))
            many.append(run(copies))
        timed_env = {**env, STAGES_ENV: str(folder / "stages.json")}
        timed_env["PYTHONPATH"] = os.pathsep.join([str(HERE), env["PYTHONPATH"]])
        run(copies, "-p", "dto_bench", run_env=timed_env)
        stages = json.loads((folder / "stages.json").read_text(encoding="utf-8"))
    one, k_runs = statistics.median(ones), statistics.median(many)
    return PytestRowTimes(
        marginal=(k_runs - one) / ((copies - 1) * len(paths)) * 1000,
        per_item=warm_ms(stages, "pytest item (whole protocol)"),
    )


def warm_ms(stages: dict[str, dict[str, float]], name: str) -> float:
    """Mean ms per call of a timed stage, its first call (imports, connections) left out."""
    s = stages.get(name, {"calls": 0, "total": 0.0, "first": 0.0})
    if s["calls"] <= 1:
        return 0.0
    return (s["total"] - s["first"]) / (s["calls"] - 1) * 1000


# ---------------------------------------------------------------------------------------------
# uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def uvicorn_server(delay_ms: int = 0) -> Iterator[str]:
    """``python -m examples.meal_log serve`` on a free port (or, with a delay, the app behind
    ``delayed_app.py``); yields its base URL."""
    import httpx

    port = free_port()
    env = clean_env()
    if delay_ms:
        env["DELAYED_APP_MS"] = str(delay_ms)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        argv = [sys.executable, "-m", "uvicorn", "delayed_app:app", "--app-dir", str(HERE)]
        argv += ["--port", str(port), "--log-level", "warning"]
    else:
        argv = [sys.executable, "-m", "examples.meal_log", "serve", "--port", str(port)]
    proc = subprocess.Popen(
        argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise SystemExit(f"the server exited with {proc.returncode}:\n{err}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/meal-logs/1", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise SystemExit(f"the server on {url} did not answer within 60 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------------------------------------
# stage timers: this module as a pytest plugin (``-p dto_bench``) in one more run


@dataclass
class _Stage:
    calls: int = 0
    total: float = 0.0
    first: float = 0.0
    depth: int = 0  # re-entrant calls are counted once, by the outermost


@dataclass
class _Timers:
    stages: dict[str, _Stage] = field(default_factory=dict)

    def wrap(
        self, owner: Any, attr: str, stage: str, when: Callable[..., bool] | None = None
    ) -> None:
        original = getattr(owner, attr)
        record = self.stages.setdefault(stage, _Stage())

        @functools.wraps(original)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if (when is not None and not when(*args, **kwargs)) or record.depth:
                return original(*args, **kwargs)
            record.depth += 1
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                record.depth -= 1
                if record.calls == 0:
                    record.first = spent
                record.calls += 1
                record.total += spent

        setattr(owner, attr, timed)

    def add(self, stage: str, spent: float) -> None:
        record = self.stages.setdefault(stage, _Stage())
        if record.calls == 0:
            record.first = spent
        record.calls += 1
        record.total += spent

    def to_json(self) -> dict[str, dict[str, float]]:
        return {
            name: {"calls": s.calls, "total": s.total, "first": s.first}
            for name, s in self.stages.items()
        }


_TIMERS: _Timers | None = None


def _install_timers() -> _Timers:
    """Wrap the DTO pipeline's steps (module attributes, looked up at call time)."""
    import pytest
    from syrupy.assertion import SnapshotAssertion

    from pytest_dualread import artifacts, dto, dtocheck, fetch, snapshots, writer

    timers = _Timers()
    timers.wrap(dtocheck, "run_dto", "check (dtocheck.run_dto)")
    timers.wrap(fetch.PairFetcher, "fetch", "fetch pair")
    timers.wrap(dto, "compare_dto", "compare_dto")
    timers.wrap(dto, "_validate", "  validate (pydantic)")
    timers.wrap(dto, "normalize_sides", "  normalize")
    timers.wrap(dto, "_diff", "  diff (deepdiff)")
    timers.wrap(snapshots, "read_stored", "golden read")
    timers.wrap(dtocheck, "golden_candidate", "golden candidate")
    timers.wrap(
        pytest.FixtureRequest,
        "getfixturevalue",
        "snapshot fixture",
        when=lambda _self, name: name == "snapshot",
    )
    timers.wrap(SnapshotAssertion, "__eq__", "syrupy assertion")
    timers.wrap(dto.DtoResult, "to_data", "result data")
    timers.wrap(artifacts.ArtifactDir, "__init__", "artifacts")
    timers.wrap(artifacts.ArtifactDir, "discard", "artifacts")
    timers.wrap(writer.ReportWriter, "pytest_runtest_logreport", "report: collect (logreport)")
    timers.wrap(writer.ReportWriter, "build", "report: build")
    return timers


if os.environ.get(STAGES_ENV) and __name__ != "__main__":
    # Imported by pytest as a plugin (-p dto_bench), before pytest-dualread registers its
    # report writer, so the class-level wrappers are in place when it does.
    _TIMERS = _install_timers()

    import pytest

    def _timed_hook(stage: str) -> Any:
        def hook(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return (yield)
            finally:
                assert _TIMERS is not None
                _TIMERS.add(stage, time.perf_counter() - started)

        return hook

    pytest_runtest_protocol = pytest.hookimpl(wrapper=True, tryfirst=True)(
        _timed_hook("pytest item (whole protocol)")
    )
    pytest_sessionfinish = pytest.hookimpl(wrapper=True, tryfirst=True)(
        _timed_hook("session finish (per run)")
    )

    def pytest_unconfigure(config: Any) -> None:
        assert _TIMERS is not None
        Path(os.environ[STAGES_ENV]).write_text(json.dumps(_TIMERS.to_json()), encoding="utf-8")


def stage_times(target: Sequence[str], copies: int) -> dict[str, dict[str, float]]:
    with tempfile.TemporaryDirectory(prefix="dto-bench-stages-") as tmp:
        out = Path(tmp) / "stages.json"
        env = clean_env()
        env[STAGES_ENV] = str(out)
        here = str(Path(__file__).resolve().parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
        argv = _pytest_argv(Path(tmp) / "out", target, copies, "-p", "dto_bench")
        run_pytest(argv, env)
        data: dict[str, dict[str, float]] = json.loads(out.read_text(encoding="utf-8"))
        return data


def print_stages(title: str, stages: dict[str, dict[str, float]]) -> None:
    def warm(name: str) -> float:
        return warm_ms(stages, name)

    def first(name: str) -> float:
        return stages.get(name, {}).get("first", 0.0) * 1000

    item = warm("pytest item (whole protocol)")
    check = warm("check (dtocheck.run_dto)")
    compare = warm("compare_dto")
    inner = sum(warm(n) for n in ("  validate (pydantic)", "  normalize", "  diff (deepdiff)"))
    print(f"\n{title}: warm ms per case (first call left out; its cost in brackets)")
    order = [
        "pytest item (whole protocol)",
        "check (dtocheck.run_dto)",
        "fetch pair",
        "compare_dto",
        "  validate (pydantic)",
        "  normalize",
        "  diff (deepdiff)",
        "golden read",
        "golden candidate",
        "snapshot fixture",
        "syrupy assertion",
        "result data",
        "artifacts",
        "report: collect (logreport)",
    ]
    for name in order:
        print(f"  {name:<34} {warm(name):7.3f} ms   [first {first(name):7.1f} ms]")
    print(f"  {'  triage, findings (rest)':<34} {compare - inner:7.3f} ms")
    inside = sum(
        warm(n)
        for n in (
            "fetch pair",
            "compare_dto",
            "golden read",
            "golden candidate",
            "snapshot fixture",
            "syrupy assertion",
            "result data",
            "artifacts",
        )
    )
    print(f"  {'check, not in a step above':<34} {check - inside:7.3f} ms")
    print(f"  {'pytest per item, outside the check':<34} {item - check:7.3f} ms")
    for name in ("report: build", "session finish (per run)"):
        s = stages.get(name, {"calls": 0, "total": 0.0})
        total = s["total"] * 1000
        print(f"  {name + ', whole run':<34} {total:7.1f} ms in {s['calls']:.0f} call(s)")


# ---------------------------------------------------------------------------------------------
# the 10k-leaf diff


def diff_times(repeat: int) -> dict[str, float]:
    import dto_diff_bench
    from deepdiff import DeepDiff

    from pytest_dualread.dto import compare_dto
    from pytest_dualread.normalize import count_leaves

    legacy, adapter = dto_diff_bench.build_pair()
    golden = copy.deepcopy(legacy)
    rules = dto_diff_bench.RULES
    return {
        "leaves": float(count_leaves(legacy)),
        "compare_dto (legacy, adapter, golden)": dto_diff_bench.timed(
            lambda: compare_dto(legacy, adapter, golden, rules=rules), repeat
        ),
        "compare_dto (legacy, adapter)": dto_diff_bench.timed(
            lambda: compare_dto(legacy, adapter, rules=rules), repeat
        ),
        "DeepDiff(a, b, view='tree')": dto_diff_bench.timed(
            lambda: DeepDiff(legacy, adapter, view="tree"), repeat
        ),
    }


# ---------------------------------------------------------------------------------------------
# main


def machine_info() -> str:
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return (
        f"python {platform.python_version()} on {platform.platform(terse=True)}; "
        f"{os.cpu_count()} CPUs; load average {load}"
    )


def plugin_per_case(stages: dict[str, dict[str, float]], cases: int) -> float:
    """The plugin's per-case ms inside the run: the whole protocol per item (warm), plus its
    share of building and writing the report, which grows with the cases."""
    report = stages.get("report: build", {"total": 0.0})["total"] * 1000
    return warm_ms(stages, "pytest item (whole protocol)") + report / cases


def print_target(
    name: str,
    bare: dict[str, float],
    bare_pytest: PytestRowTimes,
    empty: PytestRowTimes,
    plug: PluginTimes,
    plug_per_case: float,
) -> None:
    print(f"\n{name}: ms per case")
    floor = empty.per_item + min(bare.values())
    rows = [
        ("bare loop, sequential", bare["sequential"]),
        ("bare loop, concurrent (gather)", bare["concurrent"]),
        ("bare loop as a pytest test, marginal", bare_pytest.marginal),
        ("bare loop as a pytest test, per item", bare_pytest.per_item),
        ("empty pytest test, per item", empty.per_item),
        ("floor: empty item + faster bare row", floor),
        ("plugin, whole process / case", plug.whole),
        ("plugin, process - collect-only", plug.minus_collect),
        (f"plugin, marginal ({plug.copies}x cases)", plug.marginal),
        ("plugin, per item (+ report share)", plug_per_case),
        ("plugin, in-check mean (duration_s)", plug.in_check_mean),
        ("plugin, in-check median", plug.in_check_median),
    ]
    print(f"  {'':<38} {'ms':>8}   {'/ bare seq':>10}   {'/ bare conc':>11}   {'/ floor':>7}")
    for label, ms in rows:
        ratios = f"{ms / bare['sequential']:9.2f}x   {ms / bare['concurrent']:10.2f}x"
        print(f"  {label:<38} {ms:8.3f}   {ratios}   {ms / floor:6.2f}x")
    print(
        f"  (walls: run {plug.wall_s:.2f} s, --collect-only {plug.collect_s:.2f} s, "
        f"{plug.copies}x cases {plug.wall_k_s:.2f} s)"
    )
    best = min(bare.values())
    for label, ms in (("marginal", plug.marginal), ("per item", plug_per_case)):
        verdict = "within" if ms <= GOAL_RATIO * best else "OVER"
        print(
            f"  goal: plugin {label} {ms:.2f} ms vs {GOAL_RATIO:.2f} x {best:.2f} ms "
            f"(the faster bare row) = {GOAL_RATIO * best:.2f} ms: {verdict}"
        )
    verdict = "within" if plug_per_case <= GOAL_RATIO * floor else "OVER"
    print(
        f"  against the floor: plugin per item {plug_per_case:.2f} ms vs {GOAL_RATIO:.2f} x "
        f"{floor:.2f} ms = {GOAL_RATIO * floor:.2f} ms: {verdict}"
    )


def measure_target(
    name: str,
    base_url: str | None,
    paths: Sequence[str],
    repeat: int,
    copies: int,
    *,
    stages: bool,
    bare_repeat: int,
) -> None:
    target: tuple[str, ...] = ()
    if base_url is not None:
        target = (f"--dual-read-legacy-url={base_url}", f"--dual-read-adapter-url={base_url}")
    bare = bare_loop(base_url, paths, bare_repeat)
    bare_pytest = bare_in_pytest(base_url, paths, repeat, copies)
    empty = bare_in_pytest(base_url, paths, 1, copies, empty=True)
    plug = plugin_times(target, len(paths), repeat, copies)
    timed = stage_times(target, copies)
    print_target(name, bare, bare_pytest, empty, plug, plugin_per_case(timed, copies * len(paths)))
    if stages:
        print_stages(f"{name}: stages", timed)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and copies")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 5)")
    parser.add_argument("--copies", type=int, default=None, help="K for the marginal (default 5)")
    parser.add_argument("--no-uvicorn", action="store_true", help="in-process only")
    parser.add_argument("--no-stages", action="store_true", help="do not print the stage timings")
    args = parser.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 5)
    copies = args.copies or (3 if args.quick else 5)
    if copies < 2:
        parser.error("--copies must be at least 2")
    paths = case_paths()
    print(machine_info())
    print(f"{len(paths)} cases from {CASES_DIR}; median of {repeat} runs")

    stages = not args.no_stages
    measure_target(
        "in-process (ASGI)", None, paths, repeat, copies, stages=stages, bare_repeat=repeat * 4
    )
    if not args.no_uvicorn:
        with uvicorn_server() as url:
            measure_target(
                f"uvicorn ({url})",
                url,
                paths,
                repeat,
                copies,
                stages=stages,
                bare_repeat=repeat * 4,
            )
        with uvicorn_server(delay_ms=SERVER_DELAY_MS) as url:
            measure_target(
                f"uvicorn, {SERVER_DELAY_MS} ms away ({url})",
                url,
                paths,
                max(1, repeat // 2),
                copies,
                stages=False,
                bare_repeat=max(1, repeat // 2),
            )

    diff = diff_times(5 if args.quick else 15)
    print(f"\n10k-leaf diff ({diff.pop('leaves'):.0f} leaves per side): ms, median")
    for name, ms in diff.items():
        print(f"  {name:<40} {ms:8.2f}")
    base = diff["compare_dto (legacy, adapter, golden)"]
    verdict = "within" if base <= GOAL_DIFF_MS else "OVER"
    print(f"  goal: {base:.1f} ms vs {GOAL_DIFF_MS:.0f} ms: {verdict}")
    print(f"\n{machine_info()} (at the end)")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # dto_diff_bench
    main()
