"""Messages for a first day: unknown keys and flags say what was meant, and the terminal says
which counts are checks and which are syrupy's files."""

from __future__ import annotations

import pytest
from conftest import RunDualRead, add_dualread_table
from test_dto_checks import CONFIG, MODELS, SERVICE, case_file, log_case, write_cases


def test_unknown_keys_and_flags_say_what_was_meant(
    inner_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    add_dualread_table(inner_project, '[tool.dualread.dto]\nlist_key = { "items" = "id" }\n')
    run = run_dualread("--dual-read")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(
        [
            "*key 'tool.dualread.dto.list_key': unknown key 'list_key' in [[]dto] "
            "(did you mean 'list_keys'?)"
        ]
    )
    run = run_dualread("--dual-read", "--dual-read-ouput=out")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(
        ["ERROR: pytest-dualread: unknown flag --dual-read-ouput; did you mean --dual-read-output?"]
    )


def test_the_dual_read_counts_say_they_count_checks_not_snapshot_files(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner_project.makepyfile(svc=SERVICE, models=MODELS)
    add_dualread_table(inner_project, CONFIG)
    inner_project.mkdir("cases")
    monkeypatch.syspath_prepend(str(inner_project.path))
    write_cases(inner_project, case_file(log_case("log-1"), log_case("log-2", 2)))
    run = run_dualread("--dual-read")  # no goldens yet: syrupy counts missing files
    run.result.stdout.fnmatch_lines(
        [
            "dual-read: 2 checks, 0 passed, 2 failed, 0 errors, 0 skipped; verdict fail",
            "  (these count checks; syrupy's snapshot report counts golden and baseline files)",
        ]
    )


def test_a_misspelt_keyword_of_check_is_a_type_error_saying_what_was_meant(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner_project.makepyfile(
        svc=SERVICE,
        models=MODELS,
        test_typo="""
import pytest

def test_typo(dual_read):
    with pytest.raises(TypeError) as raised:
        dual_read.check("/logs/1", tolerance={"**.kcal": 1})
    assert str(raised.value) == (
        "DualRead.check() got an unexpected keyword argument 'tolerance'"
        " (did you mean 'tolerances'?)"
    )
""",
    )
    inner_project.mkdir("cases")
    add_dualread_table(inner_project, CONFIG)
    monkeypatch.syspath_prepend(str(inner_project.path))
    run_dualread("--dual-read").result.assert_outcomes(passed=1)
