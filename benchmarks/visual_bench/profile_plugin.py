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
import json
import os
import time
from collections.abc import Callable
from typing import Any

import pytest

import pytest_dualread.artifacts as artifacts_mod
import pytest_dualread.capture as capture_mod
import pytest_dualread.imagediff as imagediff_mod
import pytest_dualread.plugin as plugin_mod

_T0 = time.perf_counter()
_stages: dict[str, float] = {}
_session: dict[str, float] = {}
_item_start: dict[str, float] = {}
_phases: dict[str, dict[str, float]] = {}
_imported: dict[str, float] = {}


def _add(bucket: dict[str, float], stage: str, ms: float) -> None:
    bucket[stage] = bucket.get(stage, 0.0) + ms


_settling = [0]


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


def _patch(owner: Any, name: str, stage: str | Callable[[], str], *, session: bool = False) -> None:
    setattr(owner, name, _timed(stage, getattr(owner, name), session=session))


def _shot_stage() -> str:
    return "screenshot_retake" if _settling[0] else "screenshot"


def _lazy_modules() -> None:
    """Import what the first assertion would import, timed once (a per-session cost)."""
    t0 = time.perf_counter()
    import pytest_dualread.snapshots
    import pytest_dualread.visual  # noqa: F401  (numpy, Pillow, the engine)

    _imported["lazy_imports_ms"] = (time.perf_counter() - t0) * 1000


_lazy_modules()

from syrupy.assertion import SnapshotAssertion  # noqa: E402
from syrupy.session import SnapshotSession  # noqa: E402

import pytest_dualread.visual as visual_mod  # noqa: E402

_patch(plugin_mod.VisualSnapshot, "__call__", "call_total")
_patch(plugin_mod._VisualRecorder, "baseline_path", "baseline_path")
_patch(plugin_mod._VisualRecorder, "finish", "finish")
_patch(plugin_mod, "_fingerprint", "fingerprint")
_patch(visual_mod, "run_snapshot_check", "check")
_patch(capture_mod.SideCapturer, "first", "capture_first")
_patch(capture_mod.SideCapturer, "_shoot", _shot_stage)
_patch(capture_mod.SideCapturer, "settle", "settle")
_patch(visual_mod, "compare_images", "compare")
_patch(imagediff_mod, "decode_png", "decode")
_patch(imagediff_mod, "_run", "engine")
_patch(visual_mod, "encode_png", "encode_diff")
_patch(artifacts_mod.ArtifactDir, "write_bytes", "artifacts_write")
_patch(artifacts_mod.ArtifactDir, "discard", "artifacts_discard")
_patch(SnapshotAssertion, "__eq__", "syrupy_assert")
_patch(SnapshotSession, "finish", "syrupy_session_finish", session=True)
_patch(plugin_mod.ReportWriter, "write", "report_write", session=True)
_patch(plugin_mod.ReportWriter, "pytest_runtest_logreport", "report_feed")


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
            "process_ms": round((time.perf_counter() - _T0) * 1000, 1),
        }
    )
