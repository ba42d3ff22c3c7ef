"""Write docs/report-schema.md from the report models; run it after changing report.py.

.venv/bin/python scripts/gen_report_schema_doc.py          # rewrite the file
.venv/bin/python scripts/gen_report_schema_doc.py --check  # exit 1 when it is out of date
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from pytest_dualread.report import SCHEMA_VERSION, json_schema

TARGET = Path(__file__).resolve().parent.parent / "docs" / "report-schema.md"

INTRO = f"""# The JSON report (schema_version {SCHEMA_VERSION})

Every `pytest --dual-read` run writes `report.json` (by default in `dual-read-results/`). It is
written atomically, first at the start of the run with `run.complete: false` (so a run that dies
leaves no stale green report behind) and again at the end. A release gate reads it with
`dualread`; tools of your own can validate it against the JSON Schema printed by
`dualread schema`.

Compatibility: fields may be added within schema_version {SCHEMA_VERSION}; a change that removes
or re-types a field raises the version, and readers refuse versions newer than they know.

This page is generated from the models in `pytest_dualread/report.py` by
`scripts/gen_report_schema_doc.py`; a test keeps it current.
"""


def _type(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    if "anyOf" in spec:
        return " or ".join(_type(s) for s in spec["anyOf"])
    if "const" in spec:
        return f"`{spec['const']!r}`".replace("'", '"')
    if "enum" in spec:
        return " \\| ".join(f'`"{v}"`' for v in spec["enum"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"list of {_type(spec.get('items', {}))}"
    if kind == "object" and "additionalProperties" in spec:
        extra = spec["additionalProperties"]
        keys = spec.get("propertyNames", {})
        key_text = _type(keys) if keys else "string"
        return f"map {key_text} → {_type(extra) if isinstance(extra, dict) else 'any'}"
    if kind == "string" and spec.get("format") == "date-time":
        return "date-time string"
    return str(kind)


def _table(name: str, schema: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", ""]
    if schema.get("description"):
        lines += [" ".join(schema["description"].split()), ""]
    lines += ["| field | type | required | meaning |", "|---|---|---|---|"]
    required = set(schema.get("required", []))
    for field, spec in schema.get("properties", {}).items():
        desc = " ".join(str(spec.get("description", "")).split()).replace("|", "\\|")
        lines.append(
            f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} | {desc} |"
        )
    return [*lines, ""]


def render() -> str:
    schema = json_schema()
    parts = [INTRO, *_table("Report", schema)]
    for name, sub in sorted(schema.get("$defs", {}).items()):
        parts += _table(name, sub)
    return "\n".join(parts).rstrip() + "\n"


def main() -> int:
    text = render()
    if "--check" in sys.argv[1:]:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date: run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text, encoding="utf-8")
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
