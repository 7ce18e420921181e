/* raft_driver_int.h — private to raft/'s drivers (see raft.h, DRIVERS): the wire
 * encoding of raft_msg (raft_wire.c), the files (raft_store.c) and the driver object
 * shared by raft_driver.c (restore, the ready loop, timers, snapshots, the public calls)
 * and raft_driver_net.c (connections, frames, routing, replica progress).
 * The pure core's private header is raft_int.h; nothing here reaches into the core. */
#ifndef RAFT_DRIVER_INT_H
#define RAFT_DRIVER_INT_H

#include "raft/raft.h"

#include "common/sl_buf.h"
#include "storage/storage.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event;
struct ProtobufCMessage;

/* ------------------------------------------------------------------ wire (raft_wire.c) */

/* A message decoded from a frame. msg's pointers (fetch entries, snapshot data) point
 * into pb and entries, owned here until raft_wire_msg_free. */
typedef struct raft_wire_msg {
    raft_msg msg;
    struct ProtobufCMessage *pb; /* the unpacked protobuf message */
    raft_entry *entries;         /* fetch responses: entry_count entries */
} raft_wire_msg;

/* Append the payload of msg's frame (frame type msg->type) to out. msg->from is not
 * encoded: the receiver takes it from the connection. Returns SL_OK or SL_E_INVALID
 * (unknown type, or more entries / successors than raft.h allows). */
int raft_wire_encode(const raft_msg *msg, sl_buf *out);
/* Decode the payload of a frame of type 1..10 received from node `from`. Every field is
 * range-checked against raft.h (error fits int16, entry kinds known, at most
 * RAFT_FETCH_ENTRIES_MAX entries and RAFT_VOTERS_MAX successors, sizes fit uint32); the
 * core checks the rest. Returns SL_OK (free with raft_wire_msg_free), SL_E_INVALID
 * (type not a raft_msg_type), SL_E_CORRUPT (does not unpack, or out of range). */
int raft_wire_decode(
    uint16_t type, int32_t from, const uint8_t *payload, size_t len, raft_wire_msg *out);
void raft_wire_msg_free(raft_wire_msg *m);

/* Hello (frame type RAFT_NET_TYPE_HELLO). Decode returns SL_OK, SL_E_CORRUPT (does not
 * unpack, negative id) or SL_E_UNSUPPORTED (another version). */
void raft_wire_hello_encode(int32_t node_id, sl_buf *out);
int raft_wire_hello_decode(const uint8_t *payload, size_t len, int32_t *node_id_out);

/* ------------------------------------------------------------------ files (raft_store.c) */

/* Atomically replace dir/name with data: write name.tmp, fsync it, rename, fsync dir.
 * Returns SL_OK or -errno (the tmp file is removed on failure). */
int raft_store_write_atomic(const char *dir, const char *name, const void *data, size_t len);
/* Replace out's content with the whole file. SL_E_NOT_FOUND when absent,
 * SL_E_TOO_LARGE above max_bytes, -errno. */
int raft_store_read_file(const char *dir, const char *name, size_t max_bytes, sl_buf *out);

/* quorum-state (format in raft.h). Encode appends the JSON for st and the voter set. */
void raft_store_quorum_encode(const raft_quorum_state *st,
                              const int32_t *voters,
                              int32_t voter_count,
                              sl_buf *out);
/* Parse the JSON: every field present with the right type and range, data_version 0,
 * voters in currentVoters (at most RAFT_VOTERS_MAX). Returns SL_OK, SL_E_CORRUPT (logged
 * with the reason), SL_E_UNSUPPORTED (another data_version). */
int raft_store_quorum_decode(const uint8_t *data,
                             size_t len,
                             raft_quorum_state *st_out,
                             int32_t *voters_out,
                             int32_t *voter_count_out);
/* Read dir/quorum-state and check it names the configured voter set (any order). A
 * missing file is a new node: {0, NONE, NONE}. Returns SL_OK, SL_E_CORRUPT,
 * SL_E_UNSUPPORTED, SL_E_CONFIG (another voter set), -errno. */
int raft_store_quorum_read(const char *dir,
                           const int32_t *voters,
                           int32_t voter_count,
                           raft_quorum_state *st_out);
int raft_store_quorum_write(const char *dir,
                            const raft_quorum_state *st,
                            const int32_t *voters,
                            int32_t voter_count);

/* Snapshots: <20-digit end offset>-<10-digit epoch>.checkpoint (layout in raft.h). */
#define RAFT_SNAPSHOT_NAME_BYTES 48
void raft_store_snapshot_name(raft_snapshot_id id, char out[RAFT_SNAPSHOT_NAME_BYTES]);
/* Parse a file name; false when it is not a snapshot name. */
bool raft_store_snapshot_parse_name(const char *name, raft_snapshot_id *id_out);
/* Write the snapshot file atomically. Returns SL_OK or -errno. */
int raft_store_snapshot_write(const char *dir,
                              raft_snapshot_id id,
                              const uint8_t *data,
                              size_t size);
/* Check a snapshot file's bytes (header, CRCs, id as named) and set *data_out and *size_out
 * to its data inside file. Returns SL_OK or SL_E_CORRUPT. */
int raft_store_snapshot_check(raft_snapshot_id id,
                              const uint8_t *file,
                              size_t file_size,
                              const uint8_t **data_out,
                              size_t *size_out);
/* Load the newest snapshot of dir that checks out (newer damaged ones are logged and
 * skipped). file gets the whole file; *data_out points into it. *id_out is {0, 0} when
 * there is none. Returns SL_OK or -errno (directory unreadable). */
int raft_store_snapshot_load(const char *dir,
                             size_t max_bytes,
                             raft_snapshot_id *id_out,
                             sl_buf *file,
                             const uint8_t **data_out,
                             size_t *size_out);
/* Delete every snapshot file in dir except keep's (and fsync dir). SL_OK or -errno. */
int raft_store_snapshot_prune(const char *dir, raft_snapshot_id keep);

/* Log entries as RecordBatches (raft.h). Encode appends e's batch to out, stamped with
 * timestamp_ms. Decode reads the batch at p (size bytes: exactly one whole batch): CRC,
 * one uncompressed record, control type; *e's data points into p. Returns SL_OK or
 * SL_E_CORRUPT. */
int raft_store_entry_encode(const raft_entry *e, int64_t timestamp_ms, sl_buf *out);
int raft_store_entry_decode(const uint8_t *p, size_t size, raft_entry *e);
/* The entries of log from offset `from` to its end. bytes receives the batches and
 * *entries_out (sl_malloc'd, free with sl_free) points into it. Returns SL_OK,
 * SL_E_CORRUPT (a batch is not an entry, offsets not contiguous), storage's errors. */
int raft_store_read_entries(
    storage_log *log, int64_t from, sl_buf *bytes, raft_entry **entries_out, int64_t *count_out);

/* ------------------------------------------------------------------ driver */

/* An outbound connection to one voter (this node's own slot has none). */
typedef struct drv_voter {
    struct raft_driver *d;
    raft_peer addr;
    raft_net_conn *conn; /* NULL for this node and after stop */
    bool up;
} drv_voter;

/* A connection the listener accepted (owner data of the raft_net_conn). Freed when
 * raft_net frees the connection, whoever closed it (the release hook). */
typedef struct drv_inbound {
    struct raft_driver *d; /* NULL once the driver let go of it */
    raft_net_conn *conn;
    int32_t node_id; /* from its Hello, -1 until then */
    bool app_up;     /* the application saw on_state(up) */
    bool down;
    bool linked;                     /* in the driver's list */
    struct drv_inbound *prev, *next; /* newest Hello first */
} drv_inbound;

/* The leader's view of one fetching replica (DescribeQuorum). */
typedef struct drv_progress {
    int32_t id;
    int64_t end_offset;             /* its last fetch offset, -1 unknown */
    int64_t last_fetch_wall_ms;     /* -1 unknown */
    int64_t last_caught_up_wall_ms; /* -1 unknown */
    int64_t leader_end_at_fetch;    /* the leader's log end at its previous fetch */
} drv_progress;

struct raft_driver {
    raft_driver_config cfg; /* copied; log_dir and listen_host point to owned copies */
    char *log_dir;
    char *listen_host;
    raft_driver_callbacks cb;
    void *arg;
    void (*on_fatal)(void *arg, int err); /* NULL: _exit(1) */
    raft_net_handlers app_h;              /* app_h.on_frame NULL: no application handler */
    void *app_arg;

    raft_node *node;
    storage_log *log;
    drv_voter voters[RAFT_VOTERS_MAX]; /* in core.voters order */
    int32_t voter_count;
    int32_t self_index; /* in voters, -1 for an observer */
    int listen_port;    /* bound port, -1 when not listening */
    drv_inbound *inbound;
    int32_t inbound_count;

    struct event *timer;    /* raft_node_tick at next_tick_ms */
    struct event *work_ev;  /* work through readies (after inputs made outside the loop) */
    struct event *flush_ev; /* group commit: fsync after this pass wrote the sockets */
    bool processing;        /* inside drv_process: inputs are picked up by its loop */

    int64_t disk_end;        /* log end offset on disk (== the core's after each ready) */
    int32_t disk_last_epoch; /* epoch of entry disk_end - 1 (snapshot epoch at the start) */
    bool unflushed;          /* written since the last fsync */
    int failed;              /* fail-stop error, 0 while healthy */

    /* what the application has seen */
    bool seen_any;
    int32_t seen_leader, seen_epoch;
    bool seen_self;
    int64_t delivered_end;        /* every entry below has been delivered (or snapshotted) */
    int64_t bytes_since_snapshot; /* payload bytes delivered since the last snapshot */

    /* leader's replica progress, for this epoch */
    int32_t progress_epoch;
    drv_progress voter_progress[RAFT_VOTERS_MAX];
    drv_progress observer_progress[RAFT_OBSERVERS_MAX];
    int32_t observer_count;

    sl_buf scratch; /* message and batch encoding */
    int64_t warn_window_ms;
    int32_t warn_count;
};

/* raft_driver.c */
void drv_kick(raft_driver *d);    /* process readies from the event loop */
void drv_process(raft_driver *d); /* work through every ready now */
void drv_fail(raft_driver *d, int err, const char *what);
bool drv_warn_allowed(raft_driver *d); /* rate limit for per-peer warnings */

/* raft_driver_net.c */
int drv_net_start(raft_driver *d);
void drv_net_stop(raft_driver *d);
void drv_send(raft_driver *d, const raft_msg *msg);
void drv_progress_reset(raft_driver *d);
void drv_status_fill(const raft_driver *d, raft_driver_status *out);

#endif
