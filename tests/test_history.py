"""`dualread html --history DIR`: earlier runs as a strip of runs and sparklines per field and
page, read from real report files by the real command."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from conftest import synthetic_report

from pytest_dualread.report import Check, FieldStats, Report, write_report

START = datetime(2026, 11, 1, tzinfo=timezone.utc)


def run_of(day: int, fat: float, ratio: float, status: str) -> Report:
    page = Check.model_validate(
        {
            "id": "pages/dashboard",
            "nodeid": "pyproject.toml::dashboard",
            "kind": "visual",
            "outcome": "failed" if status == "fail" else "passed",
            "data": {"mismatch_ratio": ratio},
        }
    )
    report = synthetic_report([page], started=START + timedelta(days=day), status=status)  # type: ignore[arg-type]
    fields = [
        FieldStats(
            pattern="meals[*].fat_g", comparison="adapter_vs_legacy", checks_moved=1, max_delta=fat
        )
    ]
    return report.model_copy(update={"fields": fields})


def html(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", "html", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_history_draws_a_strip_of_runs_and_sparklines(tmp_path: Path) -> None:
    earlier = tmp_path / "history"
    for day, (fat, status) in enumerate([(0.1, "pass"), (0.2, "pass"), (4.5, "fail")]):
        earlier.joinpath(f"{day % 2}").mkdir(parents=True, exist_ok=True)
        write_report(run_of(day, fat, fat / 100, status), earlier / f"{day % 2}" / f"run{day}.json")
    current = tmp_path / "report.json"
    write_report(run_of(9, 40.5, 0.01, "fail"), current)
    out = tmp_path / "report.html"
    done = html(current, "-o", out, "--history", earlier)
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    strip = re.search(r'<div class="history" id="history-strip">(.*?)</div>', text, re.S)
    assert strip is not None
    colours = re.findall(r'fill="(#[0-9a-f]{6})"><title>([^<]*)</title>', strip.group(1))
    assert [(c, t[:10]) for c, t in colours] == [
        ("#1a7f37", "2026-11-01"),
        ("#1a7f37", "2026-11-02"),
        ("#cf222e", "2026-11-03"),
        ("#cf222e", "2026-11-10"),
    ], "oldest first, green passes and red failures, this run last"
    assert "2 of the last 4 runs passed" in text
    lines = re.findall(r'<tr><td class="mono">([^<]*)</td><td>(<svg.*?</svg>)</td>', text)
    assert [label for label, _ in lines] == ["meals[*].fat_g", "pages/dashboard"]
    assert all("<polyline" in svg for _, svg in lines)


def test_a_history_file_that_is_not_a_report_is_named(tmp_path: Path) -> None:
    earlier = tmp_path / "history"
    earlier.mkdir()
    (earlier / "notes.json").write_text('{"hello": 1}')
    current = tmp_path / "report.json"
    write_report(run_of(1, 1.0, 0.0, "pass"), current)
    done = html(current, "-o", tmp_path / "r.html", "--history", earlier)
    assert done.returncode == 2
    assert "notes.json" in done.stderr
    assert "not a pytest-dualread report" in done.stderr
    assert not (tmp_path / "r.html").exists()
