"""The chaos suite's cluster: 3 controllers (ids 101-103) and 3 brokers (ids 1-3) as
processes this harness starts, signals and restarts itself, on 127.0.0.1 (distinct ports)
or each in its own network namespace (netns.Lab; one address per node, Kafka's ports).

Node configurations are written in one place (`write_configs`), in the same shape as
scripts/cluster.sh writes them, plus the run's overrides: only the listener addresses
differ between the two modes. Every process is started in its own session, so a signal
to the harness never reaches a node; `stop_all` stops them (brokers first) and kills
stragglers. A node that exits when the harness did not stop it is a crash, recorded with
its exit status and log tail (`check_crashes`).
"""
import os
import re
import signal
import subprocess
import sys
import time

from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "integration"))
from sluice_ports import pick_base_port  # noqa: E402

CONTROLLER_ID_BASE = 100
CRASH_MARKERS = ("event=assertion_failed", "ERROR: AddressSanitizer", "runtime error:",
                 "ERROR: LeakSanitizer", "event=fail_stop")

# Broker and controller settings for chaos runs: short session and lag timeouts so faults
# exercise fencing and ISR changes within seconds.
CHAOS_CONTROLLER_CONF = {
    "broker.session.timeout.ms": "3000",
    "broker.heartbeat.interval.ms": "500",
    "leader.imbalance.check.interval.seconds": "20",
}
CHAOS_BROKER_CONF = {
    "broker.heartbeat.interval.ms": "500",
    "replica.lag.time.max.ms": "5000",
    "replica.fetch.backoff.ms": "200",
    "offsets.topic.num.partitions": "6",
    "group.initial.rebalance.delay.ms": "500",
    "controlled.shutdown.max.wait.ms": "20000",
}


class Node:
    def __init__(self, name, node_id, host, port, metrics_port):
        self.name = name                  # c1…, b1…
        self.kind = "controller" if name[0] == "c" else "broker"
        self.node_id = node_id
        self.host = host
        self.port = port
        self.metrics_port = metrics_port
        self.proc = None
        self.paused = False
        self.starts = 0

    @property
    def address(self):
        return f"{self.host}:{self.port}"


class Cluster:
    def __init__(self, workdir, bin_dir, lab=None, controllers=3, brokers=3,
                 broker_conf=None, controller_conf=None, env=None):
        self.dir = workdir
        self.bin_dir = bin_dir
        self.lab = lab
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.broker_conf = dict(CHAOS_BROKER_CONF, **(broker_conf or {}))
        self.controller_conf = dict(CHAOS_CONTROLLER_CONF, **(controller_conf or {}))
        self.nodes = {}
        self.crashes = []  # (node, exit status, log tail)
        base = None if lab else pick_base_port(3)
        for i in range(1, controllers + 1):
            host = lab.nodes[f"c{i}"] if lab else "127.0.0.1"
            port = 9093 if lab else base + 100 + i - 1
            self.nodes[f"c{i}"] = Node(f"c{i}", CONTROLLER_ID_BASE + i, host, port, None)
        for i in range(1, brokers + 1):
            host = lab.nodes[f"b{i}"] if lab else "127.0.0.1"
            port = 9092 if lab else base + i - 1
            metrics = 9094 if lab else base + 200 + i - 1
            self.nodes[f"b{i}"] = Node(f"b{i}", i, host, port, metrics)
        self.bootstrap = ",".join(n.address for n in self.brokers())
        self._admin = None

    @staticmethod
    def lab_addresses(controllers=3, brokers=3):
        """The namespace addresses a Lab needs for this cluster's nodes."""
        out = {f"c{i}": f"10.77.0.{20 + i}" for i in range(1, controllers + 1)}
        out.update({f"b{i}": f"10.77.0.{10 + i}" for i in range(1, brokers + 1)})
        return out

    def brokers(self):
        return [n for n in self.nodes.values() if n.kind == "broker"]

    def controllers(self):
        return [n for n in self.nodes.values() if n.kind == "controller"]

    def by_id(self, node_id):
        for n in self.nodes.values():
            if n.node_id == node_id:
                return n
        return None

    # ---------------------------------------------------------------- configs

    def voters(self):
        return ",".join(f"{n.node_id}@{n.address}" for n in self.controllers())

    def write_configs(self):
        for sub in ("config", "logs", "data"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        for n in self.nodes.values():
            data = os.path.join(self.dir, "data", n.name)
            if n.kind == "controller":
                conf = {
                    "process.roles": "controller",
                    "node.id": n.node_id,
                    "controller.quorum.voters": self.voters(),
                    "listeners": f"CONTROLLER://{n.address}",
                    "metadata.log.dir": data,
                }
                conf.update(self.controller_conf)
            else:
                conf = {
                    "process.roles": "broker",
                    "node.id": n.node_id,
                    "listeners": f"PLAINTEXT://{n.address}",
                    "advertised.listeners": f"PLAINTEXT://{n.address}",
                    "controller.quorum.voters": self.voters(),
                    "log.dirs": data,
                    "metrics.listener": f"{n.host}:{n.metrics_port}",
                    "offsets.topic.replication.factor": min(3, len(self.brokers())),
                }
                conf.update(self.broker_conf)
            with open(self.config_path(n), "w") as f:
                f.write(f"# {n.kind} {n.name} (chaos suite)\n")
                for k, v in conf.items():
                    f.write(f"{k}={v}\n")

    def config_path(self, n):
        return os.path.join(self.dir, "config", f"{n.name}.properties")

    def log_path(self, n):
        return os.path.join(self.dir, "logs", f"{n.name}.log")

    # ---------------------------------------------------------------- processes

    def start(self, name):
        n = self.nodes[name]
        if n.proc is not None and n.proc.poll() is None:
            return
        binary = os.path.join(self.bin_dir, f"sluice-{n.kind}")
        cmd = (self.lab.exec_prefix(name) if self.lab else []) + [binary, "--config",
                                                                   self.config_path(n)]
        with open(self.log_path(n), "ab") as log:
            n.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, env=self.env,
                                      start_new_session=True)
        n.paused = False
        n.starts += 1

    def start_all(self):
        self.write_configs()
        for name in self.nodes:
            self.start(name)

    def alive(self, name):
        n = self.nodes[name]
        return n.proc is not None and n.proc.poll() is None

    def signal(self, name, sig):
        n = self.nodes[name]
        if n.proc is None or n.proc.poll() is not None:
            return False
        os.kill(n.proc.pid, sig)
        return True

    def kill(self, name):
        """SIGKILL and reap."""
        n = self.nodes[name]
        if self.signal(name, signal.SIGKILL):
            n.proc.wait(30)
        n.proc = None
        n.paused = False

    def term(self, name, timeout=45):
        """SIGTERM (controlled shutdown) and wait; SIGKILL after timeout. True when the
        node exited by itself with status 0."""
        n = self.nodes[name]
        if n.paused:
            self.resume(name)
        if not self.signal(name, signal.SIGTERM):
            n.proc = None
            return True
        try:
            rc = n.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill(name)
            return False
        n.proc = None
        return rc == 0

    def pause(self, name):
        if self.signal(name, signal.SIGSTOP):
            self.nodes[name].paused = True

    def resume(self, name):
        n = self.nodes[name]
        if n.paused:
            self.signal(name, signal.SIGCONT)
            n.paused = False

    def check_crashes(self):
        """Record nodes that exited without being asked to; returns the new ones."""
        new = []
        for n in self.nodes.values():
            if n.proc is not None and n.proc.poll() is not None:
                tail = self.log_tail(n.name, 30)
                self.crashes.append((n.name, n.proc.returncode, tail))
                new.append(n.name)
                n.proc = None
        return new

    def log_tail(self, name, lines):
        try:
            with open(self.log_path(self.nodes[name]), errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def log_markers(self):
        """(node, line) for every crash marker (assertion, sanitizer, fail-stop) in the logs."""
        out = []
        for n in self.nodes.values():
            try:
                with open(self.log_path(n), errors="replace") as f:
                    for line in f:
                        if any(m in line for m in CRASH_MARKERS):
                            out.append((n.name, line.rstrip()))
            except OSError:
                pass
        return out

    def stop_all(self):
        for n in self.nodes.values():
            self.resume(n.name)
        for group in (self.brokers(), self.controllers()):
            for n in group:
                self.signal(n.name, signal.SIGTERM)
            deadline = time.monotonic() + 30
            for n in group:
                if n.proc is None:
                    continue
                try:
                    n.proc.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    self.kill(n.name)
                n.proc = None

    # ---------------------------------------------------------------- queries

    def admin(self):
        if self._admin is None:
            self._admin = AdminClient({"bootstrap.servers": self.bootstrap, "log_level": 0,
                                       "logger": _null_logger()})
        return self._admin

    def metadata(self, topic=None, timeout=5):
        try:
            return self.admin().list_topics(topic, timeout=timeout)
        except Exception:
            return None

    def live_brokers(self):
        md = self.metadata()
        return sorted(md.brokers) if md else []

    def partitions(self, topic):
        """{p: (leader, replicas, isr)} or None when the metadata is unavailable."""
        md = self.metadata(topic)
        if md is None or topic not in md.topics or md.topics[topic].error is not None:
            return None
        return {p: (pm.leader, sorted(pm.replicas), sorted(pm.isrs))
                for p, pm in md.topics[topic].partitions.items()}

    def leader_of(self, topic, partition):
        parts = self.partitions(topic)
        if not parts or partition not in parts or parts[partition][0] < 0:
            return None
        return self.by_id(parts[partition][0])

    def active_controller(self):
        """The active controller's Node: DescribeQuorum through a broker, else the newest
        `event=active` line in the controllers' logs."""
        tool = os.path.join(self.bin_dir, "sluice")
        for b in self.brokers():
            if not self.alive(b.name) or b.paused:
                continue
            try:
                r = subprocess.run([tool, "metadata-quorum", "--bootstrap-server", b.address,
                                    "describe", "--status"], capture_output=True, text=True,
                                   timeout=10)
            except subprocess.TimeoutExpired:
                continue
            m = re.search(r"^LeaderId:\s+(\d+)", r.stdout, re.M)
            if r.returncode == 0 and m:
                node = self.by_id(int(m.group(1)))
                if node is not None:
                    return node
        return self._active_from_logs()

    def _active_from_logs(self):
        best = None
        for n in self.controllers():
            try:
                with open(self.log_path(n), errors="replace") as f:
                    for line in f:
                        if "mod=controller event=active" in line:
                            ts = line.split(" ", 1)[0]
                            if best is None or ts > best[0]:
                                best = (ts, n)
            except OSError:
                pass
        return best[1] if best else None

    def health(self, topic, rf=3):
        """None when every node runs, every broker is registered and every partition of
        topic and of __consumer_offsets (once it exists) has a leader and a full ISR;
        else what is missing."""
        for n in self.nodes.values():
            if not self.alive(n.name):
                return f"{n.name} not running"
            if n.paused:
                return f"{n.name} paused"
        live = self.live_brokers()
        if len(live) != len(self.brokers()):
            return f"live brokers {live}"
        md = self.metadata()
        if md is None or topic not in md.topics:
            return "no metadata for the topic"
        for name in (topic, "__consumer_offsets"):
            t = md.topics.get(name)
            if t is None:
                continue
            for p, pm in sorted(t.partitions.items()):
                if pm.leader < 0:
                    return f"{name} partition {p} has no leader"
                if len(pm.isrs) < min(rf, len(pm.replicas)):
                    return f"{name} partition {p} isr={sorted(pm.isrs)}"
        return None

    def wait_healthy(self, topic, timeout):
        """Seconds it took, or None with the last reason after timeout."""
        start = time.monotonic()
        reason = None
        while time.monotonic() - start < timeout:
            self.check_crashes()
            reason = self.health(topic)
            if reason is None:
                return time.monotonic() - start, None
            time.sleep(0.2)
        return None, reason


def _null_logger():
    import logging
    log = logging.getLogger("chaos-admin")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    return log
