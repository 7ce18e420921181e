/* Unit tests for the internal RPC framing (protocol_rpc.c). */
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <check.h>
#include <string.h>

Suite *protocol_record_rpc_suite(void);

START_TEST(test_frame_put_layout_and_parse) {
    sl_buf out;
    sl_buf_init(&out);
    protocol_rpc_frame_put(&out, 0x01020304, 0x0a0b, (const uint8_t *)"hello", 5);
    static const uint8_t want[] = { 0, 0, 0, 11, 1, 2, 3, 4, 0x0a, 0x0b, 'h', 'e', 'l', 'l', 'o' };
    ck_assert_uint_eq(out.len, sizeof(want));
    ck_assert(memcmp(out.data, want, sizeof(want)) == 0);
    protocol_rpc_frame f;
    ck_assert_int_eq(protocol_rpc_frame_parse(out.data, out.len, 1 << 20, &f), SL_OK);
    ck_assert_uint_eq(f.correlation_id, 0x01020304);
    ck_assert_uint_eq(f.type, 0x0a0b);
    ck_assert_uint_eq(f.payload_len, 5);
    ck_assert(memcmp(f.payload, "hello", 5) == 0);
    ck_assert_uint_eq(f.frame_size, sizeof(want));
    sl_buf_deinit(&out);
}
END_TEST

START_TEST(test_every_prefix_is_again) {
    sl_buf out;
    sl_buf_init(&out);
    protocol_rpc_frame_put(&out, 7, 3, (const uint8_t *)"payload", 7);
    protocol_rpc_frame f;
    for (size_t avail = 0; avail < out.len; avail++) {
        ck_assert_int_eq(protocol_rpc_frame_parse(out.data, avail, 1 << 20, &f), SL_AGAIN);
    }
    ck_assert_int_eq(protocol_rpc_frame_parse(out.data, out.len, 1 << 20, &f), SL_OK);
    sl_buf_deinit(&out);
}
END_TEST

START_TEST(test_frames_back_to_back_and_empty_payload) {
    sl_buf out;
    sl_buf_init(&out);
    protocol_rpc_frame_put(&out, 1, 10, NULL, 0);
    protocol_rpc_frame_put(&out, 2, 20, (const uint8_t *)"xy", 2);
    protocol_rpc_frame_put(&out, 3, 30, (const uint8_t *)"z", 1);
    const size_t payload_lens[] = { 0, 2, 1 };
    size_t pos = 0;
    for (uint32_t i = 1; i <= 3; i++) {
        protocol_rpc_frame f;
        ck_assert_int_eq(protocol_rpc_frame_parse(out.data + pos, out.len - pos, 64, &f), SL_OK);
        ck_assert_uint_eq(f.correlation_id, i);
        ck_assert_uint_eq(f.type, i * 10);
        ck_assert_uint_eq(f.payload_len, payload_lens[i - 1]);
        pos += f.frame_size;
    }
    ck_assert_uint_eq(pos, out.len);
    sl_buf_deinit(&out);
}
END_TEST

START_TEST(test_bad_lengths) {
    protocol_rpc_frame f;
    for (uint32_t length = 0; length < PROTOCOL_RPC_LENGTH_MIN; length++) {
        uint8_t b[16] = { 0 };
        sl_store_be32(b, length);
        ck_assert_int_eq(protocol_rpc_frame_parse(b, sizeof(b), 1 << 20, &f), SL_E_CORRUPT);
        ck_assert_int_eq(protocol_rpc_frame_parse(b, 4, 1 << 20, &f), SL_E_CORRUPT);
    }
    /* too large is known from the length field alone, before the frame arrives */
    uint8_t b[4];
    sl_store_be32(b, 1001);
    ck_assert_int_eq(protocol_rpc_frame_parse(b, 4, 1000, &f), SL_E_TOO_LARGE);
    sl_store_be32(b, 0xffffffffu);
    ck_assert_int_eq(protocol_rpc_frame_parse(b, 4, 1000, &f), SL_E_TOO_LARGE);
    ck_assert_int_eq(protocol_rpc_frame_parse(b, 4, SIZE_MAX, &f), SL_AGAIN);
    sl_store_be32(b, 1000);
    ck_assert_int_eq(protocol_rpc_frame_parse(b, 4, 1000, &f), SL_AGAIN);
}
END_TEST

START_TEST(test_begin_end_back_patches_length) {
    sl_buf out;
    sl_buf_init(&out);
    sl_buf_put(&out, "junk", 4);
    size_t at = protocol_rpc_frame_begin(&out, 99, 5);
    ck_assert_uint_eq(at, 4);
    for (int i = 0; i < 1000; i++)
        sl_buf_put_u8(&out, (uint8_t)i); /* packed in place */
    protocol_rpc_frame_end(&out, at);
    protocol_rpc_frame f;
    ck_assert_int_eq(protocol_rpc_frame_parse(out.data + at, out.len - at, 1 << 20, &f), SL_OK);
    ck_assert_uint_eq(f.correlation_id, 99);
    ck_assert_uint_eq(f.type, 5);
    ck_assert_uint_eq(f.payload_len, 1000);
    ck_assert_uint_eq(f.payload[999], (uint8_t)999);
    ck_assert_uint_eq(f.frame_size, out.len - at);
    /* an empty payload is a 10-byte frame */
    size_t at2 = protocol_rpc_frame_begin(&out, 1, 1);
    protocol_rpc_frame_end(&out, at2);
    ck_assert_uint_eq(sl_load_be32(out.data + at2), PROTOCOL_RPC_LENGTH_MIN);
    sl_buf_deinit(&out);
}
END_TEST

Suite *protocol_record_rpc_suite(void) {
    Suite *s = suite_create("protocol_record_rpc");
    TCase *tc = tcase_create("frame");
    tcase_add_test(tc, test_frame_put_layout_and_parse);
    tcase_add_test(tc, test_every_prefix_is_again);
    tcase_add_test(tc, test_frames_back_to_back_and_empty_payload);
    tcase_add_test(tc, test_bad_lengths);
    tcase_add_test(tc, test_begin_end_back_patches_length);
    suite_add_tcase(s, tc);
    return s;
}
