"""In-process targets are bounded like network ones: ``fetch.max_body_bytes`` stops an ASGI
app while it sends, an ``async`` endpoint that blocks its event loop still times out, and a
hung WSGI app does not keep pytest from exiting. Real apps, run the way users run them."""

from __future__ import annotations

import json
import time

import pytest
from conftest import RunDualRead, add_dualread_table

from pytest_dualread.report import load_report

APPS = '''
import json, pathlib, time

SENT = pathlib.Path(__file__).with_name("chunks-sent.txt")

async def streaming(scope, receive, send):
    """Sends 50 chunks of 100 kB; writes down how many it got to send."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    for sent in range(50):
        SENT.write_text(str(sent))
        await send({"type": "http.response.body", "body": b" " * 100_000, "more_body": True})
    SENT.write_text("50")
    await send({"type": "http.response.body", "body": b"{}"})

async def blocking(scope, receive, send):
    if scope["path"] == "/block":
        time.sleep(120)  # blocks the event loop it runs on
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b"{}"})

def hung_wsgi(environ, start_response):
    if environ["PATH_INFO"] == "/hang":
        time.sleep(3600)
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"{}"]
'''

MODELS = """
from pydantic import BaseModel

class Empty(BaseModel):
    pass
"""


def project(inner: pytest.Pytester, app: str, *paths: str, **fetch: object) -> None:
    inner.makepyfile(apps=APPS, models=MODELS)
    settings = ", ".join(f"{k} = {json.dumps(v)}" for k, v in {"retries": 0, **fetch}.items())
    add_dualread_table(
        inner,
        f'[tool.dualread]\nlegacy_url = "apps:{app}"\nadapter_url = "apps:{app}"\n'
        f'cases_dir = "cases"\n\n[tool.dualread.fetch]\n{settings.replace(", ", chr(10))}\n',
    )
    cases = [{"id": p.strip("/"), "request": {"path": p}} for p in paths]
    inner.mkdir("cases")
    (inner.path / "cases" / "bounds.json").write_text(
        json.dumps({"model": "models:Empty", "cases": cases})
    )


def test_max_body_bytes_stops_an_asgi_app_while_it_sends(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(inner_project, "streaming", "/big", max_body_bytes=250_000)
    monkeypatch.syspath_prepend(str(inner_project.path))
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(errors=1)
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "error"
    assert "http://legacy.in-process/big: body is larger than max_body_bytes=250000" in (
        check.message
    )
    # 250 kB is crossed in the third chunk of 100 kB: the app is stopped there, not at 5 MB.
    assert int((inner_project.path / "chunks-sent.txt").read_text()) <= 3


def test_an_async_endpoint_blocking_its_event_loop_still_times_out(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    project(inner_project, "blocking", "/block", "/after", timeout_s=1)
    monkeypatch.syspath_prepend(str(inner_project.path))
    started = time.monotonic()
    run = run_dualread("--dual-read", "--snapshot-update")
    elapsed = time.monotonic() - started
    assert run.report is not None
    outcomes = {c.id.rsplit("::", 1)[-1]: (c.outcome, c.message) for c in run.report.checks}
    assert outcomes["block"][0] == "error"
    assert "http://legacy.in-process/block: timed out after 1 s" in outcomes["block"][1]
    # the stuck loop is left behind: the next case is fetched on a fresh one
    assert outcomes["after"][0] == "passed", outcomes["after"][1]
    # The endpoint sleeps 120 s; a generous bound that tells a timeout from waiting it out.
    assert elapsed < 90


def test_a_hung_wsgi_app_does_not_keep_pytest_from_exiting(
    inner_project: pytest.Pytester,
) -> None:
    project(inner_project, "hung_wsgi", "/hang", timeout_s=1)
    inner_project.makeconftest(f"import sys\nsys.path.insert(0, {str(inner_project.path)!r})\n")
    # The app sleeps an hour; a subprocess that exits within the bound waited for nothing.
    result = inner_project.runpytest_subprocess("--dual-read", "--snapshot-update", timeout=120)
    result.assert_outcomes(errors=1)
    report = load_report(inner_project.path / "dual-read-results" / "report.json")
    (check,) = report.checks
    assert "http://legacy.in-process/hang: timed out after 1 s" in check.message
