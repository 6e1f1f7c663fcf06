#!/usr/bin/env bash
# Install the Debian packages that the test suite runs for real: PostgreSQL 15 for
# the second test run, Alertmanager and amtool for the alert intake tests, and
# Chromium with its driver for the browser tests. Nothing is fetched when every
# binary is already there, so a prepared machine pays only a few file checks.
set -euo pipefail

# Binary and the Debian package that ships it. The PostgreSQL path is checked
# with a wildcard because the server's version is part of its folder name.
REQUIRED=(
    "/usr/lib/postgresql/*/bin/initdb postgresql"
    "/usr/bin/prometheus-alertmanager prometheus-alertmanager"
    "/usr/bin/amtool prometheus-alertmanager"
    "/usr/bin/chromium chromium"
    "/usr/bin/chromedriver chromium-driver"
)

missing=()
for entry in "${REQUIRED[@]}"; do
    read -r pattern package <<<"$entry"
    # compgen -G expands the wildcard and fails when nothing matches.
    if ! compgen -G "$pattern" >/dev/null; then
        echo "system-packages: $pattern not found (package $package)"
        if [[ " ${missing[*]} " != *" $package "* ]]; then
            missing+=("$package")
        fi
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
else
    echo "system-packages: missing ${missing[*]}; run as root:" >&2
    echo "    apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "system-packages: installing ${missing[*]}"
# Retries ride out a dropped connection to the package archive.
"${as_root[@]}" apt-get -o Acquire::Retries=3 update
"${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o Acquire::Retries=3 install -y "${missing[@]}"
