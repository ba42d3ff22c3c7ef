"""The peer: the same checks as the plugin's, written by hand as a parametrized pytest test.

Per case: both sides requested concurrently through one ``httpx.AsyncClient`` per side, each
body parsed and validated by its pydantic model, dumped without the ignored field, list items
put in key order (the adapter orders them differently), ``==`` of the two and of each with the
golden file read from disk. ``INVOICE_BENCH_BASE_URL`` set: over HTTP, else in process."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from invoice_app import Balance, Invoice, app
from pydantic import BaseModel

HERE = Path(__file__).parent
CASES: list[list[str]] = json.loads((HERE / "cases_index.json").read_text())
MODELS: dict[str, type[BaseModel]] = {"Invoice": Invoice, "Balance": Balance}
LIST_KEYS = {"lines": "sku", "open_items": "invoice_id"}
IGNORED = {"request_id"}
BASE_URL = os.environ.get("INVOICE_BENCH_BASE_URL")

LOOP = asyncio.new_event_loop()
CLIENTS: dict[str, httpx.AsyncClient] = {}


def client(side: str) -> httpx.AsyncClient:
    if side not in CLIENTS:
        transport = None if BASE_URL else httpx.ASGITransport(app=app)
        CLIENTS[side] = httpx.AsyncClient(
            transport=transport,
            base_url=BASE_URL or "http://invoices",
            headers={"X-Read-Path": side},
        )
    return CLIENTS[side]


def keyed(view: dict[str, Any]) -> dict[str, Any]:
    for name, key in LIST_KEYS.items():
        if name in view:
            view[name] = sorted(view[name], key=lambda item: item[key])
    return view


async def both(path: str) -> tuple[httpx.Response, httpx.Response]:
    legacy, adapter = await asyncio.gather(client("legacy").get(path), client("adapter").get(path))
    return legacy, adapter


@pytest.mark.parametrize(("case_id", "path", "model"), CASES, ids=[case[0] for case in CASES])
def test_case(case_id: str, path: str, model: str) -> None:
    responses = LOOP.run_until_complete(both(path))
    legacy, adapter = (
        keyed(MODELS[model].model_validate(r.json()).model_dump(mode="json", exclude=IGNORED))
        for r in responses
    )
    golden = json.loads((HERE / "golden" / f"{case_id}.json").read_text())
    assert legacy == adapter
    assert legacy == golden
    assert adapter == golden
