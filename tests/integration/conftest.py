"""Fixtures for integration tests: a real sluice cluster on 127.0.0.1.

The cluster is started with scripts/cluster.sh (one place that knows how to configure
controllers and brokers) in a temporary directory on a free port range. Teardown stops
only the processes this fixture started, prints the logs of a failed test's cluster, and
fails if any log holds an AddressSanitizer or UndefinedBehaviorSanitizer report.
"""
import os
import subprocess
import tempfile
import time

import pytest

from sluice_ports import pick_base_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.environ.get("SLUICE_BIN_DIR", os.path.join(ROOT, "build", "bin"))
CLUSTER_SH = os.path.join(ROOT, "scripts", "cluster.sh")
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer")


def wait_for(cond, timeout, what, interval=0.05):
    """Poll cond() until it returns a truthy value or timeout seconds pass."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
        except Exception as e:  # a client error is a "not yet"
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Cluster:
    def __init__(self, tmp, controllers=3, brokers=3, broker_overrides=(), controller_overrides=()):
        self.dir = tmp
        self.controllers = controllers
        self.brokers = brokers
        self.base_port = pick_base_port(max(controllers, brokers))
        self.env = dict(os.environ)
        self.env.update({
            "CLUSTER_DIR": tmp,
            "BASE_PORT": str(self.base_port),
            "CONTROLLERS": str(controllers),
            "BROKERS": str(brokers),
            "BIN_DIR": BIN_DIR,
            "BROKER_OVERRIDES": " ".join(broker_overrides),
            "CONTROLLER_OVERRIDES": " ".join(controller_overrides),
        })
        self.bootstrap = None

    def sh(self, *args, timeout=120):
        r = subprocess.run([CLUSTER_SH, *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"cluster.sh {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}")
        return r.stdout

    def start(self):
        out = self.sh("start")
        for line in out.splitlines():
            if line.startswith("BOOTSTRAP="):
                self.bootstrap = line.split("=", 1)[1]
        assert self.bootstrap, out
        return self

    def stop(self):
        self.sh("stop")

    def kill(self, node):
        self.sh("kill", node)

    def term(self, node):
        self.sh("term", node)

    def restart(self, node):
        self.sh("restart", node)

    def broker_port(self, index):
        return self.base_port + index - 1

    def metrics_port(self, index):
        return self.base_port + 200 + index - 1

    def broker_address(self, index):
        return f"127.0.0.1:{self.broker_port(index)}"

    def pid(self, node):
        try:
            with open(os.path.join(self.dir, "pids", node + ".pid")) as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def log(self, node):
        try:
            with open(os.path.join(self.dir, "logs", node + ".log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def nodes(self):
        return [f"c{i}" for i in range(1, self.controllers + 1)] + \
               [f"b{i}" for i in range(1, self.brokers + 1)]

    def sanitizer_reports(self):
        bad = []
        for node in self.nodes():
            text = self.log(node)
            if any(m in text for m in SANITIZER_MARKERS):
                bad.append(node)
        return bad

    def dump_logs(self, tail=60):
        for node in self.nodes():
            lines = self.log(node).splitlines()[-tail:]
            print(f"----- {node} (last {len(lines)} lines) -----")
            print("\n".join(lines))


def make_cluster(request, **kwargs):
    tmp = tempfile.mkdtemp(prefix="sluice-it-")
    cluster = Cluster(tmp, **kwargs).start()

    def finish():
        failed = getattr(request.node, "rep_call_failed", False)
        try:
            cluster.stop()
        finally:
            bad = cluster.sanitizer_reports()
            if failed or bad:
                cluster.dump_logs()
            assert not bad, f"sanitizer reports in logs of {bad} (dir {tmp})"
            if not failed:
                subprocess.run(["rm", "-rf", tmp], check=False)

    request.addfinalizer(finish)
    return cluster


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed:
        item.rep_call_failed = True
        parent = item.parent
        while parent is not None:
            setattr(parent, "rep_call_failed", True)
            parent = getattr(parent, "parent", None)


@pytest.fixture(scope="module")
def cluster(request):
    """3 controllers + 3 brokers shared by a test module."""
    return make_cluster(request)
