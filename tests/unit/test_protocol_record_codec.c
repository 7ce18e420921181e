/* Unit tests for compression (protocol_compress.c) and compressed batches: round trips
 * per codec, batches captured from real clients (vectors/records/), framings, output
 * caps against decompression bombs, and corrupt input. */
#include "common/sl_err.h"
#include "common/sl_rand.h"
#include "protocol/protocol.h"

#include <check.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "vectors/records/kcat_batches.inc"

Suite *protocol_record_codec_suite(void);

#define CAP    (4u << 20)
#define CODECS 5

static sl_bytes B(const char *s) {
    return s ? (sl_bytes){ (const uint8_t *)s, (int32_t)strlen(s) } : SL_BYTES_NULL;
}

static bool bytes_eq(sl_bytes got, const char *want) {
    if (!want) return got.len == -1;
    return got.len == (int32_t)strlen(want) && memcmp(got.ptr, want, strlen(want)) == 0;
}

/* Text-like bytes: compressible, but not trivially. */
static void fill_text(uint8_t *p, size_t n, uint64_t seed) {
    static const char *const words[] = { "offset ", "broker ", "record ", "kafka ",
                                         "batch ",  "leader ", "epoch ",  "0123 " };
    sl_rand rng;
    sl_rand_seed(&rng, seed);
    size_t i = 0;
    while (i < n) {
        const char *w = words[sl_rand_below(&rng, 8)];
        for (size_t j = 0; w[j] && i < n; j++)
            p[i++] = (uint8_t)w[j];
    }
}

static int
compress_then_decompress(int codec, const uint8_t *in, size_t len, size_t cap, sl_buf *out) {
    sl_buf packed;
    sl_buf_init(&packed);
    ck_assert_int_eq(protocol_compress(codec, in, len, &packed), SL_OK);
    int rc = protocol_decompress(codec, packed.data, packed.len, cap, out);
    sl_buf_deinit(&packed);
    return rc;
}

/* ---------------- round trip ---------------- */

START_TEST(test_codec_round_trips_sizes) {
    int codec = _i;
    const size_t sizes[] = { 0, 1, 100, 32 * 1024, 32 * 1024 + 1, 200 * 1000, 1 << 20 };
    static uint8_t data[1 << 20];
    fill_text(data, sizeof(data), 42);
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        sl_buf out;
        sl_buf_init(&out);
        sl_buf_put(&out, "pre", 3); /* results are appended */
        ck_assert_int_eq(compress_then_decompress(codec, data, sizes[k], CAP, &out), SL_OK);
        ck_assert_uint_eq(out.len, 3 + sizes[k]);
        ck_assert(memcmp(out.data, "pre", 3) == 0);
        if (sizes[k]) ck_assert(memcmp(out.data + 3, data, sizes[k]) == 0);
        sl_buf_deinit(&out);
    }
}
END_TEST

START_TEST(test_compressed_batches_round_trip) {
    int codec = _i;
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.codec = codec;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    char key[32], value[200];
    protocol_record_header hs[] = { { sl_str_c("h1"), B("x") }, { sl_str_c("h2"), B(NULL) } };
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof(key), "user-%d", i % 97);
        fill_text((uint8_t *)value, sizeof(value) - 1, (uint64_t)i);
        value[(size_t)(i % 199)] = 0;
        ck_assert_int_eq(
            protocol_batch_builder_add(&b, 1700000000000LL + i, i % 4 ? B(key) : B(NULL),
                                       i % 7 ? B(value) : B(NULL), hs, (size_t)(i % 3)),
            SL_OK);
    }
    sl_buf out, scratch;
    sl_buf_init(&out);
    sl_buf_init(&scratch);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    protocol_batch_header h;
    ck_assert_int_eq(protocol_batch_check(out.data, out.len, &h), SL_OK);
    ck_assert_int_eq(protocol_batch_codec(&h), codec);
    if (codec != PROTOCOL_CODEC_NONE) ck_assert_uint_lt(out.len, b.records.len / 2);
    ck_assert_int_eq(protocol_batch_validate_records(out.data, out.len, &scratch, CAP), SL_OK);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, &scratch, CAP), SL_OK);
    protocol_record rec;
    for (int i = 0; i < 2000; i++) {
        ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
        snprintf(key, sizeof(key), "user-%d", i % 97);
        fill_text((uint8_t *)value, sizeof(value) - 1, (uint64_t)i);
        value[(size_t)(i % 199)] = 0;
        ck_assert(bytes_eq(rec.key, i % 4 ? key : NULL));
        ck_assert(bytes_eq(rec.value, i % 7 ? value : NULL));
        ck_assert_int_eq(rec.header_count, i % 3);
        ck_assert(rec.offset == i);
    }
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 0);
    /* a cap below the records section's size stops the iterator */
    ck_assert_int_eq(protocol_record_iter_init(&it, out.data, out.len, &scratch, 1000),
                     codec == PROTOCOL_CODEC_NONE ? SL_OK : SL_E_TOO_LARGE);
    sl_buf_deinit(&scratch);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

/* ---------------- real clients ---------------- */

static void check_vector_records(const struct kcat_vector *v, const uint8_t *batch, size_t size) {
    sl_buf scratch;
    sl_buf_init(&scratch);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, batch, size, &scratch, CAP), SL_OK);
    size_t n = sizeof(kcat_messages) / sizeof(kcat_messages[0]);
    protocol_record rec;
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 1);
        ck_assert(rec.offset == (int64_t)i);
        if (!bytes_eq(rec.key, kcat_messages[i][0])) ck_abort_msg("%s: key %zu", v->name, i);
        if (!bytes_eq(rec.value, kcat_messages[i][1])) ck_abort_msg("%s: value %zu", v->name, i);
        ck_assert_int_eq(rec.header_count, v->header_count);
        protocol_header_iter hi;
        protocol_header_iter_init(&hi, &rec);
        protocol_record_header hdr;
        for (int j = 0; j < v->header_count; j++) {
            ck_assert_int_eq(protocol_header_iter_next(&hi, &hdr), 1);
            ck_assert(sl_str_eq_c(hdr.key, kcat_headers[j][0]));
            ck_assert(bytes_eq(hdr.value, kcat_headers[j][1]));
        }
        ck_assert_int_eq(protocol_header_iter_next(&hi, &hdr), 0);
    }
    ck_assert_int_eq(protocol_record_iter_next(&it, &rec), 0);
    sl_buf_deinit(&scratch);
}

START_TEST(test_client_batches_decode) {
    const struct kcat_vector *v = &kcat_vectors[_i];
    protocol_batch_header h;
    ck_assert_int_eq(protocol_batch_check(v->batch, v->size, &h), SL_OK);
    ck_assert_int_eq(h.record_count, (int32_t)(sizeof(kcat_messages) / sizeof(kcat_messages[0])));
    if (strstr(v->name, "idempotent")) {
        ck_assert(h.producer_id == KCAT_PRODUCER_ID);
        ck_assert_int_eq(h.producer_epoch, 0);
        ck_assert_int_eq(h.base_sequence, 0);
    }
    ck_assert_int_eq(protocol_batch_validate_records(v->batch, v->size, NULL, CAP), SL_OK);
    check_vector_records(v, v->batch, v->size);

    /* re-encoded by our builder with the same codec, the records read back the same */
    sl_buf scratch, out;
    sl_buf_init(&scratch);
    sl_buf_init(&out);
    protocol_record_iter it;
    ck_assert_int_eq(protocol_record_iter_init(&it, v->batch, v->size, &scratch, CAP), SL_OK);
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.codec = protocol_batch_codec(&h);
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    protocol_record rec;
    while (protocol_record_iter_next(&it, &rec) == 1) {
        ck_assert_int_eq(protocol_batch_builder_add_record(&b, &rec), SL_OK);
    }
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    check_vector_records(v, out.data, out.len);
    protocol_batch_builder_deinit(&b);
    sl_buf_deinit(&out);
    sl_buf_deinit(&scratch);
}
END_TEST

/* ---------------- framing ---------------- */

START_TEST(test_snappy_writes_xerial_and_reads_raw) {
    static uint8_t data[100000];
    fill_text(data, sizeof(data), 7);
    sl_buf packed, out;
    sl_buf_init(&packed);
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_compress(PROTOCOL_CODEC_SNAPPY, data, sizeof(data), &packed), SL_OK);
    static const uint8_t header[16] = { 0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                        0,    0,   0,   1,   0,   0,   0,   1 };
    ck_assert(memcmp(packed.data, header, 16) == 0);
    /* 100000 bytes in 32 KiB chunks: 4 chunks, each a valid raw snappy block */
    size_t pos = 16, chunks = 0;
    while (pos < packed.len) {
        uint32_t clen = sl_load_be32(packed.data + pos);
        ck_assert_int_eq(
            snappy_validate_compressed_buffer((const char *)packed.data + pos + 4, clen),
            SNAPPY_OK);
        pos += 4 + clen;
        chunks++;
    }
    ck_assert_uint_eq(pos, packed.len);
    ck_assert_uint_eq(chunks, 4);
    /* two xerial streams back to back read as one (snappy-java does the same) */
    sl_buf_put(&packed, packed.data, packed.len);
    ck_assert_int_eq(protocol_decompress(PROTOCOL_CODEC_SNAPPY, packed.data, packed.len, CAP, &out),
                     SL_OK);
    ck_assert_uint_eq(out.len, 2 * sizeof(data));
    ck_assert(memcmp(out.data + sizeof(data), data, sizeof(data)) == 0);
    /* raw snappy, as librdkafka writes it */
    size_t raw_len = snappy_max_compressed_length(sizeof(data));
    char *raw = malloc(raw_len);
    ck_assert_int_eq(snappy_compress((const char *)data, sizeof(data), raw, &raw_len), SNAPPY_OK);
    sl_buf_reset(&out);
    ck_assert_int_eq(
        protocol_decompress(PROTOCOL_CODEC_SNAPPY, (const uint8_t *)raw, raw_len, CAP, &out),
        SL_OK);
    ck_assert_uint_eq(out.len, sizeof(data));
    ck_assert(memcmp(out.data, data, sizeof(data)) == 0);
    free(raw);
    sl_buf_deinit(&out);
    sl_buf_deinit(&packed);
}
END_TEST

START_TEST(test_lz4_writes_java_compatible_frames) {
    static uint8_t data[200000];
    fill_text(data, sizeof(data), 9);
    sl_buf packed, out;
    sl_buf_init(&packed);
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_compress(PROTOCOL_CODEC_LZ4, data, sizeof(data), &packed), SL_OK);
    ck_assert_uint_eq(sl_load_be32(packed.data), 0x04224d18); /* magic, little-endian */
    /* FLG: version 01, independent blocks, no checksums, no content size; BD: 64 KiB */
    ck_assert_uint_eq(packed.data[4], 0x60);
    ck_assert_uint_eq(packed.data[5], 0x40);
    /* concatenated frames decode as one stream */
    sl_buf_put(&packed, packed.data, packed.len);
    ck_assert_int_eq(protocol_decompress(PROTOCOL_CODEC_LZ4, packed.data, packed.len, CAP, &out),
                     SL_OK);
    ck_assert_uint_eq(out.len, 2 * sizeof(data));
    ck_assert(memcmp(out.data, data, sizeof(data)) == 0);
    sl_buf_deinit(&out);
    sl_buf_deinit(&packed);
}
END_TEST

START_TEST(test_gzip_members_and_zstd_streams) {
    static uint8_t data[50000];
    fill_text(data, sizeof(data), 11);
    sl_buf packed, out;
    sl_buf_init(&packed);
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_compress(PROTOCOL_CODEC_GZIP, data, sizeof(data), &packed), SL_OK);
    ck_assert_uint_eq(packed.data[0], 0x1f);
    ck_assert_uint_eq(packed.data[1], 0x8b);
    sl_buf_put(&packed, packed.data, packed.len); /* two gzip members */
    ck_assert_int_eq(protocol_decompress(PROTOCOL_CODEC_GZIP, packed.data, packed.len, CAP, &out),
                     SL_OK);
    ck_assert_uint_eq(out.len, 2 * sizeof(data));
    sl_buf_put_u8(&packed, 0); /* trailing garbage */
    ck_assert_int_eq(protocol_decompress(PROTOCOL_CODEC_GZIP, packed.data, packed.len, CAP, &out),
                     SL_E_CORRUPT);

    /* a streamed zstd frame carries no content size */
    ZSTD_CCtx *cctx = ZSTD_createCCtx();
    size_t bound = ZSTD_compressBound(sizeof(data));
    sl_buf_reset(&packed);
    ZSTD_outBuffer ob = { sl_buf_reserve(&packed, bound), bound, 0 };
    ZSTD_inBuffer ib = { data, sizeof(data), 0 };
    ck_assert(!ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
    ck_assert_uint_eq(ZSTD_compressStream2(cctx, &ob, &ib, ZSTD_e_end), 0);
    ZSTD_freeCCtx(cctx);
    sl_buf_truncate(&packed, ob.pos);
    ck_assert(ZSTD_getFrameContentSize(packed.data, packed.len) == ZSTD_CONTENTSIZE_UNKNOWN);
    sl_buf_reset(&out);
    ck_assert_int_eq(protocol_decompress(PROTOCOL_CODEC_ZSTD, packed.data, packed.len, CAP, &out),
                     SL_OK);
    ck_assert_uint_eq(out.len, sizeof(data));
    ck_assert(memcmp(out.data, data, sizeof(data)) == 0);
    sl_buf_deinit(&out);
    sl_buf_deinit(&packed);
}
END_TEST

/* ---------------- caps ---------------- */

/* 64 MiB of zeros compresses to a few KiB to a few MiB: a bomb for a 1 MiB cap. */
START_TEST(test_decompression_bombs_stop_at_the_cap) {
    int codec = _i;
    size_t big = 64u << 20;
    uint8_t *zeros = calloc(1, big);
    sl_buf packed, out;
    sl_buf_init(&packed);
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_compress(codec, zeros, big, &packed), SL_OK);
    free(zeros);
    sl_buf_put(&out, "keep", 4);
    size_t cap = 1u << 20;
    ck_assert_int_eq(protocol_decompress(codec, packed.data, packed.len, cap, &out),
                     SL_E_TOO_LARGE);
    ck_assert_uint_eq(out.len, 4); /* unchanged on error */
    ck_assert(memcmp(out.data, "keep", 4) == 0);
    /* the output buffer never grew far past the cap */
    ck_assert_uint_le(out.cap, 4 * cap);
    sl_buf_deinit(&out);
    sl_buf_deinit(&packed);
}
END_TEST

START_TEST(test_cap_is_exact) {
    int codec = _i;
    static uint8_t data[70000];
    fill_text(data, sizeof(data), 3);
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(compress_then_decompress(codec, data, sizeof(data), sizeof(data), &out),
                     SL_OK);
    ck_assert_uint_eq(out.len, sizeof(data));
    sl_buf_reset(&out);
    ck_assert_int_eq(compress_then_decompress(codec, data, sizeof(data), sizeof(data) - 1, &out),
                     SL_E_TOO_LARGE);
    ck_assert_uint_eq(out.len, 0);
    sl_buf_deinit(&out);
}
END_TEST

START_TEST(test_declared_sizes_checked_before_inflating) {
    /* frames that declare 1 GiB: refused from the header, nothing reserved */
    sl_buf out;
    sl_buf_init(&out);
    size_t huge = (size_t)1 << 30;
    /* hand-made zstd frame: single segment, 8-byte content size 2^30, one empty block */
    uint8_t zhdr[] = { 0x28, 0xb5, 0x2f, 0xfd, 0xe0, 0, 0, 0, 0x40, 0, 0, 0, 0, 0x01, 0, 0 };
    ck_assert(ZSTD_getFrameContentSize(zhdr, sizeof(zhdr)) == huge);
    ck_assert_int_eq(protocol_decompress(PROTOCOL_CODEC_ZSTD, zhdr, sizeof(zhdr), CAP, &out),
                     SL_E_TOO_LARGE);
    ck_assert_uint_eq(out.cap, 0);

    LZ4F_preferences_t prefs;
    memset(&prefs, 0, sizeof(prefs));
    prefs.frameInfo.contentSize = huge;
    uint8_t lhdr[LZ4F_HEADER_SIZE_MAX];
    LZ4F_cctx *cctx;
    ck_assert(!LZ4F_isError(LZ4F_createCompressionContext(&cctx, LZ4F_VERSION)));
    size_t hlen = LZ4F_compressBegin(cctx, lhdr, sizeof(lhdr), &prefs);
    ck_assert(!LZ4F_isError(hlen));
    LZ4F_freeCompressionContext(cctx);
    ck_assert_int_eq(protocol_decompress(PROTOCOL_CODEC_LZ4, lhdr, hlen, CAP, &out),
                     SL_E_TOO_LARGE);
    ck_assert_uint_eq(out.cap, 0);

    /* raw snappy's length varint: 2^30 claimed by 5 bytes */
    const uint8_t shdr[] = { 0x80, 0x80, 0x80, 0x80, 0x04, 0x00 };
    ck_assert_int_eq(
        protocol_decompress(PROTOCOL_CODEC_SNAPPY, shdr, sizeof(shdr), (size_t)1 << 31, &out),
        SL_E_CORRUPT); /* more than snappy's 64/3 ratio can expand to */
    ck_assert_int_eq(protocol_decompress(PROTOCOL_CODEC_SNAPPY, shdr, sizeof(shdr), CAP, &out),
                     SL_E_CORRUPT);
    ck_assert_uint_eq(out.cap, 0);
    sl_buf_deinit(&out);
}
END_TEST

/* ---------------- corrupt ---------------- */

START_TEST(test_truncated_and_garbage_input_is_corrupt) {
    int codec = _i;
    static uint8_t data[3000];
    fill_text(data, sizeof(data), 5);
    sl_buf packed, out;
    sl_buf_init(&packed);
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_compress(codec, data, sizeof(data), &packed), SL_OK);
    for (size_t cut = 0; cut < packed.len; cut++) {
        sl_buf_reset(&out);
        int rc = protocol_decompress(codec, packed.data, cut, CAP, &out);
        if (codec == PROTOCOL_CODEC_NONE) {
            ck_assert_int_eq(rc, SL_OK);
        } else if (codec == PROTOCOL_CODEC_SNAPPY && cut == 16) {
            ck_assert_int_eq(rc, SL_OK); /* a xerial header alone is an empty stream */
            ck_assert_uint_eq(out.len, 0);
        } else if (rc != SL_E_CORRUPT) {
            ck_abort_msg("%s cut at %zu: %s", protocol_codec_name(codec), cut, sl_strerror(rc));
        }
    }
    /* every single-byte change either fails or yields some output, never a crash */
    for (size_t i = 0; i < packed.len; i++) {
        packed.data[i] ^= 0x5a;
        sl_buf_reset(&out);
        int rc = protocol_decompress(codec, packed.data, packed.len, CAP, &out);
        ck_assert(rc == SL_OK || rc == SL_E_CORRUPT || rc == SL_E_TOO_LARGE);
        if (rc != SL_OK) ck_assert_uint_eq(out.len, 0);
        packed.data[i] ^= 0x5a;
    }
    sl_buf_deinit(&out);
    sl_buf_deinit(&packed);
}
END_TEST

START_TEST(test_unknown_codecs_unsupported) {
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_compress(5, (const uint8_t *)"x", 1, &out), SL_E_UNSUPPORTED);
    ck_assert_int_eq(protocol_compress(-1, (const uint8_t *)"x", 1, &out), SL_E_UNSUPPORTED);
    ck_assert_int_eq(protocol_decompress(7, (const uint8_t *)"x", 1, 10, &out), SL_E_UNSUPPORTED);
    ck_assert_uint_eq(out.len, 0);
    for (int c = 0; c < CODECS; c++) {
        ck_assert_int_eq(protocol_codec_from_name(protocol_codec_name(c)), c);
    }
    ck_assert_str_eq(protocol_codec_name(9), "unknown");
    ck_assert_int_eq(protocol_codec_from_name("producer"), SL_E_INVALID);
    ck_assert_int_eq(protocol_codec_from_name(NULL), SL_E_INVALID);
    sl_buf_deinit(&out);
}
END_TEST

START_TEST(test_corrupt_compressed_batches_are_reported) {
    int codec = _i + 1;
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.codec = codec;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    for (int i = 0; i < 20; i++) {
        ck_assert_int_eq(
            protocol_batch_builder_add(&b, i, B("key"), B("value value value"), NULL, 0), SL_OK);
    }
    sl_buf out, copy, scratch;
    sl_buf_init(&out);
    sl_buf_init(&copy);
    sl_buf_init(&scratch);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    protocol_batch_header h;
    for (size_t i = PROTOCOL_BATCH_OFF_MAGIC; i < out.len; i++) {
        sl_buf_reset(&copy);
        sl_buf_put(&copy, out.data, out.len);
        copy.data[i] ^= 0x21;
        ck_assert_int_ne(protocol_batch_check(copy.data, copy.len, &h), SL_OK);
        /* past the CRC: the iterator survives whatever the compressed bytes say */
        if (protocol_batch_header_parse(copy.data, copy.len, &h) != SL_OK) continue;
        int rc = protocol_batch_validate_records(copy.data, copy.len, &scratch, CAP);
        ck_assert(rc == SL_OK || rc == SL_E_CORRUPT || rc == SL_E_TOO_LARGE);
    }
    sl_buf_deinit(&scratch);
    sl_buf_deinit(&copy);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
}
END_TEST

Suite *protocol_record_codec_suite(void) {
    Suite *s = suite_create("protocol_record_codec");
    TCase *tc = tcase_create("round_trip");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_codec_round_trips_sizes, 0, CODECS);
    tcase_add_loop_test(tc, test_compressed_batches_round_trip, 0, CODECS);
    suite_add_tcase(s, tc);

    tc = tcase_create("clients");
    tcase_add_loop_test(tc, test_client_batches_decode, 0,
                        (int)(sizeof(kcat_vectors) / sizeof(kcat_vectors[0])));
    suite_add_tcase(s, tc);

    tc = tcase_create("framing");
    tcase_add_test(tc, test_snappy_writes_xerial_and_reads_raw);
    tcase_add_test(tc, test_lz4_writes_java_compatible_frames);
    tcase_add_test(tc, test_gzip_members_and_zstd_streams);
    suite_add_tcase(s, tc);

    tc = tcase_create("caps");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_decompression_bombs_stop_at_the_cap, 0, CODECS);
    tcase_add_loop_test(tc, test_cap_is_exact, 0, CODECS);
    tcase_add_test(tc, test_declared_sizes_checked_before_inflating);
    suite_add_tcase(s, tc);

    tc = tcase_create("corrupt");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_truncated_and_garbage_input_is_corrupt, 0, CODECS);
    tcase_add_test(tc, test_unknown_codecs_unsupported);
    tcase_add_loop_test(tc, test_corrupt_compressed_batches_are_reported, 0, CODECS - 1);
    suite_add_tcase(s, tc);
    return s;
}
