"""Where the meal-log database lives, and its lazy, race-safe creation.

Location rule (read on every call, so tests can switch it with ``monkeypatch.setenv``):

1. ``MEAL_LOG_DB`` set: that file. If it does not exist, it is created and seeded with the
   defaults (50 users x 14 days); if it exists it is used as it is (for example a database
   written by ``python -m examples.meal_log seed --db PATH``).
2. Otherwise ``<repo>/.cache/meal_log/meal_log-<fingerprint>.sqlite3`` when the package runs
   from a writable checkout (``.cache/`` is git-ignored), else the same name under
   ``<tmp>/pytest-dualread-meal-log/``. The fingerprint hashes the schema and seed modules, so
   a changed generator never reuses a stale database.

Creation builds into a temporary file and renames it into place (``os.replace``), so two
processes (for example two pytest-xdist workers) that start at once both end up reading a
complete, identical database.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import tempfile
import threading
from functools import cache
from pathlib import Path
from typing import Final

from . import seed, store
from .store import StoreError

__all__ = ["ENV_DB", "connect", "database_path", "default_database_path", "ensure_database"]

ENV_DB: Final = "MEAL_LOG_DB"

_lock = threading.Lock()
_ready: set[Path] = set()


@cache
def _fingerprint() -> str:
    digest = hashlib.sha256()
    for module in (store, seed):
        assert module.__file__ is not None
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:12]


def default_database_path() -> Path:
    """The database file used when ``MEAL_LOG_DB`` is not set."""
    name = f"meal_log-{_fingerprint()}.sqlite3"
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file() and os.access(repo, os.W_OK):
        return repo / ".cache" / "meal_log" / name
    return Path(tempfile.gettempdir()) / "pytest-dualread-meal-log" / name


def database_path() -> Path:
    """The database file to use now: ``MEAL_LOG_DB`` or the default."""
    raw = os.environ.get(ENV_DB, "").strip()
    return Path(raw).expanduser() if raw else default_database_path()


def _check(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            missing = store.missing_tables(conn, (*store.LEGACY_TABLES, *store.V2_TABLES))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreError(
            f"{ENV_DB}: cannot read {path} as a meal-log SQLite database ({exc}); "
            "point it at a file written by `python -m examples.meal_log seed` "
            "or at a path that does not exist yet"
        ) from exc
    if missing:
        raise StoreError(
            f"{ENV_DB}: {path} is not a meal-log database (missing tables: "
            f"{', '.join(missing)}); point it at a file written by "
            "`python -m examples.meal_log seed` or at a path that does not exist yet"
        )


def ensure_database(path: Path | None = None) -> Path:
    """Return a ready database file, creating and seeding it on first use."""
    target = database_path() if path is None else path
    key = target.resolve()
    if key in _ready and target.exists():
        return target
    if target.is_dir():
        raise StoreError(f"{ENV_DB}: {target} is a directory; expected a file path")
    with _lock:
        if not target.exists():
            try:
                seed.build_database(target)
            except OSError as exc:
                raise StoreError(
                    f"{ENV_DB}: cannot create the meal-log database at {target} ({exc}); "
                    "set it to a writable file path"
                ) from exc
        _check(target)
        _ready.add(key)
    return target


def connect(path: Path | None = None) -> sqlite3.Connection:
    """A read-only connection to the (lazily created) database, rows as ``sqlite3.Row``."""
    target = ensure_database(path)
    conn = sqlite3.connect(f"{target.resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn
