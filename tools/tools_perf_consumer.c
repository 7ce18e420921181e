/* tools_perf_consumer.c — `sluice consumer-perf-test`: Kafka's kafka-consumer-perf-test
 * on librdkafka's high-level consumer (subscribe + group rebalance). Output as Kafka's:
 *
 *   start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec,
 *       rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
 *   2026-01-02 10:00:00:123, 2026-01-02 10:00:04:456, 95.3674, 22.0098, 1000000, …
 *
 * Timing: start.time is taken after the consumer is created; rebalance.time.ms is the time
 * spent without partitions (until the first assignment, plus any later rebalance gaps),
 * and fetch.time.ms the rest — so fetch.MB.sec and fetch.nMsg.sec are measured from the
 * first assignment. Bytes counted are key + value, as Kafka's tool counts them.
 *
 * Unlike Kafka's tool (which exits 0 after its warning), the command exits 1 when it stops
 * before --messages because --timeout passed without a record. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_rand.h"
#include "common/sl_time.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <string.h>

#define CONSUMER_POLL_MS         100  /* Kafka's tool polls with 100 ms */
#define CONSUMER_ERRORS_SHOWN    5    /* consumer errors printed one by one */
#define CONSUMER_METRICS_WAIT_MS 2500 /* wait for a statistics report after the run */
#define CONSUMER_MB              (1024.0 * 1024.0)

typedef struct consumer_perf {
    /* settings */
    int64_t messages;
    int64_t timeout_ms;
    int64_t report_interval_ms;
    bool detailed;
    bool print_metrics;
    /* client */
    rd_kafka_t *rk;
    tools_mock *mock;
    /* rebalance bookkeeping (rebalance callback, this thread) */
    int assigned;          /* partitions currently assigned */
    int64_t join_start_ms; /* when the consumer last had no partitions */
    int64_t join_ms;       /* total time without partitions */
    int64_t join_round_ms; /* the same, since the last detailed report */
    /* results */
    uint64_t count;
    uint64_t bytes;
    uint64_t errors;
    bool fatal;
    tools_stats stats;
} consumer_perf;

static const tools_opt_def consumer_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, 0, "server to connect to", NULL,
      "REQUIRED (unless the --consumer.config file sets bootstrap.servers): The server(s) "
      "to connect to." },
    { "topic", TOOLS_OPT_STRING, 0, "topic", NULL, "The topic to consume from." },
    { "include", TOOLS_OPT_STRING, 0, "regex", NULL,
      "Regular expression specifying list of topics to include for consumption." },
    { "group", TOOLS_OPT_STRING, 0, "gid", NULL,
      "The group id to consume on. (default: perf-consumer-<random>)" },
    { "messages", TOOLS_OPT_INT, TOOLS_OPT_REQUIRED, "count", NULL,
      "The number of messages to consume." },
    { "fetch-size", TOOLS_OPT_INT, 0, "size", "1048576",
      "The amount of data to fetch in a single request (max.partition.fetch.bytes)." },
    { "from-latest", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If the consumer does not already have an established offset to consume from, start "
      "with the latest message present in the log rather than the earliest message." },
    { "socket-buffer-size", TOOLS_OPT_INT, 0, "size", "2097152", "The size of the tcp RECV size." },
    { "consumer.config", TOOLS_OPT_STRING, 0, "config file", NULL,
      "Consumer config properties file (librdkafka names)." },
    { "print-metrics", TOOLS_OPT_FLAG, 0, NULL, NULL, "Print out the metrics." },
    { "show-detailed-stats", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set, stats are reported for each reporting interval as configured by "
      "reporting-interval." },
    { "timeout", TOOLS_OPT_INT, 0, "milliseconds", "10000",
      "The maximum allowed time in milliseconds between returned records." },
    { "reporting-interval", TOOLS_OPT_INT, 0, "interval_ms", "5000",
      "Interval in milliseconds at which to print progress info." },
    { "hide-header", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set, skips printing the header for the stats." },
    { "mock-cluster", TOOLS_OPT_INT, TOOLS_OPT_HIDDEN, "BROKERS", NULL,
      "Start an in-process mock cluster with this many brokers and consume from it." },
};

/* ---- client callbacks (served by rd_kafka_consumer_poll on this thread) ---- */

static void consumer_rebalance_cb(rd_kafka_t *rk,
                                  rd_kafka_resp_err_t err,
                                  rd_kafka_topic_partition_list_t *parts,
                                  void *opaque) {
    consumer_perf *cp = opaque;
    bool cooperative = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    rd_kafka_error_t *error = NULL;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        if (cp->assigned == 0) {
            int64_t gap_ms = sl_now_ms() - cp->join_start_ms;
            cp->join_ms += gap_ms;
            cp->join_round_ms += gap_ms;
        }
        cp->assigned += parts->cnt;
        if (cooperative) {
            error = rd_kafka_incremental_assign(rk, parts);
        } else {
            rd_kafka_assign(rk, parts);
        }
    } else {
        /* Revoked, or a rebalance error: give the partitions up. */
        if (cooperative) {
            error = rd_kafka_incremental_unassign(rk, parts);
            cp->assigned -= parts->cnt;
        } else {
            rd_kafka_assign(rk, NULL);
            cp->assigned = 0;
        }
        if (cp->assigned <= 0) {
            cp->assigned = 0;
            cp->join_start_ms = sl_now_ms();
        }
    }
    if (error) {
        fprintf(stderr, "WARN rebalance: %s\n", rd_kafka_error_string(error));
        rd_kafka_error_destroy(error);
    }
}

static int consumer_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque) {
    (void)rk;
    tools_stats_store(&((consumer_perf *)opaque)->stats, json, json_len);
    return 0; /* librdkafka frees json */
}

/* Serves callbacks; records arriving after the run are not counted. */
static void consumer_poll_drop(rd_kafka_t *rk, int timeout_ms) {
    rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, timeout_ms);
    if (m) rd_kafka_message_destroy(m);
}

/* ---- configuration ---- */

/* --consumer.config first, then the options, as Kafka's tool does. */
static int consumer_conf_build(
    consumer_perf *cp, const tools_opts *o, rd_kafka_conf_t *conf, char *err, size_t err_size) {
    const char *file = tools_opts_str(o, "consumer.config");
    if (file) SL_TRY(tools_conf_apply_file(conf, file, err, err_size));
    const char *bootstrap = tools_opts_str(o, "bootstrap-server");
    if (cp->mock) bootstrap = tools_mock_bootstraps(cp->mock);
    if (bootstrap) SL_TRY(tools_conf_set(conf, "bootstrap.servers", bootstrap, err, err_size));
    char value[256];
    tools_conf_get(conf, "bootstrap.servers", value, sizeof(value));
    if (!value[0]) {
        snprintf(err, err_size, "Missing required argument \"[bootstrap-server]\"");
        return SL_E_CONFIG;
    }
    const char *group = tools_opts_str(o, "group");
    char random_group[64];
    if (!group) {
        snprintf(random_group, sizeof(random_group), "perf-consumer-%d",
                 (int)(sl_rand_os_seed() % 100000));
        group = random_group;
    }
    SL_TRY(tools_conf_set(conf, "group.id", group, err, err_size));
    SL_TRY(tools_conf_set(conf, "socket.receive.buffer.bytes",
                          tools_opts_str(o, "socket-buffer-size"), err, err_size));
    SL_TRY(tools_conf_set(conf, "max.partition.fetch.bytes", tools_opts_str(o, "fetch-size"), err,
                          err_size));
    SL_TRY(tools_conf_set(conf, "auto.offset.reset",
                          tools_opts_has(o, "from-latest") ? "latest" : "earliest", err, err_size));
    SL_TRY(tools_conf_set(conf, "check.crcs", "false", err, err_size));
    tools_conf_get(conf, "client.id", value, sizeof(value));
    if (!value[0] || strcmp(value, "rdkafka") == 0) {
        SL_TRY(tools_conf_set(conf, "client.id", "perf-consumer-client", err, err_size));
    }
    if (cp->print_metrics) {
        SL_TRY(tools_conf_set(conf, "statistics.interval.ms", "1000", err, err_size));
        rd_kafka_conf_set_stats_cb(conf, consumer_stats_cb);
    }
    rd_kafka_conf_set_rebalance_cb(conf, consumer_rebalance_cb);
    tools_conf_set_logger(conf);
    rd_kafka_conf_set_opaque(conf, cp);
    return SL_OK;
}

static bool consumer_opts_valid(const tools_opts *o) {
    const char *why = NULL;
    if (tools_opts_has(o, "topic") == tools_opts_has(o, "include")) {
        why = "Exactly one of the following arguments is required: [topic], [include]";
    } else if (tools_opts_int(o, "messages") < 0) {
        why = "--messages must not be negative";
    } else if (tools_opts_int(o, "reporting-interval") <= 0) {
        why = "Reporting interval must be greater than 0.";
    } else if (tools_opts_int(o, "timeout") < 0) {
        why = "--timeout must not be negative";
    } else if (tools_opts_int(o, "fetch-size") <= 0 ||
               tools_opts_int(o, "fetch-size") > 1000000000) {
        why = "--fetch-size must be between 1 and 1000000000";
    } else if (tools_opts_int(o, "socket-buffer-size") < 0 ||
               tools_opts_int(o, "socket-buffer-size") > 100000000) {
        why = "--socket-buffer-size must be between 0 and 100000000";
    } else if (tools_opts_has(o, "mock-cluster") &&
               (tools_opts_int(o, "mock-cluster") < 1 || tools_opts_int(o, "mock-cluster") > 16)) {
        why = "--mock-cluster takes 1 to 16 brokers";
    }
    if (why) fprintf(stderr, "%s\n", why);
    return why == NULL;
}

/* ---- output ---- */

static void consumer_print_header(bool detailed) {
    printf("%s, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, "
           "fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec\n",
           detailed ? "time, threadId" : "start.time, end.time");
    fflush(stdout);
}

/* One --show-detailed-stats line for the interval [last_ms, now_ms] of the wall clock. */
static void consumer_print_progress(
    consumer_perf *cp, uint64_t last_count, uint64_t last_bytes, int64_t last_ms, int64_t now_ms) {
    char when[32];
    tools_format_date(now_ms, when, sizeof(when));
    double elapsed_ms = (double)(now_ms - last_ms);
    double mb = (double)cp->bytes / CONSUMER_MB;
    double interval_mb = (double)(cp->bytes - last_bytes) / CONSUMER_MB;
    uint64_t interval_count = cp->count - last_count;
    int64_t fetch_ms = now_ms - last_ms - cp->join_round_ms;
    printf("%s, %d, %.4f, %.4f, %" PRIu64 ", %.4f, %" PRId64 ", %" PRId64 ", %.4f, %.4f\n", when, 0,
           mb, elapsed_ms > 0 ? 1000.0 * interval_mb / elapsed_ms : 0.0, cp->count,
           elapsed_ms > 0 ? 1000.0 * (double)interval_count / elapsed_ms : 0.0, cp->join_round_ms,
           fetch_ms, fetch_ms > 0 ? 1000.0 * interval_mb / (double)fetch_ms : 0.0,
           fetch_ms > 0 ? 1000.0 * (double)interval_count / (double)fetch_ms : 0.0);
    fflush(stdout);
}

static void consumer_print_total(const consumer_perf *cp,
                                 int64_t start_wall_ms,
                                 int64_t end_wall_ms,
                                 int64_t elapsed_ms) {
    char start[32], end[32];
    tools_format_date(start_wall_ms, start, sizeof(start));
    tools_format_date(end_wall_ms, end, sizeof(end));
    double mb = (double)cp->bytes / CONSUMER_MB;
    double secs = (double)elapsed_ms / 1000.0;
    int64_t fetch_ms = elapsed_ms - cp->join_ms;
    double fetch_secs = (double)fetch_ms / 1000.0;
    printf("%s, %s, %.4f, %.4f, %" PRIu64 ", %.4f, %" PRId64 ", %" PRId64 ", %.4f, %.4f\n", start,
           end, mb, secs > 0 ? mb / secs : 0.0, cp->count,
           secs > 0 ? (double)cp->count / secs : 0.0, cp->join_ms, fetch_ms,
           fetch_secs > 0 ? mb / fetch_secs : 0.0,
           fetch_secs > 0 ? (double)cp->count / fetch_secs : 0.0);
    fflush(stdout);
}

/* ---- consuming ---- */

static void consumer_note_error(consumer_perf *cp, const rd_kafka_message_t *m) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) return;
    if (m->err == RD_KAFKA_RESP_ERR__FATAL) {
        char why[512];
        rd_kafka_fatal_error(cp->rk, why, sizeof(why));
        fprintf(stderr, "Error: fatal consumer error: %s\n", why);
        cp->fatal = true;
        return;
    }
    if (cp->errors++ < CONSUMER_ERRORS_SHOWN) {
        fprintf(stderr, "WARN consumer error: %s\n", rd_kafka_message_errstr(m));
    }
}

/* Kafka's loop: poll until --messages records arrived or --timeout passed without one. */
static void consumer_loop(consumer_perf *cp) {
    int64_t now_ms = sl_now_ms();
    int64_t last_consumed_ms = now_ms;
    int64_t last_report_ms = now_ms;
    int64_t last_report_wall_ms = sl_wall_ms();
    uint64_t last_count = 0, last_bytes = 0;
    while ((int64_t)cp->count < cp->messages && now_ms - last_consumed_ms <= cp->timeout_ms &&
           !cp->fatal) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cp->rk, CONSUMER_POLL_MS);
        now_ms = sl_now_ms();
        if (!m) continue;
        if (m->err) {
            consumer_note_error(cp, m);
        } else {
            last_consumed_ms = now_ms;
            cp->count++;
            cp->bytes += m->key_len + m->len;
        }
        rd_kafka_message_destroy(m);
        if (now_ms - last_report_ms >= cp->report_interval_ms) {
            int64_t wall_ms = last_report_wall_ms + (now_ms - last_report_ms);
            if (cp->detailed) {
                consumer_print_progress(cp, last_count, last_bytes, last_report_wall_ms, wall_ms);
            }
            cp->join_round_ms = 0;
            last_report_ms = now_ms;
            last_report_wall_ms = wall_ms;
            last_count = cp->count;
            last_bytes = cp->bytes;
        }
    }
    if ((int64_t)cp->count < cp->messages) {
        printf(
            "WARNING: Exiting before consuming the expected number of messages: timeout (%" PRId64
            " ms) exceeded. You can use the --timeout option to increase the timeout.\n",
            cp->timeout_ms);
    }
}

static int consumer_subscribe(consumer_perf *cp, const tools_opts *o) {
    const char *topic = tools_opts_str(o, "topic");
    char *pattern = NULL;
    if (!topic) {
        /* librdkafka treats a subscription starting with '^' as a regular expression. */
        const char *include = tools_opts_str(o, "include");
        size_t size = strlen(include) + 2;
        pattern = sl_malloc(size);
        snprintf(pattern, size, "%s%s", include[0] == '^' ? "" : "^", include);
        topic = pattern;
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(list, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(cp->rk, list);
    rd_kafka_topic_partition_list_destroy(list);
    if (e) fprintf(stderr, "Error: cannot subscribe to %s: %s\n", topic, rd_kafka_err2str(e));
    sl_free(pattern);
    return e ? SL_E_INVALID : SL_OK;
}

static int consumer_run_client(consumer_perf *cp, const tools_opts *o, rd_kafka_conf_t *conf) {
    char errstr[512];
    cp->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!cp->rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "Error: cannot create the consumer: %s\n", errstr);
        return SL_E_CONFIG;
    }
    rd_kafka_poll_set_consumer(cp->rk);
    int64_t start_wall_ms = sl_wall_ms();
    int64_t start_ms = sl_now_ms();
    cp->join_start_ms = start_ms;
    SL_TRY(consumer_subscribe(cp, o));
    consumer_loop(cp);
    int64_t elapsed_ms = sl_now_ms() - start_ms;
    uint64_t reports = cp->stats.reports;
    if (cp->print_metrics) {
        tools_stats_wait(&cp->stats, reports, CONSUMER_METRICS_WAIT_MS, consumer_poll_drop, cp->rk);
    }
    rd_kafka_consumer_close(cp->rk);
    if (!cp->detailed) {
        consumer_print_total(cp, start_wall_ms, start_wall_ms + elapsed_ms, elapsed_ms);
    }
    if (cp->print_metrics) tools_stats_print(&cp->stats, stdout);
    return cp->fatal ? SL_E_FATAL : SL_OK;
}

static int consumer_perf_run(const tools_opts *o) {
    if (!consumer_opts_valid(o)) return TOOLS_EXIT_USAGE;
    consumer_perf *cp = SL_NEW(consumer_perf);
    cp->messages = tools_opts_int(o, "messages");
    cp->timeout_ms = tools_opts_int(o, "timeout");
    cp->report_interval_ms = tools_opts_int(o, "reporting-interval");
    cp->detailed = tools_opts_has(o, "show-detailed-stats");
    cp->print_metrics = tools_opts_has(o, "print-metrics");
    char err[512];
    int rc = SL_OK;
    if (tools_opts_has(o, "mock-cluster")) {
        rc = tools_mock_start((int)tools_opts_int(o, "mock-cluster"), &cp->mock, err, sizeof(err));
        if (rc != SL_OK) fprintf(stderr, "Error: %s\n", err);
    }
    if (rc == SL_OK) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rc = consumer_conf_build(cp, o, conf, err, sizeof(err));
        if (rc != SL_OK) {
            rd_kafka_conf_destroy(conf);
            fprintf(stderr, "%s\n", err);
        } else {
            if (!tools_opts_has(o, "hide-header")) consumer_print_header(cp->detailed);
            rc = consumer_run_client(cp, o, conf); /* takes conf */
        }
    }
    bool complete = rc == SL_OK && (int64_t)cp->count >= cp->messages;
    if (cp->rk) rd_kafka_destroy(cp->rk);
    tools_mock_stop(cp->mock);
    tools_stats_deinit(&cp->stats);
    sl_free(cp);
    return complete ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}

const tools_command tools_cmd_consumer_perf_test = {
    .name = "consumer-perf-test",
    .summary = "Measure consumer throughput (kafka-consumer-perf-test).",
    .description = "This tool is used to verify the consumer performance.",
    .opts = consumer_opts,
    .opt_count = sizeof(consumer_opts) / sizeof(consumer_opts[0]),
    .run = consumer_perf_run,
};
