"""The dualread command as a release gate runs it: a real subprocess, real exit codes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Callable

import pytest

from pytest_dualread import __version__, cli


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


def _raise(error: BaseException) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        raise error

    return run


def test_an_unexpected_error_is_exit_2_and_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_cmd_schema", _raise(RuntimeError("disk on fire\n  at sector 7")))
    assert cli.main(["schema"]) == 2
    out, err = capsys.readouterr()
    assert err == "dualread: internal error: RuntimeError: disk on fire at sector 7\n"
    assert out == ""


def test_an_unexpected_gate_error_still_answers_in_json(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    monkeypatch.setattr(cli, "_cmd_gate", _raise(KeyError("verdict")))
    assert cli.main(["gate", "report.json", "--format", "json"]) == 2
    out, err = capsys.readouterr()
    assert err == "dualread: internal error: KeyError: 'verdict'\n"
    assert json.loads(out) == {
        "status": "cannot_judge",
        "exit_code": 2,
        "error": "KeyError: 'verdict'",
    }


def test_ctrl_c_is_exit_130_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(cli, "_cmd_schema", _raise(KeyboardInterrupt()))
    assert cli.main(["schema"]) == 130
    assert capsys.readouterr().err == "dualread: interrupted\n"
