"""The ``dualread`` command: what a release gate runs against a report. It never imports pytest.

Exit codes (binding, ARCHITECTURE §4.7): 0 pass, 1 fail, 2 cannot judge (bad usage, or a
report that is missing, unreadable, of another schema, incomplete or empty).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

__all__ = ["EXIT_CANNOT_JUDGE", "EXIT_FAIL", "EXIT_PASS", "main"]

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_CANNOT_JUDGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line naming the problem (no usage dump on stderr)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_CANNOT_JUDGE, f"dualread: error: {message} (see 'dualread --help')\n")


def _version() -> str:
    from pytest_dualread import __version__

    return __version__


def _cmd_schema(args: argparse.Namespace) -> int:
    from pytest_dualread.report import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
    return EXIT_PASS


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dualread",
        description="Judge pytest-dualread reports: the release gate's side of a dual-read run.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    schema = commands.add_parser("schema", help="Print the JSON Schema of report.json.")
    schema.set_defaults(run=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_CANNOT_JUDGE
    code: int = args.run(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
