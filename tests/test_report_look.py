"""The report's own looks, judged by the plugin's visual checks: a report rendered from a fixed
synthetic run is served over HTTP on 127.0.0.1 and declared as two pages (the first screen; a
page check's row, opened through a link) in an inner project's pyproject.toml; `pytest
--dual-read` captures them in Chromium and compares each with the baseline committed in
``tests/report_look/`` (times and durations masked).

After an intended change of the report's look, refresh the baselines with::

    REPORT_LOOK_UPDATE=1 .venv/bin/pytest tests/test_report_look.py -p no:cacheprovider
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table, serving
from test_html import build

from pytest_dualread.html import write_html

BASELINES = Path(__file__).parent / "report_look"
PAGES = ("report-summary", "report-check-row")

CONFIG = """
[tool.dualread]
legacy_url = "{url}"
adapter_url = "{url}"

[tool.dualread.visual]
viewport = {{ width = 1280, height = 800 }}
full_page = false
mask = [".variable"]
stabilize_timeout_s = 5
pages = [
  {{ name = "report-summary", path = "/report.html" }},
  {{ name = "report-check-row", path = "/report.html#check-pages%2Fdashboard", element = '{row}' }},
]
"""


async def static_site(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
    """The files of the folder in ``REPORT_LOOK_ROOT``, as a plain static server would."""
    root = Path(os.environ["REPORT_LOOK_ROOT"])
    file = (root / scope["path"].lstrip("/")).resolve()
    found = file.is_file() and root.resolve() in file.parents
    kind = b"text/html; charset=utf-8" if file.suffix == ".html" else b"image/png"
    await send(  # type: ignore[operator]
        {"type": "http.response.start", "status": 200 if found else 404,
         "headers": [(b"content-type", kind)]}
    )  # fmt: skip
    await send({"type": "http.response.body", "body": file.read_bytes() if found else b""})  # type: ignore[operator]


def test_the_report_looks_as_its_baselines(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = inner_project.path / "site"
    report = build(site)
    write_html(report, site / "report.html")
    monkeypatch.setenv("REPORT_LOOK_ROOT", str(site))
    snapshots = inner_project.path / "snapshots" / "visual" / "pyproject"
    snapshots.mkdir(parents=True)
    for name in PAGES:
        for suffix in (".png", ".env.json"):
            if (BASELINES / f"{name}{suffix}").is_file():
                shutil.copy(BASELINES / f"{name}{suffix}", snapshots)
    updating = bool(os.environ.get("REPORT_LOOK_UPDATE"))
    with serving(static_site) as url:
        row = 'details.check[data-id="pages/dashboard"]'
        add_dualread_table(inner_project, CONFIG.format(url=url, row=row))
        args = ["--dual-read", "pyproject.toml", *(["--snapshot-update"] if updating else [])]
        run = run_dualread(*args, subprocess=True)
    if updating:
        for name in PAGES:
            for suffix in (".png", ".env.json"):
                shutil.copy(snapshots / f"{name}{suffix}", BASELINES)
    assert run.report is not None, run.result.stdout.str()
    outcomes = {c.data.page: c.outcome for c in run.report.checks}  # type: ignore[union-attr]
    assert outcomes == dict.fromkeys(PAGES, "passed"), run.result.stdout.str()
