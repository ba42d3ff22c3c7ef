"""What tests hold: the ``dual_read`` and ``visual_snapshot`` fixtures' objects.

Users annotate with these types and call their methods; they never build them (the plugin
does, from the running test), so they are ``@final`` with private attributes. Nothing here
imports pytest: the plugin hands over a :class:`~pytest_dualread.lifecycle.CheckContext`, the
session's fetcher and a :class:`Renderer` for pages, and turns a failed check into a test
failure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, TypeVar, final, overload

if TYPE_CHECKING:
    from pydantic import BaseModel
    from typing_extensions import Unpack  # typing.Unpack is 3.11+

    from pytest_dualread.capture import CaptureOptions
    from pytest_dualread.config import PageOptions
    from pytest_dualread.dto import DtoResult
    from pytest_dualread.fetch import PairFetcher, ResponsePair
    from pytest_dualread.lifecycle import CheckContext
    from pytest_dualread.pagecheck import Captured
    from pytest_dualread.visual import PixelBudget

__all__ = ["CheckOptions", "DualRead", "Renderer", "VisualSnapshot", "page_options"]

_R = TypeVar("_R")


class CheckOptions(TypedDict, total=False):
    """The keywords of :meth:`DualRead.check` besides ``soft`` (one definition for its typed
    overloads). Left out, ``golden`` is True and ``method`` is GET; the rest default to none."""

    model: type[BaseModel] | None
    golden: bool
    name: str | None
    tolerances: Mapping[str, Any] | None
    ignore: Sequence[str] | None
    list_keys: Mapping[str, Any] | None
    coerce_numbers: Sequence[str] | None
    method: str
    params: Mapping[str, Any] | None
    headers: Mapping[str, str] | None


def _refuse_unknown(options: Mapping[str, Any]) -> None:
    """A misspelt keyword is a TypeError naming it, as with a plain signature (``**options``
    would otherwise swallow it)."""
    from pytest_dualread.errors import closest

    for key in options:
        if key not in CheckOptions.__annotations__:
            meant = closest(key, [*CheckOptions.__annotations__, "soft"])
            hint = f" (did you mean {meant!r}?)" if meant else ""
            raise TypeError(f"DualRead.check() got an unexpected keyword argument {key!r}{hint}")


class Renderer(Protocol):
    """Captures pages for visual checks (the plugin's, on pytest-playwright's browser)."""

    def render(
        self, path: str, options: CaptureOptions, budget: PixelBudget, baseline: bytes | None
    ) -> Captured:
        """Render ``path`` on both sides and compare with each other and the baseline."""
        ...

    def snapshot(
        self, page: Any, options: CaptureOptions, budget: PixelBudget, baseline: bytes | None
    ) -> Captured:
        """Capture an open page as it is and compare it with its baseline."""
        ...

    @property
    def browser_name(self) -> str:
        """The browser the running test's pages render in."""
        ...

    @property
    def strips_browser_id(self) -> bool:
        """Whether the test runs once per browser, its baselines named without the browser."""
        ...


def page_options(options: PageOptions | None, overrides: Mapping[str, Any]) -> PageOptions:
    """One page's options: ``options`` (or none) with keyword ``overrides`` on top, validated
    (an unknown or bad option is a ``ConfigError`` naming it)."""
    from pydantic import ValidationError

    from pytest_dualread.config import PageOptions
    from pytest_dualread.errors import ConfigError

    base = options.model_dump(exclude_unset=True) if options is not None else {}
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        return PageOptions.model_validate({**base, **given})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "options"
        what = err["msg"].removeprefix("Value error, ")
        raise ConfigError(f"page option {where!r}: {what}") from None


@final
class DualRead:
    """The ``dual_read`` fixture: ``fetch`` a pair, ``check`` a pair or a path, ``check_page``."""

    def __init__(
        self,
        context: Callable[[], CheckContext],
        fetcher: PairFetcher,
        renderer: Callable[[], Renderer],
        *,
        held: list[Any] | None = None,
    ) -> None:
        self._context = context
        self._ctx: CheckContext | None = None
        self._fetcher = fetcher
        self._renderer = renderer
        self._count = 0
        self._held: list[Any] = held if held is not None else []
        """Failed soft checks (``CheckFailed``): the plugin reports them when the test ends."""

    def _softly(self, run: Callable[[], _R], soft: bool) -> _R | None:
        """``run`` a check; a soft one that does not pass is held, and the test goes on."""
        __tracebackhide__ = True
        from pytest_dualread.errors import CheckFailed

        if not soft:
            return run()
        try:
            return run()
        except CheckFailed as exc:
            self._held.append(exc)
            return None

    @property
    def _check_context(self) -> CheckContext:
        if self._ctx is None:
            self._ctx = self._context()
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
        __tracebackhide__ = True  # its arguments may hold secret headers
        from pytest_dualread.errors import FetchError
        from pytest_dualread.fetch import Request

        try:
            return self._fetcher.fetch(Request(path, method, params, headers, json))
        except FetchError as exc:
            # Raised into the test itself, not through a check: scrubbed here, as a check would
            # be, with the errors it chains (pytest shows them all).
            scrub = self._check_context.scrubber
            seen: BaseException | None = exc
            while isinstance(seen, FetchError):
                seen.args = (scrub.text(str(seen)),)
                seen.body_head = scrub.text(seen.body_head) if seen.body_head else seen.body_head
                seen = seen.__cause__ or seen.__context__
            raise

    def _next_id(self, name: str | None) -> tuple[str, int | str]:
        nodeid = self._check_context.nodeid
        self._count += 1
        if name is not None:
            return f"{nodeid}::{name}", name
        return (nodeid if self._count == 1 else f"{nodeid}#{self._count}"), self._count - 1

    @overload
    def check(
        self,
        target: ResponsePair | str,
        *,
        soft: Literal[False] = False,
        **options: Unpack[CheckOptions],
    ) -> DtoResult: ...

    @overload
    def check(
        self, target: ResponsePair | str, *, soft: bool, **options: Unpack[CheckOptions]
    ) -> DtoResult | None: ...

    def check(
        self, target: ResponsePair | str, *, soft: bool = False, **options: Unpack[CheckOptions]
    ) -> DtoResult | None:
        """Compare adapter with legacy (and both with the golden); record it; fail if they
        differ beyond tolerance. ``tolerances`` / ``ignore`` / ``list_keys`` are merged over
        ``[tool.dualread.dto]`` (the ones given here win for the same pattern). ``soft=True``:
        a check that does not pass is recorded and returns ``None``, the test goes on, and
        fails at its end with every failed check's report."""
        __tracebackhide__ = True
        from pytest_dualread.dtocheck import DtoCheck, rules_from, run_dto
        from pytest_dualread.lifecycle import CheckRun
        from pytest_dualread.report import CaseRequest, DtoData

        _refuse_unknown(options)
        ctx = self._check_context
        check_id, index = self._next_id(options.get("name"))
        method = options.get("method", "GET")
        data = DtoData()
        if isinstance(target, str):
            data.request = CaseRequest(method=method, path=target)

        def obtain() -> ResponsePair:
            if not isinstance(target, str):
                return target
            params, headers = options.get("params"), options.get("headers")
            return self.fetch(target, method=method, params=params, headers=headers)

        def run() -> DtoResult:
            __tracebackhide__ = True
            try:
                rules = rules_from(
                    options.get("tolerances"),
                    options.get("ignore"),
                    options.get("list_keys"),
                    options.get("coerce_numbers"),
                )
            except ValueError as exc:
                CheckRun(ctx, check_id, data).error(exc)
            model, golden = options.get("model"), options.get("golden", True)
            return run_dto(ctx, DtoCheck(check_id, model, rules, golden, index, data), obtain)

        return self._softly(run, soft)

    def check_page(
        self,
        path: str,
        *,
        name: str | None = None,
        options: PageOptions | None = None,
        soft: bool = False,
        **option: Any,
    ) -> None:
        """Render ``path`` on both sides and compare legacy vs baseline, adapter vs baseline
        and adapter vs legacy; record it; fail when a comparison is over budget. Options (the
        fields of :class:`~pytest_dualread.config.PageOptions`: ``mask``, ``hide``, ``style``,
        ``element``, ``clip``, ``viewport``, the readiness waits, the budget, ...) come as a
        ``PageOptions`` or as keywords; ``mask`` and ``hide`` selectors must match something.
        ``soft=True``: a page that does not pass is recorded, the test goes on and fails at its
        end."""
        __tracebackhide__ = True
        self._softly(lambda: self._page(path, name, options, option), soft)

    def _page(
        self, path: str, name: str | None, options: PageOptions | None, option: Mapping[str, Any]
    ) -> None:
        __tracebackhide__ = True
        from pytest_dualread.errors import ConfigError
        from pytest_dualread.lifecycle import CheckRun
        from pytest_dualread.pagecheck import PageCheck, run_visual
        from pytest_dualread.report import VisualData

        ctx = self._check_context
        check_id, index = self._next_id(name)
        try:
            chosen = page_options(options, option)
        except (ValueError, ConfigError) as exc:
            CheckRun(ctx, check_id, VisualData(page=name or path, url=path)).error(exc)
        page = name or ctx.nodeid.rsplit("::", 1)[-1]
        renderer = self._renderer()
        spec = PageCheck(
            check_id,
            page,
            path,
            index,
            chosen,
            "legacy",
            browser=renderer.browser_name,
            strip_browser_id=renderer.strips_browser_id,
        )

        def capture(opts: CaptureOptions, budget: PixelBudget, baseline: bytes | None) -> Captured:
            return renderer.render(path, opts, budget, baseline)

        run_visual(ctx, spec, capture)


@final
class VisualSnapshot:
    """The ``visual_snapshot`` fixture's callable: ``visual_snapshot(page, "name")`` compares an
    open pytest-playwright page with its baseline (no sides)."""

    def __init__(
        self, context: Callable[[], CheckContext], renderer: Callable[[], Renderer]
    ) -> None:
        self._context = context
        self._renderer = renderer

    def __call__(
        self, page: Any, name: str, *, options: PageOptions | None = None, **option: Any
    ) -> None:
        __tracebackhide__ = True
        from pytest_dualread.errors import ConfigError
        from pytest_dualread.lifecycle import CheckRun
        from pytest_dualread.pagecheck import PageCheck, run_visual
        from pytest_dualread.report import VisualData

        ctx = self._context()
        check_id = f"{ctx.nodeid}::{name}"
        try:
            chosen = page_options(options, option)
        except (ValueError, ConfigError) as exc:
            CheckRun(ctx, check_id, VisualData(page=name, url=page.url)).error(exc)
        renderer = self._renderer

        def capture(opts: CaptureOptions, budget: PixelBudget, baseline: bytes | None) -> Captured:
            return renderer().snapshot(page, opts, budget, baseline)

        run_visual(ctx, PageCheck(check_id, name, page.url, name, chosen, "actual"), capture)
