#!/usr/bin/env bash
# sluice-entrypoint — the sluice image's entry point (installed as
# /usr/local/bin/sluice-entrypoint).
#
#   sluice-entrypoint controller|broker [OPTION...]  render the config from the
#                                                    environment, then exec the server
#   sluice-entrypoint render controller|broker       print the config that would be used
#   sluice-entrypoint healthcheck                    exit 0 when this container's server
#                                                    answers (the image's HEALTHCHECK)
#   sluice-entrypoint COMMAND [ARG...]               run anything else (sluice topics …)
#
# The config is written to $SLUICE_CONFIG_DIR/<role>.properties (default /etc/sluice),
# built in three layers, later keys winning as in any properties file:
#   1. image defaults: process.roles, log.dirs=$SLUICE_DATA_DIR/data (a volume at
#      /var/lib/sluice), listeners on 0.0.0.0, the broker advertised as `hostname`,
#      metrics on :9308 — the listener defaults only without SLUICE_CONFIG_FILE;
#   2. the file named by SLUICE_CONFIG_FILE, if set (e.g. a mounted broker.properties);
#   3. the environment: SLUICE_NODE_ID, SLUICE_CONTROLLER_QUORUM_VOTERS,
#      SLUICE_LISTENERS, SLUICE_ADVERTISED_LISTENERS, SLUICE_CLUSTER_ID and, for any key,
#      SLUICE_CFG_<KEY> with the key upper-cased and '.' written '_' ('_' itself as
#      '__', '-' as '___'), as Kafka's images do: SLUICE_CFG_MIN_INSYNC_REPLICAS=2 sets
#      min.insync.replicas=2.
# SLUICE_NODE_ID and SLUICE_CONTROLLER_QUORUM_VOTERS (or their keys from layer 2/3) are
# required. The server runs as this process (exec), so SIGTERM from `docker stop`
# reaches it directly: give brokers a stop timeout above controlled.shutdown.max.wait.ms.
set -euo pipefail

CONFIG_DIR=${SLUICE_CONFIG_DIR:-/etc/sluice}
DATA_DIR=${SLUICE_DATA_DIR:-/var/lib/sluice}
HEALTH_TIMEOUT_S=${SLUICE_HEALTH_TIMEOUT_S:-5}

die() {
    echo "sluice-entrypoint: $*" >&2
    exit 1
}

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"
}

# Environment variable name (after its prefix) → properties key: lower case, '___' → '-',
# '__' → '_', '_' → '.' (control characters stand in: a variable name cannot hold them).
env_to_key() {
    local s=${1,,}
    s=${s//___/$'\x01'}
    s=${s//__/$'\x02'}
    s=${s//_/.}
    s=${s//$'\x01'/-}
    echo "${s//$'\x02'/_}"
}

# Properties values are one line; a newline would start a new key.
emit() {
    local key=$1 value=$2
    case "$value" in
    *$'\n'*) die "value of $key contains a newline" ;;
    esac
    printf '%s=%s\n' "$key" "$value"
}

# This node's host:port in controller.quorum.voters (id@host:port,…), or nothing.
voter_address() {
    local id=$1 voters=$2 item
    local IFS=,
    for item in $voters; do
        if [ "${item%%@*}" = "$id" ]; then
            echo "${item#*@}"
            return
        fi
    done
}

defaults() {
    local role=$1
    emit process.roles "$role"
    emit log.dirs "$DATA_DIR/data"
    [ -z "${SLUICE_CONFIG_FILE:-}" ] || return 0
    if [ "$role" = controller ]; then
        local addr
        addr=$(voter_address "${SLUICE_NODE_ID:-${SLUICE_CFG_NODE_ID:-}}" \
            "${SLUICE_CONTROLLER_QUORUM_VOTERS:-${SLUICE_CFG_CONTROLLER_QUORUM_VOTERS:-}}")
        [ -z "$addr" ] || emit listeners "CONTROLLER://0.0.0.0:${addr##*:}"
    else
        emit metrics.listener "0.0.0.0:9308"
        if [ -z "${SLUICE_LISTENERS:-}${SLUICE_CFG_LISTENERS:-}" ]; then
            emit listeners "PLAINTEXT://0.0.0.0:9092"
            emit advertised.listeners "PLAINTEXT://$(hostname):9092"
        fi
    fi
}

from_environment() {
    local name key
    [ -z "${SLUICE_NODE_ID:-}" ] || emit node.id "$SLUICE_NODE_ID"
    [ -z "${SLUICE_CONTROLLER_QUORUM_VOTERS:-}" ] ||
        emit controller.quorum.voters "$SLUICE_CONTROLLER_QUORUM_VOTERS"
    [ -z "${SLUICE_LISTENERS:-}" ] || emit listeners "$SLUICE_LISTENERS"
    [ -z "${SLUICE_ADVERTISED_LISTENERS:-}" ] ||
        emit advertised.listeners "$SLUICE_ADVERTISED_LISTENERS"
    [ -z "${SLUICE_CLUSTER_ID:-}" ] || emit cluster.id "$SLUICE_CLUSTER_ID"
    for name in $(compgen -e | LC_ALL=C sort); do
        case "$name" in
        SLUICE_CFG_?*)
            key=$(env_to_key "${name#SLUICE_CFG_}")
            emit "$key" "${!name}"
            ;;
        esac
    done
}

# The effective value of key in a rendered file (the last assignment wins).
file_value() {
    local key=$1 file=$2
    awk -v k="$key" '
        { line = $0; sub(/^[ \t]+/, "", line) }
        substr(line, 1, length(k)) == k && substr(line, length(k) + 1) ~ /^[ \t]*[=:]/ {
            v = substr(line, length(k) + 1); sub(/^[ \t]*[=:][ \t]*/, "", v); last = v
        }
        END { print last }' "$file"
}

render() {
    local role=$1
    {
        echo "# $role config rendered by sluice-entrypoint; later keys win."
        echo "# --- image defaults"
        defaults "$role"
        if [ -n "${SLUICE_CONFIG_FILE:-}" ]; then
            [ -r "$SLUICE_CONFIG_FILE" ] ||
                die "SLUICE_CONFIG_FILE=$SLUICE_CONFIG_FILE is not readable"
            echo "# --- $SLUICE_CONFIG_FILE"
            cat "$SLUICE_CONFIG_FILE"
            echo
        fi
        echo "# --- environment"
        from_environment
    }
}

# The keys a server cannot start without; prints what is missing.
check_required() {
    local file=$1 key var
    for key in node.id controller.quorum.voters; do
        var=SLUICE_${key^^}
        var=${var//./_}
        [ -n "$(file_value "$key" "$file")" ] ||
            echo "$key is not set: give $var, SLUICE_CFG_${var#SLUICE_} or SLUICE_CONFIG_FILE"
    done
}

start() {
    local role=$1 file tmp missing
    shift
    file=$CONFIG_DIR/$role.properties
    mkdir -p "$CONFIG_DIR" "$DATA_DIR"
    tmp=$(mktemp "$CONFIG_DIR/.$role.XXXXXX")
    trap 'rm -f "$tmp"' EXIT
    render "$role" >"$tmp"
    missing=$(check_required "$tmp")
    [ -z "$missing" ] || die "$missing"
    mv -f "$tmp" "$file"
    echo "$role" >"$CONFIG_DIR/role"
    echo "sluice-entrypoint: starting sluice-$role with $file" >&2
    exec "sluice-$role" --config "$file" "$@"
}

# host:port to probe: the first listener (0.0.0.0 or no host → loopback); a controller
# without listeners listens on its own voter address.
probe_address() {
    local file=$1 first hostport host
    first=$(file_value listeners "$file")
    first=${first%%,*}
    if [ -n "$first" ]; then
        hostport=${first#*://}
    else
        hostport=$(voter_address "$(file_value node.id "$file")" \
            "$(file_value controller.quorum.voters "$file")")
    fi
    host=${hostport%:*}
    case "$host" in
    "" | 0.0.0.0 | "[::]" | "::") host=127.0.0.1 ;;
    esac
    echo "$host:${hostport##*:}"
}

healthcheck() {
    local role addr
    role=$(cat "$CONFIG_DIR/role" 2>/dev/null) ||
        die "no $CONFIG_DIR/role: the server has not started"
    addr=$(probe_address "$CONFIG_DIR/$role.properties")
    if [ "$role" = broker ]; then
        exec timeout "$HEALTH_TIMEOUT_S" sluice broker-api-versions --bootstrap-server "$addr" \
            >/dev/null
    fi
    # A TCP connect: controllers speak no Kafka protocol to probe with.
    # shellcheck disable=SC2016 # expanded by the inner bash
    exec timeout "$HEALTH_TIMEOUT_S" bash -c 'exec 3<>"/dev/tcp/${1%:*}/${1##*:}"' _ "$addr"
}

case "${1:-help}" in
controller | broker) start "$@" ;;
render)
    case "${2:-}" in
    controller | broker) render "$2" ;;
    *) die "usage: sluice-entrypoint render controller|broker" ;;
    esac
    ;;
healthcheck) healthcheck ;;
help | -h | --help) usage ;;
*) exec "$@" ;;
esac
