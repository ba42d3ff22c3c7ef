"""The check pipelines behind the ``dual_read`` fixture, collected cases and pages.

Nothing here imports pytest: the plugin builds a :class:`CheckContext` for the running test
(its settings, node id, syrupy location and ``snapshot`` assertion, and a way to record a
check), calls :func:`run_dto` or a :class:`VisualRecorder`, and turns a :class:`CheckFailed`
into a test failure. Each check ends as one plain-JSON record (the report's ``Check`` shape)
handed to ``ctx.record``.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pytest_dualread.capture import CaptureOptions
    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.dto import DtoResult
    from pytest_dualread.fetch import ResponsePair
    from pytest_dualread.normalize import DiffRules
    from pytest_dualread.visual import PixelBudget, VisualResult

__all__ = [
    "CheckContext",
    "CheckFailed",
    "VisualRecorder",
    "budget",
    "cap",
    "fingerprint_note",
    "global_rules",
    "golden_candidate",
    "headroom",
    "read_sidecar",
    "record_error",
    "redact_finding",
    "rules_from",
    "rules_of",
    "run_dto",
    "side_headers",
    "sidecar",
    "visual_options",
]


class CheckFailed(Exception):
    """A check failed or errored; ``message`` is its report for people (already recorded)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class CheckContext:
    """What a check needs from the running test."""

    settings: DualReadSettings
    rootdir: Path
    nodeid: str
    update: bool
    """``--snapshot-update`` was given."""
    location: Any
    """syrupy's ``PyTestLocation`` of the test (where its goldens and baselines live)."""
    snapshot: Callable[[], Any]
    """Returns the test's syrupy ``snapshot`` assertion."""
    record: Callable[[dict[str, Any]], None]
    """Records one finished check (a plain-JSON ``Check``)."""


_RULES_OF: dict[int, tuple[object, DiffRules]] = {}


def rules_of(owner: object, make: Callable[[], DiffRules]) -> DiffRules:
    """``make()``, built once per ``owner`` (the settings, a case file), not once per check."""
    hit = _RULES_OF.get(id(owner))
    if hit is not None and hit[0] is owner:
        return hit[1]
    if len(_RULES_OF) >= 64:
        _RULES_OF.clear()
    rules = make()
    _RULES_OF[id(owner)] = (owner, rules)  # the owner is kept, so its id is not reused
    return rules


def global_rules(settings: DualReadSettings) -> DiffRules:
    dto = settings.dto
    return rules_of(
        settings, lambda: rules_from(dto.tolerances, dto.ignore, dto.list_keys, dto.coerce_numbers)
    )


def record_error(
    ctx: CheckContext,
    check_id: str,
    exc: Exception,
    extra: dict[str, Any],
    *,
    started: float,
    kind: str = "dto",
) -> NoReturn:
    """Record ``check_id`` as an error check and raise :class:`CheckFailed`."""
    __tracebackhide__ = True
    message = f"{type(exc).__name__}: {exc}"
    ctx.record(
        {
            "id": check_id,
            "nodeid": ctx.nodeid,
            "kind": kind,
            "outcome": "error",
            "duration_s": round(time.perf_counter() - started, 6),
            "message": message,
            "data": extra,
        }
    )
    raise CheckFailed(f"dual-read error: {message}")


def rules_from(
    tolerances: Mapping[str, Any] | None,
    ignore: Sequence[str] | None,
    list_keys: Mapping[str, str] | None,
    coerce_numbers: Sequence[str] | None,
) -> DiffRules:
    from pytest_dualread.normalize import DiffRules

    return DiffRules(
        ignore=tuple(ignore or ()),
        list_keys=dict(list_keys or {}),
        tolerances={
            k: (v.model_dump(exclude_none=True) if hasattr(v, "model_dump") else v)
            for k, v in (tolerances or {}).items()
        },
        coerce_numbers=tuple(coerce_numbers or ()),
    )


def redact_finding(finding: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    from pytest_dualread.fetch import REDACTED

    last = finding.get("path", "").rsplit(".", 1)[-1].split("[", 1)[0]
    if last in fields:
        finding["values"] = dict.fromkeys(finding.get("values", {}), REDACTED)
    return finding


def run_dto(
    ctx: CheckContext,
    fetch: Callable[..., ResponsePair],
    *,
    check_id: str,
    target: ResponsePair | str,
    model: type[BaseModel] | None,
    golden: bool,
    golden_index: int | str,
    local_rules: DiffRules,
    fetch_kwargs: dict[str, Any],
    request_info: dict[str, Any] | None,
    extra: dict[str, Any],
) -> DtoResult:
    __tracebackhide__ = True
    from pytest_dualread.artifacts import ArtifactDir, keep_artifacts
    from pytest_dualread.dto import compare_dto
    from pytest_dualread.errors import DualReadError
    from pytest_dualread.fetch import redact_json
    from pytest_dualread.snapshots import (
        StoredText,
        golden_extension,
        judging,
        parse_golden,
        read_golden_text,
    )

    started = time.perf_counter()
    data: dict[str, Any] = {**extra}
    if request_info is not None:
        data["request"] = request_info
    redact_fields = frozenset(ctx.settings.fetch.redact_fields)
    rootdir = ctx.rootdir
    try:
        rules = local_rules.merged_over(global_rules(ctx.settings))
    except ValueError as exc:
        record_error(ctx, check_id, exc, data, started=started)
    try:
        pair = target if not isinstance(target, str) else fetch(target, **fetch_kwargs)
        legacy_body = pair.legacy.json()
        adapter_body = pair.adapter.json()
        data["urls"] = {"legacy": pair.legacy.url, "adapter": pair.adapter.url}
        golden_path: Path | None = None
        golden_text: str | None = None
        golden_body: Any = None
        if golden:
            snapshot_dir = ctx.settings.snapshot_dir
            root = snapshot_dir if snapshot_dir.is_absolute() else rootdir / snapshot_dir
            ext = golden_extension(root)
            location = ctx.location
            golden_path = Path(ext.get_location(test_location=location, index=golden_index))
            data["golden_path"] = os.path.relpath(golden_path, rootdir)
            golden_text = read_golden_text(golden_path)
            if golden_text is not None:
                golden_body = parse_golden(golden_text, golden_path)
    except DualReadError as exc:
        record_error(ctx, check_id, exc, data, started=started)
    result = compare_dto(legacy_body, adapter_body, golden_body, model=model, rules=rules)
    data.update(result.to_data())
    data["headroom"] = headroom(result)
    outcome = "passed" if result.passed else "failed"
    message = "" if result.passed else result.failure_text()
    if golden and golden_path is not None:
        legacy_matches_golden = golden_body is not None and not any(
            f.comparison == "legacy_vs_golden" for f in result.findings
        )
        side_problems = [
            f for f in result.findings if f.comparison in ("adapter_vs_legacy", "legacy", "adapter")
        ]
        snapshot = ctx.snapshot()
        rel = data["golden_path"]
        judged = functools.partial(
            judging, legacy_matches_golden, stored_at=golden_path, stored=golden_text
        )
        if ctx.update:
            if side_problems:
                outcome = "failed"
                paths = sorted({f.path or f.comparison for f in side_problems})
                message = (
                    f"refusing to write the golden {rel}: legacy and adapter disagree beyond "
                    f"tolerance at {', '.join(paths[:10])}"
                    + (f" and {len(paths) - 10} more" if len(paths) > 10 else "")
                    + "\n"
                    + result.failure_text()
                )
            else:
                candidate = golden_candidate(legacy_body, model, rules)
                with judged():
                    snapshot(extension_class=ext, name=golden_index or None) == candidate  # noqa: B015
                data["golden_written"] = not legacy_matches_golden
                outcome, message = "passed", ""
        else:
            # Nothing is written: syrupy only learns the golden was used and whether it held.
            with judged():
                stored = StoredText(golden_text or "")
                snapshot(extension_class=ext, name=golden_index or None) == stored  # noqa: B015
            if golden_body is None:
                outcome = "failed"
                message = (
                    f"no golden at {rel}: run `pytest --dual-read --snapshot-update` to create "
                    "it from the legacy response"
                    + ("" if result.passed else "\n" + result.failure_text())
                )
    findings = [redact_finding(f, redact_fields) for f in result.to_findings_json()]
    artifacts = ArtifactDir(ctx.settings.output_path(ctx.rootdir), check_id)
    if keep_artifacts(ctx.settings.artifacts, outcome):
        if message:
            artifacts.write_text("diff", "dto-diff.txt", message + "\n")
        artifacts.write_json("legacy", "legacy.json", redact_json(legacy_body, redact_fields))
        artifacts.write_json("adapter", "adapter.json", redact_json(adapter_body, redact_fields))
        if golden_body is not None:
            artifacts.write_json("golden", "golden.json", redact_json(golden_body, redact_fields))
    else:
        artifacts.discard()
    record = {
        "id": check_id,
        "nodeid": ctx.nodeid,
        "kind": "dto",
        "outcome": outcome,
        "duration_s": round(time.perf_counter() - started, 6),
        "message": cap(message),
        "findings": findings[:500],
        "artifacts": artifacts.written,
        "data": data,
    }
    ctx.record(record)
    if outcome != "passed":
        where = ""
        if artifacts.written:
            where = f"\nartifacts: {artifacts.path}"
        raise CheckFailed(f"{message}{where}")
    return result


def side_headers(settings: DualReadSettings, side: str) -> dict[str, str]:
    """The headers a side's browser context sends: its headers, cookies and credentials
    (the same a DTO fetch of that side sends; query ``params`` apply to DTO fetches only)."""
    import base64

    side_settings = getattr(settings, side)
    headers = dict(side_settings.headers)
    if side_settings.cookies:
        headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in side_settings.cookies.items())
    if side_settings.bearer_token:
        headers["Authorization"] = f"Bearer {side_settings.bearer_token}"
    elif side_settings.basic_auth:
        user, password = side_settings.basic_auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        headers["Authorization"] = f"Basic {token}"
    return headers


def cap(text: str, limit: int = 8000) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def golden_candidate(legacy_body: Any, model: type[BaseModel] | None, rules: DiffRules) -> Any:
    """What a golden stores: legacy's body as the model dumps it, ignored fields left out."""
    from pytest_dualread.normalize import DiffRules, denormalize, normalize

    body = legacy_body
    if model is not None:
        try:
            body = model.model_validate(legacy_body).model_dump(mode="json", by_alias=True)
        except ValueError:
            body = legacy_body
    masked = normalize(body, DiffRules(ignore=rules.ignore))
    return denormalize(masked.value)


def headroom(result: DtoResult) -> dict[str, Any]:
    """Per tolerance rule, the adapter-vs-legacy deltas (what threshold suggestions read)."""
    out: dict[str, Any] = {}
    for pattern, by in result.tolerance_stats.items():
        stats = by.get("adapter_vs_legacy")
        if stats is not None:
            data = stats.to_json()
            out[pattern] = {
                "count": data.get("count", 0),
                "max_delta": data.get("max_delta"),
                "max_headroom": data.get("max_headroom"),
                "deltas": data.get("deltas", []),
            }
    return out


def visual_options(
    settings: DualReadSettings,
    *,
    mask: Sequence[str] = (),
    full_page: bool | None = None,
    element: str | None = None,
) -> CaptureOptions:
    from pytest_dualread.capture import CaptureOptions, masks_of

    visual = settings.visual
    return CaptureOptions(
        viewport=(visual.viewport.width, visual.viewport.height),
        device_scale_factor=visual.device_scale_factor,
        full_page=visual.full_page if full_page is None else full_page,
        mask=masks_of(visual.mask, mask),
        required_mask=tuple(mask),
        mask_color=visual.mask_color,
        navigation_timeout_s=visual.navigation_timeout_s,
        stabilize_timeout_s=visual.stabilize_timeout_s,
        freeze_clock=visual.freeze_clock,
        element=element,
    )


def budget(
    settings: DualReadSettings,
    threshold: float | None,
    max_diff_pixels: int | None,
    max_diff_ratio: float | None,
) -> PixelBudget:
    from pytest_dualread.visual import PixelBudget

    visual = settings.visual
    return PixelBudget(
        threshold=visual.threshold if threshold is None else threshold,
        max_diff_pixels=visual.max_diff_pixels if max_diff_pixels is None else max_diff_pixels,
        max_diff_ratio=visual.max_diff_ratio if max_diff_ratio is None else max_diff_ratio,
        include_aa=visual.include_aa,
        engine=visual.engine,
    )


def fingerprint_note(stored: dict[str, Any] | None, current: dict[str, Any]) -> str:
    if not stored:
        return ""
    changes = [
        f"{key}: baseline made with {stored.get(key)!r}, this run {current.get(key)!r}"
        for key in ("browser", "fonts", "device_scale_factor", "viewport")
        if stored.get(key) != current.get(key)
    ]
    return "environment changed since the baseline: " + "; ".join(changes) if changes else ""


def sidecar(baseline: Path) -> Path:
    return baseline.with_name(baseline.stem + ".env.json")


def read_sidecar(baseline: Path) -> dict[str, Any] | None:
    import json

    try:
        data = json.loads(sidecar(baseline).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# Artifact folder per comparison: the side compared with its baseline, or the pair.
_ARTIFACT_GROUP = {
    "legacy_vs_baseline": "legacy",
    "adapter_vs_baseline": "adapter",
    "actual_vs_baseline": "page",
}


class VisualRecorder:
    """Shared by page checks and visual snapshots: baselines, artifacts, the check record."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.settings = ctx.settings

    def baseline_path(
        self, index: int | str, *, browser: str = "chromium", strip_browser_id: bool = False
    ) -> tuple[type[Any], Path]:
        """The baseline extension class and file of this check in ``browser`` (see
        :func:`~pytest_dualread.snapshots.baseline_extension`)."""
        from pytest_dualread.snapshots import baseline_extension

        snapshot_dir = self.settings.snapshot_dir
        root = snapshot_dir if snapshot_dir.is_absolute() else self.ctx.rootdir / snapshot_dir
        ext = baseline_extension(root, browser, strip_browser_id)
        location = self.ctx.location
        return ext, Path(ext.get_location(test_location=location, index=index))

    def finish(
        self,
        *,
        check_id: str,
        page_name: str,
        url: str,
        result: VisualResult | None,
        error: Exception | None,
        baseline_file: Path,
        baseline: bytes | None,
        write_baseline: bytes | None,
        ext: type[Any],
        index: int | str,
        fingerprint: dict[str, Any],
        budget: PixelBudget,
        started: float,
    ) -> None:
        __tracebackhide__ = True
        import json

        from pytest_dualread.artifacts import ArtifactDir, keep_artifacts
        from pytest_dualread.imagediff import engine_info
        from pytest_dualread.snapshots import judging

        rootdir = self.ctx.rootdir
        rel_baseline = os.path.relpath(baseline_file, rootdir)
        engine = " ".join(engine_info(budget.engine))
        data: dict[str, Any] = {
            "page": page_name,
            "url": url,
            "baseline_path": rel_baseline,
            "budget": budget.to_json(),
            "fingerprint": fingerprint,
            "browser": f"{fingerprint['browser']} ({fingerprint['executable']})",
            "pixel_engine": engine,
        }
        findings: list[dict[str, Any]] = []
        artifacts = ArtifactDir(self.settings.output_path(rootdir), check_id)
        update = self.ctx.update
        messages: list[str] = []
        if error is not None:
            outcome = "error"
            reason = getattr(error, "reason", None)
            data["error_reason"] = reason
            messages.append(f"{type(error).__name__}: {error}")
        else:
            assert result is not None
            outcome = "passed" if result.passed else "failed"
            data["captures"] = result.captures
            data["settled"] = result.settled
            data["comparisons"] = [c.to_json() for c in result.comparisons]
            data["mismatch_ratio"] = max(
                (c.diff.mismatch_ratio for c in result.comparisons), default=0.0
            )
            unmatched = sorted({m for s in result.shots.values() for m in s.unmatched_masks})
            if unmatched:
                data["unmatched_masks"] = unmatched
            failing = [c for c in result.comparisons if not c.passed]
            if failing:
                messages.append(
                    f"{len(failing)} of {len(result.comparisons)} comparisons of page "
                    f"{page_name} ({url}) differ"
                )
            for c in result.comparisons:
                if not c.passed:
                    messages.append("  " + c.summary())
                    boxes = ", ".join(
                        f"{b.width}x{b.height} at ({b.x},{b.y})" for b in c.diff.boxes[:5]
                    )
                    if boxes:
                        messages.append(f"    where: {boxes}")
                    findings.append(
                        {
                            "comparison": c.name,
                            "path": page_name,
                            "category": "size" if c.diff.size_mismatch else "pixels",
                            "delta": c.diff.mismatch_ratio,
                            "message": c.summary(),
                            "detail": c.to_json(),
                        }
                    )
            if unmatched and failing:
                messages.append(f"  note: mask selectors that matched nothing: {unmatched}")
            note = fingerprint_note(read_sidecar(baseline_file), fingerprint)
            if note:
                data["fingerprint_mismatch"] = note
                if failing:
                    messages.append("  " + note)
            if write_baseline is not None:
                snapshot = self.ctx.snapshot()
                legacy_matches = baseline is not None and all(
                    c.passed
                    for c in result.comparisons
                    if c.expected_role == "baseline" and c.actual_role in ("legacy", "actual")
                )
                with judging(legacy_matches, stored_at=baseline_file, stored=baseline):
                    snapshot(extension_class=ext, name=index or None) == write_baseline  # noqa: B015
                if not legacy_matches or note:
                    sidecar(baseline_file).parent.mkdir(parents=True, exist_ok=True)
                    sidecar(baseline_file).write_text(
                        json.dumps(fingerprint, indent=2, sort_keys=True) + "\n", encoding="utf-8"
                    )
                    data["baseline_written"] = True
                if outcome == "failed" and all(c.name != "adapter_vs_legacy" for c in failing):
                    outcome, messages = "passed", []  # only the stale baseline differed
            elif baseline is None:
                outcome = "failed"
                messages.insert(
                    0,
                    f"no baseline at {rel_baseline}: run `pytest --dual-read --snapshot-update` "
                    "to create it from the legacy render",
                )
                if not update:
                    snapshot = self.ctx.snapshot()
                    with judging(False, stored_at=baseline_file, stored=None):
                        snapshot(extension_class=ext, name=index or None) == b""  # noqa: B015
            else:
                snapshot = self.ctx.snapshot()
                legacy_ok = all(
                    c.passed for c in result.comparisons if c.name.endswith("_vs_baseline")
                )
                with judging(legacy_ok, stored_at=baseline_file, stored=baseline):
                    snapshot(extension_class=ext, name=index or None) == baseline  # noqa: B015
            if keep_artifacts(self.settings.artifacts, outcome):
                for c in result.comparisons:
                    group = _ARTIFACT_GROUP.get(c.name, c.name)
                    artifacts.write_bytes(f"{group}.expected", f"{group}/expected.png", c.expected)
                    artifacts.write_bytes(f"{group}.actual", f"{group}/actual.png", c.actual)
                    diff_png = result.diff_png(c)
                    if diff_png is not None:
                        artifacts.write_bytes(f"{group}.diff", f"{group}/diff.png", diff_png)
                for side, shot in result.shots.items():
                    if not any(
                        c.actual_role == side or c.expected_role == side for c in result.comparisons
                    ):
                        artifacts.write_bytes(f"{side}.actual", f"{side}/actual.png", shot.png)
            else:
                artifacts.discard()
        message = "\n".join(messages)
        record = {
            "id": check_id,
            "nodeid": self.ctx.nodeid,
            "kind": "visual",
            "outcome": outcome,
            "duration_s": round(time.perf_counter() - started, 6),
            "message": cap(message),
            "findings": findings,
            "artifacts": artifacts.written,
            "data": data,
        }
        self.ctx.record(record)
        if outcome != "passed":
            where = f"\nartifacts: {artifacts.path}" if artifacts.written else ""
            raise CheckFailed(f"{message}{where}")
