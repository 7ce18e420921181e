/* broker_produce.c — the Produce API: validate each partition's batch, check the
 * idempotent producer's sequence, append on the leader, and answer by acks:
 * 0 — no response; 1 — once the leader has appended; all (-1) — once the high
 * watermark passes the batch (parked in the purgatory until then or timeout_ms).
 *
 * Per batch work is header + CRC only; records are never parsed on this path. */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_crc32c.h"
#include "common/sl_err.h"
#include "common/sl_failpoint.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <event2/event.h>
#include <inttypes.h>
#include <string.h>

typedef protocol_ProduceResponse_PartitionProduceResponse part_resp;

typedef struct produce_op {
    broker_request *req;
    protocol_ProduceResponse *resp;
    broker_waiter *waiters; /* one per partition waiting for the HW */
    part_resp **targets;    /* the partition response each waiter settles */
    int32_t waiter_count;
    int32_t outstanding;
    struct event *timer;
} produce_op;

/* Check the partition's records: exactly one magic-2 batch (Produce v3+), CRC, size,
 * codec, not a control batch. Returns a Kafka error. */
static int16_t validate_batch(broker_partition *p, int16_t version, sl_bytes records,
                              protocol_batch_header *h) {
    if (records.len <= 0) return PROTOCOL_ERR_INVALID_RECORD;
    size_t size;
    if (protocol_batch_size(records.ptr, (size_t)records.len, (size_t)records.len, &size) != SL_OK) {
        return PROTOCOL_ERR_CORRUPT_MESSAGE;
    }
    if (size != (size_t)records.len) return PROTOCOL_ERR_INVALID_RECORD; /* one batch only */
    if (records.ptr[PROTOCOL_BATCH_OFF_MAGIC] != PROTOCOL_BATCH_MAGIC) {
        return PROTOCOL_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT;
    }
    if (protocol_batch_check(records.ptr, size, h) != SL_OK) return PROTOCOL_ERR_CORRUPT_MESSAGE;
    if ((int64_t)size > p->lcfg.max_message_bytes) return PROTOCOL_ERR_MESSAGE_TOO_LARGE;
    if (h->attributes & PROTOCOL_ATTR_CONTROL) return PROTOCOL_ERR_INVALID_RECORD;
    if ((h->attributes & PROTOCOL_ATTR_CODEC_MASK) == PROTOCOL_CODEC_ZSTD && version < 7) {
        return PROTOCOL_ERR_UNSUPPORTED_COMPRESSION_TYPE;
    }
    if (h->attributes & PROTOCOL_ATTR_TRANSACTIONAL) return PROTOCOL_ERR_INVALID_TXN_STATE;
    if (h->record_count == 0) return PROTOCOL_ERR_INVALID_RECORD;
    return PROTOCOL_ERR_NONE;
}

/* CreateTime bounds (message.timestamp.before/after.max.ms). */
static bool timestamp_ok(const broker_partition *p, const protocol_batch_header *h,
                         int64_t now) {
    if (p->lcfg.log_append_time) return true;
    if (p->lcfg.timestamp_before_max_ms != INT64_MAX &&
        h->base_timestamp < now - p->lcfg.timestamp_before_max_ms) {
        return false;
    }
    if (p->lcfg.timestamp_after_max_ms != INT64_MAX &&
        h->max_timestamp > now + p->lcfg.timestamp_after_max_ms) {
        return false;
    }
    return true;
}

/* LogAppendTime: stamp the broker's clock as the batch's max timestamp, new CRC. */
static void stamp_log_append_time(uint8_t *batch, size_t size, int64_t now) {
    uint16_t attrs = sl_load_be16(batch + PROTOCOL_BATCH_OFF_ATTRIBUTES);
    sl_store_be16(batch + PROTOCOL_BATCH_OFF_ATTRIBUTES, attrs | PROTOCOL_ATTR_LOG_APPEND_TIME);
    sl_store_be64(batch + PROTOCOL_BATCH_OFF_MAX_TS, (uint64_t)now);
    sl_store_be32(batch + PROTOCOL_BATCH_OFF_CRC, protocol_batch_crc(batch, size));
}

/* Append one partition's batch; fills pr. Returns true when appended (acks=all then
 * waits for the high watermark to pass pr's last offset, returned in *last_out). */
static bool produce_partition(broker *b, const protocol_ProduceRequest *pr, int16_t version,
                              sl_str topic, const protocol_ProduceRequest_PartitionProduceData *pd,
                              part_resp *out, int64_t *last_out) {
    broker_partition *p;
    out->Index = pd->Index;
    out->BaseOffset = -1;
    out->ErrorCode = broker_partition_leader_error(b, topic.ptr, (size_t)topic.len, pd->Index, &p);
    if (out->ErrorCode) return false;
    protocol_batch_header h;
    out->ErrorCode = validate_batch(p, version, pd->Records, &h);
    if (out->ErrorCode) return false;
    int64_t now = sl_wall_ms();
    if (!timestamp_ok(p, &h, now)) {
        out->ErrorCode = PROTOCOL_ERR_INVALID_TIMESTAMP;
        return false;
    }
    if (pr->Acks == -1 && p->isr.count < p->lcfg.min_insync_replicas) {
        out->ErrorCode = PROTOCOL_ERR_NOT_ENOUGH_REPLICAS;
        return false;
    }
    out->LogStartOffset = storage_log_start_offset(p->log);
    int64_t dup_base = -1, dup_last = -1;
    int rc = broker_pstate_check(p->pstate, &h, &dup_base, &dup_last);
    if (rc == BROKER_PSTATE_DUPLICATE) {
        /* Kafka 3.x: a retried batch gets NONE and its original offsets */
        out->BaseOffset = dup_base;
        *last_out = dup_last;
        return true;
    }
    if (rc != PROTOCOL_ERR_NONE) {
        out->ErrorCode = (int16_t)rc;
        return false;
    }
    /* The frame lives in the connection's own input buffer: writable memory. */
    uint8_t *batch = (uint8_t *)pd->Records.ptr;
    size_t size = (size_t)pd->Records.len;
    if (p->lcfg.log_append_time) {
        stamp_log_append_time(batch, size, now);
        out->LogAppendTimeMs = now;
    }
    storage_append_info info;
    rc = storage_log_append(p->log, batch, size, p->leader_epoch, now, &info);
    if (rc < 0) {
        SL_LOG(SL_ERROR, "produce", "append_failed", "topic=%s partition=%d err=%s",
               p->topic->name, p->id, sl_strerror(rc));
        out->ErrorCode = rc == SL_E_TOO_LARGE ? PROTOCOL_ERR_RECORD_LIST_TOO_LARGE
                                              : PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
        return false;
    }
    h.base_offset = info.base_offset;
    broker_pstate_update(p->pstate, &h);
    out->BaseOffset = info.base_offset;
    *last_out = info.last_offset;
    broker_replica_update_hw(b, p);   /* RF 1: the HW moves at once */
    broker_partition_wake(b, p);      /* followers and consumers parked on new data */
    return true;
}

static void op_finish(produce_op *op) {
    broker_request *req = op->req;
    for (int32_t i = 0; i < op->waiter_count; i++) {
        if (op->waiters[i].partition) broker_waiter_remove(op->waiters[i].partition, &op->waiters[i]);
    }
    if (op->timer) event_free(op->timer);
    op->timer = NULL;
    broker_respond(req, op->resp);
    broker_request_finish(req);
}

static void op_settle(produce_op *op, int32_t index, int16_t error) {
    broker_waiter *w = &op->waiters[index];
    if (w->partition) broker_waiter_remove(w->partition, w);
    if (error) {
        op->targets[index]->ErrorCode = error;
        op->targets[index]->BaseOffset = -1;
    }
    if (--op->outstanding == 0) op_finish(op);
}

void broker_produce_wake(broker *b, broker_waiter *w) {
    (void)b;
    produce_op *op = w->op;
    broker_partition *p = w->partition;
    if (p->role != BROKER_ROLE_LEADER || !p->log) {
        op_settle(op, w->index, PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER);
    } else if (p->high_watermark >= w->target) {
        op_settle(op, w->index, PROTOCOL_ERR_NONE);
    } else if (p->isr.count < p->lcfg.min_insync_replicas) {
        op_settle(op, w->index, PROTOCOL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    }
}

static void op_timeout_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    produce_op *op = arg;
    for (int32_t i = 0; i < op->waiter_count; i++) {
        broker_waiter *w = &op->waiters[i];
        if (!w->partition) continue;
        broker_waiter_remove(w->partition, w);
        op->targets[i]->ErrorCode = PROTOCOL_ERR_REQUEST_TIMED_OUT;
    }
    op->outstanding = 0;
    op_finish(op);
}

static void op_cancel(broker_request *req) {
    produce_op *op = req->op;
    for (int32_t i = 0; i < op->waiter_count; i++) {
        if (op->waiters[i].partition) broker_waiter_remove(op->waiters[i].partition, &op->waiters[i]);
    }
    if (op->timer) event_free(op->timer);
}

static int32_t partition_total(const protocol_ProduceRequest *pr) {
    int32_t n = 0;
    for (int32_t t = 0; t < pr->TopicData.count; t++) n += pr->TopicData.items[t].PartitionData.count;
    return n;
}

broker_handled broker_handle_produce(broker_request *req) {
    broker *b = req->conn->b;
    protocol_ProduceRequest *pr = broker_request_decode(req);
    if (!pr) return BROKER_CLOSE;
    int16_t version = req->hdr.api_version;
    protocol_ProduceResponse *resp = broker_response_new(req);
    int32_t total = partition_total(pr);
    produce_op *op = sl_arena_alloc(&req->arena, sizeof(*op));
    op->req = req;
    op->resp = resp;
    op->waiters = sl_arena_array(&req->arena, (size_t)total + 1, sizeof(broker_waiter));
    op->targets = sl_arena_array(&req->arena, (size_t)total + 1, sizeof(part_resp *));
    bool bad_acks = pr->Acks != 0 && pr->Acks != 1 && pr->Acks != -1;
    resp->Responses.count = pr->TopicData.count;
    resp->Responses.items = sl_arena_array(&req->arena, (size_t)pr->TopicData.count + 1,
                                           sizeof(*resp->Responses.items));
    for (int32_t t = 0; t < pr->TopicData.count; t++) {
        const protocol_ProduceRequest_TopicProduceData *td = &pr->TopicData.items[t];
        protocol_ProduceResponse_TopicProduceResponse *tr = &resp->Responses.items[t];
        tr->Name = td->Name;
        tr->PartitionResponses.count = td->PartitionData.count;
        tr->PartitionResponses.items = sl_arena_array(&req->arena,
                                                      (size_t)td->PartitionData.count + 1,
                                                      sizeof(part_resp));
        for (int32_t i = 0; i < td->PartitionData.count; i++) {
            part_resp *out = &tr->PartitionResponses.items[i];
            protocol_ProduceResponse_PartitionProduceResponse_init(out);
            int64_t last = -1;
            if (bad_acks) {
                out->Index = td->PartitionData.items[i].Index;
                out->ErrorCode = PROTOCOL_ERR_INVALID_REQUIRED_ACKS;
                out->BaseOffset = -1;
                continue;
            }
            if (!produce_partition(b, pr, version, td->Name, &td->PartitionData.items[i], out,
                                   &last)) {
                continue;
            }
            if (pr->Acks != -1) continue;
#ifdef SL_FAILPOINTS
            if (sl_failpoint_on("ack_before_replication")) continue; /* planted: acks=1 */
#endif
            broker_partition *p = broker_partition_get(b, td->Name.ptr, (size_t)td->Name.len,
                                                       td->PartitionData.items[i].Index);
            if (p->high_watermark > last) continue;
            broker_waiter *w = &op->waiters[op->waiter_count];
            w->kind = BROKER_WAIT_PRODUCE;
            w->target = last + 1;
            w->op = op;
            w->index = op->waiter_count;
            op->targets[op->waiter_count] = out;
            op->waiter_count++;
            broker_waiter_add(p, w);
        }
    }
    if (pr->Acks == 0) return BROKER_DONE; /* no response, as Kafka */
    if (op->waiter_count == 0) {
        broker_respond(req, resp);
        return BROKER_DONE;
    }
    op->outstanding = op->waiter_count;
    op->timer = evtimer_new(b->base, op_timeout_cb, op);
    int32_t timeout = pr->TimeoutMs > 0 ? pr->TimeoutMs : 1;
    struct timeval tv = { timeout / 1000, (timeout % 1000) * 1000 };
    evtimer_add(op->timer, &tv);
    req->op = op;
    req->cancel = op_cancel;
    return BROKER_PENDING;
}

/* ---------------- internal appends ---------------- */

typedef struct internal_op {
    broker *b;
    broker_waiter waiter;
    broker_append_done_fn done;
    void *arg;
    int64_t base_offset;
    struct event *timer;
} internal_op;

static void internal_finish(internal_op *op, int16_t error) {
    if (op->waiter.partition) broker_waiter_remove(op->waiter.partition, &op->waiter);
    if (op->timer) event_free(op->timer);
    op->done(op->b, op->arg, error, error ? -1 : op->base_offset);
    sl_free(op);
}

void broker_internal_wake(broker *b, broker_waiter *w) {
    (void)b;
    internal_op *op = w->op;
    broker_partition *p = w->partition;
    if (p->role != BROKER_ROLE_LEADER || !p->log) {
        internal_finish(op, PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER);
    } else if (p->high_watermark >= w->target) {
        internal_finish(op, PROTOCOL_ERR_NONE);
    } else if (p->isr.count < p->lcfg.min_insync_replicas) {
        internal_finish(op, PROTOCOL_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    }
}

static void internal_timeout_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    internal_finish(arg, PROTOCOL_ERR_REQUEST_TIMED_OUT);
}

void broker_append_internal(broker *b, broker_partition *p, uint8_t *batch, size_t len,
                            int32_t timeout_ms, broker_append_done_fn done, void *arg) {
    if (!p || p->role != BROKER_ROLE_LEADER || !p->log) {
        done(b, arg, PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER, -1);
        return;
    }
    if (p->isr.count < p->lcfg.min_insync_replicas) {
        done(b, arg, PROTOCOL_ERR_NOT_ENOUGH_REPLICAS, -1);
        return;
    }
    protocol_batch_header h;
    if (protocol_batch_check(batch, len, &h) != SL_OK || (size_t)h.batch_length + 12 != len) {
        done(b, arg, PROTOCOL_ERR_CORRUPT_MESSAGE, -1);
        return;
    }
    storage_append_info info;
    int rc = storage_log_append(p->log, batch, len, p->leader_epoch, sl_wall_ms(), &info);
    if (rc < 0) {
        SL_LOG(SL_ERROR, "produce", "internal_append_failed", "topic=%s partition=%d err=%s",
               p->topic->name, p->id, sl_strerror(rc));
        done(b, arg, PROTOCOL_ERR_KAFKA_STORAGE_ERROR, -1);
        return;
    }
    internal_op *op = SL_NEW(internal_op);
    op->b = b;
    op->done = done;
    op->arg = arg;
    op->base_offset = info.base_offset;
    op->waiter.kind = BROKER_WAIT_INTERNAL;
    op->waiter.target = info.last_offset + 1;
    op->waiter.op = op;
    broker_waiter_add(p, &op->waiter);
    op->timer = evtimer_new(b->base, internal_timeout_cb, op);
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    evtimer_add(op->timer, &tv);
    broker_replica_update_hw(b, p); /* may finish op at once (RF 1) */
    broker_partition_wake(b, p);    /* followers parked on new data */
}
