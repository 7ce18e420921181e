"""cleanup.policy=compact on a real cluster: after enough small segments, a consumer
reading from the beginning sees (about) one record per key, the latest; tombstones and
retention interplay are covered by the storage unit tests."""

from conftest import wait_for
from sluice_clients import consume_all, create_topic, produce_all, producer


def test_compacted_topic_keeps_latest_per_key(cluster):
    create_topic(cluster.bootstrap, "compacted", 1, 3, config={
        "cleanup.policy": "compact", "segment.bytes": "2048",
        "min.cleanable.dirty.ratio": "0.01", "delete.retention.ms": "100"})
    p = producer(cluster.bootstrap, acks="all", **{"linger.ms": 0})
    latest = {}
    for round_ in range(40):
        msgs = [{"key": b"k%d" % k, "value": b"r%d-k%d" % (round_, k)} for k in range(10)]
        produce_all(p, "compacted", msgs)
        for k in range(10):
            latest[b"k%d" % k] = b"r%d-k%d" % (round_, k)

    def compacted():
        got = consume_all(cluster.bootstrap, "compacted", 400, timeout=3)
        return len(got) < 150 and got

    got = wait_for(compacted, 60, "the cleaner to compact the log")
    seen = {}
    offsets = [m.offset() for m in got]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
    for m in got:
        seen[m.key()] = m.value()
    assert seen == latest, "the latest value of every key survives compaction"
