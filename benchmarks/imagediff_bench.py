#!/usr/bin/env python3
"""Benchmark the dualread pixel engine against the native pixelmatch ports, and PNG codecs.

    .venv/bin/python benchmarks/imagediff_bench.py [--quick] [--scratch DIR] [--synthetic]
        [--pypi] [--results FILE | --no-results]

Pairs (1280x720 and 1920x1080; changed / identical / fully different) are rendered with
Chromium by the shared bench's gen_images.py when it and /usr/bin/chromium exist, otherwise
drawn with Pillow (--synthetic forces that). Every engine gets the same decoded RGBA pixels
and is timed in the same run, alternating: counts only, and with a diff image (the output
buffer allocated inside the timed call, as a user would). Peers: pixelmatch JS 7.2.0 through
node (the reference: installed with npm from benchmarks/js when missing; skipped without
node), the C++ port ``pybind11-pixelmatch`` (``pip install -e '.[bench]'``), ``pixelhog`` (Rust;
its releases need Python >= 3.12) where importable, and with --pypi the pure-Python PyPI port
(seconds per pair: timed once, 1280x720 changed only).

Times are medians of CPU time (process time, every thread of the process) over up to 21 runs
within a budget after one warm-up: on a machine shared with other work, wall time measures
the neighbours; wall medians are printed too. Goals: counts and diff images <= 1.0x the
fastest native peer (the ratio is ours / fastest peer), exact to pixelmatch JS 7.2.0; PNG
decoding by the fastest exact decoder. The figures, with the machine's load, go to
benchmarks/results/imagediff_bench.json. Exit status 1 when a dualread count or diff image
differs from pixelmatch JS.
"""

from __future__ import annotations

import argparse
import importlib
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pytest_dualread.imagediff import (  # noqa: E402
    compare,
    decode_png,
    encode_png,
    engine_info,
    png_decoder,
)

U8 = npt.NDArray[np.uint8]
JS_DIR = ROOT / "benchmarks" / "js"
SHARED_GEN = ROOT.parent / "shared" / "bench" / "imagediff" / "gen_images.py"
RESULTS = ROOT / "benchmarks" / "results" / "imagediff_bench.json"
SIZES = ("1280x720", "1920x1080")
MAX_RUNS = 21
MIN_RUNS = 5

JS_BENCH = """
import fs from 'fs';
import path from 'path';
import {createRequire} from 'module';
import {pathToFileURL} from 'url';
const [nm, pairsPath, budgetS, outDir] = process.argv.slice(2);
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
        const opts = {threshold: 0.1, includeAA};
        const counts = timeIt(() => pixelmatch(A.data, B.data, null, A.width, A.height, opts));
        let diff = null;
        const drawn = timeIt(() => {
            diff = new Uint8Array(A.data.length);
            return pixelmatch(A.data, B.data, diff, A.width, A.height, opts);
        });
        const file = path.join(outDir, `${pair.name}-${includeAA}.rgba`);
        fs.writeFileSync(file, diff);
        row[includeAA] = {ms: counts.ms, count: counts.count, diff_ms: drawn.ms, diff: file};
    }
    row.decode = timeIt(() => { read(pair.a); return 0; }).ms;
    out[pair.name] = row;
}
process.stdout.write(JSON.stringify(out));
"""


class Timer:
    """Median CPU and wall ms of a call: one warm-up, then MIN_RUNS..MAX_RUNS runs in budget."""

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s

    def __call__(self, fn: Callable[[], Any]) -> tuple[float, float, Any]:
        result = fn()
        cpu: list[float] = []
        wall: list[float] = []
        start = time.perf_counter()
        while len(cpu) < MAX_RUNS:
            c0, w0 = time.process_time(), time.perf_counter()
            result = fn()
            cpu.append((time.process_time() - c0) * 1000.0)
            wall.append((time.perf_counter() - w0) * 1000.0)
            if len(cpu) >= MIN_RUNS and time.perf_counter() - start > self.budget_s:
                break
        return statistics.median(cpu), statistics.median(wall), result


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


# --------------------------------------------------------------------------- pairs


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
    page: U8 = np.asarray(im).copy()
    return page


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


# --------------------------------------------------------------------------- peers

Count = Callable[[U8, U8, bool], int]
Draw = Callable[[U8, U8, bool], tuple[int, U8]]


def ours() -> tuple[Count, Draw]:
    def counts(a: U8, b: U8, include_aa: bool) -> int:
        return compare(a, b, include_aa=include_aa).mismatch_pixels

    def drawn(a: U8, b: U8, include_aa: bool) -> tuple[int, U8]:
        result = compare(a, b, include_aa=include_aa, diff_image=True)
        assert result.diff is not None
        return result.mismatch_pixels, result.diff

    return counts, drawn


def native_peers() -> tuple[dict[str, tuple[Count, Draw]], dict[str, str]]:
    """The native ports importable here, and why each missing one is missing."""
    peers: dict[str, tuple[Count, Draw]] = {}
    missing: dict[str, str] = {}
    try:
        cpp = importlib.import_module("pybind11_pixelmatch")
    except ImportError:
        missing["pybind11-pixelmatch"] = "not installed: pip install -e '.[bench]'"
    else:
        peers[f"C++ pybind11-pixelmatch {cpp.__version__}"] = _cpp_port(cpp)
    if sys.version_info < (3, 12):
        missing["pixelhog"] = (
            "cannot be installed: every release (1.0.0 to 1.3.1) requires Python >= 3.12, "
            f"and this interpreter is Python {platform.python_version()}"
        )
    else:
        missing["pixelhog"] = "not wired into this bench yet (pip install pixelhog)"
    return peers, missing


def _cpp_port(cpp: Any) -> tuple[Count, Draw]:
    options = {}
    for include_aa in (False, True):
        opts = cpp.Options()
        opts.threshold = 0.1
        opts.includeAA = include_aa
        options[include_aa] = opts

    def counts(a: U8, b: U8, include_aa: bool) -> int:
        return int(cpp.pixelmatch(a, b, options=options[include_aa]))

    def drawn(a: U8, b: U8, include_aa: bool) -> tuple[int, U8]:
        out = np.empty_like(a)
        return int(cpp.pixelmatch(a, b, output=out, options=options[include_aa])), out

    return counts, drawn


def alpha_exactness(peers: dict[str, tuple[Count, Draw]]) -> dict[str, list[str]]:
    """Each engine's counts on the semi-transparent screenshot pair of the engine's tests,
    against pixelmatch JS 7.2.0's recorded counts: the cases where an engine differs."""
    data = ROOT / "tests" / "imagediff_data"
    recorded: dict[str, int] = json.loads((data / "expected.json").read_text())
    a, b = (decode_png((data / f"alpha-{side}.png").read_bytes()) for side in ("a", "b"))
    engines = {"dualread": _thresholded(None), **{n: _thresholded(p) for n, p in peers.items()}}
    wrong: dict[str, list[str]] = {}
    for key, expected in recorded.items():
        if not key.startswith("alpha "):
            continue
        threshold = float(key.split("threshold=")[1].split()[0])
        include_aa = key.endswith("include_aa=True")
        for name, count in engines.items():
            got = count(a, b, threshold, include_aa)
            if got != expected:
                wrong.setdefault(name, []).append(f"{key}: {got} (JS {expected})")
    return wrong


def _thresholded(peer: tuple[Count, Draw] | None) -> Callable[[U8, U8, float, bool], int]:
    if peer is None:
        return lambda a, b, t, aa: compare(a, b, threshold=t, include_aa=aa).mismatch_pixels
    cpp = importlib.import_module("pybind11_pixelmatch")

    def count(a: U8, b: U8, threshold: float, include_aa: bool) -> int:
        opts = cpp.Options()
        opts.threshold = threshold
        opts.includeAA = include_aa
        return int(cpp.pixelmatch(a, b, options=opts))

    return count


# --------------------------------------------------------------------------- pixelmatch JS


def pixelmatch_js(pairs: list[dict[str, Any]], scratch: Path, budget: float) -> dict[str, Any]:
    if shutil.which("node") is None:
        print("node is not on PATH: no pixelmatch JS column", file=sys.stderr)
        return {}
    modules = JS_DIR / "node_modules"
    if not (modules / "pixelmatch").exists() or not (modules / "pngjs").exists():
        subprocess.run(
            ["npm", "install", "--prefix", str(JS_DIR), "--no-audit", "--no-fund"], check=True
        )
    script = scratch / "bench.mjs"
    script.write_text(JS_BENCH)
    listing = scratch / "pairs.json"
    listing.write_text(json.dumps(pairs))
    outputs = scratch / "js-diffs"
    outputs.mkdir(exist_ok=True)
    done = subprocess.run(
        ["node", str(script), str(modules), str(listing), str(budget), str(outputs)],
        capture_output=True,
        text=True,
        check=True,
    )
    results: dict[str, Any] = json.loads(done.stdout)
    return results


# --------------------------------------------------------------------------- engines


def bench_engines(
    pairs: list[dict[str, Any]], js: dict[str, Any], timer: Timer, aa_options: tuple[bool, ...]
) -> list[dict[str, Any]]:
    engines = {"dualread": ours()}
    peers, _ = native_peers()
    engines.update(peers)
    rows = []
    for pair in pairs:
        a, b = (decode_png(Path(pair[side]).read_bytes()) for side in ("a", "b"))
        for include_aa in aa_options:
            ref = js.get(pair["name"], {}).get(str(include_aa).lower())
            expected = None
            if ref:
                expected = np.fromfile(ref["diff"], dtype=np.uint8).reshape(a.shape)
            row: dict[str, Any] = {"pair": pair["name"], "include_aa": include_aa, "js": ref}
            for name, (counts, drawn) in engines.items():
                row[name] = _time_engine(timer, counts, drawn, a, b, include_aa, expected)
            if ref:
                row["js"] = {k: ref[k] for k in ("ms", "count", "diff_ms")}
            rows.append(row)
            print(_engine_line(row, list(engines)), flush=True)
    return rows


def _time_engine(
    timer: Timer, counts: Count, drawn: Draw, a: U8, b: U8, aa: bool, expected: U8 | None
) -> dict[str, Any]:
    cpu, wall, count = timer(lambda: counts(a, b, aa))
    diff_cpu, diff_wall, (diff_count, image) = timer(lambda: drawn(a, b, aa))
    off = None if expected is None else int(np.any(image != expected, axis=2).sum())
    return {
        "ms": cpu, "wall_ms": wall, "count": count, "diff_ms": diff_cpu,
        "diff_wall_ms": diff_wall, "diff_count": diff_count, "diff_pixels_off_js": off,
    }  # fmt: skip


def _engine_line(row: dict[str, Any], names: list[str]) -> str:
    cells = [row["pair"] + (" includeAA" if row["include_aa"] else "")]
    js = row["js"]
    for key in ("ms", "diff_ms"):
        cells += [f"{row[n][key]:.2f}" for n in names]
        cells.append(f"{js[key]:.2f}" if js else "-")
        cells.append(_ratio(row, names, key))
    counts = [str(js["count"]) if js else "-"] + [str(row[n]["count"]) for n in names]
    cells.append(" / ".join(counts))
    cells.append(" / ".join(_off(row[n]["diff_pixels_off_js"]) for n in names))
    return "| " + " | ".join(cells) + " |"


def _ratio(row: dict[str, Any], names: list[str], key: str) -> str:
    peers = [row[n][key] for n in names[1:]]
    return f"{row[names[0]][key] / min(peers):.2f}x" if peers else "-"


def _off(pixels: int | None) -> str:
    return "-" if pixels is None else ("same" if pixels == 0 else f"{pixels} px off")


def engine_verdicts(rows: list[dict[str, Any]], names: list[str]) -> dict[str, Any]:
    verdicts: dict[str, Any] = {}
    if len(names) > 1:
        for key, goal in (("ms", "counts"), ("diff_ms", "diff image")):
            ratios = {
                _row_name(r): r[names[0]][key] / min(r[n][key] for n in names[1:]) for r in rows
            }
            worst = max(ratios, key=lambda k: ratios[k])
            verdicts[f"{goal} <= 1.0x the fastest native peer"] = {
                "pass": ratios[worst] <= 1.0, "worst": f"{worst}: {ratios[worst]:.2f}x",
                "ratios": {k: round(v, 3) for k, v in ratios.items()},
            }  # fmt: skip
    for name in names:
        wrong = [_row_name(r) for r in rows if r["js"] and not _exact(r, name)]
        verdicts[f"{name} exact to pixelmatch JS 7.2.0 (counts and diff images)"] = {
            "pass": not wrong if any(r["js"] for r in rows) else None, "differs": wrong,
        }  # fmt: skip
    return verdicts


def _row_name(row: dict[str, Any]) -> str:
    return str(row["pair"]) + (" includeAA" if row["include_aa"] else "")


def _exact(row: dict[str, Any], name: str) -> bool:
    mine, js = row[name], row["js"]
    return (
        bool(mine["count"] == mine["diff_count"] == js["count"]) and not mine["diff_pixels_off_js"]
    )


# --------------------------------------------------------------------------- PNG codecs


def bench_decoders(pairs: list[dict[str, Any]], timer: Timer) -> list[dict[str, Any]]:
    """ms per decode of each distinct 1920x1080 PNG, per decoder, exact = same RGBA as Pillow."""
    from pytest_dualread import imagediff

    decoders: dict[str, Callable[[bytes], U8]] = {
        "Pillow": imagediff._decode_with_pillow,
        "decode_png": decode_png,
    }
    try:
        pyspng = importlib.import_module("pyspng")
    except ImportError:
        print("pyspng is not installed: pip install -e '.[visual]'", file=sys.stderr)
    else:
        decoders["pyspng"] = lambda data: pyspng.load(data, format="RGBA")
    files = sorted({p[s] for p in pairs if p["size"] == "1920x1080" for s in ("a", "b")})
    rows = []
    for path in files:
        data = Path(path).read_bytes()
        reference = imagediff._decode_with_pillow(data)
        row: dict[str, Any] = {"file": Path(path).name, "bytes": len(data)}
        row["decode_png uses"] = png_decoder(data)
        for name, decode in decoders.items():
            cpu, wall, image = timer(lambda d=decode, raw=data: d(raw))  # type: ignore[misc]
            row[name] = {
                "ms": cpu,
                "wall_ms": wall,
                "exact": bool(np.array_equal(image, reference)),
            }
        rows.append(row)
    return rows


def _filtered(image: U8, kind: str) -> bytes:
    """PNG scanlines of an RGBA image with one filter on every row (none, sub or up)."""
    h = image.shape[0]
    rows = image.reshape(h, -1)
    out = np.empty((h, rows.shape[1] + 1), dtype=np.uint8)
    out[:, 0] = {"none": 0, "sub": 1, "up": 2}[kind]
    if kind == "none":
        out[:, 1:] = rows
    elif kind == "sub":
        out[:, 1:5] = rows[:, :4]
        np.subtract(rows[:, 4:], rows[:, :-4], out=out[:, 5:])
    else:
        out[0, 1:] = rows[0]
        np.subtract(rows[1:], rows[:-1], out=out[1:, 1:])
    return out.tobytes()


def bench_encoders(images: dict[str, U8], timer: Timer) -> list[dict[str, Any]]:
    """Encoding ms and bytes: Pillow (the level the engine used to use, and its default),
    encode_png, and unfiltered / sub / up rows deflated at levels 1, 3 and 6."""
    from PIL import Image

    def pillow(image: U8, level: int) -> bytes:
        buf = io.BytesIO()
        Image.fromarray(image, "RGBA").save(buf, format="PNG", compress_level=level)
        return buf.getvalue()

    rows = []
    for what, image in images.items():
        ways: dict[str, Callable[[], bytes]] = {
            "Pillow level 1 (before)": lambda i=image: pillow(i, 1),  # type: ignore[misc]
            "Pillow level 6": lambda i=image: pillow(i, 6),  # type: ignore[misc]
            "encode_png (now)": lambda i=image: encode_png(i),  # type: ignore[misc]
        }
        for kind in ("none", "sub", "up"):
            for level in (1, 3, 6):
                ways[f"{kind} filter, zlib {level}"] = (
                    lambda i=image, k=kind, lv=level: zlib.compress(_filtered(i, k), lv)  # type: ignore[misc]
                )
        for name, encode in ways.items():
            cpu, wall, data = timer(encode)
            rows.append(
                {"image": what, "way": name, "ms": cpu, "wall_ms": wall, "bytes": len(data)}
            )
        assert np.array_equal(decode_png(encode_png(image)), image)
    return rows


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/dualread-imagediff-bench"))
    parser.add_argument("--synthetic", action="store_true", help="draw pairs, do not render")
    parser.add_argument("--quick", action="store_true", help="short budgets, default options only")
    parser.add_argument("--pypi", action="store_true", help="also time the pure-Python port once")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where the figures go")
    parser.add_argument("--no-results", action="store_true", help="do not write the figures")
    args = parser.parse_args()
    args.scratch.mkdir(parents=True, exist_ok=True)
    timer = Timer(0.3 if args.quick else 1.5)
    load_before = load()

    pairs = None if args.synthetic else rendered_pairs(args.scratch)
    source = "rendered with Chromium" if pairs else "drawn with Pillow"
    pairs = pairs or synthetic_pairs(args.scratch)
    js = pixelmatch_js(pairs, args.scratch, timer.budget_s)
    peers, missing = native_peers()
    names = ["dualread", *peers]
    name, version = engine_info("dualread")
    print(f"pairs {source}; {name} {version}; peers: {', '.join(peers) or 'none'}; reference "
          f"pixelmatch JS 7.2.0 (node {_node_version()}); numpy {np.__version__}; "
          f"load {load_before}")  # fmt: skip
    for peer, why in missing.items():
        print(f"{peer}: {why}")
    print(
        "\nms are CPU-time medians (JS: wall, inside node); ratio = dualread / fastest native peer"
    )
    heads = [f"{n.split(' ')[0]} {{}} ms" for n in names] + ["JS {} ms", "{} ratio"]
    print("| pair | " + " | ".join(h.format("counts") for h in heads) + " | "
          + " | ".join(h.format("diff") for h in heads)
          + " | counts JS / " + " / ".join(n.split(" ")[0] for n in names)
          + " | diff image vs JS |")  # fmt: skip
    print("|---" * (2 * len(heads) + 3) + "|")
    aa_options = (False,) if args.quick else (False, True)
    rows = bench_engines(pairs, js, timer, aa_options)
    verdicts = engine_verdicts(rows, names)
    pypi = _pypi_once(pairs, js) if args.pypi else None
    alpha_wrong = alpha_exactness(peers)
    print("\nsemi-transparent screenshot pair (tests/imagediff_data/alpha-*.png), counts against "
          "pixelmatch JS 7.2.0 at 4 thresholds x includeAA:")  # fmt: skip
    for engine in names:
        cases = alpha_wrong.get(engine, [])
        print(f"- {engine}: " + ("exact" if not cases else "differs: " + "; ".join(cases)))
        goal = f"{engine} exact to pixelmatch JS 7.2.0 on semi-transparent pixels"
        verdicts[goal] = {"pass": not cases, "differs": cases}

    decoders = bench_decoders(pairs, timer)
    _print_decoders(decoders, js)
    verdicts.update(_decoder_verdict(decoders))
    encoders = bench_encoders(_encode_images(pairs), timer)
    _print_encoders(encoders)

    print("\n## goals")
    for goal, verdict in verdicts.items():
        state = {True: "PASS", False: "FAIL", None: "n/a"}[verdict["pass"]]
        detail = verdict.get("worst") or ", ".join(verdict.get("differs", [])[:6])
        print(f"- {goal}: {state}" + (f" ({detail})" if detail else ""))
    load_after = load()
    print(f"load after: {load_after}")
    if not args.no_results:
        figures = {
            "benchmark": "benchmarks/imagediff_bench.py" + (" --quick" if args.quick else ""),
            "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "load_before": load_before, "load_after": load_after,
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
            "python": platform.python_version(), "numpy": np.__version__,
            "method": "CPU-time medians (process time) of up to 21 runs after a warm-up; "
            "JS: wall medians inside node",
            "pairs_source": source, "missing_peers": missing, "engines": rows,
            "pypi_port": pypi, "decoders": decoders, "encoders": encoders,
            "verdicts": verdicts,
        }  # fmt: skip
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(figures, indent=1) + "\n")
        print(f"figures written to {args.results}")
    ours_exact = verdicts["dualread exact to pixelmatch JS 7.2.0 (counts and diff images)"]
    return 1 if ours_exact["pass"] is False or alpha_wrong.get("dualread") else 0


def _print_decoders(rows: list[dict[str, Any]], js: dict[str, Any]) -> None:
    names = [k for k in rows[0] if isinstance(rows[0][k], dict)] if rows else []
    print("\n## PNG decoding, ms per 1920x1080 decode (CPU); exact = same RGBA as Pillow")
    print("| file | bytes | " + " | ".join(names) + " | decode_png uses |")
    print("|---" * (len(names) + 3) + "|")
    for row in rows:
        cells = [f"{row[n]['ms']:.2f}" + ("" if row[n]["exact"] else " NOT EXACT") for n in names]
        print(f"| {row['file']} | {row['bytes']} | " + " | ".join(cells)
              + f" | {row['decode_png uses']} |")  # fmt: skip
    ms = [p["decode"] for n, p in js.items() if n.startswith("1920x1080")]
    if ms:
        print(f"pngjs (node, wall): {statistics.median(ms):.2f} ms per decode")


def _decoder_verdict(rows: list[dict[str, Any]]) -> dict[str, Any]:
    worst = 0.0
    for row in rows:
        exact = [row[n]["ms"] for n in row if isinstance(row[n], dict) and row[n]["exact"]]
        worst = max(worst, row["decode_png"]["ms"] / min(exact))
    ok = all(row["decode_png"]["exact"] for row in rows)
    goal = "decode_png exact and within 1.1x the fastest exact decoder"
    return {goal: {"pass": ok and worst <= 1.1, "worst": f"{worst:.2f}x"}}


def _encode_images(pairs: list[dict[str, Any]]) -> dict[str, U8]:
    changed = next(p for p in pairs if p["name"] == "1920x1080-changed")
    a, b = (decode_png(Path(changed[side]).read_bytes()) for side in ("a", "b"))
    diff = compare(a, b, diff_image=True).diff
    assert diff is not None
    return {"1080p diff image": diff, "1080p screenshot": np.ascontiguousarray(a)}


def _print_encoders(rows: list[dict[str, Any]]) -> None:
    print("\n## PNG encoding (RGBA), CPU ms and bytes")
    print("| image | way | ms | bytes |")
    print("|---|---|---:|---:|")
    for row in rows:
        print(f"| {row['image']} | {row['way']} | {row['ms']:.2f} | {row['bytes']} |")


def _pypi_once(pairs: list[dict[str, Any]], js: dict[str, Any]) -> dict[str, Any] | None:
    from pixelmatch import pixelmatch

    pair = next((p for p in pairs if p["name"] == "1280x720-changed"), None)
    if pair is None:
        return None
    a, b = (decode_png(Path(pair[side]).read_bytes()) for side in ("a", "b"))
    h, w = a.shape[:2]
    start = time.process_time()
    count = int(pixelmatch(a.tobytes(), b.tobytes(), w, h, threshold=0.1))
    ms = (time.process_time() - start) * 1000.0
    ref = js.get(pair["name"], {}).get("false")
    print(f"\nPyPI pixelmatch (pure Python), {pair['name']}: {ms:.0f} ms, count {count}"
          f" (JS {ref['count'] if ref else '-'})")  # fmt: skip
    return {"pair": pair["name"], "ms": ms, "count": count}


def _node_version() -> str:
    if shutil.which("node") is None:
        return "absent"
    return subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
