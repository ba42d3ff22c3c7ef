"""What is stored or configured but was not used by a run: stale rules, goldens and baselines.

Pure accounting on :class:`~pytest_dualread.normalize.RuleUsage`: each DTO check records how
many nodes each of its rules decided; a rule no check used is stale where it is declared
(``[tool.dualread.dto]``, a case file, or one case). A golden whose case no longer exists in its
case file is stale too. Only a complete run is accounted (a partial one did not try every rule).

A baseline is stale when it lies in a folder of baselines the run's page checks used (one per
test module or ``pyproject``, and browser) and none of them used it: a page renamed or removed.
Only an unfiltered run accounts baselines (:func:`narrowed`), and a folder holding the baseline
of a page check that never reached it (an error before the capture, a skip) is left out.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pytest_dualread.normalize import RuleUsage
from pytest_dualread.report import Check, DtoData, StaleEntry, VisualData

__all__ = ["narrowed", "stale_baselines", "stale_goldens", "stale_rules"]


def _patterns(rules: Mapping[str, Iterable[str]] | None) -> Iterable[tuple[str, str]]:
    for kind, patterns in (rules or {}).items():
        for pattern in patterns:
            yield kind, pattern


def stale_rules(
    checks: Sequence[Check], configured: Mapping[str, Sequence[str]]
) -> list[StaleEntry]:
    """Rules that decided nothing in any DTO check: the global ones (``configured``, by kind),
    each case file's and each case's own."""
    used = [
        (c.data, RuleUsage.from_json(c.data.rule_usage))
        for c in checks
        if isinstance(c.data, DtoData) and "rule_usage" in c.data.model_fields_set
    ]
    if not used:
        return []
    stale: list[StaleEntry] = []
    per_file: dict[tuple[str, str, str], int] = {}
    for data, usage in used:
        for kind, pattern in _patterns(data.file_rules):
            key = (str(data.case_file), kind, pattern)
            per_file[key] = per_file.get(key, 0) + usage.counts.get(kind, {}).get(pattern, 0)
        stale.extend(
            StaleEntry(
                kind="rule", name=f"{kind}: {pattern}", source=f"{data.case_file} case {data.case}"
            )
            for kind, pattern in _patterns(data.case_rules)
            if not usage.counts.get(kind, {}).get(pattern)
        )
    stale.extend(
        StaleEntry(kind="rule", name=f"{kind}: {pattern}", source=case_file)
        for (case_file, kind, pattern), count in sorted(per_file.items())
        if not count
    )
    totals = RuleUsage.combine(usage for _, usage in used).counts
    stale.extend(
        StaleEntry(kind="rule", name=f"{kind}: {pattern}", source="[tool.dualread.dto]")
        for kind, pattern in _patterns(configured)
        if not totals.get(kind, {}).get(pattern)
    )
    return stale


def stale_goldens(rootdir: Path, cases_dir: Path, snapshot_dir: Path) -> list[StaleEntry]:
    """Goldens under ``<snapshot_dir>/dto/<case file stem>/`` whose case is gone."""
    from pytest_dualread.cases import find_case_files, load_case_file
    from pytest_dualread.errors import CaseError

    if not cases_dir.is_dir():
        return []
    stale: list[StaleEntry] = []
    for path in find_case_files(cases_dir):
        try:
            ids = {case.id for case in load_case_file(path).cases}
        except CaseError:
            continue  # its own check reports the broken file
        for golden in sorted((snapshot_dir / "dto" / path.stem).glob("*.json")):
            if golden.stem not in ids:
                where = os.path.relpath(path, rootdir)
                stale.append(
                    StaleEntry(
                        kind="golden",
                        name=os.path.relpath(golden, rootdir),
                        source=f"no case {golden.stem!r} in {where}",
                    )
                )
    return stale


def narrowed(argv: Sequence[str], selection: Mapping[str, object] | None, sampled: bool) -> bool:
    """Whether a run left page checks out on purpose: a sample, a selection (``-k``, ``-m``,
    ``--deselect``, ``--lf``) or a node id on the command line (``test_x.py::test_y``)."""
    chosen = selection or {}
    deselected = chosen.get("deselected", 0)
    filters = chosen.get("filters", [])
    return (
        sampled
        or (isinstance(deselected, int) and deselected > 0)
        or (isinstance(filters, list) and "--lf" in filters)
        or any("::" in arg for arg in argv)
    )


def stale_baselines(checks: Sequence[Check], rootdir: Path) -> list[StaleEntry]:
    """Baselines (``*.png``) in the folders the run's page checks used that none of them used.
    Call it for an unfiltered run only (see :func:`narrowed`)."""
    located = [
        (c.nodeid, c.data.baseline_path if isinstance(c.data, VisualData) else None)
        for c in checks
        if c.kind == "visual"
    ]
    used = {rel for _, rel in located if rel}
    # A check that never located its baseline: its module's folder cannot be accounted.
    unknown = {Path(node.split("::", 1)[0]).stem for node, rel in located if not rel}
    folders = sorted({Path(rel).parent for rel in used})
    stale: list[StaleEntry] = []
    for folder in folders:
        if folder.name in unknown:
            continue
        for baseline in sorted((rootdir / folder).glob("*.png")):
            rel = os.path.relpath(baseline, rootdir)
            if rel not in used:
                stale.append(
                    StaleEntry(
                        kind="baseline",
                        name=rel,
                        source=f"no page check of {folder.name} used it (nor its .env.json)",
                    )
                )
    return stale
