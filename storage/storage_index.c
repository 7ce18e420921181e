/* storage_index.c — the .index and .timeindex files (format in storage.h).
 *
 * Both are memory-mapped (MAP_SHARED), as Kafka maps its indexes: a lookup is a binary
 * search with no system call and no heap copy, appending an entry is a store, and the
 * page cache decides what stays in memory. (pread would cost ~18 system calls per lookup
 * in a 1 GiB segment's index, and pwrite two per appended batch: 12% of append
 * throughput when measured with 16 KiB batches.)
 * The active index file is preallocated sparse. A store into a page with no disk block
 * behind it would raise SIGBUS if the disk were full, so blocks are reserved with
 * fallocate ahead of the entries, 64 KiB at a time; when fallocate cannot reserve
 * (ENOSPC, or a file system without it) the entry goes through pwrite instead, which
 * reports the error and lets the log fail-stop. A sealed index is mapped read-only and
 * keeps no descriptor, so a segment costs one descriptor, for its .log file. */
#include "storage/storage_int.h"
#include "common/sl_err.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void storage_index_init(storage_index *idx, int32_t entry_bytes) {
    idx->fd = -1;
    idx->map = NULL;
    idx->map_bytes = 0;
    idx->entries = 0;
    idx->entry_bytes = entry_bytes;
    idx->reserved_bytes = 0;
}

/* Blocks reserved at a time for the active index. */
#define INDEX_RESERVE_BYTES (64 * 1024)

static void index_unmap(storage_index *idx) {
    if (idx->map) munmap(idx->map, idx->map_bytes);
    idx->map = NULL;
    idx->map_bytes = 0;
}

static int index_map(storage_index *idx, int fd, size_t bytes, bool writable) {
    index_unmap(idx);
    if (bytes == 0) return SL_OK;
    void *p = mmap(NULL, bytes, writable ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return -errno;
    idx->map = p;
    idx->map_bytes = bytes;
    return SL_OK;
}

/* After a failed resize the index is empty rather than pointing at a stale mapping:
 * a missing entry only lengthens scans. */
static int index_failed(storage_index *idx, int err) {
    index_unmap(idx);
    idx->entries = 0;
    return err;
}

/* Map fd's current size and count the entries. */
static int index_load(storage_index *idx, int fd, bool writable, bool *misaligned_out) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -errno;
    SL_RETURN_IF(!S_ISREG(st.st_mode), SL_E_CORRUPT, "index_not_a_file");
    uint64_t bytes = (uint64_t)st.st_size;
    uint64_t entries = bytes / (uint64_t)idx->entry_bytes;
    *misaligned_out = bytes % (uint64_t)idx->entry_bytes != 0;
    if (entries > INT32_MAX) { /* cannot be ours: relative positions are int32 */
        *misaligned_out = true;
        entries = 0;
        bytes = 0;
    }
    int rc = index_map(idx, fd, (size_t)bytes, writable);
    if (rc != SL_OK) return index_failed(idx, rc);
    idx->entries = (int32_t)entries;
    idx->reserved_bytes = (size_t)entries * (size_t)idx->entry_bytes; /* written: backed */
    return SL_OK;
}

int storage_index_open(storage_index *idx, int dir_fd, const char *name, bool *misaligned_out) {
    int fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    int rc = index_load(idx, fd, true, misaligned_out);
    if (rc != SL_OK) {
        close(fd);
        return rc;
    }
    idx->fd = fd;
    return SL_OK;
}

int storage_index_open_sealed(storage_index *idx,
                              int dir_fd,
                              const char *name,
                              bool *misaligned_out) {
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? SL_E_NOT_FOUND : -errno;
    int rc = index_load(idx, fd, false, misaligned_out);
    close(fd);
    return rc;
}

void storage_index_close(storage_index *idx) {
    index_unmap(idx);
    if (idx->fd >= 0) close(idx->fd);
    idx->fd = -1;
    idx->entries = 0;
}

int storage_index_resize(storage_index *idx, int64_t bytes) {
    SL_ASSERT(idx->fd >= 0);
    int64_t eb = idx->entry_bytes;
    bytes -= bytes % eb;
    if (bytes < idx->entries * eb) bytes = idx->entries * eb;
    index_unmap(idx);
    if (ftruncate(idx->fd, (off_t)bytes) != 0) return index_failed(idx, -errno);
    idx->reserved_bytes = (size_t)idx->entries * (size_t)idx->entry_bytes;
    int rc = index_map(idx, idx->fd, (size_t)bytes, true);
    return rc == SL_OK ? SL_OK : index_failed(idx, rc);
}

int storage_index_seal(storage_index *idx) {
    SL_ASSERT(idx->fd >= 0);
    size_t bytes = (size_t)idx->entries * (size_t)idx->entry_bytes;
    index_unmap(idx);
    if (ftruncate(idx->fd, (off_t)bytes) != 0) return index_failed(idx, -errno);
    int rc = index_map(idx, idx->fd, bytes, false);
    if (rc != SL_OK) return index_failed(idx, rc);
    close(idx->fd);
    idx->fd = -1;
    return SL_OK;
}

int storage_index_truncate(storage_index *idx, int32_t n) {
    SL_ASSERT(idx->fd >= 0);
    SL_ASSERT(n >= 0 && n <= idx->entries);
    if (n == idx->entries) return SL_OK;
    size_t bytes = idx->map_bytes;
    /* Shrink then grow back: the kernel zeroes the range, however long it is. */
    index_unmap(idx);
    if (ftruncate(idx->fd, (off_t)n * idx->entry_bytes) != 0) return index_failed(idx, -errno);
    if (ftruncate(idx->fd, (off_t)bytes) != 0) return index_failed(idx, -errno);
    idx->entries = n;
    idx->reserved_bytes = (size_t)n * (size_t)idx->entry_bytes;
    int rc = index_map(idx, idx->fd, bytes, true);
    return rc == SL_OK ? SL_OK : index_failed(idx, rc);
}

/* Reserve disk blocks up to at least `need` bytes of the file. */
static int index_reserve(storage_index *idx, size_t need) {
    size_t to = idx->reserved_bytes + INDEX_RESERVE_BYTES;
    if (to < need) to = need;
    if (to > idx->map_bytes) to = idx->map_bytes;
    if (fallocate(idx->fd, FALLOC_FL_KEEP_SIZE, (off_t)idx->reserved_bytes,
                  (off_t)(to - idx->reserved_bytes)) != 0) {
        return -errno;
    }
    idx->reserved_bytes = to;
    return SL_OK;
}

static int index_append(storage_index *idx, const uint8_t *entry) {
    SL_ASSERT(idx->fd >= 0);
    SL_ASSERT(idx->entries < storage_index_capacity(idx));
    size_t at = (size_t)idx->entries * (size_t)idx->entry_bytes;
    size_t n = (size_t)idx->entry_bytes;
    if (at + n <= idx->reserved_bytes || index_reserve(idx, at + n) == SL_OK) {
        memcpy(idx->map + at, entry, n);
    } else {
        SL_TRY(storage_pwrite_all(idx->fd, entry, n, (int64_t)at)); /* reports ENOSPC */
    }
    idx->entries++;
    return SL_OK;
}

int storage_index_append_offset(storage_index *idx, int32_t rel_offset, int32_t position) {
    uint8_t e[STORAGE_INDEX_ENTRY_BYTES];
    sl_store_be32(e, (uint32_t)rel_offset);
    sl_store_be32(e + 4, (uint32_t)position);
    return index_append(idx, e);
}

int storage_index_append_time(storage_index *idx, int64_t timestamp, int32_t rel_offset) {
    uint8_t e[STORAGE_TIMEINDEX_ENTRY_BYTES];
    sl_store_be64(e, (uint64_t)timestamp);
    sl_store_be32(e + 8, (uint32_t)rel_offset);
    return index_append(idx, e);
}

void storage_index_offset_at(const storage_index *idx,
                             int32_t i,
                             int32_t *rel_out,
                             int32_t *pos_out) {
    SL_ASSERT(i >= 0 && i < idx->entries);
    const uint8_t *e = idx->map + (size_t)i * STORAGE_INDEX_ENTRY_BYTES;
    *rel_out = (int32_t)sl_load_be32(e);
    *pos_out = (int32_t)sl_load_be32(e + 4);
}

void storage_index_time_at(const storage_index *idx, int32_t i, int64_t *ts_out, int32_t *rel_out) {
    SL_ASSERT(i >= 0 && i < idx->entries);
    const uint8_t *e = idx->map + (size_t)i * STORAGE_TIMEINDEX_ENTRY_BYTES;
    *ts_out = (int64_t)sl_load_be64(e);
    *rel_out = (int32_t)sl_load_be32(e + 8);
}

int32_t storage_index_offset_floor(const storage_index *idx, int64_t rel) {
    int32_t lo = 0, hi = idx->entries - 1, found = -1;
    while (lo <= hi) { /* halves every step: at most 32 steps */
        int32_t mid = lo + (hi - lo) / 2;
        int32_t r, pos;
        storage_index_offset_at(idx, mid, &r, &pos);
        if (r <= rel) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

int32_t storage_index_time_floor(const storage_index *idx, int64_t ts) {
    int32_t lo = 0, hi = idx->entries - 1, found = -1;
    while (lo <= hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int64_t t;
        int32_t rel;
        storage_index_time_at(idx, mid, &t, &rel);
        if (t <= ts) {
            found = mid;
            lo = mid + 1;
        } else {
            hi = mid - 1;
        }
    }
    return found;
}

bool storage_index_offsets_valid(const storage_index *idx, int64_t rel_end, int64_t log_size) {
    int64_t prev_rel = -1, prev_pos = 0;
    for (int32_t i = 0; i < idx->entries; i++) {
        int32_t rel, pos;
        storage_index_offset_at(idx, i, &rel, &pos);
        if (rel <= prev_rel || rel >= rel_end) return false;
        if (pos <= prev_pos || (int64_t)pos + PROTOCOL_BATCH_HEADER_BYTES > log_size) return false;
        prev_rel = rel;
        prev_pos = pos;
    }
    return true;
}

bool storage_index_times_valid(const storage_index *idx, int64_t rel_end) {
    int64_t prev_ts = -1;
    int32_t prev_rel = 0;
    for (int32_t i = 0; i < idx->entries; i++) {
        int64_t ts;
        int32_t rel;
        storage_index_time_at(idx, i, &ts, &rel);
        if (ts <= prev_ts || rel < prev_rel || rel >= rel_end) return false;
        prev_ts = ts;
        prev_rel = rel;
    }
    return true;
}
