"""Lists: a top-level list keyed by ``$``, composite keys, null key values, and rule patterns
that are wrong reported on one line naming the file, the line and the pattern."""

from __future__ import annotations

import json

import pytest
from conftest import RunDualRead, add_dualread_table

# Meals of a week, a top-level list: legacy in date order, the adapter in another order, with
# one kcal changed, and one snack whose meal is null on both sides.
SERVICE = """
import json

MEALS = [
    {"date": "2026-01-01", "meal": "lunch", "kcal": 600},
    {"date": "2026-01-01", "meal": "dinner", "kcal": 800},
    {"date": "2026-01-02", "meal": "lunch", "kcal": 550},
    {"date": "2026-01-02", "meal": None, "kcal": 120},
]

async def app(scope, receive, send):
    side = dict(scope["headers"]).get(b"x-side", b"legacy").decode()
    meals = json.loads(json.dumps(MEALS))
    if side == "adapter":
        meals.reverse()
        meals[1]["kcal"] = 560  # 2026-01-02 lunch
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(meals).encode()})
"""

MODELS = """
from pydantic import BaseModel, RootModel

class Meal(BaseModel):
    date: str
    meal: str | None
    kcal: int

class Week(RootModel[list[Meal]]):
    pass
"""

CONFIG = """
[tool.dualread]
legacy_url = "meals_svc:app"
adapter_url = "meals_svc:app"
cases_dir = "cases"

[tool.dualread.legacy]
headers = { "X-Side" = "legacy" }

[tool.dualread.adapter]
headers = { "X-Side" = "adapter" }

[tool.dualread.dto]
list_keys = { "$" = ["date", "meal"] }
"""


@pytest.fixture
def project(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(meals_svc=SERVICE, meals_models=MODELS)
    add_dualread_table(inner_project, CONFIG)
    inner_project.mkdir("cases")
    monkeypatch.syspath_prepend(str(inner_project.path))
    return inner_project


def write_case_file(project: pytest.Pytester, text: str) -> None:
    (project.path / "cases" / "meals.json").write_text(text, encoding="utf-8")


def test_a_top_level_list_is_keyed_by_several_fields_and_a_null_key_is_a_key(
    project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    cases = [{"id": "week", "request": {"path": "/meals"}}]
    write_case_file(project, json.dumps({"model": "meals_models:Week", "cases": cases}))
    run = run_dualread("--dual-read", "--snapshot-update")
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "failed", check.message
    # Matched by (date, meal) whatever the order: only the changed kcal differs, at its key.
    paths = {f.path for f in check.findings}
    assert paths == {'[=["2026-01-02","lunch"]].kcal'}, check.findings
    assert "list_key" not in {f.category for f in check.findings}, "the null meal keys its item"


def test_wrong_rule_patterns_are_one_line_errors_naming_file_line_and_pattern(
    project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    text = json.dumps(
        {
            "list_keys": {"": "id"},
            "model": "meals_models:Week",
            "cases": [{"id": "week", "request": {"path": "/meals"}}],
        },
        indent=2,
    )
    write_case_file(project, text)
    project.makepyfile(
        test_api="""
        def test_rules(dual_read):
            dual_read.check("/meals", golden=False, list_keys={"items[": "id"})
        """
    )
    run = run_dualread("--dual-read")
    run.result.assert_outcomes(errors=2)
    out = run.result.stdout.str()
    assert "Traceback" not in out
    run.result.stdout.fnmatch_lines(
        [
            "case file error: *cases/meals.json:3: list_keys: bad path pattern '' at position 0:"
            " empty pattern (the root is '$')",
            "dual-read error: PatternError: list_keys: bad path pattern 'items[[]' at position 6:*",
        ]
    )
    pyproject = project.path / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"$" =', '"meals[" ='))
    line = pyproject.read_text().splitlines().index('list_keys = { "meals[" = ["date", "meal"] }')
    run = run_dualread("--dual-read")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines(
        [
            f"ERROR: pytest-dualread: *pyproject.toml:{line + 1}: list_keys: bad path pattern"
            " 'meals[[]' at position 6: unclosed '[[]' ([[]tool.dualread.dto])"
        ]
    )
