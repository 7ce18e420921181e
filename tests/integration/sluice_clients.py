"""Small helpers around the real Kafka clients used by the integration tests."""
import subprocess
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import wait_for


def admin(bootstrap):
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(bootstrap, name, partitions=1, rf=1, config=None, timeout=30):
    a = admin(bootstrap)
    futures = a.create_topics([NewTopic(name, partitions, rf, config=config or {})],
                              operation_timeout=timeout)
    futures[name].result(timeout)
    wait_for(lambda: topic_ready(bootstrap, name, partitions), timeout, f"topic {name} leaders")


def topic_ready(bootstrap, name, partitions):
    md = admin(bootstrap).list_topics(name, timeout=5)
    t = md.topics.get(name)
    if t is None or t.error is not None or len(t.partitions) != partitions:
        return False
    return all(p.leader >= 0 and p.error is None for p in t.partitions.values())


def producer(bootstrap, **conf):
    base = {"bootstrap.servers": bootstrap, "linger.ms": 5}
    base.update(conf)
    return Producer(base)


def produce_all(p, topic, messages, timeout=60):
    """messages: iterable of dicts with key/value/headers/partition/timestamp; returns the
    delivered (partition, offset, key, value) list; raises on any delivery error."""
    delivered, errors = [], []

    def cb(err, msg):
        if err:
            errors.append(err)
        else:
            delivered.append((msg.partition(), msg.offset(), msg.key(), msg.value()))

    for m in messages:
        while True:
            try:
                p.produce(topic, on_delivery=cb, **m)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    remaining = p.flush(timeout)
    assert remaining == 0, f"{remaining} messages not delivered"
    assert not errors, f"delivery errors: {errors[:5]}"
    return delivered


def consume_all(bootstrap, topic, expected, group=None, timeout=60, **conf):
    """Read until `expected` messages arrived (or time out); returns the message objects."""
    c = Consumer({"bootstrap.servers": bootstrap,
                  "group.id": group or f"it-{topic}-{time.monotonic_ns()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False, **conf})
    out = []
    try:
        if group is None:
            md = c.list_topics(topic, timeout=10)
            parts = [TopicPartition(topic, p, 0) for p in md.topics[topic].partitions]
            c.assign(parts)
        else:
            c.subscribe([topic])
        deadline = time.monotonic() + timeout
        while len(out) < expected and time.monotonic() < deadline:
            for msg in c.consume(num_messages=10000, timeout=0.5):
                if msg.error():
                    raise KafkaException(msg.error())
                out.append(msg)
    finally:
        c.close()
    return out


def consume_n(bootstrap, group, topic, n, timeout=60, **conf):
    """Consume n messages in group from the earliest offset, committing each synchronously;
    returns their offsets (asserts that n arrived within timeout seconds)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False, **conf})
    c.subscribe([topic])
    got = []
    deadline = time.monotonic() + timeout
    try:
        while len(got) < n and time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is None or msg.error():
                continue
            got.append(msg.offset())
            c.commit(message=msg, asynchronous=False)
    finally:
        c.close()
    assert len(got) == n, f"consumed {len(got)} of {n}"
    return got


def kcat(*args, input=None, timeout=60):
    r = subprocess.run(["kcat", *args], input=input, capture_output=True, timeout=timeout)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")
