"""Wrapper of the dualread pixel engine in the shape the shared image-diff bench expects.

    PYTHONPATH=benchmarks bash ../shared/bench/imagediff/run.sh \
        shared_imagediff_engine:count .venv/bin/python
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pytest_dualread.imagediff import compare

__all__ = ["count"]


def count(
    a: npt.NDArray[np.uint8],
    b: npt.NDArray[np.uint8],
    *,
    threshold: float = 0.1,
    include_aa: bool = False,
) -> int:
    """Mismatching pixels between two HxWx4 uint8 RGBA arrays, pixelmatch 7.2.0 semantics."""
    return compare(a, b, threshold=threshold, include_aa=include_aa).mismatch_pixels
