"""The self-contained HTML report: one file that opens from a CI artifact download, no server.

:func:`render_html` turns a :class:`~pytest_dualread.report.Report` into HTML through the Jinja2
template ``templates/report.html.j2`` (autoescape on). Styles and the filter script are inline;
nothing is fetched from a network. Images are referenced by relative path from the HTML file's
folder (artifacts sit beside the report), or inlined as ``data:`` URIs with ``embed=True``.

Artifact keys name a group and a role, ``<group>.<role>`` (``legacy.expected``,
``adapter.diff``); images are shown grouped by the part before the dot, in the order expected,
actual, diff. A path that is absolute or climbs out of the report's folder (``..``) is not shown.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from pytest_dualread.files import write_atomic
from pytest_dualread.report import Check, Finding, Report

__all__ = ["IMAGE_TYPES", "render_html", "write_html"]

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
_GROUP_ORDER = {"legacy": 0, "adapter": 1}
_OUTCOME_ORDER = {"error": 0, "failed": 1, "passed": 2, "skipped": 3}
_SIDES = ("legacy", "adapter", "golden")
_MAX_DATA_CHARS = 5000


@dataclass
class _Image:
    key: str
    role: str
    path: str
    src: str | None
    note: str = ""


@dataclass
class _Group:
    name: str
    images: list[_Image] = field(default_factory=list)

    def role(self, name: str) -> _Image | None:
        return next((i for i in self.images if i.role == name and i.src), None)


def _safe(rel: str) -> PurePosixPath | None:
    path = PurePosixPath(rel.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts or ":" in path.parts[0]:
        return None
    return path


def _image(key: str, rel: str, base_dir: Path, out_dir: Path, embed: bool) -> _Image:
    role = key.split(".", 1)[1] if "." in key else key
    path = _safe(rel)
    if path is None:
        return _Image(key, role, rel, None, "not shown: the path leaves the report's folder")
    file = base_dir / Path(*path.parts)
    if embed:
        try:
            data = file.read_bytes()
        except OSError:
            return _Image(key, role, rel, None, "missing: the file is not beside the report")
        mime = IMAGE_TYPES[path.suffix.lower()]
        return _Image(key, role, rel, f"data:{mime};base64,{base64.b64encode(data).decode()}")
    link = Path(os.path.relpath(file, out_dir)).as_posix()
    note = "" if file.is_file() else "missing: the file is not beside the report"
    return _Image(key, role, rel, quote(link), note)


def _groups(check: Check, base_dir: Path, out_dir: Path, embed: bool) -> list[_Group]:
    groups: dict[str, _Group] = {}
    for key, rel in check.artifacts.items():
        if PurePosixPath(rel).suffix.lower() not in IMAGE_TYPES:
            continue
        name = key.split(".", 1)[0] if "." in key else ""
        groups.setdefault(name, _Group(name)).images.append(
            _image(key, rel, base_dir, out_dir, embed)
        )
    for group in groups.values():
        group.images.sort(key=lambda i: (_ROLE_ORDER.get(i.role, 9), i.role))
    return sorted(groups.values(), key=lambda g: (_GROUP_ORDER.get(g.name, 9), g.name))


def _links(check: Check, base_dir: Path, out_dir: Path) -> list[tuple[str, str, str | None]]:
    out = []
    for key, rel in sorted(check.artifacts.items()):
        if PurePosixPath(rel).suffix.lower() in IMAGE_TYPES:
            continue
        path = _safe(rel)
        href = None
        if path is not None:
            href = quote(Path(os.path.relpath(base_dir / Path(*path.parts), out_dir)).as_posix())
        out.append((key, rel, href))
    return out


def _value(values: Mapping[str, Any], side: str) -> str:
    if side not in values:
        return "—"
    return json.dumps(values[side], ensure_ascii=False)


def _tolerance(finding: Finding) -> str:
    tol = finding.tolerance
    if tol is None:
        return ""
    parts = [f"{k} {v:g}" for k, v in (("abs", tol.abs), ("rel", tol.rel)) if v is not None]
    return " or ".join(parts)


def _finding_row(finding: Finding) -> dict[str, Any]:
    return {
        "comparison": finding.comparison,
        "path": finding.path,
        "category": finding.category,
        "values": [_value(finding.values, side) for side in _SIDES],
        "delta": "" if finding.delta is None else f"{finding.delta:.6g}",
        "tolerance": _tolerance(finding),
        "headroom": "" if finding.headroom is None else f"{finding.headroom:.0%}",
        "triage": finding.triage or "",
        "message": finding.message,
    }


def _check_view(check: Check, base_dir: Path, out_dir: Path, embed: bool) -> dict[str, Any]:
    triage = sorted({f.triage for f in check.findings if f.triage})
    figures = check.data.model_dump(mode="json", exclude_unset=True)
    data = json.dumps(figures, indent=2, ensure_ascii=False, sort_keys=True)
    if len(data) > _MAX_DATA_CHARS:
        data = data[:_MAX_DATA_CHARS] + f"\n… ({len(data) - _MAX_DATA_CHARS} more characters)"
    return {
        "check": check,
        "anchor": "check-" + quote(check.id, safe=""),
        "triage": triage,
        "triage_attr": " ".join(triage) if triage else "none",
        "findings": [_finding_row(f) for f in check.findings],
        "groups": _groups(check, base_dir, out_dir, embed),
        "links": _links(check, base_dir, out_dir),
        "data": data if figures else "",
    }


def render_html(
    report: Report, *, base_dir: Path, embed: bool = False, out_dir: Path | None = None
) -> str:
    """The HTML report of ``report``.

    ``base_dir`` is the folder the artifact paths are relative to (the report.json's folder);
    ``out_dir`` the folder the HTML file will sit in (default ``base_dir``), so that image links
    resolve from there. ``embed`` inlines images as data URIs.
    """
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("pytest_dualread", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    target = out_dir if out_dir is not None else base_dir
    checks = sorted(report.checks, key=lambda c: (_OUTCOME_ORDER[c.outcome], c.id))
    triage_classes = sorted({f.triage for c in report.checks for f in c.findings if f.triage})
    template = env.get_template("report.html.j2")
    return template.render(
        report=report,
        checks=[_check_view(c, base_dir, target, embed) for c in checks],
        triage_classes=triage_classes,
        kinds=sorted(report.summary.by_kind),
    )


def write_html(
    report: Report, path: Path, *, embed: bool = False, base_dir: Path | None = None
) -> None:
    """Write the HTML report to ``path`` atomically.

    Artifact paths are relative to ``base_dir`` (default: ``path``'s folder, where report.json
    sits in a ``pytest --dual-read`` output folder).
    """
    path = Path(path)
    source = base_dir if base_dir is not None else path.parent
    write_atomic(path, render_html(report, base_dir=source, embed=embed, out_dir=path.parent))
