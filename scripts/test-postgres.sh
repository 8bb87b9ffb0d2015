#!/usr/bin/env bash
# Runs a command with a private, throw-away PostgreSQL server for the PostgreSQL half of the
# tests: `scripts/test-postgres.sh make test`.
#
# 1. installs Debian's `postgresql` when no initdb/pg_ctl is found under /usr/lib/postgresql/*/bin;
# 2. creates a cluster in a new temporary directory (owned by the `postgres` user when run as
#    root: initdb refuses to run as root), with a random password;
# 3. starts it on 127.0.0.1 only, on a free port, its socket in the same directory;
# 4. creates the role and database `hoiluat` and exports
#    HOILUAT_TEST_POSTGRES_URL=postgres://hoiluat:PASSWORD@127.0.0.1:PORT/hoiluat;
# 5. runs the command, then always stops the server and deletes the directory (even on failure
#    or Ctrl-C), and exits with the command's status.
#
# The server is tuned for tests (fsync off): it holds nothing worth keeping.
set -euo pipefail

if [[ $# -eq 0 ]]; then
    echo "usage: $0 COMMAND [ARGS…]   (e.g. $0 make test)" >&2
    exit 2
fi

log() { echo "test-postgres: $*" >&2; }

find_bin() {
    # The newest installed major version.
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

BIN=$(find_bin)
if [[ -z "$BIN" || ! -x "$BIN/initdb" || ! -x "$BIN/pg_ctl" ]]; then
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null 2>&1; then
            SUDO="sudo"
        else
            log "PostgreSQL missing and not root (no sudo): install the Debian package postgresql"
            exit 1
        fi
    fi
    log "installing PostgreSQL (Debian package postgresql)…"
    export DEBIAN_FRONTEND=noninteractive
    APT=(-o DPkg::Lock::Timeout=600 -qq)
    $SUDO apt-get "${APT[@]}" update >/dev/null
    $SUDO apt-get "${APT[@]}" install -y --no-install-recommends postgresql >/dev/null
    BIN=$(find_bin)
    if [[ -z "$BIN" || ! -x "$BIN/initdb" ]]; then
        log "installation finished but no initdb under /usr/lib/postgresql/*/bin"
        exit 1
    fi
fi

# initdb and the server refuse to run as root: as root, run them as the `postgres` user (the
# Debian package creates it).
AS_OWNER=()
if [[ $(id -u) -eq 0 ]]; then
    AS_OWNER=(runuser -u postgres --)
fi

DIR=$(mktemp -d "${TMPDIR:-/tmp}/hoiluat-pg.XXXXXX")
PORT=""
cleanup() {
    local status=$?
    if [[ -n "$PORT" && -f "$DIR/data/postmaster.pid" ]]; then
        "${AS_OWNER[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$DIR"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PASSWORD=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
printf '%s\n' "$PASSWORD" >"$DIR/pwfile"
if [[ ${#AS_OWNER[@]} -gt 0 ]]; then
    chown -R postgres: "$DIR"
fi

"${AS_OWNER[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres --pwfile="$DIR/pwfile" \
    --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || {
    cat "$DIR/initdb.log" >&2
    exit 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null \
        || echo $((20000 + RANDOM % 20000))
}

# Another process may take the chosen port before the server binds it: try a few.
for _ in 1 2 3 4 5; do
    PORT=$(free_port)
    if "${AS_OWNER[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-k $DIR -h 127.0.0.1 -p $PORT -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null; then
        break
    fi
    PORT=""
done
if [[ -z "$PORT" ]]; then
    log "the server did not start:"
    cat "$DIR/server.log" >&2 || true
    exit 1
fi

export PGPASSWORD="$PASSWORD"
psql_admin() {
    "$BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"
}
psql_admin -c "CREATE ROLE hoiluat LOGIN PASSWORD '$PASSWORD'" \
    -c "CREATE DATABASE hoiluat OWNER hoiluat"
unset PGPASSWORD

export HOILUAT_TEST_POSTGRES_URL="postgres://hoiluat:$PASSWORD@127.0.0.1:$PORT/hoiluat"
log "PostgreSQL $("$BIN/pg_ctl" --version | awk '{print $3}') on 127.0.0.1:$PORT (data in $DIR)"

# Not `exec`: the trap must stop the server afterwards.
set +e
"$@"
status=$?
set -e
exit "$status"
