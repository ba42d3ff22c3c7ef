"""Decisions from a history of runs: thresholds learned from every run, and baseline rotation.

A *history* is a folder of report.json files (searched recursively), ordered by the start of
their run. What a run says about a field is read by :func:`field_deltas` only, so the trend, the
chat summary and the threshold proposals read the same figures.

Warn and fail levels (:func:`suggest_levels`)
----------------------------------------------
Per tolerance rule, from the largest delta of every check in which a field under the rule moved
(``Report.fields``, passing checks included): the fail level is ``median + k · IQR`` raised to
the largest delta seen (:func:`~pytest_dualread.gate.suggest_thresholds`), the warn level is
``median + warn_k · IQR``, proposed only when it stays below the fail level.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from pytest_dualread.config import GateSettings, ToleranceSetting
from pytest_dualread.errors import DualReadError
from pytest_dualread.gate import (
    ThresholdSuggestion,
    evaluate_report,
    finite_number,
    quartiles,
    suggest_thresholds,
)
from pytest_dualread.report import Report

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+

__all__ = [
    "LevelSuggestion",
    "RolloutError",
    "Rotation",
    "field_deltas",
    "history_files",
    "load_history",
    "passing_runs",
    "plan_rotation",
    "rule_deltas",
    "suggest_levels",
]

Run = tuple[str, Report]
"""A run of a history: its file (relative to the history folder) and its report."""


class RolloutError(DualReadError):
    """A history, a baseline or an option the rollout commands cannot use (exit 2)."""


def history_files(directory: Path, option: str = "--history") -> list[Path]:
    """The report files of a history folder; :class:`RolloutError` naming the folder if none."""
    if not directory.is_dir():
        raise RolloutError(f"{option} {directory}: no such directory")
    files = sorted(p for p in directory.rglob("*.json") if p.is_file())
    if not files:
        raise RolloutError(f"{option} {directory}: no report files (*.json) in it")
    return files


def load_history(directory: Path, load: Callable[[Path], Report]) -> list[Run]:
    """Every report of ``directory``, oldest run first (``load`` names a bad file)."""
    runs = [(str(p.relative_to(directory)), load(p)) for p in history_files(directory)]
    return sorted(runs, key=lambda run: (_started(run[1]), run[0]))


def _started(report: Report) -> float:
    from datetime import timezone

    moment = report.run.started_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


# -- what a run says about its fields ------------------------------------------------------------

MAIN_COMPARISON = "adapter_vs_legacy"
"""The comparison a rollout is decided on: the adapter against what users see today."""


def field_deltas(report: Report) -> dict[str, list[float]]:
    """Per field pattern (``meals[*].kcal``), the largest delta of each check in which it moved
    between legacy and adapter, passing checks included. The one reading of per-field figures."""
    out: dict[str, list[float]] = {}
    for stats in report.fields:
        if stats.comparison != MAIN_COMPARISON:
            continue
        values = [v for v in map(finite_number, stats.deltas) if v is not None]
        if values:
            out.setdefault(stats.pattern, []).extend(values)
    return out


def _concrete(pattern: str) -> str:
    # A field pattern's [*] stands for any index: index 0 matches the same rules.
    return re.sub(r"\[\*\]", "[0]", pattern)


def rule_deltas(reports: Sequence[Report], rules: Mapping[str, object]) -> dict[str, list[float]]:
    """The deltas of :func:`field_deltas` over ``reports``, per configured tolerance rule (the
    most specific rule matching each field)."""
    from pytest_dualread.gate import _rule_of

    owners: dict[str, str | None] = {}
    out: dict[str, list[float]] = {}
    for report in reports:
        for pattern, values in field_deltas(report).items():
            if pattern not in owners:
                owners[pattern] = _rule_of(_concrete(pattern), rules)
            owner = owners[pattern]
            if owner is not None:
                out.setdefault(owner, []).extend(values)
    return out


# -- warn and fail levels ------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelSuggestion:
    """The fail level (``abs``) and, when it fits below, the warn level of one rule: ``fail``
    as ``thresholds suggest`` has always proposed it, ``warn_abs`` None when no level fits
    below the fail level."""

    fail: ThresholdSuggestion
    warn_abs: float | None

    @property
    def changes_warn(self) -> bool:
        current = self.fail.current
        return self.warn_abs is not None and (current is None or current.warn_abs != self.warn_abs)


class FailLevelOptions(TypedDict, total=False):
    """How the fail level is proposed: :func:`~pytest_dualread.gate.suggest_thresholds`'s
    keywords (its defaults apply to those left out)."""

    k: float
    min_samples: int
    floor_abs: float


def suggest_levels(
    deltas: Mapping[str, Sequence[float]],
    current: Mapping[str, ToleranceSetting],
    *,
    warn_k: float = 0.5,
    **fail_options: Unpack[FailLevelOptions],
) -> list[LevelSuggestion]:
    """Fail and warn levels per rule (see the module docs)."""
    from pytest_dualread.gate import _round_up

    out = []
    for fail in suggest_thresholds(deltas, current, **fail_options):
        warn = None
        if fail.proposed_abs is not None:
            q1, median, q3 = quartiles(sorted(deltas[fail.rule]))
            level = _round_up(median + warn_k * (q3 - q1))
            warn = level if level < fail.proposed_abs else None
        out.append(LevelSuggestion(fail, warn))
    return out


def passing_runs(runs: Sequence[Run], policy: GateSettings, *, include_failed: bool) -> list[Run]:
    """Complete runs of ``runs``; only those whose verdict passes unless ``include_failed``: a
    failing run's deltas are what the thresholds are there to stop, not what is normal."""
    kept = [run for run in runs if run[1].run.complete]
    if include_failed:
        return kept
    return [run for run in kept if evaluate_report(run[1], policy).status == "pass"]


# -- baseline rotation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rotation:
    """Whether the newest run of a history may become the baseline."""

    after: int
    """Passing runs required, newest first."""
    streak: list[Run]
    """The newest complete runs that passed, newest first (at most ``after``)."""
    broken_by: str | None
    """The run that broke the streak and why, when it is too short."""

    @property
    def eligible(self) -> bool:
        return len(self.streak) >= self.after

    @property
    def candidate(self) -> Run | None:
        return self.streak[0] if self.streak else None


def plan_rotation(runs: Sequence[Run], policy: GateSettings, after: int) -> Rotation:
    """Whether the last ``after`` complete runs of ``runs`` (oldest first) all passed."""
    streak: list[Run] = []
    broken_by = None
    for label, report in reversed([r for r in runs if r[1].run.complete]):
        verdict = evaluate_report(report, policy)
        if verdict.status != "pass":
            broken_by = f"{label} failed: {verdict.reasons[0] if verdict.reasons else 'fail'}"
            break
        streak.append((label, report))
        if len(streak) == after:
            break
    if len(streak) < after and broken_by is None:
        broken_by = f"the history holds only {len(streak)} complete runs"
    return Rotation(after, streak, broken_by)
