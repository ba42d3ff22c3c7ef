"""Where one ``visual_snapshot`` assertion spends its time, measured from outside the plugin.

Loaded with ``-p profile_plugin`` (copied into the scratch project by ``visual_bench.py
--profile``). At import it wraps functions of pytest-dualread, syrupy and Playwright's page in
wall-clock timers; nothing in ``pytest_dualread`` is edited. Stages nest (``finish`` contains
``encode``, ``artifacts`` and ``syrupy``); the report subtracts. One JSON line per test goes to
``$VP_PROFILE``: its stage times (ms), its setup / call / teardown durations and the time
pytest spent on it outside those phases; one ``session`` line holds the per-session costs.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

_T0 = time.perf_counter()
_stages: dict[str, float] = {}
_session: dict[str, float] = {}
_item_start: dict[str, float] = {}
_phases: dict[str, dict[str, float]] = {}
_imported: dict[str, float] = {}
_settling = [0]
_patched: dict[str, str] = {}


def _add(bucket: dict[str, float], stage: str, ms: float) -> None:
    bucket[stage] = bucket.get(stage, 0.0) + ms


def _timed(
    stage: str | Callable[[], str], fn: Callable[..., Any], *, session: bool = False
) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        name = stage if isinstance(stage, str) else stage()
        if name == "settle":
            _settling[0] += 1
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(_session if session else _stages, name, (time.perf_counter() - t0) * 1000)
            if name == "settle":
                _settling[0] -= 1

    return wrapper


def _patch(stage: str | Callable[[], str], *where: str, session: bool = False) -> None:
    """Wrap the first of ``where`` ("module:attr" or "module:Class.attr") that exists: the
    plugin's internals move between modules, the profile follows them."""
    label = stage if isinstance(stage, str) else stage.__name__
    for spec in where:
        module_name, _, path = spec.partition(":")
        try:
            owner: Any = importlib.import_module(module_name)
            *parents, attr = path.split(".")
            for part in parents:
                owner = getattr(owner, part)
            fn = getattr(owner, attr)
        except (ImportError, AttributeError):
            continue
        setattr(owner, attr, _timed(stage, fn, session=session))
        _patched[label] = spec
        return
    _patched[label] = "not found"


def _shot_stage() -> str:
    return "screenshot_retake" if _settling[0] else "screenshot"


def _lazy_modules() -> None:
    """Import what the first assertion would import, timed once (a per-session cost)."""
    t0 = time.perf_counter()
    modules = ("pytest_dualread.visual", "pytest_dualread.snapshots", "pytest_dualread.pagecheck")
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
    _imported["lazy_imports_ms"] = (time.perf_counter() - t0) * 1000


_lazy_modules()

V = "pytest_dualread.visual"
_patch("call_total", "pytest_dualread.api:VisualSnapshot.__call__")
_patch("baseline_path", "pytest_dualread.lifecycle:locate_stored")
_patch("finish", "pytest_dualread.pagecheck:run_visual")
_patch("fingerprint", "pytest_dualread.browser:FixtureRenderer._fingerprint")
_patch("check", f"{V}:run_snapshot_check")
_patch("capture_first", "pytest_dualread.capture:SideCapturer.first")
_patch(_shot_stage, "pytest_dualread.capture:SideCapturer._shoot")
_patch("settle", "pytest_dualread.capture:SideCapturer.settle")
_patch("compare", f"{V}:compare_images")
_patch("decode", "pytest_dualread.imagediff:decode_png")
_patch("engine", "pytest_dualread.imagediff:_run")
_patch("encode_diff", f"{V}:encode_png")
_patch("artifacts_write", "pytest_dualread.artifacts:ArtifactDir.write_bytes")
_patch("artifacts_discard", "pytest_dualread.artifacts:ArtifactDir.discard")
_patch("syrupy_assert", "syrupy.assertion:SnapshotAssertion.__eq__")
_patch("syrupy_session_finish", "syrupy.session:SnapshotSession.finish", session=True)
_patch("report_write", "pytest_dualread.writer:ReportWriter.pytest_sessionfinish", session=True)
_patch("report_feed", "pytest_dualread.writer:ReportWriter.pytest_runtest_logreport")


def _emit(record: dict[str, Any]) -> None:
    path = os.environ.get("VP_PROFILE")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    _stages.clear()
    _item_start[nodeid] = time.perf_counter()
    _phases[nodeid] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    _phases.setdefault(report.nodeid, {})[report.when] = report.duration * 1000
    if report.when == "call":
        _phases[report.nodeid]["outcome_failed"] = float(report.failed)


def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    total = (time.perf_counter() - _item_start.pop(nodeid, time.perf_counter())) * 1000
    phases = _phases.pop(nodeid, {})
    spent = sum(phases.get(k, 0.0) for k in ("setup", "call", "teardown"))
    _emit(
        {
            "kind": "test",
            "nodeid": nodeid,
            "failed": bool(phases.get("outcome_failed")),
            "stages_ms": {k: round(v, 3) for k, v in _stages.items()},
            "phases_ms": {k: round(phases.get(k, 0.0), 3) for k in ("setup", "call", "teardown")},
            "outside_phases_ms": round(total - spent, 3),
        }
    )


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    _emit(
        {
            "kind": "session",
            "session_ms": {k: round(v, 3) for k, v in _session.items()},
            **{k: round(v, 3) for k, v in _imported.items()},
            "patched": _patched,
            "process_ms": round((time.perf_counter() - _T0) * 1000, 1),
        }
    )
