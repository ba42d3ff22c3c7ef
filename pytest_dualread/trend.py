"""The weekly trend of a history: per day the pass rate, per field the worst delta and its share
of the tolerance, per page the worst mismatch ratio, and what moved most since the window before.

A run belongs to the UTC day its run started (:func:`~pytest_dualread.gate.run_day`); only
complete runs count. The window is the ``days`` days ending ``today``; the previous window the
``days`` days before it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from pytest_dualread.config import GateSettings
from pytest_dualread.gate import evaluate_report, finite_number, run_day
from pytest_dualread.report import Report, VisualData
from pytest_dualread.rollout import MAIN_COMPARISON, Run

__all__ = ["Trend", "build_trend", "trend_json", "trend_markdown"]

TOP_MOVES = 10
"""How many of the largest moves the trend lists."""


@dataclass
class Worst:
    """The worst figure of one field or page over a window."""

    name: str
    value: float
    share: float | None = None
    """For a field: the worst delta's share of its tolerance (1.0 = at the limit)."""


@dataclass
class Trend:
    """What :func:`build_trend` found."""

    start: date
    end: date
    days: list[dict[str, Any]] = field(default_factory=list)
    fields: list[Worst] = field(default_factory=list)
    pages: list[Worst] = field(default_factory=list)
    moved: list[dict[str, Any]] = field(default_factory=list)


def _worst_fields(reports: Sequence[Report]) -> dict[str, Worst]:
    out: dict[str, Worst] = {}
    for report in reports:
        for stats in report.fields:
            value = finite_number(stats.max_delta)
            if stats.comparison != MAIN_COMPARISON or value is None:
                continue
            best = out.get(stats.pattern)
            share = finite_number(stats.max_share)
            if best is None or value > best.value:
                out[stats.pattern] = Worst(stats.pattern, value, share)
            elif share is not None and (best.share or 0.0) < share:
                best.share = share
    return out


def _worst_pages(reports: Sequence[Report]) -> dict[str, Worst]:
    out: dict[str, Worst] = {}
    for report in reports:
        for check in report.checks:
            data = check.data
            if not isinstance(data, VisualData):
                continue
            ratio = finite_number(data.mismatch_ratio)
            name = data.page or check.id
            if ratio is not None and (name not in out or ratio > out[name].value):
                out[name] = Worst(name, ratio)
    return out


def _in_window(runs: Sequence[Run], first: date, last: date) -> list[Run]:
    return [r for r in runs if r[1].run.complete and first <= run_day(r[1]) <= last]


def build_trend(runs: Sequence[Run], policy: GateSettings, *, today: date, days: int) -> Trend:
    """The trend of ``runs`` over the ``days`` days ending ``today``."""
    start = today - timedelta(days=days - 1)
    window = _in_window(runs, start, today)
    before = _in_window(runs, start - timedelta(days=days), start - timedelta(days=1))
    trend = Trend(start, today)
    for offset in range(days):
        day = start + timedelta(days=offset)
        of_day = [r for _, r in window if run_day(r) == day]
        passed = sum(evaluate_report(r, policy).status == "pass" for r in of_day)
        rate = passed / len(of_day) if of_day else None
        trend.days.append({"day": day.isoformat(), "runs": len(of_day), "pass_rate": rate})
    now = [r for _, r in window]
    then = [r for _, r in before]
    worst_fields, worst_pages = _worst_fields(now), _worst_pages(now)
    trend.fields = sorted(worst_fields.values(), key=lambda w: (-(w.share or 0), -w.value))
    trend.pages = sorted(worst_pages.values(), key=lambda w: -w.value)
    old = {**_keyed("field", _worst_fields(then)), **_keyed("page", _worst_pages(then))}
    new = {**_keyed("field", worst_fields), **_keyed("page", worst_pages)}
    moves: list[dict[str, Any]] = [
        {"kind": k[0], "name": k[1], "before": old.get(k), "now": new.get(k)}
        for k in sorted(set(old) | set(new))
        if old.get(k) != new.get(k)
    ]
    moves.sort(key=lambda m: -abs((m["now"] or 0.0) - (m["before"] or 0.0)))
    trend.moved = moves[:TOP_MOVES]
    return trend


def _keyed(kind: str, worst: dict[str, Worst]) -> dict[tuple[str, str], float]:
    return {(kind, name): w.value for name, w in worst.items()}


def trend_json(trend: Trend) -> str:
    """The trend as JSON."""
    data = asdict(trend)
    data["start"], data["end"] = trend.start.isoformat(), trend.end.isoformat()
    return json.dumps(data, indent=2) + "\n"


def _num(value: float | None, pattern: str = "{:.6g}") -> str:
    return "-" if value is None else pattern.format(value)


def trend_markdown(trend: Trend) -> str:
    """The trend as Markdown, for a pull request or a wiki page."""
    lines = [f"# dual-read trend {trend.start} to {trend.end}", ""]
    lines += ["| day | runs | pass rate |", "|---|---:|---:|"]
    lines += [
        f"| {d['day']} | {d['runs']} | {_num(d['pass_rate'], '{:.0%}')} |" for d in trend.days
    ]
    lines += ["", "## Fields (worst delta, adapter vs legacy)", ""]
    lines += ["| field | worst delta | share of tolerance |", "|---|---:|---:|"]
    lines += [f"| `{w.name}` | {_num(w.value)} | {_num(w.share, '{:.0%}')} |" for w in trend.fields]
    if not trend.fields:
        lines.append("| (no field moved) | | |")
    lines += ["", "## Pages (worst mismatch ratio)", ""]
    lines += ["| page | worst mismatch ratio |", "|---|---:|"]
    lines += [f"| {w.name} | {_num(w.value, '{:.4%}')} |" for w in trend.pages]
    if not trend.pages:
        lines.append("| (no page checked) | |")
    lines += ["", "## Moved most since the previous window", ""]
    lines += ["| kind | name | before | now |", "|---|---|---:|---:|"]
    lines += [
        f"| {m['kind']} | `{m['name']}` | {_num(m['before'])} | {_num(m['now'])} |"
        for m in trend.moved
    ]
    if not trend.moved:
        lines.append("| (nothing moved) | | | |")
    return "\n".join(lines) + "\n"
