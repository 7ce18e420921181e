"""0031 — every command line of the user's notes, as `sluice <tool>`, against a real
3-controller + 3-broker cluster (the `cluster` fixture), plus what the mock cluster of 0030
cannot show: topic creation and configs, group describe/list/delete, reset by time, record
deletion, dump-log of the segments just written, a replica move with reassign-partitions,
a preferred leader election after a broker restart, and the metadata quorum.

The notes address brokers as my-kafka:9092 and broker 0; here the bootstrap is the
fixture's and broker ids start at 1.
"""
import glob
import json
import os
import re
import subprocess
import time

from confluent_kafka import Consumer, Producer, TopicPartition

from conftest import BIN_DIR, wait_for
from sluice_clients import create_topic

SLUICE = os.environ.get("SLUICE_BIN", os.path.join(BIN_DIR, "sluice"))
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sluice(*args, expect_rc=0, stdin=None, timeout=90):
    proc = subprocess.run([SLUICE, *args], capture_output=True, text=True, input=stdin,
                          timeout=timeout)
    report = f"args={args}\nrc={proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    for mark in SANITIZER_MARKS:
        assert mark not in proc.stderr, report
    if expect_rc is not None:
        assert proc.returncode == expect_rc, report
    return proc


def topics(cluster, *args, expect_rc=0):
    return sluice("topics", "--bootstrap-server", cluster.bootstrap, *args, expect_rc=expect_rc)


def describe_lines(cluster, topic):
    return topics(cluster, "--topic", topic, "--describe").stdout.splitlines()


def partition_fields(line):
    return dict(re.findall(r"(\w+): ([^\t]*)", line))


# ---------------- kafka-topics, kafka-configs, broker-api-versions ----------------

def test_notes_topics_commands(cluster):
    bs = cluster.bootstrap
    api = sluice("broker-api-versions", "--bootstrap-server", bs).stdout
    assert len(re.findall(r"^127\.0\.0\.1:\d+ \(id: \d rack: null\) -> \($", api, re.M)) == 3
    assert "Produce(0): " in api
    created = topics(cluster, "--create", "--topic", "hello.kafka").stdout
    assert created.splitlines() == [
        "WARNING: Due to limitations in metric names, topics with a period ('.') or underscore "
        "('_') could collide. To avoid issues it is best to use either, but not both.",
        "Created topic hello.kafka."]
    lines = describe_lines(cluster, "hello.kafka")
    assert re.fullmatch(r"Topic: hello\.kafka\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 1\t"
                        r"ReplicationFactor: 1\tConfigs: .*", lines[0]), lines
    assert re.fullmatch(r"\tTopic: hello\.kafka\tPartition: 0\tLeader: \d\tReplicas: \d\tIsr: \d",
                        lines[1]), lines
    topics(cluster, "--create", "--partitions", "10", "--replication-factor", "1", "--topic",
           "hello.kafka2", "--config", "retention.ms=172800000")
    head = describe_lines(cluster, "hello.kafka2")[0]
    assert "PartitionCount: 10" in head and "retention.ms=172800000" in head
    listed = topics(cluster, "--list").stdout.split()
    assert {"hello.kafka", "hello.kafka2"} <= set(listed)
    topics(cluster, "--create", "--topic", "test")
    assert describe_lines(cluster, "test")[0].count("PartitionCount: 1") == 1
    topics(cluster, "--topic", "test", "--alter", "--partitions", "4")
    lines = describe_lines(cluster, "test")
    assert "PartitionCount: 4" in lines[0] and len(lines) == 5
    assert [partition_fields(l)["Partition"] for l in lines[1:]] == ["0", "1", "2", "3"]
    shrink = topics(cluster, "--topic", "test", "--alter", "--partitions", "2", expect_rc=1).stdout
    assert shrink.startswith("Error while executing topic command : ")
    assert "4" in shrink and "2" in shrink
    again = topics(cluster, "--create", "--topic", "test", expect_rc=1).stdout
    assert again.strip() == "Error while executing topic command : Topic 'test' already exists."
    topics(cluster, "--create", "--topic", "test", "--if-not-exists")


def test_notes_configs_commands(cluster):
    bs = cluster.bootstrap
    wait_for(lambda: "PartitionCount: 4" in describe_lines(cluster, "test")[0], 30, "topic test")
    out = sluice("configs", "--bootstrap-server", bs, "--alter", "--add-config",
                 "min.insync.replicas=2", "--topic", "test").stdout
    assert out.strip() == "Completed updating config for topic test."
    assert "Configs: min.insync.replicas=2" in describe_lines(cluster, "test")[0]
    dyn = sluice("configs", "--bootstrap-server", bs, "--topic", "test", "--describe").stdout
    assert dyn.splitlines()[0] == "Dynamic configs for topic test are:"
    assert dyn.splitlines()[1].startswith(
        "  min.insync.replicas=2 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:min.insync.replicas=2")
    every = sluice("configs", "--bootstrap-server", bs, "--broker", "1", "--all", "--describe").stdout
    assert every.splitlines()[0] == "All configs for broker 1 are:"
    assert len(every.splitlines()) > 10
    assert all(re.fullmatch(r"  \S+=.* sensitive=(true|false) synonyms=\{.*\}", l)
               for l in every.splitlines()[1:])
    # The notes' --broker 0: the brokers of this cluster are numbered from 1.
    missing = sluice("configs", "--bootstrap-server", bs, "--broker", "0", "--all", "--describe",
                     expect_rc=1)
    assert "The broker '0' doesn't exist; the cluster's brokers are: " in missing.stderr
    sluice("configs", "--bootstrap-server", bs, "--alter", "--delete-config", "min.insync.replicas",
           "--topic", "test")
    bad = sluice("configs", "--bootstrap-server", bs, "--alter", "--delete-config",
                 "min.insync.replicas", "--topic", "test", expect_rc=1)
    assert bad.stderr.strip() == "Invalid config(s): min.insync.replicas"


# ---------------- console tools and consumer groups ----------------

NOTES_LINES = ["hello", "kafka", "0", "1", "2", "3", "4", "5", "6"]


def test_notes_console_and_group_commands(cluster):
    bs = cluster.bootstrap
    wait_for(lambda: describe_lines(cluster, "hello.kafka"), 30, "hello.kafka")
    sluice("console-producer", "--bootstrap-server", bs, "--topic", "hello.kafka",
           stdin="\n".join(NOTES_LINES) + "\n")
    sluice("console-producer", "--bootstrap-server", bs, "--topic", "hello.kafka",
           "--property", "parse.key=true", "--property", "key.separator=:",
           stdin="key1:no1\nkey2:no2\nkey3:no3\n")
    total = len(NOTES_LINES) + 3
    out = sluice("console-consumer", "--bootstrap-server", bs, "--topic", "hello.kafka",
                 "--from-beginning", "--max-messages", str(total)).stdout
    assert out.splitlines() == NOTES_LINES + ["no1", "no2", "no3"]  # one partition: in order
    keyed = sluice("console-consumer", "--bootstrap-server", bs, "--topic", "hello.kafka",
                   "--property", "print.key=true", "--property", "key.separator=-",
                   "--from-beginning", "--max-messages", "1").stdout
    assert keyed == "null-hello\n"
    grouped = sluice("console-consumer", "--bootstrap-server", bs, "--topic", "hello.kafka",
                     "--group", "hello-group", "--from-beginning", "--max-messages", str(total))
    assert f"Processed a total of {total} messages" in grouped.stderr
    groups = sluice("consumer-groups", "--bootstrap-server", bs, "--list").stdout.split()
    assert "hello-group" in groups
    desc = sluice("consumer-groups", "--bootstrap-server", bs, "--group", "hello-group",
                  "--describe")
    assert "Consumer group 'hello-group' has no active members." in desc.stderr
    rows = desc.stdout.splitlines()
    assert rows[0] == "" and rows[1].split() == ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET",
                                                   "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST",
                                                   "CLIENT-ID"]
    assert rows[2].split() == ["hello-group", "hello.kafka", "0", str(total), str(total), "0", "-",
                               "-", "-"]
    reset = sluice("consumer-groups", "--bootstrap-server", bs, "--group", "hello-group", "--topic",
                   "hello.kafka", "--reset-offsets", "--to-earliest", "--execute").stdout
    assert reset.splitlines()[2].split() == ["hello-group", "hello.kafka", "0", "0"]
    typo = sluice("consumer-groups", "--bootstrap-server", bs, "--topic", "hello-kafka", "--group",
                  "hello-group", "--reset-offsets", "--to-earliest", "--execute", expect_rc=1)
    assert ("Error: Executing consumer group command failed due to "
            "org.apache.kafka.common.errors.UnknownTopicOrPartitionException") in typo.stdout
    again = sluice("console-consumer", "--bootstrap-server", bs, "--topic", "hello.kafka",
                   "--group", "hello-group", "--max-messages", str(total)).stdout
    assert again.splitlines() == NOTES_LINES + ["no1", "no2", "no3"]


def test_group_describe_members_state_and_active_reset_refused(cluster):
    bs = cluster.bootstrap
    create_topic(bs, "members", 2, 1)
    c = Consumer({"bootstrap.servers": bs, "group.id": "active-group", "client.id": "member-client",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["members"])
    try:
        def stable():
            c.poll(0.2)
            out = sluice("consumer-groups", "--bootstrap-server", bs, "--group", "active-group",
                         "--describe", "--state", expect_rc=None).stdout
            return "Stable" in out and out
        state = wait_for(stable, 60, "active-group stable")
        assert re.search(r"^active-group\s+127\.0\.0\.1:\d+  \(\d\)\s+range\s+Stable\s+1$", state, re.M), state
        members = sluice("consumer-groups", "--bootstrap-server", bs, "--group", "active-group",
                         "--describe", "--members", "--verbose").stdout
        assert re.search(r"^active-group\s+\S+\s+/?127\.0\.0\.1\s+member-client\s+2\s+members\(0,1\)$",
                         members, re.M), members
        offsets = sluice("consumer-groups", "--bootstrap-server", bs, "--group", "active-group",
                         "--describe").stdout.splitlines()
        rows = [r.split() for r in offsets[2:]]
        assert sorted(r[2] for r in rows) == ["0", "1"], offsets
        for r in rows:
            assert r[0] == "active-group" and r[1] == "members" and r[8] == "member-client", offsets
            assert r[6] != "-" and r[7].lstrip("/") == "127.0.0.1", offsets
        refused = sluice("consumer-groups", "--bootstrap-server", bs, "--group", "active-group",
                         "--topic", "members", "--reset-offsets", "--to-earliest", "--execute",
                         expect_rc=1).stdout
        assert ("Error: Assignments can only be reset if the group 'active-group' is inactive, but "
                "the current state is Stable.") in refused
        listed = sluice("consumer-groups", "--bootstrap-server", bs, "--list", "--state").stdout
        assert re.search(r"^active-group\s+Stable$", listed, re.M), listed
    finally:
        c.close()
    deleted = wait_for(lambda: sluice("consumer-groups", "--bootstrap-server", bs, "--delete",
                                      "--group", "active-group", expect_rc=None).stdout
                       .startswith("Deletion of requested consumer groups ('active-group') was "
                                   "successful."), 30, "group deletion")
    assert deleted


def test_reset_by_time_and_duration(cluster):
    bs = cluster.bootstrap
    create_topic(bs, "timed", 1, 1)
    p = Producer({"bootstrap.servers": bs})
    now = int(time.time() * 1000)
    stamps = [now - 3600_000 * (10 - i) for i in range(10)]  # one record per hour, up to now
    for i, ts in enumerate(stamps):
        p.produce("timed", value=b"%d" % i, partition=0, timestamp=ts)
    assert p.flush(30) == 0
    at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime((stamps[4] - 1) / 1000)) + ".000"
    out = sluice("consumer-groups", "--bootstrap-server", bs, "--group", "timed-group", "--topic",
                 "timed", "--reset-offsets", "--to-datetime", at, "--execute").stdout
    assert out.splitlines()[2].split()[-1] == "4"
    out = sluice("consumer-groups", "--bootstrap-server", bs, "--group", "timed-group", "--topic",
                 "timed", "--reset-offsets", "--by-duration", "PT2H30M", "--execute").stdout
    assert out.splitlines()[2].split()[-1] == "8"
    c = Consumer({"bootstrap.servers": bs, "group.id": "timed-group"})
    assert c.committed([TopicPartition("timed", 0)], timeout=20)[0].offset == 8
    c.close()


# ---------------- delete-records, dump-log ----------------

def test_delete_records_and_dump_log(cluster, tmp_path):
    bs = cluster.bootstrap
    create_topic(bs, "dumped", 1, 1)
    sluice("console-producer", "--bootstrap-server", bs, "--topic", "dumped", "--property",
           "parse.key=true", "--property", "key.separator=:",
           stdin="".join(f"key{i}:value{i}\n" for i in range(6)))
    leader = int(partition_fields(describe_lines(cluster, "dumped")[1])["Leader"])
    seg = os.path.join(cluster.dir, "data", f"b{leader}", "dumped-0", "00000000000000000000.log")
    assert os.path.exists(seg), glob.glob(os.path.join(cluster.dir, "data", "*", "dumped-0"))
    dumped = sluice("dump-log", "--files", seg, "--print-data-log").stdout
    assert dumped.startswith(f"Dumping {seg}\nLog starting offset: 0\n")
    assert re.search(r"^baseOffset: 0 lastOffset: 5 count: 6 .* isvalid: true$", dumped, re.M), dumped
    for i in range(6):
        assert re.search(rf"^\| offset: {i} CreateTime: \d+ keySize: 4 valueSize: 6 sequence: -?\d+ "
                         rf"headerKeys: \[\] key: key{i} payload: value{i}$", dumped, re.M), dumped
    # The notes' "-- deep-iteration" (with a space) ends the options: a shallow dump, as Kafka.
    shallow = sluice("dump-log", "--files", seg, "--", "deep-iteration").stdout
    assert "| offset:" not in shallow and "baseOffset: 0 lastOffset: 5" in shallow
    plan = tmp_path / "delete.json"
    plan.write_text(json.dumps({"partitions": [{"topic": "dumped", "partition": 0, "offset": 3}],
                                "version": 1}))
    out = sluice("delete-records", "--bootstrap-server", bs, "--offset-json-file", str(plan)).stdout
    assert out.splitlines() == ["Executing records delete operation",
                                "Records delete operation completed:",
                                "partition: dumped-0\tlow_watermark: 3"]
    rest = sluice("console-consumer", "--bootstrap-server", bs, "--topic", "dumped",
                  "--from-beginning", "--max-messages", "3").stdout
    assert rest.splitlines() == ["value3", "value4", "value5"]
    plan.write_text(json.dumps({"partitions": [{"topic": "dumped", "partition": 0, "offset": 99}]}))
    bad = sluice("delete-records", "--bootstrap-server", bs, "--offset-json-file", str(plan),
                 expect_rc=1).stdout
    assert "partition: dumped-0\terror: org.apache.kafka.common.errors.OffsetOutOfRangeException" in bad


# ---------------- reassign-partitions, leader-election ----------------

def test_reassign_moves_a_replica_and_verify_reports_completion(cluster, tmp_path):
    bs = cluster.bootstrap
    create_topic(bs, "moving", 1, 1)
    sluice("console-producer", "--bootstrap-server", bs, "--topic", "moving", stdin="a\nb\nc\n")
    before = int(partition_fields(describe_lines(cluster, "moving")[1])["Replicas"])
    target = 1 + before % 3
    move = tmp_path / "move.json"
    move.write_text(json.dumps({"topics": [{"topic": "moving"}], "version": 1}))
    gen = sluice("reassign-partitions", "--bootstrap-server", bs, "--topics-to-move-json-file",
                 str(move), "--broker-list", "1,2,3", "--generate").stdout.splitlines()
    assert gen[0] == "Current partition replica assignment"
    assert json.loads(gen[1]) == {"version": 1, "partitions": [
        {"topic": "moving", "partition": 0, "replicas": [before], "log_dirs": ["any"]}]}
    assert gen[3] == "Proposed partition reassignment configuration"
    assert json.loads(gen[4])["partitions"][0]["replicas"][0] in (1, 2, 3)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "partitions": [
        {"topic": "moving", "partition": 0, "replicas": [target], "log_dirs": ["any"]}]}))
    out = sluice("reassign-partitions", "--bootstrap-server", bs, "--reassignment-json-file",
                 str(plan), "--execute").stdout.splitlines()
    assert out[0] == "Current partition replica assignment"
    assert json.loads(out[2])["partitions"][0]["replicas"] == [before]
    assert out[4] == "Save this to use as the --reassignment-json-file option during rollback"
    assert out[5] == "Successfully started partition reassignment for moving-0"

    def completed():
        v = sluice("reassign-partitions", "--bootstrap-server", bs, "--reassignment-json-file",
                   str(plan), "--verify").stdout
        return "Reassignment of partition moving-0 is completed." in v and v
    verify = wait_for(completed, 60, "reassignment of moving-0")
    assert verify.startswith("Status of partition reassignment:\n")
    fields = partition_fields(describe_lines(cluster, "moving")[1])
    assert fields["Replicas"] == str(target) and fields["Leader"] == str(target)
    got = sluice("console-consumer", "--bootstrap-server", bs, "--topic", "moving",
                 "--from-beginning", "--max-messages", "3").stdout
    assert got.splitlines() == ["a", "b", "c"]
    assert "No partition reassignments found." in sluice(
        "reassign-partitions", "--bootstrap-server", bs, "--list").stdout


def test_preferred_leader_election_after_broker_restart(cluster):
    bs = cluster.bootstrap
    create_topic(bs, "elect", 1, 3)
    fields = partition_fields(describe_lines(cluster, "elect")[1])
    preferred = int(fields["Replicas"].split(",")[0])
    wait_for(lambda: partition_fields(describe_lines(cluster, "elect")[1])["Leader"] == str(preferred),
             30, "preferred leader")
    cluster.term(f"b{preferred}")
    wait_for(lambda: partition_fields(describe_lines(cluster, "elect")[1])["Leader"] not in
             ("none", str(preferred)), 60, "leader moved away")
    cluster.restart(f"b{preferred}")
    wait_for(lambda: str(preferred) in partition_fields(describe_lines(cluster, "elect")[1])["Isr"]
             .split(","), 60, "restarted broker back in the ISR")
    out = sluice("leader-election", "--bootstrap-server", bs, "--election-type", "preferred",
                 "--topic", "elect", "--partition", "0").stdout
    assert out.strip() in ("Successfully completed leader election (PREFERRED) for partitions elect-0",
                           "Valid replica already elected for partitions elect-0")
    wait_for(lambda: partition_fields(describe_lines(cluster, "elect")[1])["Leader"] == str(preferred),
             30, "leadership back on the preferred replica")
    everything = sluice("leader-election", "--bootstrap-server", bs, "--election-type", "preferred",
                        "--all-topic-partitions").stdout
    assert "elect-0" in everything


# ---------------- metadata quorum, cluster id ----------------

def test_metadata_quorum_and_cluster_id(cluster):
    bs = cluster.bootstrap
    status = sluice("metadata-quorum", "--bootstrap-server", bs, "describe", "--status").stdout
    fields = dict(re.findall(r"^(\w+):\s+(.*)$", status, re.M))
    assert int(fields["LeaderId"]) in (101, 102, 103)
    assert int(fields["HighWatermark"]) > 0
    assert fields["CurrentVoters"].count('"id": 10') == 3
    cid = sluice("cluster-id", "--bootstrap-server", bs).stdout.strip()
    assert cid == f"Cluster ID: {fields['ClusterId']}"
    table = sluice("metadata-quorum", "--bootstrap-server", bs, "describe", "--replication").stdout
    rows = [r.rstrip("\t").split("\t") for r in table.splitlines()]
    assert [c.strip() for c in rows[0]] == ["NodeId", "LogEndOffset", "Lag", "LastFetchTimestamp",
                                             "LastCaughtUpTimestamp", "Status"]
    statuses = sorted(r[5].strip() for r in rows[1:])
    assert statuses.count("Leader") == 1 and statuses.count("Follower") == 2
    proc = sluice("metadata-quorum", "--bootstrap-server", bs, "describe", expect_rc=1)
    assert "One of --status or --replication must be specified" in proc.stderr
