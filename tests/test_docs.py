"""The documentation stays complete: every flag and key in configuration.md, schema doc current."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from pytest_dualread.config import DualReadSettings

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")


def setting_keys(model: type[BaseModel], prefix: str = "tool.dualread") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(f"{prefix}.{name}")
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(setting_keys(annotation, f"{prefix}.{name}"))
    return keys


@pytest.mark.parametrize("key", sorted(setting_keys(DualReadSettings)))
def test_every_setting_is_documented(key: str) -> None:
    section, name = key.rsplit(".", 1)
    if key.count(".") == 2 and f"[{key}]" in CONFIG_DOC:
        return  # a section with a heading of its own
    assert f"`{name}`" in CONFIG_DOC or f"{{ {name}" in CONFIG_DOC or f", {name} }}" in CONFIG_DOC
    if key.count(".") == 3 and section != "tool.dualread.visual.viewport":
        assert f"[{section}]" in CONFIG_DOC, f"no heading for [{section}]"


def test_every_flag_is_documented() -> None:
    source = (ROOT / "pytest_dualread" / "flags.py").read_text(encoding="utf-8")
    flags = set(re.findall(r'"(--dual-read[a-z-]*)"', source))
    assert flags
    for flag in sorted(flags):
        assert f"`{flag}" in CONFIG_DOC, flag


def test_report_schema_doc_is_current() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_report_schema_doc.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
