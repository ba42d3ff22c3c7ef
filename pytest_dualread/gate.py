"""The release gate's rules: pure functions from reports to verdicts, regressions and streaks.

Verdict policy
--------------
A check *blocks* when it errored, or failed with a finding that is not explained by a stale
golden: a finding without triage (a contract break, a visual difference) or one whose triage is
in the policy's ``blocking_triage``. Failed checks whose findings are all non-blocking triage
(``upstream_drift``, ``legacy_drift`` by default) are named in the reasons but do not fail the run.

Trust
-----
:func:`untrusted_reason` says why a loaded report cannot be judged at all (incomplete, or no
check that ran); the ``dualread`` command turns that into exit code 2, never a pass.

Baseline regression (:func:`compare_to_baseline`)
-------------------------------------------------
Against an older report of the same suite: *new failures* (checks that block now and did not
block, or did not exist, before), *fixed* checks (failed or errored before, passed now),
*disappeared* checks (judged before, absent or skipped now) and, per field and per page, the
change of the worst delta or mismatch ratio. New failures and disappeared checks are a
regression; a worse delta that is still within tolerance is reported, not failed.

Green days (:func:`green_streak`)
---------------------------------
A run belongs to the UTC calendar date of its ``run.started_at`` (a timestamp without zone is
taken as UTC). Only complete runs count; incomplete ones are listed and ignored. A day is
*green* when it has at least one complete run and every complete run of that day passes the
policy; *red* when any complete run of that day fails; *missing* when it has no complete run.
The streak counts green days backwards from ``today``; the first red or missing day breaks it.

Threshold suggestions (:func:`suggest_thresholds`)
--------------------------------------------------
Per tolerance rule, the absolute deltas recorded across runs give ``median + k · IQR``, with
quartiles by Python's ``statistics.quantiles(data, n=4, method="inclusive")`` (the "inclusive"
method: linear interpolation between order statistics, the same as NumPy's default ``linear``
percentile), raised to a floor, and only from a minimum number of samples.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timezone
from decimal import ROUND_CEILING, Decimal
from typing import Any, Literal

from pytest_dualread.gatesettings import GateSettings, ToleranceSetting
from pytest_dualread.paths import PatternError, compile_pattern, parse_path
from pytest_dualread.report import Check, DtoData, Report, Verdict, VisualData, warned

__all__ = [
    "Change",
    "DayStatus",
    "Regression",
    "Streak",
    "ThresholdSuggestion",
    "blocking",
    "collect_deltas",
    "compare_to_baseline",
    "evaluate",
    "evaluate_report",
    "finite_number",
    "green_streak",
    "judged",
    "partial_reason",
    "quartiles",
    "run_day",
    "suggest_thresholds",
    "untrusted_reason",
]


def blocking(check: Check, policy: GateSettings) -> bool:
    """Whether ``check`` counts against the run under ``policy``."""
    if check.outcome == "error":
        return True
    if check.outcome != "failed":
        return False
    failing = [f for f in check.findings if f.level == "fail"]
    if not failing:
        return True
    return any(f.triage is None or f.triage in policy.blocking_triage for f in failing)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _names(ids: Sequence[str], cap: int = 10) -> str:
    text = ", ".join(ids[:cap])
    return text + (f", and {len(ids) - cap} more" if len(ids) > cap else "")


def evaluate(checks: Sequence[Check], policy: GateSettings, *, complete: bool = True) -> Verdict:
    """The verdict of a run with ``checks`` under ``policy``."""
    reasons: list[str] = []
    if not complete:
        reasons.append("the run is incomplete (interrupted, stopped early or crashed)")
    if len(checks) < policy.min_checks:
        reasons.append(
            f"{_plural(len(checks), 'check')} ran; the policy requires at least {policy.min_checks}"
        )
    # A visual check counts only if it compared pixels: a test marked visual that never took a
    # screenshot must not satisfy the policy.
    compared = [c for c in checks if isinstance(c.data, VisualData) and c.data.comparisons]
    if policy.require_visual and not compared:
        reasons.append("no visual check ran; the policy requires visual checks")
    blockers = [c for c in checks if blocking(c, policy)]
    if len(blockers) > policy.allowed_failures:
        errors = sum(1 for c in blockers if c.outcome == "error")
        failed = len(blockers) - errors
        parts = []
        if failed:
            parts.append(f"{failed} failed")
        if errors:
            parts.append(f"{errors} errored")
        allowed = policy.allowed_failures
        reasons.append(
            f"{' and '.join(parts)} check{'s' if len(blockers) != 1 else ''} "
            f"(allowed: {allowed}): " + _names([c.id for c in blockers])
        )
    warned_ids = [c.id for c in checks if warned(c)]
    if warned_ids and policy.fail_on_warn:
        reasons.append(
            f"{_plural(len(warned_ids), 'check')} passed with warnings (fail_on_warn): "
            + _names(warned_ids)
        )
    status = "fail" if reasons else "pass"
    if warned_ids and not policy.fail_on_warn:
        reasons.append(
            f"not blocking: {_plural(len(warned_ids), 'check')} passed with warnings "
            "(beyond a warn level, within the fail level): " + _names(warned_ids)
        )
    drift = [c for c in checks if c.outcome == "failed" and not blocking(c, policy)]
    if drift:
        stored = {"dto": "goldens", "visual": "baselines"}
        kinds = " or ".join(stored[k] for k in stored if any(c.kind == k for c in drift))
        reasons.append(
            f"not blocking: {_plural(len(drift), 'failed check')} "
            f"explained by stale {kinds}: " + _names([c.id for c in drift])
        )
    return Verdict(status=status, reasons=reasons, warnings=len(warned_ids))


def evaluate_report(report: Report, policy: GateSettings) -> Verdict:
    """:func:`evaluate` of a whole report, with its waivers judged today."""
    from pytest_dualread.waivers import judge_with_waivers, today

    verdict = evaluate(report.checks, policy, complete=report.run.complete)
    return judge_with_waivers(verdict, report.waivers, today())


def judged(report: Report) -> list[Check]:
    """The checks of ``report`` that ran (everything but skipped ones)."""
    return [c for c in report.checks if c.outcome != "skipped"]


def untrusted_reason(report: Report, *, allow_partial: bool = False) -> str | None:
    """Why ``report`` cannot be judged at all, or None when it can. A run whose selection
    (``-k``, ``-m``, ...) left checks out is judged only with ``allow_partial``."""
    if not report.run.complete:
        why = report.run.incomplete_reason or "interrupted, stopped early or crashed"
        return f"run.complete is false ({why}); an incomplete run is never judged"
    if report.run.calibration is not None:
        return "a calibration run (--dual-read-calibrate) judges nothing; run without it"
    partial = partial_reason(report)
    if partial is not None and not allow_partial:
        return f"{partial}; a partial run is judged only with --allow-partial"
    if not report.checks:
        return "the report has zero checks; there is nothing to judge"
    if not judged(report):
        return f"all {_plural(len(report.checks), 'check')} were skipped; there is nothing to judge"
    return None


def partial_reason(report: Report) -> str | None:
    """What the run's selection left out, or None when it ran every collected item."""
    selection = report.run.selection
    if selection is None:
        return None
    if selection.deselected <= 0 and "--lf" in selection.filters:
        # --lf drops items while collecting, before anything can count them.
        return "partial run: --lf ran only the last failures (what it left out is not counted)"
    if selection.deselected <= 0:
        return None
    by = " ".join(selection.filters) or "the selection"
    return (
        f"partial run: {by} left out {selection.deselected} of "
        f"{_plural(selection.collected, 'dual-read item')}"
    )


# -- baseline regression -----------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """The worst delta (DTO) or mismatch ratio (visual) of one field or page, old against new."""

    check_id: str
    """The check."""
    measure: str
    """``<comparison> <path>`` for a finding, ``rule <pattern>`` for recorded headroom,
    ``mismatch_ratio [comparison]`` for a page."""
    old: float | None
    """In the baseline report; None when it had no such figure."""
    new: float | None
    """In the new report; None when it has no such figure."""

    @property
    def increase(self) -> float:
        """How much worse (positive) or better (negative) the new value is."""
        return (self.new or 0.0) - (self.old or 0.0)


@dataclass(frozen=True)
class Regression:
    """What changed between a baseline report and a new one."""

    new_failures: list[str] = field(default_factory=list)
    """Checks that block now and did not block (or did not exist) in the baseline."""
    fixed: list[str] = field(default_factory=list)
    """Checks that failed or errored in the baseline and pass now."""
    disappeared: list[str] = field(default_factory=list)
    """Checks judged in the baseline that are absent or skipped now."""
    appeared: list[str] = field(default_factory=list)
    """Checks that are new in this report."""
    changes: list[Change] = field(default_factory=list)
    """Worst-delta and mismatch-ratio changes, largest increase first."""
    notes: list[str] = field(default_factory=list)
    """Things worth knowing that do not fail (another config_hash, say)."""

    @property
    def regressed(self) -> bool:
        """New failures or disappeared checks: the gate fails."""
        return bool(self.new_failures or self.disappeared)

    @property
    def reasons(self) -> list[str]:
        """Why it regressed, one line each."""
        out = []
        if self.new_failures:
            out.append(
                f"{_plural(len(self.new_failures), 'new failure')} against the baseline: "
                + _names(self.new_failures)
            )
        if self.disappeared:
            out.append(
                f"{_plural(len(self.disappeared), 'check')} of the baseline disappeared: "
                + _names(self.disappeared)
            )
        return out


def finite_number(value: object) -> float | None:
    """``value`` as a float if it is a finite number, else None (report data is JSON: a figure
    may be missing, a string, a boolean, NaN or infinite)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _measures(check: Check) -> dict[str, float]:
    """The worst figure per field / page of one check."""
    worst: dict[str, float] = {}

    def keep(name: str, value: float | None) -> None:
        if value is not None:
            worst[name] = max(worst.get(name, value), value)

    for finding in check.findings:
        if finding.category == "pixels":
            keep(f"mismatch_ratio {finding.comparison}", finite_number(finding.delta))
        else:
            keep(f"{finding.comparison} {finding.path}", finite_number(finding.delta))
    if isinstance(check.data, DtoData):
        for rule, entry in check.data.headroom.items():
            keep(f"rule {rule}", finite_number(entry.max_delta))
    else:
        keep("mismatch_ratio", finite_number(check.data.mismatch_ratio))
    return worst


def compare_to_baseline(report: Report, baseline: Report, policy: GateSettings) -> Regression:
    """Compare ``report`` with an older ``baseline`` of the same suite (see the module docs)."""
    old = {c.id: c for c in baseline.checks}
    new = {c.id: c for c in report.checks}
    result = Regression()
    for cid in sorted(new):
        check = new[cid]
        before = old.get(cid)
        if blocking(check, policy) and (before is None or not blocking(before, policy)):
            result.new_failures.append(cid)
        if before is None:
            result.appeared.append(cid)
        elif before.outcome in ("failed", "error") and check.outcome == "passed":
            result.fixed.append(cid)
    for cid in sorted(old):
        if old[cid].outcome == "skipped":
            continue
        now = new.get(cid)
        if now is None or now.outcome == "skipped":
            result.disappeared.append(cid)
    for cid in sorted(set(old) & set(new)):
        was_worst, now_worst = _measures(old[cid]), _measures(new[cid])
        for measure in sorted(set(was_worst) | set(now_worst)):
            was, now_value = was_worst.get(measure), now_worst.get(measure)
            if was != now_value:
                result.changes.append(Change(cid, measure, was, now_value))
    result.changes.sort(key=lambda c: (-c.increase, c.check_id, c.measure))
    if report.run.config_hash != baseline.run.config_hash:
        result.notes.append(
            f"the baseline ran with another config (config_hash {baseline.run.config_hash}, "
            f"now {report.run.config_hash})"
        )
    return result


# -- green days ---------------------------------------------------------------------------------


def run_day(report: Report) -> date:
    """The UTC date a run belongs to: that of ``run.started_at`` (naive times are UTC)."""
    started = report.run.started_at
    if started.tzinfo is None:
        started = started.replace(tzinfo=timezone.utc)
    return started.astimezone(timezone.utc).date()


@dataclass(frozen=True)
class DayStatus:
    """One calendar day (UTC) of a history."""

    day: date
    """The date."""
    status: Literal["green", "red", "missing"]
    """Green: every complete run passed; red: one failed; missing: no complete run."""
    runs: int
    """Complete runs that day."""
    detail: str
    """For people: which run failed and why, or how many passed."""


@dataclass(frozen=True)
class Streak:
    """The result of a green-days rule."""

    required: int
    """Green days required, ending today."""
    today: date
    """The last day of the window."""
    days: list[DayStatus]
    """The window, newest first."""
    green_days: int
    """Consecutive green days ending today (at most ``required``)."""
    ignored: list[str] = field(default_factory=list)
    """Runs that did not count (incomplete, or after today), one line each."""

    @property
    def ok(self) -> bool:
        """Whether the streak is long enough."""
        return self.green_days >= self.required

    @property
    def broken_on(self) -> DayStatus | None:
        """The newest day that is not green, when the streak is too short."""
        return None if self.ok else self.days[self.green_days]

    @property
    def reason(self) -> str | None:
        """Why the rule failed, in one line."""
        broken = self.broken_on
        if broken is None:
            return None
        return (
            f"{self.green_days} of {self.required} required green days ending {self.today}; "
            f"the streak broke on {broken.day} ({broken.status}: {broken.detail})"
        )


def green_streak(
    runs: Iterable[tuple[str, Report]], policy: GateSettings, *, today: date, days: int
) -> Streak:
    """Check that the last ``days`` days up to ``today`` are all green.

    ``runs`` are ``(label, report)`` pairs; the label (usually the file) names a failing run.
    """
    if days < 1:
        raise ValueError(f"days must be at least 1, got {days}")
    by_day: dict[date, list[tuple[str, Report]]] = {}
    ignored: list[str] = []
    for label, report in runs:
        day = run_day(report)
        if day > today:
            ignored.append(f"{label}: started on {day}, after {today}")
        elif not report.run.complete:
            ignored.append(f"{label}: incomplete run of {day}")
        else:
            by_day.setdefault(day, []).append((label, report))
    window: list[DayStatus] = []
    for offset in range(days):
        day = date.fromordinal(today.toordinal() - offset)
        complete = sorted(by_day.get(day, []), key=lambda item: item[0])
        if not complete:
            window.append(DayStatus(day, "missing", 0, "no complete run that day"))
            continue
        failing = []
        for label, report in complete:
            verdict = evaluate_report(report, policy)
            if not judged(report):
                failing.append(f"{label} judged no check")
            elif verdict.status == "fail":
                failing.append(f"{label} failed: {verdict.reasons[0]}")
        if failing:
            window.append(DayStatus(day, "red", len(complete), "; ".join(failing)))
        else:
            window.append(
                DayStatus(day, "green", len(complete), f"{_plural(len(complete), 'run')} passed")
            )
    green = 0
    for status in window:
        if status.status != "green":
            break
        green += 1
    return Streak(required=days, today=today, days=window, green_days=green, ignored=ignored)


# -- threshold suggestions ----------------------------------------------------------------------


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """Q1, median and Q3 by ``statistics.quantiles(values, n=4, method="inclusive")``."""
    if len(values) < 2:
        raise ValueError("quartiles need at least 2 values")
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def _rule_of(path: str, rules: Mapping[str, Any]) -> str | None:
    """The most specific rule pattern matching ``path``, or None."""
    try:
        tokens = parse_path(path)
    except ValueError:
        return None
    best: tuple[tuple[int, int, int, str], str] | None = None
    for rule in rules:
        try:
            pattern = compile_pattern(rule)
        except PatternError:
            continue
        if pattern.matches(tokens) and (best is None or pattern.specificity < best[0]):
            best = (pattern.specificity, rule)
    return None if best is None else best[1]


def collect_deltas(reports: Iterable[Report], rules: Iterable[str] = ()) -> dict[str, list[float]]:
    """The absolute deltas recorded per tolerance rule across ``reports``.

    From each check: ``data["headroom"][rule]["deltas"]``, plus the ``delta`` of every finding
    that carries a ``tolerance`` and whose path matches one of ``rules`` (the most specific wins),
    unless the same value is already among that check's headroom deltas for the rule (the
    headroom list may hold it already; each recorded value counts once).
    """
    configured = list(rules)
    out: dict[str, list[float]] = {}
    for report in reports:
        for check in report.checks:
            recorded: dict[str, list[float]] = {}
            headroom = check.data.headroom if isinstance(check.data, DtoData) else {}
            for rule, entry in headroom.items():
                values = [v for v in map(finite_number, entry.deltas) if v is not None]
                recorded[rule] = values
                out.setdefault(rule, []).extend(values)
            unclaimed = {rule: list(values) for rule, values in recorded.items()}
            known = dict.fromkeys([*configured, *recorded])
            for finding in check.findings:
                delta = finite_number(finding.delta)
                if delta is None or finding.tolerance is None or finding.category == "pixels":
                    continue
                owner = _rule_of(finding.path, known) if known else None
                if owner is None:
                    continue
                pool = unclaimed.get(owner, [])
                if delta in pool:
                    pool.remove(delta)
                else:
                    out.setdefault(owner, []).append(delta)
    return out


@dataclass(frozen=True)
class ThresholdSuggestion:
    """What the data says about one tolerance rule."""

    rule: str
    """The tolerance key as written in config (``**.kcal``)."""
    current: ToleranceSetting | None
    """The configured tolerance; None when the rule is not in pyproject.toml."""
    samples: int
    """Recorded deltas."""
    median: float | None = None
    """Median of the deltas."""
    q1: float | None = None
    """First quartile."""
    q3: float | None = None
    """Third quartile."""
    proposed_abs: float | None = None
    """The proposed ``abs`` bound, or None when there is no proposal."""
    why: str = ""
    """How the proposal was made, or why there is none."""

    @property
    def looser(self) -> bool:
        """Whether the proposal allows more than the current ``abs`` bound."""
        if self.proposed_abs is None or self.current is None or self.current.abs is None:
            return False
        return self.proposed_abs > self.current.abs

    @property
    def changes(self) -> bool:
        """Whether applying the proposal would change the configured value."""
        if self.proposed_abs is None or self.current is None:
            return False
        return self.current.abs != self.proposed_abs


def _tidy(value: float) -> float:
    """Round to 6 significant digits, so config files stay readable."""
    return 0.0 if value == 0 else float(f"{value:.6g}")


def _round_up(value: float) -> float:
    """``value`` rounded up to 6 significant digits, in the decimal digits the judge compares
    (:func:`~pytest_dualread.tolerance.difference`): a bound never ends below what it covers."""
    exact = Decimal(repr(value))
    if exact == 0:
        return 0.0
    step = Decimal(1).scaleb(exact.adjusted() - 5)
    return float(exact.quantize(step, rounding=ROUND_CEILING))


def suggest_thresholds(
    deltas: Mapping[str, Sequence[float]],
    current: Mapping[str, ToleranceSetting],
    *,
    k: float = 1.5,
    min_samples: int = 3,
    floor_abs: float = 0.0,
) -> list[ThresholdSuggestion]:
    """Propose ``abs = max(floor_abs, median + k · IQR, largest delta)`` per rule, rounded up
    to 6 significant digits, sorted by rule: a proposal never fails a difference already seen.

    Rules with fewer than ``min_samples`` deltas, and rules with only a ``rel`` bound (absolute
    deltas say nothing about a relative bound), get no proposal and say why.
    """
    if min_samples < 2:
        raise ValueError(
            f"min_samples must be at least 2 (quartiles need 2 values), got {min_samples}"
        )
    out = []
    for rule in sorted(set(deltas) | set(current)):
        values = sorted(deltas.get(rule, ()))
        now = current.get(rule)
        if len(values) < min_samples:
            out.append(
                ThresholdSuggestion(
                    rule,
                    now,
                    len(values),
                    why=f"fewer than --min-samples {min_samples}",
                )
            )
            continue
        q1, median, q3 = quartiles(values)
        raw = median + k * (q3 - q1)
        # Never below a difference already seen: that would fail a run that passed.
        proposed = _round_up(max(floor_abs, raw, values[-1]))
        why = f"median {_tidy(median):g} + {k:g} x IQR {_tidy(q3 - q1):g} = {_tidy(raw):g}"
        if raw < floor_abs and values[-1] <= floor_abs:
            why += f", raised to the floor {floor_abs:g}"
        elif raw < values[-1]:
            why += f", raised to the largest difference seen {_round_up(values[-1]):g}"
        if now is not None and now.abs is None:
            out.append(
                ThresholdSuggestion(
                    rule,
                    now,
                    len(values),
                    median,
                    q1,
                    q3,
                    None,
                    why + "; not proposed: the rule has only a rel bound",
                )
            )
            continue
        if now is None:
            why += "; the rule is not in pyproject.toml (a case-level rule?)"
        out.append(ThresholdSuggestion(rule, now, len(values), median, q1, q3, proposed, why))
    return out
