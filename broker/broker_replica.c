/* broker_replica.c — the replica manager: which partitions this broker hosts, whether it
 * leads or follows each, the high watermark, and ISR maintenance.
 *
 * Leader: the high watermark is the smallest log end offset among the ISR (the leader's
 * own included), and does not move while the ISR is smaller than min.insync.replicas
 * (KIP-966's strict rule: an acks=all write is acknowledged only once min.insync.replicas
 * copies exist). A follower that has not caught up to the leader's log end for
 * replica.lag.time.max.ms leaves the ISR; one whose log end reaches the high watermark
 * (and the start of the leader's epoch) rejoins. ISR changes go to the controller as
 * AlterPartition with the leader and partition epochs, so a deposed leader cannot change
 * them. Follower: a fetcher pulls from the leader; divergence is resolved by the leader's
 * DivergingEpoch answer (KIP-320), and the high watermark is the leader's, capped at the
 * local log end. */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HW_FILE             "replication-offset"
#define HW_CHECKPOINT_MS    1000  /* how often a moved high watermark is written down */
#define PSTATE_SAVE_MS      60000 /* producer-state snapshots bound recovery scans */
#define ALTER_ISR_RETRY_MS  2000  /* resend an unanswered AlterPartition after this */

/* ---------------- lookup ---------------- */

static broker_topic *topic_find(broker *b, const char *name, size_t len) {
    return sl_map_get(&b->topics, name, len);
}

broker_partition *broker_partition_get(broker *b, const char *topic, size_t len, int32_t id) {
    broker_topic *t = topic_find(b, topic, len);
    if (!t || id < 0 || id >= t->partition_count) return NULL;
    return t->partitions[id];
}

broker_partition *broker_partition_get_by_id(broker *b, const metadata_uuid *topic_id,
                                             int32_t id) {
    broker_topic *t = sl_map_get(&b->topics_by_id, topic_id->b, 16);
    if (!t || id < 0 || id >= t->partition_count) return NULL;
    return t->partitions[id];
}

int16_t broker_partition_leader_error(broker *b, const char *topic, size_t len, int32_t id,
                                      broker_partition **p_out) {
    *p_out = NULL;
    const metadata_topic *mt = metadata_image_topic(&b->image, topic, len);
    const metadata_partition *mp = metadata_topic_partition(mt, id);
    if (!mp) return PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
    broker_partition *p = broker_partition_get(b, topic, len, id);
    if (p && p->log && p->role == BROKER_ROLE_LEADER) {
        *p_out = p;
        return PROTOCOL_ERR_NONE;
    }
    return mp->leader < 0 ? PROTOCOL_ERR_LEADER_NOT_AVAILABLE
                          : PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER;
}

/* ---------------- waiters ---------------- */

void broker_waiter_add(broker_partition *p, broker_waiter *w) {
    w->partition = p;
    w->next = p->waiters;
    p->waiters = w;
}

void broker_waiter_remove(broker_partition *p, broker_waiter *w) {
    for (broker_waiter **pp = &p->waiters; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            w->next = NULL;
            w->partition = NULL;
            return;
        }
    }
}

/* Each waiter's owner decides whether it is done; a done waiter removes itself (and
 * possibly others of its request). The round counter stops re-checking the ones that
 * stay parked. */
void broker_partition_wake(broker *b, broker_partition *p) {
    uint32_t round = ++p->wake_round;
    for (int guard = 0; guard < 100000; guard++) {
        broker_waiter *w = p->waiters;
        while (w && w->round == round) w = w->next;
        if (!w) break;
        w->round = round;
        if (w->kind == BROKER_WAIT_PRODUCE) {
            broker_produce_wake(b, w);
        } else if (w->kind == BROKER_WAIT_INTERNAL) {
            broker_internal_wake(b, w);
        } else {
            broker_fetch_wake(b, w);
        }
    }
}

/* ---------------- configuration ---------------- */

static void storage_cfg_from(const metadata_log_config *lc, storage_log_config *sc) {
    storage_log_config_defaults(sc);
    sc->segment_bytes = lc->segment_bytes < 64 ? 64 : lc->segment_bytes;
    sc->segment_ms = lc->segment_ms;
    sc->index_interval_bytes = lc->index_interval_bytes;
    sc->segment_index_bytes = lc->segment_index_bytes < 24 ? 24 : lc->segment_index_bytes;
    sc->retention_ms = lc->delete_ ? lc->retention_ms : -1;
    sc->retention_bytes = lc->delete_ ? lc->retention_bytes : -1;
    sc->flush_messages = lc->flush_messages;
    sc->flush_ms = lc->flush_ms == INT64_MAX ? -1 : lc->flush_ms;
    sc->file_delete_delay_ms = lc->file_delete_delay_ms;
    sc->compact = lc->compact; /* followers then accept the gaps compaction leaves */
}

static void partition_resolve_config(broker *b, broker_partition *p) {
    const metadata_topic *mt = metadata_image_topic_by_id(&b->image, &p->topic->id);
    metadata_log_config_resolve(&b->image, mt, b->cfg.node_id, &b->cfg.props, &p->lcfg);
}

void broker_replica_refresh_configs(broker *b) {
    for (size_t i = 0; i < b->topics.cap; i++) {
        if (!sl_map_slot_used(&b->topics, i)) continue;
        broker_topic *t = b->topics.slots[i].value;
        for (int32_t k = 0; k < t->partition_count; k++) {
            broker_partition *p = t->partitions[k];
            if (!p || !p->log) continue;
            partition_resolve_config(b, p);
            storage_log_config sc;
            storage_cfg_from(&p->lcfg, &sc);
            storage_log_set_config(p->log, &sc);
        }
    }
}

/* ---------------- hosting ---------------- */

static broker_topic *topic_ensure(broker *b, const metadata_topic *mt) {
    broker_topic *t = sl_map_get(&b->topics_by_id, mt->id.b, 16);
    if (!t) {
        t = SL_NEW(broker_topic);
        t->name = sl_strdup(mt->name);
        t->id = mt->id;
        t->internal = metadata_topic_is_internal(mt->name, strlen(mt->name));
        sl_map_put(&b->topics, t->name, strlen(t->name), t);
        sl_map_put(&b->topics_by_id, t->id.b, 16, t);
    }
    if (t->partition_count < mt->partition_count) {
        t->partitions = sl_realloc(t->partitions, (size_t)mt->partition_count * sizeof(void *));
        for (int32_t i = t->partition_count; i < mt->partition_count; i++) t->partitions[i] = NULL;
        t->partition_count = mt->partition_count;
    }
    return t;
}

static void hw_checkpoint(broker_partition *p) {
    if (!p->log || p->high_watermark == p->hw_checkpointed) return;
    char text[32];
    int n = snprintf(text, sizeof(text), "0\n%" PRId64 "\n", p->high_watermark);
    /* a hint: lost or stale after a crash it only makes the restarted replica's high
     * watermark lower (hw_load clamps it to the log end), which is safe */
    int rc = storage_log_write_hint(p->log, HW_FILE, (const uint8_t *)text, (size_t)n);
    if (rc == SL_OK) {
        p->hw_checkpointed = p->high_watermark;
    } else {
        SL_LOG(SL_WARN, "replica", "hw_checkpoint_failed", "topic=%s partition=%d err=%s",
               p->topic->name, p->id, sl_strerror(rc));
    }
}

static int64_t hw_load(storage_log *log) {
    sl_buf data;
    sl_buf_init(&data);
    int64_t hw = 0;
    if (storage_log_read_aux(log, HW_FILE, &data) == SL_OK) {
        sl_buf_put_u8(&data, 0);
        const char *nl = strchr((const char *)data.data, '\n');
        if (nl && strncmp((const char *)data.data, "0\n", 2) == 0) hw = strtoll(nl + 1, NULL, 10);
    }
    sl_buf_deinit(&data);
    int64_t leo = storage_log_end_offset(log);
    return hw < 0 ? 0 : (hw > leo ? leo : hw);
}

static int partition_open_log(broker *b, broker_partition *p) {
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/%s-%d", b->cfg.data_dir, p->topic->name, p->id);
    partition_resolve_config(b, p);
    storage_log_config sc;
    storage_cfg_from(&p->lcfg, &sc);
    int rc = storage_log_open(dir, &sc, sl_wall_ms(), &p->log);
    if (rc < 0) {
        /* One line a second at most: out of descriptors, thousands of partitions fail
         * together and retry every OPEN_RETRY_MS. */
        int64_t now = sl_now_ms();
        if (now - b->open_fail_log_ms >= 1000) {
            SL_LOG(SL_ERROR, "replica", "log_open_failed",
                   "topic=%s partition=%d dir=%s err=%s suppressed=%lld", p->topic->name, p->id,
                   dir, sl_strerror(rc), (long long)b->open_fail_suppressed);
            b->open_fail_log_ms = now;
            b->open_fail_suppressed = 0;
        } else {
            b->open_fail_suppressed++;
        }
        return rc;
    }
    p->high_watermark = hw_load(p->log);
    p->hw_checkpointed = p->high_watermark;
    p->pstate = broker_pstate_new();
    broker_pstate_load(p->pstate, p->log);
    p->pstate_saved_ms = sl_now_ms();
    SL_LOG(SL_INFO, "replica", "log_opened", "topic=%s partition=%d start=%" PRId64
           " end=%" PRId64 " hw=%" PRId64, p->topic->name, p->id,
           storage_log_start_offset(p->log), storage_log_end_offset(p->log), p->high_watermark);
    return SL_OK;
}

static void ids_assign(metadata_ids *dst, const metadata_ids *src) {
    sl_free(dst->ids);
    dst->count = src->count;
    dst->ids = src->count ? sl_malloc((size_t)src->count * sizeof(int32_t)) : NULL;
    if (src->count) memcpy(dst->ids, src->ids, (size_t)src->count * sizeof(int32_t));
}

/* Stop serving p; delete its log when it is no longer a replica here. */
static void partition_stop(broker *b, broker_partition *p, bool delete_log) {
    p->role = BROKER_ROLE_NONE;
    broker_fetcher_remove(b, p);
    broker_partition_wake(b, p); /* parked requests fail: no longer leader */
    broker_groups_partition_changed(b, p);
    if (p->log) {
        if (delete_log) {
            SL_LOG(SL_INFO, "replica", "log_deleted", "topic=%s partition=%d", p->topic->name,
                   p->id);
            storage_log_delete(p->log);
        } else {
            hw_checkpoint(p);
            broker_pstate_save(p->pstate, p->log);
            storage_log_close(p->log);
        }
        p->log = NULL;
    }
    broker_pstate_free(p->pstate);
    p->pstate = NULL;
}

static void partition_free(broker_partition *p) {
    sl_free(p->replicas.ids);
    sl_free(p->isr.ids);
    sl_free(p->followers);
    sl_free(p);
}

/* ---------------- roles ---------------- */

static broker_follower *follower_find(broker_partition *p, int32_t id) {
    for (int32_t i = 0; i < p->follower_count; i++) {
        if (p->followers[i].id == id) return &p->followers[i];
    }
    return NULL;
}

/* Keep progress for replicas that stay; new ones start unknown. */
static void followers_sync(broker *b, broker_partition *p, bool reset, int64_t now_ms) {
    broker_follower *old = p->followers;
    int32_t old_count = p->follower_count;
    p->followers = sl_calloc((size_t)p->replicas.count + 1, sizeof(broker_follower));
    p->follower_count = 0;
    for (int32_t i = 0; i < p->replicas.count; i++) {
        int32_t id = p->replicas.ids[i];
        if (id == b->cfg.node_id) continue;
        broker_follower *f = &p->followers[p->follower_count++];
        broker_follower *prev = NULL;
        for (int32_t k = 0; k < old_count && !reset; k++) {
            if (old[k].id == id) prev = &old[k];
        }
        if (prev) {
            *f = *prev;
        } else {
            /* Kafka: a new leader treats every ISR member as caught up now, so none
             * is dropped before it had a chance to fetch */
            f->id = id;
            f->leo = -1;
            f->last_fetch_ms = now_ms;
            f->last_caught_up_ms = metadata_ids_contains(&p->isr, id) ? now_ms : 0;
        }
    }
    sl_free(old);
}

static void become_leader(broker *b, broker_partition *p, int64_t now_ms) {
    bool new_epoch = p->role != BROKER_ROLE_LEADER || p->leader_epoch != p->image_leader_epoch;
    broker_fetcher_remove(b, p);
    p->leader_epoch = p->image_leader_epoch;
    p->role = BROKER_ROLE_LEADER;
    followers_sync(b, p, new_epoch, now_ms);
    if (new_epoch) {
        p->epoch_start_offset = storage_log_end_offset(p->log);
        /* A restarted broker replays the metadata log through leader epochs that ended
         * long ago. Recording such an epoch at today's log end would erase every cached
         * entry from it on (assign drops later epochs and later start offsets), so only an
         * epoch newer than the whole cache starts here. */
        if (p->leader_epoch > storage_log_latest_epoch(p->log)) {
            storage_log_epoch_assign(p->log, p->leader_epoch, p->epoch_start_offset);
        }
        SL_LOG(SL_INFO, "replica", "became_leader", "topic=%s partition=%d epoch=%d leo=%" PRId64
               " hw=%" PRId64 " isr_count=%d", p->topic->name, p->id, p->leader_epoch,
               p->epoch_start_offset, p->high_watermark, p->isr.count);
        broker_groups_partition_changed(b, p);
    }
    broker_replica_update_hw(b, p);
    broker_partition_wake(b, p);
}

static void become_follower(broker *b, broker_partition *p, int32_t leader) {
    bool changed = p->role != BROKER_ROLE_FOLLOWER || p->leader_id != leader ||
                   p->leader_epoch != p->image_leader_epoch;
    bool was_leader = p->role == BROKER_ROLE_LEADER;
    p->role = BROKER_ROLE_FOLLOWER;
    p->leader_epoch = p->image_leader_epoch;
    p->leader_id = leader;
    if (!changed) return;
    SL_LOG(SL_INFO, "replica", "became_follower", "topic=%s partition=%d leader=%d epoch=%d"
           " leo=%" PRId64, p->topic->name, p->id, leader, p->leader_epoch,
           storage_log_end_offset(p->log));
    broker_fetcher_remove(b, p);
    if (leader >= 0) broker_fetcher_add(b, p);
    broker_partition_wake(b, p);
    if (was_leader) broker_groups_partition_changed(b, p);
}

static void partition_apply(broker *b, broker_topic *t, const metadata_partition *mp,
                            int64_t now_ms);

/* ---------------- opening logs ----------------
 * Opening a partition's log costs a few milliseconds of file-system work (more for a
 * recovery scan), so a metadata change that brings thousands of partitions here (a big
 * CreateTopics, a restart) would stall the event loop for seconds: fetches, heartbeats
 * and the metadata log's own fetch timeout with it. Logs are opened from a queue instead,
 * OPEN_SLICE_MS at a time, with the loop's other work between slices. A partition whose
 * log is not open yet is not served (NOT_LEADER_OR_FOLLOWER: clients retry). */

#define OPEN_SLICE_MS 20
#define OPEN_RETRY_MS 5000 /* after a failed open (out of descriptors, I/O error) */

typedef struct broker_open_item {
    metadata_uuid topic_id;
    int32_t partition;
} broker_open_item;

static void open_enqueue(broker *b, broker_partition *p) {
    if (p->open_queued || b->shutting_down) return;
    if (b->open_head + b->open_count == b->open_cap) {
        if (b->open_head > 0) { /* slide the live items to the front */
            memmove(b->open_queue, b->open_queue + b->open_head,
                    (size_t)b->open_count * sizeof(*b->open_queue));
            b->open_head = 0;
        }
        if (b->open_count == b->open_cap) {
            b->open_cap = b->open_cap ? b->open_cap * 2 : 64;
            b->open_queue = sl_realloc(b->open_queue, (size_t)b->open_cap * sizeof(*b->open_queue));
        }
    }
    broker_open_item *it = &b->open_queue[b->open_head + b->open_count++];
    it->topic_id = p->topic->id;
    it->partition = p->id;
    p->open_queued = true;
    if (b->open_ev && !evtimer_pending(b->open_ev, NULL)) {
        struct timeval now = { 0, 0 };
        evtimer_add(b->open_ev, &now);
    }
}

/* Open one queued partition's log if it is still hosted here, then apply its state. */
static void open_one(broker *b, const broker_open_item *it, int64_t now_ms) {
    broker_topic *t = sl_map_get(&b->topics_by_id, it->topic_id.b, 16);
    if (!t || it->partition >= t->partition_count) return; /* deleted meanwhile */
    broker_partition *p = t->partitions[it->partition];
    if (!p || !p->open_queued) return;
    p->open_queued = false;
    const metadata_topic *mt = metadata_image_topic_by_id(&b->image, &it->topic_id);
    const metadata_partition *mp = metadata_topic_partition(mt, it->partition);
    if (p->log || !mp || !metadata_ids_contains(&mp->replicas, b->cfg.node_id)) return;
    if (partition_open_log(b, p) < 0) {
        p->open_retry_ms = now_ms + OPEN_RETRY_MS;
        return;
    }
    p->open_retry_ms = 0;
    partition_apply(b, t, mp, now_ms);
}

static void open_cb(evutil_socket_t fd, short what, void *arg) {
    (void)fd;
    (void)what;
    broker *b = arg;
    int64_t start = sl_now_ms();
    int32_t opened = 0;
    while (b->open_count > 0 && !b->shutting_down) {
        broker_open_item it = b->open_queue[b->open_head++];
        b->open_count--;
        open_one(b, &it, start);
        opened++;
        if (sl_now_ms() - start >= OPEN_SLICE_MS) break;
    }
    if (b->open_count == 0) {
        b->open_head = 0;
    } else {
        struct timeval now = { 0, 0 }; /* a timer, so the loop polls sockets first */
        evtimer_add(b->open_ev, &now);
    }
    SL_LOG(SL_DEBUG, "replica", "open_slice", "opened=%d queued=%d ms=%lld", opened,
           b->open_count, (long long)(sl_now_ms() - start));
}

/* Bring p in line with the image's view of it. */
static void partition_apply(broker *b, broker_topic *t, const metadata_partition *mp,
                            int64_t now_ms) {
    broker_partition *p = t->partitions[mp->id];
    bool replica_here = metadata_ids_contains(&mp->replicas, b->cfg.node_id);
    if (!replica_here) {
        if (p && p->log) partition_stop(b, p, true);
        return;
    }
    if (!p) {
        p = SL_NEW(broker_partition);
        p->topic = t;
        p->id = mp->id;
        p->leader_id = -1;
        p->leader_epoch = -1;
        t->partitions[mp->id] = p;
    }
    if (!p->log) {
        open_enqueue(b, p);
        return; /* applied once its log is open */
    }
    if (p->partition_epoch != mp->partition_epoch) p->alter_isr_inflight = false;
    ids_assign(&p->replicas, &mp->replicas);
    ids_assign(&p->isr, &mp->isr);
    p->partition_epoch = mp->partition_epoch;
    p->image_leader_epoch = mp->leader_epoch;
    if (mp->leader == b->cfg.node_id) {
        p->leader_id = b->cfg.node_id;
        become_leader(b, p, now_ms);
    } else {
        become_follower(b, p, mp->leader);
    }
}

static void topic_remove(broker *b, const metadata_delta_topic *dt) {
    broker_topic *t = sl_map_get(&b->topics_by_id, dt->id.b, 16);
    if (!t) return;
    for (int32_t i = 0; i < t->partition_count; i++) {
        broker_partition *p = t->partitions[i];
        if (!p) continue;
        partition_stop(b, p, true);
        partition_free(p);
    }
    sl_map_remove(&b->topics, t->name, strlen(t->name));
    sl_map_remove(&b->topics_by_id, t->id.b, 16);
    sl_free(t->partitions);
    sl_free(t->name);
    sl_free(t);
}

void broker_replica_apply_delta(broker *b, const metadata_delta *delta) {
    int64_t now = sl_now_ms();
    for (int32_t i = 0; i < delta->deleted_count; i++) topic_remove(b, &delta->deleted_topics[i]);
    for (int32_t i = 0; i < delta->partition_count; i++) {
        const metadata_delta_partition *dp = &delta->partitions[i];
        const metadata_topic *mt = metadata_image_topic_by_id(&b->image, &dp->topic_id);
        const metadata_partition *mp = metadata_topic_partition(mt, dp->partition);
        if (!mp) continue;
        partition_apply(b, topic_ensure(b, mt), mp, now);
    }
    if (delta->brokers_changed) broker_fetchers_refresh(b);
}

/* ---------------- high watermark ---------------- */

void broker_replica_update_hw(broker *b, broker_partition *p) {
    if (p->role != BROKER_ROLE_LEADER || !p->log) return;
    if (p->isr.count < p->lcfg.min_insync_replicas) return; /* KIP-966: frozen */
    int64_t hw = storage_log_end_offset(p->log);
    for (int32_t i = 0; i < p->isr.count; i++) {
        int32_t id = p->isr.ids[i];
        if (id == b->cfg.node_id) continue;
        const broker_follower *f = follower_find(p, id);
        int64_t leo = f ? f->leo : -1;
        if (leo < hw) hw = leo;
    }
    if (hw > p->high_watermark) {
        p->high_watermark = hw;
        broker_partition_wake(b, p);
    }
}

void broker_replica_follower_hw(broker *b, broker_partition *p, int64_t leader_hw) {
    int64_t leo = storage_log_end_offset(p->log);
    int64_t hw = leader_hw < leo ? leader_hw : leo;
    if (hw > p->high_watermark) {
        p->high_watermark = hw;
        broker_partition_wake(b, p);
    }
}

/* ---------------- ISR ---------------- */

static void alter_isr_done(broker *b, int16_t error, const ProtobufCMessage *msg, void *arg) {
    (void)arg;
    if (!msg) return; /* timeouts and lost controllers: the tick retries */
    const Md__AlterPartitionResponse *resp = (const Md__AlterPartitionResponse *)msg;
    for (size_t i = 0; i < resp->n_results; i++) {
        const Md__AlterPartitionResult *r = resp->results[i];
        metadata_uuid id;
        if (r->topic_id.len != 16) continue;
        memcpy(id.b, r->topic_id.data, 16);
        broker_partition *p = broker_partition_get_by_id(b, &id, r->partition_id);
        if (!p) continue;
        p->alter_isr_inflight = false;
        if (error || r->error_code) {
            SL_LOG(SL_INFO, "replica", "isr_change_refused", "topic=%s partition=%d error=%s",
                   p->topic->name, p->id, protocol_error_name((int16_t)(error ? error : r->error_code)));
            continue;
        }
        /* Apply the committed ISR now (the metadata log will confirm it). */
        if (r->has_partition_epoch && r->partition_epoch > p->partition_epoch) {
            metadata_ids isr = { r->isr, (int32_t)r->n_isr };
            ids_assign(&p->isr, &isr);
            p->partition_epoch = r->partition_epoch;
            SL_LOG(SL_INFO, "replica", "isr_changed", "topic=%s partition=%d isr_count=%d"
                   " partition_epoch=%d", p->topic->name, p->id, p->isr.count, p->partition_epoch);
            broker_replica_update_hw(b, p);
        }
    }
}

static void alter_isr_send(broker *b, broker_partition *p, const int32_t *isr, int32_t count,
                           int64_t now_ms) {
    Md__AlterPartitionItem item = MD__ALTER_PARTITION_ITEM__INIT;
    item.topic_id = (ProtobufCBinaryData){ 16, p->topic->id.b };
    item.partition_id = p->id;
    item.leader_epoch = p->leader_epoch;
    item.partition_epoch = p->partition_epoch;
    item.n_new_isr = (size_t)count;
    item.new_isr = (int32_t *)isr;
    Md__AlterPartitionItem *items[1] = { &item };
    Md__AlterPartitionRequest req = MD__ALTER_PARTITION_REQUEST__INIT;
    req.broker_id = b->cfg.node_id;
    req.broker_epoch = b->broker_epoch;
    req.n_items = 1;
    req.items = items;
    p->alter_isr_inflight = true;
    p->alter_isr_sent_ms = now_ms;
    SL_LOG(SL_INFO, "replica", "isr_change_requested", "topic=%s partition=%d from=%d to=%d",
           p->topic->name, p->id, p->isr.count, count);
    broker_ctl_call(b, METADATA_RPC_ALTER_PARTITION, &req.base,
                    &md__alter_partition_response__descriptor, ALTER_ISR_RETRY_MS,
                    alter_isr_done, NULL);
}

static bool broker_is_live(broker *b, int32_t id) {
    return metadata_broker_is_live(metadata_image_broker(&b->image, id));
}

/* Compute the ISR p should have now; send it when it differs. */
static void isr_maintain(broker *b, broker_partition *p, int64_t now_ms) {
    if (p->role != BROKER_ROLE_LEADER || b->broker_epoch < 0) return;
    if (p->alter_isr_inflight && now_ms - p->alter_isr_sent_ms < ALTER_ISR_RETRY_MS) return;
    int32_t isr[64];
    int32_t n = 0;
    bool changed = false;
    for (int32_t i = 0; i < p->isr.count && n < 64; i++) {
        int32_t id = p->isr.ids[i];
        const broker_follower *f = follower_find(p, id);
        if (id != b->cfg.node_id && f &&
            now_ms - f->last_caught_up_ms > b->cfg.replica_lag_time_max_ms) {
            changed = true; /* lagging: out */
            continue;
        }
        isr[n++] = id;
    }
    for (int32_t i = 0; i < p->follower_count && n < 64; i++) {
        const broker_follower *f = &p->followers[i];
        if (metadata_ids_contains(&p->isr, f->id)) continue;
        if (f->leo >= p->high_watermark && f->leo >= p->epoch_start_offset &&
            now_ms - f->last_caught_up_ms <= b->cfg.replica_lag_time_max_ms &&
            broker_is_live(b, f->id)) {
            isr[n++] = f->id; /* caught up: in */
            changed = true;
        }
    }
    if (changed) alter_isr_send(b, p, isr, n, now_ms);
}

int16_t broker_replica_follower_fetch(broker *b, broker_partition *p, int32_t replica_id,
                                      int64_t fetch_offset, int64_t now_ms) {
    broker_follower *f = follower_find(p, replica_id);
    if (!f) return PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER;
    int64_t leo = storage_log_end_offset(p->log);
    /* Kafka's Replica.updateFetchState: caught up now if it has everything; caught up as
     * of its previous fetch if it has what the leader had then. */
    if (fetch_offset >= leo) {
        f->last_caught_up_ms = now_ms;
    } else if (fetch_offset >= f->leo_at_last_fetch) {
        f->last_caught_up_ms = f->last_fetch_ms;
    }
    f->leo_at_last_fetch = leo;
    f->last_fetch_ms = now_ms;
    f->leo = fetch_offset > leo ? leo : fetch_offset;
    broker_replica_update_hw(b, p);
    if (!metadata_ids_contains(&p->isr, replica_id) && f->leo >= p->high_watermark) {
        isr_maintain(b, p, now_ms);
    }
    return PROTOCOL_ERR_NONE;
}

/* ---------------- periodic work ---------------- */

static void partition_tick(broker *b, broker_partition *p, int64_t now_ms, int64_t wall_ms,
                           bool retention_due) {
    if (p->role == BROKER_ROLE_LEADER) isr_maintain(b, p, now_ms);
    if (now_ms - p->hw_checkpoint_ms >= HW_CHECKPOINT_MS) {
        p->hw_checkpoint_ms = now_ms;
        hw_checkpoint(p);
    }
    if (p->lcfg.flush_ms != INT64_MAX) storage_log_maybe_flush(p->log, wall_ms);
    if (now_ms - p->pstate_saved_ms >= PSTATE_SAVE_MS && broker_pstate_count(p->pstate) > 0) {
        p->pstate_saved_ms = now_ms;
        broker_pstate_save(p->pstate, p->log);
    }
    if (retention_due) {
        storage_log_maybe_roll(p->log, wall_ms);
        int deleted = 0;
        storage_log_retain(p->log, wall_ms, p->high_watermark, &deleted);
        if (deleted) {
            SL_LOG(SL_INFO, "replica", "segments_deleted", "topic=%s partition=%d count=%d",
                   p->topic->name, p->id, deleted);
        }
    }
}

/* ---------------- compaction ---------------- */

#define CLEAN_IDLE_MS 1000 /* between looks for work (Kafka's log.cleaner.backoff.ms is 15 s) */

static broker_partition *clean_in_progress(broker *b) {
    for (size_t i = 0; i < b->topics.cap; i++) {
        if (!sl_map_slot_used(&b->topics, i)) continue;
        broker_topic *t = b->topics.slots[i].value;
        for (int32_t k = 0; k < t->partition_count; k++) {
            broker_partition *p = t->partitions[k];
            if (p && p->log && p->lcfg.compact && storage_log_clean_in_progress(p->log)) return p;
        }
    }
    return NULL;
}

/* One bounded cleaner call on p; returns true while its pass goes on. */
static bool clean_step(broker_partition *p) {
    storage_clean_config cc;
    storage_clean_config_defaults(&cc);
    cc.min_cleanable_dirty_ratio = p->lcfg.min_cleanable_dirty_ratio;
    cc.delete_retention_ms = p->lcfg.delete_retention_ms;
    cc.min_compaction_lag_ms = p->lcfg.min_compaction_lag_ms;
    cc.max_compaction_lag_ms = p->lcfg.max_compaction_lag_ms;
    cc.clean_before = p->high_watermark;
    storage_clean_stats st;
    int rc = storage_log_clean(p->log, &cc, sl_wall_ms(), &st);
    if (rc < 0) {
        SL_LOG(SL_WARN, "replica", "clean_failed", "topic=%s partition=%d err=%s",
               p->topic->name, p->id, sl_strerror(rc));
        return false;
    }
    if (st.pass_done) {
        SL_LOG(SL_INFO, "replica", "log_cleaned", "topic=%s partition=%d records_removed=%lld"
               " bytes_read=%lld bytes_written=%lld", p->topic->name, p->id,
               (long long)st.records_removed, (long long)st.bytes_read,
               (long long)st.bytes_written);
    }
    return st.more;
}

/* Continue the pass under way, or look at every compacted log until one starts a pass
 * (an idle call only sums segment sizes). One pass at a time bounds the cleaner's memory,
 * as Kafka's single cleaner thread does. */
static void clean_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    broker *b = arg;
    bool more = false;
    broker_partition *cur = clean_in_progress(b);
    if (cur) {
        more = clean_step(cur);
    } else {
        for (size_t i = 0; i < b->topics.cap && !more; i++) {
            if (!sl_map_slot_used(&b->topics, i)) continue;
            broker_topic *t = b->topics.slots[i].value;
            for (int32_t k = 0; k < t->partition_count && !more; k++) {
                broker_partition *p = t->partitions[k];
                if (p && p->log && p->lcfg.compact) more = clean_step(p);
            }
        }
    }
    /* a pass under way continues on the next loop turn; otherwise look again later */
    struct timeval tv = { more ? 0 : CLEAN_IDLE_MS / 1000, more ? 0 : (CLEAN_IDLE_MS % 1000) * 1000 };
    evtimer_add(b->clean_ev, &tv);
}

void broker_replica_start(broker *b) {
    b->open_ev = evtimer_new(b->base, open_cb, b);
    b->clean_ev = evtimer_new(b->base, clean_cb, b);
    struct timeval tv = { CLEAN_IDLE_MS / 1000, 0 };
    evtimer_add(b->clean_ev, &tv);
}

void broker_replica_tick(broker *b, int64_t now_ms) {
    int64_t wall = sl_wall_ms();
    bool retention_due = now_ms - b->retention_last_ms >= b->cfg.retention_check_interval_ms;
    if (retention_due) b->retention_last_ms = now_ms;
    for (size_t i = 0; i < b->topics.cap; i++) {
        if (!sl_map_slot_used(&b->topics, i)) continue;
        broker_topic *t = b->topics.slots[i].value;
        for (int32_t k = 0; k < t->partition_count; k++) {
            broker_partition *p = t->partitions[k];
            if (p && p->log) {
                partition_tick(b, p, now_ms, wall, retention_due);
            } else if (p && p->open_retry_ms && now_ms >= p->open_retry_ms) {
                p->open_retry_ms = 0;
                open_enqueue(b, p);
            }
        }
    }
}

void broker_replica_close_all(broker *b) {
    if (b->clean_ev) {
        event_free(b->clean_ev);
        b->clean_ev = NULL;
    }
    if (b->open_ev) {
        event_free(b->open_ev);
        b->open_ev = NULL;
    }
    sl_free(b->open_queue);
    b->open_queue = NULL;
    b->open_head = b->open_count = b->open_cap = 0;
    for (size_t i = 0; i < b->topics.cap; i++) {
        if (!sl_map_slot_used(&b->topics, i)) continue;
        broker_topic *t = b->topics.slots[i].value;
        for (int32_t k = 0; k < t->partition_count; k++) {
            broker_partition *p = t->partitions[k];
            if (!p) continue;
            partition_stop(b, p, false);
            partition_free(p);
        }
        sl_free(t->partitions);
        sl_free(t->name);
        sl_free(t);
    }
    sl_map_deinit(&b->topics);
    sl_map_deinit(&b->topics_by_id);
    sl_map_init(&b->topics);
    sl_map_init(&b->topics_by_id);
}
