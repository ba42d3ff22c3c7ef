"""The gate's policy (``[tool.dualread.gate]``), apart from the rest of the settings.

``dualread gate`` and ``dualread merge`` read only this part of the configuration; keeping it
here spares them pydantic-settings (and the asyncio it imports), which only a test session needs.
:mod:`pytest_dualread.config` re-exports every name.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from pytest_dualread.report import Triage
from pytest_dualread.tolerance import Tolerance

__all__ = ["ENV_PREFIX", "GateSettings", "ToleranceSetting"]

ENV_PREFIX = "DUALREAD_"

ToleranceSetting = Tolerance
"""A tolerance as configured: the one :class:`~pytest_dualread.tolerance.Tolerance` model."""


def _default_blocking() -> list[Triage]:
    return ["adapter_regression", "both_diverge"]


class GateSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_failures: int = Field(0, ge=0)
    blocking_triage: list[Triage] = Field(default_factory=_default_blocking)
    min_checks: int = Field(1, ge=0)
    require_visual: bool = False
    allow_partial: bool = False
    """Judge a run whose selection (-k, -m, --deselect, --lf) left dual-read items out."""
    fail_on_warn: bool = False
    """Fail a run with checks that passed beyond a warn level."""
