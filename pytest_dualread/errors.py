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
facts travel as attributes, so callers never parse messages. :func:`validation_message` words a
pydantic validation error the same way for every caller (settings, case files, the CLI, reports).

When the user's own code is why (an in-process app raised, a module named by a spec failed to
import), the error is raised ``from`` that exception and :func:`blame_user_code` marks it, so the
terminal can show the user's traceback (:func:`user_traceback`) while messages stay one line.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # pydantic is heavy; plain pytest imports this module without it
    from pydantic import ValidationError
    from pydantic_core import ErrorDetails

__all__ = [
    "CaptureError",
    "CaseError",
    "CheckFailed",
    "ConfigError",
    "DualReadError",
    "FetchError",
    "ReportError",
    "SnapshotError",
    "blame_user_code",
    "user_traceback",
    "validation_message",
]


class DualReadError(Exception):
    """Base of every error pytest-dualread raises on purpose."""

    user_error: BaseException | None = None
    """What the user's code raised, when that is why; see :func:`blame_user_code`."""


_E = TypeVar("_E", bound=DualReadError)


def blame_user_code(error: _E, raised: BaseException) -> _E:
    """Mark ``error`` as caused by ``raised``, an exception of the user's code (their app,
    their module); raise the result ``from raised``."""
    error.user_error = raised
    return error


def user_traceback(exc: BaseException) -> str | None:
    """The traceback of the user's code behind ``exc``, found along its chain of causes (an
    error re-raised as another keeps the mark); ``None`` when the plugin's own checks failed."""
    import traceback

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DualReadError) and seen.user_error is not None:
            raised = seen.user_error
            frames = raised.__traceback__
            # Start at the user's code: the frames that called it are the plugin's and httpx's.
            while frames is not None and frames.tb_next is not None and _is_plumbing(frames):
                frames = frames.tb_next
            return "".join(traceback.format_exception(type(raised), raised, frames)).rstrip()
        seen = seen.__cause__
    return None


_PLUMBING = tuple(
    f"{os.sep}{name}{os.sep}"
    for name in ("pytest_dualread", "httpx", "asyncio", "concurrent", "importlib")
)


def _is_plumbing(frame: TracebackType) -> bool:
    filename = frame.tb_frame.f_code.co_filename
    return filename.startswith("<frozen ") or any(part in filename for part in _PLUMBING)


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


def validation_message(
    exc: ValidationError, *, limit: int = 5, prefix: str | None = "", drop: int = 0
) -> str:
    """One line for a pydantic :class:`~pydantic.ValidationError`: its first ``limit`` problems,
    joined by ``; ``, then ``; and N more problems``.

    A problem reads ``key 'table.key': what``. ``prefix`` is the dotted place the validated
    data came from (``tool.dualread.gate``), put before every key; ``prefix=None`` leaves the
    key out for callers that name it themselves (``ConfigError(key=...)``), and then an unknown
    key says which table it is in. ``drop`` leading parts of each location are the caller's to
    name (``cases.3`` of a case file is the case).
    """
    problems = [_problem(err, prefix, drop) for err in exc.errors()[:limit]]
    more = exc.error_count() - len(problems)
    if more > 0:
        problems.append(f"and {more} more problem{'s' if more > 1 else ''}")
    return "; ".join(problems)


_NAMED = {"extra_forbidden": "unknown key", "missing": "missing key"}
"""Problems that are about a key itself, worded so that they name it."""


def _problem(err: ErrorDetails, prefix: str | None, drop: int) -> str:
    loc = [str(part) for part in err["loc"][drop:]]
    names_key = err["type"] in _NAMED
    if names_key:
        what = f"{_NAMED[err['type']]} {loc[-1]!r}" if loc else _NAMED[err["type"]]
    else:
        what = err["msg"].removeprefix("Value error, ")
        given = err.get("input")
        # A whole table as "got" is noise; a value the message already quotes is repetition.
        shown = _short_repr(given)
        if not isinstance(given, (dict, list)) and shown not in what:
            what += f" (got {shown})"
    if prefix is None:
        parent = ".".join(loc[:-1])
        return f"{what} in [{parent}]" if names_key and parent else what
    key = ".".join([prefix, *loc]).strip(".")
    return f"key '{key}': {what}" if key else what


def _short_repr(value: object, limit: int = 100) -> str:
    """``repr(value)`` for a message: cut when long, and never raising (a 5,000-digit integer
    has no ``repr`` under Python's conversion limit)."""
    try:
        text = repr(value)
    except ValueError:
        return f"<{type(value).__name__} too large to show>"
    return text if len(text) <= limit else f"{text[: limit - 1]}… ({len(text)} characters)"


class CheckFailed(Exception):
    """Not an error of the tree above: how a check that failed or errored stops its test.

    ``message`` is the check's report for people; the check is already recorded. The plugin
    turns it into a test failure without a traceback.
    """

    def __init__(self, message: str, *, user_traceback: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.user_traceback = user_traceback
        """The traceback of the user's code that made the check an error, for the terminal."""


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known name a misspelt ``word`` most likely meant, for "did you mean" hints."""
    import difflib

    found = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return found[0] if found else None
