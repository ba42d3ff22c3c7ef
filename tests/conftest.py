"""Shared helpers for the plugin's own tests: run pytest the way users do and read the report.

``run_dualread`` runs an inner pytest in a pytester directory and validates the report it wrote
against the report model on every call (a report that does not load fails the test).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

import httpcore  # noqa: F401  (see below)
import pytest

from pytest_dualread.report import (
    Check,
    Environment,
    Report,
    RunInfo,
    ToolInfo,
    Verdict,
    load_report,
    summarize,
)

# httpx imports httpcore on first use and keeps its exception classes for mapping errors. A test
# using pytester puts sys.modules back as it found them when it ends: had httpcore first been
# imported in such a test, later runs would import a second copy whose connect errors httpx no
# longer recognises. Imported here, it is there before any pytester test starts.

# pytest-playwright 0.10's `base_url` fixture warning under pytest 9.2 (not ours), as in our
# own pyproject.toml; the TOML text holds a regex, so its newline is written as backslash-n.
_BASE_URL_WARNING = (
    "ignore:Session-scoped fixtures defined as instance methods are deprecated."
    "\\\\nInstance attributes set in the 'base_url' fixture:pytest.PytestRemovedIn10Warning"
)

# Inner runs are as strict as ours: warnings are errors there too.
INNER_PYPROJECT = f"""
[tool.pytest.ini_options]
filterwarnings = [
    "error",
    "{_BASE_URL_WARNING}",
]
"""


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """An ASGI 3 app served by uvicorn on 127.0.0.1 (a free port) in a thread; yields its URL."""
    import uvicorn

    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=0,
            log_level="warning",
            lifespan="off",
            interface="asgi3",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@dataclass
class DualReadRun:
    result: pytest.RunResult
    report: Report | None
    report_path: Path


RunDualRead = Callable[..., DualReadRun]


@pytest.fixture
def inner_project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A pytester directory with a strict pyproject.toml; tests append ``[tool.dualread]``."""
    pytester.makefile(".toml", pyproject=INNER_PYPROJECT)
    return pytester


@pytest.fixture
def run_dualread(inner_project: pytest.Pytester) -> RunDualRead:
    def run(
        *args: str, subprocess: bool = False, report: str = "dual-read-results/report.json"
    ) -> DualReadRun:
        if subprocess:
            result = inner_project.runpytest_subprocess(*args)
        else:
            # pytest-playwright keeps a process-global assertion scope that cannot nest, so an
            # in-process inner run leaves it out; runs that need a browser use a subprocess.
            result = inner_project.runpytest("-p", "no:playwright", *args)
        path = inner_project.path / report
        loaded = load_report(path) if path.exists() else None
        return DualReadRun(result=result, report=loaded, report_path=path)

    return run


def add_dualread_table(pytester: pytest.Pytester, table: str) -> None:
    """Append TOML (``[tool.dualread]`` sections) to the inner pyproject.toml."""
    path = pytester.path / "pyproject.toml"
    path.write_text(path.read_text() + "\n" + table, encoding="utf-8")


def synthetic_report(
    checks: Sequence[Check],
    *,
    started: datetime | None = None,
    run_minutes: float | None = None,
    duration_s: float = 0.0,
    complete: bool = True,
    incomplete_reason: str | None = None,
    config_hash: str = "sha256:abc",
    status: Literal["pass", "fail"] = "pass",
    reasons: Sequence[str] = (),
    browser: str | None = None,
) -> Report:
    """A report as pytest-dualread 0.1.0 would write it, for tests of the report's readers.

    ``run_minutes`` sets ``finished_at``; the summary is computed from
    ``checks``, the verdict is taken as given."""
    started = started or datetime(2026, 11, 14, 10, tzinfo=timezone.utc)
    run: dict[str, Any] = {}
    if run_minutes is not None:
        run["finished_at"] = started + timedelta(minutes=run_minutes)
    return Report(
        tool=ToolInfo(version="0.1.0"),
        run=RunInfo(
            started_at=started,
            duration_s=duration_s,
            complete=complete,
            incomplete_reason=incomplete_reason,
            argv=["pytest", "--dual-read"],
            environment=Environment(python="3.11.7", pytest="9.2.0", browser=browser),
            config_hash=config_hash,
            **run,
        ),
        summary=summarize(checks),
        verdict=Verdict(status=status, reasons=list(reasons)),
        checks=list(checks),
    )
