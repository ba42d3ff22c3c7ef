"""Pydantic models of the legacy read view: what the legacy path returns today.

The field order and types reproduce the legacy JSON byte for byte:
``Model.model_validate_json(legacy_body).model_dump_json()`` gives back ``legacy_body``
(tested over every seeded case). These are the ``model`` of the dual-read case files, for
example ``"model": "examples.meal_log.dto:MealLogDTO"``.

``meta`` holds the volatile fields (``request_id``, ``generated_at``); everything else is
deterministic.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["DaySummaryDTO", "MacroPctDTO", "MealDTO", "MealItemDTO", "MealLogDTO", "MetaDTO"]

MealType = Literal["breakfast", "lunch", "dinner", "snack"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetaDTO(_Strict):
    """Volatile response metadata; mask it (``**.request_id``, ``meta.generated_at``)."""

    request_id: str
    generated_at: str
    """UTC time of the response, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""


class MealItemDTO(_Strict):
    """One food of a meal log. Macros are ``None`` when the food's macro is unknown."""

    food_id: int
    name: str
    grams: float
    kcal: int
    protein_g: float | None
    fat_g: float | None
    carbs_g: float | None


class MealLogDTO(_Strict):
    """``GET /meal-logs/{id}``: one meal log with its items (largest portion first)."""

    id: int
    user_id: int
    logged_at: str
    """Local time with the user's offset, ``2025-09-20T07:30:00+09:00``."""
    meal_type: MealType
    items: list[MealItemDTO]
    kcal_total: int
    protein_g: float
    fat_g: float
    carbs_g: float
    meta: MetaDTO


class MealDTO(_Strict):
    """One meal type of a day summary (the app allows one log per meal type and day)."""

    meal_type: MealType
    log_id: int
    logged_at: str
    items: list[MealItemDTO]
    kcal: int
    protein_g: float
    fat_g: float
    carbs_g: float


class MacroPctDTO(_Strict):
    """Share of macro energy (protein and carbs 4 kcal/g, fat 9 kcal/g), in % to 0.1.

    ``None`` when the day has no macro energy (an empty day, or zero-kcal drinks only).
    """

    protein: float | None
    fat: float | None
    carbs: float | None


class DaySummaryDTO(_Strict):
    """``GET /users/{uid}/days/{date}``: a user's local day, meals in legacy order."""

    user_id: int
    date: str
    meals: list[MealDTO]
    total_kcal: int
    total_protein_g: float
    total_fat_g: float
    total_carbs_g: float
    macro_pct: MacroPctDTO
    meta: MetaDTO
