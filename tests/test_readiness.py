"""Pages are captured when ready: after load, fonts and a quiet network, never while a page's
own scripts are still fetching its data. Real Chromium, real HTTP servers on 127.0.0.1 (one per
side, in this process), inner runs as subprocesses (pytest-playwright cannot nest in-process)."""

from __future__ import annotations

import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from conftest import INNER_PYPROJECT, RunDualRead, add_dualread_table

from pytest_dualread.imagediff import decode_png

# Red while loading, white once the data is shown: a baseline of the spinner has red in it.
PAGE = """<!doctype html><html><head><style>
body { margin: 0; font-family: "Liberation Sans", sans-serif; background: #f00; }
#v { padding: 16px; font-size: 24px; }
</style></head><body><div id="v">Loading…</div><script>%s</script></body></html>"""

# The meal page asks its API after load; the API answers in 1.5 s.
MEAL_SCRIPT = """fetch('/api/meal').then(r => r.json()).then(d => {
  document.body.style.background = '#fff';
  document.getElementById('v').textContent = 'Logged at ' + d.time;
});"""
# Asks every 100 ms and shows nothing new: its network is never quiet.
POLL_SCRIPT = "setInterval(() => fetch('/api/poll'), 100);"
# Asks an API that never answers.
HANG_SCRIPT = "fetch('/api/hang');"

# Asks its API 0.8 s after load, later than the default quiet period.
LATE_SCRIPT = """setTimeout(() => fetch('/api/poll').then(() => {
  document.body.style.background = '#fff';
}), 800);"""

# Shows its content at once, then asks an API 5 s after load and shows nothing new: a page
# with nothing in flight after load.
QUIET_SCRIPT = """document.body.style.background = '#fff';
document.getElementById('v').textContent = 'Ready';
setTimeout(() => fetch("/api/late"), 5000);"""

# Draws what the server says, with nothing to fetch: a page that is ready at load.
STATIC_SCRIPT = ""

SCRIPTS = {
    "/static": STATIC_SCRIPT,
    "/meal": MEAL_SCRIPT,
    "/poll": POLL_SCRIPT,
    "/hang": HANG_SCRIPT,
    "/late": LATE_SCRIPT,
    "/quiet": QUIET_SCRIPT,
}


@dataclass
class Side:
    """One side's server; ``hour`` is what its API says the meal was logged at."""

    url: str
    hour: int = 8
    late_requests: int = 0
    opened: threading.Event = field(default_factory=threading.Event)
    """The side's /together page was asked for."""
    other: Side | None = None


class _Handler(BaseHTTPRequestHandler):
    side: Side
    release: threading.Event

    def log_message(self, format: str, *args: object) -> None:
        return None

    def do_GET(self) -> None:
        if self.path == "/together":
            # Its stylesheet holds the load event until the other side's page was asked for.
            self.side.opened.set()
            body = '<!doctype html><link rel="stylesheet" href="/api/other.css"><p>Together</p>'
            self._send("text/html; charset=utf-8", body.encode())
        elif self.path == "/api/other.css":
            assert self.side.other is not None
            self.side.other.opened.wait(20)
            self._send("text/css", b"p { color: #000; }")
        elif self.path == "/static":
            page = PAGE.replace("#f00", "#fff").replace("Loading…", f"{self.side.hour}:00")
            self._send("text/html; charset=utf-8", (page % "").encode())
        elif self.path in SCRIPTS:
            self._send("text/html; charset=utf-8", (PAGE % SCRIPTS[self.path]).encode())
        elif self.path == "/api/meal":
            time.sleep(1.5)
            self._send("application/json", b'{"time": "%02d:00"}' % self.side.hour)
        elif self.path == "/api/late":
            self.side.late_requests += 1
            self._send("application/json", b"{}")
        elif self.path == "/api/poll":
            self._send("application/json", b"{}")
        elif self.path == "/api/hang":
            self.release.wait(60)  # released when the test ends
        else:
            self.send_error(404)

    def _send(self, content_type: str, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return None  # the browser hangs up on requests still waiting when its context closes


@pytest.fixture
def sides() -> Iterator[dict[str, Side]]:
    release = threading.Event()
    servers: list[_Server] = []
    found: dict[str, Side] = {}
    for name in ("legacy", "adapter"):
        side = Side(url="")
        handler = type(f"{name}Handler", (_Handler,), {"side": side, "release": release})
        server = _Server(("127.0.0.1", 0), handler)
        side.url = f"http://127.0.0.1:{server.server_port}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        found[name] = side
    found["legacy"].other, found["adapter"].other = found["adapter"], found["legacy"]
    yield found
    release.set()
    for side in found.values():
        side.opened.set()  # no handler is left waiting for a page never asked for
    for server in servers:
        server.shutdown()
        server.server_close()


def configure(
    site: pytest.Pytester, sides: dict[str, Side], *paths: str, page_options: str = ""
) -> None:
    pages = "".join(
        f'\n[[tool.dualread.visual.pages]]\nname = "{path.strip("/")}"\npath = "{path}"\n'
        f"{page_options}\n"
        for path in paths
    )
    add_dualread_table(
        site,
        f"""
[tool.dualread]
legacy_url = "{sides["legacy"].url}"
adapter_url = "{sides["adapter"].url}"

[tool.dualread.visual]
viewport = {{ width = 400, height = 200 }}
stabilize_timeout_s = 4
{pages}""",
    )


def loading(png: bytes) -> bool:
    """Whether a capture shows the page's red loading background anywhere."""
    image = decode_png(png)
    return bool(((image[..., 0] == 255) & (image[..., 1] == 0) & (image[..., 2] == 0)).any())


def write_snapshot_test(
    inner_project: pytest.Pytester, sides: dict[str, Side], page_name: str, body: str
) -> None:
    """An inner test that opens the legacy side's ``/<page_name>`` in pytest-playwright's
    ``page`` (400x200) and then runs ``body``, which calls ``visual_snapshot``."""
    inner_project.makepyfile(
        test_snap=f"""
        from pathlib import Path

        import pytest

        @pytest.mark.dual_read(kind="visual")
        def test_{page_name}(page, visual_snapshot):
            page.set_viewport_size({{"width": 400, "height": 200}})
            page.goto("{sides["legacy"].url}/{page_name}")
        """.rstrip(" ")
        + textwrap.indent(textwrap.dedent(body).strip("\n"), " " * 12)
        + "\n"
    )


def test_data_loaded_by_script_is_waited_for_and_an_adapter_shift_fails(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, sides: dict[str, Side]
) -> None:
    configure(inner_project, sides, "/meal")

    update = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    update.result.assert_outcomes(passed=1)
    baseline = (inner_project.path / "snapshots/visual/pyproject/meal.png").read_bytes()
    assert not loading(baseline), "the baseline shows the page loading, not its data"

    sides["adapter"].hour = 9  # the adapter shifts the time zone by an hour
    run = run_dualread("--dual-read", subprocess=True)
    run.result.assert_outcomes(failed=1)
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "failed", check.message
    assert "adapter_vs_legacy" in check.message
    assert {f.comparison for f in check.findings} == {"adapter_vs_baseline", "adapter_vs_legacy"}


@pytest.mark.parametrize(
    ("path", "words"),
    [
        pytest.param("/poll", ["requests since the page opened, the last GET "], id="polling"),
        pytest.param("/hang", ["still in flight: GET http://127.0.0.1:"], id="never-answers"),
    ],
)
def test_a_page_whose_requests_never_settle_is_unstable_and_writes_no_baseline(
    inner_project: pytest.Pytester,
    run_dualread: RunDualRead,
    sides: dict[str, Side],
    path: str,
    words: list[str],
) -> None:
    configure(inner_project, sides, path)

    run = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "error", check.message
    assert check.data.error_reason == "unstable"  # type: ignore[union-attr]
    for word in ["legacy: ", "stabilize_timeout_s", *words, f"/api{path}"]:
        assert word in check.message
    written = [p for p in (inner_project.path / "snapshots").rglob("*") if p.is_file()]
    assert written == [], "no baseline is made from a page still loading"


def test_a_page_option_lengthens_the_quiet_period_for_a_late_request(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, sides: dict[str, Side]
) -> None:
    configure(inner_project, sides, "/late", page_options="network_idle_s = 1.5")

    update = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    update.result.assert_outcomes(passed=1)
    baseline = (inner_project.path / "snapshots/visual/pyproject/late.png").read_bytes()
    assert not loading(baseline), "the capture waited for the request made 0.8 s after load"
    # Compared with that baseline, the first capture shows the page loading: it is taken again
    # after the quiet period, and passes.
    run_dualread("--dual-read", subprocess=True).result.assert_outcomes(passed=1)


def test_visual_snapshot_of_an_open_page_waits_for_requests_started_before_it(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, sides: dict[str, Side]
) -> None:
    configure(inner_project, sides)
    write_snapshot_test(inner_project, sides, "meal", 'visual_snapshot(page, "meal")')
    update = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    update.result.assert_outcomes(passed=1)
    (baseline,) = (inner_project.path / "snapshots/visual/test_snap").glob("*.png")
    assert not loading(baseline.read_bytes()), "the fetch begun at load was waited for"


def test_a_page_with_nothing_in_flight_after_load_is_compared_without_a_quiet_period(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, sides: dict[str, Side]
) -> None:
    # The baselines, made without a quiet period (the page has nothing to wait for).
    configure(inner_project, sides, "/quiet", page_options="network_idle_s = 0")
    write_snapshot_test(
        inner_project,
        sides,
        "quiet",
        """
        waits = []
        networkidle = page.wait_for_load_state
        page.wait_for_load_state = lambda *a, **k: (waits.append(a), networkidle(*a, **k))[1]
        visual_snapshot(page, "quiet")
        assert waits == [], "the open page's requests were watched from its navigation"
        """,
    )
    update = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    update.result.assert_outcomes(passed=2)
    # Now a quiet period (6 s) longer than the page's wait before its late request (5 s): a
    # capture that waited it out would see that request. One equal to its baseline does not.
    inner_project.makefile(".toml", pyproject=INNER_PYPROJECT)
    configure(inner_project, sides, "/quiet", page_options="network_idle_s = 6")
    for side in sides.values():
        side.late_requests = 0
    run = run_dualread("--dual-read", subprocess=True)
    run.result.assert_outcomes(passed=2)
    assert run.report is not None
    assert [c.outcome for c in run.report.checks] == ["passed", "passed"]
    assert [s.late_requests for s in sides.values()] == [0, 0], "captured without waiting"


def test_a_capture_that_differs_is_judged_once_it_settles_without_a_quiet_period(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, sides: dict[str, Side]
) -> None:
    configure(inner_project, sides)
    write_snapshot_test(
        inner_project,
        sides,
        "static",
        """
        waits = []
        wait = page.wait_for_timeout
        page.wait_for_timeout = lambda ms: (waits.append(ms), wait(ms))[1]
        try:
            visual_snapshot(page, "static")
        finally:
            Path("waits.txt").write_text(repr(waits))
        """,
    )
    run_dualread("--dual-read", "--snapshot-update", subprocess=True).result.assert_outcomes(
        passed=1
    )
    sides["legacy"].hour = 9  # the page now differs from its baseline
    run = run_dualread("--dual-read", subprocess=True)
    run.result.assert_outcomes(failed=1)
    assert run.report is not None
    (check,) = run.report.checks
    assert check.outcome == "failed", check.message
    assert check.data.settled is True  # type: ignore[union-attr]
    assert check.data.captures == {"actual": 2}  # type: ignore[union-attr]
    # Retaken at once and identical: nothing waited for a quiet period (network_idle_s unset).
    assert (inner_project.path / "waits.txt").read_text() == "[]"


def test_both_sides_load_at_once_so_a_page_check_pays_one_page_load(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, sides: dict[str, Side]
) -> None:
    # Each side's page loads only once the other side's was asked for: one side loading, then
    # the other, would wait 20 s and miss the 8 s navigation timeout.
    configure(inner_project, sides, "/together")
    pyproject = inner_project.path / "pyproject.toml"
    text = pyproject.read_text().replace(
        "stabilize_timeout_s = 4", "stabilize_timeout_s = 4\nnavigation_timeout_s = 8"
    )
    pyproject.write_text(text)
    run = run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    run.result.assert_outcomes(passed=1)
    assert run.report is not None
    assert [c.outcome for c in run.report.checks] == ["passed"]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("-1", "greater than or equal to 0"),
        ("61", "less than or equal to 60"),
        ("nan", "(got nan)"),
        ("inf", "less than or equal to 60"),
        ('"soon"', "valid number"),
    ],
)
def test_a_bad_quiet_period_is_a_usage_error_naming_the_key(
    inner_project: pytest.Pytester,
    run_dualread: RunDualRead,
    sides: dict[str, Side],
    value: str,
    words: str,
) -> None:
    configure(inner_project, sides, "/meal", page_options=f"network_idle_s = {value}")
    run = run_dualread("--dual-read")
    assert run.result.ret == pytest.ExitCode.USAGE_ERROR
    run.result.stderr.fnmatch_lines([f"*pyproject.toml*pages.0.network_idle_s*{words}*"])
