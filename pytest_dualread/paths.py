"""Canonical paths of DTO fields and the rule pattern language (ARCHITECTURE §4.4).

A *path* is a tuple of tokens, never a string:

* :class:`Key` — a mapping key: ``meta`` in ``meta.request_id``;
* :class:`Index` — a list element matched by position: ``[0]`` in ``items[0]``;
* :class:`Keyed` — a list element matched by its declared list key: ``[breakfast]`` in
  ``meals[breakfast].kcal`` (see ``list_keys`` in :mod:`pytest_dualread.normalize`).

Strings appear only at the edges, for people: :func:`render_path` writes the canonical text and
:func:`parse_path` reads it back (``parse_path(render_path(p)) == p`` for every path).

Canonical text
--------------
Keys are joined by ``.``; elements follow their list without a dot. A key is written bare when
it is non-empty and contains none of ``. [ ] " \\ * =`` nor whitespace; otherwise it is written as
a JSON string in brackets: ``meta["a.b"]``, ``["two words"].x``. Element tokens:

=================  ===============================================================
``[3]``            :class:`Index` 3
``[breakfast]``    :class:`Keyed` ``"breakfast"`` (a bare word that is not all digits)
``[="7"]``         :class:`Keyed` ``"7"`` (a string key that needs quoting: JSON string)
``[=7]``           :class:`Keyed` ``7`` (an integer list key)
=================  ===============================================================

The root itself renders as the empty string.

Patterns
--------
A pattern is a canonical path in which whole segments may be wildcards:

* ``*`` — exactly one key (never a list element);
* ``[*]`` — exactly one list element, keyed or indexed;
* ``**`` — zero or more segments of any kind (``**.kcal`` matches ``kcal``,
  ``meals[breakfast].kcal`` and ``days[0].meals[lunch].kcal``).

A wildcard must be a whole segment (``a*`` is an error; write ``["a*"]`` for a key that really
contains a star). :func:`compile_pattern` parses a pattern once into a :class:`Pattern`; bad
syntax raises :class:`PatternError` (a :class:`ValueError`) naming the pattern and the 0-based
position. Matching works on token tuples: no regular expression ever sees a rendered path, so
keys holding dots, brackets or stars cannot confuse it.

Specificity: which rule wins
----------------------------
When several patterns match one path, the most specific wins. :attr:`Pattern.specificity` sorts
ascending, most specific first, by: fewer ``**``; then more literal segments; then fewer ``*`` /
``[*]``; then the canonical text (so the order is total and stable).
``meals[*].items[*].kcal`` beats ``**.items[*].kcal``, which beats ``**.kcal``.

Many patterns at once
---------------------
:class:`PatternSet` compiles many patterns into one lazily built deterministic automaton, so a
tree walk carries one small integer state per node and pays a dict lookup per step, however many
rules there are. Tokens no pattern names literally share one input symbol, so the transition
table stays small for large documents.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, TypeAlias

from pytest_dualread.errors import DualReadError

__all__ = [
    "ANY_ELEMENT",
    "ANY_KEY",
    "GLOBSTAR",
    "Index",
    "Key",
    "Keyed",
    "Path",
    "Pattern",
    "PatternError",
    "PatternSet",
    "Segment",
    "Token",
    "compile_pattern",
    "field_pattern",
    "parse_path",
    "path_from_parts",
    "render_path",
]


@dataclass(frozen=True, slots=True)
class Key:
    """A mapping key."""

    name: str

    def __str__(self) -> str:
        return render_path((self,))


@dataclass(frozen=True, slots=True)
class Index:
    """A list element matched by position (0-based)."""

    index: int

    def __post_init__(self) -> None:
        if type(self.index) is not int or self.index < 0:
            raise ValueError(f"a list index must be an int >= 0, got {self.index!r}")

    def __str__(self) -> str:
        return f"[{self.index}]"


@dataclass(frozen=True, slots=True)
class Keyed:
    """A list element matched by the value of its declared list key (a str or an int)."""

    value: str | int

    def __post_init__(self) -> None:
        if type(self.value) not in (str, int):
            raise ValueError(f"a list key value must be a str or an int, got {self.value!r}")

    def __str__(self) -> str:
        return _render_element(self)


Token: TypeAlias = Key | Index | Keyed
"""One step from a node to a child."""

Path: TypeAlias = tuple[Token, ...]
"""The canonical path of a node: the tokens from the root. ``()`` is the root."""


class _Wildcard:
    """A wildcard segment of a pattern; the three instances are module constants."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<wildcard {self.text}>"


ANY_KEY: Final = _Wildcard("*")
ANY_ELEMENT: Final = _Wildcard("[*]")
GLOBSTAR: Final = _Wildcard("**")

Segment: TypeAlias = Key | Index | Keyed | _Wildcard
"""One segment of a compiled pattern: a literal token or one of the three wildcards."""


class PatternError(DualReadError, ValueError):
    """A path or pattern is malformed. ``pattern`` is the text, ``position`` the 0-based index
    of the offending character, ``reason`` what was expected there."""

    def __init__(self, pattern: str, position: int, reason: str) -> None:
        self.pattern = pattern
        self.position = position
        self.reason = reason
        shown = repr(pattern) if len(pattern) <= 80 else f"{pattern[:80]!r}…"
        super().__init__(f"bad path pattern {shown} at position {position}: {reason}")


# ---------------------------------------------------------------------------------------------
# rendering

_SPECIAL: Final = frozenset('.[]"\\*=')


def _is_bare(text: str) -> bool:
    return bool(text) and not any(ch in _SPECIAL or ch.isspace() for ch in text)


def _looks_numeric(text: str) -> bool:
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


def _quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _render_element(token: Index | Keyed) -> str:
    if isinstance(token, Index):
        return f"[{token.index}]"
    value = token.value
    if isinstance(value, str):
        if _is_bare(value) and not _looks_numeric(value):
            return f"[{value}]"
        return f"[={_quote(value)}]"
    return f"[={value}]"


def _render_segments(segments: Iterable[Segment]) -> str:
    parts: list[str] = []
    for seg in segments:
        if isinstance(seg, Key):
            if _is_bare(seg.name):
                parts.append(f".{seg.name}" if parts else seg.name)
            else:
                parts.append(f"[{_quote(seg.name)}]")
        elif isinstance(seg, (Index, Keyed)):
            parts.append(_render_element(seg))
        elif seg is ANY_ELEMENT:
            parts.append("[*]")
        else:  # ANY_KEY or GLOBSTAR
            parts.append(f".{seg.text}" if parts else seg.text)
    return "".join(parts)


def render_path(path: Iterable[Token]) -> str:
    """The canonical text of a path (see the module docstring); ``""`` for the root."""
    return _render_segments(path)


def field_pattern(path: Iterable[Token]) -> str:
    """The field a path names, its list elements as ``[*]``: ``meals[breakfast].items[0].fat_g``
    is ``meals[*].items[*].fat_g``, one name for that field in every element and every check."""
    return _render_segments(ANY_ELEMENT if type(t) is not Key else t for t in path)


def path_from_parts(parts: Iterable[str | int]) -> Path:
    """A path from plain parts: ``str`` → :class:`Key`, ``int`` → :class:`Index`.

    This reads pydantic error locations and similar positional paths; it never produces
    :class:`Keyed` tokens (use :func:`parse_path` for canonical text).
    """
    out: list[Token] = []
    for part in parts:
        if isinstance(part, bool):
            raise ValueError(f"a path part must be a str or an int, got {part!r}")
        if isinstance(part, int):
            out.append(Index(part))
        elif isinstance(part, str):
            out.append(Key(part))
        else:
            raise ValueError(f"a path part must be a str or an int, got {part!r}")
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# parsing

_DECODER: Final = json.JSONDecoder()
_INDEX_DIGITS: Final = 18
"""Longest list index in a pattern: no list is longer, and int() refuses 4,300 digits."""


def _parse_segments(text: str) -> tuple[Segment, ...]:
    """Parse pattern syntax; wildcards are allowed here, :func:`parse_path` refuses them."""
    segments: list[Segment] = []
    pos = 0
    n = len(text)

    def bare_word(start: int) -> int:
        end = start
        while end < n and not (text[end] in _SPECIAL or text[end].isspace()):
            end += 1
        return end

    def key_segment(start: int) -> int:
        """Read a dotted segment (bare key, ``*`` or ``**``) at ``start``; return its end."""
        if start < n and text[start] == "*":
            end = start
            while end < n and text[end] == "*":
                end += 1
            if end - start > 2:
                raise PatternError(text, start, "'***' is not a wildcard; use '*' or '**'")
            if end < n and text[end] not in ".[":
                raise PatternError(text, end, "a wildcard must be a whole segment")
            segments.append(ANY_KEY if end - start == 1 else GLOBSTAR)
            return end
        end = bare_word(start)
        if end == start:
            if start >= n:
                raise PatternError(text, start, "expected a key, got the end of the pattern")
            ch = text[start]
            if ch == ".":
                raise PatternError(text, start, "expected a key, got '.' (an empty key?)")
            if ch == "[":
                raise PatternError(text, start, "expected a key after '.', not '['")
            what = "whitespace" if ch.isspace() else repr(ch)
            raise PatternError(text, start, f'expected a key, got {what} (quote it: ["..."])')
        if end < n and text[end] == "*":
            raise PatternError(text, end, "a wildcard must be a whole segment")
        segments.append(Key(text[start:end]))
        return end

    if n == 0:
        raise PatternError(text, 0, "empty pattern")
    if text[0] != "[":
        pos = key_segment(0)
    while pos < n:
        ch = text[pos]
        if ch == ".":
            pos = key_segment(pos + 1)
        elif ch == "[":
            pos = _bracket(text, pos + 1, segments)
        else:
            raise PatternError(text, pos, f"expected '.' or '[', got {ch!r}")
    return tuple(segments)


def _bracket(text: str, pos: int, segments: list[Segment]) -> int:
    """Read the inside of ``[...]`` starting after ``[``; append a segment; return the end."""
    n = len(text)
    if pos >= n:
        raise PatternError(text, pos, "unclosed '['")
    ch = text[pos]
    seg: Segment
    if ch == "*":
        if text.startswith("**", pos):
            raise PatternError(text, pos, "'**' cannot be an element; use '[*]' or '.**'")
        seg, end = ANY_ELEMENT, pos + 1
    elif ch == '"':
        value, end = _json_at(text, pos)
        if not isinstance(value, str):  # pragma: no cover - a '"' always starts a string
            raise PatternError(text, pos, "expected a JSON string")
        seg = Key(value)
    elif ch == "=":
        value, end = _json_at(text, pos + 1)
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise PatternError(text, pos + 1, "a list key must be a JSON string or an integer")
        seg = Keyed(value)
    else:
        end = pos
        while end < n and not (text[end] in _SPECIAL or text[end].isspace()):
            end += 1
        word = text[pos:end]
        if not word:
            if end >= n:
                raise PatternError(text, end, "unclosed '['")
            raise PatternError(text, end, f"unexpected {text[end]!r} inside '[...]'")
        if _looks_numeric(word):
            if word.startswith("-"):
                raise PatternError(text, pos, "a list index cannot be negative")
            if len(word) > _INDEX_DIGITS:
                raise PatternError(text, pos, f"a list index has at most {_INDEX_DIGITS} digits")
            seg = Index(int(word))
        else:
            seg = Keyed(word)
    if end >= n or text[end] != "]":
        raise PatternError(text, end, "expected ']'")
    segments.append(seg)
    return end + 1


def _json_at(text: str, pos: int) -> tuple[object, int]:
    try:
        value, end = _DECODER.raw_decode(text, pos)
    except json.JSONDecodeError as exc:
        raise PatternError(text, pos, f"bad JSON value: {exc.msg}") from None
    except (ValueError, RecursionError) as exc:  # a number past int()'s limit; deep nesting
        raise PatternError(text, pos, f"bad JSON value: {type(exc).__name__}: {exc}") from None
    return value, end


def parse_path(text: str) -> Path:
    """Read a canonical path; ``""`` is the root. Wildcards raise :class:`PatternError`."""
    if text == "":
        return ()
    segments = _parse_segments(text)
    out: list[Token] = []
    for seg in segments:
        if isinstance(seg, _Wildcard):
            raise PatternError(text, 0, f"a concrete path cannot contain the wildcard {seg.text}")
        out.append(seg)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# compiled patterns


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern. ``text`` is canonical; ``source`` is what was written."""

    text: str
    segments: tuple[Segment, ...]
    source: str = field(compare=False)

    @property
    def specificity(self) -> tuple[int, int, int, str]:
        """Sort key, most specific first (see the module docstring)."""
        globstars = sum(1 for s in self.segments if s is GLOBSTAR)
        singles = sum(1 for s in self.segments if s is ANY_KEY or s is ANY_ELEMENT)
        literals = len(self.segments) - globstars - singles
        return (globstars, -literals, singles, self.text)

    def matches(self, path: Sequence[Token]) -> bool:
        """Whether this pattern matches the whole of ``path``."""
        segs = self.segments
        positions = _closure(segs, {0})
        for token in path:
            nxt: set[int] = set()
            for j in positions:
                if j < len(segs):
                    seg = segs[j]
                    if seg is GLOBSTAR:
                        nxt.add(j)
                    elif _segment_accepts(seg, token):
                        nxt.add(j + 1)
            if not nxt:
                return False
            positions = _closure(segs, nxt)
        return len(segs) in positions

    def __str__(self) -> str:
        return self.text


def _closure(segs: Sequence[Segment], positions: Iterable[int]) -> set[int]:
    """Add the positions reachable by letting ``**`` match zero segments."""
    out = set(positions)
    todo = list(out)
    while todo:
        j = todo.pop()
        if j < len(segs) and segs[j] is GLOBSTAR and j + 1 not in out:
            out.add(j + 1)
            todo.append(j + 1)
    return out


def _segment_accepts(seg: Segment, token: Token) -> bool:
    if seg is ANY_KEY:
        return isinstance(token, Key)
    if seg is ANY_ELEMENT:
        return isinstance(token, (Index, Keyed))
    return seg == token


@lru_cache(maxsize=1024)
def compile_pattern(text: str) -> Pattern:
    """Parse a pattern once (cached); bad syntax raises :class:`PatternError`."""
    if not isinstance(text, str):
        raise TypeError(f"a pattern must be a str, got {type(text).__name__}")
    segments = _parse_segments(text)
    return Pattern(text=_render_segments(segments), segments=segments, source=text)


class _Other:
    __slots__ = ()


_OTHER_KEY: Final = _Other()
_OTHER_ELEMENT: Final = _Other()


class PatternSet:
    """Many patterns as one automaton, for walking a tree.

    States are small ints; :attr:`start` is the root's state. Step with :meth:`step` (any
    token), or the allocation-free :meth:`step_key` / :meth:`step_index` / :meth:`step_keyed`.
    :meth:`matched` lists the patterns matching the path walked so far, most specific first;
    :meth:`is_dead` says no pattern can match anything below. Duplicated patterns (by canonical
    text) are kept once.
    """

    def __init__(self, patterns: Iterable[Pattern | str]) -> None:
        unique: dict[str, Pattern] = {}
        for p in patterns:
            compiled = compile_pattern(p) if isinstance(p, str) else p
            unique.setdefault(compiled.text, compiled)
        self.patterns: tuple[Pattern, ...] = tuple(unique.values())
        self._keys: set[str] = set()
        self._indices: dict[int, Index] = {}
        self._keyed: dict[str | int, Keyed] = {}
        for p in self.patterns:
            for seg in p.segments:
                if isinstance(seg, Key):
                    self._keys.add(seg.name)
                elif isinstance(seg, Index):
                    self._indices[seg.index] = seg
                elif isinstance(seg, Keyed):
                    self._keyed[seg.value] = seg
        self._states: list[frozenset[tuple[int, int]]] = []
        self._ids: dict[frozenset[tuple[int, int]], int] = {}
        self._trans: list[dict[object, int]] = []
        self._matched: list[tuple[Pattern, ...]] = []
        start: set[tuple[int, int]] = set()
        for i, p in enumerate(self.patterns):
            start.update((i, j) for j in _closure(p.segments, {0}))
        self.start: int = self._intern(frozenset(start))
        self.dead: int = self._intern(frozenset())

    def _intern(self, state: frozenset[tuple[int, int]]) -> int:
        found = self._ids.get(state)
        if found is not None:
            return found
        sid = len(self._states)
        self._ids[state] = sid
        self._states.append(state)
        self._trans.append({})
        done = [self.patterns[i] for i, j in state if j == len(self.patterns[i].segments)]
        self._matched.append(tuple(sorted(done, key=lambda p: p.specificity)))
        return sid

    def _advance(self, sid: int, token: Token | _Other) -> int:
        nxt: set[tuple[int, int]] = set()
        for i, j in self._states[sid]:
            segs = self.patterns[i].segments
            if j >= len(segs):
                continue
            seg = segs[j]
            if seg is GLOBSTAR:
                nxt.add((i, j))
            elif seg is ANY_KEY:
                if token is _OTHER_KEY or isinstance(token, Key):
                    nxt.add((i, j + 1))
            elif seg is ANY_ELEMENT:
                if token is _OTHER_ELEMENT or isinstance(token, (Index, Keyed)):
                    nxt.add((i, j + 1))
            elif seg == token:
                nxt.add((i, j + 1))
        closed: set[tuple[int, int]] = set()
        for i, j in nxt:
            closed.update((i, k) for k in _closure(self.patterns[i].segments, {j}))
        return self._intern(frozenset(closed))

    def step_key(self, sid: int, name: str) -> int:
        """The state after descending into mapping key ``name``."""
        table = self._trans[sid]
        found = table.get(name)
        if found is not None:
            return found
        symbol: Token | _Other = Key(name) if name in self._keys else _OTHER_KEY
        nxt = self._advance(sid, symbol)
        table[name] = nxt
        return nxt

    def _step_symbol(self, sid: int, symbol: Index | Keyed | _Other) -> int:
        table = self._trans[sid]
        found = table.get(symbol)
        if found is not None:
            return found
        nxt = self._advance(sid, symbol)
        table[symbol] = nxt
        return nxt

    def step_index(self, sid: int, index: int) -> int:
        """The state after descending into list element ``index``."""
        return self._step_symbol(sid, self._indices.get(index, _OTHER_ELEMENT))

    def step_keyed(self, sid: int, value: str | int) -> int:
        """The state after descending into the list element whose list key is ``value``."""
        # an int and a str key are different elements, and bool is not a list key
        symbol = self._keyed.get(value, _OTHER_ELEMENT)
        if isinstance(symbol, Keyed) and type(symbol.value) is not type(value):
            symbol = _OTHER_ELEMENT
        return self._step_symbol(sid, symbol)

    def step(self, sid: int, token: Token) -> int:
        """The state after descending by ``token``."""
        if isinstance(token, Key):
            return self.step_key(sid, token.name)
        if isinstance(token, Index):
            return self.step_index(sid, token.index)
        return self.step_keyed(sid, token.value)

    def walk(self, path: Iterable[Token], sid: int | None = None) -> int:
        """The state after walking ``path`` from ``sid`` (default: the root)."""
        state = self.start if sid is None else sid
        for token in path:
            state = self.step(state, token)
        return state

    def matched(self, sid: int) -> tuple[Pattern, ...]:
        """The patterns matching at this state, most specific first."""
        return self._matched[sid]

    def is_dead(self, sid: int) -> bool:
        """No pattern can match at this state or anywhere below it."""
        return not self._states[sid]

    def match(self, path: Iterable[Token]) -> tuple[Pattern, ...]:
        """The patterns matching ``path``, most specific first."""
        return self.matched(self.walk(path))
