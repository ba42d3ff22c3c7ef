"""The pytest glue: flags, the ``dual_read`` marker, skipping, and the controller's report writer.

This is the only module that imports pytest. Everything heavy (pydantic, deepdiff, Playwright,
NumPy) is imported inside hooks and fixtures, and only when ``--dual-read`` is given, so a plain
``pytest`` run pays nothing for the plugin being installed.

How results travel (see ARCHITECTURE §5): a check puts its result, plain JSON data, into
``item.user_properties`` under :data:`CHECK_PROPERTY`; every collected dual-read item also carries
an :data:`EXPECT_PROPERTY` entry, so an item that never got to record a check (skipped, setup
error, crash) still shows up in the report. The :class:`ReportWriter` exists only on the
controller process (never on a pytest-xdist worker) and reads those properties from the test
reports that reach it.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.report import Check, Report

__all__ = [
    "CHECK_PROPERTY",
    "EXPECT_PROPERTY",
    "ReportWriter",
    "report_writer_key",
    "settings_key",
]

CHECK_PROPERTY = "dualread_check"
EXPECT_PROPERTY = "dualread_expect"
SKIP_REASON = "dual-read check: run pytest with --dual-read to enable it"
_KINDS = ("dto", "visual")

settings_key = pytest.StashKey["DualReadSettings"]()
report_writer_key = pytest.StashKey["ReportWriter"]()


# ---------------------------------------------------------------------------------------------
# options


def _percent(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a percentage between 0 (exclusive) and 100, got {value!r}"
        ) from None
    if not 0 < number <= 100:
        raise argparse.ArgumentTypeError(
            f"expected a percentage between 0 (exclusive) and 100, got {value!r}"
        )
    return number


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dual-read", "dual-read checks (pytest-dualread)")
    group.addoption(
        "--dual-read",
        action="store_true",
        dest="dual_read",
        default=False,
        help="Run dual-read checks and write the gate report; without it they are skipped.",
    )
    group.addoption(
        "--dual-read-output",
        dest="dual_read_output",
        metavar="DIR",
        default=None,
        help="Folder for report.json, report.html and artifacts/ (default: dual-read-results).",
    )
    group.addoption(
        "--dual-read-report",
        dest="dual_read_report",
        metavar="PATH",
        default=None,
        help="Where to write the JSON report (default: <output>/report.json).",
    )
    group.addoption(
        "--dual-read-legacy-url",
        dest="dual_read_legacy_url",
        metavar="URL",
        default=None,
        help="Legacy target: an http(s) URL or 'module:app'; overrides legacy_url.",
    )
    group.addoption(
        "--dual-read-adapter-url",
        dest="dual_read_adapter_url",
        metavar="URL",
        default=None,
        help="Adapter target: an http(s) URL or 'module:app'; overrides adapter_url.",
    )
    group.addoption(
        "--dual-read-sample",
        dest="dual_read_sample",
        metavar="PCT",
        type=_percent,
        default=None,
        help="Run a deterministic PCT %% of dual-read items (chosen by a hash of their id).",
    )
    group.addoption(
        "--dual-read-artifacts",
        dest="dual_read_artifacts",
        choices=("all", "failed", "none"),
        default=None,
        help="Which checks keep diff artifacts (default: failed).",
    )


# ---------------------------------------------------------------------------------------------
# configuration


def _flag_overrides(config: pytest.Config) -> dict[str, Any]:
    return {
        "output_dir": config.getoption("dual_read_output"),
        "report_path": config.getoption("dual_read_report"),
        "legacy_url": config.getoption("dual_read_legacy_url"),
        "adapter_url": config.getoption("dual_read_adapter_url"),
        "sample": config.getoption("dual_read_sample"),
        "artifacts": config.getoption("dual_read_artifacts"),
    }


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("dual_read", default=False))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "dual_read(kind='dto'): a dual-read check (kind 'dto' or 'visual'); skipped without "
        "--dual-read, recorded in the dual-read report with it.",
    )
    if not _enabled(config):
        return
    from pytest_dualread.config import load_settings
    from pytest_dualread.errors import ConfigError

    try:
        settings = load_settings(config.rootpath, flags=_flag_overrides(config))
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-dualread: {exc}") from None
    config.stash[settings_key] = settings
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        writer = ReportWriter(config, settings)
        config.stash[report_writer_key] = writer
        config.pluginmanager.register(writer, "dualread-report-writer")


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = config.stash.get(report_writer_key, None)
    if writer is not None:
        del config.stash[report_writer_key]
        config.pluginmanager.unregister(writer)


# ---------------------------------------------------------------------------------------------
# collection: skip without the flag, mark expectations, sample


def _item_kind(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("dual_read")
    if marker is None:
        return "dto" if "dual_read" in getattr(item, "fixturenames", ()) else None
    kind = marker.kwargs.get("kind", marker.args[0] if marker.args else "dto")
    if kind not in _KINDS:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.dual_read(kind={kind!r}): expected kind 'dto' or 'visual'"
        )
    return str(kind)


def sample_keeps(check_id: str, percent: float) -> bool:
    """Whether a check is in the deterministic ``percent`` sample (stable across runs/machines)."""
    digest = hashlib.sha256(check_id.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 10_000
    return bucket < round(percent * 100)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    enabled = _enabled(config)
    settings = config.stash.get(settings_key, None)
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        kind = _item_kind(item)
        if kind is None:
            kept.append(item)
            continue
        if not enabled:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
            kept.append(item)
            continue
        check_id = item.nodeid
        sample = settings.sample if settings is not None else None
        if sample is not None and not sample_keeps(check_id, sample):
            dropped.append(item)
            continue
        kept.append(item)
    expected = [item for item in kept if _item_kind(item) is not None]
    sample_info = None
    if enabled and settings is not None and settings.sample is not None:
        sample_info = {
            "percent": settings.sample,
            "selected": len(expected),
            "total": len(expected) + len(dropped),
        }
    if enabled:
        # Each expectation carries the sample figures: under xdist only the workers collect,
        # and this is how the figures reach the controller's report writer.
        for item in expected:
            expect = {"id": item.nodeid, "kind": _item_kind(item), "sample": sample_info}
            item.user_properties.append((EXPECT_PROPERTY, expect))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# ---------------------------------------------------------------------------------------------
# the report writer (controller only)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _short_text(report: pytest.TestReport, limit: int = 2000) -> str:
    text = report.longreprtext or ""
    if report.skipped and isinstance(report.longrepr, tuple):
        text = str(report.longrepr[2])
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReportWriter:
    """Collects checks from test reports and writes report.json at the end of the session."""

    def __init__(self, config: pytest.Config, settings: DualReadSettings) -> None:
        self.config = config
        self.settings = settings
        self.path = settings.report_file(config.rootpath)
        self.started = datetime.now(timezone.utc)
        self._t0 = time.perf_counter()
        self._checks: dict[str, dict[str, Any]] = {}
        self._expected: dict[str, dict[str, Any]] = {}
        self._outcome: dict[str, tuple[str, str, float]] = {}
        self._sample: dict[str, float] | None = None
        self._browser: str | None = None
        self._engine: str | None = None
        self.last_report: Report | None = None

    # -- feeding -------------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == CHECK_PROPERTY and isinstance(value, dict):
                self._checks[str(value.get("id"))] = value
            elif name == EXPECT_PROPERTY and isinstance(value, dict):
                self._expected[report.nodeid] = value
                if value.get("sample"):
                    self._sample = value["sample"]
        if report.nodeid not in self._expected:
            return
        previous = self._outcome.get(report.nodeid)
        if previous is not None and previous[0] in ("error", "failed", "skipped"):
            return
        if report.skipped:
            outcome = "skipped"
        elif report.failed:
            outcome = "failed" if report.when == "call" else "error"
        else:
            outcome = "passed"
        spent = report.duration + (previous[2] if previous else 0.0)
        self._outcome[report.nodeid] = (outcome, _short_text(report), spent)

    # -- building ------------------------------------------------------------------------------

    def _checks_of_run(self) -> list[Check]:
        from pydantic import ValidationError

        from pytest_dualread.report import Check, check_from_data

        checks: dict[str, Check] = {}
        owners: set[str] = set()
        for check_id, data in self._checks.items():
            try:
                check = check_from_data(data)
            except ValidationError as exc:
                check = Check(
                    id=check_id,
                    nodeid=str(data.get("nodeid", check_id)),
                    kind="dto",
                    outcome="error",
                    message=f"internal: the check's result did not validate: {exc}",
                )
            checks[check.id] = check
            owners.add(check.nodeid)
        for nodeid, expect in self._expected.items():
            if nodeid in owners:
                continue
            outcome, text, duration = self._outcome.get(nodeid, ("error", "did not finish", 0.0))
            checks[str(expect["id"])] = Check(
                id=str(expect["id"]),
                nodeid=nodeid,
                kind=expect.get("kind", "dto"),
                outcome=outcome,
                duration_s=round(duration, 6),
                message=text if outcome != "passed" else "",
            )
        return [checks[key] for key in sorted(checks)]

    def build(self, *, complete: bool, reason: str | None) -> Report:
        from pytest_dualread import __version__
        from pytest_dualread.config import config_hash
        from pytest_dualread.gate import evaluate
        from pytest_dualread.report import (
            Environment,
            Report,
            RunInfo,
            SampleInfo,
            ToolInfo,
            summarize,
        )

        checks = self._checks_of_run()
        for check in checks:
            browser = check.data.get("browser")
            if self._browser is None and isinstance(browser, str):
                self._browser = browser
            engine = check.data.get("pixel_engine")
            if self._engine is None and isinstance(engine, str):
                self._engine = engine
        finished = datetime.now(timezone.utc)
        run = RunInfo(
            started_at=self.started,
            finished_at=finished,
            duration_s=round(time.perf_counter() - self._t0, 3),
            complete=complete,
            incomplete_reason=None if complete else reason,
            argv=[Path(sys.argv[0]).name, *self.config.invocation_params.args],
            environment=Environment(
                python=platform.python_version(),
                pytest=pytest.__version__,
                platform=platform.platform(terse=True),
                deepdiff=_version("deepdiff"),
                playwright=_version("playwright"),
                browser=self._browser,
                pixel_engine=self._engine,
            ),
            config_hash=config_hash(self.settings),
            sample=SampleInfo(**self._sample) if self._sample else None,
        )
        return Report(
            tool=ToolInfo(version=__version__),
            run=run,
            summary=summarize(checks),
            verdict=evaluate(checks, self.settings.gate, complete=complete),
            checks=checks,
        )

    def write(self, *, complete: bool, reason: str | None) -> Report:
        from pytest_dualread.report import write_report

        report = self.build(complete=complete, reason=reason)
        write_report(report, self.path)
        self.last_report = report
        return report

    # -- session hooks -------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Replace any report of an earlier run at once: if this run dies without reaching
        # sessionfinish, the gate finds an incomplete report, never a stale green one.
        self.write(complete=False, reason="the run has not finished (or died before it did)")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        reason = _incomplete_reason(session, exitstatus)
        self.write(complete=reason is None, reason=reason)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        report = self.last_report
        if report is None:
            return
        summary = report.summary
        where = os.path.relpath(self.path, self.config.invocation_params.dir)
        line = (
            f"dual-read: {summary.total} checks, {summary.passed} passed, {summary.failed} failed, "
            f"{summary.errors} errors, {summary.skipped} skipped; verdict {report.verdict.status}"
        )
        terminalreporter.write_sep("-", "dual-read report")
        terminalreporter.write_line(line)
        for reason in report.verdict.reasons:
            terminalreporter.write_line(f"  {reason}")
        terminalreporter.write_line(f"report: {where}")


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
