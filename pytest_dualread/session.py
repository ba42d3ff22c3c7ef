"""What the plugin keeps for a session and hands to each check: typed stash keys, and the
:class:`~pytest_dualread.lifecycle.CheckContext` of a running test.

Part of the pytest glue (with :mod:`~pytest_dualread.plugin`, :mod:`~pytest_dualread.collect`
and :mod:`~pytest_dualread.browser`): the one place that turns pytest's request into the plain
values the pytest-free check pipelines take.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.lifecycle import CheckContext
    from pytest_dualread.normalize import DiffRules
    from pytest_dualread.report import Check
    from pytest_dualread.writer import ReportWriter

__all__ = [
    "SKIP_REASON",
    "checks_key",
    "context_of",
    "enabled",
    "expect_key",
    "held_key",
    "load_settings_of",
    "multiplied_key",
    "record_selection",
    "report_writer_key",
    "rules_key",
    "settings_key",
]

SKIP_REASON = "dual-read check: run pytest with --dual-read to enable it"

settings_key: pytest.StashKey[DualReadSettings] = pytest.StashKey()
"""The session's settings (only with ``--dual-read``, or for collecting case files)."""
rules_key: pytest.StashKey[DiffRules] = pytest.StashKey()
"""The global DTO rules, built once from the settings."""
report_writer_key: pytest.StashKey[ReportWriter] = pytest.StashKey()
"""The controller's report writer."""
checks_key: pytest.StashKey[list[Check]] = pytest.StashKey()
"""The checks an item recorded, until its test report carries them."""
multiplied_key = pytest.StashKey[set[Any]]()
"""Test functions that run once per ``--browser`` because the plugin asked for it."""
expect_key = pytest.StashKey[dict[str, Any]]()
"""A dual-read item's expectation: its kind, and the run's sample figures."""
held_key = pytest.StashKey[list[Any]]()
"""The failed soft checks of a running test (``CheckFailed``), reported when it ends."""
paths_left_out_key = pytest.StashKey[int]()
"""Items of declared case files and pages that the paths given on the command line left out."""


def enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("dual_read", default=False))


# The options that leave collected items out of a run, by the flag users type, and their dest.
_SELECTING = {"-k": "keyword", "-m": "markexpr", "--deselect": "deselect", "--lf": "lf"}
_SELECTING_PLUGINS = {"--sw": "stepwise"}


def record_selection(session: pytest.Session, kept: int, left_out_by_paths: int = 0) -> None:
    """Put what the selection left out of the ``kept`` dual-read items (those the sample kept)
    on every expectation, the way the sample travels: by ``pytest_collection_finish``, ``-k``,
    ``-m``, ``--deselect`` and ``--lf`` have removed what they remove. ``left_out_by_paths``:
    the declared case files' and pages' items that the paths given on the command line did not
    name (filter ``paths``)."""
    config = session.config
    expects = [item.stash[expect_key] for item in session.items if expect_key in item.stash]
    given = {**_SELECTING, **_SELECTING_PLUGINS}
    selection: dict[str, Any] = {
        "collected": kept + left_out_by_paths,
        "selected": len(expects),
        "deselected": kept + left_out_by_paths - len(expects),
        "filters": [flag for flag, dest in given.items() if config.getoption(dest, default=None)],
    }
    if left_out_by_paths:
        selection["filters"].insert(0, "paths")
    shard = config.getoption("dual_read_shard", default=None)
    if shard is not None:  # the shard itself, so merged shards show which ran
        selection["filters"].append(f"--dual-read-shard={shard}")
    for expect in expects:
        expect["selection"] = selection


def _record(item: pytest.Item, check: Check) -> None:
    """Keep a finished check on its item (for the report) and its key figures as properties
    (``record_property``, so ``--junitxml`` carries them)."""
    item.stash.setdefault(checks_key, []).append(check)
    prefix = "dualread" if check.id == item.nodeid else f"dualread[{check.id}]"
    item.user_properties.append((f"{prefix}.outcome", check.outcome))
    figures = check.data.model_dump(
        include={"fields_compared", "fields_differing", "mismatch_ratio"}, exclude_none=True
    )
    for key, value in figures.items():
        item.user_properties.append((f"{prefix}.{key}", value))


def context_of(request: pytest.FixtureRequest) -> CheckContext:
    """The check context of the test ``request`` belongs to."""
    from syrupy.location import PyTestLocation

    from pytest_dualread.lifecycle import CheckContext

    item = request.node
    config = request.config
    return CheckContext(
        settings=config.stash[settings_key],
        rules=config.stash[rules_key],
        rootdir=config.rootpath,
        nodeid=item.nodeid,
        update=bool(config.getoption("update_snapshots", default=False)),
        location=PyTestLocation(item),
        snapshot=lambda: request.getfixturevalue("snapshot"),
        record=lambda check: _record(item, check),
    )


def _flag_overrides(config: pytest.Config) -> dict[str, Any]:
    names = ("output", "report", "legacy_url", "adapter_url", "sample", "artifacts")
    keys = ("output_dir", "report_path", "legacy_url", "adapter_url", "sample", "artifacts")
    return {
        key: config.getoption(f"dual_read_{name}") for key, name in zip(keys, names, strict=True)
    }


def load_settings_of(config: pytest.Config) -> DualReadSettings:
    """The settings: pyproject.toml, then the environment, then the flags."""
    from pytest_dualread.config import load_settings

    settings = load_settings(config.rootpath, flags=_flag_overrides(config))
    shard = config.getoption("dual_read_shard", default=None)
    if shard is None or settings.report_path is not None:
        return settings
    from pytest_dualread.shard import report_stem  # shards share an output folder

    return settings.model_copy(
        update={"report_path": settings.output_dir / f"{report_stem(shard)}.json"}
    )
