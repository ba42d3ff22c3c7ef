"""Peak memory of fetching a 300 MB body from an in-process ASGI app over max_body_bytes.

    python benchmarks/asgi_body_peak.py [megabytes]

The app sends the body in 1 MB chunks; ``fetch.max_body_bytes`` is the default (10 MB). The
fetch must fail with "body is larger than max_body_bytes", and the peak (tracemalloc) shows
whether the body was kept whole before the limit was checked.
"""

from __future__ import annotations

import sys
import tracemalloc
from typing import Any

from pytest_dualread.config import DualReadSettings
from pytest_dualread.errors import FetchError
from pytest_dualread.fetch import PairFetcher

MEGABYTES = int(sys.argv[1]) if len(sys.argv) > 1 else 300


async def app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(MEGABYTES):
        chunk = bytes(1_000_000)  # a new megabyte each time, as a real app makes them
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b""})


def main() -> None:
    settings = DualReadSettings.model_validate(
        {"legacy_url": f"{__name__}:app", "adapter_url": f"{__name__}:app"}
    )
    sys.modules.setdefault(__name__, sys.modules["__main__"])
    fetcher = PairFetcher(settings)
    tracemalloc.start()
    try:
        fetcher.fetch("/big")
    except FetchError as exc:
        outcome = " / ".join(str(exc).splitlines()[:2])
    else:
        outcome = "fetched (no limit?)"
    _, peak = tracemalloc.get_traced_memory()
    fetcher.close()
    limit = settings.fetch.max_body_bytes
    print(f"body {MEGABYTES} MB, max_body_bytes {limit / 1e6:.0f} MB: peak {peak / 1e6:.0f} MB")
    print(outcome)


if __name__ == "__main__":
    main()
