/* protocol.h — the Kafka wire protocol: message codecs, record batches, compression,
 * error codes, and the framing of sluice's internal protobuf RPCs.
 *
 * RecordBatch v2 (magic 2), the on-disk and wire format, byte offsets from the start:
 *
 *   off size field                 notes
 *     0  8  baseOffset int64         producers send 0; the leader writes the first offset
 *     8  4  batchLength int32        bytes after this field (total size - 12)
 *    12  4  partitionLeaderEpoch     the leader overwrites it with its epoch
 *    16  1  magic int8               = 2
 *    17  4  crc uint32               CRC-32C over bytes 21..end
 *    21  2  attributes int16         bits 0-2 codec, 3 timestamp type, 4 transactional,
 *                                    5 control, 6 delete horizon
 *    23  4  lastOffsetDelta int32
 *    27  8  baseTimestamp int64
 *    35  8  maxTimestamp int64
 *    43  8  producerId int64
 *    51  2  producerEpoch int16
 *    53  4  baseSequence int32
 *    57  4  recordsCount int32
 *    61  …  records (compressed as one blob when the codec is not 0)
 *
 * baseOffset and partitionLeaderEpoch lie before the CRC range, so a leader assigns
 * offsets and stamps its epoch without recomputing the CRC. */
#ifndef PROTOCOL_H
#define PROTOCOL_H

#include "common/sl_buf.h"
#include "common/sl_reader.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ================= section: message codecs (owner: codec generator) =================
 * The generated codecs live in $(B)/gen/protocol/protocol_gen.h, included here. */

/* ================= end section: message codecs ================= */

/* ================= section: record batches, records, compression, RPC framing =========== */

#define PROTOCOL_BATCH_HEADER_BYTES   61 /* RECORD_BATCH_OVERHEAD */
#define PROTOCOL_BATCH_LOG_OVERHEAD   12 /* baseOffset + batchLength */
#define PROTOCOL_BATCH_MAGIC          2
#define PROTOCOL_BATCH_OFF_BASE_OFFSET 0
#define PROTOCOL_BATCH_OFF_LENGTH     8
#define PROTOCOL_BATCH_OFF_EPOCH      12
#define PROTOCOL_BATCH_OFF_MAGIC      16
#define PROTOCOL_BATCH_OFF_CRC        17
#define PROTOCOL_BATCH_OFF_ATTRIBUTES 21 /* first byte covered by the CRC */
#define PROTOCOL_BATCH_OFF_LAST_DELTA 23
#define PROTOCOL_BATCH_OFF_BASE_TS    27
#define PROTOCOL_BATCH_OFF_MAX_TS     35
#define PROTOCOL_BATCH_OFF_PRODUCER_ID 43
#define PROTOCOL_BATCH_OFF_PRODUCER_EPOCH 51
#define PROTOCOL_BATCH_OFF_BASE_SEQ   53
#define PROTOCOL_BATCH_OFF_COUNT      57

#define PROTOCOL_ATTR_CODEC_MASK     0x07
#define PROTOCOL_ATTR_LOG_APPEND_TIME 0x08
#define PROTOCOL_ATTR_TRANSACTIONAL  0x10
#define PROTOCOL_ATTR_CONTROL        0x20
#define PROTOCOL_ATTR_DELETE_HORIZON 0x40

enum protocol_codec {
    PROTOCOL_CODEC_NONE = 0,
    PROTOCOL_CODEC_GZIP = 1,
    PROTOCOL_CODEC_SNAPPY = 2,
    PROTOCOL_CODEC_LZ4 = 3,
    PROTOCOL_CODEC_ZSTD = 4,
};

typedef struct protocol_batch_header {
    int64_t base_offset;
    int32_t batch_length; /* bytes after the batchLength field */
    int32_t partition_leader_epoch;
    int8_t magic;
    uint32_t crc;
    int16_t attributes;
    int32_t last_offset_delta;
    int64_t base_timestamp;
    int64_t max_timestamp;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t base_sequence;
    int32_t record_count;
} protocol_batch_header;

/* Total bytes of the batch starting at p (12 + batchLength), read from its first 12
 * bytes. Returns SL_OK and sets *size_out; SL_AGAIN when fewer than 12 bytes are
 * available; SL_E_CORRUPT when batchLength is below the v2 minimum (49) or the size
 * exceeds max_size. Does not look at the magic. */
int protocol_batch_size(const uint8_t *p, size_t avail, size_t max_size, size_t *size_out);
/* Parse the 61-byte header of a magic-2 batch. len is the bytes available at p, which
 * must hold the whole batch (12 + batchLength). Returns SL_OK, SL_E_SHORT when the
 * batch is cut off, SL_E_CORRUPT for a wrong magic, bad lengths, a negative record
 * count, or lastOffsetDelta < recordsCount - 1 (or inconsistent for uncompressed). */
int protocol_batch_header_parse(const uint8_t *p, size_t len, protocol_batch_header *out);
/* Parse the header and check the CRC-32C over bytes 21..end. Same returns as
 * protocol_batch_header_parse; a CRC mismatch is SL_E_CORRUPT. */
int protocol_batch_check(const uint8_t *p, size_t len, protocol_batch_header *out);
/* CRC-32C of the batch's CRC range (bytes 21..size). size >= 61. */
uint32_t protocol_batch_crc(const uint8_t *batch, size_t size);
/* Store base offset / leader epoch into a batch in place (outside the CRC range). */
void protocol_batch_set_base_offset(uint8_t *batch, int64_t base_offset);
void protocol_batch_set_leader_epoch(uint8_t *batch, int32_t epoch);
static inline int64_t protocol_batch_last_offset(const protocol_batch_header *h) {
    return h->base_offset + h->last_offset_delta;
}

/* ================= end section: record batches ================= */

#endif
