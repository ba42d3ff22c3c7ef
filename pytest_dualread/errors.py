"""The exceptions pytest-dualread raises, one tree for the whole package.

::

    DualReadError                 base: catch this to catch everything below
    ├── ConfigError               a setting is unknown, of the wrong type, or points nowhere
    ├── CaseError                 a case file is malformed, or a case is invalid
    ├── FetchError                a side could not be fetched, or answered badly
    ├── CaptureError              a page could not be rendered or never settled
    ├── SnapshotError             a golden or baseline is missing, unreadable or of another shape
    └── ReportError               a report file is missing, truncated, foreign or of another schema

Every message says what was expected, what came, and where (file, key, URL or option). The same
facts travel as attributes, so callers never parse messages.
"""

from __future__ import annotations

from pathlib import Path

__all__ = [
    "CaptureError",
    "CaseError",
    "CheckFailed",
    "ConfigError",
    "DualReadError",
    "FetchError",
    "ReportError",
    "SnapshotError",
]


class DualReadError(Exception):
    """Base of every error pytest-dualread raises on purpose."""


class ConfigError(DualReadError):
    """A setting is wrong.

    ``key`` is the dotted setting name (``dto.tolerances``), ``source`` where it came from
    (a pyproject.toml path, ``environment variable DUALREAD_X`` or ``--dual-read-x``).
    """

    def __init__(self, message: str, *, key: str | None = None, source: str | None = None) -> None:
        self.key = key
        self.source = source
        where = []
        if source:
            where.append(source)
        if key:
            where.append(f"key {key!r}")
        prefix = f"{', '.join(where)}: " if where else ""
        super().__init__(f"{prefix}{message}")


class CaseError(DualReadError):
    """A case file or one of its cases is invalid.

    ``path`` is the case file, ``line`` the 1-based line when known, ``case_id`` the case.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        case_id: str | None = None,
    ) -> None:
        self.path = Path(path) if path is not None else None
        self.line = line
        self.case_id = case_id
        where = ""
        if self.path is not None:
            where = str(self.path) + (f":{line}" if line is not None else "")
        if case_id is not None:
            where = f"{where} case {case_id!r}" if where else f"case {case_id!r}"
        super().__init__(f"{where}: {message}" if where else message)


class FetchError(DualReadError):
    """A side's response could not be used.

    ``side`` is ``legacy`` or ``adapter``; ``url``, ``status`` and ``body_head`` (the first 200
    bytes, redacted) describe what came back, when anything did.
    """

    def __init__(
        self,
        message: str,
        *,
        side: str | None = None,
        url: str | None = None,
        status: int | None = None,
        body_head: str | None = None,
    ) -> None:
        self.side = side
        self.url = url
        self.status = status
        self.body_head = body_head
        parts = [p for p in (side, url) if p]
        head = f"{' '.join(parts)}: " if parts else ""
        tail = f"\n  body starts: {body_head!r}" if body_head else ""
        super().__init__(f"{head}{message}{tail}")


class CaptureError(DualReadError):
    """A page could not be captured. ``reason`` is a short word: ``unstable``, ``navigation``,
    ``browser`` or ``http``; ``url`` the page."""

    def __init__(self, message: str, *, reason: str, url: str | None = None) -> None:
        self.reason = reason
        self.url = url
        super().__init__(f"{url}: {message}" if url else message)


class SnapshotError(DualReadError):
    """A golden or baseline cannot be used. ``path`` is its file."""

    def __init__(self, message: str, *, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class ReportError(DualReadError):
    """A report cannot be trusted. ``path`` is the file; ``reason`` a short word: ``missing``,
    ``unreadable``, ``invalid``, ``schema`` or ``foreign``."""

    def __init__(self, message: str, *, path: Path | str | None = None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        super().__init__(f"{self.path}: {message}" if self.path is not None else message)


class CheckFailed(Exception):
    """Not an error of the tree above: how a check that failed or errored stops its test.

    ``message`` is the check's report for people; the check is already recorded. The plugin
    turns it into a test failure without a traceback.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
