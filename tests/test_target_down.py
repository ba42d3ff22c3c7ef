"""A target that is down: one clear error naming it, distinct from a target that is slow, and
its remaining checks error at once instead of each waiting out its retries."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from conftest import RunDualRead, add_dualread_table
from test_dto_checks import (
    CONFIG,
    MODELS,
    SERVICE,
    case_file,
    checks_by_name,
    log_case,
    write_cases,
)


@pytest.fixture
def project(inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    inner_project.makepyfile(svc=SERVICE, models=MODELS)
    add_dualread_table(inner_project, CONFIG.replace("retries = 0", "retries = 2"))
    inner_project.mkdir("cases")
    monkeypatch.syspath_prepend(str(inner_project.path))
    return inner_project


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:  # bound, then closed: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def test_a_refused_target_errors_by_name_distinct_from_a_timeout_and_at_once_after(
    project: pytest.Pytester, run_dualread: RunDualRead, closed_port: int, silent_port: int
) -> None:
    write_cases(project, case_file(*(log_case(f"log-{n}") for n in range(3))))
    down, silent = f"http://127.0.0.1:{closed_port}", f"http://127.0.0.1:{silent_port}"
    run = run_dualread(
        "--dual-read", f"--dual-read-legacy-url={down}", f"--dual-read-adapter-url={silent}"
    )
    run.result.assert_outcomes(errors=3)
    messages = [checks_by_name(run)[f"log-{n}"].message for n in range(3)]  # type: ignore[attr-defined]
    assert (
        f"legacy {down}/logs/1: cannot connect after 3 attempts: connection refused" in messages[0]
    )
    for message in messages:
        assert f"adapter {silent}/logs/1: timed out after 1 s (fetch.timeout_s)" in message
    # The case fetched ahead was in flight with the first; every later one errors at once.
    assert "connection refused earlier in this run" in messages[2], messages[2]
    assert "attempts" not in messages[2], "a target that is down is not retried per check"
