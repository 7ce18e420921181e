"""Network namespaces for the chaos suite: each node in its own namespace, so a partition
is a real network cut.

Layout (names carry a per-run tag so concurrent runs never meet):

    <tag>-hub      a bridge `br0` with one veth per node; no address
    <tag>-c1 …     controllers, eth0 = 10.77.0.21 …
    <tag>-b1 …     brokers,     eth0 = 10.77.0.11 …
    <tag>-cli      the clients and the harness itself, eth0 = 10.77.0.100

Every interface is created inside a namespace (`ip -n`), so the host's own network is
never touched: 10.77.0.0/24 exists only inside the namespaces, and each namespace's
loopback (127.0.0.1) is its own. Cuts are iptables DROP rules in a node's namespace
(packets vanish; nothing is refused), healed by flushing that namespace's filter table.
`teardown()` kills whatever still runs in the namespaces and deletes them; the harness
calls it from `finally`, atexit and its signal handlers.
"""
import ctypes
import os
import shutil
import signal
import subprocess
import time

SUBNET = "10.77.0.0/24"
CLONE_NEWNET = 0x40000000


class NetnsError(Exception):
    pass


def _setns(target):
    """Move the calling thread into a network namespace (a path or an open fd)."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(target, os.O_RDONLY) if isinstance(target, str) else target
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise NetnsError(f"setns: {os.strerror(ctypes.get_errno())}")
    finally:
        if isinstance(target, str):
            os.close(fd)


def available():
    """None when namespaces can be used here, else the reason they cannot."""
    if os.geteuid() != 0:
        return "network namespaces need root (run as root, or without --netns)"
    for tool in ("ip", "iptables"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (Debian: iproute2, iptables)"
    return None


def sh(*args, check=True, timeout=30):
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise NetnsError(f"{' '.join(args)}: {r.stderr.strip() or r.stdout.strip()}")
    return r


class Lab:
    def __init__(self, tag, nodes):
        """nodes: {name: address} for every node, e.g. {"b1": "10.77.0.11", …}."""
        self.tag = tag
        self.nodes = dict(nodes)
        self.hub = f"{tag}-hub"
        self.cli = f"{tag}-cli"
        self.cli_addr = "10.77.0.100"
        self.created = []
        self.home_fd = None  # the namespace this process started in

    def ns(self, node):
        return f"{self.tag}-{node}"

    def exec_prefix(self, node):
        return ["ip", "netns", "exec", self.ns(node)]

    # ---------------------------------------------------------------- setup

    def _add_ns(self, name):
        sh("ip", "netns", "add", name)
        self.created.append(name)
        sh("ip", "-n", name, "link", "set", "lo", "up")

    def _attach(self, name, addr, index):
        veth = f"v{index}"
        sh("ip", "-n", self.hub, "link", "add", veth, "type", "veth", "peer", "name", "eth0",
           "netns", name)
        sh("ip", "-n", self.hub, "link", "set", veth, "master", "br0")
        sh("ip", "-n", self.hub, "link", "set", veth, "up")
        sh("ip", "-n", name, "addr", "add", f"{addr}/24", "dev", "eth0")
        sh("ip", "-n", name, "link", "set", "eth0", "up")

    def setup(self):
        self._add_ns(self.hub)
        sh("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.hub, "link", "set", "br0", "up")
        for i, (node, addr) in enumerate(sorted(self.nodes.items())):
            self._add_ns(self.ns(node))
            self._attach(self.ns(node), addr, i)
        self._add_ns(self.cli)
        self._attach(self.cli, self.cli_addr, len(self.nodes))

    def enter_client_ns(self):
        """Move this process (its main thread, and every thread and child it creates from
        now on) into the client namespace. Call before any client library starts threads."""
        if self.home_fd is None:
            self.home_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        _setns(f"/var/run/netns/{self.cli}")

    def leave_client_ns(self):
        if self.home_fd is not None:
            _setns(self.home_fd)
            os.close(self.home_fd)
            self.home_fd = None

    def teardown(self):
        self.leave_client_ns()
        me = os.getpid()  # never this process, wherever it is
        for name in reversed(self.created):
            r = sh("ip", "netns", "pids", name, check=False)
            for pid in r.stdout.split():
                try:
                    if int(pid) != me:
                        os.kill(int(pid), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        deadline = time.monotonic() + 10
        for name in reversed(self.created):
            while time.monotonic() < deadline:
                pids = sh("ip", "netns", "pids", name, check=False).stdout.split()
                if not [p for p in pids if p != str(me)]:
                    break
                time.sleep(0.05)
            sh("ip", "netns", "del", name, check=False)
        self.created = []

    # ---------------------------------------------------------------- cuts

    def _ipt(self, node, *rule):
        sh("ip", "netns", "exec", self.ns(node), "iptables", "-w", *rule)

    def isolate(self, node):
        """Cut node from every other node and from the clients."""
        self._ipt(node, "-A", "INPUT", "-s", SUBNET, "-j", "DROP")
        self._ipt(node, "-A", "OUTPUT", "-d", SUBNET, "-j", "DROP")

    def cut(self, node, peers):
        """Cut node from the given peers, both ways (clients still reach it)."""
        for peer in peers:
            addr = self.nodes[peer]
            self._ipt(node, "-A", "INPUT", "-s", addr, "-j", "DROP")
            self._ipt(node, "-A", "OUTPUT", "-d", addr, "-j", "DROP")

    def cut_one_way(self, src, dst):
        """Drop every packet src sends to dst; dst's packets still reach src (data from dst
        arrives, src's answers and acknowledgements do not get back)."""
        self._ipt(src, "-A", "OUTPUT", "-d", self.nodes[dst], "-j", "DROP")

    def heal(self, node=None):
        for n in [node] if node else self.nodes:
            self._ipt(n, "-F")
