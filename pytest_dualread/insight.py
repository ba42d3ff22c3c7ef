"""What a run says as a whole: per-field statistics and clusters of failing checks.

Pure functions of the checks: the report assembly and ``dualread merge`` call the same ones, so a
merged report says exactly what one run over all the checks would have said.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from pytest_dualread.report import Check, DtoData, FieldStats
from pytest_dualread.tolerance import Tolerance

__all__ = ["field_stats"]


@dataclass
class _FieldTotals:
    checks_differing: int = 0
    checks_moved: int = 0
    max_delta: float | None = None
    max_share: float | None = None
    tolerance: Tolerance | None = None
    deltas: list[float] = field(default_factory=list)


def field_stats(checks: Iterable[Check]) -> list[FieldStats]:
    """Per comparison and field, across the DTO checks: checks differing beyond tolerance, the
    largest delta, the worst share of the tolerance and every check's largest delta. Sorted
    by checks differing, then worst share, then largest delta (most telling first)."""
    totals: dict[tuple[str, str], _FieldTotals] = {}
    for check in checks:
        if not isinstance(check.data, DtoData):
            continue
        for moved in check.data.field_deltas:
            total = totals.setdefault((moved.comparison, moved.pattern), _FieldTotals())
            total.checks_differing += moved.differs
            total.checks_moved += 1
            if moved.delta is not None:
                total.deltas.append(moved.delta)
                if total.max_delta is None or moved.delta > total.max_delta:
                    total.max_delta = moved.delta
            if moved.share is not None and (
                total.max_share is None or moved.share > total.max_share
            ):
                total.max_share, total.tolerance = moved.share, moved.tolerance
            elif total.tolerance is None:
                total.tolerance = moved.tolerance
    stats = [
        FieldStats(
            pattern=pattern,
            comparison=comparison,
            checks_differing=t.checks_differing,
            checks_moved=t.checks_moved,
            max_delta=t.max_delta,
            max_share=t.max_share,
            tolerance=t.tolerance,
            deltas=sorted(t.deltas, reverse=True),
        )
        for (comparison, pattern), t in totals.items()
    ]
    stats.sort(key=_telling_first)
    return stats


def _telling_first(stats: FieldStats) -> tuple[int, float, float, str, str]:
    return (
        -stats.checks_differing,
        -(stats.max_share if stats.max_share is not None else -1.0),
        -(stats.max_delta if stats.max_delta is not None else -1.0),
        stats.comparison,
        stats.pattern,
    )
