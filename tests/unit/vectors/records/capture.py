#!/usr/bin/python3
"""Capture RecordBatch v2 batches produced by a real client (kcat / librdkafka).

A minimal fake broker on 127.0.0.1 answers ApiVersions, Metadata, InitProducerId and
Produce, and records the batch of every Produce request. For each codec, kcat produces
a fixed set of messages (keys, values, null keys/values, headers) to it; the batches
are written as kcat_<name>.bin and as C arrays in kcat_batches.inc, which
tests/unit/test_protocol_record_codec.c decodes and compares with the same messages.

Usage: /usr/bin/python3 tests/unit/vectors/records/capture.py [outdir]
       /usr/bin/python3 tests/unit/vectors/records/capture.py --consume BUILD_DIR
The second form checks the other direction: encode_batches.c (linked with BUILD_DIR's
libraries) writes the same messages with sluice's builder in every codec, the fake broker
serves each batch through Fetch, and kcat -C must print exactly the messages.
Needs kcat (Debian package kcat). Only talks to 127.0.0.1; every wait has a deadline.
"""
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

# (api_key, min, max) advertised. librdkafka enables magic 2 only with Produce 3 and
# Fetch 4 in range, zstd only with Produce 7 and Fetch 10, lz4 only with
# FindCoordinator 0 (reference/kafka-protocol/API-PLAN.md §3). Fetch and
# FindCoordinator are never called by a producer. librdkafka 2.0.2 also sends gzip,
# snappy and lz4 only when the Produce range includes v0; with a minimum of 3 it logs
# "Broker does not support compression type gzip: not compressing batch".
API_VERSIONS = [(0, 0, 7), (1, 4, 10), (3, 0, 4), (10, 0, 0), (18, 0, 3), (22, 0, 1)]
TOPIC = b"vectors"
PRODUCER_ID = 4242

# The messages kcat sends for every codec: "key<TAB>value" lines; -Z turns an empty
# key or value into null. Headers (-H) apply to every message.
MESSAGES = [("key-%d" % i, "value-%d " % i + "abcdefgh" * (i % 7)) for i in range(24)]
MESSAGES[3] = ("", "value with a null key")
MESSAGES[5] = ("key-null-value", "")
HEADERS = ["trace=abc123", "empty=", "nullvalue"]

CASES = [  # name, kcat -X settings (None: kafka-python, its own pure-Python encoder)
    ("none", ["compression.codec=none"]),
    ("gzip", ["compression.codec=gzip"]),
    ("snappy", ["compression.codec=snappy"]),
    ("lz4", ["compression.codec=lz4"]),
    ("zstd", ["compression.codec=zstd"]),
    ("lz4_idempotent", ["compression.codec=lz4", "enable.idempotence=true"]),
    ("kafkapython_gzip", None),  # kafka-python 2.0.2 here has no snappy/lz4/zstd module
]

KAFKA_PYTHON_PRODUCER = """
import sys
from kafka import KafkaProducer
messages, headers = eval(sys.stdin.read())
p = KafkaProducer(bootstrap_servers=sys.argv[1], api_version=(2, 1, 0),
                  compression_type="gzip", linger_ms=200, batch_size=1 << 20)
for k, v in messages:
    p.send("vectors", key=k.encode() or None, value=v.encode() or None, partition=0,
           headers=headers)
p.flush(timeout=20)
p.close(timeout=5)
"""


def kafka_python_headers():
    """kafka-python refuses null header values: it sends the headers before the first
    one without "=" (the null-valued one, kept last in HEADERS)."""
    out = []
    for h in HEADERS:
        k, eq, v = h.partition("=")
        if not eq:
            break
        out.append((k, v.encode()))
    return out


def produce(port, settings):
    if settings is None:
        arg = repr((MESSAGES, kafka_python_headers())).encode()
        subprocess.run(["/usr/bin/python3", "-c", KAFKA_PYTHON_PRODUCER, "127.0.0.1:%d" % port],
                       input=arg, check=True, timeout=60)
        return
    cmd = ["kcat", "-P", "-b", "127.0.0.1:%d" % port, "-t", TOPIC.decode(), "-p", "0",
           "-K", "\t", "-Z", "-X", "linger.ms=200", "-X", "message.timeout.ms=10000"]
    for h in HEADERS:
        cmd += ["-H", h]
    for s in settings:
        cmd += ["-X", s]
    lines = "".join("%s\t%s\n" % kv for kv in MESSAGES)
    subprocess.run(cmd, input=lines.encode(), check=True, timeout=30)


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        v = self.data[self.pos:self.pos + n]
        if len(v) != n:
            raise ValueError("short request")
        self.pos += n
        return v

    def i16(self):
        return struct.unpack(">h", self.take(2))[0]

    def i32(self):
        return struct.unpack(">i", self.take(4))[0]

    def string(self):
        n = self.i16()
        return None if n < 0 else self.take(n)

    def bytes_(self):
        n = self.i32()
        return None if n < 0 else self.take(n)


def s16(b):
    return struct.pack(">h", len(b)) + b


def api_versions_response(version):
    entries = API_VERSIONS
    if version >= 3:  # flexible body, but response header v0 (KIP-511)
        body = struct.pack(">h", 0) + bytes([len(entries) + 1])
        for key, lo, hi in entries:
            body += struct.pack(">hhh", key, lo, hi) + b"\x00"
        return body + struct.pack(">i", 0) + b"\x00"
    body = struct.pack(">hi", 0, len(entries))
    for key, lo, hi in entries:
        body += struct.pack(">hhh", key, lo, hi)
    return body + (struct.pack(">i", 0) if version >= 1 else b"")


def metadata_response(version, port):
    assert version <= 4
    body = struct.pack(">i", 0) if version >= 3 else b""
    body += struct.pack(">i", 1) + struct.pack(">i", 1) + s16(b"127.0.0.1")
    body += struct.pack(">i", port)
    if version >= 1:
        body += struct.pack(">h", -1)  # rack
    if version >= 2:
        body += s16(b"vectors-cluster")
    if version >= 1:
        body += struct.pack(">i", 1)  # controller
    body += struct.pack(">i", 1) + struct.pack(">h", 0) + s16(TOPIC)
    if version >= 1:
        body += b"\x00"  # is_internal
    body += struct.pack(">i", 1) + struct.pack(">hii", 0, 0, 1)
    body += struct.pack(">ii", 1, 1) + struct.pack(">ii", 1, 1)
    return body


def produce_response(version, req, batches):
    if version >= 3:
        req.string()  # transactional id
    req.i16(), req.i32()  # acks, timeout
    body = b""
    topics = req.i32()
    body += struct.pack(">i", topics)
    for _ in range(topics):
        name = req.string()
        parts = req.i32()
        body += s16(name) + struct.pack(">i", parts)
        for _ in range(parts):
            index = req.i32()
            batches.append(req.bytes_())
            body += struct.pack(">ihq", index, 0, len(batches) - 1)
            if version >= 2:
                body += struct.pack(">q", -1)
            if version >= 5:
                body += struct.pack(">q", 0)
    return body + (struct.pack(">i", 0) if version >= 1 else b"")


def fetch_response(version, req, batch):
    """Fetch v4: the one served batch at offset 0, then nothing (high watermark 24)."""
    assert version == 4
    req.i32(), req.i32(), req.i32(), req.i32(), req.take(1)
    topics = req.i32()
    body = struct.pack(">ii", 0, topics)
    for _ in range(topics):
        name = req.string()
        parts = req.i32()
        body += s16(name) + struct.pack(">i", parts)
        for _ in range(parts):
            index, offset, _ = req.i32(), struct.unpack(">q", req.take(8))[0], req.i32()
            records = batch if offset == 0 else b""
            body += struct.pack(">ihqqi", index, 0, len(MESSAGES), len(MESSAGES), -1)
            body += struct.pack(">i", len(records)) + records
    return body


def handle(conn, port, batches, served=None):
    while True:
        try:
            size = struct.unpack(">i", recv_exact(conn, 4))[0]
            req = Reader(recv_exact(conn, size))
        except (EOFError, OSError):
            return
        key, version, corr = req.i16(), req.i16(), req.i32()
        req.string()  # client id
        if key == 18 and version >= 3:
            req.take(1)  # empty tagged fields of request header v2
        if key == 18:
            body = api_versions_response(version)
        elif key == 3:
            body = metadata_response(version, port)
        elif key == 22:
            body = struct.pack(">ihqh", 0, 0, PRODUCER_ID, 0)
        elif key == 0:
            body = produce_response(version, req, batches)
        elif key == 1 and served is not None:
            body = fetch_response(version, req, served)
        else:
            return
        conn.sendall(struct.pack(">ii", len(body) + 4, corr) + body)


def serve_one(handler_args):
    """Start the fake broker; returns (server socket, port)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(20)
    port = srv.getsockname()[1]

    def serve():
        try:
            while True:
                conn, _ = srv.accept()
                conn.settimeout(20)
                threading.Thread(target=handle, args=(conn, port) + handler_args,
                                 daemon=True).start()
        except OSError:
            return

    threading.Thread(target=serve, daemon=True).start()
    return srv, port


def consume(batch):
    """kcat -C reads the served batch; returns its output lines."""
    global API_VERSIONS
    saved = API_VERSIONS
    API_VERSIONS = [(0, 0, 7), (1, 4, 4), (3, 0, 4), (10, 0, 0), (18, 0, 3)]
    srv, port = serve_one(([], batch))
    try:
        out = subprocess.run(["kcat", "-C", "-b", "127.0.0.1:%d" % port, "-t", TOPIC.decode(),
                              "-p", "0", "-o", "0", "-e", "-Z", "-q",
                              "-f", "%k\t%s\t%h\n"], check=True, timeout=30,
                             stdout=subprocess.PIPE).stdout.decode()
    finally:
        srv.close()
        API_VERSIONS = saved
    return out.splitlines()


def check_consume(build_dir):
    """Our builder's batches, every codec, read back by kcat (librdkafka)."""
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
    here = os.path.dirname(os.path.abspath(__file__))
    libs = [os.path.join(build_dir, "lib", "lib%s.a" % m) for m in ("protocol", "common")]
    pkg = subprocess.run(["pkg-config", "--libs", "libzstd", "liblz4", "zlib"], check=True,
                         stdout=subprocess.PIPE).stdout.decode().split()
    want_headers = ",".join(h if "=" in h else h + "=NULL" for h in HEADERS)
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "encode_batches")
        subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-I" + root, "-o", exe,
                        os.path.join(here, "encode_batches.c")] + libs + pkg +
                       ["-lsnappy", "-lm"], check=True, timeout=120)
        lines = "".join("%s\t%s\n" % kv for kv in MESSAGES)
        subprocess.run([exe, tmp] + HEADERS, input=lines.encode(), check=True, timeout=30)
        for codec in ("none", "gzip", "snappy", "lz4", "zstd"):
            with open(os.path.join(tmp, "sluice_%s.bin" % codec), "rb") as f:
                got = consume(f.read())
            want = ["%s\t%s\t%s" % (k or "NULL", v or "NULL", want_headers) for k, v in MESSAGES]
            ok = got == want
            failed += not ok
            print("kcat reads sluice %-6s batch: %s" % (codec, "ok" if ok else "MISMATCH"))
            if not ok:
                print("\n".join(got[:5]))
    return failed


def capture(name, settings):
    batches = []
    srv, port = serve_one((batches,))
    produce(port, settings)
    srv.close()
    if len(batches) != 1:
        raise SystemExit("%s: expected one batch, got %d" % (name, len(batches)))
    return batches[0]


def c_array(name, data):
    rows = [", ".join("0x%02x" % b for b in data[i:i + 12]) for i in range(0, len(data), 12)]
    return "static const uint8_t %s[%d] = {\n    %s,\n};\n" % (name, len(data), ",\n    ".join(rows))


def c_string(s):
    return "NULL" if s == "" else '"%s"' % s


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--consume":
        sys.exit(1 if check_consume(sys.argv[2]) else 0)
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    out = ["/* Generated by capture.py from kcat (librdkafka) Produce requests; do not edit. */\n"]
    table = []
    for name, settings in CASES:
        batch = capture(name, settings)
        with open(os.path.join(outdir, "kcat_%s.bin" % name), "wb") as f:
            f.write(batch)
        out.append(c_array("kcat_%s" % name, batch))
        nheaders = len(HEADERS) if settings is not None else len(kafka_python_headers())
        table.append('    { "%s", kcat_%s, sizeof(kcat_%s), %d },' % (name, name, name, nheaders))
        print("%-15s %5d bytes" % (name, len(batch)))
    out.append("static const struct kcat_vector {\n    const char *name;\n"
               "    const uint8_t *batch;\n    size_t size;\n"
               "    int header_count; /* the first header_count of kcat_headers */\n"
               "} kcat_vectors[] = {\n")
    out.append("\n".join(table) + "\n};\n")
    out.append("/* the messages of every batch: key (NULL = null), value (NULL = null) */\n")
    out.append("static const char *const kcat_messages[][2] = {\n")
    out.append("\n".join("    { %s, %s }," % (c_string(k), c_string(v)) for k, v in MESSAGES))
    out.append("\n};\n/* headers of every message: key, value (NULL = null) */\n")
    out.append("static const char *const kcat_headers[][2] = {\n")
    for h in HEADERS:
        k, _, v = h.partition("=")
        out.append('    { "%s", %s },\n' % (k, "NULL" if "=" not in h else '"%s"' % v))
    out.append("};\n#define KCAT_PRODUCER_ID %d\n" % PRODUCER_ID)
    with open(os.path.join(outdir, "kcat_batches.inc"), "w") as f:
        f.write("".join(out))


if __name__ == "__main__":
    main()
