"""metrics.py: the textfile is valid Prometheus exposition, read back with prometheus_client."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import synthetic_report
from prometheus_client.parser import text_string_to_metric_families

from pytest_dualread.metrics import write_metrics
from pytest_dualread.report import (
    Check,
)


def check(cid: str, kind: str, outcome: str, **extra: Any) -> Check:
    return Check.model_validate(
        {"id": cid, "nodeid": cid, "kind": kind, "outcome": outcome} | extra
    )


def kcal(path: str, delta: float, category: str = "value") -> dict[str, Any]:
    return {"comparison": "adapter_vs_legacy", "path": path, "category": category, "delta": delta}


REPORT = synthetic_report(
    duration_s=42.5,
    status="fail",
    checks=[
        check(
            "cases/a",
            "dto",
            "failed",
            findings=[kcal("meals[lunch].kcal", 90.0), kcal("meals[lunch].kcal", -3.0)],
            data={"headroom": {"**.kcal": {"count": 3, "deltas": [1, 4, 30]}}},
        ),
        check("cases/b", "dto", "passed"),
        check("cases/c", "dto", "error"),
        check("pages/dashboard", "visual", "failed", data={"page": "dashboard",
              "mismatch_ratio": 0.02, "comparisons": [
                  {"name": "adapter_vs_baseline", "mismatch_ratio": 0.02},
                  {"name": "legacy_vs_baseline", "mismatch_ratio": 0.0}]}),
        check("pages/summary", "visual", "passed", data={"mismatch_ratio": 0.0}),
        check("pages/week", "visual", "failed",
              findings=[kcal("week", 0.004, "pixels"), kcal("week", 0.001, "pixels")]),
    ],
)  # fmt: skip


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(path.read_text()):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture
def written(tmp_path: Path) -> Path:
    path = tmp_path / "textfile" / "dualread.prom"
    write_metrics(REPORT, path, env_name="staging")
    return path


def test_checks_by_kind_and_outcome(written: Path) -> None:
    found = samples(written)
    assert value(found, "dualread_checks", env="staging", kind="dto", outcome="failed") == 1
    assert value(found, "dualread_checks", env="staging", kind="dto", outcome="error") == 1
    assert value(found, "dualread_checks", env="staging", kind="visual", outcome="failed") == 2
    assert value(found, "dualread_checks", env="staging", kind="visual", outcome="skipped") == 0
    assert value(found, "dualread_verdict_pass", env="staging") == 0
    assert value(found, "dualread_run_complete", env="staging") == 1
    assert value(found, "dualread_run_duration_seconds", env="staging") == 42.5
    started = value(found, "dualread_run_started_timestamp_seconds", env="staging")
    assert started == datetime(2026, 11, 14, 10, tzinfo=timezone.utc).timestamp()


def test_field_and_rule_histograms(written: Path) -> None:
    found = samples(written)
    field = {"env": "staging", "field": "meals[lunch].kcal"}
    assert value(found, "dualread_field_abs_diff_count", **field) == 2
    assert value(found, "dualread_field_abs_diff_sum", **field) == 93.0
    assert value(found, "dualread_field_abs_diff_bucket", le="5.0", **field) == 1
    assert value(found, "dualread_field_abs_diff_bucket", le="100.0", **field) == 2
    rule = {"env": "staging", "rule": "**.kcal"}
    assert value(found, "dualread_rule_abs_diff_count", **rule) == 3
    assert value(found, "dualread_rule_abs_diff_bucket", le="10.0", **rule) == 2


def test_page_mismatch_ratios(written: Path) -> None:
    found = samples(written)
    name = "dualread_page_mismatch_ratio"
    assert (
        value(found, name, env="staging", page="dashboard", comparison="adapter_vs_baseline")
        == 0.02
    )
    assert value(found, name, env="staging", page="pages/summary", comparison="all") == 0.0
    assert (
        value(found, name, env="staging", page="pages/week", comparison="adapter_vs_legacy")
        == 0.004
    )


def test_env_name_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "m.prom"
    monkeypatch.setenv("METRIC_ENV", "prod-eu")
    write_metrics(REPORT, path, env_name=None)
    assert value(samples(path), "dualread_run_complete", env="prod-eu") == 1
    monkeypatch.delenv("METRIC_ENV")
    write_metrics(REPORT, path, env_name=None)
    assert value(samples(path), "dualread_run_complete", env="unknown") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.prom"]  # no temporary left behind
