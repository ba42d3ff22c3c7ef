"""pytest-dualread: prove a read-path migration field by field and pixel by pixel.

The pytest plugin lives in :mod:`pytest_dualread.plugin`; the ``dualread`` command in
:mod:`pytest_dualread.cli`. Importing this package is cheap: the public names below come from
light modules, and heavy ones (Playwright, NumPy) are imported only where used.
"""

from __future__ import annotations

import importlib.metadata

from pytest_dualread.errors import (
    CaptureError,
    CaseError,
    ConfigError,
    DualReadError,
    FetchError,
    ReportError,
    SnapshotError,
)

__all__ = [
    "CaptureError",
    "CaseError",
    "ConfigError",
    "DualReadError",
    "FetchError",
    "ReportError",
    "SnapshotError",
    "__version__",
]

try:
    __version__ = importlib.metadata.version("pytest-dualread")
except importlib.metadata.PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0+unknown"
