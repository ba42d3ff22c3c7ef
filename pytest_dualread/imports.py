"""Importing what a setting names as ``package.module:attribute`` (a case's pydantic model, an
in-process app target): one place that says precisely which part failed.
"""

from __future__ import annotations

import importlib

from pytest_dualread.errors import DualReadError, blame_user_code

__all__ = ["ImportSpecError", "import_attr"]


class ImportSpecError(DualReadError):
    """``spec`` does not name an importable attribute. Callers re-raise it as their own error
    (a :class:`~pytest_dualread.errors.CaseError`, a :class:`~pytest_dualread.errors.FetchError`)
    adding where the spec came from; the cause, when there is one, is the import's own error."""

    def __init__(self, message: str, *, spec: str) -> None:
        self.spec = spec
        super().__init__(message)


_MISSING = object()


def import_attr(spec: str, *, what: str) -> object:
    """Import ``package.module:name`` (``name`` may be dotted: ``module:App.factory``).

    ``what`` names the spec in messages (``model``, ``target``): ``model 'pkg.dto:Log': module
    'pkg.dto' has no 'Log'``. Raises :class:`ImportSpecError`.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ImportSpecError(f"{what} {spec!r}: expected 'package.module:name'", spec=spec)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if not _is_part_of(exc.name, module_name):
            raise _broken_module(what, spec, module_name, exc) from exc
        raise ImportSpecError(
            f"{what} {spec!r}: no module named {exc.name!r} on sys.path (a module of your "
            'project? add its folder to pytest\'s pythonpath setting, e.g. pythonpath = ["."] '
            "in [tool.pytest.ini_options])",
            spec=spec,
        ) from exc
    except Exception as exc:  # anything the module runs on import: say it, don't crash
        raise _broken_module(what, spec, module_name, exc) from exc
    found: object = module
    for part in attr.split("."):
        found = getattr(found, part, _MISSING)
        if found is _MISSING:
            raise ImportSpecError(
                f"{what} {spec!r}: module {module_name!r} has no {attr!r}", spec=spec
            )
    return found


def _is_part_of(missing: str | None, module_name: str) -> bool:
    """Whether the missing module is ``module_name`` or one of its parent packages."""
    return missing is not None and (module_name + ".").startswith(missing + ".")


def _broken_module(what: str, spec: str, module_name: str, exc: Exception) -> ImportSpecError:
    # The module exists but its own code failed: the user's error, with its traceback.
    error = ImportSpecError(
        f"{what} {spec!r}: cannot import {module_name!r}: {type(exc).__name__}: {exc}", spec=spec
    )
    return blame_user_code(error, exc)
