#!/usr/bin/env python3
"""Benchmark the dualread pixel engine against pixelmatch JS 7.2.0, the PyPI port and bytes.

    .venv/bin/python benchmarks/imagediff_bench.py [--scratch DIR] [--synthetic] [--no-pypi]

Pairs (1280x720 and 1920x1080; changed / identical / fully different) are rendered with
Chromium by the shared bench's gen_images.py when it and /usr/bin/chromium exist, otherwise
drawn with Pillow (--synthetic forces that). Each engine gets the same decoded RGBA pixels;
only the compare call is timed (one warm-up, then the median of up to 21 runs within a time
budget). pixelmatch JS runs through node from benchmarks/js/node_modules in the same run
(installed with npm when missing; skipped without node). The PyPI port is timed once, on the
1280x720 changed pair only: it takes seconds. Exit status 1 when any count differs from
pixelmatch JS.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_dualread.imagediff import compare, compare_png, decode_png, engine_info  # noqa: E402

U8 = npt.NDArray[np.uint8]
JS_DIR = ROOT / "benchmarks" / "js"
SHARED_GEN = ROOT.parent / "shared" / "bench" / "imagediff" / "gen_images.py"
SIZES = ("1280x720", "1920x1080")
BUDGET_S = 3.0
MAX_RUNS = 21
MIN_RUNS = 5

JS_BENCH = """
import fs from 'fs';
import path from 'path';
import {createRequire} from 'module';
import {pathToFileURL} from 'url';
const [nm, pairsPath, budgetS] = process.argv.slice(2);
const req = createRequire(path.join(nm, '_bench_.js'));
const {PNG} = req('pngjs');
const pixelmatch = (await import(pathToFileURL(req.resolve('pixelmatch')).href)).default;
const read = p => PNG.sync.read(fs.readFileSync(p));
const median = xs => { const s = [...xs].sort((a, b) => a - b), n = s.length;
    return n % 2 ? s[(n - 1) >> 1] : (s[n / 2 - 1] + s[n / 2]) / 2; };
function timeIt(fn) {
    let result = fn();
    const times = [], t0 = performance.now();
    while (times.length < 21) {
        const s = process.hrtime.bigint();
        result = fn();
        times.push(Number(process.hrtime.bigint() - s) / 1e6);
        if (times.length >= 5 && performance.now() - t0 > 1000 * Number(budgetS)) break;
    }
    return {ms: median(times), count: result};
}
const out = {};
for (const pair of JSON.parse(fs.readFileSync(pairsPath, 'utf8'))) {
    const A = read(pair.a), B = read(pair.b);
    const row = {};
    for (const includeAA of [false, true]) {
        row[includeAA] = timeIt(() =>
            pixelmatch(A.data, B.data, null, A.width, A.height, {threshold: 0.1, includeAA}));
    }
    row.decode = timeIt(() => { read(pair.a); read(pair.b); return 0; }).ms;
    out[pair.name] = row;
}
process.stdout.write(JSON.stringify(out));
"""


def time_it(fn: Callable[[], Any], budget: float = BUDGET_S) -> tuple[float, Any]:
    """(median ms, last result) of fn: one warm-up, then up to MAX_RUNS runs within budget."""
    result = fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < MAX_RUNS:
        s = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - s) * 1000.0)
        if len(times) >= MIN_RUNS and time.perf_counter() - start > budget:
            break
    return statistics.median(times), result


# --------------------------------------------------------------------------- pairs


def rendered_pairs(scratch: Path) -> list[dict[str, Any]] | None:
    """The shared bench's Chromium-rendered pairs, when its generator and Chromium exist."""
    if not SHARED_GEN.exists() or not Path("/usr/bin/chromium").exists():
        return None
    images = scratch / "rendered"
    manifest = images / "manifest.json"
    if not manifest.exists():
        print(f"rendering pairs with {SHARED_GEN} ...", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, str(SHARED_GEN), "--out", str(images)], check=True)
    pairs: list[dict[str, Any]] = json.loads(manifest.read_text())["pairs"]
    return [p for p in pairs if p["size"] in SIZES]


def synthetic_page(width: int, height: int, variant: str) -> U8:
    """A screenshot-like page drawn with Pillow: bars, cards, anti-aliased text, a table."""
    from PIL import Image, ImageDraw, ImageFont

    im = Image.new("RGBA", (width, height), (245, 246, 248, 255))
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default(size=14)
    big = ImageFont.load_default(size=22)
    draw.rectangle((0, 0, width, 52), fill=(17, 24, 39, 255))
    draw.text((20, 16), "Acme Console   Projects   Deployments   Billing", fill="white", font=font)
    draw.rectangle((0, 52, 220, height), fill="white", outline=(229, 231, 235, 255))
    for i in range(18):
        draw.text((20, 70 + 26 * i), f"Section {i} settings", fill=(55, 65, 81, 255), font=font)
    title = "Overview of production workspace" + (" (beta)" if variant == "b" else "")
    draw.text((250, 70), title, fill=(31, 41, 51, 255), font=big)
    for c in range((width - 250) // 220):
        left = 250 + 220 * c + (1 if variant == "b" and c == 2 else 0)
        draw.rounded_rectangle(
            (left, 120, left + 200, 200), 10, fill="white", outline=(229, 231, 235, 255)
        )
        draw.text((left + 16, 134), f"Metric {c}", fill=(107, 114, 128, 255), font=font)
        draw.text((left + 16, 156), f"{(c + 3) * 12_345:,}", fill=(31, 41, 51, 255), font=big)
    colour = (29, 78, 216, 255) if variant == "b" else (37, 99, 235, 255)
    draw.rounded_rectangle((250, 220, 360, 252), 6, fill=colour)
    draw.text((266, 228), "Deploy now", fill="white", font=font)
    for r in range((height - 280) // 28):
        y = 280 + 28 * r
        draw.line((250, y, width - 30, y), fill=(240, 241, 243, 255))
        value = 1000 + 37 * r + (1 if variant == "b" and r == 7 else 0)
        draw.text((260, y + 6), f"#{40_000 + r}  service-{r}  eu-west-1  {value:,} req", font=font,
                  fill=(31, 41, 51, 255))  # fmt: skip
    return np.asarray(im).copy()


def synthetic_pairs(scratch: Path) -> list[dict[str, Any]]:
    from PIL import Image

    images = scratch / "synthetic"
    images.mkdir(parents=True, exist_ok=True)
    pairs = []
    for size in SIZES:
        width, height = (int(v) for v in size.split("x"))
        paths = {}
        for variant in ("a", "b"):
            path = images / f"{size}-{variant}.png"
            if not path.exists():
                Image.fromarray(synthetic_page(width, height, variant), "RGBA").save(path)
            paths[variant] = str(path)
        copy = images / f"{size}-a-copy.png"
        inverted = images / f"{size}-inv.png"
        if not copy.exists():
            shutil.copyfile(paths["a"], copy)
        if not inverted.exists():
            page = decode_png(Path(paths["a"]).read_bytes()).copy()
            page[..., :3] = 255 - page[..., :3]
            Image.fromarray(page, "RGBA").save(inverted)
        for kind, other in (("changed", paths["b"]), ("identical", copy), ("different", inverted)):
            pairs.append({"name": f"{size}-{kind}", "size": size, "a": paths["a"], "b": str(other)})
    return pairs


# --------------------------------------------------------------------------- pixelmatch JS


def pixelmatch_js(pairs: list[dict[str, Any]], scratch: Path) -> dict[str, Any] | None:
    if shutil.which("node") is None:
        print("node is not on PATH: no pixelmatch JS column", file=sys.stderr)
        return None
    modules = JS_DIR / "node_modules"
    if not (modules / "pixelmatch").exists() or not (modules / "pngjs").exists():
        subprocess.run(
            ["npm", "install", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"], check=True
        )
    script = scratch / "bench.mjs"
    script.write_text(JS_BENCH)
    listing = scratch / "pairs.json"
    listing.write_text(json.dumps(pairs))
    done = subprocess.run(
        ["node", str(script), str(modules), str(listing), str(BUDGET_S)],
        capture_output=True,
        text=True,
        check=True,
    )
    results: dict[str, Any] = json.loads(done.stdout)
    return results


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/dualread-imagediff-bench"))
    parser.add_argument("--synthetic", action="store_true", help="draw pairs, do not render")
    parser.add_argument("--no-pypi", action="store_true", help="skip the PyPI port")
    args = parser.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)

    pairs = None if args.synthetic else rendered_pairs(args.scratch)
    source = "rendered with Chromium" if pairs else "drawn with Pillow"
    pairs = pairs or synthetic_pairs(args.scratch)
    js = pixelmatch_js(pairs, args.scratch)
    name, version = engine_info("dualread")
    pm_name, pm_version = engine_info("pixelmatch-py")
    print(f"pairs {source}; engine {name} {version}; reference pixelmatch JS 7.2.0 "
          f"(node {_node_version()}); {pm_name} {pm_version}; numpy {np.__version__}")  # fmt: skip
    print()

    print("| pair | pixelmatch JS ms | dualread ms | vs JS | bytes == ms | vs bytes "
          "| PyPI port ms | JS count | dualread count | PyPI count | same |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    failures = 0
    decode_rows = []
    for pair in pairs:
        rows, bad, decode_row = _bench_pair(pair, js, with_pypi=not args.no_pypi)
        failures += bad
        for row in rows:
            print(row, flush=True)
        decode_rows.append(decode_row)

    print("\n| pair | pngjs decode both ms | decode_png both ms | compare_png equal bytes ms |")
    print("|---|---:|---:|---:|")
    for pair_name, pngjs_ms, decode_ms, fast_ms in decode_rows:
        print(f"| {pair_name} | {_ms(pngjs_ms)} | {decode_ms:.2f} | {fast_ms:.3f} |")
    print(f"\n{failures} mismatching counts" if failures else "\nall counts identical")
    return 1 if failures else 0


def _bench_pair(
    pair: dict[str, Any], js: dict[str, Any] | None, with_pypi: bool
) -> tuple[list[str], int, tuple[str, float | None, float, float]]:
    """Table rows of one pair (default options, then includeAA), failures, decode timings."""
    raw_a, raw_b = Path(pair["a"]).read_bytes(), Path(pair["b"]).read_bytes()
    a, b = decode_png(raw_a), decode_png(raw_b)
    byte_ms, _ = time_it(lambda: a.tobytes() == b.tobytes())
    rows, failures = [], 0
    for include_aa in (False, True):
        ms, count = time_it(lambda aa=include_aa: compare(a, b, include_aa=aa).mismatch_pixels)
        ref = js[pair["name"]][str(include_aa).lower()] if js else None
        ref_ms = ref["ms"] if ref else None
        py_ms = py_count = None
        if with_pypi and pair["name"] == "1280x720-changed":
            py_ms, py_count = _pypi_once(a, b, include_aa)
        same = (ref is None or ref["count"] == count) and py_count in (None, count)
        failures += not same
        cells = [
            pair["name"] + (" noAA" if include_aa else ""),
            _ms(ref_ms),
            f"{ms:.2f}",
            _ratio(ms, ref_ms),
            f"{byte_ms:.2f}",
            _ratio(ms, byte_ms),
            _ms(py_ms),
            str(ref["count"]) if ref else "-",
            str(count),
            "-" if py_count is None else str(py_count),
            "yes" if same else "NO",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    decode_ms, _ = time_it(lambda: (decode_png(raw_a), decode_png(raw_b)), budget=1.0)
    fast_ms, _ = time_it(lambda: compare_png(raw_a, raw_a), budget=0.5)
    pngjs_ms = js[pair["name"]]["decode"] if js else None
    return rows, failures, (pair["name"], pngjs_ms, decode_ms, fast_ms)


def _pypi_once(a: U8, b: U8, include_aa: bool) -> tuple[float, int]:
    from pixelmatch import pixelmatch

    h, w = a.shape[:2]
    start = time.perf_counter()
    count = pixelmatch(a.tobytes(), b.tobytes(), w, h, threshold=0.1, includeAA=include_aa)
    return (time.perf_counter() - start) * 1000.0, int(count)


def _node_version() -> str:
    if shutil.which("node") is None:
        return "absent"
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _ratio(ms: float, ref: float | None) -> str:
    return "-" if not ref else f"{ms / ref:.2f}x"


if __name__ == "__main__":
    sys.exit(main())
