/* Unit tests for storage/ recovery: a log directory damaged in each way a crash, a disk
 * or an operator can damage it, reopened. Each case checks what the open reports, what
 * survives (byte for byte), that the log accepts appends again, and that the offline
 * verifier finds nothing wrong afterwards. */
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_rand.h"
#include "protocol/protocol.h"
#include "storage/storage.h"
#include "tests/unit/test_storage_batch.h"

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

Suite *storage_recover_suite(void);

#define NOW 1700000000000LL

typedef struct rx_batch {
    int64_t base, last;
    size_t at, size;
} rx_batch;

static char rx_root[256];
static char rx_dir[300];
static storage_log *rx_log;
static storage_log_config rx_cfg;
static rx_batch rx_batches[1024];
static int rx_count;
static sl_buf rx_data;

static void rx_setup(void) {
    snprintf(rx_root, sizeof(rx_root), "/tmp/sluice-recover-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(rx_root));
    snprintf(rx_dir, sizeof(rx_dir), "%s/topic-0", rx_root);
    storage_log_config_defaults(&rx_cfg);
    rx_cfg.segment_bytes = 2000;
    rx_cfg.index_interval_bytes = 150;
    rx_cfg.segment_index_bytes = 1024;
    rx_cfg.file_delete_delay_ms = 0;
    rx_log = NULL;
    rx_count = 0;
    sl_buf_init(&rx_data);
}

static void rx_teardown(void) {
    storage_log_close(rx_log);
    rx_log = NULL;
    sl_buf_deinit(&rx_data);
    test_rmtree(rx_root);
}

static int rx_open_rc(void) {
    return storage_log_open(rx_dir, &rx_cfg, NOW, &rx_log);
}

static void rx_open(void) {
    ck_assert_int_eq(rx_open_rc(), SL_OK);
}

static void rx_close(void) {
    storage_log_close(rx_log);
    rx_log = NULL;
}

static void rx_path(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", rx_dir, name);
}

/* Batch i of the deterministic sequence every test appends (epoch 1 + i / 20). */
static void rx_build(int i, sl_buf *out) {
    test_batch_build(out, 0, 1 + i % 4, 20 + (i * 37) % 200, NOW + i, (uint8_t)i);
}

static void rx_append(int n) {
    for (int k = 0; k < n; k++) {
        sl_buf b;
        sl_buf_init(&b);
        rx_build(rx_count, &b);
        storage_append_info info;
        ck_assert_int_eq(storage_log_append(rx_log, b.data, b.len, 1 + rx_count / 20, NOW, &info),
                         SL_OK);
        rx_batches[rx_count++] =
            (rx_batch){ info.base_offset, info.last_offset, rx_data.len, b.len };
        sl_buf_put(&rx_data, b.data, b.len);
        sl_buf_deinit(&b);
    }
}

/* Forget the batches from index n on (they were lost). */
static void rx_forget_from(int n) {
    rx_count = n;
    rx_data.len = n > 0 ? rx_batches[n - 1].at + rx_batches[n - 1].size : 0;
}

/* Every remembered batch reads back byte for byte at each of its offsets. */
static void rx_check_contents(void) {
    int64_t end = rx_count > 0 ? rx_batches[rx_count - 1].last + 1 : 0;
    ck_assert_int_eq(storage_log_end_offset(rx_log), end);
    sl_buf out;
    sl_buf_init(&out);
    for (int i = 0; i < rx_count; i++) {
        for (int64_t off = rx_batches[i].base; off <= rx_batches[i].last; off++) {
            sl_buf_reset(&out);
            ck_assert_int_eq(storage_log_read_copy(rx_log, off, 1, INT64_MAX, true, &out), SL_OK);
            ck_assert_uint_eq(out.len, rx_batches[i].size);
            ck_assert_mem_eq(out.data, rx_data.data + rx_batches[i].at, out.len);
        }
    }
    sl_buf_deinit(&out);
}

static int rx_problems;
/* arg non-NULL: the problems are expected, count them without printing */
static void rx_report(const char *line, void *arg) {
    if (!arg) fprintf(stderr, "verify: %s\n", line);
    rx_problems++;
}

/* Appends still work and continue the offsets; after a clean close the verifier is happy. */
static void rx_finish(void) {
    rx_check_contents();
    rx_append(3);
    rx_check_contents();
    rx_close();
    rx_problems = 0;
    ck_assert_int_eq(storage_verify_dir(rx_dir, rx_report, NULL), SL_OK);
    ck_assert_int_eq(rx_problems, 0);
    rx_open();
    rx_check_contents();
}

/* Open, append n batches and die without closing (in a child process). */
static void rx_crash_after(int n) {
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        storage_log *log;
        if (storage_log_open(rx_dir, &rx_cfg, NOW, &log) != SL_OK) _exit(2);
        for (int k = rx_count; k < rx_count + n; k++) {
            sl_buf b;
            sl_buf_init(&b);
            rx_build(k, &b);
            if (storage_log_append(log, b.data, b.len, 1 + k / 20, NOW, NULL) != SL_OK) _exit(3);
        }
        _exit(0);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* the parent's bookkeeping for the same batches, stamped as the child stamped them */
    int64_t next = rx_count > 0 ? rx_batches[rx_count - 1].last + 1 : 0;
    for (int k = 0; k < n; k++) {
        sl_buf b;
        sl_buf_init(&b);
        rx_build(rx_count, &b);
        protocol_batch_set_base_offset(b.data, next);
        protocol_batch_set_leader_epoch(b.data, 1 + rx_count / 20);
        int64_t last = next + (int32_t)sl_load_be32(b.data + PROTOCOL_BATCH_OFF_LAST_DELTA);
        rx_batches[rx_count++] = (rx_batch){ next, last, rx_data.len, b.len };
        sl_buf_put(&rx_data, b.data, b.len);
        next = last + 1;
        sl_buf_deinit(&b);
    }
}

static int64_t rx_size(const char *name) {
    char path[512];
    struct stat st;
    rx_path(path, sizeof(path), name);
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static bool rx_exists(const char *name) {
    return rx_size(name) >= 0;
}

static void rx_truncate_file(const char *name, int64_t size) {
    char path[512];
    rx_path(path, sizeof(path), name);
    ck_assert_int_eq(truncate(path, size), 0);
}

static void rx_write_file(const char *name, int64_t at, const void *data, size_t len) {
    char path[512];
    rx_path(path, sizeof(path), name);
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(pwrite(fd, data, len, at), (ssize_t)len);
    close(fd);
}

static void rx_remove(const char *name) {
    char path[512];
    rx_path(path, sizeof(path), name);
    unlink(path);
}

/* Name of the segment file holding remembered batch i, and its position there. */
static void rx_locate(int i, const char *suffix, char *name, size_t n, int64_t *pos_out) {
    int64_t base = rx_batches[i].base;
    char cand[64];
    int64_t best = 0;
    for (int k = 0; k <= i; k++) {
        snprintf(cand, sizeof(cand), "%020lld.log", (long long)rx_batches[k].base);
        if (rx_exists(cand)) best = rx_batches[k].base;
    }
    snprintf(name, n, "%020lld%s", (long long)best, suffix);
    int64_t pos = 0;
    for (int k = 0; k < i; k++) {
        if (rx_batches[k].base >= best) pos += (int64_t)rx_batches[k].size;
    }
    (void)base;
    *pos_out = pos;
}

/* ================= crashes ================= */

START_TEST(test_recover_after_crash_keeps_everything) {
    rx_crash_after(60); /* several segments; the active one's indexes still preallocated */
    ck_assert(!rx_exists(".clean_shutdown"));
    rx_open();
    ck_assert_int_gt(storage_log_segment_count(rx_log), 3);
    ck_assert_int_eq(storage_log_latest_epoch(rx_log), 3);
    rx_finish();
}
END_TEST

START_TEST(test_recover_torn_tail) {
    static const int64_t cuts[] = { 1, 11, 12, 60, 61, 62 };
    for (int unclean = 0; unclean < 2; unclean++) {
        for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
            if (!rx_log) rx_open();
            rx_append(4);
            rx_close();
            char name[64];
            int64_t pos;
            rx_locate(rx_count - 1, ".log", name, sizeof(name), &pos);
            /* keep only `cut` bytes of the last batch, as a torn write would */
            rx_truncate_file(name, pos + cuts[c]);
            if (unclean) rx_remove(".clean_shutdown");
            rx_open();
            rx_forget_from(rx_count - 1);
            rx_check_contents();
        }
    }
    rx_finish();
}
END_TEST

START_TEST(test_recover_crc_bad_tail) {
    for (int unclean = 0; unclean < 2; unclean++) {
        if (!rx_log) rx_open();
        rx_append(6);
        rx_close();
        char name[64];
        int64_t pos;
        rx_locate(rx_count - 1, ".log", name, sizeof(name), &pos);
        uint8_t flip = 0x5a;
        rx_write_file(name, pos + (int64_t)rx_batches[rx_count - 1].size - 1, &flip, 1);
        if (unclean) rx_remove(".clean_shutdown");
        rx_open();
        rx_forget_from(rx_count - 1);
        rx_check_contents();
    }
    rx_finish();
}
END_TEST

START_TEST(test_recover_zero_filled_tail) {
    for (int unclean = 0; unclean < 2; unclean++) {
        if (!rx_log) rx_open();
        rx_append(5);
        rx_close();
        char name[64];
        int64_t pos;
        rx_locate(rx_count - 1, ".log", name, sizeof(name), &pos);
        /* a preallocated file: the data, then zeros */
        rx_truncate_file(name, pos + (int64_t)rx_batches[rx_count - 1].size + 4096);
        if (unclean) rx_remove(".clean_shutdown");
        rx_open();
        rx_check_contents();
        ck_assert_int_eq(rx_size(name), pos + (int64_t)rx_batches[rx_count - 1].size);
    }
    rx_finish();
}
END_TEST

/* An unclean open scans the whole active segment; a clean one only its tail. */
START_TEST(test_recover_clean_shutdown_skips_full_scan) {
    rx_cfg.segment_bytes = 100000;
    rx_open();
    rx_append(12); /* one segment, several index entries */
    ck_assert_int_eq(storage_log_segment_count(rx_log), 1);
    rx_close();
    char name[64];
    int64_t pos;
    rx_locate(2, ".log", name, sizeof(name), &pos);
    uint8_t flip = 0xa5;
    rx_write_file(name, pos + 70, &flip, 1); /* inside batch 2's records */
    rx_open(); /* clean: batch 2 is before the last index entry, not checked */
    ck_assert_int_eq(storage_log_end_offset(rx_log), rx_batches[11].last + 1);
    rx_close();
    rx_remove(".clean_shutdown");
    rx_open(); /* unclean: cut at batch 2 */
    ck_assert_int_eq(storage_log_end_offset(rx_log), rx_batches[2].base);
    rx_forget_from(2);
    rx_finish();
}
END_TEST

/* A power failure can leave the newest sealed segment short (its writeback was only
 * started at the roll). Everything from the recovery point on is scanned after a crash,
 * and a short sealed segment is cut, dropping the segments after it. */
START_TEST(test_recover_unflushed_sealed_segment_is_cut) {
    rx_crash_after(60);
    char text[64] = { 0 }, path[512];
    rx_path(path, sizeof(path), "recovery-point");
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_gt(fread(text, 1, sizeof(text) - 1, f), 2);
    fclose(f);
    long long point = -1;
    ck_assert_int_eq(sscanf(text, "0\n%lld", &point), 1);
    /* the recovery point is the newest sealed segment: the one before the active one */
    char active[64];
    int64_t pos;
    rx_locate(rx_count - 1, ".log", active, sizeof(active), &pos);
    ck_assert_int_lt(point, strtoll(active, NULL, 10));
    char sealed[64];
    snprintf(sealed, sizeof(sealed), "%020lld.log", point);
    ck_assert(rx_exists(sealed));
    int first = 0; /* first batch of that segment */
    while (rx_batches[first].base < point) {
        first++;
    }
    int64_t keep = (int64_t)(rx_batches[first].size + rx_batches[first + 1].size);
    rx_truncate_file(sealed, keep + 30); /* two whole batches and a torn third */
    rx_open();
    ck_assert(!rx_exists(active));
    ck_assert_int_eq(storage_log_end_offset(rx_log), rx_batches[first + 2].base);
    rx_forget_from(first + 2);
    rx_finish();
}
END_TEST

/* ================= indexes ================= */

START_TEST(test_recover_missing_index) {
    rx_open();
    rx_append(40);
    rx_close();
    ck_assert(rx_exists("00000000000000000000.index"));
    rx_remove("00000000000000000000.index"); /* a sealed segment's */
    rx_remove("00000000000000000000.timeindex");
    char name[64];
    int64_t pos;
    rx_locate(rx_count - 1, ".index", name, sizeof(name), &pos);
    rx_remove(name); /* the active segment's */
    rx_open();
    ck_assert(rx_exists("00000000000000000000.index"));
    int64_t ts, off;
    /* batch i's records have timestamps NOW + i …: batch 2 is the first to reach NOW + 3 */
    ck_assert_int_eq(storage_log_offset_for_time(rx_log, NOW + 3, &off, &ts), SL_OK);
    ck_assert_int_eq(off, rx_batches[2].base);
    ck_assert_int_eq(ts, NOW + 4);
    rx_finish();
}
END_TEST

START_TEST(test_recover_garbage_index) {
    rx_open();
    rx_append(40);
    rx_close();
    sl_rand rng;
    sl_rand_seed(&rng, 42);
    uint8_t junk[256];
    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)sl_rand_u64(&rng);
    }
    int64_t n = rx_size("00000000000000000000.index");
    ck_assert_int_gt(n, 8);
    rx_write_file("00000000000000000000.index", 0, junk, (size_t)n); /* same size, garbage */
    rx_write_file("00000000000000000000.timeindex", 0, junk + 7, 24);
    char name[64];
    int64_t pos;
    rx_locate(rx_count - 1, ".index", name, sizeof(name), &pos);
    rx_write_file(name, 0, junk, 16); /* the active one too (clean open: checked in full) */
    rx_open();
    rx_finish();
}
END_TEST

START_TEST(test_recover_plausible_but_wrong_index_entry) {
    rx_open();
    rx_append(40);
    rx_close();
    /* an entry that passes the open-time checks but points at the wrong batch */
    int64_t n = rx_size("00000000000000000000.index");
    ck_assert_int_ge(n, 16);
    uint8_t e[8];
    char path[512];
    rx_path(path, sizeof(path), "00000000000000000000.index");
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fread(e, 1, 8, f), 8);
    fclose(f);
    sl_store_be32(e + 4, sl_load_be32(e + 4) + 1); /* position off by one byte */
    rx_write_file("00000000000000000000.index", 0, e, 8);
    rx_open();
    rx_finish();
}
END_TEST

START_TEST(test_recover_truncated_index) {
    rx_open();
    rx_append(40);
    rx_close();
    rx_truncate_file("00000000000000000000.index", 5);      /* not a whole entry */
    rx_truncate_file("00000000000000000000.timeindex", 12); /* whole, just fewer */
    rx_open();
    rx_finish();
}
END_TEST

/* ================= segments ================= */

START_TEST(test_recover_garbage_last_segment) {
    rx_open();
    rx_append(30);
    rx_close();
    char name[64];
    int64_t pos;
    rx_locate(rx_count - 1, ".log", name, sizeof(name), &pos);
    int64_t size = rx_size(name);
    uint8_t *junk = sl_malloc((size_t)size);
    sl_rand rng;
    sl_rand_seed(&rng, 7);
    for (int64_t i = 0; i < size; i++) {
        junk[i] = (uint8_t)sl_rand_u64(&rng);
    }
    rx_write_file(name, 0, junk, (size_t)size);
    sl_free(junk);
    rx_remove(".clean_shutdown");
    rx_open();
    int first = rx_count - 1;
    while (first > 0 && rx_batches[first - 1].base >= strtoll(name, NULL, 10)) {
        first--;
    }
    rx_forget_from(first);
    ck_assert_int_eq(storage_log_end_offset(rx_log), strtoll(name, NULL, 10));
    rx_finish();
}
END_TEST

START_TEST(test_recover_damaged_sealed_segment) {
    rx_open();
    rx_append(30);
    rx_close();
    char name[64];
    int64_t pos;
    rx_locate(4, ".log", name, sizeof(name), &pos);
    ck_assert_str_eq(name, "00000000000000000000.log");
    uint8_t junk[64];
    memset(junk, 0x77, sizeof(junk));
    rx_write_file(name, pos, junk, sizeof(junk)); /* batch 4's header */
    /* its index is fine: the open works, a read of the damaged part reports it */
    rx_open();
    storage_read_result r;
    int bad = 0;
    for (int i = 0; i < rx_count && rx_batches[i].base < 20; i++) {
        if (storage_log_read(rx_log, rx_batches[i].base, 1, INT64_MAX, true, &r) == SL_E_CORRUPT) {
            bad++;
        }
    }
    ck_assert_int_gt(bad, 0);
    rx_close();
    rx_problems = 0;
    ck_assert_int_eq(storage_verify_dir(rx_dir, rx_report, &rx_problems), SL_E_CORRUPT);
    ck_assert_int_gt(rx_problems, 0);
    /* without its index the open must rebuild it, cannot, and refuses */
    rx_remove("00000000000000000000.index");
    ck_assert_int_eq(rx_open_rc(), SL_E_CORRUPT);
    ck_assert_ptr_null(rx_log);
}
END_TEST

START_TEST(test_recover_stray_files) {
    rx_open();
    rx_append(30);
    rx_write_file("partition.metadata", 0, "version: 0\n", 11);
    rx_close();
    static const char *const removed[] = {
        "00000000000000009999.index",       "00000000000000009999.timeindex",
        "00000000000000000000.index.swap",  "leader-epoch-checkpoint.tmp",
        "00000000000000000000.log.deleted", "00000000000000000050.log.cleaned",
    };
    static const char *const kept[] = { "foo.log", "123.index", "0000000000000000000x.log",
                                        "99999999999999999999.log", "partition.metadata" };
    for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
        rx_write_file(removed[i], 0, "junk", 4);
    }
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        rx_write_file(kept[i], 0, "j", 1);
    }
    char sub[512];
    rx_path(sub, sizeof(sub), "subdir");
    ck_assert_int_eq(mkdir(sub, 0755), 0);
    /* an empty .log that is not the last segment */
    rx_write_file("00000000000000000001.log", 0, "", 0);
    rx_open();
    for (size_t i = 0; i < sizeof(removed) / sizeof(removed[0]); i++) {
        ck_assert_msg(!rx_exists(removed[i]), "%s still there", removed[i]);
    }
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        ck_assert_msg(rx_exists(kept[i]), "%s removed", kept[i]);
    }
    ck_assert(!rx_exists("00000000000000000001.log"));
    rx_check_contents();
    for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
        rx_remove(kept[i]);
    }
    rmdir(sub);
    rx_finish();
}
END_TEST

START_TEST(test_recover_completes_swap) {
    rx_open();
    rx_append(30);
    rx_close();
    /* a cleaned segment (here: a copy of the first two) waiting to replace them */
    int64_t a = rx_size("00000000000000000000.log");
    int32_t second = 0;
    while (second < rx_count && rx_batches[second].at < (size_t)a) {
        second++;
    }
    char name2[64];
    snprintf(name2, sizeof(name2), "%020lld.log", (long long)rx_batches[second].base);
    int64_t b = rx_size(name2);
    ck_assert_int_gt(b, 0);
    rx_write_file("00000000000000000000.log.swap", 0, rx_data.data, (size_t)(a + b));
    rx_open();
    ck_assert(!rx_exists("00000000000000000000.log.swap"));
    ck_assert(!rx_exists(name2));
    ck_assert_int_eq(rx_size("00000000000000000000.log"), a + b);
    rx_finish();
}
END_TEST

/* ================= checkpoints ================= */

START_TEST(test_recover_epoch_checkpoint_rebuilt) {
    rx_open();
    rx_append(50); /* epochs 1, 2, 3 from batches 0, 20, 40 */
    rx_close();
    for (int damage = 0; damage < 2; damage++) {
        if (damage == 0) rx_write_file("leader-epoch-checkpoint", 0, "0\n9\nxx", 6);
        if (damage == 1) rx_remove("leader-epoch-checkpoint");
        rx_open();
        int32_t epochs[8];
        int64_t offsets[8];
        ck_assert_int_eq(storage_log_epoch_entries(rx_log, epochs, offsets, 8), 3);
        ck_assert_int_eq(epochs[0], 1);
        ck_assert_int_eq(offsets[0], 0);
        ck_assert_int_eq(epochs[1], 2);
        ck_assert_int_eq(offsets[1], rx_batches[20].base);
        ck_assert_int_eq(epochs[2], 3);
        ck_assert_int_eq(offsets[2], rx_batches[40].base);
        rx_close();
    }
    rx_open();
    rx_finish();
}
END_TEST

START_TEST(test_recover_epoch_cache_cut_to_data) {
    rx_open();
    rx_append(25);
    /* an epoch recorded past the data (assigned just before a crash) */
    ck_assert_int_eq(storage_log_epoch_assign(rx_log, 9, storage_log_end_offset(rx_log) + 5),
                     SL_OK);
    rx_close();
    rx_open();
    ck_assert_int_eq(storage_log_latest_epoch(rx_log), 2);
    rx_finish();
}
END_TEST

START_TEST(test_recover_start_offset_file) {
    rx_open();
    rx_append(30);
    ck_assert_int_eq(storage_log_advance_start_offset(rx_log, 5), SL_OK);
    rx_close();
    rx_open();
    ck_assert_int_eq(storage_log_start_offset(rx_log), 5);
    rx_close();
    rx_write_file("log-start-offset", 0, "zz", 2);
    rx_open(); /* reported and ignored: the first segment's base */
    ck_assert_int_eq(storage_log_start_offset(rx_log), 0);
    rx_close();
    rx_remove("log-start-offset");
    rx_open();
    rx_finish();
}
END_TEST

/* ================= random damage ================= */

/* One random injury to one of the log's files. */
static void rx_damage_random(sl_rand *rng) {
    static const char *const files[] = { "00000000000000000000.log", "00000000000000000000.index",
                                         "00000000000000000000.timeindex",
                                         "leader-epoch-checkpoint", "log-start-offset" };
    char name[64];
    int64_t pos;
    if (sl_rand_chance(rng, 1, 2)) {
        snprintf(name, sizeof(name), "%s", files[sl_rand_below(rng, 5)]);
    } else {
        rx_locate(rx_count - 1, sl_rand_chance(rng, 1, 2) ? ".log" : ".index", name, sizeof(name),
                  &pos);
    }
    int64_t size = rx_size(name);
    int64_t at = size > 0 ? (int64_t)sl_rand_below(rng, (uint64_t)size) : 0;
    uint8_t junk[32];
    for (size_t k = 0; k < sizeof(junk); k++) {
        junk[k] = (uint8_t)sl_rand_u64(rng);
    }
    switch (sl_rand_below(rng, 4)) {
    case 0:
        rx_write_file(name, at, junk, 1 + sl_rand_below(rng, sizeof(junk)));
        break;
    case 1:
        if (size >= 0) rx_truncate_file(name, at);
        break;
    case 2:
        if (size >= 0) rx_truncate_file(name, size + (int64_t)sl_rand_below(rng, 5000));
        break;
    default:
        rx_remove(name);
        break;
    }
}

/* Every offset reads without crashing; the log takes an append. */
static int rx_exercise(storage_log *log) {
    sl_buf out;
    sl_buf_init(&out);
    for (int64_t off = storage_log_start_offset(log); off < storage_log_end_offset(log); off++) {
        sl_buf_reset(&out);
        (void)storage_log_read_copy(log, off, 1, INT64_MAX, true, &out);
    }
    int64_t ts_off, ts;
    (void)storage_log_offset_for_time(log, NOW + 3, &ts_off, &ts);
    sl_buf_reset(&out);
    test_batch_build(&out, 0, 2, 10, NOW, 1);
    int rc = storage_log_append(log, out.data, out.len, 9, NOW, NULL);
    sl_buf_deinit(&out);
    return rc;
}

/* Damage a fresh log at random (flips, cuts, zeros, garbage, deletions in any of its
 * files), then open it: the open either refuses with an error or gives a log whose every
 * offset reads without crashing and that takes appends. The seed is in every message. */
START_TEST(test_recover_random_damage_never_crashes) {
    uint64_t seed = 20261124 + (uint64_t)_i;
    sl_rand rng;
    sl_rand_seed(&rng, seed);
    for (int round = 0; round < 40; round++) {
        snprintf(rx_dir, sizeof(rx_dir), "%s/r%d-%d", rx_root, _i, round);
        rx_count = 0;
        sl_buf_reset(&rx_data);
        int n = 5 + (int)sl_rand_below(&rng, 30);
        if (sl_rand_chance(&rng, 1, 2)) {
            rx_open();
            rx_append(n);
            rx_close();
        } else {
            rx_crash_after(n);
        }
        for (int d = 0; d < 3; d++) {
            rx_damage_random(&rng);
        }
        storage_log *log = NULL;
        int rc = storage_log_open(rx_dir, &rx_cfg, NOW, &log);
        if (rc != SL_OK) {
            ck_assert_msg(rc < 0, "seed=%llu round=%d rc=%d", (unsigned long long)seed, round, rc);
            continue;
        }
        rc = rx_exercise(log);
        ck_assert_msg(rc == SL_OK, "seed=%llu round=%d append rc=%d", (unsigned long long)seed,
                      round, rc);
        storage_log_close(log);
    }
}
END_TEST

Suite *storage_recover_suite(void) {
    Suite *s = suite_create("storage_recover");
    struct {
        const char *name;
        const TTest *tests[8];
    } cases[] = {
        { "crash",
          { test_recover_after_crash_keeps_everything, test_recover_torn_tail,
            test_recover_crc_bad_tail, test_recover_zero_filled_tail,
            test_recover_clean_shutdown_skips_full_scan,
            test_recover_unflushed_sealed_segment_is_cut } },
        { "index",
          { test_recover_missing_index, test_recover_garbage_index,
            test_recover_plausible_but_wrong_index_entry, test_recover_truncated_index } },
        { "segment",
          { test_recover_garbage_last_segment, test_recover_damaged_sealed_segment,
            test_recover_stray_files, test_recover_completes_swap } },
        { "checkpoint",
          { test_recover_epoch_checkpoint_rebuilt, test_recover_epoch_cache_cut_to_data,
            test_recover_start_offset_file } },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tc, rx_setup, rx_teardown);
        tcase_set_timeout(tc, 60);
        for (size_t k = 0; k < 8 && cases[i].tests[k]; k++) {
            tcase_add_test(tc, cases[i].tests[k]);
        }
        suite_add_tcase(s, tc);
    }
    TCase *tc = tcase_create("random");
    tcase_add_checked_fixture(tc, rx_setup, rx_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_recover_random_damage_never_crashes, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}
