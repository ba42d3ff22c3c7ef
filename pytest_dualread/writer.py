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
    from pytest_dualread.outputs import OutputLock, OutputPlan, PreviousReport
    from pytest_dualread.report import Check, Outcome, Report, StaleEntry

__all__ = [
    "CHECK_PROPERTY",
    "EXPECT_PROPERTY",
    "ReportWriter",
    "hold_outputs",
    "invalidate_early",
    "lock_key",
    "placeholder_text",
    "previous_key",
]

CHECK_PROPERTY = "dualread_check"
"""Test report attribute: the checks an item recorded (plain JSON, one per check)."""
EXPECT_PROPERTY = "dualread_expect"
"""Test report attribute: the item is a dual-read item (its kind, the run's sample)."""
lock_key: pytest.StashKey[OutputLock] = pytest.StashKey()
"""The output folder's lock, held by the controller for the session."""
previous_key: pytest.StashKey[PreviousReport] = pytest.StashKey()
"""The report the early placeholder replaced."""


def _short_text(report: pytest.TestReport, limit: int = 2000) -> str:
    text = report.longreprtext or ""
    if report.skipped and isinstance(report.longrepr, tuple):
        text = str(report.longrepr[2])
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


_NOT_FINISHED = "the run has not finished (or died before it did)"
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
        previous: PreviousReport | None = None,
    ) -> None:
        self.settings = settings
        self.plan = plan
        self.rootdir = rootdir
        from pytest_dualread.assemble import SharedValues
        from pytest_dualread.redact import redact_args, scrubber_for

        scrub = scrubber_for(settings)  # a secret value given on the command line stays out too
        self.argv = [scrub.text(arg) for arg in redact_args(argv)]
        self.shown_from = shown_from
        self.started = datetime.now(timezone.utc)
        self._t0 = time.perf_counter()
        self._checks: dict[str, Check] = {}
        self._shared = SharedValues()
        """Equal values of the checks, kept once: the checks stay until the session ends."""
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
        self.previous = previous
        """The report this run replaced with its placeholder, to restore if nothing runs."""
        self.restored = False
        self._cleared = False
        self.written: dict[str, Path] = {}
        self.calibration: int | None = None
        """Fetches per case of a calibration run (``--dual-read-calibrate``)."""

    @classmethod
    def for_session(
        cls, config: pytest.Config, settings: DualReadSettings, argv: Sequence[str]
    ) -> ReportWriter:
        """The writer of a session, once its outputs are held (a usage error otherwise)."""
        from pytest_dualread.errors import ConfigError
        from pytest_dualread.outputs import OutputPlan
        from pytest_dualread.redact import redact_args

        argv = redact_args(argv)  # written into the lock file and the report
        metrics = config.getoption("dual_read_metrics")
        plan = OutputPlan(
            report=settings.report_file(config.rootpath),
            output_dir=settings.output_path(config.rootpath),
            metrics=Path(metrics) if metrics else None,
        )
        try:
            hold_outputs(config, plan, argv)
        except ConfigError as exc:
            raise pytest.UsageError(f"pytest-dualread: {exc}") from None
        writer = cls(
            settings,
            plan,
            rootdir=config.rootpath,
            argv=argv,
            shown_from=config.invocation_params.dir,
            previous=config.stash.get(previous_key, None),
        )
        # Shards share artifacts/: each replaces only its own checks' folders.
        writer._cleared = config.getoption("dual_read_shard", default=None) is not None
        return writer

    # -- feeding -------------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        from pytest_dualread.assemble import Expected, check_from_wire

        for value in getattr(report, CHECK_PROPERTY, None) or ():
            if isinstance(value, dict):
                check = self._shared.share(check_from_wire(value))
                self._checks[check.id] = check
        if not report.failed:  # pytest keeps every report to the end; only a failed one's
            report.__dict__.pop(CHECK_PROPERTY, None)  # checks are read again (its status)
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
            calibration=self.calibration,
        )
        return assemble_report(
            list(self._checks.values()),
            self._not_run(why_not_run),
            facts,
            gate=self.settings.gate,
            incomplete=incomplete,
            stale=self._stale,
            waivers=self.settings.waivers,
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
        return (
            stale_rules(checks, configured)
            + stale_goldens(root, root / self.settings.cases_dir, root / self.settings.snapshot_dir)
            + self._stale_baselines(checks)
        )

    def _stale_baselines(self, checks: list[Check]) -> list[StaleEntry]:
        from pytest_dualread.stale import narrowed, stale_baselines

        if narrowed(self.argv, self._selection, self._sample is not None):
            return []
        return stale_baselines(checks, self.rootdir)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Replace any report of an earlier run at once (usually done already, before the
        # options were validated): if this run dies, the gate finds an incomplete report.
        from pytest_dualread.outputs import PreviousReport

        if self.previous is None or self.previous.path != self.plan.report:
            self.previous = PreviousReport.replace(self.plan.report, placeholder_text(self.argv))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from pytest_dualread.session import expect_key

        if any(expect_key in item.stash for item in session.items):
            self._clear_artifacts()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: Sequence[str]) -> None:
        # Under pytest-xdist only workers collect; a worker with items to run is the sign.
        if ids:
            self._clear_artifacts()

    def _clear_artifacts(self) -> None:
        """Artifacts of an earlier run would be mistaken for this run's: cleared once, before
        the first dual-read item runs, and only in the plugin's own folder."""
        from pytest_dualread.outputs import clear_artifacts

        if not self._cleared:
            self._cleared = True
            clear_artifacts(self.plan.output_dir)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from pytest_dualread.outputs import write_outputs

        # Nothing selected (``-k nothing``): the last report stands. A run of other tests
        # only still writes its report of zero checks, which no gate passes.
        ran_nothing = int(exitstatus) == pytest.ExitCode.NO_TESTS_COLLECTED
        if ran_nothing and not self._expected and self.previous is not None:
            self.previous.restore()  # no dual-read item ran: the last report stands
            self.restored = True
            return
        setup_only = bool(session.config.getoption("setuponly", default=False))
        report = self.build(
            incomplete=_incomplete_reason(session, exitstatus),
            why_not_run=_SETUP_ONLY if setup_only else _STOPPED,
        )
        self.written = write_outputs(report, self.plan)
        self.last_report = report

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.restored:
            terminalreporter.write_line(
                "dual-read: no dual-read item ran; the previous report is left as it was"
            )
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
        if terminalreporter.config.pluginmanager.hasplugin("syrupy"):  # its counts differ
            terminalreporter.write_line(
                "  (these count checks; syrupy's snapshot report counts golden and baseline files)"
            )
        for reason in report.verdict.reasons:
            terminalreporter.write_line(f"  {reason}")
        for entry in report.stale[:20]:
            terminalreporter.write_line(f"  stale {entry.kind}: {entry.name} ({entry.source})")
        if len(report.stale) > 20:
            terminalreporter.write_line(f"  … and {len(report.stale) - 20} more stale entries")
        for name, path in self.written.items():
            shown = os.path.relpath(path, self.shown_from)
            terminalreporter.write_line(f"{name}: {shown}")


def _early_targets(config: pytest.Config) -> tuple[Path, Path]:
    """The report file and the output folder, read leniently before anything is validated:
    the flags, then ``DUALREAD_*``, then ``[tool.dualread]``, then the defaults."""
    from pytest_dualread.errors import ConfigError
    from pytest_dualread.pyproject import dualread_table
    from pytest_dualread.shard import report_stem

    known = config.known_args_namespace
    try:
        table = dualread_table(config.rootpath / "pyproject.toml")
    except ConfigError:
        table = {}  # missing or broken: the defaults (and the error comes later, validated)

    def given(key: str, flag: str) -> str | None:
        for value in (getattr(known, flag, None), os.environ.get(f"DUALREAD_{key.upper()}")):
            if value:
                return str(value)
        value = table.get(key)
        return value if isinstance(value, str) and value else None

    output = config.rootpath / (given("output_dir", "dual_read_output") or "dual-read-results")
    report = given("report_path", "dual_read_report")
    shard = getattr(known, "dual_read_shard", None)
    stem = report_stem(shard) if shard else "report"
    return (config.rootpath / report if report else output / f"{stem}.json"), output


def invalidate_early(config: pytest.Config, argv: Sequence[str]) -> None:
    """Before the options and ``[tool.dualread]`` are validated: take the output folder's lock
    and put an incomplete placeholder at the report's place, keeping the old report to restore
    when the run turns out to run no dual-read item. A usage or collection error then leaves
    the placeholder, never the green report of an earlier run."""
    known = config.known_args_namespace
    if not getattr(known, "dual_read", False) or getattr(known, "collectonly", False):
        return
    from pytest_dualread.errors import ConfigError
    from pytest_dualread.outputs import OutputLock, PreviousReport, refuse_foreign_report
    from pytest_dualread.redact import redact_args

    argv = redact_args(argv)  # written into the placeholder and the lock file
    report, output = _early_targets(config)
    try:
        refuse_foreign_report(report)
    except ConfigError:
        return  # never touched; pytest_configure says so, as a usage error
    # An xdist worker (not yet known as one here) finds its controller holding the lock and
    # its placeholder in place; a pytest run inside a worker's test looks the same, so the
    # variable only spares the lock, and pytest_configure takes it for the controller.
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        try:
            lock = OutputLock.acquire(output, " ".join(argv))
        except ConfigError as exc:
            raise pytest.UsageError(f"pytest-dualread: {exc}") from None
        config.add_cleanup(lock.release)
        config.stash[lock_key] = lock
    config.stash[previous_key] = PreviousReport.replace(report, placeholder_text(argv))


def hold_outputs(config: pytest.Config, plan: OutputPlan, argv: Sequence[str]) -> None:
    """Refuse a report target or an artifacts folder that is not the plugin's, and hold the
    output folder's lock (taken early already when the folder was known then)."""
    from pytest_dualread.outputs import OutputLock, refuse_foreign_artifacts, refuse_foreign_report

    previous = config.stash.get(previous_key, None)
    if previous is not None and previous.path != plan.report:
        previous.restore()  # the early guess was not this run's report: put it back
        del config.stash[previous_key]
    refuse_foreign_report(plan.report)
    refuse_foreign_artifacts(plan.output_dir)
    held = config.stash.get(lock_key, None)
    if held is None or held.output_dir.resolve() != plan.output_dir.resolve():
        lock = OutputLock.acquire(plan.output_dir, " ".join(argv))
        config.add_cleanup(lock.release)
        config.stash[lock_key] = lock


def placeholder_text(argv: Sequence[str]) -> str:
    """The incomplete report that stands at the report's place while a run is under way."""
    from pytest_dualread.assemble import RunFacts, assemble_report
    from pytest_dualread.config import GateSettings
    from pytest_dualread.report import dump_report

    facts = RunFacts(
        started=datetime.now(timezone.utc),
        duration_s=0.0,
        argv=list(argv),
        config_hash="unknown",
        pytest_version=pytest.__version__,
    )
    report = assemble_report(
        [], [], facts, gate=GateSettings(), incomplete=_NOT_FINISHED, stale=lambda checks: []
    )
    return dump_report(report)


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
