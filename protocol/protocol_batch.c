/* protocol_batch.c — RecordBatch v2 header parsing and CRC checks (format in protocol.h). */
#include "protocol/protocol.h"
#include "common/sl_crc32c.h"
#include "common/sl_err.h"

_Static_assert(PROTOCOL_BATCH_HEADER_BYTES == 61, "RecordBatch v2 header is 61 bytes");

/* batchLength counts everything after itself: 61 - 12 = 49 bytes of header at least. */
#define BATCH_LENGTH_MIN (PROTOCOL_BATCH_HEADER_BYTES - PROTOCOL_BATCH_LOG_OVERHEAD)

int protocol_batch_size(const uint8_t *p, size_t avail, size_t max_size, size_t *size_out) {
    if (avail < PROTOCOL_BATCH_LOG_OVERHEAD) return SL_AGAIN;
    int32_t batch_length = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_LENGTH);
    if (batch_length < BATCH_LENGTH_MIN) return SL_E_CORRUPT;
    size_t size = (size_t)batch_length + PROTOCOL_BATCH_LOG_OVERHEAD;
    if (size > max_size) return SL_E_CORRUPT;
    *size_out = size;
    return SL_OK;
}

void protocol_batch_header_fields(const uint8_t *p, protocol_batch_header *out) {
    out->base_offset = (int64_t)sl_load_be64(p + PROTOCOL_BATCH_OFF_BASE_OFFSET);
    out->batch_length = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_LENGTH);
    out->partition_leader_epoch = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_EPOCH);
    out->magic = (int8_t)p[PROTOCOL_BATCH_OFF_MAGIC];
    out->crc = sl_load_be32(p + PROTOCOL_BATCH_OFF_CRC);
    out->attributes = (int16_t)sl_load_be16(p + PROTOCOL_BATCH_OFF_ATTRIBUTES);
    out->last_offset_delta = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_LAST_DELTA);
    out->base_timestamp = (int64_t)sl_load_be64(p + PROTOCOL_BATCH_OFF_BASE_TS);
    out->max_timestamp = (int64_t)sl_load_be64(p + PROTOCOL_BATCH_OFF_MAX_TS);
    out->producer_id = (int64_t)sl_load_be64(p + PROTOCOL_BATCH_OFF_PRODUCER_ID);
    out->producer_epoch = (int16_t)sl_load_be16(p + PROTOCOL_BATCH_OFF_PRODUCER_EPOCH);
    out->base_sequence = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_BASE_SEQ);
    out->record_count = (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_COUNT);
}

int protocol_batch_header_parse(const uint8_t *p, size_t len, protocol_batch_header *out) {
    if (len < PROTOCOL_BATCH_HEADER_BYTES) return SL_E_SHORT;
    protocol_batch_header h;
    protocol_batch_header_fields(p, &h);
    if (h.magic != PROTOCOL_BATCH_MAGIC) return SL_E_CORRUPT;
    if (h.batch_length < BATCH_LENGTH_MIN) return SL_E_CORRUPT;
    if ((size_t)h.batch_length + PROTOCOL_BATCH_LOG_OVERHEAD > len) return SL_E_SHORT;
    if (h.record_count < 0 || h.last_offset_delta < 0) return SL_E_CORRUPT;
    /* every record takes at least 7 bytes (length, attributes, 3 deltas, key, value,
     * header count as 1-byte varints) unless the records are compressed */
    int codec = h.attributes & PROTOCOL_ATTR_CODEC_MASK;
    size_t records_bytes = (size_t)h.batch_length - BATCH_LENGTH_MIN;
    if (codec > PROTOCOL_CODEC_ZSTD) return SL_E_CORRUPT;
    if (codec == PROTOCOL_CODEC_NONE && (size_t)h.record_count > records_bytes / 7) {
        return SL_E_CORRUPT;
    }
    /* Offsets may have gaps after compaction, so lastOffsetDelta ≥ count - 1, not equal. */
    if (h.record_count > 0 && h.last_offset_delta < h.record_count - 1) return SL_E_CORRUPT;
    *out = h;
    return SL_OK;
}

uint32_t protocol_batch_crc(const uint8_t *batch, size_t size) {
    return sl_crc32c(batch + PROTOCOL_BATCH_OFF_ATTRIBUTES, size - PROTOCOL_BATCH_OFF_ATTRIBUTES);
}

int protocol_batch_check(const uint8_t *p, size_t len, protocol_batch_header *out) {
    protocol_batch_header h;
    int rc = protocol_batch_header_parse(p, len, &h);
    if (rc != SL_OK) return rc;
    size_t size = (size_t)h.batch_length + PROTOCOL_BATCH_LOG_OVERHEAD;
    if (protocol_batch_crc(p, size) != h.crc) return SL_E_CORRUPT;
    *out = h;
    return SL_OK;
}

void protocol_batch_set_base_offset(uint8_t *batch, int64_t base_offset) {
    sl_store_be64(batch + PROTOCOL_BATCH_OFF_BASE_OFFSET, (uint64_t)base_offset);
}

void protocol_batch_set_leader_epoch(uint8_t *batch, int32_t epoch) {
    sl_store_be32(batch + PROTOCOL_BATCH_OFF_EPOCH, (uint32_t)epoch);
}
