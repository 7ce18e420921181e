/* tools_groups.c — `sluice consumer-groups`: list, describe and delete consumer groups and
 * their offsets, with the options and output of Kafka's kafka-consumer-groups.sh
 * (ConsumerGroupCommand); --reset-offsets is in tools_groups_reset.c. Also the partition
 * and group helpers both files use (offset lookups, OffsetFetch, OffsetCommit, the
 * consumer protocol's member assignment).
 *
 *   GROUP           TOPIC           PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG CONSUMER-ID HOST
 * CLIENT-ID hello-group     hello.kafka     0          4               4               0 - - -
 *
 * Requests: ListGroups (every broker), FindCoordinator, DescribeGroups, OffsetFetch,
 * Metadata + ListOffsets (log end offsets at the partition leaders), DeleteGroups,
 * OffsetDelete. Unlike Kafka's tool, a failed action exits with status 1. */
#include "tools/tools.h"

#include "common/sl_alloc.h"
#include "common/sl_arena.h"
#include "common/sl_err.h"
#include "common/sl_log.h"
#include "common/sl_reader.h"
#include "protocol/protocol.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUPS_RETRY_MS   100 /* between retries of a loading coordinator */
#define GROUPS_RETRIES    100 /* bounded by the client timeout as well */
#define GROUPS_NAME_WIDTH 15  /* Kafka's minimum column width */

/* ---------------- topic-partition lists ---------------- */

void tools_tp_list_init(tools_tp_list *l) {
    memset(l, 0, sizeof(*l));
}

void tools_tp_list_deinit(tools_tp_list *l) {
    for (size_t i = 0; i < l->count; i++) {
        sl_free(l->items[i].topic);
    }
    sl_free(l->items);
    memset(l, 0, sizeof(*l));
}

tools_tp *tools_tp_list_add(
    tools_tp_list *l, const char *topic, size_t topic_len, int32_t partition, int64_t offset) {
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = sl_realloc(l->items, l->cap * sizeof(*l->items));
    }
    tools_tp *tp = &l->items[l->count++];
    tp->topic = sl_strndup(topic, topic_len);
    tp->partition = partition;
    tp->offset = offset;
    tp->leader_epoch = -1;
    tp->error = 0;
    return tp;
}

tools_tp *tools_tp_list_find(const tools_tp_list *l, const char *topic, int32_t partition) {
    for (size_t i = 0; i < l->count; i++) {
        if (l->items[i].partition == partition && strcmp(l->items[i].topic, topic) == 0) {
            return &l->items[i];
        }
    }
    return NULL;
}

static int tp_cmp(const void *a, const void *b) {
    const tools_tp *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

void tools_tp_list_sort(tools_tp_list *l) {
    if (l->count > 1) qsort(l->items, l->count, sizeof(*l->items), tp_cmp);
}

/* ---------------- metadata and offsets ---------------- */

/* Distinct topic names of tps (pointers into tps). */
static size_t tp_topics(const tools_tp_list *tps, const char **names, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < tps->count; i++) {
        bool seen = false;
        for (size_t k = 0; k < n && !seen; k++) {
            seen = strcmp(names[k], tps->items[i].topic) == 0;
        }
        if (!seen && n < max) names[n++] = tps->items[i].topic;
    }
    return n;
}

static const protocol_MetadataResponse_MetadataResponsePartition *
md_partition(const protocol_MetadataResponse *md, const char *topic, int32_t partition) {
    for (int32_t i = 0; i < md->Topics.count; i++) {
        const protocol_MetadataResponse_MetadataResponseTopic *t = &md->Topics.items[i];
        if (!sl_str_eq_c(t->Name, topic)) continue;
        for (int32_t k = 0; k < t->Partitions.count; k++) {
            if (t->Partitions.items[k].PartitionIndex == partition) return &t->Partitions.items[k];
        }
    }
    return NULL;
}

/* One ListOffsets request to leader for the entries of tps it leads. */
static void list_offsets_leader(tools_kc *kc,
                                const protocol_MetadataResponse *md,
                                tools_tp_list *tps,
                                int32_t leader,
                                int64_t spec,
                                sl_arena *arena) {
    protocol_ListOffsetsRequest req;
    protocol_ListOffsetsRequest_init(&req);
    req.ReplicaId = -1;
    req.Topics.items = sl_arena_array(arena, tps->count, sizeof(*req.Topics.items));
    for (size_t i = 0; i < tps->count; i++) {
        const protocol_MetadataResponse_MetadataResponsePartition *p =
            md_partition(md, tps->items[i].topic, tps->items[i].partition);
        if (!p || p->LeaderId != leader) continue;
        protocol_ListOffsetsRequest_ListOffsetsTopic *t = &req.Topics.items[req.Topics.count++];
        protocol_ListOffsetsRequest_ListOffsetsTopic_init(t);
        t->Name = sl_str_c(tps->items[i].topic);
        t->Partitions.count = 1;
        t->Partitions.items = sl_arena_alloc(arena, sizeof(*t->Partitions.items));
        protocol_ListOffsetsRequest_ListOffsetsPartition_init(t->Partitions.items);
        t->Partitions.items[0].PartitionIndex = tps->items[i].partition;
        t->Partitions.items[0].Timestamp = spec;
        t->Partitions.items[0].MaxNumOffsets = 1;
    }
    protocol_ListOffsetsResponse resp;
    char err[256];
    int16_t version = 0;
    /* v3 is enough for offsets and times; librdkafka 2.0's mock broker (the tools' tests)
     * writes a malformed v4/v5 answer. */
    if (tools_kc_call(kc, leader, 2, 3, &req, &resp, arena, &version, err, sizeof(err)) != SL_OK) {
        SL_LOG(SL_DEBUG, "tools", "list_offsets_failed", "leader=%d err=\"%s\"", (int)leader, err);
        return; /* entries keep offset -1 */
    }
    for (int32_t i = 0; i < resp.Topics.count; i++) {
        const protocol_ListOffsetsResponse_ListOffsetsTopicResponse *t = &resp.Topics.items[i];
        for (int32_t k = 0; k < t->Partitions.count; k++) {
            const protocol_ListOffsetsResponse_ListOffsetsPartitionResponse *p =
                &t->Partitions.items[k];
            char name[300];
            snprintf(name, sizeof(name), "%.*s", t->Name.len, t->Name.ptr);
            tools_tp *tp = tools_tp_list_find(tps, name, p->PartitionIndex);
            if (!tp) continue;
            tp->error = p->ErrorCode;
            if (p->ErrorCode != 0) continue;
            tp->offset = version == 0
                             ? (p->OldStyleOffsets.count > 0 ? p->OldStyleOffsets.items[0] : -1)
                             : p->Offset;
        }
    }
}

int tools_list_offsets(tools_kc *kc, tools_tp_list *tps, int64_t spec, char *err, size_t err_size) {
    if (tps->count == 0) return SL_OK;
    sl_arena arena;
    sl_arena_init(&arena);
    const char **names = sl_arena_array(&arena, tps->count, sizeof(char *));
    size_t n = tp_topics(tps, names, tps->count);
    protocol_MetadataResponse md;
    int rc = tools_kc_metadata(kc, names, n, &arena, &md, NULL, err, err_size);
    for (size_t i = 0; rc == SL_OK && i < tps->count; i++) {
        tps->items[i].offset = -1;
        tps->items[i].error = PROTOCOL_ERR_LEADER_NOT_AVAILABLE;
    }
    /* One request per leader: leaders are visited in the order their partitions appear. */
    for (size_t i = 0; rc == SL_OK && i < tps->count; i++) {
        const protocol_MetadataResponse_MetadataResponsePartition *p =
            md_partition(&md, tps->items[i].topic, tps->items[i].partition);
        if (!p) {
            tps->items[i].error = PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            continue;
        }
        if (p->LeaderId < 0) continue;
        bool done = false;
        for (size_t k = 0; k < i && !done; k++) {
            const protocol_MetadataResponse_MetadataResponsePartition *q =
                md_partition(&md, tps->items[k].topic, tps->items[k].partition);
            done = q && q->LeaderId == p->LeaderId;
        }
        if (!done) list_offsets_leader(kc, &md, tps, p->LeaderId, spec, &arena);
    }
    sl_arena_deinit(&arena);
    return rc;
}

int tools_topic_partitions(tools_kc *kc,
                           const char *const *topics,
                           size_t topic_count,
                           tools_tp_list *out,
                           char *err,
                           size_t err_size) {
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_MetadataResponse md;
    int rc = tools_kc_metadata(kc, topics, topic_count, &arena, &md, NULL, err, err_size);
    for (int32_t i = 0; rc == SL_OK && i < md.Topics.count; i++) {
        const protocol_MetadataResponse_MetadataResponseTopic *t = &md.Topics.items[i];
        if (t->ErrorCode != 0) {
            snprintf(err, err_size, "%s: %s", tools_error_class(t->ErrorCode),
                     tools_error_message(t->ErrorCode));
            rc = SL_E_NOT_FOUND;
            break;
        }
        for (int32_t k = 0; k < t->Partitions.count; k++) {
            tools_tp_list_add(out, t->Name.ptr, (size_t)t->Name.len,
                              t->Partitions.items[k].PartitionIndex, -1);
        }
    }
    sl_arena_deinit(&arena);
    return rc;
}

/* ---------------- groups ---------------- */

int tools_group_describe(tools_kc *kc,
                         const char *group,
                         sl_arena *arena,
                         protocol_DescribeGroupsResponse_DescribedGroup **out,
                         int32_t *coordinator_out,
                         char *err,
                         size_t err_size) {
    for (int attempt = 0; attempt < GROUPS_RETRIES; attempt++) {
        int32_t coordinator = -1;
        SL_TRY(tools_kc_find_coordinator(kc, group, &coordinator, err, err_size));
        protocol_DescribeGroupsRequest req;
        protocol_DescribeGroupsRequest_init(&req);
        sl_str name = sl_str_c(group);
        req.Groups.count = 1;
        req.Groups.items = &name;
        protocol_DescribeGroupsResponse *resp = sl_arena_alloc(arena, sizeof(*resp));
        SL_TRY(tools_kc_call(kc, coordinator, 15, -1, &req, resp, arena, NULL, err, err_size));
        if (resp->Groups.count < 1) {
            snprintf(err, err_size, "%s", tools_error_message(PROTOCOL_ERR_UNKNOWN_SERVER_ERROR));
            return SL_E_STATE;
        }
        int16_t code = resp->Groups.items[0].ErrorCode;
        if (code == PROTOCOL_ERR_COORDINATOR_LOAD_IN_PROGRESS ||
            code == PROTOCOL_ERR_NOT_COORDINATOR ||
            code == PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE) {
            usleep(GROUPS_RETRY_MS * 1000);
            continue;
        }
        if (code != 0 && code != PROTOCOL_ERR_GROUP_ID_NOT_FOUND) {
            snprintf(err, err_size, "%s: %s", tools_error_class(code), tools_error_message(code));
            return SL_E_STATE;
        }
        *out = &resp->Groups.items[0];
        *coordinator_out = coordinator;
        return SL_OK;
    }
    snprintf(err, err_size, "%s", tools_error_message(PROTOCOL_ERR_COORDINATOR_NOT_AVAILABLE));
    return SL_E_TIMEOUT;
}

/* OffsetFetch topics naming every partition of every topic: for brokers that cannot
 * answer "all topics" (a null array; librdkafka 2.0's mock broker answers it with a null
 * array, which is malformed). */
static int fetch_all_partitions(tools_kc *kc,
                                sl_arena *arena,
                                protocol_OffsetFetchRequest_OffsetFetchRequestTopic_array *out,
                                char *err,
                                size_t err_size) {
    protocol_MetadataResponse md;
    SL_TRY(tools_kc_metadata(kc, NULL, 0, arena, &md, NULL, err, err_size));
    out->count = 0;
    out->items = sl_arena_array(arena, (size_t)(md.Topics.count > 0 ? md.Topics.count : 1),
                                sizeof(*out->items));
    for (int32_t i = 0; i < md.Topics.count; i++) {
        const protocol_MetadataResponse_MetadataResponseTopic *t = &md.Topics.items[i];
        protocol_OffsetFetchRequest_OffsetFetchRequestTopic *ft = &out->items[out->count++];
        ft->Name = t->Name;
        ft->PartitionIndexes.count = t->Partitions.count;
        ft->PartitionIndexes.items = sl_arena_array(
            arena, (size_t)(t->Partitions.count > 0 ? t->Partitions.count : 1), sizeof(int32_t));
        for (int32_t k = 0; k < t->Partitions.count; k++) {
            ft->PartitionIndexes.items[k] = t->Partitions.items[k].PartitionIndex;
        }
    }
    return SL_OK;
}

int tools_group_fetch_offsets(tools_kc *kc,
                              int32_t coordinator,
                              const char *group,
                              tools_tp_list *out,
                              char *err,
                              size_t err_size) {
    sl_arena arena;
    sl_arena_init(&arena);
    int rc = SL_E_TIMEOUT;
    bool explicit_topics = false;
    for (int attempt = 0; attempt < GROUPS_RETRIES; attempt++) {
        protocol_OffsetFetchRequest req;
        protocol_OffsetFetchRequest_init(&req);
        req.GroupId = sl_str_c(group);
        req.Topics.count = -1; /* every committed partition (v2+) */
        if (explicit_topics &&
            fetch_all_partitions(kc, &arena, &req.Topics, err, err_size) != SL_OK) {
            rc = SL_E_STATE;
            break;
        }
        protocol_OffsetFetchResponse resp;
        rc = tools_kc_call(kc, coordinator, 9, 7, &req, &resp, &arena, NULL, err, err_size);
        if (rc == SL_E_CORRUPT && !explicit_topics) {
            explicit_topics = true;
            continue;
        }
        if (rc != SL_OK) break;
        if (resp.ErrorCode == PROTOCOL_ERR_COORDINATOR_LOAD_IN_PROGRESS) {
            usleep(GROUPS_RETRY_MS * 1000);
            rc = SL_E_TIMEOUT;
            continue;
        }
        if (resp.ErrorCode != 0) {
            snprintf(err, err_size, "%s: %s", tools_error_class(resp.ErrorCode),
                     tools_error_message(resp.ErrorCode));
            rc = SL_E_STATE;
            break;
        }
        for (int32_t i = 0; i < resp.Topics.count; i++) {
            const protocol_OffsetFetchResponse_OffsetFetchResponseTopic *t = &resp.Topics.items[i];
            for (int32_t k = 0; k < t->Partitions.count; k++) {
                const protocol_OffsetFetchResponse_OffsetFetchResponsePartition *p =
                    &t->Partitions.items[k];
                if (p->ErrorCode != 0 || p->CommittedOffset < 0) continue;
                tools_tp *tp = tools_tp_list_add(out, t->Name.ptr, (size_t)t->Name.len,
                                                 p->PartitionIndex, p->CommittedOffset);
                tp->leader_epoch = p->CommittedLeaderEpoch;
            }
        }
        break;
    }
    sl_arena_deinit(&arena);
    return rc;
}

static void
commit_fill(const tools_tp_list *tps, sl_arena *arena, protocol_OffsetCommitRequest *req) {
    req->Topics.items =
        sl_arena_array(arena, tps->count ? tps->count : 1, sizeof(*req->Topics.items));
    for (size_t i = 0; i < tps->count; i++) {
        protocol_OffsetCommitRequest_OffsetCommitRequestTopic *t =
            &req->Topics.items[req->Topics.count++];
        protocol_OffsetCommitRequest_OffsetCommitRequestTopic_init(t);
        t->Name = sl_str_c(tps->items[i].topic);
        t->Partitions.count = 1;
        t->Partitions.items = sl_arena_alloc(arena, sizeof(*t->Partitions.items));
        protocol_OffsetCommitRequest_OffsetCommitRequestPartition_init(t->Partitions.items);
        t->Partitions.items[0].PartitionIndex = tps->items[i].partition;
        t->Partitions.items[0].CommittedOffset = tps->items[i].offset;
        t->Partitions.items[0].CommittedLeaderEpoch = -1;
        t->Partitions.items[0].CommittedMetadata = sl_str_c("");
    }
}

int tools_group_commit_offsets(tools_kc *kc,
                               int32_t coordinator,
                               const char *group,
                               tools_tp_list *tps,
                               char *err,
                               size_t err_size) {
    sl_arena arena;
    sl_arena_init(&arena);
    protocol_OffsetCommitRequest req;
    protocol_OffsetCommitRequest_init(&req);
    req.GroupId = sl_str_c(group);
    req.GenerationIdOrMemberEpoch = -1;
    req.MemberId = sl_str_c("");
    req.RetentionTimeMs = -1;
    commit_fill(tps, &arena, &req);
    protocol_OffsetCommitResponse resp;
    int rc = tools_kc_call(kc, coordinator, 8, 8, &req, &resp, &arena, NULL, err, err_size);
    for (int32_t i = 0; rc == SL_OK && i < resp.Topics.count; i++) {
        const protocol_OffsetCommitResponse_OffsetCommitResponseTopic *t = &resp.Topics.items[i];
        char name[300];
        snprintf(name, sizeof(name), "%.*s", t->Name.len, t->Name.ptr);
        for (int32_t k = 0; k < t->Partitions.count; k++) {
            tools_tp *tp = tools_tp_list_find(tps, name, t->Partitions.items[k].PartitionIndex);
            if (tp) tp->error = t->Partitions.items[k].ErrorCode;
            if (t->Partitions.items[k].ErrorCode != 0 && rc == SL_OK) {
                int16_t code = t->Partitions.items[k].ErrorCode;
                snprintf(err, err_size, "%s: %s", tools_error_class(code),
                         tools_error_message(code));
                rc = SL_E_STATE;
            }
        }
    }
    sl_arena_deinit(&arena);
    return rc;
}

int tools_group_parse_assignment(const uint8_t *bytes, int32_t len, tools_tp_list *out) {
    if (!bytes || len <= 0) return SL_OK;
    sl_reader r;
    sl_reader_init(&r, bytes, (size_t)len);
    int16_t version = sl_reader_i16(&r);
    if (sl_reader_err(&r) || version < 0) return SL_E_CORRUPT;
    int32_t topics = protocol_read_count(&r, false, true, 6);
    for (int32_t i = 0; !sl_reader_err(&r) && i < topics; i++) {
        sl_str topic = protocol_read_str(&r, false, false);
        int32_t parts = protocol_read_count(&r, false, true, 4);
        for (int32_t k = 0; !sl_reader_err(&r) && k < parts; k++) {
            int32_t partition = sl_reader_i32(&r);
            if (!sl_reader_err(&r))
                tools_tp_list_add(out, topic.ptr, (size_t)topic.len, partition, -1);
        }
    }
    return sl_reader_err(&r) ? SL_E_CORRUPT : SL_OK; /* userData after the topics is ignored */
}

bool tools_parse_duration_ms(const char *text, int64_t *ms_out) {
    const char *p = text;
    int sign = 1;
    if (*p == '-' || *p == '+') sign = *p++ == '-' ? -1 : 1;
    if (*p != 'P' && *p != 'p') return false;
    p++;
    bool time = false, any = false;
    double total_ms = 0;
    for (int guard = 0; *p && guard < 16; guard++) {
        if (*p == 'T' || *p == 't') {
            if (time) return false;
            time = true;
            p++;
            continue;
        }
        char *end = NULL;
        double v = strtod(p, &end);
        if (end == p) return false;
        char unit = *end;
        double scale = unit == 'D' || unit == 'd'   ? (time ? -1 : 86400000.0)
                       : unit == 'H' || unit == 'h' ? (time ? 3600000.0 : -1)
                       : unit == 'M' || unit == 'm' ? (time ? 60000.0 : -1)
                       : unit == 'S' || unit == 's' ? (time ? 1000.0 : -1)
                                                    : -1;
        if (scale < 0) return false;
        total_ms += v * scale;
        any = true;
        p = end + 1;
    }
    if (!any || *p) return false;
    *ms_out = (int64_t)(sign * total_ms);
    return true;
}

/* ---------------- the command ---------------- */

static const tools_opt_def groups_opts[] = {
    { "bootstrap-server", TOOLS_OPT_STRING, TOOLS_OPT_REQUIRED, "server to connect to", NULL,
      "The server(s) to connect to." },
    { "group", TOOLS_OPT_LIST, 0, "consumer group", NULL, "The consumer group we wish to act on." },
    { "topic", TOOLS_OPT_LIST, 0, "topic", NULL,
      "The topic whose consumer group information should be deleted or topic whose should be "
      "included in the reset offset process. In `reset-offsets` case, partitions can be "
      "specified using this format: `topic1:0,1,2`, where 0,1,2 are the partition to be "
      "included in the process. Reset-offsets also supports multiple topic inputs." },
    { "all-topics", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Consider all topics assigned to a group in the `reset-offsets` process." },
    { "list", TOOLS_OPT_FLAG, 0, NULL, NULL, "List all consumer groups." },
    { "describe", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Describe consumer group and list offset lag (number of messages not yet processed) "
      "related to given group." },
    { "all-groups", TOOLS_OPT_FLAG, 0, NULL, NULL, "Apply to all consumer groups." },
    { "delete", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Pass in groups to delete topic partition offsets and ownership information over the "
      "entire consumer group. For instance --group g1 --group g2" },
    { "timeout", TOOLS_OPT_INT, 0, "timeout (ms)", "5000",
      "The timeout that can be set for some use cases. For example, it can be used when "
      "describing the group to specify the maximum amount of time in milliseconds to wait "
      "before the group stabilizes." },
    { "command-config", TOOLS_OPT_STRING, 0, "command config property file", NULL,
      "Property file containing configs to be passed to Admin Client and Consumer." },
    { "reset-offsets", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Reset offsets of consumer group. Supports one consumer group at the time, and instances "
      "should be inactive. Has 2 execution options: --dry-run (the default) to plan which "
      "offsets to reset, and --execute to update the offsets. Additionally, the --export "
      "option is used to export the results to a CSV format. You must choose one of the "
      "following reset specifications: --to-datetime, --by-duration, --to-earliest, "
      "--to-latest, --shift-by, --from-file, --to-current, --to-offset. To define the scope "
      "use --all-topics or --topic. One scope must be specified unless you use '--from-file'." },
    { "delete-offsets", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Delete offsets of consumer group. Supports one consumer group at the time, and multiple "
      "topics." },
    { "dry-run", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Only show results without executing changes on Consumer Groups. Supported operations: "
      "reset-offsets." },
    { "execute", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Execute operation. Supported operations: reset-offsets." },
    { "export", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Export operation execution to a CSV file. Supported operations: reset-offsets." },
    { "to-offset", TOOLS_OPT_INT, 0, "offset", NULL, "Reset offsets to a specific offset." },
    { "from-file", TOOLS_OPT_STRING, 0, "path to CSV file", NULL,
      "Reset offsets to values defined in CSV file." },
    { "to-datetime", TOOLS_OPT_STRING, 0, "datetime", NULL,
      "Reset offsets to offset from datetime. Format: 'YYYY-MM-DDTHH:mm:SS.sss'" },
    { "by-duration", TOOLS_OPT_STRING, 0, "duration", NULL,
      "Reset offsets to offset by duration from current timestamp. Format: 'PnDTnHnMnS'" },
    { "to-earliest", TOOLS_OPT_FLAG, 0, NULL, NULL, "Reset offsets to earliest offset." },
    { "to-latest", TOOLS_OPT_FLAG, 0, NULL, NULL, "Reset offsets to latest offset." },
    { "to-current", TOOLS_OPT_FLAG, 0, NULL, NULL, "Reset offsets to current offset." },
    { "shift-by", TOOLS_OPT_INT, 0, "number-of-offsets", NULL,
      "Reset offsets shifting current offset by 'n', where 'n' can be positive or negative." },
    { "members", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Describe members of the group. This option may be used with '--describe' and "
      "'--bootstrap-server' options only." },
    { "verbose", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Provide additional information, if any, when describing the group. This option may be "
      "used with '--offsets'/'--members'/'--state' and '--bootstrap-server' options only." },
    { "offsets", TOOLS_OPT_FLAG, 0, NULL, NULL,
      "Describe the group and list all topic partitions in the group along with their offset "
      "lag. This is the default sub-action of and may be used with '--describe' and "
      "'--bootstrap-server' options only." },
    { "state", TOOLS_OPT_STRING, TOOLS_OPT_OPTIONAL_ARG, "state", NULL,
      "When specified with '--describe', includes the state of the group. When specified with "
      "'--list', it displays the state of all groups. It can also be used to list groups with "
      "specific states (--list --state stable,empty)." },
};

typedef struct groups_ctx {
    const tools_opts *o;
    tools_kc *kc;
    sl_arena arena;
    char err[1024];
} groups_ctx;

static void groups_error(const char *msg) {
    printf("\nError: %s\n", msg);
}

/* ---- list ---- */

typedef struct group_listing {
    char *id;
    char state[32];
} group_listing;

static int listing_cmp(const void *a, const void *b) {
    return strcmp(((const group_listing *)a)->id, ((const group_listing *)b)->id);
}

/* ListGroups on every broker (groups live on their coordinators); consumer groups are
 * those with protocol type "consumer" or none. */
static int groups_collect(groups_ctx *c, group_listing **out, size_t *count_out) {
    protocol_MetadataResponse md;
    SL_TRY(tools_kc_metadata(c->kc, NULL, 0, &c->arena, &md, NULL, c->err, sizeof(c->err)));
    size_t n = 0, cap = 64;
    group_listing *list = sl_arena_array(&c->arena, cap, sizeof(*list));
    for (int32_t b = 0; b < md.Brokers.count; b++) {
        protocol_ListGroupsRequest req;
        protocol_ListGroupsRequest_init(&req);
        protocol_ListGroupsResponse resp;
        SL_TRY(tools_kc_call(c->kc, md.Brokers.items[b].NodeId, 16, 4, &req, &resp, &c->arena, NULL,
                             c->err, sizeof(c->err)));
        for (int32_t i = 0; i < resp.Groups.count; i++) {
            const protocol_ListGroupsResponse_ListedGroup *g = &resp.Groups.items[i];
            if (g->ProtocolType.len > 0 && !sl_str_eq_c(g->ProtocolType, "consumer")) continue;
            if (n == cap) {
                group_listing *bigger = sl_arena_array(&c->arena, cap * 2, sizeof(*list));
                memcpy(bigger, list, n * sizeof(*list));
                list = bigger;
                cap *= 2;
            }
            list[n].id = sl_arena_strndup(&c->arena, g->GroupId.ptr, (size_t)g->GroupId.len);
            snprintf(list[n].state, sizeof(list[n].state), "%.*s",
                     g->GroupState.len > 0 ? g->GroupState.len : 7,
                     g->GroupState.len > 0 ? g->GroupState.ptr : "Unknown");
            n++;
        }
    }
    qsort(list, n, sizeof(*list), listing_cmp);
    *out = list;
    *count_out = n;
    return SL_OK;
}

/* --state value: comma-separated states, matched case-insensitively. */
static bool groups_state_wanted(const char *filter, const char *state) {
    if (!filter || !filter[0]) return true;
    char copy[256];
    snprintf(copy, sizeof(copy), "%s", filter);
    char *save = NULL;
    for (char *s = strtok_r(copy, ",", &save); s; s = strtok_r(NULL, ",", &save)) {
        while (*s == ' ') {
            s++;
        }
        if (strcasecmp(s, state) == 0) return true;
    }
    return false;
}

static int groups_list(groups_ctx *c) {
    group_listing *list = NULL;
    size_t n = 0;
    if (groups_collect(c, &list, &n) != SL_OK) {
        groups_error(c->err);
        return TOOLS_EXIT_FAIL;
    }
    if (!tools_opts_has(c->o, "state")) {
        for (size_t i = 0; i < n; i++) {
            printf("%s\n", list[i].id);
        }
        return TOOLS_EXIT_OK;
    }
    const char *filter = tools_opts_str(c->o, "state");
    int width = GROUPS_NAME_WIDTH;
    for (size_t i = 0; i < n; i++) {
        if ((int)strlen(list[i].id) > width) width = (int)strlen(list[i].id);
    }
    width += 10;
    printf("%-*s %s\n", width, "GROUP", "STATE");
    for (size_t i = 0; i < n; i++) {
        if (groups_state_wanted(filter, list[i].state))
            printf("%-*s %s\n", width, list[i].id, list[i].state);
    }
    return TOOLS_EXIT_OK;
}

/* ---- describe ---- */

/* One row of the offsets table. */
typedef struct groups_row {
    const char *topic; /* NULL = "-" */
    int32_t partition;
    int64_t offset; /* -1 = "-" */
    int64_t leo;    /* -1 = "-" */
    const char *consumer_id, *host, *client_id;
} groups_row;

/* Kafka's shouldPrintMemberState; true when the table should be printed. */
static bool groups_state_check(const char *group, const char *state, size_t rows) {
    if (strcmp(state, "Dead") == 0) {
        printf("\nError: Consumer group '%s' does not exist.\n", group);
        return false;
    }
    if (strcmp(state, "Empty") == 0) {
        fprintf(stderr, "\nConsumer group '%s' has no active members.\n", group);
    } else if (strcmp(state, "PreparingRebalance") == 0 ||
               strcmp(state, "CompletingRebalance") == 0) {
        fprintf(stderr, "\nWarning: Consumer group '%s' is rebalancing.\n", group);
    }
    return rows > 0;
}

static void groups_print_offsets(const char *group, const groups_row *rows, size_t n) {
    int gw = GROUPS_NAME_WIDTH, tw = GROUPS_NAME_WIDTH, cw = GROUPS_NAME_WIDTH,
        hw = GROUPS_NAME_WIDTH;
    if ((int)strlen(group) > gw) gw = (int)strlen(group);
    for (size_t i = 0; i < n; i++) {
        if (rows[i].topic && (int)strlen(rows[i].topic) > tw) tw = (int)strlen(rows[i].topic);
        if ((int)strlen(rows[i].consumer_id) > cw) cw = (int)strlen(rows[i].consumer_id);
        if ((int)strlen(rows[i].host) > hw) hw = (int)strlen(rows[i].host);
    }
    printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s", gw, "GROUP", tw, "TOPIC",
           "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", cw, "CONSUMER-ID", hw, "HOST",
           "CLIENT-ID");
    for (size_t i = 0; i < n; i++) {
        const groups_row *r = &rows[i];
        char part[16] = "-", off[24] = "-", leo[24] = "-", lag[24] = "-";
        if (r->topic) snprintf(part, sizeof(part), "%d", r->partition);
        if (r->offset >= 0) snprintf(off, sizeof(off), "%" PRId64, r->offset);
        if (r->leo >= 0) snprintf(leo, sizeof(leo), "%" PRId64, r->leo);
        if (r->offset >= 0 && r->leo >= 0)
            snprintf(lag, sizeof(lag), "%" PRId64, r->leo - r->offset);
        printf("\n%-*s %-*s %-10s %-15s %-15s %-15s %-*s %-*s %s", gw, group, tw,
               r->topic ? r->topic : "-", part, off, leo, lag, cw, r->consumer_id, hw, r->host,
               r->client_id);
    }
    printf("\n");
}

static char *groups_view(sl_arena *arena, sl_str s) {
    return sl_arena_strndup(arena, s.len > 0 ? s.ptr : "", s.len > 0 ? (size_t)s.len : 0);
}

/* Rows: members with assignments (most partitions first), then committed offsets of
 * unassigned partitions, as ConsumerGroupCommand.collectGroupOffsets orders them. */
static size_t groups_rows(groups_ctx *c,
                          const protocol_DescribeGroupsResponse_DescribedGroup *g,
                          tools_tp_list *committed,
                          groups_row *rows,
                          size_t cap,
                          tools_tp_list *assigned) {
    size_t n = 0;
    bool consumer = g->ProtocolType.len <= 0 || sl_str_eq_c(g->ProtocolType, "consumer");
    for (int32_t m = 0; consumer && m < g->Members.count; m++) {
        const protocol_DescribeGroupsResponse_DescribedGroupMember *mem = &g->Members.items[m];
        tools_tp_list parts;
        tools_tp_list_init(&parts);
        tools_group_parse_assignment(mem->MemberAssignment.ptr, mem->MemberAssignment.len, &parts);
        tools_tp_list_sort(&parts);
        for (size_t i = 0; i < parts.count && n < cap; i++) {
            const tools_tp *ctp =
                tools_tp_list_find(committed, parts.items[i].topic, parts.items[i].partition);
            tools_tp_list_add(assigned, parts.items[i].topic, strlen(parts.items[i].topic),
                              parts.items[i].partition, ctp ? ctp->offset : -1);
            rows[n++] = (groups_row){ sl_arena_strndup(&c->arena, parts.items[i].topic,
                                                       strlen(parts.items[i].topic)),
                                      parts.items[i].partition,
                                      ctp ? ctp->offset : -1,
                                      -1,
                                      groups_view(&c->arena, mem->MemberId),
                                      groups_view(&c->arena, mem->ClientHost),
                                      groups_view(&c->arena, mem->ClientId) };
        }
        tools_tp_list_deinit(&parts);
    }
    tools_tp_list_sort(committed);
    for (size_t i = 0; i < committed->count && n < cap; i++) {
        if (tools_tp_list_find(assigned, committed->items[i].topic, committed->items[i].partition))
            continue;
        rows[n++] = (groups_row){ committed->items[i].topic,
                                  committed->items[i].partition,
                                  committed->items[i].offset,
                                  -1,
                                  "-",
                                  "-",
                                  "-" };
    }
    return n;
}

static int groups_describe_offsets(groups_ctx *c,
                                   const char *group,
                                   const protocol_DescribeGroupsResponse_DescribedGroup *g,
                                   int32_t coordinator,
                                   const char *state) {
    tools_tp_list committed, assigned, leos;
    tools_tp_list_init(&committed);
    tools_tp_list_init(&assigned);
    tools_tp_list_init(&leos);
    int rc =
        tools_group_fetch_offsets(c->kc, coordinator, group, &committed, c->err, sizeof(c->err));
    size_t cap = committed.count + 4096, n = 0;
    groups_row *rows = sl_arena_array(&c->arena, cap, sizeof(*rows));
    if (rc == SL_OK) n = groups_rows(c, g, &committed, rows, cap, &assigned);
    for (size_t i = 0; rc == SL_OK && i < n; i++) {
        tools_tp_list_add(&leos, rows[i].topic, strlen(rows[i].topic), rows[i].partition, -1);
    }
    if (rc == SL_OK)
        rc = tools_list_offsets(c->kc, &leos, TOOLS_OFFSET_LATEST, c->err, sizeof(c->err));
    for (size_t i = 0; rc == SL_OK && i < n; i++) {
        rows[i].leo = leos.items[i].offset;
    }
    if (rc == SL_OK && groups_state_check(group, state, n)) groups_print_offsets(group, rows, n);
    tools_tp_list_deinit(&committed);
    tools_tp_list_deinit(&assigned);
    tools_tp_list_deinit(&leos);
    return rc;
}

static void groups_assignment_text(const tools_tp_list *parts, char *out, size_t out_size) {
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < parts->count; i++) {
        bool first_of_topic =
            i == 0 || strcmp(parts->items[i - 1].topic, parts->items[i].topic) != 0;
        bool last_of_topic =
            i + 1 == parts->count || strcmp(parts->items[i + 1].topic, parts->items[i].topic) != 0;
        int w = snprintf(out + used, out_size - used, "%s%s%s%d%s", first_of_topic && i ? "," : "",
                         first_of_topic ? parts->items[i].topic : "", first_of_topic ? "(" : ",",
                         parts->items[i].partition, last_of_topic ? ")" : "");
        if (w < 0 || (size_t)w >= out_size - used) break;
        used += (size_t)w;
    }
    if (parts->count == 0) snprintf(out, out_size, "-");
}

static void groups_describe_members(groups_ctx *c,
                                    const char *group,
                                    const protocol_DescribeGroupsResponse_DescribedGroup *g,
                                    const char *state) {
    if (!groups_state_check(group, state, (size_t)(g->Members.count > 0 ? g->Members.count : 0)))
        return;
    int gw = GROUPS_NAME_WIDTH, cw = GROUPS_NAME_WIDTH, hw = GROUPS_NAME_WIDTH,
        lw = GROUPS_NAME_WIDTH;
    bool verbose = tools_opts_has(c->o, "verbose");
    if ((int)strlen(group) > gw) gw = (int)strlen(group);
    for (int32_t m = 0; m < g->Members.count; m++) {
        const protocol_DescribeGroupsResponse_DescribedGroupMember *mem = &g->Members.items[m];
        if (mem->MemberId.len > cw) cw = mem->MemberId.len;
        if (mem->ClientHost.len > hw) hw = mem->ClientHost.len;
        if (mem->ClientId.len > lw) lw = mem->ClientId.len;
    }
    printf("\n%-*s %-*s %-*s %-*s %-15s %s\n", gw, "GROUP", cw, "CONSUMER-ID", hw, "HOST", lw,
           "CLIENT-ID", "#PARTITIONS", verbose ? "ASSIGNMENT" : "");
    for (int32_t m = 0; m < g->Members.count; m++) {
        const protocol_DescribeGroupsResponse_DescribedGroupMember *mem = &g->Members.items[m];
        tools_tp_list parts;
        tools_tp_list_init(&parts);
        tools_group_parse_assignment(mem->MemberAssignment.ptr, mem->MemberAssignment.len, &parts);
        tools_tp_list_sort(&parts);
        char count[24], assignment[4096] = "";
        snprintf(count, sizeof(count), "%zu", parts.count);
        if (verbose) groups_assignment_text(&parts, assignment, sizeof(assignment));
        printf("%-*s %-*.*s %-*.*s %-*.*s %-15s %s\n", gw, group, cw, mem->MemberId.len,
               mem->MemberId.ptr, hw, mem->ClientHost.len, mem->ClientHost.ptr, lw,
               mem->ClientId.len, mem->ClientId.ptr, count, assignment);
        tools_tp_list_deinit(&parts);
    }
}

static void groups_describe_state(groups_ctx *c,
                                  const char *group,
                                  const protocol_DescribeGroupsResponse_DescribedGroup *g,
                                  int32_t coordinator,
                                  const char *state) {
    if (!groups_state_check(group, state, 1)) return;
    char host[256] = "", coord[320];
    int port = 0;
    tools_kc_node_address(c->kc, coordinator, host, sizeof(host), &port);
    snprintf(coord, sizeof(coord), "%s:%d  (%d)", host, port, coordinator);
    int gw = (int)strlen(group) > GROUPS_NAME_WIDTH ? (int)strlen(group) : GROUPS_NAME_WIDTH;
    int cw = (int)strlen(coord) > 25 ? (int)strlen(coord) : 25;
    char strategy[128] = "-";
    if (g->ProtocolData.len > 0)
        snprintf(strategy, sizeof(strategy), "%.*s", g->ProtocolData.len, g->ProtocolData.ptr);
    printf("\n%-*s %-*s %-20s %-20s %s", gw, "GROUP", cw, "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY",
           "STATE", "#MEMBERS");
    printf("\n%-*s %-*s %-20s %-20s %d\n", gw, group, cw, coord, strategy, state,
           g->Members.count > 0 ? g->Members.count : 0);
}

static int groups_describe_one(groups_ctx *c, const char *group) {
    protocol_DescribeGroupsResponse_DescribedGroup *g = NULL;
    int32_t coordinator = -1;
    if (tools_group_describe(c->kc, group, &c->arena, &g, &coordinator, c->err, sizeof(c->err)) !=
        SL_OK) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "Executing consumer group command failed due to %s", c->err);
        groups_error(msg);
        return SL_E_STATE;
    }
    char state[64] = "Dead";
    if (g->ErrorCode == 0 && g->GroupState.len > 0) {
        snprintf(state, sizeof(state), "%.*s", g->GroupState.len, g->GroupState.ptr);
    }
    if (tools_opts_has(c->o, "members")) {
        groups_describe_members(c, group, g, state);
    } else if (tools_opts_has(c->o, "state")) {
        groups_describe_state(c, group, g, coordinator, state);
    } else if (groups_describe_offsets(c, group, g, coordinator, state) != SL_OK) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "Executing consumer group command failed due to %s", c->err);
        groups_error(msg);
        return SL_E_STATE;
    }
    return strcmp(state, "Dead") == 0 ? SL_E_NOT_FOUND : SL_OK;
}

/* The groups named by --group, or every group with --all-groups. */
static int groups_targets(groups_ctx *c, const char ***out, size_t *count_out) {
    if (!tools_opts_has(c->o, "all-groups")) {
        const tools_opt_value *v = tools_opts_get(c->o, "group");
        *out = v->list;
        *count_out = v->list_count;
        return SL_OK;
    }
    group_listing *list = NULL;
    size_t n = 0;
    SL_TRY(groups_collect(c, &list, &n));
    const char **names = sl_arena_array(&c->arena, n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        names[i] = list[i].id;
    }
    *out = names;
    *count_out = n;
    return SL_OK;
}

static int groups_describe(groups_ctx *c) {
    const char **groups = NULL;
    size_t n = 0;
    if (groups_targets(c, &groups, &n) != SL_OK) {
        groups_error(c->err);
        return TOOLS_EXIT_FAIL;
    }
    int exit_code = TOOLS_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        if (groups_describe_one(c, groups[i]) != SL_OK) exit_code = TOOLS_EXIT_FAIL;
    }
    return exit_code;
}

/* ---- delete ---- */

static int groups_delete(groups_ctx *c) {
    const char **groups = NULL;
    size_t n = 0;
    if (groups_targets(c, &groups, &n) != SL_OK) {
        groups_error(c->err);
        return TOOLS_EXIT_FAIL;
    }
    char ok[4096] = "", failed[8192] = "";
    size_t ok_used = 0, failed_used = 0;
    for (size_t i = 0; i < n; i++) {
        int32_t coordinator = -1;
        int16_t code = 0;
        char err[512] = "";
        if (tools_kc_find_coordinator(c->kc, groups[i], &coordinator, err, sizeof(err)) == SL_OK) {
            protocol_DeleteGroupsRequest req;
            protocol_DeleteGroupsRequest_init(&req);
            sl_str name = sl_str_c(groups[i]);
            req.GroupsNames.count = 1;
            req.GroupsNames.items = &name;
            protocol_DeleteGroupsResponse resp;
            if (tools_kc_call(c->kc, coordinator, 42, -1, &req, &resp, &c->arena, NULL, err,
                              sizeof(err)) == SL_OK) {
                code = resp.Results.count > 0 ? resp.Results.items[0].ErrorCode
                                              : PROTOCOL_ERR_UNKNOWN_SERVER_ERROR;
                if (code)
                    snprintf(err, sizeof(err), "%s: %s", tools_error_class(code),
                             tools_error_message(code));
            }
        }
        if (!err[0]) {
            int w = snprintf(ok + ok_used, sizeof(ok) - ok_used, "%s'%s'", ok_used ? ", " : "",
                             groups[i]);
            if (w > 0 && (size_t)w < sizeof(ok) - ok_used) ok_used += (size_t)w;
        } else {
            int w = snprintf(failed + failed_used, sizeof(failed) - failed_used,
                             "* Group '%s' could not be deleted due to: %s\n", groups[i], err);
            if (w > 0 && (size_t)w < sizeof(failed) - failed_used) failed_used += (size_t)w;
        }
    }
    if (!failed_used) {
        printf("Deletion of requested consumer groups (%s) was successful.\n", ok);
        return TOOLS_EXIT_OK;
    }
    groups_error("Deletion of some consumer groups failed:");
    printf("%s", failed);
    if (ok_used) printf("\nThese consumer groups were deleted successfully: %s\n", ok);
    return TOOLS_EXIT_FAIL;
}

/* ---- delete offsets ---- */

static int groups_delete_offsets_parts(groups_ctx *c, tools_tp_list *parts) {
    const tools_opt_value *topics = tools_opts_get(c->o, "topic");
    for (size_t i = 0; i < topics->list_count; i++) {
        const char *colon = strchr(topics->list[i], ':');
        if (!colon) {
            SL_TRY(
                tools_topic_partitions(c->kc, &topics->list[i], 1, parts, c->err, sizeof(c->err)));
            continue;
        }
        char *copy = sl_arena_strndup(&c->arena, colon + 1, strlen(colon + 1));
        char *save = NULL;
        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            int32_t partition = 0;
            if (!tools_parse_i32(p, &partition)) {
                snprintf(c->err, sizeof(c->err),
                         "Invalid partition '%s' specified in topic arg '%s''", p, topics->list[i]);
                return SL_E_INVALID;
            }
            tools_tp_list_add(parts, topics->list[i], (size_t)(colon - topics->list[i]), partition,
                              -1);
        }
    }
    return SL_OK;
}

static int groups_delete_offsets_send(groups_ctx *c,
                                      const char *group,
                                      tools_tp_list *parts,
                                      int16_t *top_out) {
    int32_t coordinator = -1;
    SL_TRY(tools_kc_find_coordinator(c->kc, group, &coordinator, c->err, sizeof(c->err)));
    protocol_OffsetDeleteRequest req;
    protocol_OffsetDeleteRequest_init(&req);
    req.GroupId = sl_str_c(group);
    req.Topics.items =
        sl_arena_array(&c->arena, parts->count ? parts->count : 1, sizeof(*req.Topics.items));
    for (size_t i = 0; i < parts->count; i++) {
        protocol_OffsetDeleteRequest_OffsetDeleteRequestTopic *t =
            &req.Topics.items[req.Topics.count++];
        protocol_OffsetDeleteRequest_OffsetDeleteRequestTopic_init(t);
        t->Name = sl_str_c(parts->items[i].topic);
        t->Partitions.count = 1;
        t->Partitions.items = sl_arena_alloc(&c->arena, sizeof(*t->Partitions.items));
        t->Partitions.items[0].PartitionIndex = parts->items[i].partition;
    }
    protocol_OffsetDeleteResponse resp;
    SL_TRY(tools_kc_call(c->kc, coordinator, 47, -1, &req, &resp, &c->arena, NULL, c->err,
                         sizeof(c->err)));
    *top_out = resp.ErrorCode;
    for (int32_t i = 0; i < resp.Topics.count; i++) {
        char name[300];
        snprintf(name, sizeof(name), "%.*s", resp.Topics.items[i].Name.len,
                 resp.Topics.items[i].Name.ptr);
        for (int32_t k = 0; k < resp.Topics.items[i].Partitions.count; k++) {
            const protocol_OffsetDeleteResponse_OffsetDeleteResponsePartition *p =
                &resp.Topics.items[i].Partitions.items[k];
            tools_tp *tp = tools_tp_list_find(parts, name, p->PartitionIndex);
            if (tp) tp->error = p->ErrorCode;
        }
    }
    return SL_OK;
}

static int groups_delete_offsets(groups_ctx *c) {
    const char *group = tools_opts_get(c->o, "group")->list[0];
    tools_tp_list parts;
    tools_tp_list_init(&parts);
    int16_t top = 0;
    int rc = groups_delete_offsets_parts(c, &parts);
    if (rc == SL_OK) rc = groups_delete_offsets_send(c, group, &parts, &top);
    if (rc != SL_OK) {
        char msg[1200];
        snprintf(msg, sizeof(msg), "Executing consumer group command failed due to %s", c->err);
        groups_error(msg);
        tools_tp_list_deinit(&parts);
        return TOOLS_EXIT_FAIL;
    }
    bool partition_errors = false;
    for (size_t i = 0; i < parts.count; i++) {
        partition_errors = partition_errors || parts.items[i].error != 0;
    }
    if (top == 0 && !partition_errors) {
        printf("Request succeeded for deleting offsets from group %s.\n", group);
    } else if (top == PROTOCOL_ERR_INVALID_GROUP_ID || top == PROTOCOL_ERR_GROUP_ID_NOT_FOUND ||
               top == PROTOCOL_ERR_GROUP_AUTHORIZATION_FAILED ||
               top == PROTOCOL_ERR_NON_EMPTY_GROUP) {
        groups_error(tools_error_message(top));
    } else {
        groups_error("Encountered some partition-level error, see the follow-up details.");
    }
    tools_tp_list_sort(&parts);
    int tw = GROUPS_NAME_WIDTH;
    for (size_t i = 0; i < parts.count; i++) {
        if ((int)strlen(parts.items[i].topic) > tw) tw = (int)strlen(parts.items[i].topic);
    }
    printf("\n%-*s %-10s %-15s", tw, "TOPIC", "PARTITION", "STATUS");
    for (size_t i = 0; i < parts.count; i++) {
        char status[512] = "Successful";
        int16_t code = parts.items[i].error ? parts.items[i].error : top;
        if (code) snprintf(status, sizeof(status), "Error: %s", tools_error_message(code));
        printf("\n%-*s %-10d %-15s", tw, parts.items[i].topic, parts.items[i].partition, status);
    }
    printf("\n");
    tools_tp_list_deinit(&parts);
    return top == 0 && !partition_errors ? TOOLS_EXIT_OK : TOOLS_EXIT_FAIL;
}

/* ---- arguments ---- */

static int groups_usage_error(const char *msg) {
    fprintf(stderr, "%s\n", msg);
    return TOOLS_EXIT_USAGE;
}

static int groups_check_args(const tools_opts *o) {
    int actions = tools_opts_has(o, "list") + tools_opts_has(o, "describe") +
                  tools_opts_has(o, "delete") + tools_opts_has(o, "reset-offsets") +
                  tools_opts_has(o, "delete-offsets");
    if (actions != 1) {
        return groups_usage_error("Command must include exactly one action: --list, --describe, "
                                  "--delete, --reset-offsets, --delete-offsets");
    }
    bool group = tools_opts_has(o, "group") || tools_opts_has(o, "all-groups");
    if (tools_opts_has(o, "describe")) {
        if (!group)
            return groups_usage_error(
                "Option [describe] takes one of these options: [all-groups], [group]");
        if (tools_opts_has(o, "members") + tools_opts_has(o, "offsets") +
                tools_opts_has(o, "state") >
            1) {
            return groups_usage_error("Option [describe] takes at most one of these options: "
                                      "[members], [offsets], [state]");
        }
        if (tools_opts_has(o, "state") && tools_opts_str(o, "state")) {
            return groups_usage_error("Option [describe] does not take a value for [state]");
        }
    }
    if (tools_opts_has(o, "delete")) {
        if (!group)
            return groups_usage_error(
                "Option [delete] takes one of these options: [all-groups], [group]");
        if (tools_opts_has(o, "topic")) {
            return groups_usage_error("The consumer does not support topic-specific offset "
                                      "deletion from a consumer group.");
        }
    }
    if (tools_opts_has(o, "delete-offsets") &&
        (!tools_opts_has(o, "group") || !tools_opts_has(o, "topic"))) {
        return groups_usage_error(
            "Option [delete-offsets] takes the following options: [topic], [group]");
    }
    if (tools_opts_has(o, "reset-offsets")) {
        if (tools_opts_has(o, "dry-run") && tools_opts_has(o, "execute")) {
            return groups_usage_error(
                "Option [reset-offsets] only accepts one of [execute] and [dry-run]");
        }
        if (!group)
            return groups_usage_error(
                "Option [reset-offsets] takes one of these options: [all-groups], [group]");
    }
    if ((tools_opts_has(o, "members") || tools_opts_has(o, "offsets") ||
         tools_opts_has(o, "verbose")) &&
        !tools_opts_has(o, "describe")) {
        return groups_usage_error(
            "Option [members], [offsets] and [verbose] may be used with [describe] only");
    }
    return TOOLS_EXIT_OK;
}

static int groups_run(const tools_opts *o) {
    int check = groups_check_args(o);
    if (check != TOOLS_EXIT_OK) return check;
    groups_ctx c = { .o = o };
    if (tools_kc_open(tools_opts_str(o, "bootstrap-server"), tools_opts_str(o, "command-config"),
                      "consumer-groups", &c.kc, c.err, sizeof(c.err)) != SL_OK) {
        fprintf(stderr, "%s\n", c.err);
        return TOOLS_EXIT_FAIL;
    }
    sl_arena_init(&c.arena);
    int exit_code;
    if (tools_opts_has(o, "list")) {
        exit_code = groups_list(&c);
    } else if (tools_opts_has(o, "describe")) {
        exit_code = groups_describe(&c);
    } else if (tools_opts_has(o, "delete")) {
        exit_code = groups_delete(&c);
    } else if (tools_opts_has(o, "delete-offsets")) {
        exit_code = groups_delete_offsets(&c);
    } else {
        exit_code = tools_groups_reset_offsets(c.kc, o);
    }
    sl_arena_deinit(&c.arena);
    tools_kc_close(c.kc);
    return exit_code;
}

const tools_command tools_cmd_consumer_groups = {
    .name = "consumer-groups",
    .summary = "list, describe, delete consumer groups; reset their offsets",
    .description = "This tool helps to list all consumer groups, describe a consumer group, "
                   "delete consumer group info, or reset consumer group offsets.",
    .opts = groups_opts,
    .opt_count = sizeof(groups_opts) / sizeof(groups_opts[0]),
    .run = groups_run,
};
