"""A run summarised for the team's chat: a Slack Block Kit payload, or the same as plain text.

The payload is printed, never posted: the team posts it with its own webhook. It stays within
Block Kit's limits (:data:`MAX_BLOCKS` blocks, :data:`MAX_TEXT` characters per text field, a
header of :data:`MAX_HEADER`), whatever the number of failures.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from pytest_dualread.config import GateSettings
from pytest_dualread.gate import (
    blocking,
    compare_to_baseline,
    evaluate_report,
    green_streak,
    run_day,
)
from pytest_dualread.report import Report, Verdict
from pytest_dualread.rollout import MAIN_COMPARISON, Run

__all__ = ["MAX_BLOCKS", "MAX_HEADER", "MAX_TEXT", "SummaryInput", "slack_payload", "text_summary"]

MAX_BLOCKS = 50
"""Block Kit: blocks per message."""
MAX_TEXT = 3000
"""Block Kit: characters of a section's text."""
MAX_HEADER = 150
"""Block Kit: characters of a header's text."""
LISTED = 10
"""Failing checks, fields and changes named; the rest are counted."""
TOP_CAUSES = 3
"""Causes a summary names: the largest, as the HTML report shows them first."""
STREAK_DAYS = 60
"""How far back the green-day streak is counted."""


@dataclass(frozen=True)
class SummaryInput:
    """What a summary is made of."""

    report: Report
    policy: GateSettings
    baseline: Report | None = None
    history: Sequence[Run] | None = None
    report_url: str | None = None
    today: date | None = None


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _listed(items: Sequence[str], limit: int = LISTED) -> list[str]:
    shown = list(items[:limit])
    if len(items) > limit:
        shown.append(f"… and {len(items) - limit} more")
    return shown


def _sections(given: SummaryInput) -> list[tuple[str, list[str]]]:
    """(title, lines) for each part of the summary, most important first."""
    report, policy = given.report, given.policy
    s = report.summary
    counts = (
        f"{s.total} checks: {s.passed} passed ({s.warnings} with warnings), {s.failed} failed, "
        f"{s.errors} errors, {s.skipped} skipped"
    )
    parts = [("Run", [counts, *_verdict(given).reasons[:3]])]
    blockers = [c.id for c in report.checks if blocking(c, policy)]
    if blockers:
        parts.append((f"Blocking checks ({len(blockers)})", _listed(blockers)))
    found = _top_causes(report)
    if found:
        parts.append(("Top causes", found))
    if given.baseline is not None:
        parts.append(("Against the baseline", _baseline_lines(given)))
    fields = [
        f
        for f in report.fields
        if f.comparison == MAIN_COMPARISON and f.max_delta is not None and f.max_delta > 0
    ]
    if fields:
        lines = [
            f"{f.pattern}: worst delta {f.max_delta:g}"
            + ("" if f.max_share is None else f", {f.max_share:.0%} of its tolerance")
            + f", {f.checks_differing} checks beyond tolerance"
            for f in sorted(fields, key=lambda f: -(f.max_share or 0.0))
        ]
        parts.append(("Worst fields", _listed(lines, 5)))
    if given.history is not None:
        parts.append(("Green days", [_streak_line(given)]))
    return parts


def _top_causes(report: Report) -> list[str]:
    """The largest causes of the failing checks (as the HTML report groups them)."""
    from pytest_dualread.insight import causes, clusters

    return [
        f"{cause.size} checks: {cause.root} (e.g. {cause.lead.representative.id})"
        for cause in causes(clusters(report.checks))[:TOP_CAUSES]
    ]


def _baseline_lines(given: SummaryInput) -> list[str]:
    assert given.baseline is not None
    reg = compare_to_baseline(given.report, given.baseline, given.policy)
    lines = [
        f"{len(reg.new_failures)} new failures, {len(reg.fixed)} fixed, "
        f"{len(reg.disappeared)} disappeared"
    ]
    lines += [f"new failure: {cid}" for cid in reg.new_failures[:5]]
    worse = [c for c in reg.changes if c.increase > 0][:5]
    lines += [f"worse: {c.check_id} {c.measure}: {c.old} -> {c.new}" for c in worse]
    return lines


def _streak_line(given: SummaryInput) -> str:
    runs = [*(given.history or []), ("report", given.report)]
    today = given.today or max(run_day(r) for _, r in runs)
    streak = green_streak(runs, given.policy, today=today, days=STREAK_DAYS)
    return f"{streak.green_days} green days in a row, ending {today}"


def _verdict(given: SummaryInput) -> Verdict:
    # Judged again under the policy in use, as the gate does: the recorded verdict is not trusted.
    return evaluate_report(given.report, given.policy)


def _title(given: SummaryInput) -> str:
    return f"dual-read: {_verdict(given).label.upper()}"


def slack_payload(given: SummaryInput) -> str:
    """The Block Kit payload, as JSON text."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cap(_title(given), MAX_HEADER)},
        }
    ]
    for title, lines in _sections(given):
        text = _cap(f"*{_escape(title)}*\n" + "\n".join(_escape(x) for x in lines), MAX_TEXT)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    if given.report_url:
        link = _cap(f"<{given.report_url}|HTML report>", MAX_TEXT)
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": link}]})
    payload = {"text": _cap(_title(given), MAX_TEXT), "blocks": blocks[:MAX_BLOCKS]}
    return json.dumps(payload, indent=2, ensure_ascii=False) + "\n"


def _escape(text: str) -> str:
    # Slack's mrkdwn reads &, < and > as markup.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def text_summary(given: SummaryInput) -> str:
    """The same summary as plain text."""
    lines = [_title(given)]
    for title, part in _sections(given):
        lines += ["", title, *(f"  {x}" for x in part)]
    if given.report_url:
        lines += ["", f"HTML report: {given.report_url}"]
    return "\n".join(lines) + "\n"
