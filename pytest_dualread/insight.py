"""What a run says as a whole: per-field statistics and clusters of failing checks.

Pure functions of the checks: the report assembly and ``dualread merge`` call the same ones, so a
merged report says exactly what one run over all the checks would have said.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from pytest_dualread.paths import field_pattern, parse_path
from pytest_dualread.report import Check, DtoData, FieldStats, Finding, VisualData
from pytest_dualread.tolerance import Tolerance

__all__ = [
    "Cause",
    "Cluster",
    "causes",
    "clusters",
    "field_stats",
    "pattern_of",
    "region",
    "signature",
]


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


# -- clusters -------------------------------------------------------------------------------------

REGION_GRID = 100
"""Changed regions of pages are compared on a grid of this many pixels: the same cause moves a
box by a few pixels between pages, not by a cell."""

Trait = tuple[str, str, str]
"""One part of a signature: ``(comparison, field pattern or page region, category)``."""


@dataclass(frozen=True)
class Cluster:
    """Failing checks that differ in the same way: the same fields (as patterns) with the same
    kind of finding, or for pages the same changed region."""

    signature: tuple[Trait, ...]
    checks: tuple[Check, ...]
    """Members sorted by id."""
    representative: Check
    """The member that shows the cause best: the largest share of a tolerance, then the most
    findings."""

    @property
    def size(self) -> int:
        return len(self.checks)


def clusters(checks: Iterable[Check]) -> list[Cluster]:
    """The failing (and erroring) checks grouped by signature, largest group first."""
    groups: dict[tuple[Trait, ...], list[Check]] = {}
    for check in checks:
        if check.outcome in ("failed", "error"):
            groups.setdefault(signature(check), []).append(check)
    found = []
    for sig, members in groups.items():
        ordered = tuple(sorted(members, key=_by_id))
        # max() keeps the first of equals: the smallest id among the most telling
        found.append(Cluster(sig, ordered, max(ordered, key=_telling_check)))
    found.sort(key=lambda c: (-c.size, c.signature))
    return found


def signature(check: Check) -> tuple[Trait, ...]:
    """What a failing check's difference looks like, without the values: its findings'
    comparisons, field patterns (or page regions) and categories."""
    if check.outcome == "error" or not check.findings:
        reason = check.data.error_reason if isinstance(check.data, VisualData) else None
        return ((check.kind, reason or "", "error"),)
    traits = {
        (f.comparison, _where(check, f), f.category)
        for f in check.findings
        if not (check.kind == "visual" and f.detail.get("passed") is True)
    }
    return tuple(sorted(traits))


def _where(check: Check, finding: Finding) -> str:
    if check.kind == "visual":
        return region(finding.detail.get("boxes") or [])
    return pattern_of(finding.path)


_ELEMENT = re.compile(r"\[[^\]]*\]")


@lru_cache(maxsize=65536)
def pattern_of(path: str) -> str:
    """The field pattern of a finding's path (``meals[lunch].kcal`` → ``meals[*].kcal``); a
    path that is not canonical (a contract finding's) stays as it is."""
    if '"' not in path:
        # without a quoted key, every bracket is a list element: no need to parse
        return _ELEMENT.sub("[*]", path)
    try:
        return field_pattern(parse_path(path))
    except ValueError:
        return path


def region(boxes: Iterable[Any]) -> str:
    """The changed region of a page: the cells of :data:`REGION_GRID` covering every box."""
    cells = [_cells(box) for box in boxes if isinstance(box, (list, tuple)) and len(box) == 4]
    if not cells:
        return "whole page"
    x0 = min(c[0] for c in cells) * REGION_GRID
    y0 = min(c[1] for c in cells) * REGION_GRID
    x1 = max(c[2] for c in cells) * REGION_GRID
    y1 = max(c[3] for c in cells) * REGION_GRID
    return f"x {x0}-{x1}, y {y0}-{y1}"


def _cells(box: Sequence[Any]) -> tuple[int, int, int, int]:
    x, y, w, h = (int(v) for v in box)
    grid = REGION_GRID
    return x // grid, y // grid, -(-(x + max(w, 1)) // grid), -(-(y + max(h, 1)) // grid)


def _by_id(check: Check) -> str:
    return check.id


def _telling_check(check: Check) -> tuple[float, int]:
    shares = [f.headroom or f.delta or 0.0 for f in check.findings]
    return (max(shares, default=0.0), len(check.findings))


@dataclass(frozen=True)
class Cause:
    """Clusters that share one root: the same field name differing the same way (whatever
    list or object holds it), or pages differing in pixels. One seeded bug shows as one cause
    even when it reaches checks of several shapes."""

    root: str
    """What every member has: ``fat_g value``, ``pages pixels``."""
    clusters: tuple[Cluster, ...]
    """Largest first."""

    @property
    def size(self) -> int:
        return sum(c.size for c in self.clusters)

    @property
    def lead(self) -> Cluster:
        return self.clusters[0]


def causes(found: Sequence[Cluster]) -> list[Cause]:
    """The clusters grouped by root, greedily: the root shared by most failing checks first,
    then the most of what is left, until every cluster has its cause."""
    left = list(found)
    out: list[Cause] = []
    while left:
        weight: dict[str, int] = {}
        for cluster in left:
            for root in _roots(cluster.signature):
                weight[root] = weight.get(root, 0) + cluster.size
        best = min(weight, key=lambda root: (-weight[root], root))
        members = tuple(c for c in left if best in _roots(c.signature))
        out.append(Cause(best, members))
        left = [c for c in left if c not in members]
    return out


def _roots(sig: tuple[Trait, ...]) -> set[str]:
    return {_root(trait) for trait in sig}


def _root(trait: Trait) -> str:
    comparison, where, category = trait
    if category == "error":  # (kind, why, "error"): "dto errors", "visual navigation errors"
        return " ".join(part for part in (comparison, where, "errors") if part)
    if category in ("pixels", "size"):
        return f"pages {category}"
    return f"{_leaf(where)} {category}"


def _leaf(pattern: str) -> str:
    """The last key of a field pattern: ``meals[*].items[*].fat_g`` → ``fat_g``."""
    tail = pattern.rsplit(".", 1)[-1]
    return tail.split("[", 1)[0] or tail


# -- one check ------------------------------------------------------------------------------------

_TIMES = "\u00d7"


def times(share: float | None) -> str:
    """A share of a tolerance as a multiple (a times sign and the number): 5 is five times
    what the tolerance allows."""
    return "" if share is None else f"{_TIMES}{share:.3g}"


def worst_finding(check: Check) -> tuple[str, float]:
    """What a failing check's worst finding is, in a few words (its field pattern and multiple
    of the tolerance, or the page comparison and its share of pixels), and that share."""
    if check.kind == "visual":
        ratios = [f for f in check.findings if f.delta is not None]
        if not ratios:
            return "", 0.0
        f = max(ratios, key=lambda x: x.delta or 0.0)
        return f"{f.comparison} {(f.delta or 0.0):.3%} of pixels", f.delta or 0.0
    tolerated = [f for f in check.findings if f.headroom is not None]
    if tolerated:
        f = max(tolerated, key=lambda x: x.headroom or 0.0)
        return f"{pattern_of(f.path)} {times(f.headroom)}", f.headroom or 0.0
    plain = [f for f in check.findings if f.category not in ("contract", "list_key")]
    first = next(iter(plain or check.findings), None)
    return (f"{pattern_of(first.path) or '<root>'} {first.category}" if first else ""), 0.0
