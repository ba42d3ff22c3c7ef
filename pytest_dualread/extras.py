"""Optional dependencies: which extra provides which import, and the error when one is missing.

``pip install pytest-dualread`` serves DTO checks, the reports and the ``dualread`` gate. The
rest comes with extras:

==============  ===============================================  ============================
extra           modules                                          needed by
==============  ===============================================  ============================
``visual``      ``playwright``, ``pytest_playwright``, ``PIL``,   page checks, the pixel diff
                ``numpy``, ``uvicorn``                           engine, in-process page serving
``metrics``     ``prometheus_client``                            ``--dual-read-metrics``
``pixelmatch``  ``pixelmatch``                                   ``engine = "pixelmatch-py"``
==============  ===============================================  ============================

Call :func:`require` right before importing an optional module (inside the function that
needs it, so that a core install never pays for it)::

    from pytest_dualread.extras import require

    require("visual", "uvicorn", feature="serving an in-process app to the browser")
    import uvicorn

A missing module then raises :class:`MissingExtra` with one line that names the extra::

    pytest-dualread: <feature> needs the '<extra>' extra: pip install 'pytest-dualread[<extra>]'
    (missing module: <name>)

(one line; wrapped here). :func:`available` answers the same question without raising, for
code that skips instead. This module imports no optional module until one of them is called.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from pytest_dualread.errors import DualReadError

__all__ = ["EXTRAS", "Extra", "MissingExtra", "available", "require"]


@dataclass(frozen=True)
class Extra:
    """An extra of the distribution: the top-level modules it installs, and what it serves
    (``feature``, the default subject of :class:`MissingExtra`'s message)."""

    modules: tuple[str, ...]
    feature: str


EXTRAS: Mapping[str, Extra] = MappingProxyType(
    {
        "visual": Extra(
            ("playwright", "pytest_playwright", "PIL", "numpy", "uvicorn"), "a visual check"
        ),
        "metrics": Extra(("prometheus_client",), "the metrics file (--dual-read-metrics)"),
        "pixelmatch": Extra(("pixelmatch",), 'engine = "pixelmatch-py"'),
    }
)
"""Extra name -> :class:`Extra`. Must match ``[project.optional-dependencies]``."""


class MissingExtra(DualReadError):
    """An optional module is not installed. ``extra`` is the extra that provides it,
    ``module`` the module that failed to import and ``feature`` what needed it."""

    def __init__(self, extra: str, module: str, feature: str) -> None:
        self.extra = extra
        self.module = module
        self.feature = feature
        super().__init__(
            f"pytest-dualread: {feature} needs the '{extra}' extra: "
            f"pip install 'pytest-dualread[{extra}]' (missing module: {module})"
        )


def require(extra: str, *modules: str, feature: str | None = None) -> None:
    """Import ``modules`` of ``extra`` (all the modules it provides when none are named);
    raise :class:`MissingExtra` for the first one that is not installed.

    ``feature`` names what needs them, as the subject of "... needs the 'visual' extra"
    (default: the extra's own :attr:`Extra.feature`). Importing an already imported module
    costs a dictionary lookup, so calling this on every use is fine. An unknown extra, or a
    module the extra does not provide, is a programming error: :class:`ValueError`.
    """
    spec = _extra(extra)
    for module in _modules(extra, spec, modules):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # exc.name is the module really absent, e.g. playwright under pytest_playwright;
            # the traceback adds nothing to the one line, hence "from None".
            raise MissingExtra(extra, exc.name or module, feature or spec.feature) from None


def available(extra: str, *modules: str) -> bool:
    """Whether :func:`require` with the same arguments would pass (it imports them too)."""
    try:
        require(extra, *modules)
    except MissingExtra:
        return False
    return True


def _extra(name: str) -> Extra:
    try:
        return EXTRAS[name]
    except KeyError:
        allowed = ", ".join(sorted(EXTRAS))
        raise ValueError(f"unknown extra {name!r}; known: {allowed}") from None


def _modules(name: str, spec: Extra, modules: tuple[str, ...]) -> tuple[str, ...]:
    stray = [m for m in modules if m.partition(".")[0] not in spec.modules]
    if stray:
        raise ValueError(f"the {name!r} extra does not provide {', '.join(stray)}")
    return modules or spec.modules
