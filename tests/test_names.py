"""Case ids and page names name files: each is capped and validated, and two names that would
land on one golden or baseline file (cut at the length limit, characters a file name cannot
hold dropped, case folded) are refused with an error naming both and the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table
from pydantic import ValidationError

from pytest_dualread.cases import MAX_ID_LENGTH, load_case_file
from pytest_dualread.config import VisualSettings
from pytest_dualread.errors import CaseError

SERVICE = """
async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"a": 1}'})
"""

CONFIG = """
[tool.dualread]
legacy_url = "svc:app"
adapter_url = "svc:app"
"""


def case_file(tmp_path: Path, *ids: str) -> Path:
    cases = [{"id": i, "request": {"path": "/a"}} for i in ids]
    path = tmp_path / "logs.json"
    path.write_text(json.dumps({"model": "m:M", "cases": cases}))
    return path


@pytest.mark.parametrize(
    ("ids", "words"),
    [
        pytest.param(["log-1\n"], ["case id 'log-1\\n'", "must start with"], id="newline"),
        pytest.param(
            ["x" * 250 + "-one", "x" * 250 + "-two"], ["characters long; at most"], id="shared-250"
        ),
        pytest.param(
            ["Log-1", "log-1"],
            ["case ids 'Log-1' and 'log-1' differ only in case", "logs/log-1.json"],
            id="case",
        ),
    ],
)
def test_a_case_id_that_cannot_name_its_own_golden_is_refused(
    tmp_path: Path, ids: list[str], words: list[str]
) -> None:
    path = case_file(tmp_path, *ids)
    with pytest.raises(CaseError) as raised:
        load_case_file(path)
    assert str(path) in str(raised.value)
    for word in words:
        assert word in str(raised.value)


def test_a_case_id_is_at_most_200_characters(tmp_path: Path) -> None:
    loaded = load_case_file(case_file(tmp_path, "a" * MAX_ID_LENGTH))
    assert loaded.cases[0].id == "a" * MAX_ID_LENGTH
    with pytest.raises(CaseError, match=f"is {MAX_ID_LENGTH + 1} characters long"):
        load_case_file(case_file(tmp_path, "a" * (MAX_ID_LENGTH + 1)))


@pytest.mark.parametrize(
    ("names", "words"),
    [
        pytest.param(["x/y", "xy"], ["page name 'x/y' holds '/'"], id="slash"),
        pytest.param(["a?b"], ["page name 'a?b' holds '?'"], id="question"),
        pytest.param(["card\n"], ["page name 'card\\n' holds '\\n'"], id="newline"),
        pytest.param(["   "], ["a page name cannot be blank"], id="blank"),
        pytest.param(["p" * 101], ["is longer than 100 characters"], id="long"),
        pytest.param(
            ["Card", "card"], ["page names 'Card' and 'card' differ only in case"], id="case"
        ),
    ],
)
def test_a_page_name_that_cannot_name_its_own_baseline_is_refused(
    names: list[str], words: list[str]
) -> None:
    pages = [{"name": name, "path": "/"} for name in names]
    with pytest.raises(ValidationError) as raised:
        VisualSettings.model_validate({"pages": pages})
    for word in words:
        assert word in str(raised.value)


def test_two_check_names_on_one_golden_file_are_refused_naming_both(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner_project.makepyfile(svc=SERVICE)
    add_dualread_table(inner_project, CONFIG)
    monkeypatch.syspath_prepend(str(inner_project.path))
    inner_project.makepyfile(
        test_reads="""
        import pytest

        WHO = ["a/b", "ab", "x" * 300]

        @pytest.mark.parametrize("who", WHO, ids=WHO)
        def test_read(dual_read, who):
            dual_read.check("/a")
        """
    )
    run = run_dualread("--dual-read", "--snapshot-update", "-W", "ignore::UserWarning")
    assert run.report is not None
    messages = {c.id.rsplit("::", 1)[-1]: c.message for c in run.report.checks}
    clash = messages["test_read[ab]"]
    assert "the check names 'test_read[a/b]' and 'test_read[ab]' map to this one file" in clash
    assert "snapshots/dto/test_reads/test_read[ab].json" in clash
    long = messages["test_read[" + "x" * 300 + "]"]
    assert "is longer than the 250 characters a file name holds" in long
