/* protocol_rpc.c — framing of sluice's internal protobuf RPCs (format in protocol.h):
 * u32 length | u32 correlation id | u16 type | payload, length counting the bytes
 * after itself. */
#include "protocol/protocol.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"

#define RPC_LENGTH_BYTES 4

_Static_assert(PROTOCOL_RPC_HEADER_BYTES == RPC_LENGTH_BYTES + PROTOCOL_RPC_LENGTH_MIN,
               "an RPC header is the length field plus correlation id and type");

size_t protocol_rpc_frame_begin(sl_buf *out, uint32_t correlation_id, uint16_t type) {
    size_t frame_offset = out->len;
    sl_buf_put_u32(out, 0); /* length, patched by protocol_rpc_frame_end */
    sl_buf_put_u32(out, correlation_id);
    sl_buf_put_u16(out, type);
    return frame_offset;
}

void protocol_rpc_frame_end(sl_buf *out, size_t frame_offset) {
    SL_ASSERT(frame_offset <= out->len);
    size_t length = out->len - frame_offset - RPC_LENGTH_BYTES;
    SL_ASSERT(length >= PROTOCOL_RPC_LENGTH_MIN);
    SL_ASSERT(length <= UINT32_MAX);
    sl_buf_patch_u32(out, frame_offset, (uint32_t)length);
}

void protocol_rpc_frame_put(
    sl_buf *out, uint32_t correlation_id, uint16_t type, const uint8_t *payload, size_t len) {
    SL_ASSERT(len <= UINT32_MAX - PROTOCOL_RPC_LENGTH_MIN);
    sl_buf_ensure(out, PROTOCOL_RPC_HEADER_BYTES + len);
    sl_buf_put_u32(out, (uint32_t)(PROTOCOL_RPC_LENGTH_MIN + len));
    sl_buf_put_u32(out, correlation_id);
    sl_buf_put_u16(out, type);
    sl_buf_put(out, payload, len);
}

int protocol_rpc_frame_parse(const uint8_t *p,
                             size_t avail,
                             size_t length_max,
                             protocol_rpc_frame *out) {
    if (avail < RPC_LENGTH_BYTES) return SL_AGAIN;
    uint32_t length = sl_load_be32(p);
    if (length < PROTOCOL_RPC_LENGTH_MIN) return SL_E_CORRUPT;
    /* before waiting for the rest: a peer must not make the reader buffer past the limit */
    if (length > length_max) return SL_E_TOO_LARGE;
    if (avail - RPC_LENGTH_BYTES < length) return SL_AGAIN;
    out->correlation_id = sl_load_be32(p + RPC_LENGTH_BYTES);
    out->type = sl_load_be16(p + RPC_LENGTH_BYTES + 4);
    out->payload = p + PROTOCOL_RPC_HEADER_BYTES;
    out->payload_len = length - PROTOCOL_RPC_LENGTH_MIN;
    out->frame_size = (size_t)length + RPC_LENGTH_BYTES;
    return SL_OK;
}
