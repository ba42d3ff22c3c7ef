"""Approving from the report: the failing checks' obtained DTOs become the goldens without a
re-run, the next run passes, the ledger holds who, why and both hashes; an adapter regression
is refused unless forced."""

from __future__ import annotations

import hashlib
import html
import io
import json
import os

import pytest
from conftest import RunDualRead, add_dualread_table
from PIL import Image
from test_cli_gate import dualread
from test_dto_checks import case_file, log_case, service, write_cases

from pytest_dualread.approve import command_for

__all__ = ["service"]  # the fixture, shared with the DTO checks' tests


@pytest.fixture(autouse=True)
def _patient_fetch(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shared service config allows 1 s per request; a loaded CI machine needs more.
    monkeypatch.setenv("DUALREAD_FETCH__TIMEOUT_S", "30")


def _sha(blob: bytes) -> str:
    return "sha256:" + hashlib.sha256(blob).hexdigest()


def test_approving_an_upstream_drift_makes_the_next_run_pass_and_the_ledger_holds_the_hashes(
    service: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    write_cases(service, case_file(log_case("log-1"), log_case("log-2", 2)))
    run_dualread("--dual-read", "--snapshot-update").result.assert_outcomes(passed=2)
    golden = service.path / "snapshots/dto/logs/log-1.json"
    drifted = golden.read_text().replace('"kcal_total": 300', '"kcal_total": 280')
    golden.write_text(drifted)  # the stored golden is out of date: both sides moved past it
    golden.chmod(0o640)

    failed = run_dualread("--dual-read")
    failed.result.assert_outcomes(passed=1, failed=1)
    assert failed.report is not None
    check = next(c for c in failed.report.checks if c.outcome == "failed")
    assert {f.triage for f in check.findings} == {"upstream_drift"}
    line = command_for(check, "dual-read-results/report.json")
    assert line == (
        "dualread approve dual-read-results/report.json --check cases/logs.json::log-1 "
        "--reason 'why this change is right'"
    )
    page = html.unescape((service.path / "dual-read-results/report.html").read_text())
    assert line in page, "the HTML report shows the command that approves the check"

    done = dualread(
        "approve", "dual-read-results/report.json", "--check", check.id,
        "--reason", "the store now rounds totals", "--by", "dana", cwd=service.path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "approved cases/logs.json::log-1: dto/logs/log-1.json" in done.stdout
    assert golden.stat().st_mode & 0o777 == 0o640, "the golden keeps its file mode"
    ledger = (service.path / "snapshots/approvals.jsonl").read_text().splitlines()
    entry = json.loads(ledger[-1])
    assert entry["by"] == "dana"
    assert entry["reason"] == "the store now rounds totals"
    assert entry["check"] == check.id
    assert entry["triage"] == ["upstream_drift"]
    assert entry["old_sha256"] == _sha(drifted.encode())
    assert entry["new_sha256"] == _sha(golden.read_bytes())

    again = run_dualread("--dual-read")
    again.result.assert_outcomes(passed=2)
    assert again.report is not None
    assert again.report.verdict.status == "pass"


def test_an_adapter_regression_is_refused_unless_forced_and_nothing_is_written(
    service: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_cases(service, case_file(log_case("log-1")))
    run_dualread("--dual-read", "--snapshot-update").result.assert_outcomes(passed=1)
    monkeypatch.setenv("SVC_BUG", "kcal")
    run = run_dualread("--dual-read")
    assert run.report is not None
    check = run.report.checks[0]
    assert command_for(check, run.report_path) is None

    refused = dualread("approve", run.report_path, "--reason", "r", cwd=service.path)
    assert refused.returncode == 2
    assert "no failed check that can be approved" in refused.stderr
    named = dualread(
        "approve", run.report_path, "--check", check.id, "--reason", "r", cwd=service.path
    )
    assert named.returncode == 2
    assert f"check {check.id} is triaged adapter_regression" in named.stderr
    assert "--force" in named.stderr
    assert not (service.path / "snapshots/approvals.jsonl").exists()

    unknown = dualread("approve", run.report_path, "--check", "nope", "--reason", "r",
                       cwd=service.path)  # fmt: skip
    assert unknown.returncode == 2
    assert "no check 'nope' in" in unknown.stderr

    forced = dualread(
        "approve", run.report_path, "--check", check.id, "--reason", "r", "--force",
        cwd=service.path,
    )  # fmt: skip
    assert forced.returncode == 0, forced.stderr
    ledger = (service.path / "snapshots/approvals.jsonl").read_text().splitlines()
    assert json.loads(ledger[0])["triage"] == ["adapter_regression"]


def test_approving_a_page_writes_the_legacy_render_as_the_baseline_and_the_next_run_passes(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_visual_checks import CONFIG, SITE, TESTS

    inner_project.makepyfile(pagesite=SITE, test_pages=TESTS)
    add_dualread_table(inner_project, CONFIG)
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(inner_project.path), *([inherited] if inherited else [])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    run_dualread("--dual-read", "--snapshot-update", subprocess=True)
    baseline = inner_project.path / "snapshots/visual/test_pages/test_card.png"
    sidecar = baseline.with_name("test_card.env.json")
    made = baseline.read_bytes()
    image = Image.open(io.BytesIO(made)).convert("RGB")
    image.paste((255, 0, 0), (0, 0, 40, 40))  # the stored page is out of date
    stale = io.BytesIO()
    image.save(stale, format="PNG")
    baseline.write_bytes(stale.getvalue())
    sidecar.unlink()

    red = run_dualread("--dual-read", subprocess=True)
    red.result.assert_outcomes(failed=1)
    assert red.report is not None
    check = red.report.checks[0]
    assert command_for(check, "r.json") is not None
    done = dualread("approve", red.report_path, "--reason", "new layout", cwd=inner_project.path)
    assert done.returncode == 0, done.stderr
    assert sidecar.is_file(), "the baseline's environment is written beside it"
    entry = json.loads((inner_project.path / "snapshots/approvals.jsonl").read_text())
    assert entry["old_sha256"] == _sha(stale.getvalue())
    assert entry["new_sha256"] == _sha(baseline.read_bytes())

    green = run_dualread("--dual-read", subprocess=True)
    green.result.assert_outcomes(passed=1)
