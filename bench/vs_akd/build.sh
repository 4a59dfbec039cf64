#!/usr/bin/env bash
# Build akd-bench (bench/vs_akd/src/main.rs on the published akd 0.12.0) with the cargo target
# directory outside the repository, under ${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}
# (the pattern of interop/akd/run.sh). Prints the binary's path.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export GLASSKEY_INTEROP_CACHE="${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}"
export CARGO_TARGET_DIR="$GLASSKEY_INTEROP_CACHE/akd-bench-target"
if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo not found: install Rust (rustup or apt-get install cargo) to run bench-akd" >&2
    exit 2
fi
nice -n 10 cargo build --release --locked --manifest-path "$here/Cargo.toml" >&2
echo "$CARGO_TARGET_DIR/release/akd-bench"
