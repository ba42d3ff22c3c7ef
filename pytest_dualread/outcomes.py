"""How checks end a test: once, at the end, with every failing check's text; errors as ERROR.

Part of the pytest glue. A check that fails raises :class:`~pytest_dualread.errors.CheckFailed`
(the check is already recorded); a soft check (``soft=True``) holds it on the item instead and
the test goes on. When the test's setup or body ends, the held checks and the one that stopped
it become one test failure showing each check's own report, without a traceback. A test whose
checks could not be judged (errors, not differences) is shown as ERROR, like a broken fixture,
so the terminal's counts say what the dual-read report says.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from pytest_dualread.session import held_key

if TYPE_CHECKING:
    from pytest_dualread.errors import CheckFailed

__all__ = ["ending_checks", "pytest_report_teststatus"]


def _shown(failed: CheckFailed) -> str:
    text = failed.message
    if failed.user_traceback:
        text += f"\n\nraised by your code:\n{failed.user_traceback}"
    return text


@contextmanager
def ending_checks(item: pytest.Item, *, last: bool) -> Iterator[None]:
    """Around a test phase: the checks held so far and one that stopped the phase become one
    failure, each check's text once (no exception chain: the checks are the report). Checks
    held by a phase that is not the ``last`` (a fixture's soft checks) wait for the test body."""
    from pytest_dualread.errors import CheckFailed

    stopped: CheckFailed | None = None
    try:
        yield
    except CheckFailed as exc:
        stopped = exc
    held = item.stash.get(held_key, [])
    failed = [*held, stopped] if stopped is not None else list(held)
    if not failed or (stopped is None and not last):
        return
    held.clear()
    head = f"{len(failed)} dual-read checks did not pass:\n\n" if len(failed) > 1 else ""
    shown = "\n\n".join(_shown(f) for f in failed)
    raise pytest.fail.Exception(head + shown, pytrace=False) from None


def pytest_report_teststatus(
    report: pytest.TestReport | pytest.CollectReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    """A dual-read test that failed only because its checks errored is an ERROR."""
    from pytest_dualread.writer import CHECK_PROPERTY

    checks = getattr(report, CHECK_PROPERTY, None)
    if not checks or not report.failed or getattr(report, "when", None) != "call":
        return None
    outcomes = {check.get("outcome") for check in checks}
    if "error" in outcomes and "failed" not in outcomes:
        return "error", "E", "ERROR"
    return None
