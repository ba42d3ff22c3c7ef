"""The DTO check: contract, diff with tolerances, findings, triage, failure text, statistics."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from pydantic import BaseModel, Field

from pytest_dualread.dto import DELTA_CAP, DtoResult, compare_dto, path_sort_key
from pytest_dualread.normalize import DiffRules
from pytest_dualread.paths import parse_path
from pytest_dualread.report import Check, Finding


class Item(BaseModel):
    food_id: str
    name: str
    grams: float
    kcal: int
    protein_g: float


class Meta(BaseModel):
    request_id: str
    generated_at: str


class MealLog(BaseModel):
    id: int
    user_id: int
    logged_at: str
    meal_type: str
    items: list[Item]
    kcal_total: int
    meta: Meta


def meal_log() -> dict[str, Any]:
    return {
        "id": 42,
        "user_id": 7,
        "logged_at": "2025-09-20T08:15:00+09:00",
        "meal_type": "breakfast",
        "items": [
            {"food_id": "f1", "name": "Oats", "grams": 60.0, "kcal": 228, "protein_g": 8.1},
            {"food_id": "f2", "name": "Milk", "grams": 200.0, "kcal": 130, "protein_g": 6.6},
        ],
        "kcal_total": 358,
        "meta": {"request_id": "abc", "generated_at": "2025-09-20T08:15:01Z"},
    }


def day_summary() -> dict[str, Any]:
    return {
        "date": "2025-09-20",
        "meals": [
            {
                "meal_type": "breakfast",
                "kcal": 358,
                "items": [{"food_id": "f1", "kcal": 228}, {"food_id": "f2", "kcal": 130}],
            },
            {"meal_type": "lunch", "kcal": 610, "items": [{"food_id": "f9", "kcal": 610}]},
        ],
        "totals": {"total_kcal": 968, "protein_g": 40.5},
        "macro_pct": {"protein": 20.0, "fat": 30.0, "carbs": 50.0},
        "meta": {"request_id": "r1", "generated_at": "t"},
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


def brief(findings: list[Finding]) -> list[tuple[Any, ...]]:
    return [(f.comparison, f.path, f.category, f.values, f.triage) for f in findings]


# --- agreement --------------------------------------------------------------------------------


def test_identical_bodies_pass() -> None:
    result = compare_dto(meal_log(), meal_log(), meal_log(), model=MealLog, rules=PRODUCT)
    assert result.passed
    assert result.findings == []
    assert result.fields_compared == 15
    assert result.fields_differing == 0
    assert result.contract == {"legacy": True, "adapter": True}, "goldens are not validated"
    assert result.failure_text() == "all 15 fields agree"


def test_a_golden_without_the_masked_fields_is_not_a_contract_break() -> None:
    golden = meal_log()
    del golden["meta"]["request_id"]  # stored goldens leave ignored fields out
    result = compare_dto(meal_log(), meal_log(), golden, model=MealLog, rules=PRODUCT)
    assert result.findings == []


def test_masked_fields_reordered_keyed_lists_and_number_types_agree() -> None:
    adapter = meal_log()
    adapter["items"].reverse()
    adapter["meta"] = {"request_id": "zzz", "generated_at": "later"}
    adapter["items"][0]["grams"] = 200  # int for float: JSON has one number type
    result = compare_dto(meal_log(), adapter, rules=PRODUCT)
    assert result.findings == []


@pytest.mark.parametrize(
    ("legacy", "adapter"),
    [
        ({"a": [1, 2]}, {"a": [1, 2]}),
        ({"a": 1}, {"a": 1.0}),
        ({"a": -0.0}, {"a": 0.0}),
        ({"a": float("inf")}, {"a": float("inf")}),
        ({"a": 2**60}, {"a": 2**60}),
        ({"__private": 1}, {"__private": 1}),
    ],
    ids=["lists", "int-float", "signed-zero", "inf", "big-int", "dunder-key"],
)
def test_equal_values(legacy: dict[str, Any], adapter: dict[str, Any]) -> None:
    assert compare_dto(legacy, adapter).findings == []


# --- single differences -----------------------------------------------------------------------

NO_RULES = DiffRules()
KCAL = DiffRules(tolerances={"**.kcal": {"abs": 80}})


DIFFS = [
    # legacy, adapter, rules, expected (path, category, values, delta, headroom)
    ({"kcal": 100}, {"kcal": 181}, KCAL, ("kcal", "value", {"legacy": 100, "adapter": 181})),
    ({"a": 1}, {"a": 2}, NO_RULES, ("a", "value", {"legacy": 1, "adapter": 2})),
    ({"a": True}, {"a": 1}, NO_RULES, ("a", "type", {"legacy": True, "adapter": 1})),
    ({"a": 0}, {"a": False}, NO_RULES, ("a", "type", {"legacy": 0, "adapter": False})),
    ({"a": 50}, {"a": "50"}, NO_RULES, ("a", "type", {"legacy": 50, "adapter": "50"})),
    ({"a": None}, {"a": 0}, NO_RULES, ("a", "type", {"legacy": None, "adapter": 0})),
    ({"a": "x"}, {"a": "y"}, NO_RULES, ("a", "value", {"legacy": "x", "adapter": "y"})),
    ({"a": 1, "b": 2}, {"a": 1}, NO_RULES, ("b", "missing", {"legacy": 2})),
    ({"a": 1}, {"a": 1, "b": [3]}, NO_RULES, ("b", "extra", {"adapter": [3]})),
    ({"a": [1]}, {"a": [1, 2]}, NO_RULES, ("a[1]", "extra", {"adapter": 2})),
    ({"a": [1, 2]}, {"a": [1]}, NO_RULES, ("a[1]", "missing", {"legacy": 2})),
    ({"a": {"b": 1}}, {"a": [1]}, NO_RULES, ("a", "type", {"legacy": {"b": 1}, "adapter": [1]})),
    ({"a": 1}, [1], NO_RULES, ("", "type", {"legacy": {"a": 1}, "adapter": [1]})),
    ({"a.b": 1}, {"a.b": 2}, NO_RULES, ('["a.b"]', "value", {"legacy": 1, "adapter": 2})),
    ({"__x": 1}, {"__x": 2}, NO_RULES, ("__x", "value", {"legacy": 1, "adapter": 2})),
    (
        {"x": {"flag": True, "n": 1}},
        {"x": {"flag": 1, "n": 1}},
        NO_RULES,
        ("x.flag", "type", {"legacy": True, "adapter": 1}),
    ),
]


@pytest.mark.parametrize(
    ("legacy", "adapter", "rules", "expected"),
    DIFFS,
    ids=[
        "beyond-abs",
        "no-rule-exact",
        "bool-is-not-1",
        "0-is-not-false",
        "number-vs-string",
        "null-vs-number",
        "string",
        "missing-key",
        "extra-key",
        "extra-element",
        "missing-element",
        "dict-vs-list",
        "root-type",
        "dotted-key",
        "dunder-key",
        "bool-inside-equal-looking-dict",
    ],
)
def test_single_difference(
    legacy: Any, adapter: Any, rules: DiffRules, expected: tuple[str, str, dict[str, Any]]
) -> None:
    result = compare_dto(legacy, adapter, rules=rules)
    assert brief(result.findings) == [("adapter_vs_legacy", *expected, "adapter_regression")]
    assert not result.passed
    assert result.fields_differing == 1


def test_many_changed_keys_are_reported_one_by_one() -> None:
    # deepdiff would report the whole dict as one value change without threshold_to_diff_deeper=0
    legacy = {"m": {"a": 1, "b": 2, "c": 3, "d": 4}}
    adapter = {"m": {"a": 1, "x": 2, "y": 3, "z": 4}}
    result = compare_dto(legacy, adapter)
    assert [(f.path, f.category) for f in result.findings] == [
        ("m.b", "missing"),
        ("m.c", "missing"),
        ("m.d", "missing"),
        ("m.x", "extra"),
        ("m.y", "extra"),
        ("m.z", "extra"),
    ]
    assert result.fields_compared == 7  # 4 of legacy + 3 only the adapter has


def test_numeric_finding_carries_delta_tolerance_and_headroom() -> None:
    adapter = day_summary()
    adapter["meals"][0]["items"][1]["kcal"] = 250  # f2: 130 -> 250, beyond abs 80
    result = compare_dto(day_summary(), adapter, rules=PRODUCT)
    [finding] = result.findings
    assert finding.model_dump() == {
        "comparison": "adapter_vs_legacy",
        "path": "meals[breakfast].items[f2].kcal",
        "category": "value",
        "values": {"legacy": 130, "adapter": 250},
        "delta": 120.0,
        "tolerance": {"abs": 80.0, "rel": None},
        "headroom": 1.5,
        "triage": "adapter_regression",
        "message": "adapter 250 vs legacy 130: differs by 120, allowed 80 by '**.kcal'",
        "detail": {"rule": "**.kcal", "allowed": 80.0},
        "level": "fail",
    }


@pytest.mark.parametrize(
    ("legacy", "adapter", "passes"),
    [
        (1000, 1180, True),
        (1000, 1180.5, False),
        (1000, 820, True),
        (1180, 1000, True),  # 180 <= 0.18 * 1180 = 212.4
        (820, 1000, False),  # 180 > 0.18 * 820 = 147.6: the reference is legacy
    ],
    ids=["at-limit", "just-over", "below", "ref-large", "ref-small"],
)
def test_rel_tolerance_uses_legacy_as_reference(
    legacy: float, adapter: float, passes: bool
) -> None:
    rules = DiffRules(tolerances={"**.total_kcal": {"rel": 0.18}})
    result = compare_dto({"t": {"total_kcal": legacy}}, {"t": {"total_kcal": adapter}}, rules=rules)
    assert result.passed is passes


def test_rel_tolerance_uses_golden_as_reference_for_golden_comparisons() -> None:
    rules = DiffRules(tolerances={"total_kcal": {"rel": 0.1}})
    # adapter vs golden: |110 - 100| = 10 <= 0.1 * 100 (golden); legacy == golden
    result = compare_dto({"total_kcal": 100}, {"total_kcal": 110}, {"total_kcal": 100}, rules=rules)
    assert result.passed
    # with the adapter as reference it would have failed the other way round
    result = compare_dto({"total_kcal": 100}, {"total_kcal": 90}, {"total_kcal": 99}, rules=rules)
    assert result.passed  # |90 - 99| = 9 <= 9.9, |100 - 99| = 1, |90 - 100| = 10 <= 10


def test_the_most_specific_tolerance_wins() -> None:
    rules = DiffRules(tolerances={"**.kcal": {"abs": 80}, "items[*].kcal": {"abs": 5}})
    legacy = {"items": [{"kcal": 100}], "kcal": 100}
    adapter = {"items": [{"kcal": 110}], "kcal": 170}
    result = compare_dto(legacy, adapter, rules=rules)
    assert [(f.path, f.detail["rule"], f.delta) for f in result.findings] == [
        ("items[0].kcal", "items[*].kcal", 10.0)
    ]


@pytest.mark.parametrize(
    ("legacy", "adapter", "delta", "exact"),
    [
        (2**60, 2**60 + 1, 1.0, "integers beyond 2**53 compare exactly"),
        (2**53 + 2, 2**53, 2.0, "integers beyond 2**53 compare exactly"),
        (float("nan"), float("nan"), None, "NaN never equals; infinities only match"),
        (1.0, float("nan"), None, "NaN never equals; infinities only match"),
        (float("inf"), 1e308, None, "NaN never equals; infinities only match"),
    ],
    ids=["big-int", "just-beyond-2**53", "nan-nan", "number-nan", "inf"],
)
def test_tolerance_never_bridges(
    legacy: float, adapter: float, delta: float | None, exact: str
) -> None:
    rules = DiffRules(tolerances={"x": {"abs": 1e9}})
    result = compare_dto({"x": legacy}, {"x": adapter}, rules=rules)
    [finding] = result.findings
    assert (finding.path, finding.category, finding.delta) == ("x", "value", delta)
    assert finding.headroom is None
    assert finding.detail == {"rule": "x", "exact": exact}
    assert finding.tolerance is not None


def test_nan_inside_lists_is_not_hidden_by_the_fast_path() -> None:
    nan = float("nan")
    shared = [nan]  # the same object on both sides: list == list would say equal
    result = compare_dto({"a": {"b": shared}}, {"a": {"b": shared}})
    assert [f.path for f in result.findings] == ["a.b[0]"]


def test_keyed_items_added_and_removed() -> None:
    adapter = day_summary()
    del adapter["meals"][0]["items"][0]  # f1 gone from breakfast
    adapter["meals"].append({"meal_type": "snack", "kcal": 90, "items": []})
    result = compare_dto(day_summary(), adapter, rules=PRODUCT)
    assert brief(result.findings) == [
        (
            "adapter_vs_legacy",
            "meals[breakfast].items[f1]",
            "missing",
            {"legacy": {"food_id": "f1", "kcal": 228}},
            "adapter_regression",
        ),
        (
            "adapter_vs_legacy",
            "meals[snack]",
            "extra",
            {"adapter": {"items": [], "kcal": 90, "meal_type": "snack"}},
            "adapter_regression",
        ),
    ]
    # legacy has 16 leaves after masks; the snack adds 3 (kcal, meal_type, empty items)
    assert (result.fields_compared, result.fields_differing) == (16 + 3, 2)


# --- triage -----------------------------------------------------------------------------------

TRIAGE = [
    # legacy, adapter, golden kcal values (abs 80) -> expected findings (comparison, triage)
    (
        (300, 500, 300),
        [("adapter_vs_legacy", "adapter_regression"), ("adapter_vs_golden", "adapter_regression")],
    ),
    (
        (500, 510, 300),
        [("legacy_vs_golden", "upstream_drift"), ("adapter_vs_golden", "upstream_drift")],
    ),
    (
        (500, 700, 300),
        [
            ("adapter_vs_legacy", "both_diverge"),
            ("legacy_vs_golden", "both_diverge"),
            ("adapter_vs_golden", "both_diverge"),
        ],
    ),
    (
        (500, 300, 300),
        [("adapter_vs_legacy", "legacy_drift"), ("legacy_vs_golden", "legacy_drift")],
    ),
    # tolerances are not transitive: each side is within 80 of the golden, not of each other
    ((230, 370, 300), [("adapter_vs_legacy", "adapter_regression")]),
]


@pytest.mark.parametrize(
    ("values", "expected"),
    TRIAGE,
    ids=["adapter_regression", "upstream_drift", "both_diverge", "legacy_drift", "not-transitive"],
)
def test_triage(values: tuple[int, int, int], expected: list[tuple[str, str]]) -> None:
    legacy, adapter, golden = ({"kcal": v} for v in values)
    result = compare_dto(legacy, adapter, golden, rules=KCAL)
    assert [(f.comparison, f.triage) for f in result.findings] == expected
    assert all(
        f.values == dict(zip(("legacy", "adapter", "golden"), values, strict=True))
        for f in result.findings
    )


def test_triage_of_a_field_the_golden_lacks() -> None:
    result = compare_dto({"a": 1, "new": 2}, {"a": 1, "new": 2}, {"a": 1}, rules=NO_RULES)
    assert brief(result.findings) == [
        ("legacy_vs_golden", "new", "extra", {"legacy": 2, "adapter": 2}, "upstream_drift"),
        ("adapter_vs_golden", "new", "extra", {"legacy": 2, "adapter": 2}, "upstream_drift"),
    ]
    assert result.fields_compared == 2


def test_golden_only_field_counts_once() -> None:
    result = compare_dto({"a": 1}, {"a": 1}, {"a": 1, "old": {"x": 1, "y": 2}})
    assert [(f.comparison, f.path, f.category, f.triage) for f in result.findings] == [
        ("legacy_vs_golden", "old", "missing", "upstream_drift"),
        ("adapter_vs_golden", "old", "missing", "upstream_drift"),
    ]
    assert result.fields_compared == 3


# --- contract and list keys -------------------------------------------------------------------


def test_contract_failure_is_its_own_finding_and_values_still_diff() -> None:
    adapter = meal_log()
    adapter["items"][1]["kcal"] = "a lot"
    result = compare_dto(meal_log(), adapter, model=MealLog, rules=PRODUCT)
    assert result.contract == {"legacy": True, "adapter": False}
    contract, value = result.findings
    assert (contract.comparison, contract.path, contract.category, contract.values) == (
        "adapter",
        "items[1].kcal",
        "contract",
        {"adapter": "a lot"},
    )
    assert contract.triage is None
    assert contract.message.startswith("adapter does not match MealLog: items[1].kcal: Input")
    assert contract.detail == {"error_type": "int_parsing", "errors": 1}
    # raw JSON is diffed on both sides, and the path is the keyed one
    assert brief([value]) == [
        (
            "adapter_vs_legacy",
            "items[f2].kcal",
            "type",
            {"legacy": 130, "adapter": "a lot"},
            "adapter_regression",
        )
    ]


def test_missing_field_contract_finding_has_no_value() -> None:
    adapter = meal_log()
    del adapter["kcal_total"]
    result = compare_dto(meal_log(), adapter, model=MealLog, rules=PRODUCT)
    assert [(f.comparison, f.path, f.category, f.values) for f in result.findings] == [
        ("adapter", "kcal_total", "contract", {}),
        ("adapter_vs_legacy", "kcal_total", "missing", {"legacy": 358}),
    ]


class Priced(BaseModel):
    sku: str
    price: Decimal
    label: str = Field(alias="displayName")


def test_validated_forms_are_diffed_by_alias_with_coercion() -> None:
    # pydantic dumps Decimal as a string in JSON mode, keeping its digits: "12.50" != "12.5"
    legacy = {"sku": "a", "price": "12.50", "displayName": "A"}
    adapter = {"sku": "a", "price": 12.5, "displayName": "A"}
    plain = compare_dto(legacy, adapter, model=Priced)
    assert brief(plain.findings) == [
        (
            "adapter_vs_legacy",
            "price",
            "value",
            {"legacy": "12.50", "adapter": "12.5"},
            "adapter_regression",
        )
    ]
    # coercion makes it a number again, only where a rule names it
    coerced = compare_dto(legacy, adapter, model=Priced, rules=DiffRules(coerce_numbers=["price"]))
    assert coerced.passed
    adapter["price"] = 12.7
    rules = DiffRules(coerce_numbers=["price"], tolerances={"price": {"abs": 0.25}})
    result = compare_dto(legacy, adapter, model=Priced, rules=rules)
    assert result.passed
    assert result.rule_usage.counts["coerce_numbers"] == {"price": 2}
    assert compare_dto(legacy, adapter, model=Priced, rules=rules).to_data()["model"] == "Priced"


def test_list_key_problem_is_a_finding_and_items_match_by_index() -> None:
    adapter = meal_log()
    adapter["items"][1]["food_id"] = "f1"  # duplicate key
    result = compare_dto(meal_log(), adapter, rules=PRODUCT)
    assert [(f.comparison, f.path, f.category, f.values) for f in result.findings] == [
        ("adapter", "items", "list_key", {"adapter": "f1"}),
        ("adapter_vs_legacy", "items[1].food_id", "value", {"legacy": "f2", "adapter": "f1"}),
    ]
    assert result.findings[0].detail == {
        "rule": "items",
        "field": "food_id",
        "reason": "duplicate",
        "index": 1,
        "count": 1,
        "first_index": 0,
    }


# --- statistics, usage, output ----------------------------------------------------------------


def test_within_tolerance_deltas_are_recorded_per_rule_and_comparison() -> None:
    adapter, golden = day_summary(), day_summary()
    adapter["meals"][0]["items"][0]["kcal"] = 268  # +40 of 80
    adapter["meals"][1]["kcal"] = 630  # +20 of 80
    adapter["totals"]["protein_g"] = 43.5  # +3 of 15
    result = compare_dto(day_summary(), adapter, golden, rules=PRODUCT)
    assert result.passed
    data = result.to_data()
    stats = data["tolerance_stats"]
    assert sorted(stats) == ["**.kcal", "**.protein_g"]
    assert stats["**.kcal"]["adapter_vs_legacy"] == {
        "tolerance": {"abs": 80.0},
        "count": 2,
        "exceeded": 0,
        "max_delta": 40.0,
        "max_headroom": 0.5,
        "deltas": [40.0, 20.0],
    }
    assert sorted(stats["**.kcal"]) == ["adapter_vs_golden", "adapter_vs_legacy"]
    assert stats["**.protein_g"]["adapter_vs_golden"]["max_headroom"] == pytest.approx(0.2)
    assert data["rule_usage"]["tolerances"] == {
        "**.kcal": 15,
        "**.protein_g": 3,
        "**.total_kcal": 3,
    }
    assert data["rule_usage"]["ignore"] == {"**.request_id": 3, "meta.generated_at": 3}
    json.dumps(data, allow_nan=False)


def test_delta_list_is_capped_to_the_largest() -> None:
    n = DELTA_CAP + 150
    legacy = {"xs": [{"kcal": 0} for _ in range(n)]}
    adapter = {"xs": [{"kcal": i % 70} for i in range(n)]}
    result = compare_dto(legacy, adapter, rules=KCAL)
    stats = result.to_data()["tolerance_stats"]["**.kcal"]["adapter_vs_legacy"]
    nonzero = [float(i % 70) for i in range(n) if i % 70]
    assert stats["count"] == len(nonzero)
    assert stats["deltas"] == sorted(nonzero, reverse=True)[:DELTA_CAP]
    assert stats["max_delta"] == 69.0


def test_failure_text_is_a_small_report() -> None:
    legacy, adapter, golden = day_summary(), day_summary(), day_summary()
    adapter["meals"][0]["items"][1]["kcal"] = 250
    adapter["meals"][1]["items"][0]["name"] = "x" * 80
    legacy["macro_pct"]["fat"] = 31.0
    result = compare_dto(legacy, adapter, golden, rules=PRODUCT)
    assert result.failure_text().splitlines() == [
        "3 of 17 fields differ",
        "worst: meals[breakfast].items[f2].kcal (adapter_vs_legacy) differs by 120, "
        "allowed 80 by '**.kcal' (abs 80): 150% of its tolerance",
        "path                            | legacy   | adapter                          "
        "| golden   | triage",
        "macro_pct.fat                   | 31.0     | 30.0                             "
        "| 30.0     | legacy_drift",
        "meals[breakfast].items[f2].kcal | 130      | 250                              "
        "| 130      | adapter_regression",
        'meals[lunch].items[f9].name     | <absent> | "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… '
        "| <absent> | adapter_regression",
    ]


def test_failure_text_caps_rows() -> None:
    legacy = {f"k{i:02d}": i for i in range(30)}
    adapter = {f"k{i:02d}": i + 1 for i in range(30)}
    text = compare_dto(legacy, adapter).failure_text(max_rows=5)
    lines = text.splitlines()
    assert lines[0] == "30 of 30 fields differ"
    assert lines[1] == "worst: k00 (adapter_vs_legacy) differs by 1 (no tolerance rule)"
    assert [line.split(" ")[0] for line in lines[3:8]] == ["k00", "k01", "k02", "k03", "k04"]
    assert lines[-1] == "… and 25 more"
    assert len(lines) == 9


def test_failure_text_lists_contract_and_list_key_findings() -> None:
    adapter = meal_log()
    adapter["items"][1]["food_id"] = "f1"
    adapter["id"] = "x"
    text = compare_dto(meal_log(), adapter, model=MealLog, rules=PRODUCT).failure_text()
    assert text.splitlines()[1:3] == [
        "contract: adapter does not match MealLog: id: Input should be a valid integer, "
        "unable to parse string as an integer",
        "list_key: adapter list items (list_keys 'items' = 'food_id'): items 0 and 1 share "
        "'food_id' = 'f1'; matched by index instead",
    ]


def test_findings_json_fits_the_report_check() -> None:
    adapter = meal_log()
    adapter["items"][0]["kcal"] = 400
    result = compare_dto(meal_log(), adapter, meal_log(), model=MealLog, rules=PRODUCT)
    check = Check(
        id="log-42",
        nodeid="x::log-42",
        kind="dto",
        outcome="failed",
        findings=result.to_findings_json(),  # type: ignore[arg-type]
        data=result.to_data(),
    )
    assert [f.path for f in check.findings] == ["items[f1].kcal", "items[f1].kcal"]
    assert json.loads(json.dumps(result.to_findings_json()))[0]["headroom"] == pytest.approx(
        172 / 80
    )


def test_path_sort_key_is_natural() -> None:
    paths = ["items[10]", "items[2]", "a.b", "items[f1]", "items[=3]", "a"]
    ordered = sorted(paths, key=lambda t: path_sort_key(parse_path(t)))
    assert ordered == ["a", "a.b", "items[2]", "items[10]", "items[=3]", "items[f1]"]


def test_result_passed_property() -> None:
    assert isinstance(compare_dto({}, {}), DtoResult)
    assert compare_dto({}, {}).passed
    assert not compare_dto({}, {"a": 1}).passed


def test_inputs_are_not_modified() -> None:
    legacy, adapter = meal_log(), meal_log()
    adapter["items"].reverse()
    before = copy.deepcopy((legacy, adapter))
    compare_dto(legacy, adapter, rules=PRODUCT.merged_over(DiffRules(coerce_numbers=["**.kcal"])))
    assert (legacy, adapter) == before


def test_deepdiff_is_imported_only_once_a_pair_differs() -> None:
    import subprocess
    import sys

    script = (
        "import sys\n"
        "from pytest_dualread.dto import compare_dto\n"
        "body = {'a': [1, 2], 'b': {'c': 'x'}}\n"
        "assert compare_dto(body, dict(body), dict(body)).passed\n"
        "print('deepdiff' in sys.modules)\n"
        "assert not compare_dto(body, {**body, 'a': [1, 3]}).passed\n"
        "print('deepdiff' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True"]
