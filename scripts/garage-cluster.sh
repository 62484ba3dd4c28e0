#!/usr/bin/env bash
# Runs a local 3-node Garage cluster (https://garagehq.deuxfleurs.fr) on
# loopback, as the S3 backend of imgbucket's gateway mode. Tests, benchmarks
# and people trying the setup by hand all use this one script. Garage runs as
# separate processes (it is AGPL and never linked into imgbucket).
#
# Usage:
#   scripts/garage-cluster.sh start DIR          start (or restart) the cluster in DIR
#   scripts/garage-cluster.sh stop DIR           stop all nodes (SIGTERM, then SIGKILL)
#   scripts/garage-cluster.sh status DIR         `garage status` of the cluster
#   scripts/garage-cluster.sh kill-node DIR N    kill -9 node N (1..3)
#   scripts/garage-cluster.sh start-node DIR N   (re)start node N with its existing config and data
#
# `start` on an empty DIR creates DIR/node{1,2,3}/ (garage.toml, meta/, data/,
# log, pid), connects the nodes, applies a layout (replication factor 3, one
# zone per node), waits for the cluster to be healthy and creates the access
# key "imgbucket" with the right to create buckets. On a DIR whose cluster is
# stopped it restarts the nodes; on a running one it only says so. Either way
# it (re)writes DIR/env and prints its path; source it to get:
#   GARAGE_ENDPOINT        node1's S3 URL (http://127.0.0.1:PORT)
#   GARAGE_ENDPOINTS       the three S3 URLs, space separated
#   GARAGE_REGION          the S3 region ("garage")
#   IMGBUCKET_BACKEND_ACCESS_KEY, IMGBUCKET_BACKEND_SECRET_KEY
#   GARAGE_ADMIN_ENDPOINTS the three admin API URLs, space separated
#   GARAGE_ADMIN_TOKEN     their bearer token
#
# Ports: node N listens on base+10*(N-1) + 0 (S3), 1 (RPC), 3 (admin), the
# base being $GARAGE_BASE_PORT (default 3900) when DIR is created; it is then
# kept in DIR/base_port, so later commands need not repeat it. Clusters in
# different DIRs with different base ports can run side by side.
#
# `start-node` waits until every running node is connected to the restarted
# one, so requests right after it see the cluster whole again. With one node
# killed the cluster keeps serving reads and writes (quorum 2 of 3); with two,
# requests fail with 503 ServiceUnavailable.
#
# The garage binary is $GARAGE_BIN, else `garage` from PATH, else
# ${CARGO_HOME:-~/.cargo}/bin/garage (`ensure_garage` in .ci/deps.sh installs
# it: cargo install --locked garage@2.5.0).
# Waits give up after $GARAGE_START_TIMEOUT seconds (default 60) and name the
# node logs; `stop` sends SIGKILL after $GARAGE_STOP_TIMEOUT seconds (default 5).
#
# Example:
#   scripts/garage-cluster.sh start /tmp/gc && . /tmp/gc/env
#   AWS_ACCESS_KEY_ID=$IMGBUCKET_BACKEND_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$IMGBUCKET_BACKEND_SECRET_KEY \
#       aws --endpoint-url "$GARAGE_ENDPOINT" --region "$GARAGE_REGION" s3 mb s3://photos
#   scripts/garage-cluster.sh stop /tmp/gc
set -euo pipefail

NODES=(1 2 3)
KEY_NAME=imgbucket
REGION=garage
START_TIMEOUT="${GARAGE_START_TIMEOUT:-60}"
STOP_TIMEOUT="${GARAGE_STOP_TIMEOUT:-5}"

die() {
    echo "garage-cluster: error: $*" >&2
    exit 1
}

say() {
    echo "garage-cluster: $*" >&2
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit 2
}

find_garage() {
    if [ -n "${GARAGE_BIN:-}" ]; then
        [ -x "$GARAGE_BIN" ] || die "GARAGE_BIN=$GARAGE_BIN is not an executable"
        echo "$GARAGE_BIN"
    elif command -v garage >/dev/null 2>&1; then
        command -v garage
    elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/garage" ]; then
        echo "${CARGO_HOME:-$HOME/.cargo}/bin/garage"
    else
        die "garage not found (set GARAGE_BIN, or install it: cargo install --locked garage@2.5.0)"
    fi
}

# --- layout of DIR ---------------------------------------------------------

node_dir() { echo "$DIR/node$1"; }
node_cfg() { echo "$DIR/node$1/garage.toml"; }
node_log() { echo "$DIR/node$1/log"; }
node_pidfile() { echo "$DIR/node$1/pid"; }

base_port() {
    if [ -f "$DIR/base_port" ]; then
        cat "$DIR/base_port"
    else
        echo "${GARAGE_BASE_PORT:-3900}"
    fi
}

s3_port() { echo $(($(base_port) + 10 * ($1 - 1) + 0)); }
rpc_port() { echo $(($(base_port) + 10 * ($1 - 1) + 1)); }
admin_port() { echo $(($(base_port) + 10 * ($1 - 1) + 3)); }

check_node_arg() {
    case "${1:-}" in
        1 | 2 | 3) ;;
        *) die "node number must be 1, 2 or 3 (got '${1:-}')" ;;
    esac
}

# Garage CLI against node $1 (it reaches the daemon over RPC).
gcli() {
    local n="$1"
    shift
    "$GARAGE" -c "$(node_cfg "$n")" "$@"
}

# --- processes --------------------------------------------------------------

# Prints the pid of node $1 when it is running.
node_pid() {
    local f pid
    f="$(node_pidfile "$1")"
    [ -f "$f" ] || return 1
    pid="$(cat "$f")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # A recycled pid is not our node.
    tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$(node_cfg "$1")" || return 1
    echo "$pid"
}

node_running() { node_pid "$1" >/dev/null; }

log_hint() {
    echo "see $(node_log "$1"); its last lines:" >&2
    tail -n 20 "$(node_log "$1")" 2>/dev/null | sed 's/^/    /' >&2 || true
}

# Prints the first of "$@" (ports) that something already listens on.
busy_port() {
    local p
    for p in "$@"; do
        if (: <"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# Starts node $1 from its config and waits until its S3 port answers.
start_node() {
    local n="$1" pid p deadline
    [ -f "$(node_cfg "$n")" ] || die "no config $(node_cfg "$n"); run: $0 start $DIR"
    if node_running "$n"; then
        say "node $n already running (pid $(node_pid "$n"))"
        return 0
    fi
    if p="$(busy_port "$(s3_port "$n")" "$(rpc_port "$n")" "$(admin_port "$n")")"; then
        die "port $p of node $n is already in use (by another cluster?)"
    fi
    echo "==== $(date -u +%FT%TZ) starting node $n" >>"$(node_log "$n")"
    NO_COLOR=1 RUST_LOG="${RUST_LOG:-garage=info}" setsid "$GARAGE" -c "$(node_cfg "$n")" server \
        </dev/null >>"$(node_log "$n")" 2>&1 &
    pid=$!
    echo "$pid" >"$(node_pidfile "$n")"
    deadline=$((SECONDS + START_TIMEOUT))
    until (: <"/dev/tcp/127.0.0.1/$(s3_port "$n")") 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null; then
            log_hint "$n"
            die "node $n exited during startup"
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            log_hint "$n"
            die "node $n did not listen on port $(s3_port "$n") within ${START_TIMEOUT}s"
        fi
        sleep 0.2
    done
    say "node $n started (pid $pid, S3 http://127.0.0.1:$(s3_port "$n"))"
}

# Stops the nodes "$@" together: SIGTERM to all, then SIGKILL to those still
# running after STOP_TIMEOUT seconds. (One at a time would be slower: a node
# whose peers are all gone can hang in its shutdown.)
stop_nodes() {
    local n pid pids=() deadline alive
    for n in "$@"; do
        if pid="$(node_pid "$n")"; then
            kill -TERM "$pid" 2>/dev/null || true
            pids[n]="$pid"
        else
            rm -f "$(node_pidfile "$n")"
        fi
    done
    deadline=$((SECONDS + STOP_TIMEOUT))
    while :; do
        alive=0
        for n in "${!pids[@]}"; do
            kill -0 "${pids[n]}" 2>/dev/null && alive=1
        done
        [ "$alive" -eq 0 ] || [ "$SECONDS" -ge "$deadline" ] && break
        sleep 0.2
    done
    for n in "${!pids[@]}"; do
        if kill -0 "${pids[n]}" 2>/dev/null; then
            say "node $n did not exit within ${STOP_TIMEOUT}s of SIGTERM; sending SIGKILL"
            kill -KILL "${pids[n]}" 2>/dev/null || true
            while kill -0 "${pids[n]}" 2>/dev/null; do sleep 0.1; done
        fi
        rm -f "$(node_pidfile "$n")"
        say "node $n stopped"
    done
}

# --- cluster setup ---------------------------------------------------------

write_config() {
    local n="$1" secret="$2" admin_token="$3" d
    d="$(node_dir "$n")"
    mkdir -p "$d/meta" "$d/data"
    cat >"$(node_cfg "$n")" <<EOF
# Node $n of the local Garage cluster made by scripts/garage-cluster.sh.
metadata_dir = "$d/meta"
data_dir = "$d/data"
db_engine = "sqlite"
# Virtual size of the LMDB map (sparse file); the 1TiB default is too big for
# some sandboxes.
lmdb_map_size = "16GiB"
replication_factor = 3
consistency_mode = "consistent"

rpc_bind_addr = "127.0.0.1:$(rpc_port "$n")"
rpc_public_addr = "127.0.0.1:$(rpc_port "$n")"
rpc_secret = "$secret"

[s3_api]
api_bind_addr = "127.0.0.1:$(s3_port "$n")"
s3_region = "$REGION"

[admin]
api_bind_addr = "127.0.0.1:$(admin_port "$n")"
admin_token = "$admin_token"
EOF
    chmod 600 "$(node_cfg "$n")"
}

# Runs "$@" until it succeeds, for at most START_TIMEOUT seconds; on timeout
# prints its last output and fails with message $1.
retry() {
    local what="$1" out deadline
    shift
    deadline=$((SECONDS + START_TIMEOUT))
    until out="$("$@" 2>&1)"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "$out" | tail -n 5 | sed 's/^/    /' >&2
            die "$what (gave up after ${START_TIMEOUT}s; node logs: $DIR/node*/log)"
        fi
        sleep 1
    done
    printf '%s\n' "$out"
}

# Prints "<id>@<addr>" of node $1.
node_id() {
    retry "cannot get the id of node $1" gcli "$1" node id -q | tail -n 1
}

# Field $2 of GetClusterHealth as seen by node $1 ("status": healthy when all
# nodes are up and all partitions complete, degraded, unavailable;
# "storageNodesUp": how many storage nodes node $1 is connected to, itself
# included).
health_field() {
    gcli "$1" json-api GetClusterHealth 2>/dev/null \
        | sed -n 's/^ *"'"$2"'": *"\{0,1\}\([a-z0-9]*\)"\{0,1\},\{0,1\}$/\1/p'
}

wait_healthy() {
    local deadline h=""
    deadline=$((SECONDS + START_TIMEOUT))
    while :; do
        h="$(health_field 1 status || true)"
        [ "$h" = healthy ] && return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            gcli 1 status >&2 || true
            die "cluster not healthy after ${START_TIMEOUT}s (status: ${h:-unknown}); node logs: $DIR/node*/log"
        fi
        sleep 1
    done
}

# After node $1 (re)started: has every running node connect to it at once
# (a peer that was killed is otherwise retried only after a back-off of up to
# half a minute), then waits until every running node sees all the running
# ones.
rejoin_node() {
    local n="$1" m id running=() up deadline
    for m in "${NODES[@]}"; do
        node_running "$m" && running+=("$m")
    done
    id="$(node_id "$n")"
    for m in "${running[@]}"; do
        [ "$m" = "$n" ] && continue
        retry "cannot connect node $m to node $n" gcli "$m" node connect "$id" >/dev/null
    done
    deadline=$((SECONDS + START_TIMEOUT))
    for m in "${running[@]}"; do
        until up="$(health_field "$m" storageNodesUp)" && [ "${up:-0}" -ge "${#running[@]}" ]; do
            if [ "$SECONDS" -ge "$deadline" ]; then
                gcli "$m" status >&2 || true
                die "node $m sees ${up:-?} of the ${#running[@]} running nodes after ${START_TIMEOUT}s; node logs: $DIR/node*/log"
            fi
            sleep 0.5
        done
    done
}

# The current layout version (0 before the first `layout apply`).
layout_version() {
    retry "cannot read the cluster layout" gcli 1 json-api GetClusterLayout \
        | sed -n 's/^  "version": *\([0-9]*\).*/\1/p'
}

setup_cluster() {
    local n id ids=() v
    for n in "${NODES[@]}"; do
        ids[n]="$(node_id "$n")"
    done
    for n in 2 3; do
        retry "cannot connect node 1 to node $n" gcli 1 node connect "${ids[n]}" >/dev/null
    done
    v="$(layout_version)"
    [ -n "$v" ] || die "cannot parse the output of 'garage json-api GetClusterLayout'"
    if [ "$v" -eq 0 ]; then
        for n in "${NODES[@]}"; do
            id="${ids[n]%@*}"
            retry "cannot assign node $n in the layout" \
                gcli 1 layout assign -z "zone$n" -c 1GB "$id" -t "node$n" >/dev/null
        done
        retry "cannot apply the layout" gcli 1 layout apply --version 1 >/dev/null
        say "layout applied (3 zones, replication factor 3)"
    fi
    wait_healthy
    if ! gcli 1 key info "$KEY_NAME" >/dev/null 2>&1; then
        retry "cannot create key $KEY_NAME" gcli 1 key create "$KEY_NAME" >/dev/null
    fi
    retry "cannot allow key $KEY_NAME to create buckets" \
        gcli 1 key allow --create-bucket "$KEY_NAME" >/dev/null
}

write_env() {
    local info access secret token endpoints="" admins="" n
    info="$(retry "cannot read key $KEY_NAME" gcli 1 key info --show-secret "$KEY_NAME")"
    access="$(printf '%s\n' "$info" | sed -n 's/^Key ID: *\([^ ]*\).*/\1/p' | head -n 1)"
    secret="$(printf '%s\n' "$info" | sed -n 's/^Secret key: *\([^ ]*\).*/\1/p' | head -n 1)"
    [ -n "$access" ] && [ -n "$secret" ] || die "cannot parse the output of 'garage key info $KEY_NAME'"
    token="$(sed -n 's/^admin_token = "\(.*\)"$/\1/p' "$(node_cfg 1)")"
    for n in "${NODES[@]}"; do
        endpoints+="${endpoints:+ }http://127.0.0.1:$(s3_port "$n")"
        admins+="${admins:+ }http://127.0.0.1:$(admin_port "$n")"
    done
    cat >"$DIR/env.tmp" <<EOF
# Local Garage cluster of $DIR (scripts/garage-cluster.sh); source this file.
export GARAGE_ENDPOINT=http://127.0.0.1:$(s3_port 1)
export GARAGE_ENDPOINTS="$endpoints"
export GARAGE_REGION=$REGION
export IMGBUCKET_BACKEND_ACCESS_KEY=$access
export IMGBUCKET_BACKEND_SECRET_KEY=$secret
export GARAGE_ADMIN_ENDPOINTS="$admins"
export GARAGE_ADMIN_TOKEN=$token
EOF
    chmod 600 "$DIR/env.tmp"
    mv "$DIR/env.tmp" "$DIR/env"
    echo "$DIR/env"
}

# --- commands --------------------------------------------------------------

cmd_start() {
    local n p secret token all_running=1 fresh=0
    mkdir -p "$DIR"
    if [ ! -f "$(node_cfg 1)" ]; then
        fresh=1
        [ -z "$(ls -A "$DIR")" ] || die "$DIR is neither empty nor a cluster made by this script"
        for n in "${NODES[@]}"; do
            if p="$(busy_port "$(s3_port "$n")" "$(rpc_port "$n")" "$(admin_port "$n")")"; then
                die "port $p is already in use (another cluster?); choose other ports with GARAGE_BASE_PORT"
            fi
        done
        echo "${GARAGE_BASE_PORT:-3900}" >"$DIR/base_port"
        secret="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
        token="$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')"
        for n in "${NODES[@]}"; do
            write_config "$n" "$secret" "$token"
        done
        say "new cluster in $DIR (base port $(base_port))"
    else
        for n in "${NODES[@]}"; do
            node_running "$n" || all_running=0
        done
        if [ "$all_running" -eq 1 ] && [ -f "$DIR/env" ]; then
            say "cluster in $DIR is already running"
            write_env
            return 0
        fi
    fi
    local started=()
    for n in "${NODES[@]}"; do
        node_running "$n" || started+=("$n")
        start_node "$n"
    done
    if [ "$fresh" -eq 0 ]; then
        for n in "${started[@]}"; do
            rejoin_node "$n"
        done
    fi
    setup_cluster
    [ "$fresh" -eq 1 ] && say "cluster ready"
    write_env
}

cmd_stop() {
    stop_nodes "${NODES[@]}"
}

cmd_status() {
    local n
    for n in "${NODES[@]}"; do
        if node_running "$n"; then
            gcli "$n" status
            return
        fi
    done
    die "no node of the cluster in $DIR is running"
}

cmd_kill_node() {
    local n="$1" pid
    check_node_arg "$n"
    if pid="$(node_pid "$n")"; then
        kill -KILL "$pid"
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
        rm -f "$(node_pidfile "$n")"
        say "node $n killed (pid $pid)"
    else
        say "node $n is not running"
    fi
}

cmd_start_node() {
    check_node_arg "$1"
    start_node "$1"
    rejoin_node "$1"
}

[ $# -ge 2 ] || usage
CMD="$1"
DIR="$2"
case "$DIR" in
    /*) ;;
    *) DIR="$PWD/$DIR" ;;
esac
DIR="${DIR%/}"
GARAGE="$(find_garage)"
if [ "$CMD" != start ] && [ ! -f "$DIR/node1/garage.toml" ]; then
    die "no cluster in $DIR (make one with: $0 start $DIR)"
fi

case "$CMD" in
    start) [ $# -eq 2 ] || usage; cmd_start ;;
    stop) [ $# -eq 2 ] || usage; cmd_stop ;;
    status) [ $# -eq 2 ] || usage; cmd_status ;;
    kill-node) [ $# -eq 3 ] || usage; cmd_kill_node "$3" ;;
    start-node) [ $# -eq 3 ] || usage; cmd_start_node "$3" ;;
    *) usage ;;
esac
