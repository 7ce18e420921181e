#!/usr/bin/python3
"""Write the seed corpora and rejected inputs of tests/fuzz/ (deterministic output).

  /usr/bin/python3 tests/fuzz/tools/make_corpus.py

record_batch: the reference example, batches captured from kcat and kafka-python
(tests/unit/vectors/records/*.bin), and batches written here: headers, control
records, an empty batch, LogAppendTime, offset gaps, gzip and xerial-framed snappy.
rejected/record_batch: batches that must fail protocol_batch_check or
protocol_batch_validate_records (bad CRC, wrong counts, a gzip bomb past the 1 MiB cap).
decompress: a codec byte then compressed bytes; rpc_frame: internal RPC frames.
Only the standard library: snappy is written as literal-only blocks, which are valid.
"""
import gzip
import os
import struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VECTORS = os.path.join(ROOT, "..", "unit", "vectors", "records")

_CRC_TABLE = []
for n in range(256):
    c = n
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    _CRC_TABLE.append(c)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def uvarint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def varint(v):
    return uvarint(((v << 1) ^ (v >> 63)) & 0xFFFFFFFFFFFFFFFF)


def field(b):
    return varint(-1) if b is None else varint(len(b)) + b


def record(offset_delta, ts_delta, key, value, headers=(), attributes=0):
    body = bytes([attributes]) + varint(ts_delta) + varint(offset_delta) + field(key) + field(value)
    body += varint(len(headers)) + b"".join(field(k) + field(v) for k, v in headers)
    return varint(len(body)) + body


def snappy_literal(data):
    """A raw snappy block holding data as literals (valid, just not compressed)."""
    out = uvarint(len(data))
    for i in range(0, len(data), 65536):
        chunk = data[i:i + 65536]
        n = len(chunk) - 1
        out += (bytes([n << 2]) if n < 60 else bytes([61 << 2]) + struct.pack("<H", n)) + chunk
    return out


def xerial(data, block=32768):
    out = b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1)
    for i in range(0, len(data), block):
        chunk = snappy_literal(data[i:i + block])
        out += struct.pack(">i", len(chunk)) + chunk
    return out


def batch(records, count=None, codec=0, attrs=0, base_offset=0, last_delta=None, base_ts=1000,
          max_ts=1000, pid=-1, epoch=-1, seq=-1, fix_crc=True, section=None):
    if section is not None:
        pass
    elif codec == 0:
        section = b"".join(records)
    elif codec == 1:
        section = gzip.compress(b"".join(records), mtime=0)
    elif codec == 2:
        section = xerial(b"".join(records))
    count = len(records) if count is None else count
    last_delta = max(count - 1, 0) if last_delta is None else last_delta
    tail = struct.pack(">hiqqqhii", codec | attrs, last_delta, base_ts, max_ts, pid, epoch, seq, count)
    tail += section
    crc = crc32c(tail) if fix_crc else crc32c(tail) ^ 1
    return struct.pack(">qiib", base_offset, 4 + 1 + 4 + len(tail), -1, 2) + struct.pack(">I", crc) + tail


def control_key(t):
    return struct.pack(">hh", 0, t)


def write(directory, name, data):
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def record_batch_seeds():
    seeds = {}
    for name in sorted(os.listdir(VECTORS)):
        if name.endswith(".bin"):
            with open(os.path.join(VECTORS, name), "rb") as f:
                seeds[name] = f.read()
    seeds["example.bin"] = batch([record(0, 0, b"k", b"v")], base_ts=1700000000000,
                                 max_ts=1700000000000)
    hdrs = [(b"trace", b"abc"), (b"empty", b""), (b"null", None)]
    recs = [record(i, i * 3, b"key%d" % i if i % 3 else None, b"v" * i if i % 4 else None,
                   hdrs[: i % 4]) for i in range(12)]
    seeds["headers.bin"] = batch(recs)
    seeds["gzip.bin"] = batch(recs, codec=1)
    seeds["snappy_xerial.bin"] = batch(recs * 1, codec=2)
    big = [record(i, 0, b"k", bytes(range(256)) * 40) for i in range(8)]
    seeds["snappy_xerial_chunks.bin"] = batch(big, codec=2)
    seeds["empty.bin"] = batch([], base_ts=-1, max_ts=-1)
    seeds["log_append_time.bin"] = batch(recs[:3], attrs=0x08, max_ts=1800000000000)
    seeds["gaps.bin"] = batch([record(0, 0, b"a", b"1"), record(5, 1, b"b", b"2"),
                               record(9, 2, b"c", b"3")], last_delta=12, base_offset=700)
    marker = struct.pack(">hi", 0, 7)
    for name, t in (("txn_commit.bin", 1), ("txn_abort.bin", 0)):
        seeds[name] = batch([record(0, 0, control_key(t), marker)], attrs=0x30, pid=9, epoch=1)
    seeds["leader_change.bin"] = batch([record(0, 0, control_key(2), b"\x00\x00\x01\x02")],
                                       attrs=0x20)
    seeds["delete_horizon.bin"] = batch(recs[:4], attrs=0x40, base_ts=5000)
    seeds["idempotent.bin"] = batch(recs[:5], pid=123, epoch=4, seq=17, attrs=0x10)
    return seeds


def record_batch_rejected():
    good = record_batch_seeds()["headers.bin"]
    recs = [record(i, 0, b"k", b"v") for i in range(3)]
    rej = {}
    rej["truncated.bin"] = good[:-1]
    rej["bad_crc.bin"] = batch(recs, fix_crc=False)
    rej["magic_1.bin"] = good[:16] + b"\x01" + good[17:]
    rej["count_above_records.bin"] = batch([record(0, 0, b"k", b"v" * 20)], count=2, last_delta=1)
    rej["trailing_bytes.bin"] = batch(recs + [b"\x00" * 8], count=3)
    rej["offset_repeats.bin"] = batch([record(0, 0, b"a", b"1"), record(0, 0, b"b", b"2")])
    rej["offset_past_last_delta.bin"] = batch([record(3, 0, b"a", b"1")], last_delta=0)
    body = b"\x00\x00\x00" + varint(-2) + b"\x02v\x00"
    rej["negative_key_length.bin"] = batch([varint(len(body)) + body])
    rej["null_header_key.bin"] = batch([record(0, 0, b"k", b"v", [(None, b"x")])])
    rej["control_short_key.bin"] = batch([record(0, 0, b"\x00\x00\x01", b"")], attrs=0x20)
    # 2 MiB of zeros: a few KiB of gzip, over the target's 1 MiB decompression cap
    zeros = [record(0, 0, None, bytes(2 << 20))]
    rej["gzip_bomb.bin"] = batch(zeros, codec=1)
    chunk = snappy_literal(b"".join(recs))
    section = b"\x82SNAPPY\x00" + struct.pack(">iii", 1, 1, len(chunk) + 5) + chunk
    rej["snappy_chunk_past_end.bin"] = batch(recs, codec=2, section=section)
    return rej


def decompress_seeds():
    seeds = {}
    for name in sorted(os.listdir(VECTORS)):
        if name.endswith(".bin"):
            with open(os.path.join(VECTORS, name), "rb") as f:
                b = f.read()
            codec = struct.unpack(">h", b[21:23])[0] & 7
            seeds[name] = bytes([codec]) + b[61:]
    text = b"".join(b"record %d of a batch; " % i for i in range(400))
    seeds["gzip.bin"] = b"\x01" + gzip.compress(text, mtime=0)
    seeds["gzip_members.bin"] = b"\x01" + gzip.compress(text[:50], mtime=0) * 2
    seeds["snappy_xerial.bin"] = b"\x02" + xerial(text, block=1000)
    seeds["snappy_raw.bin"] = b"\x02" + snappy_literal(text)
    seeds["none.bin"] = b"\x00" + text[:100]
    return seeds


def decompress_rejected():
    text = b"abc" * 100
    return {
        "unknown_codec.bin": b"\x05" + text,
        "gzip_truncated.bin": b"\x01" + gzip.compress(text, mtime=0)[:-4],
        "gzip_bomb.bin": b"\x01" + gzip.compress(bytes(1 << 20), mtime=0),
        "snappy_bad_length.bin": b"\x02" + uvarint(1 << 30) + b"\x00",
        "lz4_bad_magic.bin": b"\x03\x04\x22\x4d\x19" + text,
        "zstd_truncated.bin": b"\x04\x28\xb5\x2f\xfd",
    }


def rpc_frame_seeds():
    def frame(corr, typ, payload):
        return struct.pack(">IIH", 6 + len(payload), corr, typ) + payload
    return {
        "one.bin": frame(1, 3, b"\x08\x01\x12\x03abc"),
        "empty_payload.bin": frame(7, 0, b""),
        "stream.bin": frame(1, 1, b"x") + frame(2, 2, b"yy") + frame(3, 3, b"") + b"\x00\x00",
    }, {
        "length_5.bin": struct.pack(">I", 5) + b"\x00" * 8,
        "length_0.bin": b"\x00" * 12,
        "incomplete.bin": struct.pack(">IIH", 20, 1, 1) + b"short",
        "too_large.bin": struct.pack(">I", 0xFFFFFFFF) + b"\x00" * 6,
    }


def main():
    corpus = os.path.join(ROOT, "corpus")
    rejected = os.path.join(ROOT, "rejected")
    for name, data in record_batch_seeds().items():
        write(os.path.join(corpus, "record_batch"), name, data)
    for name, data in record_batch_rejected().items():
        write(os.path.join(rejected, "record_batch"), name, data)
    for name, data in decompress_seeds().items():
        write(os.path.join(corpus, "decompress"), name, data)
    for name, data in decompress_rejected().items():
        write(os.path.join(rejected, "decompress"), name, data)
    seeds, rej = rpc_frame_seeds()
    for name, data in seeds.items():
        write(os.path.join(corpus, "rpc_frame"), name, data)
    for name, data in rej.items():
        write(os.path.join(rejected, "rpc_frame"), name, data)


if __name__ == "__main__":
    main()
