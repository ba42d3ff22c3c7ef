"""Run modes that run no check, or not all of them, never leave a report the gate passes.

An item counts as passed only when its call phase passed; a run that ran the setup only, was
interrupted inside a test, lost a worker, or stopped on a usage error is not judgeable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DualReadRun, RunDualRead

CHECKS = """
import pytest

@pytest.fixture
def target():
    return {"kcal": 1}

@pytest.mark.dual_read
def test_first(target):
    assert target == {"kcal": 1}

@pytest.mark.dual_read
def test_second(target):
    assert target == {"kcal": 1}

@pytest.mark.dual_read(kind="visual")
def test_page():
    pass
"""


def gate(report: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", "gate", str(report), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("mode", ["--setup-only", "--setup-plan"])
def test_setup_only_runs_are_not_run_checks_and_the_gate_cannot_judge(
    run_dualread: RunDualRead, inner_project: pytest.Pytester, mode: str
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    run = run_dualread("--dual-read", mode)
    assert run.report is not None
    assert run.report.run.complete is False
    reason = run.report.run.incomplete_reason or ""
    assert "3 dual-read items did not run" in reason
    assert "--setup-only or --setup-plan" in reason
    assert {c.outcome for c in run.report.checks} == {"error"}
    assert all(c.message.startswith("did not run: ") for c in run.report.checks)
    assert run.report.verdict.status == "fail"
    done = gate(run.report_path)
    assert done.returncode == 2, done.stderr
    assert "did not run" in done.stderr


def test_keyboard_interrupt_inside_a_test_leaves_it_not_run(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(
        test_checks="""
        import pytest

        @pytest.fixture
        def ready():
            return True

        @pytest.mark.dual_read
        def test_interrupted(ready):
            raise KeyboardInterrupt
        """
    )
    run = run_dualread("--dual-read", subprocess=True)  # the interrupt stays in the inner run
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "error", "a passed setup is no passed check"
    assert check.message.startswith("did not run: ")
    assert_not_judged(run, naming="test_interrupted")


def test_a_crashed_worker_leaves_its_item_not_run(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(
        test_checks="""
        import os
        import pytest

        @pytest.mark.dual_read
        def test_fine():
            pass

        @pytest.mark.dual_read
        def test_crashes():
            os._exit(3)
        """
    )
    run = run_dualread("--dual-read", "-n", "1", "-p", "no:randomly", subprocess=True)
    assert run.report is not None, run.result.stdout.str()
    by_name = {c.id.split("::")[1]: c for c in run.report.checks}
    assert by_name["test_fine"].outcome == "passed"
    assert by_name["test_crashes"].outcome == "error"
    assert "did not run" in by_name["test_crashes"].message
    assert "crashed" in by_name["test_crashes"].message
    assert_not_judged(run, naming="test_crashes")


def assert_not_judged(run: DualReadRun, *, naming: str) -> None:
    """The run is incomplete, its reason names ``naming``, and the gate cannot judge it."""
    assert run.report is not None
    assert run.report.run.complete is False
    assert naming in (run.report.run.incomplete_reason or "")
    assert gate(run.report_path).returncode == 2


def test_a_passing_run_still_passes(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    run = run_dualread("--dual-read")
    assert run.report is not None
    assert run.report.run.complete is True
    assert run.report.summary.passed == 3
    assert gate(run.report_path).returncode == 0


SELECTIONS = {
    "-k": ("-k", "first"),
    "-m": ("-m", "not slow"),
    "--deselect": ("--deselect", "test_checks.py::test_second"),
}


@pytest.mark.parametrize("flag", list(SELECTIONS))
def test_a_selection_that_leaves_checks_out_is_a_partial_run(
    run_dualread: RunDualRead, inner_project: pytest.Pytester, flag: str
) -> None:
    inner_project.makeconftest(
        "def pytest_configure(config):\n"
        "    config.addinivalue_line('markers', 'slow: a slow page')\n"
    )
    inner_project.makepyfile(
        test_checks=CHECKS.replace("def test_page", "@pytest.mark.slow\ndef test_page")
    )
    run = run_dualread("--dual-read", *SELECTIONS[flag])
    assert run.report is not None
    selection = run.report.run.selection
    assert selection is not None
    assert selection.collected == 3
    assert selection.deselected == 3 - selection.selected > 0
    assert selection.filters == [flag]
    run.result.stdout.fnmatch_lines([f"dual-read: partial run: {flag} left out *"])
    refused = gate(run.report_path)
    assert refused.returncode == 2
    assert f"partial run: {flag} left out" in refused.stderr
    assert "--allow-partial" in refused.stderr
    assert gate(run.report_path, "--allow-partial").returncode == 0


def test_allow_partial_from_pyproject(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    run = run_dualread("--dual-read", "-k", "first")
    config = inner_project.path / "gate.toml"
    config.write_text("[tool.dualread.gate]\nallow_partial = true\n", encoding="utf-8")
    assert gate(run.report_path, "--config", str(config)).returncode == 0
    assert gate(run.report_path, "--config", str(config), "--no-allow-partial").returncode == 2


def test_last_failed_is_a_partial_run(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    failing_second = CHECKS.replace(
        'def test_second(target):\n    assert target == {"kcal": 1}',
        'def test_second(target):\n    assert target == {"kcal": 2}',
    )
    inner_project.makepyfile(test_checks=failing_second)
    first = run_dualread("--dual-read")
    assert first.report is not None
    assert first.report.summary.failed == 1
    run = run_dualread("--dual-read", "--lf")
    assert run.report is not None
    assert run.report.run.selection is not None
    assert run.report.run.selection.filters == ["--lf"]
    assert "partial run: --lf ran only the last failures" in gate(run.report_path).stderr


def test_a_declared_sample_is_not_a_partial_run(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    run = run_dualread("--dual-read", "--dual-read-sample=70")
    assert run.report is not None
    sample, selection = run.report.run.sample, run.report.run.selection
    assert sample is not None
    assert selection is not None
    assert (selection.collected, selection.deselected) == (sample.selected, 0)
    assert "partial" not in gate(run.report_path).stderr
