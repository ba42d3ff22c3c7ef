"""The example's visual suite: the meal-log dashboard, rendered from the legacy and the adapter
read path, must look the same, and the same as its baseline in snapshots/visual/."""

from __future__ import annotations

import pytest

from examples.meal_log.seed import awkward_cases

AWKWARD = awkward_cases()

# (user, local date): the awkward cases of the seed data, then ordinary days.
DAYS = [
    pytest.param(AWKWARD.showcase_day, id="showcase-utc+9"),
    pytest.param(AWKWARD.empty_day, id="empty-day"),
    pytest.param(AWKWARD.many_items_day, id="twenty-items"),
    pytest.param(AWKWARD.fractional_grams_day, id="fractional-grams"),
    pytest.param(AWKWARD.utc_minus_5_days[0], id="utc-5-evening"),
    pytest.param(AWKWARD.utc_minus_5_days[1], id="utc-5-next-day"),
    pytest.param(AWKWARD.unicode_day, id="unicode-names"),
    pytest.param(AWKWARD.zero_energy_day, id="zero-energy"),
]


@pytest.mark.dual_read(kind="visual")
@pytest.mark.parametrize("day", DAYS)
def test_dashboard(dual_read, day) -> None:  # type: ignore[no-untyped-def]
    dual_read.check_page(day.dashboard_path)
