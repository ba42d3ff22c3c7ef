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

A case may be a template: ``"each"`` names variables, each over a list, an inclusive range or a
CSV column, and ``{name}`` in the id, the path and the params is replaced by each value (every
combination when there are several)::

    {"id": "log-{id}", "request": {"path": "/meal-logs/{id}"}, "each": {"id": {"range": [1, 500]}}}

Loading is strict: malformed JSON, an unknown key, a duplicate id, an id that cannot name a
file, or a model path that does not import is a :class:`~pytest_dualread.errors.CaseError`
naming the file, the line and the case. A case's own ``model`` overrides the file's.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
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
    "MAX_GENERATED",
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
    line, counted = 1, 0
    for match in re.finditer(r'"id"\s*:\s*"((?:[^"\\]|\\.)*)"', text):
        # counted on from the previous match: counting from the start each time made a file
        # of n cases cost n times its length
        line += text.count("\n", counted, match.start())
        counted = match.start()
        found.append((match.group(1), line))
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
    raw, id_lines = _expand_templates(path, raw, id_lines)
    try:
        parsed = _FileModel.model_validate(raw)
    except ValidationError as exc:
        case_id, line, drop = _where(exc, raw, id_lines)
        message = validation_message(exc, limit=1, drop=drop)
        raise CaseError(message, path=path, line=line, case_id=case_id) from None
    first_lines: dict[str, int] = {}
    for cid, ln in id_lines:
        first_lines.setdefault(cid, ln)  # one look-up per case, not a scan of every id
    lines: dict[str, int] = {}
    for case in parsed.cases:
        line = first_lines.get(case.id, 0)
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


# -- generated cases: "each" -------------------------------------------------------------------

MAX_GENERATED = 100_000
"""The most cases one template may generate: far beyond a useful suite, and a bound on what
one case file can make a run collect."""


class _EachSource(_Strict):
    """Where one variable of a template takes its values: exactly one of the three."""

    values: list[str | int] | None = Field(None, alias="list", min_length=1)
    bounds: tuple[int, int] | None = Field(None, alias="range")
    csv: str | None = Field(None, min_length=1)
    column: str | None = None

    def check_shape(self) -> str | None:
        given = [k for k in ("values", "bounds", "csv") if getattr(self, k) is not None]
        if len(given) != 1:
            return 'expected exactly one of "list", "range" or "csv"'
        if (self.csv is None) != (self.column is None):
            return '"csv" and "column" go together: {"csv": "ids.csv", "column": "id"}'
        if self.bounds is not None and self.bounds[0] > self.bounds[1]:
            return f'"range" {list(self.bounds)}: the first bound is above the last'
        return None

    def size(self) -> int:
        if self.bounds is not None:
            return self.bounds[1] - self.bounds[0] + 1
        return len(self.values or [])


def _csv_column(where: Path, column: str) -> list[str]:
    """The column's values, in file order, each once (a traffic export repeats ids)."""
    try:
        with where.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if column not in (reader.fieldnames or []):
                header = ", ".join(reader.fieldnames or []) or "no header"
                raise ValueError(f"{where} has no column {column!r} (it has: {header})")
            found = [row[column] for row in reader if row.get(column)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ValueError(f"cannot read {where}: {exc}") from None
    if not found:
        raise ValueError(f"{where}: column {column!r} holds no value")
    return list(dict.fromkeys(found))


def _values_of(case_path: Path, source: _EachSource) -> list[str | int]:
    if source.bounds is not None:
        return list(range(source.bounds[0], source.bounds[1] + 1))
    if source.values is not None:
        return source.values
    return list(_csv_column(case_path.parent / str(source.csv), str(source.column)))


def _fill(value: Any, names: dict[str, str]) -> Any:
    """``value`` with every ``{name}`` of a declared variable replaced, in strings at any depth."""
    if isinstance(value, str):
        return re.sub(r"\{(\w+)\}", lambda m: names.get(m.group(1), m.group(0)), value)
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def _generated_id(template: str, names: dict[str, str]) -> str:
    """A stable id: the template's placeholders filled, or the values appended when it has none
    (characters an id cannot hold become ``-``)."""
    safe = {k: re.sub(r"[^A-Za-z0-9._-]+", "-", v) for k, v in names.items()}
    if any("{" + name + "}" in template for name in names):
        return str(_fill(template, safe))
    return "-".join([template, *safe.values()])


def _sources_of(each: Any) -> dict[str, _EachSource]:
    """The variables of ``"each"``, validated. Raises ValueError saying what is wrong."""
    if not isinstance(each, dict) or not each:
        raise ValueError(
            '"each" must map variable names to sources, e.g. {"id": {"range": [1, 9]}}'
        )
    sources: dict[str, _EachSource] = {}
    for name, spec in each.items():
        try:
            source = _EachSource.model_validate(spec)
        except ValidationError as exc:
            raise ValueError(f"each.{name}: {validation_message(exc, limit=1)}") from None
        problem = source.check_shape()
        if problem:
            raise ValueError(f"each.{name}: {problem}")
        sources[name] = source
    return sources


def _expand_one(path: Path, case: dict[str, Any]) -> list[dict[str, Any]]:
    """The cases one template generates. Raises ValueError saying what is wrong."""
    sources = _sources_of(case.get("each"))
    total = 1
    for source in sources.values():
        total *= max(source.size(), 1)
    if total > MAX_GENERATED:
        raise ValueError(f"the template would generate {total:,} cases; at most {MAX_GENERATED:,}")
    columns = {name: _values_of(path, source) for name, source in sources.items()}
    body = {k: v for k, v in case.items() if k != "each"}
    generated = []
    for combination in itertools.product(*columns.values()):
        names = {name: str(value) for name, value in zip(columns, combination, strict=True)}
        filled = _fill({k: v for k, v in body.items() if k != "id"}, names)
        filled["id"] = _generated_id(str(body.get("id", "")), names)
        generated.append(filled)
    if len(generated) > MAX_GENERATED:  # a CSV column longer than its size guessed
        raise ValueError(
            f"the template generates {len(generated):,} cases; at most {MAX_GENERATED:,}"
        )
    return generated


def _expand_templates(
    path: Path, raw: dict[str, Any], id_lines: list[tuple[str, int]]
) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """``raw`` with every template case replaced by the cases it generates; each generated id
    points at its template's line."""
    cases = raw.get("cases")
    if not isinstance(cases, list) or not any(isinstance(c, dict) and "each" in c for c in cases):
        return raw, id_lines
    line_of = dict(reversed(id_lines))
    expanded: list[Any] = []
    lines = list(id_lines)
    for case in cases:
        if not (isinstance(case, dict) and "each" in case):
            expanded.append(case)
            continue
        template_id = str(case.get("id", f"#{cases.index(case) + 1}"))
        try:
            generated = _expand_one(path, case)
        except ValueError as exc:
            raise CaseError(
                str(exc), path=path, line=line_of.get(template_id), case_id=template_id
            ) from None
        expanded.extend(generated)
        lines.extend((g["id"], line_of.get(template_id, 0)) for g in generated)
    return {**raw, "cases": expanded}, lines
