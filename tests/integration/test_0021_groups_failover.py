"""Coordinator failover: the broker leading a group's __consumer_offsets partition is
SIGKILLed; its successor loads the partition and serves the group — committed offsets are
still there for a new consumer, and a live member commits again without losing its place.

Brokers are fenced after broker.session.timeout.ms=3000 here so the test stays short;
scripts/bench-groups.sh measures the same failover with the defaults."""
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaException, TopicPartition

from conftest import make_cluster, wait_for
from sluice_clients import admin, consume_n, create_topic, produce_all, producer

OFFSETS_TOPIC = "__consumer_offsets"
SESSION_MS = 3000
SESSION = {"session.timeout.ms": SESSION_MS}


@pytest.fixture(scope="module")
def cluster(request):
    return make_cluster(request,
                        broker_overrides=("group.initial.rebalance.delay.ms=0",
                                          "group.min.session.timeout.ms=1000"),
                        controller_overrides=("broker.session.timeout.ms=3000",))


def java_hash(s):
    """Java's String.hashCode: over UTF-16 code units, 32-bit wrap-around."""
    data = s.encode("utf-16-be")
    h = 0
    for i in range(0, len(data), 2):
        h = (31 * h + (data[i] << 8 | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def coordinator_partition(group, partitions):
    h = java_hash(group)
    return 0 if h == -(1 << 31) else abs(h) % partitions


def coordinator(bootstrap, group):
    """(partition of __consumer_offsets, its leader) for group, from the metadata."""
    md = admin(bootstrap).list_topics(OFFSETS_TOPIC, timeout=5).topics[OFFSETS_TOPIC]
    p = coordinator_partition(group, len(md.partitions))
    return p, md.partitions[p].leader


def ensure_all_up(cluster):
    for i in range(1, cluster.brokers + 1):
        if cluster.pid(f"b{i}") is None:
            cluster.restart(f"b{i}")
    wait_for(lambda: sorted(admin(cluster.bootstrap).list_topics(timeout=5).brokers)
             == [1, 2, 3], 60, "3 live brokers")


def test_committed_offsets_survive_coordinator_failover(cluster):
    create_topic(cluster.bootstrap, "ff", 1, 3)
    produce_all(producer(cluster.bootstrap, acks="all"),
                "ff", ({"value": b"%d" % i} for i in range(30)))
    got = consume_n(cluster.bootstrap, "fo-offsets", "ff", 10, timeout=90, **SESSION)
    assert got == list(range(10))
    partition, leader = coordinator(cluster.bootstrap, "fo-offsets")
    assert leader > 0
    try:
        cluster.kill(f"b{leader}")
        wait_for(lambda: coordinator(cluster.bootstrap, "fo-offsets")[1] not in (-1, leader), 60,
                 f"a new leader for {OFFSETS_TOPIC}-{partition}")
        # the new coordinator loaded the commits: the group resumes at offset 10
        got = consume_n(cluster.bootstrap, "fo-offsets", "ff", 20, timeout=90, **SESSION)
        assert got == list(range(10, 30))
    finally:
        ensure_all_up(cluster)


def test_live_member_commits_again_after_coordinator_failover(cluster):
    create_topic(cluster.bootstrap, "fl", 2, 3)
    produce_all(producer(cluster.bootstrap, acks="all"),
                "fl", ({"value": b"%d" % i} for i in range(200)))
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "fo-live",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "session.timeout.ms": 10000, "heartbeat.interval.ms": 500})
    c.subscribe(["fl"])
    state = {"commits": [], "consumed": 0, "stop": False}

    def run():
        while not state["stop"]:
            msg = c.poll(0.05)
            if msg is None or msg.error():
                continue
            state["consumed"] += 1
            try:
                c.commit(message=msg, asynchronous=False)
                state["commits"].append((time.monotonic(), msg.partition(), msg.offset()))
            except KafkaException:
                pass  # coordinator moving: the next message's commit retries
            time.sleep(0.05)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        wait_for(lambda: len(state["commits"]) >= 5, 60, "first commits")
        _, leader = coordinator(cluster.bootstrap, "fo-live")
        killed = time.monotonic()
        cluster.kill(f"b{leader}")
        wait_for(lambda: any(ts > killed + 0.5 for ts, _, _ in state["commits"]), 60,
                 "a commit accepted by the new coordinator")
        first = min(ts for ts, _, _ in state["commits"] if ts > killed + 0.5)
        print(f"coordinator failover: kill -> commit again in {first - killed:.2f}s")
    finally:
        state["stop"] = True
        t.join(30)
        c.close()
        ensure_all_up(cluster)
    # nothing committed before the kill was lost: the committed offsets are at least the last
    # ones acknowledged
    last = {}
    for _, p, off in state["commits"]:
        last[p] = max(last.get(p, -1), off + 1)
    check = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "fo-live"})
    committed = check.committed([TopicPartition("fl", p) for p in sorted(last)], timeout=10)
    check.close()
    for tp in committed:
        assert tp.offset >= last[tp.partition], (tp, last)
