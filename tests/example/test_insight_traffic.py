"""Cases from real traffic, on the bundled example: a HAR that Chromium records while browsing
the example app (the committed ``traffic/meal_log.har`` is one such recording) becomes case
files that run green; a JSONL request log is read the same way. Secrets never reach a case
file, and a re-run changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_dualread.report import load_report
from pytest_dualread.traffic import route_of

REPO = Path(__file__).resolve().parents[2]
COMMITTED_HAR = Path(__file__).resolve().parent / "traffic" / "meal_log.har"
SECRET = "s3cret-har-token"
# What the recording browses: two routes of JSON, a repeat, a secret query parameter, and the
# HTML dashboard (not JSON: left out of the cases).
VISITS = (
    "/meal-logs/1",
    "/meal-logs/2",
    "/meal-logs/2",
    f"/meal-logs/4?access_token={SECRET}&view=full",
    "/users/1/days/2025-09-20",
    "/users/3/days/2025-09-16",
    "/dashboard/1/2025-09-20",
)
MODELS = (
    "--model",
    "/meal-logs/{id}=examples.meal_log.dto:MealLogDTO",
    "--model",
    "/users/{id}/days/{date}=examples.meal_log.dto:DaySummaryDTO",
)


def record_har(live_url: str, target: Path) -> None:
    """Browse ``VISITS`` in Chromium, recording a HAR (bodies left out: they are not needed)."""
    from playwright.sync_api import sync_playwright

    from pytest_dualread.capture import find_chromium

    executable, _ = find_chromium(None)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        context = browser.new_context(
            record_har_path=str(target),
            record_har_content="omit",
            extra_http_headers={"Authorization": f"Bearer {SECRET}", "X-Tenant": "acme"},
        )
        page = context.new_page()
        for path in VISITS:
            response = page.goto(live_url + path)
            assert response is not None
            assert response.status == 200, path
        context.close()
        browser.close()


def _requests(har: Path) -> list[tuple[str, str]]:
    entries = json.loads(har.read_text())["log"]["entries"]
    return [(e["request"]["method"], e["request"]["url"].split("/", 3)[3]) for e in entries]


def test_the_committed_har_is_what_chromium_records_on_the_example(
    live_url: str, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh.har"
    record_har(live_url, fresh)
    assert _requests(fresh) == _requests(COMMITTED_HAR)
    # To refresh the committed file: record_har(live_url, COMMITTED_HAR) from this test.


def dualread(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_dualread.cli", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if not k.startswith("DUALREAD_")},
    )


def _suite(cases: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DUALREAD_", "PYTEST_", "MEAL_LOG_"))
    }
    env |= {"DUALREAD_CASES_DIR": str(cases), "DUALREAD_SNAPSHOT_DIR": str(out / "snapshots")}
    argv = [sys.executable, "-m", "pytest", "-c", "pyproject.toml", "--dual-read", str(cases)]
    argv += ["-p", "no:cacheprovider"]
    argv += [f"--dual-read-output={out / 'results'}", *extra]
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, check=False)


def test_the_har_becomes_case_files_that_run_green_with_stable_ids(tmp_path: Path) -> None:
    cases = tmp_path / "cases"
    done = dualread("cases", "from-har", COMMITTED_HAR, *MODELS, "--out", cases)
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in cases.iterdir())
    assert files == ["meal-logs-id.json", "users-id-days-date.json"]
    logs = json.loads((cases / "meal-logs-id.json").read_text())
    assert logs["model"] == "examples.meal_log.dto:MealLogDTO"
    requests = [c["request"] for c in logs["cases"]]
    assert [r["path"] for r in requests] == ["/meal-logs/1", "/meal-logs/2", "/meal-logs/4"]
    assert requests[2]["params"] == {"view": "full"}, "the secret parameter is dropped"
    assert requests[2]["headers"] == {"X-Tenant": "acme"}, "secret and transport headers too"
    text = "".join(p.read_text() for p in cases.iterdir())
    assert SECRET not in text
    assert "Authorization" not in text
    before = {p: p.read_bytes() for p in cases.iterdir()}

    again = dualread("cases", "from-har", COMMITTED_HAR, *MODELS, "--out", cases)
    assert again.returncode == 0, again.stderr
    assert "0 new cases" in again.stdout
    assert {p: p.read_bytes() for p in cases.iterdir()} == before, "the same ids, the same files"

    update = _suite(cases, tmp_path, "--snapshot-update")
    assert update.returncode == 0, update.stdout[-3000:]
    green = _suite(cases, tmp_path)
    assert green.returncode == 0, green.stdout[-3000:]
    report = load_report(tmp_path / "results" / "report.json")
    assert report.verdict.status == "pass"
    assert report.summary.passed == 5


def test_a_jsonl_log_keeps_get_and_head_drops_secrets_and_samples_by_hash(
    tmp_path: Path,
) -> None:
    log = tmp_path / "requests.jsonl"
    lines = [
        {"method": "GET", "path": f"/meal-logs/{n}", "headers": {"Cookie": "sid=1"}}
        for n in range(1, 30)
    ]
    lines += [
        {"method": "POST", "path": "/meal-logs/1"},
        {"method": "head", "path": "/users/7/days/2025-09-20", "query": "api_key=k&x=1"},
        {"path": "/files/0f8fad5b-d9cb-469f-a165-70867728950e/blobs/deadbeefdeadbeefdead"},
    ]
    log.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    out = tmp_path / "cases"
    args = ("cases", "from-log", log, "--model", "m:M", "--per-route", "3", "--out", out)
    assert dualread(*args).returncode == 0
    logs = json.loads((out / "meal-logs-id.json").read_text())["cases"]
    assert len(logs) == 3
    assert all(c["request"]["method"] == "GET" and "headers" not in c["request"] for c in logs)
    days = json.loads((out / "users-id-days-date.json").read_text())["cases"]
    assert days[0]["request"] == {
        "method": "HEAD",
        "path": "/users/7/days/2025-09-20",
        "params": {"x": "1"},
    }
    assert (out / "files-uuid-blobs-hex.json").exists()
    (out / "meal-logs-id.json").unlink()
    assert dualread(*args).returncode == 0
    assert json.loads((out / "meal-logs-id.json").read_text())["cases"] == logs, "same sample"

    log.write_text("{not json\n")
    broken = dualread(*args)
    assert broken.returncode == 2
    assert f"{log}:1: not JSON" in broken.stderr


@pytest.mark.parametrize(
    ("path", "route"),
    [
        ("/meal-logs/42", "/meal-logs/{id}"),
        ("/users/1/days/2025-09-20", "/users/{id}/days/{date}"),
        ("/a/1/b/2", "/a/{id}/b/{id2}"),
        ("/v2/items", "/v2/items"),
    ],
)
def test_route_templates(path: str, route: str) -> None:
    assert route_of(path) == route
