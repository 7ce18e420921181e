"""0030 — the sluice admin and console tools against librdkafka's in-process mock cluster.

`sluice mock-cluster` (hidden) hosts the mock brokers; the tests run the command lines of
the user's notes with `sluice <tool>` and check Kafka's output formats, exit codes and
error messages, and that every --reset-offsets strategy commits the offsets it should
(read back with a confluent-kafka consumer). The mock speaks Produce, Fetch, ListOffsets,
Metadata v0-2, the group protocol and OffsetCommit/OffsetFetch, but no admin API
(CreateTopics, DescribeGroups, …) and no ListOffsets by timestamp: those paths are tested
against a real cluster in test_0031. Run with SLUICE_BIN pointing at the binary.
"""
import os
import re
import subprocess
import time

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLUICE = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "bin", "sluice"))
RUN_TIMEOUT_S = 60
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")
RESET_PER_PARTITION = 10


def sluice(*args, expect_rc=0, stdin=None, timeout=RUN_TIMEOUT_S):
    """Run sluice; assert its exit code and that no sanitizer report appeared."""
    proc = subprocess.run([SLUICE, *args], capture_output=True, text=True, input=stdin,
                          timeout=timeout)
    report = f"args={args}\nrc={proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    for mark in SANITIZER_MARKS:
        assert mark not in proc.stderr, report
    if expect_rc is not None:
        assert proc.returncode == expect_rc, report
    return proc


@pytest.fixture(scope="module")
def mock():
    """A 3-broker mock cluster with the notes' topics; yields its bootstrap string."""
    proc = subprocess.Popen([SLUICE, "mock-cluster", "--brokers", "3",
                             "--topic", "hello.kafka:3:1", "test:1:1", "reset:3:1", "keyed:1:1"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline()
    assert line.startswith("BOOTSTRAP="), line + proc.stderr.read()
    yield line.strip().split("=", 1)[1]
    proc.stdin.close()
    proc.wait(timeout=30)
    err = proc.stderr.read()
    for mark in SANITIZER_MARKS:
        assert mark not in err, err


# ---------------- broker-api-versions, cluster-id, topics ----------------

def test_broker_api_versions_lists_every_broker(mock):
    out = sluice("broker-api-versions", "--bootstrap-server", mock).stdout
    heads = re.findall(r"^127\.0\.0\.1:\d+ \(id: (\d+) rack: null\) -> \($", out, re.M)
    assert heads == ["1", "2", "3"], out
    assert "\tMetadata(3): 0 to 2 [usable: 2],\n" in out
    assert "\tCreateTopics(19): UNSUPPORTED,\n" in out
    assert out.rstrip().endswith(")")


def test_broker_api_versions_fails_without_a_broker():
    proc = sluice("broker-api-versions", "--bootstrap-server", "127.0.0.1:1", expect_rc=1,
                  timeout=90)
    assert "Timed out waiting for a node assignment" in proc.stderr


def test_cluster_id(mock):
    out = sluice("cluster-id", "--bootstrap-server", mock).stdout
    assert re.fullmatch(r"Cluster ID: \S+\n", out), out


def test_topics_list_and_describe_like_kafka(mock):
    names = sluice("topics", "--bootstrap-server", mock, "--list").stdout.split()
    assert {"hello.kafka", "test", "reset", "keyed"} <= set(names)
    assert names == sorted(names)
    out = sluice("topics", "--bootstrap-server", mock, "--topic", "hello.kafka", "--describe").stdout
    lines = out.splitlines()
    assert re.fullmatch(r"Topic: hello\.kafka\tPartitionCount: 3\tReplicationFactor: \d+\tConfigs: ",
                        lines[0]), out
    for p, line in enumerate(lines[1:]):
        assert re.fullmatch(rf"\tTopic: hello\.kafka\tPartition: {p}\tLeader: \d+\tReplicas: [\d,]+"
                            rf"\tIsr: [\d,]+", line), out
    # --topic is a regular expression, as in Kafka
    regex = sluice("topics", "--bootstrap-server", mock, "--list", "--topic", "hello.*|test").stdout
    assert regex.split() == ["hello.kafka", "test"]


def test_topics_errors_read_like_kafka(mock):
    proc = sluice("topics", "--bootstrap-server", mock, "--describe", "--topic", "nope", expect_rc=1)
    assert proc.stderr.strip() == "Topic 'nope' does not exist as expected"
    sluice("topics", "--bootstrap-server", mock, "--describe", "--topic", "nope", "--if-exists")
    proc = sluice("topics", "--bootstrap-server", mock, "--list", "--describe", expect_rc=1)
    assert proc.stderr.startswith("Command must include exactly one action: --list, --describe, "
                                  "--create, --alter or --delete\n")
    proc = sluice("topics", "--bootstrap-server", mock, "--alter", "--topic", "test", expect_rc=1)
    assert 'Missing required argument "[partitions]"' in proc.stderr
    proc = sluice("topics", "--bootstrap-server", mock, "--list", "--partitions", "3", expect_rc=1)
    assert "Option \"[partitions]\" can't be used with option \"[list]\"" in proc.stderr
    proc = sluice("topics", "--bootstrap-server", mock, "--topik", "x", expect_rc=1)
    assert proc.stderr.startswith("topik is not a recognized option\n")
    assert "Usage: sluice topics [options]" in proc.stderr


def test_help_for_every_command():
    out = sluice("help").stdout
    for cmd in ("topics", "configs", "console-producer", "console-consumer", "consumer-groups",
                "reassign-partitions", "leader-election", "delete-records", "dump-log",
                "broker-api-versions", "metadata-quorum", "cluster-id"):
        assert re.search(rf"^  {re.escape(cmd)} ", out, re.M), cmd
        usage = sluice(cmd, "--help").stdout
        assert usage.startswith(f"Usage: sluice {cmd} [options]\n"), usage
        assert sluice("help", cmd).stdout == usage


# ---------------- console producer and consumer ----------------

def consume(mock, *args, expect_rc=0):
    return sluice("console-consumer", "--bootstrap-server", mock, *args, expect_rc=expect_rc)


def test_console_round_trip_from_the_notes(mock):
    lines = ["hello", "kafka", "0", "1", "2", "3", "4", "5", "6"]
    sluice("console-producer", "--bootstrap-server", mock, "--topic", "hello.kafka",
           stdin="\n".join(lines) + "\n")
    sluice("console-producer", "--bootstrap-server", mock, "--topic", "hello.kafka",
           "--property", "parse.key=true", "--property", "key.separator=:",
           stdin="key1:no1\nkey2:no2\nkey3:no3\n")
    proc = consume(mock, "--topic", "hello.kafka", "--from-beginning", "--max-messages", "12")
    got = proc.stdout.splitlines()
    assert sorted(got) == sorted(lines + ["no1", "no2", "no3"])
    assert proc.stderr.strip().endswith("Processed a total of 12 messages")
    keyed = consume(mock, "--topic", "hello.kafka", "--property", "print.key=true",
                    "--property", "key.separator=-", "--from-beginning", "--max-messages", "12").stdout
    pairs = sorted(keyed.splitlines())
    assert pairs == sorted([f"null-{v}" for v in lines] + ["key1-no1", "key2-no2", "key3-no3"])
    one = consume(mock, "--topic", "hello.kafka", "--property", "print.key=true",
                  "--property", "key.separator=-", "--from-beginning", "--max-messages", "1")
    assert len(one.stdout.splitlines()) == 1
    assert "Processed a total of 1 messages" in one.stderr


def test_console_consumer_partition_and_metadata_fields(mock):
    p = Producer({"bootstrap.servers": mock})
    for i in range(4):
        p.produce("keyed", key=b"k%d" % i, value=b"v%d" % i, partition=0, timestamp=1700000000000 + i,
                  headers=[("h", b"x%d" % i)] if i % 2 else None)
    p.flush(30)
    out = consume(mock, "--topic", "keyed", "--partition", "0", "--offset", "earliest",
                  "--timeout-ms", "3000", "--property", "print.timestamp=true",
                  "--property", "print.partition=true", "--property", "print.offset=true",
                  "--property", "print.headers=true", "--property", "print.key=true").stdout
    assert out.splitlines() == [
        "CreateTime:1700000000000\tPartition:0\tOffset:0\tNO_HEADERS\tk0\tv0",
        "CreateTime:1700000000001\tPartition:0\tOffset:1\th:x1\tk1\tv1",
        "CreateTime:1700000000002\tPartition:0\tOffset:2\tNO_HEADERS\tk2\tv2",
        "CreateTime:1700000000003\tPartition:0\tOffset:3\th:x3\tk3\tv3",
    ]
    tail = consume(mock, "--topic", "keyed", "--partition", "0", "--offset", "2",
                   "--timeout-ms", "2000", "--property", "print.value=false",
                   "--property", "print.offset=true").stdout
    assert tail.splitlines() == ["Offset:2", "Offset:3"]


def test_console_consumer_argument_errors(mock):
    proc = consume(mock, "--partition", "0", expect_rc=1)
    assert "Exactly one of include/topic is required." in proc.stderr
    proc = consume(mock, "--topic", "keyed", "--offset", "3", expect_rc=1)
    assert "The partition is required when offset is specified." in proc.stderr
    proc = consume(mock, "--topic", "keyed", "--partition", "0", "--offset", "-5", expect_rc=1)
    assert "The provided offset value is incorrect" in proc.stderr


def test_console_producer_headers_null_marker_and_errors(mock):
    sluice("console-producer", "--bootstrap-server", mock, "--topic", "test",
           "--property", "parse.key=true", "--property", "parse.headers=true",
           "--property", "null.marker=NULL", "--compression-codec", "lz4",
           stdin="a:1,b:2\tk1\tv1\tx\nNULL\tNULL\tNULL\n")
    c = Consumer({"bootstrap.servers": mock, "group.id": "hdr-check", "auto.offset.reset": "earliest"})
    c.assign([TopicPartition("test", 0, 0)])
    msgs = []
    deadline = time.monotonic() + 20
    while len(msgs) < 2 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            msgs.append(m)
    c.close()
    assert [(m.key(), m.value(), m.headers()) for m in msgs] == [
        (b"k1", b"v1\tx", [("a", b"1"), ("b", b"2")]), (None, None, None)]
    proc = sluice("console-producer", "--bootstrap-server", mock, "--topic", "test",
                  "--property", "parse.key=true", stdin="no separator here\n", expect_rc=1)
    assert ("org.apache.kafka.common.KafkaException: No key separator found on line number 1: "
            "'no separator here'") in proc.stderr
    sluice("console-producer", "--bootstrap-server", mock, "--topic", "test",
           "--property", "parse.key=true", "--property", "ignore.error=true",
           stdin="no separator here\n")


# ---------------- consumer-groups --reset-offsets ----------------

@pytest.fixture(scope="module")
def reset_topic(mock):
    """'reset': 3 partitions of RESET_PER_PARTITION records each."""
    p = Producer({"bootstrap.servers": mock})
    for part in range(3):
        for i in range(RESET_PER_PARTITION):
            p.produce("reset", value=b"%d-%d" % (part, i), partition=part)
    assert p.flush(30) == 0
    return "reset"


def committed(mock, group, partitions=(0, 1, 2)):
    c = Consumer({"bootstrap.servers": mock, "group.id": group})
    tps = c.committed([TopicPartition("reset", p) for p in partitions], timeout=20)
    c.close()
    return [tp.offset for tp in tps]


def reset(mock, group, *args, expect_rc=0):
    return sluice("consumer-groups", "--bootstrap-server", mock, "--group", group, "--reset-offsets",
                  *args, expect_rc=expect_rc)


def new_offsets(stdout):
    rows = [line.split() for line in stdout.splitlines() if line and not line.startswith("GROUP")]
    return {(r[1], int(r[2])): int(r[3]) for r in rows}


def test_reset_to_offset_earliest_latest_current(mock, reset_topic):
    g = "g-basic"
    out = reset(mock, g, "--topic", "reset", "--to-offset", "4", "--execute").stdout
    assert out.splitlines()[1].split() == ["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]
    assert new_offsets(out) == {("reset", p): 4 for p in range(3)}
    assert committed(mock, g) == [4, 4, 4]
    reset(mock, g, "--topic", "reset", "--to-earliest", "--execute")
    assert committed(mock, g) == [0, 0, 0]
    reset(mock, g, "--topic", "reset", "--to-latest", "--execute")
    assert committed(mock, g) == [RESET_PER_PARTITION] * 3
    reset(mock, g, "--topic", "reset:1", "--to-offset", "2", "--execute")
    out = reset(mock, g, "--topic", "reset", "--to-current", "--execute").stdout
    assert new_offsets(out) == {("reset", 0): 10, ("reset", 1): 2, ("reset", 2): 10}
    assert committed(mock, g) == [10, 2, 10]


def test_reset_shift_by_clamps_and_dry_run_changes_nothing(mock, reset_topic):
    g = "g-shift"
    reset(mock, g, "--topic", "reset", "--to-offset", "5", "--execute")
    reset(mock, g, "--topic", "reset:0,2", "--shift-by", "-3", "--execute")
    assert committed(mock, g) == [2, 5, 2]
    proc = reset(mock, g, "--topic", "reset", "--shift-by", "100", "--execute")
    assert "is higher than latest offset for topic partition reset-1. Value will be set to 10" in proc.stderr
    assert committed(mock, g) == [10, 10, 10]
    proc = reset(mock, g, "--topic", "reset", "--to-earliest")
    assert "WARN: No action will be performed as the --execute option is missing." in proc.stderr
    assert new_offsets(proc.stdout) == {("reset", p): 0 for p in range(3)}
    assert committed(mock, g) == [10, 10, 10]
    reset(mock, g, "--topic", "reset", "--to-earliest", "--dry-run")
    assert committed(mock, g) == [10, 10, 10]
    fresh = reset(mock, "g-none", "--topic", "reset", "--shift-by", "1", "--execute", expect_rc=1)
    assert "Cannot shift offset for partition reset-0 since there is no current committed offset" in fresh.stdout


def test_reset_from_file_and_export(mock, reset_topic, tmp_path):
    g = "g-file"
    exported = reset(mock, g, "--topic", "reset", "--to-offset", "7", "--export", "--dry-run").stdout
    assert exported.splitlines() == ["reset,0,7", "reset,1,7", "reset,2,7"]
    plan = tmp_path / "plan.csv"
    plan.write_text("reset,0,1\nreset,1,2\nreset,2,3\n")
    reset(mock, g, "--from-file", str(plan), "--execute")
    assert committed(mock, g) == [1, 2, 3]
    plan.write_text(f"{g},reset,0,9\n{g},reset,2,99\n")
    reset(mock, g, "--from-file", str(plan), "--execute")
    assert committed(mock, g) == [9, 2, 10]


def test_group_commands_from_the_notes_fail_like_kafka(mock, reset_topic):
    proc = sluice("consumer-groups", "--bootstrap-server", mock, "--topic", "hello-kafka",
                  "--group", "hello-group", expect_rc=1)
    assert proc.stderr.startswith("Command must include exactly one action: --list, --describe, "
                                  "--delete, --reset-offsets, --delete-offsets\n")
    # (the unknown topic of that note is tested on a real cluster: the mock's Metadata v2
    # creates every topic it is asked about)
    proc = reset(mock, "g", "--topic", "reset", expect_rc=1)
    assert "requires one of the following scenarios" in proc.stderr
    proc = reset(mock, "g", "--to-earliest", expect_rc=1)
    assert "One of the reset scopes should be defined: --all-topics, --topic." in proc.stderr
