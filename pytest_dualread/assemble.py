"""Report assembly from plain values: what the writer collected during a run, as a Report.

Nothing here knows pytest: the writer hands over the checks that arrived, the dual-read items
the run expected with their outcomes, and the facts of the run, so the whole decision of what a
report says can be tested without a session.
"""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from pytest_dualread.report import (
    Check,
    CheckKind,
    DtoData,
    Environment,
    Outcome,
    Report,
    RunInfo,
    SampleInfo,
    SelectionInfo,
    StaleEntry,
    ToolInfo,
    Verdict,
    VisualData,
    Waiver,
    summarize,
)

if TYPE_CHECKING:
    from pytest_dualread.config import GateSettings

__all__ = ["Expected", "RunFacts", "SharedValues", "assemble_report", "check_from_wire"]


@dataclass(frozen=True)
class Expected:
    """A dual-read item the run collected: every one shows up in the report, whether or not it
    got to record a check (skipped, setup error, crash)."""

    nodeid: str
    kind: CheckKind
    outcome: Outcome = "error"
    text: str = "did not finish"
    duration_s: float = 0.0


@dataclass(frozen=True)
class RunFacts:
    """What is known of the run itself."""

    started: datetime
    duration_s: float
    argv: list[str]
    config_hash: str
    pytest_version: str
    sample: Mapping[str, float] | None = None
    selection: Mapping[str, Any] | None = None
    calibration: int | None = None
    finished: datetime = field(default_factory=lambda: datetime.now(timezone.utc))


def check_from_wire(data: Mapping[str, Any]) -> Check:
    """A check as it crossed the xdist boundary (plain JSON), validated once, here; a check
    that does not validate becomes an error check saying so."""
    try:
        return Check.model_validate(data)
    except ValidationError as exc:
        check_id = str(data.get("id"))
        return Check(
            id=check_id,
            nodeid=str(data.get("nodeid", check_id)),
            kind="dto",
            outcome="error",
            message=f"internal: the check's result did not validate: {exc}",
        )


class SharedValues:
    """Keeps one object for equal plain values of the checks a run collects.

    The writer holds every check of a session until the report is written, and most of a DTO
    check's figures repeat from case to case (the file's and the case's rules, the contract,
    empty lists): validated from the wire, each check would hold its own copies, several KB per
    case. Equal values are shared instead; nothing changes a check's values once it arrived.
    Values are told apart by ``repr``, which keeps key order and types (the report's bytes
    depend on both). At most ``limit`` distinct values are kept, so values that never repeat
    (counts that differ per case) cost no more than before.
    """

    _DTO_FIELDS = (
        "case_rules",
        "file_rules",
        "tags",
        "contract",
        "rule_usage",
        "tolerance_stats",
        "headroom",
        "field_deltas",
    )
    _VISUAL_FIELDS = ("budget", "fingerprint", "captures", "unmatched_masks")
    _CHECK_FIELDS = ("findings", "waived", "artifacts")

    def __init__(self, limit: int = 4096) -> None:
        self._values: dict[tuple[type, str], Any] = {}
        self._limit = limit

    def share(self, check: Check) -> Check:
        """``check`` with its repeating values replaced, in place, by the equal ones seen."""
        self._share_fields(check, self._CHECK_FIELDS)
        fields = self._DTO_FIELDS if isinstance(check.data, DtoData) else self._VISUAL_FIELDS
        self._share_fields(check.data, fields)
        return check

    def _share_fields(self, model: Check | DtoData | VisualData, names: Sequence[str]) -> None:
        # Written into __dict__: setattr would count the field as set and change the JSON.
        values = model.__dict__
        for name in names:
            value = values.get(name)
            if isinstance(value, (dict, list)):
                values[name] = self._one(value)

    def _one(self, value: dict[str, Any] | list[Any]) -> Any:
        key = (type(value), repr(value))
        kept = self._values.get(key)
        if kept is not None:
            return kept
        if len(self._values) < self._limit:
            self._values[key] = value
        return value


def _checks_of_run(checks: Sequence[Check], expected: Sequence[Expected]) -> list[Check]:
    by_id = {check.id: check for check in checks}
    owners = {check.nodeid for check in checks}
    for item in expected:
        if item.nodeid not in owners:
            by_id[item.nodeid] = Check(
                id=item.nodeid,
                nodeid=item.nodeid,
                kind=item.kind,
                outcome=item.outcome,
                duration_s=round(item.duration_s, 6),
                message=item.text if item.outcome != "passed" else "",
            )
    return [by_id[key] for key in sorted(by_id)]


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _environment(checks: Sequence[Check], pytest_version: str) -> Environment:
    visual = [c.data for c in checks if isinstance(c.data, VisualData)]
    return Environment(
        python=platform.python_version(),
        pytest=pytest_version,
        platform=platform.platform(terse=True),
        deepdiff=_version("deepdiff"),
        playwright=_version("playwright"),
        browser=next((d.browser for d in visual if d.browser), None),
        pixel_engine=next((d.pixel_engine for d in visual if d.pixel_engine), None),
    )


def assemble_report(
    checks: Sequence[Check],
    expected: Sequence[Expected],
    facts: RunFacts,
    *,
    gate: GateSettings,
    incomplete: str | None,
    stale: Callable[[list[Check]], list[StaleEntry]],
    waivers: Sequence[Waiver] = (),
) -> Report:
    """The report of a run: its checks (one for each expected item that recorded none), the
    verdict under ``gate``, and, for a complete run, what ``stale`` finds unused."""
    from pytest_dualread import __version__
    from pytest_dualread.gate import evaluate
    from pytest_dualread.insight import field_stats
    from pytest_dualread.waivers import judge_with_waivers, stale_waivers, today, waiver_uses

    every = _checks_of_run(checks, expected)
    uses = waiver_uses(every, waivers, today())
    run = RunInfo(
        started_at=facts.started,
        finished_at=facts.finished,
        duration_s=round(facts.duration_s, 3),
        complete=incomplete is None,
        incomplete_reason=incomplete,
        argv=list(facts.argv),
        environment=_environment(every, facts.pytest_version),
        config_hash=facts.config_hash,
        sample=SampleInfo(**facts.sample) if facts.sample else None,
        selection=SelectionInfo(**facts.selection) if facts.selection else None,
        calibration=facts.calibration,
    )
    verdict = judge_with_waivers(evaluate(every, gate, complete=incomplete is None), uses, today())
    if facts.calibration is not None:  # judged nothing: never a pass, whatever was skipped
        verdict = Verdict(status="fail", reasons=["calibration run: nothing was judged"])
    return Report(
        tool=ToolInfo(version=__version__),
        run=run,
        summary=summarize(every),
        verdict=verdict,
        checks=every,
        stale=stale(every) + stale_waivers(uses) if incomplete is None else [],
        fields=field_stats(every),
        waivers=uses,
    )
