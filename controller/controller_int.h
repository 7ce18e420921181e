/* controller_int.h — private to controller/.
 *
 * The decision functions here are pure: they read the metadata image and append the
 * records of one decision to a metadata_batch_builder. The caller proposes the batch to
 * the Raft log and applies it to its working image. Kafka error codes come from
 * protocol/ (PROTOCOL_ERR_*). */
#ifndef CONTROLLER_INT_H
#define CONTROLLER_INT_H

#include "controller/controller.h"
#include "common/sl_config.h"
#include "common/sl_err.h"
#include "common/sl_map.h"
#include "common/sl_rand.h"
#include "metadata/metadata.h"
#include "protocol/protocol.h"
#include "raft/raft.h"

#include <limits.h>

struct event;
struct event_base;

#define CONTROLLER_VOTERS_MAX 16

/* ---- configuration (controller_config.c) ---- */

typedef struct controller_config {
    int32_t node_id;
    char *process_roles;
    char *quorum_voters;
    char *listeners;
    char *metadata_log_dir;
    char *log_dirs;
    int32_t election_timeout_ms;
    int32_t fetch_timeout_ms;
    int32_t request_timeout_ms;
    int32_t retry_backoff_ms;
    int64_t snapshot_bytes;
    int32_t heartbeat_interval_ms;
    int32_t session_timeout_ms;
    int32_t lease_grace_ms;
    int32_t num_partitions;
    int32_t default_replication_factor;
    bool auto_leader_rebalance;
    int64_t imbalance_check_seconds;
    int32_t imbalance_percentage;
    bool delete_topic_enable;
    char *cluster_id;
    char *log_level;
    char *log_debug;
    char *log_file;
    /* derived */
    sl_props props; /* raw file + overrides: cluster-wide topic defaults */
    metadata_voter voters[CONTROLLER_VOTERS_MAX];
    int voter_count;
    int self_index;
    char listen_host[256];
    int32_t listen_port;
    char meta_dir[PATH_MAX];
} controller_config;

const sl_cfg_table *controller_config_table(void);
int controller_config_load(controller_config *cfg, const sl_cli *cli, char *err,
                           size_t err_size);
void controller_config_free(controller_config *cfg);

/* Cluster-wide defaults the controller resolves topic settings against (its own static
 * properties: min.insync.replicas, unclean.leader.election.enable, …). */
typedef struct controller_defaults {
    const sl_props *props;
} controller_defaults;

int32_t controller_topic_min_isr(const metadata_image *img, const metadata_topic *t,
                                 const controller_defaults *d);
bool controller_topic_unclean(const metadata_image *img, const metadata_topic *t,
                              const controller_defaults *d);

/* ---- partitions: election, ISR, ELR (controller_partition.c) ---- */

/* Leader for p among live brokers: first live ISR member in replica order; else first live
 * ELR member (KIP-966: they hold every committed offset); else, when unclean is allowed,
 * the first live replica (*unclean_out = true). -1 when none. */
int32_t controller_choose_leader(const metadata_image *img, const metadata_partition *p,
                                 bool unclean_allowed, bool *unclean_out);
/* Take broker_id out of p's leadership and ISR (fencing, controlled shutdown). Appends a
 * PartitionChangeRecord when something changes; returns true if it did. */
bool controller_partition_remove_broker(const metadata_image *img, const metadata_topic *t,
                                        const metadata_partition *p, int32_t broker_id,
                                        const controller_defaults *d, metadata_batch_builder *bb);
/* Elect a leader for a leaderless partition if a candidate is live now. */
bool controller_partition_try_elect(const metadata_image *img, const metadata_topic *t,
                                    const metadata_partition *p, const controller_defaults *d,
                                    metadata_batch_builder *bb);
/* Move leadership to the preferred replica (replicas[0]) if it is live and in the ISR.
 * Returns PROTOCOL_ERR_NONE, ELECTION_NOT_NEEDED or PREFERRED_LEADER_NOT_AVAILABLE. */
int16_t controller_partition_elect_preferred(const metadata_image *img, const metadata_topic *t,
                                             const metadata_partition *p,
                                             metadata_batch_builder *bb);
/* Unclean election on request (ElectLeaders type 1): only when the partition has no
 * leader; returns NONE, ELECTION_NOT_NEEDED or ELIGIBLE_LEADERS_NOT_AVAILABLE. */
int16_t controller_partition_elect_unclean(const metadata_image *img, const metadata_topic *t,
                                           const metadata_partition *p,
                                           metadata_batch_builder *bb);
/* AlterPartition from the leader. Returns a Kafka error code; on NONE a record was
 * appended (or the ISR was already equal). */
int16_t controller_partition_alter_isr(const metadata_image *img, const metadata_topic *t,
                                       const metadata_partition *p, int32_t broker_id,
                                       int32_t leader_epoch, int32_t partition_epoch,
                                       const int32_t *new_isr, int32_t new_isr_count,
                                       const controller_defaults *d, metadata_batch_builder *bb);
/* Start a reassignment to target (or cancel when target is NULL). */
int16_t controller_partition_reassign(const metadata_image *img, const metadata_topic *t,
                                      const metadata_partition *p, const int32_t *target,
                                      int32_t target_count, metadata_batch_builder *bb);

/* ---- placement (controller_placement.c) ---- */

/* Replicas for partitions [first, first + count) of a topic: partition p gets
 * [(start + p + i) % n for i in 0..rf-1] over the sorted live brokers. out[k] receives
 * rf ids each (caller frees with metadata ids helpers). Returns INVALID_REPLICATION_FACTOR
 * when rf > live brokers, else NONE. */
int16_t controller_place(const int32_t *live, int32_t live_count, int32_t start, int32_t first,
                         int32_t count, int16_t rf, int32_t *out);
/* A round-robin start: the number of partitions in the cluster, mod live brokers, so the
 * first topic starts at the first broker and later topics continue the rotation. */
int32_t controller_place_start(const metadata_image *img, int32_t live_count);

/* ---- the controller (controller_core.c) ---- */

typedef struct controller controller;
typedef struct controller_pending controller_pending;

/* A broker's session (not replicated: a new active controller starts fresh ones). */
typedef struct controller_session {
    int32_t id;
    int64_t last_heartbeat_ms;
    int64_t conn_lost_ms;   /* -1 while its connection is up */
    raft_net_conn *conn;
    int64_t heartbeat_offset; /* metadata offset the broker reported */
} controller_session;

struct controller {
    controller_config cfg;
    controller_defaults defaults;
    struct event_base *base;
    raft_net *net;
    raft_driver *raft;
    sl_rand rng;
    metadata_image committed; /* entries committed by the quorum */
    metadata_image work;      /* committed + own proposals (valid while active) */
    bool leader;              /* Raft leader of this epoch */
    bool active;              /* leader and caught up: serving requests */
    int32_t epoch;
    int32_t leader_id;
    int64_t activation_offset; /* the no-op proposed on election; active once committed */
    int64_t last_proposed;     /* offset of our last proposal */
    controller_pending *pending; /* replies waiting for their entry to commit */
    sl_imap sessions;          /* broker id → controller_session * */
    int64_t rebalance_last_ms;
    struct event *tick_ev;
    struct event *sig_term, *sig_int;
    bool stopping;
    int exit_code;
};

/* Reply sent once offset commits (or failed with NOT_CONTROLLER if it never does). */
typedef void (*controller_reply_fn)(controller *c, void *arg, bool committed);

/* Propose the records in bb as one entry (applied to `work` at once) and call done when it
 * commits or is lost. Returns SL_OK, or SL_E_STATE when not active (done not called). An
 * empty builder commits nothing: done is called at once with committed = true. */
int controller_propose(controller *c, metadata_batch_builder *bb, controller_reply_fn done,
                       void *arg, int64_t *offset_out);
bool controller_is_active(const controller *c);

/* ---- broker RPCs (controller_brokers.c) ---- */

void controller_rpc_frame(raft_net_conn *conn, uint32_t correlation_id, uint16_t type,
                          const uint8_t *payload, size_t len, void *arg);
void controller_rpc_state(raft_net_conn *conn, bool up, void *arg);
/* Send a response with the standard RpcStatus already filled in by the caller. */
void controller_reply(raft_net_conn *conn, uint32_t correlation_id, uint16_t type,
                      const ProtobufCMessage *msg);
void controller_sessions_tick(controller *c, int64_t now_ms);
void controller_sessions_reset(controller *c, int64_t now_ms);
void controller_rebalance_tick(controller *c, int64_t now_ms);

/* ---- forwarded Kafka admin requests (controller_admin.c) ---- */

/* Handle a forwarded request; calls reply(body, metadata_offset) exactly once. */
typedef void (*controller_admin_reply_fn)(controller *c, void *arg, int16_t error,
                                          const uint8_t *body, size_t len, int64_t offset);
void controller_admin_handle(controller *c, int16_t api_key, int16_t api_version,
                             const uint8_t *body, size_t len, controller_admin_reply_fn reply,
                             void *arg);

#endif
