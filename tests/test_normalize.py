"""Pure normalisation: masks, list keys, number coercion, key order, rule usage."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from pytest_dualread.normalize import (
    MISSING,
    DiffRules,
    ListMap,
    RuleUsage,
    Tolerance,
    coerce_number,
    count_leaves,
    denormalize,
    lookup,
    normalize,
    normalize_sides,
)
from pytest_dualread.paths import Index, Key, Keyed, PatternError, parse_path

MEAL_LOG: dict[str, Any] = {
    "id": 42,
    "user_id": 7,
    "logged_at": "2025-09-20T08:15:00+09:00",
    "meal_type": "breakfast",
    "items": [
        {"food_id": "f2", "name": "Milk", "grams": 200.0, "kcal": 130, "protein_g": 6.6},
        {"food_id": "f1", "name": "Oats", "grams": 60.0, "kcal": 228, "protein_g": 8.1},
    ],
    "kcal_total": 358,
    "meta": {"request_id": "abc", "generated_at": "2025-09-20T08:15:01Z"},
}

DAY: dict[str, Any] = {
    "date": "2025-09-20",
    "meals": [
        {"meal_type": "lunch", "kcal": 610, "items": [{"food_id": "f9", "kcal": 610}]},
        {"meal_type": "breakfast", "kcal": 358, "items": [{"food_id": "f1", "kcal": 228}]},
    ],
    "totals": {"total_kcal": 968, "request_id": "r"},
}

PRODUCT = DiffRules(
    ignore=["**.request_id", "meta.generated_at"],
    list_keys={"items": "food_id", "meals": "meal_type", "meals[*].items": "food_id"},
    tolerances={
        "**.kcal": {"abs": 80},
        "**.protein_g": {"abs": 15},
        "**.total_kcal": {"rel": 0.18},
    },
)


# --- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs 'abs', 'rel' or both"),
        ({"abs": -1}, "abs must be finite and >= 0"),
        ({"rel": float("nan")}, "rel must be finite and >= 0"),
        ({"abs": float("inf")}, "abs must be finite and >= 0"),
        ({"abs": True}, "abs must be a number"),
        ({"rel": "0.1"}, "rel must be a number"),
    ],
    ids=["none", "negative", "nan", "inf", "bool", "string"],
)
def test_tolerance_validation(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tolerance(**kwargs)


@pytest.mark.parametrize(
    ("tolerance", "reference", "allowed"),
    [
        (Tolerance(abs=80), 1000, 80.0),
        (Tolerance(rel=0.18), 2000, 360.0),
        (Tolerance(rel=0.18), -2000, 360.0),
        (Tolerance(abs=5, rel=0.1), 10, 5.0),
        (Tolerance(abs=5, rel=0.1), 100, 10.0),
        (Tolerance(rel=0.5), 0, 0.0),
    ],
    ids=["abs", "rel", "rel-negative-ref", "abs-wins", "rel-wins", "rel-of-zero"],
)
def test_tolerance_allowed(tolerance: Tolerance, reference: float, allowed: float) -> None:
    assert tolerance.allowed(reference) == pytest.approx(allowed)


def test_tolerance_of_plain_mapping() -> None:
    assert Tolerance.of({"abs": 80}) == Tolerance(abs=80.0)
    assert Tolerance.of({"abs": 1, "rel": 0.5}).to_json() == {"abs": 1.0, "rel": 0.5}
    assert str(Tolerance(abs=1, rel=0.5)) == "abs 1 or rel 0.5"
    with pytest.raises(ValueError, match=r"unknown tolerance key\(s\) \['absolute'\]"):
        Tolerance.of({"absolute": 1})
    with pytest.raises(ValueError, match="must be a mapping"):
        Tolerance.of(80)  # type: ignore[arg-type]


def test_rules_canonicalise_and_validate_patterns() -> None:
    rules = DiffRules(
        ignore=["items[00]", "items[0]", '["meta"].x'],
        list_keys={'["meals"]': "meal_type"},
        tolerances={"**.kcal": Tolerance(abs=80)},
    )
    assert rules.ignore == ("items[0]", "meta.x")
    assert dict(rules.list_keys) == {"meals": "meal_type"}
    with pytest.raises(PatternError) as info:
        DiffRules(tolerances={"**.kcal*": {"abs": 1}})
    assert (info.value.pattern, info.value.position) == ("**.kcal*", 7)
    with pytest.raises(ValueError, match=r"tolerances\['kcal'\]: tolerance abs must be a number"):
        DiffRules(tolerances={"kcal": {"abs": "x"}})
    with pytest.raises(ValueError, match=r"list_keys\['meals'\]: the key must be a field name"):
        DiffRules(list_keys={"meals": ""})
    with pytest.raises(ValueError, match="not one string"):
        DiffRules(ignore="**.request_id")  # type: ignore[arg-type]


def test_merged_over_lets_the_case_win() -> None:
    base = DiffRules(
        ignore=["**.request_id"],
        list_keys={"items": "food_id"},
        tolerances={"**.kcal": {"abs": 80}, "**.protein_g": {"abs": 15}},
    )
    case = DiffRules(
        ignore=["meta.generated_at", "**.request_id"],
        tolerances={"**.kcal": {"abs": 5}, "items[*].grams": {"rel": 0.01}},
        coerce_numbers=["**.price"],
    )
    merged = case.merged_over(base)
    assert merged.ignore == ("**.request_id", "meta.generated_at")
    assert dict(merged.list_keys) == {"items": "food_id"}
    assert dict(merged.tolerances) == {
        "**.kcal": Tolerance(abs=5),
        "**.protein_g": Tolerance(abs=15),
        "items[*].grams": Tolerance(rel=0.01),
    }
    assert merged.coerce_numbers == ("**.price",)
    assert merged.to_json()["tolerances"]["**.kcal"] == {"abs": 5.0}
    assert merged.key() == case.merged_over(base).key()


# --- number coercion --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("228", 228),
        ("-3", -3),
        ("8.1", 8.1),
        ("1e3", 1000.0),
        ("0.50", 0.5),
        (Decimal("228"), 228),
        (Decimal("8.10"), 8.1),
        (Decimal("2E+2"), 200),
        (" 8", " 8"),
        ("08", "08"),
        ("+1", "+1"),
        ("1.", "1."),
        ("nan", "nan"),
        ("1e999", "1e999"),
        ("abc", "abc"),
        (Decimal("NaN"), Decimal("NaN")),
        (True, True),
        (None, None),
        (3.5, 3.5),
    ],
    ids=lambda v: repr(v),
)
def test_coerce_number(value: object, expected: object) -> None:
    result = coerce_number(value)
    if isinstance(expected, Decimal) and expected.is_nan():
        assert isinstance(result, Decimal)
        assert result.is_nan()
        return
    assert result == expected
    assert type(result) is type(expected)


def test_coercion_applies_only_where_a_rule_names_it() -> None:
    body = {"price": "12.50", "sku": "0012", "items": [{"price": Decimal("3")}]}
    out = normalize(body, DiffRules(coerce_numbers=["**.price"])).value
    assert out == {"items": [{"price": 3}], "price": 12.5, "sku": "0012"}
    assert type(out["items"][0]["price"]) is int


# --- masks, list keys, order ------------------------------------------------------------------


def test_meal_log_normalised() -> None:
    out = normalize(MEAL_LOG, PRODUCT)
    assert out.value == {
        "id": 42,
        "items": ListMap(
            {
                Keyed("f1"): {
                    "food_id": "f1",
                    "grams": 60.0,
                    "kcal": 228,
                    "name": "Oats",
                    "protein_g": 8.1,
                },
                Keyed("f2"): {
                    "food_id": "f2",
                    "grams": 200.0,
                    "kcal": 130,
                    "name": "Milk",
                    "protein_g": 6.6,
                },
            }
        ),
        "kcal_total": 358,
        "logged_at": "2025-09-20T08:15:00+09:00",
        "meal_type": "breakfast",
        "meta": {},
        "user_id": 7,
    }
    # stable order: sorted keys, keyed lists in key order
    assert list(out.value) == sorted(out.value)
    assert list(out.value["items"]) == [Keyed("f1"), Keyed("f2")]
    # 4 top-level scalars + 2 items x 5 + kcal_total; meta's fields are all masked
    assert out.leaves == 15
    assert out.problems == []
    assert not out.has_nan


def test_nested_keyed_lists_use_keyed_paths() -> None:
    out = normalize(DAY, PRODUCT).value
    assert lookup(out, parse_path("meals[breakfast].items[f1].kcal")) == 228
    assert lookup(out, parse_path("meals[lunch].kcal")) == 610
    assert lookup(out, parse_path("totals.request_id")) is MISSING
    assert lookup(out, parse_path("meals[0]")) is MISSING
    assert denormalize(out)["meals"][0]["meal_type"] == "breakfast"


def test_ignore_drops_whole_subtrees_and_keeps_positions() -> None:
    body = {"items": [{"a": 1}, {"a": 2}, {"a": 3}], "meta": {"x": {"y": 1}}}
    out = normalize(body, DiffRules(ignore=["items[1]", "meta"])).value
    # an element dropped from a list matched by position: the others keep their index
    assert out == {"items": ListMap({Index(0): {"a": 1}, Index(2): {"a": 3}})}
    assert lookup(out, parse_path("items[2].a")) == 3
    assert denormalize(out) == {"items": [{"a": 1}, {"a": 3}]}


def test_ignore_keyed_element() -> None:
    out = normalize(DAY, DiffRules(list_keys={"meals": "meal_type"}, ignore=["meals[lunch]"]))
    assert list(out.value["meals"]) == [Keyed("breakfast")]


LIST_KEY_PROBLEMS = [
    (
        [{"food_id": "f1"}, {"food_id": "f1"}, {"food_id": "f2"}],
        ("duplicate", 1, "f1", 0, 1),
        "adapter list items (list_keys 'items' = 'food_id'): items 0 and 1 share 'food_id' = "
        "'f1'; matched by index instead",
    ),
    (
        [{"food_id": "f1"}, {"name": "x"}, "scalar"],
        ("missing", 1, MISSING, None, 2),
        "adapter list items (list_keys 'items' = 'food_id'): item 1 has no 'food_id' "
        "(2 items at fault); matched by index instead",
    ),
    (
        [{"food_id": None}, {"food_id": None}],
        ("duplicate", 1, None, 0, 1),
        "adapter list items (list_keys 'items' = 'food_id'): items 0 and 1 share 'food_id' = "
        "None; matched by index instead",
    ),
    (
        [{"food_id": True}],
        ("unusable", 0, True, None, 1),
        "adapter list items (list_keys 'items' = 'food_id'): item 0 has 'food_id' = True, "
        "not a str, an int or null; matched by index instead",
    ),
]


@pytest.mark.parametrize(
    ("items", "expected", "message"),
    LIST_KEY_PROBLEMS,
    ids=["duplicate", "missing", "null-keys", "bool-key"],
)
def test_list_key_problems_fall_back_to_index(
    items: list[Any], expected: tuple[Any, ...], message: str
) -> None:
    out = normalize({"items": items}, DiffRules(list_keys={"items": "food_id"}), side="adapter")
    assert isinstance(out.value["items"], list)
    [problem] = out.problems
    assert (problem.side, problem.path, problem.pattern, problem.field) == (
        "adapter",
        (Key("items"),),
        "items",
        "food_id",
    )
    got = (problem.reason, problem.index, problem.value, problem.first_index, problem.count)
    assert got == expected
    assert problem.message == message


def test_int_and_str_keys_are_distinct() -> None:
    out = normalize({"xs": [{"k": 1}, {"k": "1"}]}, DiffRules(list_keys={"xs": "k"}))
    assert out.problems == []
    assert list(out.value["xs"]) == [Keyed(1), Keyed("1")]


def test_fallback_is_shared_by_every_side() -> None:
    legacy = {"meals": [{"meal_type": "lunch", "kcal": 1}, {"meal_type": "dinner", "kcal": 2}]}
    adapter = {"meals": [{"meal_type": "lunch", "kcal": 1}, {"meal_type": "lunch", "kcal": 2}]}
    sides, usage = normalize_sides({"legacy": legacy, "adapter": adapter}, PRODUCT)
    # legacy's keys are fine, but the adapter's are not: both match by index
    assert isinstance(sides["legacy"].value["meals"], list)
    assert isinstance(sides["adapter"].value["meals"], list)
    assert [(p.side, p.reason) for p in sides["adapter"].problems] == [("adapter", "duplicate")]
    assert sides["legacy"].problems == []
    assert usage.counts["list_keys"]["meals"] == 2


def test_fallback_repeats_until_stable() -> None:
    # legacy's meals fall back to index; then the adapter's items list (now at meals[0].items)
    # fails too and must be seen at its new path
    legacy = {"meals": [{"meal_type": "x", "items": [{"food_id": "a"}, {"food_id": "a"}]}]}
    adapter = {"meals": [{"items": [{"food_id": "a"}]}]}
    sides, _ = normalize_sides({"legacy": legacy, "adapter": adapter}, PRODUCT)
    problems = sorted((p.side, str(p.path), p.reason) for s in sides.values() for p in s.problems)
    assert problems == [
        ("adapter", str((Key("meals"),)), "missing"),
        ("legacy", str((Key("meals"), Index(0), Key("items"))), "duplicate"),
    ]
    assert sides["legacy"].value == sides["adapter"].value | {
        "meals": [{"items": [{"food_id": "a"}, {"food_id": "a"}], "meal_type": "x"}]
    }


def test_empty_keyed_list_matches_its_peer() -> None:
    sides, _ = normalize_sides(
        {"legacy": {"items": []}, "adapter": {"items": [{"food_id": "f1"}]}}, PRODUCT
    )
    assert sides["legacy"].value == {"items": ListMap()}
    assert sides["adapter"].value == {"items": ListMap({Keyed("f1"): {"food_id": "f1"}})}


def test_list_map_equals_only_list_maps() -> None:
    assert ListMap() != {}
    assert {} != ListMap()  # noqa: SIM300 - the reflected comparison is what is tested
    assert {"a": ListMap()} != {"a": {}}
    assert ListMap({Keyed("x"): 1}) == ListMap({Keyed("x"): 1})
    assert repr(ListMap({Index(0): 1})) == "ListMap({Index(index=0): 1})"


def test_nan_bool_and_decimal_flags() -> None:
    rules = DiffRules()
    assert normalize({"a": [1.0, float("nan")]}, rules).has_nan
    assert normalize({"a": Decimal("NaN")}, rules).has_nan
    assert normalize({"a": True}, rules).needs_strict_eq
    assert normalize({"a": Decimal(1)}, rules).needs_strict_eq
    plain = normalize({"a": [1, 2.5, "x", None]}, rules)
    assert not plain.has_nan
    assert not plain.needs_strict_eq


# --- rule usage -------------------------------------------------------------------------------


def test_rule_usage_counts_and_stale_rules() -> None:
    rules = DiffRules(
        ignore=["**.request_id", "meta.generated_at", "meta.generated_at.x", "nothing.here"],
        list_keys={"items": "food_id", "meals": "meal_type"},
        tolerances={"**.kcal": {"abs": 80}, "items[*].kcal": {"abs": 5}, "**.fiber_g": {"abs": 1}},
        coerce_numbers=["**.kcal_total"],
    )
    usage = RuleUsage.for_rules(rules)
    normalize(MEAL_LOG, rules, usage=usage)
    assert usage.to_json() == {
        "coerce_numbers": {"**.kcal_total": 1},
        "ignore": {
            "**.request_id": 1,
            "meta.generated_at": 1,
            "meta.generated_at.x": 0,  # inside an ignored node: never decided anything
            "nothing.here": 0,
        },
        "list_keys": {"items": 1, "meals": 0},
        # items[*].kcal is more specific and wins for both items: **.kcal decides nothing
        "tolerances": {"**.fiber_g": 0, "**.kcal": 0, "items[*].kcal": 2},
    }
    assert usage.unused() == [
        ("ignore", "meta.generated_at.x"),
        ("ignore", "nothing.here"),
        ("list_keys", "meals"),
        ("tolerances", "**.fiber_g"),
        ("tolerances", "**.kcal"),
    ]


def test_rule_usage_combines_across_checks_as_json() -> None:
    rules = DiffRules(tolerances={"**.kcal": {"abs": 80}, "**.total_kcal": {"rel": 0.18}})
    first = RuleUsage.for_rules(rules)
    normalize(MEAL_LOG, rules, usage=first)
    second = RuleUsage.for_rules(rules)
    normalize(DAY, rules, usage=second)
    wire = [json.loads(json.dumps(u.to_json())) for u in (first, second)]
    total = RuleUsage.combine(RuleUsage.from_json(w) for w in wire)
    assert total.counts["tolerances"] == {"**.kcal": 2 + 4, "**.total_kcal": 1}
    assert total.unused() == []
    assert first.unused() == [("tolerances", "**.total_kcal")]


def test_count_leaves_and_denormalize_plain_values() -> None:
    assert count_leaves({"a": [], "b": {}, "c": [1, {"d": None}]}) == 4
    assert count_leaves(5) == 1
    assert denormalize({"a": [{"b": 1}]}) == {"a": [{"b": 1}]}
    assert lookup([10, 20], (Index(1),)) == 20
    assert lookup([10, 20], (Index(2),)) is MISSING
    assert lookup(5, (Key("a"),)) is MISSING
    assert repr(MISSING) == "<missing>"
    assert not MISSING


def test_a_session_long_rule_set_remembers_a_bounded_number_of_list_key_values() -> None:
    from pytest_dualread.normalize import _KEYED_REMEMBERED, CompiledRules

    compiled = CompiledRules(
        DiffRules(list_keys={"items": "id"}, tolerances={"items[*].kcal": {"abs": 1}})
    )
    items = compiled.patterns.walk([Key("items")])
    kcal = compiled.at([Key("items"), Keyed(1), Key("kcal")])
    for value in range(3 * _KEYED_REMEMBERED):  # ids of a long run's cases, all different
        state, _rules, token = compiled.keyed_child(items, value)
        assert compiled.node(compiled.patterns.step_key(state, "kcal")) == kcal
        assert token == Keyed(value)
    assert len(compiled._keyed_tables[items]) == _KEYED_REMEMBERED
