#!/usr/bin/env bash
# DuckDB for Weir's Nexmark oracle tests, from PyPI into a virtual environment
# under ${WEIR_TOOLS_DIR:-$HOME/.cache/weir-tools}/duckdb-venv.
#
#   scripts/duckdb.sh install
#       installs it when missing (python3 -m venv + pip; a few seconds)
#   scripts/duckdb.sh check
#       exits 0 when it is installed (under WEIR_DEPS_ROOT when set: the files only)
#   scripts/duckdb.sh query <events dir> <sql>
#       runs <sql> over the Nexmark CSV files person.csv, auction.csv and bid.csv
#       in <events dir> (tables person, auction, bid with Flink's column names)
#       and prints one JSON array per result row
set -euo pipefail

DUCKDB_VERSION=">=1.1"
TOOLS="${WEIR_TOOLS_DIR:-$HOME/.cache/weir-tools}"
VENV="$TOOLS/duckdb-venv"

# The exact files that are used: the venv's interpreter and the duckdb package in it;
# on the real root also that it imports.
check() {
    local root="${WEIR_DEPS_ROOT:-/}"
    root="${root%/}"
    [ -x "$root$VENV/bin/python" ] || return 1
    compgen -G "$root$VENV/lib/python3*/site-packages/duckdb/__init__.py" >/dev/null || return 1
    if [ -z "$root" ]; then
        "$VENV/bin/python" -c "import duckdb" 2>/dev/null || return 1
    fi
    echo "$root$VENV"
}

install() {
    if check >/dev/null; then
        return 0
    fi
    mkdir -p "$TOOLS"
    # Test binaries may install at the same time: one at a time.
    exec 9>"$TOOLS/duckdb-install.lock"
    flock 9
    if "$VENV/bin/python" -c "import duckdb" 2>/dev/null; then
        return 0
    fi
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        echo "duckdb: python3 -m venv failed; installing python3-venv" >&2
        SUDO=""
        [ "$(id -u)" -ne 0 ] && SUDO="sudo"
        export DEBIAN_FRONTEND=noninteractive
        $SUDO apt-get install -y -q python3-venv python3-pip >/dev/null ||
            { $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q python3-venv python3-pip >/dev/null; }
        python3 -m venv "$VENV"
    fi
    echo "duckdb: installing duckdb from PyPI into $VENV" >&2
    "$VENV/bin/pip" install -q "duckdb$DUCKDB_VERSION" >&2
    "$VENV/bin/python" -c "import duckdb" || { echo "duckdb: not importable after installing it" >&2; exit 1; }
}

case "${1:-}" in
    install) install ;;
    check) check ;;
    query)
        install
        exec "$VENV/bin/python" "$(dirname "$0")/nexmark_oracle.py" "$2" "$3"
        ;;
    *)
        echo "usage: $0 install | check | query <events dir> <sql>" >&2
        exit 2
        ;;
esac
