"""Pixel engine: pixelmatch-exact mismatch counts on RGBA NumPy arrays.

The visual checks of pytest-dualread compare screenshots with the semantics of pixelmatch
7.2.0 (the npm package, our reference), computed with vectorised NumPy:

* two pixels whose 32-bit RGBA values are equal never differ;
* otherwise the colour distance is pixelmatch's YIQ metric, computed on the channel
  differences in pixelmatch's floating point order; a pixel counts when its distance exceeds
  ``35215 * threshold * threshold``;
* a semi-transparent pixel is blended, as in pixelmatch 7.2.0, against a background that
  depends on its position (``checkerboard=True``, the default) or against white
  (``checkerboard=False``);
* unless ``include_aa`` is true, a counted pixel that looks like anti-aliasing in either
  image (pixelmatch's brightness-slope test with "many equal siblings") is left out of the
  count and drawn in ``aa_color`` instead.

Public API (stable; tools outside the project call it)::

    compare(expected, actual, *, threshold=0.1, include_aa=False, alpha=0.1,
            diff_image=False, diff_mask=False, aa_color=(255, 255, 0),
            diff_color=(255, 0, 0), diff_color_alt=None, checkerboard=True,
            engine="dualread") -> ImageDiff
    compare_png(expected: bytes, actual: bytes, **the same keywords) -> ImageDiff
    CompareOptions: the TypedDict of those keywords, e.g. to build them up front
    decode_png(data: bytes) -> HxWx4 uint8 array;  encode_png(array) -> PNG bytes
    png_decoder(data: bytes) -> "pyspng" | "pillow", the decoder decode_png uses for them
    ENGINES, DEFAULT_ENGINE, engine_info(name) -> (name, version)

``expected`` and ``actual`` are HxWx4 ``uint8`` RGBA arrays. Images of different sizes give a
result with ``size_mismatch=True`` and both sizes, not an exception: they are compared on their
union, aligned at the top-left corner (as Playwright Test does), where every pixel only one of
them covers counts as differing (``diff_color`` in the diff image, and boxes of its own).
The diff image (on request) follows pixelmatch 7.2.0 byte for byte: counted pixels in
``diff_color``, or in ``diff_color_alt`` where the actual pixel is darker (pixelmatch's
negative delta), skipped anti-aliased pixels in ``aa_color``, everything else a faded grey copy
of ``expected`` (``alpha`` is the opacity of that copy); with ``diff_mask=True`` only counted
pixels are drawn, over a transparent background. ``boxes`` always lists the differing
regions: counted pixels grouped into at most :data:`MAX_BOXES` rectangles, nearby pixels merged
(plus at most two for the padding of images of different sizes).

Engines: ``"dualread"`` is this module (version: the installed pytest-dualread version);
``"pixelmatch-py"`` runs the PyPI ``pixelmatch`` port, a slow pure-Python reference that
comes with the ``pixelmatch`` extra (this module itself needs the ``visual`` extra). That
port blends semi-transparent pixels against white whatever ``checkerboard`` says and has no
``diff_color_alt``; it accepts the other keywords. An unknown engine name raises
``ValueError`` naming the allowed ones.

Speed and memory: blocks of rows whose bytes are equal are skipped by libc's ``memcmp``
(identical frames by one call); in the others equal 32-bit pixels are skipped 8 bytes at a
time. Blocks of rows (about 128k pixels) are handled densely where many pixels changed and by
gathering the changed pixels and their neighbourhoods elsewhere, so floating point
temporaries stay a few MB whatever the frame size. With ``include_aa`` (and no
``diff_color_alt``) an opaque dense block is settled in byte arithmetic wherever one channel
differs enough for the YIQ distance to exceed the threshold whatever the others are; only the
other changed pixels get the full distance. The grey background of a diff image is computed
once per run of equal pixels. Options of plain values are checked once per process, and
identical frames end after one memcmp, before any other set-up (about 15 us on top of it).
Only the diff image (when requested) and a 1-byte-per-pixel mask of counted pixels (when a
block was dense) cover the whole frame.
"""

from __future__ import annotations

import functools
import importlib
import io
import math
import struct
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import TYPE_CHECKING, Any, TypedDict

from pytest_dualread.extras import require

# numpy and Pillow come with the 'visual' extra: name it rather than fail on a bare import.
require("visual", "numpy", "PIL", feature="the pixel diff engine (pytest_dualread.imagediff)")

import numpy as np  # noqa: E402
import numpy.typing as npt  # noqa: E402

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing.Unpack is 3.11+

__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "MAX_BOXES",
    "Box",
    "CompareOptions",
    "ImageDiff",
    "compare",
    "compare_png",
    "decode_png",
    "encode_png",
    "engine_info",
    "png_decoder",
]

U8 = npt.NDArray[np.uint8]
_U32 = npt.NDArray[np.uint32]
_I64 = npt.NDArray[np.int64]
_F64 = npt.NDArray[np.float64]
_Bool = npt.NDArray[np.bool_]
RGB = tuple[int, int, int]

ENGINES: tuple[str, ...] = ("dualread", "pixelmatch-py")
"""Engine names accepted by :func:`compare` and :func:`engine_info`."""
DEFAULT_ENGINE = "dualread"
MAX_BOXES = 32
"""Most rectangles reported in :attr:`ImageDiff.boxes`; nearby regions merge beyond it."""

# Pixels per block of rows; bounds the temporaries of one step (a few MB).
_BLOCK_PIXELS = 1 << 17
# Cell size (px) of the grid used to group differing pixels into boxes.
_BOX_CELL = 8

# pixelmatch's YIQ coefficients and weights (Kotsarenko & Ramos), in its evaluation order.
_Y = (0.29889531, 0.58662247, 0.11448223)
_I = (0.59597799, 0.27417610, 0.32180189)
_Q = (0.21147017, 0.52261711, 0.31114694)
_WY, _WI, _WQ = 0.5053, 0.299, 0.1957
_MAX_YIQ = 35215
# Divisors that give the checkerboard background of a semi-transparent pixel (byte offset k).
_PHI = 1.618033988749895
_PHI2 = 2.618033988749895

# Neighbour order of the anti-aliasing test: x outer, y inner, centre skipped. The first
# darkest / brightest neighbour in this order is the one whose siblings are checked.
_NEIGHBOURS: tuple[tuple[int, int], ...] = tuple(
    (dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy
)
_SUM8 = np.uint64(0x0101010101010101)
_SHIFT56 = np.uint64(56)


@dataclass(frozen=True)
class Box:
    """A rectangle of differing pixels, in pixels: ``x``/``y`` of the top-left corner."""

    x: int
    y: int
    width: int
    height: int


@dataclass(frozen=True)
class ImageDiff:
    """The result of :func:`compare`.

    ``width`` x ``height`` is the compared size (for a size mismatch: the larger of each
    dimension, the padded union). A size mismatch counts the pixels of the area both images
    cover that differ, plus every pixel only one of them covers; ``expected_size`` /
    ``actual_size`` are ``(width, height)`` pairs.
    """

    mismatch_pixels: int
    width: int
    height: int
    diff: U8 | None = field(default=None, compare=False, repr=False)
    boxes: tuple[Box, ...] = ()
    size_mismatch: bool = False
    expected_size: tuple[int, int] = (0, 0)
    actual_size: tuple[int, int] = (0, 0)
    engine: str = DEFAULT_ENGINE
    engine_version: str = ""

    @property
    def mismatch_ratio(self) -> float:
        """Counted pixels as a fraction of all pixels (0.0 for an empty image)."""
        total = self.width * self.height
        return self.mismatch_pixels / total if total else 0.0


def engine_info(name: str = DEFAULT_ENGINE) -> tuple[str, str]:
    """Return ``(name, version)`` of an engine, for the report."""
    if name == "dualread":
        return name, _dist_version("pytest-dualread")
    if name == "pixelmatch-py":
        return name, _dist_version("pixelmatch")
    raise ValueError(f"unknown image-diff engine {name!r}; allowed: {', '.join(ENGINES)}")


@functools.cache
def _dist_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:  # a bare checkout, not installed
        return "0+unknown"


# --------------------------------------------------------------------------- PNG in / out


def decode_png(data: bytes) -> U8:
    """Decode PNG (or any Pillow-readable) bytes to a read-only HxWx4 uint8 RGBA array.

    What Chromium writes (8-bit RGB or RGBA, not interlaced, no tRNS chunk) is decoded by
    libspng through ``pyspng`` when it is installed (the ``visual`` extra brings it): about
    3x faster than Pillow, and pixel-identical to it for those files. Every other file, and
    any file libspng refuses, goes to Pillow, whose errors are the ones raised.
    """
    if png_decoder(data) == "pyspng":
        try:
            fast: U8 = _pyspng().load(data, format="RGBA")
        except RuntimeError:  # libspng refused it: Pillow decides, and says why
            pass
        else:
            fast.flags.writeable = False
            return fast
    return _decode_with_pillow(data)


def png_decoder(data: bytes) -> str:
    """The decoder :func:`decode_png` uses for these bytes: ``"pyspng"`` or ``"pillow"``."""
    header = _png_header(data)
    if header is None or _pyspng() is None:
        return "pillow"
    width, height, depth, colour, interlaced = header
    from PIL import Image

    # Pillow's decompression-bomb guard stays in charge of very large images
    limit = Image.MAX_IMAGE_PIXELS
    too_large = limit is not None and width * height > limit
    plain = depth == 8 and colour in (2, 6) and not interlaced  # RGB, RGBA
    if too_large or not plain or _has_trns(data):
        return "pillow"
    return "pyspng"


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_header(data: bytes) -> tuple[int, int, int, int, bool] | None:
    """(width, height, bit depth, colour type, interlaced) from a PNG's IHDR, or None."""
    if len(data) < 33 or not data.startswith(_PNG_SIGNATURE) or data[12:16] != b"IHDR":
        return None
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return width, height, data[24], data[25], data[28] != 0


def _has_trns(data: bytes) -> bool:
    """Whether a tRNS chunk (a transparent colour) comes before the image data."""
    at = len(_PNG_SIGNATURE)
    while at + 8 <= len(data):
        kind = data[at + 4 : at + 8]
        if kind in (b"tRNS", b"IDAT"):
            return kind == b"tRNS"
        at += 12 + int.from_bytes(data[at : at + 4], "big")
    return False


@functools.cache
def _pyspng() -> Any:
    """The pyspng module, or None where it is not installed (Pillow decodes then)."""
    try:
        return importlib.import_module("pyspng")
    except ImportError:
        return None


def _decode_with_pillow(data: bytes) -> U8:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as im:
        rgba = im if im.mode == "RGBA" else im.convert("RGBA")
        arr: U8 = np.asarray(rgba, dtype=np.uint8)
    return arr


def encode_png(image: U8) -> bytes:
    """Encode an HxWx4 uint8 RGBA array as an 8-bit RGBA PNG (diff images are scratch).

    Rows are stored unfiltered and deflated at zlib level 3. Pillow picks a filter per row
    (it has no setting for it), which costs more than the deflate on a 1080p frame; without
    filters, level 3 gives smaller diff images than Pillow at level 1, in about a third of
    the time (``benchmarks/imagediff_bench.py`` measures levels and filters against size).
    """
    rgba = _as_rgba(image, "image")
    h, w = rgba.shape[:2]
    if not h or not w:
        raise ValueError(f"image: a PNG needs at least one pixel, got shape {rgba.shape}")
    deflate = zlib.compressobj(_PNG_LEVEL)
    parts = []
    for y0, y1 in _row_blocks(h, w):
        rows = np.empty((y1 - y0, 4 * w + 1), dtype=np.uint8)
        rows[:, 0] = 0  # filter type None
        rows[:, 1:] = rgba[y0:y1].reshape(y1 - y0, -1)
        parts.append(deflate.compress(rows.data))
    parts.append(deflate.flush())
    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)  # 8-bit RGBA, not interlaced
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", b"".join(parts)),
            _chunk(b"IEND", b""),
        )
    )


# zlib level of encode_png: levels 1-3 cost about the same, 4+ twice as much and more
_PNG_LEVEL = 3


def _chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, body, CRC-32 of type and body."""
    crc = zlib.crc32(body, zlib.crc32(kind))
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


# --------------------------------------------------------------------------- compare


class CompareOptions(TypedDict, total=False):
    """The keywords of :func:`compare` and :func:`compare_png`, all optional (defaults and
    meaning in the module docstring). Any other keyword is a :class:`TypeError`."""

    threshold: float
    include_aa: bool
    alpha: float
    diff_image: bool
    diff_mask: bool
    aa_color: RGB
    diff_color: RGB
    diff_color_alt: RGB | None
    checkerboard: bool
    engine: str


def compare(expected: U8, actual: U8, **options: Unpack[CompareOptions]) -> ImageDiff:
    """Count the pixels of ``actual`` that differ from ``expected`` the way pixelmatch does.

    See the module docstring for the meaning of each option (they mirror pixelmatch's
    ``threshold``, ``includeAA``, ``alpha``, ``diffMask``, ``aaColor``, ``diffColor``,
    ``diffColorAlt`` and ``checkerboard``).
    """
    checked = _Options.check(options)
    return _run(_as_rgba(expected, "expected"), _as_rgba(actual, "actual"), checked)


def compare_png(expected: bytes, actual: bytes, **options: Unpack[CompareOptions]) -> ImageDiff:
    """:func:`compare` two PNG files given as bytes; equal bytes are not even decoded."""
    checked = _Options.check(options)
    if expected == actual and not checked.diff_image:
        from PIL import Image

        with Image.open(io.BytesIO(expected)) as im:  # reads the header only
            size = im.size
        return ImageDiff(0, size[0], size[1], None, (), False, size, size, *checked.engine)
    return _run(decode_png(expected), decode_png(actual), checked)


_RED: RGB = (255, 0, 0)
_YELLOW: RGB = (255, 255, 0)


@dataclass(frozen=True)
class _Options:
    threshold: float
    include_aa: bool
    alpha: float
    diff_image: bool
    diff_mask: bool
    colours: tuple[RGB, RGB, RGB]  # anti-aliased, counted, counted and darker
    checkerboard: bool
    engine: tuple[str, str]  # name, version

    @classmethod
    def check(cls, given: CompareOptions) -> _Options:
        """Validate keywords and fill in the defaults: the one place that knows them."""
        plain = all(type(value) in _PLAIN for value in given.values())
        if plain and given.get("engine", DEFAULT_ENGINE) == DEFAULT_ENGINE:
            # the usual calls: checked once per process (the fixed cost of a compare counts;
            # the other engine's extra is looked for on every call)
            return _checked_once(tuple((key, type(v), v) for key, v in given.items()))
        return cls._checked(given)

    @classmethod
    def _checked(cls, given: CompareOptions) -> _Options:
        unknown = given.keys() - CompareOptions.__optional_keys__
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        name, version = engine_info(given.get("engine", DEFAULT_ENGINE))
        threshold = given.get("threshold", 0.1)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within [0, 1], got {threshold!r}")
        if name == "pixelmatch-py":
            require("pixelmatch", feature='the image-diff engine "pixelmatch-py"')
            if given.get("diff_color_alt") is not None:
                raise ValueError("the pixelmatch-py engine has no diff_color_alt")
        # the defaults need no checking (a compare's fixed cost matters for small frames)
        diff = _colour(given["diff_color"], "diff_color") if "diff_color" in given else _RED
        alt_given = given.get("diff_color_alt")
        alt = diff if alt_given is None else _colour(alt_given, "diff_color_alt")
        aa = _colour(given["aa_color"], "aa_color") if "aa_color" in given else _YELLOW
        return cls(
            threshold=float(threshold),
            include_aa=bool(given.get("include_aa", False)),
            alpha=float(given.get("alpha", 0.1)),
            diff_image=bool(given.get("diff_image", False)),
            diff_mask=bool(given.get("diff_mask", False)),
            colours=(aa, diff, alt),
            checkerboard=bool(given.get("checkerboard", True)),
            engine=(name, version),
        )


# Option types whose values are kept with their type (1, True and 1.0 are equal as keys)
_PLAIN = frozenset({bool, int, float, str})


@functools.lru_cache(maxsize=256)
def _checked_once(items: tuple[tuple[str, type, Any], ...]) -> _Options:
    options: Any = {key: value for key, _, value in items}
    return _Options._checked(options)


def _run(a: U8, b: U8, o: _Options) -> ImageDiff:
    if a.shape != b.shape:
        return _run_padded(a, b, o)
    count, boxes, out = _compare_same_size(a, b, o)
    h, w = a.shape[:2]
    return ImageDiff(count, w, h, out, boxes, False, (w, h), (w, h), *o.engine)


def _compare_same_size(a: U8, b: U8, o: _Options) -> tuple[int, tuple[Box, ...], U8 | None]:
    if o.engine[0] == "pixelmatch-py":
        count, mask, out = _compare_pixelmatch_py(a, b, o)
        return count, (_boxes(mask) if mask is not None else ()), out
    return _compare_dualread(a, b, o)


def _run_padded(a: U8, b: U8, o: _Options) -> ImageDiff:
    """Images of different sizes, compared like Playwright Test does: on their union, aligned
    at the top-left corner. The area both cover is compared pixel by pixel; every pixel only
    one of them covers (the padding) counts as differing, drawn in ``diff_color``."""
    es, as_ = (a.shape[1], a.shape[0]), (b.shape[1], b.shape[0])
    w, h = max(es[0], as_[0]), max(es[1], as_[1])
    cw, ch = min(es[0], as_[0]), min(es[1], as_[1])
    if cw and ch:
        count, boxes, shared = _compare_same_size(a[:ch, :cw], b[:ch, :cw], o)
    else:
        count, boxes, shared = 0, (), None
    padding = tuple(
        box
        for box in (Box(cw, 0, w - cw, h), Box(0, ch, cw, h - ch))
        if box.width > 0 and box.height > 0
    )
    out = None
    if o.diff_image:
        out = np.zeros((h, w, 4), dtype=np.uint8)
        out[..., :3] = o.colours[1]
        out[..., 3] = 255
        if shared is not None:
            out[:ch, :cw] = shared
    boxes = tuple(sorted(boxes + padding, key=lambda bx: (bx.y, bx.x)))
    count += w * h - cw * ch
    return ImageDiff(count, w, h, out, boxes, True, es, as_, *o.engine)


def _as_rgba(image: Any, what: str) -> U8:
    if not isinstance(image, np.ndarray):
        raise TypeError(f"{what}: expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 4:
        raise ValueError(
            f"{what}: expected an HxWx4 uint8 RGBA array, got shape {image.shape} "
            f"dtype {image.dtype}"
        )
    arr: U8 = np.ascontiguousarray(image)
    return arr


def _colour(value: Sequence[int], what: str) -> RGB:
    rgb = tuple(value)
    if len(rgb) != 3 or not all(isinstance(c, int | np.integer) and 0 <= c <= 255 for c in rgb):
        raise ValueError(f"{what} must be three integers 0..255, got {value!r}")
    return (int(rgb[0]), int(rgb[1]), int(rgb[2]))


@functools.cache
def _pack(rgb: RGB) -> np.uint32:
    return np.array([*rgb, 255], dtype=np.uint8).view("<u4")[0]  # type: ignore[no-any-return]


def _row_blocks(height: int, width: int) -> Iterator[tuple[int, int]]:
    rows = max(1, _BLOCK_PIXELS // max(width, 1))
    for y0 in range(0, height, rows):
        yield y0, min(height, y0 + rows)


# --------------------------------------------------------------------------- dualread engine

_DX = np.array([dx for dx, _ in _NEIGHBOURS], dtype=np.int64)
_DY = np.array([dy for _, dy in _NEIGHBOURS], dtype=np.int64)
# A block goes the dense way (slices over the whole block) when at least 1/_DENSE of its
# pixels changed, and the sparse way (gathers at changed pixels only) otherwise.
_DENSE = 16


class _Frames:
    """Both images, flat (32-bit pixels) and as they came, plus the options of one compare."""

    def __init__(self, a: U8, b: U8, max_delta: float, checkerboard: bool) -> None:
        self.h, self.w = a.shape[:2]
        self.a, self.b = a, b
        self.pa: _U32 = a.reshape(-1).view("<u4")
        self.pb: _U32 = b.reshape(-1).view("<u4")
        self.max_delta = max_delta
        # a channel difference from which pixelmatch's distance exceeds max_delta, whatever
        # the other channels and however it rounds (see _far_apart)
        self.far_channel = math.ceil(math.sqrt((max_delta + _SETTLE_MARGIN) / _MIN_EIGEN))
        self.checkerboard = checkerboard
        self.offsets: _I64 = _DY * self.w + _DX


# A block result: pixels counted, pixels whose signed delta is negative (drawn in
# diff_color_alt; None when not asked for and not at hand) and pixels skipped as
# anti-aliasing (None when not tested); rows x W masks.
_BlockResult = tuple[_Bool, "_Bool | None", "_Bool | None"]


def _compare_dualread(a: U8, b: U8, o: _Options) -> tuple[int, tuple[Box, ...], U8 | None]:
    h, w = a.shape[:2]
    include_aa, diff_mask = o.include_aa, o.diff_mask
    out: U8 | None = None
    if o.diff_image:
        out = np.zeros((h, w, 4), dtype=np.uint8)
    same_bytes = _equal_spans(a, b)
    if same_bytes(0, h * w):  # identical frames: one memcmp, nothing else to set up
        if out is not None and not diff_mask:
            _draw_grey(a, out, o.alpha)
        return 0, (), out
    f = _Frames(a, b, _MAX_YIQ * o.threshold * o.threshold, o.checkerboard)
    out_px = None if out is None else out.reshape(-1).view("<u4")
    aa_px, diff_px, alt_px = (_pack(c) for c in o.colours) if o.diff_image else (0, 0, 0)
    signed = alt_px != diff_px  # whether a counted pixel's colour depends on its delta's sign
    mask: _Bool | None = None  # counted pixels of dense blocks
    counted_at: list[_I64] = []  # counted pixels of sparse blocks
    waiting: list[_I64] = []  # changed pixels of sparse blocks, compared in batches
    count = 0

    def run_sparse() -> None:
        nonlocal count
        counted, darker, skipped = _sparse_pixels(f, np.concatenate(waiting), include_aa)
        waiting.clear()
        count += int(counted.size)
        counted_at.append(counted)
        if out_px is not None:
            if not diff_mask:
                out_px[skipped] = aa_px
            out_px[counted[~darker]] = diff_px
            out_px[counted[darker]] = alt_px

    def grey(y0: int, y1: int) -> None:
        # the faded background, block by block before its colours: a block whose every
        # pixel gets a colour (pairs of different pages) is never drawn grey
        if out is not None and not diff_mask:
            _draw_grey(a[y0:y1], out[y0:y1], o.alpha)

    # with an even width every block starts on an 8-byte boundary: scan two pixels at once
    wide = w % 2 == 0
    qa, qb = (f.pa.view(np.uint64), f.pb.view(np.uint64)) if wide else (f.pa, f.pb)
    for y0, y1 in _row_blocks(h, w):
        s, e = y0 * w, y1 * w
        if same_bytes(s, e):
            grey(y0, y1)
            continue
        if wide:
            pairs_ne = qa[s // 2 : e // 2] != qb[s // 2 : e // 2]
            n_pairs = int(np.count_nonzero(pairs_ne))
            if n_pairs * 2 * _DENSE < e - s:
                grey(y0, y1)
            if n_pairs == 0:
                continue
            if n_pairs * 2 * _DENSE < e - s:
                pairs = np.flatnonzero(pairs_ne)  # listed for sparse blocks only
                both = np.stack([pairs * 2, pairs * 2 + 1], axis=1).reshape(-1) + s
                waiting.append(both[f.pa[both] != f.pb[both]])
                if sum(p.size for p in waiting) >= _BLOCK_PIXELS:
                    run_sparse()
                continue
        ne = f.pa[s:e] != f.pb[s:e]
        changed = int(np.count_nonzero(ne))
        if changed * _DENSE < e - s:
            grey(y0, y1)
        if changed == 0:
            continue
        if changed * _DENSE < e - s:
            waiting.append(np.flatnonzero(ne) + s)
            if sum(p.size for p in waiting) >= _BLOCK_PIXELS:
                run_sparse()
            continue
        counted, darker, aa = _dense_block(f, y0, y1, ne, include_aa, signed)
        if out_px is not None:
            rows = out_px[s:e].reshape(y1 - y0, w)
            if out is not None and not diff_mask:
                # most pixels get a colour (pages that differ throughout): grey only the rest
                bare = np.flatnonzero(~(counted if aa is None else counted | aa))
                if bare.size * 4 < e - s:
                    out_px[s + bare] = _grey(f.pa[s + bare].view(np.uint8), o.alpha)
                else:
                    grey(y0, y1)
            # copyto with a mask writes in place, without listing the positions first
            if aa is not None and not diff_mask:
                np.copyto(rows, aa_px, where=aa)
            if not signed or darker is None:  # darker is there whenever signed
                np.copyto(rows, diff_px, where=counted)
            else:
                np.copyto(rows, diff_px, where=counted & ~darker)
                np.copyto(rows, alt_px, where=counted & darker)
        n = int(np.count_nonzero(counted))
        if n:
            count += n
            if mask is None:
                mask = np.zeros((h, w), dtype=np.bool_)
            mask[y0:y1] = counted
    if waiting:
        run_sparse()
    if not count:
        return 0, (), out
    at = np.concatenate(counted_at) if counted_at else np.zeros(0, np.int64)
    if mask is None:
        return count, _boxes_at(at, h, w), out
    mask.reshape(-1)[at] = True
    return count, _boxes(mask), out


def _equal_spans(a: U8, b: U8) -> Callable[[int, int], bool]:
    """``same(s, e)``: whether pixels s..e of two contiguous frames are equal, by libc's
    memcmp (no temporary, memory speed: most blocks of a screenshot pair are equal); always
    False where there is no memcmp to call, and the blocks are then compared pixel by pixel."""
    memcmp = _memcmp()
    if memcmp is None:
        return lambda s, e: False
    at_a, at_b = a.ctypes.data, b.ctypes.data

    def same(s: int, e: int) -> bool:
        return memcmp(at_a + 4 * s, at_b + 4 * s, 4 * (e - s)) == 0

    return same


@functools.cache
def _memcmp() -> Callable[[int, int, int], int] | None:
    import ctypes
    import sys

    try:
        libc = ctypes.cdll.msvcrt if sys.platform == "win32" else ctypes.CDLL(None)
        memcmp = libc.memcmp
    except (OSError, AttributeError):
        return None
    memcmp.argtypes = (ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t)
    memcmp.restype = ctypes.c_int
    compare_bytes: Callable[[int, int, int], int] = memcmp
    return compare_bytes


def _draw_grey(image: U8, out: U8, alpha: float) -> None:
    """pixelmatch's faded background: 255 + (Y - 255) * alpha * A / 255, stored as uint8.

    The grey is a function of the pixel alone (not of its place), and a screenshot is mostly
    runs of equal pixels: the frame is read as 64-bit pairs of pixels, the grey computed once
    per run of equal pairs, on its first pair, and repeated.
    """
    px = np.ascontiguousarray(image).reshape(-1).view("<u4")
    out_px = out.reshape(-1).view("<u4")
    even = px.size - px.size % 2
    pairs, out_pairs = px[:even].view("<u8"), out_px[:even].view("<u8")
    for s, e in _spans(pairs.size, _BLOCK_PIXELS):
        block = pairs[s:e]
        starts = np.flatnonzero(block[1:] != block[:-1])
        starts += 1
        starts = np.concatenate(([0], starts))
        out_pairs[s:e] = np.repeat(_grey(block[starts].view(np.uint8), alpha).view("<u8"),
                                   np.diff(starts, append=e - s))  # fmt: skip
    if even < px.size:
        out_px[-1:] = _grey(px[-1:].view(np.uint8), alpha)


def _grey(rgba: U8, alpha: float) -> _U32:
    """The faded grey of flat RGBA bytes, as opaque 32-bit pixels, in pixelmatch's floating
    point order."""
    px = rgba.reshape(-1, 4)
    luma = px[:, 0] * _Y[0] + px[:, 1] * _Y[1] + px[:, 2] * _Y[2]
    val = 255 + (luma - 255) * alpha * px[:, 3] / 255
    # a typed-array store truncates towards zero and wraps modulo 256; with alpha in [0, 1]
    # val stays within [0, 255], where a plain conversion does the same
    if 0.0 <= alpha <= 1.0:
        grey: _U32 = val.astype(np.uint32)
    else:
        grey = (np.trunc(val).astype(np.int64) % 256).astype(np.uint32)
    grey *= np.uint32(0x010101)
    grey |= np.uint32(0xFF000000)
    return grey


def _spans(size: int, step: int) -> Iterator[tuple[int, int]]:
    for start in range(0, size, step):
        yield start, min(size, start + step)


# ----- colour and brightness deltas


def _luma(dr: npt.NDArray[Any], dg: npt.NDArray[Any], db: npt.NDArray[Any]) -> _F64:
    """Y of a channel difference, summed in pixelmatch's order: (r + g) + b."""
    y: _F64 = dr * _Y[0]
    tmp: _F64 = dg * _Y[1]
    y += tmp
    np.multiply(db, _Y[2], out=tmp)
    y += tmp
    return y


def _yiq(dr: npt.NDArray[Any], dg: npt.NDArray[Any], db: npt.NDArray[Any]) -> tuple[_F64, _F64]:
    """(unsigned YIQ distance, Y) of channel differences, bit for bit as pixelmatch computes."""
    y = _luma(dr, dg, db)
    i: _F64 = dr * _I[0]
    tmp: _F64 = dg * _I[1]
    i -= tmp
    np.multiply(db, _I[2], out=tmp)
    i -= tmp
    q: _F64 = dr * _Q[0]
    np.multiply(dg, _Q[1], out=tmp)
    q -= tmp
    np.multiply(db, _Q[2], out=tmp)
    q += tmp
    delta: _F64 = y * _WY
    delta *= y
    np.multiply(i, _WI, out=tmp)
    tmp *= i
    delta += tmp
    np.multiply(q, _WQ, out=tmp)
    tmp *= q
    delta += tmp
    return delta, y


def _checker(pos: _I64) -> tuple[int, _I64, _I64]:
    """Background (r, g, b) of pixels at flat positions ``pos`` (pixelmatch's checkerboard).

    pixelmatch derives it from the byte offset k = 4 * pos: red from k % 2 (always 0 here),
    green and blue from the parity of k / 1.618... and k / 2.618..., truncated.
    """
    k = (pos * 4).astype(np.float64)
    g = 48 + 159 * (np.floor(k / _PHI).astype(np.int64) % 2)
    b = 48 + 159 * (np.floor(k / _PHI2).astype(np.int64) % 2)
    return 48, g, b


def _blended(p1: U8, p2: U8, pos: _I64, checkerboard: bool) -> tuple[_F64, _F64, _F64]:
    """Channel differences of (k, 4) pixel pairs, with both blended over the background:
    (c1 * a1 - c2 * a2 - background * (a1 - a2)) / 255, exact integers until the division."""
    c1 = p1.astype(np.int32)
    c2 = p2.astype(np.int32)
    a1, a2 = c1[:, 3], c2[:, 3]
    da = a1 - a2
    if checkerboard:
        rb, gb, bb = _checker(pos)
    else:
        rb, gb, bb = 255, np.int64(255), np.int64(255)

    def one(ch: int, bg: int | _I64) -> _F64:
        diff: _F64 = (c1[:, ch] * a1 - c2[:, ch] * a2 - bg * da) / 255
        return diff

    return one(0, rb), one(1, gb), one(2, bb)


def _above(
    p1: U8,
    p2: U8,
    changed: _Bool | None,
    positions: Callable[[_I64], _I64],
    f: _Frames,
    opaque: bool = False,
) -> tuple[_Bool, _F64]:
    """Which (n, 4) pixel pairs differ by more than the threshold, and their Y difference.

    pixelmatch's distance is (a + b) + c with a = 0.5053 * y * y and b, c >= 0; rounding is
    monotonic, so it is never below a: a > max_delta settles a pixel without the I and Q
    terms, which are computed only for the rest (``changed`` limits those to changed pixels).
    ``positions`` maps indices into the pairs to the flat positions whose background a
    semi-transparent pair is blended with; ``opaque`` says there is none.
    """
    d = np.subtract(p1, p2, dtype=np.int16)
    y = _luma(d[:, 0], d[:, 1], d[:, 2])
    first = y * _WY
    first *= y
    above: _Bool = first > f.max_delta
    unsettled = ~above
    if changed is not None:
        unsettled &= changed
    idx = np.flatnonzero(unsettled)
    if idx.size:
        rest = d[idx]
        above[idx] = _yiq(rest[:, 0], rest[:, 1], rest[:, 2])[0] > f.max_delta
    if not opaque:
        idx = np.flatnonzero((p1[:, 3] < 255) | (p2[:, 3] < 255))
        if idx.size:
            delta, y[idx] = _yiq(*_blended(p1[idx], p2[idx], positions(idx), f.checkerboard))
            above[idx] = delta > f.max_delta
    return above, y


def _opaque(px: _U32) -> bool:
    """Whether all 32-bit pixels have alpha 255 (the high byte of a little-endian RGBA)."""
    return bool(px.min() >= 0xFF000000)


def _brightness(centre: U8, nbrs: U8, pos: _I64, checkerboard: bool) -> _F64:
    """pixelmatch's brightness delta centre - neighbour: (k, 4) and (k, 8, 4) -> (k, 8)."""
    c = centre[:, None, :]
    d = np.subtract(c, nbrs, dtype=np.int16)
    bright = _luma(d[..., 0], d[..., 1], d[..., 2])
    blend = (c[..., 3] < 255) | (nbrs[..., 3] < 255)
    if blend.any():
        sel = np.nonzero(blend)
        full = np.broadcast_to(c, nbrs.shape)
        # both pixels are blended over the background of the centre's position
        bright[sel] = _luma(*_blended(full[sel], nbrs[sel], pos[sel[0]], checkerboard))
    return bright


# ----- anti-aliasing

# index of the lowest set bit of a byte (8 for none): the first neighbour flagged in a code
_LOWEST_BIT = np.array([(i & -i).bit_length() - 1 if i else 8 for i in range(256)], np.int64)


def _count8(flags: _Bool) -> npt.NDArray[np.uint64]:
    """Per-row count of True in a (k, 8) bool array."""
    words = np.ascontiguousarray(flags).view(np.uint64).reshape(-1)
    counts: npt.NDArray[np.uint64] = (words * _SUM8) >> _SHIFT56
    return counts


def _first8(flags: _Bool) -> _I64:
    """Per column of an (8, k) bool array, the first row that is True (8 for none)."""
    code = flags[0].view(np.uint8).copy()
    for j in range(1, 8):
        code |= flags[j].view(np.uint8) << np.uint8(j)
    first: _I64 = _LOWEST_BIT[code]
    return first


def _neighbourhood(f: _Frames, pos: _I64) -> tuple[_I64, _Bool | None, _Bool]:
    """Neighbour positions (k, 8) of flat positions (the pixel itself where outside the
    frame), their validity (None: all inside) and whether each pixel is on the frame's edge
    (pixelmatch counts that as one equal sibling)."""
    ys, xs = np.divmod(pos, f.w)
    left, right = xs > 0, xs < f.w - 1
    up, down = ys > 0, ys < f.h - 1
    inside = left & right & up & down
    nb = pos[:, None] + f.offsets
    if inside.all():
        return nb, None, ~inside
    side = {(-1, 0): left, (1, 0): right, (0, -1): up, (0, 1): down}
    valid = np.empty((pos.size, 8), dtype=np.bool_)
    for j, (dx, dy) in enumerate(_NEIGHBOURS):
        if dx and dy:
            np.logical_and(side[dx, 0], side[0, dy], out=valid[:, j])
        else:
            valid[:, j] = side[dx, dy]
    return np.where(valid, nb, pos[:, None]), valid, ~inside


_Neighbourhood = tuple[_I64, "_Bool | None", _Bool]


def _sibling_counts(
    f: _Frames, pos: _I64, near: _Neighbourhood | None = None
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Equal 32-bit neighbours of each pixel in each image, plus one on the frame's edge."""
    nb, valid, edge = _neighbourhood(f, pos) if near is None else near
    counts = []
    for px in (f.pa, f.pb):
        same = px[nb] == px[pos][:, None]
        if valid is not None:
            same &= valid
        counts.append(_count8(same) + edge)
    return counts[0], counts[1]


def _sibling_map(grid: _U32, lo: int, hi: int) -> U8:
    """Equal neighbours of every pixel of rows lo..hi of a 2-D frame, plus one on its edge."""
    h = grid.shape[0]
    top, bottom = max(lo - 1, 0), min(hi + 1, h)
    g = grid[top:bottom]
    z = np.zeros(g.shape, dtype=np.uint8)
    for e, one, other in (
        (g[:, 1:] == g[:, :-1], z[:, 1:], z[:, :-1]),
        (g[1:] == g[:-1], z[1:], z[:-1]),
        (g[1:, 1:] == g[:-1, :-1], z[1:, 1:], z[:-1, :-1]),
        (g[1:, :-1] == g[:-1, 1:], z[1:, :-1], z[:-1, 1:]),
    ):
        one += e
        other += e
    z = z[lo - top : hi - top]
    z[:, 0] += 1
    if grid.shape[-1] > 1:
        z[:, -1] += 1
    inner = z[:, 1:-1]
    if lo == 0:
        inner[0] += 1
    if hi == h and (hi - lo > 1 or lo != 0):
        inner[-1] += 1
    return z


def _aa_test(
    f: _Frames,
    px: _U32,
    pos: _I64,
    many_siblings: Callable[[_I64], _Bool],
    near: _Neighbourhood | None = None,
) -> _Bool:
    """pixelmatch's antialiased(img, ...) at flat positions ``pos`` of the image ``px``.

    ``many_siblings(pos)`` tells whether pixels have 3+ equal siblings in both images;
    ``near`` is the neighbourhood of ``pos`` when the caller has it.
    """
    nb, valid, edge = _neighbourhood(f, pos) if near is None else near
    rgba = px.view(np.uint8).reshape(-1, 4)
    bright = _brightness(rgba[pos], px[nb].view(np.uint8).reshape(-1, 8, 4), pos, f.checkerboard)
    zero = bright == 0
    if valid is not None:
        bright[~valid] = 0.0
        zero &= valid
    zeroes = _count8(zero) + edge
    j_min = np.argmin(bright, axis=1)
    j_max = np.argmax(bright, axis=1)
    rows = np.arange(pos.size)
    # the first darkest and the first brightest neighbour, as pixelmatch scans them
    ok = (zeroes <= 2) & (bright[rows, j_min] < 0) & (bright[rows, j_max] > 0)
    return _extreme_siblings(f, pos, ok, j_min, j_max, many_siblings)


def _extreme_siblings(
    f: _Frames,
    pos: _I64,
    ok: _Bool,
    j_one: _I64,
    j_two: _I64,
    many_siblings: Callable[[_I64], _Bool],
) -> _Bool:
    """ok and (neighbour j_one or neighbour j_two has many siblings in both images)."""
    result = np.zeros(pos.size, dtype=np.bool_)
    sel = np.flatnonzero(ok)
    if sel.size == 0:
        return result
    hit = many_siblings(pos[sel] + f.offsets[j_one[sel]])
    todo = np.flatnonzero(~hit)
    if todo.size:
        rest = sel[todo]
        hit[todo] = many_siblings(pos[rest] + f.offsets[j_two[rest]])
    result[sel] = hit
    return result


def _aa_test_opaque(
    f: _Frames,
    luma: _F64,
    lo: int,
    pos: _I64,
    many_siblings: Callable[[_I64], _Bool],
    inside: bool,
) -> _Bool:
    """:func:`_aa_test` for pixels whose neighbourhood is opaque, from a map of their Y.

    For opaque pixels the brightness delta centre - neighbour is a dot product of integer
    channel differences in [-255, 255] with the Y coefficients. Over all such nonzero
    differences that product is at least 2.29e-6 away from zero (the coefficients scaled by
    1e8 are integers whose combinations never come closer than 229), a million times the
    rounding error. So a delta is zero exactly when the pixels are equal, and comparing
    deltas orders neighbours as comparing their Y does. The caller has already ruled out
    pixels with 3+ equal siblings, so only the brightest / darkest neighbour matters.
    ``luma`` holds Y of rows lo.. of the image; ``inside``: no pixel is on the frame's edge.
    """
    shift = lo * f.w
    if inside:
        nbt = f.offsets[:, None] + (pos - shift)
    else:
        # out-of-frame neighbours point at the centre: never the brightest or darkest
        nbt = np.ascontiguousarray(_neighbourhood(f, pos)[0].T) - shift
    flat = luma.reshape(-1)
    centre = flat[pos - shift]
    around = flat[nbt]  # (8, k)
    top = around.max(axis=0)
    bottom = around.min(axis=0)
    ok = (top > centre) & (bottom < centre)
    # the first brightest neighbour gives pixelmatch's most negative delta, and vice versa
    return _extreme_siblings(
        f, pos, ok, _first8(around == top), _first8(around == bottom), many_siblings
    )


# ----- one block of rows, two ways


def _luma_map(rows: U8) -> _F64:
    """Y of every pixel of (n, W, 4) rows, for ordering (not bit-exact with pixelmatch)."""
    luma: _F64 = rows[..., 0].astype(np.float64)
    luma *= _Y[0]
    tmp: _F64 = rows[..., 1].astype(np.float64)
    tmp *= _Y[1]
    luma += tmp
    np.multiply(rows[..., 2], _Y[2], out=tmp)
    luma += tmp
    return luma


# Y maps from _luma_map are within 1e-12 of pixelmatch's values; a squared-Y term this far
# above the threshold is above it however pixelmatch rounds.
_SETTLE_MARGIN = 1e-6
# pixelmatch's YIQ distance is a positive definite quadratic form of the RGB differences:
# never below this many times their squared length (its smallest eigenvalue is 0.0448153...;
# a test checks it), so one channel differing by c puts it at least _MIN_EIGEN * c * c.
_MIN_EIGEN = 0.0448


def _far_apart(p1: U8, p2: U8, limit: int) -> _Bool:
    """Which opaque (n, 4) pixel pairs have a channel differing by ``limit`` or more: for
    those the YIQ distance is above the threshold (see ``_Frames.far_channel``). Byte
    arithmetic only; alpha differences are zero between opaque pixels."""
    if limit > 255:
        return np.zeros(p1.shape[0], dtype=np.bool_)
    spread = np.maximum(p1, p2)
    spread -= np.minimum(p1, p2)
    far: _Bool = (spread >= limit).view(np.uint32).reshape(-1) != 0
    return far


def _frame_edge(test: _Bool, y0: int, y1: int, height: int) -> _Bool:
    """Move the pixels of ``test`` (rows y0..y1) that lie on the frame's edge to a new mask."""
    edge = np.zeros_like(test)
    for rows, cols in ((slice(None), 0), (slice(None), -1)):
        edge[rows, cols] = test[rows, cols]
        test[rows, cols] = False
    if y0 == 0:
        edge[0] |= test[0]
        test[0] = False
    if y1 == height:
        edge[-1] |= test[-1]
        test[-1] = False
    return edge


def _dense_block(
    f: _Frames, y0: int, y1: int, ne: _Bool, include_aa: bool, signed: bool
) -> _BlockResult:
    """Many changed pixels: whole-block arithmetic, sibling counts from shifted slices.
    ``signed``: the signs of the counted pixels' deltas are needed."""
    base = y0 * f.w
    shape = (y1 - y0, f.w)
    a, b = f.a[y0:y1].reshape(-1, 4), f.b[y0:y1].reshape(-1, 4)
    lo, hi = max(y0 - 1, 0), min(y1 + 1, f.h)
    rows = slice(lo * f.w, hi * f.w)
    opaque = _opaque(f.pa[rows]) and _opaque(f.pb[rows])
    if include_aa and opaque and not signed:
        # no Y needed: most pixels of pages that differ throughout are settled in bytes
        cand = _far_apart(a, b, f.far_channel)
        local = np.flatnonzero(ne & ~cand)
        if local.size:
            cand[local] = _above(a[local], b[local], None, lambda i: base + local[i], f, True)[0]
        return cand.reshape(shape), None, None
    if include_aa or not opaque:
        above, y = _above(a, b, ne, lambda i: base + i, f, opaque)
        cand, darker = above.reshape(shape), (y > 0).reshape(shape)
        lumas: tuple[_F64 | None, _F64 | None] = (None, None)
    else:
        # Y maps of both images serve the anti-aliasing test and settle most pixels here
        la, lb = _luma_map(f.a[lo:hi]), _luma_map(f.b[lo:hi])
        lumas = (la, lb)
        yd = la[y0 - lo : y1 - lo] - lb[y0 - lo : y1 - lo]
        darker = yd > 0  # its sign is exact (see _aa_test_opaque)
        first = yd * _WY
        first *= yd
        cand = first > f.max_delta + _SETTLE_MARGIN
        local = np.flatnonzero(ne & ~cand.reshape(-1))
        if local.size:
            settled = _above(a[local], b[local], None, lambda i: base + local[i], f, True)[0]
            cand.reshape(-1)[local] = settled
    if include_aa or not cand.any():
        return cand, darker, None
    za = _sibling_map(f.pa.reshape(f.h, f.w), lo, hi)
    zb = _sibling_map(f.pb.reshape(f.h, f.w), lo, hi)
    many = ((za > 2) & (zb > 2)).reshape(-1)
    shift = lo * f.w

    def many_siblings(pos: _I64) -> _Bool:
        found: _Bool = many[pos - shift]
        return found

    aa = np.zeros_like(cand)
    flat_aa = aa.reshape(-1)
    for px, z, luma in ((f.pa, za, lumas[0]), (f.pb, zb, lumas[1])):
        # equal 32-bit siblings have a zero brightness delta: 3+ rule anti-aliasing out
        test = cand & ~aa & (z[y0 - lo : y1 - lo] <= 2)
        if luma is None:
            local = np.flatnonzero(test)
            flat_aa[local[_aa_test(f, px, local + base, many_siblings)]] = True
            continue
        edge = _frame_edge(test, y0, y1, f.h)
        for part, inside in ((test, True), (edge, False)):
            local = np.flatnonzero(part)
            if local.size:
                hit = _aa_test_opaque(f, luma, lo, local + base, many_siblings, inside)
                flat_aa[local[hit]] = True
    return cand & ~aa, darker, aa


def _sparse_pixels(f: _Frames, pos: _I64, include_aa: bool) -> tuple[_I64, _Bool, _I64]:
    """Few changed pixels, at flat positions ``pos``: gather them and their neighbourhoods.

    Returns the counted positions, which of them have a negative signed delta, and the
    positions skipped as anti-aliasing.
    """
    p1 = f.pa[pos].view(np.uint8).reshape(-1, 4)
    p2 = f.pb[pos].view(np.uint8).reshape(-1, 4)
    above, y = _above(p1, p2, None, lambda i: pos[i], f)
    cand = pos[above]
    darker = y[above] > 0
    if include_aa or cand.size == 0:
        return cand, darker, cand[:0]

    def many_siblings(at: _I64) -> _Bool:
        in_a, in_b = _sibling_counts(f, at)
        both: _Bool = (in_a > 2) & (in_b > 2)
        return both

    near = _neighbourhood(f, cand)
    nb, valid, edge = near
    counts = _sibling_counts(f, cand, near)
    aa = np.zeros(cand.size, dtype=np.bool_)
    for px, siblings in zip((f.pa, f.pb), counts, strict=True):
        # equal 32-bit siblings have a zero brightness delta: 3+ rule anti-aliasing out
        idx = np.flatnonzero(~aa & (siblings <= 2))
        if idx.size:
            part = (nb[idx], None if valid is None else valid[idx], edge[idx])
            aa[idx] = _aa_test(f, px, cand[idx], many_siblings, part)
    return cand[~aa], darker[~aa], cand[aa]


# --------------------------------------------------------------------------- PyPI engine


def _compare_pixelmatch_py(a: U8, b: U8, o: _Options) -> tuple[int, _Bool | None, U8 | None]:
    """Run the PyPI port: once as a mask (the counted pixels, for boxes), and once more for
    a full diff image when one is asked for."""
    from pixelmatch import pixelmatch

    h, w = a.shape[:2]
    a_bytes, b_bytes = a.tobytes(), b.tobytes()

    def run(mask: bool) -> tuple[int, U8]:
        # the port types its output as a list of numbers; it writes a bytearray just as well
        out: Any = bytearray(h * w * 4)
        count = pixelmatch(
            a_bytes, b_bytes, w, h, out, threshold=o.threshold, includeAA=o.include_aa,
            alpha=o.alpha, aa_color=o.colours[0], diff_color=o.colours[1], diff_mask=mask,
        )  # fmt: skip
        return int(count), np.frombuffer(out, dtype=np.uint8).reshape(h, w, 4)

    count, drawn = run(mask=True)
    mask = drawn[..., 3] == 255 if count else None
    image: U8 | None = None
    if o.diff_image:
        image = (drawn if o.diff_mask else run(mask=False)[1]).copy()
    return count, mask, image


# --------------------------------------------------------------------------- boxes


def _boxes(mask: _Bool) -> tuple[Box, ...]:
    """Group the True pixels of ``mask`` into at most MAX_BOXES rectangles.

    Pixels are binned into cells of 8x8 px, and touching cells (diagonals too) form one
    region, so differences less than about a cell apart share a box. With more than
    MAX_BOXES regions the cells double in size until few enough remain. Each box is then
    tightened to its own pixels.
    """
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return ()
    # only the band of rows with differences is binned
    top = int(rows[0]) // _BOX_CELL * _BOX_CELL
    band = mask[top : int(rows[-1]) + 1]
    labels, n, cells, cell = _regions(_bin(band, _BOX_CELL))
    boxes = []
    for lab in range(1, n + 1):
        ys, xs = np.nonzero((labels == lab) & cells)
        cy0, cy1 = int(ys.min()), int(ys.max()) + 1
        cx0, cx1 = int(xs.min()), int(xs.max()) + 1
        own = labels[cy0:cy1, cx0:cx1] == lab
        py0, px0 = cy0 * cell, cx0 * cell
        region = band[py0 : cy1 * cell, px0 : cx1 * cell]
        if not own.all():
            own_px = np.repeat(np.repeat(own, cell, axis=0), cell, axis=1)
            region = region & own_px[: region.shape[0], : region.shape[1]]
        r = np.flatnonzero(region.any(axis=1))
        c = np.flatnonzero(region.any(axis=0))
        boxes.append(
            Box(
                int(px0 + c[0]), int(top + py0 + r[0]), int(c[-1] - c[0] + 1), int(r[-1] - r[0] + 1)
            )
        )
    boxes.sort(key=lambda bx: (bx.y, bx.x))
    return tuple(boxes)


def _boxes_at(pos: _I64, height: int, width: int) -> tuple[Box, ...]:
    """:func:`_boxes` for pixels given by flat position (no frame-sized mask)."""
    ys, xs = np.divmod(pos, width)
    cells = np.zeros((-(-height // _BOX_CELL), -(-width // _BOX_CELL)), dtype=np.bool_)
    cells[ys // _BOX_CELL, xs // _BOX_CELL] = True
    labels, n, _, cell = _regions(cells)
    which = labels[ys // cell, xs // cell]
    boxes = []
    for lab in range(1, n + 1):
        sel = which == lab
        y, x = ys[sel], xs[sel]
        y0, x0 = int(y.min()), int(x.min())
        boxes.append(Box(x0, y0, int(x.max()) - x0 + 1, int(y.max()) - y0 + 1))
    boxes.sort(key=lambda bx: (bx.y, bx.x))
    return tuple(boxes)


def _regions(cells: _Bool) -> tuple[npt.NDArray[np.int32], int, _Bool, int]:
    """Label touching cells; coarsen (cells twice as large) until at most MAX_BOXES regions.

    Returns the labels, their number, the (possibly coarsened) cells and the cell size.
    """
    cell = _BOX_CELL
    while True:
        labels, n = _label(cells)
        if n <= MAX_BOXES:
            return labels, n, cells, cell
        cells = _bin(cells, 2)
        cell *= 2


def _bin(grid: _Bool, size: int) -> _Bool:
    """OR-reduce a bool grid over size x size cells (the last row / column may be partial)."""
    h, w = grid.shape
    gh, gw = -(-h // size), -(-w // size)
    if h != gh * size:
        grid = np.concatenate([grid, np.zeros((gh * size - h, w), dtype=np.bool_)])
    rows: _Bool = np.logical_or.reduce(grid.reshape(gh, size, w), axis=1)
    if w != gw * size:
        rows = np.concatenate([rows, np.zeros((gh, gw * size - w), dtype=np.bool_)], axis=1)
    if size == 8:  # eight bools are one 64-bit word
        words = rows.reshape(gh, gw, 8).view(np.uint64).reshape(gh, gw)
        binned: _Bool = words != 0
        return binned
    coarse: _Bool = np.logical_or.reduce(rows.reshape(gh, gw, size), axis=2)
    return coarse


def _label(grid: _Bool) -> tuple[npt.NDArray[np.int32], int]:
    """8-connected components of a bool grid, labelled 1..n (row runs + union-find)."""
    gh, gw = grid.shape

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # runs of True cells, row by row: (row, start, end), from one diff over padded rows
    padded = np.zeros((gh, gw + 2), dtype=np.int8)
    padded[:, 1:-1] = grid
    steps = np.diff(padded.reshape(-1))
    starts = np.flatnonzero(steps == 1)
    ends = np.flatnonzero(steps == -1)
    run_rows = (starts // (gw + 2)).tolist()
    runs: list[tuple[int, int, int]] = list(
        zip(run_rows, (starts % (gw + 2)).tolist(), (ends % (gw + 2)).tolist(), strict=True)
    )
    parent = list(range(len(runs)))
    prev: list[int] = []
    cur: list[int] = []
    row = -1
    k = 0
    for idx, (r, s, e) in enumerate(runs):
        if r != row:
            prev = cur if r == row + 1 else []
            cur = []
            row = r
            k = 0
        cur.append(idx)
        # runs of the previous row touching cells s - 1 .. e (8-connectivity)
        while k < len(prev) and runs[prev[k]][2] < s:
            k += 1
        j = k
        while j < len(prev) and runs[prev[j]][1] <= e:
            ra, rb = find(idx), find(prev[j])
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
            j += 1
    labels = np.zeros((gh, gw), dtype=np.int32)
    ids: dict[int, int] = {}
    for idx, (r, s, e) in enumerate(runs):
        root = find(idx)
        labels[r, s:e] = ids.setdefault(root, len(ids) + 1)
    return labels, len(ids)
