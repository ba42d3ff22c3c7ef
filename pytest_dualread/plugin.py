"""The pytest glue: flags, the ``dual_read`` marker, skipping, and the controller's report writer.

This is the only module that imports pytest. Everything heavy (pydantic, deepdiff, Playwright,
NumPy) is imported inside hooks and fixtures, and only when ``--dual-read`` is given, so a plain
``pytest`` run pays nothing for the plugin being installed.

How results travel (see ARCHITECTURE §5): a check keeps its result, plain JSON data, in the
item's stash; a ``wrapper=True`` makereport hook copies the item's checks and its expectation (every
dual-read item has one, so an item that never got to record a check — skipped, setup error,
crash — still shows up in the report) onto the test report as the attributes
:data:`CHECK_PROPERTY` and :data:`EXPECT_PROPERTY`. pytest-xdist carries report attributes from
workers unchanged. The :class:`ReportWriter` exists only on the controller process (never on a
worker) and reads them from the reports that reach it. Key figures of each check also go into
``item.user_properties`` (``record_property``), so ``--junitxml`` carries them.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import os
import platform
import sys
import time
import types
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pydantic import BaseModel

    from pytest_dualread.capture import CaptureOptions
    from pytest_dualread.cases import Case, CaseFile
    from pytest_dualread.checks import CheckContext
    from pytest_dualread.config import DualReadSettings, PageSpec
    from pytest_dualread.dto import DtoResult
    from pytest_dualread.fetch import PairFetcher, ResponsePair, Side
    from pytest_dualread.report import Check, Report, StaleEntry
    from pytest_dualread.visual import PixelBudget, VisualResult

__all__ = [
    "CHECK_PROPERTY",
    "EXPECT_PROPERTY",
    "CaseFileCollector",
    "CaseItem",
    "DualRead",
    "PagesCollector",
    "ReportWriter",
    "VisualSnapshot",
    "dual_read",
    "dual_read_client_args",
    "dual_read_fetcher",
    "dual_read_page_urls",
    "report_writer_key",
    "settings_key",
    "visual_snapshot",
]

CHECK_PROPERTY = "dualread_check"
EXPECT_PROPERTY = "dualread_expect"
SKIP_REASON = "dual-read check: run pytest with --dual-read to enable it"
_KINDS = ("dto", "visual")

settings_key = pytest.StashKey["DualReadSettings"]()
report_writer_key = pytest.StashKey["ReportWriter"]()
_checks_key = pytest.StashKey[list[dict[str, Any]]]()
_ahead_key = pytest.StashKey[list[pytest.Item]]()
_order_key = pytest.StashKey[tuple[list[pytest.Item], dict[int, int]]]()
_expect_key = pytest.StashKey[dict[str, Any]]()


# ---------------------------------------------------------------------------------------------
# options


def _percent(value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a percentage between 0 (exclusive) and 100, got {value!r}"
        ) from None
    if not 0 < number <= 100:
        raise argparse.ArgumentTypeError(
            f"expected a percentage between 0 (exclusive) and 100, got {value!r}"
        )
    return number


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("dual-read", "dual-read checks (pytest-dualread)")
    group.addoption(
        "--dual-read",
        action="store_true",
        dest="dual_read",
        default=False,
        help="Run dual-read checks and write the gate report; without it they are skipped.",
    )
    group.addoption(
        "--dual-read-output",
        dest="dual_read_output",
        metavar="DIR",
        default=None,
        help="Folder for report.json, report.html and artifacts/ (default: dual-read-results).",
    )
    group.addoption(
        "--dual-read-report",
        dest="dual_read_report",
        metavar="PATH",
        default=None,
        help="Where to write the JSON report (default: <output>/report.json).",
    )
    group.addoption(
        "--dual-read-legacy-url",
        dest="dual_read_legacy_url",
        metavar="URL",
        default=None,
        help="Legacy target: an http(s) URL or 'module:app'; overrides legacy_url.",
    )
    group.addoption(
        "--dual-read-adapter-url",
        dest="dual_read_adapter_url",
        metavar="URL",
        default=None,
        help="Adapter target: an http(s) URL or 'module:app'; overrides adapter_url.",
    )
    group.addoption(
        "--dual-read-sample",
        dest="dual_read_sample",
        metavar="PCT",
        type=_percent,
        default=None,
        help="Run a deterministic PCT %% of dual-read items (chosen by a hash of their id).",
    )
    group.addoption(
        "--dual-read-metrics",
        dest="dual_read_metrics",
        metavar="PATH",
        default=None,
        help="Also write Prometheus metrics of the run to PATH (labelled with $METRIC_ENV).",
    )
    group.addoption(
        "--dual-read-artifacts",
        dest="dual_read_artifacts",
        choices=("all", "failed", "none"),
        default=None,
        help="Which checks keep diff artifacts (default: failed).",
    )


# ---------------------------------------------------------------------------------------------
# configuration


def _flag_overrides(config: pytest.Config) -> dict[str, Any]:
    return {
        "output_dir": config.getoption("dual_read_output"),
        "report_path": config.getoption("dual_read_report"),
        "legacy_url": config.getoption("dual_read_legacy_url"),
        "adapter_url": config.getoption("dual_read_adapter_url"),
        "sample": config.getoption("dual_read_sample"),
        "artifacts": config.getoption("dual_read_artifacts"),
    }


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("dual_read", default=False))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "dual_read(kind='dto'): a dual-read check (kind 'dto' or 'visual'); skipped without "
        "--dual-read, recorded in the dual-read report with it.",
    )
    if not _enabled(config):
        return
    if config.pluginmanager.has_plugin("playwright"):
        # Only with --dual-read: without it, Playwright tests get pytest-playwright's fixtures
        # untouched.
        config.pluginmanager.register(_browser_fixtures(), "dualread-browser")
    from pytest_dualread.config import load_settings
    from pytest_dualread.errors import ConfigError

    try:
        settings = load_settings(config.rootpath, flags=_flag_overrides(config))
    except ConfigError as exc:
        raise pytest.UsageError(f"pytest-dualread: {exc}") from None
    from pytest_dualread.checks import global_rules

    try:
        global_rules(settings)
    except ValueError as exc:
        raise pytest.UsageError(
            f"pytest-dualread: {config.rootpath / 'pyproject.toml'}, [tool.dualread.dto]: {exc}"
        ) from None
    config.stash[settings_key] = settings
    cases_dir = (
        settings.cases_dir
        if settings.cases_dir.is_absolute()
        else (config.rootpath / settings.cases_dir)
    )
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # `pytest --dual-read` with no paths: collect the case files and the pages declared in
        # pyproject.toml next to testpaths.
        if cases_dir.is_dir():
            config.args.append(str(cases_dir))
        pages = _page_files(config, settings)
        if pages is not None:
            config.args.append(str(pages))
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        writer = ReportWriter(config, settings)
        config.stash[report_writer_key] = writer
        config.pluginmanager.register(writer, "dualread-report-writer")


def pytest_unconfigure(config: pytest.Config) -> None:
    writer = config.stash.get(report_writer_key, None)
    if writer is not None:
        del config.stash[report_writer_key]
        config.pluginmanager.unregister(writer)


# ---------------------------------------------------------------------------------------------
# collection: skip without the flag, mark expectations, sample


def _item_kind(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker("dual_read")
    if marker is None:
        return "dto" if "dual_read" in getattr(item, "fixturenames", ()) else None
    kind = marker.kwargs.get("kind", marker.args[0] if marker.args else "dto")
    if kind not in _KINDS:
        raise pytest.UsageError(
            f"{item.nodeid}: @pytest.mark.dual_read(kind={kind!r}): expected kind 'dto' or 'visual'"
        )
    return str(kind)


def sample_keeps(check_id: str, percent: float) -> bool:
    """Whether a check is in the deterministic ``percent`` sample (stable across runs/machines)."""
    digest = hashlib.sha256(check_id.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 10_000
    return bucket < round(percent * 100)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    enabled = _enabled(config)
    settings = config.stash.get(settings_key, None)
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        kind = _item_kind(item)
        if kind is None:
            kept.append(item)
            continue
        if not enabled:
            item.add_marker(pytest.mark.skip(reason=SKIP_REASON))
            kept.append(item)
            continue
        check_id = item.nodeid
        sample = settings.sample if settings is not None else None
        if sample is not None and not sample_keeps(check_id, sample):
            dropped.append(item)
            continue
        kept.append(item)
    expected = [item for item in kept if _item_kind(item) is not None]
    sample_info = None
    if enabled and settings is not None and settings.sample is not None:
        sample_info = {
            "percent": settings.sample,
            "selected": len(expected),
            "total": len(expected) + len(dropped),
        }
    if enabled:
        # Each expectation carries the sample figures: under xdist only the workers collect,
        # and this is how the figures reach the controller's report writer.
        for item in expected:
            expect = {"id": item.nodeid, "kind": _item_kind(item), "sample": sample_info}
            item.stash[_expect_key] = expect
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


# ---------------------------------------------------------------------------------------------
# results onto test reports (they cross the xdist boundary as report attributes)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    expect = item.stash.get(_expect_key, None)
    if expect is not None:
        setattr(report, EXPECT_PROPERTY, expect)
        checks: list[dict[str, Any]] = item.stash.get(_checks_key, [])
        setattr(report, CHECK_PROPERTY, list(checks))
    return report


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    # A case knows the items that run after it on this process, so it can start their
    # requests while it compares its own (see DualRead.run_case).
    if isinstance(item, CaseItem):
        item.stash[_ahead_key] = _items_ahead(item, nextitem)
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
# case files: every case is its own test item


def _settings_for_collection(config: pytest.Config, file_path: Path) -> DualReadSettings | None:
    settings = config.stash.get(settings_key, None)
    if settings is not None:
        return settings
    # Without --dual-read, case files given on the command line still show up, as skipped
    # items. Only a .json file in the cases folder pays for loading the settings, and a broken
    # configuration must not break a run that does not use it.
    if file_path.suffix != ".json" or not _in_cases_dir(config.rootpath, file_path):
        return None
    from pytest_dualread.config import load_settings
    from pytest_dualread.errors import ConfigError

    try:
        settings = load_settings(config.rootpath, flags=_flag_overrides(config))
    except ConfigError:
        return None
    config.stash[settings_key] = settings
    return settings


def _in_cases_dir(rootdir: Path, file_path: Path) -> bool:
    """A cheap look at ``cases_dir`` (environment, then pyproject.toml) without the models."""
    cases_dir = os.environ.get("DUALREAD_CASES_DIR")
    if cases_dir is None:
        cases_dir = "fixtures/dual_read"
        try:
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            with (rootdir / "pyproject.toml").open("rb") as handle:
                table = tomllib.load(handle).get("tool", {}).get("dualread", {})
            cases_dir = str(table.get("cases_dir", cases_dir))
        except (OSError, ValueError, AttributeError):
            pass
    return file_path.parent.resolve() == (rootdir / cases_dir).resolve()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".json", ".toml"):
        return None
    settings = _settings_for_collection(parent.config, file_path)
    if settings is None:
        return None
    if file_path.suffix == ".toml":
        pages = _page_files(parent.config, settings)
        if pages is None or file_path.resolve() != pages.resolve():
            return None
        pages_collector: PagesCollector = PagesCollector.from_parent(parent, path=file_path)
        return pages_collector
    cases_dir = parent.config.rootpath / settings.cases_dir
    if file_path.parent.resolve() != cases_dir.resolve():
        return None
    collector: CaseFileCollector = CaseFileCollector.from_parent(parent, path=file_path)
    return collector


class CaseFileCollector(pytest.File):
    """A case file; collects one :class:`CaseItem` per case. A file that does not load becomes
    one item that errors with the reason, so the rest of the run goes on."""

    def collect(self) -> Iterator[pytest.Item]:
        from pytest_dualread.cases import load_case_file
        from pytest_dualread.errors import CaseError

        try:
            case_file = load_case_file(self.path)
        except CaseError as exc:
            yield _BrokenCaseFile.from_parent(self, name=self.path.name, error=exc)
            return
        for case in case_file.cases:
            item: CaseItem = CaseItem.from_parent(
                self, name=case.id, callobj=_run_case, case_file=case_file, case=case
            )
            item.add_marker(pytest.mark.dual_read(kind="dto"))
            for tag in case.tags:
                item.extra_keyword_matches.add(tag)
            yield item


def _run_case() -> None:
    """Stands behind every collected case: syrupy needs a real function for each item, and
    :meth:`CaseItem.runtest` does the work."""


class CaseItem(pytest.Function):
    """One case of a case file, run through the same pipeline as ``dual_read.check``."""

    def __init__(self, *, case_file: CaseFile, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case_file = case_file
        self.case = case

    def runtest(self) -> None:
        # The pipeline directly, without a function-scoped fixture per case: what the
        # ``dual_read`` fixture would give, from the session's fetcher.
        __tracebackhide__ = True
        fetcher: PairFetcher = self._request.getfixturevalue("dual_read_fetcher")
        dual_read = DualRead(self._request, self.config.stash[settings_key], fetcher)
        try:
            dual_read.run_case(self.case_file, self.case)
        finally:
            fetcher.discard(self.nodeid)  # started ahead, never taken (a broken case)

    def reportinfo(self) -> tuple[Path, int, str]:
        line = self.case_file.lines.get(self.case.id, 1)
        return self.path, max(line - 1, 0), f"case {self.case.id}"

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        from pytest_dualread.errors import DualReadError

        if isinstance(excinfo.value, DualReadError):
            return f"{self.path}: {excinfo.value}"
        if isinstance(excinfo.value, pytest.fail.Exception) and not excinfo.value.pytrace:
            return excinfo.value.msg  # the check's own report, without a traceback
        return super().repr_failure(excinfo)


class _BrokenCaseFile(pytest.Item):
    def __init__(self, *, error: Exception, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error
        self.add_marker(pytest.mark.dual_read(kind="dto"))

    def runtest(self) -> None:
        self.stash.setdefault(_checks_key, []).append(
            {
                "id": self.nodeid,
                "nodeid": self.nodeid,
                "kind": "dto",
                "outcome": "error",
                "message": f"case file error: {self.error}",
                "data": {"case_file": os.path.relpath(self.path, self.config.rootpath)},
            }
        )
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return f"case file error: {excinfo.value}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"case file {self.path.name}"


# ---------------------------------------------------------------------------------------------
# fixtures


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
    settings = request.config.stash.get(settings_key, None)
    if settings is None or not _enabled(request.config):
        pytest.skip(SKIP_REASON)
    from pytest_dualread.fetch import PairFetcher

    fetcher = PairFetcher(settings, client_args=dual_read_client_args)
    yield fetcher
    fetcher.close()


@pytest.fixture
def dual_read(request: pytest.FixtureRequest, dual_read_fetcher: PairFetcher) -> DualRead:
    """Fetch both sides and run DTO checks from a test; each check lands in the report."""
    settings = request.config.stash[settings_key]
    return DualRead(request, settings, dual_read_fetcher)


# ---------------------------------------------------------------------------------------------
# the DTO check pipeline


def _record(item: pytest.Item, data: dict[str, Any]) -> None:
    """Keep a finished check on its item (for the report) and its key figures as properties
    (``record_property``, so ``--junitxml`` carries them)."""
    item.stash.setdefault(_checks_key, []).append(data)
    prefix = "dualread" if data["id"] == item.nodeid else f"dualread[{data['id']}]"
    item.user_properties.append((f"{prefix}.outcome", data["outcome"]))
    figures = data.get("data", {})
    for key in ("fields_compared", "fields_differing", "mismatch_ratio"):
        if key in figures:
            item.user_properties.append((f"{prefix}.{key}", figures[key]))


def _context(request: pytest.FixtureRequest, settings: DualReadSettings) -> CheckContext:
    from syrupy.location import PyTestLocation

    from pytest_dualread.checks import CheckContext

    item = request.node
    return CheckContext(
        settings=settings,
        rootdir=request.config.rootpath,
        nodeid=item.nodeid,
        update=bool(request.config.getoption("update_snapshots", default=False)),
        location=PyTestLocation(item),
        snapshot=lambda: request.getfixturevalue("snapshot"),
        record=lambda data: _record(item, data),
    )


@contextmanager
def _failing() -> Iterator[None]:
    """A failed check fails the test with its own report, without a traceback."""
    __tracebackhide__ = True
    from pytest_dualread.checks import CheckFailed

    try:
        yield
    except CheckFailed as exc:
        pytest.fail(exc.message, pytrace=False)


class DualRead:
    """The ``dual_read`` fixture: ``fetch`` a pair, ``check`` a pair or a path, ``check_page``."""

    def __init__(
        self, request: pytest.FixtureRequest, settings: DualReadSettings, fetcher: PairFetcher
    ) -> None:
        self.request = request
        self.settings = settings
        self.fetcher = fetcher
        self._count = 0
        self._ctx: CheckContext | None = None

    @property
    def ctx(self) -> CheckContext:
        if self._ctx is None:
            self._ctx = _context(self.request, self.settings)
        return self._ctx

    def fetch(
        self,
        path: str,
        *,
        method: str = "GET",
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> ResponsePair:
        """The legacy and the adapter response of one request, fetched concurrently."""
        return self.fetcher.fetch(
            path, method=method, params=params, headers=headers, json_body=json
        )

    def _next_id(self, name: str | None) -> tuple[str, int | str]:
        nodeid = self.request.node.nodeid
        self._count += 1
        if name is not None:
            return f"{nodeid}::{name}", name
        return (nodeid if self._count == 1 else f"{nodeid}#{self._count}"), self._count - 1

    def check(
        self,
        target: ResponsePair | str,
        *,
        model: type[BaseModel] | None = None,
        golden: bool = True,
        name: str | None = None,
        tolerances: Mapping[str, Any] | None = None,
        ignore: Sequence[str] | None = None,
        list_keys: Mapping[str, str] | None = None,
        coerce_numbers: Sequence[str] | None = None,
        method: str = "GET",
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> DtoResult:
        """Compare adapter with legacy (and both with the golden); record it; fail if they
        differ beyond tolerance. ``tolerances`` / ``ignore`` / ``list_keys`` are merged over
        ``[tool.dualread.dto]`` (the ones given here win for the same pattern)."""
        __tracebackhide__ = True
        from pytest_dualread.checks import rules_from, run_dto

        check_id, index = self._next_id(name)
        request = {"method": method, "path": target} if isinstance(target, str) else None
        with _failing():
            return run_dto(
                self.ctx,
                self.fetch,
                check_id=check_id,
                target=target,
                model=model,
                golden=golden,
                golden_index=index,
                local_rules=rules_from(tolerances, ignore, list_keys, coerce_numbers),
                fetch_kwargs={"method": method, "params": params, "headers": headers},
                request_info=request,
                extra={},
            )
        raise AssertionError("unreachable")  # pragma: no cover

    def run_case(self, case_file: CaseFile, case: Case) -> None:
        """Run one collected case."""
        __tracebackhide__ = True
        from pytest_dualread.cases import import_model
        from pytest_dualread.checks import record_error, rules_from, rules_of, run_dto
        from pytest_dualread.errors import CaseError

        nodeid = self.request.node.nodeid
        line = case_file.lines.get(case.id)
        spec = case_file.model_path(case)
        with _failing():
            try:
                model = (
                    import_model(spec, path=case_file.path, case_id=case.id, line=line)
                    if spec
                    else None
                )
                file_rules = rules_of(
                    case_file,
                    lambda: rules_from(
                        case_file.tolerances,
                        case_file.ignore,
                        case_file.list_keys,
                        case_file.coerce_numbers,
                    ),
                )
                try:
                    own = rules_from(
                        case.tolerances, case.ignore, case.list_keys, case.coerce_numbers
                    )
                    local = own.merged_over(file_rules)
                except ValueError as exc:
                    raise CaseError(
                        str(exc), path=case_file.path, line=line, case_id=case.id
                    ) from None
            except CaseError as exc:
                record_error(self.ctx, nodeid, exc, {"case": case.id}, started=time.perf_counter())
            req = case.request

            def fetch_this_case(path: str, **kwargs: Any) -> ResponsePair:
                # This case's requests first (unless already started), then the window ahead,
                # so the cases that follow are fetched while this one is compared.
                window = self.fetcher.window
                if window:
                    self._prefetch(self.request.node)
                    for following in self.request.node.stash.get(_ahead_key, [])[:window]:
                        self._prefetch(following)
                return self.fetcher.fetch(
                    path,
                    method=kwargs["method"],
                    params=kwargs["params"],
                    headers=kwargs["headers"],
                    json_body=kwargs["json"],
                    key=nodeid,
                )

            run_dto(
                self.ctx,
                fetch_this_case,
                check_id=nodeid,
                target=req.path,
                model=model,
                golden=True,
                golden_index=0,
                local_rules=local,
                fetch_kwargs={
                    "method": req.method,
                    "params": dict(req.params) or None,
                    "headers": dict(req.headers) or None,
                    "json": req.json_body,
                },
                request_info={"method": req.method, "path": req.path, "params": dict(req.params)},
                extra={
                    "case": case.id,
                    "case_file": os.path.relpath(case_file.path, self.request.config.rootpath),
                    "case_rules": own.to_json(),
                    "file_rules": file_rules.to_json(),
                    "tags": list(case.tags),
                },
            )

    def _prefetch(self, item: pytest.Item) -> None:
        if isinstance(item, CaseItem):
            req = item.case.request
            self.fetcher.prefetch(
                item.nodeid,
                req.path,
                method=req.method,
                params=dict(req.params) or None,
                headers=dict(req.headers) or None,
            )

    def check_page(
        self,
        path: str,
        *,
        name: str | None = None,
        mask: Sequence[str] = (),
        full_page: bool | None = None,
        element: str | None = None,
        threshold: float | None = None,
        max_diff_pixels: int | None = None,
        max_diff_ratio: float | None = None,
    ) -> None:
        """Render ``path`` on both sides and compare legacy vs baseline, adapter vs baseline
        and adapter vs legacy; record it; fail when a comparison is over budget.
        ``mask`` selectors must match something on the page."""
        __tracebackhide__ = True
        from pytest_dualread.browsers import browser_of
        from pytest_dualread.checks import VisualRecorder, budget, visual_options

        started = time.perf_counter()
        check_id, index = self._next_id(name)
        node = self.request.node
        browser = browser_of(node, self.request.config.getoption("browser", default=None))
        recorder = VisualRecorder(self.ctx)
        ext, baseline_file = recorder.baseline_path(
            index,
            browser=browser,
            strip_browser_id=getattr(node, "function", None)
            in self.request.config.stash.get(_multiplied_key, ()),
        )
        baseline = baseline_file.read_bytes() if baseline_file.is_file() else None
        options = visual_options(self.settings, mask=mask, full_page=full_page, element=element)
        pixels = budget(self.settings, threshold, max_diff_pixels, max_diff_ratio)
        result, error, urls, fingerprint = self._capture_page(
            browser, path, options, pixels, baseline
        )
        with _failing():
            recorder.finish(
                check_id=check_id,
                page_name=name or node.name,
                url=urls.get("legacy", path),
                result=result,
                error=error,
                baseline_file=baseline_file,
                baseline=baseline,
                write_baseline=result.shots["legacy"].png if (self.ctx.update and result) else None,
                ext=ext,
                index=index,
                fingerprint=fingerprint,
                budget=pixels,
                started=started,
            )

    def _capture_page(
        self,
        browser_name: str,
        path: str,
        options: CaptureOptions,
        pixels: PixelBudget,
        baseline: bytes | None,
    ) -> tuple[VisualResult | None, Exception | None, dict[str, str], dict[str, Any]]:
        """Both sides of a page check in pytest-playwright's ``browser_name``: the result or the
        error (a browser that does not start, a page that does not load or settle), the URLs and
        the environment fingerprint."""
        from pytest_dualread.browsers import PageBrowser
        from pytest_dualread.capture import effective_viewport, font_fingerprint
        from pytest_dualread.errors import DualReadError
        from pytest_dualread.visual import run_page_check

        urls: dict[str, str] = {}
        fingerprint: dict[str, Any] = {
            "browser": "unavailable",
            "executable": "-",
            "fonts": font_fingerprint(),
        }
        try:
            opened = PageBrowser.open(self.request, browser_name)
            fingerprint = _fingerprint(
                self.request,
                opened.browser,
                self.settings,
                rendered_at=effective_viewport(opened.context_args, options),
            )
            urls, headers = self._page_sides(path)
            result = run_page_check(
                opened.new_context,
                urls,
                headers,
                options,
                pixels,
                baseline,
                context_args=opened.context_args,
            )
        except DualReadError as exc:
            return None, exc, urls, fingerprint
        return result, None, urls, fingerprint

    def _page_sides(self, path: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """Each side's URL of ``path`` for the browser, and the headers its context sends."""
        from pytest_dualread.checks import side_headers
        from pytest_dualread.fetch import SIDES

        bases = self.request.getfixturevalue("dual_read_page_urls")
        prefix = {side: getattr(self.settings, side).path_prefix for side in SIDES}
        urls: dict[str, str] = {side: bases[side] + prefix[side] + path for side in SIDES}
        return urls, {side: side_headers(self.settings, side) for side in SIDES}


# ---------------------------------------------------------------------------------------------
# visual checks: the browser (pytest-playwright's), in-process apps served for it, pages


def _launch_args(
    browser_type_launch_args: dict[str, Any],
    browser_name: str | None,
    playwright: Any,
    pytestconfig: pytest.Config,
) -> dict[str, Any]:
    """pytest-playwright's launch arguments, plus a system Chromium when Playwright's own
    browser is not installed (or ``browser_executable`` is set)."""
    args = dict(browser_type_launch_args)
    if browser_name not in (None, "chromium") or "executable_path" in args:
        return args
    from pytest_dualread.capture import find_chromium

    settings = pytestconfig.stash.get(settings_key, None)
    configured = settings.visual.browser_executable if settings is not None else None
    if configured is None and (
        "channel" in args or Path(playwright.chromium.executable_path).exists()
    ):
        return args
    executable, how = find_chromium(configured)
    args["executable_path"] = executable
    pytestconfig.stash[_browser_key] = f"{executable} ({how})"
    return args


def _browser_fixtures() -> types.ModuleType:
    """Fixtures registered in pytest_configure, after pytest-playwright's, so that ours wrap
    theirs (a conftest override of the same name still wraps ours)."""
    holder = types.ModuleType("pytest_dualread.browser_fixtures")
    fixture = pytest.fixture(scope="session", name="browser_type_launch_args")(_launch_args)
    holder.browser_type_launch_args = fixture  # type: ignore[attr-defined]
    return holder


_browser_key = pytest.StashKey[str]()


@pytest.fixture(scope="session")
def dual_read_page_urls(request: pytest.FixtureRequest) -> Iterator[dict[Side, str]]:
    """Base URL of each side for the browser; an in-process app is served on 127.0.0.1."""
    settings = request.config.stash.get(settings_key, None)
    if settings is None or not _enabled(request.config):
        pytest.skip(SKIP_REASON)
    from pytest_dualread.capture import AppServer
    from pytest_dualread.fetch import SIDES, side_target

    servers: dict[int, AppServer] = {}
    urls: dict[Side, str] = {}
    try:
        for side in SIDES:
            target = side_target(settings, side)
            if target.protocol == "http":
                urls[side] = target.base_url
                continue
            server = servers.get(id(target.app))
            if server is None:
                server = servers[id(target.app)] = AppServer(target.app, name=target.spec)
                server.start()
            urls[side] = server.base_url
        yield urls
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture
def visual_snapshot(request: pytest.FixtureRequest) -> VisualSnapshot:
    """``visual_snapshot(page, "name")``: compare an open pytest-playwright page with its
    baseline (plain visual regression, no sides); recorded as a visual check."""
    settings = request.config.stash.get(settings_key, None)
    if settings is None or not _enabled(request.config):
        pytest.skip(SKIP_REASON)
    return VisualSnapshot(request, settings)


def _page_files(config: pytest.Config, settings: DualReadSettings) -> Path | None:
    pyproject = config.rootpath / "pyproject.toml"
    return pyproject if settings.visual.pages and pyproject.is_file() else None


class PagesCollector(pytest.Module):
    """``[tool.dualread.visual] pages`` of pyproject.toml, collected like a Python module with
    one test function per page (``pyproject.toml::<name>``): pytest's own parametrization then
    applies to pages as to Python tests, so ``--browser`` multiplies them (``<name>[firefox]``)
    and pytest-playwright's markers work on them."""

    _pages: types.ModuleType | None = None

    def _getobj(self) -> types.ModuleType:
        # pytest.Module asks _getobj for the module to collect from; pyproject.toml is not
        # imported, the "module" holds a generated function per page.
        if self._pages is None:
            module = types.ModuleType("dualread_pages")
            for spec in self.config.stash[settings_key].visual.pages:
                setattr(module, spec.name, _page_function(spec, module.__name__))
            self._pages = module
        return self._pages


def _page_function(page: PageSpec, module: str) -> Callable[[DualRead], None]:
    """The test function of a page declared in pyproject.toml."""

    def run_page(dual_read: DualRead) -> None:
        __tracebackhide__ = True
        try:
            dual_read.check_page(
                page.path,
                mask=page.mask,
                full_page=page.full_page,
                threshold=page.threshold,
                max_diff_pixels=page.max_diff_pixels,
                max_diff_ratio=page.max_diff_ratio,
            )
        except pytest.fail.Exception as exc:
            raise exc from None  # the check's message alone, not the exception it replaced

    run_page.__name__ = run_page.__qualname__ = page.name
    run_page.__module__ = module
    run_page.__doc__ = f"page {page.name} ({page.path})"
    # __test__: collected whatever the page's name (python_functions does not apply).
    vars(run_page).update(__test__=True, pytestmark=[pytest.mark.dual_read(kind="visual")])
    return run_page


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # A visual check runs once per --browser, like a Playwright test: asking for browser_name
    # lets pytest-playwright's hook (which runs after this one) parametrize it. With the default
    # browser alone it keeps its plain id, and so its baseline.
    if not _enabled(metafunc.config) or "browser_name" in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("dual_read")
    if marker is None:
        return
    kind = marker.kwargs.get("kind", marker.args[0] if marker.args else "dto")
    if kind != "visual":
        return
    from pytest_dualread.browsers import multiplies

    if multiplies(metafunc.config.getoption("browser", default=None)):
        metafunc.fixturenames.append("browser_name")
        metafunc.config.stash.setdefault(_multiplied_key, set()).add(metafunc.function)


_multiplied_key = pytest.StashKey[set[Any]]()
"""Test functions that run once per browser because of pytest_generate_tests above."""


def _fingerprint(
    request: pytest.FixtureRequest,
    browser: Any,
    settings: DualReadSettings,
    *,
    rendered_at: tuple[list[int] | None, float] | None = None,
) -> dict[str, Any]:
    """The environment a capture was made in. ``rendered_at``: the viewport and device scale
    factor of the page's context (see :func:`~pytest_dualread.capture.effective_viewport`),
    else those of ``[tool.dualread.visual]``."""
    from pytest_dualread.capture import browser_fingerprint

    executable = request.config.stash.get(_browser_key, None)
    if browser.browser_type.name != "chromium":
        executable = None  # the system-Chromium fallback is for Chromium only
    fingerprint = browser_fingerprint(browser, executable)
    visual = settings.visual
    viewport, scale = rendered_at or (
        [visual.viewport.width, visual.viewport.height],
        visual.device_scale_factor,
    )
    fingerprint["device_scale_factor"] = scale
    fingerprint["viewport"] = viewport
    return fingerprint


class VisualSnapshot:
    """The ``visual_snapshot`` fixture's callable."""

    def __init__(self, request: pytest.FixtureRequest, settings: DualReadSettings) -> None:
        self.settings = settings
        self.request = request

    def __call__(
        self,
        page: Any,
        name: str,
        *,
        mask: Sequence[str] = (),
        full_page: bool | None = None,
        element: str | None = None,
        threshold: float | None = None,
        max_diff_pixels: int | None = None,
        max_diff_ratio: float | None = None,
    ) -> None:
        __tracebackhide__ = True
        from pytest_dualread.checks import VisualRecorder, budget, visual_options
        from pytest_dualread.errors import CaptureError
        from pytest_dualread.visual import run_snapshot_check

        started = time.perf_counter()
        ctx = _context(self.request, self.settings)
        recorder = VisualRecorder(ctx)
        options = visual_options(self.settings, mask=mask, full_page=full_page, element=element)
        pixels = budget(self.settings, threshold, max_diff_pixels, max_diff_ratio)
        ext, baseline_file = recorder.baseline_path(name)
        baseline = baseline_file.read_bytes() if baseline_file.is_file() else None
        result = None
        error: Exception | None = None
        try:
            result = run_snapshot_check(page, options, pixels, baseline)
        except CaptureError as exc:
            error = exc
        with _failing():
            recorder.finish(
                check_id=f"{ctx.nodeid}::{name}",
                page_name=name,
                url=page.url,
                result=result,
                error=error,
                baseline_file=baseline_file,
                baseline=baseline,
                write_baseline=result.shots["actual"].png if (ctx.update and result) else None,
                ext=ext,
                index=name,
                fingerprint=_fingerprint(self.request, page.context.browser, self.settings),
                budget=pixels,
                started=started,
            )


# ---------------------------------------------------------------------------------------------
# the report writer (controller only)


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _short_text(report: pytest.TestReport, limit: int = 2000) -> str:
    text = report.longreprtext or ""
    if report.skipped and isinstance(report.longrepr, tuple):
        text = str(report.longrepr[2])
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ReportWriter:
    """Collects checks from test reports and writes report.json at the end of the session."""

    def __init__(self, config: pytest.Config, settings: DualReadSettings) -> None:
        self.config = config
        self.settings = settings
        self.path = settings.report_file(config.rootpath)
        self.started = datetime.now(timezone.utc)
        self._t0 = time.perf_counter()
        self._checks: dict[str, dict[str, Any]] = {}
        self._expected: dict[str, dict[str, Any]] = {}
        self._outcome: dict[str, tuple[str, str, float]] = {}
        self._sample: dict[str, float] | None = None
        self._browser: str | None = None
        self._engine: str | None = None
        self.last_report: Report | None = None
        self.html_path: Path | None = None

    # -- feeding -------------------------------------------------------------------------------

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for value in getattr(report, CHECK_PROPERTY, None) or ():
            if isinstance(value, dict):
                self._checks[str(value.get("id"))] = value
        expect = getattr(report, EXPECT_PROPERTY, None)
        if isinstance(expect, dict):
            self._expected[report.nodeid] = expect
            if expect.get("sample"):
                self._sample = expect["sample"]
        if report.nodeid not in self._expected:
            return
        previous = self._outcome.get(report.nodeid)
        if previous is not None and previous[0] in ("error", "failed", "skipped"):
            return
        if report.skipped:
            outcome = "skipped"
        elif report.failed:
            outcome = "failed" if report.when == "call" else "error"
        else:
            outcome = "passed"
        spent = report.duration + (previous[2] if previous else 0.0)
        self._outcome[report.nodeid] = (outcome, _short_text(report), spent)

    # -- building ------------------------------------------------------------------------------

    def _checks_of_run(self) -> list[Check]:
        from pydantic import ValidationError

        from pytest_dualread.report import Check, check_from_data

        checks: dict[str, Check] = {}
        owners: set[str] = set()
        for check_id, data in self._checks.items():
            try:
                check = check_from_data(data)
            except ValidationError as exc:
                check = Check(
                    id=check_id,
                    nodeid=str(data.get("nodeid", check_id)),
                    kind="dto",
                    outcome="error",
                    message=f"internal: the check's result did not validate: {exc}",
                )
            checks[check.id] = check
            owners.add(check.nodeid)
        for nodeid, expect in self._expected.items():
            if nodeid in owners:
                continue
            outcome, text, duration = self._outcome.get(nodeid, ("error", "did not finish", 0.0))
            checks[str(expect["id"])] = Check(
                id=str(expect["id"]),
                nodeid=nodeid,
                kind=expect.get("kind", "dto"),
                outcome=outcome,
                duration_s=round(duration, 6),
                message=text if outcome != "passed" else "",
            )
        return [checks[key] for key in sorted(checks)]

    def build(self, *, complete: bool, reason: str | None) -> Report:
        from pytest_dualread import __version__
        from pytest_dualread.config import config_hash
        from pytest_dualread.gate import evaluate
        from pytest_dualread.report import (
            Environment,
            Report,
            RunInfo,
            SampleInfo,
            ToolInfo,
            summarize,
        )

        checks = self._checks_of_run()
        for check in checks:
            browser = check.data.get("browser")
            if self._browser is None and isinstance(browser, str):
                self._browser = browser
            engine = check.data.get("pixel_engine")
            if self._engine is None and isinstance(engine, str):
                self._engine = engine
        finished = datetime.now(timezone.utc)
        run = RunInfo(
            started_at=self.started,
            finished_at=finished,
            duration_s=round(time.perf_counter() - self._t0, 3),
            complete=complete,
            incomplete_reason=None if complete else reason,
            argv=[Path(sys.argv[0]).name, *self.config.invocation_params.args],
            environment=Environment(
                python=platform.python_version(),
                pytest=pytest.__version__,
                platform=platform.platform(terse=True),
                deepdiff=_version("deepdiff"),
                playwright=_version("playwright"),
                browser=self._browser,
                pixel_engine=self._engine,
            ),
            config_hash=config_hash(self.settings),
            sample=SampleInfo(**self._sample) if self._sample else None,
        )
        return Report(
            tool=ToolInfo(version=__version__),
            run=run,
            summary=summarize(checks),
            verdict=evaluate(checks, self.settings.gate, complete=complete),
            checks=checks,
            stale=self._stale(checks) if complete else [],
        )

    def _stale(self, checks: list[Check]) -> list[StaleEntry]:
        """Rules that matched nothing, and goldens whose case no longer exists."""
        from pytest_dualread.cases import find_case_files, load_case_file
        from pytest_dualread.errors import CaseError
        from pytest_dualread.report import StaleEntry

        stale: list[StaleEntry] = []
        dto_checks = [c for c in checks if c.kind == "dto" and "rule_usage" in c.data]
        if dto_checks:
            totals: dict[tuple[str, str], int] = {}
            per_file: dict[tuple[str, str, str], int] = {}
            for check in dto_checks:
                usage = check.data.get("rule_usage", {})
                for kind, patterns in usage.items():
                    for pattern, count in patterns.items():
                        totals[(kind, pattern)] = totals.get((kind, pattern), 0) + int(count)
                file_rules = check.data.get("file_rules") or {}
                for kind, patterns in file_rules.items():
                    for pattern in patterns:
                        key = (str(check.data.get("case_file")), kind, pattern)
                        used = int(usage.get(kind, {}).get(pattern, 0))
                        per_file[key] = per_file.get(key, 0) + used
                case_rules = check.data.get("case_rules") or {}
                for kind, patterns in case_rules.items():
                    for pattern in patterns:
                        if not usage.get(kind, {}).get(pattern):
                            stale.append(
                                StaleEntry(
                                    kind="rule",
                                    name=f"{kind}: {pattern}",
                                    source=(
                                        f"{check.data.get('case_file')} "
                                        f"case {check.data.get('case')}"
                                    ),
                                )
                            )
            for (case_file, kind, pattern), used in sorted(per_file.items()):
                if not used:
                    stale.append(
                        StaleEntry(kind="rule", name=f"{kind}: {pattern}", source=case_file)
                    )
            dto = self.settings.dto
            configured = {
                "ignore": dto.ignore,
                "list_keys": list(dto.list_keys),
                "tolerances": list(dto.tolerances),
                "coerce_numbers": dto.coerce_numbers,
            }
            for kind, patterns in configured.items():
                for pattern in patterns:
                    if totals.get((kind, pattern), 0) == 0:
                        stale.append(
                            StaleEntry(
                                kind="rule",
                                name=f"{kind}: {pattern}",
                                source="[tool.dualread.dto]",
                            )
                        )
        root = self.config.rootpath
        cases_dir = root / self.settings.cases_dir
        snapshot_dir = root / self.settings.snapshot_dir
        if cases_dir.is_dir():
            for path in find_case_files(cases_dir):
                try:
                    ids = {case.id for case in load_case_file(path).cases}
                except CaseError:
                    continue
                folder = snapshot_dir / "dto" / path.stem
                for golden in sorted(folder.glob("*.json")):
                    if golden.stem not in ids:
                        stale.append(
                            StaleEntry(
                                kind="golden",
                                name=os.path.relpath(golden, root),
                                source=f"no case {golden.stem!r} in {os.path.relpath(path, root)}",
                            )
                        )
        return stale

    def write(self, *, complete: bool, reason: str | None) -> Report:
        from pytest_dualread.report import write_report

        report = self.build(complete=complete, reason=reason)
        write_report(report, self.path)
        self.last_report = report
        return report

    # -- session hooks -------------------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # Replace any report of an earlier run at once: if this run dies without reaching
        # sessionfinish, the gate finds an incomplete report, never a stale green one.
        import shutil

        # Artifacts of an earlier run would be mistaken for this run's.
        shutil.rmtree(
            self.settings.output_path(self.config.rootpath) / "artifacts", ignore_errors=True
        )
        self.write(complete=False, reason="the run has not finished (or died before it did)")

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from pytest_dualread.html import write_html
        from pytest_dualread.metrics import write_metrics

        reason = _incomplete_reason(session, exitstatus)
        report = self.write(complete=reason is None, reason=reason)
        output = self.settings.output_path(self.config.rootpath)
        self.html_path = output / "report.html"
        write_html(report, self.html_path, base_dir=output)
        metrics = self.config.getoption("dual_read_metrics")
        if metrics:
            write_metrics(report, Path(metrics), env_name=None)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        report = self.last_report
        if report is None:
            return
        summary = report.summary
        where = os.path.relpath(self.path, self.config.invocation_params.dir)
        line = (
            f"dual-read: {summary.total} checks, {summary.passed} passed, {summary.failed} failed, "
            f"{summary.errors} errors, {summary.skipped} skipped; verdict {report.verdict.status}"
        )
        terminalreporter.write_sep("-", "dual-read report")
        terminalreporter.write_line(line)
        for reason in report.verdict.reasons:
            terminalreporter.write_line(f"  {reason}")
        for entry in report.stale[:20]:
            terminalreporter.write_line(f"  stale {entry.kind}: {entry.name} ({entry.source})")
        if len(report.stale) > 20:
            terminalreporter.write_line(f"  … and {len(report.stale) - 20} more stale entries")
        terminalreporter.write_line(f"report: {where}")
        if self.html_path is not None:
            html = os.path.relpath(self.html_path, self.config.invocation_params.dir)
            terminalreporter.write_line(f"html: {html}")


def _incomplete_reason(session: pytest.Session, exitstatus: int) -> str | None:
    status = int(exitstatus)
    if status == pytest.ExitCode.INTERRUPTED:
        return "interrupted"
    if status == pytest.ExitCode.INTERNAL_ERROR:
        return "pytest hit an internal error"
    if status == pytest.ExitCode.USAGE_ERROR:
        return "usage error"
    if session.shouldstop:
        return f"stopped early: {session.shouldstop}"
    if session.shouldfail:
        return f"stopped early: {session.shouldfail}"
    return None
