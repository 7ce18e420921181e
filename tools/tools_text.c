/* tools_text.c — text shared by the admin tools: Kafka's error messages and exception
 * names, the topic filter (--topic as a regular expression), topic name rules, Kafka's
 * pretty-printed tables, file reading and small parsers. No client library here. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_assert.h"
#include "common/sl_err.h"
#include "protocol/protocol.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- Kafka errors ---- */

typedef struct tools_error_info {
    int16_t code;
    const char *exception; /* simple class name in org.apache.kafka.common.errors */
    const char *message;   /* Errors.java default message */
} tools_error_info;

/* The codes the tools can meet, with Kafka's default texts (Errors.java). */
static const tools_error_info tools_errors[] = {
    { -1, "UnknownServerException",
      "The server experienced an unexpected error when processing the request." },
    { 1, "OffsetOutOfRangeException",
      "The requested offset is not within the range of offsets maintained by the server." },
    { 2, "CorruptRecordException",
      "This message has failed its CRC checksum, exceeds the valid size, has a null key for a "
      "compacted topic, or is otherwise corrupt." },
    { 3, "UnknownTopicOrPartitionException", "This server does not host this topic-partition." },
    { 5, "LeaderNotAvailableException",
      "There is no leader for this topic-partition as we are in the middle of a leadership "
      "election." },
    { 6, "NotLeaderOrFollowerException",
      "For requests intended only for the leader, this error indicates that the broker is not "
      "the current leader. For requests intended for any replica, this error indicates that the "
      "broker is not a replica of the topic partition." },
    { 7, "TimeoutException", "The request timed out." },
    { 8, "BrokerNotAvailableException", "The broker is not available." },
    { 9, "ReplicaNotAvailableException",
      "The replica is not available for the requested topic-partition. Produce/Fetch requests "
      "and other requests intended only for the leader or follower return NOT_LEADER_OR_FOLLOWER "
      "if the broker is not a replica of the topic-partition." },
    { 13, "NetworkException", "The server disconnected before a response was received." },
    { 14, "CoordinatorLoadInProgressException",
      "The coordinator is loading and hence can't process requests." },
    { 15, "CoordinatorNotAvailableException", "The coordinator is not available." },
    { 16, "NotCoordinatorException", "This is not the correct coordinator." },
    { 17, "InvalidTopicException",
      "The request attempted to perform an operation on an invalid topic." },
    { 19, "NotEnoughReplicasException",
      "Messages are rejected since there are fewer in-sync replicas than required." },
    { 24, "InvalidGroupIdException", "The configured groupId is invalid." },
    { 25, "UnknownMemberIdException", "The coordinator is not aware of this member." },
    { 27, "RebalanceInProgressException", "The group is rebalancing, so a rejoin is needed." },
    { 29, "TopicAuthorizationException", "Topic authorization failed." },
    { 30, "GroupAuthorizationException", "Group authorization failed." },
    { 31, "ClusterAuthorizationException", "Cluster authorization failed." },
    { 35, "UnsupportedVersionException", "The version of API is not supported." },
    { 36, "TopicExistsException", "Topic with this name already exists." },
    { 37, "InvalidPartitionsException", "Number of partitions is invalid." },
    { 38, "InvalidReplicationFactorException", "Replication-factor is invalid." },
    { 39, "InvalidReplicaAssignmentException", "Replica assignment is invalid." },
    { 40, "InvalidConfigurationException", "Configuration is invalid." },
    { 41, "NotControllerException", "This is not the correct controller for this cluster." },
    { 42, "InvalidRequestException",
      "This most likely occurs because of a request being malformed by the client library or "
      "the message was sent to an incompatible broker. See the broker logs for more details." },
    { 44, "PolicyViolationException", "Request parameters do not satisfy the configured policy." },
    { 56, "KafkaStorageException", "Disk error when trying to access log file on the disk." },
    { 60, "ReassignmentInProgressException", "A partition reassignment is in progress." },
    { 68, "GroupNotEmptyException", "The group is not empty." },
    { 69, "GroupIdNotFoundException", "The group id does not exist." },
    { 73, "TopicDeletionDisabledException", "Topic deletion is disabled." },
    { 74, "FencedLeaderEpochException",
      "The leader epoch in the request is older than the epoch on the broker." },
    { 75, "UnknownLeaderEpochException",
      "The leader epoch in the request is newer than the epoch on the broker." },
    { 80, "PreferredLeaderNotAvailableException", "The preferred leader was not available." },
    { 83, "EligibleLeadersNotAvailableException",
      "Eligible topic partition leaders are not available." },
    { 84, "ElectionNotNeededException", "Leader election not needed for topic partition." },
    { 85, "NoReassignmentInProgressException", "No partition reassignment is in progress." },
    { 86, "GroupSubscribedToTopicException",
      "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed "
      "to it." },
    { 87, "InvalidRecordException",
      "This record has failed the validation on broker and hence will be rejected." },
    { 89, "ThrottlingQuotaExceededException", "The throttling quota has been exceeded." },
    { 91, "ResourceNotFoundException",
      "A request illegally referred to a resource that does not exist." },
    { 100, "UnknownTopicIdException", "This server does not host this topic ID." },
};

#define TOOLS_ERROR_COUNT (sizeof(tools_errors) / sizeof(tools_errors[0]))

static const tools_error_info *error_find(int16_t code) {
    for (size_t i = 0; i < TOOLS_ERROR_COUNT; i++) {
        if (tools_errors[i].code == code) return &tools_errors[i];
    }
    return NULL;
}

const char *tools_error_message(int16_t code) {
    const tools_error_info *e = error_find(code);
    if (e) return e->message;
    return protocol_error_name(code);
}

const char *tools_error_class(int16_t code) {
    static _Thread_local char buf[128];
    const tools_error_info *e = error_find(code);
    snprintf(buf, sizeof(buf), "org.apache.kafka.common.errors.%s",
             e ? e->exception : "ApiException");
    return buf;
}

void tools_error_text(int16_t code, const char *msg, int32_t msg_len, char *out, size_t out_size) {
    if (msg && msg_len > 0) {
        snprintf(out, out_size, "%.*s", (int)msg_len, msg);
    } else {
        snprintf(out, out_size, "%s", tools_error_message(code));
    }
}

/* ---- topics ---- */

struct tools_topic_filter {
    regex_t re;
};

int tools_topic_filter_new(const char *regex,
                           tools_topic_filter **out,
                           char *err,
                           size_t err_size) {
    /* Kafka's IncludeList: trim, ',' means '|', spaces and surrounding quotes dropped, and
     * the pattern must match the whole name (Matcher.matches). */
    size_t len = strlen(regex);
    char *pat = sl_malloc(len + 8);
    size_t o = 0;
    pat[o++] = '^';
    pat[o++] = '(';
    size_t start = 0;
    size_t end = len;
    while (start < end && (regex[start] == '"' || regex[start] == '\'' || regex[start] == ' ')) {
        start++;
    }
    while (end > start &&
           (regex[end - 1] == '"' || regex[end - 1] == '\'' || regex[end - 1] == ' ')) {
        end--;
    }
    for (size_t i = start; i < end; i++) {
        if (regex[i] == ' ') continue;
        pat[o++] = regex[i] == ',' ? '|' : regex[i];
    }
    pat[o++] = ')';
    pat[o++] = '$';
    pat[o] = '\0';
    tools_topic_filter *f = SL_NEW(tools_topic_filter);
    int rc = regcomp(&f->re, pat, REG_EXTENDED | REG_NOSUB);
    sl_free(pat);
    if (rc != 0) {
        char msg[256];
        regerror(rc, &f->re, msg, sizeof(msg));
        snprintf(err, err_size, "Invalid regular expression '%s': %s", regex, msg);
        sl_free(f);
        return SL_E_INVALID;
    }
    *out = f;
    return SL_OK;
}

bool tools_topic_filter_match(const tools_topic_filter *f, const char *topic, size_t len) {
    char buf[512];
    if (len >= sizeof(buf)) return false; /* topic names are at most 249 characters */
    memcpy(buf, topic, len);
    buf[len] = '\0';
    return regexec(&f->re, buf, 0, NULL, 0) == 0;
}

void tools_topic_filter_free(tools_topic_filter *f) {
    if (!f) return;
    regfree(&f->re);
    sl_free(f);
}

bool tools_topic_is_internal(const char *topic, size_t len) {
    static const char *const internal[] = { "__consumer_offsets", "__transaction_state" };
    for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++) {
        if (strlen(internal[i]) == len && memcmp(internal[i], topic, len) == 0) return true;
    }
    return false;
}

const char *tools_topic_invalid_reason(const char *topic) {
    static _Thread_local char buf[400];
    size_t len = strlen(topic);
    if (len == 0) return "Topic name is illegal, it can't be empty";
    if (strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0) {
        return "Topic name cannot be \".\" or \"..\"";
    }
    if (len > 249) {
        snprintf(
            buf, sizeof(buf),
            "Topic name is illegal, it can't be longer than 249 characters, topic name: %.260s",
            topic);
        return buf;
    }
    for (size_t i = 0; i < len; i++) {
        char c = topic[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok) {
            snprintf(buf, sizeof(buf),
                     "Topic name \"%s\" is illegal, it contains a character other than ASCII "
                     "alphanumerics, '.', '_' and '-'",
                     topic);
            return buf;
        }
    }
    return NULL;
}

/* ---- tables ---- */

void tools_table_init(tools_table *t, size_t cols) {
    memset(t, 0, sizeof(*t));
    SL_ASSERT(cols > 0);
    t->cols = cols;
}

void tools_table_add(tools_table *t, const char *const *row) {
    if (t->rows == t->cap_rows) {
        t->cap_rows = t->cap_rows ? t->cap_rows * 2 : 16;
        t->cells = sl_realloc(t->cells, t->cap_rows * t->cols * sizeof(*t->cells));
    }
    for (size_t c = 0; c < t->cols; c++) {
        t->cells[t->rows * t->cols + c] = sl_strdup(row[c] ? row[c] : "");
    }
    t->rows++;
}

void tools_table_print(const tools_table *t, FILE *f) {
    size_t widths[32] = { 0 };
    SL_ASSERT(t->cols <= 32);
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            size_t w = strlen(t->cells[r * t->cols + c]);
            if (w > widths[c]) widths[c] = w;
        }
    }
    for (size_t r = 0; r < t->rows; r++) {
        for (size_t c = 0; c < t->cols; c++) {
            fprintf(f, "%-*s\t", (int)widths[c], t->cells[r * t->cols + c]);
        }
        fputc('\n', f);
    }
}

void tools_table_deinit(tools_table *t) {
    for (size_t i = 0; i < t->rows * t->cols; i++) {
        sl_free(t->cells[i]);
    }
    sl_free(t->cells);
    memset(t, 0, sizeof(*t));
}

/* ---- files and parsing ---- */

int tools_read_file(
    const char *path, char **text_out, size_t *len_out, char *err, size_t err_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, err_size, "%s (No such file or directory)", path);
        if (e != ENOENT) snprintf(err, err_size, "%s (%s)", path, strerror(e));
        return -e;
    }
    struct stat st;
    int rc = SL_OK;
    char *text = NULL;
    if (fstat(fileno(f), &st) != 0 || (size_t)st.st_size > TOOLS_TEXT_FILE_MAX) {
        snprintf(err, err_size, "%s: cannot read (larger than %zu bytes?)", path,
                 TOOLS_TEXT_FILE_MAX);
        rc = SL_E_TOO_LARGE;
        goto out;
    }
    size_t size = (size_t)st.st_size;
    text = sl_malloc(size + 1);
    if (fread(text, 1, size, f) != size) {
        snprintf(err, err_size, "%s: read failed", path);
        rc = -EIO;
        goto out;
    }
    text[size] = '\0';
    *text_out = text;
    if (len_out) *len_out = size;
    text = NULL;
out:
    sl_free(text);
    fclose(f);
    return rc;
}

bool tools_parse_i64(const char *s, int64_t *out) {
    if (!s || !*s) return false;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE) return false;
    *out = (int64_t)v;
    return true;
}

bool tools_parse_i32(const char *s, int32_t *out) {
    int64_t v = 0;
    if (!tools_parse_i64(s, &v) || v < INT32_MIN || v > INT32_MAX) return false;
    *out = (int32_t)v;
    return true;
}

void tools_uuid_format(const uint8_t bytes[16], char *out, size_t out_size) {
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char buf[23];
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)bytes[i] << 16;
        if (i + 1 < 16) v |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < 16) v |= bytes[i + 2];
        size_t chars = i + 2 < 16 ? 4 : i + 1 < 16 ? 3 : 2;
        for (size_t k = 0; k < chars; k++) {
            buf[o++] = alphabet[(v >> (18 - 6 * k)) & 0x3f];
        }
    }
    buf[o] = '\0';
    snprintf(out, out_size, "%s", buf);
}

char *tools_strndup_view(const char *ptr, int32_t len) {
    return sl_strndup(len > 0 ? ptr : "", len > 0 ? (size_t)len : 0);
}
