"""Pure normalisation of JSON bodies before a diff: masks, list keys, number coercion, key order.

Input is JSON-shaped data (``dict`` with ``str`` keys, ``list``, ``str``, ``int``, ``float``,
``bool``, ``None``; ``Decimal`` is accepted too). :func:`normalize_sides` walks every side of a
check once, carrying one automaton state (:class:`~pytest_dualread.paths.PatternSet`) per node,
and returns a *normalized tree* per side:

* **masks** — nodes matching an ``ignore`` pattern are removed (a whole subtree when the node is
  a container);
* **list keys** — a list at a path matching a ``list_keys`` pattern becomes a ``dict`` keyed by
  :class:`~pytest_dualread.paths.Keyed` tokens (the value of the declared field in each item), so
  items are matched by key, not by position. An item that is not an object or lacks the field, a
  key that is not a str or an int, or a key used twice is a :class:`ListKeyProblem` (reported as a
  ``list_key`` finding), never a crash: that list falls back to matching by index **on every
  side**, so the sides stay comparable;
* **number coercion** — ``Decimal`` values and numeric strings (JSON number syntax) become
  ``int`` / ``float``, only at paths a ``coerce_numbers`` pattern names;
* **stable order** — mappings are rebuilt with sorted keys, keyed lists in key order.

A list turned into a mapping is a :class:`ListMap` whose keys are token objects (:class:`Keyed`,
or :class:`Index` when an ignored element had to be dropped from a list matched by position), so
neither it nor its keys can be mistaken for an object and its keys. Use
:func:`lookup` to read a node by path and :func:`denormalize` to get plain JSON back.

Rules and their usage
---------------------
:class:`DiffRules` holds the four rule kinds by their (canonicalised) patterns; :class:`Tolerance`
is a numeric tolerance (applied by :mod:`pytest_dualread.dto`). :class:`RuleUsage` counts, per
rule, how many nodes it decided during a check: every matching ``ignore`` and ``coerce_numbers``
pattern counts; for ``list_keys`` and ``tolerances`` only the winning (most specific, see
:mod:`pytest_dualread.paths`) pattern counts, because a shadowed rule never decides anything.
Tolerances count at leaves, list keys at lists. A rule whose summed count over a whole session is
zero is stale: :meth:`RuleUsage.unused` lists them, and usages from many checks (possibly from
other processes, as JSON) combine with :meth:`RuleUsage.combine` / :meth:`RuleUsage.from_json`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Final, Literal

from pytest_dualread.paths import (
    Index,
    Key,
    Keyed,
    KeyValue,
    Path,
    Pattern,
    PatternError,
    PatternSet,
    compile_pattern,
    render_path,
)
from pytest_dualread.strictjson import MAX_DIGITS
from pytest_dualread.tolerance import Tolerance

__all__ = [
    "MISSING",
    "RULE_KINDS",
    "CompiledRules",
    "DiffRules",
    "ListKeyProblem",
    "ListMap",
    "NodeRules",
    "Normalized",
    "RuleKind",
    "RuleUsage",
    "Tolerance",
    "coerce_number",
    "compile_rules",
    "count_leaves",
    "denormalize",
    "key_order",
    "lookup",
    "normalize",
    "normalize_sides",
]

KeyFields = str | tuple[str, ...]
"""A list key: one field, or the fields of a composite key."""

RuleKind = Literal["ignore", "list_keys", "tolerances", "coerce_numbers"]
RULE_KINDS: Final[tuple[RuleKind, ...]] = ("ignore", "list_keys", "tolerances", "coerce_numbers")


class _Missing:
    """The type of :data:`MISSING`: a side that lacks a field (not JSON ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<missing>"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
"""Returned by :func:`lookup` when a path does not exist in a tree."""


class ListMap(dict[Any, Any]):
    """A list that normalisation turned into a mapping (keys: :class:`Keyed` or :class:`Index`).

    It equals only another ``ListMap`` (an empty keyed list is not an empty object), and its
    ``repr`` says what it is, so neither ``==`` nor ``repr`` can confuse it with a ``dict``.
    """

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is ListMap and dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # mutable, like dict

    def __repr__(self) -> str:
        return f"ListMap({dict.__repr__(self)})"


# ---------------------------------------------------------------------------------------------
# rules


def _canonical(kind: str, text: object) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{kind}: a pattern must be a string, got {text!r}")
    try:
        return compile_pattern(text).text
    except PatternError as exc:  # the same error, saying which rule it was given for
        raise PatternError(exc.pattern, exc.position, exc.reason, rule=kind) from None


def _key_fields(pattern: str, name: object) -> KeyFields:
    """A list key's field, or a composite key's fields (a list of names, in order)."""
    names: list[object] = list(name) if isinstance(name, (list, tuple)) else [name]
    fields = [n for n in names if isinstance(n, str) and n]
    if not names or len(fields) != len(names):
        raise ValueError(
            f"list_keys[{pattern!r}]: the key must be a field name or a list of field names"
        )
    return tuple(fields) if isinstance(name, (list, tuple)) else fields[0]


def _unique(kind: str, patterns: Iterable[str]) -> tuple[str, ...]:
    if isinstance(patterns, str):
        raise ValueError(f"{kind} must be a list of patterns, not one string {patterns!r}")
    return tuple(dict.fromkeys(_canonical(kind, p) for p in patterns))


@dataclass(frozen=True)
class DiffRules:
    """The DTO rules of a check, from plain values.

    Patterns are validated and canonicalised (``items[00]`` → ``items[0]``); a bad one raises
    :class:`~pytest_dualread.paths.PatternError` (a ``ValueError``) naming it and the position.
    ``tolerances`` values may be :class:`Tolerance` or plain mappings ``{"abs": 80}``.
    """

    ignore: tuple[str, ...] = ()
    list_keys: Mapping[str, KeyFields] = field(default_factory=dict)
    """Per pattern, the field whose value keys the list's items, or several fields (a
    composite key); normalised to a str or a tuple of str."""
    tolerances: Mapping[str, Tolerance] = field(default_factory=dict)
    coerce_numbers: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "ignore", _unique("ignore", self.ignore))
        object.__setattr__(self, "coerce_numbers", _unique("coerce_numbers", self.coerce_numbers))
        keys: dict[str, str | tuple[str, ...]] = {}
        for pattern, name in dict(self.list_keys).items():
            keys[_canonical("list_keys", pattern)] = _key_fields(pattern, name)
        object.__setattr__(self, "list_keys", MappingProxyType(keys))
        tolerances: dict[str, Tolerance] = {}
        for pattern, value in dict(self.tolerances).items():
            text = _canonical("tolerances", pattern)
            try:
                tolerances[text] = Tolerance.of(value)
            except ValueError as exc:
                raise ValueError(f"tolerances[{pattern!r}]: {exc}") from None
        object.__setattr__(self, "tolerances", MappingProxyType(tolerances))

    def merged_over(self, base: DiffRules) -> DiffRules:
        """These rules (a case's) over ``base`` (the global ones): for the same pattern this side
        wins; ignores and coercions are the union, ``base`` first."""
        if self.empty:
            return base
        if base.empty:
            return self
        # Both sides are validated and canonical already: build the union without re-parsing.
        merged = object.__new__(DiffRules)
        for name, value in (
            ("ignore", tuple(dict.fromkeys((*base.ignore, *self.ignore)))),
            ("list_keys", MappingProxyType({**base.list_keys, **self.list_keys})),
            ("tolerances", MappingProxyType({**base.tolerances, **self.tolerances})),
            ("coerce_numbers", tuple(dict.fromkeys((*base.coerce_numbers, *self.coerce_numbers)))),
        ):
            object.__setattr__(merged, name, value)
        return merged

    @property
    def empty(self) -> bool:
        """No rule at all."""
        return not (self.ignore or self.list_keys or self.tolerances or self.coerce_numbers)

    def patterns(self) -> dict[RuleKind, tuple[str, ...]]:
        """Every pattern by rule kind, in declaration order."""
        return {
            "ignore": self.ignore,
            "list_keys": tuple(self.list_keys),
            "tolerances": tuple(self.tolerances),
            "coerce_numbers": self.coerce_numbers,
        }

    def key(self) -> tuple[object, ...]:
        """A hashable value equal for equal rules (``DiffRules`` itself holds mappings)."""
        return (
            self.ignore,
            tuple(self.list_keys.items()),
            tuple((p, t.abs, t.rel) for p, t in self.tolerances.items()),
            self.coerce_numbers,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "ignore": list(self.ignore),
            "list_keys": dict(self.list_keys),
            "tolerances": {p: t.to_json() for p, t in self.tolerances.items()},
            "coerce_numbers": list(self.coerce_numbers),
        }


@dataclass(frozen=True)
class NodeRules:
    """What the rules say about one node (cached per automaton state)."""

    ignore: tuple[str, ...] = ()
    list_key: tuple[str, KeyFields] | None = None  # (pattern, field or fields)
    tolerance: tuple[str, Tolerance] | None = None  # (pattern, tolerance)
    coerce: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.ignore or self.list_key or self.tolerance or self.coerce)


_NOTHING: Final = NodeRules()
_KeyedAnswer = tuple[int, NodeRules, Keyed]
"""A keyed list element's automaton state, rules and path token."""
_KEYED_REMEMBERED: Final = 4096
"""List-element key values whose automaton step one state of a rule set caches."""


class CompiledRules:
    """:class:`DiffRules` compiled into one :class:`PatternSet`, with per-state answers cached."""

    def __init__(self, rules: DiffRules) -> None:
        self.rules = rules
        self._kinds: dict[str, set[RuleKind]] = {}
        for kind, patterns in rules.patterns().items():
            for p in patterns:
                self._kinds.setdefault(p, set()).add(kind)
        self.patterns = PatternSet(self._kinds)
        self._nodes: dict[int, NodeRules] = {}
        self._key_tables: dict[int, dict[str, tuple[int, NodeRules]]] = {}
        self._index_tables: dict[int, dict[int, tuple[int, NodeRules]]] = {}
        self._keyed_tables: dict[int, dict[tuple[type, KeyValue], _KeyedAnswer]] = {}

    # The walk asks "which state and rules for this child?" once per node; these tables answer
    # with one dict lookup (the automaton's own step is a second lookup plus a method call).

    def key_table(self, state: int) -> dict[str, tuple[int, NodeRules]]:
        """The cache behind :meth:`key_child` for ``state`` (read it; fill it via the method)."""
        table = self._key_tables.get(state)
        if table is None:
            table = self._key_tables[state] = {}
        return table

    def key_child(self, state: int, name: str) -> tuple[int, NodeRules]:
        """State and rules of mapping key ``name`` below ``state``."""
        table = self.key_table(state)
        hit = table.get(name)
        if hit is None:
            child = self.patterns.step_key(state, name)
            hit = table[name] = (child, self.node(child))
        return hit

    def index_child(self, state: int, index: int) -> tuple[int, NodeRules]:
        """State and rules of list element ``index`` below ``state``."""
        table = self._index_tables.setdefault(state, {})
        hit = table.get(index)
        if hit is None:
            hit = table[index] = self._answer(self.patterns.step_index(state, index))
        return hit

    def keyed_child(self, state: int, value: KeyValue) -> _KeyedAnswer:
        """State, rules and path token of the list element keyed ``value`` below ``state``
        (the token built once per remembered value, not once per element of every body)."""
        table = self._keyed_tables.setdefault(state, {})
        marker = (type(value), value)
        hit = table.get(marker)
        if hit is None:
            child, rules = self._answer(self.patterns.step_keyed(state, value))
            hit = (child, rules, Keyed(value))
            # Key values are ids, as many as the run has cases: a session-long rule set
            # remembers a bounded number of them, so its memory does not grow with the run.
            if len(table) < _KEYED_REMEMBERED:
                table[marker] = hit
        return hit

    def _answer(self, child: int) -> tuple[int, NodeRules]:
        return child, self.node(child)

    def node(self, state: int) -> NodeRules:
        """The rules for the node at automaton ``state``."""
        found = self._nodes.get(state)
        if found is None:
            found = self._resolve(self.patterns.matched(state))
            self._nodes[state] = found
        return found

    def at(self, path: Sequence[Key | Index | Keyed]) -> NodeRules:
        """The rules for the node at ``path`` (walks from the root)."""
        return self.node(self.patterns.walk(path))

    def _resolve(self, matched: tuple[Pattern, ...]) -> NodeRules:
        if not matched:
            return _NOTHING
        ignore: list[str] = []
        coerce: list[str] = []
        list_key: tuple[str, KeyFields] | None = None
        tolerance: tuple[str, Tolerance] | None = None
        for p in matched:  # most specific first
            kinds = self._kinds[p.text]
            if "ignore" in kinds:
                ignore.append(p.text)
            if "coerce_numbers" in kinds:
                coerce.append(p.text)
            if "list_keys" in kinds and list_key is None:
                list_key = (p.text, self.rules.list_keys[p.text])
            if "tolerances" in kinds and tolerance is None:
                tolerance = (p.text, self.rules.tolerances[p.text])
        return NodeRules(tuple(ignore), list_key, tolerance, tuple(coerce))


_COMPILED: dict[tuple[object, ...], CompiledRules] = {}


def compile_rules(rules: DiffRules) -> CompiledRules:
    """Compile ``rules`` (memoised on their content; the cache holds at most 64 rule sets)."""
    key = rules.key()
    found = _COMPILED.get(key)
    if found is None:
        if len(_COMPILED) >= 64:
            _COMPILED.pop(next(iter(_COMPILED)))
        found = _COMPILED[key] = CompiledRules(rules)
    return found


@dataclass
class RuleUsage:
    """How many nodes each rule decided: ``counts[kind][pattern]`` (see the module docstring)."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def for_rules(cls, rules: DiffRules) -> RuleUsage:
        """All of ``rules``' patterns at zero."""
        return cls({kind: dict.fromkeys(ps, 0) for kind, ps in rules.patterns().items()})

    def add(self, kind: str, pattern: str, count: int = 1) -> None:
        bucket = self.counts.setdefault(kind, {})
        bucket[pattern] = bucket.get(pattern, 0) + count

    def update(self, other: RuleUsage) -> None:
        """Add ``other``'s counts (and its zero entries) into this one."""
        for kind, bucket in other.counts.items():
            for pattern, count in bucket.items():
                self.add(kind, pattern, count)

    @classmethod
    def combine(cls, usages: Iterable[RuleUsage]) -> RuleUsage:
        total = cls()
        for usage in usages:
            total.update(usage)
        return total

    def unused(self) -> list[tuple[str, str]]:
        """``(kind, pattern)`` of every rule that decided nothing, sorted."""
        return sorted(
            (kind, pattern)
            for kind, bucket in self.counts.items()
            for pattern, count in bucket.items()
            if count == 0
        )

    def to_json(self) -> dict[str, dict[str, int]]:
        return {kind: dict(sorted(bucket.items())) for kind, bucket in sorted(self.counts.items())}

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, int]]) -> RuleUsage:
        return cls({str(kind): dict(bucket) for kind, bucket in data.items()})


# ---------------------------------------------------------------------------------------------
# values

_NUMBER: Final = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")


def coerce_number(value: object) -> object:
    """``Decimal`` and numeric strings (JSON number syntax) → ``int`` or ``float``.

    Integral notation (``"228"``, ``Decimal("228")``) gives an ``int``, anything with a fraction
    or exponent a ``float``. Anything else, and non-finite results, come back unchanged, and so
    does an integer of more digits than :data:`~pytest_dualread.strictjson.MAX_DIGITS` (no JSON
    side can hold it as a number): it is then compared exactly, as the text it is.
    """
    if isinstance(value, Decimal):
        if not value.is_finite():
            return value
        _, digits, exponent = value.as_tuple()
        if isinstance(exponent, int) and exponent >= 0:
            return int(value) if len(digits) + exponent <= MAX_DIGITS else value
        result = float(value)
        return result if math.isfinite(result) else value
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        if "." not in value and "e" not in value and "E" not in value:
            return int(value) if len(value.lstrip("-")) <= MAX_DIGITS else value
        result = float(value)
        return result if math.isfinite(result) else value
    return value


def lookup(tree: object, path: Iterable[Key | Index | Keyed]) -> object:
    """The node of a normalized ``tree`` at ``path``, or :data:`MISSING`."""
    node = tree
    for token in path:
        if isinstance(node, dict):
            key: object = token.name if isinstance(token, Key) else token
            if key not in node:
                return MISSING
            node = node[key]
        elif isinstance(node, list) and isinstance(token, Index):
            if token.index >= len(node):
                return MISSING
            node = node[token.index]
        else:
            return MISSING
    return node


def denormalize(value: object) -> Any:
    """Plain JSON-shaped data from a normalized tree: keyed lists become lists again."""
    if isinstance(value, ListMap):
        return [denormalize(v) for v in value.values()]
    if isinstance(value, dict):
        return {k: denormalize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [denormalize(v) for v in value]
    return value


def count_leaves(value: object) -> int:
    """Fields in a (normalized or plain) tree: scalars, and empty containers count one each."""
    if isinstance(value, dict):
        return sum(count_leaves(v) for v in value.values()) if value else 1
    if isinstance(value, list):
        return sum(count_leaves(v) for v in value) if value else 1
    return 1


# ---------------------------------------------------------------------------------------------
# normalisation


@dataclass(frozen=True)
class ListKeyProblem:
    """A list that could not be matched by its declared key on one side.

    ``reason`` is ``missing`` (an item is not an object or lacks the field), ``unusable`` (the
    key is not a str, an int or null) or ``duplicate`` (two items share the key). ``index`` is the
    first offending item, ``value`` its key (absent for ``missing``), ``count`` how many items
    were at fault.
    """

    side: str
    path: Path
    pattern: str
    field: KeyFields
    reason: Literal["missing", "unusable", "duplicate"]
    index: int
    value: object = MISSING
    first_index: int | None = None  # the earlier item holding a duplicated key
    count: int = 1

    @property
    def message(self) -> str:
        where = f"{self.side} list {render_path(self.path) or '<root>'}"
        fields = list(self.field) if isinstance(self.field, tuple) else self.field
        rule = f"(list_keys {self.pattern!r} = {fields!r})"
        if self.reason == "missing":
            what = f"item {self.index} has no {fields!r}"
        elif self.reason == "unusable":
            what = f"item {self.index} has {fields!r} = {self.value!r}, not a str, an int or null"
        else:
            what = (
                f"items {self.first_index} and {self.index} share {self.field!r} = {self.value!r}"
            )
        more = f" ({self.count} items at fault)" if self.count > 1 else ""
        return f"{where} {rule}: {what}{more}; matched by index instead"


@dataclass
class Normalized:
    """One side after :func:`normalize`: the tree and facts gathered on the way."""

    value: Any
    leaves: int = 0
    has_nan: bool = False
    needs_strict_eq: bool = False  # holds a bool or a Decimal: ``==`` alone could mislead
    problems: list[ListKeyProblem] = field(default_factory=list)


# leaves that need no rule and no check (float needs a NaN check, bool and Decimal a flag)
_PLAIN: Final = frozenset({str, int, type(None)})

# a cheap linked path: (parent chain, step); a str step is a mapping key, an int a list index
_Chain = tuple[Any, Any] | None


def _materialize(chain: _Chain) -> Path:
    steps: list[Key | Index | Keyed] = []
    while chain is not None:
        chain, step = chain
        if isinstance(step, str):
            steps.append(Key(step))
        elif isinstance(step, int):
            steps.append(Index(step))
        else:
            steps.append(step)
    return tuple(reversed(steps))


def key_order(value: KeyValue) -> tuple[Any, ...]:
    """Ints, then strs, then null, then composite keys (by their parts): a total order."""
    if isinstance(value, tuple):
        return (3, tuple(key_order(part) for part in value))
    if value is None:
        return (2, 0)
    return (0, value) if isinstance(value, int) else (1, value)


def normalize(
    value: object,
    rules: DiffRules | CompiledRules,
    *,
    side: str = "",
    usage: RuleUsage | None = None,
    index_fallback: frozenset[Path] = frozenset(),
) -> Normalized:
    """Normalize one side. Lists at paths in ``index_fallback`` are matched by index even if a
    list key applies (their keys are still checked, so problems are still reported)."""
    compiled = rules if isinstance(rules, CompiledRules) else compile_rules(rules)
    key_table, key_child = compiled.key_table, compiled.key_child
    index_child, keyed_child = compiled.index_child, compiled.keyed_child
    out = Normalized(value=None)
    problems = out.problems
    # usage is counted per automaton state and turned into per-rule counts at the end
    ignored: dict[int, int] = {}
    lists: dict[int, int] = {}
    ruled_leaves: dict[int, int] = {}
    leaves = 0
    has_nan = strict = False

    def walk_list(node: list[Any], sid: int, chain: _Chain, rule: NodeRules) -> Any:
        if rule.list_key is not None:
            lists[sid] = lists.get(sid, 0) + 1
            pattern, name = rule.list_key
            path = _materialize(chain)
            keyed = _key_items(node, name, side, path, pattern, problems)
            if keyed is not None and path not in index_fallback:
                result = ListMap()
                for key_value, item in keyed:
                    child, crule, token = keyed_child(sid, key_value)
                    if crule.ignore:
                        ignored[child] = ignored.get(child, 0) + 1
                        continue
                    result[token] = walk(item, child, (chain, token), crule)
                return result
        items: list[Any] = []
        dropped = False
        nonlocal leaves
        for i, item in enumerate(node):
            child, crule = index_child(sid, i)
            if crule is _NOTHING and type(item) in _PLAIN:  # fast path: most leaves
                leaves += 1
                items.append(item)
            elif crule.ignore:
                ignored[child] = ignored.get(child, 0) + 1
                dropped = True
                items.append(MISSING)
            else:
                items.append(walk(item, child, (chain, i), crule))
        if dropped:  # keep positions honest: a mapping by index, without the dropped ones
            return ListMap((Index(i), v) for i, v in enumerate(items) if v is not MISSING)
        return items

    def walk(node: Any, sid: int, chain: _Chain, rule: NodeRules) -> Any:
        nonlocal leaves, has_nan, strict
        kind = type(node)
        if kind is dict:
            if not node:
                leaves += 1
                return {}
            result: dict[Any, Any] = {}
            try:
                keys = sorted(node)
            except TypeError:  # not JSON: keys of mixed types
                keys = sorted(node, key=repr)
            table = key_table(sid)
            for k in keys:
                hit = table.get(k)
                if hit is None:
                    hit = key_child(sid, k if isinstance(k, str) else str(k))
                child, crule = hit
                value = node[k]
                if crule is _NOTHING and type(value) in _PLAIN:  # fast path: most leaves
                    leaves += 1
                    result[k] = value
                elif crule.ignore:
                    ignored[child] = ignored.get(child, 0) + 1
                else:
                    result[k] = walk(value, child, (chain, str(k)), crule)
            return result
        if kind is list:
            if not node:
                leaves += 1
                if rule.list_key is not None:
                    lists[sid] = lists.get(sid, 0) + 1
                    if _materialize(chain) not in index_fallback:
                        return ListMap()
                return []
            return walk_list(node, sid, chain, rule)
        leaves += 1
        if rule is not _NOTHING:
            ruled_leaves[sid] = ruled_leaves.get(sid, 0) + 1
            if rule.coerce:
                node = coerce_number(node)
                kind = type(node)
        if kind is float:
            if node != node:
                has_nan = True
        elif kind is bool:
            strict = True
        elif kind is Decimal:
            strict = True
            if node.is_nan():
                has_nan = True
        return node

    start = compiled.patterns.start
    out.value = walk(value, start, None, compiled.node(start))
    out.leaves, out.has_nan, out.needs_strict_eq = leaves, has_nan, strict
    if usage is not None:
        node = compiled.node
        for sid, n in ignored.items():
            for p in node(sid).ignore:
                usage.add("ignore", p, n)
        for sid, n in lists.items():
            list_key = node(sid).list_key
            if list_key is not None:
                usage.add("list_keys", list_key[0], n)
        for sid, n in ruled_leaves.items():
            rule = node(sid)
            for p in rule.coerce:
                usage.add("coerce_numbers", p, n)
            if rule.tolerance is not None:
                usage.add("tolerances", rule.tolerance[0], n)
    return out


_KEY_PARTS: Final = (str, int)
"""The types a list key (or each part of a composite one) may have, besides null."""


def _key_items(
    items: list[Any],
    name: KeyFields,
    side: str,
    path: Path,
    pattern: str,
    problems: list[ListKeyProblem],
) -> list[tuple[KeyValue, Any]] | None:
    """``(key, item)`` sorted by key, or ``None`` after recording the list's problem. A null
    key is a key like any other (one item may have it); a composite key is a tuple."""
    single = not isinstance(name, tuple)
    seen: dict[tuple[type, KeyValue], int] = {}
    pairs: list[tuple[KeyValue, Any]] = []
    problem: ListKeyProblem | None = None
    faults = 0
    for i, item in enumerate(items):
        fault: ListKeyProblem | None = None
        key: Any
        # one field (the usual key) is read without building a tuple of one per item
        if single:
            if not isinstance(item, dict) or name not in item:
                fault = ListKeyProblem(side, path, pattern, name, "missing", i)
            else:
                key = item[name]
                if not (key is None or type(key) in _KEY_PARTS):
                    fault = ListKeyProblem(side, path, pattern, name, "unusable", i, key)
        elif not isinstance(item, dict) or any(n not in item for n in name):
            fault = ListKeyProblem(side, path, pattern, name, "missing", i)
        else:
            key = tuple(item[n] for n in name)
            if not all(part is None or type(part) in _KEY_PARTS for part in key):
                fault = ListKeyProblem(side, path, pattern, name, "unusable", i, key)
        if fault is None:
            marker = (type(key), key)
            first = seen.get(marker)
            if first is not None:
                fault = ListKeyProblem(side, path, pattern, name, "duplicate", i, key, first)
            else:
                seen[marker] = i
                pairs.append((key, item))
        if fault is not None:
            faults += 1
            problem = problem or fault
    if problem is not None:
        if faults > 1:
            problem = ListKeyProblem(
                problem.side,
                problem.path,
                problem.pattern,
                problem.field,
                problem.reason,
                problem.index,
                problem.value,
                problem.first_index,
                faults,
            )
        problems.append(problem)
        return None
    pairs.sort(key=lambda pair: key_order(pair[0]))
    return pairs


def normalize_sides(
    sides: Mapping[str, object], rules: DiffRules | CompiledRules
) -> tuple[dict[str, Normalized], RuleUsage]:
    """Normalize every side of a check consistently.

    A list whose keys fail on any side is matched by index on all sides (repeated until stable,
    since falling back can move paths below it). Returns the sides and the rule usage summed
    over them, starting from every rule at zero.
    """
    compiled = rules if isinstance(rules, CompiledRules) else compile_rules(rules)
    fallback: frozenset[Path] = frozenset()
    while True:
        usage = RuleUsage.for_rules(compiled.rules)
        result = {
            side: normalize(value, compiled, side=side, usage=usage, index_fallback=fallback)
            for side, value in sides.items()
        }
        failed = {p.path for n in result.values() for p in n.problems}
        if failed <= fallback:
            return result, usage
        fallback = fallback | failed
