/* bench_storage.c — partition log figures (docs/storage.md):
 *   1. append throughput, 16 KiB batches of 1 KiB records, no fsync, next to
 *      `dd if=/dev/zero bs=16k` into the same directory (median of three rounds each; the
 *      page cache is synced before every run, and neither run waits for the disk at its
 *      end: dd does not, and the log's close is not timed);
 *   2. read throughput of the same log to a loopback TCP socket, through sendfile and
 *      through pread + write (1 MiB reads; the data is in the page cache);
 *   3. append latency with log.flush.interval.messages = 1 (one fdatasync per append),
 *      p50 / p99 / max, next to a bare pwrite + fdatasync of the same 16 KiB.
 *
 *   build/bin/bench_storage [--dir DIR (default /tmp)] [--mib MiB per run (default 512)]
 *                           [--syncs N (default 500)] [--unaligned 1]
 * Prints figures only; never a pass/fail test. */
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_time.h"
#include "storage/storage.h"
#include "tests/unit/test_storage_batch.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#define ROUNDS      3
#define RECORDS     16    /* per batch */
#define VALUE_BYTES 1010  /* 16 records of ~1 KiB … */
#define BATCH_BYTES 16384 /* … padded (last record) to exactly 16 KiB, dd's block */
#define READ_BYTES  (1 << 20)
#define MIB         (1024.0 * 1024.0)

static const char *dir_g = "/tmp";
static bool unaligned_g; /* --unaligned: batches keep their natural 16,349 bytes */
static int64_t mib_g = 512;
static int syncs_g = 500;

/* The benchmark batch: RECORDS records of ~VALUE_BYTES, exactly BATCH_BYTES long. */
static void bench_batch(sl_buf *out) {
    size_t size = test_batch_build(out, 0, RECORDS, VALUE_BYTES, sl_wall_ms(), 1);
    if (unaligned_g) return;
    int32_t last = VALUE_BYTES + (int32_t)(BATCH_BYTES - size);
    for (int attempt = 0; attempt < 3 && size != BATCH_BYTES; attempt++, last--) {
        sl_buf_reset(out); /* a varint may grow by a byte: step down until it fits */
        size = test_batch_build_values(out, 0, -1, RECORDS, VALUE_BYTES, last, sl_wall_ms(), 1);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median3(double *v) {
    qsort(v, ROUNDS, sizeof(v[0]), cmp_double);
    return v[ROUNDS / 2];
}

/* ---------------- 1. append vs dd ---------------- */

static double run_dd(void) {
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "dd if=/dev/zero of=%s/bench-dd.bin bs=16k count=%lld 2>&1", dir_g,
             (long long)(mib_g * 64));
    sync();
    FILE *p = popen(cmd, "r");
    if (!p) return 0;
    char line[256];
    double bytes = 0, secs = 0;
    while (fgets(line, sizeof(line), p)) {
        const char *c = strstr(line, " copied, ");
        if (c) {
            bytes = strtod(line, NULL);
            secs = strtod(c + 9, NULL);
        }
    }
    pclose(p);
    snprintf(cmd, sizeof(cmd), "%s/bench-dd.bin", dir_g);
    unlink(cmd);
    return secs > 0 ? bytes / secs / MIB : 0;
}

/* The same bytes with a bare pwrite loop in this process: the floor for the log. */
static double run_pwrite(void) {
    char path[512];
    snprintf(path, sizeof(path), "%s/bench-pwrite.bin", dir_g);
    sl_buf b;
    sl_buf_init(&b);
    bench_batch(&b);
    sync();
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    int64_t total = 0, want = mib_g << 20;
    int64_t t0 = sl_now_ns();
    while (fd >= 0 && total < want) {
        if (pwrite(fd, b.data, b.len, (off_t)total) != (ssize_t)b.len) break;
        total += (int64_t)b.len;
    }
    double secs = (double)(sl_now_ns() - t0) / 1e9;
    if (fd >= 0) close(fd);
    unlink(path);
    sl_buf_deinit(&b);
    return (double)total / secs / MIB;
}

static void log_config(storage_log_config *cfg) {
    storage_log_config_defaults(cfg); /* 1 GiB segments, no flush, 4 KiB index interval */
    cfg->file_delete_delay_ms = 0;
}

/* Append mib_g MiB; returns MiB/s. Leaves the log in path (closed) when keep. */
static double run_append(const char *path, bool keep) {
    storage_log_config cfg;
    log_config(&cfg);
    storage_log *log;
    sync();
    if (storage_log_open(path, &cfg, sl_wall_ms(), &log) != SL_OK) return 0;
    sl_buf b;
    sl_buf_init(&b);
    bench_batch(&b);
    int64_t total = 0, want = mib_g << 20;
    int64_t t0 = sl_now_ns();
    while (total < want) {
        if (storage_log_append(log, b.data, b.len, 0, sl_wall_ms(), NULL) != SL_OK) break;
        total += (int64_t)b.len;
    }
    double secs = (double)(sl_now_ns() - t0) / 1e9;
    sl_buf_deinit(&b);
    if (keep) {
        storage_log_close(log);
    } else {
        storage_log_delete(log);
    }
    return (double)total / secs / MIB;
}

/* ---------------- 2. reads to a socket ---------------- */

typedef struct drain {
    int fd;
    int64_t bytes;
} drain;

static void *drain_main(void *arg) {
    drain *d = arg;
    uint8_t *buf = sl_malloc(READ_BYTES);
    for (;;) {
        ssize_t n = recv(d->fd, buf, READ_BYTES, 0);
        if (n <= 0) break;
        d->bytes += n;
    }
    sl_free(buf);
    return NULL;
}

/* A connected loopback TCP pair: *send_fd for us, the other end drained by a thread. */
static int socket_pair_tcp(int *send_fd, int *recv_fd) {
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(a);
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 1) != 0 ||
        getsockname(l, (struct sockaddr *)&a, &len) != 0) {
        return -1;
    }
    *send_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*send_fd, (struct sockaddr *)&a, sizeof(a)) != 0) return -1;
    *recv_fd = accept(l, NULL, NULL);
    close(l);
    return *recv_fd >= 0 ? 0 : -1;
}

static bool send_all_file(int sock, int fd, int64_t pos, int64_t len) {
    off_t off = (off_t)pos;
    for (int64_t left = len; left > 0;) {
        ssize_t n = sendfile(sock, fd, &off, (size_t)left);
        if (n <= 0) return false;
        left -= n;
    }
    return true;
}

static bool send_all_buf(int sock, const uint8_t *p, size_t len) {
    while (len > 0) {
        ssize_t n = write(sock, p, len);
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Read the whole log to a socket; returns MiB/s. */
static double run_read(const char *path, bool use_sendfile) {
    storage_log_config cfg;
    log_config(&cfg);
    storage_log *log;
    if (storage_log_open(path, &cfg, sl_wall_ms(), &log) != SL_OK) return 0;
    int s, r;
    if (socket_pair_tcp(&s, &r) != 0) return 0;
    drain d = { r, 0 };
    pthread_t t;
    pthread_create(&t, NULL, drain_main, &d);
    uint8_t *buf = sl_malloc(READ_BYTES);
    sl_buf one;
    sl_buf_init(&one);
    bench_batch(&one);
    int64_t batch_bytes = (int64_t)one.len;
    sl_buf_deinit(&one);
    int64_t next = 0, end = storage_log_end_offset(log), sent = 0;
    int64_t t0 = sl_now_ns();
    while (next < end) {
        storage_read_result res;
        if (storage_log_read(log, next, READ_BYTES, INT64_MAX, true, &res) != SL_OK) break;
        if (res.length == 0) break;
        bool ok = use_sendfile
                      ? send_all_file(s, res.fd, res.position, res.length)
                      : pread(res.fd, buf, (size_t)res.length, res.position) == res.length &&
                            send_all_buf(s, buf, (size_t)res.length);
        if (!ok) break;
        sent += res.length;
        /* every batch is the same: RECORDS offsets per batch_bytes */
        next = res.first_offset + res.length / batch_bytes * RECORDS;
    }
    shutdown(s, SHUT_WR);
    pthread_join(t, NULL);
    double secs = (double)(sl_now_ns() - t0) / 1e9;
    close(s);
    close(r);
    sl_free(buf);
    storage_log_close(log);
    return d.bytes == sent ? (double)sent / secs / MIB : 0;
}

/* ---------------- 3. fdatasync per append ---------------- */

static void print_latencies(const char *what, double *us, int n) {
    qsort(us, (size_t)n, sizeof(us[0]), cmp_double);
    printf("  %-34s p50 %8.1f us   p99 %8.1f us   max %8.1f us   (%d appends)\n", what, us[n / 2],
           us[(n * 99) / 100], us[n - 1], n);
}

static void run_sync_latency(const char *path) {
    storage_log_config cfg;
    log_config(&cfg);
    cfg.flush_messages = 1;
    storage_log *log;
    if (storage_log_open(path, &cfg, sl_wall_ms(), &log) != SL_OK) return;
    sl_buf b;
    sl_buf_init(&b);
    bench_batch(&b);
    double *us = sl_calloc((size_t)syncs_g, sizeof(double));
    int n = 0;
    for (; n < syncs_g; n++) {
        int64_t t0 = sl_now_ns();
        if (storage_log_append(log, b.data, b.len, 0, sl_wall_ms(), NULL) != SL_OK) break;
        us[n] = (double)(sl_now_ns() - t0) / 1e3;
    }
    storage_log_delete(log);
    if (n > 0) print_latencies("storage_log_append, flush every 1", us, n);
    /* the floor: the same bytes with pwrite + fdatasync on a plain file */
    char file[600];
    snprintf(file, sizeof(file), "%s.raw", path);
    int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0644);
    for (n = 0; fd >= 0 && n < syncs_g; n++) {
        int64_t t0 = sl_now_ns();
        if (pwrite(fd, b.data, b.len, (off_t)n * (off_t)b.len) != (ssize_t)b.len) break;
        if (fdatasync(fd) != 0) break;
        us[n] = (double)(sl_now_ns() - t0) / 1e3;
    }
    if (fd >= 0) close(fd);
    unlink(file);
    if (n > 0) print_latencies("pwrite + fdatasync (floor)", us, n);
    sl_free(us);
    sl_buf_deinit(&b);
}

int main(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--dir") == 0) dir_g = argv[i + 1];
        if (strcmp(argv[i], "--mib") == 0) mib_g = atoll(argv[i + 1]);
        if (strcmp(argv[i], "--syncs") == 0) syncs_g = atoi(argv[i + 1]);
        if (strcmp(argv[i], "--unaligned") == 0) unaligned_g = atoi(argv[i + 1]) != 0;
    }
    sl_log_configure(getenv("SL_TEST_LOG") ? getenv("SL_TEST_LOG") : "warn", NULL);
    char path[512];
    snprintf(path, sizeof(path), "%s/bench-storage-%d", dir_g, (int)getpid());
    sl_buf one;
    sl_buf_init(&one);
    bench_batch(&one);
    printf("bench_storage: dir=%s, %lld MiB per run, %zu-byte batches of %d records of ~%d "
           "bytes\n",
           dir_g, (long long)mib_g, one.len, RECORDS, VALUE_BYTES);
    sl_buf_deinit(&one);
    double dd[ROUNDS], pw[ROUNDS], app[ROUNDS];
    for (int r = 0; r < ROUNDS; r++) {
        dd[r] = run_dd();
        pw[r] = run_pwrite();
        app[r] = run_append(path, r == ROUNDS - 1);
    }
    double dd_m = median3(dd), pw_m = median3(pw), app_m = median3(app);
    printf("append, no fsync (median of %d):\n  dd bs=16k          %8.0f MiB/s\n"
           "  pwrite loop        %8.0f MiB/s\n  storage_log_append %8.0f MiB/s   (%.0f%% of dd, "
           "%.0f%% of pwrite)\n",
           ROUNDS, dd_m, pw_m, app_m, dd_m > 0 ? 100.0 * app_m / dd_m : 0.0,
           pw_m > 0 ? 100.0 * app_m / pw_m : 0.0);
    double sf = run_read(path, true), pr = run_read(path, false);
    printf(
        "read %lld MiB to a loopback TCP socket (page cache):\n  sendfile           %8.0f MiB/s\n"
        "  pread + write      %8.0f MiB/s\n",
        (long long)mib_g, sf, pr);
    test_rmtree(path);
    printf("append latency, fdatasync per append (16 KiB batches):\n");
    run_sync_latency(path);
    test_rmtree(path);
    return 0;
}
