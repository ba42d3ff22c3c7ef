"""The adapter: reads the v2 store and maps it to the legacy DTO.

Field-by-field mapping (v2 → legacy DTO). Log fields apply to ``MealLogDTO`` and to each
``DaySummaryDTO.meals[]`` entry (where ``id`` is ``log_id`` and ``kcal_total`` is ``kcal``):

================== ==================================== ==========================================
legacy DTO field   v2 source                            rule
================== ==================================== ==========================================
id / log_id        meal_logs_v2.id                      as is (the dual-write keeps ids equal)
user_id            meal_logs_v2.user_id                 as is
logged_at          meal_logs_v2.logged_at_utc,          UTC → the user's offset; ISO 8601 with
                   users_v2.utc_offset_minutes          seconds and ±HH:MM (``+00:00`` for UTC)
meal_type          meal_logs_v2.meal_type               as is
items              meal_items_v2 rows of the log        legacy order: grams descending, then
                   (stored in entry order)              food_id
items[].food_id    meal_items_v2.food_id                as is
items[].name       meal_items_v2.name                   as is
items[].grams      meal_items_v2.grams (REAL)           as is
items[].kcal       meal_items_v2.kcal (REAL, 0.1 kcal)  round half up to a whole kcal
items[].protein_g  meal_items_v2.protein_mg (INTEGER)   mg / 1000, round half up to 0.1 g;
items[].fat_g      meal_items_v2.fat_mg (INTEGER)       NULL (unknown) → None, never 0
items[].carbs_g    meal_items_v2.carbs_mg (INTEGER)     (same rule)
kcal_total, kcal   recomputed                           sum of the mapped items' kcal
protein_g, fat_g,  recomputed                           sum of the mapped items' grams, None
carbs_g                                                 counting 0 (exact in tenths)
date               the request                          the user's local date; the v2 query spans
                                                        its UTC range [00:00, 24:00)
meals              meal_logs_v2 rows in that range      breakfast, lunch, dinner, snack; then
                                                        time, then id
total_kcal,        recomputed                           sums over the meals (exact in tenths)
total_*_g
macro_pct.*        recomputed                           the legacy formula on the totals:
                                                        round(e * 100 / sum(e), 1), e = 4 x
                                                        protein, 9 x fat, 4 x carbs; None if
                                                        sum(e) is 0
meta               the request                          request_id, generated_at (volatile)
================== ==================================== ==========================================

A user exists for the adapter when ``users_v2`` has them.

Seeded bugs, switched on by ``MEAL_LOG_ADAPTER_BUG=<name>`` (read on every request; unset or
empty means the correct adapter):

- ``kcal_rounding``: item kcal rounded half to even (Python's ``round``), so x.5 with an even x
  comes out one lower; the kcal totals follow.
- ``mg_to_g``: fat converted with a factor 100 instead of 1000; fat totals and the macro
  percentages follow.
- ``drop_last_item``: the last item (the smallest portion) of every log is dropped; the totals
  and percentages recomputed from the items follow.
- ``utc_offset``: ``logged_at`` left in UTC (``+00:00``).
- ``null_vs_zero``: unknown macros come back as ``0.0`` instead of ``None``.
- ``css_color``: the dashboard's total row is drawn in another colour (JSON unchanged).
- ``layout_shift``: the dashboard's grams column is 1 px wider (JSON unchanged).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal, get_args

from .dashboard import DashboardStyle
from .dto import DaySummaryDTO, MacroPctDTO, MealDTO, MealItemDTO, MealLogDTO, MetaDTO
from .legacy import NotFound

__all__ = [
    "BUGS",
    "ENV_BUG",
    "AdapterBug",
    "AdapterConfigError",
    "active_bug",
    "dashboard_style",
    "day_summary",
    "meal_log",
    "user_offset",
]

ENV_BUG: Final = "MEAL_LOG_ADAPTER_BUG"
AdapterBug = Literal[
    "kcal_rounding",
    "mg_to_g",
    "drop_last_item",
    "utc_offset",
    "null_vs_zero",
    "css_color",
    "layout_shift",
]
BUGS: Final[tuple[AdapterBug, ...]] = get_args(AdapterBug)

_MEAL_ORDER: Final = {"breakfast": 0, "lunch": 1, "dinner": 2, "snack": 3}
_TENTH: Final = Decimal("0.1")


class AdapterConfigError(ValueError):
    """``MEAL_LOG_ADAPTER_BUG`` names no seeded bug."""


def active_bug() -> AdapterBug | None:
    """The seeded bug switched on by ``MEAL_LOG_ADAPTER_BUG``, or ``None``."""
    raw = os.environ.get(ENV_BUG, "").strip()
    if not raw:
        return None
    for bug in BUGS:
        if bug == raw:
            return bug
    raise AdapterConfigError(f"{ENV_BUG} must be empty or one of {', '.join(BUGS)}; got {raw!r}")


def _kcal(kcal: float, bug: AdapterBug | None) -> int:
    if bug == "kcal_rounding":
        return round(kcal)
    return int(Decimal(repr(kcal)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _grams(mg: int | None, macro: str, bug: AdapterBug | None) -> float | None:
    if mg is None:
        return 0.0 if bug == "null_vs_zero" else None
    factor = 100 if bug == "mg_to_g" and macro == "fat" else 1000
    return float((Decimal(mg) / factor).quantize(_TENTH, rounding=ROUND_HALF_UP))


def _local_time(logged_at_utc: str, offset_minutes: int, bug: AdapterBug | None) -> str:
    utc = datetime.strptime(logged_at_utc, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    if bug == "utc_offset":
        return utc.isoformat()
    return utc.astimezone(timezone(timedelta(minutes=offset_minutes))).isoformat()


def _sum_g(values: list[float | None]) -> float:
    return float(sum((Decimal(repr(v)) for v in values if v is not None), Decimal(0)))


def _items(conn: sqlite3.Connection, log_id: int, bug: AdapterBug | None) -> list[MealItemDTO]:
    rows = conn.execute(
        "SELECT * FROM meal_items_v2 WHERE meal_log_id = ? ORDER BY id", (log_id,)
    ).fetchall()
    rows.sort(key=lambda r: (-float(r["grams"]), int(r["food_id"])))
    if bug == "drop_last_item":
        rows = rows[:-1]
    return [
        MealItemDTO(
            food_id=r["food_id"],
            name=r["name"],
            grams=float(r["grams"]),
            kcal=_kcal(float(r["kcal"]), bug),
            protein_g=_grams(r["protein_mg"], "protein", bug),
            fat_g=_grams(r["fat_mg"], "fat", bug),
            carbs_g=_grams(r["carbs_mg"], "carbs", bug),
        )
        for r in rows
    ]


def user_offset(conn: sqlite3.Connection, user_id: int) -> int | None:
    """The user's UTC offset in minutes, or ``None`` if v2 has no such user."""
    row = conn.execute(
        "SELECT utc_offset_minutes FROM users_v2 WHERE id = ?", (user_id,)
    ).fetchone()
    return None if row is None else int(row[0])


def meal_log(
    conn: sqlite3.Connection, log_id: int, meta: MetaDTO, bug: AdapterBug | None = None
) -> MealLogDTO:
    """``GET /meal-logs/{id}`` read from v2."""
    row = conn.execute(
        "SELECT l.*, u.utc_offset_minutes FROM meal_logs_v2 l"
        " JOIN users_v2 u ON u.id = l.user_id WHERE l.id = ?",
        (log_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"meal log {log_id} not found")
    items = _items(conn, log_id, bug)
    return MealLogDTO(
        id=row["id"],
        user_id=row["user_id"],
        logged_at=_local_time(row["logged_at_utc"], row["utc_offset_minutes"], bug),
        meal_type=row["meal_type"],
        items=items,
        kcal_total=sum(i.kcal for i in items),
        protein_g=_sum_g([i.protein_g for i in items]),
        fat_g=_sum_g([i.fat_g for i in items]),
        carbs_g=_sum_g([i.carbs_g for i in items]),
        meta=meta,
    )


def _macro_pct(protein_g: float, fat_g: float, carbs_g: float) -> MacroPctDTO:
    # The legacy formula, operation for operation, so the floats come out identical.
    energy = (protein_g * 4, fat_g * 9, carbs_g * 4)
    total = sum(energy)
    p, f, c = (round(e * 100 / total, 1) if total > 0 else None for e in energy)
    return MacroPctDTO(protein=p, fat=f, carbs=c)


def day_summary(
    conn: sqlite3.Connection,
    user_id: int,
    day: date,
    meta: MetaDTO,
    bug: AdapterBug | None = None,
) -> DaySummaryDTO:
    """``GET /users/{uid}/days/{date}`` read from v2."""
    offset = user_offset(conn, user_id)
    if offset is None:
        raise NotFound(f"user {user_id} not found")
    tz = timezone(timedelta(minutes=offset))
    start = datetime.combine(day, time(0, 0), tzinfo=tz).astimezone(timezone.utc)
    end = start + timedelta(days=1)
    rows = conn.execute(
        "SELECT * FROM meal_logs_v2 WHERE user_id = ? AND logged_at_utc >= ? AND logged_at_utc < ?",
        (user_id, start.strftime("%Y-%m-%dT%H:%M:%SZ"), end.strftime("%Y-%m-%dT%H:%M:%SZ")),
    ).fetchall()
    rows.sort(key=lambda r: (_MEAL_ORDER[r["meal_type"]], r["logged_at_utc"], r["id"]))
    meals: list[MealDTO] = []
    for row in rows:
        items = _items(conn, row["id"], bug)
        meals.append(
            MealDTO(
                meal_type=row["meal_type"],
                log_id=row["id"],
                logged_at=_local_time(row["logged_at_utc"], offset, bug),
                items=items,
                kcal=sum(i.kcal for i in items),
                protein_g=_sum_g([i.protein_g for i in items]),
                fat_g=_sum_g([i.fat_g for i in items]),
                carbs_g=_sum_g([i.carbs_g for i in items]),
            )
        )
    protein = _sum_g([m.protein_g for m in meals])
    fat = _sum_g([m.fat_g for m in meals])
    carbs = _sum_g([m.carbs_g for m in meals])
    return DaySummaryDTO(
        user_id=user_id,
        date=day.isoformat(),
        meals=meals,
        total_kcal=sum(m.kcal for m in meals),
        total_protein_g=protein,
        total_fat_g=fat,
        total_carbs_g=carbs,
        macro_pct=_macro_pct(protein, fat, carbs),
        meta=meta,
    )


def dashboard_style(bug: AdapterBug | None = None) -> DashboardStyle:
    """How the adapter's dashboard is drawn; only ``css_color`` / ``layout_shift`` change it."""
    style = DashboardStyle()
    if bug == "css_color":
        return style.with_total_color("#b42318")
    if bug == "layout_shift":
        return style.with_wider_column("grams", 1)
    return style
