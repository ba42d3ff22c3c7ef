"""The public surface is on purpose: every module says what it exports, sorted."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import pytest_dualread


def isort_key(name: str) -> tuple[int, str]:
    """CONSTANTS first, then Classes, then functions (the order ruff's RUF022 keeps)."""
    if name.isupper() or name.startswith("__"):
        return (0, name)
    return (1, name) if name[:1].isupper() else (2, name)


MODULES = sorted(m.name for m in pkgutil.iter_modules(pytest_dualread.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_every_module_declares_a_sorted_all(name: str) -> None:
    module = importlib.import_module(f"pytest_dualread.{name}")
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"pytest_dualread.{name} has no __all__"
    assert list(exported) == sorted(exported, key=isort_key), f"__all__ of {name} is not sorted"
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ names missing {symbol}"


def test_package_reexports_exactly_its_all() -> None:
    # "@py_*" names come from pytest's assertion rewriting of plugin modules.
    public = {n for n in dir(pytest_dualread) if not n.startswith(("_", "@"))} - set(MODULES)
    public -= {"annotations", "importlib"}
    assert public | {"__version__"} == set(pytest_dualread.__all__)
