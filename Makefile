# Entry points named in the README. Each target installs what it needs into .venv first, so
# every command works on a fresh machine with only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install serve demo test lint typecheck bench interop clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/glasskey serve

demo: $(STAMP)
	$(BIN)/glasskey demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench interop
	$(BIN)/ruff format --check src tests bench interop
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy src/glasskey

# The kill -9 durability test runs on its own after the rest: it measures recovery under
# load it makes itself, and a parallel suite on the same two cores would add to it.
# So do the replication tests (their own PostgreSQL primary/standby, fail-over, scale) and
# the S3 ones (a SeaweedFS server): real processes whose timing a parallel suite would skew.
test: lint typecheck
	$(BIN)/pytest -n 2 -q -m "not durability and not replication and not s3"
	$(BIN)/pytest -n 0 -q -m durability
	$(BIN)/pytest -n 0 -q -m "replication or s3"

bench: $(STAMP)
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/directory.py --sizes 100000
	$(BIN)/python bench/http.py

# Real third-party peers built from crates.io (cargo; build caches live outside the repo).
# The akd suite runs against akd 0.12.0 and then 0.13.0 (which also compares their bytes).
interop: $(STAMP)
	bash interop/akd/run.sh
	AKD_VERSION=0.13.0 bash interop/akd/run.sh
	bash interop/plexi/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
