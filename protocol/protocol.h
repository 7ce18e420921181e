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
 * Kafka request and response bodies, the request/response headers and the internal-topic
 * records, generated from protocol/schema/ (Kafka 3.9 schemas, imported by
 * protocol/gen/import_schemas.py) by protocol/gen/protocol_gen.py into
 * $(B)/gen/protocol/protocol_gen.{h,c}; protocol_gen.h is included at the end of this
 * section. For every message M (ProduceRequest, FetchResponse, OffsetCommitValue, …):
 *
 *   protocol_M               every field of every version, Kafka's CamelCase names
 *   protocol_M_S             nested or common struct S of M (protocol_M_S_array for []S)
 *   void protocol_M_init(protocol_M *msg);                     zero plus schema defaults
 *   int  protocol_M_decode(sl_reader *r, int16_t version, sl_arena *arena, protocol_M *out);
 *   void protocol_M_encode(sl_buf *out, int16_t version, const protocol_M *msg);
 *
 * Field types: intN -> intN_t, uint16 -> uint16_t, float64 -> double, bool -> bool,
 * string -> sl_str, bytes and records -> sl_bytes (len -1 = null), uuid -> protocol_uuid,
 * []T -> { int32_t count; T *items; } (count -1 = null), struct -> embedded value, or a
 * pointer (NULL = null) when nullable in some version.
 *
 * Decode: string, bytes and records views point into the reader's input, which must
 * outlive them (record bytes are never copied); arrays and nullable structs come from
 * the arena. Every array count is checked against the bytes remaining
 * (count <= remaining / smallest element) before anything is allocated. Fields absent in
 * the version hold their defaults; unknown tagged fields are skipped; bytes after the
 * message stay in the reader. Returns SL_OK; SL_E_SHORT (input ends early, or a count
 * or length exceeds what remains); SL_E_CORRUPT (null where not nullable, a string over
 * 32767 bytes, a bad varint, a known tagged field whose payload is not consumed exactly);
 * SL_E_UNSUPPORTED (version outside validVersions). After an error *out is partly
 * filled and must not be used.
 * Encode: only the fields present in version, compact forms in flexible versions, tagged
 * fields only when they differ from their default. A null in a field that is not
 * nullable in version is written as the empty value. version must be valid and strings
 * at most 32767 bytes (both asserted).
 * Internal-topic records (OffsetCommitKey/Value, GroupMetadataKey/Value,
 * TransactionLogKey/Value) take as version the int16 prefix that the caller reads and
 * writes itself.
 *
 * Wire encodings (big-endian; "flexible" = the message version is in flexibleVersions):
 *
 *   type        classic                          flexible
 *   string      int16 len, bytes (-1 = null)     uvarint len+1, bytes (0 = null)
 *   bytes       int32 len, bytes (-1 = null)     uvarint len+1, bytes (0 = null)
 *   records     as bytes (always nullable)       as bytes
 *   []T         int32 count, items (-1 = null)   uvarint count+1, items (0 = null)
 *   struct      fields inline; int8 -1/1 before a nullable one; flexible structs end
 *               with a tagged-field section: uvarint n, then n x (uvarint tag,
 *               uvarint size, payload), tags ascending
 *   uuid        16 bytes, most significant first
 *
 * Thread: every function here is reentrant; no global mutable state. */

#include "common/sl_arena.h"
#include "common/sl_view.h"

typedef struct protocol_uuid {
    uint8_t b[16]; /* most significant byte first, as on the wire */
} protocol_uuid;

static inline bool protocol_uuid_is_zero(const protocol_uuid *u) {
    for (int i = 0; i < 16; i++) {
        if (u->b[i]) return false;
    }
    return true;
}

/* Arrays of primitives (count -1 = null; items from the decode arena). */
typedef struct protocol_int8_array {
    int32_t count;
    int8_t *items;
} protocol_int8_array;
typedef struct protocol_int32_array {
    int32_t count;
    int32_t *items;
} protocol_int32_array;
typedef struct protocol_int64_array {
    int32_t count;
    int64_t *items;
} protocol_int64_array;
typedef struct protocol_uuid_array {
    int32_t count;
    protocol_uuid *items;
} protocol_uuid_array;
typedef struct protocol_str_array {
    int32_t count;
    sl_str *items;
} protocol_str_array;

/* Primitive codecs, used by the generated code and usable by hand-written encoders.
 * flex selects the compact form. A read leaves any error in r (sticky, see
 * sl_reader.h) and returns a zero/null value; nullable says whether null is legal. */
sl_str protocol_read_str(sl_reader *r, bool flex, bool nullable);
sl_bytes protocol_read_bytes(sl_reader *r, bool flex, bool nullable);
protocol_uuid protocol_read_uuid(sl_reader *r);
/* An array count (-1 = null), checked: count <= remaining / min_item_bytes (a
 * min_item_bytes of 0 counts as 1); a larger count fails r with SL_E_SHORT. */
int32_t protocol_read_count(sl_reader *r, bool flex, bool nullable, size_t min_item_bytes);
void protocol_read_int8_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_int8_array *out);
void protocol_read_int32_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_int32_array *out);
void protocol_read_int64_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_int64_array *out);
void protocol_read_uuid_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_uuid_array *out);
void protocol_read_str_array(
    sl_reader *r, bool flex, bool nullable, sl_arena *arena, protocol_str_array *out);
/* One tagged field's header: returns its tag and splits its payload into *payload. */
uint32_t protocol_read_tag(sl_reader *r, sl_reader *payload);
/* After decoding a known tagged field from payload: moves payload's error into r, and
 * fails r with SL_E_CORRUPT if payload bytes were left over. */
void protocol_read_tag_done(sl_reader *r, const sl_reader *payload);
/* Skip a whole tagged-field section (a struct with no known tags). */
void protocol_skip_tags(sl_reader *r);

void protocol_write_str(sl_buf *out, bool flex, bool nullable, sl_str s);
void protocol_write_bytes(sl_buf *out, bool flex, bool nullable, sl_bytes b);
void protocol_write_uuid(sl_buf *out, const protocol_uuid *u);
void protocol_write_count(sl_buf *out, bool flex, bool nullable, int32_t count);
void protocol_write_int8_array(sl_buf *out, bool flex, bool nullable, const protocol_int8_array *a);
void protocol_write_int32_array(sl_buf *out,
                                bool flex,
                                bool nullable,
                                const protocol_int32_array *a);
void protocol_write_int64_array(sl_buf *out,
                                bool flex,
                                bool nullable,
                                const protocol_int64_array *a);
void protocol_write_uuid_array(sl_buf *out, bool flex, bool nullable, const protocol_uuid_array *a);
void protocol_write_str_array(sl_buf *out, bool flex, bool nullable, const protocol_str_array *a);
/* A tagged field: protocol_write_tag_begin writes the tag and returns a mark; write the
 * payload; protocol_write_tag_end inserts the payload's size before it. */
size_t protocol_write_tag_begin(sl_buf *out, uint32_t tag);
void protocol_write_tag_end(sl_buf *out, size_t mark);

/* The API table, one entry per API key in the schema (request and response codecs
 * through void pointers to protocol_<Name>Request / protocol_<Name>Response). */
typedef struct protocol_api {
    int16_t key;
    const char *name;    /* "Produce", "ApiVersions" */
    int16_t min_version; /* validVersions */
    int16_t max_version;
    int16_t flexible_min; /* first flexible version, -1 if none */
    bool unstable_max;    /* latestVersionUnstable: max_version is not for clients */
    size_t request_size;  /* sizeof(protocol_<Name>Request) */
    size_t response_size;
    void (*request_init)(void *msg);
    int (*request_decode)(sl_reader *r, int16_t version, sl_arena *arena, void *out);
    void (*request_encode)(sl_buf *out, int16_t version, const void *msg);
    void (*response_init)(void *msg);
    int (*response_decode)(sl_reader *r, int16_t version, sl_arena *arena, void *out);
    void (*response_encode)(sl_buf *out, int16_t version, const void *msg);
} protocol_api;

/* The entry for api_key, or NULL for an unknown key. Static storage. */
const protocol_api *protocol_api_find(int16_t api_key);

/* Request header (README §4): v0 = key, version, correlation id (ControlledShutdown v0
 * only); v1 adds ClientId, a nullable int16-length string; v2 adds a tagged-field
 * section (ClientId stays int16-length). Response header: v0 = correlation id; v1 adds
 * a tagged-field section. */
typedef struct protocol_request_header {
    int16_t api_key;
    int16_t api_version;
    int32_t correlation_id;
    sl_str client_id; /* view into the request; null when absent (v0) or sent as null */
} protocol_request_header;

/* Header version of a request: 2 if api_version is flexible for the API, 0 for
 * ControlledShutdown v0, else 1. Versions above the API's maximum follow its open-ended
 * flexibleVersions. -1 for an unknown api key. */
int protocol_request_header_version(int16_t api_key, int16_t api_version);
/* Header version of the response: 1 if flexible, else 0; ApiVersions is always 0
 * (KIP-511). -1 for an unknown api key. */
int protocol_response_header_version(int16_t api_key, int16_t api_version);
/* Read a request header; on return r is at the body. Key, version and correlation id
 * are read first and set even on error. Returns SL_OK; SL_E_SHORT / SL_E_CORRUPT;
 * SL_E_UNSUPPORTED for an unknown key or a version outside validVersions (the rest of
 * the header is still read when the key is known, so the caller can answer). */
int protocol_request_header_decode(sl_reader *r, protocol_request_header *out);
/* Write h in the header version of (h->api_key, h->api_version); an unknown key is
 * written as header v1. */
void protocol_request_header_encode(sl_buf *out, const protocol_request_header *h);
void protocol_response_header_encode(sl_buf *out,
                                     int16_t api_key,
                                     int16_t api_version,
                                     int32_t correlation_id);

/* Kafka error codes (enum protocol_error_code in protocol_gen.h, from the reference
 * README §9). Name of a code ("NOT_LEADER_OR_FOLLOWER"; "UNKNOWN" for codes not in
 * the table) and whether Java clients treat it as retriable. */
const char *protocol_error_name(int16_t code);
bool protocol_error_retriable(int16_t code);
/* The Kafka code for an internal error: SL_OK -> NONE, SL_E_CORRUPT/SL_E_SHORT ->
 * CORRUPT_MESSAGE, SL_E_TOO_LARGE -> MESSAGE_TOO_LARGE, SL_E_UNSUPPORTED ->
 * UNSUPPORTED_VERSION, … (table in protocol_errors.c); anything else -> -1. */
int16_t protocol_error_from_sl(int err);

#include "protocol/protocol_gen.h"

/* ================= end section: message codecs ================= */

/* ================= section: record batches, records, compression, RPC framing =========== */

#define PROTOCOL_BATCH_HEADER_BYTES       61 /* RECORD_BATCH_OVERHEAD */
#define PROTOCOL_BATCH_LOG_OVERHEAD       12 /* baseOffset + batchLength */
#define PROTOCOL_BATCH_MAGIC              2
#define PROTOCOL_BATCH_OFF_BASE_OFFSET    0
#define PROTOCOL_BATCH_OFF_LENGTH         8
#define PROTOCOL_BATCH_OFF_EPOCH          12
#define PROTOCOL_BATCH_OFF_MAGIC          16
#define PROTOCOL_BATCH_OFF_CRC            17
#define PROTOCOL_BATCH_OFF_ATTRIBUTES     21 /* first byte covered by the CRC */
#define PROTOCOL_BATCH_OFF_LAST_DELTA     23
#define PROTOCOL_BATCH_OFF_BASE_TS        27
#define PROTOCOL_BATCH_OFF_MAX_TS         35
#define PROTOCOL_BATCH_OFF_PRODUCER_ID    43
#define PROTOCOL_BATCH_OFF_PRODUCER_EPOCH 51
#define PROTOCOL_BATCH_OFF_BASE_SEQ       53
#define PROTOCOL_BATCH_OFF_COUNT          57

#define PROTOCOL_ATTR_CODEC_MASK      0x07
#define PROTOCOL_ATTR_LOG_APPEND_TIME 0x08
#define PROTOCOL_ATTR_TRANSACTIONAL   0x10
#define PROTOCOL_ATTR_CONTROL         0x20
#define PROTOCOL_ATTR_DELETE_HORIZON  0x40

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
/* Load the 61 header bytes at p into out with no checks at all (the caller read a header
 * from a log it already validated, e.g. by pread of just the header). */
void protocol_batch_header_fields(const uint8_t *p, protocol_batch_header *out);
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
static inline int protocol_batch_codec(const protocol_batch_header *h) {
    return h->attributes & PROTOCOL_ATTR_CODEC_MASK;
}
static inline bool protocol_batch_is_control(const protocol_batch_header *h) {
    return (h->attributes & PROTOCOL_ATTR_CONTROL) != 0;
}
static inline bool protocol_batch_is_transactional(const protocol_batch_header *h) {
    return (h->attributes & PROTOCOL_ATTR_TRANSACTIONAL) != 0;
}

/* ---- Records inside a batch (protocol_record.c) ----
 *
 * The records section (everything after recordsCount, decompressed when the codec is
 * not 0) holds recordsCount records back to back; "varint" is Kafka's zig-zag varint:
 *
 *   length varint            bytes of the record after this field
 *   attributes int8          unused, 0
 *   timestampDelta varlong   timestamp - baseTimestamp
 *   offsetDelta varint       offset - baseOffset; strictly increasing, ≤ lastOffsetDelta
 *   keyLength varint, key    -1 = null
 *   valueLength varint, value  -1 = null (a tombstone)
 *   headerCount varint, then per header:
 *     keyLength varint, key (UTF-8, never null), valueLength varint (-1 = null), value
 *
 * The iterator reads every varint and length through sl_reader sub-readers and reports
 * SL_E_CORRUPT when the records do not add up: a record running past the section, bytes
 * left inside a record, fewer or more records than recordsCount, offsetDelta not
 * increasing or above lastOffsetDelta, a negative length other than -1 for null.
 * Iterators and builders are plain structs owned by one thread at a time; nothing here
 * keeps global state. */

#define PROTOCOL_RECORD_BYTES_MIN 7 /* length, attributes, 2 deltas, key, value, headerCount */

/* One record header; views into the batch or the iterator's scratch buffer. */
typedef struct protocol_record_header {
    sl_str key;     /* never null */
    sl_bytes value; /* len -1 = null */
} protocol_record_header;

/* One record. Views point into the batch (uncompressed) or into the iterator's scratch
 * buffer (compressed); they stay valid while both stay unchanged. */
typedef struct protocol_record {
    int8_t attributes;       /* unused by Kafka; kept for faithful rewrites */
    int64_t timestamp;       /* baseTimestamp + delta; maxTimestamp for LogAppendTime */
    int64_t timestamp_delta; /* as stored */
    int64_t offset;          /* baseOffset + offsetDelta */
    int32_t offset_delta;    /* as stored */
    sl_bytes key;            /* len -1 = null */
    sl_bytes value;          /* len -1 = null */
    int32_t header_count;
    sl_bytes headers; /* the encoded headers after headerCount, already validated */
} protocol_record;

typedef struct protocol_record_iter {
    protocol_batch_header h;   /* the batch's header */
    sl_reader r;               /* the rest of the records section */
    int32_t record_index;      /* records returned so far */
    int32_t offset_delta_last; /* offsetDelta of the previous record; -1 before the first */
    int err;                   /* sticky: the first error returned */
} protocol_record_iter;

typedef struct protocol_header_iter {
    sl_reader r;
    int32_t remaining; /* headers not returned yet */
} protocol_header_iter;

/* Start iterating the records of the magic-2 batch at batch (batch_size bytes available,
 * at least 12 + batchLength). Parses the header (not the CRC: call protocol_batch_check
 * first when the bytes come from outside). A compressed records section is decompressed
 * into scratch (its contents are replaced; required when the codec is not 0), refusing
 * more than max_decompressed_bytes of output.
 * Returns SL_OK, SL_E_SHORT, SL_E_CORRUPT, SL_E_TOO_LARGE (decompressed output over the
 * cap), SL_E_INVALID (compressed batch and no scratch).
 * Record views stay valid while batch and scratch are unchanged. */
int protocol_record_iter_init(protocol_record_iter *it,
                              const uint8_t *batch,
                              size_t batch_size,
                              sl_buf *scratch,
                              size_t max_decompressed_bytes);
/* Next record. Returns 1 and fills *out; 0 once recordsCount records were returned and
 * the section is exactly used up; SL_E_CORRUPT otherwise. Errors are sticky. */
int protocol_record_iter_next(protocol_record_iter *it, protocol_record *out);
/* Walk every record of a batch and check the rules above, plus control batches (each
 * record carries a control key, protocol_control_record_type). scratch may be NULL for
 * uncompressed batches. Returns SL_OK or what protocol_record_iter_* returned. */
int protocol_batch_validate_records(const uint8_t *batch,
                                    size_t batch_size,
                                    sl_buf *scratch,
                                    size_t max_decompressed_bytes);

/* Iterate the headers of a record returned by protocol_record_iter_next. */
void protocol_header_iter_init(protocol_header_iter *it, const protocol_record *rec);
/* Returns 1 and fills *out, 0 after the last header, SL_E_CORRUPT for a malformed header
 * (never for records from the iterator, which validated them). */
int protocol_header_iter_next(protocol_header_iter *it, protocol_record_header *out);

/* ---- Control records (README §6 "Control records") ----
 * A control batch (attribute bit 5) holds one record whose key is int16 version (0) +
 * int16 type. Transaction markers also set bit 4; their value is int16 version (0) +
 * int32 coordinatorEpoch. Readers skip unknown types. */
enum protocol_control_type {
    PROTOCOL_CONTROL_ABORT = 0,
    PROTOCOL_CONTROL_COMMIT = 1,
    PROTOCOL_CONTROL_LEADER_CHANGE = 2, /* KRaft log only, as are the next four */
    PROTOCOL_CONTROL_SNAPSHOT_HEADER = 3,
    PROTOCOL_CONTROL_SNAPSHOT_FOOTER = 4,
    PROTOCOL_CONTROL_KRAFT_VERSION = 5,
    PROTOCOL_CONTROL_KRAFT_VOTERS = 6,
};
#define PROTOCOL_CONTROL_KEY_BYTES      4 /* int16 version + int16 type */
#define PROTOCOL_TXN_MARKER_VALUE_BYTES 6 /* int16 version + int32 coordinatorEpoch */

/* The type of a control record (its key). Returns SL_OK, or SL_E_CORRUPT for a null or
 * short key or a negative version (Kafka's ControlRecordType rules). */
int protocol_control_record_type(const protocol_record *rec, int16_t *type_out);
/* Decode a COMMIT/ABORT marker. *commit_out is true for COMMIT. Returns SL_OK,
 * SL_E_CORRUPT (short key or value, negative version), SL_E_INVALID (another type). */
int protocol_txn_marker_parse(const protocol_record *rec,
                              bool *commit_out,
                              int32_t *coordinator_epoch_out);

/* ---- Batch builder (protocol_record_build.c) ----
 * For tools, tests, control records and the group coordinator: records are encoded as
 * they are added; finish writes the 61-byte header, compresses the records section and
 * fills lengths, lastOffsetDelta, base/max timestamps and the CRC. */
typedef struct protocol_batch_options {
    int codec;                      /* enum protocol_codec; default NONE */
    int64_t base_offset;            /* default 0 (producers send 0) */
    int32_t partition_leader_epoch; /* default -1 */
    int64_t producer_id;            /* default -1 */
    int16_t producer_epoch;         /* default -1 */
    int32_t base_sequence;          /* default -1 */
    bool transactional;             /* attribute bit 4 */
    bool control;                   /* attribute bit 5 */
    bool log_append_time;           /* bit 3; maxTimestamp = log_append_time_ms */
    int64_t log_append_time_ms;
    int64_t delete_horizon_ms; /* -1 = none; else bit 6 and baseTimestamp = this (KIP-534) */
} protocol_batch_options;

typedef struct protocol_batch_builder {
    protocol_batch_options opt; /* may be changed until the first record is added */
    sl_buf records;             /* the uncompressed records section */
    int32_t record_count;
    int32_t offset_delta_last; /* -1 before the first record */
    int64_t base_timestamp;    /* set by the first record (or the delete horizon) */
    int64_t max_timestamp;     /* -1 until a record has a larger timestamp */
} protocol_batch_builder;

#define PROTOCOL_BATCH_RECORDS_BYTES_MAX (0x7fffffff - 49) /* batchLength is an int32 */

void protocol_batch_options_init(protocol_batch_options *opt); /* the defaults above */
void protocol_batch_builder_init(protocol_batch_builder *b, const protocol_batch_options *opt);
void protocol_batch_builder_deinit(protocol_batch_builder *b);
/* Drop the records (memory kept) to build another batch with the same options. */
void protocol_batch_builder_reset(protocol_batch_builder *b);
/* Append a record at the next offset (offsetDelta = previous + 1). key/value: len -1 =
 * null; headers[header_count] keys must not be null. Everything is copied.
 * Returns SL_OK, SL_E_INVALID (null header key, length < -1), SL_E_TOO_LARGE (the batch
 * would pass PROTOCOL_BATCH_RECORDS_BYTES_MAX or INT32_MAX records). */
int protocol_batch_builder_add(protocol_batch_builder *b,
                               int64_t timestamp,
                               sl_bytes key,
                               sl_bytes value,
                               const protocol_record_header *headers,
                               size_t header_count);
/* Append a copy of rec (from protocol_record_iter_next) at its own absolute offset,
 * keeping its attributes, timestamp and encoded headers: for compaction and rewrites.
 * rec->offset must be above the previous record's and within base_offset + INT32_MAX.
 * Returns SL_OK, SL_E_INVALID, SL_E_TOO_LARGE. */
int protocol_batch_builder_add_record(protocol_batch_builder *b, const protocol_record *rec);
/* Bytes of the batch if finished uncompressed now (61 + records section). */
size_t protocol_batch_builder_size(const protocol_batch_builder *b);
/* Append the finished batch to out. The builder keeps its records (reset to reuse).
 * An empty batch gets lastOffsetDelta 0 and timestamps -1 (or the delete horizon).
 * Returns SL_OK, SL_E_TOO_LARGE (compressed output too big for batchLength),
 * SL_E_UNSUPPORTED (codec). out is unchanged on error. */
int protocol_batch_builder_finish(protocol_batch_builder *b, sl_buf *out);

/* Append a control batch with one record: key {0, control_type}, value as given, codec
 * and flags from opt with the control bit forced on. Returns as _finish. */
int protocol_batch_build_control(sl_buf *out,
                                 const protocol_batch_options *opt,
                                 int16_t control_type,
                                 sl_bytes value,
                                 int64_t timestamp_ms);
/* Append a transaction marker batch (COMMIT when commit, else ABORT) as the transaction
 * coordinator writes it: control + transactional, uncompressed, baseSequence -1, with
 * opt's base offset, leader epoch, producer id and epoch. */
int protocol_batch_build_txn_marker(sl_buf *out,
                                    const protocol_batch_options *opt,
                                    bool commit,
                                    int32_t coordinator_epoch,
                                    int64_t timestamp_ms);

/* ---- Compression (protocol_compress.c) ----
 * gzip: zlib with the gzip wrapper (concatenated members accepted).
 * snappy: writes snappy-java's ("xerial") framing as the Java producer does — magic
 *   82 'SNAPPY' 00, int32 version 1, int32 compatible version 1, then int32-length
 *   chunks of raw snappy, 32 KiB of input each; Java, librdkafka and kafka-python all
 *   read it (kafka-python only detects the framing when version and compat are 1).
 *   Reads both that framing and raw snappy (librdkafka writes raw).
 * lz4: the LZ4 frame format with independent 64 KiB blocks and no checksums or content
 *   size, the frame Kafka's Java Lz4BlockOutputStream writes (its reader refuses
 *   dependent blocks). Reads any valid frame, and concatenated frames.
 * zstd: one standard frame with the content size; reads frames with or without it
 *   (streaming producers omit it), window up to 2^27 bytes (zstd's default limit).
 * Contexts are created per call: no state is shared between threads. */

/* Append the compressed form of in[len] to out. Returns SL_OK, SL_E_UNSUPPORTED (unknown
 * codec), SL_E_TOO_LARGE (len above what the codec library takes). out is unchanged on
 * error. codec NONE copies. */
int protocol_compress(int codec, const uint8_t *in, size_t len, sl_buf *out);
/* Append the decompressed form of in[len] to out, at most max_out bytes: SL_E_TOO_LARGE
 * as soon as the output would pass max_out (declared sizes are checked before inflating,
 * and the output is capped while inflating). SL_E_CORRUPT for bad or truncated data or
 * trailing bytes, SL_E_UNSUPPORTED for an unknown codec. out is unchanged on error. */
int protocol_decompress(int codec, const uint8_t *in, size_t len, size_t max_out, sl_buf *out);
/* "none", "gzip", "snappy", "lz4", "zstd"; "unknown" otherwise. Never NULL. */
const char *protocol_codec_name(int codec);
/* The codec for a compression.type name (as above). Returns the codec or SL_E_INVALID. */
int protocol_codec_from_name(const char *name);

/* ---- Internal RPC framing (protocol_rpc.c), ARCHITECTURE.md "Two protocols" ----
 *
 *   off size field
 *     0  4  length u32          bytes after this field: 4 + 2 + payload
 *     4  4  correlation id u32
 *     8  2  type u16            the protobuf message type
 *    10  …  payload             a packed protobuf message
 *
 * Big-endian like Kafka. A reader checks length against its limit before waiting for
 * the rest of the frame, so a peer cannot make it buffer more than the limit. */
#define PROTOCOL_RPC_HEADER_BYTES 10 /* length + correlation id + type */
#define PROTOCOL_RPC_LENGTH_MIN   6  /* correlation id + type */

typedef struct protocol_rpc_frame {
    uint32_t correlation_id;
    uint16_t type;
    const uint8_t *payload; /* points into the parsed bytes */
    size_t payload_len;
    size_t frame_size; /* bytes to consume: 4 + length */
} protocol_rpc_frame;

/* Append one frame. len ≤ UINT32_MAX - 6 (asserted: callers cap payloads). */
void protocol_rpc_frame_put(
    sl_buf *out, uint32_t correlation_id, uint16_t type, const uint8_t *payload, size_t len);
/* Start a frame whose payload the caller then appends to out directly (for example
 * protobuf-c packing into sl_buf_reserve'd room). Returns the frame's offset in out,
 * for protocol_rpc_frame_end, which back-patches the length. */
size_t protocol_rpc_frame_begin(sl_buf *out, uint32_t correlation_id, uint16_t type);
void protocol_rpc_frame_end(sl_buf *out, size_t frame_offset);
/* Parse the frame at p (avail bytes available). Returns SL_OK and fills *out; SL_AGAIN
 * when the frame is incomplete (read more, call again); SL_E_CORRUPT when length < 6;
 * SL_E_TOO_LARGE when length > length_max (checked before the frame is complete). */
int protocol_rpc_frame_parse(const uint8_t *p,
                             size_t avail,
                             size_t length_max,
                             protocol_rpc_frame *out);

/* ================= end section: record batches ================= */

#endif
