"""The JSON gate report: its models (schema_version 1), atomic writing, trusted loading, merging.

A report is the only thing a release gate reads, so this module is strict in both directions:
what it writes validates against :class:`Report`, and what it loads is refused with a
:class:`~pytest_dualread.errors.ReportError` unless it is a complete-looking pytest-dualread
report of a schema this version understands.

Checks travel from the test process to the report writer as plain JSON data (``dict``), so they
cross pytest-xdist's worker boundary unchanged; :func:`check_from_data` validates them on arrival.
"""

from __future__ import annotations

import ast
import functools
import gc
import inspect
import json
import os
import re
import stat
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializationInfo,
    StrictInt,
    ValidationError,
    field_serializer,
    model_validator,
)

from pytest_dualread.errors import ReportError, validation_message
from pytest_dualread.files import write_atomic
from pytest_dualread.tolerance import Tolerance

__all__ = [
    "SCHEMA_VERSION",
    "TOOL_NAME",
    "CaseRequest",
    "Check",
    "CheckData",
    "CheckKind",
    "ComparisonData",
    "DtoData",
    "Environment",
    "FieldDelta",
    "FieldStats",
    "Finding",
    "HeadroomStats",
    "KindSummary",
    "Outcome",
    "Report",
    "ReportFile",
    "RunInfo",
    "SampleInfo",
    "SelectionInfo",
    "StaleEntry",
    "Summary",
    "ToleranceSpec",
    "ToolInfo",
    "Triage",
    "Verdict",
    "VisualData",
    "WaivedFinding",
    "Waiver",
    "WaiverUse",
    "check_from_data",
    "collector_paused",
    "dump_merged",
    "dump_report",
    "json_schema",
    "load_report",
    "merge_reports",
    "read_report",
    "summarize",
    "warned",
    "write_report",
    "written_by_pytest_dualread",
]

SCHEMA_VERSION = 1
TOOL_NAME = "pytest-dualread"

CheckKind = Literal["dto", "visual"]
Outcome = Literal["passed", "failed", "error", "skipped"]
Triage = Literal["adapter_regression", "upstream_drift", "both_diverge", "legacy_drift"]


class _Model(BaseModel):
    # Infinity and NaN are written as the standard library writes them (dump_report). The
    # docstring under each field is its description, read only when the JSON schema is asked
    # for (json_schema): pydantic reading them as each class is made cost a tenth of every
    # dualread command's start.
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="constants")


class ToolInfo(_Model):
    """What wrote the report."""

    name: str = TOOL_NAME
    """Always ``pytest-dualread``; readers refuse other tools' files."""
    version: str
    """The pytest-dualread version."""


class Environment(_Model):
    """Versions that decide what a run can see; a threshold is only portable within them."""

    python: str
    """Python version of the test process."""
    pytest: str
    """pytest version."""
    platform: str = ""
    """Operating system and architecture."""
    deepdiff: str | None = None
    """deepdiff version (DTO diffs)."""
    playwright: str | None = None
    """Playwright version (page captures)."""
    browser: str | None = None
    """Browser name, version and executable used for visual checks, when any ran."""
    pixel_engine: str | None = None
    """Pixel comparison engine and its version, when visual checks ran."""


class SampleInfo(_Model):
    """The deterministic sample of ``--dual-read-sample``."""

    percent: float
    """The share of dual-read items kept."""
    selected: int
    """Items kept."""
    total: int
    """Items before sampling."""


class SelectionInfo(_Model):
    """Which dual-read items the run's selection left out (``-k``, ``-m``, ``--deselect``,
    ``--lf``, ...), after the declared sample."""

    collected: int
    """Dual-read items collected (after a declared sample, which ``sample`` records)."""
    selected: int
    """Dual-read items the run set out to run."""
    deselected: int = 0
    """Items the selection left out: above 0, the run is partial."""
    filters: list[str] = Field(default_factory=list)
    """The selecting options given (``-k``, ``-m``, ``--deselect``, ``--lf``, ``--sw``), the
    shard as ``--dual-read-shard=K/N``, and ``paths`` when the paths given left declared case
    files or pages out."""


class RunInfo(_Model):
    """When and how the run happened."""

    started_at: datetime
    """Start of the session (UTC)."""
    finished_at: datetime | None = None
    """End of the session (UTC)."""
    duration_s: float = 0.0
    """Wall time of the session in seconds."""
    complete: bool
    """False when the run was interrupted, stopped early or crashed: a gate never passes it."""
    incomplete_reason: str | None = None
    """Why the run is incomplete."""
    argv: list[str]
    """The pytest command line."""
    environment: Environment
    """Versions of the tools involved."""
    config_hash: str
    """Stable hash of the effective settings; shards of one run share it."""
    sample: SampleInfo | None = None
    """Present when the run was sampled."""
    selection: SelectionInfo | None = None
    """What the run collected and selected; ``deselected`` above 0 is a partial run."""
    calibration: int | None = None
    """An A/A calibration run (``--dual-read-calibrate=N``): N legacy fetches per case, nothing
    judged; a gate never judges it."""


class KindSummary(_Model):
    """Check counts by outcome."""

    total: int = 0
    """All checks."""
    passed: int = 0
    """Checks that passed."""
    failed: int = 0
    """Checks that found a difference beyond tolerance."""
    errors: int = 0
    """Checks that could not be judged (a side down, a bad case, a page that never settled)."""
    skipped: int = 0
    """Checks that were skipped."""
    warnings: int = 0
    """Passed checks with a finding between a warn level and the fail level (counted in
    ``passed`` too)."""


def _empty_by_kind() -> dict[CheckKind, KindSummary]:
    return {"dto": KindSummary(), "visual": KindSummary()}


class Summary(KindSummary):
    """Check counts by outcome, in all and per kind."""

    by_kind: dict[CheckKind, KindSummary] = Field(default_factory=_empty_by_kind)
    """The same counts for DTO and for visual checks."""
    waived: int = 0
    """Findings a waiver kept from failing their check (listed in each check's ``waived``)."""


class Verdict(_Model):
    """Pass or fail of the whole run, under the gate policy of ``[tool.dualread.gate]``."""

    status: Literal["pass", "fail"]
    """``pass`` or ``fail``."""
    reasons: list[str] = Field(default_factory=list)
    """Why it failed; also notes that did not block (e.g. stale goldens)."""
    warnings: int = 0
    """Passed checks with findings beyond a warn level; a pass with warnings is still ``pass``
    (``dualread gate --fail-on-warn`` fails it)."""

    @property
    def label(self) -> str:
        """``pass``, ``pass with warnings`` or ``fail``: the status said for people."""
        return "pass with warnings" if self.status == "pass" and self.warnings else self.status


ToleranceSpec = Tolerance
"""A finding's tolerance: the one :class:`~pytest_dualread.tolerance.Tolerance` model."""


class Finding(_Model):
    """One difference inside a check."""

    comparison: str
    """``adapter_vs_legacy``, ``legacy_vs_golden``, ``adapter_vs_golden``, ``legacy_vs_baseline``,
    ``adapter_vs_baseline``, or a side name (``legacy`` / ``adapter``) for contract findings."""
    path: str = ""
    """Canonical field path (``meals[breakfast].kcal``), or the page for visual findings."""
    category: str
    """``value``, ``missing``, ``extra``, ``type``, ``contract``, ``list_key``, ``pixels``,
    ``size``."""
    values: dict[str, Any] = Field(default_factory=dict)
    """The compared values by side (``legacy``, ``adapter``, ``golden``); a side that lacks the
    field is absent, a JSON null is null."""
    delta: float | None = None
    """Absolute numeric difference, or the mismatch ratio for visual findings."""
    tolerance: Tolerance | None = None
    """The tolerance that applied."""
    headroom: float | None = None
    """Share of the tolerance the delta used (1.0 = at the limit, above 1 = beyond)."""
    triage: Triage | None = None
    """Who is likely at fault, from legacy, adapter and golden (or baseline) together."""
    message: str = ""
    """One line for people."""
    detail: dict[str, Any] = Field(default_factory=dict)
    """Kind-specific figures (pixel counts, bounding boxes)."""
    level: Literal["fail", "warn"] = "fail"
    """``warn`` for a difference between a warn level and the fail level (the check passes);
    ``fail`` otherwise (also for reports written before warn levels existed)."""


class WaivedFinding(Finding):
    """A finding a waiver kept from failing its check."""

    waiver: str
    """The waiver that matched (its ``check`` and ``rule``, and its ticket)."""


class HeadroomStats(_Model):
    """The adapter-vs-legacy deltas one tolerance rule saw in one check."""

    count: int = 0
    """Differing pairs the rule decided."""
    max_delta: float | None = None
    """The largest delta."""
    max_headroom: float | None = None
    """The largest share of the tolerance used (1.0 = at the limit)."""
    deltas: list[float] = Field(default_factory=list)
    """The largest deltas, at most 200 (what threshold suggestions read)."""


class FieldDelta(_Model):
    """How one field (list elements as ``[*]``) moved in one check, in one comparison: what
    the run-level :class:`FieldStats` are computed from, so merged shards give the same."""

    comparison: str
    """As :attr:`Finding.comparison`."""
    pattern: str
    """The field, list indexes as ``[*]``: ``meals[*].items[*].fat_g``."""
    differs: bool = Field(
        default=False,
        description="The field differed beyond tolerance (a finding) in this check.",
    )
    delta: float | None = Field(
        default=None,
        description="The largest numeric difference of the field in this check, within "
        "tolerance or not.",
    )
    share: float | None = Field(
        default=None,
        description="The largest share of its tolerance a difference used (1.0 = at the limit).",
    )
    tolerance: Tolerance | None = Field(
        default=None,
        description="The tolerance of that largest share (or of the field, when it has one).",
    )


class FieldStats(_Model):
    """One field in one comparison across the run: how often and how far it differed."""

    pattern: str
    """The field, list indexes as ``[*]``: ``meals[*].items[*].fat_g``."""
    comparison: str
    """As :attr:`Finding.comparison`."""
    checks_differing: int = 0
    """Checks in which the field differed beyond tolerance."""
    checks_moved: int = 0
    """Checks in which the field differed at all (numbers within tolerance included)."""
    max_delta: float | None = None
    """The largest numeric difference of the run."""
    max_share: float | None = None
    """The worst difference as a share of what its tolerance allowed (1.0 = at the limit);
    absent without a tolerance."""
    tolerance: Tolerance | None = None
    """The tolerance of the worst share."""
    deltas: list[float] = Field(default_factory=list)
    """The largest numeric difference of each check in which the field moved, passing checks
    included, largest first: the run's distribution."""


class CaseRequest(_Model):
    """The request of a DTO check, as the case declares it (no headers: they may be secret)."""

    method: str = "GET"
    """HTTP method."""
    path: str = ""
    """Path (and query) below each side's base URL."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Query parameters."""


class DtoData(_Model):
    """Figures of a DTO check. A field the check never reached is absent from the JSON."""

    case: str | None = None
    """The case id, for collected cases."""
    case_file: str | None = None
    """The case file, relative to the rootdir."""
    case_line: int | None = None
    """The line of the case's ``"id"`` in its case file."""
    case_rules: dict[str, Any] | None = None
    """The case's own rules by kind (ignore, list_keys, tolerances, coerce_numbers)."""
    file_rules: dict[str, Any] | None = None
    """The case file's rules by kind."""
    tags: list[str] = Field(default_factory=list)
    """The case's tags."""
    request: CaseRequest | None = None
    """The request both sides answered."""
    urls: dict[str, str] = Field(default_factory=dict)
    """The URL each side was fetched from (secrets redacted)."""
    golden_path: str | None = None
    """The golden file, relative to the rootdir."""
    golden_written: bool | None = None
    """With ``--snapshot-update``: whether the golden was (re)written."""
    fields_compared: int | None = None
    """Leaves compared."""
    fields_differing: int | None = None
    """Leaves that differ beyond tolerance."""
    golden: bool | None = None
    """Whether a golden took part."""
    model: str | None = None
    """The DTO model both sides were validated with."""
    contract: dict[str, bool] = Field(default_factory=dict)
    """Per side, whether its body validated against the model."""
    rule_usage: dict[str, dict[str, int]] = Field(default_factory=dict)
    """How many nodes each rule decided, by kind and pattern (stale rule accounting)."""
    tolerance_stats: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per tolerance rule and comparison: count, exceeded, largest delta and headroom."""
    headroom: dict[str, HeadroomStats] = Field(default_factory=dict)
    """Per tolerance rule, the adapter-vs-legacy deltas."""
    field_deltas: list[FieldDelta] = Field(default_factory=list)
    """Per comparison and field, how far it moved (what :attr:`Report.fields` sums)."""


class ComparisonData(_Model):
    """One pixel comparison of a visual check."""

    name: str
    """``legacy_vs_baseline``, ``adapter_vs_baseline``, ``adapter_vs_legacy`` or
    ``actual_vs_baseline``."""
    mismatch_pixels: int = 0
    """Pixels that differ."""
    mismatch_ratio: float = 0.0
    """Differing pixels as a share of the image."""
    allowed_pixels: int = 0
    """The pixel budget."""
    warn_pixels: int | None = None
    """The warn level in pixels (``warn_diff_pixels`` / ``warn_diff_ratio``), when one is set."""
    passed: bool = True
    """Within budget and of the same size."""
    width: int = 0
    """Compared width."""
    height: int = 0
    """Compared height."""
    size_mismatch: bool = False
    """The two images differ in size."""
    expected_size: list[int] = Field(default_factory=list)
    """Width and height of the expected image."""
    actual_size: list[int] = Field(default_factory=list)
    """Width and height of the actual image."""
    boxes: list[list[int]] = Field(default_factory=list)
    """Changed regions as ``[x, y, width, height]``."""


class VisualData(_Model):
    """Figures of a visual check. A field the check never reached is absent from the JSON."""

    page: str | None = None
    """The page name."""
    url: str | None = None
    """The legacy URL (or the page's URL for a plain visual snapshot)."""
    baseline_path: str | None = None
    """The baseline file, relative to the rootdir."""
    budget: dict[str, Any] = Field(default_factory=dict)
    """threshold, max_diff_pixels, max_diff_ratio, include_aa."""
    fingerprint: dict[str, Any] = Field(default_factory=dict)
    """Browser, executable, fonts, scale and viewport the captures were made with."""
    browser: str | None = None
    """Browser and executable, for the run's environment."""
    pixel_engine: str | None = None
    """Pixel engine and version."""
    error_reason: str | None = None
    """Why the check could not compare (``navigation``, ``unstable``, ``browser``, ...)."""
    captures: dict[str, int] = Field(default_factory=dict)
    """Captures taken per side."""
    settled: bool | None = None
    """Whether a retake was needed and the page settled."""
    comparisons: list[ComparisonData] = Field(default_factory=list)
    """Every pixel comparison made."""
    mismatch_ratio: float | None = None
    """The largest mismatch ratio of the comparisons."""
    unmatched_masks: list[str] = Field(default_factory=list)
    """Mask selectors that matched nothing."""
    fingerprint_mismatch: str | None = None
    """How the environment differs from the one the baseline was made in."""
    baseline_written: bool | None = None
    """With ``--snapshot-update``: whether the baseline was (re)written."""


CheckData = DtoData | VisualData
_DATA_OF_KIND: dict[str, type[DtoData] | type[VisualData]] = {"dto": DtoData, "visual": VisualData}


class _CheckFields(_Model):
    # What a check holds besides its kind's figures: Check adds ``data``, of either kind; the
    # loading models below add it of one kind each, chosen by the tag ``kind``.

    id: str
    """Unique within a run; shards are merged by it."""
    nodeid: str
    """The pytest node id of the test that ran the check."""
    kind: CheckKind
    """``dto`` or ``visual``."""
    outcome: Outcome
    """``passed``, ``failed``, ``error`` or ``skipped``."""
    duration_s: float = 0.0
    """Time the check took."""
    message: str = ""
    """The failure or error text, capped."""
    findings: list[Finding] = Field(default_factory=list)
    """The differences found."""
    waived: list[WaivedFinding] = Field(default_factory=list)
    """Differences a waiver of ``[tool.dualread.waivers]`` kept from failing the check."""
    artifacts: dict[str, str] = Field(default_factory=dict)
    """Artifact files by role (``expected``, ``actual``, ``diff``, ...), relative to the report."""


class Check(_CheckFields):
    """One comparison that passes or fails."""

    data: DtoData | VisualData = Field(default_factory=DtoData)
    """Kind-specific figures (:class:`DtoData` or :class:`VisualData`, by ``kind``)."""

    @model_validator(mode="before")
    @classmethod
    def _data_of_kind(cls, raw: Any) -> Any:
        # The kind says which figures ``data`` holds; a union left to guess could pick wrong.
        if isinstance(raw, dict):
            model = _DATA_OF_KIND.get(str(raw.get("kind")))
            data = raw.get("data")
            if model is not None and not isinstance(data, model):
                raw = {**raw, "data": model.model_validate(data if data is not None else {})}
        return raw

    @field_serializer("data")
    def _set_fields_only(self, data: DtoData | VisualData, info: SerializationInfo) -> Any:
        # Only what the check set: a check that stopped early has no figure it never reached.
        return data.model_dump(mode=info.mode, exclude_unset=True)


class _DtoCheckInFile(_CheckFields):
    kind: Literal["dto"]
    data: DtoData = Field(default_factory=DtoData)


class _VisualCheckInFile(_CheckFields):
    kind: Literal["visual"]
    data: VisualData = Field(default_factory=VisualData)


class StaleEntry(_Model):
    """Something stored or configured that this run did not use."""

    kind: Literal["rule", "golden", "baseline", "waiver"]
    """A tolerance / ignore rule that matched nothing, an unused golden or baseline, or a waiver
    that matched no finding."""
    name: str
    """The rule pattern or the file."""
    source: str = ""
    """Where it is defined."""


class Waiver(_Model):
    """A known difference the team lives with for a while: an entry of ``[tool.dualread.waivers]``.
    Findings it matches do not fail their check until it expires."""

    model_config = ConfigDict(frozen=True)

    check: str | None = None
    """A check id, or a glob of check ids (``*meal_logs.json::log-*``); any check when absent."""
    rule: str | None = None
    """A field path pattern (``items[*].kcal``) or a page name; any finding when absent."""
    reason: str = Field(min_length=1)
    """Why the difference is accepted."""
    owner: str = Field(min_length=1)
    """Who answers for it."""
    ticket: str = Field(min_length=1)
    """Where its fix is tracked."""
    expires: date
    """The last day it applies (UTC); after it, the gate fails naming owner and ticket."""

    @model_validator(mode="after")
    def _says_what(self) -> Waiver:
        if self.check is None and self.rule is None:
            raise ValueError("a waiver needs a 'check' (id or glob), a 'rule' (path), or both")
        return self

    @property
    def key(self) -> str:
        """How reports and messages name it."""
        parts = [f"check {self.check}"] if self.check else []
        parts += [f"rule {self.rule}"] if self.rule else []
        return f"{' '.join(parts)} ({self.ticket})"


class WaiverUse(Waiver):
    """A configured waiver and what it did in the run."""

    matched: int = 0
    """Findings it waived; 0 makes it stale."""
    expired: bool = False
    """It had expired when the run ran, so it waived nothing."""


class Report(_Model):
    """The report of one ``pytest --dual-read`` run (or of merged shards)."""

    schema_version: Literal[1] = 1
    """The report schema; readers refuse newer ones."""
    tool: ToolInfo
    """What wrote the report."""
    run: RunInfo
    """When and how the run happened."""
    summary: Summary
    """Counts of checks by outcome and kind."""
    verdict: Verdict
    """Pass or fail, with reasons."""
    checks: list[Check]
    """Every check, sorted by id."""
    stale: list[StaleEntry] = Field(default_factory=list)
    """Rules, goldens, baselines and waivers the run did not use."""
    fields: list[FieldStats] = Field(default_factory=list)
    """Per comparison and field, across the run's DTO checks: most often differing first."""
    waivers: list[WaiverUse] = Field(default_factory=list)
    """The waivers configured for the run, with what each waived."""


class _ReportFile(Report):
    # A report file as the fast path reads it: pydantic-core parses and validates the text in
    # one pass, picking each check's figures by its tag ``kind`` (Check does it in Python). A
    # file this refuses is read again the careful way, whose errors are the ones users see.
    schema_version: StrictInt  # type: ignore[assignment]  # 1 is checked after, as an int
    checks: list[  # type: ignore[assignment]  # the loaded checks become Check
        Annotated[_DtoCheckInFile | _VisualCheckInFile, Field(discriminator="kind")]
    ]


def _fast_load(text: str) -> Report | None:
    """The report in ``text`` when it is plainly valid, else None (then the careful path)."""
    try:
        loaded = _ReportFile.model_validate_json(text)
    except (ValidationError, ValueError, RecursionError):
        return None
    if (
        loaded.schema_version != SCHEMA_VERSION
        or "name" not in loaded.tool.model_fields_set
        or loaded.tool.name != TOOL_NAME
    ):
        return None
    for check in loaded.checks:
        # The same fields and values as a Check, which is what every reader and == expect.
        object.__setattr__(check, "__class__", Check)
    fields = dict(loaded)
    return Report.model_construct(loaded.model_fields_set, **fields)


def check_from_data(data: Mapping[str, Any]) -> Check:
    """Validate one check as it arrives from a test (possibly on an xdist worker)."""
    return Check.model_validate(data)


_COUNTED_AS = {"passed": "passed", "failed": "failed", "error": "errors", "skipped": "skipped"}


def summarize(checks: Iterable[Check]) -> Summary:
    # Counted in plain dicts and built once: setting a model's attribute costs far more.
    tallies: dict[CheckKind, Counter[str]] = {"dto": Counter(), "visual": Counter()}
    waived = 0
    for check in checks:
        waived += len(check.waived)
        tally = tallies[check.kind]
        tally[_COUNTED_AS[check.outcome]] += 1
        tally["warnings"] += warned(check)
    by_kind = {kind: _kind_summary(tally) for kind, tally in tallies.items()}
    whole = _kind_summary(tallies["dto"] + tallies["visual"])
    return Summary(**whole.model_dump(), by_kind=by_kind, waived=waived)


def _kind_summary(tally: Counter[str]) -> KindSummary:
    return KindSummary(total=sum(tally[name] for name in _COUNTED_AS.values()), **tally)


def warned(check: Check) -> bool:
    """Whether ``check`` passed with a finding beyond a warn level."""
    return check.outcome == "passed" and any(f.level == "warn" for f in check.findings)


def json_schema() -> dict[str, Any]:
    _describe_fields()
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = f"{TOOL_NAME} report, schema_version {SCHEMA_VERSION}"
    return schema


@functools.cache
def _describe_fields() -> None:
    """Give the fields of this module's models their docstrings as descriptions, as pydantic's
    ``use_attribute_docstrings`` does (a field without its own docstring keeps its base
    class's), and rebuild the models so their JSON schema says them."""
    docs = _field_docstrings(ast.parse(inspect.getsource(sys.modules[__name__])))
    models = [
        value
        for value in globals().values()
        if isinstance(value, type) and issubclass(value, _Model) and value.__module__ == __name__
    ]
    for model in models:  # in the order they are defined: a model after those it holds
        for name, info in model.model_fields.items():
            if info.description is None:
                found = (docs.get(base.__name__, {}).get(name) for base in model.__mro__)
                info.description = next((doc for doc in found if doc is not None), None)
        model.model_rebuild(force=True)


def _field_docstrings(tree: ast.Module) -> dict[str, dict[str, str]]:
    """Per class of ``tree``, the string under each annotated field, cleaned as pydantic does."""
    docs: dict[str, dict[str, str]] = {}
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        fields = docs[node.name] = {}
        for field, under in zip(node.body, node.body[1:], strict=False):
            if (
                isinstance(field, ast.AnnAssign)
                and isinstance(field.target, ast.Name)
                and isinstance(under, ast.Expr)
                and isinstance(under.value, ast.Constant)
                and isinstance(under.value.value, str)
            ):
                fields[field.target.id] = inspect.cleandoc(under.value.value)
    return docs


def dump_report(report: Report) -> str:
    """The report's JSON text: indented by 2, non-ASCII kept, floats as Python writes them.

    pydantic-core writes it (the standard library's indenting encoder is pure Python and slow
    on large reports); its floats are then given back Python's spelling, so the bytes are those
    of ``json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False)``."""
    return _python_floats(report.model_dump_json(indent=2)) + "\n"


def dump_merged(merged: Report, shards: Sequence[ReportFile]) -> str:
    """The text of ``merged``, the report :func:`merge_reports` made of the reports of
    ``shards``, without writing every check anew.

    A merge copies each check unchanged (the very object loaded from its shard). When every
    shard's file is laid out exactly as :func:`dump_report` lays a report out, each check's text
    is cut from its file and the merged report is written around those texts: the bytes
    :func:`dump_report` would write, at a fraction of the cost. Otherwise, or when a check of
    ``merged`` comes from none of ``shards``, the report is written whole."""
    texts: dict[int, str] = {}
    for shard in shards:
        cut = _check_texts(shard)
        if cut is None:
            return dump_report(merged)
        texts.update(zip(map(id, shard.report.checks), cut, strict=True))
    own = [texts.get(id(check)) for check in merged.checks]
    if not own or None in own:
        return dump_report(merged)
    head, tail = _around_checks(merged)
    return head + _BETWEEN_CHECKS.join(text for text in own if text is not None) + tail


# How dump_report writes the check list (indented by 2, each check at depth 2): a line of two
# spaces is the report's top level, and only between two checks does a line of four spaces and
# a brace close one check and open the next.
_CHECKS_OPEN = '\n  "checks": [\n    {\n'
_BETWEEN_CHECKS = "\n    },\n    {\n"
_CHECKS_CLOSE = "\n    }\n  ],\n"
_NO_CHECKS = '\n  "checks": [],\n'


def _around_checks(report: Report) -> tuple[str, str]:
    """What :func:`dump_report` writes of ``report`` before the text of its first check (from
    its ``"id"`` on) and after the text of its last."""
    head, tail = dump_report(report.model_copy(update={"checks": []})).split(_NO_CHECKS)
    return head + _CHECKS_OPEN, _CHECKS_CLOSE + tail


def _check_texts(shard: ReportFile) -> list[str] | None:
    """The text of each check of ``shard.report`` in its file (the lines between its braces),
    or None when the file's check list is not laid out as :func:`dump_report` lays it out."""
    checks, text = shard.report.checks, shard.text
    if not checks:
        return []
    start = text.find(_CHECKS_OPEN)
    end = text.find(_CHECKS_CLOSE, start)
    if start < 0 or end < 0:
        return None
    cut = text[start + len(_CHECKS_OPEN) : end].split(_BETWEEN_CHECKS)
    if len(cut) != len(checks):
        return None
    # Each piece begins as its check does, or it was cut in the wrong place. An id that JSON
    # spells with escapes never matches here, and its shard is written anew: rare, and safe.
    for piece, check in zip(cut, checks, strict=True):
        if not piece.startswith(f'      "id": "{check.id}",\n'):
            return None
    return cut


# Rust spells floats below 1e-4 and those with an exponent differently (0.00001, 1e-7, 1e16)
# from Python (1e-05, 1e-07, 1e+16), with the same shortest digits: such a float holds a mark.
# The mark begins with a digit: the scanner then skips ahead to digits, not to every "e" of the
# text (twice as fast on a large report).
_RUST_FLOAT_MARK = re.compile(r"[0-9](?:e[-0-9]|\.0000)")
_FLOAT = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")


def _python_floats(text: str) -> str:
    """``text`` (indented JSON) with every float spelled as Python's ``json`` spells it."""
    spans: dict[int, tuple[int, str]] = {}
    for mark in _RUST_FLOAT_MARK.finditer(text):
        start, end = _value_around(text, mark.start())
        token = text[start:end]
        if start not in spans and _FLOAT.fullmatch(token):
            spans[start] = (end, repr(float(token)))
    pieces, done = [], 0
    for start in sorted(spans):
        end, spelled = spans[start]
        pieces += [text[done:start], spelled]
        done = end
    return "".join([*pieces, text[done:]])


def _value_around(text: str, at: int) -> tuple[int, int]:
    # In indented JSON a scalar ends its line (before a comma) and follows a space; a string
    # ends with a quote, so only a number value passes the full match above.
    line_end = text.find("\n", at)
    end = len(text) if line_end == -1 else line_end
    if text[end - 1 : end] == ",":
        end -= 1
    return text.rfind(" ", 0, at) + 1, end


def write_report(report: Report, path: Path) -> None:
    """Write ``report`` to ``path`` atomically: readers see the old file or the new one, whole."""
    write_atomic(path, dump_report(report))


def load_report(path: Path | str) -> Report:
    """Load a report, refusing anything a gate should not judge by.

    Raises :class:`ReportError` with ``reason`` ``missing``, ``unreadable`` (not JSON, e.g.
    truncated), ``foreign`` (not a pytest-dualread report), ``schema`` (a newer schema_version)
    or ``invalid`` (right schema, wrong content).
    """
    return read_report(path).report


@dataclass(frozen=True)
class ReportFile:
    """A loaded report and the text it was read from."""

    report: Report
    """The report, as :func:`load_report` returns it."""
    text: str
    """The file's text."""


def read_report(path: Path | str) -> ReportFile:
    """:func:`load_report`, keeping the file's text (what :func:`dump_merged` copies checks
    from); the same errors."""
    path = Path(path)
    text = _read_regular(path)
    with collector_paused():
        return ReportFile(_validated(text, path), text)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold Python's cycle collector while a large report is read, judged or written.

    A report is a tree of models with no cycles, so the collector never frees anything in it;
    but it walks every tracked object again each time their number grows by a quarter, and
    building a 10,000-check report paid more for those walks than for parsing. Reference
    counting still frees what is dropped; the collector's state is restored after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _validated(text: str, path: Path) -> Report:
    """The report in ``text``: the fast reading when it accepts the text, else the careful one
    with the error users see."""
    fast = _fast_load(text)
    if fast is not None:
        return fast
    raw = _parse_json(text, path)
    if not isinstance(raw, dict) or "schema_version" not in raw:
        raise ReportError(
            "not a pytest-dualread report: expected a JSON object with 'schema_version'",
            path=path,
            reason="foreign",
        )
    tool = raw.get("tool")
    if not isinstance(tool, dict) or tool.get("name") != TOOL_NAME:
        name = tool.get("name") if isinstance(tool, dict) else None
        raise ReportError(
            f"not a pytest-dualread report: tool.name is {name!r}, expected {TOOL_NAME!r}",
            path=path,
            reason="foreign",
        )
    version = raw["schema_version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ReportError(
            f"schema_version {version!r} is not a schema this tool knows (expected 1)",
            path=path,
            reason="foreign",
        )
    if version > SCHEMA_VERSION:
        raise ReportError(
            f"schema_version {version} is newer than this pytest-dualread reads "
            f"({SCHEMA_VERSION}); upgrade pytest-dualread to judge it",
            path=path,
            reason="schema",
        )
    try:
        return Report.model_validate(raw)
    except ValidationError as exc:
        raise ReportError(
            f"does not match report schema {SCHEMA_VERSION}: {validation_message(exc)}",
            path=path,
            reason="invalid",
        ) from None
    except RecursionError:
        raise ReportError(_TOO_DEEP, path=path, reason="invalid") from None


MAX_REPORT_BYTES = 512 * 1024 * 1024
"""The largest report read: far above any real run, and a bound on what a gate reads."""
_TOO_DEEP = "nested too deep to be a pytest-dualread report"


def _read_regular(path: Path) -> str:
    """The text of ``path``, only if it is a regular file of at most :data:`MAX_REPORT_BYTES`.

    Opened without blocking and checked on the open descriptor: a FIFO, a device such as
    /dev/zero or a directory is refused at once instead of hanging or reading forever."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ReportError("no such report file", path=path, reason="missing") from None
    except OSError as exc:
        raise _unreadable(path, f"cannot read the report: {exc}") from exc
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        what = "a directory" if stat.S_ISDIR(mode) else "a FIFO, device or socket"
        raise _unreadable(path, f"is {what}, not a report file")
    with os.fdopen(fd, "rb") as handle:
        try:
            blob = handle.read(MAX_REPORT_BYTES + 1)
        except OSError as exc:
            raise _unreadable(path, f"cannot read the report: {exc}") from exc
    if len(blob) > MAX_REPORT_BYTES:
        raise _unreadable(
            path, f"larger than {MAX_REPORT_BYTES // 2**20} MiB; not a report this tool reads"
        )
    try:
        return blob.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _unreadable(path, f"not UTF-8 text: {exc}") from None


def _unreadable(path: Path, text: str) -> ReportError:
    return ReportError(text, path=path, reason="unreadable")


def _parse_json(text: str, path: Path) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _unreadable(
            path, f"not valid JSON (truncated?): {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise _unreadable(path, _TOO_DEEP) from None
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise _unreadable(path, f"not a usable JSON value: {exc}") from None


def written_by_pytest_dualread(path: Path) -> bool:
    """Whether ``path`` is a report this tool wrote (of any schema, complete or not)."""
    try:
        raw = _parse_json(_read_regular(path), path)
    except ReportError:
        return False
    tool = raw.get("tool") if isinstance(raw, dict) else None
    return isinstance(tool, dict) and tool.get("name") == TOOL_NAME


def _utc(moment: datetime) -> datetime:
    """Naive times in a report are UTC; make them comparable with aware ones."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _merged_verdict(reports: Sequence[Report], labels: Sequence[str], complete: bool) -> Verdict:
    """Without a policy: fail when any shard failed or the merged run is incomplete."""
    reasons = [
        f"{label}: {reason}"
        for label, report in zip(labels, reports, strict=True)
        if report.verdict.status == "fail"
        for reason in report.verdict.reasons
    ]
    if not complete and not reasons:
        reasons.append("the run is incomplete (interrupted, stopped early or crashed)")
    failed = not complete or any(r.verdict.status == "fail" for r in reports)
    return Verdict(status="fail" if failed else "pass", reasons=reasons)


def _merged_selection(shards: Sequence[SelectionInfo | None]) -> SelectionInfo | None:
    """Shards that each collected the whole suite and selected a share of it (a splitting
    plugin): together they selected the sum of their shares."""
    given = [s for s in shards if s is not None]
    if not given:
        return None
    collected = max(s.collected for s in given)
    selected = min(sum(s.selected for s in given), collected)
    filters = sorted({f for s in given for f in s.filters})
    return SelectionInfo(
        collected=collected, selected=selected, deselected=collected - selected, filters=filters
    )


def merge_reports(
    reports: Sequence[Report],
    *,
    sources: Sequence[str] | None = None,
    force: bool = False,
    judge: Callable[[list[Check], bool], Verdict] | None = None,
) -> Report:
    """Join the reports of CI shards of one run into one report.

    Checks are sorted by id; ``summary`` is recounted; ``run.complete`` holds only when every
    shard is complete; ``started_at`` is the earliest start, ``finished_at`` the latest finish
    and ``duration_s`` the span between them. ``sources`` labels the reports in messages (their
    files); ``judge(checks, complete)`` recomputes the verdict (the gate policy's
    :func:`~pytest_dualread.gate.evaluate`); without it the merged run fails when any shard
    failed or is incomplete. Stale rules are kept only when every shard found them stale (each
    shard sees every rule); stale goldens and baselines of any shard are kept.

    Raises :class:`ReportError` (reason ``invalid``) when there are no reports, when the same
    check id occurs twice (naming the id and both sources), or when the shards ran with different
    configs (``config_hash``) and ``force`` is false.
    """
    if not reports:
        raise ReportError("nothing to merge: no reports given", reason="invalid")
    labels = (
        list(sources) if sources is not None else [f"report {i + 1}" for i in range(len(reports))]
    )
    if len(labels) != len(reports):
        raise ValueError(f"{len(labels)} sources for {len(reports)} reports")
    hashes = sorted({r.run.config_hash for r in reports})
    if len(hashes) > 1 and not force:
        first = reports[0].run.config_hash
        other = next(i for i, r in enumerate(reports) if r.run.config_hash != first)
        raise ReportError(
            f"ran with config_hash {reports[other].run.config_hash} but {labels[0]} ran with "
            f"{first}: shards of one run share their config (merge anyway with --force)",
            path=labels[other],
            reason="invalid",
        )
    owner: dict[str, str] = {}
    checks: list[Check] = []
    for label, report in zip(labels, reports, strict=True):
        for check in report.checks:
            if check.id in owner:
                raise ReportError(
                    f"duplicate check {check.id!r}: it is in both {owner[check.id]} and {label}",
                    reason="invalid",
                )
            owner[check.id] = label
            checks.append(check)
    checks.sort(key=lambda c: c.id)
    complete = all(r.run.complete for r in reports)
    started = min(_utc(r.run.started_at) for r in reports)
    finishes = [_utc(r.run.finished_at) for r in reports if r.run.finished_at is not None]
    finished = max(finishes) if finishes else None
    duration = (finished - started).total_seconds() if finished is not None else 0.0
    reasons = [
        f"{label}: {r.run.incomplete_reason or 'incomplete'}"
        for label, r in zip(labels, reports, strict=True)
        if not r.run.complete
    ]
    samples = [r.run.sample for r in reports]
    sample = None
    if all(s is not None for s in samples):
        given = [s for s in samples if s is not None]
        sample = SampleInfo(
            percent=given[0].percent,
            selected=sum(s.selected for s in given),
            total=sum(s.total for s in given),
        )
    lead = reports[0]
    run = RunInfo(
        started_at=started,
        finished_at=finished,
        duration_s=round(max(duration, 0.0), 3),
        complete=complete,
        incomplete_reason="; ".join(reasons) if reasons else None,
        argv=list(lead.run.argv),
        environment=lead.run.environment.model_copy(),
        config_hash=hashes[0] if len(hashes) == 1 else "+".join(hashes),
        sample=sample,
        selection=_merged_selection([r.run.selection for r in reports]),
        calibration=next((r.run.calibration for r in reports if r.run.calibration), None),
    )
    # Each shard sees every rule and waiver: stale only when stale in all of them.
    everywhere = ("rule", "waiver")
    rule_sets = [
        {(s.kind, s.name, s.source) for s in r.stale if s.kind in everywhere} for r in reports
    ]
    stale_keys = set.intersection(*rule_sets) | {
        (s.kind, s.name, s.source) for r in reports for s in r.stale if s.kind not in everywhere
    }
    stale = [StaleEntry(kind=k, name=n, source=src) for k, n, src in sorted(stale_keys)]
    verdict = (
        judge(checks, complete) if judge is not None else _merged_verdict(reports, labels, complete)
    )
    from pytest_dualread.insight import field_stats

    return Report(
        tool=lead.tool.model_copy(),
        run=run,
        summary=summarize(checks),
        verdict=verdict,
        checks=checks,
        stale=stale,
        fields=field_stats(checks),
        waivers=_merged_waivers(reports),
    )


def _merged_waivers(reports: Sequence[Report]) -> list[WaiverUse]:
    """One entry per waiver, with what it waived in all shards together."""
    merged: dict[str, WaiverUse] = {}
    for report in reports:
        for use in report.waivers:
            known = merged.get(use.key)
            matched = use.matched + (known.matched if known is not None else 0)
            merged[use.key] = use.model_copy(update={"matched": matched})
    return list(merged.values())
