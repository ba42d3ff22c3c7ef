"""The decision ledger: one JSON line per go / no-go, appended, never rewritten.

Each record holds the time, the decision (verdict, reasons, policy), the sha256 of every file it
judged (report, baseline, history), the run's selection and sampling, and who ran it, from the CI
environment (``GITHUB_ACTOR``, ``GITLAB_USER_LOGIN``, ``CI_COMMIT_AUTHOR``, else ``USER``): a
name, never a token. :func:`verify` recomputes the hashes of the files still present.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_dualread.errors import DualReadError
from pytest_dualread.strictjson import JsonProblem, object_lines

__all__ = ["ACTOR_VARIABLES", "Evidence", "LedgerError", "actor", "append", "sha256_of", "verify"]

ACTOR_VARIABLES = ("GITHUB_ACTOR", "GITLAB_USER_LOGIN", "CI_COMMIT_AUTHOR", "USER")
"""Where the name of who ran a decision comes from, first set wins."""

_CHUNK = 1 << 20


class LedgerError(DualReadError):
    """The ledger cannot be read or written (exit 2)."""


def sha256_of(path: Path) -> str:
    """``sha256:<hex>`` of the file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return "sha256:" + digest.hexdigest()


def actor(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Who ran the decision: the first of :data:`ACTOR_VARIABLES` that is set."""
    env = os.environ if environ is None else environ
    for name in ACTOR_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            return {"name": value[:200], "from": name}
    return {"name": "unknown", "from": "none"}


def append(ledger: Path, record: Mapping[str, Any], evidence: Mapping[str, Path]) -> dict[str, Any]:
    """Append one decision to ``ledger`` (created when missing) with the hashes of
    ``evidence`` (role -> file) and who ran it; returns the record written."""
    line: dict[str, Any] = {
        "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        **record,
        "evidence": [
            {"role": role, "path": str(path), "sha256": sha256_of(path)}
            for role, path in evidence.items()
        ],
        "actor": actor(),
    }
    text = json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n"
    try:
        ledger.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: each record lands after the others, even from two gates at once.
        fd = os.open(ledger, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(fd, text.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise LedgerError(f"--ledger {ledger}: cannot append: {exc}") from None
    return line


@dataclass(frozen=True)
class Evidence:
    """One file of one recorded decision, checked again."""

    record: int
    """Line number of the decision in the ledger (1-based)."""
    path: str
    """The file as recorded."""
    state: str
    """``same``, ``changed`` or ``missing``."""


def _records(ledger: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        text = ledger.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LedgerError(f"ledger {ledger}: cannot read: {exc}") from None
    try:
        out = list(object_lines(text))
    except JsonProblem as exc:
        raise LedgerError(f"ledger {ledger}: line {exc.line} is {exc.reason}") from None
    for number, record in out:
        if not isinstance(record.get("evidence"), list):
            raise LedgerError(f"ledger {ledger}: line {number} is not a decision record")
    if not out:
        raise LedgerError(f"ledger {ledger}: holds no decision")
    return out


def verify(ledger: Path, base: Path | None = None) -> list[Evidence]:
    """Each recorded file's state now; relative paths are read from ``base`` (default: here)."""
    out = []
    for number, record in _records(ledger):
        for entry in record["evidence"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
                raise LedgerError(f"ledger {ledger}: line {number}: an evidence entry has no path")
            path = Path(entry["path"])
            where = path if base is None or path.is_absolute() else base / path
            if not where.is_file():
                state = "missing"
            else:
                state = "same" if sha256_of(where) == entry.get("sha256") else "changed"
            out.append(Evidence(number, entry["path"], state))
    return out


def history_evidence(files: Sequence[Path]) -> dict[str, Path]:
    """Roles for the files of a history: ``history[0]``, ``history[1]``, ..."""
    return {f"history[{i}]": path for i, path in enumerate(files)}
