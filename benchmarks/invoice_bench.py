#!/usr/bin/env python3
"""DTO checks on a suite of another shape, against the same checks written by hand.

    .venv/bin/python benchmarks/invoice_bench.py [--cases 500] [--repeat 3] [--no-uvicorn]
        [--profile] [--output PATH]

The suite (``invoice_bench/invoice_app.py``): a billing service with two endpoints, invoices
(3-12 nested line items with taxes, money as decimal strings) and balances (open items); half
the cases each, a golden each; one in-process ASGI app (FastAPI), both sides told apart by the
``X-Read-Path`` header, the adapter ordering keys and list items differently.

Timed, as whole pytest processes (``-q -p no:cacheprovider``), in a scratch project, modes run
interleaved ``--repeat`` times:

* **plugin**: ``pytest --dual-read`` on the case files (report, HTML and goldens included);
* **hand-written**: ``invoice_bench/test_handwritten.py``, what a user writes without the plugin
  (``-p no:dualread``): per case the two requests concurrently through one ``httpx.AsyncClient``
  per side, pydantic ``model_validate`` / ``model_dump`` without the ignored field, list items in
  key order, ``==`` of the two and of each with a golden JSON file read from disk;
* **empty**: the same number of empty parametrized tests (``-p no:dualread``).

Per case = (wall - empty wall) / cases: fixed costs (collection, the session finish, the report)
count, pytest's own cost of an item does not. The same is computed from each process's CPU time
(user + system, all threads): on a machine others load, the wall of a run swings by half while
its CPU time moves far less, so the CPU ratio is the steadier figure to compare two versions by;
the goal's verdict stays the wall's. Runs are made as of installed code: without
``PYTHONDONTWRITEBYTECODE`` (which would make every run compile the plugin's source and have
pytest rewrite it again), the goldens run warming the caches. Goal: plugin <= 1.15x
hand-written, in process and over uvicorn (both sides one uvicorn server on 127.0.0.1).
``--profile`` writes a cProfile of one plugin run (in-process) and prints its top functions by
cumulative time.

Scratch: ``$DUALREAD_INVOICE_BENCH_SCRATCH`` (default ``/tmp/dualread-invoice-bench``). Results:
``benchmarks/results/invoice_bench.json`` (with the machine's load average) and the table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pstats
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent / "invoice_bench"
SCRATCH = Path(os.environ.get("DUALREAD_INVOICE_BENCH_SCRATCH", "/tmp/dualread-invoice-bench"))
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "invoice_bench.json"
GOAL = 1.15
PYTEST = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
# hypothesis's plugin imports hypothesis at the terminal summary: noise for every contender.
UNRELATED = ["-p", "no:hypothesispytest"]
MODES = {
    "plugin": [*PYTEST, *UNRELATED, "--dual-read", "cases"],
    "hand-written": [*PYTEST, *UNRELATED, "-p", "no:dualread", "test_handwritten.py"],
    "empty": [*PYTEST, *UNRELATED, "-p", "no:dualread", "test_empty.py"],
}

PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["."]
testpaths = ["cases"]

[tool.dualread]
legacy_url = "{url}"
adapter_url = "{url}"
cases_dir = "cases"
snapshot_dir = "snapshots"

[tool.dualread.legacy]
headers = {{ "X-Read-Path" = "legacy" }}

[tool.dualread.adapter]
headers = {{ "X-Read-Path" = "adapter" }}

[tool.dualread.dto]
ignore = ["request_id"]
list_keys = {{ "lines" = "sku", "open_items" = "invoice_id" }}
"""

EMPTY_TESTS = """\
import pytest


@pytest.mark.parametrize("n", range({cases}))
def test_empty(n):
    pass
"""


def case_files(cases: int) -> dict[str, dict[str, Any]]:
    invoices = cases // 2
    return {
        "invoices": {
            "model": "invoice_app:Invoice",
            "cases": [
                {"id": f"invoice-{n}", "request": {"path": f"/invoices/{n}"}}
                for n in range(1, invoices + 1)
            ],
        },
        "balances": {
            "model": "invoice_app:Balance",
            "cases": [
                {"id": f"balance-{n}", "request": {"path": f"/balances/{n}"}}
                for n in range(1, cases - invoices + 1)
            ],
        },
    }


def project(work: Path, cases: int, url: str) -> None:
    """The scratch project: app, case files, the hand-written test, its goldens, the plugin's."""
    shutil.rmtree(work, ignore_errors=True)
    (work / "cases").mkdir(parents=True)
    for name in ("invoice_app.py", "test_handwritten.py"):
        shutil.copy(HERE / name, work / name)
    (work / "pyproject.toml").write_text(PYPROJECT.format(url=url))
    (work / "test_empty.py").write_text(EMPTY_TESTS.format(cases=cases))
    index = []
    for name, content in case_files(cases).items():
        (work / "cases" / f"{name}.json").write_text(json.dumps(content, indent=1))
        model = content["model"].split(":")[1]
        index += [[c["id"], c["request"]["path"], model] for c in content["cases"]]
    (work / "cases_index.json").write_text(json.dumps(index))
    _hand_written_goldens(work, index)
    update = run(work, [*MODES["plugin"], "--snapshot-update"])
    if update["rc"] != 0:
        raise SystemExit(f"making the plugin's goldens failed:\n{update['tail']}")


def _hand_written_goldens(work: Path, index: list[list[str]]) -> None:
    sys.path.insert(0, str(work))
    try:
        import httpx
        import invoice_app
        from test_handwritten import IGNORED, MODELS, keyed

        golden = work / "golden"
        golden.mkdir()
        transport = httpx.ASGITransport(app=invoice_app.app)

        async def write_all() -> None:
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
                for case_id, path, model in index:
                    body = (await client.get(path, headers={"X-Read-Path": "legacy"})).json()
                    view = keyed(
                        MODELS[model].model_validate(body).model_dump(mode="json", exclude=IGNORED)
                    )
                    (golden / f"{case_id}.json").write_text(json.dumps(view))

        import asyncio

        asyncio.run(write_all())
    finally:
        sys.path.remove(str(work))
        for name in ("invoice_app", "test_handwritten"):
            sys.modules.pop(name, None)


def run(work: Path, cmd: Sequence[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    full_env = {**os.environ, **(env or {})}
    # The scratch variable starts with DUALREAD_, which the plugin reads as a setting.
    # PYTHONDONTWRITEBYTECODE would make every run compile (and pytest rewrite) the plugin's
    # source again, which an installed package never does: the goldens run warms the caches.
    drop = ("PYTEST_ADDOPTS", "CI", "GITHUB_ACTIONS", "DUALREAD_INVOICE_BENCH_SCRATCH")
    for var in (*drop, "PYTHONDONTWRITEBYTECODE"):
        full_env.pop(var, None)
    load = os.getloadavg()[0]
    cpu_before = _children_cpu()
    start = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=work, env=full_env, capture_output=True, text=True, timeout=1800, check=False
    )
    wall = time.perf_counter() - start
    tail = (proc.stdout + proc.stderr)[-1500:]
    cpu = _children_cpu() - cpu_before
    return {"wall_s": wall, "cpu_s": cpu, "rc": proc.returncode, "load": load, "tail": tail}


def _children_cpu() -> float:
    """User + system CPU seconds of the finished child processes (all their threads): on a
    loaded machine a far steadier figure than the wall."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def uvicorn_server(work: Path) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, "-m", "uvicorn", "invoice_app:app", "--port", str(port)]
    proc = subprocess.Popen(
        [*cmd, "--log-level", "warning", "--no-access-log"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def measure(work: Path, cases: int, repeat: int, env: dict[str, str]) -> dict[str, Any]:
    walls: dict[str, list[float]] = {mode: [] for mode in MODES}
    cpus: dict[str, list[float]] = {mode: [] for mode in MODES}
    loads: list[float] = []
    for round_ in range(repeat):
        for mode, cmd in MODES.items():
            result = run(work, cmd, env)
            if result["rc"] != 0:
                raise SystemExit(f"{mode} failed (rc {result['rc']}):\n{result['tail']}")
            walls[mode].append(result["wall_s"])
            cpus[mode].append(result["cpu_s"])
            loads.append(result["load"])
            print(
                f"  round {round_ + 1}/{repeat} {mode:13} {result['wall_s']:6.2f} s wall "
                f"{result['cpu_s']:6.2f} s cpu",
                flush=True,
            )
    wall, per_case, ratio = _per_case(walls, cases)
    cpu, cpu_per_case, cpu_ratio = _per_case(cpus, cases)
    return {
        "walls_s": walls,
        "median_wall_s": wall,
        "per_case_ms": per_case,
        "ratio": ratio,
        "cpu_s": cpus,
        "median_cpu_s": cpu,
        "cpu_per_case_ms": cpu_per_case,
        "cpu_ratio": cpu_ratio,
        "goal": GOAL,
        "met": ratio <= GOAL,
        "loadavg_1m": [round(x, 2) for x in loads],
    }


def _per_case(
    figures: dict[str, list[float]], cases: int
) -> tuple[dict[str, float], dict[str, float], float]:
    """Medians per mode, per case beyond the empty suite (ms), and plugin / hand-written."""
    median = {mode: statistics.median(values) for mode, values in figures.items()}
    per_case = {
        mode: (median[mode] - median["empty"]) / cases * 1000 for mode in ("plugin", "hand-written")
    }
    return median, per_case, per_case["plugin"] / per_case["hand-written"]


def profile(work: Path, top: int = 25) -> str:
    out = work / "plugin.prof"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(out), *MODES["plugin"][1:]]
    result = run(work, cmd)
    if result["rc"] != 0:
        return f"profiled run failed:\n{result['tail']}"
    stats = pstats.Stats(str(out))
    lines: list[str] = []
    for (file, line, name), (_, calls, _, cumulative, _) in sorted(
        stats.stats.items(),  # type: ignore[attr-defined]
        key=lambda item: -item[1][3],
    ):
        if "pytest_dualread" in file or "deepdiff" in file:
            short = re.sub(r".*/(site-packages|pytest_dualread)/", r"\1/", file)
            lines.append(f"{cumulative * 1000:9.0f} ms {calls:7d} calls  {short}:{line}({name})")
        if len(lines) >= top:
            break
    return "\n".join(lines)


def table(results: dict[str, dict[str, Any]], cases: int) -> str:
    rows = [
        f"### {cases} cases (invoices and balances), per case = (wall - empty wall) / cases",
        "",
        "| mode | plugin wall s | hand-written wall s | empty wall s | plugin ms/case "
        "| hand-written ms/case | ratio | goal | cpu ratio | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, r in results.items():
        w, p = r["median_wall_s"], r["per_case_ms"]
        verdict = "met" if r["met"] else "NOT met"
        rows.append(
            f"| {mode} | {w['plugin']:.2f} | {w['hand-written']:.2f} | {w['empty']:.2f} "
            f"| {p['plugin']:.2f} | {p['hand-written']:.2f} | **{r['ratio']:.2f}x** "
            f"| <= {GOAL}x: {verdict} | {r['cpu_ratio']:.2f}x "
            f"| {statistics.median(r['loadavg_1m']):.1f} |"
        )
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-uvicorn", action="store_true", help="in process only")
    parser.add_argument("--profile", action="store_true", help="cProfile one plugin run")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    if args.cases < 2 or args.repeat < 1:
        parser.error("--cases must be at least 2 and --repeat at least 1")
    results: dict[str, dict[str, Any]] = {}
    work = SCRATCH / "in-process"
    print(f"in process: project of {args.cases} cases in {work}", flush=True)
    project(work, args.cases, "invoice_app:app")
    results["in process"] = measure(work, args.cases, args.repeat, {})
    if args.profile:
        print(profile(work))
    if not args.no_uvicorn:
        work = SCRATCH / "uvicorn"
        with uvicorn_server(HERE) as url:
            print(f"over uvicorn ({url}): project in {work}", flush=True)
            project(work, args.cases, url)
            env = {"INVOICE_BENCH_BASE_URL": url}
            results["over uvicorn"] = measure(work, args.cases, args.repeat, env)
    print(table(results, args.cases))
    record = {
        "cases": args.cases,
        "repeat": args.repeat,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "results": results,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(record, indent=2) + "\n")
    print(f"raw numbers: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
