"""DTO checks end to end, the way users run them: case files, the dual_read fixture, goldens,
errors, artifacts and the report, against a small in-process ASGI service (and one real HTTP
server on 127.0.0.1)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import RunDualRead, add_dualread_table, serving

SERVICE = '''
"""A tiny read service with a legacy and an adapter path, chosen by the X-Side header."""
import asyncio, json, os, uuid

LOGS = {
    "1": {"id": 1, "kcal_total": 300, "items": [{"food_id": "a", "kcal": 100, "name": "Oats"},
                                             {"food_id": "b", "kcal": 200, "name": "Milk"}]},
    "2": {"id": 2, "kcal_total": 50, "items": [{"food_id": "c", "kcal": 50, "name": "Tea"}]},
}

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    side = headers.get("x-side", "legacy")
    path = scope["path"]
    bug = os.environ.get("SVC_BUG", "")
    status, body, ctype = 200, None, "application/json"
    if side == "adapter" and headers.get("authorization") != "Bearer s3cret-token":
        status, body = 401, {"detail": "adapter needs its token"}
    elif (path.startswith("/v1/") and side != "legacy") or (
        path.startswith("/v2/") and side != "adapter"
    ):
        status, body = 404, {"detail": "wrong version for this side"}
    else:
        path = path[3:] if path.startswith(("/v1/", "/v2/")) else path
        if path.startswith("/logs/"):
            log = json.loads(json.dumps(LOGS.get(path[6:], {})))
            if not log:
                status, body = 404, {"detail": "no such log"}
            else:
                if side == "adapter":
                    log["items"].reverse()  # matched by key, so the order must not matter
                    if bug == "kcal" and log["id"] == 1:
                        log["items"][0]["kcal"] += 90
                log["meta"] = {"request_id": uuid.uuid4().hex}
                body = log
        elif path == "/boom":
            status, body = 500, {"detail": "database on fire"}
        elif path == "/text":
            body, ctype = "<html>not json</html>", "text/html"
        elif path == "/slow":
            await asyncio.sleep(3)
            body = {}
        else:
            status, body = 404, {"detail": "unknown path"}
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype.encode())]})
    await send({"type": "http.response.body", "body": raw})
'''

MODELS = """
from pydantic import BaseModel, ConfigDict

class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    food_id: str
    kcal: int
    name: str

class Meta(BaseModel):
    request_id: str

class LogDTO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int
    kcal_total: int
    items: list[Item]
    meta: Meta
"""

CONFIG = """
[tool.dualread]
legacy_url = "svc:app"
adapter_url = "svc:app"
cases_dir = "cases"

[tool.dualread.legacy]
headers = { "X-Side" = "legacy" }

[tool.dualread.adapter]
headers = { "X-Side" = "adapter" }
bearer_token = "s3cret-token"

[tool.dualread.fetch]
timeout_s = 1
retries = 0

[tool.dualread.dto]
ignore = ["**.request_id"]
list_keys = { "items" = "food_id" }
tolerances = { "**.kcal" = { abs = 20 } }
"""


def case_file(*cases: dict[str, object], model: str = "models:LogDTO") -> str:
    return json.dumps({"model": model, "cases": list(cases)}, indent=2)


def log_case(case_id: str, log: int = 1, **extra: object) -> dict[str, object]:
    return {"id": case_id, "request": {"path": f"/logs/{log}"}, **extra}


@pytest.fixture
def service(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(svc=SERVICE, models=MODELS)
    add_dualread_table(inner_project, CONFIG)
    inner_project.mkdir("cases")
    monkeypatch.syspath_prepend(str(inner_project.path))
    monkeypatch.delenv("SVC_BUG", raising=False)
    return inner_project


def write_cases(project: pytest.Pytester, text: str, name: str = "logs") -> Path:
    path = project.path / "cases" / f"{name}.json"
    path.write_text(text, encoding="utf-8")
    return path


def checks_by_name(run: object) -> dict[str, object]:
    report = getattr(run, "report", None)
    assert report is not None, "no report was written"
    return {c.id.rsplit("::", 1)[-1]: c for c in report.checks}


def test_golden_lifecycle_missing_then_written_from_legacy_then_passing(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    write_cases(service, case_file(log_case("log-1"), log_case("log-2", 2)))

    first = run_dualread("--dual-read")
    first.result.assert_outcomes(failed=2)
    first.result.stdout.fnmatch_lines(
        [
            "*no golden at snapshots/dto/logs/log-1.json: run `pytest --dual-read "
            "--snapshot-update` to create it from the legacy response*"
        ]
    )

    update = run_dualread("--dual-read", "--snapshot-update")
    update.result.assert_outcomes(passed=2)
    golden = json.loads((service.path / "snapshots/dto/logs/log-1.json").read_text())
    assert golden == {
        "id": 1,
        "kcal_total": 300,
        "items": [
            {"food_id": "a", "kcal": 100, "name": "Oats"},
            {"food_id": "b", "kcal": 200, "name": "Milk"},
        ],
        "meta": {},
    }, "the golden is legacy's DTO (legacy's item order), volatile fields left out"

    again = run_dualread("--dual-read")
    again.result.assert_outcomes(passed=2)
    assert again.report is not None
    assert again.report.verdict.status == "pass"
    check = checks_by_name(again)["log-1"]
    assert check.data.golden_path == "snapshots/dto/logs/log-1.json"  # type: ignore[union-attr]
    assert check.data.fields_compared > 0  # type: ignore[union-attr,operator]


def test_an_adapter_regression_fails_names_the_field_and_leaves_artifacts(
    service: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cases(service, case_file(log_case("log-1"), log_case("log-2", 2)))
    run_dualread("--dual-read", "--snapshot-update").result.assert_outcomes(passed=2)

    monkeypatch.setenv("SVC_BUG", "kcal")
    run = run_dualread("--dual-read")
    run.result.assert_outcomes(passed=1, failed=1)
    out = run.result.stdout.str()
    assert "1 of 8 fields differ" in out
    assert "worst: items[b].kcal (adapter_vs_legacy) differs by 90, allowed 20" in out
    run.result.stdout.re_match_lines(
        [r"items\[b\]\.kcal +\| 200 +\| 290 +\| 200 +\| adapter_regression"]
    )

    check = checks_by_name(run)["log-1"]
    assert check.outcome == "failed"  # type: ignore[attr-defined]
    paths = {(f.path, f.comparison, f.triage) for f in check.findings}  # type: ignore[attr-defined]
    assert paths == {
        ("items[b].kcal", "adapter_vs_legacy", "adapter_regression"),
        ("items[b].kcal", "adapter_vs_golden", "adapter_regression"),
    }
    folder = service.path / "dual-read-results"
    assert sorted(check.artifacts) == ["adapter", "diff", "golden", "legacy"]  # type: ignore[attr-defined]
    for rel in check.artifacts.values():  # type: ignore[attr-defined]
        assert (folder / rel).is_file()
    assert "adapter_regression" in (folder / check.artifacts["diff"]).read_text()  # type: ignore[attr-defined]
    assert run.report is not None
    assert run.report.verdict.status == "fail"
    passing = checks_by_name(run)["log-2"]
    assert passing.artifacts == {}, "retention 'failed' keeps nothing for passing checks"  # type: ignore[attr-defined]


def test_a_hand_edited_golden_is_upstream_drift_not_a_regression(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    write_cases(service, case_file(log_case("log-1")))
    run_dualread("--dual-read", "--snapshot-update")
    path = service.path / "snapshots/dto/logs/log-1.json"
    golden = json.loads(path.read_text())
    golden["items"][0]["name"] = "Porridge"
    path.write_text(json.dumps(golden))

    run = run_dualread("--dual-read")
    run.result.assert_outcomes(failed=1)
    check = checks_by_name(run)["log-1"]
    assert {f.triage for f in check.findings} == {"upstream_drift"}  # type: ignore[attr-defined]
    assert run.report is not None
    assert run.report.verdict.status == "pass", "a stale golden alone does not block"
    assert any("stale goldens" in reason for reason in run.report.verdict.reasons)


def test_snapshot_update_refuses_to_write_when_the_sides_disagree(
    service: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cases(service, case_file(log_case("log-1")))
    monkeypatch.setenv("SVC_BUG", "kcal")
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(failed=1)
    assert (
        "refusing to write the golden snapshots/dto/logs/log-1.json: legacy and adapter "
        "disagree beyond tolerance at items[b].kcal"
    ) in run.result.stdout.str()
    assert not (service.path / "snapshots/dto/logs/log-1.json").exists()


@pytest.mark.parametrize(
    ("path", "words"),
    [
        pytest.param("/boom", ["expected a 2xx status, got 500", "database on fire"], id="500"),
        pytest.param("/text", ["expected a JSON body", "<html>not json</html>"], id="not-json"),
        pytest.param("/slow", ["timed out after 1 s (fetch.timeout_s)"], id="timeout"),
        pytest.param("/logs/9", ["got 404", "no such log"], id="404"),
    ],
)
def test_a_bad_response_is_an_error_check_and_the_run_goes_on(
    service: pytest.Pytester, run_dualread: RunDualRead, path: str, words: list[str]
) -> None:
    write_cases(
        service,
        case_file({"id": "bad", "request": {"path": path}}, log_case("log-1")),
    )
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(passed=1, errors=1)
    check = checks_by_name(run)["bad"]
    assert check.outcome == "error"  # type: ignore[attr-defined]
    for word in words:
        assert word in check.message  # type: ignore[attr-defined]
    assert "http://legacy.in-process" + path in check.message  # type: ignore[attr-defined]
    assert run.report is not None
    assert run.report.run.complete
    assert run.report.summary.errors == 1


def test_an_unreachable_side_is_an_error_naming_the_url(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    write_cases(service, case_file(log_case("log-1")))
    run = run_dualread("--dual-read", f"--dual-read-legacy-url=http://127.0.0.1:{port}")
    check = checks_by_name(run)["log-1"]
    assert check.outcome == "error"  # type: ignore[attr-defined]
    assert f"legacy http://127.0.0.1:{port}/logs/1: cannot connect" in check.message  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        pytest.param(
            '{"model": "models:LogDTO", "cases": [', ["not valid JSON", "logs.json:1"], id="json"
        ),
        pytest.param(
            case_file(log_case("log-1"), log_case("log-1", 2)),
            ["logs.json:", "case 'log-1'", "duplicate case id (first defined at line"],
            id="duplicate-id",
        ),
        pytest.param(
            case_file(log_case("log-1", colour="red")),
            ["case 'log-1'", "unknown key 'colour'"],
            id="unknown-key",
        ),
        pytest.param(
            case_file({"id": "x", "request": {"path": "logs/1"}}),
            ["case 'x'", "request.path", "should match pattern"],
            id="relative-path",
        ),
    ],
)
def test_a_malformed_case_file_is_one_error_and_the_run_goes_on(
    service: pytest.Pytester, run_dualread: RunDualRead, text: str, words: list[str]
) -> None:
    write_cases(service, text)
    write_cases(service, case_file(log_case("fine")), name="other")
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(passed=1, errors=1)
    out = run.result.stdout.str()
    for word in words:
        assert word in out
    assert run.report is not None
    assert run.report.run.complete
    assert run.report.summary.errors == 1
    errored = next(c for c in run.report.checks if c.outcome == "error")
    assert errored.id.endswith("logs.json::logs.json")


def test_a_bad_model_path_is_an_error_naming_file_line_and_case(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    write_cases(service, case_file(log_case("log-1"), model="models:NoSuchModel"))
    run = run_dualread("--dual-read")
    check = checks_by_name(run)["log-1"]
    assert check.outcome == "error"  # type: ignore[attr-defined]
    assert "logs.json:5 case 'log-1': model 'models:NoSuchModel'" in check.message  # type: ignore[attr-defined]
    assert "has no 'NoSuchModel'" in check.message  # type: ignore[attr-defined]


def test_the_fixture_checks_paths_and_pairs_with_per_call_rules(
    service: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.makepyfile(
        test_api="""
        from models import LogDTO

        def test_pair(dual_read):
            pair = dual_read.fetch("/logs/1")
            assert pair.legacy.status == pair.adapter.status == 200
            result = dual_read.check(pair, model=LogDTO, golden=False,
                                     tolerances={"items[*].kcal": {"abs": 100}})
            assert result.passed

        def test_path(dual_read):
            dual_read.check("/logs/2", model=LogDTO, golden=False, name="tea")
            dual_read.check("/logs/1", model=LogDTO, golden=False, name="oats")
        """
    )
    monkeypatch.setenv("SVC_BUG", "kcal")
    run = run_dualread("--dual-read", "-k", "pair or path")
    run.result.assert_outcomes(passed=1, failed=1)
    assert run.report is not None
    ids = sorted(c.id for c in run.report.checks)
    assert ids == [
        "test_api.py::test_pair",
        "test_api.py::test_path::oats",
        "test_api.py::test_path::tea",
    ]
    outcomes = {c.id: c.outcome for c in run.report.checks}
    assert outcomes["test_api.py::test_pair"] == "passed", "the call's tolerance wins"
    assert outcomes["test_api.py::test_path::oats"] == "failed"


def test_path_prefix_per_side(service: pytest.Pytester, run_dualread: RunDualRead) -> None:
    add_dualread_table(service, "[tool.dualread.legacy.params]\n[tool.dualread.adapter.cookies]\n")
    text = (service.path / "pyproject.toml").read_text()
    text = text.replace(
        'headers = { "X-Side" = "legacy" }',
        'headers = { "X-Side" = "legacy" }\npath_prefix = "/v1"',
    ).replace('bearer_token = "s3cret-token"', 'bearer_token = "s3cret-token"\npath_prefix = "/v2"')
    (service.path / "pyproject.toml").write_text(text)
    write_cases(service, case_file(log_case("log-1")))
    run = run_dualread("--dual-read", "--snapshot-update")
    run.result.assert_outcomes(passed=1)
    check = checks_by_name(run)["log-1"]
    assert check.data.urls == {  # type: ignore[union-attr]
        "legacy": "http://legacy.in-process/v1/logs/1",
        "adapter": "http://adapter.in-process/v2/logs/1",
    }


def test_secrets_never_reach_the_report_or_artifacts(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    add_dualread_table(service, "")
    text = (service.path / "pyproject.toml").read_text()
    text = text.replace("retries = 0", 'retries = 0\nredact_fields = ["name"]')
    (service.path / "pyproject.toml").write_text(text)
    write_cases(service, case_file(log_case("log-1")))
    run = run_dualread("--dual-read", "--dual-read-artifacts=all")
    run.result.assert_outcomes(failed=1)
    everything = "".join(
        p.read_text(errors="replace")
        for p in (service.path / "dual-read-results").rglob("*")
        if p.is_file()
    )
    assert "Oats" in (service.path / "svc.py").read_text()
    assert "s3cret-token" not in everything
    assert "Oats" not in everything, "redact_fields hides values in artifacts and report"
    assert "<redacted>" in everything


def test_stale_rules_and_goldens_are_reported(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    write_cases(service, case_file(log_case("log-1", ignore=["nothing.here"])))
    run_dualread("--dual-read", "--snapshot-update")
    orphan = service.path / "snapshots/dto/logs/deleted-case.json"
    orphan.write_text("{}")
    run = run_dualread("--dual-read")
    assert run.report is not None
    stale = {(s.kind, s.name) for s in run.report.stale}
    assert ("golden", "snapshots/dto/logs/deleted-case.json") in stale
    assert ("rule", "ignore: nothing.here") in stale
    assert ("rule", "ignore: **.request_id") not in stale
    assert orphan.exists(), "a stale golden is reported, never deleted"
    run.result.stdout.fnmatch_lines(["*stale golden: snapshots/dto/logs/deleted-case.json*"])


def test_cases_are_skipped_without_the_flag_and_selectable_by_tag(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    write_cases(
        service,
        case_file(log_case("log-1", tags=["smoke"]), log_case("log-2", 2)),
    )
    skipped = run_dualread("cases", "-rs")
    skipped.result.assert_outcomes(skipped=2)
    skipped.result.stdout.fnmatch_lines(["*run pytest with --dual-read to enable it*"])
    smoke = run_dualread("--dual-read", "--snapshot-update", "-k", "smoke")
    smoke.result.assert_outcomes(passed=1)


def test_xdist_gives_the_same_dto_report(
    service: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cases(
        service,
        case_file(*(log_case(f"log-{i}", 1 + i % 2) for i in range(8))),
    )
    run_dualread("--dual-read", "--snapshot-update")
    monkeypatch.setenv("SVC_BUG", "kcal")
    monkeypatch.setenv("PYTHONPATH", str(service.path))
    serial = run_dualread("--dual-read")
    parallel = run_dualread("--dual-read", "-n", "2", subprocess=True)
    assert serial.report is not None
    assert parallel.report is not None
    assert parallel.report.summary == serial.report.summary

    def content(report: object) -> list[object]:
        return [
            (c.id, c.outcome, [f.model_dump() for f in c.findings], sorted(c.artifacts))
            for c in report.checks  # type: ignore[attr-defined]
        ]

    assert content(parallel.report) == content(serial.report)


# ---------------------------------------------------------------------------------------------
# a real HTTP server on 127.0.0.1


@pytest.fixture(scope="module")
def http_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("svc")
    (folder / "svc_http.py").write_text(SERVICE)
    import importlib.util

    spec = importlib.util.spec_from_file_location("svc_http", folder / "svc_http.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with serving(module.app) as url:
        yield url


def test_over_real_http(
    service: pytest.Pytester, run_dualread: RunDualRead, http_service: str
) -> None:
    write_cases(service, case_file(log_case("log-1"), log_case("log-2", 2)))
    run = run_dualread(
        "--dual-read",
        "--snapshot-update",
        f"--dual-read-legacy-url={http_service}",
        f"--dual-read-adapter-url={http_service}",
    )
    run.result.assert_outcomes(passed=2)
    check = checks_by_name(run)["log-1"]
    assert check.data.urls["adapter"] == f"{http_service}/logs/1"  # type: ignore[union-attr]


def test_a_side_sends_the_same_credentials_to_the_browser() -> None:
    from pytest_dualread.config import DualReadSettings

    settings = DualReadSettings.model_validate(
        {
            "legacy": {"headers": {"X-Side": "legacy"}, "basic_auth": ["ann", "pw"]},
            "adapter": {"cookies": {"flag": "v2", "ab": "1"}, "bearer_token": "t"},
        }
    )
    assert settings.legacy.browser_headers() == {
        "X-Side": "legacy",
        "Authorization": "Basic YW5uOnB3",
    }
    assert settings.adapter.browser_headers() == {
        "Cookie": "flag=v2; ab=1",
        "Authorization": "Bearer t",
    }
