"""``dualread gate`` on files nobody should hand it: each is exit 2 with one line, never a
traceback, never a hang. Real files and a real subprocess with a timeout, as CI would run it."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import synthetic_report
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_dualread.errors import ReportError
from pytest_dualread.report import Check, dump_report, load_report

DEPTH = 100_000
HUGE = "7" * 5000


def gate(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DUALREAD_")}
    environ.pop("GITHUB_STEP_SUMMARY", None)
    return subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", "gate", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        timeout=timeout,  # a hang fails the test instead of blocking it
        env=environ,
    )


def _green_text() -> str:
    return dump_report(synthetic_report([Check(id="a", nodeid="a", kind="dto", outcome="passed")]))


def _deep_array(path: Path) -> Path:
    path.write_text("[" * DEPTH + "]" * DEPTH, encoding="utf-8")
    return path


def _deep_inside_a_report(path: Path) -> Path:
    raw = json.loads(_green_text())
    text = json.dumps(raw)
    marker = '"argv": ['
    deep = '"argv": [' + "[" * DEPTH + "]" * DEPTH + ", "
    path.write_text(text.replace(marker, deep, 1), encoding="utf-8")
    return path


def _huge_schema_version(path: Path) -> Path:
    path.write_text(_green_text().replace('"schema_version": 1', f'"schema_version": {HUGE}'))
    return path


def _huge_duration(path: Path) -> Path:
    path.write_text(_green_text().replace('"duration_s": 0.0', f'"duration_s": {HUGE}', 1))
    return path


def _fifo(path: Path) -> Path:
    os.mkfifo(path)  # nobody ever writes to it: reading it would block forever
    return path


def _directory(path: Path) -> Path:
    path.mkdir()
    return path


def _dev_zero(path: Path) -> Path:
    path.symlink_to("/dev/zero")  # endless zero bytes
    return path


def _not_utf8(path: Path) -> Path:
    path.write_bytes(b'{"schema_version": 1, "x": "\xff\xfe"}')
    return path


HOSTILE: dict[str, tuple[Callable[[Path], Path], str]] = {
    "nested 100,000 deep": (_deep_array, "too deep"),
    "nested 100,000 deep inside a report": (_deep_inside_a_report, "too deep"),
    "5,000-digit schema_version": (_huge_schema_version, "report.json"),
    "5,000-digit duration": (_huge_duration, "report.json"),
    "a FIFO": (_fifo, "FIFO"),
    "a directory": (_directory, "directory"),
    "/dev/zero": (_dev_zero, "device"),
    "not UTF-8": (_not_utf8, "UTF-8"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_report_is_exit_2_with_one_line(tmp_path: Path, name: str) -> None:
    make, word = HOSTILE[name]
    path = make(tmp_path / "report.json")
    done = gate(path)
    assert done.returncode == 2, (done.stdout, done.stderr[-2000:])
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr[-2000:]
    assert lines[0].startswith("dualread: error: report "), lines[0]
    assert word in lines[0]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("name", ["a FIFO", "/dev/zero", "nested 100,000 deep"])
def test_hostile_baseline_is_exit_2_with_one_line(tmp_path: Path, name: str) -> None:
    report = tmp_path / "report.json"
    report.write_text(_green_text(), encoding="utf-8")
    baseline = HOSTILE[name][0](tmp_path / "old.json")
    done = gate(report, "--baseline", baseline)
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("dualread: error: baseline ")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
        max_leaves=30,
    )
)
def test_fuzzed_json_loads_or_raises_report_error(
    tmp_path_factory: pytest.TempPathFactory, value: object
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "report.json"
    base = json.loads(_green_text())
    # Half the examples look like reports (the tool and schema fields pass), half do not.
    shaped = {**base, "run": value} if isinstance(value, dict) else value
    path.write_text(json.dumps(shaped), encoding="utf-8")
    with contextlib.suppress(ReportError):
        load_report(path)


def _report_finished(path: Path, ago: timedelta) -> Path:
    started = datetime.now(timezone.utc) - ago - timedelta(minutes=1)
    check = Check(id="a", nodeid="a", kind="dto", outcome="passed")
    path.write_text(dump_report(synthetic_report([check], started=started, run_minutes=1)))
    return path


@pytest.mark.parametrize(
    ("ago", "limit", "code"),
    [
        (timedelta(hours=7), "6h", 2),
        (timedelta(hours=5), "6h", 0),
        (timedelta(minutes=91), "90m", 2),
        (timedelta(days=3), "2d", 2),
        (timedelta(seconds=30), "3600", 0),
    ],
)
def test_max_age_refuses_an_old_report_naming_its_age(
    tmp_path: Path, ago: timedelta, limit: str, code: int
) -> None:
    done = gate(_report_finished(tmp_path / "report.json", ago), "--max-age", limit)
    assert done.returncode == code, done.stderr
    if code == 2:
        assert len(done.stderr.strip().splitlines()) == 1
        assert "longer ago than --max-age" in done.stderr
        assert "finished " in done.stderr


@pytest.mark.parametrize("bad", ["soon", "-5m", "0", "6w", "1e9", ""])
def test_a_bad_max_age_is_one_line_naming_the_option(tmp_path: Path, bad: str) -> None:
    done = gate(_report_finished(tmp_path / "report.json", timedelta(0)), f"--max-age={bad}")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--max-age" in lines[0]
    assert "expected a duration" in lines[0]
