"""Hostile responses and case files, run the way users run them: each is one error check (or
one erroring item) naming the side, the URL or the file and the cause, never a traceback, and
the rest of the run goes on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table

SERVICE = '''
"""Answers each path with a hostile body; the adapter differs where X-Side says so."""
BODIES = {
    "/deep-500": "[" * 500 + "]" * 500,
    "/deep-10000": "[" * 10_000 + "]" * 10_000,
    "/deep-objects": '{"a":' * 129 + "1" + "}" * 129,
    "/nan": '{"a": NaN}',
    "/infinity": '{"a": Infinity}',
    "/duplicate": '{"a": {"b": 1, "b": 2}}',
    "/big-int": '{"a": ' + "7" * 5000 + "}",
    "/big-float": '{"a": 1e999}',
    "/ok": '{"a": 1}',
    "/minus-infinity": '{"a": 1}',
}
ADAPTER = {
    "/minus-infinity": '{"a": -Infinity}',
    "/digits": '{"n": "' + "1" * 4999 + '2"}',
}

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    path = scope["path"]
    body = BODIES.get(path, '{"n": "' + "1" * 5000 + '"}')
    if headers.get("x-side") == "adapter":
        body = ADAPTER.get(path, body)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body.encode()})
'''

MODELS = """
from pydantic import BaseModel, ConfigDict

class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")
"""

CONFIG = """
[tool.dualread]
legacy_url = "hostile:app"
adapter_url = "hostile:app"
cases_dir = "cases"

[tool.dualread.legacy]
headers = { "X-Side" = "legacy" }

[tool.dualread.adapter]
headers = { "X-Side" = "adapter" }
"""

RESPONSES = {
    "deep-500": "nested deeper than 128 levels",
    "deep-10000": "nested deeper than 128 levels",
    "deep-objects": "nested deeper than 128 levels at a.a.a.a",
    "nan": "NaN is not a JSON number (RFC 8259) at a",
    "infinity": "Infinity is not a JSON number (RFC 8259) at a",
    "duplicate": "duplicate key 'b' at a",
    "big-int": "an integer of 5000 digits (at most 4300) at a",
    "big-float": "number 1e999 is too large at a",
}


@pytest.fixture
def hostile(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(hostile=SERVICE, models=MODELS)
    add_dualread_table(inner_project, CONFIG)
    inner_project.mkdir("cases")
    monkeypatch.syspath_prepend(str(inner_project.path))
    return inner_project


def write_cases(project: pytest.Pytester, name: str, text: str) -> Path:
    path = project.path / "cases" / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    return path


def cases(*items: dict[str, object]) -> str:
    return json.dumps({"model": "models:Loose", "cases": list(items)})


def case(case_id: str, path: str, **extra: object) -> dict[str, object]:
    return {"id": case_id, "request": {"path": path}, **extra}


def messages(run: object) -> dict[str, str]:
    report = getattr(run, "report", None)
    assert report is not None, "no report was written"
    return {c.id.rsplit("::", 1)[-1]: c.message for c in report.checks}


def test_each_hostile_response_is_an_error_check_naming_side_url_and_cause(
    hostile: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    write_cases(hostile, "bodies", cases(*(case(name, f"/{name}") for name in RESPONSES)))
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(errors=len(RESPONSES))
    assert run.report is not None
    assert run.report.summary.errors == len(RESPONSES)
    found = messages(run)
    for name, cause in RESPONSES.items():
        assert f"legacy http://legacy.in-process/{name}: the body is not strict JSON" in found[name]
        assert cause in found[name], (name, found[name])
    text = run.result.stdout.str()
    assert "RecursionError" not in text
    assert "Traceback" not in text


def test_an_adapter_answering_minus_infinity_is_an_error_check_naming_it(
    hostile: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    write_cases(hostile, "inf", cases(case("inf", "/minus-infinity")))
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(errors=1)
    assert "adapter http://adapter.in-process/minus-infinity" in messages(run)["inf"]
    assert "-Infinity is not a JSON number" in messages(run)["inf"]


def test_coerce_numbers_on_a_5000_digit_string_compares_it_exactly(
    hostile: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    write_cases(
        hostile,
        "digits",
        cases(
            case("same", "/same-digits", coerce_numbers=["n"]),
            case("differ", "/digits", coerce_numbers=["n"]),
        ),
    )
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(passed=1, failed=1)
    assert run.report is not None
    outcomes = {c.id.rsplit("::", 1)[-1]: c.outcome for c in run.report.checks}
    assert outcomes == {"same": "passed", "differ": "failed"}
    assert "Traceback" not in run.result.stdout.str()


def test_a_5000_digit_list_index_in_a_rule_is_an_error_naming_the_rule(
    hostile: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    index = "9" * 5000
    write_cases(
        hostile,
        "rules",
        cases(case("bad-rule", "/ok", ignore=[f"a[{index}]"]), case("fine", "/ok")),
    )
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(passed=1, errors=1)
    found = messages(run)
    assert "a list index has at most 18 digits" in found["bad-rule"]
    assert "rules.json" in found["bad-rule"]


@pytest.mark.parametrize(
    ("text", "cause"),
    [
        pytest.param(
            '{"model": "models:Loose", "cases": ' + "[" * 10_000 + "]" * 10_000 + "}",
            "nested deeper than 128 levels",
            id="deep-10000",
        ),
        pytest.param(
            '{"model": "models:Loose", "cases": [{"id": "a", "request": {"path": "/ok", '
            '"json": ' + "[" * 300 + "]" * 300 + "}}]}",
            "nested deeper than 128 levels at cases[0].request.json",
            id="deep-300",
        ),
        pytest.param(
            '{"model": "models:Loose", "model": "x:Y", "cases": []}',
            "duplicate key 'model' at the root",
            id="duplicate",
        ),
        pytest.param(
            '{"model": "models:Loose", "cases": [{"id": "a", "request": {"path": "/ok", '
            '"params": {"n": NaN}}}]}',
            "NaN is not a JSON number (RFC 8259) at cases[0].request.params.n",
            id="nan",
        ),
        pytest.param(
            '{"model": "models:Loose", "cases": [{"id": "a", "request": {"path": "/ok", '
            '"params": {"n": ' + "9" * 5000 + "}}}]}",
            "an integer of 5000 digits (at most 4300)",
            id="big-int",
        ),
        pytest.param(
            '{"model": "models:Loose", "ignore": ["a[' + "9" * 5000 + ']"], "cases": []}',
            "a list index has at most 18 digits",
            id="big-index",
        ),
    ],
)
def test_a_pathological_case_file_is_one_erroring_item_naming_the_file(
    hostile: pytest.Pytester, run_dualread: RunDualRead, text: str, cause: str
) -> None:
    write_cases(hostile, "bad", text)
    write_cases(hostile, "good", cases(case("fine", "/ok")))
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(passed=1, errors=1)
    out = run.result.stdout.str()
    assert "bad.json" in out
    assert cause in out
    assert "RecursionError" not in out
    assert "Traceback" not in out
