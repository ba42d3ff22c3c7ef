"""What a page check adds to pytest-playwright's contexts, and how multiplied checks are named."""

from __future__ import annotations

import pytest

from pytest_dualread.browser import launch_error, multiplies
from pytest_dualread.capture import CaptureOptions, context_kwargs, effective_viewport
from pytest_dualread.snapshots import without_browser_id

OPTIONS = CaptureOptions(viewport=(400, 200), device_scale_factor=1.0)


@pytest.mark.parametrize(
    ("name", "browser", "expected"),
    [
        ("card[firefox]", "firefox", "card"),
        ("test_day[firefox-2025-09-20]", "firefox", "test_day[2025-09-20]"),
        ("test_day[2025-09-20-webkit][good]", "webkit", "test_day[2025-09-20][good]"),
        ("test_card[chromium].1", "chromium", "test_card.1"),
        ("test_card[firefox]", "chromium", "test_card[firefox]"),
        ("test_card[chromiumx]", "chromium", "test_card[chromiumx]"),
        ("card", "firefox", "card"),
    ],
)
def test_the_browser_id_is_left_out_of_a_baseline_name(
    name: str, browser: str, expected: str
) -> None:
    assert without_browser_id(name, browser) == expected


@pytest.mark.parametrize(
    ("browsers", "expected"),
    [
        (None, False),
        ([], False),
        (["chromium"], False),
        (["firefox"], True),
        (["chromium", "firefox"], True),
    ],
)
def test_only_other_or_more_browsers_multiply_checks(
    browsers: list[str] | None, expected: bool
) -> None:
    assert multiplies(browsers) is expected


def test_the_plugin_sets_viewport_scale_and_side_headers_when_the_user_does_not() -> None:
    kwargs, later = context_kwargs({"locale": "de-DE"}, OPTIONS, {"X-Side": "legacy"})
    assert kwargs == {
        "viewport": {"width": 400, "height": 200},
        "device_scale_factor": 1.0,
        "extra_http_headers": {"X-Side": "legacy"},
    }
    assert later == {}
    assert effective_viewport({"locale": "de-DE"}, OPTIONS) == ([400, 200], 1.0)


def test_the_users_context_args_win_and_side_headers_go_on_top_of_theirs() -> None:
    user = {
        "viewport": {"width": 300, "height": 150},
        "device_scale_factor": 2,
        "extra_http_headers": {"X-User": "ada", "X-Side": "theirs"},
    }
    kwargs, later = context_kwargs(user, OPTIONS, {"X-Side": "adapter"})
    assert kwargs == {}, "a keyword new_context already passes cannot be given again"
    assert later == {"X-User": "ada", "X-Side": "adapter"}
    assert effective_viewport(user, OPTIONS) == ([300, 150], 2.0)
    assert effective_viewport({"no_viewport": True}, OPTIONS) == (None, 1.0)


def test_a_browser_that_does_not_start_is_one_line_naming_the_install() -> None:
    error = launch_error("webkit", RuntimeError("Executable doesn't exist at /x\n╔══ banner"))
    assert error.reason == "browser"
    assert "\n" not in str(error)
    assert str(error).startswith("webkit could not be launched")
    assert "Executable doesn't exist at /x" in str(error)
    assert "python -m playwright install webkit" in str(error)
