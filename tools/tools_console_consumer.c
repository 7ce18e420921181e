/* tools_console_consumer.c — `sluice console-consumer`: print records to standard output
 * as Kafka's kafka-console-consumer.sh (ConsoleConsumer + DefaultMessageFormatter) does,
 * on librdkafka.
 *
 * Formatter properties (--property k=v, --formatter-config FILE): print.timestamp,
 * print.key, print.offset, print.partition, print.headers, print.value (true),
 * key.separator (\t), line.separator (\n), headers.separator (,), null.literal (null).
 * Fields come in Kafka's order — timestamp ("CreateTime:1700000000000"), "Partition:N",
 * "Offset:N", headers ("k:v,k2:v2" or "NO_HEADERS"), key, value — separated by
 * key.separator and ended by line.separator.
 *
 * Without --group the consumer gets the group "console-consumer-<random>" and does not
 * commit; with --group it commits (auto commit, and on exit). --partition assigns one
 * partition starting at --offset (earliest, latest or N); otherwise the topic (or the
 * --include regex) is subscribed. The run ends after --max-messages records, after
 * --timeout-ms without a record, or on SIGINT/SIGTERM; "Processed a total of N messages"
 * goes to standard error in every case. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_config.h"
#include "common/sl_err.h"
#include "common/sl_rand.h"
#include "common/sl_time.h"

#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#define CC_POLL_MS 100 /* bounded poll so signals and timeouts are noticed */

static volatile sig_atomic_t cc_stop_g; /* set by SIGINT / SIGTERM */

static void cc_on_signal(int sig) {
    (void)sig;
    cc_stop_g = 1;
}

static const tools_opt_def cc_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, TOOLS_OPT_REQUIRED, "server to connect to", NULL,
      "The server(s) to connect to." },
    { "topic", TOOLS_OPT_STRING, 0, "topic", NULL, "The topic to consume on." },
    { "include", TOOLS_OPT_STRING, 0, "Java regex (String)", NULL,
      "Regular expression specifying list of topics to include for consumption." },
    { "whitelist", TOOLS_OPT_STRING, TOOLS_OPT_HIDDEN, "Java regex (String)", NULL,
      "DEPRECATED, use --include instead." },
    { "partition", TOOLS_OPT_INT, 0, "partition", NULL,
      "The partition to consume from. Consumption starts from the end of the partition unless "
      "'--offset' is specified." },
    { "offset", TOOLS_OPT_STRING, 0, "consume offset", "latest",
      "The offset to consume from (a non-negative number), or 'earliest' which means from "
      "beginning, or 'latest' which means from end" },
    { "consumer-property", TOOLS_OPT_LIST, 0, "consumer_prop", NULL,
      "A mechanism to pass user-defined properties in the form key=value to the consumer." },
    { "consumer.config", TOOLS_OPT_STRING, 0, "config file", NULL,
      "Consumer config properties file. Note that [consumer-property] takes precedence over "
      "this config." },
    { "formatter", TOOLS_OPT_STRING, TOOLS_OPT_HIDDEN, "class", NULL,
      "Only the default formatter is available." },
    { "formatter-config", TOOLS_OPT_STRING, 0, "config file", NULL,
      "Config properties file to initialize the message formatter. Note that [property] takes "
      "precedence over this config." },
    { "property", TOOLS_OPT_LIST, 0, "prop", NULL,
      "The properties to initialize the message formatter: print.timestamp, print.key, "
      "print.offset, print.partition, print.headers, print.value, key.separator, "
      "line.separator, headers.separator, null.literal." },
    { "from-beginning", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If the consumer does not already have an established offset to consume from, start "
      "with the earliest message present in the log rather than the latest message." },
    { "max-messages", TOOLS_OPT_INT, 0, "num_messages", NULL,
      "The maximum number of messages to consume before exiting. If not set, consumption is "
      "continual." },
    { "timeout-ms", TOOLS_OPT_INT, 0, "timeout_ms", NULL,
      "If specified, exit if no message is available for consumption for the specified "
      "interval." },
    { "skip-message-on-error", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If there is an error when processing a message, skip it instead of halt." },
    { "group", TOOLS_OPT_STRING, 0, "consumer group id", NULL,
      "The consumer group id of the consumer." },
    { "isolation-level", TOOLS_OPT_STRING, 0, "isolation level", "read_uncommitted",
      "Set to read_committed in order to filter out transactional messages which are not "
      "committed. Set to read_uncommitted to read all messages." },
    { "key-deserializer", TOOLS_OPT_STRING, TOOLS_OPT_HIDDEN, "class", NULL, "Ignored." },
    { "value-deserializer", TOOLS_OPT_STRING, TOOLS_OPT_HIDDEN, "class", NULL, "Ignored." },
};

/* DefaultMessageFormatter settings. */
typedef struct cc_format {
    bool timestamp, key, offset, partition, headers, value;
    const char *key_sep;
    const char *line_sep;
    const char *headers_sep;
    const char *null_literal;
} cc_format;

typedef struct console_consumer {
    rd_kafka_t *rk;
    cc_format fmt;
    sl_props fmt_props;   /* owns the strings fmt points to */
    int64_t max_messages; /* -1 = unlimited */
    int64_t timeout_ms;   /* -1 = none */
    uint64_t count;
    rd_kafka_resp_err_t last_error; /* printed once per distinct error */
} console_consumer;

/* ---- formatter ---- */

static bool cc_bool(const sl_props *p, const char *key, bool dflt) {
    const char *v = sl_props_get(p, key);
    if (!v) return dflt;
    while (*v == ' ') {
        v++;
    }
    return strncasecmp(v, "true", 4) == 0;
}

static int
cc_format_configure(console_consumer *cc, const tools_opts *o, char *err, size_t err_size) {
    const tools_opt_value *props = tools_opts_get(o, "property");
    SL_TRY(tools_props_collect(&cc->fmt_props, tools_opts_str(o, "formatter-config"), props->list,
                               props->list_count, err, err_size));
    const sl_props *p = &cc->fmt_props;
    cc_format *f = &cc->fmt;
    f->timestamp = cc_bool(p, "print.timestamp", false);
    f->key = cc_bool(p, "print.key", false);
    f->offset = cc_bool(p, "print.offset", false);
    f->partition = cc_bool(p, "print.partition", false);
    f->headers = cc_bool(p, "print.headers", false);
    f->value = cc_bool(p, "print.value", true);
    f->key_sep = sl_props_get(p, "key.separator") ? sl_props_get(p, "key.separator") : "\t";
    f->line_sep = sl_props_get(p, "line.separator") ? sl_props_get(p, "line.separator") : "\n";
    f->headers_sep =
        sl_props_get(p, "headers.separator") ? sl_props_get(p, "headers.separator") : ",";
    f->null_literal = sl_props_get(p, "null.literal") ? sl_props_get(p, "null.literal") : "null";
    return SL_OK;
}

static void cc_sep(const cc_format *f, bool more, FILE *out) {
    fputs(more ? f->key_sep : f->line_sep, out);
}

static void cc_bytes(const cc_format *f, const void *p, size_t len, bool is_null, FILE *out) {
    if (is_null) {
        fputs(f->null_literal, out);
    } else {
        fwrite(p, 1, len, out);
    }
}

static void cc_print_headers(const cc_format *f, const rd_kafka_message_t *m, FILE *out) {
    rd_kafka_headers_t *hdrs = NULL;
    if (rd_kafka_message_headers(m, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR || !hdrs ||
        rd_kafka_header_cnt(hdrs) == 0) {
        fputs("NO_HEADERS", out);
        return;
    }
    size_t count = rd_kafka_header_cnt(hdrs);
    for (size_t i = 0; i < count; i++) {
        const char *name = NULL;
        const void *value = NULL;
        size_t size = 0;
        if (rd_kafka_header_get_all(hdrs, i, &name, &value, &size) != RD_KAFKA_RESP_ERR_NO_ERROR) {
            break;
        }
        fprintf(out, "%s:", name);
        cc_bytes(f, value, size, value == NULL, out);
        if (i + 1 < count) fputs(f->headers_sep, out);
    }
}

/* DefaultMessageFormatter.writeTo. */
static void cc_print(const cc_format *f, const rd_kafka_message_t *m, FILE *out) {
    if (f->timestamp) {
        rd_kafka_timestamp_type_t type = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
        int64_t ts = rd_kafka_message_timestamp(m, &type);
        if (type == RD_KAFKA_TIMESTAMP_CREATE_TIME) {
            fprintf(out, "CreateTime:%lld", (long long)ts);
        } else if (type == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME) {
            fprintf(out, "LogAppendTime:%lld", (long long)ts);
        } else {
            fputs("NO_TIMESTAMP", out);
        }
        cc_sep(f, f->partition || f->offset || f->headers || f->key || f->value, out);
    }
    if (f->partition) {
        fprintf(out, "Partition:%d", (int)m->partition);
        cc_sep(f, f->offset || f->headers || f->key || f->value, out);
    }
    if (f->offset) {
        fprintf(out, "Offset:%lld", (long long)m->offset);
        cc_sep(f, f->headers || f->key || f->value, out);
    }
    if (f->headers) {
        cc_print_headers(f, m, out);
        cc_sep(f, f->key || f->value, out);
    }
    if (f->key) {
        cc_bytes(f, m->key, m->key_len, m->key == NULL, out);
        cc_sep(f, f->value, out);
    }
    if (f->value) {
        cc_bytes(f, m->payload, m->len, m->payload == NULL, out);
        fputs(f->line_sep, out);
    }
}

/* ---- arguments ---- */

/* --offset as Kafka reads it: earliest (-2), latest (-1) or a non-negative number. */
static bool cc_parse_offset(const char *text, int64_t *out) {
    if (strcasecmp(text, "earliest") == 0) {
        *out = RD_KAFKA_OFFSET_BEGINNING;
    } else if (strcasecmp(text, "latest") == 0) {
        *out = RD_KAFKA_OFFSET_END;
    } else if (!tools_parse_i64(text, out) || *out < 0) {
        return false;
    }
    return true;
}

static int cc_check_args(const tools_opts *o) {
    bool topic = tools_opts_has(o, "topic");
    bool include = tools_opts_has(o, "include") || tools_opts_has(o, "whitelist");
    const char *msg = NULL;
    int64_t offset = 0;
    if (topic == include) {
        msg = "Exactly one of include/topic is required.";
    } else if (tools_opts_has(o, "partition") && !topic) {
        msg = "The topic is required when partition is specified.";
    } else if (tools_opts_has(o, "partition") && tools_opts_has(o, "from-beginning") &&
               tools_opts_has(o, "offset")) {
        msg = "Options from-beginning and offset cannot be specified together.";
    } else if (!tools_opts_has(o, "partition") && tools_opts_has(o, "offset")) {
        msg = "The partition is required when offset is specified.";
    } else if (tools_opts_has(o, "group") && tools_opts_has(o, "partition")) {
        msg = "Options group and partition cannot be specified together.";
    } else if (!cc_parse_offset(tools_opts_str(o, "offset"), &offset)) {
        msg = "The provided offset value is incorrect. Valid values are 'earliest', 'latest', "
              "or a non-negative long.";
    } else if (strcmp(tools_opts_str(o, "isolation-level"), "read_committed") != 0 &&
               strcmp(tools_opts_str(o, "isolation-level"), "read_uncommitted") != 0) {
        msg = "isolation-level must be read_committed or read_uncommitted";
    }
    if (!msg) return TOOLS_EXIT_OK;
    fprintf(stderr, "%s\n", msg);
    return TOOLS_EXIT_USAGE;
}

/* ---- client ---- */

static int cc_conf_group(
    const tools_opts *o, const sl_props *user, rd_kafka_conf_t *conf, char *err, size_t err_size) {
    const char *group = tools_opts_str(o, "group");
    const char *user_group = sl_props_get(user, "group.id");
    if (group && user_group && strcmp(group, user_group) != 0) {
        snprintf(err, err_size,
                 "The group ids provided in different places (directly using "
                 "'--group', via '--consumer-property', or via '--consumer.config') do not "
                 "match. Detected group ids: '%s', '%s'",
                 group, user_group);
        return SL_E_INVALID;
    }
    if (group) return tools_conf_set(conf, "group.id", group, err, err_size);
    if (user_group) return SL_OK;
    char random_group[64];
    snprintf(random_group, sizeof(random_group), "console-consumer-%llu",
             (unsigned long long)(sl_rand_os_seed() % 100000));
    SL_TRY(tools_conf_set(conf, "group.id", random_group, err, err_size));
    if (sl_props_get(user, "enable.auto.commit")) return SL_OK;
    return tools_conf_set(conf, "enable.auto.commit", "false", err, err_size);
}

static int cc_conf_reset(
    const tools_opts *o, const sl_props *user, rd_kafka_conf_t *conf, char *err, size_t err_size) {
    const char *reset = sl_props_get(user, "auto.offset.reset");
    bool from_beginning = tools_opts_has(o, "from-beginning");
    if (reset && from_beginning && strcmp(reset, "earliest") != 0) {
        snprintf(err, err_size,
                 "Can't simultaneously specify --from-beginning and "
                 "'auto.offset.reset=%s', to make the console consumer consume from the "
                 "beginning, please remove --from-beginning or auto.offset.reset",
                 reset);
        return SL_E_INVALID;
    }
    if (reset) return SL_OK;
    return tools_conf_set(conf, "auto.offset.reset", from_beginning ? "earliest" : "latest", err,
                          err_size);
}

static int cc_conf(const tools_opts *o, rd_kafka_conf_t *conf, char *err, size_t err_size) {
    sl_props user;
    sl_props_init(&user);
    const tools_opt_value *kvs = tools_opts_get(o, "consumer-property");
    int rc = tools_props_collect(&user, tools_opts_str(o, "consumer.config"), kvs->list,
                                 kvs->list_count, err, err_size);
    if (rc == SL_OK) rc = tools_conf_set(conf, "client.id", "console-consumer", err, err_size);
    if (rc == SL_OK) rc = tools_conf_apply_props(conf, &user, err, err_size);
    if (rc == SL_OK) rc = cc_conf_group(o, &user, conf, err, err_size);
    if (rc == SL_OK) rc = cc_conf_reset(o, &user, conf, err, err_size);
    if (rc == SL_OK &&
        (tools_opts_has(o, "isolation-level") || !sl_props_get(&user, "isolation.level"))) {
        rc = tools_conf_set(conf, "isolation.level", tools_opts_str(o, "isolation-level"), err,
                            err_size);
    }
    if (rc == SL_OK) {
        rc = tools_conf_set(conf, "bootstrap.servers", tools_opts_str(o, "bootstrap-server"), err,
                            err_size);
    }
    sl_props_deinit(&user);
    tools_conf_set_logger(conf);
    return rc;
}

static int cc_start(console_consumer *cc, const tools_opts *o, char *err, size_t err_size) {
    rd_kafka_resp_err_t e;
    if (tools_opts_has(o, "partition")) {
        int64_t offset = RD_KAFKA_OFFSET_END;
        if (tools_opts_has(o, "offset") || !tools_opts_has(o, "from-beginning")) {
            cc_parse_offset(tools_opts_str(o, "offset"), &offset);
        } else {
            offset = RD_KAFKA_OFFSET_BEGINNING;
        }
        rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(parts, tools_opts_str(o, "topic"),
                                          (int32_t)tools_opts_int(o, "partition"))
            ->offset = offset;
        e = rd_kafka_assign(cc->rk, parts);
        rd_kafka_topic_partition_list_destroy(parts);
    } else {
        const char *regex = tools_opts_str(o, "include");
        if (!regex) regex = tools_opts_str(o, "whitelist");
        char pattern[1024];
        snprintf(pattern, sizeof(pattern), "^%s", regex ? regex : "");
        rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, regex ? pattern : tools_opts_str(o, "topic"),
                                          RD_KAFKA_PARTITION_UA);
        e = rd_kafka_subscribe(cc->rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
    }
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(err, err_size, "%s", rd_kafka_err2str(e));
        return SL_E_STATE;
    }
    return SL_OK;
}

static int cc_open(console_consumer *cc, const tools_opts *o, char *err, size_t err_size) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = cc_conf(o, conf, err, err_size);
    if (rc != SL_OK) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    char errstr[512];
    cc->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    if (!cc->rk) {
        snprintf(err, err_size, "%s", errstr);
        rd_kafka_conf_destroy(conf);
        return SL_E_CONFIG;
    }
    rd_kafka_poll_set_consumer(cc->rk);
    return cc_start(cc, o, err, err_size);
}

/* ---- loop ---- */

static void cc_report_error(console_consumer *cc, const rd_kafka_message_t *m) {
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF || m->err == cc->last_error) return;
    cc->last_error = m->err;
    fprintf(stderr, "WARN %s\n", rd_kafka_message_errstr(m));
}

static void cc_loop(console_consumer *cc) {
    int64_t last_ms = sl_now_ms();
    while (!cc_stop_g && (cc->max_messages < 0 || (int64_t)cc->count < cc->max_messages)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(cc->rk, CC_POLL_MS);
        if (!m) {
            if (cc->timeout_ms >= 0 && sl_now_ms() - last_ms >= cc->timeout_ms) {
                fprintf(stderr, "ERROR Error processing message, terminating consumer process:  "
                                "(kafka.tools.ConsoleConsumer$)\n"
                                "org.apache.kafka.common.errors.TimeoutException\n");
                break;
            }
            fflush(stdout);
            continue;
        }
        if (m->err) {
            cc_report_error(cc, m);
        } else {
            cc_print(&cc->fmt, m, stdout);
            cc->count++;
            last_ms = sl_now_ms();
        }
        rd_kafka_message_destroy(m);
    }
    fflush(stdout);
}

static int cc_run(const tools_opts *o) {
    int check = cc_check_args(o);
    if (check != TOOLS_EXIT_OK) return check;
    console_consumer cc = {
        .max_messages = tools_opts_has(o, "max-messages") ? tools_opts_int(o, "max-messages") : -1,
        .timeout_ms = tools_opts_has(o, "timeout-ms") ? tools_opts_int(o, "timeout-ms") : -1,
    };
    sl_props_init(&cc.fmt_props);
    char err[1024] = "";
    int rc = cc_format_configure(&cc, o, err, sizeof(err));
    if (rc == SL_OK) {
        signal(SIGINT, cc_on_signal);
        signal(SIGTERM, cc_on_signal);
        rc = cc_open(&cc, o, err, sizeof(err));
    }
    if (rc == SL_OK) cc_loop(&cc);
    if (cc.rk) {
        rd_kafka_consumer_close(cc.rk); /* commits the offsets of a --group consumer */
        rd_kafka_destroy(cc.rk);
    }
    if (rc != SL_OK) fprintf(stderr, "%s\n", err);
    fprintf(stderr, "Processed a total of %llu messages\n", (unsigned long long)cc.count);
    sl_props_deinit(&cc.fmt_props);
    return rc == SL_OK ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}

const tools_command tools_cmd_console_consumer = {
    .name = "console-consumer",
    .summary = "print records of a topic to standard output",
    .description = "This tool helps to read data from Kafka topics and outputs it to standard "
                   "output.",
    .opts = cc_opts,
    .opt_count = sizeof(cc_opts) / sizeof(cc_opts[0]),
    .run = cc_run,
};
