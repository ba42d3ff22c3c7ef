"""The meal-log ASGI app: ``examples.meal_log.app:app``.

Endpoints:

- ``GET /meal-logs/{id}`` → :class:`~examples.meal_log.dto.MealLogDTO`
- ``GET /users/{uid}/days/{date}`` → :class:`~examples.meal_log.dto.DaySummaryDTO`
- ``GET /dashboard/{uid}/{date}`` → the HTML dashboard of that day

The read path is chosen per request: the ``X-Read-Path`` header (``legacy`` or ``adapter``),
else the ``DUAL_READ_V2`` rollout percentage (0-100, default 0) applied to a stable hash of the
user id. The response header ``X-Read-Path-Served`` says which path served it. Every setting
(``MEAL_LOG_DB``, ``MEAL_LOG_ADAPTER_BUG``, ``DUAL_READ_V2``) is read per request, and the
database is opened (created and seeded if missing) on first use, so the app works in-process
through ``httpx.ASGITransport`` without lifespan events.

Errors are JSON ``{"detail": "..."}``: 400 for a bad ``X-Read-Path``, 404 for an unknown log or
user, 422 for a malformed id or date, 500 naming the setting for a bad configuration.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timezone
from typing import Any, Final, Literal

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from . import adapter, db, legacy
from .dashboard import DashboardStyle, render_dashboard
from .dto import MetaDTO
from .legacy import NotFound
from .store import StoreError

__all__ = [
    "ENV_ROLLOUT",
    "HEADER_READ_PATH",
    "HEADER_SERVED",
    "ConfigError",
    "ReadPath",
    "app",
    "choose_read_path",
    "encode_json",
    "rollout_bucket",
    "rollout_percent",
]

ENV_ROLLOUT: Final = "DUAL_READ_V2"
HEADER_READ_PATH: Final = "X-Read-Path"
HEADER_SERVED: Final = "X-Read-Path-Served"
ReadPath = Literal["legacy", "adapter"]


class ConfigError(ValueError):
    """A setting of the app (environment variable) has an invalid value."""


class BadRequest(ValueError):
    """The request asks for something the app cannot serve (HTTP 400)."""


def rollout_percent() -> int:
    """``DUAL_READ_V2``: the percentage of users served by the adapter (0-100, default 0)."""
    raw = os.environ.get(ENV_ROLLOUT, "").strip()
    if not raw:
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 0 <= value <= 100:
        raise ConfigError(f"{ENV_ROLLOUT} must be an integer percentage from 0 to 100; got {raw!r}")
    return value


def rollout_bucket(user_id: int) -> int:
    """The user's stable rollout bucket, 0-99 (the same in every process and run)."""
    digest = hashlib.sha256(f"meal-log-rollout:{user_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def choose_read_path(header: str | None, user_id: int) -> ReadPath:
    """The header wins; otherwise users whose bucket is below ``DUAL_READ_V2`` get the adapter."""
    if header is not None:
        value = header.strip().lower()
        if value == "legacy":
            return "legacy"
        if value == "adapter":
            return "adapter"
        raise BadRequest(f"{HEADER_READ_PATH} must be 'legacy' or 'adapter'; got {header!r}")
    return "adapter" if rollout_bucket(user_id) < rollout_percent() else "legacy"


def encode_json(payload: Any) -> bytes:
    """The app's JSON encoding (compact, UTF-8, key order kept), identical for both paths."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _meta(request: Request) -> MetaDTO:
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return MetaDTO(request_id=request_id, generated_at=now)


@contextmanager
def _connection() -> Iterator[sqlite3.Connection]:
    conn = db.connect()
    try:
        yield conn
    finally:
        conn.close()


def _served(body: bytes | str, path: ReadPath, media_type: str) -> Response:
    return Response(
        content=body,
        media_type=media_type,
        headers={HEADER_SERVED: path, "Cache-Control": "no-store"},
    )


def _settings() -> adapter.AdapterBug | None:
    # Validate every setting on every request, so a typo fails loudly on either path.
    rollout_percent()
    return adapter.active_bug()


app = FastAPI(
    title="Meal log (pytest-dualread example)",
    summary="A read-path migration: legacy meal_logs table vs the v2 store via a DTO adapter.",
    version="1.0.0",
)


@app.exception_handler(NotFound)
async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


@app.exception_handler(BadRequest)
async def _bad_request(request: Request, exc: BadRequest) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)


@app.exception_handler(ConfigError)
@app.exception_handler(adapter.AdapterConfigError)
@app.exception_handler(StoreError)
async def _misconfigured(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=500)


@app.get("/meal-logs/{log_id}", summary="One meal log (MealLogDTO)")
def get_meal_log(log_id: int, request: Request) -> Response:
    bug = _settings()
    header = request.headers.get(HEADER_READ_PATH)
    with _connection() as conn:
        if header is None:
            owner = legacy.log_owner(conn, log_id)
            if owner is None:
                raise NotFound(f"meal log {log_id} not found")
            path = choose_read_path(None, owner)
        else:
            path = choose_read_path(header, 0)
        meta = _meta(request)
        if path == "legacy":
            payload = legacy.meal_log(conn, log_id, meta.model_dump())
        else:
            payload = adapter.meal_log(conn, log_id, meta, bug).model_dump(mode="json")
    return _served(encode_json(payload), path, "application/json")


def _day_summary(
    request: Request, user_id: int, day: date
) -> tuple[ReadPath, dict[str, Any], DashboardStyle]:
    bug = _settings()
    path = choose_read_path(request.headers.get(HEADER_READ_PATH), user_id)
    meta = _meta(request)
    with _connection() as conn:
        if path == "legacy":
            return path, legacy.day_summary(conn, user_id, day, meta.model_dump()), DashboardStyle()
        summary = adapter.day_summary(conn, user_id, day, meta, bug)
        return path, summary.model_dump(mode="json"), adapter.dashboard_style(bug)


@app.get("/users/{user_id}/days/{day}", summary="A user's local day (DaySummaryDTO)")
def get_day_summary(user_id: int, day: date, request: Request) -> Response:
    path, payload, _ = _day_summary(request, user_id, day)
    return _served(encode_json(payload), path, "application/json")


@app.get("/dashboard/{user_id}/{day}", response_class=HTMLResponse, summary="Dashboard page")
def get_dashboard(user_id: int, day: date, request: Request) -> Response:
    path, payload, style = _day_summary(request, user_id, day)
    generated_at = payload["meta"]["generated_at"][:19].replace("T", " ") + " UTC"
    html = render_dashboard(payload, style, generated_at)
    return _served(html, path, "text/html; charset=utf-8")
