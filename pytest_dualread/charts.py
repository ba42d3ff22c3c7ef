"""Inline SVG charts for the HTML report, drawn from plain numbers: no script, no network.

Each function returns one ``<svg>`` element as text, its labels escaped, sized by a ``viewBox``
so that it scales with the page. Colours follow the report's: red beyond a limit, amber close
to it (:data:`AMBER_FROM` of a tolerance), green below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

__all__ = ["AMBER_FROM", "Bar", "HeadroomBar", "bar_chart", "headroom_bars", "sparkline", "strip"]

AMBER_FROM = 0.8
"""A share of a tolerance from which a headroom bar turns amber: little room is left."""

_RED, _AMBER, _GREEN, _GREY = "#cf222e", "#bf8700", "#1a7f37", "#8c959f"
_ROW = 24
_LABEL_W = 300
_BAR_W = 220
_TEXT = 'font-family="system-ui, sans-serif" font-size="12"'


@dataclass(frozen=True)
class Bar:
    """One row of a bar chart: ``value`` sets the length, ``note`` is written after it."""

    label: str
    value: float
    note: str = ""
    href: str = ""


@dataclass(frozen=True)
class HeadroomBar:
    """One tolerance rule: the worst share of it the run used (1.0 = at the limit)."""

    label: str
    share: float
    note: str = ""


def _svg(width: int, height: int, body: list[str], title: str, klass: str) -> str:
    return (
        f'<svg class="{klass}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _label(text: str, y: float, width: int = 46) -> str:
    shown = text if len(text) <= width else "…" + text[-(width - 1) :]
    return (
        f'<text x="{_LABEL_W - 8}" y="{y:.1f}" text-anchor="end" {_TEXT} '
        f'font-family="monospace"><title>{escape(text)}</title>{escape(shown)}</text>'
    )


def bar_chart(bars: Sequence[Bar], title: str) -> str:
    """Horizontal bars, longest value = full width, each labelled left and noted right."""
    top = max((b.value for b in bars), default=0.0) or 1.0
    body: list[str] = []
    for row, bar in enumerate(bars):
        y = row * _ROW
        length = max(2.0, _BAR_W * bar.value / top)
        rect = (
            f'<rect x="{_LABEL_W}" y="{y + 5}" width="{length:.1f}" height="{_ROW - 10}" '
            f'fill="{_RED}" rx="2"/>'
        )
        note = (
            f'<text x="{_LABEL_W + length + 6:.1f}" y="{y + 16}" {_TEXT}>{escape(bar.note)}</text>'
        )
        row_svg = _label(bar.label, y + 16) + rect + note
        if bar.href:
            row_svg = f'<a href="{escape(bar.href)}">{row_svg}</a>'
        body.append(row_svg)
    return _svg(_LABEL_W + _BAR_W + 140, max(1, len(bars)) * _ROW, body, title, "chart bars")


def _colour(share: float) -> str:
    if share > 1.0:
        return _RED
    return _AMBER if share >= AMBER_FROM else _GREEN


def headroom_bars(bars: Sequence[HeadroomBar], title: str) -> str:
    """One bar per tolerance rule on a common scale, with a line at the limit (1.0)."""
    scale = max([2.0, *(b.share for b in bars)])
    limit_x = _LABEL_W + _BAR_W * 1.0 / scale
    body: list[str] = []
    for row, bar in enumerate(bars):
        y = row * _ROW
        length = max(2.0, _BAR_W * bar.share / scale)
        body.append(_label(bar.label, y + 16))
        body.append(
            f'<rect x="{_LABEL_W}" y="{y + 5}" width="{_BAR_W}" height="{_ROW - 10}" '
            f'fill="#eaeef2" rx="2"/><rect x="{_LABEL_W}" y="{y + 5}" width="{length:.1f}" '
            f'height="{_ROW - 10}" fill="{_colour(bar.share)}" rx="2"/>'
        )
        body.append(
            f'<text x="{_LABEL_W + _BAR_W + 6}" y="{y + 16}" {_TEXT}>{escape(bar.note)}</text>'
        )
    height = max(1, len(bars)) * _ROW
    body.append(
        f'<line x1="{limit_x:.1f}" x2="{limit_x:.1f}" y1="0" y2="{height}" stroke="#1f2328" '
        f'stroke-dasharray="3 2"><title>the limit: 100% of the tolerance</title></line>'
    )
    return _svg(_LABEL_W + _BAR_W + 140, height, body, title, "chart headroom")


def sparkline(values: Sequence[float | None], title: str, width: int = 120) -> str:
    """A small line of ``values`` (oldest first); a missing value breaks the line."""
    height = 24
    known = [v for v in values if v is not None]
    top = max(known, default=0.0) or 1.0
    step = width / max(1, len(values) - 1)
    points: list[str] = []
    segments: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if points:
                segments.append(" ".join(points))
            points = []
            continue
        points.append(f"{i * step:.1f},{height - 2 - (height - 4) * value / top:.1f}")
    if points:
        segments.append(" ".join(points))
    body = [
        f'<polyline points="{s}" fill="none" stroke="{_RED}" stroke-width="1.5"/>' for s in segments
    ]
    return _svg(width, height, body, title, "chart spark")


def strip(runs: Sequence[tuple[str, str, str]], title: str) -> str:
    """One square per run, oldest first: ``(status, label, href)`` with status ``pass`` (green),
    ``fail`` (red) or anything else (grey)."""
    size, gap = 18, 4
    body: list[str] = []
    for i, (status, label, href) in enumerate(runs):
        colour = {"pass": _GREEN, "fail": _RED}.get(status, _GREY)
        cell = (
            f'<rect x="{i * (size + gap)}" y="0" width="{size}" height="{size}" rx="3" '
            f'fill="{colour}"><title>{escape(label)}</title></rect>'
        )
        body.append(f'<a href="{escape(href)}">{cell}</a>' if href else cell)
    width = max(1, len(runs)) * (size + gap)
    return _svg(width, size, body, title, "chart strip")
