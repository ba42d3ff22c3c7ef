"""Everything written when a run ends, from its report: one registry; and the care taken of the
output folder, which may hold the user's own files.

An output is one function taking the report and where things go, returning the file it wrote
(or ``None`` when it is not wanted this run); a new output is that function and one entry in
:data:`OUTPUTS`. The JSON report comes first: the other outputs are views of it.

Nothing of the user's is overwritten or deleted: a report target must be absent or a
pytest-dualread report (:func:`refuse_foreign_report`); ``artifacts/`` is cleared only when it
carries the plugin's marker (:func:`refuse_foreign_artifacts`, :func:`clear_artifacts`); and one
session at a time writes into a folder (:class:`OutputLock`).
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pytest_dualread.errors import ConfigError
from pytest_dualread.report import Report

__all__ = [
    "ARTIFACTS_MARKER",
    "LOCK_FILE",
    "OUTPUTS",
    "OutputLock",
    "OutputPlan",
    "PreviousReport",
    "clear_artifacts",
    "mark_artifacts",
    "refuse_foreign_artifacts",
    "refuse_foreign_report",
    "write_outputs",
]

ARTIFACTS_MARKER = ".pytest-dualread"
"""The file that marks ``<output>/artifacts`` as made by the plugin (and so deletable)."""
LOCK_FILE = ".dualread.lock"
"""``<output>/.dualread.lock``: held by the session writing into the folder."""


@dataclass(frozen=True)
class OutputPlan:
    """Where a run's outputs go."""

    report: Path
    """report.json."""
    output_dir: Path
    """The output folder (the HTML report, named after the JSON one; artifacts/)."""
    metrics: Path | None = None
    """``--dual-read-metrics``: Prometheus metrics, when asked for."""


def _json(report: Report, plan: OutputPlan) -> Path:
    from pytest_dualread.report import write_report

    write_report(report, plan.report)
    return plan.report


def _html(report: Report, plan: OutputPlan) -> Path:
    from pytest_dualread.html import write_html

    path = plan.output_dir / f"{plan.report.stem}.html"  # next to its report: shards differ
    write_html(report, path, base_dir=plan.output_dir, report_path=plan.report)
    return path


def _metrics(report: Report, plan: OutputPlan) -> Path | None:
    if plan.metrics is None:
        return None
    from pytest_dualread.metrics import write_metrics

    write_metrics(report, plan.metrics, env_name=None)
    return plan.metrics


OUTPUTS: dict[str, Callable[[Report, OutputPlan], Path | None]] = {
    "report": _json,
    "html": _html,
    "metrics": _metrics,
}


def write_outputs(report: Report, plan: OutputPlan) -> dict[str, Path]:
    """Write every registered output; the files written, by output name."""
    written: dict[str, Path] = {}
    for name, write in OUTPUTS.items():
        path = write(report, plan)
        if path is not None:
            written[name] = path
    return written


# -- the user's files ---------------------------------------------------------------------------


def refuse_foreign_report(path: Path, option: str = "--dual-read-report") -> None:
    """A :class:`ConfigError` unless ``path`` is absent or a pytest-dualread report: a case file,
    any other file or a folder at the report's place is never overwritten."""
    from pytest_dualread.report import written_by_pytest_dualread

    if not os.path.lexists(path):
        return
    if path.is_dir():
        raise ConfigError(
            f"{path} is a directory; the report is a file (e.g. {path / 'report.json'})",
            source=option,
        )
    if not written_by_pytest_dualread(path):
        raise ConfigError(
            f"{path} exists and is not a pytest-dualread report; it is never overwritten "
            "(choose another path)",
            source=option,
        )


def refuse_foreign_artifacts(output_dir: Path) -> None:
    """A :class:`ConfigError` when ``<output>/artifacts`` holds files the plugin did not make."""
    folder = output_dir / "artifacts"
    if not os.path.lexists(folder) or (folder / ARTIFACTS_MARKER).is_file():
        return
    if folder.is_dir() and not any(folder.iterdir()):
        return
    raise ConfigError(
        f"{folder} exists and was not made by pytest-dualread (no {ARTIFACTS_MARKER} in it); "
        "it is never deleted: choose another output folder",
        source="--dual-read-output",
    )


def mark_artifacts(folder: Path) -> None:
    """Create ``folder`` (``<output>/artifacts``) with the marker that makes it the plugin's."""
    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / ARTIFACTS_MARKER
    if not marker.exists():
        marker.write_text(
            "Made by pytest-dualread: this folder is emptied at the start of each run.\n",
            encoding="utf-8",
        )


def clear_artifacts(output_dir: Path) -> None:
    """Delete the artifacts of an earlier run, only from a folder that carries the marker (an
    empty folder is claimed); anything else was refused when the session started."""
    folder = output_dir / "artifacts"
    if (folder / ARTIFACTS_MARKER).is_file():
        shutil.rmtree(folder, ignore_errors=True)
    elif folder.is_dir() and any(folder.iterdir()):
        return  # not ours (it appeared since the session started): left alone
    mark_artifacts(folder)


@dataclass(frozen=True)
class PreviousReport:
    """The report a run replaced with its placeholder, kept to put back when the run turns out
    to run no dual-read item (``-k`` selecting nothing)."""

    path: Path
    data: bytes | None
    """The old bytes; ``None`` when there was no report."""

    @classmethod
    def replace(cls, path: Path, placeholder: str) -> PreviousReport:
        from pytest_dualread.files import write_atomic

        try:
            old: bytes | None = path.read_bytes()
        except FileNotFoundError:
            old = None
        write_atomic(path, placeholder)
        return cls(path, old)

    def restore(self) -> None:
        from pytest_dualread.files import write_atomic

        if self.data is None:
            self.path.unlink(missing_ok=True)
        else:
            write_atomic(self.path, self.data)


class OutputLock:
    """``<output>/.dualread.lock``, held with ``flock`` for a whole session, so that a second
    session into the same folder fails at once instead of deleting the first one's artifacts.
    The kernel releases it when the process dies. Not taken on Windows (no ``fcntl``)."""

    def __init__(self, output_dir: Path, fd: int | None) -> None:
        self.output_dir = output_dir
        self._fd = fd

    @classmethod
    def acquire(cls, output_dir: Path, command: str) -> OutputLock:
        if sys.platform == "win32":  # pragma: no cover - no flock there
            return cls(output_dir, None)
        import fcntl

        output_dir.mkdir(parents=True, exist_ok=True)
        path = output_dir / LOCK_FILE
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 2000).decode("utf-8", "replace").strip() or "unknown"
            os.close(fd)
            raise ConfigError(
                f"{output_dir} is in use by another pytest-dualread session ({holder}); "
                "wait for it to finish or choose another output folder",
                source="--dual-read-output",
            ) from None
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, started {started}, command: {command}\n".encode())
        return cls(output_dir, fd)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
