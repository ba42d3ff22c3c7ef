"""A/A calibration: the legacy side compared with itself proposes ignore rules for what changes
by itself, and nothing else; the run judges nothing and no gate can read it as a pass; the
proposal is merged into pyproject.toml only when asked, keeping its comments and mode."""

from __future__ import annotations

import os

import pytest
from conftest import RunDualRead, add_dualread_table
from test_cli_gate import dualread
from test_dto_checks import case_file, log_case, service, write_cases

from pytest_dualread.calibrate import observe
from pytest_dualread.pyproject import tomllib  # tomli on Python 3.10

__all__ = ["service"]  # the fixture, shared with the DTO checks' tests


@pytest.fixture(autouse=True)
def _patient_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared service config allows 1 s per request; a loaded CI machine needs more.
    monkeypatch.setenv("DUALREAD_FETCH__TIMEOUT_S", "30")


def test_calibration_proposes_to_ignore_the_random_request_id_and_nothing_else(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    pyproject = service.path / "pyproject.toml"
    # The service puts a random request_id in every response; nothing ignores it yet.
    text = pyproject.read_text().replace('ignore = ["**.request_id"]\n', "")
    pyproject.write_text("# the team's settings\n" + text)
    pyproject.chmod(0o640)
    write_cases(service, case_file(log_case("log-1"), log_case("log-2", 2)))

    run = run_dualread("--dual-read", "--dual-read-calibrate=3")
    run.result.assert_outcomes(skipped=2)
    out = run.result.stdout.str()
    assert "# changed on every fetch, in 2 of 2 cases (e.g. " in out
    assert "nothing applied: review it, or re-run with --dual-read-calibrate-apply" in out
    proposal = tomllib.loads((service.path / "dual-read-results/calibration.toml").read_text())
    assert proposal == {"tool": {"dualread": {"dto": {"ignore": ["meta.request_id"]}}}}
    assert pyproject.read_text().startswith("# the team's settings\n"), "nothing applied"

    assert run.report is not None
    assert run.report.run.calibration == 3
    assert {c.outcome for c in run.report.checks} == {"skipped"}
    assert run.report.verdict.reasons == ["calibration run: nothing was judged"]
    gate = dualread("gate", run.report_path)
    assert gate.returncode == 2
    assert "a calibration run (--dual-read-calibrate) judges nothing" in gate.stderr

    applied = run_dualread("--dual-read", "--dual-read-calibrate=3", "--dual-read-calibrate-apply")
    applied.result.stdout.fnmatch_lines(["applied to pyproject.toml: ignore meta.request_id"])
    after = pyproject.read_text()
    assert after.startswith("# the team's settings\n")
    assert "# changed on every fetch, in 2 of 2 cases" in after
    assert pyproject.stat().st_mode & 0o777 == 0o640
    dto = tomllib.loads(after)["tool"]["dualread"]["dto"]
    assert dto["ignore"] == ["meta.request_id"]
    assert dto["tolerances"] == {"**.kcal": {"abs": 20}}, "the rules already there are kept"

    again = run_dualread("--dual-read", "--dual-read-calibrate=3")
    again.result.stdout.fnmatch_lines(["*nothing moved: no rule to propose*"])


def test_observe_tells_jitter_from_changing_values_and_fields_that_come_and_go() -> None:
    bodies = [
        {"items": [{"kcal": 100.5}, {"kcal": 7}], "at": "a", "extra": 1, "same": [1]},
        {"items": [{"kcal": 100.25}, {"kcal": 7}], "at": "b", "same": [1]},
        {"items": [{"kcal": 100.5}, {"kcal": 7}], "at": "c", "extra": 1, "same": [1]},
    ]
    noise = {path: (n.kind, n.every_time, n.delta) for path, n in observe(bodies).items()}
    assert noise == {
        "items[*].kcal": ("jitter", False, 0.25),
        "at": ("changing", True, 0.0),
        "extra": ("changing", False, 0.0),
    }
    assert set(observe(bodies, ignored=["at", "**.kcal"])) == {"extra"}


def test_a_region_that_changes_between_renders_becomes_a_proposed_mask(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_visual_checks import CONFIG, SITE

    inner_project.makepyfile(pagesite=SITE)
    # The card's clock changes on every render; nothing masks it yet.
    config = CONFIG.replace('mask = [".clock"]', "mask = []")
    add_dualread_table(inner_project, config + 'pages = [{ name = "card", path = "/card" }]\n')
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(inner_project.path), *([inherited] if inherited else [])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))

    run = run_dualread("--dual-read", "--dual-read-calibrate=2", subprocess=True)
    run.result.assert_outcomes(skipped=1)
    proposal = (inner_project.path / "dual-read-results/calibration.toml").read_text()
    assert tomllib.loads(proposal)["tool"]["dualread"]["visual"] == {"mask": [".clock"]}
    assert "# page card: a " in proposal
    assert "changed between 2 renders of the legacy side" in proposal
