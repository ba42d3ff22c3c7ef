"""The one lifecycle every check goes through, whatever it compares.

A DTO check (:mod:`pytest_dualread.dtocheck`) and a visual check
(:mod:`pytest_dualread.pagecheck`) run the same steps::

    obtain (fetch / capture) ─► load what is stored ─► compare ─► judge ─► write artifacts ─► record

This module holds what they share: :class:`CheckRun`, one check in progress that ends as one
typed :class:`~pytest_dualread.report.Check`; :class:`Stored` and :func:`judge_stored`, the single
decision for goldens and baselines (missing, create, update, refuse), the way one regression
check serves every kind of data; and :class:`CheckContext`, what a check needs from the running
test. Nothing here imports pytest: the plugin builds the context and turns :class:`CheckFailed`
into a test failure.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, NoReturn, TypeVar

from pytest_dualread.artifacts import ArtifactDir, keep_artifacts
from pytest_dualread.errors import CheckFailed, DualReadError, SnapshotError, user_traceback
from pytest_dualread.report import Check, DtoData, Finding, VisualData, WaivedFinding

if TYPE_CHECKING:
    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.normalize import DiffRules
    from pytest_dualread.redact import Scrubber

__all__ = [
    "CheckContext",
    "CheckFailed",
    "CheckRun",
    "Stored",
    "StoredVerdict",
    "cap",
    "judge_stored",
    "locate_stored",
]

StoredKind = Literal["golden", "baseline"]
_T = TypeVar("_T")


@dataclass
class CheckContext:
    """What a check needs from the running test."""

    settings: DualReadSettings
    rules: DiffRules
    """The global DTO rules (``[tool.dualread.dto]``), built once per session."""
    rootdir: Path
    nodeid: str
    update: bool
    """``--snapshot-update`` was given."""
    location: Any
    """syrupy's ``PyTestLocation`` of the test (where its goldens and baselines live)."""
    snapshot: Callable[[], Any]
    """Returns the test's syrupy ``snapshot`` assertion."""
    record: Callable[[Check], None]
    """Keeps one finished check for the report."""

    @property
    def output_dir(self) -> Path:
        return self.settings.output_path(self.rootdir)

    @property
    def snapshot_root(self) -> Path:
        root = self.settings.snapshot_dir
        return root if root.is_absolute() else self.rootdir / root

    def relative(self, path: Path) -> str:
        return os.path.relpath(path, self.rootdir)

    @cached_property
    def scrubber(self) -> Scrubber:
        """Removes the secrets the plugin sends from any text a check records."""
        from pytest_dualread.redact import scrubber_for

        return scrubber_for(self.settings)


def cap(text: str, limit: int = 8000) -> str:
    """``text`` cut to ``limit`` characters, marked when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class CheckRun:
    """One check from its start to its record; each pipeline step fills a part of it."""

    ctx: CheckContext
    id: str
    data: DtoData | VisualData
    started: float = field(default_factory=time.perf_counter)
    outcome: Literal["passed", "failed", "error"] = "passed"
    message: str = ""
    findings: list[Finding] = field(default_factory=list)
    waived: list[WaivedFinding] = field(default_factory=list)
    artifacts: ArtifactDir = field(init=False)
    scrubber: Scrubber = field(init=False)
    """The run's scrubber; a step that sends more secrets (a case's own) makes it know them."""

    def __post_init__(self) -> None:
        self.artifacts = ArtifactDir(self.ctx.output_dir, self.id)
        self.scrubber = self.ctx.scrubber

    @property
    def kind(self) -> Literal["dto", "visual"]:
        return "dto" if isinstance(self.data, DtoData) else "visual"

    def fail(self, message: str) -> None:
        self.outcome, self.message = "failed", message

    def error(self, exc: BaseException) -> NoReturn:
        """Record the check as an error (it could not be judged) and stop it. An exception
        the plugin did not foresee reads as one line, its type and the first line of its
        message: never a traceback, whose frames' arguments may hold secrets."""
        __tracebackhide__ = True
        text = str(exc)
        if not isinstance(exc, (DualReadError, ValueError)):
            text = "unexpected error: " + (text.splitlines() or [""])[0]
        self.outcome, self.message = "error", f"{type(exc).__name__}: {text}"
        self._keep()
        shown = user_traceback(exc)
        raise CheckFailed(
            f"dual-read error: {self.message}",
            user_traceback=None if shown is None else self.scrubber.text(shown),
        )

    def guarded(self, steps: Callable[[], _T]) -> _T:
        """Run a check's ``steps``: whatever they raise, but the check's own stop, makes the
        check an error (see :meth:`error`), the same for every kind of check."""
        __tracebackhide__ = True
        try:
            return steps()
        except CheckFailed:
            raise
        except Exception as exc:
            self.error(exc)

    def take(self, verdict: StoredVerdict) -> None:
        """Apply what :func:`judge_stored` decided: differences from a file that now holds this
        run's legacy side no longer fail; a missing or refused file fails, its reason first."""
        if verdict.replaced and not verdict.problem:
            self.outcome, self.message = "passed", ""
        if verdict.problem:
            self.fail(verdict.problem + (f"\n{self.message}" if self.message else ""))

    def write_artifacts(self, write: Callable[[ArtifactDir], None]) -> None:
        """``write`` the check's artifacts when the retention policy keeps them, else none."""
        if keep_artifacts(self.ctx.settings.artifacts, self.outcome):
            write(self.artifacts)
        else:
            self.artifacts.discard()

    def record(self) -> None:
        """Keep the finished check; raise :class:`CheckFailed` with its report unless it passed."""
        __tracebackhide__ = True
        if self.outcome == "failed" and self.findings and self.ctx.settings.waivers:
            self._waive()
        self._keep()
        if self.outcome != "passed":
            where = f"\nartifacts: {self.artifacts.path}" if self.artifacts.written else ""
            raise CheckFailed(f"{self.message}{where}")

    def _waive(self) -> None:
        """Findings a waiver in force matches do not fail the check; they are kept apart."""
        from pytest_dualread.waivers import split_findings, today

        kept, self.waived = split_findings(
            self.id, self.findings, self.ctx.settings.waivers, today()
        )
        if self.waived and not kept:
            self.outcome, self.message = "passed", ""
        self.findings = kept

    def _keep(self) -> None:
        # Everything the check says passes the scrubber once, here, before anyone sees it.
        scrub = self.scrubber
        self.message = scrub.text(self.message)
        if scrub:
            self.findings = [
                Finding.model_validate(scrub.value(f.model_dump(mode="json")))
                for f in self.findings[:500]
            ]
            self.waived = [
                WaivedFinding.model_validate(scrub.value(f.model_dump(mode="json")))
                for f in self.waived[:500]
            ]
        # Built without validation: the report writer validates each check once, on arrival.
        check = Check.model_construct(
            id=self.id,
            nodeid=self.ctx.nodeid,
            kind=self.kind,
            outcome=self.outcome,
            duration_s=round(time.perf_counter() - self.started, 6),
            message=cap(self.message),
            findings=self.findings[:500],
            waived=self.waived[:500],
            artifacts=dict(self.artifacts.written),
            data=self.data,
        )
        self.ctx.record(check)


# ---------------------------------------------------------------------------------------------
# goldens and baselines: one decision


@dataclass(frozen=True)
class Stored:
    """A golden or a baseline: where it lives and what it held when the check began."""

    kind: StoredKind
    path: Path
    rel: str
    """``path`` relative to the rootdir, for messages."""
    extension: type[Any]
    """The syrupy extension class that reads and writes it."""
    index: int | str
    """The snapshot's index or name within its test."""
    content: str | bytes | None
    """The stored text (golden) or PNG bytes (baseline); ``None`` when there is none."""

    @property
    def exists(self) -> bool:
        return self.content is not None

    @property
    def source(self) -> str:
        return "legacy response" if self.kind == "golden" else "legacy render"


def locate_stored(
    ctx: CheckContext,
    kind: StoredKind,
    index: int | str,
    *,
    browser: str = "chromium",
    strip_browser_id: bool = False,
) -> Stored:
    """The golden or baseline ``index`` of the running test, read once. A baseline belongs to
    a ``browser`` (see :func:`~pytest_dualread.snapshots.baseline_extension`)."""
    from pytest_dualread.snapshots import baseline_extension, golden_extension, read_stored

    extension: type[Any] = (
        golden_extension(ctx.snapshot_root)
        if kind == "golden"
        else baseline_extension(ctx.snapshot_root, browser, strip_browser_id)
    )
    path = Path(extension.get_location(test_location=ctx.location, index=index))
    content = read_stored(path, binary=kind == "baseline")
    return Stored(kind, path, ctx.relative(path), extension, index, content)


@dataclass(frozen=True)
class StoredVerdict:
    """What :func:`judge_stored` decided."""

    problem: str = ""
    """Why the check fails because of the stored file (missing, or refused); empty when not."""
    written: bool | None = None
    """With ``--snapshot-update``: whether the file was (re)written; ``None`` otherwise."""

    @property
    def replaced(self) -> bool:
        """The stored file now holds this run's legacy side: differences from the old one are
        no longer failures."""
        return self.written is not None


def judge_stored(
    ctx: CheckContext,
    stored: Stored,
    *,
    matches: bool,
    disagreement: str,
    candidate: Callable[[], Any],
) -> StoredVerdict:
    """Decide a golden's or baseline's fate and tell syrupy, which owns writing it.

    ``matches``: legacy equals the stored one (within tolerance). ``disagreement``: where legacy
    and adapter disagree beyond tolerance (empty when they agree). ``candidate()``: what to
    store, built only when it may be written.

    * without ``--snapshot-update``: a missing file fails the check and says how to create it;
    * with it: the legacy side is written when the file is missing or differs, unless the two
      sides disagree, since then nobody knows which one is right: the write is refused.
    """
    from pytest_dualread.snapshots import StoredText, judging

    assertion = ctx.snapshot()
    name = stored.index or None
    if ctx.update and disagreement:
        return StoredVerdict(
            problem=f"refusing to write the {stored.kind} {stored.rel}: legacy and adapter "
            f"disagree beyond tolerance at {disagreement}"
        )
    if ctx.update:
        _write_stored(assertion, stored, matches, candidate)
        return StoredVerdict(written=not matches)
    # Nothing is written: syrupy only learns that the file was used and whether it held, from
    # the content as stored (nothing new to serialize). It keeps what each assertion recalled
    # and asserted to the end of the session, one object for both here, and shows it only in
    # the diff of an assertion that failed: a file that held is handed over as an empty
    # stand-in, so a session does not keep every golden and baseline it compared.
    content = stored.content
    if matches and content is not None:
        content = content[:0]  # the empty stand-in, of the stored type
    held: str | bytes = content or b""
    if stored.kind == "golden":
        held = StoredText(content or "")
    recalled = held if stored.content is not None else None
    with judging(matches and stored.exists, stored_at=stored.path, stored=recalled):
        assertion(extension_class=stored.extension, name=name) == held  # noqa: B015
    if stored.exists:
        return StoredVerdict()
    return StoredVerdict(
        problem=f"no {stored.kind} at {stored.rel}: run `pytest --dual-read --snapshot-update` "
        f"to create it from the {stored.source}"
    )


def _write_stored(
    assertion: Any, stored: Stored, matches: bool, candidate: Callable[[], Any]
) -> None:
    """Have syrupy (re)write ``stored`` with the candidate, and make sure it did: a file that
    should now exist and does not is a :class:`SnapshotError` naming it and the cause, never a
    passed check whose next run finds nothing."""
    from pytest_dualread.snapshots import judging, read_stored

    try:
        with judging(matches, stored_at=stored.path, stored=stored.content):
            assertion(extension_class=stored.extension, name=stored.index or None) == candidate()  # noqa: B015
    except Exception as exc:  # syrupy refused the name (a warning made an error), or an OSError
        cause = (str(exc).strip().splitlines() or [""])[0]
        raise SnapshotError(
            f"the {stored.kind} was not written: {type(exc).__name__}: {cause}", path=stored.rel
        ) from None
    if matches:
        return
    # Not matching, the new file differs from the old one: still missing or unchanged, syrupy
    # did not write it.
    after = read_stored(stored.path, binary=stored.kind == "baseline")
    if after is None or after == stored.content:
        raise SnapshotError(
            f"the {stored.kind} was not written: syrupy refused its name (a test id or check "
            "name with characters a file name cannot hold, such as '/' or '?'); give the test "
            "ids= or the check name= of letters, digits, '-', '_' and '.'",
            path=stored.rel,
        )
