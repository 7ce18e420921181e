/* metadata.h — the cluster metadata: records, the image they build, snapshots, topic
 * configuration rules, and the broker↔controller RPC types. Used by the controller (the
 * only writer) and by every broker (which replays the log as a Raft observer).
 *
 * The metadata log is a Raft log whose entries each hold one md.MetadataBatch
 * (metadata.proto): the records of one controller decision, applied atomically.
 * The image is the state those records build: brokers, topics with partitions, configs,
 * the producer-id high water mark, feature levels, and the cluster id. Replaying the same
 * entries from an empty image (or from a snapshot of it) always yields the same image.
 *
 * Invariants kept by apply (a record that would break one is refused with SL_E_CORRUPT and
 * leaves the image unchanged): topic names and ids are unique; a partition's ISR, ELR,
 * adding and removing replicas are subsets of its replicas; leader is -1 or a replica;
 * leader epoch and partition epoch never decrease; broker epochs only grow.
 *
 * Thread: an image has one owner thread; the broker and controller read and apply on their
 * event-loop thread. */
#ifndef METADATA_H
#define METADATA_H

#include "common/sl_buf.h"
#include "common/sl_config.h"
#include "common/sl_map.h"
#include "metadata/metadata.pb-c.h"
#include "metadata/metadata_rpc.pb-c.h"

#include <stdbool.h>
#include <stdint.h>

/* ---------------- RPC frame types (protocol/ RPC framing) ---------------- */

/* Types 0x01-0x3f are Raft's (raft/); 0x40-0x7f are these. */
enum metadata_rpc_type {
    METADATA_RPC_BROKER_REGISTRATION = 0x41,
    METADATA_RPC_BROKER_HEARTBEAT = 0x42,
    METADATA_RPC_ALTER_PARTITION = 0x43,
    METADATA_RPC_ALLOCATE_PRODUCER_IDS = 0x44,
    METADATA_RPC_FORWARD = 0x45,
    METADATA_RPC_RESPONSE = 0x8000, /* or'd into the request type for its response */
};

#define METADATA_RESOURCE_TOPIC  2 /* Kafka ConfigResource.Type TOPIC */
#define METADATA_RESOURCE_BROKER 4 /* Kafka ConfigResource.Type BROKER */

#define METADATA_TOPIC_NAME_MAX       249
#define METADATA_CONSUMER_OFFSETS     "__consumer_offsets"
#define METADATA_TRANSACTION_STATE    "__transaction_state"
#define METADATA_PRODUCER_ID_BLOCK    1000 /* ids per AllocateProducerIds, as Kafka */

/* ---------------- image types ---------------- */

typedef struct metadata_uuid {
    uint8_t b[16];
} metadata_uuid;

typedef struct metadata_ids {
    int32_t *ids; /* owned */
    int32_t count;
} metadata_ids;

typedef struct metadata_endpoint {
    char *name; /* listener name */
    char *host;
    int32_t port;
    char *security_protocol;
} metadata_endpoint;

typedef struct metadata_broker {
    int32_t id;
    int64_t epoch; /* offset of its RegisterBrokerRecord */
    metadata_uuid incarnation;
    metadata_endpoint *endpoints;
    int32_t endpoint_count;
    char *rack; /* NULL when none */
    bool fenced;
    bool controlled_shutdown;
} metadata_broker;

typedef struct metadata_partition {
    int32_t id;
    metadata_ids replicas; /* preferred leader first */
    metadata_ids isr;
    metadata_ids adding;   /* reassignment targets not yet in sync */
    metadata_ids removing; /* reassignment sources to drop */
    metadata_ids elr;      /* KIP-966 eligible leader replicas */
    int32_t leader;        /* -1 = none (offline) */
    int32_t leader_epoch;
    int32_t partition_epoch;
    bool leader_recovering;
} metadata_partition;

typedef struct metadata_topic {
    char *name;
    metadata_uuid id;
    metadata_partition *partitions; /* indexed by partition id */
    int32_t partition_count;
    sl_props configs; /* topic-level overrides */
} metadata_topic;

typedef struct metadata_config_set {
    char *resource; /* broker id as text, or "" for the cluster-wide default */
    sl_props props;
} metadata_config_set;

typedef struct metadata_image {
    char *cluster_id;                    /* NULL until the first ClusterIdRecord */
    sl_imap brokers;                     /* id → metadata_broker * */
    sl_map topics;                       /* name → metadata_topic * */
    sl_map topics_by_id;                 /* 16-byte id → metadata_topic * */
    metadata_config_set *broker_configs; /* dynamic broker configs */
    int32_t broker_config_count;
    int64_t next_producer_id;
    sl_props features; /* name → level (text) */
    int64_t offset;    /* last applied metadata offset, -1 when empty */
    int32_t epoch;     /* Raft epoch of that entry */
} metadata_image;

/* What one apply changed; the broker acts on it (become leader/follower, delete logs …). */
typedef struct metadata_delta_partition {
    char *topic; /* owned copy */
    metadata_uuid topic_id;
    int32_t partition;
} metadata_delta_partition;

typedef struct metadata_delta_topic {
    char *name; /* owned copy */
    metadata_uuid id;
    int32_t partition_count;
} metadata_delta_topic;

typedef struct metadata_delta {
    metadata_delta_partition *partitions; /* created or changed partitions */
    int32_t partition_count, partition_cap;
    metadata_delta_topic *deleted_topics;
    int32_t deleted_count, deleted_cap;
    bool brokers_changed;
    bool configs_changed;
    bool cluster_id_changed;
} metadata_delta;

/* ---------------- image ---------------- */

void metadata_image_init(metadata_image *img);
void metadata_image_deinit(metadata_image *img);
/* Replace dst's contents with a deep copy of src (dst initialised). */
void metadata_image_copy(metadata_image *dst, const metadata_image *src);

/* Apply one log entry: payload is a packed md.MetadataBatch. Records are applied in order;
 * a bad record is logged, skipped, and makes the call return SL_E_CORRUPT after applying
 * the rest (replay must go on: every node skips the same record). SL_E_CORRUPT is also
 * returned for an unparsable payload. delta may be NULL. */
int metadata_image_apply_batch(metadata_image *img, const uint8_t *payload, size_t len,
                               int64_t offset, int32_t epoch, metadata_delta *delta);
/* Apply one record (offset = its entry's offset, used as broker epoch on registration). */
int metadata_image_apply_record(metadata_image *img, const Md__MetadataRecord *rec,
                                int64_t offset, metadata_delta *delta);

/* Serialise the whole image as one md.MetadataBatch (the snapshot body). */
void metadata_image_snapshot(const metadata_image *img, sl_buf *out);
/* Load a snapshot into an empty image; offset/epoch are the snapshot's end. */
int metadata_image_load_snapshot(metadata_image *img, const uint8_t *data, size_t len,
                                 int64_t offset, int32_t epoch);

/* Queries. Returned pointers are valid until the next apply. */
metadata_topic *metadata_image_topic(const metadata_image *img, const char *name, size_t len);
metadata_topic *metadata_image_topic_by_id(const metadata_image *img, const metadata_uuid *id);
metadata_partition *metadata_topic_partition(const metadata_topic *topic, int32_t partition);
metadata_broker *metadata_image_broker(const metadata_image *img, int32_t id);
/* Unfenced, not shutting down, sorted ascending; returns how many (≤ max written). */
int32_t metadata_image_live_brokers(const metadata_image *img, int32_t *ids_out, int32_t max);
/* All registered brokers sorted ascending (fenced included). */
int32_t metadata_image_all_brokers(const metadata_image *img, int32_t *ids_out, int32_t max);
bool metadata_broker_is_live(const metadata_broker *b);
const metadata_endpoint *metadata_broker_endpoint(const metadata_broker *b,
                                                  const char *listener_name);
/* The dynamic config value for (type, resource, name), or NULL. */
const char *metadata_image_config(const metadata_image *img, int resource_type,
                                  const char *resource, const char *name);
const sl_props *metadata_image_config_set(const metadata_image *img, int resource_type,
                                          const char *resource);
/* Topics sorted by name, for stable listings; returns an array of count pointers the
 * caller frees with sl_free (pointers valid until the next apply). */
metadata_topic **metadata_image_sorted_topics(const metadata_image *img, int32_t *count_out);

bool metadata_ids_contains(const metadata_ids *ids, int32_t id);

void metadata_delta_init(metadata_delta *delta);
void metadata_delta_deinit(metadata_delta *delta);
/* Record a changed partition / a deleted topic (apply does this; a snapshot load that
 * replaces a whole image builds its delta with these). */
void metadata_delta_add_partition(metadata_delta *delta, const metadata_topic *t,
                                  int32_t partition);
void metadata_delta_add_deleted(metadata_delta *delta, const metadata_topic *t);

/* ---------------- uuids ---------------- */

void metadata_uuid_random(metadata_uuid *out); /* version-4, never the zero uuid */
bool metadata_uuid_is_zero(const metadata_uuid *id);
/* Kafka's text form: URL-safe base64 without padding (22 chars + NUL). */
void metadata_uuid_format(const metadata_uuid *id, char out[23]);
int metadata_uuid_parse(const char *text, metadata_uuid *out);

/* ---------------- record building (controller) ---------------- */

/* Packs the records of one log entry (an md.MetadataBatch) as they are added: a repeated
 * message field is a concatenation of (tag, length, bytes), so each record is serialised
 * at once and nothing is kept but the bytes. */
typedef struct metadata_batch_builder {
    sl_buf buf; /* the packed MetadataBatch so far */
    int32_t count;
} metadata_batch_builder;

void metadata_batch_builder_init(metadata_batch_builder *bb);
void metadata_batch_builder_deinit(metadata_batch_builder *bb);
void metadata_batch_add_record(metadata_batch_builder *bb, const Md__MetadataRecord *rec);
void metadata_batch_add_cluster_id(metadata_batch_builder *bb, const char *cluster_id);
void metadata_batch_add_topic(metadata_batch_builder *bb, const char *name,
                              const metadata_uuid *id);
void metadata_batch_add_partition(metadata_batch_builder *bb, const metadata_uuid *topic_id,
                                  const metadata_partition *p);
void metadata_batch_add_remove_topic(metadata_batch_builder *bb, const metadata_uuid *topic_id);
/* value NULL deletes the key. */
void metadata_batch_add_config(metadata_batch_builder *bb, int resource_type,
                               const char *resource, const char *name, const char *value);
void metadata_batch_add_register_broker(metadata_batch_builder *bb, const metadata_broker *b);
void metadata_batch_add_unregister_broker(metadata_batch_builder *bb, int32_t broker_id,
                                          int64_t broker_epoch);
void metadata_batch_add_fence(metadata_batch_builder *bb, int32_t broker_id,
                              int64_t broker_epoch, bool fence);
void metadata_batch_add_controlled_shutdown(metadata_batch_builder *bb, int32_t broker_id,
                                            int64_t broker_epoch);
void metadata_batch_add_producer_ids(metadata_batch_builder *bb, int32_t broker_id,
                                     int64_t broker_epoch, int64_t next_producer_id);
void metadata_batch_add_feature(metadata_batch_builder *bb, const char *name, int32_t level);
void metadata_batch_add_no_op(metadata_batch_builder *bb);

/* A partition change: NULL lists and leader == METADATA_UNCHANGED mean "unchanged". */
#define METADATA_UNCHANGED INT32_MIN
typedef struct metadata_partition_change {
    int32_t leader;
    const metadata_ids *isr, *replicas, *adding, *removing, *elr;
    int leader_recovering; /* -1 unchanged, else 0/1 */
    bool unclean;
} metadata_partition_change;

void metadata_partition_change_init(metadata_partition_change *c);
void metadata_batch_add_partition_change(metadata_batch_builder *bb,
                                         const metadata_uuid *topic_id, int32_t partition,
                                         const metadata_partition_change *c);

/* ---------------- addresses in configuration ---------------- */

typedef struct metadata_listener {
    char name[32]; /* PLAINTEXT, CONTROLLER, … (upper case) */
    char host[256];
    int32_t port;
} metadata_listener;

typedef struct metadata_voter {
    int32_t id;
    char host[256];
    int32_t port;
} metadata_voter;

/* "NAME://host:port,NAME2://[::1]:port" (host may be empty = all interfaces).
 * Returns the count (≤ max) or SL_E_CONFIG with a message in err. */
int metadata_parse_listeners(const char *text, metadata_listener *out, int max, char *err,
                             size_t err_size);
/* "1@host:port,2@host:port" as controller.quorum.voters. Same returns. Ids unique. */
int metadata_parse_voters(const char *text, metadata_voter *out, int max, char *err,
                          size_t err_size);
/* Starts a Raft driver configuration for node_id in the quorum of these voters: zeroes
 * *dc, applies raft_config_init and copies the voter set (core ids and transport
 * addresses). The caller sets timeouts, listener, log directory, seed and loop. */
struct raft_driver_config;
void metadata_quorum_driver_config(struct raft_driver_config *dc, int32_t node_id,
                                   const metadata_voter *voters, int count);

/* ---------------- topic names and configs ---------------- */

/* Kafka's topic-name rules. SL_OK, or SL_E_INVALID with Kafka's message in err. */
int metadata_topic_name_check(const char *name, size_t len, char *err, size_t err_size);
bool metadata_topic_is_internal(const char *name, size_t len);
/* True when a and b differ but are equal with '.' and '_' treated alike. */
bool metadata_topic_names_collide(const char *a, const char *b);

/* Topic-level configuration keys (Kafka 3.x names, defaults and ranges). The defs store
 * nothing (offset SIZE_MAX): use them to validate, describe and document. */
extern const sl_cfg_table metadata_topic_config_table;
/* The broker config a topic key falls back to (retention.ms → log.retention.ms), or NULL. */
const char *metadata_topic_config_synonym(const char *topic_key);
/* Broker keys that may be changed dynamically (AlterConfigs for brokers): the broker
 * synonyms of the topic keys, with the same types and ranges. Built once; thread-safe. */
const sl_cfg_table *metadata_dynamic_broker_configs(void);
/* A process's config table: its own defs followed by the broker synonyms of the topic keys
 * that it does not define itself (validated, stored nowhere: they are resolved per topic
 * from the raw properties). storage must hold base_count + 64 entries. */
void metadata_config_table_build(sl_cfg_table *out, const char *name, const sl_cfg_def *base,
                                 size_t base_count, sl_cfg_def *storage, size_t storage_cap);

/* Where a resolved config value came from (Kafka's DescribeConfigs ConfigSource). */
enum metadata_config_source {
    METADATA_CONFIG_SOURCE_TOPIC = 1,          /* TOPIC_CONFIG */
    METADATA_CONFIG_SOURCE_DYNAMIC_BROKER = 2, /* DYNAMIC_BROKER_CONFIG */
    METADATA_CONFIG_SOURCE_DYNAMIC_DEFAULT = 3,/* DYNAMIC_DEFAULT_BROKER_CONFIG */
    METADATA_CONFIG_SOURCE_STATIC_BROKER = 4,  /* STATIC_BROKER_CONFIG */
    METADATA_CONFIG_SOURCE_DEFAULT = 5,        /* DEFAULT_CONFIG */
};

/* Effective value of a topic config: topic override → this broker's dynamic config →
 * cluster dynamic default → the broker's static properties → Kafka's default. broker_id
 * is the broker resolving it (-1 to skip per-broker configs); static_props may be NULL.
 * Returns the value (valid until the next apply or props change) and sets *source_out. */
const char *metadata_topic_config_value(const metadata_image *img, const metadata_topic *topic,
                                        const char *key, int32_t broker_id,
                                        const sl_props *static_props, int *source_out);

/* The resolved settings a broker's partition log and replica manager need. */
typedef struct metadata_log_config {
    bool compact;
    bool delete_;
    int64_t retention_ms;
    int64_t retention_bytes;
    int64_t segment_bytes;
    int64_t segment_ms;
    int32_t segment_index_bytes;
    int32_t index_interval_bytes;
    int64_t flush_messages;
    int64_t flush_ms;
    int64_t file_delete_delay_ms;
    int32_t max_message_bytes;
    bool log_append_time; /* message.timestamp.type=LogAppendTime */
    int64_t timestamp_before_max_ms;
    int64_t timestamp_after_max_ms;
    int32_t min_insync_replicas;
    bool unclean_leader_election;
    int64_t delete_retention_ms;
    int64_t min_compaction_lag_ms;
    int64_t max_compaction_lag_ms;
    double min_cleanable_dirty_ratio;
    int compression_type; /* -1 = producer, else a protocol codec id */
} metadata_log_config;

void metadata_log_config_resolve(const metadata_image *img, const metadata_topic *topic,
                                 int32_t broker_id, const sl_props *static_props,
                                 metadata_log_config *out);

#endif
