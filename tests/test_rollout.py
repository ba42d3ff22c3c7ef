"""The rollout toolkit on histories of real runs of the bundled example: warn levels, the
decision ledger, thresholds from a history, baseline rotation, trend, chat summary, and the
dashboard and alert rules for the metrics."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from rollout_history import ExampleRuns, run_example

from pytest_dualread.cli import main
from pytest_dualread.config import DualReadSettings, PageOptions, VisualSettings
from pytest_dualread.report import load_report
from pytest_dualread.tolerance import Tolerance

# -- the real runs ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def example(tmp_path_factory: pytest.TempPathFactory) -> ExampleRuns:
    return run_example(tmp_path_factory.mktemp("example-runs"))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("DUALREAD_") or name in ("GITHUB_STEP_SUMMARY", "GITHUB_ACTOR"):
            monkeypatch.delenv(name)


def dualread(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


PYPROJECT = """\
# The product team's thresholds: keep this comment.
[tool.dualread.dto]
tolerances = { "**.kcal" = { abs = 80 }, "**.fat_g" = { abs = 15 }, "kcal_total" = { rel = 0.18 } }
"""


# -- warn levels -----------------------------------------------------------------------------


def test_a_drift_between_warn_and_fail_passes_with_warnings_and_fail_on_warn_fails_it(
    example: ExampleRuns, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    report = load_report(example.reports["drift"])
    warned = [c for c in report.checks if any(f.level == "warn" for f in c.findings)]
    assert warned
    assert all(c.outcome == "passed" for c in report.checks)
    assert report.summary.warnings == len(warned) == report.verdict.warnings
    assert report.verdict.status == "pass"
    assert report.verdict.label == "pass with warnings"
    finding = next(f for c in warned for f in c.findings if f.level == "warn")
    assert finding.tolerance == Tolerance(abs=2, warn_abs=0.5)
    assert "beyond its warn level 0.5" in finding.message
    [kcal] = [f for f in report.fields if (f.comparison, f.pattern) == (
        "adapter_vs_legacy", "items[*].kcal")]  # fmt: skip
    assert kcal.checks_differing == 0  # a warning is within tolerance
    assert kcal.checks_moved == len(warned)
    green = load_report(example.reports["green"])
    assert green.summary.warnings == 0
    assert green.verdict.label == "pass"

    code, out, _ = dualread(capsys, "gate", example.reports["drift"], "--config", tmp_path / "x")
    assert code == 2  # no such --config: the flag names it
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    config = tmp_path / "pyproject.toml"
    code, out, _ = dualread(capsys, "gate", example.reports["drift"], "--config", config)
    assert code == 0
    assert "verdict: pass with warnings" in out
    assert f"({len(warned)} with warnings)" in out
    code, out, _ = dualread(
        capsys, "gate", example.reports["drift"], "--config", config, "--fail-on-warn"
    )
    assert code == 1
    assert "passed with warnings (fail_on_warn)" in out
    config.write_text("[tool.dualread.gate]\nfail_on_warn = true\n", encoding="utf-8")
    assert dualread(capsys, "gate", example.reports["drift"], "--config", config)[0] == 1
    assert dualread(capsys, "gate", example.reports["green"], "--config", config)[0] == 0


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        ({"abs": 80, "warn_abs": 80}, "warn_abs 80 must be below abs 80"),
        ({"abs": 80, "warn_abs": 90}, "warn_abs 90 must be below abs 80"),
        ({"rel": 0.1, "warn_abs": 5}, "warn_abs needs abs"),
        ({"abs": 1, "warn_rel": 0.1}, "warn_rel needs rel"),
        ({"abs": 1, "warn_abs": "x"}, "warn_abs must be a number"),
        ({"abs": 1, "warn": 0.5}, "warn_abs / warn_rel for a warn level"),
    ],
)
def test_a_warn_level_must_sit_below_its_fail_level(raw: dict[str, object], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        Tolerance.of(raw)
    if "warn" not in raw:
        with pytest.raises(ValueError, match=words):
            Tolerance.model_validate(raw)


def test_a_warn_level_reads_in_text_and_json() -> None:
    tolerance = Tolerance.of({"abs": 80, "warn_abs": 55, "rel": 0.2, "warn_rel": 0.1})
    assert str(tolerance) == "abs 80 or rel 0.2 (warn above abs 55 or rel 0.1)"
    assert tolerance.to_json() == {"abs": 80, "rel": 0.2, "warn_abs": 55, "warn_rel": 0.1}
    assert tolerance.warns(100, 160)
    assert not tolerance.warns(100, 155)
    assert Tolerance(abs=80).model_dump() == {"abs": 80, "rel": None}  # written as before


def test_visual_budgets_have_the_same_two_levels(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_dualread.pagecheck import pixel_budget
    from pytest_dualread.visual import compare_images

    data = Path(__file__).parent / "imagediff_data"
    base, wording = (data / "base.png").read_bytes(), (data / "wording.png").read_bytes()
    settings = DualReadSettings.model_construct(
        visual=VisualSettings(max_diff_pixels=300, warn_diff_pixels=100)
    )
    budget = pixel_budget(settings, PageOptions())
    comparison = compare_images("adapter_vs_legacy", "legacy", "adapter", base, wording, budget,
                                diff_image=False)  # fmt: skip
    assert comparison.diff.mismatch_pixels == 263
    assert comparison.passed
    assert comparison.warned
    assert "warning (above the warn level 100)" in comparison.summary()
    assert comparison.to_json()["warn_pixels"] == 100
    quiet = pixel_budget(settings, PageOptions(warn_diff_pixels=280))
    assert not compare_images("n", "a", "b", base, wording, quiet, diff_image=False).warned
    with pytest.raises(ValueError, match=r"warn_diff_pixels 100 must be below max_diff_pixels 50"):
        pixel_budget(settings, PageOptions(max_diff_pixels=50))
    with pytest.raises(ValueError, match=r"tool\.dualread\.visual: warn_diff_ratio"):
        VisualSettings(max_diff_ratio=0.01, warn_diff_ratio=0.02)


# -- the decision ledger ---------------------------------------------------------------------


def test_gate_ledger_records_each_decision_and_verify_finds_changed_files(
    example: ExampleRuns,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    history = tmp_path / "history"
    files = example.history(history, "GGD")
    report = tmp_path / "report.json"
    shutil.copy(example.reports["fail"], report)
    baseline = tmp_path / "baseline.json"
    shutil.copy(example.reports["green"], baseline)
    ledger = tmp_path / "audit" / "decisions.jsonl"
    monkeypatch.setenv("GITHUB_ACTOR", "release-bot")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_s3cretvalue")
    config = tmp_path / "pyproject.toml"
    config.write_text("", encoding="utf-8")
    common = ["--config", config, "--ledger", ledger]
    gate = ["gate", report, "--baseline", baseline, "--history", history]
    code, _, _ = dualread(capsys, *gate, "--require-green-days", "1", "--today", "2026-11-03",
                          *common)  # fmt: skip
    assert code == 1
    code, _, _ = dualread(capsys, "gate", files[-1], *common)
    assert code == 0
    text = ledger.read_text(encoding="utf-8")
    assert "ghp_s3cretvalue" not in text
    first, second = (json.loads(line) for line in text.splitlines())
    assert (first["decision"], first["verdict"]) == ("no-go", "fail")
    assert any("failed" in r for r in first["reasons"])
    assert first["actor"] == {"name": "release-bot", "from": "GITHUB_ACTOR"}
    assert [e["role"] for e in first["evidence"]] == [
        "report", "baseline", "history[0]", "history[1]", "history[2]",
    ]  # fmt: skip
    assert all(e["sha256"].startswith("sha256:") for e in first["evidence"])
    assert first["policy"]["blocking_triage"] == ["adapter_regression", "both_diverge"]
    assert first["selection"]["deselected"] == 0
    assert (second["decision"], second["verdict"]) == ("go", "pass with warnings")

    code, out, _ = dualread(capsys, "ledger", "verify", ledger)
    assert code == 0, out
    assert "6 files of 2 decisions: 6 unchanged, 0 changed, 0 missing" in out
    baseline.write_text(baseline.read_text(encoding="utf-8") + " ", encoding="utf-8")
    files[0].unlink()
    code, out, _ = dualread(capsys, "ledger", "verify", ledger)
    assert code == 1
    assert f"changed  line 1: {baseline}" in out
    assert f"missing  line 1: {files[0]}" in out
    ledger.write_text(text + "{not json\n", encoding="utf-8")
    code, _, err = dualread(capsys, "ledger", "verify", ledger)
    assert code == 2
    assert f"ledger {ledger}: line 3 is not JSON" in err


# -- thresholds from the whole history -------------------------------------------------------


def test_thresholds_from_history_learn_from_passing_runs_and_apply_both_levels(
    example: ExampleRuns, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    history = tmp_path / "history"
    example.history(history, "GGDDDFD")
    config = tmp_path / "pyproject.toml"
    config.write_text(PYPROJECT, encoding="utf-8")
    config.chmod(0o640)
    code, out, _ = dualread(
        capsys, "thresholds", "suggest", "--history", history, "--config", config
    )
    assert code == 0, out
    assert "thresholds from 6 of 7 runs (complete, passing)" in out
    kcal = next(line for line in out.splitlines() if line.startswith("| **.kcal |"))
    # Item kcal moved by 1 in each drifting run: samples from passing runs, never below 1.
    assert "| abs 80 | abs 1 " in kcal
    fat = next(line for line in out.splitlines() if line.startswith("| **.fat_g |"))
    assert "| 0 |" in fat  # the failing run's fat deltas are not learned as normal
    assert "dry run" in out
    assert config.read_text(encoding="utf-8") == PYPROJECT

    code, out, _ = dualread(capsys, "thresholds", "suggest", "--history", history,
                            "--include-failed", "--config", config)  # fmt: skip
    fat = next(line for line in out.splitlines() if line.startswith("| **.fat_g |"))
    assert "| 0 |" not in fat

    code, out, _ = dualread(capsys, "thresholds", "suggest", "--history", history, "--k", "3",
                            "--warn-k", "0", "--config", config, "--apply")  # fmt: skip
    assert code == 0, out
    text = config.read_text(encoding="utf-8")
    assert text.startswith("# The product team's thresholds: keep this comment.")
    assert stat.S_IMODE(config.stat().st_mode) == 0o640
    assert '"**.kcal" = { abs = 1 }' in text


# -- baseline rotation -----------------------------------------------------------------------


def test_rotation_after_a_streak_of_passing_runs_is_a_dry_run_unless_applied(
    example: ExampleRuns, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    history = tmp_path / "history"
    files = example.history(history, "F" + "G" * 13 + "D")
    baseline = tmp_path / "baseline.json"
    shutil.copy(example.reports["fail"], baseline)
    before = baseline.read_bytes()
    ledger = tmp_path / "ledger.jsonl"
    args = ["baseline", "rotate", "--history", history, "--baseline", baseline]
    code, out, _ = dualread(capsys, *args, "--after", "15")
    assert code == 1
    assert "not rotated: 14 of 15 newest runs passed" in out
    assert "2026-11-01-fail.json failed" in out
    code, out, _ = dualread(capsys, *args)
    assert code == 0
    assert "would rotate" in out
    assert "dry run" in out
    assert baseline.read_bytes() == before
    code, out, _ = dualread(capsys, *args, "--apply", "--ledger", ledger)
    assert code == 0, out
    assert baseline.read_bytes() == files[-1].read_bytes()
    [record] = [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()]
    assert record["command"] == "baseline rotate"
    assert record["previous_baseline_sha256"].startswith("sha256:")
    assert len(record["streak"]) == 14
    assert dualread(capsys, "ledger", "verify", ledger)[0] == 0


# -- trend -----------------------------------------------------------------------------------


def test_weekly_trend_gives_pass_rates_worst_fields_and_what_moved(
    example: ExampleRuns, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    history = tmp_path / "history"
    example.history(history, "GGGGGGG" + "GGDDFDD")
    out_dir = tmp_path / "trend"
    code, out, _ = dualread(capsys, "trend", "--history", history, "--days", "7",
                            "--today", "2026-11-14", "--out", out_dir)  # fmt: skip
    assert code == 0, out
    assert (out_dir / "trend.md").read_text(encoding="utf-8") == out
    data = json.loads((out_dir / "trend.json").read_text(encoding="utf-8"))
    assert [d["pass_rate"] for d in data["days"]] == [1.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0]
    fields = {f["name"]: f for f in data["fields"]}
    assert fields["items[*].kcal"]["value"] == 1.0
    assert fields["items[*].kcal"]["share"] == 0.5
    assert "items[*].fat_g" in fields
    moved = {m["name"]: m for m in data["moved"]}
    assert moved["items[*].kcal"]["before"] is None
    assert moved["items[*].kcal"]["now"] == 1.0
    assert "| 2026-11-12 | 1 | 0% |" in out


# -- chat summary ----------------------------------------------------------------------------


def _texts(node: object) -> list[tuple[str, str]]:
    """(block type, text) of every text field in a Block Kit payload."""
    out: list[tuple[str, str]] = []
    if isinstance(node, dict):
        text = node.get("text")
        if isinstance(text, dict):
            out.append((str(node.get("type")), text["text"]))
        elif isinstance(text, str) and node.get("type") in ("mrkdwn", "plain_text"):
            out.append((str(node["type"]), text))
        for key, value in node.items():
            if key != "text":
                out.extend(_texts(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(_texts(value))
    return out


def test_slack_summary_stays_within_block_kit_limits_for_many_failures(
    example: ExampleRuns, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    history = tmp_path / "history"
    example.history(history, "GGGD")
    report = load_report(example.reports["fail"])
    many = report.model_copy(
        update={
            "checks": [
                c.model_copy(update={"id": f"{c.id}-{i}" + "x" * 200})
                for i in range(40)
                for c in report.checks
            ]
        }
    )
    big = tmp_path / "many.json"
    big.write_text(many.model_dump_json(), encoding="utf-8")
    code, out, _ = dualread(capsys, "summary", big, "--baseline", example.reports["green"],
                            "--history", history, "--report-url", "https://ci.example/r/1",
                            "--today", "2026-11-05")  # fmt: skip
    assert code == 0, out
    payload = json.loads(out)
    blocks = payload["blocks"]
    assert len(blocks) <= 50
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "dual-read: FAIL"},
    }
    texts = _texts(payload)
    assert all(len(t) <= (150 if kind == "header" else 3000) for kind, t in texts)
    joined = "\n".join(t for _, t in texts)
    assert f"… and {40 * 28 - 10} more" in joined
    assert "new failures" in joined
    assert "items[*].fat_g: worst delta" in joined
    assert re.search(r"Top causes\S*\n\S*\d+ checks: fat_g value \(e\.g\. ", joined), joined
    assert "0 green days in a row, ending 2026-11-05" in joined
    assert "<https://ci.example/r/1|HTML report>" in joined

    code, out, _ = dualread(capsys, "summary", example.reports["drift"], "--format", "text",
                            "--history", history, "--today", "2026-11-04")  # fmt: skip
    assert out.startswith("dual-read: PASS WITH WARNINGS\n")
    assert "4 green days in a row, ending 2026-11-04" in out


# -- dashboards and alert rules --------------------------------------------------------------


def test_dashboard_and_rules_use_the_emitted_metrics_and_pass_promtool(
    example: ExampleRuns, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    from pytest_dualread.metrics import write_metrics

    prom = tmp_path / "run.prom"
    write_metrics(load_report(example.reports["drift"]), prom, env_name="staging")
    emitted = {f.name for f in text_string_to_metric_families(prom.read_text(encoding="utf-8"))}
    config = tmp_path / "pyproject.toml"
    config.write_text(
        PYPROJECT.replace("{ abs = 80 }", "{ abs = 80, warn_abs = 55 }")
        + "[tool.dualread.visual]\nmax_diff_ratio = 0.01\nwarn_diff_ratio = 0.002\n",
        encoding="utf-8",
    )
    out_dir = tmp_path / "obs"
    code, out, _ = dualread(capsys, "observability", "--out", out_dir, "--config", config)
    assert code == 0, out
    dashboard = json.loads((out_dir / "dualread-dashboard.json").read_text(encoding="utf-8"))
    assert [v["name"] for v in dashboard["templating"]["list"]] == ["datasource", "env"]
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    rules = json.loads((out_dir / "dualread-rules.yml").read_text(encoding="utf-8"))
    exprs += [r["expr"] for g in rules["groups"] for r in g["rules"]]
    import re

    used = {re.sub(r"_(bucket|sum|count)$", "", m) for e in exprs
            for m in re.findall(r"\bdualread_[a-z_]+", e)}  # fmt: skip
    assert used
    assert used <= emitted, used - emitted
    alerts = {(r["alert"], r["expr"]) for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert ("DualReadRuleDiffWarn", 'dualread:rule_abs_diff:p99{rule="**.kcal"} > 55') in alerts
    assert ("DualReadRuleDiffFail", 'dualread:rule_abs_diff:p99{rule="**.kcal"} > 80') in alerts
    assert ("DualReadPageMismatchWarn", "dualread_page_mismatch_ratio > 0.002") in alerts
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is absent (scripts/bootstrap.sh installs Debian's prometheus)")
    done = subprocess.run([promtool, "check", "rules", str(out_dir / "dualread-rules.yml")],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_a_warning_never_makes_a_failed_check_block() -> None:
    from pytest_dualread.config import GateSettings
    from pytest_dualread.gate import blocking, evaluate
    from pytest_dualread.report import Check, Finding

    def finding(triage: str, level: str) -> Finding:
        return Finding.model_validate(
            {"comparison": "adapter_vs_golden", "path": "kcal", "category": "value",
             "delta": 1.0, "triage": triage, "level": level}
        )  # fmt: skip

    stale = Check.model_validate(
        {"id": "c", "nodeid": "c", "kind": "dto", "outcome": "failed", "data": {},
         "findings": [finding("legacy_drift", "fail"), finding("adapter_regression", "warn")]}
    )  # fmt: skip
    assert not blocking(stale, GateSettings())
    verdict = evaluate([stale], GateSettings())
    assert (verdict.status, verdict.warnings, verdict.label) == ("pass", 0, "pass")
