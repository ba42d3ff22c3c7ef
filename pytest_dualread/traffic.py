"""Cases from real traffic: ``dualread cases from-har FILE`` and ``from-log FILE.jsonl``.

Requests are grouped by route template (numeric, UUID, long hex and ISO-date path segments
become ``{id}``, ``{uuid}``, ``{hex}``, ``{date}``), deduplicated, and sampled per route by a
hash of each request (the same sample on every run, never a random one). Each route becomes one
case file. Secrets never reach a case file: secret headers (``redact.ALWAYS_REDACTED`` and
``fetch.redact_headers``), the headers the plugin sends itself (``[tool.dualread.legacy]`` /
``[tool.dualread.adapter]``), transport headers, secret query parameters
(``fetch.redact_params`` and names like ``token`` or ``api_key``) and URL credentials are
dropped. A case's id is made from its request, so a re-run gives the same ids; a case file
that exists already keeps everything it holds and only gains the cases it lacks.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pytest_dualread import cliargs
from pytest_dualread.files import write_atomic
from pytest_dualread.strictjson import JsonProblem, object_lines

__all__ = ["Seen", "add_parser", "read_har", "read_log", "route_of", "run_command", "write_cases"]

_TRANSPORT = frozenset(
    {"host", "content-length", "connection", "accept-encoding", "user-agent", "referer"}
    | {"origin", "accept-language", "cache-control", "pragma", "upgrade-insecure-requests"}
    | {"if-none-match", "if-modified-since", "te", "keep-alive", "x-request-id", "accept"}
)
_SECRET_PARAM = re.compile(
    r"(token|secret|passw(or)?d|api[_-]?key|signature|^sig$|^auth|session|^code$)", re.I
)
_SEGMENTS = (
    (re.compile(r"^\d+$"), "id"),
    (re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"), "uuid"),
    (re.compile(r"^[0-9a-fA-F]{16,}$"), "hex"),
    (re.compile(r"^\d{4}-\d{2}-\d{2}$"), "date"),
)
DEFAULT_METHODS = ("GET", "HEAD")


class TrafficError(Exception):
    """A traffic file that cannot be read; names the file and line or entry."""


@dataclass(frozen=True)
class Seen:
    """One request seen in traffic, secrets already dropped."""

    method: str
    path: str
    params: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def digest(self) -> str:
        blob = json.dumps([self.method, self.path, self.params, self.headers])
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def route_of(path: str) -> str:
    """``/meal-logs/42`` -> ``/meal-logs/{id}``; a second segment of a kind is ``{id2}``."""
    counts: dict[str, int] = {}
    out = []
    for segment in path.split("/"):
        name = next((n for pattern, n in _SEGMENTS if pattern.match(segment)), None)
        if name is None:
            out.append(segment)
            continue
        counts[name] = counts.get(name, 0) + 1
        out.append("{" + name + (str(counts[name]) if counts[name] > 1 else "") + "}")
    return "/".join(out)


@dataclass(frozen=True)
class Dropping:
    """What never reaches a case file (lower-case names)."""

    headers: frozenset[str]
    params: frozenset[str]

    def keep_header(self, name: str) -> bool:
        low = name.lower()
        return not (low in self.headers or low in _TRANSPORT or low.startswith(("sec-", ":")))

    def keep_param(self, name: str) -> bool:
        return name.lower() not in self.params and not _SECRET_PARAM.search(name)


def _seen(method: str, url: str, headers: Iterable[tuple[str, str]], dropping: Dropping) -> Seen:
    parts = urlsplit(url)
    params = tuple(sorted((k, v) for k, v in parse_qsl(parts.query) if dropping.keep_param(k)))
    kept = tuple(sorted((k, v) for k, v in headers if dropping.keep_header(k)))
    return Seen(method.upper(), parts.path or "/", params, kept)


def _json_of(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TrafficError(f"{path}: cannot read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise TrafficError(f"{path}:{exc.lineno}: not JSON: {exc.msg}") from None


def read_har(path: Path, dropping: Dropping, *, json_only: bool = True) -> list[Seen]:
    """The requests of a HAR 1.2 file; with ``json_only``, those answered with JSON."""
    har = _json_of(path)
    entries = har.get("log", {}).get("entries") if isinstance(har, dict) else None
    if not isinstance(entries, list):
        raise TrafficError(f"{path}: not a HAR file (expected log.entries)")
    seen = []
    for number, entry in enumerate(entries, start=1):
        try:
            request = entry["request"]
            mime = str(entry.get("response", {}).get("content", {}).get("mimeType", ""))
            headers = [(h["name"], h["value"]) for h in request.get("headers", [])]
            if json_only and "json" not in mime:
                continue
            seen.append(_seen(request["method"], request["url"], headers, dropping))
        except (KeyError, TypeError, AttributeError) as exc:
            raise TrafficError(f"{path}: entry {number}: not a HAR request ({exc})") from None
    return seen


def _log_line(record: dict[str, Any], where: str, dropping: Dropping) -> Seen:
    if not isinstance(record.get("path"), str):
        raise TrafficError(f'{where}: expected {{"method": ..., "path": "/...", ...}}')
    query = record.get("query") or {}
    text = query if isinstance(query, str) else "&".join(f"{k}={v}" for k, v in query.items())
    url = record["path"] + ("?" + text.lstrip("?") if text else "")
    headers = record.get("headers") or {}
    if not isinstance(headers, dict):
        raise TrafficError(f"{where}: headers must be an object")
    return _seen(str(record.get("method", "GET")), url, headers.items(), dropping)


def read_log(path: Path, dropping: Dropping) -> list[Seen]:
    """The requests of a JSONL log: one object a line, ``method``, ``path``, ``query`` (an
    object or a query string), ``headers``."""
    try:
        records = list(object_lines(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError) as exc:
        raise TrafficError(f"{path}: cannot read: {exc}") from None
    except JsonProblem as exc:
        raise TrafficError(f"{path}:{exc.line}: {exc.reason}") from None
    return [_log_line(record, f"{path}:{number}", dropping) for number, record in records]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "root"


def _case_id(seen: Seen) -> str:
    """Readable and stable: the path, and a short hash when the query or headers differ."""
    base = _slug(seen.path)
    if seen.method != "GET":
        base = f"{seen.method.lower()}-{base}"
    if seen.params or seen.headers or len(base) > 180:
        base = f"{base[:180]}-{seen.digest[:8]}"
    return base


def _case(seen: Seen) -> dict[str, Any]:
    request: dict[str, Any] = {"method": seen.method, "path": seen.path}
    if seen.params:
        request["params"] = dict(seen.params)
    if seen.headers:
        request["headers"] = dict(seen.headers)
    return {"id": _case_id(seen), "request": request, "tags": ["traffic"]}


def sample_routes(
    seen: Sequence[Seen], *, per_route: int, methods: Sequence[str]
) -> dict[str, list[Seen]]:
    """Distinct requests by route template, at most ``per_route`` each, chosen by hash."""
    routes: dict[str, dict[str, Seen]] = {}
    for request in seen:
        if request.method in methods:
            routes.setdefault(route_of(request.path), {})[request.digest] = request
    return {route: [by[d] for d in sorted(by)[:per_route]] for route, by in sorted(routes.items())}


def write_cases(
    routes: dict[str, list[Seen]], out_dir: Path, models: dict[str, str], source: str
) -> list[tuple[Path, int]]:
    """One case file per route that has a model; returns each file and the cases it gained."""
    written = []
    for route, requests in routes.items():
        model = models.get(route) or models.get("")
        if model is None:
            continue
        path = out_dir / f"{_slug(route.replace('{', '').replace('}', ''))}.json"
        document = _json_of(path) if path.exists() else {}
        if not isinstance(document, dict):
            raise TrafficError(f"{path}: exists and is not a case file; refusing to change it")
        document.setdefault("description", f"{route}: from traffic ({source})")
        document.setdefault("model", model)
        cases = document.setdefault("cases", [])
        known = {c.get("id") for c in cases if isinstance(c, dict)}
        new = [_case(r) for r in requests if _case_id(r) not in known]
        cases.extend(sorted(new, key=lambda c: str(c["id"])))
        write_atomic(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
        written.append((path, len(new)))
    return written


# -- the command ---------------------------------------------------------------------------------


def _dropping(table: dict[str, Any]) -> Dropping:
    """Secret and configured headers and parameters, from ``[tool.dualread]``."""
    from pytest_dualread.redact import ALWAYS_REDACTED

    fetch = table.get("fetch", {}) if isinstance(table.get("fetch"), dict) else {}
    sent = [
        name.lower()
        for side in ("legacy", "adapter")
        if isinstance(table.get(side), dict)
        for name in table[side].get("headers", {})
    ]
    headers = {h.lower() for h in fetch.get("redact_headers", [])} | set(sent)
    params = {p.lower() for p in fetch.get("redact_params", [])}
    return Dropping(headers=frozenset(headers) | ALWAYS_REDACTED, params=frozenset(params))


def _models(given: Sequence[str]) -> dict[str, str]:
    """``--model pkg:Model`` (every route) and ``--model '/route/{id}=pkg:Model'``."""
    models = {}
    for text in given:
        route, _, model = text.rpartition("=")
        if ":" not in model:
            raise TrafficError(f"--model {text!r}: expected [ROUTE=]package.module:Model")
        models[route] = model
    return models


def _project(config: Path | None) -> tuple[Path, dict[str, Any]]:
    """The rootdir and ``[tool.dualread]`` (empty without a pyproject.toml)."""
    from pytest_dualread.approve import ApproveError, project_config

    if config is None and not (Path.cwd() / "pyproject.toml").is_file():
        return Path.cwd(), {}
    try:
        path, table = project_config(config)
    except ApproveError as exc:
        raise TrafficError(str(exc)) from None
    return path.parent, dict(table)


def run_command(args: argparse.Namespace) -> int:
    """``dualread cases from-har|from-log``: 0 when case files were written, 2 otherwise."""
    try:
        rootdir, table = _project(args.config)
        dropping = _dropping(table)
        models = _models(args.model or [])
        if args.action == "from-har":
            seen = read_har(args.file, dropping, json_only=not args.all_types)
        else:
            seen = read_log(args.file, dropping)
        methods = [m.strip().upper() for m in args.methods.split(",") if m.strip()]
        routes = sample_routes(seen, per_route=args.per_route, methods=methods)
        out_dir = args.out or rootdir / str(table.get("cases_dir", "fixtures/dual_read"))
        written = write_cases(routes, out_dir, models, args.file.name)
    except (TrafficError, OSError) as exc:
        sys.stderr.write(f"dualread: error: {exc}\n")
        return 2
    for route in routes:
        if not (models.get(route) or models.get("")):
            sys.stderr.write(f"skipped route {route}: no --model for it\n")
    for path, added in written:
        sys.stdout.write(f"{path}: {added} new case{'s' if added != 1 else ''}\n")
    return 0 if written else 2


def add_parser(commands: Any) -> None:
    """Register ``dualread cases from-har|from-log`` on the ``dualread`` subparsers."""
    cases = commands.add_parser("cases", help="Write case files from real traffic.")
    sub = cases.add_subparsers(dest="action", metavar="ACTION", parser_class=cliargs.Parser)
    sub.required = True
    for action, what in (("from-har", "a HAR file"), ("from-log", "a JSONL request log")):
        parser = sub.add_parser(action, help=f"Case files from {what}, one per route.")
        parser.add_argument("file", type=Path, metavar="FILE", help=f"The traffic: {what}.")
        parser.add_argument(
            "--model",
            action="append",
            metavar="[ROUTE=]MODEL",
            help="The DTO model of every route, or of one ('/meal-logs/{id}=pkg.dto:Model').",
        )
        parser.add_argument(
            "--per-route",
            type=cliargs.positive,
            default=10,
            metavar="N",
            help="Cases per route (default 10).",
        )
        parser.add_argument(
            "--methods", default="GET,HEAD", help="Methods kept (default GET,HEAD)."
        )
        parser.add_argument("--out", type=Path, metavar="DIR", help="Default: cases_dir.")
        cliargs.config_option(parser)
        if action == "from-har":
            parser.add_argument(
                "--all-types", action="store_true", help="Keep requests not answered with JSON."
            )
        parser.set_defaults(run=run_command)
