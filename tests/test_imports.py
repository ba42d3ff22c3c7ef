"""import_attr: the one way a ``module:name`` setting is imported, with errors that say why."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_dualread.errors import DualReadError, user_traceback
from pytest_dualread.imports import ImportSpecError, import_attr


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "dr_fine.py").write_text("class App:\n    factory = 42\nNOTHING = None\n")
    (tmp_path / "dr_broken.py").write_text("raise RuntimeError('no database')\n")
    (tmp_path / "dr_needs.py").write_text("import dr_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in ("dr_fine", "dr_broken", "dr_needs"):
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
        ("dr_missing:App", "model 'dr_missing:App': no module named 'dr_missing' on sys.path"),
        ("dr_missing.dto:App", "no module named 'dr_missing' on sys.path (a module of your"),
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


@pytest.mark.usefixtures("modules")
def test_a_missing_module_is_a_path_hint_and_a_failing_one_is_the_users_traceback() -> None:
    with pytest.raises(ImportSpecError) as absent:
        import_attr("dr_missing:App", what="model")
    assert "pythonpath" in str(absent.value)
    assert user_traceback(absent.value) is None, "nothing of the user's code ran"
    for spec, last_line in [
        ("dr_broken:App", "RuntimeError: no database"),
        ("dr_needs:App", "ModuleNotFoundError: No module named 'dr_not_installed'"),
    ]:
        with pytest.raises(ImportSpecError) as broken:
            import_attr(spec, what="model")
        shown = user_traceback(broken.value)
        assert shown is not None
        assert "importlib" not in shown, "the traceback starts at the user's module"
        assert shown.splitlines()[1].strip().startswith('File "'), shown
        assert shown.endswith(last_line)
