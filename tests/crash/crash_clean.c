/* crash_clean.c — kill -9 crash test for compaction (storage_log_clean).
 *
 * In one compacted log directory, repeatedly:
 *   1. fork a worker: it opens the log (recovering it) and loops: append one batch of
 *      keyed records (deterministic from the seed and the batch's sequence number, mixed
 *      codecs, some tombstones), send the parent an ack (sequence number, base offset,
 *      record count), then run one storage_log_clean step with a small byte budget and a
 *      small offset map — so most of its time goes to cleaning, and kills land in reads,
 *      writes of .cleaned files, the .swap rename, the retirement of replaced segments
 *      and the checkpoint writes;
 *   2. SIGKILL it at a random point (after a random number of acks, or a few milliseconds
 *      after it started: often during recovery), then read the pipe to its end;
 *   3. check the log in the parent: it opens (recovering); the end offset is the end of
 *      the acknowledged batches, or of the one batch in flight at the kill; every record
 *      read back is the one written at its offset (key, value, tombstone), offsets
 *      increase; the latest record of every key is present (tombstones included: the
 *      delete retention is effectively infinite); every written record that is missing
 *      was superseded by a later record of its key. Then a full clean must converge
 *      (each key at most once below the checkpoint) with the same checks, and after a
 *      clean close storage_verify_dir must find nothing.
 * A crash at any point must leave the old segments or the new ones: never a loss, never
 * overlapping or mixed segments. The seed is printed first; `--seed N` replays a run.
 *
 * usage: crash_clean [--seed N] [--kills N]    (default 40 kills) */
#include "common/sl_alloc.h"
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

#define NOW_BASE    1700000000000LL
#define KEYS        50
#define MODEL_MAX   (1 << 20) /* offsets the model can hold */
#define APPENDS_MAX 20000     /* per worker life; it then waits to be killed */
#define VALUE_MAX   160
#define READ_MAX    (1 << 20)

typedef struct ack {
    int64_t seq;
    int64_t base_offset;
    int32_t count;
    int32_t pad;
} ack;

typedef struct run {
    uint64_t seed;
    int kill_index;
    char root[128];
    char dir[160];
    storage_log_config cfg;
    storage_clean_config ccfg;
    int32_t *seq_of; /* offset -> batch sequence number, -1 when nothing written there */
    int64_t end;     /* offsets below were written (as far as the parent knows) */
    int64_t next_seq;
    int64_t acks;
    uint8_t *present; /* scratch: offset seen in the log */
} run;

static _Noreturn void fail(const run *r, const char *what, int64_t offset, int rc) {
    fprintf(stderr, "crash_clean: FAILED %s at offset %lld (%s) seed=%llu kill=%d\n", what,
            (long long)offset, sl_strerror(rc), (unsigned long long)r->seed, r->kill_index);
    exit(1);
}

/* ---------------- the records ---------------- */

static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static int32_t batch_count(uint64_t seed, int64_t seq) {
    return 1 + (int32_t)(mix(seed ^ (uint64_t)seq * 0x9e3779b97f4a7c15ULL) % 8);
}

static int batch_codec(uint64_t seed, int64_t seq) {
    static const int codecs[] = { PROTOCOL_CODEC_NONE, PROTOCOL_CODEC_NONE, PROTOCOL_CODEC_LZ4,
                                  PROTOCOL_CODEC_ZSTD, PROTOCOL_CODEC_GZIP, PROTOCOL_CODEC_SNAPPY };
    return codecs[mix(seed + (uint64_t)seq) % 6];
}

/* Record idx of batch seq: its key, whether it is a tombstone, and its value. */
static void record_gen(
    uint64_t seed, int64_t seq, int32_t idx, int *key, bool *tomb, uint8_t *value, int32_t *len) {
    uint64_t h = mix(seed ^ mix((uint64_t)seq << 8 | (uint64_t)idx));
    *key = (int)(h % KEYS);
    *tomb = (h >> 20) % 15 == 0;
    *len = 8 + (int32_t)((h >> 32) % (VALUE_MAX - 8));
    for (int32_t i = 0; i < *len; i++) {
        value[i] = (uint8_t)(h >> (8 * (i % 8))) ^ (uint8_t)i;
    }
}

static void batch_build(uint64_t seed, int64_t seq, sl_buf *out) {
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.codec = batch_codec(seed, seq);
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    int32_t n = batch_count(seed, seq);
    for (int32_t i = 0; i < n; i++) {
        int key;
        bool tomb;
        uint8_t value[VALUE_MAX];
        int32_t len;
        char k[8];
        record_gen(seed, seq, i, &key, &tomb, value, &len);
        snprintf(k, sizeof(k), "k%02d", key);
        sl_bytes v = tomb ? SL_BYTES_NULL : (sl_bytes){ value, len };
        if (protocol_batch_builder_add(&b, NOW_BASE + seq, (sl_bytes){ (const uint8_t *)k, 3 }, v,
                                       NULL, 0) != SL_OK) {
            _exit(5);
        }
    }
    if (protocol_batch_builder_finish(&b, out) != SL_OK) _exit(5);
    protocol_batch_builder_deinit(&b);
}

/* ---------------- worker (child) ---------------- */

static _Noreturn void worker_main(const run *r, int fd) {
    storage_log *log;
    if (storage_log_open(r->dir, &r->cfg, NOW_BASE, &log) != SL_OK) _exit(2);
    sl_buf b;
    sl_buf_init(&b);
    storage_clean_config cc = r->ccfg;
    for (int64_t seq = r->next_seq; seq < r->next_seq + APPENDS_MAX; seq++) {
        sl_buf_reset(&b);
        batch_build(r->seed, seq, &b);
        storage_append_info info;
        if (storage_log_append(log, b.data, b.len, 0, NOW_BASE, &info) != SL_OK) _exit(3);
        ack a = { seq, info.base_offset, batch_count(r->seed, seq), 0 };
        if (write(fd, &a, sizeof(a)) != (ssize_t)sizeof(a)) _exit(4); /* < PIPE_BUF: atomic */
        cc.clean_before = storage_log_end_offset(log);
        int rc = storage_log_clean(log, &cc, NOW_BASE, NULL);
        if (rc != SL_OK) _exit(6);
    }
    for (;;) {
        pause(); /* wait for the kill */
    }
}

/* ---------------- checks (parent) ---------------- */

/* What was written at offset: its key, tombstone flag and value. */
static void
record_at(const run *r, int64_t offset, int *key, bool *tomb, uint8_t *value, int32_t *len) {
    int64_t seq = r->seq_of[offset];
    int64_t first = offset;
    while (first > 0 && r->seq_of[first - 1] == seq) {
        first--;
    }
    record_gen(r->seed, seq, (int32_t)(offset - first), key, tomb, value, len);
}

/* Every record in the log is the one written at its offset; marks r->present. */
static void check_records(run *r, storage_log *log) {
    memset(r->present, 0, (size_t)r->end);
    sl_buf buf, scratch;
    sl_buf_init(&buf);
    sl_buf_init(&scratch);
    int64_t off = storage_log_start_offset(log), expect = 0;
    for (int64_t guard = 0; off < r->end && guard < MODEL_MAX; guard++) {
        sl_buf_reset(&buf);
        int rc = storage_log_read_copy(log, off, READ_MAX, INT64_MAX, true, &buf);
        if (rc != SL_OK) fail(r, "read", off, rc);
        if (buf.len == 0) break;
        for (size_t at = 0; at < buf.len;) {
            protocol_batch_header h;
            size_t size = 0;
            rc = protocol_batch_size(buf.data + at, buf.len - at, buf.len - at, &size);
            if (rc == SL_OK) rc = protocol_batch_check(buf.data + at, size, &h);
            if (rc != SL_OK) fail(r, "bad batch", off, rc);
            if (h.base_offset < expect) fail(r, "offsets went back", h.base_offset, 0);
            protocol_record_iter it;
            rc = protocol_record_iter_init(&it, buf.data + at, size, &scratch, 1 << 24);
            if (rc != SL_OK) fail(r, "records", h.base_offset, rc);
            protocol_record rec;
            int more;
            while ((more = protocol_record_iter_next(&it, &rec)) == 1) {
                if (rec.offset >= r->end || r->seq_of[rec.offset] < 0) {
                    fail(r, "record never written", rec.offset, 0);
                }
                int key;
                bool tomb;
                uint8_t value[VALUE_MAX];
                int32_t len;
                char k[8];
                record_at(r, rec.offset, &key, &tomb, value, &len);
                snprintf(k, sizeof(k), "k%02d", key);
                if (rec.key.len != 3 || memcmp(rec.key.ptr, k, 3) != 0) {
                    fail(r, "wrong key", rec.offset, 0);
                }
                if (tomb != (rec.value.len < 0) ||
                    (!tomb &&
                     (rec.value.len != len || memcmp(rec.value.ptr, value, (size_t)len)))) {
                    fail(r, "wrong value", rec.offset, 0);
                }
                r->present[rec.offset] = 1;
            }
            if (more != 0) fail(r, "records", h.base_offset, more);
            expect = protocol_batch_last_offset(&h) + 1;
            off = expect;
            at += size;
        }
    }
    sl_buf_deinit(&buf);
    sl_buf_deinit(&scratch);
}

static int key_at(const run *r, int64_t offset) {
    int key;
    bool tomb;
    uint8_t value[VALUE_MAX];
    int32_t len;
    record_at(r, offset, &key, &tomb, value, &len);
    return key;
}

/* The latest record of every key is there; anything missing was superseded. With
 * converged, each key also appears at most once below the cleaner checkpoint. */
static void check_keys(run *r, storage_log *log, bool converged) {
    int64_t latest[KEYS];
    for (int k = 0; k < KEYS; k++) {
        latest[k] = -1;
    }
    int64_t start = storage_log_start_offset(log);
    for (int64_t o = r->end - 1; o >= start; o--) {
        int k = key_at(r, o);
        if (latest[k] < 0) latest[k] = o;
        if (!r->present[o] && latest[k] == o) fail(r, "latest record of a key lost", o, 0);
    }
    if (!converged) return;
    int64_t bound = storage_log_clean_first_dirty(log);
    int seen[KEYS] = { 0 };
    for (int64_t o = start; o < bound; o++) {
        if (r->present[o] && ++seen[key_at(r, o)] > 1) fail(r, "not compacted", o, 0);
    }
}

static void check_report(const char *line, void *arg) {
    (void)arg;
    fprintf(stderr, "crash_clean: verify_dir: %s\n", line);
}

static void check_log(run *r, const ack *inflight) {
    storage_log *log;
    int rc = storage_log_open(r->dir, &r->cfg, NOW_BASE, &log);
    if (rc != SL_OK) fail(r, "open", 0, rc);
    int64_t leo = storage_log_end_offset(log);
    if (leo != r->end) {
        /* the batch in flight at the kill may have made it, whole */
        if (leo != inflight->base_offset + inflight->count) fail(r, "end offset", leo, 0);
        for (int64_t o = inflight->base_offset; o < leo; o++) {
            r->seq_of[o] = (int32_t)inflight->seq;
        }
        r->end = leo;
        r->next_seq = inflight->seq + 1;
    }
    check_records(r, log);
    check_keys(r, log, false);
    storage_clean_config cc = r->ccfg;
    cc.min_cleanable_dirty_ratio = 0;
    cc.bytes_per_call = INT64_MAX;
    cc.offset_map_bytes = 1 << 20;
    storage_clean_stats st;
    for (int i = 0; i < 100; i++) {
        rc = storage_log_clean(log, &cc, NOW_BASE, &st);
        if (rc != SL_OK) fail(r, "clean after recovery", 0, rc);
        if (!st.more && !st.pass_started && !st.pass_done) break;
    }
    check_records(r, log);
    check_keys(r, log, true);
    storage_log_close(log);
    rc = storage_verify_dir(r->dir, check_report, NULL);
    if (rc != SL_OK) fail(r, "storage_verify_dir found problems", 0, rc);
}

/* ---------------- parent ---------------- */

static void take_ack(run *r, const ack *a) {
    if (a->seq != r->next_seq || a->base_offset != r->end)
        fail(r, "ack out of order", a->base_offset, 0);
    if (a->base_offset + a->count > MODEL_MAX) fail(r, "model full", a->base_offset, 0);
    for (int64_t o = a->base_offset; o < a->base_offset + a->count; o++) {
        r->seq_of[o] = (int32_t)a->seq;
    }
    r->end = a->base_offset + a->count;
    r->next_seq = a->seq + 1;
    r->acks++;
}

/* Read acks until deadline_ns or `want` of them; false at end of file. */
static bool read_acks(run *r, int fd, int64_t want, int64_t deadline_ns, ack *partial, size_t *n) {
    for (int64_t got = 0; got < want;) {
        int64_t left = deadline_ns - sl_now_ns();
        if (left <= 0) return true;
        struct pollfd pfd = { fd, POLLIN, 0 };
        struct timespec ts = { (time_t)(left / 1000000000), (long)(left % 1000000000) };
        int k = ppoll(&pfd, 1, &ts, NULL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return true;
        ssize_t rd = read(fd, (uint8_t *)partial + *n, sizeof(*partial) - *n);
        if (rd <= 0) return false;
        *n += (size_t)rd;
        if (*n == sizeof(*partial)) {
            take_ack(r, partial);
            *n = 0;
            got++;
        }
    }
    return true;
}

static void one_kill(run *r, sl_rand *rng) {
    int fds[2];
    if (pipe(fds) != 0) exit(1);
    /* the segment deletion delay changes from life to life: *.deleted leftovers too */
    r->cfg.file_delete_delay_ms = sl_rand_chance(rng, 1, 2) ? 0 : 60000;
    pid_t pid = fork();
    if (pid < 0) exit(1);
    if (pid == 0) {
        close(fds[0]);
        worker_main(r, fds[1]);
    }
    close(fds[1]);
    ack partial;
    size_t n = 0;
    int64_t want = sl_rand_chance(rng, 1, 6) ? 0 : 1 + (int64_t)sl_rand_below(rng, 400);
    int64_t deadline =
        sl_now_ns() + (want == 0 ? (int64_t)sl_rand_below(rng, 6000000) : 10000000000);
    (void)read_acks(r, fds[0], want, deadline, &partial, &n);
    deadline = sl_now_ns() + (int64_t)sl_rand_below(rng, 3000000);
    (void)read_acks(r, fds[0], INT64_MAX, deadline, &partial, &n);
    kill(pid, SIGKILL);
    while (read_acks(r, fds[0], INT64_MAX, sl_now_ns() + 10000000000LL, &partial, &n)) {
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
        fprintf(stderr, "crash_clean: worker ended on its own (status %d) seed=%llu kill=%d\n",
                status, (unsigned long long)r->seed, r->kill_index);
        exit(1);
    }
    ack inflight = { r->next_seq, r->end, batch_count(r->seed, r->next_seq), 0 };
    check_log(r, &inflight);
}

int main(int argc, char **argv) {
    run r;
    memset(&r, 0, sizeof(r));
    r.seed = sl_rand_os_seed();
    int kills = 40;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seed") == 0) r.seed = strtoull(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--kills") == 0) kills = atoi(argv[i + 1]);
    }
    const char *env = getenv("SEED");
    if (env && *env) r.seed = strtoull(env, NULL, 10);
    sl_log_configure(getenv("SL_TEST_LOG") ? getenv("SL_TEST_LOG") : "error", NULL);
    printf("crash_clean: seed=%llu kills=%d\n", (unsigned long long)r.seed, kills);
    fflush(stdout);
    storage_log_config_defaults(&r.cfg);
    r.cfg.segment_bytes = 8192; /* many segments: many groups and swaps */
    r.cfg.index_interval_bytes = 256;
    r.cfg.segment_index_bytes = 1024;
    r.cfg.compact = true;
    storage_clean_config_defaults(&r.ccfg);
    r.ccfg.min_cleanable_dirty_ratio = 0.2;
    r.ccfg.delete_retention_ms = INT64_MAX / 4;
    r.ccfg.offset_map_bytes = 1024; /* 31 keys a pass: map-full passes */
    r.ccfg.bytes_per_call = 16384;
    snprintf(r.root, sizeof(r.root), "/tmp/sluice-crash-clean-XXXXXX");
    if (!mkdtemp(r.root)) exit(1);
    snprintf(r.dir, sizeof(r.dir), "%s/t-0", r.root);
    r.seq_of = sl_malloc(sizeof(int32_t) * MODEL_MAX);
    memset(r.seq_of, 0xff, sizeof(int32_t) * MODEL_MAX);
    r.present = sl_malloc(MODEL_MAX);
    sl_rand rng;
    sl_rand_seed(&rng, r.seed);
    int64_t t0 = sl_now_ms();
    for (r.kill_index = 0; r.kill_index < kills; r.kill_index++) {
        one_kill(&r, &rng);
    }
    printf("crash_clean: kills=%d acked_batches=%lld end_offset=%lld ms=%lld ok\n", kills,
           (long long)r.acks, (long long)r.end, (long long)(sl_now_ms() - t0));
    sl_free(r.seq_of);
    sl_free(r.present);
    test_rmtree(r.root);
    return 0;
}
