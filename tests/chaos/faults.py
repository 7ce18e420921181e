"""The chaos suite's faults, drawn from a seeded schedule.

`Schedule(seed, kinds, partitions).next()` yields the same sequence of faults for the
same seed and kinds: the kind and every random choice (which broker, which partition,
how long) are drawn up front. Who the *current* leader of a partition or the active
controller is, is looked up when the fault runs. Every fault heals itself before
returning (restart, SIGCONT, cut removed); the harness then waits for the cluster to be
whole again before the next one.

Kinds (local processes):
  kill_broker                 SIGKILL a broker, restart it after down_s
  kill_leader                 SIGKILL the leader of a workload partition, restart it
  kill_controller             SIGKILL the active controller, restart it
  kill_two_brokers            SIGKILL two brokers at once (min.insync.replicas is lost)
  pause_broker                SIGSTOP a broker for longer than broker.session.timeout.ms
  pause_controller            SIGSTOP the active controller past the Raft fetch timeout
  rolling_restart             SIGTERM (controlled shutdown) and restart each broker in
                              turn, waiting for the cluster to be whole in between
  stall_followers_kill_leader SIGSTOP both followers of a partition's leader (shorter than
                              the session and lag timeouts: they stay in the ISR), SIGKILL
                              the leader, SIGCONT the followers; acks=all must not have
                              answered anything the followers lack
Kinds needing --netns (each node in its own network namespace):
  isolate_node                cut one node (broker or controller) from everything
  isolate_leader              cut a partition's leader from the other brokers and the
                              controllers; clients still reach it (a zombie leader)
  one_way_cut                 drop packets in one direction only: leader → follower,
                              follower → leader, broker → active controller, or active
                              controller → another controller
"""
import random
import time

LOCAL_KINDS = {
    "kill_broker": 3,
    "kill_leader": 4,
    "kill_controller": 3,
    "kill_two_brokers": 2,
    "pause_broker": 2,
    "pause_controller": 1,
    "rolling_restart": 1,
    "stall_followers_kill_leader": 2,
}
NETNS_KINDS = {
    "isolate_node": 3,
    "isolate_leader": 3,
    "one_way_cut": 3,
}
ONE_WAY = ("leader_to_follower", "follower_to_leader", "broker_to_controller",
           "controller_to_controller")


class Fault:
    def __init__(self, index, kind, params):
        self.index = index
        self.kind = kind
        self.params = params

    def __str__(self):
        args = " ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in sorted(self.params.items()))
        return f"#{self.index} {self.kind} {args}"


class Schedule:
    def __init__(self, seed, kinds, partitions, session_timeout_s=3.0, cycle=False):
        """cycle: take the kinds in the order given, round robin, instead of drawing them
        (the other choices are still drawn from the seed)."""
        self.rng = random.Random(seed)
        self.cycle = cycle
        self.kinds = list(kinds) if cycle else sorted(kinds)
        self.weights = [LOCAL_KINDS.get(k, NETNS_KINDS.get(k, 1)) for k in self.kinds]
        self.partitions = partitions
        self.session_timeout_s = session_timeout_s
        self.count = 0

    def next(self):
        rng = self.rng
        if self.cycle:
            kind = self.kinds[self.count % len(self.kinds)]
        else:
            kind = rng.choices(self.kinds, weights=self.weights)[0]
        b1, b2 = rng.sample([1, 2, 3], 2)
        params = {
            "broker": b1,
            "partition": rng.randrange(self.partitions),
            "down_s": round(rng.uniform(0.5, 6.0), 1),
            "quiet_s": round(rng.uniform(2.0, 6.0), 1),
        }
        if kind == "kill_two_brokers":
            params["broker2"] = b2
        elif kind == "pause_broker":
            params["down_s"] = round(self.session_timeout_s + rng.uniform(1.0, 3.0), 1)
        elif kind == "pause_controller":
            params["down_s"] = round(rng.uniform(2.5, 6.0), 1)
        elif kind == "stall_followers_kill_leader":
            params["stall_s"] = round(rng.uniform(0.8, 2.0), 1)
        elif kind == "rolling_restart":
            order = [1, 2, 3]
            rng.shuffle(order)
            params["order"] = ",".join(map(str, order))
        elif kind == "isolate_node":
            params["node"] = rng.choice(["b1", "b2", "b3", "c1", "c2", "c3", "active"])
            params["down_s"] = round(rng.uniform(2.0, 8.0), 1)
        elif kind == "isolate_leader":
            params["down_s"] = round(rng.uniform(3.0, 10.0), 1)
        elif kind == "one_way_cut":
            params["direction"] = rng.choice(ONE_WAY)
            params["down_s"] = round(rng.uniform(2.0, 8.0), 1)
        self.count += 1
        return Fault(self.count, kind, params)


class Runner:
    """Runs faults against a cluster.Cluster (and its netns.Lab, if any)."""

    def __init__(self, cluster, topic, log):
        self.c = cluster
        self.lab = cluster.lab
        self.topic = topic
        self.log = log  # log(text): one line in faults.log and on stdout

    def run(self, fault):
        fn = getattr(self, "do_" + fault.kind)
        return fn(**fault.params)

    # ---------------------------------------------------------------- helpers

    def _leader(self, partition, fallback_broker):
        node = self.c.leader_of(self.topic, partition)
        return node if node is not None else self.c.nodes[f"b{fallback_broker}"]

    def _active(self):
        node = self.c.active_controller()
        return node if node is not None else self.c.nodes["c1"]

    def _down(self, names, down_s, how="kill"):
        for name in names:
            if how == "kill":
                self.c.kill(name)
            else:
                self.c.pause(name)
        self.log(f"  {how} {','.join(names)} for {down_s:.1f}s")
        time.sleep(down_s)
        for name in names:
            if how == "kill":
                self.c.start(name)
            else:
                self.c.resume(name)

    # ---------------------------------------------------------------- process faults

    def do_kill_broker(self, broker, down_s, **_):
        self._down([f"b{broker}"], down_s)

    def do_kill_leader(self, partition, broker, down_s, **_):
        leader = self._leader(partition, broker)
        self.log(f"  leader of partition {partition} is {leader.name}")
        self._down([leader.name], down_s)

    def do_kill_controller(self, down_s, **_):
        self._down([self._active().name], down_s)

    def do_kill_two_brokers(self, broker, broker2, down_s, **_):
        self._down([f"b{broker}", f"b{broker2}"], down_s)

    def do_pause_broker(self, broker, down_s, **_):
        self._down([f"b{broker}"], down_s, how="pause")

    def do_pause_controller(self, down_s, **_):
        self._down([self._active().name], down_s, how="pause")

    def do_rolling_restart(self, order, **_):
        for i in order.split(","):
            name = f"b{i}"
            t0 = time.monotonic()
            clean = self.c.term(name)
            self.log(f"  {name} SIGTERM: {'clean exit' if clean else 'had to be killed'} "
                     f"after {time.monotonic() - t0:.1f}s")
            self.c.start(name)
            took, reason = self.c.wait_healthy(self.topic, 90)
            self.log(f"  {name} back: " + (f"healthy after {took:.1f}s" if took is not None
                                           else f"NOT healthy after 90s: {reason}"))

    def do_stall_followers_kill_leader(self, partition, broker, down_s, stall_s, **_):
        leader = self._leader(partition, broker)
        followers = [b.name for b in self.c.brokers() if b.name != leader.name]
        self.log(f"  partition {partition}: pause followers {','.join(followers)} for "
                 f"{stall_s:.1f}s, then kill leader {leader.name}")
        for name in followers:
            self.c.pause(name)
        time.sleep(stall_s)
        self.c.kill(leader.name)
        for name in followers:
            self.c.resume(name)
        time.sleep(down_s)
        self.c.start(leader.name)

    # ---------------------------------------------------------------- network faults

    def _cut_for(self, down_s, apply):
        try:
            apply()
            time.sleep(down_s)
        finally:
            self.lab.heal()

    def do_isolate_node(self, node, down_s, **_):
        name = self._active().name if node == "active" else node
        self.log(f"  isolate {name} for {down_s:.1f}s")
        self._cut_for(down_s, lambda: self.lab.isolate(name))

    def do_isolate_leader(self, partition, broker, down_s, **_):
        leader = self._leader(partition, broker)
        peers = [n for n in self.c.nodes if n != leader.name]
        self.log(f"  cut leader {leader.name} of partition {partition} from {','.join(peers)} "
                 f"for {down_s:.1f}s (clients still reach it)")
        self._cut_for(down_s, lambda: self.lab.cut(leader.name, peers))

    def do_one_way_cut(self, partition, broker, direction, down_s, **_):
        leader = self._leader(partition, broker)
        follower = next(b.name for b in self.c.brokers() if b.name != leader.name)
        active = self._active()
        other = next(c.name for c in self.c.controllers() if c.name != active.name)
        src, dst = {
            "leader_to_follower": (leader.name, follower),
            "follower_to_leader": (follower, leader.name),
            "broker_to_controller": (f"b{broker}", active.name),
            "controller_to_controller": (active.name, other),
        }[direction]
        self.log(f"  drop {src} -> {dst} ({direction}) for {down_s:.1f}s")
        self._cut_for(down_s, lambda: self.lab.cut_one_way(src, dst))


def kinds_for(netns, only=None):
    kinds = dict(LOCAL_KINDS)
    if netns:
        kinds.update(NETNS_KINDS)
    if only:
        unknown = [k for k in only if k not in LOCAL_KINDS and k not in NETNS_KINDS]
        if unknown:
            raise ValueError(f"unknown fault kinds: {', '.join(unknown)}")
        needs_netns = [k for k in only if k in NETNS_KINDS]
        if needs_netns and not netns:
            raise ValueError(f"{', '.join(needs_netns)} need --netns")
        kinds = {k: kinds[k] for k in only}
    return kinds

