/* Unit tests for the sluice tools' library-free parts: the option parser and dispatcher
 * glue (tools_opt.c), the latency histogram, the token bucket, formatting and payload
 * files (tools_util.c). Exports tools_suite() in the tests/unit convention. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_rand.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
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
