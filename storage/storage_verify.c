/* storage_verify.c — offline verification of a log directory (storage_verify_dir).
 *
 * Reads everything and changes nothing: each segment is read batch by batch (header,
 * CRC, contiguous offsets), and its two indexes are checked against the batches in one
 * merged pass (an .index entry must sit at a batch start and name that batch's last
 * offset; a .timeindex entry must name a batch's last offset and that batch's
 * maxTimestamp). A compacted log (a cleaner-offset-checkpoint file exists) may have
 * gaps: its offsets must only increase, within and across segments. The leader epoch
 * checkpoint must be canonical, below the end offset, and agree with the epochs stamped on
 * the batches. */
#include "storage/storage_int.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct verify_ctx {
    const char *dir;
    int dir_fd;
    void (*report)(const char *line, void *arg);
    void *arg;
    int problems;
    bool clean;            /* .clean_shutdown present */
    bool gaps;             /* compacted: offsets increase with gaps */
    uint8_t *buf;          /* STORAGE_SCAN_BUF_BYTES */
    storage_epochs epochs; /* from the checkpoint (empty when absent or bad) */
    bool epochs_seen;      /* some batch carries an epoch >= 0 */
    int32_t epoch_max;     /* largest batch epoch so far */
    int64_t end_offset;    /* next offset after the last good batch */
} verify_ctx;

__attribute__((format(printf, 2, 3))) static void
verify_problem(verify_ctx *v, const char *fmt, ...) {
    char line[512];
    int n = snprintf(line, sizeof(line), "%s: ", v->dir);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
    va_end(ap);
    v->problems++;
    if (v->report) v->report(line, v->arg);
}

/* The state of one segment's check. */
typedef struct verify_seg {
    int64_t base;
    bool last;
    storage_index offsets;
    storage_index times;
    int32_t oi_next; /* next .index entry to match */
    int32_t ti_next; /* next .timeindex entry to match */
    int64_t max_timestamp;
    int32_t epoch_at; /* checkpoint entry covering the current batch */
} verify_seg;

static void
verify_batch_indexes(verify_ctx *v, verify_seg *s, int64_t pos, const storage_batch *b) {
    for (; s->oi_next < s->offsets.entries; s->oi_next++) {
        int32_t rel, p;
        storage_index_offset_at(&s->offsets, s->oi_next, &rel, &p);
        if (p > pos) break;
        if (p < pos) {
            verify_problem(v, "%020" PRId64 ".index entry %d: position %d is not a batch start",
                           s->base, s->oi_next, p);
        } else if (s->base + rel != b->last_offset) {
            verify_problem(v,
                           "%020" PRId64 ".index entry %d: offset %" PRId64
                           " but the batch at position %d ends at %" PRId64,
                           s->base, s->oi_next, s->base + rel, p, b->last_offset);
        }
    }
    for (; s->ti_next < s->times.entries; s->ti_next++) {
        int64_t ts;
        int32_t rel;
        storage_index_time_at(&s->times, s->ti_next, &ts, &rel);
        if (s->base + rel > b->last_offset) break;
        if (s->base + rel < b->last_offset) {
            verify_problem(v,
                           "%020" PRId64 ".timeindex entry %d: offset %" PRId64
                           " is not a batch's last offset",
                           s->base, s->ti_next, s->base + rel);
        } else if (ts != b->max_timestamp) {
            verify_problem(v,
                           "%020" PRId64 ".timeindex entry %d: timestamp %" PRId64
                           " but the batch has %" PRId64,
                           s->base, s->ti_next, ts, b->max_timestamp);
        }
    }
}

static void verify_batch_epoch(verify_ctx *v, verify_seg *s, const storage_batch *b) {
    if (b->epoch < 0) return;
    if (b->epoch < v->epoch_max) {
        verify_problem(v, "batch at offset %" PRId64 " has leader epoch %d, below an earlier %d",
                       b->base_offset, b->epoch, v->epoch_max);
    }
    if (b->epoch > v->epoch_max) v->epoch_max = b->epoch;
    v->epochs_seen = true;
    const storage_epochs *e = &v->epochs;
    while (s->epoch_at + 1 < e->count && e->v[s->epoch_at + 1].start_offset <= b->base_offset) {
        s->epoch_at++;
    }
    if (e->count == 0 || e->v[0].start_offset > b->base_offset) return; /* below the cache */
    if (e->v[s->epoch_at].epoch != b->epoch) {
        verify_problem(v,
                       "batch at offset %" PRId64 " has leader epoch %d but the checkpoint "
                       "says epoch %d from offset %" PRId64,
                       b->base_offset, b->epoch, e->v[s->epoch_at].epoch,
                       e->v[s->epoch_at].start_offset);
    }
}

/* Entries left after the data: zeros in the active segment's preallocated tail are fine. */
static void verify_index_leftovers(verify_ctx *v, verify_seg *s) {
    const storage_index *idx[2] = { &s->offsets, &s->times };
    const int32_t next[2] = { s->oi_next, s->ti_next };
    const char *names[2] = { "index", "timeindex" };
    for (int k = 0; k < 2; k++) {
        for (int32_t i = next[k]; i < idx[k]->entries; i++) {
            const uint8_t *e = idx[k]->map + (size_t)i * (size_t)idx[k]->entry_bytes;
            bool zero = true;
            for (int32_t j = 0; j < idx[k]->entry_bytes; j++) {
                zero = zero && e[j] == 0;
            }
            if (zero && s->last) continue;
            verify_problem(v, "%020" PRId64 ".%s entry %d points past the data", s->base, names[k],
                           i);
            break;
        }
    }
}

static void verify_open_indexes(verify_ctx *v, verify_seg *s) {
    const char *suffixes[2] = { ".index", ".timeindex" };
    storage_index *idx[2] = { &s->offsets, &s->times };
    for (int k = 0; k < 2; k++) {
        char name[STORAGE_NAME_BYTES];
        bool misaligned = false;
        storage_segment_file_name(name, s->base, suffixes[k]);
        int rc = storage_index_open_sealed(idx[k], v->dir_fd, name, &misaligned);
        if (rc != SL_OK) {
            verify_problem(v, "%s: cannot open (%s)", name, sl_strerror(rc));
        } else if (misaligned) {
            verify_problem(v, "%s: size is not a whole number of entries", name);
        }
    }
}

/* Read the batches of one segment; returns the position where good data ends. */
static int64_t verify_batches(verify_ctx *v, verify_seg *s, int fd, int64_t size) {
    storage_cursor c;
    storage_cursor_init(&c, fd, size, v->buf, STORAGE_SCAN_BUF_BYTES);
    int64_t pos = 0, steps_max = size / PROTOCOL_BATCH_HEADER_BYTES + 1;
    for (int64_t i = 0; i < steps_max && pos < size; i++) {
        storage_batch b;
        int rc = storage_cursor_batch(&c, pos, &b);
        if (rc == SL_OK) rc = storage_cursor_check_crc(&c, pos, &b);
        if (rc != SL_OK) {
            verify_problem(v,
                           "%020" PRId64 ".log: bad batch at position %" PRId64 " (%s), %" PRId64
                           " bytes after it unread",
                           s->base, pos, sl_strerror(rc), size - pos);
            return pos;
        }
        if (v->gaps ? b.base_offset < v->end_offset : b.base_offset != v->end_offset) {
            verify_problem(v,
                           "%020" PRId64 ".log: batch at position %" PRId64
                           " starts at offset %" PRId64 ", expected %" PRId64,
                           s->base, pos, b.base_offset, v->end_offset);
            return pos;
        }
        if (b.last_offset - s->base > INT32_MAX) {
            verify_problem(v, "%020" PRId64 ".log: offset %" PRId64 " overflows the segment",
                           s->base, b.last_offset);
        }
        verify_batch_indexes(v, s, pos, &b);
        verify_batch_epoch(v, s, &b);
        if (b.max_timestamp > s->max_timestamp) s->max_timestamp = b.max_timestamp;
        v->end_offset = b.last_offset + 1;
        pos += b.size;
    }
    return pos;
}

static void verify_segment(verify_ctx *v, int64_t base, bool last) {
    char name[STORAGE_NAME_BYTES];
    storage_segment_file_name(name, base, ".log");
    if (v->end_offset >= 0 && (v->gaps ? base < v->end_offset : base != v->end_offset)) {
        verify_problem(v,
                       "%s: starts at offset %" PRId64 " but the previous segment ends at %" PRId64,
                       name, base, v->end_offset);
    }
    v->end_offset = base;
    int fd = openat(v->dir_fd, name, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        verify_problem(v, "%s: cannot open (%s)", name, strerror(errno));
        if (fd >= 0) close(fd);
        return;
    }
    verify_seg s = { .base = base, .last = last, .max_timestamp = STORAGE_NO_TIMESTAMP };
    storage_index_init(&s.offsets, STORAGE_INDEX_ENTRY_BYTES);
    storage_index_init(&s.times, STORAGE_TIMEINDEX_ENTRY_BYTES);
    verify_open_indexes(v, &s);
    (void)verify_batches(v, &s, fd, st.st_size);
    verify_index_leftovers(v, &s);
    bool sealed = !last || v->clean;
    if (sealed && s.max_timestamp >= 0) {
        int64_t ts = -1;
        int32_t rel;
        if (s.times.entries > 0) storage_index_time_at(&s.times, s.times.entries - 1, &ts, &rel);
        if (ts != s.max_timestamp) {
            verify_problem(v,
                           "%020" PRId64 ".timeindex: last timestamp %" PRId64
                           " is not the segment's largest, %" PRId64,
                           base, ts, s.max_timestamp);
        }
    }
    storage_index_close(&s.offsets);
    storage_index_close(&s.times);
    close(fd);
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The base offsets of the directory's .log files, sorted. */
static int verify_list(verify_ctx *v, int64_t **bases_out, int32_t *count_out) {
    int fd = dup(v->dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int rc = -errno;
        if (fd >= 0) close(fd);
        return rc;
    }
    int64_t *bases = NULL;
    int32_t count = 0, cap = 0;
    for (int64_t n = 0; n < 4LL * STORAGE_SEGMENTS_MAX; n++) {
        struct dirent *ent = readdir(d);
        if (!ent) break;
        int64_t base;
        const char *suffix;
        if (!storage_parse_segment_name(ent->d_name, &base, &suffix)) continue;
        if (strcmp(suffix, ".log") != 0) continue;
        if (count == cap) {
            cap = cap ? cap * 2 : 16;
            bases = sl_realloc(bases, (size_t)cap * sizeof(bases[0]));
        }
        bases[count++] = base;
    }
    closedir(d);
    if (count > 0) qsort(bases, (size_t)count, sizeof(bases[0]), cmp_i64);
    *bases_out = bases;
    *count_out = count;
    return SL_OK;
}

/* Load the checkpoint (before the segments, which are checked against it). */
static void verify_load_epochs(verify_ctx *v, bool *present_out) {
    sl_buf buf, canon;
    sl_buf_init(&buf);
    sl_buf_init(&canon);
    int rc = storage_file_read(v->dir_fd, STORAGE_EPOCH_FILE, STORAGE_CHECKPOINT_BYTES_MAX, &buf);
    *present_out = rc != SL_E_NOT_FOUND;
    if (rc == SL_OK) rc = storage_epochs_parse(&v->epochs, buf.data, buf.len);
    if (rc == SL_OK) {
        storage_epochs_encode(&v->epochs, &canon);
        bool same = canon.len == buf.len && memcmp(canon.data, buf.data, buf.len) == 0;
        if (!same) verify_problem(v, "%s: entries are not monotonic", STORAGE_EPOCH_FILE);
    } else if (rc != SL_E_NOT_FOUND) {
        verify_problem(v, "%s: unreadable (%s)", STORAGE_EPOCH_FILE, sl_strerror(rc));
    }
    sl_buf_deinit(&buf);
    sl_buf_deinit(&canon);
}

static void verify_epochs_end(verify_ctx *v, bool present) {
    if (!present && v->epochs_seen) {
        verify_problem(v, "%s: missing although batches carry leader epochs", STORAGE_EPOCH_FILE);
    }
    for (int32_t i = 0; i < v->epochs.count; i++) {
        if (v->epochs.v[i].start_offset > v->end_offset) {
            verify_problem(v, "%s: epoch %d starts at %" PRId64 ", beyond the end offset %" PRId64,
                           STORAGE_EPOCH_FILE, v->epochs.v[i].epoch, v->epochs.v[i].start_offset,
                           v->end_offset);
        }
    }
}

static void verify_offset_file(verify_ctx *v, const char *name) {
    int64_t value = -1;
    int rc = storage_offset_file_read(v->dir_fd, name, &value);
    if (rc == SL_OK && value > v->end_offset) {
        verify_problem(v, "%s: %" PRId64 " is beyond the end offset %" PRId64, name, value,
                       v->end_offset);
    } else if (rc != SL_OK && rc != SL_E_NOT_FOUND) {
        verify_problem(v, "%s: unreadable (%s)", name, sl_strerror(rc));
    }
}

int storage_verify_dir(const char *dir, void (*report)(const char *line, void *arg), void *arg) {
    verify_ctx v = { .dir = dir, .report = report, .arg = arg, .end_offset = -1, .epoch_max = -1 };
    v.dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (v.dir_fd < 0) return -errno;
    int64_t *bases = NULL;
    int32_t count = 0;
    int rc = verify_list(&v, &bases, &count);
    if (rc != SL_OK) {
        close(v.dir_fd);
        return rc;
    }
    v.clean = storage_file_exists(v.dir_fd, STORAGE_CLEAN_SHUTDOWN_FILE);
    v.gaps = storage_file_exists(v.dir_fd, STORAGE_CLEAN_CHECKPOINT_FILE);
    v.buf = sl_malloc(STORAGE_SCAN_BUF_BYTES);
    storage_epochs_init(&v.epochs);
    bool epochs_present = false;
    verify_load_epochs(&v, &epochs_present);
    for (int32_t i = 0; i < count; i++) {
        verify_segment(&v, bases[i], i == count - 1);
    }
    if (count == 0) verify_problem(&v, "no segments");
    verify_epochs_end(&v, epochs_present);
    verify_offset_file(&v, STORAGE_START_OFFSET_FILE);
    verify_offset_file(&v, STORAGE_RECOVERY_POINT_FILE);
    storage_epochs_deinit(&v.epochs);
    sl_free(v.buf);
    sl_free(bases);
    close(v.dir_fd);
    return v.problems > 0 ? SL_E_CORRUPT : SL_OK;
}
