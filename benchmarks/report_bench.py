"""How the HTML report scales: 10,000 checks, 2,000 of them failing (issue 15 acceptance).

Run from the repository root::

    .venv/bin/python benchmarks/report_bench.py [--checks N] [--failing N] [--repeat N]

A synthetic report is built in a temporary folder: DTO checks of meal logs (a failing one has
a few fat and kcal findings, every one carries its fields' deltas) and, one in twenty, page checks
with their PNG artifacts (small real images, so the page loads what a report links). Timed,
median of ``--repeat`` runs:

* **render**: :func:`pytest_dualread.html.render_html` of the loaded report (clusters, charts,
  every row and body), and the file written, ``--embed`` once as well;
* **open**: Chromium (``/usr/bin/chromium``, as the plugin finds it) ``page.goto(file://...)``
  until the ``load`` event, a fresh page each time, the browser already running.

Goals: render < 2 s, open < 2 s. Prints the figures and a verdict per goal; no assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pytest_dualread.html import render_html, write_html  # noqa: E402
from pytest_dualread.insight import field_stats  # noqa: E402
from pytest_dualread.report import Check, Report, load_report, summarize, write_report  # noqa: E402

GOAL_S = 2.0
CHROMIUM = "/usr/bin/chromium"


def _png(path: Path, shade: int) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (320, 200), (shade, 120, 80)).save(path)


def _dto(n: int, failing: bool) -> dict[str, Any]:
    moved = 0.04 * (n % 7)
    findings = []
    if failing:
        for item in range(3):
            findings.append(
                {
                    "comparison": "adapter_vs_legacy",
                    "path": f"meals[lunch].items[={n * 10 + item}].fat_g",
                    "category": "value",
                    "values": {"legacy": 4.5, "adapter": 45.0, "golden": 4.5},
                    "delta": 40.5,
                    "tolerance": {"abs": 0.5},
                    "headroom": 81.0,
                    "triage": "adapter_regression",
                    "message": "adapter 45 vs legacy 4.5: differs by 40.5, allowed 0.5",
                }
            )
    deltas = [
        {
            "comparison": "adapter_vs_legacy",
            "pattern": "meals[*].items[*].fat_g",
            "differs": failing,
            "delta": 40.5 if failing else moved,
            "share": 81.0 if failing else moved / 0.5,
            "tolerance": {"abs": 0.5},
        }
    ]
    return {
        "id": f"fixtures/dual_read/meal_logs.json::log-{n}",
        "nodeid": f"fixtures/dual_read/meal_logs.json::log-{n}",
        "kind": "dto",
        "outcome": "failed" if failing else "passed",
        "duration_s": 0.01,
        "message": "3 of 40 fields differ" if failing else "",
        "findings": findings,
        "data": {
            "case": f"log-{n}",
            "case_file": "fixtures/dual_read/meal_logs.json",
            "case_line": 3 + n * 12,
            "request": {"method": "GET", "path": f"/meal-logs/{n}"},
            "urls": {
                "legacy": f"http://legacy.example/meal-logs/{n}",
                "adapter": f"http://adapter.example/meal-logs/{n}",
            },
            "fields_compared": 40,
            "fields_differing": 3 if failing else 0,
            "field_deltas": deltas,
        },
    }


def _page(n: int, failing: bool, root: Path) -> dict[str, Any]:
    slug = f"page-{n}"
    artifacts = {}
    for group in ("adapter_vs_legacy", "adapter", "legacy"):
        for shade, role in enumerate(("expected", "actual", "diff")):
            rel = f"artifacts/{slug}/{group}/{role}.png"
            _png(root / rel, (n % 50) + 60 * shade)
            artifacts[f"{group}.{role}"] = rel
    box = [40 + n % 30, 60, 120, 24]
    comparisons = [
        {"name": name, "passed": not failing or name == "legacy_vs_baseline", "width": 320,
         "height": 200, "mismatch_pixels": 900 if failing else 0, "mismatch_ratio": 0.014,
         "boxes": [box] if failing and name != "legacy_vs_baseline" else []}
        for name in ("adapter_vs_legacy", "adapter_vs_baseline", "legacy_vs_baseline")
    ]  # fmt: skip
    findings = [
        {"comparison": c["name"], "path": slug, "category": "pixels", "delta": 0.014,
         "detail": {"boxes": c["boxes"], "passed": False}}
        for c in comparisons
        if not c["passed"]
    ]  # fmt: skip
    return {
        "id": f"tests/visual/test_pages.py::test_page[{slug}]",
        "nodeid": f"tests/visual/test_pages.py::test_page[{slug}]",
        "kind": "visual",
        "outcome": "failed" if failing else "passed",
        "duration_s": 1.5,
        "message": "2 of 3 comparisons differ" if failing else "",
        "findings": findings,
        "artifacts": artifacts if failing else {},
        "data": {"page": slug, "comparisons": comparisons},
    }


def build(root: Path, total: int, failing: int) -> Path:
    """A report of ``total`` checks, ``failing`` of them failing, one in twenty a page."""
    from datetime import datetime, timezone

    from pytest_dualread.report import Environment, RunInfo, ToolInfo, Verdict

    every = max(1, total // failing)
    checks = []
    for n in range(total):
        fails = n % every == 0 and n // every < failing
        raw = _page(n, fails, root) if n % 20 == 7 else _dto(n, fails)
        checks.append(Check.model_validate(raw))
    checks.sort(key=lambda c: c.id)
    report = Report(
        tool=ToolInfo(version="bench"),
        run=RunInfo(
            started_at=datetime(2026, 12, 1, tzinfo=timezone.utc),
            duration_s=600.0,
            complete=True,
            argv=["pytest", "--dual-read"],
            environment=Environment(python="3.11", pytest="9"),
            config_hash="sha256:bench",
        ),
        summary=summarize(checks),
        verdict=Verdict(status="fail", reasons=["synthetic"]),
        checks=checks,
        fields=field_stats(checks),
    )
    path = root / "report.json"
    write_report(report, path)
    return path


def _median(times: list[float]) -> float:
    return statistics.median(times)


def _time_render(report_path: Path, repeat: int) -> tuple[float, float, float, int, int]:
    report = load_report(report_path)
    root = report_path.parent
    renders, cpu = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        render_html(report, base_dir=root)
        renders.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    write_html(report, root / "report.html")
    start = time.perf_counter()
    write_html(report, root / "embedded.html", embed=True)
    embed_s = time.perf_counter() - start
    size = (root / "report.html").stat().st_size
    embedded = (root / "embedded.html").stat().st_size
    return _median(renders), _median(cpu), embed_s, size, embedded


def _time_open(html: Path, repeat: int) -> tuple[list[float], list[float]]:
    """Wall times until ``load``, and the renderer's main-thread busy time (DevTools
    ``TaskDuration``: parsing, style, layout, script), which a loaded machine inflates less."""
    from playwright.sync_api import sync_playwright

    times, busy = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        for _ in range(repeat):
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            devtools = page.context.new_cdp_session(page)
            devtools.send("Performance.enable")
            before = _task_seconds(devtools)
            start = time.perf_counter()
            page.goto(html.as_uri(), wait_until="load")
            times.append(time.perf_counter() - start)
            busy.append(_task_seconds(devtools) - before)
            page.close()
        browser.close()
    return times, busy


def _task_seconds(devtools: Any) -> float:
    metrics = devtools.send("Performance.getMetrics")["metrics"]
    return float(next(m["value"] for m in metrics if m["name"] == "TaskDuration"))


def _verdict(seconds: float) -> str:
    return "within" if seconds < GOAL_S else "OVER"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checks", type=int, default=10_000)
    parser.add_argument("--failing", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        report_path = build(Path(tmp), args.checks, args.failing)
        built = time.perf_counter() - start
        print(f"report: {args.checks} checks, {args.failing} failing, built in {built:.1f} s")
        render_s, render_cpu, embed_s, size, embedded = _time_render(report_path, args.repeat)
        opened, busy = _time_open(Path(tmp) / "report.html", args.repeat)
        opened_embedded, _ = _time_open(Path(tmp) / "embedded.html", max(1, args.repeat // 2))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"median of {args.repeat} runs, load average {load:.1f} on {os.cpu_count()} cores")
    print(f"  render_html          {render_s:7.3f} s  {_verdict(render_s)} the {GOAL_S:g} s goal")
    print(f"  render_html CPU time {render_cpu:7.3f} s  {_verdict(render_cpu)} the goal (CPU)")
    print(f"  render --embed       {embed_s:7.3f} s")
    open_s = _median(opened)
    print(f"  open in Chromium     {open_s:7.3f} s  {_verdict(open_s)} the {GOAL_S:g} s goal")
    print(
        f"  open, renderer busy  {_median(busy):7.3f} s  {_verdict(_median(busy))} the goal (CPU)"
    )
    print(f"  open --embed         {_median(opened_embedded):7.3f} s")
    print(f"  report.html {size / 2**20:.1f} MiB, embedded {embedded / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
