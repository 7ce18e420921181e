/* broker_group_api.c — the consumer-group APIs: JoinGroup 0-9, SyncGroup 0-5, Heartbeat
 * 0-4, LeaveGroup 0-5, OffsetCommit 0-8, OffsetFetch 1-8, ListGroups 0-4, DescribeGroups
 * 0-5, DeleteGroups 0-2, OffsetDelete 0.
 *
 * Each handler decodes the request into the core's terms (broker_group.h), calls the core
 * and encodes its answer, version by version as Kafka's KafkaApis does. JoinGroup, SyncGroup
 * and OffsetCommit may be answered later: the handler parks the request with its op as the
 * core's waiter; the core calls back (broker_group_api_*_done) and the request finishes
 * then. A connection that closes while parked cancels the waiter in the core. Everything a
 * response points to is copied into the request's arena. */
#include "broker/broker_int.h"
#include "broker/broker_group.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define E(name)                PROTOCOL_ERR_##name
#define AUTHORIZED_OPS_GROUP   ((1 << 3) | (1 << 6) | (1 << 8)) /* READ, DELETE, DESCRIBE */
#define AUTHORIZED_OPS_OMITTED INT32_MIN

/* A request parked in the core. */
typedef struct group_op {
    broker_request *req;
    void *resp;
    bool done;                       /* the core answered */
    bool parked;                     /* the handler returned BROKER_PENDING */
    broker_group_commit_part *parts; /* OffsetCommit: flattened request partitions */
    int32_t part_count;
} group_op;

static sl_str arena_str(broker_request *req, sl_str s) {
    if (s.len <= 0) return s;
    return (sl_str){ sl_arena_strndup(&req->arena, s.ptr, (size_t)s.len), s.len };
}

static sl_bytes arena_bytes(broker_request *req, sl_bytes v) {
    if (v.len <= 0) return v.len < 0 ? (sl_bytes){ NULL, 0 } : v;
    uint8_t *copy = sl_arena_alloc(&req->arena, (size_t)v.len);
    memcpy(copy, v.ptr, (size_t)v.len);
    return (sl_bytes){ copy, v.len };
}

static group_op *op_new(broker_request *req, void *resp) {
    group_op *op = sl_arena_alloc(&req->arena, sizeof(*op));
    op->req = req;
    op->resp = resp;
    return op;
}

static void op_cancel(broker_request *req) {
    broker_group_core *core = broker_groups_core(req->conn->b);
    if (core) broker_group_core_cancel(core, req->op);
}

/* Answered now, or parked until the core calls back. */
static broker_handled op_finish_or_park(group_op *op) {
    broker_request *req = op->req;
    if (op->done) {
        broker_respond(req, op->resp);
        return BROKER_DONE;
    }
    op->parked = true;
    req->op = op;
    req->cancel = op_cancel;
    return BROKER_PENDING;
}

static void op_answered(group_op *op) {
    op->done = true;
    if (!op->parked) return; /* the handler responds */
    broker_request *req = op->req;
    broker_respond(req, op->resp);
    req->op = NULL;
    req->cancel = NULL;
    broker_request_finish(req);
}

/* Without a coordinator object no partition is led here: the group-status error. */
static int16_t no_core_error(sl_str group_id, bool allow_empty) {
    if (group_id.len < 0 || (!allow_empty && group_id.len == 0)) return E(INVALID_GROUP_ID);
    return E(NOT_COORDINATOR);
}

/* "/ip" of the client, as Kafka's clientHost (InetAddress.toString). */
static sl_str client_host(broker_request *req) {
    const char *peer = req->conn->io.peer;
    const char *colon = strrchr(peer, ':');
    size_t len = colon ? (size_t)(colon - peer) : strlen(peer);
    char *out = sl_arena_alloc(&req->arena, len + 2);
    out[0] = '/';
    memcpy(out + 1, peer, len);
    out[len + 1] = '\0';
    return (sl_str){ out, (int32_t)len + 1 };
}

static sl_str client_id(const broker_request *req) {
    return req->hdr.client_id.len < 0 ? sl_str_c("") : req->hdr.client_id;
}

/* ---------------- JoinGroup ---------------- */

void broker_group_api_join_done(void *ctx, void *waiter, const broker_group_join_result *res) {
    (void)ctx;
    group_op *op = waiter;
    broker_request *req = op->req;
    protocol_JoinGroupResponse *resp = op->resp;
    resp->ErrorCode = res->error;
    resp->GenerationId = res->generation;
    resp->ProtocolType = arena_str(req, res->protocol_type);
    resp->ProtocolName = arena_str(req, res->protocol_name);
    resp->Leader = arena_str(req, res->leader_id);
    resp->SkipAssignment = res->skip_assignment;
    resp->MemberId = arena_str(req, res->member_id);
    resp->Members.count = res->member_count;
    resp->Members.items =
        sl_arena_array(&req->arena, (size_t)res->member_count + 1, sizeof(*resp->Members.items));
    for (int32_t i = 0; i < res->member_count; i++) {
        protocol_JoinGroupResponse_JoinGroupResponseMember *m = &resp->Members.items[i];
        protocol_JoinGroupResponse_JoinGroupResponseMember_init(m);
        m->MemberId = arena_str(req, res->members[i].member_id);
        m->GroupInstanceId = arena_str(req, res->members[i].group_instance_id);
        m->Metadata = arena_bytes(req, res->members[i].metadata);
    }
    op_answered(op);
}

broker_handled broker_handle_join_group(broker_request *req) {
    protocol_JoinGroupRequest *jr = broker_request_decode(req);
    if (!jr) return BROKER_CLOSE;
    int16_t v = req->hdr.api_version;
    group_op *op = op_new(req, broker_response_new(req));
    int32_t n = jr->Protocols.count > 0 ? jr->Protocols.count : 0;
    sl_str *names = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(sl_str));
    sl_bytes *metadata = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(sl_bytes));
    for (int32_t i = 0; i < n; i++) {
        names[i] = jr->Protocols.items[i].Name;
        metadata[i] = jr->Protocols.items[i].Metadata;
    }
    broker_group_join_request in = { 0 };
    in.group_id = jr->GroupId;
    in.member_id = jr->MemberId.len < 0 ? sl_str_c("") : jr->MemberId;
    in.group_instance_id = v >= 5 ? jr->GroupInstanceId : SL_STR_NULL;
    in.client_id = client_id(req);
    in.client_host = client_host(req);
    in.protocol_type = jr->ProtocolType;
    in.session_timeout_ms = jr->SessionTimeoutMs;
    /* JoinGroup v0 has no rebalance timeout: Kafka uses the session timeout */
    in.rebalance_timeout_ms = v == 0 ? jr->SessionTimeoutMs : jr->RebalanceTimeoutMs;
    in.protocol_names = names;
    in.protocol_metadata = metadata;
    in.protocol_count = n;
    /* KIP-394: v4+ dynamic members first get their id with MEMBER_ID_REQUIRED */
    in.require_known_member_id = v >= 4 && in.group_instance_id.len < 0;
    in.support_skip_assignment = v >= 9;
    broker_group_core *core = broker_groups_core(req->conn->b);
    if (core) {
        broker_group_core_join(core, &in, broker_groups_now(), op);
    } else {
        broker_group_join_result res = { no_core_error(in.group_id, false),
                                         in.member_id,
                                         -1,
                                         SL_STR_NULL,
                                         SL_STR_NULL,
                                         sl_str_c(""),
                                         false,
                                         NULL,
                                         0 };
        broker_group_api_join_done(NULL, op, &res);
    }
    return op_finish_or_park(op);
}

/* ---------------- SyncGroup ---------------- */

void broker_group_api_sync_done(void *ctx, void *waiter, const broker_group_sync_result *res) {
    (void)ctx;
    group_op *op = waiter;
    protocol_SyncGroupResponse *resp = op->resp;
    resp->ErrorCode = res->error;
    resp->ProtocolType = arena_str(op->req, res->protocol_type);
    resp->ProtocolName = arena_str(op->req, res->protocol_name);
    resp->Assignment = arena_bytes(op->req, res->assignment);
    op_answered(op);
}

broker_handled broker_handle_sync_group(broker_request *req) {
    protocol_SyncGroupRequest *sr = broker_request_decode(req);
    if (!sr) return BROKER_CLOSE;
    int16_t v = req->hdr.api_version;
    group_op *op = op_new(req, broker_response_new(req));
    int32_t n = sr->Assignments.count > 0 ? sr->Assignments.count : 0;
    sl_str *members = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(sl_str));
    sl_bytes *assignments = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(sl_bytes));
    for (int32_t i = 0; i < n; i++) {
        members[i] = sr->Assignments.items[i].MemberId;
        assignments[i] = sr->Assignments.items[i].Assignment;
    }
    broker_group_sync_request in = { sr->GroupId,
                                     sr->GenerationId,
                                     sr->MemberId,
                                     v >= 3 ? sr->GroupInstanceId : SL_STR_NULL,
                                     v >= 5 ? sr->ProtocolType : SL_STR_NULL,
                                     v >= 5 ? sr->ProtocolName : SL_STR_NULL,
                                     members,
                                     assignments,
                                     n };
    broker_group_core *core = broker_groups_core(req->conn->b);
    broker_group_sync_result res = { E(NONE), SL_STR_NULL, SL_STR_NULL, { NULL, 0 } };
    if (v >= 5 && (sr->ProtocolType.len < 0 || sr->ProtocolName.len < 0)) {
        res.error = E(INCONSISTENT_GROUP_PROTOCOL); /* mandatory from v5 */
    } else if (!core) {
        res.error = no_core_error(sr->GroupId, false);
    }
    if (res.error) {
        broker_group_api_sync_done(NULL, op, &res);
    } else {
        broker_group_core_sync(core, &in, broker_groups_now(), op);
    }
    return op_finish_or_park(op);
}

/* ---------------- Heartbeat, LeaveGroup ---------------- */

broker_handled broker_handle_heartbeat(broker_request *req) {
    protocol_HeartbeatRequest *hr = broker_request_decode(req);
    if (!hr) return BROKER_CLOSE;
    protocol_HeartbeatResponse *resp = broker_response_new(req);
    broker_group_core *core = broker_groups_core(req->conn->b);
    sl_str instance = req->hdr.api_version >= 3 ? hr->GroupInstanceId : SL_STR_NULL;
    resp->ErrorCode = core ? broker_group_core_heartbeat(core, hr->GroupId, hr->MemberId, instance,
                                                         hr->GenerationId, broker_groups_now())
                           : no_core_error(hr->GroupId, false);
    broker_respond(req, resp);
    return BROKER_DONE;
}

broker_handled broker_handle_leave_group(broker_request *req) {
    protocol_LeaveGroupRequest *lr = broker_request_decode(req);
    if (!lr) return BROKER_CLOSE;
    int16_t v = req->hdr.api_version;
    protocol_LeaveGroupResponse *resp = broker_response_new(req);
    int32_t n = v >= 3 ? (lr->Members.count > 0 ? lr->Members.count : 0) : 1;
    broker_group_leave_member *members =
        sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*members));
    for (int32_t i = 0; i < n; i++) {
        members[i].member_id = v >= 3 ? lr->Members.items[i].MemberId : lr->MemberId;
        members[i].group_instance_id = v >= 3 ? lr->Members.items[i].GroupInstanceId : SL_STR_NULL;
    }
    broker_group_core *core = broker_groups_core(req->conn->b);
    int16_t top = core ? broker_group_core_leave(core, lr->GroupId, members, n, broker_groups_now())
                       : no_core_error(lr->GroupId, false);
    resp->ErrorCode = top;
    if (v < 3) {
        /* Kafka's LeaveGroupResponse v0-2: the top-level error, else the member's */
        if (!top && n > 0) resp->ErrorCode = members[0].error;
    } else if (!top) {
        resp->Members.count = n;
        resp->Members.items =
            sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*resp->Members.items));
        for (int32_t i = 0; i < n; i++) {
            resp->Members.items[i].MemberId = members[i].member_id;
            resp->Members.items[i].GroupInstanceId = members[i].group_instance_id;
            resp->Members.items[i].ErrorCode = members[i].error;
        }
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}

/* ---------------- OffsetCommit ---------------- */

static bool partition_exists(broker *b, sl_str topic, int32_t partition) {
    if (topic.len <= 0) return false;
    const metadata_topic *t = metadata_image_topic(&b->image, topic.ptr, (size_t)topic.len);
    return t && partition >= 0 && partition < t->partition_count;
}

void broker_group_api_commit_done(void *ctx, void *waiter, const int16_t *errors, int32_t count) {
    (void)ctx;
    group_op *op = waiter;
    protocol_OffsetCommitResponse *resp = op->resp;
    int32_t k = 0;
    for (int32_t t = 0; t < resp->Topics.count; t++) {
        protocol_OffsetCommitResponse_OffsetCommitResponseTopic *rt = &resp->Topics.items[t];
        for (int32_t i = 0; i < rt->Partitions.count && k < count; i++, k++) {
            rt->Partitions.items[i].ErrorCode = errors[k];
        }
    }
    op_answered(op);
}

/* The response mirrors the request; the flattened parts carry the per-partition input. */
static void
commit_parts(broker_request *req, const protocol_OffsetCommitRequest *cr, group_op *op) {
    broker *b = req->conn->b;
    int16_t v = req->hdr.api_version;
    protocol_OffsetCommitResponse *resp = op->resp;
    int32_t topics = cr->Topics.count > 0 ? cr->Topics.count : 0, total = 0;
    for (int32_t t = 0; t < topics; t++)
        total +=
            cr->Topics.items[t].Partitions.count > 0 ? cr->Topics.items[t].Partitions.count : 0;
    op->parts = sl_arena_array(&req->arena, (size_t)total + 1, sizeof(*op->parts));
    resp->Topics.count = topics;
    resp->Topics.items =
        sl_arena_array(&req->arena, (size_t)topics + 1, sizeof(*resp->Topics.items));
    for (int32_t t = 0; t < topics; t++) {
        const protocol_OffsetCommitRequest_OffsetCommitRequestTopic *ct = &cr->Topics.items[t];
        protocol_OffsetCommitResponse_OffsetCommitResponseTopic *rt = &resp->Topics.items[t];
        int32_t n = ct->Partitions.count > 0 ? ct->Partitions.count : 0;
        rt->Name = ct->Name;
        rt->Partitions.count = n;
        rt->Partitions.items =
            sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*rt->Partitions.items));
        for (int32_t i = 0; i < n; i++) {
            const protocol_OffsetCommitRequest_OffsetCommitRequestPartition *cp =
                &ct->Partitions.items[i];
            broker_group_commit_part *part = &op->parts[op->part_count++];
            rt->Partitions.items[i].PartitionIndex = cp->PartitionIndex;
            part->topic = ct->Name;
            part->partition = cp->PartitionIndex;
            part->offset = cp->CommittedOffset;
            part->leader_epoch = v >= 6 ? cp->CommittedLeaderEpoch : -1;
            part->metadata = cp->CommittedMetadata;
            part->commit_timestamp_ms = v == 1 ? cp->CommitTimestamp : -1;
            part->error = partition_exists(b, ct->Name, cp->PartitionIndex)
                              ? E(NONE)
                              : E(UNKNOWN_TOPIC_OR_PARTITION);
        }
    }
}

broker_handled broker_handle_offset_commit(broker_request *req) {
    protocol_OffsetCommitRequest *cr = broker_request_decode(req);
    if (!cr) return BROKER_CLOSE;
    int16_t v = req->hdr.api_version;
    group_op *op = op_new(req, broker_response_new(req));
    commit_parts(req, cr, op);
    broker_group_commit_request in = { 0 };
    in.group_id = cr->GroupId;
    in.generation = v >= 1 ? cr->GenerationIdOrMemberEpoch : -1;
    in.member_id = v >= 1 && cr->MemberId.len >= 0 ? cr->MemberId : sl_str_c("");
    in.group_instance_id = v >= 7 ? cr->GroupInstanceId : SL_STR_NULL;
    in.retention_ms = v >= 2 && v <= 4 ? cr->RetentionTimeMs : -1;
    in.parts = op->parts;
    in.part_count = op->part_count;
    broker_group_core *core = broker_groups_core(req->conn->b);
    if (core) {
        broker_group_core_commit(core, &in, broker_groups_now(), op);
    } else {
        int16_t err = no_core_error(cr->GroupId, true);
        int16_t *errors = sl_arena_array(&req->arena, (size_t)op->part_count + 1, sizeof(int16_t));
        for (int32_t i = 0; i < op->part_count; i++) {
            errors[i] = op->parts[i].error ? op->parts[i].error : err;
        }
        broker_group_api_commit_done(NULL, op, errors, op->part_count);
    }
    return op_finish_or_park(op);
}

/* ---------------- OffsetFetch ---------------- */

typedef protocol_OffsetFetchResponse_OffsetFetchResponsePartitions fetch_part;

/* One partition's answer (v8 layout; converted for older versions). */
static void fetch_partition(broker_request *req,
                            const broker_group *g,
                            sl_str topic,
                            int32_t partition,
                            bool require_stable,
                            fetch_part *out) {
    protocol_OffsetFetchResponse_OffsetFetchResponsePartitions_init(out);
    out->PartitionIndex = partition;
    out->CommittedOffset = -1;
    out->CommittedLeaderEpoch = -1;
    out->Metadata = sl_str_c("");
    const broker_group_offset *o = g ? broker_group_offset_find(g, topic, partition) : NULL;
    if (o && require_stable && o->pending > 0) {
        out->ErrorCode = E(UNSTABLE_OFFSET_COMMIT);
    } else if (o && o->committed) {
        out->CommittedOffset = o->offset;
        out->CommittedLeaderEpoch = o->leader_epoch;
        out->Metadata = arena_str(req, sl_str_c(o->metadata));
    }
}

static int offset_cmp(const void *a, const void *b) {
    const broker_group_offset *x = *(const broker_group_offset *const *)a;
    const broker_group_offset *y = *(const broker_group_offset *const *)b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Every committed offset of g, sorted by topic then partition; returns how many. */
static int32_t
group_offsets_sorted(broker_request *req, const broker_group *g, broker_group_offset ***out) {
    int32_t n = 0;
    broker_group_offset **all =
        sl_arena_array(&req->arena, g ? g->offsets.count + 1 : 1, sizeof(*all));
    for (size_t i = 0; g && i < g->offsets.cap; i++) {
        if (!sl_map_slot_used(&g->offsets, i)) continue;
        broker_group_offset *o = g->offsets.slots[i].value;
        if (o->committed) all[n++] = o;
    }
    qsort(all, (size_t)n, sizeof(*all), offset_cmp);
    *out = all;
    return n;
}

/* A group's topics in the v8 layout: the requested ones, or every committed offset. */
static void fetch_group(broker_request *req,
                        const broker_group *g,
                        const protocol_OffsetFetchRequest_OffsetFetchRequestTopics_array *topics,
                        bool require_stable,
                        protocol_OffsetFetchResponse_OffsetFetchResponseTopics_array *out) {
    if (topics->count >= 0) {
        out->count = topics->count;
        out->items = sl_arena_array(&req->arena, (size_t)topics->count + 1, sizeof(*out->items));
        for (int32_t t = 0; t < topics->count; t++) {
            const protocol_OffsetFetchRequest_OffsetFetchRequestTopics *rt = &topics->items[t];
            int32_t n = rt->PartitionIndexes.count > 0 ? rt->PartitionIndexes.count : 0;
            out->items[t].Name = rt->Name;
            out->items[t].Partitions.count = n;
            out->items[t].Partitions.items =
                sl_arena_array(&req->arena, (size_t)n + 1, sizeof(fetch_part));
            for (int32_t i = 0; i < n; i++) {
                fetch_partition(req, g, rt->Name, rt->PartitionIndexes.items[i], require_stable,
                                &out->items[t].Partitions.items[i]);
            }
        }
        return;
    }
    broker_group_offset **all;
    int32_t n = group_offsets_sorted(req, g, &all), count = 0;
    out->items = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*out->items));
    for (int32_t i = 0; i < n; i++) {
        if (count == 0 || strcmp(out->items[count - 1].Name.ptr, all[i]->topic) != 0) {
            out->items[count].Name = arena_str(req, sl_str_c(all[i]->topic));
            out->items[count].Partitions.items =
                sl_arena_array(&req->arena, (size_t)n + 1, sizeof(fetch_part));
            count++;
        }
        protocol_OffsetFetchResponse_OffsetFetchResponseTopics *rt = &out->items[count - 1];
        fetch_partition(req, g, sl_str_c(all[i]->topic), all[i]->partition, require_stable,
                        &rt->Partitions.items[rt->Partitions.count++]);
    }
    out->count = count;
}

static int16_t fetch_lookup(broker_request *req, sl_str group_id, broker_group **g) {
    broker_group_core *core = broker_groups_core(req->conn->b);
    *g = NULL;
    return core ? broker_group_core_fetch(core, group_id, g) : no_core_error(group_id, true);
}

/* v1-7: one group; topics null (v2+) for all. Errors: v1 per partition, v2+ top level. */
static void fetch_single(broker_request *req,
                         const protocol_OffsetFetchRequest *fr,
                         protocol_OffsetFetchResponse *resp) {
    int16_t v = req->hdr.api_version;
    broker_group *g;
    int16_t err = fetch_lookup(req, fr->GroupId, &g);
    protocol_OffsetFetchRequest_OffsetFetchRequestTopics_array topics = { fr->Topics.count, NULL };
    if (fr->Topics.count > 0) {
        topics.items = sl_arena_array(&req->arena, (size_t)fr->Topics.count, sizeof(*topics.items));
        for (int32_t t = 0; t < fr->Topics.count; t++) {
            topics.items[t].Name = fr->Topics.items[t].Name;
            topics.items[t].PartitionIndexes = fr->Topics.items[t].PartitionIndexes;
        }
    }
    resp->ErrorCode = err;
    if (err && (v >= 2 || topics.count < 0)) return; /* Kafka's getErrorResponse */
    protocol_OffsetFetchResponse_OffsetFetchResponseTopics_array out;
    fetch_group(req, g, &topics, v >= 7 && fr->RequireStable, &out);
    resp->Topics.count = out.count;
    resp->Topics.items =
        sl_arena_array(&req->arena, (size_t)out.count + 1, sizeof(*resp->Topics.items));
    for (int32_t t = 0; t < out.count; t++) {
        resp->Topics.items[t].Name = out.items[t].Name;
        int32_t n = out.items[t].Partitions.count;
        resp->Topics.items[t].Partitions.count = n;
        resp->Topics.items[t].Partitions.items = sl_arena_array(
            &req->arena, (size_t)n + 1, sizeof(*resp->Topics.items[t].Partitions.items));
        for (int32_t i = 0; i < n; i++) {
            const fetch_part *src = &out.items[t].Partitions.items[i];
            protocol_OffsetFetchResponse_OffsetFetchResponsePartition *dst =
                &resp->Topics.items[t].Partitions.items[i];
            dst->PartitionIndex = src->PartitionIndex;
            dst->CommittedOffset = src->CommittedOffset;
            dst->CommittedLeaderEpoch = src->CommittedLeaderEpoch;
            dst->Metadata = src->Metadata;
            dst->ErrorCode = err ? err : src->ErrorCode; /* v1: the group error per partition */
        }
    }
}

broker_handled broker_handle_offset_fetch(broker_request *req) {
    protocol_OffsetFetchRequest *fr = broker_request_decode(req);
    if (!fr) return BROKER_CLOSE;
    protocol_OffsetFetchResponse *resp = broker_response_new(req);
    if (req->hdr.api_version < 8) {
        fetch_single(req, fr, resp);
        broker_respond(req, resp);
        return BROKER_DONE;
    }
    int32_t n = fr->Groups.count > 0 ? fr->Groups.count : 0;
    resp->Groups.count = n;
    resp->Groups.items = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*resp->Groups.items));
    for (int32_t i = 0; i < n; i++) {
        const protocol_OffsetFetchRequest_OffsetFetchRequestGroup *rg = &fr->Groups.items[i];
        protocol_OffsetFetchResponse_OffsetFetchResponseGroup *out = &resp->Groups.items[i];
        protocol_OffsetFetchResponse_OffsetFetchResponseGroup_init(out);
        out->GroupId = rg->GroupId;
        broker_group *g;
        out->ErrorCode = fetch_lookup(req, rg->GroupId, &g);
        if (!out->ErrorCode) fetch_group(req, g, &rg->Topics, fr->RequireStable, &out->Topics);
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}

/* ---------------- ListGroups, DescribeGroups ---------------- */

static bool state_listed(const protocol_ListGroupsRequest *lr, int16_t v, const char *state) {
    if (v < 4 || lr->StatesFilter.count <= 0) return true;
    for (int32_t i = 0; i < lr->StatesFilter.count; i++) {
        sl_str s = lr->StatesFilter.items[i];
        if (s.len == (int32_t)strlen(state) && strncasecmp(s.ptr, state, (size_t)s.len) == 0) {
            return true;
        }
    }
    return false;
}

broker_handled broker_handle_list_groups(broker_request *req) {
    protocol_ListGroupsRequest *lr = broker_request_decode(req);
    if (!lr) return BROKER_CLOSE;
    protocol_ListGroupsResponse *resp = broker_response_new(req);
    broker_group_core *core = broker_groups_core(req->conn->b);
    const sl_map *groups = core ? broker_group_core_groups(core) : NULL;
    size_t total = groups ? groups->count : 0;
    resp->ErrorCode = core ? broker_group_core_list_error(core) : E(NONE);
    resp->Groups.items = sl_arena_array(&req->arena, total + 1, sizeof(*resp->Groups.items));
    int32_t n = 0;
    for (size_t i = 0; groups && i < groups->cap && (size_t)n < total; i++) {
        if (!sl_map_slot_used(groups, i)) continue;
        const broker_group *g = groups->slots[i].value;
        const char *state = broker_group_state_name(g->state);
        if (!state_listed(lr, req->hdr.api_version, state)) continue;
        protocol_ListGroupsResponse_ListedGroup *item = &resp->Groups.items[n++];
        protocol_ListGroupsResponse_ListedGroup_init(item);
        item->GroupId = arena_str(req, (sl_str){ g->id, (int32_t)g->id_len });
        item->ProtocolType = arena_str(req, sl_str_c(g->protocol_type ? g->protocol_type : ""));
        item->GroupState = sl_str_c(state);
        item->GroupType = sl_str_c("classic");
    }
    resp->Groups.count = n;
    broker_respond(req, resp);
    return BROKER_DONE;
}

static void describe_members(broker_request *req,
                             const broker_group *g,
                             protocol_DescribeGroupsResponse_DescribedGroup *out) {
    bool stable = g->state == BROKER_GROUP_STABLE;
    out->Members.count = g->member_count;
    out->Members.items =
        sl_arena_array(&req->arena, (size_t)g->member_count + 1, sizeof(*out->Members.items));
    for (int32_t i = 0; i < g->member_count; i++) {
        const broker_group_member *m = g->members[i];
        protocol_DescribeGroupsResponse_DescribedGroupMember *dm = &out->Members.items[i];
        protocol_DescribeGroupsResponse_DescribedGroupMember_init(dm);
        dm->MemberId = arena_str(req, sl_str_c(m->member_id));
        dm->GroupInstanceId = arena_str(req, sl_str_c(m->instance_id));
        dm->ClientId = arena_str(req, sl_str_c(m->client_id));
        dm->ClientHost = arena_str(req, sl_str_c(m->client_host));
        /* Kafka's summary: metadata and assignment only for a Stable group */
        dm->MemberMetadata =
            stable ? arena_bytes(req, broker_group_member_metadata(m, g->protocol_name))
                   : (sl_bytes){ NULL, 0 };
        dm->MemberAssignment =
            stable ? arena_bytes(req, (sl_bytes){ m->assignment, m->assignment_len })
                   : (sl_bytes){ NULL, 0 };
    }
}

static void describe_one(broker_request *req,
                         sl_str group_id,
                         bool include_ops,
                         protocol_DescribeGroupsResponse_DescribedGroup *out) {
    broker_group_core *core = broker_groups_core(req->conn->b);
    protocol_DescribeGroupsResponse_DescribedGroup_init(out);
    out->GroupId = group_id;
    out->GroupState = sl_str_c("");
    out->ProtocolType = sl_str_c("");
    out->ProtocolData = sl_str_c("");
    out->AuthorizedOperations = include_ops ? AUTHORIZED_OPS_GROUP : AUTHORIZED_OPS_OMITTED;
    broker_group *g = NULL;
    out->ErrorCode =
        core ? broker_group_core_describe(core, group_id, &g) : no_core_error(group_id, true);
    if (out->ErrorCode) return;
    out->GroupState = sl_str_c(broker_group_state_name(g ? g->state : BROKER_GROUP_DEAD));
    if (!g) return;
    out->ProtocolType = arena_str(req, sl_str_c(g->protocol_type ? g->protocol_type : ""));
    if (g->state == BROKER_GROUP_STABLE && g->protocol_name) {
        out->ProtocolData = arena_str(req, sl_str_c(g->protocol_name));
    }
    describe_members(req, g, out);
}

broker_handled broker_handle_describe_groups(broker_request *req) {
    protocol_DescribeGroupsRequest *dr = broker_request_decode(req);
    if (!dr) return BROKER_CLOSE;
    protocol_DescribeGroupsResponse *resp = broker_response_new(req);
    int32_t n = dr->Groups.count > 0 ? dr->Groups.count : 0;
    resp->Groups.count = n;
    resp->Groups.items = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*resp->Groups.items));
    bool ops = req->hdr.api_version >= 3 && dr->IncludeAuthorizedOperations;
    for (int32_t i = 0; i < n; i++) {
        describe_one(req, dr->Groups.items[i], ops, &resp->Groups.items[i]);
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}

/* ---------------- DeleteGroups, OffsetDelete ---------------- */

broker_handled broker_handle_delete_groups(broker_request *req) {
    protocol_DeleteGroupsRequest *dr = broker_request_decode(req);
    if (!dr) return BROKER_CLOSE;
    protocol_DeleteGroupsResponse *resp = broker_response_new(req);
    broker_group_core *core = broker_groups_core(req->conn->b);
    int32_t n = dr->GroupsNames.count > 0 ? dr->GroupsNames.count : 0;
    resp->Results.count = n;
    resp->Results.items = sl_arena_array(&req->arena, (size_t)n + 1, sizeof(*resp->Results.items));
    for (int32_t i = 0; i < n; i++) {
        sl_str id = dr->GroupsNames.items[i];
        resp->Results.items[i].GroupId = id;
        resp->Results.items[i].ErrorCode =
            core ? broker_group_core_delete(core, id, broker_groups_now())
                 : no_core_error(id, true);
        SL_LOG(SL_INFO, "group", "delete_group", "group=%.*s error=%s", id.len > 0 ? id.len : 0,
               id.len > 0 ? id.ptr : "", protocol_error_name(resp->Results.items[i].ErrorCode));
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}

broker_handled broker_handle_offset_delete(broker_request *req) {
    protocol_OffsetDeleteRequest *dr = broker_request_decode(req);
    if (!dr) return BROKER_CLOSE;
    broker *b = req->conn->b;
    protocol_OffsetDeleteResponse *resp = broker_response_new(req);
    int32_t topics = dr->Topics.count > 0 ? dr->Topics.count : 0, total = 0;
    for (int32_t t = 0; t < topics; t++) {
        total +=
            dr->Topics.items[t].Partitions.count > 0 ? dr->Topics.items[t].Partitions.count : 0;
    }
    broker_group_topic_partition *tps =
        sl_arena_array(&req->arena, (size_t)total + 1, sizeof(*tps));
    int32_t k = 0;
    for (int32_t t = 0; t < topics; t++) {
        const protocol_OffsetDeleteRequest_OffsetDeleteRequestTopic *rt = &dr->Topics.items[t];
        for (int32_t i = 0; i < rt->Partitions.count; i++, k++) {
            tps[k].topic = rt->Name;
            tps[k].partition = rt->Partitions.items[i].PartitionIndex;
            tps[k].error = partition_exists(b, rt->Name, tps[k].partition)
                               ? E(NONE)
                               : E(UNKNOWN_TOPIC_OR_PARTITION);
        }
    }
    broker_group_core *core = broker_groups_core(b);
    resp->ErrorCode =
        core ? broker_group_core_delete_offsets(core, dr->GroupId, tps, total, broker_groups_now())
             : no_core_error(dr->GroupId, true);
    resp->Topics.count = topics;
    resp->Topics.items =
        sl_arena_array(&req->arena, (size_t)topics + 1, sizeof(*resp->Topics.items));
    k = 0;
    for (int32_t t = 0; t < topics; t++) {
        const protocol_OffsetDeleteRequest_OffsetDeleteRequestTopic *rt = &dr->Topics.items[t];
        protocol_OffsetDeleteResponse_OffsetDeleteResponseTopic *out = &resp->Topics.items[t];
        out->Name = rt->Name;
        out->Partitions.items = sl_arena_array(&req->arena, (size_t)rt->Partitions.count + 1,
                                               sizeof(*out->Partitions.items));
        for (int32_t i = 0; i < rt->Partitions.count; i++, k++) {
            /* with a group error only the partitions that failed on their own are listed */
            if (resp->ErrorCode && !tps[k].error) continue;
            out->Partitions.items[out->Partitions.count].PartitionIndex = tps[k].partition;
            out->Partitions.items[out->Partitions.count++].ErrorCode = tps[k].error;
        }
    }
    broker_respond(req, resp);
    return BROKER_DONE;
}
