"""The checker has teeth: synthetic histories, one per violation, each must be caught, and
a clean history (with the legitimate oddities a faulty run produces) must pass."""
import json
import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402

RUN = "r1"


def val(inst, seq):
    return checker.value_of(RUN, inst, seq)


def clean_history():
    """Two producers over two partitions, all acknowledged and drained in order, a
    group that read everything and committed as it went, one rebalance."""
    h = checker.History()
    h.seed = 7
    h.run = RUN
    h.partitions = 2
    h.produce_start, h.produce_stop = 100.0, 104.0
    h.group_caught_up = True
    offsets = {0: 0, 1: 0}
    t = 100.0
    for seq in range(10):
        for inst in ("p1.0", "p2.0"):
            p = seq % 2
            h.announce(inst, seq)
            v = val(inst, seq)
            h.acks.append((p, offsets[p], v, t))
            h.drain.append((p, offsets[p], v))
            offsets[p] += 1
            t += 0.2
    for p, end in offsets.items():
        h.drain_ends[p] = (0, end)
        h.final_committed[p] = end
    h.assigns.append(("c1", "assign", [0, 1], 100.0))
    for p, off, v in h.drain:
        h.reads.append(("c1", p, off, v, 101.0))
    h.commits.append(("c1", 0, 5, 102.0, 102.1, None))
    h.commits.append(("c1", 1, 5, 102.0, 102.1, None))
    h.assigns.append(("c1", "revoke", [0, 1], 103.0))
    h.assigns.append(("c2", "assign", [0, 1], 103.5))
    h.commits.append(("c2", 0, offsets[0], 104.0, 104.1, None))
    h.commits.append(("c2", 1, offsets[1], 104.0, 104.1, None))
    return h


def counts(h):
    rep = checker.check(h)
    return {k: v for k, v in rep.counts.items() if v}, rep


def test_clean_history_passes():
    found, rep = counts(clean_history())
    assert found == {}, rep.lines()
    assert rep.acked == 20
    assert rep.summary() == ("acked=20 lost=0 duplicated=0 reordered=0 phantom=0 "
                             "unavailable_s=0.0 seed=7")


def test_legitimate_oddities_pass():
    """A failed delivery that was written anyway (read once, by the group too), re-reads
    by the group after a rebalance, and a refused commit are all fine."""
    h = clean_history()
    h.announce("p1.0", 10)
    extra = val("p1.0", 10)
    h.failed.append((extra, "Local: Message timed out", 109.0))
    h.drain.append((0, 10, extra))
    h.drain_ends[0] = (0, 11)
    h.reads.append(("c2", 0, 10, extra, 109.5))
    p, off, v = next(d for d in h.drain if d[0] == 0 and d[1] == 6)
    h.reads.append(("c2", p, off, v, 104.0))  # c1 read it too, but committed only 5
    h.commits.append(("c1", 0, 1, 103.2, 103.3, "REBALANCE_IN_PROGRESS"))
    h.commits.append(("c2", 1, -1001, 104.5, 104.6, None))  # nothing new to commit
    h.final_committed[0] = 11
    found, rep = counts(h)
    assert found == {}, rep.lines()


def test_lost_acknowledged_value():
    h = clean_history()
    victim = h.drain.pop(7)
    found, rep = counts(h)
    assert found.get("lost") == 1, rep.lines()
    assert repr(victim[2]) in "\n".join(rep.lines())
    assert not rep.ok


def test_duplicated_value():
    h = clean_history()
    p, off, v = h.drain[3]
    h.drain.append((p, 99, v))
    found, rep = counts(h)
    assert found.get("duplicated") == 1, rep.lines()


def test_reordered_within_producer_and_partition():
    h = clean_history()
    # swap the values at two offsets of partition 0 that belong to the same producer
    idx = [i for i, d in enumerate(h.drain) if d[0] == 0 and d[2].split(":")[1] == "p1.0"]
    a, b = idx[0], idx[2]
    (pa, oa, va), (pb, ob, vb) = h.drain[a], h.drain[b]
    h.drain[a], h.drain[b] = (pa, oa, vb), (pb, ob, va)
    found, rep = counts(h)
    assert found.get("reordered", 0) >= 1, rep.lines()


def test_interleaving_of_two_producers_is_not_reordering():
    h = clean_history()
    found, _ = counts(h)
    assert "reordered" not in found


def test_phantom_in_drain_and_in_group_reads():
    h = clean_history()
    h.drain.append((1, 50, val("p9.0", 0)))           # unknown producer instance
    h.drain.append((1, 51, val("p1.0", 999)))         # sequence never announced
    h.drain.append((1, 52, "hex:00ff"))               # bytes the workload never sends
    h.drain.append((1, 53, val("p1.0", 1).replace(RUN, "r0", 1)))  # another run's value
    h.drain.append((1, 54, val("p1.0", 2)[:-1] + "y"))  # a sent value with a changed byte
    h.drain.append((1, 55, val("p1.0", 3)[:-5]))        # … and a truncated one
    h.drain.append((1, 56, val("p1.0", 4).replace(":k4:", ":k5:")))  # … with another key
    h.reads.append(("c2", 1, 60, val("p2.0", 500), 105.0))
    found, rep = counts(h)
    assert found.get("phantom") == 8, rep.lines()


def test_offset_holding_two_values():
    h = clean_history()
    p, off, v = h.drain[4]
    h.reads.append(("c2", p, off, val("p2.0", 3) if v != val("p2.0", 3) else val("p1.0", 3),
                    105.0))
    found, rep = counts(h)
    assert found.get("offset_conflicts") == 1, rep.lines()


def test_ack_offset_differs_from_drain_offset():
    h = clean_history()
    p, off, v, t = h.acks[2]
    h.acks[2] = (p, off + 100, v, t)
    h.drain.append((p, off + 100, val("p1.0", 0)))
    found, rep = counts(h)
    assert found.get("offset_conflicts", 0) >= 1, rep.lines()


def test_committed_offset_going_backwards_after_reassignment():
    """c2 was assigned after c1's commit of 5 was acknowledged, yet committed 2: it
    started below a durable commit (the coordinator lost it)."""
    h = clean_history()
    h.commits.append(("c2", 0, 2, 103.8, 103.9, None))
    found, rep = counts(h)
    assert found.get("commit_regressions") == 1, rep.lines()


def test_committed_offset_going_backwards_within_one_assignment():
    h = clean_history()
    h.commits.append(("c1", 1, 3, 102.5, 102.6, None))
    found, rep = counts(h)
    assert found.get("commit_regressions") == 1, rep.lines()


def test_stale_commit_racing_a_rebalance_is_not_a_regression():
    """c1's commit of 8 was still in flight when c2 was assigned (and fetched 5); c2's
    later commit of 6 is lower, but c2 could not have known: Kafka allows this."""
    h = clean_history()
    h.commits.append(("c1", 0, 8, 103.0, 103.7, None))
    h.commits.append(("c2", 0, 6, 103.8, 103.85, None))
    found, rep = counts(h)
    assert "commit_regressions" not in found, rep.lines()


def test_final_committed_offset_below_an_acknowledged_commit():
    h = clean_history()
    h.final_committed[1] = 2
    found, rep = counts(h)
    assert found.get("commit_regressions") == 1, rep.lines()


def test_group_skipped_records():
    h = clean_history()
    skipped = [r for r in h.reads if r[1] == 1][2]
    h.reads.remove(skipped)
    found, rep = counts(h)
    assert found.get("group_missed") == 1, rep.lines()


def test_unavailable_seconds_is_the_union_of_ack_gaps():
    h = checker.History()
    h.run = RUN
    h.produce_stop = 20.0
    # p0 acks every 0.1 s except a gap 5..8; p1 acks every 0.1 s except a gap 7..10
    for p, (g0, g1) in enumerate([(5.0, 8.0), (7.0, 10.0)]):
        t = 0.0
        while t <= 20.0:
            if not (g0 < t < g1):
                h.acks.append((p, int(t * 10), val("p1.0", int(t * 10)), t))
            t = round(t + 0.1, 1)
    assert checker.unavailable_seconds(h) == pytest.approx(5.0, abs=0.25)


def test_value_encoding_round_trip():
    assert checker.encode_value(b"r1:p1.0:3:k3:xx") == "r1:p1.0:3:k3:xx"
    assert checker.parse_value(val("p1.0", 3), RUN) == ("p1.0", 3)
    assert checker.parse_value(val("p1.0", 3) + "x", RUN) is None
    assert checker.parse_value(val("p1.0", 3).replace(":3:", ":+3:"), RUN) is None
    assert checker.encode_value(b"a\tb") == "hex:" + b"a\tb".hex()
    assert checker.encode_value(b"\xff") == "hex:ff"
    assert checker.encode_value(None) == "hex:"
    assert checker.parse_value("r1:p1.0:3:k3:xx", "r1") is None  # not the workload's padding
    assert checker.parse_value("hex:ff", "r1") is None


def test_acknowledged_value_moved_to_another_offset():
    """The value is in the drain, but not where it was acknowledged: its offset is empty."""
    h = clean_history()
    i = next(i for i, d in enumerate(h.drain) if d[0] == 1 and d[1] == 2)
    p, off, v = h.drain.pop(i)
    h.drain.append((0, 10, v))
    h.drain_ends[0] = (0, 11)
    found, rep = counts(h)
    assert found.get("lost") == 1, rep.lines()
    assert found.get("drain_gaps") == 1, rep.lines()  # the hole at (1, 2)


def test_value_read_by_the_group_missing_from_the_drain():
    """A failed delivery that was written, read by the group (so committed), then lost."""
    h = clean_history()
    h.announce("p1.0", 10)
    extra = val("p1.0", 10)
    h.failed.append((extra, "Local: Message timed out", 103.0))
    h.reads.append(("c2", 0, 10, extra, 103.9))
    found, rep = counts(h)
    assert found.get("lost") == 1, rep.lines()


def test_drain_above_the_high_watermark_or_with_holes():
    h = clean_history()
    h.drain_ends[0] = (0, 8)       # two drained records sit at or past the high watermark
    h.drain_ends[1] = (0, 12)      # two offsets below it were never delivered
    found, rep = counts(h)
    assert found.get("drain_gaps") == 4, rep.lines()


def test_reads_below_a_commit_acknowledged_before_the_assignment():
    """c2 was assigned after c1's commit of 5 was acknowledged, yet read offset 3: the
    coordinator handed out an older offset."""
    h = clean_history()
    p, off, v = next(d for d in h.drain if d[0] == 0 and d[1] == 3)
    h.reads.append(("c2", p, off, v, 104.0))
    found, rep = counts(h)
    assert found.get("commit_regressions") == 1, rep.lines()


def test_final_committed_offset_checked_even_when_the_group_lagged():
    h = clean_history()
    h.group_caught_up = False
    h.final_committed[0] = 2
    found, rep = counts(h)
    assert found.get("commit_regressions") == 1, rep.lines()


def test_a_partition_never_acknowledged_is_unavailable_throughout():
    h = clean_history()
    h.partitions = 3
    assert checker.unavailable_seconds(h) == pytest.approx(104.0 - 100.0, abs=0.01)


def with_copy(h, epoch_first, epoch_again):
    """p1.0's value 4 (partition 0, offset 2) written again at offset 10 of partition 0 by
    the same producer id under the given epochs (batches as dump-log reports them)."""
    p, off, v = next(d for d in h.drain if d[0] == 0 and d[2] == val("p1.0", 4))
    h.drain.append((0, 10, v))
    h.drain_ends[0] = (0, 11)
    h.batches[0] = [(o, o, 7, epoch_first) for o in range(10)] + [(10, 10, 7, epoch_again)]
    return h


def test_copy_resent_under_a_new_producer_epoch_is_not_a_duplicate():
    found, rep = counts(with_copy(clean_history(), 0, 1))
    assert found == {}, rep.lines()
    assert rep.info["resent_after_epoch_bump"] == 1


def test_copy_under_the_same_producer_epoch_is_a_duplicate():
    found, rep = counts(with_copy(clean_history(), 1, 1))
    assert found.get("duplicated") == 1 and found.get("reordered") == 1, rep.lines()
    assert rep.info["resent_after_epoch_bump"] == 0


def write_dir(h, path):
    with open(os.path.join(path, "meta.json"), "w") as f:
        json.dump({"seed": h.seed, "run": h.run, "partitions": h.partitions,
                   "produce_start": h.produce_start,
                   "produce_stop": h.produce_stop, "group_caught_up": h.group_caught_up}, f)
    with open(os.path.join(path, "producer-1.log"), "w") as f:
        for inst, seq in h.sent.items():
            f.write(f"S\t{inst}\t{seq}\t100.0\n")
        for p, off, v, t in h.acks:
            f.write(f"A\t{p}\t{off}\t{v}\t{t}\n")
        for v, err, t in h.failed:
            f.write(f"F\t{v}\t{err}\t{t}\n")
    with open(os.path.join(path, "consumer-1.log"), "w") as f:
        for member, kind, parts, t in h.assigns:
            f.write(f"G\t{member}\t{kind}\t{','.join(map(str, parts))}\t{t}\n")
        for member, p, off, v, t in h.reads:
            f.write(f"R\t{member}\t{p}\t{off}\t{v}\t{t}\n")
        for member, p, off, ts, ta, err in h.commits:
            f.write(f"C\t{member}\t{p}\t{off}\t{ts}\t{ta}\t{err or '-'}\n")
    with open(os.path.join(path, "drain.log"), "w") as f:
        for p, off, v in h.drain:
            f.write(f"D\t{p}\t{off}\t{v}\n")
        for p, (lo, hi) in h.drain_ends.items():
            f.write(f"E\t{p}\t{lo}\t{hi}\n")
        for p, off in h.final_committed.items():
            f.write(f"K\t{p}\t{off}\n")
    with open(os.path.join(path, "batches.log"), "w") as f:
        for p, bs in h.batches.items():
            for b in bs:
                f.write("\t".join(map(str, ("B", p) + b)) + "\n")


def run_cli(path):
    here = os.path.dirname(os.path.abspath(__file__))
    return subprocess.run([sys.executable, os.path.join(here, "checker.py"), str(path)],
                          capture_output=True, text=True, timeout=60)


def test_command_line_on_a_clean_run(tmp_path):
    write_dir(clean_history(), tmp_path)
    r = run_cli(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines()[0] == ("acked=20 lost=0 duplicated=0 reordered=0 phantom=0 "
                                        "unavailable_s=0.0 seed=7")


def test_command_line_reads_batches(tmp_path):
    write_dir(with_copy(clean_history(), 0, 1), tmp_path)
    r = run_cli(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "resent_after_epoch_bump=1" in r.stdout


def test_command_line_exits_non_zero_with_evidence(tmp_path):
    h = clean_history()
    lost = h.drain.pop(0)
    h.drain.append((1, 77, h.drain[0][2]))
    write_dir(h, tmp_path)
    r = run_cli(tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    first = r.stdout.splitlines()[0]
    assert "lost=1 duplicated=1" in first and first.endswith("seed=7")
    assert f"lost: {lost[2]!r}" in r.stdout
    assert "duplicated:" in r.stdout
