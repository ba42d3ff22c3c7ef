"""What a run does once instead of once per case: each golden's name and location, the HTML
report's compiled template. Exactness is the other tests' business
(same verdicts, same report); these check that the repeated work is gone."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import jinja2
import pytest
from conftest import RunDualRead, add_dualread_table
from test_html import build

from pytest_dualread import html
from pytest_dualread.report import dump_report

APP = """
import json

from pydantic import BaseModel

class Tea(BaseModel):
    id: int
    name: str

async def app(scope, receive, send):
    body = json.dumps({"id": int(scope["path"].rsplit("/", 1)[1]), "name": "tea"})
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body.encode()})
"""

# Counts what the run works out, in a file: how often syrupy's own naming of a snapshot ran
# (the plugin's extension asks it once per golden).
COUNTING_CONFTEST = """
import json
import pathlib
import syrupy.extensions.single_file as single_file

COUNTS = pathlib.Path(__file__).parent / "counts.json"

Base = single_file.SingleFileSnapshotExtension
ORIGINAL = Base.__dict__["get_snapshot_name"]
NAMED = []

def counted(cls, *, test_location, index=0):
    NAMED.append(test_location.nodeid)
    return ORIGINAL.__func__(cls, test_location=test_location, index=index)

def pytest_configure(config):
    Base.get_snapshot_name = classmethod(counted)

def pytest_unconfigure(config):
    Base.get_snapshot_name = ORIGINAL
    COUNTS.write_text(json.dumps({"named": len(NAMED)}))
"""

CONFIG = """
[tool.dualread]
legacy_url = "tea:app"
adapter_url = "tea:app"
cases_dir = "cases"
"""


def test_each_golden_is_named_once(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner_project.makeconftest(COUNTING_CONFTEST)
    _three_teas(inner_project, monkeypatch)

    run = run_dualread("--dual-read", "--snapshot-update")

    run.result.assert_outcomes(passed=3)
    assert run.report is not None
    assert run.report.summary.passed == 3
    assert sorted(p.name for p in (inner_project.path / "snapshots/dto/teas").iterdir()) == [
        "tea-0.json",
        "tea-1.json",
        "tea-2.json",
    ]
    counts = json.loads((inner_project.path / "counts.json").read_text())
    assert counts == {"named": 3}


@pytest.fixture
def fresh_template_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Jinja's default cache folder under a temporary folder of this test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    html._environment.cache_clear()
    html._template.cache_clear()
    yield tmp_path / "tmp" / f"_jinja2-cache-{os.getuid()}"
    html._environment.cache_clear()  # the next test gets the usual folder
    html._template.cache_clear()


def test_the_html_template_is_compiled_once_and_reused_by_later_runs(
    fresh_template_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "dual-read-results"
    report = build(root)
    (root / "report.json").write_text(dump_report(report))
    first = html.render_html(report, base_dir=root)
    assert list(fresh_template_cache.glob("__jinja2_*.cache"))

    # A later run (a new process: nothing cached in memory) loads them instead of compiling.
    html._environment.cache_clear()
    html._template.cache_clear()
    compiled: list[str] = []
    original = jinja2.Environment.compile

    def counted(self: jinja2.Environment, source: str, *args: object, **kwargs: object) -> object:
        compiled.append(str(kwargs.get("name", args[0] if args else "")))
        return original(self, source, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(jinja2.Environment, "compile", counted)
    assert html.render_html(report, base_dir=root) == first
    assert compiled == []

    # No folder to cache in: every run compiles, and the report is the same.
    monkeypatch.setattr(tempfile, "tempdir", str(root / "report.json"))  # a file, not a folder
    html._environment.cache_clear()
    html._template.cache_clear()
    assert html.render_html(report, base_dir=root) == first
    assert compiled


# Writes, for each golden syrupy's session kept an assertion of, the length of the text it kept.
KEPT_CONFTEST = """
import json
import pathlib

import pytest

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    kept = {}
    for assertion in session.config._syrupy._assertions:
        for result in assertion.executions.values():
            texts = (result.recalled_data or "", result.asserted_data or "")
            kept[result.snapshot_name] = max(map(len, texts))
    (pathlib.Path(__file__).parent / "kept.json").write_text(json.dumps(kept))
"""


def test_a_session_keeps_only_the_goldens_that_did_not_hold(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    _three_teas(inner_project, monkeypatch)
    run_dualread("--dual-read", "--snapshot-update").result.assert_outcomes(passed=3)
    changed = inner_project.path / "snapshots/dto/teas/tea-1.json"
    changed.write_text(changed.read_text().replace('"tea"', '"coffee"'))
    inner_project.makeconftest(KEPT_CONFTEST)

    run = run_dualread("--dual-read")

    run.result.assert_outcomes(passed=2, failed=1)
    # syrupy keeps every assertion to the session's end: a golden that held is kept as an empty
    # stand-in, the one that did not as it is stored (syrupy's diff of it shows the text).
    kept = json.loads((inner_project.path / "kept.json").read_text())
    assert kept == {"tea-0": 0, "tea-1": len(changed.read_text()), "tea-2": 0}


def _three_teas(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tea app in process and a case file of three teas, importable by the inner run."""
    inner_project.makepyfile(tea=APP)
    add_dualread_table(inner_project, CONFIG)
    inner_project.mkdir("cases")
    cases = [{"id": f"tea-{n}", "request": {"path": f"/teas/{n}"}} for n in range(3)]
    (inner_project.path / "cases" / "teas.json").write_text(
        json.dumps({"model": "tea:Tea", "cases": cases})
    )
    monkeypatch.syspath_prepend(str(inner_project.path))
