"""Free port ranges on 127.0.0.1 for test clusters (integration tests, chaos suite).

A cluster of N nodes per kind uses base+i (Kafka listeners), base+100+i (controllers) and
base+200+i (metrics); the range is picked at random below the ephemeral ports, so
concurrent runs rarely collide, and checked by binding each port once."""
import os
import random
import socket
import time


def ports_free(base, count):
    offsets = [k * 100 + i for k in range(3) for i in range(count)]
    for offset in offsets:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", base + offset))
        except OSError:
            return False
        finally:
            s.close()
    return True


def pick_base_port(count):
    rng = random.Random(os.getpid() ^ time.time_ns())
    for _ in range(200):
        base = rng.randrange(10000, 32000 - 300, 10)  # below the ephemeral range
        if ports_free(base, count):
            return base
    raise RuntimeError("no free port range on 127.0.0.1")
