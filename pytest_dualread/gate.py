"""The verdict policy: pure functions from a report's checks to pass / fail with reasons.

A check *blocks* when it errored, or failed with a finding that is not explained by a stale
golden: a finding without triage (a contract break, a visual difference) or one whose triage is
in the policy's ``blocking_triage``. Failed checks whose findings are all non-blocking triage
(``upstream_drift``, ``legacy_drift`` by default) are named in the reasons but do not fail the run.
"""

from __future__ import annotations

from collections.abc import Sequence

from pytest_dualread.config import GateSettings
from pytest_dualread.report import Check, Report, Verdict

__all__ = ["blocking", "evaluate"]


def blocking(check: Check, policy: GateSettings) -> bool:
    """Whether ``check`` counts against the run under ``policy``."""
    if check.outcome == "error":
        return True
    if check.outcome != "failed":
        return False
    if not check.findings:
        return True
    return any(f.triage is None or f.triage in policy.blocking_triage for f in check.findings)


def evaluate(checks: Sequence[Check], policy: GateSettings, *, complete: bool = True) -> Verdict:
    """The verdict of a run with ``checks`` under ``policy``."""
    reasons: list[str] = []
    if not complete:
        reasons.append("the run is incomplete (interrupted, stopped early or crashed)")
    if len(checks) < policy.min_checks:
        reasons.append(
            f"{len(checks)} check{'s' if len(checks) != 1 else ''} ran; "
            f"the policy requires at least {policy.min_checks}"
        )
    if policy.require_visual and not any(c.kind == "visual" for c in checks):
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
            f"(allowed: {allowed}): "
            + ", ".join(c.id for c in blockers[:10])
            + (f", and {len(blockers) - 10} more" if len(blockers) > 10 else "")
        )
    status = "fail" if reasons else "pass"
    drift = [c for c in checks if c.outcome == "failed" and not blocking(c, policy)]
    if drift:
        reasons.append(
            f"not blocking: {len(drift)} failed check{'s' if len(drift) != 1 else ''} "
            "explained by stale goldens: " + ", ".join(c.id for c in drift[:10])
        )
    return Verdict(status=status, reasons=reasons)


def evaluate_report(report: Report, policy: GateSettings) -> Verdict:
    return evaluate(report.checks, policy, complete=report.run.complete)
