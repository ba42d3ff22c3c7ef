"""The CI recipes of docs/ci.md, run as written on a project with DTO checks and a page."""

from __future__ import annotations

import json

import pytest
from conftest import add_dualread_table
from docblocks import blocks, environment, following, run_line
from test_selection import CASES, CONFIG, MODELS, SHOP, TESTS

from pytest_dualread.report import load_report


@pytest.fixture
def shop(inner_project: pytest.Pytester) -> pytest.Pytester:
    inner_project.makepyfile(shop=SHOP, shop_models=MODELS, test_shop=TESTS)
    pyproject = inner_project.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace(
            "[tool.pytest.ini_options]", '[tool.pytest.ini_options]\npythonpath = ["."]'
        )
    )
    add_dualread_table(inner_project, CONFIG)
    inner_project.mkdir("cases")
    (inner_project.path / "cases" / "items.json").write_text(json.dumps(CASES))
    return inner_project


def test_the_ci_recipes_run_as_written(shop: pytest.Pytester) -> None:
    assert len(blocks("ci.md")) == 2, "the kind split and the shards"
    env = environment()
    # A first run writes the goldens and baselines, so the recipes start from green.
    run_line("pytest --dual-read --snapshot-update", shop.path, env)
    with following("ci.md", shop.path, env) as ran:
        pass
    assert any("-m dual_read_dto" in line for line in ran)
    merged = load_report(shop.path / "dual-read-results" / "report.json")
    assert merged.run.complete
    assert merged.run.selection is not None
    assert merged.run.selection.deselected == 0
    assert {c.kind for c in merged.checks} == {"dto", "visual"}
