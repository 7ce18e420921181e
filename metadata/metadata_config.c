/* metadata_config.c — topic names, topic-level configuration (Kafka's keys, defaults and
 * ranges) and how an effective value is resolved from the layers that can set it. */
#include "metadata/metadata_int.h"
#include "common/sl_err.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOCHECK 1, 0 /* min > max: no range check */
#define X SIZE_MAX   /* validate-only definitions store nothing */

/* Kafka 3.9 LogConfig: name, type, default, range, choices, doc. */
static const sl_cfg_def topic_defs[] = {
    { "cleanup.policy", SL_CFG_LIST, X, "delete", NOCHECK, "delete,compact", 0,
      "Retention policy for old segments: delete, compact, or both" },
    { "compression.type", SL_CFG_STRING, X, "producer", NOCHECK,
      "uncompressed,zstd,lz4,snappy,gzip,producer", 0,
      "Final compression of the topic's data; producer keeps the producer's codec" },
    { "compression.gzip.level", SL_CFG_INT, X, "-1", -1, 9, NULL, 0, "gzip level (-1 default)" },
    { "compression.lz4.level", SL_CFG_INT, X, "9", 1, 17, NULL, 0, "lz4 level" },
    { "compression.zstd.level", SL_CFG_INT, X, "3", -131072, 22, NULL, 0, "zstd level" },
    { "delete.retention.ms", SL_CFG_LONG, X, "86400000", 0, INT64_MAX, NULL, 0,
      "How long tombstones are kept on compacted topics" },
    { "file.delete.delay.ms", SL_CFG_LONG, X, "60000", 0, INT64_MAX, NULL, 0,
      "Delay before a deleted segment's files are removed" },
    { "flush.messages", SL_CFG_LONG, X, "9223372036854775807", 1, INT64_MAX, NULL, 0,
      "Force an fsync after this many messages (1 = every append)" },
    { "flush.ms", SL_CFG_LONG, X, "9223372036854775807", 0, INT64_MAX, NULL, 0,
      "Force an fsync after this many milliseconds" },
    { "follower.replication.throttled.replicas", SL_CFG_LIST, X, "", NOCHECK, NULL, 0,
      "Replicas throttled on the follower side" },
    { "index.interval.bytes", SL_CFG_INT, X, "4096", 0, INT32_MAX, NULL, 0,
      "Bytes between offset index entries" },
    { "leader.replication.throttled.replicas", SL_CFG_LIST, X, "", NOCHECK, NULL, 0,
      "Replicas throttled on the leader side" },
    { "max.compaction.lag.ms", SL_CFG_LONG, X, "9223372036854775807", 1, INT64_MAX, NULL, 0,
      "Longest time a message stays ineligible for compaction" },
    { "max.message.bytes", SL_CFG_INT, X, "1048588", 0, INT32_MAX, NULL, 0,
      "Largest record batch size allowed" },
    { "message.downconversion.enable", SL_CFG_BOOL, X, "true", NOCHECK, NULL, 0,
      "Down-convert for old consumers (sluice stores magic 2 only)" },
    { "message.timestamp.after.max.ms", SL_CFG_LONG, X, "9223372036854775807", 0, INT64_MAX,
      NULL, 0, "How far a CreateTime may be ahead of the broker's clock" },
    { "message.timestamp.before.max.ms", SL_CFG_LONG, X, "9223372036854775807", 0, INT64_MAX,
      NULL, 0, "How far a CreateTime may be behind the broker's clock" },
    { "message.timestamp.difference.max.ms", SL_CFG_LONG, X, "9223372036854775807", 0,
      INT64_MAX, NULL, 0, "Deprecated: maximum timestamp difference" },
    { "message.timestamp.type", SL_CFG_STRING, X, "CreateTime", NOCHECK,
      "CreateTime,LogAppendTime", 0, "Timestamp stored in records" },
    { "min.cleanable.dirty.ratio", SL_CFG_DOUBLE, X, "0.5", 0, 1, NULL, 0,
      "Dirty ratio that starts compaction" },
    { "min.compaction.lag.ms", SL_CFG_LONG, X, "0", 0, INT64_MAX, NULL, 0,
      "Minimum time a message stays uncompacted" },
    { "min.insync.replicas", SL_CFG_INT, X, "1", 1, INT32_MAX, NULL, 0,
      "In-sync replicas needed to accept acks=all writes" },
    { "preallocate", SL_CFG_BOOL, X, "false", NOCHECK, NULL, 0,
      "Preallocate segment files" },
    { "retention.bytes", SL_CFG_LONG, X, "-1", -1, INT64_MAX, NULL, 0,
      "Largest size of a partition before old segments are deleted (-1 = unlimited)" },
    { "retention.ms", SL_CFG_LONG, X, "604800000", -1, INT64_MAX, NULL, 0,
      "How long segments are kept (-1 = forever)" },
    { "segment.bytes", SL_CFG_INT, X, "1073741824", 14, INT32_MAX, NULL, 0, "Segment file size" },
    { "segment.index.bytes", SL_CFG_INT, X, "10485760", 4, INT32_MAX, NULL, 0,
      "Offset index size" },
    { "segment.jitter.ms", SL_CFG_LONG, X, "0", 0, INT64_MAX, NULL, 0,
      "Random jitter subtracted from segment.ms" },
    { "segment.ms", SL_CFG_LONG, X, "604800000", 1, INT64_MAX, NULL, 0,
      "Time after which a segment rolls" },
    { "unclean.leader.election.enable", SL_CFG_BOOL, X, "false", NOCHECK, NULL, 0,
      "Let an out-of-sync replica lead when no in-sync replica is alive (may lose data)" },
};

const sl_cfg_table metadata_topic_config_table = { "topic", topic_defs,
                                                   sizeof(topic_defs) / sizeof(topic_defs[0]) };

static const struct {
    const char *topic_key, *broker_key;
} synonyms[] = {
    { "cleanup.policy", "log.cleanup.policy" },
    { "compression.type", "compression.type" },
    { "compression.gzip.level", "compression.gzip.level" },
    { "compression.lz4.level", "compression.lz4.level" },
    { "compression.zstd.level", "compression.zstd.level" },
    { "delete.retention.ms", "log.cleaner.delete.retention.ms" },
    { "file.delete.delay.ms", "log.segment.delete.delay.ms" },
    { "flush.messages", "log.flush.interval.messages" },
    { "flush.ms", "log.flush.interval.ms" },
    { "index.interval.bytes", "log.index.interval.bytes" },
    { "max.compaction.lag.ms", "log.cleaner.max.compaction.lag.ms" },
    { "max.message.bytes", "message.max.bytes" },
    { "message.downconversion.enable", "log.message.downconversion.enable" },
    { "message.timestamp.after.max.ms", "log.message.timestamp.after.max.ms" },
    { "message.timestamp.before.max.ms", "log.message.timestamp.before.max.ms" },
    { "message.timestamp.difference.max.ms", "log.message.timestamp.difference.max.ms" },
    { "message.timestamp.type", "log.message.timestamp.type" },
    { "min.cleanable.dirty.ratio", "log.cleaner.min.cleanable.ratio" },
    { "min.compaction.lag.ms", "log.cleaner.min.compaction.lag.ms" },
    { "min.insync.replicas", "min.insync.replicas" },
    { "preallocate", "log.preallocate" },
    { "retention.bytes", "log.retention.bytes" },
    { "retention.ms", "log.retention.ms" },
    { "segment.bytes", "log.segment.bytes" },
    { "segment.index.bytes", "log.index.size.max.bytes" },
    { "segment.jitter.ms", "log.roll.jitter.ms" },
    { "segment.ms", "log.roll.ms" },
    { "unclean.leader.election.enable", "unclean.leader.election.enable" },
};

#define SYNONYM_COUNT (sizeof(synonyms) / sizeof(synonyms[0]))

const char *metadata_topic_config_synonym(const char *topic_key) {
    for (size_t i = 0; i < SYNONYM_COUNT; i++) {
        if (strcmp(synonyms[i].topic_key, topic_key) == 0) return synonyms[i].broker_key;
    }
    return NULL;
}

/* The dynamic broker keys: each topic key's broker synonym with the same type and range. */
static sl_cfg_def dynamic_defs[sizeof(topic_defs) / sizeof(topic_defs[0])];
static const sl_cfg_def *dynamic_defs_build(void) {
    size_t n = 0;
    for (size_t i = 0; i < sizeof(topic_defs) / sizeof(topic_defs[0]); i++) {
        const char *b = metadata_topic_config_synonym(topic_defs[i].name);
        if (!b) continue;
        dynamic_defs[n] = topic_defs[i];
        dynamic_defs[n].name = b;
        n++;
    }
    return dynamic_defs;
}

static sl_cfg_table dynamic_table_g = { "broker", NULL, 0 };
static pthread_once_t dynamic_once_g = PTHREAD_ONCE_INIT;

static void dynamic_table_init(void) {
    dynamic_table_g.defs = dynamic_defs_build();
    dynamic_table_g.count = SYNONYM_COUNT;
}

const sl_cfg_table *metadata_dynamic_broker_configs(void) {
    pthread_once(&dynamic_once_g, dynamic_table_init);
    return &dynamic_table_g;
}

void metadata_config_table_build(sl_cfg_table *out, const char *name, const sl_cfg_def *base,
                                 size_t base_count, sl_cfg_def *storage, size_t storage_cap) {
    size_t n = 0;
    for (size_t i = 0; i < base_count && n < storage_cap; i++) storage[n++] = base[i];
    const sl_cfg_table *dyn = metadata_dynamic_broker_configs();
    for (size_t i = 0; i < dyn->count && n < storage_cap; i++) {
        sl_cfg_table so_far = { name, storage, n };
        if (sl_config_find(&so_far, dyn->defs[i].name)) continue;
        storage[n] = dyn->defs[i];
        storage[n].offset = SIZE_MAX;
        n++;
    }
    out->name = name;
    out->defs = storage;
    out->count = n;
}

/* ---------------- topic names ---------------- */

int metadata_topic_name_check(const char *name, size_t len, char *err, size_t err_size) {
    if (len == 0) {
        snprintf(err, err_size, "Topic name is illegal, it can't be empty");
        return SL_E_INVALID;
    }
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.')) {
        snprintf(err, err_size, "Topic name cannot be \".\" or \"..\"");
        return SL_E_INVALID;
    }
    if (len > METADATA_TOPIC_NAME_MAX) {
        snprintf(err, err_size,
                 "Topic name is illegal, it can't be longer than %d characters, topic name: %.*s",
                 METADATA_TOPIC_NAME_MAX, (int)len, name);
        return SL_E_INVALID;
    }
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            snprintf(err, err_size,
                     "Topic name \"%.*s\" is illegal, it contains a character other than ASCII "
                     "alphanumerics, '.', '_' and '-'",
                     (int)(len > 300 ? 300 : len), name);
            return SL_E_INVALID;
        }
    }
    return SL_OK;
}

bool metadata_topic_is_internal(const char *name, size_t len) {
    return (len == strlen(METADATA_CONSUMER_OFFSETS) &&
            memcmp(name, METADATA_CONSUMER_OFFSETS, len) == 0) ||
           (len == strlen(METADATA_TRANSACTION_STATE) &&
            memcmp(name, METADATA_TRANSACTION_STATE, len) == 0);
}

bool metadata_topic_names_collide(const char *a, const char *b) {
    if (strcmp(a, b) == 0) return false;
    for (; *a && *b; a++, b++) {
        char x = *a == '.' ? '_' : *a, y = *b == '.' ? '_' : *b;
        if (x != y) return false;
    }
    return *a == *b;
}

/* ---------------- resolution ---------------- */

/* A static broker value for a topic key, with Kafka's minutes/hours fallbacks. */
static const char *static_value(const sl_props *props, const char *topic_key, char *scratch,
                                size_t scratch_size) {
    const char *broker_key = metadata_topic_config_synonym(topic_key);
    if (!props || !broker_key) return NULL;
    const char *v = sl_props_get(props, broker_key);
    if (v) return v;
    static const struct {
        const char *topic_key, *key;
        long long mult;
    } units[] = {
        { "retention.ms", "log.retention.minutes", 60000LL },
        { "retention.ms", "log.retention.hours", 3600000LL },
        { "segment.ms", "log.roll.hours", 3600000LL },
        { "segment.jitter.ms", "log.roll.jitter.hours", 3600000LL },
    };
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(units[i].topic_key, topic_key) != 0) continue;
        const char *u = sl_props_get(props, units[i].key);
        if (!u) continue;
        char *end;
        errno = 0;
        long long n = strtoll(u, &end, 10);
        if (errno || *end || n > LLONG_MAX / units[i].mult) continue;
        snprintf(scratch, scratch_size, "%lld", n < 0 ? -1LL : n * units[i].mult);
        return scratch;
    }
    return NULL;
}

const char *metadata_topic_config_value(const metadata_image *img, const metadata_topic *topic,
                                        const char *key, int32_t broker_id,
                                        const sl_props *static_props, int *source_out) {
    static _Thread_local char scratch[32];
    const sl_cfg_def *def = sl_config_find(&metadata_topic_config_table, key);
    int source = METADATA_CONFIG_SOURCE_DEFAULT;
    const char *v = topic ? sl_props_get(&topic->configs, key) : NULL;
    if (v) {
        source = METADATA_CONFIG_SOURCE_TOPIC;
        goto out;
    }
    const char *broker_key = metadata_topic_config_synonym(key);
    if (broker_key && broker_id >= 0) {
        char id[16];
        snprintf(id, sizeof(id), "%d", broker_id);
        v = metadata_image_config(img, METADATA_RESOURCE_BROKER, id, broker_key);
        source = METADATA_CONFIG_SOURCE_DYNAMIC_BROKER;
        if (v) goto out;
    }
    if (broker_key) {
        v = metadata_image_config(img, METADATA_RESOURCE_BROKER, "", broker_key);
        source = METADATA_CONFIG_SOURCE_DYNAMIC_DEFAULT;
        if (v) goto out;
    }
    v = static_value(static_props, key, scratch, sizeof(scratch));
    source = METADATA_CONFIG_SOURCE_STATIC_BROKER;
    if (v) goto out;
    v = def ? def->default_value : NULL;
    source = METADATA_CONFIG_SOURCE_DEFAULT;
out:
    if (source_out) *source_out = source;
    return v;
}

static int64_t value_i64(const char *v, int64_t fallback) {
    if (!v) return fallback;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    return errno || *end ? fallback : n;
}

static const char *resolve(const metadata_image *img, const metadata_topic *topic,
                           const char *key, int32_t broker_id, const sl_props *props) {
    return metadata_topic_config_value(img, topic, key, broker_id, props, NULL);
}

static int compression_id(const char *v) {
    static const char *const names[] = { "uncompressed", "gzip", "snappy", "lz4", "zstd" };
    for (int i = 0; i < 5; i++) {
        if (v && strcmp(v, names[i]) == 0) return i;
    }
    return -1; /* producer */
}

void metadata_log_config_resolve(const metadata_image *img, const metadata_topic *topic,
                                 int32_t broker_id, const sl_props *props,
                                 metadata_log_config *out) {
#define R(key) resolve(img, topic, key, broker_id, props)
#define I64(key, dflt) value_i64(R(key), dflt)
    const char *policy = R("cleanup.policy");
    out->compact = policy && strstr(policy, "compact");
    out->delete_ = !policy || strstr(policy, "delete") || !out->compact;
    out->retention_ms = I64("retention.ms", 604800000LL);
    out->retention_bytes = I64("retention.bytes", -1);
    out->segment_bytes = I64("segment.bytes", 1073741824LL);
    out->segment_ms = I64("segment.ms", 604800000LL);
    out->segment_index_bytes = (int32_t)I64("segment.index.bytes", 10485760);
    out->index_interval_bytes = (int32_t)I64("index.interval.bytes", 4096);
    out->flush_messages = I64("flush.messages", INT64_MAX);
    out->flush_ms = I64("flush.ms", INT64_MAX);
    out->file_delete_delay_ms = I64("file.delete.delay.ms", 60000);
    out->max_message_bytes = (int32_t)I64("max.message.bytes", 1048588);
    const char *ts = R("message.timestamp.type");
    out->log_append_time = ts && strcmp(ts, "LogAppendTime") == 0;
    out->timestamp_before_max_ms = I64("message.timestamp.before.max.ms", INT64_MAX);
    out->timestamp_after_max_ms = I64("message.timestamp.after.max.ms", INT64_MAX);
    out->min_insync_replicas = (int32_t)I64("min.insync.replicas", 1);
    const char *unclean = R("unclean.leader.election.enable");
    out->unclean_leader_election = unclean && strcmp(unclean, "true") == 0;
    out->delete_retention_ms = I64("delete.retention.ms", 86400000LL);
    out->min_compaction_lag_ms = I64("min.compaction.lag.ms", 0);
    out->max_compaction_lag_ms = I64("max.compaction.lag.ms", INT64_MAX);
    const char *ratio = R("min.cleanable.dirty.ratio");
    out->min_cleanable_dirty_ratio = ratio ? strtod(ratio, NULL) : 0.5;
    out->compression_type = compression_id(R("compression.type"));
#undef I64
#undef R
}
