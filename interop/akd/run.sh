#!/usr/bin/env bash
# Build the akd interop harness (published akd 0.12.0 from crates.io) and run the interop
# tests. Used by CI; extra arguments go to pytest (e.g. -k vector, -x).
#
# The cargo target directory lives outside the repository:
#   ${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}/akd-target
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"

export GLASSKEY_INTEROP_CACHE="${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}"
export CARGO_TARGET_DIR="$GLASSKEY_INTEROP_CACHE/akd-target"

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

if command -v cargo >/dev/null 2>&1; then
    start=$(date +%s)
    cargo build --release --locked --manifest-path interop/akd/Cargo.toml
    echo "akd-interop built in $(( $(date +%s) - start ))s: $CARGO_TARGET_DIR/release/akd-interop"
else
    echo "cargo not found: the akd interop tests will be skipped" >&2
fi

python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
fi
exec "$python" -m pytest interop/akd -ra "$@"
