# callcenter: the two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: demo test test-long lint install bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The benchmarks' extra (panoramisk, the AMI ingest baseline), only for `make bench`.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

## The service with the built-in PBX simulator, on SQLite, web on http://127.0.0.1:8080
demo: $(STAMP)
	mkdir -p var
	$(BIN)/callcenter db upgrade --config config/demo.yaml
	# Prompt audio (zh, en) when espeak-ng is installed; the demo runs without it too.
	if command -v espeak-ng >/dev/null 2>&1; then $(BIN)/callcenter --config config/demo.yaml prompts build; fi
	$(BIN)/callcenter demo --config config/demo.yaml

## The whole test suite (PostgreSQL/Redis tests skip with a reason when those are absent,
## and fail instead when CALLCENTER_REQUIRE_SERVICES=1)
test: $(STAMP)
	$(BIN)/pytest -q

## The long variants (fault tests over 10,000 calls, long fuzzing runs): CI runs them too
test-long: $(STAMP)
	$(BIN)/pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check callcenter tests bench
	$(BIN)/ruff format --check callcenter tests bench
	$(BIN)/mypy

bench: $(BENCH_STAMP)
	$(BIN)/python bench/ami_ingest.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
