"""What every ``dualread`` command parses the same way: the parser class, value types, --config.

Commands live in several modules (``cli``, ``rollout_cli``, ``approve``, ``traffic``); their
arguments are parsed by these definitions so a number, a duration or a config path is read and
refused with the same words everywhere.
"""

from __future__ import annotations

import argparse
import re
from datetime import date, timedelta
from pathlib import Path

__all__ = [
    "Parser",
    "config_option",
    "count",
    "day",
    "duration",
    "nonnegative_float",
    "positive",
]

_EXIT_CANNOT_JUDGE = 2  # formats.EXIT_CANNOT_JUDGE, not imported: parsing needs nothing else
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line naming the problem (no usage dump on stderr)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(_EXIT_CANNOT_JUDGE, f"dualread: error: {message} (see 'dualread --help')\n")


def config_option(parser: argparse.ArgumentParser) -> None:
    """``--config PATH``: the project's pyproject.toml."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        help="pyproject.toml to read [tool.dualread] from (default: ./pyproject.toml).",
    )


def count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def positive(text: str) -> int:
    value = count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {text!r}")
    return value


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def nonnegative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def duration(text: str) -> timedelta:
    """``90m``, ``6h``, ``2d`` or plain seconds."""
    match = re.fullmatch(r"\s*(\d{1,9}(?:\.\d{1,6})?)\s*([smhd]?)\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration like 90m, 6h, 2d or plain seconds, got {text!r}"
        )
    seconds = float(match[1]) * _UNITS[match[2] or "s"]
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration above 0, got {text!r}")
    return timedelta(seconds=seconds)
