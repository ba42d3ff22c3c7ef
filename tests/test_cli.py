"""The dualread command as a release gate runs it: a real subprocess, real exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pytest_dualread import __version__


def dualread(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_version() -> None:
    done = dualread("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"dualread {__version__}"


def test_schema_is_the_report_json_schema() -> None:
    done = dualread("schema")
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert schema["title"] == "pytest-dualread report, schema_version 1"
    assert set(schema["required"]) >= {"tool", "run", "summary", "verdict", "checks"}


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(("frobnicate",), "invalid choice: 'frobnicate'", id="unknown-command"),
        pytest.param(("schema", "--bogus"), "unrecognized arguments: --bogus", id="unknown-option"),
    ],
)
def test_bad_usage_exits_2_with_one_line(args: tuple[str, ...], words: str) -> None:
    done = dualread(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert words in lines[0]
    assert lines[0].startswith("dualread: error:")


def test_no_command_prints_help_and_exits_2() -> None:
    done = dualread()
    assert done.returncode == 2
    assert "usage: dualread" in done.stderr
