"""Waivers: a known difference, written down with an owner, a ticket and an end date, does not
fail its check; it is counted and listed apart, a waiver that matched nothing is stale, and an
expired one fails the gate naming its owner and ticket."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from conftest import RunDualRead, add_dualread_table, synthetic_report
from test_cli_gate import dualread
from test_dto_checks import case_file, log_case, service, write_cases

from pytest_dualread.config import GateSettings, load_settings
from pytest_dualread.errors import ConfigError
from pytest_dualread.gate import evaluate_report
from pytest_dualread.report import Waiver, WaiverUse, load_report

__all__ = ["service"]  # the fixture, shared with the DTO checks' tests


@pytest.fixture(autouse=True)
def _patient_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared service config allows 1 s per request; a loaded CI machine needs more.
    monkeypatch.setenv("DUALREAD_FETCH__TIMEOUT_S", "30")


NEXT_YEAR = date.today() + timedelta(days=365)
YESTERDAY = date.today() - timedelta(days=1)


def _waivers(expires: date) -> str:
    return f"""
[[tool.dualread.waivers]]
check = "*logs.json::log-1"
rule = "items[*].kcal"
reason = "the adapter rounds a custom food differently"
owner = "dana"
ticket = "MIG-42"
expires = {expires.isoformat()}

[[tool.dualread.waivers]]
rule = "kcal_total"
reason = "fixed already"
owner = "lee"
ticket = "MIG-7"
expires = {NEXT_YEAR.isoformat()}
"""


def test_a_waived_difference_passes_is_listed_apart_and_a_waiver_matching_nothing_is_stale(
    service: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cases(service, case_file(log_case("log-1"), log_case("log-2", 2)))
    run_dualread("--dual-read", "--snapshot-update").result.assert_outcomes(passed=2)
    pristine = (service.path / "pyproject.toml").read_text()
    add_dualread_table(service, _waivers(NEXT_YEAR))
    monkeypatch.setenv("SVC_BUG", "kcal")

    run = run_dualread("--dual-read")
    run.result.assert_outcomes(passed=2)
    assert (
        "not blocking: 2 findings waived by check *logs.json::log-1 rule items[*].kcal (MIG-42)"
        in run.result.stdout.str()
    )
    report = run.report
    assert report is not None
    assert report.verdict.status == "pass"
    assert report.summary.waived == 2
    log1 = next(c for c in report.checks if c.id.endswith("log-1"))
    assert log1.outcome == "passed"
    assert log1.findings == []
    assert {(f.path, f.comparison) for f in log1.waived} == {
        ("items[b].kcal", "adapter_vs_legacy"),
        ("items[b].kcal", "adapter_vs_golden"),
    }
    assert [(u.ticket, u.matched, u.expired) for u in report.waivers] == [
        ("MIG-42", 2, False),
        ("MIG-7", 0, False),
    ]
    stale = [(s.kind, s.name) for s in report.stale if s.kind == "waiver"]
    assert stale == [("waiver", "rule kcal_total (MIG-7)")]
    gate = dualread("gate", run.report_path)
    assert gate.returncode == 0, gate.stdout + gate.stderr

    (service.path / "pyproject.toml").write_text(pristine + _waivers(YESTERDAY))
    expired = run_dualread("--dual-read")
    expired.result.assert_outcomes(passed=1, failed=1)  # an expired waiver waives nothing
    gate = dualread("gate", expired.report_path)
    assert gate.returncode == 1
    assert f"waiver expired on {YESTERDAY}" in gate.stdout
    assert "owner dana, ticket MIG-42" in gate.stdout


def test_a_waiver_that_expires_after_the_run_fails_the_gate_from_the_report() -> None:
    use = WaiverUse(
        check="x", reason="r", owner="dana", ticket="MIG-1", expires=YESTERDAY, matched=1
    )
    report = synthetic_report([]).model_copy(update={"waivers": [use]})
    verdict = evaluate_report(report, GateSettings(min_checks=0))
    assert verdict.status == "fail"
    assert "owner dana, ticket MIG-1" in verdict.reasons[0]


def test_old_reports_without_waivers_still_load(tmp_path: pytest.TempPathFactory) -> None:
    raw = json.loads(synthetic_report([]).model_dump_json())
    for key in ("waivers",):
        raw.pop(key)
    raw["summary"].pop("waived")
    path = tmp_path / "old.json"  # type: ignore[operator]
    path.write_text(json.dumps(raw))
    assert load_report(path).waivers == []


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ('reason = "r"\nowner = "o"\nticket = "T"\nexpires = 2030-01-01', "a waiver needs a"),
        (
            'rule = "a[["\nreason = "r"\nowner = "o"\nticket = "T"\nexpires = 2030-01-01',
            "(T): rule",
        ),
        ('check = "c"\nreason = "r"\nowner = "o"\nticket = "T"', "expires"),
        ('check = "c"\nreason = "r"\nowner = "o"\nticket = "T"\nexpires = "soon"', "expires"),
    ],
)
def test_a_bad_waiver_is_a_config_error_naming_the_key(
    tmp_path: pytest.TempPathFactory, entry: str, expected: str
) -> None:
    path = tmp_path / "pyproject.toml"  # type: ignore[operator]
    path.write_text(f"[[tool.dualread.waivers]]\n{entry}\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path.parent, pyproject=path, environ={})
    assert "tool.dualread.waivers" in str(caught.value)
    assert expected in str(caught.value)
    assert Waiver  # the model users' entries are validated with
