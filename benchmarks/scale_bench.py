#!/usr/bin/env python3
"""Scale: what grows with the number of checks, and what must not.

    .venv/bin/python benchmarks/scale_bench.py [--quick] [--only merge,gate,xdist,memory]
        [--output PATH]

Goals, each printed with its verdict (the machine's load average is recorded beside them):

* **merge**: ``dualread merge`` of 20 shard reports of 500 checks each, under 1 s (the whole
  command, interpreter start included, as of installed code: the median of three runs after
  one that warms the bytecode cache; and the in-process call alone);
* **gate**: ``dualread gate`` on a 10,000-check report, under 1 s (the same two figures);
* **xdist**: ``pytest --dual-read -n 2`` at least 1.6x faster than serial on 200 cases (the
  hand-written peer's own speed-up printed beside it: what 2 cores allow)
  (the billing suite of ``invoice_bench.py``, in process);
* **memory**: one session of 10,000 generated cases against the in-process app: peak RSS
  growth from 1,000 to 10,000 cases under 50 MB, and time linear (10,000 cases cost at most
  1.25x ten times 1,000 minus the fixed cost, i.e. the per-case figure holds). Printed beside
  it, pytest's own floor: the same sizes of empty parametrized tests without the plugin
  (``-p no:dualread``), whose items and test reports pytest (and its other plugins) keep to the
  end of the session; ``beyond_floor_mb`` is the plugin's growth beyond that floor, with its
  own verdict against the same bound (``met_beyond_floor``).

Synthetic reports come from ``report_bench.build`` (DTO checks with fields and findings, one in
twenty a page check). Scratch: ``$DUALREAD_SCALE_BENCH_SCRATCH`` (default
``/tmp/dualread-scale-bench``); results: ``benchmarks/results/scale_bench.json``.
``--quick`` runs the two pytest goals at a tenth of the size (their verdicts then say so; the
memory goal keeps its bytes per case: 5 MB from 100 to 1,000 cases).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

import invoice_bench  # noqa: E402
from report_bench import build  # noqa: E402

from pytest_dualread.cli import main as dualread  # noqa: E402
from pytest_dualread.report import load_report, write_report  # noqa: E402

# Taken out of the environment: the pytest runs started here would read it as a plugin setting
# (every DUALREAD_ variable is one) and refuse it as unknown.
SCRATCH = Path(os.environ.pop("DUALREAD_SCALE_BENCH_SCRATCH", "/tmp/dualread-scale-bench"))
DEFAULT_OUTPUT = HERE / "results" / "scale_bench.json"
DUALREAD = [sys.executable, "-m", "pytest_dualread.cli"]
# Prints the session's peak RSS (kB, Linux) at its very end, when the report is written. VmHWM,
# not getrusage's ru_maxrss: Linux carries ru_maxrss over exec from the parent, so a pytest started
# by this script after its merge and gate goals would report this script's own peak.
RSS_PLUGIN = """\
def pytest_unconfigure(config):
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open("peak_rss_kb.txt", "w") as out:
        out.write(peak)
"""


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _command(cmd: Sequence[str], cwd: Path) -> float:
    """Wall seconds of ``cmd`` as of installed code, the median of three runs after one that
    warms the caches; its exit code 0 or 1 (a failing verdict) is expected.

    Without ``PYTHONDONTWRITEBYTECODE``: with it, every run would compile the package's source
    again, which an installed package (compiled by pip) never does."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    walls = []
    for _ in range(4):
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - start)
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    return statistics.median(walls[1:])


def _shards(report_path: Path, count: int, into: Path) -> list[Path]:
    report = load_report(report_path)
    size = len(report.checks) // count
    paths = []
    for n in range(count):
        shard = report.model_copy(update={"checks": report.checks[n * size : (n + 1) * size]})
        path = into / f"report-{n + 1}-of-{count}.json"
        write_report(shard, path)
        paths.append(path)
    return paths


def bench_merge(work: Path) -> dict[str, Any]:
    big = build(work, 10_000, 2_000)
    shards = _shards(big, 20, work)
    out = work / "merged.json"
    args = ["merge", "-o", str(out), *map(str, shards)]
    in_process = _timed(lambda: dualread(args))
    command = _command([*DUALREAD, *args], work)
    return _goal("merge 20 x 500 checks", command, in_process, limit=1.0)


def bench_gate(work: Path) -> dict[str, Any]:
    report = build(work, 10_000, 2_000)
    args = ["gate", str(report)]
    in_process = _timed(lambda: dualread(args))
    command = _command([*DUALREAD, *args], work)
    return _goal("gate on 10,000 checks", command, in_process, limit=1.0)


def _goal(name: str, command: float, in_process: float, *, limit: float) -> dict[str, Any]:
    return {
        "goal": f"{name}: under {limit:g} s",
        "command_s": round(command, 3),
        "in_process_s": round(in_process, 3),
        "met": command < limit,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def _invoice_project(work: Path, cases: int) -> Path:
    invoice_bench.project(work, cases, "invoice_app:app")
    (work / "rss_plugin.py").write_text(RSS_PLUGIN)
    return work


def _plugin_run(work: Path, *extra: str, mode: str = "plugin") -> tuple[float, int]:
    """Wall seconds and peak RSS (kB) of one pytest process of ``mode`` (``invoice_bench``)."""
    cmd = [*invoice_bench.MODES[mode], "-p", "rss_plugin", *extra]
    result = invoice_bench.run(work, cmd)
    if result["rc"] != 0:
        raise SystemExit(f"pytest ({mode}) failed in {work}:\n{result['tail']}")
    return result["wall_s"], int((work / "peak_rss_kb.txt").read_text())


def bench_xdist(work: Path, cases: int) -> dict[str, Any]:
    """Serial and ``-n 2``, the plugin and its peer (the same checks written by hand), best of
    two each: on 2 cores, xdist's worker start-up is paid by both, so the peer's own speed-up
    says what the machine allows."""
    project = _invoice_project(work, cases)
    serial = min(_plugin_run(project)[0] for _ in range(2))
    parallel = min(_plugin_run(project, "-n", "2")[0] for _ in range(2))
    peer = invoice_bench.MODES["hand-written"]
    peer_serial = min(invoice_bench.run(project, peer)["wall_s"] for _ in range(2))
    peer_parallel = min(invoice_bench.run(project, [*peer, "-n", "2"])["wall_s"] for _ in range(2))
    speedup = serial / parallel
    return {
        "goal": f"-n 2 at least 1.6x faster than serial on {cases} cases",
        "serial_s": round(serial, 2),
        "n2_s": round(parallel, 2),
        "speedup": round(speedup, 2),
        "hand_written_serial_s": round(peer_serial, 2),
        "hand_written_n2_s": round(peer_parallel, 2),
        "hand_written_speedup": round(peer_serial / peer_parallel, 2),
        "met": speedup >= 1.6,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def bench_memory(work: Path, small: int, large: int) -> dict[str, Any]:
    runs, floor = {}, {}
    for cases in (small, large):
        project = _invoice_project(work / str(cases), cases)
        runs[cases] = _plugin_run(project)
        floor[cases] = _plugin_run(project, mode="empty")[1]
    (wall_s, rss_s), (wall_l, rss_l) = runs[small], runs[large]
    growth_mb = (rss_l - rss_s) / 1024
    floor_growth_mb = (floor[large] - floor[small]) / 1024
    # The goal is 50 MB over 9,000 more cases; a smaller run is held to the same bytes per case.
    limit_mb = 50 * (large - small) / 9_000
    per_case_small = wall_s / small
    per_case_large = wall_l / large
    linear = per_case_large <= 1.25 * per_case_small
    return {
        "goal": f"peak RSS growth {small} -> {large} cases under {limit_mb:g} MB; time linear",
        "cases": [small, large],
        "wall_s": [round(wall_s, 2), round(wall_l, 2)],
        "peak_rss_mb": [round(rss_s / 1024, 1), round(rss_l / 1024, 1)],
        "growth_mb": round(growth_mb, 1),
        "growth_kb_per_case": round((rss_l - rss_s) / (large - small), 2),
        "floor_peak_rss_mb": [round(floor[small] / 1024, 1), round(floor[large] / 1024, 1)],
        "floor_growth_mb": round(floor_growth_mb, 1),
        "beyond_floor_mb": round(growth_mb - floor_growth_mb, 1),
        "per_case_ms": [round(per_case_small * 1000, 2), round(per_case_large * 1000, 2)],
        "met": growth_mb < limit_mb and linear,
        "met_beyond_floor": growth_mb - floor_growth_mb < limit_mb and linear,
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="pytest goals at a tenth the size")
    parser.add_argument("--only", default="merge,gate,xdist,memory")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    chosen = [x for x in args.only.split(",") if x]
    scale = 10 if args.quick else 1
    shutil.rmtree(SCRATCH, ignore_errors=True)
    benches: dict[str, Callable[[Path], dict[str, Any]]] = {
        "merge": bench_merge,
        "gate": bench_gate,
        "xdist": lambda work: bench_xdist(work, 200),
        "memory": lambda work: bench_memory(work, 1_000 // scale, 10_000 // scale),
    }
    results = {}
    for name in chosen:
        work = SCRATCH / name
        work.mkdir(parents=True)
        print(f"== {name}", flush=True)
        results[name] = {**benches[name](work), "quick": args.quick}
        verdict = "met" if results[name]["met"] else "NOT met"
        if "met_beyond_floor" in results[name]:
            beyond = "met" if results[name]["met_beyond_floor"] else "NOT met"
            verdict += f" (beyond pytest's own floor: {beyond})"
        print(f"   {json.dumps(results[name])}\n   -> {verdict}", flush=True)
        _record(args.output, results)  # each part as it ends: a later failure keeps it
    print(f"raw numbers: {args.output}")
    return 0


def _record(path: Path, results: dict[str, Any]) -> None:
    """Write ``results`` over the same parts of the file; other parts and a hand-kept
    ``before`` block stay."""
    old = json.loads(path.read_text()) if path.is_file() else {}
    record = {
        "cpus": os.cpu_count(),
        "results": {**old.get("results", {}), **results},
        **({"before": old["before"]} if "before" in old else {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(main())
