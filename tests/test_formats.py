"""The gate's output formats: a registry that --format offers whole, each entry renders."""

from __future__ import annotations

import json

import pytest
from conftest import synthetic_report

from pytest_dualread import cli
from pytest_dualread.config import GateSettings
from pytest_dualread.formats import RENDERERS, GateResult
from pytest_dualread.gate import compare_to_baseline, evaluate_report
from pytest_dualread.report import Check


def small_result() -> GateResult:
    checks = [
        Check.model_validate({"id": "cases/a", "nodeid": "t.py::a", "kind": "dto"} | extra)
        for extra in (
            {"outcome": "passed"},
            {"outcome": "error", "id": "cases/b", "message": "boom | bang\nmore"},
        )
    ]
    report = synthetic_report(checks)
    policy = GateSettings()
    result = GateResult("report.json", report, policy, evaluate_report(report, policy))
    result.baseline = "old.json"
    result.regression = compare_to_baseline(report, synthetic_report(checks[:1]), policy)
    return result


@pytest.mark.parametrize("name", sorted(RENDERERS))
def test_every_format_renders_a_small_report(name: str) -> None:
    text = RENDERERS[name](small_result())
    assert text.endswith("\n")
    assert "cases/b" in text
    if name == "json":
        assert json.loads(text)["status"] == "fail"


def test_the_format_option_offers_exactly_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(RENDERERS, "csv", lambda result: "status\n")
    args = cli.build_parser().parse_args(["gate", "r.json", "--format", "csv"])
    assert args.format == "csv"
    assert cli.build_parser().parse_args(["gate", "r.json"]).format == "text"


def test_the_json_exit_code_is_the_result_s() -> None:
    result = small_result()
    assert result.exit_code == 1
    assert json.loads(RENDERERS["json"](result))["exit_code"] == result.exit_code
