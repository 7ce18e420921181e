#!/usr/bin/env python3
"""Leader failover time: SIGKILL the leader of a partition (at a random moment, up to a second,
after producers connected to the healthy cluster sent their first record), then time, from
the kill:

  elected      until a surviving broker's Metadata names a new leader (server side)
  librdkafka   until an acks=all idempotent produce through confluent-kafka succeeds
  kafka-python until an acks=all produce through kafka-python succeeds

Repeats for --trials kills, restarting the killed broker and waiting for it to rejoin the
ISR between trials. Prints leader_failover_ms p50/p99/max for each.

librdkafka 2.0 looks up the leader of a partition whose broker is down only on its 1 s topic
scan, so its figure is the server's plus up to a second; kafka-python refreshes metadata as
soon as a connection fails and shows the server's time more directly.

Uses scripts/cluster.sh for the cluster (same CLUSTER_DIR/BASE_PORT environment)."""
import argparse
import logging
import os
import random
import subprocess
import sys
import threading
import time

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaProducer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")
logging.getLogger("kafka").setLevel(logging.CRITICAL)


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


def produce_rdkafka(p, topic, timeout):
    result = []
    p.produce(topic, b"x", partition=0, on_delivery=lambda e, m: result.append(e))
    deadline = time.monotonic() + timeout
    while not result and time.monotonic() < deadline:
        p.poll(0.005)
    return bool(result) and result[0] is None


def produce_kpy(kp, topic, timeout):
    try:
        kp.send(topic, b"x", partition=0).get(timeout=timeout)
        return True
    except Exception:
        return False


def survivors(bootstrap, killed_port):
    return ",".join(a for a in bootstrap.split(",") if not a.endswith(f":{killed_port}"))


def timed(results, name, t0, fn):
    ok = fn()
    results[name] = (time.monotonic() - t0) * 1000 if ok else None


def trial(args, admin, n):
    # producers connected to a healthy cluster (a client's reconnect backoff towards a broker
    # that was down in an earlier trial would otherwise be measured too)
    rdk = Producer({"bootstrap.servers": args.bootstrap, "acks": "all", "log_level": 2,
                    "enable.idempotence": True, "linger.ms": 0,
                    "retry.backoff.ms": 20, "message.timeout.ms": 30000})
    kpy = KafkaProducer(bootstrap_servers=args.bootstrap.split(","), acks="all", linger_ms=0,
                        retries=1000, retry_backoff_ms=20, request_timeout_ms=30000,
                        max_block_ms=30000)
    assert produce_rdkafka(rdk, args.topic, 10), "warm-up produce (librdkafka) failed"
    assert produce_kpy(kpy, args.topic, 10), "warm-up produce (kafka-python) failed"
    leader = state(admin, args.topic)[0]
    # a random phase relative to the clients' own timers
    time.sleep(random.uniform(0, 1.0))
    pid = int(open(os.path.join(os.environ["CLUSTER_DIR"], "pids", f"b{leader}.pid")).read())
    killed_port = int(args.bootstrap.split(",")[0].rsplit(":", 1)[1]) + leader - 1
    watcher = AdminClient({"bootstrap.servers": survivors(args.bootstrap, killed_port)})
    watcher.list_topics(args.topic, timeout=5)  # connected before the kill
    results = {}
    t0 = time.monotonic()
    os.kill(pid, 9)

    def elected():
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                new = watcher.list_topics(args.topic, timeout=1).topics[args.topic].partitions[0]
                if new.leader > 0 and new.leader != leader:
                    return True
            except Exception:
                pass
            time.sleep(0.002)
        return False

    threads = [threading.Thread(target=timed, args=(results, "elected", t0, elected)),
               threading.Thread(target=timed, args=(results, "kafka-python", t0,
                                                    lambda: produce_kpy(kpy, args.topic, 30)))]
    for t in threads:
        t.start()
    timed(results, "librdkafka", t0, lambda: produce_rdkafka(rdk, args.topic, 30))
    for t in threads:
        t.join()
    rdk.flush(5)
    kpy.close(5)
    if any(v is None for v in results.values()):
        sys.exit(f"bench_failover: trial {n}: {results}")
    print(f"trial={n} killed=b{leader} " +
          " ".join(f"{k}_ms={v:.0f}" for k, v in sorted(results.items())), flush=True)
    subprocess.run([CLUSTER_SH, "restart", f"b{leader}"], check=True, capture_output=True)
    return results


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
    times = {}
    for n in range(args.trials):
        for k, v in trial(args, admin, n).items():
            times.setdefault(k, []).append(v)
        wait(healthy, 60, "restarted broker in the ISR")
    for k in ("elected", "kafka-python", "librdkafka"):
        ts = sorted(times[k])
        pct = lambda q: ts[min(len(ts) - 1, int(q * (len(ts) - 1) + 0.5))]
        print(f"leader_failover_ms client={k} trials={len(ts)} p50={pct(0.5):.0f} "
              f"p99={pct(0.99):.0f} max={ts[-1]:.0f}")


if __name__ == "__main__":
    main()
