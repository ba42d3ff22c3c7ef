"""validation_message: one wording for pydantic errors in case files, settings and the CLI."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_dualread.errors import validation_message


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")
    threshold: float = Field(0.1, ge=0)
    name: str


class Outer(BaseModel):
    model_config = ConfigDict(extra="forbid")
    visual: Inner
    tags: list[str] = []


def errors_of(data: object) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        Outer.model_validate(data)
    return info.value


def test_keys_are_named_under_the_prefix() -> None:
    exc = errors_of({"visual": {"name": "a", "threshold": -1}})
    assert validation_message(exc, prefix="tool.dualread") == (
        "key 'tool.dualread.visual.threshold': Input should be greater than or equal to 0 (got -1)"
    )


def test_unknown_and_missing_keys_name_themselves() -> None:
    exc = errors_of({"visual": {"treshold": 0.2}})
    assert validation_message(exc) == (
        "key 'visual.name': missing key 'name'; key 'visual.treshold': unknown key 'treshold'"
    )


def test_without_keys_an_unknown_key_says_its_table() -> None:
    exc = errors_of({"visual": {"name": "a", "treshold": 0.2}})
    assert validation_message(exc, prefix=None) == "unknown key 'treshold' in [visual]"
    top = errors_of({"visual": {"name": "a"}, "colour": "red"})
    assert validation_message(top, prefix=None) == "unknown key 'colour'"


def test_drop_leaves_the_leading_location_to_the_caller() -> None:
    exc = errors_of({"visual": {"name": "a", "threshold": "high"}})
    assert validation_message(exc, drop=1).startswith("key 'threshold': Input should be")


def test_limit_counts_the_rest() -> None:
    exc = errors_of({"visual": {"threshold": -1}, "tags": [1, 2], "x": 0})
    assert exc.error_count() == 5
    text = validation_message(exc, limit=2)
    assert text.count("; ") == 2
    assert text.endswith("; and 3 more problems")
    assert validation_message(exc, limit=4).endswith("; and 1 more problem")


def test_the_given_value_is_shown_once_and_never_a_whole_table() -> None:
    exc = errors_of({"visual": [1]})
    assert "(got" not in validation_message(exc)
    quoted = errors_of({"visual": {"name": "a", "threshold": "high"}})
    assert validation_message(quoted).count("'high'") == 1


def test_importing_errors_does_not_import_pydantic() -> None:
    code = "import sys, pytest_dualread.errors; print('pydantic' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
