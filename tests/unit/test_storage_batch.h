/* test_storage_batch.h — builds valid RecordBatch v2 bytes for the storage tests, the
 * crash test, the storage bench and the log recovery fuzz target.
 *
 * A batch holds `count` uncompressed records with no key, a value of value_bytes bytes
 * (filled from `fill`) and no headers; record i has timestamp base_ts + i and offset
 * delta i, so maxTimestamp = base_ts + count - 1. producerId -1, epoch -1 (a leader
 * append stamps its own). The CRC-32C is computed over bytes 21..end. */
#ifndef TEST_STORAGE_BATCH_H
#define TEST_STORAGE_BATCH_H

#include "common/sl_buf.h"
#include "common/sl_crc32c.h"
#include "protocol/protocol.h"

#include <stddef.h>
#include <stdint.h>

static inline void
test_batch_put_record(sl_buf *out, int32_t i, int32_t value_bytes, uint8_t fill) {
    size_t body = 1 + sl_varlong_size(i) + sl_varint_size(i) + sl_varint_size(-1) +
                  sl_varint_size(value_bytes) + (size_t)value_bytes + sl_varint_size(0);
    sl_buf_put_varint(out, (int32_t)body);
    sl_buf_put_i8(out, 0);      /* attributes */
    sl_buf_put_varlong(out, i); /* timestampDelta */
    sl_buf_put_varint(out, i);  /* offsetDelta */
    sl_buf_put_varint(out, -1); /* key: null */
    sl_buf_put_varint(out, value_bytes);
    uint8_t *v = sl_buf_reserve(out, (size_t)value_bytes);
    for (int32_t k = 0; k < value_bytes; k++) {
        v[k] = (uint8_t)(fill + i * 7 + k);
    }
    sl_buf_put_varint(out, 0); /* headers */
}

/* Append one batch to out; the last record's value has last_value_bytes. Returns the
 * batch's size in bytes. */
static inline size_t test_batch_build_values(sl_buf *out,
                                             int64_t base_offset,
                                             int32_t epoch,
                                             int32_t count,
                                             int32_t value_bytes,
                                             int32_t last_value_bytes,
                                             int64_t base_ts,
                                             uint8_t fill) {
    size_t start = out->len;
    sl_buf_put_i64(out, base_offset);
    size_t length_slot = sl_buf_put_slot_i32(out);
    sl_buf_put_i32(out, epoch);
    sl_buf_put_i8(out, PROTOCOL_BATCH_MAGIC);
    size_t crc_slot = sl_buf_put_slot_i32(out);
    sl_buf_put_i16(out, 0);         /* attributes: no codec, CreateTime */
    sl_buf_put_i32(out, count - 1); /* lastOffsetDelta */
    sl_buf_put_i64(out, base_ts);
    sl_buf_put_i64(out, base_ts + count - 1);
    sl_buf_put_i64(out, -1); /* producerId */
    sl_buf_put_i16(out, -1); /* producerEpoch */
    sl_buf_put_i32(out, -1); /* baseSequence */
    sl_buf_put_i32(out, count);
    for (int32_t i = 0; i < count; i++) {
        test_batch_put_record(out, i, i == count - 1 ? last_value_bytes : value_bytes, fill);
    }
    size_t size = out->len - start;
    sl_buf_patch_i32(out, length_slot, (int32_t)(size - PROTOCOL_BATCH_LOG_OVERHEAD));
    sl_buf_patch_u32(out, crc_slot,
                     sl_crc32c(out->data + start + PROTOCOL_BATCH_OFF_ATTRIBUTES,
                               size - PROTOCOL_BATCH_OFF_ATTRIBUTES));
    return size;
}

static inline size_t test_batch_build_epoch(sl_buf *out,
                                            int64_t base_offset,
                                            int32_t epoch,
                                            int32_t count,
                                            int32_t value_bytes,
                                            int64_t base_ts,
                                            uint8_t fill) {
    return test_batch_build_values(out, base_offset, epoch, count, value_bytes, value_bytes,
                                   base_ts, fill);
}

static inline size_t test_batch_build(sl_buf *out,
                                      int64_t base_offset,
                                      int32_t count,
                                      int32_t value_bytes,
                                      int64_t base_ts,
                                      uint8_t fill) {
    return test_batch_build_epoch(out, base_offset, -1, count, value_bytes, base_ts, fill);
}

#endif

/* ---------------- helpers for tests that make temporary log directories ------------- */

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Remove path and everything below it (directories nest at most `depth` levels). */
static inline void test_rmtree_depth(const char *path, int depth) {
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *ent;
    while ((ent = readdir(d)) != NULL) {
        if (strcmp(ent->d_name, ".") == 0 || strcmp(ent->d_name, "..") == 0) continue;
        char child[1024];
        int n = snprintf(child, sizeof(child), "%s/%s", path, ent->d_name);
        if (n < 0 || (size_t)n >= sizeof(child)) continue;
        struct stat st;
        if (depth > 0 && lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            test_rmtree_depth(child, depth - 1);
        } else {
            unlink(child);
        }
    }
    closedir(d);
    rmdir(path);
}

static inline void test_rmtree(const char *path) {
    test_rmtree_depth(path, 4);
}
