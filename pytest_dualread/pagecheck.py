"""The visual check: capture, load the baseline, compare, judge, write artifacts, record.

The steps are those of every check (:mod:`pytest_dualread.lifecycle`); what is visual is here:
a page's :class:`~pytest_dualread.config.PageOptions` merged over ``[tool.dualread.visual]``,
the comparisons' messages and findings, the baseline's environment sidecar, and the images kept
as artifacts. Capturing is the caller's (:mod:`pytest_dualread.visual`, through the browser
pytest-playwright gives the test). Nothing here imports pytest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pytest_dualread.lifecycle import CheckContext, CheckRun, Stored, judge_stored, locate_stored
from pytest_dualread.report import ComparisonData, Finding, VisualData

if TYPE_CHECKING:
    from pytest_dualread.artifacts import ArtifactDir
    from pytest_dualread.capture import CaptureOptions
    from pytest_dualread.config import DualReadSettings, PageOptions
    from pytest_dualread.visual import PixelBudget, VisualComparison, VisualResult

__all__ = [
    "Captured",
    "PageCheck",
    "capture_options",
    "fingerprint_note",
    "pixel_budget",
    "read_sidecar",
    "run_visual",
    "sidecar",
]


@dataclass(frozen=True)
class Captured:
    """What a capture step gives."""

    result: VisualResult
    fingerprint: dict[str, Any]
    """Browser, executable, fonts, scale and viewport of the captures."""
    url: str
    """The URL captured (legacy's, for a page check)."""


# Artifact folder per comparison: the side compared with its baseline, or the pair.
_ARTIFACT_GROUP = {
    "legacy_vs_baseline": "legacy",
    "adapter_vs_baseline": "adapter",
    "actual_vs_baseline": "page",
}
_UNAVAILABLE = {"browser": "unavailable", "executable": "-"}


@dataclass(frozen=True)
class PageCheck:
    """What to check: everything but the captures."""

    id: str
    page: str
    url: str
    index: int | str
    options: PageOptions
    baseline_from: Literal["legacy", "actual"]
    """Which capture a baseline is made from: legacy's for a page check, the page's own for a
    plain visual snapshot."""
    browser: str = "chromium"
    """The browser the page renders in: its baselines are its own."""
    strip_browser_id: bool = False
    """The check runs once per ``--browser``: its baseline is named without the browser's id."""


def capture_options(settings: DualReadSettings, options: PageOptions) -> CaptureOptions:
    """How to capture: the page's options over ``[tool.dualread.visual]``."""
    from pytest_dualread.capture import CaptureOptions, masks_of

    visual = settings.visual
    return CaptureOptions(
        viewport=(visual.viewport.width, visual.viewport.height),
        device_scale_factor=visual.device_scale_factor,
        full_page=visual.full_page if options.full_page is None else options.full_page,
        mask=masks_of(visual.mask, options.mask),
        required_mask=tuple(options.mask),
        mask_color=visual.mask_color,
        navigation_timeout_s=visual.navigation_timeout_s,
        stabilize_timeout_s=visual.stabilize_timeout_s,
        network_idle_s=visual.network_idle_s
        if options.network_idle_s is None
        else options.network_idle_s,
        freeze_clock=visual.freeze_clock,
        element=options.element,
    )


def pixel_budget(settings: DualReadSettings, options: PageOptions) -> PixelBudget:
    """When two images count as the same: the page's options over ``[tool.dualread.visual]``."""
    from pytest_dualread.visual import PixelBudget

    visual = settings.visual

    def pick(own: Any, default: Any) -> Any:
        return default if own is None else own

    return PixelBudget(
        threshold=pick(options.threshold, visual.threshold),
        max_diff_pixels=pick(options.max_diff_pixels, visual.max_diff_pixels),
        max_diff_ratio=pick(options.max_diff_ratio, visual.max_diff_ratio),
        include_aa=visual.include_aa,
        engine=visual.engine,
    )


def run_visual(
    ctx: CheckContext,
    check: PageCheck,
    capture: Callable[[CaptureOptions, PixelBudget, bytes | None], Captured],
) -> None:
    """Run one visual check and record it; :class:`~pytest_dualread.lifecycle.CheckFailed`
    unless it passed. ``capture`` raises a ``DualReadError`` when the page cannot be judged."""
    __tracebackhide__ = True
    data = VisualData(page=check.page, url=check.url, fingerprint={**_UNAVAILABLE})
    run = CheckRun(ctx, check.id, data)
    run.guarded(lambda: _steps(run, data, check, capture))
    run.record()


def _steps(
    run: CheckRun,
    data: VisualData,
    check: PageCheck,
    capture: Callable[[CaptureOptions, PixelBudget, bytes | None], Captured],
) -> None:
    from pytest_dualread.errors import DualReadError
    from pytest_dualread.imagediff import engine_info
    from pytest_dualread.redact import redact_url

    ctx = run.ctx
    budget = pixel_budget(ctx.settings, check.options)
    data.budget = budget.to_json()
    data.pixel_engine = " ".join(engine_info(budget.engine))
    stored = locate_stored(
        ctx, "baseline", check.index, browser=check.browser, strip_browser_id=check.strip_browser_id
    )
    data.baseline_path = stored.rel
    baseline = stored.content if isinstance(stored.content, bytes) else None
    try:
        captured = capture(capture_options(ctx.settings, check.options), budget, baseline)
    except DualReadError as exc:
        data.error_reason = getattr(exc, "reason", None)
        raise
    result, fingerprint = captured.result, captured.fingerprint
    data.url = redact_url(captured.url, frozenset(ctx.settings.fetch.redact_params))
    data.fingerprint = fingerprint
    data.browser = f"{fingerprint['browser']} ({fingerprint['executable']})"
    note = fingerprint_note(read_sidecar(stored.path), fingerprint)
    _take_result(run, data, check, result, note)
    _judge_baseline(run, data, check, result, stored, note)
    run.write_artifacts(lambda folder: _write_images(folder, result))
    if run.artifacts.written and run.outcome == "failed":
        # What --snapshot-update would store, kept so `dualread approve` needs no re-run.
        from pytest_dualread.approve import CANDIDATE_BASELINE, CANDIDATE_SIDECAR
        from pytest_dualread.files import write_atomic

        folder = run.artifacts.path  # files of the folder, not artifacts the report shows
        write_atomic(folder / CANDIDATE_BASELINE, result.shots[check.baseline_from].png)
        write_atomic(folder / CANDIDATE_SIDECAR, sidecar_text(data.fingerprint))


def _take_result(
    run: CheckRun, data: VisualData, check: PageCheck, result: VisualResult, note: str
) -> None:
    data.captures = result.captures
    data.settled = result.settled
    data.comparisons = [ComparisonData.model_validate(c.to_json()) for c in result.comparisons]
    data.mismatch_ratio = max((c.diff.mismatch_ratio for c in result.comparisons), default=0.0)
    unmatched = sorted({m for s in result.shots.values() for m in s.unmatched_masks})
    if unmatched:
        data.unmatched_masks = unmatched
    if note:
        data.fingerprint_mismatch = note
    failing = [c for c in result.comparisons if not c.passed]
    if not failing:
        return
    lines = [
        f"{len(failing)} of {len(result.comparisons)} comparisons of page {check.page} "
        f"({data.url}) differ"
    ]
    for comparison in failing:
        lines.extend(_describe(comparison))
        run.findings.append(_finding(check.page, comparison))
    if unmatched:
        lines.append(f"  note: mask selectors that matched nothing: {unmatched}")
    if note:
        lines.append("  " + note)
    run.fail("\n".join(lines))


def _describe(comparison: VisualComparison) -> list[str]:
    lines = ["  " + comparison.summary()]
    boxes = ", ".join(f"{b.width}x{b.height} at ({b.x},{b.y})" for b in comparison.diff.boxes[:5])
    if boxes:
        lines.append(f"    where: {boxes}")
    return lines


def _finding(page: str, comparison: VisualComparison) -> Finding:
    return Finding(
        comparison=comparison.name,
        path=page,
        category="size" if comparison.diff.size_mismatch else "pixels",
        delta=comparison.diff.mismatch_ratio,
        message=comparison.summary(),
        detail=comparison.to_json(),
    )


def _judge_baseline(
    run: CheckRun,
    data: VisualData,
    check: PageCheck,
    result: VisualResult,
    stored: Stored,
    note: str,
) -> None:
    by_name = {c.name: c for c in result.comparisons}
    own = by_name.get(f"{check.baseline_from}_vs_baseline")
    pair = by_name.get("adapter_vs_legacy")
    verdict = judge_stored(
        run.ctx,
        stored,
        matches=stored.exists and own is not None and own.passed,
        disagreement="" if pair is None or pair.passed else f"page {check.page} ({pair.summary()})",
        candidate=lambda: result.shots[check.baseline_from].png,
    )
    if verdict.written or (verdict.replaced and note):
        path = sidecar(stored.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sidecar_text(data.fingerprint), encoding="utf-8")
        data.baseline_written = True
    run.take(verdict)


def _write_images(folder: ArtifactDir, result: VisualResult) -> None:
    for c in result.comparisons:
        group = _ARTIFACT_GROUP.get(c.name, c.name)
        folder.write_bytes(f"{group}.expected", f"{group}/expected.png", c.expected)
        folder.write_bytes(f"{group}.actual", f"{group}/actual.png", c.actual)
        diff_png = result.diff_png(c)
        if diff_png is not None:
            folder.write_bytes(f"{group}.diff", f"{group}/diff.png", diff_png)
    compared = {role for c in result.comparisons for role in (c.actual_role, c.expected_role)}
    for side, shot in result.shots.items():
        if side not in compared:
            folder.write_bytes(f"{side}.actual", f"{side}/actual.png", shot.png)


def fingerprint_note(stored: dict[str, Any] | None, current: dict[str, Any]) -> str:
    """How this run's environment differs from the one the baseline was made in."""
    if not stored:
        return ""
    changes = [
        f"{key}: baseline made with {stored.get(key)!r}, this run {current.get(key)!r}"
        for key in ("browser", "fonts", "device_scale_factor", "viewport")
        if stored.get(key) != current.get(key)
    ]
    return "environment changed since the baseline: " + "; ".join(changes) if changes else ""


def sidecar(baseline: Path) -> Path:
    """The file beside a baseline recording the environment it was made in."""
    return baseline.with_name(baseline.stem + ".env.json")


def sidecar_text(fingerprint: dict[str, Any]) -> str:
    """What a baseline's sidecar holds: the environment it was made in."""
    return json.dumps(fingerprint, indent=2, sort_keys=True) + "\n"


def read_sidecar(baseline: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(sidecar(baseline).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
