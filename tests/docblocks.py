"""Code blocks of the docs, as the tests that follow the docs literally run them.

A block to run is marked by an HTML comment on the line before its fence:

* ``<!-- run: file PATH -->``: write the block to ``PATH`` (relative to the project);
* ``<!-- run: shell -->``: run each line of the block with bash, in order, stopping at the
  first that fails;
* ``<!-- run: shell background -->``: start the block with bash and leave it running (a
  server), until the test ends.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
_BLOCK = re.compile(r"<!-- run: (?P<what>[^>]*?) -->\n```[^\n]*\n(?P<text>.*?)\n```", re.S)
_FENCE = re.compile(r"^```", re.M)


@dataclass(frozen=True)
class Block:
    what: str
    """``file PATH``, ``shell`` or ``shell background``."""
    text: str


def blocks(page: str) -> list[Block]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return [Block(m["what"].strip(), m["text"]) for m in _BLOCK.finditer(text)]


def fence_count(page: str) -> int:
    """Code blocks on the page (a block is two fences)."""
    return len(_FENCE.findall((DOCS / page).read_text(encoding="utf-8"))) // 2


def environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a reader who installed the project: this interpreter's scripts
    (``pytest``, ``dualread``) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("PYTEST_XDIST_WORKER", None)
    env.pop("PYTEST_ADDOPTS", None)
    env.update(extra or {})
    return env


def run_line(line: str, cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        ["bash", "-c", line], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, f"{line!r} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done


def _wait_for_port(command: str, limit_s: float = 60) -> None:
    """A reader waits until the server they started answers; so does the test."""
    import socket

    port = re.search(r"--port[ =](\d+)", command)
    if port is None:
        return
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", int(port[1]))) == 0:
                return
        time.sleep(0.1)
    raise AssertionError(f"{command!r}: nothing listens on port {port[1]}")


@contextmanager
def following(
    page: str, cwd: Path, env: Mapping[str, str], skip: str = "^$"
) -> Iterator[list[str]]:
    """Follow ``page``'s marked blocks in ``cwd``; yields the shell lines that ran. Lines that
    match ``skip`` (installing what the test's environment already holds) are not run."""
    background: list[subprocess.Popen[bytes]] = []
    ran: list[str] = []
    try:
        for block in blocks(page):
            if block.what.startswith("file "):
                target = cwd / block.what[5:].strip()
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(block.text + "\n", encoding="utf-8")
            elif block.what == "shell background":
                background.append(
                    subprocess.Popen(["bash", "-c", block.text], cwd=cwd, env=dict(env))
                )
                time.sleep(0.1)
            else:
                assert block.what == "shell", f"unknown block marker {block.what!r} in {page}"
                for line in block.text.splitlines():
                    if line.strip() and not line.startswith("#") and not re.search(skip, line):
                        run_line(line, cwd, env)
                        ran.append(line)
        yield ran
    finally:
        for process in background:
            process.terminate()
            process.wait(timeout=10)
