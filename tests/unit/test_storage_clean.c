/* Unit tests for storage/ compaction (storage_log_clean): what a pass keeps and removes,
 * what rewritten batches look like, when passes run, how work splits over calls, and
 * that compacted logs (with offset gaps) read, recover and verify.
 *
 * Every test appends keyed records through the leader path and keeps a model of them
 * (cx_model, indexed by offset); reading the whole log back gives the records that
 * survived, which are compared with what the model says compaction must keep. Record
 * values are "v<offset>-<key>", so a record read back carries its own identity. */
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"
#include "storage/storage.h"
#include "storage/storage_int.h"
#include "tests/unit/test_storage_batch.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

Suite *storage_clean_suite(void);

#define NOW      1700000000000LL
#define HOUR_MS  (3600LL * 1000)
#define DAY_MS   (24 * HOUR_MS)
#define CX_MAX   8192
#define READ_MAX (1 << 20)
#define CX_PATH  640

typedef struct cx_rec {
    bool present; /* an offset the model holds a record for */
    int key;      /* -1: no key */
    bool tomb;    /* null value */
    int64_t ts;
    bool header; /* carries one header */
} cx_rec;

/* A batch read back. */
typedef struct cx_batch {
    protocol_batch_header h;
    int32_t kept; /* records in it */
} cx_batch;

/* A record read back. */
typedef struct cx_got {
    int64_t offset;
    int key;
    bool tomb;
    int64_t ts;
} cx_got;

static char cx_root[256];
static char cx_dir[300];
static storage_log *cx_log;
static storage_log_config cx_cfg;
static storage_clean_config cx_ccfg;
static cx_rec cx_model[CX_MAX];
static int64_t cx_ts;
static int cx_seq; /* batches appended, for producer fields and key choice */
static cx_got cx_got_v[CX_MAX];
static int cx_got_n;
static cx_batch cx_batches[CX_MAX];
static int cx_batches_n;

static void cx_setup(void) {
    snprintf(cx_root, sizeof(cx_root), "/tmp/sluice-clean-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(cx_root));
    snprintf(cx_dir, sizeof(cx_dir), "%s/topic-0", cx_root);
    storage_log_config_defaults(&cx_cfg);
    cx_cfg.segment_bytes = 2048;
    cx_cfg.index_interval_bytes = 128;
    cx_cfg.segment_index_bytes = 1024;
    cx_cfg.file_delete_delay_ms = 0;
    cx_cfg.retention_ms = -1;
    cx_cfg.compact = true;
    storage_clean_config_defaults(&cx_ccfg);
    cx_ccfg.min_cleanable_dirty_ratio = 0; /* clean whenever something is dirty */
    cx_ccfg.delete_retention_ms = 100 * DAY_MS;
    memset(cx_model, 0, sizeof(cx_model));
    cx_ts = NOW - HOUR_MS;
    cx_seq = 0;
    ck_assert_int_eq(storage_log_open(cx_dir, &cx_cfg, NOW, &cx_log), SL_OK);
}

static void cx_teardown(void) {
    storage_log_close(cx_log);
    cx_log = NULL;
    test_rmtree(cx_root);
}

static void cx_reopen(void) {
    storage_log_close(cx_log);
    cx_log = NULL;
    ck_assert_int_eq(storage_log_open(cx_dir, &cx_cfg, NOW, &cx_log), SL_OK);
}

static void cx_path(char *out, size_t n, const char *name) {
    snprintf(out, n, "%s/%s", cx_dir, name);
}

static bool cx_exists(const char *name) {
    char path[CX_PATH];
    cx_path(path, sizeof(path), name);
    return access(path, F_OK) == 0;
}

/* Files in the log directory whose name ends with suffix. */
static int cx_count_suffix(const char *suffix) {
    int n = 0;
    DIR *d = opendir(cx_dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name), m = strlen(suffix);
        n += len >= m && strcmp(e->d_name + len - m, suffix) == 0;
    }
    closedir(d);
    return n;
}

static void cx_value(char *out, size_t n, int64_t offset, int key) {
    snprintf(out, n, "v%lld-%d", (long long)offset, key);
}

/* Append one batch: record i has key keys[i] (-1: none), a null value when tombs[i]. */
static int64_t cx_append_batch(const int *keys, const bool *tombs, int count, int codec) {
    int64_t base = storage_log_end_offset(cx_log);
    ck_assert_int_lt(base + count, CX_MAX);
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.codec = codec;
    opt.producer_id = 1000 + cx_seq % 3;
    opt.producer_epoch = 2;
    opt.base_sequence = cx_seq * 50;
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    for (int i = 0; i < count; i++) {
        char k[16], v[48];
        int64_t off = base + i;
        snprintf(k, sizeof(k), "k%03d", keys[i]);
        cx_value(v, sizeof(v), off, keys[i]);
        sl_bytes key = keys[i] < 0 ? SL_BYTES_NULL : (sl_bytes){ (const uint8_t *)k, 4 };
        sl_bytes val = tombs && tombs[i] ? SL_BYTES_NULL
                                         : (sl_bytes){ (const uint8_t *)v, (int32_t)strlen(v) };
        protocol_record_header hdr = { { "h", 1 }, { (const uint8_t *)"x", 1 } };
        bool with_header = off % 3 == 0;
        ck_assert_int_eq(protocol_batch_builder_add(&b, cx_ts, key, val, &hdr, with_header ? 1 : 0),
                         SL_OK);
        cx_model[off] = (cx_rec){ true, keys[i], tombs && tombs[i], cx_ts, with_header };
        cx_ts++;
    }
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(protocol_batch_builder_finish(&b, &out), SL_OK);
    storage_append_info info;
    ck_assert_int_eq(storage_log_append(cx_log, out.data, out.len, 5, NOW, &info), SL_OK);
    ck_assert_int_eq(info.base_offset, base);
    sl_buf_deinit(&out);
    protocol_batch_builder_deinit(&b);
    cx_seq++;
    return base;
}

/* n batches of per records, keys drawn from [0, nkeys), every tomb_every-th a tombstone
 * (0: none). */
static void cx_append_keys(int n, int per, int nkeys, int tomb_every, int codec) {
    for (int i = 0; i < n; i++) {
        int keys[64];
        bool tombs[64];
        for (int r = 0; r < per; r++) {
            int seq = cx_seq * per + r;
            keys[r] = (seq * 7 + seq / nkeys) % nkeys;
            tombs[r] = tomb_every > 0 && seq % tomb_every == tomb_every - 1;
        }
        cx_append_batch(keys, tombs, per, codec);
    }
}

/* Seal the active segment (segment.ms has long passed for its records). */
static void cx_roll(void) {
    ck_assert_int_eq(storage_log_maybe_roll(cx_log, NOW + 30 * DAY_MS), SL_OK);
}

/* Read the whole log back into cx_got_v / cx_batches, checking every batch and record. */
static void cx_read_all(void) {
    sl_buf buf, scratch;
    sl_buf_init(&buf);
    sl_buf_init(&scratch);
    cx_got_n = 0;
    cx_batches_n = 0;
    int64_t off = storage_log_start_offset(cx_log), end = storage_log_end_offset(cx_log);
    int64_t expect = 0;
    for (int guard = 0; off < end && guard < CX_MAX; guard++) {
        sl_buf_reset(&buf);
        ck_assert_int_eq(storage_log_read_copy(cx_log, off, READ_MAX, INT64_MAX, true, &buf),
                         SL_OK);
        if (buf.len == 0) break;
        for (size_t at = 0; at < buf.len;) {
            protocol_batch_header h;
            size_t size = PROTOCOL_BATCH_LOG_OVERHEAD +
                          sl_load_be32(buf.data + at + PROTOCOL_BATCH_OFF_LENGTH);
            ck_assert_int_eq(protocol_batch_check(buf.data + at, size, &h), SL_OK);
            ck_assert_int_ge(h.base_offset, expect); /* offsets increase */
            cx_batch *cb = &cx_batches[cx_batches_n++];
            cb->h = h;
            cb->kept = 0;
            protocol_record_iter it;
            ck_assert_int_eq(protocol_record_iter_init(&it, buf.data + at, size, &scratch, 1 << 24),
                             SL_OK);
            protocol_record rec;
            int more;
            while ((more = protocol_record_iter_next(&it, &rec)) == 1) {
                cb->kept++;
                if (protocol_batch_is_control(&h)) continue;
                ck_assert_int_lt(rec.offset, CX_MAX);
                const cx_rec *m = &cx_model[rec.offset];
                ck_assert(m->present);
                int key = -1;
                if (rec.key.len >= 0) {
                    ck_assert_int_eq(rec.key.len, 4);
                    key = atoi((const char *)rec.key.ptr + 1);
                }
                ck_assert_int_eq(key, m->key);
                ck_assert_int_eq(rec.value.len < 0, m->tomb);
                if (rec.value.len >= 0) {
                    char v[48];
                    cx_value(v, sizeof(v), rec.offset, key);
                    ck_assert_int_eq(rec.value.len, (int32_t)strlen(v));
                    ck_assert_mem_eq(rec.value.ptr, v, strlen(v));
                }
                ck_assert_int_eq(rec.timestamp, m->ts);
                ck_assert_int_eq(rec.header_count, m->header ? 1 : 0);
                cx_got_v[cx_got_n++] =
                    (cx_got){ rec.offset, key, rec.value.len < 0, rec.timestamp };
            }
            ck_assert_int_eq(more, 0);
            expect = protocol_batch_last_offset(&h) + 1;
            off = expect;
            at += size;
        }
    }
    sl_buf_deinit(&buf);
    sl_buf_deinit(&scratch);
}

/* What compaction must have left: below bound, the latest record of each key (tombstones
 * too unless tombstones_gone); from bound on, everything. */
static int cx_expected(int64_t bound, bool tombstones_gone, cx_got *out) {
    int n = 0;
    int64_t end = storage_log_end_offset(cx_log);
    for (int64_t o = storage_log_start_offset(cx_log); o < end && o < CX_MAX; o++) {
        const cx_rec *m = &cx_model[o];
        if (!m->present) continue;
        bool keep = true;
        if (o < bound) {
            keep = m->key >= 0 && !(m->tomb && tombstones_gone);
            for (int64_t later = o + 1; keep && later < bound && later < CX_MAX; later++) {
                if (cx_model[later].present && cx_model[later].key == m->key) keep = false;
            }
        }
        if (keep) out[n++] = (cx_got){ o, m->key, m->tomb, m->ts };
    }
    return n;
}

static void cx_check(int64_t bound, bool tombstones_gone) {
    static cx_got want[CX_MAX];
    int n = cx_expected(bound, tombstones_gone, want);
    cx_read_all();
    ck_assert_int_eq(cx_got_n, n);
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(cx_got_v[i].offset, want[i].offset);
        ck_assert_int_eq(cx_got_v[i].key, want[i].key);
        ck_assert_int_eq(cx_got_v[i].tomb, want[i].tomb);
        ck_assert_int_eq(cx_got_v[i].ts, want[i].ts);
    }
}

static void stats_sum(storage_clean_stats *t, const storage_clean_stats *st) {
    t->bytes_read += st->bytes_read;
    t->bytes_written += st->bytes_written;
    t->records_read += st->records_read;
    t->records_removed += st->records_removed;
    t->tombstones_removed += st->tombstones_removed;
    t->batches_removed += st->batches_removed;
    t->batches_rewritten += st->batches_rewritten;
    t->segments_replaced += st->segments_replaced;
    t->pass_started = t->pass_started || st->pass_started;
    t->pass_done = t->pass_done || st->pass_done;
}

/* Run passes until none is in progress or due; returns the sum of the calls' stats and
 * the number of calls in *calls_out (may be NULL). */
static storage_clean_stats cx_clean_idle(int64_t now, int *calls_out) {
    storage_clean_stats total, st;
    memset(&total, 0, sizeof(total));
    int calls = 0;
    for (; calls < 5000; calls++) {
        ck_assert_int_eq(storage_log_clean(cx_log, &cx_ccfg, now, &st), SL_OK);
        stats_sum(&total, &st);
        if (!st.more && !st.pass_started && !st.pass_done) break;
    }
    ck_assert_int_lt(calls, 5000);
    ck_assert(!storage_log_clean_in_progress(cx_log));
    if (calls_out) *calls_out = calls;
    return total;
}

static int cx_problems;
static void cx_report(const char *line, void *arg) {
    if (!arg) fprintf(stderr, "verify: %s\n", line);
    cx_problems++;
}

/* Close, verify the directory offline, reopen. */
static void cx_verify(void) {
    storage_log_close(cx_log);
    cx_log = NULL;
    cx_problems = 0;
    ck_assert_int_eq(storage_verify_dir(cx_dir, cx_report, NULL), SL_OK);
    ck_assert_int_eq(cx_problems, 0);
    ck_assert_int_eq(storage_log_open(cx_dir, &cx_cfg, NOW, &cx_log), SL_OK);
}

/* ================= what a pass keeps ================= */

START_TEST(test_clean_keeps_latest_per_key) {
    cx_append_keys(40, 10, 25, 0, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    int32_t segments = storage_log_segment_count(cx_log);
    cx_roll();
    storage_clean_stats st = cx_clean_idle(NOW, NULL);
    ck_assert(st.pass_done);
    ck_assert_int_eq(storage_log_clean_first_dirty(cx_log), end);
    ck_assert_int_eq(st.records_removed, 400 - 25);
    ck_assert_int_gt(st.segments_replaced, 0);
    cx_check(end, false);
    ck_assert_int_eq(cx_got_n, 25);
    ck_assert_int_lt(storage_log_segment_count(cx_log), segments);
    ck_assert_int_eq(storage_log_end_offset(cx_log), end);
    ck_assert(cx_exists("cleaner-offset-checkpoint"));
    /* replaced segments are unlinked once file.delete.delay.ms passed (0 here), by the
     * cleaner itself: a compact-only log may never see a retention call */
    ck_assert_int_eq(cx_count_suffix(".deleted"), 0);
    ck_assert_int_eq(cx_count_suffix(".cleaned"), 0);
    ck_assert_int_eq(cx_count_suffix(".swap"), 0);
    cx_verify();
    cx_check(end, false);
}
END_TEST

START_TEST(test_clean_leaves_active_segment_alone) {
    cx_append_keys(30, 10, 10, 0, PROTOCOL_CODEC_NONE);
    int64_t active_base = storage_log_end_offset(cx_log);
    cx_roll();
    cx_append_keys(3, 10, 10, 0, PROTOCOL_CODEC_NONE); /* duplicates, unsealed */
    cx_clean_idle(NOW, NULL);
    ck_assert_int_eq(storage_log_clean_first_dirty(cx_log), active_base);
    cx_check(active_base, false); /* everything from the active segment on is still there */
}
END_TEST

START_TEST(test_clean_drops_keyless_records) {
    int keys[6] = { 1, -1, 2, -1, 1, 3 };
    for (int i = 0; i < 12; i++) {
        cx_append_batch(keys, NULL, 6, PROTOCOL_CODEC_NONE);
    }
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_append_batch(keys, NULL, 6, PROTOCOL_CODEC_NONE); /* keyless in the active segment stay */
    cx_clean_idle(NOW, NULL);
    cx_check(end, false);
    int keyless = 0;
    for (int i = 0; i < cx_got_n; i++) {
        keyless += cx_got_v[i].key < 0;
    }
    ck_assert_int_eq(keyless, 2);
}
END_TEST

/* ================= tombstones (KIP-534) ================= */

static const cx_batch *cx_batch_holding(int64_t offset) {
    for (int i = 0; i < cx_batches_n; i++) {
        if (cx_batches[i].h.base_offset <= offset &&
            protocol_batch_last_offset(&cx_batches[i].h) >= offset) {
            return &cx_batches[i];
        }
    }
    return NULL;
}

START_TEST(test_clean_tombstone_kept_until_delete_horizon) {
    cx_ccfg.delete_retention_ms = 1000;
    int keys[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    bool tombs[10] = { true, true, true, true, true, false, false, false, false, false };
    cx_append_batch(keys, NULL, 10, PROTOCOL_CODEC_NONE);
    cx_append_batch(keys, NULL, 10, PROTOCOL_CODEC_NONE);
    int64_t tomb_base = cx_append_batch(keys, tombs, 5, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    int64_t t1 = NOW;
    storage_clean_stats st = cx_clean_idle(t1, NULL);
    ck_assert_int_eq(st.tombstones_removed, 0);
    cx_check(end, false); /* keys 5-9 values, 0-4 tombstones */
    ck_assert_int_eq(cx_got_n, 10);
    const cx_batch *tb = cx_batch_holding(tomb_base);
    ck_assert_ptr_nonnull(tb);
    ck_assert(tb->h.attributes & PROTOCOL_ATTR_DELETE_HORIZON);
    ck_assert_int_eq(tb->h.base_timestamp, t1 + 1000);

    /* new values for 5-9, cleaned before the horizon: tombstones stay, horizon unchanged */
    int later[5] = { 5, 6, 7, 8, 9 };
    cx_append_batch(later, NULL, 5, PROTOCOL_CODEC_NONE);
    int64_t end2 = storage_log_end_offset(cx_log);
    cx_roll();
    st = cx_clean_idle(t1 + 999, NULL);
    ck_assert(st.pass_done);
    ck_assert_int_eq(st.tombstones_removed, 0);
    cx_check(end2, false);
    tb = cx_batch_holding(tomb_base);
    ck_assert_ptr_nonnull(tb);
    ck_assert_int_eq(tb->h.base_timestamp, t1 + 1000);

    /* the horizon survives a restart in the checkpoint; once it passes a pass runs with
     * nothing dirty and removes the tombstones */
    cx_reopen();
    st = cx_clean_idle(t1 + 1000, NULL);
    ck_assert(st.pass_done);
    ck_assert_int_eq(st.tombstones_removed, 5);
    cx_check(end2, true);
    ck_assert_int_eq(cx_got_n, 5);
    st = cx_clean_idle(t1 + 5000, NULL); /* nothing left to do */
    ck_assert(!st.pass_started);
    cx_verify();
}
END_TEST

START_TEST(test_clean_superseded_tombstone_goes_at_once) {
    int keys[3] = { 1, 2, 3 };
    bool tombs[3] = { true, true, true };
    cx_append_batch(keys, NULL, 3, PROTOCOL_CODEC_NONE);
    cx_append_batch(keys, tombs, 3, PROTOCOL_CODEC_NONE);
    cx_append_batch(keys, NULL, 2, PROTOCOL_CODEC_NONE); /* 1 and 2 come back */
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_clean_idle(NOW, NULL);
    cx_check(end, false);
    ck_assert_int_eq(cx_got_n, 3); /* 1, 2 values; 3's tombstone */
    ck_assert(cx_got_v[0].tomb && cx_got_v[0].key == 3);
}
END_TEST

/* ================= rewritten batches ================= */

START_TEST(test_clean_rewrite_keeps_batch_fields) {
    int keys[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    cx_append_batch(keys, NULL, 8, PROTOCOL_CODEC_NONE);
    int odd[4] = { 1, 3, 5, 7 };
    cx_append_batch(odd, NULL, 4, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_clean_idle(NOW, NULL);
    cx_check(end, false);
    /* the first batch lost 1, 3, 5, 7 and was rebuilt with its own header fields */
    const cx_batch *b = &cx_batches[0];
    ck_assert_int_eq(b->h.base_offset, 0);
    ck_assert_int_eq(b->h.last_offset_delta, 7); /* offset range kept (overrideLastOffset) */
    ck_assert_int_eq(b->h.record_count, 4);
    ck_assert_int_eq(b->kept, 4);
    ck_assert_int_eq(b->h.producer_id, 1000);
    ck_assert_int_eq(b->h.producer_epoch, 2);
    ck_assert_int_eq(b->h.base_sequence, 0);
    ck_assert_int_eq(b->h.partition_leader_epoch, 5);
    ck_assert_int_eq(b->h.attributes & PROTOCOL_ATTR_DELETE_HORIZON, 0);
    ck_assert_int_eq(b->h.max_timestamp, cx_model[7].ts); /* the largest kept: offset 7 */
    /* the second batch lost nothing: copied as it was */
    ck_assert_int_eq(cx_batches[1].h.base_offset, 8);
    ck_assert_int_eq(cx_batches[1].h.producer_id, 1001);
    ck_assert_int_eq(cx_batches[1].h.base_sequence, 50);
}
END_TEST

START_TEST(test_clean_every_codec) {
    int codec = _i;
    cx_append_keys(30, 12, 20, 5, codec);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    storage_clean_stats st = cx_clean_idle(NOW, NULL);
    ck_assert_int_gt(st.batches_rewritten + st.batches_removed, 0);
    cx_check(end, false);
    for (int i = 0; i < cx_batches_n; i++) {
        ck_assert_int_eq(protocol_batch_codec(&cx_batches[i].h), codec);
    }
    cx_verify();
    cx_check(end, false);
}
END_TEST

START_TEST(test_clean_control_batches_kept) {
    int keys[4] = { 1, 2, 1, 2 };
    cx_append_batch(keys, NULL, 4, PROTOCOL_CODEC_NONE);
    sl_buf marker;
    sl_buf_init(&marker);
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.producer_id = 77;
    opt.producer_epoch = 1;
    ck_assert_int_eq(protocol_batch_build_txn_marker(&marker, &opt, true, 3, NOW), SL_OK);
    int64_t marker_offset = storage_log_end_offset(cx_log);
    ck_assert_int_eq(storage_log_append(cx_log, marker.data, marker.len, 5, NOW, NULL), SL_OK);
    cx_append_batch(keys, NULL, 4, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_clean_idle(NOW, NULL);
    cx_check(end, false);
    const cx_batch *b = cx_batch_holding(marker_offset);
    ck_assert_ptr_nonnull(b);
    ck_assert(protocol_batch_is_control(&b->h));
    ck_assert_int_eq(b->h.producer_id, 77);
    sl_buf_deinit(&marker);
}
END_TEST

/* ================= reads over a compacted log ================= */

START_TEST(test_clean_reads_and_time_lookups) {
    cx_append_keys(40, 8, 15, 0, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_clean_idle(NOW, NULL);
    cx_check(end, false);
    sl_buf out;
    sl_buf_init(&out);
    /* every offset, in a gap or not, reads the first batch holding an offset >= it */
    for (int64_t off = 0; off < end; off++) {
        int want = 0;
        while (want < cx_batches_n && protocol_batch_last_offset(&cx_batches[want].h) < off) {
            want++;
        }
        ck_assert_int_lt(want, cx_batches_n);
        sl_buf_reset(&out);
        ck_assert_int_eq(storage_log_read_copy(cx_log, off, 1, INT64_MAX, true, &out), SL_OK);
        ck_assert_uint_gt(out.len, 0);
        ck_assert_int_eq((int64_t)sl_load_be64(out.data), cx_batches[want].h.base_offset);
        storage_read_result r;
        ck_assert_int_eq(storage_log_read(cx_log, off, READ_MAX, end, false, &r), SL_OK);
        ck_assert_int_eq(r.first_offset, cx_batches[want].h.base_offset);
    }
    /* OffsetForTime: the first batch whose maxTimestamp reaches the target */
    for (int i = 0; i < cx_got_n; i++) {
        int64_t ts = cx_got_v[i].ts, off = -1, got_ts = -1;
        int want = 0;
        while (cx_batches[want].h.max_timestamp < ts) {
            want++;
        }
        ck_assert_int_eq(storage_log_offset_for_time(cx_log, ts, &off, &got_ts), SL_OK);
        ck_assert_int_eq(off, cx_batches[want].h.base_offset);
        ck_assert_int_eq(got_ts, cx_batches[want].h.max_timestamp);
    }
    int64_t off, ts;
    ck_assert_int_eq(storage_log_max_timestamp(cx_log, &off, &ts), SL_OK);
    ck_assert_int_eq(ts, cx_model[end - 1].ts);
    sl_buf_deinit(&out);
}
END_TEST

START_TEST(test_clean_empty_first_segment_keeps_start_offset) {
    /* the first segments' records are all superseded by the last batch */
    cx_append_keys(12, 10, 10, 0, PROTOCOL_CODEC_NONE);
    int all[10] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
    cx_append_batch(all, NULL, 10, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_clean_idle(NOW, NULL);
    ck_assert_int_eq(storage_log_start_offset(cx_log), 0);
    ck_assert(cx_exists("00000000000000000000.log"));
    cx_check(end, false);
    ck_assert_int_eq(cx_got_n, 10);
    cx_verify(); /* the empty first segment survives a reopen */
    ck_assert_int_eq(storage_log_start_offset(cx_log), 0);
    cx_check(end, false);
    storage_read_result r;
    ck_assert_int_eq(storage_log_read(cx_log, 0, READ_MAX, INT64_MAX, true, &r), SL_OK);
    ck_assert_int_eq(r.first_offset, end - 10);
}
END_TEST

/* ================= when a pass runs ================= */

START_TEST(test_clean_min_compaction_lag) {
    cx_ccfg.min_compaction_lag_ms = HOUR_MS;
    cx_ts = NOW - 3 * HOUR_MS;
    cx_append_keys(20, 10, 10, 0, PROTOCOL_CODEC_NONE);
    cx_roll();
    int64_t young_base = storage_log_end_offset(cx_log);
    cx_ts = NOW - 60 * 1000; /* a minute old */
    cx_append_keys(20, 10, 10, 0, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_clean_idle(NOW, NULL);
    ck_assert_int_eq(storage_log_clean_first_dirty(cx_log), young_base);
    cx_check(young_base, false);
    cx_clean_idle(NOW + HOUR_MS, NULL); /* now old enough */
    ck_assert_int_eq(storage_log_clean_first_dirty(cx_log), end);
    cx_check(end, false);
}
END_TEST

START_TEST(test_clean_max_compaction_lag_forces_a_pass) {
    cx_ccfg.min_cleanable_dirty_ratio = 1; /* never by ratio */
    cx_append_keys(20, 10, 10, 0, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    storage_clean_stats st = cx_clean_idle(NOW, NULL);
    ck_assert(!st.pass_started);
    ck_assert_int_eq(storage_log_clean_first_dirty(cx_log), 0);
    cx_ccfg.max_compaction_lag_ms = 2 * HOUR_MS; /* records are one hour old */
    st = cx_clean_idle(NOW, NULL);
    ck_assert(!st.pass_started);
    st = cx_clean_idle(NOW + 2 * HOUR_MS, NULL);
    ck_assert(st.pass_done);
    cx_check(end, false);
}
END_TEST

START_TEST(test_clean_dirty_ratio_threshold) {
    cx_append_keys(40, 10, 200, 0, PROTOCOL_CODEC_NONE); /* 200 keys: little to remove */
    cx_roll();
    cx_clean_idle(NOW, NULL);
    cx_ccfg.min_cleanable_dirty_ratio = 0.5;
    cx_append_keys(4, 10, 200, 0, PROTOCOL_CODEC_NONE); /* a small dirty part */
    cx_roll();
    storage_clean_stats st;
    ck_assert_int_eq(storage_log_clean(cx_log, &cx_ccfg, NOW, &st), SL_OK);
    ck_assert(!st.pass_started);
    ck_assert(st.dirty_ratio > 0 && st.dirty_ratio < 0.5);
    cx_append_keys(60, 10, 200, 0, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    ck_assert_int_eq(storage_log_clean(cx_log, &cx_ccfg, NOW, &st), SL_OK);
    ck_assert(st.pass_started);
    ck_assert(st.dirty_ratio > 0.5);
    cx_clean_idle(NOW, NULL);
    cx_check(end, false);
}
END_TEST

START_TEST(test_clean_respects_clean_before) {
    cx_append_keys(30, 10, 10, 0, PROTOCOL_CODEC_NONE);
    cx_roll();
    cx_ccfg.clean_before = 150; /* the high watermark */
    cx_clean_idle(NOW, NULL);
    int64_t bound = storage_log_clean_first_dirty(cx_log);
    ck_assert_int_gt(bound, 0);
    ck_assert_int_le(bound, 150);
    cx_check(bound, false); /* everything at or above the bound is still there */
}
END_TEST

/* ================= passes and calls ================= */

START_TEST(test_clean_repeated_passes_converge) {
    for (int round = 0; round < 6; round++) {
        cx_append_keys(25, 10, 30, 7, PROTOCOL_CODEC_NONE);
        cx_roll();
        cx_clean_idle(NOW, NULL);
        cx_check(storage_log_end_offset(cx_log), false);
    }
    /* cleaned segments merge: the log does not grow a segment per round */
    ck_assert_int_le(storage_log_segment_count(cx_log), 4);
    /* nothing dirty: no pass, files unchanged */
    int64_t size = storage_log_size_bytes(cx_log);
    storage_clean_stats st = cx_clean_idle(NOW, NULL);
    ck_assert(!st.pass_started);
    ck_assert_int_eq(storage_log_size_bytes(cx_log), size);
    cx_verify();
}
END_TEST

START_TEST(test_clean_byte_budget_splits_work) {
    cx_append_keys(60, 10, 20, 0, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_ccfg.bytes_per_call = 1000;
    int calls = 0;
    storage_clean_stats total, st;
    memset(&total, 0, sizeof(total));
    for (; calls < 1000; calls++) {
        ck_assert_int_eq(storage_log_clean(cx_log, &cx_ccfg, NOW, &st), SL_OK);
        /* a call reads its budget plus at most one read (here: one segment) */
        ck_assert_int_le(st.bytes_read, cx_ccfg.bytes_per_call + cx_cfg.segment_bytes);
        stats_sum(&total, &st);
        if (calls > 0 && !st.more) break;
        ck_assert(st.more);
    }
    ck_assert_int_gt(calls, 5);
    ck_assert(total.pass_done);
    /* appends and reads may run between calls; the pass leaves the active segment alone */
    cx_check(end, false);
}
END_TEST

START_TEST(test_clean_small_map_takes_several_passes) {
    cx_ccfg.offset_map_bytes = STORAGE_CLEAN_MAP_BYTES_MIN; /* 42 slots, 31 keys a pass */
    cx_append_keys(40, 10, 100, 0, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    int calls = 0;
    cx_clean_idle(NOW, &calls);
    ck_assert_int_gt(calls, 5);
    ck_assert_int_eq(storage_log_clean_first_dirty(cx_log), end);
    cx_check(end, false);
    ck_assert_int_eq(cx_got_n, 100);
}
END_TEST

START_TEST(test_clean_batch_larger_than_the_map) {
    cx_ccfg.offset_map_bytes = STORAGE_CLEAN_MAP_BYTES_MIN; /* 31 keys a pass */
    int keys[60];
    for (int i = 0; i < 60; i++) {
        keys[i] = i;
    }
    cx_append_batch(keys, NULL, 60, PROTOCOL_CODEC_ZSTD); /* more keys than a pass maps */
    cx_append_batch(keys, NULL, 60, PROTOCOL_CODEC_ZSTD);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    int calls = 0;
    cx_clean_idle(NOW, &calls);
    ck_assert_int_ge(calls, 4); /* passes end inside batches */
    ck_assert_int_eq(storage_log_clean_first_dirty(cx_log), end);
    cx_check(end, false);
    ck_assert_int_eq(cx_got_n, 60);
}
END_TEST

START_TEST(test_clean_interleaved_appends_and_reads) {
    cx_append_keys(40, 10, 20, 0, PROTOCOL_CODEC_NONE);
    cx_roll();
    cx_ccfg.bytes_per_call = 1500;
    storage_clean_stats st;
    for (int i = 0; i < 200; i++) {
        ck_assert_int_eq(storage_log_clean(cx_log, &cx_ccfg, NOW, &st), SL_OK);
        cx_append_keys(1, 5, 20, 0, PROTOCOL_CODEC_NONE); /* rolls now and then */
        cx_read_all();
        if (!st.more && i > 10) break;
    }
    cx_ccfg.bytes_per_call = INT64_MAX;
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_clean_idle(NOW, NULL);
    cx_check(end, false);
}
END_TEST

START_TEST(test_clean_retention_drops_a_pass) {
    cx_append_keys(40, 10, 20, 0, PROTOCOL_CODEC_NONE);
    cx_roll();
    cx_ccfg.bytes_per_call = 3000;
    storage_clean_stats st;
    ck_assert_int_eq(storage_log_clean(cx_log, &cx_ccfg, NOW, &st), SL_OK);
    ck_assert(st.more);
    /* compact,delete: retention removes the oldest segments under the pass */
    storage_log_config c = cx_cfg;
    c.retention_bytes = storage_log_size_bytes(cx_log) / 2;
    ck_assert_int_eq(storage_log_set_config(cx_log, &c), SL_OK);
    int deleted = 0;
    ck_assert_int_eq(storage_log_retain(cx_log, NOW, INT64_MAX, &deleted), SL_OK);
    ck_assert_int_gt(deleted, 0);
    ck_assert(!storage_log_clean_in_progress(cx_log));
    cx_clean_idle(NOW, NULL);
    cx_check(storage_log_end_offset(cx_log), false);
    cx_verify();
}
END_TEST

START_TEST(test_clean_abort_removes_cleaned_file) {
    cx_append_keys(40, 10, 20, 0, PROTOCOL_CODEC_NONE);
    cx_roll();
    cx_ccfg.bytes_per_call = 1;
    storage_clean_stats st;
    bool cleaned_seen = false;
    for (int i = 0; i < 100 && !cleaned_seen; i++) {
        ck_assert_int_eq(storage_log_clean(cx_log, &cx_ccfg, NOW, &st), SL_OK);
        cleaned_seen = cx_exists("00000000000000000000.log.cleaned");
    }
    ck_assert(cleaned_seen);
    ck_assert(storage_log_clean_in_progress(cx_log));
    storage_log_clean_abort(cx_log);
    ck_assert(!storage_log_clean_in_progress(cx_log));
    ck_assert(!cx_exists("00000000000000000000.log.cleaned"));
    cx_ccfg.bytes_per_call = INT64_MAX;
    cx_clean_idle(NOW, NULL);
    cx_check(storage_log_end_offset(cx_log), false);
}
END_TEST

/* ================= recovery and verification ================= */

START_TEST(test_clean_recovers_after_clean_close_and_crash) {
    cx_append_keys(40, 10, 25, 6, PROTOCOL_CODEC_LZ4);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    cx_append_keys(3, 10, 25, 0, PROTOCOL_CODEC_NONE);
    /* the pass runs in a child that dies without closing the log */
    storage_log_close(cx_log);
    cx_log = NULL;
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        storage_log *log;
        storage_clean_stats st;
        if (storage_log_open(cx_dir, &cx_cfg, NOW, &log) != SL_OK) _exit(2);
        for (int i = 0; i < 100; i++) {
            if (storage_log_clean(log, &cx_ccfg, NOW, &st) != SL_OK) _exit(3);
            if (!st.more) break;
        }
        _exit(st.pass_done ? 0 : 4);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert(!cx_exists(".clean_shutdown"));
    /* without a recovery point every segment is scanned as unflushed: gaps must pass */
    char path[CX_PATH];
    cx_path(path, sizeof(path), "recovery-point");
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(storage_log_open(cx_dir, &cx_cfg, NOW, &cx_log), SL_OK);
    cx_check(end, false);
    /* missing indexes are rebuilt from compacted segments */
    storage_log_close(cx_log);
    cx_log = NULL;
    DIR *d = opendir(cx_dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strstr(e->d_name, ".index") || strstr(e->d_name, ".timeindex")) {
            cx_path(path, sizeof(path), e->d_name);
            unlink(path);
        }
    }
    closedir(d);
    ck_assert_int_eq(storage_log_open(cx_dir, &cx_cfg, NOW, &cx_log), SL_OK);
    cx_check(end, false);
    cx_verify();
    cx_check(end, false);
}
END_TEST

START_TEST(test_clean_verify_needs_the_checkpoint_for_gaps) {
    cx_append_keys(30, 10, 10, 0, PROTOCOL_CODEC_NONE);
    cx_roll();
    cx_clean_idle(NOW, NULL);
    cx_verify();
    storage_log_close(cx_log);
    cx_log = NULL;
    char path[CX_PATH];
    cx_path(path, sizeof(path), "cleaner-offset-checkpoint");
    ck_assert_int_eq(unlink(path), 0);
    cx_problems = 0;
    ck_assert_int_eq(storage_verify_dir(cx_dir, cx_report, (void *)1), SL_E_CORRUPT);
    ck_assert_int_gt(cx_problems, 0);
    ck_assert_int_eq(storage_log_open(cx_dir, &cx_cfg, NOW, &cx_log), SL_OK); /* cfg.compact */
}
END_TEST

/* Snapshot of the .log files and the checkpoint: names and bytes. */
typedef struct cx_file {
    char name[sizeof(((struct dirent *)0)->d_name)];
    sl_buf data;
} cx_file;

static int cx_snapshot(cx_file *files, int max) {
    int n = 0;
    DIR *d = opendir(cx_dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        bool log_file = len > 4 && strcmp(e->d_name + len - 4, ".log") == 0;
        if (!log_file && strcmp(e->d_name, "cleaner-offset-checkpoint") != 0) continue;
        char path[CX_PATH];
        cx_path(path, sizeof(path), e->d_name);
        snprintf(files[n].name, sizeof(files[n].name), "%s", e->d_name);
        sl_buf_init(&files[n].data);
        ck_assert_int_eq(storage_file_read(AT_FDCWD, path, 1 << 24, &files[n].data), SL_OK);
        n++;
    }
    closedir(d);
    return n;
}

static void cx_write(const char *name, const sl_buf *data) {
    char path[CX_PATH];
    cx_path(path, sizeof(path), name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data->data, data->len), (ssize_t)data->len);
    close(fd);
}

START_TEST(test_clean_interrupted_swap_is_completed) {
    /* round 1 leaves small cleaned segments; round 2 merges them with new dirty data into
     * one group, whose swap we interrupt after its commit point */
    cx_append_keys(30, 10, 12, 0, PROTOCOL_CODEC_NONE);
    cx_roll();
    cx_clean_idle(NOW, NULL);
    int keys[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
    cx_append_batch(keys, NULL, 6, PROTOCOL_CODEC_NONE);
    cx_append_batch(keys + 6, NULL, 6, PROTOCOL_CODEC_NONE);
    int64_t end = storage_log_end_offset(cx_log);
    cx_roll();
    int32_t before_segments = storage_log_segment_count(cx_log);
    static cx_file before[64];
    int nb = cx_snapshot(before, 64);
    storage_clean_stats st = cx_clean_idle(NOW, NULL);
    ck_assert_int_gt(st.segments_replaced, 1);
    ck_assert_int_lt(storage_log_segment_count(cx_log), before_segments);
    cx_check(end, false);
    static cx_got after[CX_MAX];
    int na = cx_got_n;
    memcpy(after, cx_got_v, sizeof(cx_got) * (size_t)na);
    storage_log_close(cx_log);
    cx_log = NULL;
    static cx_file cleaned[64];
    int nc = cx_snapshot(cleaned, 64);
    /* the directory as a crash after the .swap rename left it: the old segments, the old
     * checkpoint, and the cleaned first segment of the group under its .swap name */
    test_rmtree(cx_dir);
    ck_assert_int_eq(mkdir(cx_dir, 0755), 0);
    for (int i = 0; i < nb; i++) {
        cx_write(before[i].name, &before[i].data);
    }
    for (int i = 0; i < nc; i++) {
        if (strcmp(cleaned[i].name, "00000000000000000000.log") == 0) {
            cx_write("00000000000000000000.log.swap", &cleaned[i].data);
        }
    }
    ck_assert_int_eq(storage_log_open(cx_dir, &cx_cfg, NOW, &cx_log), SL_OK);
    ck_assert(!cx_exists("00000000000000000000.log.swap"));
    cx_read_all();
    ck_assert_int_eq(cx_got_n, na);
    for (int i = 0; i < na; i++) {
        ck_assert_int_eq(cx_got_v[i].offset, after[i].offset);
    }
    cx_verify();
    for (int i = 0; i < nb; i++) {
        sl_buf_deinit(&before[i].data);
    }
    for (int i = 0; i < nc; i++) {
        sl_buf_deinit(&cleaned[i].data);
    }
}
END_TEST

START_TEST(test_clean_corrupt_batch_stops_cleaning) {
    cx_append_keys(30, 10, 10, 0, PROTOCOL_CODEC_NONE);
    cx_roll();
    char path[CX_PATH];
    cx_path(path, sizeof(path), "00000000000000000000.log");
    int fd = open(path, O_RDWR);
    ck_assert_int_ge(fd, 0);
    uint8_t byte;
    ck_assert_int_eq(pread(fd, &byte, 1, 200), 1); /* inside the first batch's records */
    byte ^= 0x40;
    ck_assert_int_eq(pwrite(fd, &byte, 1, 200), 1);
    close(fd);
    int64_t size = storage_log_size_bytes(cx_log);
    storage_clean_stats st;
    ck_assert_int_eq(storage_log_clean(cx_log, &cx_ccfg, NOW, &st), SL_E_CORRUPT);
    ck_assert(!st.more);
    ck_assert(!cx_exists("00000000000000000000.log.cleaned"));
    ck_assert_int_eq(storage_log_size_bytes(cx_log), size);
    ck_assert_int_eq(storage_log_clean(cx_log, &cx_ccfg, NOW, &st), SL_E_CORRUPT);
    ck_assert_int_eq(st.bytes_read, 0);
}
END_TEST

/* ================= gaps outside the cleaner ================= */

static void cx_replica_batch(sl_buf *out, int64_t base, int count) {
    test_batch_build(out, base, count, 20, NOW, (uint8_t)base);
}

START_TEST(test_clean_replica_append_accepts_gaps) {
    sl_buf b;
    sl_buf_init(&b);
    /* not compacted: a gap is refused */
    storage_log_close(cx_log);
    cx_log = NULL;
    storage_log_config plain = cx_cfg;
    plain.compact = false;
    char plain_dir[400];
    snprintf(plain_dir, sizeof(plain_dir), "%s/plain-0", cx_root);
    storage_log *log;
    ck_assert_int_eq(storage_log_open(plain_dir, &plain, NOW, &log), SL_OK);
    cx_replica_batch(&b, 0, 10);
    cx_replica_batch(&b, 20, 10);
    ck_assert_int_eq(storage_log_append_replica(log, b.data, b.len, NOW, NULL), SL_E_RANGE);
    storage_log_close(log);
    /* compacted: gaps between and before batches are fine, overlaps are not */
    ck_assert_int_eq(storage_log_open(cx_dir, &cx_cfg, NOW, &cx_log), SL_OK);
    storage_append_info info;
    ck_assert_int_eq(storage_log_append_replica(cx_log, b.data, b.len, NOW, &info), SL_OK);
    ck_assert_int_eq(info.base_offset, 0);
    ck_assert_int_eq(info.last_offset, 29);
    ck_assert(cx_exists("cleaner-offset-checkpoint"));
    sl_buf_reset(&b);
    cx_replica_batch(&b, 25, 10);
    ck_assert_int_eq(storage_log_append_replica(cx_log, b.data, b.len, NOW, NULL), SL_E_RANGE);
    sl_buf_reset(&b);
    cx_replica_batch(&b, 40, 5);
    ck_assert_int_eq(storage_log_append_replica(cx_log, b.data, b.len, NOW, NULL), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(cx_log), 45);
    sl_buf out;
    sl_buf_init(&out);
    ck_assert_int_eq(storage_log_read_copy(cx_log, 12, 1, INT64_MAX, true, &out), SL_OK);
    ck_assert_int_eq((int64_t)sl_load_be64(out.data), 20);
    /* the checkpoint keeps the log gap-tolerant even if the policy changes */
    cx_cfg.compact = false;
    cx_verify();
    ck_assert_int_eq(storage_log_end_offset(cx_log), 45);
    sl_buf_reset(&out);
    ck_assert_int_eq(storage_log_read_copy(cx_log, 30, 1, INT64_MAX, true, &out), SL_OK);
    ck_assert_int_eq((int64_t)sl_load_be64(out.data), 40);
    sl_buf_deinit(&out);
    sl_buf_deinit(&b);
}
END_TEST

START_TEST(test_clean_truncate_into_a_gap) {
    int keys[5] = { 1, 2, 3, 4, 5 };
    cx_append_batch(keys, NULL, 5, PROTOCOL_CODEC_NONE); /* 0-4: all superseded */
    cx_append_batch(keys, NULL, 5, PROTOCOL_CODEC_NONE); /* 5-9 */
    int other[5] = { 6, 7, 8, 9, 10 };
    cx_append_batch(other, NULL, 5, PROTOCOL_CODEC_NONE); /* 10-14 */
    cx_append_batch(keys, NULL, 5, PROTOCOL_CODEC_NONE);  /* 15-19: supersedes 5-9 */
    cx_roll();
    cx_clean_idle(NOW, NULL);
    cx_read_all();
    ck_assert_int_eq(cx_batches[0].h.base_offset, 10); /* 0-9 gone */
    ck_assert_int_eq(storage_log_truncate_to(cx_log, 7), SL_OK);
    ck_assert_int_eq(storage_log_end_offset(cx_log), 7);
    ck_assert_int_le(storage_log_clean_first_dirty(cx_log), 7);
    /* 0-9 were superseded by 15-19 and cleaned away before the truncation removed 10-19
     * (why only offsets below the high watermark are cleaned): nothing is left */
    for (int64_t o = 0; o < CX_MAX; o++) {
        cx_model[o].present = false;
    }
    cx_append_batch(other, NULL, 5, PROTOCOL_CODEC_NONE);
    ck_assert_int_eq(storage_log_end_offset(cx_log), 12);
    cx_verify();
    cx_check(0, false);
}
END_TEST

/* ================= helpers ================= */

START_TEST(test_clean_siphash128_reference_vectors) {
    /* veorq/SipHash vectors.h, vectors_sip128: key 00..0f, message 00..(len-1) */
    static const struct {
        size_t len;
        const char *hex;
    } v[] = {
        { 0, "a3817f04ba25a8e66df67214c7550293" }, { 1, "da87c1d86b99af44347659119b22fc45" },
        { 2, "8177228da4a45dc7fca38bdef60affe4" }, { 8, "3b62a9ba6258f5610f83e264f31497b4" },
        { 9, "264499060ad9baabc47f8b02bb6d71ed" },
    };
    uint8_t msg[16];
    for (int i = 0; i < 16; i++) {
        msg[i] = (uint8_t)i;
    }
    uint64_t key[2] = { 0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint64_t out[2];
        storage_siphash128(key, msg, v[i].len, out);
        char hex[33];
        for (int k = 0; k < 16; k++) { /* each word little-endian, as the reference prints */
            snprintf(hex + 2 * k, 3, "%02x", (unsigned)((out[k / 8] >> (8 * (k % 8))) & 0xff));
        }
        ck_assert_str_eq(hex, v[i].hex);
    }
}
END_TEST

START_TEST(test_clean_offset_map_keeps_latest) {
    storage_offset_map m;
    storage_offset_map_init(&m, 1000, 1 << 20);
    ck_assert_int_le(m.slot_count, 1000 * 4 / 3 + 16);
    char key[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof(key), "key-%d", i % 700);
        storage_offset_map_put(&m, (const uint8_t *)key, strlen(key), i);
    }
    ck_assert_int_eq(m.entries, 700);
    for (int k = 0; k < 700; k++) {
        snprintf(key, sizeof(key), "key-%d", k);
        int64_t want = 2800 + k < 3000 ? 2800 + k : 2100 + k;
        ck_assert_int_eq(storage_offset_map_get(&m, (const uint8_t *)key, strlen(key)), want);
    }
    ck_assert_int_eq(storage_offset_map_get(&m, (const uint8_t *)"nope", 4), -1);
    ck_assert_int_eq(storage_offset_map_get(&m, (const uint8_t *)"", 0), -1);
    storage_offset_map_deinit(&m);
}
END_TEST

START_TEST(test_clean_config_check) {
    storage_clean_config c;
    storage_clean_config_defaults(&c);
    ck_assert_int_eq(storage_clean_config_check(&c), SL_OK);
    c.min_cleanable_dirty_ratio = 1.5;
    ck_assert_int_eq(storage_clean_config_check(&c), SL_E_CONFIG);
    storage_clean_config_defaults(&c);
    c.offset_map_bytes = 100;
    ck_assert_int_eq(storage_clean_config_check(&c), SL_E_CONFIG);
    storage_clean_config_defaults(&c);
    c.bytes_per_call = 0;
    ck_assert_int_eq(storage_clean_config_check(&c), SL_E_CONFIG);
    storage_clean_stats st;
    ck_assert_int_eq(storage_log_clean(cx_log, &c, NOW, &st), SL_E_CONFIG);
}
END_TEST

Suite *storage_clean_suite(void) {
    Suite *s = suite_create("storage_clean");
    struct {
        const char *name;
        const TTest *tests[10];
    } cases[] = {
        { "keep",
          { test_clean_keeps_latest_per_key, test_clean_leaves_active_segment_alone,
            test_clean_drops_keyless_records, test_clean_tombstone_kept_until_delete_horizon,
            test_clean_superseded_tombstone_goes_at_once } },
        { "rewrite",
          { test_clean_rewrite_keeps_batch_fields, test_clean_control_batches_kept,
            test_clean_reads_and_time_lookups,
            test_clean_empty_first_segment_keeps_start_offset } },
        { "schedule",
          { test_clean_min_compaction_lag, test_clean_max_compaction_lag_forces_a_pass,
            test_clean_dirty_ratio_threshold, test_clean_respects_clean_before } },
        { "calls",
          { test_clean_repeated_passes_converge, test_clean_byte_budget_splits_work,
            test_clean_small_map_takes_several_passes, test_clean_batch_larger_than_the_map,
            test_clean_interleaved_appends_and_reads, test_clean_retention_drops_a_pass,
            test_clean_abort_removes_cleaned_file } },
        { "recover",
          { test_clean_recovers_after_clean_close_and_crash,
            test_clean_verify_needs_the_checkpoint_for_gaps,
            test_clean_interrupted_swap_is_completed, test_clean_corrupt_batch_stops_cleaning,
            test_clean_replica_append_accepts_gaps, test_clean_truncate_into_a_gap } },
        { "parts",
          { test_clean_siphash128_reference_vectors, test_clean_offset_map_keeps_latest,
            test_clean_config_check } },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        TCase *tc = tcase_create(cases[i].name);
        tcase_add_checked_fixture(tc, cx_setup, cx_teardown);
        tcase_set_timeout(tc, 120);
        for (size_t k = 0; k < 10 && cases[i].tests[k]; k++) {
            tcase_add_test(tc, cases[i].tests[k]);
        }
        suite_add_tcase(s, tc);
    }
    TCase *tc = tcase_create("codec");
    tcase_add_checked_fixture(tc, cx_setup, cx_teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_clean_every_codec, PROTOCOL_CODEC_NONE, PROTOCOL_CODEC_ZSTD + 1);
    suite_add_tcase(s, tc);
    return s;
}
