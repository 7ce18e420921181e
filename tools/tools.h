/* tools.h — private header of the `sluice` command-line tools (tools/).
 *
 * One binary, `sluice <command> [options]`. A command is one file that defines a
 * `const tools_command tools_cmd_<name>` (its name, a one-line summary, a usage paragraph,
 * a table of options and a run function) and one row in the table in sluice_main.c. The
 * dispatcher parses the command's options from that table (Kafka-style long options:
 * `--x y`, `--x=y`, list options taking several values and repeatable), prints usage for
 * `--help` / `sluice help <command>`, prints the error plus usage and exits 1 on bad
 * arguments, then calls run() with the parsed options.
 *
 * Files:
 *   sluice_main.c           main(), command table, `sluice help`
 *   tools_opt.c             option parser and usage text            (no librdkafka)
 *   tools_util.c            latency histogram, token bucket, output formats, payloads
 *                                                                   (no librdkafka)
 *   tools_common.c          librdkafka helpers: client config from files and k=v lists,
 *                           log bridge, statistics capture for --print-metrics, the
 *                           in-process mock cluster
 *   tools_perf_producer.c   producer-perf-test
 *   tools_perf_consumer.c   consumer-perf-test
 *   tools_perf_selftest.c   perf-selftest (hidden): both tools against a mock cluster
 *
 * Tools use only public headers of other modules (common/sl_*.h, protocol/protocol.h, …).
 * Exit codes: TOOLS_EXIT_OK (0), or TOOLS_EXIT_FAIL (1) for bad arguments and failed runs.
 * Everything here runs on the main thread unless a comment says otherwise. */
#ifndef TOOLS_H
#define TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TOOLS_EXIT_OK    0
#define TOOLS_EXIT_FAIL  1
#define TOOLS_EXIT_USAGE -1 /* from run(): bad arguments; the caller prints usage, exits 1 */

/* ---- options ---- */

typedef enum tools_opt_type {
    TOOLS_OPT_FLAG,   /* no value: --print-metrics */
    TOOLS_OPT_STRING, /* one value; the last occurrence wins */
    TOOLS_OPT_INT,    /* int64, decimal; the last occurrence wins */
    TOOLS_OPT_DOUBLE, /* the last occurrence wins */
    TOOLS_OPT_LIST,   /* one or more values up to the next "--…"; repeatable, values add up */
} tools_opt_type;

#define TOOLS_OPT_REQUIRED 0x1 /* missing → "Missing required argument" */
#define TOOLS_OPT_HIDDEN   0x2 /* parsed but left out of usage text */

typedef struct tools_opt_def {
    const char *name; /* without the leading "--": "num-records" */
    tools_opt_type type;
    unsigned flags;           /* TOOLS_OPT_* */
    const char *metavar;      /* value placeholder in usage: "NUM-RECORDS"; NULL for flags */
    const char *default_text; /* value when absent (must parse); NULL = none */
    const char *help;         /* one paragraph; wrapped by the usage printer */
} tools_opt_def;

typedef struct tools_opt_value {
    bool present;      /* given on the command line */
    const char *text;  /* last value (borrowed from argv or the default); NULL if none */
    int64_t i;         /* TOOLS_OPT_INT */
    double d;          /* TOOLS_OPT_DOUBLE */
    const char **list; /* TOOLS_OPT_LIST: owned array of strings borrowed from argv */
    size_t list_count;
} tools_opt_value;

typedef struct tools_opts {
    const tools_opt_def *defs; /* borrowed */
    size_t count;
    tools_opt_value *values; /* owned, one per def */
    bool help;               /* --help or -h was given */
    int rest_argc;           /* arguments after a bare "--", not parsed */
    char **rest_argv;        /* borrowed from argv */
} tools_opts;

/* Parse argv[0..argc) (no program or command name) against defs. Defaults are applied
 * to absent options; required options are checked unless --help was given.
 * Returns SL_OK, or SL_E_INVALID with a Kafka-style message in err
 * ("num-records is not a recognized option", "Missing required argument \"[topic]\"").
 * o is usable (and must be deinit'ed) in both cases. Strings stay borrowed from argv. */
int tools_opts_parse(tools_opts *o,
                     const tools_opt_def *defs,
                     size_t count,
                     int argc,
                     char **argv,
                     char *err,
                     size_t err_size);
void tools_opts_deinit(tools_opts *o);
/* The value of an option by name; the name must exist in the table (asserted). */
const tools_opt_value *tools_opts_get(const tools_opts *o, const char *name);
bool tools_opts_has(const tools_opts *o, const char *name);        /* present on the command line */
const char *tools_opts_str(const tools_opts *o, const char *name); /* NULL when unset */
int64_t tools_opts_int(const tools_opts *o, const char *name);
double tools_opts_double(const tools_opts *o, const char *name);

/* ---- commands ---- */

#define TOOLS_CMD_HIDDEN 0x1 /* runs, but not listed by `sluice help` */

typedef struct tools_command {
    const char *name;        /* "producer-perf-test" */
    const char *summary;     /* one line for `sluice help` */
    const char *description; /* first paragraph of the usage text */
    const tools_opt_def *opts;
    size_t opt_count;
    unsigned flags; /* TOOLS_CMD_* */
    /* Runs with parsed options; returns TOOLS_EXIT_OK, TOOLS_EXIT_FAIL, or
     * TOOLS_EXIT_USAGE after printing why the arguments are unacceptable. */
    int (*run)(const tools_opts *opts);
} tools_command;

/* Usage text: description, "Option / Description" table, defaults. */
void tools_usage_print(const tools_command *cmd, FILE *f);
/* Parse argv (argv[0] is the command name) for cmd and run it: prints usage for --help
 * (exit 0), error + usage for bad arguments (exit 1). Used by main() and perf-selftest. */
int tools_command_main(const tools_command *cmd, int argc, char **argv);

extern const tools_command tools_cmd_producer_perf_test;
extern const tools_command tools_cmd_consumer_perf_test;
extern const tools_command tools_cmd_perf_selftest;

/* ---- latency histogram (log-linear, bounded memory) ----
 * Values 0..255 are exact; above that each power of two is split into 128 buckets, so a
 * reported value is within 1/128 (0.8 %) of the recorded one. 2^40 µs (12 days) and more
 * land in the last bucket. ~36 KB however many values are recorded. */

#define TOOLS_HIST_SUB_BITS 7  /* 128 buckets per power of two */
#define TOOLS_HIST_MAX_BITS 40 /* values ≥ 2^40 are clamped */
#define TOOLS_HIST_BUCKETS                                                                         \
    (((TOOLS_HIST_MAX_BITS - TOOLS_HIST_SUB_BITS) + 2) << TOOLS_HIST_SUB_BITS)

typedef struct tools_hist {
    uint64_t count;
    uint64_t sum;
    int64_t max;
    uint64_t buckets[TOOLS_HIST_BUCKETS];
} tools_hist;

void tools_hist_reset(tools_hist *h);
void tools_hist_record(tools_hist *h, int64_t value); /* negative values count as 0 */
/* The value of rank floor(p * count) (0-based) in sorted order — the rank Kafka's
 * ProducerPerformance uses — as the midpoint of its bucket, at most max. 0 when empty.
 * p in [0, 1). */
int64_t tools_hist_percentile(const tools_hist *h, double p);

/* ---- token bucket for --throughput ---- */

typedef struct tools_throttle {
    double rate;     /* records per second; <= 0 = unlimited */
    double tokens;   /* records that may be sent now */
    double burst;    /* cap on tokens: 10 ms worth of records, at least 1 */
    int64_t last_ns; /* time tokens were last added */
} tools_throttle;

void tools_throttle_init(tools_throttle *t, double rate, int64_t now_ns);
/* How many of want records may be sent at now_ns (0..want). When 0, *wait_ms_out is the
 * time until the next token (≥ 1); otherwise it is 0. */
uint64_t tools_throttle_take(tools_throttle *t, uint64_t want, int64_t now_ns, int *wait_ms_out);

/* ---- formatting ---- */

/* Kafka's default consumer-perf-test date format "yyyy-MM-dd HH:mm:ss:SSS", local time;
 * out ≥ 32 bytes. */
void tools_format_date(int64_t wall_ms, char *out, size_t out_size);
/* Expand \n \r \t \\ escapes (as typed on a command line) into out (≥ strlen(s) + 1). */
void tools_unescape(const char *s, char *out, size_t out_size);

/* Payloads read from a --payload-file: one text split at a delimiter. */
typedef struct tools_payloads {
    char *data; /* owned: the file's bytes */
    size_t data_size;
    const char **items; /* owned array of pointers into data */
    size_t *sizes;      /* owned */
    size_t count;
} tools_payloads;

/* Split text (taken over on success: freed by tools_payloads_deinit) at every occurrence
 * of delim (non-empty); empty pieces are skipped. Returns SL_OK or SL_E_INVALID when no
 * payload remains. */
int tools_payloads_split(tools_payloads *p, char *text, size_t text_size, const char *delim);
/* Read path (≤ TOOLS_PAYLOAD_FILE_MAX bytes) and split it. Returns SL_OK, -errno,
 * SL_E_TOO_LARGE or SL_E_INVALID; message in err. */
int tools_payloads_load(
    tools_payloads *p, const char *path, const char *delim, char *err, size_t err_size);
void tools_payloads_deinit(tools_payloads *p);

#define TOOLS_PAYLOAD_FILE_MAX ((size_t)1 << 30) /* payloads are held in memory */

/* ---- librdkafka helpers (tools_common.c) ---- */

struct rd_kafka_conf_s;
struct rd_kafka_s;

/* Set one client property. Keys librdkafka does not know (Java-only settings such as
 * key.serializer) print a warning and are skipped, as Kafka's clients do for unknown
 * configs; invalid values fail. Returns SL_OK or SL_E_CONFIG with a message in err. */
int tools_conf_set(
    struct rd_kafka_conf_s *conf, const char *key, const char *value, char *err, size_t err_size);
/* Apply a Java-properties file, in file order. Returns SL_OK, -errno or SL_E_CONFIG. */
int tools_conf_apply_file(struct rd_kafka_conf_s *conf,
                          const char *path,
                          char *err,
                          size_t err_size);
/* Apply "key=value" strings (split at the first '='). Returns SL_OK or SL_E_CONFIG. */
int tools_conf_apply_kvs(
    struct rd_kafka_conf_s *conf, const char *const *kvs, size_t count, char *err, size_t err_size);
/* The value of key in conf (as set or defaulted), or "" when unknown; out ≥ 1 byte. */
void tools_conf_get(const struct rd_kafka_conf_s *conf,
                    const char *key,
                    char *out,
                    size_t out_size);
/* Route librdkafka's log lines into sl_log (mod=rdkafka event=client_log). */
void tools_conf_set_logger(struct rd_kafka_conf_s *conf);

/* Statistics capture for --print-metrics: the latest statistics JSON of one client.
 * A command enables statistics.interval.ms, registers its own stats callback (which finds
 * its context through the client opaque) and calls tools_stats_store from it. */
typedef struct tools_stats {
    char *json;       /* owned; NULL until the first report */
    uint64_t reports; /* number of reports received */
} tools_stats;

/* Keep a copy of json (json_size bytes, not NUL-terminated) as the latest report. */
void tools_stats_store(tools_stats *stats, const char *json, size_t json_size);
/* Call poll_fn(rk, 100) until stats->reports exceeds `after` or timeout_ms passes.
 * poll_fn serves rk's callbacks (rd_kafka_poll, or a consumer poll that drops messages). */
void tools_stats_wait(tools_stats *stats,
                      uint64_t after,
                      int timeout_ms,
                      void (*poll_fn)(struct rd_kafka_s *rk, int timeout_ms),
                      struct rd_kafka_s *rk);
/* Print the numeric values of the report as "Metric Name   Value" lines (Kafka's
 * --print-metrics layout), names "rdkafka:<path>:{client-id=…}". */
void tools_stats_print(const tools_stats *stats, FILE *f);
void tools_stats_deinit(tools_stats *stats);

/* An in-process librdkafka mock cluster (for tests and tool benchmarks). */
typedef struct tools_mock tools_mock;

/* Start broker_count mock brokers on 127.0.0.1. Returns SL_OK or SL_E_INTERNAL. */
int tools_mock_start(int broker_count, tools_mock **mock_out, char *err, size_t err_size);
/* "127.0.0.1:port,…"; valid until tools_mock_stop. */
const char *tools_mock_bootstraps(const tools_mock *mock);
/* Create a topic (replication factor ≤ broker count). Returns SL_OK or SL_E_INVALID. */
int tools_mock_topic_create(tools_mock *mock,
                            const char *topic,
                            int partitions,
                            int replication_factor,
                            char *err,
                            size_t err_size);
void tools_mock_stop(tools_mock *mock); /* NULL is a no-op */

#endif
