"""Consumer groups with real clients: three confluent-kafka consumers share a 6-partition
topic (disjoint, covering assignments), a closed member's and a SIGKILLed member's
partitions move to the others, cooperative-sticky rebalances, committed offsets survive a
consumer restart, auto.offset.reset earliest/latest/none, kafka-python and kafkajs
consumers, simple (assign()) commits, and the admin side (ListGroups, DescribeGroups,
OffsetFetch, DeleteGroups).

The cluster runs with short group timeouts so membership changes settle in seconds:
group.initial.rebalance.delay.ms=0 and group.min.session.timeout.ms=1000."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest
from confluent_kafka import Consumer, KafkaError, TopicPartition
from kafka import KafkaAdminClient, KafkaConsumer
from kafka.consumer.fetcher import NoOffsetForPartitionError

from conftest import make_cluster, wait_for
from sluice_clients import consume_n, create_topic, produce_all, producer

HERE = os.path.dirname(os.path.abspath(__file__))
JS_DIR = os.path.join(HERE, "js")
PYTHON = "/usr/bin/python3"
GROUP_OVERRIDES = ("group.initial.rebalance.delay.ms=0", "group.min.session.timeout.ms=1000")
SESSION_MS = 3000
SESSION = {"session.timeout.ms": SESSION_MS}


@pytest.fixture(scope="module")
def cluster(request):
    return make_cluster(request, broker_overrides=GROUP_OVERRIDES)


class Member(threading.Thread):
    """A confluent-kafka group member polling in its own thread; .assigned is its current
    assignment as a set of partition ids."""

    def __init__(self, bootstrap, group, topic, **conf):
        super().__init__(daemon=True)
        self.topic = topic
        self.assigned = set()
        self.rebalances = 0  # assign and revoke callbacks seen
        self.messages = []
        self.errors = []
        self.stop_event = threading.Event()
        self.consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                                  "session.timeout.ms": SESSION_MS,
                                  "heartbeat.interval.ms": 300,
                                  "auto.offset.reset": "earliest", **conf})
        self.start()

    def on_rebalance(self, consumer, partitions):
        self.rebalances += 1

    def run(self):
        self.consumer.subscribe([self.topic], on_assign=self.on_rebalance,
                                on_revoke=self.on_rebalance)
        while not self.stop_event.is_set():
            msg = self.consumer.poll(0.1)
            if msg is not None:
                if msg.error():
                    self.errors.append(msg.error())
                else:
                    self.messages.append(msg)
            self.assigned = {tp.partition for tp in self.consumer.assignment()}
        self.consumer.close()

    def close(self):
        self.stop_event.set()
        self.join(30)
        assert not self.is_alive()


def covering(members, partitions):
    """True when the members' assignments are non-empty, disjoint and cover partitions."""
    sets = [m.assigned for m in members]
    union = set().union(*sets)
    return all(sets) and union == set(range(partitions)) and sum(map(len, sets)) == partitions


def test_three_members_get_disjoint_covering_assignments_then_close_one(cluster):
    create_topic(cluster.bootstrap, "g6", 6, 3)
    members = [Member(cluster.bootstrap, "three", "g6") for _ in range(3)]
    try:
        wait_for(lambda: covering(members, 6), 60, "3 members covering 6 partitions")
        assert sorted(len(m.assigned) for m in members) == [2, 2, 2]  # range: 6 / 3
        members[0].close()
        wait_for(lambda: covering(members[1:], 6), 30, "2 members covering 6 partitions")
    finally:
        for m in members[1:]:
            m.close()


CHILD = """
import json, sys
from confluent_kafka import Consumer
c = Consumer({"bootstrap.servers": sys.argv[1], "group.id": sys.argv[2],
              "session.timeout.ms": int(sys.argv[4]), "heartbeat.interval.ms": 300,
              "auto.offset.reset": "earliest"})
c.subscribe([sys.argv[3]])
last = None
while True:
    c.poll(0.1)
    now = sorted(tp.partition for tp in c.assignment())
    if now != last:
        print(json.dumps(now), flush=True)
        last = now
"""


def test_sigkilled_member_partitions_move_after_session_timeout(cluster):
    create_topic(cluster.bootstrap, "gk", 6, 3)
    child = subprocess.Popen([PYTHON, "-c", CHILD, cluster.bootstrap, "killed", "gk",
                              str(SESSION_MS)], stdout=subprocess.PIPE, text=True)
    child_assigned = []
    reader = threading.Thread(target=lambda: [child_assigned.append(json.loads(line))
                                              for line in child.stdout], daemon=True)
    reader.start()
    members = [Member(cluster.bootstrap, "killed", "gk") for _ in range(2)]
    try:
        wait_for(lambda: child_assigned and child_assigned[-1] and
                 set(child_assigned[-1]).isdisjoint(set().union(*[m.assigned for m in members]))
                 and len(child_assigned[-1]) + sum(len(m.assigned) for m in members) == 6
                 and all(m.assigned for m in members), 60, "3 members with the child")
        killed_at = time.monotonic()
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        wait_for(lambda: covering(members, 6), 30, "survivors covering 6 partitions")
        elapsed = time.monotonic() - killed_at
        # the session timeout, then one rebalance; never instantly (the coordinator cannot
        # know before the session expires)
        assert elapsed >= SESSION_MS / 1000 * 0.8, elapsed
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
        for m in members:
            m.close()


def test_cooperative_sticky_rebalances_incrementally(cluster):
    create_topic(cluster.bootstrap, "gc", 6, 3)
    conf = {"partition.assignment.strategy": "cooperative-sticky"}
    a = Member(cluster.bootstrap, "coop", "gc", **conf)
    try:
        wait_for(lambda: a.assigned == set(range(6)), 60, "first member owning everything")
        b = Member(cluster.bootstrap, "coop", "gc", **conf)
        try:
            wait_for(lambda: covering([a, b], 6), 60, "cooperative split")
            assert len(a.assigned) == 3 and len(b.assigned) == 3
        finally:
            b.close()
        wait_for(lambda: a.assigned == set(range(6)), 30, "partitions back to the first member")
    finally:
        a.close()


def test_static_member_restart_keeps_assignment_without_rebalance(cluster):
    create_topic(cluster.bootstrap, "gst", 4, 3)
    a = Member(cluster.bootstrap, "static", "gst", **{"group.instance.id": "a",
                                                      "session.timeout.ms": 10000})
    b = Member(cluster.bootstrap, "static", "gst", **{"group.instance.id": "b",
                                                      "session.timeout.ms": 10000})
    try:
        wait_for(lambda: covering([a, b], 4), 60, "2 static members covering 4 partitions")
        before_a, before_b, callbacks = set(a.assigned), set(b.assigned), a.rebalances
        b.close()  # a static member leaves no LeaveGroup behind: its session holds its place
        b = Member(cluster.bootstrap, "static", "gst", **{"group.instance.id": "b",
                                                          "session.timeout.ms": 10000})
        wait_for(lambda: b.assigned == before_b, 30, "the restarted member's old partitions")
        time.sleep(1.0)  # a rebalance, if one happened, would reach a within a heartbeat
        assert a.assigned == before_a
        assert a.rebalances == callbacks, "the other member was rebalanced"
    finally:
        a.close()
        b.close()


def test_kcat_group_consumer(cluster):
    """kcat links the system librdkafka (2.x): flexible OffsetFetch/OffsetCommit versions."""
    if shutil.which("kcat") is None:
        pytest.skip("kcat is not installed")
    create_topic(cluster.bootstrap, "gkc", 2, 3)
    produce_all(producer(cluster.bootstrap, acks="all"),
                "gkc", ({"value": b"v%d" % i, "partition": i % 2} for i in range(10)))
    r = subprocess.run(["kcat", "-b", cluster.bootstrap, "-G", "kcatgroup", "-o", "beginning",
                        "-e", "-X", "session.timeout.ms=6000", "-f", "%s\\n", "gkc"],
                       capture_output=True, text=True, timeout=60)
    assert sorted(r.stdout.split()) == sorted("v%d" % i for i in range(10)), r.stderr
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "kcatgroup"})
    committed = c.committed([TopicPartition("gkc", p) for p in range(2)], timeout=10)
    c.close()
    assert [tp.offset for tp in committed] == [5, 5]


def test_committed_offsets_survive_consumer_restart(cluster):
    create_topic(cluster.bootstrap, "gr", 1, 3)
    produce_all(producer(cluster.bootstrap, acks="all"),
                "gr", ({"value": b"%d" % i} for i in range(20)))
    assert consume_n(cluster.bootstrap, "restart", "gr", 8, **SESSION) == list(range(8))
    # a new consumer of the group resumes where the last commit left off
    assert consume_n(cluster.bootstrap, "restart", "gr", 12, **SESSION) == list(range(8, 20))
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "restart"})
    committed = c.committed([TopicPartition("gr", 0)], timeout=10)
    c.close()
    assert committed[0].offset == 20


def test_auto_offset_reset_earliest_latest_none(cluster):
    create_topic(cluster.bootstrap, "ga", 1, 3)
    p = producer(cluster.bootstrap, acks="all")
    produce_all(p, "ga", ({"value": b"old-%d" % i} for i in range(5)))
    assert consume_n(cluster.bootstrap, "reset-earliest", "ga", 5, **SESSION) == list(range(5))

    late = Member(cluster.bootstrap, "reset-latest", "ga", **{"auto.offset.reset": "latest"})
    try:
        wait_for(lambda: late.assigned == {0}, 60, "latest consumer assigned")
        time.sleep(1.0)  # its position is resolved to the log end shortly after assignment
        assert not late.messages
        produce_all(p, "ga", ({"value": b"new-%d" % i} for i in range(3)))
        wait_for(lambda: len(late.messages) == 3, 30, "only the new messages")
        assert [m.value() for m in late.messages] == [b"new-0", b"new-1", b"new-2"]
    finally:
        late.close()

    # kafka-python names it "none": no committed offset is an error, not a guess
    kc = KafkaConsumer("ga", bootstrap_servers=cluster.bootstrap, group_id="reset-none",
                       auto_offset_reset="none", consumer_timeout_ms=20000)
    try:
        with pytest.raises(NoOffsetForPartitionError):
            next(iter(kc))
    finally:
        kc.close()
    # librdkafka calls it "error": an _AUTO_OFFSET_RESET error event
    err = Member(cluster.bootstrap, "reset-error", "ga", **{"auto.offset.reset": "error"})
    try:
        wait_for(lambda: any(e.code() == KafkaError._AUTO_OFFSET_RESET for e in err.errors), 60,
                 "auto offset reset error")
        assert not err.messages
    finally:
        err.close()


def test_simple_commit_without_group_membership(cluster):
    create_topic(cluster.bootstrap, "gs", 2, 3)
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "simple",
                  "enable.auto.commit": False})
    try:
        c.assign([TopicPartition("gs", 0, 0), TopicPartition("gs", 1, 0)])
        c.commit(offsets=[TopicPartition("gs", 0, 7), TopicPartition("gs", 1, 9)],
                 asynchronous=False)
        got = c.committed([TopicPartition("gs", 0), TopicPartition("gs", 1)], timeout=10)
        assert [tp.offset for tp in got] == [7, 9]
    finally:
        c.close()


def test_kafka_python_group_consumes_and_commits(cluster):
    create_topic(cluster.bootstrap, "gp", 3, 3)
    produce_all(producer(cluster.bootstrap, acks="all"),
                "gp", ({"key": b"%d" % i, "value": b"%d" % i} for i in range(30)))
    kc = KafkaConsumer("gp", bootstrap_servers=cluster.bootstrap, group_id="kpy",
                       auto_offset_reset="earliest", enable_auto_commit=False,
                       consumer_timeout_ms=30000)
    try:
        values = set()
        for msg in kc:
            values.add(int(msg.value))
            if len(values) == 30:
                break
        assert values == set(range(30))
        kc.commit()
    finally:
        kc.close()
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        offsets = admin.list_consumer_group_offsets("kpy")
        assert sum(o.offset for tp, o in offsets.items() if tp.topic == "gp") == 30
    finally:
        admin.close()


def test_kafkajs_group_consumes(cluster):
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    if not os.path.isdir(os.path.join(JS_DIR, "node_modules", "kafkajs")):
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS_DIR, check=True,
                       timeout=300, capture_output=True)
    create_topic(cluster.bootstrap, "gj", 3, 3)
    produce_all(producer(cluster.bootstrap, acks="all"),
                "gj", ({"value": b"%d" % i} for i in range(50)))
    r = subprocess.run([node, os.path.join(JS_DIR, "consume.js"), cluster.bootstrap, "gj",
                        "kjs", "50"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    result = json.loads(r.stdout.strip().splitlines()[-1])
    assert sorted(map(int, result["values"])) == list(range(50))
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "kjs"})
    committed = c.committed([TopicPartition("gj", p) for p in range(3)], timeout=10)
    c.close()
    assert sum(tp.offset for tp in committed if tp.offset >= 0) == 50


def test_list_describe_and_delete_groups(cluster):
    create_topic(cluster.bootstrap, "gd", 2, 3)
    m = Member(cluster.bootstrap, "described", "gd")
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        wait_for(lambda: m.assigned == {0, 1}, 60, "member assigned")
        groups = dict(admin.list_consumer_groups())
        assert groups.get("described") == "consumer"
        desc = admin.describe_consumer_groups(["described"])[0]
        assert desc.state == "Stable"
        assert desc.protocol in ("range", "roundrobin")
        assert len(desc.members) == 1
        # a live group cannot be deleted
        result = dict(admin.delete_consumer_groups(["described"]))
        assert result["described"].__name__ == "NonEmptyGroupError"
        m.close()
        wait_for(lambda: admin.describe_consumer_groups(["described"])[0].state == "Empty", 30,
                 "group empty after the member left")
        result = dict(admin.delete_consumer_groups(["described"]))
        assert result["described"].__name__ == "NoError"
        assert admin.describe_consumer_groups(["described"])[0].state == "Dead"
        result = dict(admin.delete_consumer_groups(["described"]))
        assert result["described"].__name__ == "GroupIdNotFoundError"
    finally:
        if m.is_alive():
            m.close()
        admin.close()
