"""0001 — the sluice CLI and its perf tools against librdkafka's in-process mock cluster.

Starts nothing of ours: `sluice perf-selftest` hosts a mock cluster inside the sluice
process and runs producer-perf-test then consumer-perf-test against it; producer-only
cases use the hidden `--mock-cluster N` option. Checks record counts, that every output
line parses in Kafka's formats, percentile ordering, throttling, the error paths and exit
codes. Run with SLUICE_BIN pointing at the binary (default build/bin/sluice).
"""
import os
import re
import socket
import subprocess
import time
from datetime import datetime

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SLUICE = os.environ.get("SLUICE_BIN", os.path.join(ROOT, "build", "bin", "sluice"))
RUN_TIMEOUT_S = 60

FLOAT = r"(-?\d+(?:\.\d+)?)"
WINDOW_RE = re.compile(
    rf"^(\d+) records sent, {FLOAT} records/sec \({FLOAT} MB/sec\), {FLOAT} ms avg latency, "
    rf"{FLOAT} ms max latency\.$")
TOTAL_RE = re.compile(
    rf"^(\d+) records sent, {FLOAT} records/sec \({FLOAT} MB/sec\), {FLOAT} ms avg latency, "
    rf"{FLOAT} ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99\.9th\.$")
CONSUMER_HEADER = ("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, "
                   "nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
DETAILED_HEADER = ("time, threadId, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, "
                   "nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec")
DATE_FORMAT = "%Y-%m-%d %H:%M:%S:%f"
MB = 1024.0 * 1024.0
SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sluice(*args, expect_rc=0):
    """Run sluice; assert its exit code and that no sanitizer report appeared."""
    proc = subprocess.run([SLUICE, *args], capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_S)
    report = f"rc={proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    for mark in SANITIZER_MARKS:
        assert mark not in proc.stderr, report
    if expect_rc is not None:
        assert proc.returncode == expect_rc, report
    return proc


def parse_total(line):
    m = TOTAL_RE.match(line)
    assert m, f"not a final producer line: {line!r}"
    g = m.groups()
    total = dict(count=int(g[0]), rate=float(g[1]), mb_rate=float(g[2]), avg=float(g[3]),
                 max=float(g[4]), p50=int(g[5]), p95=int(g[6]), p99=int(g[7]), p999=int(g[8]))
    assert total["p50"] <= total["p95"] <= total["p99"] <= total["p999"] <= total["max"], line
    assert total["avg"] <= total["max"], line
    return total


def producer_lines(stdout):
    """(window lines, final line) of producer-perf-test output; every line must parse."""
    windows, totals = [], []
    for line in stdout.splitlines():
        if TOTAL_RE.match(line):
            totals.append(parse_total(line))
        elif WINDOW_RE.match(line):
            windows.append([float(x) for x in WINDOW_RE.match(line).groups()])
    assert len(totals) == 1, stdout
    return windows, totals[0]


def parse_consumer_line(line, detailed=False):
    fields = [f.strip() for f in line.split(",")]
    assert len(fields) == 10, line
    if detailed:
        datetime.strptime(fields[0], DATE_FORMAT)
        assert fields[1] == "0"
        start = end = None
    else:
        start = datetime.strptime(fields[0], DATE_FORMAT)
        end = datetime.strptime(fields[1], DATE_FORMAT)
        assert start <= end, line
    row = dict(start=start, end=end, mb=float(fields[2]), mb_rate=float(fields[3]),
               count=int(fields[4]), rate=float(fields[5]), rebalance_ms=int(fields[6]),
               fetch_ms=int(fields[7]), fetch_mb_rate=float(fields[8]),
               fetch_rate=float(fields[9]))
    assert row["rebalance_ms"] >= 0 and row["fetch_ms"] >= 0, line
    return row


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- the command line

def test_help_lists_commands_and_unknown_command_fails():
    listing = sluice("help").stdout
    for name in ("producer-perf-test", "consumer-perf-test"):
        assert name in listing
    assert "perf-selftest" not in listing  # hidden
    bad = sluice("no-such-command", expect_rc=1)
    assert "Unknown command: no-such-command" in bad.stderr
    assert "producer-perf-test" in bad.stderr
    assert sluice(expect_rc=1).stderr.startswith("Usage: sluice <command>")


@pytest.mark.parametrize("command", ["producer-perf-test", "consumer-perf-test"])
def test_help_for_a_command(command):
    via_help = sluice("help", command).stdout
    via_flag = sluice(command, "--help").stdout
    assert via_help == via_flag
    assert via_help.startswith(f"Usage: sluice {command} [options]")
    assert "--bootstrap-server" in via_help and "--topic" in via_help
    assert "--mock-cluster" not in via_help  # hidden


@pytest.mark.parametrize("args, message", [
    (["producer-perf-test", "--topic", "t"], 'Missing required argument "[num-records]"'),
    (["producer-perf-test", "--topic", "t", "--num-records=abc", "--throughput", "-1"],
     "Cannot parse argument 'abc' of option num-records"),
    (["producer-perf-test", "--topic", "t", "--num-records", "5", "--throughput", "-1",
      "--record-size", "0", "--mock-cluster", "1"], "--record-size should be greater than zero"),
    (["producer-perf-test", "--topic", "t", "--num-records", "5", "--throughput", "-1",
      "--record-size", "10", "--payload-monotonic", "--mock-cluster", "1"],
     "Exactly one of --record-size, --payload-file or --payload-monotonic"),
    (["producer-perf-test", "--topic", "t", "--num-records", "5", "--throughput", "-1",
      "--record-size", "10"], "Either --bootstrap-server"),
    (["producer-perf-test", "--topic", "t", "--num-records", "5", "--throughput", "-1",
      "--record-size", "10", "--mock-cluster", "1", "--producer-props", "acks=banana"],
     "Invalid value banana for configuration acks"),
    (["consumer-perf-test", "--bootstrap-server", "127.0.0.1:1", "--messages", "5"],
     "Exactly one of the following arguments is required: [topic], [include]"),
    (["consumer-perf-test", "--topic", "t", "--messages", "5", "--bogus"],
     "bogus is not a recognized option"),
])
def test_bad_arguments_exit_1_with_kafka_style_message(args, message):
    proc = sluice(*args, expect_rc=1)
    assert message in proc.stderr


# ---------------------------------------------------------------- produce and consume

def test_selftest_produces_and_consumes_every_record():
    n, size = 20000, 100
    proc = sluice("perf-selftest", "--brokers", "3", "--partitions", "4", "--",
                  "--topic", "selftest", "--num-records", str(n), "--record-size", str(size),
                  "--throughput", "-1")
    lines = proc.stdout.splitlines()
    _, total = producer_lines("\n".join(lines[:-2]))
    assert total["count"] == n
    assert total["rate"] > 0
    # MB/sec is records/sec times the record size, as Kafka computes it
    assert total["mb_rate"] == pytest.approx(total["rate"] * size / MB, rel=0.01, abs=0.01)
    assert lines[-2] == CONSUMER_HEADER
    row = parse_consumer_line(lines[-1])
    assert row["count"] == n
    assert row["mb"] == pytest.approx(n * size / MB, abs=0.0001)
    assert row["fetch_rate"] > 0


def test_payload_file_transactions_and_detailed_consumer_stats(tmp_path):
    payloads = tmp_path / "payloads.txt"
    payloads.write_text("alpha\nbeta\ngamma\n")
    n = 3000
    proc = sluice("perf-selftest", "--partitions", "2", "--",
                  "--topic", "txn", "--num-records", str(n), "--payload-file", str(payloads),
                  "--throughput", "-1", "--transaction-duration-ms", "50",
                  "--", "--show-detailed-stats", "--reporting-interval", "100")
    out = proc.stdout
    assert f"Reading payloads from: {payloads}" in out
    assert "Number of messages read: 3" in out
    _, total = producer_lines(out)
    assert total["count"] == n
    lines = out.splitlines()
    start = lines.index(DETAILED_HEADER)
    rows = [parse_consumer_line(line, detailed=True) for line in lines[start + 1:]]
    assert rows, out
    assert rows[-1]["count"] <= n
    assert CONSUMER_HEADER not in out  # detailed mode prints no summary line
    # every payload is 4 or 5 bytes, so the MB consumed so far is bounded accordingly
    assert rows[-1]["mb"] <= 5 * rows[-1]["count"] / MB + 0.0001


def test_consumer_from_latest_times_out_with_warning():
    proc = sluice("perf-selftest", "--", "--topic", "latest", "--num-records", "100",
                  "--record-size", "10", "--throughput", "-1",
                  "--", "--from-latest", "--timeout", "1000", "--hide-header", expect_rc=1)
    lines = proc.stdout.splitlines()
    assert CONSUMER_HEADER not in lines
    assert any(line.startswith("WARNING: Exiting before consuming the expected number of "
                               "messages: timeout (1000 ms) exceeded.") for line in lines)
    row = parse_consumer_line(lines[-1])
    assert row["count"] == 0


def test_throughput_is_throttled_and_progress_is_reported():
    n, rate = 3000, 2000
    began = time.monotonic()
    proc = sluice("producer-perf-test", "--mock-cluster", "1", "--topic", "slow",
                  "--num-records", str(n), "--record-size", "10", "--throughput", str(rate),
                  "--reporting-interval", "200")
    elapsed = time.monotonic() - began
    windows, total = producer_lines(proc.stdout)
    assert total["count"] == n
    assert elapsed >= 0.9 * n / rate
    assert total["rate"] <= rate * 1.05
    assert len(windows) >= 3, proc.stdout
    assert sum(int(w[0]) for w in windows) <= n
    for w in windows:
        assert w[1] <= rate * 1.5  # each window's records/sec stays near the target


def test_print_metrics_and_config_file(tmp_path):
    config = tmp_path / "producer.properties"
    config.write_text("# Kafka-style file\nclient.id=from-file\nlinger.ms=2\n"
                      "key.serializer=org.apache.kafka.common.serialization.ByteArraySerializer\n")
    proc = sluice("producer-perf-test", "--mock-cluster", "1", "--topic", "metrics",
                  "--num-records", "500", "--payload-monotonic", "--throughput", "-1",
                  "--producer.config", str(config), "--print-metrics")
    assert "WARN The configuration 'key.serializer' was supplied but isn't a known config." \
        in proc.stderr
    _, total = producer_lines(proc.stdout)
    assert total["count"] == 500
    assert re.search(r"^Metric Name\s+Value$", proc.stdout, re.M)
    m = re.search(r"^rdkafka:txmsgs:\{client-id=from-file\}\s+: (\d+)$", proc.stdout, re.M)
    assert m and int(m.group(1)) == 500, proc.stdout


def test_failed_deliveries_exit_nonzero():
    proc = sluice("producer-perf-test", "--bootstrap-server", f"127.0.0.1:{free_port()}",
                  "--topic", "nowhere", "--num-records", "20", "--record-size", "10",
                  "--throughput", "-1", "--producer-props", "message.timeout.ms=1000",
                  expect_rc=1)
    assert "Error: delivery to nowhere" in proc.stderr
    assert "Message timed out" in proc.stderr
    _, total = producer_lines(proc.stdout)
    assert total["count"] == 0
