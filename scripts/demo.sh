#!/usr/bin/env bash
# The main job: run the bundled meal-log example's dual-read suite and write its report.
#   scripts/demo.sh [extra pytest args]     e.g. MEAL_LOG_ADAPTER_BUG=kcal_rounding scripts/demo.sh
set -uo pipefail
cd "$(dirname "$0")/.."
targets=()
for path in fixtures/dual_read tests/visual pyproject.toml; do
    [ -e "$path" ] && targets+=("$path")
done
if [ ${#targets[@]} -eq 0 ]; then
    echo "demo: neither fixtures/dual_read nor tests/visual exists; nothing to run" >&2
    exit 2
fi
echo "demo: pytest --dual-read ${targets[*]} $*"
.venv/bin/pytest --dual-read "${targets[@]}" "$@"
status=$?
report=dual-read-results/report.json
if [ -f "$report" ]; then
    echo "demo: JSON report: $report"
    [ -f dual-read-results/report.html ] && echo "demo: HTML report: dual-read-results/report.html (open it in a browser)"
    .venv/bin/dualread gate "$report" || true
fi
exit $status
