"""The one definition of a numeric tolerance: how far a number may move and still be equal.

The same :class:`Tolerance` is read from ``[tool.dualread.dto] tolerances`` and case files, held
by the diff rules, applied by the judge, written into each finding of the report and printed by
every renderer, so its meaning and its text cannot drift between them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Tolerance", "difference"]

_NEEDS_A_BOUND = "a tolerance needs 'abs', 'rel' or both, e.g. { abs = 80 }"


class Tolerance(BaseModel):
    """A pair passes when ``|a - b| <= abs`` or ``|a - b| <= rel * |reference|``.

    At least one bound is required; both are finite and non-negative. In TOML and JSON:
    ``{ abs = 80 }``, ``{ rel = 0.18 }`` or both.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    abs: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Largest allowed absolute difference."""
    rel: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Largest allowed difference relative to the reference value."""

    @model_validator(mode="before")
    @classmethod
    def _bounds(cls, raw: Any) -> Any:
        # Stricter than pydantic's coercion: a bool or a string is not a bound, and the
        # message is the same whether the tolerance comes from TOML, JSON or Python.
        if isinstance(raw, Mapping):
            for name in ("abs", "rel"):
                _bound(name, raw.get(name))
            if raw.get("abs") is None and raw.get("rel") is None:
                raise ValueError(_NEEDS_A_BOUND)
        return raw

    @classmethod
    def of(cls, value: Tolerance | Mapping[str, Any]) -> Tolerance:
        """A tolerance from itself or a plain mapping ``{"abs": 80}``; ``ValueError`` naming
        what is wrong otherwise (unknown keys, a bound that is not a finite number >= 0)."""
        if isinstance(value, Tolerance):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"a tolerance must be a mapping with abs and/or rel, got {value!r}")
        unknown = sorted(set(value) - {"abs", "rel"})
        if unknown:
            raise ValueError(f"unknown tolerance key(s) {unknown}; expected abs and/or rel")
        if value.get("abs") is None and value.get("rel") is None:
            raise ValueError(_NEEDS_A_BOUND)
        return cls.model_construct(
            abs=_bound("abs", value.get("abs")), rel=_bound("rel", value.get("rel"))
        )

    def allowed(self, reference: float) -> float:
        """The largest allowed ``|a - b|`` when the reference value is ``reference``."""
        bounds = [self.abs or 0.0]
        if self.rel is not None:
            bounds.append(self.rel * abs(reference))
        return max(bounds)

    def judge(self, reference: float, other: float) -> tuple[bool, float, float]:
        """Whether ``other`` is within this tolerance of ``reference``, with the difference and
        the largest allowed one. Compared in decimal on the digits the numbers were written with
        (see :func:`difference`), so a difference equal to the bound passes."""
        delta = difference(reference, other)
        bounds = [_decimal(self.abs or 0.0)]
        if self.rel is not None:
            bounds.append(_decimal(self.rel) * abs(_decimal(reference)))
        allowed = max(bounds)
        return delta <= allowed, float(delta), float(allowed)

    def to_json(self) -> dict[str, float]:
        """The bounds that are set, as in the configuration."""
        out: dict[str, float] = {}
        if self.abs is not None:
            out["abs"] = self.abs
        if self.rel is not None:
            out["rel"] = self.rel
        return out

    def __str__(self) -> str:
        return " or ".join(f"{k} {v:g}" for k, v in self.to_json().items())


def difference(reference: float, other: float) -> Decimal:
    """``|reference - other|`` in decimal, on the shortest digits that name each number (what
    JSON wrote): 75.93 and 75.92 differ by exactly 0.01, where binary floats say
    0.010000000000005116 and a bound of 0.01 would fail a one-cent difference."""
    return abs(_decimal(reference) - _decimal(other))


def _decimal(number: float) -> Decimal:
    # repr gives the shortest text that reads back as the same float: the JSON's own digits.
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


def _bound(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"tolerance {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"tolerance {name} must be finite and >= 0, got {value!r}")
    return float(value)
