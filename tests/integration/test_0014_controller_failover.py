"""Controller failover under real clients: the active controller is SIGKILLed round after
round while an admin client keeps creating topics and altering a topic's config and an
idempotent acks=all producer keeps producing; then a follower controller is killed while
admin requests go on. Acknowledged admin changes and records must all survive, the quorum
must elect a new leader each round and converge again (`sluice metadata-quorum` through a
broker)."""
import os
import subprocess
import threading
import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from conftest import BIN_DIR, wait_for
from sluice_clients import create_topic, producer

SLUICE = os.path.join(BIN_DIR, "sluice")
CONTROLLER_ID_BASE = 100  # scripts/cluster.sh: controller cN has node id 100 + N
ROUNDS = 4
DATA_TOPIC, DATA_PARTITIONS = "cfo-data", 3
CONFIG_TOPIC = "cfo-config"


# ---------------- the quorum as `sluice metadata-quorum` reports it ----------------

def _quorum(cluster, kind):
    props = os.path.join(cluster.dir, "quorum-client.properties")
    if not os.path.exists(props):
        with open(props, "w") as f:
            f.write("request.timeout.ms=5000\n")
    r = subprocess.run([SLUICE, "metadata-quorum", "--bootstrap-server", cluster.bootstrap,
                        "--command-config", props, "describe", "--" + kind],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, f"metadata-quorum describe --{kind}: {r.stderr}"
    lines = r.stdout.splitlines()
    if kind == "status":
        return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}
    head = lines[0].split()
    return [dict(zip(head, ln.split())) for ln in lines[1:] if ln.strip()]


def leader_epoch(cluster):
    s = _quorum(cluster, "status")
    return int(s["LeaderId"]), int(s["LeaderEpoch"])


def converged(cluster, node_id=None, fetched_since_ms=0):
    """One leader, three voters at lag 0 (and node_id fetched since fetched_since_ms)."""
    voters = [r for r in _quorum(cluster, "replication") if r["Status"] in ("Leader", "Follower")]
    ids = sorted(int(r["NodeId"]) for r in voters)
    if ids != [101, 102, 103] or [r["Status"] for r in voters].count("Leader") != 1:
        return False
    if any(int(r["Lag"]) != 0 for r in voters):
        return False
    if node_id is not None:
        row = next(r for r in voters if int(r["NodeId"]) == node_id)
        if int(row["LastFetchTimestamp"]) < fetched_since_ms:
            return False
    return leader_epoch(cluster)


def new_leader(cluster, old_leader, old_epoch):
    """(leader, epoch) once a leader other than old_leader holds a higher epoch, else None."""
    leader, epoch = leader_epoch(cluster)
    return (leader, epoch) if epoch > old_epoch and leader != old_leader else None


def restart_and_converge(cluster, node_id):
    since = time.time() * 1000  # LastFetchTimestamp is the leader's wall clock, same machine
    cluster.restart(f"c{node_id - CONTROLLER_ID_BASE}")
    return wait_for(lambda: converged(cluster, node_id, since), 30,
                    f"controller {node_id} caught up after its restart", interval=0.1)


# ---------------- background load ----------------

class AdminLoad(threading.Thread):
    """Creates topics (1-3 partitions, RF 3, a retention.ms each) and sets CONFIG_TOPIC's
    retention.ms, alternately; records every attempt and its outcome."""

    def __init__(self, bootstrap, prefix):
        super().__init__(daemon=True)
        self.admin = AdminClient({"bootstrap.servers": bootstrap})
        self.prefix = prefix
        self.stop = threading.Event()
        self.ops = []  # (kind, name, partitions or value, ok, error)
        self.lock = threading.Lock()

    def successes(self):
        with self.lock:
            return sum(1 for op in self.ops if op[3])

    def run(self):
        i = 0
        while not self.stop.is_set() and i < 10_000:
            i += 1
            if i % 2:
                name, parts = f"{self.prefix}-{i}", 1 + i % 3
                op = ("create", name, parts)
                fs = self.admin.create_topics(
                    [NewTopic(name, parts, 3, config={"retention.ms": str(600_000 + i)})],
                    operation_timeout=15, request_timeout=15)
                fut = fs[name]
            else:
                value = str(1_000_000 + i)
                op = ("alter", CONFIG_TOPIC, value)
                res = ConfigResource("topic", CONFIG_TOPIC, set_config={"retention.ms": value})
                fut = self.admin.alter_configs([res], request_timeout=15)[res]
            try:
                fut.result(20)
                outcome = (True, None)
            except Exception as e:  # refused or unknown: not acknowledged
                outcome = (False, repr(e))
            with self.lock:
                self.ops.append(op + outcome)


class ProduceLoad(threading.Thread):
    """Idempotent acks=all producer: increasing sequence numbers per partition, a few
    thousand records a second; acked[p] lists (offset, value) in delivery order."""

    def __init__(self, bootstrap):
        super().__init__(daemon=True)
        self.p = producer(bootstrap, acks="all", **{"enable.idempotence": True,
                                                    "linger.ms": 5,
                                                    "message.timeout.ms": 60000})
        self.stop = threading.Event()
        self.acked = {p: [] for p in range(DATA_PARTITIONS)}
        self.errors = []
        self.sent = 0
        self.remaining = None

    def count(self):
        return sum(len(v) for v in self.acked.values())

    def _cb(self, err, msg):
        if err is not None:
            self.errors.append(err)
        else:
            self.acked[msg.partition()].append((msg.offset(), msg.value()))

    def run(self):
        seq = [0] * DATA_PARTITIONS
        while not self.stop.is_set() and self.sent < 400_000:
            for _ in range(20):
                part = self.sent % DATA_PARTITIONS
                try:
                    self.p.produce(DATA_TOPIC, b"%d" % seq[part], partition=part,
                                   on_delivery=self._cb)
                except BufferError:
                    break
                seq[part] += 1
                self.sent += 1
            self.p.poll(0.01)
        self.remaining = self.p.flush(60)


def consume_partitions(bootstrap, topic, partitions, timeout=60):
    """Every record of every partition up to its high watermark: {p: [(offset, value)]}."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"cfo-check-{time.monotonic_ns()}",
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        ends = {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in range(partitions)}
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        out = {p: [] for p in range(partitions)}
        deadline = time.monotonic() + timeout
        while any((out[p][-1][0] + 1 if out[p] else 0) < ends[p] for p in out):
            assert time.monotonic() < deadline, \
                f"consumed {[len(v) for v in out.values()]} of {ends}"
            for m in c.consume(num_messages=10000, timeout=0.5):
                assert not m.error(), m.error()
                out[m.partition()].append((m.offset(), m.value()))
        return out
    finally:
        c.close()


# ---------------- checks ----------------

def check_admin_ops(bootstrap, ops):
    a = AdminClient({"bootstrap.servers": bootstrap})
    created = {name: parts for kind, name, parts, ok, _ in ops if kind == "create" and ok}
    assert created, "no CreateTopics was acknowledged"
    md = a.list_topics(timeout=15)
    for name, parts in created.items():
        t = md.topics.get(name)
        assert t is not None and t.error is None, f"acknowledged topic {name} is missing"
        assert len(t.partitions) == parts, f"{name}: {len(t.partitions)} partitions, not {parts}"
    resources = [ConfigResource("topic", n) for n in created]
    for res, fut in a.describe_configs(resources, request_timeout=15).items():
        i = int(res.name.rsplit("-", 1)[1])
        assert fut.result(20)["retention.ms"].value == str(600_000 + i), res.name
    # AlterConfigs replaces: the value left is the last acknowledged one, or one attempted
    # after it whose outcome the client never learned
    alters = [(value, ok) for kind, _, value, ok, _ in ops if kind == "alter"]
    last_ok = max((i for i, (_, ok) in enumerate(alters) if ok), default=None)
    assert last_ok is not None, "no AlterConfigs was acknowledged"
    allowed = {v for v, _ in alters[last_ok:]}
    res = ConfigResource("topic", CONFIG_TOPIC)
    value = a.describe_configs([res], request_timeout=15)[res].result(20)["retention.ms"].value
    assert value in allowed, f"retention.ms={value}, last acknowledged {alters[last_ok][0]}"


def check_records(bootstrap, load):
    assert not load.errors, f"delivery errors: {load.errors[:5]}"
    assert load.remaining == 0, f"{load.remaining} records never delivered"
    got = consume_partitions(bootstrap, DATA_TOPIC, DATA_PARTITIONS)
    for p in range(DATA_PARTITIONS):
        values = [int(v) for _, v in got[p]]
        assert values == list(range(len(values))), \
            f"partition {p}: duplicated, lost or reordered records"
        assert got[p] == load.acked[p], \
            f"partition {p}: consumed {len(got[p])} records, {len(load.acked[p])} acknowledged"


def wait_progress(admin_load, produce_load, what):
    a0, p0 = admin_load.successes(), produce_load.count()
    wait_for(lambda: admin_load.successes() >= a0 + 2 and produce_load.count() > p0 + 100, 30,
             f"admin requests and produce acknowledged {what}", interval=0.05)


# ---------------- tests ----------------

def test_active_controller_sigkill_rounds_under_load(cluster):
    create_topic(cluster.bootstrap, DATA_TOPIC, DATA_PARTITIONS, 3,
                 config={"min.insync.replicas": "2"})
    create_topic(cluster.bootstrap, CONFIG_TOPIC, 1, 3)
    wait_for(lambda: converged(cluster), 30, "a converged quorum")
    admin_load = AdminLoad(cluster.bootstrap, "cfo-t")
    produce_load = ProduceLoad(cluster.bootstrap)
    admin_load.start()
    produce_load.start()
    epochs = []
    try:
        for round_no in range(ROUNDS):
            wait_progress(admin_load, produce_load, f"before round {round_no}")
            leader, epoch = wait_for(lambda: converged(cluster), 30, "a converged quorum")
            epochs.append((leader, epoch))
            cluster.kill(f"c{leader - CONTROLLER_ID_BASE}")
            elected = wait_for(lambda: new_leader(cluster, leader, epoch), 30,
                               f"a new leader after killing {leader} (epoch {epoch})")
            assert elected[0] in (101, 102, 103), elected
            restart_and_converge(cluster, leader)
        wait_progress(admin_load, produce_load, "after the last round")
    finally:
        admin_load.stop.set()
        produce_load.stop.set()
        admin_load.join(60)
        produce_load.join(90)
    assert not admin_load.is_alive() and not produce_load.is_alive()
    final = wait_for(lambda: converged(cluster), 30, "a converged quorum at the end")
    epochs.append(final)
    assert all(b[1] > a[1] and b[0] != a[0] for a, b in zip(epochs, epochs[1:])), epochs
    failed = [op for op in admin_load.ops if not op[3]]
    print(f"rounds={ROUNDS} epochs={epochs} admin_ops={len(admin_load.ops)} "
          f"refused_or_unknown={len(failed)} {failed[:3]} records={produce_load.count()}")
    check_admin_ops(cluster.bootstrap, admin_load.ops)
    check_records(cluster.bootstrap, produce_load)


def test_follower_controller_sigkill_keeps_admin_going(cluster):
    leader, epoch = wait_for(lambda: converged(cluster), 30, "a converged quorum")
    follower = next(i for i in (101, 102, 103) if i != leader)
    cluster.kill(f"c{follower - CONTROLLER_ID_BASE}")
    a = AdminClient({"bootstrap.servers": cluster.bootstrap})
    create_topic(cluster.bootstrap, "cfo-f-config", 1, 3)
    slowest = 0.0
    for i in range(20):
        t = time.monotonic()
        name = f"cfo-f-{i}"
        a.create_topics([NewTopic(name, 2, 3)], operation_timeout=10,
                        request_timeout=10)[name].result(15)
        res = ConfigResource("topic", "cfo-f-config", set_config={"retention.ms": str(7_000 + i)})
        a.alter_configs([res], request_timeout=10)[res].result(15)
        slowest = max(slowest, time.monotonic() - t)
    assert slowest < 3.0, f"an admin round trip took {slowest:.2f} s with one follower down"
    assert leader_epoch(cluster) == (leader, epoch), "the leader changed with a follower down"
    md = a.list_topics(timeout=10)
    assert all(len(md.topics[f"cfo-f-{i}"].partitions) == 2 for i in range(20))
    res = ConfigResource("topic", "cfo-f-config")
    assert a.describe_configs([res])[res].result(15)["retention.ms"].value == "7019"
    assert restart_and_converge(cluster, follower) == (leader, epoch), \
        "the restarted follower disturbed the leader"
