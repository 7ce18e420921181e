/* Unit tests for the generated Kafka message codecs (protocol_gen.c), the primitive
 * codecs (protocol_api_wire.c), headers (protocol_api.c) and error codes.
 *
 * roundtrip: every message x every version x several seeds: fill every present field
 *   with non-default values, encode, decode, compare field by field, re-encode to the
 *   same bytes.
 * truncate:  every such encoding cut at every length decodes to an error.
 * mutate:    every byte overwritten with 0xff / 0x7f runs (ones that still decode must
 *   re-encode stably); under ASan this proves no over-read.
 * vectors:   hand-assembled bytes from the protocol reference (README §3-4). */
#include "common/sl_arena.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"
#include "protocol/protocol_gen_test.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

Suite *protocol_codec_suite(void);

#define SEEDS 6 /* seeds per message version: covers null/non-null and 0-2 elements */

/* The bytes of a buffer; never NULL, even for an empty encoding (a message with no
 * fields in that version), so readers and memcmp never see a null pointer. */
static const uint8_t *buf_bytes(const sl_buf *b) {
    return b->data ? b->data : (const uint8_t *)"";
}

static bool buf_eq(const sl_buf *a, const sl_buf *b) {
    return a->len == b->len && memcmp(buf_bytes(a), buf_bytes(b), a->len) == 0;
}

/* Fill, encode and return the encoding of codec c at version v in *out. */
static void encode_filled(
    const protocol_test_codec *c, int16_t v, uint64_t seed, sl_arena *arena, sl_buf *out) {
    void *msg = sl_arena_alloc(arena, c->size);
    c->fill(msg, v, arena, seed);
    c->encode(out, v, msg);
}

static void check_roundtrip(const protocol_test_codec *c, int16_t v, uint64_t seed) {
    sl_arena arena;
    sl_arena_init(&arena);
    sl_buf first, second;
    sl_buf_init(&first);
    sl_buf_init(&second);
    void *msg = sl_arena_alloc(&arena, c->size);
    void *back = sl_arena_alloc(&arena, c->size);
    c->fill(msg, v, &arena, seed);
    c->encode(&first, v, msg);

    sl_reader r;
    sl_reader_init(&r, buf_bytes(&first), first.len);
    int rc = c->decode(&r, v, &arena, back);
    ck_assert_msg(rc == SL_OK, "%s v%d seed %d: decode %s", c->name, v, (int)seed, sl_strerror(rc));
    ck_assert_msg(sl_reader_remaining(&r) == 0, "%s v%d: %zu bytes left", c->name, v,
                  sl_reader_remaining(&r));
    ck_assert_msg(c->equal(msg, back, v), "%s v%d seed %d: decoded fields differ", c->name, v,
                  (int)seed);
    c->encode(&second, v, back);
    ck_assert_msg(buf_eq(&first, &second), "%s v%d seed %d: re-encoding differs", c->name, v,
                  (int)seed);
    sl_buf_deinit(&first);
    sl_buf_deinit(&second);
    sl_arena_deinit(&arena);
}

START_TEST(test_every_message_version_roundtrips) {
    const protocol_test_codec *c = &protocol_test_codecs[_i];
    for (int16_t v = c->min_version; v <= c->max_version; v++) {
        for (uint64_t seed = 0; seed < SEEDS; seed++) {
            check_roundtrip(c, v, seed);
        }
    }
}
END_TEST

START_TEST(test_every_truncation_is_an_error) {
    const protocol_test_codec *c = &protocol_test_codecs[_i];
    for (int16_t v = c->min_version; v <= c->max_version; v++) {
        sl_arena arena;
        sl_arena_init(&arena);
        sl_buf enc;
        sl_buf_init(&enc);
        encode_filled(c, v, 1, &arena, &enc);
        void *back = sl_arena_alloc(&arena, c->size);
        for (size_t cut = 0; cut < enc.len; cut++) {
            /* a copy of exactly cut bytes, so ASan catches any read past the end */
            uint8_t *copy = sl_arena_alloc(&arena, cut + 1);
            memcpy(copy, enc.data, cut);
            sl_reader r;
            sl_reader_init(&r, copy, cut);
            int rc = c->decode(&r, v, &arena, back);
            ck_assert_msg(rc == SL_E_SHORT || rc == SL_E_CORRUPT, "%s v%d cut %zu: %s", c->name, v,
                          cut, sl_strerror(rc));
        }
        sl_buf_deinit(&enc);
        sl_arena_deinit(&arena);
    }
}
END_TEST

/* Overwrite n bytes at off with byte b; whatever decodes must re-encode stably. */
static void check_mutation(
    const protocol_test_codec *c, int16_t v, const sl_buf *enc, size_t off, size_t n, uint8_t b) {
    sl_arena arena;
    sl_arena_init(&arena);
    uint8_t *copy = sl_arena_alloc(&arena, enc->len);
    memcpy(copy, enc->data, enc->len);
    for (size_t i = off; i < off + n && i < enc->len; i++) {
        copy[i] = b;
    }
    void *msg = sl_arena_alloc(&arena, c->size);
    sl_reader r;
    sl_reader_init(&r, copy, enc->len);
    int rc = c->decode(&r, v, &arena, msg);
    ck_assert(rc == SL_OK || rc == SL_E_SHORT || rc == SL_E_CORRUPT);
    if (rc == SL_OK) {
        sl_buf first, second;
        sl_buf_init(&first);
        sl_buf_init(&second);
        c->encode(&first, v, msg);
        void *back = sl_arena_alloc(&arena, c->size);
        sl_reader_init(&r, buf_bytes(&first), first.len);
        ck_assert_int_eq(c->decode(&r, v, &arena, back), SL_OK);
        ck_assert_msg(c->equal(msg, back, v), "%s v%d: mutation at %zu (%zu x %02x) not stable",
                      c->name, v, off, n, b);
        c->encode(&second, v, back);
        ck_assert_msg(buf_eq(&first, &second), "%s v%d: unstable after mutation at %zu", c->name, v,
                      off);
        sl_buf_deinit(&first);
        sl_buf_deinit(&second);
    }
    sl_arena_deinit(&arena);
}

START_TEST(test_mutated_lengths_never_crash) {
    const protocol_test_codec *c = &protocol_test_codecs[_i];
    static const uint8_t patterns[] = { 0xff, 0x7f, 0x80, 0x00 };
    for (int16_t v = c->min_version; v <= c->max_version; v++) {
        sl_arena arena;
        sl_arena_init(&arena);
        sl_buf enc;
        sl_buf_init(&enc);
        encode_filled(c, v, 2, &arena, &enc);
        for (size_t off = 0; off < enc.len; off++) {
            for (size_t p = 0; p < sizeof(patterns); p++) {
                check_mutation(c, v, &enc, off, 1, patterns[p]);
            }
            check_mutation(c, v, &enc, off, 4, 0xff); /* an int32 length/count of -1 */
            check_mutation(c, v, &enc, off, 4, 0x7f); /* a huge positive one */
        }
        sl_buf_deinit(&enc);
        sl_arena_deinit(&arena);
    }
}
END_TEST

START_TEST(test_versions_outside_range_are_unsupported) {
    const protocol_test_codec *c = &protocol_test_codecs[_i];
    sl_arena arena;
    sl_arena_init(&arena);
    void *msg = sl_arena_alloc(&arena, c->size);
    static const uint8_t bytes[64];
    sl_reader r;
    sl_reader_init(&r, bytes, sizeof(bytes));
    ck_assert_int_eq(c->decode(&r, (int16_t)(c->max_version + 1), &arena, msg), SL_E_UNSUPPORTED);
    ck_assert_int_eq(c->decode(&r, -1, &arena, msg), SL_E_UNSUPPORTED);
    if (c->min_version > 0) {
        ck_assert_int_eq(c->decode(&r, (int16_t)(c->min_version - 1), &arena, msg),
                         SL_E_UNSUPPORTED);
    }
    ck_assert_uint_eq(sl_reader_remaining(&r), sizeof(bytes));
    sl_arena_deinit(&arena);
}
END_TEST

/* ---- known bytes ---- */

static sl_reader reader_of(const uint8_t *p, size_t n) {
    sl_reader r;
    sl_reader_init(&r, p, n);
    return r;
}

#define ASSERT_BUF_EQ(buf, arr)                                                                    \
    do {                                                                                           \
        ck_assert_uint_eq((buf).len, sizeof(arr));                                                 \
        ck_assert_mem_eq((buf).data, (arr), sizeof(arr));                                          \
    } while (0)

START_TEST(test_api_versions_v0_request_bytes) {
    /* header v1: key 18, version 0, correlation 1, client id "rdkafka"; empty body */
    static const uint8_t frame[] = { 0x00, 0x12, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
                                     0x07, 'r',  'd',  'k',  'a',  'f',  'k',  'a' };
    sl_reader r = reader_of(frame, sizeof(frame));
    protocol_request_header h;
    ck_assert_int_eq(protocol_request_header_decode(&r, &h), SL_OK);
    ck_assert_int_eq(h.api_key, PROTOCOL_API_API_VERSIONS);
    ck_assert_int_eq(h.api_version, 0);
    ck_assert_int_eq(h.correlation_id, 1);
    ck_assert(sl_str_eq_c(h.client_id, "rdkafka"));
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_ApiVersionsRequest req;
    ck_assert_int_eq(protocol_ApiVersionsRequest_decode(&r, 0, &arena, &req), SL_OK);
    ck_assert_uint_eq(sl_reader_remaining(&r), 0);
    ck_assert_int_eq(req.ClientSoftwareName.len, 0); /* absent in v0: default "" */
    sl_buf out;
    sl_buf_init(&out);
    protocol_request_header_encode(&out, &h);
    protocol_ApiVersionsRequest_encode(&out, 0, &req);
    ASSERT_BUF_EQ(out, frame);
    sl_buf_deinit(&out);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_api_versions_v3_request_bytes) {
    /* header v2 (int16 client id + empty tags), then compact strings and empty tags */
    static const uint8_t frame[] = { 0x00, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x2a, 0x00,
                                     0x02, 'c',  'k',  0x00, 0x07, 's',  'l',  'u',  'i',
                                     'c',  'e',  0x04, '1',  '.',  '0',  0x00 };
    sl_reader r = reader_of(frame, sizeof(frame));
    protocol_request_header h;
    ck_assert_int_eq(protocol_request_header_decode(&r, &h), SL_OK);
    ck_assert_int_eq(protocol_request_header_version(h.api_key, h.api_version), 2);
    ck_assert_int_eq(h.correlation_id, 42);
    ck_assert(sl_str_eq_c(h.client_id, "ck"));
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_ApiVersionsRequest req;
    ck_assert_int_eq(protocol_ApiVersionsRequest_decode(&r, 3, &arena, &req), SL_OK);
    ck_assert_uint_eq(sl_reader_remaining(&r), 0);
    ck_assert(sl_str_eq_c(req.ClientSoftwareName, "sluice"));
    ck_assert(sl_str_eq_c(req.ClientSoftwareVersion, "1.0"));
    sl_buf out;
    sl_buf_init(&out);
    protocol_request_header_encode(&out, &h);
    protocol_ApiVersionsRequest_encode(&out, 3, &req);
    ASSERT_BUF_EQ(out, frame);
    sl_buf_deinit(&out);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_metadata_v1_null_topics_bytes) {
    static const uint8_t body_null[] = { 0xff, 0xff, 0xff, 0xff };
    static const uint8_t body_empty[] = { 0x00, 0x00, 0x00, 0x00 };
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_MetadataRequest req;
    sl_reader r = reader_of(body_null, sizeof(body_null));
    ck_assert_int_eq(protocol_MetadataRequest_decode(&r, 1, &arena, &req), SL_OK);
    ck_assert_int_eq(req.Topics.count, -1); /* null: all topics */
    ck_assert(req.AllowAutoTopicCreation);  /* absent before v4: default true */
    sl_buf out;
    sl_buf_init(&out);
    protocol_MetadataRequest_encode(&out, 1, &req);
    ASSERT_BUF_EQ(out, body_null);
    /* v0 cannot say null: the topic list is not nullable there */
    r = reader_of(body_null, sizeof(body_null));
    ck_assert_int_eq(protocol_MetadataRequest_decode(&r, 0, &arena, &req), SL_E_CORRUPT);
    r = reader_of(body_empty, sizeof(body_empty));
    ck_assert_int_eq(protocol_MetadataRequest_decode(&r, 0, &arena, &req), SL_OK);
    ck_assert_int_eq(req.Topics.count, 0);
    sl_buf_deinit(&out);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_request_headers_with_null_client_id) {
    /* v0: ControlledShutdown v0 only; v1: Metadata v1; v2: Metadata v9 */
    static const uint8_t v0[] = { 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05 };
    static const uint8_t v1[] = { 0x00, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0xff, 0xff };
    static const uint8_t v2[] = {
        0x00, 0x03, 0x00, 0x09, 0x00, 0x00, 0x00, 0x07, 0xff, 0xff, 0x00
    };
    const struct {
        const uint8_t *p;
        size_t n;
        int version;
    } cases[] = { { v0, sizeof(v0), 0 }, { v1, sizeof(v1), 1 }, { v2, sizeof(v2), 2 } };
    for (size_t i = 0; i < 3; i++) {
        sl_reader r = reader_of(cases[i].p, cases[i].n);
        protocol_request_header h;
        ck_assert_int_eq(protocol_request_header_decode(&r, &h), SL_OK);
        ck_assert_uint_eq(sl_reader_remaining(&r), 0);
        ck_assert_int_eq(protocol_request_header_version(h.api_key, h.api_version),
                         cases[i].version);
        ck_assert(sl_str_is_null(h.client_id));
        ck_assert_int_eq(h.correlation_id, (int32_t)(5 + i));
        sl_buf out;
        sl_buf_init(&out);
        protocol_request_header_encode(&out, &h);
        ck_assert_uint_eq(out.len, cases[i].n);
        ck_assert_mem_eq(out.data, cases[i].p, cases[i].n);
        sl_buf_deinit(&out);
        for (size_t cut = 0; cut < cases[i].n; cut++) {
            r = reader_of(cases[i].p, cut);
            ck_assert_int_eq(protocol_request_header_decode(&r, &h), SL_E_SHORT);
        }
    }
}
END_TEST

START_TEST(test_request_header_unknown_key_or_version) {
    /* unknown key 999: key, version and correlation id still come back */
    static const uint8_t unknown[] = { 0x03, 0xe7, 0x00, 0x01, 0x00, 0x00, 0x00, 0x09 };
    sl_reader r = reader_of(unknown, sizeof(unknown));
    protocol_request_header h;
    ck_assert_int_eq(protocol_request_header_decode(&r, &h), SL_E_UNSUPPORTED);
    ck_assert_int_eq(h.api_key, 999);
    ck_assert_int_eq(h.api_version, 1);
    ck_assert_int_eq(h.correlation_id, 9);
    /* ApiVersions v9 (newer than the schema): header v2 is read, then UNSUPPORTED */
    static const uint8_t future[] = { 0x00, 0x12, 0x00, 0x09, 0x00, 0x00,
                                      0x00, 0x0a, 0x00, 0x01, 'x',  0x00 };
    r = reader_of(future, sizeof(future));
    ck_assert_int_eq(protocol_request_header_decode(&r, &h), SL_E_UNSUPPORTED);
    ck_assert_int_eq(h.correlation_id, 10);
    ck_assert(sl_str_eq_c(h.client_id, "x"));
    ck_assert_uint_eq(sl_reader_remaining(&r), 0);
}
END_TEST

START_TEST(test_response_headers) {
    sl_buf out;
    sl_buf_init(&out);
    /* ApiVersions v3 is flexible but its response header stays v0 (KIP-511) */
    ck_assert_int_eq(protocol_response_header_version(PROTOCOL_API_API_VERSIONS, 3), 0);
    protocol_response_header_encode(&out, PROTOCOL_API_API_VERSIONS, 3, 0x01020304);
    static const uint8_t v0[] = { 0x01, 0x02, 0x03, 0x04 };
    ASSERT_BUF_EQ(out, v0);
    sl_buf_reset(&out);
    ck_assert_int_eq(protocol_response_header_version(PROTOCOL_API_METADATA, 9), 1);
    ck_assert_int_eq(protocol_response_header_version(PROTOCOL_API_METADATA, 8), 0);
    protocol_response_header_encode(&out, PROTOCOL_API_METADATA, 9, 7);
    static const uint8_t v1[] = { 0x00, 0x00, 0x00, 0x07, 0x00 };
    ASSERT_BUF_EQ(out, v1);
    ck_assert_int_eq(protocol_response_header_version(999, 0), -1);
    ck_assert_int_eq(protocol_request_header_version(999, 0), -1);
    ck_assert_int_eq(protocol_request_header_version(PROTOCOL_API_CONTROLLED_SHUTDOWN, 1), 1);
    ck_assert_int_eq(protocol_request_header_version(PROTOCOL_API_PRODUCE, 9), 2);
    ck_assert_int_eq(protocol_request_header_version(PROTOCOL_API_PRODUCE, 8), 1);
    sl_buf_deinit(&out);
}
END_TEST

/* ApiVersions v3 response: one ApiKeys entry and the tagged FinalizedFeaturesEpoch. */
static const uint8_t api_versions_v3_response[] = {
    0x00, 0x00,                                           /* ErrorCode */
    0x02,                                                 /* ApiKeys: 1 entry (compact) */
    0x00, 0x12, 0x00, 0x00, 0x00, 0x03, 0x00,             /* 18, 0..3, no tags */
    0x00, 0x00, 0x00, 0x00,                               /* ThrottleTimeMs */
    0x01,                                                 /* one tagged field */
    0x01, 0x08, 0,    0,    0,    0,    0,    0, 0, 0x05, /* tag 1 FinalizedFeaturesEpoch = 5 */
};

START_TEST(test_tagged_field_bytes) {
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_ApiVersionsResponse resp;
    protocol_ApiVersionsResponse_init(&resp);
    ck_assert(resp.FinalizedFeaturesEpoch == -1);
    protocol_ApiVersionsResponse_ApiVersion key = { .ApiKey = 18,
                                                    .MinVersion = 0,
                                                    .MaxVersion = 3 };
    resp.ApiKeys.count = 1;
    resp.ApiKeys.items = &key;
    resp.FinalizedFeaturesEpoch = 5;
    sl_buf out;
    sl_buf_init(&out);
    protocol_ApiVersionsResponse_encode(&out, 3, &resp);
    ASSERT_BUF_EQ(out, api_versions_v3_response);

    protocol_ApiVersionsResponse back;
    sl_reader r = reader_of(out.data, out.len);
    ck_assert_int_eq(protocol_ApiVersionsResponse_decode(&r, 3, &arena, &back), SL_OK);
    ck_assert(back.FinalizedFeaturesEpoch == 5);
    ck_assert_int_eq(back.SupportedFeatures.count, 0);
    ck_assert_int_eq(back.ApiKeys.items[0].MaxVersion, 3);
    /* the same response in v0 carries no tags and no throttle time */
    sl_buf_reset(&out);
    protocol_ApiVersionsResponse_encode(&out, 0, &resp);
    static const uint8_t v0[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
                                  0x00, 0x12, 0x00, 0x00, 0x00, 0x03 };
    ASSERT_BUF_EQ(out, v0);
    sl_buf_deinit(&out);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_unknown_tags_skipped_and_bad_sizes_rejected) {
    /* the v3 response with an unknown tag 9 (3 bytes) added after tag 1 */
    uint8_t bytes[sizeof(api_versions_v3_response) + 5];
    memcpy(bytes, api_versions_v3_response, sizeof(api_versions_v3_response));
    bytes[14] = 0x02; /* two tagged fields */
    uint8_t *extra = bytes + sizeof(api_versions_v3_response);
    extra[0] = 0x09;
    extra[1] = 0x03;
    extra[2] = 0xaa;
    extra[3] = 0xbb;
    extra[4] = 0xcc;
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_ApiVersionsResponse resp;
    sl_reader r = reader_of(bytes, sizeof(bytes));
    ck_assert_int_eq(protocol_ApiVersionsResponse_decode(&r, 3, &arena, &resp), SL_OK);
    ck_assert_uint_eq(sl_reader_remaining(&r), 0);
    ck_assert(resp.FinalizedFeaturesEpoch == 5);
    /* a known tag whose size is larger than its value: corrupt */
    memcpy(bytes, api_versions_v3_response, sizeof(api_versions_v3_response));
    bytes[16] = 0x09;
    r = reader_of(bytes, sizeof(api_versions_v3_response) + 1);
    ck_assert_int_eq(protocol_ApiVersionsResponse_decode(&r, 3, &arena, &resp), SL_E_CORRUPT);
    /* ... or past the end of the input */
    bytes[16] = 0x7f;
    r = reader_of(bytes, sizeof(api_versions_v3_response));
    ck_assert_int_eq(protocol_ApiVersionsResponse_decode(&r, 3, &arena, &resp), SL_E_SHORT);
    /* ... or smaller: the value runs out inside its payload */
    bytes[16] = 0x04;
    r = reader_of(bytes, sizeof(api_versions_v3_response));
    ck_assert_int_ne(protocol_ApiVersionsResponse_decode(&r, 3, &arena, &resp), SL_OK);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_huge_counts_fail_before_allocating) {
    /* Metadata v1 claiming 0x7fffffff topics in 4 bytes */
    static const uint8_t body[] = { 0x7f, 0xff, 0xff, 0xff, 0x00, 0x01, 'a' };
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_MetadataRequest req;
    sl_reader r = reader_of(body, sizeof(body));
    ck_assert_int_eq(protocol_MetadataRequest_decode(&r, 1, &arena, &req), SL_E_SHORT);
    ck_assert_uint_lt(arena.used, 1024);
    /* compact form: uvarint 0xffffffff = count 2^32 - 2, beyond int32: corrupt */
    static const uint8_t compact[] = { 0xff, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00 };
    r = reader_of(compact, sizeof(compact));
    ck_assert_int_eq(protocol_MetadataRequest_decode(&r, 9, &arena, &req), SL_E_CORRUPT);
    /* a string longer than the input */
    static const uint8_t str[] = { 0x00, 0x00, 0x00, 0x01, 0x7f, 0xff, 'a' };
    r = reader_of(str, sizeof(str));
    ck_assert_int_eq(protocol_MetadataRequest_decode(&r, 1, &arena, &req), SL_E_SHORT);
    ck_assert_uint_lt(arena.used, 1024);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_null_where_not_nullable_is_corrupt) {
    /* Produce v3: TransactionalId null (fine), acks, timeout, TopicData null (not ok) */
    static const uint8_t body[] = { 0xff, 0xff, 0x00, 0x01, 0x00, 0x00,
                                    0x03, 0xe8, 0xff, 0xff, 0xff, 0xff };
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_ProduceRequest req;
    sl_reader r = reader_of(body, sizeof(body));
    ck_assert_int_eq(protocol_ProduceRequest_decode(&r, 3, &arena, &req), SL_E_CORRUPT);
    /* a null topic name */
    static const uint8_t name[] = { 0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x03, 0xe8, 0x00,
                                    0x00, 0x00, 0x01, 0xff, 0xff, 0,    0,    0,    0 };
    r = reader_of(name, sizeof(name));
    ck_assert_int_eq(protocol_ProduceRequest_decode(&r, 3, &arena, &req), SL_E_CORRUPT);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_produce_records_are_views_not_copies) {
    /* Produce v3, one topic "t", one partition 0 with 5 record bytes */
    static const uint8_t body[] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30,
                                    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',  0x00,
                                    0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
                                    0x00, 0x00, 0x05, 1,    2,    3,    4,    5 };
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_ProduceRequest req;
    sl_reader r = reader_of(body, sizeof(body));
    ck_assert_int_eq(protocol_ProduceRequest_decode(&r, 3, &arena, &req), SL_OK);
    ck_assert_int_eq(req.Acks, -1);
    ck_assert_int_eq(req.TimeoutMs, 30000);
    ck_assert(sl_str_is_null(req.TransactionalId));
    ck_assert_int_eq(req.TopicData.count, 1);
    ck_assert(sl_str_eq_c(req.TopicData.items[0].Name, "t"));
    const protocol_ProduceRequest_PartitionProduceData *pd =
        &req.TopicData.items[0].PartitionData.items[0];
    ck_assert_int_eq(pd->Records.len, 5);
    ck_assert_ptr_eq(pd->Records.ptr, body + 27);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_internal_record_offset_commit_value_v3) {
    /* offset 100, leaderEpoch 7, metadata "m", commitTimestamp 1700000000000 */
    static const uint8_t body[] = { 0,    0,    0,    0,    0,    0,    0,   100,
                                    0,    0,    0,    7,    0x00, 0x01, 'm', 0x00,
                                    0x00, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00 };
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_OffsetCommitValue val;
    sl_reader r = reader_of(body, sizeof(body));
    ck_assert_int_eq(protocol_OffsetCommitValue_decode(&r, 3, &arena, &val), SL_OK);
    ck_assert(val.offset == 100);
    ck_assert_int_eq(val.leaderEpoch, 7);
    ck_assert(sl_str_eq_c(val.metadata, "m"));
    ck_assert(val.commitTimestamp == 1700000000000LL);
    ck_assert(val.expireTimestamp == -1); /* v1 only */
    sl_buf out;
    sl_buf_init(&out);
    protocol_OffsetCommitValue_encode(&out, 3, &val);
    ASSERT_BUF_EQ(out, body);
    /* v1 adds expireTimestamp and drops leaderEpoch */
    sl_buf_reset(&out);
    val.expireTimestamp = 5;
    protocol_OffsetCommitValue_encode(&out, 1, &val);
    ck_assert_uint_eq(out.len, 8 + 3 + 8 + 8);
    sl_buf_deinit(&out);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_api_table) {
    const protocol_api *api = protocol_api_find(PROTOCOL_API_PRODUCE);
    ck_assert_ptr_nonnull(api);
    ck_assert_str_eq(api->name, "Produce");
    ck_assert_int_eq(api->min_version, 0);
    ck_assert_int_eq(api->max_version, 11);
    ck_assert_int_eq(api->flexible_min, 9);
    ck_assert_uint_eq(api->request_size, sizeof(protocol_ProduceRequest));
    ck_assert_ptr_null(protocol_api_find(-1));
    ck_assert_ptr_null(protocol_api_find(PROTOCOL_API_KEY_MAX + 1));
    ck_assert_int_eq(protocol_api_find(PROTOCOL_API_SASL_HANDSHAKE)->flexible_min, -1);
    ck_assert(protocol_api_find(PROTOCOL_API_SHARE_FETCH)->unstable_max);
    ck_assert(!protocol_api_find(PROTOCOL_API_FETCH)->unstable_max);
    for (int16_t key = 0; key <= PROTOCOL_API_KEY_MAX; key++) {
        api = protocol_api_find(key);
        ck_assert_ptr_nonnull(api);
        ck_assert_int_eq(api->key, key);
        ck_assert_int_le(api->min_version, api->max_version);
        /* the table's codecs work through void pointers */
        sl_arena arena;
        sl_arena_init(&arena);
        void *msg = sl_arena_alloc(&arena, api->response_size);
        api->response_init(msg);
        sl_buf out;
        sl_buf_init(&out);
        api->response_encode(&out, api->max_version, msg);
        sl_reader r = reader_of(out.data, out.len);
        ck_assert_int_eq(api->response_decode(&r, api->max_version, &arena, msg), SL_OK);
        sl_buf_deinit(&out);
        sl_arena_deinit(&arena);
    }
}
END_TEST

START_TEST(test_error_codes) {
    ck_assert_str_eq(protocol_error_name(PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER),
                     "NOT_LEADER_OR_FOLLOWER");
    ck_assert_int_eq(PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER, 6);
    ck_assert_str_eq(protocol_error_name(-1), "UNKNOWN_SERVER_ERROR");
    ck_assert_str_eq(protocol_error_name(0), "NONE");
    ck_assert_str_eq(protocol_error_name(127), "VOTER_NOT_FOUND");
    ck_assert_str_eq(protocol_error_name(128), "UNKNOWN");
    ck_assert(protocol_error_retriable(PROTOCOL_ERR_NOT_LEADER_OR_FOLLOWER));
    ck_assert(protocol_error_retriable(PROTOCOL_ERR_CORRUPT_MESSAGE));
    ck_assert(!protocol_error_retriable(PROTOCOL_ERR_MESSAGE_TOO_LARGE));
    ck_assert(!protocol_error_retriable(PROTOCOL_ERR_NONE));
    ck_assert_int_eq(protocol_error_from_sl(SL_OK), PROTOCOL_ERR_NONE);
    ck_assert_int_eq(protocol_error_from_sl(SL_E_CORRUPT), PROTOCOL_ERR_CORRUPT_MESSAGE);
    ck_assert_int_eq(protocol_error_from_sl(SL_E_TOO_LARGE), PROTOCOL_ERR_MESSAGE_TOO_LARGE);
    ck_assert_int_eq(protocol_error_from_sl(SL_E_UNSUPPORTED), PROTOCOL_ERR_UNSUPPORTED_VERSION);
    ck_assert_int_eq(protocol_error_from_sl(-EIO), PROTOCOL_ERR_KAFKA_STORAGE_ERROR);
    ck_assert_int_eq(protocol_error_from_sl(SL_E_INTERNAL), PROTOCOL_ERR_UNKNOWN_SERVER_ERROR);
    ck_assert_int_eq(protocol_error_from_sl(-EPERM), PROTOCOL_ERR_UNKNOWN_SERVER_ERROR);
}
END_TEST

Suite *protocol_codec_suite(void) {
    Suite *s = suite_create("protocol_codec");
    int n = (int)protocol_test_codec_count;

    TCase *tc = tcase_create("roundtrip");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_every_message_version_roundtrips, 0, n);
    tcase_add_loop_test(tc, test_versions_outside_range_are_unsupported, 0, n);
    suite_add_tcase(s, tc);

    tc = tcase_create("truncate");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_every_truncation_is_an_error, 0, n);
    suite_add_tcase(s, tc);

    tc = tcase_create("mutate");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_mutated_lengths_never_crash, 0, n);
    suite_add_tcase(s, tc);

    tc = tcase_create("vectors");
    tcase_add_test(tc, test_api_versions_v0_request_bytes);
    tcase_add_test(tc, test_api_versions_v3_request_bytes);
    tcase_add_test(tc, test_metadata_v1_null_topics_bytes);
    tcase_add_test(tc, test_request_headers_with_null_client_id);
    tcase_add_test(tc, test_request_header_unknown_key_or_version);
    tcase_add_test(tc, test_response_headers);
    tcase_add_test(tc, test_tagged_field_bytes);
    tcase_add_test(tc, test_unknown_tags_skipped_and_bad_sizes_rejected);
    tcase_add_test(tc, test_huge_counts_fail_before_allocating);
    tcase_add_test(tc, test_null_where_not_nullable_is_corrupt);
    tcase_add_test(tc, test_produce_records_are_views_not_copies);
    tcase_add_test(tc, test_internal_record_offset_commit_value_v3);
    suite_add_tcase(s, tc);

    tc = tcase_create("tables");
    tcase_add_test(tc, test_api_table);
    tcase_add_test(tc, test_error_codes);
    suite_add_tcase(s, tc);
    return s;
}
