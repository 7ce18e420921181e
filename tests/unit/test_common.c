/* Unit tests for common/: buffer, reader, varints, CRC-32C, hashes, time,
 * properties and config registry, metrics, arena, PRNG. */
#include "common/sl_alloc.h"
#include "common/sl_arena.h"
#include "common/sl_buf.h"
#include "common/sl_config.h"
#include "common/sl_crc32c.h"
#include "common/sl_err.h"
#include "common/sl_hash.h"
#include "common/sl_map.h"
#include "common/sl_metrics.h"
#include "common/sl_rand.h"
#include "common/sl_reader.h"
#include "common/sl_time.h"

#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Suite *common_suite(void);

/* ---------------- buf / reader ---------------- */

START_TEST(test_buf_ints_are_big_endian) {
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_put_i16(&b, 0x0102);
    sl_buf_put_i32(&b, -2);
    sl_buf_put_i64(&b, 0x0102030405060708LL);
    const uint8_t want[] = { 1, 2, 0xff, 0xff, 0xff, 0xfe, 1, 2, 3, 4, 5, 6, 7, 8 };
    ck_assert_uint_eq(b.len, sizeof(want));
    ck_assert_mem_eq(b.data, want, sizeof(want));
    sl_reader r;
    sl_reader_init(&r, b.data, b.len);
    ck_assert_int_eq(sl_reader_i16(&r), 0x0102);
    ck_assert_int_eq(sl_reader_i32(&r), -2);
    ck_assert(sl_reader_i64(&r) == 0x0102030405060708LL);
    ck_assert_int_eq(sl_reader_err(&r), 0);
    ck_assert_uint_eq(sl_reader_remaining(&r), 0);
    sl_buf_deinit(&b);
}
END_TEST

START_TEST(test_buf_slot_patch) {
    sl_buf b;
    sl_buf_init(&b);
    size_t slot = sl_buf_put_slot_i32(&b);
    sl_buf_put_cstr(&b, "hello");
    sl_buf_patch_i32(&b, slot, (int32_t)(b.len - slot - 4));
    ck_assert_int_eq(sl_load_be32(b.data), 5);
    sl_buf_deinit(&b);
}
END_TEST

START_TEST(test_buf_grows_past_many_doublings) {
    sl_buf b;
    sl_buf_init(&b);
    for (int i = 0; i < 100000; i++) sl_buf_put_i32(&b, i);
    ck_assert_uint_eq(b.len, 400000);
    ck_assert_int_eq((int32_t)sl_load_be32(b.data + 4 * 99999), 99999);
    sl_buf_printf(&b, "%0300d", 7);
    ck_assert_uint_eq(b.len, 400300);
    sl_buf_deinit(&b);
}
END_TEST

START_TEST(test_reader_short_read_is_sticky) {
    const uint8_t data[] = { 0, 0, 0 };
    sl_reader r;
    sl_reader_init(&r, data, sizeof(data));
    ck_assert_int_eq(sl_reader_i32(&r), 0);
    ck_assert_int_eq(sl_reader_err(&r), SL_E_SHORT);
    ck_assert_uint_eq(sl_reader_remaining(&r), 0);
    ck_assert_int_eq(sl_reader_i8(&r), 0); /* later reads keep failing, no over-read */
    ck_assert_ptr_null(sl_reader_bytes(&r, 1));
    ck_assert_int_eq(sl_reader_err(&r), SL_E_SHORT);
}
END_TEST

START_TEST(test_reader_sub_cannot_run_into_next) {
    const uint8_t data[] = { 1, 2, 3, 4, 5 };
    sl_reader r, sub;
    sl_reader_init(&r, data, sizeof(data));
    sl_reader_sub(&r, 2, &sub);
    ck_assert_int_eq(sl_reader_i16(&sub), 0x0102);
    ck_assert_int_eq(sl_reader_i8(&sub), 0);
    ck_assert_int_eq(sl_reader_err(&sub), SL_E_SHORT);
    ck_assert_int_eq(sl_reader_err(&r), 0);
    ck_assert_int_eq(sl_reader_i8(&r), 3);
    sl_reader_sub(&r, 9, &sub);
    ck_assert_int_eq(sl_reader_err(&r), SL_E_SHORT);
    ck_assert_int_eq(sl_reader_err(&sub), SL_E_SHORT);
    ck_assert_uint_eq(sl_reader_remaining(&sub), 0);
}
END_TEST

/* Vectors from the Kafka protocol reference (README §3). */
static const struct {
    uint32_t value;
    uint8_t bytes[5];
    int len;
} uvarint_vectors[] = {
    { 0, { 0x00 }, 1 },
    { 127, { 0x7f }, 1 },
    { 128, { 0x80, 0x01 }, 2 },
    { 300, { 0xac, 0x02 }, 2 },
    { UINT32_MAX, { 0xff, 0xff, 0xff, 0xff, 0x0f }, 5 },
};

START_TEST(test_uvarint_vectors) {
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_put_uvarint(&b, uvarint_vectors[_i].value);
    ck_assert_int_eq((int)b.len, uvarint_vectors[_i].len);
    ck_assert_mem_eq(b.data, uvarint_vectors[_i].bytes, b.len);
    ck_assert_uint_eq(sl_uvarint_size(uvarint_vectors[_i].value), b.len);
    sl_reader r;
    sl_reader_init(&r, b.data, b.len);
    ck_assert_uint_eq(sl_reader_uvarint(&r), uvarint_vectors[_i].value);
    ck_assert_int_eq(sl_reader_err(&r), 0);
    /* every truncation is a short read, never a wrong value */
    for (size_t cut = 0; cut < b.len; cut++) {
        sl_reader_init(&r, b.data, cut);
        sl_reader_uvarint(&r);
        ck_assert_int_eq(sl_reader_err(&r), SL_E_SHORT);
    }
    sl_buf_deinit(&b);
}
END_TEST

static const struct {
    int32_t value;
    uint8_t bytes[2];
    int len;
} varint_vectors[] = {
    { 0, { 0x00 }, 1 },  { -1, { 0x01 }, 1 },  { 1, { 0x02 }, 1 },
    { -2, { 0x03 }, 1 }, { 63, { 0x7e }, 1 },  { -64, { 0x7f }, 1 },
    { 64, { 0x80, 0x01 }, 2 },
};

START_TEST(test_varint_zigzag_vectors) {
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_put_varint(&b, varint_vectors[_i].value);
    ck_assert_int_eq((int)b.len, varint_vectors[_i].len);
    ck_assert_mem_eq(b.data, varint_vectors[_i].bytes, b.len);
    sl_reader r;
    sl_reader_init(&r, b.data, b.len);
    ck_assert_int_eq(sl_reader_varint(&r), varint_vectors[_i].value);
    sl_buf_deinit(&b);
}
END_TEST

START_TEST(test_varlong_round_trip_extremes) {
    const int64_t values[] = { 0, 1, -1, INT64_MAX, INT64_MIN, 1LL << 40, -(1LL << 40) };
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        sl_buf b;
        sl_buf_init(&b);
        sl_buf_put_varlong(&b, values[i]);
        ck_assert_uint_eq(b.len, sl_varlong_size(values[i]));
        sl_reader r;
        sl_reader_init(&r, b.data, b.len);
        ck_assert(sl_reader_varlong(&r) == values[i]);
        ck_assert_int_eq(sl_reader_err(&r), 0);
        sl_buf_deinit(&b);
    }
}
END_TEST

START_TEST(test_uvarint_overlong_is_corrupt) {
    const uint8_t six[] = { 0x80, 0x80, 0x80, 0x80, 0x80, 0x00 };
    sl_reader r;
    sl_reader_init(&r, six, sizeof(six));
    sl_reader_uvarint(&r);
    ck_assert_int_eq(sl_reader_err(&r), SL_E_CORRUPT);
    const uint8_t big[] = { 0xff, 0xff, 0xff, 0xff, 0x1f }; /* > UINT32_MAX */
    sl_reader_init(&r, big, sizeof(big));
    sl_reader_uvarint(&r);
    ck_assert_int_eq(sl_reader_err(&r), SL_E_CORRUPT);
}
END_TEST

/* ---------------- CRC-32C ---------------- */

START_TEST(test_crc32c_check_value) {
    ck_assert_uint_eq(sl_crc32c("123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(sl_crc32c_update_sw(0, "123456789", 9), 0xE3069283u);
    ck_assert_uint_eq(sl_crc32c("", 0), 0);
    /* RFC 3720 B.4: 32 bytes of zeros */
    uint8_t zeros[32] = { 0 };
    ck_assert_uint_eq(sl_crc32c(zeros, 32), 0x8A9136AAu);
    uint8_t ones[32];
    memset(ones, 0xff, sizeof(ones));
    ck_assert_uint_eq(sl_crc32c(ones, 32), 0x62A8AB43u);
}
END_TEST

START_TEST(test_crc32c_hw_matches_table_all_lengths) {
    /* lengths around every block boundary of the 3-stream path, odd alignments */
    size_t max = 3 * 8192 * 2 + 100;
    uint8_t *data = sl_malloc(max + 8);
    sl_rand rng;
    sl_rand_seed(&rng, 42);
    for (size_t i = 0; i < max + 8; i++) data[i] = (uint8_t)sl_rand_u64(&rng);
    const size_t lens[] = { 0, 1, 7, 8, 9, 255, 256, 767, 768, 769, 1000, 24575, 24576,
                            24577, 30000, max };
    for (size_t a = 0; a < 3; a++) {
        for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
            ck_assert_uint_eq(sl_crc32c(data + a, lens[i]),
                              sl_crc32c_update_sw(0, data + a, lens[i]));
        }
    }
    /* incremental equals one-shot */
    uint32_t c = sl_crc32c_update(0, data, 1000);
    c = sl_crc32c_update(c, data + 1000, 30000);
    ck_assert_uint_eq(c, sl_crc32c(data, 31000));
    sl_free(data);
}
END_TEST

/* ---------------- hashes ---------------- */

static const struct {
    const char *key;
    int32_t murmur2;
    int32_t partition3;
} murmur_vectors[] = {
    { "21", -973932308, 0 },
    { "foobar", -790332482, 0 },
    { "a-little-bit-long-string", -985981536, 2 },
    { "a-little-bit-longer-string", -1486304829, 2 },
    { "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971, 2 },
    { "abc", 479470107, 0 },
};

START_TEST(test_murmur2_kafka_vectors) {
    const char *k = murmur_vectors[_i].key;
    ck_assert_int_eq(sl_murmur2(k, strlen(k)), murmur_vectors[_i].murmur2);
    ck_assert_int_eq(sl_murmur2_partition(k, strlen(k), 3), murmur_vectors[_i].partition3);
}
END_TEST

START_TEST(test_java_string_hash) {
    ck_assert_int_eq(sl_java_string_hash("", 0), 0);
    ck_assert_int_eq(sl_java_string_hash("hello", 5), 99162322);
    ck_assert_int_eq(sl_java_string_hash("Aa", 2), sl_java_string_hash("BB", 2));
    /* "é" is one UTF-16 unit (0xE9); "😀" is a surrogate pair d83d de00 */
    ck_assert_int_eq(sl_java_string_hash("\xc3\xa9", 2), 0xe9);
    ck_assert_int_eq(sl_java_string_hash("\xf0\x9f\x98\x80", 4), 31 * 0xd83d + 0xde00);
    /* "polygenelubricants".hashCode() == Integer.MIN_VALUE; Kafka's abs maps it to 0 */
    ck_assert_int_eq(sl_java_string_hash("polygenelubricants", 18), INT_MIN);
    ck_assert_int_eq(sl_java_hash_partition("polygenelubricants", 18, 50), 0);
    ck_assert_int_eq(sl_java_hash_partition("hello", 5, 50), 99162322 % 50);
}
END_TEST

/* ---------------- time ---------------- */

START_TEST(test_time_iso_round_trip) {
    char s[32];
    sl_time_format_iso(1700000000123LL, s, sizeof(s));
    ck_assert_str_eq(s, "2023-11-14T22:13:20.123Z");
    int64_t ms = 0;
    ck_assert_int_eq(sl_time_parse_iso(s, &ms), SL_OK);
    ck_assert(ms == 1700000000123LL);
    ck_assert_int_eq(sl_time_parse_iso("2023-11-14T23:13:20.123+01:00", &ms), SL_OK);
    ck_assert(ms == 1700000000123LL);
    ck_assert_int_eq(sl_time_parse_iso("2023-11-14T22:13:20", &ms), SL_OK);
    ck_assert(ms == 1700000000000LL);
    ck_assert_int_eq(sl_time_parse_iso("2023-13-14T22:13:20", &ms), SL_E_INVALID);
    ck_assert_int_eq(sl_time_parse_iso("yesterday", &ms), SL_E_INVALID);
    ck_assert(sl_now_ms() > 0);
    ck_assert(sl_wall_ms() > 1700000000000LL);
}
END_TEST

/* ---------------- properties and config ---------------- */

START_TEST(test_props_parse_java_syntax) {
    const char *text = "# comment\n"
                       "! also a comment\n"
                       "a=1\n"
                       "  b : two words  \n"
                       "c three\n"
                       "d=line\\\n"
                       "    continued\n"
                       "e=tab\\there\\u0041\n"
                       "empty=\n"
                       "a=override\r\n"
                       "k\\=x=y\n";
    sl_props p;
    sl_props_init(&p);
    char err[128];
    ck_assert_int_eq(sl_props_parse(&p, text, strlen(text), err, sizeof(err)), SL_OK);
    ck_assert_str_eq(sl_props_get(&p, "a"), "override");
    ck_assert_str_eq(sl_props_get(&p, "b"), "two words");
    ck_assert_str_eq(sl_props_get(&p, "c"), "three");
    ck_assert_str_eq(sl_props_get(&p, "d"), "linecontinued");
    ck_assert_str_eq(sl_props_get(&p, "e"), "tab\thereA");
    ck_assert_str_eq(sl_props_get(&p, "empty"), "");
    ck_assert_str_eq(sl_props_get(&p, "k=x"), "y");
    ck_assert_ptr_null(sl_props_get(&p, "missing"));
    sl_props_deinit(&p);
}
END_TEST

START_TEST(test_props_bad_escape_is_error) {
    sl_props p;
    sl_props_init(&p);
    char err[128] = "";
    ck_assert_int_eq(sl_props_parse(&p, "x=\\u12", 6, err, sizeof(err)), SL_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err, "line 1"));
    sl_props_deinit(&p);
}
END_TEST

typedef struct test_cfg {
    int32_t num_partitions;
    int64_t segment_bytes;
    bool auto_create;
    double ratio;
    char *policy;
    char *dirs;
} test_cfg;

static const sl_cfg_def test_defs[] = {
    { "num.partitions", SL_CFG_INT, offsetof(test_cfg, num_partitions), "1", 1, INT32_MAX, NULL,
      0, "partitions of auto-created topics" },
    { "log.segment.bytes", SL_CFG_LONG, offsetof(test_cfg, segment_bytes), "1073741824", 14,
      INT32_MAX, NULL, 0, "segment size" },
    { "auto.create.topics.enable", SL_CFG_BOOL, offsetof(test_cfg, auto_create), "true", 1, 0,
      NULL, 0, "auto-create topics" },
    { "min.cleanable.dirty.ratio", SL_CFG_DOUBLE, offsetof(test_cfg, ratio), "0.5", 0, 1, NULL, 0,
      "ratio" },
    { "cleanup.policy", SL_CFG_LIST, offsetof(test_cfg, policy), "delete", 1, 0, "delete,compact",
      0, "policy" },
    { "log.dirs", SL_CFG_STRING, offsetof(test_cfg, dirs), NULL, 1, 0, NULL, 0, "dirs" },
};
static const sl_cfg_table test_table = { "test", test_defs, sizeof(test_defs) / sizeof(test_defs[0]) };

START_TEST(test_config_defaults_and_set) {
    test_cfg cfg = { 0 };
    sl_config_defaults(&test_table, &cfg);
    ck_assert_int_eq(cfg.num_partitions, 1);
    ck_assert(cfg.segment_bytes == 1073741824LL);
    ck_assert(cfg.auto_create);
    ck_assert(cfg.ratio == 0.5);
    ck_assert_str_eq(cfg.policy, "delete");
    ck_assert_ptr_null(cfg.dirs);
    char err[256];
    ck_assert_int_eq(sl_config_set(&test_table, &cfg, "num.partitions", "6", err, sizeof(err)),
                     SL_OK);
    ck_assert_int_eq(cfg.num_partitions, 6);
    ck_assert_int_eq(
        sl_config_set(&test_table, &cfg, "cleanup.policy", "compact, delete", err, sizeof(err)),
        SL_OK);
    ck_assert_str_eq(cfg.policy, "compact, delete");
    sl_config_free(&test_table, &cfg);
}
END_TEST

static const struct {
    const char *key, *value, *why;
} bad_values[] = {
    { "num.partitions", "0", "at least 1" },
    { "num.partitions", "abc", "INT" },
    { "num.partitions", "99999999999", "INT" },
    { "log.segment.bytes", "10", "at least 14" },
    { "auto.create.topics.enable", "yes", "true or false" },
    { "min.cleanable.dirty.ratio", "1.5", "no more than 1" },
    { "cleanup.policy", "delete,shred", "shred" },
};

START_TEST(test_config_invalid_value_names_key_value_and_why) {
    test_cfg cfg = { 0 };
    sl_config_defaults(&test_table, &cfg);
    char err[256] = "";
    ck_assert_int_eq(sl_config_set(&test_table, &cfg, bad_values[_i].key, bad_values[_i].value,
                                   err, sizeof(err)),
                     SL_E_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, bad_values[_i].key));
    ck_assert_ptr_nonnull(strstr(err, bad_values[_i].value));
    ck_assert_ptr_nonnull(strstr(err, bad_values[_i].why));
    sl_config_free(&test_table, &cfg);
}
END_TEST

START_TEST(test_config_load_file_then_overrides) {
    char dir[] = "/tmp/sl_cfg_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/t.properties", dir);
    FILE *f = fopen(path, "w");
    fputs("num.partitions=3\nunknown.key=1\nlog.dirs=/data\n", f);
    fclose(f);
    char *argv[] = { "prog", "--config", path, "--override", "num.partitions=4",
                     "--print-config" };
    sl_cli cli;
    char err[256];
    ck_assert_int_eq(sl_cli_parse(&cli, 6, argv, err, sizeof(err)), SL_OK);
    ck_assert(cli.print_config);
    test_cfg cfg = { 0 };
    ck_assert_int_eq(sl_config_load(&test_table, &cfg, &cli, err, sizeof(err)), SL_OK);
    ck_assert_int_eq(cfg.num_partitions, 4);
    ck_assert_str_eq(cfg.dirs, "/data");
    sl_config_free(&test_table, &cfg);
    sl_cli_deinit(&cli);
    char *bad[] = { "prog", "--override", "noequals" };
    ck_assert_int_eq(sl_cli_parse(&cli, 3, bad, err, sizeof(err)), SL_E_INVALID);
    sl_cli_deinit(&cli);
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---------------- metrics ---------------- */

START_TEST(test_metrics_render_prometheus_text) {
    sl_metrics *reg = sl_metrics_new();
    sl_metric *c = sl_metrics_counter(reg, "sluice_requests_total", "Requests", "api=\"produce\"");
    sl_metric *c2 = sl_metrics_counter(reg, "sluice_requests_total", "Requests", "api=\"fetch\"");
    ck_assert_ptr_eq(c, sl_metrics_counter(reg, "sluice_requests_total", "x", "api=\"produce\""));
    sl_metric_add(c, 3);
    sl_metric_add(c2, 1);
    sl_metric *g = sl_metrics_gauge(reg, "sluice_up", "Up", NULL);
    sl_metric_set(g, 1.5);
    const double bounds[] = { 1, 10 };
    sl_metric *h = sl_metrics_histogram(reg, "sluice_latency_ms", "Latency", NULL, bounds, 2);
    sl_metric_observe(h, 0.5);
    sl_metric_observe(h, 5);
    sl_metric_observe(h, 50);
    sl_buf out;
    sl_buf_init(&out);
    sl_metrics_render(reg, &out);
    sl_buf_put_u8(&out, 0);
    const char *text = (const char *)out.data;
    ck_assert_ptr_nonnull(strstr(text, "# TYPE sluice_requests_total counter\n"
                                       "sluice_requests_total{api=\"produce\"} 3\n"
                                       "sluice_requests_total{api=\"fetch\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "sluice_up 1.5\n"));
    ck_assert_ptr_nonnull(strstr(text, "sluice_latency_ms_bucket{le=\"1\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(text, "sluice_latency_ms_bucket{le=\"10\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(text, "sluice_latency_ms_bucket{le=\"+Inf\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(text, "sluice_latency_ms_count 3\n"));
    /* only one TYPE line per family */
    const char *first = strstr(text, "# TYPE sluice_requests_total");
    ck_assert_ptr_null(strstr(first + 1, "# TYPE sluice_requests_total"));
    sl_buf_deinit(&out);
    sl_metrics_free(reg);
}
END_TEST


/* ---------------- maps ---------------- */

START_TEST(test_map_put_get_remove_many) {
    sl_map m;
    sl_map_init(&m);
    enum { N = 5000 };
    static char keys[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof(keys[i]), "key-%d", i);
        ck_assert_ptr_null(sl_map_put(&m, keys[i], strlen(keys[i]), &keys[i]));
    }
    ck_assert_uint_eq(m.count, N);
    for (int i = 0; i < N; i += 2) {
        ck_assert_ptr_eq(sl_map_remove(&m, keys[i], strlen(keys[i])), &keys[i]);
    }
    for (int i = 0; i < N; i++) {
        void *v = sl_map_get(&m, keys[i], strlen(keys[i]));
        if (i % 2) {
            ck_assert_ptr_eq(v, &keys[i]);
        } else {
            ck_assert_ptr_null(v);
        }
    }
    /* churn through tombstones without growing without bound */
    for (int round = 0; round < 20; round++) {
        for (int i = 0; i < N; i += 2) sl_map_put(&m, keys[i], strlen(keys[i]), &keys[i]);
        for (int i = 0; i < N; i += 2) sl_map_remove(&m, keys[i], strlen(keys[i]));
    }
    ck_assert_uint_eq(m.count, N / 2);
    ck_assert_uint_le(m.cap, 16384);
    size_t seen = 0;
    for (size_t i = 0; i < m.cap; i++) seen += sl_map_slot_used(&m, i);
    ck_assert_uint_eq(seen, N / 2);
    ck_assert_ptr_null(sl_map_get(&m, "absent", 6));
    sl_map_deinit(&m);
}
END_TEST

START_TEST(test_imap_put_get_remove) {
    sl_imap m;
    sl_imap_init(&m);
    static int values[1000];
    for (int i = 0; i < 1000; i++) sl_imap_put(&m, (int64_t)i * 7919 - 3000, &values[i]);
    for (int i = 0; i < 1000; i++) {
        ck_assert_ptr_eq(sl_imap_get(&m, (int64_t)i * 7919 - 3000), &values[i]);
    }
    ck_assert_ptr_eq(sl_imap_put(&m, -3000, &values[5]), &values[0]);
    ck_assert_ptr_eq(sl_imap_remove(&m, -3000), &values[5]);
    ck_assert_ptr_null(sl_imap_get(&m, -3000));
    ck_assert_uint_eq(m.count, 999);
    sl_imap_deinit(&m);
}
END_TEST

/* ---------------- error macros ---------------- */

static int returns_if(int x) {
    SL_RETURN_IF(x < 0, SL_E_INVALID, "x=%d", x);
    SL_RETURN_IF(x > 100, SL_E_TOO_LARGE, "");
    return SL_OK;
}

static int forwards(int x) {
    SL_TRY(returns_if(x));
    return 7;
}

START_TEST(test_return_if_and_try) {
    sl_log_configure("trace", NULL); /* evaluate the log arguments too */
    ck_assert_int_eq(returns_if(-1), SL_E_INVALID);
    ck_assert_int_eq(returns_if(101), SL_E_TOO_LARGE);
    ck_assert_int_eq(forwards(5), 7);
    ck_assert_int_eq(forwards(-5), SL_E_INVALID);
    sl_log_configure("error", NULL);
    ck_assert_str_eq(sl_strerror(SL_E_CORRUPT), "corrupt");
    ck_assert_str_eq(sl_strerror(-2), "No such file or directory");
}
END_TEST

/* ---------------- arena, rand ---------------- */

START_TEST(test_arena_alloc_zeroed_aligned_and_reset) {
    sl_arena a;
    sl_arena_init(&a);
    for (int i = 0; i < 1000; i++) {
        uint8_t *p = sl_arena_alloc(&a, (size_t)(i % 37) + 1);
        ck_assert_uint_eq((uintptr_t)p % 8, 0);
        for (int j = 0; j < i % 37 + 1; j++) ck_assert_uint_eq(p[j], 0);
        memset(p, 0xab, (size_t)(i % 37) + 1);
    }
    void *big = sl_arena_alloc(&a, 100000);
    ck_assert_ptr_nonnull(big);
    char *s = sl_arena_strndup(&a, "abcdef", 3);
    ck_assert_str_eq(s, "abc");
    sl_arena_reset(&a);
    ck_assert_uint_eq(a.used, 0);
    sl_arena_deinit(&a);
}
END_TEST

START_TEST(test_rand_deterministic_and_bounded) {
    sl_rand a, b;
    sl_rand_seed(&a, 7);
    sl_rand_seed(&b, 7);
    for (int i = 0; i < 1000; i++) {
        ck_assert(sl_rand_u64(&a) == sl_rand_u64(&b));
        int64_t v = sl_rand_range(&a, -3, 3);
        ck_assert(v >= -3 && v <= 3);
        sl_rand_range(&b, -3, 3);
    }
}
END_TEST

Suite *common_suite(void) {
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("buf");
    tcase_add_test(tc, test_buf_ints_are_big_endian);
    tcase_add_test(tc, test_buf_slot_patch);
    tcase_add_test(tc, test_buf_grows_past_many_doublings);
    tcase_add_test(tc, test_reader_short_read_is_sticky);
    tcase_add_test(tc, test_reader_sub_cannot_run_into_next);
    suite_add_tcase(s, tc);

    tc = tcase_create("varint");
    tcase_add_loop_test(tc, test_uvarint_vectors, 0,
                        sizeof(uvarint_vectors) / sizeof(uvarint_vectors[0]));
    tcase_add_loop_test(tc, test_varint_zigzag_vectors, 0,
                        sizeof(varint_vectors) / sizeof(varint_vectors[0]));
    tcase_add_test(tc, test_varlong_round_trip_extremes);
    tcase_add_test(tc, test_uvarint_overlong_is_corrupt);
    suite_add_tcase(s, tc);

    tc = tcase_create("crc32c");
    tcase_add_test(tc, test_crc32c_check_value);
    tcase_add_test(tc, test_crc32c_hw_matches_table_all_lengths);
    suite_add_tcase(s, tc);

    tc = tcase_create("hash");
    tcase_add_loop_test(tc, test_murmur2_kafka_vectors, 0,
                        sizeof(murmur_vectors) / sizeof(murmur_vectors[0]));
    tcase_add_test(tc, test_java_string_hash);
    suite_add_tcase(s, tc);

    tc = tcase_create("time");
    tcase_add_test(tc, test_time_iso_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("config");
    tcase_add_test(tc, test_props_parse_java_syntax);
    tcase_add_test(tc, test_props_bad_escape_is_error);
    tcase_add_test(tc, test_config_defaults_and_set);
    tcase_add_loop_test(tc, test_config_invalid_value_names_key_value_and_why, 0,
                        sizeof(bad_values) / sizeof(bad_values[0]));
    tcase_add_test(tc, test_config_load_file_then_overrides);
    suite_add_tcase(s, tc);

    tc = tcase_create("metrics");
    tcase_add_test(tc, test_metrics_render_prometheus_text);
    suite_add_tcase(s, tc);

    tc = tcase_create("map");
    tcase_add_test(tc, test_map_put_get_remove_many);
    tcase_add_test(tc, test_imap_put_get_remove);
    suite_add_tcase(s, tc);

    tc = tcase_create("misc");
    tcase_add_test(tc, test_return_if_and_try);
    tcase_add_test(tc, test_arena_alloc_zeroed_aligned_and_reset);
    tcase_add_test(tc, test_rand_deterministic_and_bounded);
    suite_add_tcase(s, tc);
    return s;
}
