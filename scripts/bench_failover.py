#!/usr/bin/env python3
"""Leader failover time: SIGKILL the leader of a partition, then time until an acks=all
produce to that partition succeeds (a producer created before the kill, as an application
would have). Repeats for --trials kills, restarting the killed broker and waiting for it to
rejoin the ISR between trials. Prints leader_failover_ms p50/p99/max.

Uses scripts/cluster.sh for the cluster (same CLUSTER_DIR/BASE_PORT environment)."""
import argparse
import os
import subprocess
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")


def state(admin, topic):
    p = admin.list_topics(topic, timeout=5).topics[topic].partitions[0]
    return p.leader, sorted(p.isrs)


def wait(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except Exception:
            pass
        time.sleep(0.05)
    sys.exit(f"bench_failover: timed out waiting for {what}")


def produce_one(p, topic, timeout):
    result = []
    p.produce(topic, b"x", partition=0, on_delivery=lambda e, m: result.append(e))
    deadline = time.monotonic() + timeout
    while not result and time.monotonic() < deadline:
        p.poll(0.005)
    return result and result[0] is None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--topic", default="failover-bench")
    args = ap.parse_args()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    fs = admin.create_topics([NewTopic(args.topic, 1, 3, config={"min.insync.replicas": "2"})])
    try:
        fs[args.topic].result(20)
    except Exception as e:
        if "already exists" not in str(e):
            raise
    def healthy():
        leader, isr = state(admin, args.topic)
        return leader > 0 and isr == [1, 2, 3]

    wait(healthy, 30, "a leader and a full ISR")
    times = []
    for trial in range(args.trials):
        p = Producer({"bootstrap.servers": args.bootstrap, "acks": "all",
                      "enable.idempotence": True, "linger.ms": 0,
                      "retry.backoff.ms": 20, "message.timeout.ms": 30000})
        assert produce_one(p, args.topic, 10), "warm-up produce failed"
        leader = state(admin, args.topic)[0]
        subprocess.run([CLUSTER_SH, "kill", f"b{leader}"], check=True, capture_output=True)
        t0 = time.monotonic()
        ok = produce_one(p, args.topic, 30)
        ms = (time.monotonic() - t0) * 1000
        p.flush(5)
        if not ok:
            sys.exit(f"bench_failover: trial {trial}: produce failed after the kill")
        times.append(ms)
        print(f"trial={trial} killed=b{leader} failover_ms={ms:.0f}", flush=True)
        subprocess.run([CLUSTER_SH, "restart", f"b{leader}"], check=True, capture_output=True)
        wait(healthy, 60, "restarted broker in the ISR")
    times.sort()
    pct = lambda q: times[min(len(times) - 1, int(q * (len(times) - 1) + 0.5))]
    print(f"leader_failover_ms trials={len(times)} p50={pct(0.5):.0f} p99={pct(0.99):.0f} "
          f"max={times[-1]:.0f}")


if __name__ == "__main__":
    main()
