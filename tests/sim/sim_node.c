/* sim_node.c — a simulated raft driver: the disk model and the handling of a ready.
 *
 * Storage is two sim_log copies. `written` has every log op applied as soon as a ready
 * hands it out; `durable` only what a completed fsync covered. An fsync captures the
 * op sequence number when it starts and, after the disk latency, applies the ops up to
 * it to `durable` and reports raft_node_log_durable with the end offset and last epoch
 * of that state. The quorum state works the same way with its own write queue, and the
 * messages of a ready are held until the state write they follow is durable (raft.h's
 * contract). A crash keeps `durable` plus a random prefix of the writes in flight, as a
 * real disk may. Application snapshots are written synchronously (the application
 * fsyncs a snapshot before telling the core), into both copies. */
#include "tests/sim/sim.h"

#include "common/sl_alloc.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"

#include <stdio.h>
#include <string.h>

uint64_t sim_hash(uint64_t h, const void *data, size_t size) {
    const uint8_t *p = data;
    h ^= 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 29;
    h *= 0xbf58476d1ce4e5b9ull;
    return h ^ (h >> 32);
}

/* ------------------------------------------------------------------ sim_log */

void sim_log_init(sim_log *log) {
    memset(log, 0, sizeof(*log));
}

static void log_cut(sim_log *log, int64_t keep) {
    for (int64_t i = keep; i < log->count; i++)
        sl_free(log->entries[i].data);
    log->count = keep;
}

void sim_log_free(sim_log *log) {
    log_cut(log, 0);
    sl_free(log->entries);
    sl_free(log->snap);
    memset(log, 0, sizeof(*log));
}

int64_t sim_log_end(const sim_log *log) {
    return log->start + log->count;
}

int32_t sim_log_epoch_at(const sim_log *log, int64_t offset) {
    if (offset == log->start - 1) return log->start_epoch;
    if (offset < log->start || offset >= sim_log_end(log)) return -1;
    return log->entries[offset - log->start].epoch;
}

static void
log_push(sim_log *log, int32_t epoch, uint8_t kind, const uint8_t *data, uint32_t size) {
    if (log->count == log->cap) {
        log->cap = log->cap < 64 ? 64 : log->cap * 2;
        log->entries = sl_realloc(log->entries, (size_t)log->cap * sizeof(*log->entries));
    }
    sim_disk_entry *e = &log->entries[log->count++];
    e->epoch = epoch;
    e->kind = kind;
    e->size = size;
    e->data = NULL;
    if (size > 0) {
        e->data = sl_malloc(size);
        memcpy(e->data, data, size);
    }
}

void sim_log_copy(sim_log *dst, const sim_log *src) {
    sim_log_free(dst);
    dst->start = src->start;
    dst->start_epoch = src->start_epoch;
    for (int64_t i = 0; i < src->count; i++) {
        const sim_disk_entry *e = &src->entries[i];
        log_push(dst, e->epoch, e->kind, e->data, e->size);
    }
    dst->snap_id = src->snap_id;
    if (src->snap_size > 0) {
        dst->snap = sl_malloc(src->snap_size);
        memcpy(dst->snap, src->snap, src->snap_size);
    }
    dst->snap_size = src->snap_size;
}

/* A snapshot store keeps the newest snapshot only. */
void sim_log_store_snapshot(sim_log *log, raft_snapshot_id id, const uint8_t *data, size_t size) {
    if (id.end_offset <= log->snap_id.end_offset) return;
    sl_free(log->snap);
    log->snap = NULL;
    if (size > 0) {
        log->snap = sl_malloc(size);
        memcpy(log->snap, data, size);
    }
    log->snap_size = size;
    log->snap_id = id;
}

static void log_discard_prefix(sim_log *log, int64_t offset) {
    if (offset <= log->start || offset > sim_log_end(log)) return;
    int64_t drop = offset - log->start;
    log->start_epoch = sim_log_epoch_at(log, offset - 1);
    for (int64_t i = 0; i < drop; i++)
        sl_free(log->entries[i].data);
    memmove(log->entries, log->entries + drop, (size_t)(log->count - drop) * sizeof(*log->entries));
    log->count -= drop;
    log->start = offset;
}

void sim_log_apply(sim_log *log, const raft_log_op *op) {
    switch (op->type) {
    case RAFT_LOG_OP_TRUNCATE:
        if (op->offset >= log->start && op->offset <= sim_log_end(log)) {
            log_cut(log, op->offset - log->start);
        }
        break;
    case RAFT_LOG_OP_APPEND:
        for (int64_t i = 0; i < op->entry_count; i++) {
            const raft_entry *e = &op->entries[i];
            if (e->offset != sim_log_end(log)) continue; /* cannot happen: ops are in order */
            log_push(log, e->epoch, e->kind, e->data, e->size);
        }
        break;
    case RAFT_LOG_OP_INSTALL_SNAPSHOT:
        sim_log_store_snapshot(log, op->snapshot_id, op->data, op->size);
        log_cut(log, 0);
        log->start = op->snapshot_id.end_offset;
        log->start_epoch = op->snapshot_id.epoch;
        break;
    case RAFT_LOG_OP_DISCARD_PREFIX:
        log_discard_prefix(log, op->offset);
        break;
    }
}

/* ------------------------------------------------------------------ pending ops */

static void op_clone(raft_log_op *dst, const raft_log_op *src) {
    *dst = *src;
    if (src->type == RAFT_LOG_OP_APPEND && src->entry_count > 0) {
        raft_entry *entries = sl_malloc((size_t)src->entry_count * sizeof(raft_entry));
        for (int64_t i = 0; i < src->entry_count; i++) {
            entries[i] = src->entries[i];
            uint8_t *data = NULL;
            if (entries[i].size > 0) {
                data = sl_malloc(entries[i].size);
                memcpy(data, src->entries[i].data, entries[i].size);
            }
            entries[i].data = data;
        }
        dst->entries = entries;
    }
    if (src->type == RAFT_LOG_OP_INSTALL_SNAPSHOT && src->size > 0) {
        uint8_t *data = sl_malloc(src->size);
        memcpy(data, src->data, src->size);
        dst->data = data;
    }
}

static void op_free(raft_log_op *op) {
    if (op->type == RAFT_LOG_OP_APPEND) {
        for (int64_t i = 0; i < op->entry_count; i++)
            sl_free((void *)op->entries[i].data);
        sl_free((void *)op->entries);
    }
    if (op->type == RAFT_LOG_OP_INSTALL_SNAPSHOT) sl_free((void *)op->data);
}

static void node_drop_pending(sim_node *n) {
    for (int32_t i = 0; i < n->op_count; i++)
        op_free(&n->ops[i].op);
    n->op_count = 0;
    for (int32_t i = 0; i < n->held_count; i++)
        sl_free(n->held[i].msg);
    n->held_count = 0;
    for (int32_t i = 0; i < n->held_op_count; i++)
        op_free(&n->held_ops[i].op);
    n->held_op_count = 0;
    n->state_count = 0;
}

void sim_node_free(sim_node *n) {
    raft_node_free(n->raft);
    n->raft = NULL;
    node_drop_pending(n);
    sl_free(n->ops);
    sl_free(n->states);
    sl_free(n->held);
    sl_free(n->held_ops);
    sim_log_free(&n->written);
    sim_log_free(&n->durable);
}

/* ------------------------------------------------------------------ time, disk */

int64_t sim_node_local_time(const sim_node *n, int64_t now) {
    return n->clock_offset_ms + now * n->clock_ppm / 1000000;
}

static int64_t sim_time_of_local(const sim_node *n, int64_t local) {
    int64_t d = local - n->clock_offset_ms;
    if (d <= 0) return 0;
    return (d * 1000000 + n->clock_ppm - 1) / n->clock_ppm;
}

static int64_t disk_latency(sim_world *w, sim_node *n) {
    int64_t lat = sl_rand_range(&w->rng, w->p.disk_min_ms, w->p.disk_max_ms);
    if (w->now < n->disk_slow_until) lat += sl_rand_range(&w->rng, 20, 4 * w->p.election_ms);
    if (w->now < n->disk_stall_until) lat += n->disk_stall_until - w->now;
    return lat;
}

static void schedule_tick(sim_world *w, sim_node *n, int64_t local_next) {
    int64_t at = sim_time_of_local(n, local_next);
    if (at <= w->now) at = w->now + 1;
    if (n->tick_at != 0 && n->tick_at <= at) return; /* an earlier tick will reschedule */
    n->tick_at = at;
    n->tick_seq++;
    sim_schedule(w, at, SIM_EV_TICK, sim_node_index(w, n->id), n->tick_seq, NULL);
}

static void fsync_start(sim_world *w, sim_node *n) {
    n->fsync_busy = true;
    sim_schedule(w, w->now + disk_latency(w, n), SIM_EV_FSYNC, sim_node_index(w, n->id), n->op_seq,
                 NULL);
}

/* ------------------------------------------------------------------ application */

static void app_load_snapshot(sim_world *w,
                              sim_node *n,
                              const uint8_t *data,
                              size_t size,
                              raft_snapshot_id id,
                              const char *why) {
    sim_check_snapshot(w, n, data, size, id, why);
    if (size >= SIM_SNAP_HEADER_BYTES) {
        n->app_next = (int64_t)sl_load_be64(data);
        n->app_chain = sl_load_be64(data + 8);
        n->app_count = (int64_t)sl_load_be64(data + 16);
    }
}

void sim_node_take_snapshot(sim_world *w, sim_node *n) {
    int64_t end = n->app_next;
    if (!n->up || end <= raft_node_log_start_offset(n->raft)) return;
    size_t size = SIM_SNAP_HEADER_BYTES + (size_t)sl_rand_below(&w->rng, 300);
    uint8_t *data = sl_calloc(1, size);
    sl_store_be64(data, (uint64_t)end);
    sl_store_be64(data + 8, n->app_chain);
    sl_store_be64(data + 16, (uint64_t)n->app_count);
    for (size_t i = SIM_SNAP_HEADER_BYTES; i < size; i++)
        data[i] = (uint8_t)(i * 31 + (size_t)end);
    int rc = raft_node_snapshot_taken(n->raft, sim_node_local_time(n, w->now), end, data, size);
    if (rc != SL_OK) {
        sim_fail(w, "snapshot_rejected", "node=%d end=%lld rc=%s", n->id, (long long)end,
                 sl_strerror(rc));
    } else {
        raft_snapshot_id id = raft_node_snapshot_id(n->raft);
        sim_log_store_snapshot(&n->written, id, data, size);
        sim_log_store_snapshot(&n->durable, id, data, size);
        w->snapshots++;
        sim_trace(w, SIM_TR_SNAPSHOT, n->id, -1, 0, id.end_offset, id.epoch, (int64_t)size);
        sim_node_after_input(w, n);
    }
    sl_free(data);
}

/* ------------------------------------------------------------------ ready */

static void ready_state(sim_world *w, sim_node *n, const raft_ready *rd) {
    if (!rd->state_changed) return;
    if (n->state_count == n->state_cap) {
        n->state_cap = n->state_cap < 8 ? 8 : n->state_cap * 2;
        n->states = sl_realloc(n->states, (size_t)n->state_cap * sizeof(*n->states));
    }
    int64_t seq = ++n->state_seq;
    n->states[n->state_count++] = (sim_state_write){ seq, rd->state };
    int64_t done = w->now + disk_latency(w, n);
    if (done < n->state_done_at) done = n->state_done_at; /* one disk: in order */
    n->state_done_at = done;
    sim_schedule(w, done, SIM_EV_STATE, sim_node_index(w, n->id), seq, NULL);
}

static sim_op *op_array_push(sim_op **arr, int32_t *count, int32_t *cap) {
    if (*count == *cap) {
        *cap = *cap < 16 ? 16 : *cap * 2;
        *arr = sl_realloc(*arr, (size_t)*cap * sizeof(**arr));
    }
    return &(*arr)[(*count)++];
}

/* Write one op (ownership of the copy moves to the pending list). */
static void op_write(sim_world *w, sim_node *n, const raft_log_op *copy) {
    sim_log_apply(&n->written, copy);
    sim_op *pending = op_array_push(&n->ops, &n->op_count, &n->op_cap);
    pending->seq = ++n->op_seq;
    pending->op = *copy;
    if (copy->type == RAFT_LOG_OP_TRUNCATE) {
        sim_trace(w, SIM_TR_TRUNCATE, n->id, -1, 0, copy->offset, 0, 0);
    }
}

static void ready_ops(sim_world *w, sim_node *n, const raft_ready *rd) {
    for (int32_t i = 0; i < rd->log_op_count; i++) {
        const raft_log_op *op = &rd->log_ops[i];
        if (op->type == RAFT_LOG_OP_TRUNCATE) sim_check_truncate(w, n, op->offset);
        if (op->type == RAFT_LOG_OP_INSTALL_SNAPSHOT) {
            /* the application switches at once; the disk follows the driver's order */
            w->installs++;
            sim_trace(w, SIM_TR_INSTALL, n->id, -1, 0, op->snapshot_id.end_offset,
                      op->snapshot_id.epoch, (int64_t)op->size);
            app_load_snapshot(w, n, op->data, op->size, op->snapshot_id, "install");
        }
        raft_log_op copy;
        op_clone(&copy, op);
        if (n->state_count > 0) {
            /* a state write is in flight: log ops wait for it (raft.h, step 1) */
            sim_op *held = op_array_push(&n->held_ops, &n->held_op_count, &n->held_op_cap);
            held->seq = n->state_seq;
            held->op = copy;
        } else {
            op_write(w, n, &copy);
        }
    }
    if (n->op_count > 0 && !n->fsync_busy) fsync_start(w, n);
}

static void ready_msgs(sim_world *w, sim_node *n, const raft_ready *rd) {
    for (int32_t i = 0; i < rd->msg_count; i++) {
        if (n->state_count == 0) {
            sim_send(w, &rd->msgs[i]);
            continue;
        }
        if (n->held_count == n->held_cap) {
            n->held_cap = n->held_cap < 16 ? 16 : n->held_cap * 2;
            n->held = sl_realloc(n->held, (size_t)n->held_cap * sizeof(*n->held));
        }
        n->held[n->held_count++] = (sim_held_msg){ n->state_seq, sim_msg_clone(&rd->msgs[i]) };
    }
}

void sim_node_after_input(sim_world *w, sim_node *n) {
    raft_ready rd;
    raft_node_ready(n->raft, &rd);
    ready_state(w, n, &rd);
    ready_ops(w, n, &rd);
    ready_msgs(w, n, &rd);
    for (int32_t i = 0; i < rd.committed_count && !w->failed; i++) {
        sim_check_apply(w, n, &rd.committed[i]);
    }
    sim_check_node(w, n);
    schedule_tick(w, n, rd.next_tick_ms);
}

void sim_node_fsync_done(sim_world *w, sim_node *n, int64_t seq) {
    int32_t done = 0;
    while (done < n->op_count && n->ops[done].seq <= seq) {
        sim_log_apply(&n->durable, &n->ops[done].op);
        op_free(&n->ops[done].op);
        done++;
    }
    if (done > 0) memmove(n->ops, n->ops + done, (size_t)(n->op_count - done) * sizeof(*n->ops));
    n->op_count -= done;
    n->fsync_busy = false;
    int64_t end = sim_log_end(&n->durable);
    int32_t epoch = sim_log_epoch_at(&n->durable, end - 1);
    sim_trace(w, SIM_TR_FSYNC, n->id, -1, 0, end, epoch, 0);
    raft_node_log_durable(n->raft, sim_node_local_time(n, w->now), end, epoch);
    sim_node_after_input(w, n);
    if (n->op_count > 0 && !n->fsync_busy) fsync_start(w, n);
}

void sim_node_state_done(sim_world *w, sim_node *n, int64_t seq) {
    int32_t done = 0;
    while (done < n->state_count && n->states[done].seq <= seq) {
        n->state_durable = n->states[done].state;
        done++;
    }
    if (done > 0) {
        memmove(n->states, n->states + done, (size_t)(n->state_count - done) * sizeof(*n->states));
    }
    n->state_count -= done;
    sim_trace(w, SIM_TR_STATE, n->id, -1, 0, n->state_durable.epoch, n->state_durable.voted_id,
              n->state_durable.leader_id);
    int32_t released = 0;
    while (released < n->held_op_count && n->held_ops[released].seq <= seq) {
        op_write(w, n, &n->held_ops[released].op);
        released++;
    }
    if (released > 0) {
        memmove(n->held_ops, n->held_ops + released,
                (size_t)(n->held_op_count - released) * sizeof(*n->held_ops));
    }
    n->held_op_count -= released;
    if (n->op_count > 0 && !n->fsync_busy) fsync_start(w, n);
    int32_t kept = 0;
    for (int32_t i = 0; i < n->held_count; i++) {
        if (n->held[i].release_seq <= seq) {
            sim_send(w, n->held[i].msg);
            sl_free(n->held[i].msg);
        } else {
            n->held[kept++] = n->held[i];
        }
    }
    n->held_count = kept;
}

/* ------------------------------------------------------------------ crash, start */

/* How many writes in flight reach the disk before a crash: usually none or all. */
static int32_t crash_prefix(sim_world *w, int32_t count) {
    uint64_t r = sl_rand_below(&w->rng, 4);
    if (count == 0 || r < 2) return 0;
    if (r == 2) return count;
    return (int32_t)sl_rand_below(&w->rng, (uint64_t)count + 1);
}

void sim_node_crash(sim_world *w, sim_node *n) {
    int32_t ops = crash_prefix(w, n->op_count);
    for (int32_t i = 0; i < ops; i++)
        sim_log_apply(&n->durable, &n->ops[i].op);
    int32_t states = crash_prefix(w, n->state_count);
    if (states > 0) n->state_durable = n->states[states - 1].state;
    sim_trace(w, SIM_TR_CRASH, n->id, -1, 0, ops, n->op_count, states);
    node_drop_pending(n);
    raft_node_free(n->raft);
    n->raft = NULL;
    sim_log_free(&n->written);
    n->up = false;
    n->incarnation++;
    n->fsync_busy = false;
    n->tick_at = 0;
    n->state_done_at = 0;
    w->crashes++;
}

/* What a driver feeds back on restart: the newest snapshot and the log entries after
 * it, but only if the log still agrees with the snapshot at its last entry (a log that
 * lost its tail, or kept a stale one, restarts empty after the snapshot). */
static void storage_normalise(sim_log *d) {
    raft_snapshot_id sid = d->snap_id;
    if (sid.end_offset == 0) return;
    bool consistent = sid.end_offset >= d->start && sid.end_offset <= sim_log_end(d) &&
                      sim_log_epoch_at(d, sid.end_offset - 1) == sid.epoch;
    if (consistent) {
        log_discard_prefix(d, sid.end_offset);
        return;
    }
    log_cut(d, 0);
    d->start = sid.end_offset;
    d->start_epoch = sid.epoch;
}

static void node_config(sim_world *w, sim_node *n, raft_config *cfg) {
    raft_config_init(cfg, n->id);
    cfg->voter_count = w->p.voters;
    for (int32_t i = 0; i < w->p.voters; i++)
        cfg->voters[i] = w->nodes[i].id;
    cfg->election_timeout_ms = w->p.election_ms;
    cfg->fetch_timeout_ms = w->p.fetch_timeout_ms;
    cfg->fetch_max_wait_ms = w->p.max_wait_ms;
    cfg->request_timeout_ms = w->p.request_ms;
    cfg->retry_backoff_ms = w->p.backoff_ms;
    cfg->fetch_max_bytes = w->p.fetch_max_bytes;
    cfg->snapshot_chunk_bytes = w->p.chunk_bytes;
    cfg->uncommitted_max = w->p.uncommitted_max;
    cfg->rand_seed = w->seed * 1000003u + (uint64_t)n->id * 7919u + n->incarnation;
    cfg->failpoints = w->failpoints;
}

void sim_node_start(sim_world *w, sim_node *n) {
    storage_normalise(&n->durable);
    sim_log_copy(&n->written, &n->durable);
    const sim_log *d = &n->durable;
    raft_entry *entries = sl_calloc((size_t)d->count + 1, sizeof(raft_entry));
    for (int64_t i = 0; i < d->count; i++) {
        entries[i] = (raft_entry){ .offset = d->start + i,
                                   .epoch = d->entries[i].epoch,
                                   .kind = d->entries[i].kind,
                                   .size = d->entries[i].size,
                                   .data = d->entries[i].data };
    }
    raft_restore rs = { .state = n->state_durable,
                        .snapshot_id = { d->start, d->start_epoch },
                        .snapshot_data = d->snap,
                        .snapshot_size = d->snap_size,
                        .entries = entries,
                        .entry_count = d->count };
    if (d->snap_id.end_offset == 0) rs.snapshot_size = 0;
    raft_config cfg;
    node_config(w, n, &cfg);
    int rc = raft_node_new(&cfg, &rs, sim_node_local_time(n, w->now), &n->raft);
    sl_free(entries);
    if (rc != SL_OK) {
        sim_fail(w, "restore_rejected", "node=%d rc=%s", n->id, sl_strerror(rc));
        return;
    }
    n->up = true;
    n->app_next = 0;
    n->app_chain = 0;
    n->app_count = 0;
    if (d->snap_id.end_offset > 0)
        app_load_snapshot(w, n, d->snap, d->snap_size, d->snap_id, "restart");
    n->acked_floor = 0;
    n->acked_epoch = -1;
    n->last_hw = raft_node_high_watermark(n->raft);
    n->last_role = raft_node_role(n->raft);
    n->last_epoch = raft_node_epoch(n->raft);
    sim_trace(w, SIM_TR_RESTART, n->id, -1, n->last_role, n->last_epoch, sim_log_end(d), d->start);
    sim_node_after_input(w, n);
}
