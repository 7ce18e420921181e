/* bench_storage_clean.c — compaction figures (docs/storage.md, "Compaction"):
 * a log of 1 KiB records over a fixed set of keys (default 256 MiB, 1,000 keys, 16 records
 * a batch, written through the leader append path, then sealed) is compacted to
 * convergence with storage_log_clean called in a loop, as the broker's event loop would
 * call it. Prints the cleaning throughput (log bytes / wall time of all calls), the bytes
 * read and written, and the duration of single calls (p50, p99, max), which is what the
 * event loop feels. The data is in the page cache (it was just written), and the round is
 * repeated (default three times, on fresh logs) and reported with the median.
 *
 *   build/bin/bench_storage_clean [--dir DIR (default /tmp)] [--mib N (default 256)]
 *       [--keys N (default 1000)] [--codec none|gzip|snappy|lz4|zstd (default none)]
 *       [--budget-mib N (bytes_per_call, default 32)] [--segment-mib N (default 1024)]
 *       [--rounds N (default 3)]
 * Prints figures only; never a pass/fail test. */
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"
#include "protocol/protocol.h"
#include "storage/storage.h"
#include "tests/unit/test_storage_batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define RECORDS     16
#define VALUE_BYTES 1000
#define MIB         (1024.0 * 1024.0)
#define CALLS_MAX   100000

static const char *dir_g = "/tmp";
static int64_t mib_g = 256;
static int keys_g = 1000;
static int codec_g = PROTOCOL_CODEC_NONE;
static int64_t budget_mib_g = 32;
static int64_t segment_mib_g = 1024;
static int rounds_g = 3;

static void die(const char *what, int rc) {
    fprintf(stderr, "bench_storage_clean: %s failed (%s)\n", what, sl_strerror(rc));
    exit(1);
}

/* One batch of RECORDS records with keys seq*RECORDS.. (mod keys), 1 KiB values. */
static void bench_batch(sl_buf *out, int64_t seq, int64_t ts) {
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.codec = codec_g;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    uint8_t value[VALUE_BYTES];
    for (int i = 0; i < RECORDS; i++) {
        int64_t n = seq * RECORDS + i;
        char key[24];
        int klen = snprintf(key, sizeof(key), "key-%06d", (int)(n % keys_g));
        /* about 2:1 compressible: a random half, then a repeated pattern */
        uint64_t x = (uint64_t)n * 0x9e3779b97f4a7c15ULL + 1;
        for (int k = 0; k < VALUE_BYTES; k++) {
            if (k < VALUE_BYTES / 2) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                value[k] = (uint8_t)x;
            } else {
                value[k] = (uint8_t)("sluice-compaction-bench "[k % 24]);
            }
        }
        int rc = protocol_batch_builder_add(&b, ts, (sl_bytes){ (const uint8_t *)key, klen },
                                            (sl_bytes){ value, VALUE_BYTES }, NULL, 0);
        if (rc != SL_OK) die("batch", rc);
    }
    int rc = protocol_batch_builder_finish(&b, out);
    if (rc != SL_OK) die("batch", rc);
    protocol_batch_builder_deinit(&b);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

typedef struct round_result {
    double mb_per_s; /* log bytes before / seconds of cleaning */
    double seconds;
    int64_t log_bytes; /* before */
    int64_t left_bytes;
    int64_t read_bytes;
    int64_t written_bytes;
    int64_t calls;
    int64_t p50_us, p99_us, max_us;
} round_result;

static void bench_fill(storage_log *log) {
    sl_buf b;
    sl_buf_init(&b);
    int64_t target = mib_g << 20, now = sl_wall_ms();
    for (int64_t seq = 0; storage_log_size_bytes(log) < target; seq++) {
        sl_buf_reset(&b);
        bench_batch(&b, seq, now);
        int rc = storage_log_append(log, b.data, b.len, 0, now, NULL);
        if (rc != SL_OK) die("append", rc);
    }
    int rc = storage_log_maybe_roll(log, now + 8LL * 24 * 3600 * 1000); /* seal it all */
    if (rc != SL_OK) die("roll", rc);
    rc = storage_log_flush(log);
    if (rc != SL_OK) die("flush", rc);
    sl_buf_deinit(&b);
}

static void bench_round(round_result *res, int64_t *durations) {
    char root[512], dir[600];
    snprintf(root, sizeof(root), "%s/sluice-bench-clean-XXXXXX", dir_g);
    if (!mkdtemp(root)) die("mkdtemp", -1);
    snprintf(dir, sizeof(dir), "%s/t-0", root);
    storage_log_config cfg;
    storage_log_config_defaults(&cfg);
    cfg.segment_bytes = segment_mib_g << 20;
    cfg.compact = true;
    cfg.file_delete_delay_ms = 0;
    storage_log *log;
    int rc = storage_log_open(dir, &cfg, sl_wall_ms(), &log);
    if (rc != SL_OK) die("open", rc);
    bench_fill(log);
    storage_clean_config cc;
    storage_clean_config_defaults(&cc);
    cc.bytes_per_call = budget_mib_g << 20;
    memset(res, 0, sizeof(*res));
    res->log_bytes = storage_log_size_bytes(log);
    int64_t t0 = sl_now_us();
    for (; res->calls < CALLS_MAX; res->calls++) {
        storage_clean_stats st;
        int64_t c0 = sl_now_us();
        rc = storage_log_clean(log, &cc, sl_wall_ms(), &st);
        durations[res->calls] = sl_now_us() - c0;
        if (rc != SL_OK) die("clean", rc);
        res->read_bytes += st.bytes_read;
        res->written_bytes += st.bytes_written;
        if (!st.more && !st.pass_started && !st.pass_done) break;
    }
    res->seconds = (double)(sl_now_us() - t0) / 1e6;
    res->mb_per_s = (double)res->log_bytes / MIB / res->seconds;
    res->left_bytes = storage_log_size_bytes(log);
    qsort(durations, (size_t)res->calls, sizeof(int64_t), cmp_i64);
    res->p50_us = durations[res->calls / 2];
    res->p99_us = durations[(res->calls * 99) / 100];
    res->max_us = durations[res->calls - 1];
    rc = storage_log_delete(log);
    if (rc != SL_OK) die("delete", rc);
    rmdir(root);
}

static int cmp_round(const void *a, const void *b) {
    double x = ((const round_result *)a)->mb_per_s, y = ((const round_result *)b)->mb_per_s;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--dir") == 0) dir_g = v;
        if (strcmp(k, "--mib") == 0) mib_g = atoll(v);
        if (strcmp(k, "--keys") == 0) keys_g = atoi(v);
        if (strcmp(k, "--codec") == 0) codec_g = protocol_codec_from_name(v);
        if (strcmp(k, "--budget-mib") == 0) budget_mib_g = atoll(v);
        if (strcmp(k, "--segment-mib") == 0) segment_mib_g = atoll(v);
        if (strcmp(k, "--rounds") == 0) rounds_g = atoi(v);
    }
    if (codec_g < 0 || keys_g <= 0 || mib_g <= 0 || rounds_g <= 0 || budget_mib_g <= 0) {
        fprintf(stderr, "bench_storage_clean: bad arguments\n");
        return 2;
    }
    sl_log_configure("warn", NULL);
    round_result rounds[16];
    if (rounds_g > 16) rounds_g = 16;
    int64_t *durations = sl_malloc(sizeof(int64_t) * CALLS_MAX);
    for (int r = 0; r < rounds_g; r++) {
        bench_round(&rounds[r], durations);
        const round_result *x = &rounds[r];
        printf("round %d: %.0f MiB log -> %.2f MiB in %.2f s = %.0f MiB/s; read %.0f MiB, "
               "wrote %.2f MiB; %lld calls, call p50 %.1f ms p99 %.1f ms max %.1f ms\n",
               r + 1, x->log_bytes / MIB, x->left_bytes / MIB, x->seconds, x->mb_per_s,
               x->read_bytes / MIB, x->written_bytes / MIB, (long long)x->calls, x->p50_us / 1e3,
               x->p99_us / 1e3, x->max_us / 1e3);
        fflush(stdout);
    }
    qsort(rounds, (size_t)rounds_g, sizeof(rounds[0]), cmp_round);
    const round_result *m = &rounds[rounds_g / 2];
    printf("compaction: %lld MiB of 1 KiB records, %d keys, codec %s, bytes_per_call %lld MiB: "
           "median %.0f MiB/s (%.2f s), max call %.1f ms\n",
           (long long)mib_g, keys_g, protocol_codec_name(codec_g), (long long)budget_mib_g,
           m->mb_per_s, m->seconds, m->max_us / 1e3);
    sl_free(durations);
    return 0;
}
