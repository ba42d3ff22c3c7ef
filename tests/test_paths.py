"""Canonical path tokens and the rule pattern language (pytest_dualread.paths)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_dualread.paths import (
    ANY_ELEMENT,
    ANY_KEY,
    GLOBSTAR,
    Index,
    Key,
    Keyed,
    Path,
    PatternError,
    PatternSet,
    Token,
    compile_pattern,
    parse_path,
    path_from_parts,
    render_path,
)

K, I, E = Key, Index, Keyed  # noqa: E741 - short names keep the tables readable

RENDER_CASES: list[tuple[Path, str]] = [
    ((), ""),
    ((K("kcal"),), "kcal"),
    ((K("meta"), K("request_id")), "meta.request_id"),
    ((K("meals"), E("breakfast"), K("kcal")), "meals[breakfast].kcal"),
    ((K("items"), I(0)), "items[0]"),
    ((K("items"), I(12), K("grams")), "items[12].grams"),
    ((I(0),), "[0]"),
    ((E("f1"),), "[f1]"),
    ((K("a.b"),), '["a.b"]'),
    ((K("meta"), K("a.b"), K("c")), 'meta["a.b"].c'),
    ((K("two words"),), '["two words"]'),
    ((K(""),), '[""]'),
    ((K("*"),), '["*"]'),
    ((K("**"), K("x")), '["**"].x'),
    ((K("a[0]"),), '["a[0]"]'),
    ((K('say "hi"'),), '["say \\"hi\\""]'),
    ((K("k=v"),), '["k=v"]'),
    ((K("0"),), "0"),
    ((K("x"), K("0")), "x.0"),
    ((K("x"), E("7")), 'x[="7"]'),
    ((K("x"), E("-7")), 'x[="-7"]'),
    ((K("x"), E(7)), "x[=7]"),
    ((K("x"), E(-7)), "x[=-7]"),
    ((K("x"), E("a b")), 'x[="a b"]'),
    ((K("x"), E("]")), 'x[="]"]'),
    ((K("名前"), E("朝食")), "名前[朝食]"),
    ((K("snake_case-and:colon@at"),), "snake_case-and:colon@at"),
]


@pytest.mark.parametrize(
    ("path", "text"), RENDER_CASES, ids=[t or "<root>" for _, t in RENDER_CASES]
)
def test_render_and_parse_are_inverse(path: Path, text: str) -> None:
    assert render_path(path) == text
    assert parse_path(text) == path


def test_token_str_is_its_canonical_text() -> None:
    assert str(K("a.b")) == '["a.b"]'
    assert str(I(3)) == "[3]"
    assert str(E("lunch")) == "[lunch]"
    assert str(E(5)) == "[=5]"


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("items[007]", "items[7]"),
        ('["plain"].x', "plain.x"),
        ('x[="lunch"]', "x[lunch]"),
        ('x["k"]', "x.k"),
    ],
    ids=["leading-zeros", "needless-quotes", "needless-keyed-quotes", "quoted-key-after-key"],
)
def test_parse_accepts_non_canonical_spellings(text: str, canonical: str) -> None:
    assert render_path(parse_path(text)) == canonical


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (lambda: I(-1), "index must be an int >= 0"),
        (lambda: I(True), "index must be an int >= 0"),
        (lambda: E(1.5), "list key value must be a str, an int, null or a tuple"),
        (lambda: E(True), "list key value must be a str, an int, null or a tuple"),
        (lambda: E(()), "list key value must be a str, an int, null or a tuple"),
        (lambda: E(("a", 1.5)), "list key value must be a str, an int, null or a tuple"),
    ],
    ids=["negative-index", "bool-index", "float-key", "bool-key", "empty-key", "float-in-key"],
)
def test_tokens_refuse_bad_values(value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        value()  # type: ignore[operator]


def test_path_from_parts_reads_pydantic_locations() -> None:
    assert path_from_parts(("items", 0, "kcal")) == (K("items"), I(0), K("kcal"))
    with pytest.raises(ValueError, match="str or an int"):
        path_from_parts(("items", True))
    with pytest.raises(ValueError, match="str or an int"):
        path_from_parts(("items", 1.0))  # type: ignore[arg-type]


BAD_PATTERNS = [
    ("", 0, "empty pattern"),
    ("a..b", 2, "empty key"),
    ("a.", 2, "end of the pattern"),
    (".a", 0, "empty key"),
    ("a.[0]", 2, "expected a key after '.'"),
    ("a*", 1, "whole segment"),
    ("*a", 1, "whole segment"),
    ("a.b*.c", 3, "whole segment"),
    ("***", 0, "'***' is not a wildcard"),
    ("[**]", 1, "cannot be an element"),
    ("a[", 2, "unclosed '['"),
    ("a[]", 2, "unexpected ']'"),
    ("a[0", 3, "expected ']'"),
    ("a[-1]", 2, "cannot be negative"),
    ("a b", 1, "expected '.' or '['"),
    ("a]", 1, "expected '.' or '['"),
    (" a", 0, "got whitespace"),
    ('a["x]', 2, "bad JSON value"),
    ("a[=true]", 3, "JSON string, an integer, null or an array of those"),
    ("a[=1.5]", 3, "JSON string, an integer, null or an array of those"),
    ("a[=[]]", 3, "JSON string, an integer, null or an array of those"),
    ("a[=]", 3, "bad JSON value"),
    ("a[*", 3, "expected ']'"),
    ("a[x y]", 3, "expected ']'"),
]


@pytest.mark.parametrize(
    ("pattern", "position", "reason"),
    BAD_PATTERNS,
    ids=[p or "<empty>" for p, _, _ in BAD_PATTERNS],
)
def test_bad_pattern_names_pattern_and_position(pattern: str, position: int, reason: str) -> None:
    with pytest.raises(PatternError, match=re.escape(reason)) as info:
        compile_pattern(pattern)
    err = info.value
    assert isinstance(err, ValueError)
    assert (err.pattern, err.position) == (pattern, position)
    assert str(err).startswith(f"bad path pattern {pattern!r} at position {position}: ")


def test_compile_pattern_refuses_non_strings() -> None:
    with pytest.raises(TypeError, match="must be a str"):
        compile_pattern(3)  # type: ignore[arg-type]


def test_parse_path_refuses_wildcards() -> None:
    with pytest.raises(PatternError, match="cannot contain the wildcard"):
        parse_path("meals[*].kcal")


def test_compiled_segments() -> None:
    p = compile_pattern('**.meals[*].*["a.b"][=3][0][lunch]')
    assert p.segments == (
        GLOBSTAR,
        K("meals"),
        ANY_ELEMENT,
        ANY_KEY,
        K("a.b"),
        E(3),
        I(0),
        E("lunch"),
    )
    assert p.text == '**.meals[*].*["a.b"][=3][0][lunch]'
    assert p.source == p.text


def p(text: str) -> Path:
    return parse_path(text)


MATCH_CASES = [
    # pattern, path, matches
    ("**.kcal", "kcal", True),
    ("**.kcal", "meals[breakfast].kcal", True),
    ("**.kcal", "days[0].meals[lunch].items[f1].kcal", True),
    ("**.kcal", "kcal_total", False),
    ("**.kcal", "kcal.x", False),
    ("**.kcal", '["a.kcal"]', False),
    ("meta.generated_at", "meta.generated_at", True),
    ("meta.generated_at", "generated_at", False),
    ("meta.generated_at", "meta.generated_at.x", False),
    ("*.kcal", "totals.kcal", True),
    ("*.kcal", "kcal", False),
    ("*.kcal", "[0].kcal", False),
    ("*.kcal", "a.b.kcal", False),
    ("meals[*].items", "meals[breakfast].items", True),
    ("meals[*].items", "meals[3].items", True),
    ("meals[*].items", "meals.x.items", False),
    ("meals[*].items", "meals[3].items[0]", False),
    ("meals[breakfast].kcal", "meals[breakfast].kcal", True),
    ("meals[breakfast].kcal", "meals[lunch].kcal", False),
    ("meals[breakfast].kcal", "meals[0].kcal", False),
    ("items[0]", "items[0]", True),
    ("items[0]", "items[1]", False),
    ("items[0]", 'items[="0"]', False),
    ("x[=7]", 'x[="7"]', False),
    ("x[=7]", "x[=7]", True),
    ("**", "", True),
    ("**", "a[0].b", True),
    ("meta.**", "meta", True),
    ("meta.**", "meta.a[1].b", True),
    ("meta.**", "metadata", False),
    ("a.**.b", "a.b", True),
    ("a.**.b", "a.x[2].y.b", True),
    ("a.**.b", "a.x.b.c", False),
    ("**.**.kcal", "kcal", True),
    ("**[*]", "items[4]", True),
    ("**[*]", "items", False),
    ('["a.b"].c', '["a.b"].c', True),
    ('["a.b"].c', "a.b.c", False),
    ('["*"]', '["*"]', True),
    ('["*"]', "x", False),
]


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    MATCH_CASES,
    ids=[f"{pat}~{path or '<root>'}" for pat, path, _ in MATCH_CASES],
)
def test_pattern_matches_token_paths(pattern: str, path: str, expected: bool) -> None:
    compiled = compile_pattern(pattern)
    tokens = p(path)
    assert compiled.matches(tokens) is expected
    # the automaton agrees with the single-pattern matcher
    assert (compiled in PatternSet([pattern]).match(tokens)) is expected


def test_specificity_order() -> None:
    texts = ["**.kcal", "meals[*].items[*].kcal", "**.items[*].kcal", "meals[lunch].items[f1].kcal"]
    ordered = sorted((compile_pattern(t) for t in texts), key=lambda c: c.specificity)
    assert [c.text for c in ordered] == [
        "meals[lunch].items[f1].kcal",
        "meals[*].items[*].kcal",
        "**.items[*].kcal",
        "**.kcal",
    ]


def test_specificity_tie_breaks() -> None:
    a, b, c, d = (compile_pattern(t) for t in ("*.x", "*.*.x", "*.y", "a.*.x"))
    # more literal segments first; then fewer single wildcards; a full tie falls back to the text
    assert sorted([b, c, a, d], key=lambda x: x.specificity) == [d, a, c, b]


def test_pattern_set_orders_matches_most_specific_first() -> None:
    ps = PatternSet(["**.kcal", "meals[*].kcal", "meals[breakfast].kcal", "**.protein_g"])
    assert [m.text for m in ps.match(p("meals[breakfast].kcal"))] == [
        "meals[breakfast].kcal",
        "meals[*].kcal",
        "**.kcal",
    ]
    assert [m.text for m in ps.match(p("meals[lunch].kcal"))] == ["meals[*].kcal", "**.kcal"]
    assert [m.text for m in ps.match(p("kcal"))] == ["**.kcal"]
    assert ps.match(p("meals[lunch]")) == ()


def test_pattern_set_dedupes_equivalent_spellings() -> None:
    ps = PatternSet(["items[0]", "items[00]", compile_pattern('["items"][0]')])
    assert [x.text for x in ps.patterns] == ["items[0]"]


def test_pattern_set_dead_states_and_steps() -> None:
    ps = PatternSet(["meta.generated_at", "items[0].kcal", 'x[="7"]', "x[=7].y"])
    assert not ps.is_dead(ps.start)
    assert ps.is_dead(ps.step_key(ps.start, "other"))
    meta = ps.step_key(ps.start, "meta")
    assert [m.text for m in ps.matched(ps.step_key(meta, "generated_at"))] == ["meta.generated_at"]
    assert ps.is_dead(ps.step_index(ps.step_key(ps.start, "items"), 1))
    x = ps.step_key(ps.start, "x")
    assert [m.text for m in ps.matched(ps.step_keyed(x, "7"))] == ['x[="7"]']
    assert ps.matched(ps.step_keyed(x, 7)) == ()
    assert [m.text for m in ps.match(p("x[=7].y"))] == ["x[=7].y"]
    # the generic step agrees with the specialised ones
    assert ps.step(x, E("7")) == ps.step_keyed(x, "7")
    assert ps.walk(p("items[0].kcal")) == ps.walk(p("kcal"), ps.walk(p("items[0]")))


def test_pattern_set_with_no_patterns_is_dead_at_once() -> None:
    ps = PatternSet([])
    assert ps.is_dead(ps.start)
    assert ps.match(p("a.b")) == ()


# --- round trips with generated data ------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
_tokens: st.SearchStrategy[Token] = st.one_of(
    st.builds(Key, _text),
    st.builds(Index, st.integers(min_value=0, max_value=10**6)),
    st.builds(Keyed, st.one_of(_text, st.integers(min_value=-(10**9), max_value=10**9))),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_tokens, max_size=6).map(tuple))
def test_render_parse_round_trip(path: Path) -> None:
    text = render_path(path)
    assert parse_path(text) == path
    # a concrete path is also a pattern that matches itself exactly
    if path:
        compiled = compile_pattern(text)
        assert compiled.matches(path)
        assert compiled.text == text


@settings(max_examples=200, deadline=None)
@given(st.lists(_tokens, min_size=1, max_size=5).map(tuple), st.sampled_from(["**", "*"]))
def test_special_keys_cannot_fake_wildcards(path: Path, wildcard: str) -> None:
    # a literal pattern built from a path matches only that path, never a sibling key whose text
    # happens to contain dots, brackets or stars
    text = render_path(path)
    sibling = (*path[:-1], Key(f"{wildcard}.{text}"))
    assert not compile_pattern(text).matches(sibling)
