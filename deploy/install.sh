#!/usr/bin/env bash
# install.sh — prepare this host to run one sluice node under systemd: the `sluice`
# system user and group, /etc/sluice, /var/lib/sluice, the node's config written from
# the sample, and optionally its unit enabled. Binaries and units come from
# `make install`; this script is installed beside the samples in
# $(PREFIX)/share/sluice/.
#
# usage: install.sh [OPTION...] controller|broker NODE_ID --voters ID@HOST:PORT,...
#
#   install.sh controller 101 --voters 101@h1:9093,102@h2:9093,103@h3:9093 --enable --now
#   install.sh broker 1 --voters 101@h1:9093,102@h2:9093,103@h3:9093 \
#       --advertised-host h1.example.com --enable --now
#
# Options:
#   --voters LIST            controller.quorum.voters, the same on every node (required)
#   --advertised-host NAME   broker: the name clients dial (default: `hostname -f`)
#   --port N                 broker: Kafka listener port (default 9092)
#   --bind ADDR              address the listeners bind (default 0.0.0.0)
#   --metrics-port N         broker: Prometheus /metrics port (default 9308; 0 = off)
#   --replication-factor N   broker: default.replication.factor and
#                            offsets.topic.replication.factor (default 3), with
#                            min.insync.replicas N-1 (1 when N < 3)
#   --cluster-id ID          cluster.id (22 characters)
#   --set KEY=VALUE          any other key; repeatable
#   --data-dir DIR           parent of the node's data directory (default /var/lib/sluice);
#                            outside it, a unit drop-in grants write access
#   --config-dir DIR         default /etc/sluice
#   --templates DIR          where controller.properties/broker.properties samples are
#                            (default: beside this script, else ../../config)
#   --root DIR               lay everything out under DIR instead of / (images, tests)
#   --force                  rewrite the node's config even if it exists
#   --enable                 enable the node's unit and sluice.target
#   --now                    with --enable: also start the unit
#   --print-config           print the config that would be written, change nothing
#                            (needs no root)
#   -h, --help               this text
#
# Idempotent: the user, group and directories are created only when missing (their
# modes and owners are set every time); an existing config is kept unless --force.
# Everything except --print-config and --help needs root.
set -euo pipefail

PROG=install.sh
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
USER_NAME=sluice
DEFAULT_DATA_DIR=/var/lib/sluice

die() {
    echo "$PROG: $*" >&2
    exit 1
}
say() { echo "$PROG: $*"; }

usage() {
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"
}

# ---------------------------------------------------------------- options

ROLE='' NODE_ID='' VOTERS='' ADVERTISED_HOST='' PORT=9092 BIND=0.0.0.0 METRICS_PORT=9308
RF=3 CLUSTER_ID='' DATA_DIR=$DEFAULT_DATA_DIR CONFIG_DIR=/etc/sluice TEMPLATES='' ROOT=''
FORCE=0 ENABLE=0 NOW=0 PRINT=0
EXTRA=()

need_value() {
    if [ $# -lt 2 ] || [ -z "$2" ]; then die "option $1 needs a value (see --help)"; fi
}

parse_args() {
    local positional=()
    while [ $# -gt 0 ]; do
        case "$1" in
        -h | --help) usage; exit 0 ;;
        --voters) need_value "$@"; VOTERS=$2; shift ;;
        --advertised-host) need_value "$@"; ADVERTISED_HOST=$2; shift ;;
        --port) need_value "$@"; PORT=$2; shift ;;
        --bind) need_value "$@"; BIND=$2; shift ;;
        --metrics-port) need_value "$@"; METRICS_PORT=$2; shift ;;
        --replication-factor) need_value "$@"; RF=$2; shift ;;
        --cluster-id) need_value "$@"; CLUSTER_ID=$2; shift ;;
        --set) need_value "$@"; EXTRA+=("$2"); shift ;;
        --data-dir) need_value "$@"; DATA_DIR=${2%/}; shift ;;
        --config-dir) need_value "$@"; CONFIG_DIR=${2%/}; shift ;;
        --templates) need_value "$@"; TEMPLATES=$2; shift ;;
        --root) need_value "$@"; ROOT=${2%/}; shift ;;
        --force) FORCE=1 ;;
        --enable) ENABLE=1 ;;
        --now) NOW=1 ;;
        --print-config) PRINT=1 ;;
        --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;;
        -*) die "unknown option $1 (see --help)" ;;
        *) positional+=("$1") ;;
        esac
        shift
    done
    [ ${#positional[@]} -eq 2 ] || die "expected ROLE and NODE_ID (see --help)"
    ROLE=${positional[0]}
    NODE_ID=${positional[1]}
}

# A decimal number in [min, max] (at most 10 digits, so the shell compares it exactly).
in_range() {
    [[ $1 =~ ^[0-9]{1,10}$ ]] || return 1
    [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]
}

check_args() {
    case "$ROLE" in
    controller | broker) ;;
    *) die "ROLE must be controller or broker, not '$ROLE'" ;;
    esac
    in_range "$NODE_ID" 0 2147483647 ||
        die "NODE_ID must be a number in [0, 2147483647], not '$NODE_ID'"
    [ -n "$VOTERS" ] || die "--voters ID@HOST:PORT,... is required"
    [[ $VOTERS =~ ^[0-9]+@[^,@]+:[0-9]+(,[0-9]+@[^,@]+:[0-9]+)*$ ]] ||
        die "--voters '$VOTERS' is not ID@HOST:PORT,..."
    in_range "$PORT" 1 65535 || die "--port must be 1-65535, not '$PORT'"
    in_range "$METRICS_PORT" 0 65535 ||
        die "--metrics-port must be 0-65535, not '$METRICS_PORT'"
    in_range "$RF" 1 32767 ||
        die "--replication-factor must be 1-32767, not '$RF'"
    [[ $DATA_DIR == /* ]] || die "--data-dir must be an absolute path"
    [[ $CONFIG_DIR == /* ]] || die "--config-dir must be an absolute path"
    [ -z "$ROOT" ] || [[ $ROOT == /* ]] || die "--root must be an absolute path"
    [ "$NOW" = 0 ] || [ "$ENABLE" = 1 ] || die "--now needs --enable"
    [ "$NOW" = 0 ] || [ -z "$ROOT" ] || die "--now cannot start a unit under --root"
    if [ "$ROLE" = controller ] && [ -z "$(voter_address "$NODE_ID")" ]; then
        die "controller $NODE_ID is not in --voters $VOTERS"
    fi
    if [ "$ROLE" = broker ] && [ -n "$(voter_address "$NODE_ID")" ]; then
        die "broker $NODE_ID is also a controller voter: brokers need ids distinct from controllers"
    fi
    local kv
    for kv in ${EXTRA[@]+"${EXTRA[@]}"}; do
        [[ $kv =~ ^[A-Za-z0-9._-]+=.*$ ]] || die "--set '$kv' is not KEY=VALUE"
        [[ $kv != *$'\n'* ]] || die "--set value of ${kv%%=*} contains a newline"
    done
}

# This node's "host:port" in the voters list, or nothing.
voter_address() {
    local item
    local IFS=,
    for item in $VOTERS; do
        if [ "${item%%@*}" = "$1" ]; then
            echo "${item#*@}"
            return
        fi
    done
}

# ---------------------------------------------------------------- config

find_templates() {
    local dir
    for dir in "$TEMPLATES" "$HERE" "$HERE/../config"; do
        if [ -n "$dir" ] && [ -f "$dir/$ROLE.properties" ]; then
            echo "$dir"
            return
        fi
    done
    die "no $ROLE.properties sample beside $HERE or in $HERE/../config: give --templates DIR"
}

# Set key=value in a properties file: every active assignment of key is replaced; with
# none, the first commented example (#key=…) becomes the assignment; else it is
# appended. The value goes through the environment so awk does not interpret escapes.
set_prop() {
    local file=$1 key=$2 tmp=$1.tmp
    SET_KEY=$key SET_VALUE=$3 awk '
        function key_of(line) {
            sub(/^[ \t]+/, "", line)
            if (substr(line, 1, length(K)) != K) return 0
            return substr(line, length(K) + 1) ~ /^[ \t]*[=:]/
        }
        BEGIN { K = ENVIRON["SET_KEY"]; V = ENVIRON["SET_VALUE"] }
        NR == FNR { if (key_of($0)) active = 1; next }
        key_of($0) { print K "=" V; done = 1; next }
        !active && !done && /^#[ \t]*/ {
            line = $0; sub(/^#[ \t]*/, "", line)
            if (key_of(line)) { print K "=" V; done = 1; next }
        }
        { print }
        END { if (!done) print K "=" V }' "$file" "$file" >"$tmp"
    mv -f "$tmp" "$file"
}

render_controller() {
    local file=$1 addr
    addr=$(voter_address "$NODE_ID")
    set_prop "$file" node.id "$NODE_ID"
    set_prop "$file" controller.quorum.voters "$VOTERS"
    set_prop "$file" listeners "CONTROLLER://$BIND:${addr##*:}"
    set_prop "$file" metadata.log.dir "$DATA_DIR/controller-$NODE_ID"
}

render_broker() {
    local file=$1 host=$ADVERTISED_HOST min_isr=1
    [ -n "$host" ] || host=$(hostname -f 2>/dev/null || hostname)
    [ "$RF" -lt 3 ] || min_isr=$((RF - 1))
    set_prop "$file" node.id "$NODE_ID"
    set_prop "$file" controller.quorum.voters "$VOTERS"
    set_prop "$file" listeners "PLAINTEXT://$BIND:$PORT"
    set_prop "$file" advertised.listeners "PLAINTEXT://$host:$PORT"
    set_prop "$file" log.dirs "$DATA_DIR/broker-$NODE_ID"
    if [ "$METRICS_PORT" = 0 ]; then
        set_prop "$file" metrics.listener ""
    else
        set_prop "$file" metrics.listener "$BIND:$METRICS_PORT"
    fi
    set_prop "$file" default.replication.factor "$RF"
    set_prop "$file" offsets.topic.replication.factor "$RF"
    set_prop "$file" min.insync.replicas "$min_isr"
}

# The node's config on stdout.
render() {
    local tmp kv
    tmp=$(mktemp)
    # shellcheck disable=SC2064 # expand now: tmp is local
    trap "rm -f '$tmp' '$tmp.tmp'" EXIT
    {
        echo "# $ROLE $NODE_ID — written by $PROG from the sample $ROLE.properties; the"
        echo "# node's own keys are set in place below."
        echo "#"
        cat "$(find_templates)/$ROLE.properties"
    } >"$tmp"
    "render_$ROLE" "$tmp"
    [ -z "$CLUSTER_ID" ] || set_prop "$tmp" cluster.id "$CLUSTER_ID"
    for kv in ${EXTRA[@]+"${EXTRA[@]}"}; do set_prop "$tmp" "${kv%%=*}" "${kv#*=}"; done
    cat "$tmp"
}

# ---------------------------------------------------------------- host

# uid and gid of the sluice user in $ROOT's passwd database, "uid:gid", or nothing.
user_ids() {
    if [ -n "$ROOT" ]; then
        awk -F: -v u="$USER_NAME" '$1 == u { print $3 ":" $4; exit }' "$ROOT/etc/passwd"
    else
        getent passwd "$USER_NAME" | awk -F: '{ print $3 ":" $4; exit }'
    fi
}

group_exists() {
    if [ -n "$ROOT" ]; then
        grep -q "^$USER_NAME:" "$ROOT/etc/group"
    else
        getent group "$USER_NAME" >/dev/null
    fi
}

ensure_user() {
    local root_opt=()
    [ -z "$ROOT" ] || root_opt=(--root "$ROOT")
    if group_exists; then
        say "group $USER_NAME exists"
    else
        groupadd "${root_opt[@]}" --system "$USER_NAME"
        say "created group $USER_NAME"
    fi
    if [ -n "$(user_ids)" ]; then
        say "user $USER_NAME exists"
    else
        useradd "${root_opt[@]}" --system --gid "$USER_NAME" --home-dir "$DEFAULT_DATA_DIR" \
            --no-create-home --shell /usr/sbin/nologin --comment "sluice event streaming" \
            "$USER_NAME"
        say "created system user $USER_NAME"
    fi
    IDS=$(user_ids)
    [ -n "$IDS" ] || die "user $USER_NAME has no passwd entry after useradd"
}

# install -d with numeric owners (names would resolve against this host under --root).
ensure_dir() {
    local dir=$1 owner=$2 mode=$3
    install -d -o "${owner%:*}" -g "${owner#*:}" -m "$mode" "$ROOT$dir"
}

write_config() {
    local file=$CONFIG_DIR/$ROLE-$NODE_ID.properties tmp
    if [ -e "$ROOT$file" ] && [ "$FORCE" = 0 ]; then
        say "kept $file (it exists; --force rewrites it)"
        return
    fi
    tmp=$ROOT$file.new
    render >"$tmp"
    chown "0:${IDS#*:}" "$tmp"
    chmod 0640 "$tmp"
    mv -f "$tmp" "$ROOT$file"
    say "wrote $file"
}

write_defaults() {
    local file=$ROOT/etc/default/sluice
    [ ! -e "$file" ] || return 0
    install -d -m 0755 "$ROOT/etc/default"
    cat >"$file" <<'EOF'
# /etc/default/sluice — environment of the sluice systemd units.
# Extra command-line options for every controller / broker on this host, e.g.
#   SLUICE_BROKER_OPTS="--override log.level=debug"
SLUICE_CONTROLLER_OPTS=
SLUICE_BROKER_OPTS=
EOF
    chmod 0644 "$file"
    say "wrote /etc/default/sluice"
}

# A data directory outside /var/lib/sluice must be writable through ProtectSystem=strict.
write_dropin() {
    local unit=sluice-$ROLE@$NODE_ID.service dir file
    dir=$ROOT/etc/systemd/system/$unit.d
    file=$dir/data-dir.conf
    if [ "$DATA_DIR" = "$DEFAULT_DATA_DIR" ] || [[ $DATA_DIR == "$DEFAULT_DATA_DIR"/* ]]; then
        return
    fi
    install -d -m 0755 "$dir"
    printf '# Written by %s: the node keeps its data in %s.\n[Service]\nReadWritePaths=%s\n' \
        "$PROG" "$DATA_DIR" "$DATA_DIR" >"$file"
    chmod 0644 "$file"
    say "wrote ${file#"$ROOT"} (ReadWritePaths=$DATA_DIR)"
}

check_binary() {
    local bin=sluice-$ROLE d
    for d in /usr/local/bin /usr/bin; do
        [ ! -x "$ROOT$d/$bin" ] || return 0
    done
    say "warning: $bin is not in /usr/local/bin or /usr/bin yet: run make install"
}

enable_unit() {
    local unit=sluice-$ROLE@$NODE_ID.service
    if [ -n "$ROOT" ]; then
        systemctl --root="$ROOT" enable sluice.target "$unit"
        say "enabled $unit and sluice.target under $ROOT"
        return
    fi
    if [ ! -d /run/systemd/system ]; then
        systemctl enable sluice.target "$unit"
        say "enabled $unit (systemd is not running here: start it after boot)"
        return
    fi
    systemctl daemon-reload
    systemctl enable sluice.target "$unit"
    if [ "$NOW" = 1 ]; then
        systemctl start "$unit"
        say "started $unit"
    else
        say "enabled $unit; start it with: systemctl start $unit"
    fi
}

main() {
    parse_args "$@"
    check_args
    if [ "$PRINT" = 1 ]; then
        render
        exit 0
    fi
    [ "$(id -u)" = 0 ] ||
        die "must run as root: it creates the $USER_NAME user and writes $CONFIG_DIR and" \
            "$DATA_DIR (try sudo, or --print-config to only see the config)"
    [ -z "$ROOT" ] || [ -d "$ROOT" ] || die "--root $ROOT is not a directory"
    ensure_user
    ensure_dir "$CONFIG_DIR" "0:${IDS#*:}" 0750
    ensure_dir "$DEFAULT_DATA_DIR" "$IDS" 0750
    ensure_dir "$DATA_DIR" "$IDS" 0750
    ensure_dir "$DATA_DIR/$ROLE-$NODE_ID" "$IDS" 0750
    ensure_dir /var/log/sluice "$IDS" 0750
    write_config
    write_defaults
    write_dropin
    check_binary
    [ "$ENABLE" = 0 ] || enable_unit
    say "done: $ROLE $NODE_ID (config $CONFIG_DIR/$ROLE-$NODE_ID.properties," \
        "data $DATA_DIR/$ROLE-$NODE_ID)"
}

main "$@"
