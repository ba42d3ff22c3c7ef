"""Strict JSON: what responses, case files and goldens must be before anything compares them.

Python's :mod:`json` accepts more than RFC 8259 and decides silently where the data is
ambiguous: it reads ``NaN``, ``Infinity`` and ``-Infinity``, keeps the last of two equal keys,
turns ``1e999`` into infinity, and raises ``RecursionError`` (or exhausts the stack of whatever
walks the tree next) on deep nesting. A comparison built on such a tree can pass for the wrong
reason, so :func:`loads` refuses each of them with a :class:`JsonProblem` that says what and
where (the key path), and :func:`check_depth` bounds a tree that did not come from text.

The depth limit, :data:`MAX_DEPTH` = 128 nested arrays or objects, is far beyond any real DTO
(a few levels, rarely 20) and well inside what the steps after loading can walk: pydantic's
serializer stops at about 250 levels and the diff recurses several frames per level.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, Final

from pytest_dualread.errors import DualReadError
from pytest_dualread.paths import Index, Key, render_path

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "JsonProblem", "check_depth", "loads"]

MAX_DEPTH: Final = 128
MAX_DIGITS: Final = 4300
"""Longest integer accepted: Python's own limit for converting digits to an ``int``."""


class JsonProblem(DualReadError, ValueError):
    """Text or a tree that is not strict JSON. ``reason`` says what, ``where`` the key path
    (``""`` for the root or when the parser stopped before a tree existed)."""

    def __init__(self, reason: str, where: str = "", *, line: int | None = None) -> None:
        self.reason = reason
        self.where = where
        self.line = line
        """For JSON Lines: the line (from 1) that is not a JSON object."""
        super().__init__(f"{reason} at {where}" if where else reason)


class _Refused:
    """Stands in the tree for a value the parser met but strict JSON refuses."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Duplicated(dict[str, Any]):
    """An object in which ``key`` appeared twice."""

    key = ""


def _constant(name: str) -> _Refused:
    return _Refused(f"{name} is not a JSON number (RFC 8259)")


def _float(text: str) -> float | _Refused:
    value = float(text)
    return value if math.isfinite(value) else _Refused(f"number {text[:30]} is too large")


def _int(text: str) -> int | _Refused:
    digits = len(text.lstrip("-"))
    if digits > MAX_DIGITS:
        return _Refused(f"an integer of {digits} digits (at most {MAX_DIGITS})")
    return int(text)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    built = dict(pairs)
    if len(built) == len(pairs):  # no key twice: the usual case, built at C speed
        return built
    built = {}
    for key, value in pairs:
        if key in built:
            duplicated = _Duplicated(built)
            duplicated.key = key
            return duplicated
        built[key] = value
    return built


def loads(text: str | bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse strict JSON. :class:`JsonProblem` for NaN / Infinity, a number out of range, a
    duplicate key or nesting deeper than ``max_depth``; ``ValueError`` (``json.JSONDecodeError``
    or ``UnicodeDecodeError``) for text that is not JSON at all."""
    try:
        tree = json.loads(
            text,
            parse_constant=_constant,
            parse_float=_float,
            parse_int=_int,
            object_pairs_hook=_pairs,
        )
    except RecursionError:
        raise JsonProblem(f"nested deeper than {max_depth} levels") from None
    _check(tree, max_depth, parsed=True)
    return tree


def object_lines(text: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The objects of JSON Lines ``text``, each with its line number (from 1); blank lines are
    skipped. :class:`JsonProblem` with the ``line`` of one that is not a strict JSON object."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = loads(line)
        except ValueError as exc:  # not JSON at all, or JSON strict parsing refuses
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
            raise JsonProblem(f"not JSON: {reason}", line=number) from None
        if not isinstance(record, dict):
            raise JsonProblem("not a JSON object", line=number)
        yield number, record


def check_depth(tree: object, max_depth: int = MAX_DEPTH) -> None:
    """:class:`JsonProblem` when ``tree`` nests arrays or objects deeper than ``max_depth``."""
    _check(tree, max_depth, parsed=False)


def _check(tree: object, max_depth: int, *, parsed: bool) -> None:
    # Iterative on purpose: the point is to survive trees too deep to recurse into. Paths are
    # not carried here (this runs on every body, and nearly every body is fine): a problem,
    # once seen, is located by _locate, which carries them.
    if not isinstance(tree, (dict, list)):
        if parsed and isinstance(tree, _Refused):
            _locate(tree, max_depth, parsed=parsed)
        return
    stack: list[tuple[dict[Any, Any] | list[Any], int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth >= max_depth or (parsed and isinstance(node, _Duplicated)):
            _locate(tree, max_depth, parsed=parsed)
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
            elif parsed and isinstance(child, _Refused):
                _locate(tree, max_depth, parsed=parsed)


def _locate(tree: object, max_depth: int, *, parsed: bool) -> None:
    """Raise the :class:`JsonProblem` of ``tree``, naming where it is."""
    stack: list[tuple[object, int, tuple[Key | Index, ...]]] = [(tree, 0, ())]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, (dict, list)):
            if depth >= max_depth:
                raise JsonProblem(f"nested deeper than {max_depth} levels", _render(path))
            if isinstance(node, dict):
                if parsed and isinstance(node, _Duplicated):
                    raise JsonProblem(f"duplicate key {node.key!r}", _render(path) or "the root")
                stack.extend((v, depth + 1, (*path, Key(str(k)))) for k, v in node.items())
            else:
                stack.extend((v, depth + 1, (*path, Index(i))) for i, v in enumerate(node))
        elif parsed and isinstance(node, _Refused):
            raise JsonProblem(node.reason, _render(path) or "the root")


def _render(path: tuple[Key | Index, ...]) -> str:
    text = render_path(path)
    return text if len(text) <= 80 else text[:79] + "…"  # a deep path is read by its start
