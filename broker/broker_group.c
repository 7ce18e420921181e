/* broker_group.c — the group coordinator in the broker: the broker_groups object, loading
 * and unloading __consumer_offsets partitions as leadership moves, appending the core's
 * records, its timers, and FindCoordinator.
 *
 * broker_groups exists while this broker leads (or is loading) some __consumer_offsets
 * partition, or has appends of the core outstanding; it is created on the first such
 * partition and freed when the last one goes, so a broker that coordinates nothing carries
 * nothing. Loading reads the partition from its log start to the log end offset at the
 * time leadership arrived (as Kafka does: a new leader's own log is the truth, including
 * records its high watermark has not passed yet) in steps of LOAD_STEP_BYTES from the event
 * loop, so other partitions keep being served; meanwhile its groups answer
 * COORDINATOR_LOAD_IN_PROGRESS. Append completions are handed to the core from a deferred
 * event, never from inside the core's own call (broker_append_internal may complete at once).
 *
 * FindCoordinator: the coordinator of group g is the leader of __consumer_offsets
 * partition abs(javaHashCode(g)) % partitions, answered from the metadata image (like Kafka,
 * without waiting for that broker to finish loading); the topic is created on first use. */
#include "broker/broker_int.h"
#include "broker/broker_group.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_hash.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define LOAD_STEP_BYTES      (4 << 20)  /* read per event-loop turn while loading */
#define LOAD_READ_BYTES      (1 << 20)  /* one storage read */
#define LOAD_DECOMPRESS_MAX  (64 << 20) /* cap on one compressed batch's records */
#define OFFSETS_TOPIC_LEN    (sizeof(BROKER_GROUP_OFFSETS_TOPIC) - 1)
#define KEY_TYPE_GROUP       0
#define KEY_TYPE_TRANSACTION 1

typedef struct group_loader group_loader;
typedef struct group_done group_done;

struct broker_groups {
    broker *b;
    broker_group_core *core;
    struct event *tick;     /* every BROKER_GROUP_TICK_MS */
    struct event *deferred; /* hands finished appends to the core */
    group_done *done_head, *done_tail;
    group_loader *loaders;
    int64_t expire_last_ms;
    broker_group_lag *lag;
};

/* An append the core waits for. */
struct group_done {
    broker_groups *gs;
    broker_group_op *op;
    int16_t error;
    int64_t base_offset;
    group_done *next;
};

/* A partition being read. */
struct group_loader {
    broker_groups *gs;
    int32_t partition;
    int64_t next; /* next offset to read */
    int64_t end;  /* log end offset when leadership arrived */
    int64_t started_ms;
    struct event *ev;
    sl_buf data, scratch;
    group_loader *next_loader;
};

static void groups_maybe_free(broker *b);

broker_group_time broker_groups_now(void) {
    return (broker_group_time){ sl_now_ms(), sl_wall_ms() };
}

broker_group_core *broker_groups_core(broker *b) {
    return b->groups ? b->groups->core : NULL;
}

/* ---------------- appends ---------------- */

static void append_done(broker *b, void *arg, int16_t error, int64_t base_offset) {
    (void)b;
    group_done *d = arg;
    if (!d) {
        /* tombstones are written without waiting, as Kafka does: the next expiry pass or
         * delete writes them again if they are lost */
        if (error) {
            SL_LOG(SL_DEBUG, "group", "tombstone_append_failed", "error=%s",
                   protocol_error_name(error));
        }
        return;
    }
    d->error = error;
    d->base_offset = base_offset;
    broker_groups *gs = d->gs;
    if (gs->done_tail) {
        gs->done_tail->next = d;
    } else {
        gs->done_head = d;
    }
    gs->done_tail = d;
    event_active(gs->deferred, EV_TIMEOUT, 0);
}

static void groups_flush_done(broker_groups *gs) {
    for (int guard = 0; guard < 1 << 20 && gs->done_head; guard++) {
        group_done *d = gs->done_head;
        gs->done_head = d->next;
        if (!gs->done_head) gs->done_tail = NULL;
        broker_group_core_append_done(gs->core, d->op, d->error, d->base_offset,
                                      broker_groups_now());
        sl_free(d);
    }
}

static void deferred_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    broker_groups *gs = arg;
    groups_flush_done(gs);
    groups_maybe_free(gs->b); /* may free gs: nothing after this */
}

/* The core's append: one uncompressed batch, acks=all (offsets.commit.timeout.ms). */
static void glue_append(void *ctx,
                        int32_t partition,
                        const broker_group_record *records,
                        int32_t count,
                        broker_group_op *op) {
    broker *b = ctx;
    broker_groups *gs = b->groups;
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    protocol_batch_builder bb;
    protocol_batch_builder_init(&bb, &opt);
    int64_t now = sl_wall_ms();
    for (int32_t i = 0; i < count; i++) {
        protocol_batch_builder_add(&bb, now, records[i].key, records[i].value, NULL, 0);
    }
    sl_buf batch;
    sl_buf_init(&batch);
    int rc = protocol_batch_builder_finish(&bb, &batch);
    protocol_batch_builder_deinit(&bb);
    group_done *d = NULL;
    if (op) {
        d = SL_NEW(group_done);
        d->gs = gs;
        d->op = op;
    }
    if (rc < 0) {
        append_done(b, d, PROTOCOL_ERR_RECORD_LIST_TOO_LARGE, -1);
    } else {
        broker_partition *p =
            broker_partition_get(b, BROKER_GROUP_OFFSETS_TOPIC, OFFSETS_TOPIC_LEN, partition);
        broker_append_internal(b, p, batch.data, batch.len, b->cfg.offsets_commit_timeout_ms,
                               append_done, d);
    }
    sl_buf_deinit(&batch);
}

/* ---------------- loading ---------------- */

static void loader_free(broker_groups *gs, group_loader *l) {
    for (group_loader **pp = &gs->loaders; *pp; pp = &(*pp)->next_loader) {
        if (*pp == l) {
            *pp = l->next_loader;
            break;
        }
    }
    event_free(l->ev);
    sl_buf_deinit(&l->data);
    sl_buf_deinit(&l->scratch);
    sl_free(l);
}

static group_loader *loader_find(broker_groups *gs, int32_t partition) {
    for (group_loader *l = gs->loaders; l; l = l->next_loader) {
        if (l->partition == partition) return l;
    }
    return NULL;
}

/* Feed the records of the whole batches in l->data to the core; advances l->next. */
static void loader_feed(group_loader *l) {
    const uint8_t *p = l->data.data;
    size_t len = l->data.len, off = 0;
    while (off < len) {
        size_t size;
        protocol_batch_header h;
        if (protocol_batch_size(p + off, len - off, len - off, &size) != SL_OK ||
            protocol_batch_header_parse(p + off, size, &h) != SL_OK) {
            break;
        }
        l->next = protocol_batch_last_offset(&h) + 1;
        /* control batches carry no group data; transactional offset commits (TxnOffsetCommit)
         * are not served by this coordinator */
        if (!protocol_batch_is_control(&h) && !protocol_batch_is_transactional(&h)) {
            protocol_record_iter it;
            protocol_record rec;
            int rc =
                protocol_record_iter_init(&it, p + off, size, &l->scratch, LOAD_DECOMPRESS_MAX);
            while (rc == SL_OK && protocol_record_iter_next(&it, &rec) == 1) {
                if (rec.key.len < 0) continue;
                if (broker_group_core_load_record(l->gs->core, l->partition, rec.offset, rec.key,
                                                  rec.value) < 0) {
                    SL_LOG(SL_WARN, "group", "load_record_skipped", "partition=%d offset=%" PRId64,
                           l->partition, rec.offset);
                }
            }
        }
        off += size;
    }
}

static void loader_finish(group_loader *l) {
    broker_groups *gs = l->gs;
    broker_group_core_load_end(gs->core, l->partition, broker_groups_now());
    SL_LOG(SL_INFO, "group", "load_finished", "partition=%d end=%" PRId64 " ms=%" PRId64,
           l->partition, l->end, sl_now_ms() - l->started_ms);
    loader_free(gs, l);
}

static void loader_step_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    group_loader *l = arg;
    broker *b = l->gs->b;
    broker_partition *p =
        broker_partition_get(b, BROKER_GROUP_OFFSETS_TOPIC, OFFSETS_TOPIC_LEN, l->partition);
    if (!p || !p->log || p->role != BROKER_ROLE_LEADER) return; /* unload follows */
    size_t budget = 0;
    while (l->next < l->end && budget < LOAD_STEP_BYTES) {
        sl_buf_reset(&l->data);
        int rc = storage_log_read_copy(p->log, l->next, LOAD_READ_BYTES, l->end, true, &l->data);
        if (rc == SL_E_RANGE && l->next < storage_log_start_offset(p->log)) {
            l->next = storage_log_start_offset(p->log);
            continue;
        }
        if (rc < 0 || l->data.len == 0) {
            if (rc < 0) {
                SL_LOG(SL_ERROR, "group", "load_read_failed",
                       "partition=%d offset=%" PRId64 " err=%s", l->partition, l->next,
                       sl_strerror(rc));
            }
            break;
        }
        int64_t before = l->next;
        loader_feed(l);
        if (l->next <= before) break; /* no whole batch: the log is damaged here */
        budget += l->data.len;
    }
    if (l->next < l->end && budget >= LOAD_STEP_BYTES) {
        event_active(l->ev, EV_TIMEOUT, 0); /* more next turn */
        return;
    }
    loader_finish(l);
}

static void loader_start(broker_groups *gs, broker_partition *p) {
    group_loader *l = SL_NEW(group_loader);
    l->gs = gs;
    l->partition = p->id;
    l->next = storage_log_start_offset(p->log);
    l->end = storage_log_end_offset(p->log);
    l->started_ms = sl_now_ms();
    sl_buf_init(&l->data);
    sl_buf_init(&l->scratch);
    l->ev = event_new(gs->b->base, -1, 0, loader_step_cb, l);
    l->next_loader = gs->loaders;
    gs->loaders = l;
    broker_group_core_load_begin(gs->core, p->id);
    SL_LOG(SL_INFO, "group", "load_started", "partition=%d start=%" PRId64 " end=%" PRId64, p->id,
           l->next, l->end);
    event_active(l->ev, EV_TIMEOUT, 0);
}

/* ---------------- the object ---------------- */

static void tick_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    broker_groups *gs = arg;
    broker *b = gs->b;
    broker_group_time now = broker_groups_now();
    broker_group_core_tick(gs->core, now);
    if (now.mono_ms - gs->expire_last_ms >= b->cfg.offsets_retention_check_ms) {
        gs->expire_last_ms = now.mono_ms;
        broker_group_core_expire_offsets(gs->core, now);
    }
    broker_group_lag_tick(gs->lag, now.mono_ms);
}

static int32_t offsets_partitions(broker *b) {
    const metadata_topic *t =
        metadata_image_topic(&b->image, BROKER_GROUP_OFFSETS_TOPIC, OFFSETS_TOPIC_LEN);
    return t && t->partition_count > 0 ? t->partition_count : b->cfg.offsets_topic_partitions;
}

static broker_groups *groups_ensure(broker *b) {
    if (b->groups) return b->groups;
    broker_groups *gs = SL_NEW(broker_groups);
    gs->b = b;
    broker_group_config cfg = { 0 };
    cfg.partitions = offsets_partitions(b);
    cfg.min_session_timeout_ms = b->cfg.group_min_session_timeout_ms;
    cfg.max_session_timeout_ms = b->cfg.group_max_session_timeout_ms;
    cfg.max_size = b->cfg.group_max_size;
    cfg.initial_rebalance_delay_ms = b->cfg.group_initial_rebalance_delay_ms;
    cfg.offsets_retention_ms = (int64_t)b->cfg.offsets_retention_minutes * 60000;
    broker_group_callbacks cb = { b, broker_group_api_join_done, broker_group_api_sync_done,
                                  broker_group_api_commit_done, glue_append };
    gs->core = broker_group_core_new(&cfg, &cb, sl_rand_u64(&b->rng));
    gs->tick = event_new(b->base, -1, EV_PERSIST, tick_cb, gs);
    struct timeval tv = { 0, BROKER_GROUP_TICK_MS * 1000 };
    event_add(gs->tick, &tv);
    gs->deferred = event_new(b->base, -1, 0, deferred_cb, gs);
    gs->expire_last_ms = sl_now_ms();
    gs->lag = broker_group_lag_new(b);
    b->groups = gs;
    SL_LOG(SL_INFO, "group", "coordinator_started", "partitions=%d", cfg.partitions);
    return gs;
}

/* Free the coordinator once it serves nothing and waits for nothing. */
static void groups_maybe_free(broker *b) {
    broker_groups *gs = b->groups;
    if (!gs || gs->loaders || gs->done_head) return;
    if (broker_group_core_partitions_owned(gs->core) > 0) return;
    if (broker_group_core_ops_pending(gs->core) > 0) return;
    broker_group_core_free(gs->core);
    broker_group_lag_free(gs->lag);
    event_free(gs->tick);
    event_free(gs->deferred);
    sl_free(gs);
    b->groups = NULL;
    SL_LOG(SL_INFO, "group", "coordinator_stopped", "");
}

void broker_groups_partition_changed(broker *b, broker_partition *p) {
    if (strcmp(p->topic->name, BROKER_GROUP_OFFSETS_TOPIC) != 0) return;
    bool leads = p->role == BROKER_ROLE_LEADER && p->log;
    if (!leads && !b->groups) return;
    broker_groups *gs = groups_ensure(b);
    groups_flush_done(gs); /* appends this change just failed go to the core first */
    if (p->topic->partition_count != broker_group_core_partitions(gs->core)) {
        while (gs->loaders)
            loader_free(gs, gs->loaders);
        broker_group_core_set_partitions(gs->core, p->topic->partition_count);
    }
    int state = broker_group_core_partition_state(gs->core, p->id);
    if (leads && state == BROKER_GROUP_PARTITION_NONE) {
        loader_start(gs, p);
    } else if (!leads && state != BROKER_GROUP_PARTITION_NONE) {
        group_loader *l = loader_find(gs, p->id);
        if (l) loader_free(gs, l);
        broker_group_core_unload(gs->core, p->id);
    }
    groups_maybe_free(b);
}

void broker_groups_collect_metrics(broker *b, sl_buf *out) {
    broker_groups *gs = b->groups;
    broker_group_lag_collect(b, gs ? gs->lag : NULL, gs ? gs->core : NULL, out);
}

/* ---------------- FindCoordinator ---------------- */

typedef struct coordinator {
    int16_t error;
    int32_t node_id;
    sl_str host;
    int32_t port;
} coordinator;

static void offsets_topic_create(broker *b) {
    char segment[32];
    snprintf(segment, sizeof(segment), "%d", b->cfg.offsets_topic_segment_bytes);
    const char *configs[] = {
        "cleanup.policy", "compact", "segment.bytes", segment, "compression.type", "producer", NULL
    };
    broker_auto_create_topic(b, BROKER_GROUP_OFFSETS_TOPIC, OFFSETS_TOPIC_LEN,
                             b->cfg.offsets_topic_partitions, (int16_t)b->cfg.offsets_topic_rf,
                             configs);
}

static coordinator coordinator_find(broker_request *req, sl_str key, int8_t key_type) {
    broker *b = req->conn->b;
    coordinator c = { PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE, -1, sl_str_c(""), -1 };
    if (key_type == KEY_TYPE_TRANSACTION) return c; /* no transaction coordinator yet */
    if (key_type != KEY_TYPE_GROUP || key.len < 0) {
        c.error = PROTOCOL_ERR_INVALID_REQUEST;
        return c;
    }
    const metadata_topic *t =
        metadata_image_topic(&b->image, BROKER_GROUP_OFFSETS_TOPIC, OFFSETS_TOPIC_LEN);
    if (!t || t->partition_count <= 0) {
        offsets_topic_create(b);
        return c;
    }
    int32_t partition =
        sl_java_hash_partition(key.len ? key.ptr : "", (size_t)key.len, t->partition_count);
    const metadata_partition *mp = metadata_topic_partition(t, partition);
    const metadata_broker *mb =
        mp && mp->leader >= 0 ? metadata_image_broker(&b->image, mp->leader) : NULL;
    if (!mb || !metadata_broker_is_live(mb)) return c;
    const metadata_endpoint *ep =
        metadata_broker_endpoint(mb, b->cfg.listen[req->conn->listener_index].name);
    if (!ep) return c;
    c.error = PROTOCOL_ERR_NONE;
    c.node_id = mb->id;
    c.host = sl_str_c(ep->host);
    c.port = ep->port;
    return c;
}

static sl_str coordinator_message(int16_t error) {
    return error ? sl_str_c(protocol_error_name(error)) : SL_STR_NULL;
}

broker_handled broker_handle_find_coordinator(broker_request *req) {
    protocol_FindCoordinatorRequest *fr = broker_request_decode(req);
    if (!fr) return BROKER_CLOSE;
    protocol_FindCoordinatorResponse *resp = broker_response_new(req);
    if (req->hdr.api_version < 4) {
        coordinator c = coordinator_find(req, fr->Key, fr->KeyType);
        resp->ErrorCode = c.error;
        resp->ErrorMessage = coordinator_message(c.error);
        resp->NodeId = c.node_id;
        resp->Host = c.host;
        resp->Port = c.port;
        broker_respond(req, resp);
        return BROKER_DONE;
    }
    int32_t n = fr->CoordinatorKeys.count > 0 ? fr->CoordinatorKeys.count : 0;
    resp->Coordinators.items =
        sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*resp->Coordinators.items));
    resp->Coordinators.count = n;
    for (int32_t i = 0; i < n; i++) {
        protocol_FindCoordinatorResponse_Coordinator *item = &resp->Coordinators.items[i];
        protocol_FindCoordinatorResponse_Coordinator_init(item);
        coordinator c = coordinator_find(req, fr->CoordinatorKeys.items[i], fr->KeyType);
        item->Key = fr->CoordinatorKeys.items[i];
        item->ErrorCode = c.error;
        item->ErrorMessage = coordinator_message(c.error);
        item->NodeId = c.node_id;
        item->Host = c.host;
        item->Port = c.port;
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}
