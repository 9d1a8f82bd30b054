#!/usr/bin/env bash
# Installs what building Weir needs beyond Rust, when it is missing:
# libclang, with which the rocksdb crate generates its bindings at build time.
# Debian/Ubuntu (apt-get); runs apt-get through sudo when not root.
#
# With --with-test-services it also installs the servers the test suite starts
# on loopback (today: the S3-compatible s3s-fs, see scripts/s3-server.sh) and the
# tools the tests compare against (DuckDB from PyPI, see scripts/duckdb.sh).
set -euo pipefail

if [ "${1:-}" = "--with-test-services" ]; then
    "$(dirname "$0")/build-deps.sh"
    "$(dirname "$0")/duckdb.sh" install
    exec "$(dirname "$0")/s3-server.sh" install
fi

have_libclang() {
    [ -n "${LIBCLANG_PATH:-}" ] && return 0
    compgen -G "/usr/lib/llvm-*/lib/libclang*.so*" >/dev/null && return 0
    compgen -G "/usr/lib/*/libclang-*.so*" >/dev/null && return 0
    compgen -G "/usr/lib/*/libclang.so*" >/dev/null && return 0
    return 1
}

if have_libclang; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
if ! command -v apt-get >/dev/null; then
    echo "build-deps: libclang is missing and this is not a Debian-like system;" >&2
    echo "install libclang (clang's shared library) and retry, or set LIBCLANG_PATH." >&2
    exit 1
fi
echo "build-deps: installing libclang-dev (needed to build RocksDB's Rust bindings)"
export DEBIAN_FRONTEND=noninteractive
if ! $SUDO apt-get install -y -q libclang-dev >/dev/null; then
    $SUDO apt-get update -q >/dev/null
    $SUDO apt-get install -y -q libclang-dev >/dev/null
fi
have_libclang || { echo "build-deps: libclang still not found after installing libclang-dev" >&2; exit 1; }
