"""``dualread approve``: accept what a run obtained as the new goldens and baselines, from the
report alone.

A failed check whose golden or baseline took part keeps, in its artifacts folder, exactly what
``--snapshot-update`` would have stored (``candidate.json``, or ``candidate.png`` and its
environment sidecar). Approving copies that file over the golden or baseline, atomically, and
appends one line per file to ``<snapshot_dir>/approvals.jsonl``: who, when, why, which check,
and the old and new content's sha256. Nothing is run again. A check triaged
``adapter_regression`` is refused unless forced: the adapter, not the stored file, is wrong.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import shlex
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pytest_dualread import cliargs
from pytest_dualread.artifacts import slugify
from pytest_dualread.files import write_atomic
from pytest_dualread.report import Check, DtoData, Report

__all__ = [
    "CANDIDATE_BASELINE",
    "CANDIDATE_GOLDEN",
    "CANDIDATE_SIDECAR",
    "LEDGER",
    "Approval",
    "ApproveError",
    "add_parser",
    "approve",
    "command_for",
    "plan_approvals",
    "project_config",
    "run_command",
]

LEDGER = "approvals.jsonl"
"""The approvals ledger, in the snapshot folder."""
CANDIDATE_GOLDEN = "candidate.json"
CANDIDATE_BASELINE = "candidate.png"
CANDIDATE_SIDECAR = "candidate.env.json"
"""What a failed check's artifacts folder keeps for approval (not listed among its artifacts)."""
_REFUSED = "adapter_regression"


class ApproveError(Exception):
    """What cannot be approved, and why; names the check or file."""


@dataclass(frozen=True)
class Approval:
    """One file to replace: the check, the candidate the run kept, where it goes."""

    check: Check
    candidate: Path
    target: Path
    sidecar: tuple[Path, Path] | None = None
    """A baseline's environment: the kept one, and where it goes."""


def _refusal(check: Check, force: bool) -> str | None:
    """Why ``check`` cannot be approved (None when it can)."""
    if check.outcome != "failed":
        return f"check {check.id} {check.outcome}: only a failed check can be approved"
    if not force and any(f.triage == _REFUSED for f in check.findings):
        return (
            f"check {check.id} is triaged {_REFUSED}: the adapter differs from legacy, so the "
            "golden is not what needs to change (pass --force to approve it anyway)"
        )
    if not check.artifacts or _stored_path(check) is None:
        return (
            f"check {check.id}: the run kept nothing to approve (no golden or baseline took "
            "part, or artifacts were not kept: run with --dual-read-artifacts=failed)"
        )
    return None


def command_for(check: Check, report_path: str | Path) -> str | None:
    """The exact ``dualread approve`` line for a failing check, or None when it cannot be
    approved (it passed, it is an adapter regression, or the run kept nothing to approve)."""
    if _refusal(check, force=False) is not None:
        return None
    quoted = " ".join(shlex.quote(part) for part in (str(report_path), "--check", check.id))
    return f"dualread approve {quoted} --reason 'why this change is right'"


def _stored_path(check: Check) -> str | None:
    data = check.data
    return data.golden_path if isinstance(data, DtoData) else data.baseline_path


def _inside(path: Path, root: Path, what: str) -> Path:
    """``path`` resolved, refused when it leaves ``root`` (a report is data, not a licence)."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root.resolve()):
        raise ApproveError(f"{what} {path} is outside {root}; refusing to write or read it")
    return resolved


def _approval(check: Check, report_dir: Path, rootdir: Path, snapshot_dir: Path) -> Approval:
    stored = _stored_path(check)
    if stored is None:
        raise ApproveError(f"check {check.id}: the report names no golden or baseline")
    folder = report_dir / "artifacts" / slugify(check.id)
    name = CANDIDATE_GOLDEN if isinstance(check.data, DtoData) else CANDIDATE_BASELINE
    candidate = _inside(folder / name, report_dir, "candidate")
    if not candidate.is_file():
        raise ApproveError(
            f"check {check.id}: {candidate} is gone (a later run cleared the artifacts?)"
        )
    target = _inside(rootdir / stored, snapshot_dir, "golden/baseline")
    sidecar = None
    if (folder / CANDIDATE_SIDECAR).is_file() and name == CANDIDATE_BASELINE:
        sidecar = (folder / CANDIDATE_SIDECAR, target.with_name(target.stem + ".env.json"))
    return Approval(check, candidate, target, sidecar)


def plan_approvals(
    report: Report,
    report_path: Path,
    *,
    rootdir: Path,
    snapshot_dir: Path,
    check_ids: list[str],
    force: bool,
) -> list[Approval]:
    """What approving ``check_ids`` (every failed check when empty) would write; raises
    :class:`ApproveError` before anything is written when any of them cannot be approved."""
    by_id = {check.id: check for check in report.checks}
    unknown = [cid for cid in check_ids if cid not in by_id]
    if unknown:
        raise ApproveError(f"no check {unknown[0]!r} in {report_path}")
    chosen = [by_id[cid] for cid in check_ids] or [
        c for c in report.checks if _refusal(c, force) is None
    ]
    if not chosen:
        raise ApproveError(f"{report_path}: no failed check that can be approved")
    for check in chosen:
        why = _refusal(check, force)
        if why is not None:
            raise ApproveError(why)
    return [_approval(c, report_path.parent, rootdir, snapshot_dir) for c in chosen]


def _sha256(blob: bytes | None) -> str | None:
    return None if blob is None else "sha256:" + hashlib.sha256(blob).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "unknown"


def approve(
    approvals: list[Approval], *, ledger: Path, reason: str, who: str | None = None
) -> list[dict[str, object]]:
    """Write each approval's file and its ledger line; returns the lines written. Each file is
    replaced whole, and its line is appended (the ledger rewritten whole) right after it."""
    who = who or _user()
    entries: list[dict[str, object]] = []
    for approval in approvals:
        new = approval.candidate.read_bytes()
        old = _read(approval.target)
        write_atomic(approval.target, new)
        if approval.sidecar is not None:
            write_atomic(approval.sidecar[1], approval.sidecar[0].read_bytes())
        entry: dict[str, object] = {
            "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "by": who,
            "reason": reason,
            "check": approval.check.id,
            "file": approval.target.relative_to(ledger.parent.resolve()).as_posix(),
            "triage": sorted({f.triage for f in approval.check.findings if f.triage}),
            "old_sha256": _sha256(old),
            "new_sha256": _sha256(new),
        }
        before = _read(ledger) or b""
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"
        write_atomic(ledger, before + line.encode("utf-8"))
        entries.append(entry)
    return entries


# -- the command ---------------------------------------------------------------------------------


def project_config(given: Path | None) -> tuple[Path, dict[str, object]]:
    """The project's pyproject.toml (``--config``, else ./pyproject.toml) and its
    ``[tool.dualread]``; its folder is the rootdir. Raises ApproveError naming the file."""
    from pytest_dualread.errors import ConfigError
    from pytest_dualread.pyproject import dualread_table

    path = given if given is not None else Path.cwd() / "pyproject.toml"
    if not path.is_file():
        raise ApproveError(f"--config {path}: no such file (expected the project's pyproject.toml)")
    try:
        return path, dict(dualread_table(path))
    except ConfigError as exc:
        raise ApproveError(str(exc)) from None


def run_command(args: argparse.Namespace) -> int:
    """``dualread approve``: 0 when every chosen check was approved, 2 when nothing was written
    (a check that cannot be approved, a report or file that cannot be read)."""
    from pytest_dualread.errors import ReportError
    from pytest_dualread.report import load_report

    try:
        pyproject, table = project_config(args.config)
        rootdir = pyproject.parent
        snapshot_dir = rootdir / str(table.get("snapshot_dir", "snapshots"))
        try:
            report = load_report(args.report)
        except ReportError as exc:
            raise ApproveError(f"report {exc}") from None
        approvals = plan_approvals(
            report,
            Path(args.report),
            rootdir=rootdir,
            snapshot_dir=snapshot_dir,
            check_ids=list(args.check or []),
            force=args.force,
        )
        entries = approve(approvals, ledger=snapshot_dir / LEDGER, reason=args.reason, who=args.by)
    except (ApproveError, OSError) as exc:
        sys.stderr.write(f"dualread: error: {exc}\n")
        return 2
    for entry in entries:
        sys.stdout.write(
            f"approved {entry['check']}: {entry['file']} "
            f"{entry['old_sha256'] or '(new)'} -> {entry['new_sha256']}\n"
        )
    sys.stdout.write(f"{len(entries)} approved; ledger {os.path.relpath(snapshot_dir / LEDGER)}\n")
    return 0


def add_parser(commands: Any) -> None:
    """Register ``dualread approve`` on the ``dualread`` command's subparsers."""
    parser = commands.add_parser(
        "approve", help="Accept the failing checks' obtained DTOs / renders as goldens / baselines."
    )
    parser.add_argument("report", type=Path, metavar="REPORT", help="The run's report.json.")
    parser.add_argument(
        "--check",
        action="append",
        metavar="ID",
        help="A check to approve (repeatable; default: every failed check that can be).",
    )
    parser.add_argument(
        "--reason", required=True, help="Why the change is right (kept in the ledger)."
    )
    parser.add_argument("--by", metavar="NAME", help="Who approves (default: the user name).")
    parser.add_argument(
        "--force", action="store_true", help="Also approve checks triaged adapter_regression."
    )
    cliargs.config_option(parser)
    parser.set_defaults(run=run_command)
