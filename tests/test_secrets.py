"""No secret in anything written: a unique value in every carrier the plugin sends or receives,
searched for in every byte the plugin, pytest's JUnit writer and the ``dualread`` command write,
and in the terminal. The legacy side is a real HTTP server on 127.0.0.1, the adapter an
in-process app; both echo what they receive, so every secret sent comes back in a body."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from string import Template
from urllib.parse import quote

import pytest
from conftest import RunDualRead, add_dualread_table, serving
from hypothesis import given, settings
from hypothesis import strategies as st

SECRETS = {
    "header": "hdrSECRETa1",
    "cookie": "ckSECRETb2",
    "bearer": "brSECRETc3",
    "basic": "bsSECRETd4",
    "userinfo": "uiSECRETe5",
    "param": "qpSECRETf6",
    "field": "fdSECRETg7",
    "field_500": "f5SECRETh8",
}

APP = Template(
    '''
"""Echoes what it receives; the X-Side header tells the two sides apart."""
import json
from pydantic import BaseModel, ConfigDict

class Body(BaseModel):
    model_config = ConfigDict(extra="allow")

PAGE = b"<!doctype html><html><body style='margin:0'><p>hello</p></body></html>"

def _answer(scope, side):
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    seen = {
        "auth": headers.get("authorization", ""),
        "cookie": headers.get("cookie", ""),
        "key": headers.get("x-api-key", ""),
        "query": scope["query_string"].decode(),
    }
    path = scope["path"]
    if path == "/page":
        return 200, "text/html", PAGE
    if path == "/same":
        return 200, "application/json", json.dumps({"deep": [{"ssn": "$field"}]}).encode()
    if path == "/crash" and side == "adapter":
        raise RuntimeError("the app saw token " + headers.get("authorization", ""))
    if path == "/broken" and side == "adapter":
        body = {"detail": "denied", "ssn": "$field_500", "seen": seen}
        return 500, "application/json", json.dumps(body).encode()
    # The two sides disagree on everything echoed (each echoes its own request), on a secret
    # field deep inside, and on a list item that holds a secret (a finding on a parent object).
    pins = [{"pin": "$field"}] + ([{"pin": "$field-2"}] if side == "adapter" else [])
    body = {
        "id": 1,
        "seen": seen,
        "profile": {"deep": {"ssn": "$field" + side}},
        "accounts": pins,
    }
    return 200, "application/json", json.dumps(body).encode()


def make(side):
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        status, kind, body = _answer(scope, side)
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", kind.encode())]})
        await send({"type": "http.response.body", "body": body})
    return app


legacy = make("legacy")
adapter = make("adapter")
'''
).substitute(SECRETS)

CASES = {
    "model": "secretsite:Body",
    "cases": [
        {"id": "echo", "request": {"path": "/echo"}},
        {"id": "same", "request": {"path": "/same"}},
        {"id": "broken", "request": {"path": "/broken"}},
        {"id": "crash", "request": {"path": "/crash"}},
    ],
}

CONFIG = """
[tool.dualread]
legacy_url = "http://user:{userinfo}@{host}"
adapter_url = "secretsite:adapter"

[tool.dualread.fetch]
redact_headers = ["X-Api-Key"]
redact_fields = ["ssn", "pin"]
redact_params = ["token"]
retries = 0

[tool.dualread.legacy]
headers = {{ "X-Api-Key" = "{header}" }}
cookies = {{ "session" = "{cookie}" }}
params = {{ "token" = "{param}" }}

[tool.dualread.adapter]
bearer_token = "{bearer}"
basic_auth = ["user", "{basic}"]
params = {{ "token" = "{param}" }}

[tool.dualread.visual]
viewport = {{ width = 200, height = 100 }}
stabilize_timeout_s = 2

[[tool.dualread.visual.pages]]
name = "home"
path = "/page"
"""


def _forms(secret: str) -> set[bytes]:
    """Every way a secret could be written: raw, URL-encoded, in a Basic credential."""
    forms = {secret, quote(secret, safe="")}
    forms.add(base64.b64encode(f"user:{secret}".encode()).decode())
    return {form.encode() for form in forms}


def _written(root: Path, skip: set[Path]) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and path not in skip and "__pycache__" not in path.parts:
            yield path


@pytest.fixture
def secret_project(
    inner_project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> Iterator[pytest.Pytester]:
    inner_project.makepyfile(secretsite=APP)
    inherited = os.environ.get("PYTHONPATH")
    paths = [str(inner_project.path), *([inherited] if inherited else [])]
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(paths))
    cases = inner_project.path / "fixtures" / "dual_read"
    cases.mkdir(parents=True)
    (cases / "secrets.json").write_text(json.dumps(CASES), encoding="utf-8")
    sys.path.insert(0, str(inner_project.path))
    try:
        from secretsite import legacy  # type: ignore[import-not-found]

        with serving(legacy) as url:
            host = url.removeprefix("http://")
            add_dualread_table(inner_project, CONFIG.format(host=host, **SECRETS))
            yield inner_project
    finally:
        sys.path.remove(str(inner_project.path))
        sys.modules.pop("secretsite", None)


def _cli(project: Path, *args: str) -> str:
    done = subprocess.run(
        [str(Path(sys.executable).with_name("dualread")), *args],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout + done.stderr


def test_no_secret_in_any_byte_written(
    secret_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    root = secret_project.path
    given = {
        root / name
        for name in ("pyproject.toml", "secretsite.py", "fixtures/dual_read/secrets.json")
    }
    terminal = []
    for update in (True, False):
        run = run_dualread(
            "--dual-read",
            *(["--snapshot-update"] if update else []),
            f"--junitxml=junit-{update}.xml",
            f"--dual-read-metrics=metrics-{update}.prom",
            "-rA",
            subprocess=True,
        )
        terminal.append(str(run.result.stdout) + str(run.result.stderr))
        assert run.report is not None
        outcomes = {c.id.rsplit("::", 1)[-1]: c.outcome for c in run.report.checks}
        # Every carrier was exercised: both sides answered, differed, failed and raised.
        assert outcomes["echo"] == "failed"
        assert outcomes["broken"] == "error"
        assert outcomes["crash"] == "error"
        assert outcomes["same"] == outcomes["home"] == "passed"
    report = "dual-read-results/report.json"
    terminal.append(_cli(root, "html", report, "-o", "page.html"))
    for fmt in ("json", "md", "text"):
        out = _cli(root, "gate", report, "--format", fmt, "--annotations")
        (root / f"gate.{fmt}").write_text(out, encoding="utf-8")
    terminal_text = "\n".join(terminal)
    # The secrets really were there to leak: the apps echoed them and the report says so.
    assert "<redacted>" in (root / report).read_text(encoding="utf-8")
    files = list(_written(root, given))
    assert any(p.suffix == ".png" for p in files)
    assert any(p.name == "report.html" for p in files)
    golden = root / "snapshots/dto/secrets/same.json"
    assert "<redacted>" in golden.read_text(encoding="utf-8")
    leaks = [
        f"{name} in {where}"
        for name, secret in SECRETS.items()
        for where, data in [("terminal", terminal_text.encode())]
        + [(str(p.relative_to(root)), p.read_bytes()) for p in files]
        if any(form in data for form in _forms(secret))
    ]
    assert leaks == []


# ---------------------------------------------------------------------------------------------
# the pieces: each carrier on its own


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://u:pw1234@h:1/x?a=1", "http://u:<redacted>@h:1/x?a=1"),
        ("http://u:p%40ss@h/x", "http://u:<redacted>@h/x"),
        ("http://h/x?token=abc&a=1&token=def", "http://h/x?token=<redacted>&a=1&token=<redacted>"),
        ("http://h/x?tok%65n=abc", "http://h/x?tok%65n=<redacted>"),
        ("http://u@h/x", "http://u@h/x"),
        ("http://[::1/x", "http://[::1/x"),
        ("pkg.mod:app", "pkg.mod:app"),
    ],
)
def test_urls_lose_their_password_and_secret_query_values(url: str, shown: str) -> None:
    from pytest_dualread.redact import redact_url

    assert redact_url(url, frozenset({"token"})) == shown


def test_the_scrubber_knows_every_value_the_settings_send() -> None:
    from pytest_dualread.config import DualReadSettings
    from pytest_dualread.redact import scrubber_for

    settings = DualReadSettings.model_validate(
        {
            "legacy_url": "http://user:urlPASS1@127.0.0.1:9/?token=qPARAM1",
            "legacy": {
                "headers": {"X-Key": "hKEY0001", "Accept": "json"},
                "cookies": {"s": "cOOKIE1"},
            },
            "adapter": {"bearer_token": "bTOKEN01", "basic_auth": ["me", "bPASS001"]},
            "fetch": {"redact_headers": ["x-key"], "redact_params": ["token"]},
        }
    )
    scrub = scrubber_for(settings)
    basic = base64.b64encode(b"me:bPASS001").decode()
    text = f"hKEY0001 cOOKIE1 bTOKEN01 Basic {basic} urlPASS1 qPARAM1 json"
    assert scrub.text(text) == " ".join(
        ["<redacted>"] * 3 + ["Basic"] + ["<redacted>"] * 3 + ["json"]
    )
    assert scrub.value({"hKEY0001": ["cOOKIE1", 3]}) == {"<redacted>": ["<redacted>", 3]}


def test_secret_fields_in_an_excerpt_cut_mid_value_are_redacted() -> None:
    from pytest_dualread.fetch import _head

    body = b'{"user": {"ssn": "123-45-6789", "n": 1}, "pin": 4321, "note": "x", "ssn2": "kept"}'
    assert _head(body, fields=frozenset({"ssn", "pin"})) == (
        '{"user": {"ssn": "<redacted>", "n": 1}, "pin": "<redacted>", "note": "x", "ssn2": "kept"}'
    )
    assert _head(b'{"a": 1, "ssn": "123-4', fields=frozenset({"ssn"})) == (
        '{"a": 1, "ssn": "<redacted>"'
    )


def test_requests_and_header_dicts_print_without_secrets() -> None:
    from pytest_dualread.fetch import Request
    from pytest_dualread.redact import SecretHeaders

    request = Request("/x").with_headers({"Authorization": "Bearer rTOKEN9", "Accept": "json"})
    shown = repr(request) + repr(request.headers) + str(SecretHeaders({"Cookie": "a=rTOKEN9"}))
    assert "rTOKEN9" not in shown
    assert "'Accept': 'json'" in shown


def test_side_settings_print_without_credentials() -> None:
    from pytest_dualread.config import SideSettings

    side = SideSettings(
        headers={"X-Api-Key": "rKEY9"},
        cookies={"session": "rCOOKIE9"},
        params={"token": "rPARAM9"},
        bearer_token="rTOKEN9",
        basic_auth=("user", "rPASS9"),
    )
    shown = repr(side) + str(side)
    for secret in ("rKEY9", "rCOOKIE9", "rPARAM9", "rTOKEN9", "rPASS9"):
        assert secret not in shown


SECRET_TEXT = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="<>"), min_size=4, max_size=20
)


@settings(max_examples=500, deadline=None)
@given(secret=SECRET_TEXT, before=st.text(max_size=30), after=st.text(max_size=30))
def test_a_scrubbed_text_never_holds_the_secret(secret: str, before: str, after: str) -> None:
    from pytest_dualread.redact import REDACTED, Scrubber

    scrub = Scrubber(values=(secret,))
    out = scrub.text(before + secret + after)
    assert secret not in out or secret in REDACTED


@settings(max_examples=500, deadline=None)
@given(url=st.text(max_size=60), params=st.frozensets(st.text(max_size=5), max_size=3))
def test_any_text_as_url_is_shown_without_raising(url: str, params: frozenset[str]) -> None:
    from pytest_dualread.redact import redact_url

    assert isinstance(redact_url(url, params), str)


IN_PROCESS_APP = """
import json

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
    status = 500 if scope["path"] == "/fail" else 200
    body = {"saw": headers.get("x-api-key", ""), "query": scope["query_string"].decode()}
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps(body).encode()})
"""


def test_a_case_request_and_a_fetch_raised_in_the_test_hold_no_secret(
    inner_project: pytest.Pytester, run_dualread: RunDualRead
) -> None:
    inner_project.makepyfile(inproc=IN_PROCESS_APP)
    inner_project.syspathinsert()
    add_dualread_table(
        inner_project,
        """
[tool.dualread]
legacy_url = "inproc:app"
adapter_url = "inproc:app"

[tool.dualread.fetch]
redact_headers = ["X-Api-Key"]
redact_params = ["token"]

[tool.dualread.legacy]
headers = { "X-Api-Key" = "kSECRETinproc" }

[tool.dualread.adapter]
headers = { "X-Api-Key" = "kSECRETinproc" }
""",
    )
    cases = inner_project.path / "fixtures" / "dual_read"
    cases.mkdir(parents=True)
    case = {
        "id": "q",
        "request": {"path": "/q?token=pSECRETpath", "params": {"token": "pSECRETparam"}},
    }
    (cases / "c.json").write_text(json.dumps({"model": "inproc:Body", "cases": [case]}))
    inner_project.makepyfile(
        test_raised_fetch="""
        import pytest

        @pytest.mark.dual_read
        def test_fetch(dual_read):
            dual_read.fetch("/fail")
        """,
    )
    (inner_project.path / "inproc.py").write_text(
        IN_PROCESS_APP
        + "\nfrom pydantic import BaseModel, ConfigDict\n\n"
        + "class Body(BaseModel):\n    model_config = ConfigDict(extra='allow')\n"
    )
    run = run_dualread("--dual-read", "--snapshot-update", "--junitxml=junit.xml", "-rA")
    terminal = str(run.result.stdout) + str(run.result.stderr)
    assert "expected a 2xx status, got 500" in terminal
    assert run.report is not None
    written = (
        terminal + run.report_path.read_text() + (inner_project.path / "junit.xml").read_text()
    )
    written += "".join(p.read_text() for p in (inner_project.path / "snapshots").rglob("*.json"))
    for secret in ("kSECRETinproc", "pSECRETpath", "pSECRETparam"):
        assert secret not in written


def test_a_password_in_a_url_flag_stays_out_of_the_report_and_the_lock(
    run_dualread: RunDualRead, inner_project: pytest.Pytester
) -> None:
    inner_project.makepyfile(test_one="def test_one(dual_read):\n    dual_read.fetch('/x')\n")
    url = "http://user:rFLAGPW9@127.0.0.1:9"
    run = run_dualread(
        "--dual-read", f"--dual-read-legacy-url={url}", f"--dual-read-adapter-url={url}"
    )
    assert run.report is not None
    written = [p for p in inner_project.path.rglob("*") if p.is_file()]
    assert any(p.name == "report.json" for p in written)
    for path in written:
        assert b"rFLAGPW9" not in path.read_bytes(), path
    assert "rFLAGPW9" not in run.result.stdout.str()
