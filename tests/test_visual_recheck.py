"""What a capture that differs from its baseline goes through before it is judged: retaken
until it settles by default, or taken again after the quiet period a page asks for. The
capturer's browser steps are replaced by recorded ones: no browser runs here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from pytest_dualread.capture import CaptureOptions, Shot, SideCapturer
from pytest_dualread.imagediff import encode_png
from pytest_dualread.visual import PixelBudget, run_snapshot_check


def _png(value: int) -> bytes:
    return encode_png(np.full((4, 6, 4), value, dtype=np.uint8))


class _Page:
    url = "http://127.0.0.1:1/page"


@pytest.mark.parametrize(
    ("quiet", "steps"), [(False, ["first", "settle"]), (True, ["first", "ready"])]
)
def test_a_differing_capture_is_settled_or_waits_for_the_quiet_period_asked_for(
    monkeypatch: pytest.MonkeyPatch, quiet: bool, steps: list[str]
) -> None:
    shown = _png(200)
    called: list[str] = []

    def step(name: str) -> Any:
        def run(self: SideCapturer, *args: Any, **kwargs: Any) -> Shot:
            called.append(name)
            self.captures += 1
            return Shot(shown, self.captures, quiet_s=0.0)

        return run

    for name in ("first", "ready", "settle"):
        monkeypatch.setattr(SideCapturer, name, step(name))
    options = replace(CaptureOptions(), quiet_when_different=quiet)
    result = run_snapshot_check(_Page(), options, PixelBudget(), baseline=_png(10))
    assert not result.passed
    assert result.settled
    # The ready capture equals the first one: it settled on the way, no third capture.
    assert called == steps
    assert result.captures == {"actual": 2}
    assert result.comparisons[0].diff.diff is not None, "judged with a diff image"
