"""What a run says as a whole: per-field statistics, from real runs of the plugin."""

from __future__ import annotations

import pytest
from conftest import RunDualRead, add_dualread_table

from pytest_dualread.report import merge_reports
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
