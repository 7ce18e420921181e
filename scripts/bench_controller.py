#!/usr/bin/env python3
"""Controller figures on a running local cluster (scripts/bench-controller.sh starts it):

  controller_failover_ms   SIGKILL of the active controller -> a client's CreateTopics (a fresh
                           topic, 1 partition, RF 3, retried with a short timeout) succeeds
  controller_election_ms   the same kill -> the new leader logs quorum_leader self=1 with a
                           higher epoch (its log's timestamp; same machine, same clock)
  controller_active_ms     the same kill -> the new leader logs event=active (it serves requests)
  controller_brokers_follow_ms  the same kill -> every broker logs the new quorum leader
  controller_catchup_ms    restart of the killed controller -> three voters at lag 0
  metadata_commit_ms       sequential CreateTopics (1 partition, RF 3) / AlterConfigs round trips
  partitions_10k_*         10,000 partitions at RF 3: CreateTopics wall time, time until every
                           broker's own Metadata response shows them all with a leader, RSS,
                           open files and idle CPU of every process

Environment (set by the shell script): BOOTSTRAP, CLUSTER_DIR, BIN_DIR, ROOT,
CONTROLLERS, BROKERS. Figures go to stdout, one line each; progress to stderr. Never fails on
a number: a phase that cannot finish prints what it saw and the script goes on."""
import argparse
import datetime
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

ENV = os.environ
BOOT = ENV["BOOTSTRAP"]
CLUSTER_DIR = ENV["CLUSTER_DIR"]
SLUICE = os.path.join(ENV["BIN_DIR"], "sluice")
CLUSTER_SH = os.path.join(ENV["ROOT"], "scripts", "cluster.sh")
CONTROLLER_ID_BASE = 100  # scripts/cluster.sh: controllers are 101.., brokers 1..
BROKER_ADDRS = [a for a in BOOT.split(",") if a]
NODES = [f"c{i}" for i in range(1, int(ENV.get("CONTROLLERS", "3")) + 1)] + \
        [f"b{i}" for i in range(1, len(BROKER_ADDRS) + 1)]


class Timeout(Exception):
    pass


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def wait(cond, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = cond()
            if last:
                return last
        except Exception as e:  # a client error is a "not yet"
            last = e
        time.sleep(interval)
    raise Timeout(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def pct(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(q * (len(v) - 1) + 0.5))]


def summary(values):
    if not values:
        return "p50=nan p99=nan max=nan"
    return f"p50={pct(values, 0.5):.1f} p99={pct(values, 0.99):.1f} max={max(values):.1f}"


# ---------------- cluster and quorum state ----------------

def node_pid(node):
    try:
        with open(os.path.join(CLUSTER_DIR, "pids", node + ".pid")) as f:
            pid = int(f.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def quorum(kind="status"):
    """metadata-quorum describe through the brokers: --status as a dict of its fields,
    --replication as a list of row dicts."""
    t = time.monotonic()
    r = subprocess.run([SLUICE, "metadata-quorum", "--bootstrap-server", BOOT, "describe",
                        "--" + kind], capture_output=True, text=True, timeout=40)
    took = time.monotonic() - t
    if took > 2:
        log(f"  slow metadata-quorum describe --{kind}: {took:.1f} s (exit {r.returncode}, "
            f"ended at wall {time.time():.3f}) {r.stderr.strip()}")
    if r.returncode != 0:
        raise RuntimeError(f"metadata-quorum: {r.stderr.strip()}")
    lines = r.stdout.splitlines()
    if kind == "status":
        return {k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in lines)}
    head = lines[0].split()
    return [dict(zip(head, ln.split())) for ln in lines[1:] if ln.strip()]


def leader_and_epoch():
    s = quorum("status")
    return int(s["LeaderId"]), int(s["LeaderEpoch"])


def voters_caught_up(restarted_id, since_wall_ms):
    """Three voters with lag 0, one leader, and the restarted one fetched since its start."""
    rows = [r for r in quorum("replication") if r["Status"] in ("Leader", "Follower")]
    if len(rows) != 3 or sum(r["Status"] == "Leader" for r in rows) != 1:
        return False
    if any(int(r["Lag"]) != 0 for r in rows):
        return False
    back = [r for r in rows if int(r["NodeId"]) == restarted_id]
    return bool(back) and int(back[0]["LastFetchTimestamp"]) >= since_wall_ms


LOG_TS = re.compile(r"^ts=(\S+) ")


def log_event_ms(node, pattern, after_wall_ms):
    """Wall ms of the first line of node's log matching pattern at or after after_wall_ms."""
    try:
        with open(os.path.join(CLUSTER_DIR, "logs", node + ".log"), errors="replace") as f:
            for line in f:
                if not pattern.search(line):
                    continue
                m = LOG_TS.match(line)
                if not m:
                    continue
                ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S.%fZ")
                ms = ts.replace(tzinfo=datetime.timezone.utc).timestamp() * 1000
                if ms >= after_wall_ms:
                    return ms
    except OSError:
        pass
    return None


# ---------------- controller failover ----------------

def create_once(admin, name, timeout):
    fs = admin.create_topics([NewTopic(name, 1, 3)], operation_timeout=timeout,
                             request_timeout=timeout)
    fs[name].result(timeout + 1)


def failover_trial(admin, trial, request_timeout):
    old_leader, old_epoch = wait(leader_and_epoch, 30, "a quorum leader")
    node = f"c{old_leader - CONTROLLER_ID_BASE}"
    pid = node_pid(node)
    if pid is None:
        raise Timeout(f"{node} (leader {old_leader}) has no live pid")
    create_once(admin, f"cfo-warm-{trial}", 10)  # the client's connections are up
    kill_wall_ms = time.time() * 1000
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    os.remove(os.path.join(CLUSTER_DIR, "pids", node + ".pid"))  # as cluster.sh kill does
    attempt, ok_ms, deadline = 0, None, t0 + 60
    while time.monotonic() < deadline:
        attempt += 1
        try:
            create_once(admin, f"cfo-{trial}-{attempt}", request_timeout)
            ok_ms = (time.monotonic() - t0) * 1000
            break
        except Exception:
            time.sleep(0.005)
    if ok_ms is None:
        raise Timeout(f"trial {trial}: no CreateTopics succeeded within 60 s of killing {node}")
    new_leader, new_epoch = wait(leader_and_epoch, 30, "the new leader")
    new_node = f"c{new_leader - CONTROLLER_ID_BASE}"
    elected = log_event_ms(new_node, re.compile(
        rf"event=quorum_leader leader={new_leader} epoch={new_epoch} self=1"), kill_wall_ms)
    active = log_event_ms(new_node, re.compile(rf"event=active epoch={new_epoch} "),
                          kill_wall_ms)
    election_ms = elected - kill_wall_ms if elected else None
    active_ms = active - kill_wall_ms if active else None
    restart_wall_ms = time.time() * 1000
    subprocess.run([CLUSTER_SH, "restart", node], check=True, capture_output=True, timeout=60)
    t1 = time.monotonic()
    wait(lambda: voters_caught_up(old_leader, restart_wall_ms), 60,
         f"{node} caught up", interval=0.05)
    catchup_ms = (time.monotonic() - t1) * 1000
    follows = re.compile(rf"mod=meta event=quorum_leader leader={new_leader} epoch={new_epoch}\b")

    def all_follow():
        seen = [log_event_ms(b, follows, kill_wall_ms) for b in NODES if b.startswith("b")]
        return seen if all(seen) else None

    try:
        brokers_ms = max(wait(all_follow, 10, "every broker following the new leader",
                              interval=0.05)) - kill_wall_ms
    except Timeout:
        brokers_ms = None
    log(f"  trial={trial} killed={node} epoch={old_epoch}->{new_epoch} leader={new_leader} "
        f"create_ok_ms={ok_ms:.0f} attempts={attempt} election_ms="
        f"{'?' if election_ms is None else f'{election_ms:.0f}'} active_ms="
        f"{'?' if active_ms is None else f'{active_ms:.0f}'} brokers_ms="
        f"{'?' if brokers_ms is None else f'{brokers_ms:.0f}'} catchup_ms={catchup_ms:.0f}")
    if new_epoch <= old_epoch or new_leader == old_leader:
        log(f"  trial={trial}: epoch did not increase ({old_epoch} -> {new_epoch}) or the "
            f"leader did not change ({old_leader} -> {new_leader})")
    return ok_ms, election_ms, active_ms, brokers_ms, catchup_ms


def bench_failover(admin, trials, request_timeout):
    ok, elect, active, brokers, catchup = [], [], [], [], []
    try:
        for trial in range(trials):
            o, e, a, b, c = failover_trial(admin, trial, request_timeout)
            ok.append(o)
            catchup.append(c)
            for values, v in ((elect, e), (active, a), (brokers, b)):
                if v is not None:
                    values.append(v)
    except Exception as e:
        log(f"controller failover stopped early: {e}")
    print(f"controller_failover_ms {summary(ok)} trials={len(ok)} "
          f"(kill -> CreateTopics succeeds, request timeout {request_timeout:g} s)", flush=True)
    print(f"controller_election_ms {summary(elect)} trials={len(elect)} "
          f"(kill -> new leader at a higher epoch, from its log)", flush=True)
    print(f"controller_active_ms {summary(active)} trials={len(active)} "
          f"(kill -> new leader active, from its log)", flush=True)
    print(f"controller_brokers_follow_ms {summary(brokers)} trials={len(brokers)} "
          f"(kill -> every broker names the new leader, from their logs)", flush=True)
    print(f"controller_catchup_ms {summary(catchup)} trials={len(catchup)} "
          f"(restart -> three voters at lag 0)", flush=True)


# ---------------- commit latency ----------------

def bench_commits(admin, count):
    lat = []
    try:
        for i in range(count):
            t = time.perf_counter()
            create_once(admin, f"commit-{i}", 30)
            lat.append((time.perf_counter() - t) * 1000)
    except Exception as e:
        log(f"CreateTopics latency stopped early: {e}")
    print(f"metadata_commit_ms op=create_topics {summary(lat)} n={len(lat)}", flush=True)
    lat = []
    try:
        for i in range(count):
            res = ConfigResource("topic", "commit-0",
                                 set_config={"retention.ms": str(3_600_000 + i)})
            t = time.perf_counter()
            admin.alter_configs([res], request_timeout=30)[res].result(31)
            lat.append((time.perf_counter() - t) * 1000)
    except Exception as e:
        log(f"AlterConfigs latency stopped early: {e}")
    print(f"metadata_commit_ms op=alter_configs {summary(lat)} n={len(lat)}", flush=True)


# ---------------- 10,000 partitions ----------------

def kstr(b, off):
    (n,) = struct.unpack_from(">h", b, off)
    off += 2
    if n < 0:
        return None, off
    return b[off:off + n].decode(errors="replace"), off + n


def metadata_led(addr, prefix, timeout):
    """Partitions of topics named prefix* with a leader, in this broker's own Metadata v1
    response (a raw request, so no client routes it to another broker)."""
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.settimeout(timeout)
        client = b"bench-controller"
        req = struct.pack(">hhih", 3, 1, 7, len(client)) + client + struct.pack(">i", -1)
        s.sendall(struct.pack(">i", len(req)) + req)
        hdr = s.recv(4, socket.MSG_WAITALL)
        if len(hdr) < 4:
            raise ConnectionError("connection closed")
        (size,) = struct.unpack(">i", hdr)
        b = bytearray()
        while len(b) < size:
            chunk = s.recv(min(1 << 20, size - len(b)))
            if not chunk:
                raise ConnectionError("connection closed")
            b += chunk
    b = bytes(b)
    off = 4  # correlation id
    (n,) = struct.unpack_from(">i", b, off)
    off += 4
    for _ in range(n):  # brokers: node_id, host, port, rack
        off += 4
        _, off = kstr(b, off)
        off += 4
        _, off = kstr(b, off)
    off += 4  # controller id
    (n,) = struct.unpack_from(">i", b, off)
    off += 4
    led = 0
    for _ in range(n):
        off += 2
        name, off = kstr(b, off)
        off += 1
        (parts,) = struct.unpack_from(">i", b, off)
        off += 4
        for _ in range(parts):
            _, _, leader = struct.unpack_from(">hii", b, off)
            off += 10
            for _ in range(2):  # replicas, isr
                (k,) = struct.unpack_from(">i", b, off)
                off += 4 + 4 * max(k, 0)
            if name and name.startswith(prefix) and leader >= 0:
                led += 1
    return led


def proc_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def rss_mib(pid):
    r = subprocess.run(["ps", "-o", "rss=", "-p", str(pid)], capture_output=True, text=True)
    return int(r.stdout.strip() or 0) / 1024


def open_files(pid):
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def log_count(node, needle):
    n = 0
    try:
        with open(os.path.join(CLUSTER_DIR, "logs", node + ".log"), "rb") as f:
            for line in f:
                if needle in line:
                    n += 1
    except OSError:
        pass
    return n


def open_failures(node):
    """Failed log opens: the broker logs one line a second at most, with the number of
    failures it did not log since (suppressed=N)."""
    n = 0
    try:
        with open(os.path.join(CLUSTER_DIR, "logs", node + ".log"), "rb") as f:
            for line in f:
                if b"mod=replica event=log_open_failed" in line:
                    m = re.search(rb" suppressed=(\d+)", line)
                    n += 1 + (int(m.group(1)) if m else 0)
    except OSError:
        pass
    return n


def bench_partitions(admin, topics, per_topic, batch, metadata_timeout, idle_s):
    total = topics * per_topic
    name = "partitions_10k" if total == 10_000 else f"partitions_{total}"
    need = 4 * total * 3 // len(BROKER_ADDRS)  # a directory and three files per replica
    if os.sysconf("SC_OPEN_MAX") < need:
        print(f"# warning: open files limit {os.sysconf('SC_OPEN_MAX')} is below the ~{need} "
              f"each broker needs for {total} partitions at RF 3", flush=True)
    names = [f"p10k-{i:03d}" for i in range(topics)]
    t0 = time.monotonic()
    errors, failing = [], 0
    for i in range(0, topics, batch):
        if failing >= 5:
            log(f"  giving up after {failing} failed requests in a row")
            break
        chunk = names[i:i + batch]
        fs = admin.create_topics([NewTopic(n, per_topic, 3) for n in chunk],
                                 operation_timeout=120, request_timeout=150)
        before = len(errors)
        for n, f in fs.items():
            try:
                f.result(151)
            except Exception as e:
                errors.append(f"{n}: {e}")
        failing = failing + 1 if len(errors) > before else 0
        log(f"  created topics {i}..{i + len(chunk) - 1} at {time.monotonic() - t0:.2f} s "
            f"({len(errors)} errors so far)")
    created_s = time.monotonic() - t0
    brokers = {f"b{i}": addr for i, addr in enumerate(BROKER_ADDRS, 1)}
    seen, last = {}, {b: None for b in brokers}
    deadline = time.monotonic() + metadata_timeout
    while len(seen) + sum(v == "dead" for v in last.values()) < len(brokers) and \
            time.monotonic() < deadline:
        for b, addr in brokers.items():
            if b in seen or last[b] == "dead":
                continue
            if node_pid(b) is None:
                last[b] = "dead"
                continue
            try:
                last[b] = metadata_led(addr, "p10k-",
                                       max(0.5, min(5.0, deadline - time.monotonic())))
            except Exception as e:
                last[b] = f"{type(e).__name__}: {e}"
            if last[b] == total:
                seen[b] = time.monotonic() - t0
        time.sleep(0.05)
    for b in brokers:
        if b not in seen:
            log(f"  {b}: Metadata shows {last[b]} of {total} partitions with a leader")
    all_s = f"{max(seen.values()):.2f}" if len(seen) == len(brokers) else "timeout"
    print(f"{name} create_s={created_s:.2f} all_leaders_in_metadata_s={all_s} "
          f"partitions={total} topics={topics} batch={batch} create_errors={len(errors)} "
          + " ".join(f"{b}={seen[b]:.2f}" if b in seen else
                     f"{b}={last[b] if isinstance(last[b], int) else '?'}/{total}"
                     + ("(dead)" if last[b] == "dead" else "")
                     for b in brokers), flush=True)
    for e in errors[:5]:
        log(f"  create error: {e}")
    # RSS and idle CPU once every broker has opened its replicas' logs (brokers open them
    # from a queue, a slice at a time; counted from their log_opened lines)
    per_broker = total * 3 // len(BROKER_ADDRS)
    opened = {}
    deadline = time.monotonic() + metadata_timeout
    while time.monotonic() < deadline:
        opened = {b: log_count(b, b"event=log_opened topic=p10k-") for b in brokers
                  if node_pid(b) is not None}
        if all(v >= per_broker for v in opened.values()):
            break
        time.sleep(0.2)
    print(f"{name}_logs_opened_s={time.monotonic() - t0:.2f} "
          + " ".join(f"{b}={v}/{per_broker}" for b, v in opened.items()), flush=True)
    pids = {n: node_pid(n) for n in NODES}
    print(f"{name}_rss_mib " + " ".join(
        f"{n}={rss_mib(p):.0f}" if p else f"{n}=dead" for n, p in pids.items()), flush=True)
    print(f"{name}_open_files " + " ".join(
        f"{n}={open_files(p)}" if p else f"{n}=dead" for n, p in pids.items())
        + f" nofile_limit={os.sysconf('SC_OPEN_MAX')}", flush=True)
    hz = os.sysconf("SC_CLK_TCK")
    before = {n: proc_ticks(p) for n, p in pids.items() if p}
    w0 = time.monotonic()
    time.sleep(idle_s)  # the measurement window itself, not a synchronisation
    span = time.monotonic() - w0
    cpu = []
    for n, p in pids.items():
        try:
            cpu.append(f"{n}={(proc_ticks(p) - before[n]) * 100.0 / hz / span:.1f}")
        except (OSError, KeyError, TypeError):
            cpu.append(f"{n}=dead")
    print(f"{name}_idle_cpu_pct window_s={span:.0f} " + " ".join(cpu), flush=True)
    failed = {n: open_failures(n) for n in NODES if n.startswith("b")}
    emfile = {n: log_count(n, b"Too many open files") for n in NODES}
    if any(failed.values()) or any(emfile.values()):
        print(f"{name}_errors "
              + " ".join(f"{n}_log_open_failed={v}" for n, v in failed.items()) + " "
              + " ".join(f"{n}_emfile_lines={v}" for n, v in emfile.items() if v), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--commits", type=int, default=200)
    ap.add_argument("--topics", type=int, default=100)
    ap.add_argument("--partitions-per-topic", type=int, default=100)
    ap.add_argument("--batch", type=int, default=1, help="topics per CreateTopics request")
    ap.add_argument("--request-timeout", type=float, default=2.0)
    ap.add_argument("--metadata-timeout", type=float, default=60.0)
    ap.add_argument("--idle-seconds", type=float, default=10.0)
    ap.add_argument("--skip", default="", help="comma list of failover,commit,partitions")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    admin = AdminClient({"bootstrap.servers": BOOT})
    if "failover" not in skip:
        bench_failover(admin, args.trials, args.request_timeout)
    if "commit" not in skip:
        bench_commits(admin, args.commits)
    if "partitions" not in skip:
        bench_partitions(admin, args.topics, args.partitions_per_topic, args.batch,
                         args.metadata_timeout, args.idle_seconds)


if __name__ == "__main__":
    main()
