/* broker_fetch.c — the Fetch API for consumers and for followers (replica_id >= 0).
 *
 * Consumers read up to the high watermark (which is also the last stable offset: there
 * are no open transactions); followers read up to the log end and report their progress
 * with every fetch (their fetch offset is their log end). A follower's LastFetchedEpoch
 * is checked against the leader epoch cache: when its log diverges, the answer carries
 * DivergingEpoch instead of records and the follower truncates (KIP-320/KIP-595).
 * Fetches with too little data park until min_bytes could be met or max_wait passes. */
#include "broker/broker_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <event2/event.h>
#include <string.h>

typedef protocol_FetchResponse_PartitionData part_data;

typedef struct fetch_op {
    broker_request *req;
    protocol_FetchRequest *fr;
    int32_t replica_id;
    broker_waiter *waiters;
    int32_t waiter_count;
    struct event *timer;
    bool done;
} fetch_op;

static int32_t fetch_replica_id(const protocol_FetchRequest *fr, int16_t version) {
    return version >= 15 ? fr->ReplicaState.ReplicaId : fr->ReplicaId;
}

/* The topic name of a request topic (by name before v13, by id after). */
static sl_str topic_name_of(broker *b, const protocol_FetchRequest_FetchTopic *ft,
                            int16_t version) {
    if (version < 13) return ft->Topic;
    metadata_uuid id;
    memcpy(id.b, ft->TopicId.b, 16);
    const metadata_topic *t = metadata_image_topic_by_id(&b->image, &id);
    return t ? sl_str_c(t->name) : SL_STR_NULL;
}

/* Epoch checks shared by every partition: returns a Kafka error or NONE. */
static int16_t check_leader_epoch(const broker_partition *p, int32_t current_epoch) {
    if (current_epoch < 0) return PROTOCOL_ERR_NONE;
    if (current_epoch < p->leader_epoch) return PROTOCOL_ERR_FENCED_LEADER_EPOCH;
    if (current_epoch > p->leader_epoch) return PROTOCOL_ERR_UNKNOWN_LEADER_EPOCH;
    return PROTOCOL_ERR_NONE;
}

/* A follower's log diverges when its last fetched epoch ends earlier here (or is not
 * ours): answer the epoch and end offset it must truncate to. */
static bool diverging(const broker_partition *p, int32_t last_epoch, int64_t fetch_offset,
                      part_data *out) {
    if (last_epoch < 0) return false;
    int32_t epoch = -1;
    int64_t end = -1;
    storage_log_epoch_end_offset(p->log, last_epoch, &epoch, &end);
    if (epoch == last_epoch && end >= fetch_offset) return false;
    out->DivergingEpoch.Epoch = epoch;
    out->DivergingEpoch.EndOffset = end;
    return true;
}

/* Read one partition into out. budget: bytes left in the response; first: nothing has
 * been returned yet (KIP-74: the first batch comes whole). Returns bytes returned. */
static int32_t fetch_partition(broker *b, broker_request *req, const fetch_op *op,
                               sl_str topic, const protocol_FetchRequest_FetchPartition *fp,
                               part_data *out, int32_t budget, bool first, sl_buf *data) {
    int16_t version = req->hdr.api_version;
    broker_partition *p = NULL;
    out->PartitionIndex = fp->Partition;
    out->HighWatermark = -1;
    out->LastStableOffset = -1;
    out->LogStartOffset = -1;
    out->Records = (sl_bytes){ NULL, 0 };
    if (topic.len < 0) {
        out->ErrorCode = version >= 13 ? PROTOCOL_ERR_UNKNOWN_TOPIC_ID
                                       : PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        return 0;
    }
    out->ErrorCode = broker_partition_leader_error(b, topic.ptr, (size_t)topic.len, fp->Partition, &p);
    if (out->ErrorCode) return 0;
    out->ErrorCode = check_leader_epoch(p, fp->CurrentLeaderEpoch);
    if (out->ErrorCode) return 0;
    bool follower = op->replica_id >= 0;
    if (follower && diverging(p, fp->LastFetchedEpoch, fp->FetchOffset, out)) {
        out->HighWatermark = p->high_watermark;
        out->LogStartOffset = storage_log_start_offset(p->log);
        return 0;
    }
    int64_t leo = storage_log_end_offset(p->log);
    int64_t start = storage_log_start_offset(p->log);
    out->HighWatermark = p->high_watermark;
    out->LastStableOffset = p->high_watermark;
    out->LogStartOffset = start;
    if (fp->FetchOffset < start || fp->FetchOffset > leo) {
        out->ErrorCode = PROTOCOL_ERR_OFFSET_OUT_OF_RANGE;
        return 0;
    }
    int64_t max_offset = follower ? leo : p->high_watermark;
    int32_t want = fp->PartitionMaxBytes < budget ? fp->PartitionMaxBytes : budget;
    if (want <= 0 && !first) return 0;
    size_t before = data->len;
    int rc = storage_log_read_copy(p->log, fp->FetchOffset, want < 0 ? 0 : want, max_offset,
                                   first, data);
    if (rc < 0) {
        SL_LOG(SL_ERROR, "fetch", "read_failed", "topic=%s partition=%d offset=%lld err=%s",
               p->topic->name, p->id, (long long)fp->FetchOffset, sl_strerror(rc));
        out->ErrorCode = PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
        return 0;
    }
    /* data may move while growing: record the position; views are set after all reads */
    out->Records.len = (int32_t)(data->len - before);
    out->Records.ptr = (const uint8_t *)(uintptr_t)before;
    return out->Records.len;
}

/* Build (or rebuild) the whole response; returns the bytes of records in it. */
static int64_t fetch_build(broker *b, fetch_op *op, protocol_FetchResponse *resp, sl_buf *data) {
    broker_request *req = op->req;
    const protocol_FetchRequest *fr = op->fr;
    int16_t version = req->hdr.api_version;
    int32_t budget = version >= 3 ? fr->MaxBytes : INT32_MAX;
    int64_t total = 0;
    resp->Responses.count = fr->Topics.count;
    resp->Responses.items = sl_arena_array(&req->arena, (size_t)fr->Topics.count + 1,
                                           sizeof(*resp->Responses.items));
    for (int32_t t = 0; t < fr->Topics.count; t++) {
        const protocol_FetchRequest_FetchTopic *ft = &fr->Topics.items[t];
        protocol_FetchResponse_FetchableTopicResponse *tr = &resp->Responses.items[t];
        protocol_FetchResponse_FetchableTopicResponse_init(tr);
        tr->Topic = ft->Topic;
        memcpy(tr->TopicId.b, ft->TopicId.b, 16);
        sl_str name = topic_name_of(b, ft, version);
        tr->Partitions.count = ft->Partitions.count;
        tr->Partitions.items = sl_arena_array(&req->arena, (size_t)ft->Partitions.count + 1,
                                              sizeof(part_data));
        for (int32_t i = 0; i < ft->Partitions.count; i++) {
            part_data *out = &tr->Partitions.items[i];
            protocol_FetchResponse_PartitionData_init(out);
            int32_t n = fetch_partition(b, req, op, name, &ft->Partitions.items[i], out,
                                        (int32_t)(budget - total), total == 0, data);
            total += n;
        }
    }
    /* resolve record views now that the buffer no longer moves */
    for (int32_t t = 0; t < resp->Responses.count; t++) {
        protocol_FetchResponse_FetchableTopicResponse *tr = &resp->Responses.items[t];
        for (int32_t i = 0; i < tr->Partitions.count; i++) {
            part_data *out = &tr->Partitions.items[i];
            size_t off = (size_t)(uintptr_t)out->Records.ptr;
            out->Records.ptr = out->Records.len > 0 ? data->data + off : NULL;
            out->AbortedTransactions.count = version >= 4 ? 0 : -1;
        }
    }
    return total;
}

static void fetch_complete(broker *b, fetch_op *op) {
    broker_request *req = op->req;
    op->done = true;
    for (int32_t i = 0; i < op->waiter_count; i++) {
        if (op->waiters[i].partition) broker_waiter_remove(op->waiters[i].partition, &op->waiters[i]);
    }
    if (op->timer) {
        event_free(op->timer);
        op->timer = NULL;
    }
    protocol_FetchResponse *resp = broker_response_new(req);
    sl_buf data;
    sl_buf_init(&data);
    int64_t bytes = fetch_build(b, op, resp, &data);
    SL_LOG(SL_DEBUG, "fetch", "fetch_answered", "peer=%s replica=%d parked=%d bytes=%lld",
           req->conn->io.peer, op->replica_id, req->op != NULL, (long long)bytes);
    broker_respond(req, resp);
    sl_buf_deinit(&data);
    if (req->op) broker_request_finish(req);
}

/* Bytes a parked fetch could return now (no copying: positions only). */
static int64_t fetch_available(broker *b, const fetch_op *op) {
    int64_t total = 0;
    int16_t version = op->req->hdr.api_version;
    for (int32_t t = 0; t < op->fr->Topics.count; t++) {
        const protocol_FetchRequest_FetchTopic *ft = &op->fr->Topics.items[t];
        sl_str name = topic_name_of(b, ft, version);
        for (int32_t i = 0; i < ft->Partitions.count && name.len >= 0; i++) {
            const protocol_FetchRequest_FetchPartition *fp = &ft->Partitions.items[i];
            broker_partition *p;
            if (broker_partition_leader_error(b, name.ptr, (size_t)name.len, fp->Partition, &p) ||
                check_leader_epoch(p, fp->CurrentLeaderEpoch)) {
                return INT64_MAX; /* an error to report: answer now */
            }
            int64_t leo = storage_log_end_offset(p->log);
            if (fp->FetchOffset < storage_log_start_offset(p->log) || fp->FetchOffset > leo) {
                return INT64_MAX;
            }
            if (op->replica_id >= 0) {
                part_data probe;
                protocol_FetchResponse_PartitionData_init(&probe);
                if (diverging(p, fp->LastFetchedEpoch, fp->FetchOffset, &probe)) return INT64_MAX;
            }
            int64_t max_offset = op->replica_id >= 0 ? leo : p->high_watermark;
            if (fp->FetchOffset >= max_offset) continue;
            storage_read_result rr;
            if (storage_log_read(p->log, fp->FetchOffset, fp->PartitionMaxBytes, max_offset,
                                 true, &rr) < 0) {
                return INT64_MAX;
            }
            total += rr.length;
        }
    }
    return total;
}

void broker_fetch_wake(broker *b, broker_waiter *w) {
    fetch_op *op = w->op;
    if (op->done) return;
    int32_t min_bytes = op->fr->MinBytes > 0 ? op->fr->MinBytes : 1;
    if (fetch_available(b, op) >= min_bytes) fetch_complete(b, op);
}

static void fetch_timeout_cb(int fd, short what, void *arg) {
    (void)fd;
    (void)what;
    fetch_op *op = arg;
    fetch_complete(op->req->conn->b, op);
}

static void fetch_cancel(broker_request *req) {
    fetch_op *op = req->op;
    for (int32_t i = 0; i < op->waiter_count; i++) {
        if (op->waiters[i].partition) broker_waiter_remove(op->waiters[i].partition, &op->waiters[i]);
    }
    if (op->timer) event_free(op->timer);
    op->timer = NULL;
}

/* Follower fetches report progress before anything else is decided. */
static void record_follower_progress(broker *b, fetch_op *op) {
    int64_t now = sl_now_ms();
    int16_t version = op->req->hdr.api_version;
    for (int32_t t = 0; t < op->fr->Topics.count; t++) {
        const protocol_FetchRequest_FetchTopic *ft = &op->fr->Topics.items[t];
        sl_str name = topic_name_of(b, ft, version);
        for (int32_t i = 0; i < ft->Partitions.count && name.len >= 0; i++) {
            const protocol_FetchRequest_FetchPartition *fp = &ft->Partitions.items[i];
            broker_partition *p;
            if (broker_partition_leader_error(b, name.ptr, (size_t)name.len, fp->Partition, &p)) {
                continue;
            }
            if (check_leader_epoch(p, fp->CurrentLeaderEpoch)) continue;
            part_data probe;
            protocol_FetchResponse_PartitionData_init(&probe);
            if (diverging(p, fp->LastFetchedEpoch, fp->FetchOffset, &probe)) continue;
            broker_replica_follower_fetch(b, p, op->replica_id, fp->FetchOffset, now);
        }
    }
}

static void fetch_park(broker *b, fetch_op *op) {
    broker_request *req = op->req;
    int16_t version = req->hdr.api_version;
    int32_t n = 0;
    for (int32_t t = 0; t < op->fr->Topics.count; t++) n += op->fr->Topics.items[t].Partitions.count;
    op->waiters = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(broker_waiter));
    for (int32_t t = 0; t < op->fr->Topics.count; t++) {
        const protocol_FetchRequest_FetchTopic *ft = &op->fr->Topics.items[t];
        sl_str name = topic_name_of(b, ft, version);
        for (int32_t i = 0; i < ft->Partitions.count && name.len >= 0; i++) {
            broker_partition *p = broker_partition_get(b, name.ptr, (size_t)name.len,
                                                       ft->Partitions.items[i].Partition);
            if (!p) continue;
            broker_waiter *w = &op->waiters[op->waiter_count++];
            w->kind = BROKER_WAIT_FETCH;
            w->op = op;
            broker_waiter_add(p, w);
        }
    }
    op->timer = evtimer_new(b->base, fetch_timeout_cb, op);
    int32_t wait = op->fr->MaxWaitMs;
    struct timeval tv = { wait / 1000, (wait % 1000) * 1000 };
    evtimer_add(op->timer, &tv);
    req->op = op;
    req->cancel = fetch_cancel;
}

broker_handled broker_handle_fetch(broker_request *req) {
    broker *b = req->conn->b;
    protocol_FetchRequest *fr = broker_request_decode(req);
    if (!fr) return BROKER_CLOSE;
    fetch_op *op = sl_arena_alloc(&req->arena, sizeof(*op));
    op->req = req;
    op->fr = fr;
    op->replica_id = fetch_replica_id(fr, req->hdr.api_version);
    if (op->replica_id >= 0) record_follower_progress(b, op);
    int32_t min_bytes = fr->MinBytes > 0 ? fr->MinBytes : 1;
    if (fr->MaxWaitMs <= 0 || fetch_available(b, op) >= min_bytes) {
        fetch_complete(b, op);
        return BROKER_DONE;
    }
    fetch_park(b, op);
    SL_LOG(SL_DEBUG, "fetch", "fetch_parked", "peer=%s replica=%d waiters=%d max_wait=%d",
           req->conn->io.peer, op->replica_id, op->waiter_count, fr->MaxWaitMs);
    return BROKER_PENDING;
}
