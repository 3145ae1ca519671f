#!/usr/bin/env bash
# The Debian packages the tests need, installed when missing (what `make test` runs first):
# the report's browser tests drive Debian's chromium (never a downloaded browser) and check that
# a Chinese report is drawn with a font that covers CJK (fonts-noto-cjk); curl is a client of
# the guard; postgresql is the server of the PostgreSQL store's tests. Without root or sudo,
# it says the one command to run and fails, so that no test is skipped for want of them.
set -euo pipefail
PACKAGES=""
if ! command -v chromium >/dev/null; then PACKAGES="$PACKAGES chromium"; fi
if ! fc-list :lang=zh family 2>/dev/null | grep -q .; then PACKAGES="$PACKAGES fonts-noto-cjk"; fi
# The guard's tests use curl as a client, as its docs do.
if ! command -v curl >/dev/null; then PACKAGES="$PACKAGES curl"; fi
# The store's contract suite runs on a throw-away PostgreSQL server too (initdb and pg_ctl;
# Debian keeps them in /usr/lib/postgresql/VERSION/bin).
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
    PACKAGES="$PACKAGES postgresql"
fi
[ -z "$PACKAGES" ] && exit 0
SUDO=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        SUDO="sudo"
    else
        echo "the tests need these Debian packages:$PACKAGES; install them with:" >&2
        echo "  sudo apt-get install -y$PACKAGES" >&2
        exit 1
    fi
fi
# shellcheck disable=SC2086  # the package list is meant to split into words
$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $PACKAGES
