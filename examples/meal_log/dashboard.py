"""The server-rendered dashboard page (``GET /dashboard/{uid}/{date}``).

Both read paths render the same day summary (as JSON-like data) through one Jinja2 template;
only the :class:`DashboardStyle` can differ (the ``css_color`` and ``layout_shift`` seeded bugs
of the adapter). The page is self-contained: inline CSS and SVG, explicitly named local fonts
(``"Liberation Sans"``, ``"DejaVu Sans Mono"`` for numbers), a fixed-width layout that fits a
1280 px viewport, no animations, no external fetches. The "generated at" clock is the only
volatile element and carries the CSS class ``clock`` (mask it in screenshots).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

__all__ = ["BAR_WIDTH", "DashboardStyle", "format_number", "format_tenths", "render_dashboard"]

BAR_WIDTH: Final = 600
_MACRO_COLORS: Final = (("protein", "Protein", "#2563eb"), ("fat", "Fat", "#d97706"),
                        ("carbs", "Carbs", "#059669"))  # fmt: skip


@dataclass(frozen=True)
class DashboardStyle:
    """Colours and column widths (px) of the dashboard table."""

    total_color: str = "#166534"
    columns: tuple[tuple[str, str, int], ...] = (
        ("meal", "Meal", 110),
        ("time", "Time", 70),
        ("item", "Item", 330),
        ("grams", "Grams", 90),
        ("kcal", "kcal", 80),
        ("protein", "Protein g", 100),
        ("fat", "Fat g", 90),
        ("carbs", "Carbs g", 100),
    )

    @property
    def table_width(self) -> int:
        return sum(width for _, _, width in self.columns)

    def with_total_color(self, color: str) -> DashboardStyle:
        return dataclasses.replace(self, total_color=color)

    def with_wider_column(self, key: str, pixels: int) -> DashboardStyle:
        if key not in {k for k, _, _ in self.columns}:
            raise ValueError(f"no dashboard column {key!r}")
        columns = tuple((k, label, w + pixels if k == key else w) for k, label, w in self.columns)
        return dataclasses.replace(self, columns=columns)


def format_number(value: float | int | None) -> str:
    """Numbers as the dashboard shows them: no trailing zeros, ``—`` for unknown."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return str(value)
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_tenths(value: float | None) -> str:
    """Macro grams and percentages, always with one decimal; ``—`` for unknown."""
    return "—" if value is None else f"{value:.1f}"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["num"] = format_number
    env.filters["g1"] = format_tenths
    return env


def _bars(macro_pct: Mapping[str, float | None]) -> list[dict[str, Any]]:
    bars: list[dict[str, Any]] = []
    x = 0.0
    for key, label, color in _MACRO_COLORS:
        pct = macro_pct[key]
        if pct is None:
            return []
        width = round(BAR_WIDTH * pct / 100, 1)
        bars.append({"key": key, "label": label, "color": color, "pct": pct, "x": x, "w": width})
        x = round(x + width, 1)
    return bars


def render_dashboard(summary: Mapping[str, Any], style: DashboardStyle, generated_at: str) -> str:
    """The dashboard HTML for a day summary (legacy dict or ``DaySummaryDTO.model_dump()``)."""
    template = _environment().get_template("dashboard.html")
    return template.render(
        s=summary,
        style=style,
        bars=_bars(summary["macro_pct"]),
        bar_width=BAR_WIDTH,
        generated_at=generated_at,
    )
