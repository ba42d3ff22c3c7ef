"""Both stores of the meal log, and the dual-write that keeps them in step.

One SQLite file holds both stores side by side; they share no table and no foreign key, and
each read path touches only its own tables.

**Legacy store** (one denormalised table, written by the old app)::

    meal_logs(id, user_id, logged_at, meal_type, items, kcal_total, protein_g, fat_g, carbs_g)

- ``logged_at``: ISO 8601 local time with the user's offset, ``2025-09-20T07:30:00+09:00``.
- ``items``: JSON text, a list of ``{food_id, name, grams, kcal, protein_g, fat_g, carbs_g}``
  sorted by the legacy rule (largest portion first: ``grams`` descending, then ``food_id``).
  ``kcal`` is a whole number rounded half up; macros are grams rounded half up to 0.1 g, or
  ``null`` when the food's macro is unknown.
- ``kcal_total``: the sum of the items' ``kcal``; ``protein_g`` / ``fat_g`` / ``carbs_g``: the
  sums of the items' grams (``null`` counts as 0), rounded to 0.1 g. The legacy app summed the
  values it displayed.

**v2 store** (normalised, foreign keys on)::

    users_v2(id, utc_offset_minutes)
    meal_logs_v2(id, user_id -> users_v2, logged_at_utc, meal_type)
    meal_items_v2(id, meal_log_id -> meal_logs_v2, food_id, name, grams, kcal,
                  protein_mg, fat_mg, carbs_mg)

- ``logged_at_utc``: ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, sortable as text).
- ``kcal``: REAL with 0.1 kcal precision; ``*_mg``: INTEGER milligrams, NULL when unknown.
- Items are stored in the order they were entered (``meal_items_v2.id``).

:func:`dual_write` takes one :class:`MealEntry` and writes it to both stores in a single
transaction, applying each store's representation. Energy and macros are quantised once (to
0.1 kcal and to whole milligrams) and the legacy values are derived from those, so both stores
always describe the same quantities.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

__all__ = [
    "LEGACY_TABLES",
    "MEAL_TYPES",
    "V2_TABLES",
    "ItemEntry",
    "MealEntry",
    "StoreError",
    "User",
    "create_schema",
    "dual_write",
    "half_up",
    "legacy_grams",
    "legacy_item_order",
    "missing_tables",
    "write_user",
]

MEAL_TYPES: Final = ("breakfast", "lunch", "dinner", "snack")
"""Meal types in the order the legacy app lists them."""

LEGACY_TABLES: Final = ("meal_logs",)
V2_TABLES: Final = ("users_v2", "meal_logs_v2", "meal_items_v2")

_SCHEMA: Final = """
CREATE TABLE meal_logs (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    logged_at   TEXT    NOT NULL,
    meal_type   TEXT    NOT NULL,
    items       TEXT    NOT NULL,
    kcal_total  INTEGER NOT NULL,
    protein_g   REAL    NOT NULL,
    fat_g       REAL    NOT NULL,
    carbs_g     REAL    NOT NULL
);
CREATE INDEX meal_logs_user_day ON meal_logs (user_id, logged_at);

CREATE TABLE users_v2 (
    id                  INTEGER PRIMARY KEY,
    utc_offset_minutes  INTEGER NOT NULL CHECK (utc_offset_minutes BETWEEN -720 AND 840)
);
CREATE TABLE meal_logs_v2 (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users_v2 (id),
    logged_at_utc  TEXT    NOT NULL CHECK (logged_at_utc LIKE '____-__-__T__:__:__Z'),
    meal_type      TEXT    NOT NULL
                   CHECK (meal_type IN ('breakfast', 'lunch', 'dinner', 'snack'))
);
CREATE INDEX meal_logs_v2_user_time ON meal_logs_v2 (user_id, logged_at_utc);
CREATE TABLE meal_items_v2 (
    id           INTEGER PRIMARY KEY,
    meal_log_id  INTEGER NOT NULL REFERENCES meal_logs_v2 (id) ON DELETE CASCADE,
    food_id      INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    grams        REAL    NOT NULL CHECK (grams > 0),
    kcal         REAL    NOT NULL CHECK (kcal >= 0),
    protein_mg   INTEGER CHECK (protein_mg >= 0),
    fat_mg       INTEGER CHECK (fat_mg >= 0),
    carbs_mg     INTEGER CHECK (carbs_mg >= 0),
    UNIQUE (meal_log_id, food_id)
);
CREATE INDEX meal_items_v2_log ON meal_items_v2 (meal_log_id);
"""


class StoreError(Exception):
    """A meal-log database is missing, unreadable or not in the expected shape."""


@dataclass(frozen=True)
class User:
    """A user of the nutrition app and the UTC offset their meals are logged in."""

    user_id: int
    utc_offset_minutes: int

    @property
    def tz(self) -> timezone:
        return timezone(timedelta(minutes=self.utc_offset_minutes))


@dataclass(frozen=True)
class ItemEntry:
    """One food of a meal, as the app receives it (already quantised)."""

    food_id: int
    name: str
    grams: Decimal
    deci_kcal: int
    """Energy in tenths of a kcal."""
    protein_mg: int | None
    fat_mg: int | None
    carbs_mg: int | None


@dataclass(frozen=True)
class MealEntry:
    """One meal log as the app receives it: local time with the user's offset."""

    log_id: int
    user_id: int
    local_time: datetime
    meal_type: str
    items: tuple[ItemEntry, ...]

    def __post_init__(self) -> None:
        if self.local_time.utcoffset() is None:
            raise ValueError(f"meal log {self.log_id}: local_time must carry a UTC offset")
        if self.meal_type not in MEAL_TYPES:
            raise ValueError(
                f"meal log {self.log_id}: meal_type must be one of {MEAL_TYPES}, "
                f"got {self.meal_type!r}"
            )


def half_up(value: Decimal, places: int = 0) -> Decimal:
    """Round half away from zero (the legacy app's rounding), to ``places`` decimals."""
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def legacy_grams(mg: int | None) -> float | None:
    """Milligrams to the legacy grams: half up to 0.1 g; unknown stays unknown."""
    if mg is None:
        return None
    return float(half_up(Decimal(mg) / 1000, 1))


def legacy_item_order(grams: float, food_id: int) -> tuple[float, int]:
    """Sort key of the legacy item order: largest portion first, then ``food_id``."""
    return (-grams, food_id)


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the tables of both stores in an empty database."""
    conn.executescript(_SCHEMA)


def write_user(conn: sqlite3.Connection, user: User) -> None:
    """Register a user in the v2 store (the legacy store has no user table)."""
    conn.execute(
        "INSERT INTO users_v2 (id, utc_offset_minutes) VALUES (?, ?)",
        (user.user_id, user.utc_offset_minutes),
    )


def _legacy_item(item: ItemEntry) -> dict[str, object]:
    return {
        "food_id": item.food_id,
        "name": item.name,
        "grams": float(item.grams),
        "kcal": int(half_up(Decimal(item.deci_kcal) / 10)),
        "protein_g": legacy_grams(item.protein_mg),
        "fat_g": legacy_grams(item.fat_mg),
        "carbs_g": legacy_grams(item.carbs_mg),
    }


def _legacy_sum(values: Iterable[object]) -> float:
    total = 0.0
    for value in values:
        if isinstance(value, float):
            total += value
    return round(total, 1)


def dual_write(conn: sqlite3.Connection, entry: MealEntry) -> None:
    """Write one meal log to the legacy and the v2 store in one transaction."""
    ordered = sorted(
        entry.items, key=lambda item: legacy_item_order(float(item.grams), item.food_id)
    )
    items = [_legacy_item(item) for item in ordered]
    kcal_total = sum(int(half_up(Decimal(item.deci_kcal) / 10)) for item in ordered)
    utc = entry.local_time.astimezone(timezone.utc)
    with conn:
        conn.execute(
            "INSERT INTO meal_logs (id, user_id, logged_at, meal_type, items, kcal_total,"
            " protein_g, fat_g, carbs_g) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                entry.log_id,
                entry.user_id,
                entry.local_time.isoformat(),
                entry.meal_type,
                json.dumps(items, ensure_ascii=False),
                kcal_total,
                _legacy_sum(it["protein_g"] for it in items),
                _legacy_sum(it["fat_g"] for it in items),
                _legacy_sum(it["carbs_g"] for it in items),
            ),
        )
        conn.execute(
            "INSERT INTO meal_logs_v2 (id, user_id, logged_at_utc, meal_type) VALUES (?, ?, ?, ?)",
            (entry.log_id, entry.user_id, utc.strftime("%Y-%m-%dT%H:%M:%SZ"), entry.meal_type),
        )
        conn.executemany(
            "INSERT INTO meal_items_v2 (meal_log_id, food_id, name, grams, kcal,"
            " protein_mg, fat_mg, carbs_mg) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    entry.log_id,
                    item.food_id,
                    item.name,
                    float(item.grams),
                    item.deci_kcal / 10,
                    item.protein_mg,
                    item.fat_mg,
                    item.carbs_mg,
                )
                for item in entry.items
            ],
        )


def missing_tables(conn: sqlite3.Connection, expected: Sequence[str]) -> list[str]:
    """The tables of ``expected`` that the database lacks."""
    present = {
        str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    return [name for name in expected if name not in present]
