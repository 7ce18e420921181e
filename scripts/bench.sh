#!/usr/bin/env bash
# scripts/bench.sh — performance figures of a 3-controller + 3-broker cluster on this
# machine (docs/performance.md explains them). Prints one line per figure; never fails on
# a number. Takes a few minutes.
#
#   scripts/bench.sh [--records N] [--runs R] [--failover-trials T] [--skip-failover]
#
# Environment: CLUSTER_DIR (default ./run/bench), BASE_PORT (default 29092), BIN_DIR.
# Producer settings used for the throughput runs (1 KiB records, acks=all):
#   linger.ms=5, batch.size=1 MiB, compression none, librdkafka defaults otherwise.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export CLUSTER_DIR=${CLUSTER_DIR:-$ROOT/run/bench}
export BASE_PORT=${BASE_PORT:-29092}
export BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
RECORDS=500000
RUNS=3
TRIALS=20
SKIP_FAILOVER=0
while [ $# -gt 0 ]; do
    case $1 in
    --records) RECORDS=$2; shift 2 ;;
    --runs) RUNS=$2; shift 2 ;;
    --failover-trials) TRIALS=$2; shift 2 ;;
    --skip-failover) SKIP_FAILOVER=1; shift ;;
    *) echo "usage: $0 [--records N] [--runs R] [--failover-trials T] [--skip-failover]" >&2; exit 2 ;;
    esac
done

SLUICE=$BIN_DIR/sluice
B="127.0.0.1:$BASE_PORT"
PROPS="bootstrap.servers=$B acks=all linger.ms=5 batch.size=1048576"

cleanup() { "$ROOT/scripts/cluster.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
rm -rf "$CLUSTER_DIR"
"$ROOT/scripts/cluster.sh" start >/dev/null

rss_line() {
    local out="" node pid
    for node in c1 c2 c3 b1 b2 b3; do
        pid=$(cat "$CLUSTER_DIR/pids/$node.pid")
        out="$out $node=$(( $(ps -o rss= -p "$pid") / 1024 ))MiB"
    done
    echo "idle_rss$out"
}
# idle: after start-up, before any topic exists
rss_line

"$SLUICE" topics --bootstrap-server "$B" --create --topic bench-rf3 --partitions 6 --replication-factor 3 >/dev/null
"$SLUICE" topics --bootstrap-server "$B" --create --topic bench-rf1 --partitions 6 --replication-factor 1 >/dev/null
"$SLUICE" topics --bootstrap-server "$B" --create --topic bench-e2e --partitions 6 --replication-factor 3 >/dev/null

# Each figure starts from a clean page cache state: the dirty pages an earlier phase left
# (gigabytes, at RF 3) would otherwise be written back during the next one, and writes
# into a page cache over vm.dirty_ratio block. The sustained figure below shows that cost.
settle() { sync; }

# median of the MB/s field of R runs
produce() {
    local topic=$1 throughput=$2 rates=() line
    for _ in $(seq 1 "$RUNS"); do
        settle
        line=$("$SLUICE" producer-perf-test --topic "$topic" --num-records "$RECORDS" \
            --record-size 1024 --throughput "$throughput" --producer-props $PROPS | tail -1)
        rates+=("$(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$line")")
        echo "  $topic: $line" >&2
    done
    printf '%s\n' "${rates[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)], a[1], a[NR]}'
}

read -r med lo hi < <(produce bench-rf3 -1)
echo "produce_rf3_acks_all_mb_s median=$med min=$lo max=$hi records=$RECORDS record_size=1024"
read -r med1 lo1 hi1 < <(produce bench-rf1 -1)
echo "produce_rf1_acks_all_mb_s median=$med1 min=$lo1 max=$hi1"

# sustained: four times the records in one run, so the brokers' dirty pages pass
# vm.dirty_ratio and the disk's write-back speed sets the pace
settle
line=$("$SLUICE" producer-perf-test --topic bench-rf3 --num-records $((RECORDS * 4)) \
    --record-size 1024 --throughput -1 --producer-props $PROPS | tail -1)
echo "produce_rf3_acks_all_sustained_mb_s $(sed -E 's/.*\(([0-9.]+) MB\/sec\).*/\1/' <<<"$line") records=$((RECORDS * 4))"

settle
line=$("$SLUICE" consumer-perf-test --bootstrap-server "$B" --topic bench-rf3 \
    --messages $((RECORDS * RUNS)) --hide-header | tail -1)
echo "consume_rf3_mb_s fetch_mb_s=$(cut -d, -f9 <<<"$line" | tr -d ' ') (consumer-perf-test: $line)"

# produce latency at 50 MB/s (51200 records/s of 1 KiB). linger.ms=2: with linger.ms=0
# librdkafka sends one request per record and tops out near 48k records/s on this
# machine, so the figure would measure its queue, not the cluster.
settle
line=$("$SLUICE" producer-perf-test --topic bench-rf3 --num-records 500000 --record-size 1024 \
    --throughput 51200 --producer-props bootstrap.servers=$B acks=all linger.ms=2 | tail -1)
echo "produce_latency_at_50mb_s linger_ms=2 $(sed -E 's/.*latency, ([0-9.]+) ms 50th, ([0-9.]+) ms 95th, ([0-9.]+) ms 99th, ([0-9.]+) ms 99.9th.*/p50=\1 p95=\2 p99=\3 p99.9=\4 ms/' <<<"$line")"

# end-to-end latency (produce → consumer poll) at 50 MB/s and at half the measured RF 3 rate
settle
"$BIN_DIR/bench_e2e" "$B" bench-e2e 51200 512000 1024 6 || true
half=$(awk -v m="$med" 'BEGIN { printf "%d", m * 1024 * 1024 / 1024 / 2 }')
settle
"$BIN_DIR/bench_e2e" "$B" bench-e2e "$half" $((half * 10)) 1024 6 || true

if [ "$SKIP_FAILOVER" = 0 ]; then
    /usr/bin/python3 "$ROOT/scripts/bench_failover.py" --bootstrap "$B,127.0.0.1:$((BASE_PORT + 1)),127.0.0.1:$((BASE_PORT + 2))" --trials "$TRIALS" | grep "^leader_failover_ms"
fi
