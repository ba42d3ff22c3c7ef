"""The example with a seeded bug, as a release engineer sees it: the run writes report.html and
metrics, and the HTML, opened in Chromium, shows the failing checks with their images."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from pytest_dualread.report import load_report

ROOT = Path(__file__).resolve().parent.parent
SELECTION = [
    "fixtures/dual_read/meal_logs.json::log-2-lunch",
    "fixtures/dual_read/meal_logs.json::log-12-zero-kcal",
    "tests/visual/test_dashboard.py::test_dashboard[showcase-utc+9]",
]


@pytest.fixture(scope="module")
def bug_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example's whole DTO suite and one page, with the mg_to_g bug switched on."""
    out = tmp_path_factory.mktemp("mg_to_g")
    env = {**os.environ, "MEAL_LOG_ADAPTER_BUG": "mg_to_g", "METRIC_ENV": "staging"}
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "--dual-read", "-p", "no:cacheprovider",
            f"--dual-read-output={out}", f"--dual-read-metrics={out / 'run.prom'}",
            "fixtures/dual_read", SELECTION[2],
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"html: {out / 'report.html'}" in done.stdout or "html: " in done.stdout
    return out


def test_the_run_writes_report_html_and_metrics(bug_run: Path) -> None:
    report = load_report(bug_run / "report.json")
    outcomes = {c.id: c.outcome for c in report.checks}
    assert [outcomes[cid] for cid in SELECTION] == ["failed", "passed", "failed"]
    assert (bug_run / "report.html").is_file()
    families = {
        f.name: f for f in text_string_to_metric_families((bug_run / "run.prom").read_text())
    }
    assert families, "metrics were written"
    labels = {s.labels.get("env") for f in families.values() for s in f.samples}
    assert "staging" in labels


def test_the_first_screen_shows_the_verdict_the_cause_and_the_chart(bug_run: Path) -> None:
    from playwright.sync_api import sync_playwright

    report = load_report(bug_run / "report.json")
    failing_dto = [c.id for c in report.checks if c.kind == "dto" and c.outcome == "failed"]
    assert len(failing_dto) > 40
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((bug_run / "report.html").as_uri())
        assert errors == []

        def on_first_screen(selector: str) -> None:
            box = page.locator(selector).bounding_box()
            assert box is not None, selector
            assert box["y"] >= 0, selector
            assert box["y"] + min(box["height"], 200) <= 800, f"{selector} is below the fold"

        on_first_screen("#verdict")
        assert page.text_content("#verdict") == "fail"
        cause = page.locator("#cause-1")
        on_first_screen("#cause-1 h3")
        on_first_screen("#cause-1 table.values")
        heading = cause.locator("h3").text_content() or ""
        assert f"{len(failing_dto)} checks: fat_g value" in heading, heading
        members = cause.locator(".members a").all_text_contents()
        assert sorted(members) == sorted(failing_dto), "one cause explains every failing case"
        assert "curl -sS http://legacy.in-process/" in (cause.text_content() or "")
        on_first_screen("#fields-chart svg")
        assert "fat_g" in (page.text_content("#fields-chart") or "")

        visual = page.locator(f'details.check[data-id="{SELECTION[2]}"]')
        visual.locator("summary").click()
        # A row's body is filled on its "toggle" event, which comes after the click returns.
        visual.locator("img").nth(2).wait_for(state="attached")
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        widths = visual.locator("img").evaluate_all("els => els.map(e => e.naturalWidth)")
        assert all(w == 1280 for w in widths), widths
        dto = page.locator(f'details.check[data-id="{SELECTION[0]}"]')
        dto.locator("summary").click()
        dto.locator(".body").wait_for(state="attached")
        assert "adapter_regression" in (dto.text_content() or "")
        assert "fat_g" in (dto.text_content() or "")
        assert "meal_logs.json:" in (dto.locator(".body").text_content() or ""), "file:line"
        repro = dto.locator(".commands pre").text_content() or ""
        assert "  # legacy\ncurl -sS http://adapter.in-process/" in repro, "one line per side"
        if os.environ.get("REPORT_SCREENSHOT"):
            page.screenshot(path=os.environ["REPORT_SCREENSHOT"], full_page=True)
        browser.close()


@pytest.mark.parametrize(
    ("bug", "box_rows"),
    [
        pytest.param("css_color", (500, 700), id="css_color"),  # the total row
        pytest.param("layout_shift", (0, 10_000), id="layout_shift"),
    ],
)
def test_dashboard_only_bugs_fail_the_page_with_diff_artifacts(
    tmp_path: Path, bug: str, box_rows: tuple[int, int]
) -> None:
    env = {**os.environ, "MEAL_LOG_ADAPTER_BUG": bug}
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "--dual-read", "-p", "no:cacheprovider",
            f"--dual-read-output={tmp_path}", SELECTION[2],
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    (check,) = load_report(tmp_path / "report.json").checks
    assert check.outcome == "failed"
    adapter = next(f for f in check.findings if f.comparison == "adapter_vs_legacy")
    assert adapter.detail["mismatch_pixels"] > 0
    top = min(box[1] for box in adapter.detail["boxes"])
    assert box_rows[0] <= top <= box_rows[1], adapter.detail["boxes"]
    for role in ("expected", "actual", "diff"):
        assert (tmp_path / check.artifacts[f"adapter_vs_legacy.{role}"]).is_file()
