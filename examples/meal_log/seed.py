"""Deterministic seed data for both stores, and the named awkward cases.

``build_database(path, users=50, days=14)`` writes a fresh database (both stores, through
:func:`~examples.meal_log.store.dual_write`) to ``path`` atomically. The data never depends on
today's date, the process or the platform: days start at :data:`START_DATE` and every
(user, day) draws from its own ``random.Random`` seeded with a string.

The awkward cases come first, with fixed log ids 1-14, so they are the same for any
``--users >= 8`` and ``--days >= 8``; :func:`awkward_cases` names them. Every other user-day is
drawn at random (up to one log per meal type; day 0 always has a breakfast, so every user has
at least one log).
"""

from __future__ import annotations

import os
import random
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final, NamedTuple

from .store import ItemEntry, MealEntry, User, create_schema, dual_write, half_up, write_user

__all__ = [
    "DEFAULT_DAYS",
    "DEFAULT_USERS",
    "MIN_DAYS",
    "MIN_USERS",
    "START_DATE",
    "AwkwardCases",
    "BugCase",
    "UserDay",
    "awkward_cases",
    "build_database",
    "generate",
    "users",
]

START_DATE: Final = date(2025, 9, 14)
DEFAULT_USERS: Final = 50
DEFAULT_DAYS: Final = 14
MIN_USERS: Final = 8
MIN_DAYS: Final = 8
_SEED: Final = "meal-log-v1"


@dataclass(frozen=True)
class _Food:
    food_id: int
    name: str
    kcal: Decimal
    """kcal per 100 g."""
    protein_mg: int | None
    """mg per 100 g; None when unknown (custom foods)."""
    fat_mg: int | None
    carbs_mg: int | None
    portion: tuple[int, int]
    """Range of a usual portion in grams."""


def _f(
    food_id: int,
    name: str,
    kcal: str,
    macros: tuple[int, int, int] | None,
    portion: tuple[int, int],
) -> _Food:
    p, f, c = macros if macros is not None else (None, None, None)
    return _Food(food_id, name, Decimal(kcal), p, f, c, portion)


# kcal and macros (mg) per 100 g, roughly right; ``None`` macros: a user-entered custom food.
FOODS: Final = {
    f.food_id: f
    for f in (
        _f(101, "Rolled oats", "379", (13150, 6520, 67700), (40, 90)),
        _f(102, "Whole milk", "61", (3150, 3250, 4800), (100, 300)),
        _f(103, "Banana", "89", (1090, 330, 22840), (80, 150)),
        _f(104, "Boiled egg", "155", (12600, 10600, 1120), (50, 120)),
        _f(105, "Greek yoghurt", "97", (9000, 5000, 3980), (100, 250)),
        _f(106, "Sourdough bread", "289", (9000, 1800, 56000), (40, 120)),
        _f(107, "Butter", "717", (850, 81110, 60), (5, 20)),
        _f(108, "Strawberry jam", "250", (370, 70, 61000), (10, 30)),
        _f(109, "Orange juice", "45", (700, 200, 10400), (150, 300)),
        _f(110, "Blueberries", "57", (740, 330, 14490), (50, 150)),
        _f(111, "Chicken breast", "165", (31000, 3600, 0), (100, 220)),
        _f(112, "Basmati rice, cooked", "130", (2700, 300, 28200), (120, 300)),
        _f(113, "Broccoli", "34", (2820, 370, 6640), (60, 200)),
        _f(114, "Olive oil", "884", (0, 100000, 0), (5, 20)),
        _f(115, "Salmon fillet", "208", (20000, 13000, 0), (100, 200)),
        _f(116, "Potatoes, boiled", "87", (1870, 100, 20130), (100, 300)),
        _f(117, "Mixed salad", "17", (1300, 200, 3300), (50, 150)),
        _f(118, "Cheddar", "403", (24900, 33100, 1300), (20, 60)),
        _f(119, "Wholewheat pasta", "149", (5990, 1710, 30100), (150, 300)),
        _f(120, "Tomato sauce", "29", (1300, 200, 6200), (80, 200)),
        _f(121, "Apple", "52", (260, 170, 13810), (120, 220)),
        _f(122, "Almonds", "579", (21150, 49930, 21550), (15, 40)),
        _f(123, "Dark chocolate", "546", (4900, 31000, 61000), (10, 40)),
        _f(124, "Lentil soup", "56", (3600, 1200, 8200), (250, 400)),
        _f(125, "Tofu", "76", (8000, 4800, 1900), (80, 200)),
        _f(126, "Onigiri (salmon)", "179", (4700, 1900, 35600), (100, 120)),
        _f(127, "Miso soup", "40", (2200, 1200, 5000), (150, 250)),
        # Unicode names: Latin extended, Greek and Cyrillic (covered by Liberation/DejaVu).
        _f(140, "Crème fraîche", "292", (2400, 30000, 2800), (15, 50)),
        _f(141, "Smørrebrød", "233", (11000, 12000, 19000), (90, 160)),
        _f(142, "Борщ", "49", (1100, 2300, 5600), (250, 400)),
        _f(143, "Γιαούρτι με μέλι", "130", (8200, 4100, 15000), (150, 250)),
        _f(144, "Pão de queijo", "363", (6300, 18000, 43000), (40, 100)),
        _f(145, "Żurek", "62", (2600, 3400, 5100), (250, 400)),
        _f(146, "Çiğ köfte", "198", (6000, 9000, 24000), (80, 160)),
        _f(147, "Jalapeño", "29", (910, 370, 6500), (10, 40)),
        # Zero-kcal drinks.
        _f(201, "Mineral water", "0", (0, 0, 0), (250, 750)),
        _f(202, "Black coffee", "0", (0, 0, 0), (150, 300)),
        _f(203, "Green tea", "0", (0, 0, 0), (200, 400)),
        _f(204, "Diet cola", "0", (0, 0, 0), (330, 500)),
        # Custom foods: energy known, macros unknown (NULL in v2, null in legacy).
        _f(301, "Matcha latte (café, custom)", "51", None, (200, 350)),
        _f(302, "Grandma's pierogi (custom)", "210", None, (150, 300)),
    )
}

_MENU: Final = {
    "breakfast": (101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 144, 202, 203, 301),
    "lunch": (106, 111, 112, 113, 116, 117, 118, 120, 124, 125, 126, 127, 141, 142, 145, 201),
    "dinner": (111, 112, 113, 114, 115, 116, 117, 119, 120, 140, 143, 146, 147, 201, 302),
    "snack": (103, 110, 118, 121, 122, 123, 143, 201, 203, 204, 301),
}
_MEAL_CHANCE: Final = {"breakfast": 0.85, "lunch": 0.85, "dinner": 0.9, "snack": 0.45}
_MEAL_ITEMS: Final = {"breakfast": (1, 4), "lunch": (2, 6), "dinner": (2, 6), "snack": (1, 2)}
# Local-time windows (minutes after midnight); late snacks cross UTC midnight for many offsets.
_MEAL_WINDOW: Final = {
    "breakfast": (6 * 60, 9 * 60 + 59),
    "lunch": (11 * 60 + 30, 14 * 60 + 30),
    "dinner": (18 * 60, 21 * 60 + 59),
    "snack": (15 * 60, 23 * 60 + 50),
}
# Offsets of users 1-8 are pinned by the awkward cases; the rest cycle through this list.
_PINNED_OFFSETS: Final = {1: 540, 2: 60, 3: 0, 4: 120, 5: -300, 6: 330, 7: -180, 8: 0}
_OFFSETS: Final = (0, 60, 120, -300, -420, 330, 540, -240, 600, -600, 180, -180, 345, 780)


class UserDay(NamedTuple):
    """A user and a local date; ``day_path`` / ``dashboard_path`` give the app's URLs."""

    user_id: int
    date: str

    @property
    def day_path(self) -> str:
        return f"/users/{self.user_id}/days/{self.date}"

    @property
    def dashboard_path(self) -> str:
        return f"/dashboard/{self.user_id}/{self.date}"


class BugCase(NamedTuple):
    """A meal log and a user-day on which a seeded adapter bug is visible in the JSON."""

    log_id: int
    day: UserDay

    @property
    def log_path(self) -> str:
        return f"/meal-logs/{self.log_id}"


@dataclass(frozen=True)
class AwkwardCases:
    """Named awkward cases of the seed data (log ids and user-days); see :func:`awkward_cases`."""

    showcase_day: UserDay
    """User 1 (UTC+09:00), a full day on which every JSON-visible bug shows."""
    empty_day: UserDay
    """A user with no log on that day (the user has logs on other days)."""
    many_items_log: int
    many_items_day: UserDay
    """A lunch of 20 items."""
    fractional_grams_log: int
    fractional_grams_day: UserDay
    """Portions such as 12.25 g and 7.5 g."""
    utc_plus_9_log: int
    utc_plus_9_day: UserDay
    """A breakfast at 07:30 +09:00, which is 22:30 UTC on the day before."""
    utc_minus_5_logs: tuple[int, ...]
    utc_minus_5_days: tuple[UserDay, ...]
    """User 5 (UTC-05:00) eating around local midnight: 19:30 and 23:45 on the first day and
    00:20 on the next all fall on the same UTC date."""
    unicode_log: int
    unicode_day: UserDay
    """Food names in Latin extended, Greek and Cyrillic."""
    zero_kcal_log: int
    zero_energy_day: UserDay
    """Only zero-kcal drinks all day, so the macro percentages are null."""
    unknown_macros_log: int
    """An item whose macros are unknown (null in legacy, NULL in v2)."""
    bug_cases: dict[str, BugCase]
    """For each JSON-visible seeded bug, a meal log and a day summary on which it shows."""

    def log_ids(self) -> list[int]:
        """Every awkward meal-log id, sorted."""
        ids = {
            self.many_items_log,
            self.fractional_grams_log,
            self.utc_plus_9_log,
            *self.utc_minus_5_logs,
            self.unicode_log,
            self.zero_kcal_log,
            self.unknown_macros_log,
            *(case.log_id for case in self.bug_cases.values()),
        }
        return sorted(ids)

    def days(self) -> list[UserDay]:
        """Every awkward user-day, sorted."""
        found = {
            self.showcase_day,
            self.empty_day,
            self.many_items_day,
            self.fractional_grams_day,
            self.utc_plus_9_day,
            *self.utc_minus_5_days,
            self.unicode_day,
            self.zero_energy_day,
            *(case.day for case in self.bug_cases.values()),
        }
        return sorted(found)


def _day(index: int) -> str:
    return (START_DATE + timedelta(days=index)).isoformat()


def awkward_cases() -> AwkwardCases:
    """The awkward cases of the seed data, identical for any ``--users >= 8 --days >= 8``.

    ``bug_cases`` maps each seeded bug that changes the JSON (``kcal_rounding``, ``mg_to_g``,
    ``drop_last_item``, ``utc_offset``, ``null_vs_zero``) to a log and a day that show it;
    ``css_color`` and ``layout_shift`` change only the dashboard (use ``showcase_day``).
    """
    showcase = UserDay(1, _day(6))
    return AwkwardCases(
        showcase_day=showcase,
        empty_day=UserDay(2, _day(6)),
        many_items_log=4,
        many_items_day=UserDay(3, _day(2)),
        fractional_grams_log=5,
        fractional_grams_day=UserDay(4, _day(3)),
        utc_plus_9_log=1,
        utc_plus_9_day=showcase,
        utc_minus_5_logs=(6, 7, 8),
        utc_minus_5_days=(UserDay(5, _day(6)), UserDay(5, _day(7))),
        unicode_log=10,
        unicode_day=UserDay(6, _day(4)),
        zero_kcal_log=12,
        zero_energy_day=UserDay(7, _day(5)),
        unknown_macros_log=1,
        bug_cases={
            "kcal_rounding": BugCase(1, showcase),
            "mg_to_g": BugCase(2, showcase),
            "drop_last_item": BugCase(4, UserDay(3, _day(2))),
            "utc_offset": BugCase(7, UserDay(5, _day(6))),
            "null_vs_zero": BugCase(1, showcase),
        },
    )


def users(count: int) -> list[User]:
    """Users 1..count with their UTC offsets."""
    return [
        User(uid, _PINNED_OFFSETS.get(uid, _OFFSETS[uid % len(_OFFSETS)]))
        for uid in range(1, count + 1)
    ]


def _item(food_id: int, grams: str) -> ItemEntry:
    food = FOODS[food_id]
    g = Decimal(grams)

    def mg(per_100g: int | None) -> int | None:
        return None if per_100g is None else int(half_up(per_100g * g / 100))

    return ItemEntry(
        food_id=food.food_id,
        name=food.name,
        grams=g,
        deci_kcal=int(half_up(food.kcal * g / 10)),
        protein_mg=mg(food.protein_mg),
        fat_mg=mg(food.fat_mg),
        carbs_mg=mg(food.carbs_mg),
    )


def _at(user: User, day_index: int, hh_mm: str) -> datetime:
    local = datetime.combine(START_DATE + timedelta(days=day_index), time.fromisoformat(hh_mm))
    return local.replace(tzinfo=user.tz)


def _pinned(by_id: dict[int, User]) -> tuple[list[MealEntry], set[tuple[int, int]]]:
    """The awkward cases: entries with ids 1.., and the (user, day index) pairs they own."""
    u1, u3, u4, u5, u6, u7 = (by_id[i] for i in (1, 3, 4, 5, 6, 7))
    twenty = (
        (106, "60"), (111, "140"), (112, "180"), (113, "90"), (116, "150"),
        (117, "70"), (118, "30"), (120, "100"), (124, "300"), (125, "120"),
        (126, "110"), (127, "200"), (141, "120"), (142, "320"), (145, "280"),
        (201, "500"), (121, "150"), (122, "25"), (123, "20"), (147, "15"),
    )  # fmt: skip
    specs: list[tuple[User, int, str, str, tuple[tuple[int, str], ...]]] = [
        # 1: showcase breakfast. Banana 50 g = 44.5 kcal (half-up 45, banker's 44); the
        #    matcha latte has unknown macros; 07:30 +09:00 is 22:30 UTC the day before.
        (u1, 6, "07:30", "breakfast", ((101, "60"), (102, "200"), (103, "50"), (301, "250"))),
        # 2, 3: the rest of the showcase day.
        (u1, 6, "12:40", "lunch", ((126, "110"), (127, "200"), (117, "80"))),
        (u1, 6, "19:15", "dinner", ((115, "150"), (112, "200"), (113, "120"), (203, "300"))),
        # 4: twenty items in one lunch.
        (u3, 2, "12:05", "lunch", tuple(twenty)),
        # 5: fractional grams.
        (u4, 3, "19:50", "dinner", ((114, "12.25"), (118, "7.5"), (112, "187.75"), (113, "0.5"))),
        # 6, 7: UTC-05:00 around midnight (dinner 00:30 UTC, snack 04:45 UTC the next day) ...
        (u5, 6, "19:30", "dinner", ((119, "220"), (120, "150"), (118, "25"))),
        (u5, 6, "23:45", "snack", ((123, "30"), (122, "20"))),
        # 8, 9: ... and 00:20 local on the next day, still the same UTC date.
        (u5, 7, "00:20", "snack", ((121, "180"),)),
        (u5, 7, "12:30", "lunch", ((124, "350"), (106, "70"))),
        # 10, 11: unicode names.
        (u6, 4, "13:10", "lunch", ((142, "350"), (141, "120"), (145, "300"), (144, "60"))),
        (u6, 4, "20:00", "dinner", ((146, "120"), (143, "180"), (140, "30"), (147, "20"))),
        # 12, 13: a day of zero-kcal drinks only.
        (u7, 5, "08:00", "breakfast", ((202, "250"),)),
        (u7, 5, "16:30", "snack", ((201, "500"), (204, "330"))),
    ]
    entries = [
        MealEntry(
            log_id=i,
            user_id=user.user_id,
            local_time=_at(user, day, hh_mm),
            meal_type=meal_type,
            items=tuple(_item(food_id, grams) for food_id, grams in items),
        )
        for i, (user, day, hh_mm, meal_type, items) in enumerate(specs, start=1)
    ]
    owned = {(user.user_id, day) for user, day, *_ in specs}
    owned.add((2, 6))  # the empty day
    return entries, owned


def _random_grams(rng: random.Random, low: int, high: int) -> str:
    if rng.random() < 0.35:
        return str(Decimal(rng.randint(low * 4, high * 4)) / 4)
    return str(rng.randint(low, high))


def _random_day(user: User, day_index: int) -> Iterator[tuple[str, datetime, list[ItemEntry]]]:
    rng = random.Random(f"{_SEED}:{user.user_id}:{day_index}")
    for meal_type in _MEAL_CHANCE:
        forced = day_index == 0 and meal_type == "breakfast"
        if not forced and rng.random() >= _MEAL_CHANCE[meal_type]:
            continue
        low, high = _MEAL_WINDOW[meal_type]
        minute = rng.randint(low, high)
        when = _at(user, day_index, f"{minute // 60:02d}:{minute % 60:02d}")
        count = rng.randint(*_MEAL_ITEMS[meal_type])
        foods = rng.sample(_MENU[meal_type], count)
        items = [_item(fid, _random_grams(rng, *FOODS[fid].portion)) for fid in foods]
        yield meal_type, when, items


def generate(user_count: int, day_count: int) -> tuple[list[User], list[MealEntry]]:
    """All users and meal entries for ``user_count`` users over ``day_count`` days."""
    if user_count < MIN_USERS:
        raise ValueError(f"users must be at least {MIN_USERS}, got {user_count}")
    if day_count < MIN_DAYS:
        raise ValueError(f"days must be at least {MIN_DAYS}, got {day_count}")
    all_users = users(user_count)
    entries, owned = _pinned({u.user_id: u for u in all_users})
    next_id = 101  # ids 1-100 are kept for awkward cases
    for user in all_users:
        for day_index in range(day_count):
            if (user.user_id, day_index) in owned:
                continue
            for meal_type, when, items in _random_day(user, day_index):
                entries.append(MealEntry(next_id, user.user_id, when, meal_type, tuple(items)))
                next_id += 1
    return all_users, entries


def build_database(
    path: Path, user_count: int = DEFAULT_USERS, day_count: int = DEFAULT_DAYS
) -> Path:
    """Write a freshly seeded database to ``path``, replacing it atomically.

    The database is built in a temporary file next to ``path`` and renamed over it, so a
    concurrent reader (or a second process building the same file) never sees a partial one.
    """
    all_users, entries = generate(user_count, day_count)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex}.tmp")
    try:
        conn = sqlite3.connect(tmp)
        try:
            # The file is renamed into place only when complete, so durability of the
            # intermediate commits buys nothing; this keeps seeding well under a second.
            conn.execute("PRAGMA journal_mode = MEMORY")
            conn.execute("PRAGMA synchronous = OFF")
            conn.execute("PRAGMA foreign_keys = ON")
            create_schema(conn)
            with conn:
                for user in all_users:
                    write_user(conn, user)
            for entry in entries:
                dual_write(conn, entry)
        finally:
            conn.close()
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
