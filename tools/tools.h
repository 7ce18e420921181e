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
 *   sluice_main.c             main(), command table, `sluice help`
 *   tools_opt.c               option parser and usage text             (no librdkafka)
 *   tools_util.c              latency histogram, token bucket, output formats, payloads
 *                                                                      (no librdkafka)
 *   tools_text.c              Kafka error texts, topic filter and name rules, tables,
 *                             files, small parsers                     (no librdkafka)
 *   tools_kafka.c             the blocking Kafka protocol client of the admin tools
 *   tools_common.c            librdkafka helpers: client config from files and k=v lists,
 *                             log bridge, statistics capture for --print-metrics, the
 *                             in-process mock cluster
 *   tools_topics.c            topics                tools_configs.c        configs
 *   tools_console_producer.c  console-producer      tools_console_consumer.c console-consumer
 *   tools_groups.c            consumer-groups, group and offset helpers
 *   tools_groups_reset.c      consumer-groups --reset-offsets
 *   tools_reassign.c          reassign-partitions   tools_election.c       leader-election
 *   tools_delete_records.c    delete-records        tools_dump_log.c       dump-log
 *   tools_api_versions.c      broker-api-versions   tools_quorum.c         metadata-quorum
 *   tools_cluster.c           cluster-id
 *   tools_perf_producer.c     producer-perf-test    tools_perf_consumer.c  consumer-perf-test
 *   tools_perf_selftest.c     perf-selftest (hidden): both perf tools against a mock cluster
 *   tools_mock_cmd.c          mock-cluster (hidden): a mock cluster for tests
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

#define TOOLS_OPT_REQUIRED     0x1 /* missing → "Missing required argument" */
#define TOOLS_OPT_HIDDEN       0x2 /* parsed but left out of usage text */
#define TOOLS_OPT_OPTIONAL_ARG 0x4 /* STRING whose value may be left out: present, text NULL */

typedef struct tools_opt_def {
    const char *name; /* without the leading "--": "num-records"; "" (a hidden LIST) collects
                         the positional arguments of commands that take them */
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
struct sl_props;
/* Collect a user's client properties into props (initialised by the caller): the file
 * (may be NULL), then "key=value" strings, later ones winning. Returns SL_OK, -errno,
 * SL_E_INVALID (file syntax) or SL_E_CONFIG (a string without '='), message in err. */
int tools_props_collect(struct sl_props *props,
                        const char *file,
                        const char *const *kvs,
                        size_t count,
                        char *err,
                        size_t err_size);
/* tools_conf_set for every property, in order. */
int tools_conf_apply_props(struct rd_kafka_conf_s *conf,
                           const struct sl_props *props,
                           char *err,
                           size_t err_size);
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

/* ---- Kafka protocol client (tools_kafka.c) ----
 * A blocking client that sends the generated request structs of protocol/protocol.h to a
 * node and decodes the response into the caller's arena (views stay valid while the arena
 * does). One connection per node, version negotiated through ApiVersions, every wait
 * bounded by the timeout (request.timeout.ms / default.api.timeout.ms of the command
 * config, default TOOLS_KC_TIMEOUT_MS). PLAINTEXT only. Main thread only. */

struct sl_arena;
struct protocol_MetadataResponse;

typedef struct tools_kc tools_kc;

#define TOOLS_KC_ANY          (-1)                /* node id: any reachable bootstrap broker */
#define TOOLS_KC_TIMEOUT_MS   30000               /* Kafka's request.timeout.ms default */
#define TOOLS_KC_RESPONSE_MAX (100 * 1024 * 1024) /* larger responses are refused */
#define TOOLS_KC_API_KEYS     128                 /* size of tools_kc_api_versions' arrays */

/* Create a client. bootstrap: "host:port,…" (may be NULL when command_config sets
 * bootstrap.servers); command_config: properties file or NULL; client_id: NULL for
 * "sluice-admin". Connects lazily. Returns SL_OK, SL_E_INVALID, SL_E_UNSUPPORTED
 * (non-PLAINTEXT security.protocol) or -errno, with a message in err. */
int tools_kc_open(const char *bootstrap,
                  const char *command_config,
                  const char *client_id,
                  tools_kc **kc_out,
                  char *err,
                  size_t err_size);
void tools_kc_close(tools_kc *kc); /* NULL is a no-op */
int tools_kc_timeout_ms(const tools_kc *kc);
void tools_kc_set_timeout_ms(tools_kc *kc, int timeout_ms); /* <= 0 keeps the current one */

/* Send req (a protocol_<Api>Request) to node_id (TOOLS_KC_ANY or a node learnt from
 * Metadata / FindCoordinator) at the highest version both sides support, at most
 * max_version (-1 = the codec's newest stable version); decode the answer into resp (a
 * protocol_<Api>Response) with arena. *version_out (may be NULL) gets the version used.
 * Returns SL_OK; SL_E_UNSUPPORTED when the node lacks the API; SL_E_TIMEOUT, SL_E_CLOSED,
 * -errno for transport failures; SL_E_CORRUPT for an undecodable answer. err says which. */
int tools_kc_call(tools_kc *kc,
                  int32_t node_id,
                  int16_t api_key,
                  int16_t max_version,
                  const void *req,
                  void *resp,
                  struct sl_arena *arena,
                  int16_t *version_out,
                  char *err,
                  size_t err_size);
/* The ApiVersions ranges the node announced: min_out/max_out[TOOLS_KC_API_KEYS], max -1
 * for keys it does not support. */
int tools_kc_api_versions(
    tools_kc *kc, int32_t node_id, int16_t *min_out, int16_t *max_out, char *err, size_t err_size);
/* Metadata for topics[topic_count], or every topic when topics is NULL; learns the broker
 * addresses. The response lives in arena. */
int tools_kc_metadata(tools_kc *kc,
                      const char *const *topics,
                      size_t topic_count,
                      struct sl_arena *arena,
                      struct protocol_MetadataResponse *md_out,
                      int16_t *version_out,
                      char *err,
                      size_t err_size);
/* The group coordinator of group (FindCoordinator, retried while retriable). */
int tools_kc_find_coordinator(
    tools_kc *kc, const char *group, int32_t *node_out, char *err, size_t err_size);
/* Remember (or update) a node's address. host is not NUL-terminated. */
void tools_kc_node_add(tools_kc *kc, int32_t id, const char *host, size_t host_len, int port);
/* Copy a known node's host into out; false when unknown. */
bool tools_kc_node_address(
    const tools_kc *kc, int32_t node_id, char *out, size_t out_size, int *port_out);

/* ---- shared text helpers (tools_text.c) ---- */

/* Kafka's exception message for an error code ("Topic with this name already exists."),
 * and the Java exception class ("org.apache.kafka.common.errors.TopicExistsException").
 * Never NULL. */
const char *tools_error_message(int16_t code);
const char *tools_error_class(int16_t code);
/* "<message>" of a response: its ErrorMessage when the broker sent one, else the code's
 * default message. Writes into out. */
void tools_error_text(int16_t code, const char *msg, int32_t msg_len, char *out, size_t out_size);

/* Kafka's IncludeList topic filter: the whole name matches regex (commas are '|', quotes
 * and spaces dropped). */
typedef struct tools_topic_filter tools_topic_filter;
/* Returns SL_OK or SL_E_INVALID (bad regex, message in err). */
int tools_topic_filter_new(const char *regex, tools_topic_filter **out, char *err, size_t err_size);
bool tools_topic_filter_match(const tools_topic_filter *f, const char *topic, size_t len);
void tools_topic_filter_free(tools_topic_filter *f);
/* __consumer_offsets and __transaction_state. */
bool tools_topic_is_internal(const char *topic, size_t len);
/* Kafka's Topic.validate: NULL when valid, else the message (static). */
const char *tools_topic_invalid_reason(const char *topic);

/* A text table printed as Kafka's ToolsUtils.prettyPrintTable: every cell padded to its
 * column's width and followed by a tab. */
typedef struct tools_table {
    size_t cols;
    char **cells; /* owned, rows * cols */
    size_t rows;
    size_t cap_rows;
} tools_table;
void tools_table_init(tools_table *t, size_t cols);
void tools_table_add(tools_table *t, const char *const *row); /* copies cols cells */
void tools_table_print(const tools_table *t, FILE *f);
void tools_table_deinit(tools_table *t);

/* Read a whole text file (≤ TOOLS_TEXT_FILE_MAX bytes) into a NUL-terminated buffer. */
#define TOOLS_TEXT_FILE_MAX ((size_t)64 << 20)
int tools_read_file(const char *path, char **text_out, size_t *len_out, char *err, size_t err_size);

/* Parse a base-10 int64 / int32 covering the whole string. */
bool tools_parse_i64(const char *s, int64_t *out);
bool tools_parse_i32(const char *s, int32_t *out);
/* A Kafka topic UUID as Kafka prints it (base64url, no padding, 22 chars); out ≥ 23. */
void tools_uuid_format(const uint8_t bytes[16], char *out, size_t out_size);
/* NUL-terminated copy of a view into arena-independent heap memory (sl_free). */
char *tools_strndup_view(const char *ptr, int32_t len);

/* ---- partitions and consumer groups (tools_groups.c) ---- */

/* A topic-partition with a value (an offset) and the error of fetching it. */
typedef struct tools_tp {
    char *topic; /* owned, NUL-terminated */
    int32_t partition;
    int64_t offset;       /* -1 = none / unknown */
    int32_t leader_epoch; /* -1 = none */
    int16_t error;        /* Kafka error code of the lookup, 0 when fine */
} tools_tp;

typedef struct tools_tp_list {
    tools_tp *items; /* owned */
    size_t count;
    size_t cap;
} tools_tp_list;

void tools_tp_list_init(tools_tp_list *l);
void tools_tp_list_deinit(tools_tp_list *l);
/* Append (topic is copied; topic_len bytes, not NUL-terminated) and return the entry. */
tools_tp *tools_tp_list_add(
    tools_tp_list *l, const char *topic, size_t topic_len, int32_t partition, int64_t offset);
tools_tp *tools_tp_list_find(const tools_tp_list *l, const char *topic, int32_t partition);
void tools_tp_list_sort(tools_tp_list *l); /* by topic, then partition */

#define TOOLS_OFFSET_LATEST   (-1) /* ListOffsets timestamps */
#define TOOLS_OFFSET_EARLIEST (-2)

/* ListOffsets for every entry, sent to each partition's leader: offset gets the answer
 * (-1 when the leader is unknown or failed, error says why). spec: TOOLS_OFFSET_LATEST,
 * TOOLS_OFFSET_EARLIEST or a timestamp in ms. Returns SL_OK unless Metadata failed. */
int tools_list_offsets(tools_kc *kc, tools_tp_list *tps, int64_t spec, char *err, size_t err_size);
/* The partitions of the given topics (Metadata); unknown topics fail with their error
 * message. Entries are appended to out with offset -1. */
int tools_topic_partitions(tools_kc *kc,
                           const char *const *topics,
                           size_t topic_count,
                           tools_tp_list *out,
                           char *err,
                           size_t err_size);

struct protocol_DescribeGroupsResponse_DescribedGroup;
/* DescribeGroups of one group at its coordinator (found first). *out lives in arena.
 * Returns SL_OK, SL_E_UNSUPPORTED (the cluster lacks DescribeGroups), or another error. */
int tools_group_describe(tools_kc *kc,
                         const char *group,
                         struct sl_arena *arena,
                         struct protocol_DescribeGroupsResponse_DescribedGroup **out,
                         int32_t *coordinator_out,
                         char *err,
                         size_t err_size);
/* Every committed offset of the group (OffsetFetch for all topics), appended to out. */
int tools_group_fetch_offsets(tools_kc *kc,
                              int32_t coordinator,
                              const char *group,
                              tools_tp_list *out,
                              char *err,
                              size_t err_size);
/* Commit tps' offsets for the group as an admin does (generation -1, no member); each
 * entry's error is set. Returns SL_OK when every partition was committed. */
int tools_group_commit_offsets(tools_kc *kc,
                               int32_t coordinator,
                               const char *group,
                               tools_tp_list *tps,
                               char *err,
                               size_t err_size);
/* The topic-partitions in a consumer-protocol member assignment (ConsumerProtocol
 * Assignment v0-3), appended to out. Returns SL_OK or SL_E_CORRUPT. */
int tools_group_parse_assignment(const uint8_t *bytes, int32_t len, tools_tp_list *out);
/* Run the reset-offsets action of `consumer-groups` (tools_groups_reset.c). */
int tools_groups_reset_offsets(tools_kc *kc, const tools_opts *o);
/* Parse an ISO-8601 duration "PnDTnHnMnS" (Kafka's --by-duration) into ms. */
bool tools_parse_duration_ms(const char *text, int64_t *ms_out);

/* ---- commands ---- */

extern const tools_command tools_cmd_topics;
extern const tools_command tools_cmd_configs;
extern const tools_command tools_cmd_console_producer;
extern const tools_command tools_cmd_console_consumer;
extern const tools_command tools_cmd_consumer_groups;
extern const tools_command tools_cmd_reassign_partitions;
extern const tools_command tools_cmd_leader_election;
extern const tools_command tools_cmd_delete_records;
extern const tools_command tools_cmd_dump_log;
extern const tools_command tools_cmd_broker_api_versions;
extern const tools_command tools_cmd_metadata_quorum;
extern const tools_command tools_cmd_cluster_id;
extern const tools_command tools_cmd_mock_cluster;

#endif
