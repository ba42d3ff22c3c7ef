"""``visual_bench.py --profile``: run pytest-dualread's scenarios once more with
``profile_plugin.py`` loaded and turn its JSON lines into a per-assertion breakdown."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

# (row label, stage times: "a-b-c" is a minus b minus c, "a+b" a plus b)
ROWS: list[tuple[str, str]] = [
    ("baseline path (syrupy location) + read", "baseline_path"),
    ("capture: fonts.ready wait + mask lookup", "capture_first-screenshot"),
    ("capture: first screenshot", "screenshot"),
    ("settle: retaken screenshots (failing only)", "screenshot_retake"),
    ("settle: waits, byte checks", "settle-screenshot_retake"),
    ("compare: PNG decode (both images)", "decode"),
    ("compare: pixel engine", "engine"),
    ("compare: rest (byte check, header read)", "compare-decode-engine"),
    ("check: rest", "check-capture_first-settle-compare"),
    ("finish: diff PNG encode", "encode_diff"),
    ("finish: artifacts written / discarded", "artifacts_write+artifacts_discard"),
    ("finish: syrupy assertion bookkeeping", "syrupy_assert"),
    (
        "finish: rest (record, message, pytest.fail)",
        "finish-encode_diff-artifacts_write-artifacts_discard-syrupy_assert",
    ),
    ("fingerprint (browser.version, fonts hash)", "fingerprint"),
    ("call: rest", "call_total-check-finish-fingerprint-baseline_path"),
    ("= visual_snapshot() call", "call_total"),
]


def _row_value(stages: dict[str, float], how: str) -> float:
    if "+" in how:
        return sum(stages.get(k, 0.0) for k in how.split("+"))
    head, *minus = how.split("-")
    return stages.get(head, 0.0) - sum(stages.get(k, 0.0) for k in minus)


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else 0.0


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    tests = [r for r in records if r["kind"] == "test"]
    sessions = [r for r in records if r["kind"] == "session"]
    rows = {}
    for label, how in ROWS:
        rows[label] = _median([_row_value(t["stages_ms"], how) for t in tests])
    phases = {k: _median([t["phases_ms"][k] for t in tests]) for k in ("setup", "call", "teardown")}
    phases["between phases (reporting, hooks)"] = _median([t["outside_phases_ms"] for t in tests])
    session: dict[str, Any] = {}
    if sessions:
        s = sessions[-1]
        session = {
            **{f"{k} (per session)": v for k, v in s["session_ms"].items()},
            "lazy imports (per session)": s.get("lazy_imports_ms"),
        }
        missing = sorted(k for k, v in s.get("patched", {}).items() if v == "not found")
        if missing:
            session["stages not found (plugin internals moved)"] = missing
    return {
        "tests": len(tests),
        "failed": sum(t["failed"] for t in tests),
        "median_ms": rows,
        "phases_median_ms": phases,
        "session_ms": session,
        "raw_stage_medians_ms": {
            k: _median([t["stages_ms"].get(k, 0.0) for t in tests])
            for k in sorted({k for t in tests for k in t["stages_ms"]})
        },
    }


IMPORT_TEST = """
import os, time

def test_import():
    t0 = time.perf_counter()
    import pytest_dualread.visual, pytest_dualread.snapshots  # noqa: E401, F401
    try:
        import pytest_dualread.pagecheck  # noqa: F401
    except ImportError:
        pass
    with open(os.environ["VP_IMPORT_OUT"], "a") as f:
        f.write(f"{(time.perf_counter() - t0) * 1000:.2f}\\n")
"""


def import_cost(folder: Path, cache: Path | None, base_env: dict[str, str]) -> dict[str, float]:
    """ms to import, inside a pytest process (so through pytest's assertion rewriting of the
    plugin's package), the modules that only an assertion imports; with and without a bytecode
    cache, median of 3 fresh processes. ``base_env``: the bench's environment for its
    children."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "test_import_cost.py").write_text(IMPORT_TEST)
    out: dict[str, float] = {}
    for mode in ("pyc cache", "no pyc (PYTHONDONTWRITEBYTECODE=1)"):
        env = dict(base_env)
        if mode == "pyc cache" and cache is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(cache)
        else:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
            env.pop("PYTHONPYCACHEPREFIX", None)
        result = folder / f"{mode.split()[0]}.txt"
        env["VP_IMPORT_OUT"] = str(result)
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        cmd += ["-p", "no:hypothesispytest", "test_import_cost.py"]
        for _ in range(3):
            subprocess.run(cmd, cwd=folder, env=env, capture_output=True, check=False)
        times = [float(x) for x in result.read_text().split()] if result.exists() else []
        out[mode] = _median(times)
    return out


def profile(bench: Any, contender: Any) -> dict[str, Any]:
    """One profiled comparison run of each scenario (after the timed runs)."""
    wd: Path = bench.workdir(contender)
    shutil.copy(HERE / "profile_plugin.py", wd / "profile_plugin.py")
    bench.extra_flags[contender.id] = ("-p", "profile_plugin")
    out: dict[str, Any] = {
        "note": (
            "one profiled run per scenario; wall-clock timers wrapped around pytest-dualread's "
            "functions from outside (profile_plugin.py); medians over the run's assertions"
        ),
        "scenarios": {},
    }
    try:
        for scen in bench.measured:
            bench.server.serve_changed(scen.changed)
            path = wd / "timing" / f"profile-{scen.name}.stages.jsonl"
            path.unlink(missing_ok=True)
            t0 = time.perf_counter()
            run = bench.run_once(
                contender, scen, f"profile-{scen.name}", env_extra={"VP_PROFILE": str(path)}
            )
            lines = path.read_text().splitlines() if path.exists() else []
            records = [json.loads(line) for line in lines]
            summary = summarise(records)
            summary["rc"] = run["rc"]
            summary["wall_s"] = round(time.perf_counter() - t0, 2)
            out["scenarios"][scen.name] = summary
            print(f"  profile {scen.name}: {summary['tests']} tests, rc={run['rc']}", flush=True)
    finally:
        bench.server.serve_changed(False)
        bench.extra_flags.pop(contender.id, None)
    out["import_ms"] = import_cost(
        bench.work.parent / "importcost", bench.pyc_cache, bench.child_env()
    )
    return out


def profile_table(prof: dict[str, Any]) -> str:
    names = list(prof["scenarios"])
    head = " | ".join(names)
    lines = [
        "### Where one pytest-dualread assertion spends its time (median ms per assertion)",
        "",
        f"| stage | {head} |",
        "|---|" + "---|" * len(names),
    ]
    labels = list(next(iter(prof["scenarios"].values()))["median_ms"]) if names else []
    for label in labels:
        cells = " | ".join(f"{prof['scenarios'][n]['median_ms'][label]:.1f}" for n in names)
        lines.append(f"| {label} | {cells} |")
    for key in ("setup", "call", "teardown", "between phases (reporting, hooks)"):
        cells = " | ".join(f"{prof['scenarios'][n]['phases_median_ms'][key]:.1f}" for n in names)
        lines.append(f"| pytest {key} | {cells} |")
    session_keys = sorted({k for n in names for k in prof["scenarios"][n]["session_ms"]})
    for key in session_keys:
        vals = [prof["scenarios"][n]["session_ms"].get(key) for n in names]
        cells = " | ".join("n/a" if v is None else f"{v:.1f}" for v in vals)
        lines.append(f"| {key} | {cells} |")
    imp = prof.get("import_ms", {})
    if imp:
        lines += ["", "Modules only an assertion imports, in a pytest process (median of 3): "]
        lines[-1] += "; ".join(f"{k}: {v:.0f} ms" for k, v in imp.items())
    lines.append("")
    return "\n".join(lines)
