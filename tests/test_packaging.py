"""Packaging: the wheel holds only the plugin, its extras are declared, and a core install
works without them (an optional module missing is one line naming the extra to install)."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest
from conftest import synthetic_report
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from pytest_dualread.extras import EXTRAS, MissingExtra, available, require

ROOT = Path(__file__).resolve().parent.parent

# What each extra installs (distribution names), and the core: the list, on purpose
# written out again here rather than read from pyproject.toml.
WANTED_EXTRAS = {
    "visual": {"playwright", "pytest-playwright", "pillow", "numpy", "uvicorn", "pyspng"},
    "metrics": {"prometheus-client"},
    "pixelmatch": {"pixelmatch"},
    "bench": {"pybind11-pixelmatch"},
    "example": {"fastapi", "uvicorn"},
    "dev": {"mypy", "ruff", "pytest-xdist", "hypothesis", "jsonschema", "hatchling"},
}
WANTED_CORE = {
    "pytest", "httpx", "pydantic", "pydantic-settings", "deepdiff", "syrupy", "tomli",
    "tomlkit", "jinja2",
}  # fmt: skip
OPTIONAL_MODULES = sorted({m for extra in EXTRAS.values() for m in extra.modules})


def message(feature: str, extra: str, module: str) -> str:
    return (
        f"pytest-dualread: {feature} needs the '{extra}' extra: "
        f"pip install 'pytest-dualread[{extra}]' (missing module: {module})"
    )


# --------------------------------------------------------------------------- the wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel pip builds from this checkout (with the dev extra's hatchling when it is
    installed; otherwise pip fetches the build backend into an isolated environment)."""
    out = tmp_path_factory.mktemp("wheel")
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-build-isolation"]
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
         *isolation, "-w", str(out), str(ROOT)],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (built,) = out.glob("pytest_dualread-*.whl")
    return built


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = (n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return Parser().parsestr(zf.read(name).decode("utf-8"))


def requirements_by_extra(meta: Message) -> dict[str, list[Requirement]]:
    """Requires-Dist grouped by the extra that adds it ("" for the core)."""
    extras = meta.get_all("Provides-Extra") or []
    grouped: dict[str, list[Requirement]] = {"": [], **{e: [] for e in extras}}
    for line in meta.get_all("Requires-Dist") or []:
        req = Requirement(line)
        owners = [e for e in extras if req.marker is not None and req.marker.evaluate({"extra": e})]
        if req.marker is None or "extra" not in str(req.marker):
            owners = [""]
        assert len(owners) == 1, f"{line}: belongs to {owners}"
        grouped[owners[0]].append(req)
    return grouped


def test_the_wheel_installs_only_the_plugin(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert tops == {"pytest_dualread", wheel.name.split("-py3")[0] + ".dist-info"}
    assert not [n for n in names if "examples" in n or "__pycache__" in n]
    assert "pytest_dualread/py.typed" in names
    assert "pytest_dualread/templates/report.html.j2" in names
    assert "pytest_dualread/extras.py" in names


def test_the_wheel_declares_the_extras(wheel: Path) -> None:
    grouped = requirements_by_extra(wheel_metadata(wheel))
    names = {extra: {canonicalize_name(r.name) for r in reqs} for extra, reqs in grouped.items()}
    assert names.pop("") == WANTED_CORE
    assert names == WANTED_EXTRAS
    for reqs in grouped.values():
        for req in reqs:
            ops = {spec.operator for spec in req.specifier}
            assert ops == {">=", "<"}, f"{req}: a range with both ends, as the others"
    (tomli,) = (r for r in grouped[""] if r.name == "tomli")
    assert str(tomli.marker) == 'python_version < "3.11"'


def test_the_module_map_matches_the_declared_extras(wheel: Path) -> None:
    # The installed distributions (this environment has every extra) say which modules they
    # provide; extras.EXTRAS must not name a module its extra does not install.
    declared = requirements_by_extra(wheel_metadata(wheel))
    providers = importlib.metadata.packages_distributions()
    for extra, spec in EXTRAS.items():
        dists = {canonicalize_name(r.name) for r in declared[extra]}
        for module in spec.modules:
            from_dists = {canonicalize_name(d) for d in providers.get(module, [])}
            assert from_dists & dists, f"{extra}: nothing in {sorted(dists)} provides {module}"


# --------------------------------------------------------------------------- missing extras


@pytest.mark.parametrize(
    ("extra", "module", "feature"),
    [
        ("visual", "numpy", "a visual check"),
        ("visual", "uvicorn", "a visual check"),
        ("metrics", "prometheus_client", "the metrics file (--dual-read-metrics)"),
        ("pixelmatch", "pixelmatch", 'engine = "pixelmatch-py"'),
    ],
)
def test_require_names_the_extra_in_one_line(
    monkeypatch: pytest.MonkeyPatch, extra: str, module: str, feature: str
) -> None:
    require(extra)  # all there in this environment
    assert available(extra)
    monkeypatch.setitem(sys.modules, module, None)  # what an absent module looks like
    with pytest.raises(MissingExtra) as caught:
        require(extra)
    assert str(caught.value) == message(feature, extra, module)
    assert (caught.value.extra, caught.value.module) == (extra, module)
    assert not available(extra)
    assert not available(extra, module)


def test_require_checks_only_the_modules_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "playwright", None)
    require("visual", "numpy", "PIL")
    with pytest.raises(MissingExtra, match=r"^pytest-dualread: a page check needs the 'visual'"):
        require("visual", "numpy", "playwright", feature="a page check")


def test_require_rejects_an_unknown_extra_or_a_foreign_module() -> None:
    with pytest.raises(ValueError, match="unknown extra 'viusal'; known: metrics, pixelmatch"):
        require("viusal")
    with pytest.raises(ValueError, match="the 'metrics' extra does not provide numpy"):
        require("metrics", "numpy")


def test_the_image_diff_module_needs_the_visual_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)
    monkeypatch.delitem(sys.modules, "pytest_dualread.imagediff", raising=False)
    with pytest.raises(MissingExtra) as caught:
        importlib.import_module("pytest_dualread.imagediff")
    feature = "the pixel diff engine (pytest_dualread.imagediff)"
    assert str(caught.value) == message(feature, "visual", "numpy")


def test_the_pixelmatch_engine_needs_its_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import numpy as np

    from pytest_dualread.imagediff import compare

    image = np.zeros((2, 2, 4), dtype=np.uint8)
    assert compare(image, image, engine="pixelmatch-py").mismatch_pixels == 0
    monkeypatch.setitem(sys.modules, "pixelmatch", None)
    with pytest.raises(MissingExtra) as caught:
        compare(image, image, engine="pixelmatch-py")
    feature = 'the image-diff engine "pixelmatch-py"'
    assert str(caught.value) == message(feature, "pixelmatch", "pixelmatch")
    assert compare(image, image).mismatch_pixels == 0  # the default engine does not need it


def test_metrics_need_their_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pytest_dualread.metrics import write_metrics

    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    target = tmp_path / "run.prom"
    with pytest.raises(MissingExtra) as caught:
        write_metrics(synthetic_report([]), target, env_name="ci")
    feature = "the metrics file (--dual-read-metrics)"
    assert str(caught.value) == message(feature, "metrics", "prometheus_client")
    assert not target.exists()


def test_importing_extras_imports_no_optional_module() -> None:
    probe = (
        "import sys, pytest_dualread.extras as e; "
        "print(sorted(m for s in e.EXTRAS.values() for m in s.modules if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    assert done.stdout.strip() == "[]"


# --------------------------------------------------------------------------- a core install


def test_a_core_install_runs_without_any_extra(wheel: Path, tmp_path: Path) -> None:
    """The wheel without extras, in a fresh environment (no system site-packages): the gate
    and the plugin work, optional modules are absent, and needing one says which extra."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    # this environment's pip installs into the new one: no second pip to bootstrap there
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-compile",
         "--disable-pip-version-check", "-q", str(wheel)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        return subprocess.run(
            [str(a) for a in args], capture_output=True, text=True, cwd=tmp_path, env=env,
            check=False, timeout=120,
        )  # fmt: skip

    gate = run(venv / "bin" / "dualread", "--help")
    assert gate.returncode == 0, gate.stderr
    assert "usage: dualread" in gate.stdout
    find = f"import importlib.util as u; print([m for m in {OPTIONAL_MODULES} if u.find_spec(m)])"
    absent = run(python, "-c", find)
    assert absent.stdout.strip() == "[]", absent.stderr
    plugin = run(python, "-c", "import pytest_dualread.plugin, pytest_dualread.metrics")
    assert plugin.returncode == 0, plugin.stderr
    helped = run(python, "-m", "pytest", "--help")  # loads the plugin through its entry point
    assert helped.returncode == 0, helped.stderr
    assert "--dual-read" in helped.stdout
    pixels = run(python, "-c", "import pytest_dualread.imagediff")
    assert pixels.returncode == 1
    last = pixels.stderr.strip().splitlines()[-1]
    feature = "the pixel diff engine (pytest_dualread.imagediff)"
    assert last == "pytest_dualread.extras.MissingExtra: " + message(feature, "visual", "numpy")
