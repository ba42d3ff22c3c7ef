"""What ``dualread gate`` prints: one renderer per ``--format``, plus GitHub annotations.

:data:`RENDERERS` maps a format name to a function from a :class:`GateResult` to the text
written to stdout; ``dualread gate --format`` offers exactly its keys, so a new format is one
function and one entry. The output of each is part of the command's contract (docs/cli.md):
keep it stable. Rendering never judges: the verdict, regression and streak come in the result.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_dualread.report import DtoData

if TYPE_CHECKING:
    from pytest_dualread.config import GateSettings
    from pytest_dualread.gate import Regression, Streak
    from pytest_dualread.report import Check, Report, Verdict

__all__ = [
    "EXIT_CANNOT_JUDGE",
    "EXIT_FAIL",
    "EXIT_PASS",
    "RENDERERS",
    "GateResult",
    "cannot_judge_json",
    "cannot_judge_md",
    "github_annotations",
    "one_line",
    "render_json",
    "render_md",
    "render_text",
]

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_CANNOT_JUDGE = 2

_MAX_LISTED = 50
_MAX_CAUSES = 5


def one_line(text: str) -> str:
    """``text`` with every run of whitespace, newlines included, as one space."""
    return " ".join(text.split())


@dataclass
class GateResult:
    """Everything the gate decided about one report, and where its inputs came from."""

    path: str
    report: Report
    policy: GateSettings
    verdict: Verdict
    baseline: str | None = None
    regression: Regression | None = None
    history: str | None = None
    streak: Streak | None = None

    @property
    def failed(self) -> bool:
        return (
            self.verdict.status == "fail"
            or (self.regression is not None and self.regression.regressed)
            or (self.streak is not None and not self.streak.ok)
        )

    @property
    def status(self) -> str:
        return "fail" if self.failed else "pass"

    @property
    def exit_code(self) -> int:
        return EXIT_FAIL if self.failed else EXIT_PASS

    def reasons(self) -> list[str]:
        out = list(self.verdict.reasons) if self.verdict.status == "fail" else []
        if self.regression is not None:
            out.extend(self.regression.reasons)
        if self.streak is not None and self.streak.reason is not None:
            out.append(self.streak.reason)
        return out


def _counts(report: Report) -> str:
    s = report.summary
    kinds = ", ".join(f"{k} {v.total}" for k, v in sorted(s.by_kind.items()))
    return (
        f"{s.total} checks: {s.passed} passed"
        + (f" ({s.warnings} with warnings)" if s.warnings else "")
        + f", {s.failed} failed, {s.errors} errors, "
        f"{s.skipped} skipped ({kinds})"
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.6g}"


def _failing(result: GateResult) -> list[tuple[str, str, str, bool, str]]:
    from pytest_dualread.gate import blocking

    return [
        (c.id, c.kind, c.outcome, blocking(c, result.policy), c.nodeid)
        for c in result.report.checks
        if c.outcome in ("failed", "error")
    ]


def _message_of(result: GateResult, cid: str) -> str:
    for check in result.report.checks:
        if check.id == cid:
            first = check.message.strip().splitlines()[:1]
            return first[0] if first else ""
    return ""


def _worst_of(result: GateResult, cid: str) -> str:
    from pytest_dualread.insight import worst_finding

    check = next((c for c in result.report.checks if c.id == cid), None)
    return worst_finding(check)[0] if check is not None else ""


def _causes(result: GateResult) -> list[tuple[int, str, int, str]]:
    """The largest causes of the failing checks: (checks, root, shapes, an example check)."""
    from pytest_dualread.insight import causes, clusters

    found = causes(clusters(result.report.checks))
    return [
        (c.size, c.root, len(c.clusters), c.lead.representative.id) for c in found[:_MAX_CAUSES]
    ]


def _id_lists(reg: Regression) -> list[tuple[str, list[str]]]:
    """The regression's non-empty lists of check ids, in the order they are shown."""
    named = [
        ("new failures", reg.new_failures),
        ("fixed", reg.fixed),
        ("disappeared", reg.disappeared),
        ("appeared", reg.appeared),
    ]
    return [(label, ids) for label, ids in named if ids]


def render_text(result: GateResult) -> str:
    """``--format text``: for a person reading a CI log."""
    lines = [f"dual-read gate: {result.status.upper()} ({result.path})", _counts(result.report)]
    lines.append(f"verdict: {result.verdict.label}")
    if result.verdict.status != "fail":  # a failing verdict's reasons are listed once, below
        lines.extend(f"  - {reason}" for reason in result.verdict.reasons)
    reg = result.regression
    if reg is not None:
        lines.append(
            f"baseline ({result.baseline}): {'REGRESSION' if reg.regressed else 'no regression'}"
        )
        for label, ids in _id_lists(reg):
            lines.append(f"  {label} ({len(ids)}): {', '.join(ids[:_MAX_LISTED])}")
        if reg.changes:
            lines.append("  worst delta / mismatch ratio changes:")
            for ch in reg.changes[:_MAX_LISTED]:
                lines.append(
                    f"    {ch.check_id}  {ch.measure}  {_fmt(ch.old)} -> {_fmt(ch.new)} "
                    f"({ch.increase:+.6g})"
                )
        lines.extend(f"  note: {note}" for note in reg.notes)
    streak = result.streak
    if streak is not None:
        head = (
            f"history ({result.history}): {streak.green_days} of {streak.required} green days "
            f"ending {streak.today}"
        )
        broken = streak.broken_on
        if broken is not None:
            head += f"; the streak broke on {broken.day} ({broken.status})"
        lines.append(head)
        lines.extend(f"  {d.day} {d.status:<7} {d.detail}" for d in streak.days)
        lines.extend(f"  ignored: {item}" for item in streak.ignored)
    reasons = result.reasons()
    if reasons:
        lines.append("the gate fails because:")
        lines.extend(f"  - {reason}" for reason in reasons)
    found = _causes(result)
    if found:
        lines.append("causes:")
        for size, root, shapes, example in found:
            shaped = f" in {shapes} shapes" if shapes > 1 else ""
            lines.append(f"  {size} checks: {root}{shaped}, e.g. {example}")
    failing = _failing(result)
    if failing:
        lines.append("failing checks:")
        for cid, kind, outcome, blocks, _node in failing[:_MAX_LISTED]:
            note = "" if blocks else ", not blocking"
            worst = _worst_of(result, cid)
            text = f"  {cid} [{kind} {outcome}{note}] {_message_of(result, cid)}".rstrip()
            lines.append(f"{text} (worst: {worst})" if worst else text)
        if len(failing) > _MAX_LISTED:
            lines.append(f"  ... and {len(failing) - _MAX_LISTED} more")
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    return one_line(text).replace("|", "\\|")


def render_md(result: GateResult) -> str:
    """``--format md``: GitHub-flavoured Markdown, also the step summary."""
    icon = "✅" if result.status == "pass" else "❌"
    s = result.report.summary
    lines = [
        f"## {icon} dual-read gate: {result.status.upper()}",
        "",
        f"Report `{result.path}`, run started {result.report.run.started_at.isoformat()}.",
        "",
        "| kind | total | passed | failed | errors | skipped |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, part in [("all", s), *sorted(s.by_kind.items())]:
        lines.append(
            f"| {name} | {part.total} | {part.passed} | {part.failed} | {part.errors} "
            f"| {part.skipped} |"
        )
    lines += ["", f"**Verdict: {result.verdict.label}**"]
    lines += [f"- {_md_cell(r)}" for r in result.verdict.reasons]
    reg = result.regression
    if reg is not None:
        lines += [
            "",
            f"### Baseline `{result.baseline}`: "
            f"{'regression' if reg.regressed else 'no regression'}",
        ]
        for label, ids in _id_lists(reg):
            shown = ", ".join(f"`{i}`" for i in ids[:_MAX_LISTED])
            lines.append(f"- {label.capitalize()} ({len(ids)}): {shown}")
        if reg.changes:
            lines += [
                "",
                "| check | field / page | before | now | change |",
                "|---|---|---:|---:|---:|",
            ]
            for ch in reg.changes[:_MAX_LISTED]:
                lines.append(
                    f"| `{_md_cell(ch.check_id)}` | `{_md_cell(ch.measure)}` | {_fmt(ch.old)} "
                    f"| {_fmt(ch.new)} | {ch.increase:+.6g} |"
                )
        lines += [f"- note: {_md_cell(n)}" for n in reg.notes]
    streak = result.streak
    if streak is not None:
        lines += [
            "",
            f"### History `{result.history}`: {streak.green_days} of {streak.required} green "
            f"days ending {streak.today}",
        ]
        if streak.reason:
            lines.append(f"{_md_cell(streak.reason)}")
        lines += ["", "| day | status | runs | detail |", "|---|---|---:|---|"]
        lines += [
            f"| {d.day} | {d.status} | {d.runs} | {_md_cell(d.detail)} |" for d in streak.days
        ]
    found = _causes(result)
    if found:
        lines += ["", "### Causes", "", "| checks | cause | shapes | for example |"]
        lines.append("|---:|---|---:|---|")
        for size, root, shapes, example in found:
            lines.append(f"| {size} | `{_md_cell(root)}` | {shapes} | `{_md_cell(example)}` |")
    failing = _failing(result)
    if failing:
        lines += [
            "",
            "### Failing checks",
            "",
            "| check | kind | outcome | blocks | message | worst |",
            "|---|---|---|---|---|---|",
        ]
        for cid, kind, outcome, blocks, _node in failing[:_MAX_LISTED]:
            worst = _worst_of(result, cid)
            lines.append(
                f"| `{_md_cell(cid)}` | {kind} | {outcome} | {'yes' if blocks else 'no'} "
                f"| {_md_cell(_message_of(result, cid))} | {_md_cell(worst)} |"
            )
        if len(failing) > _MAX_LISTED:
            lines.append(f"\n… and {len(failing) - _MAX_LISTED} more")
    return "\n".join(lines) + "\n"


def render_json(result: GateResult) -> str:
    """``--format json``: one object for tools (keys listed in docs/cli.md)."""
    reg = result.regression
    streak = result.streak
    data: dict[str, Any] = {
        "status": result.status,
        "exit_code": result.exit_code,
        "report": result.path,
        "reasons": result.reasons(),
        "summary": result.report.summary.model_dump(mode="json"),
        "verdict": result.verdict.model_dump(mode="json"),
        "failing_checks": [
            {"id": cid, "kind": kind, "outcome": outcome, "blocking": blocks, "nodeid": node}
            for cid, kind, outcome, blocks, node in _failing(result)
        ],
        "baseline": None,
        "history": None,
    }
    if reg is not None:
        data["baseline"] = {
            "path": result.baseline,
            "regressed": reg.regressed,
            "new_failures": reg.new_failures,
            "fixed": reg.fixed,
            "disappeared": reg.disappeared,
            "appeared": reg.appeared,
            "changes": [
                {"check": c.check_id, "measure": c.measure, "old": c.old, "new": c.new}
                for c in reg.changes
            ],
            "notes": reg.notes,
        }
    if streak is not None:
        broken = streak.broken_on
        data["history"] = {
            "path": result.history,
            "required": streak.required,
            "today": streak.today.isoformat(),
            "green_days": streak.green_days,
            "ok": streak.ok,
            "broken_on": broken.day.isoformat() if broken else None,
            "days": [
                {"day": d.day.isoformat(), "status": d.status, "runs": d.runs, "detail": d.detail}
                for d in streak.days
            ],
            "ignored": streak.ignored,
        }
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def _escape_data(text: str) -> str:
    """GitHub Actions workflow-command message escaping."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    """GitHub Actions workflow-command property escaping (also ``:`` and ``,``)."""
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(result: GateResult) -> str:
    from pytest_dualread.gate import blocking

    lines = []
    for check in result.report.checks:
        if check.outcome not in ("failed", "error"):
            continue
        level = "error" if blocking(check, result.policy) else "warning"
        props = [f"title={_escape_property(f'dual-read {check.kind} check {check.outcome}')}"]
        props[:0] = _place(check)
        message = check.message.strip()[:1000] or check.outcome
        lines.append(f"::{level} {','.join(props)}::{_escape_data(f'{check.id}: {message}')}")
    return "".join(line + "\n" for line in lines)


def _place(check: Check) -> list[str]:
    """``file`` and, for a case, ``line`` properties: where the check is declared."""
    data = check.data
    if isinstance(data, DtoData) and data.case_file:
        place = [f"file={_escape_property(data.case_file)}"]
        return place + ([f"line={data.case_line}"] if data.case_line else [])
    if "::" in check.nodeid:
        return [f"file={_escape_property(check.nodeid.split('::', 1)[0])}"]
    return []


RENDERERS: dict[str, Callable[[GateResult], str]] = {
    "text": render_text,
    "md": render_md,
    "json": render_json,
}
"""``--format`` name → renderer; the first is the default."""


def cannot_judge_json(message: str) -> str:
    """The ``--format json`` output when the gate cannot judge (exit code 2)."""
    data = {"status": "cannot_judge", "exit_code": EXIT_CANNOT_JUDGE, "error": message}
    return json.dumps(data) + "\n"


def cannot_judge_md(message: str) -> str:
    """The step summary when the gate cannot judge."""
    return f"## ⚠️ dual-read gate: CANNOT JUDGE\n\n{message}\n"
