/* broker_metrics.c — Prometheus metrics and the HTTP endpoint serving them (libevent
 * evhttp on metrics.listener). Partition series use kafka_exporter's names so existing
 * dashboards work; each broker exports the partitions it leads. */
#include "broker/broker_int.h"
#include "common/sl_log.h"
#include "common/sl_time.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>

static const double latency_bounds_ms[] = { 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250,
                                            500, 1000, 5000 };

void broker_metrics_init(broker *b) {
    b->metrics = sl_metrics_default();
    b->m_requests = sl_metrics_counter(b->metrics, "sluice_requests_total",
                                       "Kafka requests answered", NULL);
    b->m_latency = sl_metrics_histogram(b->metrics, "sluice_request_latency_ms",
                                        "Time from a request's arrival to its response (ms)",
                                        NULL, latency_bounds_ms,
                                        sizeof(latency_bounds_ms) / sizeof(latency_bounds_ms[0]));
}

void broker_metrics_request_done(broker *b, const broker_request *req) {
    sl_metric_add(b->m_requests, 1);
    sl_metric_observe(b->m_latency, (double)(sl_now_us() - req->start_us) / 1000.0);
}

static void labels(char *out, size_t size, const char *topic, int32_t partition) {
    snprintf(out, size, "topic=\"%s\",partition=\"%d\"", topic, partition);
}

/* Per-partition series for the partitions this broker leads. */
static void collect_partitions(sl_buf *out, void *arg) {
    broker *b = arg;
    static const struct {
        const char *name, *help;
    } fam[] = {
        { "kafka_topic_partition_current_offset", "Current offset (log end) of a partition" },
        { "kafka_topic_partition_oldest_offset", "Oldest offset (log start) of a partition" },
        { "kafka_topic_partition_high_watermark", "High watermark of a partition" },
        { "kafka_topic_partition_in_sync_replica", "In-sync replicas of a partition" },
        { "kafka_topic_partition_replicas", "Replicas of a partition" },
        { "kafka_topic_partition_under_replicated_partition",
          "1 if the partition has fewer in-sync replicas than replicas" },
    };
    for (size_t f = 0; f < sizeof(fam) / sizeof(fam[0]); f++) {
        sl_metrics_write_header(out, fam[f].name, fam[f].help, "gauge");
        for (size_t i = 0; i < b->topics.cap; i++) {
            if (!sl_map_slot_used(&b->topics, i)) continue;
            const broker_topic *t = b->topics.slots[i].value;
            for (int32_t k = 0; k < t->partition_count; k++) {
                const broker_partition *p = t->partitions[k];
                if (!p || !p->log || p->role != BROKER_ROLE_LEADER) continue;
                char l[512];
                labels(l, sizeof(l), t->name, k);
                double v = 0;
                switch (f) {
                case 0:
                    v = (double)storage_log_end_offset(p->log);
                    break;
                case 1:
                    v = (double)storage_log_start_offset(p->log);
                    break;
                case 2:
                    v = (double)p->high_watermark;
                    break;
                case 3:
                    v = p->isr.count;
                    break;
                case 4:
                    v = p->replicas.count;
                    break;
                default:
                    v = p->isr.count < p->replicas.count;
                    break;
                }
                sl_metrics_write_sample(out, fam[f].name, l, v);
            }
        }
    }
    sl_metrics_write_header(out, "kafka_brokers", "Live brokers in the cluster", "gauge");
    int32_t ids[1024];
    sl_metrics_write_sample(out, "kafka_brokers", NULL,
                            metadata_image_live_brokers(&b->image, ids, 1024));
    broker_groups_collect_metrics(b, out);
}

static void http_metrics_cb(struct evhttp_request *hreq, void *arg) {
    broker *b = arg;
    sl_buf text;
    sl_buf_init(&text);
    sl_metrics_render(b->metrics, &text);
    struct evbuffer *body = evbuffer_new();
    evbuffer_add(body, text.data, text.len);
    evhttp_add_header(evhttp_request_get_output_headers(hreq), "Content-Type",
                      "text/plain; version=0.0.4");
    evhttp_send_reply(hreq, HTTP_OK, "OK", body);
    evbuffer_free(body);
    sl_buf_deinit(&text);
}

static void http_other_cb(struct evhttp_request *hreq, void *arg) {
    (void)arg;
    evhttp_send_error(hreq, HTTP_NOTFOUND, "only /metrics is served here");
}

int broker_http_start(broker *b, char *err, size_t err_size) {
    if (!b->cfg.metrics_listener || !b->cfg.metrics_listener[0]) return SL_OK;
    char host[256];
    int port = 0;
    const char *colon = strrchr(b->cfg.metrics_listener, ':');
    if (!colon || (size_t)(colon - b->cfg.metrics_listener) >= sizeof(host) ||
        sscanf(colon + 1, "%d", &port) != 1 || port < 0 || port > 65535) {
        snprintf(err, err_size, "Invalid value %s for configuration metrics.listener: "
                 "expected host:port", b->cfg.metrics_listener);
        return SL_E_CONFIG;
    }
    memcpy(host, b->cfg.metrics_listener, (size_t)(colon - b->cfg.metrics_listener));
    host[colon - b->cfg.metrics_listener] = '\0';
    b->http = evhttp_new(b->base);
    if (evhttp_bind_socket(b->http, host[0] ? host : "0.0.0.0", (uint16_t)port) < 0) {
        snprintf(err, err_size, "cannot listen on metrics.listener %s", b->cfg.metrics_listener);
        return SL_E_CONFIG;
    }
    evhttp_set_cb(b->http, "/metrics", http_metrics_cb, b);
    evhttp_set_gencb(b->http, http_other_cb, b);
    sl_metrics_add_collector(b->metrics, collect_partitions, b);
    SL_LOG(SL_INFO, "broker", "metrics_listening", "address=%s", b->cfg.metrics_listener);
    return SL_OK;
}

void broker_http_stop(broker *b) {
    if (!b->http) return;
    sl_metrics_remove_collector(b->metrics, collect_partitions, b);
    evhttp_free(b->http);
    b->http = NULL;
}
