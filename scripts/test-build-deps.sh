#!/usr/bin/env bash
# Tests scripts/build-deps.sh --check against scratch trees (WEIR_DEPS_ROOT): each
# check must find exactly the file that is used, and nothing that only looks like it.
# Run by .ci/run; installs nothing.
set -euo pipefail
SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
failures=0

# expect <missing|found> <what> <tree> [build-deps args...]
expect() {
    local want="$1" what="$2" tree="$3"
    shift 3
    local out
    out="$(WEIR_DEPS_ROOT="$tree" PATH=/usr/bin:/bin WEIR_TOOLS_DIR=/tools LIBCLANG_PATH= \
        "$SCRIPTS/build-deps.sh" --check "$@" 2>&1 || true)"
    if ! grep -q "^build-deps: $want $what" <<<"$out"; then
        echo "FAIL: expected '$want $what' under $tree; build-deps printed:" >&2
        sed 's/^/    /' <<<"$out" >&2
        failures=$((failures + 1))
    fi
}
tree() {
    local t="$scratch/$1"
    shift
    mkdir -p "$t"
    local f
    for f in "$@"; do
        mkdir -p "$t/$(dirname "$f")"
        : >"$t/$f"
        case "$f" in */bin/*) chmod +x "$t/$f" ;; esac
    done
    echo "$t"
}

# libclang: the C++ interface library of a fresh Debian is not libclang.
t="$(tree cpp-only usr/lib/llvm-14/lib/libclang-cpp.so.14 usr/lib/x86_64-linux-gnu/libclang-cpp.so.14)"
expect missing libclang "$t"
t="$(tree static-only usr/lib/llvm-14/lib/libclang.a usr/lib/llvm-14/lib/libclangAST.a)"
expect missing libclang "$t"
t="$(tree versioned usr/lib/llvm-14/lib/libclang-cpp.so.14 usr/lib/llvm-14/lib/libclang-14.so.1)"
expect found libclang "$t"
t="$(tree plain usr/lib/x86_64-linux-gnu/libclang.so)"
expect found libclang "$t"
t="$(tree suffixed usr/lib/x86_64-linux-gnu/libclang.so.1)"
expect found libclang "$t"
t="$(tree empty)"
expect missing libclang "$t"
out="$(WEIR_DEPS_ROOT="$t" LIBCLANG_PATH=/opt/llvm/lib "$SCRIPTS/build-deps.sh" --check 2>&1 || true)"
grep -q "^build-deps: missing libclang" <<<"$out" ||
    { echo "FAIL: LIBCLANG_PATH naming an empty directory counted as libclang" >&2; failures=$((failures + 1)); }
t="$(tree libclang-path opt/llvm/lib/libclang-17.so.17)"
out="$(WEIR_DEPS_ROOT="$t" LIBCLANG_PATH=/opt/llvm/lib "$SCRIPTS/build-deps.sh" --check 2>&1 || true)"
grep -q "^build-deps: found libclang" <<<"$out" ||
    { echo "FAIL: libclang in LIBCLANG_PATH not found" >&2; failures=$((failures + 1)); }

# C++ compiler: an executable c++ or g++ in PATH.
t="$(tree no-cxx usr/bin/gcc usr/share/doc/g++/README)"
expect missing "C++ compiler" "$t"
t="$(tree cxx usr/bin/g++)"
expect found "C++ compiler" "$t"

# Test services: DuckDB's venv needs its interpreter and the package; s3s-fs its binary.
t="$(tree venv-without-duckdb tools/duckdb-venv/bin/python)"
expect missing DuckDB "$t" --with-test-services
t="$(tree duckdb tools/duckdb-venv/bin/python tools/duckdb-venv/lib/python3.11/site-packages/duckdb/__init__.py)"
expect found DuckDB "$t" --with-test-services
t="$(tree s3s-source tools/s3s-fs/README usr/share/s3s-fs)"
expect missing s3s-fs "$t" --with-test-services
t="$(tree s3s-tools tools/bin/s3s-fs)"
expect found s3s-fs "$t" --with-test-services
t="$(tree s3s-path usr/bin/s3s-fs)"
expect found s3s-fs "$t" --with-test-services

# --check exits non-zero when something is missing, zero when nothing is.
# zlib headers and make (the Kafka connector's bundled librdkafka).
t="$(tree no-zlib usr/lib/x86_64-linux-gnu/libz.so.1 usr/share/doc/zlib1g-dev/README)"
expect missing "zlib headers" "$t"
t="$(tree zlib usr/include/zlib.h)"
expect found "zlib headers" "$t"
t="$(tree no-make usr/share/doc/make/README usr/bin/gmake-doc)"
expect missing make "$t"
t="$(tree make usr/bin/make)"
expect found make "$t"

t="$(tree all usr/lib/llvm-14/lib/libclang-14.so.1 usr/bin/g++ usr/include/zlib.h usr/bin/make)"
if ! WEIR_DEPS_ROOT="$t" PATH=/usr/bin:/bin LIBCLANG_PATH= "$SCRIPTS/build-deps.sh" --check >/dev/null; then
    echo "FAIL: --check exited non-zero with everything present" >&2
    failures=$((failures + 1))
fi
t="$(tree cpp-only2 usr/lib/llvm-14/lib/libclang-cpp.so.14 usr/bin/g++ usr/include/zlib.h usr/bin/make)"
if WEIR_DEPS_ROOT="$t" PATH=/usr/bin:/bin LIBCLANG_PATH= "$SCRIPTS/build-deps.sh" --check >/dev/null; then
    echo "FAIL: --check exited zero with libclang missing" >&2
    failures=$((failures + 1))
fi
# A scratch root never installs.
if WEIR_DEPS_ROOT="$t" PATH=/usr/bin:/bin LIBCLANG_PATH= "$SCRIPTS/build-deps.sh" >/dev/null 2>&1; then
    echo "FAIL: build-deps without --check under a scratch root did not refuse" >&2
    failures=$((failures + 1))
fi

if [ "$failures" -ne 0 ]; then
    echo "test-build-deps: $failures failure(s)" >&2
    exit 1
fi
echo "test-build-deps: all checks detect exactly the files they need"
