"""Visual settings are checked when settings load: a bad selector, clock or colour is a
ConfigError naming its key and source, never an exception inside a page check."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_dualread.config import DualReadSettings, PageOptions, VisualSettings, load_settings
from pytest_dualread.errors import ConfigError


def _load(tmp_path: Path, table: str) -> DualReadSettings:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(f"[tool.dualread.visual]\n{table}\n", encoding="utf-8")
    return load_settings(tmp_path, environ={})


BAD = [
    ("mask = ['']", "visual.mask"),
    ("mask = ['  ']", "visual.mask"),
    ('mask = [".a\\n.b"]', "visual.mask"),
    ("mask = ['div[data-x']", "visual.mask"),
    ("mask = ['a)']", "visual.mask"),
    ("mask = [':is(.a, .b']", "visual.mask"),
    ("mask_color = 'pinkish'", "visual.mask_color"),
    ("mask_color = '#ff00zz'", "visual.mask_color"),
    ("mask_color = '#12345'", "visual.mask_color"),
    ("mask_color = ''", "visual.mask_color"),
    ("freeze_clock = 'yesterday'", "visual.freeze_clock"),
    ("freeze_clock = '2025-13-40T00:00:00'", "visual.freeze_clock"),
    ("freeze_clock = '2025-09-20T08:30:00 PST'", "visual.freeze_clock"),
    (f"freeze_clock = '{'1' * 5000}'", "visual.freeze_clock"),
    ("freeze_clock = 99999999999999999", "visual.freeze_clock"),
    ("freeze_clock = nan", "visual.freeze_clock"),
    ("freeze_clock = true", "visual.freeze_clock"),
    ("pages = [{ name = 'a', path = '/a', mask = ['#x]'] }]", "visual.pages.0.mask"),
    ("pages = [{ name = 'a', path = '/a', element = '(' }]", "visual.pages.0.element"),
]


@pytest.mark.parametrize(("table", "key"), BAD)
def test_a_bad_visual_setting_is_a_config_error_naming_its_key(
    tmp_path: Path, table: str, key: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, table)
    message = str(raised.value)
    assert f"tool.dualread.{key}" in message
    assert str(tmp_path / "pyproject.toml") in message
    assert len(message) < 600
    assert "\n" not in message


GOOD = [
    ("mask = ['.clock', \"text=it's\", 'div[data-x=\"]\"]', ':is(.a, .b) > span']", None),
    ("mask_color = '#0f0'", None),
    ("mask_color = '#00FF0080'", None),
    ("mask_color = 'rgb(0, 255, 0)'", None),
    ("mask_color = 'Magenta'", None),
    ("freeze_clock = '2025-09-20T08:30:00Z'", "2025-09-20T08:30:00Z"),
    ("freeze_clock = '2025-09-20T08:30:00+09:00'", "2025-09-20T08:30:00+09:00"),
    ("freeze_clock = 1758357000", "2025-09-20T08:30:00+00:00"),
    ("freeze_clock = '1758357000'", "2025-09-20T08:30:00+00:00"),
]


@pytest.mark.parametrize(("table", "clock"), GOOD)
def test_a_good_visual_setting_loads(tmp_path: Path, table: str, clock: str | None) -> None:
    loaded = _load(tmp_path, table)
    assert loaded.visual.freeze_clock == clock


def test_a_bad_selector_given_to_check_page_is_a_config_error() -> None:
    from pytest_dualread.api import page_options

    with pytest.raises(ConfigError, match=r"'mask': selector 'div\[x' has an unclosed"):
        page_options(None, {"mask": ["div[x"]})
    with pytest.raises(ConfigError, match="'element'"):
        page_options(PageOptions(), {"element": " "})


@settings(max_examples=300, deadline=None)
@given(
    mask=st.lists(st.text(max_size=30), max_size=3),
    colour=st.text(max_size=30),
    clock=st.one_of(st.text(max_size=40), st.integers(), st.floats(allow_nan=True), st.booleans()),
)
def test_any_visual_value_loads_or_is_a_clear_validation_error(
    mask: list[str], colour: str, clock: object
) -> None:
    from pydantic import ValidationError

    from pytest_dualread.errors import validation_message

    try:
        loaded = VisualSettings(mask=mask, mask_color=colour, freeze_clock=clock)  # type: ignore[arg-type]
    except ValidationError as exc:
        problem = exc
    else:
        assert all(s.strip() for s in loaded.mask)
        return
    assert validation_message(problem)  # words every problem without raising


PAGE_BAD = [
    ("clip = { x = 0, y = 0, width = 0, height = 5 }", "visual.pages.0.clip.width"),
    ("clip = { x = 0, y = 0, width = 5 }", "visual.pages.0.clip.height"),
    ("wait_until = 'idle'", "visual.pages.0.wait_until"),
    ("hide = ['a)']", "visual.pages.0.hide"),
    ("wait_for = ''", "visual.pages.0.wait_for"),
    ("viewport = { width = 0 }", "visual.pages.0.viewport.width"),
    ("element = '#a', clip = { x = 0, y = 0, width = 5, height = 5 }", "visual.pages.0"),
    ("style = ''", "visual.pages.0.style"),
]


@pytest.mark.parametrize(("options", "key"), PAGE_BAD)
def test_a_bad_page_option_names_the_page_and_the_option(
    tmp_path: Path, options: str, key: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, f"pages = [{{ name = 'home', path = '/', {options} }}]")
    message = str(raised.value)
    assert f"key 'tool.dualread.{key}'" in message
    assert "page 'home': " in message
    assert "\n" not in message


def test_page_options_given_in_python_are_checked_alike() -> None:
    from pytest_dualread.api import page_options

    with pytest.raises(ConfigError, match="'wait_until'"):
        page_options(None, {"wait_until": "idle"})
    with pytest.raises(ConfigError, match="'element' and 'clip' both choose"):
        page_options(None, {"element": "#a", "clip": {"x": 0, "y": 0, "width": 5, "height": 5}})
    chosen = page_options(None, {"hide": [".ad"], "viewport": {"width": 300, "height": 100}})
    assert chosen.hide == [".ad"]
    assert chosen.viewport is not None
    assert (chosen.viewport.width, chosen.viewport.height) == (300, 100)


@pytest.mark.parametrize(
    ("table", "page_option", "quiet"),
    [
        ("", None, False),
        ("network_idle_s = 0.5", None, True),
        ("", 1.5, True),
        ("network_idle_s = 2", 0.0, True),
    ],
    ids=["default", "global", "page", "page-zero"],
)
def test_a_quiet_period_given_holds_back_a_verdict_of_difference(
    tmp_path: Path, table: str, page_option: float | None, quiet: bool
) -> None:
    from pytest_dualread.pagecheck import capture_options

    loaded = _load(tmp_path, table)
    options = capture_options(loaded, PageOptions(network_idle_s=page_option), root=tmp_path)
    assert options.quiet_when_different is quiet
    assert options.network_idle_s == (
        page_option if page_option is not None else loaded.visual.network_idle_s
    )
