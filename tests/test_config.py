"""config.py: precedence, and errors that name the key and where the value came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_dualread.config import config_hash, load_settings
from pytest_dualread.errors import ConfigError

PYPROJECT = """
[tool.dualread]
legacy_url = "http://127.0.0.1:8001"
adapter_url = "examples.meal_log.app:app"

[tool.dualread.adapter]
headers = { "X-Read-Path" = "adapter" }
path_prefix = "/v2"

[tool.dualread.dto]
ignore = ["**.request_id"]
tolerances = { "**.kcal" = { abs = 80 }, "**.total_kcal" = { rel = 0.18 } }

[tool.dualread.visual]
threshold = 0.2
pages = [{ name = "dashboard", path = "/dashboard/1/2025-09-20" }]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    return tmp_path


def test_pyproject_values_are_read(project: Path) -> None:
    settings = load_settings(project, environ={})
    assert settings.legacy_url == "http://127.0.0.1:8001"
    assert settings.adapter.headers == {"X-Read-Path": "adapter"}
    assert settings.adapter.path_prefix == "/v2"
    assert settings.dto.tolerances["**.kcal"].abs == 80
    assert settings.dto.tolerances["**.total_kcal"].rel == 0.18
    assert settings.visual.pages[0].name == "dashboard"
    assert settings.report_file(project) == project / "dual-read-results" / "report.json"


def test_environment_overrides_pyproject_and_flags_override_both(project: Path) -> None:
    env = {"DUALREAD_VISUAL__THRESHOLD": "0.3", "DUALREAD_LEGACY_URL": "http://env:1"}
    settings = load_settings(project, environ=env)
    assert settings.visual.threshold == 0.3
    assert settings.legacy_url == "http://env:1"
    assert settings.adapter.headers == {"X-Read-Path": "adapter"}, "nested keys are kept"
    settings = load_settings(project, environ=env, flags={"legacy_url": "http://flag:2"})
    assert settings.legacy_url == "http://flag:2"


def test_no_pyproject_means_defaults(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, environ={})
    assert settings.legacy_url is None
    assert settings.visual.viewport.width == 1280


@pytest.mark.parametrize(
    ("toml", "env", "flags", "words"),
    [
        pytest.param(
            "[tool.dualread]\nlegacy_ulr = 'x'",
            {},
            {},
            ["pyproject.toml", "key 'tool.dualread.legacy_ulr'", "unknown key 'legacy_ulr'"],
            id="unknown-top-key",
        ),
        pytest.param(
            "[tool.dualread.visual]\nthreshold = 'high'",
            {},
            {},
            ["pyproject.toml", "tool.dualread.visual.threshold", "'high'"],
            id="wrong-type",
        ),
        pytest.param(
            "[tool.dualread.dto]\ntolerances = { '**.kcal' = {} }",
            {},
            {},
            ["tool.dualread.dto.tolerances.**.kcal", "needs 'abs', 'rel' or both"],
            id="empty-tolerance",
        ),
        pytest.param(
            "[tool.dualread]\ncases_dir = 'nowhere'",
            {},
            {},
            ["tool.dualread.cases_dir", "nowhere does not exist"],
            id="missing-cases-dir",
        ),
        pytest.param(
            "[tool.dualread.adapter]\npath_prefix = 'v2/'",
            {},
            {},
            ["tool.dualread.adapter.path_prefix", "leading '/'"],
            id="bad-prefix",
        ),
        pytest.param(
            "[tool.dualread.visual]\npages = [{name='a', path='/a'}, {name='a', path='/b'}]",
            {},
            {},
            ["page name 'a' is used twice"],
            id="duplicate-page",
        ),
        pytest.param(
            "[tool.dualread\n",
            {},
            {},
            ["pyproject.toml", "is not valid TOML"],
            id="bad-toml",
        ),
        pytest.param(
            "",
            {"DUALREAD_VISUAL__TRESHOLD": "0.2"},
            {},
            ["environment variable DUALREAD_VISUAL__TRESHOLD", "unknown key 'treshold'"],
            id="unknown-nested-env",
        ),
        pytest.param(
            "",
            {"DUALREAD_LEGACY_ULR": "x"},
            {},
            ["environment variable DUALREAD_LEGACY_ULR", "unknown setting"],
            id="unknown-env",
        ),
        pytest.param(
            "",
            {"DUALREAD_DTO__IGNORE": "[oops"},
            {},
            ["environment variable DUALREAD_DTO__IGNORE", "must be JSON"],
            id="bad-json-env",
        ),
        pytest.param(
            "",
            {},
            {"adapter_url": "ftp://nope"},
            ["--dual-read-adapter-url", "expected an http(s) URL", "'ftp://nope'"],
            id="bad-flag-url",
        ),
    ],
)
def test_errors_name_the_key_and_the_source(
    tmp_path: Path, toml: str, env: dict[str, str], flags: dict[str, str], words: list[str]
) -> None:
    (tmp_path / "pyproject.toml").write_text(toml)
    with pytest.raises(ConfigError) as info:
        load_settings(tmp_path, environ=env, flags=flags)
    for word in words:
        assert word in str(info.value)


def test_config_hash_is_stable_and_ignores_output_locations(project: Path) -> None:
    first = config_hash(load_settings(project, environ={}))
    assert first == config_hash(load_settings(project, environ={}))
    moved = load_settings(project, environ={}, flags={"output_dir": "elsewhere"})
    assert config_hash(moved) == first
    changed = load_settings(project, environ={"DUALREAD_VISUAL__THRESHOLD": "0.5"})
    assert config_hash(changed) != first


def test_the_gate_policy_knows_the_report_triage_classes() -> None:
    from pytest_dualread.config import GateSettings
    from pytest_dualread.report import Triage

    assert GateSettings.model_fields["blocking_triage"].annotation == list[Triage]
