#!/usr/bin/env bash
# Installs what building Weir needs beyond Rust, when it is missing (Debian/Ubuntu,
# apt-get; through sudo when not root):
#   - libclang, which the rocksdb crate's bindings generator loads at build time
#     (Debian package libclang-dev);
#   - a C++ compiler for RocksDB's sources (g++);
#   - zlib's headers (zlib1g-dev) and make, for the Kafka connector's bundled
#     librdkafka (built by its own configure + make).
#
#   scripts/build-deps.sh                        install what the build needs
#   scripts/build-deps.sh --with-test-services   also the servers and tools the test
#                                                suite starts or compares against:
#                                                DuckDB (scripts/duckdb.sh) and the
#                                                S3-compatible s3s-fs (scripts/s3-server.sh)
#   scripts/build-deps.sh --check [--with-test-services]
#                                                install nothing: list what is missing
#                                                and exit 1 when anything is
#
# Every check looks for the exact file that is used, never for something that merely
# looks like it (a fresh Debian ships libclang-cpp.so.14, which is not libclang).
# WEIR_DEPS_ROOT=DIR (default /) makes the checks look under DIR instead of the real
# root, so that the detection itself can be tested against a scratch tree
# (scripts/test-build-deps.sh, run by .ci/run).
set -euo pipefail

ROOT="${WEIR_DEPS_ROOT:-/}"
ROOT="${ROOT%/}"
SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
TOOLS="${WEIR_TOOLS_DIR:-$HOME/.cache/weir-tools}"

check_only=false
test_services=false
for arg in "$@"; do
    case "$arg" in
        --check) check_only=true ;;
        --with-test-services) test_services=true ;;
        *)
            echo "usage: $0 [--check] [--with-test-services]" >&2
            exit 2
            ;;
    esac
done

# The shared library clang-sys (bindgen) loads: libclang.so, libclang.so.N,
# libclang-N.so or libclang-N.so.M, in the directories it searches. Not
# libclang-cpp*.so* (the C++ interface, which a fresh Debian ships) nor static
# archives.
libclang_file() {
    local dirs=()
    if [ -n "${LIBCLANG_PATH:-}" ]; then
        dirs+=("$ROOT$LIBCLANG_PATH")
    fi
    local d
    for d in "$ROOT"/usr/lib/llvm-*/lib "$ROOT"/usr/lib/*-linux-gnu "$ROOT"/usr/lib \
        "$ROOT"/usr/lib64 "$ROOT"/usr/local/lib "$ROOT"/usr/local/llvm*/lib; do
        [ -d "$d" ] && dirs+=("$d")
    done
    local f name
    for d in "${dirs[@]}"; do
        for f in "$d"/libclang*.so*; do
            [ -e "$f" ] || continue
            name="$(basename "$f")"
            if [[ "$name" =~ ^libclang(-[0-9][0-9.]*)?\.so(\.[0-9.]+)?$ ]]; then
                echo "$f"
                return 0
            fi
        done
    done
    return 1
}

# An executable named $1 in one of PATH's directories, under ROOT.
command_file() {
    local dir
    local IFS=:
    for dir in $PATH; do
        [ -n "$dir" ] || continue
        if [ -f "$ROOT$dir/$1" ] && [ -x "$ROOT$dir/$1" ]; then
            echo "$ROOT$dir/$1"
            return 0
        fi
    done
    return 1
}

have_cxx() {
    command_file c++ >/dev/null || command_file g++ >/dev/null
}

have_zlib_headers() {
    [ -f "$ROOT/usr/include/zlib.h" ]
}

have_make() {
    command_file make >/dev/null
}

# The checks: "name|Debian package or installer|test function".
checks=(
    "libclang (loaded by the rocksdb bindings generator)|apt:libclang-dev|libclang_file"
    "C++ compiler (builds RocksDB)|apt:g++|have_cxx"
    "zlib headers (librdkafka of the Kafka connector links zlib)|apt:zlib1g-dev|have_zlib_headers"
    "make (builds the bundled librdkafka)|apt:make|have_make"
)
if $test_services; then
    checks+=(
        "DuckDB for the Nexmark oracle tests|script:duckdb.sh|have_duckdb"
        "s3s-fs, the S3 server of the storage tests|script:s3-server.sh|have_s3s"
    )
fi
have_duckdb() { WEIR_DEPS_ROOT="$ROOT" "$SCRIPTS/duckdb.sh" check; }
have_s3s() { WEIR_DEPS_ROOT="$ROOT" "$SCRIPTS/s3-server.sh" check; }

missing=()
for entry in "${checks[@]}"; do
    IFS='|' read -r name how test <<<"$entry"
    if found="$($test 2>/dev/null)"; then
        if $check_only; then
            echo "build-deps: found ${name}${found:+: $found}"
        fi
    else
        missing+=("$entry")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if $check_only; then
    for entry in "${missing[@]}"; do
        IFS='|' read -r name how _ <<<"$entry"
        echo "build-deps: missing ${name} (installed by ${how#*:})"
    done
    exit 1
fi

if [ "$ROOT" != "" ]; then
    echo "build-deps: WEIR_DEPS_ROOT=$ROOT is only for --check; refusing to install" >&2
    exit 2
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
apt_install() {
    if ! command -v apt-get >/dev/null; then
        echo "build-deps: $* missing and this is not a Debian-like system; install it" \
            "(for libclang: clang's shared library, or set LIBCLANG_PATH) and retry." >&2
        exit 1
    fi
    echo "build-deps: installing $* (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    if ! $SUDO apt-get install -y -q "$@" >/dev/null; then
        $SUDO apt-get update -q >/dev/null
        $SUDO apt-get install -y -q "$@" >/dev/null
    fi
}

packages=()
for entry in "${missing[@]}"; do
    IFS='|' read -r _ how _ <<<"$entry"
    case "$how" in
        apt:*) packages+=("${how#apt:}") ;;
    esac
done
if [ ${#packages[@]} -gt 0 ]; then
    apt_install "${packages[@]}"
fi
for entry in "${missing[@]}"; do
    IFS='|' read -r _ how _ <<<"$entry"
    case "$how" in
        script:*) "$SCRIPTS/${how#script:}" install ;;
    esac
done

# Everything must now be found, by the same checks.
failed=false
for entry in "${missing[@]}"; do
    IFS='|' read -r name how test <<<"$entry"
    if ! $test >/dev/null 2>&1; then
        echo "build-deps: ${name} still missing after installing ${how#*:}" >&2
        failed=true
    fi
done
if $failed; then
    exit 1
fi
