"""pytest-dualread: prove a read-path migration field by field and pixel by pixel.

The pytest plugin lives in :mod:`pytest_dualread.plugin`; the ``dualread`` command in
:mod:`pytest_dualread.cli`. Importing this package is cheap: the exceptions come from a light
module, and the types tests annotate with (``DualRead``, ``ResponsePair``, ``DtoResult``,
``VisualSnapshot``) are imported on first use, since their modules pull in pydantic and deepdiff.
"""

from __future__ import annotations

import importlib as _importlib
import importlib.metadata as _metadata
import typing as _typing

from pytest_dualread.errors import (
    CaptureError,
    CaseError,
    ConfigError,
    DualReadError,
    FetchError,
    ReportError,
    SnapshotError,
)

if _typing.TYPE_CHECKING:
    from pytest_dualread.api import DualRead, VisualSnapshot
    from pytest_dualread.dto import DtoResult
    from pytest_dualread.fetch import ResponsePair

__all__ = [
    "CaptureError",
    "CaseError",
    "ConfigError",
    "DtoResult",
    "DualRead",
    "DualReadError",
    "FetchError",
    "ReportError",
    "ResponsePair",
    "SnapshotError",
    "VisualSnapshot",
    "__version__",
]

_LAZY = {
    "DualRead": "pytest_dualread.api",
    "VisualSnapshot": "pytest_dualread.api",
    "DtoResult": "pytest_dualread.dto",
    "ResponsePair": "pytest_dualread.fetch",
}


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_dualread' has no attribute {name!r}")
    return getattr(_importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(set(__all__) | {n for n in globals() if not n.startswith("_")})


try:
    __version__ = _metadata.version("pytest-dualread")
except _metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"
