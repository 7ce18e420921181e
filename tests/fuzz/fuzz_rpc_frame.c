/* fuzz_rpc_frame.c — libFuzzer target for the internal RPC framing (protocol_rpc.c).
 *
 * Input: a byte stream, parsed as consecutive frames under a few length limits.
 * Properties: a parsed frame lies inside the input; writing its fields back with
 * protocol_rpc_frame_put (and with begin/end) reproduces its bytes exactly; a prefix of
 * a complete frame is SL_AGAIN; the parse result never depends on bytes past the frame. */
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_target_accepts(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void
check_frame(const uint8_t *p, size_t avail, size_t length_max, const protocol_rpc_frame *f) {
    FUZZ_CHECK(f->frame_size <= avail);
    FUZZ_CHECK(f->frame_size == PROTOCOL_RPC_HEADER_BYTES + f->payload_len);
    FUZZ_CHECK(f->frame_size - 4 <= length_max);
    FUZZ_CHECK(f->payload == p + PROTOCOL_RPC_HEADER_BYTES);
    sl_buf out;
    sl_buf_init(&out);
    protocol_rpc_frame_put(&out, f->correlation_id, f->type, f->payload, f->payload_len);
    FUZZ_CHECK(out.len == f->frame_size && memcmp(out.data, p, out.len) == 0);
    sl_buf_reset(&out);
    size_t at = protocol_rpc_frame_begin(&out, f->correlation_id, f->type);
    sl_buf_put(&out, f->payload, f->payload_len);
    protocol_rpc_frame_end(&out, at);
    FUZZ_CHECK(out.len == f->frame_size && memcmp(out.data, p, out.len) == 0);
    sl_buf_deinit(&out);
    protocol_rpc_frame g;
    /* the frame alone parses the same; one byte less is incomplete */
    FUZZ_CHECK(protocol_rpc_frame_parse(p, f->frame_size, length_max, &g) == SL_OK);
    FUZZ_CHECK(g.frame_size == f->frame_size && g.correlation_id == f->correlation_id);
    FUZZ_CHECK(protocol_rpc_frame_parse(p, f->frame_size - 1, length_max, &g) == SL_AGAIN);
}

/* Parse consecutive frames; returns how many parsed. */
static size_t parse_stream(const uint8_t *data, size_t size, size_t length_max) {
    size_t pos = 0, frames = 0;
    /* every frame takes at least 10 bytes, so this ends */
    while (pos < size) {
        protocol_rpc_frame f;
        int rc = protocol_rpc_frame_parse(data + pos, size - pos, length_max, &f);
        FUZZ_CHECK(rc == SL_OK || rc == SL_AGAIN || rc == SL_E_CORRUPT || rc == SL_E_TOO_LARGE);
        if (rc != SL_OK) break;
        check_frame(data + pos, size - pos, length_max, &f);
        pos += f.frame_size;
        frames++;
    }
    return frames;
}

int fuzz_target_accepts(const uint8_t *data, size_t size) {
    protocol_rpc_frame f;
    return protocol_rpc_frame_parse(data, size, 1u << 20, &f) == SL_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const size_t limits[] = { PROTOCOL_RPC_LENGTH_MIN, 64, 1u << 20, SIZE_MAX };
    for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
        parse_stream(data, size, limits[i]);
    }
    return 0;
}
