"""Helpers shared by the meal-log example tests."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx

from examples.meal_log import adapter, legacy, seed
from examples.meal_log.app import app
from examples.meal_log.dto import MetaDTO

META = MetaDTO(request_id="test", generated_at="2025-01-01T00:00:00.000000Z")

# Per seeded bug: the generalised paths that differ between legacy and adapter, over all seeded
# data, for (meal log, day summary). ``[*]`` stands for any list element; a path ending in
# ``[*]`` means the lists differ in length.
MACRO_PCT = {"macro_pct.protein", "macro_pct.fat", "macro_pct.carbs"}
EXPECTED_BUG_PATHS: dict[str, tuple[set[str], set[str]]] = {
    "kcal_rounding": (
        {"items[*].kcal", "kcal_total"},
        {"meals[*].items[*].kcal", "meals[*].kcal", "total_kcal"},
    ),
    "mg_to_g": (
        {"items[*].fat_g", "fat_g"},
        {"meals[*].items[*].fat_g", "meals[*].fat_g", "total_fat_g", *MACRO_PCT},
    ),
    "drop_last_item": (
        {"items[*]", "kcal_total", "protein_g", "fat_g", "carbs_g"},
        {
            "meals[*].items[*]",
            "meals[*].kcal",
            "meals[*].protein_g",
            "meals[*].fat_g",
            "meals[*].carbs_g",
            "total_kcal",
            "total_protein_g",
            "total_fat_g",
            "total_carbs_g",
            *MACRO_PCT,
        },
    ),
    "utc_offset": ({"logged_at"}, {"meals[*].logged_at"}),
    "null_vs_zero": (
        {"items[*].protein_g", "items[*].fat_g", "items[*].carbs_g"},
        {"meals[*].items[*].protein_g", "meals[*].items[*].fat_g", "meals[*].items[*].carbs_g"},
    ),
    "css_color": (set(), set()),
    "layout_shift": (set(), set()),
}


def diff_paths(a: Any, b: Any, prefix: str = "") -> set[str]:
    """Generalised paths where two JSON values differ (type counts: ``None`` != ``0.0``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: set[str] = set()
        for key in a.keys() | b.keys():
            path = f"{prefix}.{key}" if prefix else str(key)
            out |= {path} if key not in a or key not in b else diff_paths(a[key], b[key], path)
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = set()
        for x, y in zip(a, b, strict=False):  # a length difference is reported below
            out |= diff_paths(x, y, f"{prefix}[*]")
        if len(a) != len(b):
            out.add(f"{prefix}[*]")
        return out
    if type(a) is not type(b) or a != b:
        return {prefix}
    return set()


@dataclass(frozen=True)
class Seeded:
    """What the session database holds: every log id and every (user, day)."""

    log_ids: list[int]
    user_days: list[tuple[int, date]]


def seeded_index(conn: sqlite3.Connection) -> Seeded:
    ids = [int(r[0]) for r in conn.execute("SELECT id FROM meal_logs ORDER BY id")]
    days = [seed.START_DATE + timedelta(days=d) for d in range(seed.DEFAULT_DAYS)]
    user_days = [(u, d) for u in range(1, seed.DEFAULT_USERS + 1) for d in days]
    return Seeded(ids, user_days)


def legacy_log(conn: sqlite3.Connection, log_id: int) -> dict[str, Any]:
    return legacy.meal_log(conn, log_id, META.model_dump())


def adapter_log(
    conn: sqlite3.Connection, log_id: int, bug: adapter.AdapterBug | None = None
) -> dict[str, Any]:
    return adapter.meal_log(conn, log_id, META, bug).model_dump(mode="json")


def legacy_day(conn: sqlite3.Connection, user_id: int, day: date) -> dict[str, Any]:
    return legacy.day_summary(conn, user_id, day, META.model_dump())


def adapter_day(
    conn: sqlite3.Connection, user_id: int, day: date, bug: adapter.AdapterBug | None = None
) -> dict[str, Any]:
    return adapter.day_summary(conn, user_id, day, META, bug).model_dump(mode="json")


Request = tuple[str, dict[str, str]]


def asgi_get_many(requests: Iterable[Request]) -> list[httpx.Response]:
    """GET each (path, headers) from the app in-process through ``httpx.ASGITransport``.

    This is how the plugin calls an in-process target (no lifespan events). The event loop
    runs in a worker thread, because Playwright's sync API (used in another module of this
    suite) leaves a loop registered as running on the main thread.
    """
    batch = list(requests)

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://meal-log") as client:
            return [await client.get(path, headers=headers) for path, headers in batch]

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def asgi_get(path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return asgi_get_many([(path, headers or {})])[0]


def without_meta(payload: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in payload.items() if k != "meta"}


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
