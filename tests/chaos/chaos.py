"""The chaos suite: a sluice cluster under faults and a real workload, then the checker.

    chaos.py [--minutes N | --seconds N] [--seed S] [--netns] [--failpoint NAME]
             [--faults kind,kind] [--bin-dir DIR] [--out DIR] [--keep] [--expect-violation]

1. Start 3 controllers + 3 brokers (cluster.py), on 127.0.0.1 or with --netns each in its
   own network namespace (netns.py; needs root, skipped with a message otherwise).
2. Create the workload topic: RF 3, min.insync.replicas=2, unclean election off.
3. Start the workload (workload.py): idempotent acks=all producers and a consumer group.
4. Inject faults from the seeded schedule (faults.py) until the time is up; each fault
   heals itself, then the harness waits for every node, broker registration and full ISR.
5. Heal everything, let the producers run on briefly, stop them (they flush), let the
   group catch up, stop it, drain every partition from the beginning.
6. Run the checker (checker.py) over the histories and report.

The seed is printed first; the same seed and fault kinds replay the same fault schedule.
Exit status: 0 when the checker found nothing and no node crashed (with
--expect-violation: 0 only when the checker did find a violation), 1 otherwise.
Everything the run wrote (histories, node logs, faults.log, checker.txt) stays in the run
directory when it fails or with --keep.
"""
import argparse
import atexit
import json
import os
import re
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import checker  # noqa: E402
import cluster as cl  # noqa: E402
import faults  # noqa: E402
import netns  # noqa: E402

TOPIC = "chaos"
GROUP = "chaos-group"
TAIL_S = 3.0               # producing after the final heal, so acks resume on record
PYTHON = sys.executable or "/usr/bin/python3"


class Run:
    def __init__(self, args):
        self.args = args
        self.dir = args.out or tempfile.mkdtemp(prefix="sluice-chaos-")
        os.makedirs(self.dir, exist_ok=True)
        self.run_id = f"s{args.seed}n{random.randrange(1 << 30):x}"
        self.lab = None
        self.cluster = None
        self.workers = {}   # name -> Popen
        self.exited = set()  # workers whose unexpected exit is already reported
        self.findings = []  # harness-level problems: crashes, stuck recoveries
        self.notes = []     # known client faults, reported but not failing the run
        self.recoveries = []
        self.faults_log = open(os.path.join(self.dir, "faults.log"), "a", buffering=1)
        self.t0 = time.time()
        self.meta = {"seed": args.seed, "run": self.run_id, "topic": TOPIC,
                     "partitions": args.partitions, "netns": bool(args.netns),
                     "failpoint": args.failpoint}

    def log(self, text):
        line = f"[{time.time() - self.t0:7.1f}s] {text}"
        print(line, flush=True)
        self.faults_log.write(line + "\n")

    # ---------------------------------------------------------------- setup

    def setup_netns(self):
        tag = self.args.netns_tag or f"sc{os.getpid() % 100000}"
        self.lab = netns.Lab(tag, cl.Cluster.lab_addresses())
        atexit.register(self.lab.teardown)
        self.lab.setup()
        self.lab.enter_client_ns()
        self.log(f"network namespaces {tag}-* up (10.77.0.0/24 inside them only)")

    def start_cluster(self):
        env = {}
        if self.args.failpoint:
            env["SLUICE_FAILPOINTS"] = self.args.failpoint
        self.cluster = cl.Cluster(os.path.join(self.dir, "cluster"), self.args.bin_dir,
                                  lab=self.lab, env=env)
        self.cluster.start_all()
        deadline = time.monotonic() + 60
        while len(self.cluster.live_brokers()) < 3:
            if self.cluster.check_crashes() or time.monotonic() > deadline:
                raise RuntimeError("cluster did not start: " + self.crash_text())
            time.sleep(0.2)
        self.log(f"cluster up: bootstrap {self.cluster.bootstrap}")

    def create_topic(self):
        from confluent_kafka.admin import NewTopic
        conf = {"min.insync.replicas": "2", "unclean.leader.election.enable": "false"}
        fut = self.cluster.admin().create_topics(
            [NewTopic(TOPIC, self.args.partitions, 3, config=conf)], operation_timeout=30)
        fut[TOPIC].result(60)
        took, reason = self.cluster.wait_healthy(TOPIC, 60)
        if took is None:
            raise RuntimeError(f"topic not ready: {reason}")
        self.log(f"topic {TOPIC}: {self.args.partitions} partitions, RF 3, "
                 f"min.insync.replicas=2")

    def spawn(self, name, mode, *extra):
        cmd = [PYTHON, os.path.join(HERE, "workload.py"), mode,
               "--bootstrap", self.cluster.bootstrap, "--topic", TOPIC, "--run", self.run_id,
               "--group", GROUP, "--out", os.path.join(self.dir, f"{name}.log"), *extra]
        err = open(os.path.join(self.dir, f"{name}.stderr"), "ab")
        self.workers[name] = subprocess.Popen(cmd, stdout=err, stderr=subprocess.STDOUT,
                                              stdin=subprocess.DEVNULL,
                                              start_new_session=True)

    def start_workload(self):
        for i in range(1, self.args.consumers + 1):
            self.spawn(f"consumer-{i}", "consume", "--id", f"c{i}")
        self.meta["produce_start"] = time.time()
        for i in range(1, self.args.producers + 1):
            self.spawn(f"producer-{i}", "produce", "--id", f"p{i}",
                       "--rate", str(self.args.rate))
        self.log(f"workload: {self.args.producers} producers x {self.args.rate:g} values/s, "
                 f"{self.args.consumers} group members")

    def check_failpoint(self):
        """The binaries must really carry the failpoint the run asked for."""
        if not self.args.failpoint:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for b in self.cluster.brokers():
                with open(self.cluster.log_path(b), errors="replace") as f:
                    if "mod=failpoint event=enabled" in f.read():
                        self.log(f"failpoint {self.args.failpoint} active (seen in {b.name})")
                        return
            time.sleep(0.5)
        raise RuntimeError(f"no broker reports failpoint {self.args.failpoint}: were the "
                           f"binaries in {self.args.bin_dir} built with CHAOS_FAILPOINTS=1?")

    # ---------------------------------------------------------------- faults

    def crash_text(self):
        return "; ".join(f"{n} exited with {rc}" for n, rc, _ in self.cluster.crashes) or "-"

    def note_crashes(self):
        for name in self.cluster.check_crashes():
            rc = [c for c in self.cluster.crashes if c[0] == name][-1]
            self.findings.append(f"crash: {name} exited with status {rc[1]} unasked")
            self.log(f"!! {name} crashed (status {rc[1]}); log tail:\n{rc[2]}")
            self.cluster.start(name)

    def repair(self):
        """Put everything back: no cut, nothing paused, every node running."""
        if self.lab:
            self.lab.heal()
        for name in self.cluster.nodes:
            self.cluster.resume(name)
            if not self.cluster.alive(name):
                self.cluster.start(name)

    def wait_whole(self, what, timeout):
        self.note_crashes()
        took, reason = self.cluster.wait_healthy(TOPIC, timeout)
        if took is None:
            self.findings.append(f"liveness: not whole {timeout}s after {what}: {reason}")
            self.log(f"!! cluster not whole {timeout}s after {what}: {reason}")
            self.repair()
            took2, reason2 = self.cluster.wait_healthy(TOPIC, timeout)
            self.log("   after repair: " + (f"whole in {took2:.1f}s" if took2 is not None
                                               else f"still not whole: {reason2}"))
            return None
        self.recoveries.append(took)
        return took

    def fault_loop(self, seconds):
        kinds = faults.kinds_for(self.args.netns, self.args.faults)
        sched = faults.Schedule(self.args.seed, kinds, self.args.partitions,
                                session_timeout_s=3.0, cycle=self.args.cycle)
        runner = faults.Runner(self.cluster, TOPIC, self.log)
        end = time.monotonic() + seconds
        counts = {}
        while time.monotonic() < end:
            fault = sched.next()
            counts[fault.kind] = counts.get(fault.kind, 0) + 1
            self.log(f"fault {fault}")
            try:
                runner.run(fault)
            finally:
                self.repair()
            took = self.wait_whole(f"fault #{fault.index} {fault.kind}",
                                   self.args.heal_timeout)
            if took is not None:
                self.log(f"  healed; cluster whole after {took:.1f}s")
            self.note_workers()
            time.sleep(fault.params["quiet_s"])
        self.meta["faults"] = counts
        self.log("faults injected: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))

    def note_workers(self):
        for name, proc in self.workers.items():
            if name in self.exited or name.startswith("drain"):
                continue
            if proc.poll() is not None:
                self.exited.add(name)
                self.findings.append(f"workload: {name} exited with {proc.returncode}")
                self.log(f"!! workload process {name} exited with {proc.returncode}")

    # ---------------------------------------------------------------- finish

    def stop_workers(self, prefix, timeout):
        procs = [(n, p) for n, p in self.workers.items() if n.startswith(prefix)]
        for _, p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for name, p in procs:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                self.findings.append(f"workload: {name} did not stop within {timeout}s")

    def group_caught_up(self, timeout):
        from confluent_kafka import Consumer, TopicPartition
        c = Consumer({"bootstrap.servers": self.cluster.bootstrap, "group.id": GROUP,
                      "enable.auto.commit": False, "log_level": 0})
        tps = [TopicPartition(TOPIC, p) for p in range(self.args.partitions)]
        deadline = time.monotonic() + timeout
        behind = None
        try:
            while time.monotonic() < deadline:
                try:
                    ends = {tp.partition: c.get_watermark_offsets(tp, timeout=5,
                                                                  cached=False)[1]
                            for tp in tps}
                    got = {tp.partition: tp.offset for tp in c.committed(tps, timeout=10)}
                except Exception as e:  # a client error is a "not yet"
                    behind = str(e)
                    time.sleep(0.5)
                    continue
                behind = {p: (got.get(p), e) for p, e in ends.items() if got.get(p, -1) < e}
                if not behind:
                    return True
                time.sleep(0.5)
        finally:
            c.close()
        self.log(f"group not caught up after {timeout}s: {behind}")
        return False

    def finish(self):
        self.log("final heal")
        self.repair()
        took = self.wait_whole("the final heal", self.args.heal_timeout)
        if took is not None:
            self.log(f"cluster whole after {took:.1f}s")
        time.sleep(TAIL_S)
        self.meta["produce_stop"] = time.time()
        self.log("stopping producers (they flush what is outstanding)")
        self.stop_workers("producer-", 180)
        self.meta["group_caught_up"] = self.group_caught_up(90)
        self.stop_workers("consumer-", 60)
        self.log("draining every partition from its start")
        self.spawn("drain", "drain")
        try:
            rc = self.workers["drain"].wait(300)
        except subprocess.TimeoutExpired:
            self.workers["drain"].kill()
            rc = "timeout"
        if rc != 0:
            self.findings.append(f"drain: exited with {rc} (see drain.stderr)")
        self.write_batches()
        self.note_crashes()
        for node, line in self.cluster.log_markers():
            self.findings.append(f"log: {node}: {line[:300]}")
        with open(os.path.join(self.dir, "meta.json"), "w") as f:
            json.dump(self.meta, f, indent=1)

    def write_batches(self):
        """batches.log: every batch's offsets, producer id and producer epoch, read from
        each partition leader's files with `sluice dump-log`, so the checker can tell a
        copy the client re-sent under a new producer epoch from a broker duplicate."""
        tool = os.path.join(self.args.bin_dir, "sluice")
        pat = re.compile(r"baseOffset: (\d+) lastOffset: (\d+) .*producerId: (-?\d+) "
                         r"producerEpoch: (-?\d+)")
        out = []
        for p in range(self.args.partitions):
            node = self.cluster.leader_of(TOPIC, p)
            if node is None:
                self.findings.append(f"batches: partition {p} has no leader to read")
                continue
            pdir = os.path.join(self.cluster.dir, "data", node.name, f"{TOPIC}-{p}")
            for name in sorted(f for f in os.listdir(pdir) if f.endswith(".log")):
                r = subprocess.run([tool, "dump-log", "--files", os.path.join(pdir, name)],
                                   capture_output=True, text=True, timeout=300)
                for m in pat.finditer(r.stdout):
                    out.append("\t".join(("B", str(p)) + m.groups()))
        with open(os.path.join(self.dir, "batches.log"), "w") as f:
            f.write("\n".join(out) + ("\n" if out else ""))

    def known_client_fatal(self, inst):
        """True when producer instance inst (p<N>.<k>) died of librdkafka < 2.3's known
        fault: after a possibly persisted error it advances its next expected sequence and
        then fails its own retry as a "rewound sequence number" (librdkafka #4438). Any
        other fatal error — "sequence desynchronization" included, which is what a broker
        that forgot an acknowledged batch causes — stays a finding."""
        name, k = inst.split(".")  # the k-th instance of producer <name> (one log file)
        path = os.path.join(self.dir, f"producer-{name[1:]}.log.client")
        try:
            with open(path, errors="replace") as f:
                fatal = [ln for ln in f if "FATAL" in ln]
        except OSError:
            return False
        return int(k) < len(fatal) and "rewound sequence number" in fatal[int(k)]

    def report(self):
        hist = checker.load_dir(self.dir)
        rep = checker.check(hist)
        for inst, err, t in hist.fatal:
            if self.known_client_fatal(inst):
                self.notes.append(f"producer {inst}: librdkafka's own sequence bookkeeping "
                                  f"failed at {t - self.t0:.1f}s ({err}, 'rewound sequence "
                                  f"number': librdkafka #4438, fixed in 2.3.0); replaced")
                continue
            self.findings.append(f"producer {inst}: fatal error {err} at {t - self.t0:.1f}s")
        if not hist.group_caught_up:
            self.findings.append("group: did not commit up to the end offsets")
        lines = rep.lines()
        if self.recoveries:
            rs = sorted(self.recoveries)
            lines.append(f"recovery_s: faults={len(rs)} p50={rs[len(rs) // 2]:.1f} "
                         f"max={rs[-1]:.1f}")
        for n in self.notes:
            lines.append(f"note: {n}")
        for f in self.findings:
            lines.append(f"finding: {f}")
        with open(os.path.join(self.dir, "checker.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        print("\n".join(lines), flush=True)
        return rep

    def cleanup(self):
        for p in self.workers.values():
            if p.poll() is None:
                p.kill()
                p.wait()
        if self.cluster:
            self.cluster.stop_all()
        if self.lab:
            self.lab.teardown()


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    dur = ap.add_mutually_exclusive_group()
    dur.add_argument("--minutes", type=float)
    dur.add_argument("--seconds", type=float)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--netns", action="store_true")
    ap.add_argument("--failpoint", help="SLUICE_FAILPOINTS for every node (failpoint build)")
    ap.add_argument("--netns-tag", help="prefix of the namespaces' names (default sc<pid>)")
    ap.add_argument("--faults", help="comma-separated fault kinds (default: all that apply)")
    ap.add_argument("--cycle", action="store_true",
                    help="take the --faults kinds in order, round robin")
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--out", help="run directory (default: a new one under $TMPDIR)")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    ap.add_argument("--expect-violation", action="store_true",
                    help="succeed only if the checker finds a violation (failpoint runs)")
    ap.add_argument("--heal-timeout", type=float, default=90,
                    help="seconds the cluster gets to be whole again after each fault")
    ap.add_argument("--producers", type=int, default=3)
    ap.add_argument("--consumers", type=int, default=3)
    ap.add_argument("--rate", type=float, default=100.0, help="values/s per producer")
    ap.add_argument("--partitions", type=int, default=6)
    args = ap.parse_args(argv)
    if args.seed is None:
        args.seed = random.randrange(1, 1 << 31)
    args.duration_s = (args.seconds if args.seconds is not None
                       else 60 * (args.minutes if args.minutes is not None else 1))
    args.faults = args.faults.split(",") if args.faults else None
    args.bin_dir = os.path.abspath(args.bin_dir)
    return args


def on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv):
    args = parse_args(argv)
    print(f"chaos: seed={args.seed} (replay: scripts/chaos.sh --seed {args.seed}"
          f"{' --netns' if args.netns else ''}"
          f"{' --faults ' + ','.join(args.faults) if args.faults else ''}"
          f"{' --cycle' if args.cycle else ''}"
          f"{' --failpoint ' + args.failpoint if args.failpoint else ''})", flush=True)
    try:
        faults.kinds_for(args.netns, args.faults)
    except ValueError as e:
        print(f"chaos: {e}", file=sys.stderr)
        return 2
    if args.netns:
        why = netns.available()
        if why:
            print(f"chaos: SKIPPED --netns run: {why}", flush=True)
            return 0
    signal.signal(signal.SIGTERM, on_signal)
    run = Run(args)
    print(f"chaos: run directory {run.dir}", flush=True)
    rep, ok = None, False
    try:
        if args.netns:
            run.setup_netns()
        run.start_cluster()
        run.create_topic()
        run.start_workload()
        run.check_failpoint()
        time.sleep(3)
        run.fault_loop(args.duration_s)
        run.finish()
        rep = run.report()
    except KeyboardInterrupt as e:
        print(f"chaos: interrupted ({e})", flush=True)
    except Exception as e:  # report what broke, then clean up
        import traceback
        traceback.print_exc()
        print(f"chaos: run aborted: {e}", flush=True)
    finally:
        run.cleanup()
    if rep is not None:
        if args.expect_violation:
            ok = not rep.ok
            print("chaos: " + ("the checker caught the planted bug" if ok else
                               "EXPECTED a violation, the checker found none"), flush=True)
        else:
            ok = rep.ok and not run.findings
    if ok and not args.keep:
        shutil.rmtree(run.dir, ignore_errors=True)
    else:
        print(f"chaos: run directory kept: {run.dir}", flush=True)
    print(f"chaos: {'PASS' if ok else 'FAIL'} seed={args.seed}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
