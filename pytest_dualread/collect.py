"""Collection: every case of a case file, and every page of ``[tool.dualread.visual] pages``,
is its own test item.

Part of the pytest glue. A case item runs the DTO pipeline directly (no function-scoped
fixture per case) and starts the requests of the cases after it while it compares its own:
pytest runs ``session.items`` in order, so the cases ahead are known.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_dualread.session import checks_key, context_of, load_settings_of, settings_key

if TYPE_CHECKING:
    from pytest_dualread.api import DualRead
    from pytest_dualread.cases import Case, CaseFile
    from pytest_dualread.config import DualReadSettings, PageSpec
    from pytest_dualread.errors import CaseError
    from pytest_dualread.fetch import PairFetcher, Request, ResponsePair
    from pytest_dualread.normalize import DiffRules

__all__ = [
    "BrokenCaseFile",
    "CaseFileCollector",
    "CaseItem",
    "PagesCollector",
    "ahead_key",
    "collect_file",
    "declared_items",
    "pages_collector",
    "rule_error_at",
]

ahead_key = pytest.StashKey[list[pytest.Item]]()
"""The items that run after a case on this process (set by the plugin's protocol hook)."""
_collected_key = pytest.StashKey[set[Path]]()
"""Case files and pages collected from the paths pytest was given."""


def _settings_for_collection(config: pytest.Config, file_path: Path) -> DualReadSettings | None:
    settings = config.stash.get(settings_key, None)
    if settings is not None:
        return settings
    # Without --dual-read, case files given on the command line still show up, as skipped
    # items. Only a .json file in the cases folder pays for loading the settings, and a broken
    # configuration must not break a run that does not use it.
    if file_path.suffix != ".json" or not _in_cases_dir(config.rootpath, file_path):
        return None
    from pytest_dualread.errors import ConfigError

    try:
        settings = load_settings_of(config)
    except ConfigError:
        return None
    config.stash[settings_key] = settings
    return settings


def _in_cases_dir(rootdir: Path, file_path: Path) -> bool:
    """A cheap look at ``cases_dir`` (environment, then pyproject.toml) without the models."""
    cases_dir = os.environ.get("DUALREAD_CASES_DIR")
    if cases_dir is None:
        from pytest_dualread.errors import ConfigError
        from pytest_dualread.pyproject import dualread_table

        try:
            table = dualread_table(rootdir / "pyproject.toml")
        except ConfigError:
            table = {}  # a broken or missing pyproject.toml is reported by whatever uses it
        cases_dir = str(table.get("cases_dir", "fixtures/dual_read"))
    return file_path.parent.resolve() == (rootdir / cases_dir).resolve()


def _collector_for(path: Path, parent: Any, settings: DualReadSettings) -> pytest.Collector | None:
    rootdir = parent.config.rootpath
    if path.suffix == ".toml":
        pages = rootdir / "pyproject.toml"
        if not settings.visual.pages or path.resolve() != pages.resolve():
            return None
        return pages_collector(parent, path)
    if path.suffix != ".json" or path.parent.resolve() != (rootdir / settings.cases_dir).resolve():
        return None
    collector: CaseFileCollector = CaseFileCollector.from_parent(parent, path=path)
    return collector


def collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A case file or the pyproject.toml of declared pages, as a collector (else ``None``)."""
    if file_path.suffix not in (".json", ".toml"):
        return None
    settings = _settings_for_collection(parent.config, file_path)
    if settings is None:
        return None
    collector = _collector_for(file_path, parent, settings)
    if collector is not None:
        parent.config.stash.setdefault(_collected_key, set()).add(file_path.resolve())
    return collector


def _declared_files(
    config: pytest.Config, settings: DualReadSettings, running: set[Path] | None
) -> list[Path]:
    """Case files and the pyproject.toml of pages, except those collected (or, given,
    ``running``: the files of the run's items)."""
    from pytest_dualread.cases import find_case_files

    cases_dir = config.rootpath / settings.cases_dir
    files = find_case_files(cases_dir) if cases_dir.is_dir() else []
    pyproject = config.rootpath / "pyproject.toml"
    if settings.visual.pages and pyproject.is_file():
        files.append(pyproject)
    # pytest offers every file of a path's folder to the collect hook, so with paths given the
    # collected set says too much: the run's own items say what it runs.
    seen = config.stash.get(_collected_key, set()) if running is None else running
    resolved = {path.resolve() for path in seen}
    return [path for path in files if path.resolve() not in resolved]


def declared_items(
    session: pytest.Session, settings: DualReadSettings, *, running: set[Path] | None = None
) -> list[pytest.Item]:
    """The items of the declared case files and pages not collected yet (not among the files
    in ``running``, when given)."""
    # `pytest --dual-read` with no paths collects what testpaths hold, plus the case files and
    # pages the settings declare, wherever they are (below the rootdir, like any test file).
    items: list[pytest.Item] = []
    for path in _declared_files(session.config, settings, running):
        collector = _collector_for(path, session, settings)
        if collector is not None:
            items.extend(item for item in collector.collect() if isinstance(item, pytest.Item))
    return items


def rule_error_at(path: Path, exc: ValueError) -> CaseError:
    """A bad rule of the file ``path`` (a case file or pyproject.toml) as one line naming the
    file and the line where its pattern is written, when it can be found."""
    from pytest_dualread.errors import CaseError
    from pytest_dualread.paths import PatternError, pattern_line

    line = None
    if isinstance(exc, PatternError):
        try:
            line = pattern_line(path.read_text(encoding="utf-8"), exc.pattern)
        except (OSError, UnicodeDecodeError):
            line = None  # the message still names the file, the rule and the pattern
    return CaseError(str(exc), path=path, line=line)


class CaseFileCollector(pytest.File):
    """A case file; collects one :class:`CaseItem` per case. A file that does not load becomes
    one item that errors with the reason, so the rest of the run goes on."""

    def collect(self) -> Iterator[pytest.Item]:
        from pytest_dualread.cases import load_case_file
        from pytest_dualread.dtocheck import rules_from
        from pytest_dualread.errors import CaseError

        try:
            case_file = load_case_file(self.path)
            rules = rules_from(
                case_file.tolerances,
                case_file.ignore,
                case_file.list_keys,
                case_file.coerce_numbers,
            )
        except (CaseError, ValueError) as exc:
            error = rule_error_at(self.path, exc) if isinstance(exc, ValueError) else exc
            yield BrokenCaseFile.from_parent(self, name=self.path.name, error=error)
            return
        shown = os.path.relpath(case_file.path, self.config.rootpath)
        of_the_file = {"callobj": _run_case, "case_file": case_file, "rules": rules, "shown": shown}
        for case in case_file.cases:
            item: CaseItem = CaseItem.from_parent(self, name=case.id, case=case, **of_the_file)
            item.add_marker(pytest.mark.dual_read(kind="dto"))
            for tag in case.tags:
                item.extra_keyword_matches.add(tag)
            yield item


def _run_case(request: pytest.FixtureRequest, dual_read_fetcher: PairFetcher) -> None:
    """The body of every collected case (syrupy needs a real function behind each item)."""
    __tracebackhide__ = True
    item = request.node
    assert isinstance(item, CaseItem)
    try:
        item.run_case(request, dual_read_fetcher)
    finally:
        dual_read_fetcher.discard(item.nodeid)  # started ahead, never taken (a broken case)


class CaseItem(pytest.Function):
    """One case of a case file."""

    def __init__(
        self, *, case_file: CaseFile, case: Case, rules: DiffRules, shown: str, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.case_file = case_file
        self.case = case
        self.file_rules = rules
        """The case file's own rules, built once for all its cases."""
        self.case_file_shown = shown
        """The case file's path relative to the rootdir (the report's ``case_file``)."""

    def run_case(self, request: pytest.FixtureRequest, fetcher: PairFetcher) -> None:
        __tracebackhide__ = True
        from pytest_dualread.dtocheck import run_dto

        ctx = context_of(request)
        check = self._check(ctx)

        def obtain() -> ResponsePair:
            # This case's requests first (unless already started), then the window ahead.
            if fetcher.window:
                for following in [self, *self.stash.get(ahead_key, [])[: fetcher.window]]:
                    if isinstance(following, CaseItem):
                        following.prefetch(fetcher)
            return fetcher.fetch(self.http_request(), key=self.nodeid)

        run_dto(ctx, check, obtain)

    def _check(self, ctx: Any) -> Any:
        """What to check; a case whose model or rules are broken is an error check."""
        __tracebackhide__ = True
        from pytest_dualread.cases import import_model
        from pytest_dualread.dtocheck import DtoCheck, rules_from
        from pytest_dualread.errors import CaseError
        from pytest_dualread.lifecycle import CheckRun
        from pytest_dualread.report import CaseRequest, DtoData

        case, case_file = self.case, self.case_file
        line = case_file.lines.get(case.id)
        req = case.request
        data = DtoData(
            case=case.id,
            case_file=self.case_file_shown,
            case_line=line,
            tags=list(case.tags),
            request=CaseRequest(method=req.method, path=req.path, params=dict(req.params)),
        )
        try:
            spec = case_file.model_path(case)
            model = (
                import_model(spec, path=case_file.path, case_id=case.id, line=line)
                if spec
                else None
            )
            try:
                own = rules_from(case.tolerances, case.ignore, case.list_keys, case.coerce_numbers)
                rules = own.merged_over(self.file_rules)
            except ValueError as exc:
                at = rule_error_at(case_file.path, exc)  # the pattern's line, not the case's
                raise CaseError(
                    str(exc), path=case_file.path, line=at.line or line, case_id=case.id
                ) from None
        except CaseError as exc:
            CheckRun(ctx, self.nodeid, data).error(exc)
        data.case_rules = own.to_json()
        data.file_rules = self.file_rules.to_json()
        return DtoCheck(self.nodeid, model, rules, True, 0, data)

    def prefetch(self, fetcher: PairFetcher) -> None:
        fetcher.prefetch(self.nodeid, self.http_request())

    def http_request(self) -> Request:
        from pytest_dualread.fetch import Request

        req = self.case.request
        return Request(
            req.path, req.method, dict(req.params) or None, dict(req.headers) or None, req.json_body
        )

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


class BrokenCaseFile(pytest.Item):
    """A case file that does not load: one item that errors with the reason."""

    def __init__(self, *, error: Exception, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.error = error
        self.add_marker(pytest.mark.dual_read(kind="dto"))

    def runtest(self) -> None:
        from pytest_dualread.report import Check, DtoData

        case_file = os.path.relpath(self.path, self.config.rootpath)
        check = Check(
            id=self.nodeid,
            nodeid=self.nodeid,
            kind="dto",
            outcome="error",
            message=f"case file error: {self.error}",
            data=DtoData(case_file=case_file),
        )
        self.stash.setdefault(checks_key, []).append(check)
        raise self.error

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        return f"case file error: {excinfo.value}"

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"case file {self.path.name}"


class PagesCollector(pytest.Module):
    """``[tool.dualread.visual] pages`` of pyproject.toml, collected like a Python module with
    one test function per page (``pyproject.toml::<name>``): pytest's own parametrization then
    applies to pages as to Python tests, so ``--browser`` multiplies them (``<name>[firefox]``)
    and pytest-playwright's markers reach them. pyproject.toml is never imported: the collector's
    ``obj`` is set to a module made of those functions (see :func:`pages_collector`)."""


def pages_collector(parent: Any, path: Path) -> PagesCollector:
    """The collector of the pages declared in ``path`` (the rootdir's pyproject.toml)."""
    import types

    module = types.ModuleType("dualread_pages")
    for spec in parent.config.stash[settings_key].visual.pages:
        setattr(module, spec.name, _page_function(spec, module.__name__))
    collector: PagesCollector = PagesCollector.from_parent(parent, path=path)
    collector.obj = module
    return collector


def _page_function(page: PageSpec, module: str) -> Callable[[DualRead], None]:
    """The test function of a page declared in pyproject.toml."""

    def run_page(dual_read: DualRead) -> None:
        __tracebackhide__ = True
        dual_read.check_page(page.path, options=page.options)

    run_page.__name__ = run_page.__qualname__ = page.name
    run_page.__module__ = module
    run_page.__doc__ = f"page {page.name} ({page.path})"
    # __test__: collected whatever the page's name (python_functions does not apply).
    vars(run_page).update(__test__=True, pytestmark=[pytest.mark.dual_read(kind="visual")])
    return run_page
