/* Unit tests for storage/: append, read, roll, indexes, time lookups, retention, the log
 * start offset, truncation, the leader epoch cache, flush policy, aux files and the
 * life cycle. Recovery has its own suite (test_storage_recover.c). Each test gets a fresh
 * mkdtemp directory. */
#include "common/sl_alloc.h"
#include "common/sl_err.h"
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

Suite *storage_suite(void);

#define NOW  1700000000000LL
#define HOUR (3600LL * 1000)

typedef struct fx_batch {
    int64_t base, last, max_ts;
    size_t at, size; /* where its stamped bytes are in fx_data */
} fx_batch;

static char fx_root[256];
static char fx_dir[300];
static storage_log *fx_log;
static storage_log_config fx_cfg;
static fx_batch fx_batches[2048];
static int fx_count;
static sl_buf fx_data;
static int32_t fx_epoch;

static void fx_setup(void) {
    snprintf(fx_root, sizeof(fx_root), "/tmp/sluice-storage-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(fx_root));
    snprintf(fx_dir, sizeof(fx_dir), "%s/topic-0", fx_root);
    storage_log_config_defaults(&fx_cfg);
    fx_cfg.segment_bytes = 4096;
    fx_cfg.index_interval_bytes = 256;
    fx_cfg.segment_index_bytes = 4096;
    fx_cfg.retention_ms = -1;
    fx_cfg.file_delete_delay_ms = 0;
    fx_log = NULL;
    fx_count = 0;
    fx_epoch = 0;
    sl_buf_init(&fx_data);
}

static void fx_teardown(void) {
    storage_log_close(fx_log);
    fx_log = NULL;
    sl_buf_deinit(&fx_data);
    test_rmtree(fx_root);
}

static void fx_open(void) {
    ck_assert_int_eq(storage_log_open(fx_dir, &fx_cfg, NOW, &fx_log), SL_OK);
}

static void fx_reopen(void) {
    storage_log_close(fx_log);
    fx_log = NULL;
    fx_open();
}

/* Append one batch as leader at time now; remember its stamped bytes. */
static storage_append_info
fx_append_at(int32_t count, int32_t value_bytes, int64_t ts, int64_t now) {
    sl_buf b;
    sl_buf_init(&b);
    test_batch_build(&b, 0, count, value_bytes, ts, (uint8_t)fx_count);
    storage_append_info info;
    ck_assert_int_eq(storage_log_append(fx_log, b.data, b.len, fx_epoch, now, &info), SL_OK);
    ck_assert_int_lt(fx_count, (int)(sizeof(fx_batches) / sizeof(fx_batches[0])));
    fx_batches[fx_count++] =
        (fx_batch){ info.base_offset, info.last_offset, ts + count - 1, fx_data.len, b.len };
    sl_buf_put(&fx_data, b.data, b.len);
    sl_buf_deinit(&b);
    return info;
}

static storage_append_info fx_append(int32_t count, int32_t value_bytes) {
    return fx_append_at(count, value_bytes, NOW, NOW);
}

/* Index of the remembered batch holding offset. */
static int fx_batch_of(int64_t offset) {
    for (int i = 0; i < fx_count; i++) {
        if (fx_batches[i].base <= offset && offset <= fx_batches[i].last) return i;
    }
    return -1;
}

/* Read at offset and check the result is exactly batches [first, first + n). */
static void fx_expect_read(
    int64_t offset, int32_t max_bytes, int64_t max_offset, bool min_one, int first, int n) {
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(storage_log_read_copy(fx_log, offset, max_bytes, max_offset, min_one, &out),
                     SL_OK);
    size_t want = 0;
    for (int i = first; i < first + n; i++) {
        want += fx_batches[i].size;
    }
    ck_assert_uint_eq(out.len, want);
    if (n > 0) ck_assert_mem_eq(out.data, fx_data.data + fx_batches[first].at, want);
    sl_buf_deinit(&out);
}

static bool fx_file_exists(const char *name) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", fx_dir, name);
    return stat(path, &st) == 0;
}

static int64_t fx_file_size(const char *name) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/%s", fx_dir, name);
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int fx_problems;
static void fx_report(const char *line, void *arg) {
    (void)arg;
    fprintf(stderr, "verify: %s\n", line);
    fx_problems++;
}

/* Close the log and check the directory with the offline verifier. */
static void fx_close_and_verify(void) {
    storage_log_close(fx_log);
    fx_log = NULL;
    fx_problems = 0;
    ck_assert_int_eq(storage_verify_dir(fx_dir, fx_report, NULL), SL_OK);
    ck_assert_int_eq(fx_problems, 0);
}

/* ================= lifecycle ================= */

START_TEST(test_open_creates_empty_log) {
    fx_open();
    ck_assert_int_eq(storage_log_start_offset(fx_log), 0);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 0);
    ck_assert_int_eq(storage_log_size_bytes(fx_log), 0);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 1);
    ck_assert_int_eq(storage_log_latest_epoch(fx_log), -1);
    ck_assert(fx_file_exists("00000000000000000000.log"));
    ck_assert_int_eq(fx_file_size("00000000000000000000.index"), 4096);
    ck_assert_int_eq(fx_file_size("00000000000000000000.timeindex"), 4092); /* 341 entries */
    fx_close_and_verify();
    ck_assert(fx_file_exists(".clean_shutdown"));
    ck_assert_int_eq(fx_file_size("00000000000000000000.index"), 0); /* trimmed on close */
}
END_TEST

START_TEST(test_open_twice_is_refused) {
    fx_open();
    storage_log *second = NULL;
    ck_assert_int_eq(storage_log_open(fx_dir, &fx_cfg, NOW, &second), SL_E_STATE);
    ck_assert_ptr_null(second);
}
END_TEST

START_TEST(test_config_check_rejects_out_of_range) {
    storage_log_config cfg;
    storage_log_config_defaults(&cfg);
    ck_assert_int_eq(storage_log_config_check(&cfg), SL_OK);
    cfg.segment_bytes = (int64_t)INT32_MAX + 1;
    ck_assert_int_eq(storage_log_config_check(&cfg), SL_E_CONFIG);
    storage_log_config_defaults(&cfg);
    cfg.segment_index_bytes = 8;
    ck_assert_int_eq(storage_log_config_check(&cfg), SL_E_CONFIG);
    storage_log_config_defaults(&cfg);
    cfg.retention_ms = -2;
    ck_assert_int_eq(storage_log_config_check(&cfg), SL_E_CONFIG);
    ck_assert_int_eq(storage_log_open(fx_dir, &cfg, NOW, &fx_log), SL_E_CONFIG);
    ck_assert_ptr_null(fx_log);
}
END_TEST

START_TEST(test_delete_removes_directory) {
    fx_open();
    fx_append(3, 100);
    ck_assert_int_eq(storage_log_write_aux(fx_log, "partition.metadata", (const uint8_t *)"x", 1),
                     SL_OK);
    ck_assert_int_eq(storage_log_delete(fx_log), SL_OK);
    fx_log = NULL;
    struct stat st;
    ck_assert_int_ne(stat(fx_dir, &st), 0);
}
END_TEST

/* ================= append ================= */

START_TEST(test_append_assigns_contiguous_offsets) {
    fx_open();
    storage_append_info a = fx_append(3, 10);
    ck_assert_int_eq(a.base_offset, 0);
    ck_assert_int_eq(a.last_offset, 2);
    ck_assert_int_eq(a.batch_count, 1);
    ck_assert_int_eq(a.record_count, 3);
    ck_assert_int_eq(a.bytes, (int64_t)fx_batches[0].size);
    storage_append_info b = fx_append(1, 10);
    ck_assert_int_eq(b.base_offset, 3);
    ck_assert_int_eq(b.last_offset, 3);
    storage_append_info c = fx_append(5, 10);
    ck_assert_int_eq(c.base_offset, 4);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 9);
    ck_assert_int_eq(storage_log_size_bytes(fx_log), (int64_t)fx_data.len);
    /* the leader stamped base offsets and its epoch into the stored bytes */
    protocol_batch_header h;
    ck_assert_int_eq(protocol_batch_check(fx_data.data + fx_batches[2].at, fx_batches[2].size, &h),
                     SL_OK);
    ck_assert_int_eq(h.base_offset, 4);
    ck_assert_int_eq(h.partition_leader_epoch, 0);
    ck_assert_int_eq(storage_log_latest_epoch(fx_log), 0);
    fx_close_and_verify();
}
END_TEST

START_TEST(test_append_many_batches_in_one_call) {
    fx_open();
    sl_buf b;
    sl_buf_init(&b);
    test_batch_build(&b, 77, 2, 20, NOW + 50, 1);
    test_batch_build(&b, 77, 4, 20, NOW + 500, 2); /* max timestamp NOW + 503 */
    test_batch_build(&b, 77, 1, 20, NOW + 10, 3);
    storage_append_info info;
    ck_assert_int_eq(storage_log_append(fx_log, b.data, b.len, 3, NOW, &info), SL_OK);
    ck_assert_int_eq(info.base_offset, 0);
    ck_assert_int_eq(info.last_offset, 6);
    ck_assert_int_eq(info.batch_count, 3);
    ck_assert_int_eq(info.record_count, 7);
    ck_assert_int_eq(info.max_timestamp, NOW + 503);
    ck_assert_int_eq(info.offset_of_max_timestamp, 5);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 7);
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(storage_log_read_copy(fx_log, 0, 1 << 20, INT64_MAX, true, &out), SL_OK);
    ck_assert_uint_eq(out.len, b.len);
    ck_assert_mem_eq(out.data, b.data, b.len); /* b was stamped in place */
    sl_buf_deinit(&out);
    sl_buf_deinit(&b);
}
END_TEST

START_TEST(test_append_rejects_bad_input_and_writes_nothing) {
    fx_open();
    fx_append(2, 10);
    int64_t size = storage_log_size_bytes(fx_log);
    sl_buf b;
    sl_buf_init(&b);
    test_batch_build(&b, 0, 3, 10, NOW, 9);
    ck_assert_int_eq(storage_log_append(fx_log, b.data, 0, 0, NOW, NULL), SL_E_INVALID);
    ck_assert_int_eq(storage_log_append(fx_log, b.data, b.len - 1, 0, NOW, NULL), SL_E_CORRUPT);
    ck_assert_int_eq(storage_log_append(fx_log, b.data, b.len, -1, NOW, NULL), SL_E_INVALID);
    sl_buf_put_u8(&b, 0); /* trailing byte after a whole batch */
    ck_assert_int_eq(storage_log_append(fx_log, b.data, b.len, 0, NOW, NULL), SL_E_CORRUPT);
    sl_buf_truncate(&b, b.len - 1);
    b.data[PROTOCOL_BATCH_OFF_MAGIC] = 1;
    ck_assert_int_eq(storage_log_append(fx_log, b.data, b.len, 0, NOW, NULL), SL_E_CORRUPT);
    b.data[PROTOCOL_BATCH_OFF_MAGIC] = 2;
    sl_buf big;
    sl_buf_init(&big);
    test_batch_build(&big, 0, 1, 5000, NOW, 0); /* larger than segment_bytes */
    ck_assert_int_eq(storage_log_append(fx_log, big.data, big.len, 0, NOW, NULL), SL_E_TOO_LARGE);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 2);
    ck_assert_int_eq(storage_log_size_bytes(fx_log), size);
    ck_assert_int_eq(storage_log_append(fx_log, b.data, b.len, 0, NOW, NULL), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 5);
    sl_buf_deinit(&big);
    sl_buf_deinit(&b);
}
END_TEST

START_TEST(test_append_leader_epoch_cannot_go_back) {
    fx_open();
    fx_epoch = 5;
    fx_append(1, 10);
    sl_buf b;
    sl_buf_init(&b);
    test_batch_build(&b, 0, 1, 10, NOW, 0);
    ck_assert_int_eq(storage_log_append(fx_log, b.data, b.len, 4, NOW, NULL), SL_E_FENCED);
    ck_assert_int_eq(storage_log_append(fx_log, b.data, b.len, 7, NOW, NULL), SL_OK);
    int32_t epochs[4];
    int64_t offsets[4];
    ck_assert_int_eq(storage_log_epoch_entries(fx_log, epochs, offsets, 4), 2);
    ck_assert_int_eq(epochs[0], 5);
    ck_assert_int_eq(offsets[0], 0);
    ck_assert_int_eq(epochs[1], 7);
    ck_assert_int_eq(offsets[1], 1);
    sl_buf_deinit(&b);
}
END_TEST

START_TEST(test_append_replica_checks_offsets_and_epochs) {
    fx_open();
    sl_buf b;
    sl_buf_init(&b);
    test_batch_build_epoch(&b, 0, 2, 3, 10, NOW, 1);
    test_batch_build_epoch(&b, 3, 4, 2, 10, NOW, 2);
    storage_append_info info;
    ck_assert_int_eq(storage_log_append_replica(fx_log, b.data, b.len, NOW, &info), SL_OK);
    ck_assert_int_eq(info.base_offset, 0);
    ck_assert_int_eq(info.last_offset, 4);
    ck_assert_int_eq(storage_log_latest_epoch(fx_log), 4);
    int32_t e_out;
    int64_t end_out;
    storage_log_epoch_end_offset(fx_log, 2, &e_out, &end_out);
    ck_assert_int_eq(e_out, 2);
    ck_assert_int_eq(end_out, 3);
    sl_buf_reset(&b);
    test_batch_build_epoch(&b, 6, 4, 1, 10, NOW, 3); /* LEO is 5 */
    ck_assert_int_eq(storage_log_append_replica(fx_log, b.data, b.len, NOW, NULL), SL_E_RANGE);
    sl_buf_reset(&b);
    test_batch_build_epoch(&b, 5, 3, 1, 10, NOW, 3); /* epoch went back */
    ck_assert_int_eq(storage_log_append_replica(fx_log, b.data, b.len, NOW, NULL), SL_E_FENCED);
    sl_buf_reset(&b);
    test_batch_build_epoch(&b, 5, 4, 1, 10, NOW, 3);
    test_batch_build_epoch(&b, 7, 4, 1, 10, NOW, 3); /* gap inside one append */
    ck_assert_int_eq(storage_log_append_replica(fx_log, b.data, b.len, NOW, NULL), SL_E_RANGE);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 5);
    sl_buf_deinit(&b);
    fx_close_and_verify();
}
END_TEST

/* ================= read ================= */

START_TEST(test_read_at_every_offset) {
    fx_cfg.segment_bytes = 3000;
    fx_cfg.index_interval_bytes = 200;
    fx_open();
    srand(7);
    for (int i = 0; i < 120; i++) {
        fx_append(1 + rand() % 5, rand() % 120);
    }
    ck_assert_int_gt(storage_log_segment_count(fx_log), 3);
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t off = 0; off < storage_log_end_offset(fx_log); off++) {
            int i = fx_batch_of(off);
            ck_assert_int_ge(i, 0);
            fx_expect_read(off, 1, INT64_MAX, true, i, 1);
            storage_read_result r;
            ck_assert_int_eq(storage_log_read(fx_log, off, 1, INT64_MAX, true, &r), SL_OK);
            ck_assert_int_eq(r.first_offset, fx_batches[i].base);
        }
        fx_reopen(); /* again from indexes loaded from disk */
    }
    fx_close_and_verify();
}
END_TEST

START_TEST(test_read_max_bytes_and_min_one_batch) {
    fx_open();
    for (int i = 0; i < 6; i++) {
        fx_append(2, 50);
    }
    int32_t one = (int32_t)fx_batches[0].size;
    fx_expect_read(0, one - 1, INT64_MAX, true, 0, 1);  /* KIP-74: the first batch whole */
    fx_expect_read(0, one - 1, INT64_MAX, false, 0, 0); /* or nothing */
    fx_expect_read(0, 2 * one, INT64_MAX, false, 0, 2);
    fx_expect_read(0, 2 * one + one / 2, INT64_MAX, false, 0, 2); /* whole batches only */
    fx_expect_read(3, 1 << 20, INT64_MAX, false, 1, 5);
    fx_expect_read(0, 0, INT64_MAX, false, 0, 0);
}
END_TEST

START_TEST(test_read_stops_before_max_offset) {
    fx_open();
    for (int i = 0; i < 5; i++) {
        fx_append(3, 20); /* batches [0,2] [3,5] [6,8] … */
    }
    fx_expect_read(0, 1 << 20, 7, false, 0, 2); /* batch [6,8] holds 7: not returned */
    fx_expect_read(0, 1 << 20, 6, false, 0, 2);
    fx_expect_read(0, 1 << 20, 9, false, 0, 3);
    fx_expect_read(4, 1 << 20, 4, true, 0, 0); /* offset at max_offset: nothing */
    fx_expect_read(4, 1 << 20, 5, true, 0, 0); /* its batch ends at 5 */
    storage_read_result r;
    ck_assert_int_eq(storage_log_read(fx_log, 4, 1 << 20, 4, true, &r), SL_OK);
    ck_assert_int_eq(r.length, 0);
    ck_assert_int_eq(r.first_offset, 4);
}
END_TEST

START_TEST(test_read_range_errors) {
    fx_open();
    fx_append(3, 20);
    storage_read_result r;
    ck_assert_int_eq(storage_log_read(fx_log, 4, 100, INT64_MAX, true, &r), SL_E_RANGE);
    ck_assert_int_eq(storage_log_read(fx_log, -1, 100, INT64_MAX, true, &r), SL_E_RANGE);
    ck_assert_int_eq(storage_log_read(fx_log, 0, -1, INT64_MAX, true, &r), SL_E_INVALID);
    ck_assert_int_eq(storage_log_read(fx_log, 3, 100, INT64_MAX, true, &r), SL_OK);
    ck_assert_int_eq(r.length, 0);
    ck_assert_int_eq(r.first_offset, 3);
}
END_TEST

START_TEST(test_read_returns_one_segment_at_a_time) {
    fx_cfg.segment_bytes = 1000;
    fx_open();
    for (int i = 0; i < 12; i++) {
        fx_append(2, 150); /* ~ 4 batches per segment */
    }
    ck_assert_int_gt(storage_log_segment_count(fx_log), 2);
    storage_read_result r;
    ck_assert_int_eq(storage_log_read(fx_log, 0, 1 << 20, INT64_MAX, false, &r), SL_OK);
    ck_assert_int_le(r.length, 1000);
    int64_t next = 0;
    int guard = 0;
    /* reading on from the end of each result walks the whole log in order */
    while (next < storage_log_end_offset(fx_log) && guard++ < 100) {
        ck_assert_int_eq(storage_log_read(fx_log, next, 1 << 20, INT64_MAX, false, &r), SL_OK);
        ck_assert_int_gt(r.length, 0);
        ck_assert_int_eq(r.first_offset, next);
        int i = fx_batch_of(next);
        int64_t bytes = 0;
        while (bytes < r.length) {
            bytes += (int64_t)fx_batches[i++].size;
        }
        ck_assert_int_eq(bytes, r.length);
        next = fx_batches[i - 1].last + 1;
    }
    ck_assert_int_eq(next, storage_log_end_offset(fx_log));
}
END_TEST

/* ================= roll ================= */

START_TEST(test_roll_by_segment_bytes) {
    fx_cfg.segment_bytes = 1000;
    fx_open();
    for (int i = 0; i < 20; i++) {
        fx_append(1, 200); /* ~ 280 bytes each: 3 per segment */
    }
    ck_assert_int_eq(storage_log_segment_count(fx_log), 7);
    char name[64];
    int64_t base = 0;
    for (int s = 0; s < 7; s++) {
        snprintf(name, sizeof(name), "%020lld.log", (long long)base);
        int64_t size = fx_file_size(name);
        ck_assert_int_le(size, 1000);
        ck_assert_int_gt(size, 0);
        snprintf(name, sizeof(name), "%020lld.index", (long long)base);
        /* sealed indexes are trimmed, the active one is preallocated */
        if (s < 6) ck_assert_int_lt(fx_file_size(name), 4096);
        if (s == 6) ck_assert_int_eq(fx_file_size(name), 4096);
        base += 3;
    }
    fx_close_and_verify();
}
END_TEST

START_TEST(test_roll_by_segment_ms) {
    fx_cfg.segment_ms = 1000;
    fx_open();
    fx_append_at(1, 10, NOW, NOW);
    ck_assert_int_eq(storage_log_maybe_roll(fx_log, NOW + 1000), SL_OK);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 1);
    ck_assert_int_eq(storage_log_maybe_roll(fx_log, NOW + 1001), SL_OK);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 2);
    ck_assert(fx_file_exists("00000000000000000001.log"));
    /* an empty segment never rolls */
    ck_assert_int_eq(storage_log_maybe_roll(fx_log, NOW + 100000), SL_OK);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 2);
    /* the append path rolls too, timed from the first batch's timestamp */
    fx_append_at(1, 10, NOW + 5000, NOW + 5000);
    fx_append_at(1, 10, NOW + 5500, NOW + 5500);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 2);
    fx_append_at(1, 10, NOW + 6001, NOW + 6001);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 3);
    fx_close_and_verify();
}
END_TEST

START_TEST(test_roll_when_index_full) {
    fx_cfg.segment_index_bytes = 24; /* 3 offset entries, 2 time entries (one kept for sealing) */
    fx_cfg.index_interval_bytes = 0; /* every batch but the first is indexed */
    fx_open();
    for (int i = 0; i < 4; i++) {
        fx_append_at(1, 10, NOW + i, NOW);
    }
    /* batch 0 unindexed, batch 1 fills the time index: batch 2 goes to a new segment */
    ck_assert_int_eq(storage_log_segment_count(fx_log), 2);
    ck_assert_int_eq(fx_file_size("00000000000000000000.index"), 8);
    /* one time entry (batch 1); sealing adds none: batch 1 has the largest timestamp */
    ck_assert_int_eq(fx_file_size("00000000000000000000.timeindex"), 12);
    for (int64_t off = 0; off < 4; off++) {
        fx_expect_read(off, 1, INT64_MAX, true, (int)off, 1);
    }
    fx_close_and_verify();
}
END_TEST

/* ================= index ================= */

START_TEST(test_index_entries_follow_interval_rule) {
    fx_cfg.index_interval_bytes = 300;
    fx_open();
    for (int i = 0; i < 10; i++) {
        fx_append(1, 100); /* 172 bytes each */
    }
    storage_log_close(fx_log);
    fx_log = NULL;
    /* an entry precedes a batch once > 300 bytes were appended since the last one */
    uint8_t idx[64];
    char path[512];
    snprintf(path, sizeof(path), "%s/00000000000000000000.index", fx_dir);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(idx, 1, sizeof(idx), f);
    fclose(f);
    int64_t since = 0, pos = 0;
    size_t e = 0;
    for (int i = 0; i < fx_count; i++) {
        if (since > 300) {
            ck_assert_uint_lt(e * 8, n);
            ck_assert_int_eq((int32_t)sl_load_be32(idx + e * 8), (int32_t)fx_batches[i].last);
            ck_assert_int_eq((int32_t)sl_load_be32(idx + e * 8 + 4), (int32_t)pos);
            e++;
            since = 0;
        }
        since += (int64_t)fx_batches[i].size;
        pos += (int64_t)fx_batches[i].size;
    }
    ck_assert_uint_eq(n, e * 8);
    ck_assert_uint_gt(e, 2);
}
END_TEST

START_TEST(test_index_lookup_at_boundaries) {
    fx_cfg.index_interval_bytes = 0;
    fx_cfg.segment_bytes = 2000;
    fx_open();
    for (int i = 0; i < 30; i++) {
        fx_append(4, 30);
    }
    fx_reopen();
    for (int i = 0; i < fx_count; i++) {
        /* first, last and the offsets next to each indexed last offset */
        fx_expect_read(fx_batches[i].base, 1, INT64_MAX, true, i, 1);
        fx_expect_read(fx_batches[i].last, 1, INT64_MAX, true, i, 1);
        fx_expect_read(fx_batches[i].last - 1, 1, INT64_MAX, true, i, 1);
    }
}
END_TEST

/* ================= time ================= */

START_TEST(test_offset_for_time) {
    fx_cfg.segment_bytes = 800;
    fx_cfg.index_interval_bytes = 100;
    fx_open();
    /* batch i: 2 records at NOW + 100*i, NOW + 100*i + 1; batch 5 goes back in time */
    for (int i = 0; i < 12; i++) {
        int64_t ts = i == 5 ? NOW : NOW + 100 * i;
        fx_append_at(2, 60, ts, NOW);
    }
    ck_assert_int_gt(storage_log_segment_count(fx_log), 2);
    for (int pass = 0; pass < 2; pass++) {
        int64_t off, ts;
        ck_assert_int_eq(storage_log_offset_for_time(fx_log, 0, &off, &ts), SL_OK);
        ck_assert_int_eq(off, 0);
        ck_assert_int_eq(ts, NOW + 1);
        ck_assert_int_eq(storage_log_offset_for_time(fx_log, NOW + 300, &off, &ts), SL_OK);
        ck_assert_int_eq(off, 6);
        ck_assert_int_eq(ts, NOW + 301);
        ck_assert_int_eq(storage_log_offset_for_time(fx_log, NOW + 302, &off, &ts), SL_OK);
        ck_assert_int_eq(off, 8); /* batch 4 (NOW+401) */
        ck_assert_int_eq(storage_log_offset_for_time(fx_log, NOW + 1101, &off, &ts), SL_OK);
        ck_assert_int_eq(off, 22);
        ck_assert_int_eq(storage_log_offset_for_time(fx_log, NOW + 1102, &off, &ts),
                         SL_E_NOT_FOUND);
        ck_assert_int_eq(storage_log_max_timestamp(fx_log, &off, &ts), SL_OK);
        ck_assert_int_eq(ts, NOW + 1101);
        ck_assert_int_eq(off, 23);
        fx_reopen();
    }
}
END_TEST

START_TEST(test_max_timestamp_in_older_segment) {
    fx_cfg.segment_bytes = 600;
    fx_open();
    int64_t off, ts;
    ck_assert_int_eq(storage_log_max_timestamp(fx_log, &off, &ts), SL_E_NOT_FOUND);
    fx_append_at(1, 100, NOW, NOW);
    fx_append_at(3, 100, NOW + 9000, NOW); /* offsets 1..3, max at 3 */
    fx_append_at(1, 100, NOW + 10, NOW);
    for (int i = 0; i < 5; i++) {
        fx_append_at(1, 100, NOW + 20 + i, NOW);
    }
    ck_assert_int_gt(storage_log_segment_count(fx_log), 2);
    ck_assert_int_eq(storage_log_max_timestamp(fx_log, &off, &ts), SL_OK);
    ck_assert_int_eq(ts, NOW + 9002);
    ck_assert_int_eq(off, 3);
    fx_reopen();
    ck_assert_int_eq(storage_log_max_timestamp(fx_log, &off, &ts), SL_OK);
    ck_assert_int_eq(ts, NOW + 9002);
    ck_assert_int_eq(off, 3);
}
END_TEST

/* ================= retention ================= */

/* 6 segments of 3 batches, batch timestamps one hour apart per segment. */
static void fx_fill_six_segments(void) {
    fx_cfg.segment_bytes = 1000;
    fx_open();
    for (int i = 0; i < 18; i++) {
        fx_append_at(1, 200, NOW + (i / 3) * HOUR, NOW);
    }
    ck_assert_int_eq(storage_log_segment_count(fx_log), 6);
}

START_TEST(test_retention_by_time_never_active) {
    fx_cfg.retention_ms = 2 * HOUR;
    fx_fill_six_segments();
    int deleted = -1;
    /* at NOW + 3h + 1: segments 0 and 1 (max ts NOW, NOW + 1h) are older than 2 h */
    ck_assert_int_eq(storage_log_retain(fx_log, NOW + 3 * HOUR + 1, INT64_MAX, &deleted), SL_OK);
    ck_assert_int_eq(deleted, 2);
    ck_assert_int_eq(storage_log_start_offset(fx_log), 6);
    ck_assert(!fx_file_exists("00000000000000000000.log"));
    ck_assert(!fx_file_exists("00000000000000000003.index"));
    /* far in the future everything but the active segment goes */
    ck_assert_int_eq(storage_log_retain(fx_log, NOW + 1000 * HOUR, INT64_MAX, &deleted), SL_OK);
    ck_assert_int_eq(deleted, 3);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 1);
    ck_assert_int_eq(storage_log_start_offset(fx_log), 15);
    storage_read_result r;
    ck_assert_int_eq(storage_log_read(fx_log, 14, 100, INT64_MAX, true, &r), SL_E_RANGE);
    fx_expect_read(15, 1, INT64_MAX, true, 15, 1);
    fx_close_and_verify();
}
END_TEST

START_TEST(test_retention_respects_high_watermark) {
    fx_cfg.retention_ms = 0;
    fx_fill_six_segments();
    int deleted = -1;
    /* segment [3,5] holds offset 5 >= hw 5: it and everything after stay */
    ck_assert_int_eq(storage_log_retain(fx_log, NOW + 1000 * HOUR, 5, &deleted), SL_OK);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(storage_log_start_offset(fx_log), 3);
    ck_assert_int_eq(storage_log_retain(fx_log, NOW + 1000 * HOUR, 6, &deleted), SL_OK);
    ck_assert_int_eq(deleted, 1);
    ck_assert_int_eq(storage_log_start_offset(fx_log), 6);
}
END_TEST

START_TEST(test_retention_by_size) {
    fx_fill_six_segments();
    int64_t seg = fx_file_size("00000000000000000000.log");
    fx_cfg.retention_bytes = storage_log_size_bytes(fx_log) - 2 * seg - 1;
    ck_assert_int_eq(storage_log_set_config(fx_log, &fx_cfg), SL_OK);
    int deleted = -1;
    ck_assert_int_eq(storage_log_retain(fx_log, NOW, INT64_MAX, &deleted), SL_OK);
    ck_assert_int_eq(deleted, 2); /* a third would take it below retention_bytes */
    ck_assert_int_eq(storage_log_segment_count(fx_log), 4);
    ck_assert_int_le(storage_log_size_bytes(fx_log), fx_cfg.retention_bytes + seg);
    fx_cfg.retention_bytes = 0;
    ck_assert_int_eq(storage_log_set_config(fx_log, &fx_cfg), SL_OK);
    ck_assert_int_eq(storage_log_retain(fx_log, NOW, INT64_MAX, &deleted), SL_OK);
    ck_assert_int_eq(deleted, 3);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 1); /* never the active segment */
}
END_TEST

START_TEST(test_retention_delays_file_deletion) {
    fx_cfg.retention_ms = 0;
    fx_cfg.file_delete_delay_ms = 1000;
    fx_fill_six_segments();
    int deleted = -1;
    int64_t later = NOW + 1000 * HOUR;
    ck_assert_int_eq(storage_log_retain(fx_log, later, 3, &deleted), SL_OK);
    ck_assert_int_eq(deleted, 1);
    ck_assert(!fx_file_exists("00000000000000000000.log"));
    ck_assert(fx_file_exists("00000000000000000000.log.deleted"));
    ck_assert(fx_file_exists("00000000000000000000.index.deleted"));
    ck_assert_int_eq(storage_log_retain(fx_log, later + 999, 3, &deleted), SL_OK);
    ck_assert(fx_file_exists("00000000000000000000.log.deleted"));
    ck_assert_int_eq(storage_log_retain(fx_log, later + 1000, 3, &deleted), SL_OK);
    ck_assert(!fx_file_exists("00000000000000000000.log.deleted"));
    ck_assert(!fx_file_exists("00000000000000000000.timeindex.deleted"));
    /* leftovers of a crash are removed by the next open */
    ck_assert_int_eq(storage_log_retain(fx_log, later, 6, &deleted), SL_OK);
    ck_assert(fx_file_exists("00000000000000000003.log.deleted"));
    fx_reopen();
    ck_assert(!fx_file_exists("00000000000000000003.log.deleted"));
    ck_assert_int_eq(storage_log_start_offset(fx_log), 6);
}
END_TEST

/* ================= log start offset ================= */

START_TEST(test_advance_start_offset) {
    fx_fill_six_segments();
    ck_assert_int_eq(storage_log_advance_start_offset(fx_log, 7), SL_OK);
    ck_assert_int_eq(storage_log_start_offset(fx_log), 7);
    ck_assert_int_eq(storage_log_advance_start_offset(fx_log, 4), SL_OK); /* never backwards */
    ck_assert_int_eq(storage_log_start_offset(fx_log), 7);
    ck_assert_int_eq(storage_log_advance_start_offset(fx_log, 19), SL_E_RANGE);
    storage_read_result r;
    ck_assert_int_eq(storage_log_read(fx_log, 6, 100, INT64_MAX, true, &r), SL_E_RANGE);
    fx_expect_read(7, 1, INT64_MAX, true, 7, 1);
    int32_t epochs[2];
    int64_t offsets[2];
    ck_assert_int_eq(storage_log_epoch_entries(fx_log, epochs, offsets, 2), 1);
    ck_assert_int_eq(offsets[0], 7); /* the cache was truncated from the start */
    fx_reopen();
    ck_assert_int_eq(storage_log_start_offset(fx_log), 7);
    int deleted = -1;
    ck_assert_int_eq(storage_log_retain(fx_log, NOW, INT64_MAX, &deleted), SL_OK);
    ck_assert_int_eq(deleted, 2); /* segments [0,2] and [3,5] are wholly below 7 */
    ck_assert_int_eq(storage_log_start_offset(fx_log), 7);
    ck_assert_int_eq(storage_log_advance_start_offset(fx_log, 18), SL_OK); /* = end offset */
    ck_assert_int_eq(storage_log_read(fx_log, 18, 100, INT64_MAX, true, &r), SL_OK);
    ck_assert_int_eq(r.length, 0);
    fx_close_and_verify();
}
END_TEST

/* ================= truncation ================= */

START_TEST(test_truncate_within_active_segment) {
    fx_open();
    for (int i = 0; i < 10; i++) {
        fx_append(3, 40); /* batch i: [3i, 3i+2] */
    }
    ck_assert_int_eq(storage_log_truncate_to(fx_log, 19), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 18); /* the batch holding 19 went whole */
    ck_assert_int_eq(storage_log_truncate_to(fx_log, 18), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 18);
    ck_assert_int_eq(storage_log_truncate_to(fx_log, 100), SL_OK); /* beyond the end: no-op */
    ck_assert_int_eq(storage_log_end_offset(fx_log), 18);
    fx_count = 6;
    fx_data.len = fx_batches[5].at + fx_batches[5].size;
    for (int64_t off = 0; off < 18; off++) {
        fx_expect_read(off, 1, INT64_MAX, true, (int)off / 3, 1);
    }
    storage_append_info a = fx_append(2, 40);
    ck_assert_int_eq(a.base_offset, 18);
    fx_close_and_verify();
    fx_open();
    ck_assert_int_eq(storage_log_end_offset(fx_log), 20);
    fx_expect_read(19, 1, INT64_MAX, true, 6, 1);
}
END_TEST

START_TEST(test_truncate_across_segments) {
    fx_cfg.segment_bytes = 1000;
    fx_cfg.index_interval_bytes = 100;
    fx_open();
    for (int i = 0; i < 20; i++) {
        fx_append(1, 200);
    }
    ck_assert_int_eq(storage_log_segment_count(fx_log), 7);
    ck_assert_int_eq(storage_log_truncate_to(fx_log, 7), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 7);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 3); /* [0,2] [3,5] [6] */
    ck_assert(!fx_file_exists("00000000000000000009.log"));
    ck_assert(fx_file_exists("00000000000000000006.log"));
    ck_assert_int_eq(fx_file_size("00000000000000000006.index"), 4096); /* active again */
    fx_count = 7;
    fx_data.len = fx_batches[6].at + fx_batches[6].size;
    for (int i = 0; i < 5; i++) {
        fx_append(1, 200);
    }
    ck_assert_int_eq(storage_log_end_offset(fx_log), 12);
    for (int64_t off = 0; off < 12; off++) {
        fx_expect_read(off, 1, INT64_MAX, true, (int)off, 1);
    }
    /* exactly at a segment's base: that segment is kept, empty */
    ck_assert_int_eq(storage_log_truncate_to(fx_log, 9), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 9);
    ck_assert(fx_file_exists("00000000000000000009.log"));
    fx_close_and_verify();
    fx_open();
    ck_assert_int_eq(storage_log_end_offset(fx_log), 9);
}
END_TEST

START_TEST(test_truncate_fully_and_start_at) {
    fx_cfg.segment_bytes = 1000;
    fx_open();
    fx_epoch = 2;
    for (int i = 0; i < 10; i++) {
        fx_append(1, 200);
    }
    ck_assert_int_eq(storage_log_truncate_fully_and_start_at(fx_log, 1000), SL_OK);
    ck_assert_int_eq(storage_log_start_offset(fx_log), 1000);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 1000);
    ck_assert_int_eq(storage_log_segment_count(fx_log), 1);
    ck_assert_int_eq(storage_log_latest_epoch(fx_log), -1);
    ck_assert(!fx_file_exists("00000000000000000000.log"));
    ck_assert(fx_file_exists("00000000000000001000.log"));
    fx_count = 0;
    sl_buf_reset(&fx_data);
    storage_append_info a = fx_append(2, 10);
    ck_assert_int_eq(a.base_offset, 1000);
    fx_close_and_verify();
    fx_open();
    ck_assert_int_eq(storage_log_start_offset(fx_log), 1000);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 1002);
    /* truncating below the first segment starts over too */
    ck_assert_int_eq(storage_log_truncate_to(fx_log, 10), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 10);
    ck_assert_int_eq(storage_log_start_offset(fx_log), 10);
    /* and to the same base offset as the only segment */
    ck_assert_int_eq(storage_log_truncate_fully_and_start_at(fx_log, 10), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 10);
}
END_TEST

START_TEST(test_truncate_cuts_epoch_cache) {
    fx_open();
    for (int e = 1; e <= 4; e++) {
        fx_epoch = e;
        fx_append(5, 10); /* epoch e starts at 5(e-1) */
    }
    ck_assert_int_eq(storage_log_truncate_to(fx_log, 12), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 10);
    ck_assert_int_eq(storage_log_latest_epoch(fx_log), 2);
    int32_t e_out;
    int64_t end_out;
    storage_log_epoch_end_offset(fx_log, 2, &e_out, &end_out);
    ck_assert_int_eq(e_out, 2);
    ck_assert_int_eq(end_out, 10);
    fx_close_and_verify();
}
END_TEST

/* A leader's epoch assigned at the log end and never written in is dropped by a
 * truncation at (or past) the log end; batches and earlier epochs stay. */
START_TEST(test_truncate_at_end_drops_unwritten_epoch) {
    fx_open();
    fx_epoch = 1;
    fx_append(5, 10);
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, 3, 5), SL_OK);
    ck_assert_int_eq(storage_log_latest_epoch(fx_log), 3);
    ck_assert_int_eq(storage_log_truncate_to(fx_log, 5), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 5);
    ck_assert_int_eq(storage_log_latest_epoch(fx_log), 1);
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, 4, 5), SL_OK);
    ck_assert_int_eq(storage_log_truncate_to(fx_log, 100), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(fx_log), 5);
    ck_assert_int_eq(storage_log_latest_epoch(fx_log), 1);
    fx_close_and_verify();
    fx_open(); /* the cut was persisted */
    ck_assert_int_eq(storage_log_latest_epoch(fx_log), 1);
}
END_TEST

/* ================= epochs ================= */

static void fx_epoch_expect(int32_t epoch, int32_t want_epoch, int64_t want_end) {
    int32_t e_out = 99;
    int64_t end_out = 99;
    ck_assert_int_eq(storage_log_epoch_end_offset(fx_log, epoch, &e_out, &end_out), SL_OK);
    ck_assert_int_eq(e_out, want_epoch);
    ck_assert_int_eq(end_out, want_end);
}

/* The cases of Kafka's LeaderEpochFileCacheTest, on a log whose end offset is 20. */
START_TEST(test_epoch_end_offset_kafka_cases) {
    fx_open();
    for (int i = 0; i < 4; i++) {
        fx_append(5, 10);
    }
    ck_assert_int_eq(storage_log_truncate_fully_and_start_at(fx_log, 0), SL_OK);
    for (int i = 0; i < 4; i++) {
        fx_append(5, 10); /* epoch 0 from offset 0 */
    }
    ck_assert_int_eq(storage_log_truncate_fully_and_start_at(fx_log, 0), SL_OK);
    /* empty cache: undefined for everything */
    fx_epoch_expect(0, -1, -1);
    fx_epoch_expect(-1, -1, -1);
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, 2, 6), SL_OK);
    fx_epoch_expect(2, 2, 0); /* latest epoch: the log end offset (empty log: 0) */
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, 2, 10), SL_OK); /* once assigned, kept */
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, 4, 11), SL_OK);
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, 6, 15), SL_OK);
    fx_epoch_expect(2, 2, 11);
    fx_epoch_expect(3, 2, 11); /* between: previous epoch, next epoch's start */
    fx_epoch_expect(5, 4, 15);
    fx_epoch_expect(1, 1, 6);   /* below the first: the requested epoch, first start */
    fx_epoch_expect(7, -1, -1); /* above every epoch */
    fx_epoch_expect(-1, -1, -1);
    int32_t epochs[8];
    int64_t offsets[8];
    ck_assert_int_eq(storage_log_epoch_entries(fx_log, epochs, offsets, 8), 3);
    ck_assert_int_eq(offsets[0], 6);
    /* non-monotonic assignments drop the entries they conflict with */
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, 7, 13), SL_OK);
    ck_assert_int_eq(storage_log_epoch_entries(fx_log, epochs, offsets, 8), 3);
    ck_assert_int_eq(epochs[2], 7);
    ck_assert_int_eq(offsets[2], 13);
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, 3, 20), SL_OK);
    ck_assert_int_eq(storage_log_epoch_entries(fx_log, epochs, offsets, 8), 2);
    ck_assert_int_eq(epochs[1], 3);
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, -1, 5), SL_E_INVALID);
    ck_assert_int_eq(storage_log_epoch_assign(fx_log, 5, -1), SL_E_INVALID);
}
END_TEST

START_TEST(test_epoch_checkpoint_round_trip) {
    fx_open();
    fx_epoch = 0;
    fx_append(5, 10);
    fx_epoch = 2;
    fx_append(4, 10);
    fx_epoch = 4;
    fx_append(1, 10);
    storage_log_close(fx_log);
    fx_log = NULL;
    char path[512], text[128] = { 0 };
    snprintf(path, sizeof(path), "%s/leader-epoch-checkpoint", fx_dir);
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    ck_assert_uint_gt(n, 0);
    ck_assert_str_eq(text, "0\n3\n0 0\n2 5\n4 9\n");
    fx_open();
    int32_t epochs[4];
    int64_t offsets[4];
    ck_assert_int_eq(storage_log_epoch_entries(fx_log, epochs, offsets, 4), 3);
    ck_assert_int_eq(epochs[1], 2);
    ck_assert_int_eq(offsets[1], 5);
    fx_epoch_expect(3, 2, 9);
    fx_epoch_expect(4, 4, 10);
}
END_TEST

/* ================= flush ================= */

START_TEST(test_flush_every_message) {
    fx_cfg.flush_messages = 1;
    fx_open();
    for (int i = 0; i < 5; i++) {
        fx_append(2, 10);
        ck_assert_int_eq(storage_log_flushed_offset(fx_log), storage_log_end_offset(fx_log));
    }
}
END_TEST

START_TEST(test_flush_never_until_asked) {
    fx_cfg.segment_bytes = 1000;
    fx_open();
    fx_append(2, 10);
    fx_append(2, 10);
    ck_assert_int_eq(storage_log_flushed_offset(fx_log), 0);
    ck_assert_int_eq(storage_log_flush(fx_log), SL_OK);
    ck_assert_int_eq(storage_log_flushed_offset(fx_log), 4);
    for (int i = 0; i < 12; i++) {
        fx_append(1, 200); /* rolls do not wait for the disk */
    }
    ck_assert_int_ge(storage_log_segment_count(fx_log), 4);
    ck_assert_int_lt(storage_log_flushed_offset(fx_log), storage_log_end_offset(fx_log));
    ck_assert_int_eq(storage_log_flush(fx_log), SL_OK);
    ck_assert_int_eq(storage_log_flushed_offset(fx_log), storage_log_end_offset(fx_log));
}
END_TEST

START_TEST(test_flush_interval_messages_and_ms) {
    fx_cfg.flush_messages = 5;
    fx_open();
    fx_append(3, 10);
    ck_assert_int_eq(storage_log_flushed_offset(fx_log), 0);
    fx_append(2, 10);
    ck_assert_int_eq(storage_log_flushed_offset(fx_log), 5);
    fx_cfg.flush_messages = 0;
    fx_cfg.flush_ms = 1000;
    ck_assert_int_eq(storage_log_set_config(fx_log, &fx_cfg), SL_OK);
    fx_append_at(1, 10, NOW, NOW + 10);
    ck_assert_int_eq(storage_log_maybe_flush(fx_log, NOW + 500), SL_OK);
    ck_assert_int_eq(storage_log_flushed_offset(fx_log), 5);
    ck_assert_int_eq(storage_log_maybe_flush(fx_log, NOW + 1000), SL_OK);
    ck_assert_int_eq(storage_log_flushed_offset(fx_log), 6);
}
END_TEST

/* ================= aux files ================= */

START_TEST(test_aux_files) {
    fx_open();
    const char *meta = "version: 0\ntopic_id: AAAAAAAAAAAAAAAAAAAAAA\n";
    ck_assert_int_eq(
        storage_log_write_aux(fx_log, "partition.metadata", (const uint8_t *)meta, strlen(meta)),
        SL_OK);
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(storage_log_read_aux(fx_log, "partition.metadata", &out), SL_OK);
    ck_assert_uint_eq(out.len, strlen(meta));
    ck_assert_mem_eq(out.data, meta, out.len);
    ck_assert_int_eq(storage_log_read_aux(fx_log, "missing", &out), SL_E_NOT_FOUND);
    ck_assert_int_eq(storage_log_write_aux(fx_log, "../escape", NULL, 0), SL_E_INVALID);
    ck_assert_int_eq(storage_log_write_aux(fx_log, "00000000000000000005.log", NULL, 0),
                     SL_E_INVALID);
    ck_assert_int_eq(storage_log_write_aux(fx_log, ".hidden", NULL, 0), SL_E_INVALID);
    ck_assert_int_eq(storage_log_write_aux(fx_log, "leader-epoch-checkpoint", NULL, 0),
                     SL_E_INVALID);
    ck_assert_int_eq(
        storage_log_write_aux(fx_log, "00000000000000000005.snapshot", (const uint8_t *)"s", 1),
        SL_OK);
    ck_assert(!fx_file_exists("partition.metadata.tmp"));
    fx_reopen();
    sl_buf_reset(&out);
    ck_assert_int_eq(storage_log_read_aux(fx_log, "partition.metadata", &out), SL_OK);
    ck_assert_uint_eq(out.len, strlen(meta));
    ck_assert_int_eq(storage_log_segment_count(fx_log), 1);
    /* hints: overwritten in place, a shorter write leaves no tail, same name rules */
    ck_assert_int_eq(storage_log_write_hint(fx_log, "hint", (const uint8_t *)"0\n12345\n", 8),
                     SL_OK);
    ck_assert_int_eq(storage_log_write_hint(fx_log, "hint", (const uint8_t *)"0\n7\n", 4), SL_OK);
    sl_buf_reset(&out);
    ck_assert_int_eq(storage_log_read_aux(fx_log, "hint", &out), SL_OK);
    ck_assert_uint_eq(out.len, 4);
    ck_assert_mem_eq(out.data, "0\n7\n", 4);
    ck_assert_int_eq(storage_log_write_hint(fx_log, "../escape", NULL, 0), SL_E_INVALID);
    sl_buf_deinit(&out);
    fx_close_and_verify();
}
END_TEST

Suite *storage_suite(void) {
    Suite *s = suite_create("storage");
    struct {
        const char *name;
        const TTest *tests[12];
    } cases[] = {
        { "lifecycle",
          { test_open_creates_empty_log, test_open_twice_is_refused,
            test_config_check_rejects_out_of_range, test_delete_removes_directory } },
        { "append",
          { test_append_assigns_contiguous_offsets, test_append_many_batches_in_one_call,
            test_append_rejects_bad_input_and_writes_nothing,
            test_append_leader_epoch_cannot_go_back,
            test_append_replica_checks_offsets_and_epochs } },
        { "read",
          { test_read_at_every_offset, test_read_max_bytes_and_min_one_batch,
            test_read_stops_before_max_offset, test_read_range_errors,
            test_read_returns_one_segment_at_a_time } },
        { "roll",
          { test_roll_by_segment_bytes, test_roll_by_segment_ms, test_roll_when_index_full } },
        { "index", { test_index_entries_follow_interval_rule, test_index_lookup_at_boundaries } },
        { "time", { test_offset_for_time, test_max_timestamp_in_older_segment } },
        { "retention",
          { test_retention_by_time_never_active, test_retention_respects_high_watermark,
            test_retention_by_size, test_retention_delays_file_deletion } },
        { "start_offset", { test_advance_start_offset } },
        { "truncate",
          { test_truncate_within_active_segment, test_truncate_across_segments,
            test_truncate_fully_and_start_at, test_truncate_cuts_epoch_cache,
            test_truncate_at_end_drops_unwritten_epoch } },
        { "epochs", { test_epoch_end_offset_kafka_cases, test_epoch_checkpoint_round_trip } },
        { "flush",
          { test_flush_every_message, test_flush_never_until_asked,
            test_flush_interval_messages_and_ms } },
        { "aux", { test_aux_files } },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tc, fx_setup, fx_teardown);
        tcase_set_timeout(tc, 30);
        for (size_t k = 0; k < 12 && cases[i].tests[k]; k++) {
            tcase_add_test(tc, cases[i].tests[k]);
        }
        suite_add_tcase(s, tc);
    }
    return s;
}
