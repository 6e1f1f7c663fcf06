#!/usr/bin/env bash
# Create the project's virtualenv when it is missing and install requirements.txt
# into it. The install is skipped while requirements.txt keeps the checksum of the
# last successful install, so repeated `make` runs stay quick.
#
# Environment: PYTHON (default python3) creates the venv, VENV (default .venv)
# names its folder.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
STAMP="$VENV/.requirements.sha256"

if ! command -v "$PYTHON" >/dev/null 2>&1; then
    echo "venv: $PYTHON not found; install Python 3.11 or set PYTHON=/path/to/python3." >&2
    exit 1
fi

if [ ! -x "$VENV/bin/python" ]; then
    if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "venv: $PYTHON is $("$PYTHON" --version 2>&1); the project needs 3.11 or newer." >&2
        exit 1
    fi
    echo "venv: creating $VENV with $("$PYTHON" --version 2>&1)"
    if ! "$PYTHON" -m venv "$VENV"; then
        rm -rf "$VENV"
        echo "venv: '$PYTHON -m venv' failed; on Debian, install python3-venv." >&2
        exit 1
    fi
fi

wanted=$(sha256sum requirements.txt | cut -d ' ' -f 1)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$wanted" ]; then
    exit 0
fi

echo "venv: installing requirements.txt into $VENV"
PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    "$VENV/bin/python" -m pip install --quiet -r requirements.txt
# Written only after pip succeeded, so a failed install is retried next time.
echo "$wanted" >"$STAMP"
