/* broker_group_offsets.c — the group coordinator's pure core, offsets side: OffsetCommit
 * (validated as Kafka's GroupCoordinator does, written to __consumer_offsets, visible once
 * the records are committed), OffsetFetch lookups, DeleteGroups, OffsetDelete, retention
 * (offsets.retention.minutes), and loading a partition's groups from its records.
 *
 * A commit in flight is "pending" on its offset entry (a count), so retention never expires
 * it and OffsetFetch with RequireStable reports UNSTABLE_OFFSET_COMMIT; an entry that only
 * exists because of a pending commit has committed == false. Completions are matched to
 * groups by incarnation: a group removed and recreated meanwhile is not touched. */
#include "broker/broker_group.h"
#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <inttypes.h>
#include <string.h>

#define E(name) PROTOCOL_ERR_##name

/* ---------------- offset entries ---------------- */

/* The map key of (topic, partition): topic bytes then the big-endian partition. */
static uint8_t *offset_key(sl_str topic, int32_t partition, size_t *len_out) {
    size_t tlen = topic.len > 0 ? (size_t)topic.len : 0;
    uint8_t *key = sl_malloc(tlen + 4);
    if (tlen) memcpy(key, topic.ptr, tlen);
    sl_store_be32(key + tlen, (uint32_t)partition);
    *len_out = tlen + 4;
    return key;
}

broker_group_offset *
broker_group_offset_find(const broker_group *g, sl_str topic, int32_t partition) {
    size_t len;
    uint8_t *key = offset_key(topic, partition, &len);
    broker_group_offset *o = sl_map_get(&g->offsets, key, len);
    sl_free(key);
    return o;
}

static broker_group_offset *offset_new(sl_str topic, int32_t partition) {
    broker_group_offset *o = SL_NEW(broker_group_offset);
    o->topic = sl_strndup(topic.len > 0 ? topic.ptr : "", topic.len > 0 ? (size_t)topic.len : 0);
    o->partition = partition;
    o->leader_epoch = -1;
    o->metadata = sl_strdup("");
    o->expire_timestamp_ms = -1;
    o->record_offset = -1;
    o->key = offset_key(topic, partition, &o->key_len);
    return o;
}

static void offset_free(broker_group_offset *o) {
    sl_free(o->topic);
    sl_free(o->metadata);
    sl_free(o->key);
    sl_free(o);
}

static broker_group_offset *offset_get(sl_map *offsets, sl_str topic, int32_t partition) {
    size_t len;
    uint8_t *key = offset_key(topic, partition, &len);
    broker_group_offset *o = sl_map_get(offsets, key, len);
    sl_free(key);
    if (!o) {
        o = offset_new(topic, partition);
        sl_map_put(offsets, o->key, o->key_len, o);
    }
    return o;
}

static void offset_remove(sl_map *offsets, broker_group_offset *o) {
    sl_map_remove(offsets, o->key, o->key_len);
    offset_free(o);
}

static void offsets_map_clear(sl_map *offsets) {
    for (size_t i = 0; i < offsets->cap; i++) {
        if (sl_map_slot_used(offsets, i)) offset_free(offsets->slots[i].value);
    }
    sl_map_deinit(offsets);
    sl_map_init(offsets);
}

void broker_group_offsets_clear(broker_group *g) {
    offsets_map_clear(&g->offsets);
}

bool broker_group_has_offsets(const broker_group *g) {
    return g->offsets.count > 0; /* pending commits count, as in Kafka's hasOffsets */
}

static void offset_set(broker_group_offset *o, const broker_group_offset *v) {
    o->committed = true;
    o->offset = v->offset;
    o->leader_epoch = v->leader_epoch;
    sl_free(o->metadata);
    o->metadata = sl_strdup(v->metadata ? v->metadata : "");
    o->commit_timestamp_ms = v->commit_timestamp_ms;
    o->expire_timestamp_ms = v->expire_timestamp_ms;
    o->record_offset = v->record_offset;
}

/* ---------------- OffsetCommit ---------------- */

typedef struct commit_data {
    void *waiter;
    int32_t count;               /* the request's parts */
    int16_t *errors;             /* per part */
    bool *written;               /* part i is in the records */
    broker_group_offset *values; /* per part (topic, partition, value) when written */
} commit_data;

static void commit_data_free(commit_data *d) {
    if (!d) return;
    for (int32_t i = 0; i < d->count; i++) {
        sl_free(d->values[i].topic);
        sl_free(d->values[i].metadata);
    }
    sl_free(d->values);
    sl_free(d->errors);
    sl_free(d->written);
    sl_free(d);
}

void broker_group_commit_op_free(broker_group_op *op) {
    commit_data_free(op->data);
    op->data = NULL;
}

static void commit_finish(broker_group_core *core, commit_data *d) {
    if (d->waiter) core->cb.commit_done(core->cb.ctx, d->waiter, d->errors, d->count);
}

/* Kafka's storeOffsets error translation. */
static int16_t commit_error(int16_t error) {
    switch (error) {
    case E(UNKNOWN_TOPIC_OR_PARTITION):
    case E(NOT_ENOUGH_REPLICAS):
    case E(NOT_ENOUGH_REPLICAS_AFTER_APPEND):
        return E(COORDINATOR_NOT_AVAILABLE);
    case E(NOT_LEADER_OR_FOLLOWER):
    case E(KAFKA_STORAGE_ERROR):
        return E(NOT_COORDINATOR);
    case E(MESSAGE_TOO_LARGE):
    case E(RECORD_LIST_TOO_LARGE):
    case E(INVALID_FETCH_SIZE):
        return E(INVALID_COMMIT_OFFSET_SIZE);
    default:
        return error;
    }
}

static commit_data *commit_data_new(const broker_group_commit_request *req, void *waiter) {
    commit_data *d = SL_NEW(commit_data);
    d->waiter = waiter;
    d->count = req->part_count;
    d->errors = sl_calloc((size_t)d->count + 1, sizeof(int16_t));
    d->written = sl_calloc((size_t)d->count + 1, sizeof(bool));
    d->values = sl_calloc((size_t)d->count + 1, sizeof(broker_group_offset));
    for (int32_t i = 0; i < d->count; i++)
        d->errors[i] = req->parts[i].error;
    return d;
}

/* Every part still without an error gets err. */
static void commit_fail_rest(commit_data *d, int16_t err) {
    for (int32_t i = 0; i < d->count; i++) {
        if (!d->errors[i]) d->errors[i] = err;
    }
}

/* Kafka's validateOffsetCommit. */
static int16_t commit_validate(const broker_group *g, const broker_group_commit_request *req) {
    if (g->state == BROKER_GROUP_DEAD) return E(COORDINATOR_NOT_AVAILABLE);
    if (req->generation >= 0 || req->member_id.len > 0 || req->group_instance_id.len >= 0) {
        int16_t err = broker_group_validate_member(g, req->member_id, req->group_instance_id);
        if (err) return err;
        return req->generation == g->generation ? E(NONE) : E(ILLEGAL_GENERATION);
    }
    /* a simple (non-group) commit: only while nobody is a member */
    return g->state == BROKER_GROUP_EMPTY ? E(NONE) : E(UNKNOWN_MEMBER_ID);
}

/* Kafka's storeOffsets: build the records, mark them pending, append. */
static void commit_store(broker_group_core *core,
                         broker_group *g,
                         const broker_group_commit_request *req,
                         commit_data *d,
                         broker_group_time now) {
    broker_group_records rs;
    broker_group_records_init(&rs);
    int64_t expire = req->retention_ms >= 0 ? now.wall_ms + req->retention_ms : -1;
    for (int32_t i = 0; i < d->count; i++) {
        const broker_group_commit_part *part = &req->parts[i];
        if (d->errors[i]) continue;
        if (part->metadata.len > BROKER_GROUP_METADATA_MAX_BYTES) {
            d->errors[i] = E(OFFSET_METADATA_TOO_LARGE);
            continue;
        }
        broker_group_offset *v = &d->values[i];
        v->topic = sl_strndup(part->topic.len > 0 ? part->topic.ptr : "",
                              part->topic.len > 0 ? (size_t)part->topic.len : 0);
        v->partition = part->partition;
        v->offset = part->offset;
        v->leader_epoch = part->leader_epoch;
        v->metadata = sl_strndup(part->metadata.len > 0 ? part->metadata.ptr : "",
                                 part->metadata.len > 0 ? (size_t)part->metadata.len : 0);
        v->commit_timestamp_ms =
            part->commit_timestamp_ms >= 0 ? part->commit_timestamp_ms : now.wall_ms;
        v->expire_timestamp_ms = expire;
        d->written[i] = true;
        offset_get(&g->offsets, part->topic, part->partition)->pending++;
        broker_group_records_add_offset(&rs, (sl_str){ g->id, (int32_t)g->id_len }, v);
    }
    if (rs.count == 0) {
        broker_group_records_deinit(&rs);
        commit_finish(core, d);
        commit_data_free(d);
        return;
    }
    broker_group_op *op = broker_group_op_new(core, BROKER_GROUP_OP_COMMIT, g);
    op->data = d;
    broker_group_append(core, g->partition, &rs, op);
    broker_group_records_deinit(&rs);
}

void broker_group_core_commit(broker_group_core *core,
                              const broker_group_commit_request *req,
                              broker_group_time now,
                              void *waiter) {
    commit_data *d = commit_data_new(req, waiter);
    bool any = false;
    for (int32_t i = 0; i < d->count; i++)
        any |= d->errors[i] == E(NONE);
    int16_t err = any ? broker_group_status(core, req->group_id, true) : E(NONE);
    broker_group *g = any && !err ? broker_group_core_find(core, req->group_id) : NULL;
    if (any && !err && !g) {
        /* a group not managed by Kafka (assign() users) is created by its first commit */
        if (req->generation < 0) {
            g = broker_group_create(core, req->group_id, now);
        } else {
            err = E(ILLEGAL_GENERATION);
        }
    }
    if (g) err = commit_validate(g, req);
    if (g && !err && g->state == BROKER_GROUP_COMPLETING_REBALANCE) {
        err = E(REBALANCE_IN_PROGRESS);
    }
    if (!any || err) {
        commit_fail_rest(d, err);
        commit_finish(core, d);
        commit_data_free(d);
        return;
    }
    if (g->state == BROKER_GROUP_STABLE || g->state == BROKER_GROUP_PREPARING_REBALANCE) {
        broker_group_member *m = broker_group_member_find(g, req->member_id);
        if (m) broker_group_heartbeat_schedule(g, m, m->session_timeout_ms, now);
    }
    commit_store(core, g, req, d, now);
}

void broker_group_commit_op_done(broker_group_core *core,
                                 broker_group_op *op,
                                 int16_t error,
                                 int64_t base_offset) {
    commit_data *d = op->data;
    broker_group *g = broker_group_op_group(core, op);
    int16_t mapped = commit_error(error);
    for (int32_t i = 0; i < d->count; i++) {
        if (!d->written[i]) continue;
        d->errors[i] = mapped;
        const broker_group_offset *v = &d->values[i];
        broker_group_offset *o =
            g ? broker_group_offset_find(g, sl_str_c(v->topic), v->partition) : NULL;
        if (!o || o->pending <= 0) continue; /* deleted meanwhile */
        o->pending--;
        if (error == E(NONE)) {
            d->values[i].record_offset = base_offset;
            if (!o->committed || o->record_offset <= base_offset) offset_set(o, v);
        } else if (!o->committed && o->pending == 0) {
            offset_remove(&g->offsets, o);
        }
    }
    if (error) {
        SL_LOG(SL_WARN, "group", "commit_failed", "group=%s error=%s", op->group_id,
               protocol_error_name(error));
    }
    commit_finish(core, d);
}

void broker_group_commit_cancel(broker_group_core *core, void *waiter) {
    for (broker_group_op *op = core->ops; op; op = op->next) {
        commit_data *d = op->kind == BROKER_GROUP_OP_COMMIT ? op->data : NULL;
        if (d && d->waiter == waiter) d->waiter = NULL;
    }
}

int16_t broker_group_core_fetch(broker_group_core *core, sl_str group_id, broker_group **g_out) {
    *g_out = NULL;
    int16_t err = broker_group_status(core, group_id, true);
    if (err) return err;
    broker_group *g = broker_group_core_find(core, group_id);
    if (g && g->state != BROKER_GROUP_DEAD) *g_out = g;
    return E(NONE);
}

/* ---------------- removal: DeleteGroups, OffsetDelete, retention ---------------- */

/* Kafka's cleanupGroupMetadata for one group: tombstones for the offsets already taken out
 * (in rs), and the group itself removed once it is Empty without offsets (a metadata
 * tombstone only if it ever had a generation). Frees g if removed. Returns true then. */
static bool group_cleanup(broker_group_core *core,
                          broker_group *g,
                          broker_group_records *rs,
                          broker_group_time now) {
    if (g->state == BROKER_GROUP_EMPTY && !broker_group_has_offsets(g)) {
        broker_group_transition(g, BROKER_GROUP_DEAD, now);
    }
    bool dead = g->state == BROKER_GROUP_DEAD;
    if (dead && g->generation > 0) {
        broker_group_records_add_group_tombstone(rs, (sl_str){ g->id, (int32_t)g->id_len });
    }
    /* no acks needed: a lost tombstone is written again by the next expiry pass */
    if (rs->count > 0) broker_group_append(core, g->partition, rs, NULL);
    if (dead) {
        SL_LOG(SL_INFO, "group", "group_removed", "group=%s generation=%d", g->id, g->generation);
        broker_group_remove(core, g);
    }
    return dead;
}

static void
offset_tombstone(broker_group_records *rs, const broker_group *g, broker_group_offset *o) {
    broker_group_records_add_offset_tombstone(rs, (sl_str){ g->id, (int32_t)g->id_len },
                                              sl_str_c(o->topic), o->partition);
}

int16_t broker_group_core_delete(broker_group_core *core, sl_str group_id, broker_group_time now) {
    int16_t err = broker_group_status(core, group_id, true);
    if (err) return err;
    broker_group *g = broker_group_core_find(core, group_id);
    if (!g || g->state == BROKER_GROUP_DEAD) return E(GROUP_ID_NOT_FOUND);
    if (g->state != BROKER_GROUP_EMPTY) return E(NON_EMPTY_GROUP);
    broker_group_transition(g, BROKER_GROUP_DEAD, now);
    broker_group_records rs;
    broker_group_records_init(&rs);
    for (size_t i = 0; i < g->offsets.cap; i++) {
        if (sl_map_slot_used(&g->offsets, i)) offset_tombstone(&rs, g, g->offsets.slots[i].value);
    }
    broker_group_offsets_clear(g);
    group_cleanup(core, g, &rs, now);
    broker_group_records_deinit(&rs);
    return E(NONE);
}

int16_t broker_group_core_delete_offsets(broker_group_core *core,
                                         sl_str group_id,
                                         broker_group_topic_partition *parts,
                                         int32_t count,
                                         broker_group_time now) {
    int16_t err = broker_group_status(core, group_id, true);
    if (err) return err;
    broker_group *g = broker_group_core_find(core, group_id);
    if (!g || g->state == BROKER_GROUP_DEAD) return E(GROUP_ID_NOT_FOUND);
    bool consumer = g->protocol_type && strcmp(g->protocol_type, "consumer") == 0;
    if (g->state != BROKER_GROUP_EMPTY && !consumer) return E(NON_EMPTY_GROUP);
    broker_group_records rs;
    broker_group_records_init(&rs);
    for (int32_t i = 0; i < count; i++) {
        broker_group_topic_partition *tp = &parts[i];
        if (tp->error) continue;
        if (g->state != BROKER_GROUP_EMPTY && broker_group_subscribed_to(g, tp->topic)) {
            tp->error = E(GROUP_SUBSCRIBED_TO_TOPIC);
            continue;
        }
        broker_group_offset *o = broker_group_offset_find(g, tp->topic, tp->partition);
        if (o) {
            offset_tombstone(&rs, g, o);
            offset_remove(&g->offsets, o);
        }
    }
    group_cleanup(core, g, &rs, now);
    broker_group_records_deinit(&rs);
    return E(NONE);
}

/* Kafka's removeExpiredOffsets: which offsets of g have passed offsets.retention.minutes. */
static bool offset_expired(const broker_group_core *core,
                           const broker_group *g,
                           const broker_group_offset *o,
                           broker_group_time now) {
    if (!o->committed || o->pending > 0) return false;
    int64_t base;
    if (g->protocol_type && g->state == BROKER_GROUP_EMPTY) {
        /* since the group became empty (its last commit for old metadata formats) */
        base = g->state_timestamp_ms >= 0 ? g->state_timestamp_ms : o->commit_timestamp_ms;
    } else if (g->protocol_type && strcmp(g->protocol_type, "consumer") == 0 &&
               g->subscribed_known && g->state == BROKER_GROUP_STABLE) {
        /* an active consumer group: only topics it no longer subscribes to */
        if (broker_group_subscribed_to(g, sl_str_c(o->topic))) return false;
        base = o->commit_timestamp_ms;
    } else if (!g->protocol_type) {
        base = o->commit_timestamp_ms; /* offsets-only (simple) groups */
    } else {
        return false;
    }
    if (o->expire_timestamp_ms >= 0) return now.wall_ms >= o->expire_timestamp_ms;
    return now.wall_ms - base >= core->cfg.offsets_retention_ms;
}

static int32_t group_expire(broker_group_core *core, broker_group *g, broker_group_time now) {
    broker_group_records rs;
    broker_group_records_init(&rs);
    int32_t expired = 0;
    for (size_t i = 0; i < g->offsets.cap; i++) {
        if (!sl_map_slot_used(&g->offsets, i)) continue;
        broker_group_offset *o = g->offsets.slots[i].value;
        if (!offset_expired(core, g, o, now)) continue;
        offset_tombstone(&rs, g, o);
        offset_remove(&g->offsets, o); /* removal leaves a tombstone slot: the walk goes on */
        expired++;
    }
    group_cleanup(core, g, &rs, now);
    broker_group_records_deinit(&rs);
    return expired;
}

int32_t broker_group_core_expire_offsets(broker_group_core *core, broker_group_time now) {
    size_t n = core->groups.count;
    broker_group **groups = sl_calloc(n + 1, sizeof(*groups));
    size_t k = 0;
    for (size_t i = 0; i < core->groups.cap && k < n; i++) {
        if (sl_map_slot_used(&core->groups, i)) groups[k++] = core->groups.slots[i].value;
    }
    int32_t expired = 0;
    for (size_t i = 0; i < k; i++) {
        if (core->partition_state[groups[i]->partition] != BROKER_GROUP_PARTITION_LOADED) continue;
        expired += group_expire(core, groups[i], now);
    }
    sl_free(groups);
    if (expired) SL_LOG(SL_INFO, "group", "offsets_expired", "count=%d", expired);
    return expired;
}

/* ---------------- loading ---------------- */

/* What the records of one group said so far. */
typedef struct load_group {
    char *id;
    size_t id_len;
    uint8_t *value; /* latest group metadata value, NULL after a tombstone */
    int32_t value_len;
    sl_map offsets; /* key → broker_group_offset */
} load_group;

struct broker_group_load {
    sl_map groups; /* id → load_group */
    int64_t records, skipped;
};

static void load_group_free(load_group *lg) {
    offsets_map_clear(&lg->offsets);
    sl_map_deinit(&lg->offsets);
    sl_free(lg->value);
    sl_free(lg->id);
    sl_free(lg);
}

void broker_group_load_free(broker_group_core *core, int32_t partition) {
    broker_group_load *l = core->loads[partition];
    if (!l) return;
    for (size_t i = 0; i < l->groups.cap; i++) {
        if (sl_map_slot_used(&l->groups, i)) load_group_free(l->groups.slots[i].value);
    }
    sl_map_deinit(&l->groups);
    sl_free(l);
    core->loads[partition] = NULL;
}

void broker_group_core_load_begin(broker_group_core *core, int32_t partition) {
    SL_ASSERT(partition >= 0 && partition < core->partition_count);
    if (core->partition_state[partition] != BROKER_GROUP_PARTITION_NONE) {
        broker_group_core_unload(core, partition);
    }
    broker_group_load *l = SL_NEW(broker_group_load);
    sl_map_init(&l->groups);
    core->loads[partition] = l;
    core->partition_state[partition] = BROKER_GROUP_PARTITION_LOADING;
}

static load_group *load_group_get(broker_group_load *l, sl_str id) {
    load_group *lg = sl_map_get(&l->groups, id.len ? id.ptr : "", (size_t)id.len);
    if (lg) return lg;
    lg = SL_NEW(load_group);
    lg->id = sl_strndup(id.len ? id.ptr : "", (size_t)id.len);
    lg->id_len = (size_t)id.len;
    sl_map_init(&lg->offsets);
    sl_map_put(&l->groups, lg->id, lg->id_len, lg);
    return lg;
}

static void load_offset(load_group *lg, const broker_group_decoded *rec, int64_t offset) {
    if (rec->tombstone) {
        size_t len;
        uint8_t *key = offset_key(rec->topic, rec->partition, &len);
        broker_group_offset *o = sl_map_get(&lg->offsets, key, len);
        sl_free(key);
        if (o) offset_remove(&lg->offsets, o);
        return;
    }
    broker_group_offset *o = offset_get(&lg->offsets, rec->topic, rec->partition);
    broker_group_offset v = { 0 };
    v.offset = rec->offset;
    v.leader_epoch = rec->leader_epoch;
    char *metadata = sl_strndup(rec->metadata.len > 0 ? rec->metadata.ptr : "",
                                rec->metadata.len > 0 ? (size_t)rec->metadata.len : 0);
    v.metadata = metadata;
    v.commit_timestamp_ms = rec->commit_timestamp_ms;
    v.expire_timestamp_ms = rec->expire_timestamp_ms;
    v.record_offset = offset;
    offset_set(o, &v);
    sl_free(metadata);
}

int broker_group_core_load_record(
    broker_group_core *core, int32_t partition, int64_t offset, sl_bytes key, sl_bytes value) {
    broker_group_load *l = core->loads[partition];
    SL_ASSERT(l);
    l->records++;
    broker_group_decoded rec;
    if (broker_group_record_decode(key, value, &rec) < 0) {
        l->skipped++;
        return SL_E_CORRUPT;
    }
    if (rec.kind == BROKER_GROUP_RECORD_OTHER) return SL_OK;
    if (broker_group_core_partition_for(core, rec.group) != partition) {
        l->skipped++; /* written under another partition count: not ours to serve */
        return SL_OK;
    }
    load_group *lg = load_group_get(l, rec.group);
    if (rec.kind == BROKER_GROUP_RECORD_OFFSET) {
        load_offset(lg, &rec, offset);
        return SL_OK;
    }
    sl_free(lg->value);
    lg->value = NULL;
    lg->value_len = 0;
    if (!rec.tombstone) {
        lg->value = sl_malloc((size_t)value.len + 1);
        memcpy(lg->value, value.ptr, (size_t)value.len);
        lg->value_len = value.len;
    }
    return SL_OK;
}

/* One loaded group becomes live (Kafka's loadGroup + onGroupLoaded). */
static void load_group_materialize(broker_group_core *core, load_group *lg, broker_group_time now) {
    sl_str id = { lg->id, (int32_t)lg->id_len };
    if (!lg->value && lg->offsets.count == 0) return; /* removed, nothing left */
    broker_group *g = broker_group_create(core, id, now);
    g->state_timestamp_ms = -1;
    if (lg->value) {
        sl_arena arena;
        sl_arena_init(&arena);
        protocol_GroupMetadataValue v;
        int16_t version;
        if (broker_group_value_decode((sl_bytes){ lg->value, lg->value_len }, &arena, &v,
                                      &version) == SL_OK) {
            broker_group_load_metadata(core, g, &v, now);
        } else {
            SL_LOG(SL_WARN, "group", "group_metadata_unreadable", "group=%s", g->id);
        }
        sl_arena_deinit(&arena);
    }
    sl_map_deinit(&g->offsets);
    g->offsets = lg->offsets; /* moved */
    sl_map_init(&lg->offsets);
}

void broker_group_core_load_end(broker_group_core *core, int32_t partition, broker_group_time now) {
    broker_group_load *l = core->loads[partition];
    SL_ASSERT(l);
    size_t groups = 0;
    for (size_t i = 0; i < l->groups.cap; i++) {
        if (!sl_map_slot_used(&l->groups, i)) continue;
        load_group *lg = l->groups.slots[i].value;
        if (broker_group_core_find(core, (sl_str){ lg->id, (int32_t)lg->id_len })) continue;
        load_group_materialize(core, lg, now);
        groups++;
    }
    SL_LOG(SL_INFO, "group", "partition_loaded",
           "partition=%d records=%" PRId64 " skipped=%" PRId64 " groups=%zu", partition, l->records,
           l->skipped, groups);
    broker_group_load_free(core, partition);
    core->partition_state[partition] = BROKER_GROUP_PARTITION_LOADED;
}

void broker_group_core_unload(broker_group_core *core, int32_t partition) {
    SL_ASSERT(partition >= 0 && partition < core->partition_count);
    broker_group_load_free(core, partition);
    core->partition_state[partition] = BROKER_GROUP_PARTITION_NONE;
    size_t n = core->groups.count, k = 0;
    broker_group **groups = sl_calloc(n + 1, sizeof(*groups));
    for (size_t i = 0; i < core->groups.cap && k < n; i++) {
        if (!sl_map_slot_used(&core->groups, i)) continue;
        broker_group *g = core->groups.slots[i].value;
        if (g->partition == partition) groups[k++] = g;
    }
    for (size_t i = 0; i < k; i++) {
        broker_group *g = groups[i];
        /* Kafka's onGroupUnloaded: parked requests learn the coordinator moved */
        for (int32_t m = 0; m < g->member_count; m++) {
            broker_group_member *mem = g->members[m];
            broker_group_member_join_error(core, mem, sl_str_c(mem->member_id), E(NOT_COORDINATOR));
            broker_group_member_sync_error(core, mem, E(NOT_COORDINATOR));
        }
        broker_group_remove(core, g);
    }
    sl_free(groups);
    SL_LOG(SL_INFO, "group", "partition_unloaded", "partition=%d groups=%zu", partition, k);
}
