/* broker_ctl.c — the broker's session with the active controller: registration,
 * heartbeats (lease, fencing, controlled shutdown) and request/response RPCs for the
 * rest of the broker (AlterPartition, AllocateProducerIds, forwarded admin requests).
 *
 * The active controller is the metadata quorum's leader, learned from the observer
 * (broker_ctl_on_leader) or from a NOT_CONTROLLER leader hint. One connection at a time;
 * its loss fails the RPCs in flight (callers retry), and the controller treats it as a
 * sign of this broker's death after a short grace, so a killed broker is fenced within a
 * second rather than after the session timeout. */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#define CTL_REGISTER_TIMEOUT_MS 5000
#define CTL_PENDING_MAX         4096 /* RPCs in flight; beyond that callers get an error */

typedef struct ctl_call {
    uint32_t correlation_id;
    uint16_t type;
    const ProtobufCMessageDescriptor *resp_desc;
    broker_ctl_done_fn done;
    void *arg;
    int64_t deadline_ms;
    struct ctl_call *next;
} ctl_call;

struct broker_ctl {
    int32_t leader_id;         /* active controller, -1 unknown */
    raft_net_conn *conn;
    uint32_t next_correlation;
    ctl_call *calls;
    int32_t call_count;
    uint8_t incarnation[16];
    bool registering;
    bool heartbeat_inflight;
    int64_t next_heartbeat_ms;
    int64_t last_heartbeat_ok_ms;
    bool listeners_opened;
};

static void ctl_fail_all(broker *b, int16_t error) {
    broker_ctl *ctl = b->ctl;
    ctl_call *c = ctl->calls;
    ctl->calls = NULL;
    ctl->call_count = 0;
    while (c) {
        ctl_call *next = c->next;
        c->done(b, error, NULL, c->arg);
        sl_free(c);
        c = next;
    }
}

/* The RpcStatus every response carries as its field `status`. */
static const Md__RpcStatus *resp_status(const ProtobufCMessage *msg) {
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "status");
    if (!f) return NULL;
    return *(Md__RpcStatus *const *)((const char *)msg + f->offset);
}

static void ctl_on_frame(raft_net_conn *conn, uint32_t correlation_id, uint16_t type,
                         const uint8_t *payload, size_t len, void *arg) {
    (void)conn;
    broker *b = arg;
    broker_ctl *ctl = b->ctl;
    ctl_call **pp = &ctl->calls;
    while (*pp && (*pp)->correlation_id != correlation_id) pp = &(*pp)->next;
    ctl_call *c = *pp;
    if (!c || type != (c->type | METADATA_RPC_RESPONSE)) return; /* timed out earlier */
    *pp = c->next;
    ctl->call_count--;
    ProtobufCMessage *msg = protobuf_c_message_unpack(c->resp_desc, NULL, len, payload);
    const Md__RpcStatus *st = msg ? resp_status(msg) : NULL;
    int16_t error = !msg ? PROTOCOL_ERR_UNKNOWN_SERVER_ERROR
                         : (st ? (int16_t)st->error_code : PROTOCOL_ERR_NONE);
    if (error == PROTOCOL_ERR_NOT_CONTROLLER && st && st->has_leader_hint &&
        st->leader_hint >= 0 && st->leader_hint != ctl->leader_id) {
        broker_ctl_on_leader(b, st->leader_hint);
    }
    c->done(b, error, msg, c->arg);
    if (msg) protobuf_c_message_free_unpacked(msg, NULL);
    sl_free(c);
}

static void ctl_register(broker *b);

static void ctl_on_state(raft_net_conn *conn, bool up, void *arg) {
    (void)conn;
    broker *b = arg;
    SL_LOG(SL_INFO, "ctl", up ? "controller_connected" : "controller_disconnected",
           "controller=%d", b->ctl->leader_id);
    if (!up) {
        b->ctl->heartbeat_inflight = false;
        b->ctl->registering = false;
        ctl_fail_all(b, PROTOCOL_ERR_NOT_CONTROLLER);
        return;
    }
    b->ctl->next_heartbeat_ms = 0; /* heartbeat (or register) right away */
}

void broker_ctl_on_leader(broker *b, int32_t leader_id) {
    broker_ctl *ctl = b->ctl;
    if (!ctl || leader_id == ctl->leader_id) return;
    ctl->leader_id = leader_id;
    if (ctl->conn) {
        raft_net_conn_close(ctl->conn);
        ctl->conn = NULL;
    }
    ctl->heartbeat_inflight = false;
    ctl->registering = false;
    ctl_fail_all(b, PROTOCOL_ERR_NOT_CONTROLLER);
    if (leader_id < 0) return;
    for (int i = 0; i < b->cfg.voter_count; i++) {
        if (b->cfg.voters[i].id != leader_id) continue;
        raft_net_handlers h = { ctl_on_frame, ctl_on_state };
        ctl->conn = raft_net_connect(b->net, b->cfg.voters[i].host, b->cfg.voters[i].port, &h, b);
        return;
    }
    SL_LOG(SL_WARN, "ctl", "unknown_controller", "leader=%d", leader_id);
}

void broker_ctl_call(broker *b, uint16_t type, const ProtobufCMessage *req,
                     const ProtobufCMessageDescriptor *resp_desc, int32_t timeout_ms,
                     broker_ctl_done_fn done, void *arg) {
    broker_ctl *ctl = b->ctl;
    if (!ctl->conn || !raft_net_conn_up(ctl->conn)) {
        done(b, PROTOCOL_ERR_NOT_CONTROLLER, NULL, arg);
        return;
    }
    if (ctl->call_count >= CTL_PENDING_MAX) {
        done(b, PROTOCOL_ERR_REQUEST_TIMED_OUT, NULL, arg);
        return;
    }
    uint32_t corr = ++ctl->next_correlation;
    int rc = raft_net_send_pb(ctl->conn, corr, type, req);
    if (rc < 0) {
        done(b, rc == SL_E_CLOSED ? PROTOCOL_ERR_NOT_CONTROLLER : PROTOCOL_ERR_REQUEST_TIMED_OUT,
             NULL, arg);
        return;
    }
    ctl_call *c = SL_NEW(ctl_call);
    c->correlation_id = corr;
    c->type = type;
    c->resp_desc = resp_desc;
    c->done = done;
    c->arg = arg;
    c->deadline_ms = sl_now_ms() + timeout_ms;
    c->next = ctl->calls;
    ctl->calls = c;
    ctl->call_count++;
}

static void ctl_registered(broker *b, int16_t error, const ProtobufCMessage *msg, void *arg) {
    (void)arg;
    broker_ctl *ctl = b->ctl;
    ctl->registering = false;
    if (error) {
        SL_LOG(SL_WARN, "ctl", "registration_failed", "error=%s", protocol_error_name(error));
        ctl->next_heartbeat_ms = sl_now_ms() + 200;
        return;
    }
    const Md__BrokerRegistrationResponse *resp = (const Md__BrokerRegistrationResponse *)msg;
    b->broker_epoch = resp->broker_epoch;
    SL_LOG(SL_INFO, "ctl", "registered", "broker_epoch=%" PRId64, b->broker_epoch);
    ctl->next_heartbeat_ms = 0;
}

static void ctl_register(broker *b) {
    broker_ctl *ctl = b->ctl;
    Md__Endpoint eps[BROKER_LISTENERS_MAX];
    Md__Endpoint *ep_ptrs[BROKER_LISTENERS_MAX];
    for (int i = 0; i < b->cfg.advertised_count; i++) {
        md__endpoint__init(&eps[i]);
        eps[i].name = b->cfg.advertised[i].name;
        eps[i].host = b->cfg.advertised[i].host;
        eps[i].port = b->cfg.advertised[i].port;
        eps[i].security_protocol = "PLAINTEXT";
        ep_ptrs[i] = &eps[i];
    }
    Md__BrokerRegistrationRequest req = MD__BROKER_REGISTRATION_REQUEST__INIT;
    req.broker_id = b->cfg.node_id;
    req.cluster_id = b->cfg.cluster_id;
    req.incarnation_id = (ProtobufCBinaryData){ 16, ctl->incarnation };
    req.n_listeners = (size_t)b->cfg.advertised_count;
    req.listeners = ep_ptrs;
    req.has_previous_broker_epoch = true;
    req.previous_broker_epoch = b->broker_epoch;
    req.has_log_end_metadata_offset = true;
    req.log_end_metadata_offset = b->image.offset;
    ctl->registering = true;
    broker_ctl_call(b, METADATA_RPC_BROKER_REGISTRATION, &req.base,
                    &md__broker_registration_response__descriptor, CTL_REGISTER_TIMEOUT_MS,
                    ctl_registered, NULL);
}

static void ctl_heartbeat_done(broker *b, int16_t error, const ProtobufCMessage *msg,
                               void *arg) {
    (void)arg;
    broker_ctl *ctl = b->ctl;
    ctl->heartbeat_inflight = false;
    if (error == PROTOCOL_ERR_STALE_BROKER_EPOCH || error == PROTOCOL_ERR_BROKER_ID_NOT_REGISTERED) {
        SL_LOG(SL_WARN, "ctl", "registration_lost", "error=%s", protocol_error_name(error));
        b->broker_epoch = -1;
        ctl->next_heartbeat_ms = 0;
        return;
    }
    if (error) return;
    const Md__BrokerHeartbeatResponse *resp = (const Md__BrokerHeartbeatResponse *)msg;
    ctl->last_heartbeat_ok_ms = sl_now_ms();
    bool fenced = resp->has_is_fenced ? resp->is_fenced : true;
    if (fenced != b->fenced) {
        SL_LOG(SL_INFO, "ctl", fenced ? "fenced" : "unfenced", "broker_epoch=%" PRId64
               " metadata_offset=%" PRId64, b->broker_epoch, b->image.offset);
        b->fenced = fenced;
    }
    if (!fenced && !ctl->listeners_opened) {
        ctl->listeners_opened = true;
        broker_open_listeners(b);
    }
    if (resp->should_shutdown) broker_shutdown_allowed(b);
}

static void ctl_heartbeat(broker *b) {
    broker_ctl *ctl = b->ctl;
    Md__BrokerHeartbeatRequest req = MD__BROKER_HEARTBEAT_REQUEST__INIT;
    req.broker_id = b->cfg.node_id;
    req.broker_epoch = b->broker_epoch;
    req.current_metadata_offset = b->image.offset;
    req.has_want_shutdown = true;
    req.want_shutdown = b->shutting_down;
    ctl->heartbeat_inflight = true;
    broker_ctl_call(b, METADATA_RPC_BROKER_HEARTBEAT, &req.base,
                    &md__broker_heartbeat_response__descriptor, b->cfg.heartbeat_interval_ms * 4,
                    ctl_heartbeat_done, NULL);
}

void broker_ctl_tick(broker *b, int64_t now_ms) {
    broker_ctl *ctl = b->ctl;
    if (!ctl) return;
    /* expire calls */
    for (ctl_call **pp = &ctl->calls; *pp;) {
        ctl_call *c = *pp;
        if (now_ms < c->deadline_ms) {
            pp = &c->next;
            continue;
        }
        *pp = c->next;
        ctl->call_count--;
        c->done(b, PROTOCOL_ERR_REQUEST_TIMED_OUT, NULL, c->arg);
        sl_free(c);
    }
    if (!ctl->conn || !raft_net_conn_up(ctl->conn)) return;
    if (ctl->registering || ctl->heartbeat_inflight || now_ms < ctl->next_heartbeat_ms) return;
    ctl->next_heartbeat_ms = now_ms + b->cfg.heartbeat_interval_ms;
    if (b->broker_epoch < 0) {
        ctl_register(b);
    } else {
        ctl_heartbeat(b);
    }
}

int broker_ctl_start(broker *b, char *err, size_t err_size) {
    (void)err;
    (void)err_size;
    broker_ctl *ctl = SL_NEW(broker_ctl);
    ctl->leader_id = -1;
    if (getrandom(ctl->incarnation, sizeof(ctl->incarnation), 0) != 16) {
        uint64_t x = sl_rand_u64(&b->rng), y = sl_rand_u64(&b->rng);
        memcpy(ctl->incarnation, &x, 8);
        memcpy(ctl->incarnation + 8, &y, 8);
    }
    b->ctl = ctl;
    return SL_OK;
}

void broker_ctl_stop(broker *b) {
    broker_ctl *ctl = b->ctl;
    if (!ctl) return;
    if (ctl->conn) raft_net_conn_close(ctl->conn);
    ctl_fail_all(b, PROTOCOL_ERR_NOT_CONTROLLER);
    sl_free(ctl);
    b->ctl = NULL;
}
