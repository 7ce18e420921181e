/* Unit tests for the sluice tools' library-free parts: the option parser and dispatcher
 * glue (tools_opt.c), the latency histogram, the token bucket, formatting and payload
 * files (tools_util.c), and the shared text helpers (tools_text.c). */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_arena.h"
#include "common/sl_rand.h"
#include "common/sl_time.h"
#include "protocol/protocol.h"
#include "storage/storage.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

Suite *tools_suite(void);

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const tools_opt_def test_opts[] = {
    { "topic", TOOLS_OPT_STRING, TOOLS_OPT_REQUIRED, "TOPIC", NULL, "The topic." },
    { "num-records", TOOLS_OPT_INT, 0, "N", "7", "Records." },
    { "throughput", TOOLS_OPT_DOUBLE, 0, "T", NULL, "Rate." },
    { "producer-props", TOOLS_OPT_LIST, 0, "K=V", NULL, "Props." },
    { "print-metrics", TOOLS_OPT_FLAG, 0, NULL, NULL, "Metrics." },
    { "secret", TOOLS_OPT_INT, TOOLS_OPT_HIDDEN, "S", NULL, "Hidden." },
};

#define TEST_OPT_COUNT (sizeof(test_opts) / sizeof(test_opts[0]))

static int parse(tools_opts *o, int argc, char **argv, char *err) {
    return tools_opts_parse(o, test_opts, TEST_OPT_COUNT, argc, argv, err, 256);
}

/* ---------------- option parser ---------------- */

START_TEST(test_opts_space_and_equals_forms) {
    char *argv[] = { "--topic", "t1", "--num-records=42", "--throughput", "-1", "--print-metrics" };
    tools_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, ARGC(argv), argv, err), SL_OK);
    ck_assert_str_eq(tools_opts_str(&o, "topic"), "t1");
    ck_assert_int_eq(tools_opts_int(&o, "num-records"), 42);
    ck_assert(tools_opts_double(&o, "throughput") == -1.0);
    ck_assert(tools_opts_has(&o, "print-metrics"));
    ck_assert(!tools_opts_has(&o, "producer-props"));
    ck_assert(!o.help);
    tools_opts_deinit(&o);
}
END_TEST

START_TEST(test_opts_last_value_wins) {
    char *argv[] = { "--topic", "a", "--topic=b", "--num-records", "1", "--num-records", "2" };
    tools_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, ARGC(argv), argv, err), SL_OK);
    ck_assert_str_eq(tools_opts_str(&o, "topic"), "b");
    ck_assert_int_eq(tools_opts_int(&o, "num-records"), 2);
    tools_opts_deinit(&o);
}
END_TEST

START_TEST(test_opts_list_takes_values_and_repeats) {
    char *argv[] = { "--producer-props", "acks=1", "linger.ms=5",
                     "--topic",          "t",      "--producer-props=a=b=c" };
    tools_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, ARGC(argv), argv, err), SL_OK);
    const tools_opt_value *v = tools_opts_get(&o, "producer-props");
    ck_assert_uint_eq(v->list_count, 3);
    ck_assert_str_eq(v->list[0], "acks=1");
    ck_assert_str_eq(v->list[1], "linger.ms=5");
    ck_assert_str_eq(v->list[2], "a=b=c");
    ck_assert_str_eq(tools_opts_str(&o, "topic"), "t");
    tools_opts_deinit(&o);
}
END_TEST

START_TEST(test_opts_defaults_apply_when_absent) {
    char *argv[] = { "--topic", "t" };
    tools_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, ARGC(argv), argv, err), SL_OK);
    ck_assert(!tools_opts_has(&o, "num-records"));
    ck_assert_int_eq(tools_opts_int(&o, "num-records"), 7);
    ck_assert_ptr_null(tools_opts_str(&o, "throughput"));
    tools_opts_deinit(&o);
}
END_TEST

START_TEST(test_opts_rest_after_double_dash) {
    char *argv[] = { "--topic", "t", "--", "--not-parsed", "x" };
    tools_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, ARGC(argv), argv, err), SL_OK);
    ck_assert_int_eq(o.rest_argc, 2);
    ck_assert_str_eq(o.rest_argv[0], "--not-parsed");
    tools_opts_deinit(&o);
}
END_TEST

START_TEST(test_opts_help_skips_required_check) {
    char *argv[] = { "--help" };
    tools_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, ARGC(argv), argv, err), SL_OK);
    ck_assert(o.help);
    tools_opts_deinit(&o);
}
END_TEST

/* Each bad command line and the Kafka-style message it must produce. */
static const struct {
    int argc;
    char *argv[4];
    const char *message;
} bad_lines[] = {
    { 2, { "--topik", "t" }, "topik is not a recognized option" },
    { 1, { "--topic" }, "Option topic requires an argument" },
    { 2, { "--topic", "--num-records" }, "Option topic requires an argument" },
    { 3,
      { "--topic", "t", "--print-metrics=yes" },
      "Option print-metrics does not take an argument" },
    { 3,
      { "--topic", "t", "--num-records=12x" },
      "Cannot parse argument '12x' of option num-records" },
    { 4,
      { "--topic", "t", "--num-records", "99999999999999999999" },
      "Cannot parse argument '99999999999999999999' of option num-records" },
    { 3,
      { "--topic", "t", "--throughput=fast" },
      "Cannot parse argument 'fast' of option throughput" },
    { 2, { "--num-records", "3" }, "Missing required argument \"[topic]\"" },
    { 3, { "--topic", "t", "stray" }, "Found non-option argument: stray" },
    { 3, { "--topic", "t", "--producer-props" }, "Option producer-props requires an argument" },
    { 3, { "--topic", "t", "-x" }, "Found non-option argument: -x" },
};

START_TEST(test_opts_rejects_bad_lines) {
    tools_opts o;
    char err[256];
    char *argv[4];
    memcpy(argv, bad_lines[_i].argv, sizeof(argv));
    int rc = parse(&o, bad_lines[_i].argc, argv, err);
    ck_assert_int_eq(rc, SL_E_INVALID);
    ck_assert_str_eq(err, bad_lines[_i].message);
    tools_opts_deinit(&o);
}
END_TEST

static int fake_runs;
static int fake_result;

static int fake_run(const tools_opts *o) {
    (void)o;
    fake_runs++;
    return fake_result;
}

static const tools_command fake_cmd = {
    .name = "fake",
    .summary = "s",
    .description = "A fake command.",
    .opts = test_opts,
    .opt_count = TEST_OPT_COUNT,
    .run = fake_run,
};

/* Run tools_command_main with stdout and stderr sent to /dev/null. */
static int run_quietly(int argc, char **argv) {
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    FILE *null = fopen("/dev/null", "w");
    ck_assert_ptr_nonnull(null);
    dup2(fileno(null), 1);
    dup2(fileno(null), 2);
    int rc = tools_command_main(&fake_cmd, argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    fclose(null);
    return rc;
}

START_TEST(test_command_main_exit_codes) {
    char *ok[] = { "fake", "--topic", "t" };
    char *help[] = { "fake", "--help" };
    char *bad[] = { "fake", "--nope" };
    fake_runs = 0;
    fake_result = TOOLS_EXIT_OK;
    ck_assert_int_eq(run_quietly(ARGC(ok), ok), TOOLS_EXIT_OK);
    ck_assert_int_eq(fake_runs, 1);
    ck_assert_int_eq(run_quietly(ARGC(help), help), TOOLS_EXIT_OK);
    ck_assert_int_eq(run_quietly(ARGC(bad), bad), TOOLS_EXIT_FAIL);
    ck_assert_int_eq(fake_runs, 1); /* neither --help nor bad arguments run the command */
    fake_result = TOOLS_EXIT_USAGE;
    ck_assert_int_eq(run_quietly(ARGC(ok), ok), TOOLS_EXIT_FAIL);
}
END_TEST

START_TEST(test_usage_lists_visible_options) {
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    tools_usage_print(&fake_cmd, f);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(text, "Usage: sluice fake [options]"));
    ck_assert_ptr_nonnull(strstr(text, "--topic <String: TOPIC>"));
    ck_assert_ptr_nonnull(strstr(text, "REQUIRED: The topic."));
    ck_assert_ptr_nonnull(strstr(text, "(default: 7)"));
    ck_assert_ptr_nonnull(strstr(text, "--producer-props <String: K=V ...>"));
    ck_assert_ptr_nonnull(strstr(text, "--help"));
    ck_assert_ptr_null(strstr(text, "--secret"));
    free(text);
}
END_TEST

/* ---------------- histogram ---------------- */

START_TEST(test_hist_small_values_are_exact_with_kafka_rank) {
    tools_hist *h = sl_malloc(sizeof(*h));
    tools_hist_reset(h);
    ck_assert_int_eq(tools_hist_percentile(h, 0.5), 0);
    for (int v = 100; v >= 1; v--) {
        tools_hist_record(h, v);
    }
    /* Kafka: sorted[(int)(p * count)] */
    ck_assert_int_eq(tools_hist_percentile(h, 0.5), 51);
    ck_assert_int_eq(tools_hist_percentile(h, 0.95), 96);
    ck_assert_int_eq(tools_hist_percentile(h, 0.99), 100);
    ck_assert_int_eq(tools_hist_percentile(h, 0.999), 100);
    ck_assert_int_eq(tools_hist_percentile(h, 0.0), 1);
    ck_assert_uint_eq(h->count, 100);
    ck_assert_uint_eq(h->sum, 5050);
    ck_assert_int_eq(h->max, 100);
    sl_free(h);
}
END_TEST

START_TEST(test_hist_large_values_within_one_percent) {
    tools_hist *h = sl_malloc(sizeof(*h));
    for (int64_t v = 200; v < ((int64_t)1 << 39); v = v * 3 / 2 + 7) {
        tools_hist_reset(h);
        tools_hist_record(h, v);
        tools_hist_record(h, v * 4); /* max above v: the result is not just clamped */
        int64_t got = tools_hist_percentile(h, 0.0);
        double rel = (double)(got > v ? got - v : v - got) / (double)v;
        ck_assert_msg(rel <= 1.0 / 128, "v=%lld got=%lld", (long long)v, (long long)got);
    }
    sl_free(h);
}
END_TEST

START_TEST(test_hist_percentiles_are_ordered_and_bounded) {
    tools_hist *h = sl_malloc(sizeof(*h));
    tools_hist_reset(h);
    sl_rand rng;
    sl_rand_seed(&rng, 42);
    for (int i = 0; i < 200000; i++) {
        /* long-tailed: mostly small, some very large */
        int64_t v = (int64_t)sl_rand_below(&rng, 2000);
        if (sl_rand_chance(&rng, 1, 100)) v *= (int64_t)sl_rand_below(&rng, 100000) + 1;
        tools_hist_record(h, v);
    }
    int64_t p50 = tools_hist_percentile(h, 0.5), p95 = tools_hist_percentile(h, 0.95);
    int64_t p99 = tools_hist_percentile(h, 0.99), p999 = tools_hist_percentile(h, 0.999);
    ck_assert_int_le(p50, p95);
    ck_assert_int_le(p95, p99);
    ck_assert_int_le(p99, p999);
    ck_assert_int_le(p999, h->max);
    ck_assert_int_ge(p50, 900); /* uniform 0..1999 dominates the median */
    ck_assert_int_le(p50, 1100);
    sl_free(h);
}
END_TEST

START_TEST(test_hist_clamps_huge_and_negative_values) {
    tools_hist *h = sl_malloc(sizeof(*h));
    tools_hist_reset(h);
    tools_hist_record(h, -5);
    tools_hist_record(h, INT64_MAX / 2);
    ck_assert_uint_eq(h->count, 2);
    ck_assert_int_eq(tools_hist_percentile(h, 0.0), 0);
    ck_assert_int_le(tools_hist_percentile(h, 0.9), h->max);
    ck_assert_int_gt(tools_hist_percentile(h, 0.9), (int64_t)1 << 38);
    sl_free(h);
}
END_TEST

/* ---------------- token bucket ---------------- */

START_TEST(test_throttle_unlimited) {
    tools_throttle t;
    int wait_ms = -1;
    tools_throttle_init(&t, -1, 0);
    ck_assert_uint_eq(tools_throttle_take(&t, 5000, 0, &wait_ms), 5000);
    ck_assert_int_eq(wait_ms, 0);
}
END_TEST

START_TEST(test_throttle_refills_at_rate_up_to_burst) {
    tools_throttle t;
    int wait_ms = -1;
    const int64_t ms = 1000000;
    tools_throttle_init(&t, 1000, 0); /* burst = 10 ms worth = 10 records */
    ck_assert_uint_eq(tools_throttle_take(&t, 100, 0, &wait_ms), 1);
    ck_assert_uint_eq(tools_throttle_take(&t, 100, 0, &wait_ms), 0);
    ck_assert_int_eq(wait_ms, 1);
    ck_assert_uint_eq(tools_throttle_take(&t, 100, 5 * ms, &wait_ms), 5);
    ck_assert_uint_eq(tools_throttle_take(&t, 100, 1000 * ms, &wait_ms), 10);
    ck_assert_uint_eq(tools_throttle_take(&t, 3, 2000 * ms, &wait_ms), 3);
    ck_assert_uint_eq(tools_throttle_take(&t, 100, 2000 * ms, &wait_ms), 7);
}
END_TEST

START_TEST(test_throttle_holds_rate_over_simulated_second) {
    tools_throttle t;
    tools_throttle_init(&t, 250, 0);
    int64_t now_ns = 0;
    uint64_t sent = 0;
    for (int step = 0; step < 100000 && now_ns < 1000000000LL; step++) {
        int wait_ms = 0;
        sent += tools_throttle_take(&t, 64, now_ns, &wait_ms);
        now_ns += (int64_t)wait_ms * 1000000; /* sending takes no time here */
    }
    ck_assert_uint_ge(sent, 245);
    ck_assert_uint_le(sent, 255);
}
END_TEST

/* ---------------- formatting and payloads ---------------- */

START_TEST(test_format_date_layout) {
    char out[32];
    tools_format_date(1700000000123LL, out, sizeof(out));
    ck_assert_uint_eq(strlen(out), 23); /* yyyy-MM-dd HH:mm:ss:SSS */
    ck_assert_int_eq(out[4], '-');
    ck_assert_int_eq(out[10], ' ');
    ck_assert_int_eq(out[19], ':');
    ck_assert_str_eq(out + 20, "123");
}
END_TEST

START_TEST(test_unescape) {
    char out[32];
    tools_unescape("\\n", out, sizeof(out));
    ck_assert_str_eq(out, "\n");
    tools_unescape("a\\tb\\\\c\\x", out, sizeof(out));
    ck_assert_str_eq(out, "a\tb\\c\\x");
}
END_TEST

static void split_expect(
    const char *text, const char *delim, size_t count, const char *first, const char *last) {
    tools_payloads p;
    char *copy = sl_strdup(text);
    ck_assert_int_eq(tools_payloads_split(&p, copy, strlen(text), delim), SL_OK);
    ck_assert_uint_eq(p.count, count);
    ck_assert_uint_eq(p.sizes[0], strlen(first));
    ck_assert_mem_eq(p.items[0], first, strlen(first));
    ck_assert_uint_eq(p.sizes[count - 1], strlen(last));
    ck_assert_mem_eq(p.items[count - 1], last, strlen(last));
    tools_payloads_deinit(&p);
}

START_TEST(test_payloads_split) {
    split_expect("a\nbb\n\nccc\n", "\n", 3, "a", "ccc");
    split_expect("x||y||", "||", 2, "x", "y");
    split_expect("whole", "\n", 1, "whole", "whole");
    tools_payloads p;
    char *only = sl_strdup("\n\n\n");
    ck_assert_int_eq(tools_payloads_split(&p, only, 3, "\n"), SL_E_INVALID);
    sl_free(only);
}
END_TEST

START_TEST(test_payloads_load_file) {
    char path[] = "/tmp/sluice-payloads-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, "one,two,three", 13), 13);
    close(fd);
    tools_payloads p;
    char err[256];
    ck_assert_int_eq(tools_payloads_load(&p, path, ",", err, sizeof(err)), SL_OK);
    ck_assert_uint_eq(p.count, 3);
    ck_assert_mem_eq(p.items[2], "three", 5);
    tools_payloads_deinit(&p);
    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    ck_assert_int_eq(tools_payloads_load(&p, path, ",", err, sizeof(err)), SL_E_INVALID);
    ck_assert_str_eq(err, "File does not exist or empty file provided.");
    unlink(path);
    ck_assert_int_eq(tools_payloads_load(&p, path, ",", err, sizeof(err)), -ENOENT);
}
END_TEST

/* ---------------- abbreviations, optional values, positional arguments ---------------- */

START_TEST(test_opts_unique_prefix_is_the_option) {
    char *argv[] = { "--top", "t", "--print-metric", "--num=5" };
    tools_opts o;
    char err[256];
    ck_assert_int_eq(parse(&o, ARGC(argv), argv, err), SL_OK);
    ck_assert_str_eq(tools_opts_str(&o, "topic"), "t");
    ck_assert(tools_opts_has(&o, "print-metrics"));
    ck_assert_int_eq(tools_opts_int(&o, "num-records"), 5);
    tools_opts_deinit(&o);
}
END_TEST

static const tools_opt_def pos_opts[] = {
    { "", TOOLS_OPT_LIST, TOOLS_OPT_HIDDEN, "cmd", NULL, "Positional." },
    { "state", TOOLS_OPT_STRING, TOOLS_OPT_OPTIONAL_ARG, "S", NULL, "State." },
    { "status", TOOLS_OPT_FLAG, 0, NULL, NULL, "Status." },
};

START_TEST(test_opts_positional_and_optional_value) {
    char *argv[] = { "describe", "--state", "--status", "extra" };
    tools_opts o;
    char err[256];
    ck_assert_int_eq(tools_opts_parse(&o, pos_opts, 3, ARGC(argv), argv, err, sizeof(err)), SL_OK);
    const tools_opt_value *pos = tools_opts_get(&o, "");
    ck_assert_uint_eq(pos->list_count, 2);
    ck_assert_str_eq(pos->list[0], "describe");
    ck_assert_str_eq(pos->list[1], "extra");
    ck_assert(tools_opts_has(&o, "state"));
    ck_assert_ptr_null(tools_opts_str(&o, "state"));
    ck_assert(tools_opts_has(&o, "status"));
    tools_opts_deinit(&o);
    char *argv2[] = { "--state", "stable,empty" };
    ck_assert_int_eq(tools_opts_parse(&o, pos_opts, 3, ARGC(argv2), argv2, err, sizeof(err)),
                     SL_OK);
    ck_assert_str_eq(tools_opts_str(&o, "state"), "stable,empty");
    tools_opts_deinit(&o);
}
END_TEST

START_TEST(test_opts_ambiguous_prefix_is_rejected) {
    char *argv[] = { "--sta" };
    tools_opts o;
    char err[256];
    ck_assert_int_eq(tools_opts_parse(&o, pos_opts, 3, ARGC(argv), argv, err, sizeof(err)),
                     SL_E_INVALID);
    ck_assert_str_eq(err, "sta is not a recognized option");
    tools_opts_deinit(&o);
}
END_TEST

/* ---------------- text helpers ---------------- */

START_TEST(test_topic_filter_matches_whole_names) {
    tools_topic_filter *f = NULL;
    char err[256];
    ck_assert_int_eq(tools_topic_filter_new("hello.*", &f, err, sizeof(err)), SL_OK);
    ck_assert(tools_topic_filter_match(f, "hello.kafka", 11));
    ck_assert(!tools_topic_filter_match(f, "xhello", 6));
    tools_topic_filter_free(f);
    /* Kafka's IncludeList: commas are alternatives, quotes and spaces dropped. */
    ck_assert_int_eq(tools_topic_filter_new("'a, b'", &f, err, sizeof(err)), SL_OK);
    ck_assert(tools_topic_filter_match(f, "a", 1));
    ck_assert(tools_topic_filter_match(f, "b", 1));
    ck_assert(!tools_topic_filter_match(f, "ab", 2));
    tools_topic_filter_free(f);
    ck_assert_int_eq(tools_topic_filter_new("(", &f, err, sizeof(err)), SL_E_INVALID);
}
END_TEST

START_TEST(test_topic_name_rules) {
    ck_assert_ptr_null(tools_topic_invalid_reason("hello.kafka-2_x"));
    ck_assert_ptr_nonnull(tools_topic_invalid_reason(""));
    ck_assert_ptr_nonnull(tools_topic_invalid_reason(".."));
    ck_assert_ptr_nonnull(tools_topic_invalid_reason("a b"));
    char longname[300];
    memset(longname, 'a', 250);
    longname[250] = '\0';
    ck_assert_ptr_nonnull(tools_topic_invalid_reason(longname));
    ck_assert(tools_topic_is_internal("__consumer_offsets", 18));
    ck_assert(!tools_topic_is_internal("__consumer_offset", 17));
}
END_TEST

START_TEST(test_table_pads_columns_with_trailing_tabs) {
    tools_table t;
    tools_table_init(&t, 2);
    const char *h[] = { "NodeId", "Status" };
    const char *r[] = { "101", "Leader" };
    tools_table_add(&t, h);
    tools_table_add(&t, r);
    char buf[256] = "";
    FILE *f = fmemopen(buf, sizeof(buf), "w");
    tools_table_print(&t, f);
    fclose(f);
    ck_assert_str_eq(buf, "NodeId\tStatus\t\n101   \tLeader\t\n");
    tools_table_deinit(&t);
}
END_TEST

START_TEST(test_uuid_is_base64url_like_kafka) {
    uint8_t zero[16] = { 0 };
    char out[32];
    tools_uuid_format(zero, out, sizeof(out));
    ck_assert_str_eq(out, "AAAAAAAAAAAAAAAAAAAAAA");
    uint8_t ff[16];
    memset(ff, 0xff, sizeof(ff));
    tools_uuid_format(ff, out, sizeof(out));
    ck_assert_str_eq(out, "_____________________w");
}
END_TEST

START_TEST(test_error_texts) {
    ck_assert_str_eq(tools_error_message(36), "Topic with this name already exists.");
    ck_assert_str_eq(tools_error_class(37),
                     "org.apache.kafka.common.errors.InvalidPartitionsException");
    char out[128];
    tools_error_text(36, "Topic 'x' already exists.", 25, out, sizeof(out));
    ck_assert_str_eq(out, "Topic 'x' already exists.");
    tools_error_text(36, NULL, -1, out, sizeof(out));
    ck_assert_str_eq(out, "Topic with this name already exists.");
}
END_TEST

/* ---------------- group helpers ---------------- */

START_TEST(test_duration_iso8601) {
    int64_t ms = 0;
    ck_assert(tools_parse_duration_ms("PT1H", &ms));
    ck_assert_int_eq(ms, 3600000);
    ck_assert(tools_parse_duration_ms("P1DT2H3M4.5S", &ms));
    ck_assert_int_eq(ms, 86400000 + 2 * 3600000 + 3 * 60000 + 4500);
    ck_assert(tools_parse_duration_ms("-PT10S", &ms));
    ck_assert_int_eq(ms, -10000);
    ck_assert(!tools_parse_duration_ms("1H", &ms));
    ck_assert(!tools_parse_duration_ms("PT", &ms));
    ck_assert(!tools_parse_duration_ms("P1H", &ms)); /* hours need the T */
    ck_assert(!tools_parse_duration_ms("PT1X", &ms));
}
END_TEST

START_TEST(test_member_assignment_parsed_and_truncation_rejected) {
    sl_buf b;
    sl_buf_init(&b);
    sl_buf_put_i16(&b, 1); /* ConsumerProtocolAssignment v1 */
    sl_buf_put_i32(&b, 1);
    sl_buf_put_i16(&b, 5);
    sl_buf_put(&b, "topic", 5);
    sl_buf_put_i32(&b, 2);
    sl_buf_put_i32(&b, 3);
    sl_buf_put_i32(&b, 1);
    sl_buf_put_i32(&b, -1); /* null userData */
    tools_tp_list l;
    tools_tp_list_init(&l);
    ck_assert_int_eq(tools_group_parse_assignment(b.data, (int32_t)b.len, &l), SL_OK);
    ck_assert_uint_eq(l.count, 2);
    tools_tp_list_sort(&l);
    ck_assert_str_eq(l.items[0].topic, "topic");
    ck_assert_int_eq(l.items[0].partition, 1);
    ck_assert_int_eq(l.items[1].partition, 3);
    tools_tp_list_deinit(&l);
    for (size_t cut = 1; cut < b.len - 4; cut++) {
        tools_tp_list_init(&l);
        ck_assert_int_eq(tools_group_parse_assignment(b.data, (int32_t)cut, &l), SL_E_CORRUPT);
        tools_tp_list_deinit(&l);
    }
    tools_tp_list_init(&l);
    ck_assert_int_eq(tools_group_parse_assignment(NULL, 0, &l), SL_OK);
    ck_assert_uint_eq(l.count, 0);
    tools_tp_list_deinit(&l);
    sl_buf_deinit(&b);
}
END_TEST

/* ---------------- dump-log against a log written by the storage module ---------------- */

static char dl_root[64];
static char dl_dir[128];

static void dl_setup(void) {
    snprintf(dl_root, sizeof(dl_root), "/tmp/sluice-tools-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dl_root));
    snprintf(dl_dir, sizeof(dl_dir), "%s/hello.kafka-0", dl_root);
    storage_log_config cfg = { 0 }; /* fields the defaults may leave alone stay zero */
    storage_log_config_defaults(&cfg);
    cfg.index_interval_bytes = 0; /* index every batch but the first */
    storage_log *log = NULL;
    ck_assert_int_eq(storage_log_open(dl_dir, &cfg, 1700000000000, &log), SL_OK);
    for (int b = 0; b < 3; b++) {
        protocol_batch_options opt;
        protocol_batch_options_init(&opt);
        protocol_batch_builder builder;
        protocol_batch_builder_init(&builder, &opt);
        for (int r = 0; r < 2; r++) {
            char key[16], value[16];
            snprintf(key, sizeof(key), "key%d", b * 2 + r);
            snprintf(value, sizeof(value), "no%d", b * 2 + r);
            ck_assert_int_eq(protocol_batch_builder_add(
                                 &builder, 1700000000000 + b * 2 + r,
                                 (sl_bytes){ (const uint8_t *)key, (int32_t)strlen(key) },
                                 (sl_bytes){ (const uint8_t *)value, (int32_t)strlen(value) }, NULL,
                                 0),
                             SL_OK);
        }
        sl_buf out;
        sl_buf_init(&out);
        ck_assert_int_eq(protocol_batch_builder_finish(&builder, &out), SL_OK);
        ck_assert_int_eq(storage_log_append(log, out.data, out.len, 3, 1700000000000, NULL), SL_OK);
        sl_buf_deinit(&out);
        protocol_batch_builder_deinit(&builder);
    }
    storage_log_close(log);
}

static void dl_teardown(void) {
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dl_root);
    ck_assert_int_eq(system(cmd), 0);
}

/* Run `sluice dump-log args…` in-process; stdout into out (NUL-terminated). */
static int dl_capture(char **args, int argc, char *out, size_t out_size) {
    char path[160];
    snprintf(path, sizeof(path), "%s/out.txt", dl_root);
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
    ck_assert_int_ge(fd, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    int rc = tools_command_main(&tools_cmd_dump_log, argc, args);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    close(fd);
    FILE *f = fopen(path, "r");
    size_t n = fread(out, 1, out_size - 1, f);
    out[n] = '\0';
    fclose(f);
    return rc;
}

START_TEST(test_dump_log_prints_batches_and_records) {
    char file[256], out[16384];
    snprintf(file, sizeof(file), "%s/00000000000000000000.log", dl_dir);
    char *args[] = { "dump-log", "--files", file, "--print-data-log" };
    ck_assert_int_eq(dl_capture(args, ARGC(args), out, sizeof(out)), TOOLS_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(out, "Log starting offset: 0\n"));
    ck_assert_ptr_nonnull(strstr(out, "baseOffset: 0 lastOffset: 1 count: 2 baseSequence: -1 "
                                      "lastSequence: -1 producerId: -1 producerEpoch: -1 "
                                      "partitionLeaderEpoch: 3 isTransactional: false isControl: "
                                      "false deleteHorizonMs: OptionalLong.empty position: 0 "
                                      "CreateTime: 1700000000001 size: "));
    ck_assert_ptr_nonnull(strstr(out, "magic: 2 compresscodec: none crc: "));
    ck_assert_ptr_nonnull(strstr(out, "isvalid: true\n"));
    ck_assert_ptr_nonnull(strstr(out,
                                 "| offset: 0 CreateTime: 1700000000000 keySize: 4 valueSize: 3 "
                                 "sequence: -1 headerKeys: [] key: key0 payload: no0\n"));
    ck_assert_ptr_nonnull(strstr(out,
                                 "| offset: 5 CreateTime: 1700000000005 keySize: 4 valueSize: 3 "
                                 "sequence: -1 headerKeys: [] key: key5 payload: no5\n"));
    ck_assert_ptr_null(strstr(out, "Non-consecutive"));
    ck_assert_ptr_null(strstr(out, "invalid bytes"));
}
END_TEST

START_TEST(test_dump_log_shallow_by_default_and_index_checks) {
    char log[256], index[256], tindex[256], out[16384];
    snprintf(log, sizeof(log), "%s/00000000000000000000.log", dl_dir);
    snprintf(index, sizeof(index), "%s/00000000000000000000.index", dl_dir);
    snprintf(tindex, sizeof(tindex), "%s/00000000000000000000.timeindex", dl_dir);
    char *shallow[] = { "dump-log", "--files", log };
    ck_assert_int_eq(dl_capture(shallow, ARGC(shallow), out, sizeof(out)), TOOLS_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(out, "baseOffset: 4 lastOffset: 5 count: 2"));
    ck_assert_ptr_null(strstr(out, "| offset:"));
    char *idx[] = { "dump-log", "--files", index };
    ck_assert_int_eq(dl_capture(idx, ARGC(idx), out, sizeof(out)), TOOLS_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(out, "offset: 3 position: "));
    ck_assert_ptr_nonnull(strstr(out, "offset: 5 position: "));
    ck_assert_ptr_null(strstr(out, "Mismatches"));
    char *verify[] = { "dump-log", "--files", index, "--verify-index-only" };
    ck_assert_int_eq(dl_capture(verify, ARGC(verify), out, sizeof(out)), TOOLS_EXIT_OK);
    ck_assert_ptr_null(strstr(out, "offset: 3 position"));
    char *sanity[] = { "dump-log", "--files", tindex, "--index-sanity-check" };
    ck_assert_int_eq(dl_capture(sanity, ARGC(sanity), out, sizeof(out)), TOOLS_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(out, "passed sanity check."));
    char *check[] = { "dump-log", "--files", log, "--verify" };
    ck_assert_int_eq(dl_capture(check, ARGC(check), out, sizeof(out)), TOOLS_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(out, "No problems found in "));
}
END_TEST

START_TEST(test_dump_log_reports_damage) {
    char log[256], out[16384];
    snprintf(log, sizeof(log), "%s/00000000000000000000.log", dl_dir);
    /* Flip a byte inside the first batch's records: its CRC no longer matches. */
    int fd = open(log, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t byte = 0;
    ck_assert_int_eq(pread(fd, &byte, 1, 70), 1);
    byte ^= 0x55;
    ck_assert_int_eq(pwrite(fd, &byte, 1, 70), 1);
    close(fd);
    char *args[] = { "dump-log", "--files", log };
    ck_assert_int_eq(dl_capture(args, ARGC(args), out, sizeof(out)), TOOLS_EXIT_OK);
    ck_assert_ptr_nonnull(strstr(out, "isvalid: false"));
    char *check[] = { "dump-log", "--files", log, "--verify" };
    ck_assert_int_eq(dl_capture(check, ARGC(check), out, sizeof(out)), TOOLS_EXIT_FAIL);
    ck_assert_ptr_nonnull(strstr(out, "problem(s) found in "));
    /* A torn tail shorter than a batch header is reported, as Kafka does; a header with an
     * impossible size is an error. */
    fd = open(log, O_WRONLY | O_APPEND);
    ck_assert_int_eq(write(fd, "0123456789", 10), 10);
    close(fd);
    ck_assert_int_eq(dl_capture(args, ARGC(args), out, sizeof(out)), TOOLS_EXIT_OK);
    ck_assert_ptr_nonnull(
        strstr(out, "Found 10 invalid bytes at the end of 00000000000000000000.log"));
    fd = open(log, O_WRONLY | O_APPEND);
    ck_assert_int_eq(write(fd, "0123456789", 10), 10);
    close(fd);
    ck_assert_int_eq(dl_capture(args, ARGC(args), out, sizeof(out)), TOOLS_EXIT_FAIL);
    ck_assert_ptr_nonnull(strstr(out, "exceeds the largest allowable message size (5242880)."));
    char missing[256];
    snprintf(missing, sizeof(missing), "%s/nope.log", dl_root);
    char *none[] = { "dump-log", "--files", missing };
    ck_assert_int_eq(dl_capture(none, ARGC(none), out, sizeof(out)), TOOLS_EXIT_FAIL);
    ck_assert_ptr_nonnull(strstr(out, "No such file or directory"));
}
END_TEST

/* ---------------- the Kafka client against a scripted server ---------------- */

/* How the fake broker answers. */
typedef enum fake_mode {
    FAKE_NORMAL,          /* ApiVersions v3 refused (KIP-511 fallback), then answers */
    FAKE_BAD_CORRELATION, /* Metadata answered with a wrong correlation id */
    FAKE_SILENT,          /* Metadata never answered */
} fake_mode;

typedef struct fake_broker {
    int listen_fd;
    int port;
    fake_mode mode;
    int requests; /* requests read */
    pthread_t thread;
} fake_broker;

static int fake_read_frame(int fd, sl_buf *frame) {
    uint8_t len[4];
    if (recv(fd, len, 4, MSG_WAITALL) != 4) return -1;
    size_t n = sl_load_be32(len);
    sl_buf_reset(frame);
    uint8_t *p = sl_buf_reserve(frame, n);
    return recv(fd, p, n, MSG_WAITALL) == (ssize_t)n ? 0 : -1;
}

static void
fake_send(int fd, int32_t corr, const protocol_api *api, int16_t version, const void *resp) {
    sl_buf out;
    sl_buf_init(&out);
    size_t slot = sl_buf_put_slot_i32(&out);
    protocol_response_header_encode(&out, api->key, version, corr);
    api->response_encode(&out, version, resp);
    sl_buf_patch_i32(&out, slot, (int32_t)(out.len - 4));
    ck_assert_int_eq(send(fd, out.data, out.len, MSG_NOSIGNAL), (ssize_t)out.len);
    sl_buf_deinit(&out);
}

static void fake_api_versions(fake_broker *fb, int fd, const protocol_request_header *h) {
    protocol_ApiVersionsResponse_ApiVersion keys[] = { { 3, 0, 1 }, { 18, 0, 3 } };
    protocol_ApiVersionsResponse resp;
    protocol_ApiVersionsResponse_init(&resp);
    resp.ApiKeys.count = 2;
    resp.ApiKeys.items = keys;
    if (h->api_version == 3 && fb->mode == FAKE_NORMAL) {
        resp.ErrorCode = PROTOCOL_ERR_UNSUPPORTED_VERSION; /* answered as v0, KIP-511 */
        fake_send(fd, h->correlation_id, protocol_api_find(18), 0, &resp);
        return;
    }
    fake_send(fd, h->correlation_id, protocol_api_find(18), h->api_version, &resp);
}

static void fake_metadata(fake_broker *fb, int fd, const protocol_request_header *h) {
    if (fb->mode == FAKE_SILENT) return;
    protocol_MetadataResponse_MetadataResponseBroker broker;
    protocol_MetadataResponse_MetadataResponseBroker_init(&broker);
    broker.NodeId = 7;
    broker.Host = sl_str_c("127.0.0.1");
    broker.Port = fb->port;
    protocol_MetadataResponse resp;
    protocol_MetadataResponse_init(&resp);
    resp.Brokers.count = 1;
    resp.Brokers.items = &broker;
    resp.ControllerId = 7;
    resp.Topics.count = 0;
    int32_t corr = h->correlation_id + (fb->mode == FAKE_BAD_CORRELATION ? 1 : 0);
    fake_send(fd, corr, protocol_api_find(3), h->api_version, &resp);
}

static void *fake_serve(void *arg) {
    fake_broker *fb = arg;
    sl_buf frame;
    sl_buf_init(&frame);
    for (int conn = 0; conn < 4; conn++) {
        int fd = accept(fb->listen_fd, NULL, NULL);
        if (fd < 0) break;
        while (fake_read_frame(fd, &frame) == 0) {
            sl_reader r;
            sl_reader_init(&r, frame.data, frame.len);
            protocol_request_header h;
            if (protocol_request_header_decode(&r, &h) != SL_OK) break;
            fb->requests++;
            if (h.api_key == 18) fake_api_versions(fb, fd, &h);
            if (h.api_key == 3) fake_metadata(fb, fd, &h);
        }
        close(fd);
    }
    sl_buf_deinit(&frame);
    return NULL;
}

static void fake_start(fake_broker *fb, fake_mode mode) {
    memset(fb, 0, sizeof(*fb));
    fb->mode = mode;
    fb->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    ck_assert_int_eq(bind(fb->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(fb->listen_fd, 4), 0);
    ck_assert_int_eq(getsockname(fb->listen_fd, (struct sockaddr *)&a, &len), 0);
    fb->port = ntohs(a.sin_port);
    ck_assert_int_eq(pthread_create(&fb->thread, NULL, fake_serve, fb), 0);
}

static void fake_stop(fake_broker *fb) {
    shutdown(fb->listen_fd, SHUT_RDWR);
    close(fb->listen_fd);
    pthread_join(fb->thread, NULL);
}

static tools_kc *fake_client(const fake_broker *fb, int timeout_ms) {
    char bootstrap[64], err[256];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", fb->port);
    tools_kc *kc = NULL;
    ck_assert_int_eq(tools_kc_open(bootstrap, NULL, "unit", &kc, err, sizeof(err)), SL_OK);
    tools_kc_set_timeout_ms(kc, timeout_ms);
    return kc;
}

START_TEST(test_client_negotiates_versions_and_learns_brokers) {
    fake_broker fb;
    fake_start(&fb, FAKE_NORMAL);
    tools_kc *kc = fake_client(&fb, 5000);
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_MetadataResponse md;
    int16_t version = -1;
    char err[256];
    ck_assert_int_eq(tools_kc_metadata(kc, NULL, 0, &arena, &md, &version, err, sizeof(err)),
                     SL_OK);
    ck_assert_int_eq(version, 1); /* ours go to 12, the broker's to 1 */
    ck_assert_int_eq(md.Brokers.count, 1);
    char host[64];
    int port = 0;
    ck_assert(tools_kc_node_address(kc, 7, host, sizeof(host), &port));
    ck_assert_str_eq(host, "127.0.0.1");
    ck_assert_int_eq(port, fb.port);
    /* An API the broker does not announce is refused without a request. */
    protocol_CreateTopicsRequest req;
    protocol_CreateTopicsRequest_init(&req);
    protocol_CreateTopicsResponse resp;
    ck_assert_int_eq(
        tools_kc_call(kc, TOOLS_KC_ANY, 19, -1, &req, &resp, &arena, NULL, err, sizeof(err)),
        SL_E_UNSUPPORTED);
    ck_assert_str_eq(err, "The node does not support CreateTopics");
    int16_t min[TOOLS_KC_API_KEYS], max[TOOLS_KC_API_KEYS];
    ck_assert_int_eq(tools_kc_api_versions(kc, TOOLS_KC_ANY, min, max, err, sizeof(err)), SL_OK);
    ck_assert_int_eq(max[3], 1);
    ck_assert_int_eq(max[19], -1);
    sl_arena_deinit(&arena);
    tools_kc_close(kc);
    fake_stop(&fb);
    ck_assert_int_eq(fb.requests, 3); /* ApiVersions v3, v0, Metadata */
}
END_TEST

START_TEST(test_client_rejects_wrong_correlation_and_times_out) {
    fake_broker fb;
    fake_start(&fb, FAKE_BAD_CORRELATION);
    tools_kc *kc = fake_client(&fb, 5000);
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_MetadataResponse md;
    char err[256];
    ck_assert_int_eq(tools_kc_metadata(kc, NULL, 0, &arena, &md, NULL, err, sizeof(err)),
                     SL_E_CORRUPT);
    tools_kc_close(kc);
    fake_stop(&fb);
    fake_start(&fb, FAKE_SILENT);
    kc = fake_client(&fb, 300);
    int64_t start = sl_now_ms();
    ck_assert_int_eq(tools_kc_metadata(kc, NULL, 0, &arena, &md, NULL, err, sizeof(err)),
                     SL_E_TIMEOUT);
    ck_assert_int_lt(sl_now_ms() - start, 3000);
    ck_assert_ptr_nonnull(strstr(err, "Timed out waiting for a node assignment. Call: Metadata"));
    tools_kc_close(kc);
    fake_stop(&fb);
    sl_arena_deinit(&arena);
}
END_TEST

START_TEST(test_client_bad_bootstrap_and_unreachable) {
    tools_kc *kc = NULL;
    char err[256];
    ck_assert_int_eq(tools_kc_open("127.0.0.1:notaport", NULL, NULL, &kc, err, sizeof(err)),
                     SL_E_INVALID);
    ck_assert_str_eq(err, "Invalid url in bootstrap.servers: 127.0.0.1:notaport");
    ck_assert_int_eq(tools_kc_open(NULL, NULL, NULL, &kc, err, sizeof(err)), SL_E_INVALID);
    ck_assert_int_eq(tools_kc_open("127.0.0.1:1", NULL, NULL, &kc, err, sizeof(err)), SL_OK);
    tools_kc_set_timeout_ms(kc, 500);
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_MetadataResponse md;
    ck_assert_int_lt(tools_kc_metadata(kc, NULL, 0, &arena, &md, NULL, err, sizeof(err)), 0);
    ck_assert_ptr_nonnull(strstr(err, "Timed out waiting for a node assignment"));
    sl_arena_deinit(&arena);
    tools_kc_close(kc);
}
END_TEST

Suite *tools_suite(void) {
    Suite *s = suite_create("tools");
    TCase *tc = tcase_create("opts");
    tcase_add_test(tc, test_opts_space_and_equals_forms);
    tcase_add_test(tc, test_opts_last_value_wins);
    tcase_add_test(tc, test_opts_list_takes_values_and_repeats);
    tcase_add_test(tc, test_opts_defaults_apply_when_absent);
    tcase_add_test(tc, test_opts_rest_after_double_dash);
    tcase_add_test(tc, test_opts_help_skips_required_check);
    tcase_add_loop_test(tc, test_opts_rejects_bad_lines, 0,
                        (int)(sizeof(bad_lines) / sizeof(bad_lines[0])));
    tcase_add_test(tc, test_command_main_exit_codes);
    tcase_add_test(tc, test_usage_lists_visible_options);
    tcase_add_test(tc, test_opts_unique_prefix_is_the_option);
    tcase_add_test(tc, test_opts_positional_and_optional_value);
    tcase_add_test(tc, test_opts_ambiguous_prefix_is_rejected);
    suite_add_tcase(s, tc);
    tc = tcase_create("text");
    tcase_add_test(tc, test_topic_filter_matches_whole_names);
    tcase_add_test(tc, test_topic_name_rules);
    tcase_add_test(tc, test_table_pads_columns_with_trailing_tabs);
    tcase_add_test(tc, test_uuid_is_base64url_like_kafka);
    tcase_add_test(tc, test_error_texts);
    tcase_add_test(tc, test_duration_iso8601);
    tcase_add_test(tc, test_member_assignment_parsed_and_truncation_rejected);
    suite_add_tcase(s, tc);
    tc = tcase_create("client");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_client_negotiates_versions_and_learns_brokers);
    tcase_add_test(tc, test_client_rejects_wrong_correlation_and_times_out);
    tcase_add_test(tc, test_client_bad_bootstrap_and_unreachable);
    suite_add_tcase(s, tc);
    tc = tcase_create("dump_log");
    tcase_add_checked_fixture(tc, dl_setup, dl_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_dump_log_prints_batches_and_records);
    tcase_add_test(tc, test_dump_log_shallow_by_default_and_index_checks);
    tcase_add_test(tc, test_dump_log_reports_damage);
    suite_add_tcase(s, tc);
    tc = tcase_create("hist");
    tcase_add_test(tc, test_hist_small_values_are_exact_with_kafka_rank);
    tcase_add_test(tc, test_hist_large_values_within_one_percent);
    tcase_add_test(tc, test_hist_percentiles_are_ordered_and_bounded);
    tcase_add_test(tc, test_hist_clamps_huge_and_negative_values);
    suite_add_tcase(s, tc);
    tc = tcase_create("throttle");
    tcase_add_test(tc, test_throttle_unlimited);
    tcase_add_test(tc, test_throttle_refills_at_rate_up_to_burst);
    tcase_add_test(tc, test_throttle_holds_rate_over_simulated_second);
    suite_add_tcase(s, tc);
    tc = tcase_create("format");
    tcase_add_test(tc, test_format_date_layout);
    tcase_add_test(tc, test_unescape);
    tcase_add_test(tc, test_payloads_split);
    tcase_add_test(tc, test_payloads_load_file);
    suite_add_tcase(s, tc);
    return s;
}
