/* raft_driver.c — runs a raft_node on a libevent loop: restore at start-up, the ready
 * loop (raft.h's durability contract), the tick timer, group-commit fsyncs, snapshots,
 * the application callbacks and the public calls. Connections, frames and routing are
 * in raft_driver_net.c.
 *
 * One pass of drv_process works through readies until the node has nothing more to
 * say. For each ready:
 *   1. a changed quorum state is written and fsync'd (file + directory) synchronously,
 *      before anything else of the ready happens (the contract's rule 1);
 *   2. log ops go to the storage log in order (appends are written, not synced;
 *      truncations and snapshot installs sync themselves);
 *   3. messages are encoded and queued on their connections;
 *   4. the application gets, in order: a snapshot to load, the leadership view, the
 *      committed entries; then a snapshot is taken if enough was committed since the
 *      last one.
 * Appends are made durable by flush_ev, a zero-delay timer: libevent runs timers after
 * the socket writes of the same loop iteration, so the messages of this pass (fetch
 * answers carrying the new entries) leave before the fsync starts, and one fsync covers
 * everything appended since the last (group commit). It reports raft_node_log_durable
 * with the log end and last epoch noted before the fsync started.
 *
 * Inputs made outside a pass (a proposal from the application, a frame, a connection
 * change) only kick work_ev, so a burst of them is handled in one pass; inputs made
 * inside a pass (a proposal from on_commit or on_leader) are picked up by its loop,
 * which is why no callback ever runs re-entrantly. */
#include "raft/raft_driver_int.h"

#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define READY_ROUNDS_MAX   256       /* readies per pass before yielding to the loop */
#define APPEND_CHUNK_BYTES (1 << 20) /* batches handed to storage in one call */
#define WARN_WINDOW_MS     10000
#define WARN_PER_WINDOW    20
#define SEGMENT_BYTES_MIN  (1LL << 20)

/* ------------------------------------------------------------------ helpers */

bool drv_warn_allowed(raft_driver *d) {
    int64_t now = sl_now_ms();
    if (now - d->warn_window_ms >= WARN_WINDOW_MS) {
        d->warn_window_ms = now;
        d->warn_count = 0;
    }
    return d->warn_count++ < WARN_PER_WINDOW;
}

void drv_kick(raft_driver *d) {
    if (d->failed || d->processing || !d->work_ev) return;
    event_active(d->work_ev, EV_TIMEOUT, 1);
}

/* Epoch of the entry at offset in the core's log (the snapshot epoch just below it). */
static int32_t core_epoch_at(const raft_driver *d, int64_t offset) {
    raft_entry e;
    if (raft_node_entry(d->node, offset, &e) == SL_OK) return e.epoch;
    raft_snapshot_id sid = raft_node_snapshot_id(d->node);
    return offset == sid.end_offset - 1 ? sid.epoch : 0;
}

void drv_fail(raft_driver *d, int err, const char *what) {
    if (d->failed) return;
    d->failed = err < 0 ? err : SL_E_FATAL;
    SL_LOG(SL_ERROR, "raft", "fail_stop", "node=%d op=%s err=\"%s\" dir=%s", d->cfg.core.node_id,
           what, sl_strerror(err), d->log_dir);
    if (d->timer) event_del(d->timer);
    if (d->work_ev) event_del(d->work_ev);
    if (d->flush_ev) event_del(d->flush_ev);
    drv_net_stop(d);
    if (d->on_fatal) {
        d->on_fatal(d->arg, d->failed);
        return;
    }
    SL_LOG(SL_ERROR, "raft", "exit", "node=%d status=1", d->cfg.core.node_id);
    _exit(1);
}

/* ------------------------------------------------------------------ log ops */

static int append_entries(raft_driver *d, const raft_log_op *op) {
    sl_buf *buf = &d->scratch;
    int64_t now = sl_wall_ms();
    sl_buf_reset(buf);
    for (int64_t i = 0; i < op->entry_count; i++) {
        SL_TRY(raft_store_entry_encode(&op->entries[i], now, buf));
        bool last = i + 1 == op->entry_count;
        if (buf->len < APPEND_CHUNK_BYTES && !last) continue;
        SL_TRY(storage_log_append_replica(d->log, buf->data, buf->len, now, NULL));
        sl_buf_reset(buf);
    }
    return SL_OK;
}

static int install_snapshot(raft_driver *d, const raft_log_op *op) {
    SL_TRY(raft_store_snapshot_write(d->log_dir, op->snapshot_id, op->data, op->size));
    SL_TRY(storage_log_truncate_fully_and_start_at(d->log, op->snapshot_id.end_offset));
    return raft_store_snapshot_prune(d->log_dir, op->snapshot_id);
}

static int discard_prefix(raft_driver *d, int64_t offset) {
    if (offset <= storage_log_start_offset(d->log)) return SL_OK;
    SL_TRY(storage_log_advance_start_offset(d->log, offset));
    return storage_log_retain(d->log, sl_wall_ms(), offset, NULL);
}

static int apply_log_op(raft_driver *d, const raft_log_op *op) {
    switch (op->type) {
    case RAFT_LOG_OP_TRUNCATE:
        return storage_log_truncate_to(d->log, op->offset);
    case RAFT_LOG_OP_APPEND:
        return append_entries(d, op);
    case RAFT_LOG_OP_INSTALL_SNAPSHOT:
        return install_snapshot(d, op);
    case RAFT_LOG_OP_DISCARD_PREFIX:
        return discard_prefix(d, op->offset);
    }
    return SL_E_INTERNAL;
}

static void schedule_flush(raft_driver *d) {
    const struct timeval zero = { 0, 0 };
    if (!event_pending(d->flush_ev, EV_TIMEOUT, NULL)) evtimer_add(d->flush_ev, &zero);
}

static int apply_log_ops(raft_driver *d, const raft_ready *rd) {
    bool changed = false;
    for (int32_t i = 0; i < rd->log_op_count; i++) {
        const raft_log_op *op = &rd->log_ops[i];
        int rc = apply_log_op(d, op);
        if (rc < 0) return rc;
        changed = changed || op->type != RAFT_LOG_OP_DISCARD_PREFIX;
    }
    if (!changed) return SL_OK;
    /* the disk now holds exactly the core's log */
    d->disk_end = raft_node_log_end_offset(d->node);
    d->disk_last_epoch = core_epoch_at(d, d->disk_end - 1);
    if (storage_log_end_offset(d->log) != d->disk_end) {
        SL_LOG(SL_ERROR, "raft", "log_end_mismatch", "storage=%" PRId64 " core=%" PRId64,
               storage_log_end_offset(d->log), d->disk_end);
        return SL_E_INTERNAL;
    }
    d->unflushed = true;
    schedule_flush(d);
    return SL_OK;
}

static void flush_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    raft_driver *d = arg;
    if (d->failed || !d->unflushed) return;
    int64_t end = d->disk_end;
    int32_t epoch = d->disk_last_epoch;
    d->unflushed = false;
    int rc = storage_log_flush(d->log);
    if (rc < 0) {
        drv_fail(d, rc, "log_fsync");
        return;
    }
    raft_node_log_durable(d->node, sl_now_ms(), end, epoch);
    drv_process(d);
}

/* ------------------------------------------------------------------ application */

static void notify_leader(raft_driver *d, raft_role role, int32_t leader_id, int32_t epoch) {
    bool is_self = role == RAFT_ROLE_LEADER;
    if (role == RAFT_ROLE_RESIGNED) leader_id = RAFT_NODE_NONE;
    if (d->seen_any && d->seen_leader == leader_id && d->seen_epoch == epoch &&
        d->seen_self == is_self) {
        return;
    }
    d->seen_any = true;
    d->seen_leader = leader_id;
    d->seen_epoch = epoch;
    d->seen_self = is_self;
    if (role == RAFT_ROLE_LEADER && d->progress_epoch != epoch) drv_progress_reset(d);
    SL_LOG(SL_INFO, "raft", "leader_view", "node=%d leader=%d epoch=%d self=%d",
           d->cfg.core.node_id, leader_id, epoch, is_self);
    if (d->cb.on_leader) d->cb.on_leader(d->arg, leader_id, epoch, is_self);
}

static void take_snapshot(raft_driver *d) {
    int64_t end = d->delivered_end;
    raft_snapshot_id id = { end, core_epoch_at(d, end - 1) };
    sl_buf out;
    sl_buf_init(&out);
    d->bytes_since_snapshot = 0; /* also on failure: no retry storm */
    int rc = d->cb.snapshot_take(d->arg, &out);
    if (rc < 0) {
        SL_LOG(SL_WARN, "raft", "snapshot_take_failed", "node=%d err=\"%s\"", d->cfg.core.node_id,
               sl_strerror(rc));
        sl_buf_deinit(&out);
        return;
    }
    if ((int64_t)out.len > d->cfg.core.snapshot_max_bytes) {
        SL_LOG(SL_WARN, "raft", "snapshot_too_large", "node=%d bytes=%zu max=%" PRId64,
               d->cfg.core.node_id, out.len, d->cfg.core.snapshot_max_bytes);
        sl_buf_deinit(&out);
        return;
    }
    rc = raft_store_snapshot_write(d->log_dir, id, out.data, out.len);
    if (rc < 0) {
        sl_buf_deinit(&out);
        drv_fail(d, rc, "snapshot_write");
        return;
    }
    rc = raft_node_snapshot_taken(d->node, sl_now_ms(), end, out.data, out.len);
    sl_buf_deinit(&out);
    if (rc < 0) {
        SL_LOG(SL_WARN, "raft", "snapshot_refused", "node=%d end_offset=%" PRId64 " err=\"%s\"",
               d->cfg.core.node_id, end, sl_strerror(rc));
        return;
    }
    rc = raft_store_snapshot_prune(d->log_dir, id);
    if (rc < 0) drv_fail(d, rc, "snapshot_prune");
}

static void maybe_snapshot(raft_driver *d) {
    int64_t interval = d->cfg.snapshot_interval_bytes;
    if (interval < 0 || !d->cb.snapshot_take || d->bytes_since_snapshot < interval) return;
    if (d->delivered_end <= raft_node_log_start_offset(d->node)) return;
    take_snapshot(d);
}

static void deliver(raft_driver *d, const raft_ready *rd) {
    for (int32_t i = 0; i < rd->log_op_count && !d->failed; i++) {
        const raft_log_op *op = &rd->log_ops[i];
        if (op->type != RAFT_LOG_OP_INSTALL_SNAPSHOT) continue;
        int rc = d->cb.on_snapshot_load(d->arg, op->snapshot_id, op->data, op->size);
        if (rc < 0) {
            drv_fail(d, rc, "snapshot_load");
            return;
        }
        d->delivered_end = op->snapshot_id.end_offset;
        d->bytes_since_snapshot = 0;
    }
    notify_leader(d, rd->role, rd->leader_id, rd->epoch);
    for (int32_t i = 0; i < rd->committed_count && !d->failed; i++) {
        const raft_entry *e = &rd->committed[i];
        if (e->offset < d->delivered_end) continue; /* covered by a loaded snapshot */
        if (d->cb.on_commit) d->cb.on_commit(d->arg, e);
        d->delivered_end = e->offset + 1;
        d->bytes_since_snapshot += e->size;
    }
    if (!d->failed) maybe_snapshot(d);
}

/* ------------------------------------------------------------------ the ready loop */

static void handle_ready(raft_driver *d, const raft_ready *rd) {
    if (rd->state_changed) {
        int rc = raft_store_quorum_write(d->log_dir, &rd->state, d->cfg.core.voters,
                                         d->cfg.core.voter_count);
        if (rc < 0) {
            drv_fail(d, rc, "quorum_state_write");
            return;
        }
    }
    int rc = apply_log_ops(d, rd);
    if (rc < 0) {
        drv_fail(d, rc, "log_write");
        return;
    }
    for (int32_t i = 0; i < rd->msg_count && !d->failed; i++)
        drv_send(d, &rd->msgs[i]);
    deliver(d, rd);
}

static void arm_timer(raft_driver *d) {
    int64_t wait = raft_node_next_tick_ms(d->node) - sl_now_ms();
    if (wait < 0) wait = 0;
    struct timeval tv = { (time_t)(wait / 1000), (suseconds_t)((wait % 1000) * 1000) };
    evtimer_add(d->timer, &tv);
}

void drv_process(raft_driver *d) {
    if (d->failed || d->processing) return;
    d->processing = true;
    int32_t rounds = 0;
    while (!d->failed && raft_node_has_ready(d->node) && rounds < READY_ROUNDS_MAX) {
        raft_ready rd;
        raft_node_ready(d->node, &rd);
        handle_ready(d, &rd);
        rounds++;
    }
    d->processing = false;
    if (d->failed) return;
    notify_leader(d, raft_node_role(d->node), raft_node_leader_id(d->node),
                  raft_node_epoch(d->node));
    if (raft_node_has_ready(d->node)) drv_kick(d); /* yield, then go on */
    arm_timer(d);
}

static void work_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    drv_process(arg);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    raft_driver *d = arg;
    if (d->failed) return;
    raft_node_tick(d->node, sl_now_ms());
    drv_process(d);
}

/* ------------------------------------------------------------------ restore */

static int config_check(const raft_driver_config *cfg, const raft_driver_callbacks *cb) {
    SL_RETURN_IF(!cfg->base || !cfg->net || !cfg->log_dir || !cfg->log_dir[0], SL_E_CONFIG,
                 "base=%p net=%p", (void *)cfg->base, (void *)cfg->net);
    SL_RETURN_IF(!cb->on_snapshot_load, SL_E_CONFIG, "callback=%s", "on_snapshot_load");
    SL_RETURN_IF(cfg->voter_count != cfg->core.voter_count || cfg->voter_count < 1 ||
                     cfg->voter_count > RAFT_VOTERS_MAX,
                 SL_E_CONFIG, "voter_count=%d core=%d", cfg->voter_count, cfg->core.voter_count);
    SL_RETURN_IF(cfg->segment_bytes != 0 && cfg->segment_bytes < SEGMENT_BYTES_MIN, SL_E_CONFIG,
                 "segment_bytes=%" PRId64, cfg->segment_bytes);
    for (int32_t i = 0; i < cfg->voter_count; i++) {
        bool found = false;
        for (int32_t j = 0; j < cfg->voter_count && !found; j++) {
            found = cfg->voters[j].id == cfg->core.voters[i] && cfg->voters[j].port > 0 &&
                    cfg->voters[j].port < 65536 && cfg->voters[j].host[0] != '\0';
        }
        SL_RETURN_IF(!found, SL_E_CONFIG, "voter=%d address=%s", cfg->core.voters[i], "missing");
        bool self = cfg->core.voters[i] == cfg->core.node_id;
        SL_RETURN_IF(self && (cfg->listen_port < 0 || cfg->listen_port > 65535), SL_E_CONFIG,
                     "listen_port=%d", cfg->listen_port);
    }
    return SL_OK;
}

static int open_log(raft_driver *d) {
    storage_log_config scfg;
    memset(&scfg, 0, sizeof(scfg)); /* fields the defaults leave alone stay 0 */
    storage_log_config_defaults(&scfg);
    scfg.segment_bytes =
        d->cfg.segment_bytes > 0 ? d->cfg.segment_bytes : RAFT_SEGMENT_BYTES_DEFAULT;
    scfg.retention_ms = -1; /* only snapshots delete entries */
    scfg.retention_bytes = -1;
    scfg.flush_messages = INT64_MAX; /* the driver fsyncs (group commit) */
    scfg.flush_ms = -1;
    scfg.file_delete_delay_ms = 0;
    return storage_log_open(d->log_dir, &scfg, sl_wall_ms(), &d->log);
}

/* Does the log hold the snapshot's last entry (id.end_offset - 1) with its epoch? */
static bool log_matches_snapshot(raft_driver *d, raft_snapshot_id id) {
    int64_t start = storage_log_start_offset(d->log);
    int64_t end = storage_log_end_offset(d->log);
    if (start == id.end_offset) return true;
    if (start >= id.end_offset || end < id.end_offset) return false;
    sl_buf buf;
    sl_buf_init(&buf);
    raft_entry e;
    int rc = storage_log_read_copy(d->log, id.end_offset - 1, 1, id.end_offset, true, &buf);
    if (rc == SL_OK && buf.len > 0) rc = raft_store_entry_decode(buf.data, buf.len, &e);
    bool ok = rc == SL_OK && buf.len > 0 && e.offset == id.end_offset - 1 && e.epoch == id.epoch;
    sl_buf_deinit(&buf);
    return ok;
}

/* Make the log start right after the snapshot (or at 0 without one). */
static int align_log(raft_driver *d, raft_snapshot_id id) {
    if (id.end_offset == 0) {
        int64_t start = storage_log_start_offset(d->log);
        if (start == 0) return SL_OK;
        SL_LOG(SL_ERROR, "raft", "log_without_snapshot", "dir=%s log_start=%" PRId64, d->log_dir,
               start);
        return SL_E_CORRUPT;
    }
    if (storage_log_start_offset(d->log) > id.end_offset) {
        /* entries between the snapshot and the log start are gone (a newer snapshot was
         * lost or damaged): this replica cannot vouch for them, an operator must act */
        SL_LOG(SL_ERROR, "raft", "log_starts_after_snapshot",
               "dir=%s log_start=%" PRId64 " snapshot_end=%" PRId64, d->log_dir,
               storage_log_start_offset(d->log), id.end_offset);
        return SL_E_CORRUPT;
    }
    if (!log_matches_snapshot(d, id)) {
        /* raft.h: a log that disagrees with the snapshot restarts empty after it */
        SL_LOG(SL_WARN, "raft", "log_reset_to_snapshot",
               "dir=%s end_offset=%" PRId64 " epoch=%d log_end=%" PRId64, d->log_dir, id.end_offset,
               id.epoch, storage_log_end_offset(d->log));
        return storage_log_truncate_fully_and_start_at(d->log, id.end_offset);
    }
    return discard_prefix(d, id.end_offset);
}

static int restore(raft_driver *d) {
    SL_TRY(open_log(d));
    raft_restore rs = { 0 };
    SL_TRY(
        raft_store_quorum_read(d->log_dir, d->cfg.core.voters, d->cfg.core.voter_count, &rs.state));
    sl_buf snap_file, bytes;
    sl_buf_init(&snap_file);
    sl_buf_init(&bytes);
    raft_entry *entries = NULL;
    int rc =
        raft_store_snapshot_load(d->log_dir, (size_t)d->cfg.core.snapshot_max_bytes,
                                 &rs.snapshot_id, &snap_file, &rs.snapshot_data, &rs.snapshot_size);
    if (rc == SL_OK) rc = raft_store_snapshot_prune(d->log_dir, rs.snapshot_id);
    if (rc == SL_OK) rc = align_log(d, rs.snapshot_id);
    if (rc == SL_OK) {
        rc = raft_store_read_entries(d->log, rs.snapshot_id.end_offset, &bytes, &entries,
                                     &rs.entry_count);
        rs.entries = entries;
    }
    if (rc == SL_OK && rs.snapshot_id.end_offset > 0) {
        rc = d->cb.on_snapshot_load(d->arg, rs.snapshot_id, rs.snapshot_data, rs.snapshot_size);
    }
    if (rc == SL_OK) rc = raft_node_new(&d->cfg.core, &rs, sl_now_ms(), &d->node);
    if (rc == SL_OK) {
        d->delivered_end = rs.snapshot_id.end_offset;
        d->disk_end = raft_node_log_end_offset(d->node);
        d->disk_last_epoch = core_epoch_at(d, d->disk_end - 1);
        SL_LOG(SL_INFO, "raft", "restored",
               "node=%d dir=%s epoch=%d voted=%d leader=%d "
               "snapshot=%" PRId64 "/%d log_end=%" PRId64,
               d->cfg.core.node_id, d->log_dir, rs.state.epoch, rs.state.voted_id,
               rs.state.leader_id, rs.snapshot_id.end_offset, rs.snapshot_id.epoch, d->disk_end);
    }
    sl_free(entries);
    sl_buf_deinit(&bytes);
    sl_buf_deinit(&snap_file);
    return rc;
}

/* ------------------------------------------------------------------ public calls */

static raft_driver *
driver_new(const raft_driver_config *cfg, const raft_driver_callbacks *cb, void *arg) {
    raft_driver *d = SL_NEW(raft_driver);
    d->cfg = *cfg;
    d->log_dir = sl_strdup(cfg->log_dir);
    d->listen_host = sl_strdup(cfg->listen_host ? cfg->listen_host : "");
    d->cfg.log_dir = d->log_dir;
    d->cfg.listen_host = d->listen_host;
    if (d->cfg.snapshot_interval_bytes == 0) {
        d->cfg.snapshot_interval_bytes = RAFT_SNAPSHOT_INTERVAL_DEFAULT;
    }
    d->cb = *cb;
    d->arg = arg;
    d->listen_port = -1;
    d->self_index = -1;
    d->seen_leader = RAFT_NODE_NONE;
    d->progress_epoch = -1;
    sl_buf_init(&d->scratch);
    return d;
}

int raft_driver_start(const raft_driver_config *cfg,
                      const raft_driver_callbacks *cb,
                      void *arg,
                      raft_driver **out) {
    SL_TRY(config_check(cfg, cb));
    raft_driver *d = driver_new(cfg, cb, arg);
    int rc = restore(d);
    if (rc == SL_OK) rc = drv_net_start(d);
    if (rc != SL_OK) {
        SL_LOG(SL_ERROR, "raft", "start_failed", "node=%d dir=%s err=\"%s\"", cfg->core.node_id,
               cfg->log_dir, sl_strerror(rc));
        raft_driver_stop(d);
        return rc;
    }
    d->timer = evtimer_new(cfg->base, timer_cb, d);
    d->work_ev = event_new(cfg->base, -1, 0, work_cb, d);
    d->flush_ev = evtimer_new(cfg->base, flush_cb, d);
    arm_timer(d);
    drv_kick(d);
    *out = d;
    return SL_OK;
}

int raft_driver_propose(
    raft_driver *d, const void *data, uint32_t size, int64_t *offset_out, int32_t *epoch_out) {
    if (d->failed) return SL_E_FATAL;
    int rc = raft_node_propose(d->node, sl_now_ms(), data, size, offset_out, epoch_out);
    if (rc == SL_OK) drv_kick(d);
    return rc;
}

int raft_driver_resign(raft_driver *d) {
    if (d->failed) return SL_E_FATAL;
    int rc = raft_node_resign(d->node, sl_now_ms());
    if (rc == SL_OK) drv_kick(d);
    return rc;
}

void raft_driver_stop(raft_driver *d) {
    if (!d) return;
    if (d->timer) event_free(d->timer);
    if (d->work_ev) event_free(d->work_ev);
    if (d->flush_ev) event_free(d->flush_ev);
    d->timer = d->work_ev = d->flush_ev = NULL;
    drv_net_stop(d);
    if (d->log && !d->failed && d->unflushed) {
        int rc = storage_log_flush(d->log);
        if (rc < 0) {
            SL_LOG(SL_ERROR, "raft", "stop_flush_failed", "dir=%s err=\"%s\"", d->log_dir,
                   sl_strerror(rc));
        }
    }
    storage_log_close(d->log);
    raft_node_free(d->node);
    sl_buf_deinit(&d->scratch);
    SL_LOG(SL_INFO, "raft", "driver_stopped", "node=%d", d->cfg.core.node_id);
    sl_free(d->log_dir);
    sl_free(d->listen_host);
    sl_free(d);
}

int raft_driver_get_status(const raft_driver *d, raft_driver_status *out) {
    drv_status_fill(d, out);
    return d->failed ? SL_E_FATAL : SL_OK;
}

int raft_driver_failed(const raft_driver *d) {
    return d->failed;
}

void raft_driver_set_fatal_handler(raft_driver *d, void (*on_fatal)(void *arg, int err)) {
    d->on_fatal = on_fatal;
}

const raft_node *raft_driver_node(const raft_driver *d) {
    return d->node;
}

void raft_driver_set_app_handler(raft_driver *d, const raft_net_handlers *h, void *arg) {
    if (h) {
        d->app_h = *h;
        d->app_arg = arg;
    } else {
        memset(&d->app_h, 0, sizeof(d->app_h));
        d->app_arg = NULL;
    }
}
