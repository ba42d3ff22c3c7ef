#!/usr/bin/env python3
"""One screenshot assertion against a stored baseline: pytest-dualread beside Playwright Test.

    .venv/bin/python benchmarks/visual_bench.py [--runs N] [--quick] [--profile]
        [--only pytest-dualread,pytest-dualread-no-idle,playwright-test,py-bytes,before]
        [--scenarios viewport,fullpage,changed,pair]
        [--before PATH] [--output PATH]

The method and the inputs are those of the shared visual-peers bench (``../shared/bench/
visual-peers``, read in place, never written): its 8 pages served by ``python -m http.server``
on 127.0.0.1, Debian's Chromium, a 1280x720 viewport, one warm browser per run and a new
context per test. Measured in this one run:

* ``pytest-dualread``: ``visual_snapshot(page, name)`` (``visual_bench/contender_dualread.py``,
  copied in as the test files) with ``--dual-read``; baselines made with ``--snapshot-update``;
  failing checks write expected / actual / diff PNGs and the report (``artifacts = "failed"``);
* ``playwright-test``: ``await expect(page).toHaveScreenshot(name)``, the shared ``pwtest/``
  files, with ``@playwright/test`` of the pip driver's version installed by npm into the scratch
  folder (``PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1``; browsers are never downloaded);
* ``pytest-dualread-no-idle``: the same with ``network_idle_s = 0`` (no quiet period even
  where the readiness rule asks for one: a capture that differs from its baseline): what the
  readiness default costs, measured in the same run;
* ``before`` (with ``--before PATH``): the same tests with the ``pytest_dualread`` of another
  checkout (``PYTHONPATH=PATH``; the module file imported is printed and kept in the results),
  e.g. the commit before the lifecycle redesign;
* ``py-bytes``: a screenshot and ``==`` with the baseline's bytes, the lower bound (the
  *capture floor*).

Scenarios: A, 8 pages x 5 repeats, viewport, passing; B, the long page full-page x 10, passing;
C, the changed dashboard x 5, failing; D, the dashboard x 5 as a dual page check
(``dual_read.check_page``: two captures, three comparisons; ``visual_bench/
contender_dualread_pair.py``; the others run their one assertion on the same page). Goals
(``FLOOR_GOALS``, ``PAIR_GOAL``) are in-test medians against the floor, and for D against one
Playwright Test assertion; each is printed with its verdict. Each scenario is run N times
(default 3) as the pair *empty run* (same tests, ``goto`` only) then *comparison run*,
contenders interleaved round by round (``--scenarios`` measures some of them; the baselines are
made for all). Per-assertion ms = (suite wall - empty-suite wall) / assertions (median of the
medians; min of the minima); in-test ms is timed inside the test around the assertion call alone.

``--profile`` adds a breakdown of where one pytest-dualread assertion spends its time (a
pytest plugin, ``visual_bench/profile_plugin.py``, wraps the plugin's functions from outside).

Every pytest run gets ``-p no:cacheprovider -p no:hypothesispytest`` and, unless
``--no-pyc-cache``, a bytecode cache under the scratch folder (``PYTHONPYCACHEPREFIX``): without
one, as with ``PYTHONDONTWRITEBYTECODE=1``, every process recompiles (and assertion-rewrites)
each module it imports: seconds of CPU per process on a busy 2-core machine, i.e. noise.

Scratch (pages, work folders, node_modules, logs) lives in ``$DUALREAD_VISUAL_BENCH_SCRATCH``
(default ``/tmp/dualread-visual-bench``). Raw numbers go to ``benchmarks/results/
visual_bench.json`` (``--quick``: to the scratch folder); the tables are printed.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
HERE = Path(__file__).resolve().parent / "visual_bench"
SHARED = Path(
    os.environ.get("DUALREAD_VISUAL_PEERS", str(ROOT.parent / "shared" / "bench" / "visual-peers"))
)
SCRATCH = Path(os.environ.get("DUALREAD_VISUAL_BENCH_SCRATCH", "/tmp/dualread-visual-bench"))
CHROMIUM = os.environ.get("DUALREAD_VISUAL_BENCH_CHROMIUM", "/usr/bin/chromium")
DEFAULT_OUTPUT = ROOT / "benchmarks" / "results" / "visual_bench.json"
REF = "playwright-test"
OURS = "pytest-dualread"
OURS_NO_IDLE = "pytest-dualread-no-idle"
BEFORE = "before"
FLOOR = "py-bytes"
PAGES = ("dashboard", "long", "form", "article", "table", "gallery", "landing", "pricing")
# Goal of issue 7: ratio of pytest-dualread's per-assertion median to Playwright Test's.
GOALS = {"viewport": 1.0, "fullpage": 1.0, "changed": 0.5}
# Goals of issue 18, in-test medians: pytest-dualread against the capture floor (py-bytes)...
FLOOR_GOALS = {"viewport": 1.15, "fullpage": 1.15, "changed": 2.0}
# ... and a dual page check against one Playwright Test assertion on the same page, per
# assertion (suite wall minus empty-suite wall): the dual check opens, navigates and captures two
# pages inside the call, Playwright Test's assertion captures the test's open page, so only the
# whole test's cost compares like with like (the in-test ratio is printed beside it).
PAIR_GOAL = ("pair", 2.2)
# The shared bench's published Playwright Test numbers (results/tables.md), used only when
# @playwright/test cannot be installed; labelled as not measured in this run.
PUBLISHED_PW: dict[str, dict[str, float]] = {
    "viewport": {"median": 142, "min": 135, "in_test_median": 133, "in_test_min": 78},
    "fullpage": {"median": 480, "min": 481, "in_test_median": 448, "in_test_min": 373},
    "changed": {"median": 1252, "min": 1164, "in_test_median": 554, "in_test_min": 499},
    "pair": {"median": 142, "min": 135, "in_test_median": 133, "in_test_min": 78},
}
# Plugins of this venv that none of the contenders uses (hypothesis's imports hypothesis at the
# terminal summary, ~1.5 s per process): disabled for every pytest run, they only add noise.
UNRELATED_PLUGINS = ("-p", "no:hypothesispytest")
IGNORED_PARTS = {"__pycache__", "logs", "timing", "node_modules", ".pytest_cache"}
PYPROJECT = """\
# Scratch project of benchmarks/visual_bench.py (pytest-dualread's visual_snapshot contender).
[tool.dualread]
artifacts = "failed"
snapshot_dir = "snapshots"
output_dir = "dual-read-results"
legacy_url = "@BASE_URL@"
adapter_url = "@BASE_URL@"

[tool.dualread.visual]
viewport = { width = 1280, height = 720 }
"""


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    pages: tuple[str, ...]
    repeats: int
    full: bool
    changed: bool

    @property
    def assertions(self) -> int:
        return len(self.pages) * self.repeats


def scenarios(quick: bool) -> dict[str, Scenario]:
    a, b, c = (2, 4, 3) if quick else (5, 10, 5)
    d = 3 if quick else 5
    return {
        "viewport": Scenario(
            "viewport",
            f"Scenario A: unchanged pages, viewport 1280x720 ({len(PAGES)} pages x {a} repeats, "
            "passing)",
            PAGES,
            a,
            False,
            False,
        ),
        "fullpage": Scenario(
            "fullpage",
            f"Scenario B: unchanged long page (~3000 px), full page x {b} (passing)",
            ("long",),
            b,
            True,
            False,
        ),
        "changed": Scenario(
            "changed",
            f"Scenario C: changed dashboard (one number, one colour) x {c} (failing, diff path, "
            "artifacts written)",
            ("dashboard",),
            c,
            False,
            True,
        ),
        "pair": Scenario(
            "pair",
            f"Scenario D: unchanged dashboard x {d}, viewport, pytest-dualread as a dual page "
            "check (two captures, three comparisons), the others one assertion (passing)",
            ("dashboard",),
            d,
            False,
            False,
        ),
    }


@dataclass
class Contender:
    id: str
    label: str
    kind: str  # "py" or "node"
    files: dict[str, Path] = field(default_factory=dict)  # name in the work dir -> source
    test_of: dict[str, str] = field(default_factory=dict)  # scenario -> test file (py)
    flags: tuple[str, ...] = ()
    update_flags: tuple[str, ...] = ()
    update_env: dict[str, str] = field(default_factory=dict)
    baseline_per_test: bool = False  # one baseline per test node, not per page
    note: str = ""
    pyproject: str | None = None  # written into the work dir (pytest-dualread's settings)
    env: dict[str, str] = field(default_factory=dict)  # every run's environment adds these


def contenders(before: Path | None = None) -> dict[str, Contender]:
    found = _contenders()
    ours = found[OURS]
    if before is not None:
        found[BEFORE] = replace(
            ours,
            id=BEFORE,
            label=f"{ours.label.split(' (')[0]} at {before} (PYTHONPATH)",
            env={"PYTHONPATH": str(before)},
        )
    # The same assertion without the quiet-network wait after load (``network_idle_s = 0``):
    # what the readiness default costs, and what is left once a page is known to be static.
    found[OURS_NO_IDLE] = replace(
        ours,
        id=OURS_NO_IDLE,
        label=ours.label.replace("artifacts", "`network_idle_s = 0`, artifacts"),
        pyproject=PYPROJECT + "network_idle_s = 0\n",
    )
    return found


def _contenders() -> dict[str, Contender]:
    shared_py = SHARED / "py"
    ours = HERE / "contender_dualread.py"
    return {
        OURS: Contender(
            OURS,
            'pytest-dualread `visual_snapshot(page, name)` (`--dual-read`, artifacts "failed")',
            "py",
            files={
                "conftest.py": shared_py / "conftest.py",
                "test_dualread_viewport.py": ours,
                "test_dualread_fullpage.py": ours,
                "test_dualread_pair.py": HERE / "contender_dualread_pair.py",
            },
            test_of={
                "viewport": "test_dualread_viewport.py",
                "changed": "test_dualread_viewport.py",
                "fullpage": "test_dualread_fullpage.py",
                "pair": "test_dualread_pair.py",
            },
            flags=("--dual-read",),
            update_flags=("--snapshot-update",),
            baseline_per_test=True,
            note="baselines are per test node (syrupy): every repeat has its own baseline file",
            pyproject=PYPROJECT,
        ),
        REF: Contender(
            REF,
            "Playwright Test `toHaveScreenshot()`",
            "node",
            files={f: SHARED / "pwtest" / f for f in ("playwright.config.ts", "visual.spec.ts")},
        ),
        "py-bytes": Contender(
            "py-bytes",
            "pytest-playwright: screenshot + bytes == baseline (lower bound)",
            "py",
            files={
                "conftest.py": shared_py / "conftest.py",
                "test_py_bytes.py": shared_py / "test_py_bytes.py",
            },
            test_of=dict.fromkeys(("viewport", "fullpage", "changed", "pair"), "test_py_bytes.py"),
            flags=("-p", "no:dualread"),
            update_env={"VP_UPDATE": "1"},
        ),
    }


# ------------------------------------------------------------------------------ environment


def sh(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"error: {exc}"
    return out.stdout.strip()


def pip_driver_version() -> str:
    import playwright

    package = Path(playwright.__file__).parent / "driver" / "package" / "package.json"
    return str(json.loads(package.read_text())["version"])


def ensure_playwright_test(node_dir: Path) -> tuple[bool, str]:
    """Install @playwright/test matching the pip driver into ``node_dir`` (no browsers)."""
    want = pip_driver_version()
    installed = node_dir / "node_modules" / "@playwright" / "test" / "package.json"
    if installed.is_file() and json.loads(installed.read_text())["version"] == want:
        return True, f"@playwright/test {want} already in {node_dir}"
    if shutil.which("npm") is None or shutil.which("node") is None:
        return False, "node/npm not found"
    node_dir.mkdir(parents=True, exist_ok=True)
    package = {
        "name": "dualread-visual-bench-pwtest",
        "private": True,
        "dependencies": {"@playwright/test": want},
    }
    (node_dir / "package.json").write_text(json.dumps(package, indent=2) + "\n")
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    cmd = ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"]
    try:
        proc = subprocess.run(
            cmd, cwd=node_dir, env=env, capture_output=True, text=True, timeout=600, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return False, f"npm install failed: {exc}"
    if proc.returncode != 0 or not installed.is_file():
        return False, f"npm install failed (rc {proc.returncode}): {proc.stderr.strip()[-500:]}"
    return True, f"installed @playwright/test {want} into {node_dir}"


def versions(node_dir: Path) -> dict[str, Any]:
    def dist(name: str) -> str | None:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return None

    nm = node_dir / "node_modules"

    def npm(pkg: str) -> str | None:
        path = nm / pkg / "package.json"
        return str(json.loads(path.read_text())["version"]) if path.is_file() else None

    names = ["pytest-dualread", "playwright", "pytest", "pytest-playwright", "syrupy"]
    names += ["pillow", "numpy", "pixelmatch"]
    git = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    dirty = sh(["git", "-C", str(ROOT), "status", "--porcelain", "--", "pytest_dualread"])
    return {
        "chromium": sh([CHROMIUM, "--version"]),
        "chromium_deb": sh(["dpkg-query", "-W", "-f=${Version}", "chromium"]),
        "fonts_liberation_deb": sh(["dpkg-query", "-W", "-f=${Version}", "fonts-liberation"]),
        "python": platform.python_version(),
        "pip": {n: dist(n) for n in names},
        "pip_playwright_driver": pip_driver_version(),
        "npm_@playwright/test": npm("@playwright/test"),
        "npm_playwright-core": npm("playwright-core"),
        "node": sh(["node", "--version"]) if shutil.which("node") else None,
        "git_head": git,
        "pytest_dualread_modified": bool(dirty),
        "machine": {
            "uname": " ".join(platform.uname()[i] for i in (0, 2, 4)),
            "nproc": os.cpu_count(),
            "cpu": _cpu_model(),
        },
    }


def git_state() -> dict[str, str]:
    """pytest_dualread/'s committed tree and a hash of its uncommitted changes: the plugin
    under test is this checkout, which others may change while the bench runs."""
    diff = sh(["git", "-C", str(ROOT), "diff", "HEAD", "--", "pytest_dualread"])
    tree = sh(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD:pytest_dualread"])
    return {"tree": tree, "uncommitted_sha1": hashlib.sha1(diff.encode()).hexdigest()[:12]}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


class PageServer:
    """``python -m http.server 0`` on 127.0.0.1 over a scratch copy of the shared pages."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> PageServer:
        shutil.rmtree(self.root, ignore_errors=True)
        shutil.copytree(SHARED / "pages", self.root)
        cmd = [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"]
        self.proc = subprocess.Popen(
            [*cmd, "--directory", str(self.root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        match = re.search(r"port (\d+)", self.proc.stdout.readline())
        if match is None:
            self.proc.terminate()
            raise RuntimeError("http.server did not report its port")
        self.base_url = f"http://127.0.0.1:{match.group(1)}"
        return self

    def serve_changed(self, changed: bool) -> None:
        source = SHARED / ("pages_changed" if changed else "pages") / "dashboard.html"
        shutil.copy(source, self.root / "dashboard.html")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


# ------------------------------------------------------------------------------ running


@dataclass
class Bench:
    scen: dict[str, Scenario]
    runs: int
    server: PageServer
    work: Path
    node_dir: Path
    pyc_cache: Path | None = None
    extra_flags: dict[str, tuple[str, ...]] = field(default_factory=dict)
    chosen: tuple[str, ...] = ()
    """The scenarios measured (all when empty); baselines are made for all of them."""

    @property
    def measured(self) -> list[Scenario]:
        return [s for name, s in self.scen.items() if not self.chosen or name in self.chosen]

    @staticmethod
    def child_env(**extra: str) -> dict[str, str]:
        """The environment of a process the bench starts: its own ``DUALREAD_VISUAL_*``
        settings removed (the plugin takes every ``DUALREAD_*`` variable for a setting and
        refuses unknown ones), and CI markers and ``PYTEST_ADDOPTS``."""
        dropped = ("CI", "GITHUB_ACTIONS", "PYTEST_ADDOPTS")
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("DUALREAD_VISUAL_") and k not in dropped
        }
        return {**env, **extra}

    def workdir(self, c: Contender) -> Path:
        return self.work / c.id

    def prepare(self, c: Contender) -> Path:
        wd = self.workdir(c)
        shutil.rmtree(wd, ignore_errors=True)
        (wd / "logs").mkdir(parents=True)
        (wd / "timing").mkdir()
        for name, source in c.files.items():
            shutil.copy(source, wd / name)
        if c.kind == "node":
            (wd / "node_modules").symlink_to(self.node_dir / "node_modules")
        if c.pyproject is not None:
            text = c.pyproject.replace("@BASE_URL@", self.server.base_url)
            (wd / "pyproject.toml").write_text(text)
        return wd

    def imported_from(self, c: Contender) -> str:
        """The ``pytest_dualread`` a contender's pytest processes import (cwd and environment
        as in its runs)."""
        env = self.child_env(**c.env)
        code = "import pytest_dualread; print(pytest_dualread.__file__)"
        proc = subprocess.run(
            [sys.executable, "-c", code],
            cwd=self.workdir(c),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        return proc.stdout.strip() or proc.stderr.strip()[-300:]

    def command(self, c: Contender, scen: Scenario, *, update: bool) -> list[str]:
        wd = self.workdir(c)
        if c.kind == "node":
            cmd = [str(self.node_dir / "node_modules" / ".bin" / "playwright"), "test"]
            cmd += ["-c", str(wd / "playwright.config.ts")]
            return cmd + (["--update-snapshots=all"] if update else [])
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *UNRELATED_PLUGINS]
        cmd += c.flags
        cmd += [*self.extra_flags.get(c.id, ()), c.test_of[scen.name]]
        return cmd + (list(c.update_flags) if update else [])

    def run_once(
        self,
        c: Contender,
        scen: Scenario,
        tag: str,
        *,
        empty: bool = False,
        update: bool = False,
        repeats: int | None = None,
        env_extra: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        wd = self.workdir(c)
        timing = wd / "timing" / f"{tag}.jsonl"
        timing.unlink(missing_ok=True)
        env = self.child_env(
            VP_BASE_URL=self.server.base_url,
            VP_PAGES=",".join(scen.pages),
            VP_REPEATS=str(scen.repeats if repeats is None else repeats),
            VP_FULLPAGE="1" if scen.full else "0",
            VP_EMPTY="1" if empty else "0",
            VP_CHROMIUM=CHROMIUM,
            VP_JSON_REPORT=str(wd / "report.json"),
            VP_TIMING=str(timing),
            **(c.update_env if update else {}),
            **c.env,
            **(env_extra or {}),
        )
        if self.pyc_cache is not None:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.pyc_cache)
        load = round(os.getloadavg()[0], 2)
        cmd = self.command(c, scen, update=update)
        t0 = time.perf_counter()
        proc = subprocess.run(
            cmd,
            cwd=wd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=900,
            check=False,
        )
        wall = time.perf_counter() - t0
        (wd / "logs" / f"{tag}.log").write_text(proc.stdout)
        lines = timing.read_text().splitlines() if timing.exists() else []
        per = [json.loads(line) for line in lines]
        return {
            "tag": tag,
            "rc": proc.returncode,
            "wall_s": round(wall, 4),
            "loadavg_1m": load,
            "counts": parse_counts(c.kind, proc.stdout),
            "assert_ms": [r["ms"] for r in per],
            "assert_ok": sum(bool(r["ok"]) for r in per),
            "log_tail": proc.stdout[-3000:],
        }

    def setup(self, c: Contender) -> dict[str, Any]:
        """Baselines (update run), then one unchanged comparison per page that must pass."""
        self.prepare(c)
        runs = []
        # Contenders with one baseline per page share the viewport run's for the pair scenario.
        names = [n for n in ("viewport", "fullpage", "pair") if n in self.scen]
        if not c.baseline_per_test:
            names = [n for n in names if n != "pair"]
        for name in names:
            scen = self.scen[name]
            repeats = 1
            if c.baseline_per_test:
                sharing = [
                    s for s in self.scen.values() if c.test_of.get(s.name) == c.test_of[name]
                ]
                repeats = max(s.repeats for s in sharing)
            runs.append(self.run_once(c, scen, f"baseline-{name}", update=True, repeats=repeats))
        for name in names:
            runs.append(self.run_once(c, self.scen[name], f"verify-{name}", repeats=1))
        baselines = sorted(p for p in listing(self.workdir(c)) if p.endswith(".png"))
        verify_ok = all(r["rc"] == 0 for r in runs)
        return {"runs": [_brief(r) for r in runs], "baselines": len(baselines), "ok": verify_ok}


def _brief(run: dict[str, Any]) -> dict[str, Any]:
    out = {k: run[k] for k in ("tag", "rc", "wall_s", "counts")}
    if run["rc"] != 0:
        out["log_tail"] = run["log_tail"][-1500:]
    return out


def parse_counts(kind: str, log: str) -> dict[str, int]:
    if kind == "node":
        keys: Iterable[str] = ("passed", "failed", "flaky")
        text = log
    else:
        keys = ("passed", "failed", "error", "errors")
        lines = log.strip().splitlines()
        text = lines[-1] if lines else ""
    return {k: int(m.group(1)) for k in keys if (m := re.search(rf"(\d+) {k}\b", text))}


def listing(wd: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for p in wd.rglob("*"):
        rel = p.relative_to(wd)
        if not p.is_file() or set(rel.parts) & IGNORED_PARTS or str(rel) == "report.json":
            continue
        st = p.stat()
        out[rel.as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


def stats(values: Sequence[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "median": round(statistics.median(values), 2),
        "min": round(min(values), 2),
        "max": round(max(values), 2),
    }


def mismatch_reported(kind: str, log: str) -> str | None:
    if kind == "node" and (m := re.search(r"(\d+) pixels \(ratio ([\d.]+)", log)):
        return f"{m.group(1)} px (ratio {m.group(2)})"
    if m := re.search(r"(\d+) of (\d+) pixels differ", log):
        return f"{m.group(1)} px of {m.group(2)}"
    if "bytes differ" in log:
        return "not reported (bytes differ)"
    return None


ATTEMPTS = 3


def valid(scen: Scenario, run: dict[str, Any], *, empty: bool) -> bool:
    """Did every test end as it must (all passed; all failed in the changed scenario)?"""
    want = "failed" if scen.changed and not empty else "passed"
    counts = run["counts"]
    return bool(counts.get(want) == scen.assertions and sum(counts.values()) == scen.assertions)


def measure(bench: Bench, cs: list[Contender]) -> dict[str, dict[str, Any]]:
    """Every scenario, ``runs`` rounds; in each round every contender's empty run then its
    comparison run (the order rotates between rounds, so drifting load hits all alike). A pair
    with an unexpected outcome (e.g. the checkout changed under the run) is retried, at most
    ``ATTEMPTS`` times; the invalid pairs are kept in the results but not in the statistics."""
    out: dict[str, dict[str, Any]] = {c.id: {} for c in cs}
    for scen in bench.measured:
        bench.server.serve_changed(scen.changed)
        raw: dict[str, dict[str, list[dict[str, Any]]]] = {
            c.id: {"runs": [], "empties": []} for c in cs
        }
        artifacts: dict[str, list[str]] = {}
        invalid: dict[str, list[dict[str, Any]]] = {c.id: [] for c in cs}
        try:
            for i in range(bench.runs):
                order = cs[i % len(cs) :] + cs[: i % len(cs)]
                for c in order:
                    for attempt in range(ATTEMPTS):
                        tag = f"{scen.name}-{i}" + (f"-retry{attempt}" if attempt else "")
                        empty = bench.run_once(c, scen, f"{tag}-empty", empty=True)
                        before = listing(bench.workdir(c))
                        run = bench.run_once(c, scen, f"{tag}-run")
                        after = listing(bench.workdir(c))
                        ok = valid(scen, empty, empty=True) and valid(scen, run, empty=False)
                        print(
                            f"  {scen.name:9s} round {i + 1}/{bench.runs} {c.id:16s} "
                            f"empty {empty['wall_s']:6.2f}s run {run['wall_s']:6.2f}s "
                            f"rc={run['rc']} {run['counts']}{'' if ok else ' INVALID'}",
                            flush=True,
                        )
                        if ok:
                            break
                        invalid[c.id].append({"empty": _brief(empty), "run": _brief(run)})
                    if ok and c.id not in artifacts:
                        artifacts[c.id] = sorted(k for k in after if before.get(k) != after[k])
                    if ok:
                        raw[c.id]["empties"].append(empty)
                        raw[c.id]["runs"].append(run)
        finally:
            bench.server.serve_changed(False)
        for c in cs:
            runs, empties = raw[c.id]["runs"], raw[c.id]["empties"]
            if not runs:
                out[c.id][scen.name] = {
                    "measured": False,
                    "error": f"no valid pair in {bench.runs} rounds",
                    "invalid_pairs": invalid[c.id],
                }
                continue
            rw = [r["wall_s"] for r in runs]
            ew = [r["wall_s"] for r in empties]
            n = scen.assertions
            in_test = [ms for r in runs for ms in r["assert_ms"]]
            out[c.id][scen.name] = {
                "measured": True,
                "assertions_per_run": n,
                "run_wall_s": stats(rw),
                "empty_wall_s": stats(ew),
                "per_assert_ms": {
                    "median": round((statistics.median(rw) - statistics.median(ew)) / n * 1000, 1),
                    "min": round((min(rw) - min(ew)) / n * 1000, 1),
                },
                "in_test_ms": stats(in_test),
                "results": [r["counts"] or {"rc": r["rc"]} for r in runs],
                "rcs": [r["rc"] for r in runs],
                "run_walls_s": rw,
                "empty_walls_s": ew,
                "loadavg_1m": [r["loadavg_1m"] for r in runs],
                "in_test_ms_all": in_test,
                "artifacts_first_run": artifacts.get(c.id, []),
                "invalid_pairs": invalid[c.id],
                "mismatch_reported": mismatch_reported(c.kind, runs[0]["log_tail"])
                if scen.changed
                else None,
                "failing_log_tail": runs[0]["log_tail"][-1200:] if scen.changed else None,
            }
    return out


def published_reference(scen: dict[str, Scenario]) -> dict[str, Any]:
    out = {}
    for name in scen:
        p = PUBLISHED_PW[name]
        out[name] = {
            "measured": False,
            "source": str(SHARED / "results" / "tables.md"),
            "per_assert_ms": {"median": p["median"], "min": p["min"]},
            "in_test_ms": {"median": p["in_test_median"], "min": p["in_test_min"]},
        }
    return out


# ------------------------------------------------------------------------------ reporting


def _median_of(result: dict[str, Any], cid: str, scen: str, key: str) -> float | None:
    d = result["contenders"].get(cid, {}).get("scenarios", {}).get(scen) or {}
    return (d.get(key) or {}).get("median")


def _in_test(result: dict[str, Any], cid: str, scen: str) -> float | None:
    return _median_of(result, cid, scen, "in_test_ms")


def floor_goals(result: dict[str, Any]) -> dict[str, Any]:
    """Issue 18's visual goals: in-test medians against the floor (A, B, C) and, for the dual
    page check (D), against one Playwright Test assertion on the same page."""
    checks = [(name, FLOOR, limit, "in_test_ms") for name, limit in FLOOR_GOALS.items()]
    checks.append((PAIR_GOAL[0], REF, PAIR_GOAL[1], "per_assert_ms"))
    out: dict[str, Any] = {}
    for name, peer, limit, key in checks:
        ours, theirs = _median_of(result, OURS, name, key), _median_of(result, peer, name, key)
        if ours is None or not theirs:
            continue
        ratio = ours / theirs
        ours_it, theirs_it = _in_test(result, OURS, name), _in_test(result, peer, name)
        out[name] = {
            "peer": peer,
            "measure": key,
            "goal_ratio": limit,
            "ratio": round(ratio, 3),
            "in_test_ratio": round(ours_it / theirs_it, 3) if ours_it and theirs_it else None,
            "met": ratio <= limit,
            "before_ratio": None,
        }
        before = _median_of(result, BEFORE, name, key)
        if before is not None:
            out[name]["before_ratio"] = round(before / theirs, 3)
    return out


def summary_table(result: dict[str, Any], scen: dict[str, Scenario]) -> str:
    """One row per scenario: before / now / Playwright Test / floor (in-test median ms, then
    per-assertion median ms), and the issue-18 goal's verdict."""
    cols = [BEFORE, OURS, OURS_NO_IDLE, REF, FLOOR]
    shown = [c for c in cols if c in result["contenders"]]
    lines = [
        "### Summary: in-test median ms (per-assertion median ms)",
        "",
        "| scenario | " + " | ".join(shown) + " | goal |",
        "|---|" + "---|" * (len(shown) + 1),
    ]
    verdicts = result.get("floor_goals") or {}
    for name, s in scen.items():
        cells = []
        for cid in shown:
            d = result["contenders"][cid].get("scenarios", {}).get(name) or {}
            it = (d.get("in_test_ms") or {}).get("median")
            pa = (d.get("per_assert_ms") or {}).get("median")
            cells.append(f"{_fmt(it)} ({_fmt(pa)})")
        v = verdicts.get(name)
        goal = "n/a"
        if v:
            before = "" if v["before_ratio"] is None else f"; before {v['before_ratio']:.2f}x"
            measure = "in-test" if v["measure"] == "in_test_ms" else "per assertion"
            goal = (
                f"{measure} {v['ratio']:.2f}x {v['peer']} (<= {v['goal_ratio']}x): "
                f"{'met' if v['met'] else 'MISSED'}{before}"
            )
            if v["measure"] != "in_test_ms":
                goal += f" (in-test {_fmt(v['in_test_ratio'], 2)}x)"
        lines.append(f"| {s.title.split(':')[0]} | " + " | ".join(cells) + f" | {goal} |")
    lines.append("")
    return "\n".join(lines)


def goals(result: dict[str, Any]) -> dict[str, Any]:
    cs = result["contenders"]
    out: dict[str, Any] = {}
    if OURS not in cs or REF not in cs:
        return out
    for name, limit in GOALS.items():
        ours = cs[OURS]["scenarios"].get(name)
        ref = cs[REF]["scenarios"].get(name)
        if not ours or not ref or "per_assert_ms" not in ours or "per_assert_ms" not in ref:
            continue
        ratio = ours["per_assert_ms"]["median"] / ref["per_assert_ms"]["median"]
        in_test = None
        if ours.get("in_test_ms") and ref.get("in_test_ms"):
            in_test = ours["in_test_ms"]["median"] / ref["in_test_ms"]["median"]
        out[name] = {
            "goal_ratio": limit,
            "ratio": round(ratio, 3),
            "in_test_ratio": None if in_test is None else round(in_test, 3),
            "met": ratio <= limit,
            "reference_measured": bool(ref.get("measured")),
        }
    return out


def _fmt(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def tables(result: dict[str, Any], scen: dict[str, Scenario]) -> str:
    cs = result["contenders"]
    lines: list[str] = []
    for name, s in scen.items():
        ref = cs.get(REF, {}).get("scenarios", {}).get(name)
        ref_ms = ref["per_assert_ms"]["median"] if ref else None
        ref_it = (ref.get("in_test_ms") or {}).get("median") if ref else None
        lines += [
            f"### {s.title}: {s.assertions} assertions per run",
            "",
            "| contender | suite wall s (median / min) | empty wall s (median) | per-assertion ms "
            "(median / min) | ratio vs PW Test | in-test ms (median / min) | in-test ratio | "
            "result per run |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in cs.values():
            d = c["scenarios"].get(name)
            if d is None or "per_assert_ms" not in d:
                continue
            pa, it = d["per_assert_ms"], d.get("in_test_ms") or {}
            ratio = f"{pa['median'] / ref_ms:.2f}x" if ref_ms else "n/a"
            it_ratio = f"{it['median'] / ref_it:.2f}x" if ref_it and it else "n/a"
            if d.get("measured"):
                wall = f"{d['run_wall_s']['median']:.2f} / {d['run_wall_s']['min']:.2f}"
                empty = f"{d['empty_wall_s']['median']:.2f}"
                res = "; ".join(", ".join(f"{v} {k}" for k, v in r.items()) for r in d["results"])
                label = c["label"]
            else:
                wall = empty = "-"
                res = "published, NOT measured in this run"
                label = c["label"] + " (published numbers)"
            lines.append(
                f"| {label} | {wall} | {empty} | **{pa['median']:.0f}** / {pa['min']:.0f} | "
                f"{ratio} | {_fmt(it.get('median'))} / {_fmt(it.get('min'))} | {it_ratio} | "
                f"{res} |"
            )
        if s.changed:
            lines += [
                "",
                "| contender | mismatch reported | files written by the first failing run |",
                "|---|---|---|",
            ]
            for c in cs.values():
                d = c["scenarios"].get(name)
                if d is None or not d.get("measured") or "per_assert_ms" not in d:
                    continue
                arts = d["artifacts_first_run"]
                shown = ", ".join(f"`{a}`" for a in arts[:4])
                if len(arts) > 4:
                    shown += f" (+{len(arts) - 4} more; {len(arts)} files)"
                lines.append(f"| {c['label']} | {d['mismatch_reported']} | {shown or 'none'} |")
        lines.append("")
    g = result.get("goals") or {}
    if g:
        lines += ["### Goals (pytest-dualread per-assertion median / Playwright Test's)", ""]
        for name, v in g.items():
            ref_note = "" if v["reference_measured"] else " (reference NOT measured in this run)"
            lines.append(
                f"- {scen[name].title.split(':')[0]}: {v['ratio']:.2f}x, goal <= "
                f"{v['goal_ratio']:.1f}x: {'met' if v['met'] else 'MISSED'}"
                f" (in-test ratio {_fmt(v['in_test_ratio'], 2)}x){ref_note}"
            )
        lines.append("")
    return "\n".join(lines)


# ------------------------------------------------------------------------------ main


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=None, help="rounds per scenario (default 3)")
    parser.add_argument("--quick", action="store_true", help="1 round, fewer repeats")
    parser.add_argument("--profile", action="store_true", help="add pytest-dualread's breakdown")
    parser.add_argument("--only", default="", help="comma-separated contender ids")
    parser.add_argument(
        "--scenarios", default="", help="comma-separated scenarios to measure (default: all)"
    )
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="another checkout whose pytest_dualread runs as the contender 'before' "
        "(PYTHONPATH), e.g. the commit before a redesign",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="raw JSON results (default: benchmarks/results/visual_bench.json; with --quick, "
        "the scratch folder, so a quick look never replaces the committed results)",
    )
    parser.add_argument(
        "--no-pyc-cache",
        action="store_true",
        help="keep the environment's bytecode setting (default: cache in the scratch folder)",
    )
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (1 if args.quick else 3)
    if args.output is None:
        args.output = SCRATCH / "visual_bench.quick.json" if args.quick else DEFAULT_OUTPUT
    if runs < 1:
        parser.error("--runs must be at least 1")
    if not (SHARED / "pages").is_dir():
        print(f"the shared visual-peers bench is missing: {SHARED}", file=sys.stderr)
        return 2
    scen = scenarios(args.quick)
    chosen = tuple(x for x in args.scenarios.split(",") if x)
    if set(chosen) - set(scen):
        parser.error(f"unknown scenario(s): {', '.join(sorted(set(chosen) - set(scen)))}")
    if args.before is not None and not (args.before / "pytest_dualread").is_dir():
        parser.error(f"--before {args.before}: no pytest_dualread package in it")
    all_cs = contenders(args.before.resolve() if args.before else None)
    only = [x for x in args.only.split(",") if x]
    unknown = set(only) - set(all_cs)
    if unknown:
        parser.error(f"unknown contender(s): {', '.join(sorted(unknown))}")
    node_dir = SCRATCH / "node"
    selected = [c for c in all_cs.values() if not only or c.id in only]
    pw_status = "not selected"
    if any(c.id == REF for c in selected):
        ok, pw_status = ensure_playwright_test(node_dir)
        print(f"playwright-test: {pw_status}", flush=True)
        if not ok:
            selected = [c for c in selected if c.id != REF]
    t0 = time.time()
    result: dict[str, Any] = {
        "benchmark": "benchmarks/visual_bench.py",
        "method": (
            "per-assertion ms = (suite wall - empty-suite wall) / assertions (median of medians; "
            "min of minima); in-test ms = around the assertion call inside the test"
        ),
        "config": {
            "runs": runs,
            "quick": args.quick,
            "scenarios": {
                k: {"pages": list(s.pages), "repeats": s.repeats, "full_page": s.full}
                for k, s in scen.items()
            },
            "chromium": CHROMIUM,
            "viewport": "1280x720",
            "shared_bench": str(SHARED),
            "pyproject": PYPROJECT,
            "pytest_flags_all": ["-q", "-p", "no:cacheprovider", *UNRELATED_PLUGINS],
            "bytecode": (
                "environment's setting (PYTHONDONTWRITEBYTECODE="
                f"{os.environ.get('PYTHONDONTWRITEBYTECODE', '')!r})"
                if args.no_pyc_cache
                else f"cached under {SCRATCH / 'pycache'} (PYTHONPYCACHEPREFIX)"
            ),
        },
        "versions": versions(node_dir),
        "playwright_test_install": pw_status,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "git_start": git_state(),
        "contenders": {},
    }
    work = SCRATCH / "work"
    with PageServer(SCRATCH / "served") as server:
        print(f"serving {server.root} at {server.base_url}", flush=True)
        pyc = None if args.no_pyc_cache else SCRATCH / "pycache"
        bench = Bench(scen, runs, server, work, node_dir, pyc, chosen=chosen)
        for c in selected:
            print(f"== setup {c.id}", flush=True)
            setup = bench.setup(c)
            result["contenders"][c.id] = {"label": c.label, "note": c.note, "setup": setup}
            if c.id in (OURS, BEFORE):
                imported = bench.imported_from(c)
                result["contenders"][c.id]["pytest_dualread_file"] = imported
                print(f"   {c.id} imports {imported}", flush=True)
            if not setup["ok"]:
                print(f"   setup failed: {setup['runs']}", file=sys.stderr, flush=True)
        ready = [c for c in selected if result["contenders"][c.id]["setup"]["ok"]]
        measured = measure(bench, ready)
        for cid, by_scen in measured.items():
            result["contenders"][cid]["scenarios"] = by_scen
        if args.profile and OURS in measured:
            from profile_run import profile

            try:
                result["profile"] = profile(bench, all_cs[OURS])
            except Exception as exc:  # keep the measured numbers whatever the profile does
                result["profile_error"] = repr(exc)
                print(f"profile failed: {exc!r}", file=sys.stderr, flush=True)
    for c in selected:
        result["contenders"][c.id].setdefault("scenarios", {})
    if REF not in result["contenders"] and (not only or REF in only):
        result["contenders"][REF] = {
            "label": all_cs[REF].label,
            "note": f"NOT measured in this run ({pw_status}): the shared bench's published numbers",
            "scenarios": published_reference(scen),
        }
    result["goals"] = goals(result)
    result["floor_goals"] = floor_goals(result)
    result["bench_wall_s"] = round(time.time() - t0, 1)
    result["git_end"] = git_state()
    result["pytest_dualread_changed_during_run"] = result["git_end"] != result["git_start"]
    result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(result, indent=1) + "\n")
    print()
    print(tables(result, scen))
    print(summary_table(result, scen))
    if "profile" in result:
        from profile_run import profile_table

        print(profile_table(result["profile"]))
    print(f"bench wall {result['bench_wall_s']} s; raw numbers: {args.output}")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    raise SystemExit(main())
