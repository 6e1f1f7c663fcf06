#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL cluster.
#
#     scripts/with-postgres.sh .venv/bin/pytest -q
#
# The cluster lives in a fresh temporary folder, listens on 127.0.0.1 only, on a
# port that was free when the script looked, and trusts local connections. The
# command gets DATABASE_URL pointing at it. The cluster is stopped and its folder
# removed when the command ends, also when it fails or is interrupted. The
# script exits with the command's exit status.
#
# Environment: PG_BIN overrides the folder of initdb and pg_ctl.
set -euo pipefail

if [ $# -eq 0 ]; then
    echo "usage: $0 COMMAND [ARGUMENT...]" >&2
    exit 2
fi

find_pg_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        echo "$PG_BIN"
    elif [ -x /usr/lib/postgresql/15/bin/initdb ]; then
        echo /usr/lib/postgresql/15/bin
    else
        # Another Debian release: take the newest server installed.
        local newest
        newest=$(compgen -G "/usr/lib/postgresql/*/bin/initdb" | sort -V | tail -n 1)
        if [ -z "$newest" ]; then
            echo "with-postgres: no PostgreSQL server found; install the postgresql package." >&2
            return 1
        fi
        dirname "$newest"
    fi
}

PG_BIN=$(find_pg_bin)

# PostgreSQL refuses to run as root. Root therefore runs its tools as the
# postgres user that the Debian package creates, and anyone else as themselves.
if [ "$(id -u)" -eq 0 ]; then
    if ! id postgres >/dev/null 2>&1; then
        echo "with-postgres: running as root but the postgres user does not exist." >&2
        exit 1
    fi
    as_pg=(runuser -u postgres --)
else
    as_pg=()
fi

pg() {
    # Run from the cluster folder: the postgres user may not be able to enter the
    # caller's working directory.
    (cd "$PG_TMP" && "${as_pg[@]}" "$PG_BIN/$1" "${@:2}")
}

free_port() {
    # Port 0 asks the kernel for an unused port. It is released again before the
    # server binds it, so start_cluster retries if another process took it.
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

PG_TMP=""
PG_DATA=""

# shellcheck disable=SC2317 # called by the trap, which shellcheck cannot follow
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$PG_DATA" ] && [ -f "$PG_DATA/postmaster.pid" ]; then
        echo "with-postgres: stopping the cluster"
        pg pg_ctl -D "$PG_DATA" -m fast -w -t 30 stop >/dev/null ||
            pg pg_ctl -D "$PG_DATA" -m immediate stop >/dev/null ||
            echo "with-postgres: could not stop the cluster in $PG_DATA" >&2
    fi
    if [ -n "$PG_TMP" ]; then
        rm -rf "$PG_TMP"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PG_TMP=$(mktemp -d /tmp/ims-pg.XXXXXX)
PG_DATA="$PG_TMP/data"
if [ "$(id -u)" -eq 0 ]; then
    chown postgres: "$PG_TMP"
fi

echo "with-postgres: creating a cluster in $PG_DATA with $PG_BIN/initdb"
pg initdb -D "$PG_DATA" -A trust -U postgres -E UTF8 --no-sync >"$PG_TMP/initdb.log" 2>&1 || {
    cat "$PG_TMP/initdb.log" >&2
    echo "with-postgres: initdb failed." >&2
    exit 1
}

# Durability settings are off: the cluster is deleted after the run, and the
# test suite creates and drops its database, which is slow with fsync on.
start_cluster() {
    local port=$1
    pg pg_ctl -D "$PG_DATA" -l "$PG_TMP/server.log" -w -t 60 start -o \
        "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off" >/dev/null
}

port=""
for attempt in 1 2 3; do
    candidate=$(free_port)
    if start_cluster "$candidate"; then
        port=$candidate
        break
    fi
    echo "with-postgres: the server did not start on port $candidate (attempt $attempt of 3)" >&2
done
if [ -z "$port" ]; then
    tail -n 20 "$PG_TMP/server.log" >&2 || true
    echo "with-postgres: PostgreSQL did not start; its log is above." >&2
    exit 1
fi

export DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
echo "with-postgres: $("$PG_BIN/postgres" --version) on 127.0.0.1:$port"

# The command runs in the background so that a TERM or INT sent to this script
# alone interrupts `wait` at once, instead of waiting for the command to finish.
# The trap passes the signal on, waits for the command, and then the EXIT trap
# removes the cluster. Standard input is passed on explicitly, because a
# background command would otherwise read from /dev/null.
"$@" <&0 &
child=$!
# shellcheck disable=SC2317 # called by the traps below
stop_child() {
    kill -"$1" "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
    exit "$2"
}
trap 'stop_child INT 130' INT
trap 'stop_child TERM 143' TERM

status=0
wait "$child" || status=$?
exit "$status"
