#!/usr/bin/env bash
# Set up everything the demo and the tests need, on a fresh Debian machine with only Python.
# Idempotent: each step checks first and says what it does. Safe to run again and again.
#   .venv with the project installed (editable, with every extra: the tests and the demo need them)
#   Debian's chromium + fonts-liberation, and prometheus for promtool (apt-get, when absent
#   and running as root)
#   pixelmatch JS (npm, for the pixel engine's reference tests and benchmarks) when npm exists
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'bootstrap: %s\n' "$*"; }
is_root() { [ "$(id -u)" = 0 ]; }
apt_ready=
apt_install() {
    if ! is_root; then
        say "missing Debian packages: $* -- run: sudo apt-get install -y $*" >&2
        exit 1
    fi
    if [ -z "$apt_ready" ]; then
        say "apt-get update"
        apt-get update -qq
        apt_ready=1
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    say "need Python >= 3.10 as '$PY' (set PYTHON=... to pick another)" >&2
    exit 1
fi

# 1. the virtual environment
if [ ! -x .venv/bin/python ]; then
    say "creating .venv"
    if ! "$PY" -m venv .venv 2>/dev/null; then
        rm -rf .venv
        apt_install python3-venv
        "$PY" -m venv .venv
    fi
fi

# 2. the project and its dependencies (again only when pyproject.toml or the extras changed)
stamp=.venv/.dualread-installed
extras=visual,metrics,pixelmatch,example,dev
# the extras are part of the stamp: installing another set must not look done already
want=$( (cat pyproject.toml; echo "$extras") | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    say "pip install -e '.[$extras]' (takes a minute the first time)"
    .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
    .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]"
    echo "$want" >"$stamp"
fi

# 3. the browser: Debian's Chromium and the fonts the baselines were made with.
#    Never `playwright install`: it downloads a browser build, which this setup does not use.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
dpkg -s fonts-liberation >/dev/null 2>&1 || missing+=(fonts-liberation)
# promtool (Debian's prometheus) validates the alert rules `dualread observability` writes.
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ ${#missing[@]} -gt 0 ]; then
    apt_install "${missing[@]}"
fi

# 4. pixelmatch JS, the reference the pixel engine is checked against (optional: needs npm)
if [ -f benchmarks/js/package.json ] && [ ! -d benchmarks/js/node_modules/pixelmatch ]; then
    if command -v npm >/dev/null 2>&1; then
        say "npm install (pixelmatch JS reference) in benchmarks/js"
        npm install --prefix benchmarks/js --no-audit --no-fund --loglevel=error >/dev/null
    else
        say "npm not found: reference tests against pixelmatch JS will be skipped"
    fi
fi
say "ready"
