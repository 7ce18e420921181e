/* fuzz_request.c — libFuzzer target for the Kafka request codecs.
 *
 * The input is one request frame without its int32 size (request header + body), as a
 * broker hands it to protocol_request_header_decode. Any API key and version the header
 * names is decoded with the generated codec; the same body bytes are also tried as that
 * API's response. Property, for every body that decodes: encode -> decode -> encode is
 * byte-identical, and the second decode consumes exactly what the first encode wrote.
 * A violation traps (__builtin_trap) so libFuzzer and the replay driver report it.
 *
 * Seed corpus: tests/fuzz/corpus/request/ — the real-client captures of
 * tests/unit/vectors/ plus one encoded request per API and version. */
#include "common/sl_arena.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_target_accepts(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) __builtin_trap();                                                             \
    } while (0)

typedef int (*decode_fn)(sl_reader *r, int16_t version, sl_arena *arena, void *out);
typedef void (*encode_fn)(sl_buf *out, int16_t version, const void *msg);

/* Encode msg, decode that, encode again: both encodings must match. */
static void check_stable(const protocol_request_header *h,
                         size_t msg_size,
                         decode_fn decode,
                         encode_fn encode,
                         const void *msg,
                         sl_arena *arena) {
    sl_buf first, second;
    sl_buf_init(&first);
    sl_buf_init(&second);
    protocol_request_header_encode(&first, h);
    encode(&first, h->api_version, msg);

    sl_reader r;
    sl_reader_init(&r, first.data, first.len);
    protocol_request_header h2;
    FUZZ_CHECK(protocol_request_header_decode(&r, &h2) == SL_OK);
    FUZZ_CHECK(h2.api_key == h->api_key && h2.api_version == h->api_version);
    FUZZ_CHECK(h2.correlation_id == h->correlation_id);
    void *back = sl_arena_alloc(arena, msg_size);
    FUZZ_CHECK(decode(&r, h->api_version, arena, back) == SL_OK);
    FUZZ_CHECK(sl_reader_remaining(&r) == 0);

    protocol_request_header_encode(&second, &h2);
    encode(&second, h->api_version, back);
    FUZZ_CHECK(first.len == second.len);
    FUZZ_CHECK(memcmp(first.data, second.data, first.len) == 0);
    sl_buf_deinit(&first);
    sl_buf_deinit(&second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    sl_reader r;
    sl_reader_init(&r, data, size);
    protocol_request_header h;
    if (protocol_request_header_decode(&r, &h) != SL_OK) return 0;
    const protocol_api *api = protocol_api_find(h.api_key);
    FUZZ_CHECK(api != NULL); /* SL_OK implies a known key and version */
    const uint8_t *body = r.p;
    size_t body_size = sl_reader_remaining(&r);

    sl_arena arena;
    sl_arena_init(&arena);
    void *msg = sl_arena_alloc(&arena, api->request_size);
    if (api->request_decode(&r, h.api_version, &arena, msg) == SL_OK) {
        check_stable(&h, api->request_size, api->request_decode, api->request_encode, msg, &arena);
    }
    sl_reader_init(&r, body, body_size);
    msg = sl_arena_alloc(&arena, api->response_size);
    if (api->response_decode(&r, h.api_version, &arena, msg) == SL_OK) {
        check_stable(&h, api->response_size, api->response_decode, api->response_encode, msg,
                     &arena);
    }
    sl_arena_deinit(&arena);
    return 0;
}

/* For the replay driver's rejected inputs: 1 when the header and the request decode. */
int fuzz_target_accepts(const uint8_t *data, size_t size) {
    sl_reader r;
    sl_reader_init(&r, data, size);
    protocol_request_header h;
    if (protocol_request_header_decode(&r, &h) != SL_OK) return 0;
    const protocol_api *api = protocol_api_find(h.api_key);
    sl_arena arena;
    sl_arena_init(&arena);
    void *msg = sl_arena_alloc(&arena, api->request_size);
    int rc = api->request_decode(&r, h.api_version, &arena, msg);
    sl_arena_deinit(&arena);
    return rc == SL_OK;
}
