/* raft_net.c — framed TCP transport on libevent (raft.h, "transport"). */
#include "raft/raft.h"
#include "common/sl_addr.h"
#include "common/sl_alloc.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "common/sl_listener.h"
#include "common/sl_log.h"
#include "common/sl_rand.h"

#include <errno.h>
#include <protobuf-c/protobuf-c.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define BACKOFF_MIN_MS 50   /* first retry soon: a restarted peer is usually back fast */
#define BACKOFF_MAX_MS 1000 /* cap: failover must not wait on a long backoff */
#define LISTENERS_MAX  8

struct raft_net_conn {
    raft_net *net;
    struct bufferevent *bev; /* NULL while disconnected */
    struct event *retry;     /* outbound: reconnect timer */
    raft_net_handlers h;
    void *arg;
    void *data;       /* the application's */
    void *owner_data; /* the handlers' owner's */
    void (*owner_release)(void *owner_data);
    char *host;
    int port;
    int64_t backoff_ms;
    int in_callback;
    bool inbound, up, closed;
    char peer[80];
    raft_net_conn *prev, *next;
};

struct raft_net {
    struct event_base *base;
    size_t max_frame_bytes;
    size_t max_queue_bytes;
    sl_listener *listeners[LISTENERS_MAX];
    raft_net_handlers listen_h[LISTENERS_MAX];
    void *listen_arg[LISTENERS_MAX];
    int listen_port[LISTENERS_MAX];
    int listener_count;
    raft_net_conn *conns;
    sl_rand rng;
};

raft_net *raft_net_new(struct event_base *base, size_t max_frame_bytes, size_t max_queue_bytes) {
    raft_net *net = SL_NEW(raft_net);
    net->base = base;
    net->max_frame_bytes = max_frame_bytes;
    net->max_queue_bytes = max_queue_bytes;
    sl_rand_seed(&net->rng, sl_rand_os_seed());
    return net;
}

static void conn_unlink(raft_net_conn *conn) {
    if (conn->prev) {
        conn->prev->next = conn->next;
    } else if (conn->net->conns == conn) {
        conn->net->conns = conn->next;
    }
    if (conn->next) conn->next->prev = conn->prev;
    conn->prev = conn->next = NULL;
}

static void conn_free(raft_net_conn *conn) {
    conn_unlink(conn);
    if (conn->owner_release) conn->owner_release(conn->owner_data);
    if (conn->bev) bufferevent_free(conn->bev);
    if (conn->retry) event_free(conn->retry);
    sl_free(conn->host);
    sl_free(conn);
}

void raft_net_free(raft_net *net) {
    if (!net) return;
    for (int i = 0; i < net->listener_count; i++)
        sl_listener_free(net->listeners[i]);
    while (net->conns)
        conn_free(net->conns);
    sl_free(net);
}

/* Free a closed connection once no callback of it is running. */
static bool conn_release(raft_net_conn *conn) {
    if (conn->closed && conn->in_callback == 0) {
        conn_free(conn);
        return true;
    }
    return false;
}

static void conn_state(raft_net_conn *conn, bool up) {
    if (!conn->h.on_state || conn->closed) return;
    conn->in_callback++;
    conn->h.on_state(conn, up, conn->arg);
    conn->in_callback--;
}

static void conn_schedule_retry(raft_net_conn *conn) {
    int64_t base_ms = conn->backoff_ms;
    int64_t delay = base_ms / 2 + (int64_t)sl_rand_below(&conn->net->rng, (uint64_t)base_ms + 1);
    conn->backoff_ms = base_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : base_ms * 2;
    struct timeval tv = { delay / 1000, (delay % 1000) * 1000 };
    evtimer_add(conn->retry, &tv);
}

/* The TCP connection ended (error, EOF, bad frame, reset). */
static void conn_lost(raft_net_conn *conn) {
    bool was_up = conn->up;
    conn->up = false;
    if (conn->bev) {
        bufferevent_free(conn->bev);
        conn->bev = NULL;
    }
    if (conn->inbound) {
        if (was_up) conn_state(conn, false);
        conn->closed = true;
        conn_release(conn);
        return;
    }
    if (was_up) conn_state(conn, false);
    if (!conn->closed) conn_schedule_retry(conn);
    conn_release(conn);
}

/* Parse and deliver every complete frame in the input buffer. */
static void conn_read_cb(struct bufferevent *bev, void *ctx) {
    raft_net_conn *conn = ctx;
    struct evbuffer *in = bufferevent_get_input(bev);
    conn->in_callback++;
    while (!conn->closed && conn->bev == bev) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4) break;
        uint8_t hdr[RAFT_NET_FRAME_HEADER_BYTES];
        evbuffer_copyout(in, hdr, 4);
        uint32_t length = sl_load_be32(hdr);
        if (length < 6 || length > conn->net->max_frame_bytes) {
            SL_LOG(SL_WARN, "net", "bad_frame", "peer=%s length=%u max=%zu", conn->peer, length,
                   conn->net->max_frame_bytes);
            conn->in_callback--;
            conn_lost(conn);
            return;
        }
        if (avail < 4 + (size_t)length) break;
        const uint8_t *frame = evbuffer_pullup(in, 4 + (ssize_t)length);
        uint32_t correlation_id = sl_load_be32(frame + 4);
        uint16_t type = sl_load_be16(frame + 8);
        if (conn->h.on_frame) {
            conn->h.on_frame(conn, correlation_id, type, frame + RAFT_NET_FRAME_HEADER_BYTES,
                             length - 6, conn->arg);
        }
        if (conn->bev == bev) evbuffer_drain(in, 4 + (size_t)length);
    }
    conn->in_callback--;
    conn_release(conn);
}


static void set_nodelay(struct bufferevent *bev) {
    int fd = (int)bufferevent_getfd(bev);
    int one = 1;
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void conn_event_cb(struct bufferevent *bev, short events, void *ctx) {
    raft_net_conn *conn = ctx;
    if (conn->bev != bev) return;
    if (events & BEV_EVENT_CONNECTED) {
        set_nodelay(bev);
        conn->up = true;
        conn->backoff_ms = BACKOFF_MIN_MS;
        SL_LOG(SL_DEBUG, "net", "connected", "peer=%s", conn->peer);
        conn_state(conn, true);
        conn_release(conn);
        return;
    }
    if (events & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        SL_LOG(SL_DEBUG, "net", "connection_lost", "peer=%s eof=%d error=%s", conn->peer,
               !!(events & BEV_EVENT_EOF), (events & BEV_EVENT_ERROR) ? strerror(errno) : "-");
        conn_lost(conn);
    }
}

static void conn_attach(raft_net_conn *conn, struct bufferevent *bev) {
    conn->bev = bev;
    bufferevent_setcb(bev, conn_read_cb, NULL, conn_event_cb, conn);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void conn_link(raft_net *net, raft_net_conn *conn) {
    conn->net = net;
    conn->next = net->conns;
    if (net->conns) net->conns->prev = conn;
    net->conns = conn;
}

static void conn_connect(raft_net_conn *conn) {
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    char port[16];
    snprintf(port, sizeof(port), "%d", conn->port);
    /* Blocking resolution: peers are configured by address or /etc/hosts names. */
    if (getaddrinfo(conn->host, port, &hints, &res) != 0 || !res) {
        SL_LOG(SL_WARN, "net", "resolve_failed", "host=%s port=%d", conn->host, conn->port);
        conn_schedule_retry(conn);
        return;
    }
    struct bufferevent *bev = bufferevent_socket_new(conn->net->base, -1, BEV_OPT_CLOSE_ON_FREE);
    conn_attach(conn, bev);
    if (bufferevent_socket_connect(bev, res->ai_addr, (int)res->ai_addrlen) < 0) {
        freeaddrinfo(res);
        bufferevent_free(bev);
        conn->bev = NULL;
        conn_schedule_retry(conn);
        return;
    }
    freeaddrinfo(res);
}

static void conn_retry_cb(evutil_socket_t fd, short what, void *ctx) {
    (void)fd;
    (void)what;
    raft_net_conn *conn = ctx;
    if (!conn->closed && !conn->bev) conn_connect(conn);
}

void raft_net_conn_retry_now(raft_net_conn *conn) {
    if (conn->inbound || conn->closed || conn->bev) return; /* up or connecting */
    conn->backoff_ms = BACKOFF_MIN_MS;
    struct timeval tv = { 0, 0 };
    evtimer_add(conn->retry, &tv);
}

raft_net_conn *
raft_net_connect(raft_net *net, const char *host, int port, const raft_net_handlers *h, void *arg) {
    raft_net_conn *conn = SL_NEW(raft_net_conn);
    conn_link(net, conn);
    conn->h = *h;
    conn->arg = arg;
    conn->host = sl_strdup(host);
    conn->port = port;
    conn->backoff_ms = BACKOFF_MIN_MS;
    snprintf(conn->peer, sizeof(conn->peer), "%s:%d", host, port);
    conn->retry = evtimer_new(net->base, conn_retry_cb, conn);
    conn_connect(conn);
    return conn;
}

static void accept_cb(
    struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa, int socklen, void *ctx) {
    (void)socklen;
    raft_net *net = ctx;
    int index = 0;
    while (index < net->listener_count && sl_listener_lev(net->listeners[index]) != lev)
        index++;
    if (index == net->listener_count) {
        evutil_closesocket(fd);
        return;
    }
    raft_net_conn *conn = SL_NEW(raft_net_conn);
    conn_link(net, conn);
    conn->inbound = true;
    conn->h = net->listen_h[index];
    conn->arg = net->listen_arg[index];
    sl_addr_format(sa, conn->peer, sizeof(conn->peer));
    struct bufferevent *bev = bufferevent_socket_new(net->base, fd, BEV_OPT_CLOSE_ON_FREE);
    conn_attach(conn, bev);
    set_nodelay(bev);
    conn->up = true;
    conn_state(conn, true);
    conn_release(conn);
}

int raft_net_listen(raft_net *net,
                    const char *host,
                    int port,
                    const raft_net_handlers *h,
                    void *arg,
                    int *bound_port_out) {
    if (net->listener_count == LISTENERS_MAX) return SL_E_TOO_LARGE;
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE };
    struct addrinfo *res = NULL;
    char service[16];
    snprintf(service, sizeof(service), "%d", port);
    if (getaddrinfo(host && host[0] ? host : NULL, service, &hints, &res) != 0 || !res) {
        return -EADDRNOTAVAIL;
    }
    sl_listener *l =
        sl_listener_bind(net->base, accept_cb, net,
                         LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC, 128,
                         res->ai_addr, (int)res->ai_addrlen, "raft");
    freeaddrinfo(res);
    if (!l) return errno ? -errno : -EADDRINUSE;
    struct evconnlistener *lev = sl_listener_lev(l);
    struct sockaddr_storage ss;
    socklen_t ss_len = sizeof(ss);
    int bound = port;
    if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss, &ss_len) == 0) {
        bound = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                         : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (bound_port_out) *bound_port_out = bound;
    net->listeners[net->listener_count] = l;
    net->listen_port[net->listener_count] = bound;
    net->listen_h[net->listener_count] = *h;
    net->listen_arg[net->listener_count] = arg;
    net->listener_count++;
    return SL_OK;
}

void raft_net_listen_close(raft_net *net, int port) {
    for (int i = 0; i < net->listener_count; i++) {
        if (net->listen_port[i] != port) continue;
        sl_listener_free(net->listeners[i]);
        for (int j = i + 1; j < net->listener_count; j++) {
            net->listeners[j - 1] = net->listeners[j];
            net->listen_h[j - 1] = net->listen_h[j];
            net->listen_arg[j - 1] = net->listen_arg[j];
            net->listen_port[j - 1] = net->listen_port[j];
        }
        net->listener_count--;
        return;
    }
}

bool raft_net_conn_up(const raft_net_conn *conn) {
    return conn->up && !conn->closed;
}

bool raft_net_conn_inbound(const raft_net_conn *conn) {
    return conn->inbound;
}

static int send_check(raft_net_conn *conn, size_t len) {
    if (!raft_net_conn_up(conn) || !conn->bev) return SL_E_CLOSED;
    if (len + 6 > conn->net->max_frame_bytes) return SL_E_TOO_LARGE;
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    if (evbuffer_get_length(out) + len > conn->net->max_queue_bytes) return SL_E_TOO_LARGE;
    return SL_OK;
}

static void put_header(uint8_t *hdr, uint32_t correlation_id, uint16_t type, size_t len) {
    sl_store_be32(hdr, (uint32_t)(len + 6));
    sl_store_be32(hdr + 4, correlation_id);
    sl_store_be16(hdr + 8, type);
}

int raft_net_send(raft_net_conn *conn,
                  uint32_t correlation_id,
                  uint16_t type,
                  const uint8_t *payload,
                  size_t len) {
    SL_TRY(send_check(conn, len));
    uint8_t hdr[RAFT_NET_FRAME_HEADER_BYTES];
    put_header(hdr, correlation_id, type, len);
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    evbuffer_add(out, hdr, sizeof(hdr));
    if (len) evbuffer_add(out, payload, len);
    return SL_OK;
}

int raft_net_send_pb(raft_net_conn *conn,
                     uint32_t correlation_id,
                     uint16_t type,
                     const struct ProtobufCMessage *msg) {
    size_t len = protobuf_c_message_get_packed_size(msg);
    SL_TRY(send_check(conn, len));
    struct evbuffer *out = bufferevent_get_output(conn->bev);
    struct evbuffer_iovec vec;
    size_t total = RAFT_NET_FRAME_HEADER_BYTES + len;
    if (evbuffer_reserve_space(out, (ev_ssize_t)total, &vec, 1) != 1 || vec.iov_len < total) {
        return SL_E_INTERNAL;
    }
    uint8_t *p = vec.iov_base;
    put_header(p, correlation_id, type, len);
    protobuf_c_message_pack(msg, p + RAFT_NET_FRAME_HEADER_BYTES);
    vec.iov_len = total;
    evbuffer_commit_space(out, &vec, 1);
    return SL_OK;
}

void raft_net_conn_reset(raft_net_conn *conn) {
    if (conn->closed || !conn->bev) return;
    conn_lost(conn);
}

void raft_net_conn_close(raft_net_conn *conn) {
    if (!conn || conn->closed) return;
    conn->closed = true;
    conn->up = false;
    if (conn->bev) {
        bufferevent_free(conn->bev);
        conn->bev = NULL;
    }
    if (conn->retry) evtimer_del(conn->retry);
    conn_release(conn);
}

void raft_net_conn_set_data(raft_net_conn *conn, void *data) {
    conn->data = data;
}

void *raft_net_conn_data(const raft_net_conn *conn) {
    return conn->data;
}

void raft_net_conn_set_owner_data(raft_net_conn *conn, void *data, void (*release)(void *data)) {
    conn->owner_data = data;
    conn->owner_release = release;
}

void *raft_net_conn_owner_data(const raft_net_conn *conn) {
    return conn->owner_data;
}

const char *raft_net_conn_peer(const raft_net_conn *conn) {
    return conn->peer;
}
