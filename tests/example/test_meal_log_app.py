"""The app in-process through ``httpx.ASGITransport`` (as the plugin calls it): no setup."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import pytest

from examples.meal_log import app as app_module
from examples.meal_log import db, seed
from examples.meal_log.adapter import BUGS, ENV_BUG
from examples.meal_log.app import ENV_ROLLOUT, HEADER_SERVED, rollout_bucket

from ._helpers import Seeded, asgi_get, asgi_get_many, chunks, without_meta

LEGACY = {"X-Read-Path": "legacy"}
ADAPTER = {"X-Read-Path": "adapter"}
CLOCK = re.compile(r'<div class="clock">[^<]*</div>')


def _pairs(paths: list[str]) -> list[tuple[Any, Any]]:
    """Fetch each path from both sides; return (legacy, adapter) response pairs."""
    responses = asgi_get_many([(p, h) for p in paths for h in (LEGACY, ADAPTER)])
    pairs = list(zip(responses[::2], responses[1::2], strict=True))
    for legacy, adapter in pairs:
        assert legacy.status_code == adapter.status_code == 200, legacy.text
        assert legacy.headers[HEADER_SERVED] == "legacy"
        assert adapter.headers[HEADER_SERVED] == "adapter"
    return pairs


def _json_equal(paths: list[str]) -> list[str]:
    return [
        path
        for path, (legacy, adapter) in zip(paths, _pairs(paths), strict=True)
        if without_meta(legacy.json()) != without_meta(adapter.json())
    ]


def test_every_meal_log_is_equal_on_both_paths(seeded: Seeded) -> None:
    paths = [f"/meal-logs/{i}" for i in seeded.log_ids]
    assert [p for batch in chunks(paths, 500) for p in _json_equal(batch)] == []


def test_every_day_summary_is_equal_on_both_paths(seeded: Seeded) -> None:
    paths = [f"/users/{u}/days/{d}" for u, d in seeded.user_days]
    assert _json_equal(paths) == []


def test_every_dashboard_is_equal_on_both_paths(seeded: Seeded) -> None:
    paths = [f"/dashboard/{u}/{d}" for u, d in seeded.user_days]
    differing = [
        path
        for path, (legacy, adapter) in zip(paths, _pairs(paths), strict=True)
        if CLOCK.sub("", legacy.text) != CLOCK.sub("", adapter.text)
    ]
    assert differing == []


def test_meta_is_the_only_volatile_part() -> None:
    first = asgi_get("/meal-logs/1", {"X-Request-Id": "abc-123"}).json()
    second = asgi_get("/meal-logs/1").json()
    assert first["meta"]["request_id"] == "abc-123"
    assert re.fullmatch(r"[0-9a-f]{32}", second["meta"]["request_id"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", first["meta"]["generated_at"])
    assert without_meta(first) == without_meta(second)
    assert list(first) == [
        "id", "user_id", "logged_at", "meal_type", "items",
        "kcal_total", "protein_g", "fat_g", "carbs_g", "meta",
    ]  # fmt: skip


def test_unknown_read_path_header_is_400() -> None:
    for path in ("/meal-logs/1", "/users/1/days/2025-09-20", "/dashboard/1/2025-09-20"):
        response = asgi_get(path, {"X-Read-Path": "v2"})
        assert response.status_code == 400
        assert response.json() == {"detail": "X-Read-Path must be 'legacy' or 'adapter'; got 'v2'"}


@pytest.mark.parametrize("headers", [{}, LEGACY, ADAPTER])
@pytest.mark.parametrize(
    ("path", "detail"),
    [
        ("/meal-logs/999999", "meal log 999999 not found"),
        ("/users/9999/days/2025-09-20", "user 9999 not found"),
        ("/dashboard/9999/2025-09-20", "user 9999 not found"),
    ],
)
def test_unknown_ids_are_404(headers: dict[str, str], path: str, detail: str) -> None:
    response = asgi_get(path, headers)
    assert response.status_code == 404
    assert response.json() == {"detail": detail}


def test_malformed_path_parameters_are_422() -> None:
    assert asgi_get("/users/1/days/2025-02-30").status_code == 422
    assert asgi_get("/meal-logs/abc").status_code == 422


def test_empty_day_is_200_with_zero_totals() -> None:
    case = seed.awkward_cases().empty_day
    body = asgi_get(case.day_path, ADAPTER).json()
    assert body["meals"] == []
    assert body["total_kcal"] == 0
    assert body["total_fat_g"] == 0.0
    assert body["macro_pct"] == {"protein": None, "fat": None, "carbs": None}


def test_rollout_percentage_picks_the_path_by_user(monkeypatch: pytest.MonkeyPatch) -> None:
    users = range(1, 51)
    paths = [f"/users/{u}/days/2025-09-20" for u in users]

    def served() -> list[str]:
        return [r.headers[HEADER_SERVED] for r in asgi_get_many([(p, {}) for p in paths])]

    assert set(served()) == {"legacy"}  # default 0 %
    monkeypatch.setenv(ENV_ROLLOUT, "100")
    assert set(served()) == {"adapter"}
    monkeypatch.setenv(ENV_ROLLOUT, "50")
    expected = ["adapter" if rollout_bucket(u) < 50 else "legacy" for u in users]
    assert served() == expected
    assert 10 < expected.count("adapter") < 40
    # The header wins over the rollout.
    assert asgi_get(paths[0], LEGACY).headers[HEADER_SERVED] == "legacy"
    # A meal log follows its owner's bucket.
    owner_bucket = rollout_bucket(1)
    response = asgi_get("/meal-logs/1")
    assert response.headers[HEADER_SERVED] == ("adapter" if owner_bucket < 50 else "legacy")


def test_rollout_bucket_is_stable() -> None:
    assert [rollout_bucket(u) for u in range(1, 6)] == [rollout_bucket(u) for u in range(1, 6)]
    assert all(0 <= rollout_bucket(u) < 100 for u in range(1, 1000))


@pytest.mark.parametrize("value", ["101", "-1", "ten", "5.5"])
def test_bad_rollout_value_is_a_clear_500(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(ENV_ROLLOUT, value)
    response = asgi_get("/users/1/days/2025-09-20", LEGACY)
    assert response.status_code == 500
    assert response.json() == {
        "detail": f"DUAL_READ_V2 must be an integer percentage from 0 to 100; got {value!r}"
    }


def test_bad_bug_name_is_a_clear_500(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_BUG, "off_by_one")
    response = asgi_get("/meal-logs/1", ADAPTER)
    assert response.status_code == 500
    assert "MEAL_LOG_ADAPTER_BUG must be empty or one of kcal_rounding" in response.json()["detail"]


def test_bugs_are_read_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    case = seed.awkward_cases().bug_cases["utc_offset"]
    before = asgi_get(case.log_path, ADAPTER).json()["logged_at"]
    monkeypatch.setenv(ENV_BUG, "utc_offset")
    after = asgi_get(case.log_path, ADAPTER).json()["logged_at"]
    legacy = asgi_get(case.log_path, LEGACY).json()["logged_at"]
    assert (before, after, legacy) == (
        "2025-09-20T23:45:00-05:00",
        "2025-09-21T04:45:00+00:00",
        "2025-09-20T23:45:00-05:00",
    )


@pytest.mark.parametrize("bug", BUGS)
def test_bugs_never_touch_the_legacy_path(monkeypatch: pytest.MonkeyPatch, bug: str) -> None:
    showcase = seed.awkward_cases().showcase_day
    clean = asgi_get(showcase.day_path, LEGACY).json()
    monkeypatch.setenv(ENV_BUG, bug)
    assert without_meta(asgi_get(showcase.day_path, LEGACY).json()) == without_meta(clean)


def _html_diff(bug: str, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    path = seed.awkward_cases().showcase_day.dashboard_path
    legacy = CLOCK.sub("", asgi_get(path, LEGACY).text).splitlines()
    monkeypatch.setenv(ENV_BUG, bug)
    adapter = CLOCK.sub("", asgi_get(path, ADAPTER).text).splitlines()
    return [
        line
        for line in difflib.unified_diff(legacy, adapter, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_css_color_changes_only_the_total_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _html_diff("css_color", monkeypatch) == [
        "-                color: #166534; }",
        "+                color: #b42318; }",
    ]


def test_layout_shift_widens_only_the_grams_column(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _html_diff("layout_shift", monkeypatch) == [
        '-  <table id="meals" style="width: 970px">',
        '+  <table id="meals" style="width: 971px">',
        '-      <col class="c-grams" style="width: 90px">',
        '+      <col class="c-grams" style="width: 91px">',
    ]


@pytest.mark.parametrize("bug", ["css_color", "layout_shift"])
def test_visual_bugs_leave_the_json_alone(
    monkeypatch: pytest.MonkeyPatch, seeded: Seeded, bug: str
) -> None:
    monkeypatch.setenv(ENV_BUG, bug)
    paths = [f"/users/{u}/days/{d}" for u, d in seeded.user_days[:: len(seeded.user_days) // 40]]
    paths += [f"/meal-logs/{i}" for i in seed.awkward_cases().log_ids()]
    assert _json_equal(paths) == []


def test_dashboard_is_self_contained() -> None:
    html = asgi_get(seed.awkward_cases().showcase_day.dashboard_path, ADAPTER).text
    assert 'class="clock"' in html
    assert '"Liberation Sans"' in html
    assert '"DejaVu Sans Mono"' in html
    assert "<svg" in html
    assert not re.search(r"""(src|href)=["'](?!data:)""", html)
    assert "@import" not in html
    assert "url(" not in html
    assert "@keyframes" not in html


def test_database_is_created_on_first_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "first-use.sqlite3"
    monkeypatch.setenv(db.ENV_DB, str(target))
    response = asgi_get("/users/1/days/2025-09-20", ADAPTER)
    assert response.status_code == 200
    assert target.is_file()
    assert json.loads(response.text)["meals"]


def test_broken_database_setting_is_a_clear_500(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(db.ENV_DB, str(tmp_path))
    response = asgi_get("/meal-logs/1")
    assert response.status_code == 500
    assert response.json() == {
        "detail": f"MEAL_LOG_DB: {tmp_path} is a directory; expected a file path"
    }


def test_app_import_path() -> None:
    assert app_module.app.title.startswith("Meal log")
