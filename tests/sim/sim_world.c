/* sim_world.c — the simulated world: event queue, network, faults and workload.
 *
 * A seed fixes everything: the quorum shape (3 or 5 voters, 0-2 observers), the
 * timeouts (from 50 ms to Kafka's 1000/2000 ms, in unusual ratios too), network and
 * disk latencies, fault rates, and the order of every event. A run has two phases:
 * chaos (crashes, restarts, symmetric and one-way partitions, drops, duplicates, long
 * delays, slow and stalled disks, graceful resignations, snapshots, connection resets),
 * then quiet (all nodes up, no faults) in which a leader must be elected and a new
 * proposal must commit and reach every node within a bound. When the timings allow, a
 * steady phase follows: connection blips one at a time, and the leader must stay.
 * Crashes and restarts tell the peers' drivers that their connections dropped or came
 * back (raft_node_peer_unreachable / _reachable), as TCP would. */
#include "tests/sim/sim.h"

#include "common/sl_alloc.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"

#include <stdio.h>
#include <string.h>

#define SIM_EVENTS_MAX 3000000 /* a run that needs more is stuck: fail it */

/* ------------------------------------------------------------------ event heap */

static bool ev_before(const sim_event *a, const sim_event *b) {
    return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

void sim_schedule(
    sim_world *w, int64_t at, sim_event_type type, int32_t node, int64_t arg, raft_msg *msg) {
    if (w->heap_count == w->heap_cap) {
        w->heap_cap = w->heap_cap < 256 ? 256 : w->heap_cap * 2;
        w->heap = sl_realloc(w->heap, (size_t)w->heap_cap * sizeof(*w->heap));
    }
    sim_event ev = {
        .at = at, .seq = w->ev_seq++, .type = type, .node = node, .arg = arg, .msg = msg
    };
    if (node >= 0) ev.incarnation = w->nodes[node].incarnation;
    int64_t i = w->heap_count++;
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (!ev_before(&ev, &w->heap[parent])) break;
        w->heap[i] = w->heap[parent];
        i = parent;
    }
    w->heap[i] = ev;
}

static sim_event heap_pop(sim_world *w) {
    sim_event top = w->heap[0];
    sim_event last = w->heap[--w->heap_count];
    int64_t i = 0;
    for (;;) {
        int64_t child = 2 * i + 1;
        if (child >= w->heap_count) break;
        if (child + 1 < w->heap_count && ev_before(&w->heap[child + 1], &w->heap[child])) child++;
        if (!ev_before(&w->heap[child], &last)) break;
        w->heap[i] = w->heap[child];
        i = child;
    }
    if (w->heap_count > 0) w->heap[i] = last;
    return top;
}

/* ------------------------------------------------------------------ network */

int32_t sim_node_index(const sim_world *w, int32_t id) {
    for (int32_t i = 0; i < w->node_count; i++) {
        if (w->nodes[i].id == id) return i;
    }
    return -1;
}

raft_msg *sim_msg_clone(const raft_msg *msg) {
    size_t extra = 0;
    if (msg->type == RAFT_MSG_FETCH_RESPONSE) {
        extra += (size_t)msg->fetch_resp.entry_count * sizeof(raft_entry);
        for (int32_t i = 0; i < msg->fetch_resp.entry_count; i++) {
            extra += msg->fetch_resp.entries[i].size;
        }
    } else if (msg->type == RAFT_MSG_FETCH_SNAPSHOT_RESPONSE) {
        extra += msg->snap_resp.data_size;
    }
    raft_msg *copy = sl_malloc(sizeof(raft_msg) + extra);
    *copy = *msg;
    uint8_t *p = (uint8_t *)(copy + 1);
    if (msg->type == RAFT_MSG_FETCH_RESPONSE && msg->fetch_resp.entry_count > 0) {
        raft_entry *entries = (raft_entry *)p;
        p += (size_t)msg->fetch_resp.entry_count * sizeof(raft_entry);
        for (int32_t i = 0; i < msg->fetch_resp.entry_count; i++) {
            entries[i] = msg->fetch_resp.entries[i];
            if (entries[i].size > 0) {
                memcpy(p, entries[i].data, entries[i].size);
                entries[i].data = p;
                p += entries[i].size;
            }
        }
        copy->fetch_resp.entries = entries;
    } else if (msg->type == RAFT_MSG_FETCH_SNAPSHOT_RESPONSE && msg->snap_resp.data_size > 0) {
        memcpy(p, msg->snap_resp.data, msg->snap_resp.data_size);
        copy->snap_resp.data = p;
    }
    return copy;
}

static int64_t net_latency(sim_world *w) {
    int64_t lat = sl_rand_range(&w->rng, w->p.lat_min_ms, w->p.lat_max_ms);
    if (!w->healed && sl_rand_chance(&w->rng, (uint32_t)w->p.delay_pct, 1000)) {
        lat += sl_rand_range(&w->rng, 0, 2 * w->p.election_ms); /* a long stall */
    }
    return lat;
}

/* Trace fields: a = epoch; for fetches b/c say what was asked and answered. */
static void sim_trace_send(sim_world *w, const raft_msg *msg) {
    int64_t b = msg->error, c = msg->req_id;
    if (msg->type == RAFT_MSG_FETCH_REQUEST) {
        b = msg->fetch.fetch_offset;
        c = msg->fetch.last_fetched_epoch;
    } else if (msg->type == RAFT_MSG_FETCH_RESPONSE && msg->error != 0) {
        b = -1 - msg->error;
    } else if (msg->type == RAFT_MSG_FETCH_RESPONSE) {
        const raft_fetch_response *r = &msg->fetch_resp;
        b = r->entry_count;
        c = r->diverging_epoch >= 0         ? r->diverging_end_offset * 1000 + r->diverging_epoch
            : r->snapshot_id.end_offset > 0 ? -r->snapshot_id.end_offset
                                            : r->high_watermark;
    } else if (msg->type == RAFT_MSG_VOTE_RESPONSE) {
        b = msg->vote_resp.granted;
        c = msg->vote_resp.pre_vote;
    }
    sim_trace(w, SIM_TR_SEND, msg->from, msg->to, msg->type, msg->epoch, b, c);
}

void sim_send(sim_world *w, const raft_msg *msg) {
    int32_t from = sim_node_index(w, msg->from);
    int32_t to = sim_node_index(w, msg->to);
    w->messages++;
    if (to < 0 || from < 0) {
        sim_fail(w, "message_to_unknown_node", "from=%d to=%d", msg->from, msg->to);
        return;
    }
    sim_trace_send(w, msg);
    if (sl_rand_chance(&w->rng, (uint32_t)w->drop_pm, 1000)) {
        sim_trace(w, SIM_TR_DROP, msg->from, msg->to, msg->type, msg->epoch, 0, 0);
        return;
    }
    sim_schedule(w, w->now + net_latency(w), SIM_EV_DELIVER, to, 0, sim_msg_clone(msg));
    if (sl_rand_chance(&w->rng, (uint32_t)w->dup_pm, 1000)) {
        sim_schedule(w, w->now + net_latency(w), SIM_EV_DELIVER, to, 1, sim_msg_clone(msg));
    }
}

static void deliver(sim_world *w, const sim_event *ev) {
    sim_node *n = &w->nodes[ev->node];
    int32_t from = sim_node_index(w, ev->msg->from);
    if (!n->up || w->blocked[from][ev->node]) {
        sim_trace(w, SIM_TR_DROP, ev->msg->from, n->id, ev->msg->type, ev->msg->epoch, 1, 0);
        return;
    }
    sim_trace(w, SIM_TR_DELIVER, ev->msg->from, n->id, ev->msg->type, ev->msg->epoch,
              ev->msg->leader_id, ev->msg->error);
    if (ev->msg->type == RAFT_MSG_FETCH_RESPONSE) sim_check_fetch_response(w, n, ev->msg);
    int rc = raft_node_step(n->raft, sim_node_local_time(n, w->now), ev->msg);
    if (rc != SL_OK) {
        sim_fail(w, "step_rejected", "node=%d rc=%s", n->id, sl_strerror(rc));
        return;
    }
    sim_node_after_input(w, n);
}

/* ------------------------------------------------------------------ connections
 * A driver learns that its TCP connection to a peer dropped (the peer crashed, or a
 * reset while it lives) or came back. The event carries the peer id and the direction;
 * it reaches only the incarnation that was up when it was scheduled. */

static void conn_notify(sim_world *w, int32_t node, int32_t peer_id, bool up, int64_t at) {
    sim_schedule(w, at, SIM_EV_CONN, node, (int64_t)peer_id * 2 + (up ? 1 : 0), NULL);
}

static void conn_deliver(sim_world *w, const sim_event *ev) {
    sim_node *n = &w->nodes[ev->node];
    int32_t peer_id = (int32_t)(ev->arg / 2);
    bool up = (ev->arg & 1) != 0;
    int32_t peer = sim_node_index(w, peer_id);
    if (up && (peer < 0 || !w->nodes[peer].up)) return; /* it died again meanwhile */
    w->conn_events++;
    sim_trace(w, SIM_TR_CONN, n->id, peer_id, up, raft_node_epoch(n->raft), 0, 0);
    int64_t local = sim_node_local_time(n, w->now);
    if (up) {
        raft_node_peer_reachable(n->raft, local, peer_id);
    } else {
        raft_node_peer_unreachable(n->raft, local, peer_id);
    }
    sim_node_after_input(w, n);
}

/* The peers of a crashed node read EOF one network latency later. */
static void conn_crashed(sim_world *w, int32_t i) {
    for (int32_t j = 0; j < w->node_count; j++) {
        if (j == i || !w->nodes[j].up) continue;
        conn_notify(w, j, w->nodes[i].id, false, w->now + net_latency(w));
    }
}

/* A restarted node connects out, and its peers' reconnect attempts succeed. */
static void conn_restarted(sim_world *w, int32_t i) {
    for (int32_t j = 0; j < w->node_count; j++) {
        if (j == i || !w->nodes[j].up) continue;
        conn_notify(w, j, w->nodes[i].id, true, w->now + net_latency(w));
        conn_notify(w, i, w->nodes[j].id, true, w->now + net_latency(w));
    }
}

/* A reset on one connection between two live nodes: one or both ends see it drop, and
 * it comes back after a reconnect delay of up to an election timeout. */
static void conn_blip(sim_world *w, int32_t a, int32_t b) {
    int64_t back = w->now + sl_rand_range(&w->rng, 1, w->p.election_ms);
    bool both = sl_rand_chance(&w->rng, 1, 2);
    conn_notify(w, a, w->nodes[b].id, false, w->now);
    conn_notify(w, a, w->nodes[b].id, true, back);
    if (both) {
        conn_notify(w, b, w->nodes[a].id, false, w->now + net_latency(w));
        conn_notify(w, b, w->nodes[a].id, true, back);
    }
    w->blips++;
}

/* ------------------------------------------------------------------ faults */

static int32_t pick_node(sim_world *w, bool up, bool leader_only) {
    int32_t candidates[SIM_NODES_MAX];
    int32_t count = 0;
    for (int32_t i = 0; i < w->node_count; i++) {
        const sim_node *n = &w->nodes[i];
        if (n->up != up) continue;
        if (leader_only && (!n->up || raft_node_role(n->raft) != RAFT_ROLE_LEADER)) continue;
        candidates[count++] = i;
    }
    if (count == 0) return -1;
    return candidates[sl_rand_below(&w->rng, (uint64_t)count)];
}

static void crash_node(sim_world *w, int32_t i, int64_t restart_max_ms) {
    sim_node_crash(w, &w->nodes[i]);
    conn_crashed(w, i);
    if (sl_rand_chance(&w->rng, 4, 5)) {
        int64_t later = sl_rand_range(&w->rng, 1, restart_max_ms);
        sim_schedule(w, w->now + later, SIM_EV_RESTART, i, w->nodes[i].incarnation, NULL);
    }
}

/* kind 0: any node; 1: the leader; 2: a power loss taking down several nodes at once
 * (what loses data acknowledged before it was durable); 3: crash and restart at once. */
static void fault_crash(sim_world *w, int kind) {
    int64_t restart_max = 10 * (int64_t)w->p.election_ms;
    if (kind == 2) {
        int32_t victims = (int32_t)sl_rand_range(&w->rng, 2, w->node_count);
        for (int32_t v = 0; v < victims; v++) {
            int32_t i = pick_node(w, true, false);
            if (i >= 0) crash_node(w, i, 3 * (int64_t)w->p.election_ms);
        }
        return;
    }
    int32_t i = pick_node(w, true, kind == 1);
    if (i < 0 && kind == 1) i = pick_node(w, true, false);
    if (i < 0) return;
    crash_node(w, i, kind == 3 ? w->p.lat_max_ms + 1 : restart_max);
}

static void restart(sim_world *w, int32_t i) {
    sim_node *n = &w->nodes[i];
    if (n->up) return;
    sim_node_start(w, n);
    if (n->up) conn_restarted(w, i);
}

static void fault_partition(sim_world *w, int kind) {
    memset(w->blocked, 0, sizeof(w->blocked));
    int32_t side[SIM_NODES_MAX];
    int32_t lonely = (int32_t)sl_rand_below(&w->rng, (uint64_t)w->node_count);
    for (int32_t i = 0; i < w->node_count; i++) {
        side[i] = kind == 0 ? (int32_t)sl_rand_below(&w->rng, 2) : i == lonely;
    }
    for (int32_t a = 0; a < w->node_count; a++) {
        for (int32_t b = 0; b < w->node_count; b++) {
            if (a == b) continue;
            if (kind == 2) {
                w->blocked[a][b] = sl_rand_chance(&w->rng, 1, 4); /* one-way links */
            } else {
                w->blocked[a][b] = side[a] != side[b];
            }
        }
    }
    sim_trace(w, SIM_TR_PARTITION, -1, -1, kind, lonely, 0, 0);
}

static void fault_disk(sim_world *w, bool stall) {
    int32_t i = pick_node(w, true, false);
    if (i < 0) return;
    sim_node *n = &w->nodes[i];
    int64_t span = sl_rand_range(&w->rng, w->p.election_ms, 5 * (int64_t)w->p.fetch_timeout_ms);
    if (stall) {
        n->disk_stall_until =
            w->now + sl_rand_range(&w->rng, 1, 2 * (int64_t)w->p.fetch_timeout_ms);
    } else {
        n->disk_slow_until = w->now + span;
    }
    sim_trace(w, SIM_TR_DISK, n->id, -1, stall, span, 0, 0);
}

static void fault_resign(sim_world *w) {
    int32_t i = pick_node(w, true, true);
    if (i < 0) return;
    sim_node *n = &w->nodes[i];
    if (raft_node_resign(n->raft, sim_node_local_time(n, w->now)) == SL_OK) {
        sim_trace(w, SIM_TR_RESIGN, n->id, -1, 0, raft_node_epoch(n->raft), 0, 0);
        sim_node_after_input(w, n);
    }
}

static void fault_conn_reset(sim_world *w) {
    int32_t a = pick_node(w, true, false);
    int32_t b = pick_node(w, true, sl_rand_chance(&w->rng, 1, 2)); /* often the leader */
    if (a < 0 || b < 0 || a == b) return;
    conn_blip(w, a, b);
}

static void fault_fire(sim_world *w) {
    if (w->healed) return;
    switch (sl_rand_below(&w->rng, 15)) {
    case 13:
    case 14:
        fault_conn_reset(w);
        break;
    case 0:
    case 1:
        fault_crash(w, (int)sl_rand_below(&w->rng, 4));
        break;
    case 11:
        fault_crash(w, 1);
        break;
    case 12:
        fault_crash(w, 2);
        break;
    case 2: {
        int32_t i = pick_node(w, false, false);
        if (i >= 0) restart(w, i);
        break;
    }
    case 3:
    case 4:
    case 5:
        fault_partition(w, (int)sl_rand_below(&w->rng, 3));
        break;
    case 6:
        memset(w->blocked, 0, sizeof(w->blocked));
        sim_trace(w, SIM_TR_PARTITION, -1, -1, 9, 0, 0, 0);
        break;
    case 7:
    case 8:
        fault_disk(w, sl_rand_chance(&w->rng, 1, 3));
        break;
    case 9:
        w->drop_pm =
            sl_rand_chance(&w->rng, 1, 2) ? 0 : (int32_t)sl_rand_range(&w->rng, 0, w->p.drop_pct);
        w->dup_pm = (int32_t)sl_rand_range(&w->rng, 0, w->p.dup_pct);
        break;
    default:
        fault_resign(w);
        break;
    }
    int64_t gap = sl_rand_range(&w->rng, w->p.fault_gap_ms / 2, 3 * (int64_t)w->p.fault_gap_ms / 2);
    if (w->now + gap < w->p.chaos_ms) sim_schedule(w, w->now + gap, SIM_EV_FAULT, -1, 0, NULL);
}

static void heal(sim_world *w) {
    w->healed = true;
    w->heal_at = w->now;
    w->first_post_heal_proposal = w->proposal_count;
    memset(w->blocked, 0, sizeof(w->blocked));
    w->drop_pm = 0;
    w->dup_pm = 0;
    for (int32_t i = 0; i < w->node_count; i++) {
        w->nodes[i].disk_slow_until = 0;
        w->nodes[i].disk_stall_until = 0;
        restart(w, i);
    }
    sim_trace(w, SIM_TR_HEAL, -1, -1, 0, 0, 0, 0);
}

/* ------------------------------------------------------------------ steady phase
 * Once the quorum is live again, reset one connection at a time (a follower's to its
 * leader, or the leader's to a follower) while every node stays up. Pre-vote must keep
 * the leader: no node's epoch may change (checked in sim_check_node), and proposals
 * must keep committing. Blips are spaced so that each one is over (reconnected, fetched
 * again) before the next: two followers that lose the leader at once may rightly elect
 * another. Runs only when the timings leave no room for spurious elections. */
#define SIM_STEADY_ELECTIONS 40 /* length of the phase, in election timeouts */

static void steady_start(sim_world *w) {
    w->steady = true;
    w->done = false;
    w->steady_until = w->now + SIM_STEADY_ELECTIONS * (int64_t)w->p.election_ms;
    w->steady_epoch = 0;
    for (int32_t i = 0; i < w->node_count; i++) {
        int32_t epoch = raft_node_epoch(w->nodes[i].raft);
        if (epoch > w->steady_epoch) w->steady_epoch = epoch;
    }
    w->steady_commits = w->commits;
    sim_schedule(w, w->now + w->p.fetch_timeout_ms, SIM_EV_BLIP, -1, 0, NULL);
}

static void steady_blip(sim_world *w) {
    int32_t leader = pick_node(w, true, true);
    int32_t other = pick_node(w, true, false);
    if (leader >= 0 && other >= 0 && other != leader) {
        if (sl_rand_chance(&w->rng, 3, 4)) {
            conn_blip(w, other, leader);
        } else {
            conn_blip(w, leader, other);
        }
    }
    int64_t gap = w->p.election_ms +
                  sl_rand_range(&w->rng, 2LL * w->p.fetch_timeout_ms, 4LL * w->p.fetch_timeout_ms);
    sim_schedule(w, w->now + gap, SIM_EV_BLIP, -1, 0, NULL);
}

static void steady_end(sim_world *w) {
    if (w->commits <= w->steady_commits) {
        sim_fail(w, "steady_no_commit", "commits=%lld blips=%lld", (long long)w->commits,
                 (long long)w->blips);
    }
    w->done = true;
}

/* ------------------------------------------------------------------ workload */

static void propose(sim_world *w) {
    int32_t i = pick_node(w, true, true);
    if (i >= 0) {
        sim_node *n = &w->nodes[i];
        uint8_t payload[SIM_PAYLOAD_BYTES];
        sl_store_be64(payload, (uint64_t)w->proposal_count);
        sl_store_be64(payload + 8, w->seed);
        int64_t offset;
        int32_t epoch;
        int rc = raft_node_propose(n->raft, sim_node_local_time(n, w->now), payload,
                                   sizeof(payload), &offset, &epoch);
        if (rc == SL_OK) {
            if (w->proposal_count == w->proposal_cap) {
                w->proposal_cap = w->proposal_cap < 256 ? 256 : w->proposal_cap * 2;
                w->proposals =
                    sl_realloc(w->proposals, (size_t)w->proposal_cap * sizeof(*w->proposals));
            }
            w->proposals[w->proposal_count++] = (sim_proposal){ offset, epoch, w->now };
            sim_trace(w, SIM_TR_PROPOSE, n->id, -1, 0, offset, epoch, w->proposal_count - 1);
            sim_node_after_input(w, n);
        } else if (rc != SL_AGAIN) {
            sim_fail(w, "propose_rejected", "node=%d rc=%s", n->id, sl_strerror(rc));
        }
    }
    sim_schedule(w, w->now + sl_rand_range(&w->rng, 1, w->p.propose_max_ms), SIM_EV_PROPOSE, -1, 0,
                 NULL);
}

static void snapshot_fire(sim_world *w) {
    int32_t i = pick_node(w, true, false);
    if (i >= 0) sim_node_take_snapshot(w, &w->nodes[i]);
    int64_t gap =
        sl_rand_range(&w->rng, 3 * (int64_t)w->p.election_ms, 15 * (int64_t)w->p.election_ms);
    sim_schedule(w, w->now + gap, SIM_EV_SNAPSHOT, -1, 0, NULL);
}

/* ------------------------------------------------------------------ setup, loop */

static int32_t pick_ms(sim_world *w, int32_t base, int32_t lo_pct, int32_t hi_pct) {
    int64_t v = base * sl_rand_range(&w->rng, lo_pct, hi_pct) / 100;
    return v < 1 ? 1 : (int32_t)v;
}

static void params_pick(sim_world *w) {
    sim_params *p = &w->p;
    p->voters = sl_rand_chance(&w->rng, 1, 2) ? 3 : 5;
    p->observers = (int32_t)sl_rand_below(&w->rng, 3);
    static const int32_t elections[] = { 50, 80, 100, 150, 200, 300, 1000 };
    p->election_ms = elections[sl_rand_below(&w->rng, sizeof(elections) / sizeof(elections[0]))];
    p->fetch_timeout_ms = pick_ms(w, p->election_ms, 120, 300);
    p->max_wait_ms = (int32_t)sl_rand_range(&w->rng, 1, p->fetch_timeout_ms / 2);
    p->request_ms = pick_ms(w, p->election_ms, 10, 150);
    p->backoff_ms = (int32_t)sl_rand_range(&w->rng, 1, 20);
    p->fetch_max_bytes = (int32_t)sl_rand_range(&w->rng, 16, 2048);
    p->chunk_bytes = (int32_t)sl_rand_range(&w->rng, 16, 256);
    p->drop_pct = (int32_t)sl_rand_range(&w->rng, 0, 150);
    p->dup_pct = (int32_t)sl_rand_range(&w->rng, 0, 60);
    p->delay_pct = (int32_t)sl_rand_range(&w->rng, 0, 40);
    p->lat_min_ms = (int32_t)sl_rand_range(&w->rng, 1, 3); /* no zero-time round trips */
    p->lat_max_ms =
        p->lat_min_ms + 1 + (int32_t)sl_rand_below(&w->rng, (uint64_t)p->election_ms / 8 + 1);
    p->disk_min_ms = (int32_t)sl_rand_range(&w->rng, 0, 2);
    p->disk_max_ms = p->disk_min_ms + (int32_t)sl_rand_range(&w->rng, 0, 10);
    if (sl_rand_chance(&w->rng, 1, 3)) p->disk_max_ms += p->election_ms / 4; /* slow disks */
    p->chaos_ms = (int64_t)p->election_ms * sl_rand_range(&w->rng, 30, 80);
    p->fault_gap_ms = pick_ms(w, p->election_ms, 50, 300);
    p->propose_max_ms = pick_ms(w, p->election_ms, 5, 40);
    p->uncommitted_max = (int32_t)sl_rand_range(&w->rng, 8, 200);
    /* a fetch cycle (long poll, round trip, fsyncs) well inside the fetch timeout */
    int64_t cycle = p->max_wait_ms + 2LL * p->lat_max_ms + 2LL * p->disk_max_ms + 5;
    p->steady_ok = 3 * cycle < p->fetch_timeout_ms;
    /* Catching up is one fetch round trip plus one fsync per response, and a response
     * may hold a single entry: a new leader cannot commit before a majority has fetched
     * everything up to its LeaderChange entry. The bound allows for that. */
    int64_t per_fetch_ms = p->disk_max_ms + 2LL * p->lat_max_ms + 1;
    int64_t entries_per_fetch = p->fetch_max_bytes / SIM_PAYLOAD_BYTES;
    if (entries_per_fetch < 1) entries_per_fetch = 1;
    p->entry_cost_us = per_fetch_ms * 1000 / entries_per_fetch;
    p->liveness_ms = 30LL * p->election_ms + 6LL * p->fetch_timeout_ms + 6LL * p->request_ms +
                     20LL * p->lat_max_ms + 2LL * p->max_wait_ms +
                     (p->uncommitted_max + 8) * p->entry_cost_us / 1000;
}

void sim_world_init(sim_world *w, uint64_t seed, uint32_t failpoints) {
    memset(w, 0, sizeof(*w));
    w->seed = seed;
    w->failpoints = failpoints;
    sl_rand_seed(&w->rng, seed);
    params_pick(w);
    w->node_count = w->p.voters + w->p.observers;
    w->drop_pm = (int32_t)sl_rand_range(&w->rng, 0, w->p.drop_pct);
    w->dup_pm = (int32_t)sl_rand_range(&w->rng, 0, w->p.dup_pct);
    w->first_post_heal_proposal = -1;
    w->live_offset = -1;
    for (int32_t i = 0; i < w->node_count; i++) {
        sim_node *n = &w->nodes[i];
        n->id = i < w->p.voters ? i + 1 : 100 + i;
        n->voter = i < w->p.voters;
        n->clock_ppm = sl_rand_range(&w->rng, 970000, 1030000); /* ±3% drift */
        n->clock_offset_ms = sl_rand_range(&w->rng, 0, 1000000);
        n->state_durable = (raft_quorum_state){ 0, RAFT_NODE_NONE, RAFT_NODE_NONE };
        sim_log_init(&n->written);
        sim_log_init(&n->durable);
    }
}

void sim_world_free(sim_world *w) {
    for (int32_t i = 0; i < w->node_count; i++)
        sim_node_free(&w->nodes[i]);
    for (int64_t i = 0; i < w->heap_count; i++)
        sl_free(w->heap[i].msg);
    sl_free(w->heap);
    sl_free(w->proposals);
    sim_check_free(w);
}

static void dispatch(sim_world *w, const sim_event *ev) {
    sim_node *n = ev->node >= 0 ? &w->nodes[ev->node] : NULL;
    bool current = n && n->up && ev->incarnation == n->incarnation;
    switch (ev->type) {
    case SIM_EV_DELIVER:
        deliver(w, ev);
        break;
    case SIM_EV_TICK:
        if (!current || ev->arg != n->tick_seq) break;
        n->tick_at = 0;
        raft_node_tick(n->raft, sim_node_local_time(n, w->now));
        sim_node_after_input(w, n);
        break;
    case SIM_EV_FSYNC:
        if (current) sim_node_fsync_done(w, n, ev->arg);
        break;
    case SIM_EV_STATE:
        if (current) sim_node_state_done(w, n, ev->arg);
        break;
    case SIM_EV_RESTART:
        if (!n->up && (uint32_t)ev->arg == n->incarnation) restart(w, ev->node);
        break;
    case SIM_EV_PROPOSE:
        propose(w);
        break;
    case SIM_EV_FAULT:
        fault_fire(w);
        break;
    case SIM_EV_SNAPSHOT:
        snapshot_fire(w);
        break;
    case SIM_EV_HEAL:
        heal(w);
        break;
    case SIM_EV_CONN:
        if (current) conn_deliver(w, ev);
        break;
    case SIM_EV_BLIP:
        if (w->steady) steady_blip(w);
        break;
    }
}

bool sim_world_run(sim_world *w) {
    for (int32_t i = 0; i < w->node_count && !w->failed; i++)
        sim_node_start(w, &w->nodes[i]);
    sim_schedule(w, 1, SIM_EV_PROPOSE, -1, 0, NULL);
    sim_schedule(w, w->p.fault_gap_ms, SIM_EV_FAULT, -1, 0, NULL);
    sim_schedule(w, 2LL * w->p.election_ms, SIM_EV_SNAPSHOT, -1, 0, NULL);
    sim_schedule(w, w->p.chaos_ms, SIM_EV_HEAL, -1, 0, NULL);
    while (!w->failed && !w->done && w->heap_count > 0) {
        sim_event ev = heap_pop(w);
        w->now = ev.at;
        w->events++;
        dispatch(w, &ev);
        sl_free(ev.msg);
        if (!w->failed && !w->steady) sim_check_liveness(w);
        if (!w->failed && w->done && !w->steady && w->p.steady_ok) steady_start(w);
        if (!w->failed && w->steady && w->now >= w->steady_until) steady_end(w);
        if (w->events > SIM_EVENTS_MAX) {
            sim_fail(w, "event_budget_exceeded", "events=%lld", (long long)w->events);
        }
    }
    return w->failed == NULL;
}
