#!/usr/bin/env bash
# Build litewitness and witnessctl (filippo.io/torchwood v0.6.1, Go module proxy) and run the
# interop tests against glasskey's log, client and witness on loopback. Used by CI; extra
# arguments go to pytest. Needs go, ssh-agent, ssh-add and ssh-keygen (openssh-client).
#
# Build output stays outside the repository:
#   ${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}/go/{bin,path,cache,mod}
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$repo"

if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
    export PATH="/usr/local/go/bin:$PATH"
fi

python="${PYTHON:-}"
if [ -z "$python" ]; then
    if [ -x "$repo/.venv/bin/python" ]; then python="$repo/.venv/bin/python"; else python=python3; fi
fi

if command -v go >/dev/null 2>&1; then
    if ! command -v ssh-agent >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -q openssh-client >/dev/null || true
    fi
    start=$(date +%s)
    "$python" -c "from interop.litewitness import harness; print(harness.build())"
    echo "litewitness ready after $(( $(date +%s) - start ))s"
else
    echo "go not found: the litewitness interop tests will be skipped" >&2
fi

exec "$python" -m pytest interop/litewitness -ra -p no:cacheprovider -n 0 "$@"
