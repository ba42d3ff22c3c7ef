"""The ``dualread`` commands of a rollout: ``ledger verify``, ``baseline rotate``, ``trend``,
``summary``, ``observability``, the ledger record of ``gate --ledger`` and ``thresholds suggest
--history``. :mod:`pytest_dualread.cli` registers them; the work is in :mod:`rollout`,
:mod:`ledger`, :mod:`trend`, :mod:`summary` and :mod:`observability`. See docs/rollout.md.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_dualread import cliargs
from pytest_dualread.errors import DualReadError

if TYPE_CHECKING:
    from pytest_dualread.formats import GateResult
    from pytest_dualread.report import Report
    from pytest_dualread.rollout import LevelSuggestion, Run

__all__ = ["record_gate", "register", "thresholds_from_history"]

Command = Callable[[argparse.Namespace], int]


def _guarded(command: Command) -> Command:
    """Any error of the rollout modules is the ``dualread`` exit 2, one line."""

    @functools.wraps(command)
    def run(args: argparse.Namespace) -> int:
        from pytest_dualread.cli import _CannotJudge

        try:
            return command(args)
        except DualReadError as exc:
            raise _CannotJudge(str(exc)) from None

    return run


def _load(path: Path, what: str = "history") -> Report:
    from pytest_dualread.cli import _load as load

    return load(path, what=what)


def _history(directory: Path) -> list[Run]:
    from pytest_dualread.rollout import load_history

    return load_history(directory, _load)


def _policy(args: argparse.Namespace) -> Any:
    from pytest_dualread.cli import _policy as policy

    return policy(args)


# -- gate --ledger -------------------------------------------------------------------------------


def record_gate(args: argparse.Namespace, result: GateResult, history: list[Path]) -> None:
    """Append the gate's decision to ``--ledger`` with the hash of every file it judged."""
    from pytest_dualread.ledger import append, history_evidence

    report = result.report
    evidence = {"report": Path(args.report)}
    if args.baseline is not None:
        evidence["baseline"] = Path(args.baseline)
    evidence.update(history_evidence(history))
    record = {
        "command": "gate",
        "decision": "go" if result.status == "pass" else "no-go",
        "verdict": result.verdict.label,
        "reasons": result.reasons() or list(result.verdict.reasons),
        "policy": result.policy.model_dump(mode="json"),
        "selection": None if report.run.selection is None else report.run.selection.model_dump(),
        "sample": None if report.run.sample is None else report.run.sample.model_dump(),
        "run_started_at": report.run.started_at.isoformat(),
    }
    try:
        append(args.ledger, record, evidence)
    except DualReadError as exc:
        from pytest_dualread.cli import _CannotJudge

        raise _CannotJudge(str(exc)) from None


# -- ledger verify -------------------------------------------------------------------------------


def _cmd_ledger_verify(args: argparse.Namespace) -> int:
    from pytest_dualread.formats import EXIT_FAIL, EXIT_PASS
    from pytest_dualread.ledger import verify

    checked = verify(args.ledger, args.base)
    changed = [e for e in checked if e.state == "changed"]
    missing = [e for e in checked if e.state == "missing"]
    lines = [f"{e.state:<8} line {e.record}: {e.path}" for e in checked if e.state != "same"]
    lines.append(
        f"{len(checked)} files of {len({e.record for e in checked})} decisions: "
        f"{len(checked) - len(changed) - len(missing)} unchanged, {len(changed)} changed, "
        f"{len(missing)} missing"
    )
    sys.stdout.write("\n".join(lines) + "\n")
    return EXIT_FAIL if changed else EXIT_PASS


# -- thresholds suggest --history ----------------------------------------------------------------


def _level_line(s: LevelSuggestion) -> str:
    fail, now = s.fail, s.fail.current
    old = "-" if now is None else str(now)
    new = "-" if fail.proposed_abs is None else f"abs {fail.proposed_abs:g}"
    if fail.proposed_abs is not None and s.warn_abs is not None:
        new += f" (warn above abs {s.warn_abs:g})"
    mark = "  LOOSER" if fail.looser else ""
    return f"| {fail.rule} | {old} | {new}{mark} | {fail.samples} | {fail.why} |"


def thresholds_from_history(args: argparse.Namespace) -> int:
    """``thresholds suggest --history DIR``: fail and warn levels from every passing run."""
    from pytest_dualread.cli import _apply, _current_tolerances
    from pytest_dualread.formats import EXIT_PASS
    from pytest_dualread.rollout import passing_runs, rule_deltas, suggest_levels

    path, current = _current_tolerances(args)
    runs = _history(args.history)
    for given in args.inputs:
        runs.append((str(given), _load(given, what="report")))
    kept = passing_runs(runs, _policy(args), include_failed=args.include_failed)
    deltas = rule_deltas([r for _, r in kept], current)
    levels = suggest_levels(
        deltas,
        current,
        k=args.k,
        warn_k=args.warn_k,
        min_samples=args.min_samples,
        floor_abs=args.floor_abs,
    )
    which = "complete" if args.include_failed else "complete, passing"
    out = [
        f"thresholds from {len(kept)} of {len(runs)} runs ({which}) in {args.history}: fail = "
        f"median + {args.k:g} x IQR (never below the largest delta seen), warn = median + "
        f"{args.warn_k:g} x IQR",
        "",
        "| rule | current | proposed | samples | how |",
        "|---|---|---|---:|---|",
        *(_level_line(s) for s in levels),
        "",
    ]
    if args.apply:
        out.append(_apply_levels(args, path, levels, _apply))
    else:
        out.append("dry run: nothing written (pass --apply to update pyproject.toml)")
    sys.stdout.write("\n".join(out) + "\n")
    return EXIT_PASS


def _apply_levels(
    args: argparse.Namespace, path: Path | None, levels: list[LevelSuggestion], apply: Any
) -> str:
    from pytest_dualread.cli import _CannotJudge

    if path is None:
        raise _CannotJudge("--apply: no pyproject.toml here (give --config PATH)")
    chosen = [
        s
        for s in levels
        if (s.fail.changes or s.changes_warn) and (args.allow_looser or not s.fail.looser)
    ]
    warn = {s.fail.rule: s.warn_abs for s in chosen}
    try:
        apply(path, [s.fail for s in chosen if s.fail.proposed_abs is not None], warn)
    except OSError as exc:
        raise _CannotJudge(f"--apply {path}: cannot write: {exc}") from None
    return f"applied {len(chosen)} rule(s) to {path} [tool.dualread.dto.tolerances]"


# -- baseline rotate -----------------------------------------------------------------------------


def _cmd_baseline_rotate(args: argparse.Namespace) -> int:
    from pytest_dualread.files import write_atomic
    from pytest_dualread.formats import EXIT_FAIL, EXIT_PASS
    from pytest_dualread.ledger import append, sha256_of
    from pytest_dualread.rollout import plan_rotation

    plan = plan_rotation(_history(args.history), _policy(args), args.after)
    if not plan.eligible or plan.candidate is None:
        sys.stdout.write(
            f"not rotated: {len(plan.streak)} of {args.after} newest runs passed; "
            f"{plan.broken_by}\n"
        )
        return EXIT_FAIL
    label = plan.candidate[0]
    source = args.history / label
    if not args.apply:
        sys.stdout.write(
            f"would rotate: {source} -> {args.baseline} (the last {args.after} runs passed); "
            "dry run: pass --apply to write it\n"
        )
        return EXIT_PASS
    previous = sha256_of(args.baseline) if args.baseline.is_file() else None
    try:
        write_atomic(args.baseline, source.read_bytes())
    except OSError as exc:
        raise DualReadError(f"--baseline {args.baseline}: cannot write: {exc}") from None
    if args.ledger is not None:
        record = {
            "command": "baseline rotate",
            "decision": "rotate",
            "after": args.after,
            "previous_baseline_sha256": previous,
            "streak": [name for name, _ in plan.streak],
        }
        append(args.ledger, record, {"report": source, "baseline": args.baseline})
    sys.stdout.write(f"rotated: {source} is now the baseline {args.baseline}\n")
    return EXIT_PASS


# -- trend, summary, observability ---------------------------------------------------------------


def _today(args: argparse.Namespace) -> date:
    given: date | None = args.today
    return given or datetime.now(timezone.utc).date()


def _cmd_trend(args: argparse.Namespace) -> int:
    from pytest_dualread.files import write_atomic
    from pytest_dualread.formats import EXIT_PASS
    from pytest_dualread.trend import build_trend, trend_json, trend_markdown

    trend = build_trend(_history(args.history), _policy(args), today=_today(args), days=args.days)
    markdown = trend_markdown(trend)
    if args.out is not None:
        write_atomic(args.out / "trend.md", markdown)
        write_atomic(args.out / "trend.json", trend_json(trend))
    sys.stdout.write(markdown)
    return EXIT_PASS


def _cmd_summary(args: argparse.Namespace) -> int:
    from pytest_dualread.formats import EXIT_PASS
    from pytest_dualread.summary import SummaryInput, slack_payload, text_summary

    baseline = None if args.baseline is None else _load(args.baseline, what="baseline")
    given = SummaryInput(
        report=_load(args.report, what="report"),
        policy=_policy(args),
        baseline=baseline,
        history=None if args.history is None else _history(args.history),
        report_url=args.report_url,
        today=_today(args),
    )
    render = slack_payload if args.format == "slack" else text_summary
    sys.stdout.write(render(given))
    return EXIT_PASS


def _cmd_observability(args: argparse.Namespace) -> int:
    from pytest_dualread.cli import _current_tolerances, _settings
    from pytest_dualread.formats import EXIT_PASS
    from pytest_dualread.observability import write_observability

    _path, tolerances = _current_tolerances(args)
    _path, visual = _settings(args, "visual")
    written = write_observability(args.out, tolerances, visual)
    sys.stdout.write("".join(f"wrote {p}\n" for p in written))
    return EXIT_PASS


# -- registration --------------------------------------------------------------------------------


def register(commands: Any) -> None:
    """Add the rollout commands to the ``dualread`` sub-parsers."""
    ledger = commands.add_parser("ledger", help="The decision ledger of gate --ledger.")
    sub = ledger.add_subparsers(dest="action", metavar="ACTION", parser_class=cliargs.Parser)
    sub.required = True
    verify = sub.add_parser("verify", help="Recompute each recorded sha256; exit 1 if changed.")
    verify.add_argument("ledger", type=Path, metavar="FILE", help="The ledger (JSONL).")
    verify.add_argument(
        "--base", type=Path, metavar="DIR", help="Folder relative paths are read from."
    )
    verify.set_defaults(run=_guarded(_cmd_ledger_verify))

    baseline = commands.add_parser("baseline", help="Baseline report rotation.")
    bsub = baseline.add_subparsers(dest="action", metavar="ACTION", parser_class=cliargs.Parser)
    bsub.required = True
    rotate = bsub.add_parser(
        "rotate", help="Make the newest report the baseline after N passing runs (dry run)."
    )
    rotate.add_argument("--history", type=Path, required=True, metavar="DIR")
    rotate.add_argument("--baseline", type=Path, required=True, metavar="PATH")
    rotate.add_argument("--after", type=cliargs.positive, default=14, metavar="N")
    rotate.add_argument("--apply", action="store_true", help="Write the baseline.")
    rotate.add_argument("--ledger", type=Path, metavar="FILE", help="Record the rotation.")
    cliargs.config_option(rotate)
    rotate.set_defaults(run=_guarded(_cmd_baseline_rotate))

    trend = commands.add_parser("trend", help="Pass rate, worst fields and pages per window.")
    trend.add_argument("--history", type=Path, required=True, metavar="DIR")
    trend.add_argument("--days", type=cliargs.positive, default=7, metavar="N")
    trend.add_argument("--today", type=cliargs.day, metavar="YYYY-MM-DD")
    trend.add_argument("--out", type=Path, metavar="DIR", help="Write trend.md and trend.json.")
    cliargs.config_option(trend)
    trend.set_defaults(run=_guarded(_cmd_trend))

    summary = commands.add_parser("summary", help="A chat summary (Slack Block Kit or text).")
    summary.add_argument("report", type=Path, metavar="REPORT")
    summary.add_argument("--baseline", type=Path, metavar="OLD")
    summary.add_argument("--history", type=Path, metavar="DIR")
    summary.add_argument("--format", choices=("slack", "text"), default="slack")
    summary.add_argument("--report-url", metavar="URL", help="Link to the HTML report.")
    summary.add_argument("--today", type=cliargs.day, metavar="YYYY-MM-DD")
    cliargs.config_option(summary)
    summary.set_defaults(run=_guarded(_cmd_summary))

    obs = commands.add_parser(
        "observability", help="Grafana dashboard and Prometheus rules for --dual-read-metrics."
    )
    obs.add_argument("--out", type=Path, required=True, metavar="DIR")
    cliargs.config_option(obs)
    obs.set_defaults(run=_guarded(_cmd_observability))
