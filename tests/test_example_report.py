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
    out = tmp_path_factory.mktemp("mg_to_g")
    env = {**os.environ, "MEAL_LOG_ADAPTER_BUG": "mg_to_g", "METRIC_ENV": "staging"}
    done = subprocess.run(
        [
            sys.executable, "-m", "pytest", "--dual-read", "-p", "no:cacheprovider",
            f"--dual-read-output={out}", f"--dual-read-metrics={out / 'run.prom'}", *SELECTION,
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"html: {out / 'report.html'}" in done.stdout or "html: " in done.stdout
    return out


def test_the_run_writes_report_html_and_metrics(bug_run: Path) -> None:
    report = load_report(bug_run / "report.json")
    assert {c.id: c.outcome for c in report.checks} == {
        SELECTION[0]: "failed",
        SELECTION[1]: "passed",
        SELECTION[2]: "failed",
    }
    assert (bug_run / "report.html").is_file()
    families = {
        f.name: f for f in text_string_to_metric_families((bug_run / "run.prom").read_text())
    }
    assert families, "metrics were written"
    labels = {s.labels.get("env") for f in families.values() for s in f.samples}
    assert "staging" in labels


def test_the_html_report_shows_the_failing_checks_and_their_images(bug_run: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium")
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto((bug_run / "report.html").as_uri())
        assert errors == []
        assert page.text_content("#verdict") == "fail"
        failing = page.locator('section.check[data-outcome="failed"]')
        assert failing.count() == 2
        visual = page.locator(f'section.check[data-id="{SELECTION[2]}"]')
        assert visual.locator("img").count() >= 6
        page.evaluate("() => document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
        page.wait_for_function("() => [...document.images].every(i => i.complete)")
        widths = visual.locator("img").evaluate_all("els => els.map(e => e.naturalWidth)")
        assert all(w == 1280 for w in widths), widths
        dto = page.locator(f'section.check[data-id="{SELECTION[0]}"]')
        assert "adapter_regression" in (dto.text_content() or "")
        assert "fat_g" in (dto.text_content() or "")
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
