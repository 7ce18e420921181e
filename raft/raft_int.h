/* raft_int.h — private to raft/: the node structure, the in-memory log, the output
 * buffers, and the functions the raft_core*.c files share.
 *
 * Files: raft_log.c (entries since the snapshot, epoch table, durable end),
 * raft_core.c (roles, transitions, elections, timers, invariants, inputs),
 * raft_core_fetch.c (Fetch/FetchSnapshot on both sides, the high watermark),
 * raft_core_out.c (outputs: messages, log ops, the ready). */
#ifndef RAFT_INT_H
#define RAFT_INT_H

#include "raft/raft.h"

#include "common/sl_arena.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_rand.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef SL_FAILPOINTS
#define RAFT_FP(node, fp) (((node)->cfg.failpoints & (fp)) != 0)
#else
#define RAFT_FP(node, fp) false
#endif

/* ------------------------------------------------------------------ log
 * Entries from start_offset (the snapshot end) to the end, in a window of a growable
 * array: slots [head, head + count). Payloads are owned copies. epochs[] lists, for
 * each epoch present in the window, the offset of its first entry (Kafka's leader
 * epoch cache), so end_offset_for_epoch is a short scan from the newest epoch. */
typedef struct raft_log_slot {
    uint8_t *data; /* owned, NULL when size is 0 */
    uint32_t size;
    int32_t epoch;
    uint8_t kind;
} raft_log_slot;

typedef struct raft_epoch_mark {
    int32_t epoch;
    int64_t start_offset;
} raft_epoch_mark;

typedef struct raft_log {
    raft_log_slot *slots;
    int64_t head;         /* index of the entry at start_offset */
    int64_t count;        /* entries in the log */
    int64_t cap;          /* slots allocated */
    int64_t start_offset; /* first offset in the log (= snapshot end offset) */
    int32_t start_epoch;  /* epoch of the entry at start_offset - 1 (snapshot epoch) */
    raft_epoch_mark *epochs;
    int32_t epoch_count;
    int32_t epoch_cap;
    int64_t durable_end; /* entries below are durable (start_offset <= it <= end) */
} raft_log;

void raft_log_init(raft_log *log);
void raft_log_deinit(raft_log *log);
int64_t raft_log_end(const raft_log *log);
int32_t raft_log_last_epoch(const raft_log *log);
/* Epoch of the entry at offset; offset == start_offset - 1 gives start_epoch; -1 when
 * out of range. */
int32_t raft_log_epoch_at(const raft_log *log, int64_t offset);
const raft_log_slot *raft_log_slot_at(const raft_log *log, int64_t offset);
void raft_log_append(
    raft_log *log, int32_t epoch, uint8_t kind, const uint8_t *data, uint32_t size);
/* Remove entries >= offset (start_offset <= offset <= end). */
void raft_log_truncate(raft_log *log, int64_t offset);
/* Drop every entry; the log now starts (empty) at start_offset with start_epoch. */
void raft_log_reset(raft_log *log, int64_t start_offset, int32_t start_epoch);
/* Drop entries below new_start (start_offset <= new_start <= end). */
void raft_log_discard_prefix(raft_log *log, int64_t new_start);
/* The largest epoch <= epoch known to this log and the end offset of its entries.
 * Returns false when epoch is older than everything the log knows (below the snapshot). */
bool raft_log_end_offset_for_epoch(const raft_log *log,
                                   int32_t epoch,
                                   int32_t *epoch_out,
                                   int64_t *end_out);
/* Only used in assertions: O(n) consistency of slots and the epoch table. */
bool raft_log_is_valid(const raft_log *log);

/* ------------------------------------------------------------------ outputs */
typedef struct raft_out {
    sl_arena arena; /* payload copies for msgs, entries, snapshots */
    raft_msg *msgs;
    int32_t msg_count, msg_cap;
    raft_log_op *ops;
    int32_t op_count, op_cap;
    raft_entry *entries; /* APPEND ops index into this (op.entries set at ready time) */
    int64_t entry_count, entry_cap;
    int64_t *op_first; /* per op: index of its first entry in entries */
    raft_entry *committed;
    int32_t committed_count, committed_cap;
    bool state_changed;
    int64_t truncated_from;
} raft_out;

/* ------------------------------------------------------------------ node */
typedef struct raft_replica {
    int32_t id;
    int64_t end_offset;    /* leader: last validated fetch offset (durable there), -1 unknown */
    int64_t last_fetch_ms; /* leader: arrival of the last fetch in this epoch */
    bool acked;            /* leader: BeginQuorumEpoch answered or fetched this epoch */
} raft_replica;

typedef struct raft_parked {
    int32_t from;
    uint32_t req_id;
    int32_t epoch;
    raft_fetch_request fetch;
    int64_t deadline_ms;
} raft_parked;

struct raft_node {
    raft_config cfg;
    int32_t voter_count;
    bool is_voter;
    int32_t self_index; /* index in cfg.voters, -1 for an observer */
    sl_rand rng;
    int64_t now_ms;

    /* quorum state (persisted through the ready) */
    int32_t epoch;
    int32_t voted_id;
    int32_t leader_id;
    raft_role role;

    raft_log log;
    int64_t hw;         /* high watermark (exclusive) */
    int64_t applied_hw; /* committed entries handed out up to here */

    uint8_t *snap_data; /* the latest snapshot's bytes (owned), for FetchSnapshot */
    size_t snap_size;

    int64_t election_deadline_ms; /* unattached voter, prospective, candidate, resigned */
    int64_t fetch_deadline_ms;    /* follower: give up on the leader after this */
    int64_t resend_ms;            /* next resend of vote/begin/end requests */

    /* prospective / candidate */
    uint32_t granted_mask; /* by voter index, self included */
    uint32_t answered_mask;

    /* follower / observer fetch state */
    bool fetched_from_leader;     /* a successful fetch in this epoch from this leader */
    bool leader_resigned;         /* EndQuorumEpoch received from the leader of this epoch */
    bool leader_unreachable;      /* the driver lost its connection to the leader (and no fetch
                                     has succeeded since) */
    int64_t fetch_deadline_saved; /* follower: the deadline before a lost connection cut it */
    uint32_t unreachable_mask;    /* by voter index: the driver's connection is down */
    bool fetch_in_flight;
    uint32_t fetch_req_id;
    int32_t fetch_target;    /* node the outstanding fetch went to */
    int64_t fetch_expire_ms; /* outstanding fetch considered lost after this */
    int64_t fetch_next_ms;   /* earliest time of the next fetch (error backoff) */
    bool snap_fetching;      /* FetchSnapshot in progress instead of Fetch */
    raft_snapshot_id snap_fetch_id;
    sl_buf snap_fetch_buf;
    int64_t snap_fetch_size;

    /* leader */
    raft_replica replicas[RAFT_VOTERS_MAX]; /* by voter index */
    int64_t epoch_start_offset;             /* offset of this epoch's LeaderChange entry */
    raft_parked parked[RAFT_OBSERVERS_MAX];
    int32_t parked_count;

    /* resigned */
    uint32_t end_acked_mask;
    int32_t successors[RAFT_VOTERS_MAX];
    int32_t successor_count;

    uint32_t next_req_id;
    raft_out out[2]; /* out[pending] accumulates; the other backs the last ready */
    int32_t pending;
};

/* raft_core.c */
int32_t raft_voter_index(const raft_node *node, int32_t id);
int32_t raft_majority(const raft_node *node);
int64_t raft_durable_end(const raft_node *node);
void raft_become_follower(raft_node *node, int32_t epoch, int32_t leader_id);
void raft_become_unattached(raft_node *node, int32_t epoch);
void raft_become_resigned(raft_node *node);
/* A response or request told us about (epoch, leader): move to it if newer. Returns
 * true when the message is from an older epoch and must be ignored. */
bool raft_observe_epoch(raft_node *node, int32_t epoch, int32_t leader_id);
int64_t raft_election_timeout(raft_node *node);
void raft_check_invariants(const raft_node *node);

/* raft_core_fetch.c */
void raft_leader_start(raft_node *node);
void raft_leader_update_hw(raft_node *node);
void raft_leader_complete_parked(raft_node *node);
void raft_handle_fetch_request(raft_node *node, const raft_msg *msg);
void raft_handle_fetch_response(raft_node *node, const raft_msg *msg);
void raft_handle_fetch_snapshot_request(raft_node *node, const raft_msg *msg);
void raft_handle_fetch_snapshot_response(raft_node *node, const raft_msg *msg);
void raft_fetcher_tick(raft_node *node);
void raft_fetcher_reset(raft_node *node);
void raft_set_hw(raft_node *node, int64_t hw);

/* raft_core_out.c */
void raft_out_init(raft_out *out);
void raft_out_deinit(raft_out *out);
void raft_out_clear(raft_out *out);
raft_out *raft_pending(raft_node *node);
/* Start a message to `to` of `type` with the common fields filled in. */
raft_msg *raft_msg_new(raft_node *node, raft_msg_type type, int32_t to, uint32_t req_id);
/* A response to req (from, req_id echoed) with this node's epoch and leader. */
raft_msg *raft_msg_reply(raft_node *node, const raft_msg *req, raft_msg_type type, int16_t error);
/* Copy bytes into the pending arena (for message payloads). */
const uint8_t *raft_out_copy(raft_node *node, const void *data, size_t size);
void raft_out_truncate(raft_node *node, int64_t offset);
void raft_out_append(raft_node *node, int64_t offset);
/* The log was replaced by the snapshot; it used to end at old_end. */
void raft_out_install(raft_node *node, int64_t old_end);
void raft_out_discard(raft_node *node, int64_t offset);
void raft_out_state_changed(raft_node *node);
void raft_out_collect_committed(raft_node *node);

#endif
