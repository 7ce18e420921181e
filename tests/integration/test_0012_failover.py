"""Failures under real clients: SIGKILL of a partition leader during an idempotent
acks=all produce, min.insync.replicas with brokers down, and unclean leader election
off and on."""
import threading
import time

from confluent_kafka import KafkaError
from confluent_kafka.admin import NewTopic

from conftest import wait_for
from sluice_clients import admin, consume_all, create_topic, produce_all, producer


def partition_state(bootstrap, topic, partition=0):
    t = admin(bootstrap).list_topics(topic, timeout=5).topics[topic]
    p = t.partitions[partition]
    return p.leader, sorted(p.replicas), sorted(p.isrs)


def live_brokers(bootstrap):
    return sorted(admin(bootstrap).list_topics(timeout=5).brokers)


def ensure_all_up(cluster):
    for i in range(1, cluster.brokers + 1):
        if cluster.pid(f"b{i}") is None:
            cluster.restart(f"b{i}")
    wait_for(lambda: live_brokers(cluster.bootstrap) == [1, 2, 3], 60, "3 live brokers")


def test_leader_sigkill_during_idempotent_produce(cluster):
    create_topic(cluster.bootstrap, "fo", 1, 3, config={"min.insync.replicas": "2"})
    n = 20_000
    p = producer(cluster.bootstrap, acks="all", **{"enable.idempotence": True, "linger.ms": 2})
    result = {}

    def run():
        msgs = ({"key": b"k", "value": b"%d" % i} for i in range(n))
        result["delivered"] = produce_all(p, "fo", msgs, timeout=120)

    t = threading.Thread(target=run)
    t.start()
    wait_for(lambda: partition_state(cluster.bootstrap, "fo")[0] > 0, 20, "a leader")
    time.sleep(0.3)  # let the producer get under way before the kill
    leader = partition_state(cluster.bootstrap, "fo")[0]
    cluster.kill(f"b{leader}")
    t.join(180)
    assert not t.is_alive(), "producer did not finish"
    delivered = result["delivered"]
    assert len(delivered) == n
    got = consume_all(cluster.bootstrap, "fo", n, timeout=120)
    values = [int(m.value()) for m in got]
    assert len(values) == n, f"consumed {len(values)} of {n}"
    assert values == list(range(n)), "lost, duplicated or reordered values"
    new_leader = partition_state(cluster.bootstrap, "fo")[0]
    assert new_leader not in (-1, leader)
    cluster.restart(f"b{leader}")
    wait_for(lambda: partition_state(cluster.bootstrap, "fo")[2] == [1, 2, 3], 60,
             "restarted broker back in the ISR")


def test_min_insync_replicas_with_two_brokers_down(cluster):
    ensure_all_up(cluster)
    create_topic(cluster.bootstrap, "mi", 1, 3, config={"min.insync.replicas": "2"})
    leader = partition_state(cluster.bootstrap, "mi")[0]
    others = [b for b in (1, 2, 3) if b != leader]
    try:
        for b in others:
            cluster.kill(f"b{b}")
        wait_for(lambda: partition_state(cluster.bootstrap, "mi")[2] == [leader], 30,
                 "ISR shrunk to the leader")
        p = producer(cluster.bootstrap, acks="all", retries=0, **{"message.timeout.ms": 10000})
        errors = []
        p.produce("mi", b"x", on_delivery=lambda err, msg: errors.append(err))
        p.flush(20)
        assert errors and errors[0] is not None
        assert errors[0].code() == KafkaError.NOT_ENOUGH_REPLICAS, errors[0]
    finally:
        ensure_all_up(cluster)
    wait_for(lambda: partition_state(cluster.bootstrap, "mi")[2] == [1, 2, 3], 60, "ISR restored")


def _offline_then_return(cluster, topic, unclean):
    """Replicas [2, 3]: stop 3, write while it is out, stop 2 (the last ISR member), then
    bring back only 3. Returns the partition's leader as observed afterwards."""
    ensure_all_up(cluster)
    a = admin(cluster.bootstrap)
    cfg = {"unclean.leader.election.enable": "true"} if unclean else {}
    a.create_topics([NewTopic(topic, 1, replica_assignment=[[2, 3]], config=cfg)])[topic].result(15)
    wait_for(lambda: partition_state(cluster.bootstrap, topic)[2] == [2, 3], 30, "ISR [2, 3]")
    cluster.kill("b3")
    wait_for(lambda: partition_state(cluster.bootstrap, topic)[2] == [2], 30, "ISR [2]")
    produce_all(producer(cluster.bootstrap, acks="all"), topic, [{"value": b"only on 2"}])
    cluster.kill("b2")
    wait_for(lambda: partition_state(cluster.bootstrap, topic)[0] == -1, 30, "partition offline")
    cluster.restart("b3")
    wait_for(lambda: 3 in live_brokers(cluster.bootstrap), 60, "broker 3 back")


def test_unclean_election_off_keeps_partition_offline(cluster):
    try:
        _offline_then_return(cluster, "uc-off", unclean=False)
        # observe for a bounded window that no out-of-sync replica is elected
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            assert partition_state(cluster.bootstrap, "uc-off")[0] == -1
            time.sleep(0.2)
        cluster.restart("b2")
        wait_for(lambda: partition_state(cluster.bootstrap, "uc-off")[0] == 2, 60,
                 "the in-sync replica leads again")
        got = consume_all(cluster.bootstrap, "uc-off", 1)
        assert [m.value() for m in got] == [b"only on 2"]
    finally:
        ensure_all_up(cluster)


def test_unclean_election_on_elects_lagging_replica(cluster):
    try:
        _offline_then_return(cluster, "uc-on", unclean=True)
        wait_for(lambda: partition_state(cluster.bootstrap, "uc-on")[0] == 3, 30,
                 "the lagging replica elected uncleanly")
    finally:
        ensure_all_up(cluster)
