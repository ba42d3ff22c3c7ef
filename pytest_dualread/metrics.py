"""Prometheus metrics of a run, for a node-exporter textfile collector (the ``metrics`` extra).

:func:`write_metrics` writes the Prometheus text exposition format through prometheus_client's
:func:`~prometheus_client.write_to_textfile` (a temporary file renamed into place, so the
collector never reads half a file), from a registry of its own (never the global one). Every
series carries an ``env`` label: the ``env_name`` given, else the ``METRIC_ENV`` environment
variable, else ``unknown``.

=====================================  =========  ============================================
metric                                 type       labels and meaning
=====================================  =========  ============================================
``dualread_checks``                    gauge      ``kind``, ``outcome``: checks of the run
``dualread_verdict_pass``              gauge      1 when the recorded verdict is pass, else 0
``dualread_run_complete``              gauge      1 when the run is complete, else 0
``dualread_run_started_timestamp_seconds``  gauge  start of the run (Unix time)
``dualread_run_duration_seconds``      gauge      wall time of the run
``dualread_field_abs_diff``            histogram  ``field``: DTO findings' absolute deltas by
                                                  canonical path
``dualread_rule_abs_diff``             histogram  ``rule``: deltas recorded per tolerance rule
                                                  (``check.data["headroom"]``)
``dualread_page_mismatch_ratio``       gauge      ``page``, ``comparison``: share of differing
                                                  pixels per visual check
=====================================  =========  ============================================
"""

from __future__ import annotations

import math
import os
from datetime import timezone
from pathlib import Path
from typing import get_args

from pytest_dualread.extras import require
from pytest_dualread.gate import finite_number
from pytest_dualread.report import Check, CheckKind, DtoData, Outcome, Report, VisualData

__all__ = ["ABS_DIFF_BUCKETS", "ENV_VARIABLE", "write_metrics"]

ENV_VARIABLE = "METRIC_ENV"
"""Where the environment name comes from when none is given."""

ABS_DIFF_BUCKETS = (0.0, 0.01, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0,
                    1000.0, math.inf)  # fmt: skip
"""Upper bounds of the absolute-difference histograms (units of the field: kcal, grams, ...)."""


def _page_ratios(check: Check) -> dict[str, float]:
    """Mismatch ratio per comparison of a visual check (``all`` when not split)."""
    data = check.data if isinstance(check.data, VisualData) else None
    if data is not None and data.comparisons:
        return {c.name: c.mismatch_ratio for c in data.comparisons}
    if data is not None and data.mismatch_ratio is not None:
        return {"all": data.mismatch_ratio}
    worst: dict[str, float] = {}
    for finding in check.findings:
        delta = finite_number(finding.delta)
        if finding.category == "pixels" and delta is not None:
            worst[finding.comparison] = max(worst.get(finding.comparison, delta), delta)
    return worst


def write_metrics(report: Report, path: Path, *, env_name: str | None) -> None:
    """Write the metrics of ``report`` to ``path`` (a ``.prom`` file) atomically.

    Needs the ``metrics`` extra (prometheus-client); without it raises
    :class:`~pytest_dualread.extras.MissingExtra` before writing anything.
    """
    require("metrics")
    from prometheus_client import CollectorRegistry, Gauge, Histogram, write_to_textfile

    env = env_name or os.environ.get(ENV_VARIABLE) or "unknown"
    registry = CollectorRegistry(auto_describe=True)
    checks = Gauge(
        "dualread_checks",
        "Checks of the dual-read run by kind and outcome.",
        ["env", "kind", "outcome"],
        registry=registry,
    )
    kinds: tuple[str, ...] = get_args(CheckKind)
    outcomes: tuple[str, ...] = get_args(Outcome)
    counts = {(k, o): 0 for k in kinds for o in outcomes}
    for check in report.checks:
        counts[(check.kind, check.outcome)] += 1
    for (kind, outcome), count in counts.items():
        checks.labels(env, kind, outcome).set(count)

    def gauge(name: str, doc: str, value: float) -> None:
        Gauge(name, doc, ["env"], registry=registry).labels(env).set(value)

    gauge(
        "dualread_verdict_pass",
        "1 when the run's verdict is pass.",
        report.verdict.status == "pass",
    )
    gauge("dualread_run_complete", "1 when the run is complete.", report.run.complete)
    started = report.run.started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=timezone.utc)
    gauge("dualread_run_started_timestamp_seconds", "Start of the run.", started.timestamp())
    gauge("dualread_run_duration_seconds", "Wall time of the run.", report.run.duration_s)

    fields = Histogram(
        "dualread_field_abs_diff",
        "Absolute differences of DTO findings by field path.",
        ["env", "field"],
        buckets=ABS_DIFF_BUCKETS,
        registry=registry,
    )
    rules = Histogram(
        "dualread_rule_abs_diff",
        "Absolute differences recorded per tolerance rule.",
        ["env", "rule"],
        buckets=ABS_DIFF_BUCKETS,
        registry=registry,
    )
    pages = Gauge(
        "dualread_page_mismatch_ratio",
        "Share of differing pixels per page and comparison.",
        ["env", "page", "comparison"],
        registry=registry,
    )
    for check in report.checks:
        if check.kind == "dto":
            for finding in check.findings:
                delta = finite_number(finding.delta)
                if delta is not None and finding.category != "pixels":
                    fields.labels(env, finding.path).observe(abs(delta))
            headroom = check.data.headroom if isinstance(check.data, DtoData) else {}
            for rule, entry in headroom.items():
                for delta in entry.deltas:
                    rules.labels(env, rule).observe(abs(delta))
        else:
            page = check.data.page if isinstance(check.data, VisualData) else None
            name = page or check.id
            for comparison, ratio in sorted(_page_ratios(check).items()):
                pages.labels(env, name, comparison).set(ratio)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)
