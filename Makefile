# Entry points named in the README. Each target installs what it needs into .venv first, so
# every command works on a fresh machine with only python3 (>= 3.11) and make.
# `make serve` and `make demo` install only what glasskey needs at run time (its stamp is
# RUNTIME); every development target installs the `dev` extra too (STAMP). After either,
# `glasskey` is `.venv/bin/glasskey` (or `source .venv/bin/activate` to put it on PATH).
PYTHON  ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
RUNTIME := $(VENV)/.installed-runtime

.PHONY: install native serve demo test lint typecheck bench bench-akd interop clean web web-test

$(BIN)/pip:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME)

# The dev install includes the runtime one, so it satisfies both stamps.
$(STAMP): pyproject.toml | $(BIN)/pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP) $(RUNTIME)

# The optional native accelerator (native/: the VRF on curve25519-dalek, a PyO3 extension
# built by maturin, fetched from PyPI as pip's build backend). Built into .venv when cargo is
# found, with its cargo target directory outside the repo; without cargo glasskey runs its
# pure-Python VRF (the same bytes, about 3x slower per evaluation). GLASSKEY_NATIVE=off turns
# an installed extension off; =required makes its absence an error (CI).
NATIVE_STAMP  := $(VENV)/.installed-native
NATIVE_TARGET ?= $(HOME)/.cache/glasskey-native-target
NATIVE_SRC    := native/Cargo.toml native/Cargo.lock native/pyproject.toml $(wildcard native/src/*.rs) \
                 native/python/glasskey_native/__init__.py
$(NATIVE_STAMP): $(NATIVE_SRC) | $(BIN)/pip
	@PATH="$$PATH:$${CARGO_HOME:-$$HOME/.cargo}/bin"; \
	if command -v cargo >/dev/null 2>&1; then \
	    CARGO_TARGET_DIR=$(NATIVE_TARGET) nice -n 5 $(BIN)/pip install --quiet ./native && touch $@; \
	else echo "make native: cargo not found; glasskey uses its pure-Python VRF (install Rust for the native one)"; fi

native: $(NATIVE_STAMP)

install: $(STAMP) native

serve: $(RUNTIME)
	$(BIN)/glasskey serve

demo: $(RUNTIME)
	$(BIN)/glasskey demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench interop
	$(BIN)/ruff format --check src tests bench interop
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy src/glasskey

# The browser verifier and web UI (web/, TypeScript): `npm ci` from the pinned lockfile, then
# tsc and esbuild into the git-ignored package folder src/glasskey/server/webui/ that
# `glasskey serve` answers at / (the bundle holds third-party code: built, never committed).
# Without npm this says so and the web tests skip.
WEB_STAMP := web/node_modules/.ci-installed
$(WEB_STAMP): web/package-lock.json
	cd web && nice -n 10 npm ci --no-audit --no-fund
	touch $(WEB_STAMP)

web:
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory $(WEB_STAMP) && cd web && nice -n 10 npm run --silent build; \
	else echo "make web: npm not found, the browser verifier is not built (its tests skip)"; fi

web-test: web
	@if command -v npm >/dev/null 2>&1; then cd web && npm test; fi

# The kill -9 durability test runs on its own after the rest: it measures recovery under
# load it makes itself, and a parallel suite on the same two cores would add to it.
# So do the replication tests (their own PostgreSQL primary/standby, fail-over, scale) and
# the S3 ones (a SeaweedFS server): real processes whose timing a parallel suite would skew.
test: lint typecheck web-test native
	$(BIN)/pytest -n 2 -q -m "not durability and not replication and not s3"
	$(BIN)/pytest -n 0 -q -m durability
	$(BIN)/pytest -n 0 -q -m "replication or s3"

bench: $(STAMP) web
	$(BIN)/python bench/verify.py
	$(BIN)/python bench/web.py
	$(BIN)/python bench/directory.py --sizes 100000
	$(BIN)/python bench/http.py

# glasskey vs the published akd crate on identical work (bench/vs_akd/run.py; needs cargo).
# BENCH_AKD_ARGS="--base 100000" for the 100k table.
bench-akd: $(STAMP)
	bash bench/vs_akd/build.sh
	$(BIN)/python bench/vs_akd/run.py $(BENCH_AKD_ARGS)

# Real third-party peers built from crates.io and the Go module proxy (cargo, go; build caches
# live outside the repo).
# The akd suite runs against akd 0.12.0 and then 0.13.0 (which also compares their bytes).
interop: $(STAMP)
	bash interop/akd/run.sh
	AKD_VERSION=0.13.0 bash interop/akd/run.sh
	bash interop/plexi/run.sh
	bash interop/litewitness/run.sh

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache web/node_modules web/build src/glasskey/server/webui
