"""Case files: ``<cases_dir>/*.json``, each a pydantic model path and a list of cases.

::

    {
      "model": "examples.meal_log.dto:MealLogDTO",
      "cases": [
        {"id": "log-42", "request": {"method": "GET", "path": "/meal-logs/42"},
         "tolerances": {"items[*].kcal": {"abs": 5}}, "ignore": [], "tags": ["smoke"]}
      ]
    }

A file may also hold ``tolerances``, ``ignore``, ``list_keys`` and ``coerce_numbers`` for all
its cases: they are merged over ``[tool.dualread.dto]``, and each case's own over them (the more
local rule wins for the same pattern).

Loading is strict: malformed JSON, an unknown key, a duplicate id, an id that cannot name a
file, or a model path that does not import is a :class:`~pytest_dualread.errors.CaseError`
naming the file, the line and the case. A case's own ``model`` overrides the file's.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pytest_dualread import strictjson
from pytest_dualread.config import ToleranceSetting
from pytest_dualread.errors import CaseError, validation_message
from pytest_dualread.imports import ImportSpecError, import_attr

__all__ = [
    "Case",
    "CaseFile",
    "RequestSpec",
    "find_case_files",
    "import_model",
    "load_case_file",
    "sample_keeps",
]

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
MAX_ID_LENGTH = 200
"""Longest case id: an id names its golden file, and a file name holds 255 bytes, of which
syrupy keeps 250 before ``.json``; 200 leaves room and still reads in a terminal."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RequestSpec(_Strict):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] = "GET"
    path: str = Field(pattern=r"^/")
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, str] = Field(default_factory=dict)
    json_body: Any = Field(None, alias="json")

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class _Rules(_Strict):
    """What a case file and each of its cases may both say (the case's own wins)."""

    model: str | None = None
    description: str = ""
    tolerances: dict[str, ToleranceSetting] = Field(default_factory=dict)
    ignore: list[str] = Field(default_factory=list)
    list_keys: dict[str, str | list[str]] = Field(default_factory=dict)
    coerce_numbers: list[str] = Field(default_factory=list)


class Case(_Rules):
    id: str
    request: RequestSpec
    tags: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError(
                f"case id {value[:60]!r} must start with a letter or digit and use only letters, "
                "digits, '.', '_' and '-' (it names the test and the golden file)"
            )
        if len(value) > MAX_ID_LENGTH:
            raise ValueError(
                f"case id {value[:60]!r}… is {len(value)} characters long; at most "
                f"{MAX_ID_LENGTH} (it names the golden file)"
            )
        return value


class _FileModel(_Rules):
    cases: list[Case]


@dataclass(frozen=True)
class CaseFile:
    path: Path
    model: str | None
    cases: tuple[Case, ...]
    lines: dict[str, int]
    """1-based line of each case's ``"id"``."""
    tolerances: dict[str, ToleranceSetting]
    """File-wide rules: over ``[tool.dualread.dto]``, under each case's own."""
    ignore: list[str]
    list_keys: dict[str, str | list[str]]
    coerce_numbers: list[str]

    @property
    def stem(self) -> str:
        return self.path.stem

    def model_path(self, case: Case) -> str | None:
        return case.model or self.model


def find_case_files(cases_dir: Path) -> list[Path]:
    return sorted(p for p in cases_dir.glob("*.json") if p.is_file())


def _id_lines(text: str) -> list[tuple[str, int]]:
    found = []
    for match in re.finditer(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"', text):
        found.append((match.group(1), text.count("\n", 0, match.start()) + 1))
    return found


def _where(
    exc: ValidationError, raw: dict[str, Any], id_lines: list[tuple[str, int]]
) -> tuple[str | None, int | None, int]:
    """The case, line and location parts (``cases.N``) of the first problem, when in a case."""
    loc = exc.errors()[0]["loc"]
    if not (len(loc) >= 2 and loc[0] == "cases" and isinstance(loc[1], int)):
        return None, None, 0
    case_id = None
    cases = raw.get("cases")
    if isinstance(cases, list) and loc[1] < len(cases) and isinstance(cases[loc[1]], dict):
        found = cases[loc[1]].get("id")
        case_id = str(found) if found is not None else f"#{loc[1] + 1}"
    line = next((ln for cid, ln in id_lines if cid == case_id), None)
    return case_id, line, 2


def load_case_file(path: Path) -> CaseFile:
    """Read and validate one case file. Raises :class:`CaseError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CaseError(f"cannot read the case file: {exc}", path=path) from None
    try:
        raw = strictjson.loads(text)
    except strictjson.JsonProblem as exc:
        raise CaseError(f"not strict JSON: {exc}", path=path) from None
    except json.JSONDecodeError as exc:
        raise CaseError(
            f"not valid JSON: {exc.msg} (column {exc.colno})", path=path, line=exc.lineno
        ) from None
    if not isinstance(raw, dict):
        raise CaseError(
            'expected a JSON object like {"model": "pkg.module:Model", "cases": [...]}', path=path
        )
    id_lines = _id_lines(text)
    try:
        parsed = _FileModel.model_validate(raw)
    except ValidationError as exc:
        case_id, line, drop = _where(exc, raw, id_lines)
        message = validation_message(exc, limit=1, drop=drop)
        raise CaseError(message, path=path, line=line, case_id=case_id) from None
    lines: dict[str, int] = {}
    for case in parsed.cases:
        line = next((ln for cid, ln in id_lines if cid == case.id), 0)
        if case.id in lines:
            first = lines[case.id]
            later = [ln for cid, ln in id_lines if cid == case.id]
            raise CaseError(
                f"duplicate case id (first defined at line {first})",
                path=path,
                line=later[1] if len(later) > 1 else None,
                case_id=case.id,
            )
        lines[case.id] = line
    _refuse_folded_ids(path, parsed.cases, lines)
    for case in parsed.cases:
        if case.model is None and parsed.model is None:
            raise CaseError(
                'no model: set "model" in the file or the case (e.g. "pkg.dto:MealLogDTO")',
                path=path,
                line=lines[case.id] or None,
                case_id=case.id,
            )
    return CaseFile(
        path=path,
        model=parsed.model,
        cases=tuple(parsed.cases),
        lines=lines,
        tolerances=parsed.tolerances,
        ignore=parsed.ignore,
        list_keys=parsed.list_keys,
        coerce_numbers=parsed.coerce_numbers,
    )


def _refuse_folded_ids(path: Path, cases: list[Case], lines: dict[str, int]) -> None:
    """Two ids that differ only in case name one golden on a case-insensitive file system."""
    seen: dict[str, str] = {}
    for case in cases:
        first = seen.setdefault(case.id.casefold(), case.id)
        if first != case.id:
            raise CaseError(
                f"case ids {first!r} and {case.id!r} differ only in case: both would be the "
                f"golden snapshots/dto/{path.stem}/{case.id}.json on a case-insensitive file "
                "system; rename one",
                path=path,
                line=lines[case.id] or None,
                case_id=case.id,
            )


def import_model(
    spec: str, *, path: Path | None = None, case_id: str | None = None, line: int | None = None
) -> type[BaseModel]:
    """Import ``package.module:Model`` and check it is a pydantic model. Raises CaseError."""
    try:
        obj = import_attr(spec, what="model")
    except ImportSpecError as exc:
        raise CaseError(str(exc), path=path, line=line, case_id=case_id) from exc
    if not (isinstance(obj, type) and issubclass(obj, BaseModel)):
        raise CaseError(
            f"model {spec!r} is not a pydantic model class (got {type(obj).__name__})",
            path=path,
            line=line,
            case_id=case_id,
        )
    return obj


def sample_keeps(check_id: str, percent: float) -> bool:
    """Whether a check is in the deterministic ``percent`` sample (stable across runs/machines)."""
    digest = hashlib.sha256(check_id.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % 10_000
    return bucket < round(percent * 100)
