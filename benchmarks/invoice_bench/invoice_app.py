"""A billing service of another shape than the meal-log example, for ``invoice_bench.py``.

``GET /invoices/{id}`` (nested line items with taxes, money as decimal strings) and
``GET /balances/{id}`` (an account's balance with its open items). The read path is chosen by
the ``X-Read-Path`` header, like the example: the adapter builds the same view from a differently
ordered store (line items reversed, keys in another order), so a diff must match list items by
key and ignore order. Every response carries a random ``request_id``, ignored by the checks.
"""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

from fastapi import FastAPI, Request
from pydantic import BaseModel

__all__ = ["Balance", "Invoice", "app"]

CENT = Decimal("0.01")


class Tax(BaseModel):
    code: str
    rate: str
    amount: str


class Line(BaseModel):
    sku: str
    description: str
    quantity: int
    unit_price: str
    net: str
    taxes: list[Tax]


class Invoice(BaseModel):
    id: int
    customer: str
    currency: str
    issued_on: str
    lines: list[Line]
    net_total: str
    tax_total: str
    gross_total: str
    request_id: str


class OpenItem(BaseModel):
    invoice_id: int
    due_on: str
    amount: str


class Balance(BaseModel):
    account: int
    currency: str
    open_items: list[OpenItem]
    balance: str
    request_id: str


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def _line(rng: random.Random, index: int) -> dict[str, Any]:
    quantity = rng.randint(1, 9)
    unit = Decimal(rng.randint(100, 99_999)) / 100
    net = unit * quantity
    taxes = [
        {"code": code, "rate": rate, "amount": _money(net * Decimal(rate))}
        for code, rate in (("VAT", "0.19"), ("ECO", "0.005"))[: rng.randint(1, 2)]
    ]
    return {
        "sku": f"SKU-{index:03d}-{rng.randint(1000, 9999)}",
        "description": rng.choice(("licence", "support", "training", "hardware")) + f" #{index}",
        "quantity": quantity,
        "unit_price": _money(unit),
        "net": _money(net),
        "taxes": taxes,
    }


def invoice(number: int) -> dict[str, Any]:
    rng = random.Random(number)
    lines = [_line(rng, i) for i in range(rng.randint(3, 12))]
    net = sum((Decimal(line["net"]) for line in lines), Decimal(0))
    tax = sum((Decimal(t["amount"]) for line in lines for t in line["taxes"]), Decimal(0))
    return {
        "id": number,
        "customer": f"customer-{rng.randint(1, 400)}",
        "currency": "EUR",
        "issued_on": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        "lines": lines,
        "net_total": _money(net),
        "tax_total": _money(tax),
        "gross_total": _money(net + tax),
    }


def balance(account: int) -> dict[str, Any]:
    rng = random.Random(10_000 + account)
    # invoice_id keys the list: one balance never holds an invoice twice
    invoice_ids = rng.sample(range(1, 100_001), rng.randint(0, 8))
    items = [
        {
            "invoice_id": invoice_id,
            "due_on": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            "amount": _money(Decimal(rng.randint(100, 500_000)) / 100),
        }
        for invoice_id in invoice_ids
    ]
    total = sum((Decimal(item["amount"]) for item in items), Decimal(0))
    return {"account": account, "currency": "EUR", "open_items": items, "balance": _money(total)}


def _as_adapter(view: dict[str, Any], list_key: str) -> dict[str, Any]:
    """The adapter's view: the same values, keys and list items in another order."""
    reordered = {key: view[key] for key in reversed(list(view))}
    reordered[list_key] = list(reversed(view[list_key]))
    return reordered


def _served(request: Request, view: dict[str, Any], list_key: str) -> dict[str, Any]:
    if request.headers.get("X-Read-Path") == "adapter":
        view = _as_adapter(view, list_key)
    return {**view, "request_id": uuid.uuid4().hex}


app = FastAPI()


@app.get("/invoices/{number}")
def get_invoice(number: int, request: Request) -> dict[str, Any]:
    return _served(request, invoice(number), "lines")


@app.get("/balances/{account}")
def get_balance(account: int, request: Request) -> dict[str, Any]:
    return _served(request, balance(account), "open_items")
