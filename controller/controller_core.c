/* controller_core.c — sluice-controller's process: the Raft voter, the two images, the
 * proposal/commit plumbing, activation, the periodic tick, and signals.
 *
 * Activation: a newly elected leader first proposes an activation entry (a no-op, plus the
 * cluster id and metadata feature level on a brand-new log). Once that entry commits, every
 * entry of earlier epochs has committed too (Raft), so `committed` is complete: it becomes
 * the working image and the controller starts serving. */
#include "controller/controller_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_listener.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define TICK_MS                 20 /* sessions: a closed connection is noticed within a tick */
#define RESIGN_FLUSH_MS         200 /* let EndQuorumEpoch reach the other voters */
#define METADATA_VERSION_LEVEL  21  /* the feature level this controller writes */

struct controller_pending {
    int64_t offset;
    int32_t epoch;
    controller_reply_fn fn;
    void *arg;
    controller_pending *next;
};

bool controller_is_active(const controller *c) {
    return c->active;
}

static void pending_fail_all(controller *c) {
    controller_pending *p = c->pending;
    c->pending = NULL;
    while (p) {
        controller_pending *next = p->next;
        p->fn(c, p->arg, false);
        sl_free(p);
        p = next;
    }
}

static void pending_add(controller *c, int64_t offset, int32_t epoch, controller_reply_fn fn,
                        void *arg) {
    controller_pending *p = SL_NEW(controller_pending);
    p->offset = offset;
    p->epoch = epoch;
    p->fn = fn;
    p->arg = arg;
    controller_pending **pp = &c->pending;
    while (*pp) pp = &(*pp)->next;
    *pp = p;
}

int controller_propose(controller *c, metadata_batch_builder *bb, controller_reply_fn done,
                       void *arg, int64_t *offset_out) {
    if (!c->active) return SL_E_STATE;
    if (bb->count == 0) {
        if (offset_out) *offset_out = -1;
        if (done) done(c, arg, true);
        return SL_OK;
    }
    int64_t offset;
    int32_t epoch;
    int rc = raft_driver_propose(c->raft, bb->buf.data, (uint32_t)bb->buf.len, &offset, &epoch);
    if (rc < 0) {
        SL_LOG(SL_WARN, "controller", "propose_failed", "err=%s", sl_strerror(rc));
        return rc == SL_AGAIN ? SL_E_TIMEOUT : SL_E_STATE;
    }
    rc = metadata_image_apply_batch(&c->work, bb->buf.data, bb->buf.len, offset, epoch, NULL);
    if (rc < 0) {
        /* every replica skips the same invalid record; this is a decision bug to fix */
        SL_LOG(SL_ERROR, "controller", "proposal_had_invalid_record", "offset=%" PRId64, offset);
    }
    c->last_proposed = offset;
    if (done) pending_add(c, offset, epoch, done, arg);
    if (offset_out) *offset_out = offset;
    return SL_OK;
}

static void controller_activate(controller *c) {
    metadata_image_copy(&c->work, &c->committed);
    c->active = true;
    c->last_proposed = c->work.offset;
    controller_sessions_reset(c, sl_now_ms());
    SL_LOG(SL_INFO, "controller", "active", "epoch=%d metadata_offset=%" PRId64
           " brokers=%zu topics=%zu", c->epoch, c->committed.offset, c->committed.brokers.count,
           c->committed.topics.count);
}

static void controller_deactivate(controller *c, const char *why) {
    if (c->active || c->leader) {
        SL_LOG(SL_INFO, "controller", "inactive", "epoch=%d why=%s", c->epoch, why);
    }
    c->active = false;
    c->leader = false;
    c->activation_offset = -1;
    pending_fail_all(c);
    metadata_image_deinit(&c->work);
}

static void on_commit(void *arg, const raft_entry *entry) {
    controller *c = arg;
    if (entry->kind == RAFT_ENTRY_DATA) {
        metadata_image_apply_batch(&c->committed, entry->data, entry->size, entry->offset,
                                   entry->epoch, NULL);
    }
    while (c->pending && c->pending->offset <= entry->offset) {
        controller_pending *p = c->pending;
        c->pending = p->next;
        p->fn(c, p->arg, p->offset == entry->offset && p->epoch == entry->epoch);
        sl_free(p);
    }
    if (c->leader && !c->active && c->activation_offset >= 0 &&
        entry->offset >= c->activation_offset) {
        controller_activate(c);
    }
}

/* The first entry of a new leadership. */
static void controller_propose_activation(controller *c) {
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    if (!c->committed.cluster_id) {
        char id[23];
        if (c->cfg.cluster_id && c->cfg.cluster_id[0]) {
            snprintf(id, sizeof(id), "%s", c->cfg.cluster_id);
        } else {
            metadata_uuid u;
            metadata_uuid_random(&u);
            metadata_uuid_format(&u, id);
        }
        metadata_batch_add_cluster_id(&bb, id);
    }
    if (!sl_props_get(&c->committed.features, "metadata.version")) {
        metadata_batch_add_feature(&bb, "metadata.version", METADATA_VERSION_LEVEL);
    }
    metadata_batch_add_no_op(&bb);
    int64_t offset;
    int32_t epoch;
    int rc = raft_driver_propose(c->raft, bb.buf.data, (uint32_t)bb.buf.len, &offset, &epoch);
    metadata_batch_builder_deinit(&bb);
    if (rc < 0) {
        SL_LOG(SL_WARN, "controller", "activation_propose_failed", "err=%s", sl_strerror(rc));
        return;
    }
    c->activation_offset = offset;
}

static void on_leader(void *arg, int32_t leader_id, int32_t epoch, bool is_self) {
    controller *c = arg;
    if (epoch != c->epoch || !is_self) controller_deactivate(c, "leader_changed");
    c->epoch = epoch;
    c->leader_id = leader_id;
    SL_LOG(SL_INFO, "controller", "quorum_leader", "leader=%d epoch=%d self=%d", leader_id, epoch,
           is_self);
    if (is_self && !c->leader) {
        c->leader = true;
        controller_propose_activation(c);
    }
}

static int on_snapshot_load(void *arg, raft_snapshot_id id, const uint8_t *data, size_t size) {
    controller *c = arg;
    return metadata_image_load_snapshot(&c->committed, data, size, id.end_offset - 1, id.epoch);
}

static int snapshot_take(void *arg, sl_buf *out) {
    controller *c = arg;
    metadata_image_snapshot(&c->committed, out);
    return SL_OK;
}

static void tick_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    controller *c = arg;
    int64_t now = sl_now_ms();
    if (c->leader && !c->active && c->activation_offset < 0) controller_propose_activation(c);
    if (!c->active) return;
    controller_sessions_tick(c, now);
    controller_rebalance_tick(c, now);
}

static void stop_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    event_base_loopexit(((controller *)arg)->base, NULL);
}

static void signal_cb(int sig, short what, void *arg) {
    (void)what;
    controller *c = arg;
    if (c->stopping) return;
    c->stopping = true;
    SL_LOG(SL_INFO, "controller", "shutdown_started", "signal=%d leader=%d", sig, c->leader);
    if (c->leader && raft_driver_resign(c->raft) == SL_OK) {
        struct timeval tv = { 0, RESIGN_FLUSH_MS * 1000 };
        event_base_once(c->base, -1, EV_TIMEOUT, stop_cb, c, &tv);
        return;
    }
    event_base_loopexit(c->base, NULL);
}

/* The metadata log failed (write or fsync): stop serving and exit non-zero. */
static void on_fatal(void *arg, int err) {
    controller *c = arg;
    SL_LOG(SL_ERROR, "controller", "metadata_log_failed", "err=%s", sl_strerror(err));
    c->exit_code = 1;
    event_base_loopexit(c->base, NULL);
}

static int controller_start(controller *c, char *err, size_t err_size) {
    c->base = event_base_new();
    sl_rand_seed(&c->rng, sl_rand_os_seed());
    metadata_image_init(&c->committed);
    metadata_image_init(&c->work);
    sl_imap_init(&c->sessions);
    c->defaults.props = &c->cfg.props;
    c->activation_offset = -1;
    c->leader_id = -1;
    c->epoch = -1;
    c->net = raft_net_new(c->base, 64 << 20, 256 << 20);
    raft_driver_config dc;
    metadata_quorum_driver_config(&dc, c->cfg.node_id, c->cfg.voters, c->cfg.voter_count);
    dc.core.election_timeout_ms = c->cfg.election_timeout_ms;
    dc.core.fetch_timeout_ms = c->cfg.fetch_timeout_ms;
    dc.core.request_timeout_ms = c->cfg.request_timeout_ms;
    dc.core.retry_backoff_ms = c->cfg.retry_backoff_ms;
    dc.core.rand_seed = sl_rand_u64(&c->rng);
    dc.listen_host = c->cfg.listen_host;
    dc.listen_port = c->cfg.listen_port;
    dc.log_dir = c->cfg.meta_dir;
    dc.snapshot_interval_bytes = c->cfg.snapshot_bytes;
    dc.base = c->base;
    dc.net = c->net;
    raft_driver_callbacks cb = { on_commit, on_leader, on_snapshot_load, snapshot_take };
    int rc = raft_driver_start(&dc, &cb, c, &c->raft);
    if (rc < 0) {
        snprintf(err, err_size, "cannot start the metadata quorum (log %.200s, listener %.100s:%d): %s",
                 c->cfg.meta_dir, c->cfg.listen_host, c->cfg.listen_port, sl_strerror(rc));
        return rc;
    }
    raft_net_handlers h = { controller_rpc_frame, controller_rpc_state };
    raft_driver_set_app_handler(c->raft, &h, c);
    raft_driver_set_fatal_handler(c->raft, on_fatal);
    c->tick_ev = event_new(c->base, -1, EV_PERSIST, tick_cb, c);
    struct timeval tv = { 0, TICK_MS * 1000 };
    event_add(c->tick_ev, &tv);
    c->sig_term = evsignal_new(c->base, SIGTERM, signal_cb, c);
    c->sig_int = evsignal_new(c->base, SIGINT, signal_cb, c);
    event_add(c->sig_term, NULL);
    event_add(c->sig_int, NULL);
    return SL_OK;
}

static void controller_finish(controller *c) {
    controller_deactivate(c, "stopping");
    raft_driver_stop(c->raft);
    raft_net_free(c->net);
    for (size_t i = 0; i < c->sessions.cap; i++) {
        if (sl_imap_slot_used(&c->sessions, i)) sl_free(c->sessions.slots[i].value);
    }
    sl_imap_deinit(&c->sessions);
    metadata_image_deinit(&c->committed);
    if (c->tick_ev) event_free(c->tick_ev);
    if (c->sig_term) event_free(c->sig_term);
    if (c->sig_int) event_free(c->sig_int);
    if (c->base) event_base_free(c->base);
}

int controller_main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    sl_cli cli;
    char err[512] = "";
    if (sl_cli_parse(&cli, argc, argv, err, sizeof(err)) < 0 || cli.help) {
        fprintf(stderr, "%s%susage: sluice-controller --config FILE [--override key=value]... "
                        "[--print-config]\n", err, err[0] ? "\n" : "");
        sl_cli_deinit(&cli);
        return cli.help ? 0 : 2;
    }
    controller *c = SL_NEW(controller);
    int rc = controller_config_load(&c->cfg, &cli, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sluice-controller: %s\n", err);
        SL_LOG(SL_ERROR, "controller", "bad_config", "error=\"%s\"", err);
        controller_config_free(&c->cfg);
        sl_free(c);
        sl_cli_deinit(&cli);
        return 1;
    }
    if (cli.print_config) {
        sl_config_print(controller_config_table(), &c->cfg, stdout);
        controller_config_free(&c->cfg);
        sl_free(c);
        sl_cli_deinit(&cli);
        return 0;
    }
    sl_cli_deinit(&cli);
    sl_log_configure(c->cfg.log_level, c->cfg.log_debug);
    if (c->cfg.log_file) sl_log_open_file(c->cfg.log_file);
    char node[32];
    snprintf(node, sizeof(node), "controller-%d", c->cfg.node_id);
    sl_log_set_node(node);
    long long fd_limit = sl_raise_fd_limit();
    rc = controller_start(c, err, sizeof(err));
    if (rc < 0) {
        fprintf(stderr, "sluice-controller: %s\n", err);
        SL_LOG(SL_ERROR, "controller", "start_failed", "error=\"%s\"", err);
        c->exit_code = 1;
    } else {
        SL_LOG(SL_INFO, "controller", "started",
               "node_id=%d listener=%s:%d voters=%d open_files_limit=%lld", c->cfg.node_id,
               c->cfg.listen_host, c->cfg.listen_port, c->cfg.voter_count, fd_limit);
        event_base_dispatch(c->base);
    }
    controller_finish(c);
    int code = c->exit_code;
    SL_LOG(SL_INFO, "controller", "stopped", "exit_code=%d", code);
    controller_config_free(&c->cfg);
    sl_free(c);
    return code;
}
