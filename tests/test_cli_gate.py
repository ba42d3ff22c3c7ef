"""``dualread gate`` and ``dualread merge`` as CI runs them: a real subprocess, real exit codes.

Every exit-code path: 0 pass, 1 fail (verdict, regression, streak), 2 cannot judge (missing,
truncated, newer schema, incomplete, zero checks, bad policy, bad usage).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import synthetic_report

from pytest_dualread.report import (
    Check,
    Report,
    load_report,
    write_report,
)


def dualread(
    *args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DUALREAD_")}
    environ.pop("GITHUB_STEP_SUMMARY", None)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=environ,
    )


def check(
    cid: str,
    outcome: str = "passed",
    kind: str = "dto",
    *,
    triage: str | None = "adapter_regression",
    message: str = "",
    nodeid: str | None = None,
) -> Check:
    findings: list[dict[str, Any]] = []
    if outcome == "failed":
        findings.append(
            {"comparison": "adapter_vs_legacy", "path": "kcal", "category": "value", "delta": 90.0}
            | {"triage": triage}
        )
    return Check.model_validate(
        {
            "id": cid,
            "nodeid": nodeid or f"fixtures/dual_read/cases.json::{cid}",
            "kind": kind,
            "outcome": outcome,
            "message": message,
            "findings": findings,
            # A visual check that ran compared pixels (a gate requiring visual checks asks).
            "data": {"comparisons": [{"name": "adapter_vs_legacy"}]} if kind == "visual" else {},
        }
    )


def make(
    *checks: Check,
    complete: bool = True,
    started: datetime | None = None,
    config_hash: str = "sha256:abc",
) -> Report:
    return synthetic_report(
        checks, started=started, run_minutes=1, complete=complete, config_hash=config_hash
    )


def save(path: Path, report: Report) -> Path:
    write_report(report, path)
    return path


GREEN = (check("cases/a"), check("cases/b"), check("pages/dashboard", kind="visual"))


@pytest.fixture
def green_report(tmp_path: Path) -> Path:
    return save(tmp_path / "report.json", make(*GREEN))


def one_error_line(done: subprocess.CompletedProcess[str], *words: str) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("dualread: error: ")
    for word in words:
        assert word in lines[0]
    return lines[0]


# -- verdict --------------------------------------------------------------------------------------


def test_pass_exits_0(green_report: Path, tmp_path: Path) -> None:
    done = dualread("gate", green_report, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"dual-read gate: PASS ({green_report})")
    assert "3 checks: 3 passed, 0 failed, 0 errors, 0 skipped (dto 2, visual 1)" in done.stdout
    assert done.stderr == ""


def test_failing_check_exits_1(tmp_path: Path) -> None:
    path = save(tmp_path / "r.json", make(check("cases/a", "failed", message="kcal 90 > 80")))
    done = dualread("gate", path, cwd=tmp_path)
    assert done.returncode == 1
    assert "dual-read gate: FAIL" in done.stdout
    assert "1 failed check (allowed: 0): cases/a" in done.stdout
    assert "cases/a [dto failed] kcal 90 > 80" in done.stdout


def test_stale_golden_failure_does_not_block(tmp_path: Path) -> None:
    path = save(tmp_path / "r.json", make(check("cases/a", "failed", triage="upstream_drift")))
    done = dualread("gate", path, cwd=tmp_path)
    assert done.returncode == 0
    assert "not blocking: 1 failed check explained by stale goldens" in done.stdout


# -- cannot judge ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        pytest.param(None, ("no such report file",), id="missing"),
        pytest.param(
            '{"schema_version": 1, "tool": {"name": "pytest-', ("truncated",), id="truncated"
        ),
        pytest.param("", ("not valid JSON",), id="empty-file"),
        pytest.param(
            '{"schema_version": 2, "tool": {"name": "pytest-dualread"}}',
            ("schema_version 2 is newer",),
            id="schema-2",
        ),
        pytest.param('{"schema_version": 1}', ("not a pytest-dualread report",), id="foreign"),
        pytest.param(
            '{"schema_version": 1, "tool": {"name": "pytest-dualread", "version": "0"}}',
            ("does not match report schema 1",),
            id="invalid",
        ),
    ],
)
def test_untrustworthy_file_exits_2(tmp_path: Path, content: str | None, words: tuple[str]) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    one_error_line(dualread("gate", path, cwd=tmp_path), str(path), *words)


@pytest.mark.parametrize(
    ("report", "words"),
    [
        pytest.param(make(*GREEN, complete=False), "run.complete is false", id="incomplete"),
        pytest.param(make(), "zero checks", id="zero-checks"),
        pytest.param(make(check("a", "skipped")), "were skipped", id="all-skipped"),
    ],
)
def test_report_that_cannot_be_judged_exits_2(tmp_path: Path, report: Report, words: str) -> None:
    path = save(tmp_path / "report.json", report)
    line = one_error_line(dualread("gate", path, cwd=tmp_path), words)
    assert line.startswith(f"dualread: error: report {path}: ")


def test_cannot_judge_in_json_and_step_summary(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    path = save(tmp_path / "report.json", make())
    done = dualread(
        "gate", path, "--format", "json", cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)}
    )
    assert done.returncode == 2
    data = json.loads(done.stdout)
    assert data["status"] == "cannot_judge"
    assert data["exit_code"] == 2
    assert "zero checks" in data["error"]
    assert "CANNOT JUDGE" in summary.read_text()


# -- policy ---------------------------------------------------------------------------------------


def test_policy_from_pyproject_in_the_current_directory(green_report: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dualread.gate]\nmin_checks = 5\n")
    done = dualread("gate", green_report, cwd=tmp_path)
    assert done.returncode == 1
    assert "3 checks ran; the policy requires at least 5" in done.stdout
    assert dualread("gate", green_report, "--min-checks", "3", cwd=tmp_path).returncode == 0


def test_policy_from_config_option(green_report: Path, tmp_path: Path) -> None:
    config = tmp_path / "elsewhere" / "pyproject.toml"
    config.parent.mkdir()
    config.write_text("[tool.dualread.gate]\nrequire_visual = true\n")
    no_visual = save(tmp_path / "dto.json", make(check("cases/a")))
    done = dualread("gate", no_visual, "--config", config, cwd=tmp_path)
    assert done.returncode == 1
    assert "no visual check ran" in done.stdout
    assert dualread("gate", no_visual, "--config", config, "--no-require-visual").returncode == 0
    assert dualread("gate", green_report, "--config", config).returncode == 0


def test_flags_override_allowed_failures_and_blocking_triage(tmp_path: Path) -> None:
    path = save(tmp_path / "r.json", make(check("a", "failed", triage="upstream_drift")))
    assert dualread("gate", path, cwd=tmp_path).returncode == 0
    strict = dualread("gate", path, "--blocking-triage", "upstream_drift,adapter_regression")
    assert strict.returncode == 1
    assert (
        dualread(
            "gate", path, "--blocking-triage", "upstream_drift", "--allowed-failures", "1"
        ).returncode
        == 0
    )


def test_environment_overrides_pyproject(green_report: Path, tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.dualread.gate]\nmin_checks = 1\n")
    done = dualread("gate", green_report, cwd=tmp_path, env={"DUALREAD_GATE__MIN_CHECKS": "9"})
    assert done.returncode == 1
    assert "requires at least 9" in done.stdout


@pytest.mark.parametrize(
    ("toml", "words"),
    [
        (
            "[tool.dualread.gate]\nmin_check = 1\n",
            "key 'tool.dualread.gate.min_check': unknown key",
        ),
        ("[tool.dualread.gate]\nmin_checks = -1\n", "key 'tool.dualread.gate.min_checks'"),
        (
            '[tool.dualread.gate]\nblocking_triage = ["nope"]\n',
            "key 'tool.dualread.gate.blocking_triage.0'",
        ),
        ("[tool.dualread.gate\n", "not valid TOML"),
        ("[tool]\ndualread = 3\n", "key 'tool.dualread': expected a table"),
    ],
)
def test_bad_policy_exits_2_naming_file_and_key(
    green_report: Path, tmp_path: Path, toml: str, words: str
) -> None:
    (tmp_path / "pyproject.toml").write_text(toml)
    one_error_line(dualread("gate", green_report, cwd=tmp_path), "pyproject.toml", words)


def test_bad_environment_policy_exits_2(green_report: Path, tmp_path: Path) -> None:
    done = dualread("gate", green_report, cwd=tmp_path, env={"DUALREAD_GATE__MIN_CHECKS": "many"})
    one_error_line(done, "environment variable DUALREAD_GATE__MIN_CHECKS")


@pytest.mark.parametrize(
    ("args", "words"),
    [
        pytest.param(("--config", "nope.toml"), "--config nope.toml: no such file", id="config"),
        pytest.param(("--format", "xml"), "argument --format: invalid choice", id="format"),
        pytest.param(("--min-checks", "-1"), "expected a number >= 0", id="min-checks"),
        pytest.param(("--blocking-triage", "bogus"), "unknown triage class 'bogus'", id="triage"),
        pytest.param(
            ("--history", "."),
            "--history DIR and --require-green-days N go together",
            id="history-alone",
        ),
        pytest.param(
            ("--require-green-days", "0", "--history", "."), "expected a number >= 1", id="days"
        ),
        pytest.param(("--today", "14.11.2026"), "expected a date YYYY-MM-DD", id="today"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    green_report: Path, tmp_path: Path, args: tuple[str, ...], words: str
) -> None:
    one_error_line(dualread("gate", green_report, *args, cwd=tmp_path), words)


def test_gate_without_report_is_usage_error(tmp_path: Path) -> None:
    one_error_line(dualread("gate", cwd=tmp_path), "the following arguments are required: REPORT")


# -- baseline -------------------------------------------------------------------------------------


def test_baseline_with_a_disappeared_check_fails(green_report: Path, tmp_path: Path) -> None:
    old = save(tmp_path / "old.json", make(*GREEN, check("cases/c")))
    done = dualread("gate", green_report, "--baseline", old, cwd=tmp_path)
    assert done.returncode == 1
    assert f"baseline ({old}): REGRESSION" in done.stdout
    assert "disappeared (1): cases/c" in done.stdout
    assert "1 check of the baseline disappeared: cases/c" in done.stdout


def test_baseline_reports_fixed_and_new_failures(tmp_path: Path) -> None:
    old = save(tmp_path / "old.json", make(check("a", "failed"), check("b")))
    new = save(tmp_path / "new.json", make(check("a"), check("b", "failed")))
    done = dualread("gate", new, "--baseline", old, "--format", "json", cwd=tmp_path)
    assert done.returncode == 1
    data = json.loads(done.stdout)
    assert data["baseline"]["new_failures"] == ["b"]
    assert data["baseline"]["fixed"] == ["a"]
    assert data["baseline"]["regressed"] is True


def test_same_baseline_passes(green_report: Path, tmp_path: Path) -> None:
    done = dualread("gate", green_report, "--baseline", green_report, cwd=tmp_path)
    assert done.returncode == 0
    assert "no regression" in done.stdout


@pytest.mark.parametrize("broken", ["missing", "truncated", "incomplete"])
def test_untrustworthy_baseline_exits_2(green_report: Path, tmp_path: Path, broken: str) -> None:
    old = tmp_path / "old.json"
    if broken == "truncated":
        old.write_text(green_report.read_text()[:100])
    elif broken == "incomplete":
        save(old, make(*GREEN, complete=False))
    line = one_error_line(dualread("gate", green_report, "--baseline", old, cwd=tmp_path))
    assert line.startswith(f"dualread: error: baseline {old}")


# -- history --------------------------------------------------------------------------------------


def history(tmp_path: Path, red_day: int | None = None, skip: int | None = None) -> Path:
    folder = tmp_path / "history"
    for day in range(1, 15):
        if day == skip:
            continue
        started = datetime(2026, 11, day, 6, tzinfo=timezone.utc)
        outcome = "failed" if day == red_day else "passed"
        save(folder / f"2026-11-{day:02d}" / "a.json", make(*GREEN, started=started))
        later = started + timedelta(hours=8)
        save(
            folder / f"2026-11-{day:02d}" / "b.json",
            make(check("cases/a", outcome), *GREEN[1:], started=later),
        )
    return folder


def test_history_all_green(green_report: Path, tmp_path: Path) -> None:
    folder = history(tmp_path)
    done = dualread(
        "gate", green_report, "--history", folder, "--require-green-days", "14",
        "--today", "2026-11-14", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "14 of 14 green days ending 2026-11-14" in done.stdout


def test_history_with_a_red_day_in_the_middle_fails(green_report: Path, tmp_path: Path) -> None:
    folder = history(tmp_path, red_day=8)
    done = dualread(
        "gate", green_report, "--history", folder, "--require-green-days", "14",
        "--today", "2026-11-14", "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    data = json.loads(done.stdout)["history"]
    assert data["green_days"] == 6
    assert data["broken_on"] == "2026-11-08"
    assert data["days"][6]["status"] == "red"
    assert "2026-11-08/b.json failed" in data["days"][6]["detail"]
    shorter = dualread(
        "gate", green_report, "--history", folder, "--require-green-days", "6",
        "--today", "2026-11-14",
    )  # fmt: skip
    assert shorter.returncode == 0


def test_history_with_a_missing_day_fails(green_report: Path, tmp_path: Path) -> None:
    folder = history(tmp_path, skip=12)
    done = dualread(
        "gate", green_report, "--history", folder, "--require-green-days", "14",
        "--today", "2026-11-14", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1
    assert "the streak broke on 2026-11-12 (missing)" in done.stdout


def test_history_counts_the_judged_report_for_today(green_report: Path, tmp_path: Path) -> None:
    folder = tmp_path / "history"
    save(
        folder / "yesterday.json", make(*GREEN, started=datetime(2026, 11, 13, tzinfo=timezone.utc))
    )
    done = dualread(
        "gate", green_report, "--history", folder, "--require-green-days", "2",
        "--today", "2026-11-14",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout


@pytest.mark.parametrize("broken", ["missing-dir", "empty-dir", "truncated-file"])
def test_untrustworthy_history_exits_2(green_report: Path, tmp_path: Path, broken: str) -> None:
    folder = tmp_path / "history"
    words = "no such directory"
    if broken != "missing-dir":
        folder.mkdir()
        words = "no report files"
    if broken == "truncated-file":
        (folder / "run.json").write_text('{"schema_version": 1, "to')
        words = "history " + str(folder / "run.json")
    done = dualread("gate", green_report, "--history", folder, "--require-green-days", "3")
    one_error_line(done, words)


# -- formats and CI integration -------------------------------------------------------------------


def test_markdown_format_and_step_summary(tmp_path: Path) -> None:
    path = save(tmp_path / "r.json", make(check("a|b", "failed", message="x | y"), *GREEN))
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    done = dualread("gate", path, "--format", "md", env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert done.returncode == 1
    assert done.stdout.startswith("## ❌ dual-read gate: FAIL")
    assert "| all | 4 | 3 | 1 | 0 | 0 |" in done.stdout
    assert "| `a\\|b` | dto | failed | yes | x \\| y |" in done.stdout
    written = summary.read_text()
    assert written.startswith("earlier step\n## ❌ dual-read gate: FAIL")


def test_json_format(green_report: Path) -> None:
    done = dualread("gate", green_report, "--format", "json")
    data = json.loads(done.stdout)
    assert data["status"] == "pass"
    assert data["exit_code"] == 0 == done.returncode
    assert data["summary"]["total"] == 3
    assert data["baseline"] is None


def test_annotations_are_escaped_workflow_commands(tmp_path: Path) -> None:
    path = save(
        tmp_path / "r.json",
        make(
            check("a", "failed", message="100% off\nsecond line", nodeid="tests/t,1.py::a"),
            check("b", "failed", triage="legacy_drift"),
            check("c", "error", message="legacy down"),
        ),
    )
    done = dualread("gate", path, "--annotations")
    lines = [line for line in done.stdout.splitlines() if line.startswith("::")]
    cases = "file=fixtures/dual_read/cases.json"
    assert lines == [
        "::error file=tests/t%2C1.py,title=dual-read dto check failed::a: 100%25 off%0Asecond line",
        f"::warning {cases},title=dual-read dto check failed::b: failed",
        f"::error {cases},title=dual-read dto check error::c: legacy down",
    ]


# -- merge ----------------------------------------------------------------------------------------


def shards(tmp_path: Path, second: Sequence[Check] = (check("b"),), **kw: Any) -> list[Path]:
    one = save(
        tmp_path / "shard-1.json",
        make(check("c"), check("a"), started=datetime(2026, 11, 14, 10, tzinfo=timezone.utc)),
    )
    two = save(
        tmp_path / "shard-2.json",
        make(*second, started=datetime(2026, 11, 14, 9, tzinfo=timezone.utc), **kw),
    )
    return [one, two]


def test_merge_writes_a_sorted_report_the_gate_accepts(tmp_path: Path) -> None:
    out = tmp_path / "merged" / "report.json"
    done = dualread("merge", *shards(tmp_path), "-o", out, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"merged 2 reports (3 checks, complete) into {out}; verdict pass" in done.stdout
    merged = load_report(out)
    assert [c.id for c in merged.checks] == ["a", "b", "c"]
    assert merged.run.started_at == datetime(2026, 11, 14, 9, tzinfo=timezone.utc)
    assert merged.run.finished_at == datetime(2026, 11, 14, 10, 1, tzinfo=timezone.utc)
    assert dualread("gate", out, cwd=tmp_path).returncode == 0


def test_merge_recomputes_the_verdict_under_the_policy(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    files = shards(tmp_path, second=(check("b", "failed"),))
    assert dualread("merge", *files, "-o", out, cwd=tmp_path).returncode == 0
    assert load_report(out).verdict.status == "fail"
    (tmp_path / "pyproject.toml").write_text("[tool.dualread.gate]\nallowed_failures = 1\n")
    assert dualread("merge", *files, "-o", out, cwd=tmp_path).returncode == 0
    assert load_report(out).verdict.status == "pass"


def test_merge_refuses_duplicates_naming_the_id_and_both_files(tmp_path: Path) -> None:
    files = shards(tmp_path, second=(check("a"),))
    out = tmp_path / "out.json"
    done = dualread("merge", *files, "-o", out, cwd=tmp_path)
    one_error_line(done, "duplicate check 'a'", str(files[0]), str(files[1]))
    assert not out.exists()


def test_merge_refuses_other_configs_unless_forced(tmp_path: Path) -> None:
    files = shards(tmp_path, config_hash="sha256:other")
    out = tmp_path / "out.json"
    one_error_line(dualread("merge", *files, "-o", out, cwd=tmp_path), "config_hash", "--force")
    done = dualread("merge", *files, "-o", out, "--force", cwd=tmp_path)
    assert done.returncode == 0
    assert load_report(out).run.config_hash == "sha256:abc+sha256:other"


def test_merged_incomplete_shard_cannot_pass_the_gate(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    files = shards(tmp_path, complete=False)
    done = dualread("merge", *files, "-o", out, cwd=tmp_path)
    assert done.returncode == 0
    assert "INCOMPLETE" in done.stdout
    one_error_line(dualread("gate", out, cwd=tmp_path), "run.complete is false")


def test_merge_of_a_truncated_shard_exits_2(tmp_path: Path) -> None:
    files = shards(tmp_path)
    files[1].write_text(files[1].read_text()[:50])
    one_error_line(dualread("merge", *files, "-o", tmp_path / "o.json"), str(files[1]), "truncated")


def test_merge_needs_an_output(tmp_path: Path) -> None:
    one_error_line(dualread("merge", *shards(tmp_path)), "-o/--output")


def test_the_cli_never_imports_pytest_or_playwright() -> None:
    code = (
        "import sys\n"
        "from pytest_dualread import cli, gate, html, report\n"
        "cli.build_parser()\n"
        "banned = ('pytest', '_pytest', 'playwright')\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in banned)\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_gate_and_merge_leave_the_session_s_libraries_unimported(tmp_path: Path) -> None:
    # What a CI job pays before judging: no settings loader (and its asyncio), nothing that
    # fetches, diffs, draws or renders HTML.
    files = [str(f) for f in shards(tmp_path)]
    code = (
        "import sys\n"
        "from pytest_dualread.cli import main\n"
        f"assert main(['merge', *{files!r}, '-o', 'merged.json']) == 0\n"
        "assert main(['gate', '--format', 'json', 'merged.json']) in (0, 1)\n"
        "heavy = ('pydantic_settings', 'asyncio', 'deepdiff', 'httpx',\n"
        "         'numpy', 'PIL', 'playwright', 'jinja2', 'pytest_dualread.config',\n"
        "         'pytest_dualread.html', 'pytest_dualread.charts')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
