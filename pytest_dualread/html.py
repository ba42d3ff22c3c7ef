"""The self-contained HTML report: one file that opens from a CI artifact download, no server.

:func:`render_html` turns a :class:`~pytest_dualread.report.Report` into HTML through the Jinja2
template ``templates/report.html.j2`` (autoescape on). Styles, script and charts (inline SVG,
:mod:`pytest_dualread.charts`) are inline; nothing is fetched from a network.

The page reads top down: the verdict and counts; the causes (clusters of failing checks with a
representative, its values and the commands that reproduce it); the fields that differ most and
the headroom of each tolerance rule; the history when given; then one compact row per failing
check, expanded on demand, and the passing checks folded away. A failing check's body is kept as
text in one JSON block, parsed when its row opens, and passing checks travel as data: so a
report of 10,000 checks opens fast.

Images are referenced by relative path from the HTML file's folder (artifacts sit beside the
report), or, with ``embed=True``, inlined once each (by content) in one JSON block that the
script hands to every ``<img>`` showing them. Artifact keys name a group and a role,
``<group>.<role>`` (``legacy.expected``, ``adapter_vs_legacy.diff``). A path that is absolute
or climbs out of the report's folder (``..``) is not shown.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote

from pytest_dualread.files import write_atomic
from pytest_dualread.report import (
    Check,
    ComparisonData,
    DtoData,
    FieldStats,
    Finding,
    Report,
    VisualData,
)

if TYPE_CHECKING:
    from jinja2 import BytecodeCache, Environment, Template
    from jinja2.bccache import Bucket
    from typing_extensions import Unpack  # typing.Unpack is 3.11+

    from pytest_dualread.insight import Cause, Cluster

__all__ = ["IMAGE_TYPES", "render_html", "reproduce_lines", "write_html"]

IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
}
"""Artifact file suffixes shown as images, with their media types."""

_ROLE_ORDER = {"expected": 0, "actual": 1, "diff": 2}
_GROUP_ORDER = {"adapter_vs_legacy": 0, "adapter": 1, "legacy": 2, "page": 3}
_GROUP_COMPARISON = {
    "legacy": "legacy_vs_baseline",
    "adapter": "adapter_vs_baseline",
    "page": "actual_vs_baseline",
}
"""Artifact group → the comparison its images belong to (other groups are named after it)."""
_OUTCOME_ORDER = {"error": 0, "failed": 1, "passed": 2, "skipped": 3}
_SIDES = ("legacy", "adapter", "golden")
_MAX_DATA_CHARS = 3000
_MAX_MESSAGE = 2000
_FAILING = ("failed", "error")
_MAX_ROWS = 50
_MAX_BOXES = 40
_CAUSES_SHOWN = 3
_CHART_ROWS = 10


# -- images ---------------------------------------------------------------------------------------


@dataclass
class _Image:
    key: str
    role: str
    caption: str
    path: str
    src: str = ""
    """A relative link; empty when embedded (``ref``) or not shown (``note``)."""
    ref: str = ""
    """The id of the embedded data in the report's image block."""
    note: str = ""


@dataclass
class _Images:
    """Where images come from and, when embedding, each distinct one's data, once."""

    base_dir: Path
    out_dir: Path
    embed: bool
    data: dict[str, str] = field(default_factory=dict)
    _ids: dict[str, str] = field(default_factory=dict)

    def image(self, key: str, rel: str, caption: str) -> _Image:
        role = key.split(".", 1)[1] if "." in key else key
        shown = _Image(key, role, caption, rel)
        path = _safe(rel)
        if path is None:
            shown.note = "not shown: the path leaves the report's folder"
            return shown
        file = self.base_dir / Path(*path.parts)
        if not self.embed:
            shown.src = quote(Path(os.path.relpath(file, self.out_dir)).as_posix())
            shown.note = "" if file.is_file() else "missing: the file is not beside the report"
            return shown
        try:
            blob = file.read_bytes()
        except OSError:
            shown.note = "missing: the file is not beside the report"
            return shown
        shown.ref = self._keep(blob, IMAGE_TYPES[path.suffix.lower()])
        return shown

    def _keep(self, blob: bytes, mime: str) -> str:
        digest = hashlib.sha256(blob).hexdigest()
        ref = self._ids.get(digest)
        if ref is None:
            ref = self._ids[digest] = f"i{len(self._ids)}"
            self.data[ref] = f"data:{mime};base64,{base64.b64encode(blob).decode()}"
        return ref


def _safe(rel: str) -> PurePosixPath | None:
    path = PurePosixPath(rel.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        return None
    return path


def _sides_of(group: str) -> tuple[str, str]:
    """What the expected and the actual image of a group show, for captions."""
    if group in ("legacy", "adapter", "page"):
        return "baseline", group
    actual, vs, expected = group.partition("_vs_")
    return (expected, actual) if vs else ("expected", "actual")


# -- visual checks --------------------------------------------------------------------------------


@dataclass
class _Group:
    name: str
    comparison: str
    images: list[_Image] = field(default_factory=list)
    figures: ComparisonData | None = None

    def role(self, name: str) -> _Image | None:
        return next((i for i in self.images if i.role == name and (i.src or i.ref)), None)

    @property
    def passed(self) -> bool:
        return self.figures is not None and self.figures.passed

    @property
    def boxes(self) -> list[list[int]]:
        return self.figures.boxes[:_MAX_BOXES] if self.figures is not None else []

    @property
    def focus(self) -> str:
        """The box that holds every changed box, ``x,y,w,h``, for the zoom."""
        boxes = self.figures.boxes if self.figures is not None else []
        if not boxes:
            return ""
        x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
        x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
        return f"{x0},{y0},{x1 - x0},{y1 - y0}"


def _groups(check: Check, images: _Images) -> list[_Group]:
    figures = (
        {c.name: c for c in check.data.comparisons} if isinstance(check.data, VisualData) else {}
    )
    groups: dict[str, _Group] = {}
    for key, rel in check.artifacts.items():
        if PurePosixPath(rel).suffix.lower() not in IMAGE_TYPES:
            continue
        name = key.split(".", 1)[0] if "." in key else ""
        group = groups.get(name)
        if group is None:
            comparison = _GROUP_COMPARISON.get(name, name)
            group = groups[name] = _Group(name, comparison, figures=figures.get(comparison))
        expected, actual = _sides_of(name)
        role = key.split(".", 1)[1] if "." in key else key
        caption = {"expected": expected, "actual": actual, "diff": "diff"}.get(role, role)
        group.images.append(images.image(key, rel, caption))
    for group in groups.values():
        group.images.sort(key=lambda i: (_ROLE_ORDER.get(i.role, 9), i.role))
    return sorted(groups.values(), key=lambda g: (g.passed, _GROUP_ORDER.get(g.name, 9), g.name))


# -- DTO checks -----------------------------------------------------------------------------------


def _value(values: Mapping[str, Any], side: str) -> str:
    if side not in values:
        return "—"
    return json.dumps(values[side], ensure_ascii=False)


def _share(finding: Finding) -> str:
    from pytest_dualread.insight import times

    return times(finding.headroom)


def _finding_rows(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """One row per field (its comparisons together): a field is listed once, not per side."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for f in findings:
        row = rows.get((f.path, f.category))
        if row is None:
            row = rows[(f.path, f.category)] = {
                "path": f.path or "<root>",
                "category": f.category,
                "values": [_value(f.values, side) for side in _SIDES],
                "delta": "" if f.delta is None else f"{f.delta:.6g}",
                "share": _share(f),
                "tolerance": "" if f.tolerance is None else str(f.tolerance),
                "triage": f.triage or "",
                "comparisons": [],
                "message": f.message,
            }
        row["comparisons"].append(f.comparison)
    return list(rows.values())[:_MAX_ROWS]


def reproduce_lines(check: Check) -> list[str]:
    """``curl`` lines that ask each side for what a DTO check compared (URLs as recorded,
    secrets redacted; headers are left out: they may hold secrets)."""
    from pytest_dualread.redact import redact_url

    data = check.data
    if not isinstance(data, DtoData) or not data.urls:
        return []
    method = data.request.method.upper() if data.request is not None else "GET"
    verb = "" if method == "GET" else f"-X {method} "
    return [
        f"curl -sS {verb}{shlex.quote(redact_url(url))}  # {side}"
        for side, url in sorted(
            data.urls.items(), key=lambda kv: _SIDES.index(kv[0]) if kv[0] in _SIDES else 9
        )
    ]


# -- a check's row --------------------------------------------------------------------------------


def _location(check: Check) -> str:
    data = check.data
    if isinstance(data, DtoData) and data.case_file:
        return f"{data.case_file}:{data.case_line}" if data.case_line else data.case_file
    return check.nodeid


def _commands(check: Check, report_path: str | None) -> list[tuple[str, list[str]]]:
    from pytest_dualread.approve import command_for

    boxes = [("reproduce", lines)] if (lines := reproduce_lines(check)) else []
    approve = command_for(check, report_path) if report_path is not None else None
    if approve is not None:
        boxes.append(("approve this change (writes the golden or baseline)", [approve]))
    return boxes


def _shown_path(path: Path) -> str:
    """``path`` as the user would type it: relative to the working folder when inside it."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def _check_view(check: Check, images: _Images, report_path: str | None) -> dict[str, Any]:
    from pytest_dualread.insight import worst_finding

    triage = sorted({f.triage for f in check.findings if f.triage})
    worst, share = worst_finding(check)
    dto_failed = check.kind == "dto" and check.outcome == "failed" and check.findings
    return {
        "check": check,
        "anchor": anchor(check.id),
        "triage": triage,
        "triage_attr": " ".join(triage) if triage else "none",
        "worst": worst,
        "share": share,
        "location": _location(check),
        "search": " ".join(
            [check.id, worst, check.message[:200], *(f.path for f in check.findings[:20])]
        ).lower(),
        # a failed DTO check's message restates its findings: the table says it once
        "message": "" if dto_failed else check.message,
        "findings": _finding_rows(check.findings) if check.kind == "dto" else [],
        "groups": _groups(check, images),
        "links": _links(check, images),
        # (label, lines) boxes of commands: how to reproduce it, how to accept it
        "commands": _commands(check, report_path),
        "data": _figures(check),
    }


def _figures(check: Check) -> str:
    """A page or an error's figures as JSON (budget, fingerprint, why it could not compare);
    a failed DTO check's are its findings, shown already, and in report.json."""
    if check.kind == "dto" and check.outcome == "failed":
        return ""
    figures = check.data.model_dump(mode="json", exclude_unset=True)
    if not figures:
        return ""
    data = json.dumps(figures, indent=2, ensure_ascii=False, sort_keys=True)
    if len(data) > _MAX_DATA_CHARS:
        data = data[:_MAX_DATA_CHARS] + f"\n… ({len(data) - _MAX_DATA_CHARS} more characters)"
    return data


def anchor(check_id: str) -> str:
    """The id of a check's row in the page: ``report.html#<anchor>`` links to it."""
    return "check-" + quote(check_id, safe="")


def _links(check: Check, images: _Images) -> list[tuple[str, str, str | None]]:
    out = []
    for key, rel in sorted(check.artifacts.items()):
        if PurePosixPath(rel).suffix.lower() in IMAGE_TYPES:
            continue
        path = _safe(rel)
        href = None
        if path is not None:
            target = images.base_dir / Path(*path.parts)
            href = quote(Path(os.path.relpath(target, images.out_dir)).as_posix())
        out.append((key, rel, href))
    return out


# -- the overview ---------------------------------------------------------------------------------


def _cluster_view(cluster: Cluster) -> dict[str, Any]:
    return {
        "size": cluster.size,
        "traits": [" ".join(t) for t in cluster.signature],
        "members": [(c.id, anchor(c.id)) for c in cluster.checks],
    }


def _cause_view(number: int, cause: Cause, images: _Images) -> dict[str, Any]:
    rep = cause.lead.representative
    failing_groups = [g for g in _groups(rep, images) if not g.passed and g.role("actual")]
    message = rep.message.strip()
    return {
        "number": number,
        "root": cause.root,
        "size": cause.size,
        "error": cause.root.endswith(" errors"),
        "clusters": [_cluster_view(c) for c in cause.clusters],
        "representative": rep,
        "rep_anchor": anchor(rep.id),
        "rep_location": _location(rep),
        "rows": _finding_rows(rep.findings)[:6] if rep.kind == "dto" else [],
        "message": message.splitlines()[0] if message else "",
        "commands": reproduce_lines(rep),
        "picture": failing_groups[0] if failing_groups else None,
    }


def _fields_chart(report: Report) -> str:
    from pytest_dualread.charts import Bar, bar_chart
    from pytest_dualread.insight import times

    # one bar per field: adapter vs legacy where it differs there, another comparison otherwise
    shown: dict[str, FieldStats] = {}
    for f in report.fields:
        if f.checks_differing and (f.pattern not in shown or f.comparison == "adapter_vs_legacy"):
            shown[f.pattern] = f
    differing = sorted(shown.values(), key=report.fields.index)[:_CHART_ROWS]
    if not differing:
        return ""
    bars = [
        Bar(
            label=f.pattern
            if f.comparison == "adapter_vs_legacy"
            else f"{f.pattern} ({f.comparison})",
            value=f.checks_differing,
            note=f"{f.checks_differing} checks"
            + ("" if f.max_share is None else f" · {times(f.max_share)} tol"),
        )
        for f in differing
    ]
    return bar_chart(bars, "fields that differ most: checks affected, worst multiple of tolerance")


def _used(share: float) -> str:
    from pytest_dualread.insight import times

    return f"{share:.0%}" if share <= 2 else times(share)


def _headroom_chart(report: Report) -> str:
    from pytest_dualread.charts import HeadroomBar, headroom_bars

    worst: dict[str, tuple[float, int, str]] = {}
    for check in report.checks:
        if not isinstance(check.data, DtoData):
            continue
        for rule, stats in check.data.headroom.items():
            if stats.max_headroom is None:
                continue
            share, count, text = worst.get(rule, (0.0, 0, ""))
            tolerance = check.data.tolerance_stats.get(rule, {}).get("adapter_vs_legacy", {})
            text = text or " or ".join(
                f"{k} {v:g}" for k, v in tolerance.get("tolerance", {}).items()
            )
            worst[rule] = (max(share, stats.max_headroom), count + 1, text)
    if not worst:
        return ""
    bars = [
        HeadroomBar(rule, share, f"{_used(share)} of {text or 'its tolerance'}")
        for rule, (share, _, text) in sorted(worst.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ]
    return headroom_bars(bars[:_CHART_ROWS], "headroom: the worst share of each tolerance rule")


# -- rendering ------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(
        loader=PackageLoader("pytest_dualread", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        bytecode_cache=_bytecode_cache(),
    )


def _bytecode_cache() -> BytecodeCache | None:
    """Jinja's cache of compiled templates, in a folder of the user's own under the system's
    temporary folder: compiling the report's template costs a run more than rendering it.
    Jinja checks each entry against the template's source, so an edited template is compiled
    again; without a usable folder every run compiles."""
    from contextlib import suppress

    from jinja2 import FileSystemBytecodeCache

    class BestEffortCache(FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: Bucket) -> None:
            # A full or read-only disk: the report is written all the same, uncached.
            with suppress(OSError):
                super().dump_bytecode(bucket)

    try:
        return BestEffortCache()
    except (OSError, RuntimeError):  # no private folder can be made there
        return None


@lru_cache(maxsize=2)
def _template(name: str = "report.html.j2") -> Template:
    return _environment().get_template(name)


def _bodies(views: Sequence[dict[str, Any]]) -> list[str]:
    """Each failing check's body as HTML text. The page keeps them in one JSON block and
    parses a body only when its row opens: thousands of bodies cost the browser one string."""
    body = _template("body.html.j2").module.body  # type: ignore[attr-defined]
    out = []
    for number, view in enumerate(views):
        view["body"] = number
        out.append(str(body(view)))
    return out


class PageOptions(TypedDict, total=False):
    """What the page shows besides the report, for :func:`render_html` and :func:`write_html`
    alike (see :func:`render_html`)."""

    embed: bool
    history: Sequence[Report] | None
    report_path: Path | None


def render_html(
    report: Report, *, base_dir: Path, out_dir: Path | None = None, **page: Unpack[PageOptions]
) -> str:
    """The HTML report of ``report``.

    ``base_dir`` is the folder the artifact paths are relative to (the report.json's folder);
    ``out_dir`` the folder the HTML file will sit in (default ``base_dir``), so that image links
    resolve from there. ``embed`` inlines each distinct image once as a data URI. ``history``,
    earlier reports oldest first, adds a strip of runs and sparklines. ``report_path``, the
    report.json shown, puts the ``dualread approve`` line of each failed check that can be
    approved beside it.
    """
    from pytest_dualread.history import history_view
    from pytest_dualread.insight import causes, clusters

    history, report_path = page.get("history"), page.get("report_path")
    images = _Images(
        base_dir, out_dir if out_dir is not None else base_dir, page.get("embed", False)
    )
    shown = _shown_path(report_path) if report_path is not None else None
    checks = sorted(report.checks, key=lambda c: (_OUTCOME_ORDER[c.outcome], c.id))
    failing = [c for c in checks if c.outcome in _FAILING]
    passing = [_passing_entry(c) for c in checks if c.outcome not in _FAILING]
    found = causes(clusters(failing))
    failing_views = [_check_view(c, images, shown) for c in failing]
    bodies = _bodies(failing_views)
    return _template().render(
        report=report,
        failing=failing_views,
        bodies_json=_script_json(bodies),
        passing=len(passing),
        passing_json=_script_json(passing),
        total=len(checks),
        causes=[_cause_view(n, c, images) for n, c in enumerate(found, start=1)],
        causes_shown=_CAUSES_SHOWN,
        fields_chart=_fields_chart(report),
        headroom_chart=_headroom_chart(report),
        history=history_view(report, history) if history is not None else None,
        triage_classes=sorted({f.triage for c in report.checks for f in c.findings if f.triage}),
        kinds=sorted(report.summary.by_kind),
        images_json=_script_json(images.data) if images.data else "",
    )


def _script_json(value: Any) -> str:
    """JSON to sit in a ``<script type="application/json">``: no ``</`` can close it early."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")


def _passing_entry(check: Check) -> list[Any]:
    """A passing or skipped check as the few values its row shows; the page builds the rows
    when they are first wanted, so thousands of them cost nothing until then."""
    data = check.data
    if isinstance(data, VisualData):
        detail = [f"\u2713 {c.name.replace('_', ' ')}" for c in data.comparisons]
    elif data.fields_compared is not None:
        detail = [f"\u2713 all {data.fields_compared} fields agree"]
    else:
        detail = []
    if check.message:
        detail.append(check.message[:_MAX_MESSAGE])
    return [
        check.id,
        check.kind,
        check.outcome,
        f"{check.duration_s:.3f}",
        _location(check),
        check.nodeid,
        detail,
    ]


def write_html(
    report: Report, path: Path, *, base_dir: Path | None = None, **page: Unpack[PageOptions]
) -> None:
    """Write the HTML report to ``path`` atomically.

    Artifact paths are relative to ``base_dir`` (default: ``path``'s folder, where report.json
    sits in a ``pytest --dual-read`` output folder).
    """
    path = Path(path)
    source = base_dir if base_dir is not None else path.parent
    text = render_html(report, base_dir=source, out_dir=path.parent, **page)
    write_atomic(path, text)
