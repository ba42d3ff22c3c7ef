"""Per-check artifact folders: ``<output>/artifacts/<slug of the check id>/``.

A slug is readable (the check id with unsafe characters folded to ``-``), bounded in length, and
unique (a short hash of the full id is appended whenever folding or trimming changed it), so two
checks never share a folder and workers never write the same file. Whether a check keeps its
artifacts is the retention policy: ``all``, ``failed`` (the default) or ``none``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

__all__ = ["ArtifactDir", "keep_artifacts", "slugify"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX = 80


def slugify(check_id: str) -> str:
    """A folder name for ``check_id``: ``fixtures/dual_read/cases.json::log-42`` →
    ``fixtures-dual_read-cases.json-log-42``."""
    folded = _UNSAFE.sub("-", check_id).strip("-.") or "check"
    if folded == check_id and len(folded) <= _MAX:
        return folded
    digest = hashlib.sha256(check_id.encode("utf-8")).hexdigest()[:8]
    return f"{folded[: _MAX - 9]}-{digest}"


def keep_artifacts(retention: Literal["all", "failed", "none"], outcome: str) -> bool:
    if retention == "all":
        return True
    if retention == "failed":
        return outcome in ("failed", "error")
    return False


@dataclass
class ArtifactDir:
    """The artifact folder of one check; files are written on demand, paths recorded by role."""

    output_dir: Path
    check_id: str
    written: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.output_dir / "artifacts" / slugify(self.check_id)

    def _target(self, name: str) -> Path:
        root = self.output_dir / "artifacts"
        if not root.is_dir():  # made here: marked as the plugin's, so a later run may clear it
            from pytest_dualread.outputs import mark_artifacts

            mark_artifacts(root)
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_text(self, role: str, name: str, text: str) -> Path:
        target = self._target(name)
        target.write_text(text, encoding="utf-8")
        self.written[role] = target.relative_to(self.output_dir).as_posix()
        return target

    def write_json(self, role: str, name: str, data: Any) -> Path:
        text = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=True) + "\n"
        return self.write_text(role, name, text)

    def write_bytes(self, role: str, name: str, data: bytes) -> Path:
        target = self._target(name)
        target.write_bytes(data)
        self.written[role] = target.relative_to(self.output_dir).as_posix()
        return target

    def discard(self) -> None:
        """Remove the folder (a passing check under retention ``failed``)."""
        if os.path.lexists(self.path):  # usually not there: a cheap look first
            shutil.rmtree(self.path, ignore_errors=True)
        self.written.clear()
