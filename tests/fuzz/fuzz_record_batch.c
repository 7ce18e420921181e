/* fuzz_record_batch.c — libFuzzer target for RecordBatch v2: header and CRC check,
 * record iteration (decompressing with a cap), validation, and the builder.
 *
 * Input: the bytes of one batch. Every check runs on the input as it is, then again on a
 * copy whose CRC is recomputed, so mutated records reach the decoders and the rebuild
 * property without the fuzzer having to forge CRCs.
 * Properties, beyond "no crash, no sanitizer report":
 *  - protocol_batch_validate_records agrees with a full walk of the iterator;
 *  - a valid batch rebuilt with the builder from its iterated records (same codec,
 *    options and offsets) passes protocol_batch_check and iterates to the same
 *    records: offsets, timestamps, attributes, keys, values and headers. */
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_target_accepts(const uint8_t *data, size_t size);

/* Decompressed records sections over 1 MiB are refused, as a broker's cap would. */
#define FUZZ_DECOMPRESSED_MAX (1u << 20)

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Walk every record; returns the iterator's final result (0 or an error). */
static int walk(const uint8_t *data, size_t size, sl_buf *scratch) {
    protocol_record_iter it;
    int rc = protocol_record_iter_init(&it, data, size, scratch, FUZZ_DECOMPRESSED_MAX);
    if (rc != SL_OK) return rc;
    protocol_record rec;
    for (int64_t i = 0; i <= (int64_t)it.h.record_count; i++) {
        rc = protocol_record_iter_next(&it, &rec);
        if (rc <= 0) break;
        FUZZ_CHECK(rec.key.len >= -1 && rec.value.len >= -1);
        protocol_header_iter hi;
        protocol_header_iter_init(&hi, &rec);
        protocol_record_header h;
        int32_t headers = 0;
        int hrc;
        while ((hrc = protocol_header_iter_next(&hi, &h)) == 1)
            headers++;
        FUZZ_CHECK(hrc == 0 && headers == rec.header_count);
    }
    FUZZ_CHECK(rc <= 0); /* the iterator ends after recordsCount records */
    return rc;
}

static bool bytes_same(sl_bytes a, sl_bytes b) {
    if (a.len != b.len) return false;
    return a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0;
}

static void options_from_header(const protocol_batch_header *h, protocol_batch_options *opt) {
    protocol_batch_options_init(opt);
    opt->codec = protocol_batch_codec(h);
    opt->base_offset = h->base_offset;
    opt->partition_leader_epoch = h->partition_leader_epoch;
    opt->producer_id = h->producer_id;
    opt->producer_epoch = h->producer_epoch;
    opt->base_sequence = h->base_sequence;
    opt->transactional = protocol_batch_is_transactional(h);
    opt->control = protocol_batch_is_control(h);
    opt->log_append_time = (h->attributes & PROTOCOL_ATTR_LOG_APPEND_TIME) != 0;
    opt->log_append_time_ms = h->max_timestamp;
}

/* Rebuild a valid batch from its records, then compare record by record. */
static void check_rebuild(const uint8_t *data, size_t size) {
    sl_buf scratch_a, scratch_b, rebuilt;
    sl_buf_init(&scratch_a);
    sl_buf_init(&scratch_b);
    sl_buf_init(&rebuilt);
    protocol_record_iter a, b;
    FUZZ_CHECK(protocol_record_iter_init(&a, data, size, &scratch_a, FUZZ_DECOMPRESSED_MAX) ==
               SL_OK);
    protocol_batch_options opt;
    options_from_header(&a.h, &opt);
    protocol_batch_builder builder;
    protocol_batch_builder_init(&builder, &opt);
    protocol_record ra, rb;
    while (protocol_record_iter_next(&a, &ra) == 1) {
        FUZZ_CHECK(protocol_batch_builder_add_record(&builder, &ra) == SL_OK);
    }
    FUZZ_CHECK(protocol_batch_builder_finish(&builder, &rebuilt) == SL_OK);
    protocol_batch_header h;
    FUZZ_CHECK(protocol_batch_check(rebuilt.data, rebuilt.len, &h) == SL_OK);
    FUZZ_CHECK(h.record_count == a.h.record_count);
    FUZZ_CHECK(protocol_record_iter_init(&a, data, size, &scratch_a, FUZZ_DECOMPRESSED_MAX) ==
               SL_OK);
    /* deltas against a new base timestamp may take more varint bytes: a record of 7
     * bytes can grow to 17 */
    FUZZ_CHECK(protocol_record_iter_init(&b, rebuilt.data, rebuilt.len, &scratch_b,
                                         3 * FUZZ_DECOMPRESSED_MAX) == SL_OK);
    for (int32_t i = 0; i < h.record_count; i++) {
        FUZZ_CHECK(protocol_record_iter_next(&a, &ra) == 1);
        FUZZ_CHECK(protocol_record_iter_next(&b, &rb) == 1);
        FUZZ_CHECK(ra.offset == rb.offset && ra.timestamp == rb.timestamp);
        FUZZ_CHECK(ra.attributes == rb.attributes && ra.header_count == rb.header_count);
        FUZZ_CHECK(bytes_same(ra.key, rb.key) && bytes_same(ra.value, rb.value));
        FUZZ_CHECK(bytes_same(ra.headers, rb.headers));
    }
    FUZZ_CHECK(protocol_record_iter_next(&b, &rb) == 0);
    protocol_batch_builder_deinit(&builder);
    sl_buf_deinit(&rebuilt);
    sl_buf_deinit(&scratch_b);
    sl_buf_deinit(&scratch_a);
}

int fuzz_target_accepts(const uint8_t *data, size_t size) {
    protocol_batch_header h;
    if (protocol_batch_check(data, size, &h) != SL_OK) return 0;
    return protocol_batch_validate_records(data, size, NULL, FUZZ_DECOMPRESSED_MAX) == SL_OK;
}

static void fuzz_batch(const uint8_t *data, size_t size) {
    protocol_batch_header h;
    int check_rc = protocol_batch_check(data, size, &h);
    sl_buf scratch;
    sl_buf_init(&scratch);
    int walk_rc = walk(data, size, &scratch);
    int valid_rc = protocol_batch_validate_records(data, size, &scratch, FUZZ_DECOMPRESSED_MAX);
    /* validation is the walk plus control-key checks */
    FUZZ_CHECK(valid_rc == SL_OK ? walk_rc == SL_OK : true);
    if (check_rc == SL_OK && !protocol_batch_is_control(&h)) FUZZ_CHECK(valid_rc == walk_rc);
    sl_buf_deinit(&scratch);
    if (check_rc == SL_OK && valid_rc == SL_OK) check_rebuild(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    size_t batch_size = 0;
    protocol_batch_size(data, size, 1u << 30, &batch_size);
    fuzz_batch(data, size);
    /* Once more with the CRC made right, so mutated records reach the rebuild check. */
    protocol_batch_header h;
    if (protocol_batch_header_parse(data, size, &h) != SL_OK) return 0;
    batch_size = (size_t)h.batch_length + PROTOCOL_BATCH_LOG_OVERHEAD;
    uint8_t *copy = malloc(batch_size);
    memcpy(copy, data, batch_size);
    sl_store_be32(copy + PROTOCOL_BATCH_OFF_CRC, protocol_batch_crc(copy, batch_size));
    fuzz_batch(copy, batch_size);
    free(copy);
    return 0;
}
