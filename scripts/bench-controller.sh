#!/usr/bin/env bash
# scripts/bench-controller.sh — controller figures on a local 3-controller + 3-broker
# cluster (scripts/cluster.sh, default settings), measured with confluent-kafka's
# AdminClient and `sluice metadata-quorum` (scripts/bench_controller.py explains each):
#
#   controller_failover_ms    SIGKILL of the active controller -> a CreateTopics succeeds
#   controller_election_ms    ... -> a new leader at a higher epoch (from its log)
#   controller_active_ms      ... -> the new leader serves requests (from its log)
#   controller_brokers_follow_ms  ... -> every broker follows the new leader (their logs)
#   controller_catchup_ms     restart of the killed controller -> all three voters at lag 0
#   metadata_commit_ms        sequential CreateTopics (1 partition, RF 3) and AlterConfigs
#   partitions_10k*           10,000 partitions at RF 3 (100 topics x 100): creation, every
#                             broker's Metadata, RSS, open files, idle CPU over 10 s
#
# Environment: BIN_DIR (build/bin), BASE_PORT (default: a free range), TRIALS (20),
# COMMITS (200), PARTITION_TOPICS (100 topics of 100 partitions), PARTITION_BATCH (1 topic
# per CreateTopics request), SKIP (comma list of failover,commit,partitions),
# KEEP_CLUSTER_DIR (1 keeps the cluster's logs and data; by default they are removed).
# Each broker needs about 4 open files per partition replica: 10,000 partitions at RF 3
# need ~40,000 (`ulimit -n`; the systemd units set LimitNOFILE=1048576).
# Prints one "name key=value …" line per figure. Never fails on a number.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
export TRIALS=${TRIALS:-20} COMMITS=${COMMITS:-200} SKIP=${SKIP:-}
export PARTITION_TOPICS=${PARTITION_TOPICS:-100} PARTITION_BATCH=${PARTITION_BATCH:-1}
export CONTROLLERS=3 BROKERS=3
export CLUSTER_DIR=${CLUSTER_DIR:-$(mktemp -d /tmp/sluice-bench-controller-XXXXXX)}
export BASE_PORT=${BASE_PORT:-$(cd "$ROOT/tests/integration" &&
    /usr/bin/python3 -c 'import sluice_ports; print(sluice_ports.pick_base_port(3))')}

cleanup() {
    "$ROOT/scripts/cluster.sh" stop >/dev/null 2>&1 || true
    if [ "${KEEP_CLUSTER_DIR:-0}" != 1 ]; then rm -rf "$CLUSTER_DIR"; fi
}
trap cleanup EXIT
BOOTSTRAP=$("$ROOT/scripts/cluster.sh" start | sed -n 's/^BOOTSTRAP=//p')
export BOOTSTRAP ROOT
echo "# cluster: $CLUSTER_DIR bootstrap=$BOOTSTRAP open_files_limit=$(ulimit -n)"

/usr/bin/python3 "$ROOT/scripts/bench_controller.py" --trials "$TRIALS" --commits "$COMMITS" \
    --topics "$PARTITION_TOPICS" --batch "$PARTITION_BATCH" --skip "$SKIP" ||
    echo "# bench_controller.py exited with status $?"
