"""Settings: ``[tool.dualread]`` in pyproject.toml, overridden by ``DUALREAD_*`` environment
variables, overridden by ``--dual-read-*`` flags.

The models are pydantic-settings models. Every section forbids unknown keys, so a typo is an
error, not a silently ignored setting. :func:`load_settings` turns any validation problem into
a :class:`~pytest_dualread.errors.ConfigError` that names the key and where its value came from
(the pyproject.toml file, the environment variable, or the flag).

Environment variables use ``__`` between nested keys: ``DUALREAD_VISUAL__THRESHOLD=0.2``;
values of list and mapping settings are JSON (``DUALREAD_DTO__IGNORE='["**.request_id"]'``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from pytest_dualread.errors import ConfigError, closest, validation_message
from pytest_dualread.gatesettings import ENV_PREFIX, GateSettings, ToleranceSetting
from pytest_dualread.pyproject import dualread_table
from pytest_dualread.report import Waiver

__all__ = [
    "ENV_PREFIX",
    "ArtifactRetention",
    "Clip",
    "DtoSettings",
    "DualReadSettings",
    "FetchSettings",
    "GateSettings",
    "PageOptions",
    "PageSpec",
    "SideSettings",
    "ToleranceSetting",
    "Viewport",
    "VisualSettings",
    "WaitUntil",
    "check_warn_budget",
    "config_hash",
    "load_settings",
]

ArtifactRetention = Literal["all", "failed", "none"]
_TARGET = re.compile(r"^(https?://\S+|[A-Za-z_][\w.]*:[A-Za-z_][\w.]*)$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SideSettings(_Section):
    """Request overrides for one side (``[tool.dualread.legacy]`` / ``[tool.dualread.adapter]``)."""

    # Out of the repr: these may hold credentials, and a repr lands in tracebacks and logs.
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    cookies: dict[str, str] = Field(default_factory=dict, repr=False)
    params: dict[str, str] = Field(default_factory=dict, repr=False)
    path_prefix: str = ""
    bearer_token: str | None = Field(
        None, description="sent as 'Authorization: Bearer ...'", repr=False
    )
    basic_auth: tuple[str, str] | None = Field(None, description="[user, password]", repr=False)

    @field_validator("path_prefix")
    @classmethod
    def _prefix_shape(cls, value: str) -> str:
        if value and (not value.startswith("/") or value.endswith("/")):
            raise ValueError(
                f"expected '' or a path like '/v2' (leading '/', no trailing '/'), got {value!r}"
            )
        return value

    def browser_headers(self) -> dict[str, str]:
        """The headers this side's browser context sends: its headers, cookies and credentials
        (the same a DTO fetch of the side sends; query ``params`` apply to DTO fetches only)."""
        import base64

        headers = dict(self.headers)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.bearer_token:
            headers["Authorization"] = f"Bearer {self.bearer_token}"
        elif self.basic_auth:
            user, password = self.basic_auth
            token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            headers["Authorization"] = f"Basic {token}"
        return headers


class FetchSettings(_Section):
    timeout_s: float = Field(10.0, gt=0)
    retries: int = Field(2, ge=0, le=10, description="for connect errors and 502/503/504 only")
    backoff_s: float = Field(0.2, ge=0)
    max_body_bytes: int = Field(10_000_000, gt=0)
    redact_headers: list[str] = Field(default_factory=list)
    redact_fields: list[str] = Field(default_factory=list)
    redact_params: list[str] = Field(
        default_factory=list, description="query parameters whose values are secret"
    )
    prefetch: int = Field(
        8, ge=0, le=64, description="cases whose GET requests start ahead of the running one"
    )


class DtoSettings(_Section):
    ignore: list[str] = Field(default_factory=list)
    list_keys: dict[str, str | list[str]] = Field(default_factory=dict)
    tolerances: dict[str, ToleranceSetting] = Field(default_factory=dict)
    coerce_numbers: list[str] = Field(default_factory=list)


class Viewport(_Section):
    width: int = Field(1280, gt=0, le=10_000)
    height: int = Field(720, gt=0, le=10_000)


def _check_selector(selector: str) -> str:
    """A selector Playwright can be given: not blank, one line, brackets balanced outside quotes."""
    if not selector.strip() or any(ord(c) < 32 for c in selector):
        raise ValueError(f"expected a CSS or Playwright selector on one line, got {selector!r}")
    depth, quote = [], ""
    for char in selector:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "([":
            depth.append(")" if char == "(" else "]")
        elif char in ")]" and (not depth or depth.pop() != char):
            raise ValueError(f"selector {selector!r} has an unmatched {char!r}")
    if depth:
        raise ValueError(
            f"selector {selector!r} has an unclosed {'(' if depth[-1] == ')' else '['!r}"
        )
    return selector


def _check_selectors(selectors: list[str]) -> list[str]:
    return [_check_selector(s) for s in selectors]


_HEX_COLOUR = re.compile(r"^#(?:[0-9a-fA-F]{3,4}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$")
_FUNCTION_COLOUR = re.compile(r"^(?:rgba?|hsla?)\([0-9.,%\s/+-]+\)$")
_COLOUR_NAMES = frozenset(
    {"black", "white", "gray", "grey", "silver", "red", "maroon", "orange", "yellow", "olive"}
    | {"lime", "green", "aqua", "cyan", "teal", "blue", "navy", "fuchsia", "magenta", "purple"}
    | {"pink", "transparent"}
)
_ISO_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)?(?:Z|[+-]\d{2}:\d{2})?$"
)


def _check_colour(value: str) -> str:
    text = value.strip()
    if _HEX_COLOUR.match(text) or _FUNCTION_COLOUR.match(text) or text.lower() in _COLOUR_NAMES:
        return text
    raise ValueError(
        f"expected a CSS colour: '#RGB', '#RRGGBB' (with or without alpha), rgb(...) / hsl(...) "
        f"or one of {', '.join(sorted(_COLOUR_NAMES))}; got {value!r}"
    )


def _check_clock(value: Any) -> Any:
    """An ISO-8601 date-time stays as given; epoch seconds become one."""
    from datetime import datetime, timezone

    expected = "expected an ISO-8601 date-time like '2025-09-20T08:30:00Z' or epoch seconds"
    if isinstance(value, str) and re.fullmatch(r"\d{1,12}", value.strip()):
        value = int(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            raise ValueError(f"{expected}; the number given is out of range") from None
    text = value.strip() if isinstance(value, str) else ""
    if value is None or (_ISO_DATETIME.match(text) and _parses_as_datetime(text)):
        return value if value is None else text
    raise ValueError(expected)  # the value itself is shown by validation_message


def _parses_as_datetime(text: str) -> bool:
    from datetime import datetime

    try:
        # "Z" is ISO-8601 for UTC; Python before 3.11 only reads "+00:00".
        datetime.fromisoformat(text.removesuffix("Z") + ("+00:00" if text.endswith("Z") else ""))
    except ValueError:
        return False
    return True


class Clip(_Section):
    """A rectangle of the page, in CSS pixels from its top-left corner."""

    x: float = Field(ge=0)
    y: float = Field(ge=0)
    width: float = Field(gt=0, le=100_000)
    height: float = Field(gt=0, le=100_000)


WaitUntil = Literal["load", "domcontentloaded", "networkidle"]


class PageOptions(_Section):
    """How one page is captured and judged: the same options in ``[tool.dualread.visual] pages``,
    ``dual_read.check_page`` and ``visual_snapshot``. An option left unset falls back to
    ``[tool.dualread.visual]``."""

    mask: list[str] = Field(default_factory=list)
    """Selectors painted over, on top of the global ``mask``; each must match something."""
    hide: list[str] = Field(default_factory=list)
    """Selectors made invisible (``visibility: hidden``): unlike a mask, their box keeps its
    place and nothing is painted; each must match something."""
    style: str | None = Field(None, min_length=1)
    """CSS applied while capturing (Playwright's ``stylePath``): the CSS itself, or the path of
    a ``.css`` file relative to the folder of pyproject.toml."""
    full_page: bool | None = None
    element: str | None = Field(None, min_length=1)
    """Capture only this element (a selector)."""
    clip: Clip | None = None
    """Capture only this rectangle of the page."""
    viewport: Viewport | None = None
    """This page's viewport, over ``[tool.dualread.visual] viewport`` and the context's."""
    wait_until: WaitUntil | None = None
    """The navigation is done at this event (``load`` unless set)."""
    wait_for: str | None = Field(None, min_length=1)
    """Capture once an element matching this selector is visible."""
    wait_for_function: str | None = Field(None, min_length=1)
    """Capture once this JavaScript expression is truthy in the page."""
    threshold: float | None = Field(None, ge=0, le=1)
    max_diff_pixels: int | None = Field(None, ge=0)
    max_diff_ratio: float | None = Field(None, ge=0, le=1)
    warn_diff_pixels: int | None = Field(None, ge=0)
    """Differing pixels above this warn (the check passes) up to the fail budget."""
    warn_diff_ratio: float | None = Field(None, ge=0, le=1)
    """Share of differing pixels above which a passing page warns."""
    network_idle_s: float | None = Field(None, ge=0, le=60)
    """How long no request may be in flight before a capture."""

    _selectors = field_validator("mask", "hide")(_check_selectors)

    @model_validator(mode="after")
    def _warn_below_fail(self) -> PageOptions:
        # Only against a budget set beside it; the global one is checked once resolved.
        check_warn_budget(self, "page options", resolved=False)
        return self

    @field_validator("element", "wait_for")
    @classmethod
    def _one_selector(cls, value: str | None) -> str | None:
        return None if value is None else _check_selector(value)

    @model_validator(mode="after")
    def _one_area(self) -> PageOptions:
        if self.element is not None and self.clip is not None:
            raise ValueError("'element' and 'clip' both choose what is captured: give one")
        return self


class PageSpec(PageOptions):
    """A page declared in ``[tool.dualread.visual] pages``: a name, a path, its options."""

    name: str = Field(min_length=1)
    path: str = Field(pattern=r"^/")

    @property
    def options(self) -> PageOptions:
        return PageOptions.model_validate(self.model_dump(include=set(PageOptions.model_fields)))


class VisualSettings(_Section):
    viewport: Viewport = Field(default_factory=Viewport)
    device_scale_factor: float = Field(1.0, gt=0, le=4)
    threshold: float = Field(0.1, ge=0, le=1)
    max_diff_pixels: int = Field(0, ge=0)
    max_diff_ratio: float = Field(0.0, ge=0, le=1)
    warn_diff_pixels: int | None = Field(None, ge=0)
    warn_diff_ratio: float | None = Field(None, ge=0, le=1)
    include_aa: bool = False
    engine: Literal["dualread", "pixelmatch-py"] = "dualread"
    mask: list[str] = Field(default_factory=list)
    mask_color: str = "#FF00FF"
    full_page: bool = True
    stabilize_timeout_s: float = Field(5.0, gt=0)
    network_idle_s: float = Field(0.5, ge=0, le=60)
    navigation_timeout_s: float = Field(30.0, gt=0)
    freeze_clock: str | None = Field(None, description="ISO time the page's clock is fixed at")
    browser_executable: str | None = None
    pages: list[PageSpec] = Field(default_factory=list)

    _selectors = field_validator("mask")(_check_selectors)
    _colour = field_validator("mask_color")(_check_colour)
    _clock = field_validator("freeze_clock", mode="before")(_check_clock)

    @model_validator(mode="after")
    def _warn_below_fail(self) -> VisualSettings:
        check_warn_budget(self, "tool.dualread.visual")
        return self

    @field_validator("pages")
    @classmethod
    def _unique_names(cls, pages: list[PageSpec]) -> list[PageSpec]:
        # A page's name is its baseline's file name: what a file name cannot hold, and two
        # names equal but for case (one file on a case-insensitive file system), are refused.
        seen: dict[str, str] = {}
        for page in pages:
            _page_name_problem(page.name)
            first = seen.get(page.name.casefold())
            if first is None:
                seen[page.name.casefold()] = page.name
            elif first == page.name:
                raise ValueError(f"page name {page.name!r} is used twice; names must be unique")
            else:
                raise ValueError(
                    f"page names {first!r} and {page.name!r} differ only in case: one baseline "
                    f"file ({page.name}.png) on a case-insensitive file system"
                )
        return pages


MAX_PAGE_NAME = 100
"""Longest page name: it names the test and the baseline file (255 bytes, with room for a
browser's and a parametrization's ids)."""
_NOT_IN_FILE_NAMES = '\\/?*:|"<>'


def _page_name_problem(name: str) -> None:
    if not name.strip():
        raise ValueError("a page name cannot be blank")
    if len(name) > MAX_PAGE_NAME:
        raise ValueError(f"page name {name[:40]!r}… is longer than {MAX_PAGE_NAME} characters")
    bad = sorted({c for c in name if c in _NOT_IN_FILE_NAMES or not c.isprintable()})
    if bad:
        raise ValueError(
            f"page name {name!r} holds {', '.join(map(repr, bad))}: a page's name is its "
            "baseline's file name, which cannot hold control characters or any of "
            f"{_NOT_IN_FILE_NAMES}"
        )


_WARN_BUDGETS = (("warn_diff_pixels", "max_diff_pixels"), ("warn_diff_ratio", "max_diff_ratio"))


def check_warn_budget(options: Any, where: str, *, resolved: bool = True) -> None:
    """Refuse a visual warn level at or above its fail budget (warn < fail), naming ``where``.
    Unless ``resolved``, a warn level without a fail budget beside it is left for later."""
    for warn, fail in _WARN_BUDGETS:
        level, limit = getattr(options, warn), getattr(options, fail)
        if level is None or (limit is None and not resolved):
            continue
        if limit is None or not level < limit:
            raise ValueError(
                f"{where}: {warn} {level!r} must be below {fail} {limit!r} (warn < fail)"
            )


# The pyproject.toml and environment of the load in progress (see load_settings): pydantic-settings
# builds its sources inside the model's constructor, so they are handed over through this.
_SOURCES: ContextVar[tuple[Path | None, Mapping[str, str]] | None] = ContextVar(
    "dualread_sources", default=None
)


class DualReadSettings(BaseSettings):
    """Everything ``[tool.dualread]`` may hold. Relative paths are relative to the rootdir."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    legacy_url: str | None = Field(None, description="http(s) URL, or 'module:app' (ASGI/WSGI)")
    adapter_url: str | None = Field(None, description="http(s) URL, or 'module:app' (ASGI/WSGI)")
    cases_dir: Path = Path("fixtures/dual_read")
    snapshot_dir: Path = Path("snapshots")
    output_dir: Path = Path("dual-read-results")
    report_path: Path | None = None
    sample: float | None = Field(None, gt=0, le=100)
    artifacts: ArtifactRetention = "failed"
    legacy: SideSettings = Field(default_factory=SideSettings)
    adapter: SideSettings = Field(default_factory=SideSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    dto: DtoSettings = Field(default_factory=DtoSettings)
    visual: VisualSettings = Field(default_factory=VisualSettings)
    gate: GateSettings = Field(default_factory=GateSettings)
    waivers: list[Waiver] = Field(default_factory=list)
    """Known differences that do not fail their checks until they expire (``waivers.py``)."""

    @field_validator("waivers")
    @classmethod
    def _waiver_rules(cls, waivers: list[Waiver]) -> list[Waiver]:
        from pytest_dualread.waivers import check_waivers

        return check_waivers(waivers)

    @field_validator("legacy_url", "adapter_url")
    @classmethod
    def _target_shape(cls, value: str | None) -> str | None:
        if value is not None and not _TARGET.match(value):
            raise ValueError(
                f"expected an http(s) URL like 'http://127.0.0.1:8001' or an app import path "
                f"like 'package.module:app', got {value!r}"
            )
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Precedence, highest first: flags (init kwargs), DUALREAD_* environment, pyproject.toml.
        given = _SOURCES.get()
        if given is None:
            return (init_settings, env_settings)
        pyproject, environ = given
        sources: list[PydanticBaseSettingsSource] = [
            init_settings,
            _GivenEnvironment(settings_cls, environ),
        ]
        if pyproject is not None:
            sources.append(_DualReadTable(settings_cls, pyproject))
        return tuple(sources)

    def output_path(self, rootdir: Path) -> Path:
        return _resolve(rootdir, self.output_dir)

    def report_file(self, rootdir: Path) -> Path:
        if self.report_path is not None:
            return _resolve(rootdir, self.report_path)
        return self.output_path(rootdir) / "report.json"


class _GivenEnvironment(EnvSettingsSource):
    """``DUALREAD_*`` variables of a given mapping instead of ``os.environ``."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._given = dict(environ)
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # Names are matched case-insensitively, as pydantic-settings does by default.
        return {
            name.lower(): value
            for name, value in self._given.items()
            if not (self.env_ignore_empty and value == "")
        }


class _DualReadTable(InitSettingsSource):
    """``[tool.dualread]`` of one given pyproject.toml (read here, so errors name the file)."""

    def __init__(self, settings_cls: type[BaseSettings], toml_file: Path) -> None:
        super().__init__(settings_cls, dualread_table(toml_file))


def _resolve(rootdir: Path, path: Path) -> Path:
    return path if path.is_absolute() else rootdir / path


def _field_names(model: type[BaseModel]) -> list[str]:
    return sorted(model.model_fields)


def _did_you_mean(loc: tuple[str | int, ...]) -> str:
    """For an unknown key at ``loc``: the known key of its table closest to it, if any."""
    model: type[BaseModel] = DualReadSettings
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        inner = field.annotation if field is not None else None
        if not (isinstance(inner, type) and issubclass(inner, BaseModel)):
            return ""
        model = inner
    meant = closest(str(loc[-1]), _field_names(model))
    return f" (did you mean {meant!r}?)" if meant else ""


def _check_environment(environ: Mapping[str, str]) -> None:
    known = {name.upper() for name in DualReadSettings.model_fields}
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX):
            continue
        top = name[len(ENV_PREFIX) :].split("__", 1)[0]
        if top not in known:
            raise ConfigError(
                f"unknown setting; expected DUALREAD_ followed by one of "
                f"{', '.join(sorted(known))} (nested keys joined by '__')",
                source=f"environment variable {name}",
            )
        value = environ[name].strip()
        if value[:1] in ("[", "{"):
            try:
                json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"list and mapping values must be JSON: {exc.msg} at column {exc.colno}",
                    source=f"environment variable {name}",
                ) from None


_FLAG_OF = {
    "output_dir": "--dual-read-output",
    "report_path": "--dual-read-report",
    "legacy_url": "--dual-read-legacy-url",
    "adapter_url": "--dual-read-adapter-url",
    "sample": "--dual-read-sample",
}


def _source_of(
    loc: tuple[str | int, ...],
    flags: Mapping[str, Any],
    environ: Mapping[str, str],
    pyproject: Path | None,
) -> str:
    top = str(loc[0]) if loc else ""
    if top in flags:
        return _FLAG_OF.get(top, f"--dual-read-{top.replace('_', '-')}")
    env_name = ENV_PREFIX + "__".join(str(p) for p in loc if isinstance(p, str)).upper()
    for name in environ:
        if name.upper() == env_name or (name.upper().startswith(ENV_PREFIX + top.upper()) and top):
            return f"environment variable {name}"
    return str(pyproject) if pyproject is not None else "defaults"


def _page_named(loc: tuple[str | int, ...], pyproject: Path | None) -> str:
    """``page 'card': `` when a problem lies in a page of ``[tool.dualread.visual] pages``:
    its index alone does not say which page a user wrote."""
    if pyproject is None or len(loc) < 3 or loc[:2] != ("visual", "pages"):
        return ""
    try:
        name = dualread_table(pyproject)["visual"]["pages"][int(loc[2])]["name"]
    except (ConfigError, KeyError, IndexError, TypeError, ValueError):
        return ""
    return f"page {name!r}: " if isinstance(name, str) else ""


def load_settings(
    rootdir: Path,
    *,
    pyproject: Path | None = None,
    environ: Mapping[str, str] | None = None,
    flags: Mapping[str, Any] | None = None,
) -> DualReadSettings:
    """Build the effective settings for a project rooted at ``rootdir``.

    ``pyproject`` defaults to ``rootdir/pyproject.toml`` when it exists; ``flags`` holds values
    given on the command line (only those actually given). Raises :class:`ConfigError`.
    """
    environ = dict(os.environ if environ is None else environ)
    flags = {k: v for k, v in (flags or {}).items() if v is not None}
    if pyproject is None:
        candidate = rootdir / "pyproject.toml"
        pyproject = candidate if candidate.is_file() else None
    _check_environment(environ)
    token = _SOURCES.set((pyproject, environ))
    try:
        settings = DualReadSettings(**flags)
    except ValidationError as exc:
        loc = tuple(exc.errors()[0]["loc"])
        key = ".".join(str(p) for p in loc)
        source = _source_of(loc, flags, environ, pyproject)
        named = f"tool.dualread.{key}" if key and not source.startswith("--") else None
        message = validation_message(exc, limit=1, prefix=None)
        if exc.errors()[0]["type"] == "extra_forbidden":  # the hint belongs to the first key
            first, more, rest = message.partition("; and ")
            message = first + _did_you_mean(loc) + more + rest
        message = _page_named(loc, pyproject) + message
        raise ConfigError(message, key=named, source=source) from None
    finally:
        _SOURCES.reset(token)
    _check_paths(settings, rootdir, pyproject)
    return settings


def _check_paths(settings: DualReadSettings, rootdir: Path, pyproject: Path | None) -> None:
    cases = _resolve(rootdir, settings.cases_dir)
    explicit = "cases_dir" in settings.model_fields_set
    if explicit and not cases.is_dir():
        raise ConfigError(
            f"directory {cases} does not exist (expected a folder of case files *.json)",
            key="tool.dualread.cases_dir",
            source=str(pyproject) if pyproject else None,
        )
    for name in ("snapshot_dir", "output_dir"):
        path = _resolve(rootdir, getattr(settings, name))
        if path.exists() and not path.is_dir():
            raise ConfigError(
                f"{path} exists and is not a directory",
                key=f"tool.dualread.{name}",
                source=str(pyproject) if pyproject else None,
            )
    exe = settings.visual.browser_executable
    if exe is not None and not Path(exe).is_file():
        raise ConfigError(
            f"browser executable {exe} does not exist (install Debian's 'chromium' package, "
            "or point this at a Chromium binary)",
            key="tool.dualread.visual.browser_executable",
            source=str(pyproject) if pyproject else None,
        )


def config_hash(settings: DualReadSettings) -> str:
    """A stable hash of the effective settings, for telling apart runs of different configs.

    Output locations do not change what is compared, so they are left out.
    """
    data = settings.model_dump(mode="json", exclude={"output_dir", "report_path", "sample"})
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(blob.encode()).hexdigest()[:16]
