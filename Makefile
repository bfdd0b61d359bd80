# Two commands do all set-up on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
EVAL_DATA := ../shared/eval/data
EVAL_OUT := var/eval

.PHONY: run test lint eval bench messages clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/digest run --config config/digest.toml

# PostgreSQL tests run when .ci/postgres can start a local server (CI does: root, Debian).
# Four workers: the scenario tests (real processes) mostly wait on each other.
test: $(STAMP)
	DIGEST_TEST_POSTGRES_URL="$${DIGEST_TEST_POSTGRES_URL:-$$(bash .ci/postgres 2>/dev/null)}" \
		$(BIN)/python -m pytest -q -n 4

lint: $(STAMP)
	$(BIN)/ruff check digest tests benchmarks
	$(BIN)/ruff format --check digest tests benchmarks
	$(BIN)/mypy digest

eval: $(STAMP)
	@$(BIN)/python benchmarks/eval.py --data $(EVAL_DATA) --out $(EVAL_OUT)

bench: $(STAMP)
	@mkdir -p benchmarks/results
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The words of the email and the pages: the template (digest/locales/digest.pot) from
# the code and templates, then each catalogue brought up to date (a new message waits
# empty for its translation; tests/test_catalogues.py names what is missing).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ -c Translators: --add-location=file \
		--sort-by-file --no-wrap --project=digest --copyright-holder=digest \
		-o digest/locales/digest.pot .
	$(BIN)/pybabel update -i digest/locales/digest.pot -d digest/locales -D digest \
		--no-wrap --ignore-obsolete

clean:
	rm -rf var outbox .pytest_cache .mypy_cache .ruff_cache benchmarks/results
