/* controller_admin_ops.c — forwarded config changes (AlterConfigs, IncrementalAlterConfigs),
 * leader elections, partition reassignments and DescribeQuorum. */
#include "controller/controller_admin.h"
#include "common/sl_alloc.h"
#include "common/sl_err.h"
#include "common/sl_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RESOURCE_TOPIC  2
#define RESOURCE_BROKER 4
#define OP_SET      0
#define OP_DELETE   1
#define OP_APPEND   2
#define OP_SUBTRACT 3
#define ELECTION_PREFERRED 0
#define ELECTION_UNCLEAN   1

/* ---------------- configs ---------------- */

/* The table that validates keys of this resource, or NULL with an error set. */
static const sl_cfg_table *resource_table(admin_ctx *a, int8_t type, sl_str name,
                                          int16_t *error, sl_str *message) {
    if (type == RESOURCE_TOPIC) {
        if (!metadata_image_topic(&a->c->work, name.ptr, name.len > 0 ? (size_t)name.len : 0)) {
            *error = PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
            *message = admin_str(a, "Topic %s does not exist", admin_cstr(a, name));
            return NULL;
        }
        return &metadata_topic_config_table;
    }
    if (type == RESOURCE_BROKER) {
        char *id = admin_cstr(a, name);
        char *end;
        if (id[0] && (strtol(id, &end, 10) < 0 || *end)) {
            *error = PROTOCOL_ERR_INVALID_REQUEST;
            *message = admin_str(a, "Invalid broker id %s", id);
            return NULL;
        }
        return metadata_dynamic_broker_configs();
    }
    *error = PROTOCOL_ERR_INVALID_REQUEST;
    *message = admin_str(a, "Unsupported resource type %d", type);
    return NULL;
}

static int16_t check_value(admin_ctx *a, const sl_cfg_table *table, const char *key,
                           const char *value, sl_str *message) {
    const sl_cfg_def *def = sl_config_find(table, key);
    if (!def) {
        *message = admin_str(a, table == &metadata_topic_config_table
                                    ? "Unknown topic config name: %s"
                                    : "Cannot update these configs dynamically: [%s]", key);
        return table == &metadata_topic_config_table ? PROTOCOL_ERR_INVALID_CONFIG
                                                      : PROTOCOL_ERR_INVALID_REQUEST;
    }
    if (!value) return PROTOCOL_ERR_NONE;
    char why[256];
    if (sl_config_check(def, value, why, sizeof(why)) < 0) {
        *message = admin_str(a, "Invalid value %s for configuration %s: %s", value, key, why);
        return PROTOCOL_ERR_INVALID_CONFIG;
    }
    return PROTOCOL_ERR_NONE;
}

static int resource_kind(int8_t type) {
    return type == RESOURCE_TOPIC ? METADATA_RESOURCE_TOPIC : METADATA_RESOURCE_BROKER;
}

void controller_admin_alter_configs(admin_ctx *a, metadata_batch_builder *bb) {
    const protocol_AlterConfigsRequest *req = a->req;
    protocol_AlterConfigsResponse *resp = a->resp;
    resp->Responses.count = req->Resources.count;
    resp->Responses.items = sl_arena_array(&a->arena, (size_t)req->Resources.count + 1,
                                           sizeof(*resp->Responses.items));
    for (int32_t i = 0; i < req->Resources.count; i++) {
        const protocol_AlterConfigsRequest_AlterConfigsResource *res = &req->Resources.items[i];
        protocol_AlterConfigsResponse_AlterConfigsResourceResponse *out = &resp->Responses.items[i];
        out->ResourceType = res->ResourceType;
        out->ResourceName = res->ResourceName;
        out->ErrorMessage = SL_STR_NULL;
        const sl_cfg_table *table = resource_table(a, res->ResourceType, res->ResourceName,
                                                   &out->ErrorCode, &out->ErrorMessage);
        if (!table) continue;
        for (int32_t k = 0; k < res->Configs.count && !out->ErrorCode; k++) {
            const char *value = res->Configs.items[k].Value.len >= 0
                                    ? admin_cstr(a, res->Configs.items[k].Value)
                                    : NULL;
            out->ErrorCode = check_value(a, table, admin_cstr(a, res->Configs.items[k].Name), value,
                                         &out->ErrorMessage);
        }
        if (out->ErrorCode || req->ValidateOnly) continue;
        /* a full replacement: keys not named go back to their defaults */
        char *name = admin_cstr(a, res->ResourceName);
        int kind = resource_kind(res->ResourceType);
        const sl_props *cur = metadata_image_config_set(&a->c->work, kind, name);
        for (size_t k = 0; cur && k < cur->count; k++) {
            bool kept = false;
            for (int32_t j = 0; j < res->Configs.count; j++) {
                kept |= sl_str_eq_c(res->Configs.items[j].Name, cur->items[k].key) &&
                        res->Configs.items[j].Value.len >= 0;
            }
            if (!kept) metadata_batch_add_config(bb, kind, name, cur->items[k].key, NULL);
        }
        for (int32_t j = 0; j < res->Configs.count; j++) {
            if (res->Configs.items[j].Value.len < 0) continue;
            metadata_batch_add_config(bb, kind, name, admin_cstr(a, res->Configs.items[j].Name),
                                      admin_cstr(a, res->Configs.items[j].Value));
        }
    }
}

/* value with item appended to / removed from the comma list. */
static char *list_edit(admin_ctx *a, const char *current, const char *item, bool append) {
    sl_buf out;
    sl_buf_init(&out);
    const char *p = current ? current : "";
    size_t item_len = strlen(item);
    bool present = false;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        bool same = n == item_len && strncmp(p, item, n) == 0;
        present |= same;
        if (n > 0 && !(same && !append)) {
            if (out.len) sl_buf_put_u8(&out, ',');
            sl_buf_put(&out, p, n);
        }
        if (!comma) break;
        p = comma + 1;
    }
    if (append && !present) {
        if (out.len) sl_buf_put_u8(&out, ',');
        sl_buf_put(&out, item, item_len);
    }
    char *s = sl_arena_strndup(&a->arena, out.len ? (const char *)out.data : "", out.len);
    sl_buf_deinit(&out);
    return s;
}

static int16_t incremental_one(admin_ctx *a, const sl_cfg_table *table, int kind,
                               const char *resource,
                               const protocol_IncrementalAlterConfigsRequest_AlterableConfig *cfg,
                               bool validate_only, metadata_batch_builder *bb, sl_str *message) {
    char *key = admin_cstr(a, cfg->Name);
    char *value = cfg->Value.len >= 0 ? admin_cstr(a, cfg->Value) : NULL;
    int16_t err = check_value(a, table, key, cfg->ConfigOperation == OP_SET ? value : NULL,
                              message);
    if (err) return err;
    const sl_cfg_def *def = sl_config_find(table, key);
    const char *cur = metadata_image_config(&a->c->work, kind, resource, key);
    const char *next = NULL;
    switch (cfg->ConfigOperation) {
    case OP_SET:
        if (!value) {
            *message = admin_str(a, "Null value not supported for : %s", key);
            return PROTOCOL_ERR_INVALID_REQUEST;
        }
        next = value;
        break;
    case OP_DELETE:
        next = NULL;
        break;
    case OP_APPEND:
    case OP_SUBTRACT:
        if (def->type != SL_CFG_LIST || !value) {
            *message = admin_str(a, "Config value append is not allowed for config key: %s", key);
            return PROTOCOL_ERR_INVALID_CONFIG;
        }
        if (!cur) cur = def->default_value;
        next = list_edit(a, cur, value, cfg->ConfigOperation == OP_APPEND);
        err = check_value(a, table, key, next, message);
        if (err) return err;
        break;
    default:
        *message = admin_str(a, "Unknown config operation %d", cfg->ConfigOperation);
        return PROTOCOL_ERR_INVALID_REQUEST;
    }
    if (!validate_only) metadata_batch_add_config(bb, kind, resource, key, next);
    return PROTOCOL_ERR_NONE;
}

void controller_admin_incremental_alter_configs(admin_ctx *a, metadata_batch_builder *bb) {
    const protocol_IncrementalAlterConfigsRequest *req = a->req;
    protocol_IncrementalAlterConfigsResponse *resp = a->resp;
    resp->Responses.count = req->Resources.count;
    resp->Responses.items = sl_arena_array(&a->arena, (size_t)req->Resources.count + 1,
                                           sizeof(*resp->Responses.items));
    for (int32_t i = 0; i < req->Resources.count; i++) {
        const protocol_IncrementalAlterConfigsRequest_AlterConfigsResource *res =
            &req->Resources.items[i];
        protocol_IncrementalAlterConfigsResponse_AlterConfigsResourceResponse *out =
            &resp->Responses.items[i];
        out->ResourceType = res->ResourceType;
        out->ResourceName = res->ResourceName;
        out->ErrorMessage = SL_STR_NULL;
        const sl_cfg_table *table = resource_table(a, res->ResourceType, res->ResourceName,
                                                   &out->ErrorCode, &out->ErrorMessage);
        if (!table) continue;
        /* all or nothing per resource: decide into a scratch builder first */
        metadata_batch_builder scratch;
        metadata_batch_builder_init(&scratch);
        char *name = admin_cstr(a, res->ResourceName);
        for (int32_t k = 0; k < res->Configs.count && !out->ErrorCode; k++) {
            out->ErrorCode = incremental_one(a, table, resource_kind(res->ResourceType), name,
                                             &res->Configs.items[k], req->ValidateOnly, &scratch,
                                             &out->ErrorMessage);
        }
        if (!out->ErrorCode && scratch.count) {
            sl_buf_put(&bb->buf, scratch.buf.data, scratch.buf.len);
            bb->count += scratch.count;
        }
        metadata_batch_builder_deinit(&scratch);
    }
}

/* ---------------- elections ---------------- */

static int16_t elect_one(admin_ctx *a, int8_t type, const metadata_topic *t,
                         const metadata_partition *p, metadata_batch_builder *bb) {
    return type == ELECTION_UNCLEAN ? controller_partition_elect_unclean(&a->c->work, t, p, bb)
                                    : controller_partition_elect_preferred(&a->c->work, t, p, bb);
}

typedef protocol_ElectLeadersResponse_ReplicaElectionResult election_result;

static void elect_topic_all(admin_ctx *a, int8_t type, const metadata_topic *t,
                            metadata_batch_builder *bb, election_result *out) {
    out->Topic = sl_str_c(t->name);
    out->PartitionResult.count = t->partition_count;
    out->PartitionResult.items = sl_arena_array(&a->arena, (size_t)t->partition_count + 1,
                                                sizeof(*out->PartitionResult.items));
    for (int32_t p = 0; p < t->partition_count; p++) {
        out->PartitionResult.items[p].PartitionId = p;
        out->PartitionResult.items[p].ErrorCode = elect_one(a, type, t, &t->partitions[p], bb);
        out->PartitionResult.items[p].ErrorMessage = SL_STR_NULL;
    }
}

void controller_admin_elect_leaders(admin_ctx *a, metadata_batch_builder *bb) {
    const protocol_ElectLeadersRequest *req = a->req;
    protocol_ElectLeadersResponse *resp = a->resp;
    int8_t type = a->version >= 1 ? req->ElectionType : ELECTION_PREFERRED;
    const metadata_image *img = &a->c->work;
    if (req->TopicPartitions.count < 0) {
        int32_t n;
        metadata_topic **topics = metadata_image_sorted_topics(img, &n);
        resp->ReplicaElectionResults.count = n;
        resp->ReplicaElectionResults.items = sl_arena_array(&a->arena, (size_t)n + 1,
                                                            sizeof(election_result));
        for (int32_t i = 0; i < n; i++) {
            elect_topic_all(a, type, topics[i], bb, &resp->ReplicaElectionResults.items[i]);
        }
        sl_free(topics);
        return;
    }
    int32_t n = req->TopicPartitions.count;
    resp->ReplicaElectionResults.count = n;
    resp->ReplicaElectionResults.items = sl_arena_array(&a->arena, (size_t)n + 1,
                                                        sizeof(election_result));
    for (int32_t i = 0; i < n; i++) {
        const protocol_ElectLeadersRequest_TopicPartitions *tp = &req->TopicPartitions.items[i];
        election_result *out = &resp->ReplicaElectionResults.items[i];
        out->Topic = tp->Topic;
        out->PartitionResult.count = tp->Partitions.count;
        out->PartitionResult.items = sl_arena_array(&a->arena, (size_t)tp->Partitions.count + 1,
                                                    sizeof(*out->PartitionResult.items));
        const metadata_topic *t = metadata_image_topic(img, tp->Topic.ptr,
                                                       tp->Topic.len > 0 ? (size_t)tp->Topic.len : 0);
        for (int32_t k = 0; k < tp->Partitions.count; k++) {
            int32_t pid = tp->Partitions.items[k];
            out->PartitionResult.items[k].PartitionId = pid;
            out->PartitionResult.items[k].ErrorMessage = SL_STR_NULL;
            const metadata_partition *p = metadata_topic_partition(t, pid);
            out->PartitionResult.items[k].ErrorCode =
                p ? elect_one(a, type, t, p, bb) : PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
        }
    }
}

/* ---------------- reassignments ---------------- */

void controller_admin_alter_reassignments(admin_ctx *a, metadata_batch_builder *bb) {
    const protocol_AlterPartitionReassignmentsRequest *req = a->req;
    protocol_AlterPartitionReassignmentsResponse *resp = a->resp;
    resp->ErrorMessage = SL_STR_NULL;
    resp->Responses.count = req->Topics.count;
    resp->Responses.items = sl_arena_array(&a->arena, (size_t)req->Topics.count + 1,
                                           sizeof(*resp->Responses.items));
    for (int32_t i = 0; i < req->Topics.count; i++) {
        const protocol_AlterPartitionReassignmentsRequest_ReassignableTopic *rt = &req->Topics.items[i];
        protocol_AlterPartitionReassignmentsResponse_ReassignableTopicResponse *out =
            &resp->Responses.items[i];
        out->Name = rt->Name;
        out->Partitions.count = rt->Partitions.count;
        out->Partitions.items = sl_arena_array(&a->arena, (size_t)rt->Partitions.count + 1,
                                               sizeof(*out->Partitions.items));
        const metadata_topic *t = metadata_image_topic(&a->c->work, rt->Name.ptr,
                                                       rt->Name.len > 0 ? (size_t)rt->Name.len : 0);
        for (int32_t k = 0; k < rt->Partitions.count; k++) {
            const protocol_AlterPartitionReassignmentsRequest_ReassignablePartition *rp =
                &rt->Partitions.items[k];
            protocol_AlterPartitionReassignmentsResponse_ReassignablePartitionResponse *po =
                &out->Partitions.items[k];
            po->PartitionIndex = rp->PartitionIndex;
            po->ErrorMessage = SL_STR_NULL;
            const metadata_partition *p = metadata_topic_partition(t, rp->PartitionIndex);
            if (!p) {
                po->ErrorCode = PROTOCOL_ERR_UNKNOWN_TOPIC_OR_PARTITION;
                continue;
            }
            po->ErrorCode = controller_partition_reassign(
                &a->c->work, t, p, rp->Replicas.count >= 0 ? rp->Replicas.items : NULL,
                rp->Replicas.count, bb);
            if (po->ErrorCode == PROTOCOL_ERR_INVALID_REPLICA_ASSIGNMENT) {
                po->ErrorMessage = admin_str(a, "The replica assignment is invalid or names an "
                                                "unknown broker");
            }
        }
    }
}

typedef protocol_ListPartitionReassignmentsResponse_OngoingTopicReassignment ongoing_topic;

static void list_topic(admin_ctx *a, const metadata_topic *t, const int32_t *only, int32_t only_n,
                       ongoing_topic *out) {
    out->Name = sl_str_c(t->name);
    out->Partitions.items = sl_arena_array(&a->arena, (size_t)t->partition_count + 1,
                                           sizeof(*out->Partitions.items));
    out->Partitions.count = 0;
    for (int32_t p = 0; p < t->partition_count; p++) {
        const metadata_partition *mp = &t->partitions[p];
        if (mp->adding.count == 0 && mp->removing.count == 0) continue;
        bool wanted = only == NULL;
        for (int32_t k = 0; k < only_n && !wanted; k++) wanted = only[k] == p;
        if (!wanted) continue;
        protocol_ListPartitionReassignmentsResponse_OngoingPartitionReassignment *o =
            &out->Partitions.items[out->Partitions.count++];
        o->PartitionIndex = p;
        o->Replicas.items = mp->replicas.ids;
        o->Replicas.count = mp->replicas.count;
        o->AddingReplicas.items = mp->adding.ids;
        o->AddingReplicas.count = mp->adding.count;
        o->RemovingReplicas.items = mp->removing.ids;
        o->RemovingReplicas.count = mp->removing.count;
    }
}

void controller_admin_list_reassignments(admin_ctx *a) {
    const protocol_ListPartitionReassignmentsRequest *req = a->req;
    protocol_ListPartitionReassignmentsResponse *resp = a->resp;
    resp->ErrorMessage = SL_STR_NULL;
    const metadata_image *img = &a->c->work;
    int32_t n;
    metadata_topic **topics = metadata_image_sorted_topics(img, &n);
    resp->Topics.items = sl_arena_array(&a->arena, (size_t)n + 1, sizeof(ongoing_topic));
    resp->Topics.count = 0;
    for (int32_t i = 0; i < n; i++) {
        const int32_t *only = NULL;
        int32_t only_n = 0;
        if (req->Topics.count >= 0) {
            bool named = false;
            for (int32_t k = 0; k < req->Topics.count && !named; k++) {
                if (sl_str_eq_c(req->Topics.items[k].Name, topics[i]->name)) {
                    named = true;
                    only = req->Topics.items[k].PartitionIndexes.items;
                    only_n = req->Topics.items[k].PartitionIndexes.count;
                }
            }
            if (!named) continue;
        }
        ongoing_topic *out = &resp->Topics.items[resp->Topics.count];
        list_topic(a, topics[i], only, only_n, out);
        if (out->Partitions.count > 0) resp->Topics.count++;
    }
    sl_free(topics);
}

/* ---------------- DescribeQuorum ---------------- */

typedef protocol_DescribeQuorumResponse_ReplicaState replica_state;

static void fill_replicas(admin_ctx *a, const raft_replica_status *src, int32_t n,
                          replica_state **items_out, int32_t *count_out) {
    replica_state *items = sl_arena_array(&a->arena, (size_t)n + 1, sizeof(*items));
    for (int32_t i = 0; i < n; i++) {
        items[i].ReplicaId = src[i].id;
        items[i].LogEndOffset = src[i].log_end_offset;
        items[i].LastFetchTimestamp = src[i].last_fetch_wall_ms;
        items[i].LastCaughtUpTimestamp = src[i].last_caught_up_wall_ms;
    }
    *items_out = items;
    *count_out = n;
}

void controller_admin_describe_quorum(admin_ctx *a) {
    controller *c = a->c;
    protocol_DescribeQuorumResponse *resp = a->resp;
    raft_driver_status st;
    raft_driver_get_status(c->raft, &st);
    protocol_DescribeQuorumResponse_TopicData *td = sl_arena_alloc(&a->arena, sizeof(*td));
    td->TopicName = sl_str_c("__cluster_metadata");
    protocol_DescribeQuorumResponse_PartitionData *pd = sl_arena_alloc(&a->arena, sizeof(*pd));
    pd->PartitionIndex = 0;
    pd->ErrorMessage = SL_STR_NULL;
    pd->LeaderId = st.leader_id;
    pd->LeaderEpoch = st.epoch;
    pd->HighWatermark = st.high_watermark;
    fill_replicas(a, st.voters, st.voter_count, &pd->CurrentVoters.items, &pd->CurrentVoters.count);
    fill_replicas(a, st.observers, st.observer_count, &pd->Observers.items, &pd->Observers.count);
    td->Partitions.items = pd;
    td->Partitions.count = 1;
    resp->Topics.items = td;
    resp->Topics.count = 1;
    resp->ErrorMessage = SL_STR_NULL;
    resp->Nodes.items = sl_arena_array(&a->arena, (size_t)c->cfg.voter_count + 1,
                                       sizeof(*resp->Nodes.items));
    resp->Nodes.count = c->cfg.voter_count;
    for (int i = 0; i < c->cfg.voter_count; i++) {
        protocol_DescribeQuorumResponse_Node *node = &resp->Nodes.items[i];
        node->NodeId = c->cfg.voters[i].id;
        node->Listeners.items = sl_arena_alloc(&a->arena, sizeof(*node->Listeners.items));
        node->Listeners.count = 1;
        node->Listeners.items[0].Name = sl_str_c("CONTROLLER");
        node->Listeners.items[0].Host = sl_str_c(c->cfg.voters[i].host);
        node->Listeners.items[0].Port = (uint16_t)c->cfg.voters[i].port;
    }
}
