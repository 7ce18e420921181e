/* bench_e2e — end-to-end latency: a librdkafka producer sends timestamped records at a fixed
 * rate while a consumer in the same process reads them back; latency = receive time − send
 * time (one clock). Prints percentiles; never fails on a number.
 *
 *   bench_e2e BOOTSTRAP TOPIC RATE_PER_S RECORDS RECORD_SIZE [PARTITIONS] */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct consumer_ctx {
    const char *bootstrap, *topic;
    int partitions;
    int64_t expected;
    int64_t *lat_us; /* one sample per record */
    _Atomic int64_t received;
    _Atomic int ready;
    _Atomic int warm; /* warm-up records seen */
    _Atomic int stop;
} consumer_ctx;

static rd_kafka_t *client(rd_kafka_type_t type, const char *bootstrap, const char *extra[][2]) {
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, err, sizeof(err));
    for (int i = 0; extra && extra[i][0]; i++) {
        if (rd_kafka_conf_set(conf, extra[i][0], extra[i][1], err, sizeof(err)) != RD_KAFKA_CONF_OK) {
            fprintf(stderr, "bench_e2e: %s\n", err);
            exit(2);
        }
    }
    rd_kafka_t *rk = rd_kafka_new(type, conf, err, sizeof(err));
    if (!rk) {
        fprintf(stderr, "bench_e2e: %s\n", err);
        exit(2);
    }
    return rk;
}

static void *consume(void *arg) {
    consumer_ctx *cc = arg;
    const char *extra[][2] = { { "group.id", "bench-e2e" }, { "fetch.wait.max.ms", "10" },
                               { "enable.auto.commit", "false" }, { NULL, NULL } };
    rd_kafka_t *rk = client(RD_KAFKA_CONSUMER, cc->bootstrap, extra);
    rd_kafka_topic_partition_list_t *parts = rd_kafka_topic_partition_list_new(cc->partitions);
    for (int p = 0; p < cc->partitions; p++) {
        rd_kafka_topic_partition_list_add(parts, cc->topic, p)->offset = RD_KAFKA_OFFSET_END;
    }
    rd_kafka_assign(rk, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    /* the END offsets are resolved on the first fetches: give them a moment to settle */
    int64_t settle = now_ns() + 1500000000LL;
    while (now_ns() < settle) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 50);
        if (m) rd_kafka_message_destroy(m);
    }
    atomic_store(&cc->ready, 1);
    while (!atomic_load(&cc->stop) && atomic_load(&cc->received) < cc->expected) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) continue;
        if (!m->err && m->len >= 8) {
            int64_t sent;
            memcpy(&sent, m->payload, 8);
            if (sent == 0) { /* a warm-up record */
                atomic_fetch_add(&cc->warm, 1);
                rd_kafka_message_destroy(m);
                continue;
            }
            int64_t i = atomic_fetch_add(&cc->received, 1);
            if (i < cc->expected) cc->lat_us[i] = (now_ns() - sent) / 1000;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    return NULL;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static double pct(const int64_t *v, int64_t n, double q) {
    if (n == 0) return 0;
    int64_t i = (int64_t)(q * (double)(n - 1));
    return (double)v[i] / 1000.0;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: bench_e2e BOOTSTRAP TOPIC RATE_PER_S RECORDS RECORD_SIZE [PARTITIONS]\n");
        return 2;
    }
    consumer_ctx cc = { .bootstrap = argv[1], .topic = argv[2] };
    double rate = atof(argv[3]);
    cc.expected = atoll(argv[4]);
    size_t size = (size_t)atoll(argv[5]);
    cc.partitions = argc > 6 ? atoi(argv[6]) : 1;
    if (size < 8) size = 8;
    cc.lat_us = calloc((size_t)cc.expected + 1, sizeof(int64_t));
    pthread_t th;
    pthread_create(&th, NULL, consume, &cc);
    while (!atomic_load(&cc.ready)) {
        struct timespec d = { 0, 10000000 };
        nanosleep(&d, NULL);
    }
    const char *extra[][2] = { { "acks", "all" }, { "linger.ms", "1" },
                               { "enable.idempotence", "true" }, { NULL, NULL } };
    rd_kafka_t *rk = client(RD_KAFKA_PRODUCER, cc.bootstrap, extra);
    char *payload = calloc(1, size);
    for (int p = 0; p < cc.partitions; p++) {
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(cc.topic), RD_KAFKA_V_PARTITION(p),
                          RD_KAFKA_V_VALUE(payload, size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_END);
    }
    rd_kafka_flush(rk, 30000);
    for (int64_t until = now_ns() + 10000000000LL;
         atomic_load(&cc.warm) < cc.partitions && now_ns() < until;) {
        rd_kafka_poll(rk, 10);
    }
    /* Warm up: connections, metadata and the producer id come before the clock starts
     * (else the first records wait for them and the tail measures client start-up), and
     * the consumer has read them.
     * Warm-up records carry a zero stamp; the consumer skips them. */
    for (int p = 0; p < cc.partitions; p++) {
        rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(cc.topic), RD_KAFKA_V_PARTITION(p),
                          RD_KAFKA_V_VALUE(payload, size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_END);
    }
    rd_kafka_flush(rk, 30000);
    /* Paced by sleeping, not spinning: on 2 cores a spinning sender takes a whole core
     * from the brokers it measures. Every wake-up sends the records due by then, each
     * stamped when it is handed to the client; at most one wake-up per millisecond. */
    int64_t start = now_ns(), interval = (int64_t)(1e9 / rate);
    if (interval < 1) interval = 1;
    for (int64_t i = 0; i < cc.expected;) {
        int64_t due_by_now = (now_ns() - start) / interval + 1;
        if (due_by_now > cc.expected) due_by_now = cc.expected;
        for (; i < due_by_now; i++) {
            int64_t t = now_ns();
            memcpy(payload, &t, 8);
            while (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(cc.topic),
                                     RD_KAFKA_V_VALUE(payload, size),
                                     RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                     RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                rd_kafka_poll(rk, 1);
            }
        }
        rd_kafka_poll(rk, 0);
        if (i < cc.expected) {
            int64_t next = start + i * interval, tick = now_ns() + 1000000; /* ≥ 1 ms */
            if (next < tick) next = tick;
            struct timespec ts = { (time_t)(next / 1000000000LL), (long)(next % 1000000000LL) };
            clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        }
    }
    rd_kafka_flush(rk, 30000);
    int64_t deadline = now_ns() + 30000000000LL;
    while (atomic_load(&cc.received) < cc.expected && now_ns() < deadline) rd_kafka_poll(rk, 50);
    atomic_store(&cc.stop, 1);
    pthread_join(th, NULL);
    int64_t n = atomic_load(&cc.received);
    if (n > cc.expected) n = cc.expected;
    qsort(cc.lat_us, (size_t)n, sizeof(int64_t), cmp_i64);
    double secs = (double)(now_ns() - start) / 1e9;
    printf("e2e_latency_ms records=%lld rate=%.0f/s record_size=%zu p50=%.2f p99=%.2f p99.9=%.2f "
           "max=%.2f elapsed_s=%.1f\n",
           (long long)n, rate, size, pct(cc.lat_us, n, 0.50), pct(cc.lat_us, n, 0.99),
           pct(cc.lat_us, n, 0.999), n ? (double)cc.lat_us[n - 1] / 1000.0 : 0.0, secs);
    rd_kafka_destroy(rk);
    free(payload);
    free(cc.lat_us);
    return n == cc.expected ? 0 : 1;
}
