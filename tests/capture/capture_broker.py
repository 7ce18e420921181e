#!/usr/bin/env python3
"""capture_broker.py — a tiny fake Kafka broker that records the request frames real
clients send, for the codec tests' known-bytes vectors (tests/unit/vectors/).

Usage: capture_broker.py --out DIR --prefix CLIENT [--port N] [--topic T]

It listens on 127.0.0.1 (port N, or a free one), prints "PORT=<n>" once it is ready, and
writes every request frame it receives (the bytes after the int32 size: request header +
body) to DIR/<CLIENT>_<api>_v<version>.bin, the first frame of each API and version only,
and the first ALL_MAX of all frames to DIR/all/<seq>_<api>_v<version>.bin. It answers
just enough for a client to get through produce, consume and a consumer-group join with
itself as the only broker (node 1) and the group coordinator:

  ApiVersions 0-3   the ranges in ADVERTISED (v0 error 35 for higher versions)
  Metadata    0-8   itself as the only broker; every requested topic (or --topic) with one
                    partition, 0, led by itself
  FindCoordinator 0-2, JoinGroup 0-5 (the client is a follower; the leader is someone
  else), SyncGroup 0-3 (partition 0 of --topic), Heartbeat, LeaveGroup, OffsetFetch 0-7
  (no committed offset), ListOffsets 0-4 (offset 0), Produce 3-7 (base offset 0; nothing
  for acks=0), Fetch 4-11 (no records, high watermark 0), InitProducerId 0-4.
Anything else is recorded and the connection closed.

Responses are built by a small schema-driven encoder over protocol/schema/*.json (the
codec generator's input), written independently of the C codecs. Stops on SIGTERM/SIGINT.
Python 3 standard library only.
"""
import argparse
import json
import os
import signal
import socketserver
import struct
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA_DIR = os.path.join(HERE, "..", "..", "protocol", "schema")
NODE_ID = 1
ALL_MAX = 500  # frames kept in DIR/all/ (a consumer polls Fetch for as long as it runs)

# api key -> (min, max) advertised in ApiVersions responses
ADVERTISED = {
    0: (3, 7), 1: (4, 11), 2: (0, 4), 3: (0, 8), 8: (0, 7), 9: (0, 7), 10: (0, 2),
    11: (0, 5), 12: (0, 3), 13: (0, 1), 14: (0, 3), 17: (0, 1), 18: (0, 3), 22: (0, 4),
}


def vin(spec, v):
    if spec == "none":
        return False
    if spec.endswith("+"):
        return v >= int(spec[:-1])
    if "-" in spec:
        a, b = spec.split("-")
        return int(a) <= v <= int(b)
    return v == int(spec)


class Schema:
    """One message schema; encode/decode Python dicts keyed by Kafka field names."""

    def __init__(self, name):
        with open(os.path.join(SCHEMA_DIR, name + ".json"), encoding="utf-8") as fp:
            self.d = json.load(fp)
        self.common = {c["name"]: c["fields"] for c in self.d.get("commonStructs", [])}
        self.flex_spec = self.d["flexibleVersions"]

    def fields_of(self, f):
        if "fields" in f:
            return f["fields"]
        return self.common[f["type"].lstrip("[]")]

    # --- encoding ---
    def encode(self, version, value):
        out = bytearray()
        self._struct(out, self.d["fields"], version, value, vin(self.flex_spec, version))
        return bytes(out)

    def _struct(self, out, fields, v, value, flex):
        for f in fields:
            if vin(f["versions"], v) and "tag" not in f:
                self._value(out, f, v, value.get(f["name"], default_of(f)), flex)
        if flex:
            out += b"\x00"  # no tagged fields

    def _len(self, out, n, flex, wide):
        if flex:
            out += uvarint(n + 1)
        else:
            out += struct.pack(">i" if wide else ">h", n)

    def _value(self, out, f, v, x, flex):
        t = f["type"]
        fixed = {"int8": ">b", "int16": ">h", "int32": ">i", "int64": ">q", "uint16": ">H",
                 "float64": ">d", "bool": ">?"}
        if t in fixed:
            out += struct.pack(fixed[t], x)
        elif t == "string":
            if x is None:
                self._len(out, -1, flex, False)
            else:
                b = x.encode()
                self._len(out, len(b), flex, False)
                out += b
        elif t in ("bytes", "records"):
            if x is None:
                self._len(out, -1, flex, True)
            else:
                self._len(out, len(x), flex, True)
                out += x
        elif t == "uuid":
            out += x or bytes(16)
        elif t.startswith("[]"):
            if x is None:
                self._len(out, -1, flex, True)
                return
            self._len(out, len(x), flex, True)
            et = t[2:]
            for item in x:
                if et[0].isupper():
                    self._struct(out, self.fields_of(f), v, item, flex)
                else:
                    self._value(out, {"type": et}, v, item, flex)
        else:
            self._struct(out, self.fields_of(f), v, x or {}, flex)

    # --- decoding (requests) ---
    def decode(self, version, data):
        r = Reader(data)
        value = self._dstruct(r, self.d["fields"], version, vin(self.flex_spec, version))
        return value

    def _dstruct(self, r, fields, v, flex):
        value = {}
        for f in fields:
            if vin(f["versions"], v) and "tag" not in f:
                value[f["name"]] = self._dvalue(r, f, v, flex)
        if flex:
            for _ in range(r.uvarint()):
                r.uvarint()
                r.take(r.uvarint())
        return value

    def _dlen(self, r, flex, wide):
        if flex:
            return r.uvarint() - 1
        return r.unpack(">i" if wide else ">h")

    def _dvalue(self, r, f, v, flex):
        t = f["type"]
        fixed = {"int8": ">b", "int16": ">h", "int32": ">i", "int64": ">q", "uint16": ">H",
                 "float64": ">d", "bool": ">?"}
        if t in fixed:
            return r.unpack(fixed[t])
        if t == "string":
            n = self._dlen(r, flex and f.get("flexibleVersions") != "none", False)
            return None if n < 0 else r.take(n).decode()
        if t in ("bytes", "records"):
            n = self._dlen(r, flex, True)
            return None if n < 0 else r.take(n)
        if t == "uuid":
            return r.take(16)
        if t.startswith("[]"):
            n = self._dlen(r, flex, True)
            if n < 0:
                return None
            et = t[2:]
            if et[0].isupper():
                return [self._dstruct(r, self.fields_of(f), v, flex) for _ in range(n)]
            return [self._dvalue(r, {"type": et}, v, flex) for _ in range(n)]
        return self._dstruct(r, self.fields_of(f), v, flex)


def default_of(f):
    d = f.get("default")
    t = f["type"]
    if d == "null":
        return None
    if t in ("int8", "int16", "int32", "int64", "uint16"):
        return int(d, 0) if d else 0
    if t == "float64":
        return float(d) if d else 0.0
    if t == "bool":
        return d == "true"
    if t == "string":
        return d or ""
    if t.startswith("[]"):
        return []
    if t == "records":
        return None
    if t == "bytes":
        return b""
    return None


def uvarint(n):
    out = bytearray()
    while n >= 0x80:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError("short request")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def unpack(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def uvarint(self):
        n = shift = 0
        while True:
            b = self.take(1)[0]
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7


NAMES = {0: "produce", 1: "fetch", 2: "listoffsets", 3: "metadata", 8: "offsetcommit",
         9: "offsetfetch", 10: "findcoordinator", 11: "joingroup", 12: "heartbeat",
         13: "leavegroup", 14: "syncgroup", 17: "saslhandshake", 18: "apiversions",
         22: "initproducerid"}
SCHEMAS = {0: "Produce", 1: "Fetch", 2: "ListOffsets", 3: "Metadata", 8: "OffsetCommit",
           9: "OffsetFetch", 10: "FindCoordinator", 11: "JoinGroup", 12: "Heartbeat",
           13: "LeaveGroup", 14: "SyncGroup", 18: "ApiVersions", 22: "InitProducerId"}


def consumer_assignment(topic):
    """ConsumerProtocolAssignment v0 (its int16 version, then the body): partition 0 of
    topic, no user data."""
    return struct.pack(">h", 0) + Schema("ConsumerProtocolAssignment").encode(
        0, {"AssignedPartitions": [{"Topic": topic, "Partitions": [0]}], "UserData": None})


class Broker:
    def __init__(self, out_dir, prefix, topic):
        self.out_dir, self.prefix, self.topic = out_dir, prefix, topic
        self.port = 0
        self.lock = threading.Lock()
        self.seq = 0
        self.schemas = {}
        os.makedirs(os.path.join(out_dir, "all"), exist_ok=True)

    def schema(self, name):
        if name not in self.schemas:
            self.schemas[name] = Schema(name)
        return self.schemas[name]

    def record(self, key, version, frame):
        name = "%s_v%d.bin" % (NAMES.get(key, "api%d" % key), version)
        with self.lock:
            self.seq += 1
            if self.seq <= ALL_MAX:
                with open(os.path.join(self.out_dir, "all", "%04d_%s" % (self.seq, name)),
                          "wb") as fp:
                    fp.write(frame)
            first = os.path.join(self.out_dir, "%s_%s" % (self.prefix, name))
            if not os.path.exists(first):
                with open(first, "wb") as fp:
                    fp.write(frame)

    def handle(self, frame):
        """Returns the response frame (without size), b"" for none, None to close."""
        r = Reader(frame)
        key, version, corr = r.unpack(">h"), r.unpack(">h"), r.unpack(">i")
        self.record(key, version, frame)
        if key not in SCHEMAS:
            return None
        req_schema = self.schema(SCHEMAS[key] + "Request")
        flex = vin(req_schema.flex_spec, version)
        r.take(max(r.unpack(">h"), 0))  # client id: int16 length even in header v2
        if flex:
            for _ in range(r.uvarint()):
                r.uvarint()
                r.take(r.uvarint())
        if key == 18 and version > ADVERTISED[18][1]:
            body = self.api_versions(0, 35)
            return struct.pack(">i", corr) + body
        lo, hi = ADVERTISED.get(key, (0, -1))
        if not lo <= version <= hi:
            return None
        req = req_schema.decode(version, frame[r.pos:])
        value = getattr(self, "on_" + NAMES[key])(version, req)
        if value is None:
            return b""
        body = self.schema(SCHEMAS[key] + "Response").encode(version, value)
        header = struct.pack(">i", corr)
        if flex and key != 18:  # ApiVersions keeps response header v0 (KIP-511)
            header += b"\x00"
        return header + body

    def api_versions(self, version, error=0):
        keys = [{"ApiKey": k, "MinVersion": lo, "MaxVersion": hi}
                for k, (lo, hi) in sorted(ADVERTISED.items())]
        return self.schema("ApiVersionsResponse").encode(
            version, {"ErrorCode": error, "ApiKeys": keys})

    def on_apiversions(self, version, req):
        keys = [{"ApiKey": k, "MinVersion": lo, "MaxVersion": hi}
                for k, (lo, hi) in sorted(ADVERTISED.items())]
        return {"ErrorCode": 0, "ApiKeys": keys}

    def partition(self, index=0):
        return {"ErrorCode": 0, "PartitionIndex": index, "LeaderId": NODE_ID, "LeaderEpoch": 0,
                "ReplicaNodes": [NODE_ID], "IsrNodes": [NODE_ID], "OfflineReplicas": []}

    def on_metadata(self, version, req):
        names = [t["Name"] for t in (req.get("Topics") or [])] or [self.topic]
        return {"Brokers": [{"NodeId": NODE_ID, "Host": "127.0.0.1", "Port": self.port}],
                "ClusterId": "capture", "ControllerId": NODE_ID,
                "Topics": [{"ErrorCode": 0, "Name": n, "Partitions": [self.partition()]}
                           for n in names]}

    def on_findcoordinator(self, version, req):
        return {"ErrorCode": 0, "NodeId": NODE_ID, "Host": "127.0.0.1", "Port": self.port}

    def on_joingroup(self, version, req):
        member = req.get("MemberId") or "member-1"
        return {"ErrorCode": 0, "GenerationId": 1, "ProtocolName": req["Protocols"][0]["Name"],
                "Leader": "some-other-member", "MemberId": member, "Members": []}

    def on_syncgroup(self, version, req):
        return {"ErrorCode": 0, "Assignment": consumer_assignment(self.topic)}

    def on_heartbeat(self, version, req):
        return {"ErrorCode": 0}

    def on_leavegroup(self, version, req):
        return {"ErrorCode": 0}

    def on_offsetfetch(self, version, req):
        topics = req.get("Topics") or [{"Name": self.topic, "PartitionIndexes": [0]}]
        return {"Topics": [{"Name": t["Name"], "Partitions": [
            {"PartitionIndex": p, "CommittedOffset": -1, "Metadata": "", "ErrorCode": 0}
            for p in t["PartitionIndexes"]]} for t in topics], "ErrorCode": 0}

    def on_offsetcommit(self, version, req):
        return {"Topics": [{"Name": t["Name"], "Partitions": [
            {"PartitionIndex": p["PartitionIndex"], "ErrorCode": 0} for p in t["Partitions"]]}
            for t in req["Topics"]]}

    def on_listoffsets(self, version, req):
        return {"Topics": [{"Name": t["Name"], "Partitions": [
            {"PartitionIndex": p["PartitionIndex"], "ErrorCode": 0, "OldStyleOffsets": [0],
             "Timestamp": -1, "Offset": 0} for p in t["Partitions"]]} for t in req["Topics"]]}

    def on_produce(self, version, req):
        if req["Acks"] == 0:
            return None
        return {"Responses": [{"Name": t["Name"], "PartitionResponses": [
            {"Index": p["Index"], "ErrorCode": 0, "BaseOffset": 0}
            for p in t["PartitionData"]]} for t in req["TopicData"]]}

    def on_fetch(self, version, req):
        # long-poll like a broker with no data, so the client does not spin
        time.sleep(min(max(req["MaxWaitMs"], 0), 500) / 1000.0)
        return {"ErrorCode": 0, "SessionId": 0, "Responses": [
            {"Topic": t["Topic"], "Partitions": [
                {"PartitionIndex": p["Partition"], "ErrorCode": 0, "HighWatermark": 0,
                 "LastStableOffset": 0, "LogStartOffset": 0, "AbortedTransactions": [],
                 "Records": b""} for p in t["Partitions"]]} for t in req["Topics"]]}

    def on_initproducerid(self, version, req):
        return {"ErrorCode": 0, "ProducerId": 1000, "ProducerEpoch": 0}


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        sock, broker = self.request, self.server.broker
        while True:
            size = recv_exact(sock, 4)
            if size is None:
                return
            frame = recv_exact(sock, struct.unpack(">i", size)[0])
            if frame is None:
                return
            try:
                resp = broker.handle(frame)
            except (ValueError, KeyError, struct.error) as e:
                print("capture_broker: cannot answer: %r" % e, file=sys.stderr)
                resp = None
            if resp is None:
                return
            if resp:
                sock.sendall(struct.pack(">i", len(resp)) + resp)


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--topic", default="captest")
    args = ap.parse_args()
    broker = Broker(args.out, args.prefix, args.topic)
    server = Server(("127.0.0.1", args.port), Handler)
    server.broker = broker
    broker.port = server.server_address[1]
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print("PORT=%d" % broker.port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    server.server_close()


if __name__ == "__main__":
    main()
