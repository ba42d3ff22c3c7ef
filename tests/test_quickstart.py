"""docs/quickstart.md, followed literally: every block of the page is written or run, in
order, in an empty folder; only installing is left to the test's own environment."""

from __future__ import annotations

import re
from pathlib import Path

from docblocks import blocks, environment, fence_count, following, run_line

from pytest_dualread.report import load_report

PAGE = "quickstart.md"


def test_the_quickstart_runs_as_written_from_an_empty_folder(tmp_path: Path) -> None:
    assert len(blocks(PAGE)) == fence_count(PAGE), "every code block of the page is run"
    env = environment()
    with following(PAGE, tmp_path, env, skip=r"^pip install") as ran:
        # The CI job runs the same commands: run its steps too (but installing).
        workflow = (tmp_path / ".github/workflows/dual-read.yml").read_text(encoding="utf-8")
        steps = re.findall(r"^\s*- run: (.+)$", workflow, re.M)
        for step in steps:
            if not step.startswith("pip install"):
                run_line(step, tmp_path, env)
    assert "pytest --dual-read" in ran
    report = load_report(tmp_path / "dual-read-results" / "report.json")
    assert report.verdict.status == "pass"
    assert sorted(c.id for c in report.checks) == [
        "cases/orders.json::order-1",
        "cases/orders.json::order-2",
        "tests/test_orders.py::test_recent_orders::order-1",
        "tests/test_orders.py::test_recent_orders::order-2",
        "tests/test_orders.py::test_recent_orders::order-3",
    ]
    assert report.run.argv[-1] == "--dual-read", "the last run is the CI job's"
    assert (tmp_path / "snapshots").is_dir()
