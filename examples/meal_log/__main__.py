"""Command line of the meal-log example.

``python -m examples.meal_log seed [--users 50] [--days 14] [--db PATH]``
    write a freshly seeded database (both stores) to PATH (default: ``MEAL_LOG_DB`` or the
    default location, see :mod:`examples.meal_log.db`), replacing it atomically.

``python -m examples.meal_log serve [--port 8000] [--host 127.0.0.1] [--db PATH]``
    serve ``examples.meal_log.app:app`` with uvicorn; ``--port 0`` picks a free port.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from . import db, seed
from .store import StoreError

__all__ = ["main"]


def _bounded_int(name: str, low: int, high: int) -> type[int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name} expects a whole number from {low} to {high}; got {text!r}"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{name} expects a whole number from {low} to {high}; got {value}"
            )
        return value

    parse.__name__ = name
    return parse  # type: ignore[return-value]  # argparse only calls it


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.meal_log",
        description="The meal-log read-path migration example of pytest-dualread.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{seed,serve}")

    p_seed = sub.add_parser("seed", help="write a deterministic seeded database (both stores)")
    p_seed.add_argument(
        "--users",
        type=_bounded_int("--users", seed.MIN_USERS, 100_000),
        default=seed.DEFAULT_USERS,
        help=f"number of users (at least {seed.MIN_USERS}; default {seed.DEFAULT_USERS})",
    )
    p_seed.add_argument(
        "--days",
        type=_bounded_int("--days", seed.MIN_DAYS, 3660),
        default=seed.DEFAULT_DAYS,
        help=f"number of days from {seed.START_DATE} (at least {seed.MIN_DAYS}; "
        f"default {seed.DEFAULT_DAYS})",
    )
    p_seed.add_argument(
        "--db", type=Path, help=f"database file to write (default: ${db.ENV_DB} or the cache)"
    )

    p_serve = sub.add_parser("serve", help="serve the app with uvicorn")
    p_serve.add_argument(
        "--port",
        type=_bounded_int("--port", 0, 65535),
        default=8000,
        help="TCP port (0 picks a free one; default 8000)",
    )
    p_serve.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    p_serve.add_argument(
        "--db", type=Path, help=f"database file (sets ${db.ENV_DB}; created if missing)"
    )
    return parser


def _seed(args: argparse.Namespace) -> int:
    target: Path = args.db if args.db is not None else db.database_path()
    if target.is_dir():
        print(f"error: --db {target} is a directory; expected a file path", file=sys.stderr)
        return 2
    try:
        seed.build_database(target, args.users, args.days)
    except OSError as exc:
        print(f"error: cannot write the database to {target}: {exc}", file=sys.stderr)
        return 1
    print(f"seeded {args.users} users x {args.days} days from {seed.START_DATE} into {target}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    if args.db is not None:
        os.environ[db.ENV_DB] = str(args.db)
    try:
        path = db.ensure_database()
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"meal-log database: {path}", flush=True)
    uvicorn.run("examples.meal_log.app:app", host=args.host, port=args.port, log_level="info")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "seed":
        return _seed(args)
    return _serve(args)


if __name__ == "__main__":
    raise SystemExit(main())
