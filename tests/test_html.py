"""The HTML report: rendered from a synthetic report with real PNG files, opened in Chromium.

Chromium is Debian's (/usr/bin/chromium), launched through Playwright's sync API with
``executable_path`` (see BROWSER.md §2); one browser for the module, a fresh page per test.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from conftest import synthetic_report

from pytest_dualread.html import render_html, write_html
from pytest_dualread.insight import field_stats
from pytest_dualread.report import (
    Check,
    Report,
    dump_report,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = Path("/usr/bin/chromium")
SIDES = ("legacy", "adapter")
ROLES = ("expected", "actual", "diff")


def png(path: Path, colour: tuple[int, int, int], size: tuple[int, int] = (64, 40)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def visual_check(root: Path, slug: str, outcome: str) -> Check:
    artifacts = {}
    for side in SIDES:
        for n, role in enumerate(ROLES):
            rel = f"artifacts/{slug}/{side}/{role}.png"
            # both sides' expected image is the one baseline: the same bytes
            png(root / rel, (40 * n, 100 if side == "legacy" or role == "expected" else 200, 80))
            artifacts[f"{side}.{role}"] = rel
    comparisons = [
        {"name": "legacy_vs_baseline", "passed": True, "width": 64, "height": 40},
        {
            "name": "adapter_vs_baseline",
            "passed": outcome != "failed",
            "mismatch_pixels": 32 if outcome == "failed" else 0,
            "mismatch_ratio": 0.0125 if outcome == "failed" else 0.0,
            "width": 64,
            "height": 40,
            "boxes": [[10, 5, 8, 4]] if outcome == "failed" else [],
        },
    ]
    findings = []
    if outcome == "failed":
        findings.append(
            {
                "comparison": "adapter_vs_baseline",
                "path": slug,
                "category": "pixels",
                "delta": 0.0125,
                "message": "32 of 2560 pixels differ",
                "detail": {"boxes": [[10, 5, 8, 4]], "passed": False},
            }
        )
    return Check.model_validate(
        {
            "id": f"pages/{slug}",
            "nodeid": f"tests/visual/test_pages.py::test_page[{slug}]",
            "kind": "visual",
            "outcome": outcome,
            "artifacts": artifacts,
            "findings": findings,
            "data": {
                "mismatch_ratio": 0.0125 if outcome == "failed" else 0.0,
                "comparisons": comparisons,
            },
        }
    )


def dto_check(cid: str, outcome: str, triage: str | None = None) -> Check:
    findings: list[dict[str, Any]] = []
    if outcome == "failed":
        findings.append(
            {
                "comparison": "adapter_vs_golden",
                "path": "meals[breakfast].kcal",
                "category": "value",
                "values": {"legacy": 410, "adapter": 520, "golden": 410},
                "delta": 110.0,
                "tolerance": {"abs": 80},
                "headroom": 1.375,
                "triage": triage,
                "message": "110 beyond abs 80",
            }
        )
        findings.append(
            {
                "comparison": "adapter_vs_legacy",
                "path": "meals[breakfast].note",
                "category": "missing",
                "values": {"legacy": None},
                "triage": triage,
            }
        )
    return Check.model_validate(
        {
            "id": cid,
            "nodeid": f"fixtures/dual_read/meals.json::{cid}",
            "kind": "dto",
            "outcome": outcome,
            "message": "1 of 12 fields differ" if outcome == "failed" else "",
            "findings": findings,
            "data": {"field_deltas": field_deltas(outcome)},
        }
    )


def field_deltas(outcome: str) -> list[dict[str, Any]]:
    kcal = {"comparison": "adapter_vs_golden", "pattern": "meals[*].kcal"}
    if outcome == "failed":
        note = {"comparison": "adapter_vs_legacy", "pattern": "meals[*].note", "differs": True}
        return [{**kcal, "differs": True, "delta": 110.0, "share": 1.375}, note]
    return [{**kcal, "delta": 40.0, "share": 0.5}] if outcome == "passed" else []


def build(root: Path) -> Report:
    checks = [
        dto_check("cases/log-1", "passed"),
        dto_check("cases/log-2", "failed", "adapter_regression"),
        dto_check("cases/log-3", "failed", "upstream_drift"),
        dto_check("cases/<script>alert(1)</script>", "error"),
        dto_check("cases/log-5", "skipped"),
        visual_check(root, "dashboard", "failed"),
        visual_check(root, "summary", "passed"),
    ]
    checks.sort(key=lambda c: c.id)
    report = synthetic_report(
        checks,
        status="fail",
        reasons=["2 failed and 1 errored checks (allowed: 0)"],
        browser="chromium 156",
    )
    return report.model_copy(update={"fields": field_stats(checks)})


@pytest.fixture
def output(tmp_path: Path) -> tuple[Path, Report]:
    root = tmp_path / "dual-read-results"
    report = build(root)
    (root / "report.json").write_text(dump_report(report))
    return root, report


# -- rendering ------------------------------------------------------------------------------------


def with_bodies(html: str) -> str:
    """The page with the failing checks' bodies, which it carries as text in a JSON block."""
    block = re.search(r'<script type="application/json" id="dr-bodies">(.*?)</script>', html, re.S)
    assert block is not None
    return html.replace(block.group(1), "") + "".join(json.loads(block.group(1)))


def test_markup_is_escaped_and_values_shown_side_by_side(output: tuple[Path, Report]) -> None:
    root, report = output
    text = with_bodies(render_html(report, base_dir=root))
    assert "<script>alert(1)</script>" not in text
    assert "cases/&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert (
        '<td class="mono num">410</td><td class="mono num">520</td><td class="mono num">410</td>'
    ) in text
    assert '<td class="mono num">null</td>' in text  # legacy: a JSON null
    assert '<td class="mono num absent">—</td>' in text  # adapter: the field is absent
    assert "abs 80" in text
    assert "http://" not in text.replace("http://www.w3.org", "")
    assert "https://" not in text


def test_image_paths_are_relative_and_unsafe_ones_are_not_shown(tmp_path: Path) -> None:
    check = Check.model_validate(
        {
            "id": "pages/x",
            "nodeid": "n",
            "kind": "visual",
            "outcome": "failed",
            "artifacts": {
                "legacy.actual": "artifacts/x y/actual.png",
                "legacy.expected": "../../etc/expected.png",
                "adapter.diff": "/abs/diff.png",
                "trace": "artifacts/x/trace.zip",
            },
        }
    )
    report = build(tmp_path).model_copy(update={"checks": [check]})
    text = with_bodies(render_html(report, base_dir=tmp_path))
    assert 'src="artifacts/x%20y/actual.png"' in text
    assert "missing: the file is not beside the report" in text
    assert text.count("not shown: the path leaves the report&#39;s folder") == 2
    assert '<a href="artifacts/x/trace.zip">artifacts/x/trace.zip</a>' in text
    elsewhere = with_bodies(render_html(report, base_dir=tmp_path, out_dir=tmp_path / "site"))
    assert 'src="../artifacts/x%20y/actual.png"' in elsewhere


def test_embed_inlines_each_image_once(output: tuple[Path, Report], tmp_path: Path) -> None:
    root, report = output
    target = tmp_path / "portable" / "report.html"
    write_html(report, target, embed=True, base_dir=root)
    text = with_bodies(target.read_text())
    # five distinct pictures (the baseline is both sides' expected), each inlined once, though
    # the failing comparison shows its three in side by side, two in the slider, two in the
    # overlay and one beside its cause
    assert text.count("data:image/png;base64,") == 5
    assert text.count("<img data-img=") == 3 + 2 + 2 + 1
    assert 'src="artifacts/' not in text


def test_the_html_file_gets_the_mode_of_any_new_file(
    output: tuple[Path, Report], tmp_path: Path
) -> None:
    # A CI artifact or a web server must be able to read it: not mkstemp's 0600.
    root, report = output
    target = tmp_path / "site" / "report.html"
    old = os.umask(0o022)
    try:
        write_html(report, target, base_dir=root)
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_dualread_html_command(output: tuple[Path, Report], tmp_path: Path) -> None:
    root, _ = output
    target = tmp_path / "site" / "index.html"
    done = subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", "html", root / "report.json", "-o", target],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert 'src="../dual-read-results/artifacts/dashboard/adapter/diff.png"' in with_bodies(
        target.read_text()
    )
    missing = subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", "html", tmp_path / "no.json", "-o", target],
        capture_output=True,
        text=True,
        check=False,
    )
    assert missing.returncode == 2
    assert "no such report file" in missing.stderr


# -- in Chromium ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield context.new_page()
    context.close()


def visible_ids(page: Page) -> list[str]:
    ids: list[str] = page.eval_on_selector_all(
        "details.check", "els => els.filter(e => !e.hidden).map(e => e.dataset.id)"
    )
    return ids


def open_report(page: Page, path: Path, hash: str = "") -> None:
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(path.resolve().as_uri() + hash)
    page.wait_for_load_state("load")
    assert errors == []


def open_rows(page: Page) -> None:
    """Every row opened, the folded passing ones built first."""
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.wait_for_function("() => !document.getElementById('dr-passing')")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => { d.open = true; })")
    page.wait_for_function("() => !document.querySelector('details.check[data-body]')")


def assert_images_render(page: Page, at_least: int) -> None:
    page.wait_for_function("() => [...document.images].every(i => i.complete)")
    widths: list[int] = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
    assert len(widths) >= at_least
    assert all(w == 64 for w in widths), widths


def test_report_loads_with_counts_of_the_json(output: tuple[Path, Report], page: Page) -> None:
    root, report = output
    write_html(report, root / "report.html")
    open_report(page, root / "report.html")
    assert page.text_content("#verdict") == "fail"
    s = report.summary
    for name, value in [("total", s.total), ("passed", s.passed), ("failed", s.failed),
                        ("errors", s.errors), ("skipped", s.skipped)]:  # fmt: skip
        assert page.text_content(f'tr[data-kind="all"] td[data-count="{name}"]') == str(value)
    assert page.text_content('tr[data-kind="visual"] td[data-count="total"]') == "2"
    # passing checks are folded, and their rows built only when the fold opens
    assert page.locator("details.check").count() == 3 + 1
    assert page.text_content("#shown-count") == str(len(report.checks))
    assert page.locator('details.check[data-outcome="failed"]').count() == 3
    # bodies are built when opened: nothing of a check's pictures is in the page before
    assert page.locator('details.check[data-id="pages/dashboard"] img').count() == 0
    open_rows(page)
    assert page.locator("details.check").count() == len(report.checks)
    dashboard = page.locator('details.check[data-id="pages/dashboard"]')
    # the failing comparison shows its pictures; the passing one is a tick
    assert dashboard.locator('.group[data-group="adapter"] img').count() == 3 + 2 + 2
    assert (
        dashboard.locator('.group-ok[data-group="legacy"]')
        .text_content()
        .strip()
        .startswith("✓ legacy vs baseline")
    )
    captions = dashboard.locator('.view[data-view="side"] figcaption b').all_text_contents()
    assert captions == ["baseline", "adapter", "diff"]
    assert_images_render(page, at_least=3 + 2 + 2 + 1)


def test_filters_search_and_sort(output: tuple[Path, Report], page: Page) -> None:
    root, report = output
    write_html(report, root / "report.html")
    open_report(page, root / "report.html")
    page.select_option("#filter-outcome", "failed")
    assert visible_ids(page) == ["cases/log-2", "cases/log-3", "pages/dashboard"]
    assert page.text_content("#shown-count") == "3"
    page.select_option("#filter-kind", "dto")
    assert visible_ids(page) == ["cases/log-2", "cases/log-3"]
    page.select_option("#filter-triage", "upstream_drift")
    assert visible_ids(page) == ["cases/log-3"]
    page.select_option("#filter-outcome", "")
    page.select_option("#filter-triage", "none")
    assert visible_ids(page) == ["cases/<script>alert(1)</script>", "cases/log-1", "cases/log-5"]
    assert page.locator("#passing").evaluate("e => e.open"), "a filter showing passes opens them"
    page.select_option("#filter-kind", "")
    page.select_option("#filter-triage", "")
    assert len(visible_ids(page)) == len(report.checks)
    page.fill("#search", "DASHBOARD")
    assert visible_ids(page) == ["pages/dashboard"]
    page.fill("#search", "breakfast].kcal")  # the fields found are searchable too
    assert visible_ids(page) == ["cases/log-2", "cases/log-3"]
    page.fill("#search", "")
    page.select_option("#sort", "share")
    failing = page.eval_on_selector_all(
        "#failing > details.check", "els => els.map(e => e.dataset.id)"
    )
    assert failing[:2] == ["cases/log-2", "cases/log-3"], "x1.375 of the tolerance first"
    # The filter is kept in the address, so a shared link opens filtered.
    page.select_option("#filter-kind", "visual")
    page.reload()
    assert visible_ids(page) == ["pages/dashboard", "pages/summary"]


def test_a_link_to_a_check_opens_it_below_the_sticky_bar(
    output: tuple[Path, Report], page: Page
) -> None:
    root, report = output
    write_html(report, root / "report.html")
    open_report(page, root / "report.html", "#check-pages%2Fsummary")
    row = page.locator('details.check[data-id="pages/summary"]')
    assert row.evaluate("e => e.open"), "a passing check is opened out of its fold"
    bar = page.locator("#filters").bounding_box()
    box = row.bounding_box()
    assert bar is not None
    assert box is not None
    assert box["y"] >= bar["y"] + bar["height"], "the check's title is not under the sticky bar"


def test_slider_and_overlay_views(output: tuple[Path, Report], page: Page) -> None:
    root, report = output
    write_html(report, root / "report.html")
    open_report(page, root / "report.html")
    open_rows(page)
    group = page.locator('details.check[data-id="pages/dashboard"] .group[data-group="adapter"]')
    assert group.locator('.view[data-view="side"]').is_visible()
    group.locator('button[data-view="slider"]').click()
    assert group.locator('.view[data-view="slider"]').is_visible()
    assert not group.locator('.view[data-view="side"]').is_visible()
    assert group.locator(".handle").is_visible(), "the slider has a handle one can see"
    group.locator(".slider-input").fill("30")
    clip = group.locator(".slider-top").evaluate("e => e.style.clipPath")
    assert clip == "inset(0px 70% 0px 0px)"
    assert group.locator(".handle").evaluate("e => e.style.left") == "30%"
    captions = group.locator(".slider-caption b").all_text_contents()
    assert captions == ["baseline", "adapter"]
    group.locator('button[data-view="overlay"]').click()
    group.locator(".overlay-input").fill("25")
    assert group.locator(".overlay-top").evaluate("e => e.style.opacity") == "0.25"
    group.locator('button[data-view="side"]').click()
    group.locator("a.thumb").first.click()
    assert page.locator("dialog#zoom").is_visible(), "a thumbnail zooms"
    assert page.locator("dialog#zoom .zoom-stage rect").count() == 1, "with its changed box"


def test_embedded_report_renders_images_from_anywhere(
    output: tuple[Path, Report], page: Page, tmp_path: Path
) -> None:
    root, report = output
    target = tmp_path / "elsewhere" / "report.html"
    write_html(report, target, embed=True, base_dir=root)
    os.rename(root, tmp_path / "gone")  # the artifacts are no longer beside anything
    open_report(page, target)
    open_rows(page)
    assert_images_render(page, at_least=3 + 2 + 2 + 1)


def test_readable_at_900_px(output: tuple[Path, Report], page: Page) -> None:
    root, report = output
    write_html(report, root / "report.html")
    page.set_viewport_size({"width": 900, "height": 800})
    open_report(page, root / "report.html")
    open_rows(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 900, "no sideways scroll"
    align = page.locator("td.num").first.evaluate("e => getComputedStyle(e).textAlign")
    assert align == "right"
