/* raft_driver_net.c — the driver's connections: one outbound connection to every
 * other voter (opened with a Hello), the listener's inbound connections (Raft peers
 * identified by their Hello, application RPC connections without one), message
 * routing, the fast-failover hints, and the leader's per-replica progress for
 * DescribeQuorum. Frame types and routing rules are in raft.h (DRIVERS). */
#include "raft/raft_driver_int.h"

#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <inttypes.h>
#include <string.h>

#define INBOUND_MAX        4096   /* accepted connections at once; more are closed */
#define OBSERVER_EXPIRE_MS 300000 /* Kafka forgets observers after 5 minutes */

static bool is_raft_msg_type(uint16_t type) {
    return type >= RAFT_MSG_VOTE_REQUEST && type <= RAFT_MSG_FETCH_SNAPSHOT_RESPONSE;
}

static int32_t voter_slot(const raft_driver *d, int32_t id) {
    for (int32_t i = 0; i < d->voter_count; i++) {
        if (d->voters[i].addr.id == id) return i;
    }
    return -1;
}

/* ------------------------------------------------------------------ progress */

void drv_progress_reset(raft_driver *d) {
    d->progress_epoch = raft_node_epoch(d->node);
    for (int32_t i = 0; i < d->voter_count; i++) {
        d->voter_progress[i] = (drv_progress){ .id = d->voters[i].addr.id,
                                               .end_offset = -1,
                                               .last_fetch_wall_ms = -1,
                                               .last_caught_up_wall_ms = -1,
                                               .leader_end_at_fetch = -1 };
    }
    d->observer_count = 0;
}

static drv_progress *observer_slot(raft_driver *d, int32_t id) {
    int32_t oldest = 0;
    for (int32_t i = 0; i < d->observer_count; i++) {
        if (d->observer_progress[i].id == id) return &d->observer_progress[i];
        if (d->observer_progress[i].last_fetch_wall_ms <
            d->observer_progress[oldest].last_fetch_wall_ms) {
            oldest = i;
        }
    }
    int32_t slot = d->observer_count < RAFT_OBSERVERS_MAX ? d->observer_count++ : oldest;
    d->observer_progress[slot] = (drv_progress){ .id = id,
                                                 .end_offset = -1,
                                                 .last_fetch_wall_ms = -1,
                                                 .last_caught_up_wall_ms = -1,
                                                 .leader_end_at_fetch = -1 };
    return &d->observer_progress[slot];
}

/* A fetch reached the leader: Kafka's ReplicaState.updateFetchedOffset. */
static void note_fetch(raft_driver *d, const raft_msg *msg) {
    int32_t epoch = raft_node_epoch(d->node);
    if (raft_node_role(d->node) != RAFT_ROLE_LEADER || msg->epoch != epoch) return;
    if (d->progress_epoch != epoch) drv_progress_reset(d);
    int32_t vi = voter_slot(d, msg->from);
    drv_progress *p = vi >= 0 ? &d->voter_progress[vi] : observer_slot(d, msg->from);
    int64_t now = sl_wall_ms();
    int64_t leader_end = raft_node_log_end_offset(d->node);
    int64_t offset = msg->fetch.fetch_offset;
    if (offset >= leader_end) {
        p->last_caught_up_wall_ms = now;
    } else if (p->leader_end_at_fetch > 0 && offset >= p->leader_end_at_fetch &&
               p->last_fetch_wall_ms > p->last_caught_up_wall_ms) {
        p->last_caught_up_wall_ms = p->last_fetch_wall_ms;
    }
    p->end_offset = offset;
    p->leader_end_at_fetch = leader_end;
    p->last_fetch_wall_ms = now;
}

static raft_replica_status status_of(const drv_progress *p) {
    return (raft_replica_status){ .id = p->id,
                                  .log_end_offset = p->end_offset,
                                  .last_fetch_wall_ms = p->last_fetch_wall_ms,
                                  .last_caught_up_wall_ms = p->last_caught_up_wall_ms };
}

void drv_status_fill(const raft_driver *d, raft_driver_status *out) {
    memset(out, 0, sizeof(*out));
    const raft_node *node = d->node;
    out->role = raft_node_role(node);
    out->epoch = raft_node_epoch(node);
    out->leader_id = raft_node_leader_id(node);
    out->high_watermark = raft_node_high_watermark(node);
    out->log_end_offset = raft_node_log_end_offset(node);
    bool leader = out->role == RAFT_ROLE_LEADER && d->progress_epoch == out->epoch;
    int64_t now = sl_wall_ms();
    out->voter_count = d->voter_count;
    for (int32_t i = 0; i < d->voter_count; i++) {
        raft_replica_status *s = &out->voters[i];
        *s = (raft_replica_status){ d->voters[i].addr.id, -1, -1, -1 };
        if (leader && i == d->self_index) {
            *s = (raft_replica_status){ s->id, out->log_end_offset, now, now };
        } else if (leader) {
            *s = status_of(&d->voter_progress[i]);
        }
    }
    for (int32_t i = 0; leader && i < d->observer_count; i++) {
        const drv_progress *p = &d->observer_progress[i];
        if (now - p->last_fetch_wall_ms > OBSERVER_EXPIRE_MS) continue;
        out->observers[out->observer_count++] = status_of(p);
    }
}

/* ------------------------------------------------------------------ receiving */

static void
step_frame(raft_driver *d, int32_t from, uint16_t type, const uint8_t *payload, size_t len) {
    raft_wire_msg m;
    int rc = raft_wire_decode(type, from, payload, len, &m);
    if (rc != SL_OK) {
        if (drv_warn_allowed(d)) {
            SL_LOG(SL_WARN, "raft", "bad_message", "node=%d from=%d type=%u bytes=%zu err=\"%s\"",
                   d->cfg.core.node_id, from, type, len, sl_strerror(rc));
        }
        return;
    }
    if (m.msg.type == RAFT_MSG_FETCH_REQUEST) note_fetch(d, &m.msg);
    rc = raft_node_step(d->node, sl_now_ms(), &m.msg);
    if (rc != SL_OK && drv_warn_allowed(d)) {
        SL_LOG(SL_WARN, "raft", "message_refused", "node=%d from=%d to=%d type=%s err=\"%s\"",
               d->cfg.core.node_id, from, m.msg.to, raft_msg_type_name(m.msg.type),
               sl_strerror(rc));
    }
    raft_wire_msg_free(&m);
    drv_kick(d);
}

static void outbound_frame(raft_net_conn *conn,
                           uint32_t correlation_id,
                           uint16_t type,
                           const uint8_t *payload,
                           size_t len,
                           void *arg) {
    (void)conn;
    (void)correlation_id;
    drv_voter *v = arg;
    if (v->d->failed || !is_raft_msg_type(type)) return;
    step_frame(v->d, v->addr.id, type, payload, len);
}

static void outbound_state(raft_net_conn *conn, bool up, void *arg) {
    drv_voter *v = arg;
    raft_driver *d = v->d;
    if (d->failed) return;
    v->up = up;
    int64_t now = sl_now_ms();
    SL_LOG(SL_INFO, "raft", up ? "peer_connected" : "peer_disconnected", "node=%d peer=%d addr=%s",
           d->cfg.core.node_id, v->addr.id, raft_net_conn_peer(conn));
    if (up) {
        sl_buf hello;
        sl_buf_init(&hello);
        raft_wire_hello_encode(d->cfg.core.node_id, &hello);
        raft_net_send(conn, 0, RAFT_NET_TYPE_HELLO, hello.data, hello.len);
        sl_buf_deinit(&hello);
        raft_node_peer_reachable(d->node, now, v->addr.id);
    } else if (!d->cfg.ignore_disconnects) {
        raft_node_peer_unreachable(d->node, now, v->addr.id);
    }
    drv_kick(d);
}

/* Some connection to voter id is up: our outbound one, or one it opened to us. */
static bool peer_reachable(const raft_driver *d, int32_t id) {
    int32_t vi = voter_slot(d, id);
    if (vi < 0) return true; /* not a voter: no hint to give */
    if (d->voters[vi].up) return true;
    for (const drv_inbound *in = d->inbound; in; in = in->next) {
        if (in->node_id == id && !in->down && raft_net_conn_up(in->conn)) return true;
    }
    return false;
}

static void inbound_unlink(raft_driver *d, drv_inbound *in) {
    if (!in->linked) return;
    if (in->prev) {
        in->prev->next = in->next;
    } else {
        d->inbound = in->next;
    }
    if (in->next) in->next->prev = in->prev;
    in->prev = in->next = NULL;
    in->linked = false;
    d->inbound_count--;
}

static void inbound_link_first(raft_driver *d, drv_inbound *in) {
    in->prev = NULL;
    in->next = d->inbound;
    if (d->inbound) d->inbound->prev = in;
    d->inbound = in;
    in->linked = true;
    d->inbound_count++;
}

static void inbound_release(void *data) {
    drv_inbound *in = data;
    if (in->linked) inbound_unlink(in->d, in);
    sl_free(in);
}

static void inbound_hello(raft_driver *d, drv_inbound *in, const uint8_t *payload, size_t len) {
    int32_t id = -1;
    int rc = raft_wire_hello_decode(payload, len, &id);
    bool bad = rc != SL_OK || id == d->cfg.core.node_id || (in->node_id >= 0 && in->node_id != id);
    if (bad) {
        if (drv_warn_allowed(d)) {
            SL_LOG(SL_WARN, "raft", "bad_hello", "node=%d peer=%s id=%d was=%d err=\"%s\"",
                   d->cfg.core.node_id, raft_net_conn_peer(in->conn), id, in->node_id,
                   sl_strerror(rc));
        }
        raft_net_conn_close(in->conn);
        return;
    }
    in->node_id = id;
    inbound_unlink(d, in);
    inbound_link_first(d, in); /* the newest connection from id is the one to answer on */
    int32_t vi = voter_slot(d, id);
    if (vi >= 0 && d->voters[vi].conn && !d->voters[vi].up) {
        raft_net_conn_retry_now(d->voters[vi].conn); /* it is back: do not wait the backoff */
    }
    SL_LOG(SL_DEBUG, "raft", "peer_hello", "node=%d peer=%d addr=%s", d->cfg.core.node_id, id,
           raft_net_conn_peer(in->conn));
}

static void app_frame(raft_driver *d,
                      drv_inbound *in,
                      uint32_t correlation_id,
                      uint16_t type,
                      const uint8_t *payload,
                      size_t len) {
    if (!d->app_h.on_frame) return;
    if (!in->app_up) {
        in->app_up = true;
        if (d->app_h.on_state) d->app_h.on_state(in->conn, true, d->app_arg);
        if (!raft_net_conn_up(in->conn)) return; /* the application closed it */
    }
    d->app_h.on_frame(in->conn, correlation_id, type, payload, len, d->app_arg);
}

static void inbound_frame(raft_net_conn *conn,
                          uint32_t correlation_id,
                          uint16_t type,
                          const uint8_t *payload,
                          size_t len,
                          void *arg) {
    raft_driver *d = arg;
    drv_inbound *in = raft_net_conn_owner_data(conn);
    if (d->failed || !in) return;
    if (type == RAFT_NET_TYPE_HELLO) {
        inbound_hello(d, in, payload, len);
    } else if (type >= 1 && type <= RAFT_NET_TYPE_RAFT_MAX) {
        if (is_raft_msg_type(type) && in->node_id >= 0) {
            step_frame(d, in->node_id, type, payload, len);
        } else if (drv_warn_allowed(d)) {
            SL_LOG(SL_WARN, "raft", "frame_dropped", "node=%d peer=%s type=%u hello=%d",
                   d->cfg.core.node_id, raft_net_conn_peer(conn), type, in->node_id);
        }
    } else {
        app_frame(d, in, correlation_id, type, payload, len);
    }
}

static void inbound_state(raft_net_conn *conn, bool up, void *arg) {
    raft_driver *d = arg;
    if (up) {
        if (d->failed || d->inbound_count >= INBOUND_MAX) {
            if (drv_warn_allowed(d)) {
                SL_LOG(SL_WARN, "raft", "connection_refused", "node=%d peer=%s inbound=%d",
                       d->cfg.core.node_id, raft_net_conn_peer(conn), d->inbound_count);
            }
            raft_net_conn_close(conn);
            return;
        }
        drv_inbound *in = SL_NEW(drv_inbound);
        in->d = d;
        in->conn = conn;
        in->node_id = -1;
        inbound_link_first(d, in);
        raft_net_conn_set_owner_data(conn, in, inbound_release);
        return;
    }
    drv_inbound *in = raft_net_conn_owner_data(conn);
    if (!in) return;
    in->down = true;
    if (in->node_id >= 0 && !d->failed && !d->cfg.ignore_disconnects &&
        !peer_reachable(d, in->node_id)) {
        /* the only connection to this voter was its own: the same hint as an outbound loss */
        raft_node_peer_unreachable(d->node, sl_now_ms(), in->node_id);
        drv_kick(d);
    }
    if (in->app_up && d->app_h.on_state) d->app_h.on_state(conn, false, d->app_arg);
    in->app_up = false;
}

/* ------------------------------------------------------------------ sending */

static raft_net_conn *route(raft_driver *d, int32_t to) {
    int32_t vi = voter_slot(d, to);
    if (vi >= 0 && d->voters[vi].conn && raft_net_conn_up(d->voters[vi].conn)) {
        return d->voters[vi].conn;
    }
    for (drv_inbound *in = d->inbound; in; in = in->next) {
        if (in->node_id == to && !in->down && raft_net_conn_up(in->conn)) return in->conn;
    }
    return NULL;
}

void drv_send(raft_driver *d, const raft_msg *msg) {
    raft_net_conn *conn = route(d, msg->to);
    if (!conn) {
        SL_LOG(SL_DEBUG, "raft", "no_route", "node=%d to=%d type=%s", d->cfg.core.node_id, msg->to,
               raft_msg_type_name(msg->type));
        return;
    }
    sl_buf_reset(&d->scratch);
    int rc = raft_wire_encode(msg, &d->scratch);
    if (rc == SL_OK) {
        rc = raft_net_send(conn, msg->req_id, (uint16_t)msg->type, d->scratch.data, d->scratch.len);
    }
    if (rc < 0 && drv_warn_allowed(d)) {
        SL_LOG(SL_WARN, "raft", "send_failed", "node=%d to=%d type=%s bytes=%zu err=\"%s\"",
               d->cfg.core.node_id, msg->to, raft_msg_type_name(msg->type), d->scratch.len,
               sl_strerror(rc));
    }
}

/* ------------------------------------------------------------------ start, stop */

int drv_net_start(raft_driver *d) {
    const raft_driver_config *cfg = &d->cfg;
    d->voter_count = cfg->core.voter_count;
    for (int32_t i = 0; i < d->voter_count; i++) {
        drv_voter *v = &d->voters[i];
        v->d = d;
        for (int32_t j = 0; j < cfg->voter_count; j++) {
            if (cfg->voters[j].id == cfg->core.voters[i]) v->addr = cfg->voters[j];
        }
        if (v->addr.id == cfg->core.node_id) d->self_index = i;
    }
    if (d->self_index >= 0) {
        raft_net_handlers h = { inbound_frame, inbound_state };
        int port = -1;
        SL_TRY(raft_net_listen(cfg->net, d->listen_host, cfg->listen_port, &h, d, &port));
        d->listen_port = port;
        SL_LOG(SL_INFO, "raft", "listening", "node=%d host=%s port=%d", cfg->core.node_id,
               d->listen_host[0] ? d->listen_host : "*", port);
    }
    raft_net_handlers h = { outbound_frame, outbound_state };
    for (int32_t i = 0; i < d->voter_count; i++) {
        drv_voter *v = &d->voters[i];
        if (i == d->self_index) continue;
        v->conn = raft_net_connect(cfg->net, v->addr.host, v->addr.port, &h, v);
    }
    return SL_OK;
}

void drv_net_stop(raft_driver *d) {
    if (d->listen_port >= 0) raft_net_listen_close(d->cfg.net, d->listen_port);
    d->listen_port = -1;
    for (int32_t i = 0; i < d->voter_count; i++) {
        if (d->voters[i].conn) raft_net_conn_close(d->voters[i].conn);
        d->voters[i].conn = NULL;
        d->voters[i].up = false;
    }
    /* A reset delivers on_state(down) (forwarded to the application if it saw the
     * connection), then raft_net frees the connection and the release hook frees the
     * record, now or once a running callback of that connection returns. */
    for (int32_t guard = 0; d->inbound && guard < INBOUND_MAX + 1; guard++) {
        drv_inbound *in = d->inbound;
        inbound_unlink(d, in);
        raft_net_conn_reset(in->conn);
    }
}
