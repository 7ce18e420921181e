/* tools_perf_producer.c — `sluice producer-perf-test`: Kafka's kafka-producer-perf-test
 * on librdkafka. Same options and output lines, so existing scripts can read it:
 *
 *   N records sent, X records/sec (Y MB/sec), Z ms avg latency, W ms max latency.
 *   N records sent, X records/sec (Y MB/sec), A ms avg latency, M ms max latency,
 *       p50 ms 50th, p95 ms 95th, p99 ms 99th, p999 ms 99.9th.
 *
 * Latency is send → delivery report, measured in microseconds: the send time travels as
 * the message's opaque pointer, so nothing is allocated per record, and every latency
 * goes into a log-linear histogram (bounded memory for any --num-records). Percentiles
 * are printed as whole milliseconds like Kafka's; averages and maxima keep two decimals.
 *
 * Speed: one payload buffer is built once and handed to librdkafka without
 * RD_KAFKA_MSG_F_COPY (and without F_FREE): the client references it until delivery, and
 * it lives until the client is destroyed. Only --payload-monotonic, whose payload changes
 * per record, uses F_COPY. Delivery reports are served by rd_kafka_poll once per chunk of
 * PRODUCER_CHUNK sends, or while waiting for the token bucket or for queue space. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_rand.h"
#include "common/sl_time.h"

#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>

#define PRODUCER_CHUNK            256   /* sends between two rd_kafka_poll calls */
#define PRODUCER_ERRORS_SHOWN     5     /* delivery errors printed one by one */
#define PRODUCER_FULL_WAIT_MS     10    /* poll time while the producer queue is full */
#define PRODUCER_FLUSH_SLACK_MS   60000 /* beyond message.timeout.ms before giving up */
#define PRODUCER_METRICS_WAIT_MS  2500  /* wait for a statistics report after the run */
#define PRODUCER_TXN_TIMEOUT_MS   60000 /* init/commit of transactions */
#define PRODUCER_MONOTONIC_DIGITS 24
#define PRODUCER_INTERVAL_MAX_MS  INT32_MAX /* keeps interval * 1000 (µs) far from overflow */

/* Counters over an interval (a reporting window or the whole run). */
typedef struct producer_window {
    int64_t start_us;
    uint64_t count; /* records acknowledged */
    uint64_t bytes; /* their payload bytes */
    uint64_t lat_sum_us;
    int64_t lat_max_us;
} producer_window;

typedef struct producer_perf {
    /* settings */
    const char *topic;
    int64_t num_records;
    int64_t record_size; /* 0 with --payload-file / --payload-monotonic */
    bool monotonic;
    double throughput; /* records/s; < 0 = unlimited */
    bool transactions;
    int64_t txn_duration_ms;
    bool print_metrics;
    int64_t report_interval_us;
    int64_t message_timeout_ms;
    /* client */
    rd_kafka_t *rk;
    rd_kafka_topic_t *rkt;
    tools_mock *mock;
    uint8_t *payload;        /* --record-size bytes, A–Z */
    tools_payloads payloads; /* --payload-file */
    sl_rand rng;             /* picks payload-file entries */
    /* results: updated by the delivery callback on this thread */
    producer_window total;
    producer_window window;
    tools_hist hist; /* latencies in µs */
    uint64_t failed;
    bool fatal;
    tools_stats stats;
} producer_perf;

static const tools_opt_def producer_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, 0, "BOOTSTRAP-SERVER", NULL,
      "The server(s) to connect to. Takes precedence over bootstrap.servers given with "
      "--producer-props or --producer.config." },
    { "topic", TOOLS_OPT_STRING, TOOLS_OPT_REQUIRED, "TOPIC", NULL,
      "Produce messages to this topic." },
    { "num-records", TOOLS_OPT_INT, TOOLS_OPT_REQUIRED, "NUM-RECORDS", NULL,
      "Number of messages to produce." },
    { "record-size", TOOLS_OPT_INT, 0, "RECORD-SIZE", NULL,
      "Message size in bytes. Provide exactly one of --record-size, --payload-file or "
      "--payload-monotonic." },
    { "payload-file", TOOLS_OPT_STRING, 0, "PAYLOAD-FILE", NULL,
      "File to read the message payloads from; a payload is picked at random for each "
      "message. Provide exactly one of --record-size, --payload-file or --payload-monotonic." },
    { "payload-monotonic", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "The payload is the message's sequence number (0, 1, 2, ...) as text. Provide exactly "
      "one of --record-size, --payload-file or --payload-monotonic." },
    { "payload-delimiter", TOOLS_OPT_STRING, 0, "PAYLOAD-DELIMITER", "\\n",
      "Delimiter between payloads in --payload-file (escapes \\n \\r \\t \\\\ allowed)." },
    { "throughput", TOOLS_OPT_DOUBLE, TOOLS_OPT_REQUIRED, "THROUGHPUT", NULL,
      "Throttle message throughput to approximately THROUGHPUT messages/sec. Set this to -1 "
      "to disable throttling." },
    { "producer-props", TOOLS_OPT_LIST, 0, "PROP-NAME=PROP-VALUE", NULL,
      "Producer configuration properties (librdkafka names) like bootstrap.servers, "
      "client.id, linger.ms. These take precedence over --producer.config." },
    { "producer.config", TOOLS_OPT_STRING, 0, "CONFIG-FILE", NULL,
      "Producer config properties file." },
    { "print-metrics", TOOLS_OPT_FLAG, 0, NULL, NULL, "Print out metrics at the end of the test." },
    { "transactional-id", TOOLS_OPT_STRING, 0, "TRANSACTIONAL-ID", NULL,
      "The transactional id to use; takes precedence over transactional.id in the producer "
      "properties. Without it, --transaction-duration-ms uses performance-producer-<random>." },
    { "transaction-duration-ms", TOOLS_OPT_INT, 0, "TRANSACTION-DURATION", NULL,
      "The max age of each transaction; the transaction is committed once this time has "
      "elapsed. Defaults to 3000 when a transactional id is set." },
    { "reporting-interval", TOOLS_OPT_INT, TOOLS_OPT_HIDDEN, "MS", "5000",
      "Interval in milliseconds between progress lines." },
    { "mock-cluster", TOOLS_OPT_INT, TOOLS_OPT_HIDDEN, "BROKERS", NULL,
      "Start an in-process mock cluster with this many brokers and produce to it." },
};

/* ---- statistics ---- */

static void window_add(producer_window *w, uint64_t bytes, int64_t latency_us) {
    w->count++;
    w->bytes += bytes;
    w->lat_sum_us += (uint64_t)latency_us;
    if (latency_us > w->lat_max_us) w->lat_max_us = latency_us;
}

static void producer_print_window(producer_perf *pp, int64_t now_us) {
    producer_window *w = &pp->window;
    if (now_us - w->start_us < pp->report_interval_us || w->count == 0) return;
    double secs = (double)(now_us - w->start_us) / 1e6;
    printf("%" PRIu64 " records sent, %.1f records/sec (%.2f MB/sec), %.1f ms avg latency, "
           "%.1f ms max latency.\n",
           w->count, (double)w->count / secs, (double)w->bytes / secs / (1024.0 * 1024.0),
           (double)w->lat_sum_us / (double)w->count / 1000.0, (double)w->lat_max_us / 1000.0);
    fflush(stdout);
    memset(w, 0, sizeof(*w));
    w->start_us = now_us;
}

static void producer_print_total(const producer_perf *pp, int64_t now_us) {
    const producer_window *t = &pp->total;
    double secs = (double)(now_us - t->start_us) / 1e6;
    if (secs <= 0) secs = 1e-6;
    double avg_ms = t->count ? (double)t->lat_sum_us / (double)t->count / 1000.0 : 0.0;
    printf("%" PRIu64 " records sent, %f records/sec (%.2f MB/sec), %.2f ms avg latency, "
           "%.2f ms max latency, %" PRId64 " ms 50th, %" PRId64 " ms 95th, %" PRId64
           " ms 99th, %" PRId64 " ms 99.9th.\n",
           t->count, (double)t->count / secs, (double)t->bytes / secs / (1024.0 * 1024.0), avg_ms,
           (double)t->lat_max_us / 1000.0, tools_hist_percentile(&pp->hist, 0.5) / 1000,
           tools_hist_percentile(&pp->hist, 0.95) / 1000,
           tools_hist_percentile(&pp->hist, 0.99) / 1000,
           tools_hist_percentile(&pp->hist, 0.999) / 1000);
    fflush(stdout);
}

/* ---- client callbacks (run inside rd_kafka_poll / flush on this thread) ---- */

static void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    producer_perf *pp = opaque;
    if (m->err) {
        if (pp->failed++ < PRODUCER_ERRORS_SHOWN) {
            fprintf(stderr, "Error: delivery to %s [%" PRId32 "] failed: %s\n", pp->topic,
                    m->partition, rd_kafka_err2str(m->err));
        }
        return;
    }
    int64_t latency_us = sl_now_us() - (int64_t)(uintptr_t)m->_private;
    if (latency_us < 0) latency_us = 0;
    window_add(&pp->total, m->len, latency_us);
    window_add(&pp->window, m->len, latency_us);
    tools_hist_record(&pp->hist, latency_us);
}

static void producer_error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque) {
    producer_perf *pp = opaque;
    if (err != RD_KAFKA_RESP_ERR__FATAL) {
        /* Transient (connection refused, all brokers down): the client logs these itself
         * and retries; undelivered records are reported by the delivery callback. */
        SL_LOG(SL_DEBUG, "tools", "producer_error", "err=%s reason=\"%s\"", rd_kafka_err2name(err),
               reason);
        return;
    }
    char why[512];
    rd_kafka_fatal_error(rk, why, sizeof(why));
    fprintf(stderr, "Error: fatal producer error: %s\n", why);
    pp->fatal = true;
}

static int producer_stats_cb(rd_kafka_t *rk, char *json, size_t json_len, void *opaque) {
    (void)rk;
    tools_stats_store(&((producer_perf *)opaque)->stats, json, json_len);
    return 0; /* librdkafka frees json */
}

static void producer_poll(rd_kafka_t *rk, int timeout_ms) {
    rd_kafka_poll(rk, timeout_ms);
}

/* ---- configuration ---- */

static int producer_conf_txn(
    producer_perf *pp, const tools_opts *o, rd_kafka_conf_t *conf, char *err, size_t err_size) {
    char txn_id[256];
    tools_conf_get(conf, "transactional.id", txn_id, sizeof(txn_id));
    const char *id_opt = tools_opts_str(o, "transactional-id");
    pp->transactions = id_opt || txn_id[0] || tools_opts_has(o, "transaction-duration-ms");
    if (!pp->transactions) return SL_OK;
    pp->txn_duration_ms = tools_opts_has(o, "transaction-duration-ms")
                              ? tools_opts_int(o, "transaction-duration-ms")
                              : 3000;
    if (id_opt) return tools_conf_set(conf, "transactional.id", id_opt, err, err_size);
    if (txn_id[0]) return SL_OK;
    snprintf(txn_id, sizeof(txn_id), "performance-producer-%016" PRIx64 "%016" PRIx64,
             sl_rand_os_seed(), sl_rand_os_seed());
    return tools_conf_set(conf, "transactional.id", txn_id, err, err_size);
}

/* Defaults as Kafka's tool (acks=all, its client.id), then --producer.config, then
 * --producer-props, then --bootstrap-server. The producer queue holds 32 MB, like the Java
 * producer's buffer.memory, so unthrottled latencies compare with Kafka's tool (a deeper
 * queue adds queueing delay, not throughput: 256 MB measured the same MB/sec at 5x the
 * latency); and up to a million records, since librdkafka's 100,000 stalls small-record
 * runs on queue-full waits. */
static int producer_conf_build(
    producer_perf *pp, const tools_opts *o, rd_kafka_conf_t *conf, char *err, size_t err_size) {
    SL_TRY(tools_conf_set(conf, "client.id", "perf-producer-client", err, err_size));
    SL_TRY(tools_conf_set(conf, "acks", "all", err, err_size));
    SL_TRY(tools_conf_set(conf, "queue.buffering.max.messages", "1000000", err, err_size));
    SL_TRY(tools_conf_set(conf, "queue.buffering.max.kbytes", "32768", err, err_size));
    const char *file = tools_opts_str(o, "producer.config");
    if (file) SL_TRY(tools_conf_apply_file(conf, file, err, err_size));
    const tools_opt_value *props = tools_opts_get(o, "producer-props");
    SL_TRY(tools_conf_apply_kvs(conf, props->list, props->list_count, err, err_size));
    const char *bootstrap = tools_opts_str(o, "bootstrap-server");
    if (pp->mock) bootstrap = tools_mock_bootstraps(pp->mock);
    if (bootstrap) SL_TRY(tools_conf_set(conf, "bootstrap.servers", bootstrap, err, err_size));
    char value[256];
    tools_conf_get(conf, "bootstrap.servers", value, sizeof(value));
    if (!value[0]) {
        snprintf(err, err_size,
                 "Either --bootstrap-server, --producer-props bootstrap.servers=... "
                 "or --producer.config must be specified.");
        return SL_E_CONFIG;
    }
    SL_TRY(producer_conf_txn(pp, o, conf, err, err_size));
    if (pp->print_metrics) {
        SL_TRY(tools_conf_set(conf, "statistics.interval.ms", "1000", err, err_size));
        rd_kafka_conf_set_stats_cb(conf, producer_stats_cb);
    }
    tools_conf_get(conf, "message.timeout.ms", value, sizeof(value));
    pp->message_timeout_ms = atoll(value) > 0 ? atoll(value) : 300000;
    rd_kafka_conf_set_dr_msg_cb(conf, producer_dr_cb);
    rd_kafka_conf_set_error_cb(conf, producer_error_cb);
    tools_conf_set_logger(conf);
    rd_kafka_conf_set_opaque(conf, pp);
    return SL_OK;
}

/* Option checks Kafka's tool makes, with its messages. Prints and returns false. */
static bool producer_opts_valid(const tools_opts *o) {
    int payload_kinds = tools_opts_has(o, "record-size") + tools_opts_has(o, "payload-file") +
                        tools_opts_has(o, "payload-monotonic");
    const char *why = NULL;
    if (tools_opts_int(o, "num-records") <= 0) {
        why = "--num-records should be greater than zero";
    } else if (payload_kinds != 1) {
        why = "Exactly one of --record-size, --payload-file or --payload-monotonic must be "
              "specified.";
    } else if (tools_opts_has(o, "record-size") && tools_opts_int(o, "record-size") <= 0) {
        why = "--record-size should be greater than zero";
    } else if (tools_opts_has(o, "record-size") && tools_opts_int(o, "record-size") > 1000000000) {
        why = "--record-size must be at most 1000000000";
    } else if (tools_opts_double(o, "throughput") == 0) {
        why = "--throughput must be positive, or -1 for no limit";
    } else if (tools_opts_has(o, "transaction-duration-ms") &&
               tools_opts_int(o, "transaction-duration-ms") <= 0) {
        why = "--transaction-duration-ms should be greater than zero";
    } else if (tools_opts_int(o, "transaction-duration-ms") > PRODUCER_INTERVAL_MAX_MS ||
               tools_opts_int(o, "reporting-interval") > PRODUCER_INTERVAL_MAX_MS) {
        why = "--transaction-duration-ms and --reporting-interval must be at most 2147483647";
    } else if (tools_opts_int(o, "reporting-interval") <= 0) {
        why = "Reporting interval must be greater than 0.";
    } else if (tools_opts_has(o, "mock-cluster") &&
               (tools_opts_int(o, "mock-cluster") < 1 || tools_opts_int(o, "mock-cluster") > 16)) {
        why = "--mock-cluster takes 1 to 16 brokers";
    }
    if (why) fprintf(stderr, "%s\n", why);
    return why == NULL;
}

/* Payload bytes: --record-size random uppercase letters (generated once, as Kafka's tool
 * did before it regenerated them per record), or the --payload-file entries. */
static int producer_payload_prepare(producer_perf *pp, const tools_opts *o) {
    sl_rand_seed(&pp->rng, 0);
    if (pp->record_size > 0) {
        pp->payload = sl_malloc((size_t)pp->record_size);
        for (int64_t i = 0; i < pp->record_size; i++) {
            pp->payload[i] = (uint8_t)('A' + sl_rand_below(&pp->rng, 26));
        }
        return SL_OK;
    }
    const char *path = tools_opts_str(o, "payload-file");
    if (!path) return SL_OK;
    const char *delim_opt = tools_opts_str(o, "payload-delimiter");
    char *delim = sl_malloc(strlen(delim_opt) + 1);
    tools_unescape(delim_opt, delim, strlen(delim_opt) + 1);
    char err[512];
    printf("Reading payloads from: %s\n", path);
    int rc = tools_payloads_load(&pp->payloads, path, delim, err, sizeof(err));
    sl_free(delim);
    if (rc != SL_OK) {
        fprintf(stderr, "%s\n", err);
        return rc;
    }
    printf("Number of messages read: %zu\n", pp->payloads.count);
    fflush(stdout);
    return SL_OK;
}

/* ---- sending ---- */

/* Enqueue record i. A full producer queue is waited out by serving delivery reports; the
 * wait is bounded because queued records time out after message.timeout.ms. The send
 * time is taken before the first attempt, so time blocked on a full queue counts as
 * latency, as in Kafka's tool (send() blocks there). */
static int producer_send_one(producer_perf *pp, int64_t i, int64_t send_us) {
    char digits[PRODUCER_MONOTONIC_DIGITS];
    void *payload = pp->payload;
    size_t len = (size_t)pp->record_size;
    int flags = 0; /* borrowed: the buffer outlives the client */
    if (pp->monotonic) {
        len = (size_t)snprintf(digits, sizeof(digits), "%" PRId64, i);
        payload = digits;
        flags = RD_KAFKA_MSG_F_COPY;
    } else if (pp->payloads.count) {
        size_t k = (size_t)sl_rand_below(&pp->rng, pp->payloads.count);
        payload = (void *)pp->payloads.items[k];
        len = pp->payloads.sizes[k];
    }
    int64_t deadline_ms = 0; /* set at the first queue-full: no clock read per record */
    for (;;) {
        if (rd_kafka_produce(pp->rkt, RD_KAFKA_PARTITION_UA, flags, payload, len, NULL, 0,
                             (void *)(uintptr_t)send_us) == 0) {
            return SL_OK;
        }
        rd_kafka_resp_err_t e = rd_kafka_last_error();
        int64_t now_ms = sl_now_ms();
        if (deadline_ms == 0)
            deadline_ms = now_ms + pp->message_timeout_ms + PRODUCER_FLUSH_SLACK_MS;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || pp->fatal || now_ms > deadline_ms) {
            fprintf(stderr, "Error: cannot produce to %s: %s\n", pp->topic, rd_kafka_err2str(e));
            return SL_E_INTERNAL;
        }
        rd_kafka_poll(pp->rk, PRODUCER_FULL_WAIT_MS);
    }
}

static int producer_txn_check(rd_kafka_error_t *error, const char *what) {
    if (!error) return SL_OK;
    fprintf(stderr, "Error: %s failed: %s\n", what, rd_kafka_error_string(error));
    rd_kafka_error_destroy(error);
    return SL_E_INTERNAL;
}

static int producer_send_all(producer_perf *pp) {
    tools_throttle throttle;
    tools_throttle_init(&throttle, pp->throughput, sl_now_ns());
    bool txn_open = false;
    int64_t txn_start_us = 0;
    int64_t i = 0;
    while (i < pp->num_records && !pp->fatal) {
        int wait_ms = 0;
        uint64_t want = (uint64_t)(pp->num_records - i);
        uint64_t chunk = tools_throttle_take(
            &throttle, want < PRODUCER_CHUNK ? want : PRODUCER_CHUNK, sl_now_ns(), &wait_ms);
        for (uint64_t k = 0; k < chunk; k++, i++) {
            int64_t send_us = sl_now_us();
            if (pp->transactions && !txn_open) {
                SL_TRY(producer_txn_check(rd_kafka_begin_transaction(pp->rk), "begin transaction"));
                txn_open = true;
                txn_start_us = send_us;
            }
            SL_TRY(producer_send_one(pp, i, send_us));
            if (txn_open && send_us - txn_start_us >= pp->txn_duration_ms * 1000) {
                SL_TRY(producer_txn_check(
                    rd_kafka_commit_transaction(pp->rk, PRODUCER_TXN_TIMEOUT_MS), "commit"));
                txn_open = false;
            }
        }
        rd_kafka_poll(pp->rk, wait_ms);
        producer_print_window(pp, sl_now_us());
    }
    if (txn_open) {
        SL_TRY(producer_txn_check(rd_kafka_commit_transaction(pp->rk, PRODUCER_TXN_TIMEOUT_MS),
                                  "commit"));
    }
    return pp->fatal ? SL_E_FATAL : SL_OK;
}

/* Wait for every outstanding delivery report, printing progress meanwhile. */
static void producer_drain(producer_perf *pp) {
    int64_t deadline_ms = sl_now_ms() + pp->message_timeout_ms + PRODUCER_FLUSH_SLACK_MS;
    while (rd_kafka_outq_len(pp->rk) > 0 && sl_now_ms() < deadline_ms && !pp->fatal) {
        rd_kafka_flush(pp->rk, 100);
        producer_print_window(pp, sl_now_us());
    }
    rd_kafka_poll(pp->rk, 0);
}

static int producer_run_client(producer_perf *pp, rd_kafka_conf_t *conf) {
    char errstr[512];
    pp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!pp->rk) {
        rd_kafka_conf_destroy(conf);
        fprintf(stderr, "Error: cannot create the producer: %s\n", errstr);
        return SL_E_CONFIG;
    }
    pp->rkt = rd_kafka_topic_new(pp->rk, pp->topic, NULL);
    if (!pp->rkt) {
        fprintf(stderr, "Error: invalid topic %s: %s\n", pp->topic,
                rd_kafka_err2str(rd_kafka_last_error()));
        return SL_E_INVALID;
    }
    if (pp->transactions) {
        SL_TRY(producer_txn_check(rd_kafka_init_transactions(pp->rk, PRODUCER_TXN_TIMEOUT_MS),
                                  "init transactions"));
    }
    pp->total.start_us = pp->window.start_us = sl_now_us();
    int rc = producer_send_all(pp);
    producer_drain(pp);
    producer_print_total(pp, sl_now_us());
    if (pp->print_metrics) {
        tools_stats_wait(&pp->stats, pp->stats.reports, PRODUCER_METRICS_WAIT_MS, producer_poll,
                         pp->rk);
        tools_stats_print(&pp->stats, stdout);
    }
    return rc;
}

static void producer_perf_free(producer_perf *pp) {
    if (pp->rkt) rd_kafka_topic_destroy(pp->rkt);
    if (pp->rk) rd_kafka_destroy(pp->rk);
    tools_mock_stop(pp->mock);
    sl_free(pp->payload);
    tools_payloads_deinit(&pp->payloads);
    tools_stats_deinit(&pp->stats);
    sl_free(pp);
}

static int producer_perf_run(const tools_opts *o) {
    if (!producer_opts_valid(o)) return TOOLS_EXIT_USAGE;
    producer_perf *pp = SL_NEW(producer_perf);
    pp->topic = tools_opts_str(o, "topic");
    pp->num_records = tools_opts_int(o, "num-records");
    pp->record_size = tools_opts_has(o, "record-size") ? tools_opts_int(o, "record-size") : 0;
    pp->monotonic = tools_opts_has(o, "payload-monotonic");
    pp->throughput = tools_opts_double(o, "throughput");
    pp->print_metrics = tools_opts_has(o, "print-metrics");
    pp->report_interval_us = tools_opts_int(o, "reporting-interval") * 1000;
    char err[512];
    int rc = producer_payload_prepare(pp, o);
    if (rc == SL_OK && tools_opts_has(o, "mock-cluster")) {
        rc = tools_mock_start((int)tools_opts_int(o, "mock-cluster"), &pp->mock, err, sizeof(err));
        if (rc != SL_OK) fprintf(stderr, "Error: %s\n", err);
    }
    if (rc == SL_OK) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rc = producer_conf_build(pp, o, conf, err, sizeof(err));
        if (rc != SL_OK) {
            rd_kafka_conf_destroy(conf);
            fprintf(stderr, "%s\n", err);
        } else {
            rc = producer_run_client(pp, conf); /* takes conf */
        }
    }
    bool complete = rc == SL_OK && pp->failed == 0 && pp->total.count == (uint64_t)pp->num_records;
    if (rc == SL_OK && !complete) {
        if (pp->failed > PRODUCER_ERRORS_SHOWN) {
            fprintf(stderr, "Error: %" PRIu64 " more delivery errors not shown\n",
                    pp->failed - PRODUCER_ERRORS_SHOWN);
        }
        fprintf(stderr, "Error: %" PRIu64 " of %" PRId64 " records were not delivered\n",
                (uint64_t)pp->num_records - pp->total.count, pp->num_records);
    }
    producer_perf_free(pp);
    return complete ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}

const tools_command tools_cmd_producer_perf_test = {
    .name = "producer-perf-test",
    .summary = "Measure producer throughput and latency (kafka-producer-perf-test).",
    .description = "This tool is used to verify the producer performance. To enable "
                   "transactions, specify a transactional id (--transactional-id, or "
                   "transactional.id in the producer properties) or a transaction duration "
                   "with --transaction-duration-ms.",
    .opts = producer_opts,
    .opt_count = sizeof(producer_opts) / sizeof(producer_opts[0]),
    .run = producer_perf_run,
};
