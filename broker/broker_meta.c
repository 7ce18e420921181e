/* broker_meta.c — the broker's metadata image, kept by following the metadata log as a
 * Raft observer, and the Metadata API served from it.
 *
 * Every committed entry is applied to the image; the delta it produced drives the
 * replica manager (become leader/follower, create or delete logs). Requests that must
 * answer only once a change is visible here (forwarded admin requests) park in
 * meta_waiters until the image reaches their offset. */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct broker_meta_waiter {
    int64_t offset;
    int64_t deadline_ms;
    broker_meta_wait_fn fn;
    void *arg;
    broker_meta_waiter *next;
};

static void meta_waiters_run(broker *b, int64_t now_ms, bool all) {
    broker_meta_waiter **pp = &b->meta_waiters;
    while (*pp) {
        broker_meta_waiter *w = *pp;
        bool ready = b->image.offset >= w->offset;
        if (ready || all || now_ms >= w->deadline_ms) {
            *pp = w->next;
            w->fn(b, w->arg, ready);
            sl_free(w);
            continue;
        }
        pp = &w->next;
    }
}

void broker_meta_wait(broker *b, int64_t offset, int64_t timeout_ms, broker_meta_wait_fn fn,
                      void *arg) {
    if (b->image.offset >= offset) {
        fn(b, arg, true);
        return;
    }
    broker_meta_waiter *w = SL_NEW(broker_meta_waiter);
    w->offset = offset;
    w->deadline_ms = sl_now_ms() + timeout_ms;
    w->fn = fn;
    w->arg = arg;
    w->next = b->meta_waiters;
    b->meta_waiters = w;
}

void broker_meta_tick(broker *b, int64_t now_ms) {
    if (b->meta_waiters) meta_waiters_run(b, now_ms, false);
}

static void meta_apply_delta(broker *b, const metadata_delta *delta) {
    broker_replica_apply_delta(b, delta);
    if (delta->configs_changed) broker_replica_refresh_configs(b);
    if (delta->cluster_id_changed && b->cfg.cluster_id &&
        strcmp(b->cfg.cluster_id, b->image.cluster_id) != 0) {
        SL_LOG(SL_ERROR, "meta", "cluster_id_mismatch", "configured=%s quorum=%s",
               b->cfg.cluster_id, b->image.cluster_id);
        b->exit_code = 1;
        broker_request_shutdown(b, "cluster_id_mismatch");
    }
}

static void meta_on_commit(void *arg, const raft_entry *entry) {
    broker *b = arg;
    if (entry->kind != RAFT_ENTRY_DATA) {
        b->image.offset = entry->offset;
        return;
    }
    metadata_delta delta;
    metadata_delta_init(&delta);
    metadata_image_apply_batch(&b->image, entry->data, entry->size, entry->offset, entry->epoch,
                               &delta);
    meta_apply_delta(b, &delta);
    metadata_delta_deinit(&delta);
    if (b->meta_waiters) meta_waiters_run(b, sl_now_ms(), false);
}

static void meta_on_leader(void *arg, int32_t leader_id, int32_t epoch, bool is_self) {
    broker *b = arg;
    (void)is_self;
    SL_LOG(SL_INFO, "meta", "quorum_leader", "leader=%d epoch=%d", leader_id, epoch);
    broker_ctl_on_leader(b, leader_id);
}

/* A snapshot replaces the image wholesale: reconcile every partition against it. */
static int meta_on_snapshot_load(void *arg, raft_snapshot_id id, const uint8_t *data,
                                 size_t size) {
    broker *b = arg;
    metadata_image fresh;
    metadata_image_init(&fresh);
    int rc = metadata_image_load_snapshot(&fresh, data, size, id.end_offset - 1, id.epoch);
    if (rc < 0) {
        SL_LOG(SL_ERROR, "meta", "snapshot_rejected", "end_offset=%" PRId64, id.end_offset);
        metadata_image_deinit(&fresh);
        return rc;
    }
    metadata_delta delta;
    metadata_delta_init(&delta);
    for (size_t i = 0; i < b->image.topics.cap; i++) {
        if (!sl_map_slot_used(&b->image.topics, i)) continue;
        const metadata_topic *t = b->image.topics.slots[i].value;
        const metadata_topic *nt = metadata_image_topic_by_id(&fresh, &t->id);
        if (!nt) metadata_delta_add_deleted(&delta, t);
    }
    for (size_t i = 0; i < fresh.topics.cap; i++) {
        if (!sl_map_slot_used(&fresh.topics, i)) continue;
        const metadata_topic *t = fresh.topics.slots[i].value;
        for (int32_t p = 0; p < t->partition_count; p++) {
            metadata_delta_add_partition(&delta, t, p);
        }
    }
    delta.configs_changed = true;
    delta.brokers_changed = true;
    metadata_image_deinit(&b->image);
    b->image = fresh;
    meta_apply_delta(b, &delta);
    metadata_delta_deinit(&delta);
    SL_LOG(SL_INFO, "meta", "snapshot_loaded", "end_offset=%" PRId64 " topics=%zu",
           id.end_offset, b->image.topics.count);
    return SL_OK;
}

static int meta_snapshot_take(void *arg, sl_buf *out) {
    broker *b = arg;
    metadata_image_snapshot(&b->image, out);
    return SL_OK;
}

/* The local copy of the metadata log failed (write or fsync): exit non-zero. */
static void meta_on_fatal(void *arg, int err) {
    broker *b = arg;
    SL_LOG(SL_ERROR, "meta", "metadata_log_failed", "err=%s", sl_strerror(err));
    b->exit_code = 1;
    event_base_loopexit(b->base, NULL);
}

int broker_meta_start(broker *b, char *err, size_t err_size) {
    int rc = broker_mkdirs(b->cfg.meta_dir);
    if (rc < 0) {
        snprintf(err, err_size, "cannot create %s: %s", b->cfg.meta_dir, sl_strerror(rc));
        return rc;
    }
    b->net = raft_net_new(b->base, 64 << 20, 256 << 20);
    raft_driver_config dc;
    metadata_quorum_driver_config(&dc, b->cfg.node_id, b->cfg.voters, b->cfg.voter_count);
    dc.core.rand_seed = sl_rand_u64(&b->rng);
    dc.listen_host = NULL;
    dc.listen_port = -1;
    dc.log_dir = b->cfg.meta_dir;
    dc.snapshot_interval_bytes = 20 << 20;
    dc.base = b->base;
    dc.net = b->net;
    raft_driver_callbacks cb = { meta_on_commit, meta_on_leader, meta_on_snapshot_load,
                                 meta_snapshot_take };
    rc = raft_driver_start(&dc, &cb, b, &b->meta);
    if (rc < 0) {
        snprintf(err, err_size, "cannot start the metadata log in %s: %s", b->cfg.meta_dir,
                 sl_strerror(rc));
        return rc;
    }
    raft_driver_set_fatal_handler(b->meta, meta_on_fatal);
    return SL_OK;
}

void broker_meta_stop(broker *b) {
    meta_waiters_run(b, sl_now_ms(), true);
    raft_driver_stop(b->meta);
    b->meta = NULL;
    raft_net_free(b->net);
    b->net = NULL;
}
