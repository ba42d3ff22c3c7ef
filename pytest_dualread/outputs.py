"""Everything written when a run ends, from its report: one registry.

An output is one function taking the report and where things go, returning the file it wrote
(or ``None`` when it is not wanted this run); a new output is that function and one entry in
:data:`OUTPUTS`. The JSON report comes first: the other outputs are views of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pytest_dualread.report import Report

__all__ = ["OUTPUTS", "OutputPlan", "write_outputs"]


@dataclass(frozen=True)
class OutputPlan:
    """Where a run's outputs go."""

    report: Path
    """report.json."""
    output_dir: Path
    """The output folder (report.html, artifacts/)."""
    metrics: Path | None = None
    """``--dual-read-metrics``: Prometheus metrics, when asked for."""


def _json(report: Report, plan: OutputPlan) -> Path:
    from pytest_dualread.report import write_report

    write_report(report, plan.report)
    return plan.report


def _html(report: Report, plan: OutputPlan) -> Path:
    from pytest_dualread.html import write_html

    path = plan.output_dir / "report.html"
    write_html(report, path, base_dir=plan.output_dir)
    return path


def _metrics(report: Report, plan: OutputPlan) -> Path | None:
    if plan.metrics is None:
        return None
    from pytest_dualread.metrics import write_metrics

    write_metrics(report, plan.metrics, env_name=None)
    return plan.metrics


OUTPUTS: dict[str, Callable[[Report, OutputPlan], Path | None]] = {
    "report": _json,
    "html": _html,
    "metrics": _metrics,
}


def write_outputs(report: Report, plan: OutputPlan) -> dict[str, Path]:
    """Write every registered output; the files written, by output name."""
    written: dict[str, Path] = {}
    for name, write in OUTPUTS.items():
        path = write(report, plan)
        if path is not None:
            written[name] = path
    return written
