/* Unit tests for records inside a batch: the iterator, the builder, validation and
 * control records (protocol_record.c, protocol_record_build.c). */
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

Suite *protocol_record_suite(void);

#define CAP (1u << 20) /* decompression cap for these tests */

/* The worked example from the Kafka protocol reference (README §6). */
static const uint8_t example[] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x3a, 0xff, 0xff,
    0xff, 0xff, 0x02, 0xe9, 0x9b, 0x8d, 0xd8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, 0x00, 0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68,
    0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x00, 0x00, 0x00, 0x01, 0x10, 0x00, 0x00, 0x00, 0x02, 0x6b, 0x02, 0x76, 0x00,
};

static sl_bytes B(const char *s) {
    return s ? (sl_bytes){ (const uint8_t *)s, (int32_t)strlen(s) } : SL_BYTES_NULL;
}

static void assert_bytes_eq(sl_bytes got, const char *want) {
    if (!want) {
        ck_assert_int_eq(got.len, -1);
        return;
    }
    ck_assert_int_eq(got.len, (int32_t)strlen(want));
    ck_assert(memcmp(got.ptr, want, strlen(want)) == 0);
}

/* Iterate all records; returns the count, or the negative error. */
static int count_records(const uint8_t *batch, size_t size) {
    sl_buf scratch;
    sl_buf_init(&scratch);
    protocol_record_iter it;
    int rc = protocol_record_iter_init(&it, batch, size, &scratch, CAP);
    int n = 0;
    protocol_record rec;
    while (rc == SL_OK) {
        int next = protocol_record_iter_next(&it, &rec);
        if (next <= 0) {
            rc = next;
            break;
        }
        n++;
        ck_assert_int_le(n, it.h.record_count);
    }
    sl_buf_deinit(&scratch);
    return rc < 0 ? rc : n;
}

/* A batch around a hand-written records section, with a correct CRC. */
static void make_raw_batch(
    sl_buf *out, const uint8_t *records, size_t len, int32_t count, int32_t last_offset_delta) {
    sl_buf_reset(out);
    sl_buf_put_i64(out, 0);
    sl_buf_put_i32(out, (int32_t)(49 + len));
    sl_buf_put_i32(out, -1);
    sl_buf_put_i8(out, 2);
    sl_buf_put_u32(out, 0);
    sl_buf_put_i16(out, 0);
    sl_buf_put_i32(out, last_offset_delta);
    sl_buf_put_i64(out, 1000);
    sl_buf_put_i64(out, 1000);
    sl_buf_put_i64(out, -1);
    sl_buf_put_i16(out, -1);
    sl_buf_put_i32(out, -1);
    sl_buf_put_i32(out, count);
    sl_buf_put(out, records, len);
    sl_store_be32(out->data + PROTOCOL_BATCH_OFF_CRC, protocol_batch_crc(out->data, out->len));
}

static void fix_crc(uint8_t *batch, size_t size) {
    sl_store_be32(batch + PROTOCOL_BATCH_OFF_CRC, protocol_batch_crc(batch, size));
}

/* ---------------- iterate ---------------- */

START_TEST(test_example_iterates_one_record) {
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, example, sizeof(example), NULL, CAP), SL_OK);
    protocol_record rec;
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
    ck_assert(rec.offset == 0);
    ck_assert(rec.timestamp == 1700000000000LL);
    assert_bytes_eq(rec.key, "k");
    assert_bytes_eq(rec.value, "v");
    ck_assert_int_eq(rec.header_count, 0);
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 0);
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 0);
    ck_assert_int_eq(protocol_batch_validate_records(example, sizeof(example), NULL, CAP), SL_OK);
}
END_TEST

START_TEST(test_offsets_timestamps_are_absolute) {
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.base_offset = 5000;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    const int64_t ts[] = { 1700000000500LL, 1700000000100LL, 1700000000900LL, -1 };
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(protocol_batch_builder_add(&b, ts[i], B("k"), B(NULL), NULL, 0), SL_OK);
    }
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    protocol_batch_header h;
    ck_assert_int_eq(protocol_batch_check(out.data, out.len, &h), SL_OK);
    ck_assert(h.base_timestamp == ts[0]);
    ck_assert(h.max_timestamp == ts[2]);
    ck_assert_int_eq(h.last_offset_delta, 3);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, NULL, CAP), SL_OK);
    protocol_record rec;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
        ck_assert(rec.offset == 5000 + i);
        ck_assert(rec.timestamp == ts[i]);
        ck_assert_int_eq(rec.value.len, -1);
    }
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 0);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

START_TEST(test_log_append_time_overrides_record_timestamps) {
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.log_append_time = true;
    opt.log_append_time_ms = 1800000000000LL;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    ck_assert_int_eq(protocol_batch_builder_add(&b, 5, B("a"), B("1"), NULL, 0), SL_OK);
    ck_assert_int_eq(protocol_batch_builder_add(&b, 9, B("b"), B("2"), NULL, 0), SL_OK);
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, NULL, CAP), SL_OK);
    ck_assert(it.h.attributes & PROTOCOL_ATTR_LOG_APPEND_TIME);
    protocol_record rec;
    while (protocol_record_iter_next(&it, &rec) == 1)
        ck_assert(rec.timestamp == 1800000000000LL);
    ck_assert_int_eq(it.record_index, 2);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

START_TEST(test_headers_iterate_with_null_values) {
    protocol_record_header hs[] = {
        { sl_str_c("trace"), B("abc") },
        { sl_str_c(""), B("") },
        { sl_str_c("gone"), SL_BYTES_NULL },
    };
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, NULL);
    ck_assert_int_eq(protocol_batch_builder_add(&b, 1, B(NULL), B("v"), hs, 3), SL_OK);
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, NULL, CAP), SL_OK);
    protocol_record rec;
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
    ck_assert_int_eq(rec.key.len, -1);
    ck_assert_int_eq(rec.header_count, 3);
    protocol_header_iter hi;
    protocol_header_iter_init(&hi, &rec);
    protocol_record_header h;
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(protocol_header_iter_next(&hi, &h), 1);
        ck_assert(sl_str_eq(h.key, hs[i].key));
        ck_assert_int_eq(h.value.len, hs[i].value.len);
        if (h.value.len > 0) ck_assert(memcmp(h.value.ptr, hs[i].value.ptr, 3) == 0);
    }
    ck_assert_int_eq(protocol_header_iter_next(&hi, &h), 0);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

/* ---------------- build ---------------- */

START_TEST(test_builder_rebuilds_reference_example_byte_for_byte) {
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, NULL);
    ck_assert_int_eq(protocol_batch_builder_add(&b, 1700000000000LL, B("k"), B("v"), NULL, 0),
                     SL_OK);
    ck_assert_uint_eq(protocol_batch_builder_size(&b), sizeof(example));
    sl_buf out;
    sl_buf_init(&out);
    sl_buf_put(&out, "xy", 2); /* finish appends */
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    ck_assert_uint_eq(out.len, 2 + sizeof(example));
    ck_assert(memcmp(out.data + 2, example, sizeof(example)) == 0);
    ck_assert_uint_eq(sl_load_be32(out.data + 2 + PROTOCOL_BATCH_OFF_CRC), 0xe99b8dd8u);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

START_TEST(test_builder_many_records_check_and_round_trip) {
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.producer_id = 77;
    opt.producer_epoch = 3;
    opt.base_sequence = 100;
    opt.partition_leader_epoch = 9;
    opt.transactional = true;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    char key[32], value[64];
    protocol_record_header hdr = { sl_str_c("h"), B("x") };
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        snprintf(value, sizeof(value), "value-%d-%0*d", i, i % 40, 0);
        ck_assert_int_eq(protocol_batch_builder_add(&b, 1000 + i, i % 3 ? B(key) : B(NULL),
                                                    i % 5 ? B(value) : B(NULL), &hdr,
                                                    (size_t)(i % 2)),
                         SL_OK);
    }
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    protocol_batch_header h;
    ck_assert_int_eq(protocol_batch_check(out.data, out.len, &h), SL_OK);
    ck_assert_int_eq(h.record_count, 500);
    ck_assert_int_eq(h.last_offset_delta, 499);
    ck_assert(h.producer_id == 77);
    ck_assert_int_eq(h.producer_epoch, 3);
    ck_assert_int_eq(h.base_sequence, 100);
    ck_assert_int_eq(h.partition_leader_epoch, 9);
    ck_assert(protocol_batch_is_transactional(&h));
    ck_assert(!protocol_batch_is_control(&h));
    ck_assert_int_eq(protocol_batch_validate_records(out.data, out.len, NULL, CAP), SL_OK);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, NULL, CAP), SL_OK);
    protocol_record rec;
    for (int i = 0; i < 500; i++) {
        ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
        snprintf(key, sizeof(key), "key-%d", i);
        snprintf(value, sizeof(value), "value-%d-%0*d", i, i % 40, 0);
        assert_bytes_eq(rec.key, i % 3 ? key : NULL);
        assert_bytes_eq(rec.value, i % 5 ? value : NULL);
        ck_assert_int_eq(rec.header_count, i % 2);
        ck_assert(rec.timestamp == 1000 + i);
    }
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 0);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

START_TEST(test_add_record_keeps_offset_gaps_and_attributes) {
    /* a compacted rewrite: offsets 10, 13, 20 of a batch based at 10 */
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.base_offset = 10;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    const int64_t offsets[] = { 10, 13, 20 };
    protocol_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.key = B("k");
    rec.value = B("v");
    rec.headers = (sl_bytes){ (const uint8_t *)"", 0 };
    for (int i = 0; i < 3; i++) {
        rec.offset = offsets[i];
        rec.timestamp = 50 - i;
        rec.attributes = (int8_t)i;
        ck_assert_int_eq(protocol_batch_builder_add_record(&b, &rec), SL_OK);
    }
    rec.offset = 20; /* not above the previous one */
    ck_assert_int_eq(protocol_batch_builder_add_record(&b, &rec), SL_E_INVALID);
    rec.offset = 9; /* below the base offset */
    ck_assert_int_eq(protocol_batch_builder_add_record(&b, &rec), SL_E_INVALID);
    rec.offset = 10 + (int64_t)INT32_MAX + 1;
    ck_assert_int_eq(protocol_batch_builder_add_record(&b, &rec), SL_E_INVALID);
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, NULL, CAP), SL_OK);
    ck_assert_int_eq(it.h.last_offset_delta, 10);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
        ck_assert(rec.offset == offsets[i]);
        ck_assert(rec.timestamp == 50 - i);
        ck_assert_int_eq(rec.attributes, i);
    }
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 0);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

START_TEST(test_builder_rejects_bad_arguments) {
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, NULL);
    protocol_record_header null_key = { SL_STR_NULL, B("v") };
    ck_assert_int_eq(protocol_batch_builder_add(&b, 0, B("k"), B("v"), &null_key, 1), SL_E_INVALID);
    protocol_record_header bad_value = { sl_str_c("k"), { (const uint8_t *)"", -2 } };
    ck_assert_int_eq(protocol_batch_builder_add(&b, 0, B("k"), B("v"), &bad_value, 1),
                     SL_E_INVALID);
    ck_assert_int_eq(
        protocol_batch_builder_add(&b, 0, (sl_bytes){ (const uint8_t *)"", -5 }, B("v"), NULL, 0),
        SL_E_INVALID);
    ck_assert_int_eq(b.record_count, 0);
    ck_assert_uint_eq(b.records.len, 0);
    b.opt.codec = 6;
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_E_UNSUPPORTED);
    ck_assert_uint_eq(out.len, 0);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

START_TEST(test_empty_batch_and_delete_horizon) {
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, NULL);
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    protocol_batch_header h;
    ck_assert_int_eq(protocol_batch_check(out.data, out.len, &h), SL_OK);
    ck_assert_int_eq(h.record_count, 0);
    ck_assert(h.base_timestamp == -1);
    ck_assert(h.max_timestamp == -1);
    ck_assert_int_eq(count_records(out.data, out.len), 0);

    /* KIP-534: baseTimestamp holds the horizon; record timestamps are unchanged */
    sl_buf_reset(&out);
    b.opt.delete_horizon_ms = 99999;
    protocol_batch_builder_reset(&b);
    ck_assert_int_eq(protocol_batch_builder_add(&b, 123, B("k"), B(NULL), NULL, 0), SL_OK);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, NULL, CAP), SL_OK);
    ck_assert(it.h.base_timestamp == 99999);
    ck_assert(it.h.attributes & PROTOCOL_ATTR_DELETE_HORIZON);
    protocol_record rec;
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
    ck_assert(rec.timestamp == 123);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

/* ---------------- corrupt ---------------- */

/* A batch with 3 records, 2 headers each, for the corruption tests. */
static void make_sample(sl_buf *out) {
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, NULL);
    protocol_record_header hs[] = { { sl_str_c("a"), B("1") }, { sl_str_c("bb"), B(NULL) } };
    ck_assert_int_eq(protocol_batch_builder_add(&b, 10, B("k0"), B("value0"), hs, 2), SL_OK);
    ck_assert_int_eq(protocol_batch_builder_add(&b, 11, B(NULL), B("value1"), hs, 2), SL_OK);
    ck_assert_int_eq(protocol_batch_builder_add(&b, 12, B("k2"), B(NULL), hs, 2), SL_OK);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, out), SL_OK);
    protocol_batch_builder_deinit(&b);
}

START_TEST(test_every_truncation_is_reported) {
    sl_buf out;
    sl_buf_init(&out);
    make_sample(&out);
    protocol_batch_header h;
    for (size_t cut = 0; cut < out.len; cut++) {
        ck_assert_int_ne(protocol_batch_check(out.data, cut, &h), SL_OK);
        ck_assert_int_lt(count_records(out.data, cut), 0);
    }
    /* the records section cut short while batchLength and the CRC agree */
    for (size_t cut = PROTOCOL_BATCH_HEADER_BYTES; cut < out.len; cut++) {
        sl_buf copy;
        sl_buf_init(&copy);
        sl_buf_put(&copy, out.data, cut);
        sl_store_be32(copy.data + PROTOCOL_BATCH_OFF_LENGTH, (uint32_t)(cut - 12));
        fix_crc(copy.data, copy.len);
        int rc = protocol_batch_header_parse(copy.data, copy.len, &h);
        if (rc == SL_OK) {
            ck_assert_int_eq(count_records(copy.data, copy.len), SL_E_CORRUPT);
            ck_assert_int_eq(protocol_batch_validate_records(copy.data, copy.len, NULL, CAP),
                             SL_E_CORRUPT);
        }
        sl_buf_deinit(&copy);
    }
    sl_buf_deinit(&out);
}
END_TEST

START_TEST(test_every_single_byte_corruption_is_reported) {
    sl_buf out;
    sl_buf_init(&out);
    make_sample(&out);
    const uint8_t flips[] = { 0x01, 0x10, 0x80, 0xff };
    protocol_batch_header h;
    for (size_t i = 0; i < out.len; i++) {
        for (size_t f = 0; f < sizeof(flips); f++) {
            sl_buf copy;
            sl_buf_init(&copy);
            sl_buf_put(&copy, out.data, out.len);
            copy.data[i] ^= flips[f];
            int rc = protocol_batch_check(copy.data, copy.len, &h);
            bool outside_crc = i < PROTOCOL_BATCH_OFF_LENGTH ||
                               (i >= PROTOCOL_BATCH_OFF_EPOCH && i < PROTOCOL_BATCH_OFF_MAGIC);
            if (outside_crc) {
                ck_assert_int_eq(rc, SL_OK); /* baseOffset and epoch: rewritten by design */
            } else {
                ck_assert_int_ne(rc, SL_OK);
            }
            /* with the CRC fixed, the iterator copes with whatever the bytes say */
            if (protocol_batch_header_parse(copy.data, copy.len, &h) == SL_OK) {
                fix_crc(copy.data, copy.len);
                int n = count_records(copy.data, copy.len);
                int v = protocol_batch_validate_records(copy.data, copy.len, NULL, CAP);
                ck_assert_int_eq(v == SL_OK, n >= 0);
                if (n >= 0) ck_assert_int_eq(n, h.record_count);
            }
            sl_buf_deinit(&copy);
        }
    }
    sl_buf_deinit(&out);
}
END_TEST

/* Hand-written records sections that must be refused. */
static const struct bad_section {
    const char *what;
    uint8_t bytes[24];
    size_t len;
    int32_t count;
    int32_t last_delta;
} bad_sections[] = {
    /* length 8: attr, ts, offset 0, key len 1 'k', value len 1 'v', 0 headers — valid */
    { "valid", { 0x10, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0 }, 9, 1, 0 },
    { "count above records",
      { 0x26, 0,   0,   0,   0x02, 'k', 0x18, 'v', 'v', 'v',
        'v',  'v', 'v', 'v', 'v',  'v', 'v',  'v', 'v', 0 },
      20,
      2,
      1 },
    { "trailing bytes", { 0x10, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0, 0, 0, 0, 0, 0, 0, 0 }, 16, 1, 0 },
    { "record runs past section", { 0x14, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0, 0 }, 10, 1, 0 },
    { "bytes left in record", { 0x12, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0, 0 }, 10, 1, 0 },
    { "negative record length", { 0x01, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0 }, 9, 1, 0 },
    { "key length -2", { 0x10, 0, 0, 0, 0x03, 'k', 0x02, 'v', 0 }, 9, 1, 0 },
    { "key past record", { 0x10, 0, 0, 0, 0x20, 'k', 0x02, 'v', 0 }, 9, 1, 0 },
    { "negative header count", { 0x10, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0x01 }, 9, 1, 0 },
    { "header count above bytes", { 0x10, 0, 0, 0, 0x02, 'k', 0x02, 'v', 0x04 }, 9, 1, 0 },
    { "null header key", { 0x10, 0, 0, 0, 0x01, 0x01, 0x02, 0x01, 0x01 }, 9, 1, 0 },
    { "offset delta above lastOffsetDelta",
      { 0x10, 0, 0, 0x02, 0x02, 'k', 0x02, 'v', 0 },
      9,
      1,
      0 },
    { "offset delta negative", { 0x10, 0, 0, 0x01, 0x02, 'k', 0x02, 'v', 0 }, 9, 1, 0 },
    { "offset delta repeats",
      { 0x0c, 0, 0, 0, 0x01, 0x01, 0, 0x0c, 0, 0, 0, 0x01, 0x01, 0 },
      14,
      2,
      1 },
    { "overlong varint", { 0x90, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 0 }, 8, 1, 0 },
    { "record length INT32_MAX", { 0xfe, 0xff, 0xff, 0xff, 0x0f, 0, 0 }, 7, 1, 0 },
    { "key length INT32_MAX", { 0x10, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f }, 9, 1, 0 },
};

START_TEST(test_malformed_records_are_corrupt) {
    const struct bad_section *t = &bad_sections[_i];
    sl_buf out;
    sl_buf_init(&out);
    make_raw_batch(&out, t->bytes, t->len, t->count, t->last_delta);
    protocol_batch_header h;
    int want = _i == 0 ? SL_OK : SL_E_CORRUPT;
    if (protocol_batch_check(out.data, out.len, &h) == SL_OK) {
        int rc = protocol_batch_validate_records(out.data, out.len, NULL, CAP);
        if (rc != want) ck_abort_msg("%s: got %s", t->what, sl_strerror(rc));
        ck_assert_int_eq(count_records(out.data, out.len) >= 0, want == SL_OK);
    } else {
        ck_assert_int_ne(want, SL_OK); /* the header check already refuses it */
    }
    sl_buf_deinit(&out);
}
END_TEST

/* ---------------- control ---------------- */

START_TEST(test_txn_markers_round_trip) {
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.producer_id = 4000;
    opt.producer_epoch = 2;
    opt.base_offset = 77;
    opt.base_sequence = 5;           /* ignored: markers carry no sequence */
    opt.codec = PROTOCOL_CODEC_ZSTD; /* ignored: markers are uncompressed */
    for (int commit = 0; commit <= 1; commit++) {
        sl_buf out;
        sl_buf_init(&out);
        ck_assert_int_eq(protocol_batch_build_txn_marker(&out, &opt, commit, 31, 1234), SL_OK);
        protocol_batch_header h;
        ck_assert_int_eq(protocol_batch_check(out.data, out.len, &h), SL_OK);
        ck_assert(protocol_batch_is_control(&h));
        ck_assert(protocol_batch_is_transactional(&h));
        ck_assert_int_eq(protocol_batch_codec(&h), PROTOCOL_CODEC_NONE);
        ck_assert(h.producer_id == 4000);
        ck_assert_int_eq(h.producer_epoch, 2);
        ck_assert_int_eq(h.base_sequence, -1);
        ck_assert_int_eq(h.record_count, 1);
        ck_assert_int_eq(protocol_batch_validate_records(out.data, out.len, NULL, CAP), SL_OK);
        protocol_record_iter it;
        ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, NULL, CAP), SL_OK);
        protocol_record rec;
        ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
        ck_assert(rec.offset == 77);
        ck_assert_int_eq(rec.key.len, 4);
        ck_assert(memcmp(rec.key.ptr, commit ? "\0\0\0\1" : "\0\0\0\0", 4) == 0);
        ck_assert_int_eq(rec.value.len, 6);
        ck_assert(memcmp(rec.value.ptr, "\0\0\0\0\0\x1f", 6) == 0);
        int16_t type;
        ck_assert_int_eq(protocol_control_record_type(&rec, &type), SL_OK);
        ck_assert_int_eq(type, commit);
        bool is_commit = !commit;
        int32_t epoch = 0;
        ck_assert_int_eq(protocol_txn_marker_parse(&rec, &is_commit, &epoch), SL_OK);
        ck_assert_int_eq(is_commit, commit);
        ck_assert_int_eq(epoch, 31);
        sl_buf_deinit(&out);
    }
}
END_TEST

START_TEST(test_control_records_checked) {
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(
        protocol_batch_build_control(&out, NULL, PROTOCOL_CONTROL_LEADER_CHANGE, B("\0\0body"), 5),
        SL_OK);
    ck_assert_int_eq(protocol_batch_validate_records(out.data, out.len, NULL, CAP), SL_OK);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, NULL, CAP), SL_OK);
    protocol_record rec;
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
    int16_t type;
    ck_assert_int_eq(protocol_control_record_type(&rec, &type), SL_OK);
    ck_assert_int_eq(type, PROTOCOL_CONTROL_LEADER_CHANGE);
    bool commit;
    int32_t epoch;
    ck_assert_int_eq(protocol_txn_marker_parse(&rec, &commit, &epoch), SL_E_INVALID);
    /* short key, negative version, short marker value */
    protocol_record bad = rec;
    bad.key.len = 3;
    ck_assert_int_eq(protocol_control_record_type(&bad, &type), SL_E_CORRUPT);
    bad.key = B(NULL);
    ck_assert_int_eq(protocol_control_record_type(&bad, &type), SL_E_CORRUPT);
    bad.key = (sl_bytes){ (const uint8_t *)"\xff\xff\0\1", 4 };
    ck_assert_int_eq(protocol_control_record_type(&bad, &type), SL_E_CORRUPT);
    bad.key = (sl_bytes){ (const uint8_t *)"\0\0\0\1", 4 };
    bad.value = (sl_bytes){ (const uint8_t *)"\0\0\0\0\0", 5 };
    ck_assert_int_eq(protocol_txn_marker_parse(&bad, &commit, &epoch), SL_E_CORRUPT);
    /* a control batch whose record has an ordinary key fails validation */
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.control = true;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    ck_assert_int_eq(protocol_batch_builder_add(&b, 1, B("k"), B("v"), NULL, 0), SL_OK);
    sl_buf_reset(&out);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    ck_assert_int_eq(protocol_batch_validate_records(out.data, out.len, NULL, CAP), SL_E_CORRUPT);
    protocol_batch_builder_deinit(&b);
    sl_buf_deinit(&out);
}
END_TEST

Suite *protocol_record_suite(void) {
    Suite *s = suite_create("protocol_record");
    TCase *tc = tcase_create("iterate");
    tcase_add_test(tc, test_example_iterates_one_record);
    tcase_add_test(tc, test_offsets_timestamps_are_absolute);
    tcase_add_test(tc, test_log_append_time_overrides_record_timestamps);
    tcase_add_test(tc, test_headers_iterate_with_null_values);
    suite_add_tcase(s, tc);

    tc = tcase_create("build");
    tcase_add_test(tc, test_builder_rebuilds_reference_example_byte_for_byte);
    tcase_add_test(tc, test_builder_many_records_check_and_round_trip);
    tcase_add_test(tc, test_add_record_keeps_offset_gaps_and_attributes);
    tcase_add_test(tc, test_builder_rejects_bad_arguments);
    tcase_add_test(tc, test_empty_batch_and_delete_horizon);
    suite_add_tcase(s, tc);

    tc = tcase_create("corrupt");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_every_truncation_is_reported);
    tcase_add_test(tc, test_every_single_byte_corruption_is_reported);
    tcase_add_loop_test(tc, test_malformed_records_are_corrupt, 0,
                        (int)(sizeof(bad_sections) / sizeof(bad_sections[0])));
    suite_add_tcase(s, tc);

    tc = tcase_create("control");
    tcase_add_test(tc, test_txn_markers_round_trip);
    tcase_add_test(tc, test_control_records_checked);
    suite_add_tcase(s, tc);
    return s;
}
