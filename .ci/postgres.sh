# Sourced by .ci/run: install PostgreSQL from Debian if needed, start a throwaway cluster on
# 127.0.0.1, and export GLASSKEY_TEST_POSTGRES_URL so the PostgreSQL tests run.
# Safe to source repeatedly: an already running cluster is reused.
PG_PORT="${GLASSKEY_PG_PORT:-54329}"
PG_DIR="${GLASSKEY_PG_DIR:-/tmp/glasskey-ci-pg}"

pg_bin() {
    # Never fails (this file is sourced under `set -euo pipefail`): prints the newest
    # PostgreSQL bin folder, or nothing.
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true
}

if [ -z "$(pg_bin)" ]; then
    echo "== installing PostgreSQL from Debian"
    export DEBIAN_FRONTEND=noninteractive
    (apt-get update -qq && apt-get install -y -qq postgresql >/dev/null) || echo "!! could not install PostgreSQL; its tests will skip"
fi

PG_BIN="$(pg_bin)"
if [ -n "$PG_BIN" ]; then
    if ! "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q 2>/dev/null; then
        rm -rf "$PG_DIR" && mkdir -p "$PG_DIR" && chown postgres:postgres "$PG_DIR"
        su postgres -c "$PG_BIN/initdb -D $PG_DIR/data -A trust -U postgres" >/dev/null || true
        su postgres -c "$PG_BIN/pg_ctl -D $PG_DIR/data -o '-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -c fsync=off' -l $PG_DIR/log -w start" >/dev/null || true
    fi
    if "$PG_BIN/pg_isready" -h 127.0.0.1 -p "$PG_PORT" -q; then
        su postgres -c "$PG_BIN/psql -h 127.0.0.1 -p $PG_PORT -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='glasskey_test'\"" | grep -q 1 \
            || su postgres -c "$PG_BIN/createdb -h 127.0.0.1 -p $PG_PORT -U postgres glasskey_test"
        export GLASSKEY_TEST_POSTGRES_URL="postgresql://postgres@127.0.0.1:$PG_PORT/glasskey_test"
        echo "== PostgreSQL ready: $GLASSKEY_TEST_POSTGRES_URL"
    else
        echo "!! PostgreSQL did not start (see $PG_DIR/log); its tests will skip"
    fi
fi
