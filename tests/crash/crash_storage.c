/* crash_storage.c — kill -9 crash test for storage/.
 *
 * For each flush policy (log.flush.interval.messages = 1, then never), in a fresh
 * directory, repeatedly:
 *   1. fork an appender: it opens the log and appends batches of random sizes (one to
 *      three per append, 100 bytes to 300 KB), and after each append returns it sends the
 *      parent one ack per batch over a pipe: offsets, size and CRC-32C of the batch bytes
 *      as stored;
 *   2. SIGKILL it at a random point: after a random number of acks, or a few
 *      milliseconds after it started (often during open and recovery), then read the
 *      pipe to its end — everything the child sent was acknowledged;
 *   3. fork a verifier: it opens the log (recovering it), reads every acknowledged batch
 *      back and compares size and CRC, walks the whole log checking that offsets are
 *      contiguous, appends a batch, closes, and runs storage_verify_dir on the directory.
 * A process crash loses nothing write() returned for, so both policies must keep every
 * acknowledged batch. The seed is printed first; `--seed N` replays a run.
 *
 * usage: crash_storage [--seed N] [--kills N]    (kills per flush policy, default 50) */
#include "common/sl_alloc.h"
#include "common/sl_crc32c.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_rand.h"
#include "common/sl_time.h"
#include "protocol/protocol.h"
#include "storage/storage.h"
#include "tests/unit/test_storage_batch.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NOW_BASE        1700000000000LL
#define APPENDS_MAX     2000 /* per appender life; it then waits to be killed */
#define ACKS_MAX        (1 << 20)
#define VERIFY_READ_MAX (1 << 20)

typedef struct ack {
    int64_t base_offset;
    int64_t last_offset;
    uint32_t size;
    uint32_t crc;
} ack;

typedef struct run {
    const char *name;
    storage_log_config cfg;
    char root[128];
    char dir[160];
    ack *acks; /* acknowledged batches, in offset order */
    int64_t ack_count;
    int32_t kill_index;
    uint64_t seed;
} run;

static _Noreturn void die(const char *what, const char *dir, int rc) {
    fprintf(stderr, "crash_storage: %s %s failed (%s)\n", what, dir, sl_strerror(rc));
    _exit(1);
}

/* ---------------- appender (child) ---------------- */

static void appender_send(int fd, const ack *a) {
    /* 24 bytes < PIPE_BUF: atomic; a full pipe blocks until the parent reads */
    ssize_t w = write(fd, a, sizeof(*a));
    if (w != (ssize_t)sizeof(*a)) _exit(4);
}

#define POOL_BATCHES 32

/* Batches built before the appends start, so the appender spends its time appending (and
 * a kill lands in pwrite often enough to tear batches): mostly small ones, one in eight
 * 50-300 KB. */
static void appender_pool(sl_rand *rng, sl_buf *pool, size_t *starts) {
    for (int k = 0; k < POOL_BATCHES; k++) {
        bool big = sl_rand_chance(rng, 1, 8);
        int32_t count =
            big ? 50 + (int32_t)sl_rand_below(rng, 100) : 1 + (int32_t)sl_rand_below(rng, 10);
        int32_t value =
            big ? 1000 + (int32_t)sl_rand_below(rng, 1000) : (int32_t)sl_rand_below(rng, 500);
        starts[k] = pool->len;
        test_batch_build(pool, 0, count, value, NOW_BASE + k, (uint8_t)k);
    }
    starts[POOL_BATCHES] = pool->len;
}

static _Noreturn void appender_main(const run *r, int fd) {
    storage_log *log;
    int rc = storage_log_open(r->dir, &r->cfg, NOW_BASE, &log);
    if (rc != SL_OK) die("appender: open", r->dir, rc);
    sl_rand rng;
    sl_rand_seed(&rng, r->seed ^ (uint64_t)r->kill_index * 0x9e3779b97f4a7c15ULL);
    int32_t epoch = storage_log_latest_epoch(log) + (int32_t)sl_rand_below(&rng, 2);
    if (epoch < 0) epoch = 0;
    sl_buf pool, b;
    size_t pool_starts[POOL_BATCHES + 1];
    sl_buf_init(&pool);
    sl_buf_init(&b);
    appender_pool(&rng, &pool, pool_starts);
    for (int i = 0; i < APPENDS_MAX; i++) {
        sl_buf_reset(&b);
        size_t starts[4];
        int n = 1 + (int)sl_rand_below(&rng, 3);
        for (int k = 0; k < n; k++) {
            int pick = (int)sl_rand_below(&rng, POOL_BATCHES);
            starts[k] = b.len;
            sl_buf_put(&b, pool.data + pool_starts[pick],
                       pool_starts[pick + 1] - pool_starts[pick]);
        }
        starts[n] = b.len;
        rc = storage_log_append(log, b.data, b.len, epoch, NOW_BASE, NULL);
        if (rc != SL_OK) die("appender: append to", r->dir, rc);
        for (int k = 0; k < n; k++) {
            const uint8_t *p = b.data + starts[k];
            size_t size = starts[k + 1] - starts[k];
            int64_t base = (int64_t)sl_load_be64(p);
            ack a = { base, base + (int32_t)sl_load_be32(p + PROTOCOL_BATCH_OFF_LAST_DELTA),
                      (uint32_t)size, sl_crc32c(p, size) };
            appender_send(fd, &a);
        }
    }
    for (;;) {
        pause(); /* wait for the kill */
    }
}

/* ---------------- verifier (child) ---------------- */

static int verify_fail(const char *what, int64_t offset, int rc) {
    fprintf(stderr, "crash_storage: verify: %s at offset %lld (%s)\n", what, (long long)offset,
            sl_strerror(rc));
    return 1;
}

/* Every acknowledged batch is there with the same bytes. */
static int verify_acks(storage_log *log, const run *r, sl_buf *out) {
    for (int64_t i = 0; i < r->ack_count; i++) {
        const ack *a = &r->acks[i];
        sl_buf_reset(out);
        int rc = storage_log_read_copy(log, a->base_offset, 1, INT64_MAX, true, out);
        if (rc != SL_OK) return verify_fail("acknowledged batch unreadable", a->base_offset, rc);
        if (out->len != a->size || sl_crc32c(out->data, out->len) != a->crc) {
            return verify_fail("acknowledged batch changed or lost", a->base_offset, 0);
        }
    }
    return 0;
}

/* Offsets are contiguous from the log start offset to the log end offset. */
static int verify_contiguous(storage_log *log, sl_buf *out) {
    int64_t next = storage_log_start_offset(log), end = storage_log_end_offset(log);
    for (int64_t guard = 0; next < end && guard < ACKS_MAX * 4LL; guard++) {
        sl_buf_reset(out);
        int rc = storage_log_read_copy(log, next, VERIFY_READ_MAX, INT64_MAX, true, out);
        if (rc != SL_OK || out->len == 0) return verify_fail("read failed", next, rc);
        for (size_t at = 0; at < out->len;) {
            protocol_batch_header h;
            size_t size = 0;
            rc = protocol_batch_size(out->data + at, out->len - at, out->len - at, &size);
            if (rc == SL_OK) rc = protocol_batch_check(out->data + at, size, &h);
            if (rc != SL_OK) return verify_fail("bad batch", next, rc);
            if (h.base_offset != next) return verify_fail("offset gap", next, 0);
            next = h.base_offset + h.last_offset_delta + 1;
            at += size;
        }
    }
    return next == end ? 0 : verify_fail("walk did not reach the end", next, 0);
}

static void verify_report(const char *line, void *arg) {
    (void)arg;
    fprintf(stderr, "crash_storage: verify_dir: %s\n", line);
}

static _Noreturn void verifier_main(const run *r) {
    storage_log *log;
    int rc = storage_log_open(r->dir, &r->cfg, NOW_BASE, &log);
    if (rc != SL_OK) die("verify: open", r->dir, rc);
    int failed = 0;
    int64_t last_acked = r->ack_count > 0 ? r->acks[r->ack_count - 1].last_offset : -1;
    if (storage_log_end_offset(log) <= last_acked) {
        failed = verify_fail("log end offset below the last acknowledged offset",
                             storage_log_end_offset(log), 0);
    }
    sl_buf out;
    sl_buf_init(&out);
    if (!failed) failed = verify_acks(log, r, &out);
    if (!failed) failed = verify_contiguous(log, &out);
    sl_buf_reset(&out);
    test_batch_build(&out, 0, 3, 100, NOW_BASE, 0xee);
    int32_t epoch = storage_log_latest_epoch(log);
    rc = storage_log_append(log, out.data, out.len, epoch < 0 ? 0 : epoch, NOW_BASE, NULL);
    if (!failed && rc != SL_OK) failed = verify_fail("append after recovery failed", 0, rc);
    sl_buf_deinit(&out);
    storage_log_close(log);
    rc = storage_verify_dir(r->dir, verify_report, NULL);
    if (!failed && rc != SL_OK) failed = verify_fail("storage_verify_dir found problems", 0, rc);
    _exit(failed ? 1 : 0);
}

/* ---------------- parent ---------------- */

static void run_push_ack(run *r, const ack *a) {
    if (r->ack_count >= ACKS_MAX) {
        fprintf(stderr, "crash_storage: too many acks\n");
        exit(1);
    }
    if (r->ack_count > 0 && a->base_offset != r->acks[r->ack_count - 1].last_offset + 1) {
        /* a verifier's append sits between two appenders' batches: fine */
        if (a->base_offset <= r->acks[r->ack_count - 1].last_offset) {
            fprintf(stderr, "crash_storage: acked offsets went backwards\n");
            exit(1);
        }
    }
    r->acks[r->ack_count++] = *a;
}

/* Read whole acks from fd into r until deadline_ns (monotonic) or until `want` acks
 * arrived; returns false at end of file. */
static bool parent_read_acks(
    run *r, int fd, int64_t want, int64_t deadline_ns, ack *partial, size_t *partial_len) {
    for (int64_t got = 0; got < want;) {
        int64_t left = deadline_ns - sl_now_ns();
        if (left <= 0) return true;
        struct pollfd pfd = { fd, POLLIN, 0 };
        struct timespec ts = { (time_t)(left / 1000000000), (long)(left % 1000000000) };
        int n = ppoll(&pfd, 1, &ts, NULL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return true;
        ssize_t rd = read(fd, (uint8_t *)partial + *partial_len, sizeof(*partial) - *partial_len);
        if (rd <= 0) return false;
        *partial_len += (size_t)rd;
        if (*partial_len == sizeof(*partial)) {
            run_push_ack(r, partial);
            *partial_len = 0;
            got++;
        }
    }
    return true;
}

/* One life of an appender: start, kill at a random point, collect its acks. */
static void parent_one_kill(run *r, sl_rand *rng) {
    int fds[2];
    if (pipe(fds) != 0) exit(1);
    pid_t pid = fork();
    if (pid < 0) exit(1);
    if (pid == 0) {
        close(fds[0]);
        appender_main(r, fds[1]);
    }
    close(fds[1]);
    ack partial;
    size_t partial_len = 0;
    bool flush_each = r->cfg.flush_messages == 1;
    int64_t want =
        sl_rand_chance(rng, 1, 8) ? 0 : 1 + (int64_t)sl_rand_below(rng, flush_each ? 40 : 300);
    int64_t deadline =
        sl_now_ns() + (want == 0 ? (int64_t)sl_rand_below(rng, 4000000) : 5000000000);
    (void)parent_read_acks(r, fds[0], want, deadline, &partial, &partial_len);
    /* keep reading for up to 2 ms so the child is busy appending, not blocked on a full
     * pipe, when the kill lands */
    deadline = sl_now_ns() + (int64_t)sl_rand_below(rng, 2000000);
    (void)parent_read_acks(r, fds[0], INT64_MAX, deadline, &partial, &partial_len);
    kill(pid, SIGKILL);
    while (parent_read_acks(r, fds[0], INT64_MAX, sl_now_ns() + 10000000000LL, &partial,
                            &partial_len)) {
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        fprintf(stderr, "crash_storage: appender ended on its own (status %d), seed=%llu kill=%d\n",
                status, (unsigned long long)r->seed, r->kill_index);
        exit(1);
    }
}

static void parent_verify(run *r) {
    pid_t pid = fork();
    if (pid < 0) exit(1);
    if (pid == 0) verifier_main(r);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "crash_storage: FAILED policy=%s seed=%llu kill=%d acked=%lld\n", r->name,
                (unsigned long long)r->seed, r->kill_index, (long long)r->ack_count);
        exit(1);
    }
    /* the verifier appended one batch after the last acked one; later acks skip it */
}

static void run_policy(const char *name, int64_t flush_messages, uint64_t seed, int kills) {
    run r = { .name = name, .seed = seed };
    storage_log_config_defaults(&r.cfg);
    r.cfg.segment_bytes = 1024 * 1024;
    r.cfg.index_interval_bytes = 1024;
    r.cfg.segment_index_bytes = 2048; /* index-full rolls too */
    r.cfg.flush_messages = flush_messages;
    snprintf(r.root, sizeof(r.root), "/tmp/sluice-crash-XXXXXX");
    if (!mkdtemp(r.root)) exit(1);
    snprintf(r.dir, sizeof(r.dir), "%s/t-0", r.root);
    r.acks = sl_malloc(sizeof(ack) * ACKS_MAX);
    sl_rand rng;
    sl_rand_seed(&rng, seed ^ (uint64_t)flush_messages);
    int64_t t0 = sl_now_ms();
    for (r.kill_index = 0; r.kill_index < kills; r.kill_index++) {
        parent_one_kill(&r, &rng);
        parent_verify(&r);
    }
    printf("crash_storage: policy=%s kills=%d acked_batches=%lld last_offset=%lld ms=%lld ok\n",
           name, kills, (long long)r.ack_count,
           (long long)(r.ack_count ? r.acks[r.ack_count - 1].last_offset : -1),
           (long long)(sl_now_ms() - t0));
    fflush(stdout);
    sl_free(r.acks);
    test_rmtree(r.root);
}

int main(int argc, char **argv) {
    uint64_t seed = sl_rand_os_seed();
    int kills = 50;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0) seed = strtoull(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--kills") == 0) kills = atoi(argv[i + 1]);
    }
    const char *env = getenv("SEED");
    if (env && *env) seed = strtoull(env, NULL, 10);
    sl_log_configure(getenv("SL_TEST_LOG") ? getenv("SL_TEST_LOG") : "error", NULL);
    printf("crash_storage: seed=%llu kills_per_policy=%d\n", (unsigned long long)seed, kills);
    fflush(stdout);
    run_policy("flush_every_message", 1, seed, kills);
    run_policy("no_flush", INT64_MAX, seed, kills);
    printf("crash_storage: all acknowledged batches survived\n");
    return 0;
}
