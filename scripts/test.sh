#!/usr/bin/env bash
# The project's full check, as CI runs it:
#
#   1. install the Debian packages the tests drive (only when one is missing),
#   2. create the virtualenv and install requirements.txt (only when changed),
#   3. lint: ruff format --check, ruff check, makemigrations --check,
#   4. the whole pytest suite on SQLite,
#   5. the whole pytest suite again on a throwaway PostgreSQL cluster.
#
#     scripts/test.sh [all|lint|sqlite|postgres]
#
# "all" (the default) runs every step. The others run only the setup steps that
# they need, then the named part. PYTEST_ARGS adds arguments to each pytest run,
# for example PYTEST_ARGS="-k demo_users -x".
set -euo pipefail
cd "$(dirname "$0")/.."

MODE=${1:-all}
started=$SECONDS
VENV=${VENV:-.venv}
BIN="$VENV/bin"

case "$MODE" in
    all | lint | sqlite | postgres) ;;
    *)
        echo "usage: $0 [all|lint|sqlite|postgres]; got '$MODE'." >&2
        exit 2
        ;;
esac

# Where the browser and alerting tests find the real programs.
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
export ALERTMANAGER_PATH=${ALERTMANAGER_PATH:-/usr/bin/prometheus-alertmanager}
export AMTOOL_PATH=${AMTOOL_PATH:-/usr/bin/amtool}

step() {
    echo
    echo "==> [$((SECONDS - started)) s] $*"
}

run_pytest() {
    # Run pytest, prefixed by the given command (such as the PostgreSQL wrapper).
    # Exit status 5 means pytest collected no test: a suite that silently lost
    # its tests must not pass.
    local label=$1 status=0
    shift
    # PYTEST_ARGS is split on spaces on purpose, so it can carry several options.
    # shellcheck disable=SC2086
    "$@" "$BIN/pytest" ${PYTEST_ARGS:-} || status=$?
    if [ "$status" -eq 5 ]; then
        echo "test: pytest ran no test on $label; that counts as a failure." >&2
        return 1
    fi
    if [ "$status" -ne 0 ]; then
        echo "test: pytest failed on $label (exit status $status)." >&2
    fi
    return "$status"
}

lint() {
    step "ruff format --check"
    "$BIN/ruff" format --check .
    step "ruff check"
    "$BIN/ruff" check .
    step "makemigrations --check"
    env -u DATABASE_URL "$BIN/python" manage.py makemigrations --check --dry-run
}

test_sqlite() {
    step "pytest on SQLite"
    run_pytest SQLite env -u DATABASE_URL
}

test_postgres() {
    step "pytest on PostgreSQL"
    run_pytest PostgreSQL scripts/with-postgres.sh
}

if [ "$MODE" != lint ]; then
    step "system packages"
    scripts/system-packages.sh
fi
step "virtualenv"
scripts/venv.sh

case "$MODE" in
    all)
        lint
        test_sqlite
        test_postgres
        ;;
    lint) lint ;;
    sqlite) test_sqlite ;;
    postgres) test_postgres ;;
esac

step "test $MODE: passed"
