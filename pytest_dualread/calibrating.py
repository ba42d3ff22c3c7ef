"""The pytest side of ``--dual-read-calibrate=N`` (the rules are :mod:`pytest_dualread.calibrate`).

In a calibration run every collected case fetches its legacy side N times and compares it with
itself, and every page declared in ``[tool.dualread.visual] pages`` is rendered N times; no check
is judged (every dual-read item is skipped, saying so) and the report says it
was a calibration (``run.calibration``), which no gate judges. What each case observed travels
to the controller in the test report's ``user_properties`` (so pytest-xdist carries it), where
the proposal is written to ``<output>/calibration.toml``, shown in the terminal summary and,
with ``--dual-read-calibrate-apply``, merged into pyproject.toml.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_dualread.calibrate import FieldNoise, Proposal, merge_noise, observe
from pytest_dualread.session import settings_key

__all__ = ["SKIP_REASON", "Calibration", "register"]

SKIP_REASON = "calibration run (--dual-read-calibrate): nothing is judged"
_PROPERTY = "dualread_calibration"
_MASKS = "dualread_calibration_masks"
# The smallest element holding a changed region (page coordinates), as a selector that matches
# it alone: its id, its classes, or its path from <body>.
_SELECTORS_JS = """(boxes) => boxes.map(([x, y, w, h]) => {
  let best = null, area = Infinity;
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect(), left = r.left + scrollX, top = r.top + scrollY;
    if (r.width > 0 && left <= x && top <= y && left + r.width >= x + w
        && top + r.height >= y + h && r.width * r.height < area) {
      area = r.width * r.height; best = el;
    }
  }
  if (!best) return null;
  const unique = (s) => document.querySelectorAll(s).length === 1;
  if (best.id && unique('#' + CSS.escape(best.id))) return '#' + CSS.escape(best.id);
  const classes = [...best.classList].map((c) => '.' + CSS.escape(c)).join('');
  if (classes && unique(classes)) return classes;
  const path = [];
  for (let el = best; el && el !== document.body; el = el.parentElement) {
    const same = [...el.parentElement.children].filter((c) => c.tagName === el.tagName);
    const nth = same.length > 1 ? `:nth-of-type(${same.indexOf(el) + 1})` : '';
    path.unshift(el.tagName.toLowerCase() + nth);
  }
  return ['body', ...path].join(' > ');
})"""


def register(config: pytest.Config, writer: Any) -> None:
    """Register the calibration of this session when ``--dual-read-calibrate`` is given."""
    fetches = config.getoption("dual_read_calibrate")
    if not fetches:
        if config.getoption("dual_read_calibrate_apply"):
            raise pytest.UsageError("--dual-read-calibrate-apply needs --dual-read-calibrate=N")
        return
    if writer is not None:
        writer.calibration = fetches
    config.pluginmanager.register(Calibration(config, fetches), "dualread-calibration")


class Calibration:
    """Runs each case as a calibration, and gathers what the cases observed."""

    def __init__(self, config: pytest.Config, fetches: int) -> None:
        self.config = config
        self.fetches = fetches
        self.noise: dict[str, FieldNoise] = {}
        self.cases = 0
        self.masks: dict[str, str] = {}
        self.pages = 0
        self.written: Path | None = None
        self.applied: list[str] | None = None

    @pytest.hookimpl(tryfirst=True)
    def pytest_pyfunc_call(self, pyfuncitem: pytest.Function) -> object:
        from pytest_dualread.collect import CaseItem

        if pyfuncitem.get_closest_marker("dual_read") is None:
            return None  # not a dual-read test: it runs as usual
        if isinstance(pyfuncitem, CaseItem):
            found = self._observe(pyfuncitem)
            pyfuncitem.user_properties.append((_PROPERTY, json.dumps(found)))
        page = self._declared_page(pyfuncitem)
        if page is not None:
            masks = self._observe_page(pyfuncitem, page)
            pyfuncitem.user_properties.append((_MASKS, json.dumps(masks)))
        pytest.skip(SKIP_REASON)

    def _declared_page(self, item: pytest.Function) -> Any:
        """The ``[tool.dualread.visual] pages`` entry ``item`` checks, if it is one."""
        from pytest_dualread.collect import PagesCollector

        if not isinstance(item.parent, PagesCollector):
            return None
        pages = self.config.stash[settings_key].visual.pages
        return next((p for p in pages if p.name == item.originalname), None)

    def _observe_page(self, item: pytest.Function, spec: Any) -> dict[str, str]:
        """Selectors of the elements whose pixels changed between N renders of the page."""
        from pytest_dualread.calibrate import changed_boxes
        from pytest_dualread.pagecheck import capture_options, pixel_budget

        settings = self.config.stash[settings_key]
        dual_read: Any = item.funcargs["dual_read"]
        renderer = dual_read._renderer()
        options = capture_options(settings, spec.options)
        budget = pixel_budget(settings, spec.options)
        renders = [
            renderer.render(spec.path, options, budget, None).result.shots["legacy"].png
            for _ in range(self.fetches)
        ]
        boxes = changed_boxes(renders, budget.threshold)
        if not boxes:
            return {}
        scale = settings.visual.device_scale_factor
        page = renderer.test.getfixturevalue("page")  # the test's own pytest-playwright page
        page.set_viewport_size({"width": options.viewport[0], "height": options.viewport[1]})
        page.set_extra_http_headers(settings.legacy.browser_headers())
        page.goto(renderer.side_url("legacy", spec.path), wait_until="load")
        in_css = [[round(v / scale) for v in box] for box in boxes]
        found: dict[str, str] = {}
        for selector, (x, y, w, h) in zip(
            page.evaluate(_SELECTORS_JS, in_css), in_css, strict=True
        ):
            if selector and selector not in options.mask:
                found.setdefault(
                    selector,
                    f"page {spec.name}: a {w}x{h} region at ({x}, {y}) changed between "
                    f"{self.fetches} renders of the legacy side",
                )
        return found

    def _observe(self, item: Any) -> dict[str, Any]:
        """The fields of one case that moved across N fetches of its legacy side."""
        from pytest_dualread.redact import redact_json, scrubber_for

        settings = self.config.stash[settings_key]
        fetcher = item.funcargs["dual_read_fetcher"]
        request = item.http_request()
        secret = frozenset(settings.fetch.redact_fields)
        scrub = scrubber_for(settings)
        bodies = [
            scrub.value(redact_json(fetcher.fetch_one(request, "legacy").json(), secret))
            for _ in range(self.fetches)
        ]
        rules = item.case_file.ignore + item.case.ignore + settings.dto.ignore
        return {path: n.to_json() for path, n in observe(bodies, rules).items()}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties if report.when == "call" else ():
            if name == _MASKS:
                self.pages += 1
                for selector, seen in json.loads(str(value)).items():
                    self.masks.setdefault(selector, seen)
            if name != _PROPERTY:
                continue
            self.cases += 1
            for path, raw in json.loads(str(value)).items():
                found = FieldNoise(**raw)
                known = self.noise.get(path)
                self.noise[path] = found if known is None else merge_noise(known, found)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        from pytest_dualread.calibrate import apply_proposal, proposal_toml
        from pytest_dualread.files import write_atomic

        if hasattr(self.config, "workerinput"):
            return  # the controller gathers and writes
        settings = self.config.stash[settings_key]
        proposal = Proposal(
            self.fetches, self.cases, dict(self.noise), dict(self.masks), self.pages
        )
        self.written = settings.output_path(self.config.rootpath) / "calibration.toml"
        command = f"pytest --dual-read --dual-read-calibrate={self.fetches}"
        self.text = proposal_toml(proposal, command)
        write_atomic(self.written, self.text)
        pyproject = self.config.rootpath / "pyproject.toml"
        if self.config.getoption("dual_read_calibrate_apply") and pyproject.is_file():
            self.applied = apply_proposal(pyproject, proposal)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written is None:
            return
        terminalreporter.write_sep("-", "dual-read calibration")
        for line in self.text.splitlines():
            terminalreporter.write_line(line)
        terminalreporter.write_line(f"proposal: {self.written}")
        if self.applied is not None:
            what = ", ".join(self.applied) or "nothing new"
            terminalreporter.write_line(f"applied to pyproject.toml: {what}")
        elif not self.config.getoption("dual_read_calibrate_apply"):
            terminalreporter.write_line(
                "nothing applied: review it, or re-run with --dual-read-calibrate-apply",
            )
