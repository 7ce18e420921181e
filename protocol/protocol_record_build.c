/* protocol_record_build.c — building RecordBatch v2 batches: records, then the header,
 * compression and CRC; control batches and transaction markers (formats in protocol.h).
 *
 * Records are encoded into an uncompressed records section as they are added, so a
 * builder's memory is the batch's own size. finish writes the header in front of that
 * section (compressed as one blob when a codec is set), then back-patches batchLength
 * and the CRC-32C, which covers attributes through the last byte. Timestamps follow
 * Kafka's MemoryRecordsBuilder: baseTimestamp is the first record's (or the delete
 * horizon), maxTimestamp the largest (or the log append time), -1 when none. */
#include "protocol/protocol.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"

#include <string.h>

void protocol_batch_options_init(protocol_batch_options *opt) {
    memset(opt, 0, sizeof(*opt));
    opt->codec = PROTOCOL_CODEC_NONE;
    opt->base_offset = 0;
    opt->partition_leader_epoch = -1;
    opt->producer_id = -1;
    opt->producer_epoch = -1;
    opt->base_sequence = -1;
    opt->log_append_time_ms = -1;
    opt->delete_horizon_ms = -1;
}

void protocol_batch_builder_init(protocol_batch_builder *b, const protocol_batch_options *opt) {
    if (opt) {
        b->opt = *opt;
    } else {
        protocol_batch_options_init(&b->opt);
    }
    sl_buf_init(&b->records);
    protocol_batch_builder_reset(b);
}

void protocol_batch_builder_deinit(protocol_batch_builder *b) {
    sl_buf_deinit(&b->records);
}

void protocol_batch_builder_reset(protocol_batch_builder *b) {
    sl_buf_reset(&b->records);
    b->record_count = 0;
    b->offset_delta_last = -1;
    b->base_timestamp = -1;
    b->max_timestamp = -1;
}

size_t protocol_batch_builder_size(const protocol_batch_builder *b) {
    return PROTOCOL_BATCH_HEADER_BYTES + b->records.len;
}

/* One record to append; headers come encoded (raw) or as an array. */
typedef struct record_parts {
    int8_t attributes;
    int64_t timestamp;
    int32_t offset_delta;
    sl_bytes key;
    sl_bytes value;
    int32_t header_count;
    size_t headers_size;                   /* encoded bytes of the headers */
    const uint8_t *headers_raw;            /* encoded headers, or NULL */
    const protocol_record_header *headers; /* when headers_raw is NULL */
} record_parts;

static size_t bytes_field_size(sl_bytes v) {
    return v.len < 0 ? 1 : sl_varint_size(v.len) + (size_t)v.len;
}

static void put_bytes_field(sl_buf *out, sl_bytes v) {
    if (v.len < 0) {
        sl_buf_put_varint(out, -1);
        return;
    }
    sl_buf_put_varint(out, v.len);
    sl_buf_put(out, v.ptr, (size_t)v.len);
}

/* Encoded size of a header array; SL_E_INVALID for a null key or a bad length. */
static int
headers_encoded_size(const protocol_record_header *headers, size_t count, size_t *size_out) {
    if (count > INT32_MAX) return SL_E_TOO_LARGE;
    size_t size = 0;
    for (size_t i = 0; i < count; i++) {
        if (headers[i].key.len < 0 || headers[i].value.len < -1) return SL_E_INVALID;
        size +=
            bytes_field_size((sl_bytes){ (const uint8_t *)headers[i].key.ptr, headers[i].key.len });
        size += bytes_field_size(headers[i].value);
        if (size > PROTOCOL_BATCH_RECORDS_BYTES_MAX) return SL_E_TOO_LARGE;
    }
    *size_out = size;
    return SL_OK;
}

static void put_headers(sl_buf *out, const record_parts *p) {
    if (p->headers_raw) {
        sl_buf_put(out, p->headers_raw, p->headers_size);
        return;
    }
    for (int32_t i = 0; i < p->header_count; i++) {
        const protocol_record_header *h = &p->headers[i];
        put_bytes_field(out, (sl_bytes){ (const uint8_t *)h->key.ptr, h->key.len });
        put_bytes_field(out, h->value);
    }
}

static int builder_append(protocol_batch_builder *b, const record_parts *p) {
    if (p->key.len < -1 || p->value.len < -1) return SL_E_INVALID;
    if (b->record_count == INT32_MAX) return SL_E_TOO_LARGE;
    int64_t base = b->base_timestamp;
    if (b->record_count == 0) {
        base = b->opt.delete_horizon_ms >= 0 ? b->opt.delete_horizon_ms : p->timestamp;
    }
    /* wraps like the reader's base + delta, so any timestamp survives the round trip */
    int64_t ts_delta = (int64_t)((uint64_t)p->timestamp - (uint64_t)base);
    size_t body = 1 + sl_varlong_size(ts_delta) + sl_varint_size(p->offset_delta) +
                  bytes_field_size(p->key) + bytes_field_size(p->value) +
                  sl_varint_size(p->header_count) + p->headers_size;
    if (body > PROTOCOL_BATCH_RECORDS_BYTES_MAX) return SL_E_TOO_LARGE;
    size_t total = sl_varint_size((int32_t)body) + body;
    if (total > PROTOCOL_BATCH_RECORDS_BYTES_MAX - b->records.len) return SL_E_TOO_LARGE;

    sl_buf *out = &b->records;
    size_t start = out->len;
    sl_buf_put_varint(out, (int32_t)body);
    sl_buf_put_i8(out, p->attributes);
    sl_buf_put_varlong(out, ts_delta);
    sl_buf_put_varint(out, p->offset_delta);
    put_bytes_field(out, p->key);
    put_bytes_field(out, p->value);
    sl_buf_put_varint(out, p->header_count);
    put_headers(out, p);
    SL_ASSERT(out->len - start == total);

    b->base_timestamp = base;
    if (p->timestamp > b->max_timestamp) b->max_timestamp = p->timestamp;
    b->offset_delta_last = p->offset_delta;
    b->record_count++;
    return SL_OK;
}

int protocol_batch_builder_add(protocol_batch_builder *b,
                               int64_t timestamp,
                               sl_bytes key,
                               sl_bytes value,
                               const protocol_record_header *headers,
                               size_t header_count) {
    if (b->offset_delta_last == INT32_MAX) return SL_E_TOO_LARGE;
    record_parts p = {
        .attributes = 0,
        .timestamp = timestamp,
        .offset_delta = b->offset_delta_last + 1,
        .key = key,
        .value = value,
        .headers = headers,
    };
    SL_TRY(headers_encoded_size(headers, header_count, &p.headers_size));
    p.header_count = (int32_t)header_count;
    return builder_append(b, &p);
}

int protocol_batch_builder_add_record(protocol_batch_builder *b, const protocol_record *rec) {
    int64_t delta = (int64_t)((uint64_t)rec->offset - (uint64_t)b->opt.base_offset);
    if (delta < 0 || delta > INT32_MAX) return SL_E_INVALID;
    if (delta <= b->offset_delta_last) return SL_E_INVALID;
    if (rec->header_count < 0 || rec->headers.len < 0) return SL_E_INVALID;
    record_parts p = {
        .attributes = rec->attributes,
        .timestamp = rec->timestamp,
        .offset_delta = (int32_t)delta,
        .key = rec->key,
        .value = rec->value,
        .header_count = rec->header_count,
        .headers_size = (size_t)rec->headers.len,
        .headers_raw = rec->headers.len > 0 ? rec->headers.ptr : (const uint8_t *)"",
    };
    return builder_append(b, &p);
}

static int16_t builder_attributes(const protocol_batch_options *opt) {
    int attributes = opt->codec & PROTOCOL_ATTR_CODEC_MASK;
    if (opt->log_append_time) attributes |= PROTOCOL_ATTR_LOG_APPEND_TIME;
    if (opt->transactional) attributes |= PROTOCOL_ATTR_TRANSACTIONAL;
    if (opt->control) attributes |= PROTOCOL_ATTR_CONTROL;
    if (opt->delete_horizon_ms >= 0) attributes |= PROTOCOL_ATTR_DELETE_HORIZON;
    return (int16_t)attributes;
}

/* The 61-byte header with batchLength and CRC left 0 for finish to patch. */
static void builder_put_header(const protocol_batch_builder *b, sl_buf *out) {
    const protocol_batch_options *opt = &b->opt;
    int64_t base_ts = b->record_count ? b->base_timestamp : opt->delete_horizon_ms;
    if (b->record_count == 0 && opt->delete_horizon_ms < 0) base_ts = -1;
    int64_t max_ts = opt->log_append_time ? opt->log_append_time_ms : b->max_timestamp;
    sl_buf_put_i64(out, opt->base_offset);
    sl_buf_put_i32(out, 0); /* batchLength */
    sl_buf_put_i32(out, opt->partition_leader_epoch);
    sl_buf_put_i8(out, PROTOCOL_BATCH_MAGIC);
    sl_buf_put_u32(out, 0); /* crc */
    sl_buf_put_i16(out, builder_attributes(opt));
    sl_buf_put_i32(out, b->record_count ? b->offset_delta_last : 0);
    sl_buf_put_i64(out, base_ts);
    sl_buf_put_i64(out, max_ts);
    sl_buf_put_i64(out, opt->producer_id);
    sl_buf_put_i16(out, opt->producer_epoch);
    sl_buf_put_i32(out, opt->base_sequence);
    sl_buf_put_i32(out, b->record_count);
}

int protocol_batch_builder_finish(protocol_batch_builder *b, sl_buf *out) {
    int codec = b->opt.codec;
    if (codec < PROTOCOL_CODEC_NONE || codec > PROTOCOL_CODEC_ZSTD) return SL_E_UNSUPPORTED;
    size_t start = out->len;
    builder_put_header(b, out);
    SL_ASSERT(out->len - start == PROTOCOL_BATCH_HEADER_BYTES);
    int rc = protocol_compress(codec, b->records.data, b->records.len, out);
    size_t size = out->len - start;
    if (rc == SL_OK && size - PROTOCOL_BATCH_LOG_OVERHEAD > INT32_MAX) rc = SL_E_TOO_LARGE;
    if (rc != SL_OK) {
        sl_buf_truncate(out, start);
        return rc;
    }
    uint8_t *batch = out->data + start;
    sl_store_be32(batch + PROTOCOL_BATCH_OFF_LENGTH,
                  (uint32_t)(size - PROTOCOL_BATCH_LOG_OVERHEAD));
    sl_store_be32(batch + PROTOCOL_BATCH_OFF_CRC, protocol_batch_crc(batch, size));
    return SL_OK;
}

int protocol_batch_build_control(sl_buf *out,
                                 const protocol_batch_options *opt,
                                 int16_t control_type,
                                 sl_bytes value,
                                 int64_t timestamp_ms) {
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, opt);
    b.opt.control = true;
    uint8_t key[PROTOCOL_CONTROL_KEY_BYTES];
    sl_store_be16(key, 0); /* control record key version */
    sl_store_be16(key + 2, (uint16_t)control_type);
    int rc = protocol_batch_builder_add(&b, timestamp_ms, (sl_bytes){ key, sizeof(key) }, value,
                                        NULL, 0);
    if (rc == SL_OK) rc = protocol_batch_builder_finish(&b, out);
    protocol_batch_builder_deinit(&b);
    return rc;
}

int protocol_batch_build_txn_marker(sl_buf *out,
                                    const protocol_batch_options *opt,
                                    bool commit,
                                    int32_t coordinator_epoch,
                                    int64_t timestamp_ms) {
    protocol_batch_options o;
    if (opt) {
        o = *opt;
    } else {
        protocol_batch_options_init(&o);
    }
    /* as Kafka's MemoryRecords.withEndTransactionMarker writes it */
    o.codec = PROTOCOL_CODEC_NONE;
    o.transactional = true;
    o.base_sequence = -1;
    uint8_t value[PROTOCOL_TXN_MARKER_VALUE_BYTES];
    sl_store_be16(value, 0); /* marker value version */
    sl_store_be32(value + 2, (uint32_t)coordinator_epoch);
    return protocol_batch_build_control(out, &o,
                                        commit ? PROTOCOL_CONTROL_COMMIT : PROTOCOL_CONTROL_ABORT,
                                        (sl_bytes){ value, sizeof(value) }, timestamp_ms);
}
