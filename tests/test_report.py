"""report.py: the models, atomic writing, and refusing reports a gate must not trust."""

from __future__ import annotations

import gc
import json
import re
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import synthetic_report

from pytest_dualread import cli
from pytest_dualread.errors import ReportError
from pytest_dualread.report import (
    Check,
    Finding,
    Report,
    ReportFile,
    dump_merged,
    dump_report,
    load_report,
    merge_reports,
    read_report,
    summarize,
    write_report,
)


def make_report(*checks: Check, complete: bool = True) -> Report:
    started = datetime(2026, 11, 1, tzinfo=timezone.utc)
    return synthetic_report(checks, started=started, complete=complete, config_hash="sha256:0")


def check(outcome: str = "passed", kind: str = "dto", cid: str = "cases/log-42") -> Check:
    return Check.model_validate({"id": cid, "nodeid": cid, "kind": kind, "outcome": outcome})


def test_summarize_counts_by_outcome_and_kind() -> None:
    summary = summarize(
        [
            check("passed"),
            check("failed", cid="b"),
            check("error", "visual", "c"),
            check("skipped", "visual", "d"),
        ]
    )
    assert (summary.total, summary.passed, summary.failed, summary.errors, summary.skipped) == (
        4,
        1,
        1,
        1,
        1,
    )
    assert summary.by_kind["visual"].total == 2
    assert summary.by_kind["dto"].failed == 1


def test_write_is_atomic_and_round_trips(tmp_path: Path) -> None:
    report = make_report(check())
    target = tmp_path / "out" / "report.json"
    write_report(report, target)
    write_report(report, target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]
    assert load_report(target) == report


@pytest.mark.parametrize(
    ("content", "reason", "words"),
    [
        pytest.param(None, "missing", "no such report file", id="missing"),
        pytest.param(
            '{"schema_version": 1, "tool": {"na', "unreadable", "truncated", id="truncated"
        ),
        pytest.param("[]", "foreign", "expected a JSON object", id="a-list"),
        pytest.param(
            '{"schema_version": 1, "tool": {"name": "other"}}',
            "foreign",
            "'other'",
            id="other-tool",
        ),
        pytest.param(
            '{"schema_version": "1", "tool": {"name": "pytest-dualread"}}',
            "foreign",
            "schema_version '1'",
            id="string-version",
        ),
        pytest.param(
            '{"schema_version": 2, "tool": {"name": "pytest-dualread"}}',
            "schema",
            "newer than this pytest-dualread reads",
            id="newer-schema",
        ),
        pytest.param(
            '{"schema_version": 1, "tool": {"name": "pytest-dualread"}}',
            "invalid",
            "does not match report schema 1",
            id="missing-fields",
        ),
    ],
)
def test_untrustworthy_reports_are_refused(
    tmp_path: Path, content: str | None, reason: str, words: str
) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ReportError) as info:
        load_report(path)
    assert info.value.reason == reason
    assert info.value.path == path
    assert words in str(info.value)
    assert str(path) in str(info.value)


def test_an_unknown_field_is_invalid(tmp_path: Path) -> None:
    data = json.loads(dump_report(make_report(check())))
    data["checks"][0]["surprise"] = 1
    path = tmp_path / "report.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ReportError, match=r"checks\.0\.surprise"):
        load_report(path)


def test_dump_spells_every_value_as_the_standard_library_does() -> None:
    # The text is written by pydantic-core; floats must keep Python's spelling (1e-05, not
    # 0.00001; 1e+16, not 1e16) and text its escapes, wherever they sit.
    floats = [1e-05, 1e-07, 0.0001, 9.99e-05, 1e16, 1.5e300, 5e-324, -0.0, 45.0, 0.1]
    floats += [float("inf"), float("-inf"), float("nan"), -7.185e-09]
    odd_text = ' 1e-7", 0.00001 é \u2028 \x00 \x1f \\ "'
    finding = {
        "comparison": "adapter_vs_legacy",
        "category": "value",
        "values": {"legacy": floats, "adapter": {odd_text: 10**30, "x": [1e-05, odd_text]}},
        "delta": 1e-05,
        "message": odd_text,
    }
    failed = check("failed").model_copy(update={"findings": [Finding.model_validate(finding)]})
    report = make_report(failed)
    standard = json.dumps(report.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
    assert dump_report(report) == standard


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"schema_version": True}, "schema_version True is not a schema"),
        ({"schema_version": 1.0}, "schema_version 1.0 is not a schema"),
        ({"schema_version": None}, "schema_version None is not a schema"),
        ({"tool": {"version": "1"}}, "tool.name is None"),
        ({"checks": [{"id": "a", "nodeid": "a", "kind": "page", "outcome": "passed"}]}, "kind"),
    ],
)
def test_what_the_quick_reading_refuses_gets_the_careful_reading_s_error(
    tmp_path: Path, change: dict[str, object], says: str
) -> None:
    raw = json.loads(dump_report(make_report(check())))
    raw.update(change)
    target = tmp_path / "report.json"
    target.write_text(json.dumps(raw))
    with pytest.raises(ReportError, match=says):
        load_report(target)


def test_loaded_checks_are_checks_with_the_figures_of_their_kind(tmp_path: Path) -> None:
    target = tmp_path / "report.json"
    write_report(make_report(check("passed", "visual", "v"), check("failed", "dto", "d")), target)
    loaded = load_report(target)
    assert [type(c.data).__name__ for c in loaded.checks] == ["VisualData", "DtoData"]
    assert all(type(c) is Check for c in loaded.checks)
    assert dump_report(loaded) == target.read_text()


@pytest.fixture
def collections() -> Iterator[list[set[str]]]:
    """Each walk of the cycle collector while the test runs: the functions on the stack."""
    seen: list[set[str]] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            frame, names = sys._getframe(1), set()
            while frame is not None:
                names.add(frame.f_code.co_name)
                frame = frame.f_back
            seen.append(names)

    gc.callbacks.append(count)
    yield seen
    gc.callbacks.remove(count)


# Reading 300 checks started the collector about 250 times before it was held.
def test_reading_a_report_holds_the_collector_and_gives_it_back(
    tmp_path: Path, collections: list[set[str]]
) -> None:
    target = tmp_path / "report.json"
    write_report(make_report(*(check(cid=f"log-{n}") for n in range(300))), target)
    assert len(load_report(target).checks) == 300
    assert [walk for walk in collections if "_validated" in walk] == []
    assert gc.isenabled()
    gc.disable()
    try:
        load_report(target)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_the_gate_and_merge_commands_hold_the_collector(
    tmp_path: Path, collections: list[set[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    shards = []
    for shard in range(2):
        path = tmp_path / f"shard-{shard}.json"
        write_report(make_report(*(check(cid=f"{shard}-{n}") for n in range(200))), path)
        shards.append(str(path))
    merged = tmp_path / "merged.json"
    assert cli.main(["merge", *shards, "-o", str(merged)]) == 0
    assert cli.main(["gate", str(merged)]) == 0
    assert "400 checks" in capsys.readouterr().out
    commands = {"_cmd_merge", "_cmd_gate"}
    assert [walk & commands for walk in collections if walk & commands] == []
    assert gc.isenabled()


# -- merged text ----------------------------------------------------------------------------------


def figured(cid: str, n: int) -> Check:
    """A check with something of everything a check may hold, its figures set or not."""
    if n % 3 == 0:
        data: dict[str, object] = {"page": "home", "comparisons": [{"name": "adapter_vs_legacy"}]}
        return Check.model_validate({"id": cid, "nodeid": cid, "kind": "visual",
                                     "outcome": "passed", "data": data})  # fmt: skip
    finding = {"comparison": "adapter_vs_legacy", "path": f"meals[{n}].kcal", "category": "value",
               "values": {"legacy": 1e-05 * n, "adapter": "é \u2028"}, "delta": 1e16 + n,
               "tolerance": {"abs": 0.5}, "triage": "upstream_drift"}  # fmt: skip
    data = {"case": cid, "fields_compared": n} if n % 2 else {}
    return Check.model_validate({"id": cid, "nodeid": cid, "kind": "dto", "outcome": "failed",
                                 "findings": [finding], "data": data})  # fmt: skip


def shard_files(tmp_path: Path, *texts: Callable[[Report], str]) -> list[ReportFile]:
    """Shards whose checks interleave when sorted by id, each written by one of ``texts``."""
    shards = []
    for number, text in enumerate(texts):
        checks = [figured(f"log-{n:02}", n) for n in range(number, 12, len(texts))]
        path = tmp_path / f"shard-{number}.json"
        path.write_text(text(make_report(*checks)), encoding="utf-8")
        shards.append(read_report(path))
    return shards


def compact(report: Report) -> str:
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False)


@pytest.mark.parametrize(
    "writers",
    [
        pytest.param((dump_report, dump_report, dump_report), id="as-dump_report-writes"),
        pytest.param((dump_report, compact), id="one-laid-out-otherwise"),
        pytest.param((compact, compact), id="none-as-dump_report-writes"),
    ],
)
def test_the_merged_text_is_what_dump_report_writes(
    tmp_path: Path, writers: tuple[Callable[[Report], str], ...]
) -> None:
    shards = shard_files(tmp_path, *writers)
    merged = merge_reports([shard.report for shard in shards])
    assert [c.id for c in merged.checks] == [f"log-{n:02}" for n in range(12)]
    assert dump_merged(merged, shards) == dump_report(merged)


def test_a_merge_copies_each_check_s_text_from_its_file(tmp_path: Path) -> None:
    (shard,) = shard_files(tmp_path, dump_report)
    # The same layout, another value: the text the merge writes is the file's.
    edited = ReportFile(
        shard.report, shard.text.replace('"fields_compared": 1\n', '"fields_compared": 7\n')
    )
    merged = merge_reports([shard.report])
    assert '"fields_compared": 7\n' in dump_merged(merged, [edited])
    # A check that is in no shard (changed after loading): the report is written whole.
    changed = merged.model_copy(update={"checks": [c.model_copy() for c in merged.checks]})
    assert dump_merged(changed, [edited]) == dump_report(merged)


def test_an_id_spelled_with_escapes_is_written_anew(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    write_report(make_report(figured('a "quoted" \\ id', 1), figured("b", 2)), path)
    shard = read_report(path)
    merged = merge_reports([shard.report])
    assert dump_merged(merged, [shard]) == dump_report(merged) == shard.text


@pytest.mark.parametrize(
    ("tolerance", "says"),
    [
        ({"abs": True}, "tolerance abs must be a number, got True"),
        ({"rel": "0.1"}, "tolerance rel must be a number, got '0.1'"),
        ({"abs": -1}, "tolerance abs must be finite and >= 0, got -1"),
        ({"abs": None, "rel": None}, "a tolerance needs 'abs', 'rel' or both"),
        ({"abs": 1, "warn_abs": 2}, "tolerance warn_abs 2 must be below abs 1"),
    ],
)
def test_a_finding_s_tolerance_is_refused_as_anywhere_else(
    tmp_path: Path, tolerance: dict[str, object], says: str
) -> None:
    raw = json.loads(dump_report(make_report(figured("log-1", 1))))
    raw["checks"][0]["findings"][0]["tolerance"] = tolerance
    target = tmp_path / "report.json"
    target.write_text(json.dumps(raw))
    with pytest.raises(ReportError, match=re.escape(says)):
        load_report(target)
