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

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

__all__ = ["Tolerance", "difference"]

_NEEDS_A_BOUND = "a tolerance needs 'abs', 'rel' or both, e.g. { abs = 80 }"
_KEYS = ("abs", "rel", "warn_abs", "warn_rel")
_WARN_OF = {"warn_abs": "abs", "warn_rel": "rel"}
_FAIL_KEYS = frozenset(("abs", "rel"))
_PLAIN_NUMBERS = (int, float)
"""Exactly these types (``type(x) in``): to ``isinstance`` a bool is an int."""


class Tolerance(BaseModel):
    """A pair passes when ``|a - b| <= abs`` or ``|a - b| <= rel * |reference|``.

    At least one bound is required; both are finite and non-negative. In TOML and JSON:
    ``{ abs = 80 }``, ``{ rel = 0.18 }`` or both.

    A warn level sits below the fail level: ``{ abs = 80, warn_abs = 55 }``. A pair beyond the
    warn bounds (``warn_abs`` / ``warn_rel``, combined the same way) but within the fail bounds
    passes with a warning. Each warn bound needs its fail bound and is strictly below it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    abs: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Largest allowed absolute difference."""
    rel: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Largest allowed difference relative to the reference value."""
    warn_abs: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Largest absolute difference that passes without a warning (below ``abs``)."""
    warn_rel: float | None = Field(None, ge=0, allow_inf_nan=False)
    """Largest relative difference that passes without a warning (below ``rel``)."""

    @model_validator(mode="before")
    @classmethod
    def _bounds(cls, raw: Any) -> Any:
        # Stricter than pydantic's coercion: a bool or a string is not a bound, and the
        # message is the same whether the tolerance comes from TOML, JSON or Python.
        if isinstance(raw, Mapping) and not _plain_fail_bounds(raw):
            for name in _KEYS:
                _bound(name, raw.get(name))
            if raw.get("abs") is None and raw.get("rel") is None:
                raise ValueError(_NEEDS_A_BOUND)
            _check_warn_levels(raw)
        return raw

    @model_serializer(mode="wrap")
    def _unset_warn_levels_left_out(self, handler: SerializerFunctionWrapHandler) -> Any:
        # A tolerance without a warn level is written as before warn levels existed.
        data = handler(self)
        if isinstance(data, dict):
            for name in _WARN_OF:
                if data.get(name) is None:
                    data.pop(name, None)
        return data

    @classmethod
    def of(cls, value: Tolerance | Mapping[str, Any]) -> Tolerance:
        """A tolerance from itself or a plain mapping ``{"abs": 80}``; ``ValueError`` naming
        what is wrong otherwise (unknown keys, a bound that is not a finite number >= 0)."""
        if isinstance(value, Tolerance):
            return value
        if not isinstance(value, Mapping):
            raise ValueError(f"a tolerance must be a mapping with abs and/or rel, got {value!r}")
        unknown = sorted(set(value) - set(_KEYS))
        if unknown:
            raise ValueError(
                f"unknown tolerance key(s) {unknown}; expected abs and/or rel "
                "(and warn_abs / warn_rel for a warn level)"
            )
        if value.get("abs") is None and value.get("rel") is None:
            raise ValueError(_NEEDS_A_BOUND)
        bounds = {name: _bound(name, value.get(name)) for name in _KEYS}
        _check_warn_levels(bounds)
        return cls.model_construct(None, **bounds)

    @property
    def has_warn_level(self) -> bool:
        """Whether a warn level is set below the fail level."""
        return self.warn_abs is not None or self.warn_rel is not None

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

    def warn_allowed(self, reference: float) -> float | None:
        """The largest ``|a - b|`` that passes without a warning, or None without a warn level.
        Compared like :meth:`judge`: a difference equal to the warn bound does not warn."""
        if not self.has_warn_level:
            return None
        bounds = [_decimal(self.warn_abs or 0.0)]
        if self.warn_rel is not None:
            bounds.append(_decimal(self.warn_rel) * abs(_decimal(reference)))
        return float(max(bounds))

    def warns(self, reference: float, other: float) -> bool:
        """Whether a pair within this tolerance is beyond its warn level."""
        limit = self.warn_allowed(reference)
        return limit is not None and difference(reference, other) > Decimal(repr(limit))

    def to_json(self) -> dict[str, float]:
        """The bounds that are set, as in the configuration."""
        out: dict[str, float] = {}
        for name in _KEYS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out

    def __str__(self) -> str:
        bounds = self.to_json()
        fail = " or ".join(f"{k} {bounds[k]:g}" for k in ("abs", "rel") if k in bounds)
        warn = " or ".join(f"{k[5:]} {bounds[k]:g}" for k in _WARN_OF if k in bounds)
        return f"{fail} (warn above {warn})" if warn else fail


def difference(reference: float, other: float) -> Decimal:
    """``|reference - other|`` in decimal, on the shortest digits that name each number (what
    JSON wrote): 75.93 and 75.92 differ by exactly 0.01, where binary floats say
    0.010000000000005116 and a bound of 0.01 would fail a one-cent difference."""
    return abs(_decimal(reference) - _decimal(other))


def _decimal(number: float) -> Decimal:
    # repr gives the shortest text that reads back as the same float: the JSON's own digits.
    return Decimal(number) if isinstance(number, int) else Decimal(repr(number))


def _plain_fail_bounds(raw: Mapping[str, Any]) -> bool:
    """Whether ``raw`` is a tolerance as reports hold thousands of: ``abs`` and / or ``rel``
    only, each null or a finite number >= 0 (an int or a float, never a bool), one at least.
    Nothing the checks with messages refuse passes this, so only the rest pays for them."""
    fail, rel = raw.get("abs"), raw.get("rel")
    return (
        raw.keys() <= _FAIL_KEYS
        and (fail is not None or rel is not None)
        and (fail is None or (type(fail) in _PLAIN_NUMBERS and 0 <= fail < math.inf))
        and (rel is None or (type(rel) in _PLAIN_NUMBERS and 0 <= rel < math.inf))
    )


def _check_warn_levels(bounds: Mapping[str, Any]) -> None:
    # A warn level above its fail level could never be reached: refuse it where it is written.
    for warn, fail in _WARN_OF.items():
        level = bounds.get(warn)
        if level is None:
            continue
        limit = bounds.get(fail)
        if limit is None:
            raise ValueError(f"tolerance {warn} needs {fail}: the warn level sits below it")
        if not level < limit:
            raise ValueError(
                f"tolerance {warn} {level:g} must be below {fail} {limit:g} (warn < fail)"
            )


def _bound(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"tolerance {name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"tolerance {name} must be finite and >= 0, got {value!r}")
    return float(value)
