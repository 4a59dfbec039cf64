#!/usr/bin/env bash
# Build SeaweedFS's `weed` (the S3-compatible server the object-storage tests run against)
# into ~/.cache/glasskey-interop/go/bin/weed, outside the clone. Cached: a second run returns
# at once; a cold build only with GLASSKEY_BUILD_SEAWEEDFS=1. Never fails the CI run: without
# weed the S3 tests use moto's S3 server, or skip saying why.
#
# `go install module@version` refuses this module (its go.mod has replace directives), so
# the module is downloaded through the Go module proxy and built as the main module.
set -uo pipefail
WEED_VERSION="v0.0.0-20261109003541-7506e5f91cd6"
CACHE="${GLASSKEY_INTEROP_CACHE:-$HOME/.cache/glasskey-interop}"
export GOPATH="$CACHE/go" GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/cache"
BIN="$CACHE/go/bin/weed"
STAMP="$CACHE/go/bin/.weed-$WEED_VERSION"

if [ -x "$BIN" ] && [ -f "$STAMP" ]; then
    echo "== SeaweedFS weed $WEED_VERSION cached: $BIN"
    exit 0
fi
if [ "${GLASSKEY_BUILD_SEAWEEDFS:-0}" != "1" ]; then
    # A cold build took 89 min on a busy 2-core machine: more than a CI run may take. The S3
    # tests then run against moto's S3 server (a dev dependency) and say so.
    echo "== SeaweedFS not cached: the S3 tests use moto's server (GLASSKEY_BUILD_SEAWEEDFS=1 builds weed)"
    exit 0
fi
GO="$(command -v go || true)"
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
if [ -z "$GO" ]; then
    echo "!! Go is not installed: the S3 (SeaweedFS) tests will skip"
    exit 0
fi
mkdir -p "$CACHE/go/bin"
start=$(date +%s)
echo "== building SeaweedFS weed $WEED_VERSION (cold: tens of minutes on 2 busy cores)"
if dir="$("$GO" mod download -json "github.com/seaweedfs/seaweedfs@$WEED_VERSION" \
        | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')" && [ -n "$dir" ] \
    && (cd "$dir/weed" && nice -n 10 "$GO" build -o "$BIN.tmp" .) \
    && mv "$BIN.tmp" "$BIN"; then
    touch "$STAMP"
    echo "== SeaweedFS weed built in $(( $(date +%s) - start ))s: $BIN"
else
    rm -f "$BIN.tmp"
    echo "!! building SeaweedFS failed after $(( $(date +%s) - start ))s: the S3 tests will skip"
fi
exit 0
