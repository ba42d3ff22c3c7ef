"""The visual check: capture, load the baseline, compare, judge, write artifacts, record.

The steps are those of every check (:mod:`pytest_dualread.lifecycle`); what is visual is here:
a page's :class:`~pytest_dualread.config.PageOptions` merged over ``[tool.dualread.visual]``,
the comparisons' messages and findings, the baseline's environment sidecar, and the images kept
as artifacts. Capturing is the caller's (:mod:`pytest_dualread.visual`, through the browser
pytest-playwright gives the test). Nothing here imports pytest.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pytest_dualread.config import check_warn_budget
from pytest_dualread.lifecycle import CheckContext, CheckRun, Stored, judge_stored, locate_stored
from pytest_dualread.report import ComparisonData, Finding, Triage, VisualData

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
    "stale_baseline_hint",
    "style_text",
    "visual_triage",
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


def capture_options(
    settings: DualReadSettings, options: PageOptions, *, root: Path | None = None, page: str = ""
) -> CaptureOptions:
    """How to capture: the page's options over ``[tool.dualread.visual]``. ``root``: the folder
    a ``style`` file is relative to (pyproject.toml's); ``page`` names the page in errors."""
    from pytest_dualread.capture import CaptureOptions, masks_of

    visual = settings.visual
    viewport = options.viewport or visual.viewport
    clip = options.clip
    return CaptureOptions(
        viewport=(viewport.width, viewport.height),
        viewport_pinned=options.viewport is not None,
        hide=tuple(options.hide),
        style=style_text(options.style, root or Path.cwd(), page),
        clip=None if clip is None else (clip.x, clip.y, clip.width, clip.height),
        wait_until=options.wait_until or "load",
        wait_for=options.wait_for,
        wait_for_function=options.wait_for_function,
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
        # A quiet period someone asked for also holds back a verdict of difference; the
        # default one only a new baseline (a differing capture is retaken until it settles).
        quiet_when_different=options.network_idle_s is not None
        or "network_idle_s" in visual.model_fields_set,
        freeze_clock=visual.freeze_clock,
        element=options.element,
    )


def style_text(style: str | None, root: Path, page: str) -> str | None:
    """The CSS of a ``style`` option: the text as given, or the ``.css`` file it names
    (relative to ``root``). A file that cannot be read is a ``ConfigError`` naming it."""
    from pytest_dualread.errors import ConfigError

    if style is None or "{" in style or not style.strip().lower().endswith(".css"):
        return style
    path = root / style.strip()
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise ConfigError(
            f"page {page!r} option 'style': cannot read the CSS file {path}: {why}"
        ) from None


def pixel_budget(settings: DualReadSettings, options: PageOptions) -> PixelBudget:
    """When two images count as the same: the page's options over ``[tool.dualread.visual]``."""
    from pytest_dualread.visual import PixelBudget

    visual = settings.visual

    def pick(own: Any, default: Any) -> Any:
        return default if own is None else own

    budget = PixelBudget(
        threshold=pick(options.threshold, visual.threshold),
        max_diff_pixels=pick(options.max_diff_pixels, visual.max_diff_pixels),
        max_diff_ratio=pick(options.max_diff_ratio, visual.max_diff_ratio),
        include_aa=visual.include_aa,
        engine=visual.engine,
        warn_diff_pixels=pick(options.warn_diff_pixels, visual.warn_diff_pixels),
        warn_diff_ratio=pick(options.warn_diff_ratio, visual.warn_diff_ratio),
    )
    # A page's own budget may lower the fail level under the global warn level.
    check_warn_budget(budget, "page options")
    return budget


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
        options = capture_options(ctx.settings, check.options, root=ctx.rootdir, page=check.page)
        captured = capture(options, budget, baseline)
    except DualReadError as exc:
        data.error_reason = getattr(exc, "reason", None)
        raise
    result, fingerprint = captured.result, captured.fingerprint
    data.url = redact_url(captured.url, frozenset(ctx.settings.fetch.redact_params))
    data.fingerprint = fingerprint
    data.browser = f"{fingerprint['browser']} ({fingerprint['executable']})"
    own = next(
        (c for c in result.comparisons if c.name == f"{check.baseline_from}_vs_baseline"), None
    )
    # A changed environment explains a difference only where legacy (the page itself, for a
    # snapshot) differs from its baseline; elsewhere naming it would mislead.
    note = (
        fingerprint_note(read_sidecar(stored.path), fingerprint) if own and not own.passed else ""
    )
    _take_result(run, data, check, result, note)
    _judge_baseline(run, data, check, result, stored)
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
    run.findings.extend(
        _finding(check.page, c, level="warn") for c in result.comparisons if c.warned
    )
    failing = [c for c in result.comparisons if not c.passed]
    if not failing:
        return
    lines = [
        f"{len(failing)} of {len(result.comparisons)} comparisons of page {check.page} "
        f"({data.url}) differ"
    ]
    triage = visual_triage({c.name: c.passed for c in result.comparisons})
    for comparison in failing:
        lines.extend(_describe(comparison))
        run.findings.append(_finding(check.page, comparison, triage))
    if triage == "upstream_drift":
        lines.append("  " + stale_baseline_hint(run.ctx.nodeid))
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


def _finding(
    page: str, comparison: VisualComparison, triage: Triage | None = None, level: str = "fail"
) -> Finding:
    return Finding(
        level=level,
        comparison=comparison.name,
        path=page,
        category="size" if comparison.diff.size_mismatch else "pixels",
        delta=comparison.diff.mismatch_ratio,
        triage=triage,
        message=comparison.summary(),
        detail=comparison.to_json(),
    )


def visual_triage(passed: Mapping[str, bool]) -> Triage | None:
    """Who is likely at fault, from which comparisons passed (by name), as for DTO checks:
    adapter unlike legacy is ``adapter_regression``; legacy like adapter but both unlike the
    baseline is ``upstream_drift`` (the baseline is stale); only legacy unlike the baseline is
    ``legacy_drift``. A plain snapshot has no sides to tell apart: ``None``."""
    if "adapter_vs_legacy" not in passed:
        return None
    legacy_ok = passed.get("legacy_vs_baseline", True)
    adapter_ok = passed.get("adapter_vs_baseline", True)
    if not passed["adapter_vs_legacy"] or legacy_ok:
        return "adapter_regression"
    return "legacy_drift" if adapter_ok else "upstream_drift"


def stale_baseline_hint(nodeid: str) -> str:
    """What a stale baseline's failure says: why, and the command that refreshes it."""
    import shlex

    return (
        "the baseline is stale: legacy and adapter render the same page, which differs from "
        "the baseline (upstream_drift, not blocking); refresh it with "
        f"`pytest --dual-read --snapshot-update {shlex.quote(nodeid)}`"
    )


def _judge_baseline(
    run: CheckRun,
    data: VisualData,
    check: PageCheck,
    result: VisualResult,
    stored: Stored,
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
    path = sidecar(stored.path)
    # The sidecar describes the pixels stored: rewritten with them, never on its own (an
    # update after a browser patch that changed no pixel leaves every file as it was).
    if verdict.written or (verdict.replaced and not path.exists()):
        from pytest_dualread.files import write_atomic

        write_atomic(path, sidecar_text(data.fingerprint))
    if verdict.written:
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
