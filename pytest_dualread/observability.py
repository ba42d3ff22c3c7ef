"""A Grafana dashboard and Prometheus rules for the metrics of ``--dual-read-metrics``.

Built only from the series :mod:`pytest_dualread.metrics` writes (:data:`METRICS`): per-rule and
per-field absolute differences (histograms), page mismatch ratios, the verdict, completeness and
checks by outcome, every one labelled ``env``. Alert thresholds come from the configured
tolerances: per rule with an ``abs`` bound, the 99th percentile of its differences against
``warn_abs`` (severity ``warning``) and ``abs`` (``critical``); pages against the visual budget's
``warn_diff_ratio`` and ``max_diff_ratio``. The rules file is JSON, which is YAML too: Prometheus
and ``promtool check rules`` read it as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from pytest_dualread.config import ToleranceSetting, VisualSettings
from pytest_dualread.errors import ConfigError, validation_message
from pytest_dualread.files import write_atomic

__all__ = ["DASHBOARD_FILE", "METRICS", "RULES_FILE", "dashboard", "rules", "write_observability"]

METRICS = (
    "dualread_checks",
    "dualread_verdict_pass",
    "dualread_run_complete",
    "dualread_run_started_timestamp_seconds",
    "dualread_run_duration_seconds",
    "dualread_field_abs_diff",
    "dualread_rule_abs_diff",
    "dualread_page_mismatch_ratio",
)
"""The metric families of :func:`~pytest_dualread.metrics.write_metrics` (a test holds the two
together)."""

DASHBOARD_FILE = "dualread-dashboard.json"
RULES_FILE = "dualread-rules.yml"
_ENV = 'env=~"$env"'
_P99_RULE = "dualread:rule_abs_diff:p99"


def _label(value: str) -> str:
    """A PromQL string literal's content."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _panel(
    pid: int, title: str, expr: str, legend: str, y: int, unit: str = "short"
) -> dict[str, Any]:
    return {
        "id": pid,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "gridPos": {"h": 8, "w": 12, "x": 12 * ((pid - 1) % 2), "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"refId": "A", "expr": expr, "legendFormat": legend}],
    }


def _p99(metric: str, by: str) -> str:
    return f"histogram_quantile(0.99, sum by (le, {by}) (rate({metric}_bucket{{{_ENV}}}[1d])))"


def dashboard() -> dict[str, Any]:
    """The Grafana dashboard (schema 39), with ``datasource`` and ``env`` variables."""
    panels = [
        ("Verdict (1 = pass)", f"dualread_verdict_pass{{{_ENV}}}", "{{env}}", "short"),
        (
            "Checks by outcome",
            f"sum by (outcome) (dualread_checks{{{_ENV}}})",
            "{{outcome}}",
            "short",
        ),
        (
            "Per-field difference (p99)",
            _p99("dualread_field_abs_diff", "field"),
            "{{field}}",
            "short",
        ),
        (
            "Per-rule difference (p99)",
            _p99("dualread_rule_abs_diff", "rule"),
            "{{rule}}",
            "short",
        ),
        (
            "Page mismatch ratio",
            f"max by (page, comparison) (dualread_page_mismatch_ratio{{{_ENV}}})",
            "{{page}} {{comparison}}",
            "percentunit",
        ),
        ("Run duration", f"dualread_run_duration_seconds{{{_ENV}}}", "{{env}}", "s"),
    ]
    return {
        "title": "pytest-dualread",
        "uid": "pytest-dualread",
        "schemaVersion": 39,
        "tags": ["dualread"],
        "time": {"from": "now-30d", "to": "now"},
        "templating": {
            "list": [
                {"name": "datasource", "type": "datasource", "query": "prometheus"},
                {
                    "name": "env",
                    "type": "query",
                    "datasource": {"type": "prometheus", "uid": "${datasource}"},
                    "query": "label_values(dualread_verdict_pass, env)",
                    "includeAll": True,
                    "multi": True,
                    "refresh": 2,
                },
            ]
        },
        "panels": [
            _panel(i, title, expr, legend, 8 * ((i - 1) // 2), unit)
            for i, (title, expr, legend, unit) in enumerate(panels, 1)
        ],
    }


def _alert(name: str, expr: str, severity: str, summary: str, **labels: str) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "labels": {"severity": severity, **labels},
        "annotations": {"summary": summary},
    }


_LEVELS = (("Warn", "warning"), ("Fail", "critical"))


def _rule_alerts(tolerances: Mapping[str, ToleranceSetting]) -> list[dict[str, Any]]:
    out = []
    for rule, tolerance in sorted(tolerances.items()):
        series = f'{_P99_RULE}{{rule="{_label(rule)}"}}'

        def summary(word: str, bound: float, rule: str = rule) -> str:
            where = "{{ $labels.env }}"
            return (
                f"{rule}: p99 difference {{{{ $value }}}} above {bound:g} ({word} level) in {where}"
            )

        out += _levelled(
            "DualReadRuleDiff",
            series,
            (tolerance.warn_abs, tolerance.abs),
            summary,
            # one alert per rule: promtool reads two of one name and labels as duplicates
            tolerance_rule=rule,
        )
    return out


def _page_alerts(visual: VisualSettings) -> list[dict[str, Any]]:
    return _levelled(
        "DualReadPageMismatch",
        "dualread_page_mismatch_ratio",
        (visual.warn_diff_ratio, visual.max_diff_ratio),
        lambda word, bound: (
            "page {{ $labels.page }} ({{ $labels.comparison }}): mismatch "
            f"ratio {{{{ $value }}}} above {bound:g} in {{{{ $labels.env }}}}"
        ),
    )


def _levelled(
    name: str,
    series: str,
    bounds: tuple[float | None, float | None],
    summary: Callable[[str, float], str],
    **labels: str,
) -> list[dict[str, Any]]:
    """The warn and the fail alert of one series, for the levels that have a bound."""
    out = []
    for (level, severity), bound in zip(_LEVELS, bounds, strict=True):
        if bound is not None:
            text = summary(level.lower(), bound)
            out.append(_alert(f"{name}{level}", f"{series} > {bound:g}", severity, text, **labels))
    return out


def rules(tolerances: Mapping[str, ToleranceSetting], visual: VisualSettings) -> dict[str, Any]:
    """Prometheus recording and alerting rules."""
    p99 = (
        "histogram_quantile(0.99, sum by (le, env, rule) (rate(dualread_rule_abs_diff_bucket[1d])))"
    )
    recording = [
        {"record": _P99_RULE, "expr": p99},
        {
            "record": "dualread:verdict_pass:ratio_7d",
            "expr": "avg_over_time(dualread_verdict_pass[7d])",
        },
    ]
    alerts = [
        _alert(
            "DualReadVerdictFail",
            "dualread_verdict_pass == 0",
            "critical",
            "the dual-read verdict failed in {{ $labels.env }}",
        ),
        _alert(
            "DualReadRunIncomplete",
            "dualread_run_complete == 0",
            "warning",
            "the dual-read run did not complete in {{ $labels.env }}",
        ),
        *_rule_alerts(tolerances),
        *_page_alerts(visual),
    ]
    return {
        "groups": [
            {"name": "dualread-recording", "rules": recording},
            {"name": "dualread-alerts", "rules": alerts},
        ]
    }


def write_observability(
    out: Path, tolerances: Mapping[str, ToleranceSetting], visual_table: Mapping[str, Any]
) -> list[Path]:
    """Write the dashboard and the rules into ``out``; returns the files written."""
    from pydantic import ValidationError

    try:
        visual = VisualSettings.model_validate(dict(visual_table))
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, limit=1, prefix="tool.dualread.visual")) from None
    files = {
        out / DASHBOARD_FILE: dashboard(),
        out / RULES_FILE: rules(tolerances, visual),
    }
    for path, data in files.items():
        write_atomic(path, json.dumps(data, indent=2) + "\n")
    return list(files)
