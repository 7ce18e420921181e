/* controller_brokers.c — the broker-facing RPCs of the active controller: registration,
 * heartbeats (sessions, fencing, unfencing, controlled shutdown), AlterPartition,
 * AllocateProducerIds and forwarded admin requests, plus the session sweep and the
 * preferred-leader rebalance.
 *
 * Liveness: a broker is fenced when it misses heartbeats for broker.session.timeout.ms,
 * or — much sooner — when its connection to this controller closes and it does not
 * reconnect within broker.lease.grace.ms (a killed process closes its sockets; a paused or
 * partitioned one is caught by the session timeout). Fencing moves its leaderships to other
 * in-sync replicas in the same log entry. */
#include "controller/controller_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The data of an inbound connection: outlives the connection while replies are pending. */
typedef struct rpc_peer {
    raft_net_conn *conn; /* NULL once closed */
    int32_t refs;
    int32_t broker_id;   /* the broker whose heartbeats arrive here, -1 if none */
} rpc_peer;

typedef struct rpc_reply {
    controller *c;
    rpc_peer *peer;
    uint32_t corr;
    uint16_t type;
    int32_t broker_id;
    int64_t offset;
    int32_t count;       /* AllocateProducerIds */
    int64_t first;
    void *extra;         /* request-specific (AlterPartition items) */
} rpc_reply;

static void peer_unref(rpc_peer *peer) {
    if (--peer->refs == 0) sl_free(peer);
}

void controller_reply(raft_net_conn *conn, uint32_t correlation_id, uint16_t type,
                      const ProtobufCMessage *msg) {
    if (!conn) return;
    int rc = raft_net_send_pb(conn, correlation_id, (uint16_t)(type | METADATA_RPC_RESPONSE), msg);
    if (rc < 0) {
        SL_LOG(SL_WARN, "controller", "reply_failed", "peer=%s type=%d err=%s",
               raft_net_conn_peer(conn), type, sl_strerror(rc));
    }
}

static void status_set(Md__RpcStatus *st, controller *c, int16_t error) {
    md__rpc_status__init(st);
    st->error_code = error;
    st->has_leader_hint = true;
    st->leader_hint = c->leader_id;
    if (error) st->error_message = (char *)protocol_error_name(error);
}

/* A response carrying only a status, for any request type. */
static void reply_error(controller *c, raft_net_conn *conn, uint32_t corr, uint16_t type,
                        int16_t error) {
    Md__RpcStatus st;
    status_set(&st, c, error);
    switch (type) {
    case METADATA_RPC_BROKER_REGISTRATION: {
        Md__BrokerRegistrationResponse r = MD__BROKER_REGISTRATION_RESPONSE__INIT;
        r.status = &st;
        controller_reply(conn, corr, type, &r.base);
        break;
    }
    case METADATA_RPC_BROKER_HEARTBEAT: {
        Md__BrokerHeartbeatResponse r = MD__BROKER_HEARTBEAT_RESPONSE__INIT;
        r.status = &st;
        controller_reply(conn, corr, type, &r.base);
        break;
    }
    case METADATA_RPC_ALTER_PARTITION: {
        Md__AlterPartitionResponse r = MD__ALTER_PARTITION_RESPONSE__INIT;
        r.status = &st;
        controller_reply(conn, corr, type, &r.base);
        break;
    }
    case METADATA_RPC_ALLOCATE_PRODUCER_IDS: {
        Md__AllocateProducerIdsResponse r = MD__ALLOCATE_PRODUCER_IDS_RESPONSE__INIT;
        r.status = &st;
        controller_reply(conn, corr, type, &r.base);
        break;
    }
    case METADATA_RPC_FORWARD: {
        Md__ForwardResponse r = MD__FORWARD_RESPONSE__INIT;
        r.status = &st;
        controller_reply(conn, corr, type, &r.base);
        break;
    }
    default:
        break;
    }
}

static rpc_reply *reply_new(controller *c, rpc_peer *peer, uint32_t corr, uint16_t type) {
    rpc_reply *r = SL_NEW(rpc_reply);
    r->c = c;
    r->peer = peer;
    peer->refs++;
    r->corr = corr;
    r->type = type;
    return r;
}

static void reply_free(rpc_reply *r) {
    peer_unref(r->peer);
    sl_free(r->extra);
    sl_free(r);
}

/* ---------------- sessions ---------------- */

static controller_session *session_get(controller *c, int32_t id) {
    controller_session *s = sl_imap_get(&c->sessions, id);
    if (!s) {
        s = SL_NEW(controller_session);
        s->id = id;
        s->conn_lost_ms = -1;
        sl_imap_put(&c->sessions, id, s);
    }
    return s;
}

static void session_touch(controller *c, rpc_peer *peer, int32_t id, int64_t offset) {
    controller_session *s = session_get(c, id);
    s->last_heartbeat_ms = sl_now_ms();
    s->conn = peer->conn;
    s->conn_lost_ms = -1;
    s->heartbeat_offset = offset;
    peer->broker_id = id;
}

void controller_sessions_reset(controller *c, int64_t now_ms) {
    for (size_t i = 0; i < c->sessions.cap; i++) {
        if (sl_imap_slot_used(&c->sessions, i)) sl_free(c->sessions.slots[i].value);
    }
    sl_imap_deinit(&c->sessions);
    sl_imap_init(&c->sessions);
    for (size_t i = 0; i < c->work.brokers.cap; i++) {
        if (!sl_imap_slot_used(&c->work.brokers, i)) continue;
        const metadata_broker *b = c->work.brokers.slots[i].value;
        controller_session *s = session_get(c, b->id);
        s->last_heartbeat_ms = now_ms; /* a fresh lease under the new controller */
    }
}

/* Records that take broker_id out of every partition's leadership and ISR. */
static int32_t remove_broker_everywhere(controller *c, int32_t broker_id,
                                        metadata_batch_builder *bb, bool leaders_only) {
    int32_t changed = 0;
    for (size_t i = 0; i < c->work.topics.cap; i++) {
        if (!sl_map_slot_used(&c->work.topics, i)) continue;
        const metadata_topic *t = c->work.topics.slots[i].value;
        for (int32_t p = 0; p < t->partition_count; p++) {
            const metadata_partition *mp = &t->partitions[p];
            if (leaders_only && mp->leader != broker_id) continue;
            changed += controller_partition_remove_broker(&c->work, t, mp, broker_id, &c->defaults,
                                                          bb);
        }
    }
    return changed;
}

static void fence_broker(controller *c, const metadata_broker *b, const char *why) {
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    int32_t id = b->id;
    int64_t epoch = b->epoch;
    int32_t moved = remove_broker_everywhere(c, id, &bb, false);
    metadata_batch_add_fence(&bb, id, epoch, true);
    SL_LOG(SL_INFO, "controller", "broker_fenced", "broker=%d epoch=%" PRId64 " why=%s"
           " partitions_changed=%d", id, epoch, why, moved);
    controller_propose(c, &bb, NULL, NULL, NULL);
    metadata_batch_builder_deinit(&bb);
}

void controller_sessions_tick(controller *c, int64_t now_ms) {
    for (size_t i = 0; i < c->work.brokers.cap; i++) {
        if (!sl_imap_slot_used(&c->work.brokers, i)) continue;
        const metadata_broker *b = c->work.brokers.slots[i].value;
        if (b->fenced) continue;
        controller_session *s = session_get(c, b->id);
        if (s->last_heartbeat_ms == 0) s->last_heartbeat_ms = now_ms;
        if (now_ms - s->last_heartbeat_ms > c->cfg.session_timeout_ms) {
            fence_broker(c, b, "session_timeout");
            return; /* the image changed under the iteration */
        }
        if (s->conn_lost_ms >= 0 && now_ms - s->conn_lost_ms > c->cfg.lease_grace_ms) {
            s->conn_lost_ms = -1;
            fence_broker(c, b, "connection_closed");
            return;
        }
    }
}

void controller_rpc_state(raft_net_conn *conn, bool up, void *arg) {
    controller *c = arg;
    if (up) {
        rpc_peer *peer = SL_NEW(rpc_peer);
        peer->conn = conn;
        peer->refs = 1;
        peer->broker_id = -1;
        raft_net_conn_set_data(conn, peer);
        return;
    }
    rpc_peer *peer = raft_net_conn_data(conn);
    if (!peer) return;
    if (peer->broker_id >= 0) {
        controller_session *s = sl_imap_get(&c->sessions, peer->broker_id);
        if (s && s->conn == conn) {
            s->conn = NULL;
            s->conn_lost_ms = sl_now_ms();
            SL_LOG(SL_INFO, "controller", "broker_connection_lost", "broker=%d", peer->broker_id);
        }
    }
    peer->conn = NULL;
    raft_net_conn_set_data(conn, NULL);
    peer_unref(peer);
}

/* ---------------- registration ---------------- */

static void register_done(controller *c, void *arg, bool committed) {
    rpc_reply *r = arg;
    Md__RpcStatus st;
    status_set(&st, c, committed ? PROTOCOL_ERR_NONE : PROTOCOL_ERR_NOT_CONTROLLER);
    Md__BrokerRegistrationResponse resp = MD__BROKER_REGISTRATION_RESPONSE__INIT;
    resp.status = &st;
    const metadata_broker *b = committed ? metadata_image_broker(&c->committed, r->broker_id) : NULL;
    if (b) {
        resp.has_broker_epoch = true;
        resp.broker_epoch = b->epoch;
        SL_LOG(SL_INFO, "controller", "broker_registered", "broker=%d epoch=%" PRId64, b->id,
               b->epoch);
    }
    controller_reply(r->peer->conn, r->corr, r->type, &resp.base);
    reply_free(r);
}

static void handle_register(controller *c, rpc_peer *peer, uint32_t corr,
                            const Md__BrokerRegistrationRequest *req) {
    uint16_t type = METADATA_RPC_BROKER_REGISTRATION;
    if (req->cluster_id && req->cluster_id[0] && c->work.cluster_id &&
        strcmp(req->cluster_id, c->work.cluster_id) != 0) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_INCONSISTENT_CLUSTER_ID);
        return;
    }
    if (req->incarnation_id.len != 16 || req->broker_id < 0 || req->n_listeners == 0) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_INVALID_REGISTRATION);
        return;
    }
    for (int i = 0; i < c->cfg.voter_count; i++) {
        if (c->cfg.voters[i].id == req->broker_id) {
            reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_INVALID_REGISTRATION);
            return;
        }
    }
    session_touch(c, peer, req->broker_id, req->log_end_metadata_offset);
    rpc_reply *r = reply_new(c, peer, corr, type);
    r->broker_id = req->broker_id;
    const metadata_broker *old = metadata_image_broker(&c->work, req->broker_id);
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    if (!old || memcmp(old->incarnation.b, req->incarnation_id.data, 16) != 0) {
        /* a new process: the old incarnation is gone, move what it led */
        if (old) remove_broker_everywhere(c, req->broker_id, &bb, false);
        metadata_endpoint eps[8];
        metadata_broker nb = { .id = req->broker_id, .epoch = -1, .endpoints = eps,
                               .fenced = true, .rack = req->rack };
        memcpy(nb.incarnation.b, req->incarnation_id.data, 16);
        for (size_t i = 0; i < req->n_listeners && i < 8; i++) {
            eps[i].name = req->listeners[i]->name;
            eps[i].host = req->listeners[i]->host;
            eps[i].port = req->listeners[i]->port;
            eps[i].security_protocol = req->listeners[i]->security_protocol;
            nb.endpoint_count++;
        }
        metadata_batch_add_register_broker(&bb, &nb);
    }
    if (controller_propose(c, &bb, register_done, r, NULL) < 0) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_NOT_CONTROLLER);
        reply_free(r);
    }
    metadata_batch_builder_deinit(&bb);
}

/* ---------------- heartbeats ---------------- */

static bool leads_anything(const metadata_image *img, int32_t broker_id) {
    for (size_t i = 0; i < img->topics.cap; i++) {
        if (!sl_map_slot_used(&img->topics, i)) continue;
        const metadata_topic *t = img->topics.slots[i].value;
        for (int32_t p = 0; p < t->partition_count; p++) {
            if (t->partitions[p].leader == broker_id) return true;
        }
    }
    return false;
}

static void heartbeat_reply(controller *c, rpc_reply *r, int16_t error) {
    Md__RpcStatus st;
    status_set(&st, c, error);
    Md__BrokerHeartbeatResponse resp = MD__BROKER_HEARTBEAT_RESPONSE__INIT;
    resp.status = &st;
    const metadata_broker *b = metadata_image_broker(&c->work, r->broker_id);
    if (!error && b) {
        resp.has_is_caught_up = true;
        resp.is_caught_up = r->offset >= b->epoch;
        resp.has_is_fenced = true;
        resp.is_fenced = b->fenced;
        resp.has_should_shutdown = true;
        resp.should_shutdown = b->controlled_shutdown && !leads_anything(&c->work, b->id);
    }
    controller_reply(r->peer->conn, r->corr, r->type, &resp.base);
}

static void heartbeat_done(controller *c, void *arg, bool committed) {
    rpc_reply *r = arg;
    heartbeat_reply(c, r, committed ? PROTOCOL_ERR_NONE : PROTOCOL_ERR_NOT_CONTROLLER);
    reply_free(r);
}

/* Partitions without a leader that this (now live) broker can lead. */
static void elect_offline(controller *c, int32_t broker_id) {
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    for (size_t i = 0; i < c->work.topics.cap; i++) {
        if (!sl_map_slot_used(&c->work.topics, i)) continue;
        const metadata_topic *t = c->work.topics.slots[i].value;
        for (int32_t p = 0; p < t->partition_count; p++) {
            const metadata_partition *mp = &t->partitions[p];
            if (mp->leader >= 0 || !metadata_ids_contains(&mp->replicas, broker_id)) continue;
            controller_partition_try_elect(&c->work, t, mp, &c->defaults, &bb);
        }
    }
    if (bb.count) {
        SL_LOG(SL_INFO, "controller", "offline_partitions_elected", "broker=%d partitions=%d",
               broker_id, bb.count);
    }
    controller_propose(c, &bb, NULL, NULL, NULL);
    metadata_batch_builder_deinit(&bb);
}

static void handle_heartbeat(controller *c, rpc_peer *peer, uint32_t corr,
                             const Md__BrokerHeartbeatRequest *req) {
    uint16_t type = METADATA_RPC_BROKER_HEARTBEAT;
    const metadata_broker *b = metadata_image_broker(&c->work, req->broker_id);
    if (!b) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_BROKER_ID_NOT_REGISTERED);
        return;
    }
    if (b->epoch != req->broker_epoch) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_STALE_BROKER_EPOCH);
        return;
    }
    session_touch(c, peer, req->broker_id, req->current_metadata_offset);
    rpc_reply *r = reply_new(c, peer, corr, type);
    r->broker_id = req->broker_id;
    r->offset = req->current_metadata_offset;
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    bool unfence = false;
    if (req->want_shutdown && !b->controlled_shutdown) {
        SL_LOG(SL_INFO, "controller", "controlled_shutdown", "broker=%d", b->id);
        remove_broker_everywhere(c, b->id, &bb, false);
        metadata_batch_add_controlled_shutdown(&bb, b->id, b->epoch);
    } else if (b->fenced && !req->want_shutdown && req->current_metadata_offset >= b->epoch) {
        metadata_batch_add_fence(&bb, b->id, b->epoch, false);
        unfence = true;
        SL_LOG(SL_INFO, "controller", "broker_unfenced", "broker=%d epoch=%" PRId64, b->id, b->epoch);
    }
    int32_t id = b->id;
    if (bb.count == 0) {
        heartbeat_reply(c, r, PROTOCOL_ERR_NONE);
        reply_free(r);
    } else if (controller_propose(c, &bb, heartbeat_done, r, NULL) < 0) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_NOT_CONTROLLER);
        reply_free(r);
    } else if (unfence) {
        elect_offline(c, id); /* sees the unfence: proposals apply to `work` at once */
    }
    metadata_batch_builder_deinit(&bb);
}

/* ---------------- AlterPartition ---------------- */

typedef struct alter_ctx {
    Md__AlterPartitionRequest *req; /* unpacked, owned */
    int16_t *errors;                /* per item */
} alter_ctx;

static void alter_done(controller *c, void *arg, bool committed) {
    rpc_reply *r = arg;
    alter_ctx *ctx = r->extra;
    const Md__AlterPartitionRequest *req = ctx->req;
    Md__RpcStatus st;
    status_set(&st, c, committed ? PROTOCOL_ERR_NONE : PROTOCOL_ERR_NOT_CONTROLLER);
    Md__AlterPartitionResponse resp = MD__ALTER_PARTITION_RESPONSE__INIT;
    resp.status = &st;
    size_t n = committed ? req->n_items : 0;
    Md__AlterPartitionResult *results = sl_calloc(n + 1, sizeof(*results));
    Md__AlterPartitionResult **ptrs = sl_calloc(n + 1, sizeof(*ptrs));
    for (size_t i = 0; i < n; i++) {
        const Md__AlterPartitionItem *it = req->items[i];
        Md__AlterPartitionResult *res = &results[i];
        md__alter_partition_result__init(res);
        res->topic_id = it->topic_id;
        res->partition_id = it->partition_id;
        res->error_code = ctx->errors[i];
        metadata_uuid id;
        memcpy(id.b, it->topic_id.data, 16);
        const metadata_partition *mp = metadata_topic_partition(
            metadata_image_topic_by_id(&c->committed, &id), it->partition_id);
        if (mp && !ctx->errors[i]) {
            res->has_leader = res->has_leader_epoch = res->has_partition_epoch = true;
            res->leader = mp->leader;
            res->leader_epoch = mp->leader_epoch;
            res->partition_epoch = mp->partition_epoch;
            res->n_isr = (size_t)mp->isr.count;
            res->isr = mp->isr.ids;
        }
        ptrs[i] = res;
    }
    resp.n_results = n;
    resp.results = ptrs;
    controller_reply(r->peer->conn, r->corr, r->type, &resp.base);
    sl_free(ptrs);
    sl_free(results);
    md__alter_partition_request__free_unpacked(ctx->req, NULL);
    sl_free(ctx->errors);
    /* r->extra (ctx) is freed by reply_free */
    reply_free(r);
}

/* Takes req (unpacked). */
static void handle_alter_partition(controller *c, rpc_peer *peer, uint32_t corr,
                                   Md__AlterPartitionRequest *req) {
    uint16_t type = METADATA_RPC_ALTER_PARTITION;
    const metadata_broker *b = metadata_image_broker(&c->work, req->broker_id);
    if (!b || b->epoch != req->broker_epoch) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_STALE_BROKER_EPOCH);
        md__alter_partition_request__free_unpacked(req, NULL);
        return;
    }
    alter_ctx *ctx = SL_NEW(alter_ctx);
    ctx->req = req;
    ctx->errors = sl_calloc(req->n_items + 1, sizeof(int16_t));
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    for (size_t i = 0; i < req->n_items; i++) {
        const Md__AlterPartitionItem *it = req->items[i];
        metadata_uuid id;
        const metadata_topic *t = NULL;
        if (it->topic_id.len == 16) {
            memcpy(id.b, it->topic_id.data, 16);
            t = metadata_image_topic_by_id(&c->work, &id);
        }
        const metadata_partition *mp = metadata_topic_partition(t, it->partition_id);
        if (!mp) {
            ctx->errors[i] = PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        ctx->errors[i] = controller_partition_alter_isr(
            &c->work, t, mp, req->broker_id, it->leader_epoch, it->partition_epoch, it->new_isr,
            (int32_t)it->n_new_isr, &c->defaults, &bb);
    }
    rpc_reply *r = reply_new(c, peer, corr, type);
    r->extra = ctx;
    if (controller_propose(c, &bb, alter_done, r, NULL) < 0) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_NOT_CONTROLLER);
        md__alter_partition_request__free_unpacked(req, NULL);
        sl_free(ctx->errors);
        reply_free(r);
    }
    metadata_batch_builder_deinit(&bb);
}

/* ---------------- producer ids ---------------- */

static void pids_done(controller *c, void *arg, bool committed) {
    rpc_reply *r = arg;
    Md__RpcStatus st;
    status_set(&st, c, committed ? PROTOCOL_ERR_NONE : PROTOCOL_ERR_NOT_CONTROLLER);
    Md__AllocateProducerIdsResponse resp = MD__ALLOCATE_PRODUCER_IDS_RESPONSE__INIT;
    resp.status = &st;
    if (committed) {
        resp.has_first_producer_id = resp.has_count = true;
        resp.first_producer_id = r->first;
        resp.count = r->count;
    }
    controller_reply(r->peer->conn, r->corr, r->type, &resp.base);
    reply_free(r);
}

static void handle_allocate_pids(controller *c, rpc_peer *peer, uint32_t corr,
                                 const Md__AllocateProducerIdsRequest *req) {
    uint16_t type = METADATA_RPC_ALLOCATE_PRODUCER_IDS;
    const metadata_broker *b = metadata_image_broker(&c->work, req->broker_id);
    if (!b || b->epoch != req->broker_epoch) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_STALE_BROKER_EPOCH);
        return;
    }
    rpc_reply *r = reply_new(c, peer, corr, type);
    r->first = c->work.next_producer_id;
    r->count = METADATA_PRODUCER_ID_BLOCK;
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    metadata_batch_add_producer_ids(&bb, req->broker_id, req->broker_epoch, r->first + r->count);
    if (controller_propose(c, &bb, pids_done, r, NULL) < 0) {
        reply_error(c, peer->conn, corr, type, PROTOCOL_ERR_NOT_CONTROLLER);
        reply_free(r);
    }
    metadata_batch_builder_deinit(&bb);
}

/* ---------------- forwarded admin requests ---------------- */

static void forward_reply(controller *c, void *arg, int16_t error, const uint8_t *body,
                          size_t len, int64_t offset) {
    rpc_reply *r = arg;
    Md__RpcStatus st;
    status_set(&st, c, error);
    Md__ForwardResponse resp = MD__FORWARD_RESPONSE__INIT;
    resp.status = &st;
    if (!error) {
        resp.has_response_body = true;
        resp.response_body = (ProtobufCBinaryData){ len, (uint8_t *)body };
        resp.has_metadata_offset = true;
        resp.metadata_offset = offset;
    }
    controller_reply(r->peer->conn, r->corr, r->type, &resp.base);
    reply_free(r);
}

static void handle_forward(controller *c, rpc_peer *peer, uint32_t corr,
                           const Md__ForwardRequest *req) {
    rpc_reply *r = reply_new(c, peer, corr, METADATA_RPC_FORWARD);
    controller_admin_handle(c, (int16_t)req->api_key, (int16_t)req->api_version,
                            req->request_body.data, req->request_body.len, forward_reply, r);
}

/* ---------------- dispatch ---------------- */

void controller_rpc_frame(raft_net_conn *conn, uint32_t correlation_id, uint16_t type,
                          const uint8_t *payload, size_t len, void *arg) {
    controller *c = arg;
    rpc_peer *peer = raft_net_conn_data(conn);
    if (!peer) return;
    if (!c->active) {
        reply_error(c, conn, correlation_id, type, PROTOCOL_ERR_NOT_CONTROLLER);
        return;
    }
    switch (type) {
    case METADATA_RPC_BROKER_REGISTRATION: {
        Md__BrokerRegistrationRequest *req = md__broker_registration_request__unpack(NULL, len, payload);
        if (!req) goto malformed;
        handle_register(c, peer, correlation_id, req);
        md__broker_registration_request__free_unpacked(req, NULL);
        return;
    }
    case METADATA_RPC_BROKER_HEARTBEAT: {
        Md__BrokerHeartbeatRequest *req = md__broker_heartbeat_request__unpack(NULL, len, payload);
        if (!req) goto malformed;
        handle_heartbeat(c, peer, correlation_id, req);
        md__broker_heartbeat_request__free_unpacked(req, NULL);
        return;
    }
    case METADATA_RPC_ALTER_PARTITION: {
        Md__AlterPartitionRequest *req = md__alter_partition_request__unpack(NULL, len, payload);
        if (!req) goto malformed;
        handle_alter_partition(c, peer, correlation_id, req);
        return;
    }
    case METADATA_RPC_ALLOCATE_PRODUCER_IDS: {
        Md__AllocateProducerIdsRequest *req =
            md__allocate_producer_ids_request__unpack(NULL, len, payload);
        if (!req) goto malformed;
        handle_allocate_pids(c, peer, correlation_id, req);
        md__allocate_producer_ids_request__free_unpacked(req, NULL);
        return;
    }
    case METADATA_RPC_FORWARD: {
        Md__ForwardRequest *req = md__forward_request__unpack(NULL, len, payload);
        if (!req) goto malformed;
        handle_forward(c, peer, correlation_id, req);
        md__forward_request__free_unpacked(req, NULL);
        return;
    }
    default:
        SL_LOG(SL_WARN, "controller", "unknown_rpc", "peer=%s type=%d", raft_net_conn_peer(conn),
               type);
        return;
    }
malformed:
    SL_LOG(SL_WARN, "controller", "malformed_rpc", "peer=%s type=%d bytes=%zu",
           raft_net_conn_peer(conn), type, len);
    reply_error(c, conn, correlation_id, type, PROTOCOL_ERR_INVALID_REQUEST);
}

/* ---------------- preferred leaders ---------------- */

/* Kafka's auto.leader.rebalance: for each broker, when more than the allowed share of the
 * partitions it prefers are led elsewhere, move those back (if it is in their ISR). */
void controller_rebalance_tick(controller *c, int64_t now_ms) {
    if (!c->cfg.auto_leader_rebalance) return;
    if (now_ms - c->rebalance_last_ms < c->cfg.imbalance_check_seconds * 1000) return;
    c->rebalance_last_ms = now_ms;
    metadata_batch_builder bb;
    metadata_batch_builder_init(&bb);
    for (size_t bi = 0; bi < c->work.brokers.cap; bi++) {
        if (!sl_imap_slot_used(&c->work.brokers, bi)) continue;
        const metadata_broker *b = c->work.brokers.slots[bi].value;
        if (!metadata_broker_is_live(b)) continue;
        int64_t preferred = 0, elsewhere = 0;
        for (size_t i = 0; i < c->work.topics.cap; i++) {
            if (!sl_map_slot_used(&c->work.topics, i)) continue;
            const metadata_topic *t = c->work.topics.slots[i].value;
            for (int32_t p = 0; p < t->partition_count; p++) {
                const metadata_partition *mp = &t->partitions[p];
                if (mp->replicas.ids[0] != b->id) continue;
                preferred++;
                if (mp->leader != b->id) elsewhere++;
            }
        }
        if (preferred == 0 || elsewhere * 100 <= preferred * c->cfg.imbalance_percentage) continue;
        for (size_t i = 0; i < c->work.topics.cap; i++) {
            if (!sl_map_slot_used(&c->work.topics, i)) continue;
            const metadata_topic *t = c->work.topics.slots[i].value;
            for (int32_t p = 0; p < t->partition_count; p++) {
                const metadata_partition *mp = &t->partitions[p];
                if (mp->replicas.ids[0] == b->id && mp->leader != b->id) {
                    controller_partition_elect_preferred(&c->work, t, mp, &bb);
                }
            }
        }
    }
    if (bb.count) {
        SL_LOG(SL_INFO, "controller", "preferred_leaders_elected", "partitions=%d", bb.count);
    }
    controller_propose(c, &bb, NULL, NULL, NULL);
    metadata_batch_builder_deinit(&bb);
}
