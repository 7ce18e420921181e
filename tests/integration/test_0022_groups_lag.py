"""Consumer lag: after a group has committed everything and more is produced, the group's
coordinator exports kafka_exporter's kafka_consumergroup_* series on /metrics with the lag
per partition (log end offsets of partitions led elsewhere come from its ListOffsets
client), and Burrow — reading __consumer_offsets itself, as it does with Kafka — reports the
same lag through its REST API.

Burrow 1.x keeps its own coordination state in ZooKeeper (not Kafka's); the test serves it
a minimal in-memory ZooKeeper on 127.0.0.1 (connect, ping, exists, create, children, data,
delete: what Burrow's coordinator and notifier lock use)."""
import json
import os
import shutil
import socket
import socketserver
import struct
import subprocess
import threading
import time
import urllib.request

import pytest
from confluent_kafka import Consumer

from conftest import make_cluster, wait_for
from sluice_clients import create_topic, produce_all, producer

BURROW = shutil.which("Burrow") or shutil.which("burrow") or "/usr/bin/Burrow"
TOPIC = "lag-topic"
GROUP = "lagged"
PER_PARTITION = 20
MORE = 10


@pytest.fixture(scope="module")
def cluster(request):
    return make_cluster(request, broker_overrides=("group.initial.rebalance.delay.ms=0",))


@pytest.fixture(scope="module")
def lagged_group(cluster):
    """A 3-partition topic whose group read and committed 20 records per partition, then 10
    more were produced to each: lag 10 per partition, 30 in all."""
    create_topic(cluster.bootstrap, TOPIC, 3, 3)
    p = producer(cluster.bootstrap, acks="all")
    produce_all(p, TOPIC, ({"value": b"%d" % i, "partition": i % 3}
                           for i in range(3 * PER_PARTITION)))
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": GROUP,
                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    c.subscribe([TOPIC])
    got = 0
    deadline = time.monotonic() + 60
    try:
        while got < 3 * PER_PARTITION and time.monotonic() < deadline:
            msg = c.poll(0.2)
            if msg is None or msg.error():
                continue
            got += 1
            c.commit(message=msg, asynchronous=False)
    finally:
        c.close()
    assert got == 3 * PER_PARTITION
    produce_all(p, TOPIC, ({"value": b"more", "partition": i % 3} for i in range(3 * MORE)))
    return cluster


def scrape(cluster, index):
    url = f"http://127.0.0.1:{cluster.metrics_port(index)}/metrics"
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def series(text, name):
    """{labels-string: value} for one metric family."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{"):
            labels, value = line[len(name) + 1:].rsplit("} ", 1)
            out[labels] = float(value)
    return out


def test_metrics_show_lag_of_coordinated_group(lagged_group):
    cluster = lagged_group
    want_sum = f'consumergroup="{GROUP}",topic="{TOPIC}"'

    def lag_seen():
        for i in range(1, cluster.brokers + 1):
            text = scrape(cluster, i)
            sums = series(text, "kafka_consumergroup_lag_sum")
            if sums.get(want_sum) == 3 * MORE:
                return text
        return None

    text = wait_for(lag_seen, 60, "kafka_consumergroup_lag_sum on the coordinator")
    per = {k: v for k, v in series(text, "kafka_consumergroup_lag").items() if TOPIC in k}
    assert sorted(per.values()) == [MORE] * 3, per
    current = series(text, "kafka_consumergroup_current_offset")
    for p in range(3):
        key = f'consumergroup="{GROUP}",topic="{TOPIC}",partition="{p}"'
        assert current[key] == PER_PARTITION, current
    assert series(text, "kafka_consumergroup_members")[f'consumergroup="{GROUP}"'] == 0


# ---------------------------------------------------------------- a minimal ZooKeeper

ZNONODE, ZNODEEXISTS, ZUNIMPLEMENTED = -101, -110, -6
OP_CREATE, OP_DELETE, OP_EXISTS, OP_GETDATA, OP_GETCHILDREN = 1, 2, 3, 4, 8
OP_PING, OP_GETCHILDREN2, OP_SETWATCHES, OP_CLOSE = 11, 12, 101, -11


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        v = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return v[0]

    def buffer(self):
        n = self.take(">i")
        if n < 0:
            return b""
        v = self.data[self.pos:self.pos + n]
        self.pos += n
        return v


def zk_stat(data=b"", children=0):
    # czxid mzxid ctime mtime version cversion aversion ephemeralOwner dataLength numChildren pzxid
    return struct.pack(">qqqqiiiqiiq", 1, 1, 0, 0, 0, 0, 0, 0, len(data), children, 1)


def zk_string(s):
    b = s.encode()
    return struct.pack(">i", len(b)) + b


class ZkTree:
    def __init__(self):
        self.nodes = {"/": b""}
        self.seq = {}
        self.lock = threading.Lock()

    def children(self, path):
        prefix = path.rstrip("/") + "/"
        return [p[len(prefix):] for p in self.nodes
                if p.startswith(prefix) and "/" not in p[len(prefix):] and p != path]

    def parent(self, path):
        return path.rsplit("/", 1)[0] or "/"

    def handle(self, op, r):
        """(error, body) for one request."""
        with self.lock:
            if op in (OP_PING, OP_SETWATCHES, OP_CLOSE):
                return 0, b""
            path = r.buffer().decode()
            if op == OP_CREATE:
                data = r.buffer()
                for _ in range(r.take(">i")):  # ACLs
                    r.take(">i")
                    r.buffer()
                    r.buffer()
                flags = r.take(">i")
                if self.parent(path) not in self.nodes:
                    return ZNONODE, b""
                if flags & 2:  # sequential
                    n = self.seq.get(self.parent(path), 0)
                    self.seq[self.parent(path)] = n + 1
                    path += "%010d" % n
                if path in self.nodes:
                    return ZNODEEXISTS, b""
                self.nodes[path] = data
                return 0, zk_string(path)
            if path not in self.nodes:
                return ZNONODE, b""
            if op == OP_EXISTS:
                return 0, zk_stat(self.nodes[path], len(self.children(path)))
            if op == OP_GETDATA:
                data = self.nodes[path]
                return 0, struct.pack(">i", len(data)) + data + zk_stat(data)
            if op in (OP_GETCHILDREN, OP_GETCHILDREN2):
                kids = self.children(path)
                body = struct.pack(">i", len(kids)) + b"".join(zk_string(k) for k in kids)
                return 0, body + (zk_stat(b"", len(kids)) if op == OP_GETCHILDREN2 else b"")
            if op == OP_DELETE:
                del self.nodes[path]
                return 0, b""
            return ZUNIMPLEMENTED, b""


class ZkHandler(socketserver.BaseRequestHandler):
    def recv_frame(self):
        head = self.request.recv(4, socket.MSG_WAITALL)
        if len(head) < 4:
            return None
        n = struct.unpack(">i", head)[0]
        return self.request.recv(n, socket.MSG_WAITALL)

    def send_frame(self, body):
        self.request.sendall(struct.pack(">i", len(body)) + body)

    def handle(self):
        if self.recv_frame() is None:  # ConnectRequest: any session is welcome
            return
        self.send_frame(struct.pack(">iiqi", 0, 6000, 1, 16) + b"\0" * 16)
        while True:
            frame = self.recv_frame()
            if frame is None:
                return
            r = Reader(frame)
            xid, op = r.take(">i"), r.take(">i")
            err, body = self.server.tree.handle(op, r)
            self.send_frame(struct.pack(">iqi", xid, 1, err) + (body if err == 0 else b""))
            if op == OP_CLOSE:
                return


class ZkServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def zookeeper():
    server = ZkServer(("127.0.0.1", 0), ZkHandler)
    server.tree = ZkTree()
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


# ---------------------------------------------------------------- Burrow

def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


BURROW_CONFIG = """
[general]
pidfile="{dir}/burrow.pid"

[logging]
filename="{dir}/burrow.log"
level="info"

[zookeeper]
servers=["127.0.0.1:{zk}"]
timeout=6
root-path="/burrow"

[client-profile.it]
client-id="burrow-it"
kafka-version="1.0.0"

[cluster.sluice]
class-name="kafka"
servers=[{servers}]
client-profile="it"
topic-refresh=5
offset-refresh=2

[consumer.sluice]
class-name="kafka"
cluster="sluice"
servers=[{servers}]
client-profile="it"
offsets-topic="__consumer_offsets"
start-latest=false

[httpserver.default]
address="127.0.0.1:{http}"

[storage.default]
class-name="inmemory"
workers=4
intervals=10
expire-group=604800
min-distance=1
"""


def test_burrow_reports_lag(lagged_group, zookeeper, tmp_path):
    if not os.path.exists(BURROW):
        pytest.skip("Burrow is not installed (Debian package burrow)")
    cluster = lagged_group
    http = free_port()
    servers = ",".join(f'"{b}"' for b in cluster.bootstrap.split(","))
    (tmp_path / "burrow.toml").write_text(
        BURROW_CONFIG.format(dir=tmp_path, zk=zookeeper, servers=servers, http=http))
    proc = subprocess.Popen([BURROW, "-config-dir", str(tmp_path)], cwd=tmp_path,
                            stdout=open(tmp_path / "burrow.out", "w"), stderr=subprocess.STDOUT)

    def lag():
        if proc.poll() is not None:
            raise AssertionError("Burrow exited: " + (tmp_path / "burrow.out").read_text()[-2000:])
        url = f"http://127.0.0.1:{http}/v3/kafka/sluice/consumer/{GROUP}/lag"
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                status = json.loads(r.read().decode())["status"]
        except OSError:
            return None
        ours = [p for p in status.get("partitions") or [] if p.get("topic") == TOPIC]
        return status if len(ours) == 3 and status.get("totallag") == 3 * MORE else None

    try:
        status = wait_for(lag, 90, "Burrow lag for the group", interval=0.5)
        lags = sorted(p["current_lag"] for p in status["partitions"] if p["topic"] == TOPIC)
        assert lags == [MORE] * 3, status
    except AssertionError:
        for name in ("burrow.log", "burrow.out"):
            path = tmp_path / name
            if path.exists():
                print(f"----- {name} -----\n" + path.read_text()[-4000:])
        raise
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
