"""Fixtures of the meal-log example tests: one seeded database and one live server."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from examples.meal_log import db, seed
from examples.meal_log.adapter import ENV_BUG
from examples.meal_log.app import ENV_ROLLOUT, app

from ._helpers import Seeded, seeded_index


@pytest.fixture(scope="session")
def meal_log_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database seeded with the defaults (50 users x 14 days), built once per session."""
    return seed.build_database(tmp_path_factory.mktemp("meal_log") / "meal_log.sqlite3")


@pytest.fixture(autouse=True)
def _meal_log_env(meal_log_db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test starts on the session database, the correct adapter and a 0 % rollout."""
    monkeypatch.setenv(db.ENV_DB, str(meal_log_db))
    monkeypatch.delenv(ENV_BUG, raising=False)
    monkeypatch.delenv(ENV_ROLLOUT, raising=False)


@pytest.fixture(scope="session")
def conn(meal_log_db: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection to the session database."""
    connection = db.connect(meal_log_db)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def seeded(conn: sqlite3.Connection) -> Seeded:
    return seeded_index(conn)


@pytest.fixture(scope="session")
def live_url() -> Iterator[str]:
    """The app served by uvicorn on 127.0.0.1 (random port) in a daemon thread."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="meal-log-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start the meal-log app within 10 s")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
