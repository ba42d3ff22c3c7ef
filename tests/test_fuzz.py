"""Fuzzing the four readers of untrusted input: the case loader, the rule parser, the
comparator and the report loader raise only the package's own errors (the
``pytest_dualread.errors`` tree), whatever they are given. Example counts are kept small so
the whole module runs in well under half a minute."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pytest_dualread.cases import load_case_file
from pytest_dualread.dto import compare_dto
from pytest_dualread.errors import DualReadError
from pytest_dualread.normalize import DiffRules
from pytest_dualread.paths import compile_pattern, parse_path
from pytest_dualread.report import load_report
from pytest_dualread.tolerance import Tolerance

EXAMPLES = {"cases": 150, "rules": 400, "compare": 150, "report": 150}
"""Examples per fuzz test: 850 in all, plus the explicit examples below."""


def fuzz(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


DEEP = "[" * 10_000 + "]" * 10_000
BIG = "9" * 5000

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(),  # NaN and infinities included
    st.text(max_size=20),
    st.sampled_from(["1" * 5000, "1e999", "-0", "NaN", "228", "0.1"]),
)
trees = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=25,
)
patterns = st.one_of(
    st.text(max_size=30),
    st.text(alphabet='ab.[]*="\\0123456789- ', max_size=30),
    st.sampled_from([f"a[{BIG}]", f"a[={BIG}]", "a[=" + "[" * 3000 + "]", "**.**", "a[*]"]),
)
json_texts = st.one_of(
    st.text(max_size=200),
    trees.map(lambda t: json.dumps(t, default=str)),
    st.sampled_from(
        [DEEP, '{"a": NaN}', '{"a": 1, "a": 2}', "{" * 600, f'{{"n": {BIG}}}', "1e999", ""]
    ),
)


def deep_tree(depth: int) -> Any:
    tree: Any = 0
    for _ in range(depth):
        tree = {"a": [tree]}
    return tree


def case_text(body: Any) -> str:
    return json.dumps(body, default=str)


@fuzz(EXAMPLES["cases"])
@given(text=json_texts | trees.map(lambda t: case_text({"model": "m:M", "cases": [t]})))
@example(text='{"model": "m:M", "cases": ' + DEEP + "}")
@example(text='{"model": "m:M", "cases": [{"id": "a\\n", "request": {"path": "/"}}]}')
@example(text='{"model": "m:M", "ignore": ["a[' + BIG + ']"], "cases": []}')
def test_the_case_loader_raises_only_its_own_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "cases.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(DualReadError):
        load_case_file(path)


@fuzz(EXAMPLES["rules"])
@given(text=patterns)
def test_the_rule_parser_raises_only_its_own_errors(text: str) -> None:
    for parse in (compile_pattern, parse_path):
        with contextlib.suppress(DualReadError):
            parse(text)
    with contextlib.suppress(DualReadError):
        DiffRules(ignore=(text,), tolerances={text: Tolerance(abs=1)}, list_keys={text: "id"})


@fuzz(EXAMPLES["compare"])
@given(legacy=trees, adapter=trees, golden=st.none() | trees, rule=patterns)
@example(legacy={"n": "1" * 5000}, adapter={"n": "1" * 5000 + "2"}, golden=None, rule="n")
@example(legacy={"n": math.inf}, adapter={"n": -math.inf}, golden=None, rule="n")
def test_the_comparator_raises_only_its_own_errors(
    legacy: Any, adapter: Any, golden: Any, rule: str
) -> None:
    try:
        rules = DiffRules(coerce_numbers=(rule,), tolerances={rule: Tolerance(abs=0.01)})
    except DualReadError:
        rules = DiffRules(coerce_numbers=("**",))
    try:
        result = compare_dto(legacy, adapter, golden, rules=rules)
    except DualReadError:
        return
    result.failure_text()
    json.dumps(result.to_findings_json(), allow_nan=True)
    json.dumps(result.to_data(), allow_nan=True)


@fuzz(EXAMPLES["report"])
@given(text=json_texts | trees.map(lambda t: case_text({"schema_version": 1, "tool": t})))
@example(text=DEEP)
@example(text=f'{{"schema_version": {BIG}}}')
@example(text='{"schema_version": 1, "schema_version": 2}')
def test_the_report_loader_raises_only_its_own_errors(tmp_path: Path, text: str) -> None:
    path = tmp_path / "report.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    with contextlib.suppress(DualReadError):
        load_report(path)


@pytest.mark.parametrize("depth", [129, 5000])
def test_the_comparator_refuses_a_tree_deeper_than_the_limit(depth: int) -> None:
    # Built here, not drawn: hypothesis itself recurses when it prints a drawn example.
    at_limit = deep_tree(64)  # two levels (an object and a list) per step: 128
    assert compare_dto(at_limit, at_limit).passed
    tree = deep_tree(depth)
    with pytest.raises(DualReadError, match="nested deeper than 128 levels"):
        compare_dto(tree, tree)


def test_the_comparator_takes_a_tree_at_the_limit() -> None:
    tree = deep_tree(64)
    assert compare_dto(tree, tree).passed
