"""The plugin as users run it: flags, skipping, the report, xdist, interrupts, sampling."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import jsonschema
import pytest
from conftest import RunDualRead, add_dualread_table

TWO_CHECKS = """
import pytest

@pytest.mark.dual_read
def test_same():
    assert {"kcal": 1} == {"kcal": 1}

@pytest.mark.dual_read(kind="visual")
def test_page_differs():
    assert "legacy" == "adapter"

def test_plain():
    pass
"""


def test_help_lists_the_dual_read_group(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    out = result.stdout.str()
    assert "dual-read checks (pytest-dualread)" in out
    for flag in (
        "--dual-read ",
        "--dual-read-output=DIR",
        "--dual-read-report=PATH",
        "--dual-read-legacy-url=URL",
        "--dual-read-adapter-url=URL",
        "--dual-read-sample=PCT",
        "--dual-read-artifacts=",
    ):
        assert flag in out, flag


def test_without_the_flag_checks_are_skipped_with_the_reason(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=TWO_CHECKS)
    run = run_dualread("-rs")
    run.result.assert_outcomes(passed=1, skipped=2)
    run.result.stdout.fnmatch_lines(["*run pytest with --dual-read to enable it*"])
    assert run.report is None, "no report without --dual-read"


def test_report_is_written_and_validates_against_the_published_schema(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=TWO_CHECKS)
    run = run_dualread("--dual-read")
    run.result.assert_outcomes(passed=2, failed=1)
    assert run.report is not None
    report = run.report
    assert report.run.complete is True
    assert (report.summary.total, report.summary.passed, report.summary.failed) == (2, 1, 1)
    assert report.summary.by_kind["visual"].failed == 1
    assert report.verdict.status == "fail"
    assert [c.id for c in report.checks] == [
        "test_checks.py::test_page_differs",
        "test_checks.py::test_same",
    ]
    failing = report.checks[0]
    assert failing.outcome == "failed"
    assert "assert 'legacy' == 'adapter'" in failing.message
    schema = json.loads(
        subprocess.run(
            [sys.executable, "-m", "pytest_dualread.cli", "schema"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    )
    jsonschema.validate(json.loads(run.report_path.read_text()), schema)
    run.result.stdout.fnmatch_lines(
        [
            "*dual-read: 2 checks, 1 passed, 1 failed, 0 errors, 0 skipped; verdict fail*",
            "report: dual-read-results/report.json",
        ]
    )


def test_a_green_run_has_a_pass_verdict(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(
        test_ok="""
        import pytest
        @pytest.mark.dual_read
        def test_one():
            pass
        """
    )
    run = run_dualread("--dual-read")
    assert run.report is not None
    assert run.report.verdict.status == "pass"
    assert run.report.verdict.reasons == []


def test_xdist_gives_the_same_report_as_a_serial_run(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    body = "\n".join(
        f"@pytest.mark.dual_read\ndef test_{i}():\n    assert {i} % 4\n" for i in range(12)
    )
    inner_project.makepyfile(test_many="import pytest\n" + body)
    serial = run_dualread("--dual-read")
    parallel = run_dualread("--dual-read", "-n", "2", subprocess=True)
    assert serial.report is not None
    assert parallel.report is not None
    assert parallel.report.summary == serial.report.summary
    assert parallel.report.summary.failed == 3

    def essentials(report: object) -> list[tuple[str, str, str]]:
        assert hasattr(report, "checks")
        return [(c.id, c.kind, c.outcome) for c in report.checks]

    assert essentials(parallel.report) == essentials(serial.report)
    assert parallel.report.run.complete


def test_an_interrupted_run_writes_an_incomplete_report(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(
        test_stop="""
        import pytest
        @pytest.mark.dual_read
        def test_first():
            pass
        @pytest.mark.dual_read
        def test_interrupt():
            raise KeyboardInterrupt
        @pytest.mark.dual_read
        def test_never_runs():
            pass
        """
    )
    run = run_dualread("--dual-read", subprocess=True)
    assert run.result.ret == pytest.ExitCode.INTERRUPTED
    assert run.report is not None
    assert run.report.run.complete is False
    reason = run.report.run.incomplete_reason or ""
    assert reason.startswith("interrupted; 1 dual-read item did not run"), reason
    assert reason.endswith("test_stop.py::test_interrupt")
    assert run.report.verdict.status == "fail"


def test_stopping_early_makes_the_report_incomplete(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_x=TWO_CHECKS)
    run = run_dualread("--dual-read", "-x")
    assert run.report is not None
    assert run.report.run.complete is False
    assert "stopped early" in (run.report.run.incomplete_reason or "")


def test_a_stale_green_report_is_replaced_at_session_start(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makeconftest(
        """
        import json, pathlib
        def pytest_collection_finish(session):
            data = json.loads(pathlib.Path("dual-read-results/report.json").read_text())
            assert data["run"]["complete"] is False
            assert data["checks"] == []
            print("REPORT-AT-START-INCOMPLETE")
        """
    )
    inner_project.makepyfile(test_x=TWO_CHECKS)
    run_dualread("--dual-read")
    run = run_dualread("--dual-read", "-s")
    run.result.stdout.fnmatch_lines(["*REPORT-AT-START-INCOMPLETE*"])
    assert run.report is not None
    assert run.report.run.complete is True


def test_a_setup_error_is_an_error_check(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(
        test_err="""
        import pytest
        @pytest.fixture
        def broken():
            raise RuntimeError("target down")
        @pytest.mark.dual_read
        def test_uses(broken):
            pass
        @pytest.mark.dual_read
        @pytest.mark.skip(reason="not this time")
        def test_skipped():
            pass
        """
    )
    run = run_dualread("--dual-read")
    assert run.report is not None
    by_id = {c.id.split("::")[1]: c for c in run.report.checks}
    assert by_id["test_uses"].outcome == "error"
    assert "target down" in by_id["test_uses"].message
    assert by_id["test_skipped"].outcome == "skipped"
    assert "not this time" in by_id["test_skipped"].message
    assert run.report.summary.errors == 1
    assert run.report.summary.skipped == 1


def test_unknown_config_key_is_a_usage_error_naming_key_and_file(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    add_dualread_table(inner_project, "[tool.dualread.visual]\ntreshold = 0.2\n")
    inner_project.makepyfile(test_x=TWO_CHECKS)
    run = run_dualread("--dual-read")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    err = run.result.stderr.str()
    assert "pyproject.toml" in err
    assert "tool.dualread.visual.treshold" in err
    assert "unknown key 'treshold' in [visual]" in err


def test_config_is_not_read_without_the_flag(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    add_dualread_table(inner_project, "[tool.dualread]\nnot_a_key = 1\n")
    inner_project.makepyfile(test_x=TWO_CHECKS)
    run = run_dualread()
    run.result.assert_outcomes(passed=1, skipped=2)


@pytest.mark.parametrize(
    ("env", "flag", "expected"),
    [
        pytest.param(None, None, "from-pyproject", id="pyproject"),
        pytest.param("from-env", None, "from-env", id="env-over-pyproject"),
        pytest.param("from-env", "from-flag", "from-flag", id="flag-over-env"),
    ],
)
def test_precedence_pyproject_env_flag(
    run_dualread: RunDualRead,
    inner_project: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    env: str | None,
    flag: str | None,
    expected: str,
) -> None:
    add_dualread_table(inner_project, '[tool.dualread]\noutput_dir = "from-pyproject"\n')
    inner_project.makepyfile(test_x=TWO_CHECKS)
    if env:
        monkeypatch.setenv("DUALREAD_OUTPUT_DIR", env)
    args = ["--dual-read", *([f"--dual-read-output={flag}"] if flag else [])]
    run = run_dualread(*args, report=f"{expected}/report.json")
    assert run.report is not None, run.result.stdout.str()


def test_report_flag_overrides_the_report_path(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_x=TWO_CHECKS)
    run = run_dualread("--dual-read", "--dual-read-report=gate/run.json", report="gate/run.json")
    assert run.report is not None


@pytest.mark.parametrize("value", ["0", "101", "half"])
def test_bad_sample_is_a_usage_error_naming_the_option(
    inner_project: pytest.Pytester, value: str
) -> None:
    result = inner_project.runpytest("--dual-read", f"--dual-read-sample={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    err = result.stderr.str()
    assert "--dual-read-sample" in err
    assert "expected a percentage" in err


def test_sampling_is_deterministic_and_recorded(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    body = "\n".join(f"@pytest.mark.dual_read\ndef test_{i}():\n    pass\n" for i in range(40))
    inner_project.makepyfile(test_many="import pytest\n" + body)
    first = run_dualread("--dual-read", "--dual-read-sample=25")
    second = run_dualread("--dual-read", "--dual-read-sample=25", "-n", "2", subprocess=True)
    assert first.report is not None
    assert second.report is not None
    ids = [c.id for c in first.report.checks]
    assert ids == [c.id for c in second.report.checks]
    assert 0 < len(ids) < 40
    sample = first.report.run.sample
    assert sample is not None
    assert (sample.percent, sample.selected, sample.total) == (25, len(ids), 40)
    assert second.report.run.sample == sample


def test_a_bad_marker_kind_is_a_usage_error(inner_project: pytest.Pytester) -> None:
    inner_project.makepyfile(
        test_k="""
        import pytest
        @pytest.mark.dual_read(kind="pixels")
        def test_one():
            pass
        """
    )
    result = inner_project.runpytest("--dual-read")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "expected kind 'dto' or 'visual'" in result.stderr.str()


def test_plain_pytest_does_not_import_the_heavy_parts(inner_project: pytest.Pytester) -> None:
    inner_project.makepyfile(
        test_mods=textwrap.dedent(
            """
            import sys
            def test_modules():
                loaded = [m for m in ("pytest_dualread.config", "pytest_dualread.report",
                                      "deepdiff", "numpy") if m in sys.modules]
                assert loaded == []
            """
        )
    )
    result = inner_project.runpytest_subprocess()
    result.assert_outcomes(passed=1)
