/* raft_net.h — the framed-message TCP transport used by the Raft drivers and the
 * broker↔controller RPCs (libevent bufferevents, one event-loop thread).
 *
 * Wire frame (ARCHITECTURE.md "Two protocols"), big-endian:
 *
 *   off size field
 *     0  4   length          bytes after this field (6 + payload), ≤ max_frame_bytes
 *     4  4   correlation id  echoed by responses
 *     8  2   type            message type (raft 0x01-0x3f, metadata RPC 0x40-0x7f,
 *                            responses have 0x8000 set)
 *    10  …   payload         a packed protobuf message
 *
 * A frame with length < 6 or > max_frame_bytes closes the connection (logged).
 * Outbound connections reconnect by themselves with capped, jittered backoff until
 * closed by their owner. Sends beyond max_queue_bytes of unsent output are refused
 * (SL_E_TOO_LARGE), so a stalled peer cannot grow memory without bound.
 *
 * Thread: everything runs on the event_base's thread. Callbacks may send and may close
 * any connection, including their own; a closed connection is freed after the callback
 * returns and must not be used again. */
#ifndef RAFT_NET_H
#define RAFT_NET_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;

#define RAFT_NET_FRAME_HEADER_BYTES 10

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
 * use handlers/arg. Returns SL_OK or -errno. */
int raft_net_listen(raft_net *net,
                    const char *host,
                    int port,
                    const raft_net_handlers *h,
                    void *arg,
                    int *bound_port_out);
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
/* Same, packing msg straight into the output buffer. */
int raft_net_send_pb(raft_net_conn *conn,
                     uint32_t correlation_id,
                     uint16_t type,
                     const ProtobufCMessage *msg);
/* Drop the current TCP connection (an outbound one reconnects after its backoff). */
void raft_net_conn_reset(raft_net_conn *conn);
/* Close for good: no more callbacks; freed now or when the current callback returns. */
void raft_net_conn_close(raft_net_conn *conn);
void raft_net_conn_set_data(raft_net_conn *conn, void *data);
void *raft_net_conn_data(const raft_net_conn *conn);
/* "host:port" of the peer (for logs). */
const char *raft_net_conn_peer(const raft_net_conn *conn);

#endif
