"""The DTO check: validate, normalize, diff (adapter vs legacy, each side vs golden), triage.

This is the only module that uses deepdiff. :func:`compare_dto` takes the legacy body, the
adapter body, optionally the golden, a pydantic model class and :class:`DiffRules`, and returns a
:class:`DtoResult` holding :class:`~pytest_dualread.report.Finding` objects, counts, rule usage
and tolerance statistics. Nothing here does I/O or knows pytest.

Steps
-----
1. **Contract.** Each side is validated with ``model.model_validate``. A failure is a
   ``contract`` finding whose ``comparison`` is the side name, kept apart from value findings.
   When every side validates, the diff runs on ``model_dump(mode="json", by_alias=True)``; when
   any side fails, it runs on the raw JSON of *all* sides, so value diffs are still shown and the
   sides stay comparable.
2. **Normalize** (:mod:`pytest_dualread.normalize`): masks, list keys, number coercion, order.
   A list whose keys fail becomes a ``list_key`` finding (``comparison`` = the side).
3. **Diff** with ``DeepDiff(reference, other, view="tree", threshold_to_diff_deeper=0,
   zip_ordered_iterables=True, ignore_private_variables=False, custom_operators=[...])``, where
   the reference is legacy for ``adapter_vs_legacy`` and the golden for ``legacy_vs_golden`` and
   ``adapter_vs_golden``. One custom operator does two jobs:

   * it decides every numeric pair (``int`` / ``float``, never ``bool``): equal values pass;
     otherwise the winning tolerance applies (``|a - b| <= abs`` or ``<= rel * |reference|``).
     Ints beyond 2**53 compare exactly, NaN never equals, infinities only equal themselves.
     ``228`` and ``228.0`` are equal: JSON has one number type;
   * it prunes subtrees that are strictly equal (``==``, plus an identical ``repr`` when a side
     holds a bool or a Decimal, so ``True`` never passes for ``1``), unless a side holds NaN.
     That is the fast path: deepdiff only walks where something differs, so a 10,000-leaf DTO
     with a few differences diffs in milliseconds (``benchmarks/dto_diff_bench.py``).

   Finding paths come from walking each reported level's ``up`` chain (the parent container and
   the child relationship's ``param``), never from deepdiff's path strings.
4. **Triage** (ARCHITECTURE §4.5), per finding path, from the legacy, adapter and golden values
   compared with the same tolerances: legacy = golden but adapter differs →
   ``adapter_regression``; both differ from the golden and legacy ≈ adapter → ``upstream_drift``;
   both differ and disagree → ``both_diverge``; legacy differs, adapter = golden →
   ``legacy_drift``. Without a golden every finding is ``adapter_regression``. Tolerances are not
   transitive, so legacy and adapter can each be within tolerance of the golden and still be too
   far apart; that adapter-vs-legacy finding is triaged ``adapter_regression`` (the cautious
   reading: it blocks the gate).

Tolerance statistics
--------------------
For every numeric pair that a tolerance rule covers and whose values differ, in or out of
tolerance, :class:`ToleranceStats` records the delta and the headroom (delta / allowed: 1.0 is
at the limit) per rule pattern and comparison: count, exceeded, max delta, max headroom and the
largest :data:`DELTA_CAP` deltas. Equal pairs are pruned before any number is looked at, so they
are not counted. A later command recalibrates thresholds from these figures
(``DtoResult.to_data()["tolerance_stats"]``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Final, Literal, TypeGuard

from pydantic import BaseModel, ValidationError

from pytest_dualread.normalize import (
    MISSING,
    CompiledRules,
    DiffRules,
    ListKeyProblem,
    ListMap,
    Normalized,
    RuleUsage,
    Tolerance,
    compile_rules,
    count_leaves,
    denormalize,
    key_order,
    lookup,
    normalize_sides,
)
from pytest_dualread.paths import Index, Key, Keyed, Path, field_pattern, render_path
from pytest_dualread.report import FieldDelta, Finding, Triage
from pytest_dualread.strictjson import JsonProblem, check_depth
from pytest_dualread.tolerance import difference

__all__ = [
    "COMPARISONS",
    "DELTA_CAP",
    "EXACT_INT_LIMIT",
    "Comparison",
    "DtoResult",
    "ToleranceStats",
    "compare_dto",
    "path_sort_key",
]

Comparison = Literal["adapter_vs_legacy", "legacy_vs_golden", "adapter_vs_golden"]
COMPARISONS: Final[tuple[tuple[Comparison, str, str], ...]] = (
    ("adapter_vs_legacy", "legacy", "adapter"),
    ("legacy_vs_golden", "golden", "legacy"),
    ("adapter_vs_golden", "golden", "adapter"),
)
"""``(comparison, reference side, compared side)``: the reference is deepdiff's ``t1``."""

DELTA_CAP: Final = 200
"""How many deltas (the largest) :class:`ToleranceStats` keeps per rule and comparison."""

EXACT_INT_LIMIT: Final = 2**53
"""Integers beyond this magnitude are compared exactly: a float cannot hold them."""

_NUMBER_TYPES: Final = (int, float)
_SIDES: Final = ("legacy", "adapter", "golden")
_CATEGORY: Final = {
    "values_changed": "value",
    "type_changes": "type",
    "dictionary_item_added": "extra",
    "iterable_item_added": "extra",
    "dictionary_item_removed": "missing",
    "iterable_item_removed": "missing",
}


# ---------------------------------------------------------------------------------------------
# statistics


@dataclass
class ToleranceStats:
    """Deltas seen under one tolerance rule in one comparison (differing pairs only)."""

    tolerance: Tolerance
    count: int = 0
    exceeded: int = 0
    max_delta: float = 0.0
    max_headroom: float | None = None
    deltas: list[float] = field(default_factory=list)

    def add(self, delta: float, headroom: float | None, exceeded: bool) -> None:
        self.count += 1
        self.exceeded += exceeded
        self.max_delta = max(self.max_delta, delta)
        if headroom is not None:
            self.max_headroom = (
                headroom if self.max_headroom is None else max(self.max_headroom, headroom)
            )
        self.deltas.append(delta)
        if len(self.deltas) > 2 * DELTA_CAP:
            self._trim()

    def _trim(self) -> None:
        self.deltas.sort(reverse=True)
        del self.deltas[DELTA_CAP:]

    def to_json(self) -> dict[str, Any]:
        self._trim()
        return {
            "tolerance": self.tolerance.to_json(),
            "count": self.count,
            "exceeded": self.exceeded,
            "max_delta": self.max_delta,
            "max_headroom": self.max_headroom,
            "deltas": list(self.deltas),
        }


# ---------------------------------------------------------------------------------------------
# numbers


def _is_number(value: object) -> TypeGuard[int | float]:
    return type(value) in _NUMBER_TYPES


def _is_big(value: object) -> bool:
    return type(value) is int and abs(value) > EXACT_INT_LIMIT


@dataclass(frozen=True)
class _Verdict:
    """The outcome of comparing one numeric pair."""

    ok: bool
    delta: float | None
    allowed: float | None = None
    headroom: float | None = None
    rule: tuple[str, Tolerance] | None = None
    exact: str = ""  # why no tolerance was applied (big ints, NaN, infinities)
    warn_allowed: float | None = None  # set when the pair passed beyond the rule's warn level

    @property
    def warned(self) -> bool:
        return self.ok and self.warn_allowed is not None


def _judge(
    reference: int | float, other: int | float, rule: tuple[str, Tolerance] | None
) -> _Verdict:
    if reference == other:
        return _Verdict(True, 0.0, rule=rule)
    if _is_big(reference) or _is_big(other):
        try:
            delta: float | None = float(abs(Fraction(reference) - Fraction(other)))
        except (OverflowError, ValueError):
            delta = None
        return _Verdict(False, delta, rule=rule, exact="integers beyond 2**53 compare exactly")
    if not (math.isfinite(reference) and math.isfinite(other)):
        return _Verdict(False, None, rule=rule, exact="NaN never equals; infinities only match")
    if rule is None:
        return _Verdict(False, float(difference(reference, other)))
    ok, delta, allowed = rule[1].judge(reference, other)
    headroom = delta / allowed if allowed > 0 else None
    warn = rule[1].warn_allowed(reference) if ok and rule[1].warns(reference, other) else None
    return _Verdict(ok, delta, allowed, headroom, rule, warn_allowed=warn)


# ---------------------------------------------------------------------------------------------
# deepdiff glue


def _level_path(level: Any) -> Path:
    """The token path of a deepdiff tree level, from its chain of parents."""
    steps: list[Key | Index | Keyed] = []
    node = level
    while node.up is not None:
        up = node.up
        if up.t1_child_rel is not None:
            rel, container = up.t1_child_rel, up.t1
        else:
            rel, container = up.t2_child_rel, up.t2
        param = rel.param
        if isinstance(container, dict):
            steps.append(param if isinstance(param, (Keyed, Index)) else Key(str(param)))
        else:
            steps.append(Index(param))
        node = up
    return tuple(reversed(steps))


class _Operator:
    """Tolerances for numeric pairs, and pruning of strictly equal subtrees.

    A deepdiff custom operator by shape (``match`` and ``give_up_diffing``, all deepdiff
    calls), not by subclassing its ``BaseOperator``: so this module imports deepdiff only when
    a pair differs (importing it, and the NumPy it pulls in, cost a run more than its checks
    when every case agrees)."""

    def __init__(
        self,
        compiled: CompiledRules,
        stats: dict[str, ToleranceStats],
        moves: list[tuple[Path, _Verdict]],
        prune: bool,
        strict: bool,
    ) -> None:
        self.compiled = compiled
        self.stats = stats
        self.moves = moves
        self.prune = prune
        self.strict = strict

    def match(self, level: Any) -> bool:
        t1, t2 = level.t1, level.t2
        k1, k2 = type(t1), type(t2)
        if k1 in _NUMBER_TYPES and k2 in _NUMBER_TYPES:
            return True
        if self.prune and k1 is k2 and (k1 is dict or k1 is list or k1 is ListMap):
            # ``True == 1`` and ``Decimal(1) == 1``: only when a tree holds a bool or a Decimal
            # does equality need the (slower) repr to be sure the types agree too
            return bool(t1 == t2) and (not self.strict or repr(t1) == repr(t2))
        return False

    def give_up_diffing(self, level: Any, diff_instance: Any) -> bool:
        reference, other = level.t1, level.t2
        if not (_is_number(reference) and _is_number(other)):
            return True  # a pruned, strictly equal subtree
        if reference == other:
            return True
        path = _level_path(level)
        verdict = _judge(reference, other, self.compiled.at(path).tolerance)
        if verdict.rule is not None and not verdict.exact and verdict.delta is not None:
            pattern, tolerance = verdict.rule
            stats = self.stats.get(pattern)
            if stats is None:
                stats = self.stats[pattern] = ToleranceStats(tolerance)
            stats.add(verdict.delta, verdict.headroom, not verdict.ok)
        if verdict.delta is not None:
            self.moves.append((path, verdict))
        if not verdict.ok or verdict.warned:
            diff_instance.custom_report_result("values_changed", level, {"verdict": verdict})
        return True


@dataclass(frozen=True)
class _Raw:
    comparison: Comparison
    reference: str
    other: str
    path: Path
    category: str
    verdict: _Verdict | None


def _diff(
    comparison: Comparison,
    reference: str,
    other: str,
    trees: Mapping[str, Normalized],
    compiled: CompiledRules,
    stats: dict[str, ToleranceStats],
    moves: list[tuple[Path, _Verdict]],
) -> list[_Raw]:
    t1, t2 = trees[reference], trees[other]
    prune = not (t1.has_nan or t2.has_nan)
    strict = t1.needs_strict_eq or t2.needs_strict_eq
    a, b = t1.value, t2.value
    if prune and type(a) is type(b) and a == b and (not strict or repr(a) == repr(b)):
        return []  # what the operator's pruning would decide at the root, without DeepDiff
    from deepdiff import DeepDiff
    from deepdiff.helper import notpresent
    from deepdiff.model import CUSTOM_FIELD

    operator = _Operator(compiled, stats, moves, prune=prune, strict=strict)
    result = DeepDiff(
        t1.value,
        t2.value,
        view="tree",
        threshold_to_diff_deeper=0,
        zip_ordered_iterables=True,
        ignore_private_variables=False,
        custom_operators=[operator],
    )
    raws: list[_Raw] = []
    for report_type, levels in result.items():
        for level in levels:
            extra = level.additional.get(CUSTOM_FIELD)
            verdict = extra.get("verdict") if isinstance(extra, dict) else None
            if level.t1 is notpresent:
                category = "extra"
            elif level.t2 is notpresent:
                category = "missing"
            else:
                category = _CATEGORY.get(report_type, "value")
            raws.append(_Raw(comparison, reference, other, _level_path(level), category, verdict))
    return raws


# ---------------------------------------------------------------------------------------------
# triage


def _agree(compiled: CompiledRules, reference: object, other: object, state: int) -> bool:
    """Whether two normalized values are equal under the tolerances, for triage."""
    if _is_number(reference) and _is_number(other):
        rule = compiled.node(state).tolerance
        return _judge(reference, other, rule).ok
    if type(reference) is not type(other):
        return False
    ps = compiled.patterns
    if isinstance(reference, dict):
        assert isinstance(other, dict)
        if reference.keys() != other.keys():
            return False
        for key, value in reference.items():
            if isinstance(key, Keyed):
                child = ps.step_keyed(state, key.value)
            elif isinstance(key, Index):
                child = ps.step_index(state, key.index)
            else:
                child = ps.step_key(state, str(key))
            if not _agree(compiled, value, other[key], child):
                return False
        return True
    if isinstance(reference, list):
        assert isinstance(other, list)
        return len(reference) == len(other) and all(
            _agree(compiled, a, b, ps.step_index(state, i))
            for i, (a, b) in enumerate(zip(reference, other, strict=True))
        )
    if reference is MISSING:
        return True
    return bool(reference == other) and repr(reference) == repr(other)


def _triage(compiled: CompiledRules, trees: Mapping[str, Normalized], path: Path) -> Triage:
    if "golden" not in trees:
        return "adapter_regression"
    state = compiled.patterns.walk(path)
    legacy, adapter, golden = (lookup(trees[s].value, path) for s in _SIDES)
    legacy_ok = _agree(compiled, golden, legacy, state)
    adapter_ok = _agree(compiled, golden, adapter, state)
    if legacy_ok:
        return "adapter_regression"  # adapter differs, or (not transitive) only from legacy
    if adapter_ok:
        return "legacy_drift"
    return "upstream_drift" if _agree(compiled, legacy, adapter, state) else "both_diverge"


# ---------------------------------------------------------------------------------------------
# results


def path_sort_key(path: Path) -> tuple[tuple[Any, ...], ...]:
    """A total order on paths: keys, then indices, then keyed elements, each in natural order."""
    out: list[tuple[Any, ...]] = []
    for token in path:
        if isinstance(token, Key):
            out.append((0, 0, token.name))
        elif isinstance(token, Index):
            out.append((1, 0, token.index))
        else:
            out.append((2, *key_order(token.value)))
    return tuple(out)


_COMPARISON_ORDER: Final = {name: i for i, (name, _, _) in enumerate(COMPARISONS)}
_ABSENT: Final = "<absent>"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _show(value: object, width: int) -> str:
    """A value as compact JSON, shortened to ``width`` characters; ``<absent>`` for a gap."""
    if value is MISSING:
        return _ABSENT
    try:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    except ValueError:  # circular: not JSON
        text = repr(value)
    return _shorten(text, width)


def _fmt(number: float) -> str:
    return f"{number:.6g}"


@dataclass
class DtoResult:
    """What one DTO check found.

    ``findings`` are sorted: contract, then list keys, then value findings by path and
    comparison. ``fields_compared`` counts the leaves of legacy plus those only the adapter or
    the golden has; ``fields_differing`` the distinct paths with a value finding (a missing or
    extra subtree counts once).
    """

    findings: list[Finding]
    fields_compared: int
    fields_differing: int
    rule_usage: RuleUsage
    tolerance_stats: dict[str, dict[str, ToleranceStats]]
    has_golden: bool
    contract: dict[str, bool]
    model_name: str | None = None
    field_deltas: list[FieldDelta] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """No finding at the fail level (findings between a warn and a fail level pass)."""
        return all(f.level == "warn" for f in self.findings)

    def to_findings_json(self) -> list[dict[str, Any]]:
        """The findings as plain JSON data, for ``Check.findings``."""
        return [f.model_dump(mode="json") for f in self.findings]

    def to_data(self) -> dict[str, Any]:
        """Plain JSON figures for ``Check.data``: counts, rule usage, tolerance statistics."""
        return {
            "fields_compared": self.fields_compared,
            "fields_differing": self.fields_differing,
            "golden": self.has_golden,
            "model": self.model_name,
            "contract": dict(self.contract),
            "rule_usage": self.rule_usage.to_json(),
            "tolerance_stats": {
                pattern: {name: s.to_json() for name, s in sorted(by.items())}
                for pattern, by in sorted(self.tolerance_stats.items())
            },
        }

    def failure_text(self, *, max_rows: int = 20, width: int = 32) -> str:
        """A small report (STYLE rule 7): count line, worst delta, aligned table, capped."""
        if not self.findings:
            return f"all {self.fields_compared} fields agree"
        lines = [f"{self.fields_differing} of {self.fields_compared} fields differ"]
        worst = self._worst()
        if worst is not None:
            lines.append(worst)
        for f in self.findings:
            if f.category in ("contract", "list_key"):
                lines.append(f"{f.category}: {f.message}")
        rows: dict[str, Finding] = {}
        for f in self.findings:
            if f.category not in ("contract", "list_key"):
                rows.setdefault(f.path, f)
        if rows:
            header = ["path", "legacy", "adapter"] + (["golden"] if self.has_golden else [])
            header.append("triage")
            table = [header]
            for path, f in list(rows.items())[:max_rows]:
                cells = [_shorten(path or "<root>", 2 * width)]
                cells += [_show(f.values.get(s, MISSING), width) for s in header[1:-1]]
                cells.append(f.triage or "")
                table.append(cells)
            widths = [max(len(row[i]) for row in table) for i in range(len(header))]
            for row in table:
                lines.append(
                    " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                )
            if len(rows) > max_rows:
                lines.append(f"… and {len(rows) - max_rows} more")
        return "\n".join(lines)

    def _worst(self) -> str | None:
        numeric = [f for f in self.findings if f.delta is not None]
        if not numeric:
            return None
        tolerated = [f for f in numeric if f.headroom is not None]
        if tolerated:
            f = max(tolerated, key=lambda x: (x.headroom or 0.0, x.delta or 0.0))
            allowed = f.detail.get("allowed", 0.0)
            return (
                f"worst: {f.path} ({f.comparison}) differs by {_fmt(f.delta or 0.0)}, "
                f"allowed {_fmt(allowed)} by {f.detail.get('rule')!r} "
                f"({f.tolerance}): {f.headroom:.0%} of its tolerance"
            )
        f = max(numeric, key=lambda x: x.delta or 0.0)
        why = f.detail.get("exact") or "no tolerance rule"
        return f"worst: {f.path} ({f.comparison}) differs by {_fmt(f.delta or 0.0)} ({why})"


# ---------------------------------------------------------------------------------------------
# the check

_SCALARS: Final = (str, int, float, bool, type(None))


def _validate(
    model: type[BaseModel], side: str, body: object, strict: bool | None
) -> tuple[object, list[Finding]]:
    try:
        obj = model.model_validate(body, strict=strict)
    except ValidationError as exc:
        findings: list[Finding] = []
        errors = exc.errors(include_url=False)
        for err in errors[:20]:
            loc = tuple(p for p in err["loc"] if isinstance(p, (str, int)))
            try:
                path = render_path(tuple(Index(p) if isinstance(p, int) else Key(p) for p in loc))
            except ValueError:
                path = ".".join(map(str, loc))
            value = err.get("input", MISSING)
            values = {side: value} if isinstance(value, _SCALARS) else {}
            findings.append(
                Finding(
                    comparison=side,
                    path=path,
                    category="contract",
                    values=values,
                    message=f"{side} does not match {model.__name__}: {path or '<root>'}: "
                    f"{err['msg']}",
                    detail={"error_type": err["type"], "errors": exc.error_count()},
                )
            )
        return body, findings
    return obj.model_dump(mode="json", by_alias=True), []


def _message(raw: _Raw, values: Mapping[str, object]) -> str:
    ref, other = raw.reference, raw.other
    if raw.category == "missing":
        return f"{other} lacks this field; {ref} has it"
    if raw.category == "extra":
        return f"{other} has this field; {ref} does not"
    a, b = _show(values.get(ref, MISSING), 40), _show(values.get(other, MISSING), 40)
    if raw.category == "type":
        kinds = (type(values.get(ref)).__name__, type(values.get(other)).__name__)
        return f"{other} {b} ({kinds[1]}) vs {ref} {a} ({kinds[0]}): another type"
    text = f"{other} {b} vs {ref} {a}"
    v = raw.verdict
    if v is not None and v.delta is not None:
        text += f": differs by {_fmt(v.delta)}"
        if v.allowed is not None and v.rule is not None:
            text += f", allowed {_fmt(v.allowed)} by {v.rule[0]!r}"
        if v.warned:
            text += f", beyond its warn level {_fmt(v.warn_allowed or 0.0)}"
        elif v.exact:
            text += ", compared exactly"
    return text


def _list_key_finding(problem: ListKeyProblem) -> Finding:
    values = {} if problem.value is MISSING else {problem.side: problem.value}
    detail: dict[str, Any] = {
        "rule": problem.pattern,
        "field": problem.field,
        "reason": problem.reason,
        "index": problem.index,
        "count": problem.count,
    }
    if problem.first_index is not None:
        detail["first_index"] = problem.first_index
    return Finding(
        comparison=problem.side,
        path=render_path(problem.path),
        category="list_key",
        values=values,
        message=problem.message,
        detail=detail,
    )


def compare_dto(
    legacy: object,
    adapter: object,
    golden: object | None = None,
    *,
    model: type[BaseModel] | None = None,
    rules: DiffRules | None = None,
    strict: bool | None = None,
    depth_checked: bool = False,
) -> DtoResult:
    """Compare one case's legacy and adapter bodies (and the golden, when there is one).

    ``golden=None`` means the case has no golden (nothing to compare against). ``strict`` is
    passed to ``model_validate``. ``depth_checked``: every body was parsed by
    :func:`~pytest_dualread.strictjson.loads`, which bounded its depth already, so it is not
    walked again for that. See the module docstring for the steps.
    """
    rules = rules or DiffRules()
    compiled = compile_rules(rules)
    bodies: dict[str, object] = {"legacy": legacy, "adapter": adapter}
    if golden is not None:
        bodies["golden"] = golden
    for side, body in bodies.items() if not depth_checked else ():
        try:
            check_depth(body)
        except JsonProblem as exc:
            raise JsonProblem(f"{side}: {exc.reason}", exc.where) from None
    findings: list[Finding] = []
    contract: dict[str, bool] = {}
    if model is not None:
        dumped: dict[str, object] = {}
        for side, body in bodies.items():
            if side == "golden":
                # A golden is stored data, written from a validated legacy body with the
                # ignored (volatile) fields left out: it is compared, never validated.
                dumped[side] = body
                continue
            dumped[side], errors = _validate(model, side, body, strict)
            contract[side] = not errors
            findings.extend(errors)
        if all(contract.values()):
            bodies = dumped
    trees, usage = normalize_sides(bodies, compiled)
    key_problems = sorted(
        (p for t in trees.values() for p in t.problems),
        key=lambda p: (path_sort_key(p.path), _SIDES.index(p.side)),
    )
    findings.extend(_list_key_finding(p) for p in key_problems)

    stats: dict[Comparison, dict[str, ToleranceStats]] = {}
    moves: dict[Comparison, list[tuple[Path, _Verdict]]] = {}
    raws: list[_Raw] = []
    for comparison, reference, other in COMPARISONS:
        if reference in trees and other in trees:
            stats[comparison], moves[comparison] = {}, []
            found = _diff(
                comparison, reference, other, trees, compiled, stats[comparison], moves[comparison]
            )
            raws.extend(found)
    raws.sort(key=lambda r: (path_sort_key(r.path), _COMPARISON_ORDER[r.comparison]))

    triage_cache: dict[Path, Triage] = {}
    failing: set[Path] = set()
    for raw in raws:
        if raw.path not in triage_cache:
            triage_cache[raw.path] = _triage(compiled, trees, raw.path)
        findings.append(_finding(raw, trees, triage_cache[raw.path]))
        if raw.verdict is None or not raw.verdict.warned:
            failing.add(raw.path)  # a warning is not a field beyond tolerance

    by_rule: dict[str, dict[str, ToleranceStats]] = {}
    for comparison, per_rule in stats.items():
        for pattern, s in per_rule.items():
            by_rule.setdefault(pattern, {})[comparison] = s
    return DtoResult(
        findings=findings,
        fields_compared=_fields_compared(trees, raws),
        fields_differing=len(failing),
        rule_usage=usage,
        tolerance_stats=by_rule,
        has_golden="golden" in trees,
        contract=contract,
        model_name=model.__name__ if model is not None else None,
        field_deltas=_field_deltas(moves, raws),
    )


def _field_deltas(
    moves: Mapping[Comparison, list[tuple[Path, _Verdict]]], raws: Iterable[_Raw]
) -> list[FieldDelta]:
    """Per comparison and field (``[*]`` for list elements): the largest numeric move of the
    check, within tolerance or not, and whether the field differed beyond tolerance."""
    fields: dict[tuple[str, str], FieldDelta] = {}
    patterns: dict[Path, str] = {}

    def entry(comparison: str, path: Path) -> FieldDelta:
        pattern = patterns.get(path)
        if pattern is None:
            pattern = patterns[path] = field_pattern(path)
        key = (comparison, pattern)
        found = fields.get(key)
        if found is None:
            found = fields[key] = FieldDelta.model_construct(comparison=comparison, pattern=pattern)
        return found

    for comparison, seen in moves.items():
        for path, verdict in seen:
            _widen(entry(comparison, path), verdict)
    for raw in raws:
        if raw.verdict is None or not raw.verdict.warned:  # a warning is within tolerance
            entry(raw.comparison, raw.path).differs = True
    return [fields[key] for key in sorted(fields)]


def _widen(field_delta: FieldDelta, verdict: _Verdict) -> None:
    """Keep the largest delta and the largest share of the tolerance (with that tolerance)."""
    delta = verdict.delta or 0.0
    if field_delta.delta is None or delta > field_delta.delta:
        field_delta.delta = delta
    share = verdict.headroom
    if share is not None and (field_delta.share is None or share > field_delta.share):
        field_delta.share = share
        field_delta.tolerance = verdict.rule[1] if verdict.rule is not None else None
    elif field_delta.tolerance is None and verdict.rule is not None:
        field_delta.tolerance = verdict.rule[1]


def _finding(raw: _Raw, trees: Mapping[str, Normalized], triage: Triage) -> Finding:
    values: dict[str, Any] = {}
    for side in _SIDES:
        if side in trees:
            value = lookup(trees[side].value, raw.path)
            if value is not MISSING:
                values[side] = denormalize(value)
    detail: dict[str, Any] = {}
    tolerance: Tolerance | None = None
    headroom: float | None = None
    delta: float | None = None
    v = raw.verdict
    if v is not None:
        delta = v.delta
        if v.rule is not None:
            detail["rule"] = v.rule[0]
            tolerance = v.rule[1]
        if v.exact:
            detail["exact"] = v.exact
        elif v.allowed is not None:
            detail["allowed"] = v.allowed
            headroom = v.headroom
        if v.warned:
            detail["warn_allowed"] = v.warn_allowed
    return Finding(
        comparison=raw.comparison,
        path=render_path(raw.path),
        category=raw.category,
        values=values,
        delta=delta,
        tolerance=tolerance,
        headroom=headroom,
        triage=triage,
        message=_message(raw, {s: lookup(trees[s].value, raw.path) for s in trees}),
        detail=detail,
        level="warn" if v is not None and v.warned else "fail",
    )


def _fields_compared(trees: Mapping[str, Normalized], raws: Iterable[_Raw]) -> int:
    """Leaves of legacy, plus subtrees only the adapter has, plus those only the golden has."""
    total = trees["legacy"].leaves
    counted: set[Path] = set()
    for raw in raws:
        if raw.comparison == "adapter_vs_legacy" and raw.category == "extra":
            source = "adapter"
        elif raw.comparison == "legacy_vs_golden" and raw.category == "missing":
            if lookup(trees["adapter"].value, raw.path) is not MISSING:
                continue  # the adapter has it too: counted as an adapter extra
            source = "golden"
        else:
            continue
        if raw.path not in counted:
            counted.add(raw.path)
            total += count_leaves(lookup(trees[source].value, raw.path))
    return total
