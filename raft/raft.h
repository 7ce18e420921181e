/* raft.h — the pure KRaft state machine (KIP-595, KIP-630, KIP-996).
 *
 * A raft_node is one replica of one replicated log: a voter (its id is in the static
 * voter set) or an observer (any other id: fetches, never votes, never counts toward
 * the high watermark). The node has no sockets, threads, clocks, files or globals: a
 * driver feeds it inputs and carries out the outputs it asks for. That is what lets
 * tests/sim run five of them in one process on a simulated network, clock and disk.
 *
 * Inputs (each takes the driver's monotonic clock in ms):
 *   raft_node_step          a message received from a peer
 *   raft_node_tick          time passed (call by ready.next_tick_ms at the latest)
 *   raft_node_propose       the application appends one entry (leader only)
 *   raft_node_log_durable   the log is durable up to an offset (fsync completed)
 *   raft_node_snapshot_taken  the application wrote a snapshot of committed state
 *   raft_node_resign        graceful leader resignation (EndQuorumEpoch)
 *   raft_node_peer_unreachable / _reachable  the driver's connection to a peer dropped
 *                           or came back (fast failover; a hint, never needed for safety)
 * Outputs, collected with raft_node_ready() after any number of inputs:
 *   the quorum state to persist, log operations, messages, committed entries.
 *
 * ---------------------------------------------------------------------------
 * THE DURABILITY CONTRACT — a driver must do exactly this with each raft_ready rd:
 *   1. If rd.state_changed: write rd.state (epoch, voted id, leader id) and make it
 *      durable (write + fsync, atomically replacing the previous state). Until that
 *      write is durable, nothing else of this ready — nor of any later ready — may take
 *      effect: no message may leave the process (it may carry a vote or a leadership
 *      claim that is only safe once remembered), and no log op may be written (a log
 *      entry of an epoch the disk does not know yet would not survive a restart
 *      consistently; the kernel may flush any write, so hold them, do not just delay
 *      the fsync). The simplest correct driver writes the state synchronously, first.
 *      If the write fails, stop the node (fail-stop).
 *   2. Apply rd.log_ops to the log in order, after every earlier ready's log_ops
 *      (truncate, append, install snapshot, discard prefix). They need not be durable
 *      before the messages are sent. When (a later) fsync completes, report it with
 *      raft_node_log_durable(end_offset, last_epoch) naming the log end offset and the
 *      epoch of the last entry at the moment the fsync started; all log ops issued
 *      before that moment, truncations included, must then be on disk. The core never
 *      counts an entry toward the high watermark, nor claims it in a vote or a fetch
 *      offset, before it is reported durable.
 *   3. Send rd.msgs (once step 1 is durable). Any order; loss, delay, duplication and
 *      reordering are all tolerated.
 *   4. Apply to the application: if a log op is RAFT_LOG_OP_INSTALL_SNAPSHOT, replace
 *      the application state with that snapshot first; then apply rd.committed in order.
 * On restart, feed back the last durable quorum state, the newest snapshot and the log
 * entries after it through raft_restore — the entries only if the log on disk holds
 * the snapshot's last entry (end_offset - 1) with the snapshot's epoch or starts right
 * after the snapshot; a log that disagrees with the snapshot restarts empty after it.
 * Everything in rd stays valid until the next raft_node_ready (or raft_node_free):
 * inputs made while a driver works through rd — a proposal from an application
 * callback, say — collect into a separate buffer.
 * ---------------------------------------------------------------------------
 *
 * Offsets and epochs. Entries have contiguous offsets from the log start offset (0, or
 * the end offset of the latest snapshot). The high watermark (HW) is exclusive, as in
 * Kafka: entries with offset < HW are committed. It never moves backwards within a
 * node's lifetime, and only moves on a leader once an entry of the leader's own epoch
 * (the LeaderChange entry it appends on election) is durable on a majority of voters.
 * A snapshot id is (end_offset, epoch): it holds every entry below end_offset, and
 * epoch is the epoch of the entry at end_offset - 1. An empty log has last epoch 0;
 * the first elected leader has epoch 1.
 *
 * Invariants the node asserts after every input (SL_ASSERT; O(n) ones SL_DASSERT): the
 * role agrees with the quorum state; HW <= log end and never decreases; committed
 * entries are never truncated; durable end <= log end; epochs in the log never exceed
 * the current epoch and never decrease along the log; a leader's log ends in its epoch.
 * Bytes from the network are checked and answered or ignored, never asserted.
 *
 * Thread: a raft_node belongs to one thread; nothing here blocks or locks.
 *
 * The second half of this header (DRIVERS) is what runs a node in a real process. */
#ifndef RAFT_H
#define RAFT_H

#include "common/sl_buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct raft_node raft_node;

#define RAFT_NODE_NONE         (-1) /* "no node": no leader known, no vote cast */
#define RAFT_VOTERS_MAX        16   /* votes are tracked in a 32-bit mask; quorums are 3 or 5 */
#define RAFT_OBSERVERS_MAX     64   /* fetches parked at once on a leader (voters + observers) */
#define RAFT_FETCH_ENTRIES_MAX 4096 /* entries in one Fetch response: bounds a reply's work */

typedef enum raft_role {
    RAFT_ROLE_UNATTACHED = 0,  /* no leader known in this epoch (may have voted) */
    RAFT_ROLE_PROSPECTIVE = 1, /* pre-vote: asking whether it could win, epoch unchanged */
    RAFT_ROLE_CANDIDATE = 2,   /* epoch incremented, voted for itself, asking for votes */
    RAFT_ROLE_LEADER = 3,      /* elected for this epoch; the only writer */
    RAFT_ROLE_FOLLOWER = 4,    /* knows this epoch's leader, fetches from it */
    RAFT_ROLE_RESIGNED = 5,    /* was leader of this epoch, gave it up (or restarted) */
} raft_role;

/* Entry kinds. LEADER_CHANGE is the control entry a new leader appends; the
 * application sees it in rd.committed and skips it. */
enum {
    RAFT_ENTRY_DATA = 0,
    RAFT_ENTRY_LEADER_CHANGE = 1,
};

/* Error codes carried in responses: Kafka's numbers (protocol error table). */
enum {
    RAFT_ERR_NONE = 0,
    RAFT_ERR_NOT_LEADER_OR_FOLLOWER = 6,  /* fetch sent to a node that is not the leader */
    RAFT_ERR_INVALID_REQUEST = 42,        /* a field out of range */
    RAFT_ERR_FENCED_LEADER_EPOCH = 74,    /* request epoch < receiver's epoch */
    RAFT_ERR_UNKNOWN_LEADER_EPOCH = 75,   /* request epoch > receiver's epoch */
    RAFT_ERR_INCONSISTENT_VOTER_SET = 94, /* sender or receiver is not a voter */
    RAFT_ERR_SNAPSHOT_NOT_FOUND = 98,     /* the requested snapshot is not the current one */
    RAFT_ERR_POSITION_OUT_OF_RANGE = 99,  /* snapshot position beyond its size */
};

typedef struct raft_entry {
    int64_t offset;
    int32_t epoch;       /* epoch of the leader that appended it, >= 1 */
    uint8_t kind;        /* RAFT_ENTRY_* */
    uint32_t size;       /* payload bytes */
    const uint8_t *data; /* borrowed; see the owning structure */
} raft_entry;

typedef struct raft_snapshot_id {
    int64_t end_offset; /* entries below this are in the snapshot; 0 = no snapshot */
    int32_t epoch;      /* epoch of entry end_offset - 1 (0 when end_offset is 0) */
} raft_snapshot_id;

/* What must be durable before messages are sent (see the contract above). */
typedef struct raft_quorum_state {
    int32_t epoch;     /* current leader epoch, >= 0 */
    int32_t voted_id;  /* voter this node voted for in epoch, or RAFT_NODE_NONE */
    int32_t leader_id; /* leader of epoch as known here, or RAFT_NODE_NONE */
} raft_quorum_state;

/* ------------------------------------------------------------------ messages
 * One struct for every message; the driver encodes it for the wire. Fields common to
 * all: type, from (the sender's node id, which the driver must take from the
 * connection, not trust from the payload), to, epoch (the sender's current epoch),
 * req_id (chosen by the requester, echoed in the response). Responses also carry
 * error and the responder's view of the leader (leader_id in epoch). */
typedef enum raft_msg_type {
    RAFT_MSG_VOTE_REQUEST = 1,
    RAFT_MSG_VOTE_RESPONSE = 2,
    RAFT_MSG_BEGIN_EPOCH_REQUEST = 3,
    RAFT_MSG_BEGIN_EPOCH_RESPONSE = 4,
    RAFT_MSG_END_EPOCH_REQUEST = 5,
    RAFT_MSG_END_EPOCH_RESPONSE = 6,
    RAFT_MSG_FETCH_REQUEST = 7,
    RAFT_MSG_FETCH_RESPONSE = 8,
    RAFT_MSG_FETCH_SNAPSHOT_REQUEST = 9,
    RAFT_MSG_FETCH_SNAPSHOT_RESPONSE = 10,
} raft_msg_type;

typedef struct raft_vote_request {
    int32_t last_epoch;  /* epoch of the candidate's last durable entry */
    int64_t last_offset; /* the candidate's durable log end offset */
    bool pre_vote;       /* KIP-996: a question, changes no state on the voter */
} raft_vote_request;

typedef struct raft_vote_response {
    bool granted;
    bool pre_vote; /* echoed from the request */
} raft_vote_response;

typedef struct raft_end_epoch_request {
    int32_t successors[RAFT_VOTERS_MAX]; /* preferred successors, best first */
    int32_t successor_count;
} raft_end_epoch_request;

typedef struct raft_fetch_request {
    int64_t fetch_offset;       /* the fetcher's durable log end offset */
    int32_t last_fetched_epoch; /* epoch of the entry at fetch_offset - 1 (0 if none) */
    int64_t high_watermark;     /* the fetcher's HW: the leader answers at once if newer */
    int32_t max_wait_ms;        /* how long the leader may hold the request */
} raft_fetch_request;

typedef struct raft_fetch_response {
    int64_t high_watermark;
    int64_t log_start_offset;
    int32_t diverging_epoch;      /* >= 0: truncate (KIP-595 DivergingEpoch), else -1 */
    int64_t diverging_end_offset; /* end offset of diverging_epoch on the leader */
    raft_snapshot_id snapshot_id; /* end_offset > 0: fetch this snapshot first */
    int64_t fetch_offset;         /* echoed from the request, with last_fetched_epoch: */
    int32_t last_fetched_epoch;   /* the answer applies only to a log ending there */
    const raft_entry *entries;    /* from fetch_offset on, contiguous */
    int32_t entry_count;
} raft_fetch_response;

typedef struct raft_fetch_snapshot_request {
    raft_snapshot_id snapshot_id;
    int64_t position; /* byte position to read from */
} raft_fetch_snapshot_request;

typedef struct raft_fetch_snapshot_response {
    raft_snapshot_id snapshot_id;
    int64_t size;     /* total snapshot bytes */
    int64_t position; /* of data within the snapshot */
    const uint8_t *data;
    uint32_t data_size;
} raft_fetch_snapshot_response;

typedef struct raft_msg {
    raft_msg_type type;
    int32_t from;
    int32_t to;
    int32_t epoch;
    uint32_t req_id;
    int16_t error;     /* responses: RAFT_ERR_* */
    int32_t leader_id; /* responses, BeginQuorumEpoch, EndQuorumEpoch: leader in epoch */
    union {
        raft_vote_request vote;
        raft_vote_response vote_resp;
        raft_end_epoch_request end_epoch;
        raft_fetch_request fetch;
        raft_fetch_response fetch_resp;
        raft_fetch_snapshot_request snap;
        raft_fetch_snapshot_response snap_resp;
    };
} raft_msg;

/* ------------------------------------------------------------------ log operations */
typedef enum raft_log_op_type {
    RAFT_LOG_OP_TRUNCATE = 1,         /* remove entries with offset >= offset */
    RAFT_LOG_OP_APPEND = 2,           /* append entries; entries[0].offset == log end */
    RAFT_LOG_OP_INSTALL_SNAPSHOT = 3, /* store snapshot (data), drop the whole log; the log
                                         now starts at snapshot.end_offset */
    RAFT_LOG_OP_DISCARD_PREFIX = 4,   /* entries below offset are covered by a snapshot the
                                         application already stored; may be deleted lazily */
} raft_log_op_type;

typedef struct raft_log_op {
    raft_log_op_type type;
    int64_t offset;               /* TRUNCATE, DISCARD_PREFIX */
    const raft_entry *entries;    /* APPEND */
    int64_t entry_count;          /* APPEND */
    raft_snapshot_id snapshot_id; /* INSTALL_SNAPSHOT */
    const uint8_t *data;          /* INSTALL_SNAPSHOT: the snapshot bytes */
    size_t size;
} raft_log_op;

/* ------------------------------------------------------------------ ready */
typedef struct raft_ready {
    bool state_changed;         /* 1. persist state durably before sending msgs */
    raft_quorum_state state;    /*    always the current state */
    const raft_log_op *log_ops; /* 2. in order */
    int32_t log_op_count;
    const raft_msg *msgs; /* 3. send after step 1 is durable */
    int32_t msg_count;
    const raft_entry *committed; /* 4. newly committed entries, in offset order */
    int32_t committed_count;
    int64_t high_watermark; /* committed = offset < high_watermark */
    int64_t truncated_from; /* entries >= this were removed (never committed ones), or -1.
                               A proposal (offset, epoch) commits when an entry with
                               that offset and epoch appears in committed; it is lost
                               if a different epoch appears there or it is truncated.
                               Below an installed snapshot's end the outcome shows only
                               in the snapshot's content: an application that lost
                               leadership treats such proposals as unknown. */
    raft_role role;         /* soft state, for the application */
    int32_t epoch;
    int32_t leader_id;
    int64_t next_tick_ms; /* call raft_node_tick no later than this */
} raft_ready;

/* ------------------------------------------------------------------ configuration */
typedef struct raft_config {
    int32_t node_id;                 /* >= 0 */
    int32_t voters[RAFT_VOTERS_MAX]; /* static voter set (controller.quorum.voters) */
    int32_t voter_count;             /* 1..RAFT_VOTERS_MAX */
    int32_t election_timeout_ms;     /* quorum.election.timeout.ms; randomised in [t, 2t) */
    int32_t fetch_timeout_ms;        /* quorum.fetch.timeout.ms: follower without a leader
                                        response, or leader without fetches from a
                                        majority, for this long gives up */
    int32_t fetch_max_wait_ms;       /* long poll: how long a leader holds an empty fetch */
    int32_t request_timeout_ms;      /* quorum.request.timeout.ms: resend after this */
    int32_t retry_backoff_ms;        /* quorum.retry.backoff.ms: after an error response */
    int32_t fetch_max_bytes;         /* payload bytes per Fetch response (>= 1 entry) */
    int32_t snapshot_chunk_bytes;    /* bytes per FetchSnapshot response */
    int64_t snapshot_max_bytes;      /* largest snapshot accepted from a leader */
    int32_t entry_max_bytes;         /* largest proposal / fetched entry */
    int32_t uncommitted_max;         /* proposals beyond HW before propose says SL_AGAIN */
    uint64_t rand_seed;              /* seeds election timer jitter (sl_rand) */
    uint32_t failpoints;             /* RAFT_FP_*: honoured only in SL_FAILPOINTS builds */
} raft_config;

/* Planted bugs for the simulation's checker (tests/sim). Compiled in only when
 * SL_FAILPOINTS is defined; the normal library ignores the field. */
enum {
    RAFT_FP_SKIP_DURABLE = 1u << 0,  /* treat written entries as durable */
    RAFT_FP_DOUBLE_VOTE = 1u << 1,   /* grant a second vote in one epoch */
    RAFT_FP_MINORITY_HW = 1u << 2,   /* advance the HW on the leader's own offset */
    RAFT_FP_BLIP_ELECTION = 1u << 3, /* a lost connection to the leader starts a real election
                                        at once, skipping pre-vote (flapping) */
};

/* What the driver read back from disk at start-up. All of it is trusted to be durable. */
typedef struct raft_restore {
    raft_quorum_state state;      /* {0, NONE, NONE} for a new node */
    raft_snapshot_id snapshot_id; /* {0, 0} when there is none */
    const uint8_t *snapshot_data; /* borrowed; copied (served to lagging fetchers) */
    size_t snapshot_size;
    const raft_entry *entries; /* borrowed; offsets from snapshot_id.end_offset on */
    int64_t entry_count;
} raft_restore;

/* Defaults: election 1000 ms, fetch timeout 2000 ms, max wait 500 ms, request timeout
 * 2000 ms, retry backoff 20 ms (Kafka's quorum.* defaults), 1 MiB fetch and entry
 * limits, 64 KiB snapshot chunks, 1 GiB snapshot limit, 8192 uncommitted entries. */
void raft_config_init(raft_config *cfg, int32_t node_id);

/* ------------------------------------------------------------------ node */

/* Create a node from its configuration and what survived on disk (restore may be NULL
 * for a new node). The role on start: observer → unattached; leader_id == node_id →
 * resigned; another leader known → follower; otherwise unattached (voters start an
 * election after a randomised timeout).
 * Returns SL_OK, SL_E_CONFIG (bad configuration), SL_E_CORRUPT (restore inconsistent:
 * offsets not contiguous, epochs decreasing or beyond the state's epoch, bad ids).
 * node_out: set on success; free with raft_node_free. cfg and restore are borrowed. */
int raft_node_new(const raft_config *cfg,
                  const raft_restore *restore,
                  int64_t now_ms,
                  raft_node **node_out);
void raft_node_free(raft_node *node); /* NULL is a no-op */

/* A message from a peer. msg is borrowed for the call. Malformed or stale messages are
 * answered with an error or ignored. Returns SL_OK, or SL_E_INVALID when msg->to is not
 * this node, msg->from is this node or negative, or the type is unknown (the message is
 * dropped; nothing changed but the clock). */
int raft_node_step(raft_node *node, int64_t now_ms, const raft_msg *msg);

/* Time passed: fires election, fetch, check-quorum and resend timers, answers parked
 * fetches whose wait expired. now_ms is monotonic; an earlier value counts as no time. */
void raft_node_tick(raft_node *node, int64_t now_ms);

/* Append one entry (leader only). data: borrowed, copied.
 * offset_out, epoch_out: set on success; the proposal commits when committed shows an
 * entry at that offset with that epoch (see raft_ready.truncated_from for loss).
 * Returns SL_OK, SL_E_STATE (not leader), SL_E_TOO_LARGE (size > entry_max_bytes), or
 * SL_AGAIN (uncommitted_max entries already wait for the HW: try later). */
int raft_node_propose(raft_node *node,
                      int64_t now_ms,
                      const void *data,
                      uint32_t size,
                      int64_t *offset_out,
                      int32_t *epoch_out);

/* The log is durable up to end_offset, whose last entry (end_offset - 1) has
 * last_epoch (the snapshot epoch when end_offset is the log start). A report that does
 * not match the current log (stale after a truncation) is ignored. */
void raft_node_log_durable(raft_node *node, int64_t now_ms, int64_t end_offset, int32_t last_epoch);

/* The application stored a snapshot of its state covering every entry below
 * end_offset (end_offset <= HW). data: borrowed, copied (served to fetchers). The node
 * drops entries below end_offset and emits RAFT_LOG_OP_DISCARD_PREFIX.
 * Returns SL_OK, SL_E_RANGE (end_offset > HW or not beyond the current snapshot), or
 * SL_E_TOO_LARGE (size > snapshot_max_bytes). */
int raft_node_snapshot_taken(
    raft_node *node, int64_t now_ms, int64_t end_offset, const void *data, size_t size);

/* Give up leadership gracefully: the node becomes resigned and sends EndQuorumEpoch
 * with the voters ordered by how far they have replicated, so the best one starts an
 * election at once. Returns SL_OK or SL_E_STATE (not leader). */
int raft_node_resign(raft_node *node, int64_t now_ms);

/* The driver's connection to peer id dropped (the peer's process died, or a blip).
 * A follower whose leader it is starts its pre-vote after a random delay in
 * [0, election_timeout / 2) instead of waiting for the fetch timeout, and from now on
 * grants pre-votes to others (until a fetch from the leader succeeds again). Pre-vote
 * keeps this from deposing a live leader: its other followers still refuse. A fetch in
 * flight to id is treated as lost. An observer looking for the leader asks the other
 * voters first, and one told that id leads (by a voter that has not noticed yet) looks
 * again after the same short delay. Unknown ids and other roles change nothing else. */
void raft_node_peer_unreachable(raft_node *node, int64_t now_ms, int32_t id);
/* The connection to id is up again: a fetch in flight to it is resent, unanswered vote,
 * BeginQuorumEpoch and EndQuorumEpoch requests are resent at the next tick, and a
 * follower whose leader it is goes back to its normal fetch timeout. */
void raft_node_peer_reachable(raft_node *node, int64_t now_ms, int32_t id);

/* True when raft_node_ready would return something to do. */
bool raft_node_has_ready(const raft_node *node);

/* The latest time (the driver's clock) by which raft_node_tick must be called: the same
 * value raft_node_ready reports, for drivers that skip an empty ready. */
int64_t raft_node_next_tick_ms(const raft_node *node);

/* Take the outputs accumulated since the last call (see the contract at the top).
 * rd: filled; every pointer in it is owned by the node and valid until the next
 * raft_node_ready or raft_node_free (other inputs in between do not disturb it). */
void raft_node_ready(raft_node *node, raft_ready *rd);

/* Read-only views. */
int32_t raft_node_id(const raft_node *node);
raft_role raft_node_role(const raft_node *node);
int32_t raft_node_epoch(const raft_node *node);
int32_t raft_node_leader_id(const raft_node *node); /* RAFT_NODE_NONE when unknown */
int64_t raft_node_high_watermark(const raft_node *node);
int64_t raft_node_log_start_offset(const raft_node *node);
int64_t raft_node_log_end_offset(const raft_node *node);
int64_t raft_node_durable_end_offset(const raft_node *node);
raft_snapshot_id raft_node_snapshot_id(const raft_node *node);
/* The entry at offset (log start <= offset < log end). entry_out->data points into the
 * node's log, valid until the next non-const call. Returns SL_OK or SL_E_RANGE. */
int raft_node_entry(const raft_node *node, int64_t offset, raft_entry *entry_out);

const char *raft_role_name(raft_role role);
const char *raft_msg_type_name(raft_msg_type type);

/* =====================================================================================
 * DRIVERS — what runs a raft_node in a process: a framed TCP transport (raft_net.c),
 * the wire encoding (raft_wire.c, raft/raft.proto), the files (raft_store.c) and the
 * event-loop driver (raft_driver.c). sluice-controller runs a voter, sluice-broker an
 * observer that follows the metadata log. Unlike the core these use sockets, clocks and
 * files, and depend on protocol/ and storage/.
 *
 * ---- Transport frames (ARCHITECTURE.md "Two protocols"), big-endian:
 *
 *   off size field
 *     0  4   length          bytes after this field (6 + payload), <= max_frame_bytes
 *     4  4   correlation id  echoed by responses (Raft frames: the message's req_id)
 *     8  2   type            below; responses of RPCs have 0x8000 set
 *    10  …   payload         a packed protobuf message
 *
 *   type       payload (raft/raft.proto, package rf; metadata/metadata_rpc.proto)
 *   0x01-0x0a  rf.VoteRequest … rf.FetchSnapshotResponse: type == raft_msg_type
 *   0x20       rf.Hello {node_id, version}: who opened this connection
 *   0x40-0x7f  metadata RPCs (METADATA_RPC_* in metadata.h), for the application
 *
 * Every connection a Raft node opens (to each voter) starts with a Hello naming its node
 * id; the acceptor takes the sender of every Raft frame on that connection from it (the
 * core needs `from` to come from the connection, never from the payload). Raft frames
 * before the Hello are dropped, as is a second Hello naming another id (the connection
 * is closed). Broker RPC connections send no Hello: every frame whose type is outside
 * 0x01-0x3f goes to the application handler (raft_driver_set_app_handler), Hello or not.
 * A frame that does not decode, or whose fields are out of range, is dropped and logged.
 *
 * Routing: a message to voter V goes on this node's outbound connection to V or, while
 * that one is down, on the newest inbound connection whose Hello named V; a message to
 * an observer goes on the newest inbound connection whose Hello named it (the one its
 * fetches arrive on). A message with no connection up is dropped: Raft resends.
 *
 * ---- Files in log_dir (e.g. <metadata.log.dir>/__cluster_metadata-0/):
 *
 *   <20-digit base offset>.log etc.   storage.h's segmented log. Each entry is one
 *       RecordBatch v2 holding one record: baseOffset = entry offset,
 *       partitionLeaderEpoch = entry epoch, record key null, value = the payload. A
 *       LeaderChange entry is a control batch (attribute bit 5) whose record key is
 *       {version 0, type 2} (KRaft LEADER_CHANGE) and whose value is the payload.
 *   quorum-state   Kafka's JSON (FileQuorumStateStore, data_version 0), e.g.
 *       {"clusterId":"","leaderId":1,"leaderEpoch":3,"votedId":-1,"appliedOffset":0,
 *        "currentVoters":[{"voterId":1},{"voterId":2},{"voterId":3}],"data_version":0}
 *       leaderId/votedId -1 = none. Written atomically (quorum-state.tmp, fsync, rename,
 *       fsync of the directory). A file that does not parse, lacks a field or names
 *       another voter set refuses the start (SL_E_CORRUPT / SL_E_CONFIG), never reset.
 *   <20-digit end offset>-<10-digit epoch>.checkpoint   the newest snapshot, written
 *       atomically; the previous one is deleted once the new one is durable:
 *
 *         off size field
 *           0  8  magic "SLRFTSNP"
 *           8  4  format version int32 (1)
 *          12  4  epoch int32              = the name's epoch
 *          16  8  end offset int64         = the name's offset
 *          24  8  data size int64
 *          32  4  CRC-32C of the data
 *          36  4  CRC-32C of bytes 0..35
 *          40  …  data (the application's snapshot_take output)
 *
 * ---- The driver keeps raft.h's durability contract: the quorum state is written and
 * fsync'd synchronously before any log op or message of its ready; log ops go to the
 * storage log in order; messages go out right after; the log is fsync'd once per event
 * loop pass after the sockets were written (a group commit covering every append since
 * the last) and raft_node_log_durable reports the end offset and last epoch as of the
 * fsync's start. Snapshots: when snapshot_interval_bytes of entries were committed
 * since the last one, the driver calls snapshot_take, writes the .checkpoint file and
 * tells the core (which then discards the log prefix: segments below it are deleted).
 * A snapshot installed from the leader (FetchSnapshot) is written the same way before
 * the log restarts after it. Start-up: open the log (storage recovery cuts a torn
 * tail), read quorum-state, load the newest valid .checkpoint (on_snapshot_load), then
 * hand the log entries after it to the core; they reach on_commit once the high
 * watermark (learned from the quorum) covers them.
 *
 * Fast failover: when the outbound connection to the current leader drops (a killed
 * process's sockets close at once), the driver calls raft_node_peer_unreachable, so a
 * follower starts its pre-vote within election_timeout / 2 instead of after the fetch
 * timeout; raft_node_peer_reachable when it is back.
 *
 * Failure: a failed write, fsync or storage operation makes the driver fail-stop: it
 * logs `event=fail_stop` (error), closes its connections, stops its timers and refuses
 * every call (SL_E_FATAL), then calls the handler set with raft_driver_set_fatal_handler;
 * without one it ends the process with exit status 1 (Kafka halts the same way).
 * raft_driver_failed() reports the error.
 *
 * Thread: a driver and its raft_net belong to the event_base's thread. Callbacks run on
 * it, never re-entrantly from raft_driver_propose/_resign; they may call propose,
 * resign and get_status, but not raft_driver_stop. */

struct event_base;
struct ProtobufCMessage;

#define RAFT_NET_FRAME_HEADER_BYTES 10
#define RAFT_NET_TYPE_HELLO         0x20 /* rf.Hello; raft_msg_type are 0x01-0x0a */
#define RAFT_NET_TYPE_RAFT_MAX      0x3f /* 0x01-0x3f: the Raft driver's frames */
#define RAFT_WIRE_VERSION           1    /* rf.Hello.version this build speaks */
#define RAFT_QUORUM_STATE_FILE      "quorum-state"
#define RAFT_SNAPSHOT_SUFFIX        ".checkpoint"
#define RAFT_SNAPSHOT_HEADER_BYTES  40
#define RAFT_SNAPSHOT_INTERVAL_DEFAULT                                                             \
    (20LL << 20) /* metadata.log.max.record.bytes.between.snapshots */
#define RAFT_SEGMENT_BYTES_DEFAULT (64LL << 20) /* log segment size when config says 0 */

/* ------------------------------------------------------------------ transport
 * Framed TCP on libevent bufferevents (frame layout above). A frame with length < 6 or
 * > max_frame_bytes closes the connection (logged). Outbound connections reconnect by
 * themselves with capped, jittered backoff until closed by their owner. Sends beyond
 * max_queue_bytes of unsent output are refused (SL_E_TOO_LARGE), so a stalled peer
 * cannot grow memory without bound.
 * Thread: everything runs on the event_base's thread. Callbacks may send and may close
 * any connection, including their own; a closed connection is freed after the callback
 * returns and must not be used again. */
typedef struct raft_net raft_net;
typedef struct raft_net_conn raft_net_conn;

typedef struct raft_net_handlers {
    /* A complete frame; payload is valid only during the call. */
    void (*on_frame)(raft_net_conn *conn,
                     uint32_t correlation_id,
                     uint16_t type,
                     const uint8_t *payload,
                     size_t len,
                     void *arg);
    /* Outbound: connected (up) or lost (down; reconnecting). Inbound: accepted (up) or
     * closed (down; the connection is freed after this call). May be NULL. */
    void (*on_state)(raft_net_conn *conn, bool up, void *arg);
} raft_net_handlers;

raft_net *raft_net_new(struct event_base *base, size_t max_frame_bytes, size_t max_queue_bytes);
/* Close every connection and listener (no callbacks) and free. NULL is a no-op. */
void raft_net_free(raft_net *net);

/* Listen on host:port (port 0 = any; *bound_port_out gets the port). Accepted connections
 * use handlers/arg. Returns SL_OK, SL_E_TOO_LARGE (8 listeners already) or -errno. */
int raft_net_listen(raft_net *net,
                    const char *host,
                    int port,
                    const raft_net_handlers *h,
                    void *arg,
                    int *bound_port_out);
/* Stop the listener bound to port (its bound port): no more accepts. Connections it
 * accepted stay open. Unknown ports are ignored. */
void raft_net_listen_close(raft_net *net, int port);
/* An outbound connection to host:port that connects in the background and reconnects
 * after every loss until raft_net_conn_close. Never NULL. */
raft_net_conn *
raft_net_connect(raft_net *net, const char *host, int port, const raft_net_handlers *h, void *arg);
bool raft_net_conn_up(const raft_net_conn *conn);
bool raft_net_conn_inbound(const raft_net_conn *conn);
/* Queue one frame. SL_OK, SL_E_CLOSED when not connected, SL_E_TOO_LARGE when the frame
 * or the queue would pass its limit. */
int raft_net_send(raft_net_conn *conn,
                  uint32_t correlation_id,
                  uint16_t type,
                  const uint8_t *payload,
                  size_t len);
/* Same, packing msg (a ProtobufCMessage) straight into the output buffer. */
int raft_net_send_pb(raft_net_conn *conn,
                     uint32_t correlation_id,
                     uint16_t type,
                     const struct ProtobufCMessage *msg);
/* An outbound connection waiting out its reconnect backoff tries again now (the peer
 * was heard from on another connection). No-op when up or connecting. */
void raft_net_conn_retry_now(raft_net_conn *conn);
/* Drop the current TCP connection (an outbound one reconnects after its backoff). */
void raft_net_conn_reset(raft_net_conn *conn);
/* Close for good: no more callbacks; freed now or when the current callback returns. */
void raft_net_conn_close(raft_net_conn *conn);
/* The application's pointer for this connection (the controller keeps its broker
 * session here). The Raft driver never touches it. */
void raft_net_conn_set_data(raft_net_conn *conn, void *data);
void *raft_net_conn_data(const raft_net_conn *conn);
/* A second pointer, for whoever owns the handlers the connection was made with (the
 * Raft driver, for the connections its listener accepts). release (may be NULL) is
 * called with it when the connection is freed, however that happens (closed by anyone,
 * lost, raft_net_free). */
void raft_net_conn_set_owner_data(raft_net_conn *conn, void *data, void (*release)(void *data));
void *raft_net_conn_owner_data(const raft_net_conn *conn);
/* "host:port" of the peer (for logs). */
const char *raft_net_conn_peer(const raft_net_conn *conn);

/* ------------------------------------------------------------------ driver */
typedef struct raft_driver raft_driver;

typedef struct raft_peer {
    int32_t id;
    char host[256];
    int32_t port;
} raft_peer;

typedef struct raft_driver_callbacks {
    /* Committed entries in offset order, exactly once per process lifetime, this node's
     * own proposals included (after a restart: the log after the snapshot first, as
     * the high watermark covers it). entry->kind is RAFT_ENTRY_DATA or
     * RAFT_ENTRY_LEADER_CHANGE (skip those). entry and its data are valid during the
     * call only. */
    void (*on_commit)(void *arg, const raft_entry *entry);
    /* The leadership view changed: leader_id (RAFT_NODE_NONE when unknown, and while
     * this node is a leader that resigned), epoch, is_self (this node is the leader and
     * may propose). Called once at start-up too. */
    void (*on_leader)(void *arg, int32_t leader_id, int32_t epoch, bool is_self);
    /* Replace the application state with this snapshot (at start-up, and when a
     * follower or observer installs one from the leader). Entries below id.end_offset
     * will not be delivered. Return SL_OK or an error: at start-up raft_driver_start
     * fails with it, later the driver fail-stops. */
    int (*on_snapshot_load)(void *arg, raft_snapshot_id id, const uint8_t *data, size_t size);
    /* Serialise the application state as of every entry delivered so far into out. */
    int (*snapshot_take)(void *arg, sl_buf *out);
} raft_driver_callbacks;

typedef struct raft_driver_config {
    raft_config core;                  /* node_id, voters, timings */
    raft_peer voters[RAFT_VOTERS_MAX]; /* addresses of core.voters (any order) */
    int32_t voter_count;               /* == core.voter_count */
    const char *listen_host;           /* voters listen here (NULL or "" = any address) */
    int32_t listen_port;               /* voters: the port (0 = any, for tests); observers -1 */
    const char *log_dir;               /* segments, quorum-state, snapshots */
    int64_t snapshot_interval_bytes;   /* entry bytes committed between snapshots (Kafka's
                                          metadata.log.max.record.bytes.between.snapshots);
                                          0 = 20 MiB, < 0 = never */
    int64_t segment_bytes;             /* log segment size; 0 = 64 MiB */
    bool ignore_disconnects;           /* measurements: no fast failover */
    struct event_base *base;           /* borrowed; outlives the driver */
    raft_net *net;                     /* borrowed; outlives the driver */
} raft_driver_config;

/* Open log_dir, restore (quorum state, newest snapshot, log), listen (voters), connect
 * to the other voters and start the node. cfg and cb are copied; arg is passed to every
 * callback. *out set on success only.
 * Returns SL_OK; SL_E_CONFIG (addresses missing or not matching core.voters, no
 * log_dir, a voter without a listen port, quorum-state naming other voters);
 * SL_E_CORRUPT (quorum-state or log unreadable, a log with no snapshot below it);
 * SL_E_STATE (log_dir open elsewhere); on_snapshot_load's error; -errno. */
int raft_driver_start(const raft_driver_config *cfg,
                      const raft_driver_callbacks *cb,
                      void *arg,
                      raft_driver **out);
/* Append one entry (leader only): data copied. offset_out/epoch_out as
 * raft_node_propose; the entry is written, replicated and delivered to on_commit from
 * the event loop. Returns SL_OK, SL_E_STATE (not leader), SL_E_TOO_LARGE, SL_AGAIN
 * (too many uncommitted entries), SL_E_FATAL (failed). */
int raft_driver_propose(
    raft_driver *d, const void *data, uint32_t size, int64_t *offset_out, int32_t *epoch_out);
/* Graceful resignation (EndQuorumEpoch to the voters, best replicated first); returns
 * at once, the messages leave from the event loop. SL_OK, SL_E_STATE (not leader),
 * SL_E_FATAL. */
int raft_driver_resign(raft_driver *d);
/* Flush and close the log, close the listener and every connection of this driver
 * (application connections get on_state(down) first), free. NULL is a no-op. Not from
 * a driver callback. */
void raft_driver_stop(raft_driver *d);

/* For DescribeQuorum / `sluice metadata-quorum`. Replica figures are the leader's: on
 * other nodes voters list the ids with -1 everywhere and observers are empty. */
typedef struct raft_replica_status {
    int32_t id;
    int64_t log_end_offset;         /* fetch offset last reported to the leader (-1 unknown) */
    int64_t last_fetch_wall_ms;     /* wall clock (epoch ms) of its last fetch, -1 unknown */
    int64_t last_caught_up_wall_ms; /* when it last had the leader's log end (Kafka's
                                       lastCaughtUpTimestamp), -1 unknown */
} raft_replica_status;

typedef struct raft_driver_status {
    raft_role role;
    int32_t leader_id; /* RAFT_NODE_NONE when unknown */
    int32_t epoch;
    int64_t high_watermark;
    int64_t log_end_offset;
    raft_replica_status voters[RAFT_VOTERS_MAX]; /* every voter (the leader itself too) */
    int32_t voter_count;
    raft_replica_status observers[RAFT_OBSERVERS_MAX]; /* fetched in the last 5 minutes */
    int32_t observer_count;
} raft_driver_status;

/* Fill *out. Returns SL_OK (SL_E_FATAL after a failure, out still filled). */
int raft_driver_get_status(const raft_driver *d, raft_driver_status *out);
/* 0 while healthy, else the error that made the driver fail-stop. */
int raft_driver_failed(const raft_driver *d);
/* Called (with the start's arg) when the driver fail-stops with err (see Failure
 * above), instead of ending the process with status 1. It must not call
 * raft_driver_stop (schedule that, e.g. with event_base_loopexit). NULL restores the
 * default. */
void raft_driver_set_fatal_handler(raft_driver *d, void (*on_fatal)(void *arg, int err));
/* The node, for read-only views (raft_node_* const functions); valid until stop. */
const raft_node *raft_driver_node(const raft_driver *d);

/* The controller serves broker RPCs (frame types 0x40-0x7f) on the Raft listener:
 * frames of types the driver does not own, on connections its listener accepted, go to
 * h->on_frame (reply with raft_net_send_pb on that conn). h->on_state(conn, true) comes
 * before a connection's first such frame and h->on_state(conn, false) when it closes,
 * only for connections that carried one (Raft peers never reach the application). h is
 * copied; NULL removes the handler (later frames are dropped). */
void raft_driver_set_app_handler(raft_driver *d, const raft_net_handlers *h, void *arg);

#endif
