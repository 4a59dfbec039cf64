#!/usr/bin/env bash
# Build the akd interop harness (a published akd from crates.io) and run the interop tests.
# Used by CI; extra arguments go to pytest (e.g. -k vector, -x).
#
# AKD_VERSION picks the akd release (default 0.12.0):
#   0.12.0  interop/akd/Cargo.toml       + Cargo.lock       -> akd-target
#   0.13.0  interop/akd/v0_13/Cargo.toml + v0_13/Cargo.lock -> akd-0.13-target
# Both build the same interop/akd/src/main.rs. The cargo target directories live outside the
# repository, under ${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"

case "${AKD_VERSION:-${GLASSKEY_AKD_VERSION:-0.12.0}}" in
    0.12 | 0.12.0) version=0.12.0 manifest=interop/akd/Cargo.toml target=akd-target ;;
    0.13 | 0.13.0) version=0.13.0 manifest=interop/akd/v0_13/Cargo.toml target=akd-0.13-target ;;
    *)
        echo "AKD_VERSION=${AKD_VERSION:-$GLASSKEY_AKD_VERSION}: expected 0.12.0 or 0.13.0" >&2
        exit 2
        ;;
esac
# harness.py picks the same manifest, target directory and binary from this.
export GLASSKEY_AKD_VERSION="$version"

export GLASSKEY_INTEROP_CACHE="${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}"
export CARGO_TARGET_DIR="$GLASSKEY_INTEROP_CACHE/$target"

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

if command -v cargo >/dev/null 2>&1; then
    start=$(date +%s)
    cargo build --release --locked --manifest-path "$manifest"
    echo "akd-interop (akd $version) built in $(( $(date +%s) - start ))s:" \
        "$CARGO_TARGET_DIR/release/akd-interop"
else
    echo "cargo not found: the akd interop tests will be skipped" >&2
fi

python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
fi
exec "$python" -m pytest interop/akd -ra "$@"
