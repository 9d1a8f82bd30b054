#!/usr/bin/env bash
# An S3-compatible server for Weir's tests: s3s-fs (crates.io), which keeps
# buckets as directories under a root directory.
#
#   scripts/s3-server.sh install
#       installs s3s-fs when it is missing (cargo install, into
#       ${WEIR_TOOLS_DIR:-$HOME/.cache/weir-tools}; about 5 minutes on 2 cores)
#   scripts/s3-server.sh check
#       exits 0 when it is installed (looks under WEIR_DEPS_ROOT when set)
#   scripts/s3-server.sh start <root dir> <port> <bucket> <owner pid>
#       starts it on 127.0.0.1:<port> with access key "weir" / secret
#       "weir-secret" and bucket <bucket>, waits until it accepts connections and
#       prints its pid; it is stopped when process <owner pid> exits.
set -euo pipefail

S3S_VERSION=0.14.1
TOOLS="${WEIR_TOOLS_DIR:-$HOME/.cache/weir-tools}"

# The s3s-fs executable: in the tools directory, or in one of PATH's directories
# (under WEIR_DEPS_ROOT when set).
find_binary() {
    local root="${WEIR_DEPS_ROOT:-/}" dir
    root="${root%/}"
    if [ -f "$root$TOOLS/bin/s3s-fs" ] && [ -x "$root$TOOLS/bin/s3s-fs" ]; then
        echo "$root$TOOLS/bin/s3s-fs"
        return 0
    fi
    local IFS=:
    for dir in $PATH; do
        if [ -n "$dir" ] && [ -f "$root$dir/s3s-fs" ] && [ -x "$root$dir/s3s-fs" ]; then
            echo "$root$dir/s3s-fs"
            return 0
        fi
    done
    return 1
}

install() {
    if find_binary >/dev/null; then
        return 0
    fi
    echo "s3-server: installing s3s-fs $S3S_VERSION into $TOOLS (cargo install)" >&2
    cargo install "s3s-fs@$S3S_VERSION" --features binary --locked --root "$TOOLS" >&2
    find_binary >/dev/null || { echo "s3-server: s3s-fs not found after installing it" >&2; exit 1; }
}

start() {
    local root="$1" port="$2" bucket="$3" owner="$4"
    install
    local binary
    binary="$(find_binary)"
    mkdir -p "$root/$bucket"
    "$binary" --host 127.0.0.1 --port "$port" --access-key weir --secret-key weir-secret "$root" \
        >"$root.log" 2>&1 </dev/null &
    local server=$!
    # Stop the server when the process that asked for it is gone.
    (
        while kill -0 "$owner" 2>/dev/null && kill -0 "$server" 2>/dev/null; do
            sleep 1
        done
        kill "$server" 2>/dev/null || true
    ) >/dev/null 2>&1 </dev/null &
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$server"
            return 0
        fi
        if ! kill -0 "$server" 2>/dev/null; then
            echo "s3-server: s3s-fs exited at start; its log:" >&2
            cat "$root.log" >&2
            exit 1
        fi
        sleep 0.1
    done
    echo "s3-server: s3s-fs did not accept connections on port $port within 30 s" >&2
    kill "$server" 2>/dev/null || true
    exit 1
}

case "${1:-}" in
    install) install ;;
    check) find_binary ;;
    start)
        [ $# -eq 5 ] || { echo "usage: $0 start <root dir> <port> <bucket> <owner pid>" >&2; exit 2; }
        start "$2" "$3" "$4" "$5"
        ;;
    *)
        echo "usage: $0 install | check | start <root dir> <port> <bucket> <owner pid>" >&2
        exit 2
        ;;
esac
