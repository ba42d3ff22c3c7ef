"""Secrets out of everything the plugin writes: one place that knows what a secret is.

Two layers. Structural redaction replaces what is known to be secret by its place: the values
of secret headers (:func:`redact_headers`), of secret JSON fields at any depth
(:func:`redact_json`), a URL's password and its secret query parameters (:func:`redact_url`).
Then, belt and braces, a :class:`Scrubber` built from the settings knows the secret *values*
the plugin itself sends (secret headers, cookies, bearer and basic credentials, URL passwords,
secret query values) and removes them from any text a check records, wherever they ended up:
an app's exception message, an error body, a traceback. Nothing here imports anything heavy.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

if TYPE_CHECKING:
    from pytest_dualread.config import DualReadSettings, SideSettings

__all__ = [
    "ALWAYS_REDACTED",
    "MIN_SECRET_LENGTH",
    "REDACTED",
    "Scrubber",
    "SecretHeaders",
    "query_secrets",
    "redact_headers",
    "redact_json",
    "redact_url",
    "scrubber_for",
]

REDACTED = "<redacted>"
ALWAYS_REDACTED = frozenset({"authorization", "cookie", "set-cookie", "proxy-authorization"})
"""Header names whose values are secret whatever ``fetch.redact_headers`` says."""
MIN_SECRET_LENGTH = 4
"""Shorter values are not scrubbed from text: replacing every ``a`` would garble the report
(they are still redacted where their place is known)."""


def redact_headers(
    headers: Mapping[str, str], extra: frozenset[str] = frozenset()
) -> dict[str, str]:
    """Copy of ``headers`` with secrets replaced; ``extra`` holds lower-case names to hide too."""
    hidden = ALWAYS_REDACTED | extra
    return {k: (REDACTED if k.lower() in hidden else v) for k, v in headers.items()}


class SecretHeaders(dict[str, str]):
    """Headers the plugin builds: a dict whose ``repr`` (tracebacks, debuggers) hides secrets."""

    def __repr__(self) -> str:
        return repr(redact_headers(self))


def redact_json(value: Any, fields: frozenset[str]) -> Any:
    """Copy of a JSON value with the values of ``fields`` (key names, any depth) replaced."""
    if not fields:
        return value
    if isinstance(value, dict):
        return {k: (REDACTED if k in fields else redact_json(v, fields)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_json(v, fields) for v in value]
    return value


def redact_url(url: str, params: frozenset[str] = frozenset()) -> str:
    """``url`` with its password and the values of the query parameters ``params`` replaced."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return url
    netloc = parts.netloc
    if password is not None:
        netloc = f"{parts.username or ''}:{REDACTED}@{netloc.rpartition('@')[2]}"
    query = "&".join(_redact_param(p, params) for p in parts.query.split("&")) if params else ""
    return urlunsplit(parts._replace(netloc=netloc, query=query or parts.query))


def redact_args(args: Iterable[str]) -> list[str]:
    """Command-line arguments with URL passwords replaced, as ``--flag=URL`` or a bare URL."""
    shown = []
    for arg in args:
        flag, equals, value = arg.partition("=")
        if equals and "://" in value:
            arg = f"{flag}={redact_url(value)}"
        elif "://" in arg:
            arg = redact_url(arg)
        shown.append(arg)
    return shown


def _redact_param(pair: str, params: frozenset[str]) -> str:
    name, equals, _ = pair.partition("=")
    return f"{name}={REDACTED}" if equals and unquote(name) in params else pair


def _field_pattern(fields: frozenset[str]) -> re.Pattern[str] | None:
    if not fields:
        return None
    names = "|".join(re.escape(f) for f in sorted(fields))
    # A field's scalar value in JSON text, also when the text is cut inside it (an excerpt).
    return re.compile(rf'("(?:{names})"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^\s,}}\]]+)')


@dataclass(frozen=True)
class Scrubber:
    """Removes known secret values (and secret fields' values in JSON text) from text."""

    values: tuple[str, ...] = ()
    """Secret values, longest first (a secret containing another is replaced whole)."""
    fields: frozenset[str] = frozenset()

    def text(self, text: str) -> str:
        for secret in self.values:
            text = text.replace(secret, REDACTED)
        pattern = _field_pattern(self.fields)
        return text if pattern is None else pattern.sub(rf'\g<1>"{REDACTED}"', text)

    def value(self, value: Any) -> Any:
        """A JSON-like value with every string (keys too) scrubbed."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(k)): self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(v) for v in value]
        return value

    def __bool__(self) -> bool:
        return bool(self.values or self.fields)

    def knowing(self, secrets: Iterable[str]) -> Scrubber:
        """This scrubber, also removing ``secrets`` (values one request sends)."""
        found = {form for secret in secrets for form in _forms(secret)} | set(self.values)
        kept = sorted((v for v in found if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)
        return Scrubber(tuple(kept), self.fields)


def query_secrets(url: str, params: frozenset[str]) -> list[str]:
    """The values of the query parameters ``params`` in ``url`` (a URL or a path)."""
    return list(_url_secrets(url, params, with_password=False))


def scrubber_for(settings: DualReadSettings) -> Scrubber:
    """The :class:`Scrubber` of a run: the secrets its settings make the plugin send."""
    fetch = settings.fetch
    hidden = ALWAYS_REDACTED | {n.lower() for n in fetch.redact_headers}
    params = frozenset(fetch.redact_params)
    found: set[str] = set()
    for side in (settings.legacy, settings.adapter):
        found.update(_side_secrets(side, hidden, params))
    for target in (settings.legacy_url, settings.adapter_url):
        found.update(_url_secrets(target or "", params))
    return Scrubber(fields=frozenset(fetch.redact_fields)).knowing(found)


def _side_secrets(
    side: SideSettings, hidden: frozenset[str], params: frozenset[str]
) -> Iterator[str]:
    yield from (v for k, v in side.headers.items() if k.lower() in hidden)
    yield from side.cookies.values()
    yield from (v for k, v in side.params.items() if k in params)
    if side.bearer_token:
        yield side.bearer_token
    if side.basic_auth:
        user, password = side.basic_auth
        yield password
        yield _basic(user, password)


def _url_secrets(url: str, params: frozenset[str], with_password: bool = True) -> Iterator[str]:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return
    if password and with_password:
        yield password
        yield unquote(password)
        yield _basic(unquote(parts.username or ""), unquote(password))
    for pair in parts.query.split("&"):
        name, equals, value = pair.partition("=")
        if equals and unquote(name) in params and value:
            yield value
            yield unquote(value)


def _basic(user: str, password: str) -> str:
    """What ``Authorization: Basic`` carries for these credentials."""
    return base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def _forms(secret: str) -> Iterable[str]:
    """A secret as written raw, URL-encoded and JSON-escaped."""
    import json

    return {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}
