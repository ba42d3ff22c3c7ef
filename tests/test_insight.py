"""What a run says as a whole: per-field statistics, from real runs of the plugin."""

from __future__ import annotations

import pytest
from conftest import RunDualRead, add_dualread_table

from pytest_dualread.html import reproduce_lines
from pytest_dualread.insight import causes, clusters
from pytest_dualread.report import Check, merge_reports
from pytest_dualread.tolerance import Tolerance

FAT_SERVICE = '''
"""Meal logs; the adapter (X-Side: adapter) moves fat_g by a per-log amount."""
import json

MOVES = {"1": 0.05, "2": 0.5, "3": 0.0}

async def app(scope, receive, send):
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    log = scope["path"].rsplit("/", 1)[-1]
    adapter = headers.get("x-side") == "adapter"
    move = MOVES[log] if adapter else 0.0
    note = "changed" if adapter and log == "2" else "same"
    body = {"note": note, "meals": [
        {"name": "breakfast", "items": [{"food": "oats", "fat_g": 2.0 + move}]},
        {"name": "lunch", "items": [{"food": "tea", "fat_g": 0.0},
                                    {"food": "egg", "fat_g": 5.0 + move / 2}]},
    ]}
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
'''

FAT_CONFIG = """
[tool.dualread]
legacy_url = "fatsvc:app"
adapter_url = "fatsvc:app"

[tool.dualread.legacy]
headers = { "X-Side" = "legacy" }

[tool.dualread.adapter]
headers = { "X-Side" = "adapter" }
"""

FAT_TESTS = """
import pytest

@pytest.mark.parametrize("log", ["1", "2", "3"])
def test_log(dual_read, log):
    dual_read.check(f"/logs/{log}", golden=False, tolerances={"**.fat_g": {"abs": 0.1}})
"""


@pytest.fixture
def fat_project(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(fatsvc=FAT_SERVICE, test_fat=FAT_TESTS)
    add_dualread_table(inner_project, FAT_CONFIG)
    monkeypatch.syspath_prepend(str(inner_project.path))
    return inner_project


def test_fields_carry_every_checks_largest_delta_and_merged_shards_agree(
    fat_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    whole = run_dualread("--dual-read")
    whole.result.assert_outcomes(passed=2, failed=1)
    assert whole.report is not None
    by_pattern = {(f.comparison, f.pattern): f for f in whole.report.fields}
    assert set(by_pattern) == {
        ("adapter_vs_legacy", "meals[*].items[*].fat_g"),
        ("adapter_vs_legacy", "note"),
    }, "one entry per field, list elements as [*]; fields that never moved are absent"
    fat = by_pattern["adapter_vs_legacy", "meals[*].items[*].fat_g"]
    assert fat.checks_differing == 1, "only log 2 moved fat_g beyond its tolerance"
    assert fat.checks_moved == 2, "log 1 moved it within tolerance: the passing check counts"
    assert fat.deltas == [0.5, pytest.approx(0.05)], "each moving check's largest delta"
    assert fat.max_delta == 0.5
    assert fat.max_share == pytest.approx(5.0), "0.5 where 0.1 is allowed: five times over"
    assert fat.tolerance == Tolerance(abs=0.1)
    note = by_pattern["adapter_vs_legacy", "note"]
    assert (note.checks_differing, note.max_delta, note.max_share, note.deltas) == (
        1,
        None,
        None,
        [],
    )
    assert whole.report.fields[0].pattern == "meals[*].items[*].fat_g", "worst share first"

    shards = [run_dualread("--dual-read", "-k", select).report for select in ("1", "not 1")]
    assert all(shard is not None for shard in shards)
    merged = merge_reports([s for s in shards if s is not None])
    assert merged.fields == whole.report.fields, "shards merged say what the whole run said"


def dto(cid: str, outcome: str, *paths: str, share: float = 2.0, url: str = "") -> Check:
    findings = [
        {
            "comparison": "adapter_vs_legacy",
            "path": path,
            "category": "value",
            "values": {"legacy": 1.0, "adapter": 10.0},
            "delta": 9.0,
            "headroom": share,
        }
        for path in paths
    ]
    urls = {"legacy": url.replace("SIDE", "legacy"), "adapter": url.replace("SIDE", "adapter")}
    return Check.model_validate(
        {
            "id": cid,
            "nodeid": cid,
            "kind": "dto",
            "outcome": outcome,
            "findings": findings,
            "data": {"urls": urls if url else {}, "request": {"method": "GET"}},
        }
    )


def page(cid: str, box: list[int]) -> Check:
    finding = {
        "comparison": "adapter_vs_legacy",
        "path": cid,
        "category": "pixels",
        "delta": 0.01,
        "detail": {"boxes": [box], "passed": False},
    }
    return Check.model_validate(
        {"id": cid, "nodeid": cid, "kind": "visual", "outcome": "failed", "findings": [finding]}
    )


def test_clusters_group_failing_checks_by_fields_and_regions_and_causes_by_root() -> None:
    checks = [
        dto("log-1", "failed", "meals[lunch].items[=3].fat_g", share=3.0),
        dto("log-2", "failed", "meals[dinner].items[=7].fat_g", share=9.0),
        dto("log-3", "failed", "meals[dinner].items[=7].fat_g", "meals[dinner].kcal"),
        dto("day-1", "failed", "fat_g"),
        dto("log-4", "passed"),
        page("page-a", [120, 210, 30, 12]),
        page("page-b", [130, 220, 20, 10]),  # the same cells of the grid: the same region
        page("page-c", [900, 20, 10, 10]),
    ]
    found = clusters(checks)
    assert [(c.size, [m.id for m in c.checks]) for c in found] == [
        (2, ["log-1", "log-2"]),
        (2, ["page-a", "page-b"]),
        (1, ["day-1"]),
        (1, ["log-3"]),
        (1, ["page-c"]),
    ]
    assert found[0].signature == (("adapter_vs_legacy", "meals[*].items[*].fat_g", "value"),)
    assert found[0].representative.id == "log-2", "the largest multiple of its tolerance"
    assert found[1].signature == (("adapter_vs_legacy", "x 100-200, y 200-300", "pixels"),)
    grouped = causes(found)
    assert [(c.root, c.size, len(c.clusters)) for c in grouped] == [
        ("fat_g value", 4, 3),
        ("pages pixels", 3, 2),
    ]


def test_reproduce_lines_are_curl_for_both_sides_without_secrets() -> None:
    check = dto("log-1", "failed", "kcal", url="https://bob:hunter2@SIDE.example/logs/1?day=2")
    assert reproduce_lines(check) == [
        "curl -sS 'https://bob:<redacted>@legacy.example/logs/1?day=2'  # legacy",
        "curl -sS 'https://bob:<redacted>@adapter.example/logs/1?day=2'  # adapter",
    ]
