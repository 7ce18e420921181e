/* fuzz_log_recovery.c — libFuzzer target for storage/ recovery: arbitrary bytes as a
 * segment's .log, .index and .timeindex files, then storage_log_open.
 *
 * Input:
 *   byte 0     flags: bit 0 a .clean_shutdown marker is present (the clean-open path);
 *              bit 1 the segment is sealed: an empty active segment follows it at offset
 *              2^20; bit 2 no .index file; bit 3 no .timeindex file
 *   bytes 1-4  big-endian length of the .log part (clamped to what is left)
 *   bytes 5-8  big-endian length of the .index part (clamped); the rest is the .timeindex
 * The segment is 00000000000000000000.*, in a temporary directory reused (emptied) for
 * every input, so the replay driver can run many inputs in one process.
 *
 * Properties, beyond "no crash, no sanitizer report":
 *  - the open either fails with a negative code or gives start <= end;
 *  - every offset from start to end (up to 4096 of them) reads without crashing, and what
 *    a read returns is a chain of whole batches whose first one holds the offset;
 *  - the log takes an append at its end offset, and closes;
 *  - after a crash-path open of a lone active segment (flags 0), the closed directory
 *    passes storage_verify_dir and reopens at the same end offset: recovery leaves
 *    nothing behind that the verifier would reject.
 * fuzz_target_accepts: the open succeeds and at least one batch of the input survives.
 *
 * The seeds in tests/fuzz/corpus/log_recovery/ were written by this file built with
 * -DFUZZ_LOG_RECOVERY_MAKE_CORPUS (see the end): real logs written through storage/. */
#include "common/sl_buf.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "protocol/protocol.h"
#include "storage/storage.h"
#include "tests/unit/test_storage_batch.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int fuzz_target_accepts(const uint8_t *data, size_t size);

#define FUZZ_HEADER_BYTES 9
#define FUZZ_READS_MAX    4096
#define FUZZ_NOW          1700000000000LL

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static char fuzz_root[64];
static char fuzz_dir[96];

static void fuzz_cleanup(void) {
    test_rmtree(fuzz_root);
}

static void fuzz_init(void) {
    if (fuzz_root[0]) return;
    snprintf(fuzz_root, sizeof(fuzz_root), "/tmp/sluice-fuzz-log-XXXXXX");
    FUZZ_CHECK(mkdtemp(fuzz_root) != NULL);
    snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/t-0", fuzz_root);
    atexit(fuzz_cleanup); /* one process runs many inputs, then exits */
    /* recovery of garbage logs at error level on every input: keep the output readable */
    sl_log_open_file("/dev/null");
}

static void fuzz_write(const char *name, const uint8_t *data, size_t len) {
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", fuzz_dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(len == 0 || write(fd, data, len) == (ssize_t)len);
    close(fd);
}

static uint32_t fuzz_u32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Lay the input out as files; returns the flags, or -1 when the input is too short. */
static int fuzz_layout(const uint8_t *data, size_t size) {
    if (size < FUZZ_HEADER_BYTES) return -1;
    test_rmtree(fuzz_dir);
    FUZZ_CHECK(mkdir(fuzz_dir, 0755) == 0);
    int flags = data[0];
    size_t left = size - FUZZ_HEADER_BYTES;
    size_t log_len = fuzz_u32(data + 1), index_len = fuzz_u32(data + 5);
    if (log_len > left) log_len = left;
    if (index_len > left - log_len) index_len = left - log_len;
    const uint8_t *p = data + FUZZ_HEADER_BYTES;
    fuzz_write("00000000000000000000.log", p, log_len);
    if (!(flags & 4)) fuzz_write("00000000000000000000.index", p + log_len, index_len);
    if (!(flags & 8)) {
        fuzz_write("00000000000000000000.timeindex", p + log_len + index_len,
                   left - log_len - index_len);
    }
    if (flags & 1) fuzz_write(".clean_shutdown", NULL, 0);
    if (flags & 2) fuzz_write("00000000000001048576.log", NULL, 0);
    return flags;
}

static void fuzz_config(storage_log_config *cfg) {
    storage_log_config_defaults(cfg);
    cfg->segment_bytes = 1 << 20;
    cfg->index_interval_bytes = 128;
    cfg->segment_index_bytes = 4096;
    cfg->file_delete_delay_ms = 0;
}

/* What a read returns is whole batches, the first holding offset. */
static void fuzz_check_read(const sl_buf *out, int64_t offset) {
    for (size_t at = 0; at < out->len;) {
        size_t size = 0;
        FUZZ_CHECK(protocol_batch_size(out->data + at, out->len - at, out->len - at, &size) ==
                   SL_OK);
        if (at == 0) {
            int64_t base = (int64_t)sl_load_be64(out->data);
            int32_t delta = (int32_t)sl_load_be32(out->data + PROTOCOL_BATCH_OFF_LAST_DELTA);
            FUZZ_CHECK(base <= offset && offset <= base + delta);
        }
        at += size;
    }
}

static void fuzz_exercise(storage_log *log) {
    int64_t start = storage_log_start_offset(log), end = storage_log_end_offset(log);
    FUZZ_CHECK(start <= end);
    sl_buf out;
    sl_buf_init(&out);
    for (int64_t off = start; off < end && off - start < FUZZ_READS_MAX; off++) {
        sl_buf_reset(&out);
        int rc = storage_log_read_copy(log, off, 1, INT64_MAX, true, &out);
        FUZZ_CHECK(rc == SL_OK || rc == SL_E_CORRUPT);
        if (rc == SL_OK) fuzz_check_read(&out, off);
    }
    int64_t ts_off, ts;
    (void)storage_log_offset_for_time(log, FUZZ_NOW, &ts_off, &ts);
    (void)storage_log_max_timestamp(log, &ts_off, &ts);
    sl_buf_reset(&out);
    test_batch_build(&out, 0, 2, 10, FUZZ_NOW, 1);
    int32_t epoch = storage_log_latest_epoch(log);
    int rc = storage_log_append(log, out.data, out.len, epoch < 0 ? 0 : epoch, FUZZ_NOW, NULL);
    FUZZ_CHECK(rc == SL_OK || (rc == SL_E_RANGE && end > INT64_MAX - 16));
    if (rc == SL_OK) FUZZ_CHECK(storage_log_end_offset(log) == end + 2);
    sl_buf_deinit(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_init();
    int flags = fuzz_layout(data, size);
    if (flags < 0) return 0;
    storage_log_config cfg;
    fuzz_config(&cfg);
    storage_log *log = NULL;
    int rc = storage_log_open(fuzz_dir, &cfg, FUZZ_NOW, &log);
    FUZZ_CHECK(rc <= 0);
    if (rc != SL_OK) return 0;
    fuzz_exercise(log);
    int64_t end = storage_log_end_offset(log);
    storage_log_close(log);
    if ((flags & 0x3) == 0) {
        FUZZ_CHECK(storage_verify_dir(fuzz_dir, NULL, NULL) == SL_OK);
        FUZZ_CHECK(storage_log_open(fuzz_dir, &cfg, FUZZ_NOW, &log) == SL_OK);
        FUZZ_CHECK(storage_log_end_offset(log) == end);
        storage_log_close(log);
    }
    return 0;
}

int fuzz_target_accepts(const uint8_t *data, size_t size) {
    fuzz_init();
    if (fuzz_layout(data, size) < 0) return 0;
    storage_log_config cfg;
    fuzz_config(&cfg);
    storage_log *log = NULL;
    if (storage_log_open(fuzz_dir, &cfg, FUZZ_NOW, &log) != SL_OK) return 0;
    int accepted = storage_log_end_offset(log) > 0;
    storage_log_close(log);
    return accepted;
}

#ifdef FUZZ_LOG_RECOVERY_MAKE_CORPUS
/* cc -DFUZZ_LOG_RECOVERY_MAKE_CORPUS … tests/fuzz/fuzz_log_recovery.c <libs>; run from the
 * repository root. Writes tests/fuzz/{corpus,rejected}/log_recovery/. */
int main(void);

static size_t corpus_read(const char *dir, const char *name, sl_buf *out) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    uint8_t chunk[4096];
    size_t n, total = 0;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        sl_buf_put(out, chunk, n);
        total += n;
    }
    fclose(f);
    return total;
}

static void corpus_emit(const char *path, int flags, const char *dir) {
    sl_buf in, body;
    sl_buf_init(&in);
    sl_buf_init(&body);
    size_t log_len = corpus_read(dir, "00000000000000000000.log", &body);
    size_t index_len = corpus_read(dir, "00000000000000000000.index", &body);
    (void)corpus_read(dir, "00000000000000000000.timeindex", &body);
    sl_buf_put_u8(&in, (uint8_t)flags);
    sl_buf_put_u32(&in, (uint32_t)log_len);
    sl_buf_put_u32(&in, (uint32_t)index_len);
    sl_buf_put(&in, body.data, body.len);
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL);
    fwrite(in.data, 1, in.len, f);
    fclose(f);
    sl_buf_deinit(&in);
    sl_buf_deinit(&body);
}

int main(void) {
    fuzz_init();
    static const int batches[] = { 1, 5, 40 };
    for (size_t i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
        test_rmtree(fuzz_dir);
        storage_log_config cfg;
        fuzz_config(&cfg);
        storage_log *log;
        FUZZ_CHECK(storage_log_open(fuzz_dir, &cfg, FUZZ_NOW, &log) == SL_OK);
        for (int k = 0; k < batches[i]; k++) {
            sl_buf b;
            sl_buf_init(&b);
            test_batch_build(&b, 0, 1 + k % 3, 10 + k * 13 % 90, FUZZ_NOW + k, (uint8_t)k);
            FUZZ_CHECK(storage_log_append(log, b.data, b.len, k / 10, FUZZ_NOW, NULL) == SL_OK);
            sl_buf_deinit(&b);
        }
        storage_log_close(log);
        for (int flags = 0; flags < 4; flags++) {
            char path[128];
            snprintf(path, sizeof(path), "tests/fuzz/corpus/log_recovery/seed-%d-%d", batches[i],
                     flags);
            corpus_emit(path, flags, fuzz_dir);
        }
    }
    /* rejected: garbage, and a single batch with a bad CRC */
    uint8_t junk[200];
    for (size_t i = 0; i < sizeof(junk); i++) {
        junk[i] = (uint8_t)(i * 131 + 7);
    }
    junk[0] = 0;
    sl_store_be32(junk + 1, 150);
    sl_store_be32(junk + 5, 40);
    FILE *f = fopen("tests/fuzz/rejected/log_recovery/garbage", "wb");
    FUZZ_CHECK(f != NULL);
    fwrite(junk, 1, sizeof(junk), f);
    fclose(f);
    sl_buf in;
    sl_buf_init(&in);
    sl_buf_put_u8(&in, 0);
    sl_buf_put_u32(&in, 1000);
    sl_buf_put_u32(&in, 0);
    test_batch_build(&in, 0, 3, 20, FUZZ_NOW, 5);
    in.data[in.len - 1] ^= 1; /* CRC no longer matches */
    f = fopen("tests/fuzz/rejected/log_recovery/bad-crc", "wb");
    FUZZ_CHECK(f != NULL);
    fwrite(in.data, 1, in.len, f);
    fclose(f);
    sl_buf_deinit(&in);
    return 0;
}
#endif
