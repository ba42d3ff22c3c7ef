"""Choosing dual-read items: a marker per kind, and shards like Playwright Test's ``--shard``.

Part of the pytest glue. Every dual-read item (a Python test, a case, a page declared in
pyproject.toml) carries ``dual_read_dto`` or ``dual_read_visual``, so ``-m`` selects by kind.

``--dual-read-shard=K/N`` keeps the K-th of N shards of the dual-read items and deselects the
others (other tests run in every shard). The items are dealt longest first onto the least
loaded shard: without durations every item weighs the same, so the shards differ by one item
at most (dealt in the order of their ids); with ``--dual-read-durations=REPORT`` (a report of
an earlier run) each weighs its measured time, and an item the report does not know weighs the
median of those it knows. Deterministic, so every process (and every pytest-xdist worker)
chooses the same items.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

__all__ = ["KIND_MARKERS", "mark_kind", "parse_shard", "register_markers", "shard_items"]

KIND_MARKERS = {"dto": "dual_read_dto", "visual": "dual_read_visual"}
"""The marker each kind of dual-read item carries, for ``-m``."""


def register_markers(config: pytest.Config) -> None:
    for kind, marker in KIND_MARKERS.items():
        config.addinivalue_line(
            "markers", f"{marker}: a {kind} dual-read check (set by pytest-dualread; use with -m)"
        )


def mark_kind(item: pytest.Item, kind: str) -> None:
    marker = KIND_MARKERS[kind]
    if item.get_closest_marker(marker) is None:
        item.add_marker(marker)


def parse_shard(value: str) -> str:
    """``K/N`` with ``1 <= K <= N``: the flag's type (kept as text, as the report shows it)."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", value)
    if match is None or not 1 <= int(match[1]) <= int(match[2]):
        raise argparse.ArgumentTypeError(
            f"expected K/N with 1 <= K <= N (the K-th of N shards, like 2/4), got {value!r}"
        )
    return f"{int(match[1])}/{int(match[2])}"


def _split(shard: str) -> tuple[int, int]:
    k, n = shard.split("/")
    return int(k), int(n)


def report_stem(shard: str) -> str:
    """``report-K-of-N``: a shard's report and HTML names, so shards share an output folder."""
    k, n = _split(shard)
    return f"report-{k}-of-{n}"


def shard_items(config: pytest.Config, items: Sequence[pytest.Item]) -> list[pytest.Item]:
    """The items of this run's shard (all of them without ``--dual-read-shard``)."""
    shard = config.getoption("dual_read_shard", default=None)
    if shard is None:
        return list(items)
    k, n = _split(shard)
    given = config.getoption("dual_read_durations", default=None)
    durations = _durations(Path(given)) if given is not None else {}
    chosen = _balanced([item.nodeid for item in items], durations, n)
    return [item for item in items if chosen[item.nodeid] == k - 1]


def _durations(path: Path) -> dict[str, float]:
    """Seconds per item id, summed over the item's checks, from a report."""
    from pytest_dualread.errors import ReportError
    from pytest_dualread.report import load_report

    try:
        report = load_report(path)
    except ReportError as exc:
        raise pytest.UsageError(f"pytest-dualread: --dual-read-durations: {exc}") from None
    seconds: dict[str, float] = {}
    for check in report.checks:
        seconds[check.nodeid] = seconds.get(check.nodeid, 0.0) + check.duration_s
    return seconds


def _balanced(ids: Sequence[str], durations: dict[str, float], shards: int) -> dict[str, int]:
    """Longest first onto the least loaded shard (ties: the lower shard); unknown items weigh
    the median known duration."""
    known = sorted(durations[i] for i in ids if i in durations)
    typical = known[len(known) // 2] if known else 1.0
    weight = {i: durations.get(i, typical) for i in ids}
    loads = [0.0] * shards
    chosen: dict[str, int] = {}
    for item_id in sorted(ids, key=lambda i: (-weight[i], i)):
        lightest = min(range(shards), key=lambda s: (loads[s], s))
        chosen[item_id] = lightest
        loads[lightest] += weight[item_id]
    return chosen
