#!/usr/bin/env bash
# Throwaway MariaDB, Redis and a 3-master Redis Cluster on 127.0.0.1 for the integration tests.
#
#   scripts/servers.sh start   install what is missing (apt), start the servers, write $WN_SERVERS_DIR/env.sh
#   scripts/servers.sh stop    stop the servers this script started (by recorded PID)
#
# Plain processes, no Docker or systemd. Redis runs with AOF (appendfsync everysec), as the README
# says a store needs; a test that wants a Redis persisting nothing starts its own. State lives in $WN_SERVERS_DIR (default /tmp/weapp-notify-servers).
# A busy port moves to the next free one; env.sh has the ports used (REDIS_URL, REDIS_CLUSTER_NODES, MYSQL_URL).
set -euo pipefail

DIR=${WN_SERVERS_DIR:-/tmp/weapp-notify-servers}
REDIS_PORT=${WN_REDIS_PORT:-6391}
CLUSTER_PORTS=(${WN_REDIS_CLUSTER_PORTS:-7111 7112 7113})
MARIADB_PORT=${WN_MARIADB_PORT:-3317}

log() { printf '[servers] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

alive() { # PIDFILE COMM: the recorded process runs and is what we started
  local pid
  pid=$(cat "$1" 2>/dev/null | tr -dc 0-9) || return 1
  [ -n "$pid" ] && [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = "$2" ] &&
    [ "$(sed 's/^.*) //' "/proc/$pid/stat" | cut -d' ' -f1)" != Z ]
}
stop_pidfile() { # PIDFILE COMM
  alive "$1" "$2" || return 0
  local pid i; pid=$(tr -dc 0-9 < "$1")
  kill "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do alive "$1" "$2" || return 0; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
}
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() { # PORT [also port+10000 for a cluster bus]
  local p=$1
  while busy "$p" || { [ -n "${2:-}" ] && busy $((p + 10000)); }; do p=$((p + 1)); done
  echo "$p"
}

install() {
  local pkgs=()
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null || pkgs+=(redis-server)
  command -v mariadbd >/dev/null && command -v mariadb-install-db >/dev/null && command -v mariadb >/dev/null ||
    pkgs+=(mariadb-server-core mariadb-client-core)
  [ ${#pkgs[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || die "need root to apt-get install ${pkgs[*]}"
  log "installing ${pkgs[*]}"
  # Keep dpkg from starting the packaged services.
  local prc=/usr/sbin/policy-rc.d made=
  [ -e "$prc" ] || { printf '#!/bin/sh\nexit 101\n' > "$prc"; chmod 755 "$prc"; made=1; }
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}"; } \
    > "$DIR/apt.log" 2>&1 || { [ -z "$made" ] || rm -f "$prc"; tail -n 20 "$DIR/apt.log" >&2; die "apt-get failed"; }
  [ -z "$made" ] || rm -f "$prc"
}

redis_spawn() { # DIR PORT [args]
  local dir=$1 port=$2; shift 2
  mkdir -p "$dir"
  redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --pidfile "$dir/redis.pid" \
    --logfile "$dir/redis.log" --dir "$dir" --save '' --appendonly yes --appendfsync everysec "$@" </dev/null >/dev/null 2>&1 9>&-
  local i
  for ((i = 0; i < 200; i++)); do [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && return 0; sleep 0.05; done
  tail -n 20 "$dir/redis.log" >&2; die "redis on $port did not start"
}

start_redis() {
  local port; port=$(free_port "$REDIS_PORT")
  redis_spawn "$DIR/redis" "$port"
  echo "export REDIS_URL=redis://127.0.0.1:$port" >> "$DIR/env.sh"
  log "redis on $port"
}

cluster_ok() {
  local p
  for p in "$@"; do
    redis-cli -p "$p" cluster info 2>/dev/null | tr -d '\r' | grep -qx 'cluster_state:ok' || return 1
    redis-cli -p "$p" cluster info 2>/dev/null | tr -d '\r' | grep -qx "cluster_known_nodes:$#" || return 1
  done
}
start_cluster() {
  local ports=() p n=${#CLUSTER_PORTS[@]} k last=0 i
  for p in "${CLUSTER_PORTS[@]}"; do
    [ "$p" -gt "$last" ] || p=$((last + 1))
    p=$(free_port "$p" bus); ports+=("$p"); last=$p
  done
  for p in "${ports[@]}"; do
    redis_spawn "$DIR/cluster/$p" "$p" --cluster-enabled yes --cluster-config-file "$DIR/cluster/$p/nodes.conf" --cluster-node-timeout 5000
  done
  # Slots split evenly, distinct epochs, every node meets every other: converges in about 2 s.
  for ((k = 0; k < n; k++)); do
    redis-cli -p "${ports[$k]}" cluster addslotsrange $((k * 16384 / n)) $(((k + 1) * 16384 / n - 1)) >/dev/null
    redis-cli -p "${ports[$k]}" cluster set-config-epoch $((k + 1)) >/dev/null
  done
  for p in "${ports[@]}"; do for k in "${ports[@]}"; do
    [ "$p" = "$k" ] || redis-cli -p "$p" cluster meet 127.0.0.1 "$k" >/dev/null
  done; done
  for ((i = 0; i < 600; i++)); do cluster_ok "${ports[@]}" && break; sleep 0.05; done
  cluster_ok "${ports[@]}" || die "redis cluster did not reach cluster_state:ok"
  local nodes; nodes=$(printf '127.0.0.1:%s,' "${ports[@]}")
  echo "export REDIS_CLUSTER_NODES=${nodes%,}" >> "$DIR/env.sh"
  log "redis cluster on ${ports[*]}"
}

maria() { mariadb --no-defaults --protocol=socket --socket="$DIR/mariadb/mysqld.sock" -uroot "$@"; }
start_mariadb() {
  local dir=$DIR/mariadb port i
  mkdir -p "$dir/data" "$dir/tmp"
  mariadb-install-db --no-defaults --datadir="$dir/data" --user="$(id -un)" --auth-root-authentication-method=normal \
    --skip-test-db --skip-name-resolve > "$dir/install.log" 2>&1 || { tail -n 20 "$dir/install.log" >&2; die "mariadb-install-db failed"; }
  port=$(free_port "$MARIADB_PORT")
  # Double fork and setsid: the server belongs to init, not to the test run's process group.
  ( setsid mariadbd --no-defaults --user="$(id -un)" --datadir="$dir/data" --tmpdir="$dir/tmp" \
      --socket="$dir/mysqld.sock" --port="$port" --bind-address=127.0.0.1 --pid-file="$dir/mariadbd.pid" \
      --log-error="$dir/error.log" --skip-name-resolve --character-set-server=utf8mb4 \
      --collation-server=utf8mb4_unicode_ci --innodb-buffer-pool-size=128M --innodb-flush-log-at-trx-commit=2 \
      --innodb-doublewrite=0 --max-connections=500 </dev/null >/dev/null 2>&1 9>&- & )
  for ((i = 0; i < 600; i++)); do maria -e 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done
  maria -e 'SELECT 1' >/dev/null 2>&1 || { tail -n 20 "$dir/error.log" >&2; die "mariadb did not start"; }
  maria -e "CREATE DATABASE weapp_notify CHARACTER SET utf8mb4; CREATE USER 'wn'@'%' IDENTIFIED BY 'wn'; GRANT ALL ON *.* TO 'wn'@'%'; CREATE USER 'wn'@'localhost' IDENTIFIED BY 'wn'; GRANT ALL ON *.* TO 'wn'@'localhost';"
  echo "export MYSQL_URL=mysql://wn:wn@127.0.0.1:$port/weapp_notify" >> "$DIR/env.sh"
  log "mariadb $(maria -N -e 'SELECT VERSION()') on $port"
}

healthy() {
  local f
  for f in "$DIR"/redis/redis.pid "$DIR"/cluster/*/redis.pid; do alive "$f" redis-server || return 1; done
  alive "$DIR/mariadb/mariadbd.pid" mariadbd
}

stop_all() {
  local f
  for f in "$DIR"/redis/redis.pid "$DIR"/cluster/*/redis.pid; do [ -e "$f" ] && stop_pidfile "$f" redis-server; done
  [ -e "$DIR/mariadb/mariadbd.pid" ] && stop_pidfile "$DIR/mariadb/mariadbd.pid" mariadbd
  rm -rf "$DIR"
}

case ${1:-} in
  start)
    mkdir -p "$DIR"; exec 9> "$DIR/.lock"; flock -w 300 9 || die "another run holds $DIR/.lock"
    if [ -s "$DIR/env.sh" ]; then
      healthy && { log "already running: $DIR/env.sh"; exit 0; }
      log "a previous run left dead servers: starting afresh"; stop_all; mkdir -p "$DIR"
    fi
    install
    : > "$DIR/env.tmp"; mv "$DIR/env.tmp" "$DIR/env.sh"
    start_redis; start_cluster; start_mariadb
    log "env: $DIR/env.sh" ;;
  stop) stop_all; log "stopped" ;;
  *) sed -n '2,9p' "$0"; exit 2 ;;
esac
