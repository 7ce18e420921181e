/* sim.h — the deterministic simulation of raft/ (private to tests/sim).
 *
 * One process, one seeded sl_rand, one event queue ordered by (time, sequence): every
 * run of a seed replays the same events. The world holds 3 or 5 voters plus observers,
 * each a raft_node driven by a simulated driver that keeps the durability contract of
 * raft.h faithfully: the quorum state and the log have a written copy and a durable
 * copy; fsyncs and state writes complete after a (possibly slow) disk latency; messages
 * wait for the state write of their ready; a crash keeps only what was durable (plus,
 * at random, a prefix of the writes in flight). The network drops, duplicates, delays
 * and reorders messages and obeys symmetric and one-way partitions; each node's clock
 * runs at its own rate. Drivers see connections drop when a peer crashes (and come
 * back when it restarts) and, as a fault, on a live peer (a reset or blip): the core's
 * fast-failover input. After every event the checker (sim_check.c) asserts the Raft
 * safety properties; after the faults stop it asserts liveness.
 *
 * Files: sim_main.c (command line, seed loops), sim_world.c (events, network, faults,
 * workload), sim_node.c (the driver and disk model), sim_check.c (invariants, trace). */
#ifndef SIM_H
#define SIM_H

#include "raft/raft.h"

#include "common/sl_rand.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_NODES_MAX         8
#define SIM_TRACE_MAX         32768 /* events kept for the failure report (the last --trace N print) */
#define SIM_PAYLOAD_BYTES     16    /* proposal id + seed salt */
#define SIM_SNAP_HEADER_BYTES 24    /* end offset, chain hash, entry count */

/* ------------------------------------------------------------------ disk model */
typedef struct sim_disk_entry {
    int32_t epoch;
    uint8_t kind;
    uint32_t size;
    uint8_t *data; /* owned */
} sim_disk_entry;

/* One copy of a node's storage: the log and the newest snapshot. */
typedef struct sim_log {
    int64_t start;
    int32_t start_epoch;
    sim_disk_entry *entries;
    int64_t count, cap;
    raft_snapshot_id snap_id; /* {0, 0}: none */
    uint8_t *snap;            /* owned */
    size_t snap_size;
} sim_log;

void sim_log_init(sim_log *log);
void sim_log_free(sim_log *log);
void sim_log_copy(sim_log *dst, const sim_log *src);
int64_t sim_log_end(const sim_log *log);
int32_t sim_log_epoch_at(const sim_log *log, int64_t offset);
void sim_log_apply(sim_log *log, const raft_log_op *op);
void sim_log_store_snapshot(sim_log *log, raft_snapshot_id id, const uint8_t *data, size_t size);

/* A log op copied out of a ready, waiting for an fsync to reach the durable copy. */
typedef struct sim_op {
    int64_t seq;
    raft_log_op op; /* entries and data owned by the copy */
} sim_op;

typedef struct sim_held_msg {
    int64_t release_seq; /* state write that must complete first */
    raft_msg *msg;       /* owned clone */
} sim_held_msg;

typedef struct sim_state_write {
    int64_t seq;
    raft_quorum_state state;
} sim_state_write;

/* ------------------------------------------------------------------ node */
typedef struct sim_node {
    int32_t id;
    bool voter;
    bool up;
    uint32_t incarnation;
    raft_node *raft;
    int64_t clock_offset_ms; /* local clock = offset + now * ppm / 1e6 */
    int64_t clock_ppm;

    sim_log written; /* every log op applied */
    sim_log durable; /* what survives a crash */
    sim_op *ops;     /* applied to written, not yet to durable */
    int32_t op_count, op_cap;
    int64_t op_seq;
    bool fsync_busy;
    raft_quorum_state state_durable;
    sim_state_write *states; /* written, not yet durable */
    int32_t state_count, state_cap;
    int64_t state_seq;
    int64_t state_done_at; /* state writes complete in order */
    sim_held_msg *held;
    int32_t held_count, held_cap;
    sim_op *held_ops; /* log ops waiting for a state write (seq = its state seq) */
    int32_t held_op_count, held_op_cap;
    int64_t disk_slow_until;
    int64_t disk_stall_until;

    int64_t tick_at; /* earliest scheduled tick (sim time), 0 = none */
    int64_t tick_seq;

    /* application */
    int64_t app_next;   /* next offset to apply */
    uint64_t app_chain; /* hash chain over applied entries */
    int64_t app_count;  /* data entries applied */
    int64_t last_hw;
    int64_t acked_floor; /* largest fetch offset the leader of acked_epoch validated */
    int32_t acked_epoch;
    raft_role last_role;
    int32_t last_epoch;
} sim_node;

/* ------------------------------------------------------------------ world */
typedef enum sim_event_type {
    SIM_EV_DELIVER = 1,
    SIM_EV_TICK,
    SIM_EV_FSYNC,
    SIM_EV_STATE,
    SIM_EV_PROPOSE,
    SIM_EV_FAULT,
    SIM_EV_SNAPSHOT,
    SIM_EV_RESTART,
    SIM_EV_HEAL,
    SIM_EV_CONN, /* a node's driver sees its connection to a peer drop or come back */
    SIM_EV_BLIP, /* steady phase: reset one connection while the leader is alive */
} sim_event_type;

typedef struct sim_event {
    int64_t at;
    uint64_t seq;
    sim_event_type type;
    int32_t node;
    uint32_t incarnation;
    int64_t arg;
    raft_msg *msg; /* DELIVER: owned clone */
} sim_event;

typedef struct sim_trace_rec {
    int64_t at;
    int16_t kind;
    int16_t node;
    int16_t peer;
    int16_t sub;
    int64_t a, b, c;
} sim_trace_rec;

typedef struct sim_committed {
    int32_t epoch;
    uint8_t kind;
    uint64_t payload_hash;
    uint64_t chain;       /* hash chain through this offset */
    int32_t commit_epoch; /* lowest epoch of a node applying it: >= the epoch it committed in */
} sim_committed;

typedef struct sim_proposal {
    int64_t offset;
    int32_t epoch;
    int64_t at;
} sim_proposal;

typedef struct sim_params {
    int32_t voters, observers;
    int32_t election_ms, fetch_timeout_ms, max_wait_ms, request_ms, backoff_ms;
    int32_t fetch_max_bytes, chunk_bytes;
    int32_t drop_pct, dup_pct, delay_pct; /* per mille */
    int32_t lat_min_ms, lat_max_ms;
    int32_t disk_min_ms, disk_max_ms;
    int64_t chaos_ms;      /* faults happen before this time */
    int64_t liveness_ms;   /* bound after the heal, catch-up of uncommitted_max included */
    int64_t entry_cost_us; /* worst time per entry a fetcher needs to catch up */
    int32_t uncommitted_max;
    int32_t propose_max_ms;
    int32_t fault_gap_ms;
    bool steady_ok; /* timings leave no room for spurious elections: run the blip phase */
} sim_params;

typedef struct sim_world {
    uint64_t seed;
    uint32_t failpoints;
    sl_rand rng;
    int64_t now;
    uint64_t ev_seq;
    sim_params p;
    sim_node nodes[SIM_NODES_MAX];
    int32_t node_count;
    bool blocked[SIM_NODES_MAX][SIM_NODES_MAX]; /* [from][to] */
    int32_t drop_pm, dup_pm;                    /* current fault rates, per mille */

    sim_event *heap;
    int64_t heap_count, heap_cap;

    /* checker */
    int32_t *epoch_leader; /* by epoch: node id, or -1 */
    int32_t epoch_cap;
    sim_committed *committed;
    int64_t committed_count, committed_cap;
    sim_proposal *proposals;
    int64_t proposal_count, proposal_cap;
    bool healed;
    int64_t heal_at;
    int64_t first_post_heal_proposal; /* proposal id, -1 none yet */
    int64_t live_offset;              /* offset of the first post-heal commit, -1 */
    int64_t live_at;
    bool done;
    /* steady phase (after liveness): connection blips only; no epoch may change */
    bool steady;
    int64_t steady_until;
    int32_t steady_epoch;
    int64_t steady_commits;

    const char *failed; /* invariant name of the first failure, NULL while fine */
    char detail[320];

    sim_trace_rec trace[SIM_TRACE_MAX];
    int64_t trace_count;

    /* statistics */
    int64_t events, messages, elections, crashes, commits, snapshots, installs, max_epoch;
    int64_t conn_events, blips;
} sim_world;

/* sim_world.c */
void sim_world_init(sim_world *w, uint64_t seed, uint32_t failpoints);
void sim_world_free(sim_world *w);
/* Run to completion or first failure. Returns true when every check passed. */
bool sim_world_run(sim_world *w);
void sim_schedule(
    sim_world *w, int64_t at, sim_event_type type, int32_t node, int64_t arg, raft_msg *msg);
void sim_send(sim_world *w, const raft_msg *msg);
int32_t sim_node_index(const sim_world *w, int32_t id);
raft_msg *sim_msg_clone(const raft_msg *msg);

/* sim_node.c */
void sim_node_start(sim_world *w, sim_node *n);
void sim_node_crash(sim_world *w, sim_node *n);
void sim_node_free(sim_node *n);
int64_t sim_node_local_time(const sim_node *n, int64_t now);
void sim_node_after_input(sim_world *w, sim_node *n);
void sim_node_fsync_done(sim_world *w, sim_node *n, int64_t seq);
void sim_node_state_done(sim_world *w, sim_node *n, int64_t seq);
void sim_node_take_snapshot(sim_world *w, sim_node *n);
uint64_t sim_hash(uint64_t h, const void *data, size_t size);

/* sim_check.c */
void sim_check_free(sim_world *w);
void sim_fail(sim_world *w, const char *invariant, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sim_check_node(sim_world *w, sim_node *n);
void sim_check_apply(sim_world *w, sim_node *n, const raft_entry *e);
void sim_check_fetch_response(sim_world *w, sim_node *n, const raft_msg *msg);
void sim_check_truncate(sim_world *w, sim_node *n, int64_t offset);
void sim_check_snapshot(sim_world *w,
                        sim_node *n,
                        const uint8_t *data,
                        size_t size,
                        raft_snapshot_id id,
                        const char *why);
void sim_check_liveness(sim_world *w);
void sim_trace(
    sim_world *w, int kind, int node, int peer, int sub, int64_t a, int64_t b, int64_t c);
void sim_trace_dump(const sim_world *w, int last);

enum {
    SIM_TR_SEND = 1,
    SIM_TR_DELIVER,
    SIM_TR_DROP,
    SIM_TR_ROLE,
    SIM_TR_PROPOSE,
    SIM_TR_HW,
    SIM_TR_CRASH,
    SIM_TR_RESTART,
    SIM_TR_PARTITION,
    SIM_TR_HEAL,
    SIM_TR_FSYNC,
    SIM_TR_STATE,
    SIM_TR_SNAPSHOT,
    SIM_TR_INSTALL,
    SIM_TR_TRUNCATE,
    SIM_TR_RESIGN,
    SIM_TR_DISK,
    SIM_TR_CONN,
};

#endif
