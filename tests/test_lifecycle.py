"""The one check lifecycle: typed records, report assembly and stale accounting from plain
values, one stored-file decision for goldens and baselines, glue that stays glue."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table
from test_visual_checks import CONFIG, SITE, TESTS

from pytest_dualread.assemble import (
    Expected,
    RunFacts,
    SharedValues,
    assemble_report,
    check_from_wire,
)
from pytest_dualread.config import GateSettings
from pytest_dualread.report import Check, DtoData, StaleEntry, VisualData
from pytest_dualread.stale import stale_rules

PACKAGE = Path(__file__).resolve().parent.parent / "pytest_dualread"


def facts() -> RunFacts:
    started = datetime(2026, 12, 1, 6, tzinfo=timezone.utc)
    return RunFacts(
        started=started, duration_s=1.5, argv=["pytest"], config_hash="h", pytest_version="9"
    )


# -- typed records ---------------------------------------------------------------------------


def test_check_data_is_typed_by_kind_and_round_trips_what_was_set() -> None:
    wire = {
        "id": "p",
        "nodeid": "t.py::p",
        "kind": "visual",
        "outcome": "passed",
        "data": {"page": "card", "comparisons": [{"name": "adapter_vs_legacy", "passed": True}]},
    }
    check = check_from_wire(wire)
    assert isinstance(check.data, VisualData)
    assert check.data.comparisons[0].name == "adapter_vs_legacy"
    # Only what the check set is written: a figure it never reached stays absent.
    assert check.model_dump(mode="json")["data"] == wire["data"]
    dto = Check(id="d", nodeid="d", kind="dto", outcome="passed")
    assert isinstance(dto.data, DtoData)
    assert dto.model_dump(mode="json")["data"] == {}


def test_a_check_whose_data_does_not_fit_its_kind_arrives_as_an_error_check() -> None:
    wire = {"id": "d", "nodeid": "d", "kind": "dto", "outcome": "passed", "data": {"page": "x"}}
    check = check_from_wire(wire)
    assert check.outcome == "error"
    assert "did not validate" in check.message


def _dto_wire(case: str, usage: dict[str, dict[str, int]]) -> dict[str, object]:
    data = {
        "case": case,
        "file_rules": {"ignore": ["request_id"], "list_keys": {}},
        "contract": {"legacy": True, "adapter": True},
        "rule_usage": usage,
    }
    return {
        "id": case,
        "nodeid": f"c.json::{case}",
        "kind": "dto",
        "outcome": "passed",
        "data": data,
    }


def _dto(check: Check) -> DtoData:
    assert isinstance(check.data, DtoData)
    return check.data


def test_checks_held_for_the_report_share_their_equal_values_and_write_the_same_json() -> None:
    shared = SharedValues()
    usage = {"ignore": {"request_id": 2}}
    wires = [
        _dto_wire("a", usage),
        _dto_wire("b", usage),
        # The same counts in another key order: another JSON text, so not the same value.
        _dto_wire("c", {"ignore": {"request_id": 2}, "list_keys": {}}),
        _dto_wire("d", {"list_keys": {}, "ignore": {"request_id": 2}}),
    ]
    checks = [shared.share(check_from_wire(wire)) for wire in wires]
    first, second, third, fourth = map(_dto, checks)
    assert first.file_rules is second.file_rules is third.file_rules
    assert first.rule_usage is second.rule_usage
    assert third.rule_usage is not fourth.rule_usage
    assert checks[0].findings is checks[1].findings  # empty lists too
    for check, wire in zip(checks, wires, strict=True):
        assert check.model_dump_json() == check_from_wire(wire).model_dump_json()


def test_shared_values_stop_keeping_new_ones_at_their_limit() -> None:
    shared = SharedValues(limit=1)
    checks = [
        shared.share(check_from_wire(_dto_wire(case, {"ignore": {"x": n}})))
        for n, case in enumerate("abc")
    ]
    again = _dto(shared.share(check_from_wire(_dto_wire("d", {"ignore": {"x": 2}}))))
    assert again.rule_usage == _dto(checks[2]).rule_usage
    assert again.rule_usage is not _dto(checks[2]).rule_usage


# -- report assembly from plain values -------------------------------------------------------


def test_assembly_gives_every_expected_item_a_check_and_names_the_browser() -> None:
    recorded = Check(
        id="t.py::page",
        nodeid="t.py::page",
        kind="visual",
        outcome="passed",
        data=VisualData(browser="chromium 156 (/usr/bin/chromium)", pixel_engine="dualread 1"),
    )
    expected = [
        Expected("t.py::page", "visual", "passed", ""),
        Expected("cases.json::log-1", "dto", "skipped", "no server", 0.25),
    ]
    called: list[int] = []

    def stale(checks: list[Check]) -> list[StaleEntry]:
        called.append(len(checks))
        return [StaleEntry(kind="rule", name="ignore: x")]

    report = assemble_report(
        [recorded], expected, facts(), gate=GateSettings(), incomplete=None, stale=stale
    )
    assert [c.id for c in report.checks] == ["cases.json::log-1", "t.py::page"]
    placeholder = report.checks[0]
    assert (placeholder.outcome, placeholder.message, placeholder.duration_s) == (
        "skipped",
        "no server",
        0.25,
    )
    assert report.run.environment.browser == "chromium 156 (/usr/bin/chromium)"
    assert report.summary.total == 2
    assert called == [2]
    assert report.stale == [StaleEntry(kind="rule", name="ignore: x")]


def test_an_incomplete_run_is_not_accounted_for_stale_rules_and_fails() -> None:
    report = assemble_report(
        [],
        [Expected("a", "dto")],
        facts(),
        gate=GateSettings(),
        incomplete="interrupted",
        stale=lambda checks: pytest.fail("stale accounting of an incomplete run"),
    )
    assert report.run.complete is False
    assert report.checks[0].outcome == "error"
    assert report.verdict.status == "fail"


# -- stale accounting ------------------------------------------------------------------------


def dto_check(case: str, usage: dict[str, dict[str, int]], **rules: object) -> Check:
    data = DtoData(case=case, case_file="cases/a.json", rule_usage=usage, **rules)  # type: ignore[arg-type]
    return Check(id=case, nodeid=case, kind="dto", outcome="passed", data=data)


def test_stale_rules_are_named_where_they_are_declared() -> None:
    checks = [
        dto_check(
            "c1",
            {"ignore": {"**.request_id": 2, "meta.x": 0}, "tolerances": {"**.kcal": 0}},
            file_rules={"ignore": ["meta.x"]},
            case_rules={"tolerances": {"**.kcal": {"abs": 5}}},
        ),
        dto_check(
            "c2", {"ignore": {"**.request_id": 1, "meta.x": 0}}, file_rules={"ignore": ["meta.x"]}
        ),
    ]
    configured = {"ignore": ["**.request_id", "**.unused"], "tolerances": []}
    stale = stale_rules(checks, configured)
    assert stale == [
        StaleEntry(kind="rule", name="tolerances: **.kcal", source="cases/a.json case c1"),
        StaleEntry(kind="rule", name="ignore: meta.x", source="cases/a.json"),
        StaleEntry(kind="rule", name="ignore: **.unused", source="[tool.dualread.dto]"),
    ]


def test_no_dto_check_means_no_stale_rules() -> None:
    visual = Check(id="p", nodeid="p", kind="visual", outcome="passed")
    assert stale_rules([visual], {"ignore": ["**.x"]}) == []


# -- the glue stays glue ---------------------------------------------------------------------


def test_the_package_uses_no_pytest_internals() -> None:
    offenders = []
    for path in sorted(PACKAGE.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for pattern in (r"\b_pytest\b", r"\._request\b", r"config\.args\b", r"\.workerinput\["):
            offenders += [f"{path.name}: {pattern}" for _ in re.finditer(pattern, text)]
    assert offenders == []


def test_plugin_py_is_glue_only() -> None:
    lines = (PACKAGE / "plugin.py").read_text(encoding="utf-8").count("\n")
    assert lines < 400


def test_quiet_runs_print_the_counts_and_the_header_names_the_targets(
    inner_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    inner_project.makepyfile(
        test_plain="""
        def test_nothing_dual():
            pass
        """
    )
    add_dualread_table(inner_project, '[tool.dualread]\nlegacy_url = "http://127.0.0.1:9"\n')
    loud = run_dualread("--dual-read")
    loud.result.stdout.fnmatch_lines(
        [
            "dual-read: legacy http://127.0.0.1:9, adapter (not set); "
            "report dual-read-results/report.json",
            "*dual-read: 0 checks*verdict fail",
            "  *",
            "report: dual-read-results/report.json",
        ]
    )
    quiet = run_dualread("--dual-read", "-q")
    out = quiet.result.stdout.str()
    assert "verdict fail" in out
    assert "report: dual-read-results" not in out


# -- one decision for goldens and baselines --------------------------------------------------


def test_a_baseline_is_not_written_while_the_sides_disagree(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner_project.makepyfile(pagesite=SITE, test_pages=TESTS)
    add_dualread_table(inner_project, CONFIG)
    monkeypatch.setenv("PYTHONPATH", str(inner_project.path))
    monkeypatch.setenv("VIS_BUG", "colour")
    run = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    run.result.assert_outcomes(failed=1)
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "failed"
    assert check.message.startswith(
        "refusing to write the baseline snapshots/visual/test_pages/test_card.png: legacy and "
        "adapter disagree beyond tolerance at page test_card (adapter_vs_legacy: "
    )
    assert not (inner_project.path / "snapshots/visual/test_pages/test_card.png").exists()
    report = json.loads((inner_project.path / "dual-read-results/report.json").read_text())
    assert "baseline_written" not in report["checks"][0]["data"]


# -- a missing extra ---------------------------------------------------------------------------


def test_a_page_check_without_the_visual_extra_is_an_error_check_naming_it(
    inner_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    # Stands in for an install without the extra: the module cannot be imported.
    inner_project.makeconftest("import sys\nsys.modules['PIL'] = None\n")
    inner_project.makepyfile(pagesite=SITE, test_pages=TESTS)
    add_dualread_table(inner_project, CONFIG)
    run = run_dualread("--dual-read", subprocess=True)
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "error"
    assert check.message.startswith("MissingExtra: pytest-dualread: ")
    assert check.message.endswith(
        "needs the 'visual' extra: pip install 'pytest-dualread[visual]' (missing module: PIL)"
    )
    assert "\n" not in check.message


def test_metrics_without_their_extra_stop_the_run_before_it_starts(
    inner_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    inner_project.makeconftest("import sys\nsys.modules['prometheus_client'] = None\n")
    add_dualread_table(inner_project, '[tool.dualread]\nlegacy_url = "http://127.0.0.1:9"\n')
    run = run_dualread("--dual-read", "--dual-read-metrics=run.prom", subprocess=True)
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(["*the metrics file*needs the 'metrics' extra*"])


# -- the user's own error keeps its traceback --------------------------------------------------

CRASHING_APP = """
def app(environ, start_response):
    return lookup_meal(environ["PATH_INFO"])

def lookup_meal(path):
    raise LookupError("meal table is gone: " + path)
"""


def test_an_app_that_raises_shows_its_traceback_in_the_terminal_not_in_the_report(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner_project.makepyfile(crashing=CRASHING_APP)
    monkeypatch.setenv("PYTHONPATH", str(inner_project.path))
    add_dualread_table(
        inner_project,
        '[tool.dualread]\nlegacy_url = "crashing:app"\nadapter_url = "crashing:app"\n',
    )
    inner_project.makepyfile(
        test_meal="""
        def test_meal(dual_read):
            dual_read.check("/meals/1", golden=False)
        """
    )
    run = run_dualread("--dual-read", subprocess=True)
    run.result.assert_outcomes(errors=1)
    run.result.stdout.fnmatch_lines(
        [
            "*the app raised LookupError: meal table is gone: /meals/1*",
            "raised by your code:",
            "Traceback (most recent call last):",
            '*crashing.py", line *, in app',
            '*crashing.py", line *, in lookup_meal',
            "LookupError: meal table is gone: /meals/1",
        ]
    )
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "error"
    assert "Traceback" not in check.message
    assert "httpx" not in run.result.stdout.str(), "the traceback starts at the user's code"


def test_a_refused_connection_keeps_its_cause_but_shows_no_traceback() -> None:
    import httpx

    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.errors import FetchError, user_traceback
    from pytest_dualread.fetch import PairFetcher

    closed = "http://127.0.0.1:9"
    settings = DualReadSettings.model_validate(
        {"legacy_url": closed, "adapter_url": closed, "fetch": {"retries": 0}}
    )
    fetcher = PairFetcher(settings)
    try:
        with pytest.raises(FetchError) as caught:
            fetcher.fetch("/x")
    finally:
        fetcher.close()
    assert str(caught.value).startswith("both sides failed:")
    side_error = caught.value.__cause__
    assert isinstance(side_error, FetchError)
    assert "cannot connect after 1 attempt" in str(side_error)
    assert isinstance(side_error.__cause__, httpx.ConnectError)
    assert user_traceback(caught.value) is None, "the plugin's own failure: no user traceback"
