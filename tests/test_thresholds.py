"""``dualread thresholds suggest``: median + k·IQR from a generated history, dry run and --apply."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import synthetic_report

from pytest_dualread.report import (
    Check,
    Report,
    write_report,
)

PYPROJECT = """\
[project]
name = "meal-log"

[tool.dualread]
cases_dir = "fixtures/dual_read"  # the case files

[tool.dualread.dto.tolerances]
# Energy: the v2 store rounds per item.
"**.kcal" = { abs = 80 }   # agreed with the nutrition team
"**.protein_g" = { abs = 1 }
"**.total_kcal" = { rel = 0.18 }

[tool.dualread.gate]
min_checks = 1
"""

# Five runs of kcal deltas: all together 2, 4, 4, 5, 7, 9, 10, 12 (and protein 1, 2, 3, 4).
KCAL_RUNS = [[2, 4], [4], [5, 7], [9, 10], [12]]
PROTEIN_RUNS = [[1], [2], [3], [4], []]


def dualread(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DUALREAD_")}
    return subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        env=env,
    )


def headroom(deltas: list[float], limit: float) -> dict[str, object]:
    return {
        "count": len(deltas),
        "max_delta": max(deltas, default=0.0),
        "max_headroom": max(deltas, default=0.0) / limit,
        "deltas": deltas,
    }


def run(day: int, kcal: list[float], protein: list[float], complete: bool = True) -> Report:
    data = {"headroom": {"**.kcal": headroom(kcal, 80)}}
    if protein:
        data["headroom"]["**.protein_g"] = headroom(protein, 1)
    checks = [
        Check(id="cases/log-42", nodeid="fixtures/dual_read/meals.json::log-42", kind="dto",
              outcome="passed", data=data),
    ]  # fmt: skip
    started = datetime(2026, 11, day, 6, tzinfo=timezone.utc)
    return synthetic_report(checks, started=started, run_minutes=1, complete=complete)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    for day, (kcal, protein) in enumerate(zip(KCAL_RUNS, PROTEIN_RUNS, strict=True), start=1):
        write_report(run(day, kcal, protein), tmp_path / "history" / f"day-{day}.json")
    # An interrupted run's figures are left out.
    write_report(run(9, [500], [500], complete=False), tmp_path / "history" / "broken.json")
    return tmp_path


def test_dry_run_prints_current_proposed_and_why(project: Path) -> None:
    before = (project / "pyproject.toml").read_text()
    done = dualread("thresholds", "suggest", "history", cwd=project)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    # kcal: Q1 4, median 6, Q3 9.25 (inclusive quartiles), so 6 + 1.5 * 5.25 = 13.875
    assert "**.kcal: current { abs = 80 }, proposed abs = 13.875\n" in out
    assert "8 samples; median 6 + 1.5 x IQR 5.25 = 13.875" in out
    # protein: Q1 1.75, median 2.5, Q3 3.25, so 2.5 + 1.5 * 1.5 = 4.75: looser than 1
    assert "**.protein_g: current { abs = 1 }, proposed abs = 4.75  LOOSER" in out
    assert "dualread: warning: **.protein_g: proposed abs 4.75 is LOOSER than the current 1" in (
        done.stderr
    )
    assert "**.total_kcal: current { rel = 0.18 }, proposed -" in out
    assert "0 samples; fewer than --min-samples 3" in out
    assert "skipped incomplete report history/broken.json" in out
    assert "dry run: nothing written" in out
    assert (project / "pyproject.toml").read_text() == before


def test_k_and_floor_change_the_proposal(project: Path) -> None:
    done = dualread(
        "thresholds", "suggest", "history", "--k", "0", "--floor-abs", "15", cwd=project
    )
    assert "**.kcal: current { abs = 80 }, proposed abs = 15\n" in done.stdout
    assert "raised to the floor 15" in done.stdout


def test_apply_rewrites_tolerances_keeping_comments(project: Path) -> None:
    files = sorted((project / "history").glob("day-*.json"))
    done = dualread("thresholds", "suggest", *files, "--apply", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "applied 1 change to" in done.stdout
    assert "not applied (looser; pass --allow-looser to apply): **.protein_g" in done.stdout
    expected = PYPROJECT.replace("{ abs = 80 }   # agreed", "{ abs = 13.875 }   # agreed")
    assert (project / "pyproject.toml").read_text() == expected

    again = dualread("thresholds", "suggest", "history", "--apply", "--allow-looser", cwd=project)
    assert again.returncode == 0
    text = (project / "pyproject.toml").read_text()
    assert '"**.protein_g" = { abs = 4.75 }\n' in text
    assert "# Energy: the v2 store rounds per item." in text
    assert 'cases_dir = "fixtures/dual_read"  # the case files' in text


def test_apply_keeps_the_mode_of_pyproject(project: Path) -> None:
    pyproject = project / "pyproject.toml"
    pyproject.chmod(0o640)
    done = dualread("thresholds", "suggest", "history", "--apply", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "{ abs = 13.875 }" in pyproject.read_text()
    assert pyproject.stat().st_mode & 0o777 == 0o640


def test_apply_writes_whole_numbers_as_integers(project: Path) -> None:
    done = dualread("thresholds", "suggest", "history", "--k", "0", "--apply", cwd=project)
    assert done.returncode == 0
    # median 6 with k = 0, raised to the largest kcal delta seen, 12
    assert '"**.kcal" = { abs = 12 }   # agreed' in (project / "pyproject.toml").read_text()


def test_apply_with_a_separate_config(project: Path, tmp_path: Path) -> None:
    config = project / "sub" / "pyproject.toml"
    config.parent.mkdir()
    config.write_text('[tool.dualread.dto]\ntolerances = { "**.kcal" = { abs = 80 } }\n')
    done = dualread("thresholds", "suggest", "history", "--config", config, "--apply", cwd=project)
    assert done.returncode == 0, done.stderr
    assert config.read_text() == (
        '[tool.dualread.dto]\ntolerances = { "**.kcal" = { abs = 13.875 } }\n'
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("nothing-here",), "no such report file"),
        (("history", "--min-samples", "1"), "--min-samples: expected a number >= 2"),
        (("history", "--k", "-1"), "expected a finite number >= 0"),
        (("history", "--config", "none.toml"), "--config none.toml: no such file"),
    ],
)
def test_bad_input_exits_2(project: Path, args: tuple[str, ...], words: str) -> None:
    done = dualread("thresholds", "suggest", *args, cwd=project)
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert words in done.stderr


def test_bad_tolerance_in_pyproject_exits_2(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.dualread.dto.tolerances]\n"**.kcal" = { absolute = 80 }\n'
    )
    done = dualread("thresholds", "suggest", "history", cwd=project)
    assert done.returncode == 2
    assert "tool.dualread.dto.tolerances.'**.kcal'" in done.stderr


def test_thresholds_needs_an_action(project: Path) -> None:
    done = dualread("thresholds", cwd=project)
    assert done.returncode == 2
    assert "the following arguments are required: ACTION" in done.stderr
