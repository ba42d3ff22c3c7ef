"""The ``dualread`` command: what a release gate runs against a report. It never imports pytest.

Commands: ``gate`` (verdict, baseline regression, green-day history), ``merge`` (CI shards),
``html`` (the self-contained HTML report), ``thresholds suggest`` (tolerances from recorded
deltas) and ``schema``. See docs/cli.md.

Exit codes (binding, ARCHITECTURE §4.7): 0 pass, 1 fail (verdict, regression or policy), 2 cannot
judge (bad usage or configuration, or a report that is missing, unreadable, of another schema,
incomplete or empty). Every exit 2 prints one line on stderr naming the file or option; an
unexpected failure is exit 2 with one ``dualread: internal error: …`` line, never a traceback.
Ctrl-C exits 130. The gate's output formats are :mod:`pytest_dualread.formats`.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

from pytest_dualread import cliargs
from pytest_dualread.errors import ConfigError, validation_message
from pytest_dualread.files import write_atomic
from pytest_dualread.formats import (
    EXIT_CANNOT_JUDGE,
    EXIT_FAIL,
    EXIT_PASS,
    RENDERERS,
    GateResult,
    cannot_judge_json,
    cannot_judge_md,
    github_annotations,
    one_line,
    render_md,
)
from pytest_dualread.pyproject import dualread_table

if TYPE_CHECKING:
    from pytest_dualread.config import GateSettings, ToleranceSetting
    from pytest_dualread.gate import ThresholdSuggestion
    from pytest_dualread.report import Report, ReportFile, Verdict

__all__ = [
    "EXIT_CANNOT_JUDGE",
    "EXIT_FAIL",
    "EXIT_INTERRUPTED",
    "EXIT_PASS",
    "build_parser",
    "main",
]

EXIT_INTERRUPTED = 130
"""Ctrl-C: 128 + SIGINT, what a shell reports for an interrupted command."""


class _CannotJudge(Exception):
    """Stop with exit code 2 and this one-line message."""


def _version() -> str:
    from pytest_dualread import __version__

    return __version__


# -- shared loading -----------------------------------------------------------------------------

_Command = Callable[[argparse.Namespace], int]


def _reads_reports(command: _Command) -> _Command:
    """``command`` with the cycle collector held from start to exit: it builds whole reports,
    trees with no cycles that the collector would walk again and again for nothing
    (:func:`~pytest_dualread.report.collector_paused`)."""

    @functools.wraps(command)
    def paused(args: argparse.Namespace) -> int:
        from pytest_dualread.report import collector_paused

        with collector_paused():
            return command(args)

    return paused


def _read(path: Path | str, *, what: str = "report") -> ReportFile:
    from pytest_dualread.errors import ReportError
    from pytest_dualread.report import read_report

    try:
        return read_report(path)
    except ReportError as exc:
        raise _CannotJudge(f"{what} {exc}") from None


def _load(path: Path | str, *, what: str = "report") -> Report:
    return _read(path, what=what).report


def _config_file(args: argparse.Namespace) -> Path | None:
    """The pyproject.toml in use: ``--config``, else ./pyproject.toml when there is one."""
    given: Path | None = getattr(args, "config", None)
    if given is None:
        here = Path.cwd() / "pyproject.toml"
        return here if here.is_file() else None
    if not given.is_file():
        raise _CannotJudge(f"--config {given}: no such file (expected a pyproject.toml)")
    return given


def _settings(args: argparse.Namespace, *keys: str) -> tuple[Path | None, dict[str, Any]]:
    """The pyproject.toml in use and its ``[tool.dualread.<keys>]`` (``{}`` without one)."""
    path = _config_file(args)
    if path is None:
        return None, {}
    try:
        return path, dualread_table(path, *keys)
    except ConfigError as exc:
        raise _CannotJudge(str(exc)) from None


def _policy(args: argparse.Namespace) -> GateSettings:
    """``[tool.dualread.gate]`` < ``DUALREAD_GATE__*`` environment < flags."""
    from pydantic import ValidationError

    from pytest_dualread.gatesettings import ENV_PREFIX, GateSettings

    path, table = _settings(args, "gate")
    try:
        base = GateSettings.model_validate(table)
    except ValidationError as exc:
        why = validation_message(exc, limit=1, prefix="tool.dualread.gate")
        raise _CannotJudge(f"{path}: {why}") from None
    values = base.model_dump()
    prefix = f"{ENV_PREFIX}GATE__"
    for name, raw in sorted(os.environ.items()):
        if not name.upper().startswith(prefix):
            continue
        key = name[len(prefix) :].lower()
        value: Any = raw
        if raw.strip()[:1] in ("[", "{"):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise _CannotJudge(f"environment variable {name}: not JSON: {exc.msg}") from None
        try:
            GateSettings.model_validate({**values, key: value})
        except ValidationError as exc:
            raise _CannotJudge(
                f"environment variable {name}: {validation_message(exc, limit=1)}; expected one of "
                + ", ".join(f"{prefix}{n.upper()}" for n in GateSettings.model_fields)
            ) from None
        values[key] = value
    for key in _FLAG_OVERRIDES:  # a flag given wins over the environment and pyproject
        value = getattr(args, key, None)
        if value is not None:
            values[key] = value
    return GateSettings.model_validate(values)


def _triage_classes() -> tuple[str, ...]:
    from pytest_dualread.report import Triage

    return get_args(Triage)


def _triage_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    known = _triage_classes()
    for name in names:
        if name not in known:
            raise argparse.ArgumentTypeError(
                f"unknown triage class {name!r}; expected a comma-separated list of "
                + ", ".join(known)
            )
    return names


def _too_old(report: Report, limit: timedelta) -> str | None:
    """Why ``report`` is too old to judge under ``--max-age``, or None."""
    run = report.run
    ended = run.finished_at or run.started_at
    if ended.tzinfo is None:
        ended = ended.replace(tzinfo=timezone.utc)
    age = datetime.now(timezone.utc) - ended
    if age <= limit:
        return None
    return (
        f"the run finished {_age_text(age)} ago ({ended.isoformat(timespec='seconds')}), "
        f"longer ago than --max-age {_age_text(limit)}"
    )


def _age_text(age: timedelta) -> str:
    seconds = int(age.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "m")) if n]
    return " ".join(parts) if parts else f"{seconds}s"


def _report_files(directory: Path, option: str) -> list[Path]:
    from pytest_dualread.rollout import RolloutError, history_files

    try:
        return history_files(directory, option)
    except RolloutError as exc:
        raise _CannotJudge(str(exc)) from None


# -- gate ---------------------------------------------------------------------------------------


def _step_summary(markdown: Callable[[], str]) -> None:
    # Rendered only for GitHub: the markdown of a large report costs as much as its text.
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    try:
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(markdown() + "\n")
    except OSError as exc:
        sys.stderr.write(f"dualread: warning: GITHUB_STEP_SUMMARY {target}: cannot append: {exc}\n")


@_reads_reports
def _cmd_gate(args: argparse.Namespace) -> int:
    from pytest_dualread.gate import (
        compare_to_baseline,
        evaluate_report,
        green_streak,
        untrusted_reason,
    )

    if (args.history is None) != (args.require_green_days is None):
        raise _CannotJudge("--history DIR and --require-green-days N go together; give both")
    policy = _policy(args)
    report = _load(args.report)
    why = untrusted_reason(report, allow_partial=policy.allow_partial)
    if why is None and args.max_age is not None:
        why = _too_old(report, args.max_age)
    if why is not None:
        raise _CannotJudge(f"report {args.report}: {why}")
    result = GateResult(str(args.report), report, policy, evaluate_report(report, policy))
    if args.baseline is not None:
        baseline = _load(args.baseline, what="baseline")
        why = untrusted_reason(baseline)
        if why is not None:
            raise _CannotJudge(f"baseline {args.baseline}: {why}")
        result.baseline = str(args.baseline)
        result.regression = compare_to_baseline(report, baseline, policy)
    if args.history is not None:
        files = _report_files(args.history, "--history")
        runs = [(str(p.relative_to(args.history)), _load(p, what="history")) for p in files]
        here = Path(args.report).resolve()
        if all(p.resolve() != here for p in files):
            runs.append((str(args.report), report))
        today = args.today or datetime.now(timezone.utc).date()
        result.history = str(args.history)
        result.streak = green_streak(runs, policy, today=today, days=args.require_green_days)
    sys.stdout.write(RENDERERS[args.format](result))
    if args.annotations:
        sys.stdout.write(github_annotations(result))
    _step_summary(lambda: render_md(result))
    if args.ledger is not None:
        from pytest_dualread.rollout_cli import record_gate

        record_gate(args, result, files if args.history is not None else [])
    return result.exit_code


# -- merge --------------------------------------------------------------------------------------


@_reads_reports
def _cmd_merge(args: argparse.Namespace) -> int:
    from pytest_dualread.errors import ReportError
    from pytest_dualread.gate import evaluate
    from pytest_dualread.report import Check, dump_merged, merge_reports

    policy = _policy(args)
    shards = [_read(p) for p in args.reports]
    reports = [shard.report for shard in shards]

    def judge(checks: list[Check], complete: bool) -> Verdict:
        return evaluate(checks, policy, complete=complete)

    try:
        merged = merge_reports(
            reports, sources=[str(p) for p in args.reports], force=args.force, judge=judge
        )
    except ReportError as exc:
        raise _CannotJudge(f"cannot merge: {exc}") from None
    try:
        write_atomic(args.output, dump_merged(merged, shards))
    except OSError as exc:
        raise _CannotJudge(f"-o {args.output}: cannot write: {exc}") from None
    state = "complete" if merged.run.complete else "INCOMPLETE"
    sys.stdout.write(
        f"merged {len(reports)} reports ({merged.summary.total} checks, {state}) into "
        f"{args.output}; verdict {merged.verdict.status}\n"
    )
    return EXIT_PASS


# -- html ---------------------------------------------------------------------------------------


@_reads_reports
def _cmd_html(args: argparse.Namespace) -> int:
    from pytest_dualread.html import write_html

    report = _load(args.report)
    earlier = _earlier_reports(args.history) if args.history is not None else None
    try:
        write_html(
            report,
            args.output,
            embed=args.embed,
            base_dir=Path(args.report).parent,
            history=earlier,
            report_path=Path(args.report),
        )
    except OSError as exc:
        raise _CannotJudge(f"-o {args.output}: cannot write: {exc}") from None
    sys.stdout.write(f"wrote {args.output}\n")
    return EXIT_PASS


def _earlier_reports(directory: Path) -> list[Report]:
    from pytest_dualread.errors import ReportError
    from pytest_dualread.history import load_history

    _report_files(directory, "--history")
    try:
        return load_history(directory)
    except ReportError as exc:
        raise _CannotJudge(f"--history: {exc}") from None


# -- thresholds ---------------------------------------------------------------------------------


def _current_tolerances(
    args: argparse.Namespace,
) -> tuple[Path | None, dict[str, ToleranceSetting]]:
    from pydantic import ValidationError

    from pytest_dualread.config import ToleranceSetting

    path, table = _settings(args, "dto", "tolerances")
    current = {}
    for rule, value in table.items():
        try:
            current[rule] = ToleranceSetting.model_validate(value)
        except ValidationError as exc:
            raise _CannotJudge(
                f"{path}: "
                + validation_message(exc, limit=1, prefix=f"tool.dualread.dto.tolerances.{rule!r}")
            ) from None
    return path, current


def _number_text(value: float) -> str:
    return f"{value:g}"


def _describe(s: ThresholdSuggestion) -> str:
    now = "-"
    if s.current is not None:
        parts = [
            f"{k} = {_number_text(v)}"
            for k, v in (("abs", s.current.abs), ("rel", s.current.rel))
            if v is not None
        ]
        now = "{ " + ", ".join(parts) + " }"
    proposed = "-" if s.proposed_abs is None else f"abs = {_number_text(s.proposed_abs)}"
    mark = ""
    if s.looser:
        mark = "  LOOSER than the current value"
    elif s.proposed_abs is not None and s.current is not None and not s.changes:
        mark = "  (unchanged)"
    return f"{s.rule}: current {now}, proposed {proposed}{mark}\n    {s.samples} samples; {s.why}"


def _apply(
    path: Path, chosen: Sequence[ThresholdSuggestion], warn: Mapping[str, float | None] = {}
) -> None:
    import tomlkit

    text = path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    table: Any = document["tool"]["dualread"]["dto"]["tolerances"]
    for s in chosen:
        assert s.proposed_abs is not None
        value: float | int = s.proposed_abs
        if float(value).is_integer():
            value = int(value)
        table[s.rule]["abs"] = value
    for rule, level in warn.items():
        if level is not None:
            table[rule]["warn_abs"] = int(level) if float(level).is_integer() else level
        elif "warn_abs" in table[rule] and table[rule]["warn_abs"] >= table[rule]["abs"]:
            del table[rule]["warn_abs"]  # a warn level must stay below the new fail level
    write_atomic(path, tomlkit.dumps(document))


@_reads_reports
def _cmd_thresholds_suggest(args: argparse.Namespace) -> int:
    from pytest_dualread.gate import collect_deltas, suggest_thresholds

    if args.history is not None:
        from pytest_dualread.rollout_cli import thresholds_from_history

        return thresholds_from_history(args)
    if not args.inputs:
        raise _CannotJudge("thresholds suggest: give reports or folders, or --history DIR")
    path, current = _current_tolerances(args)
    files: list[Path] = []
    for given in args.inputs:
        files.extend(_report_files(given, "input") if given.is_dir() else [given])
    reports = []
    skipped = []
    for file in files:
        report = _load(file)
        if report.run.complete:
            reports.append(report)
        else:
            skipped.append(str(file))
    deltas = collect_deltas(reports, current)
    suggestions = suggest_thresholds(
        deltas, current, k=args.k, min_samples=args.min_samples, floor_abs=args.floor_abs
    )
    out = [
        f"thresholds from {len(reports)} complete report{'s' if len(reports) != 1 else ''}; "
        f"median + {args.k:g} x IQR (quartiles: statistics.quantiles method='inclusive'), "
        f"floor {args.floor_abs:g}, at least {args.min_samples} samples"
    ]
    out += [f"skipped incomplete report {s}" for s in skipped]
    if not suggestions:
        out.append("no tolerance rules in pyproject.toml and no recorded deltas")
    out += [_describe(s) for s in suggestions]
    looser = [s for s in suggestions if s.looser]
    for s in looser:
        sys.stderr.write(
            f"dualread: warning: {s.rule}: proposed abs {_number_text(s.proposed_abs or 0)} is "
            f"LOOSER than the current {_number_text(s.current.abs or 0) if s.current else '-'}\n"
        )
    if args.apply:
        if path is None:
            raise _CannotJudge("--apply: no pyproject.toml here (give --config PATH)")
        chosen = [s for s in suggestions if s.changes and (args.allow_looser or not s.looser)]
        held = [s for s in looser if not args.allow_looser]
        if chosen:
            try:
                _apply(path, chosen)
            except OSError as exc:
                raise _CannotJudge(f"--apply {path}: cannot write: {exc}") from None
        out.append(
            f"applied {len(chosen)} change{'s' if len(chosen) != 1 else ''} to {path} "
            "[tool.dualread.dto.tolerances]"
        )
        out += [f"not applied (looser; pass --allow-looser to apply): {s.rule}" for s in held]
    else:
        out.append("dry run: nothing written (pass --apply to update pyproject.toml)")
    sys.stdout.write("\n".join(out) + "\n")
    return EXIT_PASS


# -- schema -------------------------------------------------------------------------------------


def _cmd_schema(args: argparse.Namespace) -> int:
    from pytest_dualread.report import json_schema

    sys.stdout.write(json.dumps(json_schema(), indent=2) + "\n")
    return EXIT_PASS


_GATE_SWITCHES = {
    "--require-visual": "Fail when no visual check ran.",
    "--allow-partial": "Judge a run whose selection (-k, -m, --deselect, --lf) left dual-read "
    "items out.",
    "--fail-on-warn": "Fail when a check passed beyond a warn level (a pass with warnings).",
}
"""The gate's on/off policy flags (``--no-...`` too): flag -> help."""
_FLAG_OVERRIDES = (
    "allowed_failures",
    "blocking_triage",
    "min_checks",
    *(flag[2:].replace("-", "_") for flag in _GATE_SWITCHES),
)
"""The policy keys a gate flag overrides."""


def _gate_policy_flags() -> dict[str, tuple[Callable[[str], Any], str, str]]:
    """The gate's valued flags: flag -> (parser, metavar, help); each overrides its policy key."""
    triage = ", ".join(_triage_classes())
    return {
        "--allowed-failures": (cliargs.count, "N", "Blocking checks allowed."),
        "--blocking-triage": (
            _triage_list,
            "CLASSES",
            f"Comma-separated triage classes that block ({triage}).",
        ),
        "--min-checks": (cliargs.count, "N", "Fewest checks that must run."),
        "--baseline": (Path, "OLD", "An older report: fail on regressions."),
        "--history": (Path, "DIR", "Folder of earlier reports (*.json, recursive)."),
        "--require-green-days": (
            cliargs.positive,
            "N",
            "Green days (UTC) required in --history, ending today.",
        ),
        "--today": (cliargs.day, "YYYY-MM-DD", "The last day of the streak (default: today, UTC)."),
    }


def build_parser() -> argparse.ArgumentParser:
    """The ``dualread`` argument parser."""
    parser = cliargs.Parser(
        prog="dualread",
        description="Judge pytest-dualread reports: the release gate's side of a dual-read run.",
        epilog="Exit codes: 0 pass, 1 fail (verdict, regression or policy), 2 cannot judge.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=cliargs.Parser)

    gate = commands.add_parser(
        "gate", help="Judge a report under the gate policy; exit 0 pass, 1 fail, 2 cannot judge."
    )
    gate.add_argument("report", type=Path, metavar="REPORT", help="The report.json to judge.")
    cliargs.config_option(gate)
    for flag, (parse, metavar, text) in _gate_policy_flags().items():
        gate.add_argument(flag, type=parse, metavar=metavar, help=text)
    for flag, text in _GATE_SWITCHES.items():
        gate.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
    gate.add_argument(
        "--ledger", type=Path, metavar="FILE", help="Append the decision to this JSONL ledger."
    )
    gate.add_argument(
        "--max-age",
        type=cliargs.duration,
        metavar="DURATION",
        help="Cannot judge a report whose run finished longer ago (90m, 6h, 2d, or seconds).",
    )
    gate.add_argument(
        "--format", choices=tuple(RENDERERS), default=next(iter(RENDERERS)), help="Output format."
    )
    gate.add_argument(
        "--annotations",
        action="store_true",
        help="Also print GitHub Actions ::error / ::warning lines per failing check.",
    )
    gate.set_defaults(run=_cmd_gate)

    merge = commands.add_parser("merge", help="Join CI shard reports into one report.")
    merge.add_argument("reports", type=Path, nargs="+", metavar="REPORT", help="Shard reports.")
    merge.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUT", help="The merged report."
    )
    merge.add_argument(
        "--force", action="store_true", help="Merge even when the shards' config_hash differs."
    )
    cliargs.config_option(merge)
    merge.set_defaults(run=_cmd_merge)

    html = commands.add_parser("html", help="Write the self-contained HTML report.")
    html.add_argument("report", type=Path, metavar="REPORT", help="The report.json to show.")
    html.add_argument(
        "-o", "--output", type=Path, required=True, metavar="OUT", help="The HTML file to write."
    )
    html.add_argument(
        "--embed", action="store_true", help="Inline the images as data URIs (one portable file)."
    )
    html.add_argument(
        "--history",
        type=Path,
        metavar="DIR",
        help="Folder of earlier reports (*.json, recursive): a strip of runs and sparklines.",
    )
    html.set_defaults(run=_cmd_html)

    thresholds = commands.add_parser("thresholds", help="Tolerances from recorded deltas.")
    sub = thresholds.add_subparsers(dest="action", metavar="ACTION", parser_class=cliargs.Parser)
    sub.required = True
    suggest = sub.add_parser(
        "suggest", help="Propose median + k*IQR per tolerance rule (dry run unless --apply)."
    )
    suggest.add_argument(
        "inputs", type=Path, nargs="*", metavar="REPORT|DIR", help="Reports, or folders of them."
    )
    suggest.add_argument(
        "--history",
        type=Path,
        metavar="DIR",
        help="Learn from every run of a history (per-field deltas of passing runs too).",
    )
    for flag, parse, default, metavar, text in (
        ("--k", cliargs.nonnegative_float, 1.5, "K", "IQR multiplier (default 1.5)."),
        ("--warn-k", cliargs.nonnegative_float, 0.5, "K", "With --history, IQR multiplier of "
         "the warn level (default 0.5)."),
        ("--min-samples", cliargs.count, 3, "N", "Fewest deltas for a proposal (default 3, "
         "at least 2)."),
        ("--floor-abs", cliargs.nonnegative_float, 0.0, "X", "Smallest abs bound ever proposed "
         "(default 0)."),
    ):  # fmt: skip
        suggest.add_argument(flag, type=parse, default=default, metavar=metavar, help=text)
    for flag, text in (
        ("--include-failed", "With --history, learn from failed runs too."),
        ("--apply", "Rewrite [tool.dualread.dto.tolerances] in place."),
        ("--allow-looser", "With --apply, also apply looser proposals."),
    ):
        suggest.add_argument(flag, action="store_true", help=text)
    cliargs.config_option(suggest)
    suggest.set_defaults(run=_cmd_thresholds_suggest)

    from pytest_dualread.rollout_cli import register

    register(commands)
    schema = commands.add_parser("schema", help="Print the JSON Schema of report.json.")
    schema.set_defaults(run=_cmd_schema)
    from pytest_dualread import approve, traffic

    approve.add_parser(commands)
    traffic.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``dualread``; returns the exit code.

    Never a traceback: whatever goes wrong is exit 2 and one line on stderr (a gate must not
    read a crash as anything but "cannot judge"); Ctrl-C is 130, as for any interrupted command.
    """
    args = argparse.Namespace()
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        return _dispatch(parser, args)
    except _CannotJudge as exc:
        return _cannot_judge(args, "error", str(exc))
    except KeyboardInterrupt:
        sys.stderr.write("dualread: interrupted\n")
        return EXIT_INTERRUPTED
    except Exception as exc:  # a bug, or a failure nobody foresaw: still one line, still exit 2
        return _cannot_judge(args, "internal error", f"{type(exc).__name__}: {exc}")


def _dispatch(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command is None:
        parser.print_help(sys.stderr)
        return EXIT_CANNOT_JUDGE
    if getattr(args, "min_samples", 2) < 2:
        parser.error(f"argument --min-samples: expected a number >= 2, got {args.min_samples}")
    code: int = args.run(args)
    return code


def _cannot_judge(args: argparse.Namespace, kind: str, text: str) -> int:
    """Exit 2: one line on stderr, and the JSON / step summary the gate promises."""
    message = one_line(text)
    sys.stderr.write(f"dualread: {kind}: {message}\n")
    if getattr(args, "format", None) == "json":
        sys.stdout.write(cannot_judge_json(message))
    if getattr(args, "command", None) == "gate":
        _step_summary(lambda: cannot_judge_md(message))
    return EXIT_CANNOT_JUDGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
