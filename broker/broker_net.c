/* broker_net.c — Kafka listeners and client connections.
 *
 * Each connection processes one request at a time and answers in request order, as
 * Kafka does and clients rely on (kafka-python pipelines ApiVersions and Metadata).
 * While a request is in flight — parked in a purgatory, or its response still being
 * written — the connection stops reading, which bounds memory per connection and makes
 * one slow client unable to stall others (the loop never blocks on it). A frame's size
 * is checked against socket.request.max.bytes before any buffer grows for it. */
#include "broker/broker_int.h"
#include "common/sl_addr.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_listener.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define CONN_READ_MAX (4 << 20) /* bytes read per wakeup: other connections get a turn */

static void conn_process(broker_conn *conn);

static void conn_free(broker_conn *conn) {
    broker *b = conn->b;
    if (conn->prev) {
        conn->prev->next = conn->next;
    } else {
        b->conns = conn->next;
    }
    if (conn->next) conn->next->prev = conn->prev;
    broker_io_deinit(&conn->io);
    event_free(conn->ev_resume);
    sl_arena_deinit(&conn->req.arena);
    b->conn_count--;
    sl_free(conn);
}

/* Close now: cancel a parked request, free everything. */
static void conn_close(broker_conn *conn, const char *why) {
    SL_LOG(SL_DEBUG, "net", "connection_closed", "peer=%s conn=%llu why=%s", conn->io.peer,
           (unsigned long long)conn->id, why);
    if (conn->req_active && conn->req.cancel) conn->req.cancel(&conn->req);
    conn_free(conn);
}

/* Flush output; close when done closing or on error. Returns false if conn is gone. */
static bool conn_flush(broker_conn *conn) {
    ssize_t pending = broker_io_flush(&conn->io);
    if (pending < 0) {
        conn_close(conn, "write_error");
        return false;
    }
    if (pending == 0 && conn->closing) {
        conn_close(conn, "closing");
        return false;
    }
    return true;
}

static void conn_resume_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    broker_conn *conn = arg;
    if (!conn->req_active) conn_process(conn);
}

static void conn_event_cb(int fd, short what, void *arg) {
    (void)fd;
    broker_conn *conn = arg;
    if (what & EV_WRITE) {
        if (!conn_flush(conn)) return;
        if (broker_io_pending(&conn->io) == 0 && !conn->req_active) conn_process(conn);
        return;
    }
    if (what & EV_READ) {
        size_t hint = 0;
        const uint8_t *frame;
        if (broker_io_frame(&conn->io, (size_t)conn->b->cfg.socket_request_max_bytes, &frame,
                            &hint) == SL_AGAIN && hint) {
            hint = hint + 4 - (conn->io.in.len - conn->io.in_off);
        }
        ssize_t n = broker_io_read(&conn->io, CONN_READ_MAX, hint, !conn->req_active);
        if (n < 0) {
            conn_close(conn, "eof");
            return;
        }
        conn_process(conn);
    }
}

void broker_request_finish(broker_request *req) {
    broker_conn *conn = req->conn;
    SL_ASSERT(conn->req_active);
    broker_io_consume(&conn->io, req->frame_size);
    sl_arena_reset(&req->arena);
    req->op = NULL;
    req->cancel = NULL;
    conn->req_active = false;
    /* Inside conn_process the loop goes on by itself. A parked request finishes from
     * another request's work (a follower's fetch moving the high watermark …): flush now
     * for latency, and resume this connection from the event loop, not from that stack. */
    if (!conn->in_process) {
        if (!conn_flush(conn)) return;
        event_active(conn->ev_resume, EV_TIMEOUT, 0);
    }
}

void broker_respond(broker_request *req, const void *resp) {
    broker_conn *conn = req->conn;
    sl_buf *out = &conn->io.out;
    size_t slot = sl_buf_put_slot_i32(out);
    protocol_response_header_encode(out, req->hdr.api_key, req->hdr.api_version,
                                    req->hdr.correlation_id);
    req->api->response_encode(out, req->hdr.api_version, resp);
    sl_buf_patch_i32(out, slot, (int32_t)(out->len - slot - 4));
    broker_metrics_request_done(conn->b, req);
}

void *broker_request_decode(broker_request *req) {
    void *msg = sl_arena_alloc(&req->arena, req->api->request_size);
    req->api->request_init(msg);
    int rc = req->api->request_decode(&req->body, req->hdr.api_version, &req->arena, msg);
    if (rc < 0) {
        SL_LOG(SL_WARN, "net", "malformed_request", "peer=%s api=%s version=%d err=%s",
               req->conn->io.peer, req->api->name, req->hdr.api_version, sl_strerror(rc));
        return NULL;
    }
    return msg;
}

void *broker_response_new(broker_request *req) {
    void *resp = sl_arena_alloc(&req->arena, req->api->response_size);
    req->api->response_init(resp);
    return resp;
}

/* Start the request at the head of the input. Returns false if the connection closed. */
static bool conn_start_request(broker_conn *conn, const uint8_t *frame, size_t size) {
    broker_request *req = &conn->req;
    req->conn = conn;
    req->frame_size = size + 4;
    req->start_us = sl_now_us();
    req->op = NULL;
    req->cancel = NULL;
    sl_reader r;
    sl_reader_init(&r, frame, size);
    int rc = protocol_request_header_decode(&r, &req->hdr);
    conn->req_active = true;
    if (rc == SL_E_UNSUPPORTED || rc == SL_OK) {
        req->body = r;
        req->api = protocol_api_find(req->hdr.api_key);
        broker_handled h = broker_api_dispatch(req);
        if (h == BROKER_CLOSE) {
            conn->req_active = false;
            conn_close(conn, "bad_request");
            return false;
        }
        if (h == BROKER_DONE) broker_request_finish(req);
        return true;
    }
    SL_LOG(SL_WARN, "net", "malformed_header", "peer=%s size=%zu err=%s", conn->io.peer, size,
           sl_strerror(rc));
    conn->req_active = false;
    conn_close(conn, "bad_header");
    return false;
}

/* Process requests while one is complete and nothing is in flight. May free conn. */
static void conn_process(broker_conn *conn) {
    conn->in_process = true;
    for (int guard = 0; guard < 1024; guard++) {
        if (conn->req_active) break;
        if (broker_io_pending(&conn->io) > 0 || conn->closing) {
            if (!conn_flush(conn)) return; /* closed */
            if (broker_io_pending(&conn->io) > 0) break; /* EV_WRITE resumes us */
        }
        const uint8_t *frame;
        size_t size;
        int rc = broker_io_frame(&conn->io, (size_t)conn->b->cfg.socket_request_max_bytes,
                                 &frame, &size);
        if (rc == SL_AGAIN) break;
        if (rc < 0) {
            SL_LOG(SL_WARN, "net", "request_too_large", "peer=%s size=%zu max=%d err=%s",
                   conn->io.peer, size, conn->b->cfg.socket_request_max_bytes, sl_strerror(rc));
            conn_close(conn, "frame_size");
            return;
        }
        if (!conn_start_request(conn, frame, size)) return; /* closed */
    }
    conn->in_process = false;
    broker_io_want_read(&conn->io, !conn->req_active);
}

static void tune_socket(int fd, const broker_config *cfg) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (cfg->socket_send_buffer_bytes > 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cfg->socket_send_buffer_bytes, sizeof(int));
    }
    if (cfg->socket_receive_buffer_bytes > 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &cfg->socket_receive_buffer_bytes, sizeof(int));
    }
}

static void accept_cb(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
                      int socklen, void *arg) {
    (void)socklen;
    broker *b = arg;
    int index = 0;
    while (index < b->listener_count && sl_listener_lev(b->listeners[index]) != lev) index++;
    if (b->shutting_down) {
        evutil_closesocket(fd);
        return;
    }
    evutil_make_socket_nonblocking(fd);
    tune_socket(fd, &b->cfg);
    broker_conn *conn = SL_NEW(broker_conn);
    conn->b = b;
    conn->id = ++b->conn_ids;
    conn->listener_index = index;
    broker_io_init(&conn->io, b->base, fd, conn_event_cb, conn);
    conn->ev_resume = event_new(b->base, -1, 0, conn_resume_cb, conn);
    sl_addr_format(sa, conn->io.peer, sizeof(conn->io.peer));
    sl_arena_init(&conn->req.arena);
    conn->next = b->conns;
    if (b->conns) b->conns->prev = conn;
    b->conns = conn;
    b->conn_count++;
    broker_io_want_read(&conn->io, true);
    SL_LOG(SL_DEBUG, "net", "connection_accepted", "peer=%s conn=%llu", conn->io.peer,
           (unsigned long long)conn->id);
}

int broker_server_start(broker *b, char *err, size_t err_size) {
    for (int i = 0; i < b->cfg.listen_count && i < BROKER_LISTENERS_MAX; i++) {
        const metadata_listener *l = &b->cfg.listen[i];
        struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                                  .ai_flags = AI_PASSIVE };
        struct addrinfo *res = NULL;
        char port[16];
        snprintf(port, sizeof(port), "%d", l->port);
        if (getaddrinfo(l->host[0] ? l->host : NULL, port, &hints, &res) != 0 || !res) {
            snprintf(err, err_size, "cannot resolve listener %s://%s:%d", l->name, l->host,
                     l->port);
            return SL_E_CONFIG;
        }
        sl_listener *lev = sl_listener_bind(b->base, accept_cb, b,
                                            LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 1024,
                                            res->ai_addr, (int)res->ai_addrlen, l->name);
        freeaddrinfo(res);
        if (!lev) {
            snprintf(err, err_size, "cannot listen on %s://%s:%d: %s", l->name, l->host,
                     l->port, strerror(errno));
            return -errno;
        }
        b->listeners[b->listener_count++] = lev;
        SL_LOG(SL_INFO, "net", "listening", "listener=%s host=%s port=%d", l->name, l->host,
               l->port);
    }
    return SL_OK;
}

void broker_server_stop(broker *b) {
    for (int i = 0; i < b->listener_count; i++) sl_listener_free(b->listeners[i]);
    b->listener_count = 0;
    while (b->conns) conn_close(b->conns, "shutdown");
}

void broker_server_close_idle(broker *b, int64_t now_ms) {
    broker_conn *conn = b->conns;
    while (conn) {
        broker_conn *next = conn->next;
        if (!conn->req_active && broker_io_pending(&conn->io) == 0 &&
            now_ms - conn->io.last_active_ms > b->cfg.connections_max_idle_ms) {
            SL_LOG(SL_INFO, "net", "idle_connection_closed", "peer=%s idle_ms=%lld",
                   conn->io.peer, (long long)(now_ms - conn->io.last_active_ms));
            conn_close(conn, "idle");
        }
        conn = next;
    }
}
