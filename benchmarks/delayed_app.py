"""The example's app behind a fixed delay per request, like a server some way off.

``python -m uvicorn delayed_app:app --app-dir benchmarks`` with ``DELAYED_APP_MS`` set (default
30): each request sleeps that long (without holding the server's CPU) before the meal-log app
answers it. Used by ``dto_bench.py`` for its "server 30 ms away" rows.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from examples.meal_log.app import app as meal_log_app

DELAY_S = float(os.environ.get("DELAYED_APP_MS", "30")) / 1000


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await asyncio.sleep(DELAY_S)
    await meal_log_app(scope, receive, send)
