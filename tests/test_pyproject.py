"""The one pyproject.toml reader: errors name the file and the key; no pydantic on the way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_dualread.config import load_settings
from pytest_dualread.errors import ConfigError
from pytest_dualread.pyproject import dualread_table, read_pyproject


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text)
    return path


def test_tables_below_tool_dualread(tmp_path: Path) -> None:
    path = write(tmp_path, '[tool.dualread.dto.tolerances]\n"**.kcal" = { abs = 80 }\n')
    assert read_pyproject(path)["tool"]["dualread"]["dto"]["tolerances"]["**.kcal"] == {"abs": 80}
    assert dualread_table(path, "dto", "tolerances") == {"**.kcal": {"abs": 80}}
    assert dualread_table(path, "gate") == {}
    assert dualread_table(write(tmp_path, "[project]\nname = 'x'\n")) == {}


@pytest.mark.parametrize(
    ("text", "keys", "words"),
    [
        ("[tool.dualread\n", (), "pyproject.toml: is not valid TOML"),
        ("[tool]\ndualread = 3\n", (), "pyproject.toml, key 'tool.dualread': expected a table"),
        ("tool = 3\n", (), "key 'tool': expected a table"),
        ("[tool.dualread]\ngate = []\n", ("gate",), "key 'tool.dualread.gate': expected a table"),
    ],
)
def test_problems_name_the_file_and_the_key(
    tmp_path: Path, text: str, keys: tuple[str, ...], words: str
) -> None:
    with pytest.raises(ConfigError) as info:
        dualread_table(write(tmp_path, text), *keys)
    assert words in str(info.value)
    assert info.value.source == str(tmp_path / "pyproject.toml")


def test_an_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    folder = tmp_path / "pyproject.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="cannot be read"):
        read_pyproject(folder)
    (tmp_path / "bad.toml").write_bytes(b"a = '\xff'\n")
    with pytest.raises(ConfigError, match=r"bad\.toml"):
        read_pyproject(tmp_path / "bad.toml")


def test_settings_with_a_tool_key_that_is_no_table_are_a_config_error(tmp_path: Path) -> None:
    # It used to fail with AttributeError on the way to [tool.dualread].
    write(tmp_path, "tool = 3\n")
    with pytest.raises(ConfigError, match="key 'tool': expected a table"):
        load_settings(tmp_path, environ={})


def test_reading_pyproject_does_not_import_pydantic() -> None:
    code = "import sys, pytest_dualread.pyproject; print('pydantic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
