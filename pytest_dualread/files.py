"""Writing files whole: a reader (a CI step, a second worker, an editor) sees the old content or
the new, never half of it, and a crash or Ctrl-C leaves no stray temporary file.

Every file the package writes in one piece (report.json, the HTML report, a pyproject.toml
rewritten by ``dualread thresholds suggest --apply``) goes through :func:`write_atomic`.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` in one step (text is written as UTF-8, newlines as given).

    Creates the parent folder. The data goes to a temporary file beside ``path``, is flushed to
    disk and then renamed over ``path``. A file that is replaced keeps its permission bits; a
    new one gets what the umask allows (``0666 & ~umask``), as ``open()`` would give it.
    """
    path = Path(path)
    blob = data.encode("utf-8") if isinstance(data, str) else data
    path.parent.mkdir(parents=True, exist_ok=True)
    kept = _mode_of(path)
    fd, tmp = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(blob)
            handle.flush()
            os.fsync(handle.fileno())
        if kept is not None:
            os.chmod(tmp, kept)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _mode_of(path: Path) -> int | None:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return None


def _create_temp(path: Path) -> tuple[int, Path]:
    """A new, empty file beside ``path``, opened for writing.

    Not :func:`tempfile.mkstemp`: that creates mode 0600, and the renamed file would keep it.
    Mode 0666 here lets the kernel apply the umask, as for any new file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
