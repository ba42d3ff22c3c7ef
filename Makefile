# The two commands of the README: `make demo` and `make test`. Each sets up what it needs.
.PHONY: demo test setup lint typecheck clean

PYTEST_ARGS ?=

setup:
	@scripts/bootstrap.sh

demo: setup
	@scripts/demo.sh

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck: setup
	.venv/bin/mypy

test: lint typecheck
	.venv/bin/pytest -n 2 $(PYTEST_ARGS)

clean:
	rm -rf dual-read-results .pytest_cache .mypy_cache .ruff_cache
