"""The gate's output formats: a registry that --format offers whole, each entry renders."""

from __future__ import annotations

import json

import pytest
from conftest import synthetic_report

from pytest_dualread import cli
from pytest_dualread.config import GateSettings
from pytest_dualread.formats import RENDERERS, GateResult, github_annotations
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


def failing_dto(cid: str, paths: list[str], headroom: float, line: int) -> Check:
    findings = [
        {
            "comparison": "adapter_vs_legacy",
            "path": path,
            "category": "value",
            "values": {"legacy": 4.5, "adapter": 45.0},
            "delta": 40.5,
            "tolerance": {"abs": 0.5},
            "headroom": headroom,
            "triage": "adapter_regression",
        }
        for path in paths
    ]
    return Check.model_validate(
        {
            "id": f"cases/meals.json::{cid}",
            "nodeid": f"cases/meals.json::{cid}",
            "kind": "dto",
            "outcome": "failed",
            "message": f"{len(paths)} of 40 fields differ\nworst: ...",
            "findings": findings,
            "data": {"case_file": "cases/meals.json", "case_line": line},
        }
    )


def failing_result() -> GateResult:
    checks = [
        failing_dto("log-1", ["meals[lunch].items[=3].fat_g"], 81.0, 4),
        failing_dto("log-2", ["meals[dinner].items[=9].fat_g"], 12.0, 9),
        failing_dto("day-1", ["fat_g", "meals[lunch].fat_g"], 50.0, 14),
    ]
    report = synthetic_report(checks)
    policy = GateSettings()
    return GateResult("report.json", report, policy, evaluate_report(report, policy))


def test_text_names_causes_and_each_checks_worst_field_and_its_reasons_once() -> None:
    text = RENDERERS["text"](failing_result())
    assert text.count("3 failed checks (allowed: 0)") == 1, "the reason is printed once"
    assert "causes:\n  3 checks: fat_g value in 2 shapes, e.g. cases/meals.json::log-1\n" in text
    assert "cases/meals.json::log-2 [dto failed] 1 of 40 fields differ (worst: " in text
    assert "(worst: meals[*].items[*].fat_g \u00d712)" in text
    assert "(worst: fat_g \u00d750)" in text


def test_markdown_has_a_causes_table_and_a_worst_column() -> None:
    md = RENDERERS["md"](failing_result())
    assert "| 3 | `fat_g value` | 2 | `cases/meals.json::log-1` |" in md
    assert "| check | kind | outcome | blocks | message | worst |" in md
    assert "| 1 of 40 fields differ | meals[*].items[*].fat_g \u00d781 |" in md


def test_annotations_point_at_the_case_s_file_and_line() -> None:
    lines = github_annotations(failing_result()).splitlines()
    assert lines[0].startswith(
        "::error file=cases/meals.json,line=4,title=dual-read dto check failed::"
    )
    assert [line.split(",")[1] for line in lines] == ["line=4", "line=9", "line=14"]
