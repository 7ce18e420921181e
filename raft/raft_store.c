/* raft_store.c — the Raft driver's files: atomic small files, quorum-state (Kafka's
 * JSON), snapshot checkpoints, and log entries as RecordBatches in the storage log.
 * Formats are in raft.h (DRIVERS). Everything read from disk is checked and refused
 * with an error, never asserted: a torn or foreign file stops the start-up with a log
 * line saying which file and why. */
#include "raft/raft_driver_int.h"

#include "common/sl_alloc.h"
#include "common/sl_crc32c.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "protocol/protocol.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_MOD             "raft"
#define SNAPSHOT_MAGIC        "SLRFTSNP"
#define SNAPSHOT_VERSION      1
#define SNAPSHOT_FILES_MAX    1024      /* checkpoint files looked at in one directory */
#define QUORUM_FILE_MAX_BYTES (1 << 16) /* a quorum-state file is a few hundred bytes */
#define READ_CHUNK_BYTES      (1 << 20) /* storage reads at start-up */
#define READ_ROUNDS_MAX       (1LL << 40)

/* ------------------------------------------------------------------ files */

static int
path_join(char *out, size_t out_size, const char *dir, const char *name, const char *suffix) {
    int n = snprintf(out, out_size, "%s/%s%s", dir, name, suffix);
    return n < 0 || (size_t)n >= out_size ? -ENAMETOOLONG : SL_OK;
}

static int write_all(int fd, const uint8_t *p, size_t len) {
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -errno;
        done += (size_t)n;
    }
    return SL_OK;
}

static int fsync_dir(const char *dir) {
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return -errno;
    int rc = fsync(fd) == 0 ? SL_OK : -errno;
    close(fd);
    return rc;
}

int raft_store_write_atomic(const char *dir, const char *name, const void *data, size_t len) {
    char tmp[PATH_MAX], path[PATH_MAX];
    SL_TRY(path_join(tmp, sizeof(tmp), dir, name, ".tmp"));
    SL_TRY(path_join(path, sizeof(path), dir, name, ""));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return -errno;
    int rc = write_all(fd, data, len);
    if (rc == SL_OK && fsync(fd) != 0) rc = -errno;
    if (close(fd) != 0 && rc == SL_OK) rc = -errno;
    if (rc == SL_OK && rename(tmp, path) != 0) rc = -errno;
    if (rc != SL_OK) {
        unlink(tmp);
        SL_LOG(SL_ERROR, STORE_MOD, "file_write_failed", "dir=%s file=%s err=\"%s\"", dir, name,
               sl_strerror(rc));
        return rc;
    }
    rc = fsync_dir(dir);
    if (rc != SL_OK) {
        SL_LOG(SL_ERROR, STORE_MOD, "dir_fsync_failed", "dir=%s err=\"%s\"", dir, sl_strerror(rc));
    }
    return rc;
}

int raft_store_read_file(const char *dir, const char *name, size_t max_bytes, sl_buf *out) {
    char path[PATH_MAX];
    SL_TRY(path_join(path, sizeof(path), dir, name, ""));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return errno == ENOENT ? SL_E_NOT_FOUND : -errno;
    struct stat st;
    int rc = fstat(fd, &st) == 0 ? SL_OK : -errno;
    if (rc == SL_OK && (uint64_t)st.st_size > max_bytes) rc = SL_E_TOO_LARGE;
    sl_buf_reset(out);
    size_t want = rc == SL_OK ? (size_t)st.st_size : 0;
    uint8_t *p = sl_buf_reserve(out, want);
    size_t done = 0;
    while (rc == SL_OK && done < want) {
        ssize_t n = read(fd, p + done, want - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) rc = -errno;
        if (n == 0) break; /* shrank meanwhile: what is there is what we have */
        if (n > 0) done += (size_t)n;
    }
    sl_buf_truncate(out, done);
    close(fd);
    return rc;
}

/* ------------------------------------------------------------------ quorum-state */

void raft_store_quorum_encode(const raft_quorum_state *st,
                              const int32_t *voters,
                              int32_t voter_count,
                              sl_buf *out) {
    sl_buf_printf(out,
                  "{\"clusterId\":\"\",\"leaderId\":%" PRId32 ",\"leaderEpoch\":%" PRId32
                  ",\"votedId\":%" PRId32 ",\"appliedOffset\":0,\"currentVoters\":[",
                  st->leader_id, st->epoch, st->voted_id);
    for (int32_t i = 0; i < voter_count; i++) {
        sl_buf_printf(out, "%s{\"voterId\":%" PRId32 "}", i ? "," : "", voters[i]);
    }
    sl_buf_put_cstr(out, "],\"data_version\":0}");
}

/* An integer member of obj within [lo, hi]; false (and *why set) otherwise. */
static bool json_int_field(
    json_t *obj, const char *key, int64_t lo, int64_t hi, int64_t *out, const char **why) {
    json_t *v = json_object_get(obj, key);
    if (!v || !json_is_integer(v)) {
        *why = key;
        return false;
    }
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        *why = key;
        return false;
    }
    *out = (int64_t)x;
    return true;
}

static bool
quorum_voters_parse(json_t *root, int32_t *voters_out, int32_t *count_out, const char **why) {
    json_t *arr = json_object_get(root, "currentVoters");
    *why = "currentVoters";
    if (!arr || !json_is_array(arr) || json_array_size(arr) > RAFT_VOTERS_MAX) return false;
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n; i++) {
        json_t *item = json_array_get(arr, i);
        int64_t id;
        if (!json_is_object(item) || !json_int_field(item, "voterId", 0, INT32_MAX, &id, why)) {
            *why = "currentVoters";
            return false;
        }
        voters_out[i] = (int32_t)id;
    }
    *count_out = (int32_t)n;
    return true;
}

int raft_store_quorum_decode(const uint8_t *data,
                             size_t len,
                             raft_quorum_state *st_out,
                             int32_t *voters_out,
                             int32_t *voter_count_out) {
    json_error_t jerr;
    json_t *root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        SL_LOG(SL_ERROR, STORE_MOD, "quorum_state_corrupt", "reason=\"%s\" line=%d",
               root ? "not an object" : jerr.text, root ? 0 : jerr.line);
        json_decref(root);
        return SL_E_CORRUPT;
    }
    int64_t version = -1, leader = 0, epoch = 0, voted = 0, applied = 0;
    const char *why = NULL;
    int rc = SL_OK;
    if (!json_int_field(root, "data_version", 0, INT32_MAX, &version, &why)) {
        rc = SL_E_CORRUPT;
    } else if (version != 0) {
        why = "data_version";
        rc = SL_E_UNSUPPORTED;
    } else if (!json_int_field(root, "leaderId", -1, INT32_MAX, &leader, &why) ||
               !json_int_field(root, "leaderEpoch", 0, INT32_MAX, &epoch, &why) ||
               !json_int_field(root, "votedId", -1, INT32_MAX, &voted, &why) ||
               !json_int_field(root, "appliedOffset", -1, INT64_MAX, &applied, &why) ||
               !quorum_voters_parse(root, voters_out, voter_count_out, &why)) {
        rc = SL_E_CORRUPT;
    }
    json_decref(root);
    if (rc != SL_OK) {
        SL_LOG(SL_ERROR, STORE_MOD, "quorum_state_corrupt",
               "reason=\"bad or missing field\" "
               "field=%s",
               why ? why : "?");
        return rc;
    }
    *st_out = (raft_quorum_state){ .epoch = (int32_t)epoch,
                                   .voted_id = (int32_t)voted,
                                   .leader_id = (int32_t)leader };
    return SL_OK;
}

static bool same_voter_set(const int32_t *a, int32_t a_count, const int32_t *b, int32_t b_count) {
    if (a_count != b_count) return false;
    for (int32_t i = 0; i < a_count; i++) {
        bool found = false;
        for (int32_t j = 0; j < b_count && !found; j++)
            found = a[i] == b[j];
        if (!found) return false;
    }
    return true;
}

int raft_store_quorum_read(const char *dir,
                           const int32_t *voters,
                           int32_t voter_count,
                           raft_quorum_state *st_out) {
    sl_buf buf;
    sl_buf_init(&buf);
    int rc = raft_store_read_file(dir, RAFT_QUORUM_STATE_FILE, QUORUM_FILE_MAX_BYTES, &buf);
    if (rc == SL_E_NOT_FOUND) {
        sl_buf_deinit(&buf);
        *st_out = (raft_quorum_state){ 0, RAFT_NODE_NONE, RAFT_NODE_NONE };
        return SL_OK;
    }
    raft_quorum_state st;
    int32_t file_voters[RAFT_VOTERS_MAX];
    int32_t file_count = 0;
    if (rc == SL_OK)
        rc = raft_store_quorum_decode(buf.data, buf.len, &st, file_voters, &file_count);
    sl_buf_deinit(&buf);
    if (rc != SL_OK) {
        SL_LOG(SL_ERROR, STORE_MOD, "quorum_state_unreadable", "dir=%s file=%s err=\"%s\"", dir,
               RAFT_QUORUM_STATE_FILE, sl_strerror(rc));
        return rc;
    }
    if (!same_voter_set(voters, voter_count, file_voters, file_count)) {
        /* Kafka refuses this too: the configured voters changed under a live log */
        SL_LOG(SL_ERROR, STORE_MOD, "quorum_state_voters_differ",
               "dir=%s configured=%d file=%d hint=\"check controller.quorum.voters\"", dir,
               voter_count, file_count);
        return SL_E_CONFIG;
    }
    *st_out = st;
    return SL_OK;
}

int raft_store_quorum_write(const char *dir,
                            const raft_quorum_state *st,
                            const int32_t *voters,
                            int32_t voter_count) {
    sl_buf buf;
    sl_buf_init(&buf);
    raft_store_quorum_encode(st, voters, voter_count, &buf);
    int rc = raft_store_write_atomic(dir, RAFT_QUORUM_STATE_FILE, buf.data, buf.len);
    sl_buf_deinit(&buf);
    return rc;
}

/* ------------------------------------------------------------------ snapshots */

void raft_store_snapshot_name(raft_snapshot_id id, char out[RAFT_SNAPSHOT_NAME_BYTES]) {
    snprintf(out, RAFT_SNAPSHOT_NAME_BYTES, "%020" PRId64 "-%010" PRId32 "%s", id.end_offset,
             id.epoch, RAFT_SNAPSHOT_SUFFIX);
}

static bool parse_digits(const char *p, int count, int64_t max, int64_t *out) {
    int64_t v = 0;
    for (int i = 0; i < count; i++) {
        if (p[i] < '0' || p[i] > '9') return false;
        if (v > (max - (p[i] - '0')) / 10) return false;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return true;
}

bool raft_store_snapshot_parse_name(const char *name, raft_snapshot_id *id_out) {
    size_t suffix_len = strlen(RAFT_SNAPSHOT_SUFFIX);
    if (strlen(name) != 20 + 1 + 10 + suffix_len || name[20] != '-' ||
        strcmp(name + 31, RAFT_SNAPSHOT_SUFFIX) != 0) {
        return false;
    }
    int64_t offset, epoch;
    if (!parse_digits(name, 20, INT64_MAX, &offset) ||
        !parse_digits(name + 21, 10, INT32_MAX, &epoch)) {
        return false;
    }
    *id_out = (raft_snapshot_id){ offset, (int32_t)epoch };
    return true;
}

static void snapshot_header(raft_snapshot_id id, const uint8_t *data, size_t size, uint8_t *h) {
    memcpy(h, SNAPSHOT_MAGIC, 8);
    sl_store_be32(h + 8, SNAPSHOT_VERSION);
    sl_store_be32(h + 12, (uint32_t)id.epoch);
    sl_store_be64(h + 16, (uint64_t)id.end_offset);
    sl_store_be64(h + 24, (uint64_t)size);
    sl_store_be32(h + 32, sl_crc32c(data, size));
    sl_store_be32(h + 36, sl_crc32c(h, 36));
}

int raft_store_snapshot_write(const char *dir,
                              raft_snapshot_id id,
                              const uint8_t *data,
                              size_t size) {
    sl_buf buf;
    sl_buf_init(&buf);
    snapshot_header(id, data, size, sl_buf_reserve(&buf, RAFT_SNAPSHOT_HEADER_BYTES));
    if (size > 0) sl_buf_put(&buf, data, size);
    char name[RAFT_SNAPSHOT_NAME_BYTES];
    raft_store_snapshot_name(id, name);
    int rc = raft_store_write_atomic(dir, name, buf.data, buf.len);
    sl_buf_deinit(&buf);
    return rc;
}

int raft_store_snapshot_check(raft_snapshot_id id,
                              const uint8_t *file,
                              size_t file_size,
                              const uint8_t **data_out,
                              size_t *size_out) {
    const uint8_t *h = file;
    if (file_size < RAFT_SNAPSHOT_HEADER_BYTES || memcmp(h, SNAPSHOT_MAGIC, 8) != 0 ||
        sl_load_be32(h + 36) != sl_crc32c(h, 36) || sl_load_be32(h + 8) != SNAPSHOT_VERSION) {
        return SL_E_CORRUPT;
    }
    uint64_t size = sl_load_be64(h + 24);
    if ((int32_t)sl_load_be32(h + 12) != id.epoch ||
        (int64_t)sl_load_be64(h + 16) != id.end_offset ||
        size != file_size - RAFT_SNAPSHOT_HEADER_BYTES) {
        return SL_E_CORRUPT;
    }
    const uint8_t *data = file + RAFT_SNAPSHOT_HEADER_BYTES;
    if (sl_load_be32(h + 32) != sl_crc32c(data, (size_t)size)) return SL_E_CORRUPT;
    *data_out = data;
    *size_out = (size_t)size;
    return SL_OK;
}

/* The snapshot ids in dir, newest first. */
static int snapshot_list(const char *dir, raft_snapshot_id *ids, int32_t max, int32_t *count_out) {
    DIR *dp = opendir(dir);
    if (!dp) return -errno;
    int32_t count = 0;
    struct dirent *ent;
    while ((ent = readdir(dp)) != NULL && count < max) {
        raft_snapshot_id id;
        if (!raft_store_snapshot_parse_name(ent->d_name, &id)) continue;
        int32_t pos = count++;
        while (pos > 0 &&
               (ids[pos - 1].end_offset < id.end_offset ||
                (ids[pos - 1].end_offset == id.end_offset && ids[pos - 1].epoch < id.epoch))) {
            ids[pos] = ids[pos - 1];
            pos--;
        }
        ids[pos] = id;
    }
    closedir(dp);
    *count_out = count;
    return SL_OK;
}

int raft_store_snapshot_load(const char *dir,
                             size_t max_bytes,
                             raft_snapshot_id *id_out,
                             sl_buf *file,
                             const uint8_t **data_out,
                             size_t *size_out) {
    raft_snapshot_id *ids = sl_calloc(SNAPSHOT_FILES_MAX, sizeof(*ids));
    int32_t count = 0;
    int rc = snapshot_list(dir, ids, SNAPSHOT_FILES_MAX, &count);
    *id_out = (raft_snapshot_id){ 0, 0 };
    *data_out = NULL;
    *size_out = 0;
    for (int32_t i = 0; rc == SL_OK && i < count; i++) {
        char name[RAFT_SNAPSHOT_NAME_BYTES];
        raft_store_snapshot_name(ids[i], name);
        int read_rc = raft_store_read_file(dir, name, max_bytes + RAFT_SNAPSHOT_HEADER_BYTES, file);
        if (read_rc == SL_OK) {
            read_rc = raft_store_snapshot_check(ids[i], file->data, file->len, data_out, size_out);
        }
        if (read_rc == SL_OK) {
            *id_out = ids[i];
            break;
        }
        SL_LOG(SL_ERROR, STORE_MOD, "snapshot_unreadable", "dir=%s file=%s err=\"%s\"", dir, name,
               sl_strerror(read_rc));
    }
    sl_free(ids);
    return rc;
}

int raft_store_snapshot_prune(const char *dir, raft_snapshot_id keep) {
    raft_snapshot_id *ids = sl_calloc(SNAPSHOT_FILES_MAX, sizeof(*ids));
    int32_t count = 0;
    int rc = snapshot_list(dir, ids, SNAPSHOT_FILES_MAX, &count);
    int32_t removed = 0;
    for (int32_t i = 0; rc == SL_OK && i < count; i++) {
        if (ids[i].end_offset == keep.end_offset && ids[i].epoch == keep.epoch) continue;
        char name[RAFT_SNAPSHOT_NAME_BYTES], path[PATH_MAX];
        raft_store_snapshot_name(ids[i], name);
        rc = path_join(path, sizeof(path), dir, name, "");
        if (rc == SL_OK && unlink(path) != 0 && errno != ENOENT) rc = -errno;
        removed++;
    }
    sl_free(ids);
    if (rc == SL_OK && removed > 0) rc = fsync_dir(dir);
    return rc;
}

/* ------------------------------------------------------------------ entries as batches */

int raft_store_entry_encode(const raft_entry *e, int64_t timestamp_ms, sl_buf *out) {
    if (e->size > INT32_MAX) return SL_E_TOO_LARGE;
    protocol_batch_options opt;
    protocol_batch_options_init(&opt);
    opt.base_offset = e->offset;
    opt.partition_leader_epoch = e->epoch;
    sl_bytes value = { e->size ? e->data : NULL, (int32_t)e->size };
    if (e->kind == RAFT_ENTRY_LEADER_CHANGE) {
        return protocol_batch_build_control(out, &opt, PROTOCOL_CONTROL_LEADER_CHANGE, value,
                                            timestamp_ms);
    }
    protocol_batch_builder b;
    protocol_batch_builder_init(&b, &opt);
    int rc = protocol_batch_builder_add(&b, timestamp_ms, SL_BYTES_NULL, value, NULL, 0);
    if (rc == SL_OK) rc = protocol_batch_builder_finish(&b, out);
    protocol_batch_builder_deinit(&b);
    return rc;
}

int raft_store_entry_decode(const uint8_t *p, size_t size, raft_entry *e) {
    protocol_batch_header h;
    if (protocol_batch_check(p, size, &h) != SL_OK) return SL_E_CORRUPT;
    if ((size_t)h.batch_length + PROTOCOL_BATCH_LOG_OVERHEAD != size || h.record_count != 1 ||
        h.last_offset_delta != 0 || protocol_batch_codec(&h) != PROTOCOL_CODEC_NONE ||
        h.partition_leader_epoch < 1) {
        return SL_E_CORRUPT;
    }
    protocol_record_iter it;
    protocol_record rec;
    if (protocol_record_iter_init(&it, p, size, NULL, 0) != SL_OK ||
        protocol_record_iter_next(&it, &rec) != 1 || rec.offset != h.base_offset) {
        return SL_E_CORRUPT;
    }
    uint8_t kind = RAFT_ENTRY_DATA;
    if (protocol_batch_is_control(&h)) {
        int16_t type;
        if (protocol_control_record_type(&rec, &type) != SL_OK ||
            type != PROTOCOL_CONTROL_LEADER_CHANGE) {
            return SL_E_CORRUPT;
        }
        kind = RAFT_ENTRY_LEADER_CHANGE;
    }
    *e = (raft_entry){ .offset = h.base_offset,
                       .epoch = h.partition_leader_epoch,
                       .kind = kind,
                       .size = rec.value.len > 0 ? (uint32_t)rec.value.len : 0,
                       .data = rec.value.len > 0 ? rec.value.ptr : NULL };
    return SL_OK;
}

/* Walk the batches appended to bytes from `from_pos`: each must be the entry at *next. */
static int walk_batches(const sl_buf *bytes, size_t pos, int64_t *next) {
    while (pos < bytes->len) {
        size_t size;
        protocol_batch_header h;
        if (protocol_batch_size(bytes->data + pos, bytes->len - pos, bytes->len - pos, &size) !=
                SL_OK ||
            protocol_batch_header_parse(bytes->data + pos, size, &h) != SL_OK ||
            h.base_offset != *next || h.last_offset_delta != 0) {
            return SL_E_CORRUPT;
        }
        (*next)++;
        pos += size;
    }
    return SL_OK;
}

static int decode_all(const sl_buf *bytes, int64_t from, int64_t count, raft_entry *entries) {
    size_t pos = 0;
    for (int64_t i = 0; i < count; i++) {
        size_t size;
        if (protocol_batch_size(bytes->data + pos, bytes->len - pos, bytes->len - pos, &size) !=
            SL_OK) {
            return SL_E_CORRUPT;
        }
        SL_TRY(raft_store_entry_decode(bytes->data + pos, size, &entries[i]));
        if (entries[i].offset != from + i) return SL_E_CORRUPT;
        pos += size;
    }
    return pos == bytes->len ? SL_OK : SL_E_CORRUPT;
}

int raft_store_read_entries(
    storage_log *log, int64_t from, sl_buf *bytes, raft_entry **entries_out, int64_t *count_out) {
    int64_t end = storage_log_end_offset(log);
    int64_t next = from;
    sl_buf_reset(bytes);
    for (int64_t round = 0; next < end && round < READ_ROUNDS_MAX; round++) {
        size_t before = bytes->len;
        SL_TRY(storage_log_read_copy(log, next, READ_CHUNK_BYTES, end, true, bytes));
        if (bytes->len == before) return SL_E_CORRUPT; /* no progress */
        int rc = walk_batches(bytes, before, &next);
        if (rc != SL_OK) {
            SL_LOG(SL_ERROR, STORE_MOD, "log_entry_corrupt", "dir=%s offset=%" PRId64,
                   storage_log_dir(log), next);
            return rc;
        }
    }
    int64_t count = end - from;
    raft_entry *entries = sl_calloc((size_t)count + 1, sizeof(raft_entry));
    int rc = decode_all(bytes, from, count, entries);
    if (rc != SL_OK) {
        SL_LOG(SL_ERROR, STORE_MOD, "log_entry_corrupt", "dir=%s from=%" PRId64,
               storage_log_dir(log), from);
        sl_free(entries);
        return rc;
    }
    *entries_out = entries;
    *count_out = count;
    return SL_OK;
}
