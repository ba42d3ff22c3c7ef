"""Visual triage like DTO triage, size mismatches with a picture, baseline sidecars that follow
their pixels, and stale baselines. Real Chromium; one page's life over a few inner runs
(subprocesses: pytest-playwright cannot nest in-process)."""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table

from pytest_dualread.imagediff import decode_png
from pytest_dualread.report import Check, VisualData

SITE = '''
"""One card; VIS_BOTH changes both sides alike, VIS_BUG=tall makes the adapter's page taller."""
import os

PAGE = """<!doctype html><html><head><style>
body {{ margin: 0; font-family: "Liberation Sans", sans-serif; background: #fff; }}
.card {{ width: 300px; margin: 20px; padding: 16px; border: 1px solid #ccc; }}
.total {{ color: {colour}; font-size: 24px; }}
</style></head><body>
<div class="card"><div class="total">Total: 1426 kcal</div>{extra}</div></body></html>"""

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    adapter = headers.get("x-side") == "adapter"
    colour = "#cf222e" if os.environ.get("VIS_BOTH") else "#1a7f37"
    tall = adapter and os.environ.get("VIS_BUG") == "tall"
    extra = '<div style="height: 300px; background: #eee"></div>' if tall else ""
    body = PAGE.format(colour=colour, extra=extra).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})
'''

CONFIG = """
[tool.dualread]
legacy_url = "triagesite:app"
adapter_url = "triagesite:app"

[tool.dualread.legacy]
headers = { "X-Side" = "legacy" }

[tool.dualread.adapter]
headers = { "X-Side" = "adapter" }

[tool.dualread.visual]
viewport = { width = 400, height = 200 }
stabilize_timeout_s = 3
pages = [{ name = "card", path = "/card" }]
"""


@pytest.fixture
def site(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(triagesite=SITE)
    add_dualread_table(inner_project, CONFIG)
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(inner_project.path), *([inherited] if inherited else [])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.delenv("VIS_BUG", raising=False)
    monkeypatch.delenv("VIS_BOTH", raising=False)
    return inner_project


def only_check(run: object) -> Check:
    report = getattr(run, "report", None)
    assert report is not None, "no report was written"
    (check,) = report.checks
    assert isinstance(check, Check)
    return check


def test_a_page_over_its_life_is_triaged_like_a_dto(
    site: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    baseline = site.path / "snapshots/visual/pyproject/card.png"
    sidecar = baseline.with_name("card.env.json")
    run_dualread("--dual-read", "--snapshot-update", subprocess=True).result.assert_outcomes(
        passed=1
    )
    pixels = baseline.read_bytes()

    # A browser patch that changed no pixel: --snapshot-update leaves baseline and sidecar be.
    patched = json.loads(sidecar.read_text())
    patched["browser"] = "chromium 150.0.0.0"
    sidecar.write_text(json.dumps(patched))
    again = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    again.result.assert_outcomes(passed=1)
    assert json.loads(sidecar.read_text()) == patched, "the sidecar was not rewritten"
    assert baseline.read_bytes() == pixels
    assert isinstance(only_check(again).data, VisualData)
    assert only_check(again).data.baseline_written is None  # type: ignore[union-attr]

    # Both sides changed alike: the baseline is stale, which does not block.
    old = baseline.with_name("renamed-page.png")
    old.write_bytes(pixels)
    monkeypatch.setenv("VIS_BOTH", "1")
    drift = run_dualread("--dual-read", subprocess=True)
    drift.result.assert_outcomes(failed=1)
    check = only_check(drift)
    assert {(f.comparison, f.triage) for f in check.findings} == {
        ("legacy_vs_baseline", "upstream_drift"),
        ("adapter_vs_baseline", "upstream_drift"),
    }
    assert "the baseline is stale" in check.message
    assert "environment changed since the baseline: browser: baseline made with 'chromium 150" in (
        check.message
    ), "legacy differs from its baseline and the browser changed"
    assert drift.report is not None
    assert drift.report.verdict.status == "pass", drift.report.verdict.reasons
    assert drift.report.verdict.reasons == [
        "not blocking: 1 failed check explained by stale baselines: pyproject.toml::card"
    ]
    assert [(s.kind, s.name) for s in drift.report.stale] == [
        ("baseline", "snapshots/visual/pyproject/renamed-page.png")
    ]
    command = re.search(r"`(pytest --dual-read --snapshot-update [^`]+)`", check.message)
    assert command is not None, check.message

    # The adapter's page grows: a size mismatch, located, with a picture.
    monkeypatch.delenv("VIS_BOTH")
    monkeypatch.setenv("VIS_BUG", "tall")
    taller = run_dualread("--dual-read", "--dual-read-artifacts", "all", subprocess=True)
    taller.result.assert_outcomes(failed=1)
    check = only_check(taller)
    assert {(f.comparison, f.category, f.triage) for f in check.findings} == {
        ("adapter_vs_baseline", "size", "adapter_regression"),
        ("adapter_vs_legacy", "size", "adapter_regression"),
    }
    assert "environment changed" not in check.message, "legacy still matches its baseline"
    pair = next(f for f in check.findings if f.comparison == "adapter_vs_legacy")
    width, height = pair.detail["width"], pair.detail["height"]
    assert (width, 200) == tuple(pair.detail["expected_size"])
    assert height > 200
    assert 0 < pair.detail["mismatch_pixels"] < width * height
    assert pair.detail["boxes"]
    assert all(y >= 40 for _x, y, _w, _h in pair.detail["boxes"]), (
        "the changed area is located below the unchanged total line, not the whole page"
    )
    diff = site.path / "dual-read-results" / check.artifacts["adapter_vs_legacy.diff"]
    assert decode_png(diff.read_bytes()).shape[:2] == (height, width)

    # The command the stale baseline named refreshes it, sidecar included.
    monkeypatch.delenv("VIS_BUG")
    monkeypatch.setenv("VIS_BOTH", "1")
    args = shlex.split(command.group(1))[1:]
    site.runpytest_subprocess(*args).assert_outcomes(passed=1)
    assert baseline.read_bytes() != pixels
    assert json.loads(sidecar.read_text())["browser"] != "chromium 150.0.0.0"
    run_dualread("--dual-read", subprocess=True).result.assert_outcomes(passed=1)


def test_stale_baselines_are_those_of_used_folders_in_unfiltered_runs(tmp_path: Path) -> None:
    from pytest_dualread.stale import narrowed, stale_baselines

    folder = tmp_path / "snapshots/visual/test_pages"
    folder.mkdir(parents=True)
    for name in ("card", "gone", "other"):
        (folder / f"{name}.png").write_bytes(b"png")
    elsewhere = tmp_path / "snapshots/visual/test_unrun"
    elsewhere.mkdir()
    (elsewhere / "kept.png").write_bytes(b"png")

    def visual(nodeid: str, baseline: str | None) -> Check:
        data = VisualData(baseline_path=baseline) if baseline else VisualData()
        return Check(id=nodeid, nodeid=nodeid, kind="visual", outcome="passed", data=data)

    used = [
        visual("test_pages.py::test_card", "snapshots/visual/test_pages/card.png"),
        visual("test_pages.py::test_other", "snapshots/visual/test_pages/other.png"),
    ]
    assert [s.name for s in stale_baselines(used, tmp_path)] == [
        "snapshots/visual/test_pages/gone.png"
    ]
    errored = [*used, visual("test_pages.py::test_broken", None)]
    assert stale_baselines(errored, tmp_path) == [], "a check that never located its baseline"
    assert not narrowed(["--dual-read"], None, False)
    assert narrowed(["--dual-read", "test_pages.py::test_card"], None, False)
    assert narrowed(["--dual-read"], {"deselected": 2, "filters": ["-k"]}, False)
    assert narrowed(["--dual-read"], {"deselected": 0, "filters": ["--lf"]}, False)
    assert narrowed(["--dual-read"], None, True)
