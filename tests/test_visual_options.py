"""Page options as Playwright Test users know them (``style``, ``hide``, ``element``, ``clip``,
per-page ``viewport``, readiness), in pyproject pages and in Python alike. Real Chromium, one
inner run (a subprocess: pytest-playwright cannot nest in-process) judged from its baselines."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table

from pytest_dualread.imagediff import decode_png
from pytest_dualread.report import Check

SITE = '''
"""Pages whose sides differ only where the options say to look away; X-Side picks the side."""

PAGE = """<!doctype html><html><head><style>
body {{ margin: 0; font-family: "Liberation Sans", sans-serif; background: #fff; }}
.greeting {{ display: inline-block; background: #222; color: #fff; font-size: 20px; }}
#box {{ width: 120px; height: 60px; margin: 10px; background: #0a0; }}
#state {{ position: absolute; left: 200px; top: 100px; }}
#ready {{ width: 40px; height: 20px; background: #000; }}
</style></head><body>
<div class="greeting">{greeting}</div><div id="box"></div>
<div id="state"></div>
<script>
setTimeout(() => {{
  document.getElementById("state").innerHTML = '<div id="ready"></div>';
  window.dataReady = true;
}}, 600);
</script></body></html>"""

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    greeting = "Hello, Ada Lovelace" if headers.get("x-side") == "adapter" else "Hi"
    body = PAGE.format(greeting=greeting).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})
'''

CONFIG = """
[tool.dualread]
legacy_url = "optsite:app"
adapter_url = "optsite:app"
artifacts = "all"

[tool.dualread.legacy]
headers = { "X-Side" = "legacy" }

[tool.dualread.adapter]
headers = { "X-Side" = "adapter" }

[tool.dualread.visual]
viewport = { width = 400, height = 200 }
full_page = false
stabilize_timeout_s = 3

[[tool.dualread.visual.pages]]
name = "hidden"
path = "/p"
hide = [".greeting"]
wait_for = "#ready"

[[tool.dualread.visual.pages]]
name = "masked"
path = "/p"
mask = [".greeting"]
wait_for = "#ready"

[[tool.dualread.visual.pages]]
name = "styled"
path = "/p"
hide = [".greeting"]
style = "styles/capture.css"
wait_for_function = "window.dataReady === true"
wait_until = "domcontentloaded"
"""

# The user's context args carry a viewport: a page's own viewport still wins.
CONFTEST = """
import pytest

@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 320, "height": 160}}
"""

TESTS = """
import pytest

@pytest.mark.dual_read(kind="visual")
def test_options(dual_read):
    dual_read.check_page("/p", name="clipped", clip={"x": 10, "y": 30, "width": 50, "height": 40},
                         hide=[".greeting"])
    dual_read.check_page("/p", name="box", element="#box")
    dual_read.check_page("/p", name="narrow", viewport={"width": 300, "height": 100},
                         hide=[".greeting"], style="#box { background: rgb(0, 0, 255); }")

@pytest.mark.dual_read(kind="visual")
def test_clip_outside(dual_read):
    dual_read.check_page("/p", name="outside", clip={"x": 0, "y": 500, "width": 50, "height": 40})

@pytest.fixture(scope="session")
def served():
    from pytest_dualread.capture import AppServer
    import optsite
    server = AppServer(optsite.app, name="optsite")
    yield server.start()
    server.stop()

@pytest.mark.dual_read(kind="visual")
def test_snapshot(page, served, visual_snapshot):
    page.goto(served + "/p")
    visual_snapshot(page, "snap", viewport={"width": 200, "height": 100}, hide=[".greeting"],
                    wait_for="#ready")

@pytest.mark.dual_read(kind="visual")
def test_bad_style_file(dual_read):
    dual_read.check_page("/p", name="nostyle", style="styles/missing.css")

@pytest.mark.dual_read(kind="visual")
def test_bad_ready_script(dual_read):
    dual_read.check_page("/p", name="noscript", hide=[".greeting"],
                         wait_for_function="nosuch.thing === 1")
"""


@pytest.fixture
def site(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(optsite=SITE, test_opts=TESTS)
    inner_project.makeconftest(CONFTEST)
    add_dualread_table(inner_project, CONFIG)
    styles = inner_project.path / "styles"
    styles.mkdir()
    (styles / "capture.css").write_text("body { background: rgb(255, 0, 0) !important; }\n")
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(inner_project.path), *([inherited] if inherited else [])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    return inner_project


def _baseline(root: Path, rel: str) -> object:
    return decode_png((root / "snapshots/visual" / rel).read_bytes())


def test_page_options_shape_what_is_captured(
    site: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    run = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    assert run.report is not None
    checks: dict[str, Check] = {c.id.rsplit("::", 1)[-1]: c for c in run.report.checks}
    for name in ("hidden", "styled", "clipped", "box", "narrow"):
        assert checks[name].outcome == "passed", (name, checks[name].message)

    # hide keeps the layout and paints nothing: the two greetings' widths no longer matter; a
    # mask paints each side's box, and the boxes differ in width.
    masked = checks["masked"]
    assert masked.outcome == "failed"
    assert "refusing to write the baseline" in masked.message
    assert "adapter_vs_legacy" in masked.message

    root = site.path
    hidden = _baseline(root, "pyproject/hidden.png")
    assert hidden.shape[:2] == (160, 320), "the context's viewport"  # type: ignore[attr-defined]
    assert (hidden[5, 5, :3] == 255).all(), "the hidden greeting leaves the background"  # type: ignore[index]

    styled = _baseline(root, "pyproject/styled.png")
    assert tuple(styled[150, 300, :3]) == (255, 0, 0), "the CSS file applied"  # type: ignore[index]

    clipped = _baseline(root, "test_opts/test_options[clipped].png")
    assert clipped.shape[:2] == (40, 50)  # type: ignore[attr-defined]
    box = _baseline(root, "test_opts/test_options[box].png")
    assert box.shape[:2] == (60, 120)  # type: ignore[attr-defined]
    narrow = _baseline(root, "test_opts/test_options[narrow].png")
    assert narrow.shape[:2] == (100, 300), "the page's viewport wins"  # type: ignore[attr-defined]
    assert tuple(narrow[50, 50, :3]) == (0, 0, 255), "the inline CSS applied"  # type: ignore[index]

    # Readiness: wait_for and wait_for_function capture the page once its data is shown.
    assert tuple(hidden[110, 220, :3]) == (0, 0, 0), "wait_for waited for #ready"  # type: ignore[index]
    assert tuple(styled[110, 220, :3]) == (0, 0, 0), "wait_for_function waited"  # type: ignore[index]

    snap = _baseline(root, "test_opts/test_snapshot[chromium][snap].png")
    assert snap.shape[:2] == (100, 200), "visual_snapshot takes the options too"  # type: ignore[attr-defined]
    assert (snap[5, 5, :3] == 255).all()  # type: ignore[index]
    assert checks["snap"].data.fingerprint["viewport"] == [200, 100]  # type: ignore[union-attr]
    outside = checks["outside"]
    assert outside.outcome == "error"
    assert "lies outside the viewport captured" in outside.message

    nostyle = checks["nostyle"]
    assert nostyle.outcome == "error"
    assert "page 'nostyle' option 'style'" in nostyle.message
    assert "styles/missing.css" in nostyle.message
    noscript = checks["noscript"]
    assert noscript.outcome == "error"
    assert "wait_for_function" in noscript.message
    assert "nosuch" in noscript.message
