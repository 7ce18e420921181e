/* storage_file.c — file names, whole-file I/O, atomic replacement and aux files.
 *
 * Atomic replacement is the classic sequence: write <name>.tmp, fdatasync it, rename it
 * over <name>, fsync the directory. A crash leaves either the old or the new file, plus
 * perhaps a stray .tmp that recovery removes. */
#include "storage/storage_int.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* EINTR and short transfers are retried; a transfer that makes no progress this many
 * times in a row is an error rather than a spin. */
#define IO_STALLS_MAX 64

void storage_segment_file_name(char *out, int64_t base_offset, const char *suffix) {
    snprintf(out, STORAGE_NAME_BYTES, "%020" PRId64 "%s", base_offset, suffix);
}

bool storage_parse_segment_name(const char *name, int64_t *base_out, const char **suffix_out) {
    uint64_t v = 0;
    for (int i = 0; i < STORAGE_NAME_DIGITS; i++) {
        if (name[i] < '0' || name[i] > '9') return false;
        uint64_t d = (uint64_t)(name[i] - '0');
        if (v > ((uint64_t)INT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (name[STORAGE_NAME_DIGITS] != '.') return false;
    *base_out = (int64_t)v;
    *suffix_out = name + STORAGE_NAME_DIGITS;
    return true;
}

int storage_mkdirs(const char *path) {
    char buf[4096];
    size_t len = strlen(path);
    SL_RETURN_IF(len == 0 || len >= sizeof(buf), SL_E_INVALID, "path_len=%zu", len);
    /* usually only the last component is new (a partition in an existing log dir) */
    if (mkdir(path, 0755) == 0 || errno == EEXIST) return SL_OK;
    if (errno != ENOENT) return -errno;
    memcpy(buf, path, len + 1);
    for (size_t i = 1; i <= len; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        char saved = buf[i];
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return -errno;
        buf[i] = saved;
    }
    return SL_OK;
}

int storage_fsync_dir(int dir_fd) {
    if (fsync(dir_fd) != 0) return -errno;
    return SL_OK;
}

int storage_pwrite_all(int fd, const void *data, size_t n, int64_t pos) {
    const uint8_t *p = data;
    int stalls = 0;
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)pos);
        if (w < 0) {
            if (errno == EINTR && ++stalls < IO_STALLS_MAX) continue;
            return -errno;
        }
        if (w == 0) {
            if (++stalls >= IO_STALLS_MAX) return -EIO;
            continue;
        }
        stalls = 0;
        p += w;
        n -= (size_t)w;
        pos += w;
    }
    return SL_OK;
}

int storage_pread_all(int fd, void *data, size_t n, int64_t pos, size_t *got_out) {
    uint8_t *p = data;
    size_t got = 0;
    int stalls = 0;
    while (got < n) {
        ssize_t r = pread(fd, p + got, n - got, (off_t)(pos + (int64_t)got));
        if (r < 0) {
            if (errno == EINTR && ++stalls < IO_STALLS_MAX) continue;
            return -errno;
        }
        if (r == 0) break; /* end of file */
        stalls = 0;
        got += (size_t)r;
    }
    *got_out = got;
    return SL_OK;
}

int storage_file_replace(int dir_fd, const char *name, const uint8_t *data, size_t len) {
    char tmp[512];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    SL_RETURN_IF(n < 0 || (size_t)n >= sizeof(tmp), SL_E_INVALID, "name=%s", name);
    int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    int rc = storage_pwrite_all(fd, data, len, 0);
    if (rc == SL_OK && fdatasync(fd) != 0) rc = -errno;
    if (close(fd) != 0 && rc == SL_OK) rc = -errno;
    if (rc == SL_OK && renameat(dir_fd, tmp, dir_fd, name) != 0) rc = -errno;
    if (rc == SL_OK) rc = storage_fsync_dir(dir_fd);
    if (rc != SL_OK) (void)unlinkat(dir_fd, tmp, 0);
    return rc;
}

int storage_file_read(int dir_fd, const char *name, size_t max, sl_buf *out) {
    int fd = openat(dir_fd, name, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? SL_E_NOT_FOUND : -errno;
    struct stat st;
    int rc = SL_OK;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
    } else if (!S_ISREG(st.st_mode)) {
        rc = SL_E_INVALID;
    } else if ((uint64_t)st.st_size > max) {
        rc = SL_E_TOO_LARGE;
    } else {
        size_t want = (size_t)st.st_size, got = 0;
        size_t old_len = out->len;
        uint8_t *dst = sl_buf_reserve(out, want);
        rc = storage_pread_all(fd, dst, want, 0, &got);
        sl_buf_truncate(out, rc == SL_OK ? old_len + got : old_len);
    }
    close(fd);
    return rc;
}

int storage_offset_file_write(int dir_fd, const char *name, int64_t value) {
    char text[48];
    int n = snprintf(text, sizeof(text), "0\n%" PRId64 "\n", value);
    return storage_file_replace(dir_fd, name, (const uint8_t *)text, (size_t)n);
}

int storage_offset_file_read(int dir_fd, const char *name, int64_t *value_out) {
    sl_buf buf;
    sl_buf_init(&buf);
    int rc = storage_file_read(dir_fd, name, 64, &buf);
    if (rc == SL_E_TOO_LARGE) rc = SL_E_CORRUPT;
    if (rc == SL_OK) {
        char text[65];
        long long v = -1;
        char tail = 0;
        if (buf.len > 0) memcpy(text, buf.data, buf.len);
        text[buf.len] = '\0';
        if (sscanf(text, "0\n%lld%c", &v, &tail) == 2 && tail == '\n' && v >= 0) {
            *value_out = v;
        } else {
            rc = SL_E_CORRUPT;
        }
    }
    sl_buf_deinit(&buf);
    return rc;
}

int storage_file_unlink(int dir_fd, const char *name) {
    if (unlinkat(dir_fd, name, 0) != 0 && errno != ENOENT) return -errno;
    return SL_OK;
}

bool storage_file_exists(int dir_fd, const char *name) {
    struct stat st;
    return fstatat(dir_fd, name, &st, 0) == 0;
}

/* ---------------- aux files ---------------- */

static bool aux_has_suffix(const char *name, size_t len, const char *suffix) {
    size_t n = strlen(suffix);
    return len >= n && memcmp(name + len - n, suffix, n) == 0;
}

/* Names that recovery would treat as its own (segments, leftovers) are refused, so an
 * aux file can never be mistaken for log data. */
static bool aux_name_ok(const char *name) {
    static const char *const reserved[] = { ".log",     ".index", ".timeindex", ".deleted",
                                            ".cleaned", ".swap",  ".tmp" };
    size_t len = strnlen(name, 129);
    if (len == 0 || len > 128 || name[0] == '.') return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) return false;
    }
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        if (aux_has_suffix(name, len, reserved[i])) return false;
    }
    return strcmp(name, STORAGE_EPOCH_FILE) != 0 && strcmp(name, STORAGE_START_OFFSET_FILE) != 0;
}

int storage_log_write_aux(storage_log *log, const char *name, const uint8_t *data, size_t len) {
    SL_RETURN_IF(!aux_name_ok(name), SL_E_INVALID, "aux_name_rejected");
    SL_RETURN_IF(len > STORAGE_AUX_BYTES_MAX, SL_E_TOO_LARGE, "len=%zu", len);
    if (log->failed) return SL_E_FATAL;
    int rc = storage_file_replace(log->dir_fd, name, data, len);
    if (rc != SL_OK) return storage_log_fail(log, rc, "write_aux");
    return SL_OK;
}

int storage_log_write_hint(storage_log *log, const char *name, const uint8_t *data, size_t len) {
    SL_RETURN_IF(!aux_name_ok(name), SL_E_INVALID, "aux_name_rejected");
    SL_RETURN_IF(len > STORAGE_AUX_BYTES_MAX, SL_E_TOO_LARGE, "len=%zu", len);
    if (log->failed) return SL_E_FATAL;
    int fd = openat(log->dir_fd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    int rc = storage_pwrite_all(fd, data, len, 0);
    if (rc == SL_OK && ftruncate(fd, (off_t)len) != 0) rc = -errno;
    close(fd);
    return rc;
}

int storage_log_read_aux(storage_log *log, const char *name, sl_buf *out) {
    SL_RETURN_IF(!aux_name_ok(name), SL_E_INVALID, "aux_name_rejected");
    return storage_file_read(log->dir_fd, name, STORAGE_AUX_BYTES_MAX, out);
}
