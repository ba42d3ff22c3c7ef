"""``python -m examples.meal_log``: the seed and serve subcommands."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "examples.meal_log", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_seed_writes_both_stores(tmp_path: Path) -> None:
    target = tmp_path / "seeded.sqlite3"
    result = _run("seed", "--users", "8", "--days", "9", "--db", str(target))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"seeded 8 users x 9 days from 2025-09-14 into {target}"
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT count(*) FROM users_v2").fetchone()[0] == 8
    assert conn.execute("SELECT max(substr(logged_at, 1, 10)) FROM meal_logs").fetchone()[0] == (
        "2025-09-22"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["seed", "--users", "3"], "argument --users: --users expects a whole number from 8"),
        (["seed", "--days", "two"], "argument --days: --days expects a whole number from 8 to"),
        (["serve", "--port", "70000"], "--port expects a whole number from 0 to 65535; got 70000"),
        ([], "the following arguments are required: {seed,serve}"),
        (["grow"], "invalid choice: 'grow'"),
    ],
)
def test_bad_arguments_are_clear_errors(args: list[str], message: str) -> None:
    result = _run(*args)
    assert result.returncode == 2
    assert message in result.stderr


def test_seed_into_a_directory_is_an_error(tmp_path: Path) -> None:
    result = _run("seed", "--db", str(tmp_path))
    assert result.returncode == 2
    assert f"--db {tmp_path} is a directory; expected a file path" in result.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_answers_on_loopback(tmp_path: Path) -> None:
    port = _free_port()
    target = tmp_path / "served.sqlite3"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "examples.meal_log",
            "serve",
            "--port",
            str(port),
            "--db",
            str(target),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(
                    f"http://127.0.0.1:{port}/users/1/days/2025-09-20",
                    headers={"X-Read-Path": "adapter"},
                    timeout=2,
                )
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "serve did not answer within 30 s"
                time.sleep(0.1)
        assert response.status_code == 200
        assert response.headers["X-Read-Path-Served"] == "adapter"
        assert target.is_file()
    finally:
        proc.terminate()
        output = proc.communicate(timeout=15)[0]
    assert f"meal-log database: {target}" in output
