"""A 3-controller + 3-broker cluster seen by real clients: metadata, topic creation and
placement, partition increases, name validation, kafka-python produce/consume."""
import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import NewPartitions, NewTopic
from kafka import KafkaConsumer, KafkaProducer

from conftest import wait_for
from sluice_clients import admin, create_topic, kcat, topic_ready


def test_kcat_metadata_lists_three_brokers(cluster):
    rc, out, err = kcat("-L", "-b", cluster.bootstrap, "-m", "10")
    assert rc == 0, err
    assert " 3 brokers:" in out
    for i in (1, 2, 3):
        assert f"broker {i} at 127.0.0.1:{cluster.broker_port(i)}" in out


def test_create_six_partitions_rf3_spreads_leaders(cluster):
    create_topic(cluster.bootstrap, "six", 6, 3)
    t = admin(cluster.bootstrap).list_topics("six", timeout=10).topics["six"]
    assert len(t.partitions) == 6
    leaders = [t.partitions[p].leader for p in range(6)]
    assert sorted(leaders) == [1, 1, 2, 2, 3, 3], leaders
    for p in t.partitions.values():
        assert sorted(p.replicas) == [1, 2, 3]
        assert sorted(p.isrs) == [1, 2, 3]


def _create_error(bootstrap, topic):
    a = admin(bootstrap)  # the client must outlive its futures
    fs = a.create_topics([topic], operation_timeout=10)
    with pytest.raises(KafkaException) as e:
        fs[topic.topic].result(15)
    return e.value.args[0]


@pytest.mark.parametrize("name", ["bad name", "x" * 250, "..", "no/slash", "tab\there"])
def test_invalid_topic_names_refused(cluster, name):
    err = _create_error(cluster.bootstrap, NewTopic(name, 1, 1))
    assert err.code() == KafkaError.TOPIC_EXCEPTION, err


def test_duplicate_topic_refused(cluster):
    create_topic(cluster.bootstrap, "twice", 1, 1)
    err = _create_error(cluster.bootstrap, NewTopic("twice", 1, 1))
    assert err.code() == KafkaError.TOPIC_ALREADY_EXISTS, err


def test_replication_factor_above_brokers_refused(cluster):
    err = _create_error(cluster.bootstrap, NewTopic("too-many", 1, 4))
    assert err.code() == KafkaError.INVALID_REPLICATION_FACTOR, err


def test_partitions_increase_and_decrease_refused(cluster):
    create_topic(cluster.bootstrap, "grow", 2, 3)
    a = admin(cluster.bootstrap)
    a.create_partitions([NewPartitions("grow", 4)], operation_timeout=10)["grow"].result(15)
    wait_for(lambda: topic_ready(cluster.bootstrap, "grow", 4), 20, "4 partitions with leaders")
    fs = a.create_partitions([NewPartitions("grow", 3)], operation_timeout=10)
    with pytest.raises(KafkaException) as e:
        fs["grow"].result(15)
    assert e.value.args[0].code() == KafkaError.INVALID_PARTITIONS
    assert "higher than the requested 3" in e.value.args[0].str()


def test_kafka_python_produces_and_consumes(cluster):
    create_topic(cluster.bootstrap, "kp", 3, 3)
    servers = cluster.bootstrap.split(",")
    p = KafkaProducer(bootstrap_servers=servers, acks="all", linger_ms=5)
    futures = [p.send("kp", key=b"k%d" % (i % 7), value=b"v%d" % i) for i in range(300)]
    p.flush(30)
    offsets = [f.get(timeout=30) for f in futures]
    assert all(md.offset >= 0 for md in offsets)
    p.close()
    c = KafkaConsumer("kp", bootstrap_servers=servers, auto_offset_reset="earliest",
                      consumer_timeout_ms=15000, group_id=None)
    values = []
    for m in c:
        values.append(m.value)
        if len(values) == 300:
            break
    c.close()
    assert sorted(values) == sorted(b"v%d" % i for i in range(300))
