"""Visual checks end to end in real Chromium: baselines, differences, budgets, errors, the
visual_snapshot fixture and pages declared in pyproject.toml. Inner runs are subprocesses
(pytest-playwright cannot nest in-process)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table

from pytest_dualread.imagediff import decode_png
from pytest_dualread.report import VisualData

SITE = '''
"""Pages for the visual tests; the X-Side header picks the read path, VIS_BUG breaks the adapter."""
import json, os

PAGE = """<!doctype html><html><head><style>
body {{ margin: 0; font-family: "Liberation Sans", sans-serif; background: #fff; }}
.card {{ width: 300px; margin: 20px; padding: 16px; border: 1px solid #ccc; }}
.total {{ color: {colour}; font-size: 24px; }}
.clock {{ color: #999; }}
</style></head><body>
<div class="card"><div class="total">Total: 1426 kcal</div>
<div class="clock">{clock}</div>{extra}</div></body></html>"""

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    side = headers.get("x-side", "legacy")
    bug = os.environ.get("VIS_BUG", "") if side == "adapter" else ""
    path = scope["path"]
    status, extra, colour = 200, "", "#1a7f37"
    if bug == "colour":
        colour = "#cf222e"
    if bug == "wide":
        extra = '<div style="width: 400px; height: 10px; background: #eee"></div>'
    if path == "/live":
        extra = ("<div id=n></div><script>let i=0;"
                 "setInterval(()=>{document.getElementById('n').textContent=i++},16)</script>")
    if path == "/missing":
        status = 404
    import time
    body = PAGE.format(colour=colour, clock=time.time_ns(), extra=extra).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})
'''

CONFIG = """
[tool.dualread]
legacy_url = "pagesite:app"
adapter_url = "pagesite:app"

[tool.dualread.legacy]
headers = { "X-Side" = "legacy" }

[tool.dualread.adapter]
headers = { "X-Side" = "adapter" }

[tool.dualread.visual]
viewport = { width = 400, height = 200 }
mask = [".clock"]
stabilize_timeout_s = 2
"""

TESTS = """
import pytest

@pytest.mark.dual_read(kind="visual")
def test_card(dual_read):
    dual_read.check_page("/card")
"""


@pytest.fixture
def site(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(pagesite=SITE)
    add_dualread_table(inner_project, CONFIG)
    # Prepended: the inner runs must import the plugin from the same checkout as this run.
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(inner_project.path), *([inherited] if inherited else [])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    monkeypatch.delenv("VIS_BUG", raising=False)
    return inner_project


def only_check(run: object) -> object:
    report = getattr(run, "report", None)
    assert report is not None, "no report was written"
    assert len(report.checks) == 1
    return report.checks[0]


def test_baseline_lifecycle_and_an_adapter_difference(
    site: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.makepyfile(test_pages=TESTS)

    first = run_dualread("--dual-read", subprocess=True)
    first.result.assert_outcomes(failed=1)
    first.result.stdout.fnmatch_lines(
        [
            "*no baseline at snapshots/visual/test_pages/test_card.png: run "
            "`pytest --dual-read --snapshot-update` to create it from the legacy render*"
        ]
    )

    update = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    update.result.assert_outcomes(passed=1)
    baseline = site.path / "snapshots/visual/test_pages/test_card.png"
    assert decode_png(baseline.read_bytes()).shape[:2] == (200, 400)
    sidecar = json.loads((site.path / "snapshots/visual/test_pages/test_card.env.json").read_text())
    assert sidecar["browser"].startswith("chromium ")
    assert sidecar["viewport"] == [400, 200]

    green = run_dualread("--dual-read", subprocess=True)
    green.result.assert_outcomes(passed=1)
    check = only_check(green)
    assert check.kind == "visual"  # type: ignore[attr-defined]
    assert check.data.captures == {"legacy": 1, "adapter": 1}, "one capture per side"  # type: ignore[union-attr]
    assert [c.name for c in check.data.comparisons] == [  # type: ignore[union-attr]
        "legacy_vs_baseline",
        "adapter_vs_baseline",
        "adapter_vs_legacy",
    ]
    assert green.report is not None
    assert green.report.run.environment.browser is not None
    assert green.report.run.environment.pixel_engine.startswith("dualread ")  # type: ignore[union-attr]

    monkeypatch.setenv("VIS_BUG", "colour")
    sidecar["browser"] = "chromium 150.0.0.0"
    (site.path / "snapshots/visual/test_pages/test_card.env.json").write_text(json.dumps(sidecar))
    red = run_dualread("--dual-read", subprocess=True)
    red.result.assert_outcomes(failed=1)
    out = red.result.stdout.str()
    assert "2 of 3 comparisons of page test_card" in out
    assert "adapter_vs_legacy: " in out
    assert "legacy_vs_baseline" not in out
    # Legacy still matches its baseline: the browser's change explains nothing here.
    assert "environment changed" not in out
    check = only_check(red)
    findings = {(f.comparison, f.category, f.triage) for f in check.findings}  # type: ignore[attr-defined]
    assert findings == {
        ("adapter_vs_baseline", "pixels", "adapter_regression"),
        ("adapter_vs_legacy", "pixels", "adapter_regression"),
    }
    worst = next(f for f in check.findings if f.comparison == "adapter_vs_legacy")  # type: ignore[attr-defined]
    assert worst.detail["mismatch_pixels"] > 0
    assert worst.detail["boxes"], "the differing region is located"
    x, y, _w, _h = worst.detail["boxes"][0]
    assert 20 <= x < 340, "the difference is in the total line"
    assert 20 <= y < 80, "the difference is in the total line"
    output = site.path / "dual-read-results"
    roles = set(check.artifacts)  # type: ignore[attr-defined]
    assert {"adapter.expected", "adapter.actual", "adapter.diff"} <= roles
    assert {
        "adapter_vs_legacy.expected",
        "adapter_vs_legacy.actual",
        "adapter_vs_legacy.diff",
    } <= roles
    for rel in check.artifacts.values():  # type: ignore[attr-defined]
        assert decode_png((output / rel).read_bytes()).shape[:2] == (200, 400)
    assert check.data.settled is True  # type: ignore[union-attr]
    # Each side: the first capture, then one after the quiet period that equals it (settled,
    # so no third is taken).
    assert check.data.captures == {"legacy": 2, "adapter": 2}  # type: ignore[union-attr]


def test_a_pixel_budget_lets_a_small_difference_pass(
    site: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.makepyfile(
        test_pages="""
        import pytest

        @pytest.mark.dual_read(kind="visual")
        def test_card(dual_read):
            dual_read.check_page("/card", max_diff_ratio=0.05)
        """
    )
    run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    monkeypatch.setenv("VIS_BUG", "colour")
    run = run_dualread("--dual-read", subprocess=True)
    run.result.assert_outcomes(passed=1)
    check = only_check(run)
    adapter = next(c for c in check.data.comparisons if c.name == "adapter_vs_legacy")  # type: ignore[union-attr]
    assert 0 < adapter.mismatch_pixels <= adapter.allowed_pixels == 4000


@pytest.mark.parametrize(
    ("body", "bug", "outcome", "words"),
    [
        pytest.param(
            'dual_read.check_page("/missing")',
            "",
            "error",
            ["the page answered HTTP 404, expected 2xx"],
            id="404",
        ),
        pytest.param(
            'dual_read.check_page("/card", mask=[".clok"])',
            "",
            "error",
            ["mask selector '.clok' matches nothing on the page"],
            id="mask-matches-nothing",
        ),
        pytest.param(
            'dual_read.check_page("/live")',
            "colour",
            "error",
            ["the page never settled", "stabilize_timeout_s"],
            id="unstable",
        ),
        pytest.param(
            'dual_read.check_page("/card", full_page=True)',
            "wide",
            "failed",
            ["adapter_vs_legacy: sizes differ: legacy 400x200, adapter 4"],
            id="other-size",
        ),
    ],
)
def test_bad_pages_get_a_clear_message_and_the_run_goes_on(
    site: pytest.Pytester,
    run_dualread: RunDualRead,
    monkeypatch: pytest.MonkeyPatch,
    body: str,
    bug: str,
    outcome: str,
    words: list[str],
) -> None:
    site.makepyfile(
        test_pages=f"""
        import pytest

        @pytest.mark.dual_read(kind="visual")
        def test_bad(dual_read):
            {body}

        @pytest.mark.dual_read(kind="visual")
        def test_good(dual_read):
            dual_read.check_page("/card", name="good")
        """
    )
    run_dualread("--dual-read", "--snapshot-update", "-k", "good", subprocess=True)
    if bug:
        monkeypatch.setenv("VIS_BUG", bug)
    run = run_dualread("--dual-read", subprocess=True)
    assert run.report is not None
    assert run.report.run.complete
    by_name = {c.id.rsplit("::", 1)[-1]: c for c in run.report.checks}
    bad = by_name["test_bad"]
    assert bad.outcome == outcome, bad.message
    for word in words:
        assert word in bad.message
    assert by_name["good"].outcome == ("failed" if bug else "passed")


def test_a_missing_browser_names_the_debian_package(
    site: pytest.Pytester,
    run_dualread: RunDualRead,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    site.makepyfile(test_pages=TESTS)
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))
    run = run_dualread("--dual-read", subprocess=True)
    check = only_check(run)
    assert check.outcome == "error"  # type: ignore[attr-defined]
    assert "apt-get install chromium fonts-liberation" in check.message  # type: ignore[attr-defined]
    assert run.report is not None
    assert run.report.run.complete


def test_visual_snapshot_of_a_playwright_page(
    site: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    site.makepyfile(
        test_snap="""
        import pytest

        @pytest.fixture(scope="session")
        def served():
            from pytest_dualread.capture import AppServer
            import pagesite as pages
            server = AppServer(pages.app, name="site")
            yield server.start()
            server.stop()

        @pytest.mark.dual_read(kind="visual")
        def test_card(page, served, visual_snapshot):
            page.set_viewport_size({"width": 400, "height": 200})
            page.goto(served + "/card")
            visual_snapshot(page, "card", mask=[".clock"])
        """
    )
    first = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    first.result.assert_outcomes(passed=1)
    assert (site.path / "snapshots/visual/test_snap/test_card[chromium][card].png").is_file()
    again = run_dualread("--dual-read", subprocess=True)
    again.result.assert_outcomes(passed=1)
    check = only_check(again)
    assert check.id.endswith("test_card[chromium]::card")  # type: ignore[attr-defined]
    assert [c.name for c in check.data.comparisons] == ["actual_vs_baseline"]  # type: ignore[union-attr]


def test_pages_declared_in_pyproject_are_collected(
    site: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    path = site.path / "pyproject.toml"
    path.write_text(
        path.read_text()
        + 'pages = [{ name = "card", path = "/card" }, '
        + '{ name = "live", path = "/live", mask = ["#n"] }]\n'
    )
    update = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    update.result.assert_outcomes(passed=2)
    assert sorted(p.name for p in (site.path / "snapshots/visual/pyproject").glob("*.png")) == [
        "card.png",
        "live.png",
    ]
    run = run_dualread("--dual-read", subprocess=True)
    run.result.assert_outcomes(passed=2)
    assert run.report is not None
    assert sorted(c.id for c in run.report.checks) == [
        "pyproject.toml::card",
        "pyproject.toml::live",
    ]
    assert os.path.isdir(site.path / "snapshots")


# ---------------------------------------------------------------------------------------------
# pytest-playwright's machinery: context args, tracing, --browser, no effect without the flag

ECHO_SITE = '''
"""A page that shows what the browser context sends and runs with; each request is logged."""
import json, os

PAGE = """<!doctype html><html><head><style>
body {{ margin: 0; font-family: "Liberation Sans", sans-serif; font-size: 20px; }}
</style></head><body><div id=lang></div><div id=zone></div><div>{user}</div>
<script>
document.getElementById("lang").textContent = navigator.language;
document.getElementById("zone").textContent =
    Intl.DateTimeFormat().resolvedOptions().timeZone;
</script></body></html>"""

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    with open(os.environ["ECHO_LOG"], "a") as log:
        log.write(json.dumps(headers) + "\\n")
    body = PAGE.format(user=headers.get("x-user", "nobody")).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")]})
    await send({"type": "http.response.body", "body": body})
'''

ECHO_CONFIG = """
[tool.dualread]
legacy_url = "echosite:app"
adapter_url = "echosite:app"

[tool.dualread.legacy]
headers = { "X-Side" = "legacy" }

[tool.dualread.adapter]
headers = { "X-Side" = "adapter" }

[tool.dualread.visual]
viewport = { width = 400, height = 200 }
pages = [{ name = "echo", path = "/echo" }]
"""

CONTEXT_ARGS = """
import pytest

@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "locale": "de-DE",
        "timezone_id": "Asia/Tokyo",
        "extra_http_headers": {"X-User": "ada"},%s
    }
"""


@pytest.fixture
def echo(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    inner_project.makepyfile(echosite=ECHO_SITE)
    add_dualread_table(inner_project, ECHO_CONFIG)
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(inner_project.path), *([inherited] if inherited else [])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    log = inner_project.path / "requests.jsonl"
    monkeypatch.setenv("ECHO_LOG", str(log))
    return log


def requests_of(log: Path) -> list[dict[str, str]]:
    lines = log.read_text().splitlines() if log.exists() else []
    log.unlink(missing_ok=True)
    return [json.loads(line) for line in lines]


def test_browser_context_args_reach_both_sides_and_tracing_applies(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, echo: Path
) -> None:
    run_dualread("--dual-read", "--snapshot-update", subprocess=True).result.assert_outcomes(
        passed=1
    )
    plain = requests_of(echo)
    assert {r["x-side"] for r in plain} == {"legacy", "adapter"}
    assert all("x-user" not in r for r in plain)

    inner_project.makeconftest(CONTEXT_ARGS % "")
    run = run_dualread("--dual-read", "--tracing", "on", subprocess=True)
    run.result.assert_outcomes(failed=1)
    check = only_check(run)
    assert isinstance(check.data, VisualData)
    by_name = {c.name: c for c in check.data.comparisons}
    for side in ("legacy", "adapter"):
        changed = by_name[f"{side}_vs_baseline"]
        assert not changed.size_mismatch
        assert changed.mismatch_pixels > 0, f"the {side} page renders the new locale and zone"
    assert by_name["adapter_vs_legacy"].passed
    sent = requests_of(echo)
    assert {(r["x-side"], r["x-user"]) for r in sent} == {("legacy", "ada"), ("adapter", "ada")}
    assert all(r["accept-language"].startswith("de-DE") for r in sent)
    traces = sorted((inner_project.path / "test-results").glob("*/trace*.zip"))
    assert [t.name for t in traces] == ["trace-1.zip", "trace-2.zip"], "one per side's context"
    assert traces[0].parent.name == "pyproject-toml-echo"


def test_a_viewport_in_browser_context_args_wins(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, echo: Path
) -> None:
    inner_project.makeconftest(
        CONTEXT_ARGS % '\n        "viewport": {"width": 300, "height": 150},'
    )
    run = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    run.result.assert_outcomes(passed=1)
    baseline = inner_project.path / "snapshots/visual/pyproject/echo.png"
    assert decode_png(baseline.read_bytes()).shape[:2] == (150, 300)
    check = only_check(run)
    assert isinstance(check.data, VisualData)
    assert check.data.fingerprint["viewport"] == [300, 150]
    sidecar = json.loads(baseline.with_name("echo.env.json").read_text())
    assert sidecar["viewport"] == [300, 150]


PAGE_AND_TEST = """
import pytest

@pytest.mark.dual_read(kind="visual")
def test_card(dual_read):
    dual_read.check_page("/card")
"""


def test_browser_option_multiplies_page_checks(
    site: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    path = site.path / "pyproject.toml"
    path.write_text(path.read_text() + 'pages = [{ name = "card", path = "/card" }]\n')
    site.makepyfile(test_pages=PAGE_AND_TEST)

    def collected(*args: str) -> set[str]:
        result = site.runpytest_subprocess("--collect-only", "-q", *args)
        return {line for line in result.stdout.lines if "::" in line}

    assert collected("--dual-read") == {"pyproject.toml::card", "test_pages.py::test_card"}
    assert collected("--dual-read", "--browser", "chromium", "--browser", "firefox") == {
        "pyproject.toml::card[chromium]",
        "pyproject.toml::card[firefox]",
        "test_pages.py::test_card[chromium]",
        "test_pages.py::test_card[firefox]",
    }
    assert collected("--dual-read", "--browser", "firefox") == {
        "pyproject.toml::card[firefox]",
        "test_pages.py::test_card[firefox]",
    }
    # Without --dual-read the checks are skipped and keep their ids.
    assert collected("--browser", "firefox") == {"test_pages.py::test_card"}


def test_each_browser_has_its_own_baselines_and_an_unlaunchable_one_is_an_error(
    site: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = site.path / "pyproject.toml"
    path.write_text(path.read_text() + 'pages = [{ name = "card", path = "/card" }]\n')
    site.makepyfile(test_pages=PAGE_AND_TEST)
    run_dualread("--dual-read", "--snapshot-update", subprocess=True).result.assert_outcomes(
        passed=2
    )
    chromium_files = {
        "pyproject.toml::card[chromium]": "snapshots/visual/pyproject/card.png",
        "test_pages.py::test_card[chromium]": "snapshots/visual/test_pages/test_card.png",
    }
    stored = {p: (site.path / p).read_bytes() for p in chromium_files.values()}
    # Firefox has no Playwright build here (and none is installed): its checks must error.
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(site.path / "no-browsers"))
    other = site.path / "snapshots/visual-firefox/pyproject/card.png"
    other.parent.mkdir(parents=True)
    other.write_bytes(b"firefox's own")
    run = run_dualread(
        "--dual-read",
        "--snapshot-update",
        "--browser",
        "chromium",
        "--browser",
        "firefox",
        subprocess=True,
    )
    assert run.report is not None
    checks = {c.id: c for c in run.report.checks}
    for check_id, file in chromium_files.items():
        check = checks[check_id]
        assert check.outcome == "passed", check.message
        assert isinstance(check.data, VisualData)
        assert check.data.baseline_path == file
        assert (site.path / file).read_bytes() == stored[file], "the same baseline, unchanged"
    firefox = {
        "pyproject.toml::card[firefox]": "snapshots/visual-firefox/pyproject/card.png",
        "test_pages.py::test_card[firefox]": "snapshots/visual-firefox/test_pages/test_card.png",
    }
    for check_id, file in firefox.items():
        check = checks[check_id]
        assert check.outcome == "error"
        assert isinstance(check.data, VisualData)
        assert check.data.baseline_path == file
        assert "\n" not in check.message
        assert "firefox could not be launched" in check.message
        assert "python -m playwright install firefox" in check.message
    run_dualread("--dual-read", "--snapshot-update", subprocess=True).result.assert_outcomes(
        passed=2
    )
    assert other.read_bytes() == b"firefox's own", "a Chromium update leaves it alone"


LAUNCH_ARGS_TEST = """
import json

def test_launch_args(browser_type_launch_args):
    print("LAUNCH_ARGS=" + json.dumps(browser_type_launch_args, sort_keys=True))
"""


def launch_args_seen(result: pytest.RunResult) -> dict[str, object]:
    line = next(ln for ln in result.stdout.lines if "LAUNCH_ARGS=" in ln)
    seen: dict[str, object] = json.loads(line.split("LAUNCH_ARGS=", 1)[1])
    return seen


def test_plain_playwright_tests_see_pytest_playwrights_fixtures_without_the_flag(
    site: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    site.makepyfile(test_plain=LAUNCH_ARGS_TEST)
    # Playwright's own Chromium absent: with --dual-read the plugin adds the system one.
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(site.path / "no-browsers"))
    plain = site.runpytest_subprocess("-s", "--slowmo", "7")
    plain.assert_outcomes(passed=1)
    assert launch_args_seen(plain) == {"slow_mo": 7}
    assert launch_args_seen(site.runpytest_subprocess("-s")) == {}
    flagged = site.runpytest_subprocess("-s", "--slowmo", "7", "--dual-read", "test_plain.py")
    flagged.assert_outcomes(passed=1)
    seen = launch_args_seen(flagged)
    assert seen["slow_mo"] == 7
    assert str(seen["executable_path"]).endswith("chromium")
