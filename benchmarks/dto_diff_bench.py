"""Time the DTO diff on a 10,000-leaf pair (issue 5 acceptance: <= 50 ms).

Run from the repository root: ``.venv/bin/python benchmarks/dto_diff_bench.py [--repeat N]``.

The pair is a week of day summaries: days → keyed meals → keyed items, plus a positional list of
hourly readings, about 10,000 leaves per side, with a handful of differences (some within a
tolerance, some beyond it, a missing item, a type change). Timed, median of N runs each:

* ``compare_dto`` — the whole check: validate-free compare of legacy, adapter and golden (three
  comparisons), normalisation, triage and findings; and the same with two sides only;
* ``DeepDiff(a, b)`` — a bare deepdiff of the raw pair (tree view), its peer;
* ``a == b`` — plain equality, the floor.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deepdiff import DeepDiff

from pytest_dualread.dto import compare_dto
from pytest_dualread.normalize import DiffRules, count_leaves

RULES = DiffRules(
    ignore=["**.request_id", "meta.generated_at"],
    list_keys={"days[*].meals": "meal_type", "days[*].meals[*].items": "food_id"},
    tolerances={
        "**.kcal": {"abs": 80},
        "**.protein_g": {"abs": 15},
        "**.total_kcal": {"rel": 0.18},
    },
)
MEALS = ("breakfast", "lunch", "dinner", "snack")


def build_pair() -> tuple[dict[str, Any], dict[str, Any]]:
    days = []
    for d in range(7):
        meals = []
        for m, meal_type in enumerate(MEALS):
            items = [
                {
                    "food_id": f"f{d}-{m}-{i}",
                    "name": f"food {i}",
                    "grams": 10.0 + i,
                    "kcal": 50 + i,
                    "protein_g": 1.5 + i / 10,
                    "fat_g": 0.5,
                    "carb_g": 3.25,
                    "tags": ["a", "b"],
                    "verified": i % 2 == 0,  # a bool makes the fast path check types too
                    "request_id": f"r{d}{m}{i}",
                }
                for i in range(35)
            ]
            meals.append({"meal_type": meal_type, "kcal": 500 + m, "items": items})
        readings = [{"hour": h, "steps": h * 10, "hr": 60.5} for h in range(24)]
        days.append(
            {
                "date": f"2025-09-{d + 14}",
                "meals": meals,
                "readings": readings,
                "total_kcal": 2000 + d,
                "macro_pct": {"p": 20.0, "f": 30.0, "c": 50.0},
            }
        )
    legacy = {"user_id": 7, "days": days, "meta": {"request_id": "abc", "generated_at": "t0"}}
    adapter = copy.deepcopy(legacy)
    adapter["meta"] = {"request_id": "xyz", "generated_at": "t1"}  # ignored
    day = adapter["days"][2]
    day["meals"].reverse()  # keyed: order must not matter
    day["meals"][0]["items"][3]["kcal"] += 40  # within abs 80
    day["meals"][1]["items"][7]["kcal"] += 120  # beyond abs 80
    day["meals"][2]["items"][5]["protein_g"] += 0.2  # within abs 15
    del day["meals"][3]["items"][9]  # a missing item
    day["readings"][5]["steps"] = "50"  # a type change
    day["total_kcal"] = round(day["total_kcal"] * 1.05)  # within rel 0.18
    return legacy, adapter


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm caches (compiled rules, automaton transitions)
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per subject")
    args = parser.parse_args()
    legacy, adapter = build_pair()
    golden = copy.deepcopy(legacy)
    result = compare_dto(legacy, adapter, golden, rules=RULES)
    print(f"leaves per side: {count_leaves(legacy)}; findings: {len(result.findings)}")
    print(result.failure_text(max_rows=8))
    print()
    subjects: dict[str, Callable[[], object]] = {
        "compare_dto (legacy, adapter, golden)": lambda: compare_dto(
            legacy, adapter, golden, rules=RULES
        ),
        "compare_dto (legacy, adapter)": lambda: compare_dto(legacy, adapter, rules=RULES),
        "DeepDiff(a, b, view='tree')": lambda: DeepDiff(legacy, adapter, view="tree"),
        "a == b": lambda: legacy == adapter,
    }
    times = {name: timed(fn, args.repeat) for name, fn in subjects.items()}
    base = times["compare_dto (legacy, adapter, golden)"]
    width = max(map(len, times))
    print(f"median of {args.repeat} runs")
    for name, ms in times.items():
        print(f"  {name.ljust(width)}  {ms:9.3f} ms   {ms / base:8.3f}x of compare_dto")
    budget = 50.0
    verdict = "within" if base <= budget else "OVER"
    print(f"compare_dto with golden: {base:.1f} ms, {verdict} the {budget:.0f} ms budget")


if __name__ == "__main__":
    main()
