"""What is stored or configured but was not used by a run: stale rules and goldens.

Pure accounting on :class:`~pytest_dualread.normalize.RuleUsage`: each DTO check records how
many nodes each of its rules decided; a rule no check used is stale where it is declared
(``[tool.dualread.dto]``, a case file, or one case). A golden whose case no longer exists in its
case file is stale too. Only a complete run is accounted (a partial one did not try every rule).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from pytest_dualread.normalize import RuleUsage
from pytest_dualread.report import Check, DtoData, StaleEntry

__all__ = ["stale_goldens", "stale_rules"]


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
