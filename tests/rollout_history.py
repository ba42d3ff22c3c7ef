"""Histories of real runs of the bundled example, for the rollout commands' tests.

Three real runs of the example's meal-log cases (DTO checks only): the correct adapter (a green
day), ``kcal_rounding`` under case rules with a warn level (item kcal drifts by 1 kcal: passes
with warnings) and ``mg_to_g`` (fat off by a factor 10: a failing day). A history is made by
copying those reports with the start of their run moved to one day each.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_DAY = datetime(2026, 11, 1, 2, 0, tzinfo=timezone.utc)
"""The nightly run of the first day of every history."""

KINDS = {"G": "green", "D": "drift", "F": "fail"}
"""A history is written as one letter per day: Green, Drift (passes with warnings), Fail."""


@dataclass(frozen=True)
class ExampleRuns:
    """The report.json of each real run, by kind."""

    reports: dict[str, Path]
    cases: Path

    def history(self, folder: Path, days: str) -> list[Path]:
        """Write one report per letter of ``days`` (see :data:`KINDS`) into ``folder``, the
        n-th one started on day n after :data:`FIRST_DAY`."""
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for offset, letter in enumerate(days):
            started = FIRST_DAY + timedelta(days=offset)
            data = json.loads(self.reports[KINDS[letter]].read_text(encoding="utf-8"))
            duration = timedelta(seconds=data["run"]["duration_s"])
            data["run"]["started_at"] = started.isoformat()
            data["run"]["finished_at"] = (started + duration).isoformat()
            path = folder / f"{started.date()}-{KINDS[letter]}.json"
            path.write_text(json.dumps(data), encoding="utf-8")
            written.append(path)
        return written


def _cases_with_warn_levels(folder: Path) -> Path:
    """The example's meal-log cases, with item kcal allowed 2 and warned above 0.5."""
    cases = folder / "cases"
    cases.mkdir()
    source = json.loads((ROOT / "fixtures/dual_read/meal_logs.json").read_text(encoding="utf-8"))
    source["tolerances"]["items[*].kcal"] = {"abs": 2, "warn_abs": 0.5}
    (cases / "meal_logs.json").write_text(json.dumps(source, indent=2), encoding="utf-8")
    return cases


def run_example(folder: Path) -> ExampleRuns:
    """The three real runs (a few seconds each)."""
    cases = _cases_with_warn_levels(folder)
    reports = {}
    for kind, bug in (("green", ""), ("drift", "kcal_rounding"), ("fail", "mg_to_g")):
        out = folder / kind
        # DTO checks only: without the example's pages, naming the cases folder is a whole run
        env = {**os.environ, "MEAL_LOG_ADAPTER_BUG": bug, "DUALREAD_CASES_DIR": str(cases),
               "DUALREAD_VISUAL__PAGES": "[]"}  # fmt: skip
        done = subprocess.run(
            [
                sys.executable, "-m", "pytest", "--dual-read", "-p", "no:cacheprovider", "-q",
                "--rootdir", str(ROOT), "-c", str(ROOT / "pyproject.toml"),
                f"--dual-read-output={out}", str(cases),
            ],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        assert done.returncode == (1 if kind == "fail" else 0), done.stdout + done.stderr
        shutil.rmtree(out / "artifacts", ignore_errors=True)
        reports[kind] = out / "report.json"
    return ExampleRuns(reports, cases)
