"""What nobody foresaw inside a check is one error check of one line (the exception's type and
the first line of its message, secrets scrubbed), never pytest's long traceback; a golden or
baseline that ``--snapshot-update`` should have written and did not is an error naming it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table

COOKIE = "ckUNFORESEENz9"

ECHO_APP = """
import json

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    body = {"cookie": headers.get("cookie", ""), "n": 1}
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
"""

CONFIG = """
[tool.dualread]
legacy_url = "echoapp:app"
adapter_url = "echoapp:app"

[tool.dualread.legacy]
cookies = { session = "@COOKIE@" }

[tool.dualread.adapter]
cookies = { session = "@COOKIE@" }
""".replace("@COOKIE@", COOKIE)


@pytest.fixture
def echo_project(inner_project: pytest.Pytester) -> pytest.Pytester:
    inner_project.makepyfile(echoapp=ECHO_APP)
    add_dualread_table(inner_project, CONFIG)
    inner_project.syspathinsert()
    return inner_project


def test_an_exception_nobody_foresaw_is_a_one_line_error_check_without_secrets(
    echo_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    # The user's model raises something pydantic does not turn into a validation error,
    # with the body's value (a secret the plugin sent, echoed back) in a multi-line message.
    echo_project.makepyfile(
        test_model="""
        import pytest
        from pydantic import BaseModel, field_validator

        class Echo(BaseModel):
            cookie: str
            n: int

            @field_validator("cookie")
            @classmethod
            def boom(cls, value):
                headers = {"Cookie": value}
                raise RuntimeError(f"cannot read {value}\\nheaders were {headers}")

        @pytest.mark.dual_read
        def test_echo(dual_read):
            dual_read.check("/echo", model=Echo, golden=False)
        """
    )
    run = run_dualread("--dual-read", "--junitxml=junit.xml")
    run.result.assert_outcomes(errors=1)
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "error"
    assert check.message == "RuntimeError: unexpected error: cannot read session=<redacted>"
    terminal = str(run.result.stdout)
    written = [run.report_path.read_text(), (echo_project.path / "junit.xml").read_text()]
    for text in [terminal, *written]:
        assert COOKIE not in text
        assert "Traceback" not in text
        assert "headers were" not in text


def test_a_golden_syrupy_refuses_to_write_is_an_error_check(
    echo_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    echo_project.makepyfile(
        test_days="""
        import pytest

        @pytest.mark.dual_read
        @pytest.mark.parametrize("day", ["2025/09/20", "a?b", "plain"])
        def test_day(dual_read, day):
            dual_read.check("/days")
        """
    )
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(errors=2, passed=1)
    assert run.report is not None
    assert run.report.verdict.status == "fail"
    by_id = {c.nodeid.rsplit("[", 1)[-1].rstrip("]"): c for c in run.report.checks}
    assert by_id["plain"].outcome == "passed"
    for day, shown in (("2025/09/20", "test_day[20250920].json"), ("a?b", "test_day[ab].json")):
        check = by_id[day]
        assert check.outcome == "error"
        assert f"snapshots/dto/test_days/{shown}: the golden was not written" in check.message
        assert not (echo_project.path / "snapshots/dto/test_days" / shown).exists()


PAGE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body",
                "body": b"<!doctype html><body style='margin:0'><p>hi</p></body>"})
"""

PAGE_CONFIG = """
[tool.dualread]
legacy_url = "pageapp:app"
adapter_url = "pageapp:app"

[tool.dualread.legacy]
headers = { Authorization = "Bearer @COOKIE@" }

[tool.dualread.visual]
viewport = { width = 200, height = 100 }
stabilize_timeout_s = 2
""".replace("@COOKIE@", COOKIE)


@pytest.fixture
def page_project(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    inner_project.makepyfile(pageapp=PAGE_APP)
    add_dualread_table(inner_project, PAGE_CONFIG)
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(inner_project.path), *([inherited] if inherited else [])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    return inner_project.path


def test_a_corrupt_baseline_is_a_one_line_error_check(
    page_project: Path, inner_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    inner_project.makepyfile(
        test_pages="""
        import pytest

        @pytest.mark.dual_read(kind="visual")
        def test_card(dual_read):
            dual_read.check_page("/card")
        """
    )
    baseline = page_project / "snapshots/visual/test_pages/test_card.png"
    baseline.parent.mkdir(parents=True)
    baseline.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png" * 10)
    run = run_dualread("--dual-read", "--junitxml=junit.xml", subprocess=True)
    run.result.assert_outcomes(errors=1)
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "error"
    assert "\n" not in check.message
    assert check.message.split(":", 1)[0].isidentifier()  # the exception's type comes first
    for text in (str(run.result.stdout), run.report_path.read_text()):
        assert COOKIE not in text
        assert "Traceback" not in text


def test_a_baseline_syrupy_refuses_to_write_is_an_error_check(
    page_project: Path, inner_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    inner_project.makepyfile(
        test_pages="""
        import pytest

        @pytest.mark.dual_read(kind="visual")
        @pytest.mark.parametrize("where", ["card/1?x"])
        def test_card(dual_read, where):
            dual_read.check_page("/card")
        """
    )
    run = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    run.result.assert_outcomes(errors=1)
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "error"
    assert "snapshots/visual/test_pages/test_card[card1x].png: the baseline was not written" in (
        check.message
    )
    assert not list((page_project / "snapshots").rglob("*.png"))
