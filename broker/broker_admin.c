/* broker_admin.c — admin requests: forwarded to the active controller (topics,
 * partitions, configs, elections, reassignments, quorum description) and answered once
 * the change is visible in this broker's image; DescribeCluster and DescribeLogDirs from
 * local state; automatic topic creation; producer ids for InitProducerId. */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_hash.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <event2/event.h>
#include <inttypes.h>
#include <string.h>
#include <sys/statvfs.h>

#define FORWARD_TIMEOUT_MS     30000 /* a forwarded request gives up after this */
#define FORWARD_RETRY_MS       25    /* while no controller answers (failover is ~200 ms) */
#define AUTO_CREATE_RETRY_MS   1000  /* per topic name */


/* ---------------- raw responses ---------------- */

/* Queue a response whose body was encoded elsewhere (by the controller). */
static void respond_raw(broker_request *req, const uint8_t *body, size_t len) {
    sl_buf *out = &req->conn->io.out;
    size_t slot = sl_buf_put_slot_i32(out);
    protocol_response_header_encode(out, req->hdr.api_key, req->hdr.api_version,
                                    req->hdr.correlation_id);
    sl_buf_put(out, body, len);
    sl_buf_patch_i32(out, slot, (int32_t)(out->len - slot - 4));
    broker_metrics_request_done(req->conn->b, req);
}

/* ---------------- forwarding ---------------- */

typedef struct forward_op {
    broker_request *req;
    int64_t deadline_ms;
    struct event *retry;
    uint8_t *body;       /* the controller's response body, owned */
    size_t body_len;
    bool cancelled;
    bool in_flight;
} forward_op;

static void forward_send(broker *b, forward_op *op);

static void forward_free(forward_op *op) {
    if (op->retry) event_free(op->retry);
    sl_free(op->body);
    sl_free(op);
}

static void forward_applied(broker *b, void *arg, bool ok) {
    (void)b;
    forward_op *op = arg;
    if (!op->cancelled) {
        if (!ok) {
            SL_LOG(SL_WARN, "admin", "forward_not_applied", "api=%s", op->req->api->name);
        }
        broker_request *req = op->req;
        respond_raw(req, op->body, op->body_len);
        req->op = NULL;
        broker_request_finish(req);
    }
    forward_free(op);
}

static void forward_done(broker *b, int16_t error, const ProtobufCMessage *msg, void *arg) {
    forward_op *op = arg;
    op->in_flight = false;
    if (op->cancelled) {
        forward_free(op);
        return;
    }
    if (error || !msg) {
        if (sl_now_ms() < op->deadline_ms) {
            struct timeval tv = { 0, FORWARD_RETRY_MS * 1000 };
            evtimer_add(op->retry, &tv);
            return;
        }
        SL_LOG(SL_WARN, "admin", "forward_failed", "api=%s error=%s", op->req->api->name,
               protocol_error_name(error));
        broker_request *req = op->req;
        req->op = NULL;
        req->conn->closing = true; /* no controller: the client retries on a new connection */
        broker_request_finish(req);
        forward_free(op);
        return;
    }
    const Md__ForwardResponse *resp = (const Md__ForwardResponse *)msg;
    op->body_len = resp->response_body.len;
    op->body = sl_malloc(op->body_len + 1);
    memcpy(op->body, resp->response_body.data, op->body_len);
    int64_t offset = resp->has_metadata_offset ? resp->metadata_offset : -1;
    broker_meta_wait(b, offset, FORWARD_TIMEOUT_MS, forward_applied, op);
}

static void forward_send(broker *b, forward_op *op) {
    broker_request *req = op->req;
    Md__ForwardRequest fr = MD__FORWARD_REQUEST__INIT;
    fr.api_key = req->hdr.api_key;
    fr.api_version = req->hdr.api_version;
    char client_id[256];
    int n = req->hdr.client_id.len > 0 ? req->hdr.client_id.len : 0;
    if (n > 255) n = 255;
    memcpy(client_id, req->hdr.client_id.ptr, (size_t)n);
    client_id[n] = '\0';
    fr.client_id = client_id;
    fr.request_body = (ProtobufCBinaryData){ sl_reader_remaining(&req->body),
                                             (uint8_t *)req->body.p };
    fr.has_broker_id = true;
    fr.broker_id = b->cfg.node_id;
    op->in_flight = true;
    broker_ctl_call(b, METADATA_RPC_FORWARD, &fr.base, &md__forward_response__descriptor,
                    FORWARD_TIMEOUT_MS, forward_done, op);
}

static void forward_retry_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    forward_op *op = arg;
    forward_send(op->req->conn->b, op);
}

static void forward_cancel(broker_request *req) {
    forward_op *op = req->op;
    op->cancelled = true;
    evtimer_del(op->retry);
    /* freed by whichever callback still holds it (controller reply or metadata wait) */
    if (!op->in_flight && !op->body) forward_free(op);
}

broker_handled broker_handle_forward(broker_request *req) {
    broker *b = req->conn->b;
    forward_op *op = SL_NEW(forward_op);
    op->req = req;
    op->deadline_ms = sl_now_ms() + FORWARD_TIMEOUT_MS;
    op->retry = evtimer_new(b->base, forward_retry_cb, op);
    req->op = op;
    req->cancel = forward_cancel;
    forward_send(b, op);
    return BROKER_PENDING;
}

/* ---------------- automatic topic creation ---------------- */

static void auto_create_done(broker *b, int16_t error, const ProtobufCMessage *msg, void *arg) {
    (void)b;
    (void)msg;
    char *name = arg;
    if (error) {
        SL_LOG(SL_INFO, "admin", "auto_create_failed", "topic=%s error=%s", name,
               protocol_error_name(error));
    }
    sl_free(name);
}

void broker_auto_create_topic(broker *b, const char *name, size_t len, int32_t partitions,
                              int16_t rf, const char *const *configs) {
    /* a small ring of recent requests keeps a burst of Metadata calls for the same
     * missing topic from sending one creation each */
    int64_t now = sl_now_ms();
    uint64_t h = sl_fnv1a64(name, len);
    for (int i = 0; i < BROKER_AUTO_CREATE_RING; i++) {
        if (b->auto_create_hash[i] == h && now - b->auto_create_ms[i] < AUTO_CREATE_RETRY_MS) {
            return;
        }
    }
    int slot = b->auto_create_next++ % BROKER_AUTO_CREATE_RING;
    b->auto_create_hash[slot] = h;
    b->auto_create_ms[slot] = now;
    /* capped by the live brokers, as Kafka does for internal topics */
    int32_t live[1024];
    int32_t n = metadata_image_live_brokers(&b->image, live, 1024);
    if (rf > n && n > 0) rf = (int16_t)n;
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_CreateTopicsRequest ct;
    protocol_CreateTopicsRequest_init(&ct);
    ct.Topics.count = 1;
    ct.Topics.items = sl_arena_alloc(&arena, sizeof(*ct.Topics.items));
    protocol_CreateTopicsRequest_CreatableTopic_init(&ct.Topics.items[0]);
    ct.Topics.items[0].Name = (sl_str){ name, (int32_t)len };
    ct.Topics.items[0].NumPartitions = partitions;
    ct.Topics.items[0].ReplicationFactor = rf;
    int32_t nconf = 0;
    while (configs && configs[2 * nconf]) nconf++;
    protocol_CreateTopicsRequest_CreatableTopicConfig *cfgs =
        sl_arena_array(&arena, (size_t)nconf + 1, sizeof(*cfgs));
    for (int32_t i = 0; i < nconf; i++) {
        cfgs[i].Name = sl_str_c(configs[2 * i]);
        cfgs[i].Value = sl_str_c(configs[2 * i + 1]);
    }
    ct.Topics.items[0].Configs.items = cfgs;
    ct.Topics.items[0].Configs.count = nconf;
    ct.timeoutMs = FORWARD_TIMEOUT_MS;
    sl_buf body;
    sl_buf_init(&body);
    protocol_CreateTopicsRequest_encode(&body, 5, &ct);
    Md__ForwardRequest fr = MD__FORWARD_REQUEST__INIT;
    fr.api_key = 19;
    fr.api_version = 5;
    fr.client_id = "sluice-auto-create";
    fr.request_body = (ProtobufCBinaryData){ body.len, body.data };
    SL_LOG(SL_INFO, "admin", "auto_create_topic", "topic=%.*s partitions=%d rf=%d", (int)len,
           name, partitions, rf);
    broker_ctl_call(b, METADATA_RPC_FORWARD, &fr.base, &md__forward_response__descriptor,
                    FORWARD_TIMEOUT_MS, auto_create_done, sl_strndup(name, len));
    sl_buf_deinit(&body);
    sl_arena_deinit(&arena);
}
