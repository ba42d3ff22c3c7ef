"""write_atomic: whole files, the modes an ordinary write would give, nothing left behind."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_dualread.files import write_atomic


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask() -> Iterator[None]:
    """Restore the process umask the test changes."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_text_is_written_as_utf8_with_newlines_as_given(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "out.txt"
    write_atomic(target, "kcal ≤ 80\r\nnext\n")
    assert target.read_bytes() == "kcal ≤ 80\r\nnext\n".encode()


def test_bytes_are_written_as_they_are(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    write_atomic(target, b"\x89PNG\x00\xff")
    assert target.read_bytes() == b"\x89PNG\x00\xff"


@pytest.mark.parametrize("kept", [0o644, 0o640, 0o600])
def test_a_replaced_file_keeps_its_mode(tmp_path: Path, kept: int) -> None:
    target = tmp_path / "pyproject.toml"
    target.write_text("old")
    target.chmod(kept)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert mode(target) == kept


@pytest.mark.usefixtures("umask")
@pytest.mark.parametrize(("mask", "expected"), [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_a_new_file_gets_the_mode_the_umask_gives(tmp_path: Path, mask: int, expected: int) -> None:
    os.umask(mask)
    target = tmp_path / "report.html"
    write_atomic(target, "<html></html>")
    assert mode(target) == expected


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_failure_leaves_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException, step: str
) -> None:
    target = tmp_path / "report.json"
    target.write_text("old")

    def fail(*args: object) -> None:
        raise error

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(type(error)):
        write_atomic(target, "new")
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    assert target.read_text() == "old"
