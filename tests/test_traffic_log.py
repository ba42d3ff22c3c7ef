"""A JSONL traffic log is read as strict JSON, one object a line, and a bad line is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_dualread.traffic import Dropping, TrafficError, read_log

KEEP_ALL = Dropping(headers=frozenset(), params=frozenset())


@pytest.mark.parametrize(
    ("bad_line", "problem"),
    [
        ('{"path": "/logs", "limit": NaN}', "3: not JSON: NaN is not a JSON number"),
        ('{"path": "/a", "path": "/b"}', "3: not JSON: duplicate key 'path'"),
        ('["GET", "/logs"]', "3: not a JSON object"),
        ("{not json", "3: not JSON: Expecting property name"),
    ],
)
def test_a_bad_log_line_is_an_error_naming_the_file_and_line(
    tmp_path: Path, bad_line: str, problem: str
) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text('{"path": "/logs/1"}\n\n' + bad_line + "\n")
    with pytest.raises(TrafficError) as raised:
        read_log(log, KEEP_ALL)
    assert str(raised.value).startswith(f"{log}:{problem}")


def test_blank_lines_are_skipped_and_later_lines_keep_their_numbers(tmp_path: Path) -> None:
    log = tmp_path / "access.jsonl"
    log.write_text('{"path": "/logs/1"}\n\n{"path": 7}\n')
    with pytest.raises(TrafficError, match=r"access\.jsonl:3: expected"):
        read_log(log, KEEP_ALL)
    log.write_text('{"path": "/logs/1", "query": {"day": "mon"}}\n\n{"path": "/logs/2"}\n')
    assert [(seen.path, seen.params) for seen in read_log(log, KEEP_ALL)] == [
        ("/logs/1", (("day", "mon"),)),
        ("/logs/2", ()),
    ]
