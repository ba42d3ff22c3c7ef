"""The legacy read path: the old app's code, reading the denormalised ``meal_logs`` table.

It returns plain dicts, exactly as the old endpoints did; :mod:`examples.meal_log.dto`
describes their shape. A user exists for the legacy path when they have at least one meal log.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import date
from typing import Any

__all__ = ["NotFound", "day_summary", "log_owner", "macro_pct", "meal_log"]

_MEAL_ORDER = (
    "CASE meal_type WHEN 'breakfast' THEN 0 WHEN 'lunch' THEN 1 WHEN 'dinner' THEN 2 ELSE 3 END"
)


class NotFound(LookupError):
    """The requested meal log or user does not exist."""


def log_owner(conn: sqlite3.Connection, log_id: int) -> int | None:
    """The user id of a meal log, or ``None`` if there is no such log."""
    row = conn.execute("SELECT user_id FROM meal_logs WHERE id = ?", (log_id,)).fetchone()
    return None if row is None else int(row[0])


def meal_log(conn: sqlite3.Connection, log_id: int, meta: dict[str, str]) -> dict[str, Any]:
    """``GET /meal-logs/{id}`` as the legacy app serves it."""
    row = conn.execute("SELECT * FROM meal_logs WHERE id = ?", (log_id,)).fetchone()
    if row is None:
        raise NotFound(f"meal log {log_id} not found")
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "logged_at": row["logged_at"],
        "meal_type": row["meal_type"],
        "items": json.loads(row["items"]),
        "kcal_total": row["kcal_total"],
        "protein_g": row["protein_g"],
        "fat_g": row["fat_g"],
        "carbs_g": row["carbs_g"],
        "meta": meta,
    }


def macro_pct(protein_g: float, fat_g: float, carbs_g: float) -> dict[str, float | None]:
    """Share of macro energy in %, to 0.1; all ``None`` when there is no macro energy."""
    energy = {"protein": protein_g * 4, "fat": fat_g * 9, "carbs": carbs_g * 4}
    total = sum(energy.values())
    return {k: (round(v * 100 / total, 1) if total > 0 else None) for k, v in energy.items()}


def day_summary(
    conn: sqlite3.Connection, user_id: int, day: date, meta: dict[str, str]
) -> dict[str, Any]:
    """``GET /users/{uid}/days/{date}`` as the legacy app serves it."""
    known = conn.execute("SELECT 1 FROM meal_logs WHERE user_id = ? LIMIT 1", (user_id,))
    if known.fetchone() is None:
        raise NotFound(f"user {user_id} not found")
    rows = conn.execute(
        "SELECT * FROM meal_logs WHERE user_id = ? AND substr(logged_at, 1, 10) = ?"
        f" ORDER BY {_MEAL_ORDER}, logged_at, id",
        (user_id, day.isoformat()),
    ).fetchall()
    meals = [
        {
            "meal_type": row["meal_type"],
            "log_id": row["id"],
            "logged_at": row["logged_at"],
            "items": json.loads(row["items"]),
            "kcal": row["kcal_total"],
            "protein_g": row["protein_g"],
            "fat_g": row["fat_g"],
            "carbs_g": row["carbs_g"],
        }
        for row in rows
    ]
    protein = round(sum((m["protein_g"] for m in meals), 0.0), 1)
    fat = round(sum((m["fat_g"] for m in meals), 0.0), 1)
    carbs = round(sum((m["carbs_g"] for m in meals), 0.0), 1)
    return {
        "user_id": user_id,
        "date": day.isoformat(),
        "meals": meals,
        "total_kcal": sum(m["kcal"] for m in meals),
        "total_protein_g": protein,
        "total_fat_g": fat,
        "total_carbs_g": carbs,
        "macro_pct": macro_pct(protein, fat, carbs),
        "meta": meta,
    }
