"""The adapter: mapping per field, equality with legacy on all seeded data, the seeded bugs."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from examples.meal_log import adapter, legacy, seed, store
from examples.meal_log.app import encode_json
from examples.meal_log.dto import DaySummaryDTO, MealLogDTO
from examples.meal_log.store import ItemEntry, MealEntry, User

from ._helpers import (
    EXPECTED_BUG_PATHS,
    META,
    Seeded,
    adapter_day,
    adapter_log,
    diff_paths,
    legacy_day,
    legacy_log,
)


@pytest.fixture
def tiny() -> Iterator[sqlite3.Connection]:
    """Hand-written cases, one per mapping rule, in a fresh in-memory database."""
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    store.create_schema(conn)
    for user in (User(1, 540), User(2, -300), User(3, 330)):
        store.write_user(conn, user)

    def at(user_offset: int, text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=timezone(timedelta(minutes=user_offset)))

    item = ItemEntry
    entries = [
        MealEntry(1, 1, at(540, "2025-09-20T07:30"), "breakfast", (
            item(10, "Banana", Decimal("50"), 445, 545, 165, 11420),  # 44.5 kcal
            item(11, "Oats", Decimal("60"), 2274, 7890, 3912, 40620),
            item(12, "Egg", Decimal("60"), 930, 7560, 6360, 672),  # ties with oats on grams
            item(13, "Latte (custom)", Decimal("250"), 1275, None, None, None),
        )),
        MealEntry(2, 2, at(-300, "2025-09-20T23:45"), "snack", (
            item(20, "Almonds", Decimal("12.25"), 709, 1050, 1049, 50),  # mg on .x50 edges
        )),
        MealEntry(3, 2, at(-300, "2025-09-21T00:20"), "snack", (
            item(21, "Water", Decimal("500"), 0, 0, 0, 0),
        )),
        MealEntry(4, 2, at(-300, "2025-09-20T19:30"), "dinner", (
            item(22, "Pasta", Decimal("220"), 3278, 13178, 3762, 66220),
        )),
        MealEntry(5, 3, at(330, "2025-09-20T05:10"), "breakfast", (
            item(23, "Chai", Decimal("200"), 1000, 2000, 2000, 16000),
        )),
    ]  # fmt: skip
    for entry in entries:
        store.dual_write(conn, entry)
    yield conn
    conn.close()


def test_items_follow_the_legacy_order(tiny: sqlite3.Connection) -> None:
    got = [i.food_id for i in adapter.meal_log(tiny, 1, META).items]
    assert got == [13, 11, 12, 10]  # grams descending, then food_id (v2 has entry order)
    assert got == [i["food_id"] for i in legacy_log(tiny, 1)["items"]]


def test_kcal_is_rounded_half_up(tiny: sqlite3.Connection) -> None:
    items = {i.food_id: i.kcal for i in adapter.meal_log(tiny, 1, META).items}
    assert items == {10: 45, 11: 227, 12: 93, 13: 128}


@pytest.mark.parametrize(
    ("field", "expected"), [("protein_g", 1.1), ("fat_g", 1.0), ("carbs_g", 0.1)]
)
def test_mg_to_grams_rounds_half_up_to_tenths(
    tiny: sqlite3.Connection, field: str, expected: float
) -> None:
    item = adapter.meal_log(tiny, 2, META).items[0]
    assert getattr(item, field) == expected
    assert legacy_log(tiny, 2)["items"][0][field] == expected


def test_unknown_macros_stay_none(tiny: sqlite3.Connection) -> None:
    latte = adapter.meal_log(tiny, 1, META).items[0]
    assert (latte.protein_g, latte.fat_g, latte.carbs_g) == (None, None, None)


@pytest.mark.parametrize(
    ("log_id", "expected"),
    [
        (1, "2025-09-20T07:30:00+09:00"),
        (2, "2025-09-20T23:45:00-05:00"),
        (3, "2025-09-21T00:20:00-05:00"),
        (5, "2025-09-20T05:10:00+05:30"),
    ],
)
def test_logged_at_is_in_the_users_offset(
    tiny: sqlite3.Connection, log_id: int, expected: str
) -> None:
    assert adapter.meal_log(tiny, log_id, META).logged_at == expected


def test_totals_are_recomputed_from_the_mapped_items(tiny: sqlite3.Connection) -> None:
    log = adapter.meal_log(tiny, 1, META)
    assert log.kcal_total == 45 + 227 + 93 + 128
    # None counts 0. Fat is the sum of the rounded items (0.2 + 3.9 + 6.4 = 10.5), as the
    # legacy app summed what it displayed; rounding the raw 10437 mg would give 10.4.
    assert (log.protein_g, log.fat_g, log.carbs_g) == (16.0, 10.5, 52.7)
    assert encode_json(log.model_dump(mode="json")) == encode_json(legacy_log(tiny, 1))


def test_day_uses_the_users_local_midnight(tiny: sqlite3.Connection) -> None:
    day = adapter.day_summary(tiny, 2, date(2025, 9, 20), META)
    # 19:30 and 23:45 -05:00 are on 2025-09-21 in UTC but on the 20th locally.
    assert [(m.meal_type, m.log_id) for m in day.meals] == [("dinner", 4), ("snack", 2)]
    next_day = adapter.day_summary(tiny, 2, date(2025, 9, 21), META)
    assert [m.log_id for m in next_day.meals] == [3]
    assert next_day.macro_pct.model_dump() == {"protein": None, "fat": None, "carbs": None}
    for d in (date(2025, 9, 20), date(2025, 9, 21)):
        assert adapter_day(tiny, 2, d) == legacy_day(tiny, 2, d)


def test_unknown_ids(tiny: sqlite3.Connection) -> None:
    with pytest.raises(legacy.NotFound, match="meal log 99 not found"):
        adapter.meal_log(tiny, 99, META)
    with pytest.raises(legacy.NotFound, match="user 9 not found"):
        adapter.day_summary(tiny, 9, date(2025, 9, 20), META)


def test_legacy_and_adapter_agree_on_every_meal_log(
    conn: sqlite3.Connection, seeded: Seeded
) -> None:
    mismatched = [i for i in seeded.log_ids if adapter_log(conn, i) != legacy_log(conn, i)]
    assert mismatched == []


def test_legacy_and_adapter_agree_on_every_user_day(
    conn: sqlite3.Connection, seeded: Seeded
) -> None:
    mismatched = [
        (u, d) for u, d in seeded.user_days if adapter_day(conn, u, d) != legacy_day(conn, u, d)
    ]
    assert mismatched == []


def test_dto_reproduces_the_legacy_json_byte_for_byte(
    conn: sqlite3.Connection, seeded: Seeded
) -> None:
    for log_id in seeded.log_ids:
        body = encode_json(legacy_log(conn, log_id))
        assert MealLogDTO.model_validate_json(body).model_dump_json().encode() == body
    for user_id, day in seeded.user_days:
        body = encode_json(legacy_day(conn, user_id, day))
        assert DaySummaryDTO.model_validate_json(body).model_dump_json().encode() == body


def _bug_paths(
    conn: sqlite3.Connection, seeded: Seeded, bug: adapter.AdapterBug
) -> tuple[set[str], set[str]]:
    log_paths: set[str] = set()
    for log_id in seeded.log_ids:
        log_paths |= diff_paths(legacy_log(conn, log_id), adapter_log(conn, log_id, bug))
    day_paths: set[str] = set()
    for user_id, day in seeded.user_days:
        day_paths |= diff_paths(
            legacy_day(conn, user_id, day), adapter_day(conn, user_id, day, bug)
        )
    return log_paths, day_paths


@pytest.mark.parametrize("bug", adapter.BUGS)
def test_each_bug_changes_only_what_its_name_says(
    conn: sqlite3.Connection, seeded: Seeded, bug: adapter.AdapterBug
) -> None:
    assert _bug_paths(conn, seeded, bug) == EXPECTED_BUG_PATHS[bug]


@pytest.mark.parametrize("bug", sorted(seed.awkward_cases().bug_cases))
def test_named_bug_cases_show_their_bug(conn: sqlite3.Connection, bug: str) -> None:
    case = seed.awkward_cases().bug_cases[bug]
    typed_bug: Any = bug
    log_diff = diff_paths(legacy_log(conn, case.log_id), adapter_log(conn, case.log_id, typed_bug))
    day = date.fromisoformat(case.day.date)
    day_diff = diff_paths(
        legacy_day(conn, case.day.user_id, day), adapter_day(conn, case.day.user_id, day, typed_bug)
    )
    expected_log, expected_day = EXPECTED_BUG_PATHS[bug]
    assert log_diff
    assert log_diff <= expected_log
    assert day_diff
    assert day_diff <= expected_day


def test_showcase_day_shows_every_json_bug(conn: sqlite3.Connection) -> None:
    case = seed.awkward_cases().showcase_day
    day = date.fromisoformat(case.date)
    for bug in seed.awkward_cases().bug_cases:
        typed_bug: Any = bug
        assert adapter_day(conn, case.user_id, day, typed_bug) != legacy_day(
            conn, case.user_id, day
        )


def test_active_bug_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert adapter.active_bug() is None
    monkeypatch.setenv(adapter.ENV_BUG, " mg_to_g ")
    assert adapter.active_bug() == "mg_to_g"
    monkeypatch.setenv(adapter.ENV_BUG, "")
    assert adapter.active_bug() is None
    monkeypatch.setenv(adapter.ENV_BUG, "kcal")
    with pytest.raises(adapter.AdapterConfigError) as info:
        adapter.active_bug()
    assert str(info.value) == (
        "MEAL_LOG_ADAPTER_BUG must be empty or one of kcal_rounding, mg_to_g, drop_last_item, "
        "utc_offset, null_vs_zero, css_color, layout_shift; got 'kcal'"
    )


def test_dashboard_style_bugs() -> None:
    assert adapter.dashboard_style(None) == adapter.dashboard_style("kcal_rounding")
    assert adapter.dashboard_style("css_color").total_color != adapter.dashboard_style().total_color
    shifted = adapter.dashboard_style("layout_shift")
    assert shifted.table_width == adapter.dashboard_style().table_width + 1
    assert {k: w for k, _, w in shifted.columns}["grams"] == 91
