/* tools_dump_log.c — `sluice dump-log --files f1,f2`: print the contents of log segment
 * files (.log), offset indexes (.index) and time indexes (.timeindex) read straight from
 * disk, as Kafka's kafka-dump-log.sh (DumpLogSegments):
 *
 *   Dumping /data/b1/hello.kafka-0/00000000000000000000.log
 *   Log starting offset: 0
 *   baseOffset: 0 lastOffset: 2 count: 3 baseSequence: -1 lastSequence: -1 producerId: -1
 *     producerEpoch: -1 partitionLeaderEpoch: 1 isTransactional: false isControl: false
 *     deleteHorizonMs: OptionalLong.empty position: 0 CreateTime: 1700000000000 size: 96
 *     magic: 2 compresscodec: none crc: 123 isvalid: true          (one line)
 *   | offset: 0 CreateTime: 1700000000000 keySize: 4 valueSize: 3 sequence: -1 headerKeys: [] key:
 * key1 payload: no1
 *
 * --deep-iteration prints every record (implied by --print-data-log, which adds key and
 * payload); --verify-index-only checks index entries against the log without printing
 * them ("Mismatches in :<file>" on stderr); --index-sanity-check only checks index sizes.
 * sluice's own --verify runs the storage module's checker (storage_verify_dir) over the
 * partition directory of each given file or directory (meant for logs no broker has open:
 * an open log's active segment has preallocated index space). Files are read with mmap and
 * never written. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"
#include "storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define DL_HEADER_UP_TO_MAGIC 17                  /* Kafka's HEADER_SIZE_UP_TO_MAGIC */
#define DL_DECOMPRESSED_MAX   ((size_t)256 << 20) /* cap on one batch's records section */
#define DL_MISMATCHES_MAX     100000              /* problems remembered per file */

static const tools_opt_def dl_opts[] = {
    { "files", TOOLS_OPT_LIST, TOOLS_OPT_REQUIRED, "file1, file2, ...", NULL,
      "The comma separated list of data and index log files to be dumped." },
    { "deep-iteration", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "if set, uses deep instead of shallow iteration. Automatically set if print-data-log is "
      "enabled." },
    { "print-data-log", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "If set, printing the messages content when dumping data logs. Automatically set if any "
      "decoder option is specified." },
    { "verify-index-only", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "if set, just verify the index log without printing its content." },
    { "index-sanity-check", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "if set, just checks the index sanity without printing its content. This is the same "
      "check that is executed on broker startup to determine if an index needs rebuilding or "
      "not." },
    { "max-message-size", TOOLS_OPT_INT, 0, "size", "5242880", "Size of largest message." },
    { "max-bytes", TOOLS_OPT_INT, 0, "size", "2147483647",
      "Limit the amount of total batches read in bytes avoiding reading the whole .log file(s)." },
    { "skip-record-metadata", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Whether to skip printing metadata for each record." },
    { "verify", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Check the partition directories of the given files with the broker's log checker "
      "(batches, CRCs, offsets, indexes, epoch checkpoint); prints every problem." },
};

/* A read-only mapping of a whole file. */
typedef struct dl_file {
    const uint8_t *data;
    size_t size;
} dl_file;

static int dl_map(const char *path, dl_file *f) {
    memset(f, 0, sizeof(*f));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    struct stat st;
    int rc = SL_OK;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            rc = -errno;
        } else {
            f->data = p;
            f->size = (size_t)st.st_size;
        }
    }
    close(fd);
    return rc;
}

static void dl_unmap(dl_file *f) {
    if (f->data) munmap((void *)f->data, f->size);
    memset(f, 0, sizeof(*f));
}

static void dl_abs_path(const char *path, char *out, size_t out_size) {
    char *real = realpath(path, NULL);
    snprintf(out, out_size, "%s", real ? real : path);
    free(real);
}

/* The base offset in a segment file name ("00000000000000000042.log" → 42). */
static bool dl_base_offset(const char *path, int64_t *out) {
    const char *name = strrchr(path, '/');
    name = name ? name + 1 : path;
    char digits[32];
    size_t n = strcspn(name, ".");
    if (n == 0 || n >= sizeof(digits)) return false;
    memcpy(digits, name, n);
    digits[n] = '\0';
    return tools_parse_i64(digits, out);
}

/* ---- batches ---- */

/* Kafka's FileLogInputStream.nextBatch: the size of the batch at pos, 0 at the end (or a
 * partial batch), or an error message for sizes outside [14, max_message]. */
static int dl_next_batch(const dl_file *f,
                         size_t pos,
                         size_t end,
                         int64_t max_message,
                         size_t *size_out,
                         char *err,
                         size_t err_size) {
    *size_out = 0;
    if (pos + DL_HEADER_UP_TO_MAGIC >= end) return SL_OK;
    int32_t length = (int32_t)sl_load_be32(f->data + pos + PROTOCOL_BATCH_OFF_LENGTH);
    if (length < 14) {
        snprintf(err, err_size, "Found record size %d smaller than minimum record overhead (14).",
                 length);
        return SL_E_CORRUPT;
    }
    if (length > max_message) {
        snprintf(err, err_size,
                 "Record size %d exceeds the largest allowable message size (%" PRId64 ").", length,
                 max_message);
        return SL_E_CORRUPT;
    }
    if (pos + PROTOCOL_BATCH_LOG_OVERHEAD + (size_t)length > end) return SL_OK;
    *size_out = PROTOCOL_BATCH_LOG_OVERHEAD + (size_t)length;
    return SL_OK;
}

static int32_t dl_sequence(int32_t base, int32_t delta) {
    if (base < 0) return -1;
    int64_t s = (int64_t)base + delta;
    return (int32_t)(s > INT32_MAX ? s - INT32_MAX - 1
                                   : s); /* DefaultRecordBatch.incrementSequence */
}

static void dl_print_batch(const uint8_t *b, size_t size, size_t pos) {
    protocol_batch_header h;
    protocol_batch_header_fields(b, &h);
    bool valid = size >= PROTOCOL_BATCH_HEADER_BYTES && protocol_batch_crc(b, size) == h.crc;
    printf("baseOffset: %" PRId64 " lastOffset: %" PRId64
           " count: %d baseSequence: %d lastSequence: %d "
           "producerId: %" PRId64 " producerEpoch: %d partitionLeaderEpoch: %d isTransactional: %s "
           "isControl: %s deleteHorizonMs: ",
           h.base_offset, protocol_batch_last_offset(&h), h.record_count, h.base_sequence,
           dl_sequence(h.base_sequence, h.last_offset_delta), h.producer_id, h.producer_epoch,
           h.partition_leader_epoch, protocol_batch_is_transactional(&h) ? "true" : "false",
           protocol_batch_is_control(&h) ? "true" : "false");
    if (h.attributes & PROTOCOL_ATTR_DELETE_HORIZON) {
        printf("OptionalLong[%" PRId64 "]", h.base_timestamp);
    } else {
        printf("OptionalLong.empty");
    }
    printf(" position: %zu %s: %" PRId64 " size: %zu magic: %d compresscodec: %s crc: %" PRIu32
           " isvalid: %s\n",
           pos, (h.attributes & PROTOCOL_ATTR_LOG_APPEND_TIME) ? "LogAppendTime" : "CreateTime",
           h.max_timestamp, size, h.magic, protocol_codec_name(protocol_batch_codec(&h)), h.crc,
           valid ? "true" : "false");
}

static void dl_print_control(const protocol_record *rec) {
    static const char *const names[] = { "ABORT",           "COMMIT",          "LEADER_CHANGE",
                                         "SNAPSHOT_HEADER", "SNAPSHOT_FOOTER", "KRAFT_VERSION",
                                         "KRAFT_VOTERS" };
    int16_t type = -1;
    if (protocol_control_record_type(rec, &type) != SL_OK) {
        printf(" controlType: UNKNOWN(-1)");
        return;
    }
    bool commit = false;
    int32_t epoch = 0;
    if ((type == PROTOCOL_CONTROL_ABORT || type == PROTOCOL_CONTROL_COMMIT) &&
        protocol_txn_marker_parse(rec, &commit, &epoch) == SL_OK) {
        printf(" endTxnMarker: %s coordinatorEpoch: %d", commit ? "COMMIT" : "ABORT", epoch);
    } else {
        printf(" controlType: %s(%d)", type >= 0 && type < 7 ? names[type] : "UNKNOWN", type);
    }
}

typedef struct dl_options {
    bool deep;
    bool print_data;
    bool skip_metadata;
    int64_t max_message;
} dl_options;

static void
dl_print_record(const protocol_batch_header *h, const protocol_record *rec, const dl_options *opt) {
    if (!opt->skip_metadata) {
        printf("| offset: %" PRId64 " %s: %" PRId64
               " keySize: %d valueSize: %d sequence: %d headerKeys: [",
               rec->offset,
               (h->attributes & PROTOCOL_ATTR_LOG_APPEND_TIME) ? "LogAppendTime" : "CreateTime",
               rec->timestamp, rec->key.len, rec->value.len,
               dl_sequence(h->base_sequence, rec->offset_delta));
        protocol_header_iter hit;
        protocol_header_iter_init(&hit, rec);
        protocol_record_header hdr;
        for (int i = 0; i < 100000 && protocol_header_iter_next(&hit, &hdr) == 1; i++) {
            printf("%s%.*s", i ? "," : "", hdr.key.len, hdr.key.ptr);
        }
        printf("]");
        if (protocol_batch_is_control(h)) dl_print_control(rec);
    }
    if (opt->print_data && !protocol_batch_is_control(h)) {
        const char *prefix = opt->skip_metadata ? "| " : " ";
        if (rec->key.len >= 0) {
            printf("%skey: %.*s", prefix, rec->key.len, (const char *)rec->key.ptr);
            prefix = " ";
        }
        if (rec->value.len >= 0)
            printf("%spayload: %.*s", prefix, rec->value.len, (const char *)rec->value.ptr);
    }
    printf("\n");
}

/* Deep iteration of one batch; offsets that do not follow *last are remembered. */
static void dl_batch_records(const uint8_t *b,
                             size_t size,
                             const dl_options *opt,
                             sl_buf *scratch,
                             int64_t *last,
                             int64_t (*gaps)[2],
                             size_t *gap_count) {
    protocol_record_iter it;
    int rc = protocol_record_iter_init(&it, b, size, scratch, DL_DECOMPRESSED_MAX);
    if (rc != SL_OK) {
        fprintf(stderr, "Cannot read the records of the batch at offset %" PRId64 ": %s\n",
                (int64_t)sl_load_be64(b), sl_strerror(rc));
        return;
    }
    protocol_record rec;
    for (int guard = 0; guard < INT32_MAX && (rc = protocol_record_iter_next(&it, &rec)) == 1;
         guard++) {
        if (rec.offset != *last + 1 && *gap_count < DL_MISMATCHES_MAX) {
            gaps[*gap_count][0] = *last;
            gaps[(*gap_count)++][1] = rec.offset;
        }
        *last = rec.offset;
        dl_print_record(&it.h, &rec, opt);
    }
    if (rc < 0)
        fprintf(stderr, "Corrupt records in the batch at offset %" PRId64 ": %s\n",
                it.h.base_offset, sl_strerror(rc));
}

static int dl_dump_log(
    const char *path, const dl_options *opt, int64_t max_bytes, char *err, size_t err_size) {
    int64_t base = 0;
    if (dl_base_offset(path, &base)) printf("Log starting offset: %" PRId64 "\n", base);
    dl_file f;
    int rc = dl_map(path, &f);
    if (rc != SL_OK) {
        snprintf(err, err_size, "%s (%s)", path, strerror(-rc));
        return rc;
    }
    size_t end = max_bytes >= 0 && (uint64_t)max_bytes < f.size ? (size_t)max_bytes : f.size;
    sl_buf scratch;
    sl_buf_init(&scratch);
    int64_t last = -1;
    int64_t(*gaps)[2] = sl_calloc(DL_MISMATCHES_MAX, sizeof(*gaps));
    size_t gap_count = 0, pos = 0;
    for (size_t n = 0; rc == SL_OK; n++) {
        rc = dl_next_batch(&f, pos, end, opt->max_message, &n, err, err_size);
        if (rc != SL_OK || n == 0) break;
        if (f.data[pos + PROTOCOL_BATCH_OFF_MAGIC] != PROTOCOL_BATCH_MAGIC ||
            n < PROTOCOL_BATCH_HEADER_BYTES) {
            snprintf(err, err_size, "Unsupported record batch magic %d at position %zu",
                     f.data[pos + PROTOCOL_BATCH_OFF_MAGIC], pos);
            rc = SL_E_UNSUPPORTED;
            break;
        }
        dl_print_batch(f.data + pos, n, pos);
        if (opt->deep) dl_batch_records(f.data + pos, n, opt, &scratch, &last, gaps, &gap_count);
        pos += n;
    }
    if (rc == SL_OK && pos < f.size && end == f.size) {
        const char *name = strrchr(path, '/');
        printf("Found %zu invalid bytes at the end of %s\n", f.size - pos, name ? name + 1 : path);
    }
    if (gap_count) {
        char abs[4096];
        dl_abs_path(path, abs, sizeof(abs));
        fprintf(stderr, "Non-consecutive offsets in %s\n", abs);
        for (size_t i = 0; i < gap_count; i++) {
            fprintf(stderr, "  %" PRId64 " is followed by %" PRId64 "\n", gaps[i][0], gaps[i][1]);
        }
    }
    sl_free(gaps);
    sl_buf_deinit(&scratch);
    dl_unmap(&f);
    return rc;
}

/* ---- indexes ---- */

/* The segment file next to an index: same base name, other suffix. */
static void dl_sibling(const char *path, const char *suffix, char *out, size_t out_size) {
    const char *dot = strrchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    snprintf(out, out_size, "%.*s%s", (int)n, path, suffix);
}

/* Last offset of the batch at pos in the log, or -1. */
static int64_t dl_batch_last_offset(const dl_file *log, size_t pos) {
    if (pos + PROTOCOL_BATCH_HEADER_BYTES > log->size) return -1;
    protocol_batch_header h;
    protocol_batch_header_fields(log->data + pos, &h);
    return protocol_batch_last_offset(&h);
}

/* Entries before the preallocated zero tail (an entry back at the base offset). An
 * all-zero first entry is that tail too: the first batch of a segment is never indexed,
 * so no real offset entry has position 0 and no real time entry has timestamp 0. */
static size_t dl_used_entries(const dl_file *idx, size_t entry_size, int64_t base) {
    size_t n = idx->size / entry_size;
    if (n > 0) {
        bool zero = true;
        for (size_t k = 0; k < entry_size && zero; k++) {
            zero = idx->data[k] == 0;
        }
        if (zero) return 0;
    }
    for (size_t i = 1; i < n; i++) {
        const uint8_t *e = idx->data + i * entry_size;
        if (base + (int32_t)sl_load_be32(entry_size == 8 ? e : e + 8) == base) return i;
    }
    return n;
}

/* OffsetIndex / TimeIndex sanityCheck, with Kafka's messages. */
static int dl_sanity(const char *path,
                     const dl_file *idx,
                     size_t entry_size,
                     int64_t base,
                     char *err,
                     size_t err_size) {
    char abs[2048];
    dl_abs_path(path, abs, sizeof(abs));
    bool time = entry_size == STORAGE_TIMEINDEX_ENTRY_BYTES;
    size_t entries = dl_used_entries(idx, entry_size, base);
    if (entries > 0) {
        const uint8_t *last = idx->data + (entries - 1) * entry_size;
        int64_t last_offset = base + (int32_t)sl_load_be32(time ? last + 8 : last);
        int64_t last_ts = time ? (int64_t)sl_load_be64(last) : 0;
        int64_t first_ts = time ? (int64_t)sl_load_be64(idx->data) : 0;
        if (time && last_ts < first_ts) {
            snprintf(err, err_size,
                     "Corrupt time index found, time index file (%s) has non-zero size "
                     "but the last timestamp is %" PRId64
                     " which is less than the first timestamp %" PRId64,
                     abs, last_ts, first_ts);
            return SL_E_CORRUPT;
        }
        if (last_offset < base) {
            snprintf(err, err_size,
                     "Corrupt %sindex found, %sindex file (%s) has non-zero size but the "
                     "last offset is %" PRId64 " which is less than the %s offset %" PRId64 ".",
                     time ? "time " : "", time ? "time " : "", abs, last_offset,
                     time ? "first" : "base", base);
            return SL_E_CORRUPT;
        }
    }
    if (idx->size % entry_size != 0) {
        snprintf(err, err_size,
                 "%s file %s is corrupt, found %zu bytes which is neither positive nor a "
                 "multiple of %zu.",
                 time ? "Time index" : "Index", abs, idx->size, entry_size);
        return SL_E_CORRUPT;
    }
    return SL_OK;
}

static int
dl_dump_index(const char *path, bool sanity_only, bool verify_only, char *err, size_t err_size) {
    int64_t base = 0;
    dl_base_offset(path, &base);
    char log_path[4096];
    dl_sibling(path, ".log", log_path, sizeof(log_path));
    dl_file idx, log;
    int rc = dl_map(path, &idx);
    if (rc == SL_OK) rc = dl_map(log_path, &log);
    if (rc != SL_OK) {
        snprintf(err, err_size, "%s (%s)", rc == SL_OK ? log_path : path, strerror(-rc));
        dl_unmap(&idx);
        return rc;
    }
    size_t entries = dl_used_entries(&idx, STORAGE_INDEX_ENTRY_BYTES, base);
    if (entries == 0) {
        printf("%s is empty.\n", path);
    } else if (sanity_only) {
        rc = dl_sanity(path, &idx, STORAGE_INDEX_ENTRY_BYTES, base, err, err_size);
        if (rc == SL_OK) printf("%s passed sanity check.\n", path);
    } else {
        int64_t(*bad)[2] = sl_calloc(DL_MISMATCHES_MAX, sizeof(*bad));
        size_t nbad = 0;
        for (size_t i = 0; i < entries; i++) {
            const uint8_t *e = idx.data + i * STORAGE_INDEX_ENTRY_BYTES;
            int64_t offset = base + (int32_t)sl_load_be32(e);
            uint32_t position = sl_load_be32(e + 4);
            int64_t found = dl_batch_last_offset(&log, position);
            if (found != offset && nbad < DL_MISMATCHES_MAX) {
                bad[nbad][0] = offset;
                bad[nbad++][1] = found;
            }
            if (!verify_only)
                printf("offset: %" PRId64 " position: %" PRIu32 "\n", offset, position);
        }
        if (nbad) {
            char abs[4096];
            dl_abs_path(path, abs, sizeof(abs));
            fprintf(stderr, "Mismatches in :%s\n", abs);
            for (size_t i = nbad; i-- > 0;) { /* Kafka sorts them by index offset, descending */
                fprintf(stderr, "  Index offset: %" PRId64 ", log offset: %" PRId64 "\n", bad[i][0],
                        bad[i][1]);
            }
        }
        sl_free(bad);
    }
    dl_unmap(&log);
    dl_unmap(&idx);
    return rc;
}

/* Position of the largest offset index entry at or below offset (0 when none). */
static uint32_t dl_index_lookup(const dl_file *idx, int64_t base, int64_t offset) {
    uint32_t pos = 0;
    size_t entries = dl_used_entries(idx, STORAGE_INDEX_ENTRY_BYTES, base);
    for (size_t i = 0; i < entries; i++) {
        const uint8_t *e = idx->data + i * STORAGE_INDEX_ENTRY_BYTES;
        int64_t o = base + (int32_t)sl_load_be32(e);
        if (o > offset) break;
        pos = sl_load_be32(e + 4);
    }
    return pos;
}

/* Largest record timestamp of the batch at pos whose last offset is offset; *found_out
 * gets the last offset of the first batch at or after offset (-1 when none). */
static int64_t
dl_time_of(const dl_file *log, uint32_t pos, int64_t offset, int64_t *found_out, sl_buf *scratch) {
    *found_out = -1;
    for (size_t p = pos; p + PROTOCOL_BATCH_HEADER_BYTES <= log->size;) {
        size_t size = 0;
        char err[256];
        if (dl_next_batch(log, p, log->size, INT32_MAX, &size, err, sizeof(err)) != SL_OK ||
            size == 0)
            break;
        protocol_batch_header h;
        protocol_batch_header_fields(log->data + p, &h);
        if (protocol_batch_last_offset(&h) >= offset) {
            *found_out = protocol_batch_last_offset(&h);
            int64_t max = -1;
            protocol_record_iter it;
            protocol_record rec;
            if (protocol_record_iter_init(&it, log->data + p, size, scratch, DL_DECOMPRESSED_MAX) ==
                SL_OK) {
                for (int g = 0; g < INT32_MAX && protocol_record_iter_next(&it, &rec) == 1; g++) {
                    if (rec.timestamp > max) max = rec.timestamp;
                }
            }
            return max;
        }
        p += size;
    }
    return -1;
}

typedef struct dl_time_errors {
    int64_t (*mismatch)[2], (*order)[2], (*missing)[2];
    size_t nmismatch, norder, nmissing;
} dl_time_errors;

static void dl_time_errors_print(const char *path, const dl_time_errors *e) {
    char abs[4096];
    dl_abs_path(path, abs, sizeof(abs));
    if (e->nmismatch) fprintf(stderr, "Found timestamp mismatch in :%s\n", abs);
    for (size_t i = 0; i < e->nmismatch; i++) {
        fprintf(stderr, "  Index timestamp: %" PRId64 ", log timestamp: %" PRId64 "\n",
                e->mismatch[i][0], e->mismatch[i][1]);
    }
    if (e->norder) fprintf(stderr, "Found out of order timestamp in :%s\n", abs);
    for (size_t i = 0; i < e->norder; i++) {
        fprintf(stderr,
                "  Index timestamp: %" PRId64 ", Previously indexed timestamp: %" PRId64 "\n",
                e->order[i][0], e->order[i][1]);
    }
    if (e->nmissing) fprintf(stderr, "The following indexed offsets are not found in the log.\n");
    for (size_t i = 0; i < e->nmissing; i++) {
        fprintf(stderr, "Indexed offset: %" PRId64 ", found log offset: %" PRId64 "\n",
                e->missing[i][0], e->missing[i][1]);
    }
}

static void dl_time_entries(const dl_file *tidx,
                            const dl_file *idx,
                            const dl_file *log,
                            int64_t base,
                            bool verify_only,
                            dl_time_errors *e) {
    sl_buf scratch;
    sl_buf_init(&scratch);
    int64_t prev = -1;
    size_t entries = dl_used_entries(tidx, STORAGE_TIMEINDEX_ENTRY_BYTES, base);
    for (size_t i = 0; i < entries; i++) {
        const uint8_t *p = tidx->data + i * STORAGE_TIMEINDEX_ENTRY_BYTES;
        int64_t ts = (int64_t)sl_load_be64(p);
        int64_t offset = base + (int32_t)sl_load_be32(p + 8);
        int64_t found = -1;
        int64_t max = dl_time_of(log, dl_index_lookup(idx, base, offset), offset, &found, &scratch);
        if (found != offset) {
            if (e->nmissing < DL_MISMATCHES_MAX) {
                e->missing[e->nmissing][0] = offset;
                e->missing[e->nmissing++][1] = found;
            }
        } else {
            if (max != ts && e->nmismatch < DL_MISMATCHES_MAX) {
                e->mismatch[e->nmismatch][0] = ts;
                e->mismatch[e->nmismatch++][1] = max;
            }
            if (prev >= ts && e->norder < DL_MISMATCHES_MAX) {
                e->order[e->norder][0] = ts;
                e->order[e->norder++][1] = prev;
            }
        }
        if (!verify_only) printf("timestamp: %" PRId64 " offset: %" PRId64 "\n", ts, offset);
        prev = ts;
    }
    sl_buf_deinit(&scratch);
}

static int dl_dump_timeindex(
    const char *path, bool sanity_only, bool verify_only, char *err, size_t err_size) {
    int64_t base = 0;
    dl_base_offset(path, &base);
    char log_path[4096], idx_path[4096];
    dl_sibling(path, ".log", log_path, sizeof(log_path));
    dl_sibling(path, ".index", idx_path, sizeof(idx_path));
    dl_file tidx, idx, log;
    memset(&idx, 0, sizeof(idx));
    memset(&log, 0, sizeof(log));
    int rc = dl_map(path, &tidx);
    const char *failed = path;
    if (rc == SL_OK && (rc = dl_map(idx_path, &idx)) != SL_OK) failed = idx_path;
    if (rc == SL_OK && (rc = dl_map(log_path, &log)) != SL_OK) failed = log_path;
    if (rc != SL_OK) {
        snprintf(err, err_size, "%s (%s)", failed, strerror(-rc));
    } else if (sanity_only) {
        rc = dl_sanity(path, &tidx, STORAGE_TIMEINDEX_ENTRY_BYTES, base, err, err_size);
        if (rc == SL_OK) printf("%s passed sanity check.\n", path);
    } else {
        dl_time_errors e = { .mismatch = sl_calloc(DL_MISMATCHES_MAX, sizeof(*e.mismatch)),
                             .order = sl_calloc(DL_MISMATCHES_MAX, sizeof(*e.order)),
                             .missing = sl_calloc(DL_MISMATCHES_MAX, sizeof(*e.missing)) };
        dl_time_entries(&tidx, &idx, &log, base, verify_only, &e);
        dl_time_errors_print(path, &e);
        sl_free(e.mismatch);
        sl_free(e.order);
        sl_free(e.missing);
    }
    dl_unmap(&log);
    dl_unmap(&idx);
    dl_unmap(&tidx);
    return rc;
}

/* ---- --verify ---- */

#define DL_VERIFY_LINES_MAX 100 /* problems printed; the rest are only counted */

static void dl_verify_report(const char *line, void *arg) {
    int *count = arg;
    if (++*count <= DL_VERIFY_LINES_MAX) printf("%s\n", line);
}

static int dl_verify(const char *path) {
    struct stat st;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s", path);
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        char copy[4096];
        snprintf(copy, sizeof(copy), "%s", path);
        snprintf(dir, sizeof(dir), "%s", dirname(copy));
    }
    printf("Verifying %s\n", dir);
    int problems = 0;
    int rc = storage_verify_dir(dir, dl_verify_report, &problems);
    if (rc == SL_OK) {
        printf("No problems found in %s\n", dir);
    } else if (rc != SL_E_CORRUPT) {
        fprintf(stderr, "Cannot verify %s: %s\n", dir, sl_strerror(rc));
    } else {
        if (problems > DL_VERIFY_LINES_MAX) {
            printf("... (%d more not shown)\n", problems - DL_VERIFY_LINES_MAX);
        }
        printf("%d problem(s) found in %s\n", problems, dir);
    }
    return rc;
}

/* ---- command ---- */

static int
dl_one(const char *path, const dl_options *opt, const tools_opts *o, char *err, size_t err_size) {
    printf("Dumping %s\n", path);
    const char *dot = strrchr(path, '.');
    const char *suffix = dot && !strchr(dot, '/') ? dot : "";
    bool sanity = tools_opts_has(o, "index-sanity-check");
    bool verify_only = tools_opts_has(o, "verify-index-only");
    if (strcmp(suffix, ".log") == 0)
        return dl_dump_log(path, opt, tools_opts_int(o, "max-bytes"), err, err_size);
    if (strcmp(suffix, ".index") == 0)
        return dl_dump_index(path, sanity, verify_only, err, err_size);
    if (strcmp(suffix, ".timeindex") == 0)
        return dl_dump_timeindex(path, sanity, verify_only, err, err_size);
    fprintf(stderr, "Ignoring unknown file %s\n", path);
    return SL_OK;
}

static int dl_run(const tools_opts *o) {
    dl_options opt = { .deep = tools_opts_has(o, "deep-iteration") ||
                               tools_opts_has(o, "print-data-log"),
                       .print_data = tools_opts_has(o, "print-data-log"),
                       .skip_metadata = tools_opts_has(o, "skip-record-metadata"),
                       .max_message = tools_opts_int(o, "max-message-size") };
    const tools_opt_value *files = tools_opts_get(o, "files");
    int exit_code = TOOLS_EXIT_OK;
    for (size_t i = 0; i < files->list_count; i++) {
        char *copy = sl_strdup(files->list[i]);
        char *save = NULL;
        for (char *path = strtok_r(copy, ",", &save); path; path = strtok_r(NULL, ",", &save)) {
            char err[8192];
            int rc = tools_opts_has(o, "verify") ? dl_verify(path)
                                                 : dl_one(path, &opt, o, err, sizeof(err));
            fflush(stdout);
            if (rc != SL_OK && !tools_opts_has(o, "verify")) fprintf(stderr, "%s\n", err);
            if (rc != SL_OK) exit_code = TOOLS_EXIT_FAIL;
        }
        sl_free(copy);
    }
    return exit_code;
}

const tools_command tools_cmd_dump_log = {
    .name = "dump-log",
    .summary = "print the contents of log segments and indexes",
    .description = "This tool helps to parse a log file and dump its contents to the console, "
                   "useful for debugging a seemingly corrupt log segment.",
    .opts = dl_opts,
    .opt_count = sizeof(dl_opts) / sizeof(dl_opts[0]),
    .run = dl_run,
};
