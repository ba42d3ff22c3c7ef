"""import_attr: the one way a ``module:name`` setting is imported, with errors that say why."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_dualread.errors import DualReadError
from pytest_dualread.imports import ImportSpecError, import_attr


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "dr_fine.py").write_text("class App:\n    factory = 42\nNOTHING = None\n")
    (tmp_path / "dr_broken.py").write_text("raise RuntimeError('no database')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("dr_fine", "dr_broken"):
        sys.modules.pop(name, None)


@pytest.mark.usefixtures("modules")
def test_a_dotted_attribute_is_found() -> None:
    assert import_attr("dr_fine:App.factory", what="target") == 42
    assert import_attr("dr_fine:NOTHING", what="target") is None


@pytest.mark.usefixtures("modules")
@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("dr_fine", "model 'dr_fine': expected 'package.module:name'"),
        (":App", "expected 'package.module:name'"),
        ("dr_missing:App", "model 'dr_missing:App': cannot import 'dr_missing': ModuleNotFound"),
        ("dr_broken:App", "cannot import 'dr_broken': RuntimeError: no database"),
        ("dr_fine:App.nope", "model 'dr_fine:App.nope': module 'dr_fine' has no 'App.nope'"),
    ],
)
def test_each_failure_says_which_part_failed(spec: str, words: str) -> None:
    with pytest.raises(ImportSpecError) as info:
        import_attr(spec, what="model")
    assert words in str(info.value)
    assert info.value.spec == spec
    assert isinstance(info.value, DualReadError)
