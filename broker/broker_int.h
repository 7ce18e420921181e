/* broker_int.h — private to broker/: the broker's objects and the calls between its files.
 * See broker.h for the threading model (one event loop, no locks). */
#ifndef BROKER_INT_H
#define BROKER_INT_H

#include "broker/broker.h"
#include "common/sl_alloc.h"
#include "common/sl_arena.h"
#include "common/sl_assert.h"
#include "common/sl_buf.h"
#include "common/sl_config.h"
#include "common/sl_err.h"
#include "common/sl_map.h"
#include "common/sl_metrics.h"
#include "common/sl_rand.h"
#include "common/sl_reader.h"
#include "metadata/metadata.h"
#include "protocol/protocol.h"
#include "raft/raft.h"
#include "storage/storage.h"

#include <limits.h>
#include <sys/types.h>
#include <stdbool.h>
#include <stdint.h>

struct event;
struct event_base;

typedef struct broker broker;
typedef struct broker_conn broker_conn;
typedef struct broker_request broker_request;
typedef struct broker_partition broker_partition;
typedef struct broker_topic broker_topic;
typedef struct broker_waiter broker_waiter;
typedef struct broker_fetcher broker_fetcher;
typedef struct broker_groups broker_groups;

#define BROKER_LISTENERS_MAX 8
#define BROKER_VOTERS_MAX    16
#define BROKER_AUTO_CREATE_RING 64
#define PID_PENDING_MAX_REQUESTS 1024 /* InitProducerId requests parked for an id block */

/* ---------------- configuration (broker_config.c) ---------------- */

typedef struct broker_config {
    int32_t node_id;
    int32_t broker_id_alias;
    char *process_roles;
    char *listeners;
    char *advertised_listeners;
    char *security_protocol_map;
    char *inter_broker_listener;
    char *quorum_voters;
    char *log_dirs;
    char *log_dir;
    char *metadata_log_dir;
    int32_t num_partitions;
    int32_t default_replication_factor;
    bool auto_create_topics;
    bool delete_topic_enable;
    int64_t replica_lag_time_max_ms;
    int32_t replica_fetch_max_bytes;
    int32_t replica_fetch_response_max_bytes;
    int32_t replica_fetch_wait_max_ms;
    int32_t replica_fetch_min_bytes;
    int32_t replica_fetch_backoff_ms;
    int32_t socket_request_max_bytes;
    int32_t socket_send_buffer_bytes;
    int32_t socket_receive_buffer_bytes;
    int64_t connections_max_idle_ms;
    int32_t heartbeat_interval_ms;
    int32_t offsets_topic_partitions;
    int32_t offsets_topic_rf;
    int32_t offsets_topic_segment_bytes;
    int32_t offsets_retention_minutes;
    int64_t offsets_retention_check_ms;
    int32_t offsets_commit_timeout_ms;
    int32_t group_initial_rebalance_delay_ms;
    int32_t group_min_session_timeout_ms;
    int32_t group_max_session_timeout_ms;
    int32_t group_max_size;
    int64_t retention_check_interval_ms;
    char *metrics_listener;
    char *log_level;
    char *log_debug;
    char *log_file;
    char *cluster_id;
    bool controlled_shutdown;
    int64_t controlled_shutdown_max_wait_ms;
    /* derived by broker_config_check */
    sl_props props; /* raw file + overrides: static topic defaults resolve from these */
    metadata_listener listen[BROKER_LISTENERS_MAX];
    int listen_count;
    metadata_listener advertised[BROKER_LISTENERS_MAX];
    int advertised_count;
    metadata_voter voters[BROKER_VOTERS_MAX];
    int voter_count;
    const char *data_dir;     /* the one log directory */
    char meta_dir[PATH_MAX];  /* the metadata log copy */
    int inter_broker_index;   /* index into advertised[] */
} broker_config;

const sl_cfg_table *broker_config_table(void);
int broker_config_load(broker_config *cfg, const sl_cli *cli, char *err, size_t err_size);
int broker_config_check(broker_config *cfg, char *err, size_t err_size);
void broker_config_free(broker_config *cfg);

/* ---------------- framed connections (broker_io.c) ----------------
 * A non-blocking socket with an input buffer parsed in place (Kafka frames: int32 size +
 * bytes) and an output buffer written as space allows. Used for client connections and
 * for the follower fetchers' connections to leaders. */

typedef struct broker_io {
    int fd;
    struct event *ev_read;
    struct event *ev_write;
    sl_buf in;         /* bytes read; frames start at in_off */
    size_t in_off;
    sl_buf out;        /* bytes to send from out_off */
    size_t out_off;
    bool reading;      /* EV_READ armed */
    bool eof;          /* peer closed or error */
    int64_t last_active_ms;
    char peer[64];
} broker_io;

/* Set up io over a connected non-blocking fd; cb is called on readable and writable
 * events (what = EV_READ / EV_WRITE). */
void broker_io_init(broker_io *io, struct event_base *base, int fd,
                    void (*cb)(int fd, short what, void *arg), void *arg);
void broker_io_deinit(broker_io *io); /* closes the fd, frees buffers and events */
/* Read what the socket has (at most read_max bytes this call), growing the input so a
 * frame of frame_hint bytes fits. Compacts consumed bytes first when compact is true
 * (callers pass false while a request holds views into the input). Returns bytes read
 * (0 = nothing available) or -1 at EOF/error (io->eof set). */
ssize_t broker_io_read(broker_io *io, size_t read_max, size_t frame_hint, bool compact);
/* The next complete frame (int32 size + size bytes) at in_off, without consuming it.
 * SL_OK (frame/size set: size excludes the 4-byte prefix), SL_AGAIN (incomplete;
 * *size_out = the full frame's size when known, else 0), or SL_E_TOO_LARGE /
 * SL_E_CORRUPT for a size above max or below zero. */
int broker_io_frame(broker_io *io, size_t max, const uint8_t **frame_out, size_t *size_out);
void broker_io_consume(broker_io *io, size_t n);
/* Write pending output; arms EV_WRITE while some remains. Returns bytes still pending,
 * or -1 on a write error (io->eof set). */
ssize_t broker_io_flush(broker_io *io);
static inline size_t broker_io_pending(const broker_io *io) {
    return io->out.len - io->out_off;
}
void broker_io_want_read(broker_io *io, bool on);

/* ---------------- client connections and requests (broker_net.c, broker_api.c) ---------- */

typedef enum broker_handled {
    BROKER_DONE = 0,    /* the response was written (or none is due: acks=0) */
    BROKER_PENDING = 1, /* the handler will call broker_request_finish later */
    BROKER_CLOSE = 2,   /* malformed or unsupported: close the connection */
} broker_handled;

struct broker_request {
    broker_conn *conn;
    protocol_request_header hdr;
    const protocol_api *api;
    sl_reader body;       /* the request body, a view into the connection's input */
    size_t frame_size;    /* 4 + size */
    sl_arena arena;       /* decoded views, scratch, response: freed when finished */
    int64_t start_us;
    void *op;             /* a parked handler's state */
    void (*cancel)(broker_request *req); /* frees op if the connection dies while parked */
};

struct broker_conn {
    broker *b;
    broker_io io;
    broker_request req;   /* the request in flight (Kafka: one at a time, answered in order) */
    bool req_active;
    bool in_process;      /* conn_process is on the stack */
    bool closing;         /* close once the output is flushed */
    int listener_index;
    uint64_t id;
    struct event *ev_resume; /* continue with the next request from the event loop */
    broker_conn *prev, *next;
};

typedef broker_handled (*broker_handler_fn)(broker_request *req);

/* Encode and queue the response for req, then finish it. resp is the api's response
 * struct. */
void broker_respond(broker_request *req, const void *resp);
/* Finish a request without a response (acks=0) or after a parked handler responded. */
void broker_request_finish(broker_request *req);
/* Decode req's body into a fresh struct from its arena; NULL on failure (logged). */
void *broker_request_decode(broker_request *req);
/* Allocate and init the response struct for req's api. */
void *broker_response_new(broker_request *req);

int broker_server_start(broker *b, char *err, size_t err_size);
void broker_server_stop(broker *b);
void broker_server_close_idle(broker *b, int64_t now_ms);

/* Dispatch: broker_api.c owns the table of implemented APIs and versions. */
typedef struct broker_api_entry {
    int16_t key;
    int16_t min_version;
    int16_t max_version;
    broker_handler_fn handler;
} broker_api_entry;

const broker_api_entry *broker_api_lookup(int16_t key);
broker_handled broker_api_dispatch(broker_request *req);

/* Handlers (one file per area). */
broker_handled broker_handle_api_versions(broker_request *req);
broker_handled broker_handle_metadata(broker_request *req);
broker_handled broker_handle_produce(broker_request *req);
broker_handled broker_handle_fetch(broker_request *req);
broker_handled broker_handle_list_offsets(broker_request *req);
broker_handled broker_handle_offset_for_leader_epoch(broker_request *req);
broker_handled broker_handle_delete_records(broker_request *req);
broker_handled broker_handle_init_producer_id(broker_request *req);
broker_handled broker_handle_describe_configs(broker_request *req);
broker_handled broker_handle_describe_cluster(broker_request *req);
broker_handled broker_handle_describe_log_dirs(broker_request *req);
broker_handled broker_handle_forward(broker_request *req); /* admin → active controller */
broker_handled broker_handle_find_coordinator(broker_request *req);

/* ---------------- partitions and the replica manager (broker_replica.c) ---------------- */

enum broker_role {
    BROKER_ROLE_NONE = 0,     /* not a replica here (or being deleted) */
    BROKER_ROLE_LEADER = 1,
    BROKER_ROLE_FOLLOWER = 2,
};

/* The leader's view of one follower. */
typedef struct broker_follower {
    int32_t id;
    int64_t leo;               /* the follower's log end offset (its last fetch offset) */
    int64_t last_fetch_ms;
    int64_t last_caught_up_ms; /* last fetch at which it had everything the leader had */
    int64_t leo_at_last_fetch; /* the leader's log end at that fetch */
} broker_follower;

struct broker_partition {
    broker_topic *topic;
    int32_t id;
    storage_log *log;          /* NULL when this broker is not a replica */
    int role;
    int32_t leader_id;
    int32_t leader_epoch;      /* the epoch this broker acts in */
    int32_t image_leader_epoch; /* the image's latest */
    int32_t partition_epoch;
    int64_t epoch_start_offset; /* leader: log end when its epoch began */
    metadata_ids replicas;     /* copies from the image */
    metadata_ids isr;
    int64_t high_watermark;    /* exclusive: offsets below it are committed */
    broker_follower *followers; /* leader: every other replica */
    int32_t follower_count;
    bool alter_isr_inflight;   /* an AlterPartition is with the controller */
    int64_t alter_isr_sent_ms;
    metadata_log_config lcfg;  /* resolved topic settings */
    struct broker_pstate *pstate; /* idempotent producers */
    broker_waiter *waiters;    /* purgatory entries parked on this partition */
    uint32_t wake_round;
    int64_t hw_checkpointed;   /* last high watermark written to disk */
    int64_t hw_checkpoint_ms;
    int64_t pstate_saved_ms;
    broker_fetcher *fetcher;   /* follower: the fetcher pulling it, NULL otherwise */
    int64_t fetch_offset_hint; /* follower: where the fetcher resumes */
    bool open_queued;          /* its log waits in the broker's open queue */
    int64_t open_retry_ms;     /* after a failed open: when to try again (0: not failed) */
};

struct broker_topic {
    char *name;
    metadata_uuid id;
    broker_partition **partitions; /* by partition id; NULL entries are not hosted */
    int32_t partition_count;
    bool internal;
};

/* A parked request waiting on partitions (acks=all produce, long-poll fetch). */
typedef enum broker_wait_kind {
    BROKER_WAIT_PRODUCE = 1,  /* until the high watermark reaches target */
    BROKER_WAIT_FETCH = 2,    /* until new data may satisfy min bytes */
    BROKER_WAIT_INTERNAL = 3, /* an internal append (group coordinator) awaiting the HW */
} broker_wait_kind;

struct broker_waiter {
    broker_wait_kind kind;
    broker_partition *partition;
    int64_t target;       /* produce: offset the HW must reach */
    void *op;             /* the request's parked state */
    int32_t index;        /* which partition of the op */
    uint32_t round;       /* last wake round that checked it */
    broker_waiter *next;  /* list on the partition */
};

/* Look up a hosted partition; NULL when unknown here. */
broker_partition *broker_partition_get(broker *b, const char *topic, size_t len, int32_t id);
broker_partition *broker_partition_get_by_id(broker *b, const metadata_uuid *topic_id,
                                             int32_t id);
/* Error a request for (topic, partition) gets from this broker when it cannot serve it as
 * leader: UNKNOWN_TOPIC_OR_PARTITION, NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE. */
int16_t broker_partition_leader_error(broker *b, const char *topic, size_t len, int32_t id,
                                      broker_partition **p_out);
/* Apply a metadata delta: create/open/delete logs, become leader or follower. */
void broker_replica_apply_delta(broker *b, const metadata_delta *delta);
/* Re-resolve every hosted partition's topic settings (after config changes). */
void broker_replica_refresh_configs(broker *b);
/* Leader: a follower fetched at fetch_offset; updates its progress, the HW and the ISR.
 * Returns the error for the follower's partition response. */
int16_t broker_replica_follower_fetch(broker *b, broker_partition *p, int32_t replica_id,
                                      int64_t fetch_offset, int64_t now_ms);
/* Recompute the high watermark (leader) and wake waiters when it moved. */
void broker_replica_update_hw(broker *b, broker_partition *p);
/* Follower: set the HW from the leader's, capped at our log end. */
void broker_replica_follower_hw(broker *b, broker_partition *p, int64_t leader_hw);
/* Periodic work: ISR shrink checks, HW checkpoints, retention, flush policy. */
void broker_replica_tick(broker *b, int64_t now_ms);
/* Start the background compaction of compacted topics (one bounded step per loop turn). */
void broker_replica_start(broker *b);
void broker_replica_close_all(broker *b);
/* Partitions waiting on new data or a higher HW: wake their waiters. */
void broker_partition_wake(broker *b, broker_partition *p);
void broker_waiter_add(broker_partition *p, broker_waiter *w);
void broker_waiter_remove(broker_partition *p, broker_waiter *w);

/* ---------------- idempotent producer state (broker_pstate.c) ----------------
 * Per partition: for each producer id, its epoch and the sequence ranges and offsets of
 * its last 5 batches (Kafka's max.in.flight for idempotence), so a retried batch is
 * recognised and answered with its original offsets, on the leader and — because
 * followers maintain the same state from replicated batches — after a failover. */

typedef struct broker_pstate broker_pstate;

#define BROKER_PSTATE_DUPLICATE (-100) /* internal: the batch was appended before */

broker_pstate *broker_pstate_new(void);
void broker_pstate_free(broker_pstate *ps);
/* PROTOCOL_ERR_NONE to append; BROKER_PSTATE_DUPLICATE with the original offsets in
 * dup_base/dup_last; OUT_OF_ORDER_SEQUENCE_NUMBER; INVALID_PRODUCER_EPOCH. */
int broker_pstate_check(const broker_pstate *ps, const protocol_batch_header *h,
                        int64_t *dup_base, int64_t *dup_last);
/* Record an appended batch (h->base_offset is its assigned offset). */
void broker_pstate_update(broker_pstate *ps, const protocol_batch_header *h);
/* Update from every batch in a buffer of concatenated batches (follower appends). */
void broker_pstate_update_all(broker_pstate *ps, const uint8_t *batches, size_t len);
/* Rebuild from the log: the saved snapshot (when it is not beyond the log end) plus the
 * batches after it. */
int broker_pstate_load(broker_pstate *ps, storage_log *log);
int broker_pstate_save(const broker_pstate *ps, storage_log *log);
size_t broker_pstate_count(const broker_pstate *ps);

/* Owners of parked requests: decide whether w's request is done, and finish it. */
void broker_produce_wake(broker *b, broker_waiter *w);
void broker_fetch_wake(broker *b, broker_waiter *w);
void broker_internal_wake(broker *b, broker_waiter *w);

/* ---------------- internal appends (broker_produce.c) ----------------
 * For the broker's own writers (the group coordinator's __consumer_offsets records). */

/* error: NONE once the high watermark passed the batch (acks=all), else
 * NOT_LEADER_OR_FOLLOWER (leadership lost), NOT_ENOUGH_REPLICAS(_AFTER_APPEND),
 * REQUEST_TIMED_OUT, KAFKA_STORAGE_ERROR, CORRUPT_MESSAGE. base_offset: the first offset
 * assigned (-1 on error before the append). */
typedef void (*broker_append_done_fn)(broker *b, void *arg, int16_t error, int64_t base_offset);
/* Append one magic-2 batch (built with protocol_batch_builder; any base offset) to p as its
 * leader; done is called exactly once, possibly before this returns. batch is modified in
 * place (offsets, epoch) and may be freed by the caller when this returns. */
void broker_append_internal(broker *b, broker_partition *p, uint8_t *batch, size_t len,
                            int32_t timeout_ms, broker_append_done_fn done, void *arg);

/* ---------------- follower fetchers (broker_fetcher.c) ---------------- */

void broker_fetcher_add(broker *b, broker_partition *p);    /* p follows p->leader_id */
void broker_fetcher_remove(broker *b, broker_partition *p);
void broker_fetchers_refresh(broker *b); /* broker addresses may have changed */
void broker_fetchers_stop(broker *b);

/* ---------------- group coordinator (broker_group*.c) ----------------
 * The coordinator's own objects are private to broker_group.h; b->groups is NULL while
 * this broker leads no __consumer_offsets partition. */

/* A __consumer_offsets partition changed role here (load or unload its groups). */
void broker_groups_partition_changed(broker *b, broker_partition *p);
/* Consumer-group series (kafka_consumergroup_*) for /metrics. */
void broker_groups_collect_metrics(broker *b, sl_buf *out);
/* Group APIs (broker_group_api.c); FindCoordinator is in broker_group.c. */
broker_handled broker_handle_join_group(broker_request *req);
broker_handled broker_handle_sync_group(broker_request *req);
broker_handled broker_handle_heartbeat(broker_request *req);
broker_handled broker_handle_leave_group(broker_request *req);
broker_handled broker_handle_offset_commit(broker_request *req);
broker_handled broker_handle_offset_fetch(broker_request *req);
broker_handled broker_handle_list_groups(broker_request *req);
broker_handled broker_handle_describe_groups(broker_request *req);
broker_handled broker_handle_delete_groups(broker_request *req);
broker_handled broker_handle_offset_delete(broker_request *req);

/* ---------------- the controller client (broker_ctl.c) ---------------- */

typedef void (*broker_ctl_done_fn)(broker *b, int16_t error, const ProtobufCMessage *resp,
                                   void *arg);
int broker_ctl_start(broker *b, char *err, size_t err_size);
void broker_ctl_stop(broker *b);
/* Send an RPC to the active controller; done is called exactly once (with error
 * REQUEST_TIMED_OUT / NOT_CONTROLLER on failure, resp NULL). */
void broker_ctl_call(broker *b, uint16_t type, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, int32_t timeout_ms,
                     broker_ctl_done_fn done, void *arg);
void broker_ctl_tick(broker *b, int64_t now_ms);
void broker_ctl_on_leader(broker *b, int32_t leader_id);
/* Wait until the local image has applied offset, then call fn (at once if it has). */
typedef void (*broker_meta_wait_fn)(broker *b, void *arg, bool ok);
void broker_meta_wait(broker *b, int64_t offset, int64_t timeout_ms, broker_meta_wait_fn fn,
                      void *arg);

/* ---------------- the metadata observer (broker_meta.c) ---------------- */

int broker_meta_start(broker *b, char *err, size_t err_size);
void broker_meta_stop(broker *b);
void broker_meta_tick(broker *b, int64_t now_ms);

/* ---------------- metrics (broker_metrics.c) ---------------- */

void broker_metrics_init(broker *b);
void broker_metrics_request_done(broker *b, const broker_request *req);
int broker_http_start(broker *b, char *err, size_t err_size);
void broker_http_stop(broker *b);

/* ---------------- admin (broker_admin.c) ---------------- */

/* Ask the controller to create a topic (Metadata auto-creation, internal topics).
 * configs: NULL or a NULL-terminated list of key, value, key, value … The request is sent
 * at most once a second per name; rf is capped at the live brokers. */
void broker_auto_create_topic(broker *b, const char *name, size_t len, int32_t partitions,
                              int16_t rf, const char *const *configs);

/* ---------------- lifecycle (broker_main.c) ---------------- */

void broker_request_shutdown(broker *b, const char *why);
void broker_shutdown_allowed(broker *b);
int broker_open_listeners(broker *b);
int broker_mkdirs(const char *dir);

/* ---------------- the broker ---------------- */

struct sl_listener;
struct evhttp;
typedef struct broker_ctl broker_ctl;
typedef struct broker_meta_waiter broker_meta_waiter;

struct broker {
    broker_config cfg;
    struct event_base *base;
    sl_metrics *metrics;
    sl_rand rng;
    /* clients */
    struct sl_listener *listeners[BROKER_LISTENERS_MAX];
    int listener_count;
    broker_conn *conns;
    int32_t conn_count;
    uint64_t conn_ids;
    /* metadata */
    metadata_image image;
    raft_driver *meta;
    raft_net *net;             /* Raft and controller RPC transport */
    broker_meta_waiter *meta_waiters;
    bool meta_caught_up;       /* applied the log up to what the leader had at start */
    /* controller session */
    broker_ctl *ctl;
    int64_t broker_epoch;      /* -1 until registered */
    bool fenced;
    /* partitions */
    sl_map topics;             /* name → broker_topic * */
    sl_map topics_by_id;       /* 16-byte id → broker_topic * */
    broker_fetcher *fetchers;  /* one per source broker */
    /* producer ids from the controller, handed out by InitProducerId */
    int64_t pid_next, pid_end;
    bool pid_requested;
    broker_request **pid_waiting; /* InitProducerId requests waiting for a block */
    int32_t pid_waiting_count;
    /* recent automatic topic creations (name hash, time) */
    uint64_t auto_create_hash[BROKER_AUTO_CREATE_RING];
    int64_t auto_create_ms[BROKER_AUTO_CREATE_RING];
    uint32_t auto_create_next;
    /* groups */
    broker_groups *groups;
    /* http */
    struct evhttp *http;
    sl_metric *m_requests;
    sl_metric *m_latency;
    /* lifecycle */
    int64_t retention_last_ms;
    struct event *clean_ev;    /* compaction steps */
    /* partition logs to open, a time slice per loop turn (broker_replica.c) */
    struct broker_open_item *open_queue;
    int32_t open_head, open_count, open_cap;
    int64_t open_fail_log_ms;      /* last log_open_failed line (rate limit) */
    int64_t open_fail_suppressed;  /* failures not logged since */
    struct event *open_ev;
    struct event *tick_ev;
    struct event *sig_term, *sig_int;
    bool shutting_down;
    int64_t shutdown_deadline_ms;
    int exit_code;
};

#endif
