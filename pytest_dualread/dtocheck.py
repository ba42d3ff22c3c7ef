"""The DTO check: fetch both sides, load the golden, compare, judge, write artifacts, record.

The steps are those of every check (:mod:`pytest_dualread.lifecycle`); what is DTO-specific is
here: the rules a check applies (the case's over the case file's over ``[tool.dualread.dto]``),
the golden's candidate (legacy's body as the model dumps it, ignored fields left out), and the
artifacts (``dto-diff.txt`` and the three bodies). Nothing here imports pytest.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_dualread.lifecycle import CheckContext, CheckRun, Stored, judge_stored, locate_stored
from pytest_dualread.normalize import DiffRules
from pytest_dualread.report import DtoData, HeadroomStats

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pytest_dualread.artifacts import ArtifactDir
    from pytest_dualread.dto import DtoResult
    from pytest_dualread.fetch import ResponsePair

__all__ = ["DtoCheck", "golden_candidate", "headroom", "rules_from", "run_dto"]

_SIDE_PROBLEMS = ("adapter_vs_legacy", "legacy", "adapter")


@dataclass(frozen=True)
class DtoCheck:
    """What to check: everything but the responses."""

    id: str
    model: type[BaseModel] | None
    rules: DiffRules
    """The check's own rules; merged over the global ones when it runs."""
    golden: bool
    golden_index: int | str
    data: DtoData
    """What is known before the check runs (case, request)."""


def rules_from(
    tolerances: Mapping[str, Any] | None,
    ignore: Sequence[str] | None,
    list_keys: Mapping[str, str | Sequence[str]] | None,
    coerce_numbers: Sequence[str] | None,
) -> DiffRules:
    """Diff rules from their plain parts (a ``ValueError`` names a bad pattern)."""
    return DiffRules(
        ignore=tuple(ignore or ()),
        list_keys={p: n if isinstance(n, str) else tuple(n) for p, n in (list_keys or {}).items()},
        tolerances=dict(tolerances or {}),
        coerce_numbers=tuple(coerce_numbers or ()),
    )


def run_dto(ctx: CheckContext, check: DtoCheck, obtain: Callable[[], ResponsePair]) -> DtoResult:
    """Run one DTO check and record it; :class:`~pytest_dualread.lifecycle.CheckFailed` unless
    it passed."""
    __tracebackhide__ = True
    run = CheckRun(ctx, check.id, check.data.model_copy())
    result = run.guarded(lambda: _steps(run, check, obtain))
    run.record()
    return result


def _steps(run: CheckRun, check: DtoCheck, obtain: Callable[[], ResponsePair]) -> DtoResult:
    from pytest_dualread.dto import compare_dto

    data = run.data
    assert isinstance(data, DtoData)
    rules = check.rules.merged_over(run.ctx.rules)
    _redact_request(run, data, frozenset(run.ctx.settings.fetch.redact_params))
    legacy, adapter = _obtain(run, data, obtain)
    stored = _load_golden(run, data, check.golden_index) if check.golden else None
    golden = stored.parsed if stored is not None else None
    # the bodies and the golden were parsed by strictjson, which bounded their depth
    result = compare_dto(
        legacy, adapter, golden, model=check.model, rules=rules, depth_checked=True
    )
    _take_result(run, data, result)
    if stored is not None:
        _judge_golden(run, data, result, stored.file, legacy, check.model, rules)
    run.write_artifacts(lambda folder: _write_bodies(run, folder, legacy, adapter, golden))
    if stored is not None and run.artifacts.written and run.outcome == "failed":
        # What --snapshot-update would store, kept so `dualread approve` needs no re-run.
        keep_candidate(run.artifacts, golden_candidate(legacy, check.model, rules))
    return result


def _redact_request(run: CheckRun, data: DtoData, params: frozenset[str]) -> None:
    """The request as the report shows it: secret query parameters' values replaced, and
    scrubbed from whatever the check records (an app may echo them)."""
    from pytest_dualread.redact import REDACTED, query_secrets, redact_url

    request = data.request
    if request is None or not params:
        return
    sent = [str(v) for k, v in request.params.items() if k in params]
    run.scrubber = run.scrubber.knowing(sent + query_secrets(request.path, params))
    shown = {k: (REDACTED if k in params else v) for k, v in request.params.items()}
    data.request = request.model_copy(
        update={"path": redact_url(request.path, params), "params": shown}
    )


def _obtain(run: CheckRun, data: DtoData, obtain: Callable[[], ResponsePair]) -> tuple[Any, Any]:
    """Both bodies, redacted at once: nothing after this step (the comparison, findings,
    goldens, artifacts, renderers) ever sees a secret."""
    pair = obtain()
    data.urls = {"legacy": pair.legacy.url, "adapter": pair.adapter.url}
    return _redacted(run, pair.legacy.json()), _redacted(run, pair.adapter.json())


def _redacted(run: CheckRun, body: Any) -> Any:
    """``body`` with its secret fields' values (any depth) and any secret value the plugin
    sent (an app echoing a token) replaced."""
    from pytest_dualread.redact import redact_json

    secret = frozenset(run.ctx.settings.fetch.redact_fields)
    scrub = run.scrubber
    redacted = redact_json(body, secret)
    return scrub.value(redacted) if scrub.values else redacted


@dataclass(frozen=True)
class _Golden:
    file: Stored
    parsed: Any


def _load_golden(run: CheckRun, data: DtoData, index: int | str) -> _Golden:
    """The golden, redacted like the bodies it is compared with."""
    from pytest_dualread.snapshots import parse_golden

    stored = locate_stored(run.ctx, "golden", index)
    data.golden_path = stored.rel
    text = stored.content
    parsed = parse_golden(text, stored.path) if isinstance(text, str) else None
    return _Golden(stored, None if parsed is None else _redacted(run, parsed))


def _take_result(run: CheckRun, data: DtoData, result: DtoResult) -> None:
    for name, value in result.to_data().items():
        setattr(data, name, value)
    data.headroom = headroom(result)
    data.field_deltas = result.field_deltas
    run.findings.extend(result.findings)
    if not result.passed:
        run.fail(result.failure_text())


def _judge_golden(
    run: CheckRun,
    data: DtoData,
    result: DtoResult,
    stored: Stored,
    legacy: Any,
    model: type[BaseModel] | None,
    rules: DiffRules,
) -> None:
    legacy_matches = stored.exists and not any(
        f.comparison == "legacy_vs_golden" and f.level == "fail" for f in result.findings
    )
    verdict = judge_stored(
        run.ctx,
        stored,
        matches=legacy_matches,
        disagreement=_disagreement(result),
        candidate=lambda: golden_candidate(legacy, model, rules),
    )
    if verdict.replaced:
        data.golden_written = verdict.written
    run.take(verdict)


def _disagreement(result: DtoResult) -> str:
    """Where legacy and adapter disagree beyond tolerance (or break the contract), for a
    refused write; empty when they agree."""
    paths = sorted(
        {f.path or f.comparison for f in result.findings if f.comparison in _SIDE_PROBLEMS}
    )
    if not paths:
        return ""
    more = f" and {len(paths) - 10} more" if len(paths) > 10 else ""
    return ", ".join(paths[:10]) + more


def _write_bodies(
    run: CheckRun, folder: ArtifactDir, legacy: Any, adapter: Any, golden: Any
) -> None:
    # The bodies are redacted already; the message is scrubbed when the check is kept, later.
    if run.message:
        folder.write_text("diff", "dto-diff.txt", run.scrubber.text(run.message) + "\n")
    folder.write_json("legacy", "legacy.json", legacy)
    folder.write_json("adapter", "adapter.json", adapter)
    if golden is not None:
        folder.write_json("golden", "golden.json", golden)


def keep_candidate(folder: ArtifactDir, candidate: Any) -> None:
    """The golden this run would write, byte for byte as the golden extension writes it; a file
    of the check's folder, not one of its artifacts (nothing a reader of the report shows)."""
    from pytest_dualread.approve import CANDIDATE_GOLDEN
    from pytest_dualread.files import write_atomic
    from pytest_dualread.snapshots import dump_golden

    write_atomic(folder.path / CANDIDATE_GOLDEN, dump_golden(candidate))


def golden_candidate(legacy_body: Any, model: type[BaseModel] | None, rules: DiffRules) -> Any:
    """What a golden stores: legacy's body as the model dumps it, ignored fields left out."""
    from pytest_dualread.normalize import denormalize, normalize

    body = legacy_body
    if model is not None:
        try:
            body = model.model_validate(legacy_body).model_dump(mode="json", by_alias=True)
        except ValueError:
            body = legacy_body
    masked = normalize(body, DiffRules(ignore=rules.ignore))
    return denormalize(masked.value)


def headroom(result: DtoResult) -> dict[str, HeadroomStats]:
    """Per tolerance rule, the adapter-vs-legacy deltas (what threshold suggestions read)."""
    out: dict[str, HeadroomStats] = {}
    for pattern, by in result.tolerance_stats.items():
        stats = by.get("adapter_vs_legacy")
        if stats is not None:
            figures = stats.to_json()
            out[pattern] = HeadroomStats(
                count=figures.get("count", 0),
                max_delta=figures.get("max_delta"),
                max_headroom=figures.get("max_headroom"),
                deltas=figures.get("deltas", []),
            )
    return out
