/* broker_offsets.c — ListOffsets, OffsetForLeaderEpoch and DeleteRecords, served by
 * partition leaders. */
#include "broker/broker_int.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <string.h>

#define TS_LATEST        (-1)
#define TS_EARLIEST      (-2)
#define TS_MAX_TIMESTAMP (-3) /* KIP-734, v7+ */

static int16_t leader_epoch_check(const broker_partition *p, int32_t current) {
    if (current < 0) return PROTOCOL_ERR_NONE;
    if (current < p->leader_epoch) return PROTOCOL_ERR_FENCED_LEADER_EPOCH;
    if (current > p->leader_epoch) return PROTOCOL_ERR_UNKNOWN_LEADER_EPOCH;
    return PROTOCOL_ERR_NONE;
}

/* The leader epoch of the batch holding offset (largest cached epoch starting at or
 * before it). */
static int32_t epoch_at(const broker_partition *p, int64_t offset) {
    int32_t epochs[64];
    int64_t starts[64];
    int32_t n = storage_log_epoch_entries(p->log, epochs, starts, 64);
    if (n > 64) n = 64;
    int32_t epoch = -1;
    for (int32_t i = 0; i < n; i++) {
        if (starts[i] <= offset) epoch = epochs[i];
    }
    return epoch;
}

/* Within data (whole batches from storage), the first record with timestamp >= ts. */
static int records_find_time(const uint8_t *data, size_t len, int64_t ts, sl_buf *scratch,
                             size_t max_decompressed, int64_t *offset_out, int64_t *ts_out) {
    size_t off = 0;
    while (off < len) {
        size_t size;
        if (protocol_batch_size(data + off, len - off, len - off, &size) != SL_OK) break;
        protocol_record_iter it;
        sl_buf_reset(scratch);
        int rc = protocol_record_iter_init(&it, data + off, size, scratch, max_decompressed);
        if (rc < 0) return rc;
        protocol_record rec;
        while ((rc = protocol_record_iter_next(&it, &rec)) == 1) {
            if (rec.timestamp >= ts && !protocol_batch_is_control(&it.h)) {
                *offset_out = rec.offset;
                *ts_out = rec.timestamp;
                return SL_OK;
            }
        }
        if (rc < 0) return rc;
        off += size;
    }
    return SL_E_NOT_FOUND;
}

/* The first offset whose record timestamp is >= ts, below limit. */
static int lookup_time(broker_partition *p, int64_t ts, int64_t limit, int64_t *offset_out,
                       int64_t *ts_out) {
    int64_t batch_offset, batch_ts;
    if (storage_log_offset_for_time(p->log, ts, &batch_offset, &batch_ts) != SL_OK) {
        return SL_E_NOT_FOUND;
    }
    if (batch_offset >= limit) return SL_E_NOT_FOUND;
    sl_buf data, scratch;
    sl_buf_init(&data);
    sl_buf_init(&scratch);
    /* the batch the time index found, and the next ones while no record qualifies */
    int rc = storage_log_read_copy(p->log, batch_offset, 1 << 20, limit, true, &data);
    if (rc == SL_OK) {
        rc = records_find_time(data.data, data.len, ts, &scratch,
                               (size_t)p->lcfg.max_message_bytes * 64, offset_out, ts_out);
    }
    sl_buf_deinit(&scratch);
    sl_buf_deinit(&data);
    if (rc < 0) {
        *offset_out = batch_offset; /* fall back to batch precision */
        *ts_out = batch_ts;
    }
    return *offset_out < limit ? SL_OK : SL_E_NOT_FOUND;
}

static void list_partition(broker *b, broker_request *req, const protocol_ListOffsetsRequest *lr,
                           sl_str topic, const protocol_ListOffsetsRequest_ListOffsetsPartition *lp,
                           protocol_ListOffsetsResponse_ListOffsetsPartitionResponse *out) {
    int16_t version = req->hdr.api_version;
    broker_partition *p;
    out->PartitionIndex = lp->PartitionIndex;
    out->ErrorCode = broker_partition_leader_error(b, topic.ptr, (size_t)topic.len,
                                                   lp->PartitionIndex, &p);
    if (!out->ErrorCode) out->ErrorCode = leader_epoch_check(p, lp->CurrentLeaderEpoch);
    if (out->ErrorCode) return;
    int64_t limit = lr->ReplicaId == -1 ? p->high_watermark : storage_log_end_offset(p->log);
    int64_t offset = -1, ts = -1;
    int32_t epoch = -1;
    if (lp->Timestamp == TS_LATEST) {
        offset = limit;
        epoch = p->leader_epoch;
    } else if (lp->Timestamp == TS_EARLIEST || lp->Timestamp == -4 /* earliest local */) {
        offset = storage_log_start_offset(p->log);
        epoch = epoch_at(p, offset);
    } else if (lp->Timestamp == TS_MAX_TIMESTAMP) {
        if (storage_log_max_timestamp(p->log, &offset, &ts) != SL_OK || offset >= limit) {
            offset = ts = -1;
        } else {
            epoch = epoch_at(p, offset);
        }
    } else if (lp->Timestamp >= 0) {
        if (lookup_time(p, lp->Timestamp, limit, &offset, &ts) == SL_OK) {
            epoch = epoch_at(p, offset);
        } else {
            offset = ts = -1;
        }
    } else {
        out->ErrorCode = PROTOCOL_ERR_INVALID_REQUEST;
        return;
    }
    if (version == 0) {
        int64_t *offsets = sl_arena_alloc(&req->arena, sizeof(int64_t));
        offsets[0] = offset;
        out->OldStyleOffsets.items = offsets;
        out->OldStyleOffsets.count = offset >= 0 && lp->MaxNumOffsets > 0 ? 1 : 0;
    }
    out->Offset = offset;
    out->Timestamp = ts;
    out->LeaderEpoch = epoch;
}

broker_handled broker_handle_list_offsets(broker_request *req) {
    broker *b = req->conn->b;
    protocol_ListOffsetsRequest *lr = broker_request_decode(req);
    if (!lr) return BROKER_CLOSE;
    protocol_ListOffsetsResponse *resp = broker_response_new(req);
    resp->Topics.count = lr->Topics.count;
    resp->Topics.items = sl_arena_array(&req->arena, (size_t)lr->Topics.count + 1,
                                        sizeof(*resp->Topics.items));
    for (int32_t t = 0; t < lr->Topics.count; t++) {
        const protocol_ListOffsetsRequest_ListOffsetsTopic *lt = &lr->Topics.items[t];
        protocol_ListOffsetsResponse_ListOffsetsTopicResponse *tr = &resp->Topics.items[t];
        tr->Name = lt->Name;
        tr->Partitions.count = lt->Partitions.count;
        tr->Partitions.items = sl_arena_array(&req->arena, (size_t)lt->Partitions.count + 1,
                                              sizeof(*tr->Partitions.items));
        for (int32_t i = 0; i < lt->Partitions.count; i++) {
            protocol_ListOffsetsResponse_ListOffsetsPartitionResponse *out = &tr->Partitions.items[i];
            protocol_ListOffsetsResponse_ListOffsetsPartitionResponse_init(out);
            list_partition(b, req, lr, lt->Name, &lt->Partitions.items[i], out);
        }
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}

broker_handled broker_handle_offset_for_leader_epoch(broker_request *req) {
    broker *b = req->conn->b;
    protocol_OffsetForLeaderEpochRequest *er = broker_request_decode(req);
    if (!er) return BROKER_CLOSE;
    protocol_OffsetForLeaderEpochResponse *resp = broker_response_new(req);
    resp->Topics.count = er->Topics.count;
    resp->Topics.items = sl_arena_array(&req->arena, (size_t)er->Topics.count + 1,
                                        sizeof(*resp->Topics.items));
    for (int32_t t = 0; t < er->Topics.count; t++) {
        const protocol_OffsetForLeaderEpochRequest_OffsetForLeaderTopic *et = &er->Topics.items[t];
        protocol_OffsetForLeaderEpochResponse_OffsetForLeaderTopicResult *tr = &resp->Topics.items[t];
        tr->Topic = et->Topic;
        tr->Partitions.count = et->Partitions.count;
        tr->Partitions.items = sl_arena_array(&req->arena, (size_t)et->Partitions.count + 1,
                                              sizeof(*tr->Partitions.items));
        for (int32_t i = 0; i < et->Partitions.count; i++) {
            const protocol_OffsetForLeaderEpochRequest_OffsetForLeaderPartition *ep =
                &et->Partitions.items[i];
            protocol_OffsetForLeaderEpochResponse_EpochEndOffset *out = &tr->Partitions.items[i];
            protocol_OffsetForLeaderEpochResponse_EpochEndOffset_init(out);
            out->Partition = ep->Partition;
            broker_partition *p;
            out->ErrorCode = broker_partition_leader_error(b, et->Topic.ptr, (size_t)et->Topic.len,
                                                           ep->Partition, &p);
            if (!out->ErrorCode) out->ErrorCode = leader_epoch_check(p, ep->CurrentLeaderEpoch);
            if (out->ErrorCode) continue;
            storage_log_epoch_end_offset(p->log, ep->LeaderEpoch, &out->LeaderEpoch,
                                         &out->EndOffset);
        }
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}

broker_handled broker_handle_delete_records(broker_request *req) {
    broker *b = req->conn->b;
    protocol_DeleteRecordsRequest *dr = broker_request_decode(req);
    if (!dr) return BROKER_CLOSE;
    protocol_DeleteRecordsResponse *resp = broker_response_new(req);
    resp->Topics.count = dr->Topics.count;
    resp->Topics.items = sl_arena_array(&req->arena, (size_t)dr->Topics.count + 1,
                                        sizeof(*resp->Topics.items));
    for (int32_t t = 0; t < dr->Topics.count; t++) {
        const protocol_DeleteRecordsRequest_DeleteRecordsTopic *dt = &dr->Topics.items[t];
        protocol_DeleteRecordsResponse_DeleteRecordsTopicResult *tr = &resp->Topics.items[t];
        tr->Name = dt->Name;
        tr->Partitions.count = dt->Partitions.count;
        tr->Partitions.items = sl_arena_array(&req->arena, (size_t)dt->Partitions.count + 1,
                                              sizeof(*tr->Partitions.items));
        for (int32_t i = 0; i < dt->Partitions.count; i++) {
            const protocol_DeleteRecordsRequest_DeleteRecordsPartition *dp = &dt->Partitions.items[i];
            protocol_DeleteRecordsResponse_DeleteRecordsPartitionResult *out = &tr->Partitions.items[i];
            out->PartitionIndex = dp->PartitionIndex;
            out->LowWatermark = -1;
            broker_partition *p;
            out->ErrorCode = broker_partition_leader_error(b, dt->Name.ptr, (size_t)dt->Name.len,
                                                           dp->PartitionIndex, &p);
            if (out->ErrorCode) continue;
            int64_t target = dp->Offset == -1 ? p->high_watermark : dp->Offset;
            if (target < 0 || target > p->high_watermark) {
                out->ErrorCode = PROTOCOL_ERR_OFFSET_OUT_OF_RANGE;
                continue;
            }
            int rc = storage_log_advance_start_offset(p->log, target);
            if (rc < 0) {
                out->ErrorCode = PROTOCOL_ERR_KAFKA_STORAGE_ERROR;
                continue;
            }
            SL_LOG(SL_INFO, "replica", "log_start_advanced", "topic=%s partition=%d offset=%lld",
                   p->topic->name, p->id, (long long)target);
            out->LowWatermark = storage_log_start_offset(p->log);
        }
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}
