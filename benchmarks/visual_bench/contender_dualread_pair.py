"""pytest-dualread's dual page check as a visual-peers contender: ``dual_read.check_page(path)``
renders the page on both sides (both served by the bench's one server), two captures and three
comparisons (legacy vs baseline, adapter vs baseline, adapter vs legacy).

Copied by ``benchmarks/visual_bench.py`` into the scratch project next to the shared bench's
``conftest.py``; run with ``--dual-read``. With ``VP_EMPTY=1`` the test only navigates the
test's own page: the empty run the assertion time is measured against, as for the others.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.mark.dual_read(kind="visual")
def test_pair(page: Any, vp: Any, dual_read: Any) -> None:
    if vp.empty:
        page.goto(vp.url)
        return
    with vp.timed():
        dual_read.check_page(f"/{vp.page_id}.html", full_page=vp.full_page)
