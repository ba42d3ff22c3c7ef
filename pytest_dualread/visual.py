"""The visual check: capture both sides, compare each with the baseline and with each other.

Comparisons (each with the page's ``threshold`` and pixel budget, ``max_diff_pixels`` or
``max_diff_ratio`` of the image, whichever allows more, like Playwright Test):

* ``legacy_vs_baseline`` and ``adapter_vs_baseline``, when there is a baseline;
* ``adapter_vs_legacy``, always: the two read paths must render the same page.

A passing check costs one capture per side: equal PNG bytes are equal images, so the common case
never decodes a PNG. With a baseline, that capture is taken as soon as no request is in flight;
when something differs, every side is captured again until it settles
(:meth:`~pytest_dualread.capture.SideCapturer.settle`: two identical captures in a row, nothing
in flight and no request started or ended during the second), so a verdict of difference never
rests on a page still fetching its data or still drawing it. A page that asks for a quiet period
(``network_idle_s`` given) is instead taken again once its network has been quiet that long
(:meth:`~pytest_dualread.capture.SideCapturer.ready`), and settled only if it still differs.
The sides are then compared once more, this time with diff images. This module knows nothing of
pytest; the plugin records its results.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pytest_dualread.capture import CaptureOptions, NetworkWatch, Shot, SideCapturer
from pytest_dualread.imagediff import ImageDiff, compare, compare_png, decode_png, encode_png

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

__all__ = [
    "COMPARISONS",
    "PixelBudget",
    "VisualComparison",
    "VisualResult",
    "compare_images",
    "run_page_check",
    "run_snapshot_check",
]

ComparisonName = Literal["legacy_vs_baseline", "adapter_vs_baseline", "adapter_vs_legacy"]
COMPARISONS: tuple[tuple[ComparisonName, str, str], ...] = (
    ("legacy_vs_baseline", "baseline", "legacy"),
    ("adapter_vs_baseline", "baseline", "adapter"),
    ("adapter_vs_legacy", "legacy", "adapter"),
)


@dataclass(frozen=True)
class PixelBudget:
    """When two images count as the same."""

    threshold: float = 0.1
    max_diff_pixels: int = 0
    max_diff_ratio: float = 0.0
    include_aa: bool = False
    engine: str = "dualread"
    warn_diff_pixels: int | None = None
    warn_diff_ratio: float | None = None

    def allowed(self, width: int, height: int) -> int:
        return max(self.max_diff_pixels, int(self.max_diff_ratio * width * height))

    def warn_allowed(self, width: int, height: int) -> int | None:
        """Pixels that may differ without a warning, or None without a warn level."""
        if self.warn_diff_pixels is None and self.warn_diff_ratio is None:
            return None
        return max(self.warn_diff_pixels or 0, int((self.warn_diff_ratio or 0) * width * height))

    def to_json(self) -> dict[str, Any]:
        # The engine is reported beside the comparison, not as part of the budget.
        return {k: v for k, v in asdict(self).items() if k != "engine"}


@dataclass
class VisualComparison:
    name: str
    expected_role: str
    actual_role: str
    expected: bytes
    actual: bytes
    diff: ImageDiff
    allowed: int
    warn_allowed: int | None = None

    @property
    def passed(self) -> bool:
        return not self.diff.size_mismatch and self.diff.mismatch_pixels <= self.allowed

    @property
    def warned(self) -> bool:
        """Within the budget but beyond its warn level."""
        limit = self.warn_allowed
        return self.passed and limit is not None and self.diff.mismatch_pixels > limit

    def summary(self) -> str:
        d = self.diff
        if d.size_mismatch:
            (ew, eh), (aw, ah) = d.expected_size, d.actual_size
            return (
                f"{self.name}: sizes differ: {self.expected_role} {ew}x{eh}, "
                f"{self.actual_role} {aw}x{ah}; on the padded {d.width}x{d.height} "
                f"{d.mismatch_pixels} pixels differ ({d.mismatch_ratio:.4%})"
            )
        verdict = "ok" if self.passed else "differs"
        if self.warned:
            verdict = f"warning (above the warn level {self.warn_allowed})"
        return (
            f"{self.name}: {d.mismatch_pixels} of {d.width * d.height} pixels differ "
            f"({d.mismatch_ratio:.4%}), allowed {self.allowed}: {verdict}"
        )

    def to_json(self) -> dict[str, Any]:
        d = self.diff
        return {
            "name": self.name,
            "mismatch_pixels": d.mismatch_pixels,
            "mismatch_ratio": d.mismatch_ratio,
            "allowed_pixels": self.allowed,
            "warn_pixels": self.warn_allowed,
            "passed": self.passed,
            "width": d.width,
            "height": d.height,
            "size_mismatch": d.size_mismatch,
            "expected_size": list(d.expected_size),
            "actual_size": list(d.actual_size),
            "boxes": [[b.x, b.y, b.width, b.height] for b in d.boxes],
        }


class _Decoded:
    """Each PNG of a check decoded once, however many comparisons and rounds use it."""

    def __init__(self) -> None:
        self._arrays: dict[bytes, Any] = {}

    def __call__(self, png: bytes) -> Any:
        array = self._arrays.get(png)
        if array is None:
            array = self._arrays[png] = decode_png(png)
        return array


def compare_images(
    name: str,
    expected_role: str,
    actual_role: str,
    expected: bytes,
    actual: bytes,
    budget: PixelBudget,
    *,
    diff_image: bool,
    decoded: _Decoded | None = None,
) -> VisualComparison:
    options: dict[str, Any] = {
        "threshold": budget.threshold,
        "include_aa": budget.include_aa,
        "engine": budget.engine,
        "diff_image": diff_image,
    }
    if decoded is None or (expected == actual and not diff_image):
        diff = compare_png(expected, actual, **options)
    else:
        diff = compare(decoded(expected), decoded(actual), **options)
    allowed = budget.allowed(diff.width, diff.height)
    warn = budget.warn_allowed(diff.width, diff.height)
    return VisualComparison(name, expected_role, actual_role, expected, actual, diff, allowed, warn)


@dataclass
class VisualResult:
    shots: dict[str, Shot]
    comparisons: list[VisualComparison] = field(default_factory=list)
    settled: bool = False

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.comparisons)

    @property
    def captures(self) -> dict[str, int]:
        return {side: shot.captures for side, shot in self.shots.items()}

    def diff_png(self, comparison: VisualComparison) -> bytes | None:
        return encode_png(comparison.diff.diff) if comparison.diff.diff is not None else None


def _compare_all(
    shots: Mapping[str, Shot],
    baseline: bytes | None,
    budget: PixelBudget,
    *,
    diff_image: bool,
    decoded: _Decoded,
) -> list[VisualComparison]:
    images: dict[str, bytes] = {side: shot.png for side, shot in shots.items()}
    if baseline is not None:
        images["baseline"] = baseline
    return [
        compare_images(
            name, exp, act, images[exp], images[act], budget, diff_image=diff_image, decoded=decoded
        )
        for name, exp, act in COMPARISONS
        if exp in images and act in images
    ]


def run_page_check(
    new_context: Callable[..., BrowserContext],
    urls: Mapping[str, str],
    headers: Mapping[str, dict[str, str]],
    options: CaptureOptions,
    budget: PixelBudget,
    baseline: bytes | None,
    *,
    context_args: Mapping[str, Any] | None = None,
) -> VisualResult:
    """Capture ``urls`` (one per side), each in a context from ``new_context``
    (pytest-playwright's, which adds the user's ``context_args``), and compare. Raises
    CaptureError (page not loadable, unmatched required mask, never settles)."""
    capturers = {
        side: SideCapturer(
            new_context,
            side,
            url,
            options,
            headers=dict(headers.get(side, {})),
            context_args=dict(context_args or {}),
        )
        for side, url in urls.items()
    }
    try:
        decoded = _Decoded()
        early = baseline is not None
        for capturer in capturers.values():
            capturer.start()  # each page loads while the next side opens or is captured
        shots = {side: capturer.first(early=early) for side, capturer in capturers.items()}
        comparisons = _compare_all(shots, baseline, budget, diff_image=False, decoded=decoded)
        settled: set[str] = set()
        if early and not all(c.passed for c in comparisons):
            ready, settled = _when_ready(capturers, shots)
            if any(ready[side] is not shot for side, shot in shots.items()):
                shots = ready
                comparisons = _compare_all(
                    shots, baseline, budget, diff_image=False, decoded=decoded
                )
        if all(c.passed for c in comparisons):
            return VisualResult(shots, comparisons)
        involved = {
            role
            for c in comparisons
            if not c.passed
            for role in (c.expected_role, c.actual_role)
            if role in shots
        }
        for side in sorted(involved - settled):
            shots[side] = capturers[side].settle(shots[side])
        comparisons = _compare_all(shots, baseline, budget, diff_image=True, decoded=decoded)
        return VisualResult(shots, comparisons, settled=True)
    finally:
        for capturer in capturers.values():
            capturer.close()


def _when_ready(
    capturers: Mapping[str, SideCapturer], shots: Mapping[str, Shot]
) -> tuple[dict[str, Shot], set[str]]:
    """Each side's capture once it may be judged different, and the sides that settled on the
    way. By default the side is retaken until it settles (:meth:`SideCapturer.settle`). A page
    that asks for a quiet period is captured after it (:meth:`SideCapturer.ready`); an early
    and a ready capture, two in a row during which no request moved, that are identical are
    what :meth:`SideCapturer.settle` looks for, so it need not capture again."""
    ready: dict[str, Shot] = {}
    settled: set[str] = set()
    for side, shot in shots.items():
        capturer = capturers[side]
        if not capturer.options.quiet_when_different:
            ready[side] = capturer.settle(shot)
            settled.add(side)
            continue
        ready[side] = capturer.ready(shot)
        if ready[side] is not shot and ready[side].png == shot.png:
            settled.add(side)
    return ready, settled


def run_snapshot_check(
    page: Page,
    options: CaptureOptions,
    budget: PixelBudget,
    baseline: bytes | None,
    *,
    watched: NetworkWatch | None = None,
) -> VisualResult:
    """Capture an open page as it is and compare it with its baseline (no sides).
    ``watched``: a watch of the page's requests since before it navigated."""
    capturer = SideCapturer(None, "page", page.url, options, page=page, watched=watched)
    shot = capturer.first(early=baseline is not None)
    if baseline is None:
        return VisualResult({"actual": shot})

    decoded = _Decoded()

    def against(png: bytes, diff_image: bool) -> VisualComparison:
        return compare_images(
            "actual_vs_baseline",
            "baseline",
            "actual",
            baseline,
            png,
            budget,
            diff_image=diff_image,
            decoded=decoded,
        )

    first = against(shot.png, False)
    settled: set[str] = set()
    if not first.passed:
        ready, settled = _when_ready({"actual": capturer}, {"actual": shot})
        if ready["actual"] is not shot:
            shot, first = ready["actual"], against(ready["actual"].png, False)
    if first.passed:
        return VisualResult({"actual": shot}, [first])
    if not settled:
        shot = capturer.settle(shot)
    return VisualResult({"actual": shot}, [against(shot.png, True)], settled=True)
