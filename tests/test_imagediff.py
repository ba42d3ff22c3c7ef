"""The pixel engine (pytest_dualread.imagediff) against its references.

pixelmatch 7.2.0 (npm) is the reference: counts and diff images must match it exactly. The
PyPI ``pixelmatch`` port follows the same algorithm but blends semi-transparent pixels over
white only, so it is compared with ``checkerboard=False``. Tests that run the JS reference
need ``node`` (skipped without it) and ``benchmarks/js/node_modules`` (installed on demand).

Recorded counts of the rendered screenshots live in ``imagediff_data/expected.json``; run
with ``REGENERATE_PIXEL_GOLDENS=1`` (and node) to rewrite them from pixelmatch JS.
"""

from __future__ import annotations

import functools
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from pixelmatch import pixelmatch as pixelmatch_py

from pytest_dualread import imagediff
from pytest_dualread.imagediff import Box, ImageDiff, compare, compare_png, decode_png, encode_png

U8 = npt.NDArray[np.uint8]
ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).with_name("imagediff_data")
JS_DIR = ROOT / "benchmarks" / "js"
REGENERATE = os.environ.get("REGENERATE_PIXEL_GOLDENS") == "1"

THRESHOLDS = (0.0, 0.05, 0.1, 0.5)


# --------------------------------------------------------------------------- generated pairs


def _opaque(a: U8) -> U8:
    a[..., 3] = 255
    return a


def pair_noise(rng: np.random.Generator, h: int, w: int) -> tuple[U8, U8]:
    a = _opaque(rng.integers(0, 256, (h, w, 4), dtype=np.uint8))
    b = a.copy()
    hit = rng.random((h, w)) < 0.3
    b[hit, :3] = rng.integers(0, 256, (int(hit.sum()), 3), dtype=np.uint8)
    return a, b


def pair_text(rng: np.random.Generator, h: int, w: int) -> tuple[U8, U8]:
    """Dark glyph-like strokes with anti-aliased edges on white; b moves and recolours some."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=max(10, h // 3))
    pages = []
    for text, colour in (("Ag 42$", (31, 41, 51)), ("Ag 43$", (220, 38, 38))):
        im = Image.new("RGBA", (w, h), (255, 255, 255, 255))
        ImageDraw.Draw(im).text((2, 1), text, fill=(*colour, 255), font=font)
        pages.append(np.asarray(im).copy())
    return pages[0], pages[1]


def pair_gradient(rng: np.random.Generator, h: int, w: int) -> tuple[U8, U8]:
    yy, xx = np.mgrid[:h, :w]
    a = np.stack(
        [xx * 255 // max(w - 1, 1), yy * 255 // max(h - 1, 1), (xx + yy) % 256, xx * 0 + 255], -1
    ).astype(np.uint8)
    b = a.copy()
    b[..., 0] = np.clip(a[..., 0].astype(int) + rng.integers(-12, 13, (h, w)), 0, 255)
    return a, b


def pair_shift(rng: np.random.Generator, h: int, w: int) -> tuple[U8, U8]:
    """An anti-aliased ring, and the same ring one pixel to the right."""
    yy, xx = np.mgrid[:h, :w]
    r = np.hypot(yy - h / 2, xx - w / 2)
    v = np.clip((r - min(h, w) / 4) * 60 + 128, 0, 255).astype(np.uint8)
    a = np.full((h, w, 4), 255, np.uint8)
    a[..., 0] = a[..., 1] = a[..., 2] = v
    return a, np.roll(a, 1, axis=1)


def pair_blocks(rng: np.random.Generator, h: int, w: int) -> tuple[U8, U8]:
    """Flat 4x4 tiles (many equal siblings), a few dots and a darkened rectangle."""
    tiles = rng.integers(0, 256, (h // 4 + 1, w // 4 + 1, 4), dtype=np.uint8)
    a = _opaque(np.repeat(np.repeat(tiles, 4, 0), 4, 1)[:h, :w].copy())
    b = a.copy()
    ys, xs = rng.integers(0, h, 12), rng.integers(0, w, 12)
    b[ys, xs, :3] = rng.integers(0, 256, (12, 3), dtype=np.uint8)
    b[h // 3 : h // 2, w // 3 : w // 2, :3] //= 2
    return a, b


def pair_alpha(rng: np.random.Generator, h: int, w: int) -> tuple[U8, U8]:
    """Semi-transparent pixels (alpha 0, 1, 128, 254, 255) on both sides."""
    a = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    a[..., 3] = rng.choice(np.array([0, 1, 128, 254, 255], np.uint8), (h, w))
    b = a.copy()
    hit = rng.random((h, w)) < 0.4
    b[hit] = rng.integers(0, 256, (int(hit.sum()), 4), dtype=np.uint8)
    b[..., 3][rng.random((h, w)) < 0.2] = 255
    return a, b


def pair_fade(rng: np.random.Generator, h: int, w: int) -> tuple[U8, U8]:
    """Anti-aliased shapes drawn with transparency over a transparent background."""
    a, b = pair_shift(rng, h, w)
    a[..., 3] = 255 - a[..., 0]
    b[..., 3] = 255 - b[..., 0]
    return a, b


PAIRS: dict[str, Callable[[np.random.Generator, int, int], tuple[U8, U8]]] = {
    "noise": pair_noise,
    "text": pair_text,
    "gradient": pair_gradient,
    "shift": pair_shift,
    "blocks": pair_blocks,
    "alpha": pair_alpha,
    "fade": pair_fade,
}
SIZES = ((1, 9), (7, 1), (24, 31), (40, 48))


def generated(kind: str, size: tuple[int, int]) -> tuple[U8, U8]:
    seed = sorted(PAIRS).index(kind) * 100 + size[0] * 7 + size[1]
    return PAIRS[kind](np.random.default_rng(seed), *size)


def count_py(a: U8, b: U8, threshold: float, include_aa: bool) -> int:
    h, w = a.shape[:2]
    return int(
        pixelmatch_py(a.tobytes(), b.tobytes(), w, h, threshold=threshold, includeAA=include_aa)
    )


# --------------------------------------------------------------------------- PyPI parity


@pytest.mark.parametrize("size", SIZES[2:], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("kind", sorted(PAIRS))
def test_counts_equal_the_pypi_port(kind: str, size: tuple[int, int]) -> None:
    a, b = generated(kind, size)
    for threshold in THRESHOLDS:
        for include_aa in (False, True):
            want = count_py(a, b, threshold, include_aa)
            got = compare(
                a, b, threshold=threshold, include_aa=include_aa, checkerboard=False
            ).mismatch_pixels
            assert got == want, (threshold, include_aa)


@pytest.mark.parametrize("size", SIZES[:2], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("kind", ["noise", "shift", "alpha"])
def test_one_pixel_wide_frames_equal_the_pypi_port(kind: str, size: tuple[int, int]) -> None:
    a, b = generated(kind, size)
    for threshold in THRESHOLDS:
        want = count_py(a, b, threshold, False)
        assert compare(a, b, threshold=threshold, checkerboard=False).mismatch_pixels == want


def test_pixelmatch_py_engine_reports_the_port() -> None:
    a, b = generated("shift", (24, 31))
    ours = compare(a, b, diff_image=True, checkerboard=False)
    theirs = compare(a, b, diff_image=True, engine="pixelmatch-py")
    assert theirs.engine == "pixelmatch-py"
    assert theirs.engine_version == imagediff.engine_info("pixelmatch-py")[1]
    assert theirs.mismatch_pixels == ours.mismatch_pixels > 0
    assert theirs.boxes == ours.boxes
    assert theirs.diff is not None
    assert theirs.diff.shape == (24, 31, 4)
    mask = compare(a, b, diff_image=True, diff_mask=True, engine="pixelmatch-py")
    assert mask.diff is not None
    assert int((mask.diff[..., 3] == 255).sum()) == ours.mismatch_pixels
    with pytest.raises(ValueError, match="diff_color_alt"):
        compare(a, b, engine="pixelmatch-py", diff_color_alt=(0, 255, 0))


# --------------------------------------------------------------------------- pixelmatch JS

# Reads raw RGBA cases, runs pixelmatch 7.2.0 on each and prints the counts as JSON.
JS_RUNNER = """
import fs from 'fs';
import {pathToFileURL} from 'url';
const [entry, jobsPath] = process.argv.slice(2);
const pixelmatch = (await import(pathToFileURL(entry).href)).default;
const counts = [];
for (const job of JSON.parse(fs.readFileSync(jobsPath, 'utf8'))) {
    const a = new Uint8Array(fs.readFileSync(job.a));
    const b = new Uint8Array(fs.readFileSync(job.b));
    const out = job.out ? new Uint8Array(a.length) : null;
    counts.push(pixelmatch(a, b, out, job.width, job.height, job.options));
    if (out) fs.writeFileSync(job.out, out);
}
process.stdout.write(JSON.stringify(counts));
"""


def pixelmatch_js_entry() -> Path:
    """benchmarks/js/node_modules/pixelmatch/index.js, installing it when node is present."""
    if shutil.which("node") is None:
        pytest.skip("node is not on PATH: the pixelmatch JS 7.2.0 reference cannot run")
    entry = JS_DIR / "node_modules" / "pixelmatch" / "index.js"
    if not entry.exists():
        how = f"npm install --prefix {JS_DIR} --no-audit --no-fund"
        npm = shutil.which("npm")
        if npm is None:
            pytest.fail(f"pixelmatch JS is not installed and npm is missing; run: {how}")
        done = subprocess.run(
            [npm, "install", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0 or not entry.exists():
            pytest.fail(f"could not install pixelmatch JS ({done.stderr.strip()}); run: {how}")
    return entry


class JsCase:
    """One pixelmatch call: two images, pixelmatch options, and whether to keep the output."""

    def __init__(self, a: U8, b: U8, options: dict[str, Any], diff: bool = False) -> None:
        self.a, self.b, self.options, self.diff = a, b, options, diff
        self.count: int | None = None
        self.output: U8 | None = None


def run_pixelmatch_js(cases: list[JsCase], scratch: Path) -> None:
    """Run all cases through pixelmatch JS in one node process; fills count / output."""
    entry = pixelmatch_js_entry()
    scratch.mkdir(parents=True, exist_ok=True)
    runner = scratch / "runner.mjs"
    runner.write_text(JS_RUNNER)
    jobs = []
    for i, case in enumerate(cases):
        h, w = case.a.shape[:2]
        job: dict[str, Any] = {"width": w, "height": h, "options": case.options}
        for side, image in (("a", case.a), ("b", case.b)):
            path = scratch / f"{i}{side}.rgba"
            path.write_bytes(np.ascontiguousarray(image).tobytes())
            job[side] = str(path)
        if case.diff:
            job["out"] = str(scratch / f"{i}out.rgba")
        jobs.append(job)
    (scratch / "jobs.json").write_text(json.dumps(jobs))
    done = subprocess.run(
        ["node", str(runner), str(entry), str(scratch / "jobs.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for case, job, count in zip(cases, jobs, json.loads(done.stdout), strict=True):
        case.count = int(count)
        if case.diff:
            raw = np.frombuffer(Path(job["out"]).read_bytes(), np.uint8)
            case.output = raw.reshape(case.a.shape)


def ours(case: JsCase) -> ImageDiff:
    """The dualread engine called with a JS case's pixelmatch options."""
    o = case.options
    kwargs: dict[str, Any] = {
        "threshold": o.get("threshold", 0.1),
        "include_aa": o.get("includeAA", False),
        "alpha": o.get("alpha", 0.1),
        "diff_mask": o.get("diffMask", False),
        "checkerboard": o.get("checkerboard", True),
        "diff_image": case.diff,
    }
    for js, py in (("aaColor", "aa_color"), ("diffColor", "diff_color")):
        if js in o:
            kwargs[py] = tuple(o[js])
    if "diffColorAlt" in o:
        kwargs["diff_color_alt"] = tuple(o["diffColorAlt"])
    return compare(case.a, case.b, **kwargs)


DRAW_OPTIONS: list[dict[str, Any]] = [
    {},
    {"alpha": 0.5, "aaColor": [0, 192, 0], "diffColor": [255, 0, 255]},
    {"diffMask": True},
    {"threshold": 0.05, "diffColorAlt": [0, 255, 0]},
    {"alpha": 1.0, "includeAA": True},
    {"alpha": 0.0, "checkerboard": False},
    {"alpha": 1.5},  # a grey below 0: a typed-array store wraps it modulo 256
]


@pytest.fixture(scope="module")
def js_generated(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, JsCase]]:
    cases: list[tuple[str, JsCase]] = []
    for kind in sorted(PAIRS):
        for size in SIZES:
            a, b = generated(kind, size)
            tag = f"{kind}-{size[0]}x{size[1]}"
            for threshold in THRESHOLDS:
                for include_aa in (False, True):
                    for checkerboard in (True, False):
                        options = {
                            "threshold": threshold,
                            "includeAA": include_aa,
                            "checkerboard": checkerboard,
                        }
                        cases.append((f"{tag} {options}", JsCase(a, b, options)))
            for options in DRAW_OPTIONS:
                cases.append((f"{tag} draw {options}", JsCase(a, b, options, diff=True)))
            cases.append((f"{tag} identical", JsCase(a, a.copy(), {}, diff=True)))
    run_pixelmatch_js([c for _, c in cases], tmp_path_factory.mktemp("pixelmatch-js"))
    return cases


def test_counts_and_diff_images_equal_pixelmatch_js(
    js_generated: list[tuple[str, JsCase]],
) -> None:
    wrong = []
    for name, case in js_generated:
        result = ours(case)
        if result.mismatch_pixels != case.count:
            wrong.append(f"{name}: pixelmatch JS {case.count}, dualread {result.mismatch_pixels}")
        elif case.diff:
            assert result.diff is not None
            assert case.output is not None
            if not np.array_equal(result.diff, case.output):
                bad = int(np.any(result.diff != case.output, axis=2).sum())
                wrong.append(f"{name}: diff image differs from pixelmatch JS in {bad} pixels")
    assert not wrong, "\n".join(wrong[:20])


@pytest.mark.parametrize(("block_pixels", "dense"), [(64, 16), (64, 1_000_000), (97, 1)])
def test_block_layout_does_not_change_results(
    js_generated: list[tuple[str, JsCase]],
    monkeypatch: pytest.MonkeyPatch,
    block_pixels: int,
    dense: int,
) -> None:
    """Tiny row blocks, forced sparse or forced dense: the same counts and images."""
    monkeypatch.setattr(imagediff, "_BLOCK_PIXELS", block_pixels)
    monkeypatch.setattr(imagediff, "_DENSE", dense)
    for name, case in js_generated[::3]:
        result = ours(case)
        assert result.mismatch_pixels == case.count, name
        if case.diff:
            assert case.output is not None
            assert np.array_equal(result.diff, case.output), name


# --------------------------------------------------------------------------- screenshots

SCREENSHOTS = {
    "text": ("base.png", "text.png"),
    "shift": ("base.png", "shift.png"),
    "subpixel": ("base.png", "subpixel.png"),
    "wording": ("base.png", "wording.png"),
    "tint": ("base.png", "tint.png"),
    "alpha": ("alpha-a.png", "alpha-b.png"),
    "identical": ("base.png", "base.png"),
}
SCREENSHOT_OPTIONS = [(t, aa) for t in THRESHOLDS for aa in (False, True)]


def screenshot_key(name: str, threshold: float, include_aa: bool) -> str:
    return f"{name} threshold={threshold} include_aa={include_aa}"


def load_screenshot(name: str) -> tuple[U8, U8]:
    first, second = SCREENSHOTS[name]
    return decode_png((DATA / first).read_bytes()), decode_png((DATA / second).read_bytes())


def recorded_counts() -> dict[str, int]:
    counts: dict[str, int] = json.loads((DATA / "expected.json").read_text())
    return counts


@pytest.mark.parametrize("name", sorted(SCREENSHOTS))
def test_screenshots_give_the_recorded_pixelmatch_counts(name: str) -> None:
    recorded = recorded_counts()
    a, b = load_screenshot(name)
    for threshold, include_aa in SCREENSHOT_OPTIONS:
        got = compare(a, b, threshold=threshold, include_aa=include_aa).mismatch_pixels
        assert got == recorded[screenshot_key(name, threshold, include_aa)]


def test_recorded_counts_are_pixelmatch_js(tmp_path: Path) -> None:
    cases = {}
    for name in SCREENSHOTS:
        a, b = load_screenshot(name)
        for threshold, include_aa in SCREENSHOT_OPTIONS:
            options = {"threshold": threshold, "includeAA": include_aa}
            cases[screenshot_key(name, threshold, include_aa)] = JsCase(a, b, options)
    run_pixelmatch_js(list(cases.values()), tmp_path)
    js = {key: int(case.count or 0) for key, case in cases.items()}
    if REGENERATE:
        (DATA / "expected.json").write_text(json.dumps(js, indent=1, sort_keys=True) + "\n")
    assert recorded_counts() == js


def test_screenshot_pairs_are_symmetric_and_boxed() -> None:
    a, b = load_screenshot("text")
    forward, backward = compare(a, b), compare(b, a)
    assert forward.mismatch_pixels == backward.mismatch_pixels > 0
    assert forward.boxes == backward.boxes
    assert len(forward.boxes) == 1
    box = forward.boxes[0]
    # the changed amount "$42.00" -> "$43.00" sits in the card's value line
    assert 20 <= box.x <= 60
    assert 40 <= box.y <= 60
    assert box.width < 120
    assert box.height < 30


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_one_channel_far_apart_puts_the_distance_above_the_threshold(threshold: float) -> None:
    """The fact behind imagediff._far_apart: pixelmatch's YIQ distance is a quadratic form
    of the channel differences whose smallest eigenvalue is at least _MIN_EIGEN, so a pair
    with one channel differing by _Frames.far_channel or more is counted, whatever the other
    channels are (checked exhaustively over those at the limit)."""
    # the rows of the YIQ transform with pixelmatch's signs, and their weights
    rows = [imagediff._Y, imagediff._I * np.array([1, -1, -1]), imagediff._Q * np.array([1, -1, 1])]
    weights = (imagediff._WY, imagediff._WI, imagediff._WQ)
    form = sum(w * np.outer(r, r) for w, r in zip(weights, rows, strict=True))
    assert np.linalg.eigvalsh(form).min() >= imagediff._MIN_EIGEN
    frames = imagediff._Frames(solid(1, 1), solid(1, 1), 35215 * threshold**2, True)
    limit = frames.far_channel
    d = np.arange(-255, 256, dtype=np.float64)
    one, other = (m.reshape(-1) for m in np.meshgrid(d, d, indexing="ij"))
    for far in (-limit, limit):
        fixed = np.full_like(one, far)
        for channels in ((fixed, one, other), (one, fixed, other), (one, other, fixed)):
            distance = imagediff._yiq(*channels)[0]
            assert distance.min() > frames.max_delta, (threshold, far)


def test_opaque_brightness_deltas_are_ordered_by_luma() -> None:
    """The fact behind the engine's Y-map shortcuts (imagediff._aa_test_opaque).

    For opaque pixels pixelmatch's brightness delta is d . k with integer channel
    differences d in [-255, 255]^3 and k the Y coefficients. With k scaled by 1e8 to
    integers, no nonzero d brings d . k closer to zero than 229, i.e. 2.29e-6 unscaled, far
    above float64 rounding (~1e-13 here): so zero deltas mean equal pixels and comparing
    deltas orders pixels exactly as comparing their Y.
    """
    k = np.array([29889531, 58662247, 11448223], np.int64)
    assert np.allclose(k / 1e8, imagediff._Y, rtol=0, atol=1e-17)
    d = np.arange(-255, 256, dtype=np.int64)
    r, g = (m.reshape(-1) for m in np.meshgrid(d, d, indexing="ij"))
    partial = r * k[0] + g * k[1]
    nearest = np.clip(np.round(-partial / k[2]), -255, 255).astype(np.int64)
    closest = np.inf
    for step in (-1, 0, 1):
        b = np.clip(nearest + step, -255, 255)
        dot = np.abs(partial + b * k[2])
        nonzero = (r != 0) | (g != 0) | (b != 0)
        closest = min(closest, float(dot[nonzero].min()))
    assert closest == 229


# --------------------------------------------------------------------------- properties

small_images = hnp.arrays(
    np.uint8,
    st.tuples(st.integers(1, 12), st.integers(1, 12), st.just(4)),
    elements=st.sampled_from([0, 1, 127, 128, 200, 254, 255]),
)


@st.composite
def image_pairs(draw: st.DrawFn, opaque: bool = False) -> tuple[U8, U8]:
    a = draw(small_images)
    if opaque:
        a[..., 3] = 255
    b = a.copy()
    hit = draw(hnp.arrays(np.bool_, a.shape[:2]))
    values = draw(hnp.arrays(np.uint8, a.shape, elements=st.sampled_from([0, 64, 128, 255])))
    b[hit] = values[hit]
    if opaque:
        b[..., 3] = 255
    return a, b


@settings(max_examples=60, deadline=None)
@given(small_images, st.sampled_from(THRESHOLDS), st.booleans())
def test_identical_images_give_zero(a: U8, threshold: float, include_aa: bool) -> None:
    result = compare(a, a.copy(), threshold=threshold, include_aa=include_aa)
    assert result.mismatch_pixels == 0
    assert result.boxes == ()


@settings(max_examples=60, deadline=None)
@given(image_pairs(), st.sampled_from(THRESHOLDS), st.booleans(), st.booleans())
def test_count_is_bounded_symmetric_and_monotonic(
    pair: tuple[U8, U8], threshold: float, include_aa: bool, checkerboard: bool
) -> None:
    a, b = pair
    kwargs = {"threshold": threshold, "include_aa": include_aa, "checkerboard": checkerboard}
    result = compare(a, b, **kwargs)
    assert 0 <= result.mismatch_pixels <= a.shape[0] * a.shape[1]
    assert sum(box.width * box.height for box in result.boxes) >= min(result.mismatch_pixels, 1)
    # pixelmatch's count does not depend on which image comes first
    assert compare(b, a, **kwargs).mismatch_pixels == result.mismatch_pixels
    # skipping the anti-aliasing test only adds pixels; a higher threshold only removes them
    assert compare(a, b, threshold=threshold, include_aa=True).mismatch_pixels >= (
        compare(a, b, threshold=threshold).mismatch_pixels
    )
    assert compare(a, b, threshold=1.0).mismatch_pixels <= compare(a, b).mismatch_pixels


@settings(max_examples=40, deadline=None)
@given(image_pairs(opaque=True), st.sampled_from(THRESHOLDS), st.booleans(), st.booleans())
def test_opaque_counts_equal_the_pypi_port(
    pair: tuple[U8, U8], threshold: float, include_aa: bool, checkerboard: bool
) -> None:
    """Opaque pixels are never blended, so the background choice does not matter."""
    a, b = pair
    got = compare(a, b, threshold=threshold, include_aa=include_aa, checkerboard=checkerboard)
    assert got.mismatch_pixels == count_py(a, b, threshold, include_aa)


@settings(max_examples=40, deadline=None)
@given(image_pairs(), st.sampled_from(THRESHOLDS), st.booleans())
def test_white_background_counts_equal_the_pypi_port(
    pair: tuple[U8, U8], threshold: float, include_aa: bool
) -> None:
    a, b = pair
    got = compare(a, b, threshold=threshold, include_aa=include_aa, checkerboard=False)
    assert got.mismatch_pixels == count_py(a, b, threshold, include_aa)


# --------------------------------------------------------------------------- API


def solid(h: int, w: int, rgba: tuple[int, int, int, int] = (255, 255, 255, 255)) -> U8:
    return np.tile(np.array(rgba, np.uint8), (h, w, 1))


def test_result_fields_and_diff_colours() -> None:
    a = solid(40, 60)
    a[20, 30] = (0, 0, 0, 255)
    b = a.copy()
    b[5:8, 4:10] = (0, 0, 0, 255)  # darker than expected: pixelmatch's negative delta
    b[35, 55] = (255, 255, 255, 0)  # transparent: blended over the dark checkerboard
    b[20, 30] = (255, 255, 255, 255)  # brighter than expected
    result = compare(a, b, diff_image=True, diff_color_alt=(0, 0, 255))
    assert isinstance(result, ImageDiff)
    assert (result.width, result.height) == (60, 40)
    assert (result.expected_size, result.actual_size) == ((60, 40), (60, 40))
    assert not result.size_mismatch
    assert result.mismatch_pixels == 20
    assert result.mismatch_ratio == pytest.approx(20 / 2400)
    assert (result.engine, result.engine_version) == imagediff.engine_info("dualread")
    assert result.boxes == (Box(4, 5, 6, 3), Box(30, 20, 1, 1), Box(55, 35, 1, 1))
    diff = result.diff
    assert diff is not None
    assert diff.dtype == np.uint8
    assert diff.shape == (40, 60, 4)
    assert tuple(diff[6, 5]) == (0, 0, 255, 255)  # darker: diff_color_alt
    assert tuple(diff[35, 55]) == (0, 0, 255, 255)
    assert tuple(diff[20, 30]) == (255, 0, 0, 255)  # brighter: diff_color
    assert tuple(diff[0, 0]) == (255, 255, 255, 255)  # unchanged: faded grey of expected
    masked = compare(a, b, diff_image=True, diff_mask=True).diff
    assert masked is not None
    assert int((masked[..., 3] == 255).sum()) == 20
    assert tuple(masked[0, 0]) == (0, 0, 0, 0)
    assert compare(a, b).diff is None
    assert compare(a, b, diff_image=True) == result  # the diff image is not compared


def test_size_mismatch_compares_on_the_padded_union() -> None:
    expected, actual = solid(10, 20), solid(12, 16).copy()
    actual[2:4, 3:5] = (0, 0, 0, 255)  # a change inside the area both cover
    result = compare(expected, actual)
    assert result.size_mismatch
    assert result.expected_size == (20, 10)
    assert result.actual_size == (16, 12)
    assert (result.width, result.height) == (20, 12)
    # 4 changed pixels, plus the padding: 20x12 union less the 16x10 both cover.
    assert result.mismatch_pixels == 4 + 240 - 160
    assert result.boxes == (Box(16, 0, 4, 12), Box(3, 2, 2, 2), Box(0, 10, 16, 2))
    assert result.diff is None
    drawn = compare(expected, actual, diff_image=True).diff
    assert drawn is not None
    assert drawn.shape == (12, 20, 4)
    assert tuple(drawn[2, 3]) == tuple(drawn[11, 19]) == tuple(drawn[0, 17]) == (255, 0, 0, 255)
    assert tuple(drawn[0, 0]) != (255, 0, 0, 255), "unchanged: a faded copy of expected"
    taller = compare(solid(10, 20), solid(14, 20))
    assert (taller.mismatch_pixels, taller.boxes) == (80, (Box(0, 10, 20, 4),))


@pytest.mark.parametrize(
    ("image", "error", "message"),
    [
        ([[1, 2]], TypeError, "numpy array"),
        (np.zeros((4, 4, 3), np.uint8), ValueError, "HxWx4 uint8"),
        (np.zeros((4, 4, 4), np.float64), ValueError, "HxWx4 uint8"),
        (np.zeros((4, 4), np.uint8), ValueError, "HxWx4 uint8"),
    ],
)
def test_bad_images_are_rejected(image: Any, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        compare(image, solid(4, 4))


def test_no_options_mean_the_documented_defaults() -> None:
    """A call without options (whose checked defaults are kept) counts as one spelling
    them out."""
    a, b = load_screenshot("text")
    spelled: dict[str, Any] = {"threshold": 0.1, "include_aa": False, "checkerboard": True}
    plain = compare(a, b)
    assert plain.mismatch_pixels > 0
    assert plain == compare(a, b, **spelled)
    assert compare(a, b, threshold=0.0) != plain  # the kept defaults are not sticky
    # checked options are kept by type and value: equal keys of other types mean the same
    assert compare(a, b, threshold=1) == compare(a, b, threshold=1.0) != plain
    assert compare(a, b, include_aa=1) == compare(a, b, include_aa=True) != plain
    with pytest.raises(ValueError, match="threshold"):
        compare(a, b, threshold=2)


def test_bad_options_are_rejected() -> None:
    with pytest.raises(ValueError, match="allowed: dualread, pixelmatch-py"):
        compare(solid(2, 2), solid(2, 2), engine="blazediff")
    with pytest.raises(ValueError, match="allowed: dualread, pixelmatch-py"):
        imagediff.engine_info("nope")
    with pytest.raises(ValueError, match="threshold"):
        compare(solid(2, 2), solid(2, 2), threshold=1.5)
    with pytest.raises(ValueError, match="diff_color"):
        compare(solid(2, 2), solid(2, 2), diff_color=(255, 0, 256))
    # a misspelt option must not be silently ignored, by either entry point
    options: dict[str, Any] = {"treshold": 0.5, "alpha": 0.2}
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\): treshold$"):
        compare(solid(2, 2), solid(2, 2), **options)
    png = encode_png(solid(2, 2))
    with pytest.raises(TypeError, match="treshold"):
        compare_png(png, png, **options)


def test_engines_and_versions() -> None:
    assert imagediff.ENGINES == ("dualread", "pixelmatch-py")
    assert imagediff.DEFAULT_ENGINE == "dualread"
    for name in imagediff.ENGINES:
        engine, version = imagediff.engine_info(name)
        assert engine == name
        assert version
    assert imagediff.engine_info("pixelmatch-py")[1] == "0.4.0"


def test_non_contiguous_views_are_accepted() -> None:
    a, b = generated("shift", (40, 48))
    want = compare(a[::2, 1::2].copy(), b[::2, 1::2].copy()).mismatch_pixels
    assert compare(a[::2, 1::2], b[::2, 1::2]).mismatch_pixels == want


def test_boxes_merge_beyond_the_cap() -> None:
    a = solid(400, 400)
    b = a.copy()
    b[5::20, 5::20] = (0, 0, 0, 255)  # 400 isolated dots, far apart
    boxes = compare(a, b).boxes
    assert 1 <= len(boxes) <= imagediff.MAX_BOXES
    covered = np.zeros((400, 400), bool)
    for box in boxes:
        covered[box.y : box.y + box.height, box.x : box.x + box.width] = True
    assert covered[5::20, 5::20].all()


def test_png_round_trip_and_byte_equal_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    png = (DATA / "base.png").read_bytes()
    image = decode_png(png)
    assert image.shape == (240, 320, 4)
    assert image.dtype == np.uint8
    assert np.array_equal(decode_png(encode_png(image)), image)
    alpha = decode_png((DATA / "alpha-a.png").read_bytes())
    assert alpha[..., 3].min() < 255

    def no_decode(data: bytes) -> U8:
        raise AssertionError("equal PNG bytes must not be decoded")

    monkeypatch.setattr(imagediff, "decode_png", no_decode)
    same = compare_png(png, bytes(png))
    assert same.mismatch_pixels == 0
    assert (same.width, same.height) == (320, 240)
    assert same.engine == "dualread"
    with pytest.raises(ValueError, match="threshold"):
        compare_png(png, png, threshold=2.0)  # options are checked on the fast path too
    monkeypatch.undo()
    changed = compare_png(png, (DATA / "text.png").read_bytes(), threshold=0.05)
    text_a, text_b = load_screenshot("text")
    assert changed.mismatch_pixels == compare(text_a, text_b, threshold=0.05).mismatch_pixels


def test_large_frames_count_like_a_crop() -> None:
    """Many row blocks, a change in the last one: the same count as a crop around it (the
    crop keeps every pixel the anti-aliasing test looks at, 2 px around each change)."""
    a, b = generated("shift", (40, 48))
    tall_a = np.ascontiguousarray(np.tile(a, (80, 30, 1)))
    tall_b = tall_a.copy()
    tall_b[-40:, -48:] = b
    result = compare(tall_a, tall_b)
    assert result.mismatch_pixels > 0
    assert result.mismatch_pixels == compare(tall_a[-43:, -51:], tall_b[-43:, -51:]).mismatch_pixels
    (box,) = result.boxes
    assert box.y >= tall_a.shape[0] - 40
    assert box.x >= tall_a.shape[1] - 48


# --------------------------------------------------------------------------- PNG decoding


def png_file(pixels: npt.NDArray[Any], colour: int, depth: int, interlaced: bool = False,
             extra: bytes = b"") -> bytes:  # fmt: skip
    """A PNG written chunk by chunk: (H, W, channels) samples of ``depth`` bits (8 or 16),
    filter 0 on every row, Adam7 passes when ``interlaced``; ``extra`` chunks before IDAT."""
    h, w = pixels.shape[:2]
    samples = pixels.astype(">u2" if depth == 16 else np.uint8)
    passes = [(0, 0, 1, 1)]
    if interlaced:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4),
                  (1, 0, 2, 2), (0, 1, 1, 2)]  # fmt: skip
    raw = b""
    for x0, y0, dx, dy in passes:
        sub = samples[y0::dy, x0::dx]
        if sub.size:
            raw += b"".join(b"\x00" + row.tobytes() for row in sub)
    header = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, int(interlaced))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + extra
            + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b""))  # fmt: skip


def png_kinds() -> dict[str, tuple[bytes, str]]:
    """PNG files of every kind a baseline may be, with the decoder each one should get."""
    from PIL import Image

    rng = np.random.default_rng(7)
    rgba = rng.integers(0, 256, (13, 11, 4), dtype=np.uint8)
    wide = rng.integers(0, 65536, (13, 11, 4), dtype=np.uint16)

    def pillow(image: Any, **save: Any) -> bytes:
        buf = io.BytesIO()
        image.save(buf, format="PNG", **save)
        return buf.getvalue()

    rgb_image = Image.fromarray(rgba[..., :3], "RGB")
    trns = png_chunk(b"tRNS", struct.pack(">HHH", *(int(v) for v in rgba[0, 0, :3])))
    return {
        "chromium rgb": ((DATA / "base.png").read_bytes(), "pyspng"),
        "chromium rgba": ((DATA / "alpha-a.png").read_bytes(), "pyspng"),
        "rgb": (pillow(rgb_image), "pyspng"),
        "rgba": (pillow(Image.fromarray(rgba, "RGBA")), "pyspng"),
        "rgb with a transparent colour": (png_file(rgba[..., :3], 2, 8, extra=trns), "pillow"),
        "palette": (pillow(rgb_image.quantize(16)), "pillow"),
        "palette with transparency": (pillow(rgb_image.quantize(16), transparency=3), "pillow"),
        "grey": (pillow(Image.fromarray(rgba[..., 0], "L")), "pillow"),
        "grey with alpha": (pillow(Image.fromarray(rgba, "RGBA").convert("LA")), "pillow"),
        "1-bit": (pillow(Image.fromarray(rgba[..., 0] > 127)), "pillow"),
        "16-bit grey": (png_file(wide[..., :1], 0, 16), "pillow"),
        "16-bit rgb": (png_file(wide[..., :3], 2, 16), "pillow"),
        "16-bit rgba": (png_file(wide, 6, 16), "pillow"),
        "interlaced rgb": (png_file(rgba[..., :3], 2, 8, interlaced=True), "pillow"),
        "interlaced rgba": (png_file(rgba, 6, 8, interlaced=True), "pillow"),
    }  # fmt: skip


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def pillow_rgba(data: bytes) -> U8:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGBA"), dtype=np.uint8)


def test_pngs_decode_as_pillow_does_with_the_fastest_exact_decoder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libspng decodes what Chromium writes; every other kind goes to Pillow. Either way the
    pixels are Pillow's, and a broken file raises Pillow's error."""
    kinds = png_kinds()
    for name, (data, decoder) in kinds.items():
        assert imagediff.png_decoder(data) == decoder, name
        decoded = decode_png(data)
        assert not decoded.flags.writeable, name
        assert np.array_equal(decoded, pillow_rgba(data)), name
    from PIL import UnidentifiedImageError

    truncated = kinds["chromium rgb"][0][:600]
    assert imagediff.png_decoder(truncated) == "pyspng"
    with pytest.raises(OSError, match=r"truncated|broken"):
        decode_png(truncated)
    with pytest.raises(UnidentifiedImageError):
        decode_png(b"not a png")
    # without pyspng installed, Pillow decodes everything
    monkeypatch.setitem(sys.modules, "pyspng", None)
    monkeypatch.setattr(imagediff, "_pyspng", functools.cache(imagediff._pyspng.__wrapped__))
    assert imagediff.png_decoder(kinds["chromium rgb"][0]) == "pillow"
    assert np.array_equal(
        decode_png(kinds["chromium rgb"][0]), pillow_rgba(kinds["chromium rgb"][0])
    )


def test_diff_pngs_round_trip_and_are_smaller_than_pillows_fast_level() -> None:
    """encode_png stores rows unfiltered at zlib level 3: every image comes back exactly (in
    Pillow too), and a faded diff image of a screenshot pair takes less room than Pillow's
    own encoder at its fast level (1), which picks a filter per row."""
    from PIL import Image

    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    images = {"noise": noise, "one pixel": noise[:1, :1], "strided": noise[::2, ::3]}
    for pair in ("text", "shift", "alpha"):
        a, b = load_screenshot(pair)
        for mask in (False, True):
            diff = compare(a, b, diff_image=True, diff_mask=mask).diff
            assert diff is not None
            images[f"{pair} mask={mask}"] = diff
    for name, image in images.items():
        data = encode_png(image)
        assert np.array_equal(pillow_rgba(data), image), name
        assert np.array_equal(decode_png(data), image), name
        if "mask=False" in name:
            buf = io.BytesIO()
            Image.fromarray(image, "RGBA").save(buf, format="PNG", compress_level=1)
            assert len(data) < 0.95 * len(buf.getvalue()), name
    with pytest.raises(ValueError, match="at least one pixel"):
        encode_png(np.zeros((0, 3, 4), np.uint8))


def test_equal_blocks_skipped_by_memcmp_count_as_without_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Blocks of rows whose bytes are equal are skipped by libc's memcmp; where there is none,
    every block is compared pixel by pixel, with the same counts, boxes and diff images."""
    a, b = generated("shift", (40, 48))
    tall_a = np.ascontiguousarray(np.tile(a, (60, 30, 1)))
    tall_b = tall_a.copy()
    tall_b[1000:1040, 480:528] = b  # one changed block among many equal ones
    pairs = {
        "screenshot": load_screenshot("text"),
        "tall": (tall_a, tall_b),
        "identical": (tall_a, tall_a.copy()),  # ends after the first memcmp
    }
    cases = [(name, mask) for name in pairs for mask in (False, True)]
    with_memcmp = {
        (name, mask): compare(*pairs[name], diff_image=True, diff_mask=mask) for name, mask in cases
    }
    assert with_memcmp["tall", False].mismatch_pixels > 0
    monkeypatch.setattr(imagediff, "_memcmp", lambda: None)
    for name, mask in cases:
        plain = compare(*pairs[name], diff_image=True, diff_mask=mask)
        assert plain == with_memcmp[name, mask], name
        assert np.array_equal(plain.diff, with_memcmp[name, mask].diff), (name, mask)
