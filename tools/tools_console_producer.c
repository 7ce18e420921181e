/* tools_console_producer.c — `sluice console-producer`: one input line = one record, as
 * Kafka's kafka-console-producer.sh (ConsoleProducer + LineMessageReader) on librdkafka.
 *
 * Reader properties (--property k=v, --reader-config FILE):
 *   parse.key (false), key.separator (\t), parse.headers (false), headers.delimiter (\t),
 *   headers.separator (,), headers.key.separator (:), ignore.error (false), null.marker
 *   (none: a key, value or header value equal to it is sent as null).
 * A line is [headers<delimiter>][key<separator>]value; a line lacking a separator stops the
 * tool ("No key separator found on line number N: '…'") unless ignore.error, which sends it
 * with a null key. A ">" prompt is shown when stdin is a terminal.
 *
 * Client properties: --producer.config, then --producer-property (librdkafka names; unknown
 * Java-only keys are warned about and skipped), then the options below, which apply when
 * given or when the properties left the key unset (Kafka's maybeMergeOptions). Keyed
 * records are partitioned with murmur2, like Java clients, unless `partitioner` is set.
 *
 * At end of input every record is delivered (or failed) before the tool exits; a failed
 * delivery prints Kafka's ErrorLoggingCallback line and makes the exit status 1. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_config.h"
#include "common/sl_err.h"
#include "common/sl_time.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CP_LINE_MAX       ((size_t)64 << 20) /* a longer line is refused */
#define CP_FLUSH_SLACK_MS 60000              /* beyond message.timeout.ms at the end */
#define CP_HEADERS_MAX    1024               /* headers parsed from one line */
#define CP_QUEUE_WAIT_MS  100                /* poll while the producer queue is full */

static const tools_opt_def cp_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, 0, "server to connect to", NULL,
      "REQUIRED unless --broker-list(deprecated) is specified. The server(s) to connect to. The "
      "broker list string in the form HOST1:PORT1,HOST2:PORT2." },
    { "broker-list", TOOLS_OPT_STRING, 0, "broker-list", NULL,
      "DEPRECATED, use --bootstrap-server instead; ignored if --bootstrap-server is specified." },
    { "topic", TOOLS_OPT_STRING, TOOLS_OPT_REQUIRED, "topic", NULL,
      "The topic id to produce messages to." },
    { "batch-size", TOOLS_OPT_INT, 0, "size", "16384",
      "Number of bytes to send in a single batch if they are not being sent synchronously "
      "(batch.size)." },
    { "compression-codec", TOOLS_OPT_STRING, TOOLS_OPT_OPTIONAL_ARG, "[compression-codec]", NULL,
      "The compression codec: either 'none', 'gzip', 'snappy', 'lz4', or 'zstd'. If specified "
      "without value, then it defaults to 'gzip'" },
    { "line-reader", TOOLS_OPT_STRING, TOOLS_OPT_HIDDEN, "reader_class", NULL,
      "Only the default line reader is available." },
    { "max-block-ms", TOOLS_OPT_INT, 0, "max block on send", "60000",
      "The max time that the producer will block for during a send request." },
    { "max-memory-bytes", TOOLS_OPT_INT, 0, "total memory in bytes", "33554432",
      "The total memory used by the producer to buffer records waiting to be sent to the "
      "server (queue.buffering.max.kbytes)." },
    { "max-partition-memory-bytes", TOOLS_OPT_INT, 0, "memory in bytes per partition", "16384",
      "The buffer size allocated for a partition; overrides --batch-size (batch.size)." },
    { "message-send-max-retries", TOOLS_OPT_INT, 0, "retries", "3",
      "The number of times a failed send is retried (retries)." },
    { "metadata-expiry-ms", TOOLS_OPT_INT, 0, "metadata expiration interval", "300000",
      "The period of time in milliseconds after which we force a refresh of metadata "
      "(metadata.max.age.ms)." },
    { "producer-property", TOOLS_OPT_LIST, 0, "producer_prop", NULL,
      "A mechanism to pass user-defined properties in the form key=value to the producer." },
    { "producer.config", TOOLS_OPT_STRING, 0, "config file", NULL,
      "Producer config properties file. Note that --producer-property takes precedence over "
      "this config." },
    { "property", TOOLS_OPT_LIST, 0, "prop", NULL,
      "A mechanism to pass user-defined properties in the form key=value to the message "
      "reader: parse.key, key.separator, parse.headers, headers.delimiter, headers.separator, "
      "headers.key.separator, ignore.error, null.marker." },
    { "reader-config", TOOLS_OPT_STRING, 0, "config file", NULL,
      "Config properties file for the message reader. Note that --property takes precedence "
      "over this config." },
    { "request-required-acks", TOOLS_OPT_STRING, 0, "request required acks", "-1",
      "The required acks of the producer requests (acks)." },
    { "request-timeout-ms", TOOLS_OPT_INT, 0, "request timeout ms", "1500",
      "The ack timeout of the producer requests (request.timeout.ms)." },
    { "retry-backoff-ms", TOOLS_OPT_INT, 0, "retry backoff ms", "100",
      "Wait time before a retry (retry.backoff.ms)." },
    { "socket-buffer-size", TOOLS_OPT_INT, 0, "size", "102400",
      "The size of the tcp send buffer (socket.send.buffer.bytes)." },
    { "sync", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set message send requests to the brokers are synchronously, one at a time as they "
      "arrive." },
    { "timeout", TOOLS_OPT_INT, 0, "timeout_ms", "1000",
      "The maximum time a message waits for a batch to fill when sending asynchronously "
      "(linger.ms)." },
    { "linger-ms", TOOLS_OPT_INT, 0, "linger.ms", NULL, "Same as --timeout (linger.ms)." },
    { "input-file", TOOLS_OPT_STRING, 0, "file", NULL,
      "Read the records from this file instead of stdin." },
};

/* LineMessageReader settings. */
typedef struct cp_reader {
    bool parse_key;
    bool parse_headers;
    bool ignore_error;
    const char *key_sep;
    const char *headers_delim;
    const char *headers_sep;
    const char *headers_key_sep;
    const char *null_marker; /* NULL = none */
    int64_t line_number;
} cp_reader;

typedef struct console_producer {
    rd_kafka_t *rk;
    const char *topic;
    bool sync;
    int64_t max_block_ms;
    uint64_t failed;      /* delivery reports with an error */
    uint64_t outstanding; /* records not yet reported (for --sync) */
    cp_reader reader;
    sl_props reader_props; /* owns the strings reader points to */
} console_producer;

/* ---- reader configuration ---- */

static bool cp_prop_true(const sl_props *props, const char *key) {
    const char *v = sl_props_get(props, key);
    if (!v) return false;
    while (*v == ' ') {
        v++;
    }
    return strncasecmp(v, "true", 4) == 0;
}

static const char *cp_prop_or(const sl_props *props, const char *key, const char *dflt) {
    const char *v = sl_props_get(props, key);
    return v ? v : dflt;
}

static bool cp_streq(const char *a, const char *b) {
    return a && b && strcmp(a, b) == 0;
}

/* LineMessageReader.configure, including its checks on equal separators. */
static int
cp_reader_configure(console_producer *cp, const tools_opts *o, char *err, size_t err_size) {
    const tools_opt_value *props = tools_opts_get(o, "property");
    SL_TRY(tools_props_collect(&cp->reader_props, tools_opts_str(o, "reader-config"), props->list,
                               props->list_count, err, err_size));
    const sl_props *p = &cp->reader_props;
    cp_reader *r = &cp->reader;
    r->parse_key = cp_prop_true(p, "parse.key");
    r->parse_headers = cp_prop_true(p, "parse.headers");
    r->ignore_error = cp_prop_true(p, "ignore.error");
    r->key_sep = cp_prop_or(p, "key.separator", "\t");
    r->headers_delim = cp_prop_or(p, "headers.delimiter", "\t");
    r->headers_sep = cp_prop_or(p, "headers.separator", ",");
    r->headers_key_sep = cp_prop_or(p, "headers.key.separator", ":");
    r->null_marker = sl_props_get(p, "null.marker");
    static const char *const checks[][3] = {
        { "headers.delimiter", "headers.separator",
          "headers.delimiter and headers.separator may not be equal" },
        { "headers.delimiter", "headers.key.separator",
          "headers.delimiter and headers.key.separator may not be equal" },
        { "headers.separator", "headers.key.separator",
          "headers.separator and headers.key.separator may not be equal" },
        { "null.marker", "key.separator", "null.marker and key.separator may not be equal" },
        { "null.marker", "headers.separator",
          "null.marker and headers.separator may not be equal" },
        { "null.marker", "headers.delimiter",
          "null.marker and headers.delimiter may not be equal" },
        { "null.marker", "headers.key.separator",
          "null.marker and headers.key.separator may not be equal" },
    };
    const char *values[] = { r->headers_delim, r->headers_sep, r->headers_key_sep, r->null_marker,
                             r->key_sep };
    static const char *const names[] = { "headers.delimiter", "headers.separator",
                                         "headers.key.separator", "null.marker", "key.separator" };
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        const char *a = NULL, *b = NULL;
        for (size_t k = 0; k < 5; k++) {
            if (strcmp(names[k], checks[i][0]) == 0) a = values[k];
            if (strcmp(names[k], checks[i][1]) == 0) b = values[k];
        }
        if (cp_streq(a, b)) {
            snprintf(err, err_size, "org.apache.kafka.common.KafkaException: %s", checks[i][2]);
            return SL_E_INVALID;
        }
    }
    return SL_OK;
}

/* ---- client ---- */

static void cp_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    console_producer *cp = opaque;
    if (cp->outstanding > 0) cp->outstanding--;
    if (!m->err) return;
    cp->failed++;
    char key[32] = "null", value[32] = "null";
    if (m->key) snprintf(key, sizeof(key), "%zu bytes", m->key_len);
    if (m->payload) snprintf(value, sizeof(value), "%zu bytes", m->len);
    fprintf(stderr,
            "ERROR Error when sending message to topic %s with key: %s, value: %s with error: "
            "(org.apache.kafka.clients.producer.internals.ErrorLoggingCallback)\n%s\n",
            cp->topic, key, value, rd_kafka_err2str(m->err));
}

typedef struct cp_mapping {
    const char *opt;
    const char *key;
} cp_mapping;

/* Options that set client properties (ConsoleProducer.producerProps). */
static const cp_mapping cp_mappings[] = {
    { "request-required-acks", "acks" },
    { "request-timeout-ms", "request.timeout.ms" },
    { "message-send-max-retries", "retries" },
    { "retry-backoff-ms", "retry.backoff.ms" },
    { "socket-buffer-size", "socket.send.buffer.bytes" },
    { "metadata-expiry-ms", "metadata.max.age.ms" },
    { "timeout", "linger.ms" },
    { "batch-size", "batch.size" },
};

/* Kafka's maybeMergeOptions: the option wins when given, its default only when unset. */
static int cp_merge(rd_kafka_conf_t *conf,
                    const sl_props *user,
                    const tools_opts *o,
                    const char *opt,
                    const char *key,
                    const char *value,
                    char *err,
                    size_t err_size) {
    if (!tools_opts_has(o, opt) && sl_props_get(user, key)) return SL_OK;
    return tools_conf_set(conf, key, value, err, err_size);
}

static int cp_conf_options(
    rd_kafka_conf_t *conf, const sl_props *user, const tools_opts *o, char *err, size_t err_size) {
    for (size_t i = 0; i < sizeof(cp_mappings) / sizeof(cp_mappings[0]); i++) {
        const char *v = tools_opts_str(o, cp_mappings[i].opt);
        SL_TRY(cp_merge(conf, user, o, cp_mappings[i].opt, cp_mappings[i].key, v, err, err_size));
    }
    if (tools_opts_has(o, "linger-ms")) {
        SL_TRY(tools_conf_set(conf, "linger.ms", tools_opts_str(o, "linger-ms"), err, err_size));
    }
    if (tools_opts_has(o, "max-partition-memory-bytes")) {
        SL_TRY(tools_conf_set(conf, "batch.size", tools_opts_str(o, "max-partition-memory-bytes"),
                              err, err_size));
    }
    char kbytes[32];
    snprintf(kbytes, sizeof(kbytes), "%lld",
             (long long)(tools_opts_int(o, "max-memory-bytes") / 1024));
    SL_TRY(cp_merge(conf, user, o, "max-memory-bytes", "queue.buffering.max.kbytes", kbytes, err,
                    err_size));
    const char *codec = tools_opts_str(o, "compression-codec");
    if (tools_opts_has(o, "compression-codec")) {
        SL_TRY(tools_conf_set(conf, "compression.type", codec ? codec : "gzip", err, err_size));
    } else if (!sl_props_get(user, "compression.type") &&
               !sl_props_get(user, "compression.codec")) {
        SL_TRY(tools_conf_set(conf, "compression.type", "none", err, err_size));
    }
    return SL_OK;
}

static int cp_conf(
    console_producer *cp, const tools_opts *o, rd_kafka_conf_t *conf, char *err, size_t err_size) {
    sl_props user;
    sl_props_init(&user);
    const tools_opt_value *kvs = tools_opts_get(o, "producer-property");
    int rc = tools_props_collect(&user, tools_opts_str(o, "producer.config"), kvs->list,
                                 kvs->list_count, err, err_size);
    if (rc == SL_OK) rc = tools_conf_set(conf, "client.id", "console-producer", err, err_size);
    if (rc == SL_OK) rc = tools_conf_set(conf, "partitioner", "murmur2_random", err, err_size);
    if (rc == SL_OK) rc = tools_conf_apply_props(conf, &user, err, err_size);
    if (rc == SL_OK) rc = cp_conf_options(conf, &user, o, err, err_size);
    const char *bootstrap = tools_opts_str(o, "bootstrap-server");
    if (!bootstrap) bootstrap = tools_opts_str(o, "broker-list");
    if (rc == SL_OK && bootstrap)
        rc = tools_conf_set(conf, "bootstrap.servers", bootstrap, err, err_size);
    sl_props_deinit(&user);
    SL_TRY(rc);
    rd_kafka_conf_set_dr_msg_cb(conf, cp_dr_cb);
    tools_conf_set_logger(conf);
    rd_kafka_conf_set_opaque(conf, cp);
    return SL_OK;
}

/* ---- lines ---- */

typedef struct cp_record {
    const char *key; /* NULL = null */
    size_t key_len;
    const char *value;
    size_t value_len;
    rd_kafka_headers_t *headers; /* NULL when none */
} cp_record;

/* LineMessageReader.parse: the text before demarcation from start, or NULL. */
static int cp_parse_part(const cp_reader *r,
                         bool enabled,
                         const char *line,
                         size_t len,
                         size_t start,
                         const char *demarcation,
                         const char *name,
                         const char **part_out,
                         size_t *part_len_out,
                         char *err,
                         size_t err_size) {
    *part_out = NULL;
    *part_len_out = 0;
    if (!enabled) return SL_OK;
    const char *hit = memmem(line + start, len - start, demarcation, strlen(demarcation));
    if (!hit) {
        if (r->ignore_error) return SL_OK;
        snprintf(err, err_size,
                 "org.apache.kafka.common.KafkaException: No %s found on line number %lld: '%.*s'",
                 name, (long long)r->line_number, (int)len, line);
        return SL_E_INVALID;
    }
    *part_out = line + start;
    *part_len_out = (size_t)(hit - (line + start));
    return SL_OK;
}

static bool cp_is_null(const cp_reader *r, const char *p, size_t len) {
    return r->null_marker && strlen(r->null_marker) == len && memcmp(r->null_marker, p, len) == 0;
}

static int cp_parse_headers(const cp_reader *r,
                            const char *text,
                            size_t len,
                            rd_kafka_headers_t **out,
                            char *err,
                            size_t err_size) {
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(8);
    size_t sep_len = strlen(r->headers_sep), ksep_len = strlen(r->headers_key_sep);
    const char *p = text, *end = text + len;
    for (int n = 0; p <= end && n < CP_HEADERS_MAX; n++) {
        const char *stop = memmem(p, (size_t)(end - p), r->headers_sep, sep_len);
        if (!stop) stop = end;
        const char *ks = memmem(p, (size_t)(stop - p), r->headers_key_sep, ksep_len);
        if (!ks && !r->ignore_error) {
            snprintf(err, err_size,
                     "org.apache.kafka.common.KafkaException: No header key "
                     "separator found in pair '%.*s' on line number %lld",
                     (int)(stop - p), p, (long long)r->line_number);
            rd_kafka_headers_destroy(hdrs);
            return SL_E_INVALID;
        }
        size_t klen = ks ? (size_t)(ks - p) : (size_t)(stop - p);
        if (cp_is_null(r, p, klen)) {
            snprintf(err, err_size,
                     "org.apache.kafka.common.KafkaException: Header keys should "
                     "not be equal to the null marker '%s' as they can't be null",
                     r->null_marker);
            rd_kafka_headers_destroy(hdrs);
            return SL_E_INVALID;
        }
        const char *v = ks ? ks + ksep_len : NULL;
        size_t vlen = v ? (size_t)(stop - v) : 0;
        if (v && cp_is_null(r, v, vlen)) v = NULL;
        rd_kafka_header_add(hdrs, p, (ssize_t)klen, v, v ? (ssize_t)vlen : 0);
        if (stop == end) break;
        p = stop + sep_len;
    }
    *out = hdrs;
    return SL_OK;
}

static int cp_parse_line(
    const cp_reader *r, const char *line, size_t len, cp_record *rec, char *err, size_t err_size) {
    memset(rec, 0, sizeof(*rec));
    const char *headers = NULL;
    size_t hlen = 0;
    SL_TRY(cp_parse_part(r, r->parse_headers, line, len, 0, r->headers_delim, "headers delimiter",
                         &headers, &hlen, err, err_size));
    size_t offset = headers ? hlen + strlen(r->headers_delim) : 0;
    const char *key = NULL;
    size_t klen = 0;
    SL_TRY(cp_parse_part(r, r->parse_key, line, len, offset, r->key_sep, "key separator", &key,
                         &klen, err, err_size));
    offset += key ? klen + strlen(r->key_sep) : 0;
    rec->key = key && !cp_is_null(r, key, klen) ? key : NULL;
    rec->key_len = rec->key ? klen : 0;
    rec->value = line + offset;
    rec->value_len = len - offset;
    if (cp_is_null(r, rec->value, rec->value_len)) {
        rec->value = NULL;
        rec->value_len = 0;
    }
    if (headers && !cp_is_null(r, headers, hlen)) {
        SL_TRY(cp_parse_headers(r, headers, hlen, &rec->headers, err, err_size));
    }
    return SL_OK;
}

/* ---- sending ---- */

static int cp_send(console_producer *cp, cp_record *rec, char *err, size_t err_size) {
    int64_t deadline = sl_now_ms() + cp->max_block_ms;
    for (int guard = 0; guard < 1000000; guard++) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            cp->rk, RD_KAFKA_V_TOPIC(cp->topic), RD_KAFKA_V_KEY(rec->key, rec->key_len),
            RD_KAFKA_V_VALUE((void *)rec->value, rec->value_len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(rec->headers),
            RD_KAFKA_V_END);
        if (e == RD_KAFKA_RESP_ERR_NO_ERROR) {
            rec->headers = NULL; /* owned by the message now */
            cp->outstanding++;
            rd_kafka_poll(cp->rk, 0);
            return SL_OK;
        }
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || sl_now_ms() >= deadline) {
            snprintf(err, err_size, "org.apache.kafka.common.errors.TimeoutException: %s",
                     rd_kafka_err2str(e));
            return SL_E_STATE;
        }
        rd_kafka_poll(cp->rk, CP_QUEUE_WAIT_MS);
    }
    return SL_E_TIMEOUT;
}

/* --sync: wait until this record is reported. */
static void cp_wait_outstanding(console_producer *cp) {
    for (int guard = 0; cp->outstanding > 0 && guard < 1000000; guard++) {
        rd_kafka_poll(cp->rk, 50);
    }
}

static int cp_read_loop(console_producer *cp, FILE *in, char *err, size_t err_size) {
    bool prompt = isatty(fileno(in));
    char *line = NULL;
    size_t cap = 0;
    int rc = SL_OK;
    for (;;) {
        cp->reader.line_number++;
        if (prompt) {
            fputc('>', stdout);
            fflush(stdout);
        }
        ssize_t n = getline(&line, &cap, in);
        if (n < 0) break;
        size_t len = (size_t)n;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            len--;
        }
        if (len > CP_LINE_MAX) {
            snprintf(err, err_size, "Line %lld is longer than %zu bytes",
                     (long long)cp->reader.line_number, CP_LINE_MAX);
            rc = SL_E_TOO_LARGE;
            break;
        }
        cp_record rec;
        rc = cp_parse_line(&cp->reader, line, len, &rec, err, err_size);
        if (rc == SL_OK) rc = cp_send(cp, &rec, err, err_size);
        if (rec.headers) rd_kafka_headers_destroy(rec.headers);
        if (rc != SL_OK) break;
        if (cp->sync) cp_wait_outstanding(cp);
    }
    free(line);
    return rc;
}

static int cp_open(console_producer *cp, const tools_opts *o, char *err, size_t err_size) {
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int rc = cp_conf(cp, o, conf, err, err_size);
    if (rc != SL_OK) {
        rd_kafka_conf_destroy(conf);
        return rc;
    }
    char errstr[512];
    cp->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!cp->rk) {
        snprintf(err, err_size, "%s", errstr);
        rd_kafka_conf_destroy(conf);
        return SL_E_CONFIG;
    }
    return SL_OK;
}

static int cp_run(const tools_opts *o) {
    if (!tools_opts_has(o, "bootstrap-server") && !tools_opts_has(o, "broker-list")) {
        fprintf(stderr, "Missing required argument \"[bootstrap-server]\"\n");
        return TOOLS_EXIT_USAGE;
    }
    console_producer cp = { .topic = tools_opts_str(o, "topic"),
                            .sync = tools_opts_has(o, "sync"),
                            .max_block_ms = tools_opts_int(o, "max-block-ms") };
    sl_props_init(&cp.reader_props);
    char err[1024] = "";
    FILE *in = stdin;
    int rc = cp_reader_configure(&cp, o, err, sizeof(err));
    const char *path = tools_opts_str(o, "input-file");
    if (rc == SL_OK && path && !(in = fopen(path, "r"))) {
        snprintf(err, sizeof(err), "%s: %s", path, strerror(errno));
        rc = -errno;
        in = stdin;
    }
    if (rc == SL_OK) rc = cp_open(&cp, o, err, sizeof(err));
    if (rc == SL_OK) {
        rc = cp_read_loop(&cp, in, err, sizeof(err));
        char timeout[32];
        tools_conf_get(rd_kafka_conf(cp.rk), "message.timeout.ms", timeout, sizeof(timeout));
        rd_kafka_flush(cp.rk, atoi(timeout) + CP_FLUSH_SLACK_MS);
        rd_kafka_destroy(cp.rk);
    }
    if (in != stdin) fclose(in);
    sl_props_deinit(&cp.reader_props);
    if (rc != SL_OK) fprintf(stderr, "%s\n", err);
    return rc == SL_OK && cp.failed == 0 ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}

const tools_command tools_cmd_console_producer = {
    .name = "console-producer",
    .summary = "produce records read line by line from standard input",
    .description = "This tool helps to read data from standard input and publish it to Kafka.",
    .opts = cp_opts,
    .opt_count = sizeof(cp_opts) / sizeof(cp_opts[0]),
    .run = cp_run,
};
