"""Tolerances at their boundary: a difference equal to the bound, in the JSON's own decimal
digits, passes (the judge and ``--snapshot-update`` agree), and a threshold suggestion never
falls below a difference it has seen."""

from __future__ import annotations

import json

import pytest
from conftest import RunDualRead, add_dualread_table

from pytest_dualread.dto import compare_dto
from pytest_dualread.gate import suggest_thresholds
from pytest_dualread.normalize import DiffRules
from pytest_dualread.tolerance import Tolerance

PRICES = """
import json

async def app(scope, receive, send):
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    price = 75.92 if headers.get("x-side") == "legacy" else float(scope["path"].rsplit("/", 1)[1])
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps({"price": price}).encode()})
"""

CONFIG = """
[tool.dualread]
legacy_url = "prices:app"
adapter_url = "prices:app"
cases_dir = "cases"

[tool.dualread.legacy]
headers = { "X-Side" = "legacy" }

[tool.dualread.adapter]
headers = { "X-Side" = "adapter" }

[tool.dualread.dto]
tolerances = { "price" = { abs = 0.01 } }
"""

MODELS = """
from pydantic import BaseModel

class Price(BaseModel):
    price: float
"""


def prices(rules: DiffRules, legacy: float, adapter: float) -> bool:
    return compare_dto({"price": legacy}, {"price": adapter}, rules=rules).passed


BOUNDARY = [
    (75.92, 75.93, {"abs": 0.01}, True),  # the float difference is 0.010000000000005116
    (75.93, 75.92, {"abs": 0.01}, True),
    (75.92, 75.94, {"abs": 0.01}, False),
    (0.1, 0.3, {"abs": 0.2}, True),  # 0.30000000000000004 - 0.1 in floats
    (100, 110, {"rel": 0.1}, True),
    (100, 110.01, {"rel": 0.1}, False),
    (1.1, 1.2, {"rel": 0.0833333333}, False),
]


def test_a_difference_equal_to_the_bound_passes_and_one_beyond_fails() -> None:
    judged = [
        prices(DiffRules(tolerances={"price": Tolerance.of(bound)}), legacy, adapter)
        for legacy, adapter, bound, _ in BOUNDARY
    ]
    assert judged == [passes for *_, passes in BOUNDARY]


def test_the_message_prints_the_decimal_difference() -> None:
    rules = DiffRules(tolerances={"price": Tolerance(abs=0.01)})
    result = compare_dto({"price": 75.92}, {"price": 75.94}, rules=rules)
    assert "differs by 0.02, allowed 0.01 by 'price'" in result.failure_text()
    assert result.findings[0].delta == 0.02
    assert result.findings[0].headroom == 2.0


def test_a_one_cent_difference_passes_the_run_and_snapshot_update_writes_the_golden(
    inner_project: pytest.Pytester, run_dualread: RunDualRead, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner_project.makepyfile(prices=PRICES, models=MODELS)
    add_dualread_table(inner_project, CONFIG)
    inner_project.mkdir("cases")
    monkeypatch.syspath_prepend(str(inner_project.path))
    (inner_project.path / "cases" / "prices.json").write_text(
        json.dumps(
            {
                "model": "models:Price",
                "cases": [
                    {"id": "cent", "request": {"path": "/price/75.93"}},
                    {"id": "two-cents", "request": {"path": "/price/75.94"}},
                ],
            }
        )
    )
    update = run_dualread("--dual-read", "--snapshot-update")
    update.result.assert_outcomes(passed=1, failed=1)
    assert (inner_project.path / "snapshots/dto/prices/cent.json").exists()
    again = run_dualread("--dual-read", "-k", "cent and not two")
    again.result.assert_outcomes(passed=1)
    assert again.report is not None
    assert again.report.verdict.status == "pass"


@pytest.mark.parametrize(
    "deltas",
    [
        [1.0, 1.0, 1.0, 1.0, 10.0],  # median + k * IQR = 1, far below the 10 seen
        [1.0000004, 1.0000004, 1.0000004],  # six significant digits round to 1.0
        [0.010000000000005116, 0.01, 0.01],
        [2.5e-9, 2.5e-9, 7.77777777e-9],
    ],
)
def test_a_suggestion_is_never_below_the_largest_difference_seen(deltas: list[float]) -> None:
    (suggestion,) = suggest_thresholds({"price": deltas}, {"price": Tolerance(abs=0.001)}, k=1.5)
    assert suggestion.proposed_abs is not None
    assert suggestion.proposed_abs >= max(deltas)
    ok, _, _ = Tolerance(abs=suggestion.proposed_abs).judge(0.0, max(deltas))
    assert ok
    if suggestion.proposed_abs > 0:
        assert len(f"{suggestion.proposed_abs:g}") <= 12  # still a tidy figure


def test_a_suggestion_raised_to_the_largest_difference_says_so() -> None:
    (suggestion,) = suggest_thresholds({"kcal": [1.0, 1.0, 1.0, 1.0, 10.0]}, {})
    assert suggestion.proposed_abs == 10.0
    assert "raised to the largest difference seen 10" in suggestion.why
