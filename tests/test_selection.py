"""Selecting dual-read checks: by kind with markers (pyproject pages and cases included), and
by shard like Playwright Test, deterministic, balanced by durations, sharing one folder."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import RunDualRead, add_dualread_table, synthetic_report

from pytest_dualread.report import Check, load_report

SHOP = '''
"""Items as JSON and a card page as HTML, the same on both sides."""
import json

async def app(scope, receive, send):
    path = scope["path"]
    if path.startswith("/items/"):
        body, ctype = json.dumps({"id": int(path[7:]), "name": "tea"}), "application/json"
    else:
        body, ctype = "<!doctype html><p style='margin:20px'>card</p>", "text/html"
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", ctype.encode())]})
    await send({"type": "http.response.body", "body": body.encode()})
'''

MODELS = """
from pydantic import BaseModel

class Item(BaseModel):
    id: int
    name: str
"""

TESTS = """
import pytest

@pytest.mark.parametrize("n", range(4))
def test_item(dual_read, n):
    dual_read.check(f"/items/{n}", golden=False)

@pytest.mark.dual_read(kind="visual")
def test_card_in_python(dual_read):
    dual_read.check_page("/card")

def test_plain():
    pass
"""

CONFIG = """
[tool.dualread]
legacy_url = "shop:app"
adapter_url = "shop:app"
cases_dir = "cases"

[tool.dualread.visual]
viewport = { width = 200, height = 100 }
pages = [{ name = "card", path = "/card" }]
"""

CASES = {
    "model": "shop_models:Item",
    "cases": [{"id": f"item-{n}", "request": {"path": f"/items/{n}"}} for n in range(2)],
}

DTO_IDS = [
    "cases/items.json::item-0",
    "cases/items.json::item-1",
    *(f"test_shop.py::test_item[{n}]" for n in range(4)),
]
VISUAL_IDS = ["pyproject.toml::card", "test_shop.py::test_card_in_python"]


@pytest.fixture
def shop(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(shop=SHOP, shop_models=MODELS, test_shop=TESTS)
    add_dualread_table(inner_project, CONFIG)
    inner_project.mkdir("cases")
    (inner_project.path / "cases" / "items.json").write_text(json.dumps(CASES))
    monkeypatch.syspath_prepend(str(inner_project.path))
    return inner_project


def collected(run: object) -> list[str]:
    lines = run.result.stdout.lines  # type: ignore[attr-defined]
    return sorted(line for line in lines if "::" in line and " " not in line)


def test_markers_select_each_kind_including_cases_and_pyproject_pages(
    shop: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    dto = run_dualread("--dual-read", "--collect-only", "-q", "-m", "dual_read_dto")
    assert collected(dto) == DTO_IDS
    visual = run_dualread("--dual-read", "--collect-only", "-q", "-m", "dual_read_visual")
    assert collected(visual) == VISUAL_IDS
    # Without --dual-read too: the markers select the checks pytest then skips.
    plain = run_dualread("--collect-only", "-q", "-m", "not dual_read_dto and not dual_read_visual")
    assert collected(plain) == ["test_shop.py::test_plain"]


def shard_ids(run_dualread: RunDualRead, *args: str) -> list[str]:
    return collected(run_dualread("--dual-read", "--collect-only", "-q", *args))


def test_shards_split_every_item_once_and_durations_balance_them(
    shop: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    everything = sorted([*DTO_IDS, *VISUAL_IDS])
    shards = [shard_ids(run_dualread, f"--dual-read-shard={k}/3") for k in (1, 2, 3)]
    for shard in shards:  # tests that are not dual-read checks run in every shard
        shard.remove("test_shop.py::test_plain")
    assert sorted(i for shard in shards for i in shard) == everything
    assert [len(shard) for shard in shards] == [3, 3, 2], "without durations: even shards"
    # Measured durations: longest first onto the least loaded shard. The one item the report
    # does not know weighs the median of those it knows.
    seconds = dict(zip(everything, [8, 7, 6, 5, 4, 3, 2], strict=False))
    checks = [
        Check(id=i, nodeid=i, kind="dto", outcome="passed", duration_s=s)
        for i, s in seconds.items()
    ]
    (shop.path / "earlier.json").write_text(synthetic_report(checks).model_dump_json())
    durations = "--dual-read-durations=earlier.json"
    balanced = [shard_ids(run_dualread, f"--dual-read-shard={k}/2", durations) for k in (1, 2)]
    for shard in balanced:
        shard.remove("test_shop.py::test_plain")
    # 8 A, 7 B, 6 B (13), 5 A (13), the unknown one (5) A (18), 4 B (17), 3 B (20), 2 A (20)
    assert balanced == [
        [
            "cases/items.json::item-0",
            "test_shop.py::test_card_in_python",
            "test_shop.py::test_item[2]",
            "test_shop.py::test_item[3]",
        ],
        [
            "cases/items.json::item-1",
            "pyproject.toml::card",
            "test_shop.py::test_item[0]",
            "test_shop.py::test_item[1]",
        ],
    ]
    bad = run_dualread("--dual-read", "--dual-read-shard=3/2")
    assert bad.result.ret == pytest.ExitCode.USAGE_ERROR
    bad.result.stderr.fnmatch_lines(["*--dual-read-shard: expected K/N with 1 <= K <= N*"])


def test_shards_share_one_output_folder_and_merge_into_a_whole_run(
    shop: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    pyproject = shop.path / "pyproject.toml"
    pyproject.write_text(
        pyproject.read_text().replace('pages = [{ name = "card", path = "/card" }]', "")
    )
    tests = shop.path / "test_shop.py"
    tests.write_text(
        tests.read_text().replace('@pytest.mark.dual_read(kind="visual")', "@pytest.mark.skip")
    )
    out = shop.path / "dual-read-results"
    for k in (1, 2):
        run = run_dualread(
            "--dual-read",
            f"--dual-read-shard={k}/2",
            "--snapshot-update",
            report=f"dual-read-results/report-{k}-of-2.json",
        )
        assert run.report is not None
        selection = run.report.run.selection
        assert selection is not None
        assert selection.deselected > 0
        assert f"--dual-read-shard={k}/2" in selection.filters
        run.result.stdout.fnmatch_lines([f"*partial run: --dual-read-shard={k}/2 left out*"])
    assert sorted(p.name for p in out.glob("report*")) == [
        "report-1-of-2.html",
        "report-1-of-2.json",
        "report-2-of-2.html",
        "report-2-of-2.json",
    ]
    shards = [load_report(out / f"report-{k}-of-2.json") for k in (1, 2)]
    ids = sorted(c.id for r in shards for c in r.checks)
    assert ids == sorted([*DTO_IDS, VISUAL_IDS[1]]), "each check ran in exactly one shard"
    cli = [sys.executable, "-m", "pytest_dualread.cli"]
    merged = out / "report.json"
    subprocess.run(
        [*cli, "merge", *(str(out / f"report-{k}-of-2.json") for k in (1, 2)), "-o", str(merged)],
        check=True,
        cwd=shop.path,
    )
    gate = subprocess.run(
        [*cli, "gate", str(merged)], cwd=shop.path, capture_output=True, text=True
    )
    assert gate.returncode == 0, gate.stdout + gate.stderr


def test_paths_that_leave_declared_case_files_or_pages_out_make_a_partial_run(
    shop: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    (shop.path / "cases" / "more.json").write_text(json.dumps(CASES))
    only_items = run_dualread("--dual-read", "cases/items.json", "test_shop.py::test_item")
    assert only_items.report is not None
    selection = only_items.report.run.selection
    assert selection is not None
    # more.json's two cases and the pyproject page are declared and were not run
    assert (selection.collected, selection.deselected, selection.filters) == (9, 3, ["paths"])
    gate = subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", "gate", str(only_items.report_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert gate.returncode == 2, gate.stdout
    assert "partial run: paths left out 3 of 9 dual-read items" in gate.stderr
    # Naming every declared file is a whole run (the page is deselected here: no browser).
    every = run_dualread(
        "--dual-read", "cases", "test_shop.py::test_item", "pyproject.toml", "--deselect",
        "pyproject.toml::card",
    )  # fmt: skip
    assert every.report is not None
    assert every.report.run.selection is not None
    assert every.report.run.selection.filters == ["--deselect"]
    assert every.report.run.selection.deselected == 1
