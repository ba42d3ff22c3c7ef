"""The report writer: a plugin object that exists only on the controller process.

It is built from plain values (where to write, the settings, the command line), collects the
checks that arrive on test reports (from this process or from pytest-xdist workers, where they
travel as report attributes), and finishes the run: it assembles the report
(:func:`~pytest_dualread.assemble.assemble_report`) and writes every output of the registry
(:mod:`pytest_dualread.outputs`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_dualread.assemble import Expected
    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.outputs import OutputPlan
    from pytest_dualread.report import Check, Outcome, Report, StaleEntry

__all__ = ["CHECK_PROPERTY", "EXPECT_PROPERTY", "ReportWriter"]

CHECK_PROPERTY = "dualread_check"
"""Test report attribute: the checks an item recorded (plain JSON, one per check)."""
EXPECT_PROPERTY = "dualread_expect"
"""Test report attribute: the item is a dual-read item (its kind, the run's sample)."""


def _short_text(report: pytest.TestReport, limit: int = 2000) -> str:
    text = report.longreprtext or ""
    if report.skipped and isinstance(report.longrepr, tuple):
        text = str(report.longrepr[2])
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


_SETUP_ONLY = "pytest ran the setup only (--setup-only or --setup-plan)"
_STOPPED = "the run stopped before its test body ran (interrupted or a worker crashed)"


def _phase_outcome(report: pytest.TestReport) -> Outcome | None:
    """What one phase's report says of its item: ``None`` for a passed setup or teardown."""
    if report.skipped:
        return "skipped"
    if report.failed:
        return "failed" if report.when == "call" else "error"
    return "passed" if report.when == "call" else None


class ReportWriter:
    """Collects checks from test reports and writes the run's outputs at the end."""

    def __init__(
        self,
        settings: DualReadSettings,
        plan: OutputPlan,
        *,
        rootdir: Path,
        argv: Sequence[str],
        shown_from: Path,
    ) -> None:
        self.settings = settings
        self.plan = plan
        self.rootdir = rootdir
        self.argv = list(argv)
        self.shown_from = shown_from
        self.started = datetime.now(timezone.utc)
        self._t0 = time.perf_counter()
        self._checks: dict[str, Check] = {}
        self._expected: dict[str, Expected] = {}
        self._sample: dict[str, float] | None = None
        self._selection: dict[str, Any] | None = None
        self._called: set[str] = set()
        """Items whose call phase reported, or that were settled before it (skip, error)."""
        self._settled: set[str] = set()
        """Items whose outcome is final: skipped, failed or errored in some phase."""
        self._crashed: set[str] = set()
        """Items whose pytest-xdist worker died while running them."""
        self.last_report: Report | None = None
        self.written: dict[str, Path] = {}

    # -- feeding -------------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from pytest_dualread.assemble import Expected, check_from_wire

        for value in getattr(report, CHECK_PROPERTY, None) or ():
            if isinstance(value, dict):
                check = check_from_wire(value)
                self._checks[check.id] = check
        expect = getattr(report, EXPECT_PROPERTY, None)
        if isinstance(expect, dict):
            if expect.get("sample"):
                self._sample = expect["sample"]
            if expect.get("selection"):
                self._selection = expect["selection"]
            # Not run until its call phase reports: a passed setup is no passed check.
            self._expected.setdefault(
                report.nodeid, Expected(report.nodeid, expect.get("kind", "dto"), "error", "")
            )
        previous = self._expected.get(report.nodeid)
        if previous is None or report.nodeid in self._settled:
            return
        outcome = _phase_outcome(report)
        if outcome is None:  # a passed setup or teardown says nothing of the check
            return
        if outcome != "passed" or report.when != "call":
            self._settled.add(report.nodeid)
        if report.when not in ("setup", "call", "teardown"):  # pytest-xdist: a worker crashed
            self._crashed.add(report.nodeid)
        spent = report.duration + previous.duration_s
        self._expected[report.nodeid] = Expected(
            report.nodeid, previous.kind, outcome, _short_text(report), spent
        )
        self._called.add(report.nodeid)

    def _not_run(self, why: str) -> list[Expected]:
        """The expected items that never ran their call phase (or whose worker crashed in it),
        each as an error saying so; the others as they are."""
        from pytest_dualread.assemble import Expected

        every = []
        for item in self._expected.values():
            if item.nodeid in self._crashed:
                every.append(replace(item, text=f"did not run: {item.text}"))
            elif item.nodeid not in self._called:
                text = f"did not run: {why}"
                every.append(Expected(item.nodeid, item.kind, "error", text, item.duration_s))
            else:
                every.append(item)
        return every

    # -- finishing -----------------------------------------------------------------------------

    def build(self, *, incomplete: str | None, why_not_run: str = _STOPPED) -> Report:
        from pytest_dualread.assemble import RunFacts, assemble_report
        from pytest_dualread.config import config_hash

        not_run = sorted(self._crashed | (self._expected.keys() - self._called))
        if not_run:
            shown = ", ".join(not_run[:3]) + (", …" if len(not_run) > 3 else "")
            count = f"{len(not_run)} dual-read item{'s' if len(not_run) != 1 else ''}"
            missed = f"{count} did not run ({why_not_run}): {shown}"
            incomplete = f"{incomplete}; {missed}" if incomplete else missed

        facts = RunFacts(
            started=self.started,
            duration_s=time.perf_counter() - self._t0,
            argv=self.argv,
            config_hash=config_hash(self.settings),
            pytest_version=pytest.__version__,
            sample=self._sample,
            selection=self._selection,
        )
        return assemble_report(
            list(self._checks.values()),
            self._not_run(why_not_run),
            facts,
            gate=self.settings.gate,
            incomplete=incomplete,
            stale=self._stale,
        )

    def _stale(self, checks: list[Check]) -> list[StaleEntry]:
        from pytest_dualread.stale import stale_goldens, stale_rules

        dto = self.settings.dto
        configured = {
            "ignore": dto.ignore,
            "list_keys": list(dto.list_keys),
            "tolerances": list(dto.tolerances),
            "coerce_numbers": dto.coerce_numbers,
        }
        root = self.rootdir
        return stale_rules(checks, configured) + stale_goldens(
            root, root / self.settings.cases_dir, root / self.settings.snapshot_dir
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Replace any report of an earlier run at once: if this run dies before it finishes,
        # the gate finds an incomplete report, never a stale green one.
        import shutil

        from pytest_dualread.report import write_report

        # Artifacts of an earlier run would be mistaken for this run's.
        shutil.rmtree(self.plan.output_dir / "artifacts", ignore_errors=True)
        write_report(
            self.build(incomplete="the run has not finished (or died before it did)"),
            self.plan.report,
        )

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from pytest_dualread.outputs import write_outputs

        setup_only = bool(session.config.getoption("setuponly", default=False))
        report = self.build(
            incomplete=_incomplete_reason(session, exitstatus),
            why_not_run=_SETUP_ONLY if setup_only else _STOPPED,
        )
        self.written = write_outputs(report, self.plan)
        self.last_report = report

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        report = self.last_report
        if report is None:
            return
        s = report.summary
        terminalreporter.write_sep("-", "dual-read report")
        terminalreporter.write_line(
            f"dual-read: {s.total} checks, {s.passed} passed, {s.failed} failed, "
            f"{s.errors} errors, {s.skipped} skipped; verdict {report.verdict.status}"
        )
        from pytest_dualread.gate import partial_reason

        partial = partial_reason(report)
        if partial is not None:  # shown even with -q: the gate will refuse this report
            terminalreporter.write_line(f"dual-read: {partial} (gate: --allow-partial to judge)")
        if terminalreporter.config.get_verbosity() < 0:
            return  # -q: the counts, the verdict and a partial run only
        for reason in report.verdict.reasons:
            terminalreporter.write_line(f"  {reason}")
        for entry in report.stale[:20]:
            terminalreporter.write_line(f"  stale {entry.kind}: {entry.name} ({entry.source})")
        if len(report.stale) > 20:
            terminalreporter.write_line(f"  … and {len(report.stale) - 20} more stale entries")
        for name, path in self.written.items():
            shown = os.path.relpath(path, self.shown_from)
            terminalreporter.write_line(f"{name}: {shown}")


def _incomplete_reason(session: pytest.Session, exitstatus: int) -> str | None:
    status = int(exitstatus)
    if status == pytest.ExitCode.INTERRUPTED:
        return "interrupted"
    if status == pytest.ExitCode.INTERNAL_ERROR:
        return "pytest hit an internal error"
    if status == pytest.ExitCode.USAGE_ERROR:
        return "usage error"
    if session.shouldstop:
        return f"stopped early: {session.shouldstop}"
    if session.shouldfail:
        return f"stopped early: {session.shouldfail}"
    return None
