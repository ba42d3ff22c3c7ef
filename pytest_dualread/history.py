"""Earlier runs beside this one, for the HTML report's pictures of history.

:func:`load_history` reads a folder of earlier reports (``*.json``, recursive, as ``dualread gate
--history`` does); :func:`history_view` puts the last runs and this one side by side: a strip
of pass / fail, and per field (the run's most differing) and per page a sparkline of the worst
delta or mismatch ratio.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pytest_dualread.report import Report, VisualData, load_report

__all__ = ["HISTORY_RUNS", "HistoryView", "Sparkline", "history_view", "load_history"]

HISTORY_RUNS = 20
"""How many runs the history shows, this one included."""
_LINES = 10


@dataclass(frozen=True)
class Sparkline:
    label: str
    svg: str
    last: str
    """The value of this run, for people."""


@dataclass(frozen=True)
class HistoryView:
    strip: str
    runs: int
    passed: int
    fields: list[Sparkline]
    pages: list[Sparkline]


def load_history(directory: Path) -> list[Report]:
    """Every report under ``directory``, oldest first. A file that is not a report stops it:
    :class:`~pytest_dualread.errors.ReportError` names the file."""
    from pytest_dualread.errors import ReportError

    if not directory.is_dir():
        raise ReportError("no such directory of earlier reports", path=directory, reason="missing")
    reports = [load_report(path) for path in sorted(directory.rglob("*.json")) if path.is_file()]
    return sorted(reports, key=_started)


def _started(report: Report) -> datetime:
    moment = report.run.started_at
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def history_view(report: Report, earlier: Sequence[Report]) -> HistoryView:
    """The last runs ending with ``report``: a pass / fail strip and sparklines."""
    from pytest_dualread.charts import sparkline, strip

    runs = [*earlier[-(HISTORY_RUNS - 1) :], report]
    squares = [
        (r.verdict.status, f"{r.run.started_at:%Y-%m-%d %H:%M} {r.verdict.status}", "")
        for r in runs
    ]
    fields = _telling_fields(report)
    field_lines = []
    for comparison, pattern in fields:
        values = [_field_delta(r, comparison, pattern) for r in runs]
        label = pattern if comparison == "adapter_vs_legacy" else f"{pattern} ({comparison})"
        field_lines.append(_line(label, values, sparkline, lambda v: f"{v:.6g}"))
    pages = [c.id for c in report.checks if isinstance(c.data, VisualData)][:_LINES]
    page_lines = [
        _line(page, [_page_ratio(r, page) for r in runs], sparkline, lambda v: f"{v:.3%}")
        for page in pages
    ]
    return HistoryView(
        strip=strip(squares, f"the last {len(runs)} runs, oldest first"),
        runs=len(runs),
        passed=sum(r.verdict.status == "pass" for r in runs),
        fields=field_lines,
        pages=page_lines,
    )


def _telling_fields(report: Report) -> list[tuple[str, str]]:
    """The run's most differing fields, each once: adapter vs legacy where it moved there."""
    chosen: dict[str, str] = {}
    for f in report.fields:
        if f.checks_moved and (f.pattern not in chosen or f.comparison == "adapter_vs_legacy"):
            chosen[f.pattern] = f.comparison
    return [(comparison, pattern) for pattern, comparison in chosen.items()][:_LINES]


def _line(
    label: str,
    values: list[float | None],
    draw: Callable[[Sequence[float | None], str], str],
    shown: Callable[[float], str],
) -> Sparkline:
    last = values[-1]
    text = "—" if last is None else shown(last)
    return Sparkline(label, draw(values, f"{label}: worst per run"), text)


def _field_delta(report: Report, comparison: str, pattern: str) -> float | None:
    for f in report.fields:
        if f.comparison == comparison and f.pattern == pattern:
            return f.max_delta if f.max_delta is not None else 0.0
    return 0.0 if report.fields else None


def _page_ratio(report: Report, check_id: str) -> float | None:
    for check in report.checks:
        if check.id == check_id and isinstance(check.data, VisualData):
            return check.data.mismatch_ratio
    return None
