"""Reading ``pyproject.toml``: the one TOML reader of the package.

Light on purpose (no pydantic): the plugin takes a cheap look at ``[tool.dualread]`` before the
settings models are needed, and the ``dualread`` command reads its policy from here too. Every
problem is a :class:`~pytest_dualread.errors.ConfigError` naming the file (and the key).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pytest_dualread.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["dualread_table", "read_pyproject"]


def read_pyproject(path: Path) -> dict[str, Any]:
    """The whole TOML document at ``path``; a :class:`ConfigError` naming the file if it cannot
    be read or is not valid TOML."""
    try:
        with Path(path).open("rb") as handle:
            document: dict[str, Any] = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"is not valid TOML: {exc}", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot be read: {exc}", source=str(path)) from None
    return document


def dualread_table(path: Path, *keys: str) -> dict[str, Any]:
    """``[tool.dualread]`` of the pyproject.toml at ``path``, or the table below it that ``keys``
    name (``dualread_table(path, "dto", "tolerances")``); ``{}`` where a table is absent.

    A :class:`ConfigError` naming the file and the dotted key when something on the way is not
    a table (``[tool] dualread = 3``).
    """
    node: Any = read_pyproject(path)
    walked = []
    for key in ("tool", "dualread", *keys):
        walked.append(key)
        node = node.get(key, {})
        if not isinstance(node, dict):
            raise ConfigError("expected a table", key=".".join(walked), source=str(path))
    table: dict[str, Any] = node
    return table
