"""Nothing of the user's is lost, and no old green report survives a run that did not finish.

Real files in a pytester project: the report target, the artifacts folder, the output folder's
lock, the modes of what is written, and the report an early usage error leaves behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table

from pytest_dualread.outputs import ARTIFACTS_MARKER, LOCK_FILE
from pytest_dualread.report import load_report

CHECKS = """
import pytest

@pytest.mark.dual_read
def test_same():
    assert 1 == 1

@pytest.mark.dual_read
def test_also_same():
    assert 2 == 2
"""
CASE_FILE = '{"cases": [{"id": "log-42", "path": "/meal-logs/42"}]}\n'


def gate(report: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", "gate", str(report)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def green(run_dualread: RunDualRead, inner_project: pytest.Pytester) -> Path:
    """A project after a green run: its report passes the gate."""
    inner_project.makepyfile(test_checks=CHECKS)
    run = run_dualread("--dual-read")
    assert gate(run.report_path).returncode == 0
    return run.report_path


# -- artifacts --------------------------------------------------------------------------------


def test_a_users_artifacts_folder_is_never_deleted(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    mine = inner_project.path / "artifacts" / "build.tar"
    mine.parent.mkdir()
    mine.write_bytes(b"the user's own build output")
    run = run_dualread("--dual-read", "--dual-read-output=.", report="report.json")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    err = run.result.stderr.str()
    assert f"{inner_project.path / 'artifacts'} exists and was not made by pytest-dualread" in err
    assert "choose another output folder" in err
    assert mine.read_bytes() == b"the user's own build output"


def test_the_plugins_artifacts_folder_is_marked_and_cleared(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    folder = inner_project.path / "dual-read-results" / "artifacts"
    run_dualread("--dual-read")
    assert (folder / ARTIFACTS_MARKER).is_file(), "the folder the plugin made carries its marker"
    stale = folder / "old-check" / "diff.txt"
    stale.parent.mkdir()
    stale.write_text("from an earlier run", encoding="utf-8")
    run_dualread("--dual-read")
    assert not stale.exists()
    assert (folder / ARTIFACTS_MARKER).is_file()


def test_artifacts_written_by_a_check_carry_the_marker(tmp_path: Path) -> None:
    from pytest_dualread.artifacts import ArtifactDir

    ArtifactDir(tmp_path, "cases.json::log-1").write_text("diff", "dto-diff.txt", "x")
    assert (tmp_path / "artifacts" / ARTIFACTS_MARKER).is_file()


@pytest.mark.parametrize("args", [("--collect-only",), ("-k", "nothing_matches_this")])
def test_a_run_that_runs_no_check_keeps_the_report_and_artifacts(
    run_dualread: RunDualRead, green: Path, args: tuple[str, ...]
) -> None:
    before = green.read_bytes()
    kept = green.parent / "artifacts" / "a-check" / "diff.txt"
    kept.parent.mkdir(parents=True)
    kept.write_text("still needed", encoding="utf-8")
    run_dualread("--dual-read", *args)
    assert green.read_bytes() == before
    assert kept.read_text(encoding="utf-8") == "still needed"
    assert gate(green).returncode == 0


# -- the report target ------------------------------------------------------------------------


def test_a_report_target_that_is_a_case_file_is_refused(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    case_file = inner_project.path / "cases.json"
    case_file.write_text(CASE_FILE, encoding="utf-8")
    run = run_dualread("--dual-read", f"--dual-read-report={case_file}", report="none.json")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    err = run.result.stderr.str()
    assert f"{case_file} exists and is not a pytest-dualread report" in err
    assert case_file.read_text(encoding="utf-8") == CASE_FILE


@pytest.mark.parametrize("text", ["", "not json at all\n", '{"tool": {"name": "other"}}\n'])
def test_a_report_target_that_is_another_file_is_refused(
    run_dualread: RunDualRead, inner_project: pytest.Pytester, text: str
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    target = inner_project.path / "dual-read-results" / "report.json"
    target.parent.mkdir()
    target.write_text(text, encoding="utf-8")
    run = run_dualread("--dual-read", report="none.json")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert "is not a pytest-dualread report" in run.result.stderr.str()
    assert target.read_text(encoding="utf-8") == text


def test_a_report_target_that_is_a_directory_is_a_usage_error(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    folder = inner_project.path / "reports"
    folder.mkdir()
    run = run_dualread("--dual-read", f"--dual-read-report={folder}")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"{folder} is a directory" in run.result.stderr.str()
    assert folder.is_dir()


# -- an early exit never leaves the old green report --------------------------------------------


def test_an_unknown_config_key_after_a_green_run_leaves_no_green_report(
    run_dualread: RunDualRead, inner_project: pytest.Pytester, green: Path
) -> None:
    add_dualread_table(inner_project, "[tool.dualread]\nlegcy_url = 'http://127.0.0.1:9'\n")
    run = run_dualread("--dual-read")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert load_report(green).run.complete is False
    assert gate(green).returncode == 2


def test_a_mistyped_flag_after_a_green_run_leaves_no_green_report(
    run_dualread: RunDualRead, green: Path
) -> None:
    run = run_dualread("--dual-read", "--dual-read-sampel=5")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    assert gate(green).returncode == 2


@pytest.mark.parametrize("broken", ["conftest", "test_broken"])
def test_a_collection_error_after_a_green_run_leaves_no_green_report(
    run_dualread: RunDualRead, inner_project: pytest.Pytester, green: Path, broken: str
) -> None:
    # A broken conftest.py fails while pytest starts, before any session hook runs.
    inner_project.makepyfile(**{broken: "import no_such_module_here\n"})
    run = run_dualread("--dual-read")
    assert run.result.ret != pytest.ExitCode.OK
    assert gate(green).returncode == 2


def test_a_report_path_from_pyproject_is_invalidated_early(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    add_dualread_table(inner_project, '[tool.dualread]\nreport_path = "out/gate.json"\n')
    first = run_dualread("--dual-read", report="out/gate.json")
    assert gate(first.report_path).returncode == 0
    run_dualread("--dual-read", "--dual-read-sampel=5")
    assert gate(first.report_path).returncode == 2


# -- one session per output folder -------------------------------------------------------------


@pytest.fixture
def first_session(inner_project: pytest.Pytester) -> Iterator[subprocess.Popen[str]]:
    """A pytest --dual-read session that holds the output folder until ``release`` appears."""
    release = inner_project.path / "release"
    inner_project.makepyfile(
        test_slow=f"""
        import pathlib, time
        import pytest

        @pytest.mark.dual_read
        def test_waits():
            deadline = time.monotonic() + 120
            while not pathlib.Path({str(release)!r}).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        """
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "--dual-read", "-p", "no:playwright", "test_slow.py"],
        cwd=inner_project.path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lock = inner_project.path / "dual-read-results" / LOCK_FILE
    deadline = time.monotonic() + 60
    while not (lock.exists() and lock.read_text(encoding="utf-8")):
        assert time.monotonic() < deadline, "the first session never took the lock"
        time.sleep(0.05)
    yield process
    release.touch()
    process.communicate(timeout=120)


def test_a_second_session_into_the_same_folder_fails_fast_naming_the_first(
    run_dualread: RunDualRead, inner_project: pytest.Pytester, first_session: subprocess.Popen[str]
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    run = run_dualread("--dual-read", "test_checks.py")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    err = run.result.stderr.str()
    assert "is in use by another pytest-dualread session" in err
    assert f"pid {first_session.pid}" in err
    assert first_session.poll() is None, "the first session runs on"
    report = load_report(inner_project.path / "dual-read-results" / "report.json")
    assert report.run.complete is False, "the second session wrote nothing of its own"


def test_the_lock_is_released_when_a_session_ends(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    assert run_dualread("--dual-read").result.ret == pytest.ExitCode.OK
    assert run_dualread("--dual-read").result.ret == pytest.ExitCode.OK


# -- modes: the umask, or the file's own mode -------------------------------------------------


@pytest.fixture
def umask_027() -> Iterator[None]:
    old = os.umask(0o027)
    yield
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("umask_027")
def test_reports_get_the_mode_the_umask_gives(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    run = run_dualread("--dual-read")
    assert _mode(run.report_path) == 0o640
    assert _mode(run.report_path.parent / "report.html") == 0o640
    html = inner_project.path / "copy.html"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_dualread.cli",
            "html",
            str(run.report_path),
            "-o",
            str(html),
        ],
        check=True,
        capture_output=True,
    )
    assert _mode(html) == 0o640


def test_a_replaced_report_keeps_its_mode(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_checks=CHECKS)
    run = run_dualread("--dual-read")
    run.report_path.chmod(0o664)
    run_dualread("--dual-read")
    assert _mode(run.report_path) == 0o664
