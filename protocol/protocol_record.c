/* protocol_record.c — iterating the records of a RecordBatch v2, their headers, and
 * control records (formats in protocol.h).
 *
 * The batch is trusted only as far as protocol_batch_header_parse checked it: every
 * record is read through a sub-reader of exactly its declared length, every length is
 * checked against what remains, and any shortfall inside the (complete) records section
 * is SL_E_CORRUPT, never SL_E_SHORT. Per-record work stays out of the produce path: the
 * broker checks the header and CRC only; the iterator serves consumers of records
 * (tools, the group coordinator, compaction). */
#include "protocol/protocol.h"
#include "common/sl_err.h"

#include <string.h>

/* A header takes at least 2 bytes: a key length and a value length. */
#define HEADER_BYTES_MIN 2

/* sl_reader_init(r, NULL, 0) computes NULL + 0, which UBSan (clang) reports: readers
 * over nothing point here instead. */
static const uint8_t empty_bytes[1];

static void reader_init(sl_reader *r, const uint8_t *p, size_t len) {
    if (!p) {
        p = empty_bytes;
        len = 0;
    }
    sl_reader_init(r, p, len);
}

/* A Kafka varint-length field: -1 is null where allowed; anything else below 0, or a
 * length past the end of r, fails r. */
static sl_bytes read_bytes_field(sl_reader *r, bool nullable) {
    int32_t len = sl_reader_varint(r);
    if (sl_reader_err(r)) return SL_BYTES_NULL;
    if (len < 0) {
        if (len != -1 || !nullable) sl_reader_fail(r, SL_E_CORRUPT);
        return SL_BYTES_NULL;
    }
    const uint8_t *p = sl_reader_bytes(r, (size_t)len);
    if (!p) return SL_BYTES_NULL;
    return (sl_bytes){ p, len };
}

/* Skip count encoded headers, checking each. */
static int headers_check(sl_reader *r, int32_t count) {
    for (int32_t i = 0; i < count; i++) {
        read_bytes_field(r, false);
        read_bytes_field(r, true);
        if (sl_reader_err(r)) return SL_E_CORRUPT;
    }
    return SL_OK;
}

/* Decode the fields of one record from rec, a reader over exactly its body. */
static int record_body_parse(sl_reader *rec, protocol_record *out) {
    out->attributes = sl_reader_i8(rec);
    out->timestamp_delta = sl_reader_varlong(rec);
    out->offset_delta = sl_reader_varint(rec);
    out->key = read_bytes_field(rec, true);
    out->value = read_bytes_field(rec, true);
    out->header_count = sl_reader_varint(rec);
    if (sl_reader_err(rec)) return SL_E_CORRUPT;
    if (out->header_count < 0) return SL_E_CORRUPT;
    if ((size_t)out->header_count > sl_reader_remaining(rec) / HEADER_BYTES_MIN) {
        return SL_E_CORRUPT;
    }
    const uint8_t *headers = rec->p;
    if (headers_check(rec, out->header_count) != SL_OK) return SL_E_CORRUPT;
    /* Kafka: "Invalid record size: expected to read N bytes in record payload" */
    if (sl_reader_remaining(rec) != 0) return SL_E_CORRUPT;
    out->headers = (sl_bytes){ headers, (int32_t)(rec->p - headers) };
    return SL_OK;
}

static int record_parse(protocol_record_iter *it, protocol_record *out) {
    int32_t length = sl_reader_varint(&it->r);
    if (sl_reader_err(&it->r) || length < 0) return SL_E_CORRUPT;
    /* checked here so sl_reader_sub never fails (its failure path inits from NULL) */
    if ((size_t)length > sl_reader_remaining(&it->r)) return SL_E_CORRUPT;
    sl_reader rec;
    sl_reader_sub(&it->r, (size_t)length, &rec);
    SL_TRY(record_body_parse(&rec, out));
    /* Offsets only grow inside a batch; compaction may leave gaps, and the last record
     * may lie below lastOffsetDelta, but never above it. */
    if (out->offset_delta <= it->offset_delta_last) return SL_E_CORRUPT;
    if (out->offset_delta > it->h.last_offset_delta) return SL_E_CORRUPT;
    /* Sums wrap instead of overflowing: the values come from outside. */
    out->offset = (int64_t)((uint64_t)it->h.base_offset + (uint64_t)out->offset_delta);
    if (it->h.attributes & PROTOCOL_ATTR_LOG_APPEND_TIME) {
        out->timestamp = it->h.max_timestamp;
    } else {
        out->timestamp = (int64_t)((uint64_t)it->h.base_timestamp + (uint64_t)out->timestamp_delta);
    }
    return SL_OK;
}

int protocol_record_iter_init(protocol_record_iter *it,
                              const uint8_t *batch,
                              size_t batch_size,
                              sl_buf *scratch,
                              size_t max_decompressed_bytes) {
    memset(it, 0, sizeof(*it));
    it->offset_delta_last = -1;
    reader_init(&it->r, NULL, 0);
    int rc = protocol_batch_header_parse(batch, batch_size, &it->h);
    if (rc != SL_OK) {
        it->err = rc;
        return rc;
    }
    const uint8_t *section = batch + PROTOCOL_BATCH_HEADER_BYTES;
    size_t section_size =
        (size_t)it->h.batch_length + PROTOCOL_BATCH_LOG_OVERHEAD - PROTOCOL_BATCH_HEADER_BYTES;
    int codec = protocol_batch_codec(&it->h);
    if (codec != PROTOCOL_CODEC_NONE) {
        if (!scratch) rc = SL_E_INVALID;
        if (rc == SL_OK) {
            sl_buf_reset(scratch);
            rc = protocol_decompress(codec, section, section_size, max_decompressed_bytes, scratch);
        }
        if (rc != SL_OK) {
            it->err = rc;
            return rc;
        }
        section = scratch->data;
        section_size = scratch->len;
    }
    if ((size_t)it->h.record_count > section_size / PROTOCOL_RECORD_BYTES_MIN) {
        it->err = SL_E_CORRUPT;
        return SL_E_CORRUPT;
    }
    reader_init(&it->r, section, section_size);
    return SL_OK;
}

int protocol_record_iter_next(protocol_record_iter *it, protocol_record *out) {
    if (it->err) return it->err;
    if (it->record_index == it->h.record_count) {
        /* recordsCount records read: the section must be used up exactly */
        if (sl_reader_remaining(&it->r) != 0) it->err = SL_E_CORRUPT;
        return it->err;
    }
    int rc = record_parse(it, out);
    if (rc != SL_OK) {
        it->err = rc;
        return rc;
    }
    it->record_index++;
    it->offset_delta_last = out->offset_delta;
    return 1;
}

static int validate_records_iter(protocol_record_iter *it) {
    bool control = protocol_batch_is_control(&it->h);
    protocol_record rec;
    /* one pass more than recordsCount, for the end-of-section check */
    for (int64_t i = 0; i <= (int64_t)it->h.record_count; i++) {
        int rc = protocol_record_iter_next(it, &rec);
        if (rc <= 0) return rc;
        int16_t type;
        if (control) SL_TRY(protocol_control_record_type(&rec, &type));
    }
    return SL_E_INTERNAL; /* unreachable: the iterator ends after recordsCount records */
}

int protocol_batch_validate_records(const uint8_t *batch,
                                    size_t batch_size,
                                    sl_buf *scratch,
                                    size_t max_decompressed_bytes) {
    sl_buf local;
    sl_buf_init(&local);
    protocol_record_iter it;
    int rc = protocol_record_iter_init(&it, batch, batch_size, scratch ? scratch : &local,
                                       max_decompressed_bytes);
    if (rc == SL_OK) rc = validate_records_iter(&it);
    sl_buf_deinit(&local);
    return rc;
}

void protocol_header_iter_init(protocol_header_iter *it, const protocol_record *rec) {
    reader_init(&it->r, rec->headers.ptr, rec->headers.len > 0 ? (size_t)rec->headers.len : 0);
    it->remaining = rec->header_count;
}

int protocol_header_iter_next(protocol_header_iter *it, protocol_record_header *out) {
    if (sl_reader_err(&it->r)) return SL_E_CORRUPT;
    if (it->remaining <= 0) return 0;
    sl_bytes key = read_bytes_field(&it->r, false);
    sl_bytes value = read_bytes_field(&it->r, true);
    if (sl_reader_err(&it->r)) return SL_E_CORRUPT;
    it->remaining--;
    out->key = (sl_str){ (const char *)key.ptr, key.len };
    out->value = value;
    return 1;
}

int protocol_control_record_type(const protocol_record *rec, int16_t *type_out) {
    if (rec->key.len < PROTOCOL_CONTROL_KEY_BYTES) return SL_E_CORRUPT;
    int16_t version = (int16_t)sl_load_be16(rec->key.ptr);
    /* Kafka's ControlRecordType: a negative version "may indicate data corruption";
     * a newer version is read as version 0. */
    if (version < 0) return SL_E_CORRUPT;
    *type_out = (int16_t)sl_load_be16(rec->key.ptr + 2);
    return SL_OK;
}

int protocol_txn_marker_parse(const protocol_record *rec,
                              bool *commit_out,
                              int32_t *coordinator_epoch_out) {
    int16_t type;
    SL_TRY(protocol_control_record_type(rec, &type));
    if (type != PROTOCOL_CONTROL_ABORT && type != PROTOCOL_CONTROL_COMMIT) return SL_E_INVALID;
    if (rec->value.len < PROTOCOL_TXN_MARKER_VALUE_BYTES) return SL_E_CORRUPT;
    int16_t version = (int16_t)sl_load_be16(rec->value.ptr);
    if (version < 0) return SL_E_CORRUPT;
    *commit_out = type == PROTOCOL_CONTROL_COMMIT;
    *coordinator_epoch_out = (int32_t)sl_load_be32(rec->value.ptr + 2);
    return SL_OK;
}
