/* protocol_api.c — Kafka request and response headers (README §4 of the protocol
 * reference). The message bodies and the API table are generated (protocol_gen.c).
 *
 *   request header v0   api_key int16, api_version int16, correlation_id int32
 *   request header v1   v0 + client_id (nullable string, always int16 length)
 *   request header v2   v1 + tagged-field section
 *   response header v0  correlation_id int32
 *   response header v1  v0 + tagged-field section
 */
#include "protocol/protocol.h"

#include "common/sl_err.h"

static bool api_flexible(const protocol_api *api, int16_t api_version) {
    /* flexibleVersions are open-ended ("9+"), so a version above max_version that a
     * newer client sends is flexible too */
    return api->flexible_min >= 0 && api_version >= api->flexible_min;
}

int protocol_request_header_version(int16_t api_key, int16_t api_version) {
    const protocol_api *api = protocol_api_find(api_key);
    if (!api) return -1;
    if (api_flexible(api, api_version)) return 2;
    if (api_key == PROTOCOL_API_CONTROLLED_SHUTDOWN && api_version == 0) return 0;
    return 1;
}

int protocol_response_header_version(int16_t api_key, int16_t api_version) {
    const protocol_api *api = protocol_api_find(api_key);
    if (!api) return -1;
    /* KIP-511: the client cannot know yet which header the broker speaks */
    if (api_key == PROTOCOL_API_API_VERSIONS) return 0;
    return api_flexible(api, api_version) ? 1 : 0;
}

int protocol_request_header_decode(sl_reader *r, protocol_request_header *out) {
    out->api_key = sl_reader_i16(r);
    out->api_version = sl_reader_i16(r);
    out->correlation_id = sl_reader_i32(r);
    out->client_id = SL_STR_NULL;
    if (sl_reader_err(r)) return sl_reader_err(r);
    int hv = protocol_request_header_version(out->api_key, out->api_version);
    if (hv < 0) return SL_E_UNSUPPORTED;
    if (hv >= 1) out->client_id = protocol_read_str(r, false, true);
    if (hv >= 2) protocol_skip_tags(r);
    if (sl_reader_err(r)) out->client_id = SL_STR_NULL;
    const protocol_api *api = protocol_api_find(out->api_key);
    if (out->api_version < api->min_version || out->api_version > api->max_version) {
        return SL_E_UNSUPPORTED;
    }
    return sl_reader_err(r);
}

void protocol_request_header_encode(sl_buf *out, const protocol_request_header *h) {
    int hv = protocol_request_header_version(h->api_key, h->api_version);
    sl_buf_put_i16(out, h->api_key);
    sl_buf_put_i16(out, h->api_version);
    sl_buf_put_i32(out, h->correlation_id);
    if (hv != 0) protocol_write_str(out, false, true, h->client_id);
    if (hv == 2) sl_buf_put_u8(out, 0); /* no tagged fields */
}

void protocol_response_header_encode(sl_buf *out,
                                     int16_t api_key,
                                     int16_t api_version,
                                     int32_t correlation_id) {
    sl_buf_put_i32(out, correlation_id);
    if (protocol_response_header_version(api_key, api_version) == 1) {
        sl_buf_put_u8(out, 0); /* no tagged fields */
    }
}
