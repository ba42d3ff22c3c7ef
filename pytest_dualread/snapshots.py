"""syrupy extensions for goldens (pretty JSON) under ``<snapshot_dir>/dto/<file stem>/``.

syrupy owns the snapshot lifecycle (``--snapshot-update``, its summary); this module only says
where goldens live, how they are written, and when a stored golden still *matches*: within the
case's tolerances, so a golden is neither reported as failed nor rewritten for a difference the
rules allow. The check has already compared the stored snapshot with the new data under those
rules, so it hands syrupy the answer through :func:`judging` around each assertion (syrupy
creates extension instances itself, so they cannot take arguments).

Baselines (PNG) live under ``<snapshot_dir>/visual/<file stem>/``; pages declared in
``[tool.dualread.visual] pages`` under ``<snapshot_dir>/visual/pyproject/<name>.png``. Page
checks in a browser other than Chromium keep theirs in a tree of their own,
``<snapshot_dir>/visual-<browser>/`` (see :mod:`pytest_dualread.browser`): syrupy scans a
baseline's whole tree for unused files, so a Chromium-only ``--snapshot-update`` must never see
another browser's baselines.

A collected case ``fixtures/dual_read/cases.json::log-42`` keeps its golden at
``snapshots/dto/cases/log-42.json``; a Python test ``tests/test_api.py::test_log`` calling
``dual_read.check(..., name="x")`` at ``snapshots/dto/test_api/test_log[x].json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from syrupy.extensions.base import AbstractSyrupyExtension
from syrupy.extensions.single_file import SingleFileSnapshotExtension, WriteMode

from pytest_dualread import strictjson
from pytest_dualread.errors import SnapshotError

if TYPE_CHECKING:
    from syrupy.location import PyTestLocation
    from syrupy.types import SerializableData, SerializedData, SnapshotIndex

__all__ = [
    "BaselineExtension",
    "GoldenExtension",
    "StoredText",
    "baseline_extension",
    "dump_golden",
    "golden_extension",
    "judging",
    "parse_golden",
    "read_golden",
    "read_golden_text",
    "read_stored",
    "without_browser_id",
]


class StoredText(str):
    """Golden text exactly as stored: handed to syrupy as already serialized data (a check
    that is not updating goldens has nothing new to serialize)."""


@dataclass(frozen=True)
class _Judgement:
    matches: bool
    location: str | None
    stored: str | bytes | None


_JUDGED: ContextVar[_Judgement | None] = ContextVar("dualread_snapshot_judgement", default=None)


def dump_golden(data: Any) -> str:
    """The stored form of a golden: pretty, key-sorted JSON, UTF-8, one trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def read_golden_text(path: Path) -> str | None:
    """The stored text of the golden at ``path``, or ``None`` when there is none."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"cannot read the golden: {exc}", path=path) from None


def read_stored(path: Path, *, binary: bool) -> str | bytes | None:
    """A golden's text or a baseline's bytes, or ``None`` when there is none."""
    if not binary:
        return read_golden_text(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SnapshotError(f"cannot read the baseline: {exc}", path=path) from None


def parse_golden(text: str, path: Path) -> Any:
    """A golden's text as JSON; a :class:`SnapshotError` naming ``path`` when it is not."""
    try:
        return strictjson.loads(text)
    except strictjson.JsonProblem as exc:
        raise SnapshotError(
            f"the golden is not strict JSON ({exc}); fix it or delete it and run pytest "
            "--dual-read --snapshot-update",
            path=path,
        ) from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"the golden is not valid JSON ({exc.msg} at line {exc.lineno}); fix it or delete it "
            "and run pytest --dual-read --snapshot-update",
            path=path,
        ) from None


def read_golden(path: Path) -> Any | None:
    """The golden at ``path``, or ``None`` when there is none. Raises :class:`SnapshotError`
    for a file that exists but is not JSON."""
    text = read_golden_text(path)
    return None if text is None else parse_golden(text, path)


@contextmanager
def judging(
    matches: bool, *, stored_at: Path | None = None, stored: str | bytes | None = None
) -> Iterator[None]:
    """Within this block, the stored snapshot counts as matching the new data iff ``matches``
    (what the check found under its tolerances). With ``stored_at``, ``stored`` is what the
    check already read from that file (``None``: no file), and syrupy takes it from here
    instead of reading the file a second time."""
    location = os.fspath(stored_at) if stored_at is not None else None
    token = _JUDGED.set(_Judgement(matches, location, stored))
    try:
        yield
    finally:
        _JUDGED.reset(token)


_CLAIMED: dict[tuple[str, str], str] = {}
"""Each stored file named in this process, folded to lower case, with the check name that
claimed it: syrupy drops characters a file name cannot hold and cuts at 250, and a
case-insensitive file system folds case, so two names can land on one file."""


def _claim(folder: str, wanted: str, stem: str, extension: str, *, cut: bool) -> None:
    """Refuse ``wanted`` when it cannot name its own file: ``cut`` by the length limit, or when
    another name already took that file. A :class:`SnapshotError` names both and the file."""
    path = Path(folder) / f"{stem}.{extension}"
    if cut:
        raise SnapshotError(
            f"the check name {wanted[:60]!r}… is longer than the {len(stem)} characters a file "
            "name holds; shorten it",
            path=path,
        )
    first = _CLAIMED.setdefault((os.path.abspath(folder), f"{stem}.{extension}".casefold()), wanted)
    if first != wanted:
        raise SnapshotError(
            f"the check names {first!r} and {wanted!r} map to this one file (characters a file "
            "name cannot hold are dropped, and case may fold); rename one of them",
            path=path,
        )


_NAMED: dict[tuple[str, type[Any], str, str, SnapshotIndex], str] = {}
"""Each snapshot's name and location, as :class:`_Judged` worked them out the first time:
syrupy asks for them several times per assertion, and the answer never changes."""


class _Judged(SingleFileSnapshotExtension):
    """What goldens and baselines share: the check's verdict, and the file it already read."""

    @classmethod
    def _wanted_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex) -> str:
        """The name before syrupy makes a file name of it."""
        return AbstractSyrupyExtension.get_snapshot_name(test_location=test_location, index=index)

    @classmethod
    def get_location(cls, *, test_location: PyTestLocation, index: SnapshotIndex) -> str:
        key = ("location", cls, test_location.filepath, test_location.nodeid, index)
        if key not in _NAMED:
            _NAMED[key] = super().get_location(test_location=test_location, index=index)
        return _NAMED[key]

    @classmethod
    def get_snapshot_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex = 0) -> str:
        key = ("name", cls, test_location.filepath, test_location.nodeid, index)
        if key not in _NAMED:  # claimed once: a name that cannot be claimed raises every time
            _NAMED[key] = cls._named(test_location=test_location, index=index)
        return _NAMED[key]

    @classmethod
    def _named(cls, *, test_location: PyTestLocation, index: SnapshotIndex) -> str:
        stem = cls._stem(super().get_snapshot_name(test_location=test_location, index=index))
        wanted = cls._wanted_name(test_location=test_location, index=index)
        cut = len(cls._sanitize_filename(wanted)) > cls._max_stem_length()
        folder = cls.dirname(test_location=test_location)
        _claim(folder, wanted, stem, cls.file_extension, cut=cut)
        return stem

    @classmethod
    def _stem(cls, name: str) -> str:
        return name

    def matches(self, *, serialized_data: SerializedData, snapshot_data: SerializedData) -> bool:
        judged = _JUDGED.get()
        return bool(serialized_data == snapshot_data) if judged is None else judged.matches

    def read_snapshot_data_from_location(
        self, *, snapshot_location: str, snapshot_name: str, session_id: str
    ) -> SerializableData | None:
        judged = _JUDGED.get()
        if judged is not None and judged.location == snapshot_location:
            return judged.stored
        return super().read_snapshot_data_from_location(
            snapshot_location=snapshot_location, snapshot_name=snapshot_name, session_id=session_id
        )


class GoldenExtension(_Judged):
    """Goldens as JSON files, one per check. Use :func:`golden_extension` for a project's class."""

    file_extension = "json"
    _write_mode = WriteMode.TEXT
    snapshot_root: ClassVar[Path] = Path("snapshots")

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        return str(cls.snapshot_root / "dto" / test_location.basename)

    def serialize(self, data: SerializableData, **_filters: Any) -> SerializedData:
        # syrupy's property filters and matchers do not apply: goldens are judged field by field.
        # Stored text is returned as is, not copied: syrupy keeps it until the session ends.
        return data if isinstance(data, StoredText) else dump_golden(data)


def without_browser_id(name: str, browser: str) -> str:
    """``name`` without the id pytest-playwright's parametrization added for ``browser``:
    ``card[firefox]`` -> ``card``, ``day[firefox-2025-09-20][x]`` -> ``day[2025-09-20][x]``."""
    base, bracket, rest = name.partition("[")
    ids, closing, tail = rest.partition("]")
    if not bracket or not closing:
        return name
    # pytest joins the ids of stacked parametrizations with "-", in the order the hooks and
    # marks parametrized, so the browser's id is the whole id, its head or its tail.
    if ids == browser:
        return base + tail
    if ids.startswith(f"{browser}-"):
        return f"{base}[{ids[len(browser) + 1 :]}]{tail}"
    if ids.endswith(f"-{browser}"):
        return f"{base}[{ids[: -len(browser) - 1]}]{tail}"
    return name


@cache
def golden_extension(snapshot_root: Path) -> type[GoldenExtension]:
    """The extension class storing goldens under ``snapshot_root`` (one class per root, so
    syrupy treats every golden of a session as one extension's)."""
    return type(
        "DualReadGoldenExtension",
        (GoldenExtension,),
        {"snapshot_root": snapshot_root, "__module__": __name__},
    )


class BaselineExtension(_Judged):
    """Baselines as PNG files, one per page check. Use :func:`baseline_extension`."""

    file_extension = "png"
    _write_mode = WriteMode.BINARY
    snapshot_root: ClassVar[Path] = Path("snapshots")
    browser: ClassVar[str] = "chromium"
    strip_browser_id: ClassVar[bool] = False
    """Leave the browser's parametrization id out of the file name (a check multiplied by
    ``--browser``: its baseline is named as in a run with the default browser)."""

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        # syrupy relates a snapshot to its test by the folder name: it must be the basename.
        tree = "visual" if cls.browser == "chromium" else f"visual-{cls.browser}"
        return str(cls.snapshot_root / tree / test_location.basename)

    @classmethod
    def _wanted_name(cls, *, test_location: PyTestLocation, index: SnapshotIndex) -> str:
        return cls._stem(super()._wanted_name(test_location=test_location, index=index))

    @classmethod
    def _stem(cls, name: str) -> str:
        return without_browser_id(name, cls.browser) if cls.strip_browser_id else name

    @classmethod
    def matches_test_location(
        cls, *, test_location: PyTestLocation, snapshot_location: str
    ) -> bool:
        if super().matches_test_location(
            test_location=test_location, snapshot_location=snapshot_location
        ):
            return True
        if not cls.strip_browser_id:
            return False
        # syrupy relates a parametrized test's file by its full id; a multiplied check's
        # baseline is named without the browser's part of it.
        path = Path(snapshot_location)
        if path.parent != Path(cls.dirname(test_location=test_location)):
            return False
        name = without_browser_id(test_location.snapshot_name_parametrized, cls.browser)
        stem = path.name.removesuffix(f".{cls.file_extension}")
        return stem == name or stem.startswith((f"{name}[", f"{name}."))


@cache
def baseline_extension(
    snapshot_root: Path, browser: str = "chromium", strip_browser_id: bool = False
) -> type[BaselineExtension]:
    """The extension class storing ``browser``'s baselines under ``snapshot_root`` (one class
    per root and browser, so syrupy treats all of them alike within a session)."""
    return type(
        "DualReadBaselineExtension",
        (BaselineExtension,),
        {
            "snapshot_root": snapshot_root,
            "browser": browser,
            "strip_browser_id": strip_browser_id,
            "__module__": __name__,
        },
    )
