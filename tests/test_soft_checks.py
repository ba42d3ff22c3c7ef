"""Python checks that keep going (``soft=True``), a test's failures reported once at its end,
a failing check's text shown once, and errors shown as pytest ERRORs."""

from __future__ import annotations

import json

import pytest
from conftest import RunDualRead, add_dualread_table
from test_dto_checks import CONFIG, MODELS, SERVICE

TESTS = """
import pathlib
import json

import pytest
from models import LogDTO

def test_soft(dual_read):
    assert dual_read.check("/logs/1", model=LogDTO, golden=False, name="oats", soft=True) is None
    dual_read.check_page("/page", name="page", colour="red", soft=True)
    dual_read.check("/logs/2", model=LogDTO, golden=False, name="tea", soft=True)
    pathlib.Path("reached").write_text("the test went on")

def test_soft_then_hard(dual_read):
    dual_read.check("/logs/1", model=LogDTO, golden=False, name="first", soft=True)
    dual_read.check("/boom", model=LogDTO, golden=False, name="second")

@pytest.fixture
def checked(dual_read):
    return dual_read.check("/logs/1", model=LogDTO, golden=False, name="in-fixture")

def test_in_fixture(checked):
    pass

def test_errored(dual_read):
    dual_read.check("/boom", model=LogDTO, golden=False, name="boom")
"""


@pytest.fixture
def project(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(svc=SERVICE, models=MODELS, test_api=TESTS)
    inner_project.mkdir("cases")
    add_dualread_table(inner_project, CONFIG)
    monkeypatch.syspath_prepend(str(inner_project.path))
    monkeypatch.setenv("SVC_BUG", "kcal")  # /logs/1 differs beyond tolerance
    return inner_project


def test_soft_checks_go_on_and_every_failure_is_shown_once_as_failed_or_error(
    project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    run = run_dualread("--dual-read")
    out = run.result.stdout.str()
    # Checks that could not be judged are pytest ERRORs; differences are FAILED.
    run.result.assert_outcomes(failed=2, errors=2)
    run.result.stdout.fnmatch_lines(
        [
            "FAILED test_api.py::test_soft - Failed: 2 dual-read checks did not pass*",
            "FAILED test_api.py::test_soft_then_hard - Failed: 2 dual-read checks*",
            "ERROR test_api.py::test_in_fixture - Failed: 1 of 8 fields differ",
            "ERROR test_api.py::test_errored - Failed: dual-read error: FetchError: both*",
        ]
    )
    assert (project.path / "reached").exists(), "the test went on after its failed checks"
    assert run.report is not None
    outcomes = {c.id.rsplit("::", 1)[-1]: c.outcome for c in run.report.checks}
    assert outcomes == {
        "oats": "failed",
        "page": "error",
        "tea": "passed",
        "first": "failed",
        "second": "error",
        "in-fixture": "failed",
        "boom": "error",
    }
    # One FAILED per test, with every failing check's text in it.
    soft = out[out.index("_ test_soft _") : out.index("_ test_soft_then_hard _")]
    assert "2 dual-read checks did not pass" in soft
    assert soft.count("1 of 8 fields differ") == 1
    assert "page option 'colour'" in soft
    both = out[out.index("_ test_soft_then_hard _") :]
    assert "2 dual-read checks did not pass" in both
    assert "1 of 8 fields differ" in both
    assert "database on fire" in both
    # A check failing in a fixture: its text once, no exception chain.
    assert "During handling of the above exception" not in out
    assert "Traceback" not in out
    assert "CheckFailed" not in out
    # The short summary repeats whole messages where pytest sees a CI run, so count above it.
    sections = out.split("short test summary info")[0]
    assert sections.count("items[b].kcal | 200    | 290") == 3  # oats, first, in-fixture


HELD_PROBE = """
import json
from pytest_dualread.session import checks_key

def pytest_sessionfinish(session):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    reports = [r for kept in reporter.stats.values() for r in kept if hasattr(r, "when")]
    held = [[r.nodeid, r.when, r.outcome, len(getattr(r, "dualread_check", None) or [])]
            for r in reports]
    items = {item.nodeid: len(item.stash.get(checks_key, [])) for item in session.items}
    with open("held.json", "w") as out:
        json.dump({"reports": held, "items": items}, out)
"""


def test_a_long_session_lets_go_of_each_check_once_it_is_in_the_writer(
    project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    # pytest keeps every item and every phase's report to the end of the session: a check left
    # on them is memory that grows with the number of cases.
    project.makeconftest(HELD_PROBE)
    run = run_dualread("--dual-read")
    assert run.report is not None
    assert len(run.report.checks) == 7
    held = json.loads((project.path / "held.json").read_text())
    assert set(held["items"].values()) == {0}
    kept = {(nodeid, when) for nodeid, when, outcome, count in held["reports"] if count}
    assert {outcome for _, _, outcome, count in held["reports"] if count} == {"failed"}
    # A failed test's checks stay on its report: they decide whether it shows as an ERROR.
    assert ("test_api.py::test_errored", "call") in kept
