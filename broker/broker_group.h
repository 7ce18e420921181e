/* broker_group.h — private to broker/: the group coordinator (classic consumer-group
 * protocol, committed offsets, __consumer_offsets records, lag metrics).
 *
 * Two layers, as with Raft:
 *
 *   core   broker_group_core.c (groups, JoinGroup and the rebalance it drives),
 *          broker_group_member.c (SyncGroup, Heartbeat, LeaveGroup, timers),
 *          broker_group_offsets.c (commits, fetches, deletion, expiry, loading) and
 *          broker_group_store.c (the record formats). Pure: no sockets, clocks, files or
 *          broker structs. Inputs are requests plus the time (broker_group_time); outputs
 *          are results handed to callbacks (JoinGroup / SyncGroup / OffsetCommit answers for
 *          parked requests) and records to append to a __consumer_offsets partition.
 *          Unit-tested on its own (tests/unit/test_broker_group.c).
 *   glue   broker_group.c (the broker_groups object, partition load/unload, timers,
 *          FindCoordinator), broker_group_api.c (the Kafka handlers), broker_group_lag.c
 *          (/metrics and the ListOffsets client for log end offsets led elsewhere).
 *
 * Behaviour follows Kafka 3.x's GroupCoordinator / GroupMetadataManager (classic protocol):
 * states Empty → PreparingRebalance → CompletingRebalance → Stable (and Dead when a group is
 * removed or unloaded); a rebalance completes when every known member has rejoined or the
 * rebalance timeout (the largest of the members') passes, removing dynamic members that did
 * not rejoin; the first rebalance of an Empty group waits group.initial.rebalance.delay.ms,
 * extended while new members keep arriving (up to the rebalance timeout); members whose
 * session expires are removed; static members (group.instance.id) keep their assignment
 * across a restart without a rebalance.
 *
 * Records (API-PLAN §4; what Kafka 3.9 writes, readable by Burrow):
 *
 *   record              key                                   value
 *   offset commit       int16 1, OffsetCommitKey v1           int16 3, OffsetCommitValue v3
 *                       (group, topic, partition)             (or int16 1 + v1 when the commit
 *                                                             carries an expire timestamp)
 *   group metadata      int16 2, GroupMetadataKey v2 (group)  int16 3, GroupMetadataValue v3
 *   tombstones          the key above                         null
 *
 * Loading reads every record of a partition in order; the latest record per key wins and a
 * tombstone deletes. Key versions 0/1 (offsets) and 2 (groups) are understood, value versions
 * 0-4 of both; other keys (KIP-848 and share-group records) are skipped.
 *
 * Ownership: the core owns every group, member and offset; pointers to them (and the views
 * in results) are valid until the next call into the core. Thread: the broker's event loop
 * (the core itself is single-threaded and has no global state). */
#ifndef BROKER_GROUP_H
#define BROKER_GROUP_H

#include "common/sl_arena.h"
#include "common/sl_buf.h"
#include "common/sl_map.h"
#include "common/sl_rand.h"
#include "common/sl_view.h"
#include "protocol/protocol.h"

#include <stdbool.h>
#include <stdint.h>

#define BROKER_GROUP_OFFSETS_TOPIC "__consumer_offsets"
#define BROKER_GROUP_NEW_MEMBER_TIMEOUT_MS                                                         \
    300000                                    /* Kafka NewMemberJoinTimeoutMs: a new               \
                                                 member's parked JoinGroup gives up */
#define BROKER_GROUP_METADATA_MAX_BYTES 4096  /* offset.metadata.max.bytes */
#define BROKER_GROUP_ID_MAX_BYTES       32767 /* a Kafka string */

typedef struct broker_group_core broker_group_core;
typedef struct broker_group broker_group;
typedef struct broker_group_member broker_group_member;
typedef struct broker_group_offset broker_group_offset;
typedef struct broker_group_op broker_group_op;

/* ================= time and configuration ================= */

/* Every input carries both clocks: deadlines use the monotonic one, record timestamps and
 * offset retention the wall clock (they are compared with timestamps in the log). */
typedef struct broker_group_time {
    int64_t mono_ms;
    int64_t wall_ms;
} broker_group_time;

typedef struct broker_group_config {
    int32_t partitions;                 /* of __consumer_offsets (offsets.topic.num.partitions) */
    int32_t min_session_timeout_ms;     /* group.min.session.timeout.ms */
    int32_t max_session_timeout_ms;     /* group.max.session.timeout.ms */
    int32_t max_size;                   /* group.max.size */
    int32_t initial_rebalance_delay_ms; /* group.initial.rebalance.delay.ms */
    int64_t offsets_retention_ms;       /* offsets.retention.minutes * 60000 */
} broker_group_config;

/* ================= state ================= */

enum broker_group_state {
    BROKER_GROUP_EMPTY = 0,
    BROKER_GROUP_PREPARING_REBALANCE = 1,
    BROKER_GROUP_COMPLETING_REBALANCE = 2,
    BROKER_GROUP_STABLE = 3,
    BROKER_GROUP_DEAD = 4,
};

/* Role of one __consumer_offsets partition here. */
enum broker_group_partition_state {
    BROKER_GROUP_PARTITION_NONE = 0,    /* not led here: NOT_COORDINATOR */
    BROKER_GROUP_PARTITION_LOADING = 1, /* led, log being read: COORDINATOR_LOAD_IN_PROGRESS */
    BROKER_GROUP_PARTITION_LOADED = 2,  /* serving */
};

typedef struct broker_group_protocol {
    char *name;
    uint8_t *metadata; /* owned; NULL when metadata_len is 0 */
    int32_t metadata_len;
} broker_group_protocol;

struct broker_group_member {
    char *member_id;
    char *instance_id; /* group.instance.id; NULL for a dynamic member */
    char *client_id;
    char *client_host;
    int32_t rebalance_timeout_ms;
    int32_t session_timeout_ms;
    char *protocol_type;
    broker_group_protocol *protocols; /* the member's preference order */
    int32_t protocol_count;
    uint8_t *assignment; /* owned; NULL when assignment_len is 0 */
    int32_t assignment_len;
    bool awaiting_join; /* a JoinGroup is parked (even if its connection went away) */
    bool awaiting_sync; /* a SyncGroup is parked */
    void *join_waiter;  /* the glue's token for the parked JoinGroup, or NULL */
    void *sync_waiter;
    bool is_new;                   /* joined in the current rebalance, not yet given a generation */
    bool pending_sync;             /* owes a SyncGroup for the current generation */
    int64_t heartbeat_deadline_ms; /* session expiry (monotonic); -1 = no timer */
};

/* A committed offset (or one being written). */
struct broker_group_offset {
    char *topic;
    int32_t partition;
    bool committed; /* the fields below hold a value */
    int64_t offset;
    int32_t leader_epoch; /* -1 = none */
    char *metadata;       /* never NULL ("" for none) */
    int64_t commit_timestamp_ms;
    int64_t expire_timestamp_ms; /* -1 = none (retention from offsets.retention.minutes) */
    int64_t record_offset;       /* the record's offset in __consumer_offsets; -1 unknown */
    int32_t pending;             /* commits appended but not yet acknowledged */
    uint8_t *key;                /* topic bytes + big-endian partition: the map key */
    size_t key_len;
};

struct broker_group {
    char *id;
    size_t id_len;
    int32_t partition;          /* of __consumer_offsets */
    uint64_t incarnation;       /* distinguishes a recreated group from a removed one */
    int state;                  /* enum broker_group_state */
    int64_t state_timestamp_ms; /* wall clock of the last transition; -1 unknown */
    char *protocol_type;        /* NULL = none (offsets-only groups) */
    char *protocol_name;        /* NULL = none */
    char *leader_id;            /* NULL = none */
    int32_t generation;
    broker_group_member **members; /* join order */
    int32_t member_count, member_cap;
    sl_map member_index;    /* member id → member */
    char **pending_members; /* MEMBER_ID_REQUIRED ids awaiting their second JoinGroup */
    int64_t *pending_deadline_ms;
    int32_t pending_count, pending_cap;
    bool new_member_added;             /* the initial delayed join may wait longer */
    int64_t join_deadline_ms;          /* PreparingRebalance timer; -1 = none */
    bool join_initial;                 /* the timer is group.initial.rebalance.delay.ms's */
    int32_t join_initial_delay_ms;     /* that timer's delay */
    int32_t join_initial_remaining_ms; /* rebalance timeout left after it */
    int64_t sync_deadline_ms;          /* pending-sync timer; -1 = none */
    int32_t sync_generation;
    char **subscribed_topics; /* consumer groups: union of the members' topics */
    int32_t subscribed_count;
    bool subscribed_known; /* false: unknown (not a consumer group, or unparsable) */
    sl_map offsets;        /* key (topic + partition) → broker_group_offset */
};

/* ================= results handed to the glue ================= */

typedef struct broker_group_join_member {
    sl_str member_id;
    sl_str group_instance_id; /* null for dynamic members */
    sl_bytes metadata;        /* for the selected protocol */
} broker_group_join_member;

/* Views valid during the callback only. */
typedef struct broker_group_join_result {
    int16_t error;
    sl_str member_id;                        /* "" when none */
    int32_t generation;                      /* -1 on error */
    sl_str protocol_type;                    /* null = none */
    sl_str protocol_name;                    /* null = none */
    sl_str leader_id;                        /* "" when none */
    bool skip_assignment;                    /* JoinGroup v9 */
    const broker_group_join_member *members; /* the leader's copy of every member */
    int32_t member_count;
} broker_group_join_result;

typedef struct broker_group_sync_result {
    int16_t error;
    sl_str protocol_type; /* null = none */
    sl_str protocol_name;
    sl_bytes assignment;
} broker_group_sync_result;

/* A record to append; value len -1 = tombstone. */
typedef struct broker_group_record {
    sl_bytes key;
    sl_bytes value;
} broker_group_record;

typedef struct broker_group_callbacks {
    void *ctx;
    /* Answer a parked JoinGroup / SyncGroup (waiter as passed in). Called from inside any
     * core call, including the one that parked it. */
    void (*join_done)(void *ctx, void *waiter, const broker_group_join_result *res);
    void (*sync_done)(void *ctx, void *waiter, const broker_group_sync_result *res);
    /* Answer an OffsetCommit: errors[i] for the request's part i. */
    void (*commit_done)(void *ctx, void *waiter, const int16_t *errors, int32_t count);
    /* Append records to partition as one batch (acks=all). records are borrowed for the
     * call. When op is non-NULL, call broker_group_core_append_done(op, …) exactly once
     * after the records are committed or failed — never from inside this call. */
    void (*append)(void *ctx,
                   int32_t partition,
                   const broker_group_record *records,
                   int32_t count,
                   broker_group_op *op);
} broker_group_callbacks;

/* ================= requests ================= */

typedef struct broker_group_join_request {
    sl_str group_id;
    sl_str member_id;         /* "" for a new member */
    sl_str group_instance_id; /* null for dynamic membership */
    sl_str client_id;
    sl_str client_host;
    sl_str protocol_type;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms;
    const sl_str *protocol_names; /* protocol_count entries */
    const sl_bytes *protocol_metadata;
    int32_t protocol_count;
    bool require_known_member_id; /* JoinGroup v4+ without an instance id */
    bool support_skip_assignment; /* JoinGroup v9+ */
} broker_group_join_request;

typedef struct broker_group_sync_request {
    sl_str group_id;
    int32_t generation;
    sl_str member_id;
    sl_str group_instance_id; /* null = none */
    sl_str protocol_type;     /* null = not given (SyncGroup < v5) */
    sl_str protocol_name;
    const sl_str *assignment_members;
    const sl_bytes *assignments;
    int32_t assignment_count;
} broker_group_sync_request;

typedef struct broker_group_leave_member {
    sl_str member_id;         /* "" with an instance id: remove that static member */
    sl_str group_instance_id; /* null = none */
    int16_t error;            /* out */
} broker_group_leave_member;

typedef struct broker_group_commit_part {
    sl_str topic;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;        /* -1 = none */
    sl_str metadata;             /* null = none */
    int64_t commit_timestamp_ms; /* -1 = now (OffsetCommit v1's explicit timestamp otherwise) */
    int16_t error;               /* in: an error the glue already decided (unknown topic) */
} broker_group_commit_part;

typedef struct broker_group_commit_request {
    sl_str group_id;
    int32_t generation; /* -1 with member "" for simple (non-group) commits */
    sl_str member_id;
    sl_str group_instance_id; /* null = none */
    int64_t retention_ms;     /* OffsetCommit v2-4 RetentionTimeMs; -1 = broker default */
    broker_group_commit_part *parts;
    int32_t part_count;
} broker_group_commit_request;

/* (topic, partition) with a per-entry result, for OffsetDelete. */
typedef struct broker_group_topic_partition {
    sl_str topic;
    int32_t partition;
    int16_t error; /* in: already decided; out: result */
} broker_group_topic_partition;

/* ================= the core (broker_group_core.c, broker_group_offsets.c) ================= */

/* cfg and cb are copied; seed feeds member-id generation. */
broker_group_core *broker_group_core_new(const broker_group_config *cfg,
                                         const broker_group_callbacks *cb,
                                         uint64_t seed);
/* Frees every group. No op may be outstanding (broker_group_core_ops_pending() == 0).
 * NULL is a no-op. */
void broker_group_core_free(broker_group_core *core);
/* The partition count of __consumer_offsets (the topic's, once it exists). Changing it
 * unloads every partition. */
void broker_group_core_set_partitions(broker_group_core *core, int32_t partitions);
int32_t broker_group_core_partitions(const broker_group_core *core);
/* abs(javaHashCode(group_id)) % partitions. */
int32_t broker_group_core_partition_for(const broker_group_core *core, sl_str group_id);
int broker_group_core_partition_state(const broker_group_core *core, int32_t partition);
/* Partitions loading or loaded. */
int32_t broker_group_core_partitions_owned(const broker_group_core *core);
/* Appends handed out whose broker_group_core_append_done has not been called yet. */
int32_t broker_group_core_ops_pending(const broker_group_core *core);
broker_group *broker_group_core_find(const broker_group_core *core, sl_str group_id);
const sl_map *broker_group_core_groups(const broker_group_core *core); /* id → group */

/* ---- loading (broker_group_offsets.c) ---- */
/* Start loading partition (it becomes LOADING; any state it had is dropped first). */
void broker_group_core_load_begin(broker_group_core *core, int32_t partition);
/* One record of the partition, in log order. Returns SL_OK, or SL_E_CORRUPT when the
 * key or value cannot be decoded (the record is skipped). */
int broker_group_core_load_record(
    broker_group_core *core, int32_t partition, int64_t offset, sl_bytes key, sl_bytes value);
/* Materialise the loaded groups and start serving the partition (LOADED). */
void broker_group_core_load_end(broker_group_core *core, int32_t partition, broker_group_time now);
/* Stop coordinating partition: parked joins and syncs get NOT_COORDINATOR, its groups are
 * dropped, the partition becomes NONE. Outstanding appends still complete normally. */
void broker_group_core_unload(broker_group_core *core, int32_t partition);

/* ---- membership (broker_group_core.c) ---- */
/* JoinGroup: the result goes to cb.join_done(waiter), now or later. */
void broker_group_core_join(broker_group_core *core,
                            const broker_group_join_request *req,
                            broker_group_time now,
                            void *waiter);
/* SyncGroup: the result goes to cb.sync_done(waiter), now or later. */
void broker_group_core_sync(broker_group_core *core,
                            const broker_group_sync_request *req,
                            broker_group_time now,
                            void *waiter);
/* The waiter's request went away (connection closed): forget the token; the member stays
 * as it was (awaiting join/sync), as in Kafka. */
void broker_group_core_cancel(broker_group_core *core, void *waiter);
int16_t broker_group_core_heartbeat(broker_group_core *core,
                                    sl_str group_id,
                                    sl_str member_id,
                                    sl_str group_instance_id,
                                    int32_t generation,
                                    broker_group_time now);
/* LeaveGroup: returns the top-level error; each member's error is set. */
int16_t broker_group_core_leave(broker_group_core *core,
                                sl_str group_id,
                                broker_group_leave_member *members,
                                int32_t count,
                                broker_group_time now);
/* Timers: session expiry, rebalance and initial-delay timeouts, pending members and syncs. */
void broker_group_core_tick(broker_group_core *core, broker_group_time now);
/* A group for ListGroups / DescribeGroups. Returns the group-level error (INVALID_GROUP_ID,
 * NOT_COORDINATOR, COORDINATOR_LOAD_IN_PROGRESS); *g_out is NULL when the group does not
 * exist (Kafka describes it as Dead). */
int16_t broker_group_core_describe(broker_group_core *core, sl_str group_id, broker_group **g_out);
/* ListGroups' error: COORDINATOR_LOAD_IN_PROGRESS while a partition loads, else NONE. */
int16_t broker_group_core_list_error(const broker_group_core *core);
/* The selected protocol's metadata of a member (empty when it has none). */
sl_bytes broker_group_member_metadata(const broker_group_member *m, const char *protocol);
const char *broker_group_state_name(int state);
/* Outstanding append finished (see cb.append). error is the append's Kafka error. */
void broker_group_core_append_done(broker_group_core *core,
                                   broker_group_op *op,
                                   int16_t error,
                                   int64_t base_offset,
                                   broker_group_time now);

/* ---- offsets (broker_group_offsets.c) ---- */
/* OffsetCommit: the result goes to cb.commit_done(waiter), now or once the records are
 * committed. */
void broker_group_core_commit(broker_group_core *core,
                              const broker_group_commit_request *req,
                              broker_group_time now,
                              void *waiter);
/* OffsetFetch for one group: returns the group error; *g_out may be NULL (no offsets). */
int16_t broker_group_core_fetch(broker_group_core *core, sl_str group_id, broker_group **g_out);
broker_group_offset *
broker_group_offset_find(const broker_group *g, sl_str topic, int32_t partition);
/* DeleteGroups for one group: tombstones its offsets and metadata. Returns its error. */
int16_t broker_group_core_delete(broker_group_core *core, sl_str group_id, broker_group_time now);
/* OffsetDelete: returns the group error; sets each part's error. */
int16_t broker_group_core_delete_offsets(broker_group_core *core,
                                         sl_str group_id,
                                         broker_group_topic_partition *parts,
                                         int32_t count,
                                         broker_group_time now);
/* offsets.retention.minutes: expire offsets, remove empty groups without offsets, writing
 * tombstones. Returns the number of offsets expired. */
int32_t broker_group_core_expire_offsets(broker_group_core *core, broker_group_time now);

/* ================= internal to the core files ================= */

/* Kinds of outstanding appends. */
enum broker_group_op_kind {
    BROKER_GROUP_OP_COMMIT = 1,      /* OffsetCommit records */
    BROKER_GROUP_OP_SYNC = 2,        /* the leader's assignment (SyncGroup) */
    BROKER_GROUP_OP_STATIC_JOIN = 3, /* a static member replaced in a Stable group */
    BROKER_GROUP_OP_EMPTY = 4,       /* the group became Empty */
};

/* An append whose completion the core waits for. */
struct broker_group_op {
    int kind; /* enum broker_group_op_kind */
    char *group_id;
    size_t group_id_len;
    uint64_t incarnation; /* of the group when the op started */
    int32_t generation;
    void *data;                   /* kind-specific, owned by the op */
    broker_group_op *prev, *next; /* the core's outstanding list */
};

typedef struct broker_group_load broker_group_load; /* broker_group_offsets.c */

struct broker_group_core {
    broker_group_config cfg;
    broker_group_callbacks cb;
    sl_rand rng;
    sl_map groups;             /* id → broker_group */
    uint8_t *partition_state;  /* enum broker_group_partition_state per partition */
    broker_group_load **loads; /* per partition while LOADING */
    int32_t partition_count;
    uint64_t next_incarnation;
    broker_group_op *ops; /* outstanding appends */
    int32_t op_count;
};

/* ================= records (broker_group_store.c) ================= */

/* A list of encoded records being built (offsets into one buffer). */
typedef struct broker_group_records {
    sl_buf data;
    struct broker_group_record_pos {
        size_t key_off, key_len;
        size_t value_off;
        int32_t value_len; /* -1 = tombstone */
    } * items;
    int32_t count, cap;
} broker_group_records;

void broker_group_records_init(broker_group_records *rs);
void broker_group_records_deinit(broker_group_records *rs);
/* Offset commit (key v1; value v3, or v1 when o->expire_timestamp_ms >= 0). */
void broker_group_records_add_offset(broker_group_records *rs,
                                     sl_str group,
                                     const broker_group_offset *o);
void broker_group_records_add_offset_tombstone(broker_group_records *rs,
                                               sl_str group,
                                               sl_str topic,
                                               int32_t partition);
/* Group metadata (key v2; value v3) of g, with assignments[i] for g->members[i] (NULL: each
 * member's current assignment). */
void broker_group_records_add_group(broker_group_records *rs,
                                    const broker_group *g,
                                    const sl_bytes *assignments);
void broker_group_records_add_group_tombstone(broker_group_records *rs, sl_str group);
/* The records as views into rs (valid until rs changes); out has rs->count entries. */
void broker_group_records_view(const broker_group_records *rs, broker_group_record *out);

/* A decoded __consumer_offsets record. */
enum broker_group_record_kind {
    BROKER_GROUP_RECORD_OTHER = 0, /* a key version this coordinator does not use */
    BROKER_GROUP_RECORD_OFFSET = 1,
    BROKER_GROUP_RECORD_GROUP = 2,
};

typedef struct broker_group_decoded {
    int kind; /* enum broker_group_record_kind */
    bool tombstone;
    sl_str group;
    sl_str topic; /* OFFSET */
    int32_t partition;
    int16_t value_version;
    int64_t offset; /* OFFSET value */
    int32_t leader_epoch;
    sl_str metadata;
    int64_t commit_timestamp_ms;
    int64_t expire_timestamp_ms; /* -1 unless value v1 */
} broker_group_decoded;

/* Decode a record's key and (for offsets) value; group metadata values are decoded later
 * with broker_group_value_decode. Views point into key/value. Returns SL_OK or
 * SL_E_CORRUPT. */
int broker_group_record_decode(sl_bytes key, sl_bytes value, broker_group_decoded *out);
/* Decode a group metadata value (int16 version + body) with arena for its arrays. */
int broker_group_value_decode(sl_bytes value,
                              sl_arena *arena,
                              protocol_GroupMetadataValue *out,
                              int16_t *version_out);
/* The topics of a consumer-protocol subscription (read as version 0, the prefix of every
 * version, as Kafka does). Returns SL_OK or SL_E_CORRUPT; *topics_out from arena. */
int broker_group_subscription_topics(sl_bytes metadata,
                                     sl_arena *arena,
                                     sl_str **topics_out,
                                     int32_t *count_out);

/* ================= the broker glue (broker_group.c, _api.c, _lag.c) ================= */

typedef struct broker broker;
typedef struct broker_partition broker_partition;
typedef struct broker_group_lag broker_group_lag;

#define BROKER_GROUP_TICK_MS 50 /* timer granularity: heartbeat expiry, rebalance timeouts */

/* The coordinator core, or NULL while this broker leads no __consumer_offsets partition
 * (every group is then NOT_COORDINATOR here). Thread: the event loop. */
broker_group_core *broker_groups_core(broker *b);
/* Both clocks now. */
broker_group_time broker_groups_now(void);
/* The core's callbacks for parked requests (broker_group_api.c). ctx is the broker. */
void broker_group_api_join_done(void *ctx, void *waiter, const broker_group_join_result *res);
void broker_group_api_sync_done(void *ctx, void *waiter, const broker_group_sync_result *res);
void broker_group_api_commit_done(void *ctx, void *waiter, const int16_t *errors, int32_t count);
/* The ListOffsets client that keeps log end offsets of partitions led elsewhere for lag
 * (broker_group_lag.c). Owned by broker_groups. */
broker_group_lag *broker_group_lag_new(broker *b);
void broker_group_lag_free(broker_group_lag *lag);
/* Refresh the cache when due (every BROKER_GROUP_LAG_REFRESH_MS). */
void broker_group_lag_tick(broker_group_lag *lag, int64_t now_ms);
/* The lag series for the groups of core. lag may be NULL (local partitions only). */
void broker_group_lag_collect(broker *b,
                              broker_group_lag *lag,
                              broker_group_core *core,
                              sl_buf *out);

/* ================= shared by the core files only ================= */

/* broker_group_core.c */
broker_group *broker_group_create(broker_group_core *core, sl_str group_id, broker_group_time now);
void broker_group_remove(broker_group_core *core, broker_group *g); /* frees g */
void broker_group_transition(broker_group *g, int state, broker_group_time now);
int16_t broker_group_status(const broker_group_core *core, sl_str group_id, bool allow_empty);
int16_t
broker_group_validate_member(const broker_group *g, sl_str member_id, sl_str group_instance_id);
broker_group_member *broker_group_member_find(const broker_group *g, sl_str member_id);
broker_group_member *broker_group_member_by_instance(const broker_group *g, sl_str instance_id);
void broker_group_member_set_assignment(broker_group_member *m, sl_bytes assignment);
bool broker_group_pending_remove(broker_group *g, sl_str member_id);
void broker_group_join_fail(broker_group_core *core, void *waiter, sl_str member_id, int16_t error);
void broker_group_member_join_error(broker_group_core *core,
                                    broker_group_member *m,
                                    sl_str member_id,
                                    int16_t error);
bool broker_group_member_sync_send(broker_group_core *core,
                                   broker_group_member *m,
                                   const broker_group_sync_result *res);
void broker_group_member_sync_error(broker_group_core *core, broker_group_member *m, int16_t error);
void broker_group_member_remove(broker_group_core *core, broker_group *g, broker_group_member *m);
void broker_group_compute_subscribed(broker_group *g);
bool broker_group_subscribed_to(const broker_group *g, sl_str topic);
broker_group_op *broker_group_op_new(broker_group_core *core, int kind, const broker_group *g);
broker_group *broker_group_op_group(const broker_group_core *core, const broker_group_op *op);
void broker_group_op_free(broker_group_core *core, broker_group_op *op);
void broker_group_append(broker_group_core *core,
                         int32_t partition,
                         broker_group_records *rs,
                         broker_group_op *op);
void broker_group_store(broker_group_core *core,
                        broker_group *g,
                        const sl_bytes *assignments,
                        broker_group_op *op);
void broker_group_heartbeat_schedule(broker_group *g,
                                     broker_group_member *m,
                                     int64_t timeout_ms,
                                     broker_group_time now);
void broker_group_prepare_rebalance(broker_group_core *core,
                                    broker_group *g,
                                    const char *reason,
                                    broker_group_time now);
void broker_group_maybe_prepare_rebalance(broker_group_core *core,
                                          broker_group *g,
                                          const char *reason,
                                          broker_group_time now);
void broker_group_try_complete_join(broker_group_core *core,
                                    broker_group *g,
                                    broker_group_time now);
void broker_group_join_expired(broker_group_core *core, broker_group *g, broker_group_time now);
void broker_group_static_join_stored(broker_group_core *core,
                                     broker_group_op *op,
                                     int16_t error,
                                     broker_group_time now);
void broker_group_static_join_data_free(void *data);
void broker_group_load_metadata(broker_group_core *core,
                                broker_group *g,
                                const protocol_GroupMetadataValue *v,
                                broker_group_time now);

/* broker_group_member.c */
int16_t broker_group_store_error(int16_t error);
void broker_group_sync_stored(broker_group_core *core,
                              broker_group_op *op,
                              int16_t error,
                              broker_group_time now);
void broker_group_propagate_error(broker_group_core *core,
                                  broker_group *g,
                                  int16_t error,
                                  broker_group_time now);
void broker_group_member_leave(broker_group_core *core,
                               broker_group *g,
                               broker_group_member *m,
                               const char *reason,
                               broker_group_time now);
void broker_group_member_op_free(broker_group_op *op);

/* broker_group_offsets.c */
void broker_group_offsets_clear(broker_group *g);
bool broker_group_has_offsets(const broker_group *g);
void broker_group_commit_op_done(broker_group_core *core,
                                 broker_group_op *op,
                                 int16_t error,
                                 int64_t base_offset);
void broker_group_commit_op_free(broker_group_op *op);
void broker_group_commit_cancel(broker_group_core *core, void *waiter);
void broker_group_load_free(broker_group_core *core, int32_t partition);

#endif
