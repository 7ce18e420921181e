#!/usr/bin/env bash
# scripts/chaos.sh — run the chaos suite (tests/chaos, docs/reliability.md) for as long as
# you like: a 3-controller + 3-broker cluster under seeded faults, idempotent acks=all
# producers and a consumer group, then the checker.
#
#   scripts/chaos.sh --minutes N [--seed S] [--netns] [--failpoint NAME] [--faults k,k]
#                    [--keep] [--out DIR] [--expect-violation]
#
# --seed S          replay a run: the same seed (and --faults) gives the same fault schedule
# --netns           every node in its own network namespace, so cuts are real (root only;
#                   skipped with a message otherwise); adds isolate_node, isolate_leader and
#                   one_way_cut to the faults
# --failpoint NAME  run failpoint binaries (built here into $B/fp with CHAOS_FAILPOINTS=1)
#                   with NAME switched on, e.g. ack_before_replication; add
#                   --expect-violation to succeed only when the checker catches it
# Environment: B (build directory, default build), BIN_DIR (binaries to run; default
# $B/bin, or $B/fp/bin with --failpoint), MAKE_JOBS (default 2).
# Prints the seed first and one result line last:
#   acked= lost= duplicated= reordered= phantom= unavailable_s= seed=
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-build}
PYTHON=${PYTHON:-/usr/bin/python3}
MAKE_JOBS=${MAKE_JOBS:-2}

failpoint=""
netns=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    case ${args[i]} in
    --failpoint) failpoint=${args[i + 1]:-} ;;
    --failpoint=*) failpoint=${args[i]#--failpoint=} ;;
    --netns) netns=1 ;;
    -h | --help)
        sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
        exec "$PYTHON" "$ROOT/tests/chaos/chaos.py" --help
        ;;
    esac
done

cd "$ROOT"
if [ -n "$failpoint" ]; then
    bin_dir=${BIN_DIR:-$B/fp/bin}
    make -s B="$B/fp" CHAOS_FAILPOINTS=1 -j"$MAKE_JOBS" \
        "$B/fp/bin/sluice-controller" "$B/fp/bin/sluice-broker" "$B/fp/bin/sluice"
else
    bin_dir=${BIN_DIR:-$B/bin}
    make -s B="$B" -j"$MAKE_JOBS" "$B/bin/sluice-controller" "$B/bin/sluice-broker" "$B/bin/sluice"
fi

tag="sc$$"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup_netns() {
    # the harness removes its namespaces itself; this catches a harness that was killed
    local ns
    for ns in $(ip netns list 2>/dev/null | awk -v t="$tag-" 'index($1, t) == 1 { print $1 }'); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}
if [ -n "$netns" ] && [ "$(id -u)" = 0 ]; then
    trap cleanup_netns EXIT
    set -- "$@" --netns-tag "$tag"
fi

status=0
"$PYTHON" tests/chaos/chaos.py --bin-dir "$bin_dir" "$@" || status=$?
exit $status
