"""Replays of bugs the chaos suite found, each as a short deterministic scenario against a
real cluster (cluster.py, local processes). SLUICE_BIN_DIR picks the binaries.

* A broker that restarts replays the metadata log and passes through leader epochs that
  ended long ago; becoming "leader" of one of those used to record that epoch at today's
  log end in the leader-epoch cache, erasing the cache's real entries from it on (the
  restarted broker then answered followers' epoch queries wrongly, sending them into
  needless truncations or a truncate/refetch loop).
* A leader that assigned its epoch and was killed before writing in it keeps that epoch
  as the last cache entry, at its log end. As a follower of the next leader its fetches
  diverged, the truncation target was its own log end, and truncating there did nothing:
  it fetched the same offset and epoch forever and never rejoined the ISR.
"""
import os
import shutil
import sys
import tempfile
import time

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster as cl  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.environ.get("SLUICE_BIN_DIR", os.path.join(ROOT, "build", "bin"))
TOPIC = "t"


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = cond()
        if last:
            return last
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


@pytest.fixture
def cluster(request):
    d = tempfile.mkdtemp(prefix="sluice-chaos-reg-")
    c = cl.Cluster(d, BIN_DIR)
    c.start_all()
    try:
        wait_for(lambda: len(c.live_brokers()) == 3, 60, "3 brokers")
        c.admin().create_topics([NewTopic(TOPIC, 1, 3, config={"min.insync.replicas": "2"})])[
            TOPIC].result(30)
        wait_for(lambda: c.health(TOPIC) is None, 60, "topic with a full ISR")
    except BaseException:
        c.stop_all()
        raise
    yield c
    c.stop_all()
    crashed = c.crashes + c.log_markers()
    if crashed:
        print(f"node crashes or fail-stops: {crashed} (logs in {d})")
    assert not crashed
    shutil.rmtree(d, ignore_errors=True)


def produce(c, prefix, n=100):
    p = Producer({"bootstrap.servers": c.bootstrap, "acks": "all", "enable.idempotence": True,
                  "log_level": 0})
    for i in range(n):
        p.produce(TOPIC, b"%s-%d" % (prefix, i))
    assert p.flush(60) == 0


def epoch_cache(c, name):
    path = os.path.join(c.dir, "data", name, f"{TOPIC}-0", "leader-epoch-checkpoint")
    with open(path) as f:
        lines = f.read().split("\n")
    return [tuple(int(x) for x in ln.split()) for ln in lines[2:] if ln.strip()]


def new_leader(c, exclude):
    def find():
        node = c.leader_of(TOPIC, 0)
        return node if node is not None and node.name not in exclude else None
    return wait_for(find, 30, f"a leader other than {exclude}")


def test_restart_keeps_the_leader_epoch_cache(cluster):
    c = cluster
    produce(c, b"a")                           # epoch 0: offsets 0-99
    first = c.leader_of(TOPIC, 0)
    c.kill(first.name)
    second = new_leader(c, [first.name])
    produce(c, b"b")                           # epoch 1: offsets 100-199
    c.start(first.name)
    wait_for(lambda: c.health(TOPIC) is None, 60, "the first leader back in the ISR")
    before = epoch_cache(c, first.name)
    assert before[:2] == [(0, 0), (1, 100)], before
    assert c.term(first.name)                  # restart: replays epoch 0, where it led
    c.start(first.name)
    wait_for(lambda: c.health(TOPIC) is None, 60, "the first leader back again")
    produce(c, b"c")
    wait_for(lambda: c.health(TOPIC) is None, 60, "a full ISR")
    after = epoch_cache(c, first.name)
    assert after[:2] == [(0, 0), (1, 100)], f"{first.name} cache {before} became {after}"
    assert second.name != first.name


def test_follower_drops_an_epoch_it_never_wrote(cluster):
    c = cluster
    produce(c, b"a")                           # epoch 0: offsets 0-99
    first = c.leader_of(TOPIC, 0)
    c.kill(first.name)
    second = new_leader(c, [first.name])       # epoch 1 assigned at 100, nothing written
    wait_for(lambda: epoch_cache(c, second.name)[-1] == (1, 100), 30,
             f"{second.name} to record epoch 1 at offset 100")
    c.kill(second.name)
    third = new_leader(c, [first.name, second.name])
    c.start(first.name)
    c.start(second.name)
    produce(c, b"b")
    took, reason = c.wait_healthy(TOPIC, 30)
    assert took is not None, f"{second.name} never rejoined: {reason}; third={third.name}"
