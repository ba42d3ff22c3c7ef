"""The pytest glue: flags, the ``dual_read`` marker, collection, skipping, fixtures, hooks.

Everything heavy (pydantic models, deepdiff, Playwright, NumPy) is imported inside hooks and
fixtures, and only with ``--dual-read``, so a plain ``pytest`` run pays nothing for the plugin
being installed. The glue is split by what it serves: this module (options, hooks, fixtures),
:mod:`~pytest_dualread.collect` (case and page items), :mod:`~pytest_dualread.browser`
(pytest-playwright), :mod:`~pytest_dualread.session` (stash keys, a test's check context) and
:mod:`~pytest_dualread.writer` (the report writer); the checks themselves know no pytest.

How results travel (see ``docs/architecture.md``): a check keeps its result, a typed
:class:`~pytest_dualread.report.Check`, in the item's stash; a ``wrapper=True`` makereport hook
serialises the item's checks and its expectation (every dual-read item has one, so an item that
never got to record a check still shows up in the report) onto the test report, which
pytest-xdist carries from workers unchanged. The writer exists only on the controller and
validates each check once, on arrival.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_dualread.browser import browser_fixtures, dual_read_page_urls
from pytest_dualread.collect import CaseItem, ahead_key, collect_file, declared_items
from pytest_dualread.flags import add_options, refuse_unknown_flags
from pytest_dualread.outcomes import ending_checks, pytest_report_teststatus
from pytest_dualread.session import (
    SKIP_REASON,
    checks_key,
    context_of,
    enabled,
    expect_key,
    held_key,
    load_settings_of,
    multiplied_key,
    paths_left_out_key,
    record_selection,
    report_writer_key,
    rules_key,
    settings_key,
)
from pytest_dualread.shard import mark_kind, register_markers, shard_items
from pytest_dualread.writer import CHECK_PROPERTY, EXPECT_PROPERTY, ReportWriter, invalidate_early

if TYPE_CHECKING:
    from pytest_dualread.api import DualRead, VisualSnapshot
    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.fetch import PairFetcher, Side

__all__ = [
    "dual_read",
    "dual_read_client_args",
    "dual_read_fetcher",
    "dual_read_page_urls",
    "pytest_report_teststatus",
    "visual_snapshot",
]

_KINDS = ("dto", "visual")
_order_key = pytest.StashKey[tuple[list[pytest.Item], dict[int, int]]]()
_kept_key = pytest.StashKey[int]()
"""Dual-read items this process collected, after the sample."""


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


# ---------------------------------------------------------------------------------------------
# configuration


def _argv(config: pytest.Config) -> list[str]:
    return [Path(sys.argv[0]).name, *config.invocation_params.args]


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    # The earliest moment the plugin runs, before pytest validates the flags and before
    # [tool.dualread] is read: a usage error from here on leaves no green report behind.
    invalidate_early(early_config, _argv(early_config))
    refuse_unknown_flags(early_config.invocation_params.args)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "dual_read(kind='dto'): a dual-read check (kind 'dto' or 'visual'); skipped without "
        "--dual-read, recorded in the dual-read report with it.",
    )
    register_markers(config)
    if not enabled(config):
        return
    from pytest_dualread.collect import rule_error_at
    from pytest_dualread.dtocheck import rules_from
    from pytest_dualread.errors import ConfigError
    from pytest_dualread.extras import MissingExtra, require

    try:
        settings = load_settings_of(config)
        dto = settings.dto
        rules = rules_from(dto.tolerances, dto.ignore, dto.list_keys, dto.coerce_numbers)
        if config.getoption("dual_read_metrics"):
            require("metrics")  # before the run, not when it ends
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-dualread: {exc}") from None
    except MissingExtra as exc:
        raise pytest.UsageError(str(exc)) from None
    except ValueError as exc:  # a rule of [tool.dualread.dto], named with its line
        at = rule_error_at(config.rootpath / "pyproject.toml", exc)
        raise pytest.UsageError(f"pytest-dualread: {at} ([tool.dualread.dto])") from None
    config.stash[settings_key] = settings
    config.stash[rules_key] = rules
    if config.pluginmanager.has_plugin("playwright"):
        config.pluginmanager.register(browser_fixtures(), "dualread-browser")
    # The controller (or a run without xdist) writes the report; --collect-only writes nothing.
    if not hasattr(config, "workerinput") and not config.option.collectonly:
        writer = ReportWriter.for_session(config, settings, _argv(config))
        config.stash[report_writer_key] = writer
        config.pluginmanager.register(writer, "dualread-report-writer")
    from pytest_dualread.calibrating import register

    register(config, config.stash.get(report_writer_key, None))


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = config.stash.get(report_writer_key, None)
    if writer is not None:
        del config.stash[report_writer_key]
        config.pluginmanager.unregister(writer)


def pytest_report_header(config: pytest.Config) -> str | None:
    from pytest_dualread.redact import redact_url

    settings = config.stash.get(settings_key, None)
    if settings is None or not enabled(config):
        return None
    report = os.path.relpath(settings.report_file(config.rootpath), config.invocation_params.dir)
    legacy, adapter = (
        redact_url(url or "(not set)") for url in (settings.legacy_url, settings.adapter_url)
    )
    return f"dual-read: legacy {legacy}, adapter {adapter}; report {report}"


# ---------------------------------------------------------------------------------------------
# collection


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    return collect_file(file_path, parent)


def _marked_kind(marker: pytest.Mark) -> object:
    return marker.kwargs.get("kind", marker.args[0] if marker.args else "dto")


def _item_kind(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("dual_read")
    if marker is None:
        return "dto" if "dual_read" in getattr(item, "fixturenames", ()) else None
    kind = _marked_kind(marker)
    if kind not in _KINDS:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.dual_read(kind={kind!r}): expected kind 'dto' or 'visual'"
        )
    return str(kind)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    """Add the declared case files and pages, skip dual-read items without the flag, apply
    the sample and give each dual-read item its expectation."""
    settings = config.stash.get(settings_key, None)
    if not enabled(config) or settings is None:
        for item in items:
            if (kind := _item_kind(item)) is not None:
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
                mark_kind(item, kind)
        return
    from pytest_dualread.cases import sample_keeps

    if config.args_source != pytest.Config.ArgsSource.ARGS:
        items.extend(declared_items(session, settings))
    else:  # paths given: the case files and pages they left out make the run partial, as -k
        declared = declared_items(session, settings, running={item.path for item in items})
        left_out = [i for i in declared if sample_keeps(i.nodeid, settings.sample or 100)]
        config.stash[paths_left_out_key] = len(left_out)

    dual = [item for item in items if _item_kind(item) is not None]
    for item in dual:
        mark_kind(item, str(_item_kind(item)))  # before -m, which pytest applies after this hook
    kept = (
        dual
        if settings.sample is None
        else [i for i in dual if sample_keeps(i.nodeid, settings.sample)]
    )
    sample = None
    if settings.sample is not None:
        sample = {"percent": settings.sample, "selected": len(kept), "total": len(dual)}
    # Each expectation carries the sample figures: under xdist only the workers collect, and
    # this is how the figures reach the controller's report writer.
    for item in shard_items(config, kept):  # the others are deselected, like -k's
        item.stash[expect_key] = {"id": item.nodeid, "kind": _item_kind(item), "sample": sample}
    config.stash[_kept_key] = len(kept)
    dropped = [item for item in dual if expect_key not in item.stash]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        gone = set(map(id, dropped))
        items[:] = [item for item in items if id(item) not in gone]


def pytest_collection_finish(session: pytest.Session) -> None:
    kept = session.config.stash.get(_kept_key, None)
    if kept is not None:  # only where collection happened (not on an xdist controller)
        record_selection(session, kept, session.config.stash.get(paths_left_out_key, 0))


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A visual check runs once per --browser, like a Playwright test: asking for browser_name
    # lets pytest-playwright's hook (which runs after this one) parametrize it. With the default
    # browser alone it keeps its plain id, and so its baseline.
    if not enabled(metafunc.config) or "browser_name" in metafunc.fixturenames:
        return
    # A bad kind is reported once, as a usage error, when the items are known.
    marker = metafunc.definition.get_closest_marker("dual_read")
    if marker is None or _marked_kind(marker) != "visual":
        return
    from pytest_dualread.browser import multiplies

    if multiplies(metafunc.config.getoption("browser", default=None)):
        metafunc.fixturenames.append("browser_name")
        metafunc.config.stash.setdefault(multiplied_key, set()).add(metafunc.function)


# ---------------------------------------------------------------------------------------------
# running: failures, results onto test reports, cases ahead


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    with ending_checks(item, last=False):  # a check in a fixture
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    with ending_checks(item, last=True):  # each check's own report, no traceback but the user's
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    expect = item.stash.get(expect_key, None)
    if expect is not None:
        setattr(report, EXPECT_PROPERTY, expect)
        checks = item.stash.get(checks_key, [])
        setattr(report, CHECK_PROPERTY, [c.model_dump(mode="json") for c in checks])
        if call.when != "setup":  # sent (the call's report has the setup's checks too): let go
            item.stash[checks_key] = []
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    # A case knows the items that run after it on this process, so it can start their
    # requests while it compares its own.
    if isinstance(item, CaseItem):
        item.stash[ahead_key] = _items_ahead(item, nextitem)
    return (yield)


def _items_ahead(item: pytest.Item, nextitem: pytest.Item | None) -> list[pytest.Item]:
    """Up to ``fetch.prefetch`` items that run after ``item``, in order. pytest runs
    ``session.items`` in order; when the next item is not the following one there (a pytest-xdist
    worker, a plugin with its own run loop), only ``nextitem`` is known."""
    settings = item.config.stash.get(settings_key, None)
    depth = settings.fetch.prefetch if settings is not None else 0
    if nextitem is None or depth == 0:
        return []
    items = item.session.items
    order = item.config.stash.get(_order_key, None)
    if order is None or order[0] is not items:
        order = (items, {id(x): i for i, x in enumerate(items)})
        item.config.stash[_order_key] = order
    at = order[1].get(id(item))
    if at is None or at + 1 >= len(items) or items[at + 1] is not nextitem:
        return [nextitem]
    return items[at + 1 : at + 1 + depth]


# ---------------------------------------------------------------------------------------------
# fixtures


def _require_enabled(request: pytest.FixtureRequest) -> DualReadSettings:
    settings = request.config.stash.get(settings_key, None)
    if settings is None or not enabled(request.config):
        pytest.skip(SKIP_REASON)
    return settings


@pytest.fixture(scope="session")
def dual_read_client_args() -> Mapping[Side, Mapping[str, Any]]:
    """Extra ``httpx`` client arguments per side; override it, e.g. to return
    ``{"adapter": {"verify": False}}``."""
    return {}


@pytest.fixture(scope="session")
def dual_read_fetcher(
    request: pytest.FixtureRequest, dual_read_client_args: Mapping[Side, Mapping[str, Any]]
) -> Iterator[PairFetcher]:
    """The session's pair fetcher: one keep-alive client per side, closed at the end."""
    settings = _require_enabled(request)
    from pytest_dualread.fetch import PairFetcher

    fetcher = PairFetcher(settings, client_args=dual_read_client_args)
    yield fetcher
    fetcher.close()


def _renderer(request: pytest.FixtureRequest, settings: DualReadSettings) -> Any:
    from pytest_dualread.browser import FixtureRenderer

    return lambda: FixtureRenderer(request, settings)


@pytest.fixture
def dual_read(request: pytest.FixtureRequest, dual_read_fetcher: PairFetcher) -> DualRead:
    """Fetch both sides and run DTO and page checks from a test; each lands in the report."""
    from pytest_dualread.api import DualRead

    settings = _require_enabled(request)
    held = request.node.stash.setdefault(held_key, [])
    renderer = _renderer(request, settings)
    return DualRead(lambda: context_of(request), dual_read_fetcher, renderer, held=held)


@pytest.fixture
def visual_snapshot(request: pytest.FixtureRequest) -> VisualSnapshot:
    """``visual_snapshot(page, "name")``: compare an open pytest-playwright page with its
    baseline (plain visual regression, no sides); recorded as a visual check."""
    from pytest_dualread.api import VisualSnapshot

    settings = _require_enabled(request)
    from pytest_dualread.browser import FixtureRenderer, watch_test_context

    watch = watch_test_context(request)  # before the test navigates: see its requests
    return VisualSnapshot(
        lambda: context_of(request), lambda: FixtureRenderer(request, settings, watch)
    )
