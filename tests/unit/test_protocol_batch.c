/* Unit tests for the RecordBatch v2 header parser (protocol_batch.c). */
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <check.h>
#include <string.h>

Suite *protocol_batch_suite(void);

/* The worked example from the Kafka protocol reference: key "k", value "v",
 * CreateTime 1700000000000, 70 bytes, CRC-32C 0xe99b8dd8. */
static const uint8_t example[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3a, 0xff, 0xff,
    0xff, 0xff, 0x02, 0xe9, 0x9b, 0x8d, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68,
    0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x02, 0x76, 0x00,
};

START_TEST(test_example_batch_parses_and_crc_matches) {
    ck_assert_uint_eq(sizeof(example), 70);
    protocol_batch_header h;
    ck_assert_int_eq(protocol_batch_check(example, sizeof(example), &h), SL_OK);
    ck_assert_uint_eq(h.crc, 0xe99b8dd8u);
    ck_assert_int_eq(h.batch_length, 58);
    ck_assert_int_eq(h.record_count, 1);
    ck_assert_int_eq(h.last_offset_delta, 0);
    ck_assert(h.base_timestamp == 1700000000000LL);
    ck_assert(h.producer_id == -1);
    size_t size = 0;
    ck_assert_int_eq(protocol_batch_size(example, sizeof(example), 1 << 20, &size), SL_OK);
    ck_assert_uint_eq(size, 70);
}
END_TEST

START_TEST(test_every_truncation_is_short_not_crash) {
    protocol_batch_header h;
    for (size_t cut = 0; cut < sizeof(example); cut++) {
        ck_assert_int_eq(protocol_batch_check(example, cut, &h), SL_E_SHORT);
    }
}
END_TEST

START_TEST(test_flipped_bit_fails_crc) {
    uint8_t copy[sizeof(example)];
    protocol_batch_header h;
    for (size_t i = PROTOCOL_BATCH_OFF_ATTRIBUTES; i < sizeof(example); i++) {
        memcpy(copy, example, sizeof(copy));
        copy[i] ^= 0x10;
        ck_assert_int_ne(protocol_batch_check(copy, sizeof(copy), &h), SL_OK);
    }
    /* base offset and epoch are outside the CRC: rewriting them keeps it valid */
    memcpy(copy, example, sizeof(copy));
    protocol_batch_set_base_offset(copy, 12345);
    protocol_batch_set_leader_epoch(copy, 7);
    ck_assert_int_eq(protocol_batch_check(copy, sizeof(copy), &h), SL_OK);
    ck_assert(h.base_offset == 12345);
    ck_assert_int_eq(h.partition_leader_epoch, 7);
}
END_TEST

START_TEST(test_length_fields_at_extremes_are_rejected) {
    uint8_t copy[sizeof(example)];
    protocol_batch_header h;
    size_t size;
    const uint32_t lengths[] = { 0, 48, 0x7fffffff, 0xffffffff, 0x80000000 };
    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        memcpy(copy, example, sizeof(copy));
        sl_store_be32(copy + PROTOCOL_BATCH_OFF_LENGTH, lengths[i]);
        ck_assert_int_ne(protocol_batch_check(copy, sizeof(copy), &h), SL_OK);
        ck_assert_int_ne(protocol_batch_size(copy, sizeof(copy), 1 << 20, &size), SL_OK);
    }
    const uint32_t counts[] = { 0xffffffff, 0x7fffffff, 2 };
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        memcpy(copy, example, sizeof(copy));
        sl_store_be32(copy + PROTOCOL_BATCH_OFF_COUNT, counts[i]);
        ck_assert_int_eq(protocol_batch_header_parse(copy, sizeof(copy), &h), SL_E_CORRUPT);
    }
    memcpy(copy, example, sizeof(copy));
    copy[PROTOCOL_BATCH_OFF_MAGIC] = 1;
    ck_assert_int_eq(protocol_batch_header_parse(copy, sizeof(copy), &h), SL_E_CORRUPT);
}
END_TEST

Suite *protocol_batch_suite(void) {
    Suite *s = suite_create("protocol_batch");
    TCase *tc = tcase_create("header");
    tcase_add_test(tc, test_example_batch_parses_and_crc_matches);
    tcase_add_test(tc, test_every_truncation_is_short_not_crash);
    tcase_add_test(tc, test_flipped_bit_fails_crc);
    tcase_add_test(tc, test_length_fields_at_extremes_are_rejected);
    suite_add_tcase(s, tc);
    return s;
}
