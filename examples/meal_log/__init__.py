"""The meal-log example: a real read-path migration for pytest-dualread to prove.

The old read path (**legacy**) reads one denormalised SQLite table, ``meal_logs``. The new
store (**v2**) is normalised (``users_v2``, ``meal_logs_v2``, ``meal_items_v2``: UTC
timestamps, macros in integer milligrams) and is read through the DTO **adapter**, which must
give back exactly what the legacy path returns.

Modules:

- :mod:`examples.meal_log.store`: both schemas, the dual-write, database location and lazy
  creation.
- :mod:`examples.meal_log.seed`: the deterministic seed generator and :func:`awkward_cases`.
- :mod:`examples.meal_log.dto`: pydantic models of the legacy read view.
- :mod:`examples.meal_log.legacy`: the legacy read path.
- :mod:`examples.meal_log.adapter`: the v2 read path mapped to the legacy DTO, with the
  switchable seeded bugs.
- :mod:`examples.meal_log.dashboard`: the server-rendered dashboard page.
- :mod:`examples.meal_log.app`: the FastAPI app (``examples.meal_log.app:app``).

See ``docs/example.md`` for the walkthrough.
"""

__all__: list[str] = []
