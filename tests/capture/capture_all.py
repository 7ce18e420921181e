#!/usr/bin/env python3
"""capture_all.py — rerun every real-client capture into OUT_DIR (default: a temporary
directory; copy the chosen files into tests/unit/vectors/ by hand).

Usage: capture_all.py [OUT_DIR]

For each client it starts capture_broker.py on a free 127.0.0.1 port (one broker per
client, so the first frame of each API/version per client is kept), runs the client
against it with a deadline, then stops the broker (SIGTERM to its pid):

  kcat (librdkafka 2.0.2):
    echo k1:hello | kcat -b HOST:PORT -P -t captest -K: -p 0
    kcat -b HOST:PORT -C -t captest -p 0 -o 0 -e
    kcat -b HOST:PORT -G capgroup captest            (stopped with SIGINT after 8 s)
  confluent (confluent-kafka-python 1.7.0):
    Producer.produce("captest", key=b"k1", value=b"hello", partition=0) + flush
    Consumer(group.id=capgroup).subscribe(["captest"]) + poll until partition EOF
  kafkapython (kafka-python 2.0.2):
    KafkaProducer.send("captest", key=b"k1", value=b"hello", partition=0) + flush
    KafkaConsumer("captest", group_id="capgroup") iterated for 5 s
"""
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
TOPIC, GROUP = "captest", "capgroup"


def start_broker(out_dir, prefix):
    proc = subprocess.Popen([PY, os.path.join(HERE, "capture_broker.py"), "--out", out_dir,
                             "--prefix", prefix, "--topic", TOPIC],
                            stdout=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
        if ready:
            line = proc.stdout.readline()
            if line.startswith("PORT="):
                return proc, "127.0.0.1:" + line.strip()[5:]
    proc.kill()
    raise SystemExit("capture_broker.py did not start")


def stop_broker(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run(cmd, log, stdin=None, timeout=20, interrupt_after=None):
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=log, stderr=log)
    if stdin is not None:
        proc.stdin.write(stdin)
    proc.stdin.close()
    try:
        proc.wait(interrupt_after or timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    proc.send_signal(signal.SIGINT)  # kcat leaves the group on SIGINT
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def capture_kcat(bootstrap, log):
    run(["kcat", "-b", bootstrap, "-P", "-t", TOPIC, "-K:", "-p", "0"], log, b"k1:hello\n")
    run(["kcat", "-b", bootstrap, "-C", "-t", TOPIC, "-p", "0", "-o", "0", "-e"], log)
    run(["kcat", "-b", bootstrap, "-G", GROUP, TOPIC], log, interrupt_after=8)


def capture_confluent(bootstrap, log):
    from confluent_kafka import Consumer, KafkaError, Producer
    p = Producer({"bootstrap.servers": bootstrap})
    p.produce(TOPIC, key=b"k1", value=b"hello", partition=0)
    p.flush(10)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP,
                  "auto.offset.reset": "earliest", "enable.partition.eof": True})
    c.subscribe([TOPIC])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        msg = c.poll(0.5)
        if msg is not None and msg.error() and msg.error().code() == KafkaError._PARTITION_EOF:
            break
    c.close()


def capture_kafkapython(bootstrap, log):
    from kafka import KafkaConsumer, KafkaProducer
    p = KafkaProducer(bootstrap_servers=bootstrap)
    p.send(TOPIC, key=b"k1", value=b"hello", partition=0).get(timeout=10)
    p.close(5)
    c = KafkaConsumer(TOPIC, group_id=GROUP, bootstrap_servers=bootstrap,
                      auto_offset_reset="earliest", consumer_timeout_ms=5000)
    for _ in c:
        pass
    c.close()


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="capture-")
    os.makedirs(out_dir, exist_ok=True)
    clients = [("kcat", capture_kcat), ("confluent", capture_confluent),
               ("kafkapython", capture_kafkapython)]
    with open(os.path.join(out_dir, "clients.log"), "w") as log:
        for prefix, fn in clients:
            proc, bootstrap = start_broker(out_dir, prefix)
            try:
                fn(bootstrap, log)
            finally:
                stop_broker(proc)
    print(out_dir)


if __name__ == "__main__":
    main()
