/* tools_common.c — librdkafka plumbing shared by the client tools: configuration from
 * properties files and key=value lists, a log bridge into sl_log, statistics capture and
 * Kafka-style --print-metrics output, and the in-process mock cluster used by tests.
 *
 * The mock cluster is librdkafka's own (test.mock.num.brokers on a dedicated handle): a
 * set of in-process brokers speaking the Kafka protocol on 127.0.0.1. It keeps at most
 * 5 MB or 100,000 batches per partition, dropping the oldest, so a test that reads back
 * what it wrote must stay below that per partition. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_config.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>
#include <string.h>

/* ---- configuration ---- */

int tools_conf_set(
    rd_kafka_conf_t *conf, const char *key, const char *value, char *err, size_t err_size) {
    char errstr[512];
    rd_kafka_conf_res_t res = rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr));
    if (res == RD_KAFKA_CONF_UNKNOWN) {
        /* Kafka's clients warn about unknown configs and carry on; Java-only settings
         * (key.serializer, buffer.memory, …) are common in shared properties files. */
        fprintf(stderr, "WARN The configuration '%s' was supplied but isn't a known config.\n",
                key);
        return SL_OK;
    }
    if (res != RD_KAFKA_CONF_OK) {
        snprintf(err, err_size, "Invalid value %s for configuration %s: %s", value, key, errstr);
        return SL_E_CONFIG;
    }
    /* The client's debug contexts log at debug level: let them through. */
    if (strcmp(key, "debug") == 0 && value[0] && sl_log_level_g < SL_DEBUG) {
        sl_log_configure("debug", NULL);
    }
    return SL_OK;
}

int tools_conf_apply_file(rd_kafka_conf_t *conf, const char *path, char *err, size_t err_size) {
    sl_props props;
    sl_props_init(&props);
    int rc = sl_props_load(&props, path, err, err_size);
    for (size_t i = 0; rc == SL_OK && i < props.count; i++) {
        rc = tools_conf_set(conf, props.items[i].key, props.items[i].value, err, err_size);
    }
    sl_props_deinit(&props);
    return rc;
}

int tools_conf_apply_kvs(
    rd_kafka_conf_t *conf, const char *const *kvs, size_t count, char *err, size_t err_size) {
    for (size_t i = 0; i < count; i++) {
        const char *eq = strchr(kvs[i], '=');
        if (!eq || eq == kvs[i]) {
            snprintf(err, err_size, "Invalid property: %s", kvs[i]);
            return SL_E_CONFIG;
        }
        char *key = sl_strndup(kvs[i], (size_t)(eq - kvs[i]));
        int rc = tools_conf_set(conf, key, eq + 1, err, err_size);
        sl_free(key);
        SL_TRY(rc);
    }
    return SL_OK;
}

int tools_props_collect(sl_props *props,
                        const char *file,
                        const char *const *kvs,
                        size_t count,
                        char *err,
                        size_t err_size) {
    if (file) SL_TRY(sl_props_load(props, file, err, err_size));
    for (size_t i = 0; i < count; i++) {
        const char *eq = strchr(kvs[i], '=');
        if (!eq || eq == kvs[i]) {
            snprintf(err, err_size, "Invalid property: %s", kvs[i]);
            return SL_E_CONFIG;
        }
        char *key = sl_strndup(kvs[i], (size_t)(eq - kvs[i]));
        sl_props_set(props, key, eq + 1);
        sl_free(key);
    }
    return SL_OK;
}

int tools_conf_apply_props(rd_kafka_conf_t *conf,
                           const sl_props *props,
                           char *err,
                           size_t err_size) {
    for (size_t i = 0; i < props->count; i++) {
        SL_TRY(tools_conf_set(conf, props->items[i].key, props->items[i].value, err, err_size));
    }
    return SL_OK;
}

void tools_conf_get(const rd_kafka_conf_t *conf, const char *key, char *out, size_t out_size) {
    SL_ASSERT(out_size > 0);
    size_t size = out_size;
    if (rd_kafka_conf_get(conf, key, out, &size) != RD_KAFKA_CONF_OK) out[0] = '\0';
}

/* Called from librdkafka's threads; sl_log_write emits each line with one write(2). */
static void tools_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf) {
    int sl_level = level <= 3 ? SL_ERROR : level == 4 ? SL_WARN : level <= 6 ? SL_INFO : SL_DEBUG;
    SL_LOG(sl_level, "rdkafka", "client_log", "client=%s fac=%s msg=\"%s\"", rd_kafka_name(rk), fac,
           buf);
}

void tools_conf_set_logger(rd_kafka_conf_t *conf) {
    rd_kafka_conf_set_log_cb(conf, tools_log_cb);
}

/* ---- statistics ---- */

void tools_stats_store(tools_stats *stats, const char *json, size_t json_size) {
    sl_free(stats->json);
    stats->json = sl_strndup(json, json_size);
    stats->reports++;
}

void tools_stats_wait(tools_stats *stats,
                      uint64_t after,
                      int timeout_ms,
                      void (*poll_fn)(rd_kafka_t *rk, int timeout_ms),
                      rd_kafka_t *rk) {
    int64_t deadline = sl_now_ms() + timeout_ms;
    while (stats->reports <= after && sl_now_ms() < deadline) {
        poll_fn(rk, 100);
    }
}

void tools_stats_deinit(tools_stats *stats) {
    sl_free(stats->json);
    stats->json = NULL;
}

#define STATS_DEPTH_MAX 8      /* the statistics JSON nests 5 levels deep */
#define STATS_LINES_MAX 100000 /* bound on printed values */

typedef struct stats_lines {
    char **items;
    size_t count;
    size_t cap;
    size_t name_width;
} stats_lines;

static void stats_lines_add(stats_lines *lines, const char *name, const char *value) {
    if (lines->count >= STATS_LINES_MAX) return;
    if (lines->count == lines->cap) {
        lines->cap = lines->cap ? lines->cap * 2 : 256;
        lines->items = sl_realloc(lines->items, lines->cap * sizeof(*lines->items));
    }
    size_t len = strlen(name);
    if (len > lines->name_width) lines->name_width = len;
    size_t size = len + strlen(value) + 2;
    char *line = sl_malloc(size);
    snprintf(line, size, "%s%c%s", name, '\x01', value);
    lines->items[lines->count++] = line;
}

/* Collect every numeric leaf below node as "rdkafka:<path>:{client-id=…}". */
static void stats_flatten(stats_lines *lines,
                          json_t *node,
                          char *path,
                          size_t path_len,
                          size_t path_cap,
                          const char *client_id,
                          int depth) {
    if (json_is_object(node) && depth < STATS_DEPTH_MAX) {
        const char *key;
        json_t *child;
        json_object_foreach(node, key, child) {
            int n =
                snprintf(path + path_len, path_cap - path_len, "%s%s", path_len ? "." : "", key);
            if (n < 0 || (size_t)n >= path_cap - path_len) continue;
            stats_flatten(lines, child, path, path_len + (size_t)n, path_cap, client_id, depth + 1);
        }
        path[path_len] = '\0';
        return;
    }
    char value[64];
    if (json_is_integer(node)) {
        snprintf(value, sizeof(value), "%" JSON_INTEGER_FORMAT, json_integer_value(node));
    } else if (json_is_real(node)) {
        snprintf(value, sizeof(value), "%.3f", json_real_value(node));
    } else {
        return;
    }
    char name[600];
    snprintf(name, sizeof(name), "rdkafka:%s:{client-id=%s}", path, client_id);
    stats_lines_add(lines, name, value);
}

static int stats_line_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void tools_stats_print(const tools_stats *stats, FILE *f) {
    if (!stats->json) {
        fprintf(f, "No client metrics were reported.\n");
        return;
    }
    json_error_t jerr;
    json_t *root = json_loads(stats->json, 0, &jerr);
    if (!root) {
        fprintf(f, "Client metrics are not valid JSON: %s\n", jerr.text);
        return;
    }
    const char *client_id = json_string_value(json_object_get(root, "client_id"));
    stats_lines lines = { 0 };
    char path[512] = "";
    stats_flatten(&lines, root, path, 0, sizeof(path), client_id ? client_id : "", 0);
    qsort(lines.items, lines.count, sizeof(*lines.items), stats_line_cmp);
    int width = (int)lines.name_width;
    fprintf(f, "\n%-*s   %s\n", width, "Metric Name", "Value");
    for (size_t i = 0; i < lines.count; i++) {
        char *sep = strchr(lines.items[i], '\x01');
        *sep = '\0';
        fprintf(f, "%-*s : %s\n", width, lines.items[i], sep + 1);
        sl_free(lines.items[i]);
    }
    sl_free(lines.items);
    json_decref(root);
}

/* ---- mock cluster ---- */

struct tools_mock {
    rd_kafka_t *rk; /* the handle that owns the mock brokers */
    rd_kafka_mock_cluster_t *mcluster;
};

int tools_mock_start(int broker_count, tools_mock **mock_out, char *err, size_t err_size) {
    char count[16];
    snprintf(count, sizeof(count), "%d", broker_count);
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    tools_conf_set_logger(conf);
    if (tools_conf_set(conf, "test.mock.num.brokers", count, err, err_size) != SL_OK ||
        tools_conf_set(conf, "client.id", "sluice-mock-cluster", err, err_size) != SL_OK) {
        rd_kafka_conf_destroy(conf);
        return SL_E_INTERNAL;
    }
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        snprintf(err, err_size, "Cannot start the mock cluster: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return SL_E_INTERNAL;
    }
    rd_kafka_mock_cluster_t *mcluster = rd_kafka_handle_mock_cluster(rk);
    if (!mcluster) {
        snprintf(err, err_size, "Cannot start the mock cluster: no mock brokers");
        rd_kafka_destroy(rk);
        return SL_E_INTERNAL;
    }
    tools_mock *mock = SL_NEW(tools_mock);
    mock->rk = rk;
    mock->mcluster = mcluster;
    *mock_out = mock;
    return SL_OK;
}

const char *tools_mock_bootstraps(const tools_mock *mock) {
    return rd_kafka_mock_cluster_bootstraps(mock->mcluster);
}

int tools_mock_topic_create(tools_mock *mock,
                            const char *topic,
                            int partitions,
                            int replication_factor,
                            char *err,
                            size_t err_size) {
    rd_kafka_resp_err_t e =
        rd_kafka_mock_topic_create(mock->mcluster, topic, partitions, replication_factor);
    if (e) {
        snprintf(err, err_size, "Cannot create mock topic %s: %s", topic, rd_kafka_err2str(e));
        return SL_E_INVALID;
    }
    return SL_OK;
}

void tools_mock_stop(tools_mock *mock) {
    if (!mock) return;
    rd_kafka_destroy(mock->rk); /* destroys the mock brokers it owns */
    sl_free(mock);
}
