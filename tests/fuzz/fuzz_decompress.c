/* fuzz_decompress.c — libFuzzer target for protocol_decompress, each codec directly.
 *
 * Input: one byte choosing the codec (low 3 bits: 0-4 are Kafka's codecs, 5-7 must be
 * SL_E_UNSUPPORTED), then the compressed bytes. Output is capped at 256 KiB.
 * Properties: the result is one of the documented codes and leaves the output buffer as
 * it was on error; what decompresses, compressed again and decompressed with a cap of
 * exactly its size, comes back byte for byte (and one byte less of cap is TOO_LARGE). */
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_target_accepts(const uint8_t *data, size_t size);

#define FUZZ_OUTPUT_MAX (256u << 10)

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_round_trip(int codec, const uint8_t *plain, size_t len) {
    sl_buf packed, again;
    sl_buf_init(&packed);
    sl_buf_init(&again);
    FUZZ_CHECK(protocol_compress(codec, plain, len, &packed) == SL_OK);
    FUZZ_CHECK(protocol_decompress(codec, packed.data, packed.len, len, &again) == SL_OK);
    FUZZ_CHECK(again.len == len && (len == 0 || memcmp(again.data, plain, len) == 0));
    if (len > 0) {
        sl_buf_reset(&again);
        FUZZ_CHECK(protocol_decompress(codec, packed.data, packed.len, len - 1, &again) ==
                   SL_E_TOO_LARGE);
        FUZZ_CHECK(again.len == 0);
    }
    sl_buf_deinit(&again);
    sl_buf_deinit(&packed);
}

int fuzz_target_accepts(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    sl_buf out;
    sl_buf_init(&out);
    int rc = protocol_decompress(data[0] & 7, data + 1, size - 1, FUZZ_OUTPUT_MAX, &out);
    sl_buf_deinit(&out);
    return rc == SL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0;
    int codec = data[0] & 7;
    sl_buf out;
    sl_buf_init(&out);
    sl_buf_put(&out, "prefix", 6);
    int rc = protocol_decompress(codec, data + 1, size - 1, FUZZ_OUTPUT_MAX, &out);
    FUZZ_CHECK(rc == SL_OK || rc == SL_E_CORRUPT || rc == SL_E_TOO_LARGE || rc == SL_E_UNSUPPORTED);
    FUZZ_CHECK((rc == SL_E_UNSUPPORTED) == (codec > PROTOCOL_CODEC_ZSTD));
    FUZZ_CHECK(out.len >= 6 && memcmp(out.data, "prefix", 6) == 0);
    if (rc != SL_OK) FUZZ_CHECK(out.len == 6);
    if (rc == SL_OK) {
        FUZZ_CHECK(out.len - 6 <= FUZZ_OUTPUT_MAX);
        check_round_trip(codec, out.data + 6, out.len - 6);
    }
    sl_buf_deinit(&out);
    return 0;
}
