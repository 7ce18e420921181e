/* sim_check.c — the invariants asserted after every simulated event, and the trace.
 *
 * Safety, checked against a global record that outlives crashes:
 *   two_leaders_in_epoch  at most one node is ever leader of an epoch
 *   committed_changed     every node applies, at each offset, the same entry (epoch,
 *                         kind, payload) as the first node that applied it
 *   committed_gap / apply_order  nodes apply contiguous offsets, in order
 *   committed_lost        a newly elected leader holds every entry committed in an
 *                         earlier epoch (Raft's leader completeness; a stale leader of a
 *                         lower epoch need not hold what a later epoch committed)
 *   commit_not_proposed   a committed data entry is the one proposed at that offset in
 *                         that epoch
 *   hw_backwards          a node's high watermark never decreases (per process life)
 *   acked_entry_truncated a follower never truncates below a fetch offset its leader
 *                         validated in the current epoch: the leader may already
 *                         count those durable entries toward the high watermark
 *   snapshot_mismatch     a snapshot installed or restored matches the committed log
 * Liveness, once the faults stop (all nodes up, no partition, no loss):
 *   liveness_no_commit    a proposal made after the heal commits within the bound
 *   liveness_lagging_node every node then applies it within the bound
 * Steady phase (after liveness, when the timings allow; see sim_world.c): connection
 * blips while every node is up:
 *   blip_changed_leader   no node's epoch moves past the epoch the phase started in
 *   steady_no_commit      proposals keep committing */
#include "tests/sim/sim.h"

#include "common/sl_alloc.h"
#include "common/sl_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sim_check_free(sim_world *w) {
    sl_free(w->epoch_leader);
    sl_free(w->committed);
    w->epoch_leader = NULL;
    w->committed = NULL;
}

void sim_fail(sim_world *w, const char *invariant, const char *fmt, ...) {
    if (w->failed) return;
    w->failed = invariant;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->detail, sizeof(w->detail), fmt, ap);
    va_end(ap);
}

static uint64_t entry_hash(const raft_entry *e) {
    return sim_hash(e->kind, e->data, e->size);
}

static uint64_t chain_next(uint64_t chain, int64_t offset, int32_t epoch, uint64_t payload) {
    uint64_t words[4] = { chain, (uint64_t)offset, (uint64_t)epoch, payload };
    return sim_hash(0, words, sizeof(words));
}

/* ------------------------------------------------------------------ apply */

static void check_proposal(sim_world *w, sim_node *n, const raft_entry *e) {
    if (e->kind != RAFT_ENTRY_DATA) return;
    if (e->size != SIM_PAYLOAD_BYTES || sl_load_be64(e->data + 8) != w->seed) {
        sim_fail(w, "commit_not_proposed", "node=%d offset=%lld size=%u", n->id,
                 (long long)e->offset, e->size);
        return;
    }
    int64_t id = (int64_t)sl_load_be64(e->data);
    if (id < 0 || id >= w->proposal_count || w->proposals[id].offset != e->offset ||
        w->proposals[id].epoch != e->epoch) {
        sim_fail(w, "commit_not_proposed", "node=%d offset=%lld epoch=%d proposal=%lld", n->id,
                 (long long)e->offset, e->epoch, (long long)id);
        return;
    }
    if (w->healed && w->live_offset < 0 && w->first_post_heal_proposal >= 0 &&
        id >= w->first_post_heal_proposal) {
        w->live_offset = e->offset;
        w->live_at = w->now;
    }
}

void sim_check_apply(sim_world *w, sim_node *n, const raft_entry *e) {
    if (e->offset != n->app_next) {
        sim_fail(w, "apply_order", "node=%d offset=%lld expected=%lld", n->id, (long long)e->offset,
                 (long long)n->app_next);
        return;
    }
    uint64_t payload = entry_hash(e);
    if (e->offset < w->committed_count) {
        const sim_committed *c = &w->committed[e->offset];
        if (c->epoch != e->epoch || c->kind != e->kind || c->payload_hash != payload) {
            sim_fail(w, "committed_changed", "node=%d offset=%lld epoch=%d committed_epoch=%d",
                     n->id, (long long)e->offset, e->epoch, c->epoch);
            return;
        }
        int32_t epoch = raft_node_epoch(n->raft);
        if (epoch < c->commit_epoch) w->committed[e->offset].commit_epoch = epoch;
    } else if (e->offset == w->committed_count) {
        if (w->committed_count == w->committed_cap) {
            w->committed_cap = w->committed_cap < 1024 ? 1024 : w->committed_cap * 2;
            w->committed =
                sl_realloc(w->committed, (size_t)w->committed_cap * sizeof(*w->committed));
        }
        uint64_t prev = e->offset > 0 ? w->committed[e->offset - 1].chain : 0;
        w->committed[w->committed_count++] =
            (sim_committed){ .epoch = e->epoch,
                             .kind = e->kind,
                             .payload_hash = payload,
                             .chain = chain_next(prev, e->offset, e->epoch, payload),
                             .commit_epoch = raft_node_epoch(n->raft) };
        w->commits++;
    } else {
        sim_fail(w, "committed_gap", "node=%d offset=%lld committed=%lld", n->id,
                 (long long)e->offset, (long long)w->committed_count);
        return;
    }
    n->app_chain = chain_next(n->app_chain, e->offset, e->epoch, payload);
    if (n->app_chain != w->committed[e->offset].chain) {
        sim_fail(w, "committed_changed", "node=%d offset=%lld chain differs", n->id,
                 (long long)e->offset);
        return;
    }
    n->app_next++;
    if (e->kind == RAFT_ENTRY_DATA) n->app_count++;
    check_proposal(w, n, e);
}

void sim_check_snapshot(sim_world *w,
                        sim_node *n,
                        const uint8_t *data,
                        size_t size,
                        raft_snapshot_id id,
                        const char *why) {
    if (size < SIM_SNAP_HEADER_BYTES) {
        sim_fail(w, "snapshot_mismatch", "node=%d %s size=%zu", n->id, why, size);
        return;
    }
    int64_t end = (int64_t)sl_load_be64(data);
    uint64_t chain = sl_load_be64(data + 8);
    if (end != id.end_offset || end < 1 || end > w->committed_count ||
        w->committed[end - 1].chain != chain || w->committed[end - 1].epoch != id.epoch) {
        sim_fail(w, "snapshot_mismatch", "node=%d %s end=%lld id=%lld/%d committed=%lld", n->id,
                 why, (long long)end, (long long)id.end_offset, id.epoch,
                 (long long)w->committed_count);
    }
}

/* ------------------------------------------------------------------ acked entries */

/* A successful answer without divergence or snapshot means the leader validated the
 * fetch offset: the fetcher's log matches the leader's below it. */
void sim_check_fetch_response(sim_world *w, sim_node *n, const raft_msg *msg) {
    (void)w;
    const raft_fetch_response *r = &msg->fetch_resp;
    if (msg->error != 0 || r->diverging_epoch >= 0 || r->snapshot_id.end_offset > 0) return;
    if (msg->epoch != n->acked_epoch) {
        n->acked_epoch = msg->epoch;
        n->acked_floor = 0;
    }
    if (r->fetch_offset > n->acked_floor) n->acked_floor = r->fetch_offset;
}

void sim_check_truncate(sim_world *w, sim_node *n, int64_t offset) {
    if (n->acked_epoch == raft_node_epoch(n->raft) && offset < n->acked_floor) {
        sim_fail(w, "acked_entry_truncated", "node=%d offset=%lld validated=%lld epoch=%d", n->id,
                 (long long)offset, (long long)n->acked_floor, n->acked_epoch);
    }
}

/* ------------------------------------------------------------------ per node */

/* Leader completeness: a leader of epoch e holds (in its log or its snapshot) every
 * entry committed in an epoch below e. */
static void check_new_leader(sim_world *w, sim_node *n) {
    int32_t epoch = raft_node_epoch(n->raft);
    raft_snapshot_id sid = raft_node_snapshot_id(n->raft);
    int64_t start = raft_node_log_start_offset(n->raft);
    int64_t end = raft_node_log_end_offset(n->raft);
    if (sid.end_offset > 0 && sid.end_offset <= w->committed_count &&
        w->committed[sid.end_offset - 1].epoch != sid.epoch) {
        sim_fail(w, "committed_lost", "leader=%d snapshot=%lld/%d", n->id,
                 (long long)sid.end_offset, sid.epoch);
        return;
    }
    for (int64_t offset = start; offset < w->committed_count; offset++) {
        const sim_committed *c = &w->committed[offset];
        if (c->commit_epoch >= epoch) continue;
        raft_entry e;
        if (offset >= end || raft_node_entry(n->raft, offset, &e) != 0 || e.epoch != c->epoch ||
            entry_hash(&e) != c->payload_hash) {
            sim_fail(w, "committed_lost",
                     "leader=%d epoch=%d offset=%lld log_end=%lld committed_in_epoch=%d", n->id,
                     epoch, (long long)offset, (long long)end, c->commit_epoch);
            return;
        }
    }
}

static void note_leader(sim_world *w, sim_node *n, int32_t epoch) {
    if (epoch >= w->epoch_cap) {
        int32_t cap = w->epoch_cap < 64 ? 64 : w->epoch_cap;
        while (cap <= epoch)
            cap *= 2;
        w->epoch_leader = sl_realloc(w->epoch_leader, (size_t)cap * sizeof(int32_t));
        for (int32_t i = w->epoch_cap; i < cap; i++)
            w->epoch_leader[i] = -1;
        w->epoch_cap = cap;
    }
    if (w->epoch_leader[epoch] >= 0 && w->epoch_leader[epoch] != n->id) {
        sim_fail(w, "two_leaders_in_epoch", "epoch=%d first=%d second=%d", epoch,
                 w->epoch_leader[epoch], n->id);
        return;
    }
    w->epoch_leader[epoch] = n->id;
}

void sim_check_node(sim_world *w, sim_node *n) {
    if (w->failed || !n->raft) return;
    int64_t hw = raft_node_high_watermark(n->raft);
    if (hw < n->last_hw) {
        sim_fail(w, "hw_backwards", "node=%d hw=%lld was=%lld", n->id, (long long)hw,
                 (long long)n->last_hw);
        return;
    }
    if (hw > n->last_hw) sim_trace(w, SIM_TR_HW, n->id, -1, 0, hw, n->last_hw, 0);
    n->last_hw = hw;
    raft_role role = raft_node_role(n->raft);
    int32_t epoch = raft_node_epoch(n->raft);
    if (epoch > w->max_epoch) w->max_epoch = epoch;
    if (w->steady && epoch > w->steady_epoch) {
        sim_fail(w, "blip_changed_leader", "node=%d epoch=%d steady_epoch=%d blips=%lld", n->id,
                 epoch, w->steady_epoch, (long long)w->blips);
        return;
    }
    if (role != n->last_role || epoch != n->last_epoch) {
        sim_trace(w, SIM_TR_ROLE, n->id, raft_node_leader_id(n->raft), role, epoch,
                  raft_node_log_end_offset(n->raft), hw);
        if (role == RAFT_ROLE_LEADER) {
            w->elections++;
            note_leader(w, n, epoch);
            if (!w->failed) check_new_leader(w, n);
        }
    }
    n->last_role = role;
    n->last_epoch = epoch;
}

void sim_check_liveness(sim_world *w) {
    if (!w->healed) return;
    if (w->live_offset < 0) {
        if (w->now > w->heal_at + w->p.liveness_ms) {
            sim_fail(w, "liveness_no_commit", "healed_at=%lld bound_ms=%lld", (long long)w->heal_at,
                     (long long)w->p.liveness_ms);
        }
        return;
    }
    for (int32_t i = 0; i < w->node_count; i++) {
        const sim_node *n = &w->nodes[i];
        if (n->up && n->app_next > w->live_offset) continue;
        /* a node far behind may have to fetch everything it lacks, entry by entry */
        int64_t behind = w->live_offset + 1 - n->app_next;
        if (w->now > w->live_at + w->p.liveness_ms + behind * w->p.entry_cost_us / 1000) {
            sim_fail(w, "liveness_lagging_node", "node=%d applied=%lld live_offset=%lld", n->id,
                     (long long)n->app_next, (long long)w->live_offset);
        }
        return;
    }
    w->done = true;
}

/* ------------------------------------------------------------------ trace */

void sim_trace(
    sim_world *w, int kind, int node, int peer, int sub, int64_t a, int64_t b, int64_t c) {
    sim_trace_rec *r = &w->trace[w->trace_count % SIM_TRACE_MAX];
    *r = (sim_trace_rec){ .at = w->now,
                          .kind = (int16_t)kind,
                          .node = (int16_t)node,
                          .peer = (int16_t)peer,
                          .sub = (int16_t)sub,
                          .a = a,
                          .b = b,
                          .c = c };
    w->trace_count++;
}

static void trace_print(const sim_trace_rec *r) {
    printf("  t=%-7lld ", (long long)r->at);
    const char *mt = raft_msg_type_name((raft_msg_type)r->sub);
    long long a = (long long)r->a, b = (long long)r->b, c = (long long)r->c;
    switch (r->kind) {
    case SIM_TR_SEND:
        if (r->sub == RAFT_MSG_FETCH_REQUEST) {
            printf("send    %d->%d %-10s epoch=%lld offset=%lld last_epoch=%lld\n", r->node,
                   r->peer, mt, a, b, c);
        } else if (r->sub == RAFT_MSG_FETCH_RESPONSE && b < 0) {
            printf("send    %d->%d %-10s epoch=%lld error=%lld\n", r->node, r->peer, mt, a, -1 - b);
        } else if (r->sub == RAFT_MSG_FETCH_RESPONSE) {
            printf("send    %d->%d %-10s epoch=%lld entries=%lld %s=%lld\n", r->node, r->peer, mt,
                   a, b,
                   c < 0       ? "snapshot"
                   : c >= 1000 ? "diverging(end*1000+epoch)"
                               : "hw",
                   c < 0 ? -c : c);
        } else if (r->sub == RAFT_MSG_VOTE_RESPONSE) {
            printf("send    %d->%d %-10s epoch=%lld granted=%lld pre_vote=%lld\n", r->node, r->peer,
                   mt, a, b, c);
        } else {
            printf("send    %d->%d %-10s epoch=%lld error=%lld req=%lld\n", r->node, r->peer, mt, a,
                   b, c);
        }
        break;
    case SIM_TR_DELIVER:
        printf("deliver %d->%d %-10s epoch=%lld leader=%lld error=%lld\n", r->node, r->peer, mt, a,
               b, c);
        break;
    case SIM_TR_DROP:
        printf("drop    %d->%d %-10s epoch=%lld %s\n", r->node, r->peer, mt, a,
               b ? "(partition/down)" : "(loss)");
        break;
    case SIM_TR_ROLE:
        printf("role    node=%d %s epoch=%lld leader=%d log_end=%lld hw=%lld\n", r->node,
               raft_role_name((raft_role)r->sub), a, r->peer, b, c);
        break;
    case SIM_TR_PROPOSE:
        printf("propose node=%d offset=%lld epoch=%lld id=%lld\n", r->node, a, b, c);
        break;
    case SIM_TR_HW:
        printf("hw      node=%d hw=%lld (was %lld)\n", r->node, a, b);
        break;
    case SIM_TR_CRASH:
        printf("CRASH   node=%d kept_ops=%lld/%lld kept_states=%lld\n", r->node, a, b, c);
        break;
    case SIM_TR_RESTART:
        printf("start   node=%d role=%s epoch=%lld log=[%lld,%lld)\n", r->node,
               raft_role_name((raft_role)r->sub), a, c, b);
        break;
    case SIM_TR_PARTITION:
        printf("network %s lonely=%lld\n",
               r->sub == 9   ? "heal"
               : r->sub == 0 ? "split"
               : r->sub == 1 ? "isolate"
                             : "one-way",
               a);
        break;
    case SIM_TR_HEAL:
        printf("HEAL    faults stop\n");
        break;
    case SIM_TR_FSYNC:
        printf("fsync   node=%d durable_end=%lld epoch=%lld\n", r->node, a, b);
        break;
    case SIM_TR_STATE:
        printf("state   node=%d durable epoch=%lld voted=%lld leader=%lld\n", r->node, a, b, c);
        break;
    case SIM_TR_SNAPSHOT:
        printf("snap    node=%d end=%lld epoch=%lld bytes=%lld\n", r->node, a, b, c);
        break;
    case SIM_TR_INSTALL:
        printf("install node=%d end=%lld epoch=%lld bytes=%lld\n", r->node, a, b, c);
        break;
    case SIM_TR_TRUNCATE:
        printf("trunc   node=%d offset=%lld\n", r->node, a);
        break;
    case SIM_TR_RESIGN:
        printf("resign  node=%d epoch=%lld\n", r->node, a);
        break;
    case SIM_TR_DISK:
        printf("disk    node=%d %s span=%lld\n", r->node, r->sub ? "stall" : "slow", a);
        break;
    case SIM_TR_CONN:
        printf("conn    node=%d peer=%d %s epoch=%lld\n", r->node, r->peer, r->sub ? "up" : "DOWN",
               a);
        break;
    default:
        printf("?\n");
        break;
    }
}

void sim_trace_dump(const sim_world *w, int last) {
    int64_t count = w->trace_count < SIM_TRACE_MAX ? w->trace_count : SIM_TRACE_MAX;
    if (last < count) count = last;
    printf("last %lld events (of %lld traced):\n", (long long)count, (long long)w->trace_count);
    for (int64_t i = w->trace_count - count; i < w->trace_count; i++) {
        trace_print(&w->trace[i % SIM_TRACE_MAX]);
    }
}
