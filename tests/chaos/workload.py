"""The chaos workload: processes that write the histories the checker reads.

    workload.py produce --bootstrap B --topic T --run R --id p1 --out F [--rate N]
    workload.py consume --bootstrap B --topic T --group G --id c1 --out F
    workload.py drain   --bootstrap B --topic T --group G --out F

produce  one idempotent acks=all producer (confluent-kafka / librdkafka) writing values
         `run:instance:seq:key:padding` with keys k0…k{KEYS-1}; before each batch it
         announces the highest sequence it may send (S), then records every
         acknowledgement (A p offset value t) and failed delivery (F). A fatal producer
         error (Z) replaces the producer with a new instance (p1.0 → p1.1). SIGTERM stops
         sending; outstanding messages are flushed for --flush-s seconds.
consume  one consumer-group member: records every message read (R), every commit (C,
         synchronous, every --commit-s seconds and at the end) and every assignment
         change (G). SIGTERM: a last commit, then close (leaves the group).
drain    reads every partition from its log start up to its high watermark, re-reading
         the watermarks until they stop moving, with auto.offset.reset=error so a reset
         cannot pass unnoticed; writes D p offset value (once per offset; a second value
         at one offset is written too), E p low high, and the group's committed offsets
         (K p offset). Exit status 0 when every partition was read to its end.
The line formats are documented in checker.py.
"""
import argparse
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from checker import KEYS, encode_value, value_of  # noqa: E402

BATCH = 10             # values announced and handed to the client at a time
QUEUE_MAX = 200_000    # messages buffered in the client before produce() backs off

stopping = False


def on_sigterm(signum, frame):
    global stopping
    stopping = True


class History:
    """A line-buffered history file: every event is in the OS's hands when written."""

    def __init__(self, path):
        self.f = open(path, "a", buffering=1, encoding="ascii")

    def write(self, *fields):
        self.f.write("\t".join(str(x) for x in fields) + "\n")


def quiet_logger(path):
    import logging
    log = logging.getLogger("rdkafka")
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


# ---------------------------------------------------------------- produce

def producer_conf(args, fatal):
    def on_error(err):
        if err.fatal():
            fatal.append(err)

    return {
        "bootstrap.servers": args.bootstrap,
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "request.timeout.ms": 8000,
        "socket.timeout.ms": 10000,
        "message.timeout.ms": args.message_timeout_ms,
        "retry.backoff.ms": 100,
        "reconnect.backoff.max.ms": 1000,
        "queue.buffering.max.messages": QUEUE_MAX,
        "error_cb": on_error,
        "logger": quiet_logger(args.out + ".client"),
    }


def produce_instance(args, hist, inst):
    """Produce until SIGTERM or a fatal error; returns True when a new instance should
    take over (fatal error while still running)."""
    fatal = []
    p = Producer(producer_conf(args, fatal))

    def on_delivery(err, msg):
        value = encode_value(msg.value())
        if err is not None:
            hist.write("F", value, err.name(), f"{time.time():.6f}")
        else:
            hist.write("A", msg.partition(), msg.offset(), value, f"{time.time():.6f}")

    try:
        produce_loop(args, hist, inst, p, on_delivery, fatal)
    except KafkaException as e:  # the client raises fatal errors from poll/produce too
        fatal.append(e.args[0])
    if fatal:
        hist.write("Z", inst, fatal[0].name(), f"{time.time():.6f}")
    try:
        left = p.flush(args.flush_s if not fatal else 10)
    except KafkaException:
        left = len(p)
    if left:
        hist.write("W", inst, left, f"{time.time():.6f}")
    return bool(fatal) and not stopping


def produce_loop(args, hist, inst, p, on_delivery, fatal):
    seq = 0
    next_t = time.monotonic()
    while not stopping and not fatal:
        hist.write("S", inst, seq + BATCH - 1, f"{time.time():.6f}")
        for _ in range(BATCH):
            key = f"k{seq % KEYS}"
            value = value_of(args.run, inst, seq)
            for _ in range(100000):
                try:
                    p.produce(args.topic, value=value.encode(), key=key.encode(),
                              on_delivery=on_delivery)
                    break
                except BufferError:
                    p.poll(0.05)
                    if stopping or fatal:
                        break
            seq += 1
        next_t += BATCH / args.rate
        for _ in range(1000):
            left = next_t - time.monotonic()
            if left <= 0 or stopping or fatal:
                break
            p.poll(min(left, 0.05))
        if time.monotonic() - next_t > 5:
            next_t = time.monotonic()  # do not burst after a long stall


def cmd_produce(args):
    hist = History(args.out)
    for gen in range(1000):
        if not produce_instance(args, hist, f"{args.id}.{gen}"):
            break
    return 0


# ---------------------------------------------------------------- consume

def cmd_consume(args):
    hist = History(args.out)
    member = args.id

    def parts(tps):
        return ",".join(str(tp.partition) for tp in tps)

    def on_assign(c, tps):
        hist.write("G", member, "assign", parts(tps), f"{time.time():.6f}")

    def on_revoke(c, tps):
        hist.write("G", member, "revoke", parts(tps), f"{time.time():.6f}")

    def on_lost(c, tps):
        hist.write("G", member, "lost", parts(tps), f"{time.time():.6f}")

    c = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": member,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 1000,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "logger": quiet_logger(args.out + ".client"),
    })
    c.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
    last_commit = time.monotonic()
    while not stopping:
        for m in c.consume(num_messages=500, timeout=0.2):
            if m.error():
                continue
            hist.write("R", member, m.partition(), m.offset(), encode_value(m.value()),
                       f"{time.time():.6f}")
        if time.monotonic() - last_commit >= args.commit_s:
            commit(c, hist, member)
            last_commit = time.monotonic()
    commit(c, hist, member)
    c.close()
    return 0


def commit(c, hist, member):
    t_send = time.time()
    try:
        res = c.commit(asynchronous=False)
    except KafkaException as e:
        err = e.args[0]
        if err.code() != KafkaError._NO_OFFSET:
            hist.write("C", member, -1, -1, f"{t_send:.6f}", f"{time.time():.6f}", err.name())
        return
    t_ack = time.time()
    for tp in res or []:
        err = tp.error.name() if tp.error is not None else "-"
        hist.write("C", member, tp.partition, tp.offset, f"{t_send:.6f}", f"{t_ack:.6f}", err)


# ---------------------------------------------------------------- drain

def watermarks(c, topic, partitions):
    out = {}
    for p in partitions:
        out[p] = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
    return out


def drain_once(c, topic, frm, ends, data, deadline):
    """Read every partition from frm[p] up to its high watermark; returns the partitions
    that could not be read to the end."""
    nxt = dict(frm)
    todo = {p for p, (lo, hi) in ends.items() if hi > nxt[p]}
    c.assign([TopicPartition(topic, p, nxt[p]) for p in sorted(todo)])
    while todo and time.monotonic() < deadline:
        for m in c.consume(num_messages=1000, timeout=0.5):
            if m.error():
                if m.error().code() != KafkaError._PARTITION_EOF:
                    print(f"drain: {m.error()}", file=sys.stderr)
                continue
            p, off = m.partition(), m.offset()
            value = encode_value(m.value())
            seen = data.setdefault(p, {}).setdefault(off, [])
            if value not in seen:
                seen.append(value)
            nxt[p] = max(nxt[p], off + 1)
            if nxt[p] >= ends[p][1]:
                todo.discard(p)
    c.unassign()
    return todo


def cmd_drain(args):
    hist = History(args.out)
    c = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": f"drain-{args.run}-{os.getpid()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "error",
        "enable.partition.eof": True,
        "logger": quiet_logger(args.out + ".client"),
    })
    md = c.list_topics(args.topic, timeout=20)
    partitions = sorted(md.topics[args.topic].partitions)
    deadline = time.monotonic() + args.timeout_s
    data, prev, todo = {}, None, set(partitions)
    frm = None
    for _ in range(20):
        ends = watermarks(c, args.topic, partitions)
        if ends == prev and not todo:
            break
        if frm is None:
            frm = {p: lo for p, (lo, hi) in ends.items()}
        else:
            frm = {p: prev[p][1] if p not in todo else frm[p] for p in partitions}
        todo = drain_once(c, args.topic, frm, ends, data, deadline)
        prev = ends
        if time.monotonic() > deadline:
            break
    c.close()
    for p in partitions:
        for off in sorted(data.get(p, {})):
            for value in data[p][off]:
                hist.write("D", p, off, value)
        lo, hi = prev[p]
        hist.write("E", p, lo, hi)
    g = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                  "enable.auto.commit": False, "logger": quiet_logger(args.out + ".client")})
    for tp in g.committed([TopicPartition(args.topic, p) for p in partitions], timeout=30):
        if tp.error is None and tp.offset >= 0:
            hist.write("K", tp.partition, tp.offset)
    g.close()
    if todo:
        print(f"drain: partitions {sorted(todo)} not read to their end", file=sys.stderr)
        return 1
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["produce", "consume", "drain"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--run", default="r")
    ap.add_argument("--id", default="p1")
    ap.add_argument("--group", default="chaos")
    ap.add_argument("--rate", type=float, default=100.0, help="values per second")
    ap.add_argument("--flush-s", type=float, default=120.0)
    ap.add_argument("--message-timeout-ms", type=int, default=300000)
    ap.add_argument("--commit-s", type=float, default=1.0)
    ap.add_argument("--timeout-s", type=float, default=180.0)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    return {"produce": cmd_produce, "consume": cmd_consume, "drain": cmd_drain}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
