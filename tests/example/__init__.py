"""Tests of the bundled meal-log example (``examples/meal_log``)."""
