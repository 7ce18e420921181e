"""The chaos suite's checker: reads the histories a run recorded and decides whether any
acknowledged record was lost, duplicated or reordered, whether anything appeared that was
never sent, and whether committed consumer offsets misbehaved.

Pure Python with no client library: `load_dir(path)` parses a run directory into a
`History`, `check(history)` returns a `Report`, and the command line prints

    acked=N lost=N duplicated=N reordered=N phantom=N unavailable_s=X seed=S
    details: offset_conflicts=N commit_regressions=N group_missed=N …

then the evidence for every violation, and exits 1 when there is one.

History files (tab-separated, one event per line; times are time.time() seconds):
  producer-*.log  S inst max_seq t        values inst:0 … inst:max_seq may be sent from now on
                  A p offset value t      acknowledged at (p, offset)
                  F value error t         delivery failed (the value may or may not exist)
                  Z inst error t          fatal producer error (the instance is replaced)
  consumer-*.log  R member p offset value t
                  C member p offset t_send t_ack error   ("-" = committed; offset -1001:
                                                         nothing new to commit there)
                  G member assign|revoke|lost p,p,… t
  drain.log       D p offset value        the final read of every partition from its start
                  E p low high            watermarks the drain read up to
                  K p offset              the group's committed offset after the run
  batches.log     B p base last producer_id producer_epoch   every batch in the final log
                                                         (optional; from dump-log)
  meta.json       {"seed", "run", "topic", "partitions", "produce_start", "produce_stop",
                   "group_caught_up"}

Values are exactly `run:inst:seq:k<seq % KEYS>:<PAD>` (value_of); anything else is a
phantom. A value that is not printable ASCII is written as `hex:` + its hex digits (and is
then a phantom: the workload never sends such bytes).

Checks (each counted, with up to EVIDENCE_MAX examples):
  lost               an acknowledged value missing from the drain
  duplicated         extra copies of a value in the drain
  reordered          in the drain, a value of producer instance I in partition p that comes
                     after a larger sequence number of I in p (producer order per partition)
  phantom            a value read (drain or group) that no producer sent
  offset_conflicts   an offset seen holding two different values (acks, group reads, drain)
  commit_regressions a committed offset lower than one acknowledged earlier, when the
                     committing member learned its start position after that earlier commit
                     (or committed both in one assignment); and a final committed offset
                     below any acknowledged commit
  group_missed       a drained value below the group's final committed offset that no group
                     member ever read (a commit skipped records)
  drain_gaps         the drain is not exactly the offsets between its watermarks: a hole
                     (an offset never delivered) or a record at or past the high watermark
Positions count too: an acknowledged value, or a value a group member read (it was below
the high watermark, so committed), must be in the drain at that very offset; found only
elsewhere or not at all, it is lost. A group member's reads in one assignment must start at
or past every commit acknowledged before that assignment (commit_regressions).
A later copy of a value that sits in a batch of the same producer id under a higher producer
epoch than the first copy is not a broker duplicate: the client re-sent it after bumping its
epoch, and a broker cannot match sequences across epochs (librdkafka before 2.10 bumps the
epoch of every partition when one partition gets OUT_OF_ORDER_SEQUENCE_NUMBER for a request
that is not first in flight, re-sending other partitions' unacknowledged batches that may
already be written: librdkafka issue #4953). Such copies are left out of the duplicate and
order checks and counted as `resent_after_epoch_bump`.
unavailable_s is the wall time, between the first acknowledgement and the producers'
stop, during which at least one partition got no acknowledgement for UNAVAILABLE_GAP_S.
"""
import bisect
import json
import os
import sys
from collections import defaultdict

EVIDENCE_MAX = 10
UNAVAILABLE_GAP_S = 1.0
VIOLATIONS = ("lost", "duplicated", "reordered", "phantom", "offset_conflicts",
              "commit_regressions", "group_missed", "drain_gaps")
KEYS = 64         # the workload's keys per producer: k0 … k63, key of seq = k{seq % KEYS}
PAD = "x" * 40    # the workload's padding: values are about 70 bytes


class History:
    """Everything a run recorded. Tests build one directly; load_dir reads a run."""

    def __init__(self):
        self.seed = None
        self.run = None
        self.partitions = None    # the topic's partition count (meta.json), if known
        self.produce_start = None
        self.produce_stop = None
        self.group_caught_up = False
        self.sent = {}            # instance -> highest sequence announced
        self.acks = []            # (p, offset, value, t)
        self.failed = []          # (value, error, t)
        self.fatal = []           # (instance, error, t)
        self.reads = []           # (member, p, offset, value, t)
        self.commits = []         # (member, p, offset, t_send, t_ack, error or None)
        self.assigns = []         # (member, kind, [p…], t)
        self.drain = []           # (p, offset, value)
        self.drain_ends = {}      # p -> (low, high)
        self.final_committed = {}  # p -> offset
        self.batches = defaultdict(list)  # p -> [(base, last, producer id, epoch)], sorted

    def announce(self, inst, max_seq):
        if max_seq > self.sent.get(inst, -1):
            self.sent[inst] = max_seq


class Report:
    def __init__(self):
        self.counts = {k: 0 for k in VIOLATIONS}
        self.evidence = defaultdict(list)
        self.acked = 0
        self.unavailable_s = 0.0
        self.seed = None
        self.info = {}

    def add(self, kind, text, n=1):
        self.counts[kind] += n
        if len(self.evidence[kind]) < EVIDENCE_MAX:
            self.evidence[kind].append(text)

    @property
    def ok(self):
        return all(v == 0 for v in self.counts.values())

    def summary(self):
        c = self.counts
        return (f"acked={self.acked} lost={c['lost']} duplicated={c['duplicated']} "
                f"reordered={c['reordered']} phantom={c['phantom']} "
                f"unavailable_s={self.unavailable_s:.1f} seed={self.seed}")

    def details(self):
        c = self.counts
        extra = " ".join(f"{k}={v}" for k, v in self.info.items())
        return (f"details: offset_conflicts={c['offset_conflicts']} "
                f"commit_regressions={c['commit_regressions']} group_missed={c['group_missed']} "
                f"drain_gaps={c['drain_gaps']}"
                + (" " + extra if extra else ""))

    def lines(self):
        out = [self.summary(), self.details()]
        for kind in VIOLATIONS:
            for text in self.evidence.get(kind, []):
                out.append(f"  {kind}: {text}")
            more = self.counts[kind] - len(self.evidence.get(kind, []))
            if more > 0:
                out.append(f"  {kind}: … and {more} more")
        return out


# ---------------------------------------------------------------- values

def value_of(run, inst, seq):
    """The value the workload sends as sequence number seq of producer instance inst."""
    return f"{run}:{inst}:{seq}:k{seq % KEYS}:{PAD}"


def parse_value(value, run):
    """(instance, seq) of a workload value of this run, or None for anything else (also
    for any byte that differs from what value_of builds)."""
    parts = value.split(":")
    if len(parts) != 5 or parts[0] != run or not parts[2].isdigit():
        return None
    seq = int(parts[2])
    return (parts[1], seq) if value == value_of(run, parts[1], seq) else None


def encode_value(raw):
    """How the workload writes a value's bytes into a history file."""
    if raw is None:
        return "hex:"
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        return "hex:" + raw.hex()
    if text.startswith("hex:") or any(not (" " <= ch <= "~") or ch == "\t" for ch in text):
        return "hex:" + raw.hex()
    return text


# ---------------------------------------------------------------- loading

def _load_producer(h, fields):
    kind = fields[0]
    if kind == "S":
        h.announce(fields[1], int(fields[2]))
    elif kind == "A":
        h.acks.append((int(fields[1]), int(fields[2]), fields[3], float(fields[4])))
    elif kind == "F":
        h.failed.append((fields[1], fields[2], float(fields[3])))
    elif kind == "Z":
        h.fatal.append((fields[1], fields[2], float(fields[3])))


def _load_consumer(h, fields):
    kind = fields[0]
    if kind == "R":
        h.reads.append((fields[1], int(fields[2]), int(fields[3]), fields[4], float(fields[5])))
    elif kind == "C":
        err = None if fields[6] == "-" else fields[6]
        h.commits.append((fields[1], int(fields[2]), int(fields[3]), float(fields[4]),
                          float(fields[5]), err))
    elif kind == "G":
        parts = [int(x) for x in fields[3].split(",") if x != ""]
        h.assigns.append((fields[1], fields[2], parts, float(fields[4])))


def _load_drain(h, fields):
    kind = fields[0]
    if kind == "D":
        h.drain.append((int(fields[1]), int(fields[2]), fields[3]))
    elif kind == "E":
        h.drain_ends[int(fields[1])] = (int(fields[2]), int(fields[3]))
    elif kind == "K":
        h.final_committed[int(fields[1])] = int(fields[2])


def _load_batches(h, fields):
    if fields[0] == "B":
        h.batches[int(fields[1])].append(tuple(int(x) for x in fields[2:6]))


def _read_lines(path, loader, h):
    with open(path, encoding="ascii", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line:
                continue
            fields = line.split("\t")
            try:
                loader(h, fields)
            except (IndexError, ValueError):
                # a line torn by a crash of the recording process: only the last can be
                raise ValueError(f"{path}: malformed history line: {line!r}") from None


def load_dir(path):
    h = History()
    with open(os.path.join(path, "meta.json")) as f:
        meta = json.load(f)
    h.seed = meta.get("seed")
    h.run = meta.get("run")
    h.partitions = meta.get("partitions")
    h.produce_start = meta.get("produce_start")
    h.produce_stop = meta.get("produce_stop")
    h.group_caught_up = bool(meta.get("group_caught_up"))
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if name.startswith("producer-") and name.endswith(".log"):
            _read_lines(full, _load_producer, h)
        elif name.startswith("consumer-") and name.endswith(".log"):
            _read_lines(full, _load_consumer, h)
        elif name == "drain.log":
            _read_lines(full, _load_drain, h)
        elif name == "batches.log":
            _read_lines(full, _load_batches, h)
    for v in h.batches.values():
        v.sort()
    return h


# ---------------------------------------------------------------- checks

def _batch_of(h, p, off):
    """(base, last, producer id, epoch) of the batch holding (p, off), or None."""
    bs = h.batches.get(p)
    if not bs:
        return None
    i = bisect.bisect_right(bs, (off, float("inf"))) - 1
    return bs[i] if i >= 0 and bs[i][0] <= off <= bs[i][1] else None


def _resent_copies(h):
    """Drain positions holding a later copy of a value that the same producer id wrote
    again under a higher producer epoch (see the module's notes)."""
    where = defaultdict(list)
    for p, off, value in h.drain:
        where[value].append((p, off))
    out = set()
    for value, places in where.items():
        if len(places) < 2:
            continue
        places.sort(key=lambda x: x[1])
        first = _batch_of(h, *places[0])
        for p, off in places[1:]:
            b = _batch_of(h, p, off)
            if first and b and b[2] == first[2] and b[3] > first[3]:
                out.add((p, off))
    return out


def _check_drain(h, rep):
    """lost, duplicated, reordered and phantom over the final drain."""
    seen = defaultdict(list)  # value -> [(p, offset)]
    last_seq = {}             # (instance, p) -> (seq, offset)
    resent = _resent_copies(h)
    rep.info["resent_after_epoch_bump"] = len(resent)
    for p, off, value in sorted(h.drain, key=lambda d: (d[0], d[1])):
        if (p, off) in resent:
            continue
        seen[value].append((p, off))
        parsed = parse_value(value, h.run)
        if parsed is None or parsed[1] > h.sent.get(parsed[0], -1):
            rep.add("phantom", f"drain p={p} offset={off} value={value!r} was never sent")
            continue
        key = (parsed[0], p)
        prev = last_seq.get(key)
        if prev is not None and parsed[1] < prev[0]:
            rep.add("reordered", f"p={p} offset={off} {value!r} seq={parsed[1]} after seq="
                    f"{prev[0]} of {parsed[0]} at offset {prev[1]}")
        else:
            last_seq[key] = (parsed[1], off)
    for value, where in seen.items():
        if len(where) > 1:
            rep.add("duplicated", f"{value!r} read {len(where)} times at {where[:5]}",
                    len(where) - 1)
    acked = {}
    for p, off, value, t in h.acks:
        acked.setdefault(value, (p, off, t))
    rep.acked = len(acked)
    for value, (p, off, t) in sorted(acked.items(), key=lambda kv: kv[1][2]):
        if value not in seen:
            rep.add("lost", f"{value!r} acknowledged at p={p} offset={off} t={t:.3f} "
                    f"is not in the drain")
    return seen


def _check_positions(h, rep, seen):
    """An acknowledged or group-read value must be in the drain at its own offset; the
    drain must cover exactly [low, high) of each partition it read."""
    drained = set((p, off) for p, off, _ in h.drain)
    for p, off, value, t in h.acks:
        if (p, off) not in drained and value in seen:
            rep.add("lost", f"{value!r} acknowledged at p={p} offset={off} t={t:.3f} is in "
                    f"the drain only at {seen[value][:3]}: its offset is empty")
    acked = set(a[2] for a in h.acks)  # their losses are counted above and in _check_drain
    missing = set()
    for member, p, off, value, t in h.reads:
        if (p, off) in drained or (p, off) in missing or value in acked or \
                parse_value(value, h.run) is None:
            continue
        missing.add((p, off))
        rep.add("lost", f"{value!r} read by {member} at p={p} offset={off} t={t:.3f} (below "
                f"the high watermark then) is not at that offset in the drain")
    by_p = defaultdict(set)
    for p, off, _ in h.drain:
        by_p[p].add(off)
    for p, (lo, hi) in sorted(h.drain_ends.items()):
        offs = by_p.get(p, set())
        holes = [o for o in range(lo, hi) if o not in offs]
        if holes:
            rep.add("drain_gaps", f"p={p}: {len(holes)} offsets in [{lo}, {hi}) never "
                    f"delivered, first {holes[:5]}", len(holes))
        beyond = sorted(o for o in offs if o >= hi)
        if beyond:
            rep.add("drain_gaps", f"p={p}: records at {beyond[:5]} at or past the high "
                    f"watermark {hi} (the log was cut below what was read)", len(beyond))


def _check_reads(h, rep):
    """phantoms in group reads, and offsets holding two values anywhere."""
    at = {}  # (p, offset) -> (value, source)

    def note(p, off, value, source):
        prev = at.get((p, off))
        if prev is None:
            at[(p, off)] = (value, source)
        elif prev[0] != value:
            rep.add("offset_conflicts", f"p={p} offset={off}: {prev[0]!r} ({prev[1]}) vs "
                    f"{value!r} ({source})")

    for p, off, value, t in h.acks:
        note(p, off, value, f"ack t={t:.3f}")
    for p, off, value in h.drain:
        note(p, off, value, "drain")
    phantoms = set()
    for member, p, off, value, t in h.reads:
        note(p, off, value, f"read by {member} t={t:.3f}")
        parsed = parse_value(value, h.run)
        if (parsed is None or parsed[1] > h.sent.get(parsed[0], -1)) and value not in phantoms:
            phantoms.add(value)
            rep.add("phantom", f"group member {member} read p={p} offset={off} value={value!r} "
                    f"that was never sent")


def _assign_times(h):
    """(member, p) -> sorted times at which member was given p."""
    out = defaultdict(list)
    for member, kind, parts, t in h.assigns:
        if kind == "assign":
            for p in parts:
                out[(member, p)].append(t)
    for v in out.values():
        v.sort()
    return out


def _latest_before(times, t):
    i = bisect.bisect_right(times, t)
    return times[i - 1] if i > 0 else None


def _check_commits_partition(p, commits, assigned, rep):
    by_ack = sorted(commits, key=lambda c: c[4])
    ack_times = [c[4] for c in by_ack]
    prefix = []  # running max offset over by_ack, with the commit that set it
    best = None
    for c in by_ack:
        if best is None or c[2] > best[2]:
            best = c
        prefix.append(best)
    period_max = {}  # member -> (assign time, best commit in that assignment)
    for c in sorted(commits, key=lambda c: c[3]):
        member, _, off, t_send, t_ack, _ = c
        ta = _latest_before(assigned.get((member, p), []), t_send)
        if ta is None:
            ta = float("-inf")
        i = bisect.bisect_left(ack_times, ta)  # commits acknowledged before the assignment
        if i > 0 and prefix[i - 1][2] > off:
            x = prefix[i - 1]
            rep.add("commit_regressions", f"p={p} {member} committed {off} at {t_send:.3f} "
                    f"(assigned {ta:.3f}) below {x[2]} committed by {x[0]} at {x[4]:.3f}")
        prev = period_max.get(member)
        if prev is not None and prev[0] == ta and prev[1][2] > off:
            rep.add("commit_regressions", f"p={p} {member} committed {off} at {t_send:.3f} "
                    f"after committing {prev[1][2]} at {prev[1][4]:.3f} in the same assignment")
        if prev is None or prev[0] != ta or off > prev[1][2]:
            period_max[member] = (ta, c)
    return best


def _check_commits(h, rep):
    # librdkafka lists partitions it had nothing new to commit for with offset -1001
    ok = [c for c in h.commits if c[5] is None and c[2] >= 0]
    assigned = _assign_times(h)
    by_p = defaultdict(list)
    for c in ok:
        by_p[c[1]].append(c)
    for p, commits in sorted(by_p.items()):
        best = _check_commits_partition(p, commits, assigned, rep)
        final = h.final_committed.get(p)
        # a final offset below an acknowledged commit is wrong whether or not the group
        # caught up; a missing one only counts when it did (else it may not have committed)
        if best is not None and (final is None and h.group_caught_up or
                                 final is not None and final < best[2]):
            rep.add("commit_regressions", f"p={p} final committed offset {final} is below "
                    f"{best[2]} committed by {best[0]} at {best[4]:.3f}")
    _check_read_starts(h, by_p, assigned, rep)


def _check_read_starts(h, by_p, assigned, rep):
    """A member given a partition starts at its committed offset: every read in that
    assignment is at or past each commit acknowledged before it."""
    flagged = set()
    for member, p, off, value, t in h.reads:
        commits = by_p.get(p)
        ta = _latest_before(assigned.get((member, p), []), t)
        if not commits or ta is None or (member, p, ta) in flagged:
            continue
        before = [c for c in commits if c[4] < ta]
        if not before:
            continue
        top = max(before, key=lambda c: c[2])
        if off < top[2]:
            flagged.add((member, p, ta))
            rep.add("commit_regressions", f"p={p} {member} (assigned {ta:.3f}) read offset "
                    f"{off} at {t:.3f}, below {top[2]} committed by {top[0]} at {top[4]:.3f}")


def _check_group_coverage(h, rep):
    read = set((p, off) for _, p, off, _, _ in h.reads)
    for p, off, value in h.drain:
        final = h.final_committed.get(p)
        if final is not None and off < final and (p, off) not in read:
            rep.add("group_missed", f"p={p} offset={off} {value!r} is below the committed "
                    f"offset {final} but no group member read it")


def unavailable_seconds(h):
    """Union over partitions of the gaps between acknowledgements longer than
    UNAVAILABLE_GAP_S, between the first acknowledgement and the producers' stop."""
    by_p = defaultdict(list)
    for p, _, _, t in h.acks:
        by_p[p].append(t)
    if not by_p:
        return 0.0
    start = min(min(ts) for ts in by_p.values())
    stop = h.produce_stop if h.produce_stop is not None else max(max(t) for t in by_p.values())
    gaps = []
    for p in range(h.partitions or 0):
        if p not in by_p:
            gaps.append((start, stop))  # never acknowledged anything
    for ts in by_p.values():
        ts.sort()
        points = [start] + ts + [max(stop, ts[-1])]
        for a, b in zip(points, points[1:]):
            if b - a > UNAVAILABLE_GAP_S:
                gaps.append((a, b))
    total, end = 0.0, float("-inf")
    for a, b in sorted(gaps):
        if b <= end:
            continue
        total += b - max(a, end)
        end = b
    return total


def check(h):
    rep = Report()
    rep.seed = h.seed
    seen = _check_drain(h, rep)
    _check_positions(h, rep, seen)
    _check_reads(h, rep)
    _check_commits(h, rep)
    _check_group_coverage(h, rep)
    rep.unavailable_s = unavailable_seconds(h)
    rep.info = {
        "resent_after_epoch_bump": rep.info.get("resent_after_epoch_bump", 0),
        "drained": len(h.drain),
        "consumed": len(h.reads),
        "commits": sum(1 for c in h.commits if c[5] is None and c[2] >= 0),
        "failed_deliveries": len(h.failed),
        "producer_fatal": len(h.fatal),
    }
    return rep


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        print("usage: checker.py RUN_DIR", file=sys.stderr)
        return 2
    rep = check(load_dir(argv[1]))
    print("\n".join(rep.lines()))
    return 0 if rep.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
