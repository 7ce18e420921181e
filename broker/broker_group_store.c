/* broker_group_store.c — the __consumer_offsets record formats (see broker_group.h for the
 * table): encoding offset commits, group metadata and tombstones as Kafka 3.9 writes them,
 * and decoding every key and value version Kafka has written, for loading.
 * Pure: bytes in, bytes out. */
#include "broker/broker_group.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"

#include <string.h>

#define KEY_OFFSET_V0       0
#define KEY_OFFSET_V1       1 /* what Kafka writes */
#define KEY_GROUP_V2        2
#define VALUE_OFFSET_EXPIRE 1 /* offset value with expire_timestamp */
#define VALUE_OFFSET        3 /* offset value Kafka 3.9 writes otherwise */
#define VALUE_OFFSET_MAX    4
#define VALUE_GROUP         3 /* group metadata value Kafka 3.9 writes */
#define VALUE_GROUP_MAX     4

/* ---------------- building ---------------- */

void broker_group_records_init(broker_group_records *rs) {
    memset(rs, 0, sizeof(*rs));
    sl_buf_init(&rs->data);
}

void broker_group_records_deinit(broker_group_records *rs) {
    sl_buf_deinit(&rs->data);
    sl_free(rs->items);
    memset(rs, 0, sizeof(*rs));
}

static struct broker_group_record_pos *records_next(broker_group_records *rs) {
    if (rs->count == rs->cap) {
        rs->cap = rs->cap ? rs->cap * 2 : 8;
        rs->items = sl_realloc(rs->items, (size_t)rs->cap * sizeof(*rs->items));
    }
    struct broker_group_record_pos *pos = &rs->items[rs->count++];
    pos->key_off = rs->data.len;
    return pos;
}

static void offset_key_put(sl_buf *out, sl_str group, sl_str topic, int32_t partition) {
    protocol_OffsetCommitKey k;
    protocol_OffsetCommitKey_init(&k);
    k.group = group;
    k.topic = topic;
    k.partition = partition;
    sl_buf_put_i16(out, KEY_OFFSET_V1);
    protocol_OffsetCommitKey_encode(out, KEY_OFFSET_V1, &k);
}

void broker_group_records_add_offset(broker_group_records *rs,
                                     sl_str group,
                                     const broker_group_offset *o) {
    struct broker_group_record_pos *pos = records_next(rs);
    offset_key_put(&rs->data, group, sl_str_c(o->topic), o->partition);
    pos->key_len = rs->data.len - pos->key_off;
    pos->value_off = rs->data.len;
    protocol_OffsetCommitValue v;
    protocol_OffsetCommitValue_init(&v);
    v.offset = o->offset;
    v.leaderEpoch = o->leader_epoch;
    v.metadata = sl_str_c(o->metadata);
    v.commitTimestamp = o->commit_timestamp_ms;
    v.expireTimestamp = o->expire_timestamp_ms;
    /* Kafka 3.9: v1 when the commit carries an explicit expiry, else v3 */
    int16_t version = o->expire_timestamp_ms >= 0 ? VALUE_OFFSET_EXPIRE : VALUE_OFFSET;
    sl_buf_put_i16(&rs->data, version);
    protocol_OffsetCommitValue_encode(&rs->data, version, &v);
    pos->value_len = (int32_t)(rs->data.len - pos->value_off);
}

void broker_group_records_add_offset_tombstone(broker_group_records *rs,
                                               sl_str group,
                                               sl_str topic,
                                               int32_t partition) {
    struct broker_group_record_pos *pos = records_next(rs);
    offset_key_put(&rs->data, group, topic, partition);
    pos->key_len = rs->data.len - pos->key_off;
    pos->value_off = rs->data.len;
    pos->value_len = -1;
}

static void group_key_put(sl_buf *out, sl_str group) {
    protocol_GroupMetadataKey k;
    protocol_GroupMetadataKey_init(&k);
    k.group = group;
    sl_buf_put_i16(out, KEY_GROUP_V2);
    protocol_GroupMetadataKey_encode(out, KEY_GROUP_V2, &k);
}

static void group_member_value(const broker_group *g,
                               const broker_group_member *m,
                               sl_bytes assignment,
                               protocol_GroupMetadataValue_MemberMetadata *out) {
    protocol_GroupMetadataValue_MemberMetadata_init(out);
    out->memberId = sl_str_c(m->member_id);
    out->groupInstanceId = sl_str_c(m->instance_id);
    out->clientId = sl_str_c(m->client_id);
    out->clientHost = sl_str_c(m->client_host);
    out->rebalanceTimeout = m->rebalance_timeout_ms;
    out->sessionTimeout = m->session_timeout_ms;
    out->subscription = broker_group_member_metadata(m, g->protocol_name);
    out->assignment = assignment;
}

void broker_group_records_add_group(broker_group_records *rs,
                                    const broker_group *g,
                                    const sl_bytes *assignments) {
    struct broker_group_record_pos *pos = records_next(rs);
    group_key_put(&rs->data, (sl_str){ g->id, (int32_t)g->id_len });
    pos->key_len = rs->data.len - pos->key_off;
    pos->value_off = rs->data.len;
    protocol_GroupMetadataValue v;
    protocol_GroupMetadataValue_init(&v);
    v.protocolType = g->protocol_type ? sl_str_c(g->protocol_type) : sl_str_c("");
    v.generation = g->generation;
    v.protocol = sl_str_c(g->protocol_name);
    v.leader = sl_str_c(g->leader_id);
    v.currentStateTimestamp = g->state_timestamp_ms;
    protocol_GroupMetadataValue_MemberMetadata *members =
        sl_calloc((size_t)g->member_count + 1, sizeof(*members));
    for (int32_t i = 0; i < g->member_count; i++) {
        const broker_group_member *m = g->members[i];
        sl_bytes a = assignments ? assignments[i] : (sl_bytes){ m->assignment, m->assignment_len };
        group_member_value(g, m, a, &members[i]);
    }
    v.members.items = members;
    v.members.count = g->member_count;
    sl_buf_put_i16(&rs->data, VALUE_GROUP);
    protocol_GroupMetadataValue_encode(&rs->data, VALUE_GROUP, &v);
    sl_free(members);
    pos->value_len = (int32_t)(rs->data.len - pos->value_off);
}

void broker_group_records_add_group_tombstone(broker_group_records *rs, sl_str group) {
    struct broker_group_record_pos *pos = records_next(rs);
    group_key_put(&rs->data, group);
    pos->key_len = rs->data.len - pos->key_off;
    pos->value_off = rs->data.len;
    pos->value_len = -1;
}

void broker_group_records_view(const broker_group_records *rs, broker_group_record *out) {
    for (int32_t i = 0; i < rs->count; i++) {
        const struct broker_group_record_pos *pos = &rs->items[i];
        out[i].key = (sl_bytes){ rs->data.data + pos->key_off, (int32_t)pos->key_len };
        out[i].value = pos->value_len < 0
                           ? SL_BYTES_NULL
                           : (sl_bytes){ rs->data.data + pos->value_off, pos->value_len };
    }
}

/* ---------------- decoding ---------------- */

static int offset_value_decode(sl_bytes value, broker_group_decoded *out) {
    sl_reader r;
    sl_reader_init(&r, value.ptr, (size_t)value.len);
    int16_t version = sl_reader_i16(&r);
    if (sl_reader_err(&r) || version < 0 || version > VALUE_OFFSET_MAX) return SL_E_CORRUPT;
    protocol_OffsetCommitValue v;
    protocol_OffsetCommitValue_init(&v);
    /* no arrays in this message: the arena is never touched */
    sl_arena arena;
    sl_arena_init(&arena);
    int rc = protocol_OffsetCommitValue_decode(&r, version, &arena, &v);
    sl_arena_deinit(&arena);
    if (rc < 0) return SL_E_CORRUPT;
    out->value_version = version;
    out->offset = v.offset;
    out->leader_epoch = v.leaderEpoch;
    out->metadata = v.metadata.len < 0 ? sl_str_c("") : v.metadata;
    out->commit_timestamp_ms = v.commitTimestamp;
    out->expire_timestamp_ms = version == VALUE_OFFSET_EXPIRE ? v.expireTimestamp : -1;
    return SL_OK;
}

int broker_group_record_decode(sl_bytes key, sl_bytes value, broker_group_decoded *out) {
    memset(out, 0, sizeof(*out));
    out->expire_timestamp_ms = -1;
    out->leader_epoch = -1;
    if (key.len < 2) return SL_E_CORRUPT;
    sl_reader r;
    sl_reader_init(&r, key.ptr, (size_t)key.len);
    int16_t version = sl_reader_i16(&r);
    sl_arena arena;
    sl_arena_init(&arena);
    int rc = SL_OK;
    if (version == KEY_OFFSET_V0 || version == KEY_OFFSET_V1) {
        protocol_OffsetCommitKey k;
        protocol_OffsetCommitKey_init(&k);
        rc = protocol_OffsetCommitKey_decode(&r, version, &arena, &k);
        out->kind = BROKER_GROUP_RECORD_OFFSET;
        out->group = k.group;
        out->topic = k.topic;
        out->partition = k.partition;
    } else if (version == KEY_GROUP_V2) {
        protocol_GroupMetadataKey k;
        protocol_GroupMetadataKey_init(&k);
        rc = protocol_GroupMetadataKey_decode(&r, version, &arena, &k);
        out->kind = BROKER_GROUP_RECORD_GROUP;
        out->group = k.group;
    } else {
        out->kind = BROKER_GROUP_RECORD_OTHER; /* KIP-848 / share-group records */
    }
    sl_arena_deinit(&arena);
    if (rc < 0 || (out->kind != BROKER_GROUP_RECORD_OTHER && out->group.len < 0)) {
        return SL_E_CORRUPT;
    }
    if (out->kind == BROKER_GROUP_RECORD_OFFSET && out->topic.len < 0) return SL_E_CORRUPT;
    out->tombstone = value.len < 0;
    if (out->kind == BROKER_GROUP_RECORD_OFFSET && !out->tombstone) {
        return offset_value_decode(value, out);
    }
    return SL_OK;
}

int broker_group_value_decode(sl_bytes value,
                              sl_arena *arena,
                              protocol_GroupMetadataValue *out,
                              int16_t *version_out) {
    if (value.len < 2) return SL_E_CORRUPT;
    sl_reader r;
    sl_reader_init(&r, value.ptr, (size_t)value.len);
    int16_t version = sl_reader_i16(&r);
    if (version < 0 || version > VALUE_GROUP_MAX) return SL_E_CORRUPT;
    protocol_GroupMetadataValue_init(out);
    if (protocol_GroupMetadataValue_decode(&r, version, arena, out) < 0) return SL_E_CORRUPT;
    if (out->members.count < 0) out->members.count = 0;
    for (int32_t i = 0; i < out->members.count; i++) {
        protocol_GroupMetadataValue_MemberMetadata *m = &out->members.items[i];
        if (m->memberId.len < 0) return SL_E_CORRUPT;
        if (version == 0) m->rebalanceTimeout = m->sessionTimeout; /* v0 had none */
    }
    *version_out = version;
    return SL_OK;
}

int broker_group_subscription_topics(sl_bytes metadata,
                                     sl_arena *arena,
                                     sl_str **topics_out,
                                     int32_t *count_out) {
    if (metadata.len < 2) return SL_E_CORRUPT;
    sl_reader r;
    sl_reader_init(&r, metadata.ptr, (size_t)metadata.len);
    int16_t version = sl_reader_i16(&r);
    if (version < 0) return SL_E_CORRUPT;
    /* Kafka parses every version as v0 (topics, user data), the prefix of all of them */
    protocol_ConsumerProtocolSubscription s;
    protocol_ConsumerProtocolSubscription_init(&s);
    if (protocol_ConsumerProtocolSubscription_decode(&r, 0, arena, &s) < 0) return SL_E_CORRUPT;
    if (s.Topics.count < 0) return SL_E_CORRUPT;
    for (int32_t i = 0; i < s.Topics.count; i++) {
        if (s.Topics.items[i].len < 0) return SL_E_CORRUPT;
    }
    *topics_out = s.Topics.items;
    *count_out = s.Topics.count;
    return SL_OK;
}
