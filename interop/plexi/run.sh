#!/usr/bin/env bash
# Build Cloudflare's published plexi CLI (crates.io 0.1.2) and run the interop tests against a
# glasskey auditor on loopback. Used by CI; extra arguments go to pytest.
#
# Build output stays outside the repository:
#   ${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}/plexi        (installed binary)
#   ${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}/plexi-target (cargo target dir)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"

if ! command -v cargo >/dev/null 2>&1 && [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
fi

if command -v cargo >/dev/null 2>&1; then
    start=$(date +%s)
    "$python" -c "from interop.plexi import harness; print(harness.build())"
    echo "plexi ready after $(( $(date +%s) - start ))s"
else
    echo "cargo not found: the plexi interop tests will be skipped" >&2
fi

exec "$python" -m pytest interop/plexi -ra -p no:cacheprovider "$@"
