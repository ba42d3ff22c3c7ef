"""gate.py and merge_reports: the pure rules a release gate applies, table by table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from conftest import synthetic_report

from pytest_dualread.config import GateSettings, ToleranceSetting
from pytest_dualread.errors import ReportError
from pytest_dualread.gate import (
    blocking,
    collect_deltas,
    compare_to_baseline,
    evaluate,
    green_streak,
    quartiles,
    run_day,
    suggest_thresholds,
    untrusted_reason,
)
from pytest_dualread.report import (
    Check,
    Report,
    StaleEntry,
    merge_reports,
)

POLICY = GateSettings()


def finding(
    path: str = "kcal",
    *,
    delta: float | None = None,
    triage: str | None = "adapter_regression",
    category: str = "value",
    comparison: str = "adapter_vs_legacy",
    tolerance: dict[str, float] | None = None,
) -> dict[str, Any]:
    return {
        "comparison": comparison,
        "path": path,
        "category": category,
        "delta": delta,
        "triage": triage,
        "tolerance": tolerance,
    }


def check(
    cid: str,
    outcome: str = "passed",
    kind: str = "dto",
    *,
    findings: Sequence[dict[str, Any]] = (),
    data: dict[str, Any] | None = None,
) -> Check:
    return Check.model_validate(
        {
            "id": cid,
            "nodeid": f"fixtures/dual_read/cases.json::{cid}",
            "kind": kind,
            "outcome": outcome,
            "findings": list(findings),
            "data": data or {},
        }
    )


def report(
    *checks: Check,
    complete: bool = True,
    started: datetime | None = None,
    config_hash: str = "sha256:abc",
    status: str = "pass",
) -> Report:
    return synthetic_report(
        checks,
        started=started,
        run_minutes=2,
        duration_s=120.0,
        complete=complete,
        incomplete_reason=None if complete else "interrupted",
        config_hash=config_hash,
        status=status,  # type: ignore[arg-type]
    )


# -- verdict -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "triage", "blocks"),
    [
        ("passed", None, False),
        ("skipped", None, False),
        ("error", None, True),
        ("failed", None, True),
        ("failed", "adapter_regression", True),
        ("failed", "both_diverge", True),
        ("failed", "upstream_drift", False),
        ("failed", "legacy_drift", False),
    ],
)
def test_blocking_by_outcome_and_triage(outcome: str, triage: str | None, blocks: bool) -> None:
    found = [finding(triage=triage)] if outcome == "failed" else []
    assert blocking(check("a", outcome, findings=found), POLICY) is blocks


def test_evaluate_names_blockers_and_notes_drift() -> None:
    checks = [
        check("a", "failed", findings=[finding()]),
        check("b", "failed", findings=[finding(triage="upstream_drift")]),
        check("c"),
    ]
    verdict = evaluate(checks, POLICY)
    assert verdict.status == "fail"
    assert verdict.reasons[0] == "1 failed check (allowed: 0): a"
    assert verdict.reasons[1].startswith("not blocking: 1 failed check explained by stale goldens")
    assert evaluate(checks, GateSettings(allowed_failures=1)).status == "pass"


def test_a_visual_check_that_compared_nothing_does_not_satisfy_require_visual() -> None:
    policy = GateSettings(require_visual=True)
    empty = check("marked-visual-but-no-screenshot", kind="visual")
    assert evaluate([empty], policy).reasons == [
        "no visual check ran; the policy requires visual checks"
    ]
    compared = check("page", kind="visual", data={"comparisons": [{"name": "adapter_vs_legacy"}]})
    assert evaluate([compared], policy).status == "pass"


def test_evaluate_policy_minimum_and_visual() -> None:
    verdict = evaluate([check("a")], GateSettings(min_checks=2, require_visual=True))
    assert verdict.reasons == [
        "1 check ran; the policy requires at least 2",
        "no visual check ran; the policy requires visual checks",
    ]


@pytest.mark.parametrize(
    ("built", "words"),
    [
        (report(check("a"), complete=False), "run.complete is false"),
        (report(), "zero checks"),
        (report(check("a", "skipped")), "all 1 check were skipped"),
    ],
)
def test_untrusted_reports(built: Report, words: str) -> None:
    reason = untrusted_reason(built)
    assert reason is not None
    assert words in reason


def test_trusted_report() -> None:
    assert untrusted_reason(report(check("a", "failed"))) is None


# -- baseline --------------------------------------------------------------------------------------


def test_baseline_new_fixed_disappeared_and_deltas() -> None:
    old = report(
        check("a"),
        check("b", "failed", findings=[finding()]),
        check("c"),
        check("d", data={"headroom": {"**.kcal": {"max_delta": 4.0}}}),
        check("p", kind="visual", data={"mismatch_ratio": 0.001}),
        check("s", "skipped"),
    )
    new = report(
        check("a", "failed", findings=[finding("meals[lunch].kcal", delta=90.0)]),
        check("b"),
        check("d", data={"headroom": {"**.kcal": {"max_delta": 6.5}}}),
        check("p", kind="visual", data={"mismatch_ratio": 0.0}),
        check("e", "error"),
        config_hash="sha256:new",
    )
    result = compare_to_baseline(new, old, POLICY)
    assert result.new_failures == ["a", "e"]
    assert result.fixed == ["b"]
    assert result.disappeared == ["c"]  # "s" was skipped before: not judged, not missed
    assert result.appeared == ["e"]
    assert result.regressed
    changes = {(c.check_id, c.measure): (c.old, c.new) for c in result.changes}
    assert changes[("a", "adapter_vs_legacy meals[lunch].kcal")] == (None, 90.0)
    assert changes[("d", "rule **.kcal")] == (4.0, 6.5)
    assert changes[("p", "mismatch_ratio")] == (0.001, 0.0)
    assert result.changes[0].check_id == "a"  # largest increase first
    assert result.notes == [
        "the baseline ran with another config (config_hash sha256:abc, now sha256:new)"
    ]
    assert result.reasons == [
        "2 new failures against the baseline: a, e",
        "1 check of the baseline disappeared: c",
    ]


def test_baseline_without_change_is_no_regression() -> None:
    same = report(check("a"), check("b", "failed", findings=[finding(triage="upstream_drift")]))
    result = compare_to_baseline(same, same, POLICY)
    assert not result.regressed
    assert result.changes == []


def test_still_failing_check_is_not_a_new_failure() -> None:
    old = report(check("a", "failed", findings=[finding(delta=10)]))
    new = report(check("a", "failed", findings=[finding(delta=12)]))
    result = compare_to_baseline(new, old, POLICY)
    assert result.new_failures == []
    assert not result.regressed
    assert [(c.old, c.new) for c in result.changes] == [(10, 12)]


# -- green days ------------------------------------------------------------------------------------


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=timezone.utc)


def green(day: int, hour: int = 10) -> Report:
    return report(check("a"), started=at(day, hour))


def red(day: int, hour: int = 10) -> Report:
    return report(check("a", "failed", findings=[finding()]), started=at(day, hour))


def test_run_day_is_the_utc_date_of_started_at() -> None:
    late = datetime(2026, 11, 13, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert run_day(report(started=late)) == date(2026, 11, 14)
    assert run_day(report(started=datetime(2026, 11, 13, 23, 59))) == date(2026, 11, 13)


def test_all_green_streak() -> None:
    runs = [(f"r{d}", green(d)) for d in range(1, 15)]
    streak = green_streak(runs, POLICY, today=date(2026, 11, 14), days=14)
    assert streak.ok
    assert streak.green_days == 14
    assert streak.reason is None


def test_red_day_in_the_middle_breaks_the_streak() -> None:
    runs = [(f"r{d}", green(d)) for d in range(1, 15)]
    runs.append(("r7-late", red(7, 18)))  # one of two runs on the 7th failed
    streak = green_streak(runs, POLICY, today=date(2026, 11, 14), days=14)
    assert not streak.ok
    assert streak.green_days == 7
    broken = streak.broken_on
    assert broken is not None
    assert (broken.day, broken.status, broken.runs) == (date(2026, 11, 7), "red", 2)
    assert "r7-late failed" in broken.detail
    assert streak.reason is not None
    assert "the streak broke on 2026-11-07 (red" in streak.reason


def test_missing_day_breaks_the_streak_and_incomplete_runs_do_not_count() -> None:
    runs = [(f"r{d}", green(d)) for d in range(1, 15) if d != 10]
    runs.append(("r10", report(check("a"), started=at(10), complete=False)))
    runs.append(("future", green(20)))
    streak = green_streak(runs, POLICY, today=date(2026, 11, 14), days=14)
    broken = streak.broken_on
    assert broken is not None
    assert (broken.day, broken.status) == (date(2026, 11, 10), "missing")
    assert streak.green_days == 4
    assert streak.ignored == [
        "r10: incomplete run of 2026-11-10",
        "future: started on 2026-11-20, after 2026-11-14",
    ]


def test_today_without_a_run_breaks_at_once() -> None:
    streak = green_streak([("r", green(13))], POLICY, today=date(2026, 11, 14), days=2)
    assert streak.green_days == 0
    assert streak.broken_on is not None
    assert streak.broken_on.day == date(2026, 11, 14)


def test_streak_uses_the_policy() -> None:
    runs = [("r", report(check("a"), started=at(14)))]
    strict = GateSettings(require_visual=True)
    streak = green_streak(runs, strict, today=date(2026, 11, 14), days=1)
    assert not streak.ok
    assert streak.days[0].status == "red"


# -- thresholds ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # positions (n-1)p: 2, 4, 6 of 1..9
        ([1, 2, 3, 4, 5, 6, 7, 8, 9], (3.0, 5.0, 7.0)),
        # positions 0.75, 1.5, 2.25: 1 + .75, (2+3)/2, 3 + .25
        ([4, 1, 3, 2], (1.75, 2.5, 3.25)),
        ([2, 4, 4, 5, 7, 9, 10, 12], (4.0, 6.0, 9.25)),
    ],
)
def test_quartiles_are_the_inclusive_textbook_ones(
    values: list[float], expected: tuple[float, float, float]
) -> None:
    assert quartiles(values) == pytest.approx(expected)


def test_suggestion_is_median_plus_k_iqr_with_floor_and_minimum() -> None:
    current = {
        "**.kcal": ToleranceSetting(abs=80),
        "**.protein_g": ToleranceSetting(abs=1),
        "**.total_kcal": ToleranceSetting(rel=0.18),
        "**.fat_g": ToleranceSetting(abs=5),
    }
    deltas = {
        "**.kcal": [2, 4, 4, 5, 7, 9, 10, 12],
        "**.protein_g": [1, 2, 3, 4],
        "**.total_kcal": [10, 20, 30],
        "**.fat_g": [0.5, 0.5],
        "items[*].kcal": [0.0, 0.0, 0.0],
    }
    out = {s.rule: s for s in suggest_thresholds(deltas, current, floor_abs=0.5)}
    kcal = out["**.kcal"]
    assert kcal.proposed_abs == pytest.approx(6 + 1.5 * 5.25)  # 13.875
    assert (kcal.q1, kcal.median, kcal.q3) == pytest.approx((4.0, 6.0, 9.25))
    assert not kcal.looser
    assert kcal.changes
    protein = out["**.protein_g"]
    assert protein.proposed_abs == pytest.approx(2.5 + 1.5 * 1.5)  # 4.75
    assert protein.looser
    assert out["**.total_kcal"].proposed_abs is None
    assert "only a rel bound" in out["**.total_kcal"].why
    assert out["**.fat_g"].proposed_abs is None
    assert "fewer than --min-samples 3" in out["**.fat_g"].why
    floored = out["items[*].kcal"]
    assert floored.proposed_abs == 0.5
    assert "raised to the floor 0.5" in floored.why
    assert floored.current is None
    assert "not in pyproject.toml" in floored.why


def test_collect_deltas_from_headroom_and_findings_counts_each_value_once() -> None:
    tol = {"abs": 5.0}
    first = report(
        check(
            "a",
            "failed",
            data={"headroom": {"**.kcal": {"count": 3, "max_delta": 9, "deltas": [1, 2, 9]}}},
            findings=[
                finding("meals[lunch].kcal", delta=9, tolerance=tol),  # already in headroom
                finding("meals[dinner].kcal", delta=11, tolerance=tol),  # not in headroom
                finding("meals[dinner].fat", delta=3, tolerance=tol),  # no rule matches
                finding("meals[dinner].kcal", delta=4, tolerance=None),  # no tolerance
            ],
        )
    )
    second = report(check("b", data={"headroom": {"**.kcal": {"deltas": [3]}}}))
    assert collect_deltas([first, second], ["**.kcal"]) == {"**.kcal": [1, 2, 9, 11, 3]}


# -- merge -----------------------------------------------------------------------------------------


def test_merge_sorts_recounts_and_spans_the_shards() -> None:
    one = report(check("b"), check("d", "failed", findings=[finding()]), started=at(14, 10))
    one.stale = [
        StaleEntry(kind="rule", name="**.fat"),
        StaleEntry(kind="rule", name="**.salt"),
        StaleEntry(kind="golden", name="g1.json"),
    ]
    two = report(check("a"), check("c", kind="visual"), started=at(14, 9), status="pass")
    two.stale = [StaleEntry(kind="rule", name="**.fat")]
    merged = merge_reports([one, two], sources=["one.json", "two.json"])
    assert [c.id for c in merged.checks] == ["a", "b", "c", "d"]
    assert merged.summary.total == 4
    assert merged.summary.by_kind["visual"].total == 1
    assert merged.run.started_at == at(14, 9)
    assert merged.run.finished_at == at(14, 10) + timedelta(minutes=2)
    assert merged.run.duration_s == 62 * 60
    assert merged.run.complete
    assert [(s.kind, s.name) for s in merged.stale] == [("golden", "g1.json"), ("rule", "**.fat")]
    assert merged.verdict.status == "pass"  # no judge: shard verdicts, both pass

    judged = merge_reports([one, two], judge=lambda checks, complete: evaluate(checks, POLICY))
    assert judged.verdict.status == "fail"
    assert judged.verdict.reasons == ["1 failed check (allowed: 0): d"]


def test_merge_is_incomplete_when_a_shard_is() -> None:
    merged = merge_reports([report(check("a")), report(check("b"), complete=False)])
    assert not merged.run.complete
    assert merged.run.incomplete_reason == "report 2: interrupted"
    assert merged.verdict.status == "fail"


def test_merge_refuses_duplicates_naming_both_files() -> None:
    with pytest.raises(ReportError) as info:
        merge_reports([report(check("a")), report(check("a"))], sources=["x.json", "y.json"])
    assert "duplicate check 'a': it is in both x.json and y.json" in str(info.value)


def test_merge_refuses_other_configs_unless_forced() -> None:
    one, two = report(check("a")), report(check("b"), config_hash="sha256:other")
    with pytest.raises(ReportError) as info:
        merge_reports([one, two], sources=["x.json", "y.json"])
    assert str(info.value).startswith("y.json: ran with config_hash sha256:other")
    merged = merge_reports([one, two], force=True)
    assert merged.run.config_hash == "sha256:abc+sha256:other"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3.0),
        (0.25, 0.25),
        (-1, -1.0),
        (True, None),
        ("3", None),
        (None, None),
        (float("nan"), None),
        (float("inf"), None),
    ],
)
def test_finite_number_takes_only_real_finite_figures(
    value: object, expected: float | None
) -> None:
    from pytest_dualread.gate import finite_number

    assert finite_number(value) == expected
