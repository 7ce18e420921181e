#!/usr/bin/env bash
# scripts/bench-groups.sh — group coordinator figures on a local 3-controller + 3-broker
# cluster (scripts/cluster.sh, default settings), measured with confluent-kafka consumers:
#
#   rebalance 3->2 (leave)   a member closes (LeaveGroup) -> the other two own every partition
#   rebalance 3->2 (kill)    a member process is SIGKILLed -> the other two own every partition
#                            (includes session.timeout.ms, printed separately)
#   coordinator failover     the broker leading the group's __consumer_offsets partition is
#                            SIGKILLed -> a live member's commit is accepted again
#   OffsetCommit latency     synchronous commits of one partition: p50 / p99 / max
#
# Environment: BIN_DIR (build/bin), BASE_PORT (default: a free range), ROUNDS (3),
# COMMITS (2000), SESSION_MS (6000: Kafka's group.min.session.timeout.ms).
# Prints one "name value unit" line per figure. Never fails on a number.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
export BIN_DIR=${BIN_DIR:-$ROOT/build/bin}
export ROUNDS=${ROUNDS:-3} COMMITS=${COMMITS:-2000} SESSION_MS=${SESSION_MS:-6000}
export CLUSTER_DIR=${CLUSTER_DIR:-$(mktemp -d /tmp/sluice-bench-groups-XXXXXX)}
export BASE_PORT=${BASE_PORT:-$(cd "$ROOT/tests/integration" &&
    /usr/bin/python3 -c 'import sluice_ports; print(sluice_ports.pick_base_port(3))')}

cleanup() { "$ROOT/scripts/cluster.sh" stop >/dev/null 2>&1 || true; }
trap cleanup EXIT
BOOTSTRAP=$("$ROOT/scripts/cluster.sh" start | sed -n 's/^BOOTSTRAP=//p')
export BOOTSTRAP ROOT
echo "# cluster: $CLUSTER_DIR bootstrap=$BOOTSTRAP"

/usr/bin/python3 - <<'PY'
import json, os, signal, statistics, subprocess, threading, time
from confluent_kafka import Consumer, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

BOOT = os.environ["BOOTSTRAP"]
ROUNDS, COMMITS = int(os.environ["ROUNDS"]), int(os.environ["COMMITS"])
SESSION_MS = int(os.environ["SESSION_MS"])
admin = AdminClient({"bootstrap.servers": BOOT})


def wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {what}")


def topic(name, partitions):
    admin.create_topics([NewTopic(name, partitions, 3)])[name].result(30)
    wait(lambda: all(p.leader >= 0 for p in
                     admin.list_topics(name, timeout=5).topics[name].partitions.values()), 30,
         f"{name} leaders")


class Member(threading.Thread):
    def __init__(self, group, name):
        super().__init__(daemon=True)
        self.assigned, self.stop = set(), threading.Event()
        self.c = Consumer({"bootstrap.servers": BOOT, "group.id": group,
                           "session.timeout.ms": SESSION_MS, "heartbeat.interval.ms": 300})
        self.name = name
        self.start()

    def run(self):
        self.c.subscribe([self.name])
        while not self.stop.is_set():
            self.c.poll(0.01)
            self.assigned = {tp.partition for tp in self.c.assignment()}
        self.c.close()


def covering(members, n):
    sets = [m.assigned for m in members]
    return all(sets) and set().union(*sets) == set(range(n)) and sum(map(len, sets)) == n


CHILD = ("import sys\nfrom confluent_kafka import Consumer\n"
         "c = Consumer({'bootstrap.servers': sys.argv[1], 'group.id': sys.argv[2],"
         " 'session.timeout.ms': int(sys.argv[4]), 'heartbeat.interval.ms': 300})\n"
         "c.subscribe([sys.argv[3]])\n"
         "while True:\n    c.poll(0.05)\n    print(len(c.assignment()), flush=True)\n")


def rebalance(kind, round_no):
    name = f"bench-{kind}-{round_no}"
    topic(name, 6)
    members = [Member(name, name) for _ in range(2)]
    child, third = None, None
    if kind == "kill":
        child = subprocess.Popen(["/usr/bin/python3", "-c", CHILD, BOOT, name, name,
                                  str(SESSION_MS)], stdout=subprocess.PIPE, text=True)
        sizes = []
        threading.Thread(target=lambda: [sizes.append(int(x)) for x in child.stdout],
                         daemon=True).start()
        wait(lambda: sizes and sizes[-1] == 2 and all(len(m.assigned) == 2 for m in members)
             and len(members[0].assigned | members[1].assigned) == 4, 60, "3 members")
    else:
        third = Member(name, name)
        wait(lambda: covering(members + [third], 6), 60, "3 members")
    t0 = time.monotonic()
    if child:
        child.send_signal(signal.SIGKILL)
        child.wait()
    else:
        third.stop.set()
    wait(lambda: covering(members, 6), 120, "2 members covering")
    elapsed = time.monotonic() - t0
    for m in members:
        m.stop.set()
    return elapsed


def report(name, values, unit="s"):
    print(f"{name} {statistics.median(values):.3f} {unit} (median of {len(values)}: "
          + ", ".join(f"{v:.3f}" for v in values) + ")", flush=True)


leave = [rebalance("leave", i) for i in range(ROUNDS)]
report("rebalance_3_to_2_leave", leave)
kill = [rebalance("kill", i) for i in range(ROUNDS)]
report("rebalance_3_to_2_kill", kill)
report("rebalance_3_to_2_kill_minus_session", [k - SESSION_MS / 1000 for k in kill])

# OffsetCommit latency: synchronous commits from a group member
topic("bench-commit", 1)
c = Consumer({"bootstrap.servers": BOOT, "group.id": "bench-commit",
              "enable.auto.commit": False})
c.assign([TopicPartition("bench-commit", 0, 0)])
c.commit(offsets=[TopicPartition("bench-commit", 0, 0)], asynchronous=False)
lat = []
for i in range(COMMITS):
    t = time.perf_counter()
    c.commit(offsets=[TopicPartition("bench-commit", 0, i + 1)], asynchronous=False)
    lat.append((time.perf_counter() - t) * 1000)
c.close()
lat.sort()
print(f"offset_commit_latency_p50 {lat[len(lat) // 2]:.3f} ms", flush=True)
print(f"offset_commit_latency_p99 {lat[int(len(lat) * 0.99) - 1]:.3f} ms", flush=True)
print(f"offset_commit_latency_max {lat[-1]:.3f} ms", flush=True)

# coordinator failover: kill the broker leading the group's offsets partition
def java_hash(s):
    data, h = s.encode("utf-16-be"), 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


group = "bench-failover"
topic(group, 1)
offsets_md = admin.list_topics("__consumer_offsets", timeout=5).topics["__consumer_offsets"]
h = java_hash(group)
leader = offsets_md.partitions[0 if h == -(1 << 31) else abs(h) % len(offsets_md.partitions)].leader
c = Consumer({"bootstrap.servers": BOOT, "group.id": group, "enable.auto.commit": False,
              "session.timeout.ms": 30000})
c.subscribe([group])
wait(lambda: c.poll(0.05) is None and bool(c.assignment()), 60, "failover member assigned")
n = 0
c.commit(offsets=[TopicPartition(group, 0, n)], asynchronous=False)
subprocess.run([os.path.join(os.environ["ROOT"], "scripts", "cluster.sh"), "kill", f"b{leader}"],
               check=True, capture_output=True)
t0 = time.monotonic()
while True:
    c.poll(0.01)
    n += 1
    try:
        c.commit(offsets=[TopicPartition(group, 0, n)], asynchronous=False)
        break
    except KafkaException:
        time.sleep(0.05)
    if time.monotonic() - t0 > 120:
        raise SystemExit("no commit accepted after failover")
print(f"coordinator_failover {time.monotonic() - t0:.3f} s (killed b{leader}; "
      f"includes broker.session.timeout.ms fencing)", flush=True)
c.close()
PY
