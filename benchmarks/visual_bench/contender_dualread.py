"""pytest-dualread as a visual-peers contender: ``visual_snapshot(page, name)`` per test.

Copied by ``benchmarks/visual_bench.py`` into a scratch project next to the shared bench's
``conftest.py`` (its ``case`` parametrization, ``vp`` fixture, Chromium path and 1280x720
context); run with ``--dual-read`` (``--snapshot-update`` to create the baselines). With
``VP_EMPTY=1`` the test only navigates: the empty run the assertion time is measured against.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.dual_read(kind="visual")
def test_page(page: Any, vp: Any, visual_snapshot: Any) -> None:
    page.goto(vp.url)
    if vp.empty:
        return
    with vp.timed():
        visual_snapshot(page, vp.page_id, full_page=vp.full_page)
