"""Waivers: known differences the team lives with for a while, as data.

An entry of ``[tool.dualread.waivers]`` (a :class:`~pytest_dualread.report.Waiver`) names a check
(id or glob), a rule (a field path pattern, or a page name), or both, with a reason, an owner, a
ticket and the last day it applies. While it applies, the findings it matches do not fail their
check: they are kept apart in the check's ``waived`` list and counted in the summary. A waiver
that matched nothing is stale; one that has expired waives nothing, and the gate fails while
it is configured, naming its owner and ticket.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timezone
from fnmatch import fnmatchcase

from pytest_dualread.paths import PatternError, compile_pattern, parse_path
from pytest_dualread.report import (
    Check,
    Finding,
    StaleEntry,
    Verdict,
    WaivedFinding,
    Waiver,
    WaiverUse,
)

__all__ = [
    "check_waivers",
    "expired_reasons",
    "judge_with_waivers",
    "split_findings",
    "stale_waivers",
    "today",
    "waiver_uses",
]


def today() -> date:
    """The day waivers are judged by: UTC, the same on every CI machine."""
    return datetime.now(timezone.utc).date()


def check_waivers(waivers: Sequence[Waiver]) -> list[Waiver]:
    """``waivers`` whose rule parses; raises ValueError naming the waiver otherwise."""
    for number, waiver in enumerate(waivers, start=1):
        if waiver.rule is None:
            continue
        try:
            compile_pattern(waiver.rule)
        except PatternError as exc:
            raise ValueError(f"waiver {number} ({waiver.ticket}): rule: {exc}") from None
    return list(waivers)


def _rule_matches(rule: str, finding: Finding) -> bool:
    if rule == finding.path:  # a page name, or a path written exactly as reported
        return True
    try:
        return compile_pattern(rule).matches(parse_path(finding.path))
    except PatternError:
        return False  # a page name or a contract finding: not a field path


def _matches(waiver: Waiver, check_id: str, finding: Finding) -> bool:
    if waiver.check is not None and not fnmatchcase(check_id, waiver.check):
        return False
    return waiver.rule is None or _rule_matches(waiver.rule, finding)


def split_findings(
    check_id: str, findings: Sequence[Finding], waivers: Sequence[Waiver], on: date
) -> tuple[list[Finding], list[WaivedFinding]]:
    """The findings still standing, and those a waiver in force ``on`` that day matched."""
    active = [w for w in waivers if w.expires >= on]
    kept: list[Finding] = []
    waived: list[WaivedFinding] = []
    for finding in findings:
        waiver = next((w for w in active if _matches(w, check_id, finding)), None)
        if waiver is None:
            kept.append(finding)
        else:
            waived.append(WaivedFinding(**finding.model_dump(), waiver=waiver.key))
    return kept, waived


def waiver_uses(checks: Sequence[Check], waivers: Sequence[Waiver], on: date) -> list[WaiverUse]:
    """Each configured waiver with the findings it waived in ``checks``."""
    counts: dict[str, int] = {}
    for check in checks:
        for finding in check.waived:
            counts[finding.waiver] = counts.get(finding.waiver, 0) + 1
    return [
        WaiverUse(**w.model_dump(), matched=counts.get(w.key, 0), expired=w.expires < on)
        for w in waivers
    ]


def stale_waivers(uses: Sequence[WaiverUse]) -> list[StaleEntry]:
    """Waivers in force that matched no finding: the difference they excuse is gone."""
    return [
        StaleEntry(
            kind="waiver",
            name=use.key,
            source=f"[tool.dualread.waivers] (owner {use.owner}, expires {use.expires})",
        )
        for use in uses
        if use.matched == 0 and not use.expired
    ]


def expired_reasons(waivers: Sequence[Waiver], on: date) -> list[str]:
    """One reason per waiver past its last day, naming its owner and ticket."""
    return [
        f"waiver expired on {w.expires}: {w.key}, owner {w.owner}, ticket {w.ticket} "
        f"(fix the difference, or renew the waiver with a new date)"
        for w in waivers
        if w.expires < on
    ]


def judge_with_waivers(verdict: Verdict, uses: Sequence[WaiverUse], on: date) -> Verdict:
    """``verdict`` failed by expired waivers, with the waived findings noted (not blocking)."""
    expired = expired_reasons(uses, on)
    reasons = expired + list(verdict.reasons)
    waived = sum(use.matched for use in uses)
    if waived:
        reasons.append(
            f"not blocking: {waived} finding{'s' if waived != 1 else ''} waived by "
            + ", ".join(f"{u.key} (owner {u.owner})" for u in uses if u.matched)
        )
    status = "fail" if expired or verdict.status == "fail" else "pass"
    # a copy, so what else the verdict holds (its warnings) stays as judged
    return verdict.model_copy(update={"status": status, "reasons": reasons})
