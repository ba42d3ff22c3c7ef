"""A/A calibration on the bundled example: with the shipped rule for the random request id
taken away, calibrating the legacy side proposes to ignore that id and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pytest_dualread.pyproject import tomllib  # tomli on Python 3.10
from pytest_dualread.report import load_report

REPO = Path(__file__).resolve().parents[2]


def test_calibrating_the_example_proposes_its_request_id_and_nothing_else(tmp_path: Path) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DUALREAD_", "PYTEST_", "MEAL_LOG_"))
    }
    # the shipped rules minus the request id: the clock stays ignored, the id is left to find
    env["DUALREAD_DTO__IGNORE"] = '["meta.generated_at"]'
    env["MEAL_LOG_DB"] = str(tmp_path / "meal_log.db")
    out = tmp_path / "results"
    argv = [sys.executable, "-m", "pytest", "-c", "pyproject.toml", "--dual-read"]
    argv += ["fixtures/dual_read", "-p", "no:cacheprovider", f"--dual-read-output={out}"]
    run = subprocess.run(
        [*argv, "--dual-read-calibrate=3"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    proposal = tomllib.loads((out / "calibration.toml").read_text(encoding="utf-8"))
    assert proposal == {"tool": {"dualread": {"dto": {"ignore": ["meta.request_id"]}}}}
    report = load_report(out / "report.json")
    assert report.run.calibration == 3
    assert report.summary.skipped == report.summary.total > 50, "nothing was judged"
