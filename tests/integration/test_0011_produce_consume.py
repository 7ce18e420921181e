"""Produce and consume with confluent-kafka (librdkafka): idempotent acks=all keyed
traffic read back exactly once in per-key order, every compression codec, headers and
null keys/values, CreateTime and LogAppendTime, ListOffsets by timestamp."""
import collections
import time

import pytest
from confluent_kafka import TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, Consumer, TopicPartition

from sluice_clients import consume_all, create_topic, produce_all, producer


def test_100k_keyed_idempotent_exactly_once_in_key_order(cluster):
    create_topic(cluster.bootstrap, "keyed", 6, 3)
    n = 100_000
    p = producer(cluster.bootstrap, acks="all", **{"enable.idempotence": True})
    msgs = ({"key": b"key-%d" % (i % 977), "value": b"%d" % i} for i in range(n))
    delivered = produce_all(p, "keyed", msgs, timeout=120)
    assert len(delivered) == n
    got = consume_all(cluster.bootstrap, "keyed", n, timeout=120)
    assert len(got) == n, f"consumed {len(got)} of {n}"
    values = [int(m.value()) for m in got]
    assert len(set(values)) == n, "duplicates were consumed"
    key_partition, per_key = {}, collections.defaultdict(list)
    for m in sorted(got, key=lambda m: (m.partition(), m.offset())):
        assert key_partition.setdefault(m.key(), m.partition()) == m.partition(), \
            f"key {m.key()} in two partitions"
        per_key[m.key()].append(int(m.value()))
    for key, vals in per_key.items():
        assert vals == sorted(vals), f"key {key} out of order"


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compression_round_trips(cluster, codec):
    topic = f"codec-{codec}"
    create_topic(cluster.bootstrap, topic, 2, 3)
    p = producer(cluster.bootstrap, acks="all", **{"compression.type": codec})
    payloads = [(b"%d" % i) * (1 + i % 50) for i in range(2000)]
    produce_all(p, topic, ({"key": b"k%d" % i, "value": v} for i, v in enumerate(payloads)))
    got = consume_all(cluster.bootstrap, topic, len(payloads))
    assert sorted(m.value() for m in got) == sorted(payloads)


def test_headers_null_keys_and_null_values(cluster):
    create_topic(cluster.bootstrap, "odd", 1, 3)
    p = producer(cluster.bootstrap, acks="all")
    msgs = [
        {"key": None, "value": b"no key"},
        {"key": b"tombstone", "value": None},
        {"key": b"h", "value": b"with headers", "headers": [("a", b"1"), ("b", None), ("a", b"2")]},
        {"key": b"", "value": b""},
    ]
    produce_all(p, "odd", msgs)
    got = consume_all(cluster.bootstrap, "odd", len(msgs))
    assert [(m.key(), m.value()) for m in got] == [
        (None, b"no key"), (b"tombstone", None), (b"h", b"with headers"), (b"", b"")]
    assert got[2].headers() == [("a", b"1"), ("b", None), ("a", b"2")]
    assert got[0].headers() is None


def test_create_time_and_log_append_time(cluster):
    create_topic(cluster.bootstrap, "ct", 1, 1)
    create_topic(cluster.bootstrap, "lat", 1, 1, config={"message.timestamp.type": "LogAppendTime"})
    p = producer(cluster.bootstrap, acks="all")
    old = 1_500_000_000_000
    before = int(time.time() * 1000)
    for topic in ("ct", "lat"):
        produce_all(p, topic, [{"value": b"x", "timestamp": old}])
    after = int(time.time() * 1000)
    ct = consume_all(cluster.bootstrap, "ct", 1)[0].timestamp()
    lat = consume_all(cluster.bootstrap, "lat", 1)[0].timestamp()
    assert ct == (TIMESTAMP_CREATE_TIME, old)
    assert lat[0] == TIMESTAMP_LOG_APPEND_TIME
    assert before - 1000 <= lat[1] <= after + 1000


def test_list_offsets_by_timestamp(cluster):
    create_topic(cluster.bootstrap, "times", 1, 3)
    p = producer(cluster.bootstrap, acks="all", **{"linger.ms": 50})
    base = 1_700_000_000_000
    produce_all(p, "times", [{"value": b"%d" % i, "timestamp": base + i * 1000} for i in range(100)])
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "times-lookup"})
    try:
        for i, want in ((0, 0), (10, 10), (55, 55), (99, 99)):
            res = c.offsets_for_times([TopicPartition("times", 0, base + i * 1000)], timeout=10)
            assert res[0].offset == want, (i, res[0])
        res = c.offsets_for_times([TopicPartition("times", 0, base + 10_500)], timeout=10)
        assert res[0].offset == 11
        res = c.offsets_for_times([TopicPartition("times", 0, base + 1_000_000)], timeout=10)
        assert res[0].offset == -1
        lo, hi = c.get_watermark_offsets(TopicPartition("times", 0), timeout=10)
        assert (lo, hi) == (0, 100)
    finally:
        c.close()
