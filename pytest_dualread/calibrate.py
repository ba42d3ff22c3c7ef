"""A/A noise calibration: how much the legacy side moves when compared with itself.

``pytest --dual-read --dual-read-calibrate=N`` fetches each case's legacy side N times (see
:mod:`pytest_dualread.calibrating`, the pytest side). Every field is then one of: *stable*
(the same every time), *jitter* (a number that moves; by how much) or *changing* (a value that
differs between fetches, or a field that comes and goes). Fields are grouped by their generic
path (list elements as ``[*]``), across cases. The proposal is a TOML fragment, one comment per
rule saying what was observed: changing fields become ``ignore`` rules, jittering numbers
``abs`` tolerances. Fields an ``ignore`` rule already covers are left out. A page is rendered N
times on the legacy side: the elements whose pixels change between renders become proposed
``mask`` selectors. Nothing is applied unless asked (:func:`apply_proposal`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from pytest_dualread.files import write_atomic
from pytest_dualread.paths import compile_pattern, parse_path, path_from_parts, render_path

__all__ = [
    "FieldNoise",
    "Proposal",
    "apply_proposal",
    "changed_boxes",
    "merge_noise",
    "observe",
    "proposal_toml",
]

_ABSENT = object()
_INDEX = re.compile(r"\[\d+\]")


@dataclass
class FieldNoise:
    """What one generic field did across the fetches of the cases that have it."""

    kind: str
    """``changing`` or ``jitter``."""
    cases: int = 1
    """Cases in which it moved."""
    every_time: bool = True
    """In every one of them, no two fetches agreed."""
    delta: float = 0.0
    """For jitter: the largest spread (max - min) seen in one case."""
    examples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)  # plain values only: it crosses the xdist boundary as JSON


def _leaves(value: Any, parts: tuple[str | int, ...] = ()) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*parts, str(key)))
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _leaves(item, (*parts, index))
    else:
        yield render_path(path_from_parts(parts)), value


def _generic(path: str) -> str:
    return _INDEX.sub("[*]", path)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _noise_of(values: list[Any]) -> FieldNoise | None:
    """How one concrete field moved across the fetches; None when it did not."""
    distinct = {repr(v) for v in values}
    if len(distinct) == 1:
        return None
    if all(_is_number(v) for v in values):
        spread = float(Decimal(str(max(values))) - Decimal(str(min(values))))
        return FieldNoise("jitter", delta=spread, every_time=len(distinct) == len(values))
    shown = [("absent" if v is _ABSENT else repr(v))[:40] for v in values[:2]]
    return FieldNoise("changing", every_time=len(distinct) == len(values), examples=shown)


def observe(bodies: Sequence[Any], ignored: Iterable[str] = ()) -> dict[str, FieldNoise]:
    """The fields that moved across ``bodies`` (one case's fetches), by generic path; fields
    an ``ignored`` pattern matches are left out."""
    patterns = [compile_pattern(p) for p in ignored]
    seen: dict[str, list[Any]] = {}
    for number, body in enumerate(bodies):
        for path, value in _leaves(body):
            seen.setdefault(path, [_ABSENT] * number).append(value)
        for values in seen.values():
            values.extend([_ABSENT] * (number + 1 - len(values)))
    noise: dict[str, FieldNoise] = {}
    for path, values in seen.items():
        found = _noise_of(values)
        if found is None or any(p.matches(parse_path(path)) for p in patterns):
            continue
        generic = _generic(path)
        noise[generic] = (
            merge_noise(noise[generic], found, same_case=True) if generic in noise else found
        )
    return noise


def merge_noise(a: FieldNoise, b: FieldNoise, *, same_case: bool = False) -> FieldNoise:
    """Two observations of one generic field: a changing value outweighs jitter."""
    kind = "changing" if "changing" in (a.kind, b.kind) else "jitter"
    return FieldNoise(
        kind=kind,
        cases=a.cases if same_case else a.cases + b.cases,
        every_time=a.every_time and b.every_time,
        delta=max(a.delta, b.delta),
        examples=a.examples or b.examples,
    )


def changed_boxes(renders: Sequence[bytes], threshold: float) -> list[tuple[int, int, int, int]]:
    """The regions (x, y, width, height) where any render differs from the first."""
    from pytest_dualread.imagediff import compare_png

    boxes: set[tuple[int, int, int, int]] = set()
    for other in renders[1:]:
        diff = compare_png(renders[0], other, threshold=threshold)
        boxes.update((b.x, b.y, b.width, b.height) for b in diff.boxes)
    return sorted(boxes)


@dataclass(frozen=True)
class Proposal:
    """What a calibration run proposes, and how it was observed."""

    fetches: int
    cases: int
    noise: Mapping[str, FieldNoise]
    masks: Mapping[str, str] = field(default_factory=dict)
    """Proposed mask selectors, each with what was observed."""
    pages: int = 0

    @property
    def ignore(self) -> list[str]:
        return sorted(p for p, n in self.noise.items() if n.kind == "changing")

    @property
    def tolerances(self) -> dict[str, float]:
        return {p: n.delta for p, n in sorted(self.noise.items()) if n.kind == "jitter"}

    def comment(self, pattern: str) -> str:
        n = self.noise[pattern]
        how = "on every fetch" if n.every_time else "between some fetches"
        where = f"in {n.cases} of {self.cases} case{'s' if self.cases != 1 else ''}"
        if n.kind == "jitter":
            return f"moved by up to {_number(n.delta)} {how}, {where}"
        seen = f" (e.g. {' then '.join(n.examples)})" if n.examples else ""
        return f"changed {how}, {where}{seen}"


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _toml_string(text: str) -> str:
    import tomlkit

    return tomlkit.string(text).as_string()


def proposal_toml(proposal: Proposal, command: str) -> str:
    """The reviewable fragment: ``[tool.dualread.dto]`` rules, one comment per rule."""
    n = proposal.fetches
    lines = [
        f"# Proposed by `{command}`: the legacy side of {proposal.cases} cases fetched {n} times",
        f"# each, of {proposal.pages} pages rendered {n} times each, compared with itself.",
        "# Review, then merge into pyproject.toml (or re-run with --dual-read-calibrate-apply).",
    ]
    if not proposal.noise and not proposal.masks:
        lines.append("# nothing moved: no rule to propose")
    if proposal.ignore:
        lines += ["", "[tool.dualread.dto]", "ignore = ["]
        for pattern in proposal.ignore:
            lines.append(f"    # {proposal.comment(pattern)}")
            lines.append(f"    {_toml_string(pattern)},")
        lines.append("]")
    if proposal.tolerances:
        lines.append("")
        lines.append("[tool.dualread.dto.tolerances]")
        for pattern, delta in proposal.tolerances.items():
            lines.append(f"# {proposal.comment(pattern)}")
            lines.append(f"{_toml_string(pattern)} = {{ abs = {_number(delta)} }}")
    if proposal.masks:
        lines += ["", "[tool.dualread.visual]", "mask = ["]
        for selector, seen in sorted(proposal.masks.items()):
            lines += [f"    # {seen}", f"    {_toml_string(selector)},"]
        lines.append("]")
    return "\n".join(lines) + "\n"


def apply_proposal(pyproject: Path, proposal: Proposal) -> list[str]:
    """Merge ``proposal`` into ``[tool.dualread.dto]`` of ``pyproject``, keeping its comments
    and file mode; returns the rules added (a rule already there is left as it is)."""
    import tomlkit

    document = tomlkit.parse(pyproject.read_text(encoding="utf-8"))
    tool: Any = document.setdefault("tool", tomlkit.table())
    dualread: Any = tool.setdefault("dualread", tomlkit.table())
    dto: Any = dualread.setdefault("dto", tomlkit.table())
    added = []
    if proposal.ignore:
        ignore: Any = dto.setdefault("ignore", tomlkit.array())
        for pattern in proposal.ignore:
            if pattern not in ignore:
                ignore.add_line(pattern, comment=proposal.comment(pattern))
                added.append(f"ignore {pattern}")
        ignore.add_line(indent="")  # the closing bracket on its own line
    if proposal.tolerances:
        tolerances: Any = dto.setdefault("tolerances", tomlkit.table())
        for pattern, delta in proposal.tolerances.items():
            if pattern not in tolerances:
                tolerances[pattern] = {"abs": _number(delta)}
                added.append(f"tolerance {pattern}")
    if proposal.masks:
        visual: Any = dualread.setdefault("visual", tomlkit.table())
        mask: Any = visual.setdefault("mask", tomlkit.array())
        for selector, seen in sorted(proposal.masks.items()):
            if selector not in mask:
                mask.add_line(selector, comment=seen)
                added.append(f"mask {selector}")
        mask.add_line(indent="")
    if added:
        write_atomic(pyproject, tomlkit.dumps(document))
    return added
