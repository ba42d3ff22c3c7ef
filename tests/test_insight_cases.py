"""Generated cases: a case that declares ``each`` becomes one test item per value, with ids
that stay the same run after run; a template that cannot expand names its file and case."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RunDualRead
from test_dto_checks import case_file, service, write_cases

from pytest_dualread.cases import MAX_GENERATED, load_case_file
from pytest_dualread.errors import CaseError

__all__ = ["service"]  # the fixture, shared with the DTO checks' tests


@pytest.fixture(autouse=True)
def _patient_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared service config allows 1 s per request; a loaded CI machine needs more.
    monkeypatch.setenv("DUALREAD_FETCH__TIMEOUT_S", "30")


def test_each_over_a_range_a_list_and_a_csv_column_gives_one_item_per_value(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    (service.path / "cases" / "ids.csv").write_text("log,note\n2,x\n1,y\n2,again\n")
    write_cases(
        service,
        case_file(
            {"id": "log-{n}", "request": {"path": "/logs/{n}"}, "each": {"n": {"range": [1, 2]}}},
            {"id": "listed", "request": {"path": "/logs/{n}"}, "each": {"n": {"list": [2]}}},
            {
                "id": "from-csv-{log}",
                "request": {"path": "/logs/{log}"},
                "each": {"log": {"csv": "ids.csv", "column": "log"}},
            },
        ),
    )
    run = run_dualread("--dual-read", "--snapshot-update", "-v")
    run.result.assert_outcomes(passed=5)
    run.result.stdout.fnmatch_lines(["*cases/logs.json::log-1 PASSED*"])
    assert run.report is not None
    ids = sorted(c.id.rsplit("::", 1)[-1] for c in run.report.checks)
    assert ids == ["from-csv-1", "from-csv-2", "listed-2", "log-1", "log-2"]
    goldens = sorted(p.name for p in (service.path / "snapshots/dto/logs").iterdir())
    assert goldens == [f"{i}.json" for i in ids], "each generated case has its own golden"

    again = run_dualread("--dual-read")
    again.result.assert_outcomes(passed=5)  # the same ids: the goldens of the first run match


def _template_file(tmp_path: Path, each: object, case_id: str = "log-{id}") -> Path:
    path = tmp_path / "logs.json"
    case = {"id": case_id, "request": {"path": "/logs/{id}"}, "each": each}
    path.write_text(json.dumps({"model": "m:M", "cases": [case]}, indent=2))
    return path


@pytest.mark.parametrize(
    ("each", "expected"),
    [
        ({"id": {"range": [1, MAX_GENERATED + 1]}}, "would generate 100,001 cases; at most"),
        ({"id": {"range": [1, 1000]}, "x": {"range": [1, 1000]}}, "1,000,000 cases"),
        ({"id": {"range": [5, 1]}}, "the first bound is above the last"),
        ({"id": {"list": [1], "range": [1, 2]}}, 'exactly one of "list", "range" or "csv"'),
        ({"id": {"csv": "ids.csv"}}, '"csv" and "column" go together'),
        ({"id": {"csv": "ids.csv", "column": "log"}}, "ids.csv has no column 'log' (it has: id)"),
        ({"id": {"csv": "absent.csv", "column": "id"}}, "cannot read"),
        ({"id": {"lst": [1]}}, "each.id: "),
        ([], '"each" must map variable names to sources'),
    ],
)
def test_a_template_that_cannot_expand_names_the_file_the_line_and_the_case(
    tmp_path: Path, each: object, expected: str
) -> None:
    (tmp_path / "ids.csv").write_text("id\n1\n")
    path = _template_file(tmp_path, each)
    with pytest.raises(CaseError) as caught:
        load_case_file(path)
    text = str(caught.value)
    assert expected in text
    assert str(path) in text
    assert "log-{id}" in text
    assert f"{path}:5 case" in text, "the line of the template's id"


def test_generated_ids_are_checked_like_written_ones(tmp_path: Path) -> None:
    path = _template_file(tmp_path, {"id": {"list": [1, "1"]}})
    with pytest.raises(CaseError, match="duplicate case id"):
        load_case_file(path)
    path = _template_file(tmp_path, {"id": {"list": ["a b/c"]}}, case_id="plain")
    assert [c.id for c in load_case_file(path).cases] == ["plain-a-b-c"]


def test_each_case_is_found_at_its_own_line_and_a_repeated_id_at_the_second(
    tmp_path: Path,
) -> None:
    cases = [{"id": f"c-{n}", "request": {"path": f"/x/{n}"}} for n in range(300)]
    path = tmp_path / "many.json"
    path.write_text(json.dumps({"model": "m:M", "cases": cases}, indent=1))
    text_lines = path.read_text().splitlines()
    lines = load_case_file(path).lines
    assert len(lines) == 300
    for case_id in ("c-0", "c-150", "c-299"):
        assert f'"id": "{case_id}"' in text_lines[lines[case_id] - 1]
    path.write_text(json.dumps({"model": "m:M", "cases": [*cases, cases[150]]}, indent=1))
    with pytest.raises(CaseError) as caught:
        load_case_file(path)
    assert f"line {lines['c-150']})" in str(caught.value)
    assert caught.value.line == len(path.read_text().splitlines()) - 6
