"""The two stores: schema, dual-write round trips, seed determinism, awkward cases, location."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from examples.meal_log import db, seed, store
from examples.meal_log.store import ItemEntry, MealEntry, StoreError, User

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def mem() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA foreign_keys = ON")
    store.create_schema(conn)
    store.write_user(conn, User(7, -300))
    return conn


def _entry() -> MealEntry:
    tz = timezone(timedelta(hours=-5))
    return MealEntry(
        log_id=42,
        user_id=7,
        local_time=datetime(2025, 9, 20, 23, 45, tzinfo=tz),
        meal_type="snack",
        items=(
            ItemEntry(1, "Almonds", Decimal("12.25"), 709, 2591, 6116, 2640),
            ItemEntry(2, "Crème brûlée (custom)", Decimal("95"), 2855, None, None, None),
            ItemEntry(3, "Mineral water", Decimal("500"), 0, 0, 0, 0),
        ),
    )


def test_dual_write_legacy_row(mem: sqlite3.Connection) -> None:
    store.dual_write(mem, _entry())
    row = mem.execute("SELECT * FROM meal_logs WHERE id = 42").fetchone()
    assert dict(row) | {"items": json.loads(row["items"])} == {
        "id": 42,
        "user_id": 7,
        "logged_at": "2025-09-20T23:45:00-05:00",
        "meal_type": "snack",
        "items": [  # legacy order: largest portion first
            {
                "food_id": 3,
                "name": "Mineral water",
                "grams": 500.0,
                "kcal": 0,
                "protein_g": 0.0,
                "fat_g": 0.0,
                "carbs_g": 0.0,
            },
            {
                "food_id": 2,
                "name": "Crème brûlée (custom)",
                "grams": 95.0,
                "kcal": 286,
                "protein_g": None,
                "fat_g": None,
                "carbs_g": None,
            },
            {
                "food_id": 1,
                "name": "Almonds",
                "grams": 12.25,
                "kcal": 71,
                "protein_g": 2.6,
                "fat_g": 6.1,
                "carbs_g": 2.6,
            },
        ],
        "kcal_total": 357,
        "protein_g": 2.6,
        "fat_g": 6.1,
        "carbs_g": 2.6,
    }


def test_dual_write_v2_rows(mem: sqlite3.Connection) -> None:
    store.dual_write(mem, _entry())
    log = mem.execute("SELECT * FROM meal_logs_v2 WHERE id = 42").fetchone()
    assert dict(log) == {
        "id": 42,
        "user_id": 7,
        "logged_at_utc": "2025-09-21T04:45:00Z",
        "meal_type": "snack",
    }
    items = mem.execute(
        "SELECT food_id, name, grams, kcal, protein_mg, fat_mg, carbs_mg FROM meal_items_v2"
        " WHERE meal_log_id = 42 ORDER BY id"
    ).fetchall()
    assert [tuple(r) for r in items] == [  # entry order
        (1, "Almonds", 12.25, 70.9, 2591, 6116, 2640),
        (2, "Crème brûlée (custom)", 95.0, 285.5, None, None, None),
        (3, "Mineral water", 500.0, 0.0, 0, 0, 0),
    ]


def test_v2_foreign_keys_are_enforced(mem: sqlite3.Connection) -> None:
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        mem.execute(
            "INSERT INTO meal_items_v2 (meal_log_id, food_id, name, grams, kcal)"
            " VALUES (999, 1, 'x', 1, 1)"
        )
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        store.dual_write(mem, MealEntry(1, 999, _entry().local_time, "lunch", ()))
    # The failed dual-write left neither store half-written.
    assert mem.execute("SELECT count(*) FROM meal_logs").fetchone()[0] == 0


def test_meal_entry_validation() -> None:
    with pytest.raises(ValueError, match="must carry a UTC offset"):
        MealEntry(1, 1, datetime(2025, 9, 20, 8, 0), "lunch", ())
    with pytest.raises(ValueError, match="meal_type must be one of"):
        MealEntry(1, 1, _entry().local_time, "brunch", ())


def test_seed_is_deterministic(tmp_path: Path, meal_log_db: Path) -> None:
    again = seed.build_database(tmp_path / "again.sqlite3")
    a = sqlite3.connect(meal_log_db)
    b = sqlite3.connect(again)
    assert list(a.iterdump()) == list(b.iterdump())
    assert [p.name for p in tmp_path.iterdir()] == ["again.sqlite3"]  # no temp file left


def test_seed_counts_and_ids(conn: sqlite3.Connection) -> None:
    users = conn.execute("SELECT count(*) FROM users_v2").fetchone()[0]
    logs = conn.execute("SELECT count(*) FROM meal_logs").fetchone()[0]
    logs_v2 = conn.execute("SELECT count(*) FROM meal_logs_v2").fetchone()[0]
    assert users == seed.DEFAULT_USERS
    assert logs == logs_v2 > 1000
    missing = conn.execute("SELECT id FROM meal_logs EXCEPT SELECT id FROM meal_logs_v2").fetchall()
    assert missing == []
    owners = conn.execute("SELECT count(DISTINCT user_id) FROM meal_logs").fetchone()[0]
    assert owners == seed.DEFAULT_USERS  # every user exists for the legacy path too


def test_seed_minimums() -> None:
    with pytest.raises(ValueError, match="users must be at least 8, got 3"):
        seed.generate(3, 14)
    with pytest.raises(ValueError, match="days must be at least 8, got 2"):
        seed.generate(50, 2)


def test_small_seed_keeps_awkward_cases(tmp_path: Path) -> None:
    small = sqlite3.connect(seed.build_database(tmp_path / "small.sqlite3", 8, 8))
    cases = seed.awkward_cases()
    items = small.execute(
        "SELECT count(*) FROM meal_items_v2 WHERE meal_log_id = ?", (cases.many_items_log,)
    ).fetchone()[0]
    assert items == 20


def _items(conn: sqlite3.Connection, log_id: int) -> list[dict[str, object]]:
    row = conn.execute("SELECT items FROM meal_logs WHERE id = ?", (log_id,)).fetchone()
    return list(json.loads(row[0]))


def _local_days(conn: sqlite3.Connection, user_id: int) -> set[str]:
    rows = conn.execute("SELECT logged_at FROM meal_logs WHERE user_id = ?", (user_id,))
    return {r[0][:10] for r in rows}


def test_awkward_cases_are_in_the_data(conn: sqlite3.Connection) -> None:
    cases = seed.awkward_cases()
    # Empty day: no log that day, but logs on other days.
    assert cases.empty_day.date not in _local_days(conn, cases.empty_day.user_id)
    assert _local_days(conn, cases.empty_day.user_id)
    # Twenty items in one meal.
    assert len(_items(conn, cases.many_items_log)) == 20
    # Fractional grams.
    assert any(float(i["grams"]) % 1 for i in _items(conn, cases.fractional_grams_log))  # type: ignore[arg-type]
    # Unicode names beyond Latin-1.
    names = [str(i["name"]) for i in _items(conn, cases.unicode_log)]
    assert any(ord(ch) > 0x24F for name in names for ch in name)
    # Zero-kcal items and unknown macros.
    assert all(i["kcal"] == 0 for i in _items(conn, cases.zero_kcal_log))
    assert any(i["protein_g"] is None for i in _items(conn, cases.unknown_macros_log))
    # UTC+09:00: the local date is one day after the UTC date.
    local = conn.execute(
        "SELECT logged_at FROM meal_logs WHERE id = ?", (cases.utc_plus_9_log,)
    ).fetchone()[0]
    utc = conn.execute(
        "SELECT logged_at_utc FROM meal_logs_v2 WHERE id = ?", (cases.utc_plus_9_log,)
    ).fetchone()[0]
    assert local.endswith("+09:00")
    assert local[:10] == cases.utc_plus_9_day.date
    assert utc[:10] < local[:10]
    # UTC-05:00 around midnight: two local dates, one UTC date.
    rows = conn.execute(
        "SELECT l.logged_at, v.logged_at_utc FROM meal_logs l JOIN meal_logs_v2 v USING (id)"
        " WHERE id IN (6, 7, 8) ORDER BY id"
    ).fetchall()
    assert cases.utc_minus_5_logs == (6, 7, 8)
    assert {r[0][:10] for r in rows} == {d.date for d in cases.utc_minus_5_days}
    assert {r[1][:10] for r in rows} == {cases.utc_minus_5_days[1].date}
    assert all(r[0].endswith("-05:00") for r in rows)


def test_awkward_case_helpers() -> None:
    cases = seed.awkward_cases()
    assert cases.showcase_day.dashboard_path == "/dashboard/1/2025-09-20"
    assert cases.empty_day.day_path == "/users/2/days/2025-09-20"
    assert cases.bug_cases["utc_offset"].log_path == "/meal-logs/7"
    assert set(cases.bug_cases) == {
        "kcal_rounding", "mg_to_g", "drop_last_item", "utc_offset", "null_vs_zero",
    }  # fmt: skip
    assert cases.log_ids() == sorted(set(cases.log_ids()))
    assert cases.empty_day in cases.days()


def test_lazy_creation_at_missing_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "nested" / "lazy.sqlite3"
    monkeypatch.setenv(db.ENV_DB, str(target))
    assert db.database_path() == target
    assert db.ensure_database() == target
    assert db.connect().execute("SELECT count(*) FROM users_v2").fetchone()[0] == 50


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.sqlite3"
    junk.write_text("not sqlite at all\n" * 100)
    with pytest.raises(StoreError, match=r"MEAL_LOG_DB: cannot read .*junk\.sqlite3"):
        db.ensure_database(junk)
    empty = tmp_path / "empty.sqlite3"
    sqlite3.connect(empty).execute("CREATE TABLE other (x)").connection.close()
    with pytest.raises(StoreError, match="missing tables: meal_logs, users_v2"):
        db.ensure_database(empty)


def test_default_location() -> None:
    path = db.default_database_path()
    assert path.name.startswith("meal_log-")
    assert path.suffix == ".sqlite3"
    assert path.parent == REPO / ".cache" / "meal_log"


def test_concurrent_creation_is_safe(tmp_path: Path) -> None:
    """Two processes creating the same database at once both end with a complete file."""
    target = tmp_path / "shared.sqlite3"
    code = (
        "import sys; from pathlib import Path; from examples.meal_log import db;"
        "c = db.connect(Path(sys.argv[1]));"
        "print(c.execute('SELECT count(*) FROM meal_logs').fetchone()[0])"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(target)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    counts = {out.strip() for out, _ in outputs}
    assert len(counts) == 1
    assert int(counts.pop()) > 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.sqlite3"]
