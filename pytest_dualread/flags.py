"""The pytest flags of pytest-dualread: one table, read by ``plugin.pytest_addoption``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import pytest

from pytest_dualread.shard import parse_shard

__all__ = ["FLAGS", "add_options", "refuse_unknown_flags"]


def _percent(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number <= 100:
        raise argparse.ArgumentTypeError(
            f"expected a percentage between 0 (exclusive) and 100, got {value!r}"
        )
    return number


def _fetches(value: str) -> int:
    if not value.isdigit() or not 2 <= int(value) <= 100:
        raise argparse.ArgumentTypeError(
            f"expected a number of fetches from 2 to 100, got {value!r}"
        )
    return int(value)


FLAGS: tuple[tuple[str, dict[str, Any], str], ...] = (
    (
        "--dual-read-output",
        {"metavar": "DIR"},
        "Folder for report.json, report.html and artifacts/ (default: dual-read-results).",
    ),
    (
        "--dual-read-report",
        {"metavar": "PATH"},
        "Where to write the JSON report (default: <output>/report.json).",
    ),
    (
        "--dual-read-legacy-url",
        {"metavar": "URL"},
        "Legacy target: an http(s) URL or 'module:app'; overrides legacy_url.",
    ),
    (
        "--dual-read-adapter-url",
        {"metavar": "URL"},
        "Adapter target: an http(s) URL or 'module:app'; overrides adapter_url.",
    ),
    (
        "--dual-read-sample",
        {"metavar": "PCT", "type": _percent},
        "Run a deterministic PCT %% of dual-read items (chosen by a hash of their id).",
    ),
    (
        "--dual-read-metrics",
        {"metavar": "PATH"},
        "Also write Prometheus metrics of the run to PATH (labelled with $METRIC_ENV).",
    ),
    (
        "--dual-read-shard",
        {"metavar": "K/N", "type": parse_shard},
        "Run the K-th of N shards of the dual-read items, deselecting the others; the report "
        "is <output>/report-K-of-N.json (join shards with 'dualread merge').",
    ),
    (
        "--dual-read-durations",
        {"metavar": "REPORT"},
        "With --dual-read-shard: balance the shards by the durations in REPORT, an earlier "
        "run's report (default: a stable hash of each item's id).",
    ),
    (
        "--dual-read-calibrate",
        {"metavar": "N", "type": _fetches},
        "A/A calibration: fetch each case's legacy side (render each page) N times, compare "
        "it with itself, propose ignore rules, tolerances and masks; nothing is judged.",
    ),
    (
        "--dual-read-calibrate-apply",
        {"action": "store_true"},
        "With --dual-read-calibrate: merge the proposal into pyproject.toml (comments kept).",
    ),
    (
        "--dual-read-artifacts",
        {"choices": ("all", "failed", "none")},
        "Which checks keep diff artifacts (default: failed).",
    ),
)


def add_options(parser: pytest.Parser) -> None:
    """The ``dual-read`` group of pytest flags; a new flag is one entry of :data:`FLAGS`."""
    group = parser.getgroup("dual-read", "dual-read checks (pytest-dualread)")
    group.addoption(
        "--dual-read",
        action="store_true",
        dest="dual_read",
        default=False,
        help="Run dual-read checks and write the gate report; without it they are skipped.",
    )
    for flag, extra, text in FLAGS:
        group.addoption(flag, dest=flag[2:].replace("-", "_"), default=None, help=text, **extra)


def refuse_unknown_flags(args: Sequence[str]) -> None:
    """A ``--dual-read...`` argument that is no flag of ours is a usage error that says which
    flag was meant (pytest's own error would only call it unrecognized)."""
    from pytest_dualread.errors import closest

    known = ["--dual-read", *(flag for flag, _, _ in FLAGS)]
    for arg in args:
        if arg == "--":
            return
        name = arg.split("=", 1)[0]
        if name.startswith(("--dual-read", "--dualread", "--dual_read")) and name not in known:
            meant = closest(name, known)
            hint = f"; did you mean {meant}?" if meant else f"; the flags are {', '.join(known)}"
            raise pytest.UsageError(f"pytest-dualread: unknown flag {name}{hint}")
